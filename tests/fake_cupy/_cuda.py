"""``cupy.cuda`` of the stand-in: devices, the runtime calls edunn makes, streams, events, NVTX,
memory hooks.  Nothing runs asynchronously, so every event is complete once recorded and every
stream is idle; elapsed times are host time."""
from __future__ import annotations

import itertools
import threading
import time
import types

from . import _array
from ._array import Device, check_sync, current_device, set_current_device

DEVICES = [1]  # how many pretend GPUs (install() sets it)
_TOTAL_MEMORY = 80 * 2**30


class CUDARuntimeError(RuntimeError):
    def __init__(self, status: int, message: str = ""):
        self.status = status
        super().__init__(message or f"cudaError {status}")


def check_ordinal(index: int) -> None:
    if not 0 <= index < DEVICES[0]:
        raise CUDARuntimeError(101, "cudaErrorInvalidDevice: invalid device ordinal")


# -- runtime --------------------------------------------------------------------------------------
_handles = itertools.count(0x1000, 0x10)
_events: dict = {}


def _event_create(flags: int = 0) -> int:
    ptr = next(_handles)
    _events[ptr] = {"time": None, "flags": flags, "device": current_device()}
    return ptr


def _event_record(ptr: int, stream: int = 0) -> None:
    _events[ptr]["time"] = time.perf_counter()


def _event_elapsed(start: int, end: int) -> float:
    a, b = _events[start], _events[end]
    if a["time"] is None or b["time"] is None:
        raise CUDARuntimeError(600, "cudaErrorNotReady: an event was not recorded")
    if (a["flags"] | b["flags"]) & 2:
        raise CUDARuntimeError(1, "cudaErrorInvalidResourceHandle: an event was created with timing disabled")
    return (b["time"] - a["time"]) * 1000.0


def _properties(index: int) -> dict:
    check_ordinal(index)
    return {"name": b"NVIDIA H100 80GB HBM3 (CuPy stand-in)", "totalGlobalMem": _TOTAL_MEMORY,
            "major": 9, "minor": 0, "multiProcessorCount": 132, "warpSize": 32,
            "maxThreadsPerBlock": 1024, "sharedMemPerBlock": 49152, "clockRate": 1980000,
            "l2CacheSize": 52428800, "uuid": bytes(16), "pciBusID": index, "integrated": 0,
            "isMultiGpuBoard": 0, "regsPerBlock": 65536, "memoryClockRate": 2619000,
            "memoryBusWidth": 5120, "maxThreadsPerMultiProcessor": 2048}


def _set_device(index: int) -> None:
    check_ordinal(int(index))
    set_current_device(int(index))


def make_runtime() -> types.ModuleType:
    rt = types.ModuleType("cupy.cuda.runtime")
    rt.CUDARuntimeError = CUDARuntimeError
    rt.is_hip = False
    rt.getDeviceCount = lambda: DEVICES[0]
    rt.getDevice = current_device
    rt.setDevice = _set_device
    rt.getDeviceProperties = _properties
    rt.deviceSynchronize = lambda: check_sync("deviceSynchronize")
    rt.memGetInfo = lambda: (_TOTAL_MEMORY - _array.POOL.total_bytes(), _TOTAL_MEMORY)
    rt.runtimeGetVersion = lambda: 13000
    rt.driverGetVersion = lambda: 13000
    rt.eventDefault, rt.eventBlockingSync, rt.eventDisableTiming, rt.eventInterprocess = 0, 1, 2, 4
    rt.streamCaptureModeGlobal, rt.streamCaptureModeThreadLocal, rt.streamCaptureModeRelaxed = 0, 1, 2
    rt.eventCreateWithFlags = _event_create
    rt.eventCreate = lambda: _event_create(0)
    rt.eventRecord = _event_record
    rt.eventQuery = lambda ptr: 0  # cudaSuccess: nothing is ever pending
    rt.eventSynchronize = lambda ptr: check_sync("eventSynchronize")
    rt.eventElapsedTime = _event_elapsed
    rt.eventDestroy = lambda ptr: _events.pop(ptr, None)
    rt.ipcGetEventHandle = lambda ptr: ptr.to_bytes(8, "little") + bytes(56)
    rt.ipcOpenEventHandle = lambda handle: int.from_bytes(bytes(handle)[:8], "little")
    rt.streamWaitEvent = lambda stream, event, flags=0: None
    rt.streamQuery = lambda stream: 0
    rt.streamSynchronize = lambda stream: check_sync("streamSynchronize")
    return rt


# -- streams and events ---------------------------------------------------------------------------
_current_streams = threading.local()


class Stream:
    null: "Stream"

    def __init__(self, null=False, non_blocking=False, ptds=False, priority=0):
        self.ptr = 0 if null else next(_handles)
        self.device_id = current_device()
        self.priority = int(priority)
        self._capturing = False

    @property
    def done(self) -> bool:
        return True

    def synchronize(self) -> None:
        check_sync("Stream.synchronize")

    def use(self) -> "Stream":
        streams = getattr(_current_streams, "by_device", None)
        if streams is None:
            streams = _current_streams.by_device = {}
        streams[current_device()] = self
        return self

    def __enter__(self):
        self._previous = get_current_stream()
        return self.use()

    def __exit__(self, *exc):
        self._previous.use()
        return False

    def record(self, event=None) -> "Event":
        event = event or Event()
        event.record(self)
        return event

    def wait_event(self, event) -> None:
        return None

    def add_callback(self, callback, arg) -> None:
        callback(self, 0, arg)

    def is_capturing(self) -> bool:
        return self._capturing

    def begin_capture(self, mode=None) -> None:
        raise RuntimeError("the CuPy stand-in (tests/fake_cupy) cannot capture CUDA graphs")

    def end_capture(self):
        raise RuntimeError("the CuPy stand-in (tests/fake_cupy) cannot capture CUDA graphs")

    def __eq__(self, other):
        return isinstance(other, Stream) and other.ptr == self.ptr and other.device_id == self.device_id

    def __hash__(self):
        return hash((self.ptr, self.device_id))

    def __repr__(self):
        return f"<Stream {self.ptr} (device {self.device_id})>"


Stream.null = Stream(null=True)


class ExternalStream(Stream):
    def __init__(self, ptr, device_id=-1):
        super().__init__()
        self.ptr = int(ptr)
        self.device_id = current_device() if device_id < 0 else device_id


def get_current_stream(device_id=None) -> Stream:
    streams = getattr(_current_streams, "by_device", {})
    return streams.get(current_device() if device_id is None else device_id, Stream.null)


class Event:
    def __init__(self, block=False, disable_timing=False, interprocess=False):
        self.ptr = _event_create((1 if block else 0) | (2 if disable_timing else 0) | (4 if interprocess else 0))

    def record(self, stream=None) -> None:
        _event_record(self.ptr)

    def synchronize(self) -> None:
        check_sync("Event.synchronize")

    @property
    def done(self) -> bool:
        return True


def get_elapsed_time(start: Event, end: Event) -> float:
    return _event_elapsed(start.ptr, end.ptr)


class Graph:
    def launch(self, stream=None):
        raise RuntimeError("the CuPy stand-in (tests/fake_cupy) cannot replay CUDA graphs")

    upload = launch


class MemoryHook:
    """``cupy.cuda.MemoryHook``: entering installs it on the stand-in's pool."""
    name = "MemoryHook"

    def __enter__(self):
        _array.POOL.hooks.append(self)
        return self

    def __exit__(self, *exc):
        _array.POOL.hooks.remove(self)
        return False

    def alloc_postprocess(self, **kwargs):
        return None

    def malloc_postprocess(self, **kwargs):
        return None

    def free_postprocess(self, **kwargs):
        return None


def make_cuda() -> types.ModuleType:
    cuda = types.ModuleType("cupy.cuda")
    cuda.__path__ = []
    cuda.Device, cuda.Stream, cuda.ExternalStream, cuda.Event = Device, Stream, ExternalStream, Event
    cuda.Graph, cuda.MemoryHook = Graph, MemoryHook
    cuda.get_current_stream, cuda.get_elapsed_time = get_current_stream, get_elapsed_time
    cuda.runtime = make_runtime()
    cuda.is_available = lambda: DEVICES[0] > 0
    nvtx = types.ModuleType("cupy.cuda.nvtx")
    nvtx.available = False
    cuda.nvtx = nvtx
    return cuda
