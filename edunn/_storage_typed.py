"""``TypedStorage`` and the legacy ``FloatStorage`` ... classes, and the tensor side of storages
(``Tensor.untyped_storage``, ``storage``, ``set_``, ``storage_type``), for ``edunn/storage.py``.

A ``TypedStorage`` is an :class:`~edunn.storage.UntypedStorage` read as elements of one dtype:
``storage[i]`` is element ``i`` of the bytes viewed as that dtype (NumPy's ``view``, no copy).
PyTorch deprecates it (tensors' storages are untyped since 2.0) and warns the first time one is
made by the user; edunn keeps the same warning.  ``FloatStorage(3)`` is ``TypedStorage(3,
dtype=float32)``, and ``isinstance(s, FloatStorage)`` asks whether ``s`` holds float32 elements.
"""
from __future__ import annotations

import warnings
from typing import Any

from . import backend
from .storage import UntypedStorage, _bytes_of

_TYPED_WARNED = [False]


def _warn_typed_storage_removal(stacklevel: int = 2) -> None:
    """PyTorch's deprecation warning, given once per process."""
    if not _TYPED_WARNED[0]:
        warnings.warn(
            "TypedStorage is deprecated. It will be removed in the future and UntypedStorage will be "
            "the only storage class. This should only matter to you if you are using storages "
            "directly.  To access UntypedStorage directly, use tensor.untyped_storage() instead of "
            "tensor.storage()", UserWarning, stacklevel=stacklevel + 1)
        _TYPED_WARNED[0] = True


class TypedStorage:
    """A storage read as elements of ``dtype`` (``torch.TypedStorage``, deprecated there)."""

    is_sparse = False

    def __new__(cls, *args: Any, **kwargs: Any) -> "TypedStorage":
        if cls is not TypedStorage:  # FloatStorage(...) and friends make a TypedStorage of their dtype
            if kwargs.get("dtype") is not None:
                raise RuntimeError(f"{cls.__name__}.__new__ received keyword argument 'dtype', but it is "
                                   f"implied by the class")
            kwargs["dtype"] = cls.dtype
            return TypedStorage(*args, **kwargs)
        return object.__new__(cls)

    def __init__(self, *args: Any, device: Any = None, dtype: Any = None, wrap_storage: Any = None,
                 _internal: bool = False) -> None:
        if not _internal:
            _warn_typed_storage_removal()
        if wrap_storage is not None:
            if args or device is not None:
                raise RuntimeError("TypedStorage.__init__ received keyword argument 'wrap_storage', so "
                                   "no positional argument or 'device' may be given")
            if dtype is None:
                raise RuntimeError("TypedStorage.__init__ received keyword argument 'wrap_storage', so "
                                   "'dtype' must be specified")
            if not isinstance(wrap_storage, UntypedStorage):
                raise TypeError(f"TypedStorage.__init__: argument 'wrap_storage' must be UntypedStorage, "
                                f"but got {type(wrap_storage).__name__}")
            self.dtype = backend.as_dtype(dtype)
            self._untyped_storage = wrap_storage
            return
        self.dtype = backend.as_dtype(dtype) if dtype is not None else backend.get_default_dtype()
        dev = backend.as_device(device) if device is not None else backend.as_device("cpu")
        xp = backend.xp_for(dev)
        if not args:
            data = xp.empty(0, self.dtype.np)
        elif len(args) == 1 and isinstance(args[0], int) and not isinstance(args[0], bool):
            data = xp.zeros(args[0], self.dtype.np)
        elif len(args) == 1 and isinstance(args[0], (list, tuple)):
            data = xp.asarray(args[0], dtype=self.dtype.np).reshape(-1)
        else:
            raise TypeError(f"TypedStorage() expects no argument, a size (int) or a sequence, got "
                            f"{tuple(type(a).__name__ for a in args)}")
        self._untyped_storage = UntypedStorage._wrap(_bytes_of(data) if data.size else
                                                     xp.empty(0, xp.uint8), resizable=True)

    # ---------------------------------------------------------------- what it is
    def _elements(self) -> Any:
        """The bytes viewed as ``dtype`` (trailing bytes that make no whole element are left out)."""
        raw = self._untyped_storage._bytes
        n = raw.size // self.dtype.itemsize
        return raw[:n * self.dtype.itemsize].view(self.dtype.np)

    @property
    def device(self) -> backend.device:
        return self._untyped_storage.device

    @property
    def is_cuda(self) -> bool:
        return self._untyped_storage.is_cuda

    @property
    def filename(self) -> str | None:
        return self._untyped_storage.filename

    def get_device(self) -> int:
        return self._untyped_storage.get_device()

    def untyped(self) -> UntypedStorage:
        return self._untyped_storage

    def size(self) -> int:
        return self._untyped_storage.nbytes() // self.dtype.itemsize

    def __len__(self) -> int:
        return self.size()

    def nbytes(self) -> int:
        return self._untyped_storage.nbytes()

    def element_size(self) -> int:
        return self.dtype.itemsize

    def data_ptr(self) -> int:
        return self._untyped_storage.data_ptr()

    def is_shared(self) -> bool:
        return self._untyped_storage.is_shared()

    def is_pinned(self, device: Any = None) -> bool:
        return False

    def resizable(self) -> bool:
        return self._untyped_storage.resizable()

    def pickle_storage_type(self) -> str:
        return _LEGACY_CLASSES[self.dtype.name].__name__

    def _new_wrapped_storage(self, untyped_storage: UntypedStorage) -> "TypedStorage":
        return TypedStorage(wrap_storage=untyped_storage, dtype=self.dtype, _internal=True)

    # ---------------------------------------------------------------- elements
    def __getitem__(self, idx: Any) -> Any:
        if isinstance(idx, slice):
            raise RuntimeError("slices are only supported in UntypedStorage.__getitem__")
        n = self.size()
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise TypeError(f"can't index a {self.pickle_storage_type()} with {type(idx).__name__}")
        if not -n <= idx < n:
            raise IndexError(f"index {idx} out of range for storage of size {n}")
        return self._elements()[idx % n].item()

    def __setitem__(self, idx: Any, value: Any) -> None:
        from .tensor import Tensor
        if isinstance(value, Tensor):
            value = value._data
        self._elements()[idx] = value

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self) -> list:
        return backend.to_numpy(self._elements()).tolist()

    def copy_(self, source: Any, non_blocking: Any = None) -> "TypedStorage":
        self._untyped_storage.copy_(source.untyped() if isinstance(source, TypedStorage) else source)
        return self

    def fill_(self, value: Any) -> "TypedStorage":
        self._elements()[...] = value
        return self

    def clone(self) -> "TypedStorage":
        return self._new_wrapped_storage(self._untyped_storage.clone())

    def cpu(self) -> "TypedStorage":
        return self._new_wrapped_storage(self._untyped_storage.cpu())

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "TypedStorage":
        return self._new_wrapped_storage(self._untyped_storage.cuda(device, non_blocking))

    def to(self, *, device: Any, non_blocking: bool = False) -> "TypedStorage":
        return self._new_wrapped_storage(self._untyped_storage.to(device=device))

    def pin_memory(self, device: Any = None) -> "TypedStorage":
        return self.clone()

    def share_memory_(self) -> "TypedStorage":
        self._untyped_storage.share_memory_()
        return self

    def resize_(self, size: int) -> None:
        self._untyped_storage.resize_(int(size) * self.dtype.itemsize)

    def type(self, dtype: str | None = None, non_blocking: bool = False) -> Any:
        """Without ``dtype``: the legacy class name, ``'edunn.FloatStorage'``; with one: this
        storage's values converted to that legacy storage type."""
        if dtype is None:
            return "edunn." + self.pickle_storage_type()
        name = dtype.__name__ if isinstance(dtype, type) else str(dtype).rsplit(".", 1)[-1]
        if name not in _LEGACY_BY_NAME:
            raise ValueError(f"invalid storage type: '{dtype}'")
        return self._to(_LEGACY_BY_NAME[name].dtype)

    def _to(self, dtype: Any) -> "TypedStorage":
        d = backend.as_dtype(dtype)
        if d is self.dtype:
            return self
        data = self._elements().astype(d.np)
        return TypedStorage(wrap_storage=UntypedStorage._wrap(_bytes_of(data), resizable=True), dtype=d,
                            _internal=True)

    def bool(self): return self._to(backend.bool_)
    def byte(self): return self._to(backend.uint8)
    def char(self): return self._to(backend.int8)
    def short(self): return self._to(backend.int16)
    def int(self): return self._to(backend.int32)
    def long(self): return self._to(backend.int64)
    def half(self): return self._to(backend.float16)
    def bfloat16(self): return self._to(backend.bfloat16)
    def float(self): return self._to(backend.float32)
    def double(self): return self._to(backend.float64)
    def complex_float(self): return self._to(backend.complex64)
    def complex_double(self): return self._to(backend.complex128)

    @classmethod
    def from_buffer(cls, *args: Any, **kwargs: Any) -> "TypedStorage":
        dtype = kwargs.pop("dtype", None) if cls is TypedStorage else cls.dtype
        if dtype is None:
            raise RuntimeError("from_buffer: must specify a 'dtype' when called on TypedStorage")
        untyped = UntypedStorage.from_buffer(*args, dtype=dtype, **kwargs)
        return TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)

    @classmethod
    def from_file(cls, filename: str, shared: bool, size: int) -> "TypedStorage":
        """``size`` elements (not bytes, unlike ``UntypedStorage.from_file``) of a mapped file."""
        dtype = backend.get_default_dtype() if cls is TypedStorage else cls.dtype
        untyped = UntypedStorage.from_file(filename, shared, int(size) * dtype.itemsize)
        return TypedStorage(wrap_storage=untyped, dtype=dtype, _internal=True)

    # ---------------------------------------------------------------- Python protocols
    def __reduce__(self):
        return (_rebuild_typed, (self._untyped_storage, self.dtype.name))

    def __copy__(self) -> "TypedStorage":
        return self._new_wrapped_storage(self._untyped_storage)

    def __deepcopy__(self, memo: dict) -> "TypedStorage":
        if id(self) not in memo:
            memo[id(self)] = self.clone()
        return memo[id(self)]

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + self.nbytes()

    def __repr__(self) -> str:
        body = "\n".join(f" {v}" for v in self.tolist())
        head = f"[edunn.storage.TypedStorage(dtype=edunn.{self.dtype.name}, device={self.device}) of size {self.size()}]"
        return f"{body}\n{head}" if body else head

    __str__ = __repr__


def _rebuild_typed(untyped: UntypedStorage, dtype_name: str) -> TypedStorage:
    return TypedStorage(wrap_storage=untyped, dtype=dtype_name, _internal=True)


class _LegacyStorageMeta(type):
    """``isinstance(s, FloatStorage)``: ``s`` is a TypedStorage of float32 elements."""

    def __instancecheck__(cls, instance: Any) -> bool:
        if type(instance) is TypedStorage:
            return instance.dtype is cls.dtype
        return type.__instancecheck__(cls, instance)


class _LegacyStorage(TypedStorage, metaclass=_LegacyStorageMeta):
    dtype: Any = None


def _legacy(name: str, dtype: Any) -> type:
    return _LegacyStorageMeta(name, (_LegacyStorage,), {"dtype": dtype, "__module__": "edunn",
                                                         "__doc__": f"Legacy storage of {dtype} elements."})


_LEGACY_CLASSES = {d.name: _legacy(n, d) for d, n in (
    (backend.float32, "FloatStorage"), (backend.float64, "DoubleStorage"), (backend.float16, "HalfStorage"),
    (backend.bfloat16, "BFloat16Storage"), (backend.uint8, "ByteStorage"), (backend.int8, "CharStorage"),
    (backend.int16, "ShortStorage"), (backend.int32, "IntStorage"), (backend.int64, "LongStorage"),
    (backend.bool_, "BoolStorage"), (backend.complex64, "ComplexFloatStorage"),
    (backend.complex128, "ComplexDoubleStorage"))}
_LEGACY_BY_NAME = {c.__name__: c for c in _LEGACY_CLASSES.values()}
FloatStorage = _LEGACY_CLASSES["float32"]
DoubleStorage = _LEGACY_CLASSES["float64"]
HalfStorage = _LEGACY_CLASSES["float16"]
BFloat16Storage = _LEGACY_CLASSES["bfloat16"]
ByteStorage = _LEGACY_CLASSES["uint8"]
CharStorage = _LEGACY_CLASSES["int8"]
ShortStorage = _LEGACY_CLASSES["int16"]
IntStorage = _LEGACY_CLASSES["int32"]
LongStorage = _LEGACY_CLASSES["int64"]
BoolStorage = _LEGACY_CLASSES["bool"]
ComplexFloatStorage = _LEGACY_CLASSES["complex64"]
ComplexDoubleStorage = _LEGACY_CLASSES["complex128"]
Storage = FloatStorage  # ``torch.Storage``: the legacy storage of the (original) default type


# ----------------------------------------------------------------------------------------------
# the tensor side
# ----------------------------------------------------------------------------------------------
def tensor_untyped_storage(t: Any) -> UntypedStorage:
    """``Tensor.untyped_storage()``: the bytes of the tensor's base (itself, or the tensor it is
    a view of), shared with it."""
    base = t._base if t._base is not None else t
    own = base.__dict__.get("_storage")
    if own is not None:  # a tensor made by set_ on a storage: that very storage
        return own
    storage = UntypedStorage._wrap(_bytes_of(base._data))
    storage._owner = base  # so that share_memory_() can move the tensor along
    return storage


def tensor_storage(t: Any) -> TypedStorage:
    """``Tensor.storage()``: the untyped storage read as the tensor's dtype (deprecated)."""
    _warn_typed_storage_removal(stacklevel=3)
    return TypedStorage(wrap_storage=tensor_untyped_storage(t), dtype=t.dtype, _internal=True)


def tensor_storage_type(t: Any) -> type:
    """``Tensor.storage_type()``: the legacy storage class of the tensor's dtype."""
    return _LEGACY_CLASSES[t.dtype.name]


def tensor_set_(t: Any, source: Any = None, storage_offset: int = 0, size: Any = None, stride: Any = None) -> Any:
    """``Tensor.set_``: make ``t`` a view of ``source``'s memory.

    * no source: an empty 1-d tensor with a storage of its own;
    * a tensor: the same storage, offset, size and strides as it (or, given ``size``, the view
      ``(storage_offset, size, stride)`` of its storage);
    * a storage: the view ``(storage_offset, size, stride)`` of it (default: all of it, 1-d).
    """
    from .storage import UntypedStorage as _U
    from .tensor import Tensor
    t._check_inplace()
    if source is None:
        t._data = backend.array_module(t._data).empty(0, t._data.dtype)
        t._base, t._view_chain = None, ()
    elif isinstance(source, Tensor) and size is None:
        if source.dtype != t.dtype:
            raise RuntimeError(f"Could not set tensor of type {t.dtype.scalar_name} to a tensor of type "
                               f"{source.dtype.scalar_name}")
        t._data = source._data  # one more alias of source's region: the same base and view chain
        t._base, t._view_chain = (source._base if source._base is not None else source), source._view_chain
    elif isinstance(source, (Tensor, _U, TypedStorage)):
        if isinstance(source, TypedStorage) and source.dtype is not t.dtype:
            raise RuntimeError(f"Expected a Storage of type {t.dtype.name} but got type {source.dtype.name} "
                               f"for argument #1 'source'")
        storage = source.untyped_storage() if isinstance(source, Tensor) else source.untyped()
        if size is None:
            if storage_offset:
                raise TypeError("set_(): a storage_offset needs a size (set_(source, storage_offset, size, stride))")
            size = (storage.nbytes() // t.element_size(),)
        _set_on_storage(t, storage, int(storage_offset), tuple(size), stride)
    else:
        raise TypeError(f"set_(): argument 'source' must be Tensor or Storage, not {type(source).__name__}")
    t._version_counter[0] += 1
    t._view_version = t._version_counter[0]
    return t


def _set_on_storage(t: Any, storage: UntypedStorage, offset: int, size: tuple, stride: Any) -> Any:
    """``t`` becomes the strided view ``(offset, size, stride)`` (in elements) of ``storage``:
    ``as_strided`` of a 1-d tensor of ``t``'s dtype over all of it, so an in-place op on ``t``
    keeps its autograd graph (the view machinery of ``ops/copy_slices.py`` replays it)."""
    from .autograd.grad_mode import no_grad
    from .ops.strided import AsStrided, check_geometry
    from .tensor import Tensor
    size = tuple(int(s) for s in size)
    if stride is None or len(stride) == 0:
        stride, step = [], 1
        for n in reversed(size):
            stride.append(step)
            step *= max(n, 1)
        stride = tuple(reversed(stride))
    raw, item, dt = storage._bytes, t._data.dtype.itemsize, t._data.dtype
    size, stride = check_geometry(size, stride, offset, item, raw.size, op="set_")
    base = Tensor._make(raw[:raw.size // item * item].view(dt))
    base._storage = storage
    with no_grad():
        view = AsStrided.apply(base, size, stride, offset)
    t._data, t._base, t._view_chain = view._data, base, view._view_chain
    return t


def tensor_share_memory_(t: Any) -> Any:
    """``Tensor.share_memory_()``: move the tensor's storage into POSIX shared memory, so that
    processes it is sent to (``edunn.multiprocessing``) or forked into see the same numbers.
    The tensor (and its base, if it is a view) are re-pointed at the shared copy; other views
    made before the call keep the old memory (NumPy cannot re-point them)."""
    from .storage import _address, _new_shared_bytes
    if t.is_cuda or tensor_untyped_storage(t).is_shared():
        return t
    base = t._base if t._base is not None else t
    raw = _bytes_of(base._data)
    new = _new_shared_bytes(raw.size)
    new[...] = raw
    start = _address(raw) if raw.size else 0
    for holder in {id(base): base, id(t): t}.values():
        a = holder._data
        if a.size == 0:
            continue
        off = _address(a) - start
        span = raw.size - off
        elements = new[off:off + span - span % a.dtype.itemsize].view(a.dtype)
        holder._data = backend.array_module(new).lib.stride_tricks.as_strided(elements, a.shape, a.strides)
    return t


def tensor_is_shared(t: Any) -> bool:
    """Whether the tensor's own elements live in shared memory (CUDA tensors count, as in PyTorch)."""
    from .storage import _shared_block_of
    return t.is_cuda or _shared_block_of(t._data) is not None
