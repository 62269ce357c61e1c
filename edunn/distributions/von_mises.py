"""``VonMises(loc, concentration)``: the circular analogue of the normal distribution, on angles.

``log p(x) = kappa cos(x - loc) - log(2 pi) - log I_0(kappa)``, with ``I_0`` the modified Bessel
function of order 0 (PyTorch's polynomial approximation, Abramowitz and Stegun 9.8.1-4, below).
Samples come from Best and Fisher's (1979) rejection sampler, computed in float64 as PyTorch does:
a wrapped Cauchy proposal with ``r = (1 + rho^2) / (2 rho)``; every round redraws the elements not
yet accepted. There is no ``rsample``.
"""
from __future__ import annotations

import math
from typing import Any

import edunn
from . import constraints
from .distribution import Distribution, broadcast_all, lazy_property

__all__ = ["VonMises"]


def _eval_poly(y: edunn.Tensor, coef: list) -> edunn.Tensor:
    coef = list(coef)
    result = coef.pop()
    while coef:
        result = coef.pop() + y * result
    return result


_I0_COEF_SMALL = [1.0, 3.5156229, 3.0899424, 1.2067492, 0.2659732, 0.0360768, 0.0045813]
_I0_COEF_LARGE = [0.39894228, 0.01328592, 0.00225319, -0.00157565, 0.00916281, -0.02057706, 0.02635537,
                  -0.01647633, 0.00392377]
_I1_COEF_SMALL = [0.5, 0.87890594, 0.51498869, 0.15084934, 0.02658733, 0.00301532, 0.00032411]
_I1_COEF_LARGE = [0.39894228, -0.03988024, -0.00362018, 0.00163801, -0.01031555, 0.02282967, -0.02895312,
                  0.01787654, -0.00420059]
_COEF_SMALL = [_I0_COEF_SMALL, _I1_COEF_SMALL]
_COEF_LARGE = [_I0_COEF_LARGE, _I1_COEF_LARGE]


def _log_modified_bessel_fn(x: edunn.Tensor, order: int = 0) -> edunn.Tensor:
    """``log I_order(x)`` for ``x > 0`` and order 0 or 1: a polynomial in ``(x / 3.75)^2`` below
    3.75, ``x - log(x)/2 + log(poly(3.75 / x))`` above."""
    if order not in (0, 1):
        raise AssertionError(f"order must be 0 or 1, got {order}")
    y = x / 3.75
    y = y * y
    small = _eval_poly(y, _COEF_SMALL[order])
    if order == 1:
        small = x.abs() * small
    small = small.log()
    y = 3.75 / x
    large = x - 0.5 * x.log() + _eval_poly(y, _COEF_LARGE[order]).log()
    return edunn.where(x < 3.75, small, large)


def _rejection_sample(loc, concentration, proposal_r, x):
    """Best-Fisher: accept ``f = (1 + r z) / (r + z)``, ``z = cos(pi u1)``, when
    ``c (2 - c) > u2`` or ``log(c / u2) + 1 - c >= 0`` with ``c = kappa (r - f)``."""
    done = edunn.zeros(x.shape, dtype=edunn.bool, device=loc.device)
    while not bool(done.all()):
        u = edunn.rand((3,) + tuple(x.shape), dtype=loc.dtype, device=loc.device)
        u1, u2, u3 = u.unbind()
        z = edunn.cos(math.pi * u1)
        f = (1 + proposal_r * z) / (proposal_r + z)
        c = concentration * (proposal_r - f)
        accept = ((c * (2 - c) - u2 > 0) | ((c / u2).log() + 1 - c >= 0)) & ~done
        x = edunn.where(accept, (u3 - 0.5).sign() * f.acos(), x)
        done = done | accept
    return (x + math.pi + loc) % (2 * math.pi) - math.pi


class VonMises(Distribution):
    """Mean and mode ``loc``; ``variance`` is the circular variance ``1 - I_1(kappa) / I_0(kappa)``."""
    arg_constraints = {"loc": constraints.real, "concentration": constraints.positive}
    support = constraints.real
    has_rsample = False

    def __init__(self, loc: Any, concentration: Any, validate_args: bool | None = None):
        self.loc, self.concentration = broadcast_all(loc, concentration)
        batch_shape = self.loc.shape
        super().__init__(batch_shape, edunn.Size(()), validate_args)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_prob = self.concentration * edunn.cos(value - self.loc)
        return log_prob - math.log(2 * math.pi) - _log_modified_bessel_fn(self.concentration, order=0)

    @lazy_property
    def _loc(self):
        return self.loc.to(edunn.float64)

    @lazy_property
    def _concentration(self):
        return self.concentration.to(edunn.float64)

    @lazy_property
    def _proposal_r(self):
        kappa = self._concentration
        tau = 1 + (1 + 4 * kappa ** 2).sqrt()
        rho = (tau - (2 * tau).sqrt()) / (2 * kappa)
        _proposal_r = (1 + rho ** 2) / (2 * rho)
        _proposal_r_taylor = 1 / kappa + kappa  # the limit for tiny kappa, where rho cancels
        return edunn.where(kappa < 1e-5, _proposal_r_taylor, _proposal_r)

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        shape = self._extended_shape(sample_shape)
        with edunn.no_grad():
            x = edunn.zeros(shape, dtype=self._loc.dtype, device=self.loc.device)
            return _rejection_sample(self._loc, self._concentration, self._proposal_r, x).to(self.loc.dtype)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "VonMises":
        """A new ``VonMises`` on the expanded parameters (as PyTorch, which has no custom expand)."""
        validate_args = self.__dict__.get("_validate_args")
        loc = self.loc.expand(tuple(batch_shape))
        concentration = self.concentration.expand(tuple(batch_shape))
        return type(self)(loc, concentration, validate_args=validate_args)

    @property
    def mean(self):
        return self.loc

    @property
    def mode(self):
        return self.loc

    @lazy_property
    def variance(self):
        return 1 - (_log_modified_bessel_fn(self.concentration, order=1)
                    - _log_modified_bessel_fn(self.concentration, order=0)).exp()
