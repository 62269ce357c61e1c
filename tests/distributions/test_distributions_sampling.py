"""Sampling: shapes (sample_shape + batch_shape + event_shape), dtypes, devices, support,
``expand``, reproducibility under ``edunn.manual_seed``, reparameterised gradients, and the
mean and variance of many samples against the distribution's own (within a few standard errors)."""
import math

import numpy as np
import pytest

import edunn
import edunn.distributions as D
from opcheck import assert_close

N = 20000


def _dists(device="cpu", dtype=edunn.float32):
    t = lambda v: edunn.tensor(v, dtype=dtype, device=device)  # noqa: E731
    return {
        "Normal": D.Normal(t([0.5, -2.0]), t([1.0, 3.0])),
        "Uniform": D.Uniform(t([0.0, -2.0]), t([1.0, 5.0])),
        "Laplace": D.Laplace(t([0.5, -2.0]), t([1.0, 0.3])),
        "Exponential": D.Exponential(t([0.5, 4.0])),
        "Bernoulli": D.Bernoulli(t([0.2, 0.9])),
        "Bernoulli_logits": D.Bernoulli(logits=t([-1.0, 2.0])),
        "Geometric": D.Geometric(t([0.3, 0.8])),
        "Poisson": D.Poisson(t([0.7, 40.0])),
        "Binomial": D.Binomial(t([5.0, 20.0]), t([0.3, 0.6])),
        "Categorical": D.Categorical(t([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])),
        "OneHotCategorical": D.OneHotCategorical(t([[0.1, 0.2, 0.7], [0.5, 0.25, 0.25]])),
        "MultivariateNormal": D.MultivariateNormal(t([1.0, -1.0]), t([[2.0, 0.5], [0.5, 1.0]])),
        "Independent": D.Independent(D.Normal(t([[0.0, 1.0], [2.0, 3.0]]), t([[1.0, 1.0], [2.0, 2.0]])), 1),
    }


NAMES = list(_dists())


@pytest.mark.parametrize("name", NAMES)
def test_sample_shape_dtype_support(name, device):
    d = _dists(device)[name]
    for sample_shape in [(), (3,), (4, 5)]:
        s = d.sample(sample_shape)
        assert tuple(s.shape) == tuple(sample_shape) + tuple(d.batch_shape) + tuple(d.event_shape)
        assert s.device.type == device
        assert not s.requires_grad
        assert bool(edunn.all(d.support.check(s))), f"{name} sample outside {d.support}"
        assert tuple(d.log_prob(s).shape) == tuple(sample_shape) + tuple(d.batch_shape)
    expected = edunn.int64 if name == "Categorical" else edunn.float32
    assert d.sample().dtype == expected
    assert d.sample(edunn.Size([2])).shape[0] == 2


@pytest.mark.parametrize("name", NAMES)
def test_expand(name):
    d = _dists()[name]
    e = d.expand((3,) + tuple(d.batch_shape))
    assert type(e) is type(d)
    assert tuple(e.batch_shape) == (3,) + tuple(d.batch_shape) and e.event_shape == d.event_shape
    assert tuple(e.sample((2,)).shape) == (2, 3) + tuple(d.batch_shape) + tuple(d.event_shape)
    v = d.sample()
    assert_close(e.log_prob(v), d.log_prob(v).expand((3,) + tuple(d.batch_shape)))
    assert_close(e.mean, d.mean.expand((3,) + tuple(d.mean.shape)), what="expanded mean")


@pytest.mark.parametrize("name", NAMES)
def test_manual_seed_reproducible(name):
    edunn.manual_seed(7)
    a = _dists()[name].sample((10,))
    edunn.manual_seed(7)
    b = _dists()[name].sample((10,))
    assert_close(a, b)


@pytest.mark.parametrize("name", [n for n in NAMES if n != "Categorical"])
def test_sample_mean_and_variance(name):
    """The sample mean within 5 standard errors of ``mean``, the sample variance within 10%."""
    edunn.manual_seed(0)
    d = _dists(dtype=edunn.float64)[name]
    s = d.sample((N,)).numpy()
    mean, var = d.mean.detach().numpy(), d.variance.detach().numpy()
    se = np.sqrt(var / N)
    assert np.all(np.abs(s.mean(0) - mean) < 5 * se + 1e-12), f"{name}: {s.mean(0)} vs {mean}"
    assert np.allclose(s.var(0), var, rtol=0.1, atol=1e-12), f"{name}: {s.var(0)} vs {var}"


def test_categorical_frequencies():
    edunn.manual_seed(0)
    d = _dists()["Categorical"]
    s = d.sample((N,)).numpy()
    p = d.probs.numpy()
    freq = np.stack([(s == k).mean(0) for k in range(3)], -1)
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / N))


def test_mvn_sample_covariance():
    edunn.manual_seed(0)
    d = _dists(dtype=edunn.float64)["MultivariateNormal"]
    s = d.sample((N,)).numpy()
    assert np.allclose(np.cov(s.T), d.covariance_matrix.numpy(), atol=0.1)


def test_cauchy_median_and_quartiles():
    edunn.manual_seed(0)
    s = D.Cauchy(edunn.tensor(1.0), edunn.tensor(2.0)).sample((N,)).numpy()
    q1, q2, q3 = np.percentile(s, [25, 50, 75])
    assert abs(q2 - 1.0) < 0.1 and abs(q1 - (-1.0)) < 0.15 and abs(q3 - 3.0) < 0.15


@pytest.mark.parametrize("name,params", [
    ("Normal", lambda: (edunn.tensor([0.5, -2.0], requires_grad=True), edunn.tensor([1.0, 3.0], requires_grad=True))),
    ("Uniform", lambda: (edunn.tensor([0.0, -2.0], requires_grad=True), edunn.tensor([1.0, 5.0], requires_grad=True))),
    ("Laplace", lambda: (edunn.tensor([0.5, -2.0], requires_grad=True), edunn.tensor([1.0, 0.3], requires_grad=True))),
    ("Cauchy", lambda: (edunn.tensor([0.5, -2.0], requires_grad=True), edunn.tensor([1.0, 0.3], requires_grad=True))),
])
def test_rsample_gradients_location_scale(name, params):
    """``x = loc + scale * eps``: dx/dloc = 1 and dx/dscale = eps = (x - loc) / scale."""
    a, b = params()
    d = getattr(D, name)(a, b)
    assert d.has_rsample
    x = d.rsample((5,))
    assert x.requires_grad
    x.sum().backward()
    xs = x.detach().numpy()
    if name == "Uniform":  # x = low + u (high - low): dx/dlow = 1 - u, dx/dhigh = u
        u = (xs - a.detach().numpy()) / (b - a).detach().numpy()
        assert_close(a.grad, (1 - u).sum(0), atol=1e-4)
        assert_close(b.grad, u.sum(0), atol=1e-4)
    else:
        assert_close(a.grad, np.full(2, 5.0))
        assert_close(b.grad, ((xs - a.detach().numpy()) / b.detach().numpy()).sum(0), atol=1e-4)
    assert not d.sample().requires_grad


def test_rsample_gradients_exponential_and_mvn():
    rate = edunn.tensor([0.5, 4.0], requires_grad=True)
    x = D.Exponential(rate).rsample((6,))
    x.sum().backward()
    assert_close(rate.grad, (-x.detach() / rate.detach()).sum(0).numpy(), atol=1e-5)
    loc = edunn.tensor([1.0, -1.0], requires_grad=True)
    L = edunn.tensor([[1.0, 0.0], [0.5, 2.0]], requires_grad=True)
    y = D.MultivariateNormal(loc, scale_tril=L).rsample((3,))
    y.sum().backward()
    assert_close(loc.grad, np.full(2, 3.0))
    assert L.grad is not None and tuple(L.grad.shape) == (2, 2)
    assert not D.Bernoulli(edunn.tensor(0.3)).has_rsample
    with pytest.raises(NotImplementedError):
        D.Bernoulli(edunn.tensor(0.3)).rsample()


def test_independent_has_rsample_follows_base():
    assert D.Independent(D.Normal(edunn.zeros(2), 1.0), 1).has_rsample
    assert not D.Independent(D.Bernoulli(edunn.zeros(2) + 0.5), 1).has_rsample


def test_enumerate_support():
    from opcheck import torch
    if torch is None:
        pytest.skip("torch")
    p = [[0.2, 0.8, 0.0], [0.1, 0.1, 0.8]]
    for make in [lambda L, t: L.Bernoulli(t([0.2, 0.7])), lambda L, t: L.Categorical(t(p)),
                 lambda L, t: L.OneHotCategorical(t(p)), lambda L, t: L.Binomial(4, t([0.2, 0.7]))]:
        de, dt = make(D, edunn.tensor), make(torch.distributions, torch.tensor)
        for expand in (True, False):
            assert_close(de.enumerate_support(expand), dt.enumerate_support(expand))


def test_scalar_parameters_give_default_dtype_and_scalar_batch():
    d = D.Normal(0.0, 1.0)
    assert d.batch_shape == edunn.Size([]) and d.sample().dtype == edunn.float32
    assert d.sample((3,)).shape == edunn.Size([3])
    assert math.isclose(d.log_prob(edunn.tensor(0.0)).item(), -0.5 * math.log(2 * math.pi), rel_tol=1e-6)
