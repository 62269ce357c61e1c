"""The graders of lesson 09: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson09 as lesson09
import edunn.nn.functional as F
from edunn.autograd import Function
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, stub

pytestmark = pytest.mark.lesson09

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "09_convolution.ipynb"
size = lesson09.conv_output_size


# ---------------------------------------------------------------------------- references and stubs

def test_references_get_full_marks():
    assert_full_marks("09.output_size", lesson09.conv_output_size)
    assert_full_marks("09.conv2d_naive", F.conv2d)
    assert_full_marks("09.im2col", lesson09.im2col)
    assert_full_marks("09.col2im", lesson09.col2im)
    assert_full_marks("09.Conv2dFunction", lesson09.Conv2dFunction)
    assert_full_marks("09.conv_transpose2d", lesson09.conv_transpose2d)


class StubFunction(Function):
    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("your turn: replace this line with your code")

    @staticmethod
    def backward(ctx, grad):
        raise NotImplementedError("your turn: replace this line with your code")


@pytest.mark.parametrize("exercise_id", ["09.output_size", "09.conv2d_naive", "09.im2col", "09.col2im",
                                         "09.conv_transpose2d"])
def test_stubs_get_zero(exercise_id):
    assert_zero(exercise_id, stub)


def test_stub_function_gets_zero():
    assert_zero("09.Conv2dFunction", StubFunction)


def _solution_namespace():
    """Run the notebook's exercise cells (and the imports) with ``check`` as the identity."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import edunn\nimport edunn.nn.functional as F\nfrom edunn.autograd import Function\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/09_convolution.ipynb is missing")
def test_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("09.output_size", ns["conv_output_size"])
    assert_full_marks("09.conv2d_naive", ns["conv2d_naive"])
    assert_full_marks("09.im2col", ns["im2col"])
    assert_full_marks("09.col2im", ns["col2im"])
    assert_full_marks("09.Conv2dFunction", ns["Conv2dFunction"])
    assert_full_marks("09.conv_transpose2d", ns["conv_transpose2d"])


# ---------------------------------------------------------------------------- 09.output_size

def test_output_size_without_padding():
    assert_partial("09.output_size", lambda L, k, s=1, p=0, d=1: (L - d * (k - 1) - 1) // s + 1,
                   mentions="did you forget the padding?")


def test_output_size_one_sided_padding():
    assert_partial("09.output_size", lambda L, k, s=1, p=0, d=1: (L + p - d * (k - 1) - 1) // s + 1,
                   mentions="pad only one side")


def test_output_size_without_dilation():
    assert_partial("09.output_size", lambda L, k, s=1, p=0, d=1: (L + 2 * p - k) // s + 1,
                   mentions="forget the dilation")


def test_output_size_without_plus_one():
    assert_partial("09.output_size", lambda L, k, s=1, p=0, d=1: (L + 2 * p - d * (k - 1) - 1) // s,
                   mentions="1 pixel too small")


def test_output_size_rounded_up():
    import math
    assert_partial("09.output_size",
                   lambda L, k, s=1, p=0, d=1: math.ceil((L + 2 * p - d * (k - 1) - 1) / s) + 1,
                   mentions="did you round up?")


def test_output_size_float():
    assert_partial("09.output_size", lambda L, k, s=1, p=0, d=1: float(size(L, k, s, p, d)),
                   mentions="use // (floor division)")


# ---------------------------------------------------------------------------- 09.conv2d_naive

def test_naive_flipped_kernel():
    assert_partial("09.conv2d_naive",
                   lambda x, w, b=None, stride=1, padding=0, dilation=1:
                   F.conv2d(x, w.flip((2, 3)), b, stride=stride, padding=padding, dilation=dilation),
                   mentions="you flipped the kernel")


def test_naive_forgets_bias():
    assert_partial("09.conv2d_naive",
                   lambda x, w, b=None, stride=1, padding=0, dilation=1:
                   F.conv2d(x, w, None, stride=stride, padding=padding, dilation=dilation),
                   mentions="you forgot the bias")


def test_naive_forgets_padding():
    # pads nothing: the output is 2p pixels too small
    assert_partial("09.conv2d_naive",
                   lambda x, w, b=None, stride=1, padding=0, dilation=1:
                   F.conv2d(x, w, b, stride=stride, padding=0, dilation=dilation),
                   mentions="did you forget the padding?")


def test_naive_ignores_stride():
    assert_partial("09.conv2d_naive",
                   lambda x, w, b=None, stride=1, padding=0, dilation=1:
                   F.conv2d(x, w, b, stride=1, padding=padding, dilation=dilation),
                   mentions="too large")


# ---------------------------------------------------------------------------- 09.im2col

def test_im2col_rows_instead_of_columns():
    assert_partial("09.im2col", lambda x, kh, kw, stride=1, padding=0, dilation=1:
                   lesson09.im2col(x, kh, kw, stride, padding, dilation).transpose(0, 2, 1),
                   mentions="one *column* per output position")


def test_im2col_channel_last_order():
    def channel_last(x, kh, kw, stride=1, padding=0, dilation=1):
        n, c = x.shape[:2]
        cols = lesson09.im2col(x, kh, kw, stride, padding, dilation)
        return cols.reshape(n, c, kh, kw, -1).transpose(0, 2, 3, 1, 4).reshape(cols.shape)
    assert_partial("09.im2col", channel_last, mentions="(channel, kernel row, kernel column)")


def test_im2col_swaps_stride_and_dilation():
    def swapped(x, kh, kw, stride=1, padding=0, dilation=1):
        xp = edunn.backend.array_module(x)
        n, c, h, w = x.shape
        h_out, w_out = size(h, kh, stride, padding, dilation), size(w, kw, stride, padding, dilation)
        x = xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
        if stride * (h_out - 1) + dilation * (kh - 1) >= x.shape[2] or \
                stride * (w_out - 1) + dilation * (kw - 1) >= x.shape[3]:
            return xp.zeros((n, c * kh * kw, h_out * w_out), x.dtype)   # would read outside x
        sn, sc, sh, sw = x.strides
        view = xp.lib.stride_tricks.as_strided(
            x, (n, c, kh, kw, h_out, w_out), (sn, sc, sh * stride, sw * stride, sh * dilation, sw * dilation))
        return view.reshape(n, c * kh * kw, h_out * w_out)
    assert_partial("09.im2col", swapped, mentions="a step along a kernel axis moves `dilation` pixels")


def test_im2col_forgets_padding_in_size():
    def no_pad(x, kh, kw, stride=1, padding=0, dilation=1):
        return lesson09.im2col(x, kh, kw, stride, 0, dilation)
    assert_partial("09.im2col", no_pad, mentions="did you forget the padding?")


def test_im2col_returns_tensor():
    assert_partial("09.im2col", lambda x, kh, kw, stride=1, padding=0, dilation=1:
                   edunn.as_tensor(lesson09.im2col(x, kh, kw, stride, padding, dilation)),
                   mentions="returned a Tensor")


# ---------------------------------------------------------------------------- 09.col2im

def test_col2im_overwrites():
    def overwrite(cols, x_shape, kh, kw, stride=1, padding=0, dilation=1):
        return lesson09._col2im_overwrite(cols, x_shape, kh, kw, stride, padding, dilation)
    assert_partial("09.col2im", overwrite, mentions="your col2im overwrites (=)")


def test_col2im_keeps_padding():
    def padded(cols, x_shape, kh, kw, stride=1, padding=0, dilation=1):
        n, c, h, w = x_shape
        big = lesson09.col2im(cols, (n, c, h + 2 * padding, w + 2 * padding), kh, kw, stride, 0, dilation)
        return big
    assert_partial("09.col2im", padded, mentions="you returned the padded image")


# ---------------------------------------------------------------------------- 09.Conv2dFunction

def _planted_function(backward):
    class Planted(lesson09.Conv2dFunction):
        pass
    Planted.backward = staticmethod(backward)
    return Planted


def test_function_weight_grad_not_summed_over_batch():
    def backward(ctx, grad):
        gx, gw, gb, *rest = lesson09.Conv2dFunction.backward(ctx, grad)
        w, cols = ctx.w, ctx.cols
        g = grad._data.reshape(grad.shape[0], w.shape[0], -1)
        per_image = (g @ cols.transpose(0, 2, 1)).reshape((grad.shape[0],) + w.shape)
        return gx, edunn.as_tensor(per_image), gb, *rest
    assert_partial("09.Conv2dFunction", _planted_function(backward), mentions="summed over the batch")


def test_function_input_grad_overwrites():
    def backward(ctx, grad):
        gx, gw, gb, *rest = lesson09.Conv2dFunction.backward(ctx, grad)
        w = ctx.w
        g = grad._data.reshape(grad.shape[0], w.shape[0], -1)
        wrong = lesson09._col2im_overwrite(w.reshape(w.shape[0], -1).T @ g, ctx.x_shape, *ctx.params)
        return edunn.as_tensor(wrong), gw, gb, *rest
    assert_partial("09.Conv2dFunction", _planted_function(backward), mentions="overwrites")


def test_function_bias_grad_per_position():
    def backward(ctx, grad):
        gx, gw, gb, *rest = lesson09.Conv2dFunction.backward(ctx, grad)
        if gb is not None:
            gb = edunn.as_tensor(grad._data.sum(0))
        return gx, gw, gb, *rest
    assert_partial("09.Conv2dFunction", _planted_function(backward),
                   mentions="summed over the batch and every output position")


def test_function_returns_arrays():
    def backward(ctx, grad):
        return tuple(g._data if g is not None else None for g in lesson09.Conv2dFunction.backward(ctx, grad))
    assert_partial("09.Conv2dFunction", _planted_function(backward), mentions="edunn.as_tensor")


def test_function_wrong_gradient_count():
    def backward(ctx, grad):
        return lesson09.Conv2dFunction.backward(ctx, grad)[:3]
    assert_partial("09.Conv2dFunction", _planted_function(backward), mentions="six gradients")


# ---------------------------------------------------------------------------- 09.conv_transpose2d

def test_transpose_forgets_output_padding():
    assert_partial("09.conv_transpose2d",
                   lambda z, w, b=None, stride=1, padding=0, output_padding=0, dilation=1:
                   lesson09.conv_transpose2d(z, w, b, stride, padding, 0, dilation),
                   mentions="did you forget output_padding?")


def test_transpose_adds_padding():
    def adds(z, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
        # a full transposed conv, then zero padding around instead of cropping it
        y = lesson09.conv_transpose2d(z, w, b, stride, 0, output_padding, dilation)
        return F.pad(y, (padding, padding, padding, padding))
    assert_partial("09.conv_transpose2d", adds, mentions="*removes* 2p")


def test_transpose_weight_layout():
    def untransposed(z, w, b=None, stride=1, padding=0, output_padding=0, dilation=1):
        return lesson09.conv_transpose2d(z, w.transpose(0, 1), b, stride, padding, output_padding, dilation)
    assert_partial("09.conv_transpose2d", untransposed, mentions="(C_in, C_out, kh, kw)")


# ---------------------------------------------------------------------------- the references themselves

@pytest.mark.parametrize("s,p,d", [(1, 0, 1), (2, 1, 1), (3, 2, 2), (1, 1, 3)])
def test_reference_im2col_col2im_against_unfold_fold(s, p, d):
    edunn.manual_seed(0)
    x = edunn.randn(2, 3, 9, 7, dtype=edunn.float64)
    cols = lesson09.im2col(x._data, 3, 2, s, p, d)
    assert edunn.allclose(edunn.as_tensor(cols), F.unfold(x, (3, 2), dilation=d, padding=p, stride=s))
    c = edunn.randn(*cols.shape, dtype=edunn.float64)
    back = lesson09.col2im(c._data, (2, 3, 9, 7), 3, 2, s, p, d)
    assert edunn.allclose(edunn.as_tensor(back), F.fold(c, (9, 7), (3, 2), dilation=d, padding=p, stride=s))
