"""``Multinomial(total_count, probs | logits)`` (counts of ``total_count`` categorical draws) and
``NegativeBinomial(total_count, probs | logits)`` (failures before ``total_count`` successes).

* Multinomial: ``log p(x) = lgamma(n + 1) - sum_i lgamma(x_i + 1) + sum_i x_i log p_i``.
* Negative binomial (PyTorch's parameterisation: ``probs`` is the probability of each *success
  trial counted*): ``log p(k) = r log(1 - p) + k log p + lgamma(r + k) - lgamma(k + 1) - lgamma(r)``;
  it is a Gamma-Poisson mixture, which is how it is sampled.
"""
from __future__ import annotations

import math
from typing import Any

import edunn
import edunn.nn.functional as F
from . import constraints
from .bernoulli import Binomial
from .categorical import Categorical, _CategoricalParams
from .distribution import Distribution, _check_probs_or_logits, _ProbsOrLogits, broadcast_all, lazy_property
from .gamma import Gamma
from .poisson import Poisson

__all__ = ["Multinomial", "NegativeBinomial"]


class Multinomial(_CategoricalParams, Distribution):
    """``event_shape = (K,)``: counts that add up to the integer ``total_count``. ``sample`` needs
    it; ``log_prob`` reads the count from the value, so ``total_count`` may be left at 1 there."""
    arg_constraints = {"probs": constraints.simplex, "logits": constraints.real_vector}

    def __init__(self, total_count: int = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None):
        if not isinstance(total_count, int):
            raise NotImplementedError("inhomogeneous total_count is not supported")
        self.total_count = total_count
        self._categorical = Categorical(probs=probs, logits=logits)
        self._binomial = Binomial(total_count=total_count, probs=self.probs)
        batch_shape = self._categorical.batch_shape
        event_shape = self._categorical.param_shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Multinomial":
        new = self._get_checked_instance(Multinomial, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.total_count = self.total_count
        new._categorical = self._categorical.expand(batch_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=True, event_dim=1)
    def support(self):
        return constraints.multinomial(self.total_count)

    @property
    def mean(self):
        return self.probs * self.total_count

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """``total_count`` categorical draws per event, counted with ``scatter_add``."""
        sample_shape = edunn.Size(tuple(sample_shape))
        with edunn.no_grad():
            samples = self._categorical.sample(edunn.Size((self.total_count,)) + sample_shape)
            samples = samples.permute(*range(1, samples.dim()), 0)  # the draws to the last dim
            counts = edunn.zeros(self._extended_shape(sample_shape), dtype=samples.dtype, device=samples.device)
            counts = counts.scatter_add(-1, samples, edunn.ones_like(samples))
            return counts.to(self.probs.dtype)

    def entropy(self):
        """``n H(categorical) - lgamma(n + 1) + sum_i E[lgamma(x_i + 1)]``, the last term over each
        count's Binomial(n, p_i) marginal."""
        n = edunn.tensor(self.total_count)
        cat_entropy = self._categorical.entropy()
        term1 = n * cat_entropy - edunn.lgamma(n + 1)
        support = self._binomial.enumerate_support(expand=False)[1:]
        binomial_probs = edunn.exp(self._binomial.log_prob(support))
        weights = edunn.lgamma(support + 1)
        term2 = (binomial_probs * weights).sum([0, -1])
        return term1 + term2

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        log_factorial_n = edunn.lgamma(value.sum(-1) + 1)
        log_factorial_xs = edunn.lgamma(value + 1).sum(-1)
        logits = edunn.where((value == 0) & (logits == -math.inf), 0.0, logits)  # 0 * log 0 = 0
        log_powers = (logits * value).sum(-1)
        return log_factorial_n - log_factorial_xs + log_powers


class NegativeBinomial(_ProbsOrLogits, Distribution):
    """Mean ``r e^logits = r p / (1 - p)``, variance ``mean / (1 - p)``."""
    arg_constraints = {"total_count": constraints.greater_than_eq(0),
                       "probs": constraints.half_open_interval(0.0, 1.0), "logits": constraints.real}
    support = constraints.nonnegative_integer

    def __init__(self, total_count: Any, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None):
        _check_probs_or_logits(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.type_as(self.probs)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.type_as(self.logits)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = self._param.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "NegativeBinomial":
        new = self._get_checked_instance(NegativeBinomial, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.total_count = self.total_count.expand(batch_shape)
        self._expand_probs_or_logits(new, batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.total_count * edunn.exp(self.logits)

    @property
    def mode(self):
        return ((self.total_count - 1) * self.logits.exp()).floor().clamp(min=0.0)

    @property
    def variance(self):
        return self.mean / edunn.sigmoid(-self.logits)

    @property
    def param_shape(self):
        return self._param.size()

    @lazy_property
    def _gamma(self):
        return Gamma(concentration=self.total_count, rate=edunn.exp(-self.logits), validate_args=False)

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """``Poisson(lambda)`` with ``lambda ~ Gamma(r, rate=(1 - p) / p)``."""
        with edunn.no_grad():
            rate = self._gamma.sample(sample_shape=sample_shape)
            return Poisson(rate, validate_args=False).sample()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_unnormalized_prob = (self.total_count * F.logsigmoid(-self.logits)
                                 + value * F.logsigmoid(self.logits))
        log_normalization = (-edunn.lgamma(self.total_count + value) + edunn.lgamma(1.0 + value)
                             + edunn.lgamma(self.total_count))
        log_normalization = log_normalization.masked_fill(self.total_count + value == 0.0, 0.0)
        return log_unnormalized_prob - log_normalization
