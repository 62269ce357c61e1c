"""Making sparse COO tensors: ``sparse_coo_tensor`` (with the invariant checks), a dense
tensor's ``to_sparse``, and the engine's accumulation of sparse gradients."""
from __future__ import annotations

import builtins
from typing import Any

from .. import backend
from ..tensor import Tensor
from ._checks import _CHECKS, _check_coalesced_claim
from ._autograd import SparseCooTensor, ToSparse, _record
from ._coo import _INT64, SparseCOOTensor, _new_sparse


def _accumulate(prev: Tensor, grad: Tensor) -> Tensor:
    """``prev + grad`` where either is sparse (the engine's gradient accumulation): sparse +
    sparse stays sparse (entries concatenated); any dense term makes the sum dense."""
    if prev.is_sparse and grad.is_sparse:
        return prev.add(grad)
    if prev.is_sparse:
        return grad + prev  # dense + sparse
    return prev + grad


def sparse_coo_tensor(indices: Any, values: Any, size: Any = None, *, dtype: Any = None,
                      device: Any = None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants: bool | None = None,
                      is_coalesced: bool | None = None) -> SparseCOOTensor:
    """A sparse COO tensor with ``values[j]`` at position ``indices[:, j]``, as
    ``torch.sparse_coo_tensor``.

    Args:
        indices: integer tensor (or nested list) of shape ``(sparse_dim, nnz)``.
        values: tensor (or nested list) of shape ``(nnz, *dense_dims)``.
        size: the tensor's size; without it, ``max(indices[k]) + 1`` along each sparse
            dimension followed by ``values``' trailing sizes.
        dtype, device: of the values (default: inferred from ``values``).
        requires_grad: the result is a leaf that gets a sparse ``.grad`` through ``to_dense()``.
            (Values that require grad make it a non-leaf, differentiable in them, instead.)
        check_invariants: PyTorch checks the indices only when True (or when
            ``sparse.check_sparse_tensor_invariants`` is enabled); edunn always checks their
            range (negative or out-of-range indices raise), which costs little here, and checks
            an ``is_coalesced=True`` claim only when asked, as PyTorch.
        is_coalesced: declare the indices sorted and unique (trusted unless checked).
    """
    from ..ops.creation import tensor as _tensor
    if not isinstance(indices, Tensor):
        indices = _tensor(indices, device=device if not isinstance(values, Tensor) else values.device)
    values_in = values if isinstance(values, Tensor) else None
    if isinstance(values, Tensor):
        if dtype is not None or device is not None:
            values_in = values = values.to(device=device, dtype=dtype)  # differentiable casts
        values = values.detach()
    else:
        values = _tensor(values, dtype=dtype, device=device)
    if indices.dtype.is_floating_point or indices.dtype is backend.bool_:
        raise RuntimeError(f"indices must be an int64 tensor, got {indices.dtype}")
    if indices.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    if values.ndim == 0:
        raise RuntimeError("values must be at least 1-dimensional (nnz, *dense_dims), got a "
                           "0-d tensor")
    if indices.shape[1] != values.shape[0]:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{indices.shape[1]}, nnz from values: {values.shape[0]}")
    with backend.device_context(values.device):  # checks and copies on the values' GPU
        idx = indices._data.astype(_INT64, copy=False)
        if backend.device_of(idx) != values.device:
            idx = backend.to_device(idx, values.device)
        sparse_dim, dense_dim = idx.shape[0], values.ndim - 1
        if size is None:
            sparse_sizes = tuple(builtins.int(idx[k].max()) + 1 if idx.shape[1] else 0
                                 for k in range(sparse_dim))
            size = sparse_sizes + tuple(values.shape[1:])
        else:
            size = tuple(builtins.int(n) for n in size)
            if len(size) != sparse_dim + dense_dim:
                raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) "
                                   f"= {len(size)}, sparse_dim = {sparse_dim}, dense_dim = {dense_dim}")
            if tuple(values.shape[1:]) != size[sparse_dim:]:
                raise RuntimeError(f"values has incorrect size, expected {[values.shape[0]] + list(size[sparse_dim:])}"
                                   f", got {list(values.shape)}")
        if idx.shape[1]:
            low, high = idx.min(axis=1), idx.max(axis=1)
            for k in range(sparse_dim):
                if builtins.int(low[k]) < 0:
                    raise RuntimeError(f"found negative index {builtins.int(low[k])} for dim {k}")
                if builtins.int(high[k]) >= size[k]:
                    raise RuntimeError(f"size is inconsistent with indices: for dim {k}, size is "
                                       f"{size[k]} but found index {builtins.int(high[k])}")
        check = check_invariants if check_invariants is not None else _CHECKS[0]
        if check and is_coalesced:
            _check_coalesced_claim(idx, size[:sparse_dim])
        coalesced = bool(is_coalesced) if is_coalesced is not None else idx.shape[1] <= 1
        out = _new_sparse(idx if idx is not indices._data else idx.copy(), values._data, size, coalesced)
        if requires_grad:
            out.requires_grad_(True)
        if values_in is None:
            return out
        # differentiable with respect to values that require grad (then a non-leaf)
        return _record(out, SparseCooTensor, values_in, indices=tuple(idx), nnz=idx.shape[1])


@backend.on_input_device
def to_sparse(input: Tensor, sparse_dim: int | None = None) -> SparseCOOTensor:
    """``input.to_sparse(sparse_dim)``: the nonzero entries (along the first ``sparse_dim``
    dimensions, all of them by default) of a dense tensor, coalesced."""
    if input.is_sparse:
        return input
    arr = input._data
    sd = arr.ndim if sparse_dim is None else builtins.int(sparse_dim)
    if not 0 <= sd <= arr.ndim:
        raise RuntimeError(f"sparse_dim must be between 0 and {arr.ndim}, got {sd}")
    xp = backend.array_module(arr)
    lead = arr.reshape(arr.shape[:sd] + (-1,)) if sd < arr.ndim else arr[..., None]
    nonzero = (lead != 0).any(axis=-1) if lead.shape[-1] else xp.zeros(lead.shape[:-1], bool)
    idx = xp.stack(xp.nonzero(nonzero)).astype(_INT64) if sd else xp.zeros((0, 1), _INT64)
    vals = arr[tuple(idx)] if sd else arr[None]
    return _record(_new_sparse(idx.reshape(sd, -1), vals.copy(), arr.shape, True), ToSparse, input)
