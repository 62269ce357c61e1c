"""In-place ops on views update the base's graph (PyTorch's CopySlices), checked against torch."""
import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install -e .[parity]")
pytestmark = pytest.mark.lesson02


def _run(fw, fn):
    x = fw.tensor(np.arange(12.0).reshape(3, 4) / 7, requires_grad=True)
    w = fw.tensor(np.linspace(-1, 1, 4), requires_grad=True)
    out = fn(fw, x, w)
    out.backward()
    return out.item(), x.grad.numpy().copy(), None if w.grad is None else w.grad.numpy().copy()


def row_mul(fw, x, w):
    b = x * 2
    b[0].mul_(w)
    return (b ** 2).sum()


def transposed_row_add(fw, x, w):
    b = x * 1
    b.t()[1].add_(w[:3])
    return (b * b).sum()


def copy_into_constant(fw, x, w):
    b = fw.zeros(3, 4, dtype=fw.float64)
    b[1:].copy_(x[:2] * w)  # b did not require grad; after the copy it does
    return b.exp().sum()


def two_ops_on_a_column_block(fw, x, w):
    b = x.clone()
    v = b[:, 1:3]
    v.mul_(3)
    v.tanh_()
    return (b * v.sum()).sum()


def setitem_on_a_view_of_a_view(fw, x, w):
    b = x.reshape(12) * 1
    v = b.view(3, 4)[1]
    v[2] = w[0] * 5
    return (b ** 3).sum()


CASES = [row_mul, transposed_row_add, copy_into_constant, two_ops_on_a_column_block,
         setitem_on_a_view_of_a_view]


@pytest.mark.parametrize("fn", CASES, ids=lambda f: f.__name__)
def test_inplace_on_view_matches_torch(fn):
    (ours, gx, gw), (theirs, tx, tw) = _run(edunn, fn), _run(torch, fn)
    assert ours == pytest.approx(theirs)
    np.testing.assert_allclose(gx, tx, rtol=1e-6, atol=1e-9)
    assert (gw is None) == (tw is None)
    if gw is not None:
        np.testing.assert_allclose(gw, tw, rtol=1e-6, atol=1e-9)


def test_the_base_records_copy_slices():
    b = edunn.tensor([1.0, 2.0, 3.0], requires_grad=True) * 1
    b[1:].mul_(2)
    assert b.grad_fn.name() == "torch::autograd::CopySlices"


def test_double_backward_through_a_view_write():
    def f(fw):
        x = fw.tensor([0.5, -1.0, 2.0], dtype=fw.float64, requires_grad=True)
        b = x * 1
        b[:2].mul_(x[1:])
        (g,) = fw.autograd.grad((b ** 3).sum(), x, create_graph=True)
        (h,) = fw.autograd.grad(g.sum(), x)
        return g.detach().numpy(), h.numpy()
    for ours, theirs in zip(f(edunn), f(torch)):
        np.testing.assert_allclose(ours, theirs, rtol=1e-10)


def test_view_of_a_leaf_that_requires_grad_cannot_be_modified_in_place():
    x = edunn.ones(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="view of a leaf Variable"):
        x[0].mul_(2)
    with edunn.no_grad():  # the optimizer's way: allowed
        x[0].mul_(2)
    assert x.tolist() == [2.0, 1.0, 1.0]


def test_copy_slices_passes_gradcheck_and_gradgradcheck():
    def f(x, w):
        b = x * 1
        b[1:, ::2].mul_(w)
        b.t()[0].add_(w[0] ** 2)
        return b.tanh()
    x = edunn.randn(3, 4, dtype=edunn.float64, requires_grad=True)
    w = edunn.randn(2, dtype=edunn.float64, requires_grad=True)
    assert edunn.autograd.gradcheck(f, (x, w))
    assert edunn.autograd.gradgradcheck(f, (x, w))
