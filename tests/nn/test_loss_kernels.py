"""The fused cross-entropy kernels of ``edunn.nn.functional._loss_kernels``, checked without a
GPU: ``cross_entropy`` takes its GPU branch on CPU arrays with the kernel bodies built by the
host's C++ compiler (``tests/_host_kernels.py``) and must give the array path's loss and
gradients -- ignored targets, a batch with nothing counted, NaN and infinite scores, a target out
of range and a second-order gradient included."""
import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from _host_kernels import CXX, NVCC, compile_for_gpu, compile_on_host, host_launch
from edunn import _kernels
from edunn.nn.functional import _loss_kernels

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

SPECS = [_loss_kernels.cross_entropy_forward_kernel(),
         _loss_kernels.cross_entropy_backward_kernel(False),
         _loss_kernels.cross_entropy_backward_kernel(True)]


@pytest.fixture(scope="module")
def host_build(tmp_path_factory):
    return compile_on_host(SPECS, tmp_path_factory.mktemp("loss"))


@pytest.fixture
def fused(host_build, monkeypatch):
    launched = []

    def run(fn):
        with monkeypatch.context() as mp:
            mp.setattr(_kernels, "fusable", lambda *arrays: True)
            mp.setattr(_kernels, "launch", host_launch(*host_build, launched))
            return fn()
    run.launched = launched
    return run


def _loss_and_grads(x_np, t_np, g_np, create_graph=False, **kw):
    x = edunn.tensor(x_np, requires_grad=True)
    loss = F.cross_entropy(x, edunn.tensor(t_np), **kw)
    (gx,) = edunn.autograd.grad(loss, x, edunn.tensor(g_np), create_graph=create_graph)
    out = [loss._data, gx._data]
    if create_graph:   # a second order: d/dx of sum(gx * x)
        out.append(edunn.autograd.grad((gx * x).sum(), x)[0]._data)
    return out


def _scores(dtype, rng, n=13, c=7):
    x = (rng.normal(size=(n, c)) * 3).astype(dtype)
    x[2, 3] = np.inf
    x[4, :] = -np.inf
    x[5, 1] = np.nan
    return x


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
@pytest.mark.parametrize("targets", ["plain", "ignored", "all_ignored", "uint8"])
def test_fused_cross_entropy_equals_array_path(fused, dtype, reduction, targets):
    rng = np.random.default_rng(0)
    x = _scores(dtype, rng)
    if targets != "all_ignored":   # the rows with inf / nan scores only where they are ignored
        x[2:6] = rng.normal(size=(4, x.shape[1])).astype(dtype)
    t = rng.integers(0, x.shape[1], x.shape[0])
    if targets == "ignored":
        t[[0, 7]] = 5 if reduction != "sum" else -100
    t = np.full_like(t, 3) if targets == "all_ignored" else t
    t = t.astype(np.uint8) if targets == "uint8" else t
    ignore = 3 if targets == "all_ignored" else (5 if reduction != "sum" else -100)
    g = rng.normal(size=x.shape[0] if reduction == "none" else ()).astype(dtype)
    want = _loss_and_grads(x, t, g, ignore_index=ignore, reduction=reduction)
    got = fused(lambda: _loss_and_grads(x, t, g, ignore_index=ignore, reduction=reduction))
    assert fused.launched == ["edunn_cross_entropy_forward",
                              "edunn_cross_entropy_backward" + ("_mean" if reduction == "mean" else "")]
    tol = 1e-6 if dtype == np.float32 else 1e-14
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    if targets == "all_ignored" and reduction == "mean":
        assert np.isnan(got[0])   # nothing counted: 0/0, as PyTorch


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_cross_entropy_nonfinite_scores(fused, dtype):
    rng = np.random.default_rng(1)
    x = _scores(dtype, rng)
    t = rng.integers(0, x.shape[1], x.shape[0])
    g = np.asarray(0.5, dtype)
    with np.errstate(invalid="ignore"):
        want = _loss_and_grads(x, t, g, reduction="sum")
        got = fused(lambda: _loss_and_grads(x, t, g, reduction="sum"))
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-6, equal_nan=True)


def test_fused_cross_entropy_second_order(fused):
    rng = np.random.default_rng(2)
    x, t = rng.normal(size=(6, 4)), np.array([0, 3, -100, 1, 2, 2])
    g = np.asarray(1.3)
    want = _loss_and_grads(x, t, g, create_graph=True)
    got = fused(lambda: _loss_and_grads(x, t, g, create_graph=True))
    assert fused.launched == ["edunn_cross_entropy_forward"]   # create_graph: differentiable ops
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_fused_cross_entropy_target_out_of_range(fused):
    x, t = np.zeros((3, 4)), np.array([1, 4, 0])
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        F.cross_entropy(edunn.tensor(x), edunn.tensor(t))
    with pytest.raises(IndexError, match="Target 4 is out of bounds"):
        fused(lambda: F.cross_entropy(edunn.tensor(x), edunn.tensor(t)))


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_loss_kernels_compile_for_the_gpu(tmp_path):
    done = compile_for_gpu(SPECS, tmp_path)
    assert done.returncode == 0, done.stderr


def test_many_classes_take_the_array_path(fused):
    # a row per thread suits classification, not a vocabulary: past MAX_CLASSES, no kernel
    x = np.zeros((2, _loss_kernels.MAX_CLASSES + 1))
    fused(lambda: F.cross_entropy(edunn.tensor(x), edunn.tensor([0, 1])))
    assert fused.launched == []
