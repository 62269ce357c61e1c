r"""``MultiheadAttention`` (lesson 13), as in ``torch/nn/modules/activation.py`` (PyTorch files it
with the activations; edunn gives it its own file).  The module holds the projections; the math is
``F.multi_head_attention_forward``.

``NonDynamicallyQuantizableLinear`` is PyTorch's name for the output projection's class (in
``torch/nn/modules/linear.py``): a plain ``Linear`` whose only purpose in PyTorch is to keep
quantization tools away from it.  edunn keeps the name so that ``repr`` and ``isinstance`` checks
read the same.
"""
from __future__ import annotations

from typing import Any

from ...ops.creation import empty
from ...tensor import Tensor
from .. import functional as F
from ..functional.attention import _canonical_mask, _none_or_dtype
from ..init import constant_, xavier_normal_, xavier_uniform_
from ..parameter import Parameter
from .linear import Linear
from .module import Module

__all__ = ["MultiheadAttention", "NonDynamicallyQuantizableLinear"]


class NonDynamicallyQuantizableLinear(Linear):
    """A ``Linear`` under another name (PyTorch's out-projection of ``MultiheadAttention``)."""


class MultiheadAttention(Module):
    r"""Multi-head attention (lesson 13):

    .. math::  \mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \ldots, \mathrm{head}_h) W^O,
               \quad \mathrm{head}_i = \mathrm{softmax}\Big(\frac{Q W_i^Q (K W_i^K)^T}{\sqrt{d_k}} + B\Big) V W_i^V

    with :math:`d_k = E / h` (``head_dim``).

    Args: ``embed_dim`` (:math:`E`), ``num_heads`` (:math:`h`, must divide :math:`E`), ``dropout``
    on the attention weights (training only), ``bias`` (in- and out-projection biases),
    ``add_bias_kv`` (learn one extra key and value appended to the sequence), ``add_zero_attn``
    (append a key and value of zeros), ``kdim``/``vdim`` (feature sizes of key and value, default
    :math:`E`), ``batch_first`` (inputs :math:`(N, L, E)` instead of :math:`(L, N, E)`),
    ``device``/``dtype``.

    Parameters (PyTorch's names, so a PyTorch state_dict loads): ``in_proj_weight``
    :math:`(3E, E)` when kdim = vdim = E, else ``q_proj_weight`` :math:`(E, E)`, ``k_proj_weight``
    :math:`(E, k_{dim})`, ``v_proj_weight`` :math:`(E, v_{dim})`; ``in_proj_bias`` :math:`(3E)`;
    ``out_proj`` (a ``Linear(E, E)``); ``bias_k``, ``bias_v`` :math:`(1, 1, E)`.  Initialisation
    as PyTorch's ``_reset_parameters``: Xavier-uniform in-projections, zero biases, Xavier-normal
    ``bias_k``/``bias_v``; ``out_proj.weight`` keeps ``Linear``'s default.

    Forward: ``query`` :math:`(L, N, E)` / :math:`(N, L, E)` / unbatched :math:`(L, E)`, ``key``
    and ``value`` with :math:`S` positions and :math:`k_{dim}`, :math:`v_{dim}` features;
    ``key_padding_mask`` :math:`(N, S)` or :math:`(S)` (bool: True = ignore that key; float:
    added), ``attn_mask`` :math:`(L, S)` or :math:`(N h, L, S)` (bool: True = not allowed; float:
    added), ``need_weights``, ``average_attn_weights``, ``is_causal`` (a hint that ``attn_mask`` is
    causal).  Returns ``(attn_output, attn_output_weights)``: output shaped like ``query``;
    weights :math:`(N, L, S)` (averaged) or :math:`(N, h, L, S)`, unbatched without :math:`N`, or
    ``None`` when ``need_weights=False``.

    PyTorch also has a fused inference "fast path"; its results equal this computation, which is
    the only one edunn runs.
    """

    __constants__ = ["batch_first"]

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 add_bias_kv: bool = False, add_zero_attn: bool = False, kdim: int | None = None,
                 vdim: int | None = None, batch_first: bool = False, device: Any = None, dtype: Any = None) -> None:
        if embed_dim <= 0 or num_heads <= 0:
            raise ValueError(f"embed_dim and num_heads must be greater than 0, got embed_dim={embed_dim} "
                             f"and num_heads={num_heads} instead")
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.embed_dim = embed_dim
        self.kdim = kdim if kdim is not None else embed_dim
        self.vdim = vdim if vdim is not None else embed_dim
        self._qkv_same_embed_dim = self.kdim == embed_dim and self.vdim == embed_dim
        self.num_heads = num_heads
        self.dropout = dropout
        self.batch_first = batch_first
        self.head_dim = embed_dim // num_heads
        if self.head_dim * num_heads != self.embed_dim:
            raise AssertionError("embed_dim must be divisible by num_heads")

        if not self._qkv_same_embed_dim:
            self.q_proj_weight = Parameter(empty((embed_dim, embed_dim), **factory_kwargs))
            self.k_proj_weight = Parameter(empty((embed_dim, self.kdim), **factory_kwargs))
            self.v_proj_weight = Parameter(empty((embed_dim, self.vdim), **factory_kwargs))
            self.register_parameter("in_proj_weight", None)
        else:
            self.in_proj_weight = Parameter(empty((3 * embed_dim, embed_dim), **factory_kwargs))
            self.register_parameter("q_proj_weight", None)
            self.register_parameter("k_proj_weight", None)
            self.register_parameter("v_proj_weight", None)
        if bias:
            self.in_proj_bias = Parameter(empty(3 * embed_dim, **factory_kwargs))
        else:
            self.register_parameter("in_proj_bias", None)
        self.out_proj = NonDynamicallyQuantizableLinear(embed_dim, embed_dim, bias=bias, **factory_kwargs)
        if add_bias_kv:
            self.bias_k = Parameter(empty((1, 1, embed_dim), **factory_kwargs))
            self.bias_v = Parameter(empty((1, 1, embed_dim), **factory_kwargs))
        else:
            self.bias_k = self.bias_v = None
        self.add_zero_attn = add_zero_attn
        self._reset_parameters()

    def _reset_parameters(self) -> None:
        if self._qkv_same_embed_dim:
            xavier_uniform_(self.in_proj_weight)
        else:
            xavier_uniform_(self.q_proj_weight)
            xavier_uniform_(self.k_proj_weight)
            xavier_uniform_(self.v_proj_weight)
        if self.in_proj_bias is not None:
            constant_(self.in_proj_bias, 0.0)
            constant_(self.out_proj.bias, 0.0)
        if self.bias_k is not None:
            xavier_normal_(self.bias_k)
        if self.bias_v is not None:
            xavier_normal_(self.bias_v)

    def forward(self, query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None = None,
                need_weights: bool = True, attn_mask: Tensor | None = None, average_attn_weights: bool = True,
                is_causal: bool = False) -> tuple:
        for name, t in (("query", query), ("key", key), ("value", value)):
            if not isinstance(t, Tensor):
                raise TypeError(f"MultiheadAttention.forward(): {name} must be a Tensor, got {type(t).__name__}")
        is_batched = query.dim() == 3
        key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                                             "attn_mask", query.dtype)
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)

        if self.batch_first and is_batched:
            # (N, L, E) -> (L, N, E), keeping "key is value" so the packed projection can share work
            if key is value:
                if query is key:
                    query = key = value = query.transpose(1, 0)
                else:
                    query, key = (x.transpose(1, 0) for x in (query, key))
                    value = key
            else:
                query, key, value = (x.transpose(1, 0) for x in (query, key, value))

        separate = not self._qkv_same_embed_dim
        attn_output, attn_output_weights = F.multi_head_attention_forward(
            query, key, value, self.embed_dim, self.num_heads, self.in_proj_weight, self.in_proj_bias,
            self.bias_k, self.bias_v, self.add_zero_attn, self.dropout, self.out_proj.weight, self.out_proj.bias,
            training=self.training, key_padding_mask=key_padding_mask, need_weights=need_weights,
            attn_mask=attn_mask, use_separate_proj_weight=separate,
            q_proj_weight=self.q_proj_weight if separate else None,
            k_proj_weight=self.k_proj_weight if separate else None,
            v_proj_weight=self.v_proj_weight if separate else None,
            average_attn_weights=average_attn_weights, is_causal=is_causal)
        if self.batch_first and is_batched:
            return attn_output.transpose(1, 0), attn_output_weights
        return attn_output, attn_output_weights

    def merge_masks(self, attn_mask: Tensor | None, key_padding_mask: Tensor | None, query: Tensor) -> tuple:
        """Combine a float ``attn_mask`` and ``key_padding_mask`` of a batch-first self-attention
        into one :math:`(N, h, L, L)` mask; returns ``(merged_mask, mask_type)`` with mask_type
        1 (key padding only), 2 (an attention mask) or None, as PyTorch's fast path does."""
        mask_type = None
        merged_mask = None
        if key_padding_mask is not None:
            mask_type = 1
            merged_mask = key_padding_mask
        if attn_mask is not None:
            batch_size, seq_len, _ = query.shape
            mask_type = 2
            if attn_mask.dim() == 3:
                attn_mask_expanded = attn_mask.reshape(batch_size, -1, seq_len, seq_len)
            else:
                attn_mask_expanded = attn_mask.reshape(1, 1, seq_len, seq_len).expand(batch_size, self.num_heads, -1, -1)
            merged_mask = attn_mask_expanded
            if key_padding_mask is not None:
                key_padding_mask_expanded = key_padding_mask.reshape(batch_size, 1, 1, seq_len).expand(
                    -1, self.num_heads, -1, -1)
                merged_mask = attn_mask_expanded + key_padding_mask_expanded
        return merged_mask, mask_type
