r"""Connectionist temporal classification (CTC) loss (lesson 12), as in Graves et al. 2006.

A network reads T frames and gives, for each frame t, log-probabilities ``log y_t(k)`` over C
symbols, one of which is the *blank*.  An *alignment* is one symbol per frame; collapsing it
(merge repeats, then drop blanks) gives a label sequence.  The CTC loss is

    loss = -log p(l | x) = -log  sum_{alignments a that collapse to l}  prod_t y_t(a_t)

The sum over alignments is a dynamic programme over the *extended target*
``l' = (blank, l_1, blank, l_2, ..., l_S, blank)`` of length ``2S + 1``:

    alpha_0(0) = y_0(blank),   alpha_0(1) = y_0(l_1)
    alpha_t(s) = (alpha_{t-1}(s) + alpha_{t-1}(s-1) [+ alpha_{t-1}(s-2)]) y_t(l'_s)
    p(l | x)   = alpha_{T-1}(2S) + alpha_{T-1}(2S - 1)

where the bracketed term (skipping a blank) is allowed only when ``l'_s != l'_{s-2}``.  The
backward variables ``beta_t(s)`` run the same recursion from the end; ``alpha_t(s) beta_t(s) /
y_t(l'_s)`` is p(l|x) times the probability that an alignment is in state s at time t, which
gives the gradient.  Everything is computed in log space (products become sums, sums become
log-sum-exp), vectorised over the batch and the 2S + 1 states: the only Python loop is over time.
"""
from __future__ import annotations

from typing import Any, Sequence

import edunn
from ... import backend
from ...autograd import grad_mode
from ...autograd.function import Function
from ...tensor import Tensor
from ._loss_common import _get_reduction
from .distance import _type_name
from ...amp import _policy as _autocast

__all__ = ["ctc_loss"]


# ------------------------------------------------------------------------------------------------
# the recursions, on arrays
# ------------------------------------------------------------------------------------------------
def _lse3(xp: Any, a: Any, b: Any, c: Any) -> Any:
    """log(e^a + e^b + e^c), shifted by the largest term (0 when all are -inf, so that
    -inf - -inf never makes a NaN), exactly as ATen writes it."""
    m = xp.maximum(xp.maximum(a, b), c)
    m = xp.where(m == -xp.inf, xp.zeros((), m.dtype), m)
    with backend.numpy.errstate(divide="ignore"):
        return xp.log(xp.exp(a - m) + xp.exp(b - m) + xp.exp(c - m)) + m


def _shift(xp: Any, a: Any, k: int) -> Any:
    """``a`` moved k states along the last axis (k > 0: towards higher s), -inf where nothing
    moved in: ``_shift(a, 1)[:, s] = a[:, s - 1]``."""
    out = xp.full_like(a, -xp.inf)
    if k > 0:
        out[:, k:] = a[:, :-k]
    else:
        out[:, :k] = a[:, -k:]
    return out


def _extended(xp: Any, tgt: Any, blank: int) -> Any:
    """(N, S) targets -> (N, 2S + 1) extended targets ``(blank, l_1, blank, ..., l_S, blank)``."""
    n, s = tgt.shape
    ext = xp.full((n, 2 * s + 1), blank, dtype=tgt.dtype)
    ext[:, 1::2] = tgt
    return ext


def _ctc_alpha(lpe: Any, ext: Any, tl: Any) -> Any:
    """log alpha_t(s) for every t, batch element and state: (T, N, 2S + 1).

    ``lpe[t, n, s] = log y_t(l'_s)``.  States beyond ``2 * target_length`` stay -inf."""
    xp = backend.array_module(lpe)
    T, N, L = lpe.shape
    states = xp.arange(L)
    valid = states[None, :] <= 2 * tl[:, None]
    skip = xp.zeros((N, L), dtype=bool)
    skip[:, 2:] = ext[:, 2:] != ext[:, :-2]      # a blank may be skipped between two different labels
    alpha = xp.full((T, N, L), -xp.inf, dtype=lpe.dtype)
    alpha[0, :, 0] = lpe[0, :, 0]
    if L > 1:
        alpha[0, :, 1] = xp.where(tl > 0, lpe[0, :, 1], -xp.inf)
    neg = xp.full((), -xp.inf, dtype=lpe.dtype)
    for t in range(1, T):
        prev = alpha[t - 1]
        two_back = xp.where(skip, _shift(xp, prev, 2), neg)
        alpha[t] = xp.where(valid, _lse3(xp, prev, _shift(xp, prev, 1), two_back) + lpe[t], neg)
    return alpha


def _ctc_beta(lpe: Any, ext: Any, il: Any, tl: Any) -> Any:
    """log beta_t(s) (Graves' convention: includes y_t(l'_s)), (T, N, 2S + 1); -inf for
    t >= input_length.  Each sequence starts its recursion at its own last frame."""
    xp = backend.array_module(lpe)
    T, N, L = lpe.shape
    states = xp.arange(L)
    valid = states[None, :] <= 2 * tl[:, None]
    last = (states[None, :] == 2 * tl[:, None]) | (states[None, :] == 2 * tl[:, None] - 1)
    skip = xp.zeros((N, L), dtype=bool)
    skip[:, :-2] = ext[:, 2:] != ext[:, :-2]
    neg = xp.full((), -xp.inf, dtype=lpe.dtype)
    beta = xp.full((T, N, L), -xp.inf, dtype=lpe.dtype)
    nxt = xp.full((N, L), -xp.inf, dtype=lpe.dtype)
    for t in range(T - 1, -1, -1):
        two_ahead = xp.where(skip, _shift(xp, nxt, -2), neg)
        rec = _lse3(xp, nxt, _shift(xp, nxt, -1), two_ahead) + lpe[t]
        start = (il - 1 == t)[:, None]
        inside = (t < il - 1)[:, None] & valid
        beta[t] = xp.where(start, xp.where(last, lpe[t], neg), xp.where(inside, rec, neg))
        nxt = beta[t]
    return beta


def _ctc_nll(alpha: Any, il: Any, tl: Any) -> Any:
    """-log p(l|x) = -log(alpha_{T_n - 1}(2 S_n) + alpha_{T_n - 1}(2 S_n - 1)); an empty input
    has likelihood 1 for an empty target and 0 otherwise."""
    xp = backend.array_module(alpha)
    rows = xp.arange(alpha.shape[1])
    last = alpha[xp.maximum(il - 1, 0), rows]                       # (N, L)
    l1 = last[rows, 2 * tl]
    l2 = xp.where(tl > 0, last[rows, xp.maximum(2 * tl - 1, 0)], -xp.inf)
    ll = _lse3(xp, l1, l2, xp.full_like(l1, -xp.inf))
    empty = xp.where(tl == 0, xp.zeros((), alpha.dtype), xp.full((), -xp.inf, alpha.dtype))
    return -xp.where(il == 0, empty, ll)


def _ctc_grad(lp: Any, lpe: Any, ext: Any, il: Any, tl: Any, nll: Any, alpha: Any,
              grad_out: Any, zero_infinity: bool) -> Any:
    """PyTorch's gradient of the per-sequence losses with respect to ``log_probs`` (T, N, C):

        grad[t, n, c] = (y_t(c) - 1/p sum_{s: l'_s = c} alpha_t(s) beta_t(s) / y_t(c)) * grad_out[n]

    for t < input_length, 0 after.  The ``y_t(c)`` term makes this the gradient with respect to
    the *logits* when ``log_probs = log_softmax(logits)``: passing it back through log_softmax
    leaves it unchanged, because it sums to zero over c.  (So, as in PyTorch, it is not the
    derivative with respect to ``log_probs`` taken as free variables; both agree once composed
    with log_softmax.)"""
    xp = backend.array_module(lp)
    T, N, C = lp.shape
    beta = _ctc_beta(lpe, ext, il, tl)
    ab = alpha + beta                                                # (T, N, L)
    m = ab.max(axis=2, keepdims=True) if ab.shape[2] else xp.zeros((T, N, 1), lp.dtype)
    m = xp.where(m == -xp.inf, xp.zeros((), lp.dtype), m)
    # log of sum_{s: l'_s = c} alpha beta, collected per symbol c with one bincount
    index = (xp.arange(T * N).reshape(T, N, 1) * C + ext[None]).ravel()
    summed = xp.bincount(index, weights=xp.exp(ab - m).ravel(), minlength=T * N * C)
    with backend.numpy.errstate(divide="ignore", invalid="ignore"):
        lcab = xp.log(summed.reshape(T, N, C).astype(lp.dtype)) + m
        grad = (xp.exp(lp) - xp.exp(lcab + nll[None, :, None] - lp)) * grad_out[None, :, None]
    keep = xp.arange(T)[:, None] < il[None, :]                      # frames inside each input
    if zero_infinity:
        keep = keep & (nll != xp.inf)[None, :]
    return xp.where(keep[:, :, None], grad, xp.zeros((), lp.dtype))


class _CTCLoss(Function):
    """The per-sequence negative log-likelihoods (N,) from log_probs (T, N, C).  Forward runs the
    alpha recursion; backward the beta recursion and the collection of alpha * beta per symbol.
    Like PyTorch's, this backward is not itself differentiable: a gradient taken with
    ``create_graph=True`` is returned, but differentiating it again raises."""

    @staticmethod
    def forward(ctx, log_probs, ext, il, tl, zero_infinity):
        lp = log_probs._data
        xp = backend.array_module(lp)
        T, N, _ = lp.shape
        lpe = xp.take_along_axis(lp, xp.broadcast_to(ext[None], (T,) + ext.shape), axis=2)
        alpha = _ctc_alpha(lpe, ext, tl)
        nll = _ctc_nll(alpha, il, tl)
        ctx.save_for_backward(log_probs)
        ctx.lpe, ctx.ext, ctx.il, ctx.tl, ctx.nll, ctx.alpha = lpe, ext, il, tl, nll, alpha
        ctx.zero_infinity = zero_infinity
        return nll

    @staticmethod
    def backward(ctx, grad):
        log_probs, = ctx.saved_tensors
        g = _ctc_grad(log_probs._data, ctx.lpe, ctx.ext, ctx.il, ctx.tl, ctx.nll, ctx.alpha,
                      grad._data, ctx.zero_infinity)
        if grad_mode.state.enabled:      # create_graph: a gradient that refuses a second backward
            return _CTCLossBackward.apply(g, log_probs, grad), None, None, None, None
        return Tensor._make(g), None, None, None, None


class _CTCLossBackward(Function):
    """The gradient of ``_CTCLoss`` as a graph node, for ``create_graph=True``.  PyTorch has no
    derivative of its CTC backward either, and raises the same error."""

    @staticmethod
    def forward(ctx, g, log_probs, grad):
        return g

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::_ctc_loss_backward is not implemented "
                           "(ctc_loss is differentiable once, as in PyTorch)")


# ------------------------------------------------------------------------------------------------
# argument checks (PyTorch's, in its order) and the function
# ------------------------------------------------------------------------------------------------
def _lengths(input_lengths: Any, target_lengths: Any) -> tuple:
    """Both lengths as int64 NumPy arrays.  Like PyTorch, they are either both tensors (of an
    integer dtype, any shape, read flat) or both sequences of ints."""
    np = backend.numpy
    if isinstance(input_lengths, Tensor) and isinstance(target_lengths, Tensor):
        for t, name in ((input_lengths, "input_lengths"), (target_lengths, "target_lengths")):
            if t.is_floating_point() or t.is_complex() or t.dtype == edunn.bool:
                raise RuntimeError(f"{name} must be integral, but got a tensor of dtype {t.dtype}")
        return (backend.to_numpy(input_lengths._data).astype(np.int64).ravel(),
                backend.to_numpy(target_lengths._data).astype(np.int64).ravel())

    def ints(v: Any) -> bool:
        return isinstance(v, (tuple, list)) and all(
            isinstance(i, int) and not isinstance(i, bool) for i in v)
    if ints(input_lengths) and ints(target_lengths):
        return np.asarray(input_lengths, dtype=np.int64), np.asarray(target_lengths, dtype=np.int64)
    raise TypeError("ctc_loss(): input_lengths and target_lengths must both be Tensors or both be "
                    f"tuples/lists of ints, but got {type(input_lengths).__name__} and "
                    f"{type(target_lengths).__name__}")


def _padded_targets(targets: Any, il: Any, tl: Any, T: int, N: int, C: int, blank: int) -> Any:
    """The targets as an (N, max target length) array, padded with ``blank``, after PyTorch's
    checks on sizes and lengths; out-of-range labels are refused (PyTorch reads past the end)."""
    xp = backend.array_module(targets)
    where = "(while checking arguments for ctc_loss_allocate_outputs)"
    if targets.ndim not in (1, 2):
        raise RuntimeError(f"ctc_loss: expected targets of shape (N, S) or (sum(target_lengths),), "
                           f"but got a {targets.ndim}-dimensional tensor of shape "
                           f"{tuple(targets.shape)} {where}")
    if not 0 <= blank < C:
        raise RuntimeError(f"blank must be in label range: expected 0 <= blank < {C}, got {blank}")
    if len(il) != N:
        raise RuntimeError(f"input_lengths must be of size batch_size ({N}), but got {len(il)} values")
    if len(tl) != N:
        raise RuntimeError(f"target_lengths must be of size batch_size ({N}), but got {len(tl)} values")
    if (tl < 0).any():
        raise RuntimeError(f"Expected target_lengths to have value at least 0, but got value "
                           f"{int(tl.min())} {where}")
    S = int(tl.max()) if N else 0
    if targets.ndim == 1:
        if targets.shape[0] != int(tl.sum()):
            raise RuntimeError(f"Expected tensor to have size {int(tl.sum())} (the sum of target_lengths)"
                               f" at dimension 0, but got size {targets.shape[0]} for argument #2 "
                               f"'targets' {where}")
    else:
        if targets.shape[0] != N:
            raise RuntimeError(f"Expected tensor to have size {N} at dimension 0, but got size "
                               f"{targets.shape[0]} for argument #2 'targets' {where}")
        if targets.shape[1] < S:
            raise RuntimeError(f"Expected tensor to have size at least {S} (the largest target "
                               f"length) at dimension 1, but got size {targets.shape[1]} for "
                               f"argument #2 'targets' {where}")
    if (il < 0).any():
        raise RuntimeError(f"Expected input_lengths to have value at least 0, but got value "
                           f"{int(il.min())} {where}")
    if (il > T).any():
        raise RuntimeError(f"Expected input_lengths to have value at most {T}, but got value "
                           f"{int(il.max())} {where}")
    ilx, tlx = xp.asarray(il), xp.asarray(tl)
    used = xp.arange(S)[None, :] < tlx[:, None]                      # (N, S)
    if targets.ndim == 1:
        start = xp.cumsum(tlx) - tlx
        idx = xp.where(used, start[:, None] + xp.arange(S)[None, :], 0)
        tgt = targets.astype(xp.int64)[idx] if targets.size else xp.zeros((N, S), xp.int64)
    else:
        tgt = targets[:, :S].astype(xp.int64)
    bad = used & ((tgt < 0) | (tgt >= C))
    if bool(bad.any()):
        raise RuntimeError(f"ctc_loss: targets must be class indices in [0, {C - 1}], but got "
                           f"{int(tgt[bad][0])}")
    return xp.where(used, tgt, blank), ilx, tlx


@backend.on_input_device
def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Tensor | Sequence[int],
             target_lengths: Tensor | Sequence[int], blank: int = 0, reduction: str = "mean",
             zero_infinity: bool = False) -> Tensor:
    r"""The connectionist temporal classification loss ``-log p(targets | log_probs)``.

    Shapes: ``log_probs`` (T, N, C) or unbatched (T, C), log-probabilities (from ``log_softmax``);
    ``targets`` (N, S) padded (only the first ``target_lengths[n]`` entries of row n are read) or
    (sum(target_lengths),) concatenated; ``input_lengths`` and ``target_lengths`` (N) or ()
    integer tensors, or both tuples/lists of ints.  Labels must not be ``blank``.

    ``reduction``: 'none' gives the (N) losses; 'sum' their sum; 'mean' the mean over the batch of
    ``loss_n / max(target_lengths[n], 1)``.  A target that no alignment can produce (too long for
    its input, counting a blank between repeated labels) has an infinite loss (and NaN
    gradients); ``zero_infinity=True`` makes both zero.

    The gradient is PyTorch's (see ``_ctc_grad``): correct once log_probs come from
    ``log_softmax``.  It can be taken once; a second derivative raises, as in PyTorch.

    Two deliberate differences, both on input PyTorch documents as invalid: a target label
    outside [0, C) raises (PyTorch's CPU kernel reads out of bounds), and a target containing
    ``blank`` gets the exact gradient (PyTorch's kernel overwrites one term at the last frame,
    so its gradient fails its own gradcheck there); the loss itself is PyTorch's.
    Derived in lesson 12."""
    if _autocast.active and "ctc_loss" in _autocast.listed: return _autocast.call("ctc_loss", ctc_loss, log_probs, targets, input_lengths, target_lengths, blank, reduction, zero_infinity)  # noqa: E501,E701
    if not isinstance(log_probs, Tensor) or not isinstance(targets, Tensor):
        bad = "log_probs" if not isinstance(log_probs, Tensor) else "targets"
        raise TypeError(f"ctc_loss(): argument '{bad}' must be Tensor, not "
                        f"{type(log_probs if bad == 'log_probs' else targets).__name__}")
    if not isinstance(blank, int) or isinstance(blank, bool):
        raise TypeError(f"ctc_loss(): argument 'blank' must be int, not {type(blank).__name__}")
    reduction = _get_reduction(reduction)
    il, tl = _lengths(input_lengths, target_lengths)
    if log_probs.dtype not in (edunn.float32, edunn.float64):
        raise NotImplementedError(f"\"ctc_loss_cpu\" not implemented for '{_type_name(log_probs)}'")
    if log_probs.numel() == 0:
        raise RuntimeError(f"log_probs tensor must not be empty, got shape {tuple(log_probs.shape)}")
    batched = log_probs.dim() == 3
    if log_probs.dim() not in (2, 3):
        raise RuntimeError(f"ctc_loss: expected log_probs of shape (T, N, C) or (T, C), but got a "
                           f"{log_probs.dim()}-dimensional tensor of shape {tuple(log_probs.shape)}")
    lp = log_probs if batched else log_probs.unsqueeze(1)
    T, N, C = lp.shape
    # like PyTorch, targets on another device (CPU targets for a cuda model) are moved over
    tdata = backend.to_device(targets._data, backend.device_of(lp._data))
    tgt, ilx, tlx = _padded_targets(tdata, il, tl, T, N, C, blank)
    ext = _extended(backend.array_module(tgt), tgt, blank)
    res = _CTCLoss.apply(lp, ext, ilx, tlx, bool(zero_infinity))
    if zero_infinity:
        res = res.masked_fill(res == float("inf"), 0.0)
    if reduction == "mean":
        lengths = Tensor._make(backend.array_module(res._data).asarray(tlx, dtype=res._data.dtype))
        return (res / lengths.clamp_min(1)).mean()
    if reduction == "sum":
        return res.sum()
    return res if batched else res.squeeze(0)
