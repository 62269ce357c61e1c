"""The error function's family as array code (no SciPy): ``erf``, ``erfc``, ``erfcx`` and
``erfinv`` on NumPy or CuPy arrays, for the ops of ``unary.py`` and ``normal.py`` (and GELU,
and the incomplete gamma function) -- lesson 01, section 7, shows the pattern: every branch on
every element, ``where`` to choose.
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend

_SQRT_PI = math.sqrt(math.pi)
_F64 = backend.float64.np


# ---------------------------------------------------------------------------------------- erf
# erf without SciPy: a Maclaurin series (in x^2, Horner form) for |x| < 2.5 and a continued
# fraction for erfc beyond; both are accurate to ~1e-15 in float64 (absolutely: erf's tail, 1 -
# erfc, needs no more).  erfc itself must be accurate relative to its own tiny values: it goes
# through erfcx below.
_ERF_TERMS = 44
_ERF_COEF = [(-1) ** n / (math.factorial(n) * (2 * n + 1)) for n in range(_ERF_TERMS)]
_ERFC_CF_DEPTH = 60


def _erf_series(x: Any) -> Any:
    x2 = x * x
    acc = _ERF_COEF[-1]
    for c in reversed(_ERF_COEF[:-1]):
        acc = acc * x2 + c
    return (2 / _SQRT_PI) * x * acc


def _erfc_cf(x: Any, xp: Any) -> Any:
    """erfc(x) for x >= 2.5: e^{-x^2}/sqrt(pi) / (x + (1/2)/(x + 1/(x + (3/2)/(x + ...))))."""
    f = x
    for k in range(_ERFC_CF_DEPTH, 0, -1):
        f = x + (k / 2) / f
    return xp.exp(-x * x) / (_SQRT_PI * f)


def _erf_array(xp: Any, x: Any) -> Any:
    ax = xp.abs(x)
    small = ax < 2.5
    big = xp.where(small, 2.5, ax)  # keeps the unused branch finite
    inner = _erf_series(xp.where(small, x, 0))
    outer = xp.sign(x) * (1 - _erfc_cf(big, xp))
    return xp.where(small, inner, outer).astype(x.dtype)


def _erfc_array(xp: Any, x: Any) -> Any:
    """``1 - erf x`` below 1 in magnitude (at least 0.157 there, so the subtraction loses at most
    a digit), else ``e^{-x^2} erfcx(|x|)`` (``2 -`` that for x <= -1): accurate relative to erfc
    itself deep into the tail, where ``1 - erf`` would be all rounding error."""
    w = x.astype(_F64)
    a = xp.abs(w)
    small = a < _CF_FROM
    tail = _exp_square(xp, a, -1.0) * _erfcx_nonneg(xp, xp.where(small, _CF_FROM, a))
    out = xp.where(small, 1 - _erf_series(xp.where(small, w, 0.0)), xp.where(w > 0, tail, 2 - tail))
    return out.astype(x.dtype)


def _erfinv_array(xp: Any, x: Any) -> Any:
    """Winitzki's closed-form guess (error ~2e-3), then three Halley steps on erf(y) = x."""
    w = x.astype(backend.float64.np)
    a = 0.147
    ln = xp.log1p(-xp.where(xp.abs(w) < 1, w * w, 0.0))
    t = 2 / (math.pi * a) + ln / 2
    y = xp.sign(w) * xp.sqrt(xp.sqrt(t * t - ln / a) - t)
    for _ in range(3):
        f = _erf_array(xp, y) - w
        step = f / ((2 / _SQRT_PI) * xp.exp(-y * y))
        y = y - step / (1 + y * step)
    y = xp.where(xp.abs(w) == 1, xp.copysign(xp.inf, w), y)
    y = xp.where(xp.abs(w) > 1, xp.nan, y)
    return y.astype(x.dtype)


# ---------------------------------------------------------------------------------------- erfcx
# Below 1, erfc = 1 - erf (unary.py's series) loses at most a digit (erfc(1) = 0.157); from 1 on,
# Laplace's continued fraction for erfcx converges to double precision within 200 terms (150
# leave 1e-14 at 1), and needs no exponential, so it neither overflows nor underflows, however
# large the argument.
_CF_FROM = 1.0
_CF_DEPTH = 200


def _erfcx_nonneg(xp: Any, a: Any) -> Any:
    """``erfcx(a)`` for float64 ``a >= 0`` (NaN passes through):
    ``e^{a^2} (1 - erf a)`` below 1, else
    ``1/sqrt(pi) / (a + (1/2)/(a + 1/(a + (3/2)/(a + ...))))``."""
    small = a < _CF_FROM
    near = xp.where(small, a, 0.0)
    far = xp.where(small, _CF_FROM, a)  # keeps the unused branch finite
    f = far
    for k in range(_CF_DEPTH, 0, -1):
        f = far + (k / 2) / f
    return xp.where(small, xp.exp(near * near) * (1 - _erf_series(near)), 1 / (_SQRT_PI * f))


def _exp_square(xp: Any, x: Any, c: float) -> Any:
    """``e^{c x^2}`` for float64 ``x >= 0``, with ``x^2 = hi^2 + (x - hi)(x + hi)`` where ``hi`` is
    ``x`` rounded to 20 fractional bits: ``c hi^2`` is exact (c = 1 or -1/2), so no rounding of
    ``x * x`` is magnified by the exponent (up to 745).  Beyond 64 the result is 0 or inf anyway."""
    b = xp.where(x > 64, 64.0, x)
    hi = xp.round(b * 1048576.0) / 1048576.0
    return xp.exp(c * (hi * hi)) * xp.exp(c * ((b - hi) * (b + hi)))
