"""Version counters and in-place ops under autograd (lesson 02)."""
import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson02


def test_modifying_a_saved_tensor_is_detected():
    a = edunn.tensor([1.0, 2.0], requires_grad=True)
    b = a * 2
    c = b * b  # saves b
    b.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        c.sum().backward()
    x = edunn.tensor([0.5, 1.0], requires_grad=True)
    h = x * 1
    y = h.exp()  # saves its output
    y.mul_(2)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


def test_version_counter_bumps():
    x = edunn.zeros(3)
    assert x._version == 0
    x.add_(1)
    x.mul_(2)
    x += 1
    assert x._version == 3
    with edunn.no_grad():
        x.zero_() if hasattr(x, "zero_") else x.mul_(0)
    assert x._version == 4


def test_inplace_on_non_leaf_matches_torch():
    xe = edunn.tensor([0.5, -1.0, 2.0], requires_grad=True)
    xt = torch.tensor([0.5, -1.0, 2.0], requires_grad=True)
    for x in (xe, xt):
        y = x * 2
        y.add_(1)
        y.mul_(3)
        z = y * x
        z.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())
    ye = xe * 2
    ye.add_(1)
    assert ye.grad_fn.name() == "AddBackward0" and ye._version == 1


def test_inplace_chain_of_unary_ops():
    xe = edunn.tensor([0.1, 0.4], dtype=edunn.float64, requires_grad=True)
    xt = torch.tensor([0.1, 0.4], dtype=torch.float64, requires_grad=True)
    for x in (xe, xt):
        y = x + 0
        y.mul_(x)      # needs y's original value for x's gradient
        y.sigmoid_()   # saves its output
        (y * 2).sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-12)


def test_inplace_after_an_op_that_saved_its_output_raises_like_torch():
    for m in (edunn, torch):
        x = m.tensor([0.1, 0.4], requires_grad=True)
        y = x.exp()
        y.tanh_()  # overwrites exp's saved output
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


def test_inplace_mul_by_tensor_requiring_grad():
    ae, at = (edunn.tensor([1.0, 2.0], requires_grad=True), torch.tensor([1.0, 2.0], requires_grad=True))
    we, wt = (edunn.tensor([3.0, -1.0], requires_grad=True), torch.tensor([3.0, -1.0], requires_grad=True))
    for a, w in ((ae, we), (at, wt)):
        y = a * 1
        y.mul_(w)
        y.div_(w + 2)
        (y * y).sum().backward()
    np.testing.assert_allclose(ae.grad.numpy(), at.grad.numpy(), rtol=1e-6)
    np.testing.assert_allclose(we.grad.numpy(), wt.grad.numpy(), rtol=1e-6)


def test_inplace_on_leaf_requiring_grad_raises():
    w = edunn.tensor([1.0, 2.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation"):
        w.add_(1)
    with pytest.raises(RuntimeError, match="leaf Variable"):
        w *= 2


def test_inplace_on_leaf_under_no_grad_is_the_optimizer_pattern():
    w = edunn.tensor([1.0, 2.0], requires_grad=True)
    loss = (w * w).sum()
    loss.backward()
    v = w._version
    with edunn.no_grad():
        w -= 0.5 * w.grad
    assert w.tolist() == [0.0, 0.0] and w.is_leaf and w.requires_grad and w.grad_fn is None
    assert w._version == v + 1
    (w * 3).sum().backward()
    assert w.grad.tolist() == [5.0, 7.0]  # 2w (old) + 3, accumulated


def test_inplace_int_result_type_error():
    x = edunn.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x += 1.5
    t = torch.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        t += 1.5


def test_inplace_shape_mismatch():
    x = edunn.zeros(3)
    with pytest.raises(RuntimeError, match="doesn't match the broadcast shape"):
        x.add_(edunn.ones(2, 3))


def test_detach_then_inplace_is_seen_by_the_graph():
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y
    y.detach().mul_(2)  # detach shares the version counter
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        z.sum().backward()


def test_data_inplace_is_not_seen():
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 1
    z = y * y
    y.data.mul_(2)  # the unchecked escape hatch: no error, gradient uses the new values
    z.sum().backward()
    assert x.grad.tolist() == [4.0, 8.0]


@pytest.mark.parametrize("op", ["mul", "div"])
@pytest.mark.parametrize("other_needs_grad", [False, True])
def test_an_operand_is_saved_only_when_the_other_gradient_needs_it(op, other_needs_grad):
    """``y = x * c`` (or ``x / c``) with a constant ``c`` keeps ``c`` alone, as PyTorch does, so
    changing ``x`` in place afterwards is allowed; once ``c`` needs a gradient, ``x`` is saved
    and the change is refused by both."""
    outcomes = []
    for m in (edunn, torch):
        x = m.tensor([0.5, -1.0, 2.0], dtype=m.float64, requires_grad=True)
        c = m.tensor([2.0, 4.0, -0.5], dtype=m.float64, requires_grad=other_needs_grad)
        h = x * 1
        y = h * c if op == "mul" else h / c
        h.add_(1)
        try:
            y.sum().backward()
            outcomes.append(("ok", x.grad.tolist(), None if c.grad is None else c.grad.tolist()))
        except RuntimeError as error:
            outcomes.append(("raised", "modified by an inplace operation" in str(error)))
    assert outcomes[0] == outcomes[1]
