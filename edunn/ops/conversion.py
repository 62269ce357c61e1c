"""Conversions: ``to(dtype | device | other)``, ``copy_``, ``view(dtype)``.

* :class:`Cast` -- ``y = x`` in another dtype; the gradient is cast back.  From complex to real
  it keeps the real part (``to()`` and ``copy_`` warn, as PyTorch does: "Casting complex values
  to real discards the imaginary part"); its backward is then the real gradient as a complex
  one with zero imaginary part.  The autograd engine casts every gradient to its input's dtype
  with ``Cast``, so a real input that received a complex gradient keeps its real part --
  PyTorch's rule for real inputs of complex computations.
* :class:`ToDevice` -- ``y = x`` on another device; the gradient moves back (``backend.to_device``).

Lesson 01 (dtypes, devices).
"""
from __future__ import annotations

import warnings
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

float16, bfloat16, float32, float64 = backend.float16, backend.bfloat16, backend.float32, backend.float64
int8, int16, int32, int64, uint8, bool_ = (backend.int8, backend.int16, backend.int32, backend.int64,
                                           backend.uint8, backend.bool_)

__all__: list = []


class Cast(Function):
    """``y = x.to(dtype)``.  Backward: the gradient cast back to x's dtype."""

    supports_complex = True

    @staticmethod
    def forward(ctx, x, np_dtype):
        ctx.in_dtype = x._data.dtype
        data = x._data
        if data.__class__ is not backend.ndarray:  # CuPy would cast to bfloat16 silently
            backend.check_dtype_on_device(np_dtype, x.device)
        return _real_if_needed(data, np_dtype).astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad._cast_np(ctx.in_dtype), None


class ToDevice(Function):
    """``y = x.to(device)``: the same values in another device's memory.  Backward: the
    gradient moved back to x's device."""

    supports_complex = True

    @staticmethod
    def forward(ctx, x, dev):
        ctx.src = backend.device_of(x._data)
        return backend.to_device(x._data, dev)

    @staticmethod
    def backward(ctx, grad):
        return ToDevice.apply(grad, ctx.src), None


def _is_device(a: Any) -> bool:
    return isinstance(a, (str, backend.device)) or (isinstance(a, int) and not isinstance(a, bool))


def _parse_to(args: tuple, kwargs: dict) -> tuple:
    """``(device, dtype, copy)`` from any of ``to(dtype)``, ``to(device, dtype)``, ``to(other)``
    and their keyword forms."""
    dev = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    copy = bool(kwargs.pop("copy", False))
    kwargs.pop("non_blocking", None)
    kwargs.pop("memory_format", None)
    if kwargs:
        raise TypeError(f"to() got an unexpected keyword argument '{next(iter(kwargs))}'")
    args = list(args)
    if args and isinstance(args[0], Tensor):
        other = args.pop(0)
        dev, dtype = other.device, other.dtype
    elif args and _is_device(args[0]):
        dev = args.pop(0)
    if args and not isinstance(args[0], bool):
        if dtype is not None:
            raise TypeError("to() received an invalid combination of arguments: dtype given twice")
        dtype = args.pop(0)
    if args:  # positional non_blocking, copy
        args.pop(0)
        if args:
            copy = bool(args.pop(0))
    return dev, dtype, copy


def to(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    """``input`` in another dtype and/or on another device; ``input`` itself when nothing would
    change (unless ``copy=True``).  Differentiable across both."""
    if len(args) == 1 and not kwargs and isinstance(args[0], backend.dtype):  # the common fast path
        d = args[0]
        if d.np == input._data.dtype:
            return input
        if d.is_complex:
            backend._note_complex()  # from now on, ops check their inputs for complex values
        _warn_if_discarding_imag(input._data.dtype, d)
        return Cast.apply(input, d.np)
    dev, dtype, copy = _parse_to(args, dict(kwargs))
    out = input
    target_dtype = None if dtype is None else backend.as_dtype(dtype)
    target_dev = None
    if dev is not None:
        target_dev = backend.as_device(dev)
        backend.check_dtype_on_device((target_dtype or input.dtype).np, target_dev)
        if target_dev == input.device:
            target_dev = None
    if target_dtype is not None and target_dtype.np != input._data.dtype:
        if target_dev is not None and target_dev.type == "cuda":
            out = ToDevice.apply(out, target_dev)  # cast on the GPU (bfloat16 was refused above)
            target_dev = None
        _warn_if_discarding_imag(input._data.dtype, target_dtype)
        out = Cast.apply(out, target_dtype.np)
    if target_dev is not None:
        out = ToDevice.apply(out, target_dev)
    if out is input and copy:
        from .shape import clone
        out = clone(input)
    return out


def _real_if_needed(data: Any, np_dtype: Any) -> Any:
    """Complex ``data`` cast to a real type keeps its real parts (what NumPy's astype does,
    without its ComplexWarning); cast to bool it stays whole, as in PyTorch: ``-0.5j`` is True."""
    kind = backend.numpy.dtype(np_dtype).kind
    return data.real if data.dtype.kind == "c" and kind not in "cb" else data


def _warn_if_discarding_imag(src_np: Any, dst: backend.dtype) -> None:
    """PyTorch warns when a cast from complex to a real type drops the imaginary parts."""
    if src_np.kind == "c" and not dst.is_complex and dst is not backend.bool_:
        warnings.warn("Casting complex values to real discards the imaginary part", UserWarning,
                      stacklevel=3)


class CopyFrom(Function):
    """``dst.copy_(src)``: ``src`` broadcast to dst's shape and cast to its dtype (a new array).
    Backward: the gradient, which the engine sums back to src's shape and dtype."""

    supports_complex = True

    @staticmethod
    def forward(ctx, src, shape, np_dtype):
        xp = backend.array_module(src._data)
        data = _real_if_needed(src._data, np_dtype)
        return xp.broadcast_to(data, shape).astype(np_dtype, copy=True)

    @staticmethod
    def backward(ctx, grad):
        return grad, None, None


def copy_from(dst: Tensor, src: Any) -> Tensor:
    """What ``dst.copy_(src)`` stores into ``dst``: ``src`` moved to dst's device, cast to its
    dtype and broadcast to its shape (differentiable with respect to ``src``)."""
    if not isinstance(src, Tensor):
        from .creation import tensor   # a complex number into a real tensor: its real part
        src = tensor(src, dtype=None if isinstance(src, complex) else dst.dtype, device=dst.device)
    from .broadcast import broadcast_shapes
    if broadcast_shapes(src._data.shape, dst._data.shape) != dst._data.shape:
        raise RuntimeError(f"output with shape {list(dst._data.shape)} doesn't match the broadcast shape "
                           f"{list(broadcast_shapes(src._data.shape, dst._data.shape))}")
    if src.device != dst.device:
        src = ToDevice.apply(src, dst.device)
    _warn_if_discarding_imag(src._data.dtype, dst.dtype)
    return CopyFrom.apply(src, dst._data.shape, dst._data.dtype)


def view_dtype(input: Tensor, dtype: Any) -> Tensor:
    """``x.view(edunn.int32)``: the same bytes read as another dtype (not differentiable).
    With a different element size the last dim shrinks or grows, as in PyTorch."""
    d = backend.as_dtype(dtype)
    x = input._data
    if d.itemsize != x.dtype.itemsize:
        old, new = x.dtype.itemsize, d.itemsize
        if x.ndim == 0:
            raise RuntimeError(f"self.dim() cannot be 0 to view {input.dtype.name} as {d.name} "
                               "(different element sizes)")
        if x.strides[-1] != old and x.shape[-1] != 1:
            raise RuntimeError(f"self.stride(-1) must be 1 to view {input.dtype.name} as {d.name} "
                               "(different element sizes)")
        if new > old and (x.shape[-1] * old) % new:
            raise RuntimeError(f"self.size(-1) must be divisible by {new // old} to view "
                               f"{input.dtype.name} as {d.name} (different element sizes), but got "
                               f"{x.shape[-1]}")
        if not x.flags.c_contiguous:
            x = backend.array_module(x).ascontiguousarray(x)
    out = Tensor._make(x.view(d.np))
    out._version_counter = input._version_counter
    out._base = input if input._base is None else input._base
    return out
