"""One GPU kernel per parameter for the hottest optimizer updates (Adam/AdamW and SGD).

On a GPU the array path of an update (``adam()`` in ``adam.py``) launches a dozen small kernels
per parameter.  Here each update is one ``ElementwiseKernel`` (``edunn._kernels``): the array
path's operations, in its order, at its precision, so a GPU step equals the CPU's bit for bit.
The bodies are specialised in Python per option set (maximize, weight decay, amsgrad ...), so a
kernel holds no branch its options do not need.  ``tests/optim/test_fused_kernels.py`` builds
every body with the host's C++ compiler and checks it against the array path.
"""
from __future__ import annotations

import functools

from .._kernels import KernelSpec

__all__ = ["adam_kernel", "sgd_kernel"]


def _typed(*names: str) -> tuple:
    return tuple(f"T {n}" for n in names)


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
        ("ams", amsgrad), ("wide", not small_weight)) if on)
    outputs = ("param", "exp_avg", "exp_avg_sq") + (("max_exp_avg_sq",) if amsgrad else ())
    return KernelSpec(name, ("T grad",), _typed(
        "weight_decay", "decay", "weight", "one_minus_weight", "beta2", "one_minus_beta2",
        "bias_correction2_sqrt", "eps", "step_size"), _typed(*outputs), "\n".join(lines))


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
    return KernelSpec(name, ("T grad",), _typed("weight_decay", "momentum", "one_minus_dampening", "lr"),
                      _typed("param", *(("momentum_buffer",) if momentum else ())), "\n".join(lines))
