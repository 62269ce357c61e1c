"""``edunn.profiler.profile``, ``schedule`` and friends: PyTorch's ``torch.profiler`` interface.

``profile`` records ops like the legacy ``edunn.autograd.profiler.profile`` (same recorder, same
``EventList``) and adds *steps*: call ``prof.step()`` once per training iteration and a
``schedule`` decides, step by step, whether to do nothing (``NONE``), to run without keeping the
results (``WARMUP``), to record (``RECORD``), or to record and then hand the results to
``on_trace_ready`` (``RECORD_AND_SAVE``) -- so a long run can be profiled a few steps at a time.
"""
from __future__ import annotations

import enum
import gzip
import json
import os
import socket
import time
import uuid
import warnings
from functools import partial
from typing import Any, Callable, Iterable

from .. import backend
from ..autograd import op_hooks
from ._events import EventList
from ._recorder import KinetoStepTracker, Recorder, record_function

__all__ = ["ProfilerAction", "ProfilerActivity", "supported_activities", "schedule",
           "tensorboard_trace_handler", "profile", "ExecutionTraceObserver", "kineto_available"]

PROFILER_STEP_NAME = "ProfilerStep"


class ProfilerActivity(enum.IntEnum):
    """Which activities to record (PyTorch's members and numbers)."""
    CPU = 0
    XPU = 1
    MTIA = 4
    CUDA = 2
    HPU = 3
    PrivateUse1 = 5

    def __str__(self) -> str:
        return f"ProfilerActivity.{self.name}"


class ProfilerAction(enum.Enum):
    """What the profiler does during a step."""
    NONE = 0
    WARMUP = 1
    RECORD = 2
    RECORD_AND_SAVE = 3
    DEVICE_STOPPED = 4


def kineto_available() -> bool:
    """False: edunn has no Kineto; its profiler records through ``op_hooks``."""
    return False


def supported_activities() -> set:
    """``{CPU}``, plus ``CUDA`` when ``edunn.cuda.is_available()``."""
    acts = {ProfilerActivity.CPU}
    if backend.cuda_available():
        acts.add(ProfilerActivity.CUDA)
    return acts


def schedule(*, wait: int, warmup: int, active: int, repeat: int = 0, skip_first: int = 0,
             skip_first_wait: int = 0) -> Callable:
    """The action for each step: skip ``skip_first`` steps, then cycles of ``wait`` idle steps,
    ``warmup`` steps and ``active`` recorded steps (the last one ``RECORD_AND_SAVE``), ``repeat``
    cycles (0: forever).  ``skip_first_wait=1`` skips the ``wait`` of the first cycle."""

    def schedule_fn(step: int) -> ProfilerAction:
        if step < 0:
            raise AssertionError(f"Step must be non-negative. Got {step}.")
        if step < skip_first:
            return ProfilerAction.NONE
        step -= skip_first
        if skip_first_wait != 0:
            step += wait
        num_steps = wait + warmup + active
        if repeat > 0 and step / num_steps >= repeat:
            return ProfilerAction.NONE
        mod_step = step % num_steps
        if mod_step < wait:
            return ProfilerAction.NONE
        if mod_step < wait + warmup:
            return ProfilerAction.WARMUP
        return ProfilerAction.RECORD if mod_step < num_steps - 1 else ProfilerAction.RECORD_AND_SAVE

    if wait < 0 or warmup < 0 or active <= 0 or repeat < 0 or skip_first < 0:
        raise AssertionError(
            f"Invalid profiler schedule arguments. Got wait={wait} (need >= 0), warmup={warmup} "
            f"(need >= 0), active={active} (need > 0), repeat={repeat} (need >= 0), "
            f"skip_first={skip_first} (need >= 0).")
    if warmup == 0:
        warnings.warn("Profiler won't be using warmup, this can skew profiler results", stacklevel=2)
    return schedule_fn


def _default_schedule_fn(_: int) -> ProfilerAction:
    """Without a schedule: record every step."""
    return ProfilerAction.RECORD


def tensorboard_trace_handler(dir_name: str, worker_name: str | None = None, use_gzip: bool = False,
                              use_python_export: bool = False):
    """An ``on_trace_ready`` that writes ``{dir_name}/{worker_name}.{time_ns}.pt.trace.json``
    (``.gz`` with ``use_gzip``), the file TensorBoard's profiler plugin reads; ``worker_name``
    defaults to ``{hostname}_{pid}``."""

    def handler_fn(prof: Any) -> None:
        nonlocal worker_name
        if not os.path.isdir(dir_name):
            try:
                os.makedirs(dir_name, exist_ok=True)
            except Exception as e:
                raise RuntimeError("Can't create directory: " + dir_name) from e
        if not worker_name:
            worker_name = f"{socket.gethostname()}_{os.getpid()}"
        file_name = f"{worker_name}.{time.time_ns()}.pt.trace.json"
        if use_gzip:
            file_name = file_name + ".gz"
        prof.export_chrome_trace(os.path.join(dir_name, file_name), use_python_export=use_python_export)
    return handler_fn


def _chrome_events(events: EventList, pid: int) -> list:
    """Kineto's trace events for our ``FunctionEvent``s: complete (``"ph": "X"``) events with
    categories ``cpu_op``, ``user_annotation`` or ``python_function`` and the inputs in ``args``."""
    out = []
    for e in events:
        cat = "user_annotation" if e.is_user_annotation else \
            ("python_function" if e.is_python_function else "cpu_op")
        args: dict = {"External id": e.id, "Sequence number": e.sequence_nr} if e.sequence_nr >= 0 \
            else {"External id": e.id}
        if e.input_shapes:
            args["Input Dims"] = e.input_shapes
            args["Input type"] = e.input_dtypes or []
        if e.flops:
            args["flops"] = e.flops
        out.append({"ph": "X", "cat": cat, "name": e.trace_name, "pid": pid, "tid": e.thread,
                    "ts": round(e.time_range.start, 3), "dur": round(e.time_range.elapsed_us(), 3),
                    "args": args})
        for k in e.kernels:
            out.append({"ph": "X", "cat": "kernel", "name": k.name, "pid": 0, "tid": "stream 7",
                        "ts": round(e.time_range.start, 3), "dur": round(k.duration, 3),
                        "args": {"External id": e.id, "device": k.device}})
    return out


class _KinetoProfile:
    """The recording half of ``profile``: start/stop, results and exports (PyTorch's
    ``_KinetoProfile``, without a schedule)."""

    def __init__(self, *, activities=None, record_shapes=False, profile_memory=False,
                 with_stack=False, with_flops=False, with_modules=False, experimental_config=None,
                 execution_trace_observer=None, acc_events=False, custom_trace_id_callback=None,
                 post_processing_timeout_s=None):
        self.activities = set(activities) if activities else supported_activities()
        self.record_shapes = record_shapes or with_flops
        self.with_flops = with_flops
        self.profile_memory = profile_memory
        self.with_stack = with_stack
        self.with_modules = with_modules
        self.experimental_config = experimental_config
        self.execution_trace_observer = execution_trace_observer
        self.acc_events = acc_events
        self.custom_trace_id_callback = custom_trace_id_callback
        self.post_processing_timeout_s = post_processing_timeout_s
        self.use_device = "cuda" if ProfilerActivity.CUDA in self.activities else None
        self.profiler: Recorder | None = None
        self._events: EventList | None = None
        self.trace_id: str | None = None
        self.preset_metadata: dict = {}
        self.metadata: dict = {}
        self._warned_clear = False

    def start(self) -> None:
        self.prepare_trace()
        self.start_trace()

    def stop(self) -> None:
        self.stop_trace()

    def prepare_trace(self) -> None:
        if self.profiler is not None and not self.acc_events and not self._warned_clear:
            self._warned_clear = True
            warnings.warn("Warning: Profiler clears events at the end of each cycle. Only events "
                          "from the current cycle will be reported. To keep events across cycles, "
                          "set acc_events=True.", stacklevel=2)
        if self.profiler is None or not self.acc_events:
            self.profiler = Recorder(record_shapes=self.record_shapes, profile_memory=self.profile_memory,
                                     with_stack=self.with_stack, with_flops=self.with_flops,
                                     with_modules=self.with_modules, use_device=self.use_device,
                                     record_cpu=bool(self.activities))
        self.trace_id = self.custom_trace_id_callback() if self.custom_trace_id_callback \
            else f"{uuid.uuid4().int:032X}"

    def start_trace(self) -> None:
        if self.execution_trace_observer:
            self.execution_trace_observer.start()
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before starting trace")
        self.profiler.start()
        KinetoStepTracker.init_step_count(PROFILER_STEP_NAME)

    def stop_trace(self) -> None:
        if self.execution_trace_observer:
            self.execution_trace_observer.stop()
        if self.profiler is None:
            raise AssertionError("Profiler must be initialized before stopping trace")
        self.profiler.stop()
        self._events = self.profiler.events(step_wildcard=True)

    def events(self) -> EventList:
        """The recorded events (a ``FunctionEvent`` per op and range), after ``stop``."""
        if self._events is None:
            raise AssertionError("Expected profiler to be stopped before calling events()")
        return self._events

    def key_averages(self, group_by_input_shape: bool = False, group_by_stack_n: int = 0,
                     group_by_overload_name: bool = False) -> EventList:
        """Events with the same name (and input shapes/stack, when asked) averaged: an
        ``EventList`` of ``FunctionEventAvg`` whose ``table()`` is the usual summary."""
        return self.events().key_averages(group_by_input_shape, group_by_stack_n, group_by_overload_name)

    def export_chrome_trace(self, path: str, use_python_export: bool = False) -> None:
        """Write a Chrome/Perfetto trace: ``{"traceEvents": [...], ...}`` with one complete
        (``"ph": "X"``) event per op and range; gzipped when ``path`` ends with ``.gz``."""
        pid = os.getpid()
        trace = {"schemaVersion": 1, "deviceProperties": [], "trace_id": self.trace_id,
                 "displayTimeUnit": "ms", "baseTimeNanoseconds": 0,
                 "traceEvents": [{"ph": "M", "name": "process_name", "pid": pid, "tid": 0,
                                  "args": {"name": "python"}}] + _chrome_events(self.events(), pid),
                 "traceName": path}
        trace.update({k: v for k, v in self.preset_metadata.items()})
        trace.update(self.metadata)
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "wt") as f:
            json.dump(trace, f)

    def export_stacks(self, path: str, metric: str = "self_cpu_time_total") -> None:
        """Collapsed stacks (``frame;frame value``) for flame graphs; needs ``with_stack=True``."""
        if not self.with_stack:
            raise AssertionError("export_stacks() requires with_stack=True")
        self.events().export_stacks(path, metric)

    def export_memory_timeline(self, path: str, device: str | None = None) -> None:
        """The bytes held by op outputs over time (allocations at each op, frees when the array
        is released), as ``[times_us, bytes]`` JSON (``.json``, or ``.json.gz``).  PyTorch breaks
        memory down by category (parameters, gradients, activations ...) and can plot HTML;
        edunn only knows the total, so ``.html`` is refused with ``ValueError``.  Needs
        ``profile_memory=True``."""
        if not self.profile_memory:
            raise AssertionError("export_memory_timeline() requires profile_memory=True")
        if not (path.endswith(".json") or path.endswith(".json.gz")):
            raise ValueError(f"export_memory_timeline: edunn writes JSON only (.json or .json.gz), "
                             f"got {path!r}")
        log = sorted(self.profiler.memory_log) if self.profiler is not None else []
        base = min((t for t, _ in log), default=0.0)
        times, sizes, held = [], [], 0
        for t, delta in log:
            held += delta
            times.append(round(t - base, 3))
            sizes.append(held)
        opener = gzip.open if path.endswith(".gz") else open
        with opener(path, "wt") as f:
            json.dump([times, sizes], f)

    def add_metadata(self, key: str, value: str) -> None:
        """A string written into the trace's top level."""
        self.metadata[key] = value

    def add_metadata_json(self, key: str, value: str) -> None:
        """A JSON value (given as text) written into the trace's top level."""
        self.metadata[key] = json.loads(value)

    def preset_metadata_json(self, key: str, value: str) -> None:
        """Like ``add_metadata_json``, set before the trace starts."""
        self.preset_metadata[key] = json.loads(value)

    def toggle_collection_dynamic(self, enable: bool, activities: Iterable) -> None:
        """Pause or resume recording of ``activities`` (CPU ops; CUDA ops are recorded on the
        CPU side here, so either pauses the op recording)."""
        if self.profiler is None:
            return
        if any(a in (ProfilerActivity.CPU, ProfilerActivity.CUDA) for a in activities):
            self.profiler.record_cpu = bool(enable)


class profile(_KinetoProfile):
    """Profiler context manager (``torch.profiler.profile``).

    Example::

        with edunn.profiler.profile(schedule=edunn.profiler.schedule(wait=1, warmup=1, active=2),
                                    on_trace_ready=edunn.profiler.tensorboard_trace_handler("log"),
                                    record_shapes=True) as prof:
            for batch in loader:
                train_step(batch)
                prof.step()

    ``activities`` defaults to ``supported_activities()``; ``use_cuda`` (deprecated, warns)
    adds or removes ``CUDA``.  Each step is a ``record_function`` range ``ProfilerStep#N``
    when a schedule is given.  ``DEVICE_STOPPED`` is PyTorch's state for a device tracer that
    ran out of buffer; edunn's recorder never stops early, so it is never entered.
    """

    def __init__(self, *, activities: Iterable | None = None, schedule: Callable | None = None,
                 on_trace_ready: Callable | None = None, record_shapes: bool = False,
                 profile_memory: bool = False, with_stack: bool = False, with_flops: bool = False,
                 with_modules: bool = False, experimental_config: Any = None,
                 execution_trace_observer: Any = None, acc_events: bool = False,
                 use_cuda: bool | None = None, custom_trace_id_callback: Callable | None = None,
                 post_processing_timeout_s: float | None = None) -> None:
        if activities is not None:
            activities_set: set = set()
            for item in activities:
                if isinstance(item, ProfilerActivity):
                    activities_set.add(item)
                elif isinstance(item, dict):
                    activities_set.update(item.keys())
        else:
            activities_set = supported_activities()
        if use_cuda is not None:
            warnings.warn("`use_cuda` is deprecated, use `activities` argument instead",
                          FutureWarning, stacklevel=2)
            if use_cuda:
                activities_set.add(ProfilerActivity.CUDA)
            elif ProfilerActivity.CUDA in activities_set:
                activities_set.remove(ProfilerActivity.CUDA)
        if len(activities_set) == 0:
            raise AssertionError("No valid profiler activities found")
        super().__init__(activities=activities_set, record_shapes=record_shapes,
                         profile_memory=profile_memory, with_stack=with_stack, with_flops=with_flops,
                         with_modules=with_modules, experimental_config=experimental_config,
                         execution_trace_observer=execution_trace_observer
                         or ExecutionTraceObserver.build_execution_trace_obs_from_env(),
                         acc_events=acc_events,
                         custom_trace_id_callback=custom_trace_id_callback,
                         post_processing_timeout_s=post_processing_timeout_s)
        if schedule:
            self.schedule, self.record_steps = schedule, True
        else:
            self.schedule, self.record_steps = _default_schedule_fn, False
        self.on_trace_ready = on_trace_ready
        self.step_num = 0
        self.step_rec_fn: record_function | None = None
        action = self.schedule(self.step_num)
        if action == ProfilerAction.DEVICE_STOPPED:
            raise ValueError("ProfilerAction.DEVICE_STOPPED is set internally by the profiler and "
                             "must not be returned by a user-provided schedule")
        self.current_action = action
        A = ProfilerAction
        prep, start, stop, ready = self.prepare_trace, self.start_trace, self.stop_trace, self._trace_ready
        # (previous action, next action) -> what to do, exactly PyTorch's table
        self.action_map: dict = {
            (A.NONE, A.NONE): [], (A.NONE, A.WARMUP): [prep], (A.NONE, A.RECORD): [prep, start],
            (A.NONE, A.RECORD_AND_SAVE): [prep, start],
            (A.WARMUP, A.NONE): [partial(warnings.warn, "Incorrect schedule: WARMUP followed by NONE"),
                                 start, stop],
            (A.WARMUP, A.WARMUP): [], (A.WARMUP, A.RECORD): [start], (A.WARMUP, A.RECORD_AND_SAVE): [start],
            (A.RECORD, A.NONE): [partial(warnings.warn, "Incorrect schedule: RECORD followed by NONE"), stop],
            (A.RECORD, A.WARMUP): [partial(warnings.warn, "Incorrect schedule: RECORD followed by WARMUP"),
                                   stop],
            (A.RECORD, A.RECORD): [], (A.RECORD, A.RECORD_AND_SAVE): [],
            (A.RECORD_AND_SAVE, A.NONE): [stop, ready],
            (A.RECORD_AND_SAVE, A.WARMUP): [stop, ready, prep],
            (A.RECORD_AND_SAVE, A.RECORD): [stop, ready, prep, start],
            (A.RECORD_AND_SAVE, A.RECORD_AND_SAVE): [stop, ready, prep, start],
            (A.WARMUP, None): [start, stop], (A.RECORD, None): [stop, ready],
            (A.RECORD_AND_SAVE, None): [stop, ready],
        }
        KinetoStepTracker.init_step_count(PROFILER_STEP_NAME)

    def __enter__(self) -> "profile":
        self.start()
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> None:
        self.stop()
        KinetoStepTracker.erase_step_count(PROFILER_STEP_NAME)
        if self.execution_trace_observer:
            self.execution_trace_observer.cleanup()

    def start(self) -> None:
        self._transit_action(ProfilerAction.NONE, self.current_action)
        if self.record_steps:
            self.step_rec_fn = record_function("ProfilerStep#" + str(self.step_num))
            self.step_rec_fn.__enter__()

    def stop(self) -> None:
        if self.record_steps and self.step_rec_fn:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None
        self._transit_action(self.current_action, None)

    def step(self) -> None:
        """Signals the profiler that the next profiling step has started."""
        if self.record_steps and self.step_rec_fn:
            self.step_rec_fn.__exit__(None, None, None)
            self.step_rec_fn = None
        prev_action = self.current_action
        action = self.schedule(self.step_num + 1)
        if action == ProfilerAction.DEVICE_STOPPED:
            raise ValueError("ProfilerAction.DEVICE_STOPPED is set internally by the profiler and "
                             "must not be returned by a user-provided schedule")
        self.step_num += 1
        self.current_action = action
        self._transit_action(prev_action, self.current_action)
        if self.record_steps:
            self.step_rec_fn = record_function("ProfilerStep#" + str(self.step_num))
            self.step_rec_fn.__enter__()

    def set_custom_trace_id_callback(self, callback: Callable) -> None:
        """The trace-id generator, called at the start of each cycle."""
        self.custom_trace_id_callback = callback

    def get_trace_id(self) -> str | None:
        """The current trace ID (None before the first recording)."""
        return None if self.profiler is None else self.trace_id

    def _trace_ready(self) -> None:
        if self.on_trace_ready:
            self.on_trace_ready(self)

    def _transit_action(self, prev_action: Any, current_action: Any) -> None:
        for action in self.action_map.get((prev_action, current_action)) or []:
            action()


class ExecutionTraceObserver:
    """Write an *execution trace*: every op run while it is running, in order, with the ids,
    shapes and dtypes of its inputs and outputs -- enough to see the program's data flow (which
    op consumed which tensor) or to replay its shapes.  PyTorch writes Chakra's JSON schema from
    C++; this writes the same top-level layout (``schema``, ``pid``, ``time``, ``start_ts``,
    ``nodes``, ``finish_ts``) with one node per op: ``{"id", "name", "rf_id", "inputs":
    {"values", "shapes", "types"}, "outputs": {...}}`` where a tensor's value is its id.

    ``register_callback(path)`` arms it; ``start()``/``stop()`` (called by ``profile`` when
    passed as ``execution_trace_observer``) bracket the recording; ``unregister_callback()``
    writes the file."""

    def __init__(self) -> None:
        self._registered = False
        self._execution_trace_running = False
        self.extra_resources_collection = False
        self.resources_dir: str = ""
        self.output_file_path: str = ""
        self.output_file_path_observer: str = ""
        self._nodes: list = []
        self._start_ts = 0.0
        self._tensor_ids: dict = {}

    def __del__(self) -> None:
        try:
            self.unregister_callback()
        except Exception:
            pass

    @staticmethod
    def build_execution_trace_obs_from_env() -> "ExecutionTraceObserver | None":
        """An observer writing to a temporary file when ``ENABLE_PYTORCH_EXECUTION_TRACE=1``."""
        if os.environ.get("ENABLE_PYTORCH_EXECUTION_TRACE", "0") == "1":
            import tempfile
            fp = tempfile.NamedTemporaryFile("w+t", suffix=".et.json", delete=False)
            fp.close()
            return ExecutionTraceObserver().register_callback(fp.name)
        return None

    def register_callback(self, output_file_path: str) -> "ExecutionTraceObserver":
        """Arm the observer to write to ``output_file_path``; returns ``self``."""
        if not self._registered:
            self.output_file_path = output_file_path
            self.output_file_path_observer = output_file_path
            self._registered = True
        return self

    def get_resources_dir(self, can_create: bool = False) -> str | None:
        return self.resources_dir or None

    def unregister_callback(self) -> None:
        """Stop if running and write the trace file."""
        if self._registered:
            self.stop()
            self._write()
            self._registered = False

    @property
    def is_registered(self) -> bool:
        return self._registered

    def is_running(self) -> bool:
        return self._execution_trace_running

    def start(self) -> None:
        if self._registered and not self._execution_trace_running:
            self._start_ts = time.time() * 1e6
            op_hooks.add_hook(self._observe)
            self._execution_trace_running = True

    def stop(self) -> None:
        if self._execution_trace_running:
            op_hooks.remove_hook(self._observe)
            self._execution_trace_running = False

    def cleanup(self) -> None:
        """Write the file (``profile`` calls this when it exits)."""
        self.unregister_callback()

    def get_output_file_path(self) -> str | None:
        if not self._registered:
            raise RuntimeError("A callback to the ET profiler needs to be registered first before "
                               "getting the output file path")
        return self.output_file_path

    def _describe(self, values: Any) -> dict:
        from ._recorder import _dtype_of
        vals, shapes, types = [], [], []
        for v in values:
            if hasattr(v, "_data"):
                key = id(v)
                if key not in self._tensor_ids:
                    self._tensor_ids[key] = (len(self._tensor_ids) + 1, v)   # kept: ids stay unique
                vals.append(self._tensor_ids[key][0])
                shapes.append(list(v.shape))
                types.append(f"Tensor({_dtype_of(v)})")
            else:
                vals.append(v if isinstance(v, (int, float, bool, str, type(None))) else repr(v))
                shapes.append([])
                types.append(type(v).__name__)
        return {"values": vals, "shapes": shapes, "types": types}

    def _observe(self, cls: type, args: tuple, kwargs: dict, proceed: Callable) -> Any:
        from ._recorder import op_name
        out = proceed()
        outs = out if isinstance(out, (tuple, list)) else (out,)
        self._nodes.append({"id": len(self._nodes) + 2, "name": op_name(cls, args), "ctrl_deps": 1,
                            "rf_id": len(self._nodes), "inputs": self._describe(args),
                            "outputs": self._describe(outs)})
        return out

    def _write(self) -> None:
        if not self.output_file_path:
            return
        trace = {"schema": "1.1.1-chakra.0.0.4", "pid": os.getpid(), "time": time.strftime("%Y-%m-%d %H:%M:%S"),
                 "start_ts": self._start_ts,
                 "nodes": [{"id": 1, "name": "[pytorch|profiler|execution_trace|process]", "ctrl_deps": 1,
                            "inputs": {"values": [], "shapes": [], "types": []},
                            "outputs": {"values": [], "shapes": [], "types": []}}] + self._nodes,
                 "finish_ts": time.time() * 1e6}
        with open(self.output_file_path, "w") as f:
            json.dump(trace, f)
        self._nodes, self._tensor_ids = [], {}
