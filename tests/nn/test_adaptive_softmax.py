"""``nn.AdaptiveLogSoftmaxWithLoss`` against PyTorch CPU with the same weights (PyTorch's
state_dict loaded): output, loss, input and parameter gradients, ``log_prob``, ``predict``,
unbatched input, several cutoffs / div_value / head_bias; finite differences in float64; the
cutoff and input errors; repr and parameter names.  Lesson 13."""
from __future__ import annotations

import math

import numpy as np
import pytest

import edunn
import edunn.nn as nn
from tests.opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson13,   # a cluster with hidden size 0, as PyTorch allows
              pytest.mark.filterwarnings("ignore:Initializing zero-element tensors is a no-op")]

CONFIGS = {  # name: (in_features, n_classes, cutoffs, div_value, head_bias)
    "two_clusters": (8, 10, [3, 6], 2.0, True),
    "three_clusters": (16, 20, [4, 10, 15], 4.0, False),
    "one_cluster": (12, 30, [5], 1.5, True),
    "many_small": (10, 7, [1, 2, 4], 3.0, False),
}


def _pair(name, dtype="float64"):
    """A torch module and an edunn one holding the same weights."""
    in_f, n, cutoffs, div, bias = CONFIGS[name]
    torch.manual_seed(len(name))
    tm = torch.nn.AdaptiveLogSoftmaxWithLoss(in_f, n, cutoffs, div_value=div, head_bias=bias,
                                             dtype=getattr(torch, dtype))
    m = nn.AdaptiveLogSoftmaxWithLoss(in_f, n, cutoffs, div_value=div, head_bias=bias,
                                      dtype=getattr(edunn, dtype))
    m.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    return m, tm


def _close(a, b, tol):
    if a is None or b is None:      # PyTorch gives no gradient to a weight that meets no input
        assert a is None and b is None
        return
    np.testing.assert_allclose(a.detach().numpy(), b.detach().numpy(), atol=tol, rtol=tol)


@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32"])
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_forward_and_gradients_match_torch(name, dtype):
    m, tm = _pair(name, dtype)
    tol = 1e-10 if dtype == "float64" else 1e-5
    rng = np.random.default_rng(0)
    in_f, n = CONFIGS[name][:2]
    x = rng.standard_normal((13, in_f)).astype(dtype)
    target = np.concatenate([np.arange(n), rng.integers(0, n, 13)])[:13]   # every cluster used
    xt = torch.tensor(x, requires_grad=True)
    xe = edunn.tensor(x).requires_grad_()
    out_t = tm(xt, torch.tensor(target))
    out_e = m(xe, edunn.tensor(target))
    assert type(out_e).__name__ == "_ASMoutput" and out_e._fields == ("output", "loss")
    assert tuple(out_e.output.shape) == (13,) and tuple(out_e.loss.shape) == ()
    _close(out_e.output, out_t.output, tol)
    _close(out_e.loss, out_t.loss, tol)
    w = np.linspace(-1, 1, 13).astype(dtype)            # gradients through output and loss both
    (out_t.loss + (out_t.output * torch.tensor(w)).sum()).backward()
    (out_e.loss + (out_e.output * edunn.tensor(w)).sum()).backward()
    _close(xe.grad, xt.grad, tol)
    named_t = dict(tm.named_parameters())
    assert [k for k, _ in m.named_parameters()] == list(named_t)
    for k, p in m.named_parameters():
        _close(p.grad, named_t[k].grad, tol)


@needs_torch
@pytest.mark.parametrize("name", ["two_clusters", "three_clusters"])
def test_some_clusters_unused_and_int32_targets(name):
    m, tm = _pair(name)
    x = np.random.default_rng(1).standard_normal((5, CONFIGS[name][0]))
    target = np.array([0, 1, 2, 0, 1], dtype=np.int32)   # all in the shortlist
    out_e = m(edunn.tensor(x), edunn.tensor(target))
    out_t = tm(torch.tensor(x), torch.tensor(target))
    _close(out_e.output, out_t.output, 1e-10)
    _close(out_e.loss, out_t.loss, 1e-10)


@needs_torch
@pytest.mark.parametrize("target", [1, 4, 9])
def test_unbatched_matches_torch(target):
    m, tm = _pair("two_clusters")
    x = np.random.default_rng(target).standard_normal(8)
    xt = torch.tensor(x, requires_grad=True)
    xe = edunn.tensor(x).requires_grad_()
    out_t = tm(xt, torch.tensor(target))
    out_e = m(xe, edunn.tensor(target))
    assert tuple(out_e.output.shape) == () and tuple(out_e.loss.shape) == ()
    _close(out_e.output, out_t.output, 1e-10)
    _close(out_e.loss, out_t.loss, 1e-10)
    out_t.loss.backward()
    out_e.loss.backward()
    _close(xe.grad, xt.grad, 1e-10)


@needs_torch
@pytest.mark.parametrize("name", sorted(CONFIGS))
def test_log_prob_matches_torch_and_normalises(name):
    m, tm = _pair(name)
    x = np.random.default_rng(2).standard_normal((6, CONFIGS[name][0]))
    xt = torch.tensor(x, requires_grad=True)
    xe = edunn.tensor(x).requires_grad_()
    lt, le = tm.log_prob(xt), m.log_prob(xe)
    assert tuple(le.shape) == (6, CONFIGS[name][1])
    _close(le, lt, 1e-10)
    np.testing.assert_allclose(np.exp(le.detach().numpy()).sum(1), 1.0, atol=1e-12)
    w = np.random.default_rng(3).standard_normal(lt.shape)
    (lt * torch.tensor(w)).sum().backward()
    (le * edunn.tensor(w)).sum().backward()
    _close(xe.grad, xt.grad, 1e-10)
    # forward's output is log_prob at the target
    target = np.arange(6) % CONFIGS[name][1]
    out = m(edunn.tensor(x), edunn.tensor(target)).output.detach().numpy()
    np.testing.assert_allclose(out, le.detach().numpy()[np.arange(6), target], atol=1e-12)


@needs_torch
@pytest.mark.parametrize("head_scale", ["shortlist", "clusters", "mixed"])
def test_predict_matches_torch_and_argmax(head_scale):
    """predict's three paths: every row's best head entry in the shortlist, none, some."""
    m, tm = _pair("three_clusters")
    x = np.random.default_rng(4).standard_normal((9, 16))
    with torch.no_grad():
        w = tm.head.weight
        if head_scale == "shortlist":
            w[:4] *= 10
        elif head_scale == "clusters":
            w[4:] *= 10
        else:
            w[4:] *= 3
    m.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in tm.state_dict().items()})
    pe = m.predict(edunn.tensor(x))
    pt = tm.predict(torch.tensor(x))
    np.testing.assert_array_equal(pe.numpy(), pt.numpy())
    np.testing.assert_array_equal(pe.numpy(), m.log_prob(edunn.tensor(x)).detach().numpy().argmax(1))
    assert pe.dtype == edunn.int64
    if head_scale == "mixed":
        assert 0 < (pe.numpy() >= 4).sum() < 9


def test_gradcheck_input_and_parameters():
    m = nn.AdaptiveLogSoftmaxWithLoss(6, 9, [2, 5], div_value=2.0, head_bias=True,
                                      dtype=edunn.float64)
    x = edunn.randn(5, 6, dtype=edunn.float64).requires_grad_()
    target = edunn.tensor([0, 3, 8, 1, 6])
    params = list(m.parameters())

    def loss(x, *ps):
        return m(x, target).loss

    assert edunn.autograd.gradcheck(loss, (x, *params), eps=1e-6, atol=1e-6)
    assert edunn.autograd.gradcheck(lambda x: m.log_prob(x), (x,), eps=1e-6, atol=1e-6)


@needs_torch
def test_structure_repr_and_state_dict_names_match_torch():
    for name, (in_f, n, cutoffs, div, bias) in CONFIGS.items():
        m, tm = _pair(name)
        assert repr(m) == repr(tm)
        assert list(m.state_dict()) == list(tm.state_dict())
        for k, v in tm.state_dict().items():
            assert tuple(m.state_dict()[k].shape) == tuple(v.shape)
        assert m.cutoffs == tm.cutoffs and m.shortlist_size == tm.shortlist_size
        assert m.n_clusters == tm.n_clusters and m.head_size == tm.head_size
        assert (m.in_features, m.n_classes, m.div_value, m.head_bias) == (in_f, n, div, bias)


def test_defaults_and_reset_parameters():
    m = nn.AdaptiveLogSoftmaxWithLoss(64, 1000, (10, 100))
    assert m.div_value == 4.0 and m.head_bias is False and m.head.bias is None
    assert m.cutoffs == [10, 100, 1000]
    assert tuple(m.tail[0][0].weight.shape) == (16, 64) and tuple(m.tail[0][1].weight.shape) == (90, 16)
    assert tuple(m.tail[1][0].weight.shape) == (4, 64) and tuple(m.tail[1][1].weight.shape) == (900, 4)
    before = [p.detach().clone() for p in m.parameters()]
    m.reset_parameters()
    for b, (name, p) in zip(before, m.named_parameters()):
        assert not np.array_equal(b.numpy(), p.detach().numpy()), name
        bound = 1 / math.sqrt(p.shape[1])          # Linear's kaiming_uniform(a=sqrt(5)) bound
        assert np.abs(p.detach().numpy()).max() <= bound
        assert np.abs(p.detach().numpy()).max() > 0.8 * bound


def test_cutoff_errors():
    msg = "cutoffs should be a sequence of unique, positive integers"
    with pytest.raises(ValueError, match="cutoffs should be a sequence of length larger than 0"):
        nn.AdaptiveLogSoftmaxWithLoss(8, 10, [])
    for bad in ([3, 3], [6, 3], [0, 4], [3, 10], [-1], [3.5]):
        with pytest.raises(ValueError, match=msg):
            nn.AdaptiveLogSoftmaxWithLoss(8, 10, bad)


def test_input_and_target_errors():
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6])
    x = edunn.randn(4, 8)
    with pytest.raises(RuntimeError, match="same size in the batch dimension"):
        m(x, edunn.tensor([1, 2, 3]))
    with pytest.raises(RuntimeError, match="1D target tensor expects 2D input tensors"):
        m(edunn.randn(4, 2, 8), edunn.tensor([1, 2, 3, 4]))
    with pytest.raises(RuntimeError, match="0D target tensor expects 1D input tensors"):
        m(x, edunn.tensor(3))
    with pytest.raises(RuntimeError, match="0D or 1D target tensor expected, multi-target not supported"):
        m(x, edunn.tensor([[1, 2, 3, 4]]))
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 9\], but values in range \[1, 10\]"):
        m(x, edunn.tensor([1, 2, 7, 10]))
    with pytest.raises(RuntimeError, match=r"Target values should be in \[0, 9\], but values in range \[-1, 7\]"):
        m(x, edunn.tensor([1, 2, 7, -1]))
    with pytest.raises(RuntimeError, match="integer dtype"):
        m(x, edunn.tensor([1.0, 2.0, 7.0, 9.0]))
    with pytest.raises(RuntimeError, match="expected input with 8 features"):
        m(edunn.randn(4, 7), edunn.tensor([1, 2, 1, 0]))
    with pytest.raises(IndexError, match=r"expected input of shape \(N, 8\)"):
        m.log_prob(edunn.randn(8))
    with pytest.raises(RuntimeError, match=r"expected input of shape \(N, 8\)"):
        m.predict(edunn.randn(4, 7))


def test_same_results_on_every_device(device):
    m0 = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True,
                                       dtype=edunn.float64)
    m1 = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [3, 6], div_value=2.0, head_bias=True,
                                       dtype=edunn.float64, device=device)
    m1.load_state_dict(m0.state_dict())
    x = np.random.default_rng(5).standard_normal((6, 8))
    target = np.array([0, 4, 9, 2, 7, 5])
    outs = []
    for m, d in ((m0, "cpu"), (m1, device)):
        xe = edunn.tensor(x, device=d).requires_grad_()
        out = m(xe, edunn.tensor(target, device=d))
        out.loss.backward()
        assert str(out.loss.device).startswith(d)
        outs.append([out.output.detach().cpu().numpy(), xe.grad.cpu().numpy(),
                     m.log_prob(xe).detach().cpu().numpy(), m.predict(xe).cpu().numpy()])
    for a, b in zip(*outs):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-12)
