"""Binary math beyond the four operations: remainders, ``atan2``, ``maximum``, ``logaddexp``,
``xlogy``, ``lerp`` ...

Each op follows ``elementwise.py``'s pattern: ``_binary`` promotes the operands to PyTorch's result
dtype, ``forward`` computes on arrays, ``backward`` is written with tensor ops (so it is itself
differentiable) and returns full-size gradients that the engine sums back to each input's shape.
Reached as ``edunn.atan2`` ... and, through ``elementwise.py``, by ``Tensor``'s methods.
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._out import write_out
from .elementwise import (_FLOATS, _apply, _as_floats, _binary, _check_int_divisor, _where, _xp, _zeros_of,
                          div, pow, sigmoid)

__all__ = ['remainder', 'fmod', 'float_power', 'atan2', 'arctan2', 'hypot', 'maximum', 'minimum',
           'fmax', 'fmin', 'logaddexp', 'logaddexp2', 'xlogy', 'copysign', 'lerp', 'addcmul',
           'addcdiv']


class _BinaryOp(Function):
    """``y = xp.<op>(a, b)`` on the promoted operands (made floating point first when
    ``to_float``), saving both inputs for ``backward``."""
    op, to_float = "", False

    @classmethod
    def forward(cls, ctx, a, b):
        ad, bd = _binary(a, b)
        if cls.to_float:
            ad, bd = _as_floats(ad, bd)
        ctx.save_for_backward(a, b)
        return getattr(_xp(ad if hasattr(ad, "dtype") else bd), cls.op)(ad, bd)


class Remainder(Function):
    """``y = a - floor(a / b) * b`` (the sign of b, like Python's ``%``);
    dy/da = 1, dy/db = -floor(a / b)."""
    op, rounding_mode = "remainder", "floor"

    @classmethod
    def forward(cls, ctx, a, b):
        ad, bd = _binary(a, b)
        _check_int_divisor(ad, bd)
        ctx.save_for_backward(a, b)
        return getattr(_xp(ad if hasattr(ad, "dtype") else bd), cls.op)(ad, bd)

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        gb = -grad * div(a, b, rounding_mode=cls.rounding_mode) if ctx.needs_input_grad[1] else None
        return grad, gb


class Fmod(Remainder):
    """``y = a - trunc(a / b) * b`` (the sign of a, like C's ``fmod``);
    dy/da = 1, dy/db = -trunc(a / b)."""
    op, rounding_mode = "fmod", "trunc"


class Atan2(_BinaryOp):
    """``y = atan2(a, b)``, the angle of the point (b, a);
    dy/da = b / (a^2 + b^2), dy/db = -a / (a^2 + b^2)."""
    op, to_float = "arctan2", True

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        return grad * b / r2, -grad * a / r2


class Hypot(Function):
    """``y = sqrt(a^2 + b^2)``;  dy/da = a / y, dy/db = b / y."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _as_floats(*_binary(a, b))
        y = _xp(ad if hasattr(ad, "dtype") else bd).hypot(ad, bd)
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        return grad * a / y, grad * b / y


class Maximum(_BinaryOp):
    """``y = max(a, b)`` elementwise (NaN propagates); the gradient goes to the larger input and
    is split in halves on ties, as in PyTorch."""
    op = "maximum"

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        wins = (a > b) if cls.op == "maximum" else (a < b)
        share = wins + (a == b) * 0.5  # 1 where a wins, 1/2 on ties, 0 where b wins
        # the loser's gradient is 0 even where grad is NaN or infinite, as PyTorch's
        return _where(share == 0, 0.0, grad * share), _where(share == 1, 0.0, grad * (1 - share))


class Minimum(Maximum):
    """``y = min(a, b)`` elementwise (NaN propagates); ties split the gradient in halves."""
    op = "minimum"


class Fmax(_BinaryOp):
    """``y = fmax(a, b)``: like ``maximum`` but a NaN loses to a number; the whole gradient goes
    to the selected input (to ``a`` on ties), as in PyTorch."""
    op = "fmax"

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        from .comparison import isnan, logical_or
        pick_a = logical_or((a >= b) if cls.op == "fmax" else (a <= b), isnan(b))
        return _where(pick_a, grad, 0.0), _where(pick_a, 0.0, grad)


class Fmin(Fmax):
    """``y = fmin(a, b)``: like ``minimum`` but a NaN loses to a number."""
    op = "fmin"


class LogAddExp(_BinaryOp):
    """``y = log(e^a + e^b)`` (base 2 with ``logaddexp2``), computed stably;
    dy/da = sigmoid((a - b) ln base), dy/db = sigmoid((b - a) ln base)."""
    op, to_float, ln_base = "logaddexp", True, 1.0

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        d = (a - b) * cls.ln_base if cls.ln_base != 1.0 else a - b
        return grad * sigmoid(d), grad * sigmoid(-d)


class LogAddExp2(LogAddExp):
    """``y = log2(2^a + 2^b)``."""
    op, ln_base = "logaddexp2", math.log(2.0)


class Xlogy(Function):
    """``y = x * log(other)``, with 0 where x == 0 (unless other is NaN);
    dy/dx = log(other) (0 where x == 0), dy/dother = x / other."""

    @staticmethod
    def forward(ctx, x, other):
        xd, od = _as_floats(*_binary(x, other))
        xp = _xp(xd if hasattr(xd, "dtype") else od)
        ctx.save_for_backward(x, other)
        with backend.numpy.errstate(divide="ignore", invalid="ignore"):
            y = xd * xp.log(od)
        return xp.where((xd == 0) & ~xp.isnan(od), 0, y).astype(y.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, other = ctx.saved_tensors
        need_x, need_o = ctx.needs_input_grad
        gx = grad * xlogy(x != 0, other) if need_x else None
        go = grad * x / other if need_o else None
        return gx, go


class Copysign(Function):
    """``y = |a| * sign(b)``;  dy/da = y / a (0 where a == 0), no gradient for b."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _as_floats(*_binary(a, b))
        y = _xp(ad if hasattr(ad, "dtype") else bd).copysign(ad, bd)
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, y = ctx.saved_tensors
        ga = grad * _where(a == 0, 0.0, y / _where(a == 0, 1.0, a)) if ctx.needs_input_grad[0] else None
        return ga, (_zeros_of(grad) if ctx.needs_input_grad[1] else None)


def remainder(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """``input % other`` with the sign of ``other``, as Python's ``%``."""
    return write_out(_apply(Remainder, input, other), out)


def fmod(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """C's ``fmod``: the remainder with the sign of ``input``."""
    return write_out(_apply(Fmod, input, other), out)


def float_power(input: Any, exponent: Any, *, out: Any = None) -> Tensor:
    """``input ** exponent`` computed in float64 (PyTorch's ``float_power``)."""
    def f64(v):
        return v.to(backend.float64) if isinstance(v, Tensor) else float(v)
    return write_out(pow(f64(input), f64(exponent)), out)


def atan2(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Atan2, input, other), out)


arctan2 = atan2


def hypot(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Hypot, input, other), out)


def maximum(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Maximum, input, other), out)


def minimum(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Minimum, input, other), out)


def fmax(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Fmax, input, other), out)


def fmin(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Fmin, input, other), out)


def logaddexp(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(LogAddExp, input, other), out)


def logaddexp2(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(LogAddExp2, input, other), out)


def xlogy(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Xlogy, input, other), out)


def copysign(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Copysign, input, other), out)


class Lerp(Function):
    """``y = input + w (end - input)``, with PyTorch's formula, exact at both ends: as written
    where ``|w| < 0.5``, else ``end - (end - input)(1 - w)``.  dy/dinput = 1 - w, dy/dend = w,
    dy/dw = end - input (a weight tensor)."""

    @staticmethod
    def forward(ctx, input, end, weight):
        ad, bd = _binary(input, end)
        xp = _xp(ad)
        w = weight._data if isinstance(weight, Tensor) else weight
        diff = bd - ad
        if isinstance(weight, Tensor):
            out = xp.where(xp.abs(w) < 0.5, ad + w * diff, bd - diff * (1 - w))
        else:
            out = ad + w * diff if abs(w) < 0.5 else bd - diff * (1 - w)
        ctx.weight = weight
        ctx.save_for_backward(input, end)
        return out.astype(xp.result_type(ad, bd), copy=False)

    @staticmethod
    def backward(ctx, grad):
        input, end = ctx.saved_tensors
        w = ctx.weight
        gw = grad * (end - input) if isinstance(w, Tensor) and ctx.needs_input_grad[2] else None
        return grad * (1 - w), grad * w, gw


def lerp(input: Tensor, end: Tensor, weight: Any, *, out: Any = None) -> Tensor:
    """``input + weight * (end - input)`` (``weight`` a number or a tensor), computed as PyTorch
    does so that weight 1 gives ``end`` exactly; gradients 1 - weight, weight and end - input."""
    return write_out(Lerp.apply(input, end, weight), out)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1, out: Any = None) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    prod = tensor1 * tensor2
    return write_out(input + (prod if value == 1 else prod * value), out)


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1, out: Any = None) -> Tensor:
    """``input + value * tensor1 / tensor2``."""
    if not (tensor1.is_floating_point() or tensor2.is_floating_point()):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future "
                           "release addcdiv will perform a true division of tensor1 and tensor2.")
    quot = tensor1 / tensor2
    return write_out(input + (quot if value == 1 else quot * value), out)
