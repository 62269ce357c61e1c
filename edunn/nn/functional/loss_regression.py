"""Regression and distribution losses: L1, MSE, Huber, smooth L1, Poisson and Gaussian
negative log-likelihoods and the KL divergence (lesson 06).  ``edunn.nn.functional.loss``
re-exports them.  Each is a composition of tensor ops, so autograd derives its gradient; the
formulas (and the checks that raise PyTorch's errors) are ATen's."""
from __future__ import annotations

import math
import warnings

import edunn
from ... import backend
from ...tensor import Tensor
from ...amp import _policy as _autocast
from ._loss_common import (_get_reduction, _legacy_get_string, _reduce, _reduction, _warn_size)
from .distance import _clamp_min_value_only

__all__ = ["l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "kl_div"]


# ------------------------------------------------------------------------------------------------
# regression losses
# ------------------------------------------------------------------------------------------------
def _weighted(loss: Tensor, weight: Tensor | None, reduction: str, input: Tensor, mean_by_weight: bool) -> Tensor:
    if weight is None:
        return _reduce(loss, reduction)
    if weight.shape != input.shape:
        raise ValueError("Weights and input must have the same size.")
    loss = loss * weight
    if reduction == "mean" and mean_by_weight:
        return loss.sum() / weight.sum()
    return _reduce(loss, reduction)


def l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
            reduce: bool | None = None, reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    r"""Mean absolute error: ``l_n = |x_n - y_n|`` (times ``weight_n``).

    'mean' with a weight divides by sum(weight).  Shapes: input ``(*)``, target and weight the
    same shape (a target that broadcasts is accepted, with PyTorch's warning).  Lesson 06."""
    if _autocast.active and "l1_loss" in _autocast.listed: return _autocast.call("l1_loss", l1_loss, input, target, size_average, reduce, reduction, weight)  # noqa: E501,E701
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    return _weighted((input - target).abs(), weight, reduction, input, True)


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    r"""Mean squared error: ``l_n = (x_n - y_n)^2`` (times ``weight_n``), the negative
    log-likelihood of a Gaussian with fixed variance, up to constants.

    'mean' with a weight divides by sum(weight).  Shapes: input ``(*)``, target and weight the
    same shape.  Lesson 06."""
    if _autocast.active and "mse_loss" in _autocast.listed: return _autocast.call("mse_loss", mse_loss, input, target, size_average, reduce, reduction, weight)  # noqa: E501,E701
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    _check_real_kernel("mse_cpu", input, target)
    d = input - target
    return _weighted(d * d, weight, reduction, input, True)


def _check_real_kernel(kernel: str, input: Tensor, target: Tensor) -> None:
    """PyTorch has ``mse``/``huber``/``smooth_l1`` kernels for floating dtypes only: integer or
    complex operands raise its NotImplementedError naming their promoted dtype (``Long``,
    ``ComplexFloat`` ...).  ``huber``'s kernel writes into a tensor of ``input``'s dtype, so a
    ``target`` of a higher kind (complex for a real ``input``, floating for an integer one) fails
    earlier, at that cast, as in PyTorch."""
    d = edunn.promote_types(input.dtype, target.dtype)
    if kernel == "huber_cpu" and not edunn.can_cast(d, input.dtype):
        raise RuntimeError(f"result type {d.scalar_name} can't be cast to the desired output "
                           f"type {input.dtype.scalar_name}")
    if not d.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{d.scalar_name}'")


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    r"""``l_n = 0.5 d^2`` if ``|d| < delta`` else ``delta (|d| - 0.5 delta)``, d = x_n - y_n.

    Quadratic near 0, linear (slope ``delta``) beyond: MSE's smoothness with L1's robustness.
    'mean' with a weight is the plain mean of the weighted losses, as in PyTorch.  Shapes:
    input ``(*)``, target and weight the same shape.  Lesson 06."""
    if _autocast.active and "huber_loss" in _autocast.listed: return _autocast.call("huber_loss", huber_loss, input, target, reduction, delta, weight)  # noqa: E501,E701
    _warn_size(input, target)
    reduction = _get_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    _check_real_kernel("huber_cpu", input, target)
    d = input - target
    z = d.abs()
    loss = edunn.where(z < delta, 0.5 * d * d, delta * (z - 0.5 * delta))
    return _weighted(loss, weight, reduction, input, False)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    r"""``l_n = 0.5 d^2 / beta`` if ``|d| < beta`` else ``|d| - 0.5 beta``, d = x_n - y_n.

    Huber's loss divided by ``beta``; beta = 0 is the L1 loss.  Shapes: input ``(*)``, target
    the same shape.  Lesson 06."""
    if _autocast.active and "smooth_l1_loss" in _autocast.listed: return _autocast.call("smooth_l1_loss", smooth_l1_loss, input, target, size_average, reduce, reduction, beta)  # noqa: E501,E701
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return _reduce((input - target).abs(), reduction)
    _check_real_kernel("smooth_l1_cpu", input, target)
    d = input - target
    z = d.abs()
    return _reduce(edunn.where(z < beta, 0.5 * d * d / beta, z - 0.5 * beta), reduction)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool = True, full: bool = False,
                     size_average: bool | None = None, eps: float = 1e-8, reduce: bool | None = None,
                     reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of ``target ~ Poisson(rate)``, constants dropped:

        log_input:      l = exp(x) - y x                 (x = log rate)
        otherwise:      l = x - y log(x + eps)           (x = rate)
        full:           + y log y - y + 0.5 log(2 pi y)  (Stirling), only where y > 1

    Shapes: input ``(*)``, target the same shape.  Lesson 06."""
    if _autocast.active and "poisson_nll_loss" in _autocast.listed: return _autocast.call("poisson_nll_loss", poisson_nll_loss, input, target, log_input, full, size_average, eps, reduce, reduction)  # noqa: E501,E701
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


@backend.on_input_device
def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of ``target ~ N(input, var)``:

        l = 0.5 (log max(var, eps) + (input - target)^2 / max(var, eps))  [+ 0.5 log(2 pi) if full]

    ``var`` has input's shape, or one dimension less / one dimension of size 1 (one variance
    shared by that dimension), or is a number.  The clamp at ``eps`` changes the value only: the
    gradient with respect to ``var`` is taken as if unclamped (PyTorch clamps under no_grad).
    Shapes: input ``(N, *)``, target the same.  Lesson 06."""
    if isinstance(var, (int, float)) and not isinstance(var, bool):
        if var < 0:
            raise ValueError("var has negative entry/entries")
        var = var * edunn.ones_like(input)
    elif bool((var < 0).any()):
        raise ValueError("var has negative entry/entries")
    if var.shape != input.shape:
        if tuple(input.shape[:-1]) == tuple(var.shape):
            var = var.unsqueeze(-1)     # one variance per row: broadcast over the last dimension
        elif input.dim() == var.dim() and \
                sum(y for x, y in zip(input.shape, var.shape) if x != y) == 1:
            pass                        # exactly one dimension of size 1: broadcasts
        else:
            raise ValueError(f"var is of incorrect size: expected {list(input.shape)}, "
                             f"{list(input.shape[:-1])} or a shape with one dimension of size 1, "
                             f"got {list(var.shape)}")
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    var = _clamp_min_value_only(var, eps)
    loss = 0.5 * (var.log() + (input - target) ** 2 / var)
    if full:
        loss = loss + 0.5 * math.log(2 * math.pi)
    return _reduce(loss, reduction)


def kl_div(input: Tensor, target: Tensor, size_average: bool | None = None,
           reduce: bool | None = None, reduction: str = "mean", log_target: bool = False) -> Tensor:
    r"""Kullback-Leibler divergence with ``input`` = log q and ``target`` = p (or log p):

        l = p (log p - log q)  =  xlogy(p, p) - p input       (log_target: exp(t) (t - input))

    'batchmean' (sum / batch size) is the true KL divergence; 'mean' divides by every element
    and warns, as in PyTorch.  Shapes: input ``(*)``, target broadcastable to it.  Lesson 06."""
    if _autocast.active and "kl_div" in _autocast.listed: return _autocast.call("kl_div", kl_div, input, target, size_average, reduce, reduction, log_target)  # noqa: E501,E701
    if not input.is_floating_point() or not target.is_floating_point():
        raise RuntimeError("kl_div: Integral inputs not supported.")
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    elif reduction == "mean":
        warnings.warn("reduction: 'mean' divides the total loss by both the batch size and the "
                      "support size.'batchmean' divides only by the batch size, and aligns with the "
                      "KL div math definition.'mean' will be changed to behave the same as "
                      "'batchmean' in the next major release.", stacklevel=2)
    if reduction != "batchmean":
        reduction = _get_reduction(reduction)
    if log_target:
        loss = target.exp() * (target - input)
    else:
        loss = edunn.xlogy(target, target) - target * input
    if reduction == "batchmean":
        out = loss.sum()
        return out / input.shape[0] if input.dim() != 0 else out
    return _reduce(loss, reduction)
