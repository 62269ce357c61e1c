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
:math:`W_{ih} x + b_{ih}` of a layer is one matmul over *all* time steps; the loop over time, which
only multiplies by :math:`W_{hh}`, runs on raw arrays inside one autograd node per layer and
direction (``_LSTMLayer``, which also holds the input projection; ``_Recurrence`` for RNN and GRU),
whose backward through time is written out by hand: every factor that does not depend on the
incoming gradient is computed for several steps at once, only :math:`dh_{t-1} = dG_t W_{hh}` is a
product inside the loop, and :math:`dW_{hh} = \sum_t dG_t^T h_{t-1}` (and :math:`dW_{ih}`,
:math:`dx`) is one product over all steps at the end.  The one-step cells use one fused
elementwise op (``_LSTMPointwise``, ``_GRUPointwise``).  ``_run_direction`` is the same recurrence
written step by step with differentiable tensor ops -- the readable reference, and what
``create_graph=True`` differentiates, so double backward stays exact.
"""
from __future__ import annotations

from typing import Any, Optional, Sequence

from ... import backend
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops.joining import cat, split, stack, unbind
from ...tensor import Tensor
from .dropout import dropout as _dropout
from .linear import linear as _linear
from ._lstm_arrays import _gate_scale, _lstm_backward_arrays, _lstm_forward_arrays
from ...amp import _policy as _autocast

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
    return _linear(x, w, b)  # PyTorch's cells are linear() calls: one autocast op, bias included


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
    if _autocast.active and "rnn_tanh_cell" in _autocast.listed: return _autocast.call("rnn_tanh_cell", rnn_tanh_cell, input, hx, w_ih, w_hh, b_ih, b_hh)  # noqa: E501,E701
    _check_cell(input, hx, w_ih, w_hh)
    return (_affine(input, w_ih, b_ih) + _affine(hx, w_hh, b_hh)).tanh()


def rnn_relu_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
                  b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> Tensor:
    """As ``rnn_tanh_cell`` with ReLU."""
    if _autocast.active and "rnn_relu_cell" in _autocast.listed: return _autocast.call("rnn_relu_cell", rnn_relu_cell, input, hx, w_ih, w_hh, b_ih, b_hh)  # noqa: E501,E701
    _check_cell(input, hx, w_ih, w_hh)
    return (_affine(input, w_ih, b_ih) + _affine(hx, w_hh, b_hh)).relu()


def lstm_cell(input: Tensor, hx: Sequence[Tensor], w_ih: Tensor, w_hh: Tensor,
              b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> tuple:
    """One LSTM step; ``hx = (h, c)``.  Shapes: input (N, H_in), h and c (N, H) -> (h', c')."""
    if _autocast.active and "lstm_cell" in _autocast.listed: return _autocast.call("lstm_cell", lstm_cell, input, hx, w_ih, w_hh, b_ih, b_hh)  # noqa: E501,E701
    h, c = hx
    _check_cell(input, h, w_ih, w_hh)
    _check_cell(input, c, w_ih, w_hh)
    return _LSTMPointwise.apply(_affine(input, w_ih, b_ih) + _affine(h, w_hh, b_hh), c)


def gru_cell(input: Tensor, hx: Tensor, w_ih: Tensor, w_hh: Tensor,
             b_ih: Optional[Tensor] = None, b_hh: Optional[Tensor] = None) -> Tensor:
    """One GRU step.  Shapes: input (N, H_in), hx (N, H) -> (N, H)."""
    if _autocast.active and "gru_cell" in _autocast.listed: return _autocast.call("gru_cell", gru_cell, input, hx, w_ih, w_hh, b_ih, b_hh)  # noqa: E501,E701
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


class _Recurrence(Function):
    """One RNN or GRU layer in one direction over the whole sequence (LSTM: ``_LSTMLayer``): the
    loop over time on raw arrays, and its backward through time written out by hand (one node
    instead of a few per time step).

    Inputs: ``gx`` (N, G*H) the input projections of all steps in packed order (rows of step t
    are ``offsets[t] : offsets[t] + batch_sizes[t]``), ``h0`` (B, H_out), ``c0`` (B, H) or None,
    ``w_hh``, ``b_hh`` (GRU only; otherwise folded into ``gx``), ``w_hr`` (projected LSTM) or
    None.  Outputs: the layer's output rows (N, H_out), and the final ``h`` (and ``c``).  Only
    the first ``batch_sizes[t]`` sequences advance at step t, so a sequence's final state is the
    one after its own last step."""

    @staticmethod
    def forward(ctx, gx, h0, c0, w_hh, b_hh, w_hr, mode, batch_sizes, reverse):
        xp = backend.array_module(gx._data)
        G, Whh = gx._data, w_hh._data
        offs = _offsets(batch_sizes)
        ctx.save_for_backward(gx, h0, c0, w_hh, b_hh, w_hr)
        ctx.mode, ctx.batch_sizes, ctx.reverse = mode, batch_sizes, reverse
        Whh_T = xp.ascontiguousarray(Whh.T)  # BLAS is faster on C-ordered operands
        H = Whh.shape[0] // _GATES[mode]
        N = G.shape[0]
        hs = h0._data.copy()
        out = xp.empty((N, hs.shape[1]), dtype=G.dtype)
        hprev = xp.empty((N, hs.shape[1]), dtype=G.dtype)  # h_{t-1} of every row, for dL/dW_hh
        order = range(len(batch_sizes) - 1, -1, -1) if reverse else range(len(batch_sizes))
        saved: dict = {}
        if mode == "GRU":
            act = xp.empty_like(G)  # r, z, n
            ghn = xp.empty((N, H), dtype=G.dtype)
            bhh = None if b_hh is None else b_hh._data
            saved.update(act=act, ghn=ghn)
        for t in order:
            bs = batch_sizes[t]
            a, b = offs[t], offs[t] + bs
            h = hs[:bs]
            hprev[a:b] = h
            if mode == "GRU":
                gh = h @ Whh_T
                if bhh is not None:
                    gh += bhh
                g = act[a:b]
                xp.add(G[a:b, :2 * H], gh[:, :2 * H], out=g[:, :2 * H])
                g[:, :2 * H] = _sigmoid(xp, g[:, :2 * H])
                ghn[a:b] = gh[:, 2 * H:]
                n = g[:, 2 * H:]
                xp.multiply(g[:, :H], gh[:, 2 * H:], out=n)
                n += G[a:b, 2 * H:]
                xp.tanh(n, out=n)
                o = out[a:b]
                xp.subtract(h, n, out=o)
                o *= g[:, H:2 * H]
                o += n
            else:
                o = out[a:b]
                xp.matmul(h, Whh_T, out=o)
                o += G[a:b]
                if mode == "RNN_TANH":
                    xp.tanh(o, out=o)
                else:
                    xp.maximum(o, 0, out=o)
            hs[:bs] = out[a:b]
        ctx.out, ctx.hprev, ctx.arrays = out, hprev, saved
        return out, hs

    @staticmethod
    def backward(ctx, d_out, d_h, d_c=None):
        gx, h0, c0, w_hh, b_hh, w_hr = ctx.saved_tensors
        mode, batch_sizes, reverse = ctx.mode, ctx.batch_sizes, ctx.reverse
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the step-by-step graph
            return _grad_with_graph(_recurrence_composite, (gx, h0, c0, w_hh, b_hh, w_hr),
                                    (mode, batch_sizes, reverse), (d_out, d_h, d_c),
                                    ctx.needs_input_grad, 9)
        xp = backend.array_module(gx._data)
        Whh = w_hh._data
        H = Whh.shape[0] // _GATES[mode]
        offs = _offsets(batch_sizes)
        order = range(len(batch_sizes)) if reverse else range(len(batch_sizes) - 1, -1, -1)
        dout = d_out._data
        dh = d_h._data.copy()
        dG = xp.empty_like(gx._data)
        arr = ctx.arrays
        out = ctx.out
        grads: dict = {}
        if mode == "GRU":
            act, ghn = arr["act"], arr["ghn"]
            dGH = xp.empty_like(gx._data)
        for t in order:
            bs = batch_sizes[t]
            a, b = offs[t], offs[t] + bs
            dht = dh[:bs] + dout[a:b]
            if mode == "GRU":
                r, z, n = act[a:b, :H], act[a:b, H:2 * H], act[a:b, 2 * H:]
                dan = dht * (1 - z) * (1 - n * n)
                dgx, dgh = dG[a:b], dGH[a:b]
                dgx[:, :H] = dan * ghn[a:b] * r * (1 - r)
                dgx[:, H:2 * H] = dht * (ctx.hprev[a:b] - n) * z * (1 - z)
                dgx[:, 2 * H:] = dan
                dgh[:, :2 * H] = dgx[:, :2 * H]
                dgh[:, 2 * H:] = dan * r
                dh[:bs] = dht * z + dgh @ Whh
            else:
                o = out[a:b]
                da = dG[a:b]
                if mode == "RNN_TANH":
                    xp.multiply(dht, 1 - o * o, out=da)
                else:
                    xp.multiply(dht, o > 0, out=da)
                dh[:bs] = da @ Whh
        dgate_h = dGH if mode == "GRU" else dG
        grads["w_hh"] = dgate_h.T @ ctx.hprev
        if mode == "GRU" and b_hh is not None:
            grads["b_hh"] = dGH.sum(0)
        wrap = Tensor._make
        return (wrap(dG), wrap(dh), None, wrap(grads["w_hh"]),
                None if b_hh is None else wrap(grads["b_hh"]),
                None if w_hr is None else wrap(grads["w_hr"]), None, None, None)


class _LSTMLayer(Function):
    """One LSTM layer in one direction over the whole sequence, input projection included:
    ``G = x W_ih^T + b_ih + b_hh`` for all steps in one product, written straight into the gate
    buffer, then the loop over time (``_lstm_forward_arrays``).  The backward through time
    (``_lstm_backward_arrays``) gives dL/dG of every step; the input's and the input weights'
    gradients are then one product each, ``dx = dG W_ih`` and ``dW_ih = dG^T x``.

    Inputs: ``x`` (N, H_in) in packed order (see ``_Recurrence``), ``h0`` (B, H_out), ``c0``
    (B, H), ``w_ih``, ``w_hh``, ``b_ih``, ``b_hh`` (or None), ``w_hr`` (or None).  Outputs: the
    layer's output rows (N, H_out), the final ``h`` and ``c``."""

    @staticmethod
    def forward(ctx, x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse):
        xp = backend.array_module(x._data)
        Wih = w_ih._data
        scale = _gate_scale(xp, Wih.shape[0], Wih.dtype)
        act = xp.matmul(x._data, xp.ascontiguousarray(Wih.T * scale))
        if b_ih is not None:
            act += (b_ih._data + b_hh._data) * scale
        ctx.save_for_backward(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr)
        ctx.batch_sizes, ctx.reverse = batch_sizes, reverse
        out, hs, cs, ctx.arrays = _lstm_forward_arrays(
            xp, act, h0._data, c0._data, w_hh._data, None if w_hr is None else w_hr._data,
            batch_sizes, _offsets(batch_sizes), reverse)
        ctx.out = out
        return out, hs, cs

    @staticmethod
    def backward(ctx, d_out, d_h, d_c):
        x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr = inputs = ctx.saved_tensors
        batch_sizes, reverse, needs = ctx.batch_sizes, ctx.reverse, ctx.needs_input_grad
        if grad_mode.is_grad_enabled():  # create_graph: differentiate the step-by-step graph
            return _grad_with_graph(_lstm_layer_composite, inputs, (batch_sizes, reverse),
                                    (d_out, d_h, d_c), needs, 10)
        xp = backend.array_module(x._data)
        dG, dh, dc, dWhh, dWhr = _lstm_backward_arrays(
            xp, ctx.arrays, ctx.out, d_out._data, d_h._data, d_c._data, w_hh._data,
            None if w_hr is None else w_hr._data, batch_sizes, _offsets(batch_sizes), reverse)
        wrap = Tensor._make
        db = dG.sum(0) if b_ih is not None and (needs[5] or needs[6]) else None
        return (wrap(dG @ w_ih._data) if needs[0] else None, wrap(dh), wrap(dc),
                wrap(dG.T @ x._data) if needs[3] else None, wrap(dWhh),
                None if db is None else wrap(db), None if db is None else wrap(db.copy()),
                None if dWhr is None else wrap(dWhr), None, None)


def _lstm_layer_composite(x, h0, c0, w_ih, w_hh, b_ih, b_hh, w_hr, batch_sizes, reverse) -> tuple:
    """``_LSTMLayer`` written with differentiable tensor ops, step by step (the reference)."""
    gx = _linear(x, w_ih, b_ih)
    if b_hh is not None:
        gx = gx + b_hh
    return _recurrence_composite(gx, h0, c0, w_hh, None, w_hr, "LSTM", batch_sizes, reverse)


_GATES = {"LSTM": 4, "GRU": 3, "RNN_TANH": 1, "RNN_RELU": 1}


def _offsets(batch_sizes: Sequence[int]) -> list:
    offs, k = [], 0
    for bs in batch_sizes:
        offs.append(k)
        k += bs
    return offs


def _steps_of(gx: Tensor, batch_sizes: Sequence[int]) -> tuple:
    return split(gx, list(batch_sizes), 0)


def _recurrence_composite(gx, h0, c0, w_hh, b_hh, w_hr, mode, batch_sizes, reverse) -> tuple:
    """``_Recurrence`` written with differentiable tensor ops, step by step (the reference)."""
    state0 = (h0,) if c0 is None else (h0, c0)
    outs, state = _run_direction(_step_fn(mode, w_hh, b_hh, w_hr), _steps_of(gx, batch_sizes),
                                 batch_sizes, state0, reverse)
    return (cat(outs, 0),) + tuple(state)


def _grad_with_graph(composite, inputs, consts, grad_outputs, needs, n_args) -> tuple:
    """The backward of a fused recurrence as a graph (for ``create_graph=True``): rebuild the
    forward from tensor ops (``composite(*inputs, *consts)``) and differentiate it."""
    from ...autograd import grad as _grad
    outs = composite(*inputs, *consts)
    wanted = [k for k, t in enumerate(inputs) if t is not None and needs[k]]
    got = _grad(outs, [inputs[k] for k in wanted], [g for g in grad_outputs[:len(outs)]],
                create_graph=True, allow_unused=True)
    res: list = [None] * n_args
    for k, g in zip(wanted, got):
        res[k] = g
    return tuple(res)


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
            x2 = x if packed else x.reshape((-1, x.shape[-1]))
            h0 = states0[0][k]
            if mode == "LSTM":
                res = _LSTMLayer.apply(x2, h0, states0[1][k], w_ih, w_hh, b_ih, b_hh, w_hr,
                                       tuple(batch_sizes), d == 1)
            else:
                bias = b_ih
                if has_biases and mode != "GRU":  # both biases add before the cell: add once
                    bias, b_hh = b_ih + b_hh, None
                # the input projection of every time step in one product
                gx = _linear(x2, w_ih, bias)
                res = _Recurrence.apply(gx, h0, None, w_hh, b_hh, None, mode, tuple(batch_sizes),
                                        d == 1)
            out = res[0]
            if not packed:
                out = out.reshape((len(batch_sizes), batch_sizes[0], out.shape[-1]))
            dir_outs.append(out)
            for f, s in zip(finals, res[1:]):
                f.append(s)
        x = dir_outs[0] if D == 1 else cat(dir_outs, -1)
        if dropout_p > 0 and train and layer < num_layers - 1:
            x = _dropout(x, dropout_p, True)
    return (x,) + tuple(stack(f, 0) for f in finals)
