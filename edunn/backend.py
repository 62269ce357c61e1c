"""The one place in edunn that knows NumPy and CuPy exist.

Every other file asks this module for an *array module* ``xp`` (``numpy`` on the CPU, ``cupy`` on
a GPU) and calls ``xp.exp``, ``xp.matmul`` ... on it, so every op in edunn is device-agnostic by
construction -- the idea of Chainer's ``backend.get_array_module`` and DeZero's ``cuda.py``.

What lives here:

* :class:`device` -- ``edunn.device("cpu")``, ``edunn.device("cuda:1")`` (plain Python, in
  ``_device.py`` with the memory formats, re-exported here);
* :func:`array_module` -- ``xp`` for an array, and :func:`device_of` -- the device of an array;
* :func:`to_device` -- copy an array to another device;
* the dtype table -- ``edunn.float32`` ... ``edunn.bfloat16`` (through ``ml_dtypes``),
  ``edunn.complex64``/``complex128`` and PyTorch's type-promotion rules (:func:`result_type`);
* per-device random generators and :func:`manual_seed`.

Lesson 01 (tensors) walks through this file.
"""
from __future__ import annotations

import functools
import sys
import threading
from typing import Any

import ml_dtypes
import numpy

try:  # CuPy is optional: ``pip install edunn[gpu]``.
    import cupy  # type: ignore
except Exception:  # ImportError, or a CUDA driver problem at import time
    cupy = None

from ._device import (CPU, channels_last, channels_last_3d, contiguous_format, device,  # noqa: F401
                      memory_format, preserve_format)

ndarray = numpy.ndarray
newaxis = None
inf = float("inf")
nan = float("nan")
pi = 3.141592653589793
e = 2.718281828459045


# ----------------------------------------------------------------------------------------------
# Devices
# ----------------------------------------------------------------------------------------------
CUDA_UNAVAILABLE = ("CUDA is not available: install edunn[gpu] on a machine with an NVIDIA GPU"
                    if cupy is None else
                    "CUDA is not available: CuPy is installed but sees no NVIDIA GPU on this machine")


def cuda_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device."""
    if cupy is None:
        return False
    try:
        return cupy.cuda.runtime.getDeviceCount() > 0
    except Exception:
        return False


def cuda_device_count() -> int:
    return cupy.cuda.runtime.getDeviceCount() if cuda_available() else 0




def as_device(dev: "str | int | device | None") -> device:
    """Normalise what users pass as ``device=``; ``None`` means the CPU; an int means ``cuda:N``.
    A CUDA device always gets a concrete index (``cuda`` means the current device)."""
    if dev is None:
        return CPU
    if isinstance(dev, int):
        dev = device("cuda", dev)
    elif not isinstance(dev, device):
        dev = device(dev)
    if dev.type == "cpu":
        return CPU  # one CPU: tensors report ``cpu``, and it keys the one CPU generator
    if dev.type == "cuda":
        if not cuda_available():
            raise RuntimeError(
                f"cannot use device '{dev}': {CUDA_UNAVAILABLE}")
        index = cupy.cuda.runtime.getDevice() if dev.index is None else dev.index
        count = cuda_device_count()
        if count > 1:
            multi_gpu[0] = True
        if index >= count:
            raise RuntimeError(f"CUDA error: invalid device ordinal: '{dev}' asked, {count} device(s) present")
        if dev.index != index:
            dev = device("cuda", index)
    return dev


_default_device: "device | None" = None  # set_default_device's; None: never set (or reset)


def set_default_device(device: "str | int | device | None") -> None:
    """The device factory functions (``zeros``, ``tensor``, ``arange`` ...) use when given no
    ``device=`` (``torch.set_default_device``); ``None`` goes back to the CPU."""
    global _default_device
    _default_device = None if device is None else as_device(device)


def get_default_device() -> "device":
    return _default_device or CPU


def factory_device(dev: Any, infer: bool = False) -> "device | None":
    """The device of a factory function's result: ``dev`` if given, else the default device;
    with ``infer`` and no default ever set, None (``tensor(data)`` keeps ``data``'s device)."""
    if dev is None:
        dev = _default_device
    if dev is None:
        return None if infer else CPU
    return as_device(dev)


# PyTorch runs an op on its inputs' device whatever device is current (a "device guard"); CuPy
# runs on the current device.  With one GPU the two agree, so the check below is skipped; it is
# switched on the first time a CUDA device is named on a machine with several.
multi_gpu = [False]  # [True] once a CUDA device is named on a machine with several (a cell: fast to test)


def device_guard(values: Any) -> Any:
    """On a machine with several GPUs: a context manager making the device of the first CUDA
    array among ``values`` (tensors, arrays, lists of them) current, when another one is; else
    None.  ``Function.apply`` and the autograd engine run each op and backward under it."""
    if not multi_gpu[0]:
        return None
    index = _first_cuda_index(values)
    if index is None or index == cupy.cuda.runtime.getDevice():
        return None
    return cupy.cuda.Device(index)


def _first_cuda_index(values: Any) -> "int | None":
    for v in values:
        if isinstance(v, (list, tuple)):
            index = _first_cuda_index(v)
        else:
            dev = getattr(v, "device", None)  # a tensor's edunn device, or a CuPy array's Device
            index = getattr(dev, "id", None) if dev.__class__ is not device else (
                dev.index if dev.type == "cuda" else None)
        if index is not None:
            return index
    return None


def on_input_device(fn):
    """Decorate ``fn`` to run under :func:`device_guard` of its positional arguments (entry
    points that do array work outside a ``Function``: modules, indexing, in-place writes,
    gradcheck)."""
    @functools.wraps(fn)
    def run(*args, **kwargs):
        guard = device_guard(args) if multi_gpu[0] else None
        if guard is None:
            return fn(*args, **kwargs)
        with guard:
            return fn(*args, **kwargs)
    return run


def is_cupy_array(array: Any) -> bool:
    return cupy is not None and isinstance(array, cupy.ndarray)


def array_module(array: Any):
    """``numpy`` or ``cupy``: the module whose functions work on ``array`` (Chainer's
    ``get_array_module``). Anything that is not a CuPy array belongs to NumPy."""
    if cupy is not None and isinstance(array, cupy.ndarray):
        return cupy
    return numpy


def device_of(array: Any) -> device:
    if cupy is not None and isinstance(array, cupy.ndarray):
        return device("cuda", array.device.id)
    return CPU


def to_device(array: Any, dev: device) -> Any:
    """A copy of ``array`` on ``dev`` (the same object when it already lives there)."""
    if dev.type == "cpu":
        return to_numpy(array) if is_cupy_array(array) else array
    check_dtype_on_device(array.dtype, dev)
    with cupy.cuda.Device(dev.index):
        if is_cupy_array(array) and array.device.id == dev.index:
            return array
        return cupy.asarray(array)


def device_context(dev: device):
    """A context manager that makes ``dev`` current for array creation (a no-op on the CPU)."""
    if dev.type == "cuda":
        return cupy.cuda.Device(dev.index)
    return _NULL_CONTEXT


class _NullContext:
    def __enter__(self):
        return None

    def __exit__(self, *exc):
        return False


_NULL_CONTEXT = _NullContext()


def xp_for(dev: device):
    return cupy if dev.type == "cuda" else numpy


def to_numpy(array: Any) -> numpy.ndarray:
    if is_cupy_array(array):
        if _pending_asserts:
            check_device_asserts()
        return cupy.asnumpy(array)
    return numpy.asarray(array)


# ----------------------------------------------------------------------------------------------
# Dtypes
# ----------------------------------------------------------------------------------------------
class dtype:
    """An edunn dtype (``edunn.float32`` ...). It wraps the NumPy dtype that stores the data and
    carries PyTorch's name and promotion category."""

    __slots__ = ("name", "np", "itemsize", "is_floating_point", "is_complex", "is_signed", "_kind")

    def __init__(self, name: str, np_dtype: Any, kind: int, itemsize: int = 0):
        self.name = name
        if np_dtype is not None:  # complex32 has no NumPy type: see _UnstorableDtype
            self.np = numpy.dtype(np_dtype)
        self.itemsize = itemsize or self.np.itemsize
        # 0 bool, 1 integer, 2 floating, 3 complex -- PyTorch's promotion categories
        self._kind = kind
        self.is_floating_point = kind == 2
        self.is_complex = kind == 3
        self.is_signed = name not in ("bool", "uint8")

    def __repr__(self) -> str:
        return f"edunn.{self.name}"

    @property
    def scalar_name(self) -> str:
        """PyTorch's C++ name of the type (``Float``, ``Long`` ...), used in its error messages."""
        return _SCALAR_NAMES[self.name]

    def to_real(self) -> "dtype":
        """The real type of a complex type (complex64 -> float32); other types are their own."""
        return _COMPLEX_TO_REAL.get(self, self)

    def to_complex(self) -> "dtype":
        """The complex type whose parts have this float type (float32 -> complex64), as
        ``torch.dtype.to_complex``; complex types are their own."""
        if self._kind != 2 and self._kind != 3:
            raise RuntimeError(f"to_complex is only supported for floating point dtypes, got {self}")
        _note_complex()  # whoever asks is about to make complex numbers: switch the guard on
        return _REAL_TO_COMPLEX.get(self, self)

    def __reduce__(self):
        return (_dtype_by_name, (self.name,))


class _UnstorableDtype(dtype):
    """``complex32`` (``chalf``): PyTorch has it, NumPy and CuPy have no such type, so it exists
    as a dtype (for promotion and comparisons) but no tensor can be made of it: every use of
    its storage type ``.np`` raises a clear TypeError."""

    __slots__ = ()

    @property
    def np(self):
        raise TypeError(f"edunn cannot make {self.name} (chalf) tensors: NumPy and CuPy have no "
                        "complex32 type; use edunn.complex64 (cfloat) instead")


def _dtype_by_name(name: str) -> dtype:
    return _BY_NAME[name]


bool_ = dtype("bool", numpy.bool_, 0)
uint8 = dtype("uint8", numpy.uint8, 1)
int8 = dtype("int8", numpy.int8, 1)
int16 = dtype("int16", numpy.int16, 1)
int32 = dtype("int32", numpy.int32, 1)
int64 = dtype("int64", numpy.int64, 1)
float16 = dtype("float16", numpy.float16, 2)
bfloat16 = dtype("bfloat16", ml_dtypes.bfloat16, 2)
float32 = dtype("float32", numpy.float32, 2)
float64 = dtype("float64", numpy.float64, 2)
complex32 = _UnstorableDtype("complex32", None, 3, itemsize=4)
complex64 = dtype("complex64", numpy.complex64, 3)
complex128 = dtype("complex128", numpy.complex128, 3)

_SCALAR_NAMES = {"bool": "Bool", "uint8": "Byte", "int8": "Char", "int16": "Short", "int32": "Int",
                 "int64": "Long", "float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
                 "float64": "Double", "complex32": "ComplexHalf", "complex64": "ComplexFloat",
                 "complex128": "ComplexDouble"}
# The dtypes a tensor can have (complex32 is a name only, see _UnstorableDtype).
ALL_DTYPES = (bool_, uint8, int8, int16, int32, int64, float16, bfloat16, float32, float64,
              complex64, complex128)
_BY_NAME = {d.name: d for d in ALL_DTYPES}
_BY_NAME.update({"half": float16, "float": float32, "double": float64, "long": int64, "int": int32,
                 "short": int16, "bool_": bool_, "complex32": complex32, "chalf": complex32,
                 "cfloat": complex64, "cdouble": complex128})
# Array dtype -> edunn dtype.  The complex entries join on first use (_note_complex), so that a
# program that never meets a complex number pays nothing for the guard in Function.apply.
_BY_NP = {d.np: d for d in ALL_DTYPES if not d.is_complex}
_COMPLEX_NP = {complex64.np: complex64, complex128.np: complex128}
# PyTorch's promotion order inside a category (floats: float16 and bfloat16 promote to float32).
_RANK = {bool_: 0, uint8: 1, int8: 1, int16: 2, int32: 3, int64: 4,
         float16: 5, bfloat16: 5, float32: 6, float64: 7, complex32: 8, complex64: 9, complex128: 10}
_COMPLEX_TO_REAL = {complex32: float16, complex64: float32, complex128: float64}
# torch's toComplexType; bfloat16 has no complex partner and widens to complex64 as in promotion
_REAL_TO_COMPLEX = {float16: complex32, bfloat16: complex64, float32: complex64, float64: complex128}

_default_dtype = float32

# The complex guard: False until the process first meets a complex dtype, array or Python
# ``complex`` (see _note_complex).  ``Function.apply`` looks at its arguments' dtypes only once
# this is True, so that ops not known to handle complex numbers refuse them (autograd/function.py).
complex_seen = False


def _note_complex() -> None:
    """Flip :data:`complex_seen`: from now on ``Function.apply`` checks for complex arguments.
    Code that makes complex arrays out of real ones without going through :func:`as_dtype`,
    :func:`dtype_of` or a Python ``complex`` (an FFT of a real signal) calls this first."""
    global complex_seen
    if not complex_seen:
        _BY_NP.update(_COMPLEX_NP)
        complex_seen = True


def get_default_dtype() -> dtype:
    return _default_dtype


def set_default_dtype(d: dtype) -> None:
    global _default_dtype
    d = as_dtype(d)
    if not d.is_floating_point:
        raise TypeError(f"only floating-point types are supported as the default type, got {d}")
    _default_dtype = d


def default_complex_dtype() -> dtype:
    """The complex type of Python ``complex`` numbers: the default float type's complex partner
    (complex64 with float32, complex128 with float64), as in PyTorch."""
    return _REAL_TO_COMPLEX[_default_dtype]


def as_dtype(d: Any) -> dtype:
    """An edunn dtype from an edunn dtype, a NumPy dtype, a Python type or a name."""
    if isinstance(d, dtype):
        if d._kind == 3:
            _note_complex()
        return d
    if d is float:
        return _default_dtype
    if d is int:
        return int64
    if d is bool:
        return bool_
    if d is complex:
        _note_complex()
        return default_complex_dtype()
    if isinstance(d, str) and d in _BY_NAME:
        return as_dtype(_BY_NAME[d])
    try:
        np_dtype = numpy.dtype(d)
        if np_dtype in _COMPLEX_NP:
            _note_complex()
        return _BY_NP[np_dtype]
    except (TypeError, KeyError):
        raise TypeError(f"edunn has no dtype {d!r}; expected one of "
                        f"{', '.join('edunn.' + x.name for x in ALL_DTYPES)}") from None


def dtype_of(array: Any) -> dtype:
    try:
        return _BY_NP[array.dtype]
    except KeyError:
        if array.dtype in _COMPLEX_NP:
            _note_complex()
            return _COMPLEX_NP[array.dtype]
        raise TypeError(f"arrays of dtype {array.dtype} are not supported by edunn") from None


def promote_types(a: dtype, b: dtype) -> dtype:
    """PyTorch's ``promote_types``: the higher category wins; inside a category the wider type.
    (uint8 with int8 gives int16; float16 with bfloat16 gives float32.)  A complex type meeting
    a float type keeps the wider of the two real widths: float64 with complex64 is complex128."""
    if a is b:
        return a
    if a._kind != b._kind:
        hi, lo = (a, b) if a._kind > b._kind else (b, a)
        if hi._kind == 3 and lo._kind == 2:
            return promote_types(hi.to_real(), lo).to_complex()
        return hi
    if {a, b} == {uint8, int8}:
        return int16
    if {a, b} == {float16, bfloat16}:
        return float32
    return a if _RANK[a] >= _RANK[b] else b


def scalar_kind(value: Any) -> int:
    """PyTorch's category of a Python number: 0 bool, 1 int, 2 float, 3 complex."""
    if isinstance(value, bool):
        return 0
    if isinstance(value, int):
        return 1
    if isinstance(value, complex):
        _note_complex()
        return 3
    return 2


def _combine(dim_t: dtype, other: dtype) -> dtype:
    """torch's ``combine_categories``: a dimensioned operand of type ``dim_t`` meets a
    zero-dimensional tensor or a Python number of type ``other``.  ``other`` only counts when
    it is of a higher category; a complex one then takes the float operand's width
    (``float32_tensor * 1j`` is complex64, ``float64_tensor * 1j`` complex128)."""
    if other._kind <= dim_t._kind:
        return dim_t
    if other._kind == 3 and dim_t._kind == 2:
        return dim_t.to_complex()
    return other


def result_type(a_dtype: dtype, a_dim: int, b_dtype: dtype, b_dim: int) -> dtype:
    """The dtype of a binary op between tensors, as PyTorch computes it: a zero-dimensional tensor
    only decides the dtype when it is of a higher category than the dimensioned one."""
    if a_dtype is b_dtype:
        return a_dtype
    if (a_dim == 0) != (b_dim == 0):
        dim_t, zero_t = (a_dtype, b_dtype) if b_dim == 0 else (b_dtype, a_dtype)
        return _combine(dim_t, zero_t)
    return promote_types(a_dtype, b_dtype)


def scalar_default_dtype(value: Any) -> dtype:
    """The dtype a Python number gets as a tensor: bool, int64, the default float dtype, or its
    complex partner for a ``complex``."""
    kind = scalar_kind(value)
    return default_complex_dtype() if kind == 3 else (bool_, int64, _default_dtype)[kind]


def scalar_result_type(t_dtype: dtype, value: Any) -> dtype:
    """The dtype of ``tensor op python_scalar``: the scalar only matters when it is of a higher
    category (``int_tensor * 2.5`` is float32, ``float16_tensor * 2.5`` stays float16,
    ``float64_tensor * 1j`` is complex128)."""
    kind = scalar_kind(value)
    if kind <= t_dtype._kind:
        return t_dtype
    return _combine(t_dtype, scalar_default_dtype(value))


def check_dtype_on_device(np_dtype: Any, dev: device) -> None:
    if dev.type == "cuda" and numpy.dtype(np_dtype) == numpy.dtype(ml_dtypes.bfloat16):
        raise TypeError("bfloat16 tensors cannot live on CUDA in edunn: CuPy's bfloat16 support "
                        "is partial (new in CuPy 14); use float16 or float32 on the GPU")


def finfo(d: Any):
    return ml_dtypes.finfo(as_dtype(d).np) if as_dtype(d) is bfloat16 else numpy.finfo(as_dtype(d).np)


def iinfo(d: Any):
    return numpy.iinfo(as_dtype(d).np)


# ----------------------------------------------------------------------------------------------
# Random generators, one per device
# ----------------------------------------------------------------------------------------------
class Generator:
    """A random generator tied to one device: NumPy's PCG64 on the CPU, CuPy's on a GPU.
    ``edunn.manual_seed(s)`` reseeds the default generator of every device."""

    def __init__(self, device: "str | device" = "cpu"):
        self.device = as_device(device)
        self._seed = 67280421310721  # PyTorch's default seed
        self._gen = self._make(self._seed)

    def _make(self, seed: int):
        if self.device.type == "cuda":
            with cupy.cuda.Device(self.device.index):
                return cupy.random.default_rng(seed)
        return numpy.random.default_rng(seed)

    def manual_seed(self, seed: int) -> "Generator":
        seed = int(seed)
        if seed < 0:
            seed &= 0xFFFF_FFFF_FFFF_FFFF
        self._seed = seed
        self._gen = self._make(seed)
        return self

    def seed(self) -> int:
        seed = int(numpy.random.SeedSequence().entropy) & 0xFFFF_FFFF_FFFF_FFFF
        self.manual_seed(seed)
        return seed

    def initial_seed(self) -> int:
        return self._seed

    def get_state(self):
        """The generator's state: NumPy's bit-generator dict on the CPU; on CUDA a dict holding
        the seed and a host copy of CuPy's per-thread curand states, so ``set_state`` resumes the
        exact stream (PyTorch returns a ByteTensor; edunn keeps a plain dict, see README)."""
        if self.device.type == "cuda":
            return {"device": str(self.device), "seed": self._seed,
                    "curand_states": cupy.asnumpy(_curand_states(self._gen)).copy()}
        return self._gen.bit_generator.state

    def set_state(self, state) -> "Generator":
        if self.device.type == "cuda":
            if not isinstance(state, dict) or "curand_states" not in state:
                raise TypeError(f"set_state() of a CUDA generator expects the dict that get_state() "
                                f"returned, got {type(state).__name__}")
            self.manual_seed(state["seed"])
            live = _curand_states(self._gen)
            saved = numpy.asarray(state["curand_states"])
            if saved.shape != live.shape or saved.dtype != live.dtype:
                raise RuntimeError(f"set_state(): the saved curand states ({saved.shape}, {saved.dtype}) "
                                   f"do not fit this device's generator ({live.shape}, {live.dtype})")
            with cupy.cuda.Device(self.device.index):
                live[...] = cupy.asarray(saved)
            return self
        self._gen.bit_generator.state = state
        return self

    @property
    def rng(self):
        """The underlying NumPy/CuPy generator (``random``, ``normal``, ``integers``, ``permutation``).
        Every random op draws through here, so ``edunn.func.vmap(randomness=...)`` checks it."""
        if random_draw_hook is not None:
            random_draw_hook(self)
        return self._gen


def _curand_states(gen: Any) -> Any:
    """The device array in which CuPy's bit generator keeps its curand states (one per thread)."""
    states = getattr(gen.bit_generator, "_state", None)
    if not is_cupy_array(states):
        raise RuntimeError("this CuPy version does not expose its generator's curand states "
                           "(bit_generator._state), so CUDA generator state cannot be saved")
    return states


# Called with the generator before every random draw when set: edunn.func.vmap sets it so that a
# random op inside vmap(randomness='error') raises, as PyTorch's vmap does.
random_draw_hook: Any = None

_generators: dict[device, Generator] = {}
_gen_lock = threading.Lock()


def default_generator(dev: device = CPU) -> Generator:
    gen = _generators.get(dev)
    if gen is None:
        with _gen_lock:
            gen = _generators.get(dev)
            if gen is None:
                gen = _generators[dev] = Generator(dev)
    return gen


def manual_seed(seed: int) -> Generator:
    """Seed the default generator of the CPU and of every CUDA device (as ``torch.manual_seed``)."""
    cpu = default_generator(CPU).manual_seed(seed)
    for dev in list(_generators):
        if dev.type == "cuda":
            _generators[dev].manual_seed(seed)
    if cuda_available():
        for i in range(cuda_device_count()):
            default_generator(device("cuda", i)).manual_seed(seed)
    return cpu


def initial_seed() -> int:
    return default_generator(CPU).initial_seed()


def seed() -> int:
    s = int(numpy.random.SeedSequence().entropy) & 0x7FFF_FFFF_FFFF_FFFF
    manual_seed(s)
    return s


def can_cast_result(src_np: Any, dst_np: Any) -> bool:
    """Whether an in-place op may store a result of dtype ``src_np`` into a tensor of ``dst_np``:
    PyTorch allows it unless the result is of a higher category (float into an int tensor)."""
    return as_dtype(src_np)._kind <= as_dtype(dst_np)._kind


# ----------------------------------------------------------------------------------------------
# CUDA queries for ``edunn.cuda`` (CuPy's device runtime and memory pool)
# ----------------------------------------------------------------------------------------------
def _require_cuda(what: str) -> None:
    if not cuda_available():
        raise RuntimeError(f"edunn.cuda.{what}() needs a CUDA device: {CUDA_UNAVAILABLE}")


def cuda_current_device() -> int:
    _require_cuda("current_device")
    return int(cupy.cuda.runtime.getDevice())


def cuda_set_device(index: int) -> None:
    _require_cuda("set_device")
    cupy.cuda.runtime.setDevice(int(index))


def cuda_synchronize(index: int | None = None) -> None:
    _require_cuda("synchronize")
    if _pending_asserts:
        check_device_asserts()
    if index is None:
        cupy.cuda.Device().synchronize()
    else:
        cupy.cuda.Device(int(index)).synchronize()


def cuda_memory_allocated(index: int | None = None) -> int:
    """Bytes held by live arrays in CuPy's memory pool on device ``index`` (default: the current
    one), as ``torch.cuda.memory_allocated``."""
    _require_cuda("memory_allocated")
    with cupy.cuda.Device(index):
        return int(cupy.get_default_memory_pool().used_bytes())


def cuda_memory_reserved(index: int | None = None) -> int:
    """Bytes the pool has taken from the driver, used or cached (``torch.cuda.memory_reserved``)."""
    _require_cuda("memory_reserved")
    with cupy.cuda.Device(index):
        return int(cupy.get_default_memory_pool().total_bytes())


def cuda_empty_cache() -> None:
    if cupy is not None:
        cupy.get_default_memory_pool().free_all_blocks()


def cuda_device_properties(index: int | None = None) -> dict:
    """The CUDA runtime's description of a device (``cudaDeviceProp`` as a dict)."""
    _require_cuda("get_device_properties")
    return cupy.cuda.runtime.getDeviceProperties(cuda_current_device() if index is None else int(index))


def cuda_mem_get_info(index: int | None = None) -> tuple:
    """``(free, total)`` bytes of the device's memory, as the driver reports them."""
    _require_cuda("mem_get_info")
    with cupy.cuda.Device(index):
        free, total = cupy.cuda.runtime.memGetInfo()
    return int(free), int(total)


def cuda_device_name(index: int | None = None) -> str:
    _require_cuda("get_device_name")
    idx = cuda_current_device() if index is None else int(index)
    name = cupy.cuda.runtime.getDeviceProperties(idx)["name"]
    return name.decode() if isinstance(name, bytes) else str(name)


# ----------------------------------------------------------------------------------------------
# Scatter with repeated indices (the backward of indexing)
# ----------------------------------------------------------------------------------------------
def scatter_add_at(array: Any, index: Any, values: Any) -> None:
    """``array[index] += values`` in place, adding once per occurrence when ``index`` repeats a
    position (``numpy.add.at``; CuPy calls it ``cupyx.scatter_add``)."""
    if is_cupy_array(array):
        import cupyx  # type: ignore
        if array.dtype.kind == "c":  # CuPy's atomics have no complex type: add the two parts
            values = cupy.asarray(values, dtype=array.dtype)
            cupyx.scatter_add(array.real, index, values.real)
            cupyx.scatter_add(array.imag, index, values.imag)
            return
        cupyx.scatter_add(array, index, values)
    else:
        numpy.add.at(array, index, values)


def scatter_reduce_at(array: Any, index: Any, values: Any, op: str) -> None:
    """``array[index] = op(array[index], values)`` in place, once per occurrence of a position;
    ``op`` is ``"add"``, ``"multiply"``, ``"maximum"`` or ``"minimum"``.  CuPy has no scatter
    multiply, so that one case round-trips through the host."""
    if op == "add":
        return scatter_add_at(array, index, values)
    if is_cupy_array(array):
        import cupyx  # type: ignore
        if op in ("maximum", "minimum"):
            scatter = cupyx.scatter_max if op == "maximum" else cupyx.scatter_min
            if array.dtype.kind != "f":
                return scatter(array, index, values)
            # Floats go through their order-preserving unsigned keys, whose atomics are exact:
            # CuPy 14's atomicMax/atomicMin for double compare in float32 (fmaxf), and its float
            # versions drop NaNs.  A NaN's key wins, as NaN does in NumPy's maximum/minimum.at.
            # (float16's keys widen to 32 bits, which CuPy's atomics have; the order is kept.)
            wide = numpy.uint32 if array.dtype.itemsize == 2 else None
            nan = "high" if op == "maximum" else "low"
            keys, vals = (float_order_keys(a, nan) for a in (array, cupy.asarray(values, dtype=array.dtype)))
            if wide is not None:
                keys, vals = keys.astype(wide), vals.astype(wide)
            scatter(keys, index, vals)
            keys = keys.astype(numpy.uint16) if wide is not None else keys
            array[...] = float_from_order_keys(keys, array.dtype)
            return None
        host = cupy.asnumpy(array)
        idx = tuple(cupy.asnumpy(i) if is_cupy_array(i) else i for i in index) if isinstance(index, tuple) else (
            cupy.asnumpy(index) if is_cupy_array(index) else index)
        getattr(numpy, op).at(host, idx, cupy.asnumpy(values) if is_cupy_array(values) else values)
        array[...] = cupy.asarray(host)
        return None
    getattr(numpy, op).at(array, index, values)
    return None


_KEY_TYPES = {2: numpy.uint16, 4: numpy.uint32, 8: numpy.uint64}


def as_bits(array: Any) -> Any:
    """The same memory seen as unsigned integers of the same width (a view, any strides).
    Multiplying a gradient's bits by a 0/1 mask keeps or zeroes each number exactly -- a NaN or
    an infinity where the mask is 0 gives +0, as PyTorch's masked gradients, where a float
    product would give NaN."""
    return array.view(_KEY_TYPES[array.dtype.itemsize])


def float_order_keys(array: Any, nan: str = "high") -> Any:
    """Unsigned integers that sort as the floats do (IEEE 754: flip every bit of a negative
    number, only the sign bit of a positive one), so a max/min over keys is the max/min over
    values, exactly.  Every NaN gets the largest key (``nan="high"``: it wins a max) or the
    smallest (``"low"``: it wins a min); both decode to a NaN."""
    xp = array_module(array)
    utype = _KEY_TYPES[array.dtype.itemsize]
    bits = xp.ascontiguousarray(array).view(utype)
    sign = utype(1 << (8 * array.dtype.itemsize - 1))
    keys = xp.where(bits & sign, ~bits, bits | sign)
    return xp.where(xp.isnan(array), ~utype(0) if nan == "high" else utype(0), keys)


def float_from_order_keys(keys: Any, np_dtype: Any) -> Any:
    """The floats back from :func:`float_order_keys`."""
    xp = array_module(keys)
    sign = keys.dtype.type(1 << (8 * keys.dtype.itemsize - 1))
    return xp.where(keys & sign, keys ^ sign, ~keys).view(np_dtype)


# Checks of data on a GPU (an out-of-range class index ...) wait for the next moment edunn waits
# for the device anyway, instead of stopping the kernel queue on every call -- as CUDA's own
# device-side asserts do in PyTorch.  Each entry: (0-d bool device array, exception factory).
_pending_asserts: list = []
_MAX_PENDING = 256


def device_assert(failed: Any, make_error: Any) -> None:
    """Raise ``make_error()`` if the 0-d boolean array ``failed`` is true: at once on the CPU; on a
    GPU at the next synchronisation point (``.item()``, ``.cpu()``, ``.tolist()``,
    ``edunn.cuda.synchronize()`` ...), so a training step never waits for its own checks.
    ``make_error`` may read device arrays: it only runs once the check has failed."""
    if not is_cupy_array(failed):
        if failed:
            raise make_error()
        return
    _pending_asserts.append((failed, make_error))
    if len(_pending_asserts) >= _MAX_PENDING:  # never let them pile up without bound
        check_device_asserts()


def check_device_asserts() -> None:
    """Read every pending GPU check in one transfer per device; raise the first that failed (all
    are dropped, as a CUDA context is after a device-side assert)."""
    if not _pending_asserts:
        return
    pending = list(_pending_asserts)
    _pending_asserts.clear()
    hits = {}
    for index in dict.fromkeys(f.device.id for f, _ in pending):
        mine = [k for k, (f, _) in enumerate(pending) if f.device.id == index]
        with cupy.cuda.Device(index):
            read = cupy.asnumpy(cupy.stack([pending[k][0].reshape(()) for k in mine]))
        hits.update(zip(mine, read))
    for k, (failed, make_error) in enumerate(pending):
        if hits[k]:
            with cupy.cuda.Device(failed.device.id):  # the message may read that device's arrays
                err = make_error()
            raise type(err)(f"{err} (a device-side check of an earlier CUDA op, reported at this "
                            "synchronisation point)")


_kernels: dict = {}


def elementwise_kernel(spec: Any) -> Any:
    """The compiled CuPy ``ElementwiseKernel`` of a kernel spec (``_kernels.KernelSpec``),
    built once per spec.  Contraction into fused multiply-adds is off, so each operation of the
    body rounds as NumPy's does."""
    kernel = _kernels.get(spec)
    if kernel is None:
        kernel = _kernels[spec] = cupy.ElementwiseKernel(
            spec.in_params, spec.out_params, spec.body, spec.name, reduce_dims=spec.reduce_dims,
            options=("--fmad=false",))
    return kernel


def ufunc_accumulate(name: str, array: Any, axis: int) -> Any:
    """``numpy.<name>.accumulate(array, axis)`` -- the running max/min/logaddexp along ``axis``.
    CuPy implements ``accumulate`` for no ufunc but add and multiply, so on a GPU this is a
    Hillis-Steele scan: log2(n) rounds, round r combining each element with the one 2^r before
    it -- O(n log n) work, but every round is one vectorised kernel."""
    if not is_cupy_array(array):
        return getattr(numpy, name).accumulate(array, axis=axis)
    op = getattr(cupy, name)
    out = cupy.moveaxis(array, axis, -1).copy()
    n, step = out.shape[-1], 1
    while step < n:
        shifted = op(out[..., step:], out[..., :-step])  # reads the previous round only
        out[..., step:] = shifted
        step *= 2
    return cupy.moveaxis(out, -1, axis)


def as_ndarray(value: Any) -> Any:
    """A NumPy array from a NumPy scalar (what NumPy returns for 0-d results) or a number."""
    return numpy.asarray(value)


def element_offset(view: Any, base: Any) -> int:
    """How many elements ``view``'s first element lies after ``base``'s (both on one device)."""
    if is_cupy_array(view):
        return (view.data.ptr - base.data.ptr) // view.dtype.itemsize
    return (view.__array_interface__["data"][0] - base.__array_interface__["data"][0]) // view.dtype.itemsize


def writable(array: Any) -> bool:
    """Whether writing into ``array`` is safe: not read-only, and not a broadcast view or a view
    with a zero stride (``as_strided``), where several elements are one number in memory."""
    if not is_cupy_array(array) and not array.flags.writeable:
        return False
    return not self_overlapping(array)


def self_overlapping(array: Any) -> bool:
    """Whether several elements of ``array`` are one number in memory (a zero stride)."""
    return array.size > 1 and any(st == 0 and n > 1 for st, n in zip(array.strides, array.shape))


# ----------------------------------------------------------------------------------------------
# Bytes, for edunn.save / edunn.load (safetensors stores elements little-endian in C order)
# ----------------------------------------------------------------------------------------------
def array_to_bytes(array: Any) -> bytes:
    """The elements of ``array`` (any device, any strides) in C order as little-endian bytes."""
    host = to_numpy(array)
    if sys.byteorder == "big" and host.dtype.kind == "c":  # each part is swapped on its own
        host = numpy.ascontiguousarray(host).view(host.real.dtype)
    if sys.byteorder == "big" and host.dtype.itemsize > 1:
        host = host.view(f"u{host.dtype.itemsize}").byteswap()
    return host.tobytes(order="C")


def array_from_bytes(buffer: Any, np_dtype: Any, shape: tuple, offset: int = 0,
                     copy: bool = True) -> numpy.ndarray:
    """A CPU array of ``shape`` read from ``buffer[offset:]`` (little-endian, C order).  With
    ``copy=False`` the array shares the buffer's memory (a memory-mapped file) when it can."""
    np_dtype = numpy.dtype(np_dtype)
    count = 1
    for n in shape:
        count *= n
    if count == 0:
        return numpy.empty(shape, np_dtype)
    if np_dtype == numpy.bool_:  # any nonzero byte is True; never a bool byte other than 0/1
        return numpy.frombuffer(buffer, numpy.uint8, count, offset).reshape(shape) != 0
    array = numpy.frombuffer(buffer, np_dtype, count, offset).reshape(shape)
    if sys.byteorder == "big" and np_dtype.itemsize > 1:
        part = numpy.dtype(f"u{np_dtype.itemsize // 2}") if np_dtype.kind == "c" else \
            numpy.dtype(f"u{np_dtype.itemsize}")  # complex: each part is swapped on its own
        return array.view(part).byteswap().view(np_dtype)
    if copy or not array.flags.aligned:
        return array.copy()
    return array


# ----------------------------------------------------------------------------------------------
# NCCL, for edunn.distributed's "nccl" backend
# ----------------------------------------------------------------------------------------------
def cuda_nccl() -> Any:
    """CuPy's NCCL bindings (``cupy.cuda.nccl``), or ``None`` without CuPy or NCCL."""
    if cupy is None:
        return None
    try:
        from cupy.cuda import nccl  # type: ignore
    except Exception:
        return None
    return nccl if getattr(nccl, "available", True) else None
