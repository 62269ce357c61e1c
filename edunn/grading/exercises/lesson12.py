"""Graders of lesson 12 (recurrent networks): one step of an Elman RNN, of an LSTM and of a GRU,
written with tensor ops, and an LSTM run over a whole sequence.

The learner's functions have the signature of PyTorch's own cell functions
(``torch._VF.rnn_tanh_cell``, ``lstm_cell``, ``gru_cell``, which ``nn.RNNCell``, ``nn.LSTMCell``
and ``nn.GRUCell`` call): ``cell(input, hx, w_ih, w_hh, b_ih, b_hh)``.  Every grader builds the
matching ``edunn.nn`` module, gives it the same random weights, and compares values and gradients
(input, state, both weights, both biases) in float64.  The usual mistakes are recomputed from the
same numbers by ``*_math`` below with one switch flipped, so the feedback can name them:

    your gate order differs from PyTorch's (i, f, g, o): you used (i, f, o, g): h': got ...

``lstm_layer(input, hx, w_ih, w_hh, b_ih, b_hh)`` is compared with ``nn.LSTM`` (one layer,
sequence-first): the output at every step and the final ``(h_n, c_n)``, with and without an
initial state, and the gradients that flow back through time.
"""

from __future__ import annotations

from typing import Any

import edunn
import edunn.nn as nn
from edunn.grading import Fail, exercise

# ---------------------------------------------------------------------------- references
# The solutions of the notebook, in the few lines a learner writes.


def rnn_tanh_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> Any:
    """h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh); x (N, I), h (N, H) -> (N, H)."""
    return edunn.tanh(input @ w_ih.T + b_ih + hx @ w_hh.T + b_hh)


def lstm_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple:
    """PyTorch's LSTM step, gates (i, f, g, o) from one matmul each for x and h:
    c' = f * c + i * g, h' = o * tanh(c')."""
    h, c = hx
    gates = input @ w_ih.T + b_ih + h @ w_hh.T + b_hh            # (N, 4H)
    i, f, g, o = gates.chunk(4, dim=1)
    i, f, g, o = i.sigmoid(), f.sigmoid(), g.tanh(), o.sigmoid()
    c_next = f * c + i * g
    return o * c_next.tanh(), c_next


def gru_cell(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> Any:
    """PyTorch's GRU step, gates (r, z, n): n = tanh(W_in x + b_in + r * (W_hn h + b_hn)),
    h' = (1 - z) * n + z * h."""
    gi = input @ w_ih.T + b_ih                                   # (N, 3H)
    gh = hx @ w_hh.T + b_hh
    i_r, i_z, i_n = gi.chunk(3, dim=1)
    h_r, h_z, h_n = gh.chunk(3, dim=1)
    r = (i_r + h_r).sigmoid()
    z = (i_z + h_z).sigmoid()
    n = (i_n + r * h_n).tanh()
    return (1 - z) * n + z * hx


def lstm_layer(input: Any, hx: Any, w_ih: Any, w_hh: Any, b_ih: Any, b_hh: Any) -> tuple:
    """A one-layer LSTM over a sequence: input (T, N, I), hx = (h0, c0) each (N, H) or None
    (zeros) -> output (T, N, H) (h at every step), (h_n, c_n)."""
    if hx is None:
        zeros = edunn.zeros(input.shape[1], w_hh.shape[1], dtype=input.dtype)
        hx = (zeros, zeros)
    h, c = hx
    outputs = []
    for x_t in input:
        h, c = lstm_cell(x_t, (h, c), w_ih, w_hh, b_ih, b_hh)
        outputs.append(h)
    return edunn.stack(outputs), (h, c)


# ---------------------------------------------------------------------------- the math with mistakes
# Tensor versions with one usual mistake switched on; used only to recognise a wrong answer.

LSTM_ORDER = "ifgo"


def lstm_math(x, h, c, w_ih, w_hh, b_ih, b_hh, *, order: str = LSTM_ORDER, no_tanh_c: bool = False,
              no_forget: bool = False, sigmoid_g: bool = False,
              no_bias_hh: bool = False) -> tuple:
    gates = x @ w_ih.T + b_ih + h @ w_hh.T + (0 if no_bias_hh else b_hh)
    parts = dict(zip(order, gates.chunk(4, dim=1)))
    i, f, o = parts["i"].sigmoid(), parts["f"].sigmoid(), parts["o"].sigmoid()
    g = parts["g"].sigmoid() if sigmoid_g else parts["g"].tanh()
    c2 = i * g if no_forget else f * c + i * g
    h2 = o * (c2 if no_tanh_c else c2.tanh())
    return h2, c2


def gru_math(x, h, w_ih, w_hh, b_ih, b_hh, *, order: str = "rzn", r_before: bool = False,
             swap_z: bool = False, no_reset: bool = False) -> Any:
    gi = dict(zip(order, (x @ w_ih.T + b_ih).chunk(3, dim=1)))
    if r_before:
        # r applied to h before the matmul (the 2014 paper's variant, not PyTorch's)
        w = dict(zip(order, w_hh.chunk(3, dim=0)))
        b = dict(zip(order, b_hh.chunk(3, dim=0)))
        r = (gi["r"] + h @ w["r"].T + b["r"]).sigmoid()
        z = (gi["z"] + h @ w["z"].T + b["z"]).sigmoid()
        n = (gi["n"] + (r * h) @ w["n"].T + b["n"]).tanh()
    else:
        gh = dict(zip(order, (h @ w_hh.T + b_hh).chunk(3, dim=1)))
        r = (gi["r"] + gh["r"]).sigmoid()
        z = (gi["z"] + gh["z"]).sigmoid()
        n = (gi["n"] + (gh["n"] if no_reset else r * gh["n"])).tanh()
    return z * n + (1 - z) * h if swap_z else (1 - z) * n + z * h


def rnn_math(x, h, w_ih, w_hh, b_ih, b_hh, *, no_bias_hh: bool = False, relu: bool = False,
             no_nonlinearity: bool = False) -> Any:
    pre = x @ w_ih.T + b_ih + h @ w_hh.T + (0 if no_bias_hh else b_hh)
    return pre if no_nonlinearity else (pre.relu() if relu else pre.tanh())


# ---------------------------------------------------------------------------- helpers

NAMES = ("input", "h", "c", "w_ih", "w_hh", "b_ih", "b_hh")


def _cell_case(t: Any, module: type, gates: int, n: int, i: int, h: int) -> tuple:
    """A module of kind ``module`` with random float64 weights, and leaves for the learner:
    input (N, I), the states, and copies of the four parameters."""
    cell = module(i, h, dtype=edunn.float64)
    with edunn.no_grad():
        for p in cell.parameters():
            p.copy_(t.randn(*p.shape, dtype=edunn.float64) * 0.6)
    params = [p.detach().clone().requires_grad_(True)
              for p in (cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh)]
    x = t.randn(n, i, dtype=edunn.float64, requires_grad=True)
    states = [t.randn(n, h, dtype=edunn.float64, requires_grad=True) for _ in range(2 if gates == 4 else 1)]
    return cell, x, states, params


def _as_tuple(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value,)


def _check_returns(t: Any, out: Any, count: int, shape: tuple, what: str) -> tuple:
    outs = _as_tuple(out)
    if len(outs) != count:
        raise Fail(f"{what} should return {'a pair (h_next, c_next)' if count == 2 else 'one tensor h_next'}, "
                   f"got {len(outs)} value(s)")
    for k, o in enumerate(outs):
        if not isinstance(o, edunn.Tensor):
            raise Fail(f"{what} should return edunn tensors, got {type(o).__name__}")
        t.equal(tuple(o.shape), shape, f"the shape of {what}'s output {k}")
    return outs


def _grad_check(t: Any, student_outs: tuple, ref_outs: tuple, leaves_student: list, leaves_ref: list,
                names: list, hint: str) -> None:
    """Back-propagate the same random weights of the outputs through both and compare gradients."""
    detached = ("build the result with edunn tensor ops on the arguments (no .detach(), .item(), "
                ".tolist() or new tensors made from their values)")
    if not all(o.requires_grad for o in student_outs):
        raise Fail(f"no gradient reached the arguments: your result does not require grad; {detached}")
    weights = [t.randn(*o.shape, dtype=edunn.float64) for o in ref_outs]
    sum(((o * w).sum() for o, w in zip(student_outs, weights)), edunn.tensor(0.0, dtype=edunn.float64)).backward()
    sum(((o * w).sum() for o, w in zip(ref_outs, weights)), edunn.tensor(0.0, dtype=edunn.float64)).backward()
    for name, mine, ref in zip(names, leaves_student, leaves_ref):
        if mine.grad is None:
            raise Fail(f"no gradient reached {name}: {detached}")
        t.close(mine.grad, ref.grad, f"the gradient of {name}", rtol=1e-6, atol=1e-8, hint=hint)


def _detached(*tensors: Any) -> list:
    return [x.detach() for x in tensors]


# ---------------------------------------------------------------------------- exercises


@exercise("12.rnn_tanh_cell", points=2, reference=rnn_tanh_cell,
          title="one step of an Elman RNN: h' = tanh(x W_ih^T + b_ih + h W_hh^T + b_hh)")
def grade_rnn_tanh_cell(student: Any, t: Any) -> None:
    for n, i, h in ((3, 4, 5), (1, 2, 3), (4, 6, 2)):
        with t.group(f"h' for a batch of {n}, input size {i}, hidden size {h} (compared with nn.RNNCell)"):
            cell, x, (h0,), params = _cell_case(t, nn.RNNCell, 1, n, i, h)
            out, = _check_returns(t, student(x, h0, *params), 1, (n, h), "rnn_tanh_cell")
            args = _detached(x, h0, *params)
            t.close(out, cell(x.detach(), h0.detach()), "h'", rtol=1e-6, atol=1e-8, mistakes={
                "you left out b_hh (PyTorch has two biases, one per matmul)":
                    rnn_math(*args, no_bias_hh=True),
                "you used ReLU; RNNCell's default nonlinearity is tanh": rnn_math(*args, relu=True),
                "you forgot the tanh": rnn_math(*args, no_nonlinearity=True),
            })
    with t.group("gradients of x, h, W_ih, W_hh, b_ih and b_hh (compared with nn.RNNCell)"):
        cell, x, (h0,), params = _cell_case(t, nn.RNNCell, 1, 3, 4, 5)
        h_ref = h0.detach().clone().requires_grad_(True)
        x_ref = x.detach().clone().requires_grad_(True)
        _grad_check(t, _as_tuple(student(x, h0, *params)), (cell(x_ref, h_ref),),
                    [x, h0, *params], [x_ref, h_ref, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh],
                    ["input", "h", "w_ih", "w_hh", "b_ih", "b_hh"],
                    hint="use tensor ops only: @, .T, +, edunn.tanh")


@exercise("12.lstm_cell", points=4, reference=lstm_cell,
          title="one LSTM step, gates (i, f, g, o) from one matmul: c' = f c + i g, h' = o tanh(c')")
def grade_lstm_cell(student: Any, t: Any) -> None:
    for n, i, h in ((3, 4, 5), (2, 3, 2), (1, 5, 4)):
        with t.group(f"(h', c') for a batch of {n}, input size {i}, hidden size {h} (compared with nn.LSTMCell)"):
            cell, x, (h0, c0), params = _cell_case(t, nn.LSTMCell, 4, n, i, h)
            out_h, out_c = _check_returns(t, student(x, (h0, c0), *params), 2, (n, h), "lstm_cell")
            ref_h, ref_c = cell(x.detach(), (h0.detach(), c0.detach()))
            args = _detached(x, h0, c0, *params)
            mistakes = {}
            for order in ("ifog", "iofg", "fiog", "figo", "oifg", "gifo"):
                mistakes[f"your gate order differs from PyTorch's (i, f, g, o): you used "
                         f"({', '.join(order)})"] = lstm_math(*args, order=order)
            mistakes.update({
                "g is the candidate cell value: it goes through tanh, not sigmoid":
                    lstm_math(*args, sigmoid_g=True),
                "you left out b_hh (PyTorch has two biases, one per matmul)": lstm_math(*args, no_bias_hh=True),
                "did you forget the forget gate? c' = f * c + i * g": lstm_math(*args, no_forget=True),
                "h' = o * tanh(c'): the tanh of the new cell state is missing": lstm_math(*args, no_tanh_c=True),
            })
            t.close(out_c, ref_c, "c'", rtol=1e-6, atol=1e-8,
                    mistakes={k: v[1] for k, v in mistakes.items()})
            t.close(out_h, ref_h, "h'", rtol=1e-6, atol=1e-8,
                    mistakes={k: v[0] for k, v in mistakes.items()})
    with t.group("the cell returns (h', c') in that order"):
        cell, x, (h0, c0), params = _cell_case(t, nn.LSTMCell, 4, 2, 3, 4)
        first, _ = _check_returns(t, student(x, (h0, c0), *params), 2, (2, 4), "lstm_cell")
        ref_h, ref_c = cell(x.detach(), (h0.detach(), c0.detach()))
        t.close(first, ref_h, "the first value returned (h')",
                rtol=1e-6, atol=1e-8, mistakes={"you returned (c', h'); PyTorch returns (h', c')": ref_c})
    with t.group("gradients of x, h, c, W_ih, W_hh, b_ih and b_hh (compared with nn.LSTMCell)"):
        cell, x, (h0, c0), params = _cell_case(t, nn.LSTMCell, 4, 3, 4, 3)
        x_ref, h_ref, c_ref = (v.detach().clone().requires_grad_(True) for v in (x, h0, c0))
        _grad_check(t, _as_tuple(student(x, (h0, c0), *params)), cell(x_ref, (h_ref, c_ref)),
                    [x, h0, c0, *params],
                    [x_ref, h_ref, c_ref, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh],
                    list(NAMES), hint="use tensor ops only: @, .T, chunk, sigmoid, tanh")


@exercise("12.gru_cell", points=3, reference=gru_cell,
          title="one GRU step, gates (r, z, n), r applied to (W_hn h + b_hn)")
def grade_gru_cell(student: Any, t: Any) -> None:
    for n, i, h in ((3, 4, 5), (2, 2, 3), (1, 3, 2)):
        with t.group(f"h' for a batch of {n}, input size {i}, hidden size {h} (compared with nn.GRUCell)"):
            cell, x, (h0,), params = _cell_case(t, nn.GRUCell, 3, n, i, h)
            out, = _check_returns(t, student(x, h0, *params), 1, (n, h), "gru_cell")
            args = _detached(x, h0, *params)
            mistakes = {
                "you applied r to h before multiplying by W_hn (the 2014 paper's GRU); PyTorch applies it "
                "to (W_hn h + b_hn)": gru_math(*args, r_before=True),
                "z and 1 - z are swapped: PyTorch's h' = (1 - z) * n + z * h": gru_math(*args, swap_z=True),
                "the reset gate r is missing from n": gru_math(*args, no_reset=True),
            }
            for order in ("zrn", "nrz", "rnz"):
                mistakes[f"your gate order differs from PyTorch's (r, z, n): you used ({', '.join(order)})"] = \
                    gru_math(*args, order=order)
            t.close(out, cell(x.detach(), h0.detach()), "h'", rtol=1e-6, atol=1e-8, mistakes=mistakes)
    with t.group("gradients of x, h, W_ih, W_hh, b_ih and b_hh (compared with nn.GRUCell)"):
        cell, x, (h0,), params = _cell_case(t, nn.GRUCell, 3, 3, 4, 5)
        x_ref, h_ref = (v.detach().clone().requires_grad_(True) for v in (x, h0))
        _grad_check(t, _as_tuple(student(x, h0, *params)), (cell(x_ref, h_ref),),
                    [x, h0, *params], [x_ref, h_ref, cell.weight_ih, cell.weight_hh, cell.bias_ih, cell.bias_hh],
                    ["input", "h", "w_ih", "w_hh", "b_ih", "b_hh"],
                    hint="use tensor ops only: @, .T, chunk, sigmoid, tanh")


def _lstm_case(t: Any, steps: int, n: int, i: int, h: int) -> tuple:
    lstm = nn.LSTM(i, h, dtype=edunn.float64)
    with edunn.no_grad():
        for p in lstm.parameters():
            p.copy_(t.randn(*p.shape, dtype=edunn.float64) * 0.5)
    params = [p.detach().clone().requires_grad_(True)
              for p in (lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0)]
    x = t.randn(steps, n, i, dtype=edunn.float64, requires_grad=True)
    return lstm, x, params


def _check_layer_output(t: Any, out: Any, steps: int, n: int, h: int) -> tuple:
    if not (isinstance(out, (tuple, list)) and len(out) == 2 and isinstance(out[1], (tuple, list))
            and len(out[1]) == 2):
        raise Fail("lstm_layer should return (output, (h_n, c_n)), as nn.LSTM does")
    output, (h_n, c_n) = out
    if not isinstance(output, edunn.Tensor):
        raise Fail(f"output should be one tensor of shape ({steps}, {n}, {h}) (edunn.stack the h of every "
                   f"step), got {type(output).__name__}")
    t.equal(tuple(output.shape), (steps, n, h), "the shape of output",
            hint="output holds h at every step: (T, N, H)")
    t.equal(tuple(h_n.shape), (n, h), "the shape of h_n")
    t.equal(tuple(c_n.shape), (n, h), "the shape of c_n")
    return output, h_n, c_n


def _restarting_layer(x, hx, w_ih, w_hh, b_ih, b_hh, *, keep_h: bool) -> Any:
    """Outputs of a loop that forgets to carry the state (or only c) from step to step."""
    h0, c0 = hx
    h, c, outs = h0, c0, []
    for x_t in x:
        h, c = lstm_cell(x_t, ((h if keep_h else h0), c0), w_ih, w_hh, b_ih, b_hh)
        outs.append(h)
    return edunn.stack(outs)


@exercise("12.lstm_layer", points=3, reference=lstm_layer,
          title="an LSTM over a sequence: a loop over time from an initial state")
def grade_lstm_layer(student: Any, t: Any) -> None:
    for steps, n, i, h in ((5, 3, 4, 3), (1, 2, 3, 2), (7, 1, 2, 4)):
        with t.group(f"a sequence of {steps} steps, batch {n}, from a given (h0, c0) (compared with nn.LSTM)"):
            lstm, x, params = _lstm_case(t, steps, n, i, h)
            h0, c0 = (t.randn(n, h, dtype=edunn.float64) for _ in range(2))
            output, h_n, c_n = _check_layer_output(t, student(x, (h0, c0), *params), steps, n, h)
            ref_out, (ref_h, ref_c) = lstm(x.detach(), (h0[None], c0[None]))
            args = (x.detach(), (h0, c0), *_detached(*params))
            t.close(output, ref_out, "output (h at every step)", rtol=1e-6, atol=1e-8, mistakes={
                "the state is not carried from one step to the next: every step starts again from (h0, c0)":
                    _restarting_layer(*args, keep_h=False),
                "the cell state c is not carried from one step to the next (only h is)":
                    _restarting_layer(*args, keep_h=True),
            })
            t.close(h_n, ref_h[0], "h_n (h after the last step)", rtol=1e-6, atol=1e-8)
            t.close(c_n, ref_c[0], "c_n (c after the last step)", rtol=1e-6, atol=1e-8,
                    mistakes={"you returned h_n in place of c_n": ref_h[0]})
    with t.group("hx=None starts from zeros, as nn.LSTM does"):
        lstm, x, params = _lstm_case(t, 4, 2, 3, 3)
        output, h_n, c_n = _check_layer_output(t, student(x, None, *params), 4, 2, 3)
        ref_out, (ref_h, ref_c) = lstm(x.detach())
        t.close(output, ref_out, "output with hx=None", rtol=1e-6, atol=1e-8)
        t.close(c_n, ref_c[0], "c_n with hx=None", rtol=1e-6, atol=1e-8)
    with t.group("gradients through time: of the input and the four parameters (compared with nn.LSTM)"):
        lstm, x, params = _lstm_case(t, 6, 2, 3, 4)
        h0, c0 = (t.randn(2, 4, dtype=edunn.float64, requires_grad=True) for _ in range(2))
        output, h_n, c_n = _check_layer_output(t, student(x, (h0, c0), *params), 6, 2, 4)
        x_ref, h_ref, c_ref = (v.detach().clone().requires_grad_(True) for v in (x, h0, c0))
        ref_out, (ref_h, ref_c) = lstm(x_ref, (h_ref[None], c_ref[None]))
        _grad_check(t, (output, c_n), (ref_out, ref_c[0]), [x, h0, c0, *params],
                    [x_ref, h_ref, c_ref, lstm.weight_ih_l0, lstm.weight_hh_l0, lstm.bias_ih_l0, lstm.bias_hh_l0],
                    list(NAMES), hint="call your lstm_cell at each step and edunn.stack the h's")
