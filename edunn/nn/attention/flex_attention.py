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

import inspect
import math
import warnings
from enum import Enum
from typing import Any, Callable, NamedTuple, TypedDict

from ... import backend
from ...ops import creation as _cr
from ...tensor import Tensor
from ..functional.attention import _safe_softmax
from ._block_mask import (_DEFAULT_SPARSE_BLOCK_SIZE, _LARGE_SPARSE_BLOCK_SIZE, BlockMask,  # noqa: F401
                          _dense_to_ordered, _mask_mod_signature, _ordered_to_dense,
                          _sliced_mask_mod_error, noop_mask)

__all__ = ["BlockMask", "flex_attention", "AuxOutput", "AuxRequest", "FlexKernelOptions",
           "create_block_mask", "create_mask", "or_masks", "and_masks", "noop_mask"]

_score_mod_signature = Callable[[Tensor, Tensor, Tensor, Tensor, Tensor], Tensor]
BlockMask.__module__ = noop_mask.__module__ = __name__  # their public home, as in torch


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


@backend.on_input_device
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
