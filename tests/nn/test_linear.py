"""F.linear and F.bilinear against PyTorch (values, input and weight gradients), gradcheck and
gradgradcheck in float64, float32 end to end, and PyTorch's errors for bad shapes and dtypes."""
import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from tests.opcheck import OpSpec, spec_tests, torch, needs_torch

pytestmark = pytest.mark.lesson05

TF = torch.nn.functional if torch is not None else None


def _lin(shapes, bias=True, name=None):
    if bias:
        fn, tfn = (lambda x, w, b: F.linear(x, w, b)), (lambda x, w, b: TF.linear(x, w, b))
    else:
        fn, tfn = (lambda x, w: F.linear(x, w)), (lambda x, w: TF.linear(x, w))
    return OpSpec(name or f"linear{shapes}", fn, tfn, shapes, gradgrad=True, lesson=5)


def _bil(shapes, bias=True):
    if bias:
        fn, tfn = (lambda a, b, w, c: F.bilinear(a, b, w, c)), (lambda a, b, w, c: TF.bilinear(a, b, w, c))
    else:
        fn, tfn = (lambda a, b, w: F.bilinear(a, b, w)), (lambda a, b, w: TF.bilinear(a, b, w))
    return OpSpec(f"bilinear{shapes}", fn, tfn, shapes, gradgrad=True, lesson=5)


SPECS = [
    _lin([(4, 3), (5, 3), (5,)]),
    _lin([(4, 3), (5, 3)], bias=False),
    _lin([(3,), (5, 3), (5,)], name="linear-unbatched"),
    _lin([(2, 3, 4), (6, 4), (6,)], name="linear-3d"),
    _lin([(2, 1, 3, 4), (2, 4)], bias=False, name="linear-4d-nobias"),
    _lin([(4, 3), (3,)], bias=False, name="linear-1d-weight"),
    _lin([(4, 3), (5, 3), (4, 5)], name="linear-full-bias"),
    _lin([(4, 3), (5, 3), (1,)], name="linear-broadcast-bias"),
    _bil([(4, 3), (4, 2), (5, 3, 2), (5,)]),
    _bil([(4, 3), (4, 2), (5, 3, 2)], bias=False),
    _bil([(3,), (2,), (5, 3, 2), (5,)]),
    _bil([(2, 4, 3), (2, 4, 2), (1, 3, 2), (1,)]),
]

test_parity, test_gradcheck = spec_tests(SPECS, lesson=5)


def test_float32_end_to_end_and_no_unneeded_grads():
    x = edunn.randn(8, 5)                      # a batch of data: no gradient wanted
    w = edunn.randn(3, 5, requires_grad=True)
    b = edunn.randn(3, requires_grad=True)
    y = F.linear(x, w, b)
    assert y.dtype == edunn.float32
    y.sum().backward()
    assert x.grad is None
    assert w.grad.dtype == edunn.float32 and b.grad.dtype == edunn.float32
    np.testing.assert_allclose(b.grad.numpy(), np.full(3, 8.0))
    np.testing.assert_allclose(w.grad.numpy(), np.tile(x.numpy().sum(0), (3, 1)), rtol=1e-5)


def test_needs_input_grad_respected():
    x = edunn.randn(4, 5, requires_grad=True)
    w = edunn.randn(3, 5)
    F.linear(x, w).sum().backward()
    assert w.grad is None and x.grad.shape == (4, 5)


def test_no_grad_mode_records_nothing():
    w = edunn.randn(3, 5, requires_grad=True)
    with edunn.no_grad():
        y = F.linear(edunn.randn(2, 5), w)
    assert not y.requires_grad and y.grad_fn is None


def test_zero_batch():
    x = edunn.randn(0, 4, requires_grad=True)
    w = edunn.randn(5, 4, requires_grad=True)
    b = edunn.randn(5, requires_grad=True)
    y = F.linear(x, w, b)
    assert y.shape == (0, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 4) and (w.grad.numpy() == 0).all() and (b.grad.numpy() == 0).all()


def test_integer_inputs():
    x = edunn.arange(6).reshape(2, 3)
    w = edunn.ones(4, 3, dtype=edunn.int64)
    y = F.linear(x, w)
    assert y.dtype == edunn.int64
    np.testing.assert_array_equal(y.numpy(), np.array([[3] * 4, [12] * 4]))


def test_saved_input_modified_in_place_is_detected():
    x = edunn.randn(2, 3)
    w = edunn.randn(4, 3, requires_grad=True)
    y = F.linear(x, w)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("xs,ws,bs,msg", [
    ((2, 3), (5, 4), (5,), r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    ((2, 7, 3), (5, 4), None, r"mat1 and mat2 shapes cannot be multiplied \(14x3 and 4x5\)"),
    ((3,), (5, 4), None, r"mat1 and mat2 shapes cannot be multiplied \(1x3 and 4x5\)"),
    ((2, 4), (5, 4), (4,), r"bias of shape \[4\] cannot be broadcast to the output shape \[2, 5\]"),
    ((2, 4), (5, 4), (3, 2, 5), r"bias of shape \[3, 2, 5\] cannot be broadcast"),
    ((), (5, 4), None, "both arguments to linear need to be at least 1D, but they are 0D and 2D"),
    ((2, 4), (2, 5, 4), None, r"weight must be 1-D or 2-D"),
])
def test_linear_shape_errors(xs, ws, bs, msg):
    b = None if bs is None else edunn.randn(*bs)
    with pytest.raises(RuntimeError, match=msg):
        F.linear(edunn.randn(*xs), edunn.randn(*ws), b)


@needs_torch
def test_linear_shape_error_message_starts_like_torch():
    with pytest.raises(RuntimeError) as ours:
        F.linear(edunn.randn(2, 3), edunn.randn(5, 4))
    with pytest.raises(RuntimeError) as theirs:
        TF.linear(torch.randn(2, 3), torch.randn(5, 4))
    assert str(ours.value).startswith(str(theirs.value))


def test_linear_dtype_and_type_errors():
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype, but got Double and Float"):
        F.linear(edunn.randn(2, 4, dtype=edunn.float64), edunn.randn(5, 4))
    with pytest.raises(RuntimeError, match="self and mat2 must have the same dtype, but got Double and Float"):
        F.linear(edunn.randn(2, 4), edunn.randn(5, 4), edunn.randn(5, dtype=edunn.float64))
    with pytest.raises(TypeError, match="argument 'weight'"):
        F.linear(edunn.randn(2, 4), np.zeros((5, 4)))
    with pytest.raises(TypeError, match="argument 'input'"):
        F.linear([[1.0]], edunn.randn(1, 1))


@pytest.mark.parametrize("s1,s2,ws,bs,msg", [
    ((2, 3), (2, 5), (5, 3, 4), (5,), "input2 size does not match weight size: got 5 but expected 4"),
    ((2, 4), (2, 4), (5, 3, 4), None, "input1 size does not match weight size: got 4 but expected 3"),
    ((2, 3), (3, 4), (5, 3, 4), (5,), "input batch dimensions do not match at dim 0: got 2 and 3"),
    ((2, 2, 3), (2, 4), (5, 3, 4), (5,), "input dimensions do not match: got 3 and 2"),
    ((2, 3), (2, 4), (5, 3, 4), (4,), "bias size does not match weight size: got 4 but expected 5"),
    ((2, 3), (2, 4), (3, 4), None, r"weight must be 3-D"),
])
def test_bilinear_errors(s1, s2, ws, bs, msg):
    b = None if bs is None else edunn.randn(*bs)
    with pytest.raises(RuntimeError, match=msg):
        F.bilinear(edunn.randn(*s1), edunn.randn(*s2), edunn.randn(*ws), b)
