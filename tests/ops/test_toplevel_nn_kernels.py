"""The nn kernels torch exports at the top level with native signatures -- ``embedding_bag``
(four results), ``conv_tbc``, ``grid_sampler``, ``affine_grid_generator`` and the RNN cells --
compared with PyTorch: values, auxiliary results, gradients, errors."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch

R = np.random.default_rng(4)
W = R.standard_normal((10, 3))
IDX, OFFS = [1, 2, 4, 5, 4, 3, 2, 9], [0, 4, 4]


@pytest.mark.parametrize("args", [(False, 0), (False, 1), (False, 2), (False, 1, False, None, True),
                                  (False, 0, False, None, False, 2), (False, 2, False, None, False, 4),
                                  (True, 1, False, None, False, 4)])
def test_embedding_bag_four_results(args, device):
    offs = [0, 3, 8] if len(args) > 4 and args[4] else OFFS  # include_last_offset: the last is len(IDX)
    ours = edunn.embedding_bag(edunn.tensor(W, device=device), edunn.tensor(IDX, device=device),
                               edunn.tensor(offs, device=device), *args)
    theirs = torch.embedding_bag(torch.tensor(W), torch.tensor(IDX), torch.tensor(offs), *args)
    assert len(ours) == 4
    for a, b in zip(ours, theirs):
        assert tuple(a.shape) == tuple(b.shape)
        assert_close(a, b, atol=1e-12)
    assert [t.dtype for t in ours[1:]] == [edunn.int64] * 3


def test_embedding_bag_per_sample_weights_2d_and_grad():
    psw = R.standard_normal(8)
    ours = edunn.embedding_bag(edunn.tensor(W), edunn.tensor(IDX), edunn.tensor(OFFS), False, 0, False,
                               edunn.tensor(psw))
    theirs = torch.embedding_bag(torch.tensor(W), torch.tensor(IDX), torch.tensor(OFFS), False, 0, False,
                                 torch.tensor(psw))
    assert_close(ours[0], theirs[0], atol=1e-12)
    idx2 = [[1, 2, 3], [4, 4, 0]]
    ours = edunn.embedding_bag(edunn.tensor(W), edunn.tensor(idx2), None, False, 2)
    theirs = torch.nn.functional.embedding_bag(torch.tensor(idx2), torch.tensor(W), mode="max")
    assert_close(ours[0], theirs, atol=1e-12)
    w = edunn.tensor(W, requires_grad=True)
    assert edunn.autograd.gradcheck(lambda t: edunn.embedding_bag(t, edunn.tensor(IDX), edunn.tensor(OFFS),
                                                                  False, 1)[0], (w,))
    with pytest.raises(ValueError, match="mode has to be 0"):
        edunn.embedding_bag(edunn.tensor(W), edunn.tensor(IDX), edunn.tensor(OFFS), False, 3)


def test_conv_tbc(device):
    x, w, b = R.standard_normal((7, 2, 3)), R.standard_normal((3, 3, 4)), R.standard_normal(4)
    for pad in (0, 1, 2):
        ours = edunn.conv_tbc(*(edunn.tensor(a, device=device) for a in (x, w, b)), pad)
        assert_close(ours, torch.conv_tbc(*(torch.tensor(a) for a in (x, w, b)), pad), atol=1e-10)
    xs = [edunn.tensor(a, requires_grad=True) for a in (x, w, b)]
    assert edunn.autograd.gradcheck(lambda *t: edunn.conv_tbc(*t, 1), xs)
    with pytest.raises(RuntimeError, match="input channels"):
        edunn.conv_tbc(edunn.ones(7, 2, 2), edunn.ones(3, 3, 4), edunn.ones(4))
    with pytest.raises(RuntimeError, match="output channels"):
        edunn.conv_tbc(edunn.ones(7, 2, 3), edunn.ones(3, 3, 4), edunn.ones(5))
    with pytest.raises(RuntimeError, match="input must have 3 dims"):
        edunn.conv_tbc(edunn.ones(7, 2), edunn.ones(3, 3, 4), edunn.ones(4))


@pytest.mark.parametrize("interp,pad,align", [(0, 0, False), (1, 1, True), (2, 2, False), (0, 2, True)])
def test_grid_sampler_and_affine_grid_generator(interp, pad, align):
    theta = R.standard_normal((2, 2, 3)) * 0.5
    img = R.standard_normal((2, 3, 5, 6))
    g = edunn.affine_grid_generator(edunn.tensor(theta), [2, 3, 4, 4], align)
    tg = torch.affine_grid_generator(torch.tensor(theta), [2, 3, 4, 4], align)
    assert_close(g, tg, atol=1e-12)
    out = edunn.grid_sampler(edunn.tensor(img), g, interp, pad, align)
    assert_close(out, torch.grid_sampler(torch.tensor(img), tg, interp, pad, align), atol=1e-10)


def test_grid_sampler_2d_3d():
    img2, img3 = R.standard_normal((1, 2, 4, 5)), R.standard_normal((1, 2, 3, 4, 5))
    g2, g3 = R.uniform(-1.1, 1.1, (1, 3, 3, 2)), R.uniform(-1.1, 1.1, (1, 2, 3, 3, 3))
    assert_close(edunn.grid_sampler_2d(edunn.tensor(img2), edunn.tensor(g2), 0, 1, True),
                 torch.grid_sampler_2d(torch.tensor(img2), torch.tensor(g2), 0, 1, True), atol=1e-10)
    assert_close(edunn.grid_sampler_3d(edunn.tensor(img3), edunn.tensor(g3), 1, 0, False),
                 torch.grid_sampler_3d(torch.tensor(img3), torch.tensor(g3), 1, 0, False), atol=1e-10)
    with pytest.raises(RuntimeError, match="expected 4D input and grid with same number of dimensions"):
        edunn.grid_sampler_2d(edunn.tensor(img3), edunn.tensor(g3), 0, 0, False)
    with pytest.raises(RuntimeError, match="expected 4D input and grid with same number of dimensions"):
        torch.grid_sampler_2d(torch.tensor(img3), torch.tensor(g3), 0, 0, False)


def test_grid_sampler_errors():
    with pytest.raises(RuntimeError, match="interpolation_mode"):
        edunn.grid_sampler(edunn.ones(1, 1, 2, 2), edunn.zeros(1, 2, 2, 2), 5, 0, False)
    with pytest.raises(RuntimeError, match="padding_mode"):
        edunn.grid_sampler(edunn.ones(1, 1, 2, 2), edunn.zeros(1, 2, 2, 2), 0, 7, False)


@pytest.mark.parametrize("name", ["rnn_tanh_cell", "rnn_relu_cell", "gru_cell", "lstm_cell"])
def test_rnn_cells(name):
    gates = {"rnn_tanh_cell": 1, "rnn_relu_cell": 1, "gru_cell": 3, "lstm_cell": 4}[name]
    x, h = R.standard_normal((2, 3)), R.standard_normal((2, 4))
    w_ih, w_hh = R.standard_normal((4 * gates, 3)), R.standard_normal((4 * gates, 4))
    b_ih, b_hh = R.standard_normal(4 * gates), R.standard_normal(4 * gates)
    hx = (h, R.standard_normal((2, 4))) if name == "lstm_cell" else h

    def conv(lib, a):
        return tuple(lib.tensor(t) for t in a) if isinstance(a, tuple) else lib.tensor(a)
    for biases in ((b_ih, b_hh), ()):
        ours = getattr(edunn, name)(conv(edunn, x), conv(edunn, hx), conv(edunn, w_ih), conv(edunn, w_hh),
                                    *(conv(edunn, b) for b in biases))
        theirs = getattr(torch, name)(conv(torch, x), conv(torch, hx), conv(torch, w_ih), conv(torch, w_hh),
                                      *(conv(torch, b) for b in biases))
        for a, b in zip(ours if isinstance(ours, tuple) else (ours,), theirs if isinstance(theirs, tuple) else (theirs,)):
            assert_close(a, b, atol=1e-10)


@pytest.mark.parametrize("name", ["embedding_bag", "conv_tbc", "grid_sampler", "grid_sampler_2d", "grid_sampler_3d",
                                  "affine_grid_generator",
                                  "lstm_cell", "gru_cell", "rnn_tanh_cell", "rnn_relu_cell",
                                  "native_layer_norm", "native_group_norm", "native_batch_norm", "native_dropout",
                                  "convolution", "rnn_tanh", "rnn_relu", "lstm", "gru"])
def test_kernels_take_the_native_schemas_arguments(name):
    """Torch documents no signature for these: compare with the first native overload (``self``
    is ``input``), positions, names and which have defaults."""
    import inspect
    schema = torch._C._jit_get_schemas_for_operator("aten::" + name)[-1 if name == "embedding_bag" else 0]
    theirs = [("input" if a.name == "self" else a.name, a.kwarg_only) for a in schema.arguments if a.name != "out"]
    params = inspect.signature(getattr(edunn, name)).parameters.values()
    assert [(p.name, p.kind == p.KEYWORD_ONLY) for p in params] == theirs
    defaults = {a.name: a.default_value for a in torch._C._jit_get_schemas_for_operator("aten::" + name)[0].arguments
                if a.default_value is not None}
    for p in params:
        if p.name in defaults:
            assert p.default == defaults[p.name], p.name


NATIVE_NORMS = {
    "layer_norm": lambda m, x, w, b: m.native_layer_norm(x, (4,), w, b, 1e-5),
    "layer_norm_two_dims": lambda m, x, w, b: m.native_layer_norm(x, (6, 4), None, None, 1e-3),
    "group_norm": lambda m, x, w, b: m.native_group_norm(x, w[:3].repeat(2), b[:3].repeat(2), 2, 6, 4, 3, 1e-5),
    "batch_norm_training": lambda m, x, w, b: m.native_batch_norm(x, w[:3].repeat(2), None, None, None, True, 0.1,
                                                                  1e-5),
    "batch_norm_eval": lambda m, x, w, b: m.native_batch_norm(x, None, b[:3].repeat(2), x.new_zeros(6),
                                                              x.new_ones(6) * 2, False, 0.1, 1e-5),
}


@pytest.mark.parametrize("case", NATIVE_NORMS)
def test_native_norms_return_torchs_statistics(case, device):
    """``native_layer_norm``/``native_group_norm``/``native_batch_norm``: the output (with its
    gradients) and the saved mean and 1/std, shapes included.  The statistics carry no graph
    (PyTorch marks group norm's as requiring grad, but has no formula to differentiate them)."""
    x, w, b = R.standard_normal((2, 6, 4)), R.standard_normal(4), R.standard_normal(4)
    results = []
    for m, dev in ((edunn, device), (torch, "cpu")):
        xs = m.tensor(x, device=dev, requires_grad=True)
        ws, bs = (m.tensor(a, device=dev, requires_grad=True) for a in (w, b))
        out = NATIVE_NORMS[case](m, xs, ws, bs)
        assert len(out) == 3 and (m is torch or not out[1].requires_grad and not out[2].requires_grad)
        (out[0] * m.tensor(np.linspace(-1, 2, x.size).reshape(x.shape), device=dev)).sum().backward()
        results.append([*out, xs.grad, ws.grad, bs.grad])
    for a, t in zip(*results):
        assert (a is None) == (t is None)
        if a is not None:
            assert tuple(a.shape) == tuple(t.shape)
            assert_close(a, t, atol=1e-10)


def test_native_group_norm_checks_its_sizes_as_torch():
    messages = []
    for m in (edunn, torch):
        with pytest.raises(RuntimeError) as info:
            m.native_group_norm(m.zeros(2, 4, 3), None, None, 2, 4, 5, 2, 1e-5)
        messages.append(str(info.value).split("  (Could")[0])
    assert messages[0] == messages[1]


CONVOLUTIONS = {  # (input shape, weight shape, bias, stride, padding, dilation, transposed, output_padding, groups)
    "1d": ((2, 4, 11), (6, 2, 3), True, (2,), (1,), (1,), False, (0,), 2),
    "2d": ((2, 3, 9, 8), (4, 3, 3, 2), True, (2, 1), (1, 0), (1, 2), False, (0, 0), 1),
    "3d_no_bias": ((1, 2, 5, 6, 4), (3, 2, 2, 3, 2), False, (1, 2, 1), (0, 1, 1), (1, 1, 1), False, (0, 0, 0), 1),
    "transposed_1d": ((2, 4, 7), (4, 3, 3), True, (2,), (1,), (1,), True, (1,), 1),
    "transposed_2d_groups": ((2, 4, 5, 6), (4, 1, 3, 3), False, (2, 2), (0, 1), (1, 1), True, (1, 0), 2),
}


@pytest.mark.parametrize("case", CONVOLUTIONS)
def test_convolution_dispatches_as_torch(case, device):
    shape, wshape, with_bias, *rest = CONVOLUTIONS[case]
    x, w, b = R.standard_normal(shape), R.standard_normal(wshape), R.standard_normal(wshape[1] * rest[-1] if rest[3] else
                                                                                      wshape[0])
    results = []
    for m, dev in ((edunn, device), (torch, "cpu")):
        xs, ws, bs = (m.tensor(a, device=dev, requires_grad=True) for a in (x, w, b))
        out = m.convolution(xs, ws, bs if with_bias else None, *rest)
        (out * out).sum().backward()
        results.append((out, xs.grad, ws.grad) + ((bs.grad,) if with_bias else ()))
    for a, t in zip(*results):
        assert tuple(a.shape) == tuple(t.shape)
        assert_close(a, t, atol=1e-9)


def test_native_dropout_returns_the_mask_it_applied(device):
    x = edunn.tensor(R.standard_normal((200, 100)), device=device, requires_grad=True)
    out, mask = edunn.native_dropout(x, 0.3, True)
    assert mask.dtype == edunn.bool and tuple(mask.shape) == (200, 100) and not mask.requires_grad
    kept = mask.float().mean().item()
    assert abs(kept - 0.7) < 4 * (0.7 * 0.3 / 20000) ** 0.5  # 4 standard deviations of the kept fraction
    assert_close(out, x * mask / 0.7, atol=1e-12)
    out.sum().backward()
    assert_close(x.grad, mask / 0.7, atol=1e-12)


@pytest.mark.parametrize("p, train", [(0.4, False), (0.4, None), (0.0, True), (1.0, True)])
def test_native_dropout_edge_cases_as_torch(p, train):
    x = R.standard_normal((3, 4))
    ours, theirs = edunn.native_dropout(edunn.tensor(x), p, train), torch.native_dropout(torch.tensor(x), p, train)
    if p in (0.0, 1.0) or train is False:  # nothing random left: equal to torch's
        for a, t in zip(ours, theirs):
            assert a.dtype.name == str(t.dtype).split(".")[-1]
            assert_close(a, t, atol=0)
    else:
        assert ours[1].dtype == edunn.bool and tuple(ours[0].shape) == (3, 4)


def test_native_dropout_refuses_p_outside_0_1_as_torch():
    messages = []
    for m in (edunn, torch):
        with pytest.raises(RuntimeError) as info:
            m.native_dropout(m.ones(3), 1.5, True)
        messages.append(str(info.value))
    assert messages[0] == messages[1]


RECURRENT = {"rnn_tanh": "RNN", "rnn_relu": "RNN", "lstm": "LSTM", "gru": "GRU"}
LAYOUTS = {  # (num_layers, bidirectional, batch_first, packed, proj_size)
    "one_layer": (1, False, False, False, 0),
    "two_layers_bidirectional_batch_first": (2, True, True, False, 0),
    "packed": (2, False, False, True, 0),
    "projected": (1, True, False, False, 2),
}


@pytest.mark.parametrize("layout", LAYOUTS)
@pytest.mark.parametrize("name", RECURRENT)
def test_whole_sequence_recurrent_kernels_as_torch(name, layout, device):
    """``torch.lstm(input, hx, params, ...)`` and its siblings, both overloads (a padded batch and
    a packed sequence's data with its batch sizes), with a module's flat weights: outputs, final
    states and the gradients of the input, the states and every weight."""
    layers, bidirectional, batch_first, packed, proj = LAYOUTS[layout]
    if proj and name != "lstm":
        pytest.skip("proj_size is an LSTM's")
    kw = {"nonlinearity": name[4:]} if name.startswith("rnn") else ({"proj_size": proj} if proj else {})
    module = getattr(torch.nn, RECURRENT[name])(3, 4, num_layers=layers, bidirectional=bidirectional,
                                                 dtype=torch.float64, **kw)
    weights = [w.detach().numpy() for w in module._flat_weights]
    d, h_out = 2 if bidirectional else 1, proj or 4
    x = R.standard_normal((5, 2, 3) if not batch_first else (2, 5, 3))
    states = [R.standard_normal((layers * d, 2, h_out))] + ([R.standard_normal((layers * d, 2, 4))]
                                                            if name == "lstm" else [])
    results = []
    for m, dev in ((edunn, device), (torch, "cpu")):
        xs = m.tensor(x, device=dev, requires_grad=True)
        hs = [m.tensor(s, device=dev, requires_grad=True) for s in states]
        ws = [m.tensor(w, device=dev, requires_grad=True) for w in weights]
        hx = hs if name == "lstm" else hs[0]
        fn = getattr(m, name)
        if packed:
            data = xs.reshape(10, 3)  # time-major: 5 steps of a batch of 2, both sequences of length 5
            out = fn(data, m.tensor([2] * 5), hx, ws, True, layers, 0.0, False, bidirectional)
        else:
            out = fn(xs, hx, ws, True, layers, 0.0, False, bidirectional, batch_first)
        assert len(out) == (3 if name == "lstm" else 2)
        sum(o.sin().sum() for o in out).backward()
        results.append([*out, xs.grad, *(s.grad for s in hs), *(w.grad for w in ws)])
    for a, t in zip(*results):
        assert tuple(a.shape) == tuple(t.shape)
        assert_close(a, t, atol=1e-9)

