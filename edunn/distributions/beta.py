"""``Dirichlet(concentration)`` over the probability simplex and ``Beta(concentration1,
concentration0)``, its two-category case.

``log p(x) = sum_i (alpha_i - 1) log x_i + lgamma(sum alpha) - sum lgamma(alpha_i)``.
A Dirichlet draw is a normalised vector of Gamma draws, ``x_i = g_i / sum_j g_j``; its
reparameterised gradient (PyTorch's ``_Dirichlet`` function) goes through the Beta marginals with
``_dirichlet_grad`` (see ``_gamma_sampling``). ``Beta(a, b)`` is stored as ``Dirichlet([a, b])``
and reads ``x = x_0``.
"""
from __future__ import annotations

import numbers
from typing import Any

import edunn
import edunn.nn.functional as F
from . import constraints
from ._gamma_sampling import _sample_dirichlet
from .distribution import Distribution, broadcast_all
from .exp_family import ExponentialFamily

__all__ = ["Beta", "Dirichlet"]


class Dirichlet(ExponentialFamily):
    """A distribution over ``K``-vectors on the simplex (``event_shape = (K,)``); mean
    ``alpha / sum(alpha)``."""
    arg_constraints = {"concentration": constraints.independent(constraints.positive, 1)}
    support = constraints.simplex
    has_rsample = True

    def __init__(self, concentration: edunn.Tensor, validate_args: bool | None = None):
        if concentration.dim() < 1:
            raise ValueError("`concentration` parameter must be at least one-dimensional.")
        self.concentration = concentration
        batch_shape, event_shape = concentration.shape[:-1], concentration.shape[-1:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Dirichlet":
        new = self._get_checked_instance(Dirichlet, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.concentration = self.concentration.expand(tuple(batch_shape) + tuple(self.event_shape))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        shape = self._extended_shape(sample_shape)
        return _sample_dirichlet(self.concentration.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return (edunn.xlogy(self.concentration - 1.0, value).sum(-1)
                + edunn.lgamma(self.concentration.sum(-1)) - edunn.lgamma(self.concentration).sum(-1))

    @property
    def mean(self):
        return self.concentration / self.concentration.sum(-1, True)

    @property
    def mode(self):
        """``(alpha - 1)^+ / sum (alpha - 1)^+``; where every ``alpha < 1`` the density peaks at a
        vertex, and PyTorch returns the one-hot vector of the largest ``(alpha - 1)^+`` share."""
        concentrationm1 = (self.concentration - 1).clamp(min=0.0)
        total = concentrationm1.sum(-1, True)
        mode = concentrationm1 / edunn.where(total == 0, 1.0, total).to(total.dtype)  # 0/0 where replaced below
        mask = (self.concentration < 1).all(dim=-1, keepdim=True)
        vertex = F.one_hot(mode.argmax(dim=-1), concentrationm1.shape[-1]).to(mode.dtype)
        return edunn.where(mask, vertex, mode)

    @property
    def variance(self):
        con0 = self.concentration.sum(-1, True)
        return self.concentration * (con0 - self.concentration) / (con0.pow(2) * (con0 + 1))

    def entropy(self):
        k = self.concentration.size(-1)
        a0 = self.concentration.sum(-1)
        return (edunn.lgamma(self.concentration).sum(-1) - edunn.lgamma(a0) - (k - a0) * edunn.digamma(a0)
                - ((self.concentration - 1.0) * edunn.digamma(self.concentration)).sum(-1))

    @property
    def _natural_params(self):
        return (self.concentration,)

    def _log_normalizer(self, x):
        return x.lgamma().sum(-1) - edunn.lgamma(x.sum(-1))


class Beta(ExponentialFamily):
    """``Beta(a, b)`` on ``[0, 1]``: ``log p(x) = (a-1) log x + (b-1) log(1-x) - log B(a, b)``."""
    arg_constraints = {"concentration1": constraints.positive, "concentration0": constraints.positive}
    support = constraints.unit_interval
    has_rsample = True

    def __init__(self, concentration1: Any, concentration0: Any, validate_args: bool | None = None):
        if isinstance(concentration1, numbers.Number) and isinstance(concentration0, numbers.Number):
            concentration1_concentration0 = edunn.tensor([float(concentration1), float(concentration0)])
        else:
            concentration1, concentration0 = broadcast_all(concentration1, concentration0)
            concentration1_concentration0 = edunn.stack([concentration1, concentration0], -1)
        self._dirichlet = Dirichlet(concentration1_concentration0, validate_args=validate_args)
        super().__init__(self._dirichlet._batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Beta":
        new = self._get_checked_instance(Beta, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new._dirichlet = self._dirichlet.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration1 / (self.concentration1 + self.concentration0)

    @property
    def mode(self):
        return self._dirichlet.mode[..., 0]

    @property
    def variance(self):
        total = self.concentration1 + self.concentration0
        return self.concentration1 * self.concentration0 / (total.pow(2) * (total + 1))

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        return self._dirichlet.rsample(sample_shape).select(-1, 0)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        heads_tails = edunn.stack([value, 1.0 - value], -1)
        return self._dirichlet.log_prob(heads_tails)

    def entropy(self):
        return self._dirichlet.entropy()

    @property
    def concentration1(self):
        return self._dirichlet.concentration[..., 0]

    @property
    def concentration0(self):
        return self._dirichlet.concentration[..., 1]

    @property
    def _natural_params(self):
        return (self.concentration1, self.concentration0)

    def _log_normalizer(self, x, y):
        return edunn.lgamma(x) + edunn.lgamma(y) - edunn.lgamma(x + y)
