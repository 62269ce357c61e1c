"""The fused max-pooling kernels of ``edunn.nn.functional._pool_kernels``, checked without a GPU:
``max_pool`` takes its GPU branch on CPU arrays with the kernel bodies built by the host's C++
compiler (``tests/_host_kernels.py``), and must give the array path's values, indices and
gradients exactly -- ties, NaNs and windows that do not cover the input included."""

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from _host_kernels import CXX, NVCC, compile_for_gpu, compile_on_host, host_launch
from edunn import _kernels
from edunn.nn.functional import _pool_kernels

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

CASES = [  # (input shape, kernel size, pool)
    ((2, 3, 8, 8), 2, F.max_pool2d),
    ((2, 3, 9, 7), 2, F.max_pool2d),          # the last row / column belongs to no window
    ((1, 2, 6, 9), (3, 2), F.max_pool2d),
    ((2, 4, 10), 3, F.max_pool1d),
    ((1, 2, 4, 6, 5), 2, F.max_pool3d),
]
SPECS = sorted({_pool_kernels.tile_max_kernel(n, t) for n in (2, 3, 4, 6, 8) for t in ("int8", "int32")}
               | {_pool_kernels.tile_put_kernel(k, t) for k in ((2, 2), (3, 2), (3,), (2, 2, 2))
                  for t in ("int8", "int32")})


@pytest.fixture(scope="module")
def host_build(tmp_path_factory):
    return compile_on_host(SPECS, tmp_path_factory.mktemp("pool"))


def _input(shape, dtype, rng):
    """Values with ties (ReLU zeros) and, in one window, NaNs."""
    x = np.maximum(rng.normal(size=shape), 0).astype(dtype)
    flat = x.reshape(-1)
    flat[5] = flat[6] = np.nan
    return x


def _pool(x_np, g_np, kernel, pool):
    x = edunn.tensor(x_np, requires_grad=True)
    y, idx = pool(x, kernel, return_indices=True)
    y.backward(edunn.tensor(g_np))
    return y._data, idx._data, x.grad._data


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("shape,kernel,pool", CASES)
def test_fused_pool_equals_array_path(host_build, monkeypatch, dtype, shape, kernel, pool):
    rng = np.random.default_rng(0)
    x = _input(shape, dtype, rng)
    with_nan = x.copy()
    x[np.isnan(x)] = 0.5
    g_shape = pool(edunn.tensor(x), kernel).shape
    g = rng.normal(size=tuple(g_shape)).astype(dtype)
    for data in (x, with_nan):
        plain = _pool(data, g, kernel, pool)
        launched = []
        with monkeypatch.context() as mp:
            mp.setattr(_kernels, "fusable", lambda *arrays: True)
            mp.setattr(_kernels, "launch", host_launch(*host_build, launched))
            fused = _pool(data, g, kernel, pool)
        assert [n.split("_")[2] for n in launched] == ["max", "put"]
        for got, want in zip(fused, plain):
            np.testing.assert_array_equal(got, want)


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_pool_kernels_compile_for_the_gpu(tmp_path):
    done = compile_for_gpu(SPECS, tmp_path)
    assert done.returncode == 0, done.stderr
