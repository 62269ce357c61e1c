"""``edunn.profiler`` and ``edunn.autograd.profiler``: structure and semantics against PyTorch's
(schedules, names, table layout, traces, call counts, shapes, memory, FLOPs); never timings."""
import gzip
import inspect
import json
import os
import re
import sqlite3
import warnings

import pytest

import edunn
import edunn.nn as nn
import edunn.profiler as P
from edunn.autograd import profiler as AP
from edunn.profiler import ProfilerAction
from opcheck import needs_torch


def _read_json(path, opener=open):
    with opener(path, "rt") as f:
        return json.load(f)


def _read_text(path):
    with open(path) as f:
        return f.read().splitlines()


def _program(lib, x, y):
    with lib.profiler.record_function("my_range"):
        z = x * y
        z = z * y
        z = z * x
    return lib.mm(z, y.t()).sum()


def _run(lib, **kwargs):
    x, y = lib.ones(3, 4), lib.ones(3, 4)
    with lib.profiler.profile(**kwargs) as prof:
        _program(lib, x, y)
    return prof


# ------------------------------------------------------------------ names and signatures
@needs_torch
def test_public_names_match_torch():
    import torch
    import torch.autograd.profiler
    import torch.profiler.itt
    assert P.__all__ == torch.profiler.__all__
    assert AP.__all__ == torch.autograd.profiler.__all__
    assert P.itt.__all__ == torch.profiler.itt.__all__
    assert [a.name for a in ProfilerAction] == [a.name for a in torch.profiler.ProfilerAction]
    assert {k: int(v) for k, v in P.ProfilerActivity.__members__.items()} == \
        {k: int(v) for k, v in torch.profiler.ProfilerActivity.__members__.items()}
    assert {k: int(v) for k, v in P.DeviceType.__members__.items()} == \
        {k: int(v) for k, v in torch.profiler.DeviceType.__members__.items()}
    assert str(P.DeviceType.CPU) == str(torch.profiler.DeviceType.CPU)


def _params(f):
    return [(p.name, p.kind, p.default if not isinstance(p.default, (P.DeviceType,)) else int(p.default))
            for p in inspect.signature(f).parameters.values()]


@needs_torch
@pytest.mark.parametrize("path", [
    "profiler.profile.__init__", "profiler.schedule", "profiler.tensorboard_trace_handler",
    "profiler.profile.key_averages", "profiler.profile.export_chrome_trace",
    "profiler.profile.export_stacks", "profiler.profile.export_memory_timeline",
    "profiler.profile.step", "profiler.profile.toggle_collection_dynamic",
    "profiler.ExecutionTraceObserver.register_callback", "profiler.record_function.__init__",
    "autograd.profiler.profile.__init__", "autograd.profiler.profile.key_averages",
    "autograd.profiler.profile.table", "autograd.profiler.profile.export_stacks",
    "autograd.profiler.emit_nvtx.__init__", "autograd.profiler.emit_itt.__init__",
    "autograd.profiler.load_nvprof", "autograd.profiler.parse_nvprof_trace",
    "autograd.profiler.EventList.table", "autograd.profiler.EventList.key_averages",
    "autograd.profiler.EventList.export_stacks", "autograd.profiler.MemRecordsAcc.__init__",
    "autograd.profiler.KinetoStepTracker.increment_step", "profiler.itt.range_push"])
def test_signatures_match_torch(path):
    import torch
    import torch.autograd.profiler  # noqa: F401

    def get(root):
        obj = root
        for part in path.split("."):
            obj = getattr(obj, part)
        return obj
    ours, theirs = _params(get(edunn)), _params(get(torch))
    assert [p[:2] for p in ours] == [p[:2] for p in theirs]
    assert [p[2] for p in ours] == [p[2] if not callable(p[2]) else p[2] for p in theirs]


@needs_torch
def test_function_event_constructor_matches_torch():
    from torch.autograd.profiler_util import FunctionEvent, FunctionEventAvg
    assert [p[:2] for p in _params(AP.FunctionEvent.__init__)] == [p[:2] for p in _params(FunctionEvent.__init__)]
    for name in ("key", "count", "cpu_time_total", "self_cpu_time_total", "cpu_time", "input_shapes",
                 "cpu_memory_usage", "self_cpu_memory_usage", "flops", "device_time_total",
                 "self_device_time_total", "cpu_children", "cpu_parent", "stack"):
        ev = AP.FunctionEvent(id=1, name="x", thread=0, start_us=0, end_us=2)
        assert hasattr(ev, name) and hasattr(P._events.FunctionEventAvg(), name), name
        assert hasattr(FunctionEvent(id=1, name="x", thread=0, start_us=0, end_us=2), name)
    assert hasattr(FunctionEventAvg(), "flops")


# ------------------------------------------------------------------ schedule
SCHEDULES = [dict(wait=1, warmup=1, active=2), dict(wait=0, warmup=2, active=1, repeat=2),
             dict(wait=2, warmup=1, active=3, repeat=1, skip_first=3),
             dict(wait=3, warmup=1, active=1, skip_first_wait=1),
             dict(wait=1, warmup=0, active=1, repeat=3, skip_first=1, skip_first_wait=1),
             dict(wait=0, warmup=0, active=4, repeat=2)]


@needs_torch
@pytest.mark.parametrize("kwargs", SCHEDULES, ids=str)
def test_schedule_actions_match_torch(kwargs):
    import torch.profiler
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = P.schedule(**kwargs), torch.profiler.schedule(**kwargs)
    assert [ours(s).name for s in range(30)] == [theirs(s).name for s in range(30)]


def test_schedule_rejects_bad_arguments_and_warns_without_warmup():
    with pytest.raises(AssertionError, match="active=0 \\(need > 0\\)"):
        P.schedule(wait=1, warmup=1, active=0)
    with pytest.warns(UserWarning, match="won't be using warmup"):
        P.schedule(wait=1, warmup=0, active=1)
    with pytest.raises(AssertionError, match="Step must be non-negative"):
        P.schedule(wait=1, warmup=1, active=1)(-1)


def _steps_seen(lib, kwargs, n_steps=9):
    """For each on_trace_ready call: the ProfilerStep#N ranges in the trace, and call counts."""
    seen = []

    def ready(prof):
        names = [e.name for e in prof.events()]
        seen.append((names.count("ProfilerStep*"),
                     names.count("aten::add")))
    x = lib.ones(2, 2)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with lib.profiler.profile(activities=[lib.profiler.ProfilerActivity.CPU],
                                  schedule=lib.profiler.schedule(**kwargs), on_trace_ready=ready) as p:
            for _ in range(n_steps):
                x = x + 1
                p.step()
    return seen


@needs_torch
@pytest.mark.parametrize("kwargs", SCHEDULES[:4], ids=str)
def test_steps_recorded_and_traces_handed_over_like_torch(kwargs):
    import torch
    assert _steps_seen(edunn, kwargs) == _steps_seen(torch, kwargs)


def test_schedule_returning_device_stopped_is_refused():
    with pytest.raises(ValueError, match="DEVICE_STOPPED"):
        P.profile(schedule=lambda step: ProfilerAction.DEVICE_STOPPED)


# ------------------------------------------------------------------ events and tables
@needs_torch
@pytest.mark.parametrize("lib_name", ["profiler", "legacy"])
def test_calls_per_op_and_ranges(lib_name):
    if lib_name == "profiler":
        prof = _run(edunn)
    else:
        x, y = edunn.ones(3, 4), edunn.ones(3, 4)
        with AP.profile() as prof:
            _program(edunn, x, y)
    counts = {e.key: e.count for e in prof.key_averages()}
    assert counts["aten::mul"] == 3 and counts["aten::mm"] == 1 and counts["my_range"] == 1
    rng = [e for e in prof.function_events if e.name == "my_range"] if lib_name == "legacy" else \
        [e for e in prof.events() if e.name == "my_range"]
    assert [c.name for c in rng[0].cpu_children] == ["aten::mul"] * 3
    assert all(c.cpu_parent is rng[0] for c in rng[0].cpu_children)


def test_self_and_total_times_are_consistent():
    prof = _run(edunn)
    events = prof.events()
    for e in events:
        assert 0 <= e.self_cpu_time_total <= e.cpu_time_total
        assert e.self_cpu_time_total == pytest.approx(
            e.cpu_time_total - sum(c.cpu_time_total for c in e.cpu_children))
    total = events.total_average()
    assert total.key == "Total" and total.count == len(events)
    assert total.self_cpu_time_total == pytest.approx(events.self_cpu_time_total)
    avg = {e.key: e for e in prof.key_averages()}
    assert avg["aten::mul"].cpu_time == pytest.approx(avg["aten::mul"].cpu_time_total / 3)


def _header_names(table):
    lines = table.splitlines()
    assert set(lines[0]) == {"-", " "} and set(lines[2]) == {"-", " "}
    widths = [len(w) for w in lines[0].split("  ") if w]
    names, pos = [], 0
    for w in widths:
        names.append(lines[1][pos:pos + w].strip())
        pos += w + 2
    return names, widths


@needs_torch
@pytest.mark.parametrize("kwargs", [{}, dict(record_shapes=True), dict(profile_memory=True),
                                    dict(with_flops=True), dict(record_shapes=True, profile_memory=True)],
                         ids=str)
def test_table_columns_match_torch(kwargs):
    import torch
    group = kwargs.get("record_shapes", False)
    ours = _run(edunn, **kwargs).key_averages(group_by_input_shape=group).table(sort_by="cpu_time_total")
    theirs = _run(torch, **kwargs).key_averages(group_by_input_shape=group).table(sort_by="cpu_time_total")
    (our_names, our_widths), (their_names, their_widths) = _header_names(ours), _header_names(theirs)
    assert our_names == their_names
    assert our_widths[1:] == their_widths[1:]    # the name column is sized by the longest name
    assert ours.splitlines()[-1].startswith("Self CPU time total: ")
    assert theirs.splitlines()[-1].startswith("Self CPU time total: ")


def test_table_sorting_row_limit_and_time_unit():
    prof = _run(edunn, profile_memory=True)
    table = prof.key_averages().table(sort_by="count", row_limit=1, time_unit="ms")
    rows = table.splitlines()
    assert rows[3].split()[0] == "aten::mul" and len(rows) == 6
    cells = rows[3].split()
    assert all(cells[i].endswith("ms") for i in (2, 4, 5))
    assert prof.key_averages().table(header="HEAD").splitlines()[1] == "HEAD"


@needs_torch
def test_input_shapes_memory_and_flops_match_torch():
    import torch
    kw = dict(record_shapes=True, profile_memory=True, with_flops=True)
    ours = {e.key: e for e in _run(edunn, **kw).key_averages(group_by_input_shape=True)}
    theirs = {e.key: e for e in _run(torch, **kw).key_averages(group_by_input_shape=True)}
    assert ours["aten::mm"].input_shapes == theirs["aten::mm"].input_shapes == [[3, 4], [4, 3]]
    assert ours["aten::mm"].flops == theirs["aten::mm"].flops
    assert ours["aten::mul"].cpu_memory_usage == theirs["aten::mul"].cpu_memory_usage
    assert ours["aten::mm"].cpu_memory_usage == theirs["aten::mm"].cpu_memory_usage


def test_backward_ops_are_recorded():
    m = nn.Linear(4, 3)
    x = edunn.randn(2, 4, requires_grad=True)
    with P.profile(with_flops=True) as prof:
        (m(x) @ edunn.randn(3, 5, requires_grad=True)).sum().backward()
    names = [e.name for e in prof.events()]
    assert "autograd::engine::evaluate_function: " + m(x).grad_fn.name() in names
    assert names.count("aten::mm") == 3            # forward and the two of MatMul's backward
    backward = [e for e in prof.events() if e.scope == 1]
    assert backward and all(e.name.startswith("autograd::engine::evaluate_function: ") for e in backward)
    # the linear's backward is array code: its range carries the FLOPs of both products
    assert [e.flops for e in backward if e.flops] == [2 * (2 * 2 * 4 * 3)]


def test_modules_are_ranges():
    m = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 2))
    with P.profile(with_modules=True) as prof:
        m(edunn.ones(1, 2))
    names = [e.name for e in prof.events()]
    assert {"nn.Module: Sequential_0", "nn.Module: Linear_0", "nn.Module: Linear_1",
            "nn.Module: ReLU_0"} <= set(names)
    seq = next(e for e in prof.events() if e.name == "nn.Module: Sequential_0")
    assert [c.name for c in seq.cpu_children] == ["nn.Module: Linear_0", "nn.Module: ReLU_0",
                                                  "nn.Module: Linear_1"]


def test_record_function_as_decorator_and_outside_a_profile():
    @P.record_function("decorated")
    def f(x):
        return x + 1
    f(edunn.ones(2))                                 # no profiler: nothing to record, no error
    with P.profile() as prof:
        f(edunn.ones(2))
    ev = next(e for e in prof.events() if e.name == "decorated")
    assert ev.is_user_annotation and [c.name for c in ev.cpu_children] == ["aten::add"]


# ------------------------------------------------------------------ exports
def test_chrome_trace_is_valid_and_has_ops_and_ranges(tmp_path):
    prof = _run(edunn, record_shapes=True)
    path = str(tmp_path / "trace.json")
    prof.export_chrome_trace(path)
    trace = _read_json(path)
    events = [e for e in trace["traceEvents"] if e["ph"] == "X"]
    assert {"my_range", "aten::mul", "aten::mm"} <= {e["name"] for e in events}
    for e in events:
        assert isinstance(e["ts"], (int, float)) and e["dur"] >= 0 and "pid" in e and "tid" in e
    mm = next(e for e in events if e["name"] == "aten::mm")
    assert mm["cat"] == "cpu_op" and mm["args"]["Input Dims"] == [[3, 4], [4, 3]]
    assert next(e for e in events if e["name"] == "my_range")["cat"] == "user_annotation"
    prof.export_chrome_trace(path + ".gz")
    assert _read_json(path + ".gz", gzip.open)["traceEvents"]


def test_legacy_chrome_trace_is_a_json_array(tmp_path):
    with AP.profile() as prof:
        _program(edunn, edunn.ones(3, 4), edunn.ones(3, 4))
    path = str(tmp_path / "legacy.json")
    prof.export_chrome_trace(path)
    records = _read_json(path)
    assert {r["name"] for r in records} >= {"my_range", "aten::mul"}
    assert all(r["ph"] == "X" for r in records)


def test_tensorboard_trace_handler_names_files_like_torch(tmp_path):
    for gz in (False, True):
        handler = P.tensorboard_trace_handler(str(tmp_path / "log"), worker_name="w0", use_gzip=gz)
        handler(_run(edunn))
    names = sorted(os.listdir(tmp_path / "log"))
    assert re.fullmatch(r"w0\.\d+\.pt\.trace\.json", names[0])
    assert re.fullmatch(r"w0\.\d+\.pt\.trace\.json\.gz", names[1])
    handler = P.tensorboard_trace_handler(str(tmp_path / "log2"))
    handler(_run(edunn))
    assert os.listdir(tmp_path / "log2")[0].startswith(f"{os.uname().nodename}_{os.getpid()}.")


def test_export_stacks_and_memory_timeline(tmp_path):
    prof = _run(edunn, with_stack=True, profile_memory=True)
    path = str(tmp_path / "stacks.txt")
    prof.export_stacks(path)
    lines = _read_text(path)
    assert lines and all(re.fullmatch(r"\S+ \d+", line) for line in lines)
    assert any("test_profiler.py" in line for line in lines)
    with pytest.raises(ValueError, match="metric should be one of"):
        prof.export_stacks(path, "bad")
    prof.export_memory_timeline(str(tmp_path / "mem.json"))
    times, sizes = _read_json(tmp_path / "mem.json")
    assert len(times) == len(sizes) > 0 and max(sizes) > 0
    with pytest.raises(ValueError, match="JSON only"):
        prof.export_memory_timeline(str(tmp_path / "mem.html"))
    with pytest.raises(AssertionError, match="with_stack"):
        _run(edunn).export_stacks(path)


def test_execution_trace_observer(tmp_path):
    path = str(tmp_path / "et.json")
    et = P.ExecutionTraceObserver().register_callback(path)
    assert et.is_registered and et.get_output_file_path() == path
    x = edunn.ones(2, 3)
    with P.profile(execution_trace_observer=et):
        y = x * 2
        y.sum()
    trace = _read_json(path)
    assert trace["schema"].startswith("1.") and "start_ts" in trace and "finish_ts" in trace
    ops = [n for n in trace["nodes"] if n["name"].startswith("aten::")]
    assert [n["name"] for n in ops] == ["aten::mul", "aten::sum"]
    assert ops[0]["inputs"]["shapes"][0] == [2, 3]
    assert ops[1]["inputs"]["values"][0] == ops[0]["outputs"]["values"][0]   # the data flow
    with pytest.raises(RuntimeError, match="needs to be registered"):
        P.ExecutionTraceObserver().get_output_file_path()


# ------------------------------------------------------------------ the rest of the API
def test_profile_states_and_errors():
    p = AP.profile()
    with pytest.raises(RuntimeError, match="didn't finish"):
        p.key_averages()
    with p:
        with pytest.raises(RuntimeError, match="not reentrant"):
            p.__enter__()
    assert AP.profile(enabled=False).__enter__() is None
    with pytest.warns(FutureWarning, match="use_cuda"), warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)   # "CUDA is not available" on this machine
        AP.profile(use_cuda=True)
    with pytest.warns(FutureWarning, match="use_cuda"):
        P.profile(use_cuda=False)
    with pytest.raises(AssertionError, match="No valid profiler activities"):
        P.profile(activities=[])


def test_start_stop_and_toggle():
    p = P.profile()
    p.start()
    edunn.ones(2) + 1
    p.toggle_collection_dynamic(False, [P.ProfilerActivity.CPU])
    edunn.ones(2) * 3
    p.toggle_collection_dynamic(True, [P.ProfilerActivity.CPU])
    edunn.ones(2) - 1
    p.stop()
    names = [e.name for e in p.events()]
    assert "aten::add" in names and "aten::sub" in names and "aten::mul" not in names


@pytest.mark.skipif(edunn.cuda.is_available(), reason="checks the behaviour without CUDA")
def test_no_cuda_no_nvtx_and_no_itt():
    assert P.supported_activities() == {P.ProfilerActivity.CPU}
    assert P.kineto_available() is False
    with pytest.raises(AssertionError, match="CUDA"):
        with AP.emit_nvtx():
            pass
    with AP.emit_nvtx(enabled=False), AP.emit_itt(enabled=False):
        edunn.ones(1) + 1
    assert P.itt.is_available() is False


@needs_torch
def test_itt_behaves_as_torch_without_vtune():
    import torch.profiler.itt as titt
    for lib in (P.itt, titt):
        assert (lib.range_push("a"), lib.range_pop(), lib.mark("m")) == (None, None, None)
        with lib.range("step {}", 1):
            pass
    emit = AP.emit_itt(record_shapes=True)
    with emit:
        y = edunn.ones(2) * 3          # the op runs, its range goes nowhere
        with pytest.raises(RuntimeError, match="not reentrant"):
            emit.__enter__()
    assert y.tolist() == [3.0, 3.0] and not emit.entered
    with pytest.warns(UserWarning, match="CUDA is not available"):
        AP.profile(use_device="cuda")


def test_cuda_time_recorded(device):
    x = edunn.ones(64, 64, device=device)
    acts = [P.ProfilerActivity.CPU] + ([P.ProfilerActivity.CUDA] if device == "cuda" else [])
    with P.profile(activities=acts, profile_memory=True) as prof:
        x @ x
    mm = next(e for e in prof.events() if e.name == "aten::mm")
    if device == "cuda":
        assert len(mm.kernels) == 1 and mm.device_memory_usage == 64 * 64 * 4
        assert "CUDA total" in prof.key_averages().table()
    else:
        assert mm.kernels == [] and mm.cpu_memory_usage == 64 * 64 * 4


def test_parse_nvprof_trace(tmp_path):
    path = str(tmp_path / "trace.nvvp")
    db = sqlite3.connect(path)
    db.executescript("""
        CREATE TABLE StringTable (_id_ INTEGER, value TEXT);
        CREATE TABLE CUPTI_ACTIVITY_KIND_MARKER (id INTEGER, name INTEGER, timestamp INTEGER);
        CREATE TABLE CUPTI_ACTIVITY_KIND_RUNTIME (_id_ INTEGER, cbid INTEGER, start INTEGER,
                                                  "end" INTEGER, correlationId INTEGER);
        CREATE TABLE CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL (start INTEGER, "end" INTEGER,
                                                            name INTEGER, correlationId INTEGER);
        INSERT INTO StringTable VALUES (1, 'aten::mm, seq = 1'), (2, 'gemm_kernel');
        INSERT INTO CUPTI_ACTIVITY_KIND_MARKER VALUES (7, 1, 100), (7, 0, 200);
        INSERT INTO CUPTI_ACTIVITY_KIND_RUNTIME VALUES (1, 211, 120, 130, 5);
        INSERT INTO CUPTI_ACTIVITY_KIND_CONCURRENT_KERNEL VALUES (140, 170, 2, 5);
    """)
    db.commit()
    db.close()
    events = AP.load_nvprof(path)
    assert isinstance(events, AP.EventList) and len(events) == 1
    assert events[0].name == "aten::mm, seq = 1" and events[0].time_range.elapsed_us() == 100
    assert events[0].kernels[0].duration == 30


def test_enforce_unique_step_tracker_and_mem_records():
    u = AP.EnforceUnique()
    u.see(1, 2)
    with pytest.raises(RuntimeError, match="duplicate key"):
        u.see(1, 2)
    AP.KinetoStepTracker.init_step_count("A")
    start = AP.KinetoStepTracker.current_step()
    assert AP.KinetoStepTracker.increment_step("A") == start + 1
    assert AP.KinetoStepTracker.erase_step_count("A") is True
    assert AP.KinetoStepTracker.erase_step_count("A") is False

    class R:
        def __init__(self, t):
            self.t = t

        def start_ns(self):
            return self.t
    acc = AP.MemRecordsAcc([(R(30), "c"), (R(10), "a"), (R(20), "b")])
    assert [r[1] for r in acc.in_interval(10, 25)] == ["a", "b"]
    assert list(AP.MemRecordsAcc([]).in_interval(0, 1)) == []


def test_grouping_top_level_rows_and_range_memory():
    prof = _run(edunn, with_stack=True, profile_memory=True)
    by_stack = prof.key_averages(group_by_stack_n=1)
    muls = [e for e in by_stack if e.key == "aten::mul"]
    assert sum(e.count for e in muls) == 3 and all(len(e.stack) == 1 for e in muls)
    assert len(muls) == 3        # three different lines of _program
    top = prof.key_averages().table(top_level_events_only=True).splitlines()
    assert top[1] == "This report only display top-level ops statistics"
    names = [line.split()[0] for line in top[5:-2]]
    assert "my_range" in names and "aten::mul" not in names
    rng = next(e for e in prof.events() if e.name == "my_range")
    assert rng.cpu_memory_usage == sum(c.cpu_memory_usage for c in rng.cpu_children) == 3 * 48
    assert rng.self_cpu_memory_usage == 0
