"""A NaN or infinite incoming gradient reaches exactly the inputs PyTorch sends it to.

Where PyTorch's backward selects (a branch that returns 0, a scatter into zeros, ``zeros_like``
for an input that does not matter), a non-finite gradient must not leak into the other
positions as ``0 * inf = NaN``; where PyTorch multiplies, edunn multiplies too.  Every case is
compared with torch, with and without ``create_graph``."""
import numpy as np
import pytest

import edunn
from tests.opcheck import needs_torch, torch

# 0 * inf where both frameworks multiply: NumPy warns about it, PyTorch does not
pytestmark = pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")

X = [-4.0, -3.0, -2.0, -0.5, 0.0, 0.5, 2.0, 3.0, 7.0]
G = [1.0, np.nan, np.inf, 1.0, -np.inf, np.nan, 1.0, np.nan, -np.inf]

CASES = {
    "clamp": lambda L, t: L.clamp(t, -1, 1),
    "clamp_min": lambda L, t: L.clamp(t, min=0.0),
    "clamp_max": lambda L, t: L.clamp(t, max=0.0),
    "maximum": lambda L, t: L.maximum(t, L.zeros_like(t)),
    "minimum": lambda L, t: L.minimum(t, L.zeros_like(t)),
    "fmax": lambda L, t: L.fmax(t, L.zeros_like(t)),
    "fmin": lambda L, t: L.fmin(t, L.zeros_like(t)),
    "where": lambda L, t: L.where(t > 0, t, L.zeros_like(t)),
    "prelu": lambda L, t: L.nn.functional.prelu(t, L.tensor([0.25])),
    "sign": lambda L, t: t * L.sign(t),
    "floor": lambda L, t: t * L.floor(t),
    "round": lambda L, t: t * L.round(t),
    "div_floor": lambda L, t: t * L.div(t, 2.0, rounding_mode="floor"),
    "copysign": lambda L, t: L.copysign(L.ones_like(t), t) * t,
    "cummax": lambda L, t: L.cummax(t, 0)[0],
    "cummin": lambda L, t: L.cummin(t, 0)[0],
    "max_dim": lambda L, t: L.max(t.reshape(3, 3), 1)[0].repeat(3),
    "min_dim": lambda L, t: L.min(t.reshape(3, 3), 1)[0].repeat(3),
    "median_dim": lambda L, t: L.median(t.reshape(3, 3), 1)[0].repeat(3),
    "kthvalue": lambda L, t: L.kthvalue(t.reshape(3, 3), 2, 1)[0].repeat(3),
    "amax": lambda L, t: L.amax(t.reshape(3, 3), 1).repeat(3),
    "max_all": lambda L, t: L.max(t).repeat(9),
    "min_all": lambda L, t: L.min(t).repeat(9),
    "median_all": lambda L, t: L.median(t).repeat(9),
    "lerp_end": lambda L, t: L.lerp(t, L.zeros(9), 0.0),
    "lerp_start": lambda L, t: L.lerp(L.zeros(9), t, 1.0),
    "relu": lambda L, t: L.relu(t),
    "max_pool1d": lambda L, t: L.nn.functional.max_pool1d(t.reshape(1, 1, 9), 3).repeat(1, 1, 3).reshape(9),
    "adaptive_avg_pool1d": lambda L, t: L.nn.functional.adaptive_avg_pool1d(t.reshape(1, 1, 9), 4).repeat(1, 1, 3)[..., :9].reshape(9),
    "max_pool1d_overlapping": lambda L, t: L.nn.functional.max_pool1d(t.reshape(1, 1, 9), 3, 1, 1).reshape(9),
}


@needs_torch
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name", sorted(CASES))
def test_nonfinite_gradient_reaches_what_torch_reaches(name, create_graph):
    grads = []
    for lib in (edunn, torch):
        t = lib.tensor(X, requires_grad=True)
        (gx,) = lib.autograd.grad(CASES[name](lib, t), t, lib.tensor(G), create_graph=create_graph)
        grads.append(np.asarray(gx.detach().numpy()))
    np.testing.assert_array_equal(grads[0], grads[1])


@needs_torch
def test_adaptive_avg_pool_keeps_a_nonfinite_input_in_its_window():
    x = np.arange(2 * 3 * 9 * 7, dtype=np.float64).reshape(2, 3, 9, 7)
    x[0, 1, 4, 2], x[1, 2, 0, 6] = np.nan, np.inf
    for size in ((4, 3), (2, 5), (1, 7), (9, 2)):
        np.testing.assert_array_equal(
            edunn.nn.functional.adaptive_avg_pool2d(edunn.tensor(x), size).numpy(),
            torch.nn.functional.adaptive_avg_pool2d(torch.tensor(x), size).numpy())


@needs_torch
def test_relu_and_tiled_max_pool_keep_signs_and_windows():
    # ReLU and max pooling send a NaN or infinite gradient only where they pass it on: the other
    # positions get exactly +0 (PyTorch's threshold_backward and max_pool backward)
    g = [float("nan"), float("inf"), 1.0, -0.0, float("-inf")]
    x = [-1.0, 0.0, 2.0, 3.0, -2.0]
    ours, theirs = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    edunn.relu(ours).backward(edunn.tensor(g))
    torch.relu(theirs).backward(torch.tensor(g))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    np.testing.assert_array_equal(np.signbit(ours.grad.numpy()), np.signbit(theirs.grad.numpy()))
    img = np.arange(32.0).reshape(1, 2, 4, 4)[..., ::-1].copy()
    gp = np.array([np.nan, np.inf, -np.inf, 2.0] * 2).reshape(1, 2, 2, 2)
    ours, theirs = edunn.tensor(img, requires_grad=True), torch.tensor(img, requires_grad=True)
    edunn.nn.functional.max_pool2d(ours, 2).backward(edunn.tensor(gp))
    torch.nn.functional.max_pool2d(theirs, 2).backward(torch.tensor(gp))
    np.testing.assert_array_equal(ours.grad.numpy(), theirs.grad.numpy())
    # and with create_graph (the differentiable backward)
    ours, theirs = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (g_ours,) = edunn.autograd.grad(edunn.relu(ours), ours, edunn.tensor(g), create_graph=True)
    (g_theirs,) = torch.autograd.grad(torch.relu(theirs), theirs, torch.tensor(g), create_graph=True)
    np.testing.assert_array_equal(g_ours.detach().numpy(), g_theirs.detach().numpy())
