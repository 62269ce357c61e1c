"""``Fold`` and ``Unfold``: col2im and im2col as layers (lesson 09).

``Unfold`` cuts an image into its sliding blocks, one column per block position; ``Fold`` adds
the columns back into an image.  The math lives in ``edunn.nn.functional.fold``/``unfold``.
"""
from __future__ import annotations

from typing import Any

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["Fold", "Unfold"]


class Fold(Module):
    """Combine sliding local blocks into an image: (N, C * prod(kernel_size), L) -> (N, C, *output_size)
    (or unbatched (C * prod(kernel_size), L) -> (C, *output_size)); overlapping entries are summed.
    L must equal the number of block positions, prod_d floor((output_size[d] + 2 padding[d] -
    dilation[d] (kernel_size[d] - 1) - 1) / stride[d]) + 1."""

    __constants__ = ["output_size", "kernel_size", "dilation", "padding", "stride"]

    def __init__(self, output_size: Any, kernel_size: Any, dilation: Any = 1, padding: Any = 0,
                 stride: Any = 1) -> None:
        super().__init__()
        self.output_size = output_size
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.fold(input, self.output_size, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"output_size={self.output_size}, kernel_size={self.kernel_size}, "
                f"dilation={self.dilation}, padding={self.padding}, stride={self.stride}")


class Unfold(Module):
    """Extract sliding local blocks: (N, C, *spatial) -> (N, C * prod(kernel_size), L), column l the
    flattened block at position l (channel-major, then kernel offsets in row-major order)."""

    __constants__ = ["kernel_size", "dilation", "padding", "stride"]

    def __init__(self, kernel_size: Any, dilation: Any = 1, padding: Any = 0, stride: Any = 1) -> None:
        super().__init__()
        self.kernel_size = kernel_size
        self.dilation = dilation
        self.padding = padding
        self.stride = stride

    def forward(self, input: Tensor) -> Tensor:
        return F.unfold(input, self.kernel_size, self.dilation, self.padding, self.stride)

    def extra_repr(self) -> str:
        return (f"kernel_size={self.kernel_size}, dilation={self.dilation}, padding={self.padding},"
                f" stride={self.stride}")
