"""``cupy.ElementwiseKernel`` of the stand-in: the kernel's body is compiled by the host's C++
compiler and run once per element (``tests/_host_kernels.py``), so edunn's fused GPU kernels run
their real source on the pretend device."""
from __future__ import annotations

import pathlib
import tempfile

from ._array import ndarray, unwrap

_BUILD = {}


class ElementwiseKernel:
    def __init__(self, in_params, out_params, operation, name="kernel", reduce_dims=True,
                 preamble="", no_return=False, return_tuple=False, loop_prep="", after_loop="",
                 options=()):
        self.in_params = [p.strip() for p in in_params.split(",") if p.strip()]
        self.out_params = [p.strip() for p in out_params.split(",") if p.strip()]
        self.operation, self.name, self.reduce_dims = operation, name, reduce_dims
        if preamble or loop_prep or after_loop:
            raise NotImplementedError("the CuPy stand-in runs kernels without preamble/loop_prep/after_loop")

    def __call__(self, *args, size=None, block_size=None):
        from _host_kernels import on_demand
        from edunn._kernels import KernelSpec, param_name

        n_in = len(self.in_params)
        if len(args) != n_in + len(self.out_params):
            raise TypeError(f"the CuPy stand-in needs every output of {self.name} passed in: "
                            f"{n_in} inputs and {len(self.out_params)} outputs, got {len(args)} arguments")
        inputs, outputs = args[:n_in], args[n_in:]
        arrays = tuple(d for d, a in zip(self.in_params, inputs) if isinstance(a, ndarray))
        scalars = tuple(d for d, a in zip(self.in_params, inputs) if not isinstance(a, ndarray))
        if self.in_params != list(arrays + scalars):
            raise NotImplementedError("the CuPy stand-in needs a kernel's array parameters before its scalars")
        spec = KernelSpec(self.name, arrays, scalars, tuple(self.out_params), self.operation, self.reduce_dims)
        if "launch" not in _BUILD:
            _BUILD["launch"], _BUILD["launched"] = on_demand(pathlib.Path(tempfile.mkdtemp(prefix="fake_cupy_")))
        originals: dict = {}
        host_arrays = tuple(unwrap(a, originals) for a in inputs if isinstance(a, ndarray))
        values = {param_name(d): unwrap(a, originals) for d, a in zip(self.in_params, inputs)
                  if not isinstance(a, ndarray)}
        _BUILD["launch"](spec, host_arrays, values, tuple(unwrap(o, originals) for o in outputs))
        return outputs[0] if len(outputs) == 1 else tuple(outputs)


class _NotModelled:
    def __init__(self, *args, **kwargs):
        raise NotImplementedError(f"the CuPy stand-in does not model cupy.{type(self).__name__}")


class RawKernel(_NotModelled):
    pass


class RawModule(_NotModelled):
    pass


class ReductionKernel(_NotModelled):
    pass
