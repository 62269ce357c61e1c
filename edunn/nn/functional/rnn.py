r"""The recurrent cells and the loop over time behind ``RNN``, ``LSTM`` and ``GRU`` (lesson 12).

The equations, in PyTorch's notation (gate order as PyTorch stores the weights):

* ``rnn_tanh_cell`` / ``rnn_relu_cell``: :math:`h' = \tanh(W_{ih} x + b_{ih} + W_{hh} h + b_{hh})`
  (or ReLU).
* ``lstm_cell`` (rows of the weights: i, f, g, o):

  .. math::
      i = \sigma(W_{ii} x + b_{ii} + W_{hi} h + b_{hi}), \quad
      f = \sigma(\cdot), \quad g = \tanh(\cdot), \quad o = \sigma(\cdot), \\
      c' = f \odot c + i \odot g, \qquad h' = o \odot \tanh(c')

* ``gru_cell`` (rows: r, z, n):

  .. math::
      r = \sigma(W_{ir} x + b_{ir} + W_{hr} h + b_{hr}), \quad
      z = \sigma(W_{iz} x + b_{iz} + W_{hz} h + b_{hz}), \\
      n = \tanh(W_{in} x + b_{in} + r \odot (W_{hn} h + b_{hn})), \qquad
      h' = (1 - z) \odot n + z \odot h

Speed (backpropagation through time is a long chain of small ops): the input projection
:math:`W_{ih} x + b_{ih}` of a layer is one matmul over *all* time steps; the loop over time only
multiplies by :math:`W_{hh}`; and the elementwise part of an LSTM/GRU step is one fused op
(``_LSTMPointwise``, ``_GRUPointwise``) whose backward is written out by hand.  Under
``create_graph=True`` that backward is recomputed from tensor ops, so double backward stays exact.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from ... import backend
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops.joining import cat, split, stack, unbind
from ...tensor import Tensor
from .dropout import dropout as _dropout

__all__: list = []  # the cells are reached as ``edunn.nn.functional.rnn.lstm_cell`` etc.


# ---------------------------------------------------------------------------- fused cell bodies
def _sigmoid(xp: Any, a: Any) -> Any:
    # 0.5 (tanh(a/2) + 1) is the logistic function without exp's overflow for very negative a
    return 0.5 * xp.tanh(0.5 * a) + 0.5


def _lstm_backward(i, f, g, o, tc, c_prev, gh, gc, concat):
    """dL/dgates and dL/dc_prev of one LSTM step from its activations (arrays or tensors)."""
    dc = gc + gh * o * (1 - tc * tc)
    dgates = concat([dc * g * i * (1 - i), dc * c_prev * f * (1 - f),
                     dc * i * (1 - g * g), gh * tc * o * (1 - o)])
    return dgates, dc * f


class _LSTMPointwise(Function):
    """``(h, c) = cell(gates, c_prev)``: the elementwise half of an LSTM step, fused."""

    @staticmethod
    def forward(ctx, gates, c_prev):
        xp = backend.array_module(gates._data)
        a = gates._data
        H = c_prev._data.shape[-1]
        act = _sigmoid(xp, a)
        act[:, 2 * H:3 * H] = xp.tanh(a[:, 2 * H:3 * H])
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        c = f * c_prev._data + i * g
        tc = xp.tanh(c)
        ctx.save_for_backward(gates, c_prev)
        ctx.act, ctx.tc = act, tc
        return o * tc, c

    @staticmethod
    def backward(ctx, gh, gc):
        gates, c_prev = ctx.saved_tensors
        H = c_prev.shape[-1]
        if grad_mode.is_grad_enabled():  # create_graph: the same formula with tensor ops
            act = gates.sigmoid()
            i, f, o = act[:, :H], act[:, H:2 * H], act[:, 3 * H:]
            g = gates[:, 2 * H:3 * H].tanh()
            tc = (f * c_prev + i * g).tanh()
            return _lstm_backward(i, f, g, o, tc, c_prev, gh, gc, lambda ts: cat(ts, 1))
        xp = backend.array_module(gates._data)
        act = ctx.act
        i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
        dgates, dc_prev = _lstm_backward(i, f, g, o, ctx.tc, c_prev._data, gh._data, gc._data,
                                         lambda arrs: xp.concatenate(arrs, axis=1))
        return Tensor._make(dgates), Tensor._make(dc_prev)


def _gru_backward(r, z, n, ghn, h_prev, dh, concat):
    """dL/d(gx), dL/d(gh), dL/dh_prev of one GRU step from its activations."""
    dan = dh * (1 - z) * (1 - n * n)
    dar = dan * ghn * r * (1 - r)
    daz = dh * (h_prev - n) * z * (1 - z)
    return concat([dar, daz, dan]), concat([dar, daz, dan * r]), dh * z


class _GRUPointwise(Function):
    """``h = cell(gx, gh, h_prev)`` with ``gx = W_ih x + b_ih``, ``gh = W_hh h + b_hh``, fused."""

    @staticmethod
    def forward(ctx, gx, gh, h_prev):
        xp = backend.array_module(gx._data)
        a, b, hp = gx._data, gh._data, h_prev._data
        H = hp.shape[-1]
        rz = _sigmoid(xp, a[:, :2 * H] + b[:, :2 * H])
        r, z = rz[:, :H], rz[:, H:]
        n = xp.tanh(a[:, 2 * H:] + r * b[:, 2 * H:])
        ctx.save_for_backward(gx, gh, h_prev)
        ctx.rz, ctx.n = rz, n
        return n + z * (hp - n)

    @staticmethod
    def backward(ctx, dh):
        gx, gh, h_prev = ctx.saved_tensors
        H = h_prev.shape[-1]
        if grad_mode.is_grad_enabled():
            rz = (gx[:, :2 * H] + gh[:, :2 * H]).sigmoid()
            r, z = rz[:, :H], rz[:, H:]
            ghn = gh[:, 2 * H:]
            n = (gx[:, 2 * H:] + r * ghn).tanh()
            return _gru_backward(r, z, n, ghn, h_prev, dh, lambda ts: cat(ts, 1))
        xp = backend.array_module(gx._data)
        rz = ctx.rz
        out = _gru_backward(rz[:, :H], rz[:, H:], ctx.n, gh._data[:, 2 * H:], h_prev._data, dh._data,
                            lambda arrs: xp.concatenate(arrs, axis=1))
        return tuple(Tensor._make(x) for x in out)


# ---------------------------------------------------------------------------- the cells
def _affine(x: Tensor, w: Tensor, b: Optional[Tensor]) -> Tensor:
    y = x.matmul(w.t())
    return y if b is None else y + b


def _check_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor) -> None:
    if input.shape[-1] != w_ih.shape[1]:
        raise RuntimeError(f"input has inconsistent input_size: got {input.shape[-1]} expected "
                           f"{w_ih.shape[1]}")
    if input.shape[0] != hx.shape[0]:
        raise RuntimeError(f"Input batch size {input.shape[0]} doesn't match hidden0 batch size "
                           f"{hx.shape[0]}")
    if hx.shape[-1] != w_hh.shape[1]:
        raise RuntimeError(f"hidden0 has inconsistent hidden_size: got {hx.shape[-1]}, expected "
                           f"{w_hh.shape[1]}")


def rnn_tanh_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> Tensor:
    """One Elman step, :math:`h' = \\tanh(x W_{ih}^T + b_{ih} + h W_{hh}^T + b_{hh})`.
    Shapes: input (N, H_in), hx (N, H) -> (N, H)."""
    _check_cell(input, hx, w_ih, w_hh)
    return (_affine(input, w_ih, b_ih) + _affine(hx, w_hh, b_hh)).tanh()


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> Tensor:
    """As ``rnn_tanh_cell`` with ReLU."""
    _check_cell(input, hx, w_ih, w_hh)
    return (_affine(input, w_ih, b_ih) + _affine(hx, w_hh, b_hh)).relu()


def lstm_cell(input: Tensor, hx: Sequence[Tensor], w_ih: Tensor, w_hh: Tensor,
              b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> tuple:
    """One LSTM step; ``hx = (h, c)``.  Shapes: input (N, H_in), h and c (N, H) -> (h', c')."""
    h, c = hx
    _check_cell(input, h, w_ih, w_hh)
    _check_cell(input, c, w_ih, w_hh)
    return _LSTMPointwise.apply(_affine(input, w_ih, b_ih) + _affine(h, w_hh, b_hh), c)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
             b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> Tensor:
    """One GRU step.  Shapes: input (N, H_in), hx (N, H) -> (N, H)."""
    _check_cell(input, hx, w_ih, w_hh)
    return _GRUPointwise.apply(_affine(input, w_ih, b_ih), _affine(hx, w_hh, b_hh), hx)


# ---------------------------------------------------------------------------- the loop over time
def _step_fn(mode: str, w_hh: Tensor, b_hh: Optional[Tensor], w_hr: Optional[Tensor]):
    """``step(gx_t, state) -> (output_t, new_state)`` for one layer and direction; ``gx_t``
    already holds the input projection (and, where the math allows, both biases)."""
    w_hh_t = w_hh.t()
    if mode == "LSTM":
        w_hr_t = None if w_hr is None else w_hr.t()

        def step(gx, state):
            h, c = _LSTMPointwise.apply(gx + state[0].matmul(w_hh_t), state[1])
            if w_hr_t is not None:
                h = h.matmul(w_hr_t)
            return h, (h, c)
    elif mode == "GRU":
        def step(gx, state):
            gh = state[0].matmul(w_hh_t)
            if b_hh is not None:
                gh = gh + b_hh
            h = _GRUPointwise.apply(gx, gh, state[0])
            return h, (h,)
    else:
        relu = mode == "RNN_RELU"

        def step(gx, state):
            a = gx + state[0].matmul(w_hh_t)
            h = a.relu() if relu else a.tanh()
            return h, (h,)
    return step


def _run_direction(step, steps: Sequence[Tensor], batch_sizes: Sequence[int], state0: tuple,
                   reverse: bool) -> tuple:
    """Run ``step`` over time.  With packed input only the first ``batch_sizes[t]`` rows advance
    at step ``t`` (sequences are sorted by decreasing length), so a sequence's final state is the
    state of its own last step.  Returns (outputs per time step, final state)."""
    T = len(steps)
    outs: list = [None] * T
    if not reverse:
        state, ended = state0, []
        for t in range(T):
            bs, cur = batch_sizes[t], state[0].shape[0]
            if bs < cur:  # these rows' sequences ended at t - 1: keep their states
                ended.append(tuple(s[bs:cur] for s in state))
                state = tuple(s[:bs] for s in state)
            outs[t], state = step(steps[t], state)
        if ended:  # rows in order: the longest sequences' states first
            ended.append(state)
            state = tuple(cat([e[k] for e in reversed(ended)], 0) for k in range(len(state)))
        return outs, state
    last = batch_sizes[T - 1] if T else state0[0].shape[0]
    state = state0 if last == state0[0].shape[0] else tuple(s[:last] for s in state0)
    for t in range(T - 1, -1, -1):
        bs, cur = batch_sizes[t], state[0].shape[0]
        if bs > cur:  # longer sequences start here (their last step), from their initial state
            state = tuple(cat([s, s0[cur:bs]], 0) for s, s0 in zip(state, state0))
        outs[t], state = step(steps[t], state)
    return outs, state


def rnn_forward(mode: str, input: Tensor, batch_sizes: Optional[Sequence[int]], hx: tuple,
                weights: Sequence[Tensor], has_biases: bool, num_layers: int, dropout_p: float,
                train: bool, bidirectional: bool, proj_size: int = 0) -> tuple:
    """A stack of recurrent layers (PyTorch's ``_VF.rnn_tanh``/``lstm``/``gru``).

    ``mode``: ``"RNN_TANH"``, ``"RNN_RELU"``, ``"LSTM"`` or ``"GRU"``.  ``input``: (T, N, H_in)
    time-major, or the (sum of lengths, H_in) data of a packed sequence with its ``batch_sizes``.
    ``hx``: ``(h0,)`` or ``(h0, c0)``, each (num_layers * num_directions, N, *).  ``weights``: the
    module's ``_flat_weights`` (per layer and direction: w_ih, w_hh[, b_ih, b_hh][, w_hr]).
    Returns ``(output, h_n)`` or ``(output, h_n, c_n)``; dropout (when ``train``) acts on every
    layer's output but the last's."""
    D = 2 if bidirectional else 1
    per = 2 + 2 * has_biases + (proj_size > 0)
    packed = batch_sizes is not None
    if not packed:
        batch_sizes = [input.shape[1]] * input.shape[0]
    states0 = [unbind(h, 0) for h in hx]
    finals: list = [[] for _ in hx]
    x = input
    for layer in range(num_layers):
        dir_outs = []
        for d in range(D):
            k = layer * D + d
            w = weights[k * per:(k + 1) * per]
            w_ih, w_hh = w[0], w[1]
            b_ih, b_hh = (w[2], w[3]) if has_biases else (None, None)
            w_hr = w[-1] if proj_size > 0 else None
            bias = b_ih
            if has_biases and mode != "GRU":  # both biases add before the cell: add them once
                bias, b_hh = b_ih + b_hh, None
            gx = x.matmul(w_ih.t())  # the input projection of every time step in one product
            if bias is not None:
                gx = gx + bias
            steps = split(gx, list(batch_sizes), 0) if packed else unbind(gx, 0)
            outs, state = _run_direction(_step_fn(mode, w_hh, b_hh, w_hr), steps, batch_sizes,
                                         tuple(s[k] for s in states0), reverse=d == 1)
            dir_outs.append(cat(outs, 0) if packed else stack(outs, 0))
            for f, s in zip(finals, state):
                f.append(s)
        x = dir_outs[0] if D == 1 else cat(dir_outs, -1)
        if dropout_p > 0 and train and layer < num_layers - 1:
            x = _dropout(x, dropout_p, True)
    return (x,) + tuple(stack(f, 0) for f in finals)
