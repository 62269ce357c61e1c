"""F.softmax, F.log_softmax, F.softmin and F.gumbel_softmax against PyTorch: values and gradients
over every dim, the dtype= argument, the implicit-dim warning, gradcheck and gradgradcheck of the
fused backwards, logits of +-1e4 and -inf, 0-d and empty inputs, errors, and the Gumbel trick's
statistics and straight-through gradient."""
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from tests.opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

pytestmark = pytest.mark.lesson06

TF = torch.nn.functional if torch is not None else None


def _spec(name, dim, shape=(3, 4, 5), **kw):
    return OpSpec(f"{name}(dim={dim}){shape}", lambda x: getattr(F, name)(x, dim),
                  lambda x: getattr(TF, name)(x, dim), [shape], low=-4, high=4, gradgrad=True,
                  lesson=6, **kw)


SPECS = [_spec(n, d) for n in ("softmax", "log_softmax", "softmin") for d in (0, 1, 2, -1)]
SPECS += [_spec("softmax", 0, (7,)), _spec("log_softmax", -1, (2, 3, 2, 3)),
          _spec("softmax", 1, (2, 3, 2, 3), dtype="float64", atol=1e-10, rtol=1e-10),
          _spec("log_softmax", 0, (), ), _spec("softmax", -1, ())]

test_parity, test_gradcheck = spec_tests(SPECS, lesson=6)


@needs_torch
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_dtype_argument_casts_first(name):
    x = np.random.default_rng(0).uniform(-3, 3, (4, 6)).astype(np.float16)
    ours = getattr(F, name)(edunn.tensor(x, requires_grad=True), 1, dtype=edunn.float32)
    ref = getattr(TF, name)(torch.tensor(x, requires_grad=True), 1, dtype=torch.float32)
    assert ours.dtype == edunn.float32
    assert_close(ours, ref, 1e-5, 1e-4)
    ints = np.arange(6).reshape(2, 3)
    ours = getattr(F, name)(edunn.tensor(ints), -1, dtype=edunn.float64)
    ref = getattr(TF, name)(torch.tensor(ints), -1, dtype=torch.float64)
    assert ours.dtype == edunn.float64
    assert_close(ours, ref, 1e-12, 1e-12)


@needs_torch
def test_dtype_argument_gradient_reaches_half_input():
    x = np.random.default_rng(1).uniform(-2, 2, (3, 5)).astype(np.float16)
    a, b = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    g = np.random.default_rng(2).standard_normal((3, 5)).astype(np.float32)
    F.log_softmax(a, 1, dtype=edunn.float32).backward(edunn.tensor(g))
    TF.log_softmax(b, 1, dtype=torch.float32).backward(torch.tensor(g))
    assert a.grad.dtype == edunn.float16
    assert_close(a.grad, b.grad, 2e-3, 2e-3)


@needs_torch
@pytest.mark.parametrize("ndim", [0, 1, 2, 3, 4])
@pytest.mark.parametrize("name", ["softmax", "log_softmax", "softmin"])
def test_implicit_dim_warns_and_picks_torchs_dim(name, ndim):
    x = np.random.default_rng(ndim).standard_normal((2, 3, 4, 5)[:ndim])
    with pytest.warns(UserWarning, match=f"Implicit dimension choice for {name} has been deprecated"):
        ours = getattr(F, name)(edunn.tensor(x))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ref = getattr(TF, name)(torch.tensor(x))
    assert_close(ours, ref, 1e-12, 1e-12)


def test_implicit_dim_warning_points_at_the_caller():
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        F.softmax(edunn.ones(2, 3))
    assert caught[0].filename == __file__


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
def test_extreme_logits_rows_sum_to_one(dtype):
    x = np.array([[1e4, -1e4, 0.0, 1e4 - 1], [-1e4, -1e4, -1e4, -1e4], [1e4, 1e4, 1e4, -1e4]], dtype)
    for name in ("softmax", "log_softmax", "softmin"):
        a, b = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
        ours, ref = getattr(F, name)(a, 1), getattr(TF, name)(b, 1)
        assert np.isfinite(ours.detach().numpy()).all()
        assert_close(ours, ref, 1e-6, 1e-6, name)
        g = np.linspace(-1, 1, x.size).reshape(x.shape).astype(dtype)
        ours.backward(edunn.tensor(g))
        ref.backward(torch.tensor(g))
        assert np.isfinite(a.grad.numpy()).all()
        assert_close(a.grad, b.grad, 1e-5, 1e-5, name + " grad")
    s = F.softmax(edunn.tensor(x), 1).numpy()
    np.testing.assert_allclose(s.sum(1), 1, rtol=1e-6)


@needs_torch
def test_infinite_logits_as_torch():
    inf = float("inf")
    x = [[-inf, 1.0, 2.0], [-inf, -inf, -inf], [inf, 1.0, 0.0]]
    for name in ("softmax", "log_softmax"):
        ours = getattr(F, name)(edunn.tensor(x), 1).numpy()
        ref = getattr(TF, name)(torch.tensor(x), 1).numpy()
        np.testing.assert_array_equal(np.isnan(ours), np.isnan(ref))
        np.testing.assert_allclose(ours[0], ref[0], rtol=1e-6)


def test_float16_softmax_sums_to_one():
    x = edunn.tensor(np.linspace(-8, 8, 30).reshape(3, 10), dtype=edunn.float16)
    y = F.softmax(x, 1)
    assert y.dtype == edunn.float16
    np.testing.assert_allclose(y.float().sum(1).numpy(), 1, atol=3e-3)


def test_empty_and_scalar_inputs():
    assert F.softmax(edunn.zeros(2, 0), 1).shape == (2, 0)
    assert F.log_softmax(edunn.zeros(0, 3), 1).shape == (0, 3)
    x = edunn.tensor(3.0, requires_grad=True)
    y = F.softmax(x, 0)
    assert y.item() == 1.0 and F.log_softmax(x, -1).item() == 0.0
    y.backward()
    assert x.grad.item() == 0.0


def test_errors():
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\], but got 2\)"):
        F.softmax(edunn.ones(2, 3), 2)
    with pytest.raises(IndexError, match="but got -3"):
        F.log_softmax(edunn.ones(2, 3), -3)
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        F.softmax(edunn.tensor([1, 2]), 0)
    with pytest.raises(TypeError, match="must be Tensor, not list"):
        F.softmax([1.0, 2.0], 0)


def test_double_backward_of_log_softmax_is_the_softmax_jacobian():
    # d/dx sum(w * d log_softmax / dx . g): compare the Hessian-vector product with an explicit one
    rng = np.random.default_rng(3)
    x0, g0, v0 = rng.standard_normal(5), rng.standard_normal(5), rng.standard_normal(5)
    x = edunn.tensor(x0, requires_grad=True)
    y = F.log_softmax(x, 0)
    (gx,) = edunn.autograd.grad(y, x, edunn.tensor(g0), create_graph=True)
    (hv,) = edunn.autograd.grad(gx, x, edunn.tensor(v0))
    p = np.exp(x0 - x0.max())
    p /= p.sum()
    jac_softmax = np.diag(p) - np.outer(p, p)
    # gx = g - p * sum(g)  =>  d gx / dx = -sum(g) * J_softmax
    np.testing.assert_allclose(hv.numpy(), -g0.sum() * jac_softmax.T @ v0, atol=1e-12)


# -------------------------------------------------------------------------------- gumbel_softmax
def test_gumbel_softmax_soft_rows_sum_to_one_and_are_reproducible():
    logits = edunn.randn(6, 5)
    edunn.manual_seed(7)
    a = F.gumbel_softmax(logits, tau=0.5)
    edunn.manual_seed(7)
    b = F.gumbel_softmax(logits, tau=0.5)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_allclose(a.numpy().sum(-1), 1, rtol=1e-6)
    assert (a.numpy() > 0).all()
    c = F.gumbel_softmax(logits, dim=0)
    np.testing.assert_allclose(c.numpy().sum(0), 1, rtol=1e-6)


def test_gumbel_max_frequencies_follow_softmax():
    # argmax(logits + Gumbel) ~ Categorical(softmax(logits)): the Gumbel-max trick
    probs = np.array([0.5, 0.3, 0.15, 0.05])
    n = 40000
    logits = edunn.tensor(np.log(probs), dtype=edunn.float64).expand(n, 4)
    y = F.gumbel_softmax(logits, tau=1.0, hard=True)
    freq = y.numpy().mean(0)
    assert (np.abs(freq - probs) < 4 * np.sqrt(probs * (1 - probs) / n)).all(), (freq, probs)


def test_gumbel_softmax_hard_is_one_hot_with_straight_through_gradient():
    rng = np.random.default_rng(4)
    x = rng.standard_normal((5, 7))
    g = rng.standard_normal((5, 7))
    a = edunn.tensor(x, requires_grad=True)
    edunn.manual_seed(3)
    hard = F.gumbel_softmax(a, tau=0.7, hard=True)
    h = hard.detach().numpy()
    assert set(np.unique(h)) <= {0.0, 1.0}
    np.testing.assert_array_equal(h.sum(-1), 1)
    hard.backward(edunn.tensor(g))
    b = edunn.tensor(x, requires_grad=True)
    edunn.manual_seed(3)
    soft = F.gumbel_softmax(b, tau=0.7, hard=False)
    np.testing.assert_array_equal(h.argmax(-1), soft.detach().numpy().argmax(-1))
    soft.backward(edunn.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=1e-12)


def test_gumbel_softmax_eps_is_deprecated():
    with pytest.warns(UserWarning, match="`eps` parameter is deprecated and has no effect."):
        F.gumbel_softmax(edunn.randn(2, 3), eps=1e-3)
