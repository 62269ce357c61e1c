"""Every loss of ``edunn.nn.functional`` against PyTorch CPU (values, input and target gradients)
and against finite differences in float64, for each reduction and option; the loss modules'
arguments, buffers and reprs; bad input.  Lesson 06."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from tests.opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

pytestmark = [pytest.mark.lesson06,
              pytest.mark.filterwarnings("ignore:reduction. 'mean' divides the total loss")]

TF = torch.nn.functional if torch is not None else None
REDUCTIONS = ("none", "mean", "sum")


def _both(name, call, make, grad_inputs=None, gradgrad=False, atol=1e-5, rtol=1e-4):
    """One spec from one call written for both libraries: ``call(F, *tensors)``."""
    return OpSpec(name, lambda *a: call(F, *a), (lambda *a: call(TF, *a)) if TF else None, [],
                  make_inputs=make, grad_inputs=grad_inputs, gradgrad=gradgrad, atol=atol,
                  rtol=rtol, lesson=6)


def _normal(*shape):
    return lambda rng: rng.standard_normal(shape)


def _two(shape, shape2=None):
    return lambda rng: [rng.standard_normal(shape), rng.standard_normal(shape2 or shape)]


def _with_weight(shape, wshape):
    return lambda rng: [rng.standard_normal(shape), rng.standard_normal(shape),
                        rng.uniform(0.5, 2.0, wshape)]


def _classes(shape, n_classes, ignore=None, weight=False, logp=False):
    """logits (N, C, *) and int64 targets (N, *) (some equal to ``ignore``), optional weight."""
    def make(rng):
        x = rng.standard_normal(shape) * 2
        if logp:
            x = x - np.log(np.exp(x).sum(axis=1 if len(shape) > 1 else 0, keepdims=True))
        tshape = (shape[0],) + tuple(shape[2:]) if len(shape) > 1 else ()
        t = rng.integers(0, n_classes, size=tshape).astype(np.int64)
        if ignore is not None and t.ndim:
            t.ravel()[::3] = ignore
        out = [x, t]
        if weight:
            out.append(rng.uniform(0.5, 2.0, n_classes))
        return out
    return make


def _probs_target(shape, weight=False):
    def make(rng):
        x = rng.standard_normal(shape) * 2
        e = np.exp(rng.standard_normal(shape))
        out = [x, e / e.sum(axis=1 if len(shape) > 1 else 0, keepdims=True)]
        if weight:
            out.append(rng.uniform(0.5, 2.0, shape[1] if len(shape) > 1 else shape[0]))
        return out
    return make


SPECS = []
for r in REDUCTIONS:
    SPECS += [
        _both(f"l1_{r}", lambda f, x, y, r=r: f.l1_loss(x, y, reduction=r), _two((4, 5))),
        _both(f"l1_weight_{r}", lambda f, x, y, w, r=r: f.l1_loss(x, y, reduction=r, weight=w),
              _with_weight((4, 5), (4, 5)), grad_inputs=[0, 1]),
        _both(f"mse_{r}", lambda f, x, y, r=r: f.mse_loss(x, y, reduction=r), _two((4, 5)), gradgrad=True),
        _both(f"mse_weight_{r}", lambda f, x, y, w, r=r: f.mse_loss(x, y, reduction=r, weight=w),
              _with_weight((4, 5), (4, 5)), grad_inputs=[0, 1]),
        _both(f"huber_weight_{r}", lambda f, x, y, w, r=r: f.huber_loss(x, y, reduction=r, weight=w),
              _with_weight((4, 5), (4, 5)), grad_inputs=[0, 1]),
        _both(f"bce_{r}", lambda f, x, y, r=r: f.binary_cross_entropy(x, y, reduction=r),
              lambda rng: [rng.uniform(0.05, 0.95, (4, 5)), rng.uniform(0, 1, (4, 5))], gradgrad=True),
        _both(f"bce_weight_{r}", lambda f, x, y, w, r=r: f.binary_cross_entropy(x, y, w, reduction=r),
              lambda rng: [rng.uniform(0.05, 0.95, (4, 5)), rng.uniform(0, 1, (4, 5)),
                           rng.uniform(0.5, 2, (5,))], grad_inputs=[0, 1]),
        _both(f"bce_logits_{r}", lambda f, x, y, r=r: f.binary_cross_entropy_with_logits(x, y, reduction=r),
              lambda rng: [rng.standard_normal((4, 5)) * 3, rng.uniform(0, 1, (4, 5))], gradgrad=True),
        _both(f"bce_logits_weights_{r}",
              lambda f, x, y, w, pw, r=r: f.binary_cross_entropy_with_logits(x, y, w, reduction=r, pos_weight=pw),
              lambda rng: [rng.standard_normal((4, 5)) * 3, rng.uniform(0, 1, (4, 5)),
                           rng.uniform(0.5, 2, (4, 1)), rng.uniform(0.5, 3, (5,))], grad_inputs=[0, 1],
              gradgrad=True),
        _both(f"kl_div_{r}", lambda f, x, y, r=r: f.kl_div(x, y, reduction=r),
              lambda rng: [rng.standard_normal((4, 5)), rng.uniform(0.05, 1, (4, 5))]),
        _both(f"kl_div_log_target_{r}", lambda f, x, y, r=r: f.kl_div(x, y, reduction=r, log_target=True),
              _two((4, 5))),
        _both(f"cross_entropy_{r}", lambda f, x, t, r=r: f.cross_entropy(x, t, reduction=r),
              _classes((6, 5), 5), gradgrad=True),
        _both(f"cross_entropy_weight_ignore_{r}",
              lambda f, x, t, w, r=r: f.cross_entropy(x, t, w, ignore_index=2, reduction=r),
              _classes((6, 5), 5, ignore=2, weight=True), grad_inputs=[0], gradgrad=True),
        _both(f"cross_entropy_ignore_neg_{r}", lambda f, x, t, r=r: f.cross_entropy(x, t, reduction=r),
              _classes((6, 5), 5, ignore=-100)),
        _both(f"cross_entropy_kdim_{r}", lambda f, x, t, w, r=r: f.cross_entropy(x, t, w, reduction=r),
              _classes((3, 4, 2, 3), 4, weight=True), grad_inputs=[0]),
        _both(f"cross_entropy_unbatched_{r}", lambda f, x, t, r=r: f.cross_entropy(x, t, reduction=r),
              _classes((5,), 5)),
        _both(f"cross_entropy_smoothing_{r}",
              lambda f, x, t, r=r: f.cross_entropy(x, t, reduction=r, label_smoothing=0.15),
              _classes((6, 5), 5)),
        _both(f"cross_entropy_smoothing_weight_ignore_{r}",
              lambda f, x, t, w, r=r: f.cross_entropy(x, t, w, ignore_index=1, reduction=r,
                                                      label_smoothing=0.3),
              _classes((3, 5, 4), 5, ignore=1, weight=True), grad_inputs=[0]),
        _both(f"cross_entropy_smoothing_unbatched_{r}",
              lambda f, x, t, r=r: f.cross_entropy(x, t, reduction=r, label_smoothing=0.2),
              _classes((5,), 5)),
        _both(f"cross_entropy_probs_{r}", lambda f, x, y, r=r: f.cross_entropy(x, y, reduction=r),
              _probs_target((6, 5)), gradgrad=True),
        _both(f"cross_entropy_probs_weight_smoothing_{r}",
              lambda f, x, y, w, r=r: f.cross_entropy(x, y, w, reduction=r, label_smoothing=0.1),
              _probs_target((3, 5, 2), weight=True), grad_inputs=[0, 1]),
        _both(f"cross_entropy_probs_unbatched_{r}", lambda f, x, y, r=r: f.cross_entropy(x, y, reduction=r),
              _probs_target((5,))),
        _both(f"nll_{r}", lambda f, x, t, r=r: f.nll_loss(x, t, reduction=r), _classes((6, 5), 5, logp=True),
              gradgrad=True),
        _both(f"nll_weight_ignore_{r}", lambda f, x, t, w, r=r: f.nll_loss(x, t, w, ignore_index=0, reduction=r),
              _classes((6, 5), 5, ignore=0, weight=True, logp=True), grad_inputs=[0]),
        _both(f"nll_kdim_{r}", lambda f, x, t, r=r: f.nll_loss(x, t, reduction=r),
              _classes((2, 3, 2, 2, 2), 3, ignore=-100, logp=True)),
        _both(f"nll_unbatched_{r}", lambda f, x, t, r=r: f.nll_loss(x, t, reduction=r), _classes((4,), 4)),
        _both(f"margin_ranking_{r}", lambda f, a, b, y, r=r: f.margin_ranking_loss(a, b, y, 0.3, reduction=r),
              lambda rng: [rng.standard_normal(7), rng.standard_normal(7),
                           rng.choice([-1.0, 1.0], 7)], grad_inputs=[0, 1]),
        _both(f"hinge_embedding_{r}", lambda f, x, y, r=r: f.hinge_embedding_loss(x, y, 0.7, reduction=r),
              lambda rng: [rng.uniform(-1, 2, (4, 5)), rng.choice([-1.0, 1.0], (4, 5))], grad_inputs=[0]),
        _both(f"soft_margin_{r}", lambda f, x, y, r=r: f.soft_margin_loss(x, y, reduction=r),
              lambda rng: [rng.standard_normal((4, 5)), rng.choice([-1.0, 1.0], (4, 5))], grad_inputs=[0]),
        _both(f"multilabel_soft_margin_{r}", lambda f, x, y, w, r=r: f.multilabel_soft_margin_loss(x, y, w, reduction=r),
              lambda rng: [rng.standard_normal((4, 5)), rng.integers(0, 2, (4, 5)).astype(float),
                           rng.uniform(0.5, 2, 5)], grad_inputs=[0, 1]),
        _both(f"cosine_embedding_{r}", lambda f, a, b, y, r=r: f.cosine_embedding_loss(a, b, y, 0.2, reduction=r),
              lambda rng: [rng.standard_normal((6, 4)), rng.standard_normal((6, 4)),
                           rng.choice([-1.0, 1.0], 6)], grad_inputs=[0, 1]),
        _both(f"multi_margin_{r}", lambda f, x, t, r=r: f.multi_margin_loss(x, t, reduction=r),
              _classes((6, 5), 5)),
        _both(f"multi_margin_p2_weight_{r}",
              lambda f, x, t, w, r=r: f.multi_margin_loss(x, t, p=2, margin=0.7, weight=w, reduction=r),
              _classes((6, 5), 5, weight=True), grad_inputs=[0]),
        _both(f"multilabel_margin_{r}", lambda f, x, t, r=r: f.multilabel_margin_loss(x, t, reduction=r),
              lambda rng: [rng.standard_normal((3, 5)),
                           np.array([[3, 0, -1, 1, 2], [1, 1, 4, 2, 3], [-1, 2, 0, 0, 0]])]),
        _both(f"triplet_{r}", lambda f, a, p, n, r=r: f.triplet_margin_loss(a, p, n, reduction=r),
              lambda rng: [rng.standard_normal((5, 4)) for _ in range(3)]),
        _both(f"triplet_with_distance_{r}",
              lambda f, a, p, n, r=r: f.triplet_margin_with_distance_loss(a, p, n, reduction=r),
              lambda rng: [rng.standard_normal((5, 4)) for _ in range(3)]),
    ]
    for delta in (0.5, 1.0, 2.0):
        SPECS.append(_both(f"huber_{delta}_{r}", lambda f, x, y, r=r, d=delta: f.huber_loss(x, y, reduction=r, delta=d),
                           lambda rng: [rng.standard_normal((4, 5)) * 2, rng.standard_normal((4, 5))]))
    for beta in (0.0, 0.5, 1.0):
        SPECS.append(_both(f"smooth_l1_{beta}_{r}",
                           lambda f, x, y, r=r, b=beta: f.smooth_l1_loss(x, y, reduction=r, beta=b),
                           lambda rng: [rng.standard_normal((4, 5)) * 2, rng.standard_normal((4, 5))]))
    for log_input in (True, False):
        for full in (False, True):
            SPECS.append(_both(
                f"poisson_{log_input}_{full}_{r}",
                lambda f, x, y, r=r, li=log_input, fu=full: f.poisson_nll_loss(x, y, li, fu, reduction=r),
                (lambda rng: [rng.uniform(-1, 1, (4, 5)), rng.uniform(0.2, 4, (4, 5))]) if log_input else
                (lambda rng: [rng.uniform(0.2, 3, (4, 5)), rng.uniform(0.2, 4, (4, 5))])))
    for vshape, full in (((4, 5), False), ((4,), True), ((4, 1), False), ((1, 5), True)):
        SPECS.append(_both(
            f"gaussian_nll_{vshape}_{full}_{r}",
            lambda f, x, y, v, r=r, fu=full: f.gaussian_nll_loss(x, y, v, full=fu, reduction=r),
            lambda rng, vs=vshape: [rng.standard_normal((4, 5)), rng.standard_normal((4, 5)),
                                    rng.uniform(0.2, 2, vs)]))
SPECS += [
    _both("kl_div_batchmean", lambda f, x, y: f.kl_div(x, y, reduction="batchmean"),
          lambda rng: [rng.standard_normal((4, 5)), rng.uniform(0.05, 1, (4, 5))]),
    _both("kl_div_batchmean_log_target", lambda f, x, y: f.kl_div(x, y, reduction="batchmean", log_target=True),
          _two((4, 5))),
    _both("gaussian_nll_float_var", lambda f, x, y: f.gaussian_nll_loss(x, y, 0.7), _two((4, 5))),
    _both("poisson_eps", lambda f, x, y: f.poisson_nll_loss(x, y, log_input=False, eps=0.1),
          lambda rng: [rng.uniform(0.2, 3, (4, 5)), rng.uniform(0.2, 4, (4, 5))]),
    _both("cross_entropy_smoothing_one", lambda f, x, t: f.cross_entropy(x, t, label_smoothing=1.0),
          _classes((4, 3), 3)),
    _both("cosine_embedding_unbatched", lambda f, a, b, y: f.cosine_embedding_loss(a, b, y, reduction="none"),
          lambda rng: [rng.standard_normal(4), rng.standard_normal(4), np.array(-1.0)], grad_inputs=[0, 1]),
    _both("cosine_embedding_zero_target", lambda f, a, b, y: f.cosine_embedding_loss(a, b, y, reduction="none"),
          lambda rng: [rng.standard_normal((3, 4)), rng.standard_normal((3, 4)), np.array([1.0, 0.0, -1.0])],
          grad_inputs=[0, 1]),
    _both("multi_margin_unbatched", lambda f, x, t: f.multi_margin_loss(x, t, reduction="none"), _classes((5,), 5)),
    _both("multilabel_margin_unbatched", lambda f, x, t: f.multilabel_margin_loss(x, t, reduction="none"),
          lambda rng: [rng.standard_normal(4), np.array([2, 0, -1, 3])]),
    _both("triplet_p1_swap", lambda f, a, p, n: f.triplet_margin_loss(a, p, n, margin=2.0, p=1, eps=1e-3, swap=True),
          lambda rng: [rng.standard_normal((5, 4)) for _ in range(3)]),
    _both("triplet_unbatched", lambda f, a, p, n: f.triplet_margin_loss(a, p, n, p=3, reduction="none"),
          lambda rng: [rng.standard_normal(4) for _ in range(3)]),
    _both("triplet_with_distance_cosine_swap",
          lambda f, a, p, n: f.triplet_margin_with_distance_loss(
              a, p, n, distance_function=lambda u, v: 1.0 - f.cosine_similarity(u, v), margin=0.5, swap=True),
          lambda rng: [rng.standard_normal((5, 4)) for _ in range(3)]),
    _both("hinge_embedding_int_target", lambda f, x, y: f.hinge_embedding_loss(x, y),
          lambda rng: [rng.uniform(-1, 2, (4, 5)), rng.choice([-1, 1], (4, 5))]),
    _both("mse_broadcast_target", lambda f, x, y: f.mse_loss(x, y.expand(4, 5)), _two((4, 5), (5,))),
]

test_parity, test_gradcheck = spec_tests(SPECS, lesson=6)


# ------------------------------------------------------------------------------------------------
# dtypes, double backward on the fused ops, legacy arguments
# ------------------------------------------------------------------------------------------------
def test_cross_entropy_keeps_float32_end_to_end():
    x = edunn.randn(8, 10, requires_grad=True)
    t = edunn.randint(0, 10, (8,))
    loss = F.cross_entropy(x, t)
    assert loss.dtype == edunn.float32
    loss.backward()
    assert x.grad.dtype == edunn.float32
    for r in REDUCTIONS:
        for fn in (lambda: F.nll_loss(x, t, reduction=r),
                   lambda: F.binary_cross_entropy_with_logits(x, edunn.rand(8, 10), reduction=r),
                   lambda: F.binary_cross_entropy(x.sigmoid(), edunn.rand(8, 10), reduction=r)):
            out = fn()
            assert out.dtype == edunn.float32
            g, = edunn.autograd.grad(out.sum(), x)
            assert g.dtype == edunn.float32


def test_cross_entropy_double_backward_kdim_and_weights():
    rng = np.random.default_rng(3)
    x = edunn.tensor(rng.standard_normal((3, 4, 2)), requires_grad=True)
    t = edunn.tensor(rng.integers(0, 4, (3, 2)))
    w = edunn.tensor(rng.uniform(0.5, 2, 4))
    for r in REDUCTIONS:
        assert edunn.autograd.gradgradcheck(lambda a: F.cross_entropy(a, t, w, reduction=r), (x,),
                                            atol=1e-4)


@needs_torch
@pytest.mark.parametrize("size_average,reduce,expected", [
    (None, False, "none"), (False, None, "sum"), (True, True, "mean"), (False, False, "none")])
def test_legacy_size_average_reduce(size_average, reduce, expected):
    rng = np.random.default_rng(0)
    x, y = rng.standard_normal((3, 4)).astype(np.float32), rng.standard_normal((3, 4)).astype(np.float32)
    with pytest.warns(UserWarning, match=f"please use reduction='{expected}' instead"):
        ours = F.mse_loss(edunn.tensor(x), edunn.tensor(y), size_average=size_average, reduce=reduce)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = TF.mse_loss(torch.tensor(x), torch.tensor(y), size_average=size_average, reduce=reduce)
    assert_close(ours, ref)
    with pytest.warns(UserWarning):
        module = edunn.nn.CrossEntropyLoss(size_average=size_average, reduce=reduce)
    assert module.reduction == expected


@needs_torch
def test_class_index_edge_cases():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((4, 3)).astype(np.float32)

    def both(fn_name, xa, ta, grad=True, **kw):
        ex, tx = edunn.tensor(xa, requires_grad=True), torch.tensor(xa, requires_grad=True)
        ours = getattr(F, fn_name)(ex, edunn.tensor(ta), **kw)
        ref = getattr(TF, fn_name)(tx, torch.tensor(ta), **kw)
        np.testing.assert_allclose(ours.detach().numpy(), ref.detach().numpy(), rtol=1e-5, equal_nan=True)
        assert tuple(ours.shape) == tuple(ref.shape)
        if grad and ref.numel() and ref.requires_grad:
            ours.sum().backward()
            ref.sum().backward()
            np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-7)

    for r in REDUCTIONS:
        both("cross_entropy", x, np.array([2, 0, 1, 1], np.uint8), reduction=r)       # Byte targets
        both("cross_entropy", x, np.array([-100] * 4), reduction=r)                  # all ignored: nan mean
        both("nll_loss", x, np.array([1, -100, 2, -100]), reduction=r)
        both("cross_entropy", x[:0], np.zeros(0, np.int64), reduction=r)             # empty batch
        both("cross_entropy", x[:0], np.zeros((0, 3), np.float32), reduction=r)
        # (C) with a target (1): PyTorch's own backward fails there ("size mismatch"); ours works
        both("cross_entropy", x[0], np.array([2]), grad=False, reduction=r)
        both("nll_loss", x[0], np.array(1), reduction=r)
        both("cross_entropy", x, np.array([2, 0, 7, 1]), ignore_index=7, reduction=r)  # ignored, out of range
        both("cross_entropy", x, np.array([2, 0, 1, 1]), reduction=r, label_smoothing=-0.5)


def test_elementwise_mean_is_deprecated_mean():
    x, y = edunn.randn(3, 4), edunn.randn(3, 4)
    with pytest.warns(UserWarning, match="reduction='elementwise_mean' is deprecated"):
        out = F.mse_loss(x, y, reduction="elementwise_mean")
    np.testing.assert_allclose(out.numpy(), F.mse_loss(x, y).numpy())


def test_warnings_point_at_the_caller():
    x, y = edunn.randn(3, 4), edunn.randn(3, 4)
    for call in (lambda: F.mse_loss(x, y, reduce=False), lambda: F.l1_loss(x, y[0]),
                 lambda: F.kl_div(x, y.abs()), lambda: F.kl_div(x, y.abs(), size_average=True),
                 lambda: F.multilabel_soft_margin_loss(x, y.abs(), reduce=True),
                 lambda: F.nll_loss(x, edunn.tensor([0, 1, 2]), reduction="elementwise_mean")):
        with pytest.warns(UserWarning) as record:
            call()
        assert record[0].filename == __file__


def test_kl_div_mean_warns():
    with pytest.warns(UserWarning, match="'batchmean' divides only by the batch size"):
        F.kl_div(edunn.randn(2, 3), edunn.rand(2, 3))


def test_size_mismatch_warns():
    with pytest.warns(UserWarning, match="Using a target size"):
        F.l1_loss(edunn.randn(3, 4), edunn.randn(4))


# ------------------------------------------------------------------------------------------------
# bad input
# ------------------------------------------------------------------------------------------------
def _x():
    return edunn.randn(3, 5)


BAD = [
    ("cross_entropy_out_of_bounds", lambda: F.cross_entropy(_x(), edunn.tensor([1, 7, 2])), IndexError,
     "Target 7 is out of bounds."),
    ("cross_entropy_negative", lambda: F.cross_entropy(_x(), edunn.tensor([1, -3, 2])), IndexError,
     "Target -3 is out of bounds."),
    ("nll_out_of_bounds_kdim", lambda: F.nll_loss(edunn.randn(2, 3, 4), edunn.full((2, 4), 5)), IndexError,
     "Target 5 is out of bounds."),
    ("cross_entropy_target_dtype", lambda: F.cross_entropy(_x(), edunn.tensor([1.0, 0.0, 2.0])), RuntimeError,
     "expected target dtype to be Long or Byte, but got Float"),
    ("cross_entropy_int32_target", lambda: F.cross_entropy(_x(), edunn.tensor([1, 0, 2], dtype=edunn.int32)),
     RuntimeError, "expected target dtype to be Long or Byte, but got Int"),
    ("cross_entropy_batch", lambda: F.cross_entropy(_x(), edunn.tensor([1, 0])), ValueError,
     r"Expected input batch_size \(3\) to match target batch_size \(2\)."),
    ("cross_entropy_kdim_shape", lambda: F.cross_entropy(edunn.randn(2, 3, 4), edunn.zeros(2, 5, dtype=edunn.int64)),
     RuntimeError, r"Expected target size \[2, 4\], got \[2, 5\]"),
    ("nll_4d_target_dim", lambda: F.nll_loss(edunn.randn(2, 3, 4, 5), edunn.zeros(2, 4, dtype=edunn.int64)),
     RuntimeError, "only batches of spatial targets supported"),
    ("nll_multi_target", lambda: F.nll_loss(_x(), edunn.zeros(3, 5, dtype=edunn.int64)), RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    ("nll_0d_input", lambda: F.nll_loss(edunn.tensor(1.0), edunn.tensor(0)), ValueError,
     r"Expected 1 or more dimensions \(got 0\)"),
    ("nll_unbatched_target", lambda: F.nll_loss(edunn.randn(3), edunn.tensor([1, 2])), ValueError,
     "For 1D input, 1D target must have size 1, but got target size: 2"),
    ("cross_entropy_probs_int", lambda: F.cross_entropy(_x(), edunn.ones(3, 5, dtype=edunn.int64)), RuntimeError,
     "Expected floating point type for target with class probabilities, got Long"),
    ("cross_entropy_probs_ignore", lambda: F.cross_entropy(_x(), edunn.rand(3, 5), ignore_index=1), RuntimeError,
     "ignore_index is not supported for floating point target"),
    ("cross_entropy_smoothing", lambda: F.cross_entropy(_x(), edunn.tensor([1, 0, 2]), label_smoothing=1.5),
     RuntimeError, "label_smoothing must be between 0.0 and 1.0. Got: 1.5"),
    ("cross_entropy_weight", lambda: F.cross_entropy(_x(), edunn.tensor([1, 0, 2]), weight=edunn.ones(4)),
     RuntimeError, r"weight tensor should be defined either for all 5 classes or no classes but got weight "
                   r"tensor of shape: \[4\]"),
    ("cross_entropy_probs_weight", lambda: F.cross_entropy(_x(), edunn.rand(3, 5), weight=edunn.ones(4)),
     RuntimeError, "cross_entropy: weight tensor should be defined either for all 5 classes"),
    ("cross_entropy_weight_dtype", lambda: F.cross_entropy(_x(), edunn.tensor([1, 0, 2]),
                                                           weight=edunn.ones(5, dtype=edunn.float64)),
     RuntimeError, "expected scalar type Float but found Double"),
    ("cross_entropy_weight_requires_grad", lambda: F.cross_entropy(
        _x(), edunn.tensor([1, 0, 2]), weight=edunn.ones(5, requires_grad=True)), RuntimeError,
     "is not differentiable with respect to argument 'weight'"),
    ("cross_entropy_reduction", lambda: F.cross_entropy(_x(), edunn.tensor([1, 0, 2]), reduction="avg"),
     ValueError, "avg is not a valid value for reduction"),
    ("mse_reduction", lambda: F.mse_loss(_x(), _x(), reduction="bad"), ValueError,
     "bad is not a valid value for reduction"),
    ("kl_reduction", lambda: F.kl_div(_x(), _x(), reduction="bad"), ValueError,
     "bad is not a valid value for reduction"),
    ("triplet_distance_reduction", lambda: F.triplet_margin_with_distance_loss(_x(), _x(), _x(), reduction="q"),
     ValueError, "q is not a valid value for reduction"),
    ("bce_input_range", lambda: F.binary_cross_entropy(edunn.tensor([0.5, 1.2]), edunn.tensor([0.0, 1.0])),
     RuntimeError, "all elements of input should be between 0 and 1"),
    ("bce_input_nan", lambda: F.binary_cross_entropy(edunn.tensor([float("nan")]), edunn.tensor([0.0])),
     RuntimeError, "all elements of input should be between 0 and 1"),
    ("bce_target_range", lambda: F.binary_cross_entropy(edunn.tensor([0.5, 0.2]), edunn.tensor([0.0, 2.0])),
     RuntimeError, "all elements of target should be between 0 and 1"),
    ("bce_size", lambda: F.binary_cross_entropy(edunn.tensor([0.5, 0.2]), edunn.tensor([0.0])), ValueError,
     "Using a target size .* that is different to the input size"),
    ("bce_target_dtype", lambda: F.binary_cross_entropy(edunn.tensor([0.5, 0.2]), edunn.tensor([0, 1])),
     RuntimeError, "Found dtype Long but expected Float"),
    ("bce_logits_size", lambda: F.binary_cross_entropy_with_logits(edunn.tensor([0.5, 0.2]), edunn.tensor([0.0])),
     ValueError, "Target size .* must be the same as input size"),
    ("kl_int", lambda: F.kl_div(_x(), edunn.ones(3, 5, dtype=edunn.int64)), RuntimeError,
     "kl_div: Integral inputs not supported."),
    ("gaussian_negative_var", lambda: F.gaussian_nll_loss(_x(), _x(), -1.0), ValueError,
     "var has negative entry/entries"),
    ("gaussian_var_size", lambda: F.gaussian_nll_loss(_x(), _x(), edunn.ones(2)), ValueError,
     "var is of incorrect size"),
    ("gaussian_reduction", lambda: F.gaussian_nll_loss(_x(), _x(), edunn.ones(3, 5), reduction="x"), ValueError,
     "x is not valid"),
    ("poisson_reduction", lambda: F.poisson_nll_loss(_x(), _x(), reduction="x"), ValueError,
     "x is not a valid value for reduction"),
    ("multi_margin_p", lambda: F.multi_margin_loss(_x(), edunn.tensor([1, 0, 2]), p=3), ValueError,
     "only p == 1 and p == 2 supported"),
    ("multi_margin_range", lambda: F.multi_margin_loss(_x(), edunn.tensor([1, 7, 2])), RuntimeError,
     "target out of range"),
    ("multi_margin_target_shape", lambda: F.multi_margin_loss(_x(), edunn.tensor([1, 0])), RuntimeError,
     r"Expected target size \[3\], but got \[2\]"),
    ("multi_margin_weight", lambda: F.multi_margin_loss(_x(), edunn.tensor([1, 0, 2]), weight=edunn.ones(4)),
     RuntimeError, r"inconsistent weight size, expected 5 but got \[4\]"),
    ("multi_margin_float_target", lambda: F.multi_margin_loss(_x(), edunn.tensor([1.0, 0.0, 2.0])), RuntimeError,
     "expected scalar type Long but found Float"),
    ("multi_margin_3d", lambda: F.multi_margin_loss(edunn.randn(2, 3, 4), edunn.tensor([1, 0])), RuntimeError,
     "Expected non-empty vector or matrix with optional 0-dim batch size"),
    ("multilabel_margin_range", lambda: F.multilabel_margin_loss(_x(), edunn.full((3, 5), 7)), RuntimeError,
     "argument #2 'target' is out of range"),
    ("multilabel_margin_shape", lambda: F.multilabel_margin_loss(_x(), edunn.full((3, 4), 1)), RuntimeError,
     r"inconsistent target size: \[3, 4\] for input of size: \[3, 5\]"),
    ("cosine_embedding_target_dim", lambda: F.cosine_embedding_loss(_x(), _x(), edunn.ones(3, 5)), RuntimeError,
     "0D or 1D target tensor expected, multi-target not supported"),
    ("cosine_embedding_input_dim", lambda: F.cosine_embedding_loss(_x(), _x(), edunn.tensor(1.0)), RuntimeError,
     r"0D target tensor expects 1D input tensors, but found inputs with sizes \[3, 5\] and \[3, 5\]."),
    ("margin_ranking_dims", lambda: F.margin_ranking_loss(_x(), _x(), edunn.ones(3)), RuntimeError,
     "margin_ranking_loss : All input tensors should have same dimension"),
    ("triplet_margin", lambda: F.triplet_margin_loss(_x(), _x(), _x(), margin=0), ValueError,
     "margin must be greater than 0, got 0"),
    ("triplet_dims", lambda: F.triplet_margin_loss(_x(), _x(), edunn.randn(5)), RuntimeError,
     "anchor 2D, positive 2D, and negative 1D inputs"),
    ("smooth_l1_beta", lambda: F.smooth_l1_loss(_x(), _x(), beta=-1), RuntimeError,
     "smooth_l1_loss does not support negative values for beta."),
    ("huber_delta", lambda: F.huber_loss(_x(), _x(), delta=0), RuntimeError,
     "huber_loss does not support non-positive values for delta."),
    ("weight_size", lambda: F.mse_loss(_x(), _x(), weight=edunn.ones(5)), ValueError,
     "Weights and input must have the same size."),
]


@pytest.mark.parametrize("call,exc,match", [b[1:] for b in BAD], ids=[b[0] for b in BAD])
def test_bad_input(call, exc, match):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(exc, match=match):
            call()


# ------------------------------------------------------------------------------------------------
# modules
# ------------------------------------------------------------------------------------------------
MODULES = [
    ("L1Loss", {}), ("MSELoss", {"reduction": "sum"}), ("NLLLoss", {"ignore_index": 3}),
    ("CrossEntropyLoss", {"label_smoothing": 0.1}), ("PoissonNLLLoss", {"full": True}),
    ("GaussianNLLLoss", {"full": True, "eps": 1e-3}), ("KLDivLoss", {"log_target": True}),
    ("BCELoss", {}), ("BCEWithLogitsLoss", {}), ("HingeEmbeddingLoss", {"margin": 2.0}),
    ("MultiLabelMarginLoss", {}), ("SmoothL1Loss", {"beta": 0.5}), ("HuberLoss", {"delta": 2.0}),
    ("SoftMarginLoss", {}), ("MultiLabelSoftMarginLoss", {}), ("CosineEmbeddingLoss", {"margin": 0.1}),
    ("MarginRankingLoss", {"margin": 0.5}), ("MultiMarginLoss", {"p": 2}),
    ("TripletMarginLoss", {"swap": True}), ("TripletMarginWithDistanceLoss", {"margin": 2.0}),
]


@needs_torch
@pytest.mark.parametrize("name,kwargs", MODULES, ids=[m[0] for m in MODULES])
def test_module_repr_and_options(name, kwargs):
    ours, ref = getattr(edunn.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
    assert repr(ours) == repr(ref)
    for key in ("reduction", "ignore_index", "label_smoothing", "log_input", "full", "eps", "margin",
                "beta", "delta", "p", "swap", "log_target"):
        if hasattr(ref, key):
            assert getattr(ours, key) == getattr(ref, key), key


def test_weighted_modules_register_buffers():
    w = edunn.tensor([1.0, 2.0, 0.5])
    for cls in (edunn.nn.NLLLoss, edunn.nn.CrossEntropyLoss, edunn.nn.BCELoss,
                edunn.nn.MultiLabelSoftMarginLoss, edunn.nn.MultiMarginLoss):
        m = cls(weight=w)
        assert m.weight is w and list(m.state_dict()) == ["weight"]
        assert list(cls().state_dict()) == []
    m = edunn.nn.BCEWithLogitsLoss(weight=w, pos_weight=w * 2)
    assert sorted(m.state_dict()) == ["pos_weight", "weight"]


@needs_torch
def test_modules_call_their_functions():
    rng = np.random.default_rng(5)
    x = rng.standard_normal((4, 3)).astype(np.float32)
    t = np.array([0, 2, 1, 2])
    w = np.array([1.0, 2.0, 0.5], np.float32)
    cases = [
        ("CrossEntropyLoss", dict(weight="w", ignore_index=1, label_smoothing=0.2), (x, t)),
        ("NLLLoss", dict(weight="w", reduction="sum"), (x, t)),
        ("MultiMarginLoss", dict(p=2, margin=0.5, weight="w"), (x, t)),
        ("BCEWithLogitsLoss", dict(weight="w", pos_weight="w"), (x, (x > 0).astype(np.float32))),
        ("BCELoss", dict(weight="w", reduction="none"), (1 / (1 + np.exp(-x)), (x > 0).astype(np.float32))),
        ("MultiLabelSoftMarginLoss", dict(weight="w"), (x, (x > 0).astype(np.float32))),
        ("GaussianNLLLoss", dict(full=True), (x, x * 0.5, np.abs(x) + 0.1)),
        ("PoissonNLLLoss", dict(log_input=False, full=True), (np.abs(x) + 0.1, np.abs(x) * 3)),
        ("KLDivLoss", dict(reduction="batchmean", log_target=True), (x, x * 0.3)),
        ("SmoothL1Loss", dict(beta=0.3), (x, x * 0.1)), ("HuberLoss", dict(delta=0.3), (x, x * 0.1)),
        ("TripletMarginLoss", dict(p=1.5, swap=True), (x, x * 0.5, x[::-1].copy())),
        ("TripletMarginWithDistanceLoss", dict(swap=True), (x, x * 0.5, x[::-1].copy())),
        ("CosineEmbeddingLoss", dict(margin=0.3), (x, x[::-1].copy(), np.array([1.0, -1.0, -1.0, 1.0], np.float32))),
        ("MarginRankingLoss", dict(margin=0.3), (x[:, 0].copy(), x[:, 1].copy(), np.array([1.0, -1.0, -1.0, 1.0], np.float32))),
    ]
    for name, kwargs, args in cases:
        ko = {k: (edunn.tensor(w) if v == "w" else v) for k, v in kwargs.items()}
        kt = {k: (torch.tensor(w) if v == "w" else v) for k, v in kwargs.items()}
        ours = getattr(edunn.nn, name)(**ko)(*[edunn.tensor(a) for a in args])
        ref = getattr(torch.nn, name)(**kt)(*[torch.tensor(a) for a in args])
        assert_close(ours, ref, what=name)


def test_module_argument_errors():
    with pytest.raises(ValueError, match="only p == 1 and p == 2 supported"):
        edunn.nn.MultiMarginLoss(p=3)
    with pytest.raises(ValueError, match="expected weight to be None or 1D tensor, got 2D instead"):
        edunn.nn.MultiMarginLoss(weight=edunn.ones(2, 2))
    with pytest.raises(ValueError, match="TripletMarginLoss: expected margin to be greater than 0"):
        edunn.nn.TripletMarginLoss(margin=-1)
    with pytest.raises(ValueError, match="TripletMarginWithDistanceLoss: expected margin"):
        edunn.nn.TripletMarginWithDistanceLoss(margin=0)
    with pytest.raises(TypeError, match="delta must be a float or int"):
        edunn.nn.HuberLoss(delta="1")
    with pytest.warns(FutureWarning, match="NLLLoss2d"):
        edunn.nn.NLLLoss2d()


# ------------------------------------------------------------------------------------------------
# signatures
# ------------------------------------------------------------------------------------------------
FUNCTIONS = ["l1_loss", "mse_loss", "cross_entropy", "nll_loss", "poisson_nll_loss", "gaussian_nll_loss",
             "kl_div", "binary_cross_entropy", "binary_cross_entropy_with_logits", "margin_ranking_loss",
             "hinge_embedding_loss", "multilabel_margin_loss", "huber_loss", "smooth_l1_loss",
             "soft_margin_loss", "multilabel_soft_margin_loss", "cosine_embedding_loss", "multi_margin_loss",
             "triplet_margin_loss", "triplet_margin_with_distance_loss", "normalize"]


def _params(fn):
    import inspect
    return [(p.name, p.default, p.kind) for p in inspect.signature(fn).parameters.values()]


@needs_torch
@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_signature_is_torchs(name):
    assert _params(getattr(F, name)) == _params(getattr(TF, name))


@needs_torch
@pytest.mark.parametrize("name", [m[0] for m in MODULES] + ["NLLLoss2d"])
def test_module_signature_is_torchs(name):
    ours, ref = getattr(edunn.nn, name), getattr(torch.nn, name)
    assert _params(ours.__init__) == _params(ref.__init__)
    assert _params(ours.forward) == _params(ref.forward)
