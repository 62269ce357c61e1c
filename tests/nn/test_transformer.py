"""Transformer layers, stacks and the whole Transformer (lesson 13) against PyTorch CPU with the
same weights (torch's state_dict loaded into edunn): outputs, input and parameter gradients for
norm_first, relu/gelu/callable activations, batch_first, unbatched inputs and masks; causal-mask
detection; deep-copied layers; the causal mask; errors; reprs; gradcheck in float64."""
import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = [pytest.mark.lesson13,
              # a bool key padding mask next to a float attention mask, as PyTorch warns too
              pytest.mark.filterwarnings("ignore:Support for mismatched"),
              pytest.mark.filterwarnings("ignore:enable_nested_tensor is True")]

ATOL, RTOL = 5e-5, 5e-4
E, H, FF = 8, 2, 16


def randn(shape, seed=0, dtype=np.float32):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


def close(a, b, what=""):
    a = a.detach().numpy() if hasattr(a, "detach") else np.asarray(a)
    b = b.detach().numpy()
    assert a.shape == b.shape, f"{what}: {a.shape} vs {b.shape}"
    np.testing.assert_allclose(a, b, atol=ATOL, rtol=RTOL, err_msg=what)


def load_into(e, t, seed=0):
    """Random weights (LayerNorm and biases too) into the torch module, then its state_dict into
    the edunn one; both in eval mode so dropout is off."""
    with torch.no_grad():
        for i, (name, p) in enumerate(t.named_parameters()):
            scale = 0.2 if "norm" in name else 0.4
            base = 1.0 if "norm" in name and name.endswith("weight") else 0.0
            p.copy_(torch.tensor(base + scale * randn(tuple(p.shape), seed + i)))
    assert list(e.state_dict()) == list(t.state_dict())
    e.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in t.state_dict().items()})
    return e.eval(), t.eval()


def as_pair(x):
    if x is None:
        return None, None
    if x.dtype == np.bool_:
        return edunn.tensor(x), torch.tensor(x)
    return edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)


def compare(e, t, inputs, masks, kwargs=None):
    """Run both modules on the arrays ``inputs`` (differentiated) and ``masks`` (keyword arrays),
    then compare output, input gradients and parameter gradients."""
    kwargs = kwargs or {}
    pa = [as_pair(x) for x in inputs]
    ma = {k: as_pair(v) for k, v in masks.items()}
    ya = e(*[a for a, _ in pa], **{k: a for k, (a, _) in ma.items()}, **kwargs)
    yb = t(*[b for _, b in pa], **{k: b for k, (_, b) in ma.items()}, **kwargs)
    close(ya, yb, "output")
    g = randn(tuple(yb.shape), 99)
    ya.backward(edunn.tensor(g))
    yb.backward(torch.tensor(g))
    for i, (a, b) in enumerate(pa):
        close(a.grad, b.grad, f"grad input {i}")
    for name, p in t.named_parameters():
        close(e.get_parameter(name).grad, p.grad, f"grad {name}")


def activations(kind):
    """(edunn activation, torch activation) of the named kind."""
    return {"relu": ("relu", "relu"), "gelu": ("gelu", "gelu"),
            "callable": (F.silu, TF.silu), "module": (nn.GELU(approximate="tanh"), torch.nn.GELU(approximate="tanh")),
            "default": (F.relu, TF.relu)}[kind]


def seq_shape(n, batch_first, N=2, d=E):
    return (N, n, d) if batch_first else (n, N, d)


def padding(N, n, seed=3):
    m = np.random.default_rng(seed).random((N, n)) > 0.6
    m[:, 0] = False
    return m


def causal(n):
    return np.triu(np.full((n, n), -np.inf, dtype=np.float32), 1)


# ----------------------------------------------------------------------------- layers

@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("act", ["relu", "gelu", "callable", "module", "default"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_encoder_layer(norm_first, act, batch_first):
    ae, at = activations(act)
    e, t = load_into(nn.TransformerEncoderLayer(E, H, FF, dropout=0.1, activation=ae, batch_first=batch_first,
                                                norm_first=norm_first),
                     torch.nn.TransformerEncoderLayer(E, H, FF, dropout=0.1, activation=at, batch_first=batch_first,
                                                      norm_first=norm_first))
    S = 5
    x = randn(seq_shape(S, batch_first), 1)
    compare(e, t, [x], {})
    compare(e, t, [x], {"src_mask": randn((S, S), 4), "src_key_padding_mask": padding(2, S)})


@pytest.mark.parametrize("masks", ["bool", "float3d", "causal_hint"])
def test_encoder_layer_masks(masks):
    e, t = load_into(nn.TransformerEncoderLayer(E, H, FF, layer_norm_eps=1e-3, bias=False),
                     torch.nn.TransformerEncoderLayer(E, H, FF, layer_norm_eps=1e-3, bias=False))
    S, N = 4, 3
    x = randn((S, N, E), 1)
    if masks == "bool":
        m = {"src_mask": np.random.default_rng(1).random((S, S)) > 0.7, "src_key_padding_mask": padding(N, S)}
        m["src_mask"][:, 0] = False
        compare(e, t, [x], m)
    elif masks == "float3d":
        compare(e, t, [x], {"src_mask": randn((N * H, S, S), 5)})
    else:
        compare(e, t, [x], {"src_mask": causal(S)}, {"is_causal": True})


def test_encoder_layer_unbatched():
    e, t = load_into(nn.TransformerEncoderLayer(E, H, FF), torch.nn.TransformerEncoderLayer(E, H, FF))
    compare(e, t, [randn((5, E), 1)], {"src_mask": causal(5), "src_key_padding_mask": padding(1, 5)[0]})


@pytest.mark.parametrize("norm_first", [False, True])
@pytest.mark.parametrize("act", ["relu", "gelu", "callable"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_layer(norm_first, act, batch_first):
    ae, at = activations(act)
    e, t = load_into(nn.TransformerDecoderLayer(E, H, FF, activation=ae, batch_first=batch_first,
                                                norm_first=norm_first),
                     torch.nn.TransformerDecoderLayer(E, H, FF, activation=at, batch_first=batch_first,
                                                      norm_first=norm_first))
    T, S = 4, 5
    tgt, mem = randn(seq_shape(T, batch_first), 1), randn(seq_shape(S, batch_first), 2)
    compare(e, t, [tgt, mem], {})
    compare(e, t, [tgt, mem], {"tgt_mask": causal(T), "memory_mask": randn((T, S), 6),
                               "tgt_key_padding_mask": padding(2, T), "memory_key_padding_mask": padding(2, S, 4)})


def test_decoder_layer_causal_hints_and_unbatched():
    e, t = load_into(nn.TransformerDecoderLayer(E, H, FF), torch.nn.TransformerDecoderLayer(E, H, FF))
    compare(e, t, [randn((4, 2, E), 1), randn((4, 2, E), 2)], {"tgt_mask": causal(4), "memory_mask": causal(4)},
            {"tgt_is_causal": True, "memory_is_causal": True})
    compare(e, t, [randn((4, E), 1), randn((3, E), 2)], {"tgt_mask": causal(4), "memory_key_padding_mask": padding(1, 3)[0]})


# ----------------------------------------------------------------------------- stacks

@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("is_causal", [None, True, False])
def test_encoder_stack(norm, batch_first, is_causal):
    le = nn.TransformerEncoderLayer(E, H, FF, batch_first=batch_first)
    lt = torch.nn.TransformerEncoderLayer(E, H, FF, batch_first=batch_first)
    e, t = load_into(nn.TransformerEncoder(le, 2, nn.LayerNorm(E) if norm else None, enable_nested_tensor=False),
                     torch.nn.TransformerEncoder(lt, 2, torch.nn.LayerNorm(E) if norm else None,
                                                 enable_nested_tensor=False))
    S = 5
    x = randn(seq_shape(S, batch_first), 1)
    compare(e, t, [x], {"mask": causal(S), "src_key_padding_mask": padding(2, S)}, {"is_causal": is_causal})
    compare(e, t, [x], {})


@pytest.mark.parametrize("norm", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
def test_decoder_stack(norm, batch_first):
    ld = nn.TransformerDecoderLayer(E, H, FF, batch_first=batch_first, norm_first=True)
    lt = torch.nn.TransformerDecoderLayer(E, H, FF, batch_first=batch_first, norm_first=True)
    e, t = load_into(nn.TransformerDecoder(ld, 2, nn.LayerNorm(E) if norm else None),
                     torch.nn.TransformerDecoder(lt, 2, torch.nn.LayerNorm(E) if norm else None))
    T, S = 4, 3
    compare(e, t, [randn(seq_shape(T, batch_first), 1), randn(seq_shape(S, batch_first), 2)],
            {"tgt_mask": causal(T), "memory_key_padding_mask": padding(2, S)})


def test_stack_layers_are_independent_deep_copies():
    layer = nn.TransformerEncoderLayer(E, H, FF)
    enc = nn.TransformerEncoder(layer, 3)
    assert len(enc.layers) == 3 and enc.num_layers == 3
    ids = {id(lay.linear1.weight) for lay in enc.layers} | {id(layer.linear1.weight)}
    assert len(ids) == 4
    for lay in enc.layers:
        np.testing.assert_array_equal(lay.linear1.weight.detach().numpy(), layer.linear1.weight.detach().numpy())
    assert enc.enable_nested_tensor is True and enc.mask_check is True


def test_causal_mask_detection():
    from edunn.nn.modules.transformer import _detect_is_causal_mask
    m = nn.Transformer.generate_square_subsequent_mask(4)
    assert _detect_is_causal_mask(m, None, 4) is True
    assert _detect_is_causal_mask(m, None, 5) is False
    assert _detect_is_causal_mask(edunn.zeros(4, 4), None, 4) is False
    assert _detect_is_causal_mask(None, True) is True
    assert _detect_is_causal_mask(m, False, 4) is False


# ----------------------------------------------------------------------------- Transformer

@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("norm_first", [False, True])
def test_transformer(batch_first, norm_first):
    kw = dict(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=2, dim_feedforward=FF,
              batch_first=batch_first, norm_first=norm_first)
    e, t = load_into(nn.Transformer(**kw), torch.nn.Transformer(**kw))
    S, T, N = 5, 4, 2
    src, tgt = randn(seq_shape(S, batch_first, N), 1), randn(seq_shape(T, batch_first, N), 2)
    compare(e, t, [src, tgt], {})
    compare(e, t, [src, tgt], {"tgt_mask": causal(T), "src_key_padding_mask": padding(N, S),
                               "tgt_key_padding_mask": padding(N, T, 5), "memory_key_padding_mask": padding(N, S),
                               "src_mask": randn((S, S), 8), "memory_mask": randn((T, S), 9)})
    compare(e, t, [src, tgt], {"tgt_mask": causal(T)}, {"tgt_is_causal": True})


def test_transformer_unbatched_and_gelu_and_no_bias():
    kw = dict(d_model=E, nhead=H, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF, bias=False,
              layer_norm_eps=1e-4)
    e, t = load_into(nn.Transformer(activation="gelu", **kw), torch.nn.Transformer(activation="gelu", **kw))
    compare(e, t, [randn((5, E), 1), randn((3, E), 2)], {"tgt_mask": causal(3)})


def test_transformer_custom_parts_and_init():
    enc = nn.TransformerEncoder(nn.TransformerEncoderLayer(E, H, FF), 1)
    dec = nn.TransformerDecoder(nn.TransformerDecoderLayer(E, H, FF), 1)
    tr = nn.Transformer(d_model=E, nhead=H, custom_encoder=enc, custom_decoder=dec)
    assert tr.encoder is enc and tr.decoder is dec and tr.d_model == E and tr.nhead == H
    default = nn.Transformer(d_model=E, nhead=H, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF)
    w = default.encoder.layers[0].linear1.weight.detach().numpy()
    bound = np.sqrt(6 / (E + FF))  # xavier_uniform_ on every matrix
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.7 * bound
    t = torch.nn.Transformer(d_model=E, nhead=H, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF)
    assert list(default.state_dict()) == list(t.state_dict())
    assert [tuple(p.shape) for p in default.parameters()] == [tuple(p.shape) for p in t.parameters()]


def test_generate_square_subsequent_mask():
    a = nn.Transformer.generate_square_subsequent_mask(5)
    b = torch.nn.Transformer.generate_square_subsequent_mask(5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    assert a.dtype == edunn.float32
    assert nn.Transformer.generate_square_subsequent_mask(3, dtype=edunn.float64).dtype == edunn.float64


def test_transformer_errors():
    tr = nn.Transformer(d_model=E, nhead=H, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF)
    with pytest.raises(RuntimeError, match="the batch number of src and tgt must be equal"):
        tr(edunn.randn(5, 2, E), edunn.randn(4, 3, E))
    with pytest.raises(RuntimeError, match="the feature number of src and tgt must be equal to d_model"):
        tr(edunn.randn(5, 2, E), edunn.randn(4, 2, E + 1))
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not tanh"):
        nn.TransformerEncoderLayer(E, H, activation="tanh")
    with pytest.raises(RuntimeError, match="activation should be relu/gelu, not elu"):
        nn.TransformerDecoderLayer(E, H, activation="elu")
    with pytest.raises(AssertionError, match="embed_dim must be divisible by num_heads"):
        nn.TransformerEncoderLayer(10, 3)
    layer = nn.TransformerEncoderLayer(E, H, FF)
    with pytest.raises(RuntimeError, match=r"The shape of the 2D attn_mask is .*, but should be \(5, 5\)\."):
        layer(edunn.randn(5, 2, E), src_mask=edunn.zeros(4, 4))
    with pytest.raises(AssertionError, match="only bool and floating types of src_key_padding_mask are supported"):
        layer(edunn.randn(5, 2, E), src_key_padding_mask=edunn.zeros(2, 5, dtype=edunn.int64))


def test_reprs():
    for args, kw in [((E, H, FF), {}), ((E, H), dict(activation="gelu", norm_first=True, bias=False)),
                     ((E, H, FF), dict(activation=nn.GELU()))]:
        tkw = dict(kw)
        if isinstance(kw.get("activation"), nn.Module):
            tkw["activation"] = torch.nn.GELU()
        assert repr(nn.TransformerEncoderLayer(*args, **kw)) == repr(torch.nn.TransformerEncoderLayer(*args, **tkw))
        assert repr(nn.TransformerDecoderLayer(*args, **kw)) == repr(torch.nn.TransformerDecoderLayer(*args, **tkw))
    kw = dict(d_model=E, nhead=H, num_encoder_layers=2, num_decoder_layers=1, dim_feedforward=FF)
    assert repr(nn.Transformer(**kw)) == repr(torch.nn.Transformer(**kw))


def test_activation_flag():
    assert nn.TransformerEncoderLayer(E, H, FF).activation_relu_or_gelu == 1
    assert nn.TransformerEncoderLayer(E, H, FF, activation="gelu").activation_relu_or_gelu == 2
    assert nn.TransformerEncoderLayer(E, H, FF, activation=nn.ReLU()).activation_relu_or_gelu == 1
    assert nn.TransformerEncoderLayer(E, H, FF, activation=F.silu).activation_relu_or_gelu == 0


def test_encoder_layer_gradcheck():
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, norm_first=True, dtype=edunn.float64)
    x = edunn.tensor(np.random.default_rng(0).standard_normal((3, 2, 4)), dtype=edunn.float64, requires_grad=True)
    kpm = edunn.tensor(np.array([[False, False, True], [False, False, False]]))
    mask = nn.Transformer.generate_square_subsequent_mask(3, dtype=edunn.float64)
    assert gradcheck(lambda a: layer(a, src_mask=mask, src_key_padding_mask=kpm), (x,))


def test_training_dropout_changes_output():
    layer = nn.TransformerEncoderLayer(E, H, FF, dropout=0.5)
    x = edunn.randn(5, 2, E)
    with edunn.no_grad():
        a, b = layer(x), layer(x)
        assert not np.allclose(a.numpy(), b.numpy())
        layer.eval()
        np.testing.assert_array_equal(layer(x).numpy(), layer(x).numpy())


def test_same_results_on_every_device(device):
    """The whole Transformer runs on the device and agrees with the CPU."""
    kw = dict(d_model=E, nhead=H, num_encoder_layers=1, num_decoder_layers=1, dim_feedforward=FF, dropout=0.0,
              batch_first=True)
    m0 = nn.Transformer(**kw)
    m1 = nn.Transformer(**kw, device=device)
    m1.load_state_dict(m0.state_dict())
    results = []
    for m, d in ((m0, "cpu"), (m1, device)):
        src = edunn.tensor(randn((2, 5, E), 1), device=d, requires_grad=True)
        tgt = edunn.tensor(randn((2, 4, E), 2), device=d, requires_grad=True)
        y = m(src, tgt, tgt_mask=nn.Transformer.generate_square_subsequent_mask(4, device=d),
              src_key_padding_mask=edunn.tensor(padding(2, 5), device=d))
        assert str(y.device).startswith(d)
        (y * y).sum().backward()
        results.append([y.detach().cpu().numpy(), src.grad.cpu().numpy(), tgt.grad.cpu().numpy()]
                       + [p.grad.cpu().numpy() for p in m.parameters()])
    for r1, r0 in zip(*results):
        np.testing.assert_allclose(r0, r1, atol=1e-4)
