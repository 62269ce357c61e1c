"""Tensors from other libraries' memory: ``frombuffer`` (any object with Python's buffer
protocol), ``from_dlpack``/``to_dlpack`` (the DLPack protocol, which NumPy, CuPy, PyTorch, JAX
... all speak), and the deprecated ``range``.

DLPack is a small C struct describing an array (pointer, dtype, shape, strides, device) passed
between libraries inside a ``PyCapsule`` so that no bytes are copied.  An exporter offers
``__dlpack__()`` (the capsule) and ``__dlpack_device__()`` (``(1, 0)`` for the CPU, ``(2, i)``
for CUDA device ``i``); ``numpy.from_dlpack``/``cupy.from_dlpack`` consume it.  edunn reads the
device, lets that device's array module (``backend.xp_for``) import the array, and wraps it:
the tensor shares the exporter's memory.

The other direction: an edunn tensor is itself an exporter.  ``Tensor.__dlpack__`` and
``Tensor.__dlpack_device__`` (PyTorch's signatures) call :func:`dlpack_export` and
:func:`dlpack_device` here, which check what PyTorch checks (no tensor that requires grad, only
the strided layout) and hand the rest to the NumPy or CuPy array under the tensor, which speak
DLPack themselves -- so ``torch.from_dlpack(t)``, ``numpy.from_dlpack(t)`` and
``cupy.from_dlpack(t)`` see the tensor's own memory.
"""
from __future__ import annotations

import builtins
import math
import warnings
from typing import Any

from .. import backend
from ..tensor import Tensor
from ._out import write_out
from .creation import _check_layout, _finish, arange

__all__ = ["frombuffer", "from_dlpack", "to_dlpack", "range"]  # dlpack_export/dlpack_device: Tensor's

_DL_CPU, _DL_CUDA, _DL_CUDA_HOST = 1, 2, 3


def frombuffer(buffer: Any, *, dtype: Any, count: int = -1, offset: int = 0,
               requires_grad: bool = False) -> Tensor:
    """A 1-D CPU tensor over ``buffer``'s bytes from ``offset`` on (``count`` elements, or all
    that fit), sharing its memory when it is aligned for ``dtype`` (writes show in ``buffer``)."""
    try:
        nbytes = memoryview(buffer).nbytes
    except TypeError:
        raise ValueError("object does not implement Python buffer protocol.") from None
    d = backend.as_dtype(dtype)
    size = d.itemsize
    if nbytes == 0 or count == 0:
        raise ValueError(f"both buffer length ({nbytes}) and count ({count}) must not be 0")
    if offset < 0 or offset >= nbytes:
        raise ValueError(f"offset ({offset} bytes) must be non-negative and no greater than buffer length "
                         f"({nbytes} bytes) minus 1")
    if count < 0:
        if (nbytes - offset) % size:
            raise ValueError(f"buffer length ({nbytes - offset} bytes) after offset ({offset} bytes) must be "
                             f"a multiple of element size ({size})")
        count = (nbytes - offset) // size
    elif offset + count * size > nbytes:
        raise ValueError(f"requested buffer length ({count} * {size} bytes) after offset ({offset} bytes) must "
                         f"not be greater than actual buffer length ({nbytes} bytes)")
    return _finish(backend.array_from_bytes(buffer, d.np, (count,), offset, copy=False), requires_grad)


class _Capsule:
    """A bare (legacy) DLPack capsule presented through the protocol; such capsules carry no
    device query, and ``to_dlpack`` of a CPU tensor is what produces them here."""

    def __init__(self, capsule: Any) -> None:
        self.capsule = capsule

    def __dlpack__(self, stream: Any = None, **kwargs: Any) -> Any:
        return self.capsule

    def __dlpack_device__(self) -> tuple:
        return (_DL_CPU, 0)


def from_dlpack(ext_tensor: Any, *, device: Any = None, copy: bool | None = None) -> Tensor:
    """A tensor sharing memory with ``ext_tensor`` (an object with ``__dlpack__``, or a DLPack
    capsule).  ``device=`` moves the result there; ``copy=True`` always copies, ``copy=False``
    refuses a copy (a device change)."""
    if isinstance(ext_tensor, Tensor):
        result = ext_tensor
    else:
        if not hasattr(ext_tensor, "__dlpack__"):
            if type(ext_tensor).__name__ != "PyCapsule":
                raise TypeError(f"from_dlpack(): expected an object with __dlpack__ or a DLPack capsule, "
                                f"got {type(ext_tensor).__name__}")
            ext_tensor = _Capsule(ext_tensor)
        kind, index = ext_tensor.__dlpack_device__()
        if kind in (_DL_CPU, _DL_CUDA_HOST):
            dev = backend.as_device("cpu")
        elif kind == _DL_CUDA:
            dev = backend.as_device(f"cuda:{index}")
        else:
            raise RuntimeError(f"from_dlpack(): unsupported DLPack device type {kind} (edunn takes CPU (1) "
                               f"and CUDA (2) arrays)")
        with backend.device_context(dev):
            array = backend.xp_for(dev).from_dlpack(ext_tensor)
        result = Tensor._make(array)
    target = backend.factory_device(device) if device is not None else result.device
    if copy is False and target != result.device:
        raise ValueError(f"from_dlpack(): copy=False, but the array is on {result.device} and {target} was asked for")
    if target != result.device:
        return result.to(target)
    return result.clone().detach() if copy else result


def to_dlpack(tensor: Tensor) -> Any:
    """A DLPack capsule viewing ``tensor``'s memory (consumable once, by any DLPack importer).
    The legacy function: unlike ``__dlpack__`` it also exports a tensor that requires grad (its
    values, as PyTorch's ``to_dlpack`` does)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"to_dlpack(): argument 'tensor' (position 1) must be Tensor, not {type(tensor).__name__}")
    if tensor.is_sparse:
        raise RuntimeError("Cannot access data pointer of Tensor that doesn't have storage")
    return tensor._data.__dlpack__()


def dlpack_export(tensor: Tensor, stream: Any = -1, max_version: Any = None, dl_device: Any = None,
                  copy: Any = None) -> Any:
    """``tensor.__dlpack__(...)``: a DLPack capsule of the tensor's memory.

    As PyTorch: a tensor that requires grad is refused (the consumer would bypass autograd;
    ``detach()`` first), and so is any layout but strided.  ``stream`` is the consumer's CUDA
    stream (PyTorch's default -1: no synchronization); on the CPU it must be None or -1.
    ``max_version`` (the newest DLPack version the consumer reads: from (1, 0) on, a versioned
    capsule), ``dl_device`` (where the consumer wants the data) and ``copy`` (True: always copy,
    False: never) go to the array's own ``__dlpack__``, which refuses what it cannot do."""
    from ..sparse import strided
    if tensor.requires_grad:
        raise BufferError("Can't export tensors that require gradient, use tensor.detach()")
    if tensor.is_sparse or tensor.layout is not strided:
        raise BufferError(f"Can't export tensors with layout other than {strided}")
    data = tensor._data
    if data.dtype == backend.bfloat16.np:  # a deliberate difference: PyTorch exports bfloat16
        raise BufferError("edunn cannot export bfloat16 tensors through DLPack: its bfloat16 is "
                          "ml_dtypes', which NumPy's DLPack does not know; convert it (.float()) first")
    if not backend.is_cupy_array(data):
        if stream is not None and stream != -1:
            raise AssertionError("stream should be None on cpu.")
        stream = None   # NumPy takes only None
    # only what was given: an older array library may not know the newer keywords
    extra = {k: v for k, v in (("max_version", max_version), ("dl_device", dl_device), ("copy", copy))
             if v is not None}
    return data.__dlpack__(stream=stream, **extra)


def dlpack_device(tensor: Tensor) -> tuple:
    """``tensor.__dlpack_device__()``: ``(DLDeviceType.kDLCPU, 0)`` or ``(DLDeviceType.kDLCUDA, i)``,
    the array's own answer with PyTorch's enum for the device type."""
    from ..utils.dlpack import DLDeviceType
    kind, index = tensor._data.__dlpack_device__()
    return DLDeviceType(int(kind)), int(index)


def range(start: Any = 0, end: Any = None, step: Any = 1, *, out: Any = None, dtype: Any = None,
          layout: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Deprecated: ``start, start + step, ...`` up to and *including* ``end`` (``arange`` stops
    before it), in the default float dtype unless ``dtype`` is given."""
    warnings.warn("torch.range is deprecated and will be removed in a future release because its behavior is "
                  "inconsistent with Python's range builtin. Instead, use torch.arange, which produces values "
                  "in [start, end).", UserWarning, stacklevel=2)
    _check_layout(layout)
    if end is None:  # PyTorch's schema has no one-argument form
        raise TypeError('range() missing 1 required positional arguments: "end"')
    if step == 0:
        raise RuntimeError("step must be nonzero")
    if (end - start) * step < 0:
        raise RuntimeError("upper bound and lower bound inconsistent with step sign")
    n = builtins.int(math.floor((end - start) / step)) + 1
    d = backend.get_default_dtype() if dtype is None else backend.as_dtype(dtype)
    values = arange(n, dtype=backend.float64, device=device) * step + start
    result = values.to(d)
    return write_out(result.requires_grad_() if requires_grad else result, out)
