"""The gamma family (lesson 01's special functions): ``lgamma``, ``digamma``, ``polygamma``,
``mvlgamma``, the Hurwitz ``zeta`` and the regularised incomplete gamma functions ``igamma`` /
``igammac``.

Everything is array code on ``xp`` (NumPy or CuPy) with a fixed number of steps per element: each
method (series, recurrence, continued fraction) runs on every element and ``xp.where`` keeps the
one that applies, so nothing depends on the data on the host and the same lines run on a GPU.
Inputs are computed in float64 and the result cast to the input's float dtype (integers give the
default dtype).  Where PyTorch's own formula is less exact than possible (``polygamma(1, x)``,
Cephes' ``zeta``, SciPy's ``igamma``), it is followed step by step, because PyTorch is the
specification.

``__all__`` holds the names PyTorch has at the top level (``torch.lgamma``); ``__special__`` the
names of ``torch.special`` this module provides (``edunn.special`` collects them).
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._out import write_out
from .elementwise import _as_floats, _binary, _float_array, _xp
from .unary import _Unary

__all__ = ['lgamma', 'digamma', 'polygamma', 'mvlgamma']
__special__ = ['gammaln', 'digamma', 'psi', 'polygamma', 'multigammaln', 'zeta']

_F64 = backend.float64.np
_PI = math.pi
_LOG_PI = math.log(math.pi)
_EULER = 0.57721566490153286061
_MACHEP = 1.11022302462515654042e-16


# ---------------------------------------------------------------------------------------- zeta
# Cephes' zeta (as PyTorch's Math.h): sum the first 10 terms, then the Euler-Maclaurin tail
#   zeta(x, q) = sum_{k<N} (q+k)^-x + w^{1-x}/(x-1) - w^-x/2 + sum_j B_2j/(2j)! (x)_{2j-1} w^{-x-2j+1}
# with w = q + N.  ``_ZETA_A[j]`` = (2j+2)! / B_{2j+2}.
_ZETA_A = [12.0, -720.0, 30240.0, -1209600.0, 47900160.0, -1.8924375803183791606e9, 7.47242496e10,
           -2.950130727918164224e12, 1.1646782814350067249e14, -4.5979787224074726105e15,
           1.8152105401943546773e17, -7.1661652561756670113e18]


def _zeta_pos(xp: Any, x: Any, q: Any) -> Any:
    """Cephes' loop for q > 0, with its early exits turned into a ``done`` mask."""
    s = q ** -x
    a, b = q, xp.zeros_like(s)
    done = xp.zeros(s.shape, bool)
    for _ in range(9):
        a = a + 1
        b = a ** -x
        s = xp.where(done, s, s + b)
        done = done | ((-_MACHEP * s < b) & (b < _MACHEP * s))
    w = a
    s = xp.where(done, s, s + b * w / (x - 1))
    s = xp.where(done, s, s - 0.5 * b)
    fa, k = xp.ones_like(s), 0.0
    for coef in _ZETA_A:
        fa = fa * (x + k)
        b = b / w
        t = fa * b / coef
        s_new = s + t
        s = xp.where(done, s, s_new)
        done = done | (xp.abs(t / s_new) < _MACHEP)
        k += 1.0
        fa = fa * (x + k)
        b = b / w
        k += 1.0
    return s


def _zeta_array(xp: Any, x: Any, q: Any) -> Any:
    """Hurwitz zeta(x, q) = sum_{k>=0} (q + k)^-x on float64 arrays, with Cephes' special cases.
    For q < 0 (defined for integer x only) Cephes sums until q + k > 9, a data-dependent count;
    here the negative terms are folded, with f = q - floor(q) and g = ceil(q) - q (both exact),
    into three sums at positive arguments:
    zeta(x, q) = zeta(x, f) + (-1)^x (zeta(x, g) - zeta(x, 1 - q))."""
    x, q = xp.broadcast_arrays(x, q)
    neg = (q < 0) & (q != xp.floor(q))
    f, g = q - xp.floor(q), xp.ceil(q) - q
    z0 = _zeta_pos(xp, x, xp.where(neg, f, q))
    z1 = _zeta_pos(xp, x, xp.where(neg, g, 1.0))
    z2 = _zeta_pos(xp, x, xp.where(neg, 1 - q, 1.0))
    sign = xp.where(xp.fmod(x, 2) == 1, -1.0, 1.0)
    y = xp.where(neg, (z0 + sign * z1) - sign * z2, z0)  # z0 + sign z1 first: often exactly 0
    y = xp.where(neg & (x == xp.inf), xp.inf, y)  # the term |q + k| < 1 to the power -inf
    y = xp.where((q <= 0) & (x != xp.floor(x)), xp.nan, y)
    y = xp.where((q <= 0) & (q == xp.floor(q)), xp.inf, y)
    y = xp.where(x < 1, xp.nan, y)
    return xp.where(x == 1, xp.inf, y)


# ---------------------------------------------------------------------------------------- lgamma
# ln Gamma(2 + z) = (1 - gamma) z + sum_{k>=2} (-1)^k (zeta(k) - 1) / k z^k, for |z| <= 1/2 the
# terms shrink like 4^-k; Stirling's series beyond 8.
_LGAMMA_TERMS = 28
_ZETA_M1 = _zeta_pos(backend.numpy, backend.numpy.arange(2.0, _LGAMMA_TERMS + 1), 2.0).tolist()
_LGAMMA_COEF = [1 - _EULER] + [(-1) ** k * z / k for k, z in enumerate(_ZETA_M1, start=2)]
_STIRLING = [1 / 12, -1 / 360, 1 / 1260, -1 / 1680, 1 / 1188, -691 / 360360, 1 / 156, -3617 / 122400]


def _lgamma_near_two(z: Any) -> Any:
    acc = _LGAMMA_COEF[-1]
    for c in reversed(_LGAMMA_COEF[:-1]):
        acc = acc * z + c
    return acc * z


def _lgamma_pos(xp: Any, x: Any) -> Any:
    """ln Gamma(x) for x >= 1/2: the series around 1 and 2, recurrence down from [2.5, 8) into
    [1.5, 2.5), Stirling from 8 on."""
    mid = (x >= 2.5) & (x < 8)
    t, prod = xp.where(mid, x, 2.0), xp.ones_like(x)
    for _ in range(6):  # Gamma(t + 1) = t Gamma(t)
        step = t >= 2.5
        t = xp.where(step, t - 1, t)
        prod = xp.where(step, prod * t, prod)
    near_one = x < 1.5
    z = xp.where(near_one, x - 1, xp.where(mid, t, xp.where(x < 8, x, 2.0)) - 2)
    series = _lgamma_near_two(z) - xp.where(near_one, xp.log1p(z), 0.0) + xp.log(prod)
    big = xp.where(x >= 8, x, 8.0)
    r = 1 / (big * big)
    acc = _STIRLING[-1]
    for c in reversed(_STIRLING[:-1]):
        acc = acc * r + c
    stirling = big * (xp.log(big) - 1) - 0.5 * xp.log(big) + 0.5 * math.log(2 * _PI) + acc / big
    return xp.where(x >= 8, stirling, series)


def _lgamma_array(xp: Any, x: Any) -> Any:
    """ln |Gamma(x)|: reflection ln pi - ln|sin(pi x)| - ln Gamma(1 - x) below 1/2, with sin taken
    of x - round(x) (exact) so that large |x| keeps its accuracy; inf at 0 and negative integers."""
    w = x.astype(_F64)
    pos = _lgamma_pos(xp, xp.where(w >= 0.5, w, 1 - w))
    refl = _LOG_PI - xp.log(xp.abs(xp.sin(_PI * (w - xp.rint(w))))) - pos
    y = xp.where(w >= 0.5, pos, refl)
    y = xp.where(xp.abs(w) < 1e-8, -xp.log(xp.abs(w)) - _EULER * w, y)  # Gamma(x) ~ 1/x - gamma
    y = xp.where(((w <= 0) & (w == xp.floor(w))) | (w == xp.inf), xp.inf, y)
    return y.astype(x.dtype)


# ---------------------------------------------------------------------------------------- digamma
# PyTorch's calc_digamma (Cephes psi): recurrence up to x >= 10, then
#   psi(x) = ln x - 1/(2x) - sum_k B_2k / (2k x^2k),  and psi(x) = psi(1 - x) - pi / tan(pi x) below 0.
_PSI_10 = 2.25175258906672110764
_PSI_A = [8.33333333333333333333e-2, -2.10927960927960927961e-2, 7.57575757575757575758e-3,
          -4.16666666666666666667e-3, 3.96825396825396825397e-3, -8.33333333333333333333e-3,
          8.33333333333333333333e-2]


def _digamma_array(xp: Any, x: Any) -> Any:
    w = x.astype(_F64)
    neg = w < 0
    t = xp.where(neg, 1 - w, w)
    acc = xp.zeros_like(t)
    for _ in range(10):
        up = t < 10
        acc = xp.where(up, acc - 1 / t, acc)
        t = xp.where(up, t + 1, t)
    z = 1 / (t * t)
    poly = _PSI_A[0]
    for c in _PSI_A[1:]:
        poly = poly * z + c
    tail = xp.where(t < 1e17, z * poly, 0.0)
    psi = xp.where(t == 10, acc + _PSI_10, acc + xp.log(t) - 0.5 / t - tail)
    psi = xp.where(neg, psi - _PI / xp.tan(_PI * (w - xp.trunc(w))), psi)
    psi = xp.where(neg & (w == xp.trunc(w)), xp.nan, psi)
    psi = xp.where(w == 0, xp.copysign(xp.inf, -w), psi)  # psi(+-0) = -+inf
    return psi.astype(x.dtype)


def _trigamma_array(xp: Any, x: Any) -> Any:
    """PyTorch's trigamma, step by step: six recurrence steps and a short asymptotic series
    (relative error up to ~5e-10 near x = 1, PyTorch's own)."""
    w = x.astype(_F64)
    low = w < 0.5
    s = xp.sin(_PI * w)
    acc = xp.where(low, -(_PI * _PI) / (s * s), 0.0)
    t = xp.where(low, 1 - w, w)
    for _ in range(6):
        acc = acc + 1 / (t * t)
        t = t + 1
    ixx = 1 / (t * t)
    acc = acc + (1 + 1 / (2 * t) + ixx * (1 / 6 - ixx * (1 / 30 - ixx * (1 / 42)))) / t
    return xp.where(low, -acc, acc).astype(x.dtype)


def _polygamma_array(xp: Any, x: Any, n: int) -> Any:
    if n == 0:
        return _digamma_array(xp, x)
    if n == 1:
        return _trigamma_array(xp, x)
    try:
        fac = math.exp(math.lgamma(n + 1))  # n!, as PyTorch computes it
    except OverflowError:
        fac = math.inf
    w = x.astype(_F64)
    return ((1.0 if n % 2 else -1.0) * fac * _zeta_array(xp, float(n + 1), w)).astype(x.dtype)


# ---------------------------------------------------------------------------------------- Functions
class Lgamma(_Unary):
    """``y = ln |Gamma(x)|``;  dy/dx = digamma(x)."""
    f = staticmethod(_lgamma_array)
    df = staticmethod(lambda x, y: digamma(x))


class Polygamma(Function):
    """``y = psi^(n)(x) = d^(n+1)/dx^(n+1) ln Gamma(x)``, n >= 0 (``digamma`` is n = 0);
    dy/dx = psi^(n+1)(x)."""

    @staticmethod
    def forward(ctx, x, n):
        ctx.save_for_backward(x)
        ctx.n = n
        with backend.numpy.errstate(all="ignore"):
            return _polygamma_array(_xp(x), _float_array(x), n)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * Polygamma.apply(x, ctx.n + 1), None


class Mvlgamma(Function):
    """``y = p(p-1)/4 ln pi + sum_{i=1}^{p} ln Gamma(x - (i-1)/2)``, the log of the multivariate
    gamma function; dy/dx = sum_{i=1}^{p} digamma(x - (i-1)/2)."""

    @staticmethod
    def forward(ctx, x, p):
        xd = _float_array(x)
        xp = _xp(x)
        ctx.save_for_backward(x)
        ctx.p = p
        with backend.numpy.errstate(all="ignore"):
            shifts = xp.arange(-p / 2 + 0.5, 0.5, 0.5)  # PyTorch's order: -(p-1)/2, ..., 0
            terms = _lgamma_array(xp, xd.astype(_F64)[..., None] + shifts)
            y = terms.sum(-1) + p * (p - 1) / 4 * _LOG_PI
        return y.astype(xd.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        total = None
        for i in range(ctx.p):
            term = digamma(x - i / 2)
            total = term if total is None else total + term
        return grad * total, None


def _not_implemented(what: str) -> NotImplementedError:
    return NotImplementedError(f"the derivative for '{what}' is not implemented.")


def _float_pair(a: Any, b: Any) -> tuple:
    """The operands promoted to PyTorch's float result dtype, as float64 arrays, and that dtype."""
    ad, bd = _as_floats(*_binary(a, b))
    arr = ad if hasattr(ad, "dtype") else bd
    xp = _xp(arr)
    return xp, xp.asarray(ad, dtype=_F64), xp.asarray(bd, dtype=_F64), arr.dtype


class Zeta(Function):
    """``y = zeta(x, q) = sum_{k>=0} (q + k)^-x`` (Hurwitz);  dy/dq = -x zeta(x + 1, q), no
    derivative in x (PyTorch raises at backward)."""

    @staticmethod
    def forward(ctx, x, q):
        xp, xd, qd, dt = _float_pair(x, q)
        ctx.save_for_backward(*(v for v in (x, q) if isinstance(v, Tensor)))
        ctx.x, ctx.q = (None if isinstance(x, Tensor) else x), (None if isinstance(q, Tensor) else q)
        with backend.numpy.errstate(all="ignore"):
            return _zeta_array(xp, xd, qd).astype(dt)

    @staticmethod
    def backward(ctx, grad):
        if ctx.needs_input_grad[0]:
            raise _not_implemented("zeta")
        saved = list(ctx.saved_tensors)
        x = saved.pop(0) if ctx.x is None else ctx.x
        q = saved.pop(0) if ctx.q is None else ctx.q
        if not ctx.needs_input_grad[1]:
            return None, None
        return None, grad * -x * zeta(x + 1.0, q)


# ---------------------------------------------------------------------------------------- functional forms
def _check_int(value: Any, fn: str, arg: str, position: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise TypeError(f"{fn}(): argument '{arg}' (position {position}) must be int, "
                        f"not {type(value).__name__}")
    return value


def _check_tensor(value: Any, fn: str, arg: str, position: int) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{arg}' (position {position}) must be Tensor, "
                        f"not {type(value).__name__}")


def lgamma(input: Tensor, *, out: Any = None) -> Tensor:
    """``ln |Gamma(input)|`` (inf at 0 and the negative integers)."""
    return write_out(Lgamma.apply(input), out)


def digamma(input: Tensor, *, out: Any = None) -> Tensor:
    """``psi(input) = d/dx ln Gamma(x)``; -inf at +0, inf at -0, NaN at the negative integers."""
    return write_out(Polygamma.apply(input, 0), out)


def polygamma(n: int, input: Tensor, *, out: Any = None) -> Tensor:
    """``psi^(n)(input)``, the n-th derivative of digamma:
    ``psi^(n)(x) = (-1)^(n+1) n! zeta(n + 1, x)`` for n >= 1."""
    _check_int(n, "polygamma", "n", 1)
    if n < 0:
        raise RuntimeError("polygamma(n, x) does not support negative n.")
    return write_out(Polygamma.apply(input, n), out)


def mvlgamma(input: Tensor, p: int, *, out: Any = None) -> Tensor:
    """``ln Gamma_p(input) = p(p-1)/4 ln pi + sum_{i=1}^{p} ln Gamma(input - (i-1)/2)``, elementwise.
    As PyTorch 2.13, the domain (input > (p-1)/2) is not checked: outside it the formula's value
    (ln |Gamma| of each term) is returned."""
    _check_int(p, "mvlgamma", "p", 2)
    if p < 1:
        raise RuntimeError("p has to be greater than or equal to 1")
    return write_out(Mvlgamma.apply(input, p), out)


def zeta(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """Hurwitz zeta ``sum_{k>=0} (other + k)^(-input)``; either argument may be a Python number."""
    if not isinstance(input, Tensor) and not isinstance(other, Tensor):
        raise TypeError("special_zeta() received an invalid combination of arguments - got "
                        f"({type(input).__name__}, {type(other).__name__}), but expected one of:\n"
                        " * (Tensor input, Tensor other, *, Tensor out = None)\n"
                        " * (Number self, Tensor other, *, Tensor out = None)\n"
                        " * (Tensor input, Number other, *, Tensor out = None)\n")
    return write_out(Zeta.apply(input, other), out)


gammaln, psi, multigammaln = lgamma, digamma, mvlgamma
