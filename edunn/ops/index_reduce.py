"""``index_reduce``: reduce slices of ``source`` into ``input`` at the rows that ``index`` names.

PyTorch's ``torch.index_reduce(input, dim, index, source, reduce, *, include_self=True)`` (a beta
API) is the "reduce" sibling of ``index_add``/``index_copy``: for a 2-D input and ``dim=0``,

    out[index[i], :]  =  reduce(out[index[i], :], source[i, :])      for every i,

where ``reduce`` is ``"prod"``, ``"mean"``, ``"amax"`` or ``"amin"`` and several ``i`` sending
to the same row are all combined.  With ``include_self=False`` the rows of ``input`` that some
``i`` reaches do not take part (their old value is dropped); the other rows are kept as they are.
``"mean"`` on integers rounds down, as PyTorch's.

How we do it: it is ``scatter_reduce`` (ops/indexing.py) with a vector index spread along
``dim``: ``index`` reshaped to ``[1, .., n, .., 1]`` and broadcast to ``source``'s shape says,
for every element of ``source``, which row of ``input`` it goes to.  ``scatter_reduce`` already
holds the math and its derivative (PyTorch's ``index_reduce_backward`` is the same rule: the
gradient of a product is the product of the others, of a mean is shared equally, of ``amax``/
``amin`` goes to the elements equal to the result, split evenly between ties), so this file only
checks the arguments with PyTorch's messages and builds that index.
"""
from __future__ import annotations

from .. import backend
from ..tensor import Tensor, wrap_dim
from .indexing import scatter_reduce

__all__ = ["index_reduce"]

_REDUCES = ("prod", "mean", "amax", "amin")


@backend.on_input_device
def index_reduce(input: Tensor, dim: int, index: Tensor, source: Tensor, reduce: str, *,
                 include_self: bool = True) -> Tensor:
    """``out[..., index[i], ...] = reduce(out[..., index[i], ...], source[..., i, ...])`` along
    ``dim``, with ``reduce`` one of ``"prod"``, ``"mean"``, ``"amax"``, ``"amin"`` (see the module
    docstring).  Differentiable in ``input`` and ``source``."""
    if reduce not in _REDUCES:
        raise RuntimeError(f"index_reduce(): Expected reduce to be one of prod, mean, amax or amin "
                           f"but got {reduce}.")
    for name, t in (("input", input), ("index", index), ("source", source)):
        if not isinstance(t, Tensor):
            raise TypeError(f"index_reduce(): argument '{name}' must be Tensor, not {type(t).__name__}")
    xd, sd, arr = input._data, source._data, index._data
    d = wrap_dim(dim, max(xd.ndim, 1))
    if arr.ndim > 1:
        raise IndexError(f"index_reduce_(): Index is supposed to be a vector, but got dim: {arr.ndim} "
                         f"with type: {index.dtype.scalar_name} and size: {list(arr.shape)}")
    if arr.dtype.kind not in "iu" or arr.dtype.itemsize not in (4, 8):
        raise RuntimeError(f"index_reduce_(): Expected dtype int32/int64 for index but got: "
                           f"{index.dtype.scalar_name}")
    if sd.dtype != xd.dtype:
        raise RuntimeError(f"index_reduce_(): self ({input.dtype.scalar_name}) and source "
                           f"({source.dtype.scalar_name}) must have the same scalar type")
    if sd.ndim != xd.ndim or xd.ndim == 0 or any(
            a != b for k, (a, b) in enumerate(zip(xd.shape, sd.shape)) if k != d):
        raise RuntimeError(
            f"source tensor shape must match self tensor shape, excluding the specified dimension. "
            f"Got self.shape = {list(xd.shape)} source.shape = {list(sd.shape)}")
    if arr.size != sd.shape[d]:
        raise RuntimeError(f"index_reduce_(): Number of indices ({arr.size}) should be equal to "
                           f"source.size(dim): ({sd.shape[d]}), for dim: {d}")
    if backend.device_of(arr) != backend.device_of(xd):
        arr = backend.to_device(arr, backend.device_of(xd))
    if arr.size:  # negative rows are not "from the end" here, as in PyTorch
        backend.device_assert(((arr < 0) | (arr >= xd.shape[d])).any(),
                              lambda: IndexError("index out of range in self"))
    xp = backend.array_module(xd)
    spread = [1] * xd.ndim
    spread[d] = arr.size
    full = xp.broadcast_to(arr.reshape(spread).astype(xp.int64), sd.shape)
    return scatter_reduce(input, d, Tensor._make(xp.ascontiguousarray(full)), source, reduce,
                          include_self=include_self)

