"""Fold and Unfold (col2im and im2col) against PyTorch, their gradients, and the relation
fold(unfold(x)) = x * (number of blocks covering each pixel)."""
import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck
from tests.opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson09

CASES = [  # (input shape, kernel_size, dilation, padding, stride)
    ((2, 3, 6, 7), 2, 1, 0, 1),
    ((2, 2, 7, 8), (2, 3), (2, 1), 1, (2, 1)),
    ((1, 1, 5, 5), 2, 1, 2, 3),          # stride larger than the kernel, wide padding
    ((2, 3, 9, 4), (4, 1), 1, (1, 0), (3, 2)),
    ((3, 6, 5), 2, 1, 1, 2),             # unbatched
]


@needs_torch
@pytest.mark.parametrize("case", CASES, ids=str)
def test_unfold_fold_match_torch(case):
    shape, k, d, p, s = case
    rng = np.random.default_rng(0)
    x = rng.standard_normal(shape).astype(np.float32)
    ex, tx = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    eu, tu = nn.Unfold(k, d, p, s)(ex), torch.nn.Unfold(k, d, p, s)(tx)
    assert tuple(eu.shape) == tuple(tu.shape)
    np.testing.assert_allclose(eu.detach().numpy(), tu.detach().numpy(), rtol=1e-6, atol=1e-6)
    g = rng.standard_normal(tuple(tu.shape)).astype(np.float32)
    eu.backward(edunn.tensor(g))
    tu.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=1e-5, atol=1e-5)

    # fold the same columns back, with its own gradient
    cols = rng.standard_normal(tuple(tu.shape)).astype(np.float32)
    ec, tc = edunn.tensor(cols, requires_grad=True), torch.tensor(cols, requires_grad=True)
    size = shape[-2:]
    ef, tf = nn.Fold(size, k, d, p, s)(ec), torch.nn.Fold(size, k, d, p, s)(tc)
    assert tuple(ef.shape) == tuple(tf.shape)
    np.testing.assert_allclose(ef.detach().numpy(), tf.detach().numpy(), rtol=1e-5, atol=1e-5)
    g = rng.standard_normal(tuple(tf.shape)).astype(np.float32)
    ef.backward(edunn.tensor(g))
    tf.backward(torch.tensor(g))
    np.testing.assert_allclose(ec.grad.numpy(), tc.grad.numpy(), rtol=1e-6, atol=1e-6)


@needs_torch
@pytest.mark.parametrize("case", CASES[:3], ids=str)
def test_fold_of_unfold_counts_covering_blocks(case):
    """fold(unfold(x)) = x * divisor, divisor = fold(unfold(ones)): the same relation as torch."""
    shape, k, d, p, s = case
    x = np.random.default_rng(1).standard_normal(shape).astype(np.float32)
    size = shape[-2:]
    ours = F.fold(F.unfold(edunn.tensor(x), k, d, p, s), size, k, d, p, s)
    divisor = F.fold(F.unfold(edunn.ones(*shape), k, d, p, s), size, k, d, p, s)
    np.testing.assert_allclose(ours.numpy(), x * divisor.numpy(), rtol=1e-5, atol=1e-5)
    tf = torch.nn.functional
    theirs = tf.fold(tf.unfold(torch.tensor(x), k, d, p, s), size, k, d, p, s)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-5, atol=1e-5)


def test_unfold_is_the_conv_matrix():
    """conv2d(x, W) = W.view(C_out, -1) @ unfold(x): the im2col identity of lesson 09."""
    edunn.manual_seed(0)
    x, w = edunn.randn(2, 3, 6, 5), edunn.randn(4, 3, 2, 3)
    cols = F.unfold(x, (2, 3), padding=1, stride=2)
    direct = F.conv2d(x, w, padding=1, stride=2)
    via = (w.reshape(4, -1) @ cols).reshape(direct.shape)
    np.testing.assert_allclose(via.numpy(), direct.numpy(), rtol=1e-5, atol=1e-5)


def test_gradcheck_unfold_fold():
    edunn.manual_seed(0)
    x = edunn.randn(1, 2, 4, 5, dtype=edunn.float64, requires_grad=True)
    assert gradcheck(lambda t: F.unfold(t, (2, 2), dilation=(1, 2), padding=1, stride=2), (x,))
    assert gradgradcheck(lambda t: F.unfold(t, 2, padding=1) ** 2, (x,))
    c = edunn.randn(1, 8, 6, dtype=edunn.float64, requires_grad=True)
    assert gradcheck(lambda t: F.fold(t, (3, 4), 2), (c,))
    assert gradgradcheck(lambda t: F.fold(t, (3, 4), 2) ** 2, (c,))


def test_errors_match_torch():
    with pytest.raises(RuntimeError, match=r"Expected 3D or 4D \(batch mode\) tensor .* but got: \[2, 3, 5, 5, 5\]"):
        F.unfold(edunn.randn(2, 3, 5, 5, 5), 2)
    with pytest.raises(RuntimeError, match=r"calculated shape of the array of sliding blocks as \(0, 0\), but its "
                                           r"components must be at least one"):
        F.unfold(edunn.randn(2, 3, 5, 5), 6)
    with pytest.raises(RuntimeError, match="It is expected kernel_size equals to 2, but got size 3"):
        F.unfold(edunn.randn(2, 3, 5, 5), (2, 2, 2))
    with pytest.raises(RuntimeError, match=r"expected size of input's dimension 2 to match the calculated number "
                                           r"of sliding blocks 4 \* 4 = 16, but got input.size\(2\)=15"):
        F.fold(edunn.randn(2, 12, 15), (5, 5), 2)
    with pytest.raises(RuntimeError, match=r"divisible by the product of kernel_size, but got input.size\(1\)=11"):
        F.fold(edunn.randn(2, 11, 16), (5, 5), 2)
    with pytest.raises(RuntimeError, match=r"Expected 2D or 3D \(batch mode\) tensor .* but got: \[2, 3, 12, 16\]"):
        nn.Fold((5, 5), 2)(edunn.randn(2, 3, 12, 16))


def test_unfold_with_a_1x1_kernel_does_not_alias_its_input():
    x = edunn.randn(2, 3, 4, 4)
    before = x.numpy().copy()
    u = F.unfold(x, 1)
    u.add_(1)
    np.testing.assert_array_equal(x.numpy(), before)
