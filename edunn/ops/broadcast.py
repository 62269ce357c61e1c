"""Broadcasting and its gradient, written once (minitorch's and tinygrad's idea).

When ``a`` of shape (3, 1) meets ``b`` of shape (4,), both are *broadcast* to (3, 4).  In the
backward pass the gradient arrives with shape (3, 4) and must be summed back to each input's
shape.  The autograd engine calls :func:`sum_to` for every input whose gradient came back wider
than the input, so no op repeats that logic: ``Add.backward`` is ``return grad, grad``.

``SumTo`` and ``BroadcastTo`` are each other's derivative, which keeps higher-order gradients
working.  Lesson 02 has the learner write ``sum_to``.
"""
from __future__ import annotations

from ..autograd.function import Function
from ._operands import _widened


def broadcast_shapes(*shapes: tuple) -> tuple:
    """The shape that ``shapes`` broadcast to, or a ``RuntimeError`` naming the two that clash."""
    ndim = max((len(s) for s in shapes), default=0)
    out = [1] * ndim
    for shape in shapes:
        for i, size in enumerate(shape, start=ndim - len(shape)):
            if size != 1:
                if out[i] != 1 and out[i] != size:
                    raise RuntimeError(
                        f"shape mismatch: shapes {[list(s) for s in shapes]} cannot be broadcast "
                        f"together (size {out[i]} against {size} at dimension {i - ndim})")
                out[i] = size
    return tuple(out)


def reduction_axes(shape: tuple, target: tuple) -> tuple[tuple, tuple]:
    """For summing an array of ``shape`` back to ``target``: the leading axes to remove and the
    axes where ``target`` has size 1 (summed with keepdims)."""
    lead = len(shape) - len(target)
    if lead < 0:
        raise RuntimeError(f"cannot sum a gradient of shape {list(shape)} to the larger shape {list(target)}")
    leading = tuple(range(lead))
    ones = tuple(lead + i for i, size in enumerate(target) if size == 1 and shape[lead + i] != 1)
    for i, size in enumerate(target):
        if size != 1 and shape[lead + i] != size:
            raise RuntimeError(
                f"gradient of shape {list(shape)} does not broadcast from the input shape {list(target)}")
    return leading, ones


class SumTo(Function):
    """``y = sum_to(x, shape)``: sum over the broadcast axes.  Backward: broadcast back."""
    supports_complex = True  # linear: complex gradients sum like real ones

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        leading, ones = reduction_axes(x._data.shape, shape)
        y = _widened(x._data)   # float16/bfloat16 gradients are summed in float32, as PyTorch's
        if ones:
            y = y.sum(axis=ones, keepdims=True)
        if leading:
            y = y.sum(axis=leading)
        return y.astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return BroadcastTo.apply(grad, ctx.in_shape), None


class BroadcastTo(Function):
    """``y = broadcast_to(x, shape)`` (a read-only view).  Backward: ``sum_to``."""
    supports_complex = True  # linear: complex gradients sum like real ones

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        from ..backend import array_module
        return array_module(x._data).broadcast_to(x._data, shape)

    @staticmethod
    def backward(ctx, grad):
        return SumTo.apply(grad, ctx.in_shape), None


def sum_to(grad, shape: tuple, node=None):
    """Sum ``grad`` over the axes that broadcasting added or stretched, so it has ``shape``."""
    try:
        return SumTo.apply(grad, tuple(shape))
    except RuntimeError as err:
        where = f" (in the backward of {node.name()})" if node is not None else ""
        raise RuntimeError(f"{err}{where}") from None


def broadcast_to(x, shape: tuple):
    return BroadcastTo.apply(x, tuple(shape))
