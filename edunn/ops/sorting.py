"""Sorting and counting: ``sort``, ``argsort``, ``topk``, ``kthvalue``, ``unique``, ``bincount``,
``histc``, ``searchsorted``.

Sorting is not itself differentiable in its order, but the sorted *values* are: ``sort`` finds
the permutation (integer indices, no gradient) and then ``gather``s the values, so the gradient
of each value is scattered back to where it came from -- the backward of ``gather``.  Lesson 02.
"""
from __future__ import annotations

from typing import Any

from .. import backend, return_types
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from .indexing import gather

__all__ = ['sort', 'argsort', 'msort', 'topk', 'kthvalue', 'unique', 'unique_consecutive', 'bincount',
           'histc', 'searchsorted', 'bucketize']

_INT64 = backend.int64.np


def _argsort(x: Any, dim: int, descending: bool, stable: bool) -> Any:
    """Indices that sort ``x`` along ``dim``; NaN counts as the largest value (PyTorch's order)
    and equal values keep their original order."""
    xp = backend.array_module(x)
    if x.dtype.kind == "c":  # NumPy would order complex numbers lexicographically; torch refuses
        raise RuntimeError("Sort does not support complex dtypes")
    if not descending:
        return xp.argsort(x, axis=dim, kind="stable")
    # Descending and stable: sort the reversed array ascending, then reverse the result; equal
    # values then come out in their original order.
    n = x.shape[dim]
    flipped = xp.flip(x, dim)
    idx = xp.flip(xp.argsort(flipped, axis=dim, kind="stable"), dim)
    return (n - 1) - idx


@backend.on_input_device
def sort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False, out: Any = None) -> Any:
    """``(values, indices)`` with ``values = input.gather(dim, indices)`` sorted along ``dim``.
    Backward: the values' gradient scattered back through ``indices``."""
    x = input._data
    if x.ndim == 0:  # one entry, already in place
        return write_out(return_types.sort(input.clone(), Tensor._make(backend.array_module(x).zeros((), _INT64))), out)
    d = wrap_dim(dim, x.ndim)
    idx = Tensor._make(_argsort(x, d, descending, stable).astype(_INT64))
    return write_out(return_types.sort(gather(input, d, idx), idx), out)


@backend.on_input_device
def argsort(input: Tensor, dim: int = -1, descending: bool = False, *, stable: bool = False) -> Tensor:
    x = input._data
    if x.ndim == 0:
        return Tensor._make(backend.array_module(x).zeros((), _INT64))
    return Tensor._make(_argsort(x, wrap_dim(dim, x.ndim), descending, stable).astype(_INT64))


@backend.on_input_device
def msort(input: Tensor, *, out: Any = None) -> Tensor:
    return write_out(sort(input, 0).values, out)


def _dim_and_size(x: Any, dim: int) -> tuple:
    """``dim`` wrapped, and the length of ``x`` along it (a 0-d tensor counts as one entry)."""
    d = wrap_dim(dim, max(x.ndim, 1))
    return d, (x.shape[d] if x.ndim else 1)


def _sorted_slice(input: Tensor, d: int, descending: bool, start: int, stop: int) -> tuple:
    """``(values, indices)`` of the entries ``start:stop`` of ``input`` stably sorted along ``d``;
    the values are ``gather``ed, so their gradient flows back through the indices."""
    order = _argsort(input._data, d, descending, True)
    idx = Tensor._make(order[(slice(None),) * d + (slice(start, stop),)].astype(_INT64))
    return gather(input, d, idx), idx


@backend.on_input_device
def topk(input: Tensor, k: int, dim: int = -1, largest: bool = True, sorted: bool = True, *, out: Any = None) -> Any:
    """The ``k`` largest (or smallest) entries along ``dim`` and their indices."""
    d, n = _dim_and_size(input._data, dim)
    if not 0 <= k <= n:
        raise RuntimeError(f"selected index k out of range (k = {k}, size of dim {d} = {n})")
    if input._data.ndim == 0:
        return write_out(return_types.topk(*sort(input)), out)
    return write_out(return_types.topk(*_sorted_slice(input, d, largest, 0, k)), out)


@backend.on_input_device
def kthvalue(input: Tensor, k: int, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
    """The ``k``-th smallest entry along ``dim`` (1-based) and its index."""
    d, n = _dim_and_size(input._data, dim)
    if not 1 <= k <= n:
        raise RuntimeError(f"kthvalue(): selected number k out of range for dimension {d} (k = {k}, size {n})")
    if input._data.ndim == 0:
        return write_out(return_types.kthvalue(*sort(input)), out)
    values, idx = _sorted_slice(input, d, False, k - 1, k)
    if not keepdim:
        values, idx = values.squeeze(d), idx.squeeze(d)
    return write_out(return_types.kthvalue(values, idx), out)


@backend.on_input_device
def unique(input: Tensor, sorted: bool = True, return_inverse: bool = False, return_counts: bool = False,
           dim: int | None = None) -> Any:
    """The distinct values (always sorted here), optionally with the index of each input entry
    into them (``return_inverse``) and how often each occurs (``return_counts``).  Not
    differentiable."""
    x = input._data
    xp = backend.array_module(x)
    if dim is None:
        vals, inv, counts = xp.unique(x.reshape(-1), return_inverse=True, return_counts=True)
        inv = inv.reshape(x.shape)
    else:
        d = wrap_dim(dim, x.ndim)
        vals, inv, counts = xp.unique(x, return_inverse=True, return_counts=True, axis=d)
        inv = inv.reshape(-1)
    out = [Tensor._make(vals)]
    if return_inverse:
        out.append(Tensor._make(inv.astype(_INT64)))
    if return_counts:
        out.append(Tensor._make(counts.astype(_INT64)))
    return out[0] if len(out) == 1 else tuple(out)


@backend.on_input_device
def unique_consecutive(input: Tensor, return_inverse: bool = False, return_counts: bool = False,
                       dim: int | None = None) -> Any:
    """Collapse runs of equal consecutive values (or slices along ``dim``)."""
    x = input._data
    xp = backend.array_module(x)
    if dim is None:
        flat = x.reshape(-1)
        d = 0
    else:
        d = wrap_dim(dim, x.ndim)
        flat = xp.moveaxis(x, d, 0).reshape(x.shape[d], -1)
    n = flat.shape[0]
    if n == 0:
        change = xp.zeros(0, bool)
    else:
        diff = flat[1:] != flat[:-1]
        diff = diff if diff.ndim == 1 else diff.any(axis=1)
        change = xp.concatenate([xp.ones(1, bool), diff])
    starts = xp.nonzero(change)[0]
    if dim is None:
        vals = flat[starts]
    else:
        vals = xp.take(x, starts, axis=d)
    out = [Tensor._make(vals)]
    if return_inverse:
        inv = xp.cumsum(change) - 1
        out.append(Tensor._make((inv.reshape(x.shape) if dim is None else inv).astype(_INT64)))
    if return_counts:
        counts = xp.diff(xp.concatenate([starts, xp.asarray([n])]))
        out.append(Tensor._make(counts.astype(_INT64)))
    return out[0] if len(out) == 1 else tuple(out)


@backend.on_input_device
def bincount(input: Tensor, weights: Tensor | None = None, minlength: int = 0) -> Tensor:
    """How often each value 0, 1, ... occurs in a 1-D non-negative int tensor (or the sum of
    ``weights`` there).  Not differentiable."""
    x = input._data
    if x.ndim != 1 or x.dtype.kind not in "iu":
        raise RuntimeError(f"bincount only supports 1-d non-negative integral inputs (got shape "
                           f"{list(x.shape)}, dtype {input.dtype.name})")
    if x.size and int(x.min()) < 0:
        raise RuntimeError("bincount only supports 1-d non-negative integral inputs.")
    xp = backend.array_module(x)
    if weights is None:
        return Tensor._make(xp.bincount(x, minlength=minlength).astype(_INT64))
    w = weights._data
    out = xp.bincount(x, weights=w, minlength=minlength)
    dt = w.dtype if w.dtype.kind == "f" else backend.float64.np
    return Tensor._make(out.astype(dt))


@backend.on_input_device
def histc(input: Tensor, bins: int = 100, min: Any = 0, max: Any = 0, *, out: Any = None) -> Tensor:
    """Counts in ``bins`` equal bins between ``min`` and ``max`` (the data's range when both
    are 0); values outside are ignored."""
    x = input._data
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"histogram_cpu\" not implemented for '{input.dtype.name}'")
    if bins <= 0:
        raise RuntimeError(f"bins must be > 0, got {bins}")
    xp = backend.array_module(x)
    lo, hi = float(min), float(max)
    if lo == hi and x.size:
        lo, hi = float(x.min()), float(x.max())
    if lo == hi:
        lo, hi = lo - 1, hi + 1
    if lo > hi:
        raise RuntimeError(f"max must be larger than min (got min {lo}, max {hi})")
    counts, _ = xp.histogram(x.astype(backend.float64.np), bins=bins, range=(lo, hi))
    return write_out(Tensor._make(counts.astype(x.dtype)), out)


@backend.on_input_device
def searchsorted(sorted_sequence: Tensor, input: Any, *, out_int32: bool = False, right: bool = False,
                 side: str | None = None, sorter: Tensor | None = None, out: Any = None) -> Tensor:
    """For each value, the index where it would be inserted into ``sorted_sequence`` (along its
    last dim) to keep it sorted: before equal entries, or after them with ``right``/``side='right'``."""
    seq = sorted_sequence._data
    xp = backend.array_module(seq)
    scalar = not isinstance(input, Tensor)
    vals = xp.asarray(input) if scalar else input._data
    if side is not None:
        if side not in ("left", "right"):
            raise RuntimeError(f"torch.searchsorted(): side can only be 'left' or 'right' but got {side}")
        if right and side == "left":
            raise RuntimeError("torch.searchsorted(): side and right can't be set to opposites, got side of "
                               "left while right was True")
        right = side == "right"
    if sorter is not None:
        seq = xp.take_along_axis(seq, sorter._data, axis=-1)
    if seq.ndim == 1:
        found = xp.searchsorted(seq, vals, side="right" if right else "left")
    else:
        if seq.shape[:-1] != vals.shape[:-1]:
            raise RuntimeError(f"torch.searchsorted(): boundaries tensor should be 1 dimension or the first N-1 "
                               f"dimensions of boundaries tensor and input value tensor must match, but we got "
                               f"boundaries tensor {list(seq.shape)} and input value tensor {list(vals.shape)}")
        # Count, for every value, the entries of its row below it (or at most it).
        cmp = seq[..., None, :] <= vals[..., :, None] if right else seq[..., None, :] < vals[..., :, None]
        found = cmp.sum(axis=-1)
    return write_out(Tensor._make(xp.asarray(found).astype(backend.int32.np if out_int32 else _INT64)), out)


@backend.on_input_device
def bucketize(input: Any, boundaries: Tensor, *, out_int32: bool = False, right: bool = False, out: Any = None) -> Tensor:
    """The bucket of each value between 1-D ``boundaries`` (``searchsorted`` with the arguments
    swapped)."""
    if boundaries._data.ndim != 1:
        raise RuntimeError(f"boundaries tensor must be 1 dimension, but got dim({boundaries._data.ndim})")
    return write_out(searchsorted(boundaries, input, out_int32=out_int32, right=right), out)
