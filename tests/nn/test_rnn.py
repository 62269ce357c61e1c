"""RNN, LSTM, GRU and their cells against PyTorch with the same weights (a PyTorch state_dict
loaded into the edunn module): outputs, final states, the input's and every parameter's gradient,
over layers, directions, batch_first, bias, initial states, unbatched input, projections, eval-mode
dropout and packed sequences; gradcheck in float64; names, order, repr and PyTorch's errors."""
import math
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn as nn
from edunn.autograd import gradcheck, gradgradcheck
from edunn.nn.functional import rnn as FR
from edunn.nn.utils.rnn import pack_padded_sequence
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = pytest.mark.lesson12

MODES = {"tanh": ("RNN", {}), "relu": ("RNN", {"nonlinearity": "relu"}), "lstm": ("LSTM", {}),
         "gru": ("GRU", {})}
T, B, I, H = 4, 3, 3, 5


def _pair(mode, **kw):
    cls, extra = MODES[mode]
    kw = {**extra, **kw}
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm = getattr(torch.nn, cls)(I, H, **kw).double()
        em = getattr(nn, cls)(I, H, **kw).double()
    em.load_state_dict({k: edunn.tensor(v.detach().numpy()) for k, v in tm.state_dict().items()})
    return tm, em


def _np(t):
    return t.detach().numpy()


def _leaf(a):
    return edunn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _states(out):
    """Final states as a list (LSTM gives (h, c))."""
    return list(out[1]) if isinstance(out[1], tuple) else [out[1]]


def _compare(tm, em, x_shape, hx_shapes=None, lstm=False, packed=None, seed=0):
    """Forward both modules on the same input (and initial states), backpropagate the same
    random weighting of every output, compare outputs, final states and all gradients."""
    rng = np.random.default_rng(seed)
    x = rng.standard_normal(x_shape)
    xe, xt = _leaf(x)
    hx_e = hx_t = None
    leaves = [(xe, xt)]
    if hx_shapes:
        pairs = [_leaf(rng.standard_normal(s)) for s in hx_shapes]
        leaves += pairs
        hx_e = tuple(p[0] for p in pairs) if lstm else pairs[0][0]
        hx_t = tuple(p[1] for p in pairs) if lstm else pairs[0][1]
    if packed is not None:
        lengths, enforce_sorted, batch_first = packed
        in_e = pack_padded_sequence(xe, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
        in_t = torch.nn.utils.rnn.pack_padded_sequence(xt, lengths, batch_first=batch_first,
                                                      enforce_sorted=enforce_sorted)
    else:
        in_e, in_t = xe, xt
    oe, ot = em(in_e, hx_e), tm(in_t, hx_t)
    ye, yt = (oe[0].data, ot[0].data) if packed is not None else (oe[0], ot[0])
    if packed is not None:
        assert oe[0].batch_sizes.tolist() == ot[0].batch_sizes.tolist()
    assert tuple(ye.shape) == tuple(yt.shape)
    assert_close(ye, _np(yt), atol=1e-10, rtol=1e-8, what="output")
    se, st = _states(oe), _states(ot)
    loss_e, loss_t = 0, 0
    for a, b in [(ye, yt)] + list(zip(se, st)):
        assert tuple(a.shape) == tuple(b.shape)
        assert_close(a, _np(b), atol=1e-10, rtol=1e-8, what="state")
        w = rng.standard_normal(tuple(b.shape))
        loss_e = loss_e + (a * edunn.tensor(w)).sum()
        loss_t = loss_t + (b * torch.tensor(w)).sum()
    loss_e.backward()
    loss_t.backward()
    for e, t in leaves:
        assert_close(e.grad, _np(t.grad), atol=1e-9, rtol=1e-7, what="input grad")
    tp = dict(tm.named_parameters())
    for name, p in em.named_parameters():
        assert_close(p.grad, _np(tp[name].grad), atol=1e-9, rtol=1e-7, what=f"grad of {name}")


VARIANTS = [dict(batch_first=bf, bias=bias, h0=h0) for bf in (False, True) for bias in (True, False)
            for h0 in (False, True)]


@needs_torch
@pytest.mark.parametrize("variant", range(len(VARIANTS)))
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
@pytest.mark.parametrize("mode", list(MODES))
def test_layer_matches_torch(mode, num_layers, bidirectional, variant):
    v = VARIANTS[variant]
    tm, em = _pair(mode, num_layers=num_layers, bidirectional=bidirectional,
                   batch_first=v["batch_first"], bias=v["bias"])
    D = 2 if bidirectional else 1
    hs = [(D * num_layers, B, H)] * (2 if mode == "lstm" else 1) if v["h0"] else None
    x_shape = (B, T, I) if v["batch_first"] else (T, B, I)
    _compare(tm, em, x_shape, hs, lstm=mode == "lstm", seed=variant)


@needs_torch
@pytest.mark.parametrize("h0", [False, True])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mode", list(MODES))
def test_unbatched_matches_torch(mode, batch_first, h0):
    tm, em = _pair(mode, num_layers=2, bidirectional=True, batch_first=batch_first)
    hs = [(4, H)] * (2 if mode == "lstm" else 1) if h0 else None
    _compare(tm, em, (T, I), hs, lstm=mode == "lstm")


@needs_torch
@pytest.mark.parametrize("h0", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("bidirectional", [False, True])
@pytest.mark.parametrize("num_layers", [1, 2])
def test_lstm_projection_matches_torch(num_layers, bidirectional, bias, h0):
    tm, em = _pair("lstm", num_layers=num_layers, bidirectional=bidirectional, bias=bias, proj_size=2)
    names = [n for n, _ in em.named_parameters()]
    assert "weight_hr_l0" in names and names == [n for n, _ in tm.named_parameters()]
    D = 2 if bidirectional else 1
    hs = [(D * num_layers, B, 2), (D * num_layers, B, H)] if h0 else None
    _compare(tm, em, (T, B, I), hs, lstm=True)


@needs_torch
@pytest.mark.parametrize("mode", list(MODES))
def test_dropout_in_eval_mode_matches_torch(mode):
    tm, em = _pair(mode, num_layers=3, dropout=0.5, bidirectional=True)
    tm.eval()
    em.eval()
    _compare(tm, em, (T, B, I))


@needs_torch
@pytest.mark.parametrize("mode", ["lstm", "gru"])
def test_dropout_one_in_train_mode_drops_every_layer_input(mode):
    """With p=1 every layer after the first sees zeros, in PyTorch too: both are deterministic."""
    tm, em = _pair(mode, num_layers=2, dropout=1.0)
    x = np.random.default_rng(1).standard_normal((T, B, I))
    assert_close(em(edunn.tensor(x))[0], _np(tm(torch.tensor(x))[0]), atol=1e-10)


def test_dropout_in_train_mode_is_random_and_scaled():
    edunn.manual_seed(0)
    m = nn.RNN(2, 200, num_layers=2, dropout=0.5, nonlinearity="relu", bias=False).double()
    with edunn.no_grad():
        m.weight_hh_l0.zero_()
        m.weight_hh_l1.zero_()
        m.weight_ih_l0.fill_(1.0)
        m.weight_ih_l1.copy_(edunn.eye(200, dtype=edunn.float64))
    x = edunn.ones((1, 1, 2), dtype=edunn.float64)
    y = m(x)[0].reshape(-1).detach().numpy()  # layer 1 gives 2 everywhere; dropout keeps 4 or zeros
    assert set(np.unique(y).tolist()) <= {0.0, 4.0}
    assert 0.3 < (y == 0).mean() < 0.7
    assert not np.array_equal(y, m(x)[0].reshape(-1).detach().numpy())
    m.eval()
    assert np.all(m(x)[0].detach().numpy() == 2.0)


@needs_torch
@pytest.mark.parametrize("enforce_sorted,lengths", [(True, [4, 3, 1]), (False, [2, 4, 3]),
                                                    (False, [4, 1, 3])])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize("mode", list(MODES))
def test_packed_input_matches_torch(mode, batch_first, enforce_sorted, lengths):
    tm, em = _pair(mode, num_layers=2, bidirectional=True, batch_first=batch_first)
    hs = [(4, B, H)] * (2 if mode == "lstm" else 1) if not batch_first else None
    x_shape = (B, T, I) if batch_first else (T, B, I)
    _compare(tm, em, x_shape, hs, lstm=mode == "lstm", packed=(lengths, enforce_sorted, batch_first))


@needs_torch
def test_packed_projected_lstm_matches_torch():
    tm, em = _pair("lstm", num_layers=2, bidirectional=True, proj_size=3)
    _compare(tm, em, (T, B, I), [(4, B, 3), (4, B, H)], lstm=True, packed=([3, 4, 2], False, False))


# ---------------------------------------------------------------------------- cells
CELLS = {"tanh": ("RNNCell", {}), "relu": ("RNNCell", {"nonlinearity": "relu"}),
         "lstm": ("LSTMCell", {}), "gru": ("GRUCell", {})}


@needs_torch
@pytest.mark.parametrize("shape", ["batched", "unbatched"])
@pytest.mark.parametrize("h0", [False, True])
@pytest.mark.parametrize("bias", [False, True])
@pytest.mark.parametrize("mode", list(CELLS))
def test_cell_matches_torch(mode, bias, h0, shape):
    cls, kw = CELLS[mode]
    tc = getattr(torch.nn, cls)(I, H, bias=bias, **kw).double()
    ec = getattr(nn, cls)(I, H, bias=bias, **kw).double()
    ec.load_state_dict({k: edunn.tensor(v.detach().numpy()) for k, v in tc.state_dict().items()})
    assert [n for n, _ in ec.named_parameters()] == [n for n, _ in tc.named_parameters()]
    assert repr(ec) == repr(tc)
    lead = (B,) if shape == "batched" else ()
    rng = np.random.default_rng(3)
    xe, xt = _leaf(rng.standard_normal(lead + (I,)))
    leaves = [(xe, xt)]
    he = ht = None
    if h0:
        pairs = [_leaf(rng.standard_normal(lead + (H,))) for _ in range(2 if mode == "lstm" else 1)]
        leaves += pairs
        he = tuple(p[0] for p in pairs) if mode == "lstm" else pairs[0][0]
        ht = tuple(p[1] for p in pairs) if mode == "lstm" else pairs[0][1]
    oe, ot = ec(xe, he), tc(xt, ht)
    oe = oe if isinstance(oe, tuple) else (oe,)
    ot = ot if isinstance(ot, tuple) else (ot,)
    le = lt = 0
    for a, b in zip(oe, ot):
        assert tuple(a.shape) == tuple(b.shape)
        assert_close(a, _np(b), atol=1e-10)
        w = rng.standard_normal(tuple(b.shape))
        le, lt = le + (a * edunn.tensor(w)).sum(), lt + (b * torch.tensor(w)).sum()
    le.backward()
    lt.backward()
    for e, t in leaves:
        assert_close(e.grad, _np(t.grad), atol=1e-9)
    tp = dict(tc.named_parameters())
    for name, p in ec.named_parameters():
        assert_close(p.grad, _np(tp[name].grad), atol=1e-9, what=name)


def _rand(*shape, seed=0):
    return edunn.tensor(np.random.default_rng(seed + len(shape)).standard_normal(shape) * 0.7,
                        requires_grad=True)


@pytest.mark.parametrize("fn,gates", [(FR.rnn_tanh_cell, 1), (FR.rnn_relu_cell, 1), (FR.gru_cell, 3)])
def test_cell_gradcheck(fn, gates):
    x, h = _rand(2, 3, seed=1), _rand(2, 2, seed=2)
    w_ih, w_hh, b_ih, b_hh = _rand(gates * 2, 3, seed=3), _rand(gates * 2, 2, seed=4), \
        _rand(gates * 2, seed=5), _rand(gates * 2, seed=6)
    assert gradcheck(fn, (x, h, w_ih, w_hh, b_ih, b_hh))
    assert gradgradcheck(fn, (x, h, w_ih, w_hh, b_ih, b_hh))


def test_lstm_cell_gradcheck():
    x, h, c = _rand(2, 3, seed=1), _rand(2, 2, seed=2), _rand(2, 2, seed=7)
    w_ih, w_hh, b_ih, b_hh = _rand(8, 3, seed=3), _rand(8, 2, seed=4), _rand(8, seed=5), _rand(8, seed=6)

    def f(x, h, c, *w):
        return FR.lstm_cell(x, (h, c), *w)
    assert gradcheck(f, (x, h, c, w_ih, w_hh, b_ih, b_hh))
    assert gradgradcheck(f, (x, h, c, w_ih, w_hh, b_ih, b_hh))


@pytest.mark.parametrize("packed", [False, True])
def test_multilayer_bidirectional_lstm_gradcheck(packed):
    edunn.manual_seed(0)
    m = nn.LSTM(2, 2, num_layers=2, bidirectional=True).double()
    weights = m._flat_weights
    x = _rand(3, 2, 2, seed=8) if not packed else _rand(5, 2, seed=8)  # packed: lengths [3, 2]
    h0, c0 = _rand(4, 2, 2, seed=9), _rand(4, 2, 2, seed=10)
    bs = [2, 2, 1] if packed else None

    def f(x, h0, c0, *w):
        return FR.rnn_forward("LSTM", x, bs, (h0, c0), w, True, 2, 0.0, False, True)
    assert gradcheck(f, (x, h0, c0, *weights))


def test_gru_layer_gradcheck():
    edunn.manual_seed(0)
    m = nn.GRU(2, 2, num_layers=2, bidirectional=True).double()
    x, h0 = _rand(3, 2, 2, seed=8), _rand(4, 2, 2, seed=9)

    def f(x, h0, *w):
        return FR.rnn_forward("GRU", x, None, (h0,), w, True, 2, 0.0, False, True)
    assert gradcheck(f, (x, h0, *m._flat_weights))


# ---------------------------------------------------------------------------- structure
@needs_torch
@pytest.mark.parametrize("kw", [dict(), dict(num_layers=2, bidirectional=True, bias=False),
                                dict(proj_size=2, num_layers=2, batch_first=True, dropout=0.3),
                                dict(nonlinearity="relu")])
@pytest.mark.parametrize("cls", ["RNN", "LSTM", "GRU"])
def test_names_order_shapes_repr_and_init(cls, kw):
    if ("proj_size" in kw and cls != "LSTM") or ("nonlinearity" in kw and cls != "RNN"):
        with pytest.raises(Exception) as et:
            getattr(torch.nn, cls)(I, H, **kw)
        with pytest.raises(type(et.value)):  # ValueError for proj_size, TypeError for nonlinearity
            getattr(nn, cls)(I, H, **kw)
        return
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tm, em = getattr(torch.nn, cls)(I, H, **kw), getattr(nn, cls)(I, H, **kw)
    assert [(n, tuple(p.shape)) for n, p in em.named_parameters()] == \
        [(n, tuple(p.shape)) for n, p in tm.named_parameters()]
    assert em._flat_weights_names == tm._flat_weights_names
    assert em._all_weights == tm._all_weights
    assert [[tuple(w.shape) for w in ws] for ws in em.all_weights] == \
        [[tuple(w.shape) for w in ws] for ws in tm.all_weights]
    assert all(a is b for a, b in zip(em._flat_weights, em.parameters()))
    assert repr(em) == repr(tm)
    bound = 1 / math.sqrt(H)
    allw = np.concatenate([p.detach().numpy().ravel() for p in em.parameters()])
    assert allw.min() >= -bound and allw.max() <= bound and allw.std() > bound / 3


def test_flat_weights_follow_reassignment():
    m = nn.GRU(2, 3)
    p = nn.Parameter(edunn.zeros((9, 2)))
    m.weight_ih_l0 = p
    assert m._flat_weights[0] is p


def test_dropout_warning_and_constructor_errors():
    with pytest.warns(UserWarning, match="non-zero dropout expects num_layers greater than 1, but got "
                                         "dropout=0.5 and num_layers=1"):
        nn.LSTM(2, 3, dropout=0.5)
    for kw, err, msg in [(dict(dropout=1.5), ValueError, "dropout should be a number in range"),
                         (dict(hidden_size=0), ValueError, "hidden_size must be greater than zero"),
                         (dict(num_layers=0), ValueError, "num_layers must be greater than zero"),
                         (dict(proj_size=3), ValueError, "proj_size has to be smaller than hidden_size"),
                         (dict(bias=1), TypeError, "bias should be of type bool, got: int")]:
        args = {"input_size": 2, "hidden_size": 3, **kw}
        with pytest.raises(err, match=msg):
            nn.LSTM(**args)
    with pytest.raises(ValueError, match="Unknown nonlinearity 'sigmoid'. Select from 'tanh' or 'relu'."):
        nn.RNN(2, 3, nonlinearity="sigmoid")
    with pytest.raises(ValueError, match="proj_size argument is only supported for LSTM"):
        nn.GRU(2, 3, proj_size=1)


def _same_error(fe, ft):
    with pytest.raises(Exception) as ee:
        fe()
    with pytest.raises(Exception) as et:
        ft()
    assert type(ee.value) is type(et.value)
    assert str(ee.value) == str(et.value)


@needs_torch
@pytest.mark.parametrize("mode", list(MODES))
def test_bad_input_errors_match_torch(mode):
    tm, em = _pair(mode)
    lstm = mode == "lstm"
    cases = [((T, B, I + 1), None), ((T, B, I, 1), None), ((T, B, I), [(1, B + 1, H)] * (1 + lstm)),
             ((T, B, I), [(B, H)] * (1 + lstm)), ((T, I), [(1, 1, H)] * (1 + lstm)),
             ((T, B, I), [(2, B, H)] * (1 + lstm))]
    if lstm:
        cases.append(((T, B, I), [(1, B, H), (1, B, H + 1)]))
    for xs, hs in cases:
        x = np.zeros(xs)

        def run(lib, mod):
            h = None if hs is None else [lib.tensor(np.zeros(s)) for s in hs]
            h = None if h is None else (tuple(h) if lstm else h[0])
            return mod(lib.tensor(x), h)
        _same_error(lambda: run(edunn, em), lambda: run(torch, tm))
    with pytest.raises(ValueError, match="does not match weight dtype"):
        em(edunn.zeros((T, B, I)))  # float32 input, float64 weights


@needs_torch
@pytest.mark.parametrize("mode", list(CELLS))
def test_cell_errors_match_torch(mode):
    cls, kw = CELLS[mode]
    tc, ec = getattr(torch.nn, cls)(I, H, **kw), getattr(nn, cls)(I, H, **kw)
    lstm = mode == "lstm"
    for xs, hs in [((B, I + 1), None), ((B, I), (B + 1, H)), ((B, I), (B, H + 1)), ((1, B, I), None),
                   ((B, I), (1, B, H))]:
        def run(lib, mod):
            h = None if hs is None else lib.zeros(hs)
            return mod(lib.zeros(xs), None if h is None else ((h, h) if lstm else h))
        _same_error(lambda: run(edunn, ec), lambda: run(torch, tc))


def test_state_dict_round_trip_and_float32_forward():
    m = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    m2 = nn.LSTM(3, 4, num_layers=2, bidirectional=True)
    m2.load_state_dict(m.state_dict())
    x = edunn.randn(5, 2, 3)
    y, (h, c) = m(x)
    assert y.dtype == edunn.float32 and tuple(y.shape) == (5, 2, 8) and tuple(h.shape) == (4, 2, 4)
    assert_close(m2(x)[0], y.detach().numpy(), atol=0)


@pytest.mark.parametrize("mode,packed", [("LSTM", False), ("LSTM", True), ("GRU", True),
                                         ("RNN_TANH", False), ("RNN_RELU", True)])
def test_layer_double_backward(mode, packed):
    """Under create_graph the fused recurrence's backward is rebuilt from tensor ops."""
    G = {"LSTM": 4, "GRU": 3}.get(mode, 1)
    x = _rand(5, 2, seed=1) if packed else _rand(3, 2, 2, seed=1)
    bs = [2, 2, 1] if packed else None
    hx = (_rand(1, 2, 2, seed=2), _rand(1, 2, 2, seed=3))[:2 if mode == "LSTM" else 1]
    w = [_rand(G * 2, 2, seed=4), _rand(G * 2, 2, seed=5), _rand(G * 2, seed=6), _rand(G * 2, seed=7)]
    if mode == "RNN_RELU":  # keep away from relu's kink for finite differences
        w = [edunn.tensor(np.abs(p.detach().numpy()) + 0.1, requires_grad=True) for p in w]
    n = len(hx)

    def f(x, *a):
        return FR.rnn_forward(mode, x, bs, a[:n], a[n:], True, 1, 0.0, False, False)
    assert gradgradcheck(f, (x, *hx, *w))


def test_projected_lstm_double_backward():
    x, h0, c0 = _rand(2, 1, 2, seed=1), _rand(1, 1, 1, seed=2), _rand(1, 1, 2, seed=3)
    w = [_rand(8, 2, seed=4), _rand(8, 1, seed=5), _rand(1, 2, seed=6)]

    def f(x, h0, c0, *w):
        return FR.rnn_forward("LSTM", x, None, (h0, c0), w, False, 1, 0.0, False, False, 1)
    assert gradcheck(f, (x, h0, c0, *w))
    assert gradgradcheck(f, (x, h0, c0, *w))


@needs_torch
def test_empty_batch_and_empty_sequence():
    tm, em = _pair("lstm", bidirectional=True)
    ye, (he, ce) = em(edunn.zeros((T, 0, I), dtype=edunn.float64))
    yt, (ht, ct) = tm(torch.zeros((T, 0, I), dtype=torch.float64))
    assert tuple(ye.shape) == tuple(yt.shape) and tuple(he.shape) == tuple(ht.shape)
    _same_error(lambda: em(edunn.zeros((0, B, I), dtype=edunn.float64)),
                lambda: tm(torch.zeros((0, B, I), dtype=torch.float64)))


@pytest.mark.parametrize("cls", ["LSTM", "GRU", "RNN"])
def test_packed_layer_on_device_matches_cpu(cls, device):
    edunn.manual_seed(0)
    m = getattr(nn, cls)(3, 4, num_layers=2, bidirectional=True).double()
    rng = np.random.default_rng(6)
    x = rng.standard_normal((5, 3, 3))
    ref_in = pack_padded_sequence(edunn.tensor(x, requires_grad=True), [3, 5, 2], enforce_sorted=False)
    ref_out, _ = m(ref_in)
    ref_out.data.sum().backward()
    ref_grads = [p.grad.numpy().copy() for p in m.parameters()]
    m.zero_grad()
    m.to(device)
    xd = edunn.tensor(x, device=device, requires_grad=True)
    out, hn = m(pack_padded_sequence(xd, [3, 5, 2], enforce_sorted=False))
    out.data.sum().backward()
    assert out.data.device.type == device
    assert_close(out.data.cpu(), ref_out.data.detach().numpy(), atol=1e-12)
    for p, g in zip(m.parameters(), ref_grads):
        assert_close(p.grad.cpu(), g, atol=1e-12)
