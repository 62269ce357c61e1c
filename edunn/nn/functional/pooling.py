"""Pooling (lesson 10): max, average, power-average, fractional and adaptive pooling, and
max-unpooling -- one N-dimensional implementation per family, shared by 1d, 2d and 3d.

Every pool reads windows of the spatial dims of an ``(N, C, *spatial)`` input (or ``(C, *spatial)``
unbatched).  A window is a product of one range per spatial dim, so a pool reduces one dim at a
time; along a dim, the elements at kernel offset ``j`` of *every* window form a strided view of
the (padded) input, ``x[..., o s + j d, ...]`` for all outputs ``o`` (:func:`_take`).  A pool is
thus a loop over the few kernel offsets, each step a whole-array operation on a view: no copy of
the windows, no im2col matrix, never a Python loop over output positions.

Output size per spatial dim::

    L_out = floor((L + 2 p - d (k - 1) - 1) / s) + 1          (ceil instead of floor in ceil_mode,
                                                             and the last window must start
                                                             inside the input or the left padding)

* Max pools find the winner of each window and keep its position (``indices``, flat over the
  spatial dims of each plane, exactly PyTorch's).  ``dy/dx`` is 1 at the winner and 0 elsewhere,
  so the backward *scatters* the output gradient to the winners (:class:`_PutPlanes`), and the
  backward of that scatter is a *gather* (:class:`_TakePlanes`): double backward works.  When
  the windows tile the input (stride = kernel, no padding, no dilation: ``MaxPool2d(2)``), each
  window offset is one strided view of the input, the winner is kept as its offset in the window,
  and the gradient is written through those views masked by the offset (:class:`_PutTiles`, whose
  backward is the masked read :class:`_TakeTiles`) -- no flat indices unless they are asked for.
* Average pools sum each window and divide by its count; the backward adds each output's gradient
  back over its window, one strided slice per kernel offset (:class:`_WindowSumT`).
* Adaptive and fractional pools, whose windows vary, are in :mod:`.adaptive_pooling` (re-exported
  here): their windows are index arrays, and they share the max pools' gradient.
* Max-unpooling (``max_unpool1d/2d/3d``: :class:`_PutPlanes` as a function) is in
  :mod:`.unpooling` (re-exported here).
"""
from __future__ import annotations

import itertools
import math
import operator
from typing import Any, Sequence

from ... import _kernels, backend
from ...autograd.function import Function
from ...tensor import Tensor
from ...ops._operands import _widened
from . import _pool_kernels
from ...amp import _policy as _autocast

__all__ = [
    "max_pool1d", "max_pool2d", "max_pool3d",
    "max_pool1d_with_indices", "max_pool2d_with_indices", "max_pool3d_with_indices",
    "max_unpool1d", "max_unpool2d", "max_unpool3d",
    "avg_pool1d", "avg_pool2d", "avg_pool3d",
    "fractional_max_pool2d", "fractional_max_pool3d",
    "fractional_max_pool2d_with_indices", "fractional_max_pool3d_with_indices",
    "lp_pool1d", "lp_pool2d", "lp_pool3d",
    "adaptive_max_pool1d", "adaptive_max_pool2d", "adaptive_max_pool3d",
    "adaptive_max_pool1d_with_indices", "adaptive_max_pool2d_with_indices",
    "adaptive_max_pool3d_with_indices",
    "adaptive_avg_pool1d", "adaptive_avg_pool2d", "adaptive_avg_pool3d",
]

_WORDS = {1: "one", 2: "two", 3: "three"}


# ------------------------------------------------------------------------------ the two index ops
class _TakePlanes(Function):
    """``y[n, c, j] = x[n, c, idx[n, c, j]]``, ``idx`` flat over the spatial dims of each plane.
    Max pools call it with the winners' ``values`` already found.  Backward: :class:`_PutPlanes`."""

    @staticmethod
    def forward(ctx, x, idx, values, unique):
        xd = x._data
        ctx.idx, ctx.plane, ctx.unique = idx, xd.shape[2:], unique
        if values is None:
            values = xd.reshape(-1)[_global(idx, math.prod(xd.shape[2:]))]
        return values

    @staticmethod
    def backward(ctx, grad):
        return _PutPlanes.apply(grad, ctx.idx, ctx.plane, ctx.unique), None, None, None


class _PutPlanes(Function):
    """``y = zeros(N, C, *plane); y[n, c, idx[n, c, j]] += g[n, c, j]`` -- the adjoint of
    :class:`_TakePlanes`.  When no position repeats (``unique``: non-overlapping windows, or
    max-unpooling, which *writes*), a plain indexed assignment does it; otherwise repeated
    positions add up.  Backward: :class:`_TakePlanes`."""

    @staticmethod
    def forward(ctx, g, idx, plane, unique):
        gd = g._data
        ctx.idx = idx
        size = math.prod(plane)
        out = backend.array_module(gd).zeros(idx.shape[0] * idx.shape[1] * size, gd.dtype)
        where = _global(idx, size)
        if unique:
            out[where] = gd
        else:
            backend.scatter_add_at(out, where.reshape(-1), gd.reshape(-1))
        return out.reshape(idx.shape[:2] + tuple(plane))

    @staticmethod
    def backward(ctx, grad):
        return _TakePlanes.apply(grad, ctx.idx, None, True), None, None, None


def _global(idx: Any, size: int) -> Any:
    """Plane-local flat indices ``(N, C, ...)`` made global over the flattened ``(N, C, plane)``."""
    xp = backend.array_module(idx)
    n, c = idx.shape[:2]
    return (xp.arange(n * c) * size).reshape((n, c) + (1,) * (idx.ndim - 2)) + idx


class _WindowSum(Function):
    """``y[..., o] = sum_j x[..., o s + j]`` over each window of ``x`` (already padded so that every
    window fits).  A window is a product of ranges, so the sum runs one spatial dim at a time (last
    first), one strided view per kernel offset.  Backward: :class:`_WindowSumT`."""

    @staticmethod
    def forward(ctx, x, k, s, out):
        y = _widened(x._data)   # float16/bfloat16 windows are summed in float32, as PyTorch's
        ctx.args = (y.shape, k, s, out)
        for i in reversed(range(len(k))):
            total = _take(y, i, 0, 1, s[i], out[i]).copy()
            for j in range(1, k[i]):
                total += _take(y, i, j, 1, s[i], out[i])
            y = total
        return y.astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return _WindowSumT.apply(grad, *ctx.args), None, None, None


class _WindowSumT(Function):
    """The adjoint of :class:`_WindowSum` (col2im): each output's gradient added back over its
    window, dim by dim, one strided slice per kernel offset -- never a loop over output positions."""

    @staticmethod
    def forward(ctx, g, shape, k, s, out):
        y = g._data
        xp = backend.array_module(y)
        ctx.args = (k, s, out)
        for i in range(len(k)):
            full = xp.zeros(y.shape[:2 + i] + (shape[2 + i],) + y.shape[3 + i:], y.dtype)
            for j in range(k[i]):
                _take(full, i, j, 1, s[i], out[i])[...] += y
            y = full
        return y

    @staticmethod
    def backward(ctx, grad):
        return _WindowSum.apply(grad, *ctx.args), None, None, None, None


def _take(a: Any, i: int, j: int, d: int, s: int, out: int) -> Any:
    """Along spatial dim ``i``: the elements at kernel offset ``j`` of every window, ``a[..., o s + j d, ...]``."""
    return a[(slice(None),) * (2 + i) + (slice(j * d, j * d + (out - 1) * s + 1, s),)]


def _window_slice(offset: tuple, d: tuple, s: tuple, out: Sequence[int]) -> tuple:
    """The elements at kernel ``offset`` of every window: ``x[..., o s + offset d]`` for all ``o``."""
    return (Ellipsis,) + tuple(slice(j * dd, j * dd + (o - 1) * ss + 1, ss) for j, dd, ss, o in zip(offset, d, s, out))


# ------------------------------------------------------------------------------ argument checks
def _ntuple(value: Any, n: int, name: str, who: str) -> tuple:
    """``3 -> (3, 3)``; a one-element sequence is repeated; anything else must have ``n`` ints."""
    if isinstance(value, Tensor):
        value = value.tolist()
    if isinstance(value, (list, tuple)):
        if len(value) == 1:
            value = tuple(value) * n
        if len(value) != n:
            raise RuntimeError(f"{who}: {name} must either be a single int, or a tuple of {_WORDS[n]} ints")
        items = tuple(value)
    else:
        items = (value,) * n
    try:
        return tuple(operator.index(v) for v in items)
    except TypeError:
        bad = next(v for v in items if not hasattr(v, "__index__"))
        position = {"kernel_size": 2, "stride": 3, "padding": 4, "dilation": 5, "output_size": 3}[name]
        raise TypeError(f"{who}(): argument '{name}' (position {position}) must be tuple of ints, not "
                        f"{type(bad).__name__}") from None


def _stride(stride: Any, k: tuple, n: int, who: str) -> tuple:
    if stride is None or (isinstance(stride, (list, tuple)) and len(stride) == 0):
        return k
    return _ntuple(stride, n, "stride", who)


def _planes(input: Any, n: int, who: str, message: str | None = None) -> tuple[Tensor, bool]:
    """The input as ``(N, C, *spatial)`` and whether it came batched."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if input.dim() not in (n + 1, n + 2):
        raise RuntimeError(message or f"{who}: Expected {n + 1}D or {n + 2}D (batch mode) tensor with optional "
                           f"0 dim batch size for input, but got:{list(input.shape)}")
    batched = input.dim() == n + 2
    return (input if batched else input.unsqueeze(0)), batched


def _unbatch(t: Tensor, batched: bool) -> Tensor:
    return t if batched else t.squeeze(0)


def _out_size(L: int, k: int, s: int, p: int, d: int, ceil_mode: bool) -> int:
    """PyTorch's ``pooling_output_shape``: in ceil mode, the last window must start inside the
    input or the left padding."""
    out = (L + 2 * p - d * (k - 1) - 1 + (s - 1 if ceil_mode else 0)) // s + 1
    if ceil_mode and (out - 1) * s >= L + p:
        out -= 1
    return out


def _check_window(x: Tensor, k: tuple, s: tuple, p: tuple, d: tuple, ceil_mode: bool, who: str) -> list:
    one_d = who == "max_pool1d"
    if any(v <= 0 for v in k):
        raise RuntimeError(f"max_pool1d() kernel_size must be greater than zero, but got {k[0]}" if one_d
                           else "stride should not be zero" if 0 in k else
                           f"kernel size should be greater than zero, but got {list(k)}")
    if any(v <= 0 for v in s):
        raise RuntimeError(f"max_pool1d() stride must be greater than zero, but got {s[0]}" if one_d
                           else "stride should not be zero" if 0 in s else
                           f"stride should be greater than zero, but got stride: {list(s)}")
    if any(v <= 0 for v in d):
        raise RuntimeError(f"dilation should be greater than zero, but got dilation: {list(d)}")
    if any(v < 0 for v in p):
        raise RuntimeError(f"pad must be non-negative, but got pad: {min(p)}")
    for kk, pp, dd in zip(k, p, d):
        if one_d and pp > kk // 2:
            raise RuntimeError(f"max_pool1d() padding should be at most half of kernel size, but got "
                               f"padding={pp} and kernel_size={kk}")
        if pp > ((kk - 1) * dd + 1) // 2:
            raise RuntimeError(f"pad should be at most half of effective kernel size, but got pad={pp}, "
                               f"kernel_size={kk} and dilation={dd}")
        if pp > kk // 2:
            raise RuntimeError(f"pad should be smaller than or equal to half of kernel size, but got "
                               f"padding={list(p)}, kernel_size={list(k)}")
    sp = x.shape[2:]
    out = [_out_size(L, kk, ss, pp, dd, ceil_mode) for L, kk, ss, pp, dd in zip(sp, k, s, p, d)]
    if any(o <= 0 for o in out):
        if one_d:
            raise RuntimeError(f"max_pool1d() Invalid computed output size: {out[0]}")
        c = x.shape[1]
        raise RuntimeError(f"Given input size: ({'x'.join(str(v) for v in (c,) + tuple(sp))}). Calculated "
                           f"output size: ({'x'.join(str(v) for v in [c] + out)}). Output size is too small")
    return out


# ------------------------------------------------------------------------------ max pooling
def _max_windows(xd: Any, k: tuple, s: tuple, p: tuple, d: tuple, out: list) -> tuple:
    """Winners of every window: ``(flat index into each plane, value)``, shapes ``(N, C, *out)``."""
    xp = backend.array_module(xd)
    n, sp = len(k), xd.shape[2:]
    # -inf padding on the left, and on the right as far as the last (ceil-mode) window reaches
    right = [max(0, (o - 1) * ss + dd * (kk - 1) + 1 - pp - L) for o, ss, dd, kk, pp, L in zip(out, s, d, k, p, sp)]
    if any(p) or any(right):
        padded = xp.full(xd.shape[:2] + tuple(pp + L + r for pp, L, r in zip(p, sp, right)),
                         -xp.inf if backend.dtype_of(xd).is_floating_point else xp.iinfo(xd.dtype).min, xd.dtype)
        padded[(Ellipsis,) + tuple(slice(pp, pp + L) for pp, L in zip(p, sp))] = xd
    else:
        padded = xd
    # The window is a product of per-dim ranges, so its maximum is taken one spatial dim at a
    # time, last dim first: within each row the first maximum, then the first row holding the
    # largest -- PyTorch's row-major "first maximum wins".  Each step is a loop over that dim's
    # kernel offsets, whole-array operations on strided views.  (Selections are written as
    # arithmetic on 0/1 masks: NumPy's ``where`` is many times slower here.)
    i8, i64 = backend.int8.np, backend.int64.np.type
    best, arg = padded, {}
    for i in reversed(range(n)):
        def take(a: Any, j: int, i: int = i) -> Any:
            return _take(a, i, j, d[i], s[i], out[i])
        step = take(best, 0).copy()
        chosen = {m: take(a, 0).copy() for m, a in arg.items()}
        code = (backend.int8 if k[i] < 128 else backend.int32).np.type
        arg[i] = xp.zeros(step.shape, code)
        for j in range(1, k[i]):
            v = take(best, j)
            better = (v > step).view(i8)
            xp.maximum(step, v, out=step)
            xp.maximum(arg[i], better * code(j), out=arg[i])  # offsets only grow: max selects
            for m, c in chosen.items():
                c += better * (take(arg[m], j) - c)
        best = step
        arg.update(chosen)
    plane = [math.prod(sp[i + 1:]) for i in range(n)]
    offset = arg[n - 1].astype(backend.int64.np) * i64(d[n - 1])
    for i in range(n - 1):
        offset += arg[i] * i64(d[i] * plane[i])
    if backend.dtype_of(xd).is_floating_point and xp.isnan(best).any():  # PyTorch keeps the last NaN of a window
        for off in itertools.product(*(range(kk) for kk in k)):
            v = padded[_window_slice(off, d, s, out)]
            offset = xp.where(xp.isnan(v), sum(j * dd * pl for j, dd, pl in zip(off, d, plane)), offset)
    index = 0  # where each window starts, flat over the plane
    for i in range(n):
        index = index * sp[i] + (xp.arange(out[i]) * s[i] - p[i]).reshape((-1,) + (1,) * (n - 1 - i))
    offset += index
    return offset, best


# Non-overlapping windows (stride = kernel, no padding, no dilation: the usual MaxPool2d(2)) tile
# the input, so each window's offset j is one strided view of the input itself.  The winner is
# kept as its offset in the window (a small integer code); the backward writes the gradient
# through the same views, masked by ``code == j``, instead of scattering by flat index.
def _tiles(a: Any, k: tuple, out: Sequence[int]) -> Any:
    """The view ``(N, C, o_1, k_1, o_2, k_2, ...)`` of the windows of ``a`` (the remainder cut off)."""
    st = a.strides
    return backend.array_module(a).lib.stride_tricks.as_strided(
        a, a.shape[:2] + tuple(v for o, kk in zip(out, k) for v in (o, kk)),
        st[:2] + tuple(v for s, kk in zip(st[2:], k) for v in (s * kk, s)))


def _tile_offsets(tiles: Any, k: tuple) -> Any:
    """``(offset j, view of every window's element at offset j)`` in row-major window order."""
    for j, off in enumerate(itertools.product(*(range(kk) for kk in k))):
        yield j, tiles[(slice(None),) * 2 + tuple(v for o in off for v in (slice(None), o))]


def _max_tiles(xd: Any, k: tuple, out: Sequence[int]) -> Any:
    """``(code, values)``: each window's first maximum and its row-major offset in the window,
    or None when a window holds a NaN (the general path then applies PyTorch's NaN rule)."""
    xp = backend.array_module(xd)
    views = _tile_offsets(_tiles(xd, k, out), k)
    code_type = (backend.int8 if math.prod(k) < 128 else backend.int32).np.type
    if _kernels.fusable(xd) and math.prod(k) <= _pool_kernels.MAX_OFFSETS:  # a GPU: one launch
        views = tuple(v for _, v in views)
        best, code = xp.empty(views[0].shape, xd.dtype), xp.empty(views[0].shape, code_type)
        _kernels.launch(_pool_kernels.tile_max_kernel(len(views), code.dtype.name), views, {}, (best, code))
        return code, best
    best = next(views)[1].copy()
    code = xp.zeros(best.shape, code_type)
    i8 = backend.int8.np
    # On a GPU, asking whether a NaN occurred would wait for the device: there a NaN simply
    # wins its window (the last one, as PyTorch's kernels: ``val > max || isnan(val)``).
    nan_wins = backend.is_cupy_array(xd) and backend.dtype_of(xd).is_floating_point
    for j, v in views:
        better = ((v > best) | xp.isnan(v) if nan_wins else v > best).view(i8)
        xp.maximum(best, v, out=best)
        xp.maximum(code, better * code_type(j), out=code)  # offsets only grow: max selects
    if not nan_wins and backend.dtype_of(xd).is_floating_point and xp.isnan(best).any():
        return None
    return code, best


def _tile_indices(code: Any, k: tuple, sp: Sequence[int]) -> Any:
    """Winners' offsets within their windows -> flat indices over each plane (what PyTorch returns)."""
    xp = backend.array_module(code)
    n = len(k)
    rest = code.astype(backend.int64.np)
    flat = 0
    for i in range(n):
        inner = math.prod(k[i + 1:])
        row, rest = rest // inner, rest % inner
        start = (xp.arange(code.shape[2 + i]) * k[i]).reshape((-1,) + (1,) * (n - 1 - i))
        flat = flat * sp[i] + start + row
    return flat


class _TakeTiles(Function):
    """``y = x`` at each window's winner, the windows tiling ``x``.  Backward: :class:`_PutTiles`."""

    @staticmethod
    def forward(ctx, x, code, k, values):
        ctx.code, ctx.k, ctx.shape = code, k, x._data.shape
        if values is None:
            xd = x._data
            xp = backend.array_module(xd)
            values = xp.zeros(code.shape, xd.dtype)
            for j, v in _tile_offsets(_tiles(xd, k, code.shape[2:]), k):
                xp.copyto(values, v, where=code == j)
        return values

    @staticmethod
    def backward(ctx, grad):
        return _PutTiles.apply(grad, ctx.code, ctx.k, ctx.shape), None, None, None


class _PutTiles(Function):
    """``y = zeros(shape)``, with ``g`` written at each window's winner: one masked strided write
    per window offset, no scatter.  Backward: :class:`_TakeTiles`."""

    @staticmethod
    def forward(ctx, g, code, k, shape):
        gd = g._data
        ctx.code, ctx.k = code, k
        xp = backend.array_module(gd)
        exact = all(o * kk == L for o, kk, L in zip(code.shape[2:], k, shape[2:]))
        out = (xp.empty if exact else xp.zeros)(shape, gd.dtype)   # every entry is written when tiled exactly
        tiles = _tiles(out, k, code.shape[2:])
        if _kernels.fusable(gd, code):   # a GPU: one launch writes every window
            spread = code.shape[:2] + tuple(v for o in code.shape[2:] for v in (o, 1))
            steps = {f"s{d}": math.prod(tiles.shape[4 + 2 * d:]) for d in range(len(k))}
            _kernels.launch(_pool_kernels.tile_put_kernel(k, code.dtype.name),
                            (gd.reshape(spread), code.reshape(spread)), steps, (tiles,))
            return out
        bits = backend.as_bits(gd)   # g's bits times the 0/1 mask: g at the winner, +0 elsewhere
        for j, v in _tile_offsets(tiles, k):
            xp.multiply(bits, code == j, out=backend.as_bits(v))
        return out

    @staticmethod
    def backward(ctx, grad):
        return _TakeTiles.apply(grad, ctx.code, ctx.k, None), None, None, None


@backend.on_input_device
def _max_pool(input: Tensor, kernel_size: Any, stride: Any, padding: Any, dilation: Any, ceil_mode: bool,
              n: int, who: str, indices: bool = True) -> tuple[Tensor, Tensor | None]:
    k = _ntuple(kernel_size, n, "kernel_size", who)
    s, p, d = _stride(stride, k, n, who), _ntuple(padding, n, "padding", who), _ntuple(dilation, n, "dilation", who)
    msg = None if n == 1 else f"non-empty {n + 1}D or {n + 2}D (batch mode) tensor expected for input"
    x, batched = _planes(input, n, who, msg)
    out = _check_window(x, k, s, p, d, ceil_mode, who)
    if s == k and not any(p) and all(v == 1 for v in d) and all(o * kk <= L for o, kk, L in
                                                                 zip(out, k, x.shape[2:])):
        found = _max_tiles(x._data, k, out)
        if found is not None:
            code, values = found
            y = _TakeTiles.apply(x, code, k, values)
            idx = Tensor._make(_tile_indices(code, k, x.shape[2:])) if indices else None
            return _unbatch(y, batched), (_unbatch(idx, batched) if indices else None)
    idx, values = _max_windows(x._data, k, s, p, d, out)
    # windows that cannot overlap have distinct winners: the backward is a plain assignment
    unique = all(ss >= (kk - 1) * dd + 1 for ss, kk, dd in zip(s, k, d))
    y = _TakePlanes.apply(x, idx, values, unique)
    return _unbatch(y, batched), _unbatch(Tensor._make(idx), batched)


def _max_pool_doc(n: int) -> str:
    return (f"""Max pooling over {n} spatial dim(s) (``nn.MaxPool{n}d``, lesson 10).

    ``out(N_i, C_j, o) = max_m input(N_i, C_j, s*o - p + d*m)`` over the kernel offsets ``m``,
    with implicit ``-inf`` padding ``p <= effective kernel / 2``.  Input ``(N, C, *S)`` or
    ``(C, *S)`` with {n} spatial dim(s); with ``return_indices`` also the argmax, flat over each
    plane's spatial dims (what ``max_unpool{n}d`` takes).  Gradient: to the winners only.""")


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> tuple:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 1, "max_pool1d")


def max_pool2d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> tuple:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 2, "max_pool2d")


def max_pool3d_with_indices(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False, return_indices: bool = False) -> tuple:
    return _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 3, "max_pool3d")


def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    out = _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 1, "max_pool1d", return_indices)
    return out if return_indices else out[0]


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    out = _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 2, "max_pool2d", return_indices)
    return out if return_indices else out[0]


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False, return_indices: bool = False) -> Any:
    if _autocast.active and "max_pool3d" in _autocast.listed: return _autocast.call("max_pool3d", max_pool3d, input, kernel_size, stride, padding, dilation, ceil_mode, return_indices)  # noqa: E501,E701
    out = _max_pool(input, kernel_size, stride, padding, dilation, ceil_mode, 3, "max_pool3d", return_indices)
    return out if return_indices else out[0]


for _n, _f in ((1, max_pool1d), (2, max_pool2d), (3, max_pool3d), (1, max_pool1d_with_indices),
               (2, max_pool2d_with_indices), (3, max_pool3d_with_indices)):
    _f.__doc__ = _max_pool_doc(_n)


# ------------------------------------------------------------------------------ average pooling
@backend.on_input_device
def _avg_pool(input: Tensor, kernel_size: Any, stride: Any, padding: Any, ceil_mode: bool,
              count_include_pad: bool, divisor_override: Any, n: int) -> Tensor:
    who = f"avg_pool{n}d"
    k = _ntuple(kernel_size, n, "kernel_size", who)
    s, p = _stride(stride, k, n, who), _ntuple(padding, n, "padding", who)
    x, batched = _planes(input, n, who, f"Expected {n + 1} to {n + 2} dimensions, but got {input.dim()}-dimensional "
                                        f"tensor for argument #1 'self' (while checking arguments for {who})"
                         if isinstance(input, Tensor) else None)
    if divisor_override is not None and divisor_override == 0:
        raise RuntimeError("divisor must be not zero")
    out = _check_window(x, k, s, p, (1,) * n, ceil_mode, who)
    sp = x.shape[2:]
    right = [max(0, (o - 1) * ss + kk - pp - L) for o, ss, kk, pp, L in zip(out, s, k, p, sp)]
    from ...ops.padding import pad
    if any(p) or any(right):
        x = pad(x, [w for i in reversed(range(n)) for w in (p[i], p[i] + right[i])])
    total = _WindowSum.apply(x, k, s, out)
    xp = backend.array_module(total._data)
    if divisor_override is not None:
        divisor = xp.full(tuple(out), divisor_override)
    else:  # PyTorch's count: the window clipped to the padded input (or to the input itself)
        divisor = xp.ones(())
        for L, o, kk, ss, pp in zip(sp, out, k, s, p):
            start = xp.arange(o) * ss - pp
            end = xp.minimum(start + kk, L + pp)
            if not count_include_pad:
                start, end = xp.maximum(start, 0), xp.minimum(end, L)
            divisor = divisor[..., None] * xp.maximum(end - start, 1)
    if total._data.dtype.kind in "iub":
        from ...ops.binary import div
        y = div(total, Tensor._make(divisor.astype(total._data.dtype)), rounding_mode="trunc")
    else:
        y = total / Tensor._make(divisor.astype(total._data.dtype))
    return _unbatch(y, batched)


def avg_pool1d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True) -> Tensor:
    """Average pooling: ``out(o) = sum_m x(s o - p + m) / count``, count being the window clipped
    to the padded input (``count_include_pad``) or to the input, or ``divisor_override``."""
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, None, 1)


def avg_pool2d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Any = None) -> Tensor:
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 2)


def avg_pool3d(input: Tensor, kernel_size: Any, stride: Any = None, padding: Any = 0, ceil_mode: bool = False,
               count_include_pad: bool = True, divisor_override: Any = None) -> Tensor:
    if _autocast.active and "avg_pool3d" in _autocast.listed: return _autocast.call("avg_pool3d", avg_pool3d, input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override)  # noqa: E501,E701
    return _avg_pool(input, kernel_size, stride, padding, ceil_mode, count_include_pad, divisor_override, 3)


# ------------------------------------------------------------------------------ power-average pooling
def _lp_pool(input: Tensor, norm_type: Any, kernel_size: Any, stride: Any, ceil_mode: bool, n: int) -> Tensor:
    pools = {1: (max_pool1d, avg_pool1d), 2: (max_pool2d, avg_pool2d), 3: (max_pool3d, avg_pool3d)}
    max_pool, avg_pool = pools[n]
    if isinstance(norm_type, (int, float)) and math.isinf(norm_type):
        y = max_pool(input.abs() if norm_type > 0 else -input.abs(), kernel_size, stride, 0, 1, ceil_mode)
        return y if norm_type > 0 else -y
    k = _ntuple(kernel_size, n, "kernel_size", f"lp_pool{n}d")
    out = avg_pool(input.pow(norm_type), kernel_size, stride, 0, ceil_mode)
    from ...ops.elementwise import relu
    return (out.sign() * relu(out.abs())).mul(math.prod(k)).pow(1.0 / norm_type)


def lp_pool1d(input: Tensor, norm_type: Any, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    """Power-average pooling: ``out = (sum over the window of x^p)^(1/p)``, computed as PyTorch
    does from ``avg_pool1d(x^p) * k``; ``p = inf`` is max pooling of ``|x|``.  Lesson 10."""
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 1)


def lp_pool2d(input: Tensor, norm_type: Any, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 2)


def lp_pool3d(input: Tensor, norm_type: Any, kernel_size: Any, stride: Any = None, ceil_mode: bool = False) -> Tensor:
    return _lp_pool(input, norm_type, kernel_size, stride, ceil_mode, 3)


avg_pool2d.__doc__ = avg_pool3d.__doc__ = avg_pool1d.__doc__
lp_pool2d.__doc__ = lp_pool3d.__doc__ = lp_pool1d.__doc__


# Adaptive and fractional pools (windows of varying size, as index arrays) live next door.
from .adaptive_pooling import *  # noqa: E402,F401,F403

# Max-unpooling (the max pools' gradient scatter, as a function) lives next door.
from .unpooling import *  # noqa: E402,F401,F403
