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


# A view made before its base was written in place -- through another view or directly -- must
# see the write: its graph is made again from the base's (PyTorch regenerates a view's grad_fn
# when the version counter it shares with the base has moved).
def sibling_view_sees_a_write_through_another_view(fw, x, w):
    b = x * 1
    rows = b[1:]
    b[:, 1].mul_(w[:3])
    return (rows ** 2).sum()


def view_sees_a_write_into_its_base(fw, x, w):
    b = x * 1
    cols = b.t()[1:]
    b.mul_(w)
    return (cols ** 3).sum()


def view_of_a_view_sees_a_write_through_a_third_view(fw, x, w):
    b = x.reshape(12) * 1
    block = b.view(3, 4)[:, 1:]
    b[4:8].add_(w * w)
    return (block.t() * block.t()).sum()


def view_of_a_constant_sees_a_value_written_into_it(fw, x, w):
    b = fw.zeros(3, 4, dtype=fw.float64)
    middle = b[1]
    b[1:].copy_(x[:2] * w)  # b did not require grad; middle does after the copy
    return (middle * x[2]).sum()


def view_transposed_in_place_then_written(fw, x, w):
    b = x * 1
    v = b[1:]
    v.t_()
    v[1].mul_(w[:2])
    return (b ** 2).sum() + (v ** 2).sum()


def write_through_an_as_strided_view_of_a_transposed_base(fw, x, w):
    b = x.t().sin()  # new memory laid out transposed
    diagonal = b.as_strided((3,), (5,), 0)
    diagonal.mul_(w[:3])
    return (b * b).sum()


def diagonal_sees_a_row_written(fw, x, w):
    b = x * 1
    d = b.diagonal()
    b[0].mul_(w)
    return (d * d).sum()


def narrow_sees_a_column_set(fw, x, w):
    b = x * 1
    v = b.narrow(1, 0, 2)
    b[:, 1] = w[:3]
    return (v * v).sum()


def transpose_sees_two_writes(fw, x, w):
    b = x * 1
    t = b.t()
    b[0].mul_(w)
    b[1].add_(w)
    return (t ** 2).sum()


def row_sees_a_column_written_through_a_view(fw, x, w):
    b = x * 1
    column, row = b[:, 0], b[0]
    column.mul_(w[:3])
    return (row * row).sum()


CASES = [row_mul, transposed_row_add, copy_into_constant, two_ops_on_a_column_block,
         setitem_on_a_view_of_a_view, sibling_view_sees_a_write_through_another_view,
         view_sees_a_write_into_its_base, view_of_a_view_sees_a_write_through_a_third_view,
         view_of_a_constant_sees_a_value_written_into_it, view_transposed_in_place_then_written,
         write_through_an_as_strided_view_of_a_transposed_base, diagonal_sees_a_row_written,
         narrow_sees_a_column_set, transpose_sees_two_writes, row_sees_a_column_written_through_a_view]


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
