"""``edunn.cpu`` and ``edunn.accelerator`` against ``torch.cpu`` / ``torch.accelerator`` on this
CPU-only machine: the same names and signatures, the same answers (or the same errors) function
by function, the CPU stream context, and the deprecated ``cpu.amp`` aliases' warnings."""
from __future__ import annotations

import inspect
import warnings

import pytest

import edunn
from opcheck import needs_torch, torch
from test_backends import param_spec


@needs_torch
@pytest.mark.parametrize("module", ["cpu", "accelerator"])
def test_all_names_and_signatures(module):
    t_mod, e_mod = getattr(torch, module), getattr(edunn, module)
    assert sorted(e_mod.__all__) == sorted(t_mod.__all__)
    for name in t_mod.__all__:
        t_obj, e_obj = getattr(t_mod, name), getattr(e_mod, name)
        if inspect.isclass(t_obj):
            assert inspect.isclass(e_obj), name
            t_init = t_obj.__init__ if "__init__" in vars(t_obj) else None
            if t_init is not None and inspect.isfunction(t_init):
                assert param_spec(e_obj.__init__) == param_spec(t_init), name
            public = [m for m in dir(t_obj) if not m.startswith("_")]
            assert not [m for m in public if not hasattr(e_obj, m)], name
        else:
            assert param_spec(e_obj) == param_spec(t_obj), name


@needs_torch
def test_cpu_answers_equal_torch():
    C, T = edunn.cpu, torch.cpu
    assert (C.is_available(), C.is_initialized(), C.device_count(), C.current_device()) == (
        T.is_available(), T.is_initialized(), T.device_count(), T.current_device())
    assert C.synchronize() is None and C.synchronize("cpu") is None and C.set_device("cpu") is None
    assert C.Event().query() is True and C.Event().record() is None and C.Event().wait() is None
    caps_e, caps_t = C.get_capabilities(), T.get_capabilities()
    shared = set(caps_e) & set(caps_t)
    assert "num_logical_cores" in shared and len(shared) > 10   # x86: avx2, avx512_f, sse4_1, ...; arm: fewer
    assert {k: caps_e[k] for k in shared} == {k: caps_t[k] for k in shared}
    with pytest.raises(TypeError):
        caps_e["avx2"] = False   # read-only, as torch's mappingproxy


def test_cpu_stream_context_selects_and_restores():
    C = edunn.cpu
    default = C.current_stream()
    s = C.Stream(priority=0)
    with C.stream(s):
        assert C.current_stream() is s
        with C.StreamContext(None):
            assert C.current_stream() is s
    assert C.current_stream() is default
    s.wait_stream(default)
    s.wait_event(C.Event())
    assert s.record_event() is None


@needs_torch
def test_cpu_amp_aliases_warn_as_torch_and_work():
    def messages(make):
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            obj = make()
        return obj, [(x.category, str(x.message)) for x in w]

    for name in ("autocast", "GradScaler"):
        _, t_msgs = messages(getattr(torch.cpu.amp, name))
        e_obj, e_msgs = messages(getattr(edunn.cpu.amp, name))
        assert e_msgs == t_msgs and e_msgs[0][0] is FutureWarning
        assert param_spec(getattr(edunn.cpu.amp, name).__init__)[1:] == param_spec(getattr(torch.cpu.amp, name))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        ac = edunn.cpu.amp.autocast()
        assert isinstance(ac, edunn.amp.autocast) and isinstance(edunn.cpu.amp.GradScaler(), edunn.amp.GradScaler)
        a, b = edunn.randn(3, 4), edunn.randn(4, 2)
        with ac:
            assert edunn.is_autocast_enabled("cpu") and (a @ b).dtype == edunn.bfloat16
        assert not edunn.is_autocast_enabled("cpu")
        ta, tb = torch.tensor(a.numpy()), torch.tensor(b.numpy())
        with torch.cpu.amp.autocast():
            expected = (ta @ tb).float().numpy()
        with edunn.cpu.amp.autocast():
            got = (a @ b).float().numpy()
        assert abs(got - expected).max() < 1e-2


@needs_torch
@pytest.mark.skipif(edunn.cuda.is_available(), reason="checks the no-GPU answers")
def test_accelerator_without_gpu_matches_torch_function_by_function():
    A, T = edunn.accelerator, torch.accelerator
    assert A.is_available() is T.is_available() is False
    assert A.current_accelerator() is None and A.current_accelerator(check_available=True) is None
    assert A.device_count() == T.device_count() == 0
    with A.device_index(None):
        pass
    calls = {"current_device_index": (), "get_device_capability": (), "current_stream": (), "empty_cache": (),
             "empty_host_cache": (), "get_memory_info": (), "max_memory_allocated": (), "max_memory_reserved": (),
             "memory_allocated": (), "memory_reserved": (), "memory_stats": (), "reset_accumulated_memory_stats": (),
             "reset_peak_memory_stats": (), "synchronize": (), "set_device_index": (0,)}
    for name, args in calls.items():
        with pytest.raises(RuntimeError) as t_err:
            getattr(T, name)(*args)
        with pytest.raises(RuntimeError) as e_err:
            getattr(A, name)(*args)
        assert str(e_err.value) == str(t_err.value), name
    for deprecated, args in (("current_device_idx", ()), ("set_device_idx", (0,))):
        with warnings.catch_warnings(record=True) as w_t:
            warnings.simplefilter("always")
            with pytest.raises(RuntimeError):
                getattr(T, deprecated)(*args)
        with warnings.catch_warnings(record=True) as w_e:
            warnings.simplefilter("always")
            with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available."):
                getattr(A, deprecated)(*args)
        assert [(w.category, str(w.message)) for w in w_e] == [(w.category, str(w.message)) for w in w_t]
    for make in (lambda mod: mod.device_index(0).__enter__(), lambda mod: mod.Graph()):
        with pytest.raises(RuntimeError, match="Cannot access accelerator device when none is available."):
            make(A)
    with pytest.raises(RuntimeError, match="Cannot access accelerator"):
        A.set_stream(None)


@pytest.mark.gpu
def test_accelerator_is_cuda_with_a_gpu():
    A = edunn.accelerator
    assert A.is_available() and A.current_accelerator() == edunn.device("cuda")
    assert A.device_count() == edunn.cuda.device_count()
    assert A.current_device_index() == edunn.cuda.current_device()
    with A.device_index(0):
        assert A.current_device_index() == 0
    x = edunn.ones(1000, device="cuda")
    assert A.memory_allocated() >= x.numel() * 4
    assert A.max_memory_allocated() >= A.memory_allocated()
    assert "allocated_bytes.all.current" in A.memory_stats()
    free, total = A.get_memory_info()
    assert 0 < free <= total
    assert edunn.bfloat16 not in A.get_device_capability()["supported_dtypes"]
    s = edunn.cuda.Stream()
    A.set_stream(s)
    assert A.current_stream() == s
    A.set_stream(edunn.cuda.default_stream())
    A.synchronize()
    A.empty_cache()
    A.empty_host_cache()
