"""The graders of lesson 10: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message; and the references the
graders hand back agree with PyTorch."""

import math
from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson10 as lesson10
import edunn.nn.functional as F
from edunn.autograd import Function
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, stub

pytestmark = pytest.mark.lesson10

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "10_pooling_vision.ipynb"
pair = lesson10._pair


# ---------------------------------------------------------------------------- pool_output_size

def size_no_drop(L, k, s, p=0, ceil_mode=False):
    span = L + 2 * p - k
    return (-(-span // s) if ceil_mode else span // s) + 1


def size_no_plus_one(L, k, s, p=0, ceil_mode=False):
    return lesson10.pool_output_size(L, k, s, p, ceil_mode) - 1


def size_float(L, k, s, p=0, ceil_mode=False):
    return float(lesson10.pool_output_size(L, k, s, p, ceil_mode))


def size_ignores_ceil(L, k, s, p=0, ceil_mode=False):
    return (L + 2 * p - k) // s + 1


def test_pool_output_size_grader():
    assert_full_marks("10.pool_output_size", lesson10.pool_output_size)
    assert_zero("10.pool_output_size", stub)
    assert_partial("10.pool_output_size", size_no_drop, mentions="right padding")
    assert_partial("10.pool_output_size", size_no_plus_one, mentions="+ 1")
    assert_partial("10.pool_output_size", size_float, mentions="expected an int")
    assert_partial("10.pool_output_size", size_ignores_ceil, mentions="rounds (L + 2p - k) / s up")


# ---------------------------------------------------------------------------- max_pool2d

def planted_max_pool(*, pad_value=-math.inf, indices="input", accumulate=True, ceil=True, always_pair=False):
    """``max_pool2d`` with one usual mistake switched on."""

    class Planted(Function):
        @staticmethod
        def forward(ctx, input, kernel_size, stride, padding, ceil_mode):
            x = input._data
            xp = edunn.backend.array_module(x)
            n, c, h, w = x.shape
            (kh, kw), (sh, sw), (ph, pw) = kernel_size, stride, padding
            ceil_mode = ceil_mode and ceil
            h_out = lesson10.pool_output_size(h, kh, sh, ph, ceil_mode)
            w_out = lesson10.pool_output_size(w, kw, sw, pw, ceil_mode)
            eh = max(0, (h_out - 1) * sh + kh - h - 2 * ph)
            ew = max(0, (w_out - 1) * sw + kw - w - 2 * pw)
            padded = xp.pad(x, ((0, 0), (0, 0), (ph, ph + eh), (pw, pw + ew)), constant_values=pad_value)
            sn, sc, sy, sx = padded.strides
            windows = xp.lib.stride_tricks.as_strided(
                padded, (n, c, h_out, w_out, kh, kw), (sn, sc, sy * sh, sx * sw, sy, sx))
            flat = windows.reshape(n, c, h_out, w_out, kh * kw)
            arg = flat.argmax(-1)
            out = xp.take_along_axis(flat, arg[..., None], -1)[..., 0]
            rows = (xp.arange(h_out) * sh - ph)[:, None] + arg // kw
            cols = (xp.arange(w_out) * sw - pw)[None, :] + arg % kw
            true_indices = rows * w + cols
            if indices == "padded":
                reported = (rows + ph) * (w + 2 * pw) + cols + pw
            elif indices == "window":
                reported = arg
            else:
                reported = true_indices
            ctx.indices = edunn.tensor(true_indices)
            ctx.input_shape = x.shape
            ctx.mark_non_differentiable(reported)
            return out, reported

        @staticmethod
        def backward(ctx, grad, grad_indices):
            n, c, h, w = ctx.input_shape
            zeros = edunn.zeros(n, c, h * w, dtype=grad.dtype)
            index, values = ctx.indices.reshape(n, c, -1), grad.reshape(n, c, -1)
            g = zeros.scatter_add(2, index, values) if accumulate else zeros.scatter(2, index, values)
            return g.reshape(n, c, h, w), None, None, None, None

    def max_pool2d(input, kernel_size, stride=None, padding=0, ceil_mode=False, return_indices=False):
        k = pair(kernel_size)
        s = k if stride is None else pair(stride)
        out, idx = Planted.apply(input, k, s, pair(padding), ceil_mode)
        return (out, idx) if return_indices or always_pair else out

    return max_pool2d


def test_max_pool2d_grader():
    assert_full_marks("10.max_pool2d", lesson10.max_pool2d)
    assert_full_marks("10.max_pool2d", planted_max_pool())
    assert_zero("10.max_pool2d", stub)
    assert_partial("10.max_pool2d", planted_max_pool(pad_value=0.0), mentions="-inf")
    assert_partial("10.max_pool2d", planted_max_pool(indices="padded"), mentions="padded image")
    assert_partial("10.max_pool2d", planted_max_pool(indices="window"), mentions="inside each window")
    assert_partial("10.max_pool2d", planted_max_pool(accumulate=False), mentions="scatter_add")
    assert_partial("10.max_pool2d", planted_max_pool(ceil=False), mentions="ceil_mode")
    assert_partial("10.max_pool2d", planted_max_pool(always_pair=True), mentions="return only")


# ---------------------------------------------------------------------------- avg_pool2d

def avg_full_divisor(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    k = pair(kernel_size)
    return F.avg_pool2d(input, k, stride, padding, ceil_mode=ceil_mode, divisor_override=k[0] * k[1])


def avg_ignores_count_include_pad(input, kernel_size, stride=None, padding=0, ceil_mode=False,
                                  count_include_pad=True):
    return lesson10.avg_pool2d(input, kernel_size, stride, padding, ceil_mode)


def avg_ignores_ceil(input, kernel_size, stride=None, padding=0, ceil_mode=False, count_include_pad=True):
    return lesson10.avg_pool2d(input, kernel_size, stride, padding, False, count_include_pad)


def test_avg_pool2d_grader():
    assert_full_marks("10.avg_pool2d", lesson10.avg_pool2d)
    assert_full_marks("10.avg_pool2d", F.avg_pool2d)
    assert_zero("10.avg_pool2d", stub)
    assert_partial("10.avg_pool2d", avg_full_divisor, mentions="kh * kw")
    assert_partial("10.avg_pool2d", avg_ignores_count_include_pad, mentions="count_include_pad=False is not followed")
    assert_partial("10.avg_pool2d", avg_ignores_ceil, mentions="shape")


# ---------------------------------------------------------------------------- adaptive, shuffle, upsample

def windows_floor_end(L, o):
    return [((i * L) // o, ((i + 1) * L) // o) for i in range(o)]


def windows_equal_split(L, o):
    return [(i * L // o, i * L // o + max(L // o, 1)) for i in range(o)]


def test_adaptive_windows_grader():
    assert_full_marks("10.adaptive_windows", lesson10.adaptive_windows)
    assert_zero("10.adaptive_windows", stub)
    assert_partial("10.adaptive_windows", windows_floor_end, mentions="rounded up")
    assert_partial("10.adaptive_windows", windows_equal_split)


def shuffle_channel_major(x, r):
    n, crr, h, w = x.shape
    c = crr // (r * r)
    return x.reshape(n, r, r, c, h, w).permute(0, 3, 4, 1, 5, 2).reshape(n, c, h * r, w * r)


def shuffle_swapped(x, r):
    n, crr, h, w = x.shape
    c = crr // (r * r)
    return x.reshape(n, c, r, r, h, w).permute(0, 1, 4, 3, 5, 2).reshape(n, c, h * r, w * r)


def shuffle_no_permute(x, r):
    n, crr, h, w = x.shape
    return x.reshape(n, crr // (r * r), h * r, w * r)


def test_pixel_shuffle_grader():
    assert_full_marks("10.pixel_shuffle", lesson10.pixel_shuffle)
    assert_full_marks("10.pixel_shuffle", F.pixel_shuffle)
    assert_zero("10.pixel_shuffle", stub)
    assert_partial("10.pixel_shuffle", shuffle_channel_major, mentions="fast part")
    assert_partial("10.pixel_shuffle", shuffle_swapped, mentions="swapped")
    assert_partial("10.pixel_shuffle", shuffle_no_permute)


def test_upsample_bilinear_grader():
    assert_full_marks("10.upsample_bilinear", lesson10.upsample_bilinear)
    assert_full_marks("10.upsample_bilinear",
                      lambda x, size: F.interpolate(x, size=size, mode="bilinear", align_corners=False))
    assert_zero("10.upsample_bilinear", stub)
    assert_partial("10.upsample_bilinear", lambda x, size: lesson10.upsample_bilinear(x, size, align_corners=True),
                   mentions="align_corners=True")
    assert_partial("10.upsample_bilinear", lambda x, size: lesson10.upsample_bilinear(x, size, clamp=False),
                   mentions="clamp")
    assert_partial("10.upsample_bilinear", lambda x, size: F.interpolate(x, size=size, mode="nearest"))
    assert_partial("10.upsample_bilinear",
                   lambda x, size: edunn.tensor(F.interpolate(x, size=size, mode="bilinear").detach().numpy()),
                   mentions="no gradient reached the input")


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import math\nimport edunn\nimport edunn.nn.functional as F\nfrom edunn.autograd import Function\n",
         namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/10_pooling_vision.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    for name in ["pool_output_size", "max_pool2d", "avg_pool2d", "adaptive_windows", "pixel_shuffle",
                 "upsample_bilinear"]:
        assert_full_marks(f"10.{name}", ns[name])


# ---------------------------------------------------------------------------- references against PyTorch

def test_references_match_pytorch():
    torch = pytest.importorskip("torch")
    import numpy

    rng = numpy.random.default_rng(0)
    for _ in range(12):
        k = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        s = (int(rng.integers(1, 4)), int(rng.integers(1, 4)))
        p = (int(rng.integers(0, k[0] // 2 + 1)), int(rng.integers(0, k[1] // 2 + 1)))
        ceil, cip = bool(rng.integers(0, 2)), bool(rng.integers(0, 2))
        a = rng.standard_normal((2, 2, int(rng.integers(k[0] + 1, 8)), int(rng.integers(k[1] + 1, 8))))
        g = None
        x, tx = edunn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
        out, idx = lesson10.max_pool2d(x, k, s, p, ceil, return_indices=True)
        tout, tidx = torch.nn.functional.max_pool2d(tx, k, s, p, ceil_mode=ceil, return_indices=True)
        g = rng.standard_normal(tuple(tout.shape))
        (out * edunn.tensor(g)).sum().backward()
        (tout * torch.tensor(g)).sum().backward()
        numpy.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy())
        numpy.testing.assert_array_equal(idx.numpy(), tidx.numpy())
        numpy.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
        x.grad, tx.grad = None, None
        out = lesson10.avg_pool2d(x, k, s, p, ceil, cip)
        tout = torch.nn.functional.avg_pool2d(tx, k, s, p, ceil, cip)
        (out * edunn.tensor(g)).sum().backward()
        (tout * torch.tensor(g)).sum().backward()
        numpy.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
        numpy.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), rtol=1e-12)
    for L, o in [(10, 4), (3, 5), (7, 7)]:
        a = rng.standard_normal((1, 1, L))
        want = torch.nn.functional.adaptive_avg_pool1d(torch.tensor(a), o).numpy()[0, 0]
        got = [a[0, 0, s:e].mean() for s, e in lesson10.adaptive_windows(L, o)]
        numpy.testing.assert_allclose(got, want, rtol=1e-12)
    a = rng.standard_normal((2, 18, 3, 4))
    numpy.testing.assert_array_equal(lesson10.pixel_shuffle(edunn.tensor(a), 3).numpy(),
                                     torch.nn.functional.pixel_shuffle(torch.tensor(a), 3).numpy())
    for shape, size in [((1, 2, 3, 4), (7, 9)), ((1, 1, 5, 5), (2, 3)), ((1, 1, 1, 2), (4, 4))]:
        a = rng.standard_normal(shape)
        numpy.testing.assert_allclose(
            lesson10.upsample_bilinear(edunn.tensor(a), size).numpy(),
            torch.nn.functional.interpolate(torch.tensor(a), size=size, mode="bilinear").numpy(), rtol=1e-12)
