"""One GPU kernel per parameter for the hottest optimizer updates (Adam/AdamW and SGD).

On a GPU the array path of an update (``adam()`` in ``adam.py``) launches a dozen small kernels
per parameter, and each launch costs CuPy more host time than the arithmetic costs the device.
Here each update is one CUDA ``ElementwiseKernel``: the same operations, in the same order, on
the same precision -- nvcc's fused multiply-add contraction is switched off (``--fmad=false``),
so every product and sum rounds once, as NumPy's does, and a GPU step equals the CPU's bit for
bit.  ``tests/optim/test_fused_kernels.py`` compiles every body below with the host's C++
compiler and checks it against the array path, value for value.

A :class:`KernelSpec` is plain data (``backend.elementwise_kernel`` compiles it with CuPy); the
bodies are specialised in Python per option set (maximize, weight decay, amsgrad ...), so a
kernel holds no branches that its options do not need.
"""
from __future__ import annotations

import functools
from typing import NamedTuple

__all__ = ["KernelSpec", "adam_kernel", "sgd_kernel", "fusable", "launch"]


class KernelSpec(NamedTuple):
    """An elementwise kernel: ``arrays`` are read per element, ``scalars`` are per-call numbers
    (all of type ``T``, the arrays' dtype), ``outputs`` are read and written in place."""
    name: str
    arrays: tuple
    scalars: tuple
    outputs: tuple
    body: str

    @property
    def in_params(self) -> str:
        return ", ".join(f"T {n}" for n in self.arrays + self.scalars)

    @property
    def out_params(self) -> str:
        return ", ".join(f"T {n}" for n in self.outputs)


# numpy.maximum's rule: NaN wins, in either argument (CUDA's fmax would drop it)
_MAXIMUM = "(({a}) != ({a}) || ({a}) >= ({b})) ? ({a}) : ({b})"


def _signed_grad_code(maximize: bool, weight_decay: bool) -> str:
    """``d = -/+ grad (+ weight_decay * param)``, as ``optimizer._signed_grad``."""
    if weight_decay:
        return f"T d = param * weight_decay {'-' if maximize else '+'} grad;"
    return "T d = -grad;" if maximize else "T d = grad;"


@functools.lru_cache(maxsize=None)
def adam_kernel(maximize: bool, weight_decay: bool, decoupled: bool, amsgrad: bool,
                small_weight: bool) -> KernelSpec:
    """Adam's step (``adam.adam``'s array path, one element at a time).  ``small_weight``:
    ``1 - beta1 < 0.5``, which picks ``lerp``'s formula."""
    lines = []
    if weight_decay and decoupled:
        lines.append("param = param * decay;")
    lines.append(_signed_grad_code(maximize, weight_decay and not decoupled))
    if small_weight:    # m.lerp_(d, w): m + w (d - m), or d - (d - m)(1 - w)
        lines.append("exp_avg = exp_avg + (d - exp_avg) * weight;")
    else:
        lines.append("exp_avg = d - (d - exp_avg) * one_minus_weight;")
    lines.append("exp_avg_sq = exp_avg_sq * beta2 + (d * one_minus_beta2) * d;")
    v = "exp_avg_sq"
    if amsgrad:
        lines.append("max_exp_avg_sq = " + _MAXIMUM.format(a="max_exp_avg_sq", b="exp_avg_sq") + ";")
        v = "max_exp_avg_sq"
    lines.append(f"T denom = sqrt({v}) / bias_correction2_sqrt + eps;")
    lines.append("param = param - (exp_avg / denom) * step_size;")
    name = "edunn_adam" + "".join(f"_{k}" for k, on in (
        ("max", maximize), ("wd", weight_decay and not decoupled), ("decay", weight_decay and decoupled),
        ("ams", amsgrad), ("small", small_weight)) if on)
    outputs = ("param", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
    return KernelSpec(name, ("grad",),
                      ("weight_decay", "decay", "weight", "one_minus_weight", "beta2",
                       "one_minus_beta2", "bias_correction2_sqrt", "eps", "step_size"),
                      outputs, "\n".join(lines))


@functools.lru_cache(maxsize=None)
def sgd_kernel(maximize: bool, weight_decay: bool, momentum: bool, first: bool, dampening: bool,
               nesterov: bool) -> KernelSpec:
    """SGD's step (``sgd.sgd``'s array path).  ``first``: the momentum buffer starts as the
    first (signed, decayed) gradient; ``dampening``: it is not zero."""
    lines = [_signed_grad_code(maximize, weight_decay)]
    if momentum:
        if first:
            lines.append("momentum_buffer = d;")
        elif dampening:
            lines.append("momentum_buffer = momentum_buffer * momentum + d * one_minus_dampening;")
        else:
            lines.append("momentum_buffer = momentum_buffer * momentum + d;")
        lines.append("d = d + momentum_buffer * momentum;" if nesterov else "d = momentum_buffer;")
    lines.append("param = param - d * lr;")
    name = "edunn_sgd" + "".join(f"_{k}" for k, on in (
        ("max", maximize), ("wd", weight_decay), ("mom", momentum), ("first", first),
        ("damp", dampening), ("nesterov", nesterov)) if on)
    return KernelSpec(name, ("grad",), ("weight_decay", "momentum", "one_minus_dampening", "lr"),
                      ("param",) + (("momentum_buffer",) if momentum else ()), "\n".join(lines))


def fusable(*arrays) -> bool:
    """Whether a fused kernel can run the update: GPU arrays of one real floating dtype with at
    least 32 bits (float16's arithmetic rounds differently in CUDA than in NumPy)."""
    from .. import backend
    first = arrays[0]
    return (backend.is_cupy_array(first) and first.dtype.kind == "f" and first.dtype.itemsize >= 4
            and all(a.dtype == first.dtype and backend.is_cupy_array(a) for a in arrays[1:]))


def launch(spec: KernelSpec, arrays: tuple, scalars: dict, outputs: tuple) -> None:
    """Run ``spec`` on the device: ``scalars`` by name (each cast to the arrays' dtype, as NumPy
    casts a Python number meeting a float32 array), ``outputs`` updated in place."""
    from .. import backend
    t = outputs[0].dtype.type
    backend.elementwise_kernel(spec)(*arrays, *(t(scalars[n]) for n in spec.scalars), *outputs)
