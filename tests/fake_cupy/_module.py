"""The stand-in's modules: ``cupy`` and its array submodules, each exposing exactly the names real
CuPy 14.2 has, each name NumPy's function run on the stand-in's arrays."""
from __future__ import annotations

import functools
import types

import numpy

from . import _array, _names
from ._array import call, current_device, ndarray, unsupported, unwrap

# Functions whose result is a Python value, a dtype or a shape, never an array.
_PLAIN = {"result_type", "promote_types", "can_cast", "min_scalar_type", "issubdtype", "finfo",
          "iinfo", "isscalar", "ndim", "shape", "size", "broadcast_shapes", "common_type",
          "mintypecode", "typename", "binary_repr", "base_repr", "obj2sctype", "isdtype",
          "iterable", "get_printoptions", "set_printoptions", "printoptions"}
# ufunc methods CuPy implements for only some ufuncs.
_ACCUMULATE = {"add", "multiply"}
_AT = {"add", "subtract", "maximum", "minimum", "bitwise_and", "bitwise_or", "bitwise_xor"}


def _plain(function, qualname: str):
    @functools.wraps(function)
    def run(*args, **kwargs):
        _names.check_call(qualname, args, kwargs)
        originals: dict = {}
        return function(*unwrap(args, originals), **{k: unwrap(v, originals) for k, v in kwargs.items()})
    return run


def _array_function(function, qualname: str = ""):
    @functools.wraps(function)
    def run(*args, **kwargs):
        _names.check_call(qualname, args, kwargs)
        return call(function, args, kwargs)
    run._numpy = function
    return run


def _to_device(value, dtype=None, copy=None, order="K"):
    """``cupy.array``/``asarray``: host data copied to the current device; an array of another
    device copied here; an array already here returned as is unless a copy is asked."""
    if isinstance(value, ndarray):
        here = value._dev == current_device()
        if here and not copy and (dtype is None or numpy.dtype(dtype) == value.dtype):
            return value
        return ndarray._make(numpy.array(value._a, dtype=dtype, order=order, copy=True), current_device())
    host = numpy.array(_from_host(value), dtype=dtype, order=order, copy=True)
    return ndarray._make(host, current_device())


def _from_host(value):
    if isinstance(value, ndarray):
        return value._a
    if isinstance(value, (list, tuple)):
        return [_from_host(v) for v in value]
    return value


def array(obj, dtype=None, copy=True, order="K", subok=False, ndmin=0, *, blocking=False):
    out = _to_device(obj, dtype, copy=True if copy is None else copy, order=order)
    while out.ndim < ndmin:
        out = out[None]
    return out


def asarray(a, dtype=None, order=None, *, blocking=False):
    return _to_device(a, dtype, copy=False, order=order or "K")


def asnumpy(a, stream=None, order="C", out=None, *, blocking=True):
    if isinstance(a, ndarray):
        return a.get(stream=stream, order=order, out=out)
    return numpy.asarray(a, order=order)


def get_array_module(*args):
    import cupy
    return cupy if any(isinstance(a, ndarray) for a in args) else numpy


class ufunc:
    """A NumPy ufunc on the stand-in's arrays, with CuPy's methods."""

    def __init__(self, np_ufunc):
        self._np = np_ufunc
        self.name = "cupy_" + np_ufunc.__name__
        self.__name__ = np_ufunc.__name__
        self.nin, self.nout, self.nargs = np_ufunc.nin, np_ufunc.nout, np_ufunc.nargs
        self.types = np_ufunc.types

    def __call__(self, *args, **kwargs):
        return call(self._np, args, kwargs)

    def reduce(self, array, axis=0, dtype=None, out=None, keepdims=False):
        return call(self._np.reduce, (array,), dict(axis=axis, dtype=dtype, out=out, keepdims=keepdims))

    def accumulate(self, array, axis=0, dtype=None, out=None):
        if self.__name__ not in _ACCUMULATE:
            raise NotImplementedError(f"accumulate() is not supported for {self.name}")
        return call(self._np.accumulate, (array,), dict(axis=axis, dtype=dtype, out=out))

    def reduceat(self, array, indices, axis=0, dtype=None, out=None):
        return call(self._np.reduceat, (array, indices), dict(axis=axis, dtype=dtype, out=out))

    def outer(self, A, B, **kwargs):
        return call(self._np.outer, (A, B), kwargs)

    def at(self, a, indices, b=None):
        if self.__name__ not in _AT:
            raise NotImplementedError(f"at() is not supported for {self.name}")
        if not isinstance(a, ndarray):
            raise unsupported(a)
        originals: dict = {}
        key = unwrap(indices, originals, allow_host=True)
        args = (a._a, key) if b is None else (a._a, key, unwrap(b, originals))
        self._np.at(*args)

    def _run(self, method, inputs, kwargs):
        return self(*inputs, **kwargs) if method == "__call__" else getattr(self, method)(*inputs, **kwargs)

    def __repr__(self):
        return f"<ufunc '{self.name}'>"


_UFUNCS: dict = {}


def ufunc_for(np_ufunc):
    name = np_ufunc.__name__
    if name not in _names.of("cupy") and name not in _names.of("cupyx.scipy.special"):
        return None
    if np_ufunc not in _UFUNCS:
        _UFUNCS[np_ufunc] = ufunc(np_ufunc)
    return _UFUNCS[np_ufunc]


def adapt(name: str, target, module: str = "cupy"):
    """What ``<module>.<name>`` is in the stand-in, given NumPy's ``target``."""
    if isinstance(target, numpy.ufunc):
        return ufunc_for(target)
    if isinstance(target, type) or not callable(target):
        return target  # dtypes, scalar types, exceptions, constants
    if name in _PLAIN:
        return _plain(target, f"{module}.{name}")
    return _array_function(target, f"{module}.{name}")


class ArrayModule(types.ModuleType):
    """A module whose public names are CuPy's; each not set explicitly is NumPy's, adapted."""

    def __init__(self, name: str, numpy_module, names: frozenset):
        super().__init__(name)
        self._numpy_module = numpy_module
        self._names = names

    def __getattr__(self, attr):
        if attr.startswith("__") or attr not in self._names:
            raise AttributeError(f"module '{self.__name__}' has no attribute '{attr}'")
        target = getattr(self._numpy_module, attr, None)
        if target is None:
            raise AttributeError(f"the CuPy stand-in does not model '{self.__name__}.{attr}' "
                                 f"(real CuPy has it; tests/fake_cupy/_module.py)")
        value = adapt(attr, target, self.__name__)
        setattr(self, attr, value)
        return value


_FUNCTION_MODULES: dict = {}


def register(numpy_module_name: str, module: ArrayModule) -> None:
    _FUNCTION_MODULES[numpy_module_name] = module


def function_for(func):
    """The stand-in's version of a NumPy function (for ``__array_function__``), or None."""
    module = _FUNCTION_MODULES.get(getattr(func, "__module__", None))
    name = getattr(func, "__name__", None)
    if module is None or name not in module._names:
        return None
    value = getattr(module, name)
    return value if callable(value) else None


def make_cupy():
    cupy = ArrayModule("cupy", numpy, _names.of("cupy"))
    cupy.__version__ = _names.VERSION
    cupy.__path__ = []  # a package: ``import cupy.cuda`` works
    cupy.ndarray = ndarray
    cupy.array, cupy.asarray, cupy.asnumpy = array, asarray, asnumpy
    cupy.asanyarray = asarray
    cupy.get_array_module = get_array_module
    cupy.ufunc = ufunc
    cupy.get_default_memory_pool = lambda: _array.POOL
    cupy.get_default_pinned_memory_pool = lambda: _PINNED
    cupy.is_available = lambda: True
    cupy.from_dlpack = _from_dlpack
    cupy.fromDlpack = _from_dlpack
    for name in ("linalg", "fft"):
        sub = ArrayModule(f"cupy.{name}", getattr(numpy, name), _names.of(f"cupy.{name}"))
        setattr(cupy, name, sub)
        register(f"numpy.{name}", sub)
    cupy.linalg.LinAlgError = numpy.linalg.LinAlgError
    cupy.fft.config = _FFTConfig()
    cupy.lib = types.ModuleType("cupy.lib")
    cupy.lib.stride_tricks = ArrayModule("cupy.lib.stride_tricks", numpy.lib.stride_tricks,
                                         _names.of("cupy.lib.stride_tricks"))
    register("numpy", cupy)
    return cupy


def _from_dlpack(obj, *, device=None, copy=None):
    if isinstance(obj, ndarray):
        return obj
    kind, index = obj.__dlpack_device__()
    if kind != 2:
        raise TypeError("CuPy can only import DLPack tensors that live on a CUDA device")
    return obj


class _PinnedPool:
    def n_free_blocks(self) -> int:
        return 0

    def free_all_blocks(self) -> None:
        return None


_PINNED = _PinnedPool()


class _PlanCache:
    def __init__(self):
        self.size, self.memsize, self.enabled = 16, -1, True

    def get_size(self):
        return self.size

    def set_size(self, size):
        self.size = int(size)

    def get_curr_size(self):
        return 0

    def get_memsize(self):
        return self.memsize

    def set_memsize(self, size):
        self.memsize = int(size)

    def get_curr_memsize(self):
        return 0

    def clear(self):
        return None

    def show_info(self):
        print(f"cuFFT plan cache (device {current_device()}): size {self.size}")


class _FFTConfig(types.ModuleType):
    def __init__(self):
        super().__init__("cupy.fft.config")
        self._caches: dict = {}
        self.enable_nd_planning = True
        self.use_multi_gpus = False

    def get_plan_cache(self):
        return self._caches.setdefault(current_device(), _PlanCache())


def make_cupyx(cupy):
    import scipy.special

    cupyx = types.ModuleType("cupyx")
    cupyx.__path__ = []
    cupyx.DeviceSynchronized = _array.DeviceSynchronized
    cupyx.scatter_add = lambda a, slices, value: a.scatter_add(slices, value)
    cupyx.scatter_max = lambda a, slices, value: a.scatter_max(slices, value)
    cupyx.scatter_min = lambda a, slices, value: a.scatter_min(slices, value)
    cupyx.allow_synchronize = _AllowSynchronize
    cupyx.errstate = numpy.errstate
    cupyx.rsqrt = _array_function(lambda x, out=None: numpy.divide(1, numpy.sqrt(x), out=out))
    cupyx.empty_pinned = numpy.empty
    cupyx.zeros_pinned = numpy.zeros
    cupyx.empty_like_pinned = numpy.empty_like
    cupyx.zeros_like_pinned = numpy.zeros_like
    cupyx.scipy = types.ModuleType("cupyx.scipy")
    cupyx.scipy.__path__ = []
    cupyx.scipy.special = ArrayModule("cupyx.scipy.special", scipy.special, _names.of("cupyx.scipy.special"))
    return cupyx


class _AllowSynchronize:
    def __init__(self, allow: bool):
        self.allow = bool(allow)

    def __enter__(self):
        self.previous = getattr(_array._state, "sync_allowed", True)
        _array._state.sync_allowed = self.allow

    def __exit__(self, *exc):
        _array._state.sync_allowed = self.previous
        return False
