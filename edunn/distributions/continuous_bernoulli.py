"""``ContinuousBernoulli(probs | logits)``: the Bernoulli likelihood made a density on ``[0, 1]``
(Loaiza-Ganem and Cunningham, 2019), as PyTorch's ``torch.distributions.ContinuousBernoulli``.

``p(x) = C(lambda) lambda^x (1 - lambda)^(1 - x)`` with ``lambda = probs`` and the normaliser
``C(lambda) = 2 atanh(1 - 2 lambda) / (1 - 2 lambda)`` (``C(1/2) = 2``). Near ``lambda = 1/2`` the
closed forms are 0/0, so within ``lims`` PyTorch uses Taylor expansions about 1/2; so do we.
"""
from __future__ import annotations

import math
from typing import Any

import edunn
import edunn.nn.functional as F
from . import constraints
from .distribution import (Distribution, _ProbsOrLogits, broadcast_all, clamp_probs, lazy_property,
                           logits_to_probs)
from .exp_family import ExponentialFamily

__all__ = ["ContinuousBernoulli"]


class ContinuousBernoulli(_ProbsOrLogits, ExponentialFamily):
    """``probs`` (clamped inside (0, 1)) or ``logits``; ``lims`` bounds the unstable region
    around ``probs = 0.5`` where Taylor expansions replace the closed forms.

    An ``ExponentialFamily`` with natural parameter ``logits`` and log-normaliser
    ``log((e^x - 1) / x)``; ``entropy`` is overridden by the closed form, as in PyTorch."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}
    support = constraints.unit_interval
    _mean_carrier_measure = 0
    has_rsample = True

    def __init__(self, probs: Any = None, logits: Any = None, lims: tuple[float, float] = (0.499, 0.501),
                 validate_args: bool | None = None):
        batch_shape = self._store_probs_or_logits(probs, logits)
        if probs is not None:
            # probs is clamped below, so it is checked here (when validation was asked for)
            if validate_args is not None:
                if not bool(self.arg_constraints["probs"].check(self.probs).all()):
                    raise ValueError("The parameter probs has invalid values")
            self.probs = clamp_probs(self.probs)
            self._param = self.probs
        self._lims = lims
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "ContinuousBernoulli":
        new = self._get_checked_instance(ContinuousBernoulli, _instance)
        new._lims = self._lims
        batch_shape = edunn.Size(tuple(batch_shape))
        self._expand_probs_or_logits(new, batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def _outside_unstable_region(self) -> edunn.Tensor:
        return (self.probs <= self._lims[0]) | (self.probs > self._lims[1])

    def _cut_probs(self) -> edunn.Tensor:
        # inside the unstable region, a harmless stand-in (the result there is the Taylor branch)
        return edunn.where(self._outside_unstable_region(), self.probs,
                           self._lims[0] * edunn.ones_like(self.probs))

    def _cont_bern_log_norm(self) -> edunn.Tensor:
        """``log C(probs)``; ``log 2 + (4/3 + 104/45 x) x`` with ``x = (probs - 1/2)^2`` near 1/2."""
        cut_probs = self._cut_probs()
        cut_probs_below_half = edunn.where(cut_probs <= 0.5, cut_probs, edunn.zeros_like(cut_probs))
        cut_probs_above_half = edunn.where(cut_probs >= 0.5, cut_probs, edunn.ones_like(cut_probs))
        log_norm = (edunn.log(edunn.abs(edunn.log1p(-cut_probs) - edunn.log(cut_probs)))
                    - edunn.where(cut_probs <= 0.5, edunn.log1p(-2.0 * cut_probs_below_half),
                                  edunn.log(2.0 * cut_probs_above_half - 1.0)))
        x = edunn.pow(self.probs - 0.5, 2)
        taylor = math.log(2.0) + (4.0 / 3.0 + 104.0 / 45.0 * x) * x
        return edunn.where(self._outside_unstable_region(), log_norm, taylor)

    @property
    def mean(self):
        cut_probs = self._cut_probs()
        mus = cut_probs / (2.0 * cut_probs - 1.0) + 1.0 / (edunn.log1p(-cut_probs) - edunn.log(cut_probs))
        x = self.probs - 0.5
        taylor = 0.5 + (1.0 / 3.0 + 16.0 / 45.0 * edunn.pow(x, 2)) * x
        return edunn.where(self._outside_unstable_region(), mus, taylor)

    @property
    def stddev(self):
        return edunn.sqrt(self.variance)

    @property
    def variance(self):
        cut_probs = self._cut_probs()
        variances = (cut_probs * (cut_probs - 1.0) / edunn.pow(1.0 - 2.0 * cut_probs, 2)
                     + 1.0 / edunn.pow(edunn.log1p(-cut_probs) - edunn.log(cut_probs), 2))
        x = edunn.pow(self.probs - 0.5, 2)
        taylor = 1.0 / 12.0 - (1.0 / 15.0 - 128.0 / 945.0 * x) * x
        return edunn.where(self._outside_unstable_region(), variances, taylor)

    @lazy_property
    def probs(self):
        # unlike the mixin's, clamped inside (0, 1), as PyTorch's
        return clamp_probs(logits_to_probs(self.logits, is_binary=True))

    @property
    def param_shape(self):
        return self._param.size()

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        shape = self._extended_shape(sample_shape)
        u = edunn.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        with edunn.no_grad():
            return self.icdf(u)

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """``icdf(u)`` with ``u`` uniform: differentiable in the parameters."""
        shape = self._extended_shape(sample_shape)
        u = edunn.rand(shape, dtype=self.probs.dtype, device=self.probs.device)
        return self.icdf(u)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none") + self._cont_bern_log_norm()

    def cdf(self, value):
        if self._validate_args:
            self._validate_sample(value)
        cut_probs = self._cut_probs()
        cdfs = ((edunn.pow(cut_probs, value) * edunn.pow(1.0 - cut_probs, 1.0 - value) + cut_probs - 1.0)
                / (2.0 * cut_probs - 1.0))
        unbounded_cdfs = edunn.where(self._outside_unstable_region(), cdfs, value)
        return edunn.where(value <= 0.0, edunn.zeros_like(value),
                           edunn.where(value >= 1.0, edunn.ones_like(value), unbounded_cdfs))

    def icdf(self, value):
        cut_probs = self._cut_probs()
        return edunn.where(self._outside_unstable_region(),
                           (edunn.log1p(-cut_probs + value * (2.0 * cut_probs - 1.0)) - edunn.log1p(-cut_probs))
                           / (edunn.log(cut_probs) - edunn.log1p(-cut_probs)),
                           value)

    def entropy(self):
        log_probs0 = edunn.log1p(-self.probs)
        log_probs1 = edunn.log(self.probs)
        return self.mean * (log_probs0 - log_probs1) - self._cont_bern_log_norm() - log_probs0

    @property
    def _natural_params(self) -> tuple:
        return (self.logits,)

    def _log_normalizer(self, x: edunn.Tensor) -> edunn.Tensor:
        """``log((e^x - 1) / x)`` of the natural parameter, a Taylor series near ``x = 0``."""
        out_unst_reg = (x <= self._lims[0] - 0.5) | (x > self._lims[1] - 0.5)
        cut_nat_params = edunn.where(out_unst_reg, x, (self._lims[0] - 0.5) * edunn.ones_like(x))
        log_norm = edunn.log(edunn.abs(edunn.expm1(cut_nat_params))) - edunn.log(edunn.abs(cut_nat_params))
        taylor = 0.5 * x + edunn.pow(x, 2) / 24.0 - edunn.pow(x, 4) / 2880.0
        return edunn.where(out_unst_reg, log_norm, taylor)
