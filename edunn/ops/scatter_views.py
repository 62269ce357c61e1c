"""A view, and the out-of-place writes into one: ``select``, ``select_scatter``,
``slice_scatter``, ``diagonal_scatter``.

``x.select_scatter(src, dim, i)`` is ``y = x.clone(); y.select(dim, i).copy_(src); return y``
without touching ``x``: the index-put op (``indexing.IndexPut``) with the index of that view, so
the gradient of ``x`` is the output gradient with the view's positions zeroed and the gradient
of ``src`` is the output gradient's view.  ``diagonal_scatter`` picks between ``src`` on the
diagonal (``shape.DiagonalScatter``) and ``x`` elsewhere with ``where``.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor, wrap_dim
from .elementwise import _where
from ._out import write_out
from .indexing import IndexPut, getitem

__all__ = ['select', 'select_scatter', 'slice_scatter', 'diagonal_scatter']


def _select_index(input: Tensor, dim: int, index: int) -> tuple:
    """The index tuple of ``input.select(dim, index)``, with PyTorch's errors."""
    shape = input._data.shape
    if not shape:
        raise IndexError("select() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, len(shape))
    i = int(index)
    if not -shape[d] <= i < shape[d]:
        raise IndexError(f"select(): index {i} out of range for tensor of size {list(shape)} at dimension {d}")
    return (slice(None),) * d + (i % shape[d],)


def select(input: Tensor, dim: int, index: int) -> Tensor:
    """The slice at ``index`` along ``dim`` (that dim removed): ``x.select(0, i)`` is ``x[i]``,
    a view."""
    return getitem(input, _select_index(input, dim, index))


def _scatter_into(input: Tensor, src: Tensor, idx: tuple) -> Tensor:
    view_shape = input._data[idx].shape
    if tuple(src._data.shape) != tuple(view_shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._data.shape)}, slice size = {list(view_shape)}")
    if src.device != input.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                           f"devices, {input.device} and {src.device}!")
    return IndexPut.apply(input, src, idx, False)


@backend.on_input_device
def select_scatter(input: Tensor, src: Tensor, dim: int, index: int) -> Tensor:
    """``input`` with ``src`` written into ``input.select(dim, index)`` (a new tensor; ``src``
    takes input's dtype)."""
    return _scatter_into(input, src, _select_index(input, dim, index))


@backend.on_input_device
def slice_scatter(input: Tensor, src: Tensor, dim: int = 0, start: int | None = None,
                  end: int | None = None, step: int = 1, *, out: Any = None) -> Tensor:
    """``input`` with ``src`` written into ``input[..., start:end:step, ...]`` (the slice along
    ``dim``; start and end are clamped as in Python slicing)."""
    if input._data.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, input._data.ndim)
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    return write_out(_scatter_into(input, src, (slice(None),) * d + (slice(start, end, step),)), out)


@backend.on_input_device
def diagonal_scatter(input: Tensor, src: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    """``input`` with ``src`` written onto ``input.diagonal(offset, dim1, dim2)`` (whose last
    dim is the diagonal)."""
    from .shape import DiagonalScatter, diagonal
    view = diagonal(input.detach(), offset, dim1, dim2)  # checks the dims, gives the target shape
    if tuple(src._data.shape) != tuple(view._data.shape):
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src._data.shape)}, slice size = {list(view._data.shape)}")
    n = input._data.ndim
    a, b = wrap_dim(dim1, n), wrap_dim(dim2, n)
    shape = tuple(input._data.shape)
    placed = DiagonalScatter.apply(src.to(input.dtype), shape, offset, a, b)
    xp = backend.array_module(input._data)
    mask = DiagonalScatter.apply(Tensor._make(xp.ones(view._data.shape, bool)), shape, offset, a, b)._data
    return _where(mask, placed, input)
