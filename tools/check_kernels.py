"""Compile every fused GPU kernel of edunn as CuPy would, without a GPU (a developer check).

    python tools/check_kernels.py          # needs CuPy (any cupy-cuda* wheel) and nvcc; .ci/run
                                           # runs it with cupy-cuda13x 14.2 where nvcc exists

For each ``edunn._kernels.KernelSpec`` in use (the optimizers', max pooling's, im2col's,
cross-entropy's, ReLU's, the LSTM step's) and for T = float32 and float64, it asks CuPy's own
code generator for the CUDA source that an ``ElementwiseKernel`` call would compile (the
parameter bindings, ``CArray`` indexing of raw arrays, the loop over ``i``), prepends CuPy's
headers and compiles it with nvcc for sm_90 (H100), ``--fmad=false`` as
``backend.elementwise_kernel`` does: all of them in one file (each in its own namespace), and
one by one only to name the culprits when that fails.  The generator is CuPy's
private API (``cupy._core._kernel``, hence the pinned CuPy in CI), so this is a script, not a
test; the bodies' numbers are tested without CuPy by ``tests/_host_kernels.py``.
"""
import itertools
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))

import cupy  # noqa: E402
import cupy._core._kernel as cupy_kernel  # noqa: E402
import cupy._core.core as cupy_core  # noqa: E402
import numpy  # noqa: E402
from cupy._core import _carray, _scalar  # noqa: E402

from edunn._kernels import is_raw, param_type  # noqa: E402
from edunn.ops import elementwise  # noqa: E402
from edunn.nn.functional import _conv_kernels, _loss_kernels, _lstm_kernels, _pool_kernels  # noqa: E402
from edunn.optim import _fused  # noqa: E402

ND_ARRAY, INDEXER, SCALAR = 1, 2, 3   # cupy._core._kernel._ArgKind


def specs() -> list:
    out = {_fused.adam_kernel(*c) for c in itertools.product([False, True], repeat=5)}
    out |= {_fused.sgd_kernel(*c) for c in itertools.product([False, True], repeat=6)}
    out |= {_pool_kernels.tile_max_kernel(n, t) for n in range(2, _pool_kernels.MAX_OFFSETS + 1)
            for t in ("int8", "int32")}
    out |= {_pool_kernels.tile_put_kernel(k, t) for k in ((2,), (3,), (2, 2), (3, 3), (3, 2), (2, 2, 2))
            for t in ("int8", "int32")}
    out |= {_conv_kernels.im2col_kernel(k, s, d, b) for k, s, d, b in (
        ((3, 3), (1, 1), (1, 1), (1, 1)),     # the benchmark CNN's layers and conv2's input gradient
        ((3,), (2,), (2,), (0,)), ((2, 3, 2), (2, 2, 2), (1, 1, 1), (1, 1, 1)))}
    out |= {_lstm_kernels.lstm_cell_forward_kernel(), _lstm_kernels.lstm_cell_backward_kernel()}
    out |= {elementwise._RELU_BACKWARD, _loss_kernels.cross_entropy_forward_kernel(), _loss_kernels.cross_entropy_backward_kernel(False),
            _loss_kernels.cross_entropy_backward_kernel(True)}
    return sorted(out)


def cupy_source(spec, dtype) -> str:
    """The CUDA source CuPy generates for ``spec`` called with T = ``dtype`` (without headers)."""
    kernel = cupy.ElementwiseKernel(spec.in_params, spec.out_params, spec.body, spec.name,
                                    reduce_dims=spec.reduce_dims)

    def dtype_of(decl):
        return numpy.dtype(dtype if param_type(decl) == "T" else param_type(decl))
    ndim = 1 if spec.reduce_dims else 6
    infos, in_types = [], []
    for decl in spec.arrays:
        infos.append(cupy_kernel._ArgInfo(ND_ARRAY, cupy.ndarray, dtype_of(decl), 2 if is_raw(decl) else ndim,
                                          True, True))
        in_types.append(dtype_of(decl).type)
    for decl in spec.scalars:
        infos.append(cupy_kernel._ArgInfo(SCALAR, _scalar.CScalar, dtype_of(decl), 0, True, True))
        in_types.append(None)
    for decl in spec.outputs:
        infos.append(cupy_kernel._ArgInfo(ND_ARRAY, cupy.ndarray, dtype_of(decl), 2 if is_raw(decl) else ndim,
                                          True, True))
    infos.append(cupy_kernel._ArgInfo(INDEXER, _carray.Indexer, None, ndim, True, True))
    _, _, type_map = kernel._decide_params_type(tuple(in_types), tuple(dtype_of(d).type for d in spec.outputs))
    return cupy_kernel._get_elementwise_kernel_code(tuple(infos), type_map, kernel.params, kernel.operation,
                                                    kernel.name, kernel.preamble)


HEADERS = "".join(f"#include <{h}>\n" for h in cupy_core._cupy_header_list)


def compile_cuda(sources: list, tmp: str) -> subprocess.CompletedProcess:
    """nvcc on the given ``(kernel name, source)`` pairs in one file: each in a namespace of its
    own (they all say ``typedef ... T``) and renamed apart (``extern "C"`` names are global)."""
    src = os.path.join(tmp, "kernels.cu")
    with open(src, "w") as f:
        f.write(HEADERS + "".join(
            f"namespace k{n} {{\n{code.replace(f' {name}(', f' {name}_{n}(', 1)}\n}}\n"
            for n, (name, code) in enumerate(sources)))
    return subprocess.run(["nvcc", "-ptx", "-arch=compute_90", "--fmad=false", "-std=c++17",
                           "-I", cupy_core._get_header_dir_path(), *cupy_core._get_cccl_include_options(),
                           src, "-o", os.path.join(tmp, "kernels.ptx")], capture_output=True, text=True)


def main() -> int:
    variants = [(spec, dtype) for spec in specs() for dtype in (numpy.float32, numpy.float64)]
    sources = [(spec.name, cupy_source(spec, dtype)) for spec, dtype in variants]
    with tempfile.TemporaryDirectory() as tmp:
        failures = []
        if compile_cuda(sources, tmp).returncode:
            for (spec, dtype), source in zip(variants, sources):
                done = compile_cuda([source], tmp)
                if done.returncode:
                    failures.append(f"{spec.name} ({numpy.dtype(dtype).name}):\n{done.stderr[-2000:]}")
    for failure in failures:
        print(failure)
    print(f"{len(variants) - len(failures)} of {len(variants)} kernels compiled (CuPy {cupy.__version__}'s "
          "source, nvcc, sm_90)")
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
