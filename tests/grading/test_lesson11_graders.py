"""The graders of lesson 11: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

from pathlib import Path

import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import Function
from edunn.grading.exercises.lesson11 import BatchNormFunction
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero, stub

pytestmark = pytest.mark.lesson11

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "11_normalization.ipynb"


# ---------------------------------------------------------------------------- planted: BatchNormFunction

def _bn_function(*, unbiased=False, constant_stats=False, drop_mean_term=False, forget_weight=False):
    class Planted(Function):
        @staticmethod
        def forward(ctx, x, weight, bias, eps=1e-5):
            axes = (0,) + tuple(range(2, x.dim()))
            shape = (1, x.shape[1]) + (1,) * (x.dim() - 2)
            mean = x.mean(axes, keepdim=True)
            var = x.var(axes, keepdim=True, unbiased=unbiased)
            invstd = (var + eps).rsqrt()
            xhat = (x - mean) * invstd
            ctx.axes, ctx.shape = axes, shape
            ctx.save_for_backward(xhat, invstd, weight, bias)
            return xhat * weight.reshape(shape) + bias.reshape(shape) if weight is not None else xhat

        @staticmethod
        def backward(ctx, grad):
            xhat, invstd, weight, bias = ctx.saved_tensors
            axes, shape = ctx.axes, ctx.shape
            n = xhat.numel() // xhat.shape[1]
            dxhat = grad * weight.reshape(shape) if weight is not None and not forget_weight else grad
            if constant_stats:
                dx = dxhat * invstd
            elif drop_mean_term:
                dx = invstd / n * (n * dxhat - xhat * (dxhat * xhat).sum(axes, keepdim=True))
            else:
                dx = invstd / n * (n * dxhat - dxhat.sum(axes, keepdim=True)
                                   - xhat * (dxhat * xhat).sum(axes, keepdim=True))
            dw = (grad * xhat).sum(axes) if weight is not None else None
            db = grad.sum(axes) if bias is not None else None
            return dx, dw, db, None
    return Planted


# ---------------------------------------------------------------------------- planted: BatchNorm2d

def _bn2d(*, biased_running=False, momentum_swapped=False, batch_stats_in_eval=False,
          ignore_none_momentum=False):
    class Planted(nn.Module):
        def __init__(self, num_features, eps=1e-5, momentum=0.1, affine=True, track_running_stats=True,
                     device=None, dtype=None):
            super().__init__()
            kw = {"device": device, "dtype": dtype}
            self.num_features, self.eps, self.momentum = num_features, eps, momentum
            self.affine, self.track_running_stats = affine, track_running_stats
            if affine:
                self.weight = nn.Parameter(edunn.ones(num_features, **kw))
                self.bias = nn.Parameter(edunn.zeros(num_features, **kw))
            else:
                self.register_parameter("weight", None)
                self.register_parameter("bias", None)
            if track_running_stats:
                self.register_buffer("running_mean", edunn.zeros(num_features, **kw))
                self.register_buffer("running_var", edunn.ones(num_features, **kw))
                self.register_buffer("num_batches_tracked", edunn.tensor(0, dtype=edunn.long))
            else:
                self.register_buffer("running_mean", None)
                self.register_buffer("running_var", None)
                self.register_buffer("num_batches_tracked", None)

        def forward(self, x):
            if x.dim() != 4:
                raise ValueError(f"expected 4D input (got {x.dim()}D input)")
            use_batch = self.training or self.running_mean is None or batch_stats_in_eval
            if use_batch:
                if self.training and self.track_running_stats:
                    self.num_batches_tracked.add_(1)
                    m = self.momentum
                    if m is None:
                        m = 0.1 if ignore_none_momentum else 1.0 / int(self.num_batches_tracked)
                    with edunn.no_grad():
                        mean = x.mean((0, 2, 3))
                        var = x.var((0, 2, 3), unbiased=not biased_running)
                        for buf, stat in ((self.running_mean, mean), (self.running_var, var)):
                            if momentum_swapped:
                                buf.copy_(m * buf + (1 - m) * stat)
                            else:
                                buf.copy_((1 - m) * buf + m * stat)
                return BatchNormFunction.apply(x, self.weight, self.bias, self.eps)
            return F.batch_norm(x, self.running_mean, self.running_var, self.weight, self.bias,
                                False, 0.0, self.eps)
    return Planted


# ---------------------------------------------------------------------------- planted: group/layer norm

def group_norm_unbiased(input, num_groups, weight=None, bias=None, eps=1e-5):
    n, c = input.shape[:2]
    g = input.reshape(n, num_groups, -1)
    out = ((g - g.mean(2, keepdim=True)) / (g.var(2, keepdim=True) + eps).sqrt()).reshape(input.shape)
    shape = (1, c) + (1,) * (input.dim() - 2)
    return out * weight.reshape(shape) + bias.reshape(shape) if weight is not None else out


def group_norm_forgets_affine(input, num_groups, weight=None, bias=None, eps=1e-5):
    return F.group_norm(input.detach(), num_groups, eps=eps) + 0 * (weight.sum() + bias.sum() if weight is not None else 0)


def layer_norm_last_axis_only(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    x = input
    out = (x - x.mean(-1, keepdim=True)) / (x.var(-1, keepdim=True, unbiased=False) + eps).sqrt()
    return out * weight + bias if weight is not None else out


def layer_norm_over_batch(input, normalized_shape, weight=None, bias=None, eps=1e-5):
    x = input
    out = (x - x.mean(0, keepdim=True)) / (x.var(0, keepdim=True, unbiased=False) + eps).sqrt()
    return out * weight + bias if weight is not None else out


# ---------------------------------------------------------------------------- the tests

def test_batch_norm_function():
    assert_full_marks("11.BatchNormFunction", BatchNormFunction)
    assert_zero("11.BatchNormFunction", StubClass)
    assert_partial("11.BatchNormFunction", _bn_function(unbiased=True), mentions="unbiased variance")
    assert_partial("11.BatchNormFunction", _bn_function(constant_stats=True), mentions="as constants")
    assert_partial("11.BatchNormFunction", _bn_function(drop_mean_term=True),
                   mentions="the mean's dependence on x")
    assert_partial("11.BatchNormFunction", _bn_function(forget_weight=True), mentions="forgot the weight")


def test_batch_norm2d():
    assert_full_marks("11.BatchNorm2d", nn.BatchNorm2d)
    assert_full_marks("11.BatchNorm2d", _bn2d())
    assert_zero("11.BatchNorm2d", StubClass)
    assert_partial("11.BatchNorm2d", _bn2d(biased_running=True), mentions="unbiased batch variance")
    assert_partial("11.BatchNorm2d", _bn2d(momentum_swapped=True), mentions="weight of the NEW statistic")
    assert_partial("11.BatchNorm2d", _bn2d(batch_stats_in_eval=True), mentions="in eval mode normalise")
    assert_partial("11.BatchNorm2d", _bn2d(ignore_none_momentum=True), mentions="cumulative average")


def test_group_norm():
    assert_full_marks("11.group_norm", F.group_norm)
    assert_zero("11.group_norm", stub)
    assert_partial("11.group_norm", group_norm_unbiased, mentions="biased variance")
    assert_partial("11.group_norm", group_norm_forgets_affine, mentions="weight and bias are per channel")


def test_layer_norm():
    assert_full_marks("11.layer_norm", F.layer_norm)
    assert_zero("11.layer_norm", stub)
    assert_partial("11.layer_norm", layer_norm_last_axis_only, mentions="not only the last one")
    assert_partial("11.layer_norm", layer_norm_over_batch, mentions="not over the batch")


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells with ``check`` as the identity; return their names."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import math\nimport edunn\nimport edunn.nn as nn\nimport edunn.nn.functional as F\n"
         "from edunn.autograd import Function\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/11_normalization.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("11.BatchNormFunction", ns["BatchNormFunction"])
    assert_full_marks("11.BatchNorm2d", ns["BatchNorm2d"])
    assert_full_marks("11.group_norm", ns["group_norm"])
    assert_full_marks("11.layer_norm", ns["layer_norm"])
