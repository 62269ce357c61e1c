"""Unary math: ``abs``, ``sqrt``, ``exp2``, ``log1p`` ... ``erf``, ``clamp``, rounding.

Most ops here are ``y = f(x)`` with a derivative that is a formula in ``x`` and ``y``; they share
:class:`_Unary`, whose ``forward`` computes ``f`` on the array and whose ``backward`` is
``grad * df(x, y)``, written with tensor ops (so double backward works).  Each subclass is the
function and its derivative, side by side.  Integer inputs to float functions give the default
float dtype (``exp`` of an int tensor is float32), as in PyTorch.

Complex inputs: for the holomorphic functions (``sqrt``, ``sin``, ``atanh`` ...) PyTorch's
gradient is ``grad * conj(f'(z))``; their ``df`` has real coefficients, so ``conj(df(x, y))``
is ``df(conj x, conj y)`` and :class:`_Unary` just conjugates what it saved.  ``abs`` (complex
in, real out) and ``sgn`` are not holomorphic and have formulas of their own.  Functions PyTorch
refuses for complex (``floor``, ``sign``, ``clamp``, ``erf`` ...) are not marked
``supports_complex`` and raise.

The trigonometric and hyperbolic functions (``sin`` ... ``atanh``, ``sinc``, ``deg2rad``,
``rad2deg``) are :class:`_Unary` ops too; they moved to ``trigonometric.py`` and are re-exported
here, so ``edunn.ops.unary.sin`` still works.
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._erf import _SQRT_PI, _erf_array, _erfc_array, _erfinv_array
from ._out import write_out
from ._operands import _FLOATS, _conj, _float_array, _where, _xp, _zeros_of
from .elementwise import exp
from ..amp import _policy as _autocast

__all__ = ['abs', 'absolute', 'sign', 'sgn', 'exp2', 'expm1', 'log2', 'log10', 'log1p', 'sqrt',
           'rsqrt', 'square', 'sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'arcsin', 'arccos',
           'arctan', 'sinh', 'cosh', 'asinh', 'acosh', 'atanh', 'arcsinh', 'arccosh', 'arctanh',
           'logit', 'clamp', 'clip', 'clamp_min', 'clamp_max', 'floor', 'ceil', 'round', 'trunc',
           'fix', 'frac', 'reciprocal', 'erf', 'erfc', 'erfinv', 'nan_to_num', 'deg2rad',
           'rad2deg', 'sinc', 'positive']



_BFLOAT16, _FLOAT32 = backend.bfloat16.np, backend.float32.np


class _Unary(Function):
    """``y = f(x)`` elementwise;  dy/dx = ``df(x, y)``.  ``keeps_int``: integer inputs keep their
    dtype (``abs``, ``floor`` ...) instead of becoming floats.  ``saves``: what ``df`` needs, the
    input ``"x"``, the output ``"y"``, both or nothing: saving only that lets the other be changed in
    place afterwards, as PyTorch allows (``sqrt`` keeps its result, ``sin`` its input).
    ``holomorphic``: for complex inputs the gradient is ``grad * df(conj x, conj y)``."""
    keeps_int = False
    saves = "x"
    holomorphic = True

    @classmethod
    def forward(cls, ctx, x):
        xd = x._data
        if not (cls.keeps_int and xd.dtype not in _FLOATS):
            xd = _float_array(x)
        with backend.numpy.errstate(all="ignore"):  # NaN/inf results, silently as PyTorch
            y = cls.f(_xp(x), xd)
        if xd.dtype == _BFLOAT16 and y.dtype == _FLOAT32:  # ml_dtypes: bfloat16 * a float is float32
            y = y.astype(_BFLOAT16)                       # (PyTorch too computes there, then rounds)
        ctx.save_for_backward(*((x,) if "x" in cls.saves else ()), *((y,) if "y" in cls.saves else ()))
        return y

    @classmethod
    def backward(cls, ctx, grad):
        saved = list(ctx.saved_tensors)
        x = saved.pop(0) if "x" in cls.saves else None
        y = saved.pop(0) if "y" in cls.saves else None
        if grad._data.dtype.kind == "c" and cls.holomorphic:  # grad * conj(f'(z))
            x, y = _conj(x), _conj(y)
        return grad * cls.df(x, y)


class _Step(_Unary):
    """Piecewise-constant functions (floor, sign ...): the gradient is zero."""
    keeps_int = True

    @classmethod
    def backward(cls, ctx, grad):
        return _zeros_of(grad)


class Abs(_Unary):
    """``y = |x|``;  dy/dx = sign(x) (0 at 0, as PyTorch).  A complex ``z`` gives a real ``|z|``
    whose (real) gradient flows back as ``grad * sgn(z) = grad * z / |z|``: the direction in which
    ``|z|`` grows fastest."""
    keeps_int = True
    holomorphic = False
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.abs(x))
    df = staticmethod(lambda x, y: sgn(x))


class Sign(_Step):
    """``y = sign(x)`` in {-1, 0, 1} (0 for NaN, as PyTorch's ``(0 < x) - (x < 0)``);  dy/dx = 0."""
    f = staticmethod(lambda xp, x: x.copy() if x.dtype == bool else
                     xp.sign(x) if x.dtype.kind in "iu" else xp.where(xp.isnan(x), 0, xp.sign(x)).astype(x.dtype))


class Sgn(Function):
    """``y = sgn(x)``: ``sign(x)`` for a real tensor (zero gradient), ``z / |z|`` (0 at 0) for a
    complex one.  With ``s = z / |z|``, a change ``dz`` moves ``s`` by ``(dz - s Re(conj(s) dz)) / |z|``,
    so the gradient is ``(grad - s Re(grad conj(s))) / |z|``, 0 where ``z == 0`` (PyTorch's
    ``sgn_backward``)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x):
        xd = x._data
        if xd.dtype.kind != "c":
            return Sign.f(_xp(x), xd)
        xp = _xp(x)
        a = xp.abs(xd)
        s = xp.where(a == 0, 0, xd / xp.where(a == 0, 1, a)).astype(xd.dtype, copy=False)
        ctx.save_for_backward(x, s)
        return s

    @staticmethod
    def backward(ctx, grad):
        if grad._data.dtype.kind != "c":
            return _zeros_of(grad)
        from .complex import real
        x, s = ctx.saved_tensors
        a = abs(x)
        zero = a == 0
        g = (grad - s * real(grad * _conj(s))) / _where(zero, 1.0, a)
        return _where(zero, 0.0, g)


class Exp2(_Unary):
    """``y = 2^x``;  dy/dx = y ln 2."""
    supports_complex = True
    saves = "y"
    f = staticmethod(lambda xp, x: xp.exp2(x) if x.dtype.kind != "c" else xp.exp(x * math.log(2.0)))
    df = staticmethod(lambda x, y: y * math.log(2.0))


class Expm1(_Unary):
    """``y = e^x - 1`` (accurate near 0);  dy/dx = y + 1."""
    supports_complex = True
    saves = "y"
    f = staticmethod(lambda xp, x: xp.expm1(x))
    df = staticmethod(lambda x, y: y + 1)


class Log2(_Unary):
    """``y = log2 x``;  dy/dx = 1 / (x ln 2)."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.log2(x))
    df = staticmethod(lambda x, y: 1 / (x * math.log(2.0)))


class Log10(_Unary):
    """``y = log10 x``;  dy/dx = 1 / (x ln 10)."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.log10(x))
    df = staticmethod(lambda x, y: 1 / (x * math.log(10.0)))


class Log1p(_Unary):
    """``y = ln(1 + x)`` (accurate near 0);  dy/dx = 1 / (1 + x)."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.log1p(x))
    df = staticmethod(lambda x, y: 1 / (x + 1))


class Sqrt(_Unary):
    """``y = sqrt x``;  dy/dx = 1 / (2 y)."""
    supports_complex = True
    saves = "y"
    f = staticmethod(lambda xp, x: xp.sqrt(x))
    df = staticmethod(lambda x, y: 0.5 / y)


class Rsqrt(_Unary):
    """``y = 1 / sqrt x``;  dy/dx = -y^3 / 2."""
    supports_complex = True
    saves = "y"
    f = staticmethod(lambda xp, x: 1 / xp.sqrt(x))
    df = staticmethod(lambda x, y: -0.5 * y * y * y)


class Square(_Unary):
    """``y = x^2``;  dy/dx = 2x.  Integers stay integers (bool becomes int64)."""
    supports_complex = True
    keeps_int = True
    f = staticmethod(lambda xp, x: x.astype(backend.int64.np) ** 2 if x.dtype == bool else x * x)
    df = staticmethod(lambda x, y: 2 * x)


class Reciprocal(_Unary):
    """``y = 1 / x``;  dy/dx = -y^2."""
    supports_complex = True
    saves = "y"
    f = staticmethod(lambda xp, x: 1 / x)
    df = staticmethod(lambda x, y: -(y * y))


class Frac(_Unary):
    """``y = x - trunc(x)``;  dy/dx = 1."""
    saves = ""
    f = staticmethod(lambda xp, x: x - xp.trunc(x))
    df = staticmethod(lambda x, y: 1)


class Floor(_Step):
    """``y = floor x``;  dy/dx = 0."""
    f = staticmethod(lambda xp, x: xp.floor(x) if x.dtype in _FLOATS else x.copy())


class Ceil(_Step):
    """``y = ceil x``;  dy/dx = 0."""
    f = staticmethod(lambda xp, x: xp.ceil(x) if x.dtype in _FLOATS else x.copy())


class Trunc(_Step):
    """``y = trunc x`` (towards zero);  dy/dx = 0."""
    f = staticmethod(lambda xp, x: xp.trunc(x) if x.dtype in _FLOATS else x.copy())


class Round(_Step):
    """``y = round(x, decimals)``, halves to even;  dy/dx = 0."""

    @staticmethod
    def forward(ctx, x, decimals):
        xd = x._data
        if xd.dtype not in _FLOATS:
            if decimals != 0:
                raise RuntimeError(f'"round_cpu" not implemented for \'{backend.dtype_of(xd).name}\' '
                                   "with decimals != 0")
            return xd.copy()
        return _xp(x).round(xd, decimals)

    @staticmethod
    def backward(ctx, grad):
        return _zeros_of(grad), None


class Erf(_Unary):
    """``y = erf x = 2/sqrt(pi) int_0^x e^{-t^2} dt``;  dy/dx = 2/sqrt(pi) e^{-x^2}."""
    f = staticmethod(_erf_array)
    df = staticmethod(lambda x, y: (2 / _SQRT_PI) * exp(-(x * x)))


class Erfc(_Unary):
    """``y = 1 - erf x``;  dy/dx = -2/sqrt(pi) e^{-x^2}."""
    f = staticmethod(_erfc_array)
    df = staticmethod(lambda x, y: (-2 / _SQRT_PI) * exp(-(x * x)))


class Erfinv(_Unary):
    """``y = erf^{-1} x`` on (-1, 1);  dy/dx = sqrt(pi)/2 e^{y^2}, with ``y`` computed again
    from the saved input (PyTorch keeps the input, so the output may change in place)."""
    f = staticmethod(_erfinv_array)
    df = staticmethod(lambda x, y: (_SQRT_PI / 2) * exp(erfinv(x) ** 2))


# ---------------------------------------------------------------------------------------- with arguments
class Logit(Function):
    """``y = log(z / (1 - z))`` with ``z = clamp(x, eps, 1 - eps)`` when eps is given;
    dy/dx = 1 / (x (1 - x)), 0 outside [eps, 1 - eps] (NaN outside [0, 1] without eps, as PyTorch)."""

    @staticmethod
    def forward(ctx, x, eps):
        xd = _float_array(x)
        xp = _xp(x)
        z = xd if eps is None else xp.clip(xd, eps, 1 - eps)
        ctx.save_for_backward(x)
        ctx.eps = eps
        with backend.numpy.errstate(divide="ignore", invalid="ignore"):
            return xp.log(z / (1 - z)).astype(xd.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        g = grad / (x * (1 - x))
        if ctx.eps is None:
            return _where((x < 0) | (x > 1), float("nan"), g), None
        return _where((x < ctx.eps) | (x > 1 - ctx.eps), 0.0, g), None


class Clamp(Function):
    """``y = min(max(x, min), max)`` (``min`` and ``max``: numbers, tensors or None).  The
    gradient goes to x where min <= x <= max, otherwise to the bound that y equals."""

    @staticmethod
    def forward(ctx, x, lo, hi):
        xd = x._data
        xp = _xp(x)
        rt = backend.dtype_of(xd)
        for bound in (lo, hi):
            if isinstance(bound, Tensor):
                rt = backend.result_type(rt, xd.ndim if rt is backend.dtype_of(xd) else 1,
                                         bound.dtype, bound._data.ndim)
            elif bound is not None:
                rt = backend.scalar_result_type(rt, bound)
        xd = xd.astype(rt.np, copy=False)
        lod = lo._data.astype(rt.np, copy=False) if isinstance(lo, Tensor) else lo
        hid = hi._data.astype(rt.np, copy=False) if isinstance(hi, Tensor) else hi
        y = xd
        if lod is not None:
            y = xp.maximum(y, lod)
        if hid is not None:
            y = xp.minimum(y, hid)
        inside = xp.ones(xd.shape, bool)
        if lod is not None:
            inside = inside & (xd >= lod)
        if hid is not None:
            inside = inside & (xd <= hid)
        ctx.inside = inside
        ctx.at_lo = None if lod is None else ((xd < lod) & (True if hid is None else (lod <= hid)))
        return y.astype(rt.np, copy=False)

    @staticmethod
    def backward(ctx, grad):
        zero = _zeros_of(grad)
        gx = _where(ctx.inside, grad, zero)
        glo = ghi = None
        if ctx.needs_input_grad[1]:
            glo = _where(ctx.at_lo, grad, zero)
        if ctx.needs_input_grad[2]:
            at_hi = ~(ctx.inside | (ctx.at_lo if ctx.at_lo is not None else False))
            ghi = _where(at_hi, grad, zero)
        return gx, glo, ghi


_NAN_TO_NUM_COMPLEX = ("nan_to_num does not support automatic differentiation for outputs with "
                       "complex dtype.")


class NanToNum(Function):
    """``y = x`` with NaN, +inf and -inf replaced;  dy/dx = 1 where x is finite, else 0.
    Complex: the real and imaginary parts are replaced separately (NumPy/CuPy's ``nan_to_num``
    does that too); PyTorch gives this op no complex gradient and refuses to record it."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, nan, posinf, neginf):
        xd = x._data
        if xd.dtype.kind == "c":
            if any(ctx.needs_input_grad):
                raise RuntimeError(_NAN_TO_NUM_COMPLEX)
        elif xd.dtype not in _FLOATS:
            return xd.copy()
        ctx.finite = _xp(x).isfinite(xd)
        return _xp(x).nan_to_num(xd, nan=nan, posinf=posinf, neginf=neginf)

    @staticmethod
    def backward(ctx, grad):
        if grad._data.dtype.kind == "c":  # unreachable: forward refuses to be recorded
            raise RuntimeError(_NAN_TO_NUM_COMPLEX)
        return _where(ctx.finite, grad, grad * 0), None, None, None


# ---------------------------------------------------------------------------------------- functional forms
def abs(input: Tensor, *, out: Any = None) -> Tensor:
    if input._data.dtype == bool:
        raise NotImplementedError('"abs_cpu" not implemented for \'Bool\'')
    return write_out(Abs.apply(input), out)


absolute = abs


def sign(input: Tensor, *, out: Any = None) -> Tensor:
    if input._data.dtype.kind == "c":
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex numbers. "
                                  "Please use torch.sgn instead.")
    return write_out(Sign.apply(input), out)


def sgn(input: Tensor, *, out: Any = None) -> Tensor:
    """``sign(input)`` for real tensors, ``input / |input|`` (0 at 0) for complex ones."""
    return write_out(Sgn.apply(input), out)


def exp2(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Exp2.apply(input), out)


def expm1(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "expm1" in _autocast.listed: return _autocast.call("expm1", expm1, input, out=out)  # noqa: E501,E701
    return write_out(Expm1.apply(input), out)


def log2(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "log2" in _autocast.listed: return _autocast.call("log2", log2, input, out=out)  # noqa: E501,E701
    return write_out(Log2.apply(input), out)


def log10(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "log10" in _autocast.listed: return _autocast.call("log10", log10, input, out=out)  # noqa: E501,E701
    return write_out(Log10.apply(input), out)


def log1p(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "log1p" in _autocast.listed: return _autocast.call("log1p", log1p, input, out=out)  # noqa: E501,E701
    return write_out(Log1p.apply(input), out)


def sqrt(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Sqrt.apply(input), out)


def rsqrt(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "rsqrt" in _autocast.listed: return _autocast.call("rsqrt", rsqrt, input, out=out)  # noqa: E501,E701
    return write_out(Rsqrt.apply(input), out)


def square(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Square.apply(input), out)


def reciprocal(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "reciprocal" in _autocast.listed: return _autocast.call("reciprocal", reciprocal, input, out=out)  # noqa: E501,E701
    return write_out(Reciprocal.apply(input), out)


def frac(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Frac.apply(input), out)


def floor(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Floor.apply(input), out)


def ceil(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Ceil.apply(input), out)


def trunc(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Trunc.apply(input), out)


fix = trunc


def round(input: Tensor, *, decimals: int = 0, out: Any = None) -> Tensor:
    return write_out(Round.apply(input, int(decimals)), out)


def erf(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Erf.apply(input), out)


def erfc(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Erfc.apply(input), out)


def erfinv(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "erfinv" in _autocast.listed: return _autocast.call("erfinv", erfinv, input, out=out)  # noqa: E501,E701
    return write_out(Erfinv.apply(input), out)


def logit(input: Tensor, eps: float | None = None, *, out: Any = None) -> Tensor:
    return write_out(Logit.apply(input, eps), out)


def clamp(input: Tensor, min: Any = None, max: Any = None, *, out: Any = None) -> Tensor:
    """Clamp into ``[min, max]``; either bound may be None, a number or a tensor."""
    if min is None and max is None:
        raise RuntimeError("torch.clamp: At least one of 'min' or 'max' must not be None")
    return write_out(Clamp.apply(input, min, max), out)


clip = clamp


def clamp_min(input: Tensor, min: Any) -> Tensor:
    return Clamp.apply(input, min, None)


def clamp_max(input: Tensor, max: Any) -> Tensor:
    return Clamp.apply(input, None, max)


def nan_to_num(input: Tensor, nan: float = 0.0, posinf: float | None = None,
               neginf: float | None = None, *, out: Any = None) -> Tensor:
    """NaN -> ``nan``; +-inf -> ``posinf``/``neginf`` (default: the dtype's largest/lowest).
    Complex tensors: each part separately, with the real dtype's limits; not differentiable
    (PyTorch's RuntimeError when the input requires grad)."""
    return write_out(NanToNum.apply(input, nan, posinf, neginf), out)


def positive(input: Tensor) -> Tensor:
    """``input`` itself (``+x``)."""
    if input._data.dtype == bool:
        raise RuntimeError("The `+` operator, on a bool tensor is not supported.")
    return input


# The trigonometric family (see the module docstring).  It imports ``_Unary`` and ``rsqrt`` from
# here, so it comes last; ``__all__`` above already lists its names.
from .trigonometric import (acos, acosh, arccos, arccosh, arcsin, arcsinh, arctan, arctanh,  # noqa: E402
                            asin, asinh, atan, atanh, cos, cosh, deg2rad, rad2deg, sin, sinc,
                            sinh, tan)
from .trigonometric import (Acos, Acosh, Asin, Asinh, Atan, Atanh, Cos, Cosh, Deg2Rad,  # noqa: E402,F401
                            Rad2Deg, Sin, Sinc, Sinh, Tan)
