"""``as_strided`` and its family: a tensor read straight off its storage (lesson 01).

Every tensor is a view ``(size, stride, storage_offset)`` of a flat storage (``storage.py``):
element :math:`(i_0, \\dots, i_{n-1})` sits at position

.. math:: p(i) = \\mathrm{offset} + \\sum_k i_k\\, \\mathrm{stride}_k .

``x.as_strided(size, stride, storage_offset)`` makes a new view of ``x``'s storage with any such
geometry -- overlapping windows (a stride smaller than the window), a repeated dimension
(stride 0), a diagonal (stride ``n + 1``) -- without copying an element.  The offset is counted
from the start of the storage, not from ``x``'s first element; by default it is ``x``'s own.

Backward (PyTorch's ``as_strided_backward``): gradients are gathered in storage space, summed
where several output elements sit at one position, and each input element takes the total at its
own position -- shared equally when several input elements sit there too (an expanded input):

.. math:: g_s(p) = \\sum_{j:\\, p_{out}(j) = p} g_j, \\qquad
          \\frac{\\partial L}{\\partial x_i} = \\frac{g_s(p_{in}(i))}{\\#\\{i' : p_{in}(i') = p_{in}(i)\\}} .

Positions the output reads but the input does not cover (``x[1:].as_strided(..., 0)`` reads
``x[0]``) pass no gradient to ``x``: that element is not part of it.

An ``as_strided`` view depends on how its base is laid out in memory, unlike ``x[1]`` or
``x.t()``; so when an in-place op writes through one (``ops/copy_slices.py``) the gradient is
first laid out as the base was, as PyTorch's ``CopySlices`` does (:class:`Restride`).
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ["as_strided", "as_strided_", "as_strided_scatter"]


def strided(flat: Any, size: tuple, stride: tuple) -> Any:
    """The view ``(size, stride)`` (strides in elements) of a flat array, from its first element."""
    if 0 in size:
        return flat[:0].reshape(size)
    item = flat.dtype.itemsize
    return backend.array_module(flat).lib.stride_tricks.as_strided(flat, size, tuple(s * item for s in stride))


def elements_of(t: Tensor) -> Any:
    """The flat array of ``t``'s dtype over all of ``t``'s storage (no copy)."""
    from ..storage import _bytes_of
    owner = t._base if t._base is not None else t
    raw = _bytes_of(owner._data)
    item = t._data.dtype.itemsize
    return raw[:raw.size // item * item].view(t._data.dtype)


def _span(size: tuple, stride: tuple, offset: int) -> int:
    """How many elements of storage the view ``(size, stride, offset)`` needs."""
    return offset if 0 in size else offset + 1 + sum((n - 1) * s for n, s in zip(size, stride))


def check_geometry(size: Sequence[int], stride: Sequence[int], offset: int, itemsize: int,
                   storage_nbytes: int, op: str = "as_strided") -> tuple:
    """``(size, stride)`` as tuples of ints, once the view fits a storage of ``storage_nbytes``;
    PyTorch's errors (``as_strided``'s, or ``set_``'s where they differ) otherwise."""
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    overflow = f"Storage size calculation overflowed with sizes={list(size)} and strides={list(stride)}"
    if len(size) != len(stride):
        raise RuntimeError(f"unequal size length ({len(size)}) and stride length ({len(stride)})"
                           if op == "set_" else "mismatch in length of strides and shape")
    if any(s < 0 for s in stride):
        raise RuntimeError(overflow if op == "set_" else
                           f"as_strided: Negative strides are not supported at the moment, got strides: "
                           f"{list(stride)}")
    if any(n < 0 for n in size):
        raise RuntimeError("numel: integer multiplication overflow" if op == "set_" else overflow)
    if offset < 0:
        raise RuntimeError(f"Tensor: invalid storage offset {offset}")
    need = _span(size, stride, offset) * itemsize
    if need > storage_nbytes:
        raise RuntimeError(
            f"setStorage: sizes {list(size)}, strides {list(stride)}, storage offset {offset}, and itemsize "
            f"{itemsize} requiring a storage size of {need} are out of bounds for storage of size "
            f"{storage_nbytes}")
    return size, stride


def _positions(xp: Any, size: tuple, stride: tuple, offset: int) -> Any:
    """The storage position of every element of the view ``(size, stride, offset)``, flat."""
    position = xp.full((), offset, xp.int64)
    for dim, (n, st) in enumerate(zip(size, stride)):  # one broadcast step per dim, not per element
        shape = [1] * len(size)
        shape[dim] = n
        position = position + (xp.arange(n, dtype=xp.int64) * st).reshape(shape)
    return xp.broadcast_to(position, size).reshape(-1)


def _maybe_overlapping(size: tuple, stride: tuple) -> bool:
    """False when no two elements of the geometry can share a position: sorted by stride, each
    dim steps past everything the smaller ones span (PyTorch's test; True may be a false alarm)."""
    span = 0
    for st, n in sorted((st, n) for n, st in zip(size, stride) if n > 1):
        if st <= span:
            return True
        span += (n - 1) * st
    return False


class AsStrided(Function):
    """``y = x.as_strided(size, stride, offset)``: a view of ``x``'s storage.  Backward: the
    gradient gathered in storage space and read back at ``x``'s own positions (module text)."""
    supports_complex = True
    _is_view = True
    reads_memory_layout = True  # ops/copy_slices.py lays gradients out as the base was

    @staticmethod
    def forward(ctx, x, size, stride, offset):
        ctx.geometry = (size, stride, offset, tuple(x._data.shape), x.stride(), x.storage_offset())
        return strided(elements_of(x)[offset:], size, stride)

    @staticmethod
    def backward(ctx, grad):
        from .creation import zeros
        size, stride, offset, in_size, in_stride, in_offset = ctx.geometry
        xp = backend.array_module(grad._data)
        out_pos, in_pos = _positions(xp, size, stride, offset), _positions(xp, in_size, in_stride, in_offset)
        n = max(_span(size, stride, offset), _span(in_size, in_stride, in_offset))
        total = zeros(n, dtype=grad.dtype, device=grad.device).index_add(
            0, Tensor._make(out_pos), grad.reshape(-1))
        if _maybe_overlapping(in_size, in_stride):
            count = xp.zeros(n, grad._data.dtype)
            backend.scatter_add_at(count, in_pos, xp.ones(in_pos.shape, grad._data.dtype))
            total = total / Tensor._make(xp.maximum(count, 1))
        return total[Tensor._make(in_pos)].reshape(in_size), None, None, None


def laid_out_copy(data: Any, stride: tuple) -> Any:
    """``data``'s values in new memory laid out with ``stride`` (in elements; dense and
    non-overlapping, as :func:`preserved_strides` gives)."""
    xp = backend.array_module(data)
    out = strided(xp.empty(_span(data.shape, stride, 0), data.dtype), data.shape, stride)
    out[...] = data
    return out


def preserved_strides(size: tuple, stride: tuple) -> tuple:
    """The strides of a copy that keeps a layout (PyTorch's ``preserve_format``): the same ones
    for a dense, non-overlapping layout; otherwise dense strides whose order follows the input's
    (``infer_dense_strides``: dims sorted by stride, a dim of stride 0 keeps its place)."""
    expected = 1
    for st, n in sorted((st, n) for n, st in zip(size, stride) if n != 1):
        if st != expected:
            break
        expected *= n
    else:
        return stride
    ndim = len(size)
    perm = list(range(ndim - 1, -1, -1))  # innermost first

    def should_swap(d0: int, d1: int) -> int:
        s0, s1 = stride[d0], stride[d1]
        if s0 == 0 or s1 == 0:
            return 0
        if s0 != s1:
            return -1 if s0 < s1 else 1
        return 1 if size[d0] > size[d1] else 0
    for i in range(1, ndim):  # a stable insertion sort, as PyTorch's
        d1 = i
        for d0 in range(i - 1, -1, -1):
            c = should_swap(perm[d0], perm[d1])
            if c > 0:
                perm[d0], perm[d1] = perm[d1], perm[d0]
                d1 = d0
            elif c < 0:
                break
    out, step = [0] * ndim, 1
    for d in perm:
        out[d] = step
        step *= size[d] if size[d] > 1 else 1
    return tuple(out)


class Restride(Function):
    """``x``'s values in new memory laid out with ``stride`` (in elements; a dense,
    non-overlapping layout such as the one of another tensor of ``x``'s shape).  Backward: the
    gradient unchanged."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, stride):
        return laid_out_copy(x._data, stride)

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def as_strided(input: Tensor, size: Sequence[int], stride: Sequence[int],
               storage_offset: int | None = None) -> Tensor:
    """A view of ``input``'s storage with the given sizes, strides (both in elements) and
    offset from the storage's start (default: ``input.storage_offset()``)."""
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    size, stride = check_geometry(size, stride, offset, input._data.dtype.itemsize,
                                  elements_of(input).nbytes)
    return AsStrided.apply(input, size, stride, offset)


def as_strided_(input: Tensor, size: Sequence[int], stride: Sequence[int],
                storage_offset: int | None = None) -> Tensor:
    """``input`` itself becomes the view ``as_strided(input, size, stride, storage_offset)``."""
    return input._inplace_view(as_strided(input, size, stride, storage_offset))


def as_strided_scatter(input: Tensor, src: Tensor, size: Sequence[int], stride: Sequence[int],
                       storage_offset: int | None = None) -> Tensor:
    """A copy of ``input``, laid out as ``input``, in which every element that
    ``input.as_strided(size, stride, storage_offset)`` would read holds the matching element of
    ``src``; positions of that region outside ``input`` are dropped (PyTorch's forward).
    Backward: ``src`` gets the output's gradient at the positions it was written to, ``input``
    the rest.  (PyTorch 2.13's own gradients are right only for a contiguous input without an
    offset, its input gradient fails its own gradcheck, and it refuses non-contiguous inputs that
    require grad; edunn's are checked by finite differences.)"""
    from .joining import cat
    from .indexing import index_put
    offset = input.storage_offset() if storage_offset is None else int(storage_offset)
    size, stride = check_geometry(size, stride, offset, input._data.dtype.itemsize, elements_of(input).nbytes)
    if tuple(src.shape) != size:
        raise RuntimeError(f"expected src to have a size equal to the slice of self. src size = "
                           f"{list(src.shape)}, slice size = {list(size)}")
    numel, shape, in_stride = input.numel(), tuple(input.shape), input.stride()
    target = _elements_read(input, size, stride, offset)  # src elements outside input: a dropped slot
    padded = cat([input.reshape(-1), input.new_zeros(1)])
    out = index_put(padded, (target,), src.reshape(-1))[:numel].reshape(shape)
    if not out._data.flags.c_contiguous or not input._data.flags.c_contiguous:
        out = Restride.apply(out, in_stride if not _maybe_overlapping(shape, in_stride)
                             else preserved_strides(shape, in_stride))
    return out


def _elements_read(x: Tensor, size: tuple, stride: tuple, offset: int) -> Tensor:
    """For each element of the view ``(size, stride, offset)`` of ``x``'s storage, flat: the
    index of the element of ``x`` (flat, in logical order) at its position, or ``x.numel()``
    where no element of ``x`` is."""
    xp = backend.array_module(x._data)
    shape, in_stride, in_offset = tuple(x.shape), x.stride(), x.storage_offset()
    in_pos = _positions(xp, shape, in_stride, in_offset)
    element_at = xp.full(max(_span(shape, in_stride, in_offset), _span(size, stride, offset)), in_pos.size,
                         xp.int64)
    element_at[in_pos] = xp.arange(in_pos.size, dtype=xp.int64)
    return Tensor._make(element_at[_positions(xp, size, stride, offset)])


def as_strided_jvp(cls: type, args: tuple, kwargs: dict, tangents: list, out: Tensor) -> Tensor:
    """Forward-mode rule of :class:`AsStrided`: each output element's tangent is the tangent of
    the input element at its position (0 where none is).  Re-running the op on the tangent, as
    for other views, would read the tangent's own storage, which need not be laid out as the
    input's."""
    from .joining import cat
    x, size, stride, offset = args
    t = tangents[0]
    return cat([t.reshape(-1), t.new_zeros(1)])[_elements_read(x, size, stride, offset)].reshape(size)
