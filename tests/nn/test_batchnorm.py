"""Batch normalization (lesson 11): BatchNorm1d/2d/3d, the lazy forms and SyncBatchNorm against
PyTorch CPU -- forward, input and parameter gradients with copied weights, running statistics
and num_batches_tracked after several steps, eval output, state_dict keys and loading a torch
checkpoint, gradcheck/gradgradcheck in float64, errors and reprs."""
import collections
import sys

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.lesson11

SHAPES = {"1d2": (6, 3), "1d3": (4, 3, 5), "2d": (3, 3, 4, 2), "3d": (2, 3, 3, 2, 2)}
CLASSES = {"1d2": "BatchNorm1d", "1d3": "BatchNorm1d", "2d": "BatchNorm2d", "3d": "BatchNorm3d"}


def twins(cls_name, *args, **kwargs):
    """The same layer in edunn and torch, with random affine parameters copied into both."""
    e, t = getattr(nn, cls_name)(*args, **kwargs), getattr(torch.nn, cls_name)(*args, **kwargs)
    rng = np.random.default_rng(7)
    for name, p in t.named_parameters():
        value = rng.uniform(0.5, 1.5, tuple(p.shape)).astype(np.float32)
        with torch.no_grad():
            p.copy_(torch.tensor(value))
        with edunn.no_grad():
            getattr(e, name).copy_(edunn.tensor(value))
    return e, t


def step(e, t, x, seed=1, atol=1e-5):
    """One forward/backward through both layers: output, input gradient and parameter gradients."""
    a, b = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = e(a), t(b)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), atol=atol, rtol=1e-4)
    g = np.random.default_rng(seed).standard_normal(tuple(yb.shape)).astype(np.float32)
    ya.backward(edunn.tensor(g))
    yb.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, rtol=1e-4)
    for name, p in t.named_parameters():
        np.testing.assert_allclose(getattr(e, name).grad.numpy(), p.grad.numpy(), atol=atol, rtol=1e-4,
                                   err_msg=name)
        getattr(e, name).grad = None
        p.grad = None


def same_buffers(e, t):
    for name, buf in t.named_buffers():
        mine = getattr(e, name)
        if buf.dtype == torch.int64:
            assert mine.dtype == edunn.int64
            assert mine.item() == buf.item(), name
        else:
            np.testing.assert_allclose(mine.numpy(), buf.numpy(), atol=1e-6, rtol=1e-5, err_msg=name)


CONFIGS = [
    dict(),
    dict(affine=False),
    dict(bias=False),
    dict(momentum=None),
    dict(momentum=0.3, eps=1e-3),
    dict(track_running_stats=False),
    dict(affine=False, track_running_stats=False),
]


@pytest.mark.parametrize("cfg", CONFIGS, ids=str)
@pytest.mark.parametrize("kind", list(SHAPES))
def test_batchnorm_train_then_eval(kind, cfg):
    e, t = twins(CLASSES[kind], 3, **cfg)
    rng = np.random.default_rng(0)
    for i in range(3):  # several training steps: the running statistics follow torch's
        x = (rng.standard_normal(SHAPES[kind]) * (i + 1) + i).astype(np.float32)
        step(e, t, x, seed=i)
        same_buffers(e, t)
    e.eval(), t.eval()
    x = rng.standard_normal(SHAPES[kind]).astype(np.float32)
    step(e, t, x)
    same_buffers(e, t)  # eval does not move them


def test_momentum_none_is_the_cumulative_average():
    e = nn.BatchNorm1d(2, momentum=None)
    batches = [edunn.randn(5, 2) * (i + 1) + i for i in range(4)]
    for x in batches:
        e(x)
    means = np.stack([x.numpy().mean(0) for x in batches])
    np.testing.assert_allclose(e.running_mean.numpy(), means.mean(0), rtol=1e-5, atol=1e-6)
    variances = np.stack([x.numpy().var(0, ddof=1) for x in batches])
    # the first update has factor 1/1: the initial 1 is replaced, then a plain average
    np.testing.assert_allclose(e.running_var.numpy(), variances.mean(0), rtol=1e-5)
    assert e.num_batches_tracked.item() == 4


def test_train_without_tracking_uses_batch_stats_in_eval():
    e, t = twins("BatchNorm2d", 3, track_running_stats=False)
    assert e.running_mean is None and e.num_batches_tracked is None
    e.eval(), t.eval()
    step(e, t, np.random.default_rng(2).standard_normal((2, 3, 3, 3)).astype(np.float32))


def test_eval_mode_gradients_with_running_stats():
    e, t = twins("BatchNorm1d", 4)
    with edunn.no_grad():
        e.running_mean.copy_(edunn.tensor([0.5, -1.0, 2.0, 0.0]))
        e.running_var.copy_(edunn.tensor([1.5, 0.2, 3.0, 1.0]))
    t.running_mean.copy_(torch.tensor([0.5, -1.0, 2.0, 0.0]))
    t.running_var.copy_(torch.tensor([1.5, 0.2, 3.0, 1.0]))
    e.eval(), t.eval()
    step(e, t, np.random.default_rng(3).standard_normal((5, 4, 3)).astype(np.float32))


def test_functional_batch_norm_updates_running_stats_in_place():
    x = np.random.default_rng(4).standard_normal((8, 3, 4)).astype(np.float32)
    rm, rv = edunn.zeros(3), edunn.ones(3)
    trm, trv = torch.zeros(3), torch.ones(3)
    for momentum in (0.1, 0.5, 1.0):
        y = F.batch_norm(edunn.tensor(x), rm, rv, training=True, momentum=momentum, eps=1e-3)
        ty = TF.batch_norm(torch.tensor(x), trm, trv, training=True, momentum=momentum, eps=1e-3)
        np.testing.assert_allclose(y.numpy(), ty.numpy(), atol=1e-5)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-5)  # unbiased variance
    y = F.batch_norm(edunn.tensor(x), rm, rv, edunn.ones(3) * 2, edunn.zeros(3) + 1)
    ty = TF.batch_norm(torch.tensor(x), trm, trv, torch.ones(3) * 2, torch.zeros(3) + 1)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), atol=1e-5)


def test_empty_batch_leaves_statistics():
    rm, rv = edunn.zeros(3), edunn.ones(3)
    y = F.batch_norm(edunn.zeros(0, 3), rm, rv, edunn.ones(3), edunn.ones(3), training=True)
    assert tuple(y.shape) == (0, 3)
    assert rm.numpy().tolist() == [0, 0, 0] and rv.numpy().tolist() == [1, 1, 1]


@pytest.mark.parametrize("training", [True, False])
def test_gradcheck_float64(training):
    rng = np.random.default_rng(5)
    x = edunn.tensor(rng.standard_normal((3, 2, 4)), requires_grad=True)
    w = edunn.tensor(rng.uniform(0.5, 1.5, 2), requires_grad=True)
    b = edunn.tensor(rng.standard_normal(2), requires_grad=True)
    rm = edunn.tensor(rng.standard_normal(2))
    rv = edunn.tensor(rng.uniform(0.5, 2, 2))

    def fn(x, w, b):
        return F.batch_norm(x, rm.clone(), rv.clone(), w, b, training=training)

    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


def test_gradcheck_module_no_affine_2d():
    m = nn.BatchNorm2d(2, affine=False, dtype=edunn.float64)
    x = edunn.randn(2, 2, 2, 3, dtype=edunn.float64, requires_grad=True)
    assert gradcheck(m, (x,))
    assert gradgradcheck(m, (x,))


def test_double_backward_against_torch():
    x = np.random.default_rng(6).standard_normal((4, 3, 2)).astype(np.float64)
    w = np.array([0.5, 1.5, -1.0])
    a, wa = edunn.tensor(x, requires_grad=True), edunn.tensor(w, requires_grad=True)
    b, wb = torch.tensor(x, requires_grad=True), torch.tensor(w, requires_grad=True)
    ga, = edunn.autograd.grad((F.batch_norm(a, None, None, wa, None, True) ** 3).sum(), a, create_graph=True)
    gb, = torch.autograd.grad((TF.batch_norm(b, None, None, wb, None, True) ** 3).sum(), b, create_graph=True)
    np.testing.assert_allclose(ga.detach().numpy(), gb.detach().numpy(), rtol=1e-10, atol=1e-10)
    (ga * ga).sum().backward()
    (gb * gb).sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), rtol=1e-9, atol=1e-9)
    np.testing.assert_allclose(wa.grad.numpy(), wb.grad.numpy(), rtol=1e-9, atol=1e-9)


def test_float64_and_float16():
    x = np.random.default_rng(8).standard_normal((5, 3, 2))
    y = F.batch_norm(edunn.tensor(x), None, None, training=True)
    assert y.dtype == edunn.float64
    np.testing.assert_allclose(y.numpy(), TF.batch_norm(torch.tensor(x), None, None, training=True).numpy(),
                               rtol=1e-12, atol=1e-12)
    h = F.batch_norm(edunn.tensor(x.astype(np.float16)), edunn.zeros(3), edunn.ones(3), training=True)
    th = TF.batch_norm(torch.tensor(x.astype(np.float16)), torch.zeros(3), torch.ones(3), training=True)
    assert h.dtype == edunn.float16
    np.testing.assert_allclose(h.numpy().astype(np.float32), th.numpy().astype(np.float32), atol=2e-3)


# ------------------------------------------------------------------ state_dict
def test_state_dict_keys_and_torch_checkpoint():
    e, t = nn.BatchNorm2d(4), torch.nn.BatchNorm2d(4)
    assert list(e.state_dict()) == list(t.state_dict())
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert e.state_dict()["num_batches_tracked"].dtype == edunn.int64
    t.train()
    for i in range(3):
        t(torch.randn(5, 4, 2, 2) + i)
    e.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in t.state_dict().items()})
    same_buffers(e, t)
    np.testing.assert_allclose(e.weight.detach().numpy(), t.weight.detach().numpy())
    e.eval(), t.eval()
    x = np.random.default_rng(9).standard_normal((2, 4, 3, 3)).astype(np.float32)
    np.testing.assert_allclose(e(edunn.tensor(x)).detach().numpy(), t(torch.tensor(x)).detach().numpy(),
                               atol=1e-5)
    assert list(nn.BatchNorm1d(3, track_running_stats=False).state_dict()) == \
        list(torch.nn.BatchNorm1d(3, track_running_stats=False).state_dict())
    assert list(nn.BatchNorm1d(3, affine=False).state_dict()) == \
        list(torch.nn.BatchNorm1d(3, affine=False).state_dict())


def test_old_checkpoint_without_num_batches_tracked():
    """Version-1 checkpoints lack num_batches_tracked: it is filled in, as PyTorch does."""
    e = nn.BatchNorm1d(3)
    e.num_batches_tracked.fill_(7)
    sd = collections.OrderedDict((k, v) for k, v in nn.BatchNorm1d(3).state_dict().items()
                                 if k != "num_batches_tracked")
    sd._metadata = collections.OrderedDict({"": {"version": 1}})
    result = e.load_state_dict(sd)
    assert not result.missing_keys and not result.unexpected_keys
    assert e.num_batches_tracked.item() == 7
    # version 2 (the current one): the key is really missing
    sd._metadata = collections.OrderedDict({"": {"version": 2}})
    with pytest.raises(RuntimeError, match="num_batches_tracked"):
        nn.BatchNorm1d(3).load_state_dict(sd)
    assert e.state_dict()._metadata[""]["version"] == 2


def test_reset_running_stats_and_parameters():
    e = nn.BatchNorm1d(3)
    e(edunn.randn(4, 3) * 3 + 1)
    with edunn.no_grad():
        e.weight.fill_(2.0)
    e.reset_running_stats()
    assert e.running_mean.numpy().tolist() == [0, 0, 0] and e.running_var.numpy().tolist() == [1, 1, 1]
    assert e.num_batches_tracked.item() == 0
    assert e.weight.detach().numpy().tolist() == [2, 2, 2]
    e.reset_parameters()
    assert e.weight.detach().numpy().tolist() == [1, 1, 1] and e.bias.detach().numpy().tolist() == [0, 0, 0]


def test_device_dtype_arguments():
    e = nn.BatchNorm2d(3, device="cpu", dtype=edunn.float64)
    assert e.weight.dtype == edunn.float64 and e.running_var.dtype == edunn.float64
    assert e.num_batches_tracked.dtype == edunn.int64
    assert e(edunn.randn(2, 3, 2, 2, dtype=edunn.float64)).dtype == edunn.float64


# ------------------------------------------------------------------ lazy
@pytest.mark.parametrize("n,shape", [(1, (4, 5)), (1, (4, 5, 3)), (2, (2, 5, 3, 3)), (3, (2, 5, 2, 2, 2))])
def test_lazy_batchnorm_materialises(n, shape):
    e = getattr(nn, f"LazyBatchNorm{n}d")()
    t = getattr(torch.nn, f"LazyBatchNorm{n}d")()
    assert e.has_uninitialized_params()
    x = np.random.default_rng(n).standard_normal(shape).astype(np.float32)
    step(e, t, x)
    assert type(e) is getattr(nn, f"BatchNorm{n}d")
    assert e.num_features == 5 and tuple(e.weight.shape) == (5,) and tuple(e.running_mean.shape) == (5,)
    same_buffers(e, t)
    assert repr(e) == repr(t)


def test_lazy_options_and_state_dict_load():
    e = nn.LazyBatchNorm2d(affine=False, track_running_stats=False)
    e(edunn.randn(2, 3, 2, 2))
    assert type(e) is nn.BatchNorm2d and e.weight is None and e.running_mean is None
    lazy = nn.LazyBatchNorm1d()
    lazy.load_state_dict(nn.BatchNorm1d(6).state_dict())
    assert tuple(lazy.running_mean.shape) == (6,)


# ------------------------------------------------------------------ SyncBatchNorm
def test_sync_batchnorm_single_process_is_batchnorm():
    e, t = twins("SyncBatchNorm", 3, momentum=None)
    rng = np.random.default_rng(10)
    for i in range(3):
        step(e, t, rng.standard_normal((4, 3, 2, 3)).astype(np.float32) + i, seed=i)
        same_buffers(e, t)
    e.eval(), t.eval()
    step(e, t, rng.standard_normal((2, 3, 5)).astype(np.float32))
    b = nn.BatchNorm3d(3)
    s = nn.SyncBatchNorm(3)
    x = edunn.randn(2, 3, 2, 2, 2)
    np.testing.assert_allclose(s(x).detach().numpy(), b(x).detach().numpy())
    same_buffers(s, b)


class _TwinProcesses:
    """A stand-in for ``edunn.distributed`` with two ranks whose batches are identical: an
    all-reduce (sum) doubles the tensor.  SyncBatchNorm on x must then equal BatchNorm on the
    concatenated batch [x; x]."""

    def __init__(self):
        self.calls = 0

    def is_available(self):
        return True

    def is_initialized(self):
        return True

    def get_world_size(self, group=None):
        return 2

    def all_reduce(self, tensor, op=None, group=None, async_op=False):
        self.calls += 1
        tensor.mul_(2)


def test_sync_batchnorm_reduces_through_the_process_group(monkeypatch):
    fake = _TwinProcesses()
    monkeypatch.setitem(sys.modules, "edunn.distributed", fake)
    monkeypatch.setattr(edunn, "distributed", fake, raising=False)
    e, t = twins("SyncBatchNorm", 3)
    x = np.random.default_rng(11).standard_normal((3, 3, 2, 2)).astype(np.float32)
    g = np.random.default_rng(12).standard_normal(x.shape).astype(np.float32)
    a = edunn.tensor(x, requires_grad=True)
    ya = e(a)
    assert fake.calls == 2  # the sums, then the squared deviations
    ya.backward(edunn.tensor(g))
    assert fake.calls == 3  # the two sums of the backward, in one message
    b = torch.tensor(np.concatenate([x, x]), requires_grad=True)
    yb = t(b)
    yb.backward(torch.tensor(np.concatenate([g, g])))
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy()[:3], atol=1e-5)
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy()[:3], atol=1e-5)
    # weight and bias gradients stay local (DistributedDataParallel sums them): half of the total
    np.testing.assert_allclose(e.weight.grad.numpy(), t.weight.grad.numpy() / 2, atol=1e-5)
    np.testing.assert_allclose(e.bias.grad.numpy(), t.bias.grad.numpy() / 2, atol=1e-5)
    same_buffers(e, t)  # running statistics from the global batch (unbiased over 2 * 12 values)
    e.eval()
    e(edunn.tensor(x))
    assert fake.calls == 3  # eval does not synchronise


def test_convert_sync_batchnorm_nested_model():
    inner = nn.Sequential(nn.Linear(4, 4), nn.BatchNorm1d(4, momentum=None, bias=False))
    model = nn.Sequential(nn.Conv2d(1, 3, 3), nn.BatchNorm2d(3, affine=False), nn.ReLU(),
                          nn.Sequential(nn.BatchNorm3d(2, eps=1e-3), inner), nn.InstanceNorm2d(3))
    model[3][0](edunn.randn(2, 2, 2, 2, 2))
    model.eval()
    weight, running_var = inner[1].weight, model[3][0].running_var
    converted = nn.SyncBatchNorm.convert_sync_batchnorm(model, process_group="group")
    kinds = [type(m).__name__ for m in converted.modules()]
    assert kinds.count("SyncBatchNorm") == 3 and "BatchNorm2d" not in kinds
    assert type(converted[4]) is nn.InstanceNorm2d and type(converted[0]) is nn.Conv2d
    s = converted[3][1][1]
    assert s.weight is weight and s.bias is None and s.momentum is None and s.process_group == "group"
    assert converted[3][0].running_var is running_var and converted[3][0].eps == 1e-3
    assert converted[3][0].num_batches_tracked.item() == 1
    assert not converted[1].affine and not converted[1].training
    top = nn.SyncBatchNorm.convert_sync_batchnorm(nn.BatchNorm1d(2))
    assert type(top) is nn.SyncBatchNorm
    tm = torch.nn.SyncBatchNorm.convert_sync_batchnorm(
        torch.nn.Sequential(torch.nn.BatchNorm2d(3), torch.nn.Sequential(torch.nn.BatchNorm1d(2))))
    em = nn.SyncBatchNorm.convert_sync_batchnorm(nn.Sequential(nn.BatchNorm2d(3), nn.Sequential(nn.BatchNorm1d(2))))
    assert repr(em) == repr(tm)
    assert list(em.state_dict()) == list(tm.state_dict())


# ------------------------------------------------------------------ errors and reprs
def raises_like(fn, tfn, kind):
    with pytest.raises(kind) as theirs:
        tfn()
    message = str(theirs.value).replace("torch.Size", "edunn.Size")
    with pytest.raises(kind) as ours:
        fn()
    assert str(ours.value) == message


def test_errors_match_torch():
    x, tx = edunn.randn(4, 3, 5), torch.randn(4, 3, 5)
    z, o, z4 = edunn.zeros(3), edunn.ones(3), edunn.zeros(4)
    tz, to, tz4 = torch.zeros(3), torch.ones(3), torch.zeros(4)
    raises_like(lambda: F.batch_norm(x, z4, o, training=True), lambda: TF.batch_norm(tx, tz4, to, training=True),
                RuntimeError)
    raises_like(lambda: F.batch_norm(x, z, z4, training=True), lambda: TF.batch_norm(tx, tz, tz4, training=True),
                RuntimeError)
    raises_like(lambda: F.batch_norm(x, None, None, z4, training=True),
                lambda: TF.batch_norm(tx, None, None, tz4, training=True), RuntimeError)
    raises_like(lambda: F.batch_norm(x, None, None, None, z4, training=True),
                lambda: TF.batch_norm(tx, None, None, None, tz4, training=True), RuntimeError)
    raises_like(lambda: F.batch_norm(x, None, None), lambda: TF.batch_norm(tx, None, None), RuntimeError)
    raises_like(lambda: F.batch_norm(edunn.randn(1, 3), None, None, training=True),
                lambda: TF.batch_norm(torch.randn(1, 3), None, None, training=True), ValueError)
    raises_like(lambda: F.batch_norm(x, None, None, training=True, eps=0),
                lambda: TF.batch_norm(tx, None, None, training=True, eps=0), ValueError)
    raises_like(lambda: F.batch_norm(x, z, o, eps=-1), lambda: TF.batch_norm(tx, tz, to, eps=-1), ValueError)
    raises_like(lambda: nn.BatchNorm1d(3)(edunn.randn(4, 3, 2, 2)),
                lambda: torch.nn.BatchNorm1d(3)(torch.randn(4, 3, 2, 2)), ValueError)
    raises_like(lambda: nn.BatchNorm2d(3)(x), lambda: torch.nn.BatchNorm2d(3)(tx), ValueError)
    raises_like(lambda: nn.BatchNorm3d(3)(x), lambda: torch.nn.BatchNorm3d(3)(tx), ValueError)
    raises_like(lambda: nn.BatchNorm1d(4)(x), lambda: torch.nn.BatchNorm1d(4)(tx), RuntimeError)
    raises_like(lambda: nn.SyncBatchNorm(3)(edunn.randn(3)), lambda: torch.nn.SyncBatchNorm(3)(torch.randn(3)),
                ValueError)
    raises_like(lambda: nn.SyncBatchNorm(0)(edunn.randn(2, 0)),
                lambda: torch.nn.SyncBatchNorm(0)(torch.randn(2, 0)), ValueError)
    with pytest.raises(RuntimeError, match="mixed dtype"):
        F.batch_norm(x.double(), z, o, training=True)
    with pytest.raises(NotImplementedError, match="batch_norm"):
        F.batch_norm(edunn.ones(4, 3, dtype=edunn.int64), None, None, training=True)
    with pytest.raises(TypeError, match="must be Tensor"):
        F.batch_norm([[1.0, 2.0]], None, None, training=True)


@pytest.mark.parametrize("cls_name,args,kwargs", [
    ("BatchNorm1d", (3,), {}), ("BatchNorm2d", (5,), dict(eps=1e-3, momentum=None)),
    ("BatchNorm3d", (2,), dict(affine=False, track_running_stats=False)), ("BatchNorm2d", (4,), dict(bias=False)),
    ("SyncBatchNorm", (3,), dict(momentum=0.5)), ("LazyBatchNorm1d", (), {}),
    ("LazyBatchNorm3d", (), dict(affine=False)),
])
def test_reprs(cls_name, args, kwargs):
    assert repr(getattr(nn, cls_name)(*args, **kwargs)) == repr(getattr(torch.nn, cls_name)(*args, **kwargs))


def test_saved_values_retain_graph_and_inplace_check():
    m = nn.BatchNorm1d(3)
    x = edunn.randn(4, 3, requires_grad=True)
    y = m(x)
    (y ** 2).sum().backward(retain_graph=True)
    first = x.grad.clone()
    (y ** 2).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first.numpy(), rtol=1e-6, atol=1e-7)
    with pytest.raises(RuntimeError, match="second time"):
        (y ** 2).sum().backward()
    w = edunn.randn(4, 3, requires_grad=True)
    h = w * 1.0
    out = F.batch_norm(h, None, None, training=True)
    h.add_(1.0)  # the saved input changed before backward
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        out.sum().backward()
