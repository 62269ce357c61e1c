"""Max-unpooling (lesson 10): ``max_unpool1d/2d/3d``, the inverse of a max pool with
``return_indices=True``.

Split from :mod:`edunn.nn.functional.pooling` (which re-exports these names).  Each value of the
input goes to the position its index names in the output, zeros elsewhere: that is the max
pools' gradient scatter, :class:`~edunn.nn.functional.pooling._PutPlanes`, whose backward (a
gather at the indices) is this op's gradient.
"""
from __future__ import annotations

import math
from typing import Any

from ... import backend
from ...tensor import Tensor
from .pooling import _PutPlanes, _ntuple, _planes, _stride, _unbatch
from ...amp import _policy as _autocast

__all__ = ["max_unpool1d", "max_unpool2d", "max_unpool3d"]


# ------------------------------------------------------------------------------ max unpooling
@backend.on_input_device
def _max_unpool(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any, padding: Any,
                output_size: Any, n: int) -> Tensor:
    who = f"max_unpool{n}d"
    k = _ntuple(kernel_size, n, "kernel_size", who)
    s, p = _stride(stride, k, n, who), _ntuple(padding, n, "padding", who)
    nd = max(n, 2)  # PyTorch runs the 1d case as 2d
    x, batched = _planes(input, n, who, f"Input to max_unpooling{nd}d should be a {nd + 1}d or {nd + 2}d Tensor, "
                                        f"but got a tensor with {input.dim() + (n == 1)} dimensions.")
    if not isinstance(indices, Tensor) or indices.dtype != backend.int64:
        got = indices.dtype.scalar_name if isinstance(indices, Tensor) else type(indices).__name__
        raise RuntimeError(f"elements in indices should be type int64 but got: {got}")
    if tuple(indices.shape) != tuple(input.shape):
        raise RuntimeError(f"Expected shape of indices to be same as that of the input tensor "
                           f"({list(input.shape)}) but got indices tensor with shape: {list(indices.shape)}")
    sp = input.shape[-n:]
    default = [(sp[i] - 1) * s[i] + k[i] - 2 * p[i] for i in range(n)]
    if output_size is None:
        size = default
    else:
        size = list(output_size)
        if len(size) == n + 2:
            size = size[2:]
        elif len(size) == n + 1 and not batched:
            size = size[1:]
        if len(size) != n:
            raise ValueError(f"output_size should be a sequence containing {n} or {n + 2} elements, but it has "
                             f"a length of '{len(size)}'")
        for i in range(n):
            lo, hi = default[i] - s[i], default[i] + s[i]
            if not lo < size[i] < hi:
                raise ValueError(f'invalid output_size "{output_size}" (dim {i} must be between {lo} and {hi})')
    size = [int(v) for v in size]
    for i, v in enumerate(size):
        if v < 0:
            raise ValueError(f"max_unpooling: output_size must contain non-negative spatial dimensions, but got "
                             f"output_size[{i}]={v}")
    idx = indices._data if batched else indices._data[None]
    total = math.prod(size)
    if idx.size and (int(idx.min()) < 0 or int(idx.max()) >= total):
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        raise RuntimeError(f"Found an invalid max index: {bad} (output volumes are of size "
                           f"{'x'.join(str(v) for v in size)})")
    return _unbatch(_PutPlanes.apply(x, idx, tuple(size), True), batched)


def max_unpool1d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    """Inverse of ``max_pool1d``: each value goes to the position ``indices`` says, zeros
    elsewhere.  Default output length ``(L - 1) s + k - 2 p``.  Gradient: a gather at ``indices``."""
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 1)


def max_unpool2d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    if _autocast.active and "max_unpool2d" in _autocast.listed: return _autocast.call("max_unpool2d", max_unpool2d, input, indices, kernel_size, stride, padding, output_size)  # noqa: E501,E701
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 2)


def max_unpool3d(input: Tensor, indices: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                 output_size: Any = None) -> Tensor:
    if _autocast.active and "max_unpool3d" in _autocast.listed: return _autocast.call("max_unpool3d", max_unpool3d, input, indices, kernel_size, stride, padding, output_size)  # noqa: E501,E701
    return _max_unpool(input, indices, kernel_size, stride, padding, output_size, 3)


max_unpool2d.__doc__ = max_unpool3d.__doc__ = max_unpool1d.__doc__
