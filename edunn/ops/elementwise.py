"""Elementwise ops: arithmetic, unary math, comparisons.

Each op is a ``Function`` whose ``forward`` computes on arrays and whose ``backward`` is written
with tensor ops (so it is itself differentiable).  Binary ops accept a tensor and a Python number
on either side.  Two things are handled once, here and in the engine, instead of in every op:

* dtypes: :func:`_binary` casts both operands to PyTorch's result dtype (``int + float`` tensors
  give float, a Python ``2.5`` does not turn a float16 tensor into float64, ...);
* broadcasting: forward relies on NumPy's; backward returns full-size gradients and the engine
  sums them back to each input's shape (``ops/broadcast.py``).
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

_FLOATS = frozenset(d.np for d in backend.ALL_DTYPES if d.is_floating_point)

__all__ = ['add', 'sub', 'subtract', 'mul', 'multiply', 'div', 'divide', 'true_divide', 'neg', 'negative', 'pow', 'exp', 'log', 'tanh', 'sigmoid', 'relu', 'eq', 'ne', 'lt', 'le', 'gt', 'ge']



# ----------------------------------------------------------------------------------------------
# operands
# ----------------------------------------------------------------------------------------------
def _check_scalar(value: Any) -> None:
    if not isinstance(value, (int, float, bool)):
        if hasattr(value, "dtype") and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            return
        raise TypeError(
            f"unsupported operand: expected a Tensor or a Python number, got {type(value).__name__}")


def _binary(a: Any, b: Any) -> tuple:
    """The arrays (or Python scalars) to compute ``a op b`` on, cast to PyTorch's result dtype."""
    if a.__class__ is not Tensor and not isinstance(a, Tensor):
        _check_scalar(a)
        bd = b._data
        rt = backend.scalar_result_type(backend.dtype_of(bd), a)
        return a, bd if rt.np == bd.dtype else bd.astype(rt.np)
    ad = a._data
    if b.__class__ is not Tensor and not isinstance(b, Tensor):
        _check_scalar(b)
        rt = backend.scalar_result_type(backend.dtype_of(ad), b)
        return (ad if rt.np == ad.dtype else ad.astype(rt.np)), b
    bd = b._data
    if ad.__class__ is not bd.__class__:
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{a.device} and {b.device}!")
    if ad.dtype == bd.dtype:
        if ad.__class__ is not backend.ndarray and a.device != b.device:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"{a.device} and {b.device}!")
        return ad, bd
    rt = backend.result_type(backend.dtype_of(ad), ad.ndim, backend.dtype_of(bd), bd.ndim).np
    return (ad if ad.dtype == rt else ad.astype(rt)), (bd if bd.dtype == rt else bd.astype(rt))


def _float_array(x: Tensor) -> Any:
    """The data of ``x`` as floats: math functions of integer tensors give the default dtype."""
    d = x._data
    return d if d.dtype in _FLOATS else d.astype(backend.get_default_dtype().np)


def _xp(x: Any):
    return backend.array_module(x._data if isinstance(x, Tensor) else x)


# ----------------------------------------------------------------------------------------------
# arithmetic
# ----------------------------------------------------------------------------------------------
class Add(Function):
    """``y = a + alpha * b``;  dy/da = 1, dy/db = alpha."""

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ad, bd = _binary(a, b)
        ctx.alpha = alpha
        return ad + bd if alpha == 1 else ad + alpha * bd

    @staticmethod
    def backward(ctx, grad):
        return grad, (grad if ctx.alpha == 1 else grad * ctx.alpha), None


class Sub(Function):
    """``y = a - alpha * b``;  dy/da = 1, dy/db = -alpha."""

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ad, bd = _binary(a, b)
        if ad.dtype == backend.bool_.np if hasattr(ad, "dtype") else False:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "Use the `^` or `logical_xor()` operator instead.")
        ctx.alpha = alpha
        return ad - bd if alpha == 1 else ad - alpha * bd

    @staticmethod
    def backward(ctx, grad):
        return grad, (-grad if ctx.alpha == 1 else grad * -ctx.alpha), None


class Mul(Function):
    """``y = a * b``;  dy/da = b, dy/db = a."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary(a, b)
        ctx.save_for_backward(a, b)
        return ad * bd

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """``y = a / b``;  dy/da = 1/b, dy/db = -a/b^2."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary(a, b)
        ctx.save_for_backward(a, b)
        y = ad / bd
        if y.dtype not in _FLOATS:
            y = y.astype(backend.get_default_dtype().np)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = grad / b if need_a else None
        gb = -grad * a / (b * b) if need_b else None
        return ga, gb


class Neg(Function):
    """``y = -x``."""

    @staticmethod
    def forward(ctx, x):
        if x._data.dtype == backend.bool_.np:
            raise RuntimeError("Negation, the `-` operator, on a bool tensor is not supported. "
                               "If you are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        return -x._data

    @staticmethod
    def backward(ctx, grad):
        return -grad


class Pow(Function):
    """``y = a ** b``;  dy/da = b a^(b-1), dy/db = a^b log a."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary(a, b)
        y = ad ** bd
        ctx.save_for_backward(a, b, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        ga = gb = None
        if need_a:
            ga = grad * b * a ** (b - 1) if not (isinstance(b, (int, float)) and b == 0) else grad * 0
        if need_b:
            # a^b log a, with the convention 0^b log 0 = 0 used by PyTorch where a == 0
            ga_mask = a if isinstance(a, (int, float)) else a
            log_a = _log_or_zero(ga_mask)
            gb = grad * y * log_a
        return ga, gb


def _log_or_zero(a: Any) -> Any:
    if isinstance(a, (int, float)):
        return math.log(a) if a > 0 else (0.0 if a == 0 else float("nan"))
    return where(a == 0, 0.0, log(a))


# ----------------------------------------------------------------------------------------------
# unary math
# ----------------------------------------------------------------------------------------------
class Exp(Function):
    """``y = e^x``;  dy/dx = y."""

    @staticmethod
    def forward(ctx, x):
        y = _xp(x).exp(_float_array(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * y


class Log(Function):
    """``y = ln x``;  dy/dx = 1/x."""

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _xp(x).log(_float_array(x))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / x


class Tanh(Function):
    """``y = tanh x``;  dy/dx = 1 - y^2."""

    @staticmethod
    def forward(ctx, x):
        y = _xp(x).tanh(_float_array(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (1 - y * y)


class Sigmoid(Function):
    """``y = 1 / (1 + e^-x)``, computed stably;  dy/dx = y (1 - y)."""

    @staticmethod
    def forward(ctx, x):
        xd = _float_array(x)
        xp = _xp(x)
        # exp of a negative number only: no overflow for large |x|
        e = xp.exp(-xp.abs(xd))
        y = xp.where(xd >= 0, 1 / (1 + e), e / (1 + e)).astype(xd.dtype)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * y * (1 - y)


class ReLU(Function):
    """``y = max(x, 0)``;  dy/dx = 1 where x > 0, else 0."""

    @staticmethod
    def forward(ctx, x):
        xd = x._data
        y = _xp(x).maximum(xd, 0).astype(xd.dtype)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * (y > 0)


# ----------------------------------------------------------------------------------------------
# comparisons (not differentiable: bool outputs)
# ----------------------------------------------------------------------------------------------
class _Compare(Function):
    op = ""

    @classmethod
    def forward(cls, ctx, a, b):
        ad, bd = _binary(a, b)
        return getattr(_xp(ad if hasattr(ad, "dtype") else bd), cls.op)(ad, bd)


class Eq(_Compare):
    op = "equal"


class Ne(_Compare):
    op = "not_equal"


class Lt(_Compare):
    op = "less"


class Le(_Compare):
    op = "less_equal"


class Gt(_Compare):
    op = "greater"


class Ge(_Compare):
    op = "greater_equal"


# ----------------------------------------------------------------------------------------------
# the functional forms (``edunn.add`` ...) that Tensor's methods call
# ----------------------------------------------------------------------------------------------
def add(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    return Add.apply(input, other, alpha) if alpha != 1 else Add.apply(input, other)


def sub(input: Any, other: Any, *, alpha: Any = 1) -> Tensor:
    return Sub.apply(input, other, alpha) if alpha != 1 else Sub.apply(input, other)


subtract = sub


def mul(input: Any, other: Any) -> Tensor:
    return Mul.apply(input, other)


multiply = mul


def div(input: Any, other: Any, *, rounding_mode: str | None = None) -> Tensor:
    if rounding_mode is None:
        return Div.apply(input, other)
    if rounding_mode == "trunc":
        return trunc(Div.apply(input, other)).to(_div_dtype(input, other))
    if rounding_mode == "floor":
        return floor_divide(input, other)
    raise ValueError(f"div expected rounding_mode to be one of None, 'trunc', or 'floor' but found '{rounding_mode}'")


true_divide = divide = div


def _div_dtype(a: Any, b: Any) -> backend.dtype:
    ad, bd = _binary(a, b)
    return backend.dtype_of(ad if hasattr(ad, "dtype") else bd)


def neg(input: Tensor) -> Tensor:
    return Neg.apply(input)


negative = neg


def pow(input: Any, exponent: Any) -> Tensor:
    return Pow.apply(input, exponent)


def exp(input: Tensor) -> Tensor:
    return Exp.apply(input)


def log(input: Tensor) -> Tensor:
    return Log.apply(input)


def tanh(input: Tensor) -> Tensor:
    return Tanh.apply(input)


def sigmoid(input: Tensor) -> Tensor:
    return Sigmoid.apply(input)


def relu(input: Tensor) -> Tensor:
    return ReLU.apply(input)


def eq(input: Any, other: Any) -> Tensor:
    return Eq.apply(input, other)


def ne(input: Any, other: Any) -> Tensor:
    return Ne.apply(input, other)


def lt(input: Any, other: Any) -> Tensor:
    return Lt.apply(input, other)


def le(input: Any, other: Any) -> Tensor:
    return Le.apply(input, other)


def gt(input: Any, other: Any) -> Tensor:
    return Gt.apply(input, other)


def ge(input: Any, other: Any) -> Tensor:
    return Ge.apply(input, other)


def where(condition: Tensor, input: Any, other: Any) -> Tensor:
    from .indexing import where as _where
    return _where(condition, input, other)
