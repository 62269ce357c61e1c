"""``EventList.table``: the summary table the profiler prints, column for column PyTorch's
(``torch/autograd/profiler_util.py``, ``_build_table``)."""
from __future__ import annotations

from typing import Any

from ._events import (DeviceType, EventList, _flops_scale, _format_memory, _format_time,
                      _format_time_share)

SPACING_SIZE = 2
DEFAULT_COLUMN_WIDTH = 12


def _override_time_unit(time_us: float, default_str: str, time_unit: str | None) -> str:
    if time_unit == "s":
        return f"{time_us / 1e6:.3f}s"
    if time_unit == "ms":
        return f"{time_us / 1e3:.3f}ms"
    if time_unit == "us":
        return f"{time_us:.3f}us"
    return default_str


def _trim_path(path: str, width: int) -> str:
    if len(path) > width:
        path = path[len(path) - width:]
        if len(path) > 3:
            path = "..." + path[3:]
    return path


def build_table(events: Any, sort_by: str | None = None, header: str | None = None,
                row_limit: int = 100, max_src_column_width: int = 75,
                max_name_column_width: int = 55, max_shapes_column_width: int = 80,
                with_flops: bool = False, profile_memory: bool = False,
                top_level_events_only: bool = False, time_unit: str | None = None) -> str:
    if len(events) == 0:
        return ""
    has_device_time = any(e.self_device_time_total > 0 for e in events)
    has_device_mem = any(e.self_device_memory_usage > 0 for e in events)
    use_device = events[0].use_device
    if not use_device and has_device_time:
        raise RuntimeError("use_device is None, but there is device performance data.")
    has_input_shapes = any(e.input_shapes is not None and len(e.input_shapes) > 0 for e in events)
    has_overload_names = any(e.overload_name is not None and len(e.overload_name) > 0 for e in events)
    if sort_by is not None:
        attr = sort_by.replace("cuda", "device").replace("xpu", "device").replace("privateuse1", "device")
        events = EventList(sorted(events, key=lambda e: getattr(e, attr), reverse=True),
                           use_device=use_device, profile_memory=profile_memory, with_flops=with_flops)

    name_width = max(len(e.key) for e in events) + 4
    if max_name_column_width is not None:
        name_width = min(name_width, max_name_column_width)
    shapes_width = max(len(str(e.input_shapes)) for e in events) + 4
    if max_shapes_column_width is not None:
        shapes_width = min(shapes_width, max_shapes_column_width)
    stacks = [e.stack for e in events if e.stack is not None and len(e.stack) > 0]
    has_stack = len(stacks) > 0
    src_width = 0
    if has_stack:
        src_width = max(max(len(entry) for entry in stack) for stack in stacks) + 4
        if max_src_column_width is not None:
            src_width = min(src_width, max_src_column_width)

    headers = ["Name"] + (["Overload Name"] if has_overload_names else []) + \
        ["Self CPU %", "Self CPU", "CPU total %", "CPU total", "CPU time avg"]
    device_name = use_device.upper() if use_device is not None else "None"
    if has_device_time:
        headers += [f"Self {device_name}", f"Self {device_name} %", f"{device_name} total",
                    f"{device_name} time avg"]
    if profile_memory:
        headers += ["CPU Mem", "Self CPU Mem"]
        if use_device and has_device_mem:
            headers += [f"{device_name} Mem", f"Self {device_name} Mem"]
    headers.append("# of Calls")
    append_node_id = any(e.node_id != -1 for e in events)
    if append_node_id:
        headers.append("Node ID")

    fmt = {"row": "", "sep": "", "len": -SPACING_SIZE}

    def add_column(padding: int, text_dir: str = ">") -> None:
        fmt["row"] += "{: " + text_dir + str(padding) + "}" + " " * SPACING_SIZE
        fmt["sep"] += "-" * padding + " " * SPACING_SIZE
        fmt["len"] += padding + SPACING_SIZE

    add_column(name_width)
    if has_overload_names:
        add_column(name_width)
    for _ in headers[1 + has_overload_names:]:
        add_column(DEFAULT_COLUMN_WIDTH)
    if has_input_shapes:
        headers.append("Input Shapes")
        add_column(shapes_width)
    flops_scale = 1.0
    if with_flops:
        raw_flops = [e.flops for e in events if e.flops is not None and e.flops > 0]
        if raw_flops:
            flops_scale, flops_header = _flops_scale(min(raw_flops))
            headers.append(f"Total {flops_header}")
            add_column(DEFAULT_COLUMN_WIDTH)
        else:
            with_flops = False   # no op with a FLOP count
    if has_stack:   # last (PyTorch puts it before the FLOPs, where its rows misalign)
        headers.append("Source Location")
        add_column(src_width, text_dir="<")
    row_format, header_sep, line_length = fmt["row"], fmt["sep"], fmt["len"]

    result: list = []

    def append(s: str) -> None:
        result.append(s)
        result.append("\n")

    sum_self_cpu = sum(e.self_cpu_time_total for e in events)
    sum_self_device = sum(e.self_device_time_total for e in events
                          if e.device_type == DeviceType.CPU and not e.is_user_annotation)
    if header is not None:
        append("=" * line_length)
        append(header)
    if top_level_events_only:
        append("=" * line_length)
        append("This report only display top-level ops statistics")
    append(header_sep)
    append(row_format.format(*headers))
    append(header_sep)

    event_limit = 0
    for evt in events:
        if event_limit == row_limit:
            break
        if top_level_events_only and evt.cpu_parent is not None:
            continue
        event_limit += 1
        name = evt.key
        if max_name_column_width is not None and len(name) >= max_name_column_width - 3:
            name = name[:(max_name_column_width - 3)] + "..."
        evt.self_cpu_percent = _format_time_share(evt.self_cpu_time_total, sum_self_cpu)
        evt.total_cpu_percent = _format_time_share(evt.cpu_time_total, sum_self_cpu) \
            if not evt.is_async else 0
        row = [name]
        if has_overload_names:
            row.append(evt.overload_name or "")
        row += [evt.self_cpu_percent,
                _override_time_unit(evt.self_cpu_time_total, evt.self_cpu_time_total_str, time_unit),
                evt.total_cpu_percent,
                _override_time_unit(evt.cpu_time_total, evt.cpu_time_total_str, time_unit),
                _override_time_unit(evt.cpu_time, evt.cpu_time_str, time_unit)]
        if has_device_time:
            evt.total_device_percent = _format_time_share(evt.self_device_time_total, sum_self_device)
            row += [_override_time_unit(evt.self_device_time_total, evt.self_device_time_total_str, time_unit),
                    evt.total_device_percent,
                    _override_time_unit(evt.device_time_total, evt.device_time_total_str, time_unit),
                    _override_time_unit(evt.device_time, evt.device_time_str, time_unit)]
        if profile_memory:
            row += [_format_memory(evt.cpu_memory_usage), _format_memory(evt.self_cpu_memory_usage)]
            if use_device and has_device_mem:
                row += [_format_memory(evt.device_memory_usage),
                        _format_memory(evt.self_device_memory_usage)]
        row.append(evt.count)
        if append_node_id:
            row.append(evt.node_id)
        if has_input_shapes:
            row.append(str(evt.input_shapes)[:shapes_width])
        if with_flops:
            row.append("--" if not evt.flops or evt.flops <= 0 else f"{evt.flops * flops_scale:8.3f}")
        if has_stack:
            row.append(_trim_path(evt.stack[0], src_width) if evt.stack else "")
        append(row_format.format(*row))
        if has_stack:
            empty = [""] * (len(headers) - 1)
            for entry in (evt.stack or [])[1:]:
                append(row_format.format(*(empty + [_trim_path(entry, src_width)])))
            append(row_format.format(*(empty + [""])))
    append(header_sep)
    append(f"Self CPU time total: "
           f"{_override_time_unit(sum_self_cpu, _format_time(sum_self_cpu), time_unit)}")
    if has_device_time:
        append(f"Self {device_name} time total: "
               f"{_override_time_unit(sum_self_device, _format_time(sum_self_device), time_unit)}")
    return "".join(result)
