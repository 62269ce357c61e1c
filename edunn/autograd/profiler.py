"""``edunn.autograd.profiler``: PyTorch's original profiler API (``torch.autograd.profiler``).

``profile`` records every op run inside it (and ``record_function`` ranges) and summarizes them
as an ``EventList``; ``edunn.profiler.profile`` is the newer interface to the same recorder
(``edunn/profiler/_recorder.py``, which explains what is measured and how).  The event classes
live in ``edunn/profiler/_events.py`` and are shared by both.

Also here: ``emit_nvtx`` (NVTX ranges for NVIDIA's profilers, through CuPy), ``emit_itt``
(Intel's ITT ranges for VTune; edunn has no ITT, so they go nowhere), ``load_nvprof``/``parse_nvprof_trace`` (read an
``nvprof`` SQLite trace), ``EnforceUnique``, ``KinetoStepTracker`` and ``MemRecordsAcc``.
"""
from __future__ import annotations

import uuid
import warnings
from typing import Any

from .. import backend
from . import op_hooks
from ..profiler._events import EventList, FunctionEvent, MemRecordsAcc
from ..profiler._recorder import KinetoStepTracker, Recorder, op_name, record_function

__all__ = ["profile", "record_function", "emit_itt", "emit_nvtx", "load_nvprof", "EnforceUnique",
           "parse_nvprof_trace", "KinetoStepTracker", "EventList", "FunctionEvent", "MemRecordsAcc"]


def kineto_available() -> bool:
    """False: edunn has no Kineto; its profilers record through ``op_hooks`` instead."""
    return False


class profile:
    """Record the ops run in the ``with`` block (``torch.autograd.profiler.profile``).

    Example::

        with edunn.autograd.profiler.profile(record_shapes=True) as prof:
            model(x).sum().backward()
        print(prof.key_averages().table(sort_by="self_cpu_time_total"))

    ``use_cuda=True`` (deprecated, warns) is ``use_device="cuda"``; without CUDA it warns and
    profiles the CPU only, as PyTorch does.  ``with_flops`` implies ``record_shapes``, as in
    PyTorch.  ``use_kineto``, ``experimental_config``, ``post_processing_timeout_s`` and
    ``activity_filters`` are accepted and kept (edunn has no Kineto: the same recorder serves).
    """

    def __init__(self, enabled=True, *, use_cuda=False, use_device=None, record_shapes=False,
                 with_flops=False, profile_memory=False, with_stack=False, with_modules=False,
                 use_kineto=False, use_cpu=True, experimental_config=None, acc_events=False,
                 custom_trace_id_callback=None, post_processing_timeout_s: float | None = None,
                 activity_filters: dict | None = None):
        self.enabled = enabled
        if not self.enabled:
            return
        self.use_cuda = use_cuda
        if self.use_cuda:
            warnings.warn("The attribute `use_cuda` will be deprecated soon, please use "
                          "``use_device = 'cuda'`` instead.", FutureWarning, stacklevel=2)
            self.use_device: str | None = "cuda"
        else:
            self.use_device = use_device
        self._function_events: EventList | None = None
        self._old_function_events: EventList | None = None
        self.entered = False
        self.record_shapes = record_shapes or with_flops
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.use_cpu = use_cpu
        self.use_kineto = use_kineto
        self.acc_events = acc_events
        self.experimental_config = experimental_config
        self.custom_trace_id_callback = custom_trace_id_callback
        self.post_processing_timeout_s = post_processing_timeout_s
        self.activity_filters = activity_filters or {}
        self.trace_id = ""
        if not self.use_cpu and not use_kineto:
            raise AssertionError("Device-only events supported only with Kineto (use_kineto=True)")
        if self.use_device is not None:
            if self.use_device not in ("cuda", "xpu", "mtia", "hpu"):
                warnings.warn(f"The {self.use_device} is not a valid device option.", stacklevel=2)
                self.use_device = None
            elif self.use_device == "cuda" and not backend.cuda_available():
                warnings.warn("CUDA is not available, disabling CUDA profiling", stacklevel=2)
                self.use_cuda = False
                self.use_device = None
            elif self.use_device != "cuda":
                warnings.warn(f"{self.use_device.upper()} is not available, disabling "
                              f"{self.use_device.upper()} profiling", stacklevel=2)
                self.use_device = None
        if not self.use_cpu and self.use_device is None:
            raise AssertionError("No activities specified for the profiler")
        if self.post_processing_timeout_s is not None and self.post_processing_timeout_s < 0:
            raise ValueError("post_processing_timeout_s must be non-negative")
        self._recorder = Recorder(record_shapes=self.record_shapes, profile_memory=profile_memory,
                                  with_stack=with_stack, with_flops=with_flops,
                                  with_modules=with_modules, use_device=self.use_device,
                                  record_cpu=use_cpu or self.use_device is not None)

    def default_trace_id(self) -> str:
        return f"{uuid.uuid4().int:032X}"

    def create_trace_id(self) -> str:
        if self.custom_trace_id_callback:
            return self.custom_trace_id_callback()
        return self.default_trace_id()

    def config(self, create_trace_id: bool = False) -> dict:
        """The settings in force (PyTorch returns a ``ProfilerConfig``; here a dict of the same
        fields)."""
        if create_trace_id:
            self.trace_id = self.create_trace_id()
        return {"record_shapes": self.record_shapes, "profile_memory": self.profile_memory,
                "with_stack": self.with_stack, "with_flops": self.with_flops,
                "with_modules": self.with_modules, "experimental_config": self.experimental_config,
                "trace_id": self.trace_id}

    def __enter__(self) -> "profile | None":
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("Profiler context manager is not reentrant")
        self._prepare_trace()
        self._start_trace()
        return self

    def _prepare_trace(self) -> None:
        self.entered = True
        self.config(create_trace_id=True)
        if not self.acc_events:
            self._recorder.clear()

    def _start_trace(self) -> None:
        self.entered = True
        self._recorder.start()

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        if not self.enabled:
            return False
        self._recorder.stop()
        events = self._recorder.events(legacy=not self.use_kineto)
        if self._function_events and self.acc_events:
            self._old_function_events = self._function_events
        self._function_events = events
        self.entered = False
        return False

    def toggle_collection_dynamic(self, enabled: bool, activities: Any) -> None:
        """Pause (``enabled=False``) or resume recording of the given activities
        (``ProfilerActivity.CPU``/``CUDA``) without leaving the profile."""
        names = {getattr(a, "name", str(a)) for a in activities}
        if "CPU" in names or "CUDA" in names:
            self._recorder.record_cpu = bool(enabled)

    def __repr__(self) -> str:
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return repr(self._function_events)

    def __str__(self) -> str:
        if self._function_events is None:
            return "<unfinished torch.autograd.profile>"
        return str(self._function_events)

    def _ensure_function_events(self) -> EventList:
        if self._function_events is None:
            raise RuntimeError("Profiler didn't finish running")
        return self._function_events

    @property
    def function_events(self) -> EventList:
        return self._ensure_function_events()

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False) -> str:
        return self._ensure_function_events().table(
            sort_by=sort_by, row_limit=row_limit, max_src_column_width=max_src_column_width,
            max_name_column_width=max_name_column_width,
            max_shapes_column_width=max_shapes_column_width, header=header,
            top_level_events_only=top_level_events_only)

    table.__doc__ = EventList.table.__doc__

    def export_chrome_trace(self, path: str) -> None:
        """A Chrome trace (JSON array of ``"ph": "X"`` events) of the recorded events."""
        return self._ensure_function_events().export_chrome_trace(path)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        return self._ensure_function_events().export_stacks(path, metric)

    def key_averages(self, group_by_input_shape=False, group_by_stack_n=0,
                     group_by_overload_name=False) -> EventList:
        return self._ensure_function_events().key_averages(
            group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def total_average(self) -> Any:
        return self._ensure_function_events().total_average()

    @property
    def self_cpu_time_total(self) -> float:
        """The sum of the self CPU times of every event."""
        return self._ensure_function_events().self_cpu_time_total


class _AnnotatingObserver:
    """An op observer that wraps each op in a named range of an external tool (NVTX): names as
    the profiler's, with ``seq = N`` and, when asked, ``sizes = [[...], ...]``."""

    def __init__(self, push: Any, pop: Any, record_shapes: bool) -> None:
        self.push, self.pop, self.record_shapes = push, pop, record_shapes
        self.seq = 0

    def __call__(self, cls: type, args: tuple, kwargs: dict, proceed: Any) -> Any:
        self.seq += 1
        label = f"{op_name(cls, args)}, seq = {self.seq}"
        if self.record_shapes:
            label += ", sizes = " + str([list(a.shape) if hasattr(a, "_data") else [] for a in args])
        self.push(label)
        try:
            return proceed()
        finally:
            self.pop()


class emit_itt:
    """Annotate every op with an Intel ITT range, for VTune.  edunn has no ITT binding
    (``edunn.profiler.itt.is_available()`` is False), so, as PyTorch on a machine without VTune
    collecting, entering and leaving work and the ranges go nowhere: the ops pass through
    ``edunn.profiler.itt.range_push``/``range_pop``, which are no-ops here.  Not reentrant, as in
    PyTorch; ``enabled=False`` does nothing."""

    def __init__(self, enabled=True, record_shapes=False):
        self.enabled = enabled
        self.entered = False
        self.record_shapes = record_shapes
        self._observer: Any = None

    def __enter__(self) -> "emit_itt | None":
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("ITT annotation context manager is not reentrant")
        from ..profiler import itt
        self.entered = True
        self._observer = _AnnotatingObserver(itt.range_push, itt.range_pop, self.record_shapes)
        op_hooks.add_hook(self._observer)
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        if not self.enabled or self._observer is None:
            return False
        op_hooks.remove_hook(self._observer)
        self._observer = None
        self.entered = False
        return False


class emit_nvtx:
    """Wrap every op in an NVTX range (``nvtx.RangePush``/``RangePop`` through CuPy) for NVIDIA's
    profilers (Nsight Systems, nvprof), labelled ``aten::mm, seq = 12`` and, with
    ``record_shapes``, ``sizes = [[4, 3], [3, 5]]``.  Without CUDA, entering raises
    ``AssertionError`` as PyTorch does in a build without CUDA; ``enabled=False`` does nothing."""

    def __init__(self, enabled=True, record_shapes=False):
        self.enabled = enabled
        self.entered = False
        self.record_shapes = record_shapes
        self._observer: Any = None

    def __enter__(self) -> "emit_nvtx | None":
        if not self.enabled:
            return None
        if self.entered:
            raise RuntimeError("NVTX annotation context manager is not reentrant")
        if not backend.cuda_available():
            raise AssertionError("Torch not compiled with CUDA enabled (edunn: no CUDA device, "
                                 "CuPy with an NVIDIA GPU, to emit NVTX ranges for)")
        self.entered = True
        backend.cuda_synchronize()
        nvtx = backend.cupy.cuda.nvtx
        self._observer = _AnnotatingObserver(nvtx.RangePush, nvtx.RangePop, self.record_shapes)
        op_hooks.add_hook(self._observer)
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        if not self.enabled or self._observer is None:
            return False
        backend.cuda_synchronize()
        op_hooks.remove_hook(self._observer)
        self._observer = None
        self.entered = False
        return False


def load_nvprof(path: str) -> EventList:
    """Open an nvprof trace file and parse its autograd annotations (``emit_nvtx``'s ranges)."""
    return EventList(parse_nvprof_trace(path))


class EnforceUnique:
    """Raises an error if a key is seen more than once."""

    def __init__(self):
        self.seen: set = set()

    def see(self, *key: Any) -> None:
        """Observe a key and raise an error if it is seen multiple times."""
        if key in self.seen:
            raise RuntimeError("duplicate key: " + str(key))
        self.seen.add(key)


def parse_nvprof_trace(path: str) -> list:
    """The NVTX ranges of an nvprof SQLite database as ``FunctionEvent``s (times in the file's
    units), each with the kernels launched inside it; read with the standard ``sqlite3``."""
    import sqlite3
    conn = sqlite3.connect(path)
    conn.row_factory = sqlite3.Row
    strings = {r["id"]: r["value"] for r in conn.execute("SELECT _id_ as id, value FROM StringTable")}
    marker_query = """
    SELECT start.id AS marker_id, start.name, start.timestamp AS start_time, end.timestamp AS end_time
    FROM CUPTI_ACTIVITY_KIND_MARKER AS start INNER JOIN CUPTI_ACTIVITY_KIND_MARKER AS end
        ON start.id = end.id
    WHERE start.name != 0 AND end.name = 0
    """
    functions, functions_map = [], {}
    unique = EnforceUnique()
    for row in conn.execute(marker_query):
        unique.see(row["marker_id"])
        evt = FunctionEvent(id=row["marker_id"], node_id=0, name=strings[row["name"]],
                            start_us=row["start_time"], end_us=row["end_time"], thread=0)
        functions.append(evt)
        functions_map[evt.id] = evt
    kernel_query = """
    SELECT start.id AS marker_id, start.name, start.timestamp, end.timestamp,
        runtime._id_ AS runtime_id, runtime.cbid, runtime.start AS runtime_start,
        runtime.end AS runtime_end, kernel.start AS kernel_start, kernel.end AS kernel_end,
        kernel.name AS kernel_name
    FROM CUPTI_ACTIVITY_KIND_MARKER AS start
        INNER JOIN CUPTI_ACTIVITY_KIND_MARKER AS end ON start.id = end.id
        INNER JOIN CUPTI_ACTIVITY_KIND_RUNTIME as runtime
            ON (start.timestamp < runtime.start AND runtime.end < end.timestamp)
        INNER JOIN CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL AS kernel
            ON kernel.correlationId = runtime.correlationId
    """
    unique = EnforceUnique()
    for row in conn.execute(kernel_query):
        unique.see(row["marker_id"], row["runtime_id"])
        if row["cbid"] != 211:   # 211 is cudaKernelLaunch for CUDA >= 9.2
            raise AssertionError(f"Expected cbid to be 211, but got {row['cbid']}")
        functions_map[row["marker_id"]].append_kernel(strings.get(row["kernel_name"], row["kernel_name"]),
                                                      0, row["kernel_end"] - row["kernel_start"])
    conn.close()
    functions.sort(key=lambda evt: evt.time_range.start)
    return functions
