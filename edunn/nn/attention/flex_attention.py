r"""``edunn.nn.attention.flex_attention`` (``torch.nn.attention.flex_attention``): attention with
a user-written score modification and a block-sparse mask (lesson 13).

FlexAttention computes

.. math::  \mathrm{out} = \mathrm{softmax}\big(\mathrm{score\_mod}(Q K^T \cdot \mathrm{scale},
           b, h, q, kv)\ \text{masked by}\ \mathrm{mask\_mod}(b, h, q, kv)\big)\, V

where ``score_mod(score, b, h, q_idx, kv_idx)`` rewrites each score (a relative-position bias,
ALiBi, tanh soft-capping ...) and ``mask_mod(b, h, q_idx, kv_idx)`` says which scores take part
(causal, sliding window, documents packed in one sequence ...).  A :class:`BlockMask` records
which ``BLOCK_SIZE x BLOCK_SIZE`` tiles of the score matrix hold any allowed entry, so that a
kernel skips the empty ones, and which tiles are *full*, so that it skips calling ``mask_mod``
on them.

**How edunn computes it.**  PyTorch compiles ``score_mod`` and ``mask_mod`` into one fused
kernel that never stores the scores.  edunn materialises the ``(B, H, Q_LEN, KV_LEN)`` score
matrix (memory O(Q_LEN * KV_LEN) per head) and calls ``score_mod`` *once* with broadcast index
tensors -- ``b`` of shape ``(B, 1, 1, 1)``, ``h`` ``(1, H, 1, 1)``, ``q_idx`` ``(1, 1, Q, 1)``,
``kv_idx`` ``(1, 1, 1, KV)`` -- instead of once per score.  Any ``score_mod`` made of elementwise
tensor ops and indexing (``bias[h, q_idx - kv_idx]``) gives the same numbers as PyTorch's
per-element semantics; ``mask_mod`` is called the same way.  Everything is edunn ops, so
gradients flow to ``query``, ``key``, ``value`` and to tensors a ``score_mod`` captures (a learned
bias), on the CPU too (PyTorch's CPU eager path has no backward).  An entry takes part when its
tile is full, or when its tile is listed and ``mask_mod`` allows it -- the compiled kernel's
rule; for masks made by :func:`create_block_mask` that is ``mask_mod`` itself.
"""
from __future__ import annotations

import functools
import inspect
import itertools
import math
import operator
import warnings
from enum import Enum
from typing import Any, Callable, NamedTuple, TypedDict

from ... import backend
from ...ops import creation as _cr
from ...tensor import Tensor
from ..functional.attention import _safe_softmax

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions",
           "create_block_mask", "create_mask", "or_masks", "and_masks", "noop_mask"]

_score_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]
_mask_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]

_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30


class FlexKernelOptions(TypedDict, total=False):
    """Options of PyTorch's generated Triton kernels (tile sizes, warps, stages, backend ...).
    edunn has no generated kernel: the options are accepted and change nothing."""

    num_warps: int
    num_stages: int
    BLOCK_M: int
    BLOCK_N: int
    BLOCK_M1: int
    BLOCK_N1: int
    BLOCK_M2: int
    BLOCK_N2: int
    PRESCALE_QK: bool
    ROWS_GUARANTEED_SAFE: bool
    BLOCKS_ARE_CONTIGUOUS: bool
    WRITE_DQ: bool
    FORCE_USE_FLEX_ATTENTION: bool
    USE_TMA: bool
    kpack: int
    matrix_instr_nonkdim: int
    waves_per_eu: int
    BACKEND: str


class AuxRequest(NamedTuple):
    """Which auxiliary outputs :func:`flex_attention` should return."""

    lse: bool = False
    max_scores: bool = False


class AuxOutput(NamedTuple):
    """Auxiliary outputs of :func:`flex_attention` (None where not requested): the
    log-sum-exp and the maximum of each query's modified scores, shape ``(B, Hq, L)``."""

    lse: Tensor | None = None
    max_scores: Tensor | None = None


class _ModificationType(Enum):
    SCORE_MOD = 1
    MASK_MOD = 2
    UNKNOWN = 3


def _get_mod_type(fn: Callable) -> _ModificationType:
    """A function with 5 positional arguments (without defaults) is a score_mod, with 4 a
    mask_mod (PyTorch's rule)."""
    if hasattr(fn, "__code__"):
        n = fn.__code__.co_argcount - len(getattr(fn, "__defaults__", None) or ())
    else:
        n = sum(1 for p in inspect.signature(fn).parameters.values() if p.default is inspect.Parameter.empty)
    if n != 5 and n != 4:
        raise AssertionError(f"Expected 4 or 5 positional args, got {n}")
    return _ModificationType.SCORE_MOD if n == 5 else _ModificationType.MASK_MOD


def _identity(score: Tensor, batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    return score


def noop_mask(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """Returns a noop mask_mod"""
    return batch.new_ones((), dtype=backend.bool_, device=batch.device)


def _sliced_mask_mod_error(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor):
    """The mask_mod of a sliced BlockMask: using it is an error, as in PyTorch."""
    raise RuntimeError("Cannot use mask_mod from a sliced BlockMask. When you slice a BlockMask "
                       "using [], the mask_mod attribute is reset. You must set it from the "
                       "original BlockMask's mask_mod.")


def or_masks(*mask_mods: _mask_mod_signature) -> _mask_mod_signature:
    """Returns a mask_mod that's the union of provided mask_mods"""
    if not all(callable(arg) for arg in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def or_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        result = b.new_zeros((), dtype=backend.bool_)
        for mask in mask_mods:
            result = result | mask(b, h, q_idx, kv_idx)
        return result
    return or_mask


def and_masks(*mask_mods: _mask_mod_signature) -> _mask_mod_signature:
    """Returns a mask_mod that's the intersection of provided mask_mods"""
    if not all(callable(arg) for arg in mask_mods):
        raise RuntimeError(f"All inputs should be callable mask_mods: {mask_mods}")

    def and_mask(b: Tensor, h: Tensor, q_idx: Tensor, kv_idx: Tensor) -> Tensor:
        result = b.new_ones((), dtype=backend.bool_)
        for mask in mask_mods:
            result = result & mask(b, h, q_idx, kv_idx)
        return result
    return and_mask


def _index_grids(B: int, H: int, Q: int, KV: int, device: Any) -> tuple:
    """``b, h, q_idx, kv_idx`` as int64 aranges shaped to broadcast to ``(B, H, Q, KV)``: one
    call of a score_mod/mask_mod on them stands for the B*H*Q*KV scalar calls."""
    return (_cr.arange(B, device=device).view(B, 1, 1, 1), _cr.arange(H, device=device).view(1, H, 1, 1),
            _cr.arange(Q, device=device).view(1, 1, Q, 1), _cr.arange(KV, device=device).view(1, 1, 1, KV))


# ------------------------------------------------------------------ the block-sparse format
def _ordered_to_dense(num_blocks_in_row: Tensor, col_indices: Tensor, num_cols: int) -> Tensor:
    """``(num_blocks, indices)`` -> the dense 0/1 int32 block matrix ``(..., rows, num_cols)``:
    entry ``[r, c]`` is 1 when ``c`` is among the first ``num_blocks[r]`` indices of row ``r``."""
    device = col_indices.device
    valid = _cr.arange(col_indices.shape[-1], device=device) < num_blocks_in_row.unsqueeze(-1)
    hits = (col_indices.unsqueeze(-1) == _cr.arange(num_cols, device=device)) & valid.unsqueeze(-1)
    return hits.any(dim=-2).to(backend.int32)


def _dense_to_ordered(dense_mask: Tensor) -> tuple[Tensor, Tensor]:
    """The dense block matrix -> ``(num_blocks_in_row, col_indices)``: the count of nonzero
    blocks of each row, and the column indices with the nonzero ones first (a stable
    descending sort, as PyTorch's, so the rest follow in order)."""
    dense_mask = dense_mask.to(backend.int32)
    num_blocks_in_row = dense_mask.sum(dim=-1)
    col_indices = dense_mask.argsort(dim=-1, descending=True, stable=True)
    return num_blocks_in_row.to(backend.int32), col_indices.to(backend.int32)


def _transpose_ordered(num_blocks_in_row: Tensor, col_indices: Tensor) -> tuple[Tensor, Tensor]:
    """The same blocks listed per column (what a backward pass over Q needs)."""
    dense = _ordered_to_dense(num_blocks_in_row, col_indices, col_indices.shape[-1])
    return _dense_to_ordered(dense.transpose(-2, -1))


def _adjust_num_blocks_and_indices(num_blocks: Tensor, indices: Tensor, new_num_rows: int,
                                   new_num_cols: int) -> tuple[Tensor, Tensor]:
    indices = indices[:, :, :new_num_rows, :new_num_cols]
    num_blocks = num_blocks[:, :, :new_num_rows].clamp(max=new_num_cols)
    num_blocks = (indices < num_blocks[:, :, :, None]).sum(dim=-1).to(backend.int32)
    return num_blocks, indices


class BlockMask:
    r"""A block-sparse attention mask (PyTorch's format, "between BCSR and dense").

    The score matrix is cut into ``BLOCK_SIZE = (Q_BLOCK_SIZE, KV_BLOCK_SIZE)`` tiles.  For each
    row of tiles (a ``Q_BLOCK_SIZE`` run of queries):

    * ``kv_num_blocks[..., r]``: how many KV tiles of row ``r`` are *partial* (some entries
      allowed, ``mask_mod`` must be applied), ``kv_indices[..., r, :]`` which ones (the first
      ``kv_num_blocks`` entries are meaningful);
    * ``full_kv_num_blocks`` / ``full_kv_indices``: the same for *full* tiles (every entry
      allowed: ``mask_mod`` is skipped);
    * ``q_num_blocks`` / ``q_indices`` (and ``full_q_*``): the transpose, listed per KV tile
      column, for the backward pass;
    * ``seq_lengths = (Q_LEN, KV_LEN)``, ``BLOCK_SIZE``, ``mask_mod``.

    Leading dims are ``(B, H)`` (1 where the mask broadcasts).  ``dq_write_order``,
    ``dq_write_order_full``, ``dq_kv_order`` and ``dq_kv_order_spt`` are scheduling metadata of
    PyTorch's deterministic FLASH backward kernel; edunn stores them and does not use them.
    """

    _TENSOR_ATTRS = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices",
                     "q_num_blocks", "q_indices", "full_q_num_blocks", "full_q_indices",
                     "dq_write_order", "dq_write_order_full", "dq_kv_order"]
    _CONTEXT_ATTRS = ["seq_lengths", "BLOCK_SIZE", "mask_mod", "dq_kv_order_spt"]

    def __init__(self, seq_lengths: tuple[int, int], kv_num_blocks: Tensor, kv_indices: Tensor,
                 full_kv_num_blocks: Tensor | None, full_kv_indices: Tensor | None,
                 q_num_blocks: Tensor | None, q_indices: Tensor | None,
                 full_q_num_blocks: Tensor | None, full_q_indices: Tensor | None,
                 BLOCK_SIZE: tuple[int, int] = (_DEFAULT_SPARSE_BLOCK_SIZE, _DEFAULT_SPARSE_BLOCK_SIZE),
                 mask_mod: _mask_mod_signature = noop_mask, *,
                 dq_write_order: Tensor | None = None, dq_write_order_full: Tensor | None = None,
                 dq_kv_order: Tensor | None = None, dq_kv_order_spt: bool | None = None) -> None:
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if kv_num_blocks is None:
            raise AssertionError("kv_num_blocks must be provided")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        if (full_q_num_blocks is None) != (full_q_indices is None):
            raise AssertionError("full_q_num_blocks and full_q_indices must be both provided or omitted")
        if dq_write_order_full is not None and dq_write_order is None:
            raise ValueError("dq_write_order_full requires dq_write_order")
        self.seq_lengths = seq_lengths
        self.kv_num_blocks, self.kv_indices = kv_num_blocks, kv_indices
        self.full_kv_num_blocks, self.full_kv_indices = full_kv_num_blocks, full_kv_indices
        self.q_num_blocks, self.q_indices = q_num_blocks, q_indices
        self.full_q_num_blocks, self.full_q_indices = full_q_num_blocks, full_q_indices
        self.dq_write_order, self.dq_write_order_full = dq_write_order, dq_write_order_full
        self.dq_kv_order, self.dq_kv_order_spt = dq_kv_order, dq_kv_order_spt
        self.BLOCK_SIZE = BLOCK_SIZE
        self.mask_mod = mask_mod

    @classmethod
    def from_kv_blocks(cls, kv_num_blocks: Tensor, kv_indices: Tensor,
                       full_kv_num_blocks: Tensor | None = None, full_kv_indices: Tensor | None = None,
                       BLOCK_SIZE: int | tuple[int, int] = _DEFAULT_SPARSE_BLOCK_SIZE,
                       mask_mod: _mask_mod_signature | None = None,
                       seq_lengths: tuple[int, int] | None = None, compute_q_blocks: bool = True, *,
                       dq_write_order: Tensor | None = None, dq_write_order_full: Tensor | None = None,
                       dq_kv_order: Tensor | bool | None = None) -> "BlockMask":
        """A BlockMask from its KV-side tensors; the Q-side ones are derived
        (``compute_q_blocks``), ``seq_lengths`` defaults to the tile counts times BLOCK_SIZE."""
        if kv_indices.dim() < 2:
            raise RuntimeError("BlockMask must have at least 2 dimensions")
        if (full_kv_num_blocks is None) != (full_kv_indices is None):
            raise AssertionError("full_kv_num_blocks and full_kv_indices must be both provided or omitted")
        q_num_blocks = q_indices = full_q_num_blocks = full_q_indices = None
        if compute_q_blocks:
            q_num_blocks, q_indices = _transpose_ordered(kv_num_blocks, kv_indices)
            if full_kv_num_blocks is not None:
                full_q_num_blocks, full_q_indices = _transpose_ordered(full_kv_num_blocks, full_kv_indices)
        if isinstance(BLOCK_SIZE, int):
            BLOCK_SIZE = (BLOCK_SIZE, BLOCK_SIZE)
        mask_mod = mask_mod if mask_mod is not None else noop_mask
        if seq_lengths is None:
            seq_lengths = (kv_indices.shape[-2] * BLOCK_SIZE[0], kv_indices.shape[-1] * BLOCK_SIZE[1])
        if dq_kv_order is not None and not isinstance(dq_kv_order, (bool, Tensor)):
            raise ValueError("dq_kv_order must be a bool, Tensor, or None")
        return cls(seq_lengths=seq_lengths, kv_num_blocks=kv_num_blocks, kv_indices=kv_indices,
                   full_kv_num_blocks=full_kv_num_blocks, full_kv_indices=full_kv_indices,
                   q_num_blocks=q_num_blocks, q_indices=q_indices,
                   full_q_num_blocks=full_q_num_blocks, full_q_indices=full_q_indices,
                   BLOCK_SIZE=BLOCK_SIZE, mask_mod=mask_mod, dq_write_order=dq_write_order,
                   dq_write_order_full=dq_write_order_full,
                   dq_kv_order=dq_kv_order if isinstance(dq_kv_order, Tensor) else None,
                   dq_kv_order_spt=dq_kv_order if isinstance(dq_kv_order, bool) else None)

    def as_tuple(self, flatten: bool = True) -> tuple:
        """The fields as a tuple (``flatten``: seq_lengths and BLOCK_SIZE as two ints each)."""
        block_size = tuple(self.BLOCK_SIZE) if flatten else (self.BLOCK_SIZE,)
        seq_lengths = tuple(self.seq_lengths) if flatten else (self.seq_lengths,)
        return (*seq_lengths, self.kv_num_blocks, self.kv_indices, self.full_kv_num_blocks,
                self.full_kv_indices, self.q_num_blocks, self.q_indices, self.full_q_num_blocks,
                self.full_q_indices, self.dq_write_order, self.dq_write_order_full,
                self.dq_kv_order, self.dq_kv_order_spt, *block_size, self.mask_mod)

    @property
    def shape(self) -> tuple[int, ...]:
        """``(B, H, Q_LEN, KV_LEN)`` (the leading dims of the index tensors)."""
        *batch_dims, _, _ = self.kv_indices.shape
        return tuple(batch_dims) + tuple(self.seq_lengths)

    def __str__(self) -> str:
        s = f"BlockMask(shape={self.shape}, sparsity={self.sparsity():.2f}%, \n"
        return s + self.to_string().strip() + "\n)"

    def __getitem__(self, index: Any) -> "BlockMask":
        """The mask of some batches / heads / query-tile rows (an int keeps its dim); the
        result's ``mask_mod`` raises if used (the indices no longer match it)."""
        if self.dq_kv_order is not None:
            raise NotImplementedError("Slicing BlockMask with tensor dq_kv_order is not supported yet. "
                                      "Construct a new BlockMask with matching precomputed "
                                      "dq_write_order metadata.")
        index = (index,) if not isinstance(index, tuple) else index
        padded = (*index, slice(None), slice(None), slice(None))[:3]
        sizes = self.kv_num_blocks.shape[:3]
        index = tuple((slice(i + n, i + n + 1) if -n <= i < 0 else slice(i, i + 1))
                      if isinstance(i, int) else i for i, n in zip(padded, sizes))
        full = (None, None) if self.full_kv_num_blocks is None else \
            (self.full_kv_num_blocks[index], self.full_kv_indices[index])
        new = BlockMask.from_kv_blocks(self.kv_num_blocks[index], self.kv_indices[index], *full,
                                       BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=_sliced_mask_mod_error,
                                       seq_lengths=self.seq_lengths,
                                       compute_q_blocks=self.q_indices is not None)
        new.dq_kv_order_spt = self.dq_kv_order_spt
        return new

    def __repr__(self) -> str:
        def shape_or_none(x):
            return x.shape if x is not None else None
        mm = self.mask_mod.__name__ if hasattr(self.mask_mod, "__name__") else self.mask_mod
        return (f"BlockMask(\n    kv_num_blocks={self.kv_num_blocks.shape},\n"
                f"    kv_indices={self.kv_indices.shape},\n"
                f"    full_kv_num_blocks={shape_or_none(self.full_kv_num_blocks)},\n"
                f"    full_kv_indices={shape_or_none(self.full_kv_indices)},\n"
                f"    q_num_blocks={shape_or_none(self.q_num_blocks)},\n"
                f"    q_indices={shape_or_none(self.q_indices)},\n"
                f"    full_q_num_blocks={shape_or_none(self.full_q_num_blocks)},\n"
                f"    full_q_indices={shape_or_none(self.full_q_indices)},\n"
                f"    BLOCK_SIZE={self.BLOCK_SIZE},\n    shape={self.shape},\n"
                f"    sparsity={self.sparsity():.2f}%,\n    mask_mod={mm}\n)")

    def _adjust(self, new_q_len: int, new_kv_len: int) -> "BlockMask":
        """The mask cropped to its upper-left ``(new_q_len, new_kv_len)`` corner."""
        if self.dq_kv_order is not None:
            raise NotImplementedError("Adjusting BlockMask with tensor dq_kv_order is not supported yet. "
                                      "Construct a new BlockMask with matching precomputed "
                                      "dq_write_order metadata.")
        rows = (new_q_len + self.BLOCK_SIZE[0] - 1) // self.BLOCK_SIZE[0]
        cols = (new_kv_len + self.BLOCK_SIZE[1] - 1) // self.BLOCK_SIZE[1]
        kv = _adjust_num_blocks_and_indices(self.kv_num_blocks, self.kv_indices, rows, cols)
        full = (None, None) if self.full_kv_num_blocks is None else \
            _adjust_num_blocks_and_indices(self.full_kv_num_blocks, self.full_kv_indices, rows, cols)
        new = self.from_kv_blocks(*kv, *full, BLOCK_SIZE=self.BLOCK_SIZE, mask_mod=self.mask_mod,
                                  seq_lengths=(new_q_len, new_kv_len),
                                  compute_q_blocks=self.q_indices is not None)
        new.dq_kv_order_spt = self.dq_kv_order_spt
        return new

    def numel(self) -> int:
        """Returns the number of elements (not accounting for sparsity) in the mask."""
        return functools.reduce(operator.mul, self.shape, 1)

    def sparsity(self) -> float:
        """Computes the percentage of blocks that are sparse (i.e. not computed)"""
        computed_blocks = int(self.kv_num_blocks.sum().item())
        if self.full_kv_num_blocks is not None:
            computed_blocks += int(self.full_kv_num_blocks.sum().item())
        computed_size = computed_blocks * self.BLOCK_SIZE[0] * self.BLOCK_SIZE[1]
        return 100 * (1 - computed_size / self.numel())

    def to_dense(self) -> Tensor:
        """The block matrix as a dense int32 Tensor ``(B, H, Q tiles, KV tiles)``: 1 where a
        tile is computed (partial or full)."""
        dense = _ordered_to_dense(self.kv_num_blocks, self.kv_indices, self.kv_indices.shape[-1])
        if self.full_kv_num_blocks is not None:
            return dense | _ordered_to_dense(self.full_kv_num_blocks, self.full_kv_indices,
                                             self.full_kv_indices.shape[-1])
        return dense

    def to_string(self, grid_size: int | tuple[int, int] = (20, 20), limit: int = 4) -> str:
        """A picture of the tiles of the first ``limit`` (batch, head) pairs: "█" computed,
        "░" partly computed (when several tiles share a character), " " skipped.
        ``grid_size=-1`` draws every tile."""
        dense_mask = self.to_dense()
        dense = dense_mask.tolist()
        *batch_dims, num_rows, num_cols = dense_mask.shape
        if isinstance(grid_size, int) and grid_size != -1:
            max_rows = max_cols = grid_size
        elif grid_size == -1:
            max_rows, max_cols = num_rows, num_cols
        else:
            max_rows, max_cols = grid_size
        row_step = max(1, -(-num_rows // max_rows))
        col_step = max(1, -(-num_cols // max_cols))

        def create_block_vis(*batch_idx: int) -> str:
            cur = dense
            for idx in batch_idx:
                cur = cur[idx]
            vis = f"{batch_idx}\n"
            for r in range(0, num_rows, row_step):
                for c in range(0, num_cols, col_step):
                    cells = [x for row in cur[r:r + row_step] for x in row[c:c + col_step]]
                    frac = sum(cells) / len(cells)
                    vis += ("█" if frac == 1 else " " if frac == 0 else "░") * 2
                vis += "\n"
            return vis

        total_vis = []
        for i, batch_idx in enumerate(itertools.product(*[range(n) for n in batch_dims])):
            if i == limit:
                total_vis += ["...", "To print out more, set BlockMask.to_string(limit=N)",
                              "You can also index (BlockMask[batch, head]) to choose a specific batch or head"]
                break
            total_vis.append(create_block_vis(*batch_idx))
        return "\n".join(total_vis)

    def to(self, device: Any) -> "BlockMask":
        """A new BlockMask with every tensor field on ``device``."""
        moved = {a: (getattr(self, a).to(device) if getattr(self, a) is not None else None)
                 for a in self._TENSOR_ATTRS}
        return BlockMask(seq_lengths=self.seq_lengths, **moved, BLOCK_SIZE=self.BLOCK_SIZE,
                         mask_mod=self.mask_mod, dq_kv_order_spt=self.dq_kv_order_spt)


def _default_device() -> str:
    """PyTorch's ``torch.accelerator.current_accelerator() or "cpu"``."""
    return "cuda" if backend.cuda_available() else "cpu"


def create_mask(mod_fn: _score_mod_signature | _mask_mod_signature, B: int | None, H: int | None,
                Q_LEN: int, KV_LEN: int, device: Any = None) -> Tensor:
    """The dense boolean mask ``(B, H, Q_LEN, KV_LEN)`` of a mask_mod (its values), or of a
    score_mod (True where it does not return ``-inf`` for a zero score).  B/H None mean 1."""
    device = _default_device() if device is None else device
    B, H = 1 if B is None else B, 1 if H is None else H
    b, h, m, n = _index_grids(B, H, Q_LEN, KV_LEN, device)
    if _get_mod_type(mod_fn) == _ModificationType.SCORE_MOD:
        out = mod_fn(_cr.zeros((B, H, Q_LEN, KV_LEN), device=device), b, h, m, n)
        return out.isneginf().logical_not().expand(B, H, Q_LEN, KV_LEN).contiguous()
    return mod_fn(b, h, m, n).to(backend.bool_).expand(B, H, Q_LEN, KV_LEN).contiguous()


def _convert_mask_to_block_mask(mask: Tensor, Q_BLOCK_SIZE: int = _DEFAULT_SPARSE_BLOCK_SIZE,
                                KV_BLOCK_SIZE: int = _DEFAULT_SPARSE_BLOCK_SIZE,
                                separate_full_blocks: bool = False) -> tuple[Tensor, Tensor | None]:
    """Count the allowed entries of each tile (the mask padded with False to whole tiles):
    int8 ``(B, H, Q tiles, KV tiles)`` matrices of partial tiles (some, not all, allowed) and,
    with ``separate_full_blocks``, of full ones (otherwise every nonempty tile is "partial")."""
    if mask.dtype != backend.bool_:
        raise AssertionError(f"mask.dtype must be torch.bool, got {mask.dtype}")
    while mask.dim() < 4:
        mask = mask.unsqueeze(0)
    B, H, Q, KV = mask.shape
    Qp, KVp = -(-Q // Q_BLOCK_SIZE) * Q_BLOCK_SIZE, -(-KV // KV_BLOCK_SIZE) * KV_BLOCK_SIZE
    padded = _cr.zeros((B, H, Qp, KVp), dtype=backend.int32, device=mask.device)
    padded[:, :, :Q, :KV] = mask.to(backend.int32)
    tiles = padded.view(B, H, Qp // Q_BLOCK_SIZE, Q_BLOCK_SIZE, KVp // KV_BLOCK_SIZE, KV_BLOCK_SIZE)
    block_sum = tiles.permute(0, 1, 2, 4, 3, 5).sum(dim=(-2, -1))
    if separate_full_blocks:
        full = Q_BLOCK_SIZE * KV_BLOCK_SIZE
        return (((block_sum > 0) & (block_sum < full)).to(backend.int8),
                (block_sum == full).to(backend.int8))
    return (block_sum > 0).to(backend.int8), None


def create_block_mask(mask_mod: _mask_mod_signature, B: int | None, H: int | None, Q_LEN: int,
                      KV_LEN: int, device: Any = None,
                      BLOCK_SIZE: int | tuple[int, int] = _DEFAULT_SPARSE_BLOCK_SIZE, _compile=False,
                      separate_full_blocks: bool = True, compute_dq_write_order: bool = False,
                      dq_kv_order: bool = True) -> BlockMask:
    """The :class:`BlockMask` of ``mask_mod`` for ``(B, H, Q_LEN, KV_LEN)`` (B/H None: 1, the
    mask broadcasts), in tiles of ``BLOCK_SIZE`` (an int or ``(Q_BLOCK_SIZE, KV_BLOCK_SIZE)``).

    The dense mask is built (:func:`create_mask`), each tile's allowed entries counted, and the
    partial and full tiles listed per row.  ``_compile`` (deprecated in PyTorch) changes
    nothing here; ``compute_dq_write_order``/``dq_kv_order`` describe a CUDA kernel's write
    schedule that edunn has no use for: the flag is recorded in ``dq_kv_order_spt`` and no
    write order is built."""
    device = _default_device() if device is None else device
    if _get_mod_type(mask_mod) != _ModificationType.MASK_MOD:
        raise AssertionError(f"create-block_mask requires a mask_mod function! Got {mask_mod}")
    B, H = 1 if B is None else B, 1 if H is None else H
    Q_BS, KV_BS = (BLOCK_SIZE, BLOCK_SIZE) if isinstance(BLOCK_SIZE, int) else BLOCK_SIZE
    if _compile:
        warnings.warn("_compile flag on create_block_mask was originally added to work around a "
                      "torch.compile limitation. That limitation has since been addressed. So, to "
                      "compile create_block_mask, we suggest doing torch.compile(create_block_mask). "
                      "This still works for now, but will be removed in the future.",
                      DeprecationWarning, stacklevel=2)
    if not isinstance(dq_kv_order, bool):
        raise ValueError("dq_kv_order must be a bool when using create_block_mask")
    mask = create_mask(mask_mod, B, H, Q_LEN, KV_LEN, device)
    partial, full = _convert_mask_to_block_mask(mask, Q_BS, KV_BS, separate_full_blocks)
    kv = _dense_to_ordered(partial)
    full_kv = _dense_to_ordered(full) if full is not None else (None, None)
    block_mask = BlockMask.from_kv_blocks(*kv, *full_kv, BLOCK_SIZE=(Q_BS, KV_BS),
                                          mask_mod=mask_mod, seq_lengths=(Q_LEN, KV_LEN))
    if compute_dq_write_order:
        block_mask.dq_kv_order_spt = dq_kv_order
    return block_mask


def _create_empty_block_mask(query: Tensor, key: Tensor) -> BlockMask:
    """The default mask: one tile covering everything, every entry allowed."""
    device = query.device
    return BlockMask.from_kv_blocks(kv_num_blocks=_cr.ones((1, 1, 1), dtype=backend.int32, device=device),
                                    kv_indices=_cr.zeros((1, 1, 1, 1), dtype=backend.int32, device=device),
                                    BLOCK_SIZE=_LARGE_SPARSE_BLOCK_SIZE, seq_lengths=(1, 1))


def _allowed(block_mask: BlockMask, b: Tensor, h: Tensor, m: Tensor, n: Tensor) -> Tensor:
    """Which scores take part: a full tile, or a listed (partial) tile where ``mask_mod``
    allows the entry -- the rule of PyTorch's kernel, broadcastable to ``(B, H, Q, KV)``."""
    allowed = block_mask.mask_mod(b, h, m, n)
    if tuple(block_mask.BLOCK_SIZE) == (_LARGE_SPARSE_BLOCK_SIZE, _LARGE_SPARSE_BLOCK_SIZE):
        return allowed
    qb, kb = m.view(-1, 1) // block_mask.BLOCK_SIZE[0], n.view(1, -1) // block_mask.BLOCK_SIZE[1]

    def tiles(num: Tensor, idx: Tensor) -> Tensor:   # (B', H', Q, KV) bools from the tile lists
        dense = _ordered_to_dense(num, idx, idx.shape[-1]).to(backend.bool_)
        return dense[:, :, qb, kb]
    allowed = tiles(block_mask.kv_num_blocks, block_mask.kv_indices) & allowed
    if block_mask.full_kv_num_blocks is not None:
        allowed = allowed | tiles(block_mask.full_kv_num_blocks, block_mask.full_kv_indices)
    return allowed


def flex_attention(query: Tensor, key: Tensor, value: Tensor,
                   score_mod: _score_mod_signature | None = None, block_mask: BlockMask | None = None,
                   scale: float | None = None, enable_gqa: bool = False, return_lse: bool = False,
                   kernel_options: FlexKernelOptions | None = None, *,
                   return_aux: AuxRequest | None = None) -> Tensor | tuple:
    r"""Scaled dot-product attention with a score modification and a block-sparse mask.

    Args:
        query: :math:`(B, H_q, L, E)`; key: :math:`(B, H_{kv}, S, E)`; value: :math:`(B, H_{kv}, S, E_v)`.
        score_mod: ``score_mod(score, b, h, q_idx, kv_idx) -> score`` (default: identity).
        block_mask: a :class:`BlockMask` for ``(L, S)`` (default: everything allowed).
        scale: factor on :math:`QK^T` (default :math:`1/\sqrt{E}`).
        enable_gqa: :math:`H_q` a multiple of :math:`H_{kv}`; each KV head serves
            :math:`H_q / H_{kv}` query heads.
        return_lse: also return the log-sum-exp (deprecated: ``return_aux=AuxRequest(lse=True)``).
        kernel_options: accepted, no effect here (no generated kernel).
        return_aux: which of ``lse`` and ``max_scores`` to return, as an :class:`AuxOutput`.

    Returns: ``out`` :math:`(B, H_q, L, E_v)`; ``(out, lse)`` with ``return_lse``; ``(out,
    AuxOutput)`` with ``return_aux``.  A query whose every score is masked gets 0 output and
    ``-inf`` log-sum-exp.  Scores are computed in float32 (float64 for float64 inputs).
    See the module docstring: edunn materialises the scores (memory O(L*S)).
    """
    if query.dtype != key.dtype or query.dtype != value.dtype:
        raise ValueError(f"Expected query, key, and value to have the same dtype, but got "
                         f"query.dtype: {query.dtype}, key.dtype: {key.dtype}, and value.dtype: "
                         f"{value.dtype} instead.")
    if query.device != key.device or query.device != value.device:
        raise ValueError(f"Expected query, key, and value to have the same device type, but got "
                         f"query.device: {query.device}, key.device: {key.device}, and "
                         f"value.device: {value.device} instead.")
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise ValueError(f"Expected query, key, and value to all be  at least 2 dimensional, but got "
                         f"query.dim: {query.dim()}, key.dim: {key.dim()} and value.dim: "
                         f"{value.dim()} instead.")
    if query.size(-1) != key.size(-1):
        raise ValueError(f"Expect query and key/value to have the same embedding dimension but "
                         f"got E={query.size(-1)} and E={key.size(-1)}.")
    if query.dim() != 4 or key.dim() != 4 or value.dim() != 4:
        raise NotImplementedError("NYI: query, key, and value must be 4D tensors")
    Hq, Hkv = query.size(1), key.size(1)
    if not enable_gqa and Hq != Hkv:
        raise ValueError(f"Expect query and key/value to have the same number of heads but got "
                         f"Hq={Hq} and Hkv={Hkv}. Try setting enable_gqa=True for GQA.")
    if enable_gqa and Hq % Hkv != 0:
        raise ValueError(f"Expect number of query heads to be a multiple of kv heads for GQA but "
                         f"got Hq={Hq} and Hkv={Hkv}.")
    if query.size(0) != key.size(0):
        if block_mask is None:
            raise ValueError(f"Expect query and key/value to have the same batch size, or non-none "
                             f"block_mask, but got block_mask=None, Bq={query.size(0)}, and "
                             f"Bkv={key.size(0)}.")
        if block_mask.kv_num_blocks.size(0) != query.size(0):
            raise ValueError(f"Expect query and key/value to have the same batch size, or "
                             f"block_mask and query to have the same batch size, but got "
                             f"Bq={query.size(0)}, Bkv={key.size(0)}, "
                             f"B_block_mask={block_mask.kv_num_blocks.size(0)}.")
    score_mod = _identity if score_mod is None else score_mod
    block_mask = _create_empty_block_mask(query, key) if block_mask is None else block_mask
    if getattr(block_mask, "mask_mod", None) is _sliced_mask_mod_error:
        raise RuntimeError("Cannot use mask_mod from a sliced BlockMask")
    L, S = query.size(-2), key.size(-2)
    if tuple(block_mask.BLOCK_SIZE) != (_LARGE_SPARSE_BLOCK_SIZE, _LARGE_SPARSE_BLOCK_SIZE):
        bq, bkv = block_mask.shape[-2], block_mask.shape[-1]
        if L > bq or S > bkv:
            raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got "
                             f"q_len={L} and kv_len={S}. As the block mask was created for a smaller "
                             "length than you're using it for, you likely need to create a new block mask.")
        if (L < bq and S <= bkv) or (L <= bq and S < bkv):
            raise ValueError(f"block_mask was created for block_mask.shape={block_mask.shape} but got "
                             f"q_len={L} and kv_len={S}. As the block mask was created for a larger "
                             "length than you're using it for, you can either 1. create a new block "
                             "mask with the correct length, or 2. 'adjust' the existing block mask to "
                             "the correct length by calling block_mask._adjust(q_len, kv_len). This "
                             "essentially 'crops' the block mask to the upper left corner, which does "
                             "not work for all mask_mods!")
    scale = 1.0 / math.sqrt(query.size(-1)) if scale is None else scale
    if query.device != block_mask.kv_num_blocks.device:
        raise RuntimeError(f"Expect q/k/v and block_mask to be on the same device but got "
                           f"{query.device} and {block_mask.kv_num_blocks.device}.")
    if return_lse and return_aux is not None:
        raise ValueError("Cannot specify both return_lse and return_aux. return_lse is deprecated, "
                         "please use return_aux=AuxRequest(lse=True) instead.")
    if return_lse:
        warnings.warn("return_lse is deprecated and will be removed in v2.10. Please use "
                      "return_aux=AuxRequest(lse=True) instead.", FutureWarning, stacklevel=2)
    if kernel_options is not None and not isinstance(kernel_options, dict):
        raise TypeError(f"kernel_options must be a dict (FlexKernelOptions), got "
                        f"{type(kernel_options).__name__}")

    # the math: scores (B, Hq, L, S) in the working precision, modified, masked, softmaxed
    if Hq != Hkv:
        key, value = key.repeat_interleave(Hq // Hkv, 1), value.repeat_interleave(Hq // Hkv, 1)
    Bq, Bkv = query.size(0), key.size(0)
    if not (Bq == Bkv or (Bq > 1 and Bkv == 1)):
        raise RuntimeError(f"Bq and Bkv must broadcast. Got Bq={Bq} and Bkv={Bkv}")
    key, value = key.expand(Bq, *key.shape[1:]), value.expand(Bq, *value.shape[1:])
    working = backend.float64 if query.dtype == backend.float64 else backend.float32
    scores = (query @ key.transpose(-2, -1)).to(working) * scale
    b, h, m, n = _index_grids(Bq, Hq, L, S, query.device)
    allowed = _allowed(block_mask, b, h, m, n)
    post = score_mod(scores, b, h, m, n).to(working)
    post = post.masked_fill(allowed.logical_not(), float("-inf")).expand(Bq, Hq, L, S)
    out = _safe_softmax(post).to(query.dtype) @ value

    want_lse = return_lse or (return_aux is not None and return_aux.lse)
    want_max = return_aux is not None and return_aux.max_scores
    lse = max_scores = None
    if want_lse:
        dead = post.isneginf().all(dim=-1)
        lse = post.masked_fill(dead.unsqueeze(-1), 0.0).logsumexp(dim=-1).masked_fill(dead, float("-inf"))
    if want_max:
        max_scores = post.amax(dim=-1)
    if return_aux is not None:
        return out, AuxOutput(lse=lse, max_scores=max_scores)
    if return_lse:
        return out, lse
    return out
