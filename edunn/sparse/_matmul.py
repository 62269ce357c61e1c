"""Matrix products with sparse COO matrices: ``torch.sparse.mm``/``addmm`` and the top-level
``smm``, ``hspmm``, ``sspaddmm``, ``dsmm``, ``spmm``, ``saddmm``, plus ``Tensor.sparse_mask``
and ``torch.sparse.spdiags``.

Every product is computed from the entries alone, never from a dense copy of the sparse
matrix.  For ``C = A @ D`` with ``A`` sparse (entries ``(i_e, k_e, a_e)``) and ``D`` dense::

    C[i_e, :] += a_e * D[k_e, :]            (one scatter-add over the entries)

and for ``C = A @ B`` with both sparse, the entries ``(i, k, a)`` of ``A`` are *joined* with
the entries ``(k, j, b)`` of ``B`` that share ``k`` (a sort of ``B`` by row, ``searchsorted``
and a cumulative sum give every matching pair at once); each pair contributes ``a * b`` at ``(i, j)``
and ``coalesce`` sums them.

Gradients (PyTorch's ``SparseAddmmBackward0`` and ``SparseSparseMatmulBackward0``): the
gradient of a sparse input is a sparse tensor with that input's (coalesced) pattern -- only the
entries that exist can move:

    dL/da_e = sum_j G[i_e, j] * D[k_e, j]       dL/dD[k, :] = sum_{e: k_e = k} a_e * G[i_e, :]

and, for two sparse inputs, each joined pair ``(e, f)`` adds ``G[i_e, j_f] * b_f`` to
``dL/da_e`` and ``G[i_e, j_f] * a_e`` to ``dL/db_f``.  (For an *uncoalesced* sparse input
PyTorch's pattern depends on its internals; edunn always answers with the coalesced pattern.)
"""
from __future__ import annotations

import builtins
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._autograd import _record_many
from ._coo import _INT64, SparseCOOTensor, _new_sparse

__all__ = ["mm", "addmm", "smm", "hspmm", "sspaddmm", "dsmm", "spmm", "saddmm", "sparse_mask",
           "spdiags", "sampled_addmm", "spsolve"]


def _entries(s: SparseCOOTensor) -> tuple:
    """``(rows, cols, values)`` arrays of a 2-D sparse matrix, coalesced (not recorded)."""
    c = s.detach().coalesce()
    idx = c._idx._data
    return idx[0], idx[1], c._vals._data, c


def _check_matrix(fn: str, name: str, t: Any, sparse: bool | None = None) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{fn}(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if t.ndim != 2:
        raise RuntimeError(f"{fn}: {name} must be a matrix (2-D), got a {t.ndim}-D tensor of "
                           f"size {list(t.shape)}")
    if sparse is True and not t.is_sparse:
        raise RuntimeError(f"{fn}: expected {name} to be a sparse COO tensor, got a strided one")
    if sparse is False and t.is_sparse:
        raise RuntimeError(f"{fn}: expected {name} to be a strided (dense) tensor, got a sparse "
                           "COO one")
    if t.is_sparse and t.sparse_dim() != 2:
        raise RuntimeError(f"{fn}: expected {name} to have sparse_dim 2 (no dense dimensions), "
                           f"got sparse_dim {t.sparse_dim()} and dense_dim {t.dense_dim()}")


def _check_product(fn: str, a: Tensor, b: Tensor) -> None:
    if a.shape[1] != b.shape[0]:
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({a.shape[0]}x{a.shape[1]} "
                           f"and {b.shape[0]}x{b.shape[1]})")
    if a.dtype != b.dtype:
        raise RuntimeError(f"{fn}: expected mat1 and mat2 to have the same dtype, but got: "
                           f"{a.dtype} != {b.dtype}")
    if a.device != b.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {a.device} and {b.device}!")


def _sparse_grad(c: SparseCOOTensor, vals: Any) -> SparseCOOTensor:
    """A gradient with the coalesced pattern ``c`` and the given values."""
    return _new_sparse(c._idx._data, vals, c._sparse_size, True)


class SparseAddmm(Function):
    """``C = A @ D`` (``A`` sparse, ``D`` dense, ``C`` dense).  See the module docstring."""

    @staticmethod
    def backward(ctx, grad):
        g = grad._data
        rows, cols, vals, c = ctx.entries
        d = ctx.dense
        ga = _sparse_grad(c, (g[rows] * d[cols]).sum(axis=1)) if ctx._next[0] else None
        gd = None
        if ctx._next[1]:
            gd = backend.array_module(g).zeros(d.shape, g.dtype)
            backend.scatter_add_at(gd, cols, vals[:, None] * g[rows])
            gd = Tensor._make(gd)
        return ga, gd


class SparseSparseMatmul(Function):
    """``C = A @ B`` (all sparse).  Backward: PyTorch's ``(G_C @ B^T).sparse_mask(A)`` and
    ``(A^T @ G_C).sparse_mask(B)``, summed pair by pair over the forward's join."""

    @staticmethod
    def backward(ctx, grad):
        g = grad.to_dense()._data if grad.is_sparse else grad._data
        ea, eb, ia, ib = ctx.join
        xp = backend.array_module(g)
        pair = g[ea[0][ia], eb[1][ib]]
        ga = gb = None
        if ctx._next[0]:
            va = xp.zeros(ea[2].shape, g.dtype)
            backend.scatter_add_at(va, ia, pair * eb[2][ib])
            ga = _sparse_grad(ea[3], va)
        if ctx._next[1]:
            vb = xp.zeros(eb[2].shape, g.dtype)
            backend.scatter_add_at(vb, ib, pair * ea[2][ia])
            gb = _sparse_grad(eb[3], vb)
        return ga, gb


def _join(ea: tuple, eb: tuple, xp: Any) -> tuple:
    """Every pair ``(e, f)`` of entries of A and B with ``col_e == row_f``: two index arrays.
    ``eb`` is coalesced, so B's entries are sorted by row and a row's entries are contiguous:
    A's entry ``e`` pairs with the run ``starts[e] .. starts[e] + counts[e]`` of B's."""
    starts = xp.searchsorted(eb[0], ea[1], side="left")
    counts = xp.searchsorted(eb[0], ea[1], side="right") - starts
    ends = xp.cumsum(counts)  # pair p belongs to the A entry whose run ends first after p
    total = builtins.int(ends[-1]) if counts.shape[0] else 0
    pair = xp.arange(total, dtype=_INT64)
    # ``repeat`` with per-element counts, written with searchsorted (CuPy's repeat takes ints)
    ia = xp.searchsorted(ends, pair, side="right").astype(_INT64, copy=False)
    ib = starts[ia] + (pair - (ends - counts)[ia])
    return ia, ib.astype(_INT64, copy=False)


@backend.on_input_device
def mm(mat1: Tensor, mat2: Tensor, reduce: str = "sum") -> Tensor:
    """``mat1 @ mat2`` with a sparse COO ``mat1`` (``torch.sparse.mm``): a dense result for a
    dense ``mat2``, a sparse (coalesced) one for a sparse ``mat2``; differentiable in both,
    the gradient of a sparse input being sparse with its pattern.  ``reduce`` other than
    ``"sum"`` is PyTorch's CSR-only option."""
    if reduce != "sum":
        raise RuntimeError(f"sparse.mm: reduce={reduce!r} is implemented only for the CSR layout "
                           "on CPU, which edunn does not have; COO supports reduce='sum'")
    if not getattr(mat1, "is_sparse", False):
        _check_matrix("sparse.mm", "mat1", mat1)
        _check_matrix("sparse.mm", "mat2", mat2)
        if mat2.is_sparse:
            raise RuntimeError("sparse.mm: a strided mat1 times a sparse mat2 is not supported "
                               "(as in PyTorch); use (mat2.t() @ mat1.t()).t() or densify")
        return mat1 @ mat2
    _check_matrix("sparse.mm", "mat1", mat1, True)
    _check_matrix("sparse.mm", "mat2", mat2)
    _check_product("sparse.mm", mat1, mat2)
    if mat2.is_sparse:
        return _sparse_sparse(mat1, mat2)
    rows, cols, vals, c = _entries(mat1)
    d = mat2._data
    xp = backend.array_module(d)
    out = xp.zeros((mat1.shape[0], d.shape[1]), d.dtype)
    if vals.shape[0]:
        backend.scatter_add_at(out, rows, vals[:, None] * d[cols])
    return _record_many(Tensor._make(out), SparseAddmm, (mat1, mat2),
                        entries=(rows, cols, vals, c), dense=d)


def _sparse_sparse(a: SparseCOOTensor, b: SparseCOOTensor) -> SparseCOOTensor:
    ea, eb = _entries(a), _entries(b)
    xp = backend.array_module(ea[2])
    ia, ib = _join(ea, eb, xp)
    idx = xp.stack([ea[0][ia], eb[1][ib]]) if ia.shape[0] else xp.zeros((2, 0), _INT64)
    out = _new_sparse(idx, ea[2][ia] * eb[2][ib], (a.shape[0], b.shape[1]), False).coalesce()
    return _record_many(out, SparseSparseMatmul, (a, b), join=(ea, eb, ia, ib))


@backend.on_input_device
def addmm(mat: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1.0, alpha: Any = 1.0) -> Tensor:
    """``beta * mat + alpha * (mat1 @ mat2)`` with a sparse ``mat1`` (``torch.sparse.addmm``),
    differentiable in all three (``mat1``'s gradient sparse).  As ``torch.addmm``, ``beta=0``
    ignores ``mat`` entirely (NaNs in it do not propagate)."""
    prod = mm(mat1, mat2)
    if prod.is_sparse:
        prod = prod.to_dense()
    if not isinstance(mat, Tensor):
        raise TypeError(f"sparse.addmm(): argument 'mat' must be Tensor, not {type(mat).__name__}")
    if mat.is_sparse:
        mat = mat.to_dense()
    out = prod if alpha == 1 else prod * alpha
    if beta == 0:
        return out
    return out + (mat if beta == 1 else mat * beta)


@backend.on_input_device
def dsmm(input: Tensor, mat2: Tensor) -> Tensor:
    """``torch.dsmm``: sparse ``input`` @ dense ``mat2`` as a dense matrix (``sparse.mm``)."""
    _check_matrix("dsmm", "input", input, True)
    return mm(input, mat2)


@backend.on_input_device
def spmm(input: Tensor, mat2: Tensor) -> Tensor:
    """``torch.spmm``: the older name of ``dsmm`` (sparse @ dense, a dense result)."""
    _check_matrix("spmm", "input", input, True)
    return mm(input, mat2)


@backend.on_input_device
def hspmm(mat1: Tensor, mat2: Tensor, *, out: Any = None) -> SparseCOOTensor:
    """``torch.hspmm``: sparse ``mat1`` @ dense ``mat2`` as a *hybrid* COO matrix -- one sparse
    dimension listing the rows of ``mat1`` that hold entries, and their dense rows of the
    product as values (``sparse_dim 1``, ``dense_dim 1``).  Differentiable (through ``mm`` and
    ``sparse_coo_tensor``)."""
    if out is not None:
        raise RuntimeError("hspmm: out= is not supported for sparse results in edunn; use the "
                           "returned tensor")
    _check_matrix("hspmm", "mat1", mat1, True)
    _check_matrix("hspmm", "mat2", mat2, False)
    prod = mm(mat1, mat2)
    xp = backend.array_module(prod._data)
    rows = xp.unique(_entries(mat1)[0])
    from ._creation import sparse_coo_tensor
    return sparse_coo_tensor(Tensor._make(rows[None, :]), prod[Tensor._make(rows)],
                             (mat1.shape[0], mat2.shape[1]), is_coalesced=True)


def _smm_parts(fn: str, input: Tensor, mat: Tensor) -> tuple:
    """``smm``'s indices (every column of each row of ``input`` that holds entries, row-major)
    and its values as a differentiable tensor read from ``mm(input, mat)``."""
    _check_matrix(fn, "input" if fn == "smm" else "mat1", input, True)
    _check_matrix(fn, "mat" if fn == "smm" else "mat2", mat, False)
    prod = mm(input, mat)
    xp = backend.array_module(prod._data)
    rows = xp.unique(_entries(input)[0])
    p = mat.shape[1]
    idx = xp.stack([xp.repeat(rows, p), xp.tile(xp.arange(p, dtype=_INT64), rows.shape[0])])
    return idx, prod[Tensor._make(idx[0]), Tensor._make(idx[1])]


@backend.on_input_device
def smm(input: Tensor, mat: Tensor) -> SparseCOOTensor:
    """``torch.smm``: sparse ``input`` @ dense ``mat`` as a sparse COO matrix holding every
    column of each row of ``input`` that has entries (``hspmm``'s result with the dense
    dimension made sparse).  Differentiable in both."""
    from ._creation import sparse_coo_tensor
    idx, vals = _smm_parts("smm", input, mat)
    return sparse_coo_tensor(Tensor._make(idx), vals, (input.shape[0], mat.shape[1]),
                             is_coalesced=True)


@backend.on_input_device
def sspaddmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1, alpha: Any = 1,
             out: Any = None) -> SparseCOOTensor:
    """``torch.sspaddmm``: ``beta * input + alpha * (mat1 @ mat2)`` with sparse ``input`` and
    ``mat1`` and a sparse result: ``input``'s entries (scaled) followed by ``smm``'s, not
    coalesced, as PyTorch lists them.  Differentiable in ``mat1`` and ``mat2`` (``input`` is
    taken as data, as sparse ``add`` does)."""
    from ..ops.shape import cat
    from ._autograd import _no_graph
    from ._creation import sparse_coo_tensor
    if out is not None:
        raise RuntimeError("sspaddmm: out= is not supported for sparse results in edunn; use "
                           "the returned tensor")
    if not getattr(input, "is_sparse", False):
        raise RuntimeError("tensor.sspaddmm(...) can only be called on sparse tensors")
    _check_matrix("sspaddmm", "input", input, True)
    _check_matrix("sspaddmm", "mat1", mat1, True)
    _check_matrix("sspaddmm", "mat2", mat2, False)
    for d, want in ((0, mat1.shape[0]), (1, mat2.shape[1])):
        if input.shape[d] != want:
            raise RuntimeError(f"sspaddmm: Argument #1: Expected dim {d} size {want}, got "
                               f"{input.shape[d]}")
    _no_graph("sspaddmm input", input)
    idx, vals = _smm_parts("sspaddmm", mat1, mat2)
    xp = backend.array_module(idx)
    left = Tensor._make(input._vals._data * beta).to(vals.dtype)
    vals = cat([left, vals if alpha == 1 else vals * alpha])
    return sparse_coo_tensor(Tensor._make(xp.concatenate([input._idx._data, idx], axis=1)), vals,
                             tuple(input.shape), is_coalesced=False)


saddmm = sspaddmm


@backend.on_input_device
def sparse_mask(input: Tensor, mask: SparseCOOTensor) -> SparseCOOTensor:
    """``input.sparse_mask(mask)``: ``input``'s entries (a dense tensor) at ``mask``'s indices
    (``mask``'s values are ignored; duplicates in an uncoalesced ``mask`` stay).  Differentiable
    in ``input``."""
    if not getattr(mask, "is_sparse", False):
        raise RuntimeError("sparse_mask: expected mask to be a sparse COO tensor, got a strided one")
    if input.is_sparse:
        input = input.to_dense()
    if tuple(input.shape) != tuple(mask.shape):
        raise RuntimeError(f"sparse_mask(): operands have incompatible sizes; self has size "
                           f"{list(input.shape)} but mask has size {list(mask.shape)}")
    from ._creation import sparse_coo_tensor
    idx = mask._idx._data
    vals = input[tuple(Tensor._make(i) for i in idx)] if idx.shape[0] else input.unsqueeze(0).expand(
        (idx.shape[1],) + tuple(input.shape))
    return sparse_coo_tensor(Tensor._make(idx), vals, tuple(mask.shape),
                             is_coalesced=mask.is_coalesced())


@backend.on_input_device
def spdiags(diagonals: Tensor, offsets: Tensor, shape: Any, layout: Any = None) -> SparseCOOTensor:
    """``torch.sparse.spdiags``: a 2-D sparse matrix with row ``i`` of ``diagonals`` along the
    diagonal ``offsets[i]`` (0 the main one, > 0 above, < 0 below).  As SciPy's ``spdiags``,
    element ``(r, r + offsets[i])`` takes ``diagonals[i, r + offsets[i]]`` (the column indexes
    the stored row); entries falling outside ``shape`` or past the row are dropped."""
    from ._layout import sparse_coo
    if layout is not None and layout is not sparse_coo:
        raise RuntimeError(f"spdiags: edunn has only the sparse_coo layout, got {layout}")
    if not isinstance(diagonals, Tensor) or not isinstance(offsets, Tensor):
        raise TypeError("spdiags(): diagonals and offsets must be Tensors")
    shape = tuple(builtins.int(n) for n in shape)
    if len(shape) != 2:
        raise RuntimeError(f"Output shape must be 2d, got {len(shape)}d")
    if diagonals.ndim > 2:
        raise RuntimeError(f"Diagonals must be vector or matrix, got {diagonals.ndim}d")
    if offsets.ndim > 1:
        raise RuntimeError(f"Offsets must be scalar or vector, got {offsets.ndim}d")
    diag = diagonals if diagonals.ndim == 2 else diagonals.unsqueeze(0)
    offs = offsets._data.reshape(-1).astype(_INT64)
    if diag.shape[0] != offs.shape[0]:
        raise RuntimeError(f"Number of diagonals ({diag.shape[0]}) does not match the number of "
                           f"offsets ({offs.shape[0]})")
    xp = backend.array_module(offs)
    if xp.unique(offs).shape[0] != offs.shape[0]:
        raise RuntimeError("Offset tensor contains duplicate values")
    n_rows, n_cols = shape
    width = diag.shape[1]
    # every (diagonal i, column c) candidate, kept where the row r = c - off is in range
    which = xp.repeat(xp.arange(offs.shape[0], dtype=_INT64), n_cols)
    col = xp.tile(xp.arange(n_cols, dtype=_INT64), offs.shape[0])
    row = col - offs[which]
    keep = (row >= 0) & (row < n_rows) & (col < width)
    which, col, row = which[keep], col[keep], row[keep]
    from ._creation import sparse_coo_tensor
    vals = diag[Tensor._make(which), Tensor._make(col)]
    return sparse_coo_tensor(Tensor._make(xp.stack([row, col])), vals, shape)


def _csr_only(op: str) -> NotImplementedError:
    return NotImplementedError(
        f"Could not run 'aten::{op}' with arguments from the 'SparseCPU' backend: PyTorch has it "
        "only for the sparse CSR layout, and edunn has only sparse COO")


@backend.on_input_device
def sampled_addmm(input: Tensor, mat1: Tensor, mat2: Tensor, *, beta: Any = 1.0, alpha: Any = 1.0,
                  out: Any = None) -> Tensor:
    """``torch.sparse.sampled_addmm``: ``mat1 @ mat2`` computed only at the entries of a sparse
    CSR ``input``.  PyTorch has no COO kernel for it (it raises ``NotImplementedError`` for a
    COO input, as this does); with COO, ``(mat1 @ mat2).sparse_mask(input)`` is the same idea."""
    raise _csr_only("sparse_sampled_addmm")


@backend.on_input_device
def spsolve(input: Tensor, other: Tensor, *, left: bool = True) -> Tensor:
    """``torch.sparse.spsolve``: solve a square sparse CSR system.  PyTorch has no COO kernel
    (it raises ``NotImplementedError`` for COO, as this does); use ``linalg.solve`` on
    ``input.to_dense()``."""
    raise _csr_only("_spsolve")
