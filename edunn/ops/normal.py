"""The normal distribution's functions and their relatives: ``ndtr``, ``ndtri``, ``log_ndtr``,
``erfcx``, ``entr``, ``xlog1py``.

With ``Phi`` the standard normal's cumulative distribution function,

* ``ndtr(x) = Phi(x) = (1 + erf(x / sqrt 2)) / 2``, ``ndtri = Phi^{-1}``, ``log_ndtr = log Phi``;
* ``erfcx(x) = e^{x^2} erfc(x)``, the scaled complementary error function, which carries the
  tails: ``Phi(-a) = erfc(a / sqrt 2) / 2`` and ``erfc(a) = e^{-a^2} erfcx(a)``, so a tail far
  beyond where ``e^{-a^2}`` underflows still has a finite logarithm;
* ``entr(x) = -x ln x`` and ``xlog1py(x, y) = x ln(1 + y)``.

The unary ones follow ``unary.py``'s :class:`_Unary` (the function next to its derivative, the
derivative written with tensor ops so that double backward works); they compute in float64 and
round to the input's dtype.  Everything is array code on ``xp`` with a fixed number of steps, so
it runs unchanged on NumPy and CuPy.

``__all__`` holds the names PyTorch has at the top level; ``__special__`` the names of
``torch.special`` this module provides (``edunn.special`` collects them).
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..tensor import Tensor
from ._out import write_out
from .binary import Xlogy
from .elementwise import _apply, exp, log
from ._erf import _SQRT_PI, _erfcx_nonneg, _exp_square
from .unary import _Unary

__all__: list = []
__special__: list = ['ndtr', 'ndtri', 'log_ndtr', 'erfcx', 'entr', 'xlog1py']

_F64 = backend.float64.np
_SQRT1_2 = math.sqrt(0.5)
_SQRT_2PI = math.sqrt(2 * math.pi)


def _erfcx_array(xp: Any, x: Any) -> Any:
    w = x.astype(_F64)
    pos = _erfcx_nonneg(xp, xp.abs(w))
    # erfcx(-a) = 2 e^{a^2} - erfcx(a): no cancellation (the first term is >= 2, the second <= 1),
    # and +inf once e^{a^2} overflows, as PyTorch's
    return xp.where(w < 0, 2 * _exp_square(xp, xp.abs(w), 1.0) - pos, pos).astype(x.dtype)


# ---------------------------------------------------------------------------------------- Phi
def _ndtr_array(xp: Any, x: Any) -> Any:
    """``Phi(-|x|) = erfc(|x| / sqrt 2) / 2 = e^{-x^2/2} erfcx(|x| / sqrt 2) / 2``, accurate relative
    to itself deep into the tail (``1 + erf`` is 0 from x = -8.3 on), reflected for x > 0."""
    w = x.astype(_F64)
    a = xp.abs(w)
    tail = 0.5 * _exp_square(xp, a, -0.5) * _erfcx_nonneg(xp, a * _SQRT1_2)
    return xp.where(w < 0, tail, 1 - tail).astype(x.dtype)


def _log_ndtr_array(xp: Any, x: Any) -> Any:
    """PyTorch's (and SciPy's) split: ``log(erfcx(-x / sqrt 2) / 2) - x^2 / 2`` for x < -1, where
    Phi(x) is small and its logarithm must not go through Phi itself; ``log1p(-Phi(-x))``
    otherwise, with ``Phi(-|x|)`` as in ``ndtr``."""
    w = x.astype(_F64)
    a = xp.abs(w)
    scaled = _erfcx_nonneg(xp, a * _SQRT1_2)
    left = xp.log(scaled / 2) - (0.5 * w) * w  # overflows only past 1.9e154, as PyTorch's
    tail = 0.5 * _exp_square(xp, a, -0.5) * scaled
    right = xp.log1p(-xp.where(w < 0, 1 - tail, tail))
    return xp.where(w < -1, left, right).astype(x.dtype)


# Cephes' ndtri (Moshier), as PyTorch's calc_ndtri: a rational function of p - 1/2 in the middle,
# and in the tails one of 1/z, z = sqrt(-2 ln p), with separate fits for z < 8 and z >= 8.
_EXP_M2 = 0.13533528323661269189  # e^{-2}
_NDTRI_P0 = (-5.99633501014107895267E1, 9.80010754185999661536E1, -5.66762857469070293439E1,
             1.39312609387279679503E1, -1.23916583867381258016E0)
_NDTRI_Q0 = (1.0, 1.95448858338141759834E0, 4.67627912898881538453E0, 8.63602421390890590575E1,
             -2.25462687854119370527E2, 2.00260212380060660359E2, -8.20372256168333339912E1,
             1.59056225126211695515E1, -1.18331621121330003142E0)
_NDTRI_P1 = (4.05544892305962419923E0, 3.15251094599893866154E1, 5.71628192246421288162E1,
             4.40805073893200834700E1, 1.46849561928858024014E1, 2.18663306850790267539E0,
             -1.40256079171354495875E-1, -3.50424626827848203418E-2, -8.57456785154685413611E-4)
_NDTRI_Q1 = (1.0, 1.57799883256466749731E1, 4.53907635128879210584E1, 4.13172038254672030440E1,
             1.50425385692907503408E1, 2.50464946208309415979E0, -1.42182922854787788574E-1,
             -3.80806407691578277194E-2, -9.33259480895457427372E-4)
_NDTRI_P2 = (3.23774891776946035970E0, 6.91522889068984211695E0, 3.93881025292474443415E0,
             1.33303460815807542389E0, 2.01485389549179081538E-1, 1.23716634817820021358E-2,
             3.01581553508235416007E-4, 2.65806974686737550832E-6, 6.23974539184983293730E-9)
_NDTRI_Q2 = (1.0, 6.02427039364742014255E0, 3.67983563856160859403E0, 1.37702099489081330271E0,
             2.16236993594496635890E-1, 1.34204006088543189037E-2, 3.28014464682127739104E-4,
             2.89247864745380683936E-6, 6.79019408009981274425E-9)


def _polevl(x: Any, coef: tuple) -> Any:
    """``coef[0] x^n + ... + coef[n]`` by Horner's rule."""
    acc = coef[0]
    for c in coef[1:]:
        acc = acc * x + c
    return acc


def _ndtri_array(xp: Any, p: Any) -> Any:
    y0 = p.astype(_F64)
    upper = y0 > 1 - _EXP_M2
    y = xp.where(upper, 1 - y0, y0)  # exact: Sterbenz
    middle = y > _EXP_M2
    c = xp.where(middle, y, 0.5) - 0.5
    c2 = c * c
    x_middle = (c + c * (c2 * _polevl(c2, _NDTRI_P0) / _polevl(c2, _NDTRI_Q0))) * _SQRT_2PI
    yt = xp.where(middle | ~(y > 0), _EXP_M2, y)  # the tail branch, kept finite where unused
    z = xp.sqrt(-2 * xp.log(yt))
    r = 1 / z
    x1 = xp.where(z < 8, r * _polevl(r, _NDTRI_P1) / _polevl(r, _NDTRI_Q1),
                  r * _polevl(r, _NDTRI_P2) / _polevl(r, _NDTRI_Q2))
    x_tail = z - xp.log(z) / z - x1
    out = xp.where(middle, x_middle, xp.where(upper, x_tail, -x_tail))
    out = xp.where(y0 == 0, -xp.inf, xp.where(y0 == 1, xp.inf, out))
    out = xp.where((y0 < 0) | (y0 > 1) | xp.isnan(y0), xp.nan, out)
    return out.astype(p.dtype)


def _entr_array(xp: Any, x: Any) -> Any:
    w = x.astype(_F64)
    pos = w > 0
    out = xp.where(pos, -w * xp.log(xp.where(pos, w, 1.0)), xp.where(w == 0, 0.0, -xp.inf))
    return xp.where(xp.isnan(w), w, out).astype(x.dtype)


class Ndtr(_Unary):
    """``y = Phi(x) = (1 + erf(x / sqrt 2)) / 2``;  dy/dx = e^{-x^2/2} / sqrt(2 pi).

    Computed as ``erfc(-x / sqrt 2) / 2`` below 0, so the lower tail keeps its relative accuracy
    (PyTorch's ``1 + erf`` cancels: it is off by up to 1e-16 in absolute terms, and 0 below
    x = -8.3, where this gives ``Phi(-10) = 7.6e-24``)."""
    f = staticmethod(_ndtr_array)
    df = staticmethod(lambda x, y: exp(-0.5 * (x * x)) * (1 / _SQRT_2PI))


class Ndtri(_Unary):
    """``y = Phi^{-1}(x)`` on [0, 1] (-inf at 0, +inf at 1, NaN outside);
    dy/dx = sqrt(2 pi) e^{y^2/2}."""
    saves = "y"
    f = staticmethod(_ndtri_array)
    df = staticmethod(lambda x, y: _SQRT_2PI * exp(0.5 * (y * y)))


class LogNdtr(_Unary):
    """``y = log Phi(x)``, finite down to x = -1.9e154 (then -inf, as PyTorch's);
    dy/dx = e^{-(y + x^2/2)} / sqrt(2 pi) (PyTorch's formula)."""
    saves = "xy"
    f = staticmethod(_log_ndtr_array)
    df = staticmethod(lambda x, y: exp(-(y + (x * x) / 2)) * (1 / _SQRT_2PI))


class Erfcx(_Unary):
    """``y = e^{x^2} erfc(x)`` (about 1/(x sqrt pi) for large x, +inf below -26.6);
    dy/dx = 2 x y - 2/sqrt(pi)."""
    saves = "xy"
    f = staticmethod(_erfcx_array)
    df = staticmethod(lambda x, y: 2 * x * y - 2 / _SQRT_PI)


class Entr(_Unary):
    """``y = -x ln x`` for x > 0, 0 at 0, -inf for x < 0;  dy/dx = -(1 + ln x)."""
    f = staticmethod(_entr_array)
    df = staticmethod(lambda x, y: -(1 + log(x)))


class XLog1py(Xlogy):
    """``y = x * log1p(other)``, with 0 where x == 0 (unless other is NaN), as ``Xlogy``;
    dy/dx = log1p(other), dy/dother = x / (1 + other).  As PyTorch, dy/dx is 0 where x == 0 and
    other <= -1 (where log1p is -inf or NaN), and a zero gradient gives 0 (``xlog1py(grad, other)``)."""
    log_name, pole = "log1p", -1.0
    function = staticmethod(lambda a, b: xlog1py(a, b))


# ---------------------------------------------------------------------------------------- functional forms
def ndtr(input: Tensor, *, out: Any = None) -> Tensor:
    """The standard normal CDF ``Phi(input) = (1 + erf(input / sqrt 2)) / 2``."""
    return write_out(Ndtr.apply(input), out)


def ndtri(input: Tensor, *, out: Any = None) -> Tensor:
    """The standard normal quantile: ``x`` with ``Phi(x) = input``."""
    return write_out(Ndtri.apply(input), out)


def log_ndtr(input: Tensor, *, out: Any = None) -> Tensor:
    """``log Phi(input)``, accurate where ``Phi`` itself underflows."""
    return write_out(LogNdtr.apply(input), out)


def erfcx(input: Tensor, *, out: Any = None) -> Tensor:
    """The scaled complementary error function ``e^{input^2} erfc(input)``."""
    return write_out(Erfcx.apply(input), out)


def entr(input: Tensor, *, out: Any = None) -> Tensor:
    """The elementwise entropy ``-input * ln(input)`` (0 at 0, -inf below 0)."""
    return write_out(Entr.apply(input), out)


def xlog1py(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """``input * log1p(other)``, 0 where ``input`` is 0; either argument may be a number."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError(
            f"special_xlog1py() received an invalid combination of arguments - got "
            f"({type(input).__name__}, {type(other).__name__}), but expected one of:\n"
            " * (Tensor input, Tensor other, *, Tensor out = None)\n"
            " * (Number self, Tensor other, *, Tensor out = None)\n"
            " * (Tensor input, Number other, *, Tensor out = None)\n")
    return write_out(_apply(XLog1py, input, other), out)
