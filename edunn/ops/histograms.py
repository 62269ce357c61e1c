"""Histograms: ``histogram`` (1-D) and ``histogramdd`` (one axis per coordinate).

A sample falls into bin k of a dimension when ``edge_k <= x < edge_{k+1}`` (the last bin also
takes its right edge); samples outside the edges, and NaNs, are not counted.  The bins are found
for all samples at once with ``searchsorted`` and counted with one ``bincount`` over the
flattened bin index.  Counts are not differentiable (nor are they in PyTorch).
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .. import backend, return_types
from ..tensor import Tensor
from ._out import write_out
from .differences import _type_name

__all__ = ['histogram', 'histogramdd']


def _outer_edges(x: Any, k: int, rng: Any) -> tuple:
    """(left, right) of dimension ``k``: ``range`` if given, else the data's min and max (0 and 1
    for no data); equal ends are widened by 0.5 each way, as in PyTorch."""
    if rng is not None:
        lo, hi = float(rng[2 * k]), float(rng[2 * k + 1])
    elif x.shape[0]:
        col = x[:, k]
        lo, hi = float(col.min()), float(col.max())  # a host read, as in PyTorch
    else:
        lo, hi = 0.0, 1.0
    if lo > hi:
        raise RuntimeError(f"torch.histogramdd: min should not exceed max, but got min {_num(lo)} max "
                           f"{_num(hi)} for dimension {k}")
    if not (math.isfinite(lo) and math.isfinite(hi)):
        raise RuntimeError(f"torch.histogramdd: dimension {k}'s range [{_num(lo)}, {_num(hi)}] is not finite")
    if lo == hi:
        lo, hi = lo - 0.5, hi + 0.5
    return lo, hi


def _cpp_name(t: Tensor) -> str:
    """The C++ type name PyTorch's histogram messages use (``float``, ``double``, ``long int``)."""
    return {"float32": "float", "float64": "double", "int64": "long int", "int32": "int", "int16": "short int",
            "int8": "signed char", "uint8": "unsigned char", "bool": "bool"}.get(t.dtype.name, t.dtype.name)


def _num(v: float) -> str:
    return str(int(v)) if math.isfinite(v) and v == int(v) else str(v)


def _histogramdd(input: Tensor, bins: Any, range: Any, weight: Any, density: bool) -> tuple:
    from .creation import linspace
    x = input._data
    xp = backend.array_module(x)
    if input.dtype not in (backend.float32, backend.float64):
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_type_name(input)}'")
    if x.ndim < 2:
        raise RuntimeError("torch.histogramdd: input tensor should have at least 2 dimensions")
    d = x.shape[-1]
    x = x.reshape(-1, d)
    if isinstance(bins, Tensor):
        bins = [bins]
    if isinstance(bins, int):
        bins = [bins] * d
    bins = list(bins)
    if any(isinstance(b, Tensor) for b in bins):
        for i, b in enumerate(bins):
            if not isinstance(b, Tensor):
                raise TypeError(f"expected Tensor as element {i} in argument 1, but got {type(b).__name__}")
    if len(bins) != d:
        raise RuntimeError("histogramdd: The size of bins must be equal to the innermost dimension of the input.")
    if range is not None:
        range = [float(v) for v in range]
        if len(range) != 2 * d:
            raise RuntimeError(f"torch.histogramdd: for a {d}-dimensional histogram range should have "
                               f"{2 * d} elements, but got {len(range)}")
    if weight is not None:
        if tuple(weight._data.shape) != tuple(input._data.shape[:-1]):
            raise RuntimeError(
                "torch.histogramdd: if weight tensor is provided it should have the same shape as the input "
                f"tensor excluding its innermost dimension, but got input with shape {list(input._data.shape)} "
                f"and weight with shape {list(weight._data.shape)}")
        if weight.dtype != input.dtype:
            raise RuntimeError(
                "torch.histogramdd: if weight tensor is provided, input tensor and weight tensor should have "
                f"the same dtype, but got input({_cpp_name(input)}), and weight({_cpp_name(weight)})")
    edges = []
    for k, b in enumerate(bins):
        if isinstance(b, Tensor):
            if b._data.ndim != 1:
                raise RuntimeError(f"torch.histogramdd: bins tensor should have one dimension, but got "
                                   f"{b._data.ndim} dimensions in the bins tensor for dimension {k}")
            if b._data.shape[0] < 1:
                raise RuntimeError(f"torch.histogramdd: bins tensor should have at least 1 element, but got "
                                   f"0 elements in the bins tensor for dimension {k}")
            if b.dtype != input.dtype:
                raise RuntimeError(
                    "torch.histogramdd: input tensor and bins tensors should have the same dtype, but got "
                    f"input with dtype {_cpp_name(input)} and bins for dimension {k} with dtype {_cpp_name(b)}")
            edges.append(b.detach())
        else:
            b = int(b)
            if b <= 0:
                raise RuntimeError(f"torch.histogram(): bins must be > 0, but got {b} for dimension {k}")
            lo, hi = _outer_edges(x, k, range)
            edges.append(linspace(lo, hi, b + 1, dtype=input.dtype, device=input.device))
    sizes = [e._data.shape[0] - 1 for e in edges]
    flat = xp.zeros(x.shape[0], backend.int64.np)
    keep = xp.ones(x.shape[0], bool)
    for k, e in enumerate(edges):
        ed, col = e._data, x[:, k]
        pos = xp.searchsorted(ed, col, side="right") - 1
        pos = xp.where(col == ed[-1], sizes[k] - 1, pos)  # the last bin is closed on the right
        keep &= (col >= ed[0]) & (col <= ed[-1])
        flat = flat * max(sizes[k], 1) + xp.clip(pos, 0, max(sizes[k] - 1, 0))
    total = 1
    for s in sizes:
        total *= s
    w = keep.astype(x.dtype) if weight is None else xp.where(keep, weight._data.reshape(-1), 0).astype(x.dtype)
    hist = xp.bincount(flat, weights=w, minlength=total)[:total].astype(x.dtype).reshape(tuple(sizes))
    if density:
        hist = hist / hist.sum()
        for k, e in enumerate(edges):
            width = xp.diff(e._data)
            hist = hist / width.reshape((1,) * k + (-1,) + (1,) * (d - k - 1))
    return Tensor._make(hist), edges


@backend.on_input_device
def histogram(input: Tensor, bins: Any = 100, *, range: Sequence[float] | None = None,
              weight: Tensor | None = None, density: bool = False, out: Any = None) -> Any:
    """``(hist, bin_edges)`` of all of ``input``'s elements: ``bins`` equal bins over ``range``
    (the data's min and max by default), or the bins between the edges in a 1-D tensor ``bins``.
    ``weight`` gives each element's contribution (1 by default); ``density`` divides by the
    total and the bin widths so the histogram integrates to 1."""
    if isinstance(bins, (list, tuple)):
        raise TypeError(f"histogram(): argument 'bins' must be int or Tensor, not {type(bins).__name__}")
    if isinstance(bins, Tensor) and range is not None:
        raise TypeError("histogram(): range cannot be given together with a bins tensor")
    if input.dtype not in (backend.float32, backend.float64):
        raise NotImplementedError(f"\"histogramdd\" not implemented for '{_type_name(input)}'")
    x = input.reshape((-1, 1))
    if isinstance(bins, Tensor) and bins._data.ndim == 1 and bins._data.shape[0] < 2:
        raise RuntimeError("torch.histogram(): bins must be > 0, but got 0 for dimension 0")
    hist, edges = _histogramdd(x, [bins], range, None if weight is None else weight.reshape((-1,)),
                               density)
    return write_out(return_types.histogram(hist, edges[0]), out)


@backend.on_input_device
def histogramdd(input: Tensor, bins: Any, *, range: Sequence[float] | None = None,
                weight: Tensor | None = None, density: bool = False, out: Any = None) -> Any:
    """``(hist, bin_edges)`` of the points in the rows of ``input`` (..., D): a D-dimensional
    histogram, ``bins`` an int, one int per dimension or one edge tensor per dimension;
    ``range`` is ``[min_0, max_0, min_1, max_1, ...]``."""
    hist, edges = _histogramdd(input, bins, range, weight, density)
    return write_out(return_types.histogramdd(hist, tuple(edges)), out)
