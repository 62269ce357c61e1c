"""Fused GPU kernels: several array operations as one CUDA ``ElementwiseKernel`` launch.

On a GPU, edunn's speed on small and medium tensors is set by how many kernels it launches,
not by arithmetic: CuPy spends more host time launching a kernel than an H100 spends running
it.  Where a measured hot spot issues many small launches (an optimizer's update, max pooling),
it is written once more as one kernel here.  A :class:`KernelSpec` is plain data -- the C++ body
and its parameters -- so the same body can be compiled by CuPy on a GPU and, in the tests, by
the host's C++ compiler, and checked against the array path without a GPU
(``tests/_host_kernels.py``).

Conventions of a body (CuPy's): each element runs the body once; ``arrays`` are that element's
input values, ``outputs`` are references to its output elements (read and written), ``scalars``
are the same for every element, ``i`` is the element's index in C order over the outputs'
shape; a ``raw`` array or output is the whole array, indexed by flat position.  ``T`` is the
dtype of the first parameter declared with type ``T``.  Contraction of ``a * b + c`` into fused
multiply-adds is switched off (``--fmad=false``), so every operation rounds once, as NumPy's
do, and a fused elementwise body gives the CPU array path's numbers bit for bit (where the body
sums in another order, as cross-entropy's, to rounding).
"""
from __future__ import annotations

from typing import Any, NamedTuple

from . import backend

__all__ = ["KernelSpec", "on_gpu", "fusable", "launch"]


class KernelSpec(NamedTuple):
    """An elementwise kernel: parameters are declarations such as ``"T grad"`` or
    ``"int8 code"``.  ``reduce_dims=False`` keeps the outputs' shape for bodies that read
    ``i``."""
    name: str
    arrays: tuple
    scalars: tuple
    outputs: tuple
    body: str
    reduce_dims: bool = True

    @property
    def in_params(self) -> str:
        return ", ".join(self.arrays + self.scalars)

    @property
    def out_params(self) -> str:
        return ", ".join(self.outputs)


def param_type(decl: str) -> str:
    return decl.split()[-2]


def param_name(decl: str) -> str:
    return decl.split()[-1]


def is_raw(decl: str) -> bool:
    """A ``raw`` parameter is the whole array (``x[k]``: its element at flat C-order index
    ``k``), not one element per thread; it takes no part in broadcasting."""
    return decl.split()[0] == "raw"


def on_gpu(array: Any) -> bool:
    """Whether ``array`` lives on a GPU, where fewer and bigger kernel launches pay (the one
    place code asks this before choosing a GPU strategy; the host tests patch it)."""
    return backend.is_cupy_array(array)


def fusable(*arrays: Any) -> bool:
    """Whether a fused kernel runs an operation on these arrays: GPU arrays, the first of a real
    floating dtype with at least 32 bits (float16's arithmetic rounds differently in CUDA than
    in NumPy), every floating one of that same dtype."""
    first = arrays[0]
    return (on_gpu(first) and first.dtype.kind == "f" and first.dtype.itemsize >= 4
            and all(on_gpu(a) and (a.dtype == first.dtype or a.dtype.kind != "f") for a in arrays[1:]))


def launch(spec: KernelSpec, arrays: tuple, scalars: dict, outputs: tuple) -> None:
    """Run ``spec`` on the device.  ``scalars`` by name, each cast to its declared type (``T``:
    the arrays' dtype, as NumPy casts a Python number meeting a float32 array); ``outputs`` are
    written in place."""
    t = next(a for d, a in zip(spec.arrays + spec.outputs, arrays + outputs)
             if param_type(d) == "T").dtype.type
    values = tuple((t if param_type(d) == "T" else backend.numpy.dtype(param_type(d)).type)(
        scalars[param_name(d)]) for d in spec.scalars)
    guard = backend.device_guard(outputs)  # several GPUs: launch on the arrays' own device
    if guard is None:
        backend.elementwise_kernel(spec)(*arrays, *values, *outputs)
    else:
        with guard:
            backend.elementwise_kernel(spec)(*arrays, *values, *outputs)
