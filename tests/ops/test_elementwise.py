"""Elementwise ops: PyTorch parity (values, dtypes, gradients), gradcheck, dtype promotion, errors."""
import math

import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

def _away_from(points, low=-2.0, high=2.0, gap=0.15):
    """Inputs uniform in [low, high] but at least ``gap`` from each kink in ``points``."""
    def make(rng, shapes):
        out = []
        for s in shapes:
            a = rng.uniform(low, high, size=s)
            for p in points:
                a = np.where(np.abs(a - p) < gap, p + gap * np.sign(a - p + 1e-12) * 2, a)
            out.append(a)
        return out
    return make


def _pairs_apart(rng, shape=(3, 4)):
    """Two inputs that are never (nearly) equal, for max/min-like ops."""
    a = rng.uniform(-2, 2, size=shape)
    b = a + rng.choice([-1, 1], size=shape) * rng.uniform(0.2, 1.0, size=shape)
    return [a, b]


U = OpSpec  # short alias for the table below

UNARY = [
    U("abs", lambda a: a.abs(), lambda a: a.abs(), [(3, 4)], make_inputs=lambda r: _away_from([0])(r, [(3, 4)]), gradgrad=True),
    U("sign", lambda a: a.sign(), lambda a: a.sign(), [(3, 4)]),
    U("exp2", lambda a: a.exp2(), lambda a: a.exp2(), [(3, 4)]),
    U("expm1", lambda a: a.expm1(), lambda a: a.expm1(), [(3, 4)], gradgrad=True),
    U("log2", lambda a: a.log2(), lambda a: a.log2(), [(3, 4)], low=0.2, high=3),
    U("log10", lambda a: a.log10(), lambda a: a.log10(), [(3, 4)], low=0.2, high=3),
    U("log1p", lambda a: a.log1p(), lambda a: a.log1p(), [(3, 4)], low=-0.5, high=3),
    U("sqrt", lambda a: a.sqrt(), lambda a: a.sqrt(), [(3, 4)], low=0.2, high=3, gradgrad=True),
    U("rsqrt", lambda a: a.rsqrt(), lambda a: a.rsqrt(), [(3, 4)], low=0.2, high=3),
    U("square", lambda a: a.square(), lambda a: a.square(), [(3, 4)], gradgrad=True),
    U("sin", lambda a: a.sin(), lambda a: a.sin(), [(3, 4)], gradgrad=True),
    U("cos", lambda a: a.cos(), lambda a: a.cos(), [(3, 4)], gradgrad=True),
    U("tan", lambda a: a.tan(), lambda a: a.tan(), [(3, 4)], low=-1.2, high=1.2),
    U("asin", lambda a: a.asin(), lambda a: a.asin(), [(3, 4)], low=-0.9, high=0.9),
    U("acos", lambda a: a.acos(), lambda a: a.acos(), [(3, 4)], low=-0.9, high=0.9),
    U("atan", lambda a: a.atan(), lambda a: a.atan(), [(3, 4)]),
    U("sinh", lambda a: a.sinh(), lambda a: a.sinh(), [(3, 4)]),
    U("cosh", lambda a: a.cosh(), lambda a: a.cosh(), [(3, 4)]),
    U("asinh", lambda a: a.asinh(), lambda a: a.asinh(), [(3, 4)]),
    U("acosh", lambda a: a.acosh(), lambda a: a.acosh(), [(3, 4)], low=1.2, high=3),
    U("atanh", lambda a: a.atanh(), lambda a: a.atanh(), [(3, 4)], low=-0.9, high=0.9),
    U("logit", lambda a: a.logit(), lambda a: a.logit(), [(3, 4)], low=0.05, high=0.95),
    U("logit_eps", lambda a: a.logit(eps=0.2), lambda a: a.logit(eps=0.2), [(3, 4)],
      make_inputs=lambda r: _away_from([0.2, 0.8], 0.0, 1.0, 0.05)(r, [(3, 4)])),
    U("floor", lambda a: a.floor(), lambda a: a.floor(), [(3, 4)]),
    U("ceil", lambda a: a.ceil(), lambda a: a.ceil(), [(3, 4)]),
    U("round", lambda a: a.round(), lambda a: a.round(), [(3, 4)], low=-5, high=5),
    U("round_decimals", lambda a: a.round(decimals=2), lambda a: a.round(decimals=2), [(3, 4)]),
    U("trunc", lambda a: a.trunc(), lambda a: a.trunc(), [(3, 4)]),
    U("frac", lambda a: a.frac(), lambda a: a.frac(), [(3, 4)], make_inputs=lambda r: _away_from([-1, 0, 1])(r, [(3, 4)])),
    U("reciprocal", lambda a: a.reciprocal(), lambda a: a.reciprocal(), [(3, 4)], low=0.3, high=2, gradgrad=True),
    U("erf", lambda a: a.erf(), lambda a: a.erf(), [(3, 4)], low=-3, high=3, gradgrad=True),
    U("erfc", lambda a: a.erfc(), lambda a: a.erfc(), [(3, 4)], low=-3, high=3),
    U("erfinv", lambda a: a.erfinv(), lambda a: a.erfinv(), [(3, 4)], low=-0.95, high=0.95),
    U("deg2rad", edunn.deg2rad, lambda a: torch.deg2rad(a), [(3,)]),
    U("rad2deg", edunn.rad2deg, lambda a: torch.rad2deg(a), [(3,)]),
    U("sinc", edunn.sinc, lambda a: torch.sinc(a), [(3, 4)]),
    U("clamp_scalars", lambda a: a.clamp(-0.5, 0.7), lambda a: a.clamp(-0.5, 0.7), [(3, 4)],
      make_inputs=lambda r: _away_from([-0.5, 0.7], gap=0.05)(r, [(3, 4)])),
    U("clamp_min", lambda a: a.clamp(min=0.1), lambda a: a.clamp(min=0.1), [(3, 4)],
      make_inputs=lambda r: _away_from([0.1], gap=0.05)(r, [(3, 4)])),
    U("clamp_max_fn", lambda a: edunn.clamp_max(a, 0.3), lambda a: torch.clamp_max(a, 0.3), [(3, 4)],
      make_inputs=lambda r: _away_from([0.3], gap=0.05)(r, [(3, 4)])),
    U("clamp_tensors", lambda a, lo, hi: a.clamp(lo, hi), lambda a, lo, hi: a.clamp(lo, hi), [],
      make_inputs=lambda r: [r.uniform(-2, 2, (3, 4)), r.uniform(-1.5, -0.5, (4,)), r.uniform(0.5, 1.5, (3, 1))]),
    U("nan_to_num", lambda a: a.nan_to_num(), lambda a: a.nan_to_num(), [(3, 4)]),
    U("sigmoid_int_free", lambda a: edunn.sigmoid(a), lambda a: torch.sigmoid(a), [(2, 2)]),
]

BINARY = [
    U("div_trunc", lambda a, b: a.div(b, rounding_mode="trunc"), lambda a, b: a.div(b, rounding_mode="trunc"),
      [(3, 4), (4,)], low=0.3, high=3, grad=False),
    U("div_floor", lambda a, b: a.div(b, rounding_mode="floor"), lambda a, b: a.div(b, rounding_mode="floor"),
      [(3, 4), (4,)], low=-3, high=3, grad=False),
    U("floordiv_op", lambda a, b: a // b, lambda a, b: a // b, [(3, 4), (3, 4)], low=0.3, high=3, grad=False),
    U("remainder", lambda a, b: a % b, lambda a, b: a % b, [],
      make_inputs=lambda r: [r.uniform(-5, 5, (3, 4)), r.choice([-1, 1], (4,)) * r.uniform(0.7, 1.3, (4,))]),
    U("fmod", lambda a, b: a.fmod(b), lambda a, b: a.fmod(b), [],
      make_inputs=lambda r: [r.uniform(-5, 5, (3, 4)), r.choice([-1, 1], (3, 4)) * r.uniform(0.7, 1.3, (3, 4))]),
    U("float_power", lambda a, b: a.float_power(b), lambda a, b: a.float_power(b), [(3,), (3,)], low=0.5, high=2),
    U("atan2", lambda a, b: a.atan2(b), lambda a, b: a.atan2(b), [(3, 4), (4,)], gradgrad=True),
    U("hypot", lambda a, b: a.hypot(b), lambda a, b: a.hypot(b), [(3, 4), (3, 4)], low=0.2, high=2),
    U("maximum", lambda a, b: a.maximum(b), lambda a, b: a.maximum(b), [], make_inputs=_pairs_apart, gradgrad=True),
    U("minimum", lambda a, b: a.minimum(b), lambda a, b: a.minimum(b), [], make_inputs=_pairs_apart),
    U("fmax", lambda a, b: a.fmax(b), lambda a, b: a.fmax(b), [], make_inputs=_pairs_apart),
    U("fmin", lambda a, b: a.fmin(b), lambda a, b: a.fmin(b), [], make_inputs=_pairs_apart),
    U("logaddexp", lambda a, b: a.logaddexp(b), lambda a, b: a.logaddexp(b), [(3, 4), (4,)], gradgrad=True),
    U("logaddexp2", edunn.logaddexp2, lambda a, b: torch.logaddexp2(a, b), [(3, 4), (3, 4)]),
    U("xlogy", lambda a, b: a.xlogy(b), lambda a, b: a.xlogy(b), [(3, 4), (3, 4)], low=0.2, high=2),
    U("copysign", lambda a, b: a.copysign(b), lambda a, b: a.copysign(b), [],
      make_inputs=lambda r: _away_from([0])(r, [(3, 4), (3, 4)])),
    U("lerp_scalar", lambda a, b: a.lerp(b, 0.3), lambda a, b: a.lerp(b, 0.3), [(3, 4), (3, 4)]),
    U("lerp_tensor", lambda a, b, w: a.lerp(b, w), lambda a, b, w: a.lerp(b, w), [(3, 4), (3, 4), (3, 4)]),
    U("addcmul", lambda a, b, c: a.addcmul(b, c, value=0.5), lambda a, b, c: a.addcmul(b, c, value=0.5),
      [(3, 4), (3, 4), (4,)], gradgrad=True),
    U("addcdiv", lambda a, b, c: a.addcdiv(b, c, value=2), lambda a, b, c: a.addcdiv(b, c, value=2),
      [(3, 4), (3, 4), (4,)], low=0.5, high=2),
    U("pow_neg_base_int_exp", lambda a: a ** 2, lambda a: a ** 2, [(4,)], low=-2, high=-0.5),
    U("rpow_tensor_exp", lambda a: 3.0 ** a, lambda a: 3.0 ** a, [(4,)]),
]

SPECS = UNARY + BINARY


# Step functions have zero gradient almost everywhere but jump at integers: no finite differences.
GRADCHECK = [s for s in SPECS if s.grad and not s.name.startswith(("sign", "floor", "ceil", "round", "trunc"))]
test_parity, test_gradcheck = spec_tests(SPECS, lesson=2, gradcheck=GRADCHECK)


# ---------------------------------------------------------------------------------------- special values
@needs_torch
@pytest.mark.lesson02
def test_kinks_have_pytorch_gradients():
    """abs at 0 -> 0; clamp at the bounds passes the gradient; maximum/minimum split ties."""
    vals = [-1.0, 0.0, 0.5, 1.0]
    for name, fn in [("abs", lambda x: x.abs()), ("clamp", lambda x: x.clamp(0.0, 0.5)),
                     ("relu", lambda x: x.relu()), ("sign", lambda x: x.sign()),
                     ("max_tie", lambda x: x.maximum(x.detach() * 0 + 0.5)),
                     ("min_tie", lambda x: x.minimum(x.detach() * 0 + 0.5)),
                     ("fmax_tie", lambda x: x.fmax(x.detach() * 0 + 0.5)),
                     ("sinc", edunn.sinc if False else (lambda x: (edunn if isinstance(x, edunn.Tensor) else torch).sinc(x)))]:
        a = edunn.tensor(vals, requires_grad=True)
        b = torch.tensor(vals, requires_grad=True)
        fn(a).sum().backward()
        fn(b).sum().backward()
        assert_close(a.grad, b.grad, what=name)


@needs_torch
@pytest.mark.lesson02
def test_maximum_tie_gradient_split_between_tensors():
    a, b = edunn.tensor([1.0, 2.0], requires_grad=True), edunn.tensor([1.0, 3.0], requires_grad=True)
    edunn.maximum(a, b).sum().backward()
    assert a.grad.tolist() == [0.5, 0.0] and b.grad.tolist() == [0.5, 1.0]


def test_erf_accuracy_against_math():
    xs = np.linspace(-7, 7, 2001)
    got = edunn.erf(edunn.tensor(xs)).numpy()
    ref = np.array([math.erf(v) for v in xs])
    np.testing.assert_allclose(got, ref, rtol=1e-13, atol=1e-300)
    got_c = edunn.erfc(edunn.tensor(xs)).numpy()
    np.testing.assert_allclose(got_c, [math.erfc(v) for v in xs], rtol=1e-10, atol=1e-300)
    tiny = edunn.erf(edunn.tensor([1e-10, -1e-200], dtype=edunn.float64)).numpy()
    np.testing.assert_allclose(tiny, [2e-10 / math.sqrt(math.pi), -2e-200 / math.sqrt(math.pi)], rtol=1e-14)


def test_erfinv_inverts_erf_and_edges():
    ys = np.linspace(-0.999999, 0.999999, 1001)
    back = edunn.erf(edunn.erfinv(edunn.tensor(ys))).numpy()
    np.testing.assert_allclose(back, ys, atol=1e-14)
    edge = edunn.erfinv(edunn.tensor([-1.0, 1.0, 1.5, 0.0], dtype=edunn.float64)).tolist()
    assert edge[0] == -math.inf and edge[1] == math.inf and math.isnan(edge[2]) and edge[3] == 0.0


# ---------------------------------------------------------------------------------------- dtypes
PROMOTION = [
    ("int_plus_float_scalar", lambda m: m.tensor([1, 2]) + 2.5),
    ("int_times_int_scalar", lambda m: m.tensor([1, 2]) * 3),
    ("int32_plus_int64", lambda m: m.tensor([1, 2], dtype=m.int32) + m.tensor([1, 2])),
    ("float16_plus_float32", lambda m: m.tensor([1.0], dtype=m.float16) + m.tensor([1.0])),
    ("f64_0dim_with_f32", lambda m: m.tensor(2.0, dtype=m.float64) * m.tensor([1.0, 2.0])),
    ("int_0dim_f64_with_int32", lambda m: m.tensor(2, dtype=m.int64) * m.tensor([1, 2], dtype=m.int32)),
    ("float_0dim_with_int", lambda m: m.tensor(2.5, dtype=m.float64) * m.tensor([1, 2])),
    ("bool_plus_int", lambda m: m.tensor([True, False]) + m.tensor([1, 2], dtype=m.int8)),
    ("bool_plus_bool", lambda m: m.tensor([True, False]) + m.tensor([True, True])),
    ("float16_times_float_scalar", lambda m: m.tensor([1.0], dtype=m.float16) * 2.5),
    ("int_div_int", lambda m: m.tensor([3, 4]) / m.tensor([2, 8])),
    ("int_floordiv", lambda m: m.tensor([-7, 7]) // m.tensor([2, -2])),
    ("int_trunc_div", lambda m: m.div(m.tensor([-7, 7]), m.tensor([2, -2]), rounding_mode="trunc")),
    ("int_remainder", lambda m: m.tensor([-7, 7]) % m.tensor([3, -3])),
    ("int_fmod", lambda m: m.fmod(m.tensor([-7, 7]), m.tensor([3, -3]))),
    ("exp_of_int", lambda m: m.exp(m.tensor([1, 2]))),
    ("sqrt_of_bool", lambda m: m.sqrt(m.tensor([True, False]))),
    ("atan2_int", lambda m: m.atan2(m.tensor([1, 2]), m.tensor([2, 1]))),
    ("abs_int", lambda m: m.abs(m.tensor([-3, 2]))),
    ("floor_int", lambda m: m.floor(m.tensor([-3, 2]))),
    ("square_int", lambda m: m.square(m.tensor([-3, 2]))),
    ("sign_bool", lambda m: m.sign(m.tensor([True, False]))),
    ("maximum_int_float", lambda m: m.maximum(m.tensor([1, 5]), m.tensor([2.5, 1.0]))),
    ("clamp_int_float_bound", lambda m: m.clamp(m.tensor([1, 5]), min=2.5)),
    ("float_power_int", lambda m: m.float_power(m.tensor([1, 2]), 2)),
    ("xlogy_zero", lambda m: m.xlogy(m.tensor([0.0, 1.0, 0.0]), m.tensor([0.0, 2.0, float("nan")]))),
    ("eq_int_float", lambda m: m.tensor([1, 2]) == 2.0),
    ("lt_scalar_left", lambda m: 1.5 < m.tensor([1.0, 2.0])),
    ("ge_broadcast", lambda m: m.tensor([[1.0], [3.0]]) >= m.tensor([1.0, 2.0, 3.0])),
    ("isclose", lambda m: m.isclose(m.tensor([1.0, float("inf"), float("nan"), 1.0]),
                                    m.tensor([1.0 + 1e-9, float("inf"), float("nan"), 1.1]))),
    ("isclose_equal_nan", lambda m: m.isclose(m.tensor([float("nan")]), m.tensor([float("nan")]), equal_nan=True)),
    ("isnan", lambda m: m.isnan(m.tensor([1.0, float("nan")]))),
    ("isinf_int", lambda m: m.isinf(m.tensor([1, 2]))),
    ("isfinite", lambda m: m.isfinite(m.tensor([1.0, float("inf"), float("nan")]))),
    ("isposinf", lambda m: m.isposinf(m.tensor([1.0, float("inf"), -float("inf")]))),
    ("isneginf", lambda m: m.isneginf(m.tensor([1.0, float("inf"), -float("inf")]))),
    ("logical_and", lambda m: m.logical_and(m.tensor([1, 0, 2]), m.tensor([1.0, 1.0, 0.0]))),
    ("logical_or", lambda m: m.logical_or(m.tensor([1, 0, 0]), m.tensor([0, 0, 3]))),
    ("logical_xor", lambda m: m.logical_xor(m.tensor([1, 0, 2]), m.tensor([True, True, False]))),
    ("logical_not", lambda m: m.logical_not(m.tensor([1.0, 0.0]))),
    ("bitwise_and", lambda m: m.tensor([12, 10]) & m.tensor([10, 6])),
    ("bitwise_or_bool", lambda m: m.tensor([True, False]) | m.tensor([False, False])),
    ("bitwise_xor_scalar", lambda m: m.tensor([12, 10], dtype=m.int16) ^ 3),
    ("bitwise_not", lambda m: ~m.tensor([0, 5, -3])),
    ("invert_bool", lambda m: ~m.tensor([True, False])),
    ("left_shift", lambda m: m.tensor([1, 3]) << m.tensor([2, 1])),
    ("right_shift", lambda m: m.tensor([16, 7]) >> 1),
    ("heaviside", lambda m: m.heaviside(m.tensor([-1.0, 0.0, 2.0]), m.tensor([0.5]))),
    ("nan_to_num_args", lambda m: m.nan_to_num(m.tensor([float("nan"), float("inf"), -float("inf"), 1.0]),
                                               nan=1.0, posinf=9.0, neginf=-9.0)),
    ("nan_to_num_default", lambda m: m.nan_to_num(m.tensor([float("nan"), float("inf"), -float("inf")]))),
    ("round_half_even", lambda m: m.round(m.tensor([0.5, 1.5, 2.5, -0.5]))),
    ("logit_eps_edges", lambda m: m.logit(m.tensor([0.0, 0.5, 1.0]), eps=0.1)),
]


@needs_torch
@pytest.mark.lesson01
@pytest.mark.parametrize("name,fn", PROMOTION, ids=[p[0] for p in PROMOTION])
def test_dtype_and_values_match_pytorch(name, fn):
    out, ref = fn(edunn), fn(torch)
    assert str(out.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], f"{name}: {out.dtype} vs {ref.dtype}"
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref.numpy().astype(np.float64), rtol=1e-6, equal_nan=True)


@needs_torch
@pytest.mark.lesson01
def test_equal_and_allclose_return_python_bools():
    a, b = edunn.tensor([1.0, 2.0]), edunn.tensor([1.0, 2.0 + 1e-6])
    assert edunn.equal(a, a) is True and edunn.equal(a, b) is False
    assert edunn.equal(a, edunn.tensor([1.0, 2.0, 3.0])) is False
    assert a.allclose(b) is True and edunn.allclose(a, a + 1) is False


@pytest.mark.lesson01
@pytest.mark.parametrize("op", ["+", "-", "*", "/", "==", "maximum", "atan2", "&"])
def test_shape_mismatch_names_both_shapes(op):
    a = edunn.ones(2, 3, dtype=edunn.int64 if op == "&" else None)
    b = edunn.ones(4, dtype=edunn.int64 if op == "&" else None)
    fns = {"+": lambda: a + b, "-": lambda: a - b, "*": lambda: a * b, "/": lambda: a / b,
           "==": lambda: a == b, "maximum": lambda: edunn.maximum(a, b), "atan2": lambda: edunn.atan2(a, b),
           "&": lambda: a & b}
    with pytest.raises(RuntimeError, match=r"\[2, 3\].*\[4\]"):
        fns[op]()


@pytest.mark.lesson01
def test_errors_match_pytorch():
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        edunn.tensor([1, 2]) // edunn.tensor([1, 0])
    with pytest.raises(RuntimeError, match="ZeroDivisionError"):
        edunn.tensor([1, 2]) % 0
    with pytest.raises(NotImplementedError, match="not implemented for"):
        edunn.tensor([1.0]) & edunn.tensor([1.0])
    with pytest.raises(RuntimeError, match="bool"):
        edunn.tensor([True]) - edunn.tensor([False])
    with pytest.raises(ValueError, match="rounding_mode"):
        edunn.div(edunn.ones(2), 2, rounding_mode="ceil")
    with pytest.raises(RuntimeError, match="At least one"):
        edunn.clamp(edunn.ones(2))
    with pytest.raises(TypeError, match="Python number"):
        edunn.ones(2) + "a"
    with pytest.raises(RuntimeError, match="different dtypes"):
        edunn.heaviside(edunn.ones(2), edunn.ones(2, dtype=edunn.float64))


@pytest.mark.lesson01
def test_functional_names_exist():
    for name in ["absolute", "arcsin", "arccos", "arctan", "arcsinh", "arccosh", "arctanh", "arctan2",
                 "clip", "clamp_min", "clamp_max", "sgn", "positive", "fix", "negative", "subtract",
                 "multiply", "divide", "true_divide", "greater", "less_equal", "not_equal"]:
        assert callable(getattr(edunn, name)), name
    x = edunn.tensor([-1.0, 2.0])
    assert edunn.positive(x) is x
    assert edunn.sgn(x).tolist() == [-1.0, 1.0]


@pytest.mark.lesson02
def test_inplace_methods_update_values():
    x = edunn.tensor([-1.5, 0.25, 4.0])
    x.clamp_(-1, 1)
    assert x.tolist() == [-1.0, 0.25, 1.0]
    x.abs_().sqrt_()
    np.testing.assert_allclose(x.numpy(), [1.0, 0.5, 1.0])


@needs_torch
def test_erfc_is_accurate_relative_to_itself_in_float64():
    """erfc(x) for x up to 26 is as small as 1e-296: ``1 - erf`` would be all rounding error."""
    x = np.concatenate([np.linspace(-6.0, 26.0, 20001), [0.0, -0.0, 1.0, -1.0, np.inf, -np.inf]])
    ours, theirs = edunn.erfc(edunn.tensor(x)).numpy(), torch.erfc(torch.tensor(x)).numpy()
    np.testing.assert_allclose(ours, theirs, rtol=1e-14, atol=0)
    assert np.isnan(edunn.erfc(edunn.tensor([np.nan])).numpy()).all()
