"""Trigonometric and hyperbolic functions: ``sin``, ``cos``, ``tan``, their inverses, ``sinh`` ...
``atanh``, and ``sinc``, ``deg2rad``, ``rad2deg``.

Each is a :class:`~edunn.ops.unary._Unary`: the function ``f`` and its derivative ``df`` side by
side (``Sin``: ``f = sin x``, ``df = cos x``), with the forward, the backward ``grad * df(x, y)``
and the dtype rules written once in ``unary.py``.  The derivatives are themselves written with
these ops (``d/dx sin = cos``, ``d/dx asin = rsqrt(1 - x^2)``), so double backward works.
Integer inputs give the default float dtype (``sin`` of an int tensor is float32), as in PyTorch.

Complex inputs: all of them but ``deg2rad``/``rad2deg`` are holomorphic, and PyTorch's gradient
``grad * conj(f'(z))`` comes from the real formula on conjugated values (``unary.py`` says how).
``deg2rad`` and ``rad2deg`` refuse complex tensors, as PyTorch does.

These used to be part of ``unary.py``, which re-exports them (``edunn.ops.unary.sin`` and
``edunn.ops.elementwise.sin`` are this module's ``sin``).
"""
from __future__ import annotations

import math
from typing import Any

from ..tensor import Tensor
from ._operands import _where
from ._out import write_out
from .unary import _Unary, rsqrt
from ..amp import _policy as _autocast

__all__ = ['sin', 'cos', 'tan', 'asin', 'acos', 'atan', 'arcsin', 'arccos', 'arctan', 'sinh', 'cosh',
           'asinh', 'acosh', 'atanh', 'arcsinh', 'arccosh', 'arctanh', 'deg2rad', 'rad2deg', 'sinc']


# ---------------------------------------------------------------------------------------- the ops
class Sin(_Unary):
    """``y = sin x``;  dy/dx = cos x."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.sin(x))
    df = staticmethod(lambda x, y: cos(x))


class Cos(_Unary):
    """``y = cos x``;  dy/dx = -sin x."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.cos(x))
    df = staticmethod(lambda x, y: -sin(x))


class Tan(_Unary):
    """``y = tan x``;  dy/dx = 1 + y^2."""
    supports_complex = True
    saves = "y"
    f = staticmethod(lambda xp, x: xp.tan(x))
    df = staticmethod(lambda x, y: 1 + y * y)


class Asin(_Unary):
    """``y = asin x``;  dy/dx = 1 / sqrt(1 - x^2)."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.arcsin(x))
    df = staticmethod(lambda x, y: rsqrt(1 - x * x))


class Acos(_Unary):
    """``y = acos x``;  dy/dx = -1 / sqrt(1 - x^2)."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.arccos(x))
    df = staticmethod(lambda x, y: -rsqrt(1 - x * x))


class Atan(_Unary):
    """``y = atan x``;  dy/dx = 1 / (1 + x^2)."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.arctan(x))
    df = staticmethod(lambda x, y: 1 / (1 + x * x))


class Sinh(_Unary):
    """``y = sinh x``;  dy/dx = cosh x."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.sinh(x))
    df = staticmethod(lambda x, y: cosh(x))


class Cosh(_Unary):
    """``y = cosh x``;  dy/dx = sinh x."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.cosh(x))
    df = staticmethod(lambda x, y: sinh(x))


class Asinh(_Unary):
    """``y = asinh x``;  dy/dx = 1 / sqrt(x^2 + 1)."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.arcsinh(x))
    df = staticmethod(lambda x, y: rsqrt(x * x + 1))


class Acosh(_Unary):
    """``y = acosh x``;  dy/dx = 1 / (sqrt(x - 1) sqrt(x + 1)): ``1 / sqrt(x^2 - 1)`` for real
    ``x`` (as PyTorch writes it, so also where ``x < -1``, outside the domain: its value there is
    NaN but its gradient a number), and on the principal branch for complex ``x`` (where the two
    differ in sign)."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.arccosh(x))
    df = staticmethod(lambda x, y: rsqrt(x - 1) * rsqrt(x + 1) if x.is_complex() else rsqrt(x * x - 1))


class Atanh(_Unary):
    """``y = atanh x``;  dy/dx = 1 / (1 - x^2)."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.arctanh(x))
    df = staticmethod(lambda x, y: 1 / (1 - x * x))


class Deg2Rad(_Unary):
    """``y = x * pi / 180``;  dy/dx = pi / 180."""
    saves = ""
    f = staticmethod(lambda xp, x: x * (math.pi / 180))
    df = staticmethod(lambda x, y: math.pi / 180)


class Rad2Deg(_Unary):
    """``y = x * 180 / pi``;  dy/dx = 180 / pi."""
    saves = ""
    f = staticmethod(lambda xp, x: x * (180 / math.pi))
    df = staticmethod(lambda x, y: 180 / math.pi)


class Sinc(_Unary):
    """``y = sin(pi x) / (pi x)`` (1 at 0);  dy/dx = (cos(pi x) - y) / x (0 at 0), with ``y``
    computed again from the saved input, as PyTorch keeps only the input."""
    supports_complex = True
    f = staticmethod(lambda xp, x: xp.sinc(x))

    @staticmethod
    def df(x, y):
        zero = x._data == 0  # an array: a constant mask, for real and complex x alike
        safe = _where(zero, 1.0, x)
        return _where(zero, 0.0, (cos(math.pi * x) - sinc(x)) / safe)


# ---------------------------------------------------------------------------------------- functional forms
def sin(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Sin.apply(input), out)


def cos(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Cos.apply(input), out)


def tan(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "tan" in _autocast.listed: return _autocast.call("tan", tan, input, out=out)  # noqa: E501,E701
    return write_out(Tan.apply(input), out)


def asin(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "asin" in _autocast.listed: return _autocast.call("asin", asin, input, out=out)  # noqa: E501,E701
    return write_out(Asin.apply(input), out)


def acos(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "acos" in _autocast.listed: return _autocast.call("acos", acos, input, out=out)  # noqa: E501,E701
    return write_out(Acos.apply(input), out)


def atan(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Atan.apply(input), out)


arcsin, arccos, arctan = asin, acos, atan


def sinh(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "sinh" in _autocast.listed: return _autocast.call("sinh", sinh, input, out=out)  # noqa: E501,E701
    return write_out(Sinh.apply(input), out)


def cosh(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "cosh" in _autocast.listed: return _autocast.call("cosh", cosh, input, out=out)  # noqa: E501,E701
    return write_out(Cosh.apply(input), out)


def asinh(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Asinh.apply(input), out)


def acosh(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Acosh.apply(input), out)


def atanh(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Atanh.apply(input), out)


arcsinh, arccosh, arctanh = asinh, acosh, atanh

def deg2rad(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Deg2Rad.apply(input), out)


def rad2deg(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Rad2Deg.apply(input), out)


def sinc(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(Sinc.apply(input), out)
