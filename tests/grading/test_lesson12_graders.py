"""The graders of lesson 12: the references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson12 as lesson12
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, stub

pytestmark = pytest.mark.lesson12

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "12_recurrent.ipynb"
EXERCISES = ("rnn_tanh_cell", "lstm_cell", "gru_cell", "lstm_layer")


@pytest.mark.parametrize("name", EXERCISES)
def test_reference_full_marks_and_stub_zero(name):
    assert_full_marks(f"12.{name}", getattr(lesson12, name))
    assert_zero(f"12.{name}", stub)


def test_references_agree_with_torch():
    torch = pytest.importorskip("torch")
    g = torch.Generator().manual_seed(0)
    x, h, c = (torch.randn(3, 4, generator=g, dtype=torch.float64) for _ in range(3))
    x = x[:, :4]
    for torch_cell, ours, gates in ((torch.nn.RNNCell, lesson12.rnn_tanh_cell, 1),
                                    (torch.nn.LSTMCell, lesson12.lstm_cell, 4),
                                    (torch.nn.GRUCell, lesson12.gru_cell, 3)):
        cell = torch_cell(4, 4, dtype=torch.float64)
        params = [edunn.tensor(p.detach().numpy()) for p in
                  (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
        if gates == 4:
            expected = cell(x, (h, c))[1].detach()
            got = ours(edunn.tensor(x.numpy()), (edunn.tensor(h.numpy()), edunn.tensor(c.numpy())), *params)[1]
        else:
            expected = cell(x, h).detach()
            got = ours(edunn.tensor(x.numpy()), edunn.tensor(h.numpy()), *params)
        torch.testing.assert_close(torch.tensor(got.tolist(), dtype=torch.float64), expected, rtol=0, atol=1e-12)


# ---------------------------------------------------------------------------- planted mistakes

def rnn_relu(x, h, w_ih, w_hh, b_ih, b_hh):
    return lesson12.rnn_math(x, h, w_ih, w_hh, b_ih, b_hh, relu=True)


def rnn_one_bias(x, h, w_ih, w_hh, b_ih, b_hh):
    return edunn.tanh(x @ w_ih.T + b_ih + h @ w_hh.T)


def rnn_detached(x, h, w_ih, w_hh, b_ih, b_hh):
    return edunn.tensor(lesson12.rnn_tanh_cell(x, h, w_ih, w_hh, b_ih, b_hh).tolist(), dtype=x.dtype)


def test_rnn_mistakes():
    assert_partial("12.rnn_tanh_cell", rnn_relu, mentions="nonlinearity is tanh")
    assert_partial("12.rnn_tanh_cell", rnn_one_bias, mentions="b_hh")
    assert_partial("12.rnn_tanh_cell", rnn_detached, mentions="no gradient reached")


def lstm_order(order):
    def cell(x, hx, w_ih, w_hh, b_ih, b_hh):
        return lesson12.lstm_math(x, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh, order=order)
    return cell


def lstm_sigmoid_g(x, hx, w_ih, w_hh, b_ih, b_hh):
    return lesson12.lstm_math(x, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh, sigmoid_g=True)


def lstm_no_tanh_c(x, hx, w_ih, w_hh, b_ih, b_hh):
    return lesson12.lstm_math(x, hx[0], hx[1], w_ih, w_hh, b_ih, b_hh, no_tanh_c=True)


def lstm_swapped_return(x, hx, w_ih, w_hh, b_ih, b_hh):
    h, c = lesson12.lstm_cell(x, hx, w_ih, w_hh, b_ih, b_hh)
    return c, h


def test_lstm_cell_mistakes():
    assert_partial("12.lstm_cell", lstm_order("ifog"), mentions="(i, f, g, o): you used (i, f, o, g)")
    assert_partial("12.lstm_cell", lstm_order("figo"), mentions="you used (f, i, g, o)")
    assert_partial("12.lstm_cell", lstm_sigmoid_g, mentions="not sigmoid")
    assert_partial("12.lstm_cell", lstm_no_tanh_c, mentions="tanh of the new cell state")
    assert_partial("12.lstm_cell", lstm_swapped_return, mentions="you returned (c', h')")


def gru_variant(**switch):
    def cell(x, h, w_ih, w_hh, b_ih, b_hh):
        return lesson12.gru_math(x, h, w_ih, w_hh, b_ih, b_hh, **switch)
    return cell


def test_gru_cell_mistakes():
    assert_partial("12.gru_cell", gru_variant(r_before=True), mentions="applied r to h before multiplying")
    assert_partial("12.gru_cell", gru_variant(swap_z=True), mentions="swapped")
    assert_partial("12.gru_cell", gru_variant(order="zrn"), mentions="you used (z, r, n)")
    assert_partial("12.gru_cell", gru_variant(no_reset=True), mentions="reset gate")


def layer_restarting(x, hx, w_ih, w_hh, b_ih, b_hh):
    if hx is None:
        zeros = edunn.zeros(x.shape[1], w_hh.shape[1], dtype=x.dtype)
        hx = (zeros, zeros)
    out = lesson12._restarting_layer(x, hx, w_ih, w_hh, b_ih, b_hh, keep_h=False)
    return out, (out[-1], lesson12.lstm_cell(x[-1], hx, w_ih, w_hh, b_ih, b_hh)[1])


def layer_last_only(x, hx, w_ih, w_hh, b_ih, b_hh):
    out, (h, c) = lesson12.lstm_layer(x, hx, w_ih, w_hh, b_ih, b_hh)
    return h, (h, c)


def layer_no_zeros(x, hx, w_ih, w_hh, b_ih, b_hh):
    h, c = hx                                   # fails for hx=None
    return lesson12.lstm_layer(x, (h, c), w_ih, w_hh, b_ih, b_hh)


def test_lstm_layer_mistakes():
    assert_partial("12.lstm_layer", layer_restarting, mentions="not carried")
    assert_partial("12.lstm_layer", layer_last_only, mentions="the shape of output")
    assert_partial("12.lstm_layer", layer_no_zeros, mentions="hx=None")


# ---------------------------------------------------------------------------- the notebook

def _solution_namespace():
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import edunn\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/12_recurrent.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    for name in EXERCISES:
        assert_full_marks(f"12.{name}", ns[name])
