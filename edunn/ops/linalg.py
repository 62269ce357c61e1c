"""Linear algebra: ``matmul`` and friends."""
from __future__ import annotations

from ..autograd.function import Function
from ..tensor import Tensor
from .elementwise import _binary

__all__ = ['matmul']



class MatMul(Function):
    """``y = a @ b``;  dL/da = g @ b^T, dL/db = a^T @ g (batched, broadcast)."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary(a, b)
        ctx.save_for_backward(a, b)
        return ad @ bd

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b.mT, a.mT @ grad


def matmul(input: Tensor, other: Tensor) -> Tensor:
    return MatMul.apply(input, other)
