"""Autocast does not re-cast inside an op: PyTorch excludes its autocast dispatch key while an
autocast-wrapped op runs, so a float32-list op (``cdist``, the linalg solvers, the losses) that
computes with matrix products keeps computing in float32, and a lower-precision op whose body
calls a float32-list op (``scaled_dot_product_attention`` calling ``softmax`` on CUDA) keeps its
dtype.  Compared with ``torch.autocast("cpu")`` at float32 tolerances, gradients included; the
CUDA lists are checked by dtype with the CUDA table swapped in (as ``test_amp_ops`` does)."""
import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from edunn.amp import _policy, autocast
from opcheck import needs_torch, torch

if torch is not None:
    import torch.nn.functional as TF


def _dtype_name(dtype):
    return str(dtype).split(".")[-1]


def _spd(g, n, batch=()):
    a = g.standard_normal((*batch, n, n))
    return (a @ np.swapaxes(a, -1, -2) + n * np.eye(n)).astype("float32")


def _compare(build, arrays, rtol=1e-5, atol=1e-5, grads=True, low="bfloat16"):
    """Run ``build(L, F_, *leaves)`` under each library's CPU autocast on float32 leaves made
    from ``arrays``; compare output dtype and values, then the leaves' gradients (dtype float32,
    values) after ``out.float().sum().backward()``."""
    results = []
    for L, F_ in ((torch, TF if torch is not None else None), (edunn, F)):
        leaves = [L.tensor(a, requires_grad=grads and a.dtype.kind == "f") for a in arrays]
        with L.autocast("cpu", dtype=getattr(L, low)):
            out = build(L, F_, *leaves)
        if isinstance(out, tuple):
            out = out[0]
        if grads and out.requires_grad:
            out.float().sum().backward()
        results.append((out, leaves))
    (theirs, t_leaves), (ours, o_leaves) = results
    assert _dtype_name(ours.dtype) == _dtype_name(theirs.dtype)
    ref = theirs.detach().double().numpy()
    scale = 1 + np.abs(ref).max() if ref.size else 1
    np.testing.assert_allclose(ours.detach().double().numpy(), ref, rtol=rtol, atol=atol * scale)
    for o, t in zip(o_leaves, t_leaves):
        assert (o.grad is None) == (t.grad is None)
        if t.grad is not None:
            assert _dtype_name(o.grad.dtype) == "float32"
            gref = t.grad.double().numpy()
            np.testing.assert_allclose(o.grad.double().numpy(), gref, rtol=max(rtol, 1e-4),
                                       atol=max(atol, 1e-4) * (1 + np.abs(gref).max()))
    return ours


# ------------------------------------------------------------------------------ the mechanism
def test_listed_op_suspends_autocast_for_what_it_calls_and_restores_it():
    seen = []

    def body(x):
        seen.append((_policy.active, edunn.matmul(x, x).dtype))
        return x

    x = edunn.ones(2, 2)
    with autocast("cpu"):
        assert _policy.active and "cdist" in _policy.listed and "softmax" not in _policy.listed
        _policy.call("cdist", body, x)
        assert _policy.active and edunn.matmul(x, x).dtype == edunn.bfloat16
    assert seen == [(False, edunn.float32)]
    assert not _policy.active and _policy.listed == frozenset()


def test_autocast_comes_back_when_the_op_raises():
    with autocast("cpu"):
        with pytest.raises(RuntimeError):
            edunn.linalg.solve(edunn.ones(2, 3), edunn.ones(2))
        assert _policy.active and _policy._suspended == 0
        assert edunn.mm(edunn.ones(2, 2), edunn.ones(2, 2)).dtype == edunn.bfloat16


def test_list_arguments_are_cast_and_keep_their_type():
    a, b = edunn.ones(2, dtype=edunn.bfloat16), edunn.ones(2)
    with autocast("cpu"):
        assert edunn.cat([a, b]).dtype == edunn.float32                      # promote, list
        assert edunn.stack((a, a)).dtype == edunn.bfloat16                    # promote, tuple
        # multi_dot is not on the CPU list: no exclusion, its inner matmul autocasts (as torch's mm)
        assert edunn.linalg.multi_dot([b.reshape(1, 2), b.reshape(2, 1)]).dtype == edunn.bfloat16


def test_off_path_is_one_attribute_check():
    # Off autocast, an entry point's line must not call into the policy at all.
    calls = []
    orig = _policy.call
    try:
        _policy.call = lambda *a, **k: calls.append(a)
        edunn.cdist(edunn.ones(2, 2), edunn.ones(2, 2))
        F.cross_entropy(edunn.ones(2, 3), edunn.tensor([0, 1]))
    finally:
        _policy.call = orig
    assert calls == []


# -------------------------------------------------------------------- CPU lists against torch
@needs_torch
@pytest.mark.parametrize("mode", ["use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist",
                                  "donot_use_mm_for_euclid_dist"])
@pytest.mark.parametrize("rows", [(50, 40), (30, 30)])
def test_cdist_stays_float32(mode, rows):
    g = np.random.default_rng(0)
    a = (g.standard_normal((rows[0], 30)) * 10).astype("float32")
    b = (g.standard_normal((rows[1], 30)) * 10).astype("float32")
    _compare(lambda L, F_, x, y: L.cdist(x, y, compute_mode=mode), [a, b], rtol=1e-5, atol=1e-6)
    if mode != "donot_use_mm_for_euclid_dist":   # the mm path with bfloat16 inputs, too
        _compare(lambda L, F_, x, y: L.cdist(x.bfloat16(), y.bfloat16(), compute_mode=mode), [a, b],
                 rtol=1e-5, atol=1e-6)


LINALG = {
    "solve": (lambda L, F_, A, B: L.linalg.solve(A, B), lambda g: [_spd(g, 4, (2,)), g.standard_normal((2, 4, 3))]),
    "solve-left": (lambda L, F_, A, B: L.linalg.solve(A, B, left=False), lambda g: [_spd(g, 3), g.standard_normal((2, 3))]),
    "inv": (lambda L, F_, A: L.linalg.inv(A), lambda g: [_spd(g, 4, (2,))]),
    "inv_ex": (lambda L, F_, A: L.linalg.inv_ex(A)[0], lambda g: [_spd(g, 4)]),
    "inverse": (lambda L, F_, A: L.inverse(A), lambda g: [_spd(g, 4)]),
    "lstsq": (lambda L, F_, A, B: L.linalg.lstsq(A, B).solution, lambda g: [g.standard_normal((6, 3)), g.standard_normal((6, 2))]),
    "cond": (lambda L, F_, A: L.linalg.cond(A), lambda g: [_spd(g, 4)]),
    "cond-fro": (lambda L, F_, A: L.linalg.cond(A, "fro"), lambda g: [_spd(g, 4)]),
    "matrix_rank": (lambda L, F_, A: L.linalg.matrix_rank(A), lambda g: [g.standard_normal((5, 3)) @ g.standard_normal((3, 5))]),
    "pinverse": (lambda L, F_, A: L.pinverse(A), lambda g: [g.standard_normal((5, 3))]),
    "cholesky_solve": (lambda L, F_, B, A: L.cholesky_solve(B, L.linalg.cholesky(A)), lambda g: [g.standard_normal((4, 2)), _spd(g, 4)]),
    "lu_solve": (lambda L, F_, B, A: L.lu_solve(B, *L.linalg.lu_factor(A)), lambda g: [g.standard_normal((4, 2)), _spd(g, 4)]),
    "triangular_solve": (lambda L, F_, B, A: L.triangular_solve(B, A.triu())[0], lambda g: [g.standard_normal((4, 2)), _spd(g, 4)]),
    "householder_product": (lambda L, F_, A: L.linalg.householder_product(*L.geqrf(A)), lambda g: [g.standard_normal((5, 3))]),
    "tensorsolve": (lambda L, F_, A, B: L.linalg.tensorsolve(A, B), lambda g: [_spd(g, 6).reshape(2, 3, 6), g.standard_normal((2, 3))]),
    "tensorinv": (lambda L, F_, A: L.linalg.tensorinv(A, 1), lambda g: [_spd(g, 6).reshape(6, 2, 3)]),
    "cholesky_inverse": (lambda L, F_, A: L.cholesky_inverse(L.linalg.cholesky(A)), lambda g: [_spd(g, 4)]),
}


@needs_torch
@pytest.mark.parametrize("name", list(LINALG))
def test_linalg_composites_stay_float32(name):
    build, make = LINALG[name]
    arrays = [np.asarray(a, dtype="float32") * 3 for a in make(np.random.default_rng(1))]
    # torch: no gradient through matrix_rank/lu_factor's pivots/geqrf; cond("fro") trips its version check
    grads = name not in ("matrix_rank", "lu_solve", "householder_product", "cond-fro")
    _compare(build, arrays, rtol=1e-4, atol=1e-5, grads=grads)


def _loss_inputs(g):
    return [g.standard_normal((4, 5)), g.standard_normal((4, 5))]


LOSSES = {
    "cosine_embedding_loss": lambda L, F_, a, b: F_.cosine_embedding_loss(a, b, L.tensor([1, -1, 1, -1])),
    "cross_entropy": lambda L, F_, a, b: F_.cross_entropy(a, L.tensor([0, 2, 4, 1]), label_smoothing=0.1),
    "cross_entropy-probs": lambda L, F_, a, b: F_.cross_entropy(a, b.softmax(1)),
    "nll_loss": lambda L, F_, a, b: F_.nll_loss(a.log_softmax(1), L.tensor([0, 2, 4, 1])),
    "kl_div": lambda L, F_, a, b: F_.kl_div(a.log_softmax(1), b.softmax(1), reduction="batchmean"),
    "mse_loss": lambda L, F_, a, b: F_.mse_loss(a, b),
    "l1_loss": lambda L, F_, a, b: F_.l1_loss(a, b),
    "huber_loss": lambda L, F_, a, b: F_.huber_loss(a, b, delta=0.5),
    "smooth_l1_loss": lambda L, F_, a, b: F_.smooth_l1_loss(a, b),
    "poisson_nll_loss": lambda L, F_, a, b: F_.poisson_nll_loss(a, b.abs()),
    "soft_margin_loss": lambda L, F_, a, b: F_.soft_margin_loss(a, b.detach().sign()),
    "margin_ranking_loss": lambda L, F_, a, b: F_.margin_ranking_loss(a, b, L.ones(4, 5)),
    "hinge_embedding_loss": lambda L, F_, a, b: F_.hinge_embedding_loss(a, b.sign()),
    "triplet_margin_loss": lambda L, F_, a, b: F_.triplet_margin_loss(a, b, a.flip(0)),
    "multi_margin_loss": lambda L, F_, a, b: F_.multi_margin_loss(a, L.tensor([0, 2, 4, 1])),
    "multilabel_margin_loss": lambda L, F_, a, b: F_.multilabel_margin_loss(a, L.tensor([[0, 2, -1, 0, 0]] * 4)),
    "binary_cross_entropy_with_logits": lambda L, F_, a, b: F_.binary_cross_entropy_with_logits(a, b.sigmoid()),
    "binary_cross_entropy": lambda L, F_, a, b: F_.binary_cross_entropy(a.sigmoid(), b.sigmoid()),
}


@needs_torch
@pytest.mark.parametrize("name", list(LOSSES))
def test_losses_stay_float32(name):
    _compare(LOSSES[name], [a.astype("float32") for a in _loss_inputs(np.random.default_rng(2))],
             rtol=1e-5, atol=1e-6)


@needs_torch
def test_ctc_loss_stays_float32():
    g = np.random.default_rng(3)
    _compare(lambda L, F_, x: F_.ctc_loss(x.log_softmax(2), L.tensor([[1, 2], [2, 2]]), [6, 5], [2, 2]),
             [g.standard_normal((6, 2, 4)).astype("float32")], rtol=1e-5, atol=1e-6)


# Lower-precision ops (and the ones not on the CPU list, whose inner products autocast
# separately in both libraries): bfloat16 results, compared at bfloat16 tolerance.
LOW = {
    "bilinear": (lambda L, F_, a, b, w, c: F_.bilinear(a, b, w, c), [(3, 4), (3, 5), (2, 4, 5), (2,)]),
    "sdpa": (lambda L, F_, q, k, v: F_.scaled_dot_product_attention(q, k, v), [(2, 3, 4), (2, 3, 4), (2, 3, 4)]),
    "sdpa-causal": (lambda L, F_, q, k, v: F_.scaled_dot_product_attention(q, k, v, is_causal=True), [(2, 3, 4)] * 3),
    "rnn_tanh_cell": (lambda L, F_, x, h, wi, wh, bi, bh: _cell(L, F_, "rnn_tanh_cell", x, h, wi, wh, bi, bh),
                      [(2, 3), (2, 4), (4, 3), (4, 4), (4,), (4,)]),
    "rnn_relu_cell": (lambda L, F_, x, h, wi, wh, bi, bh: _cell(L, F_, "rnn_relu_cell", x, h, wi, wh, bi, bh),
                      [(2, 3), (2, 4), (4, 3), (4, 4), (4,), (4,)]),
    "gru_cell": (lambda L, F_, x, h, wi, wh, bi, bh: _cell(L, F_, "gru_cell", x, h, wi, wh, bi, bh),
                 [(2, 3), (2, 4), (12, 3), (12, 4), (12,), (12,)]),
    "lstm_cell": (lambda L, F_, x, h, c, wi, wh, bi, bh: _cell(L, F_, "lstm_cell", x, (h, c), wi, wh, bi, bh)[1],
                  [(2, 3), (2, 4), (2, 4), (16, 3), (16, 4), (16,), (16,)]),
    "cosine_similarity": (lambda L, F_, a, b: F_.cosine_similarity(a, b), [(3, 4), (3, 4)]),
}


def _cell(L, F_, name, *args):
    return getattr(F_.rnn if L is edunn else torch, name)(*args)


@needs_torch
@pytest.mark.parametrize("name", list(LOW))
def test_lower_precision_and_unlisted_composites_like_torch(name):
    build, shapes = LOW[name]
    g = np.random.default_rng(4)
    _compare(build, [g.standard_normal(s).astype("float32") for s in shapes], rtol=2e-2, atol=2e-2)


@needs_torch
@pytest.mark.parametrize("need_weights", [True, False])
def test_multi_head_attention_forward_like_torch(need_weights):
    g = np.random.default_rng(5)
    E, H = 4, 2

    def build(L, F_, q, w_in, b_in, w_out, b_out):
        out, weights = F_.multi_head_attention_forward(
            q, q, q, E, H, w_in, b_in, None, None, False, 0.0, w_out, b_out, training=False,
            need_weights=need_weights)
        return out

    arrays = [g.standard_normal(s).astype("float32") for s in [(3, 2, E), (3 * E, E), (3 * E,), (E, E), (E,)]]
    _compare(build, arrays, rtol=3e-2, atol=3e-2)


# ----------------------------------------------------------------- CUDA lists, simulated on CPU
@pytest.fixture
def cuda_table_on_cpu(monkeypatch):
    for table in (_policy._LOWER_PRECISION, _policy._FLOAT32, _policy._PROMOTE):
        monkeypatch.setitem(table, "cpu", table["cuda"])
    monkeypatch.setitem(_policy._BANNED, "cpu", _policy._BANNED["cuda"])


def _cuda_cases():
    g = np.random.default_rng(6)

    def T(*shape):
        return edunn.tensor(g.standard_normal(shape).astype("float32"))

    def H(*shape):
        return T(*shape).half()

    E = 4
    return {
        "scaled_dot_product_attention": ("float16", lambda: F.scaled_dot_product_attention(T(1, 2, 3, 4), T(1, 2, 3, 4), T(1, 2, 3, 4))),
        "multi_head_attention_forward": ("float16", lambda: F.multi_head_attention_forward(
            T(3, 2, E), T(3, 2, E), T(3, 2, E), E, 2, T(3 * E, E), T(3 * E), None, None, False, 0.0,
            T(E, E), T(E), training=False)[0]),
        "bilinear": ("float32", lambda: F.bilinear(H(2, 3), T(2, 3), T(4, 3, 3), T(4))),
        "bilinear-half": ("float16", lambda: F.bilinear(H(2, 3), H(2, 3), H(4, 3, 3), H(4))),
        "rnn_tanh_cell": ("float16", lambda: F.rnn.rnn_tanh_cell(T(2, 3), T(2, 4), T(4, 3), T(4, 4), T(4), T(4))),
        "rnn_relu_cell": ("float16", lambda: F.rnn.rnn_relu_cell(T(2, 3), T(2, 4), T(4, 3), T(4, 4), T(4), T(4))),
        "gru_cell": ("float16", lambda: F.rnn.gru_cell(T(2, 3), T(2, 4), T(12, 3), T(12, 4), T(12), T(12))),
        "lstm_cell": ("float16", lambda: F.rnn.lstm_cell(T(2, 3), (T(2, 4), T(2, 4)), T(16, 3), T(16, 4), T(16), T(16))[1]),
        "cosine_similarity": ("float32", lambda: F.cosine_similarity(H(2, 3), H(2, 3))),
        "cross_entropy": ("float32", lambda: F.cross_entropy(H(2, 3), edunn.tensor([0, 1]))),
        "cdist": ("float32", lambda: edunn.cdist(H(30, 3), H(30, 3), compute_mode="use_mm_for_euclid_dist")),
    }


CUDA = _cuda_cases()


@pytest.mark.parametrize("name", list(CUDA))
def test_cuda_list_dtypes_simulated_on_cpu(cuda_table_on_cpu, name):
    expected, fn = CUDA[name]
    with autocast("cpu", dtype=edunn.float16):
        out = fn()
    assert _dtype_name(out.dtype) == expected


# (multi_head_attention_forward is on the CPU list only: under CUDA autocast its inner ops cast
# separately, in torch's Python F.multi_head_attention_forward too.)
@pytest.mark.parametrize("name", ["scaled_dot_product_attention", "bilinear",
                                  "gru_cell", "lstm_cell", "cosine_similarity", "cross_entropy", "cdist"])
def test_cuda_inner_ops_are_not_cast_again_simulated_on_cpu(cuda_table_on_cpu, monkeypatch, name):
    # e.g. softmax is on CUDA's float32 list; inside sdpa (float16 list) it must not lift the scores:
    # the policy is asked once, by the outer op, and never by the ops it calls.
    asked = []
    orig = _policy.cast_inputs
    monkeypatch.setattr(_policy, "cast_inputs", lambda op, *a: asked.append(op) or orig(op, *a))
    fn = CUDA[name][1]
    with autocast("cpu", dtype=edunn.float16):
        fn()
        asked.clear()
        fn()
        q = edunn.randn(1, 2, 3, dtype=edunn.float16)
        assert q.softmax(-1).dtype == edunn.float32      # outside an op, softmax is still lifted
    assert asked[0] == name and asked[1:] == ["softmax"]
