"""``edunn.nn.DataParallel`` and ``edunn.nn.parallel`` (scatter, replicate, parallel_apply,
gather, comm) -- lesson 18.

Without a GPU the mechanism runs on CPU "devices" (``["cpu", "cpu"]``, an edunn extension), so
every piece is checked here against the module on the whole batch (outputs, input and parameter
gradients) and against PyTorch CPU on the same weights.  PyTorch's pure-Python structure walking
(``torch.nn.parallel.scatter_gather``) is compared with ours by running torch's own code with its
CUDA-only ``Scatter``/``Gather`` replaced by ``chunk``/``cat``.  Tests marked ``gpu`` run the
same checks with CUDA devices on a machine that has one.
"""
from __future__ import annotations

import copy
import threading
import warnings
from collections import namedtuple

import pytest

import edunn
from edunn import nn
from edunn.nn import parallel as P
from edunn.nn.parallel import comm
from edunn.nn.parallel._functions import Broadcast, Gather, ReduceAddCoalesced, Scatter
from opcheck import assert_close, needs_torch, torch

pytestmark = pytest.mark.lesson18

CPU2 = ["cpu", "cpu"]
Pair = namedtuple("Pair", ["first", "second"])


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _mlp(bn_eval: bool = True) -> nn.Module:
    edunn.manual_seed(1)
    m = nn.Sequential(nn.Linear(4, 8), nn.BatchNorm1d(8), nn.Tanh(), nn.Linear(8, 3)).double()
    with edunn.no_grad():  # non-trivial running statistics, so eval mode uses them
        m[1].running_mean.copy_(edunn.randn(8, dtype=edunn.float64) * 0.1)
        m[1].running_var.copy_(edunn.rand(8, dtype=edunn.float64) + 0.5)
    if bn_eval:
        m.eval()
    return m


def _torch_mlp(m: nn.Module):
    t = torch.nn.Sequential(torch.nn.Linear(4, 8), torch.nn.BatchNorm1d(8), torch.nn.Tanh(),
                            torch.nn.Linear(8, 3)).double()
    t.load_state_dict({k: torch.from_numpy(v.numpy().copy()) for k, v in m.state_dict().items()})
    t.train(m.training)
    return t


def _x(n: int = 5, f: int = 4, seed: int = 2) -> edunn.Tensor:
    edunn.manual_seed(seed)
    return edunn.randn(n, f, dtype=edunn.float64)


def _grads(m: nn.Module) -> list:
    return [p.grad.clone() for p in m.parameters()]


def _whole_batch(m: nn.Module, fn) -> tuple:
    """(output, parameter grads) of ``fn(m)`` with ``loss = (output ** 2).sum()``."""
    m.zero_grad()
    out = fn(m)
    (out ** 2).sum().backward()
    return out.detach(), _grads(m)


def _chunk_sizes(n: int, k: int) -> list:
    return [t.shape[0] for t in torch.empty(n).chunk(k)]


# ----------------------------------------------------------------------------------------------
# data_parallel on CPU devices equals the model on the whole batch, and PyTorch
# ----------------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("n,devices", [(5, 2), (6, 3), (1, 3), (3, 4), (4, 4)])
def test_data_parallel_equals_whole_batch_and_torch(n, devices):
    m = _mlp()
    x = _x(n).requires_grad_()
    ref_out, ref_grads = _whole_batch(m, lambda mod: mod(x))
    ref_gx = x.grad.clone()
    x.grad = None
    out, grads = _whole_batch(m, lambda mod: P.data_parallel(mod, x, device_ids=["cpu"] * devices))
    assert out.shape == (n, 3)
    assert_close(out, ref_out, atol=1e-12, what="output")
    assert_close(x.grad, ref_gx, atol=1e-12, what="input grad")
    for g, r in zip(grads, ref_grads):
        assert_close(g, r, atol=1e-12, what="param grad")
    # PyTorch on the whole batch, same weights
    t = _torch_mlp(m)
    tx = torch.from_numpy(x.detach().numpy().copy()).requires_grad_()
    tout = t(tx)
    (tout ** 2).sum().backward()
    assert_close(out, tout.detach().numpy(), atol=1e-10, what="torch output")
    assert_close(x.grad, tx.grad.numpy(), atol=1e-10, what="torch input grad")
    for g, tp in zip(grads, t.parameters()):
        assert_close(g, tp.grad.numpy(), atol=1e-10, what="torch param grad")


@needs_torch
def test_data_parallel_train_mode_batchnorm_uses_per_chunk_statistics():
    """Each replica normalises its own chunk; only replica 0 (sharing the module's buffers) keeps
    its running-statistics update -- PyTorch's documented behaviour."""
    m = _mlp(bn_eval=False)
    t = _torch_mlp(m)
    x = _x(5)
    out = P.data_parallel(m, x, device_ids=CPU2)
    tx = torch.from_numpy(x.numpy().copy())
    t_chunks = [copy.deepcopy(t)(c) for c in tx.chunk(2)]
    assert_close(out.detach(), torch.cat(t_chunks).detach().numpy(), atol=1e-10, what="per-chunk output")
    t(tx[:3])  # the running statistics of the first chunk only
    assert_close(m[1].running_mean, t[1].running_mean.numpy(), atol=1e-12, what="running_mean")
    assert_close(m[1].running_var, t[1].running_var.numpy(), atol=1e-12, what="running_var")
    assert m[1].num_batches_tracked.item() == 1


def test_data_parallel_dim1_with_lstm_tuple_outputs():
    """Split along dim 1 (time-major batches); outputs ``(out, (h, c))`` gathered along dim 1."""
    edunn.manual_seed(3)
    lstm = nn.LSTM(3, 4, num_layers=2).double()
    x = edunn.randn(6, 5, 3, dtype=edunn.float64)  # (T, B, F): batch is dim 1
    lstm.zero_grad()
    out, (h, c) = lstm(x)
    (out.sum() + (h ** 2).sum() + c.sum()).backward()
    ref = [out.detach(), h.detach(), c.detach()], _grads(lstm)
    lstm.zero_grad()
    out2, (h2, c2) = P.data_parallel(lstm, x, device_ids=CPU2, dim=1)
    (out2.sum() + (h2 ** 2).sum() + c2.sum()).backward()
    for a, b in zip([out2, h2, c2], ref[0]):
        assert_close(a.detach(), b, atol=1e-12)
    for g, r in zip(_grads(lstm), ref[1]):
        assert_close(g, r, atol=1e-12)


class _DictModel(nn.Module):
    """forward(batch: dict with a tuple inside, *, scale, mask) -> dict of outputs."""

    def __init__(self):
        super().__init__()
        self.lin = nn.Linear(4, 2).double()
        self.calls = []

    def forward(self, batch, tag, scale=1.0, mask=None):
        self.calls.append((tag, threading.get_ident()))
        a, (b, label) = batch["a"], batch["pair"]
        y = self.lin(a) * scale + b
        if mask is not None:
            y = y * mask
        assert label == "label"
        return {"y": y, "none": None, "parts": Pair(y.sum(1), a[:, :1])}


def test_manual_pipeline_with_dict_tuple_inputs_and_kwargs():
    model = _DictModel()
    edunn.manual_seed(4)
    a = edunn.randn(5, 4, dtype=edunn.float64, requires_grad=True)
    b = edunn.randn(5, 2, dtype=edunn.float64)
    mask = (edunn.rand(5, 1) > 0.3).double()
    batch = {"a": a, "pair": (b, "label")}

    def loss(o):
        return (o["y"] ** 2).sum() + o["parts"].first.sum() * 3 + (o["parts"].second ** 3).sum()

    ref = model(batch, "whole", scale=2.0, mask=mask)
    loss(ref).backward()
    ref_w, ref_b, ref_ga = model.lin.weight.grad.clone(), model.lin.bias.grad.clone(), a.grad.clone()
    model.zero_grad()
    a.grad = None
    model.calls.clear()

    devices = CPU2
    inputs, kwargs = P.scatter_kwargs((batch, "tag"), {"scale": 2.0, "mask": mask}, devices)
    assert len(inputs) == len(kwargs) == 2
    assert [i[0]["a"].shape[0] for i in inputs] == [3, 2]
    assert inputs[1][0]["pair"][1] == "label" and inputs[1][1] == "tag"
    assert kwargs[1]["scale"] == 2.0 and kwargs[1]["mask"].shape == (2, 1)
    replicas = P.replicate(model, devices)
    outputs = P.parallel_apply(replicas, inputs, kwargs, devices)
    out = P.gather(outputs, "cpu")
    assert out["none"] is None and isinstance(out["parts"], Pair)
    assert_close(out["y"].detach(), ref["y"].detach(), atol=1e-12)
    assert_close(out["parts"].second.detach(), a[:, :1].detach(), atol=0)
    loss(out).backward()
    assert_close(model.lin.weight.grad, ref_w, atol=1e-12)
    assert_close(model.lin.bias.grad, ref_b, atol=1e-12)
    assert_close(a.grad, ref_ga, atol=1e-12)
    # both replicas ran, each in its own thread (not the caller's); replicas share `calls`
    assert len(model.calls) == 2
    assert threading.get_ident() not in {t for _, t in model.calls}


def test_data_parallel_module_kwargs_and_no_inputs():
    model = _DictModel()
    a = _x(4)
    b = _x(4, 2, seed=5)
    out = P.data_parallel(model, ({"a": a, "pair": (b, "label")}, "t"), device_ids=CPU2,
                          module_kwargs={"scale": 0.5})
    assert_close(out["y"].detach(), (model.lin(a) * 0.5 + b).detach(), atol=1e-12)

    class NoInput(nn.Module):
        def __init__(self):
            super().__init__()
            self.w = nn.Parameter(edunn.ones(3))

        def forward(self):
            return self.w * 2

    # nothing to scatter: the module runs once, on the first device
    assert_close(P.data_parallel(NoInput(), None, device_ids=CPU2), [2.0, 2.0, 2.0])


def test_scalar_outputs_are_gathered_into_a_vector_with_torchs_warning():
    m = _mlp()
    x = _x(6)

    class Loss(nn.Module):
        def __init__(self, inner):
            super().__init__()
            self.inner = inner

        def forward(self, x):
            return self.inner(x).pow(2).sum()

    with pytest.warns(UserWarning, match="Was asked to gather along dimension 0, but all input "
                                         "tensors were scalars; will instead unsqueeze and return a vector."):
        out = P.data_parallel(Loss(m), x, device_ids=["cpu"] * 3)
    assert out.shape == (3,)
    m.zero_grad()
    out.sum().backward()
    got = _grads(m)
    _, ref = _whole_batch(m, lambda mod: mod(x))
    for g, r in zip(got, ref):
        assert_close(g, r, atol=1e-12)


def test_hooks_run_once_per_replica_and_names_are_exported():
    m = _mlp()
    seen = []
    m[0].register_forward_hook(lambda mod, inp, out: seen.append(inp[0].shape[0]))
    P.data_parallel(m, _x(5), device_ids=["cpu"] * 3)
    assert sorted(seen) == [1, 2, 2]  # 5 over 3 devices: chunks of 2, 2, 1
    assert edunn.nn.parallel is P and nn.DataParallel is P.DataParallel
    for name in ("replicate", "scatter", "parallel_apply", "gather", "data_parallel", "DataParallel",
                 "scatter_kwargs", "get_a_var", "comm"):
        assert hasattr(P, name), name


# ----------------------------------------------------------------------------------------------
# the autograd Functions: gradients summed through Broadcast, gradcheck and double backward
# ----------------------------------------------------------------------------------------------
def test_broadcast_backward_sums_the_gradients_of_the_copies():
    w = edunn.tensor([1.0, 2.0, 3.0], dtype=edunn.float64, requires_grad=True)
    v = edunn.tensor([[1.0]], dtype=edunn.float64)  # needs no grad: its copies are not differentiable
    w0, v0, w1, v1, w2, v2 = Broadcast.apply(["cpu"] * 3, w, v)
    assert w0._data is w._data and w1._data is not w._data and w2._data is not w1._data
    assert w0.requires_grad and not v0.requires_grad and not v2.requires_grad
    (w0 * 1 + w1 * 10 + w2 * 100).sum().backward()
    assert_close(w.grad, [111.0, 111.0, 111.0], atol=0)


def test_functions_pass_gradcheck_and_gradgradcheck():
    edunn.manual_seed(5)
    x = edunn.randn(5, 3, dtype=edunn.float64, requires_grad=True)
    w = edunn.randn(3, 2, dtype=edunn.float64, requires_grad=True)

    def fn(x, w):
        chunks = Scatter.apply(CPU2, None, 0, x)
        copies = Broadcast.apply(CPU2, w)
        outs = [c.matmul(wc) for c, wc in zip(chunks, copies)]
        return Gather.apply("cpu", 0, *outs)

    assert edunn.autograd.gradcheck(fn, (x, w))
    assert edunn.autograd.gradgradcheck(fn, (x, w))

    def reduce(a, b):
        return ReduceAddCoalesced.apply("cpu", 1, a, b)[0]

    assert edunn.autograd.gradcheck(reduce, (x, x.detach().clone().requires_grad_()))


def test_gather_backward_scatters_with_the_input_sizes():
    a = edunn.ones(3, 2, dtype=edunn.float64, requires_grad=True)
    b = edunn.ones(1, 2, dtype=edunn.float64, requires_grad=True)
    out = Gather.apply("cpu", 0, a, b)
    (out * edunn.arange(8, dtype=edunn.float64).reshape(4, 2)).sum().backward()
    assert_close(a.grad, [[0, 1], [2, 3], [4, 5]], atol=0)
    assert_close(b.grad, [[6, 7]], atol=0)


# ----------------------------------------------------------------------------------------------
# replicate
# ----------------------------------------------------------------------------------------------
def test_replicate_structure_sharing_and_buffers():
    lin = nn.Linear(3, 3, bias=False).double()
    m = nn.Sequential(lin, nn.BatchNorm1d(3), lin).double()  # a shared submodule
    reps = P.replicate(m, ["cpu"] * 3)
    assert len(reps) == 3
    for r in reps:
        assert type(r) is nn.Sequential and r is not m
        assert r[0] is r[2] and r[0] is not lin  # sharing preserved inside each replica
        assert r[0].bias is None
        assert list(r.parameters()) == []  # replicas own no parameters, as in PyTorch
        assert not r[0].weight.is_leaf and r[0].weight.grad_fn.name() == "BroadcastBackward"
        assert r._is_replica
        assert_close(r[0].weight.detach(), lin.weight.detach(), atol=0)
        assert_close(r[1].running_var, m[1].running_var, atol=0)
    # replica 0 shares memory with the module (in-place updates are kept), the others copy
    assert reps[0][0].weight._data is lin.weight._data
    assert reps[1][0].weight._data is not lin.weight._data
    assert reps[0][1].running_mean is m[1].running_mean
    assert reps[1][1].running_mean is not m[1].running_mean
    assert reps[1][1].running_mean._data is not m[1].running_mean._data


def test_replicate_detach_copies_without_a_graph():
    m = _mlp()
    reps = P.replicate(m, CPU2, detach=True)
    # replica 0 holds the module's own parameters (PyTorch: the originals); others plain copies
    assert reps[0][0].weight is m[0].weight
    assert isinstance(reps[1][0].weight, edunn.Tensor) and not reps[1][0].weight.requires_grad
    assert reps[1][0].weight.grad_fn is None
    with edunn.no_grad():
        y = reps[1](_x(3))
    assert_close(y, m(_x(3)).detach(), atol=1e-12)


def test_replicate_frozen_parameters_are_not_differentiable():
    m = _mlp()
    m[0].weight.requires_grad_(False)
    reps = P.replicate(m, CPU2)
    assert not reps[1][0].weight.requires_grad and reps[1][0].bias.requires_grad
    out = P.gather(P.parallel_apply(reps, P.scatter(_x(4), CPU2)), "cpu")
    out.sum().backward()
    assert m[0].weight.grad is None and m[0].bias.grad is not None


def test_replicate_errors():
    with pytest.raises(TypeError, match="expected an nn.Module"):
        P.replicate("not a module", CPU2)
    assert P.replicate(_mlp(), []) == []
    with pytest.raises(RuntimeError, match="Modules with uninitialized parameters can't be used "
                                           "with `DataParallel`"):
        P.replicate(nn.LazyLinear(3), CPU2)


# ----------------------------------------------------------------------------------------------
# scatter / gather: splitting as torch.chunk, structures as torch's own scatter_gather code
# ----------------------------------------------------------------------------------------------
@needs_torch
@pytest.mark.parametrize("n,k", [(5, 2), (1, 2), (3, 4), (5, 4), (8, 3), (7, 7), (0, 2), (9, 1)])
def test_scatter_chunk_sizes_match_torch_chunk(n, k):
    x = edunn.arange(n * 2, dtype=edunn.float64).reshape(n, 2)
    pieces = P.scatter(x, ["cpu"] * k)
    assert isinstance(pieces, tuple)
    assert [p.shape[0] for p in pieces] == _chunk_sizes(n, k)
    tx = torch.arange(n * 2, dtype=torch.float64).reshape(n, 2)
    for p, tp in zip(pieces, tx.chunk(k)):
        assert_close(p, tp.numpy(), atol=0)
    # a chunk that stays on its device is a view, no copy
    if n:
        assert pieces[0]._data.base is not None


def _fake_torch_parallel(monkeypatch):
    """torch's scatter_gather with its CUDA-only Functions replaced by chunk and cat."""
    import torch.nn.parallel.scatter_gather as sg

    class FakeScatter:
        @staticmethod
        def apply(target_gpus, chunk_sizes, dim, t):
            return t.chunk(len(target_gpus), dim)

    class FakeGather:
        @staticmethod
        def apply(target_device, dim, *ts):
            if all(t.dim() == 0 for t in ts) and dim == 0:
                ts = tuple(t.view(1) for t in ts)
            return torch.cat(ts, dim)

    monkeypatch.setattr(sg, "Scatter", FakeScatter)
    monkeypatch.setattr(sg, "Gather", FakeGather)
    return sg


def _plain(obj):
    """A comparable picture of a nested structure: tensors as (shape, values)."""
    if isinstance(obj, edunn.Tensor):
        return ("T", tuple(obj.shape), obj.detach().numpy().round(12).tolist())
    if torch is not None and isinstance(obj, torch.Tensor):
        return ("T", tuple(obj.shape), obj.detach().numpy().round(12).tolist())
    if isinstance(obj, dict):
        return (type(obj).__name__, [(k, _plain(v)) for k, v in obj.items()])
    if isinstance(obj, (list, tuple)):
        return (type(obj).__name__, [_plain(v) for v in obj])
    return obj


def _both(make):
    """The same structure built from edunn and from torch tensors (values from one array)."""
    return make(lambda a: edunn.tensor(a, dtype=edunn.float64)), make(lambda a: torch.tensor(a, dtype=torch.float64))


def _structures():
    def row(n, off=0.0):
        return [[off + i + 0.5 * j for j in range(2)] for i in range(n)]
    return {
        "tensor": lambda T: T(row(5)),
        "tuple": lambda T: (T(row(5)), "s", 3, None),
        "list": lambda T: [T(row(4)), [T(row(4, 9.0)), 7]],
        "dict": lambda T: {"x": T(row(3)), "meta": {"k": "v"}, "y": (T(row(3)), T(row(3, 1.0)))},
        "namedtuple": lambda T: Pair(T(row(5)), "label"),
        "short_batch": lambda T: (T(row(1)),),
        "uneven_fields": lambda T: (T(row(5)), T(row(2))),  # zip cuts at the shortest
        "empty": lambda T: (),
        "object": lambda T: "just a string",
    }


@needs_torch
@pytest.mark.parametrize("name", list(_structures()))
@pytest.mark.parametrize("k", [2, 3])
def test_scatter_structures_match_torchs_code(monkeypatch, name, k):
    sg = _fake_torch_parallel(monkeypatch)
    ours_in, theirs_in = _both(_structures()[name])
    ours = P.scatter(ours_in, ["cpu"] * k)
    theirs = sg.scatter(theirs_in, [0] * k)
    assert _plain(ours) == _plain(theirs)


@needs_torch
@pytest.mark.parametrize("k", [2, 3])
@pytest.mark.parametrize("kwargs_name", [None, "dict", "short"])
@pytest.mark.parametrize("inputs_name", ["tuple", "empty", "short_batch", "uneven_fields"])
def test_scatter_kwargs_matches_torchs_code(monkeypatch, inputs_name, kwargs_name, k):
    sg = _fake_torch_parallel(monkeypatch)
    s = _structures()
    kw = {None: lambda T: None, "dict": s["dict"],
          "short": lambda T: {"m": T([[1.0, 2.0]])}}[kwargs_name]
    ours_in, theirs_in = _both(s[inputs_name])
    ours_kw, theirs_kw = _both(kw)
    ours = P.scatter_kwargs(ours_in, ours_kw, ["cpu"] * k)
    theirs = sg.scatter_kwargs(theirs_in, theirs_kw, [0] * k)
    assert _plain(ours) == _plain(theirs)


@needs_torch
def test_gather_structures_match_torchs_code(monkeypatch):
    sg = _fake_torch_parallel(monkeypatch)

    def outputs(T):
        return [
            {"y": T([[float(i), 1.0]] * (i + 1)), "n": None, "p": Pair(T([float(i)]), [T([[i * 2.0]])]),
             "loss": T(float(i))}
            for i in range(3)
        ]
    ours_out, theirs_out = _both(outputs)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", UserWarning)  # the scalar "loss" is unsqueezed
        ours = P.gather(ours_out, "cpu")
    theirs = sg.gather(theirs_out, 0)
    assert _plain(ours) == _plain(theirs)
    ours_1, theirs_1 = _both(lambda T: [T([[1.0], [2.0]]), T([[3.0], [4.0]])])
    assert _plain(P.gather(ours_1, "cpu", dim=1)) == _plain(sg.gather(theirs_1, 0, dim=1))
    with pytest.raises(ValueError, match="All dicts must have the same number of keys"):
        P.gather([{"a": ours_1[0]}, {"a": ours_1[1], "b": ours_1[1]}], "cpu")


# ----------------------------------------------------------------------------------------------
# parallel_apply
# ----------------------------------------------------------------------------------------------
class _Boom(nn.Module):
    def __init__(self, exc=None):
        super().__init__()
        self.exc = exc

    def forward(self, x):
        if self.exc is not None:
            raise self.exc
        return x * 2


def test_parallel_apply_reraises_naming_the_replica_and_device():
    x = _x(2)
    with pytest.raises(ValueError) as info:
        P.parallel_apply([_Boom(), _Boom(ValueError("bad shape"))], [x, x], None, CPU2)
    msg = str(info.value)
    assert msg.startswith("Caught ValueError in replica 1 on device cpu.\nOriginal Traceback (most recent call last):")
    assert "ValueError: bad shape" in msg
    with pytest.raises(KeyError) as info:
        P.parallel_apply([_Boom(KeyError("k")), _Boom()], [x, x])
    assert "Caught KeyError in replica 0 on device cpu." in str(info.value)


def test_parallel_apply_arguments_and_grad_mode():
    x = _x(2, 3).requires_grad_()
    mods = [_Boom(), _Boom()]
    # a lone tensor is one argument; a tuple is the positional arguments; devices inferred
    outs = P.parallel_apply(mods, [x, (x,)])
    assert_close(outs[0].detach(), (x * 2).detach(), atol=0) and outs[1].requires_grad
    with edunn.no_grad():
        outs = P.parallel_apply(mods, [x, x], devices=CPU2)
    assert not outs[0].requires_grad and not outs[1].requires_grad
    assert P.get_a_var([1, {"k": x}]) is x
    assert P.get_a_var((1, [2, x])) is x and P.get_a_var("no") is None
    with pytest.raises(AssertionError, match="The number of modules 2 is not equal to the number of inputs 1"):
        P.parallel_apply(mods, [x])
    with pytest.raises(AssertionError, match="The number of modules 2 is not equal to the number of kwargs_tup 3"):
        P.parallel_apply(mods, [x, x], [{}, {}, {}])
    with pytest.raises(AssertionError, match="The number of modules 2 is not equal to the number of devices 1"):
        P.parallel_apply(mods, [x, x], None, ["cpu"])
    with pytest.raises(RuntimeError, match="in replica 1, no device was provided and no tensor input "
                                           "was found; device cannot be resolved"):
        P.parallel_apply(mods, [x, "text"])


# ----------------------------------------------------------------------------------------------
# comm
# ----------------------------------------------------------------------------------------------
def test_comm_broadcast_and_coalesced():
    t = _x(2, 3)
    outs = comm.broadcast(t, ["cpu", "cpu", edunn.device("cpu")])
    assert outs[0] is t and outs[1]._data is not t._data and outs[2]._data is not outs[1]._data
    for o in outs:
        assert_close(o, t, atol=0)
    out_tensors = [edunn.zeros(2, 3, dtype=edunn.float64) for _ in range(2)]
    res = comm.broadcast(t, out=out_tensors)
    assert res[0] is out_tensors[0] and all((o == t).all().item() for o in out_tensors)
    with pytest.raises(RuntimeError, match="Exactly one of 'devices' and 'out' must be specified"):
        comm.broadcast(t)
    with pytest.raises(RuntimeError, match="Expected all output tensors to have same shape as the "
                                           r"source tensor \[2, 3\], but output tensor at index 0 has shape \[3\]"):
        comm.broadcast(t, out=[edunn.zeros(3)])
    # mixed dtypes and a tiny buffer: several buckets, the order kept
    ts = [edunn.arange(4, dtype=edunn.float32), edunn.arange(3, dtype=edunn.int64).reshape(3, 1),
          edunn.ones(2, 2, dtype=edunn.float64), edunn.arange(5, dtype=edunn.float32)]
    for size in (8, 10485760):
        rows = comm.broadcast_coalesced(ts, CPU2 + ["cpu"], buffer_size=size)
        assert rows[0] == ts
        for row in rows[1:]:
            for a, b in zip(row, ts):
                assert a.dtype == b.dtype and a.shape == b.shape and a._data is not b._data
                assert_close(a, b, atol=0)
        assert rows[1][0]._data.base is not rows[2][0]._data.base or rows[1][0]._data.base is None


def test_comm_reduce_add():
    a, b, c = _x(2, 3), _x(2, 3, seed=7), _x(2, 3, seed=8)
    assert_close(comm.reduce_add([a, b, c], "cpu"), a + b + c, atol=1e-15)
    assert comm.reduce_add([a], "cpu") is a
    with pytest.raises(ValueError, match="input 1 has invalid size: got 3x2, but expected 2x3"):
        comm.reduce_add([a, a.t()], "cpu")
    rows = comm.reduce_add_coalesced([[a, b.float()], [c, b.float()]], "cpu", buffer_size=1)
    assert_close(rows[0], a + c, atol=1e-15)
    assert rows[1].dtype == edunn.float32 and (rows[1] == 2 * b.float()).all().item()


def test_comm_scatter_and_gather():
    x = edunn.arange(10, dtype=edunn.float64).reshape(5, 2)
    pieces = comm.scatter(x, CPU2 + ["cpu"], chunk_sizes=[1, 0, 4])
    assert [p.shape[0] for p in pieces] == [1, 0, 4]
    assert_close(comm.gather(pieces, 0, "cpu"), x, atol=0)
    assert_close(comm.gather(comm.scatter(x, CPU2, dim=1), dim=-1, destination="cpu"), x, atol=0)
    with pytest.warns(FutureWarning, match="Using -1 to represent CPU tensor is deprecated"):
        assert comm.gather(pieces, 0, -1).device == edunn.device("cpu")
    out = [edunn.zeros(2, 2, dtype=edunn.float64), edunn.zeros(3, 2, dtype=edunn.float64)]
    comm.scatter(x, out=out)
    assert_close(out[1], x[2:], atol=0)
    dest = edunn.zeros(5, 2, dtype=edunn.float64)
    assert comm.gather(out, out=dest) is dest and (dest == x).all().item()
    with pytest.raises(RuntimeError, match="Expected devices and chunk_sizes to be of same length, "
                                           "but got len\\(chunk_sizes\\) == 3 and len\\(devices\\) == 2"):
        comm.scatter(x, CPU2, chunk_sizes=[1, 1, 3])
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 5"):
        comm.scatter(x, CPU2, chunk_sizes=[1, 1])
    with pytest.raises(RuntimeError, match="Expected at least one device to scatter to"):
        comm.scatter(x, [])
    with pytest.raises(RuntimeError, match="chunk expects at least a 1-dimensional tensor"):
        comm.scatter(edunn.tensor(1.0), CPU2)
    with pytest.raises(RuntimeError, match="'devices' must not be specified when 'out' is specified"):
        comm.scatter(x, CPU2, out=out)
    with pytest.raises(RuntimeError, match="Expected at least one tensor to gather from"):
        comm.gather([], 0, "cpu")
    with pytest.raises(RuntimeError, match=r"Input tensor at index 1 has invalid shape \[2, 3\], but "
                                           r"expected \[2, 2\]"):
        comm.gather([x, edunn.zeros(2, 3, dtype=edunn.float64)], 0, "cpu")
    with pytest.raises(RuntimeError, match="Expected all input tensors to have the same number of "
                                           "dimensions, but tensor at index 1 has 1 dimensions"):
        comm.gather([x, edunn.zeros(2, dtype=edunn.float64)], 0, "cpu")
    with pytest.raises(RuntimeError, match="'destination' must not be specified when 'out' is specified"):
        comm.gather(out, destination="cpu", out=dest)


# ----------------------------------------------------------------------------------------------
# DataParallel (PyTorch's behaviour) and the functional form's errors
# ----------------------------------------------------------------------------------------------
no_cuda = pytest.mark.skipif(edunn.cuda.is_available(), reason="DataParallel without CUDA only")


@no_cuda
@needs_torch
def test_DataParallel_without_cuda_is_a_transparent_wrapper():
    m = _mlp()
    dp = nn.DataParallel(m, device_ids=[0, 1], output_device=1)
    assert dp.module is m and dp.device_ids == []
    tdp = torch.nn.DataParallel(_torch_mlp(m), device_ids=[0, 1], output_device=1)
    assert tdp.device_ids == []  # torch without CUDA behaves the same
    assert list(dp.state_dict()) == list(tdp.state_dict())
    assert all(k.startswith("module.") for k in dp.state_dict())
    x = _x(5).requires_grad_()
    out, grads = _whole_batch(m, lambda mod: dp(x))
    ref, ref_grads = _whole_batch(m, lambda mod: mod(x))
    assert_close(out, ref, atol=0)
    for g, r in zip(grads, ref_grads):
        assert_close(g, r, atol=0)
    tx = torch.from_numpy(x.detach().numpy().copy())
    assert_close(out, tdp(tx).detach().numpy(), atol=1e-10)
    # state dicts round-trip through the wrapper, as in PyTorch
    m2 = _mlp()
    with edunn.no_grad():
        for p in m2.parameters():
            p.add_(1.0)
    dp2 = nn.DataParallel(m2)
    dp2.load_state_dict(dp.state_dict())
    assert_close(m2[0].weight, m[0].weight, atol=0)
    assert "DataParallel(\n  (module): Sequential(" in repr(dp)
    assert isinstance(edunn.nn.parallel.DataParallel(m), nn.Module)


@no_cuda
def test_functional_forms_without_cuda_name_what_is_missing():
    m, x = _mlp(), _x(4)
    with pytest.raises(RuntimeError, match="device type could not be determined"):
        P.data_parallel(m, x)
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        P.data_parallel(m, x, device_ids=[0, 1])
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        P.replicate(m, ["cuda:0", "cuda:1"])
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        comm.broadcast(x, ["cpu", "cuda"])


def test_device_ids_forms():
    with pytest.raises(ValueError, match="Expected a non cpu device, but got: cpu"):
        comm._get_device_index("cpu")
    assert comm._get_device_index("cpu", allow_cpu=True) == -1
    assert comm._get_device_index(edunn.device("cuda", 1)) == 1
    assert comm._get_device_index("cuda:2") == 2 and comm._get_device_index(3) == 3
    with pytest.raises(ValueError, match="Expected a torch.device with a specified index or an integer"):
        comm._get_device_index(None)
    with pytest.raises(TypeError, match="Expected a device"):
        comm._get_device_index(1.5)


# ----------------------------------------------------------------------------------------------
# on each device (CUDA tests run on a machine with a GPU)
# ----------------------------------------------------------------------------------------------
def _devices_for(device: str, k: int = 2) -> list:
    return [device if device == "cpu" else "cuda:0"] * k


def test_data_parallel_on_device_matches_cpu_whole_batch(device):
    m = _mlp()
    x = _x(5).requires_grad_()
    ref_out, ref_grads = _whole_batch(m, lambda mod: mod(x))
    ref_gx = x.grad.clone()
    x.grad = None
    md = copy.deepcopy(m).to(device)
    # the input stays on the CPU: Scatter moves each chunk to its device, Gather brings the
    # output back to output_device="cpu", and backward returns the input's gradient to the CPU
    out, grads = _whole_batch(md, lambda mod: P.data_parallel(mod, x, _devices_for(device), "cpu"))
    assert out.device == edunn.device("cpu")
    assert_close(out, ref_out, atol=1e-10)
    assert_close(x.grad, ref_gx, atol=1e-10)
    for g, r, p in zip(grads, ref_grads, md.parameters()):
        assert g.device == p.device
        assert_close(g.cpu(), r, atol=1e-10)


def test_comm_on_device(device):
    dev = _devices_for(device, 1)[0]
    t = _x(4, 3).to(dev)
    copies = comm.broadcast(t, [dev, dev, "cpu"])
    assert copies[0] is t and copies[1].device == t.device and copies[2].device == edunn.device("cpu")
    s = comm.reduce_add(copies[:2], dev)
    assert s.device == t.device
    assert_close(s.cpu(), 2 * t.cpu(), atol=0)
    pieces = comm.scatter(t, [dev, "cpu"])
    assert pieces[0].device == t.device and pieces[1].device == edunn.device("cpu")
    back = comm.gather(pieces, 0, dev)
    assert back.device == t.device and (back.cpu() == t.cpu()).all().item()


@pytest.mark.gpu
@needs_torch
def test_DataParallel_on_one_gpu():
    m = _mlp()
    t = _torch_mlp(m)
    for ids in ([0], ["cuda:0"], [edunn.device("cuda", 0)]):
        mc = copy.deepcopy(m)
        dp = nn.DataParallel(mc, device_ids=ids)
        assert dp.device_ids == [0] and dp.output_device == 0
        assert mc[0].weight.device == edunn.device("cuda", 0)  # moved to device_ids[0]
        assert list(dp.state_dict()) == ["module." + k for k in m.state_dict()]
        x = _x(5).requires_grad_()
        out = dp(x)  # a CPU input is moved to the device; one device: no gather
        assert out.device == edunn.device("cuda", 0)
        (out ** 2).sum().backward()
        tx = torch.from_numpy(x.detach().numpy().copy()).requires_grad_()
        t.zero_grad()
        tout = t(tx)
        (tout ** 2).sum().backward()
        assert_close(out.detach().cpu(), tout.detach().numpy(), atol=1e-10)
        assert x.grad.device == edunn.device("cpu")
        assert_close(x.grad, tx.grad.numpy(), atol=1e-10)
        for p, tp in zip(mc.parameters(), t.parameters()):
            assert p.grad.device == edunn.device("cuda", 0)
            assert_close(p.grad.cpu(), tp.grad.numpy(), atol=1e-10)


@pytest.mark.gpu
def test_DataParallel_gpu_errors_word_as_torch():
    m = _mlp()
    dp = nn.DataParallel(m, device_ids=[0, 0])  # two replicas on one GPU; the module stays on the CPU
    with pytest.raises(RuntimeError, match=r"module must have its parameters and buffers on device "
                                           r"cuda:0 \(device_ids\[0\]\) but found one of them on device: cpu"):
        dp(_x(4))
    with pytest.raises(ValueError, match="Expected a non cpu device, but got: cpu"):
        nn.DataParallel(m, device_ids=["cpu"])
    with pytest.raises(RuntimeError, match="module must have its parameters and buffers on device cuda:0"):
        P.data_parallel(m, _x(4), device_ids=[0])


@pytest.mark.gpu
def test_DataParallel_two_replicas_on_one_gpu_sum_gradients():
    m = _mlp()
    x = _x(7)
    ref_out, ref_grads = _whole_batch(m, lambda mod: mod(x))
    mc = copy.deepcopy(m).cuda()
    dp = nn.DataParallel(mc, device_ids=[0, 0], output_device="cuda:0")
    out, grads = _whole_batch(mc, lambda mod: dp(x.cuda()))
    assert out.device == edunn.device("cuda", 0)
    assert_close(out.cpu(), ref_out, atol=1e-10)
    for g, r in zip(grads, ref_grads):
        assert_close(g.cpu(), r, atol=1e-10)


# ----------------------------------------------------------------------------------------------
# PyTorch's signatures
# ----------------------------------------------------------------------------------------------
def _parallel_pairs() -> list:
    if torch is None:
        return []
    import torch.nn.parallel as TP
    import torch.nn.parallel.comm as TC
    import torch.nn.parallel.scatter_gather as TSG
    pairs = [(f"parallel.{n}", getattr(P, n), getattr(TP, n)) for n in
             ("data_parallel", "replicate", "scatter", "gather", "parallel_apply")]
    pairs.append(("parallel.scatter_kwargs", P.scatter_kwargs, TSG.scatter_kwargs))
    pairs += [(f"comm.{n}", getattr(comm, n), getattr(TC, n)) for n in
              ("broadcast", "broadcast_coalesced", "reduce_add", "reduce_add_coalesced", "scatter", "gather")]
    pairs += [(f"DataParallel.{n}", getattr(nn.DataParallel, n), getattr(torch.nn.DataParallel, n))
              for n in ("__init__", "forward", "replicate", "scatter", "parallel_apply", "gather")]
    return pairs


@needs_torch
@pytest.mark.parametrize("key,ours,theirs", _parallel_pairs(), ids=[p[0] for p in _parallel_pairs()])
def test_signatures_match_torch(key, ours, theirs):
    from test_signatures import mismatches, torch_signatures
    overloads = torch_signatures(key, theirs, key.rsplit(".", 1)[-1])
    assert overloads
    assert mismatches(ours, overloads) == [], key
