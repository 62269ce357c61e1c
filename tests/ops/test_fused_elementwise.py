"""ReLU's fused GPU backward (``edunn.ops.elementwise._RELU_BACKWARD``), checked without a GPU:
the backward takes its GPU branch on CPU arrays with the body built by the host's C++ compiler
(``tests/_host_kernels.py``) and must equal the array path bit for bit -- zeros, negative
zeros, infinite and NaN gradients included."""
import numpy as np
import pytest

import edunn
from _host_kernels import CXX, NVCC, compile_for_gpu, compile_on_host, host_launch
from edunn import _kernels
from edunn.ops import elementwise

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
def test_fused_relu_backward_equals_array_path(tmp_path, monkeypatch, dtype):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(5, 7)).astype(dtype)
    x[0, :3] = [0.0, -0.0, np.inf]
    g = rng.normal(size=x.shape).astype(dtype)
    g[1, :4] = [np.inf, np.nan, -0.0, 0.0]
    g[2, 2], x[2, 2] = np.nan, -1.0

    def grad():
        t = edunn.tensor(x, requires_grad=True)
        edunn.relu(t).backward(edunn.tensor(g))
        return t.grad._data
    want = grad()
    launched = []
    monkeypatch.setattr(_kernels, "fusable", lambda *arrays: True)
    monkeypatch.setattr(_kernels, "launch", host_launch(*compile_on_host([elementwise._RELU_BACKWARD], tmp_path),
                                                         launched))
    got = grad()
    assert launched == ["edunn_relu_backward"]
    np.testing.assert_array_equal(got, want)
    np.testing.assert_array_equal(np.signbit(got), np.signbit(want))


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_relu_kernel_compiles_for_the_gpu(tmp_path):
    done = compile_for_gpu([elementwise._RELU_BACKWARD], tmp_path)
    assert done.returncode == 0, done.stderr

