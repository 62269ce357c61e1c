"""``addr``, ``nuclear_norm``, ``frobenius_norm``, ``frombuffer``, ``from_dlpack``/``to_dlpack``,
``range``, ``poisson`` and ``binomial`` compared with PyTorch (values, dtypes, gradients, errors;
the samplers by their moments, since the generators differ)."""
from __future__ import annotations

import warnings

import numpy as np
import pytest

import edunn
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch

R = np.random.default_rng(3)


# ---- addr ------------------------------------------------------------------------------------
@pytest.mark.parametrize("shape,beta,alpha", [((3, 4), 1, 1), ((4,), 0.5, 2.0), ((3, 1), 0, -1.5), ((), 2, 1)])
def test_addr_matches_torch(shape, beta, alpha, device):
    m, v1, v2 = R.standard_normal(shape), R.standard_normal(3), R.standard_normal(4)
    r = edunn.addr(*(edunn.tensor(a, device=device) for a in (m, v1, v2)), beta=beta, alpha=alpha)
    tr = torch.addr(*(torch.tensor(a) for a in (m, v1, v2)), beta=beta, alpha=alpha)
    assert r.dtype == edunn.float64 and tuple(r.shape) == tuple(tr.shape)
    assert_close(r, tr, atol=1e-12)
    xs = [edunn.tensor(a, requires_grad=True) for a in (m, v1, v2)]
    assert edunn.autograd.gradcheck(lambda a, b, c: edunn.addr(a, b, c, beta=beta, alpha=alpha), xs)
    assert edunn.autograd.gradgradcheck(lambda a, b, c: edunn.addr(a, b, c, beta=beta, alpha=alpha), xs)


def test_addr_beta_zero_ignores_nan_and_errors():
    nan = edunn.full((2, 2), float("nan"))
    r = edunn.addr(nan, edunn.ones(2), edunn.ones(2), beta=0)
    assert_close(r, torch.addr(torch.full((2, 2), float("nan")), torch.ones(2), torch.ones(2), beta=0))
    ints = edunn.addr(edunn.ones(2, 3, dtype=edunn.int64), edunn.tensor([1, 2]), edunn.tensor([1, 2, 3]), alpha=2)
    assert ints.dtype == edunn.int64
    assert_close(ints, torch.addr(torch.ones(2, 3, dtype=torch.int64), torch.tensor([1, 2]), torch.tensor([1, 2, 3]),
                                  alpha=2))
    with pytest.raises(RuntimeError, match="Expected 1-D argument vec1, but got 2-D"):
        edunn.addr(edunn.ones(2, 3), edunn.ones(2, 2), edunn.ones(3))
    with pytest.raises(RuntimeError, match="alpha must not be a floating point number"):
        edunn.addr(edunn.ones(2, 3, dtype=edunn.int64), edunn.tensor([1, 2]), edunn.tensor([1, 2, 3]), alpha=0.5)
    with pytest.raises(RuntimeError, match="must match"):
        edunn.addr(edunn.ones(3, 2), edunn.ones(2), edunn.ones(3))
    out = edunn.empty(2, 3)
    assert edunn.addr(edunn.zeros(2, 3), edunn.ones(2), edunn.ones(3), out=out) is out


# ---- deprecated norms ------------------------------------------------------------------------
def test_nuclear_and_frobenius_norm():
    a = R.standard_normal((2, 3, 4))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for args in [(), ([0, 2],), ([1, 2], True), (True,)]:
            assert_close(edunn.nuclear_norm(edunn.tensor(a), *args), torch.nuclear_norm(torch.tensor(a), *args),
                         atol=1e-10)
        for args in [([0, 2],), ([1],), ((2,), True)]:
            assert_close(edunn.frobenius_norm(edunn.tensor(a), *args), torch.frobenius_norm(torch.tensor(a), *args),
                         atol=1e-10)
        with pytest.raises(RuntimeError, match="Expected at most 2 dimensions, but got 3"):
            edunn.frobenius_norm(edunn.tensor(a), [0, 1, 2])
        x = edunn.tensor(a[0], requires_grad=True)
        assert edunn.autograd.gradcheck(lambda t: edunn.nuclear_norm(t), (x,))
        assert edunn.autograd.gradcheck(lambda t: edunn.frobenius_norm(t, [0, 1]), (x,))
    with pytest.warns(UserWarning, match="nuclear_norm is deprecated"):
        edunn.nuclear_norm(edunn.ones(2, 2))
    with pytest.warns(UserWarning, match="frobenius_norm is deprecated"):
        edunn.frobenius_norm(edunn.ones(2, 2), [0])


# ---- frombuffer / dlpack / range --------------------------------------------------------------
def test_frombuffer_matches_torch_and_shares_memory():
    raw = np.arange(6, dtype=np.int32).tobytes()
    for kw in [{}, {"count": 2, "offset": 8}, {"offset": 4}]:
        r = edunn.frombuffer(bytearray(raw), dtype=edunn.int32, **kw)
        assert r.dtype == edunn.int32
        assert r.tolist() == torch.frombuffer(bytearray(raw), dtype=torch.int32, **kw).tolist()
    buf = bytearray(raw)
    t = edunn.frombuffer(buf, dtype=edunn.int32)
    t[0] = 9
    assert buf[0] == 9
    assert edunn.frombuffer(bytearray(raw), dtype=edunn.float32, requires_grad=True).requires_grad
    for kw, msg in [({"offset": 40}, "must be non-negative and no greater than buffer length"),
                    ({"count": 9}, "must not be greater than actual buffer length"),
                    ({"count": 0}, "must not be 0"), ({"offset": 2}, "must be a multiple of element size")]:
        with pytest.raises(ValueError, match=msg):
            edunn.frombuffer(bytearray(raw), dtype=edunn.int32, **kw)
        with pytest.raises(ValueError, match=msg):
            torch.frombuffer(bytearray(raw), dtype=torch.int32, **kw)
    with pytest.raises(ValueError, match="buffer protocol"):
        edunn.frombuffer([1, 2], dtype=edunn.int32)


def test_dlpack_round_trips():
    a = np.arange(6.0).reshape(2, 3)
    t = edunn.from_dlpack(a)
    a[0, 0] = 42.0
    assert t.shape == (2, 3) and t.dtype == edunn.float64 and t[0, 0].item() == 42.0  # shared memory
    src = torch.arange(5, dtype=torch.int32)
    e = edunn.from_dlpack(src)
    assert e.tolist() == src.tolist() and e.dtype == edunn.int32
    back = torch.from_dlpack(edunn.to_dlpack(e))
    assert back.tolist() == src.tolist()
    assert edunn.from_dlpack(edunn.to_dlpack(edunn.ones(3))).tolist() == [1.0, 1.0, 1.0]
    c = edunn.from_dlpack(a, copy=True)
    a[0, 0] = 0.0
    assert c[0, 0].item() == 42.0
    x = edunn.ones(2)
    assert edunn.from_dlpack(x) is x
    # torch.to_dlpack exports a tensor that requires grad (its values); __dlpack__ refuses it
    assert edunn.from_dlpack(edunn.to_dlpack(edunn.ones(2, requires_grad=True))).tolist() == [1.0, 1.0]
    with pytest.raises(TypeError, match="__dlpack__"):
        edunn.from_dlpack([1, 2])


@pytest.mark.parametrize("args,kw", [((1, 4), {}), ((0, 1, 0.3), {}), ((5, 1, -2), {}), ((1, 4), {"dtype": "int64"}),
                                     ((-1.5, 2.5, 0.5), {"dtype": "float64"})])
def test_range_matches_torch(args, kw):
    ekw = {k: getattr(edunn, v) for k, v in kw.items()}
    tkw = {k: getattr(torch, v) for k, v in kw.items()}
    with pytest.warns(UserWarning, match="torch.range is deprecated"):
        r = edunn.range(*args, **ekw)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        tr = torch.range(*args, **tkw)
    assert str(r.dtype).split(".")[-1] == str(tr.dtype).split(".")[-1]
    assert_close(r, tr, atol=1e-6)


def test_range_errors():
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(RuntimeError, match="step must be nonzero"):
            edunn.range(1, 4, 0)
        with pytest.raises(RuntimeError, match="upper bound and lower bound inconsistent with step sign"):
            edunn.range(4, 1)
        assert edunn.range(0, 2, requires_grad=True).requires_grad
        with pytest.raises(TypeError, match='missing 1 required positional arguments: "end"'):
            edunn.range(3)


# ---- poisson / binomial ------------------------------------------------------------------------
def test_poisson_moments_generator_and_grad(device):
    rate = edunn.tensor([0.0, 0.5, 3.0, 40.0], device=device).expand(20000, 4)
    k = edunn.poisson(rate)
    assert k.dtype == edunn.float32 and k.shape == rate.shape
    assert_close(k.mean(0), [0.0, 0.5, 3.0, 40.0], rtol=0.03, atol=0.02)
    assert_close(k.var(0), [0.0, 0.5, 3.0, 40.0], rtol=0.08, atol=0.02)
    g1, g2 = edunn.Generator(device).manual_seed(5), edunn.Generator(device).manual_seed(5)
    assert edunn.equal(edunn.poisson(rate[:5], g1), edunn.poisson(rate[:5], g2))
    r = edunn.tensor([1.0, 2.0], dtype=edunn.float64, requires_grad=True)
    edunn.poisson(r).sum().backward()
    tr = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    torch.poisson(tr).sum().backward()
    assert_close(r.grad, tr.grad)
    with pytest.raises(RuntimeError, match="rate to be non-negative"):
        edunn.poisson(edunn.tensor([-1.0]))
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        edunn.poisson(edunn.tensor([1, 2]))


def test_binomial_moments_and_errors():
    n = edunn.tensor([10.0, 4.0, 7.0, -3.0]).expand(20000, 4)
    p = edunn.tensor([0.3, 1.5, 0.0, 0.5]).expand(20000, 4)
    k = edunn.binomial(n, p, generator=edunn.Generator().manual_seed(1))
    tk = torch.binomial(torch.tensor([10.0, 4.0, 7.0, -3.0]).expand(20000, 4),
                        torch.tensor([0.3, 1.5, 0.0, 0.5]).expand(20000, 4))
    assert k.dtype == edunn.float32
    assert_close(k.mean(0), tk.mean(0), atol=0.06)
    assert_close(k.var(0), tk.var(0), atol=0.1, rtol=0.08)
    with pytest.raises(ValueError, match="floating-point dtypes for count, got: Long"):
        edunn.binomial(edunn.tensor([5]), edunn.tensor([0.5]))
    with pytest.raises(RuntimeError, match="Found dtype Double but expected Float"):
        edunn.binomial(edunn.tensor([5.0]), edunn.tensor([0.5], dtype=edunn.float64))
