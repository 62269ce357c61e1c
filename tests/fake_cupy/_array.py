"""The stand-in's array: a NumPy array that lives on a pretend CUDA device.

It behaves as ``cupy.ndarray`` does where the difference shows in library code:

* it is not a ``numpy.ndarray``; NumPy refuses to convert it implicitly (``numpy.asarray(x)``
  raises CuPy's TypeError) -- data comes back only through ``get()``/``cupy.asnumpy``/``item()``;
* operations refuse NumPy arrays next to it (``x + numpy_array`` raises CuPy's TypeError);
* reductions and indexing give 0-d arrays, not NumPy scalars;
* NumPy functions and ufuncs called on it run the stand-in's (CuPy's ``__array_function__`` and
  ``__array_ufunc__``); a name real CuPy 14.2 lacks raises, as on a GPU;
* it belongs to the device current when it was made, and an operation on an array of another
  device raises CuPy's ValueError (edunn must make the array's device current, as PyTorch's
  device guard does);
* under ``cupyx.allow_synchronize(False)`` a transfer to the host raises
  ``cupyx.DeviceSynchronized``.
"""
from __future__ import annotations

import operator
import threading
import weakref

import numpy

from . import _names

_state = threading.local()  # .device: this thread's current device; .sync_allowed


def current_device() -> int:
    return getattr(_state, "device", 0)


def set_current_device(index: int) -> None:
    _state.device = index


class DeviceSynchronized(RuntimeError):
    pass


def check_sync(what: str) -> None:
    if not getattr(_state, "sync_allowed", True):
        raise DeviceSynchronized(f"device synchronization was detected ({what}) while disallowed")


# ----------------------------------------------------------------------------------------------
# The memory pool: every array that owns its data counts against its device until collected.
# ----------------------------------------------------------------------------------------------
class _Pool:
    def __init__(self):
        self.used = {}
        self.cached = {}
        self.limit = 0
        self.lock = threading.Lock()
        self.hooks = []  # cupy.cuda.MemoryHook instances entered

    def track(self, array: numpy.ndarray, device: int) -> None:
        n, ptr = array.nbytes, array.ctypes.data
        with self.lock:
            self.used[device] = self.used.get(device, 0) + n
            from_cache = min(n, self.cached.get(device, 0))
            self.cached[device] = self.cached.get(device, 0) - from_cache
        for hook in list(self.hooks):
            if from_cache < n:
                hook.alloc_postprocess(device_id=device, mem_size=n - from_cache, mem_ptr=ptr)
            hook.malloc_postprocess(device_id=device, size=n, mem_size=n, mem_ptr=ptr, pmem_id=ptr)
        weakref.finalize(array, self._release, device, n, ptr)

    def _release(self, device: int, n: int, ptr: int) -> None:
        with self.lock:
            self.used[device] -= n
            self.cached[device] = self.cached.get(device, 0) + n
        for hook in list(self.hooks):
            hook.free_postprocess(device_id=device, mem_size=n, mem_ptr=ptr, pmem_id=ptr)

    def used_bytes(self) -> int:
        return self.used.get(current_device(), 0)

    def total_bytes(self) -> int:
        return self.used_bytes() + self.cached.get(current_device(), 0)

    def free_bytes(self) -> int:
        return self.cached.get(current_device(), 0)

    def free_all_blocks(self, stream=None) -> None:
        with self.lock:
            self.cached.clear()

    def n_free_blocks(self) -> int:
        return 1 if self.free_bytes() else 0

    def set_limit(self, size=None, fraction=None) -> None:
        from ._cuda import _TOTAL_MEMORY
        self.limit = int(size) if size is not None else int((fraction or 0) * _TOTAL_MEMORY)

    def get_limit(self) -> int:
        return self.limit


POOL = _Pool()


# ----------------------------------------------------------------------------------------------
# Moving between the wrapper and NumPy
# ----------------------------------------------------------------------------------------------
_HOST_OK = (int, float, complex, bool, numpy.generic)


def unsupported(value) -> TypeError:
    return TypeError(f"Unsupported type {type(value)}")


def unwrap(value, originals: dict, allow_host: bool = False):
    """The NumPy data behind ``value`` (recursively through lists and tuples), checking devices.
    ``originals`` maps ``id`` of each unwrapped array to its wrapper."""
    if isinstance(value, ndarray):
        if value._dev != current_device():
            raise ValueError(f"Array device must be same as the current device: array device = "
                             f"{value._dev} while current = {current_device()}")
        originals[id(value._a)] = value
        return value._a
    if isinstance(value, numpy.ndarray) and not allow_host:
        raise unsupported(value)
    if isinstance(value, (list, tuple)):
        items = [unwrap(v, originals, allow_host) for v in value]
        return items if isinstance(value, list) else tuple(items)
    return value


def wrap(value, originals: dict | None = None):
    """NumPy results as stand-in arrays on the current device; NumPy scalars as 0-d arrays."""
    if isinstance(value, numpy.ndarray):
        if originals and id(value) in originals:
            return originals[id(value)]
        return ndarray._make(value, current_device())
    if isinstance(value, numpy.generic):
        return ndarray._make(numpy.asarray(value), current_device())
    if isinstance(value, tuple):
        return type(value)(*(wrap(v, originals) for v in value)) if hasattr(value, "_fields") \
            else tuple(wrap(v, originals) for v in value)
    if isinstance(value, list):
        return [wrap(v, originals) for v in value]
    return value


def call(function, args, kwargs, allow_host: bool = False):
    originals: dict = {}
    a = unwrap(args, originals, allow_host)
    k = {key: unwrap(v, originals, allow_host) for key, v in kwargs.items()}
    with numpy.errstate(all="ignore"):  # a GPU does not warn of floating-point errors
        return wrap(function(*a, **k), originals)


def _binary(op):
    def method(self, other):
        if not isinstance(other, (ndarray,) + _HOST_OK):
            if isinstance(other, numpy.ndarray):
                raise unsupported(other)
            return NotImplemented
        return call(op, (self, other), {})
    return method


def _reflected(op):
    def method(self, other):
        if not isinstance(other, _HOST_OK):
            if isinstance(other, numpy.ndarray):
                raise unsupported(other)
            return NotImplemented
        return call(op, (other, self), {})
    return method


def _inplace(op):
    def method(self, other):
        if isinstance(other, numpy.ndarray):
            raise unsupported(other)
        call(op, (self, other), {})
        return self
    return method


class Device:
    """``cupy.cuda.Device``: a context manager making a device current for this thread."""

    def __init__(self, device=None):
        if device is None:
            device = current_device()
        self.id = int(device)
        self._previous = []

    def __enter__(self):
        from . import _cuda
        _cuda.check_ordinal(self.id)
        self._previous.append(current_device())
        set_current_device(self.id)
        return self

    def __exit__(self, *exc):
        set_current_device(self._previous.pop())
        return False

    def use(self):
        set_current_device(self.id)

    def synchronize(self):
        check_sync("Device.synchronize")

    @property
    def compute_capability(self) -> str:
        return "90"

    def __int__(self):
        return self.id

    __index__ = __int__

    def __eq__(self, other):
        return isinstance(other, Device) and other.id == self.id

    def __hash__(self):
        return hash(self.id)

    def __repr__(self):
        return f"<CUDA Device {self.id}>"


class _MemoryPointer:
    def __init__(self, array, device):
        self.ptr = array.ctypes.data if array.size else 0
        self.device_id = device
        self.device = Device(device)


class ndarray:
    """``cupy.ndarray`` on the CPU."""
    __slots__ = ("_a", "_dev", "__weakref__")
    __array_priority__ = 100

    def __init__(self, shape, dtype=float, memptr=None, strides=None, order="C"):
        self._a = numpy.empty(shape, dtype=dtype, order=order)
        self._dev = current_device()
        POOL.track(self._a, self._dev)

    @classmethod
    def _make(cls, array: numpy.ndarray, device: int) -> "ndarray":
        check_dtype(array.dtype)
        self = object.__new__(cls)
        self._a = array
        self._dev = device
        if array.base is None:
            POOL.track(array, device)
        return self

    # -- what CuPy forbids ---------------------------------------------------------------------
    def __array__(self, dtype=None, copy=None):
        raise TypeError("Implicit conversion to a NumPy array is not allowed. Please use `.get()` "
                        "to construct a NumPy array explicitly.")

    def __array_ufunc__(self, ufunc, method, *inputs, **kwargs):
        from . import _module
        fake = _module.ufunc_for(ufunc)
        if fake is None:
            return NotImplemented
        return fake._run(method, inputs, kwargs)

    def __array_function__(self, func, types, args, kwargs):
        from . import _module
        fake = _module.function_for(func)
        if fake is None:
            return NotImplemented
        return fake(*args, **kwargs)

    # -- attributes ----------------------------------------------------------------------------
    shape = property(lambda self: self._a.shape)
    dtype = property(lambda self: self._a.dtype)
    ndim = property(lambda self: self._a.ndim)
    size = property(lambda self: self._a.size)
    itemsize = property(lambda self: self._a.itemsize)
    nbytes = property(lambda self: self._a.nbytes)
    strides = property(lambda self: self._a.strides)
    flags = property(lambda self: self._a.flags)
    device = property(lambda self: Device(self._dev))
    data = property(lambda self: _MemoryPointer(self._a, self._dev))

    @property
    def base(self):
        return None if self._a.base is None else ndarray._make_view(self._a.base, self._dev)

    @classmethod
    def _make_view(cls, base, device):
        if not isinstance(base, numpy.ndarray):
            base = numpy.asarray(base)
        self = object.__new__(cls)
        self._a, self._dev = base, device
        return self

    @shape.setter
    def shape(self, value):
        self._a.shape = value

    def _view(self, array):
        return ndarray._make(array, self._dev)

    T = property(lambda self: self._view(self._a.T))
    mT = property(lambda self: self._view(numpy.swapaxes(self._a, -1, -2)))

    @property
    def real(self):
        return self._view(self._a.real)

    @real.setter
    def real(self, value):
        self._a.real = unwrap(value, {})

    @property
    def imag(self):
        return self._view(self._a.imag)

    @imag.setter
    def imag(self, value):
        self._a.imag = unwrap(value, {})

    @property
    def __cuda_array_interface__(self):
        return {"shape": self.shape, "typestr": self.dtype.str, "data": (self.data.ptr, False),
                "strides": None if self._a.flags.c_contiguous else self.strides, "version": 3}

    def __dlpack_device__(self):
        return (2, self._dev)  # kDLCUDA

    def __dlpack__(self, stream=None, max_version=None, dl_device=None, copy=None):
        return self._a.__dlpack__()

    def toDlpack(self):
        return self.__dlpack__()

    # -- host transfers ------------------------------------------------------------------------
    def get(self, stream=None, order="C", out=None, blocking=True):
        check_sync("ndarray.get")
        if out is not None:
            out[...] = self._a
            return out
        return numpy.array(self._a, order=order)

    def set(self, arr, stream=None):
        self._a[...] = arr

    def item(self, *args):
        check_sync("ndarray.item")
        return self._a.item(*args)

    def tolist(self):
        check_sync("ndarray.tolist")
        return self._a.tolist()

    def tobytes(self, order="C"):
        check_sync("ndarray.tobytes")
        return self._a.tobytes(order)

    def _scalar(self, kind):
        check_sync(f"ndarray.__{kind.__name__}__")
        if self._a.size != 1:
            raise TypeError("only length-1 arrays can be converted to Python scalars")
        return kind(self._a.reshape(()))

    def __bool__(self):
        check_sync("ndarray.__bool__")
        return bool(self._a)

    __float__ = lambda self: self._scalar(float)  # noqa: E731
    __int__ = lambda self: self._scalar(int)  # noqa: E731
    __complex__ = lambda self: self._scalar(complex)  # noqa: E731

    def __index__(self):
        if self.dtype.kind not in "iub" or self.ndim:
            raise TypeError("only integer scalar arrays can be converted to a scalar index")
        return self._scalar(int)

    def __reduce__(self):
        check_sync("pickling")
        return (_rebuild, (numpy.array(self._a),))

    def __repr__(self):
        return repr(self._a).replace("array(", "array(", 1)

    def __str__(self):
        return str(self._a)

    def __format__(self, spec):
        return format(self._a.item() if self.ndim == 0 else self._a, spec)

    def __len__(self):
        return len(self._a)

    def __iter__(self):
        if self.ndim == 0:
            raise TypeError("iteration over a 0-d array")
        for k in range(len(self._a)):
            yield self[k]

    def __copy__(self):
        return self.copy()

    def __deepcopy__(self, memo):
        return self.copy()

    __hash__ = None

    # -- indexing ------------------------------------------------------------------------------
    def _key(self, key):
        """The NumPy index for ``key``.  Integer-array indices out of bounds wrap around, as
        CuPy's do (NumPy raises; CuPy documents the difference)."""
        key = unwrap(key, {}, allow_host=True)
        parts = key if isinstance(key, tuple) else (key,)
        if any(p is None or p is Ellipsis for p in parts):
            return key
        wrapped = tuple(p % self._a.shape[axis] if isinstance(p, numpy.ndarray) and p.dtype.kind in "iu"
                        and axis < self._a.ndim and self._a.shape[axis] else p
                        for axis, p in enumerate(parts))
        return wrapped if isinstance(key, tuple) else wrapped[0]

    def __getitem__(self, key):
        parts = key if isinstance(key, tuple) else (key,)
        if any(isinstance(p, (ndarray, numpy.ndarray, list)) for p in parts):
            unwrap(self, {})  # advanced indexing is a kernel on the current device; slicing is a view
        return self._view_or_copy(self._a[self._key(key)])

    def _view_or_copy(self, result):
        if isinstance(result, numpy.ndarray):
            return ndarray._make(result, self._dev)
        return ndarray._make(numpy.asarray(result), self._dev)

    def __setitem__(self, key, value):
        if isinstance(value, numpy.ndarray):
            raise unsupported(value)
        unwrap(self, {})  # a copy kernel on the current device
        self._a[self._key(key)] = unwrap(value, {})

    # -- methods CuPy has (the others raise AttributeError, as on a GPU) ------------------------
    def __getattr__(self, name):
        if name.startswith("__") or name not in _names.NDARRAY:
            raise AttributeError(f"'cupy.ndarray' object has no attribute '{name}'")
        method = getattr(self._a, name)

        def bound(*args, **kwargs):  # a kernel on the current device, reading this array
            unwrap(self, {})
            return call(method, args, kwargs)
        return bound

    def astype(self, dtype, order="K", casting=None, subok=None, copy=True):
        check_dtype(numpy.dtype(dtype))
        return self._view(self._a.astype(dtype, order=order, copy=copy))

    def view(self, dtype=None, array_class=None):
        return self._view(self._a.view() if dtype is None else self._a.view(dtype))

    def copy(self, order="C"):
        return self._view(self._a.copy(order=order))

    def reshape(self, *shape, order="C"):
        return self._view(self._a.reshape(*shape, order=order))

    def fill(self, value):
        self._a.fill(unwrap(value, {}))

    def scatter_add(self, slices, value):
        numpy.add.at(self._a, self._key(slices), unwrap(value, {}))

    def scatter_max(self, slices, value):
        numpy.maximum.at(self._a, self._key(slices), unwrap(value, {}))

    def scatter_min(self, slices, value):
        numpy.minimum.at(self._a, self._key(slices), unwrap(value, {}))


def _rebuild(array):
    return ndarray._make(array, current_device())


def check_dtype(dtype) -> None:
    if dtype.kind in "OUSVMm" or dtype.itemsize > 16 or (dtype.kind == "f" and dtype.itemsize > 8):
        raise ValueError(f"Unsupported dtype {dtype}")


for _name, _op in [("add", operator.add), ("sub", operator.sub), ("mul", operator.mul),
                   ("truediv", operator.truediv), ("floordiv", operator.floordiv),
                   ("mod", operator.mod), ("pow", operator.pow), ("matmul", operator.matmul),
                   ("and", operator.and_), ("or", operator.or_), ("xor", operator.xor),
                   ("lshift", operator.lshift), ("rshift", operator.rshift),
                   ("divmod", divmod)]:
    setattr(ndarray, f"__{_name}__", _binary(_op))
    setattr(ndarray, f"__r{_name}__", _reflected(_op))
    if _name != "divmod":
        setattr(ndarray, f"__i{_name}__", _inplace(getattr(operator, f"i{_name}")))
for _name, _op in [("lt", operator.lt), ("le", operator.le), ("gt", operator.gt),
                   ("ge", operator.ge), ("eq", operator.eq), ("ne", operator.ne)]:
    setattr(ndarray, f"__{_name}__", _binary(_op))
for _name, _op in [("neg", operator.neg), ("pos", operator.pos), ("abs", operator.abs),
                   ("invert", operator.invert)]:
    setattr(ndarray, f"__{_name}__", (lambda op: lambda self: call(op, (self,), {}))(_op))
