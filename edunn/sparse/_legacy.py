"""The legacy sparse typed tensor classes ``torch.sparse.FloatTensor``, ``DoubleTensor`` ...

As the dense ones in ``edunn/_typed_tensors.py`` (whose metaclass this reuses), they date from
before dtypes: a constructor fixed to a dtype, and ``isinstance(t, edunn.sparse.FloatTensor)``
asks "is ``t`` a float32 sparse CPU tensor?".  The constructors, as PyTorch's:

* ``FloatTensor(indices, values[, size])`` -- ``sparse_coo_tensor(indices, values, size)``
  (PyTorch keeps the values' own dtype here, so edunn does too);
* ``FloatTensor(*sizes)`` or ``FloatTensor(size=...)`` -- an empty (nnz 0) sparse tensor of that
  size and dtype, with every dimension sparse;
* ``FloatTensor()`` -- an empty sparse tensor of size ``(0,)``.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from .._typed_tensors import _TensorType

__all__ = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor",
           "CharTensor", "ShortTensor", "IntTensor", "LongTensor"]


class _SparseTensorType(_TensorType):
    """The metaclass of the legacy sparse classes."""

    is_sparse = True

    def __instancecheck__(cls, instance: Any) -> bool:
        return (getattr(instance, "is_sparse", False) and instance.dtype is cls.dtype
                and instance.is_cuda == cls.is_cuda)

    def __call__(cls, *args: Any, device: Any = None, size: Any = None) -> Any:
        from ._creation import sparse_coo_tensor
        from ._coo import _INT64, _new_sparse
        dev = backend.as_device(device) if device is not None else backend.as_device("cpu")
        if size is not None and not args:
            args = tuple(size)
        if all(isinstance(a, int) and not isinstance(a, bool) for a in args):  # sizes (or none)
            sizes = tuple(args) if args else (0,)
            xp = backend.xp_for(dev)
            return _new_sparse(xp.zeros((len(sizes), 0), _INT64), xp.zeros((0,), cls.dtype.np),
                               sizes, True)
        if len(args) not in (2, 3):
            raise TypeError(f"{cls.__name__}(): expected (indices, values[, size]) or sizes, got "
                            f"{len(args)} arguments")
        return sparse_coo_tensor(*args, device=device)


def _make(name: str, dtype_name: str) -> type:
    cls = _SparseTensorType(name, (), {"__doc__": f"Legacy sparse {dtype_name} tensor class "
                                                  f"(``torch.sparse.{name}``)."})
    cls.dtype = getattr(backend, dtype_name)
    cls.is_cuda = False
    cls.__module__ = "edunn.sparse"
    return cls


FloatTensor = _make("FloatTensor", "float32")
DoubleTensor = _make("DoubleTensor", "float64")
HalfTensor = _make("HalfTensor", "float16")
BFloat16Tensor = _make("BFloat16Tensor", "bfloat16")
ByteTensor = _make("ByteTensor", "uint8")
CharTensor = _make("CharTensor", "int8")
ShortTensor = _make("ShortTensor", "int16")
IntTensor = _make("IntTensor", "int32")
LongTensor = _make("LongTensor", "int64")
