r"""Attention (lesson 13): scaled dot-product attention and the multi-head attention forward pass
of ``torch.nn.functional``.

Scaled dot-product attention of queries :math:`Q (\ldots, L, E)`, keys :math:`K (\ldots, S, E)` and
values :math:`V (\ldots, S, E_v)` is

.. math::  \mathrm{Attention}(Q, K, V) = \mathrm{softmax}\Big(\frac{Q K^T}{\sqrt{E}} + B\Big) V

where the bias :math:`B (L, S)` is ``-inf`` where a query may not look (a boolean mask's False, the
upper triangle of a causal mask) and any float mask added as is.  Multi-head attention projects
:math:`Q, K, V` with learned matrices, splits the :math:`E` features into ``num_heads`` heads of
``E / num_heads`` features, attends in each head independently, joins the heads again and applies
an output projection.  Both are written with differentiable tensor ops (matmul, softmax, ...),
so autograd differentiates them -- twice if asked.

``multi_head_attention_forward`` follows ``torch/nn/functional.py`` line for line (same checks,
same messages, same error kinds -- PyTorch raises ``AssertionError`` for several shape checks
here, and so does edunn), so a reader can compare the two side by side.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

from ... import backend
from ...ops import creation as _cr
from ...ops.joining import cat
from ...ops.linalg import baddbmm, bmm
from ...ops.padding import pad
from ...ops.softmax import softmax
from ...tensor import Tensor
from .dropout import dropout
from .linear import linear
from ...amp import _policy as _autocast

__all__ = ["scaled_dot_product_attention", "multi_head_attention_forward"]


def _is_float(t: Tensor) -> bool:
    return t.is_floating_point()


def _bool_to_bias(mask: Tensor, dtype: Any) -> Tensor:
    """A boolean "may attend" mask as the additive float bias: 0 where True, -inf where False."""
    return _cr.zeros(tuple(mask.shape), dtype=dtype, device=mask.device).masked_fill(
        mask.logical_not(), float("-inf"))


def _safe_softmax(scores: Tensor) -> Tensor:
    """Softmax over the last dim whose rows that are entirely ``-inf`` give zeros, not NaN.

    PyTorch's ``scaled_dot_product_attention`` does the same (``_safe_softmax``): a query that may
    look at nothing attends to nothing.  The dead rows are set to 0 *before* the softmax so that
    neither the forward nor the backward ever meets ``-inf - (-inf)``."""
    xp = backend.array_module(scores._data)
    dead = xp.all(xp.isneginf(scores._data), axis=-1, keepdims=True)
    if not backend.is_cupy_array(dead) and not dead.any():  # (asking a GPU would wait for it)
        return softmax(scores, dim=-1)
    alive = Tensor._make(xp.logical_not(dead))
    return softmax(scores.masked_fill(alive.logical_not(), 0.0), dim=-1) * alive


@backend.on_input_device
def scaled_dot_product_attention(query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None = None,
                                 dropout_p: float = 0.0, is_causal: bool = False, scale: float | None = None,
                                 enable_gqa: bool = False) -> Tensor:
    r"""Scaled dot-product attention (lesson 13):
    :math:`\mathrm{softmax}(Q K^T \cdot \mathrm{scale} + B)\, V` with dropout on the weights.

    Args:
        query: :math:`(N, \ldots, H_q, L, E)`; key: :math:`(N, \ldots, H, S, E)`;
            value: :math:`(N, \ldots, H, S, E_v)` (any leading dims that broadcast; 2-D works too).
        attn_mask: broadcastable to :math:`(N, \ldots, L, S)`.  Boolean: True means *take part in*
            attention (the opposite of ``MultiheadAttention``'s ``key_padding_mask``); float (of
            query's dtype): added to the scores.
        dropout_p: dropout probability on the attention weights -- always applied when > 0 (pass
            0.0 in evaluation, as PyTorch's docs say).
        is_causal: query :math:`i` sees keys :math:`j \le i` (the lower triangle of an
            :math:`L \times S` matrix, aligned top-left); cannot be combined with ``attn_mask``.
        scale: the factor on :math:`Q K^T`; default :math:`1/\sqrt{E}`.
        enable_gqa: grouped-query attention: :math:`H_q` query heads share :math:`H` key/value
            heads (:math:`H` divides :math:`H_q`); each key/value head is repeated
            :math:`H_q / H` times along dim -3.

    Returns: :math:`(N, \ldots, H_q, L, E_v)`.  A query row whose every score is masked gives 0.
    """
    if _autocast.active and "scaled_dot_product_attention" in _autocast.listed: return _autocast.call("scaled_dot_product_attention", scaled_dot_product_attention, query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)  # noqa: E501,E701
    if attn_mask is not None and not isinstance(attn_mask, Tensor) and hasattr(attn_mask, "_dispatch"):
        # a bias object (nn.attention.bias.CausalBias) computes the call: PyTorch's __torch_function__
        return attn_mask._dispatch(query, key, value, attn_mask, dropout_p, is_causal, scale, enable_gqa)
    if query.dim() < 2 or key.dim() < 2 or value.dim() < 2:
        raise RuntimeError(
            "Expected query, key, and value to all be  at least 2 dimensional, but got query.dim: "
            f"{query.dim()} key.dim: {key.dim()} and value.dim: {value.dim()} instead.")
    if attn_mask is not None and is_causal:
        raise RuntimeError("_scaled_dot_product_attention: Explicit attn_mask should not be set when is_causal=True")
    if not (query.dtype == key.dtype == value.dtype):
        raise RuntimeError(
            "Expected query, key, and value to have the same dtype, but got query.dtype: "
            f"{query.dtype} key.dtype: {key.dtype} and value.dtype: {value.dtype} instead.")
    if attn_mask is not None and attn_mask.dtype != backend.bool_ and attn_mask.dtype != query.dtype:
        raise RuntimeError(
            "Expected attn_mask dtype to be bool or float or to match query dtype, but got attn_mask.dtype: "
            f"{attn_mask.dtype} and  query.dtype: {query.dtype} instead.")
    from ..attention import _select_sdp_backend  # (here: nn.attention imports this module)
    _select_sdp_backend(query, key, value, attn_mask, dropout_p, is_causal, enable_gqa)  # sdpa_kernel
    L, S = query.size(-2), key.size(-2)
    scale_factor = 1.0 / math.sqrt(query.size(-1)) if scale is None else scale
    if enable_gqa and query.dim() >= 3 and key.dim() >= 3:
        hq, hk, hv = query.size(-3), key.size(-3), value.size(-3)
        if hq % hk != 0 or hq % hv != 0:
            raise RuntimeError(
                "Number of heads in key and value must divide the number of heads in query, got "
                f"query heads {hq}, key heads {hk} and value heads {hv}")
        if hk != hq:
            key = key.repeat_interleave(hq // hk, -3)
        if hv != hq:
            value = value.repeat_interleave(hq // hv, -3)
    scores = (query @ key.transpose(-2, -1)) * scale_factor
    if is_causal:
        keep = _cr.ones((L, S), dtype=backend.bool_, device=query.device).tril(0)
        scores = scores + _bool_to_bias(keep, scores.dtype)
    if attn_mask is not None:
        if attn_mask.dtype == backend.bool_:
            scores = scores + _bool_to_bias(attn_mask, scores.dtype)
        else:
            scores = scores + attn_mask
    weights = _safe_softmax(scores)
    if dropout_p > 0.0:
        weights = dropout(weights, dropout_p, training=True)
    return weights @ value


# -- helpers of multi_head_attention_forward, PyTorch's private names ----------------------------

def _none_or_dtype(input: Tensor | None) -> Any:
    if input is None:
        return None
    if isinstance(input, Tensor):
        return input.dtype
    raise RuntimeError("input to _none_or_dtype() must be None or torch.Tensor")


def _canonical_mask(mask: Tensor | None, mask_name: str, other_type: Any, other_name: str, target_type: Any,
                    check_other: bool = True) -> Tensor | None:
    """A boolean "masked out" mask becomes the float bias (-inf where True, 0 elsewhere) of
    ``target_type``; a float mask passes through; any other dtype is refused."""
    if mask is None:
        return None
    if not isinstance(mask, Tensor):
        raise TypeError(f"{mask_name} must be a Tensor or None, got {type(mask).__name__}")
    is_float = _is_float(mask)
    if mask.dtype != backend.bool_ and not is_float:
        raise AssertionError(f"only bool and floating types of {mask_name} are supported")
    if check_other and other_type is not None and mask.dtype != other_type:
        warnings.warn(f"Support for mismatched {mask_name} and {other_name} is deprecated. "
                      "Use same type for both instead.", stacklevel=2)
    if not is_float:
        mask = _cr.zeros(tuple(mask.shape), dtype=target_type, device=mask.device).masked_fill(mask, float("-inf"))
    return mask


def _mha_shape_check(query: Tensor, key: Tensor, value: Tensor, key_padding_mask: Tensor | None,
                     attn_mask: Tensor | None, num_heads: int) -> bool:
    """Check the ranks of the inputs and say whether they are batched (3-D) or not (2-D)."""
    if query.dim() == 3:
        if key.dim() != 3 or value.dim() != 3:
            raise AssertionError("For batched (3-D) `query`, expected `key` and `value` to be 3-D"
                                 f" but found {key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 2:
            raise AssertionError("For batched (3-D) `query`, expected `key_padding_mask` to be `None` or 2-D"
                                 f" but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None and attn_mask.dim() not in (2, 3):
            raise AssertionError("For batched (3-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
                                 f" but found {attn_mask.dim()}-D tensor instead")
        return True
    if query.dim() == 2:
        if key.dim() != 2 or value.dim() != 2:
            raise AssertionError("For unbatched (2-D) `query`, expected `key` and `value` to be 2-D"
                                 f" but found {key.dim()}-D and {value.dim()}-D tensors respectively")
        if key_padding_mask is not None and key_padding_mask.dim() != 1:
            raise AssertionError("For unbatched (2-D) `query`, expected `key_padding_mask` to be `None` or 1-D"
                                 f" but found {key_padding_mask.dim()}-D tensor instead")
        if attn_mask is not None:
            if attn_mask.dim() not in (2, 3):
                raise AssertionError("For unbatched (2-D) `query`, expected `attn_mask` to be `None`, 2-D or 3-D"
                                     f" but found {attn_mask.dim()}-D tensor instead")
            if attn_mask.dim() == 3:
                expected_shape = (num_heads, query.shape[0], key.shape[0])
                if tuple(attn_mask.shape) != expected_shape:
                    raise AssertionError(f"Expected `attn_mask` shape to be {expected_shape} but got {attn_mask.shape}")
        return False
    raise AssertionError(f"query should be unbatched 2D or batched 3D tensor but received {query.dim()}-D query tensor")


def _in_projection_packed(q: Tensor, k: Tensor, v: Tensor, w: Tensor, b: Tensor | None = None) -> list:
    """Project q, k, v with one packed weight :math:`(3E, E)` (rows in q, k, v order).  For
    self-attention (q is k is v) it is one matmul, for encoder-decoder attention two."""
    E = q.size(-1)
    if k is v:
        if q is k:
            proj = linear(q, w, b).unflatten(-1, (3, E))
            return [proj[..., 0, :], proj[..., 1, :], proj[..., 2, :]]
        w_q, w_kv = w.split([E, E * 2])
        b_q, b_kv = (None, None) if b is None else b.split([E, E * 2])
        kv = linear(k, w_kv, b_kv).unflatten(-1, (2, E))
        return [linear(q, w_q, b_q), kv[..., 0, :], kv[..., 1, :]]
    w_q, w_k, w_v = w.chunk(3)
    b_q, b_k, b_v = (None, None, None) if b is None else b.chunk(3)
    return [linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)]


def _in_projection(q: Tensor, k: Tensor, v: Tensor, w_q: Tensor, w_k: Tensor, w_v: Tensor,
                   b_q: Tensor | None = None, b_k: Tensor | None = None, b_v: Tensor | None = None) -> tuple:
    """Project q, k, v with three separate weights (used when kdim/vdim differ from embed_dim)."""
    Eq, Ek, Ev = q.size(-1), k.size(-1), v.size(-1)
    for name, w, shape in (("query", w_q, (Eq, Eq)), ("key", w_k, (Eq, Ek)), ("value", w_v, (Eq, Ev))):
        if tuple(w.shape) != shape:
            raise AssertionError(f"expecting {name} weights shape of {shape}, but got {tuple(w.shape)}")
    for name, b in (("query", b_q), ("key", b_k), ("value", b_v)):
        if b is not None and tuple(b.shape) != (Eq,):
            raise AssertionError(f"expecting {name} bias shape of {(Eq,)}, but got {tuple(b.shape)}")
    return linear(q, w_q, b_q), linear(k, w_k, b_k), linear(v, w_v, b_v)


def _check_key_padding_mask(key_padding_mask: Tensor, src_len: int, bsz: int) -> None:
    if key_padding_mask.shape[0] != bsz:
        raise AssertionError(f"Expected key_padded_mask.shape[0] to be {bsz}, but got {key_padding_mask.shape[0]}")
    if key_padding_mask.shape[1] != src_len:
        raise AssertionError(
            f"Expected key_padded_mask.shape[1] to be {src_len}, but got {key_padding_mask.shape[1]}")


def multi_head_attention_forward(
        query: Tensor, key: Tensor, value: Tensor, embed_dim_to_check: int, num_heads: int,
        in_proj_weight: Tensor | None, in_proj_bias: Tensor | None, bias_k: Tensor | None,
        bias_v: Tensor | None, add_zero_attn: bool, dropout_p: float, out_proj_weight: Tensor,
        out_proj_bias: Tensor | None, training: bool = True, key_padding_mask: Tensor | None = None,
        need_weights: bool = True, attn_mask: Tensor | None = None, use_separate_proj_weight: bool = False,
        q_proj_weight: Tensor | None = None, k_proj_weight: Tensor | None = None,
        v_proj_weight: Tensor | None = None, static_k: Tensor | None = None, static_v: Tensor | None = None,
        average_attn_weights: bool = True, is_causal: bool = False) -> tuple:
    r"""The forward pass of ``MultiheadAttention`` (lesson 13):

    .. math::  \mathrm{MultiHead}(Q, K, V) = \mathrm{Concat}(\mathrm{head}_1, \ldots, \mathrm{head}_h) W^O,
               \quad \mathrm{head}_i = \mathrm{Attention}(Q W_i^Q, K W_i^K, V W_i^V)

    Shapes (sequence first, as PyTorch's functional): query :math:`(L, N, E)` or :math:`(L, E)`,
    key :math:`(S, N, E_k)`, value :math:`(S, N, E_v)`; key_padding_mask :math:`(N, S)` or
    :math:`(S)` (bool: True = ignore that key; float: added); attn_mask :math:`(L, S)` or
    :math:`(N \cdot h, L, S)` (bool: True = not allowed; float: added); static_k/static_v
    :math:`(N \cdot h, S, E/h)` replace the projected keys/values.

    Returns ``(attn_output, attn_output_weights)``: :math:`(L, N, E)` and, when ``need_weights``,
    :math:`(N, L, S)` averaged over heads or :math:`(N, h, L, S)` per head (else ``None``).
    ``is_causal`` is a hint that ``attn_mask`` is the causal mask: used only when no weights are
    needed and no key padding mask is given, as in PyTorch.  Dropout on the weights only when
    ``training``.
    """
    if _autocast.active and "multi_head_attention_forward" in _autocast.listed: return _autocast.call("multi_head_attention_forward", multi_head_attention_forward, query, key, value, embed_dim_to_check, num_heads, in_proj_weight, in_proj_bias, bias_k, bias_v, add_zero_attn, dropout_p, out_proj_weight, out_proj_bias, training, key_padding_mask, need_weights, attn_mask, use_separate_proj_weight, q_proj_weight, k_proj_weight, v_proj_weight, static_k, static_v, average_attn_weights, is_causal)  # noqa: E501,E701
    is_batched = _mha_shape_check(query, key, value, key_padding_mask, attn_mask, num_heads)
    if not is_batched:
        # Pretend there is a batch of one; squeeze it away at the end.
        query, key, value = query.unsqueeze(1), key.unsqueeze(1), value.unsqueeze(1)
        if key_padding_mask is not None:
            key_padding_mask = key_padding_mask.unsqueeze(0)

    tgt_len, bsz, embed_dim = query.shape
    src_len = key.shape[0]
    key_padding_mask = _canonical_mask(key_padding_mask, "key_padding_mask", _none_or_dtype(attn_mask),
                                       "attn_mask", query.dtype)
    if is_causal and attn_mask is None:
        raise RuntimeError("Need attn_mask if specifying the is_causal hint. You may use the Transformer "
                           "module method `generate_square_subsequent_mask` to create this mask.")
    if is_causal and key_padding_mask is None and not need_weights:
        # The hint alone is enough for scaled_dot_product_attention.
        attn_mask = None
    else:
        attn_mask = _canonical_mask(attn_mask, "attn_mask", None, "", query.dtype, check_other=False)
        if key_padding_mask is not None:
            # The merged mask is no longer causal.
            is_causal = False

    if embed_dim != embed_dim_to_check:
        raise AssertionError(f"was expecting embedding dimension of {embed_dim_to_check}, but got {embed_dim}")
    head_dim = embed_dim // num_heads
    if head_dim * num_heads != embed_dim:
        raise AssertionError(f"embed_dim {embed_dim} not divisible by num_heads {num_heads}")
    if use_separate_proj_weight:
        if tuple(key.shape[:2]) != tuple(value.shape[:2]):
            raise AssertionError(f"key's sequence and batch dims {key.shape[:2]} do not match value's {value.shape[:2]}")
    elif tuple(key.shape) != tuple(value.shape):
        raise AssertionError(f"key shape {key.shape} does not match value shape {value.shape}")

    # in-projection
    if not use_separate_proj_weight:
        if in_proj_weight is None:
            raise AssertionError("use_separate_proj_weight is False but in_proj_weight is None")
        q, k, v = _in_projection_packed(query, key, value, in_proj_weight, in_proj_bias)
    else:
        for name, w in (("q", q_proj_weight), ("k", k_proj_weight), ("v", v_proj_weight)):
            if w is None:
                raise AssertionError(f"use_separate_proj_weight is True but {name}_proj_weight is None")
        b_q, b_k, b_v = (None, None, None) if in_proj_bias is None else in_proj_bias.chunk(3)
        q, k, v = _in_projection(query, key, value, q_proj_weight, k_proj_weight, v_proj_weight, b_q, b_k, b_v)

    # attention mask as (1 or N*h, L, S)
    if attn_mask is not None:
        if attn_mask.dim() == 2:
            if tuple(attn_mask.shape) != (tgt_len, src_len):
                raise RuntimeError(f"The shape of the 2D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(tgt_len, src_len)}.")
            attn_mask = attn_mask.unsqueeze(0)
        elif attn_mask.dim() == 3:
            if tuple(attn_mask.shape) != (bsz * num_heads, tgt_len, src_len):
                raise RuntimeError(f"The shape of the 3D attn_mask is {attn_mask.shape}, but should be "
                                   f"{(bsz * num_heads, tgt_len, src_len)}.")
        else:
            raise RuntimeError(f"attn_mask's dimension {attn_mask.dim()} is not supported")

    # learned extra key/value appended to the sequence (dim 0)
    if bias_k is not None and bias_v is not None:
        if static_k is not None:
            raise AssertionError("bias cannot be added to static key.")
        if static_v is not None:
            raise AssertionError("bias cannot be added to static value.")
        k = cat([k, bias_k.repeat(1, bsz, 1)])
        v = cat([v, bias_v.repeat(1, bsz, 1)])
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))
    elif bias_k is not None:
        raise AssertionError("bias_k is set but bias_v is None")
    elif bias_v is not None:
        raise AssertionError("bias_v is set but bias_k is None")

    # heads: (L, N, E) -> (N*h, L, E/h)
    q = q.reshape(tgt_len, bsz * num_heads, head_dim).transpose(0, 1)
    if static_k is None:
        k = k.reshape(k.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        if static_k.size(0) != bsz * num_heads:
            raise AssertionError(f"expecting static_k.size(0) of {bsz * num_heads}, but got {static_k.size(0)}")
        if static_k.size(2) != head_dim:
            raise AssertionError(f"expecting static_k.size(2) of {head_dim}, but got {static_k.size(2)}")
        k = static_k
    if static_v is None:
        v = v.reshape(v.shape[0], bsz * num_heads, head_dim).transpose(0, 1)
    else:
        if static_v.size(0) != bsz * num_heads:
            raise AssertionError(f"expecting static_v.size(0) of {bsz * num_heads}, but got {static_v.size(0)}")
        if static_v.size(2) != head_dim:
            raise AssertionError(f"expecting static_v.size(2) of {head_dim}, but got {static_v.size(2)}")
        v = static_v

    # a key and value of zeros every query may attend to
    if add_zero_attn:
        zero_attn_shape = (bsz * num_heads, 1, head_dim)
        k = cat([k, _cr.zeros(zero_attn_shape, dtype=k.dtype, device=k.device)], dim=1)
        v = cat([v, _cr.zeros(zero_attn_shape, dtype=v.dtype, device=v.device)], dim=1)
        if attn_mask is not None:
            attn_mask = pad(attn_mask, (0, 1))
        if key_padding_mask is not None:
            key_padding_mask = pad(key_padding_mask, (0, 1))

    src_len = k.size(1)
    if key_padding_mask is not None:
        _check_key_padding_mask(key_padding_mask, src_len, bsz)
        key_padding_mask = (key_padding_mask.reshape(bsz, 1, 1, src_len).expand(-1, num_heads, -1, -1)
                            .reshape(bsz * num_heads, 1, src_len))
        attn_mask = key_padding_mask if attn_mask is None else attn_mask + key_padding_mask

    if not training:
        dropout_p = 0.0

    if need_weights:
        E = q.shape[-1]
        q_scaled = q * math.sqrt(1.0 / float(E))
        if is_causal and attn_mask is None:
            raise AssertionError("FIXME: is_causal not implemented for need_weights")
        if attn_mask is not None:
            attn_output_weights = baddbmm(attn_mask, q_scaled, k.transpose(-2, -1))
        else:
            attn_output_weights = bmm(q_scaled, k.transpose(-2, -1))
        # a plain softmax here, as PyTorch: a fully masked row gives NaN on this path
        attn_output_weights = softmax(attn_output_weights, dim=-1)
        if dropout_p > 0.0:
            attn_output_weights = dropout(attn_output_weights, p=dropout_p)
        attn_output = bmm(attn_output_weights, v)
        attn_output = attn_output.transpose(0, 1).reshape(tgt_len * bsz, embed_dim)
        attn_output = linear(attn_output, out_proj_weight, out_proj_bias)
        attn_output = attn_output.reshape(tgt_len, bsz, attn_output.size(1))
        attn_output_weights = attn_output_weights.reshape(bsz, num_heads, tgt_len, src_len)
        if average_attn_weights:
            attn_output_weights = attn_output_weights.mean(dim=1)
        if not is_batched:
            attn_output = attn_output.squeeze(1)
            attn_output_weights = attn_output_weights.squeeze(0)
        return attn_output, attn_output_weights

    if attn_mask is not None:
        if attn_mask.size(0) == 1 and attn_mask.dim() == 3:
            attn_mask = attn_mask.unsqueeze(0)
        else:
            attn_mask = attn_mask.reshape(bsz, num_heads, -1, src_len)
    q = q.reshape(bsz, num_heads, tgt_len, head_dim)
    k = k.reshape(bsz, num_heads, src_len, head_dim)
    v = v.reshape(bsz, num_heads, src_len, head_dim)
    attn_output = scaled_dot_product_attention(q, k, v, attn_mask, dropout_p, is_causal)
    attn_output = attn_output.permute(2, 0, 1, 3).reshape(bsz * tgt_len, embed_dim)
    attn_output = linear(attn_output, out_proj_weight, out_proj_bias)
    attn_output = attn_output.reshape(tgt_len, bsz, attn_output.size(1))
    if not is_batched:
        attn_output = attn_output.squeeze(1)
    return attn_output, None
