"""Margin and embedding losses: ranking, hinge, soft-margin, multi-class and multi-label
margins, cosine embedding and triplet losses (lessons 06 and 08).  ``edunn.nn.functional.loss``
re-exports them; the equations are ATen's, with its strict ``z > 0`` hinges (no gradient at the
kink) where the kernel has them and ``clamp_min`` (gradient 1 at the kink) where ATen clamps."""
from __future__ import annotations

from typing import Callable

import edunn
from ... import backend
from ...tensor import Tensor
from ._loss_common import (_legacy_get_string, _no_grad_for, _reduce, _reduction, _require_float)
from .activation import logsigmoid
from .distance import _type_name, pairwise_distance
from ...amp import _policy as _autocast

__all__ = ["margin_ranking_loss", "hinge_embedding_loss", "soft_margin_loss",
           "multilabel_soft_margin_loss", "multi_margin_loss", "multilabel_margin_loss",
           "cosine_embedding_loss", "triplet_margin_loss", "triplet_margin_with_distance_loss"]


# ------------------------------------------------------------------------------------------------
# margin losses
# ------------------------------------------------------------------------------------------------
def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0,
                        size_average: bool | None = None, reduce: bool | None = None,
                        reduction: str = "mean") -> Tensor:
    r"""``l = max(0, -y (x1 - x2) + margin)``, y in {1, -1}: x1 should rank higher when y = 1.

    Shapes: ``(N)`` or ``()`` for all three.  Lesson 06."""
    if _autocast.active and "margin_ranking_loss" in _autocast.listed: return _autocast.call("margin_ranking_loss", margin_ranking_loss, input1, input2, target, margin, size_average, reduce, reduction)  # noqa: E501,E701
    reduction = _reduction(size_average, reduce, reduction)
    if input1.dim() != input2.dim() or input1.dim() != target.dim():
        raise RuntimeError(f"margin_ranking_loss : All input tensors should have same dimension but "
                           f"got sizes: input1: {input1.shape}, input2: {input2.shape}, "
                           f"target: {target.shape} ")
    return _reduce((-target * (input1 - input2) + margin).clamp_min(0), reduction)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0,
                         size_average: bool | None = None, reduce: bool | None = None,
                         reduction: str = "mean") -> Tensor:
    r"""``l = x`` where y = 1, ``max(0, margin - x)`` where y = -1 (x: a distance, so similar
    pairs are pulled together and dissimilar ones pushed beyond ``margin``).

    Shapes: input ``(*)``, target the same with values in {1, -1}.  Lesson 08."""
    if _autocast.active and "hinge_embedding_loss" in _autocast.listed: return _autocast.call("hinge_embedding_loss", hinge_embedding_loss, input, target, margin, size_average, reduce, reduction)  # noqa: E501,E701
    reduction = _reduction(size_average, reduce, reduction)
    zeros = edunn.zeros_like(input)
    out = edunn.where(target != 1, (margin - input).clamp_min(0), zeros) + \
        edunn.where(target != -1, input, zeros)
    return _reduce(out, reduction)


def soft_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                     reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    r"""``l = log(1 + exp(-y x))``, y in {1, -1}: the logistic loss of a two-class problem.

    Shapes: input ``(*)``, target the same.  Lesson 06."""
    if _autocast.active and "soft_margin_loss" in _autocast.listed: return _autocast.call("soft_margin_loss", soft_margin_loss, input, target, size_average, reduce, reduction)  # noqa: E501,E701
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

        l_n = -1/C sum_c w_c [ y_nc log sigmoid(x_nc) + (1 - y_nc) log sigmoid(-x_nc) ]

    Shapes: input ``(N, C)``, target the same (0/1 per class), weight ``(C)``.  Lesson 06."""
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


@backend.on_input_device
def multi_margin_loss(input: Tensor, target: Tensor, p: int = 1, margin: float = 1.0,
                      weight: Tensor | None = None, size_average: bool | None = None,
                      reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    r"""Multi-class hinge loss: for each sample with class y,

        l = 1/C sum_{i != y} w_y max(0, margin - x_y + x_i)^p,   p in {1, 2}

    Shapes: input ``(N, C)`` or ``(C)``, target ``(N)`` or ``()`` of int64.  Lesson 06."""
    if _autocast.active and "multi_margin_loss" in _autocast.listed: return _autocast.call("multi_margin_loss", multi_margin_loss, input, target, p, margin, weight, size_average, reduce, reduction)  # noqa: E501,E701
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


@backend.on_input_device
def multilabel_margin_loss(input: Tensor, target: Tensor, size_average: bool | None = None,
                           reduce: bool | None = None, reduction: str = "mean") -> Tensor:
    r"""Multi-label hinge loss.  ``target`` holds each sample's classes, ended by the first -1:

        l = 1/C sum_{j in targets} sum_{i not in targets} max(0, 1 - (x_j - x_i))

    Shapes: input ``(N, C)`` or ``(C)``, target the same shape, int64.  Lesson 06."""
    if _autocast.active and "multilabel_margin_loss" in _autocast.listed: return _autocast.call("multilabel_margin_loss", multilabel_margin_loss, input, target, size_average, reduce, reduction)  # noqa: E501,E701
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
    ``cos = <x1, x2> / sqrt((|x1|^2 + 1e-12)(|x2|^2 + 1e-12))`` (ATen's).

    Shapes: inputs ``(N, D)`` with target ``(N)``, or ``(D)`` with target ``()``.  Lesson 08."""
    if _autocast.active and "cosine_embedding_loss" in _autocast.listed: return _autocast.call("cosine_embedding_loss", cosine_embedding_loss, input1, input2, target, margin, size_average, reduce, reduction)  # noqa: E501,E701
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
    ``swap`` uses ``min(d(a, n), d(p, n))`` as the negative distance (Balntas et al. 2016).

    Shapes: ``(N, D)`` or ``(D)`` for all three.  Lesson 08."""
    if _autocast.active and "triplet_margin_loss" in _autocast.listed: return _autocast.call("triplet_margin_loss", triplet_margin_loss, anchor, positive, negative, margin, p, eps, swap, size_average, reduce, reduction)  # noqa: E501,E701
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
    ``pairwise_distance``): ``l = max(0, d(a, p) - d(a, n) + margin)``.  Lesson 08."""
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
