"""Bessel and Airy functions: ``i0``, ``i0e``, ``i1``, ``i1e``, ``bessel_j0`` ... ``airy_ai``
(lesson 01's special functions).

``__all__`` holds the names PyTorch has at the top level (``torch.i0``); ``__special__`` the names
of ``torch.special`` this module provides (``edunn.special`` collects them).

PyTorch evaluates these with the approximations of Stephen Moshier's Cephes library
(``aten/src/ATen/native/Math.h``): on each range of ``x``, a Chebyshev series or a ratio of two
polynomials, fitted once and stored as coefficient tables (``_bessel_tables.py``).  A C kernel picks
one branch per element with ``if``; array code cannot, so here every branch is evaluated on the
whole array, its input clamped into that branch's range so that it stays finite where it is not
used, and ``xp.where`` picks the branch each element needs.  The arithmetic follows Math.h
operation by operation, so overflow and the special cases (0, negative ``x``, +-inf, NaN) come out
as PyTorch's.  Every float dtype is computed in float64 and rounded back once (PyTorch computes
float32 in float32: its float32 ``i0`` overflows past x = 88.7, edunn's only where I0(x) itself
exceeds float32's range, past x = 91.9).

Derivatives are PyTorch's: ``i0' = i1``, ``i0e' = i1e - sgn(x) i0e``, ``i1' = i0 - i1/x`` and
``i1e' = i0e - i1e (sgn(x) + 1/x)``, 1/2 where ``|x| <= eps``.  For the others PyTorch defines no
derivative (``non_differentiable`` in its derivatives.yaml): their result does not require grad.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from .. import backend
from ..tensor import Tensor
from . import _bessel_tables as C
from ._out import write_out
from .elementwise import _where
from .unary import _Unary, sign

__all__ = ['i0']
__special__ = ['i0', 'i0e', 'i1', 'i1e', 'bessel_j0', 'bessel_j1', 'bessel_y0', 'bessel_y1',
               'modified_bessel_i0', 'modified_bessel_i1', 'modified_bessel_k0',
               'modified_bessel_k1', 'scaled_modified_bessel_k0', 'scaled_modified_bessel_k1',
               'spherical_bessel_j0', 'airy_ai']

# Math.h's constants, digit for digit
_PI_4 = 0.785398163397448309615660845819875721        # pi/4
_3PI_4 = 2.356194490192344928846982537459627163       # 3 pi/4
_SQRT_2_PI = 0.797884560802865355879892119868763737   # sqrt(2/pi)
_2_PI = 0.636619772367581343075535053490057448        # 2/pi
_1_SQRT_PI = 5.64189583547756286948e-01               # 1/sqrt(pi)
_J0_ZEROS2 = (5.78318596294678452118e+00, 3.04712623436620863991e+01)  # j_{0,1}^2, j_{0,2}^2
_J1_ZEROS2 = (1.46819706421238932572e+01, 4.92184563216946036703e+01)  # j_{1,1}^2, j_{1,2}^2
_AIRY_TERMS = 16  # Maclaurin terms of Ai on |x| < 2.09: the 12th is already below 1e-16


# ---------------------------------------------------------------------------------------- series
def _chbevl(y: Any, coef: tuple) -> Any:
    """Cephes' ``chbevl``: ``sum'_k c_k T_k(y/2)`` by Clenshaw's recurrence (coefficients highest
    order first; ``y`` is the argument mapped onto [-2, 2])."""
    b0, b1, b2 = coef[0], 0.0, 0.0
    for c in coef[1:]:
        b2, b1 = b1, b0
        b0 = y * b1 - b2 + c
    return 0.5 * (b0 - b2)


def _horner(z: Any, coef: tuple) -> Any:
    """``c_0 z^n + c_1 z^(n-1) + ... + c_n`` by Horner's rule (Cephes' ``polevl``)."""
    acc = 0.0
    for c in coef:
        acc = acc * z + c
    return acc


def _in_float64(fn: Callable) -> staticmethod:
    """``f(xp, x)`` for :class:`_Unary`: ``fn`` evaluated in float64 and rounded back to x's dtype."""
    def f(xp: Any, x: Any) -> Any:
        return xp.asarray(fn(xp, x.astype(backend.float64.np))).astype(x.dtype)
    return staticmethod(f)


# ---------------------------------------------------------------------------------------- I0, I1
def _i_branches(xp: Any, x: Any, a_table: tuple, b_table: tuple) -> tuple:
    """The two Chebyshev series of e^-|x| I_n(|x|): table A on |x| <= 8 (in |x|/2 - 2), table B
    beyond (in 32/|x| - 2).  Returns |x|, the mask |x| <= 8, both series, and |x| clamped for B."""
    ax = xp.abs(x)
    near = ax <= 8.0
    big = xp.where(near, 8.0, ax)
    a = _chbevl(xp.where(near, ax, 8.0) / 2.0 - 2.0, a_table)
    return ax, near, a, _chbevl(32.0 / big - 2.0, b_table), big


def _odd(xp: Any, x: Any, y: Any) -> Any:
    return xp.where(x < 0, -y, y)


def _i0(xp: Any, x: Any) -> Any:
    ax, near, a, b, big = _i_branches(xp, x, C.I0_A, C.I0_B)
    e = xp.exp(ax)
    return xp.where(near, e * a, e * b / xp.sqrt(big))


def _i0e(xp: Any, x: Any) -> Any:
    ax, near, a, b, big = _i_branches(xp, x, C.I0_A, C.I0_B)
    return xp.where(near, a, b / xp.sqrt(big))


def _i1(xp: Any, x: Any) -> Any:
    ax, near, a, b, big = _i_branches(xp, x, C.I1_A, C.I1_B)
    e = xp.exp(ax)
    return _odd(xp, x, xp.where(near, e * ax * a, e * b / xp.sqrt(big)))


def _i1e(xp: Any, x: Any) -> Any:
    ax, near, a, b, big = _i_branches(xp, x, C.I1_A, C.I1_B)
    return _odd(xp, x, xp.where(near, a * ax, b / xp.sqrt(big)))


# ---------------------------------------------------------------------------------------- K0, K1
def _k(xp: Any, x: Any, order: int, scaled: bool) -> Any:
    """K0 or K1 (times e^x when ``scaled``).  On (0, 2]: a Chebyshev series in x^2 - 2 plus the
    logarithmic part, -log(x/2) I0(x) for K0 and log(x/2) I1(x) + series/x for K1; beyond 2:
    e^-x / sqrt(x) times a Chebyshev series in 8/x - 2.  K_n(0) = inf, NaN for x < 0."""
    a_table, b_table = (C.K0_A, C.K0_B) if order == 0 else (C.K1_A, C.K1_B)
    near = x <= 2.0
    xs = xp.where(near & (x > 0), x, 1.0)
    xb = xp.where(near, 4.0, x)
    a = _chbevl(xs * xs - 2.0, a_table)
    b = _chbevl(8.0 / xb - 2.0, b_table)
    if order == 0:
        small = a - xp.log(0.5 * xs) * _i0(xp, xs)
    else:
        small = xp.log(0.5 * xs) * _i1(xp, xs) + a / xs
    if scaled:
        small, large = small * xp.exp(xs), b / xp.sqrt(xb)
    else:
        large = xp.exp(-xb) * b / xp.sqrt(xb)
    out = xp.where(near, small, large)
    return xp.where(x == 0, xp.inf, xp.where(x < 0, xp.nan, out))


# ---------------------------------------------------------------------------------------- J, Y
def _far(xp: Any, x: Any, order: int, second_kind: bool) -> Any:
    """J_n or Y_n for x > 5 (n = 0, 1) from Hankel's asymptotic form: with theta = x - (2n+1) pi/4,
    ``J = sqrt(2/(pi x)) (P cos theta - Q sin theta)`` and ``Y = sqrt(2/(pi x)) (P sin theta +
    Q cos theta)``, P and 5/x Q rational functions of (5/x)^2."""
    if order == 0:
        pp, pq, qp, qq, shift = C.J0_PP, C.J0_PQ, C.J0_QP, C.J0_QQ, _PI_4
        z = 25.0 / (x * x)
    else:
        pp, pq, qp, qq, shift = C.J1_PP, C.J1_PQ, C.J1_QP, C.J1_QQ, _3PI_4
        z = 5.0 / x * (5.0 / x)
    p = _horner(z, pp) / _horner(z, pq)
    q = 5.0 / x * (_horner(z, qp) / _horner(z, qq))
    theta = x - shift
    if second_kind:
        wave = p * xp.sin(theta) + q * xp.cos(theta)
    else:
        wave = p * xp.cos(theta) - q * xp.sin(theta)
    return wave * _SQRT_2_PI / xp.sqrt(x)


def _j0(xp: Any, x: Any) -> Any:
    """J0 is even: on |x| <= 5, (x^2 - j01^2)(x^2 - j02^2) R(x^2) (1 - x^2/4 below 1e-5)."""
    ax = xp.abs(x)
    near = ax <= 5.0
    xs = xp.where(near, ax, 0.0)
    xx = xs * xs
    small = (xx - _J0_ZEROS2[0]) * (xx - _J0_ZEROS2[1]) * _horner(xx, C.J0_RP) / _horner(xx, C.J0_RQ)
    small = xp.where(xs < 0.00001, 1.0 - xx / 4.0, small)
    return xp.where(near, small, _far(xp, xp.where(near, 10.0, ax), 0, False))


def _j1(xp: Any, x: Any) -> Any:
    """J1 is odd: on |x| <= 5, x (x^2 - j11^2)(x^2 - j12^2) R(x^2)."""
    neg = x < 0
    ax = xp.where(neg, -x, x)  # not abs: J1(-0.0) is -0.0, as in PyTorch
    near = ax <= 5.0
    xs = xp.where(near, ax, 0.0)
    xx = xs * xs
    r = _horner(xx, C.J1_RP) / _horner(xx, C.J1_RQ)
    small = r * xs * (xx - _J1_ZEROS2[0]) * (xx - _J1_ZEROS2[1])
    return _odd(xp, x, xp.where(near, small, _far(xp, xp.where(near, 10.0, ax), 1, False)))


def _y0(xp: Any, x: Any) -> Any:
    """On (0, 5]: R(x^2) + 2/pi log(x) J0(x); -inf at 0, NaN for x < 0."""
    near = x <= 5.0
    xs = xp.where(near & (x > 0), x, 1.0)
    xx = xs * xs
    small = _horner(xx, C.Y0_YP) / _horner(xx, C.Y0_YQ) + _2_PI * xp.log(xs) * _j0(xp, xs)
    out = xp.where(near, small, _far(xp, xp.where(near, 10.0, x), 0, True))
    return xp.where(x == 0, -xp.inf, xp.where(x < 0, xp.nan, out))


def _y1(xp: Any, x: Any) -> Any:
    """On (0, 5]: x R(x^2) + 2/pi (J1(x) log(x) - 1/x); -inf at 0, NaN for x < 0."""
    near = x <= 5.0
    xs = xp.where(near & (x > 0), x, 1.0)
    xx = xs * xs
    r = _horner(xx, C.Y1_YP) / _horner(xx, C.Y1_YQ)
    small = xs * r + _2_PI * (_j1(xp, xs) * xp.log(xs) - 1.0 / xs)
    out = xp.where(near, small, _far(xp, xp.where(near, 10.0, x), 1, True))
    return xp.where(x == 0, -xp.inf, xp.where(x < 0, xp.nan, out))


# ---------------------------------------------------------------------------------------- j0, Ai
def _spherical_j0(xp: Any, x: Any) -> Any:
    """sin(x)/x; its Maclaurin series on |x| < 0.5 (no cancellation), 0 at +-inf."""
    inf = xp.isinf(x)
    near = xp.abs(x) < 0.5
    xs = xp.where(near, x, 0.0)
    xx = xs * xs
    series = 1.0 + xx * (-1.0 / 6.0 + xx * (1.0 / 120.0 + xx * (-1.0 / 5040.0 + xx * (
        1.0 / 362880.0 + xx * (-1.0 / 39916800.0 + xx * (1.0 / 6227020800.0))))))
    xl = xp.where(near | inf, 1.0, x)
    return xp.where(inf, 0.0, xp.where(near, series, xp.sin(xl) / xl))


def _airy_ai(xp: Any, x: Any) -> Any:
    """Three branches, as Cephes: x < -2.09, the oscillating asymptotic form in zeta = 2/3 |x|^1.5;
    x >= 2.09, the decaying one (0 past 103.892, where e^-zeta underflows); between, the Maclaurin
    series Ai = c1 f(x) - c2 g(x), with f = sum 3^k (1/3)_k x^(3k)/(3k)!, g likewise.  NaN at +-inf."""
    inf = xp.isinf(x)
    xf = xp.where(inf, 0.0, x)
    neg = xf < -2.09
    pos = xf >= 2.09
    xn = xp.where(neg, xf, -4.0)
    zeta = -2.0 * xn * xp.sqrt(-xn) / 3.0
    z = 1.0 / zeta
    zz = z * z
    t = zeta + 0.25 * math.pi
    osc = _1_SQRT_PI / xp.sqrt(xp.sqrt(-xn)) * (
        xp.sin(t) * (1.0 + zz * _horner(zz, C.AI_AFN) / _horner(zz, C.AI_AFD))
        - xp.cos(t) * (z * _horner(zz, C.AI_AGN) / _horner(zz, C.AI_AGD)))
    xq = xp.where(pos & (xf <= 103.892), xf, 4.0)
    zeta = 2.0 * xq * xp.sqrt(xq) / 3.0
    w = 1.0 / zeta
    r = _horner(w, C.AI_AN) / _horner(w, C.AI_AD)
    decay = _1_SQRT_PI * r / (2.0 * xp.sqrt(xp.sqrt(xq)) * xp.exp(zeta))
    xm = xp.where(neg | pos, 0.0, xf)
    x3 = xm * xm * xm
    f, g, m, n, k = 1.0, xm, 1.0, xm, 1.0
    for _ in range(_AIRY_TERMS):  # Math.h's loop, with the terms of |x| < 2.09's worst case
        m = m * x3 / (k + 1.0) / (k + 2.0)
        n = n * x3 / (k + 2.0) / (k + 3.0)
        f, g, k = f + m, g + n, k + 3.0
    series = 0.355028053887817239260 * f - 0.258819403792806798405 * g
    out = xp.where(neg, osc, xp.where(pos, decay, series))
    return xp.where(inf, xp.nan, xp.where(xf > 103.892, 0.0, out))


# ---------------------------------------------------------------------------------------- Functions
def _divided_by_x_slope(x: Tensor, y: Tensor, lead: Callable, shift: Callable) -> Tensor:
    """PyTorch's ``i1_backward``/``i1e_backward``: ``lead(x) - y * shift(x)`` with ``x`` replaced by
    eps where ``|x| <= eps`` (or NaN), and there the limit 1/2 (the formula is 0/0 at 0)."""
    eps = float(backend.finfo(x.dtype).eps)
    fine = x.abs() > eps
    safe = _where(fine, x, eps)
    return _where(fine, lead(safe) - y * shift(safe), 0.5)


class I0(_Unary):
    """``y = I0(x)``;  dy/dx = I1(x)."""
    f = _in_float64(_i0)
    df = staticmethod(lambda x, y: i1(x))


class I0e(_Unary):
    """``y = e^{-|x|} I0(x)``;  dy/dx = i1e(x) - sgn(x) y."""
    saves = "xy"
    f = _in_float64(_i0e)
    df = staticmethod(lambda x, y: i1e(x) - sign(x) * y)


class I1(_Unary):
    """``y = I1(x)``;  dy/dx = I0(x) - y/x (1/2 at 0)."""
    saves = "xy"
    f = _in_float64(_i1)
    df = staticmethod(lambda x, y: _divided_by_x_slope(x, y, i0, lambda s: 1 / s))


class I1e(_Unary):
    """``y = e^{-|x|} I1(x)``;  dy/dx = i0e(x) - y (sgn(x) + 1/x) (1/2 at 0)."""
    saves = "xy"
    f = _in_float64(_i1e)
    df = staticmethod(lambda x, y: _divided_by_x_slope(x, y, i0e, lambda s: sign(s) + 1 / s))


class _NoDerivative(_Unary):
    """A function PyTorch gives no derivative (``non_differentiable`` in derivatives.yaml): its result
    does not require grad, so ``backward()`` from it raises autograd's "does not require grad" error
    and in ``y * x`` the factor ``y`` counts as a constant, as in PyTorch.  PyTorch's kernels for
    these have no float16/bfloat16 version; edunn refuses those dtypes with PyTorch's error."""
    saves = ""
    kernel = ""  # PyTorch's kernel name, for its error messages

    @classmethod
    def forward(cls, ctx, x):
        if x._data.dtype in (backend.float16.np, backend.bfloat16.np):
            raise NotImplementedError(f'"{cls.kernel}_{x.device.type}" not implemented for '
                                      f"'{x.dtype.scalar_name}'")
        y = Tensor._make(super().forward(ctx, x))
        ctx.mark_non_differentiable(y)
        return y

    @classmethod
    def backward(cls, ctx, grad):  # never reached: the result is marked non-differentiable
        raise RuntimeError(f"the derivative for '{cls.kernel}' is not implemented.")


def _no_derivative(kernel: str, fn: Callable) -> type:
    """The Function of one non-differentiable function: ``fn`` in float64, PyTorch's kernel name."""
    doc = f"``y = {kernel}(x)``; no derivative."
    return type(kernel.title().replace("_", ""), (_NoDerivative,),
                {"f": _in_float64(fn), "kernel": kernel, "__doc__": doc})


BesselJ0 = _no_derivative("bessel_j0", _j0)
BesselJ1 = _no_derivative("bessel_j1", _j1)
BesselY0 = _no_derivative("bessel_y0", _y0)
BesselY1 = _no_derivative("bessel_y1", _y1)
# PyTorch keeps a second copy of Cephes' i0/i1 (the same tables, the same branches) for these two.
ModifiedBesselI0 = _no_derivative("modified_bessel_i0", _i0)
ModifiedBesselI1 = _no_derivative("modified_bessel_i1", _i1)
ModifiedBesselK0 = _no_derivative("modified_bessel_k0", lambda xp, x: _k(xp, x, 0, False))
ModifiedBesselK1 = _no_derivative("modified_bessel_k1", lambda xp, x: _k(xp, x, 1, False))
ScaledModifiedBesselK0 = _no_derivative("scaled_modified_bessel_k0", lambda xp, x: _k(xp, x, 0, True))
ScaledModifiedBesselK1 = _no_derivative("scaled_modified_bessel_k1", lambda xp, x: _k(xp, x, 1, True))
SphericalBesselJ0 = _no_derivative("spherical_bessel_j0", _spherical_j0)
AiryAi = _no_derivative("airy_ai", _airy_ai)


# ------------------------------------------------------------------------------- functional forms
def i0(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The modified Bessel function of the first kind of order 0,
    ``out_i = I_0(input_i) = sum_{k=0}^inf (input_i^2/4)^k / (k!)^2``."""
    return write_out(I0.apply(input), out, "i0")


def i0e(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The exponentially scaled I0, ``out_i = exp(-|input_i|) I_0(input_i)`` (finite for large x)."""
    return write_out(I0e.apply(input), out, "special_i0e")


def i1(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The modified Bessel function of the first kind of order 1,
    ``out_i = I_1(input_i) = (input_i/2) sum_{k=0}^inf (input_i^2/4)^k / (k! (k+1)!)``."""
    return write_out(I1.apply(input), out, "special_i1")


def i1e(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The exponentially scaled I1, ``out_i = exp(-|input_i|) I_1(input_i)``."""
    return write_out(I1e.apply(input), out, "special_i1e")


def bessel_j0(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The Bessel function of the first kind of order 0,
    ``J_0(x) = 1/pi int_0^pi cos(x sin t) dt = sum_k (-1)^k (x^2/4)^k / (k!)^2``.  No derivative."""
    return write_out(BesselJ0.apply(input), out)


def bessel_j1(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The Bessel function of the first kind of order 1,
    ``J_1(x) = 1/pi int_0^pi cos(t - x sin t) dt``.  No derivative."""
    return write_out(BesselJ1.apply(input), out)


def bessel_y0(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The Bessel function of the second kind of order 0, ``Y_0(x) = lim_{nu->0} (J_nu(x) cos(nu pi)
    - J_{-nu}(x)) / sin(nu pi)``, for x >= 0 (-inf at 0, NaN below).  No derivative."""
    return write_out(BesselY0.apply(input), out)


def bessel_y1(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The Bessel function of the second kind of order 1, ``Y_1(x) = lim_{nu->1} (J_nu(x) cos(nu pi)
    - J_{-nu}(x)) / sin(nu pi)``, for x >= 0 (-inf at 0, NaN below).  No derivative."""
    return write_out(BesselY1.apply(input), out)


def modified_bessel_i0(input: Tensor, *, out: Any = None) -> Tensor:
    r"""``I_0(x) = sum_k (x^2/4)^k / (k!)^2``, as :func:`i0` but without a derivative (as PyTorch)."""
    return write_out(ModifiedBesselI0.apply(input), out)


def modified_bessel_i1(input: Tensor, *, out: Any = None) -> Tensor:
    r"""``I_1(x) = (x/2) sum_k (x^2/4)^k / (k! (k+1)!)``, as :func:`i1` but without a derivative."""
    return write_out(ModifiedBesselI1.apply(input), out)


def modified_bessel_k0(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The modified Bessel function of the second kind of order 0,
    ``K_0(x) = int_0^inf exp(-x cosh t) dt`` for x >= 0 (inf at 0, NaN below).  No derivative."""
    return write_out(ModifiedBesselK0.apply(input), out)


def modified_bessel_k1(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The modified Bessel function of the second kind of order 1,
    ``K_1(x) = int_0^inf exp(-x cosh t) cosh(t) dt`` for x >= 0 (inf at 0, NaN below).  No derivative."""
    return write_out(ModifiedBesselK1.apply(input), out)


def scaled_modified_bessel_k0(input: Tensor, *, out: Any = None) -> Tensor:
    r"""``exp(x) K_0(x)`` (finite for large x).  No derivative."""
    return write_out(ScaledModifiedBesselK0.apply(input), out)


def scaled_modified_bessel_k1(input: Tensor, *, out: Any = None) -> Tensor:
    r"""``exp(x) K_1(x)`` (finite for large x).  No derivative."""
    return write_out(ScaledModifiedBesselK1.apply(input), out)


def spherical_bessel_j0(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The spherical Bessel function of the first kind of order 0, ``j_0(x) = sin(x) / x`` (1 at 0,
    0 at +-inf).  No derivative."""
    return write_out(SphericalBesselJ0.apply(input), out)


def airy_ai(input: Tensor, *, out: Any = None) -> Tensor:
    r"""The Airy function ``Ai(x) = 1/pi int_0^inf cos(t^3/3 + x t) dt``, the solution of
    ``y'' = x y`` that decays as x -> inf (NaN at +-inf, as PyTorch).  No derivative."""
    return write_out(AiryAi.apply(input), out)
