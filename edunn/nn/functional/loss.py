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
autograd derives their gradients.  The regression losses (L1, MSE, Huber, smooth L1, Poisson and
Gaussian NLL, KL divergence) are in ``loss_regression.py`` and the margin and embedding losses in
``loss_margin.py`` (both re-exported here); what all losses share is in ``_loss_common.py``.
"""
from __future__ import annotations

from typing import Any

import edunn
from ... import _kernels, backend
from ...autograd import grad_mode
from ...autograd.function import Function
from ...tensor import Tensor
from ...ops._operands import _widened
from ...amp import _policy as _autocast
from . import _loss_kernels
from ._loss_common import _no_grad_for, _reduction, _require_float
from .activation import log_softmax, logsigmoid
from .distance import _check_tensor, _type_name
from .loss_margin import *  # noqa: F401,F403  (the margin and embedding losses)
from .loss_margin import __all__ as _margin_losses
from .loss_regression import (gaussian_nll_loss, huber_loss, kl_div, l1_loss,  # noqa: F401
                              mse_loss, poisson_nll_loss, smooth_l1_loss)

__all__ = ["l1_loss", "mse_loss", "huber_loss", "smooth_l1_loss", "poisson_nll_loss",
           "gaussian_nll_loss", "kl_div", "nll_loss", "cross_entropy", "binary_cross_entropy",
           "binary_cross_entropy_with_logits", *_margin_losses]


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
    in the gradient (``w[t] / sum of w[t]`` for 'mean', ``w[t]`` otherwise; 0 if ignored).  The
    coefficient is one 0-d array when it is the same for every target (no weight, none ignored)."""
    xp = backend.array_module(logp)
    dt = logp.dtype
    n, n_classes = logp.shape[0], logp.shape[1]
    if t.dtype != backend.int64.np:
        t = t.astype(backend.int64.np)   # uint8 targets: compare with ignore_index as integers
    if not t.size:
        common = True
    elif backend.is_cupy_array(t):
        common = False   # deciding would wait for the GPU: take the general path, check later
    elif ignore_index < 0 or ignore_index >= n_classes:
        # no valid target can equal ignore_index, so one reduction decides: seen as unsigned,
        # a negative target is huge, and the largest value is below n_classes only if all are
        common = int(t.view(xp.uint64).max()) < n_classes
    else:
        lo, hi = int(t.min()), int(t.max())
        common = 0 <= lo and hi < n_classes and not lo <= ignore_index <= hi
    if common:
        tt, valid = t, None              # the common case: every target counts (two reductions)
    else:
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= n_classes))
        backend.device_assert(bad.any(), lambda: IndexError(f"Target {int(t[bad].ravel()[0])} is out of bounds."))
        tt = xp.where(valid, t, 0)
    picked = logp[xp.arange(n), tt] if logp.ndim == 2 else \
        xp.take_along_axis(logp, tt[:, None], axis=1)[:, 0]
    if valid is None and w is None:
        loss = -picked
        if reduction == "none":
            return loss, tt, xp.ones((), dt)
        if reduction == "sum":
            return loss.sum(dtype=dt), tt, xp.ones((), dt)
        if t.size:   # the errstate below costs as much as the sum: only 0/0 needs it
            total = xp.asarray(t.size, dtype=dt)
            return loss.sum(dtype=dt) / total, tt, xp.ones((), dt) / total
        with backend.numpy.errstate(invalid="ignore", divide="ignore"):
            total = xp.asarray(t.size, dtype=dt)
            return loss.sum(dtype=dt) / total, tt, xp.ones((), dt) / total
    if w is None:
        coef = valid.astype(dt)
    else:
        coef = w[tt] if valid is None else w[tt] * valid
    loss = -picked * coef
    if valid is not None:   # an ignored target's log-probability may be -inf: 0, not nan
        loss = xp.where(valid, loss, xp.zeros((), dt))
    if reduction == "none":
        return loss, tt, coef
    if reduction == "sum":
        return loss.sum(dtype=dt), tt, coef
    total = coef.sum(dtype=dt)
    with backend.numpy.errstate(invalid="ignore", divide="ignore"):
        out = loss.sum(dtype=dt) / total  # nothing counted: 0/0 = nan, as PyTorch
        coef = coef / total
    if valid is not None:   # ... but an ignored target's gradient stays 0
        coef = xp.where(valid, coef, xp.zeros((), dt))
    return out, tt, coef


def _rows(coef: Any) -> Any:
    """The coefficient broadcast against (N, C, *)."""
    return coef[:, None] if coef.ndim else coef


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
        ctx.shape, ctx.tt, ctx.coef, ctx.reduction = xd.shape, tt, coef, reduction
        return out

    @staticmethod
    def backward(ctx, grad):
        xp = backend.array_module(ctx.tt)
        if len(ctx.shape) == 2:
            a = xp.zeros(ctx.shape, ctx.coef.dtype)
            a[xp.arange(ctx.shape[0]), ctx.tt] = -ctx.coef
        else:
            a = _onehot(ctx.tt, ctx.shape[1], ctx.coef.dtype) * -_rows(ctx.coef)
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
        ctx.fused = None
        if (weight is None and xd.ndim == 2 and xd.size and xd.shape[1] <= _loss_kernels.MAX_CLASSES
                and _kernels.fusable(xd, target._data)):
            out = _CrossEntropyLoss._fused_forward(ctx, xd, target._data, ignore_index, reduction)
            ctx.save_for_backward(input)
            return out
        if xd.size:
            wide = _widened(xd)   # float16/bfloat16: in float32, as PyTorch accumulates them
            z = wide - wide.max(axis=1, keepdims=True)
            logp = z - xp.log(xp.exp(z).sum(axis=1, keepdims=True))
        else:
            logp = xd
        w = None if weight is None else _widened(weight._data)
        out, tt, coef = _nll_pick(logp, target._data, w, ignore_index, reduction)
        ctx.logp, ctx.tt, ctx.coef, ctx.reduction = logp, tt, coef, reduction
        ctx.save_for_backward(input)
        return out.astype(xd.dtype, copy=False)

    @staticmethod
    def _fused_forward(ctx, x: Any, t: Any, ignore_index: int, reduction: str) -> Any:
        """The forward as one kernel (a GPU, no class weights): ``_loss_kernels``."""
        xp = backend.array_module(x)
        t = t if t.dtype == backend.int64.np else t.astype(backend.int64.np)
        n, n_classes = x.shape
        logp, loss, counted = xp.empty(x.shape, x.dtype), xp.empty(n, x.dtype), xp.empty(n, x.dtype)
        bad = xp.empty(n, bool)
        _kernels.launch(_loss_kernels.cross_entropy_forward_kernel(), (t, x),
                        {"n_classes": n_classes, "ignore_index": ignore_index}, (loss, counted, bad, logp))
        backend.device_assert(bad.any(), lambda: IndexError(f"Target {int(t[bad].ravel()[0])} is out of bounds."))
        total = None
        if reduction == "sum":
            loss = loss.sum(dtype=x.dtype)
        elif reduction == "mean":
            total = counted.sum(dtype=x.dtype)
            with backend.numpy.errstate(invalid="ignore", divide="ignore"):
                loss = loss.sum(dtype=x.dtype) / total   # nothing counted: 0/0 = nan, as PyTorch
        ctx.logp, ctx.reduction, ctx.fused = logp, reduction, (t, counted, total)
        return loss

    @staticmethod
    def _fused_pick(ctx) -> tuple:
        """The safe targets and per-row coefficients of ``_nll_pick``, from the fused forward's."""
        xp = backend.array_module(ctx.logp)
        t, counted, total = ctx.fused
        kept = counted != 0
        coef = counted if total is None else xp.where(kept, counted / total, xp.zeros((), counted.dtype))
        return xp.where(kept, t, 0), coef

    @staticmethod
    def backward(ctx, grad):
        xp = backend.array_module(ctx.logp)
        if ctx.fused is not None and not grad_mode.state.enabled and _kernels.fusable(ctx.logp, grad._data):
            t, counted, total = ctx.fused
            g = grad._data if ctx.reduction != "none" else grad._data[:, None]
            d = xp.empty(ctx.logp.shape, ctx.logp.dtype)
            _kernels.launch(_loss_kernels.cross_entropy_backward_kernel(total is not None),
                            (ctx.logp, t[:, None], counted[:, None], g) + (() if total is None else (total,)),
                            {"n_classes": ctx.logp.shape[1]}, (d,))
            return Tensor._make(d), None, None, None, None
        if ctx.fused is not None:
            ctx.tt, ctx.coef = _CrossEntropyLoss._fused_pick(ctx)
        logp, tt = ctx.logp, ctx.tt
        if not grad_mode.state.enabled:  # the fast path: arrays only
            g = grad._data if ctx.reduction != "none" else grad._data[:, None]
            d = xp.exp(logp)
            if logp.ndim == 2:
                d[xp.arange(logp.shape[0]), tt] -= 1
            else:
                d -= _onehot(tt, logp.shape[1], logp.dtype)
            d *= _rows(ctx.coef) * g
            return Tensor._make(d.astype(grad._data.dtype, copy=False)), None, None, None, None
        x, = ctx.saved_tensors
        onehot = Tensor._make(_onehot(tt, logp.shape[1], logp.dtype))
        rows = Tensor._make(_rows(ctx.coef)) * _grad_per_row(grad, ctx.reduction)
        return (log_softmax(x, 1).exp() - onehot) * rows, None, None, None, None


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
    if _autocast.active and "nll_loss" in _autocast.listed: return _autocast.call("nll_loss", nll_loss, input, target, weight, size_average, ignore_index, reduce, reduction)  # noqa: E501,E701
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
    if _autocast.active and "cross_entropy" in _autocast.listed: return _autocast.call("cross_entropy", cross_entropy, input, target, weight, size_average, ignore_index, reduce, reduction, label_smoothing)  # noqa: E501,E701
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
    """A loss array's 'mean' or 'sum' in its dtype (float16/bfloat16 added up in float32)."""
    if reduction == "mean":
        return _widened(loss).mean().astype(loss.dtype)
    if reduction == "sum":
        return _widened(loss).sum().astype(loss.dtype)
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
    if _autocast.active and "binary_cross_entropy" in _autocast.listed: return _autocast.call("binary_cross_entropy", binary_cross_entropy, input, target, weight, size_average, reduce, reduction)  # noqa: E501,E701
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
    if _autocast.active and "binary_cross_entropy_with_logits" in _autocast.listed: return _autocast.call("binary_cross_entropy_with_logits", binary_cross_entropy_with_logits, input, target, weight, size_average, reduce, reduction, pos_weight)  # noqa: E501,E701
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
