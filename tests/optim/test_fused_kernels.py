"""The fused GPU kernels of ``edunn.optim._fused``, checked without a GPU.

Every kernel body is compiled by the host's C++ compiler into a small library (one loop over the
elements around the body, as CuPy's ``ElementwiseKernel`` puts it in one thread per element;
inputs are values, outputs references), and ``adam()``/``sgd()`` are run through it in place of
the device launch.  The parameters and states must equal the array path's bit for bit: both
round every operation once in IEEE arithmetic (no contraction into fused multiply-adds, here
``-ffp-contract=off``, on the GPU ``--fmad=false``).  With nvcc installed, the same bodies are
also compiled for the GPU (PTX), which catches what only CUDA's compiler would refuse."""
import ctypes
import itertools
import shutil
import subprocess

import numpy as np
import pytest

import edunn
from edunn.optim import _fused
from edunn.optim.adam import adam
from edunn.optim.sgd import sgd

CXX = shutil.which("g++") or shutil.which("c++")
pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

ADAM_SPECS = sorted({_fused.adam_kernel(*c) for c in itertools.product([False, True], repeat=5)})
SGD_SPECS = sorted({_fused.sgd_kernel(*c) for c in itertools.product([False, True], repeat=6)})
CTYPES = {np.float32: ctypes.c_float, np.float64: ctypes.c_double}


def _signature(spec, t: str) -> str:
    return ", ".join(["long n"] + [f"const {t}* {a}_" for a in spec.arrays]
                     + [f"{t} {s}" for s in spec.scalars] + [f"{t}* {o}_" for o in spec.outputs])


def _element(spec) -> str:
    """The body with its per-element bindings, as CuPy binds them (``k``: the element)."""
    binds = [f"const T {a} = {a}_[k];" for a in spec.arrays] + [f"T& {o} = {o}_[k];" for o in spec.outputs]
    return "{ " + " ".join(binds) + "\n" + spec.body + "\n}"


def _host_source(specs) -> str:
    parts = ["#include <cmath>", "using std::sqrt;"]
    for spec in specs:
        for t in ("float", "double"):
            parts.append(f'extern "C" void {spec.name}_{t}({_signature(spec, t)}) {{\n'
                         f"  typedef {t} T;\n  for (long k = 0; k < n; ++k) {_element(spec)}\n}}")
    return "\n".join(parts)


@pytest.fixture(scope="module")
def host_kernels(tmp_path_factory):
    d = tmp_path_factory.mktemp("fused")
    src, lib = d / "kernels.cpp", d / "kernels.so"
    src.write_text(_host_source(ADAM_SPECS + SGD_SPECS))
    subprocess.run([CXX, "-O2", "-ffp-contract=off", "-fno-fast-math", "-shared", "-fPIC",
                    str(src), "-o", str(lib)], check=True, capture_output=True)
    return ctypes.CDLL(str(lib))


@pytest.fixture
def through_host_kernels(host_kernels, monkeypatch):
    """Make ``adam()``/``sgd()`` take their fused branch on CPU arrays, running the C++ build."""
    launched = []

    def launch(spec, arrays, scalars, outputs):
        dtype = outputs[0].dtype.type
        assert all(a.flags.c_contiguous and a.dtype == dtype for a in arrays + outputs)
        fn = getattr(host_kernels, f"{spec.name}_{'float' if dtype is np.float32 else 'double'}")
        c_scalar = CTYPES[dtype]
        fn(ctypes.c_long(outputs[0].size), *(a.ctypes.data_as(ctypes.c_void_p) for a in arrays),
           *(c_scalar(dtype(scalars[n])) for n in spec.scalars),
           *(o.ctypes.data_as(ctypes.c_void_p) for o in outputs))
        launched.append(spec.name)

    monkeypatch.setattr(_fused, "fusable", lambda *arrays: True)
    monkeypatch.setattr(_fused, "launch", launch)
    return launched


def _state(rng, dtype, n=257):
    """Parameter, gradient, and three positive moment buffers, with an inf, a NaN and zeros
    among the gradients so that the NaN rules and exact zeros are compared too."""
    grad = rng.normal(size=n).astype(dtype)
    grad[:3] = [0.0, -0.0, 1e-30]
    grad[3] = np.nan
    return [rng.normal(size=n).astype(dtype), grad] + [
        np.abs(rng.normal(size=n)).astype(dtype) for _ in range(3)]


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
    arrays = _state(np.random.default_rng(0), dtype)
    fused = _run_adam(arrays, 3, **options)
    assert len(through_host_kernels) == 3
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_fused, "fusable", lambda *a: False)
        plain = _run_adam(arrays, 3, **options)
    for got, want in zip(fused, plain):
        np.testing.assert_array_equal(got, want)
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
    arrays = _state(np.random.default_rng(1), dtype)
    fused = _run_sgd(arrays, 3, **options)
    assert len(through_host_kernels) == 3
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(_fused, "fusable", lambda *a: False)
        plain = _run_sgd(arrays, 3, **options)
    assert len(fused) == len(plain) == (2 if momentum else 1)
    for got, want in zip(fused, plain):
        np.testing.assert_array_equal(got, want)


def test_every_kernel_compiles_for_the_gpu(tmp_path):
    nvcc = shutil.which("nvcc")
    if nvcc is None:
        pytest.skip("nvcc is not installed")
    parts = []
    for spec in ADAM_SPECS + SGD_SPECS:
        for t in ("float", "double"):
            parts.append(f'extern "C" __global__ void {spec.name}_{t}({_signature(spec, t)}) {{\n'
                         f"  typedef {t} T;\n  long k = blockIdx.x * (long)blockDim.x + threadIdx.x;\n"
                         f"  if (k < n) {_element(spec)}\n}}")
    src = tmp_path / "kernels.cu"
    src.write_text("\n".join(parts))
    done = subprocess.run([nvcc, "-ptx", "--fmad=false", "-arch=compute_90", str(src), "-o",
                           str(tmp_path / "kernels.ptx")], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr


def test_fusable_only_for_gpu_arrays_of_one_wide_float_dtype():
    a = np.zeros(3, np.float32)
    assert not _fused.fusable(a, a)   # NumPy arrays take the array path
