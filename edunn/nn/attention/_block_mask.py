"""The block-sparse format of ``edunn.nn.attention.flex_attention``: :class:`BlockMask` (which
``BLOCK_SIZE x BLOCK_SIZE`` tiles of the score matrix hold allowed entries, and which are full)
and the conversions between its ordered (per-row counts and column indices) and dense forms,
with ``noop_mask``, the mask_mod a BlockMask has by default.  Split out of
``flex_attention.py``, which re-exports these names; its docstring explains how the mask is
used.
"""
from __future__ import annotations

import functools
import itertools
import operator
from typing import Any, Callable

from ... import backend
from ...ops import creation as _cr
from ...tensor import Tensor

_mask_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor], Tensor]

_DEFAULT_SPARSE_BLOCK_SIZE = 128
_LARGE_SPARSE_BLOCK_SIZE = 1 << 30


def noop_mask(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor) -> Tensor:
    """Returns a noop mask_mod"""
    return batch.new_ones((), dtype=backend.bool_, device=batch.device)


def _sliced_mask_mod_error(batch: Tensor, head: Tensor, token_q: Tensor, token_kv: Tensor):
    """The mask_mod of a sliced BlockMask: using it is an error, as in PyTorch."""
    raise RuntimeError("Cannot use mask_mod from a sliced BlockMask. When you slice a BlockMask "
                       "using [], the mask_mod attribute is reset. You must set it from the "
                       "original BlockMask's mask_mod.")



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
