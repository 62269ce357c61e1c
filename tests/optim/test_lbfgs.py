"""LBFGS against ``torch.optim.LBFGS`` on the Rosenbrock function, through a closure (lesson 15).

Float64 so that the comparison is tight: both implementations must visit the same iterates,
evaluate the closure the same number of times and keep the same history, step after step.
(The closure's own last-bit differences, edunn's autograd against PyTorch's, grow along
Rosenbrock's curved valley -- from 1e-16 to about 1e-8 over a hundred fixed-length steps --
hence rtol 1e-6 rather than 1e-12; the closure-call counts, which any algorithmic difference
would change, must be equal.)
"""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from edunn import optim
from tests.opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson15, needs_torch]

# The parameters of the generalised Rosenbrock function, split across tensors of several shapes
# (the flat-vector bookkeeping is what is being tested), plus one the loss never touches.
INIT = [np.array([-1.2, 1.0]), np.array([[0.5, -0.3], [1.5, 0.8]]), np.array([-0.7])]
UNUSED = np.array([3.0, -1.0, 2.0])


def _rosenbrock(mod, params):
    cat = np.concatenate if mod is np else mod.cat
    x = cat([p.reshape(-1) for p in params[:3]])
    return ((1 - x[:-1]) ** 2 + 100 * (x[1:] - x[:-1] ** 2) ** 2).sum()


class Run:
    def __init__(self, lib: str, kwargs: dict, init=None, dtype=np.float64,
                 with_unused: bool = False) -> None:
        self.mod = torch if lib == "torch" else edunn
        init = INIT if init is None else init
        arrays = [a.astype(dtype) for a in init] + ([UNUSED.astype(dtype)] if with_unused else [])
        self.params = [self.mod.tensor(a.copy(), requires_grad=True) for a in arrays]
        cls = torch.optim.LBFGS if lib == "torch" else optim.LBFGS
        self.opt = cls(self.params, **kwargs)
        self.evals = 0

    def closure(self):
        self.opt.zero_grad()
        self.evals += 1
        loss = _rosenbrock(self.mod, self.params)
        loss.backward()
        return loss

    def step(self) -> float:
        return float(self.opt.step(self.closure).detach())

    def values(self):
        return [np.array(p.detach().numpy()) for p in self.params]


def _state_np(value):
    if isinstance(value, (torch.Tensor, edunn.Tensor)):
        return np.array(value.detach().numpy())
    return value


def _close(a, b, rtol, what):
    """Equal to ``rtol`` relative to the whole vector's size (the small entries of a gradient
    difference carry the absolute error of the large ones)."""
    a, b = _state_np(a), _state_np(b)
    scale = float(np.max(np.abs(b))) if np.size(b) else 0.0
    np.testing.assert_allclose(a, b, rtol=rtol, atol=rtol * scale + 1e-12, err_msg=what)


def _assert_same_state(ours, theirs, rtol):
    es = ours.opt.state[ours.params[0]]
    ts = theirs.opt.state[theirs.params[0]]
    assert list(es) == list(ts), f"state keys {list(es)} != torch's {list(ts)}"
    for key, tv in ts.items():
        ev = es[key]
        if isinstance(tv, list):
            assert isinstance(ev, list) and len(ev) == len(tv), key
            assert [a is None for a in ev] == [b is None for b in tv], key
            pairs = [(a, b) for a, b in zip(ev, tv) if b is not None]
            for i, (a, b) in enumerate(pairs):
                assert isinstance(a, edunn.Tensor) and isinstance(b, torch.Tensor), f"{key}[{i}]"
                assert tuple(a.shape) == tuple(b.shape), f"{key}[{i}]"
            if pairs and pairs[0][1].dim() == 0:  # ro, al: scalars, compared as one vector
                _close(np.array([_state_np(a) for a, _ in pairs]),
                       np.array([_state_np(b) for _, b in pairs]), rtol, key)
            else:
                for i, (a, b) in enumerate(pairs):
                    _close(a, b, rtol, f"{key}[{i}]")
        elif isinstance(tv, torch.Tensor):
            assert isinstance(ev, edunn.Tensor), f"{key} is {type(ev)}, torch's a tensor"
            assert tuple(ev.shape) == tuple(tv.shape), key
            _close(ev, tv, rtol, key)
        elif isinstance(tv, int):
            assert type(ev) is type(tv) and ev == tv, f"{key}: {ev!r} != {tv!r}"
        else:
            assert ev == pytest.approx(tv, rel=rtol), f"{key}: {ev!r} != {tv!r}"


CASES = [
    {},
    {"lr": 0.5, "max_iter": 5, "history_size": 3},
    {"max_iter": 3, "history_size": 1, "tolerance_change": 1e-12},
    {"line_search_fn": "strong_wolfe"},
    {"line_search_fn": "strong_wolfe", "max_iter": 7, "history_size": 2, "max_eval": 9},
    {"line_search_fn": "strong_wolfe", "lr": 0.8, "max_iter": 4, "tolerance_grad": 1e-10,
     "tolerance_change": 1e-12, "history_size": 5},
    {"line_search_fn": "strong_wolfe", "max_iter": 30, "tolerance_grad": 1e-3},
]
IDS = ["-".join(f"{k}={v}" for k, v in kw.items()) or "defaults" for kw in CASES]


@pytest.mark.parametrize("kwargs", CASES, ids=IDS)
@pytest.mark.parametrize("with_unused", [False, True], ids=["", "unused-param"])
def test_rosenbrock_same_iterates_as_torch(kwargs, with_unused):
    ours = Run("edunn", kwargs, with_unused=with_unused)
    theirs = Run("torch", kwargs, with_unused=with_unused)
    for k in range(6):
        loss_e, loss_t = ours.step(), theirs.step()
        assert loss_e == pytest.approx(loss_t, rel=1e-6, abs=1e-10), f"step {k + 1}"
        for a, b in zip(ours.values(), theirs.values()):
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9, err_msg=f"step {k + 1}")
        assert ours.evals == theirs.evals, f"closure calls after step {k + 1}"
        _assert_same_state(ours, theirs, rtol=1e-4)
    if with_unused:  # its gradient is None: it does not move
        np.testing.assert_array_equal(ours.values()[-1], UNUSED)
    # progress was made toward the minimum at all ones
    assert _rosenbrock(np, ours.values()) < _rosenbrock(np, INIT)


@pytest.mark.parametrize("kwargs", [{"max_iter": 8},
                                    {"max_iter": 8, "line_search_fn": "strong_wolfe"}],
                         ids=["max_iter=8", "max_iter=8-strong_wolfe"])
def test_float32_close_to_torch(kwargs):
    """In float32 the rounding differs sooner, so fewer iterations and a looser tolerance."""
    ours = Run("edunn", kwargs, dtype=np.float32)
    theirs = Run("torch", kwargs, dtype=np.float32)
    for _ in range(2):
        ours.step()
        theirs.step()
        for a, b in zip(ours.values(), theirs.values()):
            assert a.dtype == np.float32
            np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)
    assert ours.opt.state[ours.params[0]]["d"].dtype == edunn.float32


def test_converges_on_rosenbrock():
    """From the classic start (-1.2, 1) to the minimum (1, 1)."""
    run = Run("edunn", {"line_search_fn": "strong_wolfe", "max_iter": 100,
                        "tolerance_grad": 1e-12, "tolerance_change": 1e-14},
              init=[np.array([-1.2, 1.0])])
    for _ in range(3):
        run.step()
    np.testing.assert_allclose(run.values()[0], [1.0, 1.0], atol=1e-8)


def _torch_to_edunn(value):
    if isinstance(value, torch.Tensor):
        return edunn.tensor(value.detach().numpy().copy())
    if isinstance(value, dict):
        return {k: _torch_to_edunn(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_torch_to_edunn(v) for v in value]
    return value


@pytest.mark.parametrize("kwargs", [CASES[1], CASES[4]], ids=[IDS[1], IDS[4]])
def test_state_dict_round_trip_mid_run(kwargs, tmp_path):
    straight = Run("edunn", kwargs)
    for _ in range(5):
        straight.step()

    first = Run("edunn", kwargs)
    for _ in range(2):
        first.step()
    edunn.save(first.opt.state_dict(), tmp_path / "lbfgs.safetensors")
    resumed = Run("edunn", kwargs, init=first.values())
    resumed.opt.load_state_dict(edunn.load(tmp_path / "lbfgs.safetensors"))
    for _ in range(3):
        resumed.step()
    for a, b in zip(resumed.values(), straight.values()):
        np.testing.assert_array_equal(a, b)
    _assert_same_state_exact(resumed, straight)


def _assert_same_state_exact(a, b):
    sa, sb = a.opt.state[a.params[0]], b.opt.state[b.params[0]]
    assert list(sa) == list(sb)
    for key in sb:
        va, vb = sa[key], sb[key]
        if isinstance(vb, list):
            assert [_state_np(v) is None for v in va] == [_state_np(v) is None for v in vb]
            for x, y in zip(va, vb):
                if y is not None:
                    np.testing.assert_array_equal(_state_np(x), _state_np(y), err_msg=key)
        else:
            np.testing.assert_array_equal(_state_np(va), _state_np(vb), err_msg=key)


@pytest.mark.parametrize("kwargs", [CASES[1], CASES[4]], ids=[IDS[1], IDS[4]])
def test_load_torch_state_dict_mid_run(kwargs):
    theirs = Run("torch", kwargs)
    for _ in range(2):
        theirs.step()
    ours = Run("edunn", kwargs, init=theirs.values())
    ours.opt.load_state_dict(_torch_to_edunn(theirs.opt.state_dict()))
    for _ in range(3):
        ours.step()
        theirs.step()
    for a, b in zip(ours.values(), theirs.values()):
        np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)
    _assert_same_state(ours, theirs, rtol=1e-4)


def test_state_dict_layout_matches_torch():
    kwargs = CASES[4]
    ours, theirs = Run("edunn", kwargs), Run("torch", kwargs)
    ours.step()
    ours.step()
    theirs.step()
    theirs.step()
    esd, tsd = ours.opt.state_dict(), theirs.opt.state_dict()
    assert list(esd["state"]) == list(tsd["state"]) == [0]
    assert list(esd["state"][0]) == list(tsd["state"][0])
    assert esd["param_groups"] == tsd["param_groups"]


def test_already_optimal_returns_at_once():
    run = Run("edunn", {}, init=[np.ones(2), np.ones((2, 2)), np.ones(1)])
    loss = run.step()
    assert loss == 0.0 and run.evals == 1
    assert run.opt.state[run.params[0]] == {"func_evals": 1, "n_iter": 0}


# ------------------------------------------------------------------------ errors
def test_step_without_closure_raises_torchs_error():
    w = edunn.zeros(2, requires_grad=True)
    opt = optim.LBFGS([w])
    with pytest.raises(TypeError) as theirs:
        torch.optim.LBFGS([torch.zeros(2, requires_grad=True)]).step()
    with pytest.raises(TypeError) as ours:
        opt.step()
    assert str(ours.value) == str(theirs.value)
    with pytest.raises(TypeError, match="closure"):
        opt.step(None)


def test_one_param_group_only():
    a, b = edunn.zeros(2, requires_grad=True), edunn.zeros(1, requires_grad=True)
    with pytest.raises(ValueError, match="doesn't support per-parameter options"):
        optim.LBFGS([{"params": [a]}, {"params": [b], "lr": 0.1}])


def test_unknown_line_search_fn():
    run = Run("edunn", {"line_search_fn": "armijo"})
    with pytest.raises(RuntimeError, match="only 'strong_wolfe' is supported"):
        run.step()


def test_default_max_eval():
    w = edunn.zeros(2, requires_grad=True)
    assert optim.LBFGS([w]).defaults["max_eval"] == 25
    assert optim.LBFGS([w], max_iter=7).defaults["max_eval"] == 8
    assert optim.LBFGS([w], max_iter=7, max_eval=3).defaults["max_eval"] == 3


def test_closure_runs_with_grad_enabled_and_step_hooks_fire():
    run = Run("edunn", {"max_iter": 2})
    seen, calls = [], []
    inner = run.closure

    def closure():
        seen.append(edunn.is_grad_enabled())
        return inner()

    run.opt.register_step_post_hook(lambda opt, args, kwargs: calls.append(len(args)))
    with edunn.no_grad():
        run.opt.step(closure)
    assert seen and all(seen)
    assert calls == [1]
