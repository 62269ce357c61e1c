"""Orthogonal polynomials (``edunn.special.chebyshev_polynomial_t`` ... ``legendre_polynomial_p``):
values against PyTorch on every device (OpSpec table and sweeps over n and x, special values,
closed-form branches), tensor and Python-number ``n`` and ``input``, non-integer ``n``, dtypes,
``out=``, the backward error, and an independent check against ``numpy.polynomial`` and the
textbook closed forms."""
import math

import numpy as np
import pytest
from numpy.polynomial import chebyshev, hermite, hermite_e, laguerre, legendre

import edunn
from opcheck import OpSpec, bfloat16_refused_on_cuda, check_parity, needs_torch, spec_test, to_numpy, torch

pytestmark = pytest.mark.lesson01

CHEBYSHEV = ["chebyshev_polynomial_t", "chebyshev_polynomial_u", "chebyshev_polynomial_v",
             "chebyshev_polynomial_w"]
SHIFTED = ["shifted_" + name for name in CHEBYSHEV]
OTHERS = ["hermite_polynomial_h", "hermite_polynomial_he", "laguerre_polynomial_l",
          "legendre_polynomial_p"]
NAMES = CHEBYSHEV + SHIFTED + OTHERS

# x where each family is interesting: both ends and a little beyond for Chebyshev and Legendre,
# [0, 1] and beyond for the shifted ones, wider for Hermite and Laguerre.
RANGES = {**{name: (-1.5, 1.5) for name in CHEBYSHEV + ["legendre_polynomial_p"]},
          **{name: (-0.25, 1.25) for name in SHIFTED},
          "hermite_polynomial_h": (-4.0, 4.0), "hermite_polynomial_he": (-5.0, 5.0),
          "laguerre_polynomial_l": (-3.0, 12.0)}
ENDS = {name: (0.0, 1.0) if name in SHIFTED else (-1.0, 1.0) for name in NAMES}

# PyTorch reads an uninitialised variable when input is NaN and n >= 2 in these (its loop stops
# at once on a NaN and returns a value never set); edunn returns NaN.  Parity skips NaN inputs.
GARBAGE_ON_NAN = set(NAMES) - {"chebyshev_polynomial_t", "hermite_polynomial_h", "hermite_polynomial_he"}


def ours(name):
    return getattr(edunn.special, name)


def theirs(name):
    return getattr(torch.special, name)


def assert_matches(actual, expected, tol, what=""):
    """Same shape and dtype, the same non-finite values, and finite values within
    ``tol * max(1, |expected|)`` (relative for large values, absolute near zero)."""
    a, e = to_numpy(actual), to_numpy(expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != {e.shape}"
    assert str(actual.dtype).split(".")[-1] == str(expected.dtype).split(".")[-1], \
        f"{what}: dtype {actual.dtype}, PyTorch gives {expected.dtype}"
    fin = np.isfinite(e)
    np.testing.assert_array_equal(a[~fin], e[~fin], err_msg=f"{what}: non-finite values differ")
    assert np.isfinite(a[fin]).all(), f"{what}: non-finite where PyTorch is finite"
    err = np.abs(a[fin].astype(np.float64) - e[fin]) / np.maximum(1.0, np.abs(e[fin].astype(np.float64)))
    err = err / np.broadcast_to(tol, e.shape)[fin]
    worst = int(np.argmax(err)) if err.size else 0
    assert not err.size or err[worst] <= 1, (
        f"{what}: error {err[worst]:.3g} times the tolerance at element {worst}: "
        f"{a[fin][worst]!r} vs PyTorch {e[fin][worst]!r}")


def tolerance(name, dtype, x=None):
    """The error allowed relative to max(1, |value|): per element when ``x`` is given."""
    if dtype == "float64":
        return 1e-11
    # float32 Hermite values are sums of huge terms of both signs near the roots; PyTorch's
    # compiler may contract the recurrence into fused multiply-adds, which round differently
    tol = 1e-3 if name.startswith("hermite") else 5e-5
    if x is None or name not in CHEBYSHEV + SHIFTED:
        return tol
    # within 1e-3 of the ends the closed forms divide by sin(theta) or sin(theta/2), which is
    # about sqrt(1 - |x|): one rounding of theta moves the result by much more than eps
    y = 2 * np.asarray(x, np.float64) - 1 if name in SHIFTED else np.asarray(x, np.float64)
    return np.where((np.abs(np.abs(y) - 1) < 1e-3) & (np.abs(y) != 1), 2e-3, tol)


# ---------------------------------------------------------------------------------------- OpSpec table
N_MIX = np.array([-2, -1, 0, 1, 2, 3, 5, 7, 9, 12, 20], dtype=np.int64)


def _make(name):
    low, high = RANGES[name]
    ends = ENDS[name]

    def make(rng):
        x = rng.uniform(low, high, size=(4, 6))
        x[0, :2] = ends   # the exact end values
        x[1, :2] = [np.nextafter(ends[0], ends[1]), np.nextafter(ends[1], ends[0])]
        return [x, N_MIX.reshape(-1, 1, 1)]
    return make


def _spec(name, dtype):
    f32 = dtype == "float32"
    return OpSpec(f"{name}_{dtype}", ours(name), (lambda x, n: theirs(name)(x, n)) if torch else None,
                  [], make_inputs=_make(name), grad=False, dtype=dtype,
                  rtol=(1e-3 if name.startswith("hermite") else 1e-4) if f32 else 1e-10,
                  atol=1e-4 if f32 else 1e-10, lesson=1)


SPECS = [_spec(name, dtype) for name in NAMES for dtype in ("float32", "float64")]
test_parity = spec_test(check_parity, SPECS, lesson=1)  # no gradcheck: not differentiable


# ---------------------------------------------------------------------------------------- sweeps
def _sweep_x(name, dtype):
    """The values of x where the branches of PyTorch's code meet, and typical values between."""
    lo, hi = ENDS[name]
    mid, half = (lo + hi) / 2, (hi - lo) / 2
    unit = np.concatenate([np.linspace(-1, 1, 41), [-1.0, 1.0, 1e-20 - 1.0],
                           np.linspace(-3, 3, 25), [-1e3, 1e3, -1e30, 1e30, -np.inf, np.inf]])
    x = mid + half * unit  # the same points seen through x -> 2x - 1 for the shifted ones
    ft = np.dtype(dtype).type
    near = [np.nextafter(ft(lo), ft(hi)), np.nextafter(ft(hi), ft(lo)),
            np.nextafter(ft(lo), ft(lo - 1)), np.nextafter(ft(hi), ft(hi + 1)), ft(0.0), ft(-0.0)]
    if name.startswith(("hermite", "laguerre")):
        x = np.concatenate([x, np.linspace(*RANGES[name], 29)])
    return np.concatenate([x.astype(dtype), np.array(near, dtype=dtype)])


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name", NAMES)
def test_sweep_matches_pytorch(name, dtype, device):
    """n from -2 to 34 (past every closed-form threshold) against x at the ends, just inside and
    outside them, inside (-1, 1), beyond, huge and infinite: values, NaN and inf as PyTorch's."""
    x = _sweep_x(name, dtype)
    n = np.arange(-2, 35).astype(dtype)
    X, N = np.broadcast_arrays(x[None, :], n[:, None])
    got = ours(name)(edunn.tensor(X, device=device), edunn.tensor(N, device=device))
    want = theirs(name)(torch.tensor(X), torch.tensor(N))
    assert_matches(got, want, tolerance(name, dtype, X), f"{name} {dtype}")


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_large_n(name, device):
    """Degrees up to a few hundred, where Hermite turns into NaN past 128 (float32) / 512
    (float64) and the recurrence overflows outside [-1, 1] (inf, then NaN, as PyTorch's)."""
    lo, hi = ENDS[name]
    x = np.array([lo, hi, (lo + hi) / 2 + 0.3 * (hi - lo) / 2, lo - 0.01, hi + 0.5, hi + 40.0])
    n = np.array([60, 127, 128, 129, 130, 300, 511, 512, 513])
    for dtype in ("float32", "float64"):
        X, N = np.broadcast_arrays(x.astype(dtype)[None, :], n[:, None])
        got = ours(name)(edunn.tensor(X, device=device), edunn.tensor(N, device=device))
        want = theirs(name)(torch.tensor(X), torch.tensor(N))
        # T_n(cos t) = cos(n t) magnifies float32 rounding of t by n
        assert_matches(got, want, 1e-8 if dtype == "float64" else 2e-3, f"{name} {dtype}")
        for ni in (129, 300, 513):  # a Python n: no mask, the loop length known on the host
            got = ours(name)(edunn.tensor(x.astype(dtype), device=device), ni)
            want = theirs(name)(torch.tensor(x.astype(dtype)), ni)
            assert_matches(got, want, 1e-8 if dtype == "float64" else 2e-3, f"{name} {dtype} n={ni}")


@needs_torch
@pytest.mark.parametrize("name", CHEBYSHEV + SHIFTED)
def test_closed_form_guards(name, device):
    """Next to the ends, cos(theta/2) or sin(theta/2) rounds to 1 and PyTorch returns the end
    value instead of 0/0; at n just above each threshold the closed form replaces the recurrence."""
    lo, hi = ENDS[name]
    for dtype in ("float32", "float64"):
        ft = np.dtype(dtype).type
        x = np.array([np.nextafter(ft(lo), ft(hi)), np.nextafter(ft(hi), ft(lo)),
                      np.nextafter(np.nextafter(ft(hi), ft(lo)), ft(lo)), (lo + hi) / 2 + 0.1], dtype=dtype)
        for n in range(3, 14):
            got = ours(name)(edunn.tensor(x, device=device), n)
            want = theirs(name)(torch.tensor(x), n)
            assert_matches(got, want, tolerance(name, dtype, x), f"{name} {dtype} n={n}")


# ---------------------------------------------------------------------------------------- n and input
@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_tensor_n_mixed_and_broadcast(name, device):
    """A tensor n with mixed values (negative, 0, 1, small, past the closed-form threshold)
    broadcast against x: each element is what its own n gives alone, and what PyTorch gives."""
    lo, hi = RANGES[name]
    x = np.linspace(lo, hi, 7).astype(np.float64)
    n = np.array([[3], [-1], [0], [11], [1], [2], [25]], dtype=np.int64)
    got = ours(name)(edunn.tensor(x, device=device), edunn.tensor(n, device=device))
    assert tuple(got.shape) == (7, 7)
    assert_matches(got, theirs(name)(torch.tensor(x), torch.tensor(n)), 1e-11, name)
    for i, ni in enumerate(n[:, 0]):  # the masked recurrence gives each row its own polynomial
        alone = ours(name)(edunn.tensor(x, device=device), int(ni))
        np.testing.assert_array_equal(to_numpy(got)[i], to_numpy(alone), err_msg=f"{name} n={ni}")
    # n of shape (3, 1) against x of shape (2, 1, 4): result (2, 3, 4)
    x3 = np.linspace(lo, hi, 8).reshape(2, 1, 4)
    n3 = np.array([[2.0], [7.0], [10.0]])
    got = ours(name)(edunn.tensor(x3, device=device), edunn.tensor(n3, device=device))
    assert_matches(got, theirs(name)(torch.tensor(x3), torch.tensor(n3)), 1e-11, name)


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_python_number_input_or_n(name, device):
    """Either argument may be a Python number: int or float input with a tensor n, a tensor
    input with an int or float n; values and dtypes as PyTorch's."""
    lo, hi = RANGES[name]
    n_int = np.array([0, 1, 2, 5, 9, 12], dtype=np.int64)
    for x in (lo * 0.7 + hi * 0.3, 2, 0.5, -1, 1, 0):
        got = ours(name)(x, edunn.tensor(n_int, device=device))
        assert_matches(got, theirs(name)(x, torch.tensor(n_int)), 1e-5, f"{name} x={x}")
        got = ours(name)(x, edunn.tensor(n_int.astype(np.float64), device=device))
        assert_matches(got, theirs(name)(x, torch.tensor(n_int.astype(np.float64))), 1e-11, f"{name} x={x}")
    xs = np.linspace(lo, hi, 9)
    for n in (-3, 0, 1, 2, 4, 7, 9, 15, 3.0, True):
        for dt in ("float32", "float64"):
            got = ours(name)(edunn.tensor(xs.astype(dt), device=device), n)
            want = theirs(name)(torch.tensor(xs.astype(dt)), n)
            assert_matches(got, want, tolerance(name, dt), f"{name} n={n} {dt}")
    # NumPy scalars count as Python numbers, as in PyTorch
    got = ours(name)(np.float64(0.5), edunn.tensor(n_int, device=device))
    assert_matches(got, theirs(name)(np.float64(0.5), torch.tensor(n_int)), 1e-5, f"{name} numpy x")
    got = ours(name)(edunn.tensor(xs.astype("float32"), device=device), np.int64(7))
    assert_matches(got, theirs(name)(torch.tensor(xs.astype("float32")), np.int64(7)),
                   tolerance(name, "float32"), f"{name} numpy n")
    with pytest.raises(TypeError):
        ours(name)(0.5, 3)


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_non_integer_n_is_truncated(name, device):
    """n is cast to an integer towards zero (2.9 -> 2, -0.5 -> 0, -1.5 -> -1); NaN, infinite or
    huge n count as negative and give 0, as PyTorch's CPU kernel."""
    lo, hi = RANGES[name]
    x = edunn.tensor(np.linspace(lo, hi, 11), device=device)
    xt = torch.tensor(np.linspace(lo, hi, 11))
    for n, as_int in [(2.9, 2), (-0.5, 0), (-1.5, -1), (7.99, 7), (9.5, 9), (0.999, 0),
                      (math.nan, -1), (math.inf, -1), (-math.inf, -1), (1e30, -1)]:
        got = ours(name)(x, n)
        assert_matches(got, theirs(name)(xt, n), 1e-11, f"{name} n={n}")
        np.testing.assert_array_equal(to_numpy(got), to_numpy(ours(name)(x, as_int)), err_msg=f"{name} n={n}")
    n = np.array([2.9, -0.5, math.nan, 7.99, -math.inf, 12.2, 1.7])
    got = ours(name)(x.reshape(11, 1), edunn.tensor(n, device=device))
    assert_matches(got, theirs(name)(xt.reshape(11, 1), torch.tensor(n)), 1e-11, f"{name} tensor n")


# ---------------------------------------------------------------------------------------- dtypes
DTYPES = ["bool", "int32", "int64", "float32", "float64", "float16", "bfloat16"]


@needs_torch
@pytest.mark.parametrize("name", ["chebyshev_polynomial_t", "hermite_polynomial_he", "legendre_polynomial_p"])
def test_result_dtype_and_refused_dtypes(name, device):
    """The result dtype is the promotion of input and n, integers giving the default float
    dtype; a float16/bfloat16 result is refused with PyTorch's message."""
    for xd in DTYPES:
        for nd in DTYPES:
            if bfloat16_refused_on_cuda(device, xd, nd):
                continue
            x = torch.tensor([1, 0, 1]).to(getattr(torch, xd))
            n = torch.tensor([2, 1, 3]).to(getattr(torch, nd))
            xe = edunn.tensor([1, 0, 1], device=device).to(getattr(edunn, xd))
            ne = edunn.tensor([2, 1, 3], device=device).to(getattr(edunn, nd))
            try:
                want = theirs(name)(x, n)
            except RuntimeError as err:
                with pytest.raises(RuntimeError) as info:
                    ours(name)(xe, ne)
                assert str(info.value).replace("_cuda", "_cpu") == str(err), (xd, nd)
                continue
            assert_matches(ours(name)(xe, ne), want, 1e-6, f"{name} {xd} x {nd}")
    # a 0-d tensor joins as a number would: float64 0-d input, float32 n -> float32
    got = ours(name)(edunn.tensor(0.5, dtype=edunn.float64, device=device), edunn.ones(3, device=device))
    assert got.dtype == edunn.float32
    assert ours(name)(edunn.tensor([1, 2], device=device), 3.0).dtype == edunn.float32
    assert ours(name)(2.5, edunn.tensor([1, 2], device=device)).dtype == edunn.float32


# ---------------------------------------------------------------------------------------- autograd, out=
@needs_torch
@pytest.mark.lesson02
@pytest.mark.parametrize("name", NAMES)
def test_not_differentiable_as_pytorch(name, device):
    """PyTorch marks input and n non-differentiable: the result never requires grad, and
    backward() through it raises the autograd engine's error, with PyTorch's message."""
    with pytest.raises(RuntimeError) as expected:
        theirs(name)(torch.ones(2, requires_grad=True), 3).sum().backward()
    x = edunn.ones(2, device=device, requires_grad=True)
    y = ours(name)(x, 3)
    assert not y.requires_grad and y.grad_fn is None
    with pytest.raises(RuntimeError) as raised:
        y.sum().backward()
    assert str(raised.value) == str(expected.value)
    n = edunn.tensor([2.0, 3.0], device=device, requires_grad=True)
    assert not ours(name)(0.5, n).requires_grad
    assert not ours(name)(x, n).requires_grad


@needs_torch
def test_out(device):
    """out= receives the result (allowed even when input requires grad: nothing is recorded)."""
    x = edunn.tensor([0.1, 0.5, 0.9], device=device, requires_grad=True)
    out = edunn.empty(3, device=device)
    res = edunn.special.legendre_polynomial_p(x, 4, out=out)
    assert res is out
    want = torch.special.legendre_polynomial_p(torch.tensor([0.1, 0.5, 0.9]), 4)
    np.testing.assert_allclose(to_numpy(out), want.numpy(), rtol=1e-6)


@pytest.mark.parametrize("name", NAMES)
def test_broadcast_error(name, device):
    with pytest.raises(RuntimeError, match="must match the size"):
        ours(name)(edunn.ones(2, 3, device=device), edunn.ones(2, device=device))


@pytest.mark.parametrize("name", NAMES)
def test_nan_input_gives_nan(name, device):
    """NaN in, NaN out for every n >= 1 (PyTorch returns an uninitialised value here for the
    polynomials in GARBAGE_ON_NAN: a documented deviation)."""
    y = ours(name)(edunn.tensor([math.nan] * 6, device=device), edunn.tensor([1, 2, 3, 7, 10, 40], device=device))
    assert np.isnan(to_numpy(y)).all()
    y0 = ours(name)(edunn.tensor([math.nan, math.nan], device=device), edunn.tensor([0, -1], device=device))
    np.testing.assert_array_equal(to_numpy(y0), [1.0, 0.0])


def test_empty(device):
    x = edunn.ones(0, 3, device=device)
    assert tuple(edunn.special.hermite_polynomial_h(x, 4).shape) == (0, 3)
    assert tuple(edunn.special.chebyshev_polynomial_u(x, edunn.ones(3, device=device)).shape) == (0, 3)


# ---------------------------------------------------------------------------------------- independent check
def _unit(n):
    c = np.zeros(n + 1)
    c[n] = 1.0
    return c


def _u_ref(x, n):
    """U_n = T_{n+1}' / (n + 1), by numpy's Chebyshev derivative; U_{-1} = 0."""
    return np.zeros_like(x) if n < 0 else chebyshev.chebval(x, chebyshev.chebder(_unit(n + 1))) / (n + 1)


REFERENCES = {  # P_n(x) by numpy.polynomial or classical identities, independent of the recurrences
    "chebyshev_polynomial_t": lambda x, n: chebyshev.chebval(x, _unit(n)),
    "chebyshev_polynomial_u": _u_ref,
    "chebyshev_polynomial_v": lambda x, n: _u_ref(x, n) - _u_ref(x, n - 1),
    "chebyshev_polynomial_w": lambda x, n: _u_ref(x, n) + _u_ref(x, n - 1),
    "hermite_polynomial_h": lambda x, n: hermite.hermval(x, _unit(n)),
    "hermite_polynomial_he": lambda x, n: hermite_e.hermeval(x, _unit(n)),
    "laguerre_polynomial_l": lambda x, n: laguerre.lagval(x, _unit(n)),
    "legendre_polynomial_p": lambda x, n: legendre.legval(x, _unit(n)),
}
for _name in CHEBYSHEV:
    REFERENCES["shifted_" + _name] = (lambda plain: lambda x, n: plain(2 * x - 1, n))(REFERENCES[_name])


@pytest.mark.parametrize("name", NAMES)
def test_against_numpy_polynomial(name, device):
    """Small n (0..12, through the closed-form branches) against numpy.polynomial's
    evaluation in the classical bases and the identities U_n = T'_{n+1}/(n+1),
    V_n = U_n - U_{n-1}, W_n = U_n + U_{n-1}, T*_n(x) = T_n(2x - 1)."""
    lo, hi = RANGES[name]
    x = np.concatenate([np.linspace(lo, hi, 31), list(ENDS[name])])
    for n in range(13):
        want = REFERENCES[name](x, n)
        got = to_numpy(ours(name)(edunn.tensor(x, device=device), n))
        scale = np.maximum(1.0, np.abs(want))
        assert (np.abs(got - want) / scale).max() < 1e-9, f"{name} n={n}"


@pytest.mark.parametrize("name", CHEBYSHEV)
def test_textbook_closed_forms(name, device):
    """Inside (-1, 1) with theta = acos x: T_n = cos(n theta), U_n = sin((n+1) theta)/sin theta,
    V_n = cos((n+1/2) theta)/cos(theta/2), W_n = sin((n+1/2) theta)/sin(theta/2); outside, for
    x = cosh(phi) > 1: T_n = cosh(n phi), U_n = sinh((n+1) phi)/sinh(phi) (through the
    recurrence up to n = 8 and the closed form beyond)."""
    x = np.linspace(-0.97, 0.97, 23)
    t = np.arccos(x)
    forms = {"chebyshev_polynomial_t": lambda n: np.cos(n * t),
             "chebyshev_polynomial_u": lambda n: np.sin((n + 1) * t) / np.sin(t),
             "chebyshev_polynomial_v": lambda n: np.cos((n + 0.5) * t) / np.cos(t / 2),
             "chebyshev_polynomial_w": lambda n: np.sin((n + 0.5) * t) / np.sin(t / 2)}
    for n in range(0, 25):
        got = to_numpy(ours(name)(edunn.tensor(x, device=device), n))
        np.testing.assert_allclose(got, forms[name](n), atol=1e-10 * (n + 1) ** 2, err_msg=f"{name} n={n}")
    phi = np.linspace(0.1, 2.0, 9)
    outside = {"chebyshev_polynomial_t": lambda n: np.cosh(n * phi),
               "chebyshev_polynomial_u": lambda n: np.sinh((n + 1) * phi) / np.sinh(phi)}
    if name in outside:
        for n in range(0, 25):
            got = to_numpy(ours(name)(edunn.tensor(np.cosh(phi), device=device), n))
            np.testing.assert_allclose(got, outside[name](n), rtol=1e-10, err_msg=f"{name} n={n}")


# PyTorch's thresholds (Math.h): above them, |x| < 1 takes the closed form, not the recurrence.
THRESHOLDS = {"chebyshev_polynomial_t": 6, "chebyshev_polynomial_u": 8, "chebyshev_polynomial_v": 8,
              "chebyshev_polynomial_w": 8, "shifted_chebyshev_polynomial_t": 6,
              "shifted_chebyshev_polynomial_u": 6, "shifted_chebyshev_polynomial_v": 6,
              "shifted_chebyshev_polynomial_w": 4}
P1 = {"t": lambda y: y, "u": lambda y: y + y, "v": lambda y: y + y - 1, "w": lambda y: y + y + 1}
CLOSED = {"t": lambda n, a: np.cos(n * a), "u": lambda n, a: np.sin((n + 1) * a) / np.sin(a),
          "v": lambda n, a: np.cos((n + 0.5) * a) / np.cos(a / 2),
          "w": lambda n, a: np.sin((n + 0.5) * a) / np.sin(a / 2)}


@pytest.mark.parametrize("name", CHEBYSHEV + SHIFTED)
def test_closed_form_thresholds(name):
    """The branch is PyTorch's: at its threshold n the result is the recurrence, bit for bit,
    one above it the closed form (NumPy on the CPU, the same operations in the same order);
    the two differ in the last bits, so a wrong threshold fails."""
    kind, thr = name[-1], THRESHOLDS[name]
    x = np.linspace(-0.95, 0.95, 41)
    if name in SHIFTED:
        x = (x + 1) / 2
    y = x + x - 1 if name in SHIFTED else x
    q, p = P1[kind](y), np.ones_like(y)
    for _ in range(2, thr + 1):
        p, q = q, (y + y) * q - p
    closed = CLOSED[kind](thr, np.arccos(y))
    assert (q != closed).any()  # the check below can tell the branches apart
    np.testing.assert_array_equal(to_numpy(ours(name)(edunn.tensor(x), thr)), q)
    np.testing.assert_array_equal(to_numpy(ours(name)(edunn.tensor(x), edunn.tensor([thr]))), q)
    closed = CLOSED[kind](thr + 1, np.arccos(y))
    np.testing.assert_array_equal(to_numpy(ours(name)(edunn.tensor(x), thr + 1)), closed)
