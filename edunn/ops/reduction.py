"""Reductions: ``sum``, ``mean``, ``max`` ... over all elements or along ``dim`` (``keepdim``)."""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from .broadcast import broadcast_to

__all__ = ['sum']



def _dims(dim: Any, ndim: int) -> tuple | None:
    """``dim`` as a sorted tuple of non-negative axes (None or () means all)."""
    if dim is None:
        return None
    if isinstance(dim, int):
        return (wrap_dim(dim, ndim),)
    dims = tuple(sorted(wrap_dim(d, ndim) for d in dim))
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {list(dim)} appears multiple times in the list of dims")
    return dims or None


def _keepdim_shape(shape: tuple, dims: tuple | None) -> tuple:
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


class Sum(Function):
    """``y = sum(x, dim)``;  dy/dx = 1: the gradient is broadcast back over the summed dims."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        xd = x._data
        ctx.in_shape = xd.shape
        ctx.kept = _keepdim_shape(xd.shape, dims)
        if np_dtype is None and xd.dtype.kind in "biu":
            np_dtype = backend.int64.np  # PyTorch sums integers and bools as int64
        return xd.sum(axis=dims, keepdims=keepdim, dtype=np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad.reshape(ctx.kept), ctx.in_shape), None, None, None


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
    dims = _dims(dim, input._data.ndim)
    np_dtype = None if dtype is None else backend.as_dtype(dtype).np
    return Sum.apply(input, dims, keepdim, np_dtype)
