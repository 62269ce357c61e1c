"""Activation functions (lesson 05); the softmax family lives in ``softmax.py`` and is re-exported here.

Every name and signature is ``torch.nn.functional``'s.  Most activations are pointwise,
``y = f(x)``, and share :class:`_Pointwise`: a subclass writes the function ``f`` and its
derivative ``df`` once, side by side.  Both receive ``m``, a small namespace of math functions
(``m.exp``, ``m.sigmoid``, ``m.where`` ...), so that the *same* formula runs

* on raw arrays in ``forward`` and in an ordinary backward (one array expression, fast), and
* on tensors when ``create_graph=True`` asks for a backward that can itself be differentiated.

Numerically stable forms are used throughout: ``softplus(x) = max(x, 0) + log1p(e^{-|x|})`` never
overflows, ``elu`` exponentiates only ``min(x, 0)``, softmax shifts by the row maximum
(``softmax(x) = softmax(x - max x)``), so logits of +-1e4 give finite results.

The ``inplace=True`` forms compute out of place and write the result into ``input`` through the
tensor's own in-place machinery, so version counters and the leaf-variable error behave as in
PyTorch.
"""
from __future__ import annotations

import math
from typing import Any

import edunn
from ... import backend
from ...autograd import grad_mode
from ...autograd.function import Function
from ...ops.elementwise import _where
from ...ops._erf import _erf_array
from ...tensor import Tensor, wrap_dim
from ...ops.softmax import _FLOATS, _check_tensor, gumbel_softmax, log_softmax, softmax, softmin  # noqa: F401
from ...amp import _policy as _autocast

__all__ = ['threshold', 'threshold_', 'relu', 'relu_', 'hardtanh', 'hardtanh_', 'hardswish',
           'relu6', 'elu', 'elu_', 'selu', 'selu_', 'celu', 'celu_', 'leaky_relu', 'leaky_relu_',
           'prelu', 'rrelu', 'rrelu_', 'glu', 'gelu', 'logsigmoid', 'hardshrink', 'tanhshrink',
           'softsign', 'softplus', 'softmin', 'softmax', 'softshrink', 'gumbel_softmax',
           'log_softmax', 'tanh', 'sigmoid', 'hardsigmoid', 'silu', 'mish']

_SQRT_2 = math.sqrt(2.0)
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_SQRT_2_OVER_PI = math.sqrt(2.0 / math.pi)
_SELU_ALPHA = 1.6732632423543772848170429916717
_SELU_SCALE = 1.0507009873554804934193349852946


# ----------------------------------------------------------------------------------------------
# the two math namespaces a formula runs on
# ----------------------------------------------------------------------------------------------
class _ArrayMath:
    """The math an activation needs, on NumPy/CuPy arrays (forward and first-order backward)."""

    __slots__ = ("xp",)

    def __init__(self, xp: Any):
        self.xp = xp

    def exp(self, a): return self.xp.exp(a)
    def expm1(self, a): return self.xp.expm1(a)
    def log1p(self, a): return self.xp.log1p(a)
    def tanh(self, a): return self.xp.tanh(a)
    def abs(self, a): return self.xp.abs(a)
    def clamp_max(self, a, v): return self.xp.minimum(a, v)
    def clamp_min(self, a, v): return self.xp.maximum(a, v)
    def mask(self, c, like): return c.astype(like.dtype)

    def where(self, c, a, b):
        # np.where on a mixed mask costs ~20 multiplies (branch mispredictions), so the formulas
        # below use it only where a side may be infinite, and it is skipped where the condition
        # holds nowhere (softplus above its threshold: rare in practice)
        if c.__class__ is not bool and not c.any():
            return b if getattr(b, "shape", None) == c.shape else self.xp.where(c, a, b)
        return self.xp.where(c, a, b)

    def sigmoid(self, a):
        # e^{-a} overflows to inf for a < -88 (float32) and 1/(1 + inf) = 0 exactly: no NaN
        return 1 / (1 + self.xp.exp(-a))

    def softplus(self, a):
        """log(1 + e^a) = max(a, 0) + log1p(e^{-|a|}): finite for every finite a."""
        return self.xp.maximum(a, 0) + self.xp.log1p(self.xp.exp(-self.xp.abs(a)))

    def erf(self, a):
        if a.dtype == backend.float64.np:
            return _erf_array(self.xp, a)  # accurate to ~1e-15 (series + continued fraction)
        # Numerical Recipes' erfc (fractional error < 1.2e-7, float32's own precision): one exp
        # and a polynomial instead of the 44-term series, ~20x faster for gelu in float32.
        xp = self.xp
        z = xp.abs(a)
        t = 1 / (1 + 0.5 * z)
        p = 0.17087277
        for c in (-0.82215223, 1.48851587, -1.13520398, 0.27886807, -0.18628806, 0.09678418,
                  0.37409196, 1.00002368, -1.26551223):
            p = p * t + c
        return xp.sign(a) * (1 - t * xp.exp(-z * z + p))


class _TensorMath:
    """The same functions on tensors, each differentiable: used by backward under create_graph."""

    exp = staticmethod(lambda a: edunn.exp(a))
    expm1 = staticmethod(lambda a: edunn.expm1(a))
    log1p = staticmethod(lambda a: edunn.log1p(a))
    tanh = staticmethod(lambda a: edunn.tanh(a))
    abs = staticmethod(lambda a: edunn.abs(a))
    sigmoid = staticmethod(lambda a: edunn.sigmoid(a))
    erf = staticmethod(lambda a: edunn.erf(a))
    where = staticmethod(_where)
    mask = staticmethod(lambda c, like: c.to(like.dtype))
    clamp_max = staticmethod(lambda a, v: edunn.clamp(a, max=v))
    clamp_min = staticmethod(lambda a, v: edunn.clamp(a, min=v))
    softplus = staticmethod(lambda a: Softplus.apply(a, 1.0, math.inf))


_ON_TENSORS = _TensorMath()
_ARRAY_MATH: dict = {}


def _array_math(xp: Any) -> _ArrayMath:
    m = _ARRAY_MATH.get(xp)
    if m is None:
        m = _ARRAY_MATH[xp] = _ArrayMath(xp)
    return m


# ----------------------------------------------------------------------------------------------
# pointwise activations: y = f(x), dy/dx = df(x)
# ----------------------------------------------------------------------------------------------
class _Pointwise(Function):
    """``y = f(x, *params)`` elementwise;  dy/dx = ``df(x, *params)``.

    ``constant_df``: the derivative is piecewise constant (relu6, hardtanh, leaky_relu ...), so
    even under create_graph it is a constant array (the second derivative is zero).
    ``keeps_int``: integer inputs are allowed and keep their dtype (PyTorch's relu6, threshold,
    hardtanh); other activations refuse them as PyTorch does."""
    name_: str = ""
    constant_df = False
    keeps_int = False
    # ``cut(m, x, *params)``: where the gradient stops (PyTorch's backward takes a branch that
    # returns 0 there, so a NaN or infinite incoming gradient gives 0, not 0 * inf = NaN)
    cut: Any = None

    @classmethod
    def forward(cls, ctx, x, *params):
        xd = x._data
        if xd.dtype not in _FLOATS and not cls.keeps_int:
            raise NotImplementedError(f'"{cls.name_}" not implemented for '
                                      f"'{backend.dtype_of(xd).scalar_name}'")
        xp = backend.array_module(xd)
        with backend.numpy.errstate(all="ignore"):  # inf/NaN results silently, as PyTorch
            y = cls.f(_array_math(xp), xd, *params)
        ctx.save_for_backward(x)
        ctx.params = params
        return xp.asarray(y, dtype=xd.dtype)

    @classmethod
    def backward(cls, ctx, grad):
        x, = ctx.saved_tensors
        nones = (None,) * len(ctx.params)
        xd = x._data
        xp = backend.array_module(xd)
        if grad_mode.state.enabled:   # create_graph: a backward that can be differentiated
            if cls.constant_df:       # (a constant derivative, but grad's graph is kept)
                with backend.numpy.errstate(all="ignore"):
                    d = Tensor._make(xp.asarray(cls.df(_array_math(xp), xd, *ctx.params),
                                                dtype=grad._data.dtype))
            else:
                d = cls.df(_ON_TENSORS, x, *ctx.params)
            g = grad * d
            if cls.cut is not None:
                g = _where(cls.cut(_array_math(xp), xd, *ctx.params), 0.0, g)
            return (g,) + nones
        with backend.numpy.errstate(all="ignore"):
            g = grad._data * cls.df(_array_math(xp), xd, *ctx.params)
            if cls.cut is not None:
                g = xp.where(cls.cut(_array_math(xp), xd, *ctx.params), xp.zeros((), g.dtype), g)
        return (Tensor._make(xp.asarray(g, dtype=grad._data.dtype)),) + nones


class Threshold(_Pointwise):
    """``y = x if x > threshold else value``;  dy/dx = 1 if x > threshold else 0."""
    name_, constant_df, keeps_int = "threshold", True, True
    f = staticmethod(lambda m, x, th, value: m.where(x > th, x, value))
    df = staticmethod(lambda m, x, th, value: x > th)
    cut = staticmethod(lambda m, x, th, value: x <= th)


class Hardtanh(_Pointwise):
    """``y = min(max(x, min_val), max_val)``;  dy/dx = 1 strictly inside, 0 elsewhere (also at
    the corners, PyTorch's choice of subgradient)."""
    name_, constant_df, keeps_int = "hardtanh", True, True
    f = staticmethod(lambda m, x, lo, hi: m.clamp_max(m.clamp_min(x, lo), hi))
    df = staticmethod(lambda m, x, lo, hi: (x > lo) & (x < hi))
    cut = staticmethod(lambda m, x, lo, hi: (x <= lo) | (x >= hi))


class LeakyReLU(_Pointwise):
    """``y = x if x > 0 else negative_slope * x``;  dy/dx = 1 or negative_slope (at 0)."""
    name_, constant_df = "leaky_relu", True
    f = staticmethod(lambda m, x, slope: m.clamp_min(x, 0) + slope * m.clamp_max(x, 0))
    df = staticmethod(lambda m, x, slope: slope + (1 - slope) * m.mask(x > 0, x))


class ELU(_Pointwise):
    """PyTorch's one kernel for elu, selu and celu:
    ``y = scale * (x if x > 0 else alpha (e^{input_scale x} - 1))``;
    dy/dx = scale if x > 0 else scale * alpha * input_scale * e^{input_scale x}.
    Only ``min(x, 0)`` is exponentiated, so large positive x cannot overflow."""
    name_ = "elu"

    @staticmethod
    def f(m, x, alpha, scale, input_scale):
        # max(x, 0) + alpha expm1(min(x, 0) ...): each side vanishes where the other applies
        return scale * (m.clamp_min(x, 0) + alpha * m.expm1(m.clamp_max(x, 0) * input_scale))

    @staticmethod
    def df(m, x, alpha, scale, input_scale):
        pos = m.mask(x > 0, x)
        neg = (alpha * input_scale) * m.exp(m.clamp_max(x, 0) * input_scale)
        return scale * (pos + (1 - pos) * neg)


class GELU(_Pointwise):
    """``y = x Phi(x) = x/2 (1 + erf(x / sqrt 2))``;  dy/dx = Phi(x) + x phi(x)."""
    name_ = "GeluKernelImpl"
    f = staticmethod(lambda m, x: 0.5 * x * (1 + m.erf(x * (1 / _SQRT_2))))
    df = staticmethod(lambda m, x: 0.5 * (1 + m.erf(x * (1 / _SQRT_2)))
                      + x * _INV_SQRT_2PI * m.exp(-0.5 * x * x))


class GELUTanh(_Pointwise):
    """``y = x/2 (1 + tanh u)``, ``u = sqrt(2/pi) (x + 0.044715 x^3)``;
    dy/dx = (1 + t)/2 + x/2 (1 - t^2) sqrt(2/pi) (1 + 3 * 0.044715 x^2), t = tanh u."""
    name_ = "GeluKernelImpl"
    f = staticmethod(lambda m, x: 0.5 * x * (1 + m.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))))

    @staticmethod
    def df(m, x):
        t = m.tanh(_SQRT_2_OVER_PI * (x + 0.044715 * x * x * x))
        return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * _SQRT_2_OVER_PI * (1 + 0.134145 * x * x)


class Softplus(_Pointwise):
    """``y = log(1 + e^{beta x}) / beta``, and ``y = x`` where ``beta x > threshold``;
    dy/dx = sigmoid(beta x) (1 above the threshold)."""
    name_ = "softplus"
    f = staticmethod(lambda m, x, beta, th: m.where(x * beta > th, x, m.softplus(x * beta) / beta))
    df = staticmethod(lambda m, x, beta, th: m.where(x * beta > th, 1.0, m.sigmoid(x * beta)))


class LogSigmoid(_Pointwise):
    """``y = log sigmoid(x) = -softplus(-x)``;  dy/dx = sigmoid(-x) = 1 - sigmoid(x)."""
    name_ = "log_sigmoid_cpu"
    f = staticmethod(lambda m, x: -m.softplus(-x))
    df = staticmethod(lambda m, x: m.sigmoid(-x))


class Hardshrink(_Pointwise):
    """``y = x if |x| > lambd else 0``;  dy/dx = 1 if |x| > lambd else 0."""
    name_, constant_df = "hardshrink", True
    # ``+ 0``: a negative x inside the band gives x * False = -0., which torch prints as 0.
    f = staticmethod(lambda m, x, lambd: x * ~((x >= -lambd) & (x <= lambd)) + 0)
    df = staticmethod(lambda m, x, lambd: ~((x >= -lambd) & (x <= lambd)))
    cut = staticmethod(lambda m, x, lambd: (x >= -lambd) & (x <= lambd))


class Softshrink(_Pointwise):
    """``y = x - lambd if x > lambd, x + lambd if x < -lambd, else 0``;  dy/dx = 1 outside."""
    name_, constant_df = "softshrink", True
    f = staticmethod(lambda m, x, lambd: x - m.clamp_max(m.clamp_min(x, -lambd), lambd))
    df = staticmethod(lambda m, x, lambd: (x > lambd) | (x < -lambd))
    cut = staticmethod(lambda m, x, lambd: (x >= -lambd) & (x <= lambd))


class Tanhshrink(_Pointwise):
    """``y = x - tanh x``;  dy/dx = tanh^2 x."""
    name_ = "tanhshrink"
    f = staticmethod(lambda m, x: x - m.tanh(x))

    @staticmethod
    def df(m, x):
        t = m.tanh(x)
        return t * t


class Softsign(_Pointwise):
    """``y = x / (1 + |x|)``;  dy/dx = 1 / (1 + |x|)^2."""
    name_ = "softsign"
    f = staticmethod(lambda m, x: x / (1 + m.abs(x)))

    @staticmethod
    def df(m, x):
        d = 1 + m.abs(x)
        return 1 / (d * d)


class Hardsigmoid(_Pointwise):
    """``y = min(max(x/6 + 1/2, 0), 1)``;  dy/dx = 1/6 on (-3, 3), else 0."""
    name_, constant_df = "hardsigmoid_cpu", True
    f = staticmethod(lambda m, x: m.clamp_max(m.clamp_min(x / 6 + 0.5, 0), 1))
    df = staticmethod(lambda m, x: m.mask((x > -3) & (x < 3), x) * (1 / 6))
    cut = staticmethod(lambda m, x: (x <= -3) | (x >= 3))


class Hardswish(_Pointwise):
    """``y = x min(max(x + 3, 0), 6) / 6``;  dy/dx = 0 for x <= -3, x/3 + 1/2 on (-3, 3), else 1
    (PyTorch's subgradients at the two corners)."""
    name_ = "hardswish_cpu"
    f = staticmethod(lambda m, x: x * m.clamp_max(m.clamp_min(x + 3, 0), 6) / 6)
    df = staticmethod(lambda m, x: m.mask((x > -3) & (x < 3), x) * (x / 3 + 0.5) + m.mask(x >= 3, x))
    cut = staticmethod(lambda m, x: x <= -3)


class SiLU(_Pointwise):
    """``y = x sigmoid(x)``;  dy/dx = s (1 + x (1 - s)), s = sigmoid(x)."""
    name_ = "silu_cpu"
    f = staticmethod(lambda m, x: x * m.sigmoid(x))

    @staticmethod
    def df(m, x):
        s = m.sigmoid(x)
        return s * (1 + x * (1 - s))


class Mish(_Pointwise):
    """``y = x tanh(softplus(x))``;  dy/dx = t + x sigmoid(x) (1 - t^2), t = tanh(softplus(x))."""
    name_ = "mish_cpu"
    f = staticmethod(lambda m, x: x * m.tanh(m.softplus(x)))

    @staticmethod
    def df(m, x):
        t = m.tanh(m.softplus(x))
        return t + x * m.sigmoid(x) * (1 - t * t)


# ----------------------------------------------------------------------------------------------
# helpers for the functional forms
# ----------------------------------------------------------------------------------------------
def _result(input: Tensor, y: Tensor, inplace: bool) -> Tensor:
    """``y``, or ``input`` overwritten with ``y`` when ``inplace`` (version bumped, leaf checked)."""
    return input._inplace(y) if inplace else y


def _no_negative_inplace(input: Tensor, slope: float, what: str, extra: str = "") -> None:
    """PyTorch cannot differentiate in-place leaky_relu/elu with a negative slope (the input is
    gone and the output's sign no longer tells the branch); neither do we, with its message."""
    if slope < 0 and grad_mode.state.enabled and input.requires_grad:
        raise RuntimeError(
            f"In-place {what} backward calculation is triggered with a negative slope which is not "
            "supported. This is caused by calling in-place forward function with a negative "
            f"slope, please call out-of-place version instead.{extra}")


# ----------------------------------------------------------------------------------------------
# functional forms of the pointwise activations
# ----------------------------------------------------------------------------------------------
def threshold(input: Tensor, threshold: float, value: float, inplace: bool = False) -> Tensor:
    """``y = input if input > threshold else value`` (lesson 05)."""
    _check_tensor(input, "threshold")
    return _result(input, Threshold.apply(input, threshold, value), inplace)


def threshold_(input: Tensor, threshold: float, value: float) -> Tensor:
    """In-place :func:`threshold`."""
    _check_tensor(input, "threshold_")
    return input._inplace(Threshold.apply(input, threshold, value))


def relu(input: Tensor, inplace: bool = False) -> Tensor:
    """``ReLU(x) = max(0, x)``; the gradient at 0 is 0 (lesson 05)."""
    _check_tensor(input, "relu")
    return input.relu_() if inplace else edunn.relu(input)


def relu_(input: Tensor) -> Tensor:
    """In-place :func:`relu`."""
    return relu(input, inplace=True)


def hardtanh(input: Tensor, min_val: float = -1.0, max_val: float = 1.0, inplace: bool = False) -> Tensor:
    """``HardTanh(x) = min(max(x, min_val), max_val)``."""
    _check_tensor(input, "hardtanh")
    if min_val > max_val:
        raise ValueError("min_val cannot be greater than max_val")
    return _result(input, Hardtanh.apply(input, min_val, max_val), inplace)


def hardtanh_(input: Tensor, min_val: float = -1.0, max_val: float = 1.0) -> Tensor:
    """In-place :func:`hardtanh`."""
    return hardtanh(input, min_val, max_val, inplace=True)


def relu6(input: Tensor, inplace: bool = False) -> Tensor:
    """``ReLU6(x) = min(max(0, x), 6)`` (``hardtanh(x, 0, 6)``)."""
    _check_tensor(input, "relu6")
    return _result(input, Hardtanh.apply(input, 0, 6), inplace)


def hardswish(input: Tensor, inplace: bool = False) -> Tensor:
    """``Hardswish(x) = x * ReLU6(x + 3) / 6``."""
    _check_tensor(input, "hardswish")
    return _result(input, Hardswish.apply(input), inplace)


def hardsigmoid(input: Tensor, inplace: bool = False) -> Tensor:
    """``Hardsigmoid(x) = ReLU6(x + 3) / 6``."""
    _check_tensor(input, "hardsigmoid")
    return _result(input, Hardsigmoid.apply(input), inplace)


def elu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``ELU(x) = x if x > 0 else alpha (exp(x) - 1)``."""
    _check_tensor(input, "elu")
    if inplace:
        _no_negative_inplace(input, alpha, "elu")
    return _result(input, ELU.apply(input, alpha, 1.0, 1.0), inplace)


def elu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`elu`."""
    return elu(input, alpha, inplace=True)


def selu(input: Tensor, inplace: bool = False) -> Tensor:
    """``SELU(x) = scale (max(0, x) + min(0, alpha (exp(x) - 1)))`` with alpha = 1.6732632...,
    scale = 1.0507009... (self-normalising: keeps mean 0 and variance 1 through deep nets)."""
    _check_tensor(input, "selu")
    return _result(input, ELU.apply(input, _SELU_ALPHA, _SELU_SCALE, 1.0), inplace)


def selu_(input: Tensor) -> Tensor:
    """In-place :func:`selu`."""
    return selu(input, inplace=True)


def celu(input: Tensor, alpha: float = 1.0, inplace: bool = False) -> Tensor:
    """``CELU(x) = max(0, x) + min(0, alpha (exp(x / alpha) - 1))``."""
    _check_tensor(input, "celu")
    if alpha == 0:
        raise RuntimeError("ZeroDivisionError: alpha cannot be 0 for CELU")
    return _result(input, ELU.apply(input, alpha, 1.0, 1.0 / alpha), inplace)


def celu_(input: Tensor, alpha: float = 1.0) -> Tensor:
    """In-place :func:`celu`."""
    return celu(input, alpha, inplace=True)


def leaky_relu(input: Tensor, negative_slope: float = 0.01, inplace: bool = False) -> Tensor:
    """``LeakyReLU(x) = x if x > 0 else negative_slope * x``."""
    _check_tensor(input, "leaky_relu")
    if inplace:
        _no_negative_inplace(
            input, negative_slope, "leakyReLu",
            " File an issue at https://github.com/pytorch/pytorch if you do require supporting "
            "in-place leakRelu backward calculation with negative slope")
    return _result(input, LeakyReLU.apply(input, negative_slope), inplace)


def leaky_relu_(input: Tensor, negative_slope: float = 0.01) -> Tensor:
    """In-place :func:`leaky_relu`."""
    return leaky_relu(input, negative_slope, inplace=True)


def prelu(input: Tensor, weight: Tensor) -> Tensor:
    """``PReLU(x) = x if x > 0 else a * x`` with a learnable ``weight`` ``a``: one number, or one
    per channel (dimension 1 of the input).  The gradient at 0 takes the ``a x`` side."""
    if _autocast.active and "prelu" in _autocast.listed: return _autocast.call("prelu", prelu, input, weight)  # noqa: E501,E701
    _check_tensor(input, "prelu")
    if weight.dim() > 1:
        raise RuntimeError(
            f"prelu: Expected `weight` to be a scalar or 1D tensor, but got: ndim = {weight.dim()}")
    if weight.dtype != input.dtype:
        raise RuntimeError(f"prelu: Type promoting not supported. Got {input.dtype.scalar_name} "
                           f"and {weight.dtype.scalar_name}")
    n = weight.numel()
    if n != 1:
        channels = input.shape[1] if input.dim() >= 2 else 1
        if n != channels:
            raise RuntimeError(
                "Mismatch of parameter numbers and input channel size. Found parameter numbers = "
                f"{n} and channel size = {channels}.")
        weight = weight.reshape((n,) + (1,) * (input.dim() - 2))
    return _where(input > 0, input, weight * input)


@backend.on_input_device
def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False,
          inplace: bool = False) -> Tensor:
    """Randomized leaky ReLU: ``x if x >= 0 else a x`` with, in training, a fresh slope
    ``a ~ U(lower, upper)`` for every element, and in evaluation ``a = (lower + upper) / 2``.
    The gradient is multiplied by the same sampled slopes."""
    _check_tensor(input, "rrelu")
    if lower > upper:
        raise RuntimeError("Lower bound should be less than or equal to the upper bound")
    if not training:
        return leaky_relu(input, (lower + upper) / 2, inplace)
    if input.dtype.np not in _FLOATS:
        raise NotImplementedError(f"\"leaky_relu_cpu\" not implemented for '{input.dtype.scalar_name}'")
    # one slope per element (like PyTorch's noise buffer); positive inputs keep slope 1
    slopes = edunn.empty_like(input).uniform_(lower, upper)
    noise = _where(input > 0, 1.0, slopes.detach())
    return _result(input, input * noise, inplace)


def rrelu_(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """In-place :func:`rrelu`."""
    return rrelu(input, lower, upper, training, inplace=True)


def glu(input: Tensor, dim: int = -1) -> Tensor:
    """Gated linear unit: split ``input`` in halves ``a, b`` along ``dim``; ``GLU = a * sigmoid(b)``."""
    _check_tensor(input, "glu")
    if input.dim() == 0:
        raise RuntimeError("glu does not support scalars because halving size must be even")
    d = wrap_dim(dim, input.dim())
    size = input.shape[d]
    if size % 2:
        raise RuntimeError(f"Halving dimension must be even, but dimension {d} is size {size}")
    if input.dtype.np not in _FLOATS:
        raise NotImplementedError(f"\"glu_cpu\" not implemented for '{input.dtype.scalar_name}'")
    a, b = input.chunk(2, d)
    return a * edunn.sigmoid(b)


def gelu(input: Tensor, approximate: str = "none") -> Tensor:
    """``GELU(x) = x Phi(x)`` (Phi: the standard normal CDF); ``approximate='tanh'`` uses
    ``x/2 (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))``."""
    _check_tensor(input, "gelu")
    if approximate == "none":
        return GELU.apply(input)
    if approximate == "tanh":
        return GELUTanh.apply(input)
    raise RuntimeError("approximate argument must be either none or tanh.")


def logsigmoid(input: Tensor) -> Tensor:
    """``LogSigmoid(x) = log(1 / (1 + exp(-x))) = -softplus(-x)``, stable for any x."""
    _check_tensor(input, "logsigmoid")
    return LogSigmoid.apply(input)


def hardshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x if |x| > lambd else 0``."""
    _check_tensor(input, "hardshrink")
    return Hardshrink.apply(input, lambd)


def softshrink(input: Tensor, lambd: float = 0.5) -> Tensor:
    """``x - lambd if x > lambd; x + lambd if x < -lambd; else 0``."""
    _check_tensor(input, "softshrink")
    if lambd < 0:
        raise RuntimeError(f"lambda must be in range [0, 3.40282e+38] for input dtype "
                           f"{input.dtype.scalar_name}, but found {lambd:g}")
    return Softshrink.apply(input, lambd)


def tanhshrink(input: Tensor) -> Tensor:
    """``x - tanh(x)``.  Integer and complex inputs take PyTorch's composite route (integers
    give floats, complex numbers work)."""
    _check_tensor(input, "tanhshrink")
    if not input.is_floating_point():
        return input - tanh(input)
    return Tanhshrink.apply(input)


def softsign(input: Tensor) -> Tensor:
    """``x / (1 + |x|)``.  Integer and complex inputs take PyTorch's composite route (integers
    give floats; for complex ``x``, ``|x|`` is the modulus)."""
    _check_tensor(input, "softsign")
    if not input.is_floating_point():
        return input / (1 + input.abs())
    return Softsign.apply(input)


def softplus(input: Tensor, beta: float = 1.0, threshold: float = 20.0) -> Tensor:
    """``Softplus(x) = log(1 + exp(beta x)) / beta``, linear (``= x``) where ``beta x > threshold``."""
    if _autocast.active and "softplus" in _autocast.listed: return _autocast.call("softplus", softplus, input, beta, threshold)  # noqa: E501,E701
    _check_tensor(input, "softplus")
    return Softplus.apply(input, beta, threshold)


def tanh(input: Tensor) -> Tensor:
    """``tanh(x) = (e^x - e^-x) / (e^x + e^-x)``; dy/dx = 1 - y^2."""
    return edunn.tanh(input)


def sigmoid(input: Tensor) -> Tensor:
    """``sigmoid(x) = 1 / (1 + e^-x)``; dy/dx = y (1 - y)."""
    return edunn.sigmoid(input)


def silu(input: Tensor, inplace: bool = False) -> Tensor:
    """``SiLU(x) = x * sigmoid(x)`` (the swish function); complex inputs too, as in PyTorch."""
    _check_tensor(input, "silu")
    if input.is_complex():
        return _result(input, input * sigmoid(input), inplace)
    return _result(input, SiLU.apply(input), inplace)


def mish(input: Tensor, inplace: bool = False) -> Tensor:
    """``Mish(x) = x * tanh(softplus(x))``."""
    _check_tensor(input, "mish")
    return _result(input, Mish.apply(input), inplace)
