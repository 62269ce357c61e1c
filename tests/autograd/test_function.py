"""User-defined ``edunn.autograd.Function``s, as in PyTorch (lesson 02)."""
import numpy as np
import pytest

import edunn
from edunn.autograd import Function, once_differentiable

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson02


class Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * 3 * x ** 2


class TorchCube(torch.autograd.Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x ** 3

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * 3 * x ** 2


def test_custom_function_forward_backward_and_double_backward():
    xe = edunn.tensor([0.5, -1.0, 2.0], dtype=edunn.float64, requires_grad=True)
    xt = torch.tensor([0.5, -1.0, 2.0], dtype=torch.float64, requires_grad=True)
    ye, yt = Cube.apply(xe), TorchCube.apply(xt)
    assert ye.grad_fn.name() == "CubeBackward" and type(yt.grad_fn).__name__ == "TorchCubeBackward"
    ge, = edunn.autograd.grad(ye.sum(), xe, create_graph=True)
    gt, = torch.autograd.grad(yt.sum(), xt, create_graph=True)
    np.testing.assert_allclose(ge.detach().numpy(), gt.detach().numpy())
    ge.sum().backward()
    gt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy())  # 6x
    assert edunn.autograd.gradcheck(Cube.apply, (xe,))


class ScaleShift(Function):
    """Two tensor inputs, a float and a flag; checks needs_input_grad and Nones for non-tensors."""

    @staticmethod
    def forward(ctx, x, w, alpha, flag):
        ctx.save_for_backward(x, w)
        ctx.alpha = alpha
        return x * w * alpha

    @staticmethod
    def backward(ctx, grad):
        x, w = ctx.saved_tensors
        ctx.seen = ctx.needs_input_grad
        gx = grad * w * ctx.alpha if ctx.needs_input_grad[0] else None
        gw = grad * x * ctx.alpha if ctx.needs_input_grad[1] else None
        return gx, gw, None, None


def test_needs_input_grad_and_non_tensor_args():
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    w = edunn.tensor([3.0, 4.0])
    y = ScaleShift.apply(x, w, 2.0, True)
    node = y.grad_fn
    y.sum().backward()
    assert node.seen == (True, False, False, False)
    assert x.grad.tolist() == [6.0, 8.0] and w.grad is None


class SortWithIndices(Function):
    """Two outputs, one of them integer and non-differentiable."""

    @staticmethod
    def forward(ctx, x):
        xp = edunn.backend.array_module(x._data)
        idx = xp.argsort(x._data)
        ctx.idx = idx
        values = edunn.Tensor._make(x._data[idx])
        indices = edunn.Tensor._make(idx)
        ctx.mark_non_differentiable(indices)
        return values, indices

    @staticmethod
    def backward(ctx, grad_values, grad_indices):
        xp = edunn.backend.array_module(grad_values._data)
        out = xp.zeros_like(grad_values._data)
        out[ctx.idx] = grad_values._data
        return edunn.Tensor._make(out)


def test_multiple_outputs_and_mark_non_differentiable():
    x = edunn.tensor([3.0, 1.0, 2.0], requires_grad=True)
    values, indices = SortWithIndices.apply(x)
    assert values.requires_grad and not indices.requires_grad
    assert indices.tolist() == [1, 2, 0]
    (values * edunn.tensor([1.0, 10.0, 100.0])).sum().backward()
    assert x.grad.tolist() == [100.0, 1.0, 10.0]


class Split2(Function):
    @staticmethod
    def forward(ctx, x):
        return x * 2, x * 3

    @staticmethod
    def backward(ctx, g1, g2):
        return g1 * 2 + g2 * 3


def test_unused_output_gets_zero_grad_materialized():
    x = edunn.tensor([1.0, 1.0], requires_grad=True)
    a, b = Split2.apply(x)
    a.sum().backward()  # b receives no gradient: backward sees zeros, as in PyTorch
    assert x.grad.tolist() == [2.0, 2.0]


class SavesOutput(Function):
    """``y = e^x``, whose backward needs only the saved output: dy/dx = y."""

    @staticmethod
    def forward(ctx, x):
        y = x.exp()
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return grad * y


class OnceDiffExp(SavesOutput):
    @staticmethod
    @once_differentiable
    def backward(ctx, grad):
        return SavesOutput.backward(ctx, grad)


def test_once_differentiable_backward_is_not_recorded():
    x = edunn.tensor([0.0, 1.0], dtype=edunn.float64, requires_grad=True)
    g, = edunn.autograd.grad(OnceDiffExp.apply(x).sum(), x, create_graph=True)
    np.testing.assert_allclose(g.numpy(force=True), np.exp([0.0, 1.0]))
    assert not g.requires_grad


class MulSetupContext(Function):
    """PyTorch 2's style: forward without ctx, plus setup_context."""

    @staticmethod
    def forward(x, y):
        return x * y

    @staticmethod
    def setup_context(ctx, inputs, output):
        x, y = inputs
        ctx.save_for_backward(x, y)

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        return grad * y, grad * x


def test_setup_context_style():
    x = edunn.tensor([1.0, 2.0], dtype=edunn.float64, requires_grad=True)
    y = edunn.tensor([3.0, -1.0], dtype=edunn.float64, requires_grad=True)
    out = MulSetupContext.apply(x, y)
    assert out.tolist() == [3.0, -2.0]
    out.sum().backward()
    assert x.grad.tolist() == [3.0, -1.0] and y.grad.tolist() == [1.0, 2.0]
    assert edunn.autograd.gradcheck(MulSetupContext.apply, (x, y))


def test_saving_an_output_and_second_backward():
    x = edunn.tensor([0.5], dtype=edunn.float64, requires_grad=True)
    y = SavesOutput.apply(x)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), np.exp([0.5]))
    with pytest.raises(RuntimeError, match="backward through the graph a second time"):
        y.sum().backward()


def test_wrong_number_of_gradients_is_an_error():
    class Bad(Function):
        @staticmethod
        def forward(ctx, x, y):
            return x * y

        @staticmethod
        def backward(ctx, grad):
            return grad, grad, grad

    a = edunn.tensor([1.0], requires_grad=True)
    b = edunn.tensor([1.0], requires_grad=True)
    with pytest.raises(RuntimeError, match="incorrect number of gradients"):
        Bad.apply(a, b).sum().backward()


def test_forward_not_implemented():
    class NoForward(Function):
        pass

    with pytest.raises(NotImplementedError):
        NoForward.apply(edunn.ones(1))
