"""kl_divergence for every pair PyTorch 2.13 registers whose two families exist in edunn: the pair is
registered here too, and its value and parameter gradients match torch's on the same parameters
(float64). Also the Bregman fallback for exponential families and the dispatch errors."""
import warnings

import numpy as np
import pytest

import edunn
import edunn.distributions as D
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch

rng = np.random.RandomState(7)


def _pos(*shape, lo=0.5, hi=2.0):
    return rng.uniform(lo, hi, size=shape)


def _spd_factor(n, m=None):
    return rng.normal(size=(n, m or n)) * 0.5


def _mvn(lib, loc, a):
    cov = a @ a.transpose(-2, -1) + lib.eye(a.shape[-1], dtype=a.dtype)
    return lib.distributions.MultivariateNormal(loc, covariance_matrix=cov)


# family name -> (make(lib, *tensors), numpy leaves); parameters are chosen so that the
# supports nest where torch's formula is finite (Uniform inside [0, 1], ...)
FAMILIES = {
    "Normal": (lambda lib, m, s: lib.distributions.Normal(m, s), [rng.normal(size=(2, 3)), _pos(2, 3)]),
    "Laplace": (lambda lib, m, s: lib.distributions.Laplace(m, s), [rng.normal(size=(2, 3)), _pos(2, 3)]),
    "Cauchy": (lambda lib, m, s: lib.distributions.Cauchy(m, s), [rng.normal(size=(2, 3)), _pos(2, 3)]),
    "Exponential": (lambda lib, r: lib.distributions.Exponential(r), [_pos(2, 3)]),
    "Gamma": (lambda lib, a, r: lib.distributions.Gamma(a, r), [_pos(2, 3, hi=3.0), _pos(2, 3)]),
    "Beta": (lambda lib, a, b: lib.distributions.Beta(a, b), [_pos(2, 3, hi=3.0), _pos(2, 3, hi=3.0)]),
    "Uniform": (lambda lib, lo, w: lib.distributions.Uniform(lo, lo + w),
                [rng.uniform(0.1, 0.3, size=(2, 3)), rng.uniform(0.2, 0.6, size=(2, 3))]),
    "Bernoulli": (lambda lib, p: lib.distributions.Bernoulli(probs=p), [rng.uniform(0.1, 0.9, size=(2, 3))]),
    "Poisson": (lambda lib, r: lib.distributions.Poisson(r), [_pos(2, 3)]),
    "Binomial": (lambda lib, p: lib.distributions.Binomial(7, probs=p), [rng.uniform(0.1, 0.9, size=(2, 3))]),
    "Geometric": (lambda lib, p: lib.distributions.Geometric(probs=p), [rng.uniform(0.1, 0.9, size=(2, 3))]),
    "Categorical": (lambda lib, p: lib.distributions.Categorical(probs=p), [_pos(2, 3, 4)]),
    "OneHotCategorical": (lambda lib, p: lib.distributions.OneHotCategorical(probs=p), [_pos(2, 3, 4)]),
    "Dirichlet": (lambda lib, a: lib.distributions.Dirichlet(a), [_pos(2, 3, 4, hi=3.0)]),
    "MultivariateNormal": (_mvn, [rng.normal(size=(2, 3)), _spd_factor(3)]),
    "LowRankMultivariateNormal": (lambda lib, m, w, d: lib.distributions.LowRankMultivariateNormal(m, w, d),
                                  [rng.normal(size=(2, 3)), _spd_factor(3, 2), _pos(3)]),
    "Independent": (lambda lib, m, s: lib.distributions.Independent(lib.distributions.Normal(m, s), 1),
                    [rng.normal(size=(2, 3)), _pos(2, 3)]),
    "Gumbel": (lambda lib, m, s: lib.distributions.Gumbel(m, s), [rng.normal(size=(2, 3)), _pos(2, 3)]),
    "Pareto": (lambda lib, s, a: lib.distributions.Pareto(s, a), [_pos(2, 3), _pos(2, 3, lo=2.5, hi=4.0)]),
    "HalfNormal": (lambda lib, s: lib.distributions.HalfNormal(s), [_pos(2, 3)]),
    "ContinuousBernoulli": (lambda lib, p: lib.distributions.ContinuousBernoulli(probs=p),
                            [rng.uniform(0.1, 0.9, size=(2, 3))]),
    "Wishart": (lambda lib, df, a: lib.distributions.Wishart(
        df, covariance_matrix=a @ a.transpose(-2, -1) + lib.eye(3, dtype=a.dtype)),
        [rng.uniform(3.5, 6.0, size=(2,)), _spd_factor(3)]),
}
FAMILIES["TransformedDistribution"] = (
    lambda lib, m, s: lib.distributions.TransformedDistribution(
        lib.distributions.Normal(m, s), [lib.distributions.ExpTransform()]),
    [rng.normal(size=(2, 3)), _pos(2, 3)])
# q parameters differ from p's: a second draw of each family's leaves
Q_LEAVES = {name: [np.array(a, copy=True) * rng.uniform(0.8, 1.2, size=np.shape(a)) if name not in
                   ("Uniform", "Categorical", "OneHotCategorical") else np.array(a, copy=True)[::-1].copy()
                   for a in leaves] for name, (make, leaves) in FAMILIES.items()}
Q_LEAVES["Uniform"] = [rng.uniform(0.0, 0.1, size=(2, 3)), rng.uniform(0.6, 0.9, size=(2, 3))]
Q_LEAVES["Bernoulli"] = [rng.uniform(0.1, 0.9, size=(2, 3))]
Q_LEAVES["Binomial"] = [rng.uniform(0.1, 0.9, size=(2, 3))]
Q_LEAVES["Geometric"] = [rng.uniform(0.1, 0.9, size=(2, 3))]
Q_LEAVES["ContinuousBernoulli"] = [rng.uniform(0.1, 0.9, size=(2, 3))]


def _exists(name):
    return hasattr(D, name)


TORCH_PAIRS = sorted({(p.__name__, q.__name__) for p, q in torch.distributions.kl._KL_REGISTRY})
OUR_PAIRS = [pq for pq in TORCH_PAIRS if _exists(pq[0]) and _exists(pq[1])]


def test_every_torch_pair_is_registered():
    ours = {(p.__name__, q.__name__) for p, q in D.kl._KL_REGISTRY}
    missing = [pq for pq in OUR_PAIRS if pq not in ours]
    assert not missing, f"pairs torch registers but edunn does not: {missing}"
    extra = {pq for pq in ours - set(TORCH_PAIRS) if _exists(pq[0]) and _exists(pq[1])}  # not tests' own
    assert not extra, f"pairs edunn registers but torch does not: {extra}"


def _build(name, leaves, lib):
    make, _ = FAMILIES[name]
    if lib is edunn:
        ts = [edunn.tensor(a, dtype=edunn.float64, requires_grad=True) for a in leaves]
    else:
        ts = [torch.tensor(a, dtype=torch.float64, requires_grad=True) for a in leaves]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make(lib, *ts), ts


@pytest.mark.parametrize("pair", OUR_PAIRS, ids=[f"{p}-{q}" for p, q in OUR_PAIRS])
def test_kl_value_and_grad(pair):
    pn, qn = pair
    if pn == "ExponentialFamily" or qn not in FAMILIES or pn not in FAMILIES:
        pytest.skip("covered by the Bregman tests below")
    pe, lpe = _build(pn, FAMILIES[pn][1], edunn)
    qe, lqe = _build(qn, Q_LEAVES[qn], edunn)
    pt, lpt = _build(pn, FAMILIES[pn][1], torch)
    qt, lqt = _build(qn, Q_LEAVES[qn], torch)
    kt = torch.distributions.kl_divergence(pt, qt)
    ke = D.kl_divergence(pe, qe)
    assert tuple(ke.shape) == tuple(kt.shape)
    assert_close(ke, kt, what=f"KL({pn} || {qn})", atol=1e-10, rtol=1e-9)
    finite = torch.isfinite(kt)
    if kt.requires_grad and bool(finite.any()):
        w = np.random.RandomState(0).normal(size=tuple(kt.shape)) * finite.numpy()
        (kt.masked_fill(~finite, 0) * torch.tensor(w)).sum().backward()
        (edunn.where(edunn.tensor(finite.numpy()), ke, 0.0) * edunn.tensor(w)).sum().backward()
        for a, b in zip(lpe + lqe, lpt + lqt):
            if b.grad is not None:
                assert a.grad is not None
                assert_close(a.grad, b.grad, what=f"d KL({pn} || {qn})", atol=1e-9, rtol=1e-8)


@pytest.mark.parametrize("name", ["Normal", "Gamma", "Beta", "Exponential", "Bernoulli", "Poisson", "Dirichlet"])
def test_bregman_fallback_matches_closed_form(name):
    """The generic exponential-family KL and entropy equal each family's own closed forms."""
    p, _ = _build(name, FAMILIES[name][1], edunn)
    q, _ = _build(name, Q_LEAVES[name], edunn)
    closed = D.kl_divergence(p, q)
    bregman = D.kl._kl_expfamily_expfamily(p, q)
    assert_close(bregman, closed, what=f"Bregman KL {name}", atol=1e-10, rtol=1e-9)
    if name not in ("Beta", "Dirichlet", "Poisson"):  # no _mean_carrier_measure there, as torch
        assert_close(D.ExponentialFamily.entropy(p), p.entropy(), what=f"Bregman entropy {name}",
                     atol=1e-10, rtol=1e-9)


def test_wishart_kl_through_bregman_matches_torch():
    pe, _ = _build("Wishart", FAMILIES["Wishart"][1], edunn)
    qe, _ = _build("Wishart", Q_LEAVES["Wishart"], edunn)
    pt, _ = _build("Wishart", FAMILIES["Wishart"][1], torch)
    qt, _ = _build("Wishart", Q_LEAVES["Wishart"], torch)
    assert_close(D.kl_divergence(pe, qe), torch.distributions.kl_divergence(pt, qt), what="KL Wishart",
                 atol=1e-9, rtol=1e-9)


def test_errors_as_torch():
    n = D.Normal(edunn.tensor([0.0]), edunn.tensor([1.0]))
    b = D.Bernoulli(edunn.tensor([0.3]))
    with pytest.raises(NotImplementedError, match="different exponential families"):
        D.kl_divergence(b, n)
    with pytest.raises(NotImplementedError):
        torch.distributions.kl_divergence(torch.distributions.Bernoulli(torch.tensor([0.3])),
                                          torch.distributions.Normal(torch.tensor([0.0]), torch.tensor([1.0])))
    with pytest.raises(NotImplementedError, match="q.total_count > p.total_count"):
        D.kl_divergence(D.Binomial(3, edunn.tensor([0.5])), D.Binomial(5, edunn.tensor([0.5])))
    lr = D.LowRankMultivariateNormal(edunn.zeros(2), edunn.ones(2, 1), edunn.ones(2))
    lr3 = D.LowRankMultivariateNormal(edunn.zeros(3), edunn.ones(3, 1), edunn.ones(3))
    with pytest.raises(ValueError, match="different event shapes"):
        D.kl_divergence(lr, lr3)


def test_infinite_and_binomial_counts():
    """``_infinite_like`` pairs and a Binomial q with fewer trials are inf, as torch."""
    e = D.kl_divergence(D.Binomial(7, edunn.tensor([0.5, 0.3])), D.Binomial(edunn.tensor([7.0, 5.0]),
                                                                           edunn.tensor([0.4, 0.3])))
    t = torch.distributions.kl_divergence(
        torch.distributions.Binomial(7, torch.tensor([0.5, 0.3])),
        torch.distributions.Binomial(torch.tensor([7.0, 5.0]), torch.tensor([0.4, 0.3])))
    assert_close(e, t, what="KL Binomial counts")
    k = D.kl_divergence(D.Normal(edunn.zeros(2), edunn.ones(2)), D.Gamma(edunn.ones(2), edunn.ones(2)))
    assert k.shape == (2,) and bool(edunn.isinf(k).all())
