"""Adagrad, Adadelta, RMSprop, Rprop and ASGD against ``torch.optim`` (lessons 14-15).

The same initial parameters (float32, three shapes) and the same gradient sequence (written into
``.grad`` before each step) go to PyTorch CPU and to edunn; after every step the parameters and
the whole per-parameter state must agree to float32 precision, for several option sets each.
"""
from __future__ import annotations


import numpy as np
import pytest

import edunn
from edunn import optim
from tests.opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson15, needs_torch]

SHAPES = [(3, 4), (5,), (2, 3, 2)]
STEPS = 30
RTOL, ATOL = 2e-5, 2e-6


class T:
    """A tensor-valued option (``lr=T(0.05)``): a torch tensor for torch, an edunn one for us."""

    def __init__(self, value: float) -> None:
        self.value = value


def _opts(kwargs: dict, lib: str) -> dict:
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, T):
            v = torch.tensor(v.value) if lib == "torch" else edunn.tensor(v.value)
        out[k] = v
    return out


# (algorithm, options): every option and flag of each algorithm on and off somewhere.
CASES = [
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05}),
    ("Adagrad", {"weight_decay": 0.1, "initial_accumulator_value": 0.5, "eps": 1e-6}),
    ("Adagrad", {"maximize": True, "weight_decay": 0.05, "foreach": True}),
    ("Adagrad", {"lr": T(0.05), "foreach": False}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4}),
    ("Adadelta", {"weight_decay": 0.1, "foreach": True}),
    ("Adadelta", {"maximize": True, "weight_decay": 0.1, "lr": T(2.0)}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True}),
    ("RMSprop", {"momentum": 0.9, "foreach": True}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "eps": 1e-4}),
    ("RMSprop", {"alpha": 0.3, "centered": True, "lr": 1e-3}),  # lerp weight >= 0.5
    ("RMSprop", {"maximize": True, "momentum": 0.9, "centered": True, "lr": T(0.003)}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2)}),
    ("Rprop", {"maximize": True, "foreach": True}),
    ("Rprop", {"lr": T(0.02), "step_sizes": (0.005, 0.05)}),
    ("ASGD", {}),
    ("ASGD", {"lambd": 1e-2, "alpha": 0.5, "t0": 10, "lr": 0.05}),
    ("ASGD", {"weight_decay": 0.1, "t0": 5, "foreach": True}),
    ("ASGD", {"maximize": True, "t0": 3, "weight_decay": 0.1, "lr": T(0.02)}),
]


def _case_id(name: str, kw: dict) -> str:
    opts = "-".join(f"{k}={getattr(v, 'value', v)}" for k, v in kw.items())
    return f"{name}-{opts or 'defaults'}"


IDS = [_case_id(name, kw) for name, kw in CASES]
DEFAULTS = [(name, kw) for name, kw in CASES if not kw]


def _problem(steps: int = STEPS, seed: int = 0, sparse_steps: bool = False):
    """Initial parameters and a gradient sequence.  Some gradient entries are exactly zero and
    some repeat the previous step's sign pattern, so Rprop meets all three of its cases."""
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in SHAPES]
    grads = []
    for k in range(steps):
        step = []
        for s in SHAPES:
            g = rng.standard_normal(s).astype(np.float32)
            g[rng.random(s) < 0.15] = 0
            if k % 3 == 2 and grads:  # same signs as last step: growing step sizes
                g = np.abs(g) * np.sign(grads[-1][len(step)] + 1e-30).astype(np.float32)
            step.append(g)
        grads.append(step)
    return init, grads


def _to_np(value):
    """A copy (never a view of the live parameter) as a NumPy array."""
    if isinstance(value, torch.Tensor):
        return value.detach().numpy().copy()
    return np.array(value.detach().cpu().numpy())


class Run:
    """One optimizer (torch's or ours) over copies of the initial parameters."""

    def __init__(self, lib: str, name: str, kwargs: dict, init, device: str = "cpu",
                 groups: list | None = None) -> None:
        self.lib = lib
        if lib == "torch":
            self.params = [torch.tensor(a, requires_grad=True) for a in init]
            cls = getattr(torch.optim, name)
        else:
            self.params = [edunn.tensor(a, requires_grad=True, device=device) for a in init]
            cls = getattr(optim, name)
        opts = _opts(kwargs, lib)
        if groups is None:
            self.opt = cls(self.params, **opts)
        else:  # groups: [(indices, extra options)]
            self.opt = cls([dict(params=[self.params[i] for i in idx], **extra)
                            for idx, extra in groups], **opts)

    def step(self, grads, negate: bool = False) -> None:
        for p, g in zip(self.params, grads):
            if g is None:
                p.grad = None
                continue
            g = -g if negate else g
            if self.lib == "torch":
                p.grad = torch.tensor(g)
            else:
                p.grad = edunn.tensor(g, device=p.device)
        self.opt.step()

    def values(self):
        return [_to_np(p) for p in self.params]


def _assert_state_equal(e_opt, t_opt, e_params, t_params, exact: bool = False) -> None:
    for i, (ep, tp) in enumerate(zip(e_params, t_params)):
        es, ts = e_opt.state.get(ep, {}), t_opt.state.get(tp, {})
        assert set(es) == set(ts), f"param {i}: state keys {sorted(es)} != torch's {sorted(ts)}"
        for key, tv in ts.items():
            ev = es[key]
            if isinstance(tv, torch.Tensor):
                assert isinstance(ev, edunn.Tensor), f"state[{i}][{key!r}] is {type(ev)}"
                assert tuple(ev.shape) == tuple(tv.shape), f"state[{i}][{key!r}] shape"
                assert str(ev.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], \
                    f"state[{i}][{key!r}] dtype {ev.dtype} != {tv.dtype}"
                if exact:
                    np.testing.assert_array_equal(_to_np(ev), _to_np(tv))
                else:
                    np.testing.assert_allclose(_to_np(ev), _to_np(tv), rtol=RTOL, atol=ATOL,
                                               err_msg=f"state[{i}][{key!r}]")
            else:
                assert ev == tv, f"state[{i}][{key!r}]: {ev!r} != {tv!r}"


def _assert_params_close(e_vals, t_vals, what: str = "") -> None:
    for i, (e, t) in enumerate(zip(e_vals, t_vals)):
        np.testing.assert_allclose(e, t, rtol=RTOL, atol=ATOL, err_msg=f"{what} param {i}")


# ------------------------------------------------------------------------ parity with PyTorch
@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_matches_torch_every_step(name, kwargs):
    init, grads = _problem()
    ours, theirs = Run("edunn", name, kwargs, init), Run("torch", name, kwargs, init)
    for k, g in enumerate(grads):
        ours.step(g)
        theirs.step(g)
        _assert_params_close(ours.values(), theirs.values(), f"{name} step {k + 1}")
    _assert_state_equal(ours.opt, theirs.opt, ours.params, theirs.params)
    # the parameters really moved (a no-op optimizer would fail the comparison anyway)
    assert not np.allclose(ours.values()[0], init[0])


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_layout_matches_torch(name, kwargs):
    init, grads = _problem(steps=3)
    ours, theirs = Run("edunn", name, kwargs, init), Run("torch", name, kwargs, init)
    for g in grads:
        ours.step(g)
        theirs.step(g)
    esd, tsd = ours.opt.state_dict(), theirs.opt.state_dict()
    assert sorted(esd) == sorted(tsd) == ["param_groups", "state"]
    assert sorted(esd["state"]) == sorted(tsd["state"])
    for k in tsd["state"]:
        assert list(esd["state"][k]) == list(tsd["state"][k]), "state keys, in PyTorch's order"
    for eg, tg in zip(esd["param_groups"], tsd["param_groups"]):
        assert sorted(eg) == sorted(tg)
        for key in tg:
            if key != "lr" or not isinstance(tg[key], torch.Tensor):
                assert eg[key] == tg[key], f"param_groups[{key!r}]"


def _torch_sd_to_edunn(value):
    if isinstance(value, torch.Tensor):
        return edunn.tensor(value.detach().numpy().copy())
    if isinstance(value, dict):
        return {k: _torch_sd_to_edunn(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_torch_sd_to_edunn(v) for v in value]
    return value


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_load_torch_state_dict_mid_run(name, kwargs):
    """PyTorch's state_dict (tensors converted) loads into ours and the run goes on as
    PyTorch's does: the layouts are the same."""
    init, grads = _problem(steps=20)
    theirs = Run("torch", name, kwargs, init)
    for g in grads[:10]:
        theirs.step(g)
    ours = Run("edunn", name, kwargs, [v.copy() for v in theirs.values()])
    ours.opt.load_state_dict(_torch_sd_to_edunn(theirs.opt.state_dict()))
    for g in grads[10:]:
        ours.step(g)
        theirs.step(g)
    _assert_params_close(ours.values(), theirs.values(), name)
    _assert_state_equal(ours.opt, theirs.opt, ours.params, theirs.params)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_round_trip_mid_run(name, kwargs, tmp_path):
    """Save at step 12 (through edunn.save / edunn.load), rebuild, resume: bit for bit the
    uninterrupted run."""
    init, grads = _problem(steps=24)
    straight = Run("edunn", name, kwargs, init)
    for g in grads:
        straight.step(g)

    first = Run("edunn", name, kwargs, init)
    for g in grads[:12]:
        first.step(g)
    edunn.save({"params": [p.detach() for p in first.params], "opt": first.opt.state_dict()},
               tmp_path / "ckpt.safetensors")
    ckpt = edunn.load(tmp_path / "ckpt.safetensors")
    resumed = Run("edunn", name, kwargs, [_to_np(p) for p in ckpt["params"]])
    resumed.opt.load_state_dict(ckpt["opt"])
    for g in grads[12:]:
        resumed.step(g)
    for a, b in zip(resumed.values(), straight.values()):
        np.testing.assert_array_equal(a, b)
    for rp, sp in zip(resumed.params, straight.params):
        rs, ss = resumed.opt.state[rp], straight.opt.state[sp]
        assert list(rs) == list(ss)
        for key in ss:
            np.testing.assert_array_equal(_to_np(rs[key]), _to_np(ss[key]), err_msg=key)


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_maximize_mirrors_minimize(name, kwargs):
    """maximize=True on the gradients g is minimising with the gradients -g."""
    init, grads = _problem(steps=15)
    kw = dict(kwargs)
    kw.pop("maximize", None)
    up = Run("edunn", name, dict(kw, maximize=True), init)
    down = Run("edunn", name, dict(kw, maximize=False), init)
    for g in grads:
        up.step(g)
        down.step(g, negate=True)
    for a, b in zip(up.values(), down.values()):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("name,kwargs", [c for c in CASES if not any(
    isinstance(v, T) for v in c[1].values())], ids=[i for i, c in zip(IDS, CASES) if not any(
        isinstance(v, T) for v in c[1].values())])
def test_param_groups_and_missing_grads(name, kwargs):
    """Two groups with their own options; a parameter whose grad is None is skipped (no state,
    no move) on the steps it has none."""
    init, grads = _problem()
    groups = [([0, 2], {"lr": 0.003}), ([1], {})]
    ours = Run("edunn", name, kwargs, init, groups=groups)
    theirs = Run("torch", name, kwargs, init, groups=groups)
    for k, g in enumerate(grads):
        g = list(g)
        if k < 4 or k % 5 == 0:
            g[1] = None
        before = ours.values()[1]
        ours.step(g)
        theirs.step(g)
        if g[1] is None:
            np.testing.assert_array_equal(ours.values()[1], before)
        if k < 4:  # no gradient yet: no state (Adagrad makes its state in __init__)
            expected = ["step", "sum"] if name == "Adagrad" else []
            assert sorted(ours.opt.state.get(ours.params[1], {})) == expected
        _assert_params_close(ours.values(), theirs.values(), f"{name} step {k + 1}")
    _assert_state_equal(ours.opt, theirs.opt, ours.params, theirs.params)


@pytest.mark.parametrize("name,kwargs", DEFAULTS, ids=[n for n, _ in DEFAULTS])
def test_step_bumps_version_and_keeps_identity(name, kwargs):
    init, grads = _problem(steps=2)
    run = Run("edunn", name, kwargs, init)
    arrays = [p._data for p in run.params]
    versions = [p._version for p in run.params]
    run.step(grads[0])
    assert all(p._version > v for p, v in zip(run.params, versions))
    assert all(p._data is a for p, a in zip(run.params, arrays)), "updates are in place"
    assert all(not p.grad.requires_grad and p.is_leaf for p in run.params)


def test_closure_is_called_with_grad_and_its_loss_returned():
    w = edunn.tensor(np.array([1.0, -2.0], np.float32), requires_grad=True)
    opt = optim.RMSprop([w], lr=0.1)
    seen = []

    def closure():
        opt.zero_grad()
        seen.append(edunn.is_grad_enabled())
        loss = (w * w).sum()
        loss.backward()
        return loss

    loss = opt.step(closure)
    assert seen == [True] and float(loss) == pytest.approx(5.0)
    assert edunn.is_grad_enabled()


# ------------------------------------------------------------------------ flags
@pytest.mark.parametrize("name,flag", [("Adadelta", "capturable"), ("RMSprop", "capturable"),
                                       ("Rprop", "capturable"), ("ASGD", "capturable"),
                                       ("Adagrad", "fused")])
def test_capturable_and_fused_give_the_same_trajectory(name, flag):
    init, grads = _problem(steps=10)
    ours = Run("edunn", name, {flag: True}, init)
    theirs = Run("torch", name, {}, init)
    for g in grads:
        ours.step(g)
        theirs.step(g)
    _assert_params_close(ours.values(), theirs.values(), name)
    assert ours.opt.param_groups[0][flag] is True


@pytest.mark.parametrize("name,kwargs", [
    ("Adagrad", {"weight_decay": 0.1, "lr_decay": 0.01}),
    ("Adadelta", {"weight_decay": 0.1, "lr": 0.5}),
    ("RMSprop", {"momentum": 0.5, "weight_decay": 0.1}),
    ("RMSprop", {}),
    ("RMSprop", {"alpha": 0.3, "centered": True}),
    ("Rprop", {"lr": 0.05}),
    ("ASGD", {"t0": 2, "weight_decay": 0.1, "lambd": 0.01}),
    ("ASGD", {"maximize": True}),
])
def test_differentiable_step_matches_torch_and_backpropagates(name, kwargs):
    """differentiable=True: the update is recorded; d(loss after 3 steps)/d(initial weights)
    equals PyTorch's."""
    init, grads = _problem(steps=3)
    outs = {}
    for lib, mod in (("torch", torch), ("edunn", edunn)):
        leaves = [mod.tensor(a.astype(np.float64), requires_grad=True) for a in init]
        params = [leaf * 1.0 for leaf in leaves]  # non-leaf tensors, as differentiable needs
        cls = getattr(torch.optim if lib == "torch" else optim, name)
        opt = cls(params, differentiable=True, **kwargs)
        for g in grads:
            for p, gi in zip(params, g):
                p.grad = mod.tensor(gi.astype(np.float64))
            opt.step()
        loss = sum((p * p).sum() for p in params)
        loss.backward()
        outs[lib] = ([_to_np(p) for p in params], [_to_np(leaf.grad) for leaf in leaves])
    for a, b in zip(outs["edunn"][0], outs["torch"][0]):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
    for a, b in zip(outs["edunn"][1], outs["torch"][1]):
        np.testing.assert_allclose(a, b, rtol=1e-9, atol=1e-12)


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "RMSprop"])
def test_differentiable_learning_rate_hypergradient(name):
    """With differentiable=True and a tensor lr that requires grad, d(loss)/d(lr) is the
    central finite difference (PyTorch itself refuses a tensor ``value=``/``alpha=`` here)."""
    def run(lr_value, need_grad):
        p = edunn.tensor(np.array([0.3, -1.2, 2.0]), requires_grad=True) * 1.0
        lr = edunn.tensor(lr_value, dtype=edunn.float64, requires_grad=need_grad)
        opt = getattr(optim, name)([p], lr=lr, differentiable=True)
        for k in range(3):
            p.grad = edunn.tensor(np.array([1.0, -0.5, 0.25]) * (k + 1))
            opt.step()
        loss = (p * p).sum()
        if need_grad:
            loss.backward()
            return lr.grad.item()
        return loss.item()

    h = 1e-6
    fd = (run(0.1 + h, False) - run(0.1 - h, False)) / (2 * h)
    assert run(0.1, True) == pytest.approx(fd, rel=1e-6)


def test_defaults_match_torch():
    p = [torch.zeros(2, requires_grad=True)]
    q = [edunn.zeros(2, requires_grad=True)]
    for name in ("Adagrad", "Adadelta", "RMSprop", "Rprop", "ASGD", "LBFGS"):
        assert getattr(optim, name)(q).defaults == getattr(torch.optim, name)(p).defaults, name


def test_adagrad_state_exists_before_the_first_step():
    """As PyTorch's, Adagrad creates ``sum`` (at initial_accumulator_value) in __init__."""
    w = edunn.zeros(3, requires_grad=True)
    opt = optim.Adagrad([w], initial_accumulator_value=0.25)
    assert sorted(opt.state[w]) == ["step", "sum"]
    np.testing.assert_array_equal(_to_np(opt.state[w]["sum"]), np.full(3, 0.25, np.float32))
    assert float(opt.state[w]["step"]) == 0.0


def test_asgd_ax_is_the_running_average_after_t0():
    """With t0 = 0 and lambd = 0 the averaged parameter is the mean of the iterates."""
    init, grads = _problem(steps=8)
    run = Run("edunn", "ASGD", {"t0": 0, "lambd": 0.0, "lr": 0.1}, init)
    iterates = []
    for g in grads:
        run.step(g)
        iterates.append(run.values()[0])
    # PyTorch's mu is 1 for the first two steps, so the average starts at the second iterate
    ax = _to_np(run.opt.state[run.params[0]]["ax"])
    np.testing.assert_allclose(ax, np.mean(iterates[1:], axis=0), rtol=1e-5, atol=1e-6)


# ------------------------------------------------------------------------ bad arguments
BAD = [
    ("Adagrad", {"lr": -0.1}), ("Adagrad", {"lr_decay": -1}), ("Adagrad", {"weight_decay": -1}),
    ("Adagrad", {"initial_accumulator_value": -1}), ("Adagrad", {"eps": -1}),
    ("Adagrad", {"fused": True, "differentiable": True}),
    ("Adagrad", {"fused": True, "foreach": True}),
    ("Adadelta", {"lr": -1}), ("Adadelta", {"rho": 1.5}), ("Adadelta", {"rho": -0.1}),
    ("Adadelta", {"eps": -1}), ("Adadelta", {"weight_decay": -1}),
    ("RMSprop", {"lr": -1}), ("RMSprop", {"eps": -1}), ("RMSprop", {"momentum": -1}),
    ("RMSprop", {"weight_decay": -1}), ("RMSprop", {"alpha": -1}),
    ("Rprop", {"lr": -1}), ("Rprop", {"etas": (1.5, 1.2)}), ("Rprop", {"etas": (0.5, 0.9)}),
    ("Rprop", {"etas": (0.0, 1.2)}),
    ("ASGD", {"lr": -1}), ("ASGD", {"weight_decay": -1}),
    ("LBFGS", {"lr": -1}),
]


@pytest.mark.parametrize("name,kwargs", BAD, ids=[f"{n}-{kw}" for n, kw in BAD])
def test_bad_arguments_raise_torchs_error(name, kwargs):
    with pytest.raises(Exception) as theirs:
        getattr(torch.optim, name)([torch.zeros(2, requires_grad=True)], **kwargs)
    with pytest.raises(type(theirs.value)) as ours:
        getattr(optim, name)([edunn.zeros(2, requires_grad=True)], **kwargs)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "RMSprop", "Rprop", "ASGD", "LBFGS"])
def test_tensor_lr_must_have_one_element(name):
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        getattr(optim, name)([edunn.zeros(2, requires_grad=True)], lr=edunn.tensor([0.1, 0.2]))


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "RMSprop", "Rprop", "ASGD"])
def test_empty_and_non_leaf_params_rejected(name):
    with pytest.raises(ValueError, match="empty parameter list"):
        getattr(optim, name)([])
    w = edunn.zeros(2, requires_grad=True)
    with pytest.raises(ValueError, match="non-leaf"):
        getattr(optim, name)([w * 2])


# ------------------------------------------------------------------------ devices
@pytest.mark.parametrize("name,kwargs", [c for c in CASES if not any(
    isinstance(v, T) for v in c[1].values())], ids=[i for i, c in zip(IDS, CASES) if not any(
        isinstance(v, T) for v in c[1].values())])
def test_on_device_matches_torch_cpu(name, kwargs, device):
    init, grads = _problem(steps=10)
    ours = Run("edunn", name, kwargs, init, device=device)
    theirs = Run("torch", name, kwargs, init)
    for g in grads:
        ours.step(g)
        theirs.step(g)
    _assert_params_close(ours.values(), theirs.values(), f"{name} on {device}")
    for p in ours.params:
        for key, v in ours.opt.state[p].items():
            if isinstance(v, edunn.Tensor) and v.dim() > 0:
                assert v.device == p.device, f"state {key!r} on {v.device}, param on {p.device}"


# ------------------------------------------------------------------------ signatures
def _sig(fn):
    import inspect
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@pytest.mark.parametrize("name", ["Adagrad", "Adadelta", "RMSprop", "Rprop", "ASGD", "LBFGS"])
def test_signatures_match_torch(name):
    import importlib
    assert _sig(getattr(optim, name).__init__) == _sig(getattr(torch.optim, name).__init__)
    assert _sig(getattr(optim, name).step) == _sig(getattr(torch.optim, name).step)
    if name != "LBFGS":  # the functional form, e.g. torch.optim.adagrad.adagrad
        mod = name.lower()
        ours = getattr(importlib.import_module(f"edunn.optim.{mod}"), mod)
        theirs = getattr(importlib.import_module(f"torch.optim.{mod}"), mod)
        assert _sig(ours) == _sig(theirs)
