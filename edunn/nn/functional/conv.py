"""Convolution, transposed convolution, unfold and fold, by im2col (lesson 09).

One N-dimensional implementation (N = 1, 2, 3) serves every name here.  The picture::

    im2col:  x (N, C, *S)  ->  columns (N, G, C/G * prod(k), L)      one column per output position
    conv:    y = W (G, C_out/G, C/G * prod(k)) @ columns  ->  (N, G, C_out/G, L) = (N, C_out, *L)
    col2im:  columns -> image, every column entry *added* back onto the pixel it was read from

``im2col`` is a strided *view* of the zero-padded input (``as_strided``: no loop at all) copied
into a matrix once; ``col2im`` loops over the ``prod(k)`` kernel offsets only, adding one strided
slab per offset.  A convolution is then one batched matrix product.

The gradients are the same three pieces read backwards (lesson 09 derives them):

* dL/dx = col2im(W^T @ g) -- that is a *transposed* convolution of the gradient g;
* dL/dW = sum over batch and positions of g @ columns^T;
* dL/db = g summed over batch and positions.

and the transposed convolution's gradient is a convolution.  Both backwards are written with
differentiable ops (``Im2col``/``Col2im`` are Functions that are each other's gradient), so double
backward works; the plain backward reuses the columns saved by forward instead of recomputing
them.  ``unfold`` and ``fold`` (``Im2col``/``Col2im`` as functions) are in ``conv_fold.py``
(re-exported here).
"""
from __future__ import annotations

import itertools
import math
from typing import Any, NamedTuple

from ... import _kernels, backend
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled
from ...ops._operands import _widened
from ...tensor import Tensor
from ...ops.linalg import matmul
from ...amp import _policy as _autocast
from . import _conv_kernels

__all__ = ["conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
           "conv_transpose3d", "unfold", "fold"]


class _Geometry(NamedTuple):
    """Everything about a convolution except the numbers.  ``image`` is the spatial size of the
    side that is read by windows (conv's input, conv_transpose's output), ``cols`` the number of
    window positions per dim (conv's output, conv_transpose's input)."""
    kernel: tuple
    stride: tuple
    padding: tuple   # ((before, after), ...) per spatial dim
    dilation: tuple
    groups: int
    image: tuple
    cols: tuple


# --------------------------------------------------------------------------- array kernels

def _im2col_array(x: Any, geo: _Geometry) -> Any:
    """x (N, C, *image) -> contiguous columns (N, G, C/G * prod(k), prod(L)).

    A strided view (N, C, *k, *L) of the padded x: moving one step along kernel dim i moves
    ``dilation[i]`` pixels, one step along output dim i moves ``stride[i]`` pixels."""
    xp = backend.array_module(x)
    n, c = x.shape[:2]
    if _kernels.fusable(x):   # a GPU: one kernel gathers the columns, padding included
        out = xp.empty((n, c) + geo.kernel + geo.cols, x.dtype)
        _kernels.launch(_conv_kernels.im2col_kernel(geo.kernel, geo.stride, geo.dilation,
                                                    tuple(lo for lo, _ in geo.padding)),
                        (x,), _conv_kernels.im2col_sizes(c, x.shape[2:], geo.cols), (out,))
        return out.reshape(n, geo.groups, (c // geo.groups) * math.prod(geo.kernel), math.prod(geo.cols))
    if any(lo or hi for lo, hi in geo.padding):
        padded = xp.zeros((n, c) + tuple(s + lo + hi for s, (lo, hi) in zip(x.shape[2:], geo.padding)),
                          x.dtype)
        padded[(slice(None), slice(None)) + tuple(slice(lo, lo + s) for s, (lo, _) in
                                                  zip(x.shape[2:], geo.padding))] = x
        x = padded
    st = x.strides
    view = xp.lib.stride_tricks.as_strided(
        x, (n, c) + geo.kernel + geo.cols,
        st[:2] + tuple(s * d for s, d in zip(st[2:], geo.dilation))
        + tuple(s * d for s, d in zip(st[2:], geo.stride)))
    return view.reshape(n, geo.groups, (c // geo.groups) * math.prod(geo.kernel), math.prod(geo.cols))


def _col2im_array(cols: Any, geo: _Geometry) -> Any:
    """Columns, kernel offset first: (prod(k), N, C, prod(L)) -> image (N, C, *image), summing overlaps.

    One strided ``+=`` per kernel offset (prod(k) of them), never a loop over positions.  With
    the kernel offset as the leading axis each ``+=`` reads one contiguous slab (several times
    faster than reading every k-th row of a (C*K, L) matrix)."""
    xp = backend.array_module(cols)
    n, c = cols.shape[1:3]
    full = tuple(s + lo + hi for s, (lo, hi) in zip(geo.image, geo.padding))
    out = xp.zeros((n, c) + full, cols.dtype)
    both = (slice(None), slice(None))
    for i, offset in enumerate(itertools.product(*(range(k) for k in geo.kernel))):
        target = tuple(slice(o * d, o * d + s * (m - 1) + 1, s)
                       for o, d, s, m in zip(offset, geo.dilation, geo.stride, geo.cols))
        out[both + target] += cols[i].reshape((n, c) + geo.cols)
    if any(lo or hi for lo, hi in geo.padding):
        crop = tuple(slice(lo, lo + s) for s, (lo, _) in zip(geo.image, geo.padding))
        out = xp.ascontiguousarray(out[both + crop])
    return out


def _kernel_first(cols: Any, geo: _Geometry) -> Any:
    """(N, G, C/G * prod(k), L) -> the view (prod(k), N, C, L) that ``_col2im_array`` reads."""
    n, g, ck, length = cols.shape
    k = math.prod(geo.kernel)
    return cols.reshape(n, g * ck // k, k, length).transpose(2, 0, 1, 3)


def _weight_matrix(w: Any, groups: int) -> Any:
    """W (C_cols, C_image/G, *k) -> (G, C_cols/G, C_image/G * prod(k))."""
    return w.reshape(groups, w.shape[0] // groups, -1)


def _add_bias(y: Any, b: Any) -> Any:
    y += b.reshape((-1,) + (1,) * (y.ndim - 2))
    return y


def _by_convolution(geo: _Geometry) -> _Geometry | None:
    """With stride 1, a transposed convolution is a convolution of ``z`` with the kernel flipped
    and its channel axes swapped, over ``z`` padded by ``d (k - 1)`` less the image's padding.
    The geometry of that convolution, or None (a stride, or padding past ``d (k - 1)``)."""
    if any(s != 1 for s in geo.stride):
        return None
    # the right padding makes the output the image's size (more than d (k - 1) - hi when a
    # transposed convolution's output_padding adds rows that no input reaches)
    pad = tuple((d * (k - 1) - lo, size + lo - length) for k, d, (lo, _), size, length in
                zip(geo.kernel, geo.dilation, geo.padding, geo.image, geo.cols))
    if any(lo < 0 or hi < 0 for lo, hi in pad):
        return None
    return geo._replace(padding=pad, image=geo.cols, cols=geo.image)


def _conv_transpose_by_convolution(z: Any, w: Any, geo: _Geometry, flipped: _Geometry) -> Any:
    """:func:`_conv_transpose_array` as one im2col and one matmul (``flipped``: from
    :func:`_by_convolution`): a handful of kernel launches on a GPU, where the offset loop
    costs two per kernel offset.  (On a CPU both take the same time; the loop stays there, so
    that CPU results do not move by a rounding.)"""
    xp = backend.array_module(z)
    g, n = geo.groups, z.shape[0]
    cz, cg, nd = w.shape[0] // g, w.shape[1], len(geo.kernel)
    spatial = tuple(range(3, 3 + nd))
    # W (G*cz, cg, *k) -> W' (G*cg, cz, *k): swap the channel axes per group, flip the kernel
    w2 = xp.flip(w.reshape((g, cz, cg) + geo.kernel).swapaxes(1, 2), axis=spatial)
    y = _weight_matrix(w2.reshape((g * cg, cz) + geo.kernel), g) @ _im2col_array(z, flipped)
    return y.reshape((n, g * cg) + geo.image)


def _conv_transpose_array(z: Any, w: Any, geo: _Geometry) -> Any:
    """z (N, C_z, *L), W (C_z, C_img/G, *k) -> image (N, C_img, *image) = col2im(W_mat^T @ z): the
    transposed convolution, and a convolution's input gradient."""
    flipped = _by_convolution(geo) if _kernels.on_gpu(z) else None
    if flipped is not None:
        return _conv_transpose_by_convolution(z, w, geo, flipped)
    return _conv_transpose_by_offsets(z, w, geo)


def _conv_transpose_by_offsets(z: Any, w: Any, geo: _Geometry) -> Any:
    """:func:`_conv_transpose_array` for any stride: the columns ``W_mat^T @ z`` are made one
    kernel offset at a time, into one reused buffer, and added onto the image at once: the same
    products and sums as building the whole column matrix first, without writing and re-reading
    prod(k) times the image in memory."""
    xp = backend.array_module(z)
    g, k = geo.groups, math.prod(geo.kernel)
    n, cz, cg = z.shape[0], w.shape[0] // g, w.shape[1]
    # W as (K, G, C_img/G, C_z/G): offset i's slice maps z's channels to the image's
    wk = xp.ascontiguousarray(w.reshape(g, cz, cg, k).transpose(3, 0, 2, 1))
    zmat = z.reshape(n, g, cz, math.prod(z.shape[2:]))   # not -1: n may be 0
    full = tuple(s + lo + hi for s, (lo, hi) in zip(geo.image, geo.padding))
    out = xp.zeros((n, g * cg) + full, xp.result_type(z.dtype, w.dtype))
    part = xp.empty((n, g, cg, zmat.shape[-1]), out.dtype)
    both = (slice(None), slice(None))
    for i, offset in enumerate(itertools.product(*(range(kk) for kk in geo.kernel))):
        target = tuple(slice(o * d, o * d + s * (m - 1) + 1, s)
                       for o, d, s, m in zip(offset, geo.dilation, geo.stride, geo.cols))
        xp.matmul(wk[i], zmat, out=part)
        out[both + target] += part.reshape((n, g * cg) + geo.cols)
    if any(lo or hi for lo, hi in geo.padding):
        crop = tuple(slice(lo, lo + s) for s, (lo, _) in zip(geo.image, geo.padding))
        out = xp.ascontiguousarray(out[both + crop])
    return out


# --------------------------------------------------------------------------- Functions

class Im2col(Function):
    """columns = im2col(x): (N, C, *image) -> (N, G, C/G * prod(k), prod(L)).
    Backward: col2im of the gradient (every column entry goes back to its pixel)."""

    @staticmethod
    def forward(ctx, x, geo):
        ctx.geo = geo
        cols = _im2col_array(x._data, geo)
        if backend.array_module(cols).may_share_memory(cols, x._data):
            cols = cols.copy()   # a 1x1 kernel without padding gives a view: unfold must copy
        return cols

    @staticmethod
    def backward(ctx, grad):
        return Col2im.apply(grad, ctx.geo), None


class Col2im(Function):
    """image = col2im(columns), the adjoint of im2col.  Backward: im2col of the gradient."""

    @staticmethod
    def forward(ctx, cols, geo):
        ctx.geo = geo
        return _col2im_array(_kernel_first(cols._data, geo), geo)

    @staticmethod
    def backward(ctx, grad):
        return Im2col.apply(grad, ctx.geo), None


class ConvNd(Function):
    """y = W * x + b (cross-correlation), x (N, C_in, *S), W (C_out, C_in/G, *k) -> (N, C_out, *L).

    Forward: y = W_mat @ im2col(x) + b.
    Backward: dx = col2im(W_mat^T @ g) (a transposed convolution), dW = sum_n g @ columns^T,
    db = sum of g over batch and positions."""

    @staticmethod
    def forward(ctx, x, w, b, geo):
        cols = _im2col_array(x._data, geo)
        wm = _weight_matrix(w._data, geo.groups)
        y = (wm @ cols).reshape((x._data.shape[0], w._data.shape[0]) + geo.cols)
        if b is not None:
            _add_bias(y, b._data)
        ctx.geo = geo
        # dW needs the columns; saving them (freed with the graph) avoids a second im2col
        ctx.save_for_backward(x, w, cols if ctx.needs_input_grad[1] else None)
        # ml_dtypes' bfloat16 product comes back as float32 (it accumulates there, as PyTorch)
        return y if y.dtype == x._data.dtype else y.astype(x._data.dtype)

    @staticmethod
    def backward(ctx, grad):
        x, w, saved_cols = ctx.saved_tensors
        geo = ctx.geo
        need_x, need_w, need_b, _ = ctx.needs_input_grad
        if not is_grad_enabled():   # plain backward: array kernels, reusing the saved columns
            cols = saved_cols._data if isinstance(saved_cols, Tensor) else saved_cols
            return ConvNd._backward_arrays(grad._data, x, w, cols, geo, need_x, need_w, need_b)
        # create_graph: every gradient is built from differentiable ops
        gx = gw = gb = None
        if need_x:
            gx = ConvTransposeNd.apply(grad, w, None, geo)
        if need_w:
            n, g = grad._data.shape[0], geo.groups
            gmat = grad.reshape(n, g, w._data.shape[0] // g, math.prod(grad.shape[2:]))
            gw = matmul(Im2col.apply(x, geo), gmat.mT).sum(0).mT.reshape(w.shape)
        if need_b:
            gb = grad.sum((0,) + tuple(range(2, grad._data.ndim)))
        return gx, gw, gb, None

    @staticmethod
    def _backward_arrays(g: Any, x: Tensor, w: Tensor, cols: Any, geo: _Geometry, need_x: bool,
                         need_w: bool, need_b: bool) -> tuple:
        wd = w._data
        n, c_out, groups = g.shape[0], wd.shape[0], geo.groups
        positions = math.prod(g.shape[2:])   # not -1 in the reshapes below: n may be 0
        gx = gw = gb = None
        if need_x:
            gx = Tensor._make(_conv_transpose_array(g, wd, geo))
        if need_w:
            # dW[g] = sum_n cols[n, g] (C_in/G * K, L) @ g[n, g]^T (L, C_out/G)
            gm = (cols @ g.reshape(n, groups, c_out // groups, positions).swapaxes(-1, -2)).sum(0)
            gw = Tensor._make(gm.swapaxes(-1, -2).reshape(wd.shape))
        if need_b:
            gb = Tensor._make(_widened(g.reshape(n, c_out, positions)).sum((0, 2)).astype(g.dtype, copy=False))
        return gx, gw, gb, None


class ConvTransposeNd(Function):
    """y = conv_transpose(z, W) + b, z (N, C_in, *L), W (C_in, C_out/G, *k) -> (N, C_out, *S).

    Forward: y = col2im(W_mat^T @ z) + b -- exactly the input-gradient of a convolution.
    Backward: dz = W_mat @ im2col(g) (a convolution of g), dW = sum_n z @ im2col(g)^T."""

    @staticmethod
    def forward(ctx, z, w, b, geo):
        y = _conv_transpose_array(z._data, w._data, geo)
        if b is not None:
            _add_bias(y, b._data)
        ctx.geo = geo
        ctx.save_for_backward(z, w)
        return y

    @staticmethod
    def backward(ctx, grad):
        z, w = ctx.saved_tensors
        geo = ctx.geo
        need_z, need_w, need_b, _ = ctx.needs_input_grad
        gz = gw = gb = None
        if need_z or need_w:
            cols = Im2col.apply(grad, geo)                    # (N, G, C_out/G * K, L)
            n, g = grad._data.shape[0], geo.groups
            if need_z:
                wm = w.reshape(g, w._data.shape[0] // g, -1)
                gz = matmul(wm, cols).reshape(z.shape)
            if need_w:
                zmat = z.reshape(n, g, z._data.shape[1] // g, math.prod(z.shape[2:]))
                gw = matmul(cols, zmat.mT).sum(0).mT.reshape(w.shape)
        if need_b:
            gb = grad.sum((0,) + tuple(range(2, grad._data.ndim)))
        return gz, gw, gb, None


# --------------------------------------------------------------------------- argument checks

def _tuple(value: Any, nd: int, name: str) -> tuple:
    if isinstance(value, (tuple, list)) or (hasattr(value, "__len__") and not isinstance(value, str)):
        value = tuple(int(v) for v in value)
        if len(value) == 1 and nd != 1:
            value = value * nd
        if len(value) != nd:
            raise RuntimeError(f"expected {name} to be a single integer value or a list of {nd} values to "
                               f"match the convolution dimensions, but got {name}={list(value)}")
        return value
    return (int(value),) * nd


def _check_params(stride: tuple, dilation: tuple, groups: int, padding: tuple | None = None) -> None:
    if any(s <= 0 for s in stride):
        raise RuntimeError("non-positive stride is not supported")
    if any(d <= 0 for d in dilation):
        raise RuntimeError("non-positive dilation is not supported")
    if padding is not None and any(p < 0 for p in padding):
        raise RuntimeError("negative padding is not supported")
    if groups <= 0:
        raise RuntimeError("non-positive groups is not supported")


_DTYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
                "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _check_tensors(name: str, input: Any, weight: Any, bias: Any, nd: int) -> bool:
    """Common checks; returns whether the input is batched."""
    for arg, what in ((input, "input"), (weight, "weight")):
        if not isinstance(arg, Tensor):
            raise TypeError(f"{name}(): argument '{what}' must be Tensor, not {type(arg).__name__}")
    if bias is not None and not isinstance(bias, Tensor):
        raise TypeError(f"{name}(): argument 'bias' must be Tensor, not {type(bias).__name__}")
    if input.dim() not in (nd + 1, nd + 2):
        raise RuntimeError(f"Expected {nd + 1}D (unbatched) or {nd + 2}D (batched) input to {name}, but got "
                           f"input of size: {list(input.shape)}")
    if weight.dim() != nd + 2:
        raise RuntimeError(f"{name}: expected weight to be {nd + 2}-dimensional, but got weight of size "
                           f"{list(weight.shape)}")
    if input.dtype != weight.dtype or (bias is not None and bias.dtype != input.dtype):
        other = weight if input.dtype != weight.dtype else bias
        raise RuntimeError(f"expected scalar type {_DTYPE_NAMES.get(input.dtype.name, input.dtype.name)} but "
                           f"found {_DTYPE_NAMES.get(other.dtype.name, other.dtype.name)} (input of type "
                           f"{input.dtype}, {'weight' if other is weight else 'bias'} of type {other.dtype})")
    if not input.dtype.is_floating_point:
        raise RuntimeError(f"\"{name}\" not implemented for '{_DTYPE_NAMES.get(input.dtype.name)}'")
    devices = {t.device for t in (input, weight, bias) if t is not None}
    if len(devices) > 1:
        a, b = sorted(str(d) for d in devices)[:2]
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{a} and {b}! (in {name})")
    return input.dim() == nd + 2


def _same_padding(kernel: tuple, dilation: tuple) -> tuple:
    """'same': total padding d*(k-1) per dim, the odd pixel (even effective kernel) after, as
    PyTorch does."""
    pads = []
    for k, d in zip(kernel, dilation):
        total = d * (k - 1)
        pads.append((total // 2, total - total // 2))
    return tuple(pads)


def _conv_padding(padding: Any, nd: int, kernel: tuple, stride: tuple, dilation: tuple) -> tuple:
    if isinstance(padding, str):
        if padding == "valid":
            return ((0, 0),) * nd
        if padding == "same":
            if any(s != 1 for s in stride):
                raise RuntimeError("padding='same' is not supported for strided convolutions")
            return _same_padding(kernel, dilation)
        raise RuntimeError(f"Invalid padding string: '{padding}'")
    pad = _tuple(padding, nd, "padding")
    if any(p < 0 for p in pad):
        raise RuntimeError("negative padding is not supported")
    return tuple((p, p) for p in pad)


def _sizes(t: tuple) -> str:
    return " x ".join(str(v) for v in t)


# --------------------------------------------------------------------------- convolution

def _conv(name: str, nd: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any,
          padding: Any, dilation: Any, groups: int) -> Tensor:
    if _autocast.active and name in _autocast.listed: return _autocast.call(name, _conv, name, nd, input, weight, bias, stride, padding, dilation, groups)  # noqa: E501,E701
    batched = _check_tensors(name, input, weight, bias, nd)
    stride, dilation, groups = _tuple(stride, nd, "stride"), _tuple(dilation, nd, "dilation"), int(groups)
    _check_params(stride, dilation, groups)
    kernel = tuple(weight.shape[2:])
    pads = _conv_padding(padding, nd, kernel, stride, dilation)
    x = input if batched else input.unsqueeze(0)
    c_out, c_in_g = weight.shape[0], weight.shape[1]
    if c_out % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if x.shape[1] != c_in_g * groups:
        raise RuntimeError(f"Given groups={groups}, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {c_in_g * groups} channels, but got {x.shape[1]} "
                           f"channels instead")
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise RuntimeError(f"Given weight of size {list(weight.shape)}, expected bias to be 1-dimensional with "
                           f"{c_out} elements, but got bias of size {list(bias.shape)} instead")
    image = tuple(x.shape[2:])
    padded = tuple(s + lo + hi for s, (lo, hi) in zip(image, pads))
    effective = tuple(d * (k - 1) + 1 for k, d in zip(kernel, dilation))
    if any(p < e for p, e in zip(padded, effective)):
        raise RuntimeError(f"Calculated padded input size per channel: ({_sizes(padded)}). Kernel size: "
                           f"({_sizes(effective)}). Kernel size can't be greater than actual input size")
    cols = tuple((p - e) // s + 1 for p, e, s in zip(padded, effective, stride))
    geo = _Geometry(kernel, stride, pads, dilation, groups, image, cols)
    y = ConvNd.apply(x, weight, bias, geo)
    return y if batched else y.squeeze(0)


def conv1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """1-D cross-correlation: out[n, o, l] = b[o] + sum_{c, j} W[o, c, j] x[n, g*C_in/G + c, l*s + j*d - p].

    input (N, C_in, L_in) or (C_in, L_in), weight (C_out, C_in/groups, k) -> (N, C_out, L_out) with
    L_out = floor((L_in + 2p - d(k-1) - 1) / s) + 1.  ``padding`` is an int, a 1-tuple, 'valid' (0)
    or 'same' (output as long as the input; stride 1 only).  Lesson 09."""
    return _conv("conv1d", 1, input, weight, bias, stride, padding, dilation, groups)


def conv2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """2-D cross-correlation, out[n, o] = b[o] + sum_c W[o, c] * x[n, c] (``*`` sliding the kernel).

    input (N, C_in, H, W) or (C_in, H, W), weight (C_out, C_in/groups, kH, kW) -> (N, C_out, H_out, W_out),
    H_out = floor((H + 2p_h - d_h(kH-1) - 1) / s_h) + 1 (likewise W_out).  ``padding``: int, pair,
    'valid' or 'same'.  Computed as W_mat @ im2col(x).  Lesson 09."""
    return _conv("conv2d", 2, input, weight, bias, stride, padding, dilation, groups)


def conv3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1, padding: Any = 0,
           dilation: Any = 1, groups: int = 1) -> Tensor:
    """3-D cross-correlation: input (N, C_in, D, H, W) or unbatched, weight (C_out, C_in/groups, kD, kH, kW)
    -> (N, C_out, D_out, H_out, W_out), each size as in ``conv2d``.  Lesson 09."""
    return _conv("conv3d", 3, input, weight, bias, stride, padding, dilation, groups)


# --------------------------------------------------------------------------- transposed convolution

def _conv_transpose(name: str, nd: int, input: Tensor, weight: Tensor, bias: Tensor | None, stride: Any,
                    padding: Any, output_padding: Any, groups: int, dilation: Any) -> Tensor:
    if _autocast.active and name in _autocast.listed: return _autocast.call(name, _conv_transpose, name, nd, input, weight, bias, stride, padding, output_padding, groups, dilation)  # noqa: E501,E701
    batched = _check_tensors(name, input, weight, bias, nd)
    if isinstance(padding, str):
        raise TypeError(f"{name}(): argument 'padding' must be tuple of ints, not str")
    stride, dilation, groups = _tuple(stride, nd, "stride"), _tuple(dilation, nd, "dilation"), int(groups)
    pad = _tuple(padding, nd, "padding")
    out_pad = _tuple(output_padding, nd, "output_padding")
    _check_params(stride, dilation, groups, pad)
    if any(p < 0 for p in out_pad):
        raise RuntimeError("negative output_padding is not supported")
    if any(op >= s and op >= d for op, s, d in zip(out_pad, stride, dilation)):
        axes = ["depth", "height", "width"][3 - nd:] if nd > 1 else ["width"]
        if nd == 1:
            axes = ["width"]
        parts = ([f"output_padding_{a}: {v}" for a, v in zip(axes, out_pad)]
                 + [f"stride_{a}: {v}" for a, v in zip(axes, stride)]
                 + [f"dilation_{a}: {v}" for a, v in zip(axes, dilation)])
        raise RuntimeError("output padding must be smaller than either stride or dilation, but got "
                           + " ".join(parts))
    x = input if batched else input.unsqueeze(0)
    c_in = weight.shape[0]
    if c_in % groups:
        raise RuntimeError(f"Given groups={groups}, expected weight to be divisible by {groups} at dimension 0, "
                           f"but got weight of size {list(weight.shape)} instead")
    if x.shape[1] != c_in:
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected input"
                           f"{list(x.shape)} to have {c_in} channels, but got {x.shape[1]} channels instead")
    c_out = weight.shape[1] * groups
    if bias is not None and tuple(bias.shape) != (c_out,):
        raise RuntimeError(f"Given transposed=1, weight of size {list(weight.shape)}, expected bias to be "
                           f"1-dimensional with {c_out} elements, but got bias of size {list(bias.shape)} "
                           f"instead")
    kernel = tuple(weight.shape[2:])
    cols = tuple(x.shape[2:])
    image = tuple((l - 1) * s - 2 * p + d * (k - 1) + op + 1
                  for l, s, p, d, k, op in zip(cols, stride, pad, dilation, kernel, out_pad))
    if any(i <= 0 for i in image):
        raise RuntimeError(f"Given input size per channel: ({_sizes(cols)}). Calculated output size per "
                           f"channel: ({_sizes(image)}). Output size is too small")
    geo = _Geometry(kernel, stride, tuple((p, p) for p in pad), dilation, groups, image, cols)
    y = ConvTransposeNd.apply(x, weight, bias, geo)
    return y if batched else y.squeeze(0)


def conv_transpose1d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """1-D transposed convolution (the gradient of ``conv1d`` with respect to its input).

    input (N, C_in, L_in) or unbatched, weight (C_in, C_out/groups, k) -> (N, C_out, L_out),
    L_out = (L_in - 1) s - 2p + d(k-1) + output_padding + 1.  Computed as col2im(W_mat^T @ x).  Lesson 09."""
    return _conv_transpose("conv_transpose1d", 1, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose2d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """2-D transposed convolution: input (N, C_in, H, W), weight (C_in, C_out/groups, kH, kW) ->
    (N, C_out, H_out, W_out), H_out = (H - 1) s_h - 2p_h + d_h(kH-1) + output_padding_h + 1.  Lesson 09."""
    return _conv_transpose("conv_transpose2d", 2, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


def conv_transpose3d(input: Tensor, weight: Tensor, bias: Tensor | None = None, stride: Any = 1,
                     padding: Any = 0, output_padding: Any = 0, groups: int = 1, dilation: Any = 1) -> Tensor:
    """3-D transposed convolution: input (N, C_in, D, H, W), weight (C_in, C_out/groups, kD, kH, kW),
    each output size as in ``conv_transpose2d``.  Lesson 09."""
    return _conv_transpose("conv_transpose3d", 3, input, weight, bias, stride, padding, output_padding,
                           groups, dilation)


# unfold and fold (im2col and col2im as functions) live in conv_fold.py.
from .conv_fold import fold, unfold  # noqa: E402
