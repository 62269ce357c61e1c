"""Random sampling: shapes, dtypes, supports and moments of every sampler, reproducible under
``manual_seed`` and ``generator=``.  edunn draws from NumPy's generators, so the numbers differ
from PyTorch's; the distributions must not (seeded, so these statistical checks are exact
reruns, not flaky)."""
import math

import numpy as np
import pytest

import edunn

pytestmark = pytest.mark.lesson01
N = 200_000


def _moments(t):
    a = t.double().numpy()
    return a.mean(), a.var()


@pytest.mark.parametrize("name, call, mean, var", [
    ("uniform_", lambda t: t.uniform_(-1.0, 3.0), 1.0, 16 / 12),
    ("normal_", lambda t: t.normal_(2.0, 0.5), 2.0, 0.25),
    ("exponential_", lambda t: t.exponential_(4.0), 0.25, 1 / 16),
    ("log_normal_", lambda t: t.log_normal_(0.0, 0.5), math.exp(0.125), (math.exp(0.25) - 1) * math.exp(0.25)),
    ("geometric_", lambda t: t.geometric_(0.25), 4.0, 0.75 / 0.0625),
    ("bernoulli_", lambda t: t.bernoulli_(0.3), 0.3, 0.21),
])
def test_inplace_samplers_have_the_right_moments(name, call, mean, var):
    t = edunn.empty(N, dtype=edunn.float64)
    out = call(t)
    assert out is t and t.dtype is edunn.float64 and t.shape == (N,)
    m, v = _moments(t)
    assert m == pytest.approx(mean, rel=0.02, abs=0.01)
    assert v == pytest.approx(var, rel=0.05)


def test_cauchy_median_and_quartiles():
    t = edunn.empty(N, dtype=edunn.float64).cauchy_(1.0, 2.0)
    q1, med, q3 = np.quantile(t.numpy(), [0.25, 0.5, 0.75])
    assert (med, q1, q3) == pytest.approx((1.0, -1.0, 3.0), abs=0.05)


def test_random_integers_cover_their_range():
    t = edunn.empty(N, dtype=edunn.int64).random_(3, 9)
    assert set(np.unique(t.numpy())) == set(range(3, 9))
    b = edunn.empty(1000, dtype=edunn.bool).random_()
    assert set(np.unique(b.numpy())) == {False, True}


@pytest.mark.parametrize("fn", [edunn.rand, edunn.randn])
@pytest.mark.parametrize("dtype", [edunn.float16, edunn.bfloat16, edunn.float32, edunn.float64])
def test_float_samplers_honour_dtype(fn, dtype):
    t = fn(3, 4, dtype=dtype)
    assert t.dtype is dtype and t.shape == (3, 4)


def test_rand_range_and_randn_moments():
    u = edunn.rand(N)
    assert 0.0 <= u.min().item() and u.max().item() < 1.0
    m, v = _moments(edunn.randn(N))
    assert m == pytest.approx(0.0, abs=0.01) and v == pytest.approx(1.0, rel=0.02)


def test_integer_dtypes_cannot_be_drawn_from_rand():
    with pytest.raises(TypeError, match="floating point"):
        edunn.rand(3, dtype=edunn.int64)


def test_bernoulli_of_probabilities():
    p = edunn.tensor([0.0, 0.25, 1.0]).expand(N, 3).contiguous()
    s = edunn.bernoulli(p)
    assert s.dtype is edunn.float32
    np.testing.assert_allclose(s.numpy().mean(axis=0), [0.0, 0.25, 1.0], atol=0.01)


def test_multinomial_with_replacement_follows_the_weights():
    weights = edunn.tensor([[1.0, 0.0, 3.0], [2.0, 2.0, 0.0]])  # unnormalised, as PyTorch allows
    s = edunn.multinomial(weights, 20_000, replacement=True)
    assert s.shape == (2, 20_000) and s.dtype is edunn.int64
    freq = [np.bincount(s[r].numpy(), minlength=3) / 20_000 for r in range(2)]
    np.testing.assert_allclose(freq, [[0.25, 0.0, 0.75], [0.5, 0.5, 0.0]], atol=0.02)


def test_multinomial_without_replacement_never_repeats_and_skips_zeros():
    w = edunn.tensor([0.0, 1.0, 1.0, 1.0, 0.0])
    for _ in range(20):
        s = edunn.multinomial(w, 3).tolist()
        assert sorted(s) == [1, 2, 3]
    with pytest.raises(RuntimeError, match="without replacement"):
        edunn.multinomial(w, 6)
    with pytest.raises(RuntimeError, match="element < 0"):
        edunn.multinomial(edunn.tensor([1.0, -1.0]), 1)


def test_manual_seed_and_generators_reproduce():
    edunn.manual_seed(7)
    a = [edunn.rand(3), edunn.randn(2), edunn.randint(0, 10, (4,)), edunn.randperm(5),
         edunn.empty(3).normal_()]
    edunn.manual_seed(7)
    b = [edunn.rand(3), edunn.randn(2), edunn.randint(0, 10, (4,)), edunn.randperm(5),
         edunn.empty(3).normal_()]
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()
    g1, g2 = edunn.Generator().manual_seed(3), edunn.Generator().manual_seed(3)
    assert edunn.rand(4, generator=g1).tolist() == edunn.rand(4, generator=g2).tolist()
    # a private generator leaves the global stream alone
    edunn.manual_seed(7)
    edunn.rand(5, generator=edunn.Generator().manual_seed(0))
    assert edunn.rand(3).tolist() == a[0].tolist()
