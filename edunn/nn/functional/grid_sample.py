"""Spatial transformers (lesson 10): ``affine_grid`` and ``grid_sample``.

``grid_sample(input, grid)`` reads ``input`` (N, C, H, W) -- or (N, C, D, H, W) -- at arbitrary
real-valued positions: ``grid`` (N, H_out, W_out, 2) holds, for every output pixel, a point
``(x, y)`` in normalised coordinates, ``-1`` the left/top edge of the input and ``+1`` the
right/bottom edge.  ``affine_grid(theta, size)`` makes such a grid from a batch of affine maps
``theta`` (N, 2, 3): ``grid[n, h, w] = theta[n] @ (x_w, y_h, 1)``.  Together they are the
spatial transformer network (Jaderberg et al., 2015): a small network predicts ``theta`` and the
image is resampled through it, differentiably in ``theta``.

How one output value is made (PyTorch's ``ATen/native/GridSampler.h``, step for step):

1. *unnormalise* each coordinate to pixel units, ``x = ((g + 1) / 2) (W - 1)`` with
   ``align_corners=True`` (-1 and 1 are the centres of the corner pixels) or
   ``x = ((g + 1) W - 1) / 2`` with ``align_corners=False`` (-1 and 1 are the outer edges);
2. apply ``padding_mode`` to the coordinate: ``'zeros'`` leaves it (points outside read 0),
   ``'border'`` clips it to ``[0, W - 1]``, ``'reflection'`` reflects it about the borders
   (the corner centres with ``align_corners=True``, the edges without), then clips;
3. interpolate: ``'nearest'`` reads pixel ``rint(x)`` (round half to even, C's ``nearbyint``);
   ``'bilinear'`` mixes the 2 (3-D: 2 x 2 x 2) neighbours with weights ``1 - |x - x_i|``;
   ``'bicubic'`` mixes 4 x 4 neighbours with Keys' cubic (``A = -0.75``), applying the padding
   to each of the 16 tap positions instead of to ``x``.

Here the coordinates are array code and the sampling is tensor code, so that autograd gives the
gradients with respect to both ``input`` and ``grid`` (and again, for double backward):

* the corner values are gathered in one advanced-indexing op on a channels-last view of the
  input -- its backward scatter-adds the output gradient into the input's pixels
  (``backend.scatter_add_at``, NumPy's ``add.at``), a pixel read by several points collecting
  every share;
* the weights are tensor expressions of the coordinate ``x``; the integer parts (``floor``) are
  constants, as in ATen;
* step 1-2 is one small op, :class:`_SourceIndex`, whose derivative is ATen's: the
  unnormalisation factor times +-1 for each reflection times 0 where the clip is active (at a
  border exactly, too);
* ``'nearest'`` is piecewise constant: the grid gets a zero gradient, as PyTorch gives it.
"""
from __future__ import annotations

import functools
import itertools
import operator
import warnings
from typing import Any, Sequence

from ... import backend
from ...autograd.function import Function
from ...ops.creation import linspace
from ...ops.indexing import _index, where
from ...ops.joining import stack
from ...tensor import Tensor
from .vision import _cubic1, _cubic2
from ...amp import _policy as _autocast

__all__ = ["affine_grid", "grid_sample", "GRID_SAMPLE_INTERPOLATION_MODES",
           "GRID_SAMPLE_PADDING_MODES"]

# PyTorch's numbering of the modes, as the kernels ``torch.grid_sampler*`` take them
GRID_SAMPLE_INTERPOLATION_MODES = {"bilinear": 0, "nearest": 1, "bicubic": 2}
GRID_SAMPLE_PADDING_MODES = {"zeros": 0, "border": 1, "reflection": 2}

_INT64 = backend.int64.np
_CUBIC_A = -0.75  # Keys' cubic convolution constant, as PyTorch's bicubic modes use it
_ALIGN_WARNING = ("Default grid_sample and affine_grid behavior has changed to align_corners=False since "
                  "1.3.0. Please specify align_corners=True if the old behavior is desired. See the "
                  "documentation of grid_sample for details.")


# ------------------------------------------------------------------------------ coordinates (arrays)
def _clip(x: Any, size: int) -> tuple:
    """``min(size - 1, max(x, 0))`` and its derivative, 0 where a bound is reached (ATen counts
    the borders themselves as clipped).  A NaN becomes 0, as PyTorch's CPU kernel gives it."""
    xp = backend.array_module(x)
    above, below = x > 0, x < size - 1
    top = xp.asarray(size - 1, dtype=x.dtype)
    return xp.where(above, xp.where(below, x, top), xp.zeros((), x.dtype)), above & below


def _reflect(x: Any, twice_low: int, twice_high: int) -> tuple:
    """Reflect ``x`` into ``[low, high]`` (bounds given doubled, so that the half-pixel bounds of
    ``align_corners=False`` stay integers) and the derivative: +-1, one sign change per reflection."""
    xp = backend.array_module(x)
    if twice_low == twice_high:
        return xp.zeros_like(x), xp.zeros(x.shape, bool)
    low, span = twice_low / 2, (twice_high - twice_low) / 2
    x = x - x.dtype.type(low)
    negative = x < 0
    x = xp.abs(x)
    extra = xp.fmod(x, x.dtype.type(span))
    even = xp.floor(x / x.dtype.type(span)) % 2 == 0
    out = xp.where(even, extra + x.dtype.type(low), x.dtype.type(span) - extra + x.dtype.type(low))
    return out, negative != even   # True where the derivative is +1


def _pad_coordinate(x: Any, size: int, padding_mode: str, align_corners: bool) -> tuple:
    """ATen's ``compute_coordinates``: the padding applied to a pixel coordinate, and the derivative
    (None for ``'zeros'``, where it is 1)."""
    if padding_mode == "border":
        return _clip(x, size)
    if padding_mode == "reflection":
        twice = (0, 2 * (size - 1)) if align_corners else (-1, 2 * size - 1)
        x, positive = _reflect(x, *twice)
        x, inside = _clip(x, size)
        xp = backend.array_module(x)
        sign = xp.where(positive, x.dtype.type(1), x.dtype.type(-1))
        return x, sign * inside
    return x, None


def _unnormalize(g: Any, size: int, align_corners: bool) -> tuple:
    """Normalised ``[-1, 1]`` to pixel units, and the (constant) derivative."""
    if align_corners:
        return ((g + 1) / 2) * (size - 1), (size - 1) / 2
    return ((g + 1) * size - 1) / 2, size / 2


def _to_index(x: Any, size: int) -> tuple:
    """Integer pixel positions (C's truncation) clamped into ``[0, size)`` for the gather, and
    whether each was in bounds.  Non-finite or huge coordinates are out of bounds (ATen's
    ``safe_downgrade_to_int_range``)."""
    xp = backend.array_module(x)
    finite = xp.isfinite(x) & (xp.abs(x) < 2.0 ** 31)
    i = xp.where(finite, x, x.dtype.type(-100)).astype(_INT64)
    valid = (i >= 0) & (i < size)
    return xp.where(valid, i, 0), valid


class _SourceIndex(Function):
    """``x = pad(unnormalise(g))``: a grid coordinate to a pixel coordinate (steps 1-2).
    Backward: the chain of the two derivatives, ATen's ``grid_sampler_compute_source_index_set_grad``."""

    @staticmethod
    def forward(ctx, g, size, padding_mode, align_corners):
        x, factor = _unnormalize(g._data, size, align_corners)
        x, slope = _pad_coordinate(x, size, padding_mode, align_corners)
        xp = backend.array_module(x)
        factor = x.dtype.type(factor)
        ctx.slope = xp.full(x.shape, factor, x.dtype) if slope is None else slope * factor
        return x

    @staticmethod
    def backward(ctx, grad):
        return grad * Tensor._make(ctx.slope.astype(grad._data.dtype, copy=False)), None, None, None


class _ZeroGridGradient(Function):
    """The identity on the sampled values, giving ``grid`` a zero gradient: nearest-neighbour
    sampling is piecewise constant in ``grid``, and PyTorch returns zeros (not None) for it."""

    @staticmethod
    def forward(ctx, out, grid):
        ctx.grid = (grid.shape, grid._data.dtype)
        return out._data.copy()

    @staticmethod
    def backward(ctx, grad):
        xp = backend.array_module(grad._data)
        return grad, Tensor._make(xp.zeros(*ctx.grid))


# ------------------------------------------------------------------------------ sampling (tensors)
def _gather(channels_last: Tensor, index: Sequence, valid: Any) -> Tensor:
    """``input[n, (z,) y, x, :]`` for index arrays of a common shape (..., N, *out), 0 where
    ``valid`` is False: one advanced-indexing op, whose backward scatter-adds."""
    xp = backend.array_module(valid)
    n = channels_last.shape[0]
    lead = index[0].ndim - len(channels_last.shape) + 1  # the corner axes in front of N
    batch = xp.arange(n).reshape((n,) + (1,) * (index[0].ndim - lead - 1))
    vals = _index(channels_last, (batch,) + tuple(index), True)
    return where(Tensor._make(valid[..., None]), vals, 0.0)


def _sample_nearest(cl: Tensor, coords: list, sizes: list, padding_mode: str, align_corners: bool) -> Tensor:
    xp = backend.array_module(cl._data)
    index, valid = [], True
    for g, size in zip(coords, sizes):
        x, _ = _unnormalize(g._data, size, align_corners)
        x, _ = _pad_coordinate(x, size, padding_mode, align_corners)
        i, ok = _to_index(xp.rint(x), size)   # rint: round half to even, C's nearbyint
        index.append(i)
        valid = valid & ok
    return _gather(cl, index[::-1], valid)


def _sample_linear(cl: Tensor, coords: list, sizes: list, padding_mode: str, align_corners: bool) -> Tensor:
    """(Bi/tri)linear: each of the 2^k corners weighs ``prod_d (1 - |x_d - corner_d|)``."""
    xp = backend.array_module(cl._data)
    per_dim = []   # per coordinate (x, y, z): ((index, valid, weight) of the lower, of the upper)
    for g, size in zip(coords, sizes):
        x = _SourceIndex.apply(g, size, padding_mode, align_corners)
        lower = xp.floor(x._data)
        w_lower = Tensor._make(lower + 1) - x   # ATen: (x_se - x), (x - x_nw)
        w_upper = x - Tensor._make(lower)
        per_dim.append((_to_index(lower, size) + (w_lower,), _to_index(lower + 1, size) + (w_upper,)))
    index, valid, weights = [], [], []
    # corners in ATen's order: z slowest, x fastest (nw, ne, sw, se; t... then b...)
    for corner in itertools.product((0, 1), repeat=len(per_dim)):
        picks = [per_dim[d][bit] for d, bit in zip(range(len(per_dim) - 1, -1, -1), corner)]
        index.append([p[0] for p in picks])
        valid.append(functools.reduce(operator.and_, [p[1] for p in picks]))
        w = picks[-1][2]
        for p in picks[-2::-1]:        # x * y (* z), ATen's order of the product
            w = w * p[2]
        weights.append(w)
    index = [xp.stack([ix[d] for ix in index]) for d in range(len(per_dim))]
    vals = _gather(cl, index, xp.stack(valid))
    return (vals * stack(weights).unsqueeze(-1)).sum(0)


def _cubic_weights(t: Tensor) -> Tensor:
    """Keys' four cubic-convolution weights for the taps at -1, 0, 1, 2 from the fraction ``t``
    (ATen's ``get_cubic_upsample_coefficients``), stacked on a new first axis."""
    u = 1 - t
    return stack([_cubic2(t + 1, _CUBIC_A), _cubic1(t, _CUBIC_A), _cubic1(u, _CUBIC_A),
                  _cubic2(u + 1, _CUBIC_A)])


def _sample_cubic(cl: Tensor, coords: list, sizes: list, padding_mode: str, align_corners: bool) -> Tensor:
    """Bicubic: 4 x 4 taps around ``floor(x)``; each tap is padded on its own (``zeros`` reads 0)."""
    xp = backend.array_module(cl._data)
    taps, fractions = [], []
    for g, size in zip(coords, sizes):
        x = _SourceIndex.apply(g, size, "zeros", align_corners)   # unnormalise only
        lower = xp.floor(x._data)
        fractions.append(x - Tensor._make(lower))
        tap = xp.stack([lower + (j - 1) for j in range(4)])          # (4, N, *out)
        tap, _ = _pad_coordinate(tap, size, padding_mode, align_corners)
        taps.append(_to_index(tap, size))
    (ix, okx), (iy, oky) = taps
    index = [xp.broadcast_to(iy[:, None], (4,) + ix.shape), xp.broadcast_to(ix[None], (4,) + ix.shape)]
    vals = _gather(cl, index, oky[:, None] & okx[None])              # (4, 4, N, *out, C)
    rows = (vals * _cubic_weights(fractions[0]).unsqueeze(0).unsqueeze(-1)).sum(1)
    return (rows * _cubic_weights(fractions[1]).unsqueeze(-1)).sum(0)


# ------------------------------------------------------------------------------ public functions
def _check_grid_sampler(input: Any, grid: Any, mode: str) -> None:
    """PyTorch's ``check_grid_sampler_common`` / ``_2d`` / ``_3d``, in its order and words."""
    for name, t in (("input", input), ("grid", grid)):
        if not isinstance(t, Tensor):
            raise TypeError(f"grid_sampler(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if input.device != grid.device:
        raise RuntimeError(f"grid_sampler(): expected input and grid to be on same device, but input is "
                           f"on {input.device} and grid is on {grid.device}")
    if input.dim() == 0 or grid.dim() == 0:
        raise RuntimeError(f"grid_sampler(): expected 4D or 5D input and grid, but got input with sizes "
                           f"{list(input.shape)} and grid with sizes {list(grid.shape)}")
    if input.shape[0] != grid.shape[0]:
        raise RuntimeError(f"grid_sampler(): expected grid and input to have same batch size, but got input "
                           f"with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    if grid.shape[-1] != input.dim() - 2:
        raise RuntimeError(f"grid_sampler(): expected grid to have size {input.dim() - 2} in last dimension, "
                           f"but got grid with sizes {list(grid.shape)}")
    for i in range(2, input.dim()):
        if input.shape[i] <= 0:
            raise RuntimeError(f"grid_sampler(): expected input to have non-empty spatial dimensions, but "
                               f"input has sizes {list(input.shape)} with dimension {i} being empty")
    k = 2 if input.dim() == 4 else 3
    if input.dim() != k + 2 or grid.dim() != k + 2:
        raise RuntimeError(f"grid_sampler(): expected {k + 2}D input and grid with same number of "
                           f"dimensions, but got input with sizes {list(input.shape)} and grid with "
                           f"sizes {list(grid.shape)}")
    if k == 3 and mode == "bicubic":
        raise RuntimeError("grid_sampler(): bicubic interpolation only supports 4D input")
    if not input.is_floating_point():
        kernel = "grid_sampler_2d_cpu_kernel_impl" if k == 2 else "grid_sampler3d_cpu"   # PyTorch's names
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{_type_name(input)}'")
    if grid.dtype != input.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(input)} but found {_type_name(grid)}")


def _type_name(t: Tensor) -> str:
    """PyTorch's scalar-type name (``Float``, ``Double``, ``Int`` ...)."""
    names = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
             "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
             "bool": "Bool"}
    name = str(t.dtype).replace("edunn.", "")
    return names.get(name, name)


@backend.on_input_device
def grid_sample(input: Tensor, grid: Tensor, mode: str = "bilinear", padding_mode: str = "zeros",
                align_corners: bool | None = None) -> Tensor:
    r"""Sample ``input`` at the points of ``grid``:

        out[n, c, h, w] = sum_i K(x_i - x) K(y_i - y) input[n, c, y_i, x_i],
        (x, y) = pad(unnormalise(grid[n, h, w]))

    ``K`` the nearest, linear or cubic kernel of ``mode`` (``'bicubic'`` for 4-D input only);
    see the module docstring for the coordinate conventions of ``align_corners`` and
    ``padding_mode`` (``'zeros'``, ``'border'``, ``'reflection'``).

    Shapes: input ``(N, C, H_in, W_in)`` with grid ``(N, H_out, W_out, 2)`` -> ``(N, C, H_out,
    W_out)``; input ``(N, C, D_in, H_in, W_in)`` with grid ``(N, D_out, H_out, W_out, 3)`` ->
    ``(N, C, D_out, H_out, W_out)`` (``'bilinear'`` is then trilinear).  ``grid[..., 0]`` is x
    (along W), ``grid[..., 1]`` is y (along H).  Differentiable in ``input`` and ``grid``.
    Lesson 10."""
    if _autocast.active and "grid_sampler" in _autocast.listed: return _autocast.call("grid_sampler", grid_sample, input, grid, mode, padding_mode, align_corners)  # noqa: E501,E701
    if mode != "bilinear" and mode != "nearest" and mode != "bicubic":
        raise ValueError("nn.functional.grid_sample(): expected mode to be 'bilinear', 'nearest' or "
                         f"'bicubic', but got: '{mode}'")
    if padding_mode != "zeros" and padding_mode != "border" and padding_mode != "reflection":
        raise ValueError("nn.functional.grid_sample(): expected padding_mode to be 'zeros', 'border', or "
                         f"'reflection', but got: '{padding_mode}'")
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    _check_grid_sampler(input, grid, mode)
    k = input.dim() - 2
    sizes = list(input.shape[2:])[::-1]             # W, H (, D): the order of grid's last axis
    coords = [grid[..., d] for d in range(k)]
    cl = input.movedim(1, -1)                        # (N, *spatial, C): one gather reads all channels
    if mode == "nearest":
        out = _ZeroGridGradient.apply(_sample_nearest(cl, coords, sizes, padding_mode, align_corners), grid)
    elif mode == "bilinear":
        out = _sample_linear(cl, coords, sizes, padding_mode, align_corners)
    else:
        out = _sample_cubic(cl, coords, sizes, padding_mode, align_corners)
    return out.movedim(-1, 1)


def _base_grid(spatial: Sequence[int], align_corners: bool, like: Tensor) -> Any:
    """The identity grid (*spatial, k + 1): the normalised (x, y (, z)) of every output pixel and a
    1, PyTorch's ``make_base_grid_4D/5D``.  Pixel centres with ``align_corners=False`` sit at
    ``linspace(-1, 1, n) (n - 1) / n``; a dimension of size 1 sits at 0."""
    xp = backend.array_module(like._data)
    k = len(spatial)
    base = xp.ones(tuple(spatial) + (k + 1,), like._data.dtype)
    for d, n in enumerate(reversed(spatial)):       # x runs along the last spatial axis
        if n <= 1:
            line = xp.zeros((max(n, 0),), like._data.dtype)
        else:
            line = linspace(-1, 1, n, dtype=like.dtype, device=like.device)._data
            if not align_corners:
                line = line * (n - 1) / n
        shape = [1] * k
        shape[k - 1 - d] = len(line)
        base[..., d] = line.reshape(shape)
    return base


@backend.on_input_device
def affine_grid(theta: Tensor, size: list[int], align_corners: bool | None = None) -> Tensor:
    r"""The sampling grid of a batch of affine maps, for :func:`grid_sample`:

        grid[n, h, w] = theta[n] @ (x_w, y_h, 1)^T      (2-D: theta (N, 2, 3), size (N, C, H, W))
        grid[n, d, h, w] = theta[n] @ (x_w, y_h, z_d, 1)^T   (3-D: theta (N, 3, 4), size (N, C, D, H, W))

    with ``x_w, y_h, z_d`` the normalised pixel positions (see ``align_corners`` in
    :func:`grid_sample`).  One batched matmul of the fixed base grid with ``theta^T``, so the
    gradient with respect to ``theta`` is autograd's.  Output (N, H, W, 2) or (N, D, H, W, 3).
    Lesson 10."""
    if align_corners is None:
        warnings.warn(_ALIGN_WARNING, stacklevel=2)
        align_corners = False
    if not isinstance(theta, Tensor):
        raise TypeError(f"affine_grid(): argument 'theta' must be Tensor, not {type(theta).__name__}")
    if not theta.is_floating_point():
        raise ValueError(f"Expected theta to have floating point type, but got {theta.dtype}")
    size = [int(s) for s in size]
    if len(size) == 4:
        if theta.dim() != 3 or theta.shape[-2] != 2 or theta.shape[-1] != 3:
            raise ValueError(f"Expected a batch of 2D affine matrices of shape Nx2x3 for size {size}. "
                             f"Got {theta.shape}.")
        spatial = size[-2:]
    elif len(size) == 5:
        if theta.dim() != 3 or theta.shape[-2] != 3 or theta.shape[-1] != 4:
            raise ValueError(f"Expected a batch of 3D affine matrices of shape Nx3x4 for size {size}. "
                             f"Got {theta.shape}.")
        spatial = size[-3:]
    else:
        raise NotImplementedError("affine_grid only supports 4D and 5D sizes, for 2D and 3D affine "
                                  f"transforms, respectively. Got size {size}.")
    if align_corners and min(spatial) == 1:
        warnings.warn("Since version 1.3.0, affine_grid behavior has changed for unit-size grids when "
                      "align_corners=True. This is not an intended use case of affine_grid. See the "
                      "documentation of affine_grid for details.", stacklevel=2)
    elif min(size) <= 0:
        raise ValueError(f"Expected non-zero, positive output size. Got {size}")
    if theta.shape[0] != size[0]:
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: "
                           f"[{size[0]}, {len(spatial) + 1}] but got: [{theta.shape[0]}, {len(spatial) + 1}].")
    k = len(spatial)
    base = Tensor._make(_base_grid(spatial, align_corners, theta).reshape(1, -1, k + 1))
    grid = base @ theta.transpose(1, 2)                 # (N, prod(spatial), k)
    return grid.reshape(tuple([size[0]] + spatial + [k]))
