"""``Poisson(rate)``: ``log p(k) = k log(rate) - rate - log(k!)``."""
from __future__ import annotations

import math
import numbers
from typing import Any

import edunn
from . import constraints
from .distribution import Distribution, broadcast_all
from .exp_family import ExponentialFamily

__all__ = ["Poisson"]

_CHUNK = 16.0  # each draw is a sum of Poisson(rate / m) draws with rate / m <= _CHUNK


class Poisson(ExponentialFamily):
    """Counts of events at ``rate`` per unit: mean and variance are both ``rate``."""
    arg_constraints = {"rate": constraints.nonnegative}
    support = constraints.nonnegative_integer

    def __init__(self, rate: Any, validate_args: bool | None = None):
        (self.rate,) = broadcast_all(rate)
        batch_shape = edunn.Size(()) if isinstance(rate, numbers.Number) else self.rate.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Poisson":
        new = self._get_checked_instance(Poisson, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.rate = self.rate.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.rate

    @property
    def mode(self):
        return self.rate.floor()

    @property
    def variance(self):
        return self.rate

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """Inverts the CDF: ``k`` grows while ``u`` exceeds ``P(X <= k)``. Large rates are split
        into ``m`` chunks of rate at most 16 (a sum of Poissons is Poisson) so ``e^-rate`` never
        underflows; the loop runs about ``16 + 6 sqrt(16)`` times."""
        shape = self._extended_shape(sample_shape)
        with edunn.no_grad():
            rate = self.rate.expand(shape).to(edunn.float64)
            chunks = max(1, math.ceil(float(rate.max().item()) / _CHUNK)) if rate.numel() else 1
            lam = (rate / chunks).unsqueeze(-1).expand(tuple(shape) + (chunks,))
            u = edunn.rand(tuple(shape) + (chunks,), dtype=edunn.float64, device=rate.device)
            k = edunn.zeros_like(lam)
            p = edunn.exp(-lam)
            cdf = p.clone()
            while bool(edunn.any(u > cdf)):
                more = u > cdf
                k = k + more.to(k.dtype)
                p = edunn.where(more, p * lam / k.clamp(min=1), p)
                cdf = edunn.where(more, cdf + p, cdf)
                if not bool(edunn.any(more & (p > 0))):  # the rounding tail: u beyond the float sum
                    break
            return k.sum(-1).to(self.rate.dtype)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        rate, value = broadcast_all(self.rate, value)
        return value.xlogy(rate) - rate - edunn.lgamma(value + 1)

    @property
    def _natural_params(self):
        return (edunn.log(self.rate),)

    def _log_normalizer(self, x):
        return edunn.exp(x)
