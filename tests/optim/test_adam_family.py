"""SGD, Adam, AdamW, Adamax, NAdam, RAdam and SparseAdam against ``torch.optim`` (lessons 14-15).

The same initial parameters (float32, three shapes) and the same random gradient sequence
(written into ``.grad`` before each step) go to PyTorch CPU and to edunn; after the run the
parameters and the whole per-parameter state must agree to float32 precision, for option sets
that turn every option and flag on and off.  Then: tensor learning rates, ``maximize`` mirroring
the minimising run, parameter groups, state_dict round trips (also through ``edunn.save``),
PyTorch's state_dict loading into edunn, the differentiable path's gradients, large (blocked)
and non-contiguous arrays, and every bad argument.
"""
from __future__ import annotations

import copy

import numpy as np
import pytest

import edunn
from edunn import optim
from tests.opcheck import needs_torch, torch

pytestmark = [needs_torch]

SHAPES = [(3, 4), (5,), (2, 3, 2)]
STEPS = 30
RTOL, ATOL = 1e-5, 1e-6
L14, L15 = pytest.mark.lesson14, pytest.mark.lesson15


class T:
    """A tensor-valued option (``lr=T(0.05)``): a torch tensor for torch, an edunn one for us."""

    def __init__(self, value: float) -> None:
        self.value = value

    def __repr__(self) -> str:
        return f"T({self.value})"


def _opts(kwargs: dict, lib: str) -> dict:
    out = {}
    for k, v in kwargs.items():
        if isinstance(v, T):
            v = torch.tensor(v.value) if lib == "torch" else edunn.tensor(v.value)
        elif k == "betas":
            v = tuple(_opts({"b": b}, lib)["b"] for b in v)
        out[k] = v
    return out


# (algorithm, options): every option and flag of each algorithm on and off somewhere.
CASES = [
    pytest.param("SGD", {"lr": 0.1}, marks=L14),
    pytest.param("SGD", {"lr": 0.05, "momentum": 0.9}, marks=L14),
    pytest.param("SGD", {"lr": 0.05, "momentum": 0.9, "dampening": 0.3, "weight_decay": 0.1}, marks=L14),
    pytest.param("SGD", {"lr": 0.05, "momentum": 0.8, "nesterov": True, "foreach": True}, marks=L14),
    pytest.param("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01,
                         "maximize": True, "foreach": False}, marks=L14),
    pytest.param("SGD", {"lr": 0.1, "weight_decay": 0.2, "maximize": True, "fused": True}, marks=L14),
    pytest.param("SGD", {"lr": T(0.05), "momentum": 0.5}, marks=L14),
    pytest.param("Adam", {}, marks=L14),
    pytest.param("Adam", {"lr": 0.01, "amsgrad": True}, marks=L14),
    pytest.param("Adam", {"lr": 0.01, "weight_decay": 0.1, "eps": 1e-4, "foreach": True}, marks=L14),
    pytest.param("Adam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
                          "amsgrad": True, "maximize": True}, marks=L14),
    pytest.param("Adam", {"lr": 0.02, "betas": (0.3, 0.6), "maximize": True, "foreach": False}, marks=L14),
    pytest.param("Adam", {"lr": T(0.01), "betas": (T(0.8), T(0.99)), "amsgrad": True}, marks=L14),
    pytest.param("Adam", {"lr": 0.01, "fused": True, "weight_decay": 0.05}, marks=L14),
    pytest.param("AdamW", {}, marks=L15),
    pytest.param("AdamW", {"lr": 0.01, "weight_decay": 0.3, "amsgrad": True, "foreach": True}, marks=L15),
    pytest.param("AdamW", {"lr": T(0.01), "maximize": True, "betas": (0.5, 0.9)}, marks=L15),
    pytest.param("Adamax", {}, marks=L15),
    pytest.param("Adamax", {"lr": 0.01, "weight_decay": 0.1, "eps": 1e-3, "foreach": True}, marks=L15),
    pytest.param("Adamax", {"lr": T(0.02), "betas": (0.3, 0.5), "maximize": True}, marks=L15),
    pytest.param("NAdam", {}, marks=L15),
    pytest.param("NAdam", {"lr": 0.01, "weight_decay": 0.1, "momentum_decay": 0.01}, marks=L15),
    pytest.param("NAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
                           "maximize": True, "foreach": True}, marks=L15),
    pytest.param("NAdam", {"lr": T(0.01), "betas": (0.7, 0.9), "eps": 1e-4}, marks=L15),
    pytest.param("RAdam", {}, marks=L15),
    pytest.param("RAdam", {"lr": 0.01, "weight_decay": 0.1, "foreach": True}, marks=L15),
    pytest.param("RAdam", {"lr": 0.01, "weight_decay": 0.1, "decoupled_weight_decay": True,
                           "maximize": True}, marks=L15),
    # beta2 = 0.9: rho_t crosses 5 at step 4 instead of 6; both branches are taken either way
    pytest.param("RAdam", {"lr": T(0.01), "betas": (0.5, 0.9), "eps": 1e-4}, marks=L15),
]
NAMES = ["SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam"]
LESSON = {"SGD": L14, "Adam": L14}


def _by_name(names: list[str]) -> list:
    return [pytest.param(n, marks=LESSON.get(n, L15)) for n in names]


def _case_id(val):
    return repr(val) if isinstance(val, dict) else None


def _data(shapes=SHAPES, steps=STEPS, seed=0):
    rng = np.random.default_rng(seed)
    init = [rng.standard_normal(s).astype(np.float32) for s in shapes]
    grads = [[rng.standard_normal(s).astype(np.float32) for s in shapes] for _ in range(steps)]
    return init, grads


def _params(lib, init):
    if lib == "torch":
        return [torch.tensor(a, requires_grad=True) for a in init]
    return [edunn.tensor(a, requires_grad=True) for a in init]


def _feed(params, grads_np, lib, sign=1.0):
    for p, g in zip(params, grads_np):
        p.grad = torch.tensor(sign * g) if lib == "torch" else edunn.tensor(sign * g)


def _np(t):
    return t.detach().numpy() if hasattr(t, "detach") else np.asarray(t)


def _assert_state_equal(t_opt, e_opt, t_params, e_params, rtol=RTOL, atol=ATOL):
    for tp, ep in zip(t_params, e_params):
        np.testing.assert_allclose(_np(ep), _np(tp), rtol=rtol, atol=atol)
        ts, es = t_opt.state[tp], e_opt.state[ep]
        assert sorted(es) == sorted(ts)
        for key, tv in ts.items():
            ev = es[key]
            if isinstance(tv, torch.Tensor):
                assert isinstance(ev, edunn.Tensor), key
                assert ev.dtype.name == str(tv.dtype).replace("torch.", ""), key
                assert tuple(ev.shape) == tuple(tv.shape), key
                np.testing.assert_allclose(_np(ev), _np(tv), rtol=rtol, atol=atol, err_msg=key)
            else:
                assert ev == tv, key


def _run_both(name, kwargs, shapes=SHAPES, steps=STEPS, seed=0):
    init, grads = _data(shapes, steps, seed)
    tp, ep = _params("torch", init), _params("edunn", init)
    t_opt = getattr(torch.optim, name)(tp, **_opts(kwargs, "torch"))
    e_opt = getattr(optim, name)(ep, **_opts(kwargs, "edunn"))
    for gs in grads:
        _feed(tp, gs, "torch")
        _feed(ep, gs, "edunn")
        t_opt.step()
        e_opt.step()
    return t_opt, e_opt, tp, ep


@pytest.mark.parametrize("name,kwargs", CASES, ids=_case_id)
def test_matches_torch(name, kwargs):
    t_opt, e_opt, tp, ep = _run_both(name, kwargs)
    _assert_state_equal(t_opt, e_opt, tp, ep)


@pytest.mark.parametrize("name", _by_name(NAMES))
def test_large_and_noncontiguous_arrays_match_torch(name):
    """A parameter big enough to be updated in several cache-sized blocks, and a gradient that
    is a transposed (non-contiguous) view: both paths of the in-place update."""
    kwargs = {"lr": 0.01, "weight_decay": 0.1}
    if name == "SGD":
        kwargs.update(momentum=0.9, nesterov=True)
    shape = (300, 500)  # 150,000 elements: more than two blocks of 65,536
    init, grads = _data([shape], steps=4, seed=1)
    tp, ep = _params("torch", init), _params("edunn", init)
    t_opt = getattr(torch.optim, name)(tp, **kwargs)
    e_opt = getattr(optim, name)(ep, **kwargs)
    for i, (g,) in enumerate(grads):
        tp[0].grad = torch.tensor(g)
        ep[0].grad = edunn.tensor(np.ascontiguousarray(g.T)).t() if i % 2 else edunn.tensor(g)
        assert ep[0].grad.is_contiguous() == (i % 2 == 0)
        t_opt.step()
        e_opt.step()
    _assert_state_equal(t_opt, e_opt, tp, ep)


@pytest.mark.parametrize("name", _by_name(NAMES))
def test_maximize_mirrors_minimizing(name):
    """``maximize=True`` on gradients g gives exactly the run of ``maximize=False`` on -g."""
    kwargs = {"lr": 0.01, "weight_decay": 0.1}
    if name == "SGD":
        kwargs["momentum"] = 0.9
    init, grads = _data(steps=10)
    p_max, p_min = _params("edunn", init), _params("edunn", init)
    o_max = getattr(optim, name)(p_max, maximize=True, **kwargs)
    o_min = getattr(optim, name)(p_min, **kwargs)
    for gs in grads:
        _feed(p_max, gs, "edunn")
        _feed(p_min, gs, "edunn", sign=-1.0)
        o_max.step()
        o_min.step()
    for a, b in zip(p_max, p_min):
        np.testing.assert_array_equal(_np(a), _np(b))


@pytest.mark.parametrize("name", _by_name(NAMES))
def test_param_groups_with_different_options(name):
    extra = {"SGD": ({"momentum": 0.9}, {"momentum": 0.5, "nesterov": True}),
             "Adam": ({"amsgrad": True}, {"weight_decay": 0.1}),
             "AdamW": ({"weight_decay": 0.5}, {"amsgrad": True}),
             "Adamax": ({"betas": (0.5, 0.9)}, {"weight_decay": 0.1}),
             "NAdam": ({"momentum_decay": 0.01}, {"weight_decay": 0.1, "decoupled_weight_decay": True}),
             "RAdam": ({"betas": (0.5, 0.9)}, {"weight_decay": 0.1, "decoupled_weight_decay": True})}[name]
    init, grads = _data()
    tp, ep = _params("torch", init), _params("edunn", init)

    def groups(ps):
        return [{"params": ps[:1], "lr": 0.05, **extra[0]}, {"params": ps[1:], "maximize": True, **extra[1]}]

    t_opt = getattr(torch.optim, name)(groups(tp), lr=0.01)
    e_opt = getattr(optim, name)(groups(ep), lr=0.01)
    for gs in grads:
        _feed(tp, gs, "torch")
        _feed(ep, gs, "edunn")
        t_opt.step()
        e_opt.step()
    _assert_state_equal(t_opt, e_opt, tp, ep)
    assert [set(g) for g in e_opt.param_groups] == [set(g) for g in t_opt.param_groups]


@pytest.mark.parametrize("name", _by_name(NAMES))
def test_parameter_without_grad_is_skipped(name):
    init, grads = _data(steps=3)
    ep = _params("edunn", init)
    e_opt = getattr(optim, name)(ep, lr=0.1, **({"momentum": 0.9} if name == "SGD" else {}))
    for gs in grads:
        _feed(ep[:2], gs[:2], "edunn")
        e_opt.step()
    np.testing.assert_array_equal(_np(ep[2]), init[2])
    assert ep[2] not in e_opt.state


def _to_edunn(obj):
    """A torch state_dict with its tensors converted to edunn's (what a user would do)."""
    if isinstance(obj, torch.Tensor):
        return edunn.tensor(obj.detach().numpy().copy())
    if isinstance(obj, dict):
        return {k: _to_edunn(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return type(obj)(_to_edunn(v) for v in obj)
    return obj


def _layout(sd, lib):
    tensor_type = torch.Tensor if lib == "torch" else edunn.Tensor

    def describe(v):
        if isinstance(v, tensor_type):
            return ("tensor", tuple(v.shape), str(v.dtype).split(".")[-1])
        return ("value", type(v).__name__)
    state = {k: {kk: describe(vv) for kk, vv in v.items()} for k, v in sd["state"].items()}
    groups = [{k: (v if k == "params" else type(v).__name__) for k, v in g.items()}
              for g in sd["param_groups"]]
    return state, groups


@pytest.mark.parametrize("name,kwargs", [
    pytest.param("SGD", {"momentum": 0.9}, marks=L14), pytest.param("SGD", {}, marks=L14),
    pytest.param("Adam", {"amsgrad": True}, marks=L14), pytest.param("AdamW", {}, marks=L15),
    pytest.param("Adamax", {}, marks=L15), pytest.param("NAdam", {}, marks=L15),
    pytest.param("RAdam", {}, marks=L15)], ids=_case_id)
def test_state_dict_layout_and_torch_checkpoint(name, kwargs):
    """Same keys, ids, dtypes and shapes as PyTorch's state_dict; and a PyTorch state_dict
    (tensors converted) loads into edunn and both continue identically."""
    init, grads = _data(steps=20)
    tp, ep = _params("torch", init), _params("edunn", init)
    t_opt = getattr(torch.optim, name)([{"params": tp[:2]}, {"params": tp[2:], "lr": 0.05}], lr=0.01, **kwargs)
    e_opt = getattr(optim, name)([{"params": ep[:2]}, {"params": ep[2:], "lr": 0.05}], lr=0.01, **kwargs)
    for gs in grads[:10]:
        _feed(tp, gs, "torch")
        _feed(ep, gs, "edunn")
        t_opt.step()
        e_opt.step()
    t_sd, e_sd = t_opt.state_dict(), e_opt.state_dict()
    assert _layout(e_sd, "edunn") == _layout(t_sd, "torch")
    assert {k: v for g in e_sd["param_groups"] for k, v in g.items() if k != "params"} == \
        {k: v for g in t_sd["param_groups"] for k, v in g.items() if k != "params"}

    # a fresh edunn optimizer loads PyTorch's checkpoint and follows PyTorch from there
    ep2 = [edunn.tensor(_np(p), requires_grad=True) for p in tp]
    e_opt2 = getattr(optim, name)([{"params": ep2[:2]}, {"params": ep2[2:]}], lr=0.3)
    e_opt2.load_state_dict(_to_edunn(t_sd))
    assert [g["lr"] for g in e_opt2.param_groups] == [0.01, 0.05]
    for gs in grads[10:]:
        _feed(tp, gs, "torch")
        _feed(ep2, gs, "edunn")
        t_opt.step()
        e_opt2.step()
    _assert_state_equal(t_opt, e_opt2, tp, ep2)


def _round_trip_run(name, kwargs, through=None):
    """Run 20 steps; and run 10, checkpoint (deep copy, or ``through(state_dict)``), rebuild
    the optimizer, load, run 10 more: the end states must be identical bit for bit."""
    init, grads = _data(steps=20)
    straight = _params("edunn", init)
    o = getattr(optim, name)(straight, **kwargs)
    for gs in grads:
        _feed(straight, gs, "edunn")
        o.step()

    first = _params("edunn", init)
    o1 = getattr(optim, name)(first, **kwargs)
    for gs in grads[:10]:
        _feed(first, gs, "edunn")
        o1.step()
    sd = copy.deepcopy(o1.state_dict()) if through is None else through(o1.state_dict())
    resumed = [edunn.tensor(_np(p), requires_grad=True) for p in first]
    o2 = getattr(optim, name)(resumed, **kwargs)
    o2.load_state_dict(sd)
    for gs in grads[10:]:
        _feed(resumed, gs, "edunn")
        o2.step()
    for a, b in zip(straight, resumed):
        np.testing.assert_array_equal(_np(a), _np(b))
    for a, b in zip(straight, resumed):
        for key, v in o.state[a].items():
            np.testing.assert_array_equal(_np(o2.state[b][key]), _np(v))


ROUND_TRIP = [pytest.param("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True}, marks=L14),
              pytest.param("Adam", {"lr": 0.01, "amsgrad": True}, marks=L14),
              pytest.param("AdamW", {"lr": 0.01}, marks=L15),
              pytest.param("Adamax", {"lr": 0.01}, marks=L15),
              pytest.param("NAdam", {"lr": 0.01}, marks=L15),
              pytest.param("RAdam", {"lr": 0.01}, marks=L15)]


@pytest.mark.parametrize("name,kwargs", ROUND_TRIP, ids=_case_id)
def test_state_dict_round_trip_mid_run(name, kwargs):
    _round_trip_run(name, kwargs)


@pytest.mark.parametrize("name,kwargs", ROUND_TRIP, ids=_case_id)
def test_state_dict_round_trip_through_save_and_load(name, kwargs, tmp_path):
    if not hasattr(edunn, "save"):
        pytest.skip("edunn.save is not there yet")

    def through(sd):
        path = tmp_path / "optim.pt"
        edunn.save(sd, path)
        return edunn.load(path)
    _round_trip_run(name, kwargs, through)


@pytest.mark.parametrize("name,kwargs", [
    pytest.param("SGD", {"momentum": 0.9, "weight_decay": 0.1}, marks=L14),
    pytest.param("SGD", {"momentum": 0.9, "nesterov": True}, marks=L14),
    pytest.param("Adam", {"weight_decay": 0.1}, marks=L14),
    pytest.param("Adam", {"amsgrad": True, "decoupled_weight_decay": True, "weight_decay": 0.1}, marks=L14),
    pytest.param("Adamax", {"weight_decay": 0.1}, marks=L15),
    pytest.param("NAdam", {"weight_decay": 0.1}, marks=L15),
    pytest.param("NAdam", {"weight_decay": 0.1, "decoupled_weight_decay": True}, marks=L15),
    pytest.param("RAdam", {"betas": (0.5, 0.8)}, marks=L15)], ids=_case_id)
def test_differentiable_step_matches_torch_values_and_gradients(name, kwargs):
    """``differentiable=True``: the update is recorded by autograd.  Parameters are non-leaf
    clones of leaves ``w`` (allowed when differentiable), gradients are leaves ``g`` that
    require grad; after a few steps d(sum p^2)/dw and d/dg agree with PyTorch's."""
    rng = np.random.default_rng(3)
    w0 = [rng.standard_normal(s) for s in [(3, 2), (4,)]]
    # PyTorch can only differentiate through one step from fresh state (later steps overwrite
    # in place what the earlier ones saved), SGD's buffer through several
    steps = 3 if name == "SGD" else 1
    g0 = [[rng.standard_normal(s) for s in [(3, 2), (4,)]] for _ in range(steps)]

    def run(lib):
        fw = torch if lib == "torch" else edunn
        w = [fw.tensor(a, requires_grad=True) for a in w0]
        gs = [[fw.tensor(a, requires_grad=True) for a in step] for step in g0]
        p = [x * 1.0 for x in w]
        o = getattr(fw.optim, name)(p, lr=0.1, differentiable=True, **kwargs)
        for step in gs:
            for pi, gi in zip(p, step):
                pi.grad = gi
            o.step()
        loss = sum((pi ** 2).sum() for pi in p)
        loss.backward()
        return [_np(pi) for pi in p], [None if x.grad is None else _np(x.grad)
                                       for x in w + [g for s in gs for g in s]]

    (tp, tg), (ep, eg) = run("torch"), run("edunn")
    assert [a is None for a in eg] == [b is None for b in tg]
    assert any(a is not None for a in eg[2:])  # the gradients are on the graph too
    for a, b in zip(ep + eg, tp + tg):
        if b is not None:
            # float64 parameters, but "step" and "mu_product" are float32 tensors in both
            # libraries, and scalar-by-tensor arithmetic on them rounds differently in the last bit
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-9)


@pytest.mark.parametrize("name", _by_name(NAMES))
def test_tensor_lr_equals_float_lr(name):
    init, grads = _data(steps=10)
    pf, pt = _params("edunn", init), _params("edunn", init)
    of = getattr(optim, name)(pf, lr=0.015625)  # a power of two: exact in float32 and double
    ot = getattr(optim, name)(pt, lr=edunn.tensor([0.015625]))
    assert ot.param_groups[0]["lr"].shape == (1,)
    for gs in grads:
        _feed(pf, gs, "edunn")
        _feed(pt, gs, "edunn")
        of.step()
        ot.step()
    for a, b in zip(pf, pt):
        np.testing.assert_array_equal(_np(a), _np(b))


def test_step_bumps_version_and_keeps_params_leaves():
    p = edunn.zeros(3, requires_grad=True)
    o = optim.Adam([p], lr=0.1)
    p.grad = edunn.ones(3)
    v = p._version
    o.step()
    assert p._version > v and p.is_leaf and p.grad_fn is None and p.requires_grad


@pytest.mark.lesson15
def test_adamw_is_adam_with_decoupled_decay():
    init, grads = _data(steps=5)
    a, b = _params("edunn", init), _params("edunn", init)
    oa = optim.AdamW(a, lr=0.01, weight_decay=0.2)
    ob = optim.Adam(b, lr=0.01, weight_decay=0.2, decoupled_weight_decay=True)
    assert oa.defaults["decoupled_weight_decay"] is True and oa.defaults["weight_decay"] == 0.2
    assert optim.AdamW(a).defaults["weight_decay"] == 1e-2
    for gs in grads:
        _feed(a, gs, "edunn")
        _feed(b, gs, "edunn")
        oa.step()
        ob.step()
    for x, y in zip(a, b):
        np.testing.assert_array_equal(_np(x), _np(y))


# ---------------------------------------------------------------------------- SparseAdam
class SparseCOO:
    """A stand-in for a sparse COO gradient (edunn has no sparse tensors yet): the interface
    SparseAdam reads -- ``is_sparse``, ``coalesce()``, ``_indices()``, ``_values()``."""

    is_sparse = True

    def __init__(self, indices: np.ndarray, values: np.ndarray, shape: tuple) -> None:
        self.indices, self.values, self.shape = indices, values, shape

    def coalesce(self) -> "SparseCOO":
        keys = [tuple(col) for col in self.indices.T]
        uniq = sorted(set(keys))
        vals = np.zeros((len(uniq),) + self.values.shape[1:], self.values.dtype)
        for k, v in zip(keys, self.values):
            vals[uniq.index(k)] += v
        idx = np.array(uniq, dtype=np.int64).T.reshape(self.indices.shape[0], len(uniq))
        return SparseCOO(idx, vals, self.shape)

    def _indices(self):
        return edunn.tensor(self.indices)

    def _values(self):
        return edunn.tensor(self.values)

    def size(self):
        return edunn.Size(self.shape)


@pytest.mark.lesson15
@pytest.mark.parametrize("kwargs", [{}, {"lr": 0.01, "betas": (0.5, 0.8), "eps": 1e-4},
                                    {"lr": 0.01, "maximize": True}, {"lr": T(0.02)}], ids=repr)
def test_sparse_adam_matches_torch(kwargs):
    """An embedding table (10 x 3) whose gradient names a few rows each step (some twice, as a
    batch that looks one index up twice): only those rows and their moments change."""
    rng = np.random.default_rng(5)
    table = rng.standard_normal((10, 3)).astype(np.float32)
    vec = rng.standard_normal(6).astype(np.float32)  # a second parameter with 1-d sparse grads
    tp = [torch.tensor(table, requires_grad=True), torch.tensor(vec, requires_grad=True)]
    ep = [edunn.tensor(table, requires_grad=True), edunn.tensor(vec, requires_grad=True)]
    t_opt = torch.optim.SparseAdam(tp, **_opts(kwargs, "torch"))
    e_opt = optim.SparseAdam(ep, **_opts(kwargs, "edunn"))
    for _ in range(15):
        rows = rng.integers(0, 10, size=4)[None, :]
        row_vals = rng.standard_normal((4, 3)).astype(np.float32)
        ents = rng.integers(0, 6, size=3)[None, :]
        ent_vals = rng.standard_normal(3).astype(np.float32)
        tp[0].grad = torch.sparse_coo_tensor(torch.tensor(rows), torch.tensor(row_vals), (10, 3),
                                             check_invariants=True)
        tp[1].grad = torch.sparse_coo_tensor(torch.tensor(ents), torch.tensor(ent_vals), (6,),
                                             check_invariants=True)
        ep[0]._grad = SparseCOO(rows, row_vals, (10, 3))
        ep[1]._grad = SparseCOO(ents, ent_vals, (6,))
        t_opt.step()
        e_opt.step()
    _assert_state_equal(t_opt, e_opt, tp, ep)
    assert e_opt.state[ep[0]]["step"] == 15


@pytest.mark.lesson15
def test_sparse_adam_rejects_dense_gradients_and_bad_args():
    p = edunn.zeros(3, requires_grad=True)
    o = optim.SparseAdam([p])
    p.grad = edunn.ones(3)
    with pytest.raises(RuntimeError, match="SparseAdam does not support dense gradients, please "
                                           "consider Adam instead"):
        o.step()
    with pytest.raises(ValueError, match="Invalid learning rate: 0.0"):
        optim.SparseAdam([p], lr=0.0)
    with pytest.raises(ValueError, match="Invalid epsilon value: 0.0"):
        optim.SparseAdam([p], eps=0.0)
    with pytest.raises(ValueError, match="Invalid beta parameter at index 1: 1.0"):
        optim.SparseAdam([p], betas=(0.9, 1.0))


@pytest.mark.parametrize("name", _by_name(["Adam", "AdamW", "Adamax", "NAdam", "RAdam"]))
def test_dense_optimizers_reject_sparse_gradients(name):
    p = edunn.zeros(3, requires_grad=True)
    o = getattr(optim, name)([p])
    p._grad = SparseCOO(np.array([[0]]), np.array([1.0], np.float32), (3,))
    message = "Adam does not support sparse gradients, please consider SparseAdam instead" \
        if name in ("Adam", "AdamW") else f"{name} does not support sparse gradients"
    with pytest.raises(RuntimeError, match=message):
        o.step()


# ---------------------------------------------------------------------------- bad arguments
BAD = [
    pytest.param("SGD", {"lr": -1}, ValueError, "Invalid learning rate: -1", marks=L14),
    pytest.param("SGD", {"momentum": -0.5}, ValueError, "Invalid momentum value: -0.5", marks=L14),
    pytest.param("SGD", {"weight_decay": -0.1}, ValueError, "Invalid weight_decay value: -0.1", marks=L14),
    pytest.param("SGD", {"nesterov": True}, ValueError,
                 "Nesterov momentum requires a momentum and zero dampening", marks=L14),
    pytest.param("SGD", {"nesterov": True, "momentum": 0.9, "dampening": 0.1}, ValueError,
                 "Nesterov momentum requires a momentum and zero dampening", marks=L14),
    pytest.param("SGD", {"fused": True, "differentiable": True}, RuntimeError,
                 "`fused` does not support `differentiable`", marks=L14),
    pytest.param("SGD", {"fused": True, "foreach": True}, RuntimeError,
                 "`fused` and `foreach` cannot be `True` together.", marks=L14),
    pytest.param("SGD", {"lr": T(-0.1)}, ValueError, "Invalid learning rate", marks=L14),
    pytest.param("Adam", {"lr": -1e-3}, ValueError, "Invalid learning rate: -0.001", marks=L14),
    pytest.param("Adam", {"eps": -1.0}, ValueError, "Invalid epsilon value: -1.0", marks=L14),
    pytest.param("Adam", {"betas": (1.0, 0.999)}, ValueError, "Invalid beta parameter at index 0: 1.0", marks=L14),
    pytest.param("Adam", {"betas": (-0.1, 0.999)}, ValueError, "Invalid beta parameter at index 0: -0.1", marks=L14),
    pytest.param("Adam", {"betas": (0.9, 1.5)}, ValueError, "Invalid beta parameter at index 1: 1.5", marks=L14),
    pytest.param("Adam", {"weight_decay": -1.0}, ValueError, "Invalid weight_decay value: -1.0", marks=L14),
    pytest.param("Adam", {"betas": (0.9, T(0.99))}, ValueError,
                 "betas must be either both floats or both Tensors", marks=L14),
    pytest.param("Adam", {"lr": T(0.1), "foreach": True}, ValueError,
                 "lr as a Tensor is not supported for capturable=False and foreach=True", marks=L14),
    pytest.param("Adam", {"fused": True, "differentiable": True}, RuntimeError,
                 "`fused` does not support `differentiable`", marks=L14),
    pytest.param("AdamW", {"betas": (0.9, 1.0)}, ValueError, "Invalid beta parameter at index 1: 1.0", marks=L15),
    pytest.param("Adamax", {"eps": -1e-8}, ValueError, "Invalid epsilon value", marks=L15),
    pytest.param("Adamax", {"betas": (1.2, 0.9)}, ValueError, "Invalid beta parameter at index 0: 1.2", marks=L15),
    pytest.param("NAdam", {"momentum_decay": -1.0}, ValueError, "Invalid momentum_decay value: -1.0", marks=L15),
    pytest.param("NAdam", {"lr": -2.0}, ValueError, "Invalid learning rate: -2.0", marks=L15),
    pytest.param("RAdam", {"weight_decay": -2.0}, ValueError, "Invalid weight_decay value: -2.0", marks=L15),
    pytest.param("RAdam", {"betas": (0.9, -0.1)}, ValueError, "Invalid beta parameter at index 1: -0.1", marks=L15),
]


@pytest.mark.parametrize("name,kwargs,error,message", BAD, ids=_case_id)
def test_bad_arguments_raise_like_torch(name, kwargs, error, message):
    import re
    p_t, p_e = torch.zeros(2, requires_grad=True), edunn.zeros(2, requires_grad=True)
    with pytest.raises(error, match=re.escape(message)):
        getattr(torch.optim, name)([p_t], **_opts(kwargs, "torch"))
    with pytest.raises(error, match=re.escape(message)):
        getattr(optim, name)([p_e], **_opts(kwargs, "edunn"))


@pytest.mark.lesson14
def test_tensor_lr_must_have_one_element():
    with pytest.raises(ValueError, match="Tensor lr must be 1-element"):
        optim.SGD([edunn.zeros(2, requires_grad=True)], lr=edunn.tensor([0.1, 0.2]))
    # one-element tensors of any shape are fine (squeezed to 0-dim, as PyTorch's _to_scalar)
    o = optim.Adam([edunn.zeros(2, requires_grad=True)],
                   betas=(edunn.tensor([0.9]), edunn.tensor([[0.99]])))
    assert [b.shape for b in o.defaults["betas"]] == [(), ()]


@pytest.mark.parametrize("name", _by_name(NAMES))
def test_same_run_on_every_device(name, device):
    """The update runs on whatever device the parameters live on (CuPy on ``cuda``): the same
    run there and on the CPU agree to float32 precision, and the state stays with the params
    (``"step"`` on the CPU, as PyTorch keeps it unless capturable/fused)."""
    init, grads = _data(steps=8)
    kwargs = {"lr": 0.01, "weight_decay": 0.1, **({"momentum": 0.9} if name == "SGD" else {})}
    runs = []
    for dev in ("cpu", device):
        ps = [edunn.tensor(a, device=dev, requires_grad=True) for a in init]
        o = getattr(optim, name)(ps, **kwargs)
        for gs in grads:
            for p, g in zip(ps, gs):
                p.grad = edunn.tensor(g, device=dev)
            o.step()
        for p in ps:
            for key, v in o.state[p].items():
                assert v.device == (edunn.device("cpu") if key in ("step", "mu_product") else p.device)
        runs.append([p.detach().cpu().numpy() for p in ps])
    for a, b in zip(*runs):
        np.testing.assert_allclose(b, a, rtol=RTOL, atol=ATOL)


@pytest.mark.lesson14
@pytest.mark.parametrize("name,kwargs", [("SGD", {"momentum": 0.9, "weight_decay": 0.05}),
                                         ("SGD", {"nesterov": True, "momentum": 0.5}),
                                         ("Adam", {"amsgrad": True}), ("Adam", {"weight_decay": 0.1})],
                         ids=_case_id)
def test_hypergradient_through_a_tensor_lr(name, kwargs):
    """With ``differentiable=True`` and an ``lr`` tensor that requires grad, d(loss after the
    step)/d(lr) -- the hypergradient -- is PyTorch's."""
    def run(fw):
        w = fw.tensor([1.0, -2.0, 0.5], dtype=fw.float64, requires_grad=True)
        lr = fw.tensor(0.1, dtype=fw.float64, requires_grad=True)
        g = fw.tensor([0.3, 0.25, -0.1], dtype=fw.float64, requires_grad=True)
        p = w * 1.0
        o = getattr(fw.optim, name)([p], lr=lr, differentiable=True, **kwargs)
        p.grad = g
        o.step()
        (p ** 3).sum().backward()
        return [_np(p)] + [None if x.grad is None else _np(x.grad) for x in (w, lr, g)]

    for a, b in zip(run(edunn), run(torch)):
        assert (a is None) == (b is None)
        if b is not None:
            np.testing.assert_allclose(a, b, rtol=1e-6, atol=1e-12)


@pytest.mark.parametrize("name,kwargs", [pytest.param("SGD", {"lr": 0.1, "momentum": 0.9}, marks=L14),
                                         pytest.param("Adam", {"lr": 0.01}, marks=L14),
                                         pytest.param("NAdam", {"lr": 0.01}, marks=L15)],
                         ids=_case_id)
def test_training_a_module_matches_torch(name, kwargs):
    """The whole loop -- forward, loss, backward, step, zero_grad -- on an MLP built from
    ``named_parameters()``, with the same initial weights and data as PyTorch's."""
    rng = np.random.default_rng(7)
    x = rng.standard_normal((16, 5)).astype(np.float32)
    y = rng.standard_normal((16, 2)).astype(np.float32)
    t_model = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 2))
    e_model = edunn.nn.Sequential(edunn.nn.Linear(5, 8), edunn.nn.Tanh(), edunn.nn.Linear(8, 2))
    e_model.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in t_model.state_dict().items()})
    t_opt = getattr(torch.optim, name)(t_model.named_parameters(), **kwargs)
    e_opt = getattr(optim, name)(e_model.named_parameters(), **kwargs)
    assert e_opt.param_groups[0]["param_names"] == t_opt.param_groups[0]["param_names"]
    for _ in range(20):
        for fw, model, opt in ((torch, t_model, t_opt), (edunn, e_model, e_opt)):
            opt.zero_grad()
            loss = ((model(fw.tensor(x)) - fw.tensor(y)) ** 2).mean()
            loss.backward()
            opt.step()
    for (kt, vt), (ke, ve) in zip(t_model.state_dict().items(), e_model.state_dict().items()):
        assert kt == ke
        np.testing.assert_allclose(_np(ve), _np(vt), rtol=1e-4, atol=1e-5)


@pytest.mark.lesson14
@pytest.mark.parametrize("kwargs", [{}, {"momentum": 0.9}, {"momentum": 0.9, "nesterov": True},
                                    {"momentum": 0.5, "dampening": 0.2, "maximize": True}], ids=repr)
def test_sgd_with_sparse_gradients_matches_torch(kwargs):
    rng = np.random.default_rng(11)
    table = rng.standard_normal((6, 2)).astype(np.float32)
    tp, ep = torch.tensor(table, requires_grad=True), edunn.tensor(table, requires_grad=True)
    t_opt, e_opt = torch.optim.SGD([tp], lr=0.1, **kwargs), optim.SGD([ep], lr=0.1, **kwargs)
    for _ in range(8):
        rows = rng.integers(0, 6, size=3)[None, :]
        vals = rng.standard_normal((3, 2)).astype(np.float32)
        tp.grad = torch.sparse_coo_tensor(torch.tensor(rows), torch.tensor(vals), (6, 2),
                                          check_invariants=True)
        ep._grad = SparseCOO(rows, vals, (6, 2))
        t_opt.step()
        e_opt.step()
    np.testing.assert_allclose(_np(ep), _np(tp), rtol=RTOL, atol=ATOL)
    o = optim.SGD([ep], lr=0.1, weight_decay=0.1)
    with pytest.raises(RuntimeError, match="add\\(sparse, dense\\) is not supported"):
        o.step()
