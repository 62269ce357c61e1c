"""Scaled dot-product attention and MultiheadAttention (lesson 13) against PyTorch CPU with the
same weights (torch's state_dict loaded into edunn): outputs, attention weights, input and
parameter gradients over masks of each kind, causal attention, scale, GQA, kdim/vdim, bias,
add_bias_kv, add_zero_attn, batch_first, unbatched inputs; gradcheck in float64; PyTorch's
errors; reprs."""
import itertools
import math

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.lesson13

ATOL, RTOL = 2e-5, 2e-4


def randn(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def close(a, b, what=""):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy() if hasattr(b, "detach") else np.asarray(b)
    assert a.shape == b.shape, f"{what}: {a.shape} vs {b.shape}"
    np.testing.assert_allclose(a, b, atol=ATOL, rtol=RTOL, err_msg=what)


def pair(x, grad=True):
    """The same array as an edunn and a torch tensor (None stays None)."""
    if x is None:
        return None, None
    if x.dtype == np.bool_:
        return edunn.tensor(x), torch.tensor(x)
    return edunn.tensor(x, requires_grad=grad), torch.tensor(x, requires_grad=grad)


def backward_both(ya, yb, seed=5):
    g = randn(tuple(yb.shape), seed)
    ya.backward(edunn.tensor(g))
    yb.backward(torch.tensor(g))


# ----------------------------------------------------------------------------- SDPA

def sdpa_case(qs, ks, vs, mask=None, **kw):
    (qa, qb), (ka, kb), (va, vb) = pair(randn(qs, 1)), pair(randn(ks, 2)), pair(randn(vs, 3))
    ma, mb = pair(mask, grad=False)
    ya = F.scaled_dot_product_attention(qa, ka, va, attn_mask=ma, **kw)
    yb = TF.scaled_dot_product_attention(qb, kb, vb, attn_mask=mb, **kw)
    close(ya, yb, "output")
    backward_both(ya, yb)
    for a, b, n in ((qa, qb, "query"), (ka, kb, "key"), (va, vb, "value")):
        close(a.grad, b.grad, f"grad {n}")


def _bool_mask(shape, seed=4):
    m = np.random.default_rng(seed).random(shape) > 0.4
    m[..., 0] = True  # every query sees at least one key
    return m


@pytest.mark.parametrize("mask", ["none", "bool2d", "bool4d", "float2d", "float_bcast", "neg_inf_float"])
def test_sdpa_masks(mask):
    L, S = 3, 5
    m = {"none": None, "bool2d": _bool_mask((L, S)), "bool4d": _bool_mask((2, 3, L, S)),
         "float2d": randn((L, S), 9), "float_bcast": randn((2, 1, L, S), 9),
         "neg_inf_float": np.where(_bool_mask((L, S)), 0.0, -np.inf).astype(np.float32)}[mask]
    sdpa_case((2, 3, L, 4), (2, 3, S, 4), (2, 3, S, 6), m)


@pytest.mark.parametrize("L,S", [(4, 4), (3, 5), (5, 3)])
def test_sdpa_causal(L, S):
    sdpa_case((2, 2, L, 4), (2, 2, S, 4), (2, 2, S, 3), is_causal=True)


@pytest.mark.parametrize("scale", [None, 0.3, 2.0])
def test_sdpa_scale_and_ranks(scale):
    sdpa_case((2, 3, 4), (2, 5, 4), (2, 5, 6), scale=scale)
    sdpa_case((3, 4), (5, 4), (5, 6), scale=scale)
    sdpa_case((2, 2, 2, 3, 4), (2, 2, 2, 5, 4), (2, 2, 2, 5, 6), scale=scale)


@pytest.mark.parametrize("hk", [1, 2, 4])
def test_sdpa_gqa(hk):
    sdpa_case((2, 4, 3, 4), (2, hk, 5, 4), (2, hk, 5, 6), enable_gqa=True)
    sdpa_case((2, 4, 3, 4), (2, hk, 5, 4), (2, hk, 5, 6), mask=_bool_mask((3, 5)), enable_gqa=True)


def test_sdpa_fully_masked_row_gives_zero():
    m = _bool_mask((3, 5))
    m[1] = False
    sdpa_case((2, 3, 4), (2, 5, 4), (2, 5, 6), m)


def test_sdpa_dropout_statistics():
    q = edunn.zeros(1, 1, 200, 4)  # uniform weights 1/S
    v = edunn.ones(1, 1, 50, 3)
    k = edunn.zeros(1, 1, 50, 4)
    edunn.manual_seed(0)
    y = F.scaled_dot_product_attention(q, k, v, dropout_p=0.5).numpy()
    # each output is (kept keys / S) / (1 - p): mean 1, clearly random
    assert abs(y.mean() - 1.0) < 0.05 and y.std() > 0.05
    y0 = F.scaled_dot_product_attention(q, k, v, dropout_p=0.0).numpy()
    np.testing.assert_allclose(y0, 1.0, rtol=1e-6)


def test_sdpa_gradcheck():
    rng = np.random.default_rng(0)
    q, k, v = (edunn.tensor(rng.standard_normal(s), dtype=edunn.float64, requires_grad=True)
               for s in ((2, 3, 4), (2, 5, 4), (2, 5, 2)))
    m = edunn.tensor(_bool_mask((3, 5)))
    f = edunn.tensor(rng.standard_normal((3, 5)), dtype=edunn.float64)
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=m), (q, k, v))
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=f, scale=0.7), (q, k, v))
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True), (q, k, v))
    dead = _bool_mask((3, 5))
    dead[1] = False  # a query that sees nothing: zero output, zero gradient
    dm = edunn.tensor(dead)
    assert gradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=dm), (q, k, v))
    assert gradgradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, attn_mask=dm), (q, k, v))
    assert gradgradcheck(lambda a, b, c: F.scaled_dot_product_attention(a, b, c, is_causal=True), (q, k, v))


def test_sdpa_errors():
    q, k, v = edunn.randn(2, 3, 4), edunn.randn(2, 5, 4), edunn.randn(2, 5, 4)
    with pytest.raises(RuntimeError, match="Explicit attn_mask should not be set when is_causal=True"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=edunn.ones(3, 5, dtype=edunn.bool), is_causal=True)
    with pytest.raises(RuntimeError, match="Expected attn_mask dtype to be bool or float"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=edunn.ones(3, 5, dtype=edunn.int64))
    with pytest.raises(RuntimeError, match="Expected attn_mask dtype to be bool or float or to match query dtype"):
        F.scaled_dot_product_attention(q, k, v, attn_mask=edunn.zeros(3, 5, dtype=edunn.float64))
    with pytest.raises(RuntimeError, match="Expected query, key, and value to have the same dtype"):
        F.scaled_dot_product_attention(q, k, v.double())
    with pytest.raises(RuntimeError, match="at least 2 dimensional"):
        F.scaled_dot_product_attention(edunn.randn(4), k[0], v[0])
    with pytest.raises(RuntimeError, match="Number of heads in key and value must divide"):
        F.scaled_dot_product_attention(edunn.randn(1, 4, 3, 4), edunn.randn(1, 3, 5, 4), edunn.randn(1, 3, 5, 4),
                                       enable_gqa=True)
    with pytest.raises(RuntimeError):
        F.scaled_dot_product_attention(q, k, edunn.randn(2, 4, 4))


# ----------------------------------------------------------------------------- MultiheadAttention

def mha_twins(E=8, h=2, **kw):
    """A torch MultiheadAttention with random weights (biases too) and an edunn one loaded from
    its state_dict."""
    torch.manual_seed(0)
    t = torch.nn.MultiheadAttention(E, h, **kw).eval()
    with torch.no_grad():
        for i, p in enumerate(t.parameters()):
            p.copy_(torch.tensor(randn(tuple(p.shape), 100 + i) * 0.5))
    e = nn.MultiheadAttention(E, h, **kw).eval()
    e.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in t.state_dict().items()})
    return e, t


def mha_step(e, t, q, k, v, self_attn=False, key_padding_mask=None, attn_mask=None, **kw):
    (qa, qb) = pair(q)
    if self_attn:
        ka, kb, va, vb = qa, qb, qa, qb
    else:
        (ka, kb), (va, vb) = pair(k), pair(v)
    kpa, kpb = pair(key_padding_mask, grad=False)
    ama, amb = pair(attn_mask, grad=False)
    ya, wa = e(qa, ka, va, key_padding_mask=kpa, attn_mask=ama, **kw)
    yb, wb = t(qb, kb, vb, key_padding_mask=kpb, attn_mask=amb, **kw)
    close(ya, yb, "output")
    if wb is None:
        assert wa is None
    else:
        close(wa, wb, "weights")
    g = randn(tuple(yb.shape), 7)
    loss_a = (ya * edunn.tensor(g)).sum()
    loss_b = (yb * torch.tensor(g)).sum()
    if wb is not None:
        gw = randn(tuple(wb.shape), 8)
        loss_a = loss_a + (wa * edunn.tensor(gw)).sum()
        loss_b = loss_b + (wb * torch.tensor(gw)).sum()
    loss_a.backward()
    loss_b.backward()
    close(qa.grad, qb.grad, "grad query")
    if not self_attn:
        close(ka.grad, kb.grad, "grad key")
        close(va.grad, vb.grad, "grad value")
    for name, p in t.named_parameters():
        close(e.get_parameter(name).grad, p.grad, f"grad {name}")


def mask_arrays(kind, N, h, L, S, unbatched=False):
    """(key_padding_mask, attn_mask) of the named kind; no query is left with nothing to see."""
    rng = np.random.default_rng(11)
    kpm = am = None
    if kind.startswith("kpm"):
        b = rng.random((N, S)) > 0.6
        b[:, 0] = False
        kpm = b if kind == "kpm_bool" else np.where(b, -1e9, rng.standard_normal((N, S))).astype(np.float32)
        if unbatched:
            kpm = kpm[0]
    if kind.startswith("am"):
        shape = (L, S) if "2d" in kind else (N * h, L, S)
        if unbatched and "3d" in kind:
            shape = (h, L, S)
        b = rng.random(shape) > 0.6
        b[..., 0] = False
        am = b if "bool" in kind else np.where(b, -np.inf, rng.standard_normal(shape)).astype(np.float32)
    if kind == "both_bool":
        kpm, am = mask_arrays("kpm_bool", N, h, L, S, unbatched)[0], mask_arrays("am2d_bool", N, h, L, S, unbatched)[1]
    if kind == "both_float":
        kpm, am = mask_arrays("kpm_float", N, h, L, S, unbatched)[0], mask_arrays("am3d_float", N, h, L, S, unbatched)[1]
    return kpm, am


MASKS = ["none", "kpm_bool", "kpm_float", "am2d_bool", "am2d_float", "am3d_bool", "am3d_float", "both_bool",
         "both_float"]
WEIGHTS = [dict(need_weights=True), dict(need_weights=True, average_attn_weights=False), dict(need_weights=False)]


@pytest.mark.parametrize("mask", MASKS)
@pytest.mark.parametrize("weights", range(3))
def test_mha_masks_and_weights(mask, weights):
    E, h, N, L, S = 8, 2, 2, 3, 4
    e, t = mha_twins(E, h)
    kpm, am = mask_arrays(mask, N, h, L, S)
    mha_step(e, t, randn((L, N, E), 1), randn((S, N, E), 2), randn((S, N, E), 3), key_padding_mask=kpm,
             attn_mask=am, **WEIGHTS[weights])


CONFIGS = list(itertools.product([False, True], [True, False], [False, True], [False, True], [False, True]))


@pytest.mark.parametrize("kvdim,bias,add_bias_kv,add_zero_attn,batch_first", CONFIGS)
def test_mha_configurations(kvdim, bias, add_bias_kv, add_zero_attn, batch_first):
    E, h, N, L, S = 8, 2, 2, 3, 4
    kdim, vdim = (5, 6) if kvdim else (None, None)
    e, t = mha_twins(E, h, bias=bias, add_bias_kv=add_bias_kv, add_zero_attn=add_zero_attn, kdim=kdim,
                     vdim=vdim, batch_first=batch_first)
    idx = CONFIGS.index((kvdim, bias, add_bias_kv, add_zero_attn, batch_first))
    kpm, am = mask_arrays(MASKS[idx % len(MASKS)], N, h, L, S)
    seq = (lambda n, d: (N, n, d)) if batch_first else (lambda n, d: (n, N, d))
    mha_step(e, t, randn(seq(L, E), 1), randn(seq(S, kdim or E), 2), randn(seq(S, vdim or E), 3),
             key_padding_mask=kpm, attn_mask=am, **WEIGHTS[idx % 3])


@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mask", ["none", "kpm_bool", "am2d_float", "both_bool"])
@pytest.mark.parametrize("need_weights", [True, False])
def test_mha_self_attention(batch_first, mask, need_weights):
    E, h, N, L = 8, 4, 2, 5
    e, t = mha_twins(E, h, batch_first=batch_first)
    kpm, am = mask_arrays(mask, N, h, L, L)
    x = randn((N, L, E) if batch_first else (L, N, E), 1)
    mha_step(e, t, x, None, None, self_attn=True, key_padding_mask=kpm, attn_mask=am, need_weights=need_weights)


@pytest.mark.parametrize("mask", ["none", "kpm_bool", "kpm_float", "am2d_bool", "am3d_float"])
@pytest.mark.parametrize("average", [True, False])
@pytest.mark.parametrize("kvdim", [False, True])
def test_mha_unbatched(mask, average, kvdim):
    E, h, L, S = 8, 2, 3, 4
    kdim, vdim = (5, 3) if kvdim else (None, None)
    e, t = mha_twins(E, h, kdim=kdim, vdim=vdim, add_bias_kv=True)
    kpm, am = mask_arrays(mask, 1, h, L, S, unbatched=True)
    mha_step(e, t, randn((L, E), 1), randn((S, kdim or E), 2), randn((S, vdim or E), 3), key_padding_mask=kpm,
             attn_mask=am, average_attn_weights=average)


@pytest.mark.filterwarnings("ignore:Support for mismatched key_padding_mask")
@pytest.mark.parametrize("need_weights", [True, False])
@pytest.mark.parametrize("kpm", [False, True])
@pytest.mark.parametrize("mask_dtype", ["bool", "float"])
def test_mha_is_causal(need_weights, kpm, mask_dtype):
    E, h, N, L = 8, 2, 3, 4
    e, t = mha_twins(E, h, batch_first=True)
    causal = np.triu(np.ones((L, L), dtype=bool), 1)
    am = causal if mask_dtype == "bool" else np.where(causal, -np.inf, 0.0).astype(np.float32)
    pad = mask_arrays("kpm_bool", N, h, L, L)[0] if kpm else None
    mha_step(e, t, randn((N, L, E), 1), None, None, self_attn=True, key_padding_mask=pad, attn_mask=am,
             is_causal=True, need_weights=need_weights)


def test_mha_gradcheck():
    e = nn.MultiheadAttention(4, 2, add_bias_kv=True, kdim=3, vdim=5, dtype=edunn.float64)
    with edunn.no_grad():
        for p in e.parameters():
            p.copy_(edunn.randn(*p.shape, dtype=edunn.float64))
    rng = np.random.default_rng(0)
    q, k, v = (edunn.tensor(rng.standard_normal(s), dtype=edunn.float64, requires_grad=True)
               for s in ((3, 2, 4), (2, 2, 3), (2, 2, 5)))
    kpm = edunn.tensor(np.array([[False, True], [False, False]]))
    assert gradcheck(lambda a, b, c: e(a, b, c, key_padding_mask=kpm)[0], (q, k, v))
    assert gradcheck(lambda a, b, c: e(a, b, c, key_padding_mask=kpm)[1], (q, k, v))
    params = list(e.parameters())
    assert gradcheck(lambda *ps: e(q, k, v, need_weights=False)[0], params)
    self_attn = nn.MultiheadAttention(4, 2, add_zero_attn=True, dtype=edunn.float64)
    assert gradgradcheck(lambda a: self_attn(a, a, a)[0], (q,))
    assert gradgradcheck(lambda a: self_attn(a, a, a, need_weights=False)[0], (q,))


def test_mha_training_dropout_and_eval():
    e = nn.MultiheadAttention(8, 2, dropout=0.5)
    x = edunn.randn(5, 3, 8)
    e.eval()
    with edunn.no_grad():
        y1, _ = e(x, x, x)
        y2, _ = e(x, x, x)
        np.testing.assert_array_equal(y1.numpy(), y2.numpy())
        e.train()
        _, w = e(x, x, x, average_attn_weights=False)
    zeros = (w.numpy() == 0).mean()
    assert 0.3 < zeros < 0.7  # about half the weights dropped
    kept = w.numpy()[w.numpy() != 0]
    assert np.isfinite(kept).all()


def test_mha_parameters_init_and_state_dict_names():
    e, t = nn.MultiheadAttention(8, 2, add_bias_kv=True), torch.nn.MultiheadAttention(8, 2, add_bias_kv=True)
    assert list(e.state_dict()) == list(t.state_dict())
    e2, t2 = nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False), torch.nn.MultiheadAttention(8, 2, kdim=3, vdim=5, bias=False)
    assert list(e2.state_dict()) == list(t2.state_dict())
    assert [tuple(p.shape) for p in e2.parameters()] == [tuple(p.shape) for p in t2.parameters()]
    assert e2.in_proj_weight is None and e2.in_proj_bias is None
    assert isinstance(e.out_proj, nn.NonDynamicallyQuantizableLinear) and isinstance(e.out_proj, nn.Linear)
    np.testing.assert_array_equal(e.in_proj_bias.detach().numpy(), 0)
    np.testing.assert_array_equal(e.out_proj.bias.detach().numpy(), 0)
    bound = math.sqrt(6 / (8 + 24))  # xavier_uniform_ on (3E, E)
    w = e.in_proj_weight.detach().numpy()
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.8 * bound
    assert e.head_dim == 4 and e._qkv_same_embed_dim and not e2._qkv_same_embed_dim
    assert e.bias_k.shape == (1, 1, 8)


def test_mha_repr():
    for kw in ({}, dict(kdim=3, vdim=5, bias=False, add_bias_kv=True, batch_first=True)):
        assert repr(nn.MultiheadAttention(8, 2, **kw)) == repr(torch.nn.MultiheadAttention(8, 2, **kw))


def test_mha_errors():
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.MultiheadAttention(10, 3)
    with pytest.raises(ValueError, match="embed_dim and num_heads must be greater than 0"):
        nn.MultiheadAttention(0, 2)
    e = nn.MultiheadAttention(8, 2)
    x = edunn.randn(3, 2, 8)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is .*, but should be \(3, 3\)\."):
        e(x, x, x, attn_mask=edunn.zeros(3, 4))
    with pytest.raises(RuntimeError, match=r"The shape of the 3D attn_mask is .*, but should be \(4, 3, 3\)\."):
        e(x, x, x, attn_mask=edunn.zeros(2, 3, 3))
    with pytest.raises(AssertionError, match=r"Expected key_padded_mask.shape\[1\] to be 3, but got 4"):
        e(x, x, x, key_padding_mask=edunn.zeros(2, 4, dtype=edunn.bool))
    with pytest.raises(AssertionError, match="only bool and floating types of attn_mask are supported"):
        e(x, x, x, attn_mask=edunn.zeros(3, 3, dtype=edunn.int64))
    with pytest.raises(AssertionError, match="expected `key` and `value` to be 3-D"):
        e(x, x[0], x[0])
    with pytest.raises(AssertionError, match="query should be unbatched 2D or batched 3D tensor"):
        e(x[0, 0], x, x)
    with pytest.raises(AssertionError, match="was expecting embedding dimension of 8, but got 6"):
        y = edunn.randn(3, 2, 6)
        e(y, y, y)
    with pytest.raises(RuntimeError, match="Need attn_mask if specifying the is_causal hint"):
        e(x, x, x, is_causal=True)
    with pytest.warns(UserWarning, match="Support for mismatched key_padding_mask and attn_mask is deprecated"):
        e(x, x, x, key_padding_mask=edunn.zeros(2, 3, dtype=edunn.bool), attn_mask=edunn.zeros(3, 3))


def test_functional_mha_static_kv_matches_torch():
    E, h, N, L, S = 8, 2, 2, 3, 4
    e, t = mha_twins(E, h)
    sk, sv = randn((N * h, S, E // h), 20), randn((N * h, S, E // h), 21)
    q = randn((L, N, E), 1)
    args_e = [edunn.tensor(q), edunn.tensor(q), edunn.tensor(q), E, h, e.in_proj_weight, e.in_proj_bias, None,
              None, False, 0.0, e.out_proj.weight, e.out_proj.bias]
    args_t = [torch.tensor(q), torch.tensor(q), torch.tensor(q), E, h, t.in_proj_weight, t.in_proj_bias, None,
              None, False, 0.0, t.out_proj.weight, t.out_proj.bias]
    ya, wa = F.multi_head_attention_forward(*args_e, training=False, static_k=edunn.tensor(sk),
                                            static_v=edunn.tensor(sv))
    yb, wb = TF.multi_head_attention_forward(*args_t, training=False, static_k=torch.tensor(sk),
                                             static_v=torch.tensor(sv))
    close(ya, yb, "output")
    close(wa, wb, "weights")


def test_mha_fully_padded_sequence_without_weights():
    # need_weights=False goes through scaled_dot_product_attention, whose fully masked rows give 0
    E, h, N, L, S = 8, 2, 2, 3, 4
    e, t = mha_twins(E, h)
    kpm = np.zeros((N, S), dtype=bool)
    kpm[1] = True
    mha_step(e, t, randn((L, N, E), 1), randn((S, N, E), 2), randn((S, N, E), 3), key_padding_mask=kpm,
             need_weights=False)


def test_same_results_on_every_device(device):
    """SDPA (masks, causal, GQA) and MultiheadAttention run on the device's array module and agree
    with the CPU (forward, input and parameter gradients)."""
    q, k, v = randn((2, 4, 3, 4), 1), randn((2, 2, 5, 4), 2), randn((2, 2, 5, 6), 3)
    dead = _bool_mask((3, 5))
    dead[2] = False
    for kw in (dict(), dict(is_causal=True), dict(attn_mask=dead), dict(attn_mask=randn((3, 5), 4))):
        ins = [[edunn.tensor(x, device=d, requires_grad=True) for x in (q, k, v)] for d in ("cpu", device)]
        outs = []
        for (a, b, c), d in zip(ins, ("cpu", device)):
            m = kw.get("attn_mask")
            kk = dict(kw, attn_mask=None if m is None else edunn.tensor(m, device=d))
            y = F.scaled_dot_product_attention(a, b, c, enable_gqa=True, **kk)
            assert str(y.device).startswith(d)
            (y * y).sum().backward()
            outs.append(y.detach().cpu().numpy())
        np.testing.assert_allclose(outs[1], outs[0], atol=1e-5)
        for x0, x1 in zip(*ins):
            np.testing.assert_allclose(x1.grad.cpu().numpy(), x0.grad.numpy(), atol=1e-5)
    e0 = nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True, kdim=5, batch_first=True)
    e1 = nn.MultiheadAttention(8, 2, add_bias_kv=True, add_zero_attn=True, kdim=5, batch_first=True, device=device)
    e1.load_state_dict(e0.state_dict())
    results = []
    for e, d in ((e0, "cpu"), (e1, device)):
        x = edunn.tensor(randn((2, 3, 8), 5), device=d, requires_grad=True)
        kv = edunn.tensor(randn((2, 4, 5), 6), device=d)
        val = edunn.tensor(randn((2, 4, 8), 7), device=d)
        kpm = edunn.tensor(np.array([[False, True, False, False], [False, False, False, True]]), device=d)
        y, w = e(x, kv, val, key_padding_mask=kpm)
        (y.sum() + (w * w).sum()).backward()
        results.append([y.detach().cpu().numpy(), w.detach().cpu().numpy(), x.grad.cpu().numpy()]
                       + [p.grad.cpu().numpy() for p in e.parameters()])
    for r1, r0 in zip(*results):
        np.testing.assert_allclose(r0, r1, atol=1e-5)
