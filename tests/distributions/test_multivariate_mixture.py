"""Multivariate and mixture distributions (Multinomial, MixtureSameFamily, LowRankMultivariateNormal,
VonMises, Wishart, LKJCholesky) against torch.distributions on the same parameters: values and
parameter gradients, sample statistics, shapes, expand, validation errors and reprs."""
import math
import warnings

import numpy as np
import pytest

import edunn
import edunn.distributions as D
from opcheck import assert_close, needs_torch, torch
from test_distributions_parity import TOL, _call, _value

pytestmark = needs_torch
rng = np.random.RandomState(11)


def _spd(lib, a):
    return a @ a.transpose(-2, -1) + lib.eye(a.shape[-1], dtype=a.dtype)


def _mix(L, logits, loc, scale):
    return L.MixtureSameFamily(L.Categorical(logits=logits), L.Normal(loc, scale))


def _mix_mvn(L, logits, loc, scale):
    return L.MixtureSameFamily(L.Categorical(logits=logits), L.Independent(L.Normal(loc, scale), 1))


def _lkj_value():
    t = torch.distributions.LKJCholesky(3, torch.tensor([0.5, 2.0], dtype=torch.float64))
    torch.manual_seed(0)
    return t.sample((4,)).numpy()


def _wishart_value():
    a = rng.normal(size=(4, 2, 3, 3))
    return a @ a.transpose(0, 1, 3, 2) + np.eye(3)


CASES = [
    ("Multinomial", lambda L, p: L.Multinomial(6, probs=p), [rng.uniform(0.1, 1, size=(2, 4))],
     rng.multinomial(6, [0.25] * 4, size=(3, 2)).astype(float)),
    ("Multinomial_logits", lambda L, x: L.Multinomial(6, logits=x), [rng.normal(size=(2, 4))],
     rng.multinomial(6, [0.25] * 4, size=(3, 2)).astype(float)),
    ("MixtureSameFamily", _mix, [rng.normal(size=(2, 3)), rng.normal(size=(2, 3)), rng.uniform(0.5, 2, size=(2, 3))],
     rng.normal(size=(4, 2))),
    ("MixtureSameFamily_mvn", _mix_mvn, [rng.normal(size=(3,)), rng.normal(size=(3, 2)),
                                         rng.uniform(0.5, 2, size=(3, 2))], rng.normal(size=(4, 2))),
    ("LowRankMultivariateNormal", lambda L, m, w, d: L.LowRankMultivariateNormal(m, w, d),
     [rng.normal(size=(2, 3)), rng.normal(size=(3, 2)), rng.uniform(0.5, 2, size=(3,))], rng.normal(size=(4, 2, 3))),
    ("VonMises", lambda L, m, k: L.VonMises(m, k), [rng.normal(size=(2, 3)), np.array([[0.1, 1.0, 3.7],
                                                                                        [3.8, 10.0, 50.0]])],
     rng.uniform(-3, 3, size=(4, 2, 3))),
    ("Wishart", lambda L, df, a: L.Wishart(df, covariance_matrix=_spd(L is D and edunn or torch, a)),
     [np.array([3.5, 6.0]), rng.normal(size=(3, 3))], _wishart_value()),
    ("Wishart_precision", lambda L, df, a: L.Wishart(df, precision_matrix=_spd(L is D and edunn or torch, a)),
     [np.array([4.5, 6.0]), rng.normal(size=(3, 3))], _wishart_value()),
    ("Wishart_scale_tril", lambda L, df, a: L.Wishart(df, scale_tril=(L is D and edunn or torch).linalg.cholesky(
        _spd(L is D and edunn or torch, a))), [np.array([5.0, 2.5]), rng.normal(size=(2, 3, 3))], _wishart_value()),
    ("LKJCholesky", lambda L, c: L.LKJCholesky(3, c), [np.array([0.5, 2.0])], _lkj_value()),
]
WHATS = ["log_prob", "cdf", "entropy", "mean", "mode", "variance", "stddev"]


def _build(case, dtype):
    name, make, leaves, value = case
    le = [edunn.tensor(a, dtype=getattr(edunn, dtype), requires_grad=True) for a in leaves]
    lt = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in leaves]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return make(D, *le), make(torch.distributions, *lt), le, lt


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("what", WHATS)
def test_values_and_grads(case, dtype, what):
    de, dt, le, lt = _build(case, dtype)
    ve, vt = _value(case[3], edunn, dtype), _value(case[3], torch, dtype)
    out_t, err_t = _call(dt, what, vt)
    out_e, err_e = _call(de, what, ve)
    if err_t is not None:
        assert isinstance(err_e, NotImplementedError), f"torch raises NotImplementedError, edunn gives {out_e}"
        return
    assert err_e is None, f"{case[0]}.{what} raised {err_e!r}"
    assert tuple(out_e.shape) == tuple(out_t.shape)
    tol = dict(TOL[dtype])
    if dtype == "float32":
        tol = dict(atol=2e-3, rtol=1e-3)  # matrix factorisations round differently in float32
    assert_close(out_e, out_t, what=f"{case[0]}.{what}", **tol)
    if out_t.requires_grad:
        mask = torch.isfinite(out_t)
        w = np.random.RandomState(1).normal(size=tuple(out_t.shape)) * mask.numpy()
        (out_t.masked_fill(~mask, 0) * torch.tensor(w, dtype=out_t.dtype)).sum().backward()
        (edunn.where(edunn.tensor(mask.numpy()), out_e, 0.0) * edunn.tensor(w, dtype=out_e.dtype)).sum().backward()
        for i, (a, b) in enumerate(zip(le, lt)):
            if b.grad is not None:
                assert a.grad is not None, f"{case[0]}.{what}: no gradient for parameter {i}"
                assert_close(a.grad, b.grad, what=f"{case[0]}.{what} d/dparam{i}", **tol)


@pytest.mark.parametrize("attr", ["scale_tril", "covariance_matrix", "precision_matrix"])
def test_lowrank_matrices(attr):
    m, w, d = rng.normal(size=(2, 3)), rng.normal(size=(3, 2)), rng.uniform(0.5, 2, size=(3,))
    e = D.LowRankMultivariateNormal(edunn.tensor(m), edunn.tensor(w), edunn.tensor(d))
    t = torch.distributions.LowRankMultivariateNormal(torch.tensor(m), torch.tensor(w), torch.tensor(d))
    assert_close(getattr(e, attr), getattr(t, attr), what=attr, atol=1e-12, rtol=1e-10)


def _dists(dtype=edunn.float32, device="cpu"):
    t = lambda v: edunn.tensor(v, dtype=dtype, device=device)  # noqa: E731
    return {
        "Multinomial": D.Multinomial(10, t([[0.2, 0.3, 0.5], [0.6, 0.1, 0.3]])),
        "MixtureSameFamily": D.MixtureSameFamily(D.Categorical(t([0.3, 0.7])), D.Normal(t([-2.0, 3.0]), t([1.0, 0.5]))),
        "LowRankMultivariateNormal": D.LowRankMultivariateNormal(t([1.0, -1.0, 0.0]), t([[1.0], [0.5], [-0.3]]),
                                                                 t([0.5, 1.0, 2.0])),
        "VonMises": D.VonMises(t([0.5, -2.0, 3.0]), t([0.5, 4.0, 30.0])),
        "Wishart": D.Wishart(t(5.0), covariance_matrix=t([[2.0, 0.5], [0.5, 1.0]])),
        "LKJCholesky": D.LKJCholesky(3, t([0.5, 2.0])),
    }


NAMES = list(_dists())


@pytest.mark.parametrize("name", NAMES)
def test_sample_shapes_support_and_expand(name, device):
    d = _dists(device=device)[name]
    for sample_shape in [(), (3,), (2, 4)]:
        s = d.sample(sample_shape)
        assert tuple(s.shape) == tuple(sample_shape) + tuple(d.batch_shape) + tuple(d.event_shape)
        assert s.dtype == edunn.float32 and s.device.type == device
        if name != "MixtureSameFamily":
            assert bool(edunn.all(d.support.check(s))), f"{name} sample outside {d.support}"
        assert tuple(d.log_prob(s).shape) == tuple(sample_shape) + tuple(d.batch_shape)
    e = d.expand((3,) + tuple(d.batch_shape))
    assert type(e) is type(d)
    assert tuple(e.sample((2,)).shape) == (2, 3) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert d.has_rsample == getattr(torch.distributions, name).has_rsample


@pytest.mark.parametrize("name", ["Multinomial", "MixtureSameFamily", "LowRankMultivariateNormal", "Wishart"])
def test_sample_mean_and_variance(name):
    d = _dists(edunn.float64)[name]
    n = 20000
    s = d.sample((n,)).numpy()
    mean, var = d.mean.numpy(), d.variance.numpy()
    assert np.all(np.abs(s.mean(0) - mean) < 6 * np.sqrt(var / n) + 1e-3), (s.mean(0), mean)
    assert np.allclose(s.var(0), var, rtol=0.1), (s.var(0), var)


def test_von_mises_samples():
    """The circular mean direction is ``loc`` and ``1 - |E[e^{ix}]|`` is the circular variance."""
    d = _dists(edunn.float64)["VonMises"]
    s = d.sample((20000,)).numpy()
    assert np.all((s >= -math.pi) & (s < math.pi))
    z = np.exp(1j * s).mean(0)
    assert np.allclose(np.angle(z), d.loc.numpy(), atol=0.05)
    assert np.allclose(1 - np.abs(z), d.variance.numpy(), atol=0.015)


def test_lkj_samples_are_correlation_factors_with_torchs_marginal():
    """``L L^T`` has a unit diagonal; for eta = 2, dim = 3 each correlation is ``2 Beta(2.5, 2.5) - 1``
    (mean 0, variance 1 / (2 eta + dim - 1) = 1/6)."""
    d = D.LKJCholesky(3, edunn.tensor(2.0, dtype=edunn.float64))
    L = d.sample((20000,))
    C = (L @ L.mT).numpy()
    assert np.allclose(np.diagonal(C, axis1=-2, axis2=-1), 1.0)
    r = C[:, 0, 1]
    assert abs(r.mean()) < 0.02 and abs(r.var() - 1 / 6) < 0.01


def test_wishart_rsample_is_reparameterised():
    df = edunn.tensor(6.0, dtype=edunn.float64, requires_grad=True)
    a = edunn.tensor([[1.0, 0.0], [0.3, 0.8]], dtype=edunn.float64, requires_grad=True)
    s = D.Wishart(df, scale_tril=a).rsample((500,))
    s.sum().backward()
    assert df.grad is not None and a.grad is not None and bool(edunn.isfinite(df.grad))


def test_mixture_cdf_and_properties():
    m = _dists(edunn.float64)["MixtureSameFamily"]
    t = torch.distributions.MixtureSameFamily(torch.distributions.Categorical(torch.tensor([0.3, 0.7])),
                                              torch.distributions.Normal(torch.tensor([-2.0, 3.0]),
                                                                         torch.tensor([1.0, 0.5])))
    x = np.linspace(-4, 5, 7)
    assert_close(m.cdf(edunn.tensor(x)), t.cdf(torch.tensor(x, dtype=torch.float32)), atol=1e-5)
    assert isinstance(m.mixture_distribution, D.Categorical) and isinstance(m.component_distribution, D.Normal)


def _msg(fn):
    with pytest.raises(Exception) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    return type(info.value), str(info.value).replace("torch.Size", "Size").replace("edunn.Size", "Size")


BAD = {
    "Multinomial_count": lambda L, t: L.Multinomial(t(3), t([0.5, 0.5])),
    "Multinomial_value": lambda L, t: L.Multinomial(3, t([0.5, 0.5]), validate_args=True).log_prob(t([3.0, 2.0])),
    "Mixture_type": lambda L, t: L.MixtureSameFamily(L.Normal(t([0.0]), t([1.0])), L.Normal(t([0.0]), t([1.0]))),
    "Mixture_component": lambda L, t: L.MixtureSameFamily(L.Categorical(t([0.5, 0.5])), t([1.0])),
    "Mixture_count": lambda L, t: L.MixtureSameFamily(L.Categorical(t([0.5, 0.5])), L.Normal(t([0.0] * 3), t([1.0] * 3))),
    "Mixture_batch": lambda L, t: L.MixtureSameFamily(L.Categorical(t([[0.5, 0.5]] * 3)),
                                                      L.Normal(t([[0.0] * 2] * 2), t([[1.0] * 2] * 2))),
    "LowRank_loc": lambda L, t: L.LowRankMultivariateNormal(t(0.0), t([[1.0]]), t([1.0])),
    "LowRank_factor": lambda L, t: L.LowRankMultivariateNormal(t([0.0, 0.0]), t([1.0, 1.0]), t([1.0, 1.0])),
    "LowRank_factor_shape": lambda L, t: L.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0]] * 3), t([1.0, 1.0])),
    "LowRank_diag_shape": lambda L, t: L.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0]] * 2), t([1.0] * 3)),
    "LowRank_diag": lambda L, t: L.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0]] * 2), t([1.0, -1.0]),
                                                             validate_args=True),
    "VonMises_concentration": lambda L, t: L.VonMises(t([0.0]), t([-1.0]), validate_args=True),
    "Wishart_two": lambda L, t: L.Wishart(t(3.0), covariance_matrix=t([[1.0, 0.0], [0.0, 1.0]]),
                                          scale_tril=t([[1.0, 0.0], [0.0, 1.0]])),
    "Wishart_dim": lambda L, t: L.Wishart(t(3.0), covariance_matrix=t([1.0])),
    "Wishart_df": lambda L, t: L.Wishart(t(0.5), covariance_matrix=t([[1.0, 0.0], [0.0, 1.0]])),
    "Wishart_value": lambda L, t: L.Wishart(t(3.0), covariance_matrix=t([[1.0, 0.0], [0.0, 1.0]]),
                                            validate_args=True).log_prob(t([[1.0, 2.0], [2.0, 1.0]])),
    "LKJ_dim": lambda L, t: L.LKJCholesky(1, t(1.0)),
    "LKJ_concentration": lambda L, t: L.LKJCholesky(2, t(-1.0), validate_args=True),
}


@pytest.mark.parametrize("name", list(BAD))
def test_validation_errors_as_torch(name):
    te, me = _msg(lambda: BAD[name](D, edunn.tensor))
    tt, mt = _msg(lambda: BAD[name](torch.distributions, torch.tensor))
    assert te is tt and me == mt, (me, mt)


REPRS = [
    lambda L, t: L.Multinomial(3, t([0.5, 0.5])),
    lambda L, t: L.MixtureSameFamily(L.Categorical(t([0.5, 0.5])), L.Normal(t([0.0, 1.0]), t([1.0, 2.0]))),
    lambda L, t: L.LowRankMultivariateNormal(t([0.0, 0.0]), t([[1.0]] * 2), t([1.0, 2.0])),
    lambda L, t: L.VonMises(t(0.5), t(2.0)),
    lambda L, t: L.Wishart(t(3.0), covariance_matrix=t([[1.0, 0.0], [0.0, 1.0]])),
    lambda L, t: L.LKJCholesky(3, t([1.0, 2.0])),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_as_torch(i):
    ours = repr(REPRS[i](D, edunn.tensor)).replace("edunn.Size", "Size")
    theirs = repr(REPRS[i](torch.distributions, torch.tensor)).replace("torch.Size", "Size")
    assert ours == theirs


def test_wishart_low_df_warns_as_torch():
    with pytest.warns(UserWarning, match="Low df values detected"):
        D.Wishart(edunn.tensor(1.5), covariance_matrix=edunn.eye(2))
