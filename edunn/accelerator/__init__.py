"""``edunn.accelerator`` (``torch.accelerator``): device-agnostic access to "the" accelerator.

PyTorch 2.6+ lets code ask for the current accelerator without naming CUDA, MPS, XPU ...:
``torch.accelerator.current_accelerator()`` is ``device("cuda")`` on an NVIDIA machine and
None on a CPU-only one, and the functions below (synchronise, streams, memory statistics)
forward to that device's module.  edunn's only accelerator is CUDA, through CuPy, so each
function here forwards to :mod:`edunn.cuda`; without a GPU, :func:`is_available` is False,
:func:`current_accelerator` is None, :func:`device_count` is 0, ``device_index(None)`` does
nothing, and everything that needs a device raises PyTorch's ``RuntimeError("Cannot access
accelerator device when none is available.")`` (what PyTorch's CPU build does, checked
function by function).
"""
from __future__ import annotations

import warnings
from collections import OrderedDict
from typing import Any, Literal

from .. import backend
from .. import cuda as _cuda

__all__ = ["Graph", "current_accelerator", "current_device_idx", "current_device_index", "get_device_capability",
           "current_stream", "device_count", "device_index", "empty_cache", "empty_host_cache", "get_memory_info",
           "is_available", "max_memory_allocated", "max_memory_reserved", "memory_allocated", "memory_reserved",
           "memory_stats", "reset_accumulated_memory_stats", "reset_peak_memory_stats", "set_device_idx",
           "set_device_index", "set_stream", "synchronize"]


def _require() -> None:
    if not is_available():
        raise RuntimeError("Cannot access accelerator device when none is available.")


# ``None``, an int, ``"cuda:1"`` or a device -> an index; another device type is refused, as
# PyTorch's ``_get_device_index``.
_device_index = _cuda._index


def is_available() -> bool:
    """Whether there is an accelerator to use (a CUDA GPU that CuPy sees)."""
    return _cuda.is_available()


def current_accelerator(check_available: bool = False) -> backend.device | None:
    """``device("cuda")`` when edunn can use a GPU, else None.  (edunn's CUDA support is only
    *built in* when CuPy is importable; ``check_available`` asks that a device is present,
    which edunn always does, so both spellings agree.)"""
    return backend.device("cuda") if is_available() else None


def device_count() -> int:
    """How many accelerator devices there are (0 without a GPU)."""
    return _cuda.device_count() if is_available() else 0


def current_device_index() -> int:
    """The index of the current accelerator device."""
    _require()
    return _cuda.current_device()


def current_device_idx() -> int:
    """Deprecated name of :func:`current_device_index`."""
    warnings.warn("Use `current_device_index` instead.", FutureWarning, stacklevel=2)
    return current_device_index()


def set_device_index(device: Any, /) -> None:
    """Make ``device`` the current accelerator device."""
    _require()
    index = _device_index(device)
    if index is not None and index >= 0:
        _cuda.set_device(index)


def set_device_idx(device: Any, /) -> None:
    """Deprecated name of :func:`set_device_index`."""
    warnings.warn("Use `set_device_index` instead.", FutureWarning, stacklevel=2)
    set_device_index(device)


class device_index:
    """``with edunn.accelerator.device_index(1):`` -- device 1 is current inside the block;
    ``None`` does nothing."""

    def __init__(self, device: int | None, /) -> None:
        self.idx = device
        self.prev_idx = -1

    def __enter__(self) -> None:
        if self.idx is not None:
            _require()
            self.prev_idx = _cuda.current_device()
            _cuda.set_device(self.idx)

    def __exit__(self, *exc_info: object) -> None:
        if self.idx is not None:
            _cuda.set_device(self.prev_idx)


def get_device_capability(device: Any = None, /) -> dict[str, Any]:
    """What the device supports: ``{"supported_dtypes": {...}}``, the dtypes edunn can store on
    CUDA (every dtype but bfloat16, which CuPy cannot compute in)."""
    _require()
    _device_index(device)
    names = ("bool", "uint8", "int8", "int16", "int32", "int64", "float16", "float32", "float64")
    return {"supported_dtypes": {backend.as_dtype(name) for name in names}}


def synchronize(device: Any = None, /) -> None:
    """Wait for all work queued on the device."""
    _require()
    _cuda.synchronize(_device_index(device))


def current_stream(device: Any = None, /) -> "_cuda.Stream":
    """The device's current stream (an ``edunn.cuda.Stream``)."""
    _require()
    return _cuda.current_stream(_device_index(device))


def set_stream(stream: "_cuda.Stream") -> None:
    """Make ``stream`` its device's current stream."""
    _require()
    _cuda.set_stream(stream)


def empty_cache() -> None:
    """Give the allocator's unused cached memory back to the driver."""
    _require()
    _cuda.empty_cache()


def empty_host_cache() -> None:
    """Free cached pinned host memory (CuPy's pinned-memory pool)."""
    _require()
    backend.cupy.get_default_pinned_memory_pool().free_all_blocks()


def get_memory_info(device_index: Any = None, /) -> tuple[int, int]:
    """``(free, total)`` bytes of the device's memory."""
    _require()
    return _cuda.mem_get_info(_device_index(device_index))


def memory_stats(device_index: Any = None, /) -> OrderedDict:
    """The allocator's statistics (``edunn.cuda.memory_stats``)."""
    _require()
    return OrderedDict(_cuda.memory_stats(_device_index(device_index)))


def memory_allocated(device_index: Any = None, /) -> int:
    _require()
    return _cuda.memory_allocated(_device_index(device_index))


def max_memory_allocated(device_index: Any = None, /) -> int:
    _require()
    return _cuda.max_memory_allocated(_device_index(device_index))


def memory_reserved(device_index: Any = None, /) -> int:
    _require()
    return _cuda.memory_reserved(_device_index(device_index))


def max_memory_reserved(device_index: Any = None, /) -> int:
    _require()
    return _cuda.max_memory_reserved(_device_index(device_index))


def reset_accumulated_memory_stats(device_index: Any = None, /) -> None:
    _require()
    _cuda.reset_accumulated_memory_stats(_device_index(device_index))


def reset_peak_memory_stats(device_index: Any = None, /) -> None:
    _require()
    _cuda.reset_peak_memory_stats(_device_index(device_index))


class Graph:
    """A device-agnostic graph (``torch.accelerator.Graph``): an ``edunn.cuda.CUDAGraph`` that
    is also a context manager capturing the block on the current stream.  ``keep_graph``,
    ``pool`` and ``capture_error_mode`` ("default" = "global") as in PyTorch."""

    def __init__(self, keep_graph: bool = False, *, pool: tuple[int, int] | None = None,
                 capture_error_mode: Literal["default", "global", "thread_local", "relaxed"] = "default") -> None:
        _require()
        self._graph = _cuda.CUDAGraph(keep_graph)
        self._pool = pool
        self._mode = "global" if capture_error_mode == "default" else capture_error_mode

    def capture_begin(self) -> None:
        self._graph.capture_begin(self._pool, capture_error_mode=self._mode)

    def capture_end(self) -> None:
        self._graph.capture_end()

    def instantiate(self) -> None:
        self._graph.instantiate()

    def replay(self) -> None:
        self._graph.replay()

    def reset(self) -> None:
        self._graph.reset()

    def pool(self) -> tuple[int, int]:
        return self._graph.pool()

    def enable_debug_mode(self) -> None:
        self._graph.enable_debug_mode()

    def debug_dump(self, path: str) -> None:
        self._graph.debug_dump(path)

    def __enter__(self) -> "Graph":
        self.capture_begin()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.capture_end()
