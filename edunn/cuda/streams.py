"""``edunn.cuda.streams``: CUDA streams and events (``torch.cuda.Stream``, ``torch.cuda.Event``).

A *stream* is a queue of GPU work: kernels on one stream run in order, kernels on different
streams may overlap.  An *event* is a marker put into a stream (``record``); the CPU can wait
for it (``synchronize``), another stream can wait for it (``wait``), and two timed events give
the GPU time between them (``elapsed_time``, in milliseconds) -- the right way to time GPU code,
since kernel launches return before the work is done:

    start, end = edunn.cuda.Event(enable_timing=True), edunn.cuda.Event(enable_timing=True)
    start.record(); y = model(x); end.record()
    end.synchronize(); print(start.elapsed_time(end), "ms")

edunn's streams are CuPy streams (``cupy.cuda.Stream``), and every edunn op runs on CuPy's
current stream, so ``with edunn.cuda.stream(s):`` puts edunn's work on ``s``.  Events are CUDA
events created through CuPy's runtime bindings (``cupy.cuda.runtime.eventCreateWithFlags``),
which also lets :meth:`Event.from_ipc_handle` open an event another process shared.
"""
from __future__ import annotations

import warnings
from typing import Any

from . import _index, _require, current_device

__all__ = ["Stream", "ExternalStream", "Event", "StreamContext", "stream", "current_stream", "default_stream",
           "set_stream"]


class Stream:
    """A CUDA stream on ``device`` (default: the current one).  ``priority``: 0 is the default,
    negative numbers are higher priorities (as in CUDA and PyTorch)."""

    def __init__(self, device: Any = None, priority: int = 0, **kwargs: Any) -> None:
        cupy = _require("Stream")
        index = _index(device)
        self.device_index = current_device() if index is None else index
        if "_cupy_stream" in kwargs:   # wrapping an existing CuPy stream (current_stream & co.)
            self._stream = kwargs.pop("_cupy_stream")
        else:
            with cupy.cuda.Device(self.device_index):
                self._stream = cupy.cuda.Stream(non_blocking=True, priority=priority)
        if kwargs:
            raise TypeError(f"Stream() got unexpected keyword arguments {sorted(kwargs)}")

    @classmethod
    def _wrap(cls, cupy_stream: Any, device_index: int) -> "Stream":
        return cls(device_index, _cupy_stream=cupy_stream)

    @property
    def device(self) -> Any:
        from .. import backend
        return backend.device("cuda", self.device_index)

    @property
    def cuda_stream(self) -> int:
        """The raw ``cudaStream_t`` pointer (0 for the legacy default stream)."""
        return int(self._stream.ptr)

    @property
    def priority(self) -> int:
        return int(self._stream.priority)

    def wait_event(self, event: "Event") -> None:
        """Make later work on this stream wait until ``event`` has completed (the CPU does not wait)."""
        event.wait(self)

    def wait_stream(self, stream: "Stream") -> None:
        """Make later work on this stream wait for the work queued on ``stream`` so far."""
        self.wait_event(stream.record_event())

    def record_event(self, event: "Event | None" = None) -> "Event":
        """Record ``event`` (a new one if None) on this stream and return it."""
        if event is None:
            event = Event()
        event.record(self)
        return event

    def query(self) -> bool:
        """True when all work queued on this stream has finished."""
        return bool(self._stream.done)

    def synchronize(self) -> None:
        """Wait (on the CPU) for all work queued on this stream."""
        self._stream.synchronize()

    def __eq__(self, other: Any) -> bool:
        return isinstance(other, Stream) and (self.cuda_stream, self.device_index) == (
            other.cuda_stream, other.device_index)

    def __hash__(self) -> int:
        return hash((self.cuda_stream, self.device_index))

    def __repr__(self) -> str:
        return f"<edunn.cuda.Stream device=cuda:{self.device_index} cuda_stream={self.cuda_stream:#x}>"


class ExternalStream(Stream):
    """A stream created elsewhere (another library), given by its ``cudaStream_t`` pointer.
    The caller keeps it alive."""

    def __init__(self, stream_ptr: int, device: Any = None, **kwargs: Any) -> None:
        cupy = _require("ExternalStream")
        index = _index(device)
        index = current_device() if index is None else index
        with warnings.catch_warnings():   # CuPy 14 deprecates the class in favour of a protocol
            warnings.simplefilter("ignore", DeprecationWarning)
            external = cupy.cuda.ExternalStream(int(stream_ptr), index)
        super().__init__(index, _cupy_stream=external, **kwargs)


class Event:
    """A CUDA event.  ``enable_timing``: it can be used with :meth:`elapsed_time`;
    ``blocking``: :meth:`synchronize` sleeps rather than spins; ``interprocess``: it can be
    shared with another process (:meth:`ipc_handle`, needs ``enable_timing=False``);
    ``external``: it may be recorded/waited on inside a CUDA graph capture as an external node
    (CuPy records events the same way inside and outside a capture)."""

    def __init__(self, enable_timing: bool = False, blocking: bool = False, interprocess: bool = False,
                 external: bool = False) -> None:
        cupy = _require("Event")
        if interprocess and enable_timing:
            raise RuntimeError("An interprocess event cannot use timing: pass enable_timing=False")
        runtime = cupy.cuda.runtime
        flags = ((0 if enable_timing else runtime.eventDisableTiming)
                 | (runtime.eventBlockingSync if blocking else 0)
                 | (runtime.eventInterprocess if interprocess else 0))
        self.enable_timing, self.blocking, self.interprocess, self.external = (
            enable_timing, blocking, interprocess, external)
        self.device_index = current_device()
        self._runtime = runtime
        self._ptr = runtime.eventCreateWithFlags(flags)
        self._owned = True
        self._recorded = False

    @classmethod
    def from_ipc_handle(cls, device: Any, handle: bytes) -> "Event":
        """Open an event that another process shared with :meth:`ipc_handle`."""
        cupy = _require("Event.from_ipc_handle")
        event = cls.__new__(cls)
        event.enable_timing, event.blocking, event.interprocess, event.external = False, False, True, False
        index = _index(device)
        event.device_index = current_device() if index is None else index
        event._runtime = cupy.cuda.runtime
        with cupy.cuda.Device(event.device_index):
            event._ptr = cupy.cuda.runtime.ipcOpenEventHandle(handle)
        event._owned, event._recorded = False, True
        return event

    @property
    def cuda_event(self) -> int:
        """The raw ``cudaEvent_t`` pointer."""
        return int(self._ptr)

    def record(self, stream: Stream | None = None) -> None:
        """Put the event at the current end of ``stream`` (default: the current stream)."""
        stream = current_stream() if stream is None else stream
        self._runtime.eventRecord(self._ptr, stream._stream.ptr)
        self._recorded = True

    def wait(self, stream: Stream | None = None) -> None:
        """Make later work on ``stream`` (default: the current one) wait for this event."""
        stream = current_stream() if stream is None else stream
        if self._recorded:
            self._runtime.streamWaitEvent(stream._stream.ptr, self._ptr, 0)

    def query(self) -> bool:
        """True when the work before the event has completed (or it was never recorded)."""
        if not self._recorded:
            return True
        return self._runtime.eventQuery(self._ptr) == 0

    def synchronize(self) -> None:
        """Wait (on the CPU) until the work before the event has completed."""
        if self._recorded:
            self._runtime.eventSynchronize(self._ptr)

    def elapsed_time(self, end_event: "Event") -> float:
        """Milliseconds of GPU time between this event and ``end_event`` (both recorded and
        completed, both created with ``enable_timing=True``)."""
        if not (self.enable_timing and end_event.enable_timing):
            raise RuntimeError("Both events must be created with argument 'enable_timing=True'.")
        if not (self._recorded and end_event._recorded):
            raise RuntimeError("Both events must be recorded before calculating elapsed time.")
        return float(self._runtime.eventElapsedTime(self._ptr, end_event._ptr))

    def ipc_handle(self) -> bytes:
        """A handle another process can open with :meth:`from_ipc_handle` (``interprocess=True``)."""
        if not self.interprocess:
            raise RuntimeError("ipc_handle() needs an event created with interprocess=True")
        return self._runtime.ipcGetEventHandle(self._ptr)

    def __del__(self) -> None:
        if getattr(self, "_owned", False):
            try:
                self._runtime.eventDestroy(self._ptr)
            except Exception:  # interpreter shutdown: the driver may already be gone
                pass

    def __repr__(self) -> str:
        return f"<edunn.cuda.Event {self.cuda_event:#x}>" if self._recorded else "<edunn.cuda.Event uninitialized>"


def current_stream(device: Any = None) -> Stream:
    """The stream edunn's work on ``device`` (default: the current one) is queued on now."""
    cupy = _require("current_stream")
    index = _index(device)
    index = current_device() if index is None else index
    with cupy.cuda.Device(index):
        return Stream._wrap(cupy.cuda.get_current_stream(), index)


def default_stream(device: Any = None) -> Stream:
    """The device's default (legacy NULL) stream, which synchronises with the others."""
    cupy = _require("default_stream")
    index = _index(device)
    return Stream._wrap(cupy.cuda.Stream.null, current_device() if index is None else index)


def set_stream(stream: Stream) -> None:
    """Make ``stream`` the current one on its device (prefer :func:`stream`, which restores)."""
    cupy = _require("set_stream")
    if stream is None:
        return
    with cupy.cuda.Device(stream.device_index):
        stream._stream.use()


class StreamContext:
    """``with StreamContext(s):`` -- queue the block's work on ``s``; the previous current
    stream comes back on exit.  ``None`` (or no GPU) does nothing, as in PyTorch."""

    def __init__(self, stream: Stream | None) -> None:
        from . import is_available
        self.stream = stream
        self.idx = current_device() if is_available() else -1
        self.src_prev_stream: Stream | None = None
        self.dst_prev_stream: Stream | None = None

    def __enter__(self) -> None:
        cur_stream = self.stream
        if cur_stream is None or self.idx == -1:
            return
        self.src_prev_stream = current_stream(None)
        if self.src_prev_stream.device != cur_stream.device:
            self.dst_prev_stream = current_stream(cur_stream.device_index)
        set_stream(cur_stream)

    def __exit__(self, type: Any, value: Any, traceback: Any) -> None:
        cur_stream = self.stream
        if cur_stream is None or self.idx == -1:
            return
        if self.dst_prev_stream is not None:
            set_stream(self.dst_prev_stream)
        set_stream(self.src_prev_stream)


def stream(stream: Stream | None) -> StreamContext:
    """``with edunn.cuda.stream(s):`` -- a :class:`StreamContext`."""
    return StreamContext(stream)
