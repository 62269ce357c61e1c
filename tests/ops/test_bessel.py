"""Bessel and Airy functions (edunn/ops/bessel.py) against PyTorch, the specification: values,
dtypes and gradients on every device (OpSpec rows), float64 sweeps over wide ranges with tight
tolerances, the special values (0, -0, +-inf, NaN, subnormals, overflow), every input dtype, PyTorch's
gradients at their edges, and the functions PyTorch gives no derivative."""
import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, to_numpy, torch
from _torch_errors import same_error

pytestmark = pytest.mark.lesson01

DIFFERENTIABLE = ["i0", "i0e", "i1", "i1e"]
NO_DERIVATIVE = ["bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "modified_bessel_i0",
                 "modified_bessel_i1", "modified_bessel_k0", "modified_bessel_k1",
                 "scaled_modified_bessel_k0", "scaled_modified_bessel_k1", "spherical_bessel_j0",
                 "airy_ai"]
NAMES = DIFFERENTIABLE + NO_DERIVATIVE
OSCILLATING = {"bessel_j0", "bessel_j1", "bessel_y0", "bessel_y1", "spherical_bessel_j0", "airy_ai"}


def ours(name):
    return getattr(edunn.special, name)


def theirs(name):
    return getattr(torch.special, name)


def _scale(name, x):
    """The size of an oscillating function around x (its envelope): near its zeros an error is
    measured against this, as relative error there only measures the cancellation."""
    ax = np.abs(x)
    with np.errstate(divide="ignore"):
        if name == "airy_ai":
            return np.where(x < 0, np.minimum(1.0, ax ** -0.25), 0.0)
        if name == "spherical_bessel_j0":
            return np.minimum(1.0, 1 / ax)
        if name in OSCILLATING:
            return np.minimum(1.0, np.sqrt(2 / (np.pi * ax)))
    return np.zeros_like(x)


# ---------------------------------------------------------------------------------------- OpSpec rows
def _row(name, low, high, **kw):
    return OpSpec(name, lambda a: ours(name)(a), lambda a: theirs(name)(a), [(4, 5)], low=low, high=high,
                  grad=name in DIFFERENTIABLE, gradgrad=name in DIFFERENTIABLE, lesson=1, **kw)


# ranges that cross each function's branch points (8 for I, 5 for J/Y, 2 for K, +-2.09 for Ai)
SPECS = [
    _row("i0", -10, 10), _row("i0e", -10, 10), _row("i1", -10, 10), _row("i1e", -10, 10),
    OpSpec("torch.i0", lambda a: edunn.i0(a), lambda a: torch.i0(a), [(3, 4)], low=-9, high=9,
           gradgrad=True, lesson=1),
    _row("bessel_j0", -8, 8), _row("bessel_j1", -8, 8), _row("bessel_y0", 0.2, 8), _row("bessel_y1", 0.2, 8),
    _row("modified_bessel_i0", -10, 10), _row("modified_bessel_i1", -10, 10),
    _row("modified_bessel_k0", 0.1, 4), _row("modified_bessel_k1", 0.1, 4),
    _row("scaled_modified_bessel_k0", 0.1, 4), _row("scaled_modified_bessel_k1", 0.1, 4),
    _row("spherical_bessel_j0", -6, 6), _row("airy_ai", -4, 4),
]
test_parity, test_gradcheck = spec_tests(SPECS, lesson=1, gradcheck=[s for s in SPECS if s.grad])


# ---------------------------------------------------------------------------------------- float64 sweeps
def _sweep():
    near = [p + s * np.linspace(-1e-3, 1e-3, 201) for p in (2.0, 2.09, 5.0, 8.0) for s in (1, -1)]
    return np.unique(np.concatenate([
        np.linspace(-40, 40, 16001),                      # every branch and the first zeros
        *near,                                            # both sides of each branch point
        np.geomspace(1e-12, 1e4, 3001), -np.geomspace(1e-12, 1e4, 3001),
        [1e-300, 1e-5, 9.99999e-6, 1.00001e-5, 100, 103.89, 103.9, 500, 700, 709, 709.7, 710, 713,
         1e5, 1e6, 1e8],
    ]))


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_float64_sweep(name, device):
    """|edunn - torch| <= 2e-14 |torch| + 1e-14 envelope, NaN and infinities where torch has them.
    (Measured on the CPU: at most 2.3e-15 |torch| + 2.3e-15 envelope.  CUDA's exp, log, sin and cos
    and its fused multiply-adds may each differ by an ulp: 1e-13 there.)"""
    x = _sweep()
    expected = theirs(name)(torch.tensor(x)).numpy()
    got = to_numpy(ours(name)(edunn.tensor(x, device=device)))
    assert got.dtype == np.float64
    np.testing.assert_array_equal(np.isnan(got), np.isnan(expected), err_msg=f"{name}: NaN positions")
    inf = np.isinf(expected)
    np.testing.assert_array_equal(got[inf], expected[inf], err_msg=f"{name}: infinities")
    fin = np.isfinite(expected)
    err = np.abs(got[fin] - expected[fin])
    rtol = 2e-14 if device == "cpu" else 1e-13
    bound = rtol * np.abs(expected[fin]) + 1e-14 * _scale(name, x[fin])
    worst = np.argmax(err - bound)
    assert np.all(err <= bound), (f"{name}: at x = {x[fin][worst]!r} edunn gives {got[fin][worst]!r}, "
                                  f"torch {expected[fin][worst]!r}")


EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e-310, -1e-310, 1e-300,
                  1e-5, 0.5, -0.5, 2.0, -2.0, 2.09, -2.09, 5.0, -5.0, 8.0, -8.0, 103.892, 103.9,
                  700.0, 709.78, 709.8, 710.0, 713.0, 714.0, 750.0, -710.0, -750.0, 1e300, -1e300])


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_special_values(name, device):
    """0, -0, +-inf, NaN, subnormals, overflow: the same values as torch, signed zeros included."""
    expected = theirs(name)(torch.tensor(EDGES)).numpy()
    got = to_numpy(ours(name)(edunn.tensor(EDGES, device=device)))
    np.testing.assert_allclose(got, expected, rtol=1e-13, atol=0, equal_nan=True, err_msg=name)
    zero = expected == 0
    np.testing.assert_array_equal(np.signbit(got[zero]), np.signbit(expected[zero]),
                                  err_msg=f"{name}: signs of the zeros at {EDGES[zero]}")


# ---------------------------------------------------------------------------------------- dtypes
@needs_torch
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("dtype", ["int64", "int32", "uint8", "bool"])
def test_integer_inputs_give_float32(name, dtype, device):
    values = np.array([0, 1, 2, 3, 5, 9, 40]) if dtype != "bool" else np.array([False, True])
    expected = theirs(name)(torch.tensor(values.astype(dtype)))
    got = ours(name)(edunn.tensor(values.astype(dtype), device=device))
    assert got.dtype == edunn.float32 and expected.dtype == torch.float32
    # torch's float32 kernel is float32 throughout (J0(40) is off by 3e-5): compare with float64
    exact = theirs(name)(torch.tensor(values.astype(np.float64))).float()
    assert_close(got, exact, atol=0, rtol=1.2e-7, what=name)


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_float32_is_float64_rounded_once(name, device):
    """float32 is computed in float64: the result is torch's float64 value at the same float32
    input, rounded to float32 (within one float32 ulp; near 0 within one ulp of the envelope)."""
    x32 = np.concatenate([np.linspace(-30, 30, 6001), [0.0, 1e-30, 88.0]]).astype(np.float32)
    exact = theirs(name)(torch.tensor(x32.astype(np.float64))).numpy()
    got = to_numpy(ours(name)(edunn.tensor(x32, device=device)))
    assert got.dtype == np.float32
    fin = np.isfinite(exact)
    np.testing.assert_array_equal(got[~fin], exact[~fin].astype(np.float32), err_msg=name)  # NaN, inf
    err = np.abs(got[fin].astype(np.float64) - exact[fin])
    ulp = np.spacing(np.abs(exact[fin]).astype(np.float32)).astype(np.float64)
    assert np.all(err <= ulp + 1.2e-7 * _scale(name, x32[fin].astype(np.float64))), name


@needs_torch
def test_float32_overflows_only_where_the_function_does(device):
    """Deliberately more accurate than torch, which computes float32 in float32: its i0/i1 are inf
    from x = 88.7 (where e^x overflows); edunn's are finite until I(x) itself leaves float32."""
    x = np.array([88.0, 89.0, 90.0, 91.5, 92.0, -91.5], np.float32)
    for name in ("i0", "i1", "modified_bessel_i0", "modified_bessel_i1"):
        exact = theirs(name)(torch.tensor(x.astype(np.float64))).float().numpy()
        got = to_numpy(ours(name)(edunn.tensor(x, device=device)))
        np.testing.assert_allclose(got, exact, rtol=2e-7, err_msg=name)
        assert np.isfinite(got[:4]).all() and np.isinf(got[4]) and np.isfinite(got[5])


def _half(dtype, device):
    if dtype == "bfloat16" and device != "cpu":
        pytest.skip("edunn keeps bfloat16 on the CPU (CuPy has no bfloat16)")
    return getattr(edunn, dtype)


@needs_torch
@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision(name, dtype, device):
    """i0/i0e/i1/i1e keep float16 and bfloat16 (torch computes them in float32); the inputs are
    exact in both, so only the one rounding of the result may differ (one ulp)."""
    x = np.arange(-96, 97) / 8.0  # up to 12: I0(12) = 18949 < float16's 65504
    expected = theirs(name)(torch.tensor(x).to(getattr(torch, dtype)))
    got = ours(name)(edunn.tensor(x, device=device).to(_half(dtype, device)))
    assert str(got.dtype) == f"edunn.{dtype}"
    rtol = 2 * (2.0 ** -10 if dtype == "float16" else 2.0 ** -7)
    assert_close(got.to(edunn.float64), expected.double(), atol=1e-7, rtol=rtol, what=name)


@needs_torch
@pytest.mark.parametrize("name", NO_DERIVATIVE)
@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_refused_as_torch(name, dtype, device):
    """PyTorch has no float16/bfloat16 kernel for these: the same NotImplementedError."""
    x = edunn.ones(3, device=device).to(_half(dtype, device))
    if device == "cpu":
        same_error(lambda: ours(name)(x), lambda: theirs(name)(torch.ones(3, dtype=getattr(torch, dtype))))
    with pytest.raises(NotImplementedError, match=f'"{name}_{x.device.type}" not implemented for'):
        ours(name)(x)


# ---------------------------------------------------------------------------------------- gradients
GRAD_EDGES = np.array([0.0, -0.0, 1e-300, -1e-300, 1e-17, 3e-16, -3e-16, 0.5, -1.0, 7.99, 8.0, 8.01,
                       -8.01, 20.0, -20.0, 700.0, 720.0, np.inf, -np.inf, np.nan])


@needs_torch
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")  # inf - inf at x = inf
@pytest.mark.parametrize("name", DIFFERENTIABLE)
@pytest.mark.parametrize("dtype", ["float64", "float32"])
def test_gradient_edges(name, dtype, device):
    """PyTorch's formulas: i0' = i1, i0e' = i1e - sgn(x) i0e, and i1' = i0 - i1/x,
    i1e' = i0e - i1e (sgn x + 1/x), both 1/2 where |x| <= eps (NaN included)."""
    x = GRAD_EDGES.astype(dtype)
    tx = torch.tensor(x, requires_grad=True)
    theirs(name)(tx).backward(torch.ones_like(tx))
    ex = edunn.tensor(x, device=device, requires_grad=True)
    ours(name)(ex).backward(edunn.ones(x.shape, dtype=ex.dtype, device=device))
    assert ex.grad.dtype == ex.dtype
    # float32: torch rounds i1e and i0e to float32 before i1e - i0e cancels (to 0.009 at x = 8)
    tol = dict(rtol=1e-12, atol=0) if dtype == "float64" else dict(rtol=1e-6, atol=3e-7)
    np.testing.assert_allclose(to_numpy(ex.grad), tx.grad.numpy(), equal_nan=True, err_msg=name, **tol)


@needs_torch
@pytest.mark.parametrize("name", DIFFERENTIABLE)
def test_second_derivative(name, device):
    x = np.array([-9.0, -3.0, -0.7, 0.4, 2.5, 7.9, 8.2, 15.0])
    tx = torch.tensor(x, requires_grad=True)
    g, = torch.autograd.grad(theirs(name)(tx).sum(), tx, create_graph=True)
    gg, = torch.autograd.grad(g.sum(), tx)
    ex = edunn.tensor(x, device=device, requires_grad=True)
    e_g, = edunn.autograd.grad(ours(name)(ex).sum(), ex, create_graph=True)
    e_gg, = edunn.autograd.grad(e_g.sum(), ex)
    assert_close(e_g, g, atol=0, rtol=1e-12, what=f"{name}'")
    assert_close(e_gg, gg, atol=0, rtol=1e-12, what=f"{name}''")


def test_derivatives_by_identity(device):
    """Independent of PyTorch: I0' = I1 and (x I1)' = x I0, by the ops' own gradients."""
    x = edunn.tensor(np.linspace(-12, 12, 97), device=device, requires_grad=True)
    g0, = edunn.autograd.grad(edunn.i0(x).sum(), x)
    assert_close(g0, edunn.special.i1(x.detach()), atol=0, rtol=1e-13)
    g1, = edunn.autograd.grad((x * edunn.special.i1(x)).sum(), x)
    assert_close(g1, x.detach() * edunn.i0(x.detach()), atol=1e-13, rtol=1e-13)


@needs_torch
@pytest.mark.parametrize("name", NO_DERIVATIVE)
def test_no_derivative(name, device):
    """As PyTorch (``non_differentiable`` in its derivatives.yaml): the result does not require
    grad, backward() from it raises autograd's error, and in y * x the factor y is a constant."""
    x = np.array([0.3, 1.7, 2.9, 6.0])
    tx = torch.tensor(x, requires_grad=True)
    ex = edunn.tensor(x, device=device, requires_grad=True)
    ty, ey = theirs(name)(tx), ours(name)(ex)
    assert ey.requires_grad is False and ey.grad_fn is None and ty.requires_grad is False
    same_error(lambda: ours(name)(ex).sum().backward(), lambda: theirs(name)(tx).sum().backward())
    (ty * tx).sum().backward()
    (ey * ex).sum().backward()
    assert_close(ex.grad, tx.grad, atol=0, rtol=1e-13, what=name)


# ---------------------------------------------------------------------------------------- out=, names
@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_out(name, device):
    x = np.array([0.25, 1.5, 3.0])
    out = edunn.empty(3, dtype=edunn.float64, device=device)
    res = ours(name)(edunn.tensor(x, device=device), out=out)
    assert res is out
    assert_close(out, theirs(name)(torch.tensor(x)), atol=0, rtol=1e-13, what=name)
    grad_x = edunn.tensor(x, device=device, requires_grad=True)
    if name in DIFFERENTIABLE:  # out= refuses autograd with torch's message, op name included
        same_error(lambda: ours(name)(grad_x, out=edunn.empty(3, dtype=edunn.float64)),
                   lambda: theirs(name)(torch.tensor(x, requires_grad=True), out=torch.empty(3, dtype=torch.float64)))
    else:  # nothing to differentiate: out= is fine
        assert_close(ours(name)(grad_x, out=out), theirs(name)(torch.tensor(x)), atol=0, rtol=1e-13)


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_shapes(name, device):
    for shape in [(), (0,), (2, 0, 3), (2, 3, 4)]:
        x = np.random.default_rng(0).uniform(0.1, 9, shape).astype(np.float32)
        got = ours(name)(edunn.tensor(x, device=device))
        assert got.shape == shape and got.dtype == edunn.float32
        exact = theirs(name)(torch.tensor(x.astype(np.float64))).float()
        assert_close(got, exact, atol=0, rtol=1.2e-7, what=name)


def test_namespaces():
    assert edunn.i0 is edunn.special.i0
    assert set(NAMES) <= set(edunn.special.__all__)
    assert_close(edunn.special.modified_bessel_i0(edunn.tensor([1.0, -9.0])),
                 edunn.i0(edunn.tensor([1.0, -9.0])), atol=0, rtol=1e-15)


def test_known_values():
    """A few values from Abramowitz & Stegun's tables (no PyTorch needed)."""
    S = edunn.special
    x = edunn.tensor([1.0], dtype=edunn.float64)
    table = {"i0": 1.266065877752008, "i1": 0.565159103992485, "bessel_j0": 0.765197686557967,
             "bessel_j1": 0.440050585744934, "bessel_y0": 0.088256964215677,
             "bessel_y1": -0.781212821300289, "modified_bessel_k0": 0.421024438240708,
             "modified_bessel_k1": 0.601907230197235, "airy_ai": 0.135292416312881,
             "spherical_bessel_j0": 0.841470984807897}
    for name, value in table.items():
        assert abs(getattr(S, name)(x).item() - value) < 1e-14, name
    assert abs(S.airy_ai(edunn.tensor([0.0], dtype=edunn.float64)).item() - 0.355028053887817) < 1e-14
    assert abs(S.bessel_j0(edunn.tensor([2.404825557695773], dtype=edunn.float64)).item()) < 1e-15
