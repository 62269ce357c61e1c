"""Location-scale families on the real line: ``Normal``, ``Laplace``, ``Cauchy``."""
from __future__ import annotations

import math
import numbers
from typing import Any

import edunn
from . import constraints
from .distribution import Distribution, broadcast_all
from .exp_family import ExponentialFamily

__all__ = ["Cauchy", "Laplace", "Normal"]


class _LocScale(Distribution):
    """Shared parameters ``loc`` and ``scale`` (broadcast together) and ``expand``."""
    arg_constraints = {"loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, loc: Any, scale: Any, validate_args: bool | None = None):
        self.loc, self.scale = broadcast_all(loc, scale)
        if isinstance(loc, numbers.Number) and isinstance(scale, numbers.Number):
            batch_shape = edunn.Size(())
        else:
            batch_shape = self.loc.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "_LocScale":
        new = self._get_checked_instance(type(self), _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _standard(self, shape: edunn.Size) -> edunn.Tensor:
        raise NotImplementedError

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """``loc + scale * eps`` with ``eps`` from the standard member of the family."""
        shape = self._extended_shape(sample_shape)
        return self.loc + self._standard(shape) * self.scale


class Normal(_LocScale, ExponentialFamily):
    """``N(loc, scale^2)``: ``log p(x) = -(x - loc)^2 / (2 scale^2) - log(scale) - log(sqrt(2 pi))``.
    As an exponential family: ``theta = (loc / scale^2, -1 / (2 scale^2))``,
    ``F(theta) = -theta_1^2 / (4 theta_2) + log(-pi / theta_2) / 2``."""
    _mean_carrier_measure = 0

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def stddev(self):
        return self.scale

    @property
    def variance(self):
        return self.stddev.pow(2)

    def _standard(self, shape):
        return edunn.randn(shape, dtype=self.loc.dtype, device=self.loc.device)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        var = self.scale ** 2
        return -((value - self.loc) ** 2) / (2 * var) - self.scale.log() - math.log(math.sqrt(2 * math.pi))

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 * (1 + edunn.erf((value - self.loc) * self.scale.reciprocal() / math.sqrt(2)))

    def icdf(self, value):
        return self.loc + self.scale * edunn.erfinv(2 * value - 1) * math.sqrt(2)

    def entropy(self):
        return 0.5 + 0.5 * math.log(2 * math.pi) + edunn.log(self.scale)

    @property
    def _natural_params(self):
        return (self.loc / self.scale.pow(2), -0.5 * self.scale.pow(2).reciprocal())

    def _log_normalizer(self, x, y):
        return -0.25 * x.pow(2) / y + 0.5 * edunn.log(-math.pi / y)


class Laplace(_LocScale):
    """``Laplace(loc, scale)``: ``log p(x) = -log(2 scale) - |x - loc| / scale``."""

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return 2 * self.scale.pow(2)

    @property
    def stddev(self):
        return (2 ** 0.5) * self.scale

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """``loc - scale * sign(u) * log(1 - |u|)`` with ``u ~ U(-1, 1)``."""
        shape = self._extended_shape(sample_shape)
        eps = edunn.finfo(self.loc.dtype).eps
        u = edunn.rand(shape, dtype=self.loc.dtype, device=self.loc.device) * (2 - eps) + (eps - 1)
        return self.loc - self.scale * u.sign() * edunn.log1p(-u.abs())

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -edunn.log(2 * self.scale) - edunn.abs(value - self.loc) / self.scale

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return 0.5 - 0.5 * (value - self.loc).sign() * edunn.expm1(-(value - self.loc).abs() / self.scale)

    def icdf(self, value):
        term = value - 0.5
        return self.loc - self.scale * term.sign() * edunn.log1p(-2 * term.abs())

    def entropy(self):
        return 1 + edunn.log(2 * self.scale)


class Cauchy(_LocScale):
    """``Cauchy(loc, scale)``: ``log p(x) = -log(pi) - log(scale) - log(1 + ((x - loc)/scale)^2)``."""

    @property
    def mean(self):
        return edunn.full(self._extended_shape(), math.nan, dtype=self.loc.dtype, device=self.loc.device)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        return edunn.full(self._extended_shape(), math.inf, dtype=self.loc.dtype, device=self.loc.device)

    def _standard(self, shape):
        u = edunn.rand(shape, dtype=self.loc.dtype, device=self.loc.device)
        return edunn.tan(math.pi * (u - 0.5))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return -math.log(math.pi) - self.scale.log() - (((value - self.loc) / self.scale) ** 2).log1p()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        return edunn.atan((value - self.loc) / self.scale) / math.pi + 0.5

    def icdf(self, value):
        return edunn.tan(math.pi * (value - 0.5)) * self.scale + self.loc

    def entropy(self):
        return math.log(4 * math.pi) + self.scale.log()
