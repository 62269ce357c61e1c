"""Graders of lesson 13 (attention and Transformers): scaled dot-product attention with boolean,
float and causal masks, a multi-head attention module with a packed input projection, and the
sinusoidal positional encoding.

References: ``edunn.nn.functional.scaled_dot_product_attention``, ``edunn.nn.MultiheadAttention``
(the learner's module is loaded with its ``state_dict``, so both hold the same weights) and
``sinusoidal_encoding`` below (the formula of "Attention Is All You Need", section 3.5).

The graders compare values and gradients on random float64 inputs and recognise the usual
mistakes: no scaling or a scaling by ``1/d``, the softmax over the wrong axis, a boolean mask
read the wrong way round (scaled_dot_product_attention's ``attn_mask`` is True where attention is
ALLOWED, ``MultiheadAttention``'s masks are True where it is NOT), masked scores set to 0 instead
of ``-inf``, a causal mask that keeps the future, heads split without the transpose, a missing
output projection, weights not averaged over heads, sine and cosine concatenated instead of
interleaved.
"""

from __future__ import annotations

import math
from typing import Any

from edunn.grading import Fail, exercise
from edunn.nn import MultiheadAttention

# ---------------------------------------------------------------------------- references


def sinusoidal_encoding(max_len: int, d_model: int) -> Any:
    """``PE[pos, 2i] = sin(pos / 10000^(2i/d_model))``, ``PE[pos, 2i+1] = cos(...)``: (max_len, d_model)."""
    import edunn

    if d_model % 2:
        raise ValueError(f"sinusoidal_encoding: d_model must be even (a sine and a cosine per frequency), "
                         f"got {d_model}")
    pos = edunn.arange(max_len, dtype=edunn.float32).unsqueeze(1)
    freq = edunn.exp(edunn.arange(0, d_model, 2, dtype=edunn.float32) * (-math.log(10000.0) / d_model))
    pe = edunn.zeros(max_len, d_model)
    pe[:, 0::2] = (pos * freq).sin()
    pe[:, 1::2] = (pos * freq).cos()
    return pe


class BatchFirstMultiheadAttention(MultiheadAttention):
    """``nn.MultiheadAttention(embed_dim, num_heads, batch_first=True)``: the lesson's
    ``MyMultiheadAttention(embed_dim, num_heads)`` takes (N, L, E) inputs, and so does this."""

    def __init__(self, embed_dim: int, num_heads: int, **kwargs: Any) -> None:
        super().__init__(embed_dim, num_heads, batch_first=True, **kwargs)


# ---------------------------------------------------------------------------- helpers


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _leaf(t, *shape: int):
    import edunn

    return edunn.tensor(t.randn(*shape).tolist(), dtype=edunn.float64, requires_grad=True)


def _as_tensor(out: Any, what: str):
    import edunn

    if not isinstance(out, edunn.Tensor):
        raise Fail(f"{what} returned {type(out).__name__}, expected a Tensor")
    return out


def _grads(y, g, inputs: tuple) -> tuple:
    """``d (y * g).sum() / d input`` for each input."""
    if y.grad_fn is None:
        raise Fail("the output recorded no graph (it has no grad_fn): build it from the inputs with "
                   "tensor ops (matmul, softmax, ...) so autograd can differentiate it")
    for x in inputs:
        x.grad = None
    (y * g).sum().backward()
    return tuple(x.grad for x in inputs)


def _bool_mask(t, *shape: int):
    """A random boolean mask whose every row (last axis) has at least one True and one False."""
    import edunn

    rows = []
    for _ in range(math.prod(shape[:-1])):
        row = [t.rng.random() < 0.5 for _ in range(shape[-1])]
        row[t.rng.randrange(shape[-1])] = True
        falses = [j for j, keep in enumerate(row) if not keep]
        if not falses:
            row[(row.index(True) + 1) % shape[-1]] = False
        rows.append(row)
    return edunn.tensor(rows, dtype=edunn.bool).reshape(*shape)


def _manual_attention(q, k, v, scale, bias=None, *, softmax_dim=-1, multiply_mask=None):
    """softmax(q k^T * scale + bias) v, with the knobs the usual mistakes turn."""
    scores = (q @ k.transpose(-2, -1)) * scale
    if multiply_mask is not None:
        scores = scores * multiply_mask
    if bias is not None:
        scores = scores + bias
    return scores.softmax(softmax_dim) @ v


# ---------------------------------------------------------------------------- 13.scaled_dot_product_attention

_SDPA_MASK_HINT = ("PyTorch's boolean attn_mask is True where attention is ALLOWED: "
                   "scores.masked_fill(attn_mask.logical_not(), float('-inf'))")


def _check_sdpa(t, student, qshape: tuple, kshape: tuple, ev: int, *, mask: str | None = None,
                is_causal: bool = False, scale: float | None = None) -> None:
    import edunn
    import edunn.nn.functional as F

    q, k = _leaf(t, *qshape), _leaf(t, *kshape)
    v = _leaf(t, *kshape[:-1], ev)
    L, S, E = qshape[-2], kshape[-2], qshape[-1]
    kwargs: dict = {}
    attn_mask = None
    if mask == "bool":
        attn_mask = _bool_mask(t, L, S)
        kwargs["attn_mask"] = attn_mask
    elif mask == "float":
        attn_mask = edunn.tensor(t.randn(L, S).tolist(), dtype=edunn.float64)
        kwargs["attn_mask"] = attn_mask
    if is_causal:
        kwargs["is_causal"] = True
    if scale is not None:
        kwargs["scale"] = scale
    shown = ", ".join(f"{name}={'<' + mask + ' mask ' + _fmt((L, S)) + '>' if name == 'attn_mask' else val}"
                      for name, val in kwargs.items())
    call = (f"scaled_dot_product_attention(q {_fmt(qshape)}, k {_fmt(kshape)}, v {_fmt(tuple(v.shape))}"
            + (f", {shown})" if shown else ")"))
    y = _as_tensor(student(q, k, v, **kwargs), call)
    qd, kd, vd = q.detach(), k.detach(), v.detach()
    want = F.scaled_dot_product_attention(qd, kd, vd, **kwargs)
    out_shape = tuple(qshape[:-1]) + (ev,)
    if tuple(y.shape) != out_shape:
        raise Fail(f"{call} has shape {_fmt(tuple(y.shape))}, expected {_fmt(out_shape)}: "
                   "(..., L, E) queries against (..., S, E) keys give (..., L, S) weights, and "
                   "weights @ values (..., S, Ev) is (..., L, Ev)")
    sc = 1.0 / math.sqrt(E) if scale is None else scale
    mistakes: dict = {}
    other = {k_: v_ for k_, v_ in kwargs.items() if k_ != "scale"}
    mistakes["you did not scale the scores: softmax(Q K^T / sqrt(E)) V, E the query's last dim"] = \
        F.scaled_dot_product_attention(qd, kd, vd, scale=1.0, **other).tolist()
    if scale is None:
        mistakes["the scores are divided by sqrt(E), not by E"] = \
            F.scaled_dot_product_attention(qd, kd, vd, scale=1.0 / E, **other).tolist()
    else:
        mistakes[f"scale={scale} replaces 1/sqrt(E) when it is given"] = \
            F.scaled_dot_product_attention(qd, kd, vd, **other).tolist()
    bias = None
    if mask == "bool":
        mistakes["your mask keeps where it should drop: " + _SDPA_MASK_HINT] = \
            F.scaled_dot_product_attention(qd, kd, vd, attn_mask=attn_mask.logical_not()).tolist()
        mistakes["a masked score must become -inf before the softmax (its weight is then exactly 0); "
                 "multiplying the score by 0 still leaves it the weight exp(0)"] = \
            _manual_attention(qd, kd, vd, sc, multiply_mask=attn_mask.to(edunn.float64)).tolist()
    elif mask == "float":
        mistakes["a float attn_mask is added to the scores AFTER scaling: softmax(Q K^T * scale + mask) V"] = \
            _manual_attention(qd, kd, vd, sc, bias=attn_mask * sc).tolist()
        mistakes["a float attn_mask is added to the scores, not multiplied"] = \
            _manual_attention(qd, kd, vd, sc, multiply_mask=attn_mask).tolist()
    if is_causal:
        future = edunn.ones(L, S, dtype=edunn.bool).triu(0)
        mistakes["your causal mask keeps the future: query i may see keys j <= i, the LOWER triangle "
                 "(ones(L, S).tril()) with the diagonal"] = \
            F.scaled_dot_product_attention(qd, kd, vd, attn_mask=future).tolist()
        mistakes["is_causal=True was ignored: query i may see keys j <= i only"] = \
            F.scaled_dot_product_attention(qd, kd, vd).tolist()
    if mask is None and not is_causal:
        bias = None
        mistakes["the softmax runs over the keys (the last axis, dim=-1): each query's weights sum to 1"] = \
            _manual_attention(qd, kd, vd, sc, softmax_dim=-2).tolist()
    t.close(y, want, call, mistakes=mistakes,
            hint=_SDPA_MASK_HINT if mask == "bool" else None)
    g = edunn.tensor(t.randn(*out_shape).tolist(), dtype=edunn.float64)
    gq, gk, gv = _grads(y, g, (q, k, v))
    qr, kr, vr = (x.detach().requires_grad_() for x in (qd, kd, vd))
    rq, rk, rv = _grads(F.scaled_dot_product_attention(qr, kr, vr, **kwargs), g, (qr, kr, vr))
    for name, got, ref in (("query", gq, rq), ("key", gk, rk), ("value", gv, rv)):
        if got is None:
            raise Fail(f"no gradient reached {name}: build the output from query, key and value with "
                       "tensor ops, without .detach() or .data")
        t.close(got, ref, f"the gradient of {name}")


@exercise("13.scaled_dot_product_attention", points=5,
          reference="edunn.nn.functional.scaled_dot_product_attention",
          title="scaled dot-product attention with boolean, float and causal masks")
def grade_sdpa(student, t):
    with t.group("no mask, q (3, 4), k (5, 4), v (5, 2)"):
        _check_sdpa(t, student, (3, 4), (5, 4), 2)
    with t.group("no mask, batched q (2, 3, 6, 8), k (2, 3, 4, 8), v (2, 3, 4, 5)"):
        _check_sdpa(t, student, (2, 3, 6, 8), (2, 3, 4, 8), 5)
    with t.group("boolean attn_mask (True = may attend), broadcast over the batch"):
        _check_sdpa(t, student, (2, 5, 4), (2, 6, 4), 3, mask="bool")
    with t.group("float attn_mask (added to the scores)"):
        _check_sdpa(t, student, (2, 4, 6), (2, 5, 6), 3, mask="float")
    with t.group("is_causal=True"):
        _check_sdpa(t, student, (2, 5, 4), (2, 5, 4), 3, is_causal=True)
    with t.group("scale=0.3"):
        _check_sdpa(t, student, (3, 4, 5), (3, 4, 5), 2, scale=0.3)


# ---------------------------------------------------------------------------- 13.MyMultiheadAttention


def _mha_by_hand(m, q, k, v, key_padding_mask=None, attn_mask=None, *, transpose_heads=True,
                 out_proj=True, scale_dim=None, invert=False, average=True):
    """Multi-head attention of a batch_first ``nn.MultiheadAttention`` ``m``, by hand, with knobs."""
    import edunn
    import edunn.nn.functional as F

    E, h = m.embed_dim, m.num_heads
    d = E // h
    w_q, w_k, w_v = m.in_proj_weight.chunk(3)
    b_q, b_k, b_v = m.in_proj_bias.chunk(3)
    Q, K, V = F.linear(q, w_q, b_q), F.linear(k, w_k, b_k), F.linear(v, w_v, b_v)
    N, L, S = q.shape[0], q.shape[1], k.shape[1]
    if transpose_heads:
        Q, K, V = (x.reshape(N, -1, h, d).transpose(1, 2) for x in (Q, K, V))
    else:
        Q, K, V = (x.reshape(N, h, -1, d) for x in (Q, K, V))
    scores = Q @ K.transpose(-2, -1) / math.sqrt(scale_dim or d)
    drop = edunn.zeros(N, 1, L, S, dtype=edunn.bool)
    if key_padding_mask is not None:
        drop = drop | key_padding_mask.reshape(N, 1, 1, S)
    if attn_mask is not None:
        drop = drop | attn_mask.reshape(1, 1, L, S)
    if invert:
        drop = drop.logical_not()
    weights = scores.masked_fill(drop, float("-inf")).softmax(-1)
    out = (weights @ V).transpose(1, 2).reshape(N, L, E)
    if out_proj:
        out = m.out_proj(out)
    return out, (weights.mean(1) if average else weights)


def _check_mha(t, student, E: int, h: int, N: int, L: int, S: int, *, self_attention: bool,
               padding: bool = False, causal: bool = False) -> None:
    import edunn
    import edunn.nn as nn

    ref = nn.MultiheadAttention(E, h, batch_first=True, dtype=edunn.float64)
    with edunn.no_grad():       # nonzero biases, so a forgotten bias shows
        ref.in_proj_bias.copy_(edunn.tensor(t.randn(3 * E).tolist(), dtype=edunn.float64) * 0.3)
        ref.out_proj.bias.copy_(edunn.tensor(t.randn(E).tolist(), dtype=edunn.float64) * 0.3)
    call = f"MyMultiheadAttention({E}, {h})"
    mine = student(E, h)
    try:
        mine.load_state_dict(ref.state_dict())
    except Exception as error:
        raise Fail(f"{call}.load_state_dict(nn.MultiheadAttention({E}, {h}).state_dict()) raised "
                   f"{type(error).__name__}: {error} (keep the parameters the class was given)") from None
    mine = mine.to(edunn.float64)
    q = _leaf(t, N, L, E)
    if self_attention:
        k = v = q
        inputs = (q,)
    else:
        k, v = _leaf(t, N, S, E), _leaf(t, N, S, E)
        inputs = (q, k, v)
    kw: dict = {}
    if padding:
        kpm = _bool_mask(t, N, S).logical_not()       # True = padding, every row keeps a key
        kw["key_padding_mask"] = kpm
    if causal:
        kw["attn_mask"] = edunn.ones(L, S, dtype=edunn.bool).triu(1)   # True = not allowed
    what = f"{call}(query {_fmt((N, L, E))}, key/value {_fmt((N, S, E))}" + \
        "".join(f", {name}=..." for name in kw) + ")"
    got = mine(q, k, v, **kw)
    if not (isinstance(got, tuple) and len(got) == 2):
        raise Fail(f"{what} returned {type(got).__name__}, expected a pair (attn_output, attn_weights) "
                   "as nn.MultiheadAttention does")
    out, weights = (_as_tensor(x, what) for x in got)
    d = {name: x.detach() for name, x in (("q", q), ("k", k), ("v", v))}
    want, want_w = ref(d["q"], d["k"], d["v"], **kw)
    if tuple(out.shape) != (N, L, E):
        raise Fail(f"attn_output of {what} has shape {_fmt(tuple(out.shape))}, expected {_fmt((N, L, E))}")
    with edunn.no_grad():
        by_hand = {flag: _mha_by_hand(ref, d["q"], d["k"], d["v"], **kw, **{flag: value})
                   for flag, value in (("transpose_heads", False), ("out_proj", False),
                                       ("scale_dim", E), ("invert", True))}
    invert_msg = ("your mask keeps where it should drop: nn.MultiheadAttention's boolean key_padding_mask "
                  "and attn_mask are True where attention is NOT allowed (the opposite of "
                  "scaled_dot_product_attention's attn_mask)")
    mistakes = {
        "the heads are split wrongly: reshape (N, L, E) to (N, L, num_heads, head_dim) and THEN transpose "
        "to (N, num_heads, L, head_dim); a plain reshape to (N, num_heads, L, head_dim) mixes positions":
            by_hand["transpose_heads"][0].tolist(),
        "you forgot the output projection: out_proj(concatenated heads)": by_hand["out_proj"][0].tolist(),
    }
    if h > 1:
        mistakes["each head scales by 1/sqrt(head_dim), head_dim = embed_dim // num_heads, not by "
                 "1/sqrt(embed_dim)"] = by_hand["scale_dim"][0].tolist()
    if kw:
        mistakes[invert_msg] = by_hand["invert"][0].tolist()
    t.close(out, want, f"attn_output of {what}", mistakes=mistakes)
    if tuple(weights.shape) == (N, h, L, S) and h > 1:
        raise Fail(f"attn_weights of {what} has shape {_fmt((N, h, L, S))}: nn.MultiheadAttention "
                   f"averages the weights over the heads by default, giving {_fmt((N, L, S))}")
    t.close(weights, want_w, f"attn_weights of {what}",
            mistakes={invert_msg: by_hand["invert"][1].tolist()} if kw else None)
    g = edunn.tensor(t.randn(N, L, E).tolist(), dtype=edunn.float64)
    params = [mine.in_proj_weight, mine.in_proj_bias, mine.out_proj.weight]
    for p in params:
        p.grad = None
    got_grads = _grads(out, g, inputs)          # one backward: the parameters' grads arrive too
    got_grads += tuple(p.grad for p in params)
    ref_inputs = tuple(x.detach().requires_grad_() for x in inputs)
    rq = ref_inputs[0]
    rk, rv = (rq, rq) if self_attention else ref_inputs[1:]
    ref_out, _ = ref(rq, rk, rv, **kw)
    rparams = [ref.in_proj_weight, ref.in_proj_bias, ref.out_proj.weight]
    for p in rparams:
        p.grad = None
    want_grads = _grads(ref_out, g, ref_inputs) + tuple(p.grad for p in rparams)
    names = (("query",) if self_attention else ("query", "key", "value")) + \
        ("in_proj_weight", "in_proj_bias", "out_proj.weight")
    for name, got_g, want_g in zip(names, got_grads, want_grads):
        if got_g is None:
            raise Fail(f"no gradient reached {name}: compute the output from it with tensor ops")
        t.close(got_g, want_g, f"the gradient of {name}")


@exercise("13.MyMultiheadAttention", points=5, reference=BatchFirstMultiheadAttention,
          title="multi-head attention with a packed input projection (batch_first)")
def grade_mha(student, t):
    with t.group("self-attention, embed_dim=8, num_heads=2"):
        _check_mha(t, student, 8, 2, N=2, L=5, S=5, self_attention=True)
    with t.group("one head, embed_dim=6"):
        _check_mha(t, student, 6, 1, N=3, L=4, S=4, self_attention=True)
    with t.group("cross-attention, L=3 queries, S=6 keys, num_heads=4"):
        _check_mha(t, student, 12, 4, N=2, L=3, S=6, self_attention=False)
    with t.group("key_padding_mask (True = padding, ignored)"):
        _check_mha(t, student, 8, 2, N=3, L=5, S=5, self_attention=True, padding=True)
    with t.group("causal attn_mask (True = not allowed)"):
        _check_mha(t, student, 8, 4, N=2, L=6, S=6, self_attention=True, causal=True)


# ---------------------------------------------------------------------------- 13.sinusoidal_encoding


@exercise("13.sinusoidal_encoding", points=2, reference=sinusoidal_encoding,
          title="the sinusoidal positional encoding")
def grade_sinusoidal(student, t):
    import edunn

    for max_len, d_model in ((6, 4), (50, 16), (9, 2)):
        with t.group(f"sinusoidal_encoding({max_len}, {d_model})"):
            call = f"sinusoidal_encoding({max_len}, {d_model})"
            pe = _as_tensor(student(max_len, d_model), call)
            if tuple(pe.shape) != (max_len, d_model):
                raise Fail(f"{call} has shape {_fmt(tuple(pe.shape))}, expected {_fmt((max_len, d_model))} "
                           "(one row per position)")
            want = sinusoidal_encoding(max_len, d_model)
            pos = edunn.arange(max_len, dtype=edunn.float32).unsqueeze(1)
            i = edunn.arange(0, d_model, 2, dtype=edunn.float32)
            angle = pos / 10000.0 ** (i / d_model)
            half = pos / 10000.0 ** (edunn.arange(d_model // 2, dtype=edunn.float32) / d_model)
            wrong_exp = edunn.zeros(max_len, d_model)
            wrong_exp[:, 0::2], wrong_exp[:, 1::2] = half.sin(), half.cos()
            t.close(pe.to(edunn.float32), want, call, rtol=1e-4, atol=1e-5, mistakes={
                "interleave them: even columns 2i are sines, odd columns 2i+1 cosines (you put all the "
                "sines first, then all the cosines)": edunn.cat([angle.sin(), angle.cos()], 1).tolist(),
                "the sine and the cosine are swapped: PE[pos, 2i] = sin, PE[pos, 2i+1] = cos":
                    edunn.stack([angle.cos(), angle.sin()], 2).reshape(max_len, d_model).tolist(),
                "the exponent is 2i/d_model, with 2i the even column index (you used i/d_model)":
                    wrong_exp.tolist(),
            })
