"""The normal distribution's functions (edunn/ops/normal.py) against PyTorch, the specification:
values, dtypes and gradients on every device (OpSpec rows, with double backward), float64 sweeps
over wide ranges and the tails with tight tolerances, the special values (0, -0, +-inf, NaN,
outside the domain), integer and bool inputs, Python numbers in xlog1py, and PyTorch's errors.

Where edunn is deliberately more accurate than PyTorch (ndtr's lower tail), the test compares with
PyTorch in absolute terms and with Python's own ``math.erfc`` in relative terms."""
import math

import numpy as np
import pytest

import edunn
import edunn.special
from edunn.ops import normal
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, to_numpy, torch
from _torch_errors import same_error

pytestmark = pytest.mark.lesson01

UNARY = ["ndtr", "ndtri", "log_ndtr", "erfcx", "entr"]
DOMAIN = {"ndtr": (-4, 4), "ndtri": (0.02, 0.98), "log_ndtr": (-6, 4), "erfcx": (-3, 6),
          "entr": (0.05, 3)}


def ours(name):
    return getattr(edunn.special, name)


def theirs(name):
    return getattr(torch.special, name)


def _unary_spec(name):
    low, high = DOMAIN[name]
    return OpSpec(name, lambda x, n=name: ours(n)(x), lambda x, n=name: theirs(n)(x), [(3, 4)],
                  low=low, high=high, gradgrad=True, lesson=1)


def _xlog1py_inputs(rng):
    x = rng.uniform(-2, 2, (3, 4))
    x[0, :2] = 0.0  # the x == 0 branch, whose gradient is 0 in x and 0 in other
    return [x, rng.uniform(-0.7, 3, (4,))]


SPECS = [_unary_spec(n) for n in UNARY] + [
    OpSpec("xlog1py", lambda x, y: edunn.special.xlog1py(x, y),
           lambda x, y: torch.special.xlog1py(x, y), [], make_inputs=_xlog1py_inputs,
           gradgrad=True, lesson=1),
    OpSpec("xlog1py_number_first", lambda y: edunn.special.xlog1py(2.5, y),
           lambda y: torch.special.xlog1py(2.5, y), [(3, 4)], low=-0.7, high=3, gradgrad=True, lesson=1),
    OpSpec("xlog1py_number_second", lambda x: edunn.special.xlog1py(x, 0.75),
           lambda x: torch.special.xlog1py(x, 0.75), [(3, 4)], gradgrad=True, lesson=1),
]
test_parity, test_gradcheck = spec_tests(SPECS, lesson=1)


# ---------------------------------------------------------------------------------------- float64 sweeps
def _rel_err(a, b, tiny=1e-305):
    """|a - b| / |b|, 0 where both are the same (NaN too) or differ by no more than ``tiny``
    (subnormal results keep only a few bits)."""
    a, b = np.asarray(a, np.float64), np.asarray(b, np.float64)
    same = (a == b) | (np.isnan(a) & np.isnan(b))
    with np.errstate(all="ignore"):
        err = np.abs(a - b) / np.abs(b)
        same |= np.abs(a - b) <= tiny
    return np.where(same, 0.0, err)


def _sweep(name, x, device, rtol):
    got = to_numpy(ours(name)(edunn.tensor(x, device=device)))
    want = to_numpy(theirs(name)(torch.tensor(x)))
    err = _rel_err(got, want)
    worst = int(err.argmax())
    assert err.max() <= rtol, f"{name}({x[worst]!r}) = {got[worst]!r}, PyTorch {want[worst]!r}"


WIDE = np.concatenate([np.linspace(-40, 40, 1601), -np.logspace(-300, 3, 400),
                       np.logspace(-300, 3, 400), [0.0, -0.0]])
EDGES = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, 5e-324, -5e-324, 1e308, -1e308])


@needs_torch
def test_log_ndtr_sweep(device):
    """Down to x = -1e150 (log Phi = -x^2/2 - ...), never -inf where PyTorch is finite."""
    x = np.concatenate([WIDE, -np.logspace(3, 154, 300), -np.linspace(1.3e154, 1.9e154, 13), EDGES])
    _sweep("log_ndtr", x, device, 2e-13)  # PyTorch's own error reaches 1.7e-13 at x = 35.6
    tail = to_numpy(edunn.special.log_ndtr(edunn.tensor(-np.logspace(1, 150, 50), device=device)))
    assert np.isfinite(tail).all()


@needs_torch
def test_erfcx_sweep(device):
    """Both sides, up to 1e300 (1/(x sqrt pi), no overflow) and down to the overflow at -26.6."""
    x = np.concatenate([np.linspace(-27, 60, 3001), np.logspace(-300, 300, 600),
                        -np.logspace(-300, 1.43, 300), EDGES])
    _sweep("erfcx", x, device, 1e-13)  # PyTorch's 2 exp(x^2) rounds x^2: 5.6e-14 at x = -25.6


@needs_torch
def test_ndtri_sweep(device):
    """Cephes' accuracy in both tails, down to the smallest subnormal."""
    p = np.concatenate([np.linspace(0, 1, 2001), np.logspace(-323.5, -1, 600),
                        1 - np.logspace(-16, -1, 300), [5e-324, -0.0, -1e-300, 1 + 1e-15, 2.0,
                                                        -np.inf, np.inf, np.nan]])
    _sweep("ndtri", p, device, 2e-15)


@needs_torch
def test_entr_sweep(device):
    _sweep("entr", np.concatenate([WIDE, np.logspace(3, 308, 100), EDGES]), device, 1e-15)


@needs_torch
def test_ndtr_sweep(device):
    """Equal to PyTorch within 2 ulps of 1 in absolute terms (its ``1 + erf`` cancels in the
    lower tail), and there relatively accurate against Python's ``math.erfc``."""
    x = np.concatenate([WIDE, EDGES])
    got = to_numpy(edunn.special.ndtr(edunn.tensor(x, device=device)))
    want = to_numpy(torch.special.ndtr(torch.tensor(x)))
    np.testing.assert_allclose(got, want, rtol=1e-15, atol=2.3e-16)
    mpmath = pytest.importorskip("mpmath")
    mpmath.mp.dps = 40
    lower = np.concatenate([np.linspace(-37.5, -1, 500), -np.logspace(-3, 1.57, 100)])
    exact = np.array([float(mpmath.ncdf(v)) for v in lower])
    got = to_numpy(edunn.special.ndtr(edunn.tensor(lower, device=device)))
    assert _rel_err(got, exact).max() < 4e-15


def test_ndtr_tail_values(device):
    """Known values (Abramowitz & Stegun 26.2): Phi(-10) = 7.6198530241605e-24,
    Phi(-37) = 5.7255712225e-300, log Phi(-1e10) = -5e19 - log(1e10 sqrt(2 pi))."""
    x = edunn.tensor([-10.0, -37.0, -1e10], dtype=edunn.float64, device=device)
    phi = to_numpy(edunn.special.ndtr(x))
    np.testing.assert_allclose(phi[:2], [7.6198530241605260e-24, 5.7255712225239e-300], rtol=1e-12)
    assert phi[2] == 0.0
    log_phi = to_numpy(edunn.special.log_ndtr(x))
    np.testing.assert_allclose(log_phi[2], -5e19 - math.log(1e10 * math.sqrt(2 * math.pi)), rtol=1e-15)
    np.testing.assert_allclose(log_phi[:2], np.log(phi[:2]), rtol=1e-13)


def test_ndtri_inverts_ndtr(device):
    """ndtri(ndtr(x)) = x across the lower tail, where p = ndtr(x) goes down to 1e-300 (the
    upper tail cannot be tested so: 1 - p loses the digits there)."""
    x = edunn.tensor(np.linspace(-37, 0, 371), dtype=edunn.float64, device=device)
    back = to_numpy(edunn.special.ndtri(edunn.special.ndtr(x)))
    np.testing.assert_allclose(back, to_numpy(x), rtol=1e-13, atol=1e-14)


@needs_torch
def test_special_values(device):
    x = np.array([0.0, -0.0, np.inf, -np.inf, np.nan, -1.0, 1.0, 2.0, 0.5, 1e-320])
    for name in UNARY:
        got = to_numpy(ours(name)(edunn.tensor(x, device=device)))
        want = to_numpy(theirs(name)(torch.tensor(x)))
        np.testing.assert_array_equal(np.isnan(got), np.isnan(want), err_msg=name)
        np.testing.assert_allclose(got, want, rtol=1e-15, atol=0, err_msg=name)
        np.testing.assert_array_equal(np.signbit(got[got == 0]), np.signbit(want[got == 0]), err_msg=name)


@needs_torch
def test_xlog1py_special_values(device):
    xs = np.array([0.0, -0.0, 1.0, -2.0, np.inf, -np.inf, np.nan])
    ys = np.array([-1.0, -0.5, -2.0, 0.0, 1e-300, 3.0, np.inf, -np.inf, np.nan])
    x, y = np.meshgrid(xs, ys)
    got = to_numpy(edunn.special.xlog1py(edunn.tensor(x, device=device), edunn.tensor(y, device=device)))
    want = to_numpy(torch.special.xlog1py(torch.tensor(x), torch.tensor(y)))
    np.testing.assert_array_equal(got, want)
    x = np.random.default_rng(3).uniform(-5, 5, 200)
    y = np.concatenate([np.random.default_rng(4).uniform(-1, 1e3, 100), -1 + np.logspace(-12, -1, 100)])
    got = to_numpy(edunn.special.xlog1py(edunn.tensor(x, device=device), edunn.tensor(y, device=device)))
    assert _rel_err(got, to_numpy(torch.special.xlog1py(torch.tensor(x), torch.tensor(y)))).max() < 1e-15


@needs_torch
@pytest.mark.parametrize("name", UNARY)
def test_float32_wide(name, device):
    """float32 is computed in float64 and rounded: within an ulp of PyTorch's float64 result, and
    within PyTorch's own float32 error of its float32 result (absolute for ndtr, whose float32
    lower tail PyTorch loses to cancellation)."""
    x = {"ndtri": np.concatenate([np.linspace(0, 1, 501), np.logspace(-44, -1, 200)]),
         "erfcx": np.concatenate([np.linspace(-9.3, 50, 800), np.logspace(-30, 37, 200)]),
         }.get(name, np.concatenate([np.linspace(-30, 30, 801), -np.logspace(-30, 15, 200)]))
    x = x.astype(np.float32)
    got = ours(name)(edunn.tensor(x, device=device))
    assert got.dtype == edunn.float32
    got = to_numpy(got)
    rounded = to_numpy(theirs(name)(torch.tensor(x, dtype=torch.float64))).astype(np.float32)
    exact = rounded > 1e-8 if name == "ndtr" else slice(None)  # below, PyTorch's float64 cancels
    assert _rel_err(got[exact], rounded[exact], tiny=1e-44).max() <= 2 ** -24
    want = to_numpy(theirs(name)(torch.tensor(x)))
    if name == "ndtr":
        np.testing.assert_allclose(got, want, rtol=1e-6, atol=1.2e-7)
    else:
        assert _rel_err(got, want, tiny=1e-37).max() < 2e-5


# ---------------------------------------------------------------------------------------- gradients
@needs_torch
@pytest.mark.parametrize("name,x", [
    ("ndtr", np.linspace(-30, 30, 121)),
    ("log_ndtr", np.concatenate([np.linspace(-35, 30, 131), [-300.0]])),
    ("erfcx", np.concatenate([np.linspace(-20, 60, 161), [1e3, 1e8]])),
    ("ndtri", np.concatenate([np.logspace(-300, -1, 60), np.linspace(0.05, 0.95, 19), 1 - np.logspace(-15, -1, 30)])),
    ("entr", np.concatenate([np.logspace(-300, 300, 61), [0.0, -1.0]])),
])
def test_gradients_wide(name, x, device):
    """First and second derivatives equal PyTorch's formulas far from the origin (float64).
    Both cancel the same way (log_ndtr's ``y + x^2/2``, erfcx's ``2 x y - 2/sqrt(pi)``), hence
    the absolute tolerance: a few ulps of the terms."""
    a = edunn.tensor(x, device=device, requires_grad=True)
    t = torch.tensor(x, requires_grad=True)
    ga, = edunn.autograd.grad(ours(name)(a).sum(), a, create_graph=True)
    gt, = torch.autograd.grad(theirs(name)(t).sum(), t, create_graph=True)
    assert_close(ga, gt, atol=1e-15, rtol=1e-11, what=f"{name}'")
    gga, = edunn.autograd.grad(ga.sum(), a)
    ggt, = torch.autograd.grad(gt.sum(), t)
    finite = np.isfinite(to_numpy(ggt)) & (np.abs(to_numpy(ggt)) < 1e300)
    assert_close(to_numpy(gga)[finite], to_numpy(ggt)[finite], atol=1e-12, rtol=1e-9, what=f"{name}''")


@needs_torch
def test_xlog1py_gradients_at_zero_and_with_numbers(device):
    x = np.array([0.0, 0.0, 1.5, -2.0])
    y = np.array([-1.0, 2.0, -0.5, 0.0])
    a = edunn.tensor(x, device=device, requires_grad=True)
    b = edunn.tensor(y, device=device, requires_grad=True)
    t, u = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    for ga, gt in zip(edunn.autograd.grad(edunn.special.xlog1py(a, b).sum(), (a, b)),
                      torch.autograd.grad(torch.special.xlog1py(t, u).sum(), (t, u))):
        assert_close(ga, gt, atol=0, rtol=1e-15)
    ga, = edunn.autograd.grad(edunn.special.xlog1py(3, b).sum(), b)
    gt, = torch.autograd.grad(torch.special.xlog1py(3, u).sum(), u)
    assert_close(ga, gt, atol=0, rtol=1e-15)
    ga, = edunn.autograd.grad(edunn.special.xlog1py(a, -1).sum(), a)
    gt, = torch.autograd.grad(torch.special.xlog1py(t, -1).sum(), t)
    assert_close(ga, gt, atol=0, rtol=1e-15)


# ---------------------------------------------------------------------------------------- dtypes, API
@needs_torch
@pytest.mark.parametrize("name", UNARY)
def test_integer_and_bool_inputs_give_float32(name, device):
    for values in ([0, 1, 2, -3], [True, False]):
        got = ours(name)(edunn.tensor(values, device=device))
        want = theirs(name)(torch.tensor(values))
        assert got.dtype == edunn.float32 and want.dtype == torch.float32
        assert_close(got, want, atol=2e-7, rtol=2e-6)


@needs_torch
@pytest.mark.parametrize("name", UNARY)
def test_float_dtypes_kept(name, device):
    for dt in ("float64", "float32", "float16"):
        x = edunn.tensor([0.25, 0.5], dtype=getattr(edunn, dt), device=device)
        assert ours(name)(x).dtype == getattr(edunn, dt)
    try:
        want = theirs(name)(torch.tensor([0.25, 0.5], dtype=torch.float16))
    except NotImplementedError:  # PyTorch's CPU has no float16 kernel for ndtri, log_ndtr, erfcx
        return
    assert_close(ours(name)(edunn.tensor([0.25, 0.5], dtype=edunn.float16, device=device)), want,
                 atol=1e-3, rtol=1e-3)


@needs_torch
@pytest.mark.parametrize("x,y", [
    ([1, 2], 2.5), (2.5, [1, 2]), ([1, 2], [3, 4]), ([True], [1.5]), ("f16", 2.5), (2.5, "f16"),
    ("0d64", "f16"), ("f32", "f64"), ([1, 2], "0d64"),
])
def test_xlog1py_dtypes(x, y, device):
    def make(lib, v, dev=None):
        kw = {} if dev is None else {"device": dev}
        if v == "f16":
            return lib.tensor([0.5, 2.0], dtype=lib.float16, **kw)
        if v == "f32":
            return lib.tensor([0.5, 2.0], dtype=lib.float32, **kw)
        if v == "f64":
            return lib.tensor([0.5, 2.0], dtype=lib.float64, **kw)
        if v == "0d64":
            return lib.tensor(1.5, dtype=lib.float64, **kw)
        return lib.tensor(v, **kw) if isinstance(v, list) else v
    got = edunn.special.xlog1py(make(edunn, x, device), make(edunn, y, device))
    want = torch.special.xlog1py(make(torch, x), make(torch, y))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert_close(got, want, atol=1e-3, rtol=1e-3)


@needs_torch
def test_xlog1py_two_numbers_is_an_error():
    same_error(lambda: edunn.special.xlog1py(2, 3), lambda: torch.special.xlog1py(2, 3))


@needs_torch
def test_out(device):
    x = edunn.tensor([-1.0, 0.5], device=device)
    out = edunn.empty(2, device=device)
    assert edunn.special.ndtr(x, out=out) is out
    assert_close(out, torch.special.ndtr(torch.tensor([-1.0, 0.5])))
    assert edunn.special.xlog1py(x, 2.0, out=out) is out
    assert_close(out, torch.special.xlog1py(torch.tensor([-1.0, 0.5]), 2.0))
    with pytest.raises(RuntimeError, match="out="):
        edunn.special.erfcx(edunn.tensor([1.0], requires_grad=True), out=edunn.empty(1))


def test_namespace():
    """The six live in normal.py and reach edunn.special; none is a top-level torch name."""
    assert normal.__all__ == []
    assert sorted(normal.__special__) == sorted(UNARY + ["xlog1py"])
    for name in normal.__special__:
        assert getattr(edunn.special, name) is getattr(normal, name)
        assert name in edunn.special.__all__
        if torch is not None:
            assert not hasattr(torch, name)
