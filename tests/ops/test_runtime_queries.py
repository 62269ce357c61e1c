"""The top-level predicates, ``typename``, ``vmap`` and the process-wide switches, compared with
PyTorch (each switch is restored after its test)."""
from __future__ import annotations

import inspect

import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = needs_torch


def test_predicates(device):
    x = edunn.ones(2, 3, device=device)
    t = torch.ones(2, 3)
    for name in ("is_complex", "is_conj", "is_neg", "is_inference"):
        assert getattr(edunn, name)(x) is getattr(torch, name)(t) is False
    assert edunn.get_device(x) == (-1 if device == "cpu" else 0)
    assert torch.get_device(t) == -1
    for name in ("get_device", "is_complex", "is_conj", "is_neg", "is_inference"):
        with pytest.raises(TypeError, match="must be Tensor"):
            getattr(edunn, name)([1.0])
        with pytest.raises(TypeError):
            getattr(torch, name)([1.0])


def test_typename():
    assert edunn.typename(edunn.ones(1)) == torch.typename(torch.ones(1)).replace("torch", "edunn")
    assert edunn.typename(edunn.ones(1, dtype=edunn.int64)) == "edunn.LongTensor"
    for obj in (3, "s", [1], None, int, inspect.signature):
        assert edunn.typename(obj) == torch.typename(obj)
    assert edunn.typename(edunn.nn.Linear(1, 1)).split(".")[-1] == torch.typename(torch.nn.Linear(1, 1)).split(".")[-1]
    ours = [(p.name, p.kind) for p in inspect.signature(edunn.typename).parameters.values()]
    assert ours == [(p.name, p.kind) for p in inspect.signature(torch.typename).parameters.values()]


def test_vmap_is_func_vmap():
    assert edunn.vmap is edunn.func.vmap
    r = edunn.vmap(lambda v: (v * v).sum())(edunn.arange(6.0).reshape(2, 3))
    assert r.tolist() == torch.vmap(lambda v: (v * v).sum())(torch.arange(6.0).reshape(2, 3)).tolist()
    ours = [(p.name, p.kind, p.default) for p in inspect.signature(edunn.vmap).parameters.values()]
    theirs = [(p.name, p.kind, p.default) for p in inspect.signature(torch.vmap).parameters.values()]
    assert ours == theirs


@pytest.fixture
def restore_settings():
    det = (edunn.are_deterministic_algorithms_enabled(), edunn.is_deterministic_algorithms_warn_only_enabled())
    anomaly = (edunn.is_anomaly_enabled(), edunn.is_anomaly_check_nan_enabled())
    warn, interop = edunn.is_warn_always_enabled(), edunn.get_num_interop_threads()
    tdet = torch.get_deterministic_debug_mode()
    yield
    edunn.use_deterministic_algorithms(det[0], warn_only=det[1])
    edunn.set_anomaly_enabled(*anomaly)
    edunn.set_warn_always(warn)
    edunn.set_num_interop_threads(interop)
    torch.set_deterministic_debug_mode(tdet)


@pytest.mark.parametrize("mode", [0, 1, 2, "default", "warn", "error"])
def test_deterministic_debug_mode(mode, restore_settings):
    edunn.set_deterministic_debug_mode(mode)
    torch.set_deterministic_debug_mode(mode)
    assert edunn.get_deterministic_debug_mode() == torch.get_deterministic_debug_mode()
    assert edunn.are_deterministic_algorithms_enabled() == torch.are_deterministic_algorithms_enabled()
    assert (edunn.is_deterministic_algorithms_warn_only_enabled()
            == torch.is_deterministic_algorithms_warn_only_enabled())


def test_deterministic_debug_mode_errors(restore_settings):
    for bad, exc, msg in (("bad", RuntimeError, "expected one of `default`, `warn`, `error`, but got bad"),
                          (5, RuntimeError, "expected 0, 1, or 2, but got 5"),
                          (1.0, TypeError, "debug_mode must be str or int")):
        with pytest.raises(exc, match=msg):
            edunn.set_deterministic_debug_mode(bad)
        with pytest.raises(exc, match=msg):
            torch.set_deterministic_debug_mode(bad)
    assert inspect.signature(edunn.get_deterministic_debug_mode).parameters == {}


def test_anomaly_switch(restore_settings):
    edunn.set_anomaly_enabled(True, False)
    assert edunn.is_anomaly_enabled() and not edunn.is_anomaly_check_nan_enabled()
    assert edunn.autograd.is_anomaly_enabled()
    edunn.set_anomaly_enabled(False)
    assert not edunn.is_anomaly_enabled() and edunn.is_anomaly_check_nan_enabled()
    assert torch.is_anomaly_enabled() is edunn.is_anomaly_enabled()
    with pytest.raises(TypeError):
        edunn.set_anomaly_enabled("yes")
    prev = (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled())
    torch.set_anomaly_enabled(True, False)  # the same positional form
    assert (torch.is_anomaly_enabled(), torch.is_anomaly_check_nan_enabled()) == (True, False)
    torch.set_anomaly_enabled(*prev)


def test_warn_always_flush_denormal_interop(restore_settings):
    assert edunn.is_warn_always_enabled() is torch.is_warn_always_enabled() is False
    edunn.set_warn_always(True)
    assert edunn.is_warn_always_enabled() is True
    with pytest.raises(TypeError):
        edunn.set_warn_always(1)
    assert edunn.set_flush_denormal(False) is False  # edunn cannot set the CPU's mode (docstring)
    with pytest.raises(TypeError):
        edunn.set_flush_denormal(1)
    assert edunn.get_num_interop_threads() == torch.get_num_interop_threads() or edunn.get_num_interop_threads() >= 1
    edunn.set_num_interop_threads(3)
    assert edunn.get_num_interop_threads() == 3
    with pytest.raises(RuntimeError, match="set_num_interop_threads expects a positive integer"):
        edunn.set_num_interop_threads(0)
    with pytest.raises(RuntimeError, match="set_num_interop_threads expects a positive integer"):
        torch.set_num_interop_threads(0)
    with pytest.raises(TypeError):
        edunn.set_num_interop_threads(2.0)
