"""Adaptive and fractional pooling (lesson 10): pools whose windows vary in size or position.

Split from :mod:`edunn.nn.functional.pooling` (which re-exports these names) to keep files short.
An adaptive pool fixes the *output* size and derives the windows, PyTorch's
``[floor(i L / out), ceil((i + 1) L / out))`` per dim; a fractional pool (Graham, 2014) places
windows of a fixed size at pseudo-random starts.  Either way the windows are given per spatial dim
as index arrays, the candidates are gathered in one indexing operation, and the winner's flat
position goes to the same :class:`~edunn.nn.functional.pooling._TakePlanes` as max pooling, so the
gradient (a scatter to the winners) and its gradient (a gather) are shared.  The average of an
adaptive window is separable: one small matrix per dim.
"""
from __future__ import annotations

import math
import operator
from typing import Any

from ... import backend
from ...ops.joining import cat
from ...tensor import Tensor
from .pooling import _TakePlanes, _ntuple, _planes, _unbatch
from ...amp import _policy as _autocast

__all__ = [
    "fractional_max_pool2d", "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
]


# ------------------------------------------------------------------------------ windows as index arrays
def _max_indexed(xd: Any, pos: list) -> tuple:
    """Winners of windows given per spatial dim as positions ``pos[i]`` of shape
    ``(N or 1, C or 1, out_i, k_i)`` (adaptive and fractional pools): ``(flat index, value)``."""
    xp = backend.array_module(xd)
    n, sp, (nb, c) = len(pos), xd.shape[2:], xd.shape[:2]
    out, k = [q.shape[2] for q in pos], [q.shape[3] for q in pos]
    if 0 in out or nb * c == 0:
        shape = (nb, c) + tuple(out)
        return xp.zeros(shape, backend.int64.np), xp.zeros(shape, xd.dtype)
    flat_pos = 0
    for i, q in enumerate(pos):  # row-major flat index of every (window, offset), broadcast
        shape = [q.shape[0], q.shape[1]] + [1] * (2 * n)
        shape[2 + i], shape[2 + n + i] = out[i], k[i]
        flat_pos = flat_pos * sp[i] + q.reshape(shape)
    flat_pos = xp.broadcast_to(flat_pos, (nb, c) + tuple(out) + tuple(k)).reshape((nb, c) + tuple(out) + (-1,))
    planes = xd.reshape(nb, c, math.prod(sp))
    vals = planes[xp.arange(nb)[:, None, None], xp.arange(c)[None, :, None], flat_pos.reshape(nb, c, -1)]
    vals = vals.reshape(flat_pos.shape)
    arg = vals.argmax(-1)[..., None]
    if backend.dtype_of(xd).is_floating_point and xp.isnan(vals).any():  # PyTorch keeps the last NaN of a window
        nan = xp.isnan(vals)
        arg = xp.where(nan.any(-1), nan.shape[-1] - 1 - nan[..., ::-1].argmax(-1), arg[..., 0])[..., None]
    return xp.take_along_axis(flat_pos, arg, -1)[..., 0], xp.take_along_axis(vals, arg, -1)[..., 0]


def _adaptive_bounds(xp: Any, L: int, o: int) -> tuple:
    """PyTorch's adaptive windows: ``[floor(i L / o), ceil((i + 1) L / o))``."""
    i = xp.arange(o)
    return (i * L) // o, ((i + 1) * L + o - 1) // o


def _adaptive_size(output_size: Any, x: Tensor, n: int, who: str) -> list:
    if n == 1 and (output_size is None or (isinstance(output_size, (list, tuple)) and None in output_size)):
        raise TypeError(f"{who}(): argument 'output_size' (position 2) must be tuple of ints, not NoneType")
    if isinstance(output_size, (list, tuple)):
        if len(output_size) != n:
            raise RuntimeError(f"{who}() argument 'output_size' should contain one int (got {len(output_size)})"
                               if n == 1 else f"{who}: output_size must be {n}")
        size = list(output_size)
    else:
        size = [output_size] * n
    size = [x.shape[2 + i] if v is None else operator.index(v) for i, v in enumerate(size)]
    if any(v < 0 for v in size):
        raise RuntimeError(f"{who}: elements of output_size must be greater than or equal to 0 but received "
                           f"{{{', '.join(str(v) for v in size)}}}")
    for i, L in enumerate(x.shape[2:]):
        if L == 0:
            raise RuntimeError(f"{who}(): Expected input to have non-zero size for non-batch dimensions, but input "
                               f"has sizes {list(x.shape)} with dimension {2 + i} being empty")
    return size


def _adaptive_input(input: Any, n: int, who: str) -> tuple[Tensor, bool]:
    msg = None
    if isinstance(input, Tensor) and n == 1:
        msg = (f"Expected 2 to 3 dimensions, but got {input.dim()}-dimensional tensor for argument #1 'self' "
               f"(while checking arguments for {who})")
    elif isinstance(input, Tensor):  # PyTorch's two messages differ by a colon
        msg = f"{who}(): Expected {n + 1}D or {n + 2}D tensor, but got{'' if 'avg' in who else ':'} {list(input.shape)}"
    return _planes(input, n, who, msg)


@backend.on_input_device
def _adaptive_max_pool(input: Tensor, output_size: Any, n: int) -> tuple[Tensor, Tensor]:
    who = f"adaptive_max_pool{n}d"
    x, batched = _adaptive_input(input, n, who)
    size = _adaptive_size(output_size, x, n, who)
    xp = backend.array_module(x._data)
    pos = []
    for L, o in zip(x.shape[2:], size):
        start, end = _adaptive_bounds(xp, L, o)
        width = int((end - start).max()) if o else 1
        # shorter windows repeat their last element: it cannot change the max or the first argmax
        pos.append(xp.minimum(start[:, None] + xp.arange(width), end[:, None] - 1)[None, None])
    idx, values = _max_indexed(x._data, pos)
    y = _TakePlanes.apply(x, idx, values, False)
    return _unbatch(y, batched), _unbatch(Tensor._make(idx), batched)


def adaptive_max_pool1d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> tuple:
    """Max over PyTorch's adaptive windows ``[floor(i L/out), ceil((i+1) L/out))``, so that the
    output has ``output_size`` positions (``None`` keeps a dim); values and flat indices.  Lesson 10."""
    return _adaptive_max_pool(input, output_size, 1)


def adaptive_max_pool2d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> tuple:
    return _adaptive_max_pool(input, output_size, 2)


def adaptive_max_pool3d_with_indices(input: Tensor, output_size: Any, return_indices: bool = False) -> tuple:
    return _adaptive_max_pool(input, output_size, 3)


def adaptive_max_pool1d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    out = _adaptive_max_pool(input, output_size, 1)
    return out if return_indices else out[0]


def adaptive_max_pool2d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    out = _adaptive_max_pool(input, output_size, 2)
    return out if return_indices else out[0]


def adaptive_max_pool3d(input: Tensor, output_size: Any, return_indices: bool = False) -> Any:
    if _autocast.active and "adaptive_max_pool3d" in _autocast.listed: return _autocast.call("adaptive_max_pool3d", adaptive_max_pool3d, input, output_size, return_indices)  # noqa: E501,E701
    out = _adaptive_max_pool(input, output_size, 3)
    return out if return_indices else out[0]


for _f in (adaptive_max_pool2d_with_indices, adaptive_max_pool3d_with_indices, adaptive_max_pool1d,
           adaptive_max_pool2d, adaptive_max_pool3d):
    _f.__doc__ = adaptive_max_pool1d_with_indices.__doc__


def _adaptive_avg_pool(input: Tensor, output_size: Any, n: int) -> Tensor:
    """The average over an adaptive window is separable: one spatial dim at a time, each output
    is the mean of its window's slice.  (Not a product with an averaging matrix: its zeros would
    turn one NaN or infinity anywhere into NaN everywhere, ``0 * inf``, where PyTorch keeps it
    in its window -- in the output and in the gradient.)"""
    who = f"adaptive_avg_pool{n}d"
    x, batched = _adaptive_input(input, n, who)
    size = _adaptive_size(output_size, x, n, who)
    if not backend.dtype_of(x._data).is_floating_point:
        raise NotImplementedError(f'"{who}" not implemented for \'{x.dtype.scalar_name}\'')
    low = x.dtype in (backend.float16, backend.bfloat16)  # accumulate in float32, as PyTorch
    y = x.float() if low else x
    for i, (L, o) in enumerate(zip(x.shape[2:], size)):
        if o == L:  # every window is one element
            continue
        if o == 1:  # one window: the whole dim
            y = y.mean(2 + i, keepdim=True)
            continue
        if o == 0:  # no window: an empty dim
            y = y.narrow(2 + i, 0, 0)
            continue
        start, end = _adaptive_bounds(backend.numpy, L, o)   # on the host: Python ints
        y = cat([y.narrow(2 + i, int(s0), int(e0 - s0)).mean(2 + i, keepdim=True)
                 for s0, e0 in zip(start, end)], 2 + i)
    return _unbatch(y.to(x.dtype) if low else y if y is not x else x.clone(), batched)


def adaptive_avg_pool1d(input: Tensor, output_size: Any) -> Tensor:
    """Average over PyTorch's adaptive windows ``[floor(i L/out), ceil((i+1) L/out))``; ``None``
    keeps a dim, and ``1`` everywhere is global average pooling.  Lesson 10."""
    return _adaptive_avg_pool(input, output_size, 1)


def adaptive_avg_pool2d(input: Tensor, output_size: Any) -> Tensor:
    return _adaptive_avg_pool(input, output_size, 2)


def adaptive_avg_pool3d(input: Tensor, output_size: Any) -> Tensor:
    if _autocast.active and "adaptive_avg_pool3d" in _autocast.listed: return _autocast.call("adaptive_avg_pool3d", adaptive_avg_pool3d, input, output_size)  # noqa: E501,E701
    return _adaptive_avg_pool(input, output_size, 3)


adaptive_avg_pool2d.__doc__ = adaptive_avg_pool3d.__doc__ = adaptive_avg_pool1d.__doc__


# ------------------------------------------------------------------------------ fractional max pooling
_FRACTION_NAMES = {2: ("height", "width"), 3: ("time", "height", "width")}


@backend.on_input_device
def _fractional_max_pool(input: Tensor, kernel_size: Any, output_size: Any, output_ratio: Any,
                         _random_samples: Any, n: int) -> tuple[Tensor, Tensor]:
    who = f"fractional_max_pool{n}d"
    k = _ntuple(kernel_size, n, "kernel_size", who)
    x, batched = _planes(input, n, who, f"{who}(): Expected {n + 1}D or {n + 2}D tensor, but got: "
                         f"{list(input.shape) if isinstance(input, Tensor) else input}")
    if output_size is None and output_ratio is None:
        raise ValueError(f"{who} requires specifying either an output_size or an output_ratio")
    sp = x.shape[2:]
    if output_size is None:
        if isinstance(output_ratio, (list, tuple)) and len(output_ratio) > n and n == 2:
            raise ValueError(f"{who} requires output_ratio to either be a single Int or tuple of Ints.")
        ratio = tuple(output_ratio) * (n if len(tuple(output_ratio)) == 1 else 1) \
            if isinstance(output_ratio, (list, tuple)) else (output_ratio,) * n
        size = [int(L * r) for L, r in zip(sp, ratio)]
    else:
        size = list(_ntuple(output_size, n, "output_size", who))
    for name, L, kk, o in zip(_FRACTION_NAMES[n], sp, k, size):
        if o + kk - 1 > L:
            raise RuntimeError(f"{who}{'' if n == 2 else '_out'}(): pool {name} {kk} too large relative to "
                               f"input {name} {L}")
    xd = x._data
    xp = backend.array_module(xd)
    if _random_samples is None:
        from ...ops.creation import rand
        _random_samples = rand(x.shape[0], x.shape[1], n, dtype=input.dtype, device=input.device)
    u = _random_samples._data if isinstance(_random_samples, Tensor) else xp.asarray(_random_samples)
    if u.ndim != 3 or u.shape[2] != n:
        raise RuntimeError(f"Expect _random_samples to be a 3D tensor of shape (N, C, {n}), got {list(u.shape)}")
    if u.shape[1] != x.shape[1]:
        raise RuntimeError("Expect _random_samples.size(1) equals to input channel size.")
    if u.shape[0] < x.shape[0]:
        raise RuntimeError(f"Expect _random_samples.size(0) no less then input batch size, got {u.shape[0]} "
                           f"samples for a batch of {x.shape[0]}")
    u = u[: x.shape[0]].astype(xd.dtype if backend.dtype_of(xd).is_floating_point else "float32")
    order = (1, 0) if n == 2 else (0, 1, 2)  # which sample drives which spatial dim
    pos = []
    for i, (L, kk, o) in enumerate(zip(sp, k, size)):
        ui = u[:, :, order[i], None]
        start = xp.full(ui.shape[:2] + (o,), L - kk, backend.int64.np)
        if o > 1:
            dt = ui.dtype.type
            alpha = dt(L - kk) / dt(o - 1)
            steps = xp.arange(o - 1, dtype=ui.dtype)
            start[..., :-1] = ((steps + ui) * alpha).astype(backend.int64.np) - (ui * alpha).astype(backend.int64.np)
        pos.append(start[..., None] + xp.arange(kk))
    idx, values = _max_indexed(xd, pos)
    y = _TakePlanes.apply(x, idx, values, False)
    return _unbatch(y, batched), _unbatch(Tensor._make(idx), batched)


def fractional_max_pool2d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Any = None) -> tuple:
    """Fractional max pooling (Graham, 2014): max over windows of size ``k`` starting at
    pseudo-random points.  Per plane and dim, with ``u`` the plane's random sample and
    ``alpha = (L - k) / (out - 1)``::

        start[i] = int((i + u) alpha) - int(u alpha)   (i < out - 1),   start[out - 1] = L - k

    computed in the input's dtype as PyTorch does, so the same ``_random_samples`` (shape
    ``(N, C, 2)``, ordered (W, H); ``(N, C, 3)`` ordered (T, H, W) in 3d) give the same windows.
    Without them, samples come from ``edunn.rand`` (reproducible under ``edunn.manual_seed``).
    Returns the values and flat indices.  Lesson 10."""
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)


def fractional_max_pool3d_with_indices(input: Tensor, kernel_size: Any, output_size: Any = None,
                                       output_ratio: Any = None, return_indices: bool = False,
                                       _random_samples: Any = None) -> tuple:
    return _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)


def fractional_max_pool2d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Any = None) -> Any:
    if _autocast.active and "fractional_max_pool2d" in _autocast.listed: return _autocast.call("fractional_max_pool2d", fractional_max_pool2d, input, kernel_size, output_size, output_ratio, return_indices, _random_samples)  # noqa: E501,E701
    out = _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 2)
    return out if return_indices else out[0]


def fractional_max_pool3d(input: Tensor, kernel_size: Any, output_size: Any = None, output_ratio: Any = None,
                          return_indices: bool = False, _random_samples: Any = None) -> Any:
    if _autocast.active and "fractional_max_pool3d" in _autocast.listed: return _autocast.call("fractional_max_pool3d", fractional_max_pool3d, input, kernel_size, output_size, output_ratio, return_indices, _random_samples)  # noqa: E501,E701
    out = _fractional_max_pool(input, kernel_size, output_size, output_ratio, _random_samples, 3)
    return out if return_indices else out[0]


for _f in (fractional_max_pool3d_with_indices, fractional_max_pool2d, fractional_max_pool3d):
    _f.__doc__ = fractional_max_pool2d_with_indices.__doc__
