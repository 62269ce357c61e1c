"""Storages: the flat memory under tensors (``torch.UntypedStorage``, ``torch.TypedStorage`` and
the legacy ``torch.FloatStorage`` ...; lesson 01).

A tensor is a *view*: a dtype, a shape, strides and an offset that say how to read numbers out
of a flat block of bytes, its **storage**.  ``x[1]``, ``x.t()``, ``x.view(...)`` make new tensors
over the same storage, which is why writing through one changes the others.  In edunn a tensor's
``_data`` is a NumPy/CuPy array and a view's ``_base`` is the tensor it was cut from, so the
storage of ``x`` is the bytes of ``(x._base or x)._data``: :class:`UntypedStorage` holds them as a
one-dimensional ``uint8`` array that *shares* that memory (no copy), so

* ``x.untyped_storage().data_ptr()`` is the base tensor's ``data_ptr()``, and a view's
  ``data_ptr()`` is that plus ``storage_offset() * element_size()``, as in PyTorch;
* ``storage[i] = 7`` writes a byte of every tensor over it, and ``t.set_(storage, offset, size,
  stride)`` makes ``t`` one more view of it (NumPy's ``as_strided`` over the bytes).

Memory that other processes can see -- what ``share_memory_()`` and ``from_file(shared=True)``
give -- comes from :mod:`multiprocessing.shared_memory` blocks or memory-mapped files; the blocks
are remembered here, so ``is_shared()`` can answer and ``edunn.multiprocessing`` can send a tensor
that lives in one by name instead of by value.

Differences from PyTorch, all because a NumPy array cannot be re-pointed at new memory:
``resize_`` works on storages that own their bytes (made by ``UntypedStorage(n)``, ``clone`` ...)
but not on the storage of an existing tensor (nor does ``set_`` grow a storage too small for the
view asked for: it raises); and ``share_memory_()`` moves the bytes into shared
memory for the storage (or tensor) it is called on -- other tensors already viewing the old bytes
keep them.  ``TypedStorage`` is deprecated in PyTorch and warns once, as there.
"""
from __future__ import annotations

import atexit
import mmap
import os
import weakref
from typing import Any

from . import backend

__all__ = ["UntypedStorage", "TypedStorage", "is_storage", "from_file"]

_CPU = backend.as_device("cpu")


# ----------------------------------------------------------------------------------------------
# bytes: flat uint8 views of arrays, and the shared-memory blocks they may live in
# ----------------------------------------------------------------------------------------------
def _address(a: Any) -> int:
    return int(a.data.ptr) if backend.is_cupy_array(a) else int(a.__array_interface__["data"][0])


def _bytes_of(a: Any) -> Any:
    """A flat ``uint8`` array over the memory that array ``a`` spans (no copy)."""
    xp = backend.array_module(a)
    if a.size == 0:
        return xp.empty(0, xp.uint8)
    if a.flags.c_contiguous:
        return a.reshape(-1).view(xp.uint8)
    item = a.dtype.itemsize
    span = 1 + sum((n - 1) * s for n, s in zip(a.shape, a.strides) if s > 0) // item
    return xp.lib.stride_tricks.as_strided(a, (span,), (item,)).view(xp.uint8)


# start address -> (end address, kind, name, keep-alive); kind is "shm" (a POSIX shared-memory
# block, kept alive here), "file" (a shared file mapping) or "private" (a copy-on-write one) --
# file mappings are held weakly, so they are unmapped once no array uses them.
_shared_blocks: dict[int, tuple] = {}


def _live(entry: tuple) -> Any:
    keep = entry[3]
    return keep() if isinstance(keep, weakref.ref) else keep


def _shared_block_of(a: Any) -> tuple | None:
    """``(start, end, kind, name)`` of the shared block holding CPU array ``a``, or None."""
    if backend.is_cupy_array(a) or a.size == 0:
        return None
    address = _address(a)
    for start, entry in list(_shared_blocks.items()):
        if _live(entry) is None:  # unmapped: its addresses may be reused
            del _shared_blocks[start]
        elif start <= address < entry[0]:
            return start, entry[0], entry[1], entry[2]
    return None


def _new_shared_bytes(nbytes: int) -> Any:
    """``nbytes`` zeroed bytes in a new POSIX shared-memory block (``/dev/shm``), registered."""
    from multiprocessing import shared_memory
    xp = backend.xp_for(_CPU)
    shm = shared_memory.SharedMemory(create=True, size=max(nbytes, 1))
    arr = xp.frombuffer(shm.buf, xp.uint8, nbytes) if nbytes else xp.empty(0, xp.uint8)
    if nbytes:
        _shared_blocks[_address(arr)] = (_address(arr) + nbytes, "shm", shm.name, shm)
        _created_here.append(shm)
    return arr


_created_here: list = []


@atexit.register
def _unlink_created_blocks() -> None:
    """Remove the names of the blocks this process made: the memory itself goes when the last
    process that maps it exits (POSIX shared-memory semantics)."""
    for shm in _created_here:
        try:
            shm.unlink()
        except Exception:
            pass


def _attach_shared(kind: str, name: str, nbytes: int) -> Any:
    """The bytes of a block another process made (by its shared-memory name or file name)."""
    xp = backend.xp_for(_CPU)
    for start, entry in list(_shared_blocks.items()):
        keep = _live(entry)
        if entry[1] == kind and entry[2] == name and keep is not None:
            return xp.frombuffer(keep.buf if kind == "shm" else keep, xp.uint8, nbytes)
    if kind == "shm":
        from multiprocessing import resource_tracker, shared_memory
        shm = shared_memory.SharedMemory(name=name)
        try:  # the creating process owns (and unlinks) it; Python < 3.13 would track it here too
            resource_tracker.unregister(shm._name, "shared_memory")
        except Exception:
            pass
        arr = xp.frombuffer(shm.buf, xp.uint8, nbytes)
        _shared_blocks[_address(arr)] = (_address(arr) + nbytes, kind, name, shm)
        return arr
    return _map_file(name, True, nbytes)


def _map_file(filename: str, shared: bool, nbytes: int) -> Any:
    """``nbytes`` of ``filename`` mapped into memory: written through to the file when
    ``shared`` (the file is created or grown as needed), copy-on-write otherwise."""
    xp = backend.xp_for(_CPU)
    if nbytes == 0:
        return xp.empty(0, xp.uint8)
    if shared:
        with open(filename, "ab"):
            pass
        if os.path.getsize(filename) < nbytes:
            os.truncate(filename, nbytes)
    size = os.path.getsize(filename) if os.path.exists(filename) else 0
    if size < nbytes:
        raise RuntimeError(f"file <{filename}> size <{size}> is smaller than the required mapping size <{nbytes}>")
    with open(filename, "r+b" if shared else "rb") as f:
        m = mmap.mmap(f.fileno(), nbytes, access=mmap.ACCESS_WRITE if shared else mmap.ACCESS_COPY)
    arr = xp.frombuffer(m, xp.uint8, nbytes)
    _shared_blocks[_address(arr)] = (_address(arr) + nbytes, "file" if shared else "private",
                                     os.path.abspath(filename), weakref.ref(m))
    return arr


# ----------------------------------------------------------------------------------------------
# UntypedStorage
# ----------------------------------------------------------------------------------------------
class UntypedStorage:
    """A flat block of bytes on one device (``torch.UntypedStorage``).

    ``UntypedStorage(n)`` is ``n`` new bytes (PyTorch leaves them uninitialised; edunn zeroes
    them), ``UntypedStorage([1, 2, 3])`` holds those bytes, ``tensor.untyped_storage()`` is the
    memory under a tensor, shared with it."""

    is_sparse = False
    is_sparse_csr = False

    def __init__(self, *args: Any, device: Any = None) -> None:
        dev = backend.as_device(device) if device is not None else _CPU
        xp = backend.xp_for(dev)
        if not args:
            data = xp.empty(0, xp.uint8)
        elif len(args) == 1 and isinstance(args[0], int) and not isinstance(args[0], bool):
            if args[0] < 0:
                raise RuntimeError(f"Storage size must be non-negative, got {args[0]}")
            data = xp.zeros(args[0], xp.uint8)
        elif len(args) == 1 and isinstance(args[0], (list, tuple)):
            bad = [v for v in args[0] if not isinstance(v, int) or not 0 <= v <= 255]
            if bad:
                raise TypeError(f"UntypedStorage(): expected a sequence of bytes (ints in [0, 255]), got {bad[0]!r}")
            data = xp.asarray(args[0], dtype=xp.uint8).reshape(-1)
        else:
            raise TypeError(f"UntypedStorage() expects no argument, a size (int) or a sequence of "
                            f"bytes, got {tuple(type(a).__name__ for a in args)}")
        self._init(data, resizable=True)

    def _init(self, data: Any, resizable: bool, filename: str | None = None) -> "UntypedStorage":
        self._bytes = data
        self._resizable = resizable
        self._filename = filename
        return self

    @classmethod
    def _wrap(cls, data: Any, resizable: bool = False, filename: str | None = None) -> "UntypedStorage":
        return object.__new__(cls)._init(data, resizable, filename)

    # ---------------------------------------------------------------- what it is
    @property
    def device(self) -> backend.device:
        return backend.device_of(self._bytes)

    @property
    def is_cuda(self) -> bool:
        return backend.is_cupy_array(self._bytes)

    def get_device(self) -> int:
        return self.device.index if self.is_cuda else -1

    def nbytes(self) -> int:
        return int(self._bytes.size)

    def size(self) -> int:
        return int(self._bytes.size)

    def __len__(self) -> int:
        return int(self._bytes.size)

    def element_size(self) -> int:
        return 1

    def data_ptr(self) -> int:
        """The address of the first byte (0 for an empty storage, as in PyTorch)."""
        return _address(self._bytes) if self._bytes.size else 0

    @property
    def filename(self) -> str | None:
        """The file this storage maps with ``shared=True``, else None."""
        return self._filename

    def resizable(self) -> bool:
        return self._resizable

    def is_shared(self) -> bool:
        """True for CUDA storages and for bytes in shared memory or a memory-mapped file."""
        return self.is_cuda or _shared_block_of(self._bytes) is not None

    def is_pinned(self, device: Any = None) -> bool:
        return False

    def untyped(self) -> "UntypedStorage":
        return self

    # ---------------------------------------------------------------- bytes in and out
    def __getitem__(self, idx: Any) -> Any:
        """A byte as an int; a slice is a storage sharing these bytes."""
        if isinstance(idx, slice):
            if idx.step not in (None, 1):
                raise RuntimeError(f"Trying to slice with a step of {idx.step}, but only a step of 1 is supported")
            return UntypedStorage._wrap(self._bytes[idx])
        return int(self._bytes[self._index(idx)])

    def __setitem__(self, idx: Any, value: Any) -> None:
        if isinstance(value, UntypedStorage):
            value = value._bytes
        elif isinstance(value, int):
            value = value & 0xFF  # as a uint8 store in C: wrap around
        self._bytes[idx if isinstance(idx, slice) else self._index(idx)] = value

    def _index(self, idx: Any) -> int:
        n = self._bytes.size
        if not isinstance(idx, int) or isinstance(idx, bool):
            raise TypeError(f"can't index a UntypedStorage with {type(idx).__name__}")
        if not -n <= idx < n:
            raise IndexError(f"index {idx} out of range for storage of size {n}")
        return idx % n

    def __iter__(self):
        return iter(self.tolist())

    def tolist(self) -> list:
        return backend.to_numpy(self._bytes).tolist()

    def copy_(self, source: "UntypedStorage", non_blocking: Any = None) -> "UntypedStorage":
        """Copy ``source``'s bytes (same size, any device) into this storage."""
        if not isinstance(source, (UntypedStorage, TypedStorage)):
            raise TypeError(f"copy_(): expected a storage, got {type(source).__name__}")
        src = source.untyped()._bytes
        if src.size != self._bytes.size:
            raise RuntimeError(f"size mismatch, {self._bytes.size} vs {src.size}")
        self._bytes[...] = backend.to_device(src, self.device)
        return self

    def fill_(self, value: int) -> "UntypedStorage":
        self._bytes[...] = int(value) & 0xFF
        return self

    def clone(self) -> "UntypedStorage":
        return UntypedStorage._wrap(self._bytes.copy(), resizable=True)

    def _to_device(self, dev: Any) -> "UntypedStorage":
        dev = backend.as_device(dev)
        if dev == self.device:
            return self
        return UntypedStorage._wrap(backend.to_device(self._bytes, dev), resizable=True)

    def cpu(self) -> "UntypedStorage":
        return self._to_device(_CPU)

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "UntypedStorage":
        if device is None:
            device = "cuda"
        elif isinstance(device, int):
            device = f"cuda:{device}"
        return self._to_device(device)

    def to(self, *, device: Any, non_blocking: bool = False) -> "UntypedStorage":
        return self._to_device(device)

    def pin_memory(self, device: Any = None) -> "UntypedStorage":
        """PyTorch copies into page-locked memory for faster transfers; here a plain copy."""
        return self.clone()

    def resize_(self, size: int) -> "UntypedStorage":
        """Grow or shrink to ``size`` bytes, keeping the first ones (new bytes are zero)."""
        if not self._resizable:
            raise RuntimeError(
                "Trying to resize storage that is not resizable (in edunn: the storage of an existing "
                "tensor, a slice, a shared or a file-mapped storage -- NumPy cannot move their memory)")
        xp = backend.array_module(self._bytes)
        new = xp.zeros(int(size), xp.uint8)
        keep = min(int(size), self._bytes.size)
        new[:keep] = self._bytes[:keep]
        self._bytes = new
        return self

    def share_memory_(self, *args: Any, **kwargs: Any) -> "UntypedStorage":
        """Move the bytes into POSIX shared memory, where other processes can map them; a
        no-op for CUDA or already shared storages.  The storage of a tensor moves that tensor
        too (``x.untyped_storage().share_memory_()`` makes ``x.is_shared()`` True)."""
        owner = self.__dict__.get("_owner")
        if owner is not None and not self.is_shared():
            from ._storage_typed import tensor_share_memory_
            tensor_share_memory_(owner)
            self._bytes = _bytes_of(owner._data)
        elif not self.is_shared():
            new = _new_shared_bytes(self._bytes.size)
            new[...] = self._bytes
            self._bytes, self._resizable = new, False
        return self

    def byteswap(self, dtype: Any) -> None:
        """Reverse the byte order of each ``dtype``-sized element, in place."""
        item = backend.as_dtype(dtype).itemsize
        if item > 1:
            v = self._bytes.reshape(-1, item)
            v[...] = v[:, ::-1].copy()

    def new(self) -> "UntypedStorage":
        return UntypedStorage(device=self.device)

    def type(self, dtype: str | None = None, non_blocking: bool = False) -> Any:
        if dtype is None:
            return "edunn.storage.UntypedStorage"
        return _LEGACY_BY_NAME[dtype.rsplit(".", 1)[-1]](wrap_storage=self)

    # TypedStorage views of these bytes, as PyTorch's conversions return
    def _typed(self, dtype: Any) -> "TypedStorage":
        return TypedStorage(wrap_storage=self, dtype=dtype, _internal=True)

    def bool(self): return self._typed(backend.bool_)
    def byte(self): return self._typed(backend.uint8)
    def char(self): return self._typed(backend.int8)
    def short(self): return self._typed(backend.int16)
    def int(self): return self._typed(backend.int32)
    def long(self): return self._typed(backend.int64)
    def half(self): return self._typed(backend.float16)
    def bfloat16(self): return self._typed(backend.bfloat16)
    def float(self): return self._typed(backend.float32)
    def double(self): return self._typed(backend.float64)
    def complex_float(self): return self._typed(backend.complex64)
    def complex_double(self): return self._typed(backend.complex128)

    # ---------------------------------------------------------------- construction from memory
    @classmethod
    def from_buffer(cls, buffer: Any, byte_order: str | None = None, count: int = -1, offset: int = 0,
                    dtype: Any = None) -> "UntypedStorage":
        """A storage holding a copy of ``count`` elements of ``dtype`` read from the bytes-like
        ``buffer`` (from ``offset`` bytes in), in ``byte_order`` (``'native'``, ``'little'``
        or ``'big'``)."""
        if dtype is None:
            raise RuntimeError("argument 'dtype' cannot be None")
        d = backend.as_dtype(dtype)
        if byte_order is None:
            if d.itemsize > 1:
                raise RuntimeError("function missing required argument 'byte_order' (pos 2)")
            byte_order = "native"
        raw = bytes(memoryview(buffer).cast("B"))[offset:]
        n = len(raw) // d.itemsize if count < 0 else count
        if n * d.itemsize > len(raw):
            raise ValueError(f"buffer has only {len(raw)} bytes after offset {offset}, {n} elements of "
                             f"{d.itemsize} bytes requested")
        if byte_order not in ("native", "little", "big"):
            raise ValueError(f"invalid byte_order '{byte_order}' (should be 'native', 'little' or 'big')")
        xp = backend.xp_for(_CPU)
        data = xp.frombuffer(raw, xp.uint8, n * d.itemsize).copy()
        storage = cls._wrap(data, resizable=True)
        native = "little" if xp.little_endian else "big"
        if byte_order not in ("native", native):
            storage.byteswap(d)
        return storage

    @classmethod
    def from_file(cls, filename: str, shared: bool = False, nbytes: int = 0) -> "UntypedStorage":
        """``nbytes`` bytes of a memory-mapped file: with ``shared`` changes go to the file (and
        to every process that maps it; the file is created or grown as needed), without it they
        stay private (copy-on-write) and the file must hold ``nbytes`` bytes."""
        data = _map_file(os.fspath(filename), bool(shared), int(nbytes))
        return cls._wrap(data, filename=os.fspath(filename) if shared else None)

    # ---------------------------------------------------------------- Python protocols
    def __reduce__(self):
        return (_rebuild_untyped, (backend.to_numpy(self._bytes).tobytes(), str(self.device)))

    def __copy__(self) -> "UntypedStorage":
        return UntypedStorage._wrap(self._bytes)

    def __deepcopy__(self, memo: dict) -> "UntypedStorage":
        if id(self) not in memo:
            memo[id(self)] = self.clone()
        return memo[id(self)]

    def __sizeof__(self) -> int:
        return object.__sizeof__(self) + self.nbytes()

    def __repr__(self) -> str:
        body = "\n".join(f" {b}" for b in self.tolist())
        head = f"[edunn.storage.UntypedStorage(device={self.device}) of size {self.nbytes()}]"
        return f"{body}\n{head}" if body else head

    __str__ = __repr__


def _rebuild_untyped(raw: bytes, device: str) -> UntypedStorage:
    xp = backend.xp_for(_CPU)
    data = xp.frombuffer(raw, xp.uint8).copy()
    return UntypedStorage._wrap(backend.to_device(data, backend.as_device(device)), resizable=True)


def is_storage(obj: Any) -> bool:
    """Whether ``obj`` is a storage, typed or untyped (``torch.is_storage``)."""
    return isinstance(obj, (UntypedStorage, TypedStorage))


def from_file(filename: str, shared: bool | None = None, size: int = 0, *, dtype: Any = None, layout: Any = None,
              device: Any = None, pin_memory: bool = False) -> Any:
    """A CPU tensor of ``size`` elements over a memory-mapped file (``torch.from_file``)."""
    from .tensor import Tensor
    d = backend.as_dtype(dtype) if dtype is not None else backend.get_default_dtype()
    if device is not None and backend.as_device(device).type != "cpu":
        raise RuntimeError("from_file: only CPU tensors can be mapped to files")
    storage = UntypedStorage.from_file(filename, bool(shared), int(size) * d.itemsize)
    return _set_on_storage(Tensor._make(backend.xp_for(_CPU).empty(0, d.np)), storage, 0, (int(size),), None)


from ._storage_typed import TypedStorage, _LEGACY_BY_NAME, _set_on_storage  # noqa: E402,F401
