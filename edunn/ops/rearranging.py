"""Rearranging copies: ``repeat``, ``tile``, ``repeat_interleave``, ``flip``, ``roll``, ``rot90``.

These shape ops build a new tensor (PyTorch copies here too: the result owns its memory) whose
elements are the input's, repeated or put in another order, without arithmetic.  So each
backward moves the gradient back where the elements came from: ``repeat`` sums the gradient of
every copy, ``flip`` flips it again, ``roll`` rolls it back; ``repeat_interleave`` and ``rot90``
are made of other ops (``index_select``; ``flip`` and ``transpose``) and need no backward of
their own.  Lesson 01 (shapes) and lesson 02 (their gradients).

Complex tensors go through them as real ones do (``supports_complex``).  These used to be part of
``shape.py``, which re-exports them (``edunn.ops.shape.flip`` is this module's ``flip``); the
views (``reshape``, ``permute``, ``expand`` ...) stay there.
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from .shape import clone, flatten, transpose

__all__ = ['repeat', 'tile', 'repeat_interleave', 'flip', 'fliplr', 'flipud', 'roll', 'rot90']


# ----------------------------------------------------------------------------------------------
# repeating: repeat, tile, repeat_interleave
# ----------------------------------------------------------------------------------------------
class Repeat(Function):
    """``y = x.repeat(sizes)``: x tiled ``sizes[k]`` times along dim k.  Backward: the gradient
    viewed as (r0, s0, r1, s1, ...) and summed over the r's."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, sizes):
        shape = (1,) * (len(sizes) - x._data.ndim) + x._data.shape
        ctx.in_shape, ctx.shape, ctx.sizes = x._data.shape, shape, sizes
        return backend.array_module(x._data).tile(x._data.reshape(shape), sizes)

    @staticmethod
    def backward(ctx, grad):
        split = []
        for r, s in zip(ctx.sizes, ctx.shape):
            split += [r, s]
        g = grad.reshape(tuple(split)).sum(tuple(range(0, 2 * len(ctx.sizes), 2)))
        return g.reshape(ctx.in_shape), None


def repeat(input: Tensor, sizes: Sequence[int]) -> Tensor:
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < input._data.ndim:
        raise RuntimeError("Number of dimensions of repeat dims can not be smaller than number of "
                           f"dimensions of tensor (repeat dims {list(sizes)}, tensor shape "
                           f"{list(input._data.shape)})")
    return Repeat.apply(input, sizes)


def tile(input: Tensor, dims: Sequence[int]) -> Tensor:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    dims = (1,) * (input._data.ndim - len(dims)) + dims
    return Repeat.apply(input, dims)


@backend.on_input_device
def repeat_interleave(input: Tensor, repeats: Any = None, dim: int | None = None, *,
                      output_size: int | None = None) -> Tensor:
    """Each element (or slice along ``dim``) repeated ``repeats`` times, in place; built from
    ``index_select``, whose backward adds the copies' gradients back together."""
    from .indexing import index_select
    xp = backend.array_module(input._data)
    if repeats is None:  # repeat_interleave(repeats): arange repeated
        r = input._data
        out = xp.repeat(xp.arange(r.shape[0], dtype=backend.int64.np), r)
        return Tensor._make(out)
    if dim is None:
        input = flatten(input)
        dim = 0
    d = wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    r = repeats._data if isinstance(repeats, Tensor) else repeats
    if getattr(r, "ndim", 0) == 1 and r.shape[0] not in (1, n):
        raise RuntimeError(f"repeats must have the same size as input along dim, but got repeats.size(0) = "
                           f"{r.shape[0]} and input.size({dim}) = {n}")
    index = xp.repeat(xp.arange(n, dtype=backend.int64.np), r)
    return index_select(input, d, Tensor._make(index))


# ----------------------------------------------------------------------------------------------
# reordering: flip, roll, rot90
# ----------------------------------------------------------------------------------------------
class Flip(Function):
    """``y = flip(x, dims)``: reversed along ``dims``.  Backward: flip again."""
    supports_complex = True
    _is_view = False

    @staticmethod
    def forward(ctx, x, dims):
        ctx.dims = dims
        return backend.array_module(x._data).flip(x._data, dims).copy()

    @staticmethod
    def backward(ctx, grad):
        return Flip.apply(grad, ctx.dims), None


def flip(input: Tensor, dims: Any) -> Tensor:
    dims = (dims,) if isinstance(dims, int) else tuple(dims)
    dims = tuple(wrap_dim(d, input._data.ndim) for d in dims)
    return Flip.apply(input, dims if input._data.ndim else ())   # a 0-d tensor: nothing to flip


def fliplr(input: Tensor) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("Input must be >= 2-d.")
    return flip(input, (1,))


def flipud(input: Tensor) -> Tensor:
    if input._data.ndim < 1:
        raise RuntimeError("Input must be >= 1-d.")
    return flip(input, (0,))


class Roll(Function):
    """``y = roll(x, shifts, dims)``: elements shifted cyclically.  Backward: roll back."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, shifts, dims):
        ctx.shifts, ctx.dims = shifts, dims
        return backend.array_module(x._data).roll(x._data, shifts, dims)

    @staticmethod
    def backward(ctx, grad):
        back = None if ctx.shifts is None else (
            -ctx.shifts if isinstance(ctx.shifts, int) else tuple(-s for s in ctx.shifts))
        return Roll.apply(grad, back, ctx.dims), None, None


def roll(input: Tensor, shifts: Any, dims: Any = None) -> Tensor:
    if dims is None:
        shape = input._data.shape
        return Roll.apply(flatten(input), shifts if isinstance(shifts, int) else tuple(shifts), 0).reshape(shape)
    shifts = shifts if isinstance(shifts, int) else tuple(shifts)
    dims = dims if isinstance(dims, int) else tuple(dims)
    if not isinstance(shifts, int) and not isinstance(dims, int) and len(shifts) != len(dims):
        raise RuntimeError(f"shifts and dimensions must align. shifts: {len(shifts)}, dims:{len(dims)}")
    return Roll.apply(input, shifts, dims)


def rot90(input: Tensor, k: int = 1, dims: Sequence[int] = (0, 1)) -> Tensor:
    """Rotation by 90 degrees ``k`` times in the plane ``dims`` (from the first towards the
    second axis): made of ``flip`` and ``transpose``, so the gradient needs nothing new."""
    if len(dims) != 2:
        raise RuntimeError(f"expected total rotation dims == 2, but got dims = {len(dims)}")
    a, b = wrap_dim(dims[0], input._data.ndim), wrap_dim(dims[1], input._data.ndim)
    if a == b:
        raise RuntimeError(f"expected rotation dims to be different, but got dim0 = {a} and dim1 = {b}")
    k %= 4
    if k == 1:
        return transpose(flip(input, (b,)), a, b)
    if k == 2:
        return flip(input, (a, b))
    if k == 3:
        return flip(transpose(input, a, b), (b,))
    return clone(input)
