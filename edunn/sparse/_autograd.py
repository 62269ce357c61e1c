"""Autograd nodes of the sparse COO operations that are not matrix products or softmaxes:
densifying, summing, scaling/casting, coalescing and building from values."""
from __future__ import annotations

from typing import Any

from ..autograd import grad_mode
from ..autograd.function import Function
from ..tensor import Tensor


# ----------------------------------------------------------------------------------------------
# autograd: the few differentiable sparse operations.  Each node has one input edge, to a sparse
# tensor (or, for sparse_coo_tensor, to its values); a sparse gradient arriving at a non-leaf
# is made dense by the engine, so these backwards read dense gradients.
# ----------------------------------------------------------------------------------------------
def _record(out: Tensor, node_cls: type, parent: Tensor, **saved: Any) -> Tensor:
    """Make ``out`` the output of a ``node_cls`` node whose input is ``parent``, when autograd
    is recording and ``parent`` requires grad."""
    return _record_many(out, node_cls, (parent,), **saved)


def _record_many(out: Tensor, node_cls: type, parents: tuple, **saved: Any) -> Tensor:
    """``_record`` for a node with several inputs: an edge for each parent that requires grad
    (``None`` for the others, whose gradient the backward may skip)."""
    if not grad_mode.state.enabled or not any(p.requires_grad for p in parents):
        return out
    ctx = object.__new__(node_cls)
    edges = []
    for p in parents:
        if not p.requires_grad:
            edges.append(None)
            continue
        if p.is_sparse:
            shape, np_dtype = p._sparse_size, p._vals._data.dtype
        else:
            shape, np_dtype = p._data.shape, p._data.dtype
        edges.append((p.grad_fn or p, p._output_nr, tuple(shape), np_dtype))
    ctx._next = tuple(edges)
    ctx.__dict__.update(saved)
    out.requires_grad, out.grad_fn = True, ctx
    return out


class ToDense(Function):
    """``dense = s.to_dense()``.  Backward: the dense gradient read at ``s``'s positions, as a
    coalesced sparse tensor with ``s``'s distinct indices (PyTorch's ``sparse_mask``)."""

    @staticmethod
    def backward(ctx, grad):
        from ._coo import _new_sparse
        s = ctx.sparse.coalesce()
        vals = grad._data[tuple(s._idx._data)]
        return _new_sparse(s._idx._data, vals, s._sparse_size, vals.shape[0] <= 1)  # PyTorch's flag


class SparseFullSum(Function):
    """``total = s.sum()`` (PyTorch's ``SumBackward0``).  Backward: the gradient spread over every entry (dense)."""

    @staticmethod
    def backward(ctx, grad):
        return grad.expand(ctx.size)


class Scale(Function):
    """``out = factor * s`` (``mul``/``div`` by a number, ``neg``, ``clone``, ``to``).
    Backward: ``factor * grad``, on ``s``'s device."""

    @staticmethod
    def backward(ctx, grad):
        grad = grad if ctx.factor == 1 else grad * ctx.factor
        device = ctx.__dict__.get("device")
        return grad if device is None else grad.to(device)


def _no_graph(what: str, *operands: Any) -> None:
    """Refuse, rather than silently drop, a gradient edunn does not derive through ``what``."""
    if grad_mode.state.enabled and any(getattr(o, "requires_grad", False) for o in operands):
        raise RuntimeError(f"edunn does not differentiate through the sparse {what}; call "
                           ".to_dense() on the operands that require grad first (dense "
                           "arithmetic is differentiable)")


class Coalesce(Function):
    """``c = s.coalesce()``: the same dense tensor.  Backward: the gradient, unchanged."""

    @staticmethod
    def backward(ctx, grad):
        return grad


class ToSparse(Coalesce):
    """``s = x.to_sparse()``: the same tensor in another layout.  Backward: the gradient."""


class SparseCooTensor(Function):
    """``s = sparse_coo_tensor(indices, values, size)``.  Backward: the dense gradient read at
    each entry's position, one row per value."""

    @staticmethod
    def backward(ctx, grad):
        if grad.is_sparse:
            grad = grad.to_dense()
        if not ctx.indices:  # no sparse dimension: every value covers the whole tensor
            return grad.unsqueeze(0).expand((ctx.nnz,) + tuple(grad.shape))
        return grad[tuple(Tensor._make(i) for i in ctx.indices)]
