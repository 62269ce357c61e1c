"""Instance, layer, group, RMS and local-response normalization (lesson 11) against PyTorch CPU:
forward, input and parameter gradients with copied weights, running statistics of instance
norm, unbatched inputs, gradcheck/gradgradcheck in float64, errors, warnings and reprs."""
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.lesson11


def twins(cls_name, *args, **kwargs):
    """The same layer in edunn and torch, with random parameters copied into both."""
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
    """Output, input gradient and parameter gradients of both layers on the array ``x``."""
    a, b = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    ya, yb = e(a), t(b)
    assert tuple(ya.shape) == tuple(yb.shape)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), atol=atol, rtol=1e-4)
    g = np.random.default_rng(seed).standard_normal(tuple(yb.shape)).astype(x.dtype)
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
            assert mine.item() == buf.item(), name
        else:
            np.testing.assert_allclose(mine.numpy(), buf.numpy(), atol=1e-6, rtol=1e-5, err_msg=name)


def randn(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------ instance norm
INSTANCE_SHAPES = {1: (3, 4, 5), 2: (2, 4, 3, 3), 3: (2, 4, 2, 3, 2)}
INSTANCE_CONFIGS = [dict(), dict(affine=True), dict(affine=True, bias=False),
                    dict(track_running_stats=True), dict(affine=True, track_running_stats=True, momentum=0.3),
                    dict(track_running_stats=True, momentum=None, eps=1e-3)]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("cfg", INSTANCE_CONFIGS, ids=str)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_instance_norm_train_then_eval(n, cfg, batched):
    e, t = twins(f"InstanceNorm{n}d", 4, **cfg)
    shape = INSTANCE_SHAPES[n] if batched else INSTANCE_SHAPES[n][1:]
    for i in range(3):
        step(e, t, randn(shape, seed=i) * (i + 1) + i, seed=i)
        same_buffers(e, t)
    e.eval(), t.eval()  # with running statistics: normalised by them now
    step(e, t, randn(shape, seed=5))
    same_buffers(e, t)


def test_instance_norm_functional_running_stats():
    x = randn((3, 2, 6))
    rm, rv = edunn.zeros(2), edunn.ones(2)
    trm, trv = torch.zeros(2), torch.ones(2)
    w, b = np.array([0.5, 2.0], np.float32), np.array([1.0, -1.0], np.float32)
    y = F.instance_norm(edunn.tensor(x), rm, rv, edunn.tensor(w), edunn.tensor(b), momentum=0.4)
    ty = TF.instance_norm(torch.tensor(x), trm, trv, torch.tensor(w), torch.tensor(b), momentum=0.4)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), atol=1e-5)
    np.testing.assert_allclose(rm.numpy(), trm.numpy(), atol=1e-6)
    np.testing.assert_allclose(rv.numpy(), trv.numpy(), rtol=1e-5)
    y = F.instance_norm(edunn.tensor(x), rm, rv, use_input_stats=False)
    ty = TF.instance_norm(torch.tensor(x), trm, trv, use_input_stats=False)
    np.testing.assert_allclose(y.numpy(), ty.numpy(), atol=1e-5)


def test_instance_norm_warnings_and_errors():
    with pytest.warns(UserWarning, match="does not match num_features"):
        nn.InstanceNorm1d(3)(edunn.randn(2, 4, 5))
    with pytest.raises(ValueError) as ours:
        nn.InstanceNorm1d(3, affine=True)(edunn.randn(2, 4, 5))
    with pytest.raises(ValueError) as theirs:
        torch.nn.InstanceNorm1d(3, affine=True)(torch.randn(2, 4, 5))
    assert str(ours.value) == str(theirs.value)
    for n, bad in ((1, (2, 3, 4, 5)), (2, (3, 4)), (3, (2, 3, 4))):
        with pytest.raises(ValueError) as ours:
            getattr(nn, f"InstanceNorm{n}d")(3)(edunn.randn(*bad))
        with pytest.raises(ValueError) as theirs:
            getattr(torch.nn, f"InstanceNorm{n}d")(3)(torch.randn(*bad))
        assert str(ours.value) == str(theirs.value)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        nn.InstanceNorm2d(3)(edunn.randn(2, 3, 2, 2))  # matching sizes: no warning


def test_instance_norm_old_checkpoint_with_running_stats():
    sd = {"running_mean": edunn.zeros(3), "running_var": edunn.ones(3)}
    with pytest.raises(RuntimeError, match="Unexpected running stats buffer"):
        nn.InstanceNorm1d(3).load_state_dict(sd)
    e, t = nn.InstanceNorm2d(3, track_running_stats=True), torch.nn.InstanceNorm2d(3, track_running_stats=True)
    assert list(e.state_dict()) == list(t.state_dict())
    t(torch.randn(2, 3, 4, 4))
    e.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in t.state_dict().items()})
    same_buffers(e, t)


@pytest.mark.parametrize("n,shape", [(1, (2, 5, 4)), (2, (2, 5, 3, 3)), (3, (1, 5, 2, 2, 3))])
def test_lazy_instance_norm(n, shape):
    e, t = getattr(nn, f"LazyInstanceNorm{n}d")(), getattr(torch.nn, f"LazyInstanceNorm{n}d")()
    step(e, t, randn(shape))
    assert type(e) is getattr(nn, f"InstanceNorm{n}d") and e.num_features == 5
    same_buffers(e, t)
    assert repr(e) == repr(t)


def test_instance_norm_gradcheck():
    x = edunn.randn(2, 3, 4, dtype=edunn.float64, requires_grad=True)
    w = edunn.randn(3, dtype=edunn.float64, requires_grad=True)
    b = edunn.randn(3, dtype=edunn.float64, requires_grad=True)
    fn = lambda x, w, b: F.instance_norm(x, None, None, w, b)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


# ------------------------------------------------------------------ layer norm
@pytest.mark.parametrize("shape,normalized,kwargs", [
    ((4, 6), 6, {}),
    ((3, 4, 5), (5,), dict(eps=1e-3)),
    ((2, 3, 4, 5), (4, 5), {}),
    ((2, 3, 4, 5), [3, 4, 5], dict(bias=False)),
    ((5, 7), [7], dict(elementwise_affine=False)),
    ((7,), 7, {}),
])
def test_layer_norm(shape, normalized, kwargs):
    e, t = twins("LayerNorm", normalized, **kwargs)
    step(e, t, randn(shape) * 3 + 1)
    e.eval(), t.eval()
    step(e, t, randn(shape, seed=2))


def test_layer_norm_gradcheck_and_double_backward():
    x = edunn.randn(2, 3, 4, dtype=edunn.float64, requires_grad=True)
    w = edunn.randn(3, 4, dtype=edunn.float64, requires_grad=True)
    b = edunn.randn(3, 4, dtype=edunn.float64, requires_grad=True)
    fn = lambda x, w, b: F.layer_norm(x, (3, 4), w, b)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))
    xt = torch.tensor(x.detach().numpy(), requires_grad=True)
    wt = torch.tensor(w.detach().numpy(), requires_grad=True)
    g, = edunn.autograd.grad((F.layer_norm(x, (4,), None, None) * x).sum(), x, create_graph=True)
    gt, = torch.autograd.grad((TF.layer_norm(xt, (4,), None, None) * xt).sum(), xt, create_graph=True)
    (g ** 2 * w).sum().backward()
    (gt ** 2 * wt).sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), xt.grad.numpy(), rtol=1e-9, atol=1e-10)
    np.testing.assert_allclose(w.grad.numpy(), wt.grad.numpy(), rtol=1e-9, atol=1e-10)


# ------------------------------------------------------------------ group norm
@pytest.mark.parametrize("groups,shape,kwargs", [
    (2, (3, 4, 5), {}), (1, (2, 6, 3, 3), {}), (6, (2, 6, 4), dict(eps=1e-3)), (3, (2, 6), {}),
    (2, (2, 4, 2, 2, 3), dict(affine=False)), (2, (2, 4, 5), dict(bias=False)),
])
def test_group_norm(groups, shape, kwargs):
    e, t = twins("GroupNorm", groups, shape[1], **kwargs)
    step(e, t, randn(shape) * 2 - 1)


def test_group_norm_gradcheck():
    x = edunn.randn(2, 4, 3, dtype=edunn.float64, requires_grad=True)
    w = edunn.randn(4, dtype=edunn.float64, requires_grad=True)
    b = edunn.randn(4, dtype=edunn.float64, requires_grad=True)
    fn = lambda x, w, b: F.group_norm(x, 2, w, b)
    assert gradcheck(fn, (x, w, b))
    assert gradgradcheck(fn, (x, w, b))


# ------------------------------------------------------------------ RMS norm
@pytest.mark.parametrize("shape,normalized,kwargs", [
    ((4, 6), 6, {}), ((2, 3, 4), (3, 4), dict(eps=1e-3)), ((3, 5), [5], dict(elementwise_affine=False)),
])
def test_rms_norm(shape, normalized, kwargs):
    e, t = twins("RMSNorm", normalized, **kwargs)
    step(e, t, randn(shape) * 2 + 0.5)


def test_rms_norm_float64_eps_and_gradcheck():
    x = randn((3, 4), dtype=np.float64) * 1e-9  # eps=None is the dtype's machine epsilon
    np.testing.assert_allclose(F.rms_norm(edunn.tensor(x), [4]).numpy(),
                               TF.rms_norm(torch.tensor(x), [4]).numpy(), rtol=1e-12)
    xe = edunn.randn(2, 3, dtype=edunn.float64, requires_grad=True)
    w = edunn.randn(3, dtype=edunn.float64, requires_grad=True)
    assert gradcheck(lambda x, w: F.rms_norm(x, (3,), w), (xe, w))
    assert gradgradcheck(lambda x, w: F.rms_norm(x, (3,), w), (xe, w))


# ------------------------------------------------------------------ local response norm
@pytest.mark.parametrize("shape", [(2, 7, 5), (2, 6, 3, 4), (1, 5, 2, 3, 2)])
@pytest.mark.parametrize("args", [(2,), (3, 1e-2, 0.5, 2.0), (5, 0.1), (9, 1.0, 1.0, 1.0)], ids=str)
def test_local_response_norm(shape, args):
    step(nn.LocalResponseNorm(*args), torch.nn.LocalResponseNorm(*args), randn(shape) * 2)


def test_local_response_norm_gradcheck():
    x = edunn.randn(2, 4, 3, 2, dtype=edunn.float64, requires_grad=True)
    assert gradcheck(lambda x: F.local_response_norm(x, 3, 0.5, 0.75, 1.0), (x,))
    assert F.local_response_norm(edunn.zeros(0, 3, 2), 2).shape == (0, 3, 2)


@pytest.mark.parametrize("size", [1, 2, 3, 4, 5, 14])
def test_cross_map_lrn2d(size):
    """Forward against torch's (channel 0 stays in its running sum, as there); the gradient is the
    exact one of that map (finite differences) -- torch's hand-written backward is not."""
    x = randn((2, 7, 3, 4))
    y = nn.CrossMapLRN2d(size, 0.5, 0.75, 1.5)(edunn.tensor(x))
    ty = torch.nn.CrossMapLRN2d(size, 0.5, 0.75, 1.5)(torch.tensor(x))
    np.testing.assert_allclose(y.numpy(), ty.numpy(), atol=1e-6, rtol=1e-5)
    xe = edunn.randn(1, 5, 2, 2, dtype=edunn.float64, requires_grad=True)
    assert gradcheck(nn.CrossMapLRN2d(size, 0.5, 0.75, 1.5), (xe,))
    with pytest.raises(ValueError, match="Expected input to be 4D, got 3D"):
        nn.CrossMapLRN2d(size)(edunn.randn(2, 3, 4))


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
    o4, to4 = edunn.ones(4), torch.ones(4)
    cases = [
        (lambda m: m.layer_norm(X(m), [4]), RuntimeError),
        (lambda m: m.layer_norm(X(m), [4, 5]), RuntimeError),
        (lambda m: m.layer_norm(X(m), [5], ONES4(m)), RuntimeError),
        (lambda m: m.layer_norm(X(m), [5], None, ONES4(m)), RuntimeError),
        (lambda m: m.layer_norm(X(m), 5), TypeError),
        (lambda m: m.layer_norm(X(m), []), RuntimeError),
        (lambda m: m.rms_norm(X(m), [4, 5]), RuntimeError),
        (lambda m: m.rms_norm(X(m), [5], ONES4(m)), RuntimeError),
        (lambda m: m.group_norm(X(m), 2), RuntimeError),
        (lambda m: m.group_norm(X(m), 3, ONES4(m)), RuntimeError),
        (lambda m: m.group_norm(X(m)[0, 0], 3), RuntimeError),
        (lambda m: m.group_norm(X(m)[:1, :, :1], 3), ValueError),
        (lambda m: m.instance_norm(X(m)[:, :, :1]), ValueError),
        (lambda m: m.instance_norm(X(m), ONES4(m), ONES4(m)), RuntimeError),
        (lambda m: m.instance_norm(X(m), None, None, ONES4(m)), RuntimeError),
        (lambda m: m.instance_norm(X(m), None, None, use_input_stats=False), RuntimeError),
        (lambda m: m.instance_norm(X(m), ONES4(m)[:3], None), ValueError),
        (lambda m: m.local_response_norm(X(m)[0], 2), ValueError),
    ]

    def X(m):
        return x if m is F else tx

    def ONES4(m):
        return o4 if m is F else to4

    for fn, kind in cases:
        raises_like(lambda: fn(F), lambda: fn(TF), kind)
    raises_like(lambda: nn.GroupNorm(3, 4), lambda: torch.nn.GroupNorm(3, 4), ValueError)
    raises_like(lambda: nn.LayerNorm(3)(edunn.randn(3, 4)), lambda: torch.nn.LayerNorm(3)(torch.randn(3, 4)),
                RuntimeError)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.layer_norm(edunn.ones(2, 3, dtype=edunn.int64), [3])


@pytest.mark.parametrize("cls_name,args,kwargs", [
    ("InstanceNorm1d", (3,), {}), ("InstanceNorm2d", (4,), dict(affine=True, track_running_stats=True)),
    ("InstanceNorm3d", (2,), dict(momentum=None, eps=1e-3)), ("LazyInstanceNorm2d", (), {}),
    ("LayerNorm", ([3, 4],), {}), ("LayerNorm", (5,), dict(elementwise_affine=False)),
    ("LayerNorm", (5,), dict(bias=False, eps=1e-6)), ("GroupNorm", (2, 4), {}),
    ("GroupNorm", (1, 3), dict(affine=False)), ("GroupNorm", (2, 4), dict(bias=False)),
    ("RMSNorm", (4,), {}), ("RMSNorm", ([2, 3],), dict(eps=1e-3, elementwise_affine=False)),
    ("LocalResponseNorm", (2,), {}), ("LocalResponseNorm", (3, 1e-3, 0.5, 2),
                                     {}), ("CrossMapLRN2d", (5,), dict(k=2)),
])
def test_reprs_and_state_dict_keys(cls_name, args, kwargs):
    e, t = getattr(nn, cls_name)(*args, **kwargs), getattr(torch.nn, cls_name)(*args, **kwargs)
    assert repr(e) == repr(t)
    if not cls_name.startswith("Lazy"):
        assert list(e.state_dict()) == list(t.state_dict())


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_low_precision_inputs(dtype):
    """float16/bfloat16 are normalised in float32 and come back in their dtype, within an ulp of
    torch's (rms_norm's default eps is then float32's, as in torch)."""
    x = randn((4, 3, 5))
    w = np.random.default_rng(1).uniform(0.5, 1.5, 5).astype(np.float32)
    e, t = edunn.tensor(x).to(getattr(edunn, dtype)), torch.tensor(x).to(getattr(torch, dtype))
    ew, tw = edunn.tensor(w).to(e.dtype), torch.tensor(w).to(t.dtype)
    tol = 2 ** -8 if dtype == "bfloat16" else 2 ** -10
    for fn, tfn in [(lambda a, w: F.rms_norm(a, [5], w), lambda a, w: TF.rms_norm(a, [5], w)),
                    (lambda a, w: F.layer_norm(a, [5], w), lambda a, w: TF.layer_norm(a, [5], w)),
                    (lambda a, w: F.group_norm(a, 3), lambda a, w: TF.group_norm(a, 3)),
                    (lambda a, w: F.instance_norm(a), lambda a, w: TF.instance_norm(a))]:
        y, ty = fn(e, ew), tfn(t, tw)
        assert y.dtype == e.dtype
        np.testing.assert_allclose(y.float().numpy(), ty.float().numpy(), atol=2 * tol, rtol=2 * tol)
