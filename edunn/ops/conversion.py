"""Conversions: ``to(dtype | device)``, ``copy_``."""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

float16, bfloat16, float32, float64 = backend.float16, backend.bfloat16, backend.float32, backend.float64
int8, int16, int32, int64, uint8, bool_ = (backend.int8, backend.int16, backend.int32, backend.int64,
                                           backend.uint8, backend.bool_)

__all__ = []



class Cast(Function):
    """``y = x.to(dtype)``.  Backward: the gradient cast back to x's dtype."""

    @staticmethod
    def forward(ctx, x, np_dtype):
        ctx.in_dtype = x._data.dtype
        return x._data.astype(np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return grad._cast_np(ctx.in_dtype), None


def to(input: Tensor, *args: Any, **kwargs: Any) -> Tensor:
    dtype = kwargs.get("dtype")
    for a in args:
        if isinstance(a, backend.dtype):
            dtype = a
    if dtype is None:
        return input
    d = backend.as_dtype(dtype)
    if d.np == input._data.dtype:
        return input
    return Cast.apply(input, d.np)
