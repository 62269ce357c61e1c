"""Finite-difference gradient checks (float64) of log_prob, entropy and kl_divergence in the
parameters, and second derivatives (gradgradcheck) of the continuous log-densities."""
import pytest

import edunn
from edunn.autograd import gradcheck, gradgradcheck
from distribution_cases import CASES, KL_CASES


def _leaves(arrays):
    return [edunn.tensor(a, dtype=edunn.float64, requires_grad=True) for a in arrays]


def _value(array):
    return edunn.tensor(array) if array.dtype.kind in "iu" else edunn.tensor(array, dtype=edunn.float64)


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_gradcheck_log_prob_and_entropy(case):
    name, make, leaves, value, _ = case
    v = _value(value)

    def f(*params):
        d = make(edunn, *params)
        out = d.log_prob(v).sum()
        if not name.startswith(("Binomial_tensor", "Poisson")):  # no entropy, as in torch
            out = out + d.entropy().sum()
        return out
    assert gradcheck(f, _leaves(leaves))


GRADGRAD = [c for c in CASES if c[0] in ("Normal", "Laplace", "Cauchy", "Exponential", "Bernoulli_logits",
                                         "Categorical_logits", "Poisson", "MVN_scale_tril")]


@pytest.mark.parametrize("case", GRADGRAD, ids=[c[0] for c in GRADGRAD])
def test_gradgradcheck_log_prob(case):
    name, make, leaves, value, _ = case
    v = _value(value)
    assert gradgradcheck(lambda *p: make(edunn, *p).log_prob(v).sum(), _leaves(leaves))


@pytest.mark.parametrize("case", KL_CASES, ids=[c[0] for c in KL_CASES])
def test_gradcheck_kl(case):
    name, make_p, make_q, leaves_p, leaves_q = case
    k = len(leaves_p)

    def f(*params):
        kl = edunn.distributions.kl_divergence(make_p(edunn, *params[:k]), make_q(edunn, *params[k:]))
        return edunn.where(kl.isfinite(), kl, 0.0).sum()
    assert gradcheck(f, _leaves(leaves_p + leaves_q))
