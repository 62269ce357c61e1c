"""Numerically extreme inputs: logits of +-1e4 and probabilities of exactly 0 and 1.  Wherever
PyTorch's loss or gradient is finite, ours is the same finite number; where PyTorch's is inf or
nan, ours is the same inf or nan.  Lesson 06."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from tests.opcheck import needs_torch, torch

# NumPy's overflow/invalid RuntimeWarnings from the elementwise ops (exp(1e4) = inf, 0/0) are
# not the point here: PyTorch computes the same inf/nan silently.
pytestmark = [pytest.mark.lesson06, needs_torch, pytest.mark.filterwarnings("ignore::RuntimeWarning")]

TF = torch.nn.functional if torch is not None else None
BIG = np.array([[1e4, -1e4, 0.0, 3.0], [-1e4, -1e4, 1e4, 1e4], [0.0, 1e4, -2.0, -1e4]], np.float32)


def _compare(call, arrays, grad_inputs, atol=1e-5, rtol=1e-5):
    ours = [edunn.tensor(a, requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
    theirs = [torch.tensor(a, requires_grad=i in grad_inputs) for i, a in enumerate(arrays)]
    out, ref = call(F, *ours), call(TF, *theirs)
    np.testing.assert_allclose(out.detach().numpy(), ref.detach().numpy(), atol=atol, rtol=rtol, equal_nan=True)
    g = np.linspace(0.5, 1.5, ref.numel()).reshape(tuple(ref.shape)).astype(np.float32)
    out.backward(edunn.tensor(g))
    ref.backward(torch.tensor(g))
    for i in grad_inputs:
        np.testing.assert_allclose(ours[i].grad.numpy(), theirs[i].grad.numpy(), atol=atol, rtol=rtol,
                                   equal_nan=True, err_msg=f"gradient of input {i}")
    return out, ref


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("smoothing", [0.0, 0.2])
def test_cross_entropy_huge_logits(reduction, smoothing):
    out, _ = _compare(lambda f, x, t: f.cross_entropy(x, t, reduction=reduction, label_smoothing=smoothing),
                      [BIG, np.array([1, 0, 3])], [0])
    assert np.isfinite(out.detach().numpy()).all()


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_cross_entropy_probabilities_huge_logits(reduction):
    target = np.array([[0, 1, 0, 0], [0.5, 0, 0.5, 0], [0.25, 0.25, 0.25, 0.25]], np.float32)
    _compare(lambda f, x, y: f.cross_entropy(x, y, reduction=reduction), [BIG, target], [0, 1])


def test_nll_of_huge_log_softmax():
    _compare(lambda f, x, t: f.nll_loss(f.log_softmax(x, 1), t), [BIG, np.array([1, 2, 3])], [0])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_bce_with_logits_huge_logits(reduction):
    y = np.array([[1, 0, 1, 0], [1, 0, 0, 1], [0.5, 1, 0, 0]], np.float32)
    pw = np.array([1.0, 2.0, 0.5, 3.0], np.float32)
    w = np.array([[1.0], [0.5], [2.0]], np.float32)
    out, _ = _compare(lambda f, x, t: f.binary_cross_entropy_with_logits(x, t, reduction=reduction),
                      [BIG, y], [0, 1])
    assert np.isfinite(out.detach().numpy()).all()
    _compare(lambda f, x, t, a, b: f.binary_cross_entropy_with_logits(x, t, a, reduction=reduction, pos_weight=b),
             [BIG, y, w, pw], [0, 1])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_bce_probabilities_exactly_0_and_1(reduction):
    x = np.array([0.0, 1.0, 0.0, 1.0, 0.0, 1.0, 0.5, 1e-30], np.float32)
    y = np.array([0.0, 1.0, 1.0, 0.0, 0.5, 0.5, 1.0, 1.0], np.float32)
    out, ref = _compare(lambda f, a, b: f.binary_cross_entropy(a, b, reduction=reduction), [x, y], [0],
                        rtol=1e-5)
    assert np.isfinite(out.detach().numpy()).all()   # the logs are clamped at -100
    # the target gradient is -logit(x): +-inf at 0 and 1, exactly as PyTorch's
    _compare(lambda f, a, b: f.binary_cross_entropy(a, b, reduction=reduction), [x, y], [1])


def test_bce_weighted_at_the_edges():
    x = np.array([[0.0, 1.0, 1e-7], [1.0, 0.0, 1 - 1e-7]], np.float32)
    y = np.array([[1.0, 0.0, 0.0], [1.0, 0.0, 1.0]], np.float32)
    _compare(lambda f, a, b, w: f.binary_cross_entropy(a, b, w), [x, y, np.array([2.0, 0.5, 1.0], np.float32)], [0])


@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
def test_soft_margin_and_multilabel_soft_margin_huge(reduction):
    y = np.array([[1, -1, 1, 1], [-1, -1, 1, 1], [1, 1, -1, -1]], np.float32)
    _compare(lambda f, x, t: f.soft_margin_loss(x, t, reduction=reduction), [BIG, y], [0])
    _compare(lambda f, x, t: f.multilabel_soft_margin_loss(x, t, reduction=reduction), [BIG, (y > 0).astype(np.float32)],
             [0, 1])


def test_kl_div_target_exactly_zero():
    x = np.log(np.array([[0.5, 0.25, 0.25], [0.1, 0.2, 0.7]], np.float32))
    y = np.array([[0.0, 0.5, 0.5], [1.0, 0.0, 0.0]], np.float32)
    out, _ = _compare(lambda f, a, b: f.kl_div(a, b, reduction="batchmean"), [x, y], [0])
    assert np.isfinite(out.detach().numpy())
    _compare(lambda f, a, b: f.kl_div(a, b, reduction="sum"), [x, y], [1])  # nan where PyTorch has nan
    _compare(lambda f, a, b: f.kl_div(a, b, reduction="none", log_target=True), [x, np.log(y + 1e-30)], [0, 1])


def test_poisson_huge_log_input():
    x = np.array([1e4, -1e4, 50.0, 0.0], np.float32)
    y = np.array([1.0, 0.0, 2.0, 3.0], np.float32)
    _compare(lambda f, a, b: f.poisson_nll_loss(a, b, reduction="none"), [x, y], [0])     # inf as PyTorch
    _compare(lambda f, a, b: f.poisson_nll_loss(a, b, log_input=False, full=True, reduction="none"),
             [np.array([0.0, 1.0, 1e-30, 4.0], np.float32), y], [0])


def test_gaussian_nll_variance_below_eps():
    x = np.array([[0.0, 1.0], [2.0, 3.0]], np.float32)
    y = np.array([[1.0, 1.0], [0.0, 1e4]], np.float32)
    var = np.array([[1e-9, 0.0], [0.5, 1e-7]], np.float32)
    _compare(lambda f, a, b, v: f.gaussian_nll_loss(a, b, v, reduction="none"), [x, y, var], [0, 1, 2],
             rtol=1e-4)


def test_margin_losses_huge():
    t = np.array([1, 0, 3])
    _compare(lambda f, x, tt: f.multi_margin_loss(x, tt, p=2), [BIG, t], [0], rtol=1e-5)
    _compare(lambda f, x, y: f.hinge_embedding_loss(x, y, reduction="none"),
             [BIG, np.sign(BIG + 0.5).astype(np.float32)], [0])
    _compare(lambda f, a, b, y: f.cosine_embedding_loss(a, b, y),
             [BIG, BIG[::-1].copy(), np.array([1.0, -1.0, 1.0], np.float32)], [0, 1])
