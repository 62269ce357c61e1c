"""``pairwise_distance``, ``cosine_similarity``, ``pdist``, ``normalize`` and the distance modules
against PyTorch (values, gradients, where eps enters), and by finite differences.  Lesson 08."""
from __future__ import annotations

import math

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from tests.opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

pytestmark = pytest.mark.lesson08

TF = torch.nn.functional if torch is not None else None


def _both(name, call, shapes, make=None, gradgrad=False):
    return OpSpec(name, lambda *a: call(F, *a), (lambda *a: call(TF, *a)) if TF else None, shapes,
                  make_inputs=make, gradgrad=gradgrad, lesson=8)


SPECS = []
for p in (1.0, 1.5, 2.0, 3.0, math.inf, -1.0):
    SPECS.append(_both(f"pairwise_distance_p{p}", lambda f, a, b, p=p: f.pairwise_distance(a, b, p), [(5, 4), (5, 4)]))
for p in (0.0, 0.5, 1.0, 1.5, 2.0, 3.0, math.inf):
    SPECS.append(_both(f"pdist_p{p}", lambda f, a, p=p: f.pdist(a, p), [(5, 3)], gradgrad=p in (1.5, 2.0, 3.0)))
SPECS += [
    _both("pairwise_distance_keepdim_eps", lambda f, a, b: f.pairwise_distance(a, b, eps=0.1, keepdim=True),
          [(5, 4), (5, 4)]),
    _both("pairwise_distance_broadcast", lambda f, a, b: f.pairwise_distance(a, b), [(5, 4), (4,)]),
    _both("pairwise_distance_3d", lambda f, a, b: f.pairwise_distance(a, b, keepdim=True), [(2, 3, 4), (3, 4)]),
    _both("pairwise_distance_1d", lambda f, a, b: f.pairwise_distance(a, b), [(4,), (4,)]),
    _both("pairwise_distance_0d", lambda f, a, b: f.pairwise_distance(a, b), [(), ()]),
    _both("cosine_similarity", lambda f, a, b: f.cosine_similarity(a, b), [(5, 4), (5, 4)], gradgrad=True),
    _both("cosine_similarity_dim0_eps", lambda f, a, b: f.cosine_similarity(a, b, dim=0, eps=0.5), [(4, 3), (4, 3)]),
    _both("cosine_similarity_broadcast", lambda f, a, b: f.cosine_similarity(a, b, dim=-1), [(2, 3, 4), (3, 4)]),
    _both("cosine_similarity_1d", lambda f, a, b: f.cosine_similarity(a, b, dim=0), [(4,), (4,)]),
    _both("cosine_similarity_tiny_norm", lambda f, a, b: f.cosine_similarity(a, b, eps=1e-3),
          [], make=lambda rng: [rng.standard_normal((3, 4)) * 1e-5, rng.standard_normal((3, 4))]),
    _both("normalize", lambda f, a: f.normalize(a), [(4, 5)], gradgrad=True),
    _both("normalize_p1_dim0", lambda f, a: f.normalize(a, p=1, dim=0), [(4, 5)]),
    _both("normalize_tuple_dim_eps", lambda f, a: f.normalize(a, p=3, dim=(1, 2), eps=0.5), [(2, 3, 4)]),
    _both("normalize_inf", lambda f, a: f.normalize(a, p=math.inf, dim=-1), [(3, 4)]),
]

# With a norm below eps the gradient is, as in PyTorch, not the derivative of the clamped value
# (see test_cosine_similarity_clamps_values_not_gradients), so finite differences disagree there.
test_parity, test_gradcheck = spec_tests(
    SPECS, lesson=8, gradcheck=[s for s in SPECS if s.name != "cosine_similarity_tiny_norm"])


@needs_torch
def test_cosine_similarity_clamps_values_not_gradients():
    # ||a|| < eps: the value divides by eps, the gradient still flows through ||a|| (ATen clamps
    # the norm in place under no_grad); b = 0 gives similarity 0 and a finite gradient.
    a = np.array([[1e-9, 2e-9, 0.0], [1.0, 2.0, 3.0]], np.float32)
    b = np.array([[1.0, 0.0, 1.0], [0.0, 0.0, 0.0]], np.float32)
    ea, eb = edunn.tensor(a, requires_grad=True), edunn.tensor(b, requires_grad=True)
    ta, tb = torch.tensor(a, requires_grad=True), torch.tensor(b, requires_grad=True)
    out, ref = F.cosine_similarity(ea, eb), TF.cosine_similarity(ta, tb)
    assert_close(out, ref)
    out.sum().backward()
    ref.sum().backward()
    assert_close(ea.grad, ta.grad, rtol=1e-5)
    assert_close(eb.grad, tb.grad, rtol=1e-5)


@needs_torch
def test_pairwise_distance_of_equal_vectors_is_eps_norm():
    x = np.arange(6, dtype=np.float32).reshape(2, 3)
    for p in (0, 1, 2, math.inf):
        out = F.pairwise_distance(edunn.tensor(x), edunn.tensor(x), p=p)
        assert_close(out, TF.pairwise_distance(torch.tensor(x), torch.tensor(x), p=p))


@needs_torch
def test_pdist_zero_distance_and_ties_gradients():
    x = np.array([[1.0, 2.0], [1.0, 2.0], [0.0, 1.0], [3.0, 1.0]], np.float32)
    for p in (0.5, 1.0, 2.0, 3.0, math.inf):
        ex, tx = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        out, ref = F.pdist(ex, p), TF.pdist(tx, p)
        assert_close(out, ref)
        out.sum().backward()
        ref.sum().backward()
        assert_close(ex.grad, tx.grad, what=f"p={p}")


def test_pdist_small_and_bad_inputs():
    assert F.pdist(edunn.randn(1, 3)).shape == (0,)
    x = edunn.randn(1, 3, requires_grad=True)
    F.pdist(x).sum().backward()
    assert (x.grad.numpy() == 0).all()
    with pytest.raises(RuntimeError, match="pdist only supports 2D tensors, got: 3D"):
        F.pdist(edunn.randn(2, 3, 4))
    with pytest.raises(RuntimeError, match="pdist only supports non-negative p values"):
        F.pdist(edunn.randn(3, 4), p=-1)
    with pytest.raises(RuntimeError, match="pdist only supports floating-point dtypes"):
        F.pdist(edunn.ones(3, 4, dtype=edunn.int64))


@needs_torch
def test_integer_inputs():
    a, b = np.array([[1, 2, 3]]), np.array([[0, 2, 5]])
    assert_close(F.pairwise_distance(edunn.tensor(a), edunn.tensor(b)),
                 TF.pairwise_distance(torch.tensor(a), torch.tensor(b)))
    assert_close(F.cosine_similarity(edunn.tensor(a), edunn.tensor(b, dtype=edunn.float32)),
                 TF.cosine_similarity(torch.tensor(a), torch.tensor(b, dtype=torch.float32)))
    with pytest.raises(RuntimeError, match="expected common dtype to be floating point, yet common dtype is Long"):
        F.cosine_similarity(edunn.tensor(a), edunn.tensor(b))


def test_shape_errors():
    with pytest.raises(RuntimeError):
        F.cosine_similarity(edunn.ones(3, 4), edunn.ones(2, 4))
    with pytest.raises(RuntimeError):
        F.pairwise_distance(edunn.ones(3, 4), edunn.ones(2, 4))


def test_normalize_out():
    x = edunn.randn(3, 4)
    out = edunn.empty(3, 4)
    res = F.normalize(x, out=out)
    assert res is out
    np.testing.assert_allclose(out.numpy(), F.normalize(x).numpy(), rtol=1e-6)
    with pytest.raises(RuntimeError):
        F.normalize(edunn.randn(3, 4, requires_grad=True), out=edunn.empty(3, 4))


@needs_torch
def test_modules():
    rng = np.random.default_rng(0)
    a, b = rng.standard_normal((4, 5)).astype(np.float32), rng.standard_normal((4, 5)).astype(np.float32)
    for name, kwargs in (("PairwiseDistance", {}), ("PairwiseDistance", {"p": 1.0, "eps": 1e-3, "keepdim": True}),
                         ("CosineSimilarity", {}), ("CosineSimilarity", {"dim": 0, "eps": 1e-4})):
        ours, ref = getattr(edunn.nn, name)(**kwargs), getattr(torch.nn, name)(**kwargs)
        assert repr(ours) == repr(ref)
        assert_close(ours(edunn.tensor(a), edunn.tensor(b)), ref(torch.tensor(a), torch.tensor(b)))
    m = edunn.nn.PairwiseDistance(p=3.0, eps=0.1, keepdim=True)
    assert (m.norm, m.eps, m.keepdim) == (3.0, 0.1, True)
    assert list(m.state_dict()) == []
