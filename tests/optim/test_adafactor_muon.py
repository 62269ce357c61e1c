"""Adafactor and Muon against ``torch.optim`` (lesson 15).

The same initial parameters and the same gradient sequence (written into ``.grad`` before each
step) go to PyTorch CPU and to edunn for 30 steps; after every step the parameters and the whole
per-parameter state must agree (rtol 1e-5), for option sets that turn every flag on and off.
Adafactor meets a scalar, vectors, matrices and 3-D/4-D tensors (factored over the last two
dims); Muon meets square, wide and tall matrices.  Then state_dict layout and round trips
(PyTorch's state_dict loaded into edunn continues as PyTorch does), and the argument errors.
"""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from edunn import optim
from edunn.optim.muon import _zeropower_via_newtonschulz
from opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson15, needs_torch]

STEPS = 30
RTOL, ATOL = 1e-5, 1e-6
SHAPES = {"Adafactor": [(), (5,), (3, 4), (2, 3, 4), (2, 1, 3, 5)],
          "Muon": [(4, 4), (3, 6), (7, 2)]}


class T:
    """A tensor-valued option (``lr=T(0.05)``): a torch tensor for torch, an edunn one for us."""

    def __init__(self, value: float) -> None:
        self.value = value


def _opts(kwargs: dict, lib: str) -> dict:
    return {k: (torch.tensor(v.value) if lib == "torch" else edunn.tensor(v.value))
            if isinstance(v, T) else v for k, v in kwargs.items()}


CASES = [
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.1, "beta2_decay": -0.5, "d": 2.0}),
    ("Adafactor", {"eps": (1e-4, 1e-2), "weight_decay": 0.1, "foreach": False}),
    ("Adafactor", {"maximize": True, "weight_decay": 0.05, "foreach": True}),
    ("Adafactor", {"lr": T(0.05), "beta2_decay": 0.0, "eps": (1e-12, 0.5)}),
    ("Muon", {}),
    ("Muon", {"lr": 0.02, "nesterov": False, "weight_decay": 0.0}),
    ("Muon", {"lr": 0.05, "momentum": 0.3, "adjust_lr_fn": "match_rms_adamw"}),
    ("Muon", {"lr": 0.01, "adjust_lr_fn": "original", "ns_steps": 3, "eps": 1e-3,
              "ns_coefficients": (2.0, -1.5, 0.5)}),
    ("Muon", {"lr": T(0.03), "momentum": 0.0}),
]
IDS = [f"{n}-" + ("-".join(f"{k}={getattr(v, 'value', v)}" for k, v in kw.items()) or "defaults")
       for n, kw in CASES]


def _problem(name: str, steps: int = STEPS, seed: int = 0):
    """Initial parameters and a gradient sequence (some entries exactly zero, one all-zero
    step for a vector so that the epsilons matter)."""
    rng = np.random.default_rng(seed)
    shapes = SHAPES[name]
    init = [np.asarray(rng.standard_normal(s), np.float32) for s in shapes]
    grads = []
    for k in range(steps):
        step = []
        for s in shapes:
            g = np.asarray(rng.standard_normal(s) * (0.1 + k % 4), np.float32)
            g[rng.random(s) < 0.15] = 0
            step.append(g)
        if k == 4:
            step[1] = np.zeros_like(step[1])
        grads.append(step)
    return init, grads


def _to_np(value):
    if isinstance(value, torch.Tensor):
        return value.detach().float().numpy().copy()
    return np.array(value.detach().cpu().numpy())


class Run:
    """One optimizer (torch's or ours) over copies of the initial parameters."""

    def __init__(self, lib: str, name: str, kwargs: dict, init) -> None:
        self.lib = lib
        if lib == "torch":
            self.params = [torch.tensor(a, requires_grad=True) for a in init]
            cls = getattr(torch.optim, name)
        else:
            self.params = [edunn.tensor(a, requires_grad=True) for a in init]
            cls = getattr(optim, name)
        self.opt = cls(self.params, **_opts(kwargs, lib))

    def step(self, grads) -> None:
        for p, g in zip(self.params, grads):
            p.grad = None if g is None else (torch.tensor(g) if self.lib == "torch"
                                             else edunn.tensor(g))
        self.opt.step()

    def values(self):
        return [_to_np(p) for p in self.params]


def _assert_state_equal(e_opt, t_opt, e_params, t_params) -> None:
    for i, (ep, tp) in enumerate(zip(e_params, t_params)):
        es, ts = e_opt.state.get(ep, {}), t_opt.state.get(tp, {})
        assert list(es) == list(ts), f"param {i}: state keys {list(es)} != torch's {list(ts)}"
        for key, tv in ts.items():
            ev = es[key]
            assert isinstance(ev, edunn.Tensor), f"state[{i}][{key!r}] is {type(ev)}"
            assert tuple(ev.shape) == tuple(tv.shape), f"state[{i}][{key!r}] shape"
            assert str(ev.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], \
                f"state[{i}][{key!r}] dtype {ev.dtype} != {tv.dtype}"
            np.testing.assert_allclose(_to_np(ev), _to_np(tv), rtol=RTOL, atol=ATOL,
                                       err_msg=f"state[{i}][{key!r}]")


def _assert_params_close(e_vals, t_vals, what: str) -> None:
    for i, (e, t) in enumerate(zip(e_vals, t_vals)):
        np.testing.assert_allclose(e, t, rtol=RTOL, atol=ATOL, err_msg=f"{what} param {i}")


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_matches_torch_every_step(name, kwargs):
    init, grads = _problem(name)
    ours, theirs = Run("edunn", name, kwargs, init), Run("torch", name, kwargs, init)
    for k, g in enumerate(grads):
        ours.step(g)
        theirs.step(g)
        _assert_params_close(ours.values(), theirs.values(), f"{name} step {k + 1}")
        _assert_state_equal(ours.opt, theirs.opt, ours.params, theirs.params)
    for v, a in zip(ours.values(), init):   # (a scalar's +-1 steps may cancel out)
        assert a.ndim == 0 or not np.allclose(v, a), "the parameters moved"


def test_parameters_without_gradient_are_skipped():
    init, grads = _problem("Adafactor", steps=6)
    ours = Run("edunn", "Adafactor", {}, init)
    theirs = Run("torch", "Adafactor", {}, init)
    for k, g in enumerate(grads):
        g = [None if (i + k) % 3 == 0 else x for i, x in enumerate(g)]
        ours.step(g)
        theirs.step(g)
        _assert_params_close(ours.values(), theirs.values(), "partial grads")
    _assert_state_equal(ours.opt, theirs.opt, ours.params, theirs.params)


def test_adafactor_float64_default_eps():
    """eps1=None is the machine epsilon of the parameter's dtype; step stays float32."""
    rng = np.random.default_rng(3)
    a = rng.standard_normal((3, 5))
    tp = torch.tensor(a, requires_grad=True)
    ep = edunn.tensor(a, requires_grad=True)
    to, eo = torch.optim.Adafactor([tp]), optim.Adafactor([ep])
    for _ in range(5):
        g = rng.standard_normal((3, 5)) * 1e-9
        tp.grad, ep.grad = torch.tensor(g), edunn.tensor(g)
        to.step()
        eo.step()
    np.testing.assert_allclose(_to_np(ep).astype(np.float64), tp.detach().numpy(), rtol=1e-12)
    assert eo.state[ep]["step"].dtype == edunn.float32
    assert eo.state[ep]["row_var"].dtype == edunn.float64


@pytest.mark.parametrize("shape", [(4, 4), (3, 9), (12, 5), (32, 16)])
def test_newton_schulz_equals_torchs_bfloat16(shape):
    """The bfloat16 iteration, emulated on float32 arrays, gives torch's bits (small shapes)
    or differs by one bfloat16 rounding in a few entries (larger ones)."""
    from torch.optim._muon import _zeropower_via_newtonschulz as torch_ns
    g = np.random.default_rng(sum(shape)).standard_normal(shape).astype(np.float32)
    ours = _zeropower_via_newtonschulz(g, (3.4445, -4.775, 2.0315), 5, 1e-7)
    theirs = torch_ns(torch.tensor(g), (3.4445, -4.775, 2.0315), 5, 1e-7).float().numpy()
    # float32 sums in another order may round a product to the neighbouring bfloat16: at most
    # one bfloat16 step (2^-8 relative), in a few entries
    np.testing.assert_allclose(ours, theirs, rtol=2 ** -7, atol=2 ** -10)
    assert np.mean(ours != theirs) < 0.02
    # and it orthogonalizes: the singular values end near 1 (within the (0.5, 1.5) band)
    s = np.linalg.svd(ours.astype(np.float64), compute_uv=False)
    assert np.all((s > 0.5) & (s < 1.5))


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_state_dict_layout_matches_torch(name, kwargs):
    init, grads = _problem(name, steps=3)
    ours, theirs = Run("edunn", name, kwargs, init), Run("torch", name, kwargs, init)
    for g in grads:
        ours.step(g)
        theirs.step(g)
    esd, tsd = ours.opt.state_dict(), theirs.opt.state_dict()
    assert sorted(esd["state"]) == sorted(tsd["state"])
    for k in tsd["state"]:
        assert list(esd["state"][k]) == list(tsd["state"][k]), "state keys, in PyTorch's order"
    for eg, tg in zip(esd["param_groups"], tsd["param_groups"]):
        assert list(eg) == list(tg)
        for key in tg:
            if not isinstance(tg[key], torch.Tensor):
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
    init, grads = _problem(name, steps=20)
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


@pytest.mark.parametrize("name,kwargs", CASES[:1] + CASES[5:6], ids=IDS[:1] + IDS[5:6])
def test_state_dict_round_trip_through_save(name, kwargs, tmp_path):
    """Save at step 8 (edunn.save / edunn.load), rebuild, resume: bit for bit the
    uninterrupted run."""
    init, grads = _problem(name, steps=16)
    straight = Run("edunn", name, kwargs, init)
    for g in grads:
        straight.step(g)
    first = Run("edunn", name, kwargs, init)
    for g in grads[:8]:
        first.step(g)
    edunn.save({"params": [p.detach() for p in first.params], "opt": first.opt.state_dict()},
               tmp_path / "ckpt.safetensors")
    ckpt = edunn.load(tmp_path / "ckpt.safetensors")
    resumed = Run("edunn", name, kwargs, [_to_np(p) for p in ckpt["params"]])
    resumed.opt.load_state_dict(ckpt["opt"])
    for g in grads[8:]:
        resumed.step(g)
    for a, b in zip(resumed.values(), straight.values()):
        np.testing.assert_array_equal(a, b)


def test_step_with_closure_and_zero_grad():
    w = edunn.tensor(np.ones((3, 2), np.float32), requires_grad=True)
    for opt in (optim.Adafactor([w]), optim.Muon([w])):
        def closure():
            opt.zero_grad()
            loss = (w * w).sum()
            loss.backward()
            return loss
        loss = opt.step(closure)
        assert float(loss) > 0 and w.grad is not None


# ------------------------------------------------------------------------------ errors
ADAFACTOR_BAD = [{"lr": -1.0}, {"beta2_decay": 0.1}, {"eps": (-1.0, 1e-3)}, {"eps": (None, -1.0)},
                 {"d": 0.5}, {"weight_decay": -1.0}]
MUON_BAD = [{"lr": -1.0}, {"momentum": -0.5}, {"weight_decay": -1.0}, {"adjust_lr_fn": "sqrt"},
            {"lr": T(0.0)}]


def _same_error(make_ours, make_theirs):
    with pytest.raises(Exception) as theirs:
        make_theirs()
    with pytest.raises(type(theirs.value)) as ours:
        make_ours()
    assert str(ours.value).replace("edunn.", "torch.") == str(theirs.value)


@pytest.mark.parametrize("bad", ADAFACTOR_BAD, ids=str)
def test_adafactor_bad_arguments(bad):
    _same_error(lambda: optim.Adafactor([edunn.zeros(3, requires_grad=True)], **bad),
                lambda: torch.optim.Adafactor([torch.zeros(3, requires_grad=True)], **bad))


@pytest.mark.parametrize("bad", MUON_BAD, ids=lambda b: str(list(b)))
def test_muon_bad_arguments(bad):
    if "lr" in bad and isinstance(bad["lr"], T):  # a tensor lr of two elements
        ours, theirs = {"lr": edunn.tensor([1.0, 2.0])}, {"lr": torch.tensor([1.0, 2.0])}
    else:
        ours = theirs = bad
    _same_error(lambda: optim.Muon([edunn.zeros(2, 3, requires_grad=True)], **ours),
                lambda: torch.optim.Muon([torch.zeros(2, 3, requires_grad=True)], **theirs))


@pytest.mark.parametrize("shape", [(3,), (2, 3, 4), ()])
def test_muon_rejects_non_matrices(shape):
    _same_error(lambda: optim.Muon([edunn.zeros(shape, requires_grad=True)]),
                lambda: torch.optim.Muon([torch.zeros(shape, requires_grad=True)]))


@pytest.mark.parametrize("kwargs,grad_shape", [({"ns_steps": 100}, (3, 4)),
                                               ({"ns_coefficients": (1.0, 2.0)}, (3, 4))])
def test_muon_bad_iteration_options_fail_at_step(kwargs, grad_shape):
    def run(lib):
        mod = torch if lib == "torch" else edunn
        w = mod.zeros(3, 4, requires_grad=True)
        opt = (torch.optim if lib == "torch" else optim).Muon([w], **kwargs)
        w.grad = mod.ones(*grad_shape)
        opt.step()
    _same_error(lambda: run("edunn"), lambda: run("torch"))


def test_muon_param_group_added_later_is_checked_at_step():
    def run(lib):
        mod, o = (torch, torch.optim) if lib == "torch" else (edunn, optim)
        opt = o.Muon([mod.zeros(3, 4, requires_grad=True)])
        q = mod.zeros(2, 3, 4, requires_grad=True)
        opt.add_param_group({"params": [q]})
        q.grad = mod.ones(2, 3, 4)
        opt.step()
    _same_error(lambda: run("edunn"), lambda: run("torch"))


def test_functional_forms():
    from edunn.optim.adafactor import adafactor
    from edunn.optim.muon import muon
    p = edunn.zeros(2, 2)
    with pytest.raises(AssertionError, match="Grad scaling"):
        adafactor([p], [p], [None], [None], [p], [edunn.tensor(0.0)], grad_scale=p, d=1.0,
                  lr=0.01, beta2_decay=-0.8, weight_decay=0.0, eps1=None, eps2=1e-3,
                  maximize=False)
    with pytest.raises(RuntimeError, match="Foreach is not supported for Muon yet"):
        muon([p], [p], [p], foreach=True, lr=0.1, weight_decay=0.0, momentum=0.9,
             nesterov=True, ns_coefficients=(3.4445, -4.775, 2.0315), ns_steps=5, eps=1e-7,
             adjust_lr_fn=None, has_complex=False)


@pytest.mark.parametrize("name,kwargs", [CASES[3], CASES[6]], ids=[IDS[3], IDS[6]])
def test_matches_torch_on_device(name, kwargs, device):
    """The same array code on every device (CuPy on a GPU) against torch's CPU run."""
    init, grads = _problem(name, steps=8)
    theirs = Run("torch", name, kwargs, init)
    params = [edunn.tensor(a, requires_grad=True, device=device) for a in init]
    opt = getattr(optim, name)(params, **_opts(kwargs, "edunn"))
    for g in grads:
        for p, x in zip(params, g):
            p.grad = edunn.tensor(x, device=device)
        opt.step()
        theirs.step(g)
    _assert_params_close([_to_np(p) for p in params], theirs.values(), f"{name} on {device}")
    assert all(v.device == params[0].device for s in opt.state.values() for k, v in s.items()
               if k != "step")
