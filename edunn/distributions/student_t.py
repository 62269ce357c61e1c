"""``StudentT(df, loc, scale)`` and ``FisherSnedecor(df1, df2)``: ratios built from Gamma draws.

* Student's t: ``loc + scale * X / sqrt(Z / df)`` with ``X ~ N(0, 1)``, ``Z ~ Chi2(df)``;
  ``log p(x) = -(df+1)/2 log(1 + y^2/df) - log(scale) - log(df)/2 - log(pi)/2
  - lgamma(df/2) + lgamma((df+1)/2)``, ``y = (x - loc) / scale``.
* Fisher-Snedecor (the F distribution): ``(X1 / df1) / (X2 / df2)`` with ``Xi ~ Chi2(dfi)``,
  drawn as the ratio of ``Gamma(dfi / 2, dfi)`` samples.

Both ``rsample`` through ``Gamma``'s reparameterised draw, so samples are differentiable in
every parameter.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import edunn
from . import constraints
from .distribution import Distribution, broadcast_all
from .gamma import Chi2, Gamma

__all__ = ["FisherSnedecor", "StudentT"]


class StudentT(Distribution):
    """Heavy-tailed location-scale family: mean ``loc`` for ``df > 1``, variance
    ``scale^2 df / (df - 2)`` for ``df > 2`` (inf for ``1 < df <= 2``, NaN below)."""
    arg_constraints = {"df": constraints.positive, "loc": constraints.real, "scale": constraints.positive}
    support = constraints.real
    has_rsample = True

    def __init__(self, df: Any, loc: Any = 0.0, scale: Any = 1.0, validate_args: bool | None = None):
        self.df, self.loc, self.scale = broadcast_all(df, loc, scale)
        self._chi2 = Chi2(self.df)
        batch_shape = self.df.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "StudentT":
        new = self._get_checked_instance(StudentT, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.df = self.df.expand(batch_shape)
        new.loc = self.loc.expand(batch_shape)
        new.scale = self.scale.expand(batch_shape)
        new._chi2 = self._chi2.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return edunn.where(self.df <= 1, math.nan, self.loc)

    @property
    def mode(self):
        return self.loc

    @property
    def variance(self):
        finite = self.scale.pow(2) * self.df / (self.df - 2)
        m = edunn.where(self.df > 2, finite, edunn.where(self.df > 1, math.inf, math.nan))
        return m.to(self.df.dtype)

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        shape = self._extended_shape(sample_shape)
        X = edunn.randn(shape, dtype=self.df.dtype, device=self.df.device)
        Z = self._chi2.rsample(sample_shape)
        Y = X * edunn.rsqrt(Z / self.df)
        return self.loc + self.scale * Y

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        y = (value - self.loc) / self.scale
        Z = (self.scale.log() + 0.5 * self.df.log() + 0.5 * math.log(math.pi)
             + edunn.lgamma(0.5 * self.df) - edunn.lgamma(0.5 * (self.df + 1.0)))
        return -0.5 * (self.df + 1.0) * edunn.log1p(y ** 2.0 / self.df) - Z

    def entropy(self):
        lbeta = edunn.lgamma(0.5 * self.df) + math.lgamma(0.5) - edunn.lgamma(0.5 * (self.df + 1))
        return (self.scale.log()
                + 0.5 * (self.df + 1) * (edunn.digamma(0.5 * (self.df + 1)) - edunn.digamma(0.5 * self.df))
                + 0.5 * self.df.log() + lbeta)


class FisherSnedecor(Distribution):
    """The F distribution: mean ``df2 / (df2 - 2)`` for ``df2 > 2``, mode
    ``(df1 - 2) / df1 * df2 / (df2 + 2)`` for ``df1 > 2``, NaN where undefined."""
    arg_constraints = {"df1": constraints.positive, "df2": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, df1: Any, df2: Any, validate_args: bool | None = None):
        self.df1, self.df2 = broadcast_all(df1, df2)
        self._gamma1 = Gamma(self.df1 * 0.5, self.df1)
        self._gamma2 = Gamma(self.df2 * 0.5, self.df2)
        if isinstance(df1, numbers.Number) and isinstance(df2, numbers.Number):
            batch_shape = edunn.Size(())
        else:
            batch_shape = self.df1.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "FisherSnedecor":
        new = self._get_checked_instance(FisherSnedecor, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.df1 = self.df1.expand(batch_shape)
        new.df2 = self.df2.expand(batch_shape)
        new._gamma1 = self._gamma1.expand(batch_shape)
        new._gamma2 = self._gamma2.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        df2 = edunn.where(self.df2 <= 2, math.nan, self.df2).to(self.df2.dtype)
        return df2 / (df2 - 2)

    @property
    def mode(self):
        mode = (self.df1 - 2) / self.df1 * self.df2 / (self.df2 + 2)
        return edunn.where(self.df1 <= 2, math.nan, mode).to(mode.dtype)

    @property
    def variance(self):
        df2 = edunn.where(self.df2 <= 4, math.nan, self.df2).to(self.df2.dtype)
        return 2 * df2.pow(2) * (self.df1 + df2 - 2) / (self.df1 * (df2 - 2).pow(2) * (df2 - 4))

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        shape = self._extended_shape(sample_shape)
        X1 = self._gamma1.rsample(sample_shape).view(shape)
        X2 = self._gamma2.rsample(sample_shape).view(shape)
        tiny = edunn.finfo(X2.dtype).tiny
        return (X1 / X2.clamp(min=tiny)).clamp(min=tiny)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        ct1 = self.df1 * 0.5
        ct2 = self.df2 * 0.5
        ct3 = self.df1 / self.df2
        t1 = (ct1 + ct2).lgamma() - ct1.lgamma() - ct2.lgamma()
        t2 = ct1 * ct3.log() + (ct1 - 1) * edunn.log(value)
        t3 = (ct1 + ct2) * edunn.log1p(ct3 * value)
        return t1 + t2 - t3
