"""Edge cases against torch: values outside the support without validation, degenerate
parameters, KL errors, expand of lazily computed parameters, mixed-dtype values."""
import math

import numpy as np
import pytest

import edunn
import edunn.distributions as D
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch
T = torch.distributions if torch is not None else None


EDGES = [
    ("Uniform_outside", lambda L, t: L.Uniform(t([0.0, 0.0]), t([1.0, 1.0]), validate_args=False), [-0.5, 1.5]),
    ("Exponential_negative", lambda L, t: L.Exponential(t([1.0, 2.0]), validate_args=False), [-1.0, 0.0]),
    ("Bernoulli_p0_p1", lambda L, t: L.Bernoulli(t([0.0, 1.0])), [0.0, 1.0]),
    ("Geometric_p1", lambda L, t: L.Geometric(t([1.0, 0.5])), [0.0, 3.0]),
    ("Poisson_rate0", lambda L, t: L.Poisson(t([0.0, 2.0])), [0.0, 3.0]),
    ("Normal_broadcast_value", lambda L, t: L.Normal(t([[0.0], [1.0]]), t([1.0, 2.0, 3.0])), [0.5, 0.2, 0.1]),
    ("Categorical_zero_prob", lambda L, t: L.Categorical(t([0.0, 0.3, 0.7])), [1]),
]


@pytest.mark.parametrize("name,make,value", EDGES, ids=[e[0] for e in EDGES])
def test_edge_values(name, make, value):
    de, dt = make(D, edunn.tensor), make(T, torch.tensor)
    for what in ("log_prob",):
        assert_close(getattr(de, what)(edunn.tensor(value)), getattr(dt, what)(torch.tensor(value)), what=name)
    try:
        et = dt.entropy()
    except NotImplementedError:
        return
    assert_close(de.entropy(), et, what=f"{name} entropy")


def test_bernoulli_mode_at_half_is_nan():
    m = D.Bernoulli(edunn.tensor([0.5, 0.2, 0.7])).mode.numpy()
    assert math.isnan(m[0]) and m[1] == 0 and m[2] == 1


def test_perplexity():
    d, t = D.Categorical(edunn.tensor([0.2, 0.3, 0.5])), T.Categorical(torch.tensor([0.2, 0.3, 0.5]))
    assert_close(d.perplexity(), t.perplexity())


def test_kl_errors():
    mvn2 = D.MultivariateNormal(edunn.zeros(2), edunn.eye(2))
    mvn3 = D.MultivariateNormal(edunn.zeros(3), edunn.eye(3))
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(mvn2, mvn3)
    n = D.Normal(edunn.zeros(2, 3), edunn.ones(2, 3))
    with pytest.raises(NotImplementedError):
        D.kl_divergence(D.Independent(n, 1), D.Independent(n, 2))
    with pytest.raises(NotImplementedError, match="p type Bernoulli and q type Categorical"):
        D.kl_divergence(D.Bernoulli(edunn.tensor(0.3)), D.Categorical(edunn.tensor([0.3, 0.7])))


def test_kl_of_distribution_with_itself_is_zero():
    dists = [D.Normal(edunn.randn(3), edunn.rand(3) + 0.5), D.Poisson(edunn.rand(3) + 0.5),
             D.MultivariateNormal(edunn.randn(2), scale_tril=edunn.tensor([[1.0, 0.0], [0.3, 0.5]])),
             D.Categorical(logits=edunn.randn(4)), D.Geometric(edunn.tensor([0.2, 0.6]))]
    for d in dists:
        assert_close(D.kl_divergence(d, d), np.zeros(tuple(d.batch_shape)), atol=1e-5)


def test_mvn_expand_keeps_lazy_parameters():
    L = edunn.tensor([[1.0, 0.0], [0.3, 0.5]])
    d = D.MultivariateNormal(edunn.zeros(2), scale_tril=L)
    e = d.expand((4,))
    assert tuple(e.covariance_matrix.shape) == (4, 2, 2)
    assert_close(e.covariance_matrix[2], (L @ L.T))
    assert_close(e.precision_matrix[0], T.MultivariateNormal(torch.zeros(2), scale_tril=torch.tensor(L.numpy())).precision_matrix)
    assert tuple(e.entropy().shape) == (4,)


def test_binomial_entropy_needs_homogeneous_count():
    d = D.Binomial(edunn.tensor([2.0, 3.0]), edunn.tensor([0.5, 0.5]))
    with pytest.raises(NotImplementedError, match="Inhomogeneous total count"):
        d.entropy()


def test_value_dtype_mixes_like_torch():
    d, t = D.Normal(edunn.zeros(2), edunn.ones(2)), T.Normal(torch.zeros(2), torch.ones(2))
    v = np.array([0.5, 1.0])
    out = d.log_prob(edunn.tensor(v, dtype=edunn.float64))
    ref = t.log_prob(torch.tensor(v, dtype=torch.float64))
    assert str(out.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    assert_close(out, ref)


def test_rsample_not_available_on_discrete():
    for d in [D.Categorical(edunn.tensor([0.5, 0.5])), D.Poisson(edunn.tensor(1.0)),
              D.Binomial(3, edunn.tensor(0.5)), D.Geometric(edunn.tensor(0.5))]:
        assert not d.has_rsample
        with pytest.raises(NotImplementedError):
            d.rsample()


def test_sample_with_empty_sample_shape_and_size_argument():
    d = D.Categorical(edunn.tensor([[0.5, 0.5]] * 3))
    assert tuple(d.sample((0,)).shape) == (0, 3)
    assert tuple(D.Normal(edunn.zeros(2), 1.0).sample(edunn.Size([2, 1])).shape) == (2, 1, 2)
