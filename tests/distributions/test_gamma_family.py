"""The gamma family (Gamma, Chi2, Beta, Dirichlet, StudentT, FisherSnedecor, InverseGamma,
NegativeBinomial) against torch.distributions on the same parameters: values and parameter
gradients of log_prob/cdf/entropy/mean/mode/variance; the reparameterised gradient of ``rsample``
against ``torch._standard_gamma_grad`` / ``torch._dirichlet_grad`` evaluated on the same sample
values; sample statistics (means, variances, Kolmogorov-Smirnov distances); shapes, expand,
validation errors and reprs."""
import math
import warnings

import numpy as np
import pytest

import edunn
import edunn.distributions as D
from edunn.distributions._gamma_sampling import (_dirichlet_grad, _standard_gamma,
                                                 _standard_gamma_grad)
from opcheck import assert_close, needs_torch, torch
from test_distributions_parity import TOL, _call, _value

pytestmark = needs_torch
rng = np.random.RandomState(3)


def _pos(*shape, lo=0.5, hi=3.0):
    return rng.uniform(lo, hi, size=shape)


UNIT = rng.uniform(0.05, 0.95, size=(4, 2, 3))
CASES = [
    ("Gamma", lambda L, a, r: L.Gamma(a, r), [_pos(2, 3), _pos(2, 3)], _pos(4, 2, 3, lo=0.1), None),
    ("Gamma_small", lambda L, a, r: L.Gamma(a, r), [_pos(2, 3, lo=0.1, hi=0.9), _pos(2, 3)],
     _pos(4, 2, 3, lo=0.1), None),
    ("Chi2", lambda L, df: L.Chi2(df), [_pos(2, 3, hi=6.0)], _pos(4, 2, 3, lo=0.1), None),
    ("Beta", lambda L, a, b: L.Beta(a, b), [_pos(2, 3), _pos(2, 3)], UNIT, None),
    ("Beta_small", lambda L, a, b: L.Beta(a, b), [_pos(2, 3, lo=0.2, hi=0.9), _pos(2, 3, lo=0.2, hi=0.9)],
     UNIT, None),
    ("Dirichlet", lambda L, a: L.Dirichlet(a), [_pos(2, 3, 4)],
     (lambda p: p / p.sum(-1, keepdims=True))(_pos(5, 2, 3, 4)), None),
    ("Dirichlet_below_one", lambda L, a: L.Dirichlet(a), [_pos(2, 3, lo=0.2, hi=0.9)],
     (lambda p: p / p.sum(-1, keepdims=True))(_pos(5, 2, 3)), None),
    ("StudentT", lambda L, df, m, s: L.StudentT(df, m, s),
     [np.array([[0.5, 1.5, 2.5], [4.0, 8.0, 1.0]]), rng.normal(size=(2, 3)), _pos(2, 3)],
     rng.normal(size=(4, 2, 3)) * 3, None),
    ("FisherSnedecor", lambda L, a, b: L.FisherSnedecor(a, b),
     [np.array([[1.5, 3.0, 5.0], [2.5, 8.0, 1.0]]), np.array([[1.5, 3.0, 5.0], [6.0, 4.5, 12.0]])],
     _pos(4, 2, 3, lo=0.1), None),
    ("InverseGamma", lambda L, a, r: L.InverseGamma(a, r), [np.array([[0.5, 1.5, 2.5], [4.0, 0.8, 3.0]]),
                                                            _pos(2, 3)], _pos(4, 2, 3, lo=0.1), None),
    ("NegativeBinomial_probs", lambda L, p: L.NegativeBinomial(edunn.tensor(3.5, dtype=p.dtype) if L is D
                                                               else torch.tensor(3.5, dtype=p.dtype), probs=p),
     [rng.uniform(0.1, 0.9, size=(2, 3))], rng.randint(0, 8, size=(4, 2, 3)).astype(float), None),
    ("NegativeBinomial_logits", lambda L, c, x: L.NegativeBinomial(c, logits=x), [_pos(2, 3, hi=5.0),
                                                                                   rng.normal(size=(2, 3))],
     rng.randint(0, 8, size=(4, 2, 3)).astype(float), None),
]
WHATS = ["log_prob", "cdf", "entropy", "mean", "mode", "variance", "stddev"]


def _build(case, dtype):
    name, make, leaves, value, _ = case
    le = [edunn.tensor(a, dtype=getattr(edunn, dtype), requires_grad=True) for a in leaves]
    lt = [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in leaves]
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
    assert str(out_e.dtype).split(".")[-1] == str(out_t.dtype).split(".")[-1]
    tol = dict(TOL[dtype])
    if dtype == "float32" and what == "entropy":
        tol["atol"] = 1e-3  # lgamma/digamma cancellations round differently in float32
    assert_close(out_e, out_t, what=f"{case[0]}.{what}", **tol)
    if out_t.requires_grad:
        mask = torch.isfinite(out_t)
        w = np.random.RandomState(1).normal(size=tuple(out_t.shape)) * mask.numpy()
        try:
            (out_t.masked_fill(~mask, 0) * torch.tensor(w, dtype=out_t.dtype)).sum().backward()
        except NotImplementedError:  # torch's igamma has no derivative in its first argument
            return
        (edunn.where(edunn.tensor(mask.numpy()), out_e, 0.0) * edunn.tensor(w, dtype=out_e.dtype)).sum().backward()
        for i, (a, b) in enumerate(zip(le, lt)):
            if b.grad is not None and bool(torch.isfinite(b.grad).all()):
                assert a.grad is not None, f"{case[0]}.{what}: no gradient for parameter {i}"
                assert_close(a.grad, b.grad, what=f"{case[0]}.{what} d/dparam{i}", **tol)


# ------------------------------------------------------------------------------ gamma gradients
# (alpha, x) on a grid through every branch of standard_gamma_grad_one: x < 0.8 (series),
# alpha > 8 near and away from the mode (Rice), and the rational fit in between
ALPHA = np.array([0.01, 0.1, 0.5, 0.99, 1.0, 2.5, 7.9, 8.1, 20.0, 150.0, 3000.0])
GRID_A, GRID_X = np.meshgrid(ALPHA, np.array([1e-6, 0.01, 0.3, 0.79]), indexing="ij")
GRID_A = np.concatenate([GRID_A.ravel(), ALPHA, ALPHA, ALPHA])
GRID_X = np.concatenate([GRID_X.ravel(), ALPHA * 0.7 + 0.85, ALPHA * 1.02 + 0.81, ALPHA * 1.5 + 0.9])


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_standard_gamma_grad_matches_aten(dtype):
    a = edunn.tensor(GRID_A, dtype=getattr(edunn, dtype))
    x = edunn.tensor(GRID_X, dtype=getattr(edunn, dtype))
    ours = _standard_gamma_grad(a, x)
    theirs = torch._standard_gamma_grad(torch.tensor(GRID_A, dtype=getattr(torch, dtype)),
                                        torch.tensor(GRID_X, dtype=getattr(torch, dtype)))
    assert ours.dtype == getattr(edunn, dtype)
    assert_close(ours, theirs, what="_standard_gamma_grad", rtol=1e-5 if dtype == "float32" else 1e-12, atol=0)


@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_rsample_gradient_is_torchs_standard_gamma_grad_on_the_same_samples(dtype):
    alpha = np.array([0.05, 0.4, 1.0, 2.5, 9.0, 60.0])
    rate = np.array([1.0, 2.0, 0.5, 1.0, 3.0, 0.25])
    a = edunn.tensor(alpha, dtype=getattr(edunn, dtype), requires_grad=True)
    r = edunn.tensor(rate, dtype=getattr(edunn, dtype), requires_grad=True)
    x = D.Gamma(a, r).rsample((300,))
    x.sum().backward()
    xs = torch.tensor(x.detach().numpy() * rate)  # the standard draws, as torch would see them
    at = torch.tensor(alpha, dtype=getattr(torch, dtype))
    dx_da = torch._standard_gamma_grad(at.expand(xs.shape), xs.to(at.dtype)) / torch.tensor(rate, dtype=at.dtype)
    rtol = 1e-4 if dtype == "float32" else 1e-9
    assert_close(a.grad, dx_da.sum(0), what="d sum(rsample) / d concentration", rtol=rtol, atol=1e-6)
    assert_close(r.grad, (-x.detach().numpy() / rate).sum(0), what="d sum(rsample) / d rate", rtol=rtol, atol=1e-6)


def test_standard_gamma_backward_has_no_second_derivative():
    a = edunn.tensor([1.5, 2.0], dtype=edunn.float64, requires_grad=True)
    x = _standard_gamma(a)
    (g,) = edunn.autograd.grad(x.sum(), a, create_graph=True)
    with pytest.raises(NotImplementedError, match="_standard_gamma_grad"):
        g.sum().backward()


def test_dirichlet_grad_matches_aten():
    alpha = rng.uniform(0.05, 12.0, size=(400,))
    total = alpha + rng.uniform(0.05, 12.0, size=(400,))
    x = np.clip(rng.beta(alpha, total - alpha), 1e-6, 1 - 1e-6)
    ours = _dirichlet_grad(edunn.tensor(x), edunn.tensor(alpha), edunn.tensor(total))
    theirs = torch._dirichlet_grad(torch.tensor(x), torch.tensor(alpha), torch.tensor(total))
    assert_close(ours, theirs, what="_dirichlet_grad", rtol=1e-9, atol=1e-12)


def test_dirichlet_and_beta_rsample_gradient_on_the_same_samples():
    conc = np.array([[0.3, 1.5, 4.0], [7.0, 9.0, 0.8]])
    c = edunn.tensor(conc, dtype=edunn.float64, requires_grad=True)
    x = D.Dirichlet(c).rsample((200,))
    w = rng.normal(size=tuple(x.shape))
    (x * edunn.tensor(w)).sum().backward()
    xt, ct, wt = torch.tensor(x.detach().numpy()), torch.tensor(conc).expand(x.shape), torch.tensor(w)
    grad = torch._dirichlet_grad(xt, ct, ct.sum(-1, True).expand_as(ct)) * (wt - (xt * wt).sum(-1, True))
    assert_close(c.grad, grad.sum(0), what="Dirichlet rsample gradient", rtol=1e-9, atol=1e-9)
    a = edunn.tensor([0.7, 3.0], dtype=edunn.float64, requires_grad=True)
    b = edunn.tensor([2.0, 0.4], dtype=edunn.float64, requires_grad=True)
    y = D.Beta(a, b).rsample((100,))
    y.sum().backward()
    assert a.grad is not None and b.grad is not None and bool(edunn.isfinite(a.grad).all())


# ------------------------------------------------------------------------------ sampling
def _dists(dtype=edunn.float32, device="cpu"):
    t = lambda v: edunn.tensor(v, dtype=dtype, device=device)  # noqa: E731
    return {
        "Gamma": D.Gamma(t([0.3, 1.0, 4.0, 50.0]), t([1.0, 2.0, 0.5, 5.0])),
        "Chi2": D.Chi2(t([1.0, 3.0, 10.0, 0.5])),
        "Beta": D.Beta(t([0.5, 2.0, 8.0, 1.0]), t([0.5, 5.0, 8.0, 0.2])),
        "Dirichlet": D.Dirichlet(t([[0.5, 1.0, 2.0], [10.0, 3.0, 1.0]])),
        "StudentT": D.StudentT(t([5.0, 10.0, 30.0, 8.0]), t([0.0, 1.0, -2.0, 3.0]), t([1.0, 0.5, 2.0, 1.5])),
        "FisherSnedecor": D.FisherSnedecor(t([3.0, 10.0, 6.0, 20.0]), t([9.0, 12.0, 30.0, 15.0])),
        "InverseGamma": D.InverseGamma(t([6.5, 7.0, 8.0, 9.5]), t([1.0, 2.0, 0.5, 3.0])),
        "NegativeBinomial": D.NegativeBinomial(t([3.0, 1.0, 10.0, 0.5]), t([0.3, 0.7, 0.5, 0.2])),
    }


NAMES = list(_dists())
N = 40000


@pytest.mark.parametrize("name", NAMES)
def test_sample_shapes_support_and_dtype(name, device):
    d = _dists(device=device)[name]
    for sample_shape in [(), (3,), (2, 5)]:
        s = d.sample(sample_shape)
        assert tuple(s.shape) == tuple(sample_shape) + tuple(d.batch_shape) + tuple(d.event_shape)
        assert s.dtype == edunn.float32 and s.device.type == device and not s.requires_grad
        assert bool(edunn.all(d.support.check(s))), f"{name} sample outside {d.support}"
    e = d.expand((3,) + tuple(d.batch_shape))
    assert type(e) is type(d) and tuple(e.sample((2,)).shape) == (2, 3) + tuple(d.batch_shape) + tuple(d.event_shape)
    assert d.has_rsample == getattr(torch.distributions, name).has_rsample


@pytest.mark.parametrize("name", NAMES)
def test_sample_mean_and_variance(name):
    d = _dists(edunn.float64)[name]
    s = d.sample((N,)).numpy()
    mean, var = d.mean.numpy(), d.variance.numpy()
    se = np.sqrt(var / N)
    assert np.all(np.abs(s.mean(0) - mean) < 6 * se + 1e-3), (s.mean(0), mean)
    assert np.allclose(s.var(0), var, rtol=0.15), (s.var(0), var)


def test_same_seed_same_samples():
    d = _dists()["Gamma"]
    edunn.manual_seed(5)
    a = d.sample((4,))
    edunn.manual_seed(5)
    assert bool((d.sample((4,)) == a).all())


@pytest.mark.parametrize("name,params", [("Gamma", (0.3, 1.0)), ("Gamma", (4.0, 2.0)), ("Gamma", (60.0, 1.0)),
                                         ("Beta", (0.4, 0.7)), ("Beta", (3.0, 9.0)),
                                         ("InverseGamma", (2.5, 1.5))])
def test_kolmogorov_smirnov_against_torchs_cdf(name, params):
    """The empirical CDF of 20000 draws stays within 0.015 of torch's CDF (the 1% critical
    value of the KS statistic is about 0.0115)."""
    d = getattr(D, name)(*(edunn.tensor(p, dtype=edunn.float64) for p in params))
    s = np.sort(d.sample((20000,)).numpy())
    if name == "Beta":
        x = torch.tensor(s)
        cdf = torch.special.betainc(torch.tensor(params[0]), torch.tensor(params[1]), x) \
            if hasattr(torch.special, "betainc") else None
        if cdf is None:  # torch has no Beta CDF: integrate its density on a fine grid
            grid = np.linspace(0, 1, 200001)[1:-1]
            pdf = torch.distributions.Beta(*params).log_prob(torch.tensor(grid)).exp().numpy()
            cdf_grid = np.concatenate([[0], np.cumsum((pdf[1:] + pdf[:-1]) / 2 * np.diff(grid))])
            cdf = np.interp(s, grid, cdf_grid)
    else:
        cdf = getattr(torch.distributions, name)(*(torch.tensor(p, dtype=torch.float64) for p in params)).cdf(
            torch.tensor(s)).numpy()
    ecdf = np.arange(1, len(s) + 1) / len(s)
    assert np.max(np.abs(ecdf - np.asarray(cdf))) < 0.015


# ------------------------------------------------------------------------------ errors, reprs, API
def _msg(fn):
    with pytest.raises(Exception) as info:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            fn()
    return type(info.value), str(info.value).replace("torch.Size", "Size").replace("edunn.Size", "Size")


BAD = {
    "Gamma_concentration": lambda L, t: L.Gamma(t([1.0, -1.0]), t([1.0, 1.0]), validate_args=True),
    "Gamma_rate": lambda L, t: L.Gamma(t([1.0, 1.0]), t([0.0, 1.0]), validate_args=True),
    "Gamma_value": lambda L, t: L.Gamma(t([1.0]), t([1.0]), validate_args=True).log_prob(t([-1.0])),
    "Chi2_df": lambda L, t: L.Chi2(t([-1.0]), validate_args=True),
    "Beta_value": lambda L, t: L.Beta(t([1.0]), t([2.0]), validate_args=True).log_prob(t([1.5])),
    "Beta_param": lambda L, t: L.Beta(t([1.0]), t([-2.0]), validate_args=True),
    "Dirichlet_scalar": lambda L, t: L.Dirichlet(t(1.0)),
    "Dirichlet_param": lambda L, t: L.Dirichlet(t([1.0, -1.0]), validate_args=True),
    "Dirichlet_value": lambda L, t: L.Dirichlet(t([1.0, 2.0]), validate_args=True).log_prob(t([0.5, 0.6])),
    "StudentT_df": lambda L, t: L.StudentT(t([0.0]), validate_args=True),
    "FisherSnedecor_df": lambda L, t: L.FisherSnedecor(t([1.0]), t([-1.0]), validate_args=True),
    "InverseGamma_rate": lambda L, t: L.InverseGamma(t([1.0]), t([-1.0]), validate_args=True),
    "NegativeBinomial_both": lambda L, t: L.NegativeBinomial(t([1.0]), t([0.5]), t([0.5])),
    "NegativeBinomial_probs": lambda L, t: L.NegativeBinomial(t([1.0]), t([1.0]), validate_args=True),
    "NegativeBinomial_value": lambda L, t: L.NegativeBinomial(t([1.0]), t([0.5]), validate_args=True).log_prob(
        t([0.5])),
}


@pytest.mark.parametrize("name", list(BAD))
def test_validation_errors_as_torch(name):
    te, me = _msg(lambda: BAD[name](D, edunn.tensor))
    tt, mt = _msg(lambda: BAD[name](torch.distributions, torch.tensor))
    assert te is tt and me == mt, (me, mt)


REPRS = [
    lambda L, t: L.Gamma(t([1.0, 2.0]), t(3.0)),
    lambda L, t: L.Gamma(1.0, 2.0),
    lambda L, t: L.Chi2(t([3.0])),
    lambda L, t: L.Beta(2.0, 3.0),
    lambda L, t: L.Dirichlet(t([1.0, 2.0])),
    lambda L, t: L.StudentT(t(3.0)),
    lambda L, t: L.FisherSnedecor(t([1.0, 2.0]), t(3.0)),
    lambda L, t: L.InverseGamma(t([1.0]), t([3.0])),
    lambda L, t: L.NegativeBinomial(t([2.0]), logits=t([0.3])),
]


@pytest.mark.parametrize("i", range(len(REPRS)))
def test_repr_as_torch(i):
    ours = repr(REPRS[i](D, edunn.tensor)).replace("edunn.Size", "Size")
    theirs = repr(REPRS[i](torch.distributions, torch.tensor)).replace("torch.Size", "Size")
    assert ours == theirs


def test_properties_and_subclassing():
    assert issubclass(D.Gamma, D.ExponentialFamily) and issubclass(D.Chi2, D.Gamma)
    for name in ("Normal", "Bernoulli", "Exponential", "Poisson", "Beta", "Dirichlet", "Wishart"):
        assert issubclass(getattr(D, name), D.ExponentialFamily) == issubclass(
            getattr(torch.distributions, name), torch.distributions.ExponentialFamily)
    c = D.Chi2(edunn.tensor([3.0, 4.0]))
    assert_close(c.df, edunn.tensor([3.0, 4.0]))
    b = D.Beta(2.0, 3.0)
    assert b.concentration1.shape == () and b.batch_shape == ()
    assert math.isclose(b.concentration0.item(), 3.0)


def test_log_prob_gradcheck():
    a = edunn.tensor([0.7, 2.5], dtype=edunn.float64, requires_grad=True)
    r = edunn.tensor([1.3, 0.4], dtype=edunn.float64, requires_grad=True)
    x = edunn.tensor([0.4, 3.0], dtype=edunn.float64)
    assert edunn.autograd.gradcheck(lambda a, r: D.Gamma(a, r).log_prob(x), (a, r))
    assert edunn.autograd.gradcheck(lambda a, r: D.Beta(a, r).entropy(), (a, r))
    assert edunn.autograd.gradcheck(lambda a, r: D.StudentT(a, 0.0, r).log_prob(x), (a, r))
