"""Complex-number functions: ``real``, ``imag``, ``view_as_real``, ``view_as_complex``,
``complex``, ``polar``, ``angle``, ``conj`` (``conj_physical``, ``resolve_conj``, ``adjoint``).

A complex number ``z = x + iy`` is two real numbers, and that is how its gradient is defined.
For a real loss ``L``, PyTorch stores in ``z.grad`` the complex number

.. math::  \\frac{\\partial L}{\\partial x} + i \\frac{\\partial L}{\\partial y}
           \\;=\\; 2\\,\\frac{\\partial L}{\\partial \\bar z}

(the conjugate Wirtinger derivative, scaled): the direction of steepest ascent, so that
``z -= lr * z.grad`` is gradient descent exactly as for real numbers.  Every ``backward`` below
is that rule applied to its op; each is checked against finite differences along ``x`` and along
``y`` by ``edunn.autograd.gradcheck`` and against ``torch``'s ``.grad``.

* ``real(z) = x``:   ``L`` depends on ``x`` only, so ``grad_z = g + 0i``;
* ``imag(z) = y``:   ``grad_z = 0 + i g``;
* ``view_as_real``/``view_as_complex``: the same numbers seen two ways; gradients are seen
  the other way back;
* ``complex(x, y) = x + iy``: ``(grad_x, grad_y) = (Re g, Im g)``;
* ``conj(z) = x - iy``: ``grad_z = conj(g)``;
* ``angle(z) = atan2(y, x)``: ``grad_z = g * (-y + ix) / |z|^2 = g * i z / |z|^2`` (0 at z = 0);
* ``polar(r, t) = r e^{it}``: ``grad_r = Re(conj(g) e^{it})``, ``grad_t = Re(conj(g) i r e^{it})``.

**Views.** ``real``, ``imag``, ``view_as_real`` and ``view_as_complex`` share memory with their
input (NumPy's and CuPy's ``.real``/``.imag`` are views too): ``z.real[0] = 1`` changes ``z``.

**Conjugation is eager here.**  PyTorch's ``conj()`` returns a *lazy* view that only sets a
"conjugate bit" and defers the work to the next op that reads it (``is_conj()``,
``resolve_conj()``); that is a memory optimization.  edunn's ``conj()`` makes a conjugated copy,
so ``is_conj()`` is always False and ``resolve_conj``/``resolve_neg`` return their input; on a
real tensor ``conj()`` returns the tensor itself, as PyTorch does.  Lesson 01 (dtypes) and
lesson 02 (autograd) use this file.
"""
from __future__ import annotations

import warnings
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._out import write_out
from .conversion import Cast

__all__ = ["real", "imag", "view_as_real", "view_as_complex", "view_as_real_copy",
           "view_as_complex_copy", "complex", "polar", "angle", "conj", "conj_physical",
           "conj_physical_", "resolve_conj", "resolve_neg", "adjoint"]


def _check_tensor(x: Any, name: str, arg: str = "input") -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"{name}(): argument '{arg}' must be Tensor, not {type(x).__name__}")


def _complex_np(real_np: Any) -> Any:
    """The complex NumPy type whose parts are ``real_np`` (float32 -> complex64); float16's
    partner complex32 does not exist in NumPy: its dtype raises the clear error."""
    return backend.dtype_of(backend.numpy.empty(0, real_np)).to_complex().np


# ----------------------------------------------------------------------------------------------
# real, imag, view_as_real, view_as_complex: views
# ----------------------------------------------------------------------------------------------
class Real(Function):
    """``x = Re z`` (a view).  Backward: ``g + 0i`` -- the cast of the real gradient to z's
    complex type, whose own backward takes the real part again (double backward)."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, z):
        ctx.np_dtype = z._data.dtype
        return z._data.real

    @staticmethod
    def backward(ctx, grad):
        return Cast.apply(grad, ctx.np_dtype)


class Imag(Function):
    """``y = Im z`` (a view).  Backward: ``0 + i g``."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, z):
        return z._data.imag

    @staticmethod
    def backward(ctx, grad):
        return Complex.apply(_zeros_like(grad), grad)


class ViewAsReal(Function):
    """``(..., ) complex -> (..., 2) real``, the same memory.  Backward: the gradient seen as
    complex again."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, z):
        # the real parts (a view with z's strides) plus a last axis of length 2 whose step is
        # one real number, so that it reaches the imaginary part: a view for any strides
        # (``ndarray.view(float64)`` would need a contiguous array on CuPy)
        re = z._data.real
        xp = backend.array_module(re)
        return xp.lib.stride_tricks.as_strided(re, re.shape + (2,), re.strides + (re.itemsize,))

    @staticmethod
    def backward(ctx, grad):
        return ViewAsComplex.apply(grad.contiguous())


class ViewAsComplex(Function):
    """``(..., 2) real -> (...) complex``, the same memory.  Backward: the gradient seen as
    pairs of reals."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, x):
        # NumPy reads each (re, im) pair as one complex number as long as the last axis is
        # contiguous; CuPy's ``view`` also needs the whole array C-contiguous (else ValueError)
        return x._data.view(_complex_np(x._data.dtype))[..., 0]

    @staticmethod
    def backward(ctx, grad):
        return ViewAsReal.apply(grad)


def real(input: Tensor) -> Tensor:
    """The real parts of a complex tensor, as a view (``torch.real``); a real tensor itself."""
    _check_tensor(input, "real")
    return Real.apply(input) if input._data.dtype.kind == "c" else input


def imag(input: Tensor) -> Tensor:
    """The imaginary parts of a complex tensor, as a view (``torch.imag``)."""
    _check_tensor(input, "imag")
    if input._data.dtype.kind != "c":
        raise RuntimeError("imag is not implemented for tensors with non-complex dtypes.")
    return Imag.apply(input)


def view_as_real(input: Tensor) -> Tensor:
    """A complex tensor of shape ``(...)`` seen as a real one of shape ``(..., 2)`` holding
    (real, imaginary) pairs -- no copy (``torch.view_as_real``)."""
    _check_tensor(input, "view_as_real")
    if input._data.dtype.kind != "c":
        raise RuntimeError("view_as_real is only supported for complex tensors")
    return ViewAsReal.apply(input)


def view_as_complex(input: Tensor) -> Tensor:
    """A real tensor of shape ``(..., 2)`` seen as a complex one of shape ``(...)`` -- no copy
    (``torch.view_as_complex``).  As in PyTorch, the last dimension must have size 2 and stride
    1, every other stride must be even and the first element must sit at an even offset, so
    that each pair lines up with one complex number in memory."""
    _check_tensor(input, "view_as_complex")
    d = input.dtype
    if d not in (backend.float16, backend.float32, backend.float64):
        raise RuntimeError("view_as_complex is only supported for half, float and double tensors, "
                           f"but got a tensor of scalar type: {d.scalar_name}")
    if input._data.ndim == 0:
        raise RuntimeError("Input tensor must have one or more dimensions")
    if input._data.shape[-1] != 2:
        raise RuntimeError("Tensor must have a last dimension of size 2")
    strides = input.stride()
    if strides[-1] != 1:
        raise RuntimeError("Tensor must have a last dimension with stride 1")
    if any(s % 2 for s in strides[:-1]):
        raise RuntimeError("Tensor must have a stride divisible by 2 for all but last dimension")
    if input.storage_offset() % 2:
        raise RuntimeError("Tensor must have a storage_offset divisible by 2")
    return ViewAsComplex.apply(input)


def view_as_real_copy(input: Tensor, *, out: Any = None) -> Tensor:
    """``view_as_real`` as a new tensor (``torch.view_as_real_copy``)."""
    v = view_as_real(input)
    return write_out(Cast.apply(v, v._data.dtype), out)  # a same-dtype cast is a copy


def view_as_complex_copy(input: Tensor, *, out: Any = None) -> Tensor:
    """``view_as_complex`` as a new tensor (``torch.view_as_complex_copy``)."""
    v = view_as_complex(input)
    return write_out(Cast.apply(v, v._data.dtype), out)


# ----------------------------------------------------------------------------------------------
# complex, polar
# ----------------------------------------------------------------------------------------------
def _zeros_like(t: Tensor) -> Tensor:
    return Tensor._make(backend.array_module(t._data).zeros(t._data.shape, t._data.dtype))


def _check_pair(a: Any, b: Any, name: str, names: tuple) -> None:
    _check_tensor(a, name, names[0])
    _check_tensor(b, name, names[1])
    if a.dtype not in (backend.float16, backend.float32, backend.float64) or \
            b.dtype not in (backend.float16, backend.float32, backend.float64):
        raise RuntimeError("Expected both inputs to be Half, Float or Double tensors but got "
                           f"{a.dtype.scalar_name} and {b.dtype.scalar_name}")
    if a.dtype is not b.dtype:
        raise RuntimeError(f"Expected object of scalar type {a.dtype.scalar_name} but got scalar "
                           f"type {b.dtype.scalar_name} for second argument")


class Complex(Function):
    """``z = x + iy`` (x, y broadcast).  Backward: ``(Re g, Im g)``; the engine sums each back
    to its input's shape."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, y):
        xp = backend.array_module(x._data)
        backend._note_complex()  # a complex array made from real ones: switch the guard on
        shape = xp.broadcast_shapes(x._data.shape, y._data.shape)
        z = xp.empty(shape, _complex_np(x._data.dtype))
        z.real, z.imag = x._data, y._data
        return z

    @staticmethod
    def backward(ctx, grad):
        return real(grad), imag(grad)


def complex(real: Tensor, imag: Tensor, *, out: Any = None) -> Tensor:
    """``real + i imag`` (``torch.complex``): two float tensors of one dtype, broadcast, give a
    tensor of the matching complex type (float32 -> complex64, float64 -> complex128)."""
    _check_pair(real, imag, "complex", ("real", "imag"))
    return write_out(Complex.apply(real, imag), out)


class Polar(Function):
    """``z = r (cos t + i sin t)``.  Backward, with ``g = a + ib``:
    ``grad_r = Re(conj(g) e^{it}) = a cos t + b sin t`` and
    ``grad_t = Re(conj(g) i z) = r (b cos t - a sin t)``."""
    supports_complex = True

    @staticmethod
    def forward(ctx, r, t):
        xp = backend.array_module(r._data)
        backend._note_complex()
        ctx.save_for_backward(r, t)
        shape = xp.broadcast_shapes(r._data.shape, t._data.shape)
        z = xp.empty(shape, _complex_np(r._data.dtype))
        z.real, z.imag = r._data * xp.cos(t._data), r._data * xp.sin(t._data)
        return z

    @staticmethod
    def backward(ctx, grad):
        r, t = ctx.saved_tensors
        a, b = real(grad), imag(grad)
        c, s = t.cos(), t.sin()
        return a * c + b * s, r * (b * c - a * s)


def polar(abs: Tensor, angle: Tensor, *, out: Any = None) -> Tensor:
    """The complex numbers with absolute value ``abs`` and angle ``angle``:
    ``abs * (cos(angle) + i sin(angle))`` (``torch.polar``).

    Gradient: PyTorch's formula writes ``e^{i angle}`` as ``sgn(result)``, which is 0 where
    ``abs == 0`` and ``-e^{i angle}`` where ``abs < 0``; edunn uses ``e^{i angle}`` itself, the
    true derivative everywhere (the two agree wherever ``abs > 0``)."""
    _check_pair(abs, angle, "polar", ("abs", "angle"))
    return write_out(Polar.apply(abs, angle), out)


# ----------------------------------------------------------------------------------------------
# angle
# ----------------------------------------------------------------------------------------------
class Angle(Function):
    """``angle(z) = atan2(y, x)``.  Backward: ``g * (-y + ix) / (x^2 + y^2)``, 0 at ``z = 0``.
    For a real input the angle is 0 or pi, a step function: its gradient is 0."""
    supports_complex = True

    @staticmethod
    def forward(ctx, z, np_dtype):
        xp = backend.array_module(z._data)
        ctx.save_for_backward(z)
        d = z._data
        if d.dtype.kind == "c":
            return xp.angle(d)
        d = d.astype(np_dtype)
        return xp.where(xp.isnan(d), d, xp.where(d < 0, np_dtype.type(xp.pi), np_dtype.type(0)))

    @staticmethod
    def backward(ctx, grad):
        z, = ctx.saved_tensors
        if z._data.dtype.kind != "c":
            return _zeros_like(grad), None
        x, y = real(z), imag(z)
        r2 = x * x + y * y
        r2 = r2 + (r2 == 0).to(r2.dtype)  # at z = 0 the numerators are 0: the gradient is 0
        return Complex.apply(-grad * y / r2, grad * x / r2), None


def angle(input: Tensor, *, out: Any = None) -> Tensor:
    """The angle of each element in radians, ``atan2(imag, real)`` in ``(-pi, pi]``
    (``torch.angle``).  Real inputs: 0 for ``x >= 0``, pi for ``x < 0``, NaN stays NaN; an
    integer or bool input gives the default float type, as in PyTorch."""
    _check_tensor(input, "angle")
    d = input.dtype
    out_np = d.to_real().np if d.is_complex or d.is_floating_point else backend.get_default_dtype().np
    return write_out(Angle.apply(input, out_np), out)


# ----------------------------------------------------------------------------------------------
# conjugation
# ----------------------------------------------------------------------------------------------
class Conj(Function):
    """``conj(x + iy) = x - iy`` (a copy).  Backward: ``conj(g)``."""
    supports_complex = True

    @staticmethod
    def forward(ctx, z):
        return backend.array_module(z._data).conj(z._data)

    @staticmethod
    def backward(ctx, grad):
        return Conj.apply(grad)


def conj(input: Tensor) -> Tensor:
    """The complex conjugate (``torch.conj``).  PyTorch returns a lazy view with the conjugate
    bit set; edunn computes the conjugate at once (a copy, see the module docstring).  A real
    tensor is its own conjugate: it is returned as is, as in PyTorch."""
    _check_tensor(input, "conj")
    return Conj.apply(input) if input._data.dtype.kind == "c" else input


def conj_physical(input: Tensor, *, out: Any = None) -> Tensor:
    """The conjugate, computed (``torch.conj_physical``): what ``conj`` does in edunn."""
    _check_tensor(input, "conj_physical")
    return write_out(conj(input), out)


def conj_physical_(input: Tensor) -> Tensor:
    """Conjugate ``input`` in place (``torch.conj_physical_``); a real tensor is unchanged."""
    _check_tensor(input, "conj_physical_")
    if input._data.dtype.kind != "c":
        return input
    return input._inplace(Conj.apply(input))


def resolve_conj(input: Tensor) -> Tensor:
    """``input`` with its lazy conjugation carried out (``torch.resolve_conj``).  edunn
    conjugates eagerly, so there is nothing to resolve: ``input`` itself."""
    _check_tensor(input, "resolve_conj")
    return input


def resolve_neg(input: Tensor) -> Tensor:
    """``input`` with its lazy negation carried out (``torch.resolve_neg``): ``input`` itself
    in edunn, which has no lazy negation."""
    _check_tensor(input, "resolve_neg")
    return input


def adjoint(input: Tensor) -> Tensor:
    """The conjugate transpose of the last two dimensions, ``input.mT.conj()``
    (``torch.adjoint``, ``Tensor.mH``)."""
    _check_tensor(input, "adjoint")
    if input._data.ndim == 0:   # still accepted by PyTorch, with this warning
        warnings.warn("adjoint() is deprecated on 0-D tensors. Consider using x.conj().", UserWarning, stacklevel=2)
        return conj(input)
    if input._data.ndim < 2:
        raise RuntimeError(f"tensor.adjoint() is only supported on matrices or batches of matrices. "
                           f"Got {input._data.ndim}-D tensor.")
    return conj(input.transpose(-2, -1))
