"""``unfold`` and ``fold``: im2col and col2im as functions (lesson 09).

Split from :mod:`edunn.nn.functional.conv` (which re-exports both names).  ``unfold`` extracts
every sliding block of a 2-D image as a column, ``fold`` adds columns back onto an image; they are
each other's adjoint, and each is one application of conv.py's ``Im2col``/``Col2im`` Functions
(whose backwards are each other), so both are differentiable twice.
"""
from __future__ import annotations

import math
from typing import Any

from ...tensor import Tensor
from .conv import Col2im, Im2col, _check_params, _Geometry

__all__ = ["unfold", "fold"]


def _pair(value: Any, name: str, what: str) -> tuple:
    if isinstance(value, (tuple, list)):
        value = tuple(int(v) for v in value)
        if len(value) != 2:
            raise RuntimeError(f"It is expected {what} equals to 2, but got size {len(value)}")
        return value
    return (int(value),) * 2


def unfold(input: Tensor, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> Tensor:
    """Extract sliding local blocks (im2col): (N, C, H, W) -> (N, C * kH * kW, L), L the number of
    block positions; column l holds the block at position l, channel-major then kernel row-major.
    An unbatched (C, H, W) input gives (C * kH * kW, L).  Lesson 09."""
    if not isinstance(input, Tensor):
        raise TypeError(f"unfold(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dim() not in (3, 4) or any(s == 0 for s in input.shape[-3:]):
        raise RuntimeError("Expected 3D or 4D (batch mode) tensor with possibly 0 batch size and other non-zero "
                           f"dimensions for input, but got: {list(input.shape)}")
    kernel = _pair(kernel_size, "kernel_size", "kernel_size")
    dilation, padding, stride = (_pair(dilation, "dilation", "dilation"), _pair(padding, "padding", "padding"),
                                 _pair(stride, "stride", "stride"))
    _check_params(stride, dilation, 1, padding)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_size: {list(kernel)}")
    batched = input.dim() == 4
    x = input if batched else input.unsqueeze(0)
    image = tuple(x.shape[2:])
    cols = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                 for s, p, d, k, st in zip(image, padding, dilation, kernel, stride))
    if any(c < 1 for c in cols):
        raise RuntimeError(f"Given input with spatial size {tuple(image)}, kernel_size={kernel}, dilation="
                           f"{dilation}, padding={padding}, calculated shape of the array of sliding blocks as "
                           f"{cols}, but its components must be at least one.")
    geo = _Geometry(kernel, stride, tuple((p, p) for p in padding), dilation, 1, image, cols)
    y = Im2col.apply(x, geo)
    y = y.reshape(x.shape[0], -1, math.prod(cols))
    return y if batched else y.squeeze(0)


def fold(input: Tensor, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
         stride: Any = 1) -> Tensor:
    """Combine sliding local blocks into an image (col2im, the adjoint of ``unfold``): (N, C * kH * kW, L)
    -> (N, C, *output_size), overlapping entries summed.  ``fold(unfold(x))`` is x times the number
    of blocks covering each pixel.  An unbatched (C * kH * kW, L) input gives (C, *output_size).  Lesson 09."""
    if not isinstance(input, Tensor):
        raise TypeError(f"fold(): argument 'input' must be Tensor, not {type(input).__name__}")
    if input.dim() not in (2, 3) or any(s == 0 for s in input.shape[-2:]):
        raise RuntimeError("Expected 2D or 3D (batch mode) tensor for input with possibly 0 batch size and "
                           f"non-zero dimensions for input, but got: {list(input.shape)}")
    image = _pair(output_size, "output_size", "output_size")
    kernel = _pair(kernel_size, "kernel_size", "kernel_size")
    dilation, padding, stride = (_pair(dilation, "dilation", "dilation"), _pair(padding, "padding", "padding"),
                                 _pair(stride, "stride", "stride"))
    _check_params(stride, dilation, 1, padding)
    if any(k <= 0 for k in kernel):
        raise RuntimeError(f"kernel size should be greater than zero, but got kernel_size: {list(kernel)}")
    batched = input.dim() == 3
    x = input if batched else input.unsqueeze(0)
    ck, length = x.shape[1], x.shape[2]
    if ck % math.prod(kernel):
        raise RuntimeError(f"Expected size of input's dimension 1 to be divisible by the product of kernel_size, "
                           f"but got input.size(1)={ck} and kernel_size={kernel}.")
    cols = tuple((s + 2 * p - d * (k - 1) - 1) // st + 1
                 for s, p, d, k, st in zip(image, padding, dilation, kernel, stride))
    if any(c < 1 for c in cols) or math.prod(cols) != length:
        raise RuntimeError(f"Given output_size={image}, kernel_size={kernel}, dilation={dilation}, padding="
                           f"{padding}, stride={stride}, expected size of input's dimension 2 to match the "
                           f"calculated number of sliding blocks {cols[0]} * {cols[1]} = {math.prod(cols)}, "
                           f"but got input.size(2)={length}.")
    geo = _Geometry(kernel, stride, tuple((p, p) for p in padding), dilation, 1, image, cols)
    y = Col2im.apply(x.reshape(x.shape[0], 1, ck, length), geo)
    return y if batched else y.squeeze(0)
