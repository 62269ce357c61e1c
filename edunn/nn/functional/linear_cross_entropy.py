"""``linear_cross_entropy`` (lesson 06): a linear layer followed by cross-entropy, as one loss,
and ``LinearCrossEntropyOptions``, the switch to its chunked implementation.

    loss = cross_entropy(input @ linear_weight^T + linear_bias, target, ...)

The *reference path* (``options=None``) is exactly that: edunn's ``linear`` then
``cross_entropy``, with every option of ``cross_entropy`` (probabilities as targets, label
smoothing, K-dimensional losses through ``linear_weight`` of shape ``(C, d_1, ..., d_K, F)``).

The *chunked path* (``options=LinearCrossEntropyOptions(...)``) is why the function exists: a
language model's head has ``C`` in the tens of thousands, and the ``(N, C)`` logits are then the
largest tensor of the whole step.  The chunked path walks the batch in chunks of ``B`` rows and
never holds more than ``(B, C)`` logits.  For each chunk, with ``z = x W^T + b``,
``p = softmax(z)`` and ``c_n`` the row's coefficient (the class weight ``w[y_n]``, 0 for an
ignored target, divided by ``sum_n w[y_n]`` for ``'mean'``):

    loss_n = c_n (logsumexp(z_n) - z_{n, y_n})
    dL/dz_n = c_n (p_n - onehot(y_n))           (the gradient of cross-entropy)
    dL/dx_chunk = dL/dz W,  dL/dW += dL/dz^T x_chunk,  dL/db += sum_n dL/dz_n

For ``'mean'``/``'sum'`` the gradients are computed during the forward pass, chunk by chunk, and
the backward only scales them by the incoming gradient (PyTorch's design: one pass over the
logits instead of two).  They are consumed by that backward, so a second ``backward`` raises
unless ``allow_retain_graph=True``.  For ``'none'`` the per-row gradient is unknown in forward,
so the backward recomputes the chunks with ``c_n`` times the incoming ``grad_output[n]``.  The
chunked path is first-order only (PyTorch's is too).  ``acc_policy`` chooses, in PyTorch, which
CUDA buffers are kept in ``acc_dtype``; here every chunk is computed in ``acc_dtype`` (float32
for float16/bfloat16 input under ``'auto'``), which is what all of its policies compute.
"""
from __future__ import annotations

import dataclasses
import math
import warnings
from typing import Any, Literal, NamedTuple

from ... import backend
from ...autograd import grad_mode
from ...autograd.function import Function
from ...tensor import Tensor
from .linear import linear
from .loss import cross_entropy

__all__ = ["linear_cross_entropy"]


class _AutoDefault(NamedTuple):
    acc_policy: str
    chunking_method: str


# PyTorch's per-(device type, input dtype) picks for the "auto" sentinels, and the fallback.
_AUTO_DEFAULTS: dict = {
    ("cuda", "bfloat16"): _AutoDefault("compact", "aspect_ratio:2"),
    ("cuda", "float16"): _AutoDefault("compact", "aspect_ratio:2"),
    ("cpu", "bfloat16"): _AutoDefault("accurate", "aspect_ratio"),
    ("cpu", "float16"): _AutoDefault("accurate", "aspect_ratio"),
}
_AUTO_FALLBACK = _AutoDefault("compact", "aspect_ratio:2")


def _dtype_name(dtype: Any) -> str:
    return str(dtype).replace("edunn.", "")


@dataclasses.dataclass(slots=True, frozen=True)
class LinearCrossEntropyOptions:
    """Configuration of the chunked :func:`linear_cross_entropy` (PyTorch's fields and checks).

    * ``allow_retain_graph``: for ``'mean'``/``'sum'``, keep the precomputed gradients so that
      ``backward`` may run twice (``retain_graph=True``); otherwise a second backward raises.
    * ``batch_chunk_size``: rows per chunk (``None``: one chunk, or what ``chunking_method`` says).
    * ``chunking_method``: ``'auto'``, ``'aspect_ratio'`` or ``'aspect_ratio:N'`` -- chunks of
      ``next_pow2(ceil(N / ceil(C / F))) // N`` rows, so that a chunk's logits take about the
      memory of the input -- or ``None`` to use ``batch_chunk_size``.
    * ``acc_policy``: ``'auto'``, ``'accurate'``, ``'balanced'``, ``'compact'`` (PyTorch's CUDA
      buffer policies; here all compute each chunk in ``acc_dtype``).
    * ``acc_dtype``: the accumulation dtype, ``None`` for float32 with half-precision input
      under ``'auto'`` and the input's dtype otherwise.
    """

    allow_retain_graph: bool = False
    batch_chunk_size: int | None = None
    chunking_method: str | None = "auto"
    acc_policy: Literal["accurate", "balanced", "compact", "auto"] = "auto"
    acc_dtype: Any = None

    def __post_init__(self):
        if self.acc_policy not in {"auto", "accurate", "balanced", "compact"}:
            raise ValueError(f"invalid acc_policy: {self.acc_policy!r}")
        if self.chunking_method is not None and self.chunking_method != "auto":
            name, sep, factor = str(self.chunking_method).partition(":")
            if not sep:
                factor = "1"
            if not (name == "aspect_ratio" and factor.isdigit() and int(factor) > 0):
                raise ValueError(f"invalid chunking_method: {self.chunking_method!r}")
        if not (self.batch_chunk_size is None
                or (isinstance(self.batch_chunk_size, int) and self.batch_chunk_size > 0)):
            raise ValueError(f"batch_chunk_size must be positive int or None, got {self.batch_chunk_size!r}")
        if self.acc_dtype is not None and \
                _dtype_name(self.acc_dtype) not in {"float16", "bfloat16", "float32", "float64"}:
            raise ValueError(f"acc_dtype must be one of {{None, torch.float16, torch.bfloat16, torch.float32, "
                             f"torch.float64}}, got {self.acc_dtype!r}. Pass acc_dtype=None to let the op "
                             "pick automatically.")

    @staticmethod
    def _ceil_div(a: int, b: int) -> int:
        return -(-a // b)

    @staticmethod
    def _resolve_auto_acc_dtype(dtype: Any, device: Any) -> Any:
        """float32 for half-precision input (both our devices multiply it in float32), else None."""
        if device is None or _dtype_name(dtype) not in ("float16", "bfloat16"):
            return None
        return backend.float32 if device.type in ("cpu", "cuda") else None

    def _compute_batch_chunk_size(self, num_batches: int, in_features: int, num_classes: int,
                                  method: str | None = None) -> int:
        method = str(method if method is not None else self.chunking_method)
        if method.startswith("aspect_ratio"):
            factor = int(method.split(":", 1)[1]) if ":" in method else 1
            target = self._ceil_div(num_batches, self._ceil_div(num_classes, in_features))
            chunk_size = 1 << (target - 1).bit_length()   # the next power of 2 >= target
            return min(chunk_size // factor, num_batches)
        raise AssertionError(f"unhandled chunking_method: {method!r}")

    def _adjust(self, num_batches: int, in_features: int, num_classes: int, dtype: Any,
                device: Any = None) -> "LinearCrossEntropyOptions":
        """The options with every ``'auto'`` and ``None`` resolved for one call (PyTorch's)."""
        acc_policy, chunking_method = self.acc_policy, self.chunking_method
        if chunking_method == "auto" and self.batch_chunk_size is not None:
            chunking_method = None
        if acc_policy == "auto" or chunking_method == "auto":
            ap, cm = (_AUTO_DEFAULTS.get((device.type, _dtype_name(dtype)), _AUTO_FALLBACK)
                      if device is not None else _AUTO_FALLBACK)
            acc_policy = ap if acc_policy == "auto" else acc_policy
            chunking_method = cm if chunking_method == "auto" else chunking_method
        size = num_batches if self.batch_chunk_size is None else min(self.batch_chunk_size, num_batches)
        if chunking_method is not None:
            size = self._compute_batch_chunk_size(num_batches, in_features, num_classes, chunking_method)
            if self.batch_chunk_size is not None and self.batch_chunk_size != size:
                raise ValueError(f"batch_chunk_size (={self.batch_chunk_size}) and chunking_method "
                                 f"('{chunking_method}') give different chunk sizes "
                                 f"({self.batch_chunk_size} vs {size}); pass only one.")
        if self.acc_dtype is None:
            auto = self._resolve_auto_acc_dtype(dtype, device) if self.acc_policy == "auto" else None
            acc_dtype = auto if auto is not None else dtype
        else:
            acc_dtype = self.acc_dtype
        return dataclasses.replace(self, acc_policy=acc_policy, chunking_method=chunking_method,
                                   batch_chunk_size=max(1, size), acc_dtype=acc_dtype)


# ------------------------------------------------------------------------------ the chunked op
def _chunks(x: Any, w: Any, b: Any, tt: Any, coef: Any, chunk: int, need: tuple) -> tuple:
    """One pass over the rows in chunks (arrays, in ``x``'s dtype): the per-row
    ``logsumexp(z_n) - z_{n, y_n}`` and, where ``need`` (x, W, b) asks, the gradients of
    ``sum_n coef_n loss_n``.  At most ``(chunk, C)`` logits exist at a time."""
    xp = backend.array_module(x)
    n = x.shape[0]
    nll = xp.empty(n, x.dtype)
    gx = xp.empty(x.shape, x.dtype) if need[0] else None
    gw = xp.zeros(w.shape, x.dtype) if need[1] else None
    gb = xp.zeros(w.shape[:1], x.dtype) if need[2] else None
    for s in range(0, n, chunk):
        xc, tc = x[s:s + chunk], tt[s:s + chunk]
        rows = xp.arange(xc.shape[0])
        z = xc @ w.T
        if b is not None:
            z += b
        top = z.max(axis=1, keepdims=True)
        e = xp.exp(z - top)
        total = e.sum(axis=1, keepdims=True)
        nll[s:s + chunk] = (top + xp.log(total))[:, 0] - z[rows, tc]
        if any(need):
            d = e / total                                   # softmax ...
            d[rows, tc] -= 1                                # ... - onehot(y)
            d *= coef[s:s + chunk, None]
            if need[0]:
                gx[s:s + chunk] = d @ w
            if need[1]:
                gw += d.T @ xc
            if need[2]:
                gb += d.sum(axis=0)
    return nll, gx, gw, gb


class _LinearCrossEntropyChunked(Function):
    """``cross_entropy(x W^T + b, y)`` for class-index targets, in chunks of rows (see the module
    docstring).  Inputs: x (N, F), W (C, F), b (C) or None, y (N) int64."""

    @staticmethod
    def forward(ctx, x, w, b, target, weight, reduction, ignore_index, chunk, acc_dtype, retain):
        xd, dtype = x._data, x._data.dtype
        xp = backend.array_module(xd)
        acc = backend.as_dtype(acc_dtype).np if acc_dtype is not None else dtype
        xa, wa = xd.astype(acc, copy=False), w._data.astype(acc, copy=False)
        ba = None if b is None else b._data.astype(acc, copy=False)
        t = target._data
        n_classes = wa.shape[0]
        valid = t != ignore_index
        bad = valid & ((t < 0) | (t >= n_classes))
        backend.device_assert(bad.any(), lambda: RuntimeError(
            f"index {int(t[bad].ravel()[0])} is out of bounds for dimension 1 with size {n_classes}"))
        tt = xp.where(valid, t, 0)
        coef = valid.astype(acc) if weight is None else \
            xp.where(valid, weight._data[tt].astype(acc), xp.zeros((), acc))
        if reduction == "mean":   # PyTorch's chunked op: nothing counted -> divide by NaN
            total = coef.sum()
            coef = coef / xp.where(total == 0, xp.asarray(float("nan"), acc), total)
        need = ctx.needs_input_grad[:3]
        need = (need[0], need[1], need[2] and b is not None)
        ctx.reduction, ctx.dtype = reduction, dtype
        if reduction == "none":   # backward recomputes, with grad_output folded into coef
            ctx.arrays = (xa, wa, ba, tt, coef, chunk)
            nll, *_ = _chunks(xa, wa, ba, tt, coef, chunk, (False, False, False))
            return (coef * nll).astype(dtype)
        nll, gx, gw, gb = _chunks(xa, wa, ba, tt, coef, chunk, need)
        ctx.grads, ctx.retain = [gx, gw, gb], retain
        return (coef * nll).sum().astype(dtype)

    @staticmethod
    def backward(ctx, grad):
        if grad_mode.state.enabled:   # create_graph=True: these gradients are arrays, not a graph
            raise RuntimeError("linear_cross_entropy: the chunked path (options != None) supports first-order "
                               "gradients only, as in PyTorch; use options=None for create_graph=True")
        if ctx.reduction == "none":
            xa, wa, ba, tt, coef, chunk = ctx.arrays
            need = ctx.needs_input_grad[:3]
            need = (need[0], need[1], need[2] and ba is not None)
            grads = _chunks(xa, wa, ba, tt, coef * grad._data.astype(coef.dtype), chunk, need)[1:]
            grads = [None if g is None else Tensor._make(g.astype(ctx.dtype, copy=False)) for g in grads]
        else:
            grads = ctx.grads
            if grads is None:
                raise RuntimeError("linear_cross_entropy chunked backward called twice; retain_graph=True / "
                                   "double backward are not supported.")
            if not ctx.retain:
                ctx.grads = None
            grads = [None if g is None else Tensor._make(g.astype(ctx.dtype, copy=False)) * grad for g in grads]
        return tuple(grads) + (None,) * 7


# ------------------------------------------------------------------------------ the function
def _check(input: Tensor, linear_weight: Tensor, linear_bias: Tensor | None) -> tuple:
    """PyTorch's shape checks; returns (num_classes, out_features)."""
    for name, t in (("input", input), ("linear_weight", linear_weight)):
        if not isinstance(t, Tensor):
            raise TypeError(f"linear_cross_entropy(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if input.dim() < 1 or input.dim() > 2:
        raise RuntimeError(f"expected input with dimensionality 1 or 2, got {input.dim()}")
    if linear_weight.dim() < 2:
        raise RuntimeError(f"expected linear_weight with dimensionality at least 2, got {linear_weight.dim()}")
    in_features = input.shape[-1]
    if in_features != linear_weight.shape[-1]:
        raise RuntimeError("expected equal input and linear_weight last dimensions (in_features), "
                           f"got {input.shape[-1]} and {linear_weight.shape[-1]}, respectively")
    num_classes, out_features = linear_weight.shape[0], tuple(linear_weight.shape[1:-1])
    if linear_bias is not None and tuple(linear_bias.shape) != (num_classes, *out_features):
        raise RuntimeError(f"expected linear_bias shape {(num_classes, *out_features)}, "
                           f"got {tuple(linear_bias.shape)}")
    if out_features and input.dim() == 1:
        raise RuntimeError(f"K-dimensional loss defined by linear_weight shape {tuple(linear_weight.shape)} "
                           f"requires batched input, (N, {in_features}), got unbatched input with shape "
                           f"{tuple(input.shape)}")
    return num_classes, out_features


def linear_cross_entropy(input: Tensor, linear_weight: Tensor, target: Tensor, *,
                         linear_bias: Tensor | None = None, weight: Tensor | None = None,
                         reduction: str = "mean", ignore_index: int | None = None,
                         label_smoothing: float = 0.0,
                         options: LinearCrossEntropyOptions | None = None) -> Tensor:
    r"""``cross_entropy(linear(input, linear_weight, linear_bias), target, ...)`` (see the module
    docstring), by the reference path or, with ``options``, the chunked one.

    ``ignore_index=None`` (the default) means -100 for class-index targets, as in
    ``cross_entropy``, but -- unlike ``cross_entropy`` -- any explicit ``ignore_index`` is an
    error with probability targets.  The chunked path takes ``reduction`` in
    ``{'mean', 'sum', 'none'}``, no label smoothing, int64 class indices and ``out_features ==
    ()``; any other call warns and takes the reference path, as PyTorch does.

    Shapes: input ``(F)`` or ``(N, F)``; linear_weight ``(C, F)`` or ``(C, d_1, ..., d_K, F)``
    (batched input only); target ``()``/``(N)``/``(N, d_1, ..., d_K)`` class indices or
    probabilities of the logits' shape ``(N, C, d_1, ..., d_K)``.  Lesson 06."""
    num_classes, out_features = _check(input, linear_weight, linear_bias)
    batch = tuple(input.shape[:-1])
    logits_shape = (*batch, num_classes, *out_features)
    if tuple(target.shape) == logits_shape and ignore_index is not None:
        raise RuntimeError("ignore_index cannot be specified when target contains probabilities")
    ignore_index = ignore_index if ignore_index is not None else -100
    chunkable = (reduction in {"mean", "sum", "none"} and label_smoothing == 0.0
                 and target.dtype == backend.int64 and not out_features)
    if options is not None and not chunkable:
        warnings.warn("linear_cross_entropy: ``options`` ignored; chunked path needs reduction in "
                      "{'mean','sum','none'}, label_smoothing == 0, target.dtype == int64, out_features == (). "
                      f"Got reduction={reduction!r}, label_smoothing={label_smoothing}, "
                      f"target.dtype={str(target.dtype).replace('edunn.', 'torch.')}, "
                      f"out_features={out_features}, tracing=False, linear_bias.shape="
                      f"{tuple(linear_bias.shape) if linear_bias is not None else None}.", stacklevel=2)
    if options is not None and chunkable:
        unbatched = input.dim() == 1
        x, t = (input.unsqueeze(0), target.unsqueeze(0)) if unbatched else (input, target)
        if t.dim() != 1 or t.shape[0] != x.shape[0]:
            raise ValueError(f"Expected input batch_size ({x.shape[0]}) to match target batch_size "
                             f"({t.shape[0] if t.dim() else 1}).")
        opts = options._adjust(num_batches=x.shape[0], in_features=x.shape[1], num_classes=num_classes,
                               dtype=input.dtype, device=input.device)
        out = _LinearCrossEntropyChunked.apply(x, linear_weight, linear_bias, t, weight, reduction,
                                               ignore_index, opts.batch_chunk_size, opts.acc_dtype,
                                               opts.allow_retain_graph)
        return out.reshape(()) if unbatched and reduction == "none" else out
    if out_features:
        flat = math.prod(out_features, start=num_classes)
        linear_weight = linear_weight.reshape((flat, input.shape[-1]))
        if linear_bias is not None:
            linear_bias = linear_bias.reshape(flat)
    logits = linear(input, linear_weight, linear_bias).reshape(logits_shape)
    return cross_entropy(logits, target, weight=weight, reduction=reduction, ignore_index=ignore_index,
                         label_smoothing=label_smoothing)
