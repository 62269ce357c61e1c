"""The fused im2col kernel of ``edunn.nn.functional._conv_kernels``, checked without a GPU:
the convolutions take their GPU branch on CPU arrays (the columns gathered by the kernel body,
built by the host's C++ compiler, ``tests/_host_kernels.py``; a stride-1 input gradient as the
flipped-kernel convolution) and must give the array path's outputs and gradients -- padding on
either side, strides, dilations, groups, 1d to 3d, and ``unfold``."""
import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from _host_kernels import CXX, NVCC, compile_for_gpu, on_demand
from edunn import _kernels
from edunn.nn.functional import _conv_kernels

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

CASES = [  # (input shape, weight shape, conv keyword arguments)
    ((2, 4, 9, 8), (6, 4, 3, 3), dict(padding=1)),
    ((2, 4, 9, 8), (6, 2, 3, 2), dict(padding=(2, 1), stride=(2, 1), dilation=(1, 2), groups=2)),
    ((3, 2, 11), (4, 2, 3), dict(padding=2, dilation=2)),
    ((1, 2, 5, 6, 4), (3, 2, 2, 3, 2), dict(padding=1, stride=2)),
    ((2, 3, 7, 7), (5, 3, 1, 1), {}),
]
CONVS = {3: F.conv1d, 4: F.conv2d, 5: F.conv3d}


@pytest.fixture
def gpu_branch(tmp_path, monkeypatch):
    """Run ``fn`` with the GPU strategies taken on CPU arrays; returns its result and the
    kernels launched."""
    def run(fn):
        launch, launched = on_demand(tmp_path)
        with monkeypatch.context() as mp:
            mp.setattr(_kernels, "on_gpu", lambda a: True)
            mp.setattr(_kernels, "launch", launch)
            return fn(), launched
    return run


def _conv_and_grads(x_np, w_np, g_np, kwargs):
    x, w = edunn.tensor(x_np, requires_grad=True), edunn.tensor(w_np, requires_grad=True)
    y = CONVS[x_np.ndim](x, w, **kwargs)
    y.backward(edunn.tensor(g_np))
    return [y._data, x.grad._data, w.grad._data]


@pytest.mark.parametrize("x_shape,w_shape,kwargs", CASES)
def test_fused_im2col_equals_array_path(gpu_branch, x_shape, w_shape, kwargs):
    rng = np.random.default_rng(0)
    x, w = rng.normal(size=x_shape), rng.normal(size=w_shape)
    g = rng.normal(size=tuple(CONVS[len(x_shape)](edunn.tensor(x), edunn.tensor(w), **kwargs).shape))
    want = _conv_and_grads(x, w, g, kwargs)
    got, launched = gpu_branch(lambda: _conv_and_grads(x, w, g, kwargs))
    assert launched and all(n.startswith("edunn_im2col") for n in launched)
    for a, b in zip(got, want):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_fused_im2col_gives_unfold(gpu_branch):
    x = np.random.default_rng(1).normal(size=(2, 3, 6, 7))

    def unfold():
        return F.unfold(edunn.tensor(x), (2, 3), dilation=(2, 1), padding=(1, 2), stride=(1, 2))._data
    got, launched = gpu_branch(unfold)
    assert len(launched) == 1
    np.testing.assert_array_equal(got, unfold())


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_im2col_kernels_compile_for_the_gpu(tmp_path):
    specs = [_conv_kernels.im2col_kernel(k, s, d, b) for k, s, d, b in (
        ((3, 3), (1, 1), (1, 1), (1, 1)), ((3,), (2,), (2,), (0,)), ((2, 3, 2), (2, 2, 2), (1, 1, 1), (1, 1, 1)))]
    done = compile_for_gpu(specs, tmp_path)
    assert done.returncode == 0, done.stderr
