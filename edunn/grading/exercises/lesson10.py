"""Graders of lesson 10 (pooling, padding and vision layers): the pooling output size with
``ceil_mode``, ``max_pool2d`` with ``return_indices`` by strided windows and its backward by
scattering into the argmax, ``avg_pool2d`` with ``count_include_pad`` and ``ceil_mode``, the
windows of adaptive pooling, ``pixel_shuffle``, and bilinear upsampling (``align_corners=False``).

References are written out below in the few lines a learner writes, next to the library code
they mirror (``_out_size``, ``_max_pool`` and ``_avg_pool`` in ``edunn/nn/functional/pooling.py``,
``_adaptive_bounds`` in ``adaptive_pooling.py``, ``pixel_shuffle`` and ``interpolate`` in
``vision.py``, which do the same for 1d/2d/3d, dilation and every mode).  The graders compare with
``edunn.nn.functional`` (values, indices and gradients) on random kernels, strides and paddings,
and explain the usual mistakes: a window that starts in the right padding kept by ``ceil_mode``,
indices counted in the padded image or inside the window, ``=`` instead of ``+=`` where windows
overlap, a divisor that ignores the border, an adaptive window end rounded down, the channel
factors of pixel shuffle in the wrong order, and the ``align_corners=True`` sampling grid.
"""

from __future__ import annotations

import math
from typing import Any

import edunn
from edunn.autograd.function import Function
from edunn.grading import Fail, exercise

# ---------------------------------------------------------------------------- references


def pool_output_size(size: int, kernel_size: int, stride: int, padding: int = 0, ceil_mode: bool = False) -> int:
    """Number of pooling windows along one axis: floor or ceil of (L + 2p - k) / s, plus 1; with
    ``ceil_mode`` a last window that would start in the right padding is dropped."""
    span = size + 2 * padding - kernel_size
    out = (-(-span // stride) if ceil_mode else span // stride) + 1
    if ceil_mode and (out - 1) * stride >= size + padding:
        out -= 1
    return out


def _pair(value: Any) -> tuple:
    return tuple(value) if isinstance(value, (tuple, list)) else (value, value)


class MaxPool2dFunction(Function):
    """Forward: the maximum of every window of the (-inf)-padded input, read through a strided
    view, and the flat position ``row * W + col`` of that maximum in the unpadded input plane.
    Backward: every output gradient is added to the input position its maximum came from."""

    @staticmethod
    def forward(ctx, input, kernel_size, stride, padding, ceil_mode):
        x = input._data
        xp = edunn.backend.array_module(x)
        n, c, h, w = x.shape
        (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
        h_out = pool_output_size(h, kh, sh, ph, ceil_mode)
        w_out = pool_output_size(w, kw, sw, pw, ceil_mode)
        # pad with -inf (never the maximum); ceil_mode windows may reach past the padding
        extra_h = max(0, (h_out - 1) * sh + kh - h - 2 * ph)
        extra_w = max(0, (w_out - 1) * sw + kw - w - 2 * pw)
        padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph + extra_h), (pw, pw + extra_w)),
                        constant_values=-xp.inf)
        sn, sc, sy, sx = padded.strides
        windows = xp.lib.stride_tricks.as_strided(
            padded, (n, c, h_out, w_out, kh, kw), (sn, sc, sy * sh, sx * sw, sy, sx))
        flat = windows.reshape(n, c, h_out, w_out, kh * kw)
        arg = flat.argmax(-1)                                      # the first maximum, as PyTorch
        out = xp.take_along_axis(flat, arg[..., None], -1)[..., 0]
        rows = (xp.arange(h_out) * sh - ph)[:, None] + arg // kw   # back to input coordinates
        cols = (xp.arange(w_out) * sw - pw)[None, :] + arg % kw
        indices = rows * w + cols
        ctx.indices = edunn.tensor(indices)
        ctx.input_shape = x.shape
        ctx.mark_non_differentiable(indices)
        return out, indices

    @staticmethod
    def backward(ctx, grad, grad_indices=None):
        n, c, h, w = ctx.input_shape
        index = ctx.indices.reshape(n, c, -1)
        grad_input = edunn.zeros(n, c, h * w, dtype=grad.dtype, device=grad.device)
        grad_input = grad_input.scatter_add(2, index, grad.reshape(n, c, -1))  # += where windows overlap
        return grad_input.reshape(n, c, h, w), None, None, None, None


def max_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               return_indices: bool = False) -> Any:
    """``F.max_pool2d`` without dilation, for a batch (N, C, H, W)."""
    k = _pair(kernel_size)
    s = k if stride is None else _pair(stride)
    out, indices = MaxPool2dFunction.apply(input, k, s, _pair(padding), ceil_mode)
    return (out, indices) if return_indices else out


def avg_pool2d(input: Any, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Any:
    """The mean of every window, with tensor ops (so the gradient comes from autograd): the sum
    over ``unfold`` windows of the zero-padded input, divided per output position by the window's
    size clipped to the padded input (``count_include_pad``) or to the real input."""
    import edunn.nn.functional as F

    (kh, kw) = _pair(kernel_size)
    (sh, sw) = (kh, kw) if stride is None else _pair(stride)
    (ph, pw) = _pair(padding)
    n, c, h, w = input.shape
    h_out = pool_output_size(h, kh, sh, ph, ceil_mode)
    w_out = pool_output_size(w, kw, sw, pw, ceil_mode)
    extra_h = max(0, (h_out - 1) * sh + kh - h - 2 * ph)
    extra_w = max(0, (w_out - 1) * sw + kw - w - 2 * pw)
    padded = F.pad(input, (pw, pw + extra_w, ph, ph + extra_h))
    sums = padded.unfold(2, kh, sh).unfold(3, kw, sw).sum((-2, -1))[:, :, :h_out, :w_out]

    def counts(L: int, k: int, s: int, p: int, out: int) -> list:
        result = []
        for i in range(out):
            start = i * s - p
            end = min(start + k, L + p)                  # the window clipped to the padded input
            if not count_include_pad:
                start, end = max(start, 0), min(end, L)  # ... or to the input itself
            result.append(end - start)
        return result

    rows = edunn.tensor(counts(h, kh, sh, ph, h_out), dtype=input.dtype)
    cols = edunn.tensor(counts(w, kw, sw, pw, w_out), dtype=input.dtype)
    return sums / (rows[:, None] * cols[None, :])


def adaptive_windows(size: int, output_size: int) -> list:
    """Window ``i`` of adaptive pooling covers ``[floor(i L / out), ceil((i + 1) L / out))``."""
    return [((i * size) // output_size, -(-((i + 1) * size) // output_size)) for i in range(output_size)]


def pixel_shuffle(input: Any, upscale_factor: int) -> Any:
    """(N, C r^2, H, W) -> (N, C, H r, W r): channel ``c r^2 + i r + j`` becomes the pixel
    ``(h r + i, w r + j)`` of channel ``c``."""
    r = upscale_factor
    n, crr, h, w = input.shape
    c = crr // (r * r)
    return input.reshape(n, c, r, r, h, w).permute(0, 1, 4, 2, 5, 3).reshape(n, c, h * r, w * r)


def _linear_sources(L: int, out: int, align_corners: bool = False, clamp: bool = True) -> tuple:
    """Lower neighbour, upper neighbour and weight of the upper one for each output position."""
    result = []
    for i in range(out):
        if align_corners:
            src = i * (L - 1) / (out - 1) if out > 1 else 0.0
        else:
            src = (i + 0.5) * L / out - 0.5
            if clamp:
                src = max(src, 0.0)
        low = min(max(math.floor(src), 0), L - 1)
        high = min(low + 1, L - 1)
        result.append((low, high, src - math.floor(src) if 0 <= src else src - low))
    lows, highs, lams = zip(*result)
    return list(lows), list(highs), list(lams)


def upsample_bilinear(input: Any, size: Any, *, align_corners: bool = False, clamp: bool = True) -> Any:
    """``F.interpolate(input, size, mode="bilinear", align_corners=False)`` with tensor ops: each
    output pixel mixes its four nearest input pixels, found one axis at a time at source
    coordinate ``(i + 0.5) L / out - 0.5`` (clamped at 0).  The keywords plant mistakes."""
    h_out, w_out = _pair(size)
    h, w = input.shape[-2:]
    top, bottom, a = _linear_sources(h, h_out, align_corners, clamp)
    left, right, b = _linear_sources(w, w_out, align_corners, clamp)
    a = edunn.tensor(a, dtype=input.dtype)[:, None]
    b = edunn.tensor(b, dtype=input.dtype)
    rows = input[..., top, :] * (1 - a) + input[..., bottom, :] * a
    return rows[..., left] * (1 - b) + rows[..., right] * b


# ---------------------------------------------------------------------------- helpers


def _call(student: Any, what: str, *args: Any, **kwargs: Any) -> Any:
    return student(*args, **kwargs)


def _tensor_or_fail(value: Any, what: str) -> Any:
    if isinstance(value, tuple):
        raise Fail(f"{what} returned a tuple of {len(value)}; with return_indices=False return only "
                   "the pooled tensor")
    if not isinstance(value, edunn.Tensor):
        raise Fail(f"{what} returned {type(value).__name__}, expected an edunn Tensor")
    return value


def _shape_ok(t: Any, value: Any, shape: tuple, what: str, hint: str | None = None) -> None:
    got = tuple(value.shape)
    if got != tuple(shape):
        raise Fail(f"{what} has shape {got}, expected {tuple(shape)}" + (f" (hint: {hint})" if hint else ""))


def _grad_of(fn: Any, x: Any, weights: Any) -> Any:
    """The gradient of ``(fn(x) * weights).sum()`` with respect to ``x`` (a fresh leaf)."""
    leaf = x.detach().requires_grad_(True)
    out = fn(leaf)
    if isinstance(out, tuple):
        out = out[0]
    if not getattr(out, "requires_grad", False):
        raise Fail("no gradient reached the input: the result does not require grad, so it was made "
                   "outside autograd (from arrays, .numpy() or .tolist()); build it from tensor ops")
    (out * weights).sum().backward()
    if leaf.grad is None:
        raise Fail("no gradient reached the input: is the result disconnected from the graph "
                   "(a new tensor made from arrays without a Function)?")
    return leaf.grad


# ---------------------------------------------------------------------------- 10.pool_output_size

_SIZE_CASES = [
    ("no padding, floor", [(8, 2, 2, 0, False), (7, 3, 2, 0, False), (10, 3, 3, 0, False), (5, 5, 1, 0, False)]),
    ("padding, floor", [(7, 3, 2, 1, False), (6, 3, 2, 1, False), (9, 4, 3, 2, False)]),
    ("ceil_mode", [(7, 2, 2, 0, True), (10, 3, 3, 0, True), (8, 3, 2, 0, True), (6, 3, 2, 1, True)]),
    ("ceil_mode: the last window must start inside the input or the left padding",
     [(5, 2, 2, 1, True), (6, 2, 4, 1, True), (3, 1, 2, 0, True), (9, 3, 4, 1, True)]),
]


def _size_message(got: Any, L: int, k: int, s: int, p: int, ceil: bool, call: str) -> str:
    want = pool_output_size(L, k, s, p, ceil)
    span = L + 2 * p - k
    if ceil and got == -(-span // s) + 1:
        return (f"{call}: got {got}, expected {want}: with ceil_mode the last window would start at "
                f"{(got - 1) * s - p}, inside the right padding; PyTorch drops such a window "
                "(if (out - 1) * stride >= L + padding: out -= 1)")
    if got == span // s + 1 and ceil:
        return f"{call}: got {got}, expected {want}: ceil_mode=True rounds (L + 2p - k) / s up, not down"
    if got == -(-span // s) + 1 and not ceil:
        return f"{call}: got {got}, expected {want}: without ceil_mode the division rounds down"
    if got == span // s:
        return f"{call}: got {got}, expected {want}: you forgot the + 1 (the first window)"
    if got == (L - k) // s + 1:
        return f"{call}: got {got}, expected {want}: the padding adds 2 * padding to the length"
    return f"{call}: got {got}, expected {want}"


@exercise("10.pool_output_size", points=2, reference=pool_output_size, title="how many windows, with ceil_mode")
def grade_pool_output_size(student, t):
    for title, cases in _SIZE_CASES:
        with t.group(title):
            for L, k, s, p, ceil in cases:
                call = f"pool_output_size({L}, kernel_size={k}, stride={s}, padding={p}, ceil_mode={ceil})"
                got = student(L, k, s, p, ceil)
                if not isinstance(got, int) or isinstance(got, bool):
                    raise Fail(f"{call} returned {got!r} ({type(got).__name__}), expected an int: use // "
                               "and -(-a // b) for the ceiling, or int(math.ceil(...))")
                if got != pool_output_size(L, k, s, p, ceil):
                    raise Fail(_size_message(got, L, k, s, p, ceil, call))
    with t.group("the sizes F.avg_pool1d produces"):
        import edunn.nn.functional as F
        for _ in range(6):
            L, k = t.rng.randint(4, 12), t.rng.randint(1, 4)
            s, p, ceil = t.rng.randint(1, 4), t.rng.randint(0, k // 2), t.rng.random() < 0.5
            want = F.avg_pool1d(edunn.zeros(1, 1, L), k, s, p, ceil_mode=ceil).shape[-1]
            got = student(L, k, s, p, ceil)
            if got != want:
                raise Fail(_size_message(got, L, k, s, p, ceil, f"pool_output_size({L}, {k}, {s}, {p}, {ceil})"))


# ---------------------------------------------------------------------------- 10.max_pool2d


def _pool_config(t: Any, *, overlap: bool, padding: bool, ceil: bool) -> tuple:
    kh, kw = t.rng.randint(2, 3), t.rng.randint(2, 4)
    if overlap:
        sh, sw = t.rng.randint(1, kh - 1), t.rng.randint(1, kw - 1)
    else:
        sh, sw = t.rng.randint(kh, kh + 1), t.rng.randint(kw, kw + 1)
    ph, pw = (t.rng.randint(0, kh // 2), t.rng.randint(1, kw // 2)) if padding else (0, 0)
    n, c = t.rng.randint(1, 2), t.rng.randint(1, 3)
    h, w = t.rng.randint(kh + 2, 8), t.rng.randint(kw + 2, 9)
    return (n, c, h, w), (kh, kw), (sh, sw), (ph, pw), ceil


def _max_indices_variants(x: Any, k: tuple, s: tuple, p: tuple, ceil: bool) -> dict:
    """The indices a usual mistake produces: counted in the padded plane, or inside the window."""
    out, idx = max_pool2d(x, k, s, p, ceil, return_indices=True)
    w = x.shape[-1]
    rows, cols = idx // w, idx % w
    h_out, w_out = out.shape[-2:]
    r0 = (edunn.arange(h_out) * s[0] - p[0])[:, None]
    c0 = (edunn.arange(w_out) * s[1] - p[1])[None, :]
    return {
        "your indices count positions in the padded image; PyTorch's count row * W + col in the "
        "input itself (subtract the padding)": (rows + p[0]) * (w + 2 * p[1]) + cols + p[1],
        "your indices are positions inside each window; PyTorch's are positions in the whole input "
        "plane, row * W + col": (rows - r0) * k[1] + (cols - c0),
    }


def _max_case(t: Any, student: Any, title: str, **config: bool) -> None:
    import edunn.nn.functional as F

    with t.group(title):
        shape, k, s, p, ceil = _pool_config(t, **config)
        x = t.randn(*shape, dtype=edunn.float64)
        what = (f"max_pool2d(x of shape {shape}, kernel_size={k}, stride={s}, padding={p}, ceil_mode={ceil}, "
                "return_indices=True)")
        got = student(x, kernel_size=k, stride=s, padding=p, ceil_mode=ceil, return_indices=True)
        if not (isinstance(got, tuple) and len(got) == 2):
            raise Fail(f"{what} should return a pair (output, indices), got {type(got).__name__}")
        out, idx = got
        want, want_idx = F.max_pool2d(x, k, s, p, ceil_mode=ceil, return_indices=True)
        _shape_ok(t, out, want.shape, f"the output of {what}",
                  hint="pool_output_size gives the number of windows along each axis")
        t.close(out, want, f"the output of {what}")
        t.equal(str(getattr(idx, "dtype", None)), "edunn.int64", "the dtype of the indices")
        t.close(idx, want_idx, f"the indices of {what}", rtol=0, atol=0,
                mistakes=_max_indices_variants(x, k, s, p, ceil))
        weights = t.randn(*want.shape, dtype=edunn.float64)
        grad = _grad_of(lambda v: student(v, kernel_size=k, stride=s, padding=p, ceil_mode=ceil), x, weights)
        want_grad = _grad_of(lambda v: F.max_pool2d(v, k, s, p, ceil_mode=ceil), x, weights)
        n, c, h, w = shape
        overwrite = edunn.zeros(n, c, h * w, dtype=edunn.float64).scatter(
            2, want_idx.reshape(n, c, -1), weights.reshape(n, c, -1)).reshape(shape)
        t.close(grad, want_grad, f"the gradient of (max_pool2d(x, ...) * g).sum() with respect to x",
                mistakes={"where windows overlap, one input can be the maximum of several windows: add "
                          "their gradients (scatter_add, +=), do not overwrite them (scatter, =)": overwrite})


@exercise("10.max_pool2d", points=5, reference=max_pool2d, title="max pooling with indices, and its gradient")
def grade_max_pool2d(student, t):
    import edunn.nn.functional as F

    with t.group("return_indices=False returns the pooled tensor alone"):
        x = t.randn(1, 2, 4, 4)
        out = _tensor_or_fail(student(x, kernel_size=2), "max_pool2d(x, kernel_size=2)")
        t.close(out, F.max_pool2d(x, 2), "max_pool2d(x of shape (1, 2, 4, 4), kernel_size=2)",
                hint="stride=None means stride = kernel_size")
    _max_case(t, student, "windows side by side", overlap=False, padding=False, ceil=False)
    _max_case(t, student, "padding", overlap=False, padding=True, ceil=False)
    _max_case(t, student, "overlapping windows (stride < kernel)", overlap=True, padding=False, ceil=False)
    _max_case(t, student, "overlapping windows and padding", overlap=True, padding=True, ceil=False)
    _max_case(t, student, "ceil_mode", overlap=False, padding=True, ceil=True)
    _max_case(t, student, "ceil_mode, overlapping windows", overlap=True, padding=False, ceil=True)
    with t.group("negative inputs: the padding never wins"):
        x = -t.rand(1, 1, 5, 5, low=1.0, high=2.0, dtype=edunn.float64)
        out, idx = student(x, kernel_size=3, stride=2, padding=1, return_indices=True)
        want, want_idx = F.max_pool2d(x, 3, 2, 1, return_indices=True)
        t.close(out, want, "max_pool2d(x < 0, kernel_size=3, stride=2, padding=1)",
                mistakes={"the padding won: pad with -inf, not 0, so that it is never the maximum":
                          edunn.zeros(want.shape, dtype=edunn.float64)}, hint="pad with -inf")


# ---------------------------------------------------------------------------- 10.avg_pool2d


def _avg_case(t: Any, student: Any, title: str, *, count_include_pad: bool, **config: bool) -> None:
    import edunn.nn.functional as F

    with t.group(title):
        shape, k, s, p, ceil = _pool_config(t, **config)
        x = t.randn(*shape, dtype=edunn.float64)
        kwargs = dict(kernel_size=k, stride=s, padding=p, ceil_mode=ceil, count_include_pad=count_include_pad)
        what = f"avg_pool2d(x of shape {shape}, " + ", ".join(f"{a}={v}" for a, v in kwargs.items()) + ")"
        out = _tensor_or_fail(student(x, **kwargs), what)
        want = F.avg_pool2d(x, **kwargs)
        _shape_ok(t, out, want.shape, f"the output of {what}",
                  hint="pool_output_size gives the number of windows along each axis")
        full = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, divisor_override=k[0] * k[1])
        other = F.avg_pool2d(x, k, s, p, ceil_mode=ceil, count_include_pad=not count_include_pad)
        mistakes = {f"count_include_pad={count_include_pad} is not followed: you computed the other "
                    "divisor": other,
                    "every window is divided by kh * kw; at the border the divisor counts only the "
                    "positions inside the padded input (count_include_pad=True) or inside the input "
                    "(count_include_pad=False)": full}
        t.close(out, want, f"the output of {what}", mistakes=mistakes)
        weights = t.randn(*want.shape, dtype=edunn.float64)
        grad = _grad_of(lambda v: student(v, **kwargs), x, weights)
        t.close(grad, _grad_of(lambda v: F.avg_pool2d(v, **kwargs), x, weights),
                f"the gradient of (avg_pool2d(x, ...) * g).sum() with respect to x")


@exercise("10.avg_pool2d", points=4, reference=avg_pool2d, title="average pooling at the border")
def grade_avg_pool2d(student, t):
    _avg_case(t, student, "windows side by side", count_include_pad=True, overlap=False, padding=False, ceil=False)
    _avg_case(t, student, "overlapping windows", count_include_pad=True, overlap=True, padding=False, ceil=False)
    _avg_case(t, student, "padding, count_include_pad=True", count_include_pad=True, overlap=True,
              padding=True, ceil=False)
    _avg_case(t, student, "padding, count_include_pad=False", count_include_pad=False, overlap=False,
              padding=True, ceil=False)
    _avg_case(t, student, "ceil_mode, count_include_pad=True", count_include_pad=True, overlap=False,
              padding=True, ceil=True)
    _avg_case(t, student, "ceil_mode, count_include_pad=False", count_include_pad=False, overlap=True,
              padding=False, ceil=True)


# ---------------------------------------------------------------------------- 10.adaptive_windows


@exercise("10.adaptive_windows", points=2, reference=adaptive_windows, title="the windows of adaptive pooling")
def grade_adaptive_windows(student, t):
    import edunn.nn.functional as F

    for title, cases in [("output size divides the input size", [(8, 4), (6, 2), (5, 5), (7, 1)]),
                         ("output size does not divide it", [(10, 4), (7, 3), (5, 3), (13, 5)]),
                         ("output larger than the input", [(3, 5), (2, 7), (4, 6)])]:
        with t.group(title):
            for L, o in cases:
                got = student(L, o)
                want = adaptive_windows(L, o)
                try:
                    got = [tuple(int(v) for v in pair) for pair in got]
                except (TypeError, ValueError):
                    raise Fail(f"adaptive_windows({L}, {o}) returned {got!r}: expected a list of (start, end) pairs")
                if got == want:
                    continue
                floor_end = [((i * L) // o, ((i + 1) * L) // o) for i in range(o)]
                message = f"adaptive_windows({L}, {o}): got {got}, expected {want}"
                if got == floor_end:
                    message += (": the end is ceil((i + 1) * L / out), rounded up, so that neighbouring "
                                "windows overlap rather than skip an input")
                elif len(got) != o:
                    message += f": there is one window per output position ({o})"
                raise Fail(message)
    with t.group("pooling with your windows gives F.adaptive_avg_pool1d and F.adaptive_max_pool1d"):
        for L, o in [(11, 4), (9, 5), (4, 7)]:
            x = t.randn(2, L, dtype=edunn.float64)
            windows = [tuple(int(v) for v in pair) for pair in student(L, o)]
            empty = [(a, b) for a, b in windows if not 0 <= a < b <= L]
            if len(windows) != o or empty:
                raise Fail(f"adaptive_windows({L}, {o}) gave {windows}: expected {o} windows, each with "
                           f"0 <= start < end <= {L}")
            avg = edunn.stack([x[:, a:b].mean(1) for a, b in windows], 1)
            mx = edunn.stack([x[:, a:b].amax(1) for a, b in windows], 1)
            t.close(avg, F.adaptive_avg_pool1d(x, o), f"the means over adaptive_windows({L}, {o})")
            t.close(mx, F.adaptive_max_pool1d(x, o), f"the maxima over adaptive_windows({L}, {o})")


# ---------------------------------------------------------------------------- 10.pixel_shuffle


@exercise("10.pixel_shuffle", points=2, reference=pixel_shuffle, title="pixel shuffle: channels become space")
def grade_pixel_shuffle(student, t):
    import edunn.nn.functional as F

    for title, (n, c, r, h, w) in [("upscale factor 2", (1, 1, 2, 2, 3)),
                                   ("several channels, factor 3", (2, 2, 3, 3, 2)),
                                   ("factor 2, rectangular", (1, 3, 2, 4, 5))]:
        with t.group(title):
            x = t.randn(n, c * r * r, h, w, dtype=edunn.float64)
            what = f"pixel_shuffle(x of shape {(n, c * r * r, h, w)}, {r})"
            out = _tensor_or_fail(student(x, r), what)
            want = F.pixel_shuffle(x, r)
            _shape_ok(t, out, want.shape, what, hint="(N, C r^2, H, W) becomes (N, C, H r, W r)")
            wrong = x.reshape(n, r, r, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, c, h * r, w * r)
            swapped = x.reshape(n, c, r, r, h, w).permute(0, 1, 4, 3, 5, 2).reshape(n, c, h * r, w * r)
            t.close(out, want, what, mistakes={
                "the factor r * r is the fast part of the channel index: channel c * r^2 + i * r + j, "
                "not (i * r + j) * C + c": wrong,
                "i (the row offset) and j (the column offset) are swapped": swapped})
            weights = t.randn(*want.shape, dtype=edunn.float64)
            t.close(_grad_of(lambda v: student(v, r), x, weights),
                    _grad_of(lambda v: F.pixel_shuffle(v, r), x, weights), f"the gradient of {what}")


# ---------------------------------------------------------------------------- 10.upsample_bilinear


@exercise("10.upsample_bilinear", points=4, reference=upsample_bilinear,
          title="bilinear upsampling, align_corners=False")
def grade_upsample_bilinear(student, t):
    import edunn.nn.functional as F

    cases = [("twice the size", ((1, 1, 3, 4), (6, 8))),
             ("odd factors, several channels", ((2, 3, 4, 3), (7, 10))),
             ("one axis shrinks", ((1, 2, 6, 3), (4, 5))),
             ("a 1x1 image", ((1, 1, 1, 1), (3, 2)))]
    for title, (shape, size) in cases:
        with t.group(title):
            x = t.randn(*shape, dtype=edunn.float64)
            what = f"upsample_bilinear(x of shape {shape}, size={size})"
            out = _tensor_or_fail(student(x, size), what)
            want = F.interpolate(x, size=size, mode="bilinear", align_corners=False)
            _shape_ok(t, out, want.shape, what)
            mistakes = {"you sampled with align_corners=True (src = i (L - 1) / (out - 1)); with "
                        "align_corners=False it is src = (i + 0.5) L / out - 0.5":
                        upsample_bilinear(x, size, align_corners=True)}
            if not (shape[-2] == 1 and shape[-1] == 1):
                mistakes["near the top and left edges the source coordinate is negative: clamp it at 0 "
                         "(PyTorch does) rather than extrapolating"] = upsample_bilinear(x, size, clamp=False)
            t.close(out, want, what, mistakes=mistakes)
    with t.group("gradients"):
        for _, (shape, size) in cases[1:3]:
            x = t.randn(*shape, dtype=edunn.float64)
            weights = t.randn(*shape[:2], *size, dtype=edunn.float64)
            t.close(_grad_of(lambda v: student(v, size), x, weights),
                    _grad_of(lambda v: F.interpolate(v, size=size, mode="bilinear"), x, weights),
                    f"the gradient of (upsample_bilinear(x of shape {shape}, size={size}) * g).sum()")
