"""Comparisons, tests and logical/bitwise ops: ``eq``, ``isclose``, ``isnan``, ``logical_and``,
``bitwise_xor``, shifts (``heaviside`` is in binary.py).

None of these is differentiable: their outputs are bool (or integer) tensors, which never carry
gradients.  Operands go through ``_binary`` so ``int_tensor == 2.5`` compares as PyTorch does.

Complex tensors, as in PyTorch: ``eq``/``ne`` compare both parts, ``isclose`` measures
``|a - b|`` with the complex absolute value, ``isnan``/``isinf``/``isfinite`` look at both parts
(``nan+1j`` is NaN), the logical ops treat nonzero as true, ``isreal`` tests ``imag == 0``; the
orderings (``lt`` ...), ``isposinf``/``isneginf`` and the bitwise ops refuse complex inputs.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._out import write_out
from .elementwise import _FLOATS, _apply, _binary, _xp

__all__ = ['eq', 'ne', 'lt', 'le', 'gt', 'ge', 'greater', 'greater_equal', 'less', 'less_equal',
           'not_equal', 'equal', 'isclose', 'allclose', 'isnan', 'isinf', 'isfinite', 'isposinf',
           'isneginf', 'isreal', 'logical_and', 'logical_or', 'logical_xor', 'logical_not',
           'bitwise_and', 'bitwise_or', 'bitwise_xor', 'bitwise_not', 'bitwise_left_shift',
           'bitwise_right_shift']


def _array_of(ad: Any, bd: Any) -> Any:
    return ad if hasattr(ad, "dtype") else bd


class _Compare(Function):
    """``y = a <op> b`` as a bool tensor (``a``, ``b``: tensors or numbers, broadcast)."""
    op = ""

    @classmethod
    def forward(cls, ctx, a, b):
        ad, bd = _binary(a, b)
        return getattr(_xp(_array_of(ad, bd)), cls.op)(ad, bd)


class Eq(_Compare):
    op = "equal"
    supports_complex = True


class Ne(_Compare):
    op = "not_equal"
    supports_complex = True


class Lt(_Compare):
    op = "less"


class Le(_Compare):
    op = "less_equal"


class Gt(_Compare):
    op = "greater"


class Ge(_Compare):
    op = "greater_equal"


class LogicalAnd(_Compare):
    op = "logical_and"
    supports_complex = True


class LogicalOr(_Compare):
    op = "logical_or"
    supports_complex = True


class LogicalXor(_Compare):
    op = "logical_xor"
    supports_complex = True


class _Bitwise(Function):
    """``y = a <op> b`` bit by bit, for integer and bool tensors only."""
    op = ""

    @classmethod
    def forward(cls, ctx, a, b):
        ad, bd = _binary(a, b)
        arr = _array_of(ad, bd)
        if arr.dtype in _FLOATS:
            raise NotImplementedError(
                f'"{cls.op}_cpu" not implemented for \'{backend.dtype_of(arr).name}\': bitwise ops '
                "need integer or bool tensors")
        return getattr(_xp(arr), cls.op)(ad, bd)


class BitwiseAnd(_Bitwise):
    op = "bitwise_and"


class BitwiseOr(_Bitwise):
    op = "bitwise_or"


class BitwiseXor(_Bitwise):
    op = "bitwise_xor"


class LeftShift(_Bitwise):
    op = "left_shift"


class RightShift(_Bitwise):
    op = "right_shift"


class _Test(Function):
    """``y = test(x)`` as a bool tensor (``isnan`` ...)."""
    op = ""

    @classmethod
    def forward(cls, ctx, x):
        xd = x._data
        xp = _xp(x)
        if xd.dtype not in _FLOATS and xd.dtype.kind != "c":  # integers are never NaN or infinite
            return xp.ones(xd.shape, bool) if cls.op == "isfinite" else xp.zeros(xd.shape, bool)
        return getattr(xp, cls.op)(xd)


class IsNan(_Test):
    op = "isnan"
    supports_complex = True


class IsInf(_Test):
    op = "isinf"
    supports_complex = True


class IsFinite(_Test):
    op = "isfinite"
    supports_complex = True


class IsPosInf(_Test):
    op = "isposinf"


class IsNegInf(_Test):
    op = "isneginf"


class LogicalNot(Function):
    """``y = not x`` (nonzero is true)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x):
        return _xp(x).logical_not(x._data)


class BitwiseNot(Function):
    """``y = ~x`` (bitwise for integers, logical for bool)."""

    @staticmethod
    def forward(ctx, x):
        if x._data.dtype in _FLOATS:
            raise NotImplementedError(f'"bitwise_not_cpu" not implemented for \'{x.dtype.name}\'')
        return _xp(x).invert(x._data)


class IsClose(Function):
    """``|a - b| <= atol + rtol * |b|`` (infinities equal themselves; NaN only with equal_nan).
    For complex numbers ``|.|`` is the complex absolute value, as NumPy's ``isclose`` does."""
    supports_complex = True

    @staticmethod
    def forward(ctx, a, b, rtol, atol, equal_nan):
        ad, bd = _binary(a, b)
        xp = _xp(_array_of(ad, bd))
        if _array_of(ad, bd).dtype == bool:
            return xp.equal(ad, bd)
        return xp.isclose(ad, bd, rtol=rtol, atol=atol, equal_nan=equal_nan)


# ---------------------------------------------------------------------------------------- functional forms
def eq(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Eq, input, other), out)


def ne(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Ne, input, other), out)


def lt(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Lt, input, other), out)


def le(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Le, input, other), out)


def gt(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Gt, input, other), out)


def ge(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Ge, input, other), out)


greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne


@backend.on_input_device
def equal(input: Tensor, other: Tensor) -> bool:
    """True when both tensors have the same shape and the same values (a Python bool)."""
    if tuple(input.shape) != tuple(other.shape):
        return False
    return bool(eq(input, other)._data.all())


def isclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
            equal_nan: bool = False) -> Tensor:
    return _apply(IsClose, input, other, rtol, atol, equal_nan)


@backend.on_input_device
def allclose(input: Any, other: Any, rtol: float = 1e-05, atol: float = 1e-08,
             equal_nan: bool = False) -> bool:
    return bool(isclose(input, other, rtol, atol, equal_nan)._data.all())


def isnan(input: Tensor) -> Tensor:
    return IsNan.apply(input)


def isinf(input: Tensor) -> Tensor:
    return IsInf.apply(input)


def isfinite(input: Tensor) -> Tensor:
    return IsFinite.apply(input)


def _refuse_complex(input: Any, name: str) -> None:
    if isinstance(input, Tensor) and input._data.dtype.kind == "c":
        raise RuntimeError(f"{name} does not support complex inputs.")


def isposinf(input: Tensor, *, out: Any = None) -> Tensor:
    _refuse_complex(input, "isposinf")
    return write_out(IsPosInf.apply(input), out)


def isneginf(input: Tensor, *, out: Any = None) -> Tensor:
    _refuse_complex(input, "isneginf")
    return write_out(IsNegInf.apply(input), out)


def isreal(input: Tensor) -> Tensor:
    """Whether each element is real: ``imag == 0`` for a complex tensor, all True otherwise."""
    if input._data.dtype.kind == "c":
        from .complex import imag
        return eq(imag(input), 0)
    return IsFinite.apply(input) | True


def logical_and(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(LogicalAnd, input, other), out)


def logical_or(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(LogicalOr, input, other), out)


def logical_xor(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(LogicalXor, input, other), out)


def logical_not(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(LogicalNot.apply(input), out)


def bitwise_and(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(BitwiseAnd, input, other), out)


def bitwise_or(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(BitwiseOr, input, other), out)


def bitwise_xor(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(BitwiseXor, input, other), out)


def bitwise_not(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(BitwiseNot.apply(input), out)


def bitwise_left_shift(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(LeftShift, input, other), out)


def bitwise_right_shift(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(RightShift, input, other), out)

