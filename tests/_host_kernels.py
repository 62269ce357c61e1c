"""Run ``edunn._kernels`` GPU kernel bodies on the CPU, to check them without a GPU.

Each :class:`~edunn._kernels.KernelSpec` body is wrapped in a loop over the elements (CuPy runs
one thread per element with the same bindings: inputs by value, outputs by reference, ``i`` the
element's index) and compiled by the host's C++ compiler with contraction into fused
multiply-adds off, as ``--fmad=false`` does on the GPU.  :func:`host_launch` stands in for
``_kernels.launch``: code under test takes its GPU branch on NumPy arrays and runs the body
here.  :func:`compile_for_gpu` builds the same bodies with nvcc (PTX only, no GPU needed)."""
from __future__ import annotations

import ctypes
import shutil
import subprocess

import numpy as np

from edunn._kernels import is_raw, param_name, param_type

CXX = shutil.which("g++") or shutil.which("c++")
NVCC = shutil.which("nvcc")
_C_TYPES = {"int8": "signed char", "uint8": "unsigned char", "int16": "short", "int32": "int",
            "int64": "long long", "bool": "bool", "float32": "float", "float64": "double"}
_T_TYPES = {"float": np.float32, "double": np.float64}


def _c(decl: str, t: str) -> str:
    ty = param_type(decl)
    return t if ty == "T" else _C_TYPES[ty]


def _pointer(decl: str) -> str:
    """A raw parameter is the pointer itself; any other is bound per element from ``name_``."""
    return param_name(decl) + ("" if is_raw(decl) else "_")


def _signature(spec, t: str) -> str:
    return ", ".join(["long long n"] + [f"const {_c(d, t)}* {_pointer(d)}" for d in spec.arrays]
                     + [f"{_c(d, t)} {param_name(d)}" for d in spec.scalars]
                     + [f"{_c(d, t)}* {_pointer(d)}" for d in spec.outputs])


def _element(spec, t: str) -> str:
    binds = ([f"const {_c(d, t)} {param_name(d)} = {param_name(d)}_[i];" for d in spec.arrays if not is_raw(d)]
             + [f"{_c(d, t)}& {param_name(d)} = {param_name(d)}_[i];" for d in spec.outputs if not is_raw(d)])
    return "{ " + " ".join(binds) + "\n" + spec.body + "\n}"


def _symbol(index: int, t: str) -> str:
    return f"edunn_kernel_{index}_{t}"


def compile_on_host(specs, directory):
    """A ctypes library with every spec for T = float and T = double; returns ``(lib, index)``
    with ``index[spec]`` the spec's number in the library."""
    parts = ["#include <cmath>", "using std::exp; using std::log; using std::sqrt;"]
    for n, spec in enumerate(specs):
        for t in _T_TYPES:
            parts.append(f'extern "C" void {_symbol(n, t)}({_signature(spec, t)}) {{\n  typedef {t} T;\n'
                         f"  for (long long i = 0; i < n; ++i) {_element(spec, t)}\n}}")
    src, lib = directory / "kernels.cpp", directory / "kernels.so"
    src.write_text("\n".join(parts))
    done = subprocess.run([CXX, "-O2", "-ffp-contract=off", "-fno-fast-math", "-shared", "-fPIC",
                           str(src), "-o", str(lib)], capture_output=True, text=True)
    assert done.returncode == 0, done.stderr
    return ctypes.CDLL(str(lib)), {spec: n for n, spec in enumerate(specs)}


def compile_for_gpu(specs, directory) -> subprocess.CompletedProcess:
    """nvcc's verdict on every body as a CUDA kernel (one thread per element)."""
    parts = []
    for n, spec in enumerate(specs):
        for t in _T_TYPES:
            parts.append(f'extern "C" __global__ void {_symbol(n, t)}({_signature(spec, t)}) {{\n'
                         f"  typedef {t} T;\n  long long i = blockIdx.x * (long long)blockDim.x + threadIdx.x;\n"
                         f"  if (i < n) {_element(spec, t)}\n}}")
    src = directory / "kernels.cu"
    src.write_text("\n".join(parts))
    return subprocess.run([NVCC, "-ptx", "--fmad=false", "-arch=compute_90", str(src), "-o",
                           str(directory / "kernels.ptx")], capture_output=True, text=True)


def host_launch(lib, index, launched: list):
    """A stand-in for ``edunn._kernels.launch`` running the host build.  Inputs are broadcast to
    the (non-raw) outputs' shape, as CuPy does; outputs may be strided views: they are computed
    in contiguous copies and written back."""
    def launch(spec, arrays, scalars, outputs):
        t = next(a for d, a in zip(spec.arrays + spec.outputs, arrays + outputs)
                 if param_type(d) == "T").dtype.type
        name = "float" if t is np.float32 else "double"
        shape = next(o for d, o in zip(spec.outputs, outputs) if not is_raw(d)).shape
        assert all(o.shape == shape for d, o in zip(spec.outputs, outputs) if not is_raw(d))
        ins = [np.ascontiguousarray(a if is_raw(d) else np.broadcast_to(a, shape))
               for d, a in zip(spec.arrays, arrays)]
        outs = [np.ascontiguousarray(o) for o in outputs]
        for d, a in zip(spec.arrays + spec.outputs, ins + outs):
            want = t if param_type(d) == "T" else np.dtype(param_type(d)).type
            assert a.dtype == want, (d, a.dtype)
        values = []
        for d in spec.scalars:
            ty = t if param_type(d) == "T" else np.dtype(param_type(d)).type
            values.append(np.ctypeslib.as_ctypes_type(np.dtype(ty))(ty(scalars[param_name(d)])))
        getattr(lib, _symbol(index[spec], name))(
            ctypes.c_longlong(int(np.prod(shape))), *(a.ctypes.data_as(ctypes.c_void_p) for a in ins),
            *values, *(o.ctypes.data_as(ctypes.c_void_p) for o in outs))
        for o, c in zip(outputs, outs):
            if c is not o:
                o[...] = c
        launched.append(spec.name)
    return launch


def on_demand(directory):
    """``(launch, launched)``: a stand-in for ``_kernels.launch`` that builds each spec on the
    host the first time it is asked for (bodies that depend on a layer's shape, or code paths
    that take several), and the names of the kernels it ran."""
    launched, built = [], {}

    def launch(spec, arrays, scalars, outputs):
        if spec not in built:
            where = directory / f"k{len(built)}"
            where.mkdir()
            built[spec] = compile_on_host([spec], where)
        host_launch(*built[spec], launched)(spec, arrays, scalars, outputs)
    return launch, launched
