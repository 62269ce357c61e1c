"""``edunn.nn.attention.bias`` (``torch.nn.attention.bias``): causal attention biases that
``F.scaled_dot_product_attention`` accepts as ``attn_mask`` (lesson 13).

A causal bias lets query ``i`` see key ``j`` only when ``j`` is not "in the future".  When the
query and key sequences have different lengths there are two ways to line them up:

* ``causal_upper_left(L, S)``: ``tril(ones(L, S))`` -- query 0 sees key 0 (what
  ``is_causal=True`` means);
* ``causal_lower_right(L, S)``: ``tril(ones(L, S), diagonal=S - L)`` -- the *last* query sees
  every key; the usual choice when the ``L`` queries are the newest of ``S`` tokens (decoding
  with a key/value cache).

PyTorch makes ``CausalBias`` a ``torch.Tensor`` subclass whose ``__torch_function__`` catches
``scaled_dot_product_attention`` and picks a kernel that knows the pattern, without building the
``(L, S)`` mask.  edunn has no ``__torch_function__``: ``scaled_dot_product_attention`` looks for
a ``_dispatch`` method on an ``attn_mask`` that is not a Tensor and hands the call to it.  The
upper-left bias becomes ``is_causal=True``; the lower-right one is materialised as a boolean
mask, which is what PyTorch does too wherever no fused kernel applies (its CPU build).
"""
from __future__ import annotations

from enum import IntEnum, auto
from warnings import warn

from ... import backend
from ...ops import creation as _cr
from ...tensor import Tensor
from .. import functional as F
from . import SDPAParams, _raise_kernel_warnings, can_use_efficient_attention, can_use_flash_attention

__all__ = ["causal_upper_left", "causal_lower_right", "CausalVariant", "CausalBias"]


class CausalVariant(IntEnum):
    """The two alignments of a causal bias (values 1 and 2, as PyTorch's).

    ``UPPER_LEFT``: ``torch.tril(torch.ones(size, dtype=torch.bool))``; for ``(3, 4)``::

        [[1, 0, 0, 0],
         [1, 1, 0, 0],
         [1, 1, 1, 0]]

    ``LOWER_RIGHT``: ``torch.tril(torch.ones(size, dtype=torch.bool), diagonal=size[1] -
    size[0])``; for ``(3, 4)``::

        [[1, 1, 0, 0],
         [1, 1, 1, 0],
         [1, 1, 1, 1]]

    The two agree when the query and key/value lengths are equal."""

    UPPER_LEFT = auto()
    LOWER_RIGHT = auto()


class CausalBias:
    """A causal (triangular) attention bias of a query length and a key/value length, passed
    as ``attn_mask`` to ``F.scaled_dot_product_attention``.  Build it with
    :func:`causal_upper_left` or :func:`causal_lower_right`::

        attn_bias = causal_lower_right(seqlen_q, seqlen_kv)
        out = F.scaled_dot_product_attention(q, k, v, attn_bias)

    Unlike PyTorch's, it is not a Tensor subclass (see the module docstring); its ``repr`` is
    the materialised boolean mask's, as PyTorch's."""

    def __init__(self, variant: CausalVariant, seq_len_q: int, seq_len_kv: int) -> None:
        if not isinstance(variant, CausalVariant):
            raise AssertionError(f"variant must be a CausalVariant, got {type(variant).__name__}")
        self.variant = variant
        self.seq_len_q = seq_len_q
        self.seq_len_kv = seq_len_kv
        if seq_len_q > seq_len_kv and variant == CausalVariant.LOWER_RIGHT:
            warn("Lower right causal bias will produce NaNs in the output when seq_len_q > "
                 "seq_len_kv!", stacklevel=2)

    def _upper_left(self, device) -> Tensor:
        """``tril(ones(L, S))``."""
        return _cr.ones((self.seq_len_q, self.seq_len_kv), dtype=backend.bool_, device=device).tril()

    def _lower_right(self, device) -> Tensor:
        """``tril(ones(L, S), diagonal=S - L)``."""
        return _cr.ones((self.seq_len_q, self.seq_len_kv), dtype=backend.bool_,
                        device=device).tril(self.seq_len_kv - self.seq_len_q)

    def _materialize(self, device=None) -> Tensor:
        """The bias as a boolean ``(L, S)`` Tensor (True: may attend), on ``device`` (CPU by
        default)."""
        if device is None:
            device = "cpu"
        if self.variant == CausalVariant.UPPER_LEFT:
            return self._upper_left(device)
        if self.variant == CausalVariant.LOWER_RIGHT:
            return self._lower_right(device)
        raise ValueError(f"CausalBias.variant must be a CausalVariant type, but found: {self.variant}")

    @staticmethod
    def _dispatch(query: Tensor, key: Tensor, value: Tensor, attn_mask: "CausalBias",
                  dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                  enable_gqa: bool = False) -> Tensor:
        """``F.scaled_dot_product_attention`` with this bias as ``attn_mask`` (called by it):
        upper-left (or square) is ``is_causal=True``; lower-right runs with the materialised
        mask, since edunn has no fused kernel that knows the pattern."""
        if is_causal:
            raise ValueError("CausalBias should not be used with causal=True")
        if attn_mask.seq_len_q == attn_mask.seq_len_kv or attn_mask.variant == CausalVariant.UPPER_LEFT:
            return F.scaled_dot_product_attention(query, key, value, attn_mask=None,
                                                  dropout_p=dropout_p, is_causal=True,
                                                  scale=scale, enable_gqa=enable_gqa)
        if attn_mask.variant == CausalVariant.LOWER_RIGHT:
            params = SDPAParams(query, key, value, None, dropout_p, is_causal, enable_gqa)
            if not (can_use_flash_attention(params) or can_use_efficient_attention(params)):
                _raise_kernel_warnings(params)
            return F.scaled_dot_product_attention(query, key, value,
                                                  attn_mask=attn_mask._materialize(query.device),
                                                  dropout_p=dropout_p, is_causal=False,
                                                  scale=scale, enable_gqa=enable_gqa)
        raise ValueError(f"CausalBias.variant must be a CausalVariant type, but found: "
                         f"{attn_mask.variant}")

    def __repr__(self) -> str:
        return self._materialize().__repr__()


def causal_upper_left(*size: int) -> CausalBias:
    """An upper-left causal bias of ``size = (seq_len_q, seq_len_kv)``: ``tril(ones(size))``,
    the same as ``is_causal=True``."""
    if len(size) != 2:
        raise AssertionError("causal_upper_left only supports 2D tensors")
    seq_len_q, seq_len_kv = size
    return CausalBias(CausalVariant.UPPER_LEFT, seq_len_q, seq_len_kv)


def causal_lower_right(*size: int) -> CausalBias:
    """A lower-right causal bias of ``size = (seq_len_q, seq_len_kv)``:
    ``tril(ones(size), diagonal=size[1] - size[0])``."""
    if len(size) != 2:
        raise AssertionError("causal_lower_right only supports 2D tensors")
    seq_len_q, seq_len_kv = size
    return CausalBias(CausalVariant.LOWER_RIGHT, seq_len_q, seq_len_kv)
