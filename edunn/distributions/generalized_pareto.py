"""``GeneralizedPareto(loc, scale, concentration)``: the limit distribution of exceedances over a
high threshold, as PyTorch's ``torch.distributions.GeneralizedPareto``.

With ``z = (x - loc) / scale`` and ``xi = concentration``: the survival function is
``S(x) = (1 + xi z)^(-1/xi)`` (``exp(-z)`` at ``xi = 0``), so
``log p(x) = -log(scale) - (1/xi + 1) log(1 + xi z)`` (``-log(scale) - z`` at ``xi = 0``) on
``x >= loc`` (and ``x <= loc - scale / xi`` when ``xi < 0``). Sampling inverts the CDF.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import edunn
from . import constraints
from .distribution import Distribution, broadcast_all

__all__ = ["GeneralizedPareto"]


class GeneralizedPareto(Distribution):
    """``GeneralizedPareto(loc, scale, concentration)``; ``concentration`` within ``isclose`` of 0
    takes the exponential (``xi = 0``) branch of every formula."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive, "concentration": constraints.real}
    has_rsample = True

    def __init__(self, loc, scale, concentration, validate_args=None):
        self.loc, self.scale, self.concentration = broadcast_all(loc, scale, concentration)
        if all(isinstance(v, numbers.Number) for v in (loc, scale, concentration)):
            batch_shape = edunn.Size(())
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "GeneralizedPareto":
        new = self._get_checked_instance(GeneralizedPareto, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new.concentration = self.concentration.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        shape = self._extended_shape(sample_shape)
        u = edunn.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return self.icdf(u)

    def _safe_concentration(self) -> tuple:
        """``(xi == 0 mask, xi with 1 where it is 0)``: the nonzero branch stays finite there
        and its gradient is not NaN."""
        eq_zero = edunn.isclose(self.concentration, edunn.zeros_like(self.concentration))
        return eq_zero, edunn.where(eq_zero, edunn.ones_like(self.concentration), self.concentration)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        y = 1 / safe_conc + edunn.ones_like(z)
        where_nonzero = edunn.where(y == 0, y, y * edunn.log1p(safe_conc * z))
        return -self.scale.log() - edunn.where(eq_zero, z, where_nonzero)

    def log_survival_function(self, value: edunn.Tensor) -> edunn.Tensor:
        """``log S(x) = -log(1 + xi z) / xi`` (``-z`` at ``xi = 0``)."""
        if self._validate_args:
            self._validate_sample(value)
        z = self._z(value)
        eq_zero, safe_conc = self._safe_concentration()
        where_nonzero = -edunn.log1p(safe_conc * z) / safe_conc
        return edunn.where(eq_zero, -z, where_nonzero)

    def log_cdf(self, value: edunn.Tensor) -> edunn.Tensor:
        return edunn.log1p(-edunn.exp(self.log_survival_function(value)))

    def cdf(self, value):
        return edunn.exp(self.log_cdf(value))

    def icdf(self, value):
        eq_zero, safe_conc = self._safe_concentration()
        logu = edunn.log1p(-value)
        where_nonzero = self.loc + self.scale / safe_conc * edunn.expm1(-safe_conc * logu)
        where_zero = self.loc - self.scale * logu
        return edunn.where(eq_zero, where_zero, where_nonzero)

    def _z(self, x):
        return (x - self.loc) / self.scale

    @property
    def mean(self):
        valid = self.concentration < 1
        safe_conc = edunn.where(valid, self.concentration, 0.5)
        return edunn.where(valid, self.loc + self.scale / (1 - safe_conc), math.nan)

    @property
    def variance(self):
        valid = self.concentration < 0.5
        safe_conc = edunn.where(valid, self.concentration, 0.25)
        result = self.scale ** 2 / ((1 - safe_conc) ** 2 * (1 - 2 * safe_conc))
        return edunn.where(valid, result, math.nan)

    def entropy(self):
        ans = edunn.log(self.scale) + self.concentration + 1
        return edunn.broadcast_to(ans, tuple(self._batch_shape))

    @property
    def mode(self):
        return self.loc

    @constraints.dependent_property(is_discrete=False, event_dim=0)
    def support(self):
        lower = self.loc
        upper = edunn.where(self.concentration < 0, lower - self.scale / self.concentration, math.inf)
        return constraints.interval(lower, upper)
