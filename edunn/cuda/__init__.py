"""``edunn.cuda``: ask about the GPUs and drive them, as ``torch.cuda`` does.

Everything goes through CuPy, which ``backend.py`` imports (``backend.cupy``; ``None`` without
it): this package reaches it only through :func:`_require`, which raises ``RuntimeError``
saying CUDA is not available when there is no CuPy or no GPU.  Without a GPU,
``is_available()`` is False and ``device_count()`` is 0; the seeding functions do nothing (as
PyTorch's, so a script that seeds "everything" runs on a laptop); the questions with a natural
"no" answer (``is_bf16_supported``, ``is_initialized``, ``get_arch_list``) answer it; the
functions that need a device raise.  Lesson 18 (GPUs) uses this module.

The pieces, laid out as ``torch/cuda/``:

* here -- devices (``device``, ``device_of``, ``set_device`` ...), properties, capabilities,
  ``init``, the synchronisation debug mode;
* :mod:`.streams` -- ``Stream``, ``ExternalStream``, ``Event`` (CuPy streams and CUDA events)
  and the stream context managers;
* :mod:`.memory` -- CuPy's memory pool seen as PyTorch's caching allocator (``memory_stats``,
  peaks, ``memory_summary``, ``set_per_process_memory_fraction``);
* :mod:`.random`, :mod:`.amp`, :mod:`.nvtx`, :mod:`.graphs` -- as in PyTorch.
"""
from __future__ import annotations

from typing import Any

from .. import backend

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize",
           "manual_seed", "manual_seed_all", "memory_allocated", "memory_reserved", "empty_cache",
           "get_device_name", "get_rng_state", "set_rng_state", "get_rng_state_all",
           "set_rng_state_all", "seed", "seed_all", "initial_seed", "get_device_properties",
           "get_device_capability", "mem_get_info", "device", "device_of", "init", "is_initialized",
           "is_bf16_supported", "is_tf32_supported", "get_arch_list", "get_gencode_flags", "ipc_collect",
           "get_sync_debug_mode", "set_sync_debug_mode", "Event", "Stream", "ExternalStream", "StreamContext",
           "stream", "current_stream", "default_stream", "set_stream", "memory_stats",
           "memory_stats_as_nested_dict", "memory_summary", "memory_snapshot", "max_memory_allocated",
           "max_memory_reserved", "reset_peak_memory_stats", "reset_max_memory_allocated",
           "reset_max_memory_cached", "reset_accumulated_memory_stats", "memory_cached", "max_memory_cached",
           "set_per_process_memory_fraction", "get_per_process_memory_fraction", "CUDAGraph", "graph",
           "graph_pool_handle", "is_current_stream_capturing", "make_graphed_callables"]

_state = {"initialized": False, "sync_debug_mode": 0}


def _require(what: str) -> Any:
    """CuPy, when a CUDA device can be used; otherwise edunn's "CUDA is not available" error
    naming ``edunn.cuda.<what>()``.  Every function here that needs the GPU starts with it."""
    backend._require_cuda(what)
    _state["initialized"] = True
    return backend.cupy


def _index(device: Any) -> int | None:
    """``None``, an int, ``"cuda:1"`` or ``edunn.device("cuda", 1)`` -> a device index."""
    if device is None or isinstance(device, int):
        return device
    dev = backend.device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return dev.index


def is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device."""
    return backend.cuda_available()


def device_count() -> int:
    """How many CUDA devices there are (0 without CuPy or a GPU)."""
    return backend.cuda_device_count()


def current_device() -> int:
    """The index of the device that ``"cuda"`` means now."""
    return backend.cuda_current_device()


def set_device(device: Any) -> None:
    """Make ``device`` the one that ``"cuda"`` means."""
    backend.cuda_set_device(_index(device))


def synchronize(device: Any = None) -> None:
    """Wait until every kernel queued on ``device`` (default: the current one) has finished --
    needed before reading a clock to time GPU code."""
    backend.cuda_synchronize(_index(device))


def init() -> None:
    """Initialise CUDA now rather than at the first GPU operation (PyTorch's lazy init):
    CuPy creates the current device's context."""
    cupy = _require("init")
    cupy.cuda.Device(current_device()).use()


def is_initialized() -> bool:
    """Whether CUDA has been initialised in this process (by :func:`init` or by a call here
    that used the GPU); False without a GPU."""
    return _state["initialized"] and is_available()


class device:
    """``with edunn.cuda.device(1): ...`` -- make device 1 the current one inside the block.
    ``None`` or a negative index does nothing (as PyTorch)."""

    def __init__(self, device: Any) -> None:
        index = _index(device)
        self.idx = -1 if index is None else index
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx < 0:
            return
        self.prev_idx = current_device()
        if self.prev_idx != self.idx:
            set_device(self.idx)

    def __exit__(self, type: Any, value: Any, traceback: Any) -> bool:
        if self.idx >= 0 and self.prev_idx != self.idx:
            set_device(self.prev_idx)
        return False


class device_of(device):
    """``with edunn.cuda.device_of(tensor):`` -- the tensor's device becomes the current one (a
    CPU tensor changes nothing)."""

    def __init__(self, obj: Any) -> None:
        super().__init__(obj.get_device() if obj.is_cuda else -1)


def manual_seed(seed: int) -> None:
    """Seed the default generator of the current CUDA device (nothing without CUDA)."""
    if is_available():
        index = current_device()
        backend.default_generator(backend.device("cuda", index)).manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the default generator of every CUDA device (nothing without CUDA)."""
    for index in range(device_count()):
        backend.default_generator(backend.device("cuda", index)).manual_seed(seed)


class _CudaDeviceProperties:
    """What ``get_device_properties`` returns: PyTorch's field names."""

    def __init__(self, props: dict) -> None:
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else str(name)
        self.major, self.minor = int(props["major"]), int(props["minor"])
        self.total_memory = int(props["totalGlobalMem"])
        self.multi_processor_count = int(props["multiProcessorCount"])

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device: Any = None) -> _CudaDeviceProperties:
    """Name, compute capability, memory and multiprocessor count of a device."""
    return _CudaDeviceProperties(backend.cuda_device_properties(_index(device)))


def get_device_capability(device: Any = None) -> tuple:
    """The compute capability ``(major, minor)``, e.g. ``(9, 0)`` for an H100."""
    props = get_device_properties(device)
    return props.major, props.minor


def mem_get_info(device: Any = None) -> tuple:
    """``(free, total)`` bytes of the device's memory, from the driver."""
    return backend.cuda_mem_get_info(_index(device))


def get_device_name(device: Any = None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H100 80GB HBM3'``."""
    return backend.cuda_device_name(_index(device))


def is_bf16_supported(including_emulation: bool = True) -> bool:
    """Whether bfloat16 tensors can be used on CUDA: False in edunn, on every GPU.  NumPy has no
    bfloat16 (edunn takes it from ``ml_dtypes``) and CuPy cannot compute in that dtype, so
    edunn refuses bfloat16 CUDA tensors with a clear error; use float16 on the GPU."""
    return False


def is_tf32_supported() -> bool:
    """Whether the current GPU has TensorFloat-32 units (compute capability 8.0 or newer);
    False without a GPU.  edunn's own float32 products do not use them (see
    ``edunn.backends.cuda``)."""
    return is_available() and get_device_capability() >= (8, 0)


def get_arch_list() -> list[str]:
    """The GPU architectures the library's kernels are built for (``["sm_90"]``).  CuPy
    compiles its kernels at run time for the GPUs it finds, so these are the present GPUs'
    architectures; ``[]`` without CUDA."""
    if not is_available():
        return []
    return sorted({"sm_%d%d" % get_device_capability(i) for i in range(device_count())})


def get_gencode_flags() -> str:
    """NVCC ``-gencode`` flags for :func:`get_arch_list` (``""`` without CUDA)."""
    return " ".join(f"-gencode compute=compute_{arch[3:]},code={arch}" for arch in get_arch_list())


def ipc_collect() -> None:
    """Free GPU memory that other processes received through CUDA IPC and released.  edunn
    never shares memory between processes this way (``edunn.distributed`` copies through
    NCCL), so after checking for a device there is nothing to collect."""
    _require("ipc_collect")


def get_sync_debug_mode() -> int:
    """0 ("default"), 1 ("warn") or 2 ("error"): PyTorch's reaction to operations that make the
    CPU wait for the GPU (``.item()``, ``.cpu()``, ...).  edunn records the mode; it does not
    intercept CuPy's synchronisations."""
    _require("get_sync_debug_mode")
    return _state["sync_debug_mode"]


def set_sync_debug_mode(debug_mode: int | str) -> None:
    """Set the mode (an int 0-2 or "default"/"warn"/"error"); see :func:`get_sync_debug_mode`."""
    _require("set_sync_debug_mode")
    if isinstance(debug_mode, str):
        modes = {"default": 0, "warn": 1, "error": 2}
        if debug_mode not in modes:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, `warn`, `error`")
        debug_mode = modes[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1 or 2, got {debug_mode!r}")
    _state["sync_debug_mode"] = int(debug_mode)


from .random import (get_rng_state, set_rng_state, get_rng_state_all, set_rng_state_all,  # noqa: E402
                     seed, seed_all, initial_seed)
from .streams import (Event, Stream, ExternalStream, StreamContext, stream, current_stream,  # noqa: E402
                      default_stream, set_stream)
from .memory import (memory_allocated, memory_reserved, empty_cache, memory_stats,  # noqa: E402
                     memory_stats_as_nested_dict, memory_summary, memory_snapshot, max_memory_allocated,
                     max_memory_reserved, reset_peak_memory_stats, reset_max_memory_allocated,
                     reset_max_memory_cached, reset_accumulated_memory_stats, memory_cached, max_memory_cached,
                     set_per_process_memory_fraction, get_per_process_memory_fraction)
from .graphs import (CUDAGraph, graph, graph_pool_handle, is_current_stream_capturing,  # noqa: E402
                     make_graphed_callables)
from . import amp, nvtx, random, streams, memory, graphs  # noqa: E402

_SUBMODULES = (amp, nvtx, random, streams, memory, graphs)
from .._typed_tensors import (CudaFloatTensor as FloatTensor, CudaDoubleTensor as DoubleTensor,  # noqa: E402,F401
                              CudaHalfTensor as HalfTensor, CudaBFloat16Tensor as BFloat16Tensor,
                              CudaByteTensor as ByteTensor, CudaCharTensor as CharTensor,
                              CudaShortTensor as ShortTensor, CudaIntTensor as IntTensor,
                              CudaLongTensor as LongTensor, CudaBoolTensor as BoolTensor)
