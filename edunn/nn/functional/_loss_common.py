"""What every loss function shares: the ``reduction`` strings and the deprecated
``size_average``/``reduce`` flags (PyTorch keeps these in ``torch/nn/_reduction.py``), and the
argument checks that make bad input fail as in PyTorch."""
from __future__ import annotations

import warnings
from typing import Any

from ...autograd import grad_mode
from ...tensor import Tensor
from .distance import _type_name


# ------------------------------------------------------------------------------------------------
# reductions (PyTorch's torch/nn/_reduction.py)
# ------------------------------------------------------------------------------------------------
def _legacy_get_string(size_average: bool | None, reduce: bool | None, emit_warning: bool = True,
                       stacklevel: int = 3) -> str:
    """The reduction that the deprecated ``size_average``/``reduce`` flags stand for (both
    default to True): 'mean' if both, 'sum' if only ``reduce``, else 'none'.  The warning points
    at the user's call, ``stacklevel`` frames up."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if (size_average and reduce) else ("sum" if reduce else "none")
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{ret}' instead.", stacklevel=stacklevel)
    return ret


def _get_reduction(reduction: str, stacklevel: int = 3) -> str:
    """``reduction`` checked: one of 'none', 'mean', 'sum' ('elementwise_mean' is a deprecated
    'mean')."""
    if reduction in ("none", "mean", "sum"):
        return reduction
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' "
                      "instead.", stacklevel=stacklevel)
        return "mean"
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    """The reduction a loss function was asked for: the legacy flags override ``reduction``."""
    if size_average is not None or reduce is not None:
        return _legacy_get_string(size_average, reduce, stacklevel=4)
    return _get_reduction(reduction, stacklevel=4)


def _reduce(loss: Tensor, reduction: str) -> Tensor:
    if reduction == "mean":
        return loss.mean()
    if reduction == "sum":
        return loss.sum()
    return loss


def _require_float(t: Tensor, kernel: str) -> None:
    if not t.is_floating_point():
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(t)}'")


def _no_grad_for(t: Tensor | None, arg: str, fn: str) -> None:
    """PyTorch refuses, at forward time, a gradient for an argument it cannot differentiate."""
    if t is not None and t.requires_grad and grad_mode.state.enabled:
        raise RuntimeError(f"The function '{fn}' is not differentiable with respect to argument "
                           f"'{arg}'. This input cannot have requires_grad True.")


def _warn_size(input: Tensor, target: Tensor) -> None:
    if target.shape != input.shape:
        warnings.warn(f"Using a target size ({target.shape}) that is different to the input size "
                      f"({input.shape}). This will likely lead to incorrect results due to "
                      "broadcasting. Please ensure they have the same size.", stacklevel=3)
