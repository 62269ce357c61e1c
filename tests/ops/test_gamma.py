"""The gamma family (lgamma, digamma, polygamma, mvlgamma, zeta, igamma/igammac) against PyTorch:
values, dtypes and gradients on every device (OpSpec table), gradcheck and gradgradcheck in
float64, float64 sweeps over wide ranges and edge values, errors and the not-implemented
gradients."""
import math

import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, to_numpy, torch

INF, NAN = math.inf, math.nan


def _off_integers(low, high, gap=0.1):
    """Inputs uniform in [low, high], at least ``gap`` from every integer <= 0 (the poles)."""
    def make(rng, shapes):
        out = []
        for s in shapes:
            a = rng.uniform(low, high, size=s)
            near = (a < 0.5) & (np.abs(a - np.round(a)) < gap)
            out.append(np.where(near, np.round(a) + np.where(a >= np.round(a), gap, -gap) * 2, a))
        return out
    return make


def _pair(a_low, a_high, x_low, x_high, shape=(3, 4)):
    return lambda r: [r.uniform(a_low, a_high, shape), r.uniform(x_low, x_high, shape)]


def _e(name):
    """edunn's function by dotted name, e.g. ``special.zeta``."""
    obj = edunn
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


def _t(name):
    obj = torch
    for part in name.split("."):
        obj = getattr(obj, part)
    return obj


U = OpSpec
SPECS = [
    U("lgamma", edunn.lgamma, lambda a: torch.lgamma(a), [(3, 4)],
      make_inputs=lambda r: _off_integers(-4.5, 6)(r, [(3, 4)]), gradgrad=True),
    U("special.gammaln", edunn.special.gammaln, lambda a: torch.special.gammaln(a), [(5,)], low=0.2, high=30),
    U("digamma", edunn.digamma, lambda a: torch.digamma(a), [(3, 4)],
      make_inputs=lambda r: _off_integers(-4.5, 6)(r, [(3, 4)]), gradgrad=True),
    U("special.psi", edunn.special.psi, lambda a: torch.special.psi(a), [(5,)], low=0.2, high=30),
    U("special.digamma", edunn.special.digamma, lambda a: torch.special.digamma(a), [(5,)], low=0.2, high=30),
    *[U(f"polygamma_{n}", (lambda n: lambda a: edunn.polygamma(n, a))(n),
        (lambda n: lambda a: torch.polygamma(n, a))(n), [(3, 4)], low=0.3, high=6, gradgrad=n in (1, 2),
        atol=1e-4 * 10 ** n) for n in (0, 1, 2, 3, 5)],
    *[U(f"polygamma_{n}_negative", (lambda n: lambda a: edunn.special.polygamma(n, a))(n),
        (lambda n: lambda a: torch.special.polygamma(n, a))(n), [(6,)],
        make_inputs=(lambda r: [r.uniform(0.25, 0.75, 6) - r.integers(1, 5, 6)]), rtol=1e-3, atol=1e-3)
      for n in (1, 2, 4)],
    *[U(f"mvlgamma_p{p}", (lambda p: lambda a: edunn.mvlgamma(a, p))(p),
        (lambda p: lambda a: torch.mvlgamma(a, p))(p), [(3, 4)], low=(p - 1) / 2 + 0.3, high=(p - 1) / 2 + 5,
        gradgrad=p == 3) for p in (1, 2, 3, 5)],
    U("special.multigammaln", lambda a: edunn.special.multigammaln(a, 4),
      lambda a: torch.special.multigammaln(a, 4), [(5,)], low=2, high=6),
    U("zeta", edunn.special.zeta, lambda x, q: torch.special.zeta(x, q), [],
      make_inputs=_pair(1.5, 6, 0.2, 5), grad_inputs=[1], gradgrad=True),
    U("zeta_broadcast", edunn.special.zeta, lambda x, q: torch.special.zeta(x, q), [],
      make_inputs=lambda r: [r.uniform(2, 4, (4,)), r.uniform(0.5, 3, (3, 1))], grad_inputs=[1]),
    U("zeta_scalar_x", lambda q: edunn.special.zeta(3.0, q), lambda q: torch.special.zeta(3.0, q), [(3, 4)],
      low=0.3, high=4, gradgrad=True),
    U("zeta_scalar_q", lambda x: edunn.special.zeta(x, 2.5), lambda x: torch.special.zeta(x, 2.5), [(3, 4)],
      low=1.2, high=8, grad=False),
    U("zeta_negative_q", lambda x, q: edunn.special.zeta(x, q), lambda x, q: torch.special.zeta(x, q), [],
      make_inputs=lambda r: [r.integers(2, 6, (6,)).astype(float), r.uniform(0.2, 0.8, 6) - r.integers(1, 6, 6)],
      grad_inputs=[1], rtol=1e-3, atol=1e-3),
    U("igamma", edunn.igamma, lambda a, x: torch.igamma(a, x), [], make_inputs=_pair(0.3, 6, 0.1, 8),
      grad_inputs=[1], gradgrad=True),
    U("igammac", edunn.igammac, lambda a, x: torch.igammac(a, x), [], make_inputs=_pair(0.3, 6, 0.1, 8),
      grad_inputs=[1], gradgrad=True),
    U("igamma_broadcast", edunn.igamma, lambda a, x: torch.igamma(a, x), [],
      make_inputs=lambda r: [r.uniform(0.5, 30, (4,)), r.uniform(0.5, 40, (3, 1))], grad_inputs=[1]),
    U("igammac_large_a", edunn.igammac, lambda a, x: torch.igammac(a, x), [],
      make_inputs=lambda r: [r.uniform(20, 300, (8,)), r.uniform(15, 350, (8,))], grad_inputs=[1]),
    U("special.gammainc", edunn.special.gammainc, lambda a, x: torch.special.gammainc(a, x), [],
      make_inputs=_pair(0.3, 6, 0.1, 8), grad_inputs=[1]),
    U("special.gammaincc", edunn.special.gammaincc, lambda a, x: torch.special.gammaincc(a, x), [],
      make_inputs=_pair(0.3, 6, 0.1, 8), grad_inputs=[1]),
]

test_parity, test_gradcheck = spec_tests(SPECS, lesson=1)


# ---------------------------------------------------------------------------------------- float64 sweeps
EDGES = [0.0, -0.0, -1.0, -2.0, -7.0, -1e20, INF, -INF, NAN, 5e-324, 1e-300, 1e-9, -1e-9, 1e308, 2e305,
         1.0, 2.0, 1 + 1e-10, 2 - 1e-9, 1 - 1e-7, 0.5, -0.5, -1.5, -3 + 1e-9, -4 - 1e-7, 1e15, 1e17, 1e18]
WIDE = np.concatenate([np.linspace(-20, 20, 4001), np.geomspace(1e-12, 1e12, 500),
                       -np.geomspace(1e-6, 1e6, 300) - 0.3])
NEAR_NEG_ROOTS = [-2.4570247382208006, -2.7476826467274127, -3.1435808883499798, -3.9552942848585211]


def _compare(ours, ref, rtol, atol=0.0, what=""):
    """Same NaN positions, same infinities (with sign), finite values within rtol/atol."""
    a, e = to_numpy(ours).astype(np.float64), to_numpy(ref).astype(np.float64)
    assert a.shape == e.shape, what
    assert np.array_equal(np.isnan(a), np.isnan(e)), f"{what}: NaN at {np.flatnonzero(np.isnan(a) != np.isnan(e))}"
    inf = np.isinf(e)
    assert np.array_equal(a[inf], e[inf]) and not np.isinf(a[~inf]).any(), f"{what}: infinities differ"
    fin = np.isfinite(e)
    err = np.abs(a[fin] - e[fin])
    tol = atol + rtol * np.abs(e[fin])
    worst = np.argmax(err - tol) if err.size else 0
    assert (err <= tol).all(), f"{what}: at x={np.flatnonzero(fin)[worst]}: {a[fin][worst]!r} vs torch {e[fin][worst]!r}"


def _sweep(device, fn, tfn, values, rtol, atol=0.0):
    x = np.asarray(values, dtype=np.float64)
    _compare(fn(edunn.tensor(x, device=device)), tfn(torch.tensor(x)), rtol, atol, fn.__name__ if hasattr(fn, "__name__") else "")


@needs_torch
@pytest.mark.lesson01
def test_lgamma_float64_sweep(device):
    _sweep(device, edunn.lgamma, torch.lgamma, list(WIDE) + EDGES, rtol=1e-13, atol=1e-16)
    # ln|Gamma| has zeros on the negative axis, where only an absolute accuracy is meaningful
    _sweep(device, edunn.lgamma, torch.lgamma, NEAR_NEG_ROOTS, rtol=0, atol=1e-15)


@needs_torch
@pytest.mark.lesson01
def test_digamma_float64_sweep(device):
    _sweep(device, edunn.digamma, torch.digamma, list(WIDE) + EDGES + [1.4616321449683622], rtol=1e-13, atol=1e-16)


@needs_torch
@pytest.mark.lesson01
@pytest.mark.parametrize("n", [1, 2, 3, 4, 7, 12])
def test_polygamma_float64_sweep(device, n):
    # torch sums from q up to 9 one term at a time for a negative q: keep |q| moderate
    values = np.array([v for v in list(WIDE) + EDGES if not (n >= 2 and -1e5 > v)])
    x = edunn.tensor(values, device=device)
    ours, ref = edunn.polygamma(n, x), torch.polygamma(n, torch.tensor(values))
    pos = values > 0
    _compare(ours[edunn.tensor(pos, device=device)], ref[torch.tensor(pos)], rtol=1e-12, atol=1e-300)
    # below 0, torch's sum cancels terms as large as n!/d^(n+1) (d: the distance to the nearest
    # integer), so it is only that accurate there
    neg = ~pos & np.isfinite(values) & (values != np.round(values))
    d = np.abs(values[neg] - np.round(values[neg]))
    scale = math.factorial(n) / d ** (n + 1)
    a, e = to_numpy(ours)[neg], to_numpy(ref)[neg]
    assert (np.abs(a - e) <= 1e-12 * (np.abs(e) + scale)).all()
    edges = ~pos & ~neg
    _compare(ours[edunn.tensor(edges, device=device)], ref[torch.tensor(edges)], rtol=1e-12, atol=1e-300)


@needs_torch
@pytest.mark.lesson01
@pytest.mark.parametrize("p", [1, 2, 3, 6])
def test_mvlgamma_float64_sweep(device, p):
    values = list(np.linspace((p - 1) / 2 + 1e-3, 40, 800)) + [1e5, 1e100, INF, NAN, (p - 1) / 2 + 1e-9]
    _sweep(device, lambda x: edunn.mvlgamma(x, p), lambda x: torch.mvlgamma(x, p), values, rtol=1e-13, atol=1e-15)


@needs_torch
@pytest.mark.lesson01
def test_zeta_float64_grid(device):
    xs = np.array([1.0, 1 + 1e-9, 1.5, 2.0, 2.5, 3.0, 4.7, 10.0, 30.0, 100.0, 0.5, -2.0, INF, NAN])
    qs = np.array([1e-300, 1e-5, 0.3, 1.0, 2.5, 10.0, 1e3, 1e8, 1e300, 0.0, -0.0, -1.0, -0.5, -2.3,
                   -7.75, -40.1, INF, -INF, NAN])
    X, Q = np.meshgrid(xs, qs)
    ours = edunn.special.zeta(edunn.tensor(X, device=device), edunn.tensor(Q, device=device))
    ref = torch.special.zeta(torch.tensor(X), torch.tensor(Q))
    _compare(ours, ref, rtol=1e-12, atol=1e-300, what="zeta")


IGAM_A = [0.0, 1e-300, 1e-10, 1e-3, 0.1, 0.5, 1.0, 1.5, 2.0, 3.7, 5.0, 10.0, 19.9, 20.0, 20.1, 30.0, 50.0,
          100.0, 150.0, 199.0, 200.0, 201.0, 250.0, 500.0, 1e3, 5e3, 1e4, 5e4, INF, NAN, -1.0]
IGAM_X = [0.0, 1e-300, 1e-10, 1e-3, 0.1, 0.3, 0.5, 0.7, 1.0, 1.05, 1.1, 1.2, 1.5, 2.0, 3.0, 5.0, 9.0, 10.0,
          15.0, 19.0, 20.0, 21.0, 25.0, 30.0, 40.0, 60.0, 100.0, 140.0, 190.0, 200.0, 210.0, 300.0, 1e3,
          1.1e3, 4e3, 5e3, 6e3, 1e4, 1.05e4, 2e4, 5.1e4, 1e6, INF, NAN, -1.0]


def _igamma_tolerance(a, x):
    """x^a e^-x / Gamma(a) is computed as exp(a ln x - x - lgamma(a)): a rounding of those terms
    (each correct to an ulp or two, in torch and here) is a relative error of the result."""
    with np.errstate(all="ignore"):
        size = np.abs(a * np.log(x)) + np.abs(x) + np.abs(a * np.log(a))
    return 1e-12 + 4e-16 * np.nan_to_num(size, nan=0.0, posinf=0.0)


@needs_torch
@pytest.mark.lesson01
@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma_float64_grid(device, name):
    A, X = (v.ravel() for v in np.meshgrid(IGAM_A, IGAM_X))
    rng = np.random.default_rng(5)  # and random points, a up to 1e5 (beyond, torch's 2000 terms run out)
    ra = np.concatenate([10 ** rng.uniform(-6, 2.5, 4000), 10 ** rng.uniform(-3, 5, 4000), rng.uniform(0, 25, 2000)])
    rx = np.concatenate([ra[:4000] * 10 ** rng.uniform(-1, 1, 4000), 10 ** rng.uniform(-4, 6, 4000),
                         rng.uniform(0, 40, 2000)])
    A, X = np.concatenate([A, ra]), np.concatenate([X, rx])
    ours = getattr(edunn, name)(edunn.tensor(A, device=device), edunn.tensor(X, device=device))
    ref = getattr(torch, name)(torch.tensor(A), torch.tensor(X))
    _compare(ours, ref, rtol=1, what=f"{name} special values")  # the NaN and infinity patterns
    a, e = to_numpy(ours), to_numpy(ref)
    fin = np.isfinite(e) & (np.abs(e) > 1e-290)
    rel = np.abs(a[fin] - e[fin]) / np.abs(e[fin])
    tol = _igamma_tolerance(A[fin], X[fin])
    worst = np.argmax(rel / tol)
    assert (rel <= tol).all(), f"{name}({A[fin][worst]}, {X[fin][worst]}): {a[fin][worst]!r} vs torch {e[fin][worst]!r}"
    assert (a[np.isfinite(a)] >= 0).all() and (a[np.isfinite(a)] <= 1 + 1e-13).all()  # torch: 1 + 7e-14 at a = 1e-300


@pytest.mark.lesson01
def test_igamma_large_a_against_exact_values(device):
    """a = 698676, x = 691988: torch's series stops after 2000 terms (relative error 2e-10); the
    exact values are from mpmath at 40 digits."""
    a = edunn.tensor([698676.0734312461, 1e6], device=device, dtype=edunn.float64)
    x = edunn.tensor([691988.44223825657, 1.002e6], device=device, dtype=edunn.float64)
    exact_p = np.array([5.031431191282217708470943085777e-16, 0.0])
    exact_q = np.array([0.0, 0.0228040958987698627581601310844])
    p, q = to_numpy(edunn.igamma(a, x)), to_numpy(edunn.igammac(a, x))
    assert abs(p[0] - exact_p[0]) <= 1e-12 * exact_p[0]
    assert abs(q[1] - exact_q[1]) <= 1e-10 * exact_q[1]  # torch's float pi: 1e-11 here
    assert abs(p[1] + q[1] - 1) < 1e-15 and abs(p[0] + q[0] - 1) < 1e-15


# ---------------------------------------------------------------------------------------- dtypes, float32
@needs_torch
@pytest.mark.lesson01
@pytest.mark.parametrize("name,args", [("lgamma", ()), ("digamma", ()), ("polygamma", (1,)),
                                       ("polygamma", (3,)), ("mvlgamma", (2,))])
@pytest.mark.parametrize("dtype", ["int64", "int32", "float16", "float32", "float64"])
def test_unary_dtypes(device, name, args, dtype):
    x = np.array([1, 2, 3, 5, 8]).astype(dtype)
    if name == "polygamma":
        ours, ref = edunn.polygamma(args[0], edunn.tensor(x, device=device)), torch.polygamma(args[0], torch.tensor(x))
    else:
        ours = getattr(edunn, name)(edunn.tensor(x, device=device), *args)
        ref = getattr(torch, name)(torch.tensor(x), *args)
    assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
    tol = {"float16": 2e-3}.get(str(ref.dtype).split(".")[-1], 2e-6)
    assert_close(ours, ref, atol=tol, rtol=tol, what=f"{name} {dtype}")


@needs_torch
@pytest.mark.lesson01
def test_float32_equals_torch_within_rounding(device):
    x = np.concatenate([np.linspace(-9.95, 30, 1601), np.geomspace(1e-6, 1e30, 200)]).astype(np.float32)
    x = x[np.abs(x - np.round(x)) > 1e-3]  # float32 poles are not where float64 ones are
    for name, fn, tfn in [("lgamma", edunn.lgamma, torch.lgamma), ("digamma", edunn.digamma, torch.digamma),
                          ("polygamma2", lambda t: edunn.polygamma(2, t), lambda t: torch.polygamma(2, t))]:
        ours, ref = fn(edunn.tensor(x, device=device)), tfn(torch.tensor(x))
        assert str(ours.dtype) == "edunn.float32"
        _compare(ours, ref, rtol=3e-5, atol=2e-5, what=name)


@needs_torch
@pytest.mark.lesson01
@pytest.mark.parametrize("name", ["special.zeta", "igamma", "igammac"])
def test_binary_dtype_promotion(device, name):
    for a, b in [(np.array([2, 3]), np.array([1.5, 2.0], np.float32)),
                 (np.array([2.0, 3.0]), np.array([1.5, 2.0], np.float32)),
                 (np.array([2.0, 3.0], np.float16), np.array([1.5, 2.0], np.float16)),
                 (np.array([2, 3]), np.array([1, 2]))]:
        try:
            ref = _t(name)(torch.tensor(a), torch.tensor(b))
        except NotImplementedError as err:  # torch's CPU kernel refuses that dtype: so does edunn
            with pytest.raises(NotImplementedError) as got:
                _e(name)(edunn.tensor(a), edunn.tensor(b))
            assert str(got.value) == str(err)
            continue
        ours = _e(name)(edunn.tensor(a, device=device), edunn.tensor(b, device=device))
        assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
        assert_close(ours, ref, atol=2e-3, rtol=2e-3)


@needs_torch
@pytest.mark.lesson01
def test_zeta_dtype_promotion(device):
    for a, b in [(np.array([2, 3]), np.array([1.5, 2.0], np.float32)),
                 (np.array([2.0, 3.0]), np.array([1.5, 2.0], np.float32)),
                 (np.array([2, 3]), np.array([1, 2]))]:
        ours = edunn.special.zeta(edunn.tensor(a, device=device), edunn.tensor(b, device=device))
        ref = torch.special.zeta(torch.tensor(a), torch.tensor(b))
        assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
        assert_close(ours, ref, atol=1e-6, rtol=1e-6)
    for x, q in [(2, np.array([1.5, 2.0])), (np.array([2, 3]), 1.5)]:
        ours = edunn.special.zeta(*(edunn.tensor(v, device=device) if isinstance(v, np.ndarray) else v for v in (x, q)))
        ref = torch.special.zeta(*(torch.tensor(v) if isinstance(v, np.ndarray) else v for v in (x, q)))
        assert str(ours.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1]
        assert_close(ours, ref, atol=1e-6, rtol=1e-6)


# ---------------------------------------------------------------------------------------- gradients
@needs_torch
@pytest.mark.lesson01
def test_first_and_second_derivatives_float64(device):
    x = np.array([-3.7, -1.2, -0.4, 0.3, 1.0, 2.5, 7.0, 40.0])
    for name, fn, tfn in [("lgamma", edunn.lgamma, torch.lgamma), ("digamma", edunn.digamma, torch.digamma),
                          ("polygamma2", lambda t: edunn.polygamma(2, t), lambda t: torch.polygamma(2, t)),
                          ("mvlgamma", lambda t: edunn.mvlgamma(t + 5, 3), lambda t: torch.mvlgamma(t + 5, 3))]:
        a = edunn.tensor(x, device=device, requires_grad=True)
        b = torch.tensor(x, requires_grad=True)
        ga, = edunn.autograd.grad(fn(a).sum(), a, create_graph=True)
        gb, = torch.autograd.grad(tfn(b).sum(), b, create_graph=True)
        _compare(ga, gb, rtol=1e-12, what=f"{name}'")
        gga, = edunn.autograd.grad(ga.sum(), a)
        ggb, = torch.autograd.grad(gb.sum(), b)
        _compare(gga, ggb, rtol=1e-12, what=f"{name}''")


@needs_torch
@pytest.mark.lesson01
@pytest.mark.parametrize("name", ["igamma", "igammac"])
def test_igamma_gradient_in_a_is_not_implemented(device, name):
    a, x = torch.tensor([2.0, 3.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(NotImplementedError) as expected:
        getattr(torch, name)(a, x).sum().backward()
    a, x = (edunn.tensor([2.0, 3.0], requires_grad=True, device=device),
            edunn.tensor([1.0, 2.0], requires_grad=True, device=device))
    with pytest.raises(NotImplementedError) as got:
        getattr(edunn, name)(a, x).sum().backward()
    assert str(got.value) == str(expected.value)
    # only x requiring grad: fine, and equal to torch's
    x64 = np.array([0.5, 2.0, 7.0])
    xt, xe = torch.tensor(x64, requires_grad=True), edunn.tensor(x64, requires_grad=True, device=device)
    getattr(torch, name)(torch.tensor([1.5, 2.0, 9.0], dtype=torch.float64), xt).sum().backward()
    getattr(edunn, name)(edunn.tensor([1.5, 2.0, 9.0], dtype=edunn.float64, device=device), xe).sum().backward()
    _compare(xe.grad, xt.grad, rtol=1e-13, what=f"{name} grad")


@needs_torch
@pytest.mark.lesson01
def test_zeta_gradient_in_x_is_not_implemented(device):
    for make in (lambda m, dev: (m.tensor([2.0, 3.0], requires_grad=True, **dev), m.tensor([1.0, 2.0], **dev)),
                 lambda m, dev: (m.tensor([2.0, 3.0], requires_grad=True, **dev), 1.5)):
        x, q = make(torch, {})
        with pytest.raises(NotImplementedError) as expected:
            torch.special.zeta(x, q).sum().backward()
        x, q = make(edunn, {"device": device})
        with pytest.raises(NotImplementedError) as got:
            edunn.special.zeta(x, q).sum().backward()
        assert str(got.value) == str(expected.value)


# ---------------------------------------------------------------------------------------- errors, out=
def _raises_like_torch(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    assert str(got.value) == str(expected.value)


@needs_torch
@pytest.mark.lesson01
def test_errors_match_torch():
    e, t = edunn.tensor([2.0, 3.0]), torch.tensor([2.0, 3.0])
    _raises_like_torch(lambda: edunn.polygamma(-1, e), lambda: torch.polygamma(-1, t))
    _raises_like_torch(lambda: edunn.polygamma(1.5, e), lambda: torch.polygamma(1.5, t))
    _raises_like_torch(lambda: edunn.mvlgamma(e, 0), lambda: torch.mvlgamma(t, 0))
    _raises_like_torch(lambda: edunn.mvlgamma(e, 1.5), lambda: torch.mvlgamma(t, 1.5))
    _raises_like_torch(lambda: edunn.special.multigammaln(e, -2), lambda: torch.special.multigammaln(t, -2))
    _raises_like_torch(lambda: edunn.special.zeta(2.0, 3.0), lambda: torch.special.zeta(2.0, 3.0))
    _raises_like_torch(lambda: edunn.igamma(e, 2.0), lambda: torch.igamma(t, 2.0))
    _raises_like_torch(lambda: edunn.igammac(1.5, e), lambda: torch.igammac(1.5, t))


@needs_torch
@pytest.mark.lesson01
def test_mvlgamma_outside_domain_is_not_checked_as_torch():
    x = np.array([0.1, 0.5, 0.75, -1.5, 1.0])
    _compare(edunn.mvlgamma(edunn.tensor(x), 3), torch.mvlgamma(torch.tensor(x), 3), rtol=1e-13)


@needs_torch
@pytest.mark.lesson01
def test_out_argument(device):
    x = np.array([0.5, 1.5, 4.0])
    for name, ours, ref in [
            ("lgamma", lambda o: edunn.lgamma(edunn.tensor(x, device=device), out=o), torch.lgamma(torch.tensor(x))),
            ("polygamma", lambda o: edunn.polygamma(2, edunn.tensor(x, device=device), out=o),
             torch.polygamma(2, torch.tensor(x))),
            ("mvlgamma", lambda o: edunn.mvlgamma(edunn.tensor(x + 2, device=device), 2, out=o),
             torch.mvlgamma(torch.tensor(x + 2), 2)),
            ("zeta", lambda o: edunn.special.zeta(edunn.tensor(x + 1, device=device), 2.0, out=o),
             torch.special.zeta(torch.tensor(x + 1), 2.0)),
            ("igamma", lambda o: edunn.igamma(edunn.tensor(x, device=device), edunn.tensor(x + 1, device=device), out=o),
             torch.igamma(torch.tensor(x), torch.tensor(x + 1))),
            ("gammaincc", lambda o: edunn.special.gammaincc(edunn.tensor(x, device=device),
                                                            edunn.tensor(x + 1, device=device), out=o),
             torch.special.gammaincc(torch.tensor(x), torch.tensor(x + 1)))]:
        o = edunn.zeros(3, dtype=edunn.float64, device=device)
        assert ours(o) is o
        _compare(o, ref, rtol=1e-13, what=name)
