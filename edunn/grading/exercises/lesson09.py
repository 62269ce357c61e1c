"""Graders of lesson 09 (convolution): the output-size formula, a naive loop ``conv2d``,
``im2col`` by strided windows, its adjoint ``col2im``, a ``Function`` for conv2d with its
backward, and the transposed convolution.

References are written out below in the few lines a learner writes, next to the library code
they mirror (``_im2col_array``, ``_col2im_array``, ``ConvNd`` and ``ConvTransposeNd`` in
``edunn/nn/functional/conv.py``, which do the same for 1d/2d/3d and groups).  The graders compare
with ``edunn.nn.functional`` (``conv2d``, ``unfold``, ``fold``, ``conv_transpose2d``: values and
gradients) on random shapes, strides, paddings and dilations, check that ``col2im`` is the adjoint
of ``im2col`` and that the transposed convolution is the input-gradient of a convolution, run
``gradcheck``, and explain the usual mistakes: an output size off by the padding, the dilation or
the final ``+ 1``; a flipped kernel; columns in the wrong order; ``=`` instead of ``+=`` in
``col2im``; a weight gradient not summed over the batch; a forgotten ``output_padding``.
"""

from __future__ import annotations

from typing import Any

import edunn
import edunn.nn.functional as F
from edunn import backend
from edunn.autograd import gradcheck
from edunn.autograd.function import Function
from edunn.grading import Fail, exercise

# ---------------------------------------------------------------------------- references


def conv_output_size(size: int, kernel_size: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> int:
    """Number of window positions along one axis: floor((L + 2p - d(k-1) - 1) / s) + 1."""
    return (size + 2 * padding - dilation * (kernel_size - 1) - 1) // stride + 1


def im2col(x: Any, kh: int, kw: int, stride: int = 1, padding: int = 0, dilation: int = 1) -> Any:
    """x (N, C, H, W) array -> columns (N, C*kh*kw, H_out*W_out): one column per output
    position, holding the pixels its window sees, in the order (c, u, v) (``F.unfold``'s)."""
    xp = backend.array_module(x)
    n, c, h, w = x.shape
    h_out = conv_output_size(h, kh, stride, padding, dilation)
    w_out = conv_output_size(w, kw, stride, padding, dilation)
    if padding:
        x = xp.pad(x, ((0, 0), (0, 0), (padding, padding), (padding, padding)))
    sn, sc, sh, sw = x.strides
    windows = xp.lib.stride_tricks.as_strided(
        x, (n, c, kh, kw, h_out, w_out),
        (sn, sc, sh * dilation, sw * dilation, sh * stride, sw * stride))
    return windows.reshape(n, c * kh * kw, h_out * w_out)      # reshape copies: the view overlaps


def col2im(cols: Any, x_shape: tuple, kh: int, kw: int, stride: int = 1, padding: int = 0,
           dilation: int = 1) -> Any:
    """The adjoint of ``im2col``: every entry of the columns is *added* back onto the pixel of
    an (N, C, H, W) image it was read from (``F.fold``).  One strided ``+=`` per kernel offset."""
    xp = backend.array_module(cols)
    n, c, h, w = x_shape
    h_out = conv_output_size(h, kh, stride, padding, dilation)
    w_out = conv_output_size(w, kw, stride, padding, dilation)
    padded = xp.zeros((n, c, h + 2 * padding, w + 2 * padding), dtype=cols.dtype)
    cols = cols.reshape(n, c, kh, kw, h_out, w_out)
    for u in range(kh):
        for v in range(kw):
            top, left = u * dilation, v * dilation
            padded[:, :, top:top + stride * (h_out - 1) + 1:stride,
                   left:left + stride * (w_out - 1) + 1:stride] += cols[:, :, u, v]
    return xp.ascontiguousarray(padded[:, :, padding:padding + h, padding:padding + w])


class Conv2dFunction(Function):
    """y = W_mat @ im2col(x) + b; backward: dW = sum_n g @ cols^T, dx = col2im(W_mat^T @ g),
    db = g summed over batch and positions."""

    @staticmethod
    def forward(ctx, input, weight, bias, stride=1, padding=0, dilation=1):
        x, w = input._data, weight._data
        n, _, h, wd = x.shape
        o, _, kh, kw = w.shape
        h_out = conv_output_size(h, kh, stride, padding, dilation)
        w_out = conv_output_size(wd, kw, stride, padding, dilation)
        cols = im2col(x, kh, kw, stride, padding, dilation)          # (N, C*kh*kw, L)
        y = w.reshape(o, -1) @ cols                                  # (N, O, L)
        if bias is not None:
            y = y + bias._data.reshape(1, o, 1)
        ctx.cols, ctx.x_shape, ctx.w = cols, x.shape, w
        ctx.params = (kh, kw, stride, padding, dilation)
        return y.reshape(n, o, h_out, w_out)

    @staticmethod
    def backward(ctx, grad):
        w, cols = ctx.w, ctx.cols
        o = w.shape[0]
        g = grad._data.reshape(grad.shape[0], o, -1)                 # (N, O, L)
        grad_w = (g @ cols.transpose(0, 2, 1)).sum(0).reshape(w.shape)
        grad_x = col2im(w.reshape(o, -1).T @ g, ctx.x_shape, *ctx.params)
        grad_b = edunn.as_tensor(g.sum((0, 2))) if ctx.needs_input_grad[2] else None
        # backward returns tensors; these are made from arrays, so they are constants for a second
        # derivative (edunn's ConvNd builds its backward from Functions, and can be differentiated again)
        return edunn.as_tensor(grad_x), edunn.as_tensor(grad_w), grad_b, None, None, None


def conv_transpose2d(input: Any, weight: Any, bias: Any = None, stride: int = 1, padding: int = 0,
                     output_padding: int = 0, dilation: int = 1) -> Any:
    """The gradient of conv2d as an op: z (N, C_in, H, W), weight (C_in, C_out, kh, kw) ->
    col2im(W_mat^T @ z) of size (H - 1) s - 2p + d(k - 1) + output_padding + 1."""
    z, w = input._data, weight._data
    n, c_in, h, wd = z.shape
    _, c_out, kh, kw = w.shape
    h_out = (h - 1) * stride - 2 * padding + dilation * (kh - 1) + output_padding + 1
    w_out = (wd - 1) * stride - 2 * padding + dilation * (kw - 1) + output_padding + 1
    cols = w.reshape(c_in, -1).T @ z.reshape(n, c_in, -1)              # (N, C_out*kh*kw, H*W)
    y = col2im(cols, (n, c_out, h_out, w_out), kh, kw, stride, padding, dilation)
    if bias is not None:
        y = y + bias._data.reshape(1, c_out, 1, 1)
    return edunn.as_tensor(y)


# ---------------------------------------------------------------------------- helpers


def _fmt(shape: Any) -> str:
    shape = tuple(shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _size_mistakes(size: int, k: int, s: int, p: int, d: int) -> dict:
    """{diagnosis: the size that mistake gives} for the usual slips in the output-size formula."""
    span = d * (k - 1) + 1
    return {
        "did you forget the padding? The padded input has L + 2p pixels": (size - span) // s + 1,
        "did you pad only one side? Padding p adds p pixels on each side, 2p in all":
            (size + p - span) // s + 1,
        "did you forget the dilation? A dilated window spans d(k - 1) + 1 pixels, not k":
            (size + 2 * p - k) // s + 1,
        "did you forget to divide by the stride? The window moves s pixels per output":
            size + 2 * p - span + 1,
        "did you forget the final + 1? It counts the first window, at position 0":
            (size + 2 * p - span) // s,
        "did you forget the - 1? The last window starts at L + 2p - (d(k - 1) + 1), not L + 2p - d(k - 1)":
            (size + 2 * p - span + 1) // s + 1,
        "did you round up? A window that would stick out of the padded input is not used: floor":
            -(-(size + 2 * p - span) // s) + 1,
    }


def _size_message(got: int, size: int, k: int, s: int, p: int, d: int, what: str,
                  prefer: str | None = None) -> str:
    """``what is got, expected want: n pixels too small -- diagnosis``; ``prefer`` is a diagnosis
    that explains all of the learner's answers, tried first (one wrong size can fit several)."""
    want = conv_output_size(size, k, s, p, d)
    diff = got - want
    amount = f"{abs(diff)} pixel{'s' if abs(diff) != 1 else ''} too {'small' if diff < 0 else 'large'}"
    message = f"{what} is {got}, expected {want}: {amount}"
    mistakes = _size_mistakes(size, k, s, p, d)
    if prefer is not None:
        mistakes = {prefer: mistakes[prefer], **mistakes}
    for diagnosis, wrong in mistakes.items():
        if wrong != want and wrong == got:
            return f"{message} -- {diagnosis}"
    return message + " -- the output size is floor((L + 2p - d(k - 1) - 1) / s) + 1"


def _check_conv_shape(got: Any, want: tuple, hw: tuple, kernel: tuple, s: int, p: int, d: int,
                      what: str) -> None:
    """Fail with a specific message when a conv output's shape is not ``want`` = (N, O, H_out, W_out)."""
    if not hasattr(got, "shape"):
        raise Fail(f"{what} returned {type(got).__name__}, expected a tensor of shape {_fmt(want)}")
    shape = tuple(got.shape)
    if shape == want:
        return
    if len(shape) == 4 and shape[:2] == want[:2]:
        for axis, name in ((0, "height"), (1, "width")):
            if shape[2 + axis] != want[2 + axis]:
                raise Fail(f"{what} has shape {_fmt(shape)}, expected {_fmt(want)}: the output "
                           + _size_message(shape[2 + axis], hw[axis], kernel[axis], s, p, d, name))
    raise Fail(f"{what} has shape {_fmt(shape)}, expected {_fmt(want)} (batch, out_channels, H_out, W_out)")


def _config(t: Any, *, padding: bool = True, stride: bool = True, dilation: bool = True,
            big: bool = False) -> tuple:
    """A random small convolution: (N, C, H, W), (O, kh, kw), stride, padding, dilation."""
    rng = t.rng
    while True:
        n, c, o = rng.randint(1, 2), rng.randint(1, 3), rng.randint(1, 3)
        kh, kw = rng.randint(1, 3), rng.randint(1, 3)
        h, w = rng.randint(4, 9 if big else 7), rng.randint(4, 9 if big else 7)
        s = rng.randint(2, 3) if stride else 1
        p = rng.randint(1, 2) if padding else 0
        d = rng.randint(2, 3) if dilation else 1
        if min(conv_output_size(h, kh, s, p, d), conv_output_size(w, kw, s, p, d)) >= 1:
            return (n, c, h, w), (o, kh, kw), s, p, d


def _describe(shape: tuple, kernel: tuple, s: int, p: int, d: int) -> str:
    return (f"x {_fmt(shape)}, a {kernel[1]}x{kernel[2]} kernel with {kernel[0]} output channels, "
            f"stride={s}, padding={p}, dilation={d}")


def _call(function: Any, what: str, *args: Any, **kwargs: Any) -> Any:
    out = function(*args, **kwargs)
    if out is None:
        raise Fail(f"{what} returned None (did you forget to return the result?)")
    return out


# ---------------------------------------------------------------------------- 09.output_size

_SIZE_CASES = [
    ("no padding", [(8, 3, 1, 0, 1), (5, 5, 1, 0, 1), (28, 5, 1, 0, 1)]),
    ("padding", [(8, 3, 1, 1, 1), (7, 5, 1, 2, 1), (4, 3, 1, 2, 1)]),
    ("stride", [(8, 3, 2, 0, 1), (9, 3, 2, 0, 1), (10, 4, 3, 0, 1)]),
    ("stride and padding (the floor matters)", [(8, 3, 2, 1, 1), (7, 3, 2, 1, 1), (28, 5, 3, 2, 1)]),
    ("dilation", [(9, 3, 1, 0, 2), (10, 2, 1, 0, 3), (9, 3, 1, 2, 2)]),
    ("everything at once", [(11, 3, 2, 1, 2), (32, 5, 3, 2, 2), (6, 1, 4, 0, 3)]),
]


def _consistent_mistake(student) -> str | None:
    """The diagnosis whose formula gives every wrong answer of ``student`` (or None)."""
    answers = {}
    for _, cases in _SIZE_CASES:
        for case in cases:
            try:
                answers[case] = student(*case)
            except NotImplementedError:
                raise
            except Exception:
                return None
    wrong = {case: got for case, got in answers.items() if got != conv_output_size(*case)}
    if not wrong:
        return None
    for diagnosis in _size_mistakes(*next(iter(wrong))):
        if all(_size_mistakes(*case)[diagnosis] == got for case, got in answers.items()):
            return diagnosis
    return None


@exercise("09.output_size", points=1, reference=conv_output_size, title="the output-size formula")
def grade_output_size(student, t):
    prefer = _consistent_mistake(student)
    for title, cases in _SIZE_CASES:
        with t.group(title):
            for size, k, s, p, d in cases:
                got = _call(student, "conv_output_size", size, k, s, p, d)
                call = f"conv_output_size({size}, kernel_size={k}, stride={s}, padding={p}, dilation={d})"
                if not isinstance(got, int) or isinstance(got, bool):
                    if isinstance(got, float) and got.is_integer():
                        raise Fail(f"{call} returned the float {got}: a size is a whole number; use "
                                   "// (floor division), not /")
                    raise Fail(f"{call} returned {got!r}, expected an int (use // for the division)")
                if got != conv_output_size(size, k, s, p, d):
                    raise Fail(_size_message(got, size, k, s, p, d, call, prefer))


# ---------------------------------------------------------------------------- 09.conv2d_naive


def _conv_case(t, student, title: str, *, bias: bool = True, **config: bool) -> None:
    with t.group(title):
        shape, kernel, s, p, d = _config(t, **config)
        x = t.randn(*shape, dtype=edunn.float64)
        w = t.randn(kernel[0], shape[1], kernel[1], kernel[2], dtype=edunn.float64)
        b = t.randn(kernel[0], dtype=edunn.float64) if bias else None
        what = f"conv2d_naive({_describe(shape, kernel, s, p, d)}{'' if bias else ', bias=None'})"
        y = _call(student, what, x, w, b, stride=s, padding=p, dilation=d)
        want = F.conv2d(x, w, b, stride=s, padding=p, dilation=d)
        _check_conv_shape(y, tuple(want.shape), shape[2:], kernel[1:], s, p, d, what)
        mistakes = {
            "you flipped the kernel: that is the textbook convolution, but conv2d (PyTorch's and "
            "edunn's) computes the cross-correlation, sum of w[u, v] * x[i + u, j + v]":
                F.conv2d(x, w.flip((2, 3)), b, stride=s, padding=p, dilation=d),
        }
        if b is not None:
            mistakes["you forgot the bias, added once per output channel"] = F.conv2d(
                x, w, None, stride=s, padding=p, dilation=d)
        t.close(y, want, what, mistakes=mistakes)


@exercise("09.conv2d_naive", points=3, reference="edunn.nn.functional.conv2d",
          title="conv2d as loops over output positions")
def grade_conv2d_naive(student, t):
    _conv_case(t, student, "1x1 to 3x3 kernels, no padding, stride 1", padding=False, stride=False,
               dilation=False)
    _conv_case(t, student, "padding", stride=False, dilation=False)
    _conv_case(t, student, "stride", padding=False, dilation=False)
    _conv_case(t, student, "dilation", padding=False, stride=False)
    _conv_case(t, student, "stride, padding and dilation, no bias", bias=False)


# ---------------------------------------------------------------------------- 09.im2col


def _im2col_case(t, student, title: str, **config: bool) -> None:
    with t.group(title):
        (n, c, h, w), (_, kh, kw), s, p, d = _config(t, big=True, **config)
        x = t.randn(n, c, h, w, dtype=edunn.float64)
        before = x.tolist()
        what = f"im2col(x of shape {_fmt((n, c, h, w))}, kh={kh}, kw={kw}, stride={s}, padding={p}, dilation={d})"
        cols = _call(student, what, x._data, kh, kw, stride=s, padding=p, dilation=d)
        if isinstance(cols, edunn.Tensor):
            raise Fail(f"{what} returned a Tensor; im2col works on arrays (x._data) and returns one")
        h_out, w_out = conv_output_size(h, kh, s, p, d), conv_output_size(w, kw, s, p, d)
        want_shape = (n, c * kh * kw, h_out * w_out)
        got_shape = tuple(getattr(cols, "shape", ()))
        if got_shape != want_shape:
            if got_shape == (n, h_out * w_out, c * kh * kw) and want_shape != got_shape:
                raise Fail(f"{what} has shape {_fmt(got_shape)}, expected {_fmt(want_shape)}: one "
                           "*column* per output position, so the window's C*kh*kw pixels go down "
                           "axis 1 and the H_out*W_out positions along axis 2")
            if len(got_shape) == 3 and got_shape[:2] == want_shape[:2]:
                # the same slip in both dims (or in one of them) gives another number of windows
                wrong_h, wrong_w = _size_mistakes(h, kh, s, p, d), _size_mistakes(w, kw, s, p, d)
                for diagnosis in wrong_h:
                    for got_h, got_w in ((wrong_h[diagnosis], wrong_w[diagnosis]), (wrong_h[diagnosis], w_out),
                                         (h_out, wrong_w[diagnosis])):
                        if (got_h, got_w) != (h_out, w_out) and got_h * got_w == got_shape[2]:
                            raise Fail(f"{what} has shape {_fmt(got_shape)}, expected {_fmt(want_shape)}: "
                                       f"{got_shape[2]} windows instead of {h_out} x {w_out} = "
                                       f"{h_out * w_out} -- {diagnosis}")
            raise Fail(f"{what} has shape {_fmt(got_shape)}, expected {_fmt(want_shape)} "
                       "(N, C*kh*kw, H_out*W_out)")
        want = F.unfold(x, (kh, kw), dilation=d, padding=p, stride=s)
        spread = want.reshape(n, c, kh, kw, h_out * w_out)
        t.close(cols, want, what, mistakes={
            "your rows are ordered (kernel row, kernel column, channel); F.unfold's order is "
            "(channel, kernel row, kernel column): the view should be (N, C, kh, kw, H_out, W_out)":
                spread.permute(0, 2, 3, 1, 4).reshape(want_shape),
            "your rows are ordered (channel, kernel column, kernel row): kh comes before kw":
                spread.permute(0, 1, 3, 2, 4).reshape(want_shape),
        }, hint="in the strided view, a step along a kernel axis moves `dilation` pixels and a step "
                "along an output axis moves `stride` pixels")
        t.close(x, before, "x after im2col (it must not change the input)")
        t.equal(str(cols.dtype), str(x._data.dtype), "the dtype of the columns")


@exercise("09.im2col", points=3, reference=im2col, title="im2col by strided windows")
def grade_im2col(student, t):
    _im2col_case(t, student, "stride 1, no padding", padding=False, stride=False, dilation=False)
    _im2col_case(t, student, "padding", stride=False, dilation=False)
    _im2col_case(t, student, "stride", padding=False, dilation=False)
    _im2col_case(t, student, "dilation", padding=False, stride=False)
    _im2col_case(t, student, "stride, padding and dilation")


# ---------------------------------------------------------------------------- 09.col2im


def _col2im_overwrite(cols: Any, x_shape: tuple, kh: int, kw: int, s: int, p: int, d: int) -> Any:
    """``col2im`` with ``=`` instead of ``+=``: where windows overlap, the last one wins."""
    xp = backend.array_module(cols)
    n, c, h, w = x_shape
    h_out, w_out = conv_output_size(h, kh, s, p, d), conv_output_size(w, kw, s, p, d)
    padded = xp.zeros((n, c, h + 2 * p, w + 2 * p), dtype=cols.dtype)
    cols = cols.reshape(n, c, kh, kw, h_out, w_out)
    for u in range(kh):
        for v in range(kw):
            padded[:, :, u * d:u * d + s * (h_out - 1) + 1:s, v * d:v * d + s * (w_out - 1) + 1:s] = cols[:, :, u, v]
    return padded[:, :, p:p + h, p:p + w]


def _col2im_case(t, student, title: str, **config: bool) -> None:
    with t.group(title):
        (n, c, h, w), (_, kh, kw), s, p, d = _config(t, big=True, **config)
        h_out, w_out = conv_output_size(h, kh, s, p, d), conv_output_size(w, kw, s, p, d)
        cols = t.randn(n, c * kh * kw, h_out * w_out, dtype=edunn.float64)
        before = cols.tolist()
        what = (f"col2im(cols of shape {_fmt(tuple(cols.shape))}, x_shape={_fmt((n, c, h, w))}, kh={kh}, "
                f"kw={kw}, stride={s}, padding={p}, dilation={d})")
        image = _call(student, what, cols._data, (n, c, h, w), kh, kw, stride=s, padding=p, dilation=d)
        got_shape = tuple(getattr(image, "shape", ()))
        if got_shape == (n, c, h + 2 * p, w + 2 * p) and p:
            raise Fail(f"{what} has shape {_fmt(got_shape)}, expected {_fmt((n, c, h, w))}: you returned "
                       "the padded image; cut the padding off at the end (the gradient of a padding "
                       "pixel goes nowhere)")
        if got_shape != (n, c, h, w):
            raise Fail(f"{what} has shape {_fmt(got_shape)}, expected x_shape = {_fmt((n, c, h, w))}")
        want = F.fold(cols, (h, w), (kh, kw), dilation=d, padding=p, stride=s)
        mistakes = {}
        if kh * kw > 1:
            mistakes["where windows overlap a pixel receives several column entries, and they must be "
                     "*added* (+=): your col2im overwrites (=), so the last window wins"] = \
                _col2im_overwrite(cols._data, (n, c, h, w), kh, kw, s, p, d)
        t.close(image, want, what, mistakes=mistakes)
        t.close(cols, before, "cols after col2im (it must not change its input)")


@exercise("09.col2im", points=3, reference=col2im, title="col2im, the adjoint of im2col")
def grade_col2im(student, t):
    _col2im_case(t, student, "stride 1, overlapping windows", padding=False, stride=False, dilation=False)
    _col2im_case(t, student, "padding", stride=False, dilation=False)
    _col2im_case(t, student, "stride", padding=False, dilation=False)
    _col2im_case(t, student, "dilation", padding=False, stride=False)
    _col2im_case(t, student, "stride, padding and dilation")
    with t.group("the adjoint: <im2col(x), c> = <x, col2im(c)>"):
        (n, c, h, w), (_, kh, kw), s, p, d = _config(t, big=True)
        x = t.randn(n, c, h, w, dtype=edunn.float64)
        h_out, w_out = conv_output_size(h, kh, s, p, d), conv_output_size(w, kw, s, p, d)
        cols = t.randn(n, c * kh * kw, h_out * w_out, dtype=edunn.float64)
        left = (edunn.tensor(im2col(x._data, kh, kw, s, p, d)) * cols).sum().item()
        image = _call(student, "col2im", cols._data, (n, c, h, w), kh, kw, stride=s, padding=p, dilation=d)
        right = (x * edunn.tensor(image)).sum().item()
        t.close(right, left, f"<x, col2im(c)> for x {_fmt((n, c, h, w))}, kernel {kh}x{kw}, stride={s}, "
                f"padding={p}, dilation={d}", rtol=1e-9, atol=1e-9)


# ---------------------------------------------------------------------------- 09.Conv2dFunction


def _apply_conv(student, x, w, b, s, p, d, what):
    out = student.apply(x, w, b, s, p, d)
    if not isinstance(out, edunn.Tensor):
        raise Fail(f"{what} returned {type(out).__name__}, expected a Tensor (forward should return "
                   "an array or a tensor)")
    return out


def _function_case(t, student, title: str, *, bias: bool = True, batch: int | None = None, **config: bool) -> None:
    with t.group(title):
        shape, kernel, s, p, d = _config(t, **config)
        if batch is not None:
            shape = (batch,) + shape[1:]
        n, c = shape[:2]
        o = kernel[0]
        x = t.randn(*shape, dtype=edunn.float64, requires_grad=True)
        w = t.randn(o, c, kernel[1], kernel[2], dtype=edunn.float64, requires_grad=True)
        b = t.randn(o, dtype=edunn.float64, requires_grad=True) if bias else None
        what = f"Conv2dFunction.apply({_describe(shape, kernel, s, p, d)}{'' if bias else ', bias=None'})"
        y = _apply_conv(student, x, w, b, s, p, d, what)
        xr, wr = x.detach().requires_grad_(), w.detach().requires_grad_()
        br = b.detach().requires_grad_() if bias else None
        want = F.conv2d(xr, wr, br, stride=s, padding=p, dilation=d)
        _check_conv_shape(y, tuple(want.shape), shape[2:], kernel[1:], s, p, d, what)
        t.close(y, want, what)
        if y.grad_fn is None:
            raise Fail(f"{what} recorded no graph: its output has no grad_fn")
        g = t.randn(*want.shape, dtype=edunn.float64)
        grads = type(y.grad_fn).backward(y.grad_fn, g)
        if not isinstance(grads, (tuple, list)) or len(grads) != 6:
            raise Fail("backward should return six gradients, one per argument of forward: "
                       "(grad_input, grad_weight, grad_bias, None, None, None)")
        if any(gr is not None and not isinstance(gr, edunn.Tensor) for gr in grads[:3]):
            raise Fail("backward returned an array: a backward must return edunn tensors; wrap each "
                       "array with edunn.as_tensor(...) (no copy is made)")
        (want * g).sum().backward()
        for name, got, leaf in (("input", grads[0], xr), ("weight", grads[1], wr), ("bias", grads[2], br)):
            if leaf is None:
                continue
            if got is None:
                raise Fail(f"backward returned None for the gradient of the {name}")
            got_shape = tuple(got.shape)
            if got_shape != tuple(leaf.shape):
                message = (f"the gradient of the {name} has shape {_fmt(got_shape)}, expected "
                           f"{_fmt(tuple(leaf.shape))}")
                if name == "weight" and got_shape[:1] == (n,) and n > 1:
                    message += (": dL/dW collects one product g @ cols^T per image, and they must be "
                                "summed over the batch (the same W serves every image)")
                elif name == "bias" and len(got_shape) > 1:
                    message += ": dL/db is g summed over the batch and every output position"
                raise Fail(message)
            hints = {"weight": "dL/dW = sum over the batch of g @ cols^T, reshaped to W's shape",
                     "input": "dL/dx = col2im(W_mat^T @ g): the columns' gradient added back onto the pixels",
                     "bias": "dL/db = g summed over the batch and all output positions"}
            mistakes = {}
            if name == "input" and (kernel[1] > 1 or kernel[2] > 1) and s < max(kernel[1:]):
                w_mat = wr.detach().reshape(o, -1).mT
                cols_grad = (w_mat @ g.reshape(n, o, -1))._data
                mistakes["your col2im overwrites where windows overlap: the gradients must be added"] = \
                    _col2im_overwrite(cols_grad, shape, kernel[1], kernel[2], s, p, d)
            t.close(got, leaf.grad, f"the gradient of the {name}", hint=hints[name], mistakes=mistakes)


@exercise("09.Conv2dFunction", points=4, reference=Conv2dFunction,
          title="conv2d as a Function: forward by im2col, backward by col2im")
def grade_conv2d_function(student, t):
    _function_case(t, student, "stride 1, no padding", padding=False, stride=False, dilation=False)
    _function_case(t, student, "padding and stride, a batch of 3", dilation=False, batch=3)
    _function_case(t, student, "dilation", padding=False, stride=False)
    _function_case(t, student, "stride, padding and dilation, no bias", bias=False)
    with t.group("gradcheck"):
        x = t.randn(2, 2, 5, 4, dtype=edunn.float64, requires_grad=True)
        w = t.randn(3, 2, 3, 2, dtype=edunn.float64, requires_grad=True)
        b = t.randn(3, dtype=edunn.float64, requires_grad=True)
        try:
            ok = gradcheck(lambda a, k, c: student.apply(a, k, c, 2, 1, 1), (x, w, b), raise_exception=False)
        except NotImplementedError:
            raise
        except Exception as error:
            raise Fail(f"gradcheck raised {type(error).__name__}: {error}") from None
        t.ok(ok, "gradcheck of Conv2dFunction (stride 2, padding 1) failed: your backward does not "
                 "match finite differences in float64")


# ---------------------------------------------------------------------------- 09.conv_transpose2d


def _transpose_size(size: int, k: int, s: int, p: int, op: int, d: int) -> int:
    return (size - 1) * s - 2 * p + d * (k - 1) + op + 1


def _transpose_case(t, student, title: str, *, op: bool = False, bias: bool = True, square: bool = False,
                    **config: bool) -> None:
    with t.group(title):
        while True:
            (n, c_out, h, w), (c_in, kh, kw), s, p, d = _config(t, **config)
            o_pad = t.rng.randint(1, max(s, d) - 1) if op and max(s, d) > 1 else 0
            h, w = h - 2, w - 2        # the transposed conv's input is the small side
            if square:   # as many channels out as in (at least 2): a swapped weight still fits
                c_in = c_out = max(c_in, 2)
            if min(_transpose_size(h, kh, s, p, o_pad, d), _transpose_size(w, kw, s, p, o_pad, d)) >= 1 \
                    and 2 * p <= (h - 1) * s + d * (kh - 1) and 2 * p <= (w - 1) * s + d * (kw - 1):
                break
        z = t.randn(n, c_in, h, w, dtype=edunn.float64)
        wt = t.randn(c_in, c_out, kh, kw, dtype=edunn.float64)
        b = t.randn(c_out, dtype=edunn.float64) if bias else None
        what = (f"conv_transpose2d(input {_fmt((n, c_in, h, w))}, weight {_fmt((c_in, c_out, kh, kw))}, "
                f"stride={s}, padding={p}, output_padding={o_pad}, dilation={d}{'' if bias else ', bias=None'})")
        y = _call(student, what, z, wt, b, stride=s, padding=p, output_padding=o_pad, dilation=d)
        want = F.conv_transpose2d(z, wt, b, stride=s, padding=p, output_padding=o_pad, dilation=d)
        got_shape, want_shape = tuple(getattr(y, "shape", ())), tuple(want.shape)
        if got_shape != want_shape:
            message = f"{what} has shape {_fmt(got_shape)}, expected {_fmt(want_shape)}"
            if len(got_shape) == 4 and got_shape[:2] == want_shape[:2]:
                diff = got_shape[2] - want_shape[2]
                if o_pad and diff == -o_pad:
                    message += (f": {o_pad} pixel{'s' if o_pad > 1 else ''} too small -- did you forget "
                                "output_padding? It adds rows and columns at the end (bottom, right)")
                elif p and diff == 4 * p:
                    message += ": did you add the padding? A transposed convolution *removes* 2p (the " \
                               "convolution it undoes had added it)"
                elif p and diff == 2 * p:
                    message += ": did you forget the padding? Subtract 2p: the padding rows are cut off"
                else:
                    message += (": the output size is (H - 1) s - 2p + d(k - 1) + output_padding + 1, "
                                "the inverse of the convolution's formula")
            elif len(got_shape) == 4 and got_shape[1] == c_in and c_in != c_out:
                message += (": the weight of a transposed convolution is (C_in, C_out, kh, kw), the "
                            "same tensor as the convolution it is the gradient of (C_out of that "
                            "convolution = C_in here)")
            raise Fail(message)
        mistakes = {}
        if c_in == c_out:
            mistakes["you read the weight as (C_out, C_in, kh, kw), a convolution's layout; a transposed "
                     "convolution's weight is (C_in, C_out, kh, kw): cols = W.reshape(C_in, -1).T @ z"] = \
                _transpose_untransposed(z, wt, b, s, p, o_pad, d)
        t.close(y, want, what, mistakes=mistakes,
                hint="cols = W.reshape(C_in, -1).T @ z, then col2im into (N, C_out, H_out, W_out)")


def _transpose_untransposed(z, wt, b, s, p, o_pad, d):
    """The planted slip: the weight read as (C_out, C_in, kh, kw)."""
    return conv_transpose2d(z, wt.transpose(0, 1), b, s, p, o_pad, d)


@exercise("09.conv_transpose2d", points=3, reference=conv_transpose2d,
          title="transposed convolution, the gradient of a convolution")
def grade_conv_transpose2d(student, t):
    _transpose_case(t, student, "stride 1, no padding", padding=False, stride=False, dilation=False)
    _transpose_case(t, student, "stride 2 and 3: upsampling, C_in = C_out", padding=False, dilation=False,
                    square=True)
    _transpose_case(t, student, "padding and stride", dilation=False, bias=False)
    _transpose_case(t, student, "output_padding", op=True, padding=False, dilation=False)
    _transpose_case(t, student, "stride, padding, output_padding and dilation", op=True)
    with t.group("the input-gradient of conv2d"):
        # x (8, 6) -> conv (stride 2, padding 1, 3x3) -> (4, 3); back: (4-1)*2 - 2 + 2 + 1 + 1 = 8
        # and (3-1)*2 - 2 + 2 + 1 + 1 = 6, so output_padding=1 recovers x's size in both dims
        x = t.randn(2, 3, 8, 6, dtype=edunn.float64, requires_grad=True)
        w = t.randn(4, 3, 3, 3, dtype=edunn.float64)
        y = F.conv2d(x, w, stride=2, padding=1)
        g = t.randn(*y.shape, dtype=edunn.float64)
        (dx,) = edunn.autograd.grad(y, x, g)
        got = _call(student, "conv_transpose2d", g, w, None, stride=2, padding=1, output_padding=1,
                    dilation=1)
        t.close(got, dx, "conv_transpose2d(g, w, stride=2, padding=1, output_padding=1) against the "
                "gradient of conv2d(x, w, stride=2, padding=1) with respect to x (8x6 images)")
