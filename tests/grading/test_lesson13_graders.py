"""The graders of lesson 13: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

import math
from pathlib import Path

import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.grading.exercises.lesson13 import BatchFirstMultiheadAttention, sinusoidal_encoding
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero, stub

pytestmark = pytest.mark.lesson13

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "13_attention.ipynb"


# ---------------------------------------------------------------------------- planted: attention

def _sdpa(*, no_scale=False, scale_by_d=False, invert_bool=False, zero_not_inf=False, causal_upper=False,
          softmax_queries=False, scale_float_mask=False, ignore_scale_arg=False):
    def planted(query, key, value, attn_mask=None, is_causal=False, scale=None):
        L, S, E = query.size(-2), key.size(-2), query.size(-1)
        sc = 1.0 / math.sqrt(E) if scale is None or ignore_scale_arg else scale
        if no_scale:
            sc = 1.0
        if scale_by_d:
            sc = 1.0 / E
        scores = query @ key.transpose(-2, -1)
        if attn_mask is not None and attn_mask.dtype != edunn.bool and scale_float_mask:
            scores = scores + attn_mask
            attn_mask = None
        scores = scores * sc
        if is_causal:
            allowed = edunn.ones(L, S, dtype=edunn.bool).tril()
            if causal_upper:
                allowed = edunn.ones(L, S, dtype=edunn.bool).triu()
            scores = scores.masked_fill(allowed.logical_not(), float("-inf"))
        if attn_mask is not None:
            if attn_mask.dtype == edunn.bool:
                if zero_not_inf:
                    scores = scores * attn_mask.to(scores.dtype)
                else:
                    scores = scores.masked_fill(attn_mask if invert_bool else attn_mask.logical_not(),
                                                float("-inf"))
            else:
                scores = scores + attn_mask
        return scores.softmax(-2 if softmax_queries else -1) @ value
    return planted


def test_scaled_dot_product_attention():
    assert_full_marks("13.scaled_dot_product_attention", F.scaled_dot_product_attention)
    assert_full_marks("13.scaled_dot_product_attention", _sdpa())
    assert_zero("13.scaled_dot_product_attention", stub)
    assert_partial("13.scaled_dot_product_attention", _sdpa(no_scale=True), mentions="did not scale")
    assert_partial("13.scaled_dot_product_attention", _sdpa(scale_by_d=True), mentions="not by E")
    assert_partial("13.scaled_dot_product_attention", _sdpa(invert_bool=True),
                   mentions="your mask keeps where it should drop: PyTorch's boolean attn_mask is True "
                            "where attention is ALLOWED")
    assert_partial("13.scaled_dot_product_attention", _sdpa(zero_not_inf=True), mentions="-inf")
    assert_partial("13.scaled_dot_product_attention", _sdpa(causal_upper=True), mentions="keeps the future")
    assert_partial("13.scaled_dot_product_attention", _sdpa(softmax_queries=True), mentions="dim=-1")
    assert_partial("13.scaled_dot_product_attention", _sdpa(scale_float_mask=True), mentions="AFTER scaling")
    assert_partial("13.scaled_dot_product_attention", _sdpa(ignore_scale_arg=True),
                   mentions="replaces 1/sqrt(E)")


# ---------------------------------------------------------------------------- planted: multi-head attention

def _mha(*, plain_reshape=False, no_out_proj=False, scale_embed=False, invert=False, per_head_weights=False):
    class Planted(nn.Module):
        def __init__(self, embed_dim, num_heads):
            super().__init__()
            self.embed_dim, self.num_heads, self.head_dim = embed_dim, num_heads, embed_dim // num_heads
            self.in_proj_weight = nn.Parameter(edunn.empty(3 * embed_dim, embed_dim))
            self.in_proj_bias = nn.Parameter(edunn.zeros(3 * embed_dim))
            self.out_proj = nn.Linear(embed_dim, embed_dim)
            nn.init.xavier_uniform_(self.in_proj_weight)

        def forward(self, query, key, value, key_padding_mask=None, attn_mask=None):
            N, L, E = query.shape
            S = key.shape[1]
            h, d = self.num_heads, self.head_dim
            ws, bs = self.in_proj_weight.chunk(3), self.in_proj_bias.chunk(3)

            def heads(x, w, b):
                y = F.linear(x, w, b)
                return y.reshape(N, h, -1, d) if plain_reshape else y.reshape(N, -1, h, d).transpose(1, 2)

            q, k, v = (heads(x, w, b) for x, w, b in zip((query, key, value), ws, bs))
            scores = q @ k.transpose(-2, -1) / math.sqrt(E if scale_embed else d)
            drop = edunn.zeros(N, 1, L, S, dtype=edunn.bool)
            if key_padding_mask is not None:
                drop = drop | key_padding_mask.reshape(N, 1, 1, S)
            if attn_mask is not None:
                drop = drop | attn_mask
            if invert and (key_padding_mask is not None or attn_mask is not None):
                drop = drop.logical_not()
            weights = scores.masked_fill(drop, float("-inf")).softmax(-1)
            out = (weights @ v).transpose(1, 2).reshape(N, L, E)
            if not no_out_proj:
                out = self.out_proj(out)
            return out, (weights if per_head_weights else weights.mean(1))
    return Planted


def test_multihead_attention():
    assert_full_marks("13.MyMultiheadAttention", BatchFirstMultiheadAttention)
    assert_full_marks("13.MyMultiheadAttention", _mha())
    assert_zero("13.MyMultiheadAttention", StubClass)
    assert_partial("13.MyMultiheadAttention", _mha(plain_reshape=True), mentions="THEN transpose")
    assert_partial("13.MyMultiheadAttention", _mha(no_out_proj=True), mentions="output projection")
    assert_partial("13.MyMultiheadAttention", _mha(scale_embed=True), mentions="1/sqrt(head_dim)")
    assert_partial("13.MyMultiheadAttention", _mha(invert=True),
                   mentions="True where attention is NOT allowed")
    assert_partial("13.MyMultiheadAttention", _mha(per_head_weights=True), mentions="averages the weights")


# ---------------------------------------------------------------------------- planted: positional encoding

def _pe(*, concat=False, swapped=False, half_exponent=False):
    def planted(max_len, d_model):
        pos = edunn.arange(max_len, dtype=edunn.float32).unsqueeze(1)
        i = edunn.arange(d_model // 2, dtype=edunn.float32)
        angle = pos / 10000.0 ** ((i if half_exponent else 2 * i) / d_model)
        a, b = (angle.cos(), angle.sin()) if swapped else (angle.sin(), angle.cos())
        if concat:
            return edunn.cat([a, b], 1)
        return edunn.stack([a, b], 2).reshape(max_len, d_model)
    return planted


def test_sinusoidal_encoding():
    assert_full_marks("13.sinusoidal_encoding", sinusoidal_encoding)
    assert_full_marks("13.sinusoidal_encoding", _pe())
    assert_zero("13.sinusoidal_encoding", stub)
    assert_partial("13.sinusoidal_encoding", _pe(concat=True), mentions="interleave")
    assert_partial("13.sinusoidal_encoding", _pe(swapped=True), mentions="swapped")
    assert_partial("13.sinusoidal_encoding", _pe(half_exponent=True), mentions="2i/d_model")


def test_sinusoidal_encoding_matches_the_formula():
    pe = sinusoidal_encoding(5, 6)
    for pos in range(5):
        for i in range(3):
            angle = pos / 10000 ** (2 * i / 6)
            assert abs(pe[pos, 2 * i].item() - math.sin(angle)) < 1e-6
            assert abs(pe[pos, 2 * i + 1].item() - math.cos(angle)) < 1e-6
    with pytest.raises(ValueError, match="even"):
        sinusoidal_encoding(4, 5)


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells with ``check`` as the identity; return their names."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import math\nimport edunn\nimport edunn.nn as nn\nimport edunn.nn.functional as F\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/13_attention.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("13.scaled_dot_product_attention", ns["scaled_dot_product_attention"])
    assert_full_marks("13.MyMultiheadAttention", ns["MyMultiheadAttention"])
    assert_full_marks("13.sinusoidal_encoding", ns["sinusoidal_encoding"])
