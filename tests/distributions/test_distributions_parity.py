"""edunn.distributions against torch.distributions with the same parameters: every property and
method's values (float32 and float64), and gradients of log_prob, entropy, cdf and kl_divergence
with respect to the parameters."""
import numpy as np
import pytest

import edunn
from opcheck import assert_close, needs_torch, torch
from distribution_cases import CASES, KL_CASES

pytestmark = needs_torch

DTYPES = ["float32", "float64"]
TOL = {"float32": dict(atol=1e-4, rtol=1e-4), "float64": dict(atol=1e-10, rtol=1e-9)}


def _leaves(arrays, lib, dtype):
    if lib is edunn:
        return [edunn.tensor(a, dtype=getattr(edunn, dtype), requires_grad=True) for a in arrays]
    return [torch.tensor(a, dtype=getattr(torch, dtype), requires_grad=True) for a in arrays]


def _value(array, lib, dtype):
    if array.dtype.kind in "iu":
        return (edunn if lib is edunn else torch).tensor(array)
    return (edunn if lib is edunn else torch).tensor(array, dtype=getattr(edunn if lib is edunn else torch, dtype))


def _both(case, dtype):
    name, make, leaves, value, icdf_value = case
    le, lt = _leaves(leaves, edunn, dtype), _leaves(leaves, torch, dtype)
    return make(edunn, *le), make(torch, *lt), le, lt


def _call(dist, what, arg):
    """``(result, None)`` or ``(None, NotImplementedError)``."""
    try:
        if what in ("log_prob", "cdf", "icdf"):
            return getattr(dist, what)(arg), None
        if what == "entropy":
            return dist.entropy(), None
        return getattr(dist, what), None
    except NotImplementedError as e:
        return None, e


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("what", ["log_prob", "cdf", "icdf", "entropy", "mean", "mode", "variance", "stddev"])
def test_values_and_grads(case, dtype, what):
    de, dt, le, lt = _both(case, dtype)
    arr = case[4] if what == "icdf" else case[3]
    if arr is None:  # a discrete distribution: torch has no cdf/icdf
        arr = case[3]
    ve, vt = _value(arr, edunn, dtype), _value(arr, torch, dtype)
    out_t, err_t = _call(dt, what, vt)
    if err_t is not None:
        out_e, err_e = _call(de, what, ve)
        assert isinstance(err_e, NotImplementedError), f"torch raises NotImplementedError, edunn gives {out_e}"
        return
    out_e, err_e = _call(de, what, ve)
    assert err_e is None, f"{case[0]}.{what} raised {err_e!r}, torch gives {out_t}"
    assert out_e.dtype == getattr(edunn, str(out_t.dtype).split(".")[-1]), f"{out_e.dtype} vs {out_t.dtype}"
    assert tuple(out_e.shape) == tuple(out_t.shape)
    assert_close(out_e, out_t, what=f"{case[0]}.{what}", **TOL[dtype])
    if out_t.requires_grad and out_t.dtype.is_floating_point:
        mask = torch.isfinite(out_t)
        w = np.random.RandomState(1).normal(size=tuple(out_t.shape)) * mask.numpy()
        (out_t.masked_fill(~mask, 0) * torch.tensor(w, dtype=out_t.dtype)).sum().backward()
        fin = edunn.tensor(mask.numpy())
        (edunn.where(fin, out_e, 0.0) * edunn.tensor(w, dtype=out_e.dtype)).sum().backward()
        for i, (a, b) in enumerate(zip(le, lt)):
            if b.grad is None:
                continue
            assert a.grad is not None, f"{case[0]}.{what}: no gradient for parameter {i}"
            assert_close(a.grad, b.grad, what=f"{case[0]}.{what} d/dparam{i}", **TOL[dtype])


@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("case", KL_CASES, ids=[c[0] for c in KL_CASES])
def test_kl_divergence(case, dtype):
    name, make_p, make_q, leaves_p, leaves_q = case
    lpe, lqe = _leaves(leaves_p, edunn, dtype), _leaves(leaves_q, edunn, dtype)
    lpt, lqt = _leaves(leaves_p, torch, dtype), _leaves(leaves_q, torch, dtype)
    ke = edunn.distributions.kl_divergence(make_p(edunn, *lpe), make_q(edunn, *lqe))
    kt = torch.distributions.kl_divergence(make_p(torch, *lpt), make_q(torch, *lqt))
    assert ke.dtype == getattr(edunn, dtype)
    assert_close(ke, kt, what=f"KL {name}", **TOL[dtype])
    mask = torch.isfinite(kt)
    kt.masked_fill(~mask, 0).sum().backward()
    edunn.where(edunn.tensor(mask.numpy()), ke, 0.0).sum().backward()
    for a, b in zip(lpe + lqe, lpt + lqt):
        if b.grad is not None:
            assert_close(a.grad, b.grad, what=f"KL {name} grad", **TOL[dtype])


def test_kl_infinite_cases():
    D, T = edunn.distributions, torch.distributions
    pairs = [(lambda L: L.Uniform(0.0, 2.0), lambda L: L.Uniform(0.5, 3.0)),
             (lambda L: L.Bernoulli(L_t(L, [0.5, 0.0])), lambda L: L.Bernoulli(L_t(L, [0.0, 0.3]))),
             (lambda L: L.Categorical(L_t(L, [0.5, 0.5, 0.0])), lambda L: L.Categorical(L_t(L, [0.0, 0.5, 0.5])))]
    for mp, mq in pairs:
        assert_close(D.kl_divergence(mp(D), mq(D)), T.kl_divergence(mp(T), mq(T)))


def L_t(L, values):
    return (edunn if L is edunn.distributions else torch).tensor(values)


def test_kl_unregistered_pair_and_register():
    D = edunn.distributions
    with pytest.raises(NotImplementedError, match="No KL\\(p \\|\\| q\\) is implemented for p type Cauchy and q type Normal"):
        D.kl_divergence(D.Cauchy(0.0, 1.0), D.Normal(0.0, 1.0))  # torch registers no such pair either
    with pytest.raises(TypeError, match="Expected type_p to be a Distribution subclass"):
        D.register_kl(int, D.Normal)

    class MyNormal(D.Normal):
        pass

    # a subclass dispatches to its parent's pair until it registers its own
    assert_close(D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)), edunn.tensor(0.5))

    @D.register_kl(MyNormal, D.Normal)
    def _kl(p, q):
        return edunn.tensor(42.0)
    assert D.kl_divergence(MyNormal(0.0, 1.0), D.Normal(1.0, 1.0)).item() == 42.0
    assert D.kl_divergence(D.Normal(0.0, 1.0), D.Normal(1.0, 1.0)).item() == 0.5
