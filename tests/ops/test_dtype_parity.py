"""Result dtypes and values across every dtype pair, against PyTorch (lesson 01's promotion rules).

For each op and each combination of operand dtypes (tensor with tensor, with a 0-d tensor, with a
Python number on either side), whenever PyTorch computes a result edunn must compute one too, of
the same dtype and with the same values.  Where PyTorch refuses edunn may refuse as well or
compute (``torch.hypot`` has no integer kernel; edunn computes in the default float dtype): being
more lenient never gives wrong numbers.  Two cases are pinned the other way round, below: ``sub``
with a bool operand is refused as PyTorch does, since it is almost always a mistake for ``~mask``.

complex32 (``chalf``) has no NumPy type: where PyTorch computes in complex32 (float16 with a
complex number) nothing is compared (edunn refuses it with a clear error).
"""
import operator
import warnings

import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson01

DTYPES = "bool uint8 int8 int16 int32 int64 float16 bfloat16 float32 float64 complex64 complex128".split()
VALUES = {"bool": [True, False, True, True], "uint8": [0, 1, 200, 7], "int8": [-3, 0, 5, 127],
          "int16": [-300, 0, 5, 7], "int32": [-3, 0, 5, 70000], "int64": [-3, 0, 5, 2**40],
          "float": [-1.5, 0.0, 0.25, 3.0], "complex": [1 + 1j, -0.5j, 0.5, 2 - 1j]}
NUMBERS = {"int": 2, "float": 2.5, "bool": True, "complex": 1 + 1j}

BINARY = ["add", "sub", "mul", "div", "floor_divide", "remainder", "fmod", "pow", "maximum", "minimum", "atan2",
          "hypot", "eq", "lt", "ge", "bitwise_and", "bitwise_or", "bitwise_xor", "logical_and", "logical_or", "fmax",
          "fmin", "copysign", "xlogy", "logaddexp", "nextafter", "ldexp", "float_power", "true_divide", "heaviside",
          "gcd", "bitwise_left_shift", "isclose", "dist"]
UNARY = ("abs neg sign sgn exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan tanh sigmoid asin acos atan "
         "sinh cosh asinh atanh erf erfc erfinv lgamma digamma trunc floor ceil round frac reciprocal square sinc "
         "deg2rad rad2deg logit i0 isnan isinf isfinite signbit logical_not bitwise_not positive conj angle real "
         "nan_to_num relu fix isreal isneginf isposinf").split()
REDUCTIONS = "sum prod mean amax amin argmax all any cumsum cumprod logsumexp var std count_nonzero nansum nanmean".split()
ACTIVATIONS = ("relu relu6 elu selu celu gelu silu mish softplus hardtanh hardswish hardsigmoid leaky_relu logsigmoid "
               "softsign tanhshrink softshrink hardshrink sigmoid tanh").split()


def _tensor(m, dt, shape=(4,)):
    v = VALUES["complex" if "complex" in dt else "float" if "float" in dt else dt]
    return m.tensor(v, dtype=getattr(m, dt)).reshape(shape) if shape else m.tensor(v[1], dtype=getattr(m, dt))


def _outcome(fn):
    """(dtype name, values as float64/complex128, shape), or None when the call raised."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = fn()
    except Exception:
        return None
    m = edunn if isinstance(r, edunn.Tensor) else torch
    wide = r.to(m.complex128 if r.is_complex() else m.float64)
    return str(r.dtype).split(".")[-1], np.asarray(wide.tolist(), dtype=complex if r.is_complex() else float), \
        tuple(r.shape)


def _check(where, ours, theirs, low_precision):
    """``ours`` must be ``theirs`` where PyTorch computed something; float32 results within a
    few units in the last place (PyTorch's float32 ``pow(2, 127)`` in ``ldexp`` is 14 off)."""
    if theirs is None or theirs[0] == "complex32":
        return
    assert ours is not None, f"{where}: edunn refuses what PyTorch computes ({theirs[0]})"
    assert ours[0] == theirs[0], f"{where}: dtype {ours[0]}, PyTorch's {theirs[0]}"
    assert ours[2] == theirs[2], f"{where}: shape {ours[2]}, PyTorch's {theirs[2]}"
    tol = 2e-2 if low_precision else 1e-5 if theirs[0] in ("float32", "complex64") else 1e-9
    for part in (np.real, np.imag):   # apart: inf + 1e38j minus itself is not NaN-free
        assert np.allclose(part(ours[1]), part(theirs[1]), rtol=tol, atol=tol, equal_nan=True), \
            f"{where}: values {ours[1].ravel()[:4]}, PyTorch's {theirs[1].ravel()[:4]}"


def _low(*dtypes):
    return any(d in ("float16", "bfloat16") for d in dtypes)


@pytest.mark.parametrize("op", BINARY)
def test_binary_results_match_pytorch_for_every_dtype_pair(op):
    def call(m, a, b):
        return getattr(m, op)(a, b)
    for d1 in DTYPES:
        for d2 in DTYPES:
            for shape in [(4,), ()]:
                if complex32(_tensor(torch, d1), _tensor(torch, d2, shape)):
                    continue
                outcomes = [_outcome(lambda m=m: call(m, _tensor(m, d1), _tensor(m, d2, shape))) for m in (edunn, torch)]
                _check(f"{op}({d1}, {d2}{' 0-d' if not shape else ''})", *outcomes, _low(d1, d2))
        for kind, number in NUMBERS.items():
            if complex32(_tensor(torch, d1), number):
                continue
            outcomes = [_outcome(lambda m=m: call(m, _tensor(m, d1), number)) for m in (edunn, torch)]
            _check(f"{op}({d1}, {kind})", *outcomes, _low(d1))


@pytest.mark.parametrize("op", UNARY + REDUCTIONS)
def test_unary_and_reduction_results_match_pytorch_for_every_dtype(op):
    def call(m, x):
        return getattr(m, op)(x, 0) if op in REDUCTIONS else getattr(m, op)(x)
    for dt in DTYPES:
        outcomes = [_outcome(lambda m=m: call(m, _tensor(m, dt, (2, 2)))) for m in (edunn, torch)]
        _check(f"{op}({dt})", *outcomes, _low(dt))


@pytest.mark.parametrize("op", ACTIVATIONS)
def test_activation_results_match_pytorch_for_every_dtype(op):
    for dt in DTYPES:
        outcomes = [_outcome(lambda m=m: getattr(m.nn.functional, op)(_tensor(m, dt, (2, 2)))) for m in (edunn, torch)]
        _check(f"F.{op}({dt})", *outcomes, _low(dt))


@pytest.mark.parametrize("a, b", [("bool", "bool"), ("bool", "int64"), ("float32", "bool"), ("int64", True),
                                  (True, "float32")])
def test_subtracting_a_bool_is_refused_as_in_pytorch(a, b):
    messages = []
    for m in (edunn, torch):
        args = [_tensor(m, v) if isinstance(v, str) else v for v in (a, b)]
        with pytest.raises(RuntimeError) as info:
            m.sub(*args) if isinstance(args[0], m.Tensor) else m.rsub(args[1], args[0])
        messages.append(str(info.value))
    assert messages[0] == messages[1]
    assert "bool tensor" in messages[0]


INPLACE = ["add_", "sub_", "mul_", "div_", "pow_", "remainder_", "fmod_", "floor_divide_", "copy_", "fill_",
           "masked_fill_", "addcmul_", "addcdiv_", "clamp_min_", "bitwise_or_", "true_divide_"]


def _inplace(m, op, x, other):
    if op == "masked_fill_":
        return x.masked_fill_(m.tensor([True, False, False, True]), other)
    if op in ("addcmul_", "addcdiv_"):
        return getattr(x, op)(other, other)
    return getattr(x, op)(other)


@pytest.mark.parametrize("op", INPLACE)
def test_inplace_results_match_pytorch_for_every_dtype_pair(op):
    """An in-place op computes in the promoted dtype of all its operands and casts the result to
    ``self``'s (``addcmul_`` of two uint8 factors into an int16 tensor multiplies as int16)."""
    for d1 in DTYPES:
        others = [(d2, lambda m, d2=d2: _tensor(m, d2)) for d2 in DTYPES] + \
                 [(kind, lambda m, v=v: v) for kind, v in NUMBERS.items()]
        for name, other in others:
            if op != "copy_" and isinstance(other(torch), torch.Tensor) and complex32(_tensor(torch, d1), other(torch)):
                continue

            def run(m):
                x = _tensor(m, d1)
                _inplace(m, op, x, other(m))
                return x
            outcomes = [_outcome(lambda m=m: run(m)) for m in (edunn, torch)]
            _check(f"{d1}.{op}({name})", *outcomes, _low(d1, name))


def complex32(a, b):
    return torch.result_type(a, b) == torch.complex32


@pytest.mark.parametrize("source", DTYPES)
def test_casts_between_every_dtype_pair_match_pytorch(source):
    """``x.to(dtype)``: complex to bool asks whether the number is nonzero (``-0.5j`` is True);
    to another real type it keeps the real part."""
    for target in DTYPES:
        outcomes = [_outcome(lambda m=m: _tensor(m, source).to(getattr(m, target))) for m in (edunn, torch)]
        _check(f"{source}.to({target})", *outcomes, _low(source, target))


OPERATORS = ["add", "sub", "mul", "truediv", "floordiv", "mod", "pow", "lt", "eq", "and_", "or_", "xor", "lshift",
             "rshift"]
MORE_NUMBERS = {**NUMBERS, "negative int": -2, "int past uint8": 300}


@pytest.mark.parametrize("name", OPERATORS)
def test_operators_with_a_number_or_0d_tensor_on_either_side_match_pytorch(name):
    """``2 - x``, ``x < -2``, ``3 << x``, ``0-d tensor + x`` ...: a Python int outside an integer
    tensor's range wraps into it as PyTorch casts it (``uint8_tensor + -2`` adds 254)."""
    op = getattr(operator, name)
    for d1 in DTYPES:
        for kind, number in MORE_NUMBERS.items():
            for reflected in (False, True):
                def call(m, number=number, reflected=reflected):
                    x = _tensor(m, d1)
                    return op(number, x) if reflected else op(x, number)
                if complex32(_tensor(torch, d1), number):
                    continue
                outcomes = [_outcome(lambda m=m: call(m)) for m in (edunn, torch)]
                _check(f"{'' if not reflected else kind + ' '}{name} {d1}{' ' + kind if not reflected else ''}",
                       *outcomes, _low(d1))
        for d2 in DTYPES:
            if complex32(_tensor(torch, d2, ()), _tensor(torch, d1)):
                continue
            outcomes = [_outcome(lambda m=m: op(_tensor(m, d2, ()), _tensor(m, d1))) for m in (edunn, torch)]
            _check(f"0-d {d2} {name} {d1}", *outcomes, _low(d1, d2))
