"""Loss functions (lesson 06; the distance-based ones in lesson 08).

Every loss takes ``reduction`` in {'none', 'mean', 'sum'} and, where PyTorch still does, the
deprecated ``size_average``/``reduce`` pair, turned into a reduction by PyTorch's own rule (with
its warning).  The formulas are ATen's, including the details that change numbers:

* ``cross_entropy`` / ``nll_loss``: 'mean' divides by the *sum of the weights* of the targets
  that are not ``ignore_index`` (not by N); label smoothing mixes the NLL with the mean
  log-probability over classes, weighted the same way;
* ``binary_cross_entropy`` clamps each log at -100, so probabilities of exactly 0 or 1 give
  finite losses, and its gradient divides by ``max(x (1 - x), 1e-12)``;
* ``binary_cross_entropy_with_logits`` uses ``log sigmoid(x) = min(x, 0) - log1p(exp(-|x|))``,
  finite for logits of any size.

Cross-entropy, NLL and both binary cross-entropies are single fused ops with a hand-written
backward (they sit in every training step); the others are compositions of tensor ops, so
autograd derives their gradients.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable

import edunn
from ... import backend
from ...autograd import grad_mode
from ...autograd.function import Function
from ...tensor import Tensor
from .activation import log_softmax, logsigmoid
from .distance import _check_tensor, _clamp_min_value_only, _type_name, pairwise_distance

__all__ = ["l1_loss", "mse_loss", "cross_entropy", "nll_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "kl_div", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", "margin_ranking_loss", "hinge_embedding_loss",
           "multilabel_margin_loss", "huber_loss", "smooth_l1_loss", "soft_margin_loss",
           "multilabel_soft_margin_loss", "cosine_embedding_loss", "multi_margin_loss",
           "triplet_margin_loss", "triplet_margin_with_distance_loss"]


# ------------------------------------------------------------------------------------------------
# reductions (PyTorch's torch/nn/_reduction.py)
# ------------------------------------------------------------------------------------------------
def _legacy_get_string(size_average: bool | None, reduce: bool | None, emit_warning: bool = True) -> str:
    """The reduction that the deprecated ``size_average``/``reduce`` flags stand for."""
    size_average = True if size_average is None else size_average
    reduce = True if reduce is None else reduce
    ret = "mean" if (size_average and reduce) else ("sum" if reduce else "none")
    if emit_warning:
        warnings.warn(f"size_average and reduce args will be deprecated, please use "
                      f"reduction='{ret}' instead.", stacklevel=3)
    return ret


def _get_reduction(reduction: str) -> str:
    if reduction in ("none", "mean", "sum"):
        return reduction
    if reduction == "elementwise_mean":
        warnings.warn("reduction='elementwise_mean' is deprecated. Please use reduction='mean' "
                      "instead.", stacklevel=3)
        return "mean"
    raise ValueError(f"{reduction} is not a valid value for reduction")


def _reduction(size_average: Any, reduce: Any, reduction: str) -> str:
    if size_average is not None or reduce is not None:
        return _legacy_get_string(size_average, reduce)
    return _get_reduction(reduction)


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
    r"""``l_n = |x_n - y_n|`` (times ``weight_n``); 'mean' with a weight divides by sum(weight)."""
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    return _weighted((input - target).abs(), weight, reduction, input, True)


def mse_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
             reduce: bool | None = None, reduction: str = "mean", weight: Tensor | None = None) -> Tensor:
    r"""``l_n = (x_n - y_n)^2`` (times ``weight_n``); 'mean' with a weight divides by sum(weight)."""
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if not (input.is_floating_point() or target.is_floating_point()):
        raise NotImplementedError(f"\"mse_cpu\" not implemented for '{_type_name(input)}'")
    d = input - target
    return _weighted(d * d, weight, reduction, input, True)


def huber_loss(input: Tensor, target: Tensor, reduction: str = "mean", delta: float = 1.0,
               weight: Tensor | None = None) -> Tensor:
    r"""``l_n = 0.5 d^2`` if ``|d| < delta`` else ``delta (|d| - 0.5 delta)``, d = x_n - y_n.

    Quadratic near 0, linear (slope ``delta``) beyond: MSE's smoothness with L1's robustness.
    'mean' with a weight is the plain mean of the weighted losses, as in PyTorch."""
    _warn_size(input, target)
    reduction = _get_reduction(reduction)
    if delta <= 0:
        raise RuntimeError("huber_loss does not support non-positive values for delta.")
    if not (input.is_floating_point() or target.is_floating_point()):
        raise NotImplementedError(f"\"huber_cpu\" not implemented for '{_type_name(input)}'")
    d = input - target
    z = d.abs()
    loss = edunn.where(z < delta, 0.5 * d * d, delta * (z - 0.5 * delta))
    return _weighted(loss, weight, reduction, input, False)


def smooth_l1_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                   reduce: bool | None = None, reduction: str = "mean", beta: float = 1.0) -> Tensor:
    r"""``l_n = 0.5 d^2 / beta`` if ``|d| < beta`` else ``|d| - 0.5 beta``; beta = 0 is L1."""
    _warn_size(input, target)
    reduction = _reduction(size_average, reduce, reduction)
    if beta < 0:
        raise RuntimeError("smooth_l1_loss does not support negative values for beta.")
    if beta == 0.0:
        return _reduce((input - target).abs(), reduction)
    if not (input.is_floating_point() or target.is_floating_point()):
        raise NotImplementedError(f"\"smooth_l1_cpu\" not implemented for '{_type_name(input)}'")
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
    """
    reduction = _reduction(size_average, reduce, reduction)
    if log_input:
        loss = input.exp() - target * input
    else:
        loss = input - target * (input + eps).log()
    if full:
        stirling = target * target.log() - target + 0.5 * (2 * math.pi * target).log()
        loss = loss + stirling.masked_fill(target <= 1, 0)
    return _reduce(loss, reduction)


def gaussian_nll_loss(input: Tensor, target: Tensor, var: Tensor | float, full: bool = False,
                      eps: float = 1e-6, reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of ``target ~ N(input, var)``:

        l = 0.5 (log max(var, eps) + (input - target)^2 / max(var, eps))  [+ 0.5 log(2 pi) if full]

    ``var`` has input's shape, or one dimension less / one dimension of size 1 (one variance
    shared by that dimension), or is a number.  The clamp at ``eps`` changes the value only: the
    gradient with respect to ``var`` is taken as if unclamped (PyTorch clamps under no_grad)."""
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
    and warns, as in PyTorch."""
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


# ------------------------------------------------------------------------------------------------
# classification: NLL and cross-entropy (fused)
# ------------------------------------------------------------------------------------------------
def _check_nll(input: Tensor, target: Tensor, weight: Tensor | None, fn: str) -> int:
    """ATen's checks of ``nll_loss_nd``: shapes, dtype, weight.  Returns the number of classes."""
    if input.dim() < 1:
        raise ValueError(f"Expected 1 or more dimensions (got {input.dim()})")
    if target.dtype not in (edunn.int64, edunn.uint8):
        raise RuntimeError(f"expected target dtype to be Long or Byte, but got {_type_name(target)}")
    if input.dim() != 1:
        tb = target.shape[0] if target.dim() > 0 else 0
        if input.shape[0] != tb:
            raise ValueError(f"Expected input batch_size ({input.shape[0]}) to match target "
                             f"batch_size ({tb}).")
    if input.dim() <= 2:
        if target.dim() > 1:
            raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
        if input.dim() == 1 and target.dim() == 1 and target.shape[0] != 1:
            raise ValueError(f"For 1D input, 1D target must have size 1, but got target size: "
                             f"{target.shape[0]}")
    else:
        if input.dim() == 4 and target.dim() != 3:
            raise RuntimeError("only batches of spatial targets supported (3D tensors) but got "
                               f"targets of dimension: {target.dim()}")
        expected = [input.shape[0], *input.shape[2:]]
        if list(target.shape) != expected:
            raise RuntimeError(f"Expected target size {expected}, got {list(target.shape)}")
    n_classes = input.shape[1] if input.dim() >= 2 else input.shape[0]
    if weight is not None:
        if weight.dim() != 1 or weight.numel() != n_classes:
            raise RuntimeError(f"weight tensor should be defined either for all {n_classes} classes "
                               f"or no classes but got weight tensor of shape: {list(weight.shape)}")
        if weight.dtype != input.dtype:
            raise RuntimeError(f"expected scalar type {_type_name(input)} but found {_type_name(weight)}")
        _no_grad_for(weight, "weight", fn)
    return n_classes


def _nll_pick(logp: Any, t: Any, w: Any, ignore_index: int, reduction: str) -> tuple:
    """On arrays (N, C, *) and (N, *): the loss, the safe targets and each target's coefficient
    in the gradient (``w[t] / sum of w[t]`` for 'mean', ``w[t]`` otherwise; 0 if ignored)."""
    xp = backend.array_module(logp)
    n_classes = logp.shape[1]
    if t.dtype != backend.int64.np:
        t = t.astype(backend.int64.np)   # uint8 targets: compare with ignore_index as integers
    valid = t != ignore_index
    bad = valid & ((t < 0) | (t >= n_classes))
    if bad.any():
        raise IndexError(f"Target {int(t[bad].ravel()[0])} is out of bounds.")
    tt = xp.where(valid, t, 0).astype(backend.int64.np)
    picked = xp.take_along_axis(logp, tt[:, None], axis=1)[:, 0]
    coef = valid.astype(logp.dtype) if w is None else w[tt] * valid
    loss = xp.where(valid, -picked * coef, xp.zeros((), logp.dtype))
    if reduction == "none":
        return loss, tt, coef
    if reduction == "sum":
        return loss.sum(dtype=logp.dtype), tt, coef
    total = coef.sum(dtype=logp.dtype)
    with backend.numpy.errstate(invalid="ignore", divide="ignore"):
        out = loss.sum(dtype=logp.dtype) / total  # nothing counted: 0/0 = nan, as PyTorch
        coef = coef / total
    return out, tt, coef


def _onehot(tt: Any, n_classes: int, dtype: Any) -> Any:
    """(N, *) class indices -> (N, C, *) one-hot array."""
    xp = backend.array_module(tt)
    classes = xp.arange(n_classes).reshape((1, n_classes) + (1,) * (tt.ndim - 1))
    return (tt[:, None] == classes).astype(dtype)


def _grad_per_row(grad: Tensor, reduction: str) -> Tensor:
    return grad.unsqueeze(1) if reduction == "none" else grad


class _NLLLoss(Function):
    """``l_n = -w_{y_n} x_{n, y_n}`` on log-probabilities ``x`` (N, C, *).  It is linear in x, so
    the gradient is a constant one-hot array times the incoming gradient."""

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction):
        xd = input._data
        w = None if weight is None else weight._data
        out, tt, coef = _nll_pick(xd, target._data, w, ignore_index, reduction)
        ctx.n_classes, ctx.tt, ctx.coef, ctx.reduction = xd.shape[1], tt, coef, reduction
        return out

    @staticmethod
    def backward(ctx, grad):
        a = _onehot(ctx.tt, ctx.n_classes, ctx.coef.dtype) * -ctx.coef[:, None]
        return Tensor._make(a) * _grad_per_row(grad, ctx.reduction), None, None, None, None


class _CrossEntropyLoss(Function):
    """log_softmax over dim 1 followed by NLL, in one op.  Forward shifts by the row maximum;
    backward is ``(softmax(x) - onehot(y)) * w_y / total``, built from the saved log-probs on
    arrays, or, when a graph of the backward is wanted (``create_graph``), from tensor ops
    on ``x`` so that it can be differentiated again."""

    @staticmethod
    def forward(ctx, input, target, weight, ignore_index, reduction):
        xd = input._data
        xp = backend.array_module(xd)
        if xd.size:
            z = xd - xd.max(axis=1, keepdims=True)
            logp = z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))
        else:
            logp = xd
        w = None if weight is None else weight._data
        out, tt, coef = _nll_pick(logp, target._data, w, ignore_index, reduction)
        ctx.logp, ctx.tt, ctx.coef, ctx.reduction = logp, tt, coef, reduction
        ctx.save_for_backward(input)
        return out

    @staticmethod
    def backward(ctx, grad):
        xp = backend.array_module(ctx.logp)
        logp = ctx.logp
        onehot = _onehot(ctx.tt, logp.shape[1], logp.dtype)
        if not grad_mode.state.enabled:  # the fast path: arrays only
            g = grad._data if ctx.reduction != "none" else grad._data[:, None]
            rows = ctx.coef[:, None] * g
            d = (xp.exp(logp) - onehot) * rows
            return Tensor._make(d.astype(logp.dtype, copy=False)), None, None, None, None
        x, = ctx.saved_tensors
        rows = Tensor._make(ctx.coef[:, None]) * _grad_per_row(grad, ctx.reduction)
        return (log_softmax(x, 1).exp() - Tensor._make(onehot)) * rows, None, None, None, None


def _as_batched(input: Tensor, target: Tensor) -> tuple:
    """An unbatched input (C) with a target () or (1) becomes a batch of one."""
    if input.dim() == 1:
        return input.unsqueeze(0), target.reshape(1), True
    return input, target, False


def _class_indices_loss(op: type, input: Tensor, target: Tensor, weight: Tensor | None,
                        ignore_index: int, reduction: str) -> Tensor:
    x, t, unbatched = _as_batched(input, target)
    out = op.apply(x, t, weight, ignore_index, reduction)
    return out.reshape(()) if unbatched and reduction == "none" else out


def nll_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
             size_average: bool | None = None, ignore_index: int = -100,
             reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    r"""Negative log-likelihood of class indices, on log-probabilities ``input``:

        l_n = -w_{y_n} input[n, y_n]   (0 where y_n = ignore_index)
        'mean' = sum_n l_n / sum_n w_{y_n} over the targets not ignored.

    Shapes: input ``(N, C)``, ``(C)`` or ``(N, C, d1, ..., dK)``; target ``(N)``, ``()`` or
    ``(N, d1, ..., dK)`` of int64 in [0, C).  Lesson 06."""
    _check_tensor(input, "input", "nll_loss")
    _check_tensor(target, "target", "nll_loss")
    reduction = _reduction(size_average, reduce, reduction)
    _check_nll(input, target, weight, "nll_loss_forward")
    _require_float(input, "nll_loss_out_frame")
    return _class_indices_loss(_NLLLoss, input, target, weight, ignore_index, reduction)


def cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                  size_average: bool | None = None, ignore_index: int = -100,
                  reduce: bool | None = None, reduction: str = "mean",
                  label_smoothing: float = 0.0) -> Tensor:
    r"""Cross-entropy between the logits ``input`` and a target that holds either class indices
    or class probabilities (when it has input's shape):

        indices:        l_n = -w_{y_n} log softmax(x_n)_{y_n}       ('mean': / sum w_{y_n})
        probabilities:  l_n = -sum_c w_c y_{n,c} log softmax(x_n)_c ('mean': / N)
        label_smoothing eps:  target -> (1 - eps) target + eps / C  (for indices:
                        (1 - eps) NLL + eps / C * sum_c -w_c log softmax(x_n)_c, same 'mean')

    Computed from log-softmax (shift by the maximum), so logits of any size are fine.  Shapes:
    input ``(N, C)``, ``(C)`` or ``(N, C, d1, ..., dK)``.  Lesson 06."""
    _check_tensor(input, "input", "cross_entropy")
    _check_tensor(target, "target", "cross_entropy")
    reduction = _reduction(size_average, reduce, reduction)
    class_dim = 0 if input.dim() == 1 else 1
    if input.shape == target.shape:
        return _cross_entropy_probs(input, target, weight, reduction, ignore_index, label_smoothing)
    n_classes = _check_nll(input, target, weight, "nll_loss_forward")
    _require_float(input, "log_softmax_lastdim_kernel_impl")
    if label_smoothing > 0.0:
        if label_smoothing > 1.0:
            raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
        if input.dim() == 1:
            target = target.reshape(())
        logp = log_softmax(input, class_dim)
        nll = _class_indices_loss(_NLLLoss, logp, target, weight, ignore_index, reduction)
        ignore = target == ignore_index
        if weight is not None:
            shape = [1] * input.dim()
            shape[class_dim] = n_classes
            smooth = -(logp * weight.reshape(shape)).sum(class_dim)
        else:
            smooth = -logp.sum(class_dim)
        smooth = smooth.masked_fill(ignore, 0.0)
        if reduction == "mean":
            if weight is not None:
                total = weight[target[~ignore]].sum()
            else:
                total = (~ignore).sum()
            smooth = smooth.sum() / total
        elif reduction == "sum":
            smooth = smooth.sum()
        return (1 - label_smoothing) * nll + smooth * (label_smoothing / n_classes)
    return _class_indices_loss(_CrossEntropyLoss, input, target, weight, ignore_index, reduction)


def _cross_entropy_probs(input: Tensor, target: Tensor, weight: Tensor | None, reduction: str,
                         ignore_index: int, label_smoothing: float) -> Tensor:
    if not target.is_floating_point():
        raise RuntimeError("Expected floating point type for target with class probabilities, "
                           f"got {_type_name(target)}")
    if ignore_index >= 0:
        raise RuntimeError("ignore_index is not supported for floating point target")
    class_dim = 0 if input.dim() == 1 else 1
    n_classes = input.shape[class_dim]
    if weight is not None and (weight.dim() != 1 or weight.numel() != n_classes):
        raise RuntimeError(f"cross_entropy: weight tensor should be defined either for all "
                           f"{n_classes} classes or no classes but got weight tensor of shape: "
                           f"{list(weight.shape)}")
    _require_float(input, "log_softmax_lastdim_kernel_impl")
    logp = log_softmax(input, class_dim)
    if label_smoothing > 0.0:
        if label_smoothing > 1.0:
            raise RuntimeError(f"label_smoothing must be between 0.0 and 1.0. Got: {label_smoothing}")
        target = target * (1 - label_smoothing) + label_smoothing / n_classes
    prod = logp * target
    if weight is not None:
        shape = [1] * input.dim()
        if input.dim() > 1:
            shape[1] = n_classes
        prod = prod * weight.reshape(shape)
    if reduction == "mean":
        if input.numel() == 0:
            return -prod.sum() * float("nan")
        return -prod.sum() / (input.numel() / n_classes)
    if reduction == "sum":
        return -prod.sum()
    return -prod.sum(class_dim)


# ------------------------------------------------------------------------------------------------
# binary cross-entropy (fused)
# ------------------------------------------------------------------------------------------------
def _reduce_array(loss: Any, reduction: str) -> Any:
    if reduction == "mean":
        return loss.mean(dtype=loss.dtype)
    if reduction == "sum":
        return loss.sum(dtype=loss.dtype)
    return loss


def _grad_scale(grad: Tensor, reduction: str, n: int) -> Tensor:
    return grad / n if reduction == "mean" else grad


class _BinaryCrossEntropy(Function):
    """``l = -w (y max(log x, -100) + (1 - y) max(log(1 - x), -100))``;
    dl/dx = w (x - y) / max(x (1 - x), 1e-12),  dl/dy = w (log(1 - x) - log x)  (ATen's)."""

    @staticmethod
    def forward(ctx, x, y, w, reduction):
        xd, yd = x._data, y._data
        xp = backend.array_module(xd)
        if not bool(((xd >= 0) & (xd <= 1)).all()):
            bad = xd[~((xd >= 0) & (xd <= 1))].ravel()[0]
            raise RuntimeError(f"all elements of input should be between 0 and 1, got {bad}")
        if not bool(((yd >= 0) & (yd <= 1)).all()):
            bad = yd[~((yd >= 0) & (yd <= 1))].ravel()[0]
            raise RuntimeError(f"all elements of target should be between 0 and 1, got {bad}")
        lo = xp.asarray(-100, dtype=xd.dtype)
        with backend.numpy.errstate(divide="ignore"):
            loss = (yd - 1) * xp.maximum(xp.log1p(-xd), lo) - yd * xp.maximum(xp.log(xd), lo)
        if w is not None:
            loss = loss * w._data
        ctx.reduction, ctx.n = reduction, loss.size
        ctx.save_for_backward(x, y, w)
        return _reduce_array(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, w = ctx.saved_tensors
        g = _grad_scale(grad, ctx.reduction, ctx.n)
        if w is not None:
            g = g * w
        gx = g * (x - y) / ((1 - x) * x).clamp_min(1e-12) if ctx.needs_input_grad[0] else None
        gy = None
        if ctx.needs_input_grad[1]:
            with backend.numpy.errstate(divide="ignore"):
                gy = g * ((-x).log1p() - x.log())
        return gx, gy, None, None


def binary_cross_entropy(input: Tensor, target: Tensor, weight: Tensor | None = None,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    r"""Binary cross-entropy between probabilities ``input`` and ``target`` (same shape, in [0, 1]):

        l_n = -w_n [ y_n log x_n + (1 - y_n) log(1 - x_n) ],  each log clamped at -100

    so x = 0 or 1 give finite losses.  ``weight`` broadcasts to the target's shape.  Lesson 06."""
    _check_tensor(input, "input", "binary_cross_entropy")
    _check_tensor(target, "target", "binary_cross_entropy")
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Using a target size ({target.shape}) that is different to the input size "
                         f"({input.shape}) is deprecated. Please ensure they have the same size.")
    _require_float(input, "binary_cross_entropy")
    if target.dtype != input.dtype:
        raise RuntimeError(f"Found dtype {_type_name(target)} but expected {_type_name(input)}")
    if weight is not None:
        _no_grad_for(weight, "weight", "binary_cross_entropy")
        weight = weight.expand(edunn.broadcast_shapes(target.shape, weight.shape))
    return _BinaryCrossEntropy.apply(input, target, weight, reduction)


class _BCEWithLogits(Function):
    """``l = w [(1 - y) x - (1 + (p - 1) y) log sigmoid(x)]`` with ``log sigmoid(x) =
    min(x, 0) - log1p(exp(-|x|))``; dl/dx = w [(1 - y) - (1 + (p - 1) y) sigmoid(-x)],
    dl/dy = w [-x - (p - 1) log sigmoid(x)]."""

    @staticmethod
    def forward(ctx, x, y, w, pw, reduction):
        xd, yd = x._data, y._data
        xp = backend.array_module(xd)
        log_sig = xp.minimum(xd, 0) - xp.log1p(xp.exp(-xp.abs(xd)))
        if pw is not None:
            log_sig = log_sig * ((pw._data - 1) * yd + 1)
        loss = (1 - yd) * xd - log_sig
        if w is not None:
            loss = loss * w._data
        ctx.reduction, ctx.n = reduction, loss.size
        ctx.save_for_backward(x, y, w, pw)
        return _reduce_array(loss, reduction)

    @staticmethod
    def backward(ctx, grad):
        x, y, w, pw = ctx.saved_tensors
        g = _grad_scale(grad, ctx.reduction, ctx.n)
        if w is not None:
            g = g * w
        gx = gy = None
        if ctx.needs_input_grad[0]:
            s = (-x).sigmoid()
            gx = g * ((1 - y) - (s if pw is None else ((pw - 1) * y + 1) * s))
        if ctx.needs_input_grad[1]:
            gy = -x if pw is None else -x - (pw - 1) * logsigmoid(x)
            gy = g * gy
        return gx, gy, None, None, None


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     size_average: bool | None = None, reduce: bool | None = None,
                                     reduction: str = "mean", pos_weight: Tensor | None = None) -> Tensor:
    r"""Binary cross-entropy on logits, ``sigmoid`` folded in and computed stably:

        l_n = -w_n [ p_n y_n log sigmoid(x_n) + (1 - y_n) log(1 - sigmoid(x_n)) ]
            = w_n [ (1 - y_n) x_n - (1 + (p_n - 1) y_n) log sigmoid(x_n) ]

    with ``log sigmoid(x) = min(x, 0) - log1p(exp(-|x|))``, finite for any logit.
    ``pos_weight`` (p) weighs the positive term and broadcasts with the target.  Lesson 06."""
    _check_tensor(input, "input", "binary_cross_entropy_with_logits")
    _check_tensor(target, "target", "binary_cross_entropy_with_logits")
    reduction = _reduction(size_average, reduce, reduction)
    if target.shape != input.shape:
        raise ValueError(f"Target size ({target.shape}) must be the same as input size ({input.shape})")
    _require_float(input, "log_sigmoid_cpu")
    if not target.is_floating_point():
        raise RuntimeError(f"result type {_type_name(input)} can't be cast to the desired output "
                           f"type {_type_name(target)}")
    _no_grad_for(weight, "weight", "binary_cross_entropy_with_logits")
    _no_grad_for(pos_weight, "pos_weight", "binary_cross_entropy_with_logits")
    return _BCEWithLogits.apply(input, target, weight, pos_weight, reduction)


# ------------------------------------------------------------------------------------------------
# margin losses
# ------------------------------------------------------------------------------------------------
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    r"""``l = max(0, -y (x1 - x2) + margin)``, y in {1, -1}: x1 should rank higher when y = 1."""
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but "
                           f"got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    r"""``l = x`` where y = 1, ``max(0, margin - x)`` where y = -1 (x: a distance)."""
    reduction = _reduction(size_average, reduce, reduction)
    zeros = edunn.zeros_like(input)
    out = edunn.where(target != 1, (margin - input).clamp_min(0), zeros) + \
        edunn.where(target != -1, input, zeros)
    return _reduce(out, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    r"""``l = log(1 + exp(-y x))``, y in {1, -1}: the logistic loss of a two-class problem."""
    reduction = _reduction(size_average, reduce, reduction)
    if not (input.is_floating_point() or target.is_floating_point()):
        raise RuntimeError(f"result type Float can't be cast to the desired output type "
                           f"{_type_name(input)}")
    _no_grad_for(target, "target", "soft_margin_loss")
    return _reduce((-input * target).exp().log1p(), reduction)


def multilabel_soft_margin_loss(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                size_average: bool | None = None, reduce: bool | None = None,
                                reduction: str = "mean") -> Tensor:
    r"""One-vs-all logistic loss, averaged over the C classes of each sample:

        l_n = -1/C sum_c w_c [ y_nc log sigmoid(x_nc) + (1 - y_nc) log sigmoid(-x_nc) ]"""
    if size_average is not None or reduce is not None:
        reduction = _legacy_get_string(size_average, reduce)
    loss = -(target * logsigmoid(input) + (1 - target) * logsigmoid(-input))
    if weight is not None:
        loss = loss * weight
    class_dim = input.dim() - 1
    loss = loss.sum(class_dim) / input.shape[class_dim]
    if reduction not in ("none", "mean", "sum"):
        raise ValueError(reduction + " is not valid")
    return _reduce(loss, reduction)


def _check_margin_shapes(input: Tensor, target: Tensor, fn: str) -> tuple:
    """Input (N, C) or (C) (or ()), target (N) or (); returns them batched as (N, C), (N)."""
    if target.dtype != edunn.int64:
        raise RuntimeError(f"expected scalar type Long but found {_type_name(target)}")
    if input.dim() > 2 or (input.dim() == 2 and input.shape[1] == 0) or \
            (input.dim() == 1 and input.shape[0] == 0):
        raise RuntimeError(f"Expected non-empty vector or matrix with optional 0-dim batch size, "
                           f"but got: {list(input.shape)}")
    x = input.reshape(1, -1) if input.dim() < 2 else input
    n = x.shape[0]
    if not ((target.dim() == 1 and target.shape[0] == n) or (input.dim() < 2 and target.dim() == 0)):
        raise RuntimeError(f"{fn}: target tensor should be 1-D with size equal to the number of "
                           f"input samples (batch size). Expected target size [{n}], but got "
                           f"{list(target.shape)}. Input has shape {list(input.shape)}.")
    return x, target.reshape(n)


def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: bool | None = None,
                      reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    r"""Multi-class hinge loss: for each sample with class y,

        l = 1/C sum_{i != y} w_y max(0, margin - x_y + x_i)^p,   p in {1, 2}"""
    reduction = _reduction(size_average, reduce, reduction)
    if p != 1 and p != 2:
        raise ValueError("only p == 1 and p == 2 supported")
    if weight is not None and weight.dim() != 1:
        raise ValueError("weight must be one-dimensional")
    x, t = _check_margin_shapes(input, target, "multi_margin_loss")
    _require_float(input, "multi_margin_loss_cpu_kernel")
    n_classes = x.shape[1]
    if weight is not None:
        if weight.numel() != n_classes:
            raise RuntimeError(f"inconsistent weight size, expected {n_classes} but got {list(weight.shape)}")
        _no_grad_for(weight, "weight", "multi_margin_loss")
    if bool(((t < 0) | (t >= n_classes)).any()):
        bad = t[(t < 0) | (t >= n_classes)][0].item()
        raise RuntimeError(f"target out of range: got {bad} for {n_classes} classes")
    t1 = t.unsqueeze(1)
    z = (margin - x.gather(1, t1) + x).relu()     # relu: no gradient at z = 0, as ATen's z > 0
    if p == 2:
        z = z * z
    if weight is not None:
        z = z * weight[t].unsqueeze(1)
    not_target = edunn.ones_like(z).scatter(1, t1, 0.0)   # the sum skips i = y
    loss = (z * not_target).sum(1) / n_classes
    if input.dim() < 2 and reduction == "none":
        loss = loss.reshape(())
    return _reduce(loss, reduction)


def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    r"""Multi-label hinge loss.  ``target`` holds each sample's classes, ended by the first -1:

        l = 1/C sum_{j in targets} sum_{i not in targets} max(0, 1 - (x_j - x_i))"""
    reduction = _reduction(size_average, reduce, reduction)
    if target.dtype != edunn.int64:
        raise RuntimeError(f"expected scalar type Long but found {_type_name(target)}")
    if input.dim() > 2 or target.shape != input.shape and not (input.dim() == 0 and target.numel() == 1):
        raise RuntimeError(f"inconsistent target size: {list(target.shape)} for input of size: "
                           f"{list(input.shape)}")
    _require_float(input, "multilabel_margin_loss_forward_out_frame")
    x = input.reshape(-1, input.shape[-1] if input.dim() else 1)
    t = target.reshape(x.shape)
    n_classes = x.shape[1]
    td = t._data
    xp = backend.array_module(td)
    if bool(((td < -1) | (td >= n_classes)).any()):
        raise RuntimeError(f"argument #2 'target' is out of range: values must be in [-1, "
                           f"{n_classes}), got {int(td[(td < -1) | (td >= n_classes)].ravel()[0])}")
    valid = xp.cumprod(td != -1, axis=1).astype(bool)          # the prefix before the first -1
    safe = xp.where(valid, td, 0)
    is_target = xp.zeros(x.shape, bool)
    rows = xp.broadcast_to(xp.arange(x.shape[0])[:, None], td.shape)
    is_target[rows[valid], safe[valid]] = True
    x_t = x.gather(1, Tensor._make(safe))                           # (N, K): x at each target
    z = (1 - x_t.unsqueeze(2) + x.unsqueeze(1)).relu()              # (N, K, C)
    mask = (valid[:, :, None] & ~is_target[:, None, :]).astype(x._data.dtype)
    loss = (z * Tensor._make(mask)).sum((1, 2)) / n_classes
    if input.dim() < 2 and reduction == "none":
        loss = loss.reshape(())
    return _reduce(loss, reduction)


# ------------------------------------------------------------------------------------------------
# embedding losses (lesson 08)
# ------------------------------------------------------------------------------------------------
def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                          size_average: bool | None = None, reduce: bool | None = None,
                          reduction: str = "mean") -> Tensor:
    r"""``l = 1 - cos(x1, x2)`` where y = 1, ``max(0, cos(x1, x2) - margin)`` where y = -1, with
    ``cos = <x1, x2> / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))`` (ATen's)."""
    reduction = _reduction(size_average, reduce, reduction)
    td = target.dim()
    if td not in (0, 1):
        raise RuntimeError("0D or 1D target tensor expected, multi-target not supported")
    if td == 1 and (input1.dim() != 2 or input2.dim() != 2):
        raise RuntimeError(f"1D target tensor expects 2D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    if td == 0 and (input1.dim() != 1 or input2.dim() != 1):
        raise RuntimeError(f"0D target tensor expects 1D input tensors, but found inputs with sizes "
                           f"{list(input1.shape)} and {list(input2.shape)}.")
    eps = 1e-12
    prod_sum = (input1 * input2).sum(td)
    mag1 = (input1 * input1).sum(td) + eps
    mag2 = (input2 * input2).sum(td) + eps
    cos = prod_sum / (mag1 * mag2).sqrt()
    zeros = edunn.zeros_like(cos)
    out = edunn.where(target == 1, 1 - cos, zeros) + \
        edunn.where(target == -1, (cos - margin).clamp_min(0), zeros)
    return _reduce(out, reduction)


def _check_triplet_dims(anchor: Tensor, positive: Tensor, negative: Tensor) -> None:
    a, p, n = anchor.dim(), positive.dim(), negative.dim()
    if not (a == p == n):
        raise RuntimeError(f"The anchor, positive, and negative tensors are expected to have the "
                           f"same number of dimensions, but got: anchor {a}D, positive {p}D, and "
                           f"negative {n}D inputs")


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2, eps: float = 1e-6, swap: bool = False,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    r"""``l = max(0, d(a, p) - d(a, n) + margin)`` with ``d`` = ``pairwise_distance(p, eps)``;
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance (Balntas et al. 2016)."""
    reduction = _reduction(size_average, reduce, reduction)
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    d_pos = pairwise_distance(anchor, positive, p, eps)
    d_neg = pairwise_distance(anchor, negative, p, eps)
    if swap:
        d_neg = edunn.minimum(d_neg, pairwise_distance(positive, negative, p, eps))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)


def triplet_margin_with_distance_loss(anchor: Tensor, positive: Tensor, negative: Tensor, *,
                                      distance_function: Callable | None = None,
                                      margin: float = 1.0, swap: bool = False,
                                      reduction: str = "mean") -> Tensor:
    r"""``triplet_margin_loss`` with any ``distance_function(x1, x2) -> Tensor`` (default
    ``pairwise_distance``): ``l = max(0, d(a, p) - d(a, n) + margin)``."""
    if reduction not in ("mean", "sum", "none"):
        raise ValueError(f"{reduction} is not a valid value for reduction")
    if margin <= 0:
        raise ValueError(f"margin must be greater than 0, got {margin}")
    _check_triplet_dims(anchor, positive, negative)
    dist = pairwise_distance if distance_function is None else distance_function
    d_pos = dist(anchor, positive)
    d_neg = dist(anchor, negative)
    if swap:
        d_neg = edunn.minimum(d_neg, dist(positive, negative))
    return _reduce((margin + d_pos - d_neg).clamp_min(0), reduction)
