"""``F.grid_sample`` and ``F.affine_grid`` (lesson 10) against PyTorch CPU: values and gradients
(input and grid) for every mode x padding_mode x align_corners, 2-D and 3-D, float32 and float64,
points outside [-1, 1], on pixel centres and half-pixel ties; affine grids and a spatial
transformer's gradient in theta; warnings and errors; gradcheck in float64."""
import itertools
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.lesson10

MODES = ["bilinear", "nearest", "bicubic"]
PADDINGS = ["zeros", "border", "reflection"]
CASES = [(k, m, p, a) for k in (2, 3) for m, p, a in itertools.product(MODES, PADDINGS, (True, False))
         if not (k == 3 and m == "bicubic")]


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, edunn.Tensor) else t.detach().numpy()


def check_against_torch(x, g, mode, padding_mode, align_corners, device="cpu", atol=None):
    """Output, input gradient and grid gradient of edunn's grid_sample equal torch's."""
    tol = atol if atol is not None else (2e-5 if x.dtype == np.float32 else 1e-10)
    tx, tg = torch.tensor(x, requires_grad=True), torch.tensor(g, requires_grad=True)
    ex = edunn.tensor(x, requires_grad=True, device=device)
    eg = edunn.tensor(g, requires_grad=True, device=device)
    to = TF.grid_sample(tx, tg, mode, padding_mode, align_corners)
    eo = F.grid_sample(ex, eg, mode, padding_mode, align_corners)
    assert tuple(eo.shape) == tuple(to.shape) and eo.dtype == edunn.as_tensor(x).dtype
    np.testing.assert_allclose(_np(eo), _np(to), atol=tol, rtol=tol)
    go = np.random.default_rng(5).standard_normal(tuple(to.shape)).astype(x.dtype)
    to.backward(torch.tensor(go))
    eo.backward(edunn.tensor(go, device=device))
    np.testing.assert_allclose(_np(ex.grad), _np(tx.grad), atol=tol, rtol=tol, err_msg="input gradient")
    np.testing.assert_allclose(_np(eg.grad), _np(tg.grad), atol=10 * tol, rtol=tol, err_msg="grid gradient")


@pytest.mark.parametrize("k,mode,padding_mode,align_corners", CASES)
def test_grid_sample_matches_torch(k, mode, padding_mode, align_corners, device):
    rng = np.random.default_rng(k)
    for dtype in ("float32", "float64"):
        x = rng.standard_normal((2, 3) + (4, 5, 6)[:k]).astype(dtype)
        # well outside [-1, 1] too: several reflections, everything clipped, zeros read
        g = rng.uniform(-2.5, 2.5, (2,) + (3, 4, 2)[:k] + (k,)).astype(dtype)
        check_against_torch(x, g, mode, padding_mode, align_corners, device)


@pytest.mark.parametrize("mode,padding_mode,align_corners",
                         list(itertools.product(MODES, PADDINGS, (True, False))))
def test_grid_on_pixel_centres_edges_and_ties(mode, padding_mode, align_corners):
    """Pixel coordinates exactly integer (centres), half-integer (nearest's ties: round half to
    even) and on the borders, in and outside the image: every case is exact in binary."""
    h, w = 4, 4
    px = np.arange(-2.0, w + 1.5, 0.5)                      # pixel units, steps of one half
    # pixel -> normalised coordinate, the inverse of the unnormalisation
    norm = (2 * px / (w - 1) - 1) if align_corners else ((2 * px + 1) / w - 1)
    gx, gy = np.meshgrid(norm, norm[::-1])
    g = np.stack([gx, gy], -1)[None].astype(np.float64)
    x = np.random.default_rng(0).standard_normal((1, 2, h, w))
    check_against_torch(x, g, mode, padding_mode, align_corners)
    check_against_torch(x.astype(np.float32), g.astype(np.float32), mode, padding_mode, align_corners)


def test_nearest_rounds_half_to_even():
    x = np.arange(6, dtype=np.float32).reshape(1, 1, 1, 6)
    # align_corners=True, W=6: pixel = (g + 1) * 2.5 -> 0.5, 1.5, 2.5, 3.5, 4.5
    g = np.array([[[[-0.8, 0.0], [-0.4, 0.0], [0.0, 0.0], [0.4, 0.0], [0.8, 0.0]]]], np.float32)
    out = F.grid_sample(edunn.tensor(x), edunn.tensor(g), "nearest", align_corners=True)
    np.testing.assert_array_equal(out.numpy().ravel(), [0, 2, 2, 4, 4])
    expected = TF.grid_sample(torch.tensor(x), torch.tensor(g), "nearest", align_corners=True)
    np.testing.assert_array_equal(out.numpy(), expected.numpy())


def test_nearest_gives_grid_a_zero_gradient():
    x = edunn.randn(1, 2, 3, 3, requires_grad=True)
    g = (edunn.rand(1, 2, 2, 2) * 2 - 1).requires_grad_()
    F.grid_sample(x, g, "nearest", align_corners=False).sum().backward()
    assert g.grad is not None and not g.grad.numpy().any()


def test_identity_grid_reproduces_the_input():
    x = edunn.randn(2, 3, 5, 7)
    theta = edunn.tensor([[[1.0, 0, 0], [0, 1, 0]]] * 2)
    for align in (True, False):
        grid = F.affine_grid(theta, [2, 3, 5, 7], align_corners=align)
        for mode in MODES:
            out = F.grid_sample(x, grid, mode, align_corners=align)
            np.testing.assert_allclose(out.numpy(), x.numpy(), atol=1e-5)


def test_empty_batch_and_channels():
    for n, c in ((0, 3), (2, 0)):
        x, g = np.zeros((n, c, 4, 5), np.float32), np.zeros((n, 6, 7, 2), np.float32)
        out = F.grid_sample(edunn.tensor(x), edunn.tensor(g), align_corners=False)
        assert tuple(out.shape) == (n, c, 6, 7)


# ------------------------------------------------------------------------------ gradcheck (float64)
@pytest.mark.parametrize("mode,padding_mode,align_corners",
                         list(itertools.product(["bilinear", "bicubic"], PADDINGS, (True, False))))
def test_gradcheck_2d(mode, padding_mode, align_corners):
    rng = np.random.default_rng(1)
    x = edunn.tensor(rng.standard_normal((1, 2, 3, 4)), requires_grad=True)
    # random points (no kink within eps): inside and outside, for every padding's branches
    g = edunn.tensor(rng.uniform(-1.8, 1.8, (1, 3, 2, 2)), requires_grad=True)
    assert gradcheck(lambda a, b: F.grid_sample(a, b, mode, padding_mode, align_corners), (x, g))


def test_gradcheck_3d_and_nearest():
    rng = np.random.default_rng(2)
    x = edunn.tensor(rng.standard_normal((1, 2, 2, 3, 3)), requires_grad=True)
    g = edunn.tensor(rng.uniform(-1.5, 1.5, (1, 2, 2, 2, 3)), requires_grad=True)
    for padding in PADDINGS:
        assert gradcheck(lambda a, b: F.grid_sample(a, b, "bilinear", padding, False), (x, g))
    assert gradcheck(lambda a: F.grid_sample(a, g.detach(), "nearest", "reflection", True), (x,))


def test_gradgradcheck_bilinear():
    """The sampling is made of differentiable tensor ops, so it can be differentiated twice."""
    rng = np.random.default_rng(3)
    x = edunn.tensor(rng.standard_normal((1, 1, 3, 3)), requires_grad=True)
    g = edunn.tensor(rng.uniform(-1.2, 1.2, (1, 2, 2, 2)), requires_grad=True)
    assert gradgradcheck(lambda a, b: F.grid_sample(a, b, "bilinear", "border", False), (x, g))


# ------------------------------------------------------------------------------ affine_grid
@pytest.mark.parametrize("size", [[2, 3, 4, 5], [2, 1, 1, 6], [2, 3, 2, 4, 5], [2, 1, 3, 1, 2]])
@pytest.mark.parametrize("align_corners", [True, False])
def test_affine_grid_matches_torch(size, align_corners, device):
    k = len(size) - 2
    theta = np.random.default_rng(0).standard_normal((2, k, k + 1))
    for dtype in ("float32", "float64"):
        th = theta.astype(dtype)
        et = edunn.tensor(th, requires_grad=True, device=device)
        tt = torch.tensor(th, requires_grad=True)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")   # unit sizes with align_corners=True warn in both
            eo, to = F.affine_grid(et, size, align_corners), TF.affine_grid(tt, size, align_corners)
        tol = 1e-6 if dtype == "float32" else 1e-12
        np.testing.assert_allclose(_np(eo), _np(to), atol=tol, rtol=tol)
        go = np.random.default_rng(1).standard_normal(tuple(to.shape)).astype(dtype)
        eo.backward(edunn.tensor(go, device=device))
        to.backward(torch.tensor(go))
        np.testing.assert_allclose(_np(et.grad), _np(tt.grad), atol=10 * tol, rtol=tol)


@pytest.mark.parametrize("mode", ["bilinear", "bicubic"])
def test_spatial_transformer_gradient_in_theta(mode):
    """affine_grid -> grid_sample is differentiable with respect to theta (a spatial transformer)."""
    rng = np.random.default_rng(4)
    x = rng.standard_normal((2, 3, 6, 5))
    theta = np.array([[[0.9, 0.2, 0.1], [-0.1, 1.1, -0.2]], [[1.2, -0.3, 0.05], [0.25, 0.8, 0.1]]])
    et, tt = edunn.tensor(theta, requires_grad=True), torch.tensor(theta, requires_grad=True)
    eo = F.grid_sample(edunn.tensor(x), F.affine_grid(et, [2, 3, 4, 4], False), mode, "border", False)
    to = TF.grid_sample(torch.tensor(x), TF.affine_grid(tt, [2, 3, 4, 4], False), mode, "border", False)
    np.testing.assert_allclose(_np(eo), _np(to), atol=1e-12)
    (eo ** 2).sum().backward()
    (to ** 2).sum().backward()
    np.testing.assert_allclose(_np(et.grad), _np(tt.grad), atol=1e-10)
    xt = edunn.tensor(x)
    # a theta whose grid points sit nowhere near a pixel centre or border (the kinks)
    theta = theta + rng.uniform(-0.01, 0.01, theta.shape)
    assert gradcheck(lambda t: F.grid_sample(xt, F.affine_grid(t, [2, 3, 3, 4], True), mode, "zeros", True),
                     (edunn.tensor(theta, requires_grad=True),))


# ------------------------------------------------------------------------------ warnings and errors
def test_align_corners_none_warns_like_torch():
    x, g = edunn.zeros(1, 1, 2, 2), edunn.zeros(1, 1, 1, 2)
    theta = edunn.tensor([[[1.0, 0, 0], [0, 1, 0]]])
    for call, tcall in ((lambda: F.grid_sample(x, g), lambda: TF.grid_sample(torch.zeros(1, 1, 2, 2),
                                                                              torch.zeros(1, 1, 1, 2))),
                        (lambda: F.affine_grid(theta, [1, 1, 2, 2]),
                         lambda: TF.affine_grid(torch.tensor([[[1.0, 0, 0], [0, 1, 0]]]), [1, 1, 2, 2]))):
        with warnings.catch_warnings(record=True) as ours:
            warnings.simplefilter("always")
            call()
        with warnings.catch_warnings(record=True) as theirs:
            warnings.simplefilter("always")
            tcall()
        assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
        assert ours[0].category is theirs[0].category


def _same_error(ours, theirs):
    with pytest.raises(Exception) as expected:
        theirs()
    with pytest.raises(type(expected.value)) as got:
        ours()
    msg = str(expected.value).replace("torch.", "edunn.")
    assert str(got.value) == msg or str(got.value) in msg, (str(got.value), msg)


GRID_SAMPLE_ERRORS = [
    ((2, 3, 4, 5), (1, 6, 7, 2), {}),                     # batch sizes differ
    ((2, 3, 4, 5), (2, 6, 7, 1), {}),                     # last dim of grid
    ((2, 3, 4, 5), (2, 5, 2), {}),                        # 4-D input, 3-D grid
    ((2, 3, 4), (2, 5, 1), {}),                           # 3-D input
    ((2, 3, 4, 5, 6), (2, 5, 5, 3), {}),                  # 5-D input, 4-D grid
    ((2, 3, 0, 5), (2, 6, 7, 2), {}),                     # empty spatial dimension
    ((2, 3, 2, 4, 5), (2, 1, 6, 7, 3), {"mode": "bicubic"}),
    ((2, 3, 4, 5), (2, 6, 7, 2), {"mode": "linear"}),
    ((2, 3, 4, 5), (2, 6, 7, 2), {"padding_mode": "circular"}),
]


@pytest.mark.parametrize("xs,gs,kw", GRID_SAMPLE_ERRORS)
def test_grid_sample_errors_match_torch(xs, gs, kw):
    x, g = np.zeros(xs, np.float32), np.zeros(gs, np.float32)
    _same_error(lambda: F.grid_sample(edunn.tensor(x), edunn.tensor(g), align_corners=False, **kw),
                lambda: TF.grid_sample(torch.tensor(x), torch.tensor(g), align_corners=False, **kw))


def test_grid_sample_dtype_errors():
    x, g = np.zeros((1, 1, 2, 2), np.float32), np.zeros((1, 1, 1, 2), np.float32)
    _same_error(lambda: F.grid_sample(edunn.tensor(x), edunn.tensor(g, dtype=edunn.float64), align_corners=True),
                lambda: TF.grid_sample(torch.tensor(x), torch.tensor(g, dtype=torch.float64), align_corners=True))
    _same_error(lambda: F.grid_sample(edunn.tensor(x).int(), edunn.tensor(g).int(), align_corners=True),
                lambda: TF.grid_sample(torch.tensor(x).int(), torch.tensor(g).int(), align_corners=True))
    x3, g3 = np.zeros((1, 1, 2, 2, 2), np.float32), np.zeros((1, 1, 1, 1, 3), np.float32)
    _same_error(lambda: F.grid_sample(edunn.tensor(x3).int(), edunn.tensor(g3), align_corners=True),
                lambda: TF.grid_sample(torch.tensor(x3).int(), torch.tensor(g3), align_corners=True))
    with pytest.raises(TypeError, match="grid"):
        F.grid_sample(edunn.tensor(x), g, align_corners=True)


AFFINE_ERRORS = [((2, 2, 3), [2, 3, 4]), ((2, 3, 3), [2, 3, 4, 5]), ((2, 2, 3), [2, 3, 0, 5]),
                 ((2, 3, 4), [2, 3, 4, 5]), ((2, 2, 3), [2, 3, 4, 5, 6]), ((3, 2, 3), [2, 3, 4, 5])]


@pytest.mark.parametrize("shape,size", AFFINE_ERRORS)
def test_affine_grid_errors_match_torch(shape, size):
    theta = np.zeros(shape, np.float32)
    _same_error(lambda: F.affine_grid(edunn.tensor(theta), size, align_corners=False),
                lambda: TF.affine_grid(torch.tensor(theta), size, align_corners=False))
    _same_error(lambda: F.affine_grid(edunn.tensor(theta).int(), size, align_corners=False),
                lambda: TF.affine_grid(torch.tensor(theta).int(), size, align_corners=False))
