"""The fused optimizer kernels of ``edunn.optim._fused``, checked without a GPU.

``adam()`` and ``sgd()`` take their GPU branch on CPU arrays, with every kernel body built by
the host's C++ compiler (``tests/_host_kernels.py``) in place of the device launch.  The
parameters and states must equal the array path's bit for bit: both round every operation once
in IEEE arithmetic.  With nvcc installed, the same bodies are also compiled for the GPU."""
import itertools

import numpy as np
import pytest

import edunn
from _host_kernels import CXX, NVCC, compile_for_gpu, compile_on_host, host_launch
from edunn import _kernels
from edunn.optim import _fused
from edunn.optim.adam import adam
from edunn.optim.sgd import sgd

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

SPECS = sorted({_fused.adam_kernel(*c) for c in itertools.product([False, True], repeat=5)}
               | {_fused.sgd_kernel(*c) for c in itertools.product([False, True], repeat=6)})


@pytest.fixture(scope="module")
def host_build(tmp_path_factory):
    return compile_on_host(SPECS, tmp_path_factory.mktemp("fused"))


@pytest.fixture
def through_host_kernels(host_build, monkeypatch):
    """Make ``adam()``/``sgd()`` take their fused branch on CPU arrays, running the C++ build."""
    launched = []
    monkeypatch.setattr(_kernels, "fusable", lambda *arrays: True)
    monkeypatch.setattr(_kernels, "launch", host_launch(*host_build, launched))
    return launched


def _state(rng, dtype, n=257):
    """Parameter, gradient, and three positive moment buffers, with an inf, a NaN and zeros
    among the gradients so that the NaN rules and exact zeros are compared too."""
    grad = rng.normal(size=n).astype(dtype)
    grad[:3] = [0.0, -0.0, 1e-30]
    grad[3] = np.nan
    return [rng.normal(size=n).astype(dtype), grad] + [
        np.abs(rng.normal(size=n)).astype(dtype) for _ in range(3)]


def _three_steps_both_ways(run, arrays, launched, options) -> list:
    """Three steps through the fused kernels (one launch each), then through the array path:
    the results must be equal bit for bit.  Returns the fused results."""
    fused = run(arrays, 3, **options)
    assert len(launched) == 3
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_kernels, "fusable", lambda *a: False)
        plain = run(arrays, 3, **options)
    assert len(fused) == len(plain)
    for got, want in zip(fused, plain):
        np.testing.assert_array_equal(got, want)
    return fused


def _run_adam(arrays, steps, **options):
    p, g, m, v, vmax = (edunn.tensor(a.copy()) for a in arrays)
    step = edunn.tensor(0.0)
    for _ in range(steps):
        adam([p], [g], [m], [v], [vmax], [step], eps=1e-8, **options)
    return [t._data for t in (p, m, v, vmax)]


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("maximize,weight_decay,decoupled,amsgrad,beta1",
                         list(itertools.product([False, True], [0.0, 0.1], [False, True],
                                                [False, True], [0.9, 0.3])))
def test_adam_kernel_equals_array_path(through_host_kernels, dtype, maximize, weight_decay,
                                       decoupled, amsgrad, beta1):
    options = dict(amsgrad=amsgrad, beta1=beta1, beta2=0.99, lr=0.01, weight_decay=weight_decay,
                   maximize=maximize, decoupled_weight_decay=decoupled)
    fused = _three_steps_both_ways(_run_adam, _state(np.random.default_rng(0), dtype),
                                   through_host_kernels, options)
    assert np.isnan(fused[0][3]) and not np.isnan(fused[0][4:]).any()


def _run_sgd(arrays, steps, **options):
    p, g = edunn.tensor(arrays[0].copy()), edunn.tensor(arrays[1].copy())
    bufs = [None]
    for _ in range(steps):
        sgd([p], [g], bufs, **options)
    return [p._data] + ([bufs[0]._data] if bufs[0] is not None else [])


@pytest.mark.parametrize("dtype", [np.float32, np.float64])
@pytest.mark.parametrize("maximize,weight_decay,momentum,dampening,nesterov",
                         [c for c in itertools.product([False, True], [0.0, 0.1], [0.0, 0.9],
                                                       [0.0, 0.25], [False, True])
                          if not (c[4] and (c[2] == 0 or c[3] != 0))])   # nesterov's own rule
def test_sgd_kernel_equals_array_path(through_host_kernels, dtype, maximize, weight_decay,
                                      momentum, dampening, nesterov):
    options = dict(weight_decay=weight_decay, momentum=momentum, lr=0.1, dampening=dampening,
                   nesterov=nesterov, maximize=maximize)
    fused = _three_steps_both_ways(_run_sgd, _state(np.random.default_rng(1), dtype),
                                   through_host_kernels, options)
    assert len(fused) == (2 if momentum else 1)


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_every_kernel_compiles_for_the_gpu(tmp_path):
    done = compile_for_gpu(SPECS, tmp_path)
    assert done.returncode == 0, done.stderr


def test_fused_kernels_only_for_gpu_arrays():
    a = np.zeros(3, np.float32)
    assert not _kernels.fusable(a, a)   # NumPy arrays take the array path
