"""The graders of lesson 05: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

import math
from pathlib import Path

import pytest

import edunn
import edunn.nn as nn
from edunn.autograd import Function
from edunn.grading.notebooks import read_notebook
from edunn.grading.registry import get_exercise
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero
from edunn.nn import init
from edunn.tensor import Tensor

pytestmark = pytest.mark.lesson05

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "05_linear_activations.ipynb"
IDS = ("05.LinearFunction", "05.Linear", "05.relu", "05.Sigmoid", "05.smooth")


def _xp(x):
    return edunn.backend.array_module(x._data)


class StubOp(Function):
    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("your turn: replace this line with your code")


# ---------------------------------------------------------------------------- the reference, the stub

@pytest.mark.parametrize("exercise_id", IDS)
def test_the_reference_gets_full_marks(exercise_id):
    assert_full_marks(exercise_id, get_exercise(exercise_id).resolve_reference())


@pytest.mark.parametrize("exercise_id, stub", [
    ("05.LinearFunction", StubOp), ("05.Linear", StubClass), ("05.relu", (StubOp, StubOp)),
    ("05.Sigmoid", StubOp), ("05.smooth", (StubOp, StubOp))])
def test_the_stub_gets_zero(exercise_id, stub):
    assert_zero(exercise_id, stub)


# ---------------------------------------------------------------------------- 05.LinearFunction

def linear_function(forward=None, backward=None):
    """A correct ``LinearFunction`` with its forward or backward replaced by a planted mistake."""
    class Planted(Function):
        @staticmethod
        def forward(ctx, x, w, b):
            ctx.save_for_backward(x, w)
            ctx.has_bias = b is not None
            if forward is not None:
                return forward(x, w, b)
            return x._data @ w._data.T + (b._data if b is not None else 0)

        @staticmethod
        def backward(ctx, grad):
            x, w = ctx.saved_tensors
            if backward is not None:
                return backward(ctx, grad, x, w)
            g2, x2 = grad.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
            return grad @ w, g2.mT @ x2, g2.sum(0) if ctx.has_bias else None
    return Planted


def test_linear_function_forgets_the_bias():
    planted = linear_function(forward=lambda x, w, b: x._data @ w._data.T)
    assert_partial("05.LinearFunction", planted, mentions="you forgot the bias")


def test_linear_function_multiplies_by_w_not_its_transpose():
    planted = linear_function(forward=lambda x, w, b: x._data @ w._data + b._data)
    assert_partial("05.LinearFunction", planted, mentions="y = x @ W.T, not x @ W")


def test_linear_function_transposed_weight_gradient():
    def backward(ctx, grad, x, w):
        return grad @ w, x.mT @ grad, grad.sum(0) if ctx.has_bias else None
    assert_partial("05.LinearFunction", linear_function(backward=backward), mentions="is its transpose")


def test_linear_function_bias_gradient_not_summed():
    def backward(ctx, grad, x, w):
        g2, x2 = grad.reshape(-1, w.shape[0]), x.reshape(-1, w.shape[1])
        return grad @ w, g2.mT @ x2, grad if ctx.has_bias else None
    assert_partial("05.LinearFunction", linear_function(backward=backward), mentions="summed over the batch")


def test_linear_function_backward_on_arrays():
    def backward(ctx, grad, x, w):
        g2 = grad._data.reshape(-1, w.shape[0])
        x2 = x._data.reshape(-1, w.shape[1])
        return (Tensor._make(grad._data @ w._data), Tensor._make(g2.T @ x2),
                Tensor._make(g2.sum(0)) if ctx.has_bias else None)
    assert_partial("05.LinearFunction", linear_function(backward=backward), mentions="not made of tensor ops")


# ---------------------------------------------------------------------------- 05.Linear

class GoodLinear(nn.Module):
    """The solution, as a base for the planted mistakes."""

    def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
        super().__init__()
        self.in_features, self.out_features = in_features, out_features
        self.weight = nn.Parameter(edunn.empty((out_features, in_features), device=device, dtype=dtype))
        if bias:
            self.bias = nn.Parameter(edunn.empty(out_features, device=device, dtype=dtype))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self):
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            bound = 1 / math.sqrt(self.in_features)
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input):
        return nn.functional.linear(input, self.weight, self.bias)

    def extra_repr(self):
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


def test_good_linear_gets_full_marks():
    assert_full_marks("05.Linear", GoodLinear)


def test_linear_weight_stored_in_out():
    class Planted(GoodLinear):
        def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
            nn.Module.__init__(self)
            self.in_features, self.out_features = in_features, out_features
            self.weight = nn.Parameter(edunn.empty((in_features, out_features), dtype=dtype))
            self.bias = nn.Parameter(edunn.empty(out_features, dtype=dtype)) if bias else None
            self.reset_parameters()

        def forward(self, input):
            return input @ self.weight + self.bias
    assert_partial("05.Linear", Planted, mentions="(out_features, in_features)")


def test_linear_never_initialised():
    class Planted(GoodLinear):
        def reset_parameters(self):
            init.zeros_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)
    assert_partial("05.Linear", Planted, mentions="call reset_parameters()")


def test_linear_standard_normal_init():
    class Planted(GoodLinear):
        def reset_parameters(self):
            init.normal_(self.weight)
            if self.bias is not None:
                init.normal_(self.bias)
    assert_partial("05.Linear", Planted, mentions="should be at most 1/sqrt(in_features)")


def test_linear_bias_drawn_first():
    class Planted(GoodLinear):
        def reset_parameters(self):
            if self.bias is not None:
                bound = 1 / math.sqrt(self.in_features)
                init.uniform_(self.bias, -bound, bound)
            init.kaiming_uniform_(self.weight, a=math.sqrt(5))
    result = assert_partial("05.Linear", Planted, mentions="first, then init.uniform_")
    assert result.points >= 3


def test_linear_forward_on_a_copy_of_the_weight():
    class Planted(GoodLinear):
        def forward(self, input):
            return nn.functional.linear(input, self.weight.detach(), self.bias)
    assert_partial("05.Linear", Planted, mentions="forward must use self.weight")


def test_linear_without_extra_repr():
    class Planted(GoodLinear):
        def extra_repr(self):
            return ""
    assert_partial("05.Linear", Planted, mentions="extra_repr()")


def test_linear_ignores_dtype():
    class Planted(GoodLinear):
        def __init__(self, in_features, out_features, bias=True, device=None, dtype=None):
            super().__init__(in_features, out_features, bias)
    assert_partial("05.Linear", Planted, mentions="pass device and dtype on")


# ---------------------------------------------------------------------------- activations

def pointwise(f, df, *, save_output=False, params=0):
    """A Function ``y = f(xp, x)`` on arrays whose backward is ``grad * df(x or y, *params)``."""
    class Planted(Function):
        @staticmethod
        def forward(ctx, x, *args):
            y = f(_xp(x), x._data, *args)
            ctx.save_for_backward(y if save_output else x)   # the output array: saved as the output tensor
            ctx.args = args
            return y

        @staticmethod
        def backward(ctx, grad):
            saved, = ctx.saved_tensors
            out = grad * df(saved, *ctx.args)
            return (out,) + (None,) * len(ctx.args) if ctx.args else out
    return Planted


RELU = pointwise(lambda xp, x: xp.maximum(x, 0).astype(x.dtype), lambda x: x > 0)
LEAKY = pointwise(lambda xp, x, s: xp.where(x > 0, x, s * x).astype(x.dtype),
                  lambda x, s: (x > 0) * (1 - s) + s)


def test_relus_written_right_get_full_marks():
    assert_full_marks("05.relu", (RELU, LEAKY))


def test_relu_derivative_one_at_zero():
    planted = pointwise(lambda xp, x: xp.maximum(x, 0).astype(x.dtype), lambda x: x >= 0)
    assert_partial("05.relu", (planted, LEAKY), mentions="exactly 0 is 0")


def test_leaky_relu_backward_like_relu():
    planted = pointwise(lambda xp, x, s: xp.where(x > 0, x, s * x).astype(x.dtype), lambda x, s: x > 0)
    assert_partial("05.relu", (RELU, planted), mentions="the derivative is negative_slope")


def test_leaky_relu_slope_at_zero():
    planted = pointwise(lambda xp, x, s: xp.where(x > 0, x, s * x).astype(x.dtype),
                        lambda x, s: (x >= 0) * (1 - s) + s)
    assert_partial("05.relu", (RELU, planted), mentions="at exactly 0 PyTorch's derivative is negative_slope")


def test_relu_needs_a_tuple_of_two():
    assert_zero("05.relu", RELU)


def _stable_sigmoid(xp, x):
    z = xp.exp(-xp.abs(x))
    return xp.where(x >= 0, 1 / (1 + z), z / (1 + z)).astype(x.dtype)


def test_stable_sigmoid_gets_full_marks():
    assert_full_marks("05.Sigmoid", pointwise(_stable_sigmoid, lambda y: y * (1 - y), save_output=True))


def test_naive_sigmoid_overflows():
    planted = pointwise(lambda xp, x: 1 / (1 + xp.exp(-x)), lambda y: y * (1 - y), save_output=True)
    assert_partial("05.Sigmoid", planted, mentions="overflowed")


def test_sigmoid_as_exp_over_one_plus_exp():
    def f(xp, x):
        with edunn.backend.numpy.errstate(over="ignore", invalid="ignore"):
            return xp.exp(x) / (1 + xp.exp(x))
    planted = pointwise(f, lambda y: y * (1 - y), save_output=True)
    assert_partial("05.Sigmoid", planted, mentions="inf / inf = nan")


def test_sigmoid_derivative_one_minus_y():
    planted = pointwise(_stable_sigmoid, lambda y: 1 - y, save_output=True)
    assert_partial("05.Sigmoid", planted, mentions="the derivative is y * (1 - y)")


def test_sigmoid_derivative_from_the_input():
    planted = pointwise(_stable_sigmoid, lambda x: x * (1 - x))
    assert_partial("05.Sigmoid", planted, mentions="with y = sigmoid(x), the output")


C = math.sqrt(2 / math.pi)


def _gelu(xp, x):
    return (0.5 * x * (1 + xp.tanh(C * (x + 0.044715 * x ** 3)))).astype(x.dtype)


def _dgelu(x, k=3 * 0.044715):
    t = edunn.tanh(C * (x + 0.044715 * x ** 3))
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * C * (1 + k * x * x)


def _silu(xp, x):
    return x * _stable_sigmoid(xp, x)


def _dsilu(x):
    s = edunn.sigmoid(x)
    return s * (1 + x * (1 - s))


GELU = pointwise(_gelu, _dgelu)
SILU = pointwise(_silu, _dsilu)


def test_smooth_written_right_get_full_marks():
    assert_full_marks("05.smooth", (GELU, SILU))


def test_gelu_without_the_factor_three():
    planted = pointwise(_gelu, lambda x: _dgelu(x, 0.044715))
    assert_partial("05.smooth", (planted, SILU), mentions="the factor 3 is missing")


def test_silu_backward_sigmoid_only():
    planted = pointwise(_silu, lambda x: edunn.sigmoid(x))
    assert_partial("05.smooth", (GELU, planted), mentions="product rule")


def test_silu_naive_nan():
    def f(xp, x):
        with edunn.backend.numpy.errstate(over="ignore", invalid="ignore"):
            return x * xp.exp(x) / (1 + xp.exp(x))
    planted = pointwise(f, _dsilu)
    assert_partial("05.smooth", (GELU, planted), mentions="stable sigmoid")


def test_gelu_backward_on_arrays():
    class Planted(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return _gelu(_xp(x), x._data)

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            return Tensor._make(grad._data * _dgelu(x.detach())._data)
    assert_partial("05.smooth", (Planted, SILU), mentions="not made of tensor ops")


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells with ``check`` as the identity; return their names."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import math\nimport edunn\nimport edunn.nn as nn\nfrom edunn.nn import init\n"
         "from edunn.autograd import Function\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/05_linear_activations.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("05.LinearFunction", ns["LinearFunction"])
    assert_full_marks("05.Linear", ns["Linear"])
    assert_full_marks("05.relu", (ns["ReLU"], ns["LeakyReLU"]))
    assert_full_marks("05.Sigmoid", ns["Sigmoid"])
    assert_full_marks("05.smooth", (ns["GELUTanh"], ns["SiLU"]))
