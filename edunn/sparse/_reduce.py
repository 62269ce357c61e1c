"""Reductions over sparse COO tensors: ``torch.sparse.sum``, ``softmax`` and ``log_softmax``.

``sparse.sum(input, dim)`` adds entries along ``dim``: summing a dense dimension sums each
value row along an axis; summing a sparse dimension merges the entries whose *remaining*
indices agree (``coalesce`` on the shortened indices).  When every sparse dimension is summed
the result is dense, as PyTorch's.

``sparse.softmax(input, dim)`` normalises over the *specified* entries only -- the unspecified
ones count as ``-inf`` (``exp(-inf) = 0``), so they neither appear in the result nor in any
denominator.  Along a sparse dimension, the entries sharing all other indices form a group:
with ``m_g`` the group's maximum (subtracted for stability, as in the dense softmax)::

    y_e = exp(x_e - m_g) / sum_{f in g} exp(x_f - m_g)

computed with scatter-max / scatter-add over the group numbers; along a dense dimension it is
the ordinary softmax of each value row.  Backward (``SparseSoftmaxBackward0``,
``SparseLogSoftmaxBackward0``): ``dx = y * (g - sum_group(g * y))`` and, for the log version,
``dx = g - exp(y) * sum_group(g)``; the gradient is sparse with the input's pattern.
"""
from __future__ import annotations

import builtins
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._autograd import _record_many
from ._coo import _INT64, SparseCOOTensor, _linear_key, _new_sparse

__all__ = ["sum", "softmax", "log_softmax"]


def _dims(dim: Any, ndim: int, fn: str) -> tuple:
    dims = (dim,) if isinstance(dim, builtins.int) else tuple(dim)
    out = []
    for d in dims:
        if not -ndim <= d < ndim:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, "
                             f"{ndim - 1}], but got {d})")
        d = d % ndim
        if d in out:
            raise RuntimeError(f"{fn}: dim {d} appears multiple times in the list of dims")
        out.append(d)
    return tuple(sorted(out))


def _grad_values(grad: Tensor, c: SparseCOOTensor) -> Any:
    """The output gradient read at the entries of ``c`` (one row per entry)."""
    g = grad.to_dense()._data if grad.is_sparse else grad._data
    return g[tuple(c._idx._data)] if c._idx.shape[0] else g[None]


class SparseSum(Function):
    """``out = sparse.sum(s, dim)``: each entry of ``s`` receives the output gradient at its
    projected position, repeated along the summed dense dimensions (a sparse gradient)."""

    @staticmethod
    def backward(ctx, grad):
        c, kept_sparse, dense_axes = ctx.c, ctx.kept_sparse, ctx.dense_axes
        g = grad.to_dense()._data if grad.is_sparse else grad._data
        g = g.reshape(ctx.squeezed)  # drop the size-1 dimensions keepdim=True left
        idx = c._idx._data
        xp = backend.array_module(g)
        if kept_sparse:
            rows = g[tuple(idx[k] for k in kept_sparse)]
        else:  # every sparse dimension summed: the dense gradient is shared by all entries
            rows = xp.broadcast_to(g[None], (idx.shape[1],) + g.shape)
        for ax in dense_axes:  # put the summed dense axes back, then broadcast along them
            rows = xp.expand_dims(rows, ax)
        vals = xp.broadcast_to(rows, c._vals.shape).astype(c._vals._data.dtype)
        return _new_sparse(idx, vals.copy(), c._sparse_size, True)


@backend.on_input_device
def sum(input: Tensor, dim: Any = None, dtype: Any = None) -> Tensor:
    """``torch.sparse.sum``: the sum of every entry (a dense 0-d tensor) or, over ``dim`` (an
    int or a tuple), a sparse COO tensor (dense when every sparse dimension is summed).
    ``dtype`` casts the values first."""
    return _sum(input, dim, dtype, False)


def _sum(input: Tensor, dim: Any, dtype: Any, keepdim: bool) -> Tensor:
    """``sum`` with ``Tensor.sum``'s ``keepdim``: summed dimensions stay with size 1 (index 0
    for a sparse one)."""
    if not getattr(input, "is_sparse", False):
        from ..ops.reduction import sum as _dense_sum  # torch.sparse.sum accepts dense input too
        if dim is None:
            return _dense_sum(input, dtype=dtype)
        return _dense_sum(input, dim, keepdim, dtype=dtype)
    if dtype is not None:
        input = input.to(dtype)
    if dim is None:
        return input.sum()
    dims = _dims(dim, input.ndim, "sparse.sum")
    c = input.detach().coalesce()
    sd = c.sparse_dim()
    summed_sparse = [d for d in dims if d < sd]
    kept_sparse = [d for d in range(sd) if d not in summed_sparse]
    dense_axes = tuple(d - sd + 1 for d in dims if d >= sd)
    vals = c._vals._data
    xp = backend.array_module(vals)
    if dense_axes:
        vals = vals.sum(axis=dense_axes)
    out_dense_size = tuple(s for d, s in enumerate(c._sparse_size[sd:], sd) if d not in dims)
    if not kept_sparse:
        res = xp.asarray(vals.sum(axis=0))
        squeezed = res.shape
        if keepdim:
            res = res.reshape(tuple(1 if d in dims else n for d, n in enumerate(input.shape)))
        out = Tensor._make(res)
    else:
        idx = c._idx._data[kept_sparse]
        sizes = tuple(c._sparse_size[k] for k in kept_sparse)
        out = _new_sparse(idx, vals, sizes + out_dense_size, False)
        out = out.coalesce() if summed_sparse else _new_sparse(idx, vals, out._sparse_size, True)
        squeezed = out._sparse_size
        if keepdim:  # as PyTorch: unsqueeze each summed dim (sparse when at or before sparse_dim)
            o_idx, o_vals = out._idx._data, out._vals._data
            for d in dims:
                if d <= o_idx.shape[0]:
                    o_idx = xp.concatenate([o_idx[:d], xp.zeros((1, o_idx.shape[1]), _INT64),
                                            o_idx[d:]])
                else:
                    o_vals = xp.expand_dims(o_vals, d - o_idx.shape[0] + 1)
            out = _new_sparse(o_idx, o_vals,
                              tuple(1 if d in dims else n for d, n in enumerate(input.shape)),
                              out._coalesced)
    return _record_many(out, SparseSum, (input,), c=c, kept_sparse=kept_sparse,
                        dense_axes=dense_axes, squeezed=tuple(squeezed))


def _groups(c: SparseCOOTensor, dim: int, xp: Any) -> tuple:
    """Group number of each entry (entries that agree on every sparse index but ``dim``) and
    the number of groups."""
    idx = c._idx._data
    others = [k for k in range(idx.shape[0]) if k != dim]
    if not others:
        return xp.zeros(idx.shape[1], _INT64), 1
    key = _linear_key(idx[others], tuple(c._sparse_size[k] for k in others), xp)
    uniq, inverse = xp.unique(key, return_inverse=True)
    return inverse.reshape(-1), uniq.shape[0]


def _group_sum(vals: Any, group: Any, n: int, xp: Any) -> Any:
    total = xp.zeros((n,) + vals.shape[1:], vals.dtype)
    backend.scatter_add_at(total, group, vals)
    return total[group]


class SparseSoftmax(Function):
    """``y = sparse.softmax(x, dim)``; backward ``y * (g - sum_group(g * y))``."""

    log = False

    @staticmethod
    def backward(ctx, grad):
        c, y = ctx.c, ctx.y
        g = _grad_values(grad, c).astype(y.dtype, copy=False)
        xp = backend.array_module(y)
        if ctx.log:
            s = ctx.reduce(g, xp)
            dx = g - xp.exp(y) * s
        else:
            dx = y * (g - ctx.reduce(g * y, xp))
        return _new_sparse(c._idx._data, dx, c._sparse_size, True)


class SparseLogSoftmax(SparseSoftmax):
    """``y = sparse.log_softmax(x, dim)``; backward ``g - exp(y) * sum_group(g)``."""

    log = True


def _softmax(input: Tensor, dim: int, dtype: Any, log: bool) -> SparseCOOTensor:
    name = "log_softmax" if log else "softmax"
    if not getattr(input, "is_sparse", False):
        from ..nn import functional as F
        return (F.log_softmax if log else F.softmax)(input, dim, dtype=dtype)
    if not isinstance(dim, builtins.int):
        raise TypeError(f"sparse.{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    (dim,) = _dims(dim, input.ndim, f"sparse.{name}")
    if dtype is not None:
        input = input.to(dtype)
    if not input.is_floating_point():
        raise RuntimeError(f"{name}: expected a floating point input, got {input.dtype}")
    c = input.detach().coalesce()
    x = c._vals._data
    xp = backend.array_module(x)
    sd = c.sparse_dim()
    if dim >= sd:  # a dense dimension: the ordinary softmax of each value row
        axis = dim - sd + 1

        def reduce(v, xp):
            return v.sum(axis=axis, keepdims=True)
        m = x.max(axis=axis, keepdims=True) if x.size else x
    else:
        group, n = _groups(c, dim, xp)

        def reduce(v, xp):
            return _group_sum(v, group, n, xp)
        gmax = xp.full((n,) + x.shape[1:], -xp.inf, x.dtype)
        if x.shape[0]:
            backend.scatter_reduce_at(gmax, group, x, "maximum")
        m = gmax[group]
    shifted = x - xp.where(xp.isinf(m), 0, m) if x.size else x
    e = xp.exp(shifted)
    total = reduce(e, xp)
    y = shifted - xp.log(total) if log else e / total
    out = _new_sparse(c._idx._data, y, c._sparse_size, True)
    return _record_many(out, SparseLogSoftmax if log else SparseSoftmax, (input,), c=c, y=y,
                        reduce=reduce)


@backend.on_input_device
def softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """``torch.sparse.softmax``: softmax along ``dim`` over the specified entries only (see the
    module docstring); a sparse tensor with the input's (coalesced) pattern."""
    return _softmax(input, dim, dtype, False)


@backend.on_input_device
def log_softmax(input: Tensor, dim: int, *, dtype: Any = None) -> Tensor:
    """``torch.sparse.log_softmax``: ``log(softmax(input, dim))`` over the specified entries,
    computed as ``x - m - log(sum exp(x - m))`` for stability."""
    return _softmax(input, dim, dtype, True)
