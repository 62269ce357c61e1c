"""``edunn.cuda``'s PyTorch surface against ``torch.cuda``: the names and signatures of streams,
events, devices, memory statistics, graphs, nvtx, amp and random; what each answers or raises
without a GPU (edunn's clear "CUDA is not available" error); the deprecated ``cuda.amp``
aliases' warnings.  The behaviour on a GPU (timing with events, streams, peaks, memory
fraction, graph capture and replay) is checked by the tests marked ``gpu``."""
from __future__ import annotations

import inspect
import warnings

import pytest

import edunn
from opcheck import needs_torch, torch
from test_backends import param_spec

C = edunn.cuda
NO_GPU = pytest.mark.skipif(edunn.cuda.is_available(), reason="checks the no-GPU behaviour")

FUNCTIONS = ["stream", "current_stream", "default_stream", "set_stream", "memory_stats", "memory_summary",
             "memory_snapshot", "max_memory_allocated", "max_memory_reserved", "reset_peak_memory_stats",
             "reset_max_memory_allocated", "reset_max_memory_cached", "reset_accumulated_memory_stats",
             "memory_cached", "max_memory_cached", "memory_stats_as_nested_dict", "memory_allocated",
             "memory_reserved", "empty_cache", "is_bf16_supported", "is_tf32_supported", "get_arch_list",
             "get_gencode_flags", "init", "is_initialized", "ipc_collect", "get_sync_debug_mode",
             "set_sync_debug_mode", "set_per_process_memory_fraction", "get_per_process_memory_fraction",
             "synchronize", "graph_pool_handle", "is_current_stream_capturing", "make_graphed_callables",
             "is_available", "device_count", "current_device", "set_device", "get_device_name",
             "get_device_properties", "get_device_capability", "mem_get_info", "manual_seed", "manual_seed_all",
             "seed", "seed_all", "initial_seed", "get_rng_state", "set_rng_state", "get_rng_state_all",
             "set_rng_state_all"]
CLASSES = {"Event": "__new__", "Stream": "__new__", "ExternalStream": "__new__", "StreamContext": "__init__",
           "device": "__init__", "device_of": "__init__", "CUDAGraph": "__new__", "graph": "__init__"}


def _same_parameters(e_fn, t_fn) -> bool:
    """Compare without the type annotations (torch's strings vs edunn's)."""
    return [(n, k) for n, k, _ in param_spec(e_fn)] == [(n, k) for n, k, _ in param_spec(t_fn)] and \
        [d for *_, d in param_spec(e_fn)] == [d for *_, d in param_spec(t_fn)]


@needs_torch
@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_signature_equals_torch(name):
    assert _same_parameters(getattr(C, name), getattr(torch.cuda, name))


@needs_torch
@pytest.mark.parametrize("name", sorted(CLASSES))
def test_class_signature_and_methods_equal_torch(name):
    t_cls, e_cls = getattr(torch.cuda, name), getattr(C, name)
    t_spec = param_spec(getattr(t_cls, CLASSES[name]))[1:]
    assert param_spec(e_cls.__init__)[1:] == t_spec or [(n, k) for n, k, _ in param_spec(e_cls.__init__)[1:]] == \
        [(n, k) for n, k, _ in t_spec]
    missing = [m for m in dir(t_cls) if not m.startswith("_") and not hasattr(e_cls, m)]
    assert not missing, f"{name} lacks {missing}"
    for method in dir(t_cls):
        if not method.startswith("_") and inspect.isfunction(getattr(t_cls, method)):
            assert _same_parameters(getattr(e_cls, method), getattr(t_cls, method)), f"{name}.{method}"


@needs_torch
@pytest.mark.parametrize("sub", ["random", "nvtx", "graphs", "amp"])
def test_submodules_have_torchs_names(sub):
    t_mod, e_mod = getattr(torch.cuda, sub), getattr(C, sub)
    names = getattr(t_mod, "__all__", None) or [n for n in dir(t_mod) if not n.startswith("_") and n != "contextmanager"]
    for name in names:
        assert hasattr(e_mod, name), f"edunn.cuda.{sub}.{name}"
        t_obj = getattr(t_mod, name)
        if inspect.isfunction(t_obj):
            assert _same_parameters(getattr(e_mod, name), t_obj), f"{sub}.{name}"


@needs_torch
@NO_GPU
def test_answers_without_a_gpu_equal_torch_cpu_build():
    assert C.is_bf16_supported() is torch.cuda.is_bf16_supported() is False
    assert C.is_bf16_supported(including_emulation=False) is False
    assert C.is_tf32_supported() is torch.cuda.is_tf32_supported() is False
    assert C.get_arch_list() == torch.cuda.get_arch_list() == []
    assert C.get_gencode_flags() == torch.cuda.get_gencode_flags() == ""
    assert C.is_initialized() is torch.cuda.is_initialized() is False
    assert C.amp.amp_definitely_not_available() is torch.cuda.amp.amp_definitely_not_available() is True
    assert C.is_current_stream_capturing() is False
    # no-ops, as PyTorch's: a None/negative device, a CPU tensor's device, a None stream
    with C.device(None), C.device(-1), C.device_of(edunn.ones(1)), C.StreamContext(None), C.stream(None):
        pass
    C.empty_cache()


NEEDS_GPU = [("init", ()), ("Event", ()), ("Stream", ()), ("ExternalStream", (0,)), ("current_stream", ()),
             ("default_stream", ()), ("set_stream", (None,)), ("memory_stats", ()), ("memory_summary", ()),
             ("memory_snapshot", ()), ("max_memory_allocated", ()), ("max_memory_reserved", ()),
             ("reset_peak_memory_stats", ()), ("reset_accumulated_memory_stats", ()), ("memory_cached", ()),
             ("max_memory_cached", ()), ("reset_max_memory_allocated", ()), ("memory_stats_as_nested_dict", ()),
             ("ipc_collect", ()), ("get_sync_debug_mode", ()), ("set_sync_debug_mode", ("warn",)),
             ("set_per_process_memory_fraction", (0.5,)), ("get_per_process_memory_fraction", ()),
             ("CUDAGraph", ()), ("graph_pool_handle", ()), ("get_rng_state", ()), ("initial_seed", ())]


@NO_GPU
@pytest.mark.parametrize("name,args", NEEDS_GPU, ids=[n for n, _ in NEEDS_GPU])
def test_gpu_functions_raise_the_clear_error(name, args):
    with pytest.raises(RuntimeError, match=rf"edunn\.cuda\.{name}.*CUDA is not available"):
        getattr(C, name)(*args)


@NO_GPU
def test_context_managers_needing_a_gpu_raise():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        with C.device(0):
            pass
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        C.graphs.graph(None)


def test_make_graphed_callables_says_why_it_is_missing():
    with pytest.raises(NotImplementedError, match="backward pass runs in Python"):
        C.make_graphed_callables(edunn.nn.Linear(2, 2), (edunn.ones(1, 2),))


def test_nvtx_ranges_through_cupy_or_clear_error():
    if edunn.backend.cupy is None or not edunn.backend.cupy.cuda.nvtx.available:
        with pytest.raises(RuntimeError, match="NVTX functions not installed"):
            C.nvtx.range_push("x")
        return
    assert C.nvtx.range_push("outer") == 0 and C.nvtx.range_push("inner") == 1
    assert C.nvtx.range_pop() == 1 and C.nvtx.range_pop() == 0
    with C.nvtx.range("step {}", 3):
        C.nvtx.mark("here")
    C.nvtx.range_end(C.nvtx.range_start("span"))


@needs_torch
def test_cuda_amp_aliases_warn_as_torch():
    def messages(fn):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            fn()
        return [(x.category, str(x.message)) for x in w]

    def decorate(mod, which):
        if which == "custom_fwd":
            return mod.custom_fwd(lambda ctx, x: x), mod.custom_fwd(cast_inputs=None)
        return mod.custom_bwd(lambda ctx, g: g)

    for name in ("autocast", "GradScaler"):
        assert messages(getattr(C.amp, name)) == messages(getattr(torch.cuda.amp, name)), name
        e_spec, t_spec = param_spec(getattr(C.amp, name).__init__)[1:], param_spec(getattr(torch.cuda.amp, name))
        assert [p[:2] for p in e_spec] == [p[:2] for p in t_spec]
    for which in ("custom_fwd", "custom_bwd"):
        assert messages(lambda: decorate(C.amp, which)) == messages(lambda: decorate(torch.cuda.amp, which))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert isinstance(C.amp.autocast(), edunn.amp.autocast)
        assert isinstance(C.amp.GradScaler(), edunn.amp.GradScaler)
        assert C.amp.autocast().fast_dtype == edunn.float16


# ---------------------------------------------------------------------------------- on a GPU
@pytest.mark.gpu
def test_event_timing_and_queries():
    start, end = C.Event(enable_timing=True), C.Event(enable_timing=True)
    assert start.query() is True
    start.record()
    x = edunn.randn(512, 512, device="cuda")
    for _ in range(5):
        x = x @ x / 512
    end.record()
    end.synchronize()
    assert end.query() and start.elapsed_time(end) >= 0.0
    untimed = C.Event()
    untimed.record()
    with pytest.raises(RuntimeError, match="enable_timing=True"):
        start.elapsed_time(untimed)
    blocking = C.Event(blocking=True)
    blocking.record(C.current_stream())
    blocking.wait()
    blocking.synchronize()
    shared = C.Event(interprocess=True)
    shared.record()
    assert isinstance(shared.ipc_handle(), bytes)
    with pytest.raises(RuntimeError, match="interprocess"):
        C.Event(enable_timing=True, interprocess=True)


@pytest.mark.gpu
def test_streams_and_stream_context():
    default = C.current_stream()
    s = C.Stream(priority=-1)
    assert s != default and s.device == edunn.device("cuda", C.current_device())
    with C.stream(s):
        assert C.current_stream() == s
        y = edunn.ones(1000, device="cuda") * 2
        e = s.record_event()
    assert C.current_stream() == default
    default.wait_event(e)
    default.wait_stream(s)
    s.synchronize()
    assert s.query() and float(y.sum()) == 2000.0
    assert C.default_stream().cuda_stream == 0
    ext = C.ExternalStream(s.cuda_stream)
    assert ext.cuda_stream == s.cuda_stream
    C.set_stream(s)
    assert C.current_stream() == s
    C.set_stream(default)


@pytest.mark.gpu
def test_memory_statistics_follow_allocations():
    C.init()
    assert C.is_initialized()
    C.reset_peak_memory_stats()
    before = C.memory_allocated()
    x = edunn.empty(1 << 20, device="cuda")   # 4 MiB
    assert C.memory_allocated() >= before + 4 * (1 << 20)
    peak = C.max_memory_allocated()
    del x
    assert C.max_memory_allocated() == peak >= C.memory_allocated()
    stats = C.memory_stats()
    assert stats["allocated_bytes.all.peak"] == peak and stats["allocation.all.allocated"] >= 1
    assert C.memory_stats_as_nested_dict()["allocated_bytes"]["all"]["peak"] == peak
    assert C.max_memory_reserved() >= C.memory_reserved() > 0
    C.reset_peak_memory_stats()
    assert C.max_memory_allocated() == C.memory_allocated()
    C.reset_accumulated_memory_stats()
    assert C.memory_stats()["allocation.all.allocated"] == 0
    assert "PyTorch CUDA memory summary" in C.memory_summary()
    assert isinstance(C.memory_snapshot(), list)


@pytest.mark.gpu
def test_memory_fraction_and_sync_debug_mode():
    C.set_per_process_memory_fraction(0.5)
    assert abs(C.get_per_process_memory_fraction() - 0.5) < 1e-6
    C.set_per_process_memory_fraction(1.0)
    with pytest.raises(TypeError, match="must be `float`"):
        C.set_per_process_memory_fraction(1)
    with pytest.raises(ValueError, match="Allowed range: 0~1"):
        C.set_per_process_memory_fraction(1.5)
    C.set_sync_debug_mode("warn")
    assert C.get_sync_debug_mode() == 1
    with pytest.raises(RuntimeError, match="expected one of"):
        C.set_sync_debug_mode("loud")
    C.set_sync_debug_mode(0)


@pytest.mark.gpu
def test_device_context_and_capabilities():
    with C.device(0):
        assert C.current_device() == 0
    t = edunn.ones(1, device="cuda:0")
    with C.device_of(t):
        assert C.current_device() == 0
    assert C.is_bf16_supported() is False
    assert C.get_arch_list() == ["sm_%d%d" % C.get_device_capability()]
    assert C.is_tf32_supported() == (C.get_device_capability() >= (8, 0))


@pytest.mark.gpu
def test_cuda_graph_capture_and_replay():
    if getattr(edunn.backend.cupy, "_is_stand_in", False):
        pytest.skip("capturing a CUDA graph needs a real GPU (the CuPy stand-in runs eagerly)")
    static_x = edunn.zeros(16, device="cuda")
    static_y = edunn.zeros(16, device="cuda")
    g = C.CUDAGraph()
    with C.graph(g):
        static_y.copy_(static_x * 2 + 1)
    static_x.copy_(edunn.arange(16, device="cuda", dtype=edunn.float32))
    g.replay()
    C.synchronize()
    assert static_y.cpu().tolist() == [2.0 * i + 1 for i in range(16)]
    assert isinstance(g.pool(), tuple)
    with pytest.raises(RuntimeError, match="non-default stream"):
        with C.stream(C.default_stream()):
            C.CUDAGraph().capture_begin()
