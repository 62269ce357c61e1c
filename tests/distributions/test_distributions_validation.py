"""validate_args: bad parameters and out-of-support values raise torch's ValueError messages
(with ``torch.Size`` read as ``edunn.Size``); constraints' ``check`` against torch's; reprs."""
import re

import numpy as np
import pytest

import edunn
import edunn.distributions as D
from edunn.distributions import constraints
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch
T = torch.distributions if torch is not None else None


def _message(fn):
    with pytest.raises(Exception) as info:
        fn()
    return type(info.value), str(info.value).replace("torch.Size", "Size").replace("edunn.Size", "Size")


def _same_error(make):
    """``make(lib, tensor)`` raises the same error type and message with edunn and torch."""
    te, me = _message(lambda: make(D, edunn.tensor))
    tt, mt = _message(lambda: make(T, torch.tensor))
    assert te is tt, (te, tt)
    assert me == mt


BAD_PARAMS = {
    "Normal_scale": lambda L, t: L.Normal(t([0.0, 1.0]), t([1.0, -1.0]), validate_args=True),
    "Normal_loc_nan": lambda L, t: L.Normal(t([float("nan"), 1.0]), t([1.0, 1.0]), validate_args=True),
    "Uniform_low_high": lambda L, t: L.Uniform(t([1.0, 0.5]), t([0.7, 0.7]), validate_args=True),
    "Bernoulli_probs": lambda L, t: L.Bernoulli(t([0.5, 1.5]), validate_args=True),
    "Bernoulli_both": lambda L, t: L.Bernoulli(t([0.5]), t([0.5])),
    "Categorical_probs": lambda L, t: L.Categorical(t([[0.5, -0.5]]), validate_args=True),
    "Categorical_neither": lambda L, t: L.Categorical(),
    "Categorical_scalar": lambda L, t: L.Categorical(t(1.0)),
    "Exponential_rate": lambda L, t: L.Exponential(t([0.0, 1.0]), validate_args=True),
    "Laplace_scale": lambda L, t: L.Laplace(t([0.0]), t([-1.0]), validate_args=True),
    "Cauchy_scale": lambda L, t: L.Cauchy(t([0.0]), t([0.0]), validate_args=True),
    "Poisson_rate": lambda L, t: L.Poisson(t([-1.0, 1.0]), validate_args=True),
    "Binomial_count": lambda L, t: L.Binomial(t([2.5, 3.0]), t([0.5, 0.5]), validate_args=True),
    "Binomial_probs": lambda L, t: L.Binomial(3, t([0.5, 1.5]), validate_args=True),
    "Geometric_zero": lambda L, t: L.Geometric(t([0.0, 0.5]), validate_args=True),
    "Geometric_big": lambda L, t: L.Geometric(t([1.5, 0.5]), validate_args=True),
    "MVN_two": lambda L, t: L.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 0.0], [0.0, 1.0]]),
                                                 scale_tril=t([[1.0, 0.0], [0.0, 1.0]])),
    "MVN_loc_scalar": lambda L, t: L.MultivariateNormal(t(0.0), t([[1.0]])),
    "MVN_cov_vector": lambda L, t: L.MultivariateNormal(t([0.0]), covariance_matrix=t([1.0])),
    "MVN_cov_not_pd": lambda L, t: L.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 2.0], [2.0, 1.0]]), validate_args=True),
    "MVN_tril_not_lower": lambda L, t: L.MultivariateNormal(t([0.0, 0.0]), scale_tril=t([[1.0, 2.0], [0.0, 1.0]]),
                                                            validate_args=True),
    "Independent_ndims": lambda L, t: L.Independent(L.Normal(t([0.0]), t([1.0])), 2),
}


@pytest.mark.parametrize("name", BAD_PARAMS)
def test_bad_parameters(name):
    _same_error(BAD_PARAMS[name])


BAD_VALUES = {
    "Normal_nan": (lambda L, t: L.Normal(t([0.0, 1.0]), t([1.0, 1.0]), validate_args=True), [float("nan"), 1.0]),
    "Normal_shape": (lambda L, t: L.Normal(t([0.0, 1.0]), t([1.0, 1.0]), validate_args=True), [1.0, 1.0, 1.0]),
    "Uniform_outside": (lambda L, t: L.Uniform(t([0.0, 0.0]), t([1.0, 1.0]), validate_args=True), [0.5, 1.5]),
    "Bernoulli_half": (lambda L, t: L.Bernoulli(t([0.2, 0.1]), validate_args=True), [0.5, 1.0]),
    "Exponential_negative": (lambda L, t: L.Exponential(t([1.0, 2.0]), validate_args=True), [-1.0, 1.0]),
    "Poisson_fraction": (lambda L, t: L.Poisson(t([1.0, 2.0]), validate_args=True), [1.5, 1.0]),
    "Geometric_negative": (lambda L, t: L.Geometric(t([0.2, 0.1]), validate_args=True), [-1.0, 1.0]),
    "Binomial_over": (lambda L, t: L.Binomial(3, t([0.2, 0.1]), validate_args=True), [4.0, 1.0]),
    "Categorical_over": (lambda L, t: L.Categorical(t([0.2, 0.8]), validate_args=True), [2]),
    "OneHot_not_onehot": (lambda L, t: L.OneHotCategorical(t([0.2, 0.8]), validate_args=True), [1.0, 1.0]),
    "MVN_event": (lambda L, t: L.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 0.0], [0.0, 1.0]]), validate_args=True),
                  [1.0, 1.0, 1.0]),
    "Independent_nan": (lambda L, t: L.Independent(L.Normal(t([0.0, 1.0]), t([1.0, 1.0]), validate_args=True), 1),
                        [float("nan"), 1.0]),
}


@pytest.mark.parametrize("name", BAD_VALUES)
def test_bad_values(name):
    make, value = BAD_VALUES[name]
    _same_error(lambda L, t: make(L, t).log_prob(t(value)))


def test_value_must_be_tensor():
    _same_error(lambda L, t: L.Normal(t(0.0), t(1.0), validate_args=True).log_prob(1.0))


def test_set_default_validate_args():
    try:
        D.Distribution.set_default_validate_args(False)
        D.Normal(edunn.tensor([0.0]), edunn.tensor([-1.0]))  # no check
        D.Normal(edunn.tensor([0.0]), edunn.tensor([1.0])).log_prob(edunn.tensor([float("nan")]))
        with pytest.raises(ValueError):
            D.Normal(edunn.tensor([0.0]), edunn.tensor([-1.0]), validate_args=True)
        D.Distribution.set_default_validate_args(True)
        with pytest.raises(ValueError, match="to satisfy the constraint GreaterThan"):
            D.Normal(edunn.tensor([0.0]), edunn.tensor([-1.0]))
        D.Normal(edunn.tensor([0.0]), edunn.tensor([-1.0]), validate_args=False)
        with pytest.raises(ValueError):
            D.Distribution.set_default_validate_args("yes")
    finally:
        D.Distribution.set_default_validate_args(True)


REPRS = [
    lambda L, t: L.Normal(t([0.0, 1.0]), t([1.0, 2.0])),
    lambda L, t: L.Normal(0.0, 1.0),
    lambda L, t: L.Bernoulli(logits=t([0.0, 1.0])),
    lambda L, t: L.Categorical(t([[0.5, 0.5]] * 3)),
    lambda L, t: L.OneHotCategorical(t([0.5, 0.5])),
    lambda L, t: L.Binomial(10, t([0.3, 0.4])),
    lambda L, t: L.Uniform(t([0.0]), t([1.0])),
    lambda L, t: L.MultivariateNormal(t([0.0, 0.0]), t([[1.0, 0.0], [0.0, 1.0]])),
    lambda L, t: L.Independent(L.Normal(t([0.0, 1.0]), t([1.0, 2.0])), 1),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr(i):
    re_ = repr(REPRS[i](D, edunn.tensor)).replace("edunn.Size", "Size")
    rt = repr(REPRS[i](T, torch.tensor)).replace("torch.Size", "Size")
    assert re_ == rt


CONSTRAINTS = {
    "real": (lambda c: c.real, [[0.0, float("nan"), float("inf")]]),
    "positive": (lambda c: c.positive, [[-1.0, 0.0, 2.0]]),
    "nonnegative": (lambda c: c.nonnegative, [[-1.0, 0.0, 2.0]]),
    "greater_than": (lambda c: c.greater_than(1.0), [[-1.0, 1.0, 2.0]]),
    "interval": (lambda c: c.interval(0.0, 2.0), [[-1.0, 0.0, 2.0, 2.5]]),
    "unit_interval": (lambda c: c.unit_interval, [[-0.1, 0.0, 1.0, 1.1]]),
    "boolean": (lambda c: c.boolean, [[0.0, 1.0, 0.5]]),
    "nonnegative_integer": (lambda c: c.nonnegative_integer, [[-1.0, 0.0, 2.0, 2.5]]),
    "integer_interval": (lambda c: c.integer_interval(0, 3), [[-1.0, 0.0, 3.0, 4.0, 1.5]]),
    "simplex": (lambda c: c.simplex, [[0.2, 0.8], [0.5, 0.6], [-0.5, 1.5]]),
    "real_vector": (lambda c: c.real_vector, [[0.0, 1.0], [float("nan"), 1.0]]),
    "independent": (lambda c: c.independent(c.positive, 1), [[1.0, 1.0], [1.0, 0.0]]),
    "lower_cholesky": (lambda c: c.lower_cholesky, [[[1.0, 0.0], [0.5, 1.0]], [[1.0, 0.1], [0.5, 1.0]],
                                                     [[-1.0, 0.0], [0.5, 1.0]]]),
    "positive_definite": (lambda c: c.positive_definite, [[[2.0, 0.5], [0.5, 1.0]], [[1.0, 2.0], [2.0, 1.0]]]),
    "one_hot": (lambda c: c.one_hot, [[0.0, 1.0], [1.0, 1.0], [0.0, 0.0]]),
}


@pytest.mark.parametrize("name", CONSTRAINTS)
def test_constraint_check(name):
    make, value = CONSTRAINTS[name]
    ce, ct = make(constraints), make(torch.distributions.constraints)
    got = ce.check(edunn.tensor(value))
    assert got.dtype == edunn.bool
    assert_close(got, ct.check(torch.tensor(value)), what=name)
    assert repr(ce) == repr(ct)
    assert ce.event_dim == ct.event_dim and ce.is_discrete == ct.is_discrete


def test_support_and_arg_constraints_reprs():
    pairs = [(D.Normal(edunn.zeros(2), 1.0), T.Normal(torch.zeros(2), 1.0)),
             (D.Categorical(edunn.ones(3)), T.Categorical(torch.ones(3))),
             (D.Poisson(edunn.ones(2)), T.Poisson(torch.ones(2))),
             (D.MultivariateNormal(edunn.zeros(2), edunn.eye(2)), T.MultivariateNormal(torch.zeros(2), torch.eye(2)))]
    for de, dt in pairs:
        assert repr(de.support) == repr(dt.support)
        assert {k: repr(v) for k, v in de.arg_constraints.items()} == {k: repr(v) for k, v in dt.arg_constraints.items()}


def test_probs_logits_conversions():
    p = np.array([0.1, 0.5, 0.9])
    be, bt = D.Bernoulli(probs=edunn.tensor(p)), T.Bernoulli(probs=torch.tensor(p))
    assert_close(be.logits, bt.logits, atol=1e-12)
    ce, ct = D.Categorical(logits=edunn.tensor(p)), T.Categorical(logits=torch.tensor(p))
    assert_close(ce.probs, ct.probs, atol=1e-12)
    assert_close(ce.logits, ct.logits, atol=1e-12)
    assert re.match(r"tensor\(", repr(ce.param_shape)) is None and ce.param_shape == edunn.Size([3])
