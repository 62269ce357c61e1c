"""``edunn.nn.attention`` against ``torch.nn.attention`` (lesson 13): the causal biases as
``attn_mask`` of scaled_dot_product_attention, ``sdpa_kernel`` and PyTorch's CPU backend
selection (outcomes, errors and warnings compared case by case), the flash-attention registry,
and ``flex_attention`` -- forward and log-sum-exp against torch's own flex_attention on the CPU,
gradients against the same computation written with torch ops (torch's CPU flex_attention has no
backward) and against finite differences, BlockMask fields against ``create_block_mask(...,
device="cpu")``.
"""
from __future__ import annotations

import logging
import re
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
import edunn.nn.attention as A
from edunn.nn.attention import bias as EB
from edunn.nn.attention import flex_attention as EF
from opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson13, needs_torch]

if torch is not None:
    import torch.nn.attention as TA
    import torch.nn.attention.bias as TB
    import torch.nn.attention.flex_attention as TF
    TF._WARNINGS_SHOWN.add("flex_attention_performance")   # torch's "use torch.compile" note


def _np(t):
    return t.detach().numpy() if isinstance(t, torch.Tensor) else np.array(t.detach().cpu().numpy())


def _pair(*shapes, seed=0, dtype=np.float32, grad=False):
    rng = np.random.default_rng(seed)
    arrays = [np.asarray(rng.standard_normal(s), dtype) for s in shapes]
    return ([edunn.tensor(a, requires_grad=grad) for a in arrays],
            [torch.tensor(a, requires_grad=grad) for a in arrays])


# ------------------------------------------------------------------------- causal biases
@pytest.mark.parametrize("factory", ["causal_upper_left", "causal_lower_right"])
@pytest.mark.parametrize("L,S", [(5, 5), (3, 7), (1, 4)])
def test_causal_bias_in_sdpa_matches_torch(factory, L, S):
    (eq, ek, ev), (tq, tk, tv) = _pair((2, 3, L, 8), (2, 3, S, 8), (2, 3, S, 6), grad=True)
    eo = F.scaled_dot_product_attention(eq, ek, ev, getattr(EB, factory)(L, S))
    to = torch.nn.functional.scaled_dot_product_attention(tq, tk, tv, getattr(TB, factory)(L, S))
    np.testing.assert_allclose(_np(eo), _np(to), rtol=1e-5, atol=1e-6)
    g = np.random.default_rng(9).standard_normal(eo.shape).astype(np.float32)
    eo.backward(edunn.tensor(g))
    to.backward(torch.tensor(g))
    for e, t in ((eq, tq), (ek, tk), (ev, tv)):
        np.testing.assert_allclose(_np(e.grad), _np(t.grad), rtol=1e-4, atol=1e-5)


def test_causal_bias_materialize_repr_and_errors():
    for name in ("causal_upper_left", "causal_lower_right"):
        e, t = getattr(EB, name)(3, 5), getattr(TB, name)(3, 5)
        assert e.variant == t.variant and int(e.variant) == int(t.variant)
        np.testing.assert_array_equal(_np(e._materialize()), _np(t._materialize()))
        assert repr(e) == repr(t)
        with pytest.raises(AssertionError, match=f"{name} only supports 2D tensors"):
            getattr(EB, name)(2, 3, 4)
    assert [(v.name, v.value) for v in EB.CausalVariant] == [(v.name, v.value) for v in TB.CausalVariant]
    with pytest.raises(AssertionError, match="variant must be a CausalVariant, got int"):
        EB.CausalBias(1, 2, 2)
    with pytest.warns(UserWarning, match="Lower right causal bias will produce NaNs"):
        EB.causal_lower_right(4, 2)
    (q,), _ = _pair((1, 1, 3, 4))
    with pytest.raises(ValueError, match="CausalBias should not be used with causal=True"):
        F.scaled_dot_product_attention(q, q, q, EB.causal_lower_right(3, 3), is_causal=True)


def test_unfused_kernel_warnings_flag():
    (q, k), _ = _pair((1, 2, 3, 4), (1, 2, 5, 4))
    bias = EB.causal_lower_right(3, 5)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        F.scaled_dot_product_attention(q, k, k, bias)      # flag off: silent
    A.WARN_FOR_UNFUSED_KERNELS = True
    try:
        with pytest.warns(UserWarning) as rec:
            F.scaled_dot_product_attention(q, k, k, bias)
    finally:
        A.WARN_FOR_UNFUSED_KERNELS = False
    msgs = [str(w.message) for w in rec]
    assert "Efficient attention can't be used because:" in msgs
    assert "Flash attention can't be used because:" in msgs


# ------------------------------------------------------------------------- sdpa_kernel
def test_sdp_backend_enum_matches_torch():
    ours = [(b.name, int(b)) for b in A.SDPBackend]
    theirs = [(n, int(v)) for n, v in TA.SDPBackend.__members__.items()]
    assert ours == theirs
    assert str(A.SDPBackend.MATH) == str(TA.SDPBackend.MATH)
    assert repr(A.SDPBackend.FLASH_ATTENTION) == repr(TA.SDPBackend.FLASH_ATTENTION)


def _strip(msg: str) -> str:
    return re.sub(r" \(Triggered internally at .*\)$", "", msg)


def _outcome(lib, backends, make_inputs, **kw):
    """(error type and message or "ok", the warnings) of one sdpa call under sdpa_kernel."""
    mod = torch if lib == "torch" else edunn
    args = make_inputs(mod)
    sdpa = torch.nn.functional.scaled_dot_product_attention if lib == "torch" else F.scaled_dot_product_attention
    kernel = TA.sdpa_kernel if lib == "torch" else A.sdpa_kernel
    SB = TA.SDPBackend if lib == "torch" else A.SDPBackend
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        try:
            with kernel([getattr(SB, b) for b in backends]):
                sdpa(*args, **kw)
            result = "ok"
        except RuntimeError as e:
            result = f"{type(e).__name__}: {e}"
    return result, [_strip(str(w.message)) for w in rec]


def _inputs(*shapes, dtype="float32", transpose_q=False):
    def make(mod):
        rng = np.random.default_rng(0)
        out = []
        for s in shapes:
            if s is None:
                out.append(None)
                continue
            t = mod.tensor(np.asarray(rng.standard_normal(s), np.float32)).to(getattr(mod, dtype))
            out.append(t)
        if transpose_q:
            out[0] = out[0].transpose(-1, -2).contiguous().transpose(-1, -2)
        return out
    return make


SDPA_CASES = [
    ("4d", _inputs((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8)), {}),
    ("3d", _inputs((3, 4, 8), (3, 6, 8), (3, 6, 8)), {}),
    ("dropout", _inputs((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8)), {"dropout_p": 0.2}),
    ("causal", _inputs((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8)), {"is_causal": True}),
    ("value head size", _inputs((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 5)), {}),
    ("batch broadcast", _inputs((2, 3, 4, 8), (1, 3, 6, 8), (1, 3, 6, 8)), {}),
    ("heads differ", _inputs((2, 3, 4, 8), (2, 1, 6, 8), (2, 1, 6, 8)), {}),
    ("gqa", _inputs((2, 4, 4, 8), (2, 2, 6, 8), (2, 2, 6, 8)), {"enable_gqa": True}),
    ("gqa k/v heads differ", _inputs((2, 4, 4, 8), (2, 2, 6, 8), (2, 4, 6, 8)), {"enable_gqa": True}),
    ("mask 2d", _inputs((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), (4, 6)), {}),
    ("mask 3d", _inputs((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), (3, 4, 6)), {}),
    ("mask 4d", _inputs((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), (2, 1, 4, 6)), {}),
    ("float64", _inputs((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), dtype="float64"), {}),
    ("last-dim stride", _inputs((2, 3, 4, 8), (2, 3, 6, 8), (2, 3, 6, 8), transpose_q=True), {}),
]
BACKEND_SETS = [["MATH"], ["FLASH_ATTENTION"], ["EFFICIENT_ATTENTION", "CUDNN_ATTENTION"], [],
                ["OVERRIDEABLE", "MATH"]]


@pytest.mark.parametrize("backends", BACKEND_SETS, ids=lambda b: "+".join(b) or "none")
@pytest.mark.parametrize("name,make,kw", SDPA_CASES, ids=[c[0] for c in SDPA_CASES])
def test_sdpa_kernel_outcome_matches_torch_cpu(name, make, kw, backends):
    ours = _outcome("edunn", backends, make, **kw)
    theirs = _outcome("torch", backends, make, **kw)
    assert ours == theirs


def test_sdpa_kernel_restores_state_and_priority():
    before = A._cur_sdpa_kernel_backends()
    order, torch_order = list(A._priority), torch._C._get_sdp_priority_order()
    assert order == torch_order
    try:
        for lib, mod in (("edunn", A), ("torch", TA)):
            SB = mod.SDPBackend
            with mod.sdpa_kernel(SB.MATH) as ctx:
                assert ctx == {}
                with mod.sdpa_kernel([SB.CUDNN_ATTENTION, SB.MATH], set_priority=True):
                    inner = (A._priority if lib == "edunn" else torch._C._get_sdp_priority_order())[:]
                    assert inner[:2] == [3, 0]
                assert [int(b) for b in mod._cur_sdpa_kernel_backends()] == [0]
                # leaving a set_priority block re-applies the outer backends as the priority
            after = (A._priority if lib == "edunn" else torch._C._get_sdp_priority_order())[:]
            if lib == "edunn":
                ours = after
            else:
                assert ours == after
    finally:
        A._priority[:] = order
        torch._C._set_sdp_priority_order(torch_order)
    with pytest.raises(KeyError):
        with A.sdpa_kernel([A.SDPBackend.MATH, A.SDPBackend.MATH]):   # duplicates are dropped
            assert A._cur_sdpa_kernel_backends() == [A.SDPBackend.MATH]
            raise KeyError("inside")
    assert A._cur_sdpa_kernel_backends() == before
    for bad in ("math", (A.SDPBackend.MATH,)):
        with pytest.raises(AssertionError) as ours:
            with A.sdpa_kernel(bad):
                pass
        with pytest.raises(AssertionError) as theirs:
            with TA.sdpa_kernel(bad if isinstance(bad, str) else (TA.SDPBackend.MATH,)):
                pass
        assert str(ours.value) == str(theirs.value)


def test_math_backend_values_are_unchanged_by_sdpa_kernel():
    (q, k), _ = _pair((2, 2, 3, 4), (2, 2, 5, 4))
    ref = F.scaled_dot_product_attention(q, k, k)
    for backend in (A.SDPBackend.MATH, A.SDPBackend.FLASH_ATTENTION):
        with A.sdpa_kernel(backend):
            np.testing.assert_array_equal(_np(F.scaled_dot_product_attention(q, k, k)), _np(ref))


def test_sdpa_params_and_can_use_kernels():
    (q,), (tq,) = _pair((1, 2, 3, 4))
    p = A.SDPAParams(q, q, q, None, 0.0, True, False)
    tp = TA.SDPAParams(tq, tq, tq, None, 0.0, True, False)
    for attr in ("dropout", "is_causal", "enable_gqa", "attn_mask"):
        assert getattr(p, attr) == getattr(tp, attr)
    assert p.query is q and p.key is q and p.value is q
    assert A.can_use_flash_attention(p) is False and TA.can_use_flash_attention(tp) is False
    assert A.can_use_efficient_attention(p) is False and TA.can_use_efficient_attention(tp) is False
    with pytest.warns(UserWarning, match="Flash attention can't be used"):
        A.can_use_flash_attention(p, debug=True)
    with pytest.warns(UserWarning, match="Memory efficient attention can't be used"):
        A.can_use_efficient_attention(p, True)
    with pytest.raises(TypeError):
        A.SDPAParams(q, q, q)


def test_flash_attention_impl_registry(caplog):
    assert A.current_flash_attention_impl() is None
    assert set(A.__all__) == set(TA.__all__)
    calls = []

    class Handle:
        def remove(self):
            calls.append("removed")

    A.register_flash_attention_impl("Mine", register_fn=lambda: calls.append("registered") or Handle())
    try:
        assert "Mine" in A.list_flash_attention_impls()
        A.activate_flash_attention_impl("Mine")
        assert A.current_flash_attention_impl() == "Mine" and calls == ["registered"]
        A.activate_flash_attention_impl("Mine")   # re-activating restores first
        assert calls == ["registered", "removed", "registered"]
        A.restore_flash_attention_impl()
        assert A.current_flash_attention_impl() is None and calls[-1] == "removed"
        with caplog.at_level(logging.WARNING):
            A.restore_flash_attention_impl()
        assert "no custom impl was activated" in caplog.text
        with pytest.raises(ValueError, match=r"Unknown flash attention impl 'FA9'. Available "
                                             r"implementations: \[.*'Mine'.*\]"):
            A.activate_flash_attention_impl("FA9")
    finally:
        A._FLASH_ATTENTION_IMPLS.pop("Mine", None)


# ------------------------------------------------------------------------- flex_attention
def _mods(lib, H, L, S, seed=3, grad=False):
    """score_mods and mask_mods written once, with tensors captured from ``lib``."""
    mod = torch if lib == "torch" else edunn
    rng = np.random.default_rng(seed)
    rel = mod.tensor(np.asarray(rng.standard_normal((H, L + S)), np.float32), requires_grad=grad)
    slopes = mod.tensor(np.asarray(2.0 ** -np.arange(1, H + 1), np.float32))
    doc = mod.tensor(np.repeat(np.arange(4), -(-max(L, S) // 4))[:max(L, S)])

    score_mods = {
        "relative_bias": lambda s, b, h, q, kv: s + rel[h, q - kv + S],
        "alibi": lambda s, b, h, q, kv: s + slopes[h] * (kv - q),
        "softcap": lambda s, b, h, q, kv: (s / 5.0).tanh() * 5.0,
        "identity": None,
    }
    mask_mods = {
        "causal": lambda b, h, q, kv: q >= kv,
        "sliding_window": lambda b, h, q, kv: (q - kv).abs() <= 3,
        "document": lambda b, h, q, kv: doc[q] == doc[kv],
        "doc_causal": (TF if lib == "torch" else EF).and_masks(
            lambda b, h, q, kv: q >= kv, lambda b, h, q, kv: doc[q] == doc[kv]),
        "prefix_or_causal": (TF if lib == "torch" else EF).or_masks(
            lambda b, h, q, kv: kv < 2, lambda b, h, q, kv: q >= kv),
        "none": None,
    }
    return score_mods, mask_mods, rel


FLEX_COMBOS = [("relative_bias", "causal"), ("alibi", "sliding_window"), ("softcap", "document"),
               ("identity", "doc_causal"), ("softcap", "prefix_or_causal"), ("alibi", "none"),
               ("relative_bias", "none")]


@pytest.mark.parametrize("score_name,mask_name", FLEX_COMBOS)
@pytest.mark.parametrize("L,S,block", [(37, 37, 16), (20, 45, (8, 16))])
def test_flex_attention_forward_matches_torch(score_name, mask_name, L, S, block):
    B, H, E = 2, 3, 8
    (eq, ek, ev), (tq, tk, tv) = _pair((B, H, L, E), (B, H, S, E), (B, H, S, E))
    es, em, _ = _mods("edunn", H, L, S)
    ts, tm, _ = _mods("torch", H, L, S)
    ebm = tbm = None
    if tm[mask_name] is not None:
        tbm = TF.create_block_mask(tm[mask_name], B, None, L, S, device="cpu", BLOCK_SIZE=block)
        ebm = EF.create_block_mask(em[mask_name], B, None, L, S, device="cpu", BLOCK_SIZE=block)
    to, taux = TF.flex_attention(tq, tk, tv, score_mod=ts[score_name], block_mask=tbm,
                                 return_aux=TF.AuxRequest(lse=True))
    eo, eaux = EF.flex_attention(eq, ek, ev, score_mod=es[score_name], block_mask=ebm,
                                 return_aux=EF.AuxRequest(lse=True, max_scores=True))
    np.testing.assert_allclose(_np(eo), _np(to), rtol=1e-5, atol=2e-6)
    np.testing.assert_allclose(_np(eaux.lse), _np(taux.lse), rtol=1e-5, atol=2e-6)
    # torch's CPU path cannot return max_scores: the maximum of the same scores in torch ops
    t_scores = _torch_reference(tq, tk, tv, ts[score_name], tm[mask_name], scores_only=True)
    np.testing.assert_allclose(_np(eaux.max_scores), _np(t_scores.amax(-1)), rtol=1e-5, atol=2e-6)
    assert eo.dtype == edunn.float32 and eaux.lse.shape == (B, H, L)


def test_flex_attention_gqa_scale_lse_and_float64():
    B, Hq, Hkv, L, S, E = 1, 4, 2, 9, 11, 4
    (eq, ek, ev), (tq, tk, tv) = _pair((B, Hq, L, E), (B, Hkv, S, E), (B, Hkv, S, 3), dtype=np.float64)
    em = EF.create_block_mask(lambda b, h, q, kv: (kv <= q + 2) & (h != 1) | (kv == 0), None, Hq, L, S,
                              device="cpu", BLOCK_SIZE=4)
    tm = TF.create_block_mask(lambda b, h, q, kv: (kv <= q + 2) & (h != 1) | (kv == 0), None, Hq, L, S,
                              device="cpu", BLOCK_SIZE=4)
    with pytest.warns(FutureWarning, match="return_lse is deprecated"):
        eo, el = EF.flex_attention(eq, ek, ev, block_mask=em, scale=0.7, enable_gqa=True, return_lse=True)
    to, tl = TF.flex_attention(tq, tk, tv, block_mask=tm, scale=0.7, enable_gqa=True, return_lse=True)
    assert eo.dtype == edunn.float64 and el.dtype == edunn.float64
    np.testing.assert_allclose(_np(eo), _np(to), rtol=1e-10, atol=1e-12)
    np.testing.assert_allclose(_np(el), _np(tl), rtol=1e-10, atol=1e-12)
    e_aux = EF.flex_attention(eq, ek, ev, block_mask=em, enable_gqa=True, return_aux=EF.AuxRequest())[1]
    assert e_aux == EF.AuxOutput(None, None)


def test_flex_attention_fully_masked_rows():
    (q,), (tq,) = _pair((1, 1, 6, 4))
    def mm(b, h, qi, kv):
        return (qi >= kv) & (qi != 2)
    eo, el = EF.flex_attention(q, q, q, block_mask=EF.create_block_mask(mm, 1, 1, 6, 6, "cpu", 4),
                               return_aux=EF.AuxRequest(lse=True))
    to, tl = TF.flex_attention(tq, tq, tq, block_mask=TF.create_block_mask(mm, 1, 1, 6, 6, "cpu", 4),
                               return_aux=TF.AuxRequest(lse=True))
    np.testing.assert_allclose(_np(eo), _np(to), rtol=1e-5, atol=1e-6)
    el, tl = el.lse, tl.lse
    np.testing.assert_array_equal(_np(el)[0, 0, 2], -np.inf)
    np.testing.assert_allclose(_np(el), _np(tl), rtol=1e-5, atol=1e-6)


def _torch_reference(tq, tk, tv, score_mod, mask_mod, scale=None, scores_only=False):
    """The same function written with plain torch ops (differentiable on the CPU)."""
    B, H, L, E = tq.shape
    S = tk.shape[-2]
    scale = 1 / E ** 0.5 if scale is None else scale
    b = torch.arange(B).view(B, 1, 1, 1)
    h = torch.arange(H).view(1, H, 1, 1)
    q = torch.arange(L).view(1, 1, L, 1)
    kv = torch.arange(S).view(1, 1, 1, S)
    s = tq @ tk.transpose(-2, -1) * scale
    if score_mod is not None:
        s = score_mod(s, b, h, q, kv)
    if mask_mod is not None:
        s = s.masked_fill(~mask_mod(b, h, q, kv).expand(B, H, L, S), float("-inf"))
    return s if scores_only else torch.softmax(s, -1) @ tv


@pytest.mark.parametrize("score_name,mask_name", FLEX_COMBOS[:5])
def test_flex_attention_gradients_match_torch(score_name, mask_name):
    B, H, L, S, E = 2, 2, 13, 13, 4
    (eq, ek, ev), (tq, tk, tv) = _pair((B, H, L, E), (B, H, S, E), (B, H, S, E), grad=True)
    es, em, erel = _mods("edunn", H, L, S, grad=True)
    ts, tm, trel = _mods("torch", H, L, S, grad=True)
    ebm = EF.create_block_mask(em[mask_name], B, H, L, S, device="cpu", BLOCK_SIZE=4)
    eo = EF.flex_attention(eq, ek, ev, score_mod=es[score_name], block_mask=ebm)
    to = _torch_reference(tq, tk, tv, ts[score_name], tm[mask_name])
    np.testing.assert_allclose(_np(eo), _np(to), rtol=1e-5, atol=2e-6)
    g = np.random.default_rng(5).standard_normal(eo.shape).astype(np.float32)
    eo.backward(edunn.tensor(g))
    to.backward(torch.tensor(g))
    pairs = [(eq, tq), (ek, tk), (ev, tv)] + ([(erel, trel)] if score_name == "relative_bias" else [])
    for e, t in pairs:
        np.testing.assert_allclose(_np(e.grad), _np(t.grad), rtol=1e-4, atol=1e-5)


def test_flex_attention_gradcheck_learned_bias():
    rng = np.random.default_rng(0)
    q, k, v = (edunn.tensor(rng.standard_normal((1, 2, 5, 3)), requires_grad=True) for _ in range(3))
    rel = edunn.tensor(rng.standard_normal((2, 10)), requires_grad=True)
    bm = EF.create_block_mask(lambda b, h, qi, kv: qi >= kv, 1, 2, 5, 5, device="cpu", BLOCK_SIZE=2)

    def f(q, k, v, rel):
        return EF.flex_attention(q, k, v, score_mod=lambda s, b, h, qi, kv: (s + rel[h, qi - kv + 5]).tanh(),
                                 block_mask=bm)
    assert edunn.autograd.gradcheck(f, (q, k, v, rel), eps=1e-6, atol=1e-5)


# ------------------------------------------------------------------------- BlockMask
FIELDS = ["kv_num_blocks", "kv_indices", "full_kv_num_blocks", "full_kv_indices", "q_num_blocks",
          "q_indices", "full_q_num_blocks", "full_q_indices"]


def _assert_block_masks_equal(e, t):
    for f in FIELDS:
        ev, tv = getattr(e, f), getattr(t, f)
        if tv is None:
            assert ev is None, f
            continue
        assert str(ev.dtype).split(".")[-1] == str(tv.dtype).split(".")[-1], f
        np.testing.assert_array_equal(_np(ev), _np(tv), err_msg=f)
    assert e.shape == t.shape and tuple(e.BLOCK_SIZE) == tuple(t.BLOCK_SIZE)
    assert e.seq_lengths == t.seq_lengths
    assert e.sparsity() == pytest.approx(t.sparsity())
    np.testing.assert_array_equal(_np(e.to_dense()), _np(t.to_dense()))
    assert str(e) == str(t)
    assert repr(e) == repr(t).replace("torch.Size", "edunn.Size")


@pytest.mark.parametrize("mask_name", ["causal", "sliding_window", "document", "doc_causal"])
@pytest.mark.parametrize("B,H,L,S,block,separate", [(2, 3, 200, 300, 128, True),
                                                    (None, None, 33, 70, (8, 16), True),
                                                    (1, 2, 50, 50, 16, False)])
def test_create_block_mask_matches_torch(mask_name, B, H, L, S, block, separate):
    _, em, _ = _mods("edunn", H or 1, L, S)
    _, tm, _ = _mods("torch", H or 1, L, S)
    e = EF.create_block_mask(em[mask_name], B, H, L, S, device="cpu", BLOCK_SIZE=block,
                             separate_full_blocks=separate)
    t = TF.create_block_mask(tm[mask_name], B, H, L, S, device="cpu", BLOCK_SIZE=block,
                             separate_full_blocks=separate)
    _assert_block_masks_equal(e, t)
    assert e.mask_mod is em[mask_name]
    np.testing.assert_array_equal(_np(EF.create_mask(em[mask_name], B, H, L, S, "cpu")),
                                  _np(TF.create_mask(tm[mask_name], B, H, L, S, "cpu")))


def test_block_mask_methods_match_torch():
    def mm(b, h, q, kv):
        return (q >= kv) | (h == 1)
    e = EF.create_block_mask(mm, 2, 3, 64, 96, device="cpu", BLOCK_SIZE=16)
    t = TF.create_block_mask(mm, 2, 3, 64, 96, device="cpu", BLOCK_SIZE=16)
    for idx in (0, (1, 2), (slice(0, 2), slice(1, 2)), -1, (0, 1, slice(1, 3))):
        _assert_block_masks_equal(e[idx], t[idx])
    _assert_block_masks_equal(e._adjust(40, 50), t._adjust(40, 50))
    assert e.to_string(grid_size=-1, limit=2) == t.to_string(grid_size=-1, limit=2)
    assert e.to_string(grid_size=3) == t.to_string(grid_size=3)
    assert e.numel() == t.numel()
    et, tt = e.as_tuple(), t.as_tuple()
    assert len(et) == len(tt) and et[:2] == tt[:2] and et[-3:-1] == tt[-3:-1]
    assert len(e.as_tuple(flatten=False)) == len(t.as_tuple(flatten=False))
    _assert_block_masks_equal(e.to("cpu"), t.to("cpu"))
    ef = EF.BlockMask.from_kv_blocks(edunn.tensor(_np(t.kv_num_blocks)), edunn.tensor(_np(t.kv_indices)),
                                     BLOCK_SIZE=16)
    tf = TF.BlockMask.from_kv_blocks(t.kv_num_blocks, t.kv_indices, BLOCK_SIZE=16)
    _assert_block_masks_equal(ef, tf)
    with pytest.raises(RuntimeError, match="Cannot use mask_mod from a sliced BlockMask"):
        EF.flex_attention(*(edunn.zeros(1, 3, 64, 4) for _ in range(3)), block_mask=e[0:1])


def test_from_kv_blocks_respects_the_tiles():
    """A BlockMask built from tiles (mask_mod = noop) masks whole tiles, as PyTorch's kernel."""
    (q, k, v), _ = _pair((1, 1, 8, 4), (1, 1, 8, 4), (1, 1, 8, 4))
    num = edunn.tensor([[[1, 2]]], dtype=edunn.int32)
    idx = edunn.tensor([[[0, 1], [1, 0]]], dtype=edunn.int32)
    bm = EF.BlockMask.from_kv_blocks(num, idx, BLOCK_SIZE=4)
    dense = np.zeros((8, 8), bool)
    dense[:4, :4] = True
    dense[4:, :] = True
    ref = F.scaled_dot_product_attention(q, k, v, attn_mask=edunn.tensor(dense))
    np.testing.assert_allclose(_np(EF.flex_attention(q, k, v, block_mask=bm)), _np(ref), rtol=1e-6, atol=1e-7)


def test_mask_helpers():
    b = edunn.arange(2).view(2, 1, 1, 1)
    assert EF.noop_mask(b, b, b, b).dtype == edunn.bool and EF.noop_mask(b, b, b, b).dim() == 0
    for fn in (EF.and_masks, EF.or_masks):
        with pytest.raises(RuntimeError, match="All inputs should be callable mask_mods"):
            fn(1)
    with pytest.raises(AssertionError, match="Expected 4 or 5 positional args, got 3"):
        EF.create_mask(lambda a, b, c: a, 1, 1, 2, 2, "cpu")
    score_mask = EF.create_mask(lambda s, b, h, q, kv: s.masked_fill(q < kv, float("-inf")), 1, 1, 3, 3, "cpu")
    t_mask = TF.create_mask(lambda s, b, h, q, kv: torch.where(q < kv, float("-inf"), s), 1, 1, 3, 3, "cpu")
    np.testing.assert_array_equal(_np(score_mask), _np(t_mask))


# ------------------------------------------------------------------------- flex errors
def _same_flex_error(make_args, **kw):
    with pytest.raises(Exception) as theirs:
        TF.flex_attention(*make_args(torch), **kw.get("t", {}))
    with pytest.raises(type(theirs.value)) as ours:
        EF.flex_attention(*make_args(edunn), **kw.get("e", {}))
    assert str(ours.value).replace("edunn.", "torch.") == str(theirs.value)


def _qkv(qs, ks, vs=None):
    return lambda mod: (mod.zeros(*qs), mod.zeros(*ks), mod.zeros(*(vs or ks)))


@pytest.mark.parametrize("qs,ks,vs,kw", [
    ((1, 2, 4, 8), (1, 3, 4, 8), None, {}),
    ((1, 6, 4, 8), (1, 4, 4, 8), None, {"enable_gqa": True}),
    ((2, 4, 8), (2, 4, 8), None, {}),
    ((1, 2, 4, 8), (1, 2, 4, 6), None, {}),
    ((2, 2, 4, 8), (1, 2, 4, 8), None, {}),
])
def test_flex_attention_input_errors_match_torch(qs, ks, vs, kw):
    _same_flex_error(_qkv(qs, ks, vs), t=kw, e=kw)


def test_flex_attention_block_mask_and_option_errors_match_torch():
    def mm(b, h, q, kv):
        return q >= kv
    for L in (32, 128):   # mask made for 64: too short, too long
        tbm = TF.create_block_mask(mm, 1, 1, 64, 64, device="cpu", BLOCK_SIZE=16)
        ebm = EF.create_block_mask(mm, 1, 1, 64, 64, device="cpu", BLOCK_SIZE=16)
        _same_flex_error(_qkv((1, 1, L, 4), (1, 1, L, 4)), t={"block_mask": tbm}, e={"block_mask": ebm})
    both = {"return_lse": True, "return_aux": None}
    _same_flex_error(_qkv((1, 1, 4, 4), (1, 1, 4, 4)),
                     t=dict(both, return_aux=TF.AuxRequest(lse=True)),
                     e=dict(both, return_aux=EF.AuxRequest(lse=True)))
    with pytest.raises(AssertionError) as theirs:
        TF.create_block_mask(lambda s, b, h, q, kv: s, 1, 1, 4, 4, device="cpu")
    with pytest.raises(AssertionError, match="create-block_mask requires a mask_mod function!"):
        EF.create_block_mask(lambda s, b, h, q, kv: s, 1, 1, 4, 4, device="cpu")
    assert "create-block_mask requires a mask_mod function!" in str(theirs.value)
    with pytest.raises(ValueError, match="dq_kv_order must be a bool when using create_block_mask"):
        EF.create_block_mask(mm, 1, 1, 4, 4, device="cpu", dq_kv_order=None)
    with pytest.raises(RuntimeError, match="BlockMask must have at least 2 dimensions"):
        EF.BlockMask.from_kv_blocks(edunn.ones(1, dtype=edunn.int32), edunn.zeros(1, dtype=edunn.int32))


def test_flex_attention_on_device(device):
    """flex_attention and its BlockMask on every device (CuPy on a GPU) against torch's CPU."""
    B, H, L, S, E = 1, 2, 24, 24, 4
    (eq, ek, ev), (tq, tk, tv) = _pair((B, H, L, E), (B, H, S, E), (B, H, S, E))
    eq, ek, ev = (t.to(device) for t in (eq, ek, ev))

    def mm(b, h, q, kv):
        return (q >= kv) & ((q - kv) < 9)
    ebm = EF.create_block_mask(mm, B, H, L, S, device=device, BLOCK_SIZE=8)
    tbm = TF.create_block_mask(mm, B, H, L, S, device="cpu", BLOCK_SIZE=8)
    assert ebm.kv_indices.device == eq.device
    np.testing.assert_array_equal(_np(ebm.kv_indices), _np(tbm.kv_indices))
    eo = EF.flex_attention(eq, ek, ev, score_mod=lambda s, b, h, q, kv: (s / 3).tanh() * 3, block_mask=ebm)
    to = TF.flex_attention(tq, tk, tv, score_mod=lambda s, b, h, q, kv: (s / 3).tanh() * 3, block_mask=tbm)
    np.testing.assert_allclose(_np(eo), _np(to), rtol=1e-5, atol=2e-6)
