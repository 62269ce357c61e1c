"""Tensors built from others, or from a size alone: ``block_diag``, ``cartesian_prod``,
``combinations``, ``diagflat``, ``vander``, ``tril_indices``, ``triu_indices``.

The ones that take tensors are compositions of differentiable ops (``cat``, ``meshgrid``,
indexing, ``diag_embed``, ``cumprod``), so their gradients route each output element back to the
input element it came from.  The index builders work on the sizes alone, on the host (they read
no tensor data), and move the result to ``device`` once.
"""
from __future__ import annotations

import itertools
from typing import Any

from .. import backend
from ..tensor import Tensor
from .indexing import getitem
from .joining import cat, meshgrid, stack

__all__ = ['block_diag', 'cartesian_prod', 'combinations', 'diagflat', 'vander', 'tril_indices',
           'triu_indices']


def block_diag(*tensors: Tensor) -> Tensor:
    """The tensors (each 0-, 1- or 2-D, seen as a matrix) on the diagonal of a block matrix of
    zeros: (sum of rows, sum of columns).  dtypes promote as in ``cat``."""
    from .creation import zeros
    mats = []
    for i, t in enumerate(tensors):
        if t._data.ndim > 2:
            raise RuntimeError(f"torch.block_diag: Input tensors must have 2 or fewer dimensions. Input {i} "
                               f"has {t._data.ndim} dimensions")
        mats.append(t.reshape((1, -1) if t._data.ndim == 1 else (1, 1)) if t._data.ndim < 2 else t)
    if not mats:
        return zeros((1, 0))
    dtype = mats[0].dtype
    for m in mats[1:]:
        dtype = backend.promote_types(dtype, m.dtype)
    dev = mats[0].device
    ncols = sum(m._data.shape[1] for m in mats)
    rows, left = [], 0
    for m in mats:
        r, c = m._data.shape
        pieces = [zeros((r, left), dtype=dtype, device=dev), m.to(dtype),
                  zeros((r, ncols - left - c), dtype=dtype, device=dev)]
        rows.append(cat(pieces, 1))
        left += c
    return cat(rows, 0)


def _check_vectors(tensors: Any) -> None:
    for t in tensors:
        if t._data.ndim != 1:
            raise RuntimeError(f"Expect a 1D vector, but got shape {list(t._data.shape)}")


def cartesian_prod(*tensors: Tensor) -> Tensor:
    """Every tuple ``(a_i, b_j, ...)`` of elements of the 1-D tensors, in row-major order, as the
    rows of an (N_a N_b ..., k) tensor (itertools.product); one tensor is returned as is."""
    if not tensors:
        raise RuntimeError("meshgrid expects a non-empty TensorList")
    _check_vectors(tensors)
    if len(tensors) == 1:
        return tensors[0]
    if any(t.dtype != tensors[0].dtype for t in tensors):
        raise RuntimeError("meshgrid expects all tensors to have the same dtype")
    grids = meshgrid(*tensors, indexing="ij")
    return stack([g.reshape((-1,)) for g in grids], 1)


def combinations(input: Tensor, r: int = 2, with_replacement: bool = False) -> Tensor:
    """The length-``r`` combinations of the elements of a 1-D tensor, as rows (itertools'
    ``combinations`` / ``combinations_with_replacement`` order); r = 0 gives an empty 1-D
    tensor.  The positions depend on the length alone and are listed on the host."""
    if r < 0:
        raise RuntimeError(f"Expect a non-negative number, but got {r}")
    _check_vectors((input,))
    if r == 0:
        return getitem(input, slice(0, 0))
    n = input._data.shape[0]
    make = itertools.combinations_with_replacement if with_replacement else itertools.combinations
    index = [i for combo in make(range(n), r) for i in combo]
    xp = backend.array_module(input._data)
    flat = xp.asarray(index, dtype=backend.int64.np) if index else xp.zeros(0, backend.int64.np)
    return getitem(input, Tensor._make(flat)).reshape((-1, r))


def diagflat(input: Tensor, offset: int = 0) -> Tensor:
    """The flattened ``input`` on the ``offset`` diagonal of a square matrix of zeros."""
    from .shape import diag_embed
    return diag_embed(input.reshape((-1,)), offset, 0, 1)


def vander(x: Tensor, N: int | None = None, increasing: bool = False) -> Tensor:
    """The Vandermonde matrix: column j is ``x ** (N - 1 - j)`` (``x ** j`` when ``increasing``),
    N = len(x) by default; made by a ``cumprod`` of repeated ``x`` (integers become int64)."""
    from .creation import ones
    from .scan import cumprod
    if x._data.ndim != 1:
        raise RuntimeError("x must be a one-dimensional tensor.")
    n = x._data.shape[0] if N is None else int(N)
    if n < 0:
        raise RuntimeError("N must be non-negative.")
    dtype = backend.promote_types(x.dtype, backend.int64)
    m = x._data.shape[0]
    if n == 0:
        return getitem(ones((m, 1), dtype=dtype, device=x.device), (slice(None), slice(0, 0)))
    cols = [ones((m, 1), dtype=dtype, device=x.device)]
    if n > 1:
        cols.append(cumprod(x.to(dtype).unsqueeze(1).expand((m, n - 1)), 1))
    out = cat(cols, 1)
    return out if increasing else out.flip((1,))


def _tri_indices(row: int, col: int, offset: int, dtype: Any, device: Any, lower: bool, who: str) -> Tensor:
    from .creation import tensor
    if row < 0:
        raise RuntimeError(f"row must be non-negative, got{row}")
    if col < 0:
        raise RuntimeError(f"col must be non-negative, got{col}")
    d = backend.int64 if dtype is None else backend.as_dtype(dtype)
    if d not in (backend.int64, backend.int32):
        names = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                 "int16": "Short", "int8": "Char", "uint8": "Byte", "bool": "Bool"}
        raise NotImplementedError(f"\"{who}\" not implemented for '{names.get(d.name, d.name)}'")
    host = backend.xp_for(backend.device("cpu"))
    r = host.arange(row).reshape(-1, 1)
    c = host.arange(col).reshape(1, -1)
    mask = (c - r <= offset) if lower else (c - r >= offset)
    rows, cols = host.nonzero(mask)  # row-major, as PyTorch lists them
    return tensor(host.stack([rows, cols]).astype(d.np), dtype=d, device=device)


def tril_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = "cpu",
                 layout: Any = None) -> Tensor:
    """The (2, N) coordinates of the lower triangle (on and below the ``offset`` diagonal) of a
    ``row x col`` matrix, row by row."""
    return _tri_indices(row, col, offset, dtype, device, True, "tril_indices")


def triu_indices(row: int, col: int, offset: int = 0, *, dtype: Any = None, device: Any = "cpu",
                 layout: Any = None) -> Tensor:
    """The (2, N) coordinates of the upper triangle (on and above the ``offset`` diagonal)."""
    return _tri_indices(row, col, offset, dtype, device, False, "triu_indices")
