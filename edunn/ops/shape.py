"""Shape ops: ``reshape``, ``transpose``, ``cat``, ``split`` ... (most return views)."""
from __future__ import annotations

from typing import Any

from ..autograd.function import Function
from ..tensor import Tensor

__all__ = ['reshape']



def _infer_shape(shape: tuple, numel: int, ndshape: tuple) -> tuple:
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Function):
    """``y = x.reshape(shape)``: same elements, new shape.  Backward: reshape back."""
    _is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return x._data.reshape(_infer_shape(shape, x._data.size, x._data.shape))

    @staticmethod
    def backward(ctx, grad):
        return Reshape.apply(grad, ctx.in_shape), None


def reshape(input: Tensor, shape: tuple) -> Tensor:
    if tuple(shape) == input._data.shape:
        return Reshape.apply(input, tuple(shape))
    return Reshape.apply(input, tuple(shape))


def view(input: Tensor, shape: tuple) -> Tensor:
    return Reshape.apply(input, tuple(shape))
