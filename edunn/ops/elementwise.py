"""Elementwise ops: arithmetic, unary math, comparisons.

Each op is a ``Function`` whose ``forward`` computes on arrays and whose ``backward`` is written
with tensor ops (so it is itself differentiable).  Binary ops accept a tensor and a Python number
on either side.  Two things are handled once, in ``_operands.py`` and in the engine, instead of in
every op:

* dtypes: :func:`_binary` casts both operands to PyTorch's result dtype (``int + float`` tensors
  give float, a Python ``2.5`` does not turn a float16 tensor into float64, ...);
* broadcasting: forward relies on NumPy's; backward returns full-size gradients and the engine
  sums them back to each input's shape (``ops/broadcast.py``).

This file holds the arithmetic (``add``, ``sub``, ``mul``, ``div``, ``pow`` ...) and the unary
math every network uses (``exp``, ``log``, ``tanh``, ``sigmoid``, ``relu``).  The operand helpers
(``_binary``, ``_where``, ``_zeros_of``, ``_conj`` ...) moved to ``_operands.py``; the other
binary math is in ``binary.py``, the rest of the unary math in ``unary.py`` and
``trigonometric.py``, the comparisons in ``comparison.py``.  All of them are re-exported here, so
``edunn.ops.elementwise.<name>`` reaches every elementwise op and helper.

Complex tensors follow PyTorch's convention.  For ``z = x + iy`` and a real loss ``L`` the
gradient stored is ``dL/dx + i dL/dy``, and the backward of a holomorphic op ``w = f(z)`` is
``grad * conj(f'(z))``.  Every op here whose derivative ``f'`` is a formula with real
coefficients (``mul``, ``exp``, ``sin`` ...) gets that for free by evaluating its real formula on
the *conjugated* saved values, since ``conj(f'(z)) = f'(conj z)``: :func:`_conj` does it, and
costs one dtype check for real tensors.  Classes that do this are marked
``supports_complex = True``; the others refuse complex inputs (``Function.apply``).  When a
real input meets a complex one (``x * 1j``), the engine keeps the real part of the gradient
that flows back to the real input (PyTorch's ``handle_r_to_c``).
"""
from __future__ import annotations

import cmath
import math
from typing import Any

from .. import _kernels, backend
from .._kernels import KernelSpec
from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor
from ._operands import (_FLOATS, _INEXACT, _REDUCED, _apply, _binary, _conj, _float_array, _opmath, _scaled,
                        _shape_error, _where, _xp, _zeros_of)
from ._operands import _Where, _as_floats  # noqa: F401  (re-exported: binary.py, gamma.py, forward AD use them)
from ._out import write_out
from ..amp import _policy as _autocast

_grad_state = grad_mode.state
_BOOL = backend.bool_.np


# ----------------------------------------------------------------------------------------------
# arithmetic
# ----------------------------------------------------------------------------------------------
class Add(Function):
    """``y = a + alpha * b``;  dy/da = 1, dy/db = alpha (conjugated when complex)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        ad, bd = _binary(a, b)
        ctx.alpha = alpha
        if alpha == 1:
            return ad + bd
        ad, bd, rounding = _scaled(ad, bd, alpha)
        return ad + bd if rounding is None else (ad + bd).astype(rounding)

    @staticmethod
    def backward(ctx, grad):
        return grad, (grad if ctx.alpha == 1 else grad * _conj(ctx.alpha)), None


class Sub(Function):
    """``y = a - alpha * b``;  dy/da = 1, dy/db = -alpha (conjugated when complex)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, a, b, alpha=1):
        bools = (a._data.dtype == _BOOL if isinstance(a, Tensor) else a.__class__ is bool,
                 b._data.dtype == _BOOL if isinstance(b, Tensor) else b.__class__ is bool)
        if bools[0] and bools[1]:
            raise RuntimeError("Subtraction, the `-` operator, with two bool tensors is not supported. "
                               "Use the `^` or `logical_xor()` operator instead.")
        if bools[0] or bools[1]:
            raise RuntimeError("Subtraction, the `-` operator, with a bool tensor is not supported. If you "
                               "are trying to invert a mask, use the `~` or `logical_not()` operator instead.")
        ad, bd = _binary(a, b)
        ctx.alpha = alpha
        if alpha == 1:
            return ad - bd
        ad, bd, rounding = _scaled(ad, bd, alpha)
        return ad - bd if rounding is None else (ad - bd).astype(rounding)

    @staticmethod
    def backward(ctx, grad):
        if ctx._next[1] is None:  # b needs no gradient (a number, or a constant)
            return grad, None, None
        return grad, (-grad if ctx.alpha == 1 else grad * -_conj(ctx.alpha)), None


class Mul(Function):
    """``y = a * b``;  dy/da = b, dy/db = a (for complex: ``grad * conj(b)``, ``grad * conj(a)``).
    Each operand is saved only when the other one's gradient needs it, as PyTorch does: ``x *
    mask`` keeps ``mask`` alone, so ``x`` may then change in place."""
    supports_complex = True

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary(a, b)
        edges = ctx._next   # ctx._save_factors(a, b), written out: this is the hottest op
        ctx.save_for_backward(a if edges[1] is not None else None, b if edges[0] is not None else None)
        y = ad * bd
        if y.dtype in _REDUCED:   # float16/bfloat16 times a number: PyTorch's rounding
            ad, bd, rounding = _opmath(a, b, ad, bd)
            if rounding is not None:
                y = (ad * bd).astype(rounding)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if grad._data.dtype.kind == "c":
            a, b = (_conj(a) if need_b else None), (_conj(b) if need_a else None)
        return (grad * b if need_a else None), (grad * a if need_b else None)


class Div(Function):
    """``y = a / b``;  dy/da = 1/b, dy/db = -a/b^2 (conjugated when complex)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, a, b):
        if a.__class__ is int or b.__class__ is int:   # an integer tensor by a number: in floats, so
            a, b = _floats_for_division(a), _floats_for_division(b)   # -2 is not cast to uint8 first
        ad, bd = _binary(a, b)
        ctx.save_for_backward(a if ctx._next[1] is not None else None, b)  # a: only for b's gradient
        with backend.numpy.errstate(divide="ignore", invalid="ignore"):  # x / 0: inf, silently as PyTorch
            y = ad / bd
            if y.dtype in _REDUCED:   # float16/bfloat16 by a number: PyTorch's rounding
                ad, bd, rounding = _opmath(a, b, ad, bd)
                if rounding is not None:
                    return (ad / bd).astype(rounding)
        if (ad if hasattr(ad, "dtype") else bd).dtype not in _INEXACT:  # int / int is a float
            y = y.astype(backend.get_default_dtype().np)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if grad._data.dtype.kind == "c":
            a, b = _conj(a), _conj(b)
        need_a, need_b = ctx.needs_input_grad
        ga = grad / b if need_a else None
        gb = -grad * a / (b * b) if need_b else None
        return ga, gb


def _floats_for_division(v: Any) -> Any:
    """An integer or bool tensor in the default float dtype (PyTorch's true division computes in
    it); anything else as it is."""
    if isinstance(v, Tensor) and v._data.dtype.kind in "biu":
        return Tensor._make(v._data.astype(backend.get_default_dtype().np))
    return v


class Neg(Function):
    """``y = -x``."""
    supports_complex = True

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
    """``y = a ** b``;  dy/da = b a^(b-1), dy/db = a^b log a.

    Complex (``z ** 2.5``, ``2j ** x``, ``z ** w``): the same formulas conjugated, with
    PyTorch's conventions at 0: no gradient for ``a`` where ``b == 0``, and none for ``b``
    where ``a == 0`` and ``b`` is real and non-negative."""
    supports_complex = True

    @staticmethod
    def forward(ctx, a, b):
        if b.__class__ is bool and isinstance(a, Tensor) and a.dtype is backend.bool_:
            return a._data | (not b)   # PyTorch's bool ** bool: x ** True = x, x ** False = True
        ad, bd = _binary(a, b)
        arr = ad if hasattr(ad, "dtype") else bd
        if arr.dtype.kind in "biu" and bool((bd < 0).any() if hasattr(bd, "dtype") else bd < 0):
            y = _integer_power(ad, bd)
        else:
            with backend.numpy.errstate(divide="ignore", invalid="ignore"):  # 0j ** -1, as PyTorch
                y = ad ** bd
        ctx.save_for_backward(a, b, y if ctx._next[1] is not None else None)  # y: for b's gradient
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        if grad._data.dtype.kind == "c":
            return _pow_backward_complex(grad, a, b, y, need_a, need_b)
        ga = gb = None
        if need_a:
            ga = grad * b * a ** (b - 1) if not (isinstance(b, (int, float)) and b == 0) else _zeros_of(grad)
        if need_b:
            # a^b log a, with the convention 0^b log 0 = 0 used by PyTorch where a == 0
            gb = grad * y * _log_or_zero(a)
        return ga, gb


def _integer_power(ad: Any, bd: Any) -> Any:
    """``ad ** bd`` for integers with some negative exponents, as PyTorch's ``powi``: ``1`` and
    ``-1`` keep a magnitude of 1 (the sign from the exponent's parity), every other base gives 0.
    A negative Python number as the exponent is refused, with PyTorch's message."""
    if not hasattr(bd, "dtype"):
        raise RuntimeError("Integers to negative integer powers are not allowed.")
    xp = _xp(bd)
    negative = bd < 0
    odd = (bd % 2) != 0
    unit = xp.where(ad == 1, 1, xp.where(ad == -1, xp.where(odd, -1, 1), 0))
    return xp.where(negative, unit, ad ** xp.where(negative, 0, bd)).astype(xp.result_type(ad, bd), copy=False)


def _pow_backward_complex(grad: Tensor, a: Any, b: Any, y: Tensor, need_a: bool, need_b: bool) -> tuple:
    """Pow's gradients when the result is complex (PyTorch's ``pow_backward_self`` and
    ``pow_backward_exponent``): ``grad * conj(b a^(b-1))`` (0 where b == 0) and
    ``grad * conj(y log a)`` (0 where a == 0 and b is real and >= 0)."""
    ga = gb = None
    if need_a:
        if isinstance(b, (int, float, complex)):
            ga = _zeros_of(grad) if b == 0 else grad * _conj(b * a ** (b - 1))
        else:
            ga = _where(b._data == 0, 0.0, grad * _conj(b * a ** (b - 1)))
    if need_b:
        with backend.numpy.errstate(divide="ignore", invalid="ignore"):
            log_a = (cmath.log(a) if a != 0 else complex(-math.inf, 0.0)) if isinstance(a, (int, float, complex)) \
                else log(a if a._data.dtype == y._data.dtype else a.to(y.dtype))  # log(-2) is complex here
            gb = grad * _conj(y * log_a)
        at_zero = _real_nonnegative(b) & (a._data == 0) if isinstance(a, Tensor) else \
            (_real_nonnegative(b) if a == 0 else False)
        if at_zero is not False:
            gb = _where(at_zero, 0.0, gb)
    return ga, gb


def _real_nonnegative(b: Tensor) -> Any:
    """Where the exponent ``b`` (a tensor) is a real number >= 0 (PyTorch's test in
    ``pow_backward_exponent``): a constant bool array."""
    bd = b._data
    return (bd >= 0) if bd.dtype.kind != "c" else (bd.imag == 0) & (bd.real >= 0)


def _log_or_zero(a: Any) -> Any:
    if isinstance(a, (int, float)):
        return math.log(a) if a > 0 else (0.0 if a == 0 else float("nan"))
    return _where(a == 0, 0.0, log(a))



def _check_int_divisor(ad: Any, bd: Any) -> None:
    arr = ad if hasattr(ad, "dtype") else bd
    if arr.dtype.kind in "biu" and (bd == 0 if isinstance(bd, (int, bool)) else (bd == 0).any()):
        raise RuntimeError("ZeroDivisionError")


class DivRounded(Function):
    """``y = trunc(a / b)`` or ``floor(a / b)`` (``div(..., rounding_mode=)``, ``floor_divide``).
    A step function: the gradient is zero almost everywhere (PyTorch's convention)."""

    @staticmethod
    def forward(ctx, a, b, mode):
        ad, bd = _binary(a, b)
        _check_int_divisor(ad, bd)
        xp = _xp(ad if hasattr(ad, "dtype") else bd)
        if mode == "floor":
            return xp.floor_divide(ad, bd)
        if (ad if hasattr(ad, "dtype") else bd).dtype in _FLOATS:
            return xp.trunc(ad / bd)
        q = xp.floor_divide(ad, bd)  # integers: floor, then step towards zero where inexact
        return q + ((q < 0) & (q * bd != ad))

    @staticmethod
    def backward(ctx, grad):
        return _zeros_of(grad), _zeros_of(grad), None


# ----------------------------------------------------------------------------------------------
# unary math
# ----------------------------------------------------------------------------------------------
class Exp(Function):
    """``y = e^x``;  dy/dx = y (for complex: ``grad * conj(y)``)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x):
        y = _xp(x).exp(_float_array(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * _conj(y)


class Log(Function):
    """``y = ln x`` (the principal branch for complex);  dy/dx = 1/x, conjugated for complex."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _xp(x).log(_float_array(x))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad / _conj(x)


class Tanh(Function):
    """``y = tanh x``;  dy/dx = 1 - y^2 (``TanhBackward`` conjugates it for complex)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x):
        y = _xp(x).tanh(_float_array(x))
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return TanhBackward.apply(grad, y)


class TanhBackward(Function):
    """``dx = grad * (1 - y^2)`` as one op (PyTorch's ``tanh_backward``): one array expression
    instead of three tensor ops in every backward, and still differentiable for double backward:
    d/dgrad = 1 - y^2, d/dy = -2 y grad.  Complex: ``grad * conj(1 - y^2)``, holomorphic in
    ``grad`` and anti-holomorphic in ``y``, which gives its double backward."""
    supports_complex = True

    @staticmethod
    def forward(ctx, grad, y):
        ctx.save_for_backward(grad, y)
        yd = y._data
        if yd.dtype.kind == "c":
            yd = yd.conj()
        return grad._data * (1 - yd * yd)

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        if gg._data.dtype.kind == "c":  # holomorphic in grad, anti-holomorphic in y
            return gg * (1 - y * y), _conj(gg * y) * grad * -2
        return gg * (1 - y * y), gg * grad * y * -2


class Sigmoid(Function):
    """``y = 1 / (1 + e^-x)``, computed stably;  dy/dx = y (1 - y) (``SigmoidBackward`` conjugates
    it for complex)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x):
        xd = _float_array(x)
        xp = _xp(x)
        wd = xd.astype(backend.float32.np) if xd.dtype.itemsize < 4 else xd  # half in float32
        # e^-x overflows to inf for x < -88 (float32), and 1 / (1 + inf) = 0 is the right answer
        with backend.numpy.errstate(over="ignore", invalid="ignore"):
            y = xp.asarray(xp.exp(-wd))   # an array even for 0-d x (NumPy returns a scalar)
        y += 1
        xp.reciprocal(y, out=y)
        y = y.astype(xd.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return SigmoidBackward.apply(grad, y)


class SigmoidBackward(Function):
    """``dx = grad * y (1 - y)`` as one op (PyTorch's ``sigmoid_backward``); differentiable:
    d/dgrad = y (1 - y), d/dy = grad (1 - 2y).  Complex: ``grad * conj(y (1 - y))``, holomorphic
    in ``grad`` and anti-holomorphic in ``y``, which gives its double backward."""
    supports_complex = True

    @staticmethod
    def forward(ctx, grad, y):
        ctx.save_for_backward(grad, y)
        yd = y._data
        if yd.dtype.kind == "c":
            yd = yd.conj()
        return grad._data * yd * (1 - yd)

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        if gg._data.dtype.kind == "c":  # holomorphic in grad, anti-holomorphic in y
            return gg * y * (1 - y), _conj(gg * (1 - 2 * y)) * grad
        return gg * y * (1 - y), gg * grad * (1 - 2 * y)


# ReLU's backward on a GPU: the mask and the selection as one kernel (edunn._kernels)
_RELU_BACKWARD = KernelSpec("edunn_relu_backward", ("T y", "T g"), (), ("T d",),
                            "d = y > 0 ? g : (T)0;")


class ReLU(Function):
    """``y = max(x, 0)``;  dy/dx = 1 where x > 0, else 0: the gradient passes where y > 0 and is
    exactly 0 elsewhere, even when it is NaN or infinite (PyTorch's ``threshold_backward``)."""

    @staticmethod
    def forward(ctx, x):
        xd = x._data
        y = _xp(x).maximum(xd, 0).astype(xd.dtype, copy=False)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        if _grad_state.enabled:  # create_graph: keep the gradient differentiable
            return _where(y > 0, grad, 0.0)
        gd, yd = grad._data, y._data
        xp = _xp(yd)
        if gd.shape == yd.shape and _kernels.fusable(yd, gd):
            out = xp.empty(yd.shape, yd.dtype)
            _kernels.launch(_RELU_BACKWARD, (yd, gd), {}, (out,))
            return Tensor._make(out)
        if gd.dtype.kind == "f" and gd.shape == yd.shape:
            # the gradient's bits times the 0/1 mask: exactly g or +0, in the passes of a product
            out = xp.empty(gd.shape, gd.dtype)
            xp.multiply(backend.as_bits(gd), xp.greater(yd, 0), out=backend.as_bits(out))
            return Tensor._make(out)
        return _where(y > 0, grad, 0.0)


# ----------------------------------------------------------------------------------------------
# the functional forms (``edunn.add`` ...) that Tensor's methods call
# ----------------------------------------------------------------------------------------------
def add(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Tensor:
    """``input + alpha * other`` (broadcast)."""
    try:
        y = Add.apply(input, other, alpha)
        return y if out is None else write_out(y, out)
    except ValueError as err:
        raise _shape_error(input, other, err) from None


def sub(input: Any, other: Any, *, alpha: Any = 1, out: Any = None) -> Tensor:
    """``input - alpha * other`` (broadcast)."""
    try:
        y = Sub.apply(input, other, alpha)
        return y if out is None else write_out(y, out)
    except ValueError as err:
        raise _shape_error(input, other, err) from None


subtract = sub


def mul(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """``input * other`` (broadcast)."""
    try:
        y = Mul.apply(input, other)
        return y if out is None else write_out(y, out)
    except ValueError as err:
        raise _shape_error(input, other, err) from None


multiply = mul


def neg(input: Tensor, *, out: Any = None) -> Tensor:
    y = Neg.apply(input)
    return y if out is None else write_out(y, out)


negative = neg


def pow(input: Any, exponent: Any, *, out: Any = None) -> Tensor:
    """``input ** exponent`` (either may be a Python number)."""
    if _autocast.active and out is None and "pow" in _autocast.listed: return _autocast.call("pow", pow, input, exponent, out=out)  # noqa: E501,E701
    y = _apply(Pow, input, exponent)
    return y if out is None else write_out(y, out)


def exp(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "exp" in _autocast.listed: return _autocast.call("exp", exp, input, out=out)  # noqa: E501,E701
    y = Exp.apply(input)
    return y if out is None else write_out(y, out)


def log(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "log" in _autocast.listed: return _autocast.call("log", log, input, out=out)  # noqa: E501,E701
    y = Log.apply(input)
    return y if out is None else write_out(y, out)


def tanh(input: Tensor, *, out: Any = None) -> Tensor:
    y = Tanh.apply(input)
    return y if out is None else write_out(y, out)


def sigmoid(input: Tensor, *, out: Any = None) -> Tensor:
    y = Sigmoid.apply(input)
    return y if out is None else write_out(y, out)


def relu(input: Tensor) -> Tensor:
    return ReLU.apply(input)




def div(input: Any, other: Any, *, rounding_mode: str | None = None, out: Any = None) -> Tensor:
    """``input / other``: true division (integers give floats), or rounded towards zero
    (``rounding_mode='trunc'``) or down (``'floor'``), keeping the input dtype."""
    if rounding_mode is None:
        try:
            y = Div.apply(input, other)
            return y if out is None else write_out(y, out)
        except ValueError as err:
            raise _shape_error(input, other, err) from None
    if rounding_mode not in ("trunc", "floor"):
        raise ValueError("div expected rounding_mode to be one of None, 'trunc', or 'floor' but "
                         f"found '{rounding_mode}'")
    y = _apply(DivRounded, input, other, rounding_mode)
    return y if out is None else write_out(y, out)


true_divide = divide = div


def floor_divide(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """``input // other``: ``floor(input / other)`` (Python's rounding), zero gradient."""
    y = _apply(DivRounded, input, other, "floor")
    return y if out is None else write_out(y, out)


# The other binary math, the unary math and the comparisons live in sibling modules; Tensor's
# methods reach them as ``_ew.<name>``, so they are re-exported here.
from .binary import *  # noqa: E402,F401,F403
from .binary import __all__ as _binary_all  # noqa: E402
from .unary import *  # noqa: E402,F401,F403
from .unary import __all__ as _unary_all  # noqa: E402
from .comparison import *  # noqa: E402,F401,F403
from .comparison import __all__ as _comparison_all  # noqa: E402

__all__ = ['add', 'sub', 'subtract', 'mul', 'multiply', 'div', 'divide', 'true_divide',
           'floor_divide', 'neg', 'negative', 'pow', 'exp', 'log', 'tanh', 'sigmoid',
           'relu'] + _binary_all + _unary_all + _comparison_all