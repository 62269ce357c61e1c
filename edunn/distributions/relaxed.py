"""Continuous relaxations of discrete distributions, for reparameterised gradients through
discrete choices, as PyTorch's ``relaxed_bernoulli``, ``relaxed_categorical`` and
``OneHotCategoricalStraightThrough``.

* ``LogitRelaxedBernoulli(temperature, probs | logits)``: ``(logit(u) + logits) / temperature``
  with ``u`` uniform (a logistic variable); ``RelaxedBernoulli`` is its sigmoid, a value in
  ``(0, 1)`` that approaches a Bernoulli draw as ``temperature -> 0`` (Maddison et al., 2017).
* ``ExpRelaxedCategorical``: ``log_softmax((logits + g) / temperature)`` with ``g`` Gumbel noise;
  ``RelaxedOneHotCategorical`` (the Gumbel-softmax / Concrete distribution) is its ``exp``.
* ``OneHotCategoricalStraightThrough``: an exact one-hot sample whose gradient is that of the
  probabilities (Bengio et al., 2013): ``sample + (probs - probs.detach())``.
"""
from __future__ import annotations

from typing import Any

import edunn
from . import constraints
from .categorical import Categorical, OneHotCategorical, _CategoricalParams
from .bernoulli import _BinaryParams
from .distribution import Distribution, broadcast_all, clamp_probs
from .transformed_distribution import TransformedDistribution
from .transforms import ExpTransform, SigmoidTransform

__all__ = ["ExpRelaxedCategorical", "LogitRelaxedBernoulli", "OneHotCategoricalStraightThrough",
           "RelaxedBernoulli", "RelaxedOneHotCategorical"]


class _RelaxedParams:
    """Mixin for a relaxed distribution built as a transform of its ``base_dist``: its
    ``temperature``, ``logits`` and ``probs`` are the base distribution's."""

    @property
    def temperature(self):
        return self.base_dist.temperature

    @property
    def logits(self):
        return self.base_dist.logits

    @property
    def probs(self):
        return self.base_dist.probs


class LogitRelaxedBernoulli(_BinaryParams):
    """The logit of a ``RelaxedBernoulli``: with ``t = temperature`` and ``l = logits``,
    ``log p(x) = log t + (l - t x) - 2 log(1 + exp(l - t x))``."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.real

    def __init__(self, temperature: edunn.Tensor, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None):
        self.temperature = temperature
        super().__init__(probs, logits, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "LogitRelaxedBernoulli":
        new = self._get_checked_instance(LogitRelaxedBernoulli, _instance)
        new.temperature = self.temperature
        return super().expand(batch_shape, _instance=new)

    @property
    def param_shape(self):
        return self._param.size()

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """``(logit(u) + logit(p)) / temperature`` with ``u`` uniform, both clamped inside (0, 1)."""
        shape = self._extended_shape(sample_shape)
        probs = clamp_probs(self.probs.expand(shape))
        uniforms = clamp_probs(edunn.rand(shape, dtype=probs.dtype, device=probs.device))
        return (uniforms.log() - (-uniforms).log1p() + probs.log() - (-probs).log1p()) / self.temperature

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        diff = logits - value.mul(self.temperature)
        return self.temperature.log() + diff - 2 * diff.exp().log1p()


class RelaxedBernoulli(_RelaxedParams, TransformedDistribution):
    """``sigmoid(X)`` with ``X ~ LogitRelaxedBernoulli(temperature, probs | logits)``."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, temperature: edunn.Tensor, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None):
        base_dist = LogitRelaxedBernoulli(temperature, probs, logits)
        super().__init__(base_dist, SigmoidTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "RelaxedBernoulli":
        new = self._get_checked_instance(RelaxedBernoulli, _instance)
        return super().expand(batch_shape, _instance=new)


class ExpRelaxedCategorical(_CategoricalParams, Distribution):
    """The log of a ``RelaxedOneHotCategorical`` sample. With ``K`` categories and
    ``t = temperature``: ``log p(x) = log Gamma(K) + (K-1) log t + sum_k s_k`` where
    ``s = log_softmax(logits - t x)``. The support is really a ``K - 1``-dimensional surface
    (``logsumexp(x) = 0``) inside ``real_vector``."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.real_vector
    has_rsample = True

    def __init__(self, temperature: edunn.Tensor, probs: edunn.Tensor | None = None,
                 logits: edunn.Tensor | None = None, validate_args: bool | None = None):
        self._categorical = Categorical(probs, logits)
        self.temperature = temperature
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "ExpRelaxedCategorical":
        new = self._get_checked_instance(ExpRelaxedCategorical, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.temperature = self.temperature
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """``log_softmax((logits + g) / temperature)`` with Gumbel noise ``g = -log(-log(u))``."""
        shape = self._extended_shape(sample_shape)
        uniforms = clamp_probs(edunn.rand(shape, dtype=self.logits.dtype, device=self.logits.device))
        gumbels = -((-(uniforms.log())).log())
        scores = (self.logits + gumbels) / self.temperature
        return scores - scores.logsumexp(dim=-1, keepdim=True)

    def log_prob(self, value):
        K = self._categorical._num_events
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_scale = edunn.full_like(self.temperature, float(K)).lgamma() - self.temperature.log().mul(-(K - 1))
        score = logits - value.mul(self.temperature)
        score = (score - score.logsumexp(dim=-1, keepdim=True)).sum(-1)
        return score + log_scale


class RelaxedOneHotCategorical(_RelaxedParams, TransformedDistribution):
    """``exp(X)`` with ``X ~ ExpRelaxedCategorical(temperature, probs | logits)``: a point of the
    simplex that approaches a one-hot draw as ``temperature -> 0`` (Gumbel-softmax)."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, temperature: edunn.Tensor, probs: edunn.Tensor | None = None,
                 logits: edunn.Tensor | None = None, validate_args: bool | None = None):
        base_dist = ExpRelaxedCategorical(temperature, probs, logits, validate_args=validate_args)
        super().__init__(base_dist, ExpTransform(), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "RelaxedOneHotCategorical":
        new = self._get_checked_instance(RelaxedOneHotCategorical, _instance)
        return super().expand(batch_shape, _instance=new)


class OneHotCategoricalStraightThrough(OneHotCategorical):
    """A ``OneHotCategorical`` with ``rsample``: the forward value is an exact one-hot sample,
    the backward pass treats it as ``probs`` (the straight-through estimator)."""
    has_rsample = True

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        samples = self.sample(sample_shape)
        probs = self._categorical.probs
        return samples + (probs - probs.detach())
