"""The profiler's results: ``FunctionEvent`` (one op or range), ``FunctionEventAvg`` (events with
the same key summed) and ``EventList`` (a list of either, with ``table``, ``key_averages``,
``export_chrome_trace`` ...), as in PyTorch's ``torch/autograd/profiler_util.py``.

Both ``edunn.profiler.profile`` and the legacy ``edunn.autograd.profiler.profile`` return these
same classes.  Times are in microseconds (floats, from ``time.perf_counter_ns``).  An event's
*total* CPU time is the length of its interval; its *self* time is that minus the totals of its
children, the events whose intervals lie inside it on the same thread -- so a
``record_function`` range's self time is what ran in it outside any op.
"""
from __future__ import annotations

import bisect
import enum
import itertools
import json
import math
from collections import defaultdict, namedtuple
from operator import attrgetter
from typing import Any

__all__ = ["EventList", "FormattedTimesMixin", "Interval", "Kernel", "FunctionEvent",
           "FunctionEventAvg", "StringTable", "MemRecordsAcc", "DeviceType"]


class DeviceType(enum.IntEnum):
    """Where an event ran (``torch.autograd.DeviceType``; PyTorch's numbering)."""
    CPU = 0
    CUDA = 1
    MKLDNN = 2
    OPENGL = 3
    OPENCL = 4
    IDEEP = 5
    HIP = 6
    FPGA = 7
    MAIA = 8
    XLA = 9
    Vulkan = 10
    Metal = 11
    XPU = 12
    MPS = 13
    MTIA = 19
    Meta = 14
    HPU = 15
    VE = 16
    Lazy = 17
    IPU = 18
    PrivateUse1 = 20

    def __str__(self) -> str:
        return f"DeviceType.{self.name}"


def _format_time(time_us: float) -> str:
    """``1.234s``, ``1.234ms`` or ``1.234us``."""
    if time_us >= 1e6:
        return f"{time_us / 1e6:.3f}s"
    if time_us >= 1e3:
        return f"{time_us / 1e3:.3f}ms"
    return f"{time_us:.3f}us"


def _format_time_share(time_us: float, total_time_us: float) -> str:
    if total_time_us == 0:
        if time_us != 0:
            raise AssertionError(f"Expected time_us == 0 but got {time_us}")
        return "NaN"
    return f"{time_us * 100.0 / total_time_us:.2f}%"


def _format_memory(nbytes: int) -> str:
    KB, MB, GB = 1024, 1024 ** 2, 1024 ** 3
    if abs(nbytes) >= GB:
        return f"{nbytes * 1.0 / GB:.2f} GB"
    if abs(nbytes) >= MB:
        return f"{nbytes * 1.0 / MB:.2f} MB"
    if abs(nbytes) >= KB:
        return f"{nbytes * 1.0 / KB:.2f} KB"
    return str(nbytes) + " B"


def _attr_formatter(name: str) -> property:
    return property(lambda self: _format_time(getattr(self, name)))


class FormattedTimesMixin:
    """``cpu_time`` (the average) and the ``*_str`` forms of the times, for both event kinds."""
    cpu_time_str = _attr_formatter("cpu_time")
    device_time_str = _attr_formatter("device_time")
    cpu_time_total_str = _attr_formatter("cpu_time_total")
    device_time_total_str = _attr_formatter("device_time_total")
    self_cpu_time_total_str = _attr_formatter("self_cpu_time_total")
    self_device_time_total_str = _attr_formatter("self_device_time_total")

    @property
    def cpu_time(self) -> float:
        return 0.0 if self.count == 0 else 1.0 * self.cpu_time_total / self.count

    @property
    def device_time(self) -> float:
        return 0.0 if self.count == 0 else 1.0 * self.device_time_total / self.count

    @property
    def cuda_time(self) -> float:   # PyTorch's older name
        return self.device_time


class Interval:
    def __init__(self, start: float, end: float) -> None:
        self.start, self.end = start, end

    def elapsed_us(self) -> float:
        """The length of the interval."""
        return self.end - self.start


Kernel = namedtuple("Kernel", ["name", "device", "duration"])


class FunctionEvent(FormattedTimesMixin):
    """One op or ``record_function`` range: its name, thread, interval, input shapes, memory,
    FLOPs, and its place in the tree (``cpu_parent``, ``cpu_children``).  ``kernels`` holds the
    device time of a CUDA op.  PyTorch's constructor, every argument kept as an attribute."""

    def __init__(self, id, name, thread, start_us, end_us, overload_name=None, fwd_thread=None,
                 input_shapes=None, stack=None, scope=0, use_device=None, cpu_memory_usage=0,
                 device_memory_usage=0, is_async=False, is_remote=False, sequence_nr=-1,
                 node_id=-1, device_type=DeviceType.CPU, device_index=0, device_resource_id=None,
                 is_legacy=False, flops=None, trace_name=None, concrete_inputs=None, kwinputs=None,
                 is_user_annotation=False, is_python_function=False, activity_type=None,
                 metadata_json=None, flow_id=None, flow_type=None, flow_start=None, external_id=0,
                 linked_correlation_id=0, extra_meta=None, structured_input_shapes=None,
                 structured_input_strides=None, input_dtypes=None, python_id=-1,
                 python_parent_id=-1, python_module_id=-1):
        self.id = id
        self.node_id = node_id
        self.name = name
        self.overload_name = overload_name
        self.trace_name = trace_name
        self.time_range = Interval(start_us, end_us)
        self.thread = thread
        self.fwd_thread = fwd_thread
        self.kernels: list = []
        self.count = 1
        self.cpu_children: list = []
        self.cpu_parent = None
        self.input_shapes = input_shapes
        self.structured_input_shapes = structured_input_shapes
        self.structured_input_strides = structured_input_strides
        self.input_dtypes = input_dtypes
        self.concrete_inputs = concrete_inputs
        self.kwinputs = kwinputs
        self.stack = stack
        self.scope = scope
        self.use_device = use_device
        self.cpu_memory_usage = cpu_memory_usage
        self.device_memory_usage = device_memory_usage
        self.is_async = is_async
        self.is_remote = is_remote
        self.sequence_nr = sequence_nr
        self.device_type = device_type
        self.device_index = device_index
        self.device_resource_id = thread if device_resource_id is None else device_resource_id
        self.is_legacy = is_legacy
        self.flops = flops
        self.is_user_annotation = is_user_annotation
        self.is_python_function = is_python_function
        self.activity_type = activity_type
        self._metadata_json = metadata_json
        self.flow_id, self.flow_type, self.flow_start = flow_id, flow_type, flow_start
        self.external_id = external_id
        self.linked_correlation_id = linked_correlation_id
        self.extra_meta = extra_meta
        self.python_id, self.python_parent_id = python_id, python_parent_id
        self.python_module_id = python_module_id
        self.self_cpu_percent = -1
        self.total_cpu_percent = -1
        self.total_device_percent = -1

    def append_kernel(self, name: str, device: int, duration: float) -> None:
        if self.device_type != DeviceType.CPU:
            raise AssertionError("Expected device_type to be CPU")
        self.kernels.append(Kernel(name, device, duration))

    def append_cpu_child(self, child: "FunctionEvent") -> None:
        if not isinstance(child, FunctionEvent):
            raise AssertionError("Expected child to be a FunctionEvent")
        self.cpu_children.append(child)

    def set_cpu_parent(self, parent: "FunctionEvent") -> None:
        if not isinstance(parent, FunctionEvent):
            raise AssertionError("Expected parent to be a FunctionEvent")
        self.cpu_parent = parent

    @property
    def metadata_json(self) -> Any:
        return self._metadata_json

    @property
    def self_cpu_memory_usage(self) -> int:
        if self.is_async or self.device_type != DeviceType.CPU:
            return 0
        return self.cpu_memory_usage - sum(c.cpu_memory_usage for c in self.cpu_children)

    @property
    def self_device_memory_usage(self) -> int:
        if self.is_async or self.device_type != DeviceType.CPU:
            return 0
        return self.device_memory_usage - sum(c.device_memory_usage for c in self.cpu_children)

    @property
    def self_cuda_memory_usage(self) -> int:
        return self.self_device_memory_usage

    @property
    def cpu_time_total(self) -> float:
        return self.time_range.elapsed_us() if self.device_type == DeviceType.CPU else 0

    @property
    def self_cpu_time_total(self) -> float:
        if self.is_async or self.device_type != DeviceType.CPU:
            return 0
        return self.cpu_time_total - sum(c.cpu_time_total for c in self.cpu_children)

    @property
    def device_time_total(self) -> float:
        if self.is_async or not self.use_device:
            return 0
        if self.device_type == DeviceType.CPU:
            return sum(k.duration for k in self.kernels) + \
                sum(c.device_time_total for c in self.cpu_children)
        return self.time_range.elapsed_us()

    @property
    def self_device_time_total(self) -> float:
        if self.is_async or not self.use_device:
            return 0
        if self.device_type == DeviceType.CPU:
            return self.device_time_total - sum(c.device_time_total for c in self.cpu_children)
        return self.device_time_total

    cuda_time_total = device_time_total
    self_cuda_time_total = self_device_time_total

    @property
    def key(self) -> str:
        return self.name

    def __repr__(self) -> str:
        device_name = self.use_device
        return (f"<FunctionEvent id={self.id} name={self.name} overload_name={self.overload_name} "
                f"device_type={self.device_type} node_id={self.node_id} cpu_time={self.cpu_time_str} "
                f"start_us={self.time_range.start} end_us={self.time_range.end} "
                f"cpu_children={str([child.id for child in self.cpu_children])} "
                f"{device_name}_time={self.device_time_str} name={self.name} thread={self.thread} "
                f"input_shapes={str(self.input_shapes)} cpu_memory_usage={self.cpu_memory_usage} "
                f"{device_name}_memory_usage={self.device_memory_usage} is_async={self.is_async} "
                f"is_remote={self.is_remote} seq_nr={self.sequence_nr} is_legacy={self.is_legacy}>")


class FunctionEventAvg(FormattedTimesMixin):
    """The events of one key summed: ``count`` calls, total and self times, memory, FLOPs."""

    def __init__(self) -> None:
        self.key = None
        self.count = 0
        self.node_id = 0
        self.is_async = False
        self.is_remote = False
        self.use_device = None
        self.cpu_time_total = 0
        self.device_time_total = 0
        self.self_cpu_time_total = 0
        self.self_device_time_total = 0
        self.input_shapes = None
        self.overload_name = None
        self.stack = None
        self.scope = None
        self.cpu_memory_usage = 0
        self.device_memory_usage = 0
        self.self_cpu_memory_usage = 0
        self.self_device_memory_usage = 0
        self.cpu_children = None
        self.cpu_parent = None
        self.device_type = DeviceType.CPU
        self.is_legacy = False
        self.flops = 0
        self.is_user_annotation = False

    def add(self, other: Any) -> "FunctionEventAvg":
        if self.key is None:   # the first event of this key gives the descriptive fields
            for name in ("key", "node_id", "is_async", "is_remote", "cpu_parent", "cpu_children",
                         "overload_name", "input_shapes", "stack", "scope", "device_type",
                         "is_legacy", "use_device", "is_user_annotation"):
                setattr(self, name, getattr(other, name))
        if not isinstance(other, (FunctionEvent, FunctionEventAvg)):
            raise AssertionError("Expected other to be a FunctionEvent or FunctionEventAvg")
        if other.key != self.key:
            raise AssertionError(f"Expected keys to match, but got {other.key} vs {self.key}")
        for name in ("cpu_time_total", "device_time_total", "self_cpu_time_total",
                     "self_device_time_total", "cpu_memory_usage", "device_memory_usage",
                     "self_cpu_memory_usage", "self_device_memory_usage", "count"):
            setattr(self, name, getattr(self, name) + getattr(other, name))
        if self.flops is None:
            self.flops = other.flops
        elif other.flops is not None:
            self.flops += other.flops
        return self

    def __iadd__(self, other: Any) -> "FunctionEventAvg":
        return self.add(other)

    @property
    def cuda_time_total(self) -> float:
        return self.device_time_total

    @property
    def self_cuda_time_total(self) -> float:
        return self.self_device_time_total

    def __repr__(self) -> str:
        device_name = "cuda" if not self.use_device else self.use_device
        return (f"<FunctionEventAvg key={self.key} self_cpu_time={self.self_cpu_time_total_str} "
                f"cpu_time={self.cpu_time_str}  self_{device_name}_time="
                f"{self.self_device_time_total_str} {device_name}_time={self.device_time_str} "
                f"input_shapes={str(self.input_shapes)} cpu_memory_usage={self.cpu_memory_usage} "
                f"{device_name}_memory_usage={self.device_memory_usage}>")


class StringTable(defaultdict):
    """Names as they are (PyTorch demangles C++ names here; edunn's are Python already)."""

    def __missing__(self, key: str) -> str:
        self[key] = key
        return key


class MemRecordsAcc:
    """Memory records sorted by start time, for ``in_interval(start_ns, end_ns)`` look-ups.  A
    record is a tuple whose first item has ``start_ns()`` (PyTorch's shape)."""

    def __init__(self, mem_records: list) -> None:
        self._mem_records = mem_records
        self._start_nses: tuple = ()
        self._indices: tuple = ()
        if len(mem_records) > 0:
            tmp = sorted([(r[0].start_ns(), i) for i, r in enumerate(mem_records)])
            self._start_nses, self._indices = zip(*tmp)

    def in_interval(self, start_ns: int, end_ns: int):
        """The records that start within ``[start_ns, end_ns]``."""
        start_idx = bisect.bisect_left(self._start_nses, start_ns)
        end_idx = bisect.bisect_right(self._start_nses, end_ns)
        for i in range(start_idx, end_idx):
            yield self._mem_records[self._indices[i]]


class EventList(list):
    """A list of ``FunctionEvent``/``FunctionEventAvg`` with PyTorch's analysis methods."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        use_device = kwargs.pop("use_device", None)
        profile_memory = kwargs.pop("profile_memory", False)
        with_flops = kwargs.pop("with_flops", False)
        super().__init__(*args, **kwargs)
        self._use_device = use_device
        self._profile_memory = profile_memory
        self._tree_built = False
        self._with_flops = with_flops

    def _build_tree(self) -> None:
        self._populate_cpu_children()
        self._tree_built = True

    def __str__(self) -> str:
        return self.table()

    def _populate_cpu_children(self) -> None:
        """An event is the child of the innermost event on its thread whose interval contains it
        (a stack sweep over the events sorted by start, longest first)."""
        events = sorted((e for e in self if not e.is_async and e.device_type == DeviceType.CPU),
                        key=attrgetter("thread"))
        for _, thread_events in itertools.groupby(events, key=lambda e: (e.thread, e.node_id)):
            current: list = []
            for event in sorted(thread_events, key=lambda e: [e.time_range.start, -e.time_range.end]):
                while current:
                    parent = current[-1]
                    if event.time_range.start >= parent.time_range.end or \
                            event.time_range.end > parent.time_range.end:
                        current.pop()
                    else:
                        parent.append_cpu_child(event)
                        event.set_cpu_parent(parent)
                        break
                current.append(event)

    @property
    def self_cpu_time_total(self) -> float:
        return sum(event.self_cpu_time_total for event in self)

    def table(self, sort_by=None, row_limit=100, max_src_column_width=75, max_name_column_width=55,
              max_shapes_column_width=80, header=None, top_level_events_only=False,
              time_unit=None) -> str:
        """The events as PyTorch's table: Name, Self CPU %, Self CPU, CPU total %, CPU total, CPU
        time avg, [device columns], [CPU Mem, Self CPU Mem], # of Calls, [Input Shapes], [Source
        Location], [Total FLOPs].  ``sort_by`` is an attribute (``"cpu_time_total"``,
        ``"self_cpu_memory_usage"``, ``"count"`` ...), sorted descending."""
        from ._table import build_table
        return build_table(self, sort_by=sort_by, header=header, row_limit=row_limit,
                           max_src_column_width=max_src_column_width,
                           max_name_column_width=max_name_column_width,
                           max_shapes_column_width=max_shapes_column_width,
                           with_flops=self._with_flops, profile_memory=self._profile_memory,
                           top_level_events_only=top_level_events_only, time_unit=time_unit)

    def export_chrome_trace(self, path: str) -> None:
        """Write the events as a Chrome trace (a JSON array of complete, ``"ph": "X"``, events)
        that ``chrome://tracing`` and Perfetto open."""
        device_name = "cuda" if not self._use_device else self._use_device
        records, next_id = [], 0
        for evt in self:
            if evt.trace_name is None:
                continue
            records.append({"name": evt.trace_name, "ph": "X", "ts": evt.time_range.start,
                            "dur": evt.time_range.elapsed_us(), "tid": evt.thread,
                            "pid": "CPU functions", "args": {}})
            for _ in evt.kernels:
                records.append({"name": evt.trace_name, "ph": "s", "ts": evt.time_range.start,
                                "tid": evt.thread, "pid": "CPU functions", "id": next_id,
                                "cat": f"cpu_to_{device_name}", "args": {}})
                next_id += 1
        with open(path, "w") as f:
            json.dump(records, f)

    def supported_export_stacks_metrics(self) -> list:
        return ["self_cpu_time_total", "self_cuda_time_total", "self_xpu_time_total",
                "self_privateuse1_time_total"]

    def export_stacks(self, path: str, metric: str) -> None:
        """Write ``frame;frame;... value`` lines (the "collapsed stacks" a flame graph tool reads)
        for the events recorded ``with_stack``, outermost frame first."""
        if metric not in self.supported_export_stacks_metrics():
            raise ValueError("metric should be one of: " + str(self.supported_export_stacks_metrics()))
        translate_table = str.maketrans(" ;\t\n", "____")
        attr = metric.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
        with open(path, "w") as f:
            for evt in self:
                if evt.stack and len(evt.stack) > 0:
                    metric_value = getattr(evt, attr)
                    if int(metric_value) > 0:
                        stack_str = ";".join(e.translate(translate_table) for e in reversed(evt.stack))
                        f.write(stack_str + " " + str(int(metric_value)) + "\n")

    def key_averages(self, group_by_input_shapes=False, group_by_stack_n=0,
                     group_by_overload_name=False) -> "EventList":
        """One ``FunctionEventAvg`` per key (name; plus input shapes, the top ``n`` stack frames
        or the overload name when asked), in order of first appearance."""
        if not self._tree_built:
            raise AssertionError("Expected tree to be built before calling key_averages")
        stats: dict = defaultdict(FunctionEventAvg)

        def get_key(event) -> tuple:
            key = [str(event.key), str(event.node_id), str(event.device_type),
                   str(event.is_legacy), str(event.is_user_annotation)]
            if group_by_overload_name:
                key.append(str(event.overload_name))
            if group_by_input_shapes:
                key.append(str(event.input_shapes))
            if group_by_stack_n > 0:
                key += (event.stack or [])[:group_by_stack_n]
            return tuple(key)
        for evt in self:
            stats[get_key(evt)].add(evt)
        avg_list = EventList(stats.values(), use_device=self._use_device,
                             profile_memory=self._profile_memory, with_flops=self._with_flops)
        for evt in avg_list:
            evt.stack = (evt.stack or [])[:group_by_stack_n]
            if not group_by_input_shapes:
                evt.input_shapes = ""
            if not group_by_overload_name:
                evt.overload_name = ""
        return avg_list

    def total_average(self) -> FunctionEventAvg:
        """Every event summed into one ``FunctionEventAvg`` keyed ``"Total"``."""
        total_stat = FunctionEventAvg()
        for evt in self:
            total_stat += evt
            total_stat.key = None
        total_stat.key = "Total"
        return total_stat


def _flops_scale(flops: int) -> tuple:
    """The unit the table shows FLOPs in, from the smallest positive count."""
    headers = ["FLOPs", "KFLOPs", "MFLOPs", "GFLOPs", "TFLOPs", "PFLOPs"]
    log_flops = max(0, min(math.log10(flops) / 3, float(len(headers) - 1)))
    return pow(10, (math.floor(log_flops) * -3.0)), headers[int(log_flops)]
