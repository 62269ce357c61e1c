"""GPU suite, layers (3/3): recurrent layers and cells (bidirectional, two layers, projections,
packed sequences), multi-head attention (masks, weights), Transformer layers and the whole
Transformer, AdaptiveLogSoftmaxWithLoss, CTCLoss, containers, and lazy layers materialised on the
device.  See ``_compare.check_module``."""
import copy

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.nn.utils.rnn import pack_padded_sequence, pack_sequence, pad_packed_sequence
from _compare import Const, check_module, make_inputs, randn, rng, dtype_tests, on_device

pytestmark = pytest.mark.lesson18


def case(id, make, spec, **kw):
    return pytest.param(make, spec, kw, id=id)


def ints(high, *shape, seed=3, low=0):
    return rng(seed).integers(low, high, size=shape).astype(np.int64)


# ------------------------------------------------------------------------------- recurrent
T, B, I, H = 6, 3, 4, 5


def _packed(m, x, *h):
    """Pack ``x`` (T, B, I) with unsorted lengths, run, and unpack."""
    p = pack_padded_sequence(x, [4, 6, 2], enforce_sorted=False)
    out, hn = m(p, *h)
    return out, pad_packed_sequence(out)[0], hn


def _packed_list(m, x):
    seqs = [x[:5, 0], x[:3, 1], x[:, 2]]
    out, hn = m(pack_sequence(seqs, enforce_sorted=False))
    return pad_packed_sequence(out, batch_first=True, total_length=7)[0], hn


RNNS = [
    case("RNN", lambda: nn.RNN(I, H), [randn(T, B, I)]),
    case("RNN-relu-2layers-bi-batch_first-h0", lambda: nn.RNN(I, H, 2, nonlinearity="relu", bidirectional=True,
                                                              batch_first=True),
         [randn(B, T, I), randn(4, B, H, seed=1)]),
    case("RNN-packed", lambda: nn.RNN(I, H, bidirectional=True), [randn(T, B, I)], call=_packed),
    case("RNNBase-GRU", lambda: nn.RNNBase("GRU", I, H, 1), [randn(T, B, I)]),
    case("LSTM", lambda: nn.LSTM(I, H), [randn(T, B, I)]),
    case("LSTM-h0c0", lambda: nn.LSTM(I, H), [randn(T, B, I), randn(1, B, H, seed=1), randn(1, B, H, seed=2)],
         call=lambda m, x, h, c: m(x, (h, c))),
    case("LSTM-2layers-bi-proj", lambda: nn.LSTM(I, 6, num_layers=2, bidirectional=True, proj_size=3),
         [randn(T, B, I)]),
    case("LSTM-batch_first-nobias", lambda: nn.LSTM(I, H, batch_first=True, bias=False), [randn(B, T, I)]),
    case("LSTM-unbatched", lambda: nn.LSTM(I, H, num_layers=2), [randn(T, I)]),
    case("LSTM-packed-2layers", lambda: nn.LSTM(I, H, num_layers=2), [randn(T, B, I)], call=_packed),
    case("LSTM-packed-proj-h0", lambda: nn.LSTM(I, H, proj_size=2),
         [randn(T, B, I), randn(1, B, 2, seed=1), randn(1, B, H, seed=2)],
         call=lambda m, x, h, c: _packed(m, x, (h, c))),
    case("LSTM-pack_sequence", lambda: nn.LSTM(I, H, bidirectional=True), [randn(7, B, I)], call=_packed_list),
    case("GRU", lambda: nn.GRU(I, H), [randn(T, B, I)]),
    case("GRU-2layers-h0", lambda: nn.GRU(I, H, num_layers=2), [randn(T, B, I), randn(2, B, H, seed=1)]),
    case("GRU-bi-batch_first", lambda: nn.GRU(I, H, bidirectional=True, batch_first=True), [randn(B, T, I)]),
    case("GRU-packed-bi", lambda: nn.GRU(I, H, bidirectional=True), [randn(T, B, I)], call=_packed),
    case("RNNCell", lambda: nn.RNNCell(I, H), [randn(B, I), randn(B, H, seed=1)]),
    case("RNNCell-relu-nohx", lambda: nn.RNNCell(I, H, nonlinearity="relu"), [randn(B, I)]),
    case("LSTMCell", lambda: nn.LSTMCell(I, H), [randn(B, I), randn(B, H, seed=1), randn(B, H, seed=2)],
         call=lambda m, x, h, c: m(x, (h, c))),
    case("LSTMCell-nohx-unbatched", lambda: nn.LSTMCell(I, H), [randn(I)]),
    case("GRUCell", lambda: nn.GRUCell(I, H), [randn(B, I), randn(B, H, seed=1)]),
    case("GRUCell-nobias", lambda: nn.GRUCell(I, H, bias=False), [randn(B, I)]),
]

# ------------------------------------------------------------------------------- attention
E, L, S = 8, 5, 7
_KPM = np.zeros((B, S), dtype=bool)
_KPM[0, 5:] = True
_KPM[2, 1:3] = True
_CAUSAL_BOOL = np.triu(np.ones((L, L), dtype=bool), 1)
_CAUSAL = Const(np.where(_CAUSAL_BOOL, -np.inf, 0.0))
_FMASK = Const(rng(40).standard_normal((L, S)))

ATTENTION = [
    case("MultiheadAttention", lambda: nn.MultiheadAttention(E, 2),
         [randn(L, B, E), randn(S, B, E, seed=1), randn(S, B, E, seed=2)]),
    case("MultiheadAttention-self", lambda: nn.MultiheadAttention(E, 4), [randn(L, B, E)],
         call=lambda m, x: m(x, x, x)),
    case("MultiheadAttention-kdim-vdim-kpm-perhead", lambda: nn.MultiheadAttention(E, 2, kdim=6, vdim=4,
                                                                                   batch_first=True),
         [randn(B, L, E), randn(B, S, 6, seed=1), randn(B, S, 4, seed=2), _KPM],
         call=lambda m, q, k, v, kpm: m(q, k, v, key_padding_mask=kpm, average_attn_weights=False)),
    case("MultiheadAttention-floatmask-biaskv-zeroattn-noweights",
         lambda: nn.MultiheadAttention(E, 2, add_bias_kv=True, add_zero_attn=True),
         [randn(L, B, E), randn(S, B, E, seed=1), randn(S, B, E, seed=2), _FMASK],
         call=lambda m, q, k, v, am: m(q, k, v, attn_mask=am, need_weights=False)),
    case("MultiheadAttention-causal-boolmask", lambda: nn.MultiheadAttention(E, 2, bias=False), [randn(L, B, E),
                                                                                                 _CAUSAL_BOOL],
         call=lambda m, x, am: m(x, x, x, attn_mask=am, is_causal=True)),
    case("MultiheadAttention-3dmask-unbatched", lambda: nn.MultiheadAttention(E, 2),
         [randn(L, E), randn(S, E, seed=1), Const(rng(41).standard_normal((2, L, S)))],
         call=lambda m, q, kv, am: m(q, kv, kv, attn_mask=am)),
]


def _enc_layer(**kw):
    return nn.TransformerEncoderLayer(E, 2, 16, dropout=0.0, **kw)


def _dec_layer(**kw):
    return nn.TransformerDecoderLayer(E, 2, 16, dropout=0.0, **kw)


_TGT_KPM = np.zeros((B, L), dtype=bool)
_TGT_KPM[1, 4] = True
_SRC_KPM = _KPM.copy()

TRANSFORMER = [
    case("TransformerEncoderLayer", _enc_layer, [randn(S, B, E)]),
    case("TransformerEncoderLayer-normfirst-gelu-kpm", lambda: _enc_layer(norm_first=True, activation="gelu",
                                                                          batch_first=True),
         [randn(B, S, E), _SRC_KPM], call=lambda m, x, kpm: m(x, src_key_padding_mask=kpm)),
    case("TransformerEncoderLayer-causal", _enc_layer, [randn(L, B, E), _CAUSAL],
         call=lambda m, x, mask: m(x, src_mask=mask, is_causal=True)),
    case("TransformerDecoderLayer", _dec_layer, [randn(L, B, E), randn(S, B, E, seed=1), _CAUSAL],
         call=lambda m, t, mem, mask: m(t, mem, tgt_mask=mask)),
    case("TransformerDecoderLayer-normfirst-kpm", lambda: _dec_layer(norm_first=True, batch_first=True,
                                                                     activation=F.silu),
         [randn(B, L, E), randn(B, S, E, seed=1), _TGT_KPM, _SRC_KPM],
         call=lambda m, t, mem, tk, mk: m(t, mem, tgt_key_padding_mask=tk, memory_key_padding_mask=mk)),
    case("TransformerEncoder", lambda: nn.TransformerEncoder(_enc_layer(), 2, norm=nn.LayerNorm(E),
                                                            enable_nested_tensor=False),
         [randn(L, B, E), _CAUSAL], call=lambda m, x, mask: m(x, mask=mask)),
    case("TransformerDecoder", lambda: nn.TransformerDecoder(_dec_layer(), 2, norm=nn.LayerNorm(E)),
         [randn(L, B, E), randn(S, B, E, seed=1), _CAUSAL], call=lambda m, t, mem, mask: m(t, mem, tgt_mask=mask)),
    case("Transformer", lambda: nn.Transformer(E, 2, 2, 1, 16, dropout=0.0),
         [randn(S, B, E), randn(L, B, E, seed=1), _CAUSAL, _SRC_KPM],
         call=lambda m, s, t, mask, kpm: m(s, t, tgt_mask=mask, src_key_padding_mask=kpm,
                                           memory_key_padding_mask=kpm)),
    case("Transformer-batch_first-normfirst", lambda: nn.Transformer(E, 2, 1, 1, 16, dropout=0.0, batch_first=True,
                                                                     norm_first=True),
         [randn(B, S, E), randn(B, L, E, seed=1)]),
]

# ------------------------------------------------------------------------------- misc
_TL, _TN, _TC = 12, 3, 5
_CTC_T = np.array([[1, 2, 2, 3], [4, 1, 3, 0], [2, 2, 0, 0]], dtype=np.int64)
_CTC_IL = np.array([12, 10, 9], dtype=np.int64)
_CTC_TLEN = np.array([4, 3, 2], dtype=np.int64)


def _ctc(m, x, *rest):
    return m(x.log_softmax(2), *rest)


MISC = [
    case("AdaptiveLogSoftmaxWithLoss", lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0,
                                                                            head_bias=True),
         [randn(6, 8), ints(10, 6)]),
    case("AdaptiveLogSoftmaxWithLoss-log_prob", lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4]),
         [randn(6, 8)], call=lambda m, x: m.log_prob(x)),
    case("AdaptiveLogSoftmaxWithLoss-predict", lambda: nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6]),
         [randn(6, 8)], call=lambda m, x: m.predict(x), grad=False),
    case("Sequential", lambda: nn.Sequential(nn.Linear(4, 6), nn.Tanh(), nn.Linear(6, 2)), [randn(3, 4)]),
]
for _r in ("none", "mean", "sum"):
    MISC.append(case(f"CTCLoss-{_r}", (lambda r=_r: nn.CTCLoss(reduction=r)),
                     [randn(_TL, _TN, _TC), _CTC_T, _CTC_IL, _CTC_TLEN], call=_ctc))
MISC += [
    case("CTCLoss-concat-targets-blank", lambda: nn.CTCLoss(blank=4),
         [randn(_TL, _TN, _TC), np.array([1, 2, 2, 3, 0, 1, 3, 2, 2], dtype=np.int64), (12, 10, 9), (4, 3, 2)],
         call=_ctc),
    case("CTCLoss-zero_infinity", lambda: nn.CTCLoss(reduction="sum", zero_infinity=True),
         [randn(_TL, _TN, _TC), _CTC_T, np.array([12, 3, 9], dtype=np.int64), _CTC_TLEN], call=_ctc),
    case("CTCLoss-unbatched", lambda: nn.CTCLoss(), [randn(_TL, _TC), _CTC_T[0], np.array(12), np.array(4)],
         call=lambda m, x, *r: m(x.log_softmax(1), *r)),
]


class _Holder(nn.Module):
    """Every container at once, so moving it to the device moves what each one holds."""

    def __init__(self):
        super().__init__()
        self.blocks = nn.ModuleList([nn.Linear(4, 4), nn.Linear(4, 3)])
        self.heads = nn.ModuleDict({"a": nn.Linear(3, 2), "b": nn.Linear(3, 2)})
        self.scales = nn.ParameterList([nn.Parameter(edunn.rand(2)), nn.Parameter(edunn.rand(2))])
        self.shifts = nn.ParameterDict({"a": nn.Parameter(edunn.rand(2)), "b": nn.Parameter(edunn.rand(2))})

    def forward(self, x):
        for b in self.blocks:
            x = b(x).tanh()
        return [self.heads[k](x) * s + self.shifts[k] for k, s in zip("ab", self.scales)]


MISC.append(case("ModuleList-ModuleDict-ParameterList-ParameterDict", _Holder, [randn(3, 4)]))


def _container():
    """PyTorch's deprecated ``Container(**modules)``: no forward of its own, so the case calls the
    submodules it registered from its keyword arguments, which ``.to(device)`` must have moved."""
    with pytest.warns(FutureWarning, match="Container"):
        return nn.Container(fc=nn.Linear(4, 3), act=nn.Tanh(), out=nn.Linear(3, 2))


MISC.append(case("Container", _container, [randn(3, 4)], call=lambda m, x: m.out(m.act(m.fc(x)))))

CASES = RNNS + ATTENTION + TRANSFORMER + MISC


@pytest.mark.parametrize("make,spec,kw", CASES)
def test_layer_matches_cpu(gpu, make, spec, kw):
    check_module(make, spec, gpu, **kw)


F64 = ["LSTM-2layers-bi-proj", "GRU-2layers-h0", "RNN-packed", "LSTMCell", "GRUCell",
       "MultiheadAttention-kdim-vdim-kpm-perhead", "TransformerDecoderLayer", "Transformer",
       "AdaptiveLogSoftmaxWithLoss", "CTCLoss-mean"]
# smooth activations only: half rounding can move a pre-activation across a ReLU kink
F16 = ["MultiheadAttention", "TransformerEncoderLayer-normfirst-gelu-kpm", "GRU", "LSTMCell"]
test_layer_matches_cpu_float64, test_layer_matches_cpu_float16 = dtype_tests(CASES, F64, F16)


# ------------------------------------------------------------------------------- lazy layers
LAZY = [
    ("LazyLinear", lambda: nn.LazyLinear(3), nn.Linear, [randn(4, 5)]),
    ("LazyConv1d", lambda: nn.LazyConv1d(4, 3, padding=1), nn.Conv1d, [randn(2, 3, 7)]),
    ("LazyConv2d", lambda: nn.LazyConv2d(4, 3, stride=2), nn.Conv2d, [randn(2, 3, 7, 6)]),
    ("LazyConv3d", lambda: nn.LazyConv3d(2, 2), nn.Conv3d, [randn(1, 3, 3, 4, 4)]),
    ("LazyConvTranspose1d", lambda: nn.LazyConvTranspose1d(4, 3, stride=2), nn.ConvTranspose1d, [randn(2, 3, 5)]),
    ("LazyConvTranspose2d", lambda: nn.LazyConvTranspose2d(4, 2, groups=1), nn.ConvTranspose2d, [randn(2, 3, 4, 4)]),
    ("LazyConvTranspose3d", lambda: nn.LazyConvTranspose3d(2, 2), nn.ConvTranspose3d, [randn(1, 3, 2, 3, 2)]),
    ("LazyBatchNorm1d", lambda: nn.LazyBatchNorm1d(), nn.BatchNorm1d, [randn(6, 4)]),
    ("LazyBatchNorm2d", lambda: nn.LazyBatchNorm2d(), nn.BatchNorm2d, [randn(4, 3, 4, 4)]),
    ("LazyBatchNorm3d", lambda: nn.LazyBatchNorm3d(), nn.BatchNorm3d, [randn(2, 3, 2, 3, 3)]),
    ("LazyInstanceNorm1d", lambda: nn.LazyInstanceNorm1d(), nn.InstanceNorm1d, [randn(4, 3, 6)]),
    ("LazyInstanceNorm2d", lambda: nn.LazyInstanceNorm2d(), nn.InstanceNorm2d, [randn(2, 3, 4, 4)]),
    ("LazyInstanceNorm3d", lambda: nn.LazyInstanceNorm3d(), nn.InstanceNorm3d, [randn(2, 3, 2, 3, 3)]),
]


@pytest.mark.parametrize("name,make,becomes,spec", LAZY, ids=[x[0] for x in LAZY])
def test_lazy_layer_materialises_on_the_device(gpu, name, make, becomes, spec):
    lazy = make().to(gpu)
    lazy(*make_inputs(spec, gpu, edunn.float32, False, False))
    assert type(lazy) is becomes, f"{name} became {type(lazy).__name__}, expected {becomes.__name__}"
    for n, t in list(lazy.named_parameters()) + list(lazy.named_buffers()):
        assert on_device(t, gpu), f"{name}.{n} materialised on {t.device}"
        assert not isinstance(t, nn.UninitializedParameter)
    ref = copy.deepcopy(lazy).to("cpu")
    check_module(lambda: copy.deepcopy(ref), spec, gpu)
