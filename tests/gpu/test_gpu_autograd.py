"""Autograd on the GPU (lessons 02 and 18): ``backward``, ``autograd.grad``, double backward with
``create_graph``, tensor and node hooks, ``retain_grad``, finite-difference ``gradcheck`` in
float64 run on the device, ``edunn.autograd.functional`` and anomaly mode -- each on ``cuda``,
with every gradient on the device and equal to the CPU's.
"""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from _compare import on_device
from edunn import autograd
from edunn.autograd import functional as AF
from edunn.nn import functional as F

pytestmark = pytest.mark.lesson18

RTOL32, ATOL32 = 1e-5, 1e-6
RTOL64, ATOL64 = 1e-10, 1e-12


def _on(t, gpu) -> bool:
    return on_device(t, gpu)


def _np(t) -> np.ndarray:
    return np.array(t.detach().cpu().numpy())


def _pair(arrays, gpu, dtype="float32", grad=True):
    """The same leaves on the CPU and on the target."""
    cpu = [edunn.tensor(a.astype(dtype), requires_grad=grad) for a in arrays]
    dev = [edunn.tensor(a.astype(dtype), requires_grad=grad, device=gpu) for a in arrays]
    return cpu, dev


def _rand(*shapes, seed=0, low=-1.0, high=1.0):
    rng = np.random.default_rng(seed)
    return [rng.uniform(low, high, s) for s in shapes]


def _net(x, w1, b1, w2, idx):
    """A small composite: matmul, broadcasting, tanh, indexing with repeats, log_softmax."""
    h = (x @ w1 + b1).tanh()
    h = h[idx] * 0.5 + h.mean(0, keepdim=True)
    return F.log_softmax(h @ w2, dim=1)


def _net_inputs(seed=0):
    return _rand((6, 4), (4, 5), (5,), (5, 3), seed=seed)


IDX = [0, 2, 2, 5, 1]


@pytest.mark.parametrize("dtype,rtol,atol", [("float32", RTOL32, ATOL32), ("float64", RTOL64, ATOL64)])
def test_backward_on_the_device_equals_the_cpu(dtype, rtol, atol, gpu):
    cpu, dev = _pair(_net_inputs(), gpu, dtype)
    g = np.random.default_rng(1).standard_normal((5, 3)).astype(dtype)
    for leaves, where in ((cpu, "cpu"), (dev, gpu)):
        out = _net(*leaves, edunn.tensor(IDX, device=where))
        assert _on(out, where) and out.grad_fn is not None
        out.backward(edunn.tensor(g, device=where))
    for i, (a, b) in enumerate(zip(dev, cpu)):
        assert _on(a.grad, gpu), f"grad of leaf {i} on {a.grad.device}"
        assert a.grad.dtype == a.dtype
        np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=rtol, atol=atol, err_msg=f"leaf {i}")


def test_gradients_accumulate_on_the_device(gpu):
    (x,), (xd,) = _pair(_rand((3, 4)), gpu)
    for _ in range(3):
        (xd * xd).sum().backward()
        (x * x).sum().backward()
    assert _on(xd.grad, gpu)
    np.testing.assert_allclose(_np(xd.grad), _np(x.grad), rtol=RTOL32, atol=ATOL32)
    np.testing.assert_allclose(_np(xd.grad), 6 * _np(xd), rtol=RTOL32, atol=ATOL32)


def test_autograd_grad_with_grad_outputs_retain_graph_and_unused(gpu):
    (a, b, c), (ad, bd, cd) = _pair(_rand((3,), (3,), (3,)), gpu, "float64")
    res = {}
    for (x, y, z), where in (((a, b, c), "cpu"), ((ad, bd, cd), gpu)):
        u, v = x * y, (x.exp() * y).sum()
        gu = edunn.tensor([1.0, -2.0, 0.5], dtype=edunn.float64, device=where)
        first = autograd.grad([u, v], [x, y, z], [gu, None], retain_graph=True, allow_unused=True)
        assert first[2] is None, "an unused input gives None with allow_unused=True"
        again = autograd.grad(v, x)  # the graph was retained
        with pytest.raises(RuntimeError):
            autograd.grad(v, x)  # ... and freed now
        with pytest.raises(RuntimeError, match="not have been used|unused|allow_unused"):
            autograd.grad((x * 2).sum(), [x, z])
        for t in first[:2] + again:
            assert _on(t, where)
        res[where] = [_np(t) for t in first[:2] + again]
        assert x.grad is None, "autograd.grad must not touch .grad"
    for p, q in zip(res[gpu], res["cpu"]):
        np.testing.assert_allclose(p, q, rtol=RTOL64, atol=ATOL64)


def test_double_backward_with_create_graph(gpu):
    (x, y), (xd, yd) = _pair(_rand((4,), (4,), seed=3), gpu, "float64")
    res = {}
    for (p, q), where in (((x, y), "cpu"), ((xd, yd), gpu)):
        f = (p ** 3 * q + (p * q).sin()).sum()
        (gx,) = autograd.grad(f, p, create_graph=True)
        assert gx.requires_grad and _on(gx, where)
        gxx, gxy = autograd.grad(gx.sum(), [p, q], create_graph=True)
        (gxxx,) = autograd.grad(gxx.sum(), p)  # third order
        px, qx = _np(p), _np(q)
        np.testing.assert_allclose(_np(gxx), 6 * px * qx - qx ** 2 * np.sin(px * qx), rtol=1e-10, atol=1e-12)
        np.testing.assert_allclose(_np(gxy), 3 * px ** 2 + np.cos(px * qx) - px * qx * np.sin(px * qx),
                                   rtol=1e-10, atol=1e-12)
        res[where] = [_np(gx), _np(gxx), _np(gxy), _np(gxxx)]
        # backward(create_graph=True) leaves a differentiable .grad
        p.grad = None
        (p ** 2 * q).sum().backward(create_graph=True)
        assert p.grad.requires_grad and _on(p.grad, where)
        p.grad.sum().backward()
        p.grad = None
        q.grad = None
    for u, v in zip(res[gpu], res["cpu"]):
        np.testing.assert_allclose(u, v, rtol=RTOL64, atol=ATOL64)


def test_tensor_hooks_on_the_device(gpu):
    x = edunn.tensor([1.0, 2.0, 3.0], requires_grad=True, device=gpu)
    seen = []

    def leaf_hook(g):
        seen.append(("leaf", str(g.device.type), g.tolist()))
        return g * 10

    def mid_hook(g):
        seen.append(("mid", str(g.device.type), g.tolist()))
        return g + 1

    h_leaf = x.register_hook(leaf_hook)
    y = x * edunn.tensor([1.0, 2.0, 3.0], device=gpu)  # x used once: one gradient reaches the leaf
    y.register_hook(mid_hook)
    y.register_hook(lambda g: g * 2)  # run in registration order: (g + 1) * 2
    (y * 3).sum().backward()
    dev = edunn.device(gpu).type
    assert seen[0] == ("mid", dev, [3.0, 3.0, 3.0])
    assert seen[1] == ("leaf", dev, [8.0, 16.0, 24.0])
    assert _on(x.grad, gpu) and x.grad.tolist() == [80.0, 160.0, 240.0]
    h_leaf.remove()
    x.grad = None
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0, 2.0, 2.0] and len(seen) == 2


def test_post_accumulate_grad_and_grad_fn_hooks_on_the_device(gpu):
    w = edunn.tensor([1.0, 2.0], requires_grad=True, device=gpu)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda p: calls.append((p.grad.device.type, p.grad.tolist())))
    y = w * 3
    got = []
    y.grad_fn.register_hook(lambda gin, gout: got.append((gin[0].device.type, gin[0].tolist(), gout[0].tolist())))
    prehook = []
    y.grad_fn.register_prehook(lambda gout: prehook.append(gout[0].device.type))
    y.sum().backward()
    dev = edunn.device(gpu).type
    assert calls == [(dev, [3.0, 3.0])]
    assert got == [(dev, [3.0, 3.0], [1.0, 1.0])] and prehook == [dev]
    handle.remove()


def test_retain_grad_on_the_device(gpu):
    (x,), (xd,) = _pair(_rand((3, 4), seed=4), gpu)
    res = {}
    for leaf, where in ((x, "cpu"), (xd, gpu)):
        h = leaf.tanh()
        h.retain_grad()
        assert h.retains_grad
        z = h * h
        z.retain_grad()
        z.sum().backward()
        assert _on(h.grad, where) and _on(z.grad, where)
        np.testing.assert_array_equal(_np(z.grad), np.ones((3, 4), np.float32))
        res[where] = _np(h.grad)
    np.testing.assert_allclose(res[gpu], res["cpu"], rtol=RTOL32, atol=ATOL32)


# ------------------------------------------------------------------------ gradcheck, float64
def _conv(x, w, b):
    return F.conv2d(x, w, b, stride=1, padding=1)


GRADCHECK = {
    "composite": (lambda x, w1, b1, w2: _net(x, w1, b1, w2, edunn.tensor(IDX, device=x.device)),
                  lambda: _net_inputs(5)),
    "conv2d": (_conv, lambda: _rand((1, 2, 4, 4), (3, 2, 3, 3), (3,), seed=6)),
    "max_pool_softmax": (lambda x: F.softmax(F.max_pool2d(x, 2), dim=1), lambda: _rand((1, 2, 4, 4), seed=7)),
    "cumsum_prod_norm": (lambda x: (x.cumsum(1) * x.prod(0)).norm(dim=1), lambda: _rand((3, 4), seed=8, low=0.5, high=1.5)),
    "gather_scatter": (lambda x: x.gather(1, edunn.tensor([[0, 0], [2, 1]], device=x.device)).exp()
                       .scatter_add(1, edunn.tensor([[1, 1], [0, 0]], device=x.device), x[:, :2]),
                       lambda: _rand((2, 3), seed=9)),
    "linalg": (lambda a, b: (a @ a.transpose(0, 1) + 3 * edunn.eye(3, dtype=a.dtype, device=a.device)).inverse() @ b,
               lambda: _rand((3, 3), (3, 2), seed=10)),
    "layer_norm_gelu": (lambda x, w: F.gelu(F.layer_norm(x, (4,), w)), lambda: _rand((3, 4), (4,), seed=11)),
    "cross_entropy": (lambda x: F.cross_entropy(x, edunn.tensor([2, 0, 1], device=x.device), label_smoothing=0.1),
                      lambda: _rand((3, 4), seed=12)),
}


@pytest.mark.parametrize("name", list(GRADCHECK))
def test_gradcheck_in_float64_on_the_device(name, gpu):
    fn, make = GRADCHECK[name]
    inputs = [edunn.tensor(a, dtype=edunn.float64, device=gpu, requires_grad=True) for a in make()]
    assert autograd.gradcheck(fn, inputs, eps=1e-6, atol=1e-6, rtol=1e-4)
    # the same backward on the CPU gives the same numbers
    cpu = [edunn.tensor(a, dtype=edunn.float64, requires_grad=True) for a in make()]
    out_d, out_c = fn(*inputs), fn(*cpu)
    out_d.sum().backward()
    out_c.sum().backward()
    np.testing.assert_allclose(_np(out_d), _np(out_c), rtol=RTOL64, atol=ATOL64)
    for a, b in zip(inputs, cpu):
        assert _on(a.grad, gpu)
        np.testing.assert_allclose(_np(a.grad), _np(b.grad), rtol=1e-9, atol=1e-11)


@pytest.mark.parametrize("name", ["composite", "conv2d", "linalg", "layer_norm_gelu"])
def test_gradgradcheck_in_float64_on_the_device(name, gpu):
    fn, make = GRADCHECK[name]
    inputs = [edunn.tensor(a, dtype=edunn.float64, device=gpu, requires_grad=True) for a in make()]
    assert autograd.gradgradcheck(fn, inputs, eps=1e-6, atol=1e-5, rtol=1e-3)


def test_gradcheck_on_the_device_catches_a_wrong_backward(gpu):
    class BadSquare(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x * x

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return g * x  # should be 2 g x

    x = edunn.tensor([0.5, -1.0, 2.0], dtype=edunn.float64, requires_grad=True, device=gpu)
    assert not autograd.gradcheck(BadSquare.apply, (x,), raise_exception=False)
    with pytest.raises(autograd.GradcheckError):
        autograd.gradcheck(BadSquare.apply, (x,))


def test_custom_function_runs_on_the_device(gpu):
    class Cube(autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * g * x * x

    x = edunn.tensor([1.0, -2.0], dtype=edunn.float64, requires_grad=True, device=gpu)
    y = Cube.apply(x)
    assert _on(y, gpu) and y.grad_fn is not None
    (g,) = autograd.grad(y.sum(), x, create_graph=True)
    (gg,) = autograd.grad(g.sum(), x)
    assert _on(gg, gpu) and gg.tolist() == [6.0, -12.0]
    assert autograd.gradcheck(Cube.apply, (x,))


# ------------------------------------------------------------------- autograd.functional
def _f_vec(x, y):
    return (x.sin() * y).cumsum(0), (x * y).sum() ** 2


def _f_scalar(x, y):
    return (x ** 2 * y.exp()).sum() + (x * y).sum() ** 2


def test_functional_jacobian_hessian_on_the_device(gpu):
    (x, y), (xd, yd) = _pair(_rand((3,), (3,), seed=13), gpu, "float64")
    jd, jc = AF.jacobian(_f_vec, (xd, yd)), AF.jacobian(_f_vec, (x, y))
    hd, hc = AF.hessian(_f_scalar, (xd, yd)), AF.hessian(_f_scalar, (x, y))
    flat_d = [t for row in jd for t in row] + [t for row in hd for t in row]
    flat_c = [t for row in jc for t in row] + [t for row in hc for t in row]
    for a, b in zip(flat_d, flat_c):
        assert _on(a, gpu) and tuple(a.shape) == tuple(b.shape)
        np.testing.assert_allclose(_np(a), _np(b), rtol=RTOL64, atol=ATOL64)
    # the single-input form and the known answers
    j = AF.jacobian(lambda t: t.exp() * 2, xd)
    np.testing.assert_allclose(_np(j), np.diag(2 * np.exp(_np(xd))), rtol=1e-12)
    h = AF.hessian(lambda t: (t ** 3).sum(), xd)
    np.testing.assert_allclose(_np(h), np.diag(6 * _np(xd)), rtol=1e-12)
    assert _on(j, gpu) and _on(h, gpu)
    # create_graph=True keeps the Jacobian differentiable, on the device
    jg = AF.jacobian(lambda t: t ** 3, xd, create_graph=True)
    (d,) = autograd.grad(jg.sum(), xd)
    np.testing.assert_allclose(_np(d), 6 * _np(xd), rtol=1e-12)


def test_functional_jacobian_of_an_empty_output_is_on_the_device(gpu):
    x = edunn.ones(3, dtype=edunn.float64, device=gpu)
    j = AF.jacobian(lambda t: t[:0] * 2, x)
    assert tuple(j.shape) == (0, 3) and _on(j, gpu) and j.dtype == edunn.float64


def test_functional_vjp_jvp_vhp_hvp_on_the_device(gpu):
    (x, y), (xd, yd) = _pair(_rand((3,), (3,), seed=14), gpu, "float64")
    (vx, vy), (vxd, vyd) = _pair(_rand((3,), (3,), seed=15), gpu, "float64", grad=False)
    f1 = lambda a, b: (a.sin() * b).cumsum(0)  # noqa: E731
    pairs = [
        (AF.vjp(f1, (xd, yd), vxd), AF.vjp(f1, (x, y), vx)),
        (AF.jvp(f1, (xd, yd), (vxd, vyd)), AF.jvp(f1, (x, y), (vx, vy))),
        (AF.vhp(_f_scalar, (xd, yd), (vxd, vyd)), AF.vhp(_f_scalar, (x, y), (vx, vy))),
        (AF.hvp(_f_scalar, (xd, yd), (vxd, vyd)), AF.hvp(_f_scalar, (x, y), (vx, vy))),
    ]

    def flat(r):
        out = []
        for item in r:
            out.extend(item if isinstance(item, (tuple, list)) else [item])
        return out

    for d, c in pairs:
        for a, b in zip(flat(d), flat(c)):
            assert _on(a, gpu)
            np.testing.assert_allclose(_np(a), _np(b), rtol=RTOL64, atol=ATOL64)
    # J v from jvp equals the Jacobian times v
    _, jv = AF.jvp(f1, (xd, yd), (vxd, vyd))
    jx, jy = AF.jacobian(f1, (xd, yd))
    np.testing.assert_allclose(_np(jv), _np(jx) @ _np(vxd) + _np(jy) @ _np(vyd), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------ anomaly mode
def test_detect_anomaly_names_the_op_on_the_device(gpu):
    x = edunn.tensor([-1.0, 4.0], requires_grad=True, device=gpu)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with autograd.detect_anomaly():
            y = x.sqrt()
            with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th output"):
                y.sum().backward()
    assert not autograd.is_anomaly_enabled()
    # without anomaly mode the NaN gradient simply arrives, on the device
    x.grad = None
    x.sqrt().sum().backward()
    assert _on(x.grad, gpu) and bool(x.grad.isnan().any())


def test_set_detect_anomaly_without_nan_check_on_the_device(gpu):
    x = edunn.tensor([-1.0, 4.0], requires_grad=True, device=gpu)
    with autograd.set_detect_anomaly(True, check_nan=False):
        assert autograd.is_anomaly_enabled() and not autograd.is_anomaly_check_nan_enabled()
        x.sqrt().sum().backward()
    assert bool(x.grad.isnan().any())


def test_grad_modes_on_the_device(gpu):
    x = edunn.ones(3, requires_grad=True, device=gpu)
    with edunn.no_grad():
        assert not (x * 2).requires_grad
    with edunn.inference_mode():
        assert not (x * 2).requires_grad
    with edunn.set_grad_enabled(False):
        with edunn.enable_grad():
            y = x * 2
    assert y.requires_grad and _on(y, gpu)
    d = (x * 2).detach()
    assert not d.requires_grad and _on(d, gpu)
