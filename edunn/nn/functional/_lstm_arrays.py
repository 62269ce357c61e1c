"""The LSTM layer's loops over time on raw arrays (lesson 12): the forward fills one preallocated
(T, B, 4H) gate buffer step by step, the backward through time produces dL/dG for every step so
that the weight gradients are one matrix product each over all steps.  ``rnn.py``'s
``_LSTMLayer`` calls them; with ``create_graph`` it uses the tensor-op composite instead.  Every
function takes the array module ``xp`` (NumPy or CuPy) so it runs on either device."""
from __future__ import annotations

from ... import _kernels
from . import _lstm_kernels


def _prev_view(xp, seq, init, batch_sizes, offs, t, reverse):
    """The rows of ``seq`` (packed order) holding, for the ``batch_sizes[t]`` sequences running
    at step t, their previous step -- ``init`` rows where a sequence starts at t."""
    bs = batch_sizes[t]
    p = t + 1 if reverse else t - 1
    if p < 0 or p >= len(batch_sizes):
        return init[:bs]
    pb = batch_sizes[p]
    if pb >= bs:
        return seq[offs[p]:offs[p] + bs]
    return xp.concatenate([seq[offs[p]:offs[p] + pb], init[pb:bs]], 0)


def _all_prev(xp, seq, init, batch_sizes, offs, reverse):
    """``_prev_view`` of every step stacked in packed order (one array op when no length varies)."""
    B, N = batch_sizes[0], seq.shape[0]
    if all(bs == B for bs in batch_sizes):
        return xp.concatenate([seq[B:], init] if reverse else [init, seq[:N - B]], 0)
    return xp.concatenate([_prev_view(xp, seq, init, batch_sizes, offs, t, reverse)
                           for t in range(len(batch_sizes))], 0)


def _final_rows(xp, seq, batch_sizes, offs, reverse):
    """Each sequence's state after its own last step (the reverse direction ends at t = 0)."""
    B, N = batch_sizes[0], seq.shape[0]
    if reverse:
        return seq[:B].copy()
    if batch_sizes[-1] == B:
        return seq[N - B:].copy()
    idx = [0] * B
    T = len(batch_sizes)
    for t in range(T):
        nxt = batch_sizes[t + 1] if t + 1 < T else 0
        for b in range(nxt, batch_sizes[t]):
            idx[b] = offs[t] + b
    return seq[xp.asarray(idx, dtype=xp.int64)]


def _gate_scale(xp, H4, dtype):
    """1/2 for the columns of the sigmoid gates (i, f, o), 1 for g: ``sigmoid(a) = 0.5 tanh(a/2)
    + 0.5``, so after scaling the pre-activations one ``tanh`` serves all four gates."""
    scale = xp.full((H4,), 0.5, dtype=dtype)
    scale[H4 // 2:3 * H4 // 4] = 1
    return scale


def _lstm_forward_arrays(xp, act, h0, c0, Whh, Whr, batch_sizes, offs, reverse):
    """The LSTM recurrence on arrays.  ``act`` (N, 4H) holds the input projections of all steps
    with the sigmoid gates' columns scaled by 1/2 (``_gate_scale``); each step adds its
    ``h W_hh^T`` (scaled likewise) in place, and one ``tanh`` over all four gates then gives
    i, f, o as ``0.5 tanh(a/2) + 0.5``.  ``act`` ends up holding the gates' activations."""
    N, H4 = act.shape
    H = H4 // 4
    scale = _gate_scale(xp, H4, act.dtype)
    shift = 1 - scale  # 0.5 for the sigmoid gates, 0 for g
    Whh_T = xp.ascontiguousarray(Whh.T * scale)  # BLAS is faster on C-ordered operands
    Whr_T = None if Whr is None else Whr.T
    # h and c of every row, with h0 and c0 as B more rows at the end where the loop starts: when
    # no sequence is shorter, the previous step's rows of all steps (for the backward's
    # dL/dW_hh = sum_t dG_t^T h_{t-1}) are then one view, not a copy
    B = h0.shape[0]
    Hb = xp.empty((N + B, h0.shape[1]), dtype=act.dtype)
    Cb = xp.empty((N + B, H), dtype=act.dtype)
    out, C = (Hb[:N], Cb[:N]) if reverse else (Hb[B:], Cb[B:])
    out0, C0 = (Hb[N:], Cb[N:]) if reverse else (Hb[:B], Cb[:B])
    out0[...] = h0
    C0[...] = c0
    uniform = all(bs == B for bs in batch_sizes)
    hprev, cprev = (Hb[B:], Cb[B:]) if reverse else (Hb[:N], Cb[:N])  # row r: r's previous step
    tc = xp.empty((N, H), dtype=act.dtype)     # tanh(c)
    hpre = None if Whr is None else xp.empty((N, H), dtype=act.dtype)
    gh = xp.empty((B, H4), dtype=act.dtype)    # per-step scratch
    ig = xp.empty((B, H), dtype=act.dtype)
    fused = _kernels.fusable(act, h0, c0)      # a GPU: a step's elementwise work in one launch
    T = len(batch_sizes)
    for t in (range(T - 1, -1, -1) if reverse else range(T)):
        bs = batch_sizes[t]
        a, b = offs[t], offs[t] + bs
        if uniform:
            h, cp = hprev[a:b], cprev[a:b]
        else:
            h = _prev_view(xp, out, h0, batch_sizes, offs, t, reverse)
            cp = _prev_view(xp, C, c0, batch_sizes, offs, t, reverse)
        g = act[a:b]
        ght = xp.matmul(h, Whh_T, out=gh[:bs])
        if fused:
            _kernels.launch(_lstm_kernels.lstm_cell_forward_kernel(), (ght, cp), {"hidden": H},
                            (g, C[a:b], tc[a:b], out[a:b] if hpre is None else hpre[a:b]))
            if hpre is not None:
                xp.matmul(hpre[a:b], Whr_T, out=out[a:b])
            continue
        g += ght
        xp.tanh(g, out=g)
        g *= scale  # i, f, o = 0.5 tanh + 0.5; g = tanh: two whole-row ops, no strided slices
        g += shift
        c = C[a:b]
        xp.multiply(g[:, H:2 * H], cp, out=c)
        c += xp.multiply(g[:, :H], g[:, 2 * H:3 * H], out=ig[:bs])
        tct = xp.tanh(c, out=tc[a:b])
        if hpre is None:
            xp.multiply(g[:, 3 * H:], tct, out=out[a:b])
        else:
            xp.multiply(g[:, 3 * H:], tct, out=hpre[a:b])
            xp.matmul(hpre[a:b], Whr_T, out=out[a:b])
    saved = dict(act=act, C=C, tc=tc, hpre=hpre, h0=h0, c0=c0)
    if uniform:
        saved.update(hprev=hprev, cprev=cprev)
    return (out, _final_rows(xp, out, batch_sizes, offs, reverse),
            _final_rows(xp, C, batch_sizes, offs, reverse), saved)


def _lstm_gate_factors(xp, act, tc, cprev, D, Y, Z, otc):
    """For rows of one block: the factors of BPTT that do not depend on the incoming gradient,
    dL/d(i, f, g pre-activations) = dc * Y, dL/d(o pre-activation) = dh * Z and
    dL/dc += dh * otc (``D`` is scratch of the block's shape)."""
    H = tc.shape[1]
    i, f, g, o = act[:, :H], act[:, H:2 * H], act[:, 2 * H:3 * H], act[:, 3 * H:]
    xp.subtract(1, act, out=D)  # each gate's derivative: s (1 - s) for the sigmoids, 1 - g^2 for g
    D *= act
    xp.multiply(g, g, out=D[:, 2 * H:3 * H])
    xp.subtract(1, D[:, 2 * H:3 * H], out=D[:, 2 * H:3 * H])
    xp.multiply(g, D[:, :H], out=Y[:, 0])
    xp.multiply(cprev, D[:, H:2 * H], out=Y[:, 1])
    xp.multiply(i, D[:, 2 * H:3 * H], out=Y[:, 2])
    xp.multiply(tc, D[:, 3 * H:], out=Z)
    xp.multiply(tc, tc, out=otc)
    xp.subtract(1, otc, out=otc)
    otc *= o


_FACTOR_ROWS = 128  # rows per block of _lstm_gate_factors: its arrays stay in the CPU's cache


def _lstm_backward_arrays(xp, saved, out, d_out, d_h, d_c, Whh, Whr, batch_sizes, offs, reverse):
    """Backpropagation through time for ``_lstm_forward_arrays``.  The steps are taken in blocks
    of a few; on entering a block, every factor that does not depend on the incoming gradient is
    computed for all its rows at once (into scratch small enough to stay in the CPU's cache), so
    each step costs six elementwise ops and one matmul."""
    act, C, tc, hpre = saved["act"], saved["C"], saved["tc"], saved["hpre"]
    N, H4 = act.shape
    H = H4 // 4
    f = act[:, H:2 * H]
    cprev = saved.get("cprev")
    if cprev is None:
        cprev = _all_prev(xp, C, saved["c0"], batch_sizes, offs, reverse)
    T = len(batch_sizes)
    B = batch_sizes[0] if T else 0
    K = max(1, _FACTOR_ROWS // max(B, 1))  # steps per block
    R = K * B
    # a GPU, no projection: a step's elementwise work in one launch, no factors computed ahead
    fused = Whr is None and _kernels.fusable(act, d_out, d_h, d_c)
    if not fused:
        Y, Z = xp.empty((R, 3, H), dtype=act.dtype), xp.empty((R, H), dtype=act.dtype)
        otc, D = xp.empty((R, H), dtype=act.dtype), xp.empty((R, H4), dtype=act.dtype)
    dG = xp.empty_like(act)
    dG3 = dG.reshape(N, 4, H)
    dH = None if Whr is None else xp.empty_like(out)
    dh = d_h.copy()
    dc = d_c.copy()
    order = list(range(T) if reverse else range(T - 1, -1, -1))
    for k in range(0, T, K):
        block = order[k:k + K]  # consecutive steps: their rows are one range of the packed order
        lo = min(offs[t] for t in block)
        hi = max(offs[t] + batch_sizes[t] for t in block)
        if not fused:
            _lstm_gate_factors(xp, act[lo:hi], tc[lo:hi], cprev[lo:hi], D[:hi - lo], Y[:hi - lo],
                               Z[:hi - lo], otc[:hi - lo])
        for t in block:
            bs = batch_sizes[t]
            a, b = offs[t], offs[t] + bs
            if fused:
                _kernels.launch(_lstm_kernels.lstm_cell_backward_kernel(),
                                (act[a:b], tc[a:b], cprev[a:b], dh[:bs], d_out[a:b]), {"hidden": H},
                                (dG[a:b], dc[:bs]))
                xp.matmul(dG[a:b], Whh, out=dh[:bs])
                continue
            dht = dh[:bs] + d_out[a:b]
            if dH is not None:
                dH[a:b] = dht
                dht = dht @ Whr
            dct = dht * otc[a - lo:b - lo]
            dct += dc[:bs]
            xp.multiply(dct[:, None, :], Y[a - lo:b - lo], out=dG3[a:b, :3])
            xp.multiply(dht, Z[a - lo:b - lo], out=dG3[a:b, 3])
            xp.multiply(dct, f[a:b], out=dc[:bs])
            xp.matmul(dG[a:b], Whh, out=dh[:bs])
    hprev = saved.get("hprev")
    if hprev is None:
        hprev = _all_prev(xp, out, saved["h0"], batch_sizes, offs, reverse)
    dWhh = dG.T @ hprev
    dWhr = None if dH is None else dH.T @ hpre
    return dG, dh, dc, dWhh, dWhr
