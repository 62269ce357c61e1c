"""Vision functions (lesson 10): ``pixel_shuffle``, ``pixel_unshuffle``, ``channel_shuffle`` and
``interpolate`` (with its deprecated wrappers ``upsample``, ``upsample_nearest``,
``upsample_bilinear``).

The shuffles are reshapes and permutations, so autograd handles them.  ``interpolate`` is
*separable*: resampling ``(N, C, d_1, ..., d_k)`` is resampling each spatial dim in turn, and
along one dim every mode except ``nearest`` is a linear map ``y = x W^T`` with a small
``(out, in)`` weight matrix ``W`` (two taps per row for linear, four for cubic, a normalised
filter window with antialiasing, a window average for ``area``).  So the forward is one matmul per
dim and the gradient is the transposed matmul -- written once, for every mode.  ``nearest`` picks
one input index per output position (``index_select``).  The index and weight formulas, and the
precision they are computed in, are PyTorch's, so results agree to rounding.
"""
from __future__ import annotations

import math
import operator
import warnings
from typing import Any

from ... import backend
from ...tensor import Tensor
from .pooling import adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d
from ...amp import _policy as _autocast

__all__ = ["pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "native_channel_shuffle", "interpolate",
           "upsample", "upsample_nearest", "upsample_bilinear"]


# ------------------------------------------------------------------------------ shuffles
def _int_arg(value: Any, who: str, name: str) -> int:
    if isinstance(value, bool) or not hasattr(value, "__index__"):
        raise TypeError(f"{who}(): argument '{name}' (position 2) must be int, not {type(value).__name__}")
    return operator.index(value)


def pixel_shuffle(input: Tensor, upscale_factor: int) -> Tensor:
    """``(*, C r^2, H, W) -> (*, C, H r, W r)``: ``out[c, h r + i, w r + j] = in[c r^2 + i r + j, h, w]``
    (sub-pixel convolution, Shi et al. 2016).  Lesson 10."""
    r = _int_arg(upscale_factor, "pixel_shuffle", "upscale_factor")
    if input.dim() < 3:
        raise RuntimeError(f"pixel_shuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_shuffle expects a positive upscale_factor, but got {r}")
    *b, c, h, w = input.shape
    if c % (r * r):
        raise RuntimeError(f"pixel_shuffle expects its input's 'channel' dimension to be divisible by the square "
                           f"of upscale_factor, but input.size(-3)={c} is not divisible by {r * r}")
    nb = len(b)
    y = input.reshape(tuple(b) + (c // (r * r), r, r, h, w))
    y = y.permute(tuple(range(nb)) + (nb, nb + 3, nb + 1, nb + 4, nb + 2))
    return y.reshape(tuple(b) + (c // (r * r), h * r, w * r))


def pixel_unshuffle(input: Tensor, downscale_factor: int) -> Tensor:
    """The inverse of :func:`pixel_shuffle`: ``(*, C, H r, W r) -> (*, C r^2, H, W)``."""
    r = _int_arg(downscale_factor, "pixel_unshuffle", "downscale_factor")
    if input.dim() < 3:
        raise RuntimeError(f"pixel_unshuffle expects input to have at least 3 dimensions, but got input with "
                           f"{input.dim()} dimension(s)")
    if r <= 0:
        raise RuntimeError(f"pixel_unshuffle expects a positive downscale_factor, but got {r}")
    *b, c, h, w = input.shape
    if h % r:
        raise RuntimeError(f"pixel_unshuffle expects height to be divisible by downscale_factor, but "
                           f"input.size(-2)={h} is not divisible by {r}")
    if w % r:
        raise RuntimeError(f"pixel_unshuffle expects width to be divisible by downscale_factor, but "
                           f"input.size(-1)={w} is not divisible by {r}")
    nb = len(b)
    y = input.reshape(tuple(b) + (c, h // r, r, w // r, r))
    y = y.permute(tuple(range(nb)) + (nb, nb + 2, nb + 4, nb + 1, nb + 3))
    return y.reshape(tuple(b) + (c * r * r, h // r, w // r))


def channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """``(N, g C', *) -> (N, C' g, *)``: channel ``i C' + j`` moves to ``j g + i`` (ShuffleNet),
    so that the next grouped convolution mixes channels of every group.  Lesson 10."""
    g = _int_arg(groups, "channel_shuffle", "groups")
    if input.dim() <= 2:
        raise RuntimeError(f"channel_shuffle expects input with > 2 dims, but got input with sizes "
                           f"{list(input.shape)}")
    if g <= 0:
        raise RuntimeError(f"Number of groups to divide channels in must be positive. Value of groups:{g}")
    n, c, *rest = input.shape
    if c % g:
        raise RuntimeError(f"Number of channels must be divisible by groups. Got {c} channels and {g} groups.")
    y = input.reshape((n, g, c // g) + tuple(rest)).transpose(1, 2)
    return y.reshape(tuple(input.shape))


def native_channel_shuffle(input: Tensor, groups: int) -> Tensor:
    """PyTorch's kernel-level ``channel_shuffle``; the same function here."""
    return channel_shuffle(input, groups)


# ------------------------------------------------------------------------------ interpolation weights
def _cubic1(x: Any, a: float) -> Any:  # |x| <= 1
    return ((a + 2) * x - (a + 3)) * x * x + 1


def _cubic2(x: Any, a: float) -> Any:  # 1 < |x| < 2
    return ((a * x - 5 * a) * x + 8 * a) * x - 4 * a


def _aa_filters(xp: Any) -> dict:
    """The antialiasing filters and their support (PIL's): triangle, Keys cubic with a = -0.5,
    Lanczos-3."""
    def tri(x):
        x = xp.abs(x)
        return xp.where(x < 1, 1 - x, 0)

    def cub(x):
        x = xp.abs(x)
        return xp.where(x < 1, _cubic1(x, -0.5), xp.where(x < 2, _cubic2(x, -0.5), 0))

    def lanczos(x):
        x = xp.abs(x)
        return xp.where(x < 3, xp.sinc(x) * xp.sinc(x / 3), 0)
    return {"bilinear": (tri, 2), "bicubic": (cub, 4), "lanczos": (lanczos, 6)}


def _scale(L: int, o: int, align_corners: bool, sf: Any, dt: Any) -> Any:
    """PyTorch's ``area_pixel_compute_scale``: input positions per output position."""
    if align_corners:
        return dt(L - 1) / dt(o - 1) if o > 1 else dt(0)
    return dt(1.0 / sf) if sf is not None and sf > 0 else dt(L) / dt(o)


def _weights(xp: Any, mode: str, L: int, o: int, sf: Any, align_corners: bool, antialias: bool, dt: Any) -> Any:
    """The ``(o, L)`` matrix of one spatial dim."""
    scale = _scale(L, o, align_corners, sf, dt)
    i = xp.arange(o, dtype=dt)
    if antialias:
        filt, size = _aa_filters(xp)[mode]
        support = dt(size / 2 * scale) if scale >= 1 else dt(size / 2)
        invscale = dt(1 / scale) if scale >= 1 else dt(1)
        center = scale * (i + dt(0.5))
        lo = xp.maximum((center - support + dt(0.5)).astype(backend.int64.np), 0)
        hi = xp.minimum((center + support + dt(0.5)).astype(backend.int64.np), L)
        cols = lo[:, None] + xp.arange(int(math.ceil(support)) * 2 + 1)
        w = filt(((cols - center[:, None] + dt(0.5)) * invscale).astype(dt)) * (cols < hi[:, None])
        total = w.sum(1, keepdims=True)
        w = w / xp.where(total == 0, 1, total)  # each row sums to 1
        cols = xp.minimum(cols, L - 1)
    else:
        src = scale * i if align_corners else scale * (i + dt(0.5)) - dt(0.5)
        if mode != "bicubic":
            src = xp.maximum(src, 0)
        first = xp.minimum(xp.floor(src).astype(backend.int64.np), L - 1)
        t = xp.clip(src - first, 0, 1).astype(dt)[:, None]
        if mode == "bicubic":  # four taps, Keys' cubic convolution with a = -0.75, edges clamped
            a = -0.75
            w = xp.concatenate([_cubic2(t + 1, a), _cubic1(t, a), _cubic1(1 - t, a), _cubic2(2 - t, a)], 1)
            cols = xp.clip(first[:, None] - 1 + xp.arange(4), 0, L - 1)
        else:  # two taps
            w = xp.concatenate([1 - t, t], 1)
            cols = xp.minimum(first[:, None] + xp.arange(2), L - 1)
    matrix = xp.zeros((o, L), dt)
    rows = xp.broadcast_to(xp.arange(o)[:, None], cols.shape)
    backend.scatter_add_at(matrix, (rows.reshape(-1), cols.reshape(-1)), w.astype(dt).reshape(-1))
    return matrix


def _nearest_index(xp: Any, L: int, o: int, sf: Any, exact: bool, dim: int) -> Any:
    """PyTorch's source index: ``floor(i * scale)`` (``nearest``) or ``floor((i + 0.5) * scale)``
    (``nearest-exact``), in single precision, clamped to ``L - 1``.  PyTorch's 2-d ``nearest``
    kernel maps ``out == in`` and ``out == 2 in`` directly, whatever the given scale; so do we."""
    f32 = xp.float32
    if dim == 2 and not exact and o in (L, 2 * L):
        return xp.arange(o) // (o // L)
    scale = f32(1.0 / sf) if sf is not None and sf > 0 else f32(L) / f32(o)
    i = xp.arange(o)
    src = ((i + 0.5) * float(scale)).astype(f32) if exact else i.astype(f32) * scale
    return xp.minimum(xp.floor(src).astype(backend.int64.np), L - 1)


# ------------------------------------------------------------------------------ interpolate
_MODE_DIMS = {"linear": 3, "bilinear": 4, "bicubic": 4, "trilinear": 5, "lanczos": 4}
_DIM_NAMES = {1: ("W",), 2: ("H", "W"), 3: ("D", "H", "W")}


def _is_integer(v: Any) -> bool:
    return hasattr(v, "__index__") and not isinstance(v, bool) or isinstance(v, Tensor) and not v.is_floating_point()


@backend.on_input_device
def interpolate(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
                align_corners: bool | None = None, recompute_scale_factor: bool | None = None,
                antialias: bool = False) -> Tensor:
    """Resample the spatial dims of ``(N, C, *S)`` to ``size`` or ``floor(S * scale_factor)``.

    Modes: ``nearest`` (``src = floor(dst * in/out)``), ``nearest-exact``
    (``floor((dst + 0.5) * in/out)``), ``linear``/``bilinear``/``trilinear`` (two taps per dim at
    ``src = (dst + 0.5) * in/out - 0.5``, or ``dst * (in-1)/(out-1)`` with ``align_corners``),
    ``bicubic`` (four taps, a = -0.75), ``area`` (adaptive average pooling) and, with
    ``antialias=True`` on 4-D input, ``bilinear``/``bicubic``/``lanczos`` filters widened by the
    downscaling factor.  A given ``scale_factor`` is used for the index mapping unless
    ``recompute_scale_factor`` asks to derive it from the output size.  Lesson 10.
    """
    if _autocast.active and mode != "area" and "interpolate" in _autocast.listed: return _autocast.call("interpolate", interpolate, input, size, scale_factor, mode, align_corners, recompute_scale_factor, antialias)  # noqa: E501,E701
    if not isinstance(input, Tensor):
        raise TypeError(f"interpolate(): argument 'input' must be Tensor, not {type(input).__name__}")
    if mode in ("nearest", "area", "nearest-exact"):
        if align_corners is not None:
            raise ValueError("align_corners option can only be set with the interpolating modes: "
                             "linear | bilinear | bicubic | trilinear")
    elif align_corners is None:
        align_corners = False
    dim = input.dim() - 2
    shape = list(input.shape)
    if size is not None and scale_factor is not None:
        raise ValueError("only one of size or scale_factor should be defined")
    if size is not None:
        scales = [None] * max(dim, 0)
        if isinstance(size, (list, tuple)):
            if len(size) != dim:
                raise ValueError(f"Input and output must have the same number of spatial dimensions, but got input "
                                 f"with spatial dimensions of {shape[2:]} and output size of {size}. Please provide "
                                 f"input tensor in (N, C, d1, d2, ...,dK) format and output size in (o1, o2, ...,oK) "
                                 "format.")
            if not all(_is_integer(v) for v in size):
                raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                                f"Tuple[int, int, int], but got size with types {[type(v) for v in size]}")
            out = [int(v) for v in size]
        elif _is_integer(size):
            out = [int(size)] * max(dim, 0)
        else:
            raise TypeError(f"expected size to be one of int or Tuple[int] or Tuple[int, int] or "
                            f"Tuple[int, int, int], but got size of type {type(size).__name__}")
    elif scale_factor is not None:
        out = None
        if isinstance(scale_factor, (list, tuple)):
            if len(scale_factor) != dim:
                raise ValueError(f"Input and scale_factor must have the same number of spatial dimensions, but got "
                                 f"input with spatial dimensions of {shape[2:]} and scale_factor of shape "
                                 f"{scale_factor}. Please provide input tensor in (N, C, d1, d2, ...,dK) format and "
                                 "scale_factor in (s1, s2, ...,sK) format.")
            scales = list(scale_factor)
        else:
            scales = [scale_factor] * max(dim, 0)
        if not all(isinstance(v, (int, float)) or hasattr(v, "__float__") and not isinstance(v, str) for v in scales):
            raise TypeError(f"expected scale_factor to be a float or a tuple of floats, but got "
                            f"{[type(v).__name__ for v in scales]}")
        scales = [float(v) for v in scales]
    else:
        raise ValueError("either size or scale_factor should be defined")
    if recompute_scale_factor and size is not None:
        raise ValueError("recompute_scale_factor is not meaningful with an explicit size.")
    if mode == "area" and out is None:
        recompute_scale_factor = True
    if out is None:  # the output size from the scale (as PyTorch: truncated in double precision)
        out = [int(shape[2 + i] * scales[i]) for i in range(dim)]
    if recompute_scale_factor:
        scales = [None] * dim
    if antialias and not (mode in ("bilinear", "bicubic", "lanczos") and input.dim() == 4):
        raise ValueError("Anti-alias option is restricted to bilinear, bicubic, and lanczos modes and requires a "
                         "4-D tensor as input")
    known = mode in ("nearest", "nearest-exact", "area") or mode in _MODE_DIMS
    if not known or input.dim() not in (3, 4, 5):
        raise NotImplementedError(f"Input Error: Only 3D, 4D and 5D input Tensors supported (got {input.dim()}D) for "
                                  "the modes: nearest | linear | bilinear | bicubic | trilinear | lanczos | area | "
                                  f"nearest-exact (got {mode})")
    if mode in _MODE_DIMS and input.dim() != _MODE_DIMS[mode]:
        raise NotImplementedError(f"Got {input.dim()}D input, but {mode} mode needs {_MODE_DIMS[mode]}D input")
    if mode == "lanczos":
        if align_corners:
            raise ValueError("Lanczos mode does not support align_corners=True")
        if not antialias:
            raise ValueError("Lanczos mode requires antialias=True")
    if mode == "area":
        return (adaptive_avg_pool1d, adaptive_avg_pool2d, adaptive_avg_pool3d)[dim - 1](input, out)
    if any(v <= 0 for v in shape[2:] + out):
        names = _DIM_NAMES[dim]
        fmt = lambda vals: ", ".join(f"{a}: {b}" for a, b in zip(names, vals))  # noqa: E731
        raise RuntimeError(f"Input and output sizes should be greater than 0, but got input ({fmt(shape[2:])})"
                           f"{' and' if dim == 1 else ''} output ({fmt(out)})")
    xd = input._data
    xp = backend.array_module(xd)
    if mode not in ("nearest", "nearest-exact") and not backend.dtype_of(xd).is_floating_point:
        raise NotImplementedError(f'"upsample_{mode}{dim}d" not implemented for \'{input.dtype.scalar_name}\'')
    low = mode not in ("nearest", "nearest-exact") and input.dtype in (backend.float16, backend.bfloat16)
    y = input.float() if low else input  # weights and sums in float32 for half types, as PyTorch
    for i in range(dim):
        L, o = shape[2 + i], out[i]
        if mode in ("nearest", "nearest-exact"):
            y = y.index_select(2 + i, Tensor._make(_nearest_index(xp, L, o, scales[i], mode == "nearest-exact", dim)))
        elif o == L and (antialias or mode != "bicubic"):
            continue  # PyTorch's separable kernels leave a dim of unchanged size alone, whatever the scale
        else:
            w = Tensor._make(_weights(xp, mode, L, o, scales[i], align_corners, antialias, y._data.dtype.type))
            y = (y.movedim(2 + i, -1) @ w.t()).movedim(-1, 2 + i)
    if low:
        return y.to(input.dtype)
    return y if y is not input else y.clone()


def upsample(input: Tensor, size: Any = None, scale_factor: Any = None, mode: str = "nearest",
             align_corners: bool | None = None) -> Tensor:
    """Deprecated alias of :func:`interpolate` (warns, as PyTorch)."""
    warnings.warn("`nn.functional.upsample` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode, align_corners)


def upsample_nearest(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode='nearest')``."""
    warnings.warn("`nn.functional.upsample_nearest` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="nearest")


def upsample_bilinear(input: Tensor, size: Any = None, scale_factor: Any = None) -> Tensor:
    """Deprecated: ``interpolate(input, size, scale_factor, mode='bilinear', align_corners=True)``."""
    warnings.warn("`nn.functional.upsample_bilinear` is deprecated. Use `nn.functional.interpolate` instead.",
                  stacklevel=2)
    return interpolate(input, size, scale_factor, mode="bilinear", align_corners=True)
