"""Graders of lesson 05 (linear layers and activations): the affine map as a ``Function``, the
``Linear`` module with PyTorch's default initialisation, and five activations with their
backward (ReLU, LeakyReLU, a stable Sigmoid, GELU's tanh approximation, SiLU).

References: ``edunn.nn.functional.linear``'s ``Linear`` Function, ``edunn.nn.Linear``, and the
library's activation Functions (``edunn.ops.elementwise.ReLU`` and ``Sigmoid``, and
``LeakyReLU``, ``GELUTanh``, ``SiLU`` from ``edunn/nn/functional/activation.py``).

The graders compare values and gradients with the reference on random float64 inputs, run
``gradcheck`` and ``gradgradcheck``, and recognise the usual mistakes: a weight stored
``(in, out)``, ``dW = X^T dY`` (the transpose), a bias gradient that was not summed over the
batch, ReLU's derivative at exactly 0, a sigmoid that overflows, GELU's ``3 * 0.044715`` forgotten.
"""

from __future__ import annotations

import math
from typing import Any

from edunn.grading import Fail, exercise
from edunn.grading.checker import describe_exception

LINEAR_FUNCTION = "edunn.nn.functional.linear.Linear"
RELUS = ("edunn.ops.elementwise.ReLU", "edunn.nn.functional.activation.LeakyReLU")
SMOOTH = ("edunn.nn.functional.activation.GELUTanh", "edunn.nn.functional.activation.SiLU")


# ---------------------------------------------------------------------------- helpers


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _leaf(t, *shape: int, scale: float = 1.0):
    import edunn

    return edunn.tensor((t.randn(*shape) * scale).tolist(), dtype=edunn.float64, requires_grad=True)


def _apply(cls, *args):
    import edunn

    out = cls.apply(*args)
    if not isinstance(out, edunn.Tensor):
        raise Fail(f"{getattr(cls, '__name__', 'your class')}.apply returned {type(out).__name__}, "
                   "expected a Tensor (forward should return an array or a tensor)")
    return out


def _grads(y, g, inputs: tuple) -> tuple:
    """``d (y * g).sum() / d input`` for each input, by the learner's backward."""
    import edunn

    if y.grad_fn is None:
        raise Fail("the output recorded no graph (it has no grad_fn): return the result of forward, "
                   "and call the class with .apply(...)")
    for x in inputs:
        x.grad = None
    (y * g).sum().backward()
    return tuple(x.grad if x.grad is not None else edunn.zeros_like(x) for x in inputs)


def _gradcheck(t, fn, inputs, what):
    from edunn.autograd import gradcheck

    try:
        ok = gradcheck(fn, inputs, raise_exception=False)
    except NotImplementedError:
        raise
    except Exception as error:  # a gradient of the wrong shape, say
        raise Fail(f"gradcheck of {what} raised {type(error).__name__}: {error}") from None
    t.ok(ok, f"gradcheck of {what} failed: the gradient from your backward does not match the "
             "finite differences (f(x + eps) - f(x - eps)) / (2 eps) in float64")


def _double_backward(t, fn, inputs, what, *, piecewise_linear: bool = False):
    """A backward made of tensor ops can be differentiated again (``create_graph=True``).
    ``piecewise_linear``: the derivative does not depend on the input (ReLU), so the gradient of
    ``fn(x).sum()`` is a constant and only ``gradgradcheck`` is asked for."""
    import edunn
    from edunn.autograd import gradgradcheck

    firsts = edunn.autograd.grad(fn(*inputs).sum(), inputs, create_graph=True, allow_unused=True)
    if not piecewise_linear and not any(g is not None and g.requires_grad for g in firsts):
        raise Fail(f"your {what} backward is not made of tensor ops: with create_graph=True the "
                   "gradient it returns has no grad_fn, so it cannot be differentiated again. "
                   "Compute it from grad and ctx.saved_tensors with tensor ops, not on ._data")
    try:
        ok = gradgradcheck(fn, inputs, raise_exception=False)
    except NotImplementedError:
        raise
    except Exception as error:
        raise Fail(f"gradgradcheck of {what} raised {type(error).__name__}: {error}") from None
    t.ok(ok, f"gradgradcheck of {what} failed: differentiating your backward a second time does "
             "not match finite differences (is every part of it a tensor op on tensors that "
             "remember how they were made?)")


def _unpack(student, n: int, what: str) -> tuple:
    if not isinstance(student, (tuple, list)) or len(student) != n:
        raise Fail(f"expected a tuple of {n} classes ({what}), got {type(student).__name__}")
    return tuple(student)


# ---------------------------------------------------------------------------- 05.LinearFunction


@exercise("05.LinearFunction", points=4, reference=LINEAR_FUNCTION,
          title="y = x W^T + b as a Function, with its backward")
def grade_linear_function(student, t):
    import edunn

    with t.group("forward and backward, x (4, 3), W (2, 3), b (2,)"):
        x, w, b = _leaf(t, 4, 3), _leaf(t, 2, 3), _leaf(t, 2)
        xd, wd, bd = x.detach(), w.detach(), b.detach()
        try:
            y = _apply(student, x, w, b)
        except (ValueError, RuntimeError) as error:
            raise Fail(f"{describe_exception(error)}\n    hint: x is (4, 3) and W is (out, in) = (2, 3): "
                       "y = x @ W.T, not x @ W") from None
        t.close(y, xd @ wd.mT + bd, "LinearFunction.apply(x, W, b)", mistakes={
            "you forgot the bias": (xd @ wd.mT).tolist()})
        g = t.randn(4, 2, dtype=edunn.float64)
        node = y.grad_fn
        if node is None:
            raise Fail("LinearFunction.apply(x, W, b) recorded no graph (the output has no grad_fn)")
        with edunn.no_grad():           # as the engine calls it (no create_graph)
            grads = type(node).backward(node, g)
        if not isinstance(grads, (tuple, list)) or len(grads) != 3:
            raise Fail("LinearFunction.backward should return three gradients, (grad_x, grad_W, grad_b), "
                       f"got {type(grads).__name__}")
        gx, gw, gb = grads
        for name, got, want in (("x", gx, (4, 3)), ("W", gw, (2, 3)), ("b", gb, (2,))):
            if got is None or not hasattr(got, "shape"):
                raise Fail(f"LinearFunction.backward returned {type(got).__name__} for {name}, expected a tensor")
            if tuple(got.shape) != want:
                hint = {"x": "dL/dx = grad @ W: (4, 2) @ (2, 3)",
                        "W": "dL/dW = grad.mT @ x: (2, 4) @ (4, 3) -- x.mT @ grad is its transpose",
                        "b": "dL/db = grad summed over the batch: grad.sum(0)"}[name]
                raise Fail(f"the gradient of {name} has shape {_fmt(tuple(got.shape))}, expected "
                           f"{_fmt(want)} ({hint})")
        t.close(gx, g @ wd, "the gradient of x", hint="dL/dx = grad @ W")
        t.close(gw, g.mT @ xd, "the gradient of W", hint="dL/dW = grad.mT @ x")
        t.close(gb, g.sum(0), "the gradient of b", hint="dL/db = grad.sum(0): every row of the batch "
                "added the same b")
    with t.group("no bias: LinearFunction.apply(x, W, None)"):
        x, w = _leaf(t, 5, 4), _leaf(t, 3, 4)
        y = _apply(student, x, w, None)
        t.close(y, x.detach() @ w.detach().mT, "LinearFunction.apply(x, W, None)",
                hint="when b is None, y = x @ W.T and the gradient for b is None")
        g = t.randn(5, 3, dtype=edunn.float64)
        gx, gw = _grads(y, g, (x, w))
        t.close(gx, g @ w.detach(), "the gradient of x")
        t.close(gw, g.mT @ x.detach(), "the gradient of W")
    with t.group("batch dimensions: x (2, 3, 4), W (5, 4), b (5,)"):
        x, w, b = _leaf(t, 2, 3, 4), _leaf(t, 5, 4), _leaf(t, 5)
        xd, wd, bd = x.detach(), w.detach(), b.detach()
        y = _apply(student, x, w, b)
        t.close(y, xd @ wd.mT + bd, "LinearFunction.apply(x, W, b)")
        g = t.randn(2, 3, 5, dtype=edunn.float64)
        try:
            gx, gw, gb = _grads(y, g, (x, w, b))
        except (ValueError, RuntimeError) as error:
            raise Fail(f"{describe_exception(error)}\n    hint: with batch dimensions, flatten them "
                       "first: g2 = grad.reshape(-1, out), x2 = x.reshape(-1, in); then "
                       "dW = g2.mT @ x2 and db = g2.sum(0)") from None
        g2, x2 = g.reshape(-1, 5), xd.reshape(-1, 4)
        t.close(gx, g @ wd, "the gradient of x")
        t.close(gw, g2.mT @ x2, "the gradient of W", mistakes={
            "you summed over the first axis only: flatten every batch dimension, "
            "grad.reshape(-1, out).mT @ x.reshape(-1, in)": (g[0].mT @ xd[0]).tolist()})
        t.close(gb, g2.sum(0), "the gradient of b", mistakes={
            "you summed over the first axis only: sum over every batch dimension": g.sum(0).tolist()})
    with t.group("gradcheck and gradgradcheck"):
        x, w, b = _leaf(t, 3, 4), _leaf(t, 2, 4), _leaf(t, 2)
        _gradcheck(t, lambda *a: student.apply(*a), (x, w, b), "LinearFunction.apply(x, W, b)")
        _double_backward(t, lambda *a: student.apply(*a), (x, w, b), "LinearFunction")


# ---------------------------------------------------------------------------- 05.Linear


def _param_names(layer) -> list:
    return [name for name, _ in layer.named_parameters()]


@exercise("05.Linear", points=4, reference="edunn.nn.Linear",
          title="the Linear module: parameters, PyTorch's initialisation, forward")
def grade_linear(student, t):
    import edunn
    import edunn.nn as nn

    with t.group("parameters"):
        layer = student(5, 3)
        if not isinstance(layer, nn.Module):
            raise Fail("Linear should be a subclass of nn.Module (class Linear(nn.Module))")
        t.equal((layer.in_features, layer.out_features), (5, 3),
                "Linear(5, 3): (in_features, out_features)")
        t.equal(_param_names(layer), ["weight", "bias"], "the names of Linear(5, 3)'s parameters",
                hint="assign nn.Parameter(...) to self.weight, then to self.bias")
        if not isinstance(layer.weight, nn.Parameter):
            raise Fail("self.weight should be an nn.Parameter")
        w_shape = tuple(layer.weight.shape)
        if w_shape == (5, 3):
            raise Fail("the weight of Linear(5, 3) has shape (5, 3) = (in, out): PyTorch stores it "
                       "(out_features, in_features) = (3, 5), one row per output")
        t.equal(w_shape, (3, 5), "the shape of Linear(5, 3).weight")
        t.equal(tuple(layer.bias.shape), (3,), "the shape of Linear(5, 3).bias")
    with t.group("bias=False"):
        layer = student(4, 2, bias=False)
        t.ok(getattr(layer, "bias", "missing") is None,
             "Linear(4, 2, bias=False).bias should be None (register_parameter('bias', None))")
        t.equal(_param_names(layer), ["weight"], "the names of Linear(4, 2, bias=False)'s parameters")
        t.equal(list(layer.state_dict()), ["weight"], "the state_dict keys of Linear(4, 2, bias=False)")
    with t.group("dtype"):
        layer = student(3, 2, dtype=edunn.float64)
        t.equal((layer.weight.dtype, layer.bias.dtype), (edunn.float64, edunn.float64),
                "the dtypes of Linear(3, 2, dtype=edunn.float64)'s parameters",
                hint="pass device and dtype on to edunn.empty")
    with t.group("initialisation: U(-1/sqrt(in), 1/sqrt(in))"):
        layer = student(200, 300)
        bound = 1 / math.sqrt(200)
        w, b = layer.weight.detach(), layer.bias.detach()
        if float(w.abs().max()) == 0:
            raise Fail("the weight is all zeros: call reset_parameters() at the end of __init__ "
                       "(edunn.empty's values are whatever the memory held)")
        t.ok(float(w.abs().max()) <= bound and float(b.abs().max()) <= bound,
             f"the largest |weight| is {float(w.abs().max()):.4g} and the largest |bias| "
             f"{float(b.abs().max()):.4g}; both should be at most 1/sqrt(in_features) = {bound:.4g}")
        std, want = float(w.std()), bound / math.sqrt(3)
        t.ok(abs(std - want) < 0.05 * want,
             f"the weight's std is {std:.4g}, expected {want:.4g} for U(-1/sqrt(in), 1/sqrt(in)) "
             "(kaiming_uniform_ with a=sqrt(5))")
        t.ok(float(b.std()) > 0.3 * want, "the bias looks constant: draw it from U(-1/sqrt(in), 1/sqrt(in)) too")
    with t.group("initialisation: the same numbers as nn.Linear under the same seed"):
        edunn.manual_seed(5)
        mine = student(6, 4)
        edunn.manual_seed(5)
        ref = nn.Linear(6, 4)
        hint = ("draw with init.kaiming_uniform_(self.weight, a=math.sqrt(5)) first, then "
                "init.uniform_(self.bias, -bound, bound), as PyTorch's reset_parameters does")
        t.close(mine.weight, ref.weight, "the weight after edunn.manual_seed(5)", hint=hint)
        t.close(mine.bias, ref.bias, "the bias after edunn.manual_seed(5)", hint=hint)
    with t.group("forward and gradients"):
        layer = student(4, 3, dtype=edunn.float64)
        w, b = layer.weight.detach(), layer.bias.detach()
        x = _leaf(t, 2, 5, 4)
        y = layer(x)
        t.close(y, x.detach() @ w.mT + b, "Linear(4, 3)(x) for x of shape (2, 5, 4)")
        g = t.randn(2, 5, 3, dtype=edunn.float64)
        (y * g).sum().backward()
        if layer.weight.grad is None:
            raise Fail("after backward, layer.weight.grad is None: forward must use self.weight "
                       "(the Parameter itself, not a copy or its ._data)")
        t.close(layer.weight.grad, g.reshape(-1, 3).mT @ x.detach().reshape(-1, 4), "weight.grad")
        t.close(layer.bias.grad, g.reshape(-1, 3).sum(0), "bias.grad")
        t.close(x.grad, g @ w, "the gradient of the input")
    with t.group("extra_repr"):
        t.equal(student(64, 10).extra_repr(), "in_features=64, out_features=10, bias=True",
                "Linear(64, 10).extra_repr()")
        t.equal(student(3, 1, bias=False).extra_repr(), "in_features=3, out_features=1, bias=False",
                "Linear(3, 1, bias=False).extra_repr()")


# ---------------------------------------------------------------------------- activations


def _check_activation(t, cls, name: str, ref_fn, df_fn, *, args: tuple = (), mistakes=None,
                      scale: float = 2.0, with_zero: bool = True, piecewise_linear: bool = False):
    """Values and gradients of ``cls.apply(x, *args)`` against ``ref_fn`` and the derivative
    ``df_fn(x)``, on a float64 input that contains exact zeros if ``with_zero``."""
    import edunn

    call = f"{name}.apply(x{''.join(', ' + repr(a) for a in args)})"
    with t.group(name):
        values = (t.randn(3, 5) * scale).tolist()
        if with_zero:
            values[0][0] = values[2][3] = 0.0
        x = edunn.tensor(values, dtype=edunn.float64, requires_grad=True)
        xd = x.detach()
        y = _apply(cls, x, *args)
        t.close(y, ref_fn(xd), call)
        g = t.randn(3, 5, dtype=edunn.float64)
        gx, = _grads(y, g, (x,))
        wrong = {diagnosis: (value(xd, g)).tolist() for diagnosis, value in (mistakes or {}).items()}
        wrong[f"your {name} backward forgot the incoming gradient: multiply by grad"] = df_fn(xd).tolist()
        t.close(gx, g * df_fn(xd), f"the gradient of {call}", mistakes=wrong)
    with t.group(f"{name}: gradcheck and gradgradcheck"):
        # away from the kinks, where finite differences are meaningful
        x = _leaf(t, 2, 4)
        x = (x.detach() + 0.1 * x.detach().sign()).requires_grad_()
        _gradcheck(t, lambda z: cls.apply(z, *args), (x,), call)
        _double_backward(t, lambda z: cls.apply(z, *args), (x,), name, piecewise_linear=piecewise_linear)


@exercise("05.relu", points=3, reference=RELUS, title="ReLU and LeakyReLU as Functions")
def grade_relus(student, t):
    import edunn

    ReLU, LeakyReLU = _unpack(student, 2, "ReLU, LeakyReLU")
    _check_activation(
        t, ReLU, "ReLU", lambda x: x.clamp(min=0), lambda x: (x > 0).double(),
        mistakes={"your ReLU backward passes the gradient where x >= 0; PyTorch's derivative at "
                  "exactly 0 is 0 (use x > 0)": lambda x, g: g * (x >= 0).double(),
                  "your ReLU backward returns grad * relu(x): the derivative is 1 where x > 0, not x":
                      lambda x, g: g * x.clamp(min=0)}, piecewise_linear=True)
    for slope in (0.01, 0.2):
        _check_activation(
            t, LeakyReLU, "LeakyReLU", lambda x, s=slope: edunn.where(x > 0, x, s * x),
            lambda x, s=slope: s + (1 - s) * (x > 0).double(), args=(slope,),
            mistakes={"your LeakyReLU backward gives 0 for negative inputs: there the derivative "
                      "is negative_slope": lambda x, g: g * (x > 0).double(),
                      "at exactly 0 PyTorch's derivative is negative_slope (x > 0 ? 1 : slope)":
                          lambda x, g, s=slope: g * (s + (1 - s) * (x >= 0).double())},
            piecewise_linear=True)


@exercise("05.Sigmoid", points=3, reference="edunn.ops.elementwise.Sigmoid",
          title="a numerically stable Sigmoid as a Function")
def grade_sigmoid(student, t):
    import edunn
    from edunn import backend

    def sigmoid(x):
        return edunn.sigmoid(x)

    _check_activation(
        t, student, "Sigmoid", sigmoid, lambda x: sigmoid(x) * (1 - sigmoid(x)), scale=3.0,
        with_zero=False,
        mistakes={"your Sigmoid backward returns grad * (1 - y): the derivative is y * (1 - y)":
                  lambda x, g: g * (1 - sigmoid(x)),
                  "your Sigmoid backward uses the input: it is y * (1 - y) with y = sigmoid(x), the output":
                      lambda x, g: g * x * (1 - x)})
    extreme = [-1000.0, -100.0, -40.0, 0.0, 40.0, 100.0, 1000.0]
    for dtype in (edunn.float64, edunn.float32):
        with t.group(f"extreme inputs in {dtype}"):
            x = edunn.tensor(extreme, dtype=dtype)
            try:
                with backend.numpy.errstate(over="raise", invalid="raise"):
                    y = _apply(student, x)
            except FloatingPointError as error:
                raise Fail(f"Sigmoid.apply(x) for x = {extreme} overflowed ({error}): e^(-x) is "
                           "inf for x = -1000. Exponentiate only -|x| (never larger than 1): "
                           "z = e^(-|x|), then y = 1 / (1 + z) where x >= 0 and z / (1 + z) "
                           "where x < 0") from None
            if bool(y.isnan().any()):
                raise Fail(f"Sigmoid.apply(x) for x = {extreme} gave {y.tolist()}: e^x / (1 + e^x) "
                           "is inf / inf = nan for large x. Exponentiate only -|x|")
            t.equal(y.dtype, dtype, "the dtype of the result", hint="keep the input's dtype")
            t.close(y, edunn.sigmoid(x), f"Sigmoid.apply(x) for x = {extreme}")


@exercise("05.smooth", points=4, reference=SMOOTH, title="GELU (tanh approximation) and SiLU as Functions")
def grade_smooth(student, t):
    import edunn

    GELUTanh, SiLU = _unpack(student, 2, "GELUTanh, SiLU")
    c = math.sqrt(2 / math.pi)

    def gelu(x):
        return 0.5 * x * (1 + edunn.tanh(c * (x + 0.044715 * x ** 3)))

    def dgelu(x, k=3 * 0.044715):
        th = edunn.tanh(c * (x + 0.044715 * x ** 3))
        return 0.5 * (1 + th) + 0.5 * x * (1 - th * th) * c * (1 + k * x * x)

    _check_activation(
        t, GELUTanh, "GELUTanh", gelu, dgelu, scale=1.5,
        mistakes={"the derivative of u = sqrt(2/pi) (x + 0.044715 x^3) is sqrt(2/pi) (1 + 3 * 0.044715 x^2): "
                  "the factor 3 is missing": lambda x, g: g * dgelu(x, 0.044715),
                  "your backward drops the product rule's first term 0.5 (1 + tanh u)":
                      lambda x, g: g * (dgelu(x) - 0.5 * (1 + edunn.tanh(c * (x + 0.044715 * x ** 3))))})
    with t.group("GELUTanh equals F.gelu(x, approximate='tanh')"):
        import edunn.nn.functional as F
        x = _leaf(t, 4, 4, scale=3.0).detach()
        t.close(_apply(GELUTanh, x), F.gelu(x, approximate="tanh"), "GELUTanh.apply(x)")

    def silu(x):
        return x * edunn.sigmoid(x)

    def dsilu(x):
        s = edunn.sigmoid(x)
        return s * (1 + x * (1 - s))

    _check_activation(
        t, SiLU, "SiLU", silu, dsilu, scale=2.0,
        mistakes={"your SiLU backward is sigmoid(x) only: by the product rule, d(x s)/dx = s + x s (1 - s)":
                  lambda x, g: g * edunn.sigmoid(x),
                  "your SiLU backward is x s (1 - s) only: by the product rule, d(x s)/dx = s + x s (1 - s)":
                      lambda x, g: g * x * edunn.sigmoid(x) * (1 - edunn.sigmoid(x))})
    with t.group("SiLU on large inputs"):
        x = edunn.tensor([-1000.0, -50.0, 50.0, 1000.0], dtype=edunn.float64)
        y = _apply(SiLU, x)
        t.ok(not bool(y.isnan().any()), f"SiLU.apply(x) for x = {x.tolist()} gave {y.tolist()}: use a "
             "stable sigmoid (your Sigmoid, or edunn.sigmoid)")
        t.close(y, silu(x), f"SiLU.apply(x) for x = {x.tolist()}")
