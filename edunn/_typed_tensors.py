"""The legacy typed tensor classes (``torch.FloatTensor``, ``torch.cuda.LongTensor`` ...) and
``set_default_tensor_type``.

Before PyTorch had dtypes (0.4), a tensor's element type and device were its *class*:
``torch.FloatTensor(2, 3)`` made a 2x3 float32 CPU tensor and ``torch.cuda.FloatTensor`` its GPU
twin.  Today every tensor is a ``torch.Tensor`` and these names survive for old code: calling one
is a constructor fixed to its dtype and device, and ``isinstance(t, torch.FloatTensor)`` asks
"is ``t`` a float32 CPU tensor?" -- answered by the metaclass's ``__instancecheck__`` below, since
no tensor is really an instance of these classes.  ``t.type()`` names the class
(``'edunn.FloatTensor'``; PyTorch says ``'torch.FloatTensor'``) and ``t.type(edunn.DoubleTensor)``
(or the name, with either prefix) casts to it.

Constructors, as PyTorch's legacy ones:

* ``FloatTensor(2, 3)``, ``FloatTensor(size=(2, 3))`` or ``FloatTensor(edunn.Size([2, 3]))`` --
  uninitialised memory in PyTorch; edunn fills it with zeros (reading it is a bug either way);
* ``FloatTensor([1, 2])`` or ``FloatTensor((2, 3))`` -- a tensor holding that data (a tuple is data);
* ``FloatTensor(t)`` with ``t`` of the same dtype -- an alias sharing ``t``'s memory;
* ``FloatTensor()`` -- an empty 1-d tensor.
"""
from __future__ import annotations

import warnings
from typing import Any

from . import backend

_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
          "bfloat16": "BFloat16Tensor", "uint8": "ByteTensor", "int8": "CharTensor", "int16": "ShortTensor",
          "int32": "IntTensor", "int64": "LongTensor", "bool": "BoolTensor"}


class _TensorType(type):
    """The metaclass of the typed tensor classes (PyTorch's ``torch.tensortype``)."""

    dtype: backend.dtype
    is_cuda: bool
    is_sparse = False

    def __instancecheck__(cls, instance: Any) -> bool:
        from .tensor import Tensor
        return isinstance(instance, Tensor) and instance.dtype is cls.dtype and instance.is_cuda == cls.is_cuda

    def __call__(cls, *args: Any, device: Any = None, size: Any = None) -> Any:
        return _construct(cls, args, device, size)

    def __repr__(cls) -> str:
        return f"<class '{cls.__module__}.{cls.__name__}'>"


def _construct(cls: _TensorType, args: tuple, device: Any, size: Any) -> Any:
    from .ops.creation import tensor, zeros
    from .tensor import Size, Tensor
    name = f"{cls.__module__}.{cls.__name__}"
    if cls.is_cuda and not backend.cuda_available():
        raise TypeError(f"type {name} not available: no CUDA device (CuPy with an NVIDIA GPU) was found")
    dev = backend.as_device(device) if device is not None else backend.as_device("cuda" if cls.is_cuda else "cpu")
    if (dev.type == "cuda") != cls.is_cuda:
        raise RuntimeError(f"legacy constructor expects device type: {'cuda' if cls.is_cuda else 'cpu'} but "
                           f"device type: {dev.type} was passed")
    if size is not None:
        if args:
            raise TypeError(f"{name}(): pass the sizes either positionally or as size=, not both")
        args = tuple(size)
        if not args:
            return zeros((), dtype=cls.dtype, device=dev)
    if not args:
        return zeros(0, dtype=cls.dtype, device=dev)
    if all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        return zeros(*args, dtype=cls.dtype, device=dev)
    if len(args) > 1:
        raise TypeError(f"new(): expected sizes (ints) or one sequence of data, got "
                        f"{tuple(type(a).__name__ for a in args)}")
    data = args[0]
    if isinstance(data, Size):
        return zeros(tuple(data), dtype=cls.dtype, device=dev)
    if isinstance(data, Tensor):
        if data.dtype is not cls.dtype or data.device != dev:
            raise TypeError(f"expected {name} (got {data.type()})")
        return data.detach()
    if isinstance(data, str) or isinstance(data, (int, float, bool)):
        raise TypeError(f"new(): data must be a sequence (got {type(data).__name__})"
                        if not isinstance(data, str) else "new(): invalid data type 'str'")
    return tensor(data, dtype=cls.dtype, device=dev)


def _make_classes(module: str, is_cuda: bool) -> dict:
    out = {}
    for dname, cname in _NAMES.items():
        d = backend.as_dtype(dname)
        doc = (f"``{module}.{cname}``: the legacy constructor of {d} tensors on the "
               f"{'GPU' if is_cuda else 'CPU'}; ``isinstance(t, {cname})`` tests for them.")
        out[cname] = _TensorType(cname, (), {"dtype": d, "is_cuda": is_cuda, "__module__": module, "__doc__": doc})
    return out


_CPU_CLASSES = _make_classes("edunn", False)
_CUDA_CLASSES = _make_classes("edunn.cuda", True)

FloatTensor = _CPU_CLASSES["FloatTensor"]
DoubleTensor = _CPU_CLASSES["DoubleTensor"]
HalfTensor = _CPU_CLASSES["HalfTensor"]
BFloat16Tensor = _CPU_CLASSES["BFloat16Tensor"]
ByteTensor = _CPU_CLASSES["ByteTensor"]
CharTensor = _CPU_CLASSES["CharTensor"]
ShortTensor = _CPU_CLASSES["ShortTensor"]
IntTensor = _CPU_CLASSES["IntTensor"]
LongTensor = _CPU_CLASSES["LongTensor"]
BoolTensor = _CPU_CLASSES["BoolTensor"]


# edunn.cuda's classes: ``from .._typed_tensors import CudaFloatTensor as FloatTensor, ...`` there
CudaFloatTensor = _CUDA_CLASSES["FloatTensor"]
CudaDoubleTensor = _CUDA_CLASSES["DoubleTensor"]
CudaHalfTensor = _CUDA_CLASSES["HalfTensor"]
CudaBFloat16Tensor = _CUDA_CLASSES["BFloat16Tensor"]
CudaByteTensor = _CUDA_CLASSES["ByteTensor"]
CudaCharTensor = _CUDA_CLASSES["CharTensor"]
CudaShortTensor = _CUDA_CLASSES["ShortTensor"]
CudaIntTensor = _CUDA_CLASSES["IntTensor"]
CudaLongTensor = _CUDA_CLASSES["LongTensor"]
CudaBoolTensor = _CUDA_CLASSES["BoolTensor"]

__all__ = list(_CPU_CLASSES) + ["set_default_tensor_type"]

_set_device_by_type = [False]  # did set_default_tensor_type put the default device on CUDA?


def set_default_tensor_type(t: Any, /) -> None:
    """Deprecated in PyTorch 2.1 (warns): set the default floating-point dtype -- and, for a
    ``edunn.cuda.*Tensor`` type, the default device -- from a legacy type or its name."""
    warnings.warn(
        "torch.set_default_tensor_type() is deprecated as of PyTorch 2.1, please use "
        "torch.set_default_dtype() and torch.set_default_device() as alternatives.", UserWarning, stacklevel=2)
    if isinstance(t, str):
        cname = t.rsplit(".", 1)[-1]
        classes = _CUDA_CLASSES if ".cuda." in t else _CPU_CLASSES
        if cname not in classes or not (t.startswith("torch.") or t.startswith("edunn.")):
            raise TypeError(f"invalid type: '{t}'")
        t = classes[cname]
    if not isinstance(t, _TensorType):
        raise TypeError(f"invalid type object: only floating-point types are supported as the default "
                        f"type, got {t!r}")
    if not t.dtype.is_floating_point:
        raise TypeError("only floating-point types are supported as the default type")
    if t.is_cuda and not backend.cuda_available():
        raise TypeError(f"type edunn.cuda.{t.__name__} not available: no CUDA device was found")
    backend.set_default_dtype(t.dtype)
    if t.is_cuda:
        backend.set_default_device("cuda")
        _set_device_by_type[0] = True
    elif _set_device_by_type[0]:
        backend.set_default_device(None)
        _set_device_by_type[0] = False
