"""The distributions under test, each built the same way from edunn and from torch.

A case is ``(name, make, leaves, value, icdf_value)``: ``make(lib, *tensors)`` builds the
distribution with ``lib = edunn`` or ``torch`` from leaf parameter tensors (made from the numpy
arrays ``leaves``), ``value`` is a numpy array in the support for ``log_prob``/``cdf``."""
import numpy as np

rng = np.random.RandomState(0)


def _pos(*shape):
    return rng.uniform(0.5, 2.0, size=shape)


def _probs(*shape):
    p = rng.uniform(0.1, 1.0, size=shape)
    return p / p.sum(-1, keepdims=True)


def _spd_factor(n):
    return rng.normal(size=(2, n, n)) * 0.5


def _mvn(kind):
    def make(lib, loc, a):
        cov = a @ a.transpose(-2, -1) + lib.eye(a.shape[-1], dtype=a.dtype)
        if kind == "covariance_matrix":
            return lib.distributions.MultivariateNormal(loc, covariance_matrix=cov)
        if kind == "precision_matrix":
            return lib.distributions.MultivariateNormal(loc, precision_matrix=cov)
        return lib.distributions.MultivariateNormal(loc, scale_tril=lib.linalg.cholesky(cov))
    return make


UNIT = rng.uniform(0.05, 0.95, size=(4, 2, 3))

CASES = [
    ("Normal", lambda lib, loc, s: lib.distributions.Normal(loc, s),
     [rng.normal(size=(2, 3)), _pos(2, 3)], rng.normal(size=(4, 2, 3)), UNIT),
    ("Normal_scalar", lambda lib, loc, s: lib.distributions.Normal(loc, s),
     [np.array(0.3), np.array(1.7)], rng.normal(size=(5,)), UNIT[0, 0]),
    ("Uniform", lambda lib, lo, w: lib.distributions.Uniform(lo, lo + w),
     [rng.normal(size=(2, 3)) - 3, _pos(2, 3) + 5], rng.uniform(-2, -1, size=(4, 2, 3)), UNIT),
    ("Laplace", lambda lib, loc, s: lib.distributions.Laplace(loc, s),
     [rng.normal(size=(2, 3)), _pos(2, 3)], rng.normal(size=(4, 2, 3)), UNIT),
    ("Cauchy", lambda lib, loc, s: lib.distributions.Cauchy(loc, s),
     [rng.normal(size=(2, 3)), _pos(2, 3)], rng.normal(size=(4, 2, 3)), UNIT),
    ("Exponential", lambda lib, r: lib.distributions.Exponential(r),
     [_pos(2, 3)], rng.uniform(0, 3, size=(4, 2, 3)), UNIT),
    ("Bernoulli_probs", lambda lib, p: lib.distributions.Bernoulli(probs=p),
     [rng.uniform(0.1, 0.9, size=(2, 3))], rng.randint(0, 2, size=(4, 2, 3)).astype(float), None),
    ("Bernoulli_logits", lambda lib, x: lib.distributions.Bernoulli(logits=x),
     [rng.normal(size=(2, 3))], rng.randint(0, 2, size=(4, 2, 3)).astype(float), None),
    ("Geometric_probs", lambda lib, p: lib.distributions.Geometric(probs=p),
     [rng.uniform(0.1, 0.9, size=(2, 3))], rng.randint(0, 6, size=(4, 2, 3)).astype(float), None),
    ("Geometric_logits", lambda lib, x: lib.distributions.Geometric(logits=x),
     [rng.normal(size=(2, 3))], rng.randint(0, 6, size=(4, 2, 3)).astype(float), None),
    ("Poisson", lambda lib, r: lib.distributions.Poisson(r),
     [_pos(2, 3) * 3], rng.randint(0, 8, size=(4, 2, 3)).astype(float), None),
    ("Binomial_probs", lambda lib, p: lib.distributions.Binomial(7, probs=p),
     [rng.uniform(0.1, 0.9, size=(2, 3))], rng.randint(0, 8, size=(4, 2, 3)).astype(float), None),
    ("Binomial_logits", lambda lib, x: lib.distributions.Binomial(7, logits=x),
     [rng.normal(size=(2, 3))], rng.randint(0, 8, size=(4, 2, 3)).astype(float), None),
    ("Binomial_tensor_count", lambda lib, p: lib.distributions.Binomial(
        lib.tensor([[3.0, 5.0, 9.0]], dtype=p.dtype), probs=p),
     [rng.uniform(0.1, 0.9, size=(2, 3))], rng.randint(0, 4, size=(4, 2, 3)).astype(float), None),
    ("Categorical_probs", lambda lib, p: lib.distributions.Categorical(probs=p),
     [_probs(2, 3, 4)], rng.randint(0, 4, size=(5, 2, 3)), None),
    ("Categorical_logits", lambda lib, x: lib.distributions.Categorical(logits=x),
     [rng.normal(size=(2, 3, 4))], rng.randint(0, 4, size=(5, 2, 3)), None),
    ("OneHotCategorical", lambda lib, p: lib.distributions.OneHotCategorical(probs=p),
     [_probs(2, 3, 4)], np.eye(4)[rng.randint(0, 4, size=(5, 2, 3))], None),
    ("OneHotCategorical_logits", lambda lib, x: lib.distributions.OneHotCategorical(logits=x),
     [rng.normal(size=(2, 3, 4))], np.eye(4)[rng.randint(0, 4, size=(5, 2, 3))], None),
    ("MVN_cov", _mvn("covariance_matrix"), [rng.normal(size=(3,)), _spd_factor(3)],
     rng.normal(size=(4, 2, 3)), None),
    ("MVN_precision", _mvn("precision_matrix"), [rng.normal(size=(2, 3)), _spd_factor(3)],
     rng.normal(size=(4, 1, 3)), None),
    ("MVN_scale_tril", _mvn("scale_tril"), [rng.normal(size=(3,)), _spd_factor(3)],
     rng.normal(size=(4, 2, 3)), None),
    ("Independent_Normal", lambda lib, loc, s: lib.distributions.Independent(lib.distributions.Normal(loc, s), 1),
     [rng.normal(size=(2, 3)), _pos(2, 3)], rng.normal(size=(4, 2, 3)), None),
    ("Independent_Bernoulli", lambda lib, p: lib.distributions.Independent(lib.distributions.Bernoulli(p), 2),
     [rng.uniform(0.1, 0.9, size=(2, 3))], rng.randint(0, 2, size=(4, 2, 3)).astype(float), None),
]

# pairs for kl_divergence: (name, make_p, make_q, leaves_p, leaves_q)
KL_CASES = [
    ("Normal", CASES[0][1], CASES[0][1], [rng.normal(size=(2, 3)), _pos(2, 3)], [rng.normal(size=(3,)), _pos(3)]),
    ("Bernoulli", CASES[6][1], CASES[7][1], [rng.uniform(0.1, 0.9, size=(2, 3))], [rng.normal(size=(2, 3))]),
    ("Categorical", CASES[14][1], CASES[15][1], [_probs(2, 3, 4)], [rng.normal(size=(3, 4))]),
    ("OneHotCategorical", CASES[16][1], CASES[17][1], [_probs(2, 3, 4)], [rng.normal(size=(2, 3, 4))]),
    ("Exponential", CASES[5][1], CASES[5][1], [_pos(2, 3)], [_pos(2, 3)]),
    ("Laplace", CASES[3][1], CASES[3][1], [rng.normal(size=(2, 3)), _pos(2, 3)], [rng.normal(size=(2, 3)), _pos(2, 3)]),
    ("Uniform", CASES[2][1], CASES[2][1], [np.full((2, 3), -1.0), np.full((2, 3), 2.0)],
     [np.array([[-1.5, -1.1, -0.5], [-2.0, -1.2, -1.3]]), np.array([[3.0, 4.0, 3.5], [3.5, 3.5, 2.5]])]),
    ("Poisson", CASES[10][1], CASES[10][1], [_pos(2, 3)], [_pos(2, 3)]),
    ("Geometric", CASES[8][1], CASES[9][1], [rng.uniform(0.1, 0.9, size=(2, 3))], [rng.normal(size=(2, 3))]),
    ("MVN", _mvn("covariance_matrix"), _mvn("scale_tril"), [rng.normal(size=(3,)), _spd_factor(3)],
     [rng.normal(size=(2, 3)), _spd_factor(3)[:1]]),
    ("Independent", CASES[21][1], CASES[21][1], [rng.normal(size=(2, 3)), _pos(2, 3)],
     [rng.normal(size=(2, 3)), _pos(2, 3)]),
]
