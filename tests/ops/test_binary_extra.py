"""ldexp, frexp, nextafter, signbit, heaviside, gcd and lcm (edunn/ops/binary.py) against PyTorch,
the specification: OpSpec rows (values, dtypes, gradients on every device, gradcheck), exhaustive
or wide sweeps with the special values (0, -0, +-inf, NaN, subnormals, INT_MIN), dtype promotion,
PyTorch's errors, and its gradients -- with the one deliberate difference (ldexp's gradient for an
integer exponent is exact here) checked against NumPy's ldexp instead."""
import numpy as np
import pytest

import edunn
from edunn import return_types
from edunn.ops import binary
from opcheck import OpSpec, assert_close, bfloat16_refused_on_cuda, needs_torch, spec_tests, to_numpy, torch
from _torch_errors import same_error

pytestmark = pytest.mark.lesson01

heaviside = edunn.heaviside


def _off_powers_of_two(rng, shape=(3, 4)):
    """Magnitudes in [0.1, 40] at least 2% away from a power of two (where frexp jumps)."""
    m = rng.uniform(0.52, 0.98, size=shape)
    return [rng.choice([-1, 1], size=shape) * np.ldexp(m, rng.integers(-2, 7, size=shape))]


def _apart(rng, shape=(3, 4)):
    a = rng.uniform(-3, 3, size=shape)
    return [a, a + rng.choice([-1, 1], size=shape) * rng.uniform(0.1, 1, size=shape)]


def _ints(low, high, dtype="int64"):
    return lambda rng: [rng.integers(low, high, size=(3, 4)).astype(dtype),
                        rng.integers(low, high, size=(4,)).astype(dtype)]


def _heaviside_inputs(rng):
    x = rng.uniform(-2, 2, size=(3, 4))
    x[0, :2] = 0.0
    return [x, rng.uniform(-1, 1, size=(4,))]


SPECS = [
    OpSpec("ldexp_float_exponent", lambda x, e: edunn.ldexp(x, e), lambda x, e: torch.ldexp(x, e),
           [(3, 4), (4,)], low=-3, high=3, gradgrad=True),
    OpSpec("ldexp_int_exponent", lambda x, e: edunn.ldexp(x, e), lambda x, e: torch.ldexp(x, e), [],
           make_inputs=lambda rng: [rng.uniform(-3, 3, (3, 4)), rng.integers(0, 10, (4,))],
           grad_inputs=[0], gradgrad=True),
    OpSpec("frexp", lambda x: edunn.frexp(x), lambda x: torch.frexp(x), [], make_inputs=_off_powers_of_two),
    OpSpec("nextafter", lambda a, b: edunn.nextafter(a, b), lambda a, b: torch.nextafter(a, b), [],
           make_inputs=_apart),
    OpSpec("signbit", lambda x: edunn.signbit(x), lambda x: torch.signbit(x), [(3, 4)], grad=False),
    OpSpec("heaviside", lambda x, v: heaviside(x, v), lambda x, v: torch.heaviside(x, v), [],
           make_inputs=_heaviside_inputs, grad=False),
    OpSpec("gcd", lambda a, b: edunn.gcd(a, b), lambda a, b: torch.gcd(a, b), [],
           make_inputs=_ints(-1000, 1000), grad=False),
    OpSpec("lcm", lambda a, b: edunn.lcm(a, b), lambda a, b: torch.lcm(a, b), [],
           make_inputs=_ints(-1000, 1000), grad=False),
    OpSpec("gcd_int8_uint8", lambda a, b: edunn.gcd(a, b), lambda a, b: torch.gcd(a, b), [],
           make_inputs=lambda rng: [rng.integers(-128, 128, (3, 4)).astype("int8"),
                                    rng.integers(0, 256, (4,)).astype("uint8")], grad=False),
]
test_parity, test_gradcheck = spec_tests(SPECS, lesson=1, gradcheck=[s for s in SPECS if s.grad])

SPECIAL_FLOATS = [0.0, -0.0, 1.0, -1.0, 0.5, 3.0, -7.25, np.inf, -np.inf, np.nan, -np.nan, 5e-324,
                  -5e-324, 2.2250738585072014e-308, 1e-310, 1.7976931348623157e308, -1e300, 1e-45]


def _equal(got, want, what=""):
    """Same values bit for bit, NaN where NaN, and the sign of zeros."""
    g, w = to_numpy(got), to_numpy(want)
    assert g.dtype == w.dtype, (what, g.dtype, w.dtype)
    np.testing.assert_array_equal(g, w, err_msg=what)
    if g.dtype.kind == "f":
        np.testing.assert_array_equal(np.signbit(g[g == 0]), np.signbit(w[w == 0]), err_msg=what)


# ---------------------------------------------------------------------------------------- gcd, lcm
@needs_torch
@pytest.mark.parametrize("dtype", ["int8", "uint8"])
def test_gcd_lcm_exhaustive_8bit(dtype, device):
    """Every pair of 8-bit integers: signs, zeros, INT8_MIN (|-128| stays -128, as in C) and
    lcm's wrap-around."""
    v = np.arange(-128, 128) if dtype == "int8" else np.arange(256)
    a, b = (m.astype(dtype).ravel() for m in np.meshgrid(v, v))
    for name in ("gcd", "lcm"):
        got = getattr(edunn, name)(edunn.tensor(a, device=device), edunn.tensor(b, device=device))
        _equal(got, getattr(torch, name)(torch.tensor(a), torch.tensor(b)), name)


@needs_torch
@pytest.mark.parametrize("dtype", ["int16", "int32", "int64"])
def test_gcd_lcm_wide(dtype, device):
    """Random pairs over the whole range, Fibonacci neighbours (Euclid's longest runs), zeros and
    INT_MIN (for gcd; PyTorch's lcm divides INT_MIN by -1 there, undefined in C)."""
    info = np.iinfo(dtype)
    rng = np.random.default_rng(5)
    fib = [1, 2]
    while fib[-1] < info.max // 2:
        fib.append(fib[-1] + fib[-2])
    a = np.concatenate([rng.integers(info.min + 1, info.max, 3000), fib[1:], [0, 0, 7, -7, info.max]])
    b = np.concatenate([rng.integers(info.min + 1, info.max, 3000), fib[:-1], [0, 5, 0, -21, info.max]])
    small = rng.integers(-50, 50, (2, 500))
    a, b = (np.concatenate([p, q]).astype(dtype) for p, q in zip((a, b), small))
    for name in ("gcd", "lcm"):
        got = getattr(edunn, name)(edunn.tensor(a, device=device), edunn.tensor(b, device=device))
        _equal(got, getattr(torch, name)(torch.tensor(a), torch.tensor(b)), name)
    a = np.array([info.min, info.min, info.min, 5, info.min, 2, 0], dtype)
    b = np.array([0, -1, info.min, info.min, 5, info.min, info.min], dtype)
    _equal(edunn.gcd(edunn.tensor(a, device=device), edunn.tensor(b, device=device)),
           torch.gcd(torch.tensor(a), torch.tensor(b)))


@needs_torch
@pytest.mark.parametrize("da,db", [("uint8", "int8"), ("int8", "int32"), ("int64", "int16"), ("int32", "int0d")])
def test_gcd_lcm_promotion(da, db, device):
    def make(lib, dt, values, dev=None):
        kw = {} if dev is None else {"device": dev}
        if dt == "int0d":
            return lib.tensor(12, dtype=lib.int8, **kw)
        return lib.tensor(np.array(values, dtype=dt), **kw)
    for name in ("gcd", "lcm"):
        got = getattr(edunn, name)(make(edunn, da, [4, 6, 9], device), make(edunn, db, [6, 4, 3], device))
        want = getattr(torch, name)(make(torch, da, [4, 6, 9]), make(torch, db, [6, 4, 3]))
        assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
        assert_close(got, want)


@needs_torch
@pytest.mark.parametrize("name", ["gcd", "lcm"])
def test_gcd_lcm_errors(name):
    e, t = getattr(edunn, name), getattr(torch, name)
    same_error(lambda: e(edunn.tensor([3.0]), edunn.tensor([6.0])), lambda: t(torch.tensor([3.0]), torch.tensor([6.0])))
    same_error(lambda: e(edunn.tensor([3]), edunn.tensor([6.0])), lambda: t(torch.tensor([3]), torch.tensor([6.0])))
    same_error(lambda: e(edunn.tensor([True]), edunn.tensor([False])), lambda: t(torch.tensor([True]), torch.tensor([False])))
    same_error(lambda: e(edunn.tensor([3]), 6), lambda: t(torch.tensor([3]), 6))
    same_error(lambda: e(3, edunn.tensor([6])), lambda: t(3, torch.tensor([6])))


# ---------------------------------------------------------------------------------------- ldexp
@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_ldexp_integer_exponents_exact(dtype, device):
    """C's ldexp: exact, with overflow to inf, gradual underflow, 0 * 2^2000 = 0, and the exponent
    cut to 32 bits (2^40 -> 0) as PyTorch's kernel does."""
    x = np.array(SPECIAL_FLOATS, np.float64).astype(dtype)
    e = np.array([0, 1, -1, 5, -20, 127, -149, 1023, -1074, 1100, -1100, 2000, 2 ** 31 + 3, 2 ** 40, -(2 ** 40)])
    xx, ee = (m.ravel() for m in np.meshgrid(x, e))
    for edt in ("int64", "int32", "int8"):
        ex = ee.astype(edt)
        got = edunn.ldexp(edunn.tensor(xx, device=device), edunn.tensor(ex, device=device))
        _equal(got, torch.ldexp(torch.tensor(xx), torch.tensor(ex)), f"{dtype} x {edt}")


@needs_torch
def test_ldexp_float_exponents(device):
    """``input * pow(2.0, other)``: non-integer exponents, and 2^other overflowing on its own
    (float32: 1e-30 * 2^140 is inf, 0 * 2^2000 is NaN), as PyTorch."""
    x = np.array([0.0, -0.0, 1.0, 1e-30, 3.0, -2.0, np.inf, np.nan, 1e-300])
    e = np.array([0.0, 3.5, -1074.5, 140.0, 2000.0, -2000.0, np.inf, -np.inf, np.nan, 1e10, 0.1])
    xx, ee = (m.ravel() for m in np.meshgrid(x, e))
    for dt in ("float64", "float32"):
        got = edunn.ldexp(edunn.tensor(xx.astype(dt), device=device), edunn.tensor(ee.astype(dt), device=device))
        want = torch.ldexp(torch.tensor(xx.astype(dt)), torch.tensor(ee.astype(dt)))
        np.testing.assert_allclose(to_numpy(got), to_numpy(want), rtol=1e-15 if dt == "float64" else 1e-7, atol=0)
        assert got.dtype == getattr(edunn, dt)


LDEXP_DTYPES = [("float32", "float64"), ("float64", "float32"), ("float32", "f64_0d"), ("f32_0d", "float64"),
                ("float16", "float32"), ("float16", "int64"), ("bfloat16", "int32"), ("int32", "int32"),
                ("int64", "float64"), ("int64", "float16"), ("bool", "float32"), ("float64", "int8")]


@needs_torch
@pytest.mark.parametrize("dx,de", LDEXP_DTYPES)
def test_ldexp_dtypes(dx, de, device):
    if bfloat16_refused_on_cuda(device, dx, de):
        return
    def make(lib, dt, values, dev=None):
        kw = {} if dev is None else {"device": dev}
        if dt.endswith("_0d"):
            return lib.tensor(values[0], dtype=getattr(lib, {"f64": "float64", "f32": "float32"}[dt[:3]]), **kw)
        return lib.tensor(values, **kw).to(getattr(lib, dt))
    got = edunn.ldexp(make(edunn, dx, [1.0, 3.0, 0.0], device), make(edunn, de, [2.0, 3.0, 1.0], device))
    want = torch.ldexp(make(torch, dx, [1.0, 3.0, 0.0]), make(torch, de, [2.0, 3.0, 1.0]))
    assert str(got.dtype).split(".")[-1] == str(want.dtype).split(".")[-1]
    assert_close(got, want, atol=0, rtol=1e-6)


@needs_torch
def test_ldexp_broadcasts_and_errors(device):
    x, e = np.array([1.0, 2.0, 3.0], np.float32), np.array([[1], [2]])
    _equal(edunn.ldexp(edunn.tensor(x, device=device), edunn.tensor(e, device=device)),
           torch.ldexp(torch.tensor(x), torch.tensor(e)))
    same_error(lambda: edunn.ldexp(edunn.tensor([1.0]), edunn.tensor([True])),
               lambda: torch.ldexp(torch.tensor([1.0]), torch.tensor([True])))
    same_error(lambda: edunn.ldexp(edunn.tensor([1.0]), 3), lambda: torch.ldexp(torch.tensor([1.0]), 3))
    same_error(lambda: edunn.ldexp(1.0, edunn.tensor([3])), lambda: torch.ldexp(1.0, torch.tensor([3])))


@needs_torch
def test_ldexp_float_gradients_at_the_edges(device):
    """PyTorch's formulas grad * 2^other and (grad * 2^other) * input * ln 2, with their inf and
    NaN where 2^other overflows or input is infinite; and the second derivatives."""
    x = np.array([1.5, -2.0, 0.0, np.inf, 3.0, 1e-300, 0.25])
    e = np.array([2.0, 3.5, 2.0, 2.0, 2000.0, 1100.0, -1080.0])
    g = np.array([1.0, -0.5, 1.0, 0.0, 0.0, 1e-300, 3.0])
    a, b = edunn.tensor(x, device=device, requires_grad=True), edunn.tensor(e, device=device, requires_grad=True)
    t, u = torch.tensor(x, requires_grad=True), torch.tensor(e, requires_grad=True)
    ours = edunn.autograd.grad(edunn.ldexp(a, b), (a, b), edunn.tensor(g, device=device), create_graph=True)
    theirs = torch.autograd.grad(torch.ldexp(t, u), (t, u), torch.tensor(g), create_graph=True)
    for o, r in zip(ours, theirs):
        np.testing.assert_allclose(to_numpy(o), to_numpy(r), rtol=1e-15, atol=0)
    ours2 = edunn.autograd.grad(ours[0].sum() + ours[1].sum(), (a, b))
    theirs2 = torch.autograd.grad(theirs[0].sum() + theirs[1].sum(), (t, u))
    for o, r in zip(ours2, theirs2):
        np.testing.assert_allclose(to_numpy(o), to_numpy(r), rtol=1e-15, atol=0)


@needs_torch
def test_ldexp_integer_exponent_gradient(device):
    """The gradient is grad * 2^other, scaled exactly: PyTorch's where it is right (0 <= other
    <= 62), NumPy's ldexp everywhere (PyTorch 2.13 computes 2^other in integers: 0 for negative
    exponents, wrapped from 63 on)."""
    x = np.array([1.5, -2.0, 3.0, 0.1, 7.0])
    g = np.array([1.0, 0.5, -2.0, 1e-300, 3.0])
    for e in (np.array([0, 1, 5, 30, 62]), np.array([-1, -30, -1074, 1100, 63])):  # 1e-300 * 2^1100 is finite
        a = edunn.tensor(x, device=device, requires_grad=True)
        ga, = edunn.autograd.grad(edunn.ldexp(a, edunn.tensor(e, device=device)), a, edunn.tensor(g, device=device))
        np.testing.assert_array_equal(to_numpy(ga), np.ldexp(g, e))
        if e.min() >= 0 and e.max() <= 62:
            t = torch.tensor(x, requires_grad=True)
            gt, = torch.autograd.grad(torch.ldexp(t, torch.tensor(e)), t, torch.tensor(g))
            np.testing.assert_array_equal(to_numpy(ga), to_numpy(gt))


# ---------------------------------------------------------------------------------------- frexp
@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16", "bfloat16"])
def test_frexp_values(dtype, device):
    """Subnormals, zeros of both signs, inf and NaN (exponent 0), the largest finite values."""
    if bfloat16_refused_on_cuda(device, dtype):
        return
    rng = np.random.default_rng(6)
    x = np.concatenate([SPECIAL_FLOATS, rng.standard_normal(200) * 10.0 ** rng.integers(-300, 300, 200)])
    t = torch.tensor(x).to(getattr(torch, dtype))
    ours = edunn.frexp(edunn.tensor(to_numpy(t.double()), device=device).to(getattr(edunn, dtype)))
    theirs = torch.frexp(t)
    assert type(ours) is return_types.frexp and ours._fields == ("mantissa", "exponent")
    _equal(ours.exponent, theirs.exponent, "exponent")
    np.testing.assert_array_equal(to_numpy(ours.mantissa).astype(np.float64), to_numpy(theirs.mantissa).astype(np.float64))
    assert ours.mantissa.dtype == getattr(edunn, dtype) and ours.exponent.dtype == edunn.int32


@needs_torch
def test_frexp_gradient_and_out(device):
    x = np.array([3.0, -5.0, 0.7, 1e-3, 100.0])
    a, t = edunn.tensor(x, device=device, requires_grad=True), torch.tensor(x, requires_grad=True)
    m, e = edunn.frexp(a)
    assert m.requires_grad and not e.requires_grad
    ga, = edunn.autograd.grad(m.sum(), a)
    gt, = torch.autograd.grad(torch.frexp(t).mantissa.sum(), t)
    _equal(ga, gt)
    # |x| beyond 2^128: 2^-exponent exactly (PyTorch divides by float32's exp2, inf there, giving 0)
    big = edunn.tensor([1e300, -3e-300], dtype=edunn.float64, device=device, requires_grad=True)
    gb, = edunn.autograd.grad(edunn.frexp(big).mantissa.sum(), big)
    np.testing.assert_array_equal(to_numpy(gb), np.ldexp(1.0, -np.frexp([1e300, -3e-300])[1]))
    out = (edunn.empty(0, device=device), edunn.empty(0, dtype=edunn.int32, device=device))
    res = edunn.frexp(edunn.tensor([8.0, 0.75], device=device), out=out)
    assert res.mantissa is out[0] and res.exponent is out[1]
    assert to_numpy(out[1]).tolist() == [4, 0] and to_numpy(out[0]).tolist() == [0.5, 0.75]


@needs_torch
def test_frexp_errors():
    same_error(lambda: edunn.frexp(edunn.tensor([1, 2])), lambda: torch.frexp(torch.tensor([1, 2])))


# ---------------------------------------------------------------------------------------- nextafter, signbit
@needs_torch
@pytest.mark.parametrize("dtype", ["float64", "float32", "float16"])
def test_nextafter_values(dtype, device):
    x = np.array(SPECIAL_FLOATS + [65504.0, 6e-8], np.float64)
    xx, yy = (m.ravel().astype(dtype) for m in np.meshgrid(x, x))
    got = edunn.nextafter(edunn.tensor(xx, device=device), edunn.tensor(yy, device=device))
    _equal(got, torch.nextafter(torch.tensor(xx), torch.tensor(yy)))


@needs_torch
def test_nextafter_promotion_gradient_errors(device):
    got = edunn.nextafter(edunn.tensor([1.0], device=device), edunn.tensor([2.0], dtype=edunn.float64, device=device))
    _equal(got, torch.nextafter(torch.tensor([1.0]), torch.tensor([2.0], dtype=torch.float64)))
    got = edunn.nextafter(edunn.tensor([0.0], device=device), edunn.tensor(1.0, dtype=edunn.float64, device=device))
    _equal(got, torch.nextafter(torch.tensor([0.0]), torch.tensor(1.0, dtype=torch.float64)))
    a, b = edunn.tensor([1.5, -2.0], requires_grad=True, device=device), edunn.tensor([2.0, 3.0], requires_grad=True, device=device)
    t, u = torch.tensor([1.5, -2.0], requires_grad=True), torch.tensor([2.0, 3.0], requires_grad=True)
    for o, r in zip(edunn.autograd.grad(edunn.nextafter(a, b).sum(), (a, b)),
                    torch.autograd.grad(torch.nextafter(t, u).sum(), (t, u))):
        _equal(o, r)
    same_error(lambda: edunn.nextafter(edunn.tensor([1, 2]), edunn.tensor([2, 3])),
               lambda: torch.nextafter(torch.tensor([1, 2]), torch.tensor([2, 3])))
    same_error(lambda: edunn.nextafter(edunn.tensor([1.0]), 2.0), lambda: torch.nextafter(torch.tensor([1.0]), 2.0))


@needs_torch
def test_signbit(device):
    floats = np.array(SPECIAL_FLOATS)
    for dt in ("float64", "float32", "float16", "bfloat16"):
        if bfloat16_refused_on_cuda(device, dt):
            continue
        t = torch.tensor(floats).to(getattr(torch, dt))
        got = edunn.signbit(edunn.tensor(to_numpy(t.double()), device=device).to(getattr(edunn, dt)))
        _equal(got, torch.signbit(t), dt)
    for values, dt in (([0, -3, 4, -128, 127], "int8"), ([0, 3, 255], "uint8"), ([True, False], "bool"),
                       ([-(2 ** 63), 0, 5], "int64")):
        a = np.array(values, dtype=dt)
        _equal(edunn.signbit(edunn.tensor(a, device=device)), torch.signbit(torch.tensor(a)), dt)
    x = edunn.tensor([1.0, -1.0], requires_grad=True, device=device)
    assert not edunn.signbit(x).requires_grad
    out = edunn.empty(2, dtype=edunn.bool, device=device)
    assert edunn.signbit(x.detach(), out=out) is out and to_numpy(out).tolist() == [False, True]


# ---------------------------------------------------------------------------------------- heaviside
@needs_torch
def test_heaviside_values(device):
    """0 below 0 and for NaN, ``values`` at +-0, 1 above; integers and bools too."""
    x = np.array([-1.0, -0.0, 0.0, 2.0, np.nan, -np.inf, np.inf, 5e-324])
    v = np.array([0.5, np.nan, -3.0, 0.25, 7.0, 1.0, 1.0, 9.0])
    _equal(heaviside(edunn.tensor(x, device=device), edunn.tensor(v, device=device)),
           torch.heaviside(torch.tensor(x), torch.tensor(v)))
    for xs, vs, dt in (([-2, 0, 3], [7], "int64"), ([-2, 0, 3], [7, 8, 9], "int8"), ([True, False], [True], "bool")):
        a, b = np.array(xs, dt), np.array(vs, dt)
        _equal(heaviside(edunn.tensor(a, device=device), edunn.tensor(b, device=device)),
               torch.heaviside(torch.tensor(a), torch.tensor(b)), dt)


@needs_torch
def test_heaviside_errors_and_no_derivative(device):
    same_error(lambda: heaviside(edunn.tensor([-1, 0]), edunn.tensor([0.5])),
               lambda: torch.heaviside(torch.tensor([-1, 0]), torch.tensor([0.5])))
    same_error(lambda: heaviside(edunn.tensor([1.0]), edunn.tensor(0.5, dtype=edunn.float64)),
               lambda: torch.heaviside(torch.tensor([1.0]), torch.tensor(0.5, dtype=torch.float64)))
    same_error(lambda: heaviside(edunn.tensor([1.0]), 0.5), lambda: torch.heaviside(torch.tensor([1.0]), 0.5))
    for needs in ((True, False), (False, True)):
        a = edunn.tensor([1.5, 0.0], requires_grad=needs[0], device=device)
        v = edunn.tensor([0.3, 0.2], requires_grad=needs[1], device=device)
        t, u = torch.tensor([1.5, 0.0], requires_grad=needs[0]), torch.tensor([0.3, 0.2], requires_grad=needs[1])
        y = heaviside(a, v)
        assert y.requires_grad
        same_error(lambda: y.sum().backward(), lambda: torch.heaviside(t, u).sum().backward())


# ---------------------------------------------------------------------------------------- API
@needs_torch
def test_xlogy_keeps_float32_with_a_number(device):
    """xlogy(float32 tensor, 2.5) is float32 (log of the number is not a float64 array)."""
    got = edunn.xlogy(edunn.tensor([1.0, 0.0], device=device), 2.5)
    want = torch.xlogy(torch.tensor([1.0, 0.0]), 2.5)
    assert got.dtype == edunn.float32
    assert_close(got, want)


@needs_torch
def test_xlogy_gradient_at_zero(device):
    """PyTorch's xlogy(grad, other).masked_fill((x == 0) & (other <= 0), 0): log(other) at x == 0
    for other > 0, 0 for other <= 0, NaN for NaN."""
    x = np.array([0.0, 0.0, 0.0, 0.0, 1.0])
    y = np.array([2.0, -1.0, np.nan, 0.0, -1.0])
    a, b = edunn.tensor(x, device=device, requires_grad=True), edunn.tensor(y, device=device, requires_grad=True)
    t, u = torch.tensor(x, requires_grad=True), torch.tensor(y, requires_grad=True)
    for o, r in zip(edunn.autograd.grad(edunn.xlogy(a, b).sum(), (a, b)),
                    torch.autograd.grad(torch.xlogy(t, u).sum(), (t, u))):
        np.testing.assert_array_equal(to_numpy(o), to_numpy(r))


@needs_torch
def test_out_and_names(device):
    out = edunn.empty(3, dtype=edunn.int64, device=device)
    assert edunn.gcd(edunn.tensor([4, 6, 0], device=device), edunn.tensor([6, 9, 0], device=device), out=out) is out
    assert to_numpy(out).tolist() == [2, 3, 0]
    for name in ("ldexp", "frexp", "nextafter", "signbit", "heaviside", "gcd", "lcm"):
        assert name in binary.__all__ and hasattr(torch, name)
    assert "frexp" in return_types.__all__
