"""``edunn.cpu`` (``torch.cpu``): the CPU seen through the same functions as ``edunn.cuda``.

PyTorch has this module so that device-agnostic code (``getattr(torch, device.type)``,
``torch.accelerator``) can call ``synchronize()``, ``current_stream()``, ``Stream``,
``Event`` ... on any device.  On the CPU, work is done when the call returns: there is one
device, streams and events are placeholders whose methods do nothing (an event is always
complete), and synchronising has nothing to wait for -- exactly PyTorch's behaviour.
:func:`get_capabilities` reports the CPU's instruction-set features (as NumPy detected them).

``edunn.cpu.amp`` holds the deprecated ``autocast``/``GradScaler`` aliases.
"""
from __future__ import annotations

import os
import types
from contextlib import AbstractContextManager
from functools import lru_cache
from typing import Any

__all__ = ["is_available", "is_initialized", "synchronize", "current_device", "current_stream", "stream",
           "set_device", "device_count", "Stream", "StreamContext", "Event", "get_capabilities"]

# NumPy's feature names that differ from PyTorch's (cpuinfo's) spelling
_FEATURE_NAMES = {"SSE41": "sse4_1", "SSE42": "sse4_2", "ASIMDHP": "fp16arith"}


@lru_cache
def get_capabilities() -> types.MappingProxyType:
    """The CPU's instruction-set features (``{"avx2": True, "avx512f": True, ...}``), read-only.
    edunn reads them from NumPy's CPU detection; the names are lower-case, as PyTorch's."""
    from ..backends.cpu import cpu_features
    caps = {_feature_name(name): bool(value) for name, value in cpu_features().items()}
    caps["num_logical_cores"] = os.cpu_count() or 1
    return types.MappingProxyType(caps)


def _feature_name(numpy_name: str) -> str:
    """NumPy's "AVX512BW" -> PyTorch's (cpuinfo's) "avx512_bw"; "SSE41" -> "sse4_1"."""
    name = _FEATURE_NAMES.get(numpy_name, numpy_name.lower())
    if name.startswith("avx512") and not name.startswith("avx512_"):
        name = "avx512_" + name[len("avx512"):]
    return name


def is_available() -> bool:
    """Always True: there is always a CPU."""
    return True


def is_initialized() -> bool:
    """Always True."""
    return True


def synchronize(device: Any = None) -> None:
    """Wait for the CPU's work: nothing to wait for, every op has finished when it returns."""


def device_count() -> int:
    """The number of CPU *devices* (not cores): always 1."""
    return 1


def set_device(device: Any) -> None:
    """Select a CPU device: there is only one, so nothing happens."""


def current_device() -> str:
    """Always ``'cpu'``."""
    return "cpu"


class Stream:
    """A CPU "stream": a placeholder for device-agnostic code; its methods do nothing."""

    def __init__(self, priority: int = -1) -> None:
        pass

    def wait_stream(self, stream: Any) -> None:
        pass

    def record_event(self) -> None:
        pass

    def wait_event(self, event: Any) -> None:
        pass


class Event:
    """A CPU "event": always complete (``query()`` is True); the other methods do nothing."""

    def query(self) -> bool:
        return True

    def record(self, stream: Any = None) -> None:
        pass

    def synchronize(self) -> None:
        pass

    def wait(self, stream: Any = None) -> None:
        pass


_default_cpu_stream = Stream()
_current_stream = _default_cpu_stream


def current_stream(device: Any = None) -> Stream:
    """The stream selected by the innermost :func:`stream` block (``device`` is ignored)."""
    return _current_stream


class StreamContext(AbstractContextManager):
    """``with StreamContext(s):`` makes ``s`` the current CPU stream; ``None`` does nothing."""

    cur_stream: Stream | None

    def __init__(self, stream: Stream | None) -> None:
        self.stream = stream
        self.prev_stream = _default_cpu_stream

    def __enter__(self) -> None:
        global _current_stream
        if self.stream is None:
            return
        self.prev_stream = _current_stream
        _current_stream = self.stream

    def __exit__(self, type: Any, value: Any, traceback: Any) -> None:
        global _current_stream
        if self.stream is None:
            return
        _current_stream = self.prev_stream


def stream(stream: Stream) -> AbstractContextManager:
    """``with edunn.cpu.stream(s):`` -- a :class:`StreamContext`."""
    return StreamContext(stream)


from . import amp  # noqa: E402

_SUBMODULES = (amp,)
