"""The softmax family (lesson 06): ``softmax``, ``log_softmax``, ``softmin`` and
``gumbel_softmax``.  They are ops (``x.softmax(dim)``, ``edunn.log_softmax``) as well as the
functions of ``edunn.nn.functional``, which re-exports them.

Softmax is computed stably, ``softmax(x) = softmax(x - max x)``, so logits of +-1e4 give rows that
sum to 1 and a finite ``log_softmax``; the backwards are fused ops of their own
(``dx = y (g - sum(g y))`` and ``dx = g - exp(y) sum(g)``), themselves differentiable, so double
backward works.
"""
from __future__ import annotations

import warnings
from typing import Any

import edunn
from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from .elementwise import _zeros_of
from ..amp import _policy as _autocast

__all__ = ['softmax', 'log_softmax', 'softmin', 'gumbel_softmax']

_FLOATS = frozenset(d.np for d in backend.ALL_DTYPES if d.is_floating_point)


def _check_tensor(input: Any, name: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, "
                        f"not {type(input).__name__}")


class Softmax(Function):
    """``y_i = exp(x_i) / sum_j exp(x_j)`` along ``dim``, computed as ``exp(x - max x)`` so no
    exponential overflows;  backward: ``dx = y (g - sum(g y))`` (one fused op, see below)."""
    log = False

    @classmethod
    def forward(cls, ctx, x, dim):
        xd = x._data
        xp = backend.array_module(xd)
        # float16/bfloat16 are summed in float32, as PyTorch accumulates them
        wd = xd.astype(backend.float32.np) if xd.dtype.itemsize < 4 else xd
        axis = dim if xd.ndim else None
        if xd.size == 0:
            y = wd.copy()
        else:
            with backend.numpy.errstate(invalid="ignore", divide="ignore", over="ignore"):
                z = wd - wd.max(axis=axis, keepdims=True)  # rows of -inf/+inf give NaN, as PyTorch
                if cls.log:  # z and e are fresh arrays: finish in place, no extra copy
                    z -= xp.log(xp.exp(z).sum(axis=axis, keepdims=True))
                    y = z
                else:
                    y = xp.exp(z)
                    y /= y.sum(axis=axis, keepdims=True)
        y = y.astype(xd.dtype, copy=False)
        ctx.dim = dim
        ctx.save_for_backward(y)
        return y

    @classmethod
    def backward(cls, ctx, grad):
        y, = ctx.saved_tensors
        if y.dim() == 0:  # softmax of one number is the constant 1 (log_softmax: 0)
            return _zeros_of(grad), None
        return (LogSoftmaxBackward if cls.log else SoftmaxBackward).apply(grad, y, ctx.dim), None


class LogSoftmax(Softmax):
    """``y_i = x_i - log sum_j exp(x_j)``, as ``(x - m) - log sum exp(x - m)`` with m = max x;
    backward: ``dx = g - exp(y) sum(g)``."""
    log = True


class SoftmaxBackward(Function):
    """``dx = y (g - sum_j g_j y_j)``: the Jacobian of softmax, ``diag(y) - y y^T``, applied to g
    without ever forming it.  As an op of its own so that it can be differentiated again:
    d/dg = the same map applied to gg;  d/dy = gg (g - S) - g sum(gg y), S = sum(g y)."""

    @staticmethod
    def forward(ctx, grad, y, dim):
        ctx.dim = dim
        ctx.save_for_backward(grad, y)
        gy = grad._data * y._data
        return gy - y._data * gy.sum(axis=dim, keepdims=True)

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        d = ctx.dim
        s = (grad * y).sum(d, keepdim=True)
        dgrad = SoftmaxBackward.apply(gg, y, d) if ctx.needs_input_grad[0] else None
        dy = gg * (grad - s) - grad * (gg * y).sum(d, keepdim=True) if ctx.needs_input_grad[1] else None
        return dgrad, dy, None


class LogSoftmaxBackward(Function):
    """``dx = g - exp(y) sum_j g_j`` (softmax(x) = exp(y)); differentiable:
    d/dg_j = gg_j - sum_i gg_i exp(y_i);  d/dy = -gg exp(y) sum(g)."""

    @staticmethod
    def forward(ctx, grad, y, dim):
        ctx.dim = dim
        ctx.save_for_backward(grad, y)
        xp = backend.array_module(y._data)
        gd = grad._data
        return gd - xp.exp(y._data) * gd.sum(axis=dim, keepdims=True)

    @staticmethod
    def backward(ctx, gg):
        grad, y = ctx.saved_tensors
        d = ctx.dim
        p = edunn.exp(y)
        dgrad = gg - (gg * p).sum(d, keepdim=True) if ctx.needs_input_grad[0] else None
        dy = -gg * p * grad.sum(d, keepdim=True) if ctx.needs_input_grad[1] else None
        return dgrad, dy, None


def _get_softmax_dim(name: str, ndim: int, stacklevel: int) -> int:
    """PyTorch's legacy choice when ``dim`` is not given (deprecated, so it warns)."""
    warnings.warn(
        f"Implicit dimension choice for {name} has been deprecated. "
        "Change the call to include dim=X as an argument.",
        stacklevel=stacklevel,
    )
    return 0 if ndim in (0, 1, 3) else 1


def _softmax_apply(cls: type, name: str, input: Tensor, dim: int, dtype: Any) -> Tensor:
    _check_tensor(input, name)
    if dtype is not None:
        input = input.to(backend.as_dtype(dtype))
    d = wrap_dim(dim, input.dim())
    if input.dtype.np not in _FLOATS:  # PyTorch's kernel for the last dim has its own name
        kernel = "lastdim_kernel_impl" if d >= input.dim() - 1 else "kernel_impl"
        raise NotImplementedError(
            f"\"{name}_{kernel}\" not implemented for '{input.dtype.scalar_name}'")
    return cls.apply(input, d)


def softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """``Softmax(x_i) = exp(x_i) / sum_j exp(x_j)`` along ``dim``: every slice sums to 1.

    ``dtype``: cast the input to it first (to compute a float16 model's softmax in float32).
    Computed stably (shift by the maximum) with a fused backward (lesson 06)."""
    if _autocast.active and dtype is None and "softmax" in _autocast.listed: return _autocast.call("softmax", softmax, input, dim, _stacklevel, dtype)  # noqa: E501,E701
    if dim is None:
        dim = _get_softmax_dim("softmax", input.dim(), _stacklevel)
    return _softmax_apply(Softmax, "softmax", input, dim, dtype)


def log_softmax(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """``LogSoftmax(x_i) = x_i - log sum_j exp(x_j)`` along ``dim``: finite even where softmax
    underflows to 0, which is why cross-entropy is built on it (lesson 06)."""
    if _autocast.active and dtype is None and "log_softmax" in _autocast.listed: return _autocast.call("log_softmax", log_softmax, input, dim, _stacklevel, dtype)  # noqa: E501,E701
    if dim is None:
        dim = _get_softmax_dim("log_softmax", input.dim(), _stacklevel)
    return _softmax_apply(LogSoftmax, "log_softmax", input, dim, dtype)


def softmin(input: Tensor, dim: int | None = None, _stacklevel: int = 3, dtype: Any = None) -> Tensor:
    """``Softmin(x) = Softmax(-x)`` along ``dim``."""
    if _autocast.active and dtype is None and "softmin" in _autocast.listed: return _autocast.call("softmin", softmin, input, dim, _stacklevel, dtype)  # noqa: E501,E701
    if dim is None:
        dim = _get_softmax_dim("softmin", input.dim(), _stacklevel)
    _check_tensor(input, "softmin")
    if dtype is not None:
        input = input.to(backend.as_dtype(dtype))
    return _softmax_apply(Softmax, "softmax", -input, dim, None)


@backend.on_input_device
def gumbel_softmax(logits: Tensor, tau: float = 1, hard: bool = False, eps: float = 1e-10,
                   dim: int = -1) -> Tensor:
    """A differentiable sample from the categorical distribution ``softmax(logits)``:
    ``y = softmax((logits + G) / tau)`` with Gumbel(0, 1) noise ``G = -log(E)``, ``E ~ Exp(1)``.

    ``hard=True`` returns the one-hot vector of the sample's argmax, differentiated as if it were
    the soft sample (straight-through: ``y_hard - y_soft.detach() + y_soft``).  ``eps`` is
    deprecated and ignored, as in PyTorch."""
    _check_tensor(logits, "gumbel_softmax")
    if eps != 1e-10:
        warnings.warn("`eps` parameter is deprecated and has no effect.", stacklevel=2)
    gumbels = -edunn.empty_like(logits).exponential_().log()  # ~Gumbel(0, 1)
    y_soft = softmax((logits + gumbels) / tau, dim)
    if not hard:
        return y_soft
    index = y_soft.max(dim, keepdim=True)[1]
    y_hard = edunn.zeros_like(logits).scatter_(dim, index, 1.0)
    return y_hard - y_soft.detach() + y_soft
