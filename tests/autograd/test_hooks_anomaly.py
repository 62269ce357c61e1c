"""Tensor hooks, anomaly detection and gradcheck (lesson 02)."""
import math
import warnings

import numpy as np
import pytest

import edunn
from edunn.autograd import Function

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson02


def test_hook_on_leaf_modifies_gradient_and_is_removable():
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    seen = []
    h = x.register_hook(lambda g: seen.append(g.tolist()) or g * 10)
    (x * 3).sum().backward()
    assert seen == [[3.0, 3.0]] and x.grad.tolist() == [30.0, 30.0]
    h.remove()
    x.grad = None
    (x * 3).sum().backward()
    assert x.grad.tolist() == [3.0, 3.0] and len(seen) == 1


def test_hook_on_non_leaf_matches_torch():
    xe = edunn.tensor([1.0, 2.0], requires_grad=True)
    xt = torch.tensor([1.0, 2.0], requires_grad=True)
    for x in (xe, xt):
        y = x * x
        y.register_hook(lambda g: g * 2)
        y.register_hook(lambda g: g + 1)  # hooks run in registration order
        (y * 3).sum().backward()
    assert xe.grad.tolist() == xt.grad.tolist()


def test_hook_returning_none_keeps_gradient():
    x = edunn.tensor([1.0], requires_grad=True)
    x.register_hook(lambda g: None)
    (x * 2).sum().backward()
    assert x.grad.tolist() == [2.0]
    with pytest.raises(RuntimeError, match="doesn't require gradient"):
        edunn.tensor([1.0]).register_hook(lambda g: g)


def test_post_accumulate_grad_hook():
    w = edunn.tensor([1.0, 2.0], requires_grad=True)
    calls = []
    handle = w.register_post_accumulate_grad_hook(lambda p: calls.append(p.grad.tolist()))
    (w * 2).sum().backward()
    (w * 2).sum().backward()
    assert calls == [[2.0, 2.0], [4.0, 4.0]]
    handle.remove()
    (w * 2).sum().backward()
    assert len(calls) == 2
    with pytest.raises(RuntimeError, match="non-leaf"):
        (w * 2).register_post_accumulate_grad_hook(lambda p: None)


def test_grad_fn_hooks():
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    y = x * 3
    got = []
    y.grad_fn.register_hook(lambda gin, gout: got.append((gin[0].tolist(), gout[0].tolist())))
    y.sum().backward()
    assert got == [([3.0, 3.0], [1.0, 1.0])]


def test_detect_anomaly_names_the_op():
    x = edunn.tensor([-1.0, 4.0], requires_grad=True)
    with pytest.warns(UserWarning, match="Anomaly Detection has been enabled"):
        with edunn.autograd.detect_anomaly():
            assert edunn.autograd.is_anomaly_enabled()
            y = x.sqrt()  # NaN at -1; its backward 0.5 / sqrt(x) is NaN there
            with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan values in its 0th output") as info:
                y.sum().backward()
    assert "x.sqrt()" in str(info.value)  # the forward stack points at the line
    assert not edunn.autograd.is_anomaly_enabled()


def test_detect_anomaly_zero_times_log_zero():
    x = edunn.tensor([0.0, 1.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with edunn.autograd.detect_anomaly():
            y = x * x.log()
            with pytest.raises(RuntimeError, match="returned nan values"):
                y.sum().backward()


def test_without_anomaly_nan_passes_silently():
    x = edunn.tensor([-1.0], requires_grad=True)
    x.sqrt().sum().backward()
    assert math.isnan(x.grad.item())
    with edunn.autograd.set_detect_anomaly(True):
        assert edunn.autograd.is_anomaly_enabled()
    assert not edunn.autograd.is_anomaly_enabled()


class GoodSquare(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * 2 * x


class WrongSquare(GoodSquare):
    """A planted bug: the derivative of x^2 is 2x, not x."""

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * x


def _x64():
    return edunn.tensor([[0.3, -1.1], [2.0, 0.7]], dtype=edunn.float64, requires_grad=True)


def test_gradcheck_passes_a_correct_backward():
    assert edunn.autograd.gradcheck(GoodSquare.apply, (_x64(),))
    assert edunn.autograd.gradgradcheck(GoodSquare.apply, (_x64(),))


def test_gradcheck_fails_a_wrong_backward():
    with pytest.raises(edunn.autograd.GradcheckError, match="Jacobian mismatch"):
        edunn.autograd.gradcheck(WrongSquare.apply, (_x64(),))
    assert edunn.autograd.gradcheck(WrongSquare.apply, (_x64(),), raise_exception=False) is False


def test_gradgradcheck_fails_a_wrong_double_backward():
    class WrongSecond(Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, grad):
            x, = ctx.saved_tensors
            # right value, wrong graph: detach() hides x from the second derivative
            return grad * 3 * x.detach() ** 2

    assert edunn.autograd.gradcheck(WrongSecond.apply, (_x64(),))
    assert edunn.autograd.gradgradcheck(WrongSecond.apply, (_x64(),), raise_exception=False) is False


def test_gradcheck_needs_an_input_requiring_grad():
    with pytest.raises(ValueError, match="requires_grad=True"):
        edunn.autograd.gradcheck(GoodSquare.apply, (edunn.ones(2, dtype=edunn.float64),))
