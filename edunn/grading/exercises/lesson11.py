"""Graders of lesson 11 (normalization): batch normalization as a ``Function`` with its
closed-form backward, a ``BatchNorm2d`` module with running statistics, and ``group_norm`` and
``layer_norm`` written with tensor ops.

References: ``BatchNormFunction`` below (the lesson's closed form, the same one
``edunn.nn.functional.batch_norm`` uses in its ``_Normalize`` op), ``edunn.nn.BatchNorm2d``,
``edunn.nn.functional.group_norm`` and ``edunn.nn.functional.layer_norm``.

The graders compare values and gradients with ``edunn.nn.functional`` on random float64 inputs,
run ``gradcheck``, step a learner's ``BatchNorm2d`` beside edunn's through several training
batches (outputs, ``running_mean``, ``running_var``, ``num_batches_tracked``, then eval) and
recognise the usual mistakes: the unbiased variance used to normalise, the biased one stored in
``running_var``, momentum applied the wrong way round, a backward that treats the mean and the
variance as constants, batch statistics used in eval, ``momentum=None`` ignored.
"""

from __future__ import annotations

from typing import Any

from edunn.autograd.function import Function
from edunn.grading import Fail, exercise
from edunn.grading.checker import describe_exception


# ---------------------------------------------------------------------------- the reference


class BatchNormFunction(Function):
    """Training-mode batch normalization of x (N, C, *) over N and *, per channel::

        x_hat = (x - mean) / sqrt(var + eps),   y = x_hat * weight + bias   (biased var)

    backward (closed form, n = values per channel, dx_hat = dy * weight)::

        dx = (1/n) * invstd * (n*dx_hat - sum(dx_hat) - x_hat * sum(dx_hat * x_hat))
        dweight = sum(dy * x_hat),   dbias = sum(dy)
    """

    @staticmethod
    def forward(ctx, x, weight, bias, eps=1e-5):
        axes = (0,) + tuple(range(2, x.dim()))
        shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
        mean = x.mean(axes, keepdim=True)
        var = x.var(axes, keepdim=True, unbiased=False)
        invstd = (var + eps).rsqrt()
        xhat = (x - mean) * invstd
        ctx.axes, ctx.shape = axes, shape
        ctx.save_for_backward(xhat, invstd, weight, bias)
        y = xhat
        if weight is not None:
            y = y * weight.reshape(shape)
        if bias is not None:
            y = y + bias.reshape(shape)
        return y

    @staticmethod
    def backward(ctx, grad):
        xhat, invstd, weight, bias = ctx.saved_tensors
        axes, shape = ctx.axes, ctx.shape
        n = xhat.numel() // xhat.shape[1]
        dxhat = grad * weight.reshape(shape) if weight is not None else grad
        dx = invstd / n * (n * dxhat - dxhat.sum(axes, keepdim=True)
                           - xhat * (dxhat * xhat).sum(axes, keepdim=True))
        dweight = (grad * xhat).sum(axes) if weight is not None else None
        dbias = grad.sum(axes) if bias is not None else None
        return dx, dweight, dbias, None


# ---------------------------------------------------------------------------- helpers


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _leaf(t, *shape: int, scale: float = 1.0, shift: float = 0.0):
    import edunn

    return edunn.tensor((t.randn(*shape) * scale + shift).tolist(), dtype=edunn.float64,
                        requires_grad=True)


def _as_tensor(out: Any, what: str):
    import edunn

    if not isinstance(out, edunn.Tensor):
        raise Fail(f"{what} returned {type(out).__name__}, expected a Tensor")
    return out


def _grads(y, g, inputs: tuple) -> tuple:
    """``d (y * g).sum() / d input`` for each input (None where no gradient arrived)."""
    if y.grad_fn is None:
        raise Fail("the output recorded no graph (it has no grad_fn): return the result of forward, "
                   "and call the class with .apply(...)")
    for x in inputs:
        if x is not None:
            x.grad = None
    (y * g).sum().backward()
    return tuple(x.grad if x is not None else None for x in inputs)


def _stats(x, axes: tuple, unbiased: bool = False) -> tuple:
    return x.mean(axes, keepdim=True), x.var(axes, keepdim=True, unbiased=unbiased)


def _normalize_unbiased(x, w, b, eps):
    """The mistake of normalising with the unbiased variance."""
    axes = (0,) + tuple(range(2, x.dim()))
    shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
    mean, var = _stats(x, axes, unbiased=True)
    return (x - mean) / (var + eps).sqrt() * w.reshape(shape) + b.reshape(shape)


def _gradcheck(t, fn, inputs, what):
    from edunn.autograd import gradcheck

    try:
        ok = gradcheck(fn, inputs, raise_exception=False)
    except NotImplementedError:
        raise
    except Exception as error:
        raise Fail(f"gradcheck of {what} raised {type(error).__name__}: {error}") from None
    t.ok(ok, f"gradcheck of {what} failed: the gradient from your backward does not match the "
             "finite differences (f(x + eps) - f(x - eps)) / (2 eps) in float64")


# ---------------------------------------------------------------------------- 11.BatchNormFunction


def _check_bn_function(t, student, shape: tuple, eps: float) -> None:
    import edunn
    import edunn.nn.functional as F

    c = shape[1]
    axes = (0,) + tuple(range(2, len(shape)))
    pshape = (1, c) + (1,) * (len(shape) - 2)
    x = _leaf(t, *shape, scale=2.0, shift=1.0)
    w, b = _leaf(t, c, shift=1.0), _leaf(t, c)
    xd, wd, bd = x.detach(), w.detach(), b.detach()
    call = f"BatchNormFunction.apply(x, weight, bias, {eps}) for x of shape {_fmt(shape)}"
    y = _as_tensor(student.apply(x, w, b, eps), call)
    want = F.batch_norm(xd, None, None, wd, bd, training=True, eps=eps)
    if tuple(y.shape) != shape:
        raise Fail(f"{call} has shape {_fmt(tuple(y.shape))}, expected {_fmt(shape)} (the input's)")
    mean, var = _stats(xd, axes)
    t.close(y, want, call, mistakes={
        "you normalised with the unbiased variance (divided by n - 1): the output uses the biased "
        "one, var = mean((x - mean)^2)": _normalize_unbiased(xd, wd, bd, eps).tolist(),
        "you forgot weight and bias": ((xd - mean) / (var + eps).sqrt()).tolist(),
        "eps goes inside the square root: (x - mean) / sqrt(var + eps)":
            ((xd - mean) / (var.sqrt() + eps) * wd.reshape(pshape) + bd.reshape(pshape)).tolist(),
        "the statistics are per channel, over every axis but 1 (the batch and the positions)":
            (F.layer_norm(xd, shape[1:], eps=eps) * wd.reshape(pshape) + bd.reshape(pshape)).tolist(),
    })
    g = t.randn(*shape, dtype=edunn.float64)
    gx, gw, gb = _grads(y, g, (x, w, b))
    for name, got, want_shape in (("x", gx, shape), ("weight", gw, (c,)), ("bias", gb, (c,))):
        if got is None:
            raise Fail(f"no gradient reached {name}: backward should return (dx, dweight, dbias, None)")
        if tuple(got.shape) != want_shape:
            raise Fail(f"the gradient of {name} has shape {_fmt(tuple(got.shape))}, expected "
                       f"{_fmt(want_shape)} (sum over the batch and positions: axes {axes})")
    xr, wr, br = (v.detach().requires_grad_() for v in (xd, wd, bd))
    rx, rw, rb = _grads(F.batch_norm(xr, None, None, wr, br, training=True, eps=eps), g, (xr, wr, br))
    xhat = (xd - mean) / (var + eps).sqrt()
    invstd = (var + eps).rsqrt()
    dxhat = g * wd.reshape(pshape)
    t.close(gx, rx, "the gradient of x", mistakes={
        "your dx treats the mean and the variance as constants (dx = dx_hat * invstd): x also moves "
        "them, which gives the two subtracted terms": (dxhat * invstd).tolist(),
        "your dx forgot the weight: dx_hat = dy * weight": (rx / wd.reshape(pshape)).tolist(),
        "your dx is missing the term - x_hat * sum(dx_hat * x_hat) (the variance's dependence on x)":
            (invstd * (dxhat - dxhat.mean(axes, keepdim=True))).tolist(),
        "your dx is missing the term - sum(dx_hat) (the mean's dependence on x)":
            (invstd * (dxhat - xhat * (dxhat * xhat).mean(axes, keepdim=True))).tolist(),
    })
    t.close(gw, rw, "the gradient of weight", mistakes={
        "dweight = sum(dy * x_hat), with x_hat the normalised input, not x": (g * xd).sum(axes).tolist()})
    t.close(gb, rb, "the gradient of bias")


@exercise("11.BatchNormFunction", points=5, reference=BatchNormFunction,
          title="batch norm in training as a Function, with the closed-form backward")
def grade_batch_norm_function(student, t):
    import edunn

    with t.group("x (N, C) = (6, 3)"):
        _check_bn_function(t, student, (6, 3), 1e-5)
    with t.group("x (N, C, L) = (4, 2, 5), eps=0.1"):
        _check_bn_function(t, student, (4, 2, 5), 0.1)
    with t.group("x (N, C, H, W) = (3, 4, 3, 2)"):
        _check_bn_function(t, student, (3, 4, 3, 2), 1e-5)
    with t.group("weight=None, bias=None"):
        x = _leaf(t, 5, 3, 2)
        y = _as_tensor(student.apply(x, None, None, 1e-5), "BatchNormFunction.apply(x, None, None, 1e-5)")
        want = edunn.nn.functional.batch_norm(x.detach(), None, None, training=True)
        t.close(y, want, "BatchNormFunction.apply(x, None, None, 1e-5)",
                hint="without weight and bias the output is x_hat, and backward returns None for them")
        g = t.randn(5, 3, 2, dtype=edunn.float64)
        gx, = _grads(y, g, (x,))
        xr = x.detach().requires_grad_()
        rx, = _grads(edunn.nn.functional.batch_norm(xr, None, None, training=True), g, (xr,))
        t.close(gx, rx, "the gradient of x", hint="with weight None, dx_hat = dy")
    with t.group("gradcheck"):
        x, w, b = _leaf(t, 4, 3, 2), _leaf(t, 3, shift=1.0), _leaf(t, 3)
        _gradcheck(t, lambda *a: student.apply(*a, 1e-5), (x, w, b),
                   "BatchNormFunction.apply(x, weight, bias, 1e-5)")


# ---------------------------------------------------------------------------- 11.BatchNorm2d


def _make(student, *args, **kwargs):
    import edunn.nn as nn

    layer = student(*args, **kwargs)
    if not isinstance(layer, nn.Module):
        raise Fail("BatchNorm2d should be a subclass of nn.Module (class BatchNorm2d(nn.Module))")
    return layer


def _buffer(layer, name: str):
    value = getattr(layer, name, "missing")
    if isinstance(value, str):
        raise Fail(f"the layer has no attribute {name!r}: register it with "
                   f"self.register_buffer({name!r}, ...)")
    return value


def _step_both(t, mine, ref, shape: tuple, steps: int, what: str, scale: float = 3.0) -> None:
    """Train-mode steps on both layers with the same batches; compare outputs and buffers."""
    import edunn

    for step in range(1, steps + 1):
        x = t.randn(*shape, dtype=edunn.float64) * scale + step
        tracking = ref.running_mean is not None
        if tracking:
            prev_m, prev_v = ref.running_mean.clone(), ref.running_var.clone()
        y = mine(x)
        t.close(y, ref(x), f"{what}: the output of training step {step}")
        if not tracking:
            continue
        rm, rv = _buffer(mine, "running_mean"), _buffer(mine, "running_var")
        if rm is None or rv is None:
            raise Fail(f"{what}: running_mean/running_var are None, but track_running_stats=True")
        c = shape[1]
        xs = x.transpose(0, 1).reshape(c, -1)
        m = ref.momentum if ref.momentum is not None else 1.0 / step
        wrong_var = {
            "running_var must be updated with the unbiased batch variance (divided by n - 1, "
            "x.var(..., unbiased=True)), though the output is normalised with the biased one":
                ((1 - m) * prev_v + m * xs.var(1, unbiased=False)).tolist(),
        }
        wrong_mean = {}
        if ref.momentum is None:
            wrong_mean["momentum=None means a cumulative average: the factor is "
                       "1 / num_batches_tracked, not 0.1"] = (0.9 * prev_m + 0.1 * xs.mean(1)).tolist()
        if m < 1:
            swapped = "momentum is the weight of the NEW statistic: running = (1 - momentum) * running + momentum * "
            wrong_mean[swapped + "batch_mean"] = (m * prev_m + (1 - m) * xs.mean(1)).tolist()
            wrong_var[swapped + "batch_var"] = (m * prev_v + (1 - m) * xs.var(1)).tolist()
        t.close(rm, ref.running_mean, f"{what}: running_mean after step {step}", mistakes=wrong_mean)
        t.close(rv, ref.running_var, f"{what}: running_var after step {step}", mistakes=wrong_var)
        nbt = _buffer(mine, "num_batches_tracked")
        t.equal(int(nbt) if nbt is not None else None, step,
                f"{what}: num_batches_tracked after step {step}",
                hint="add 1 to the num_batches_tracked buffer (in place: .add_(1)) at every training step")


@exercise("11.BatchNorm2d", points=5, reference="edunn.nn.BatchNorm2d",
          title="BatchNorm2d: parameters, running statistics as buffers, train and eval")
def grade_batch_norm2d(student, t):
    import edunn
    import edunn.nn as nn

    with t.group("parameters and buffers"):
        layer = _make(student, 3)
        names = [name for name, _ in layer.named_parameters()]
        t.equal(names, ["weight", "bias"], "the names of BatchNorm2d(3)'s parameters")
        t.close(layer.weight, edunn.ones(3), "the initial weight", hint="weight starts at ones, bias at zeros")
        t.close(layer.bias, edunn.zeros(3), "the initial bias", hint="weight starts at ones, bias at zeros")
        buffers = dict(layer.named_buffers())
        t.equal(list(buffers), ["running_mean", "running_var", "num_batches_tracked"],
                "the names of BatchNorm2d(3)'s buffers",
                hint="self.register_buffer('running_mean', edunn.zeros(n)), then running_var (ones), "
                     "then num_batches_tracked (edunn.tensor(0, dtype=edunn.long))")
        t.close(buffers["running_mean"], edunn.zeros(3), "the initial running_mean")
        t.close(buffers["running_var"], edunn.ones(3), "the initial running_var")
        t.equal(buffers["num_batches_tracked"].dtype, edunn.int64, "num_batches_tracked's dtype")
        t.equal(list(layer.state_dict()), ["weight", "bias", "running_mean", "running_var",
                                           "num_batches_tracked"], "the state_dict keys of BatchNorm2d(3)")
    with t.group("training: outputs and running statistics over 4 steps (momentum=0.1)"):
        mine, ref = _make(student, 3, dtype=edunn.float64), nn.BatchNorm2d(3, dtype=edunn.float64)
        with edunn.no_grad():
            for p in (mine.weight, ref.weight):
                p.copy_(edunn.tensor([0.5, 2.0, -1.0], dtype=edunn.float64))
            for p in (mine.bias, ref.bias):
                p.copy_(edunn.tensor([0.1, -0.3, 1.0], dtype=edunn.float64))
        _step_both(t, mine, ref, (4, 3, 3, 3), 4, "BatchNorm2d(3)")
    with t.group("eval: the running statistics, and nothing changes"):
        mine.eval()
        ref.eval()
        x = t.randn(2, 3, 3, 3, dtype=edunn.float64) * 2 + 1
        before = _buffer(mine, "running_mean").clone()
        y = mine(x)
        xs = x.transpose(0, 1).reshape(3, -1)
        batch = ((x - xs.mean(1).reshape(1, 3, 1, 1)) / (xs.var(1, unbiased=False).reshape(1, 3, 1, 1) + 1e-5).sqrt()
                 * mine.weight.detach().reshape(1, 3, 1, 1) + mine.bias.detach().reshape(1, 3, 1, 1))
        t.close(y, ref(x), "the output in eval mode", mistakes={
            "in eval mode normalise with running_mean and running_var, not the batch's statistics":
                batch.tolist()})
        t.close(_buffer(mine, "running_mean"), before, "running_mean after an eval forward",
                hint="eval must not update the running statistics")
        t.equal(int(_buffer(mine, "num_batches_tracked")), 4, "num_batches_tracked after an eval forward")
    with t.group("gradients in training"):
        mine, ref = _make(student, 2, dtype=edunn.float64), nn.BatchNorm2d(2, dtype=edunn.float64)
        x = _leaf(t, 3, 2, 2, 3)
        g = t.randn(3, 2, 2, 3, dtype=edunn.float64)
        (mine(x) * g).sum().backward()
        xr = x.detach().requires_grad_()
        (ref(xr) * g).sum().backward()
        if x.grad is None or mine.weight.grad is None:
            raise Fail("no gradient reached the input or weight: the training output must be "
                       "computed from x, self.weight and self.bias with recorded ops")
        t.close(x.grad, xr.grad, "the gradient of the input")
        t.close(mine.weight.grad, ref.weight.grad, "weight.grad")
        t.close(mine.bias.grad, ref.bias.grad, "bias.grad")
    with t.group("momentum=None: a cumulative average"):
        mine = _make(student, 2, momentum=None, dtype=edunn.float64)
        ref = nn.BatchNorm2d(2, momentum=None, dtype=edunn.float64)
        _step_both(t, mine, ref, (3, 2, 2, 2), 3, "BatchNorm2d(2, momentum=None)")
    with t.group("momentum=0.5, affine=False"):
        mine = _make(student, 2, momentum=0.5, affine=False, dtype=edunn.float64)
        ref = nn.BatchNorm2d(2, momentum=0.5, affine=False, dtype=edunn.float64)
        t.equal([n for n, _ in mine.named_parameters()], [], "the parameters of an affine=False layer",
                hint="self.register_parameter('weight', None) and the same for bias")
        _step_both(t, mine, ref, (3, 2, 2, 2), 2, "BatchNorm2d(2, momentum=0.5, affine=False)")
        mine.eval()
        ref.eval()
        x = t.randn(2, 2, 2, 2, dtype=edunn.float64)
        t.close(mine(x), ref(x), "BatchNorm2d(2, momentum=0.5, affine=False) in eval")
    with t.group("track_running_stats=False: batch statistics always"):
        mine = _make(student, 2, track_running_stats=False, dtype=edunn.float64)
        ref = nn.BatchNorm2d(2, track_running_stats=False, dtype=edunn.float64)
        t.equal(list(mine.state_dict()), ["weight", "bias"],
                "the state_dict keys with track_running_stats=False",
                hint="register the three buffers as None: self.register_buffer('running_mean', None)")
        mine.eval()
        ref.eval()
        x = t.randn(3, 2, 2, 2, dtype=edunn.float64) + 2
        t.close(mine(x), ref(x), "the output in eval mode with track_running_stats=False",
                hint="without running statistics, eval normalises with the batch's")
    with t.group("a 3-D input raises ValueError"):
        layer = _make(student, 3)
        try:
            layer(edunn.randn(2, 3, 4))
        except ValueError as error:
            t.ok("4D" in str(error), f"the error should say a 4D input was expected, got: {error}")
        except Exception as error:
            t.fail(f"BatchNorm2d(3)(x of shape (2, 3, 4)) raised {describe_exception(error)}; "
                   "expected ValueError('expected 4D input (got 3D input)')")
        else:
            t.fail("BatchNorm2d(3)(x of shape (2, 3, 4)) should raise ValueError('expected 4D input "
                   "(got 3D input)')")


# ---------------------------------------------------------------------------- 11.group_norm


@exercise("11.group_norm", points=3, reference="edunn.nn.functional.group_norm",
          title="group_norm with tensor ops")
def grade_group_norm(student, t):
    import edunn
    import edunn.nn.functional as F

    for shape, groups in (((2, 6, 5), 3), ((3, 4, 2, 3), 2), ((2, 4, 3), 1), ((2, 4, 3), 4)):
        with t.group(f"x {_fmt(shape)}, num_groups={groups}"):
            c = shape[1]
            x = _leaf(t, *shape, scale=2.0, shift=1.0)
            w, b = _leaf(t, c, shift=1.0), _leaf(t, c)
            call = f"group_norm(x of shape {_fmt(shape)}, {groups}, weight, bias)"
            y = _as_tensor(student(x, groups, w, b), call)
            if tuple(y.shape) != shape:
                raise Fail(f"{call} has shape {_fmt(tuple(y.shape))}, expected {_fmt(shape)}")
            xd, wd, bd = x.detach(), w.detach(), b.detach()
            want = F.group_norm(xd, groups, wd, bd)
            pshape = (1, c) + (1,) * (len(shape) - 2)
            grouped = xd.reshape(shape[0], groups, -1)
            m, v = grouped.mean(2, keepdim=True), grouped.var(2, keepdim=True, unbiased=True)
            unbiased = ((grouped - m) / (v + 1e-5).sqrt()).reshape(shape) * wd.reshape(pshape) + bd.reshape(pshape)
            t.close(y, want, call, mistakes={
                "use the biased variance (unbiased=False)": unbiased.tolist(),
                "weight and bias are per channel, applied after the groups are normalised":
                    F.group_norm(xd, groups).tolist(),
            }, hint="reshape to (N, num_groups, -1), normalise over the last axis, reshape back, "
                    "then * weight + bias per channel")
            g = t.randn(*shape, dtype=edunn.float64)
            gx, gw, gb = _grads(y, g, (x, w, b))
            xr, wr, br = (v.detach().requires_grad_() for v in (xd, wd, bd))
            rx, rw, rb = _grads(F.group_norm(xr, groups, wr, br), g, (xr, wr, br))
            if gx is None or gw is None or gb is None:
                raise Fail("no gradient reached x, weight or bias: compute the output from them with "
                           "tensor ops (no .detach(), no ._data)")
            t.close(gx, rx, "the gradient of x")
            t.close(gw, rw, "the gradient of weight")
            t.close(gb, rb, "the gradient of bias")
    with t.group("no weight and bias"):
        x = t.randn(3, 4, 2, dtype=edunn.float64)
        t.close(student(x, 2), F.group_norm(x, 2), "group_norm(x, 2)",
                hint="weight=None and bias=None: the normalised x itself")


# ---------------------------------------------------------------------------- 11.layer_norm


@exercise("11.layer_norm", points=2, reference="edunn.nn.functional.layer_norm",
          title="layer_norm with tensor ops")
def grade_layer_norm(student, t):
    import edunn
    import edunn.nn.functional as F

    for shape, normalized in (((4, 5), (5,)), ((2, 3, 4), (4,)), ((2, 3, 4), (3, 4))):
        with t.group(f"x {_fmt(shape)}, normalized_shape={_fmt(normalized)}"):
            x = _leaf(t, *shape, scale=2.0, shift=1.0)
            w, b = _leaf(t, *normalized, shift=1.0), _leaf(t, *normalized)
            call = f"layer_norm(x of shape {_fmt(shape)}, {_fmt(normalized)}, weight, bias)"
            y = _as_tensor(student(x, normalized, w, b), call)
            if tuple(y.shape) != shape:
                raise Fail(f"{call} has shape {_fmt(tuple(y.shape))}, expected {_fmt(shape)}")
            xd, wd, bd = x.detach(), w.detach(), b.detach()
            mistakes = {
                "the statistics are per sample, over the trailing axes, not over the batch (that is "
                "batch norm)": ((xd - xd.mean(0, keepdim=True))
                                / (xd.var(0, keepdim=True, unbiased=False) + 1e-5).sqrt() * wd + bd).tolist(),
            }
            if len(normalized) > 1:
                mistakes["the statistics are over the last len(normalized_shape) axes, not only the "
                         "last one"] = (F.layer_norm(xd, shape[-1:]) * wd + bd).tolist()
            t.close(y, F.layer_norm(xd, normalized, wd, bd), call, mistakes=mistakes)
            g = t.randn(*shape, dtype=edunn.float64)
            gx, gw, gb = _grads(y, g, (x, w, b))
            xr, wr, br = (v.detach().requires_grad_() for v in (xd, wd, bd))
            rx, rw, rb = _grads(F.layer_norm(xr, normalized, wr, br), g, (xr, wr, br))
            if gx is None or gw is None or gb is None:
                raise Fail("no gradient reached x, weight or bias: compute the output from them with "
                           "tensor ops")
            t.close(gx, rx, "the gradient of x")
            t.close(gw, rw, "the gradient of weight")
            t.close(gb, rb, "the gradient of bias")
    with t.group("no weight and bias"):
        x = t.randn(3, 4, dtype=edunn.float64)
        t.close(student(x, (4,)), F.layer_norm(x, (4,)), "layer_norm(x, (4,))")
