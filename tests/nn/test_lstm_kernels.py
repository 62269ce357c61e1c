"""The fused LSTM step kernels of ``edunn.nn.functional._lstm_kernels``, checked without a GPU:
``nn.LSTM`` takes its GPU branches on CPU arrays (``_kernels.on_gpu`` patched, every kernel body
built by the host's C++ compiler, ``tests/_host_kernels.py``) and must give the array path's
outputs, final states and gradients -- several layers, both directions, packed sequences of
unequal lengths, and a projection (whose backward stays on the array path)."""
import numpy as np
import pytest

import edunn
import edunn.nn as nn
from _host_kernels import CXX, NVCC, compile_for_gpu, on_demand
from edunn import _kernels
from edunn.nn.functional import _lstm_kernels

pytestmark = pytest.mark.skipif(CXX is None, reason="needs a C++ compiler")

CASES = {
    "one_layer": dict(kwargs=dict(input_size=5, hidden_size=7), packed=False),
    "two_layers_bidirectional": dict(kwargs=dict(input_size=5, hidden_size=6, num_layers=2, bidirectional=True),
                                     packed=False),
    "packed": dict(kwargs=dict(input_size=5, hidden_size=4, bidirectional=True), packed=True),
    "projection": dict(kwargs=dict(input_size=5, hidden_size=6, proj_size=3), packed=False),
}


def _run(case, dtype):
    edunn.manual_seed(0)
    lstm = nn.LSTM(**case["kwargs"]).to(dtype)
    rng = np.random.default_rng(1)
    x = edunn.tensor(rng.normal(size=(9, 4, 5)), dtype=dtype, requires_grad=True)
    h0 = edunn.tensor(rng.normal(size=lstm.num_layers * (2 if lstm.bidirectional else 1) * 4 *
                                 (lstm.proj_size or lstm.hidden_size)).reshape(-1, 4, lstm.proj_size or lstm.hidden_size),
                      dtype=dtype, requires_grad=True)
    c0 = edunn.tensor(rng.normal(size=(h0.shape[0], 4, lstm.hidden_size)), dtype=dtype, requires_grad=True)
    inp = nn.utils.rnn.pack_padded_sequence(x, [9, 7, 7, 3]) if case["packed"] else x
    out, (h, c) = lstm(inp, (h0, c0))
    out = out.data if case["packed"] else out
    loss = (out * out).sum() + (h * h).sum() * 0.5 + (c * c.sin()).sum()
    loss.backward()
    return [out, h, c, x.grad, h0.grad, c0.grad] + [p.grad for p in lstm.parameters()]


@pytest.mark.parametrize("dtype", [edunn.float32, edunn.float64])
@pytest.mark.parametrize("name", sorted(CASES))
def test_fused_lstm_equals_array_path(tmp_path, monkeypatch, name, dtype):
    want = _run(CASES[name], dtype)
    launch, launched = on_demand(tmp_path)
    with monkeypatch.context() as mp:
        mp.setattr(_kernels, "on_gpu", lambda a: True)
        mp.setattr(_kernels, "launch", launch)
        got = _run(CASES[name], dtype)
    assert "edunn_lstm_cell_forward" in launched
    assert ("edunn_lstm_cell_backward" in launched) == (name != "projection")
    tol = 2e-5 if dtype == edunn.float32 else 1e-12
    for a, b in zip(got, want):
        np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), rtol=tol, atol=tol)


@pytest.mark.skipif(NVCC is None, reason="nvcc is not installed")
def test_lstm_kernels_compile_for_the_gpu(tmp_path):
    done = compile_for_gpu([_lstm_kernels.lstm_cell_forward_kernel(),
                            _lstm_kernels.lstm_cell_backward_kernel()], tmp_path)
    assert done.returncode == 0, done.stderr
