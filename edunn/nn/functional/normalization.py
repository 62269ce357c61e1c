"""Normalization (lesson 11): ``batch_norm``, ``instance_norm``, ``layer_norm``, ``group_norm``,
``rms_norm`` and ``local_response_norm``.

Batch, instance, layer and group normalization are one computation over different axes::

    x_hat = (x - E[x]) / sqrt(Var[x] + eps)         (E and biased Var over the reduced axes)
    y     = x_hat * weight + bias                   (weight, bias per channel / per element)

* ``batch_norm``:    x (N, C, *), statistics over N and *  (one per channel);
* ``instance_norm``: statistics over *                     (one per sample and channel);
* ``layer_norm``:    statistics over the trailing ``normalized_shape`` dims;
* ``group_norm``:    statistics over each group of C/G channels and *.

The op ``_Normalize`` does all four, with the closed-form backward that lesson 11 derives
(N = number of values reduced, dy_hat = dy * weight)::

    dx = (1/N) * invstd * (N*dy_hat - sum(dy_hat) - x_hat * sum(dy_hat * x_hat))
    dweight = sum(dy * x_hat),   dbias = sum(dy)        (over the axes weight is broadcast along)

Running statistics (batch and instance norm in training) are updated in place, as PyTorch
does, with the *unbiased* variance, while the output is normalised with the biased one::

    running = (1 - momentum) * running + momentum * batch_statistic
"""
from __future__ import annotations

import contextlib
import math
from typing import Any, Sequence

import edunn
from ... import backend
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...ops.padding import pad
from ...tensor import Tensor
from ...amp import _policy as _autocast

__all__ = ["batch_norm", "instance_norm", "layer_norm", "group_norm", "rms_norm",
           "local_response_norm"]

_LOW = frozenset(d.np for d in (backend.float16, backend.bfloat16))


# ---------------------------------------------------------------------------------- the op
def _standardize(xd: Any, axes: tuple, eps: float) -> tuple:
    """``x_hat = (x - mean) / sqrt(var + eps)`` over ``axes`` (float32 at least), with the mean
    and the biased variance (the running statistics need them), and a scratch array of x's
    size that the caller may reuse for the output."""
    if xd.dtype in _LOW:
        xd = xd.astype(backend.float32.np)
    xp = backend.array_module(xd)
    mean = xd.mean(axis=axes, keepdims=True)
    xhat = xd - mean
    scratch = xp.multiply(xhat, xhat)
    var = scratch.mean(axis=axes, keepdims=True)   # two passes: no cancellation in E[x^2]-E[x]^2
    invstd = (1.0 / xp.sqrt(var + eps)).astype(var.dtype, copy=False)
    xhat *= invstd
    return xhat, mean, var, invstd, scratch


class _Normalize(Function):
    """``y = x_hat * w + b``, where ``x_hat`` (standardised x over ``axes``) and ``invstd`` come
    from ``_standardize``; ``w`` and ``b`` broadcast to x as ``pshape``.

    Backward, fused: ``dx = invstd * (dy_hat - mean(dy_hat) - x_hat * mean(dy_hat * x_hat))``.
    Without ``create_graph`` it runs on arrays; with it, on tensor ops recomputing the statistics
    from x, so the gradient can be differentiated again."""

    @staticmethod
    def forward(ctx, x, w, b, xhat, invstd, scratch, axes, pshape, eps):
        y = scratch  # a fresh array of x's size, free now: the output goes there
        if w is not None:
            backend.array_module(xhat).multiply(xhat, w._data.reshape(pshape), out=y)
        else:
            y[...] = xhat
        if b is not None:
            y += b._data.reshape(pshape)
        ctx.axes, ctx.pshape, ctx.eps = axes, pshape, eps
        ctx.save_for_backward(x, w, b, xhat, invstd)  # arrays too: freed with the graph
        return y.astype(x._data.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, w, b, xhat, invstd = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        axes, pshape = ctx.axes, ctx.pshape
        # the axes that weight is broadcast along: its gradient is summed over them
        paxes = tuple(d for d in range(x.dim()) if pshape[d] == 1 and x.shape[d] != 1)
        if is_grad_enabled():  # create_graph: a differentiable gradient
            return _normalize_backward_graph(grad, x, w, b, axes, pshape, paxes, ctx.eps,
                                             need_x, need_w, need_b) + (None,) * 6
        xhat, invstd = xhat._data, invstd._data  # saved arrays come back wrapped as constants
        xp = backend.array_module(xhat)
        g = grad._data
        if g.dtype != xhat.dtype:
            g = g.astype(xhat.dtype)
        wd = w._data.reshape(pshape) if w is not None else None
        gx = gw = gb = None
        if need_b:
            gb = Tensor._make(g.sum(axis=paxes).reshape(b.shape).astype(b.dtype.np, copy=False))
        if need_w or need_x:
            gxhat = g * xhat                              # dweight's terms, then dy_hat * x_hat
            if need_w:
                gw = Tensor._make(gxhat.sum(axis=paxes).reshape(w.shape).astype(w.dtype.np, copy=False))
        if need_x:
            if wd is not None:
                gxhat *= wd
                dyhat = g * wd
            else:
                dyhat = g.copy()
            m2 = gxhat.mean(axis=axes, keepdims=True)
            dyhat -= dyhat.mean(axis=axes, keepdims=True)
            dyhat -= xp.multiply(xhat, m2, out=gxhat)
            dyhat *= invstd
            gx = Tensor._make(dyhat.astype(x.dtype.np, copy=False))
        return gx, gw, gb, None, None, None, None, None, None


def _normalize_backward_graph(grad: Tensor, x: Tensor, w: Tensor | None, b: Tensor | None, axes: tuple,
                              pshape: tuple, paxes: tuple, eps: float, need_x: bool, need_w: bool,
                              need_b: bool) -> tuple:
    """The same gradient in tensor ops (recorded when ``create_graph=True``)."""
    xc = x - x.mean(axes, keepdim=True)
    invstd = ((xc * xc).mean(axes, keepdim=True) + eps).rsqrt()
    xhat = xc * invstd
    gx = gw = gb = None
    if need_w:
        gw = (grad * xhat).sum(paxes).reshape(w.shape) if paxes else (grad * xhat).reshape(w.shape)
    if need_b:
        gb = grad.sum(paxes).reshape(b.shape) if paxes else grad.reshape(b.shape)
    if need_x:
        dyhat = grad * w.reshape(pshape) if w is not None else grad
        gx = invstd * (dyhat - dyhat.mean(axes, keepdim=True)
                       - xhat * (dyhat * xhat).mean(axes, keepdim=True))
    return gx, gw, gb


_statistics_sink: list | None = None  # a list while native_*_norm (nn/_top_level.py) listen


def _normalize(x: Tensor, axes: tuple, w: Tensor | None, b: Tensor | None, pshape: tuple,
               eps: float) -> tuple[Tensor, Any, Any]:
    """Normalise x over ``axes``; returns the output and the batch mean and biased variance."""
    xhat, mean, var, invstd, scratch = _standardize(x._data, axes, eps)
    if _statistics_sink is not None:
        _statistics_sink.append((mean, invstd))
    return _Normalize.apply(x, w, b, xhat, invstd, scratch, axes, pshape, eps), mean, var


@contextlib.contextmanager
def statistics_of_normalize():
    """Collect ``(mean, invstd)`` -- arrays, keepdims -- of each :func:`_normalize` call inside
    the block: PyTorch's ``native_layer_norm`` and its siblings return them with the output."""
    global _statistics_sink
    outer, _statistics_sink = _statistics_sink, []
    try:
        yield _statistics_sink
    finally:
        _statistics_sink = outer


def _affine_eval(x: Tensor, mean: Tensor, var: Tensor, w: Tensor | None, b: Tensor | None,
                 pshape: tuple, eps: float) -> Tensor:
    """``y = x * scale + shift`` with scale = w / sqrt(var + eps), shift = b - mean * scale:
    normalisation by known statistics is an elementwise affine map (PyTorch's eval kernel)."""
    scale = (var + eps).rsqrt()
    if w is not None:
        scale = scale * w
    shift = -mean * scale
    if b is not None:
        shift = shift + b
    return x * scale.reshape(pshape) + shift.reshape(pshape)


# ---------------------------------------------------------------------------------- checks
def _check_input(input: Any, name: str, kernel: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if not input.dtype.is_floating_point:
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{input.dtype.scalar_name}'")


def _check_dtypes(input: Tensor, *others: Tensor | None) -> None:
    """All tensors share input's dtype; float16/bfloat16 input may have float32 parameters."""
    for t in others:
        if t is not None and t.dtype != input.dtype and not (
                input.dtype.np in _LOW and t.dtype == backend.float32):
            raise RuntimeError("mixed dtype (CPU): all inputs must share same datatype.")


def _verify_batch_size(size: Sequence[int]) -> None:
    if size[0] * math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 value per channel when training, got input size {size}")


def _verify_spatial_size(size: Sequence[int]) -> None:
    if math.prod(size[2:]) == 1:
        raise ValueError(f"Expected more than 1 spatial element when training, got input size {size}")


def _check_numel(name: str, expected: int, t: Tensor | None) -> None:
    if t is not None and t.numel() != expected:
        raise RuntimeError(f"{name} should contain {expected} elements not {t.numel()}")


def _update_running(running: Tensor, stat: Any, momentum: float) -> None:
    """``running = (1 - momentum) * running + momentum * stat``, in place (a buffer)."""
    with no_grad():
        running.mul_(1 - momentum).add_(Tensor._make(stat.astype(running.dtype.np, copy=False)),
                                        alpha=momentum)


# ---------------------------------------------------------------------------------- functions
@backend.on_input_device
def batch_norm(input: Tensor, running_mean: Tensor | None, running_var: Tensor | None,
               weight: Tensor | None = None, bias: Tensor | None = None, training: bool = False,
               momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Batch normalization of x (N, C, *) per channel (lesson 11)::

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    ``training=True``: E and Var (biased) over the batch and every position, and, when given,
    ``running_mean``/``running_var`` (C,) updated in place with ``momentum`` and the unbiased
    variance.  ``training=False``: the running statistics are used instead."""
    _check_input(input, "batch_norm", "batch_norm")
    size = input.size()
    if training:
        _verify_batch_size(size)
    if training and eps <= 0.0:
        raise ValueError(f"batch_norm eps must be positive during training, but got {eps}")
    elif eps < 0.0:
        raise ValueError(f"batch_norm eps must be non-negative, but got {eps}")
    c = size[1] if input.dim() > 1 else 0
    if running_mean is not None:
        _check_numel("running_mean", c, running_mean)
    elif not training:
        raise RuntimeError("running_mean must be defined in evaluation mode")
    if running_var is not None:
        _check_numel("running_var", c, running_var)
    elif not training:
        raise RuntimeError("running_var must be defined in evaluation mode")
    _check_numel("weight", c, weight)
    _check_numel("bias", c, bias)
    _check_dtypes(input, weight, bias, running_mean, running_var)
    if input.numel() == 0:  # PyTorch: nothing to normalise, the running statistics stay
        out = input.clone()
        if weight is not None:
            out = out * weight[0]
        if bias is not None:
            out = out + bias[0]
        return out
    pshape = (1, c) + (1,) * (input.dim() - 2)
    if not training:
        return _affine_eval(input, running_mean, running_var, weight, bias, pshape, eps)
    axes = (0,) + tuple(range(2, input.dim()))
    out, mean, var = _normalize(input, axes, weight, bias, pshape, eps)
    n = input.numel() // c
    if running_mean is not None:
        _update_running(running_mean, mean.reshape(c), momentum)
    if running_var is not None:
        _update_running(running_var, var.reshape(c) * (n / (n - 1)), momentum)
    return out


@backend.on_input_device
def instance_norm(input: Tensor, running_mean: Tensor | None = None, running_var: Tensor | None = None,
                  weight: Tensor | None = None, bias: Tensor | None = None, use_input_stats: bool = True,
                  momentum: float = 0.1, eps: float = 1e-5) -> Tensor:
    """Instance normalization of x (N, C, *): each sample's channel over its positions alone::

        y[n, c] = (x[n, c] - E[x[n, c]]) / sqrt(Var[x[n, c]] + eps) * weight[c] + bias[c]

    With running statistics (C,) and ``use_input_stats=True`` they are updated with the mean over
    the batch of each instance's statistics; ``use_input_stats=False`` normalises by them."""
    _check_input(input, "instance_norm", "batch_norm")
    size = input.size()
    if use_input_stats:
        _verify_spatial_size(size)
    if (running_mean is None) != (running_var is None):
        raise ValueError("running_mean and running_var must either both be None or neither be None")
    if not use_input_stats and running_mean is None:
        raise RuntimeError("Expected running_mean and running_var to be defined when use_input_stats is false")
    if input.dim() < 2:
        raise RuntimeError(f"instance_norm: expected at least 2D input (got {input.dim()}D input)")
    n, c = size[0], size[1]
    # PyTorch repeats the per-channel tensors over the batch and checks those: same messages
    for name, t in (("running_mean", running_mean), ("running_var", running_var),
                    ("weight", weight), ("bias", bias)):
        if t is not None and t.numel() != c:
            raise RuntimeError(f"{name} should contain {n * c} elements not {t.numel() * n}")
    _check_dtypes(input, weight, bias, running_mean, running_var)
    pshape = (1, c) + (1,) * (input.dim() - 2)
    if not use_input_stats:
        return _affine_eval(input, running_mean, running_var, weight, bias, pshape, eps)
    if input.numel() == 0:
        out = input.clone()
        if weight is not None:
            out = out * weight[0]
        if bias is not None:
            out = out + bias[0]
        return out
    axes = tuple(range(2, input.dim()))
    out, mean, var = _normalize(input, axes, weight, bias, pshape, eps)
    if running_mean is not None:
        m = input.numel() // (n * c)
        _update_running(running_mean, mean.reshape(n, c).mean(axis=0), momentum)
        _update_running(running_var, (var.reshape(n, c) * (m / (m - 1))).mean(axis=0), momentum)
    return out


def _shape_list(normalized_shape: Any, name: str) -> tuple:
    if isinstance(normalized_shape, int) or not isinstance(normalized_shape, (list, tuple)) or \
            not all(isinstance(s, int) for s in normalized_shape):
        raise TypeError(f"{name}(): argument 'normalized_shape' (position 2) must be tuple of ints, "
                        f"not {type(normalized_shape).__name__}")
    shape = tuple(int(s) for s in normalized_shape)
    if not shape:
        raise RuntimeError("Expected normalized_shape to be at least 1-dimensional, i.e., containing at "
                           "least one element, but got normalized_shape = []")
    return shape


def _check_normalized(input: Tensor, shape: tuple, star: str, **params: Tensor | None) -> None:
    for name, t in params.items():
        if t is not None and tuple(t.shape) != shape:
            raise RuntimeError(f"Expected {name} to be of same shape as normalized_shape, but got {name} "
                               f"of shape {list(t.shape)} and normalized_shape = {list(shape)}")
    k = len(shape)
    if input.dim() < k or tuple(input.shape[input.dim() - k:]) != shape:
        raise RuntimeError(f"Given normalized_shape={list(shape)}, expected input with shape "
                           f"[{star}{', '.join(map(str, shape))}], but got input of size{list(input.shape)}")


@backend.on_input_device
def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-5) -> Tensor:
    """Layer normalization over the last ``len(normalized_shape)`` dims (lesson 11)::

        y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

    E and Var (biased) per sample over those dims; weight and bias have ``normalized_shape``."""
    if _autocast.active and "layer_norm" in _autocast.listed: return _autocast.call("layer_norm", layer_norm, input, normalized_shape, weight, bias, eps)  # noqa: E501,E701
    _check_input(input, "layer_norm", "LayerNormKernelImpl")
    shape = _shape_list(normalized_shape, "layer_norm")
    _check_normalized(input, shape, "*, ", weight=weight, bias=bias)
    _check_dtypes(input, weight, bias)
    axes = tuple(range(input.dim() - len(shape), input.dim()))
    pshape = (1,) * (input.dim() - len(shape)) + shape
    if input.numel() == 0:
        out = input.clone()
        return out if weight is None else (out * weight if bias is None else out * weight + bias)
    return _normalize(input, axes, weight, bias, pshape, eps)[0]


@backend.on_input_device
def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-5) -> Tensor:
    """Group normalization of x (N, C, *): the C channels in ``num_groups`` groups, each group of
    each sample normalised over its channels and positions, then ``* weight[c] + bias[c]``."""
    if _autocast.active and "group_norm" in _autocast.listed: return _autocast.call("group_norm", group_norm, input, num_groups, weight, bias, eps)  # noqa: E501,E701
    _check_input(input, "group_norm", "GroupNormKernelImpl")
    if input.dim() < 2:
        raise RuntimeError(f"Expected at least 2 dimensions for input tensor but received {input.dim()}")
    size = list(input.shape)
    n, c = size[0], size[1]
    _verify_batch_size([n * c // num_groups, num_groups] + size[2:])
    if c % num_groups != 0:
        raise RuntimeError(f"Expected number of channels in input to be divisible by num_groups, but got "
                           f"input of shape {size} and num_groups={num_groups}")
    for name, t in (("weight", weight), ("bias", bias)):
        if t is not None and (t.dim() != 1 or t.numel() != c):
            raise RuntimeError(f"Expected {name} to be a vector of size equal to the number of channels in "
                               f"input, but got {name} of shape {list(t.shape)} and input of shape {size}")
    _check_dtypes(input, weight, bias)
    pshape = (1, c) + (1,) * (input.dim() - 2)
    if input.numel() == 0:
        out = input.clone()
    else:
        grouped = input.reshape(n, num_groups, -1)
        out = _normalize(grouped, (2,), None, None, (1, 1, 1), eps)[0].reshape(size)
    if weight is not None:
        out = out * weight.reshape(pshape)
    if bias is not None:
        out = out + bias.reshape(pshape)
    return out


def rms_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
             eps: float | None = None) -> Tensor:
    """Root-mean-square normalization over the last ``len(normalized_shape)`` dims::

        y = x / sqrt(mean(x^2) + eps) * weight

    ``eps=None`` means ``torch.finfo(input.dtype).eps`` (float32's for float16/bfloat16 inputs,
    which are computed in float32).  No mean is subtracted."""
    _check_input(input, "rms_norm", "rms_norm")
    shape = _shape_list(normalized_shape, "rms_norm")
    _check_normalized(input, shape, "*", weight=weight)
    _check_dtypes(input, weight)
    axes = tuple(range(input.dim() - len(shape), input.dim()))
    x = input.float() if input.dtype.np in _LOW else input   # accumulate in float32, as PyTorch
    if eps is None:  # the epsilon of the dtype computed in: float32's for float16/bfloat16
        eps = backend.finfo(x.dtype).eps
    out = x * ((x * x).mean(axes, keepdim=True) + eps).rsqrt()
    out = out.to(input.dtype) if x is not input else out
    return out * weight if weight is not None else out


def local_response_norm(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                        k: float = 1.0) -> Tensor:
    """Local response normalization across channels of x (N, C, *)::

        b_c = a_c * (k + alpha / n * sum_{c' = c - n/2}^{c + (n-1)/2} a_{c'}^2)^(-beta)

    The windowed sum is an average pool over the channel axis of the zero-padded squares."""
    from .pooling import avg_pool2d, avg_pool3d
    _check_input(input, "local_response_norm", "local_response_norm")
    dim = input.dim()
    if dim < 3:
        raise ValueError(f"Expected 3D or higher dimensionality                          input (got {dim} dimensions)")
    if input.numel() == 0:
        return input
    div = input.mul(input)
    if dim == 3:
        div = div.unsqueeze(1)
        div = pad(div, (0, 0, size // 2, (size - 1) // 2))
        div = avg_pool2d(div, (size, 1), stride=1).squeeze(1)
    else:
        sizes = input.size()
        div = div.view(sizes[0], 1, sizes[1], sizes[2], -1)
        div = pad(div, (0, 0, 0, 0, size // 2, (size - 1) // 2))
        div = avg_pool3d(div, (size, 1, 1), stride=1).squeeze(1)
        div = div.view(sizes)
    div = div.mul(alpha).add(k).pow(beta)
    return input / div


def _cross_map_lrn2d(input: Tensor, size: int, alpha: float = 1e-4, beta: float = 0.75,
                     k: float = 1.0) -> Tensor:
    """``CrossMapLRN2d``'s map (Lua Torch's): x (N, C, H, W) * (k + alpha/size * S)^(-beta), S the
    sum of squares over the channels within ``(size - 1) // 2`` of c.

    PyTorch computes S by a running sum whose removal test is off by one (``c > pre_pad``), so the
    square of channel 0 is never removed: for c >= pre_pad it stays in S.  We reproduce that, so
    the numbers are PyTorch's."""
    from .pooling import avg_pool3d
    _check_input(input, "CrossMapLRN2d", "CrossMapLRN2d")
    if input.dim() != 4:
        raise ValueError(f"CrossMapLRN2d: Expected input to be 4D, got {input.dim()}D instead.")
    pre_pad = int((size - 1) / 2 + 1)
    half = pre_pad - 1
    window = 2 * half + 1
    n, c, h, w = input.shape
    square = input.mul(input)
    s = pad(square.view(n, 1, c, h, w), (0, 0, 0, 0, half, half))
    s = avg_pool3d(s, (window, 1, 1), stride=1).squeeze(1) * window
    if c > pre_pad:
        keeps_first = (edunn.arange(c, device=input.device) >= pre_pad).to(input.dtype).view(1, c, 1, 1)
        s = s + square[:, :1] * keeps_first
    return input * (s * (alpha / size) + k).pow(-beta)
