"""Every optimizer of ``edunn.optim`` on the GPU: the same start and the same gradients on the CPU
and on ``cuda`` give the same parameters and the same state, step after step; an optimizer's
``state_dict`` saved on one device and loaded on the other continues the run identically; a
tensor learning rate may live on the device (lessons 14, 15, 18).

Elementwise float32 arithmetic on CuPy agrees with NumPy's to a few ulps, so after five steps
the two runs agree to ``rtol=2e-5``; LBFGS (dot products, a line search) runs in float64; Muon's
parameters, updated through a bfloat16 iteration, get the margin :func:`_param_atol` explains.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

import edunn
from _compare import on_device
from edunn import nn, optim

pytestmark = pytest.mark.lesson18

SHAPES = [(3, 4), (5,), (2, 3, 2)]
STEPS = 5
RTOL, ATOL = 2e-5, 2e-6


class T:
    """A tensor-valued option (``lr=T(0.05)``): an edunn tensor on the device of the run."""

    def __init__(self, value: float) -> None:
        self.value = value


def _opts(kwargs: dict, device: str) -> dict:
    return {k: (edunn.tensor(v.value, device=device) if isinstance(v, T)
                else tuple(edunn.tensor(x.value, device=device) if isinstance(x, T) else x for x in v)
                if isinstance(v, tuple) else v)
            for k, v in kwargs.items()}


# (algorithm, options): several option sets per algorithm, the flags on and off somewhere.
CASES = [
    ("SGD", {"lr": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}),
    ("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "maximize": True, "foreach": True}),
    ("Adam", {}),
    ("Adam", {"lr": 0.01, "amsgrad": True, "weight_decay": 0.1, "foreach": True}),
    ("Adam", {"lr": 0.02, "betas": (0.3, 0.6), "maximize": True, "eps": 1e-4}),
    ("Adam", {"lr": T(0.01), "betas": (T(0.8), T(0.99)), "amsgrad": True}),
    ("AdamW", {}),
    ("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True, "foreach": True}),
    ("AdamW", {"lr": T(0.01), "maximize": True, "betas": (0.5, 0.9)}),
    ("Adamax", {}),
    ("Adamax", {"lr": 0.02, "betas": (0.3, 0.5), "maximize": True, "weight_decay": 0.1}),
    ("NAdam", {}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}),
    ("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True}),
    ("RAdam", {}),
    ("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True, "foreach": True}),
    ("Adagrad", {}),
    ("Adagrad", {"lr": 0.1, "lr_decay": 0.05, "weight_decay": 0.1, "initial_accumulator_value": 0.5}),
    ("Adagrad", {"maximize": True, "foreach": True, "eps": 1e-6}),
    ("Adadelta", {}),
    ("Adadelta", {"lr": 0.5, "rho": 0.5, "eps": 1e-4, "weight_decay": 0.1, "maximize": True}),
    ("RMSprop", {}),
    ("RMSprop", {"centered": True, "momentum": 0.5, "weight_decay": 0.1, "eps": 1e-4}),
    ("RMSprop", {"alpha": 0.3, "centered": True, "lr": 1e-3, "maximize": True, "foreach": True}),
    ("Rprop", {}),
    ("Rprop", {"lr": 0.1, "etas": (0.3, 1.5), "step_sizes": (1e-3, 0.2), "maximize": True}),
    ("ASGD", {}),
    ("ASGD", {"lambd": 1e-2, "alpha": 0.5, "t0": 2, "lr": 0.05, "weight_decay": 0.1}),
    ("Adafactor", {}),
    ("Adafactor", {"lr": 0.05, "beta2_decay": -0.5, "eps": (1e-12, 1e-2), "d": 2.0, "weight_decay": 0.1,
                   "maximize": True}),
    ("Adafactor", {"lr": T(0.02), "foreach": True, "weight_decay": 0.05}),
    ("Muon", {}),
    ("Muon", {"lr": 0.02, "weight_decay": 0.0, "momentum": 0.8, "nesterov": False, "adjust_lr_fn": "match_rms_adamw"}),
    ("Muon", {"lr": T(0.01), "ns_coefficients": (2.0, -1.5, 0.5), "ns_steps": 3, "eps": 1e-5,
              "adjust_lr_fn": "original"}),
]

#: Muon orthogonalises 2-D parameters only (PyTorch raises for any other): a wide, a tall (its
#: Newton-Schulz runs on the transpose) and a square matrix
SHAPES_OF = {"Muon": [(3, 4), (6, 2), (4, 4)]}


def _param_atol(run: "Run") -> float:
    """The absolute tolerance of a run's parameters beyond ``ATOL``: zero, except for Muon.

    Muon's Newton-Schulz iteration rounds every product to bfloat16 (8 significant bits).  A float32
    product or sum of the device's library that differs from NumPy's in its last bit can round to
    the neighbouring bfloat16, and the remaining iterations carry that on; such a flip is rare but
    not an error.  We allow each step's update (entries up to ~1.5 times the adjusted step size,
    ``lr * sqrt(max(1, A/B))`` or ``lr * 0.2 * sqrt(max(A, B))``) to be off by 1/32 of itself: far
    below what a wrong step size, momentum or orthogonalisation would change.  The momentum buffer
    has no bfloat16 in it and is compared as tightly as the other optimizers' state."""
    if not isinstance(run.opt, optim.Muon):
        return 0.0
    lr = max(float(g["lr"]) for g in run.opt.param_groups)
    adjusted = max(max(math.sqrt(max(1.0, a / b)), 0.2 * math.sqrt(max(a, b))) for a, b in
                   (tuple(p.shape) for p in run.params))
    return STEPS * 1.5 * lr * adjusted / 32


def _case_id(name: str, kw: dict) -> str:
    opts = "-".join(f"{k}={getattr(v, 'value', v)}" for k, v in kw.items())
    return f"{name}-{opts or 'defaults'}"


IDS = [_case_id(name, kw) for name, kw in CASES]
def test_every_optimizer_is_covered():
    covered = {name for name, _ in CASES} | {"SparseAdam", "LBFGS"}
    every = {n for n in dir(optim) if isinstance(getattr(optim, n), type)
             and issubclass(getattr(optim, n), optim.Optimizer) and n != "Optimizer"}
    assert every <= covered, f"optimizers without a GPU check: {sorted(every - covered)}"


def _problem(name: str = "", steps: int = STEPS, seed: int = 0):
    """Initial parameters (of ``SHAPES``, or ``name``'s own ``SHAPES_OF``) and a gradient
    sequence; some gradient entries are exactly zero and some repeat the last step's signs, so
    Rprop meets its three cases."""
    shapes = SHAPES_OF.get(name, SHAPES)
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = []
    for k in range(steps):
        step = []
        for s in shapes:
            g = rng.standard_normal(s).astype(np.float32)
            g[rng.random(s) < 0.15] = 0
            if k % 3 == 2 and grads:
                g = np.abs(g) * np.sign(grads[-1][len(step)] + 1e-30).astype(np.float32)
            step.append(g)
        grads.append(step)
    return init, grads


def _np(t) -> np.ndarray:
    return np.array(t.detach().cpu().numpy())


class Run:
    """One edunn optimizer over copies of the initial parameters on ``device``."""

    def __init__(self, name: str, kwargs: dict, init, device: str) -> None:
        self.device = device
        self.params = [edunn.tensor(a, requires_grad=True, device=device) for a in init]
        self.opt = getattr(optim, name)(self.params, **_opts(kwargs, device))

    def step(self, grads) -> None:
        for p, g in zip(self.params, grads):
            p.grad = edunn.tensor(g, device=self.device)
        self.opt.step()

    def values(self) -> list:
        return [_np(p) for p in self.params]


def _assert_on(t, device: str, what: str) -> None:
    assert on_device(t, device), f"{what} lives on {t.device}, expected {device}"


def _assert_runs_equal(a: Run, b: Run, what: str, rtol: float = RTOL, atol: float = ATOL) -> None:
    """Same parameters and state; an exact comparison (``rtol=atol=0``) stays exact, otherwise
    Muon's parameters get :func:`_param_atol` more."""
    p_atol = atol if rtol == atol == 0 else atol + _param_atol(a)
    for i, (pa, pb) in enumerate(zip(a.params, b.params)):
        _assert_on(pa, a.device, f"{what}: param {i}")
        _assert_on(pb, b.device, f"{what}: param {i}")
        np.testing.assert_allclose(_np(pa), _np(pb), rtol=rtol, atol=p_atol, equal_nan=False, err_msg=f"{what}: param {i}")
        sa, sb = a.opt.state.get(pa, {}), b.opt.state.get(pb, {})
        assert list(sa) == list(sb), f"{what}: state keys {list(sa)} != {list(sb)}"
        for key in sa:
            va, vb = sa[key], sb[key]
            if isinstance(va, edunn.Tensor):
                assert isinstance(vb, edunn.Tensor), f"{what}: state[{i}][{key!r}] is {type(vb)}"
                assert va.dtype == vb.dtype and va.shape == vb.shape, f"{what}: state[{i}][{key!r}]"
                if va.dim() > 0:  # the per-element state lives with its parameter
                    _assert_on(va, a.device, f"{what}: state[{i}][{key!r}]")
                    _assert_on(vb, b.device, f"{what}: state[{i}][{key!r}]")
                np.testing.assert_allclose(_np(va), _np(vb), rtol=rtol, atol=atol,
                                           err_msg=f"{what}: state[{i}][{key!r}]")
            else:
                assert va == vb, f"{what}: state[{i}][{key!r}] {va!r} != {vb!r}"


@pytest.mark.parametrize("name,kwargs", CASES, ids=IDS)
def test_steps_on_the_device_equal_the_cpu(name, kwargs, gpu):
    init, grads = _problem(name)
    cpu, dev = Run(name, kwargs, init, "cpu"), Run(name, kwargs, init, gpu)
    for k, g in enumerate(grads):
        cpu.step(g)
        dev.step(g)
        _assert_runs_equal(dev, cpu, f"{name} step {k + 1}")
    assert not np.allclose(dev.values()[0], init[0]), "the parameters did not move"


def _plain(kwargs: dict) -> bool:
    return not any(isinstance(v, T) or (isinstance(v, tuple) and any(isinstance(x, T) for x in v))
                   for v in kwargs.values())


CROSS = [(n, kw) for n, kw in CASES if _plain(kw)]


@pytest.mark.parametrize("direction", ["device_to_cpu", "cpu_to_device"])
@pytest.mark.parametrize("name,kwargs", CROSS, ids=[_case_id(n, kw) for n, kw in CROSS])
def test_state_dict_moves_between_devices_and_continues(name, kwargs, direction, gpu):
    src, dst = (gpu, "cpu") if direction == "device_to_cpu" else ("cpu", gpu)
    init, grads = _problem(name)
    first = Run(name, kwargs, init, src)
    for g in grads[:3]:
        first.step(g)
    resumed = Run(name, kwargs, first.values(), dst)
    resumed.opt.load_state_dict(first.opt.state_dict())
    _assert_runs_equal(resumed, first, f"{name} loaded on {dst}", rtol=0, atol=0)
    for k, g in enumerate(grads[3:]):
        first.step(g)
        resumed.step(g)
        _assert_runs_equal(resumed, first, f"{name} resumed on {dst}, step {k + 4}")


@pytest.mark.parametrize("map_location", ["cpu", "target"])
def test_state_dict_saved_from_the_device_loads_through_edunn_load(tmp_path, gpu, map_location):
    init, grads = _problem()
    first = Run("Adam", {"lr": 0.01, "amsgrad": True}, init, gpu)
    for g in grads[:3]:
        first.step(g)
    path = tmp_path / "opt.safetensors"
    edunn.save({"optimizer": first.opt.state_dict(), "params": first.params}, path)
    where = "cpu" if map_location == "cpu" else gpu
    ckpt = edunn.load(path, map_location=where)
    for v in ckpt["optimizer"]["state"][0].values():
        if isinstance(v, edunn.Tensor) and v.dim() > 0:
            _assert_on(v, where, "loaded state")
    resumed = Run("Adam", {"lr": 0.01, "amsgrad": True}, [_np(p) for p in ckpt["params"]], where)
    resumed.opt.load_state_dict(ckpt["optimizer"])
    for k, g in enumerate(grads[3:]):
        first.step(g)
        resumed.step(g)
        _assert_runs_equal(resumed, first, f"resumed on {where}, step {k + 4}")


@pytest.mark.parametrize("name,kwargs", [("SGD", {"momentum": 0.9}), ("Adam", {"foreach": False}),
                                         ("AdamW", {"amsgrad": True}), ("RMSprop", {"centered": True}),
                                         ("Adagrad", {})], ids=["SGD", "Adam", "AdamW", "RMSprop", "Adagrad"])
def test_tensor_lr_on_the_device_equals_a_float_lr(name, kwargs, gpu):
    init, grads = _problem()
    as_float = Run(name, dict(kwargs, lr=0.01), init, gpu)
    as_tensor = Run(name, dict(kwargs, lr=T(0.01)), init, gpu)
    lr = as_tensor.opt.param_groups[0]["lr"]
    assert isinstance(lr, edunn.Tensor)
    _assert_on(lr, gpu, "the tensor lr")
    for k, g in enumerate(grads):
        as_float.step(g)
        as_tensor.step(g)
        _assert_runs_equal(as_tensor, as_float, f"{name} tensor lr, step {k + 1}")
    # a scheduler writes into the tensor lr in place, and the tensor stays on the device
    sched = optim.lr_scheduler.StepLR(as_tensor.opt, step_size=1, gamma=0.5)
    as_tensor.step(grads[0])
    sched.step()
    assert as_tensor.opt.param_groups[0]["lr"] is lr
    _assert_on(lr, gpu, "the tensor lr after a scheduler step")
    assert abs(lr.item() - 0.005) < 1e-9


# ------------------------------------------------------------------------------- SparseAdam
@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.05, "betas": (0.5, 0.8), "eps": 1e-6},
                                    {"lr": 0.02, "maximize": True}], ids=["defaults", "betas", "maximize"])
def test_sparse_adam_with_a_sparse_embedding_gradient(kwargs, gpu):
    rng = np.random.default_rng(3)
    weight = rng.standard_normal((10, 4)).astype(np.float32)
    batches = [rng.integers(0, 10, size=(3, 5)) for _ in range(STEPS)]
    targets = [rng.standard_normal((3, 5, 4)).astype(np.float32) for _ in range(STEPS)]
    runs = {}
    for dev in ("cpu", gpu):
        emb = nn.Embedding(10, 4, sparse=True).to(dev)
        with edunn.no_grad():
            emb.weight.copy_(edunn.tensor(weight, device=dev))
        runs[dev] = (emb, optim.SparseAdam(list(emb.parameters()), **kwargs))
    for k in range(STEPS):
        for dev, (emb, opt) in runs.items():
            opt.zero_grad()
            idx = edunn.tensor(batches[k], device=dev)
            loss = ((emb(idx) - edunn.tensor(targets[k], device=dev)) ** 2).sum()
            loss.backward()
            g = emb.weight.grad
            assert g.is_sparse, "Embedding(sparse=True) must give a sparse gradient"
            assert g.device.type == edunn.device(dev).type, f"sparse gradient on {g.device}, expected {dev}"
            opt.step()
        (e_dev, o_dev), (e_cpu, o_cpu) = runs[gpu], runs["cpu"]
        _assert_on(e_dev.weight, gpu, "embedding weight")
        np.testing.assert_allclose(_np(e_dev.weight), _np(e_cpu.weight), rtol=RTOL, atol=ATOL,
                                   err_msg=f"SparseAdam step {k + 1}")
        s_dev, s_cpu = o_dev.state[e_dev.weight], o_cpu.state[e_cpu.weight]
        assert list(s_dev) == list(s_cpu)
        for key in ("exp_avg", "exp_avg_sq"):
            _assert_on(s_dev[key], gpu, f"SparseAdam state {key}")
            np.testing.assert_allclose(_np(s_dev[key]), _np(s_cpu[key]), rtol=RTOL, atol=ATOL)
        assert s_dev["step"] == s_cpu["step"]
    untouched = sorted(set(range(10)) - set(np.concatenate([b.ravel() for b in batches])))
    if untouched:  # rows no batch named keep their initial values exactly
        np.testing.assert_array_equal(_np(runs[gpu][0].weight)[untouched], weight[untouched])


# ------------------------------------------------------------------------------------ LBFGS
def _rosenbrock(x):
    return (100 * (x[1:] - x[:-1] ** 2) ** 2 + (1 - x[:-1]) ** 2).sum()


@pytest.mark.parametrize("kwargs", [{"max_iter": 4},
                                    {"lr": 0.5, "max_iter": 3, "history_size": 3},
                                    {"max_iter": 5, "line_search_fn": "strong_wolfe"}],
                         ids=["plain", "short_history", "strong_wolfe"])
def test_lbfgs_with_a_closure(kwargs, gpu):
    start = np.array([-1.2, 1.0, -0.5, 0.8, 1.5, -0.3])
    runs = {}
    for dev in ("cpu", gpu):
        x = edunn.tensor(start, requires_grad=True, device=dev)
        opt = optim.LBFGS([x], **kwargs)

        def closure(x=x, opt=opt):
            opt.zero_grad()
            loss = _rosenbrock(x)
            loss.backward()
            return loss
        runs[dev] = (x, opt, closure)
    first_loss = None
    for k in range(STEPS):
        losses = {}
        for dev, (x, opt, closure) in runs.items():
            losses[dev] = float(opt.step(closure))
            _assert_on(x, dev, "LBFGS parameter")
        first_loss = losses["cpu"] if first_loss is None else first_loss
        np.testing.assert_allclose(losses[gpu], losses["cpu"], rtol=1e-9, err_msg=f"loss at step {k + 1}")
        (x_dev, o_dev, _), (x_cpu, o_cpu, _) = runs[gpu], runs["cpu"]
        np.testing.assert_allclose(_np(x_dev), _np(x_cpu), rtol=1e-7, atol=1e-10, err_msg=f"x at step {k + 1}")
    s_dev, s_cpu = o_dev.state[o_dev._params[0]], o_cpu.state[o_cpu._params[0]]
    assert s_dev["n_iter"] == s_cpu["n_iter"] and s_dev["func_evals"] == s_cpu["func_evals"]
    assert len(s_dev["old_dirs"]) == len(s_cpu["old_dirs"])
    for a, b in zip(s_dev["old_dirs"] + s_dev["old_stps"], s_cpu["old_dirs"] + s_cpu["old_stps"]):
        _assert_on(a, gpu, "LBFGS history")
        np.testing.assert_allclose(_np(a), _np(b), rtol=1e-7, atol=1e-10)
    assert float(_rosenbrock(x_dev.detach())) < first_loss, "LBFGS did not descend"
