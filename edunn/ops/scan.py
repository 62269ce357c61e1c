"""Cumulative (scan) ops along one dim: ``cumsum``, ``cumprod``, ``cummax``, ``cummin``,
``logcumsumexp``.  Each output element depends on the input elements at and before it, so each
backward is a *reverse* scan of the gradient.  ``cumsum`` and ``cumprod`` take complex tensors
(``cumprod``'s gradient is then conjugated: ``grad * conj(dy/dx)``, PyTorch's convention).
"""
from __future__ import annotations

from typing import Any

from .. import backend, return_types
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from .elementwise import _FLOATS, _conj, _float_array, _where, _xp, exp, log
from .reduction import _accumulate_dtype
from ..amp import _policy as _autocast

__all__ = ['cumsum', 'cumprod', 'cummax', 'cummin', 'logcumsumexp']


def _reverse_cumsum(g: Tensor, dim: int) -> Tensor:
    """``out_i = sum_{k >= i} g_k`` = total - cumsum + g (no flip needed; differentiable)."""
    return g.sum(dim, keepdim=True) - cumsum(g, dim) + g


class _Flip(Function):
    """``y = x`` reversed along ``dim`` (its own derivative)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        return _xp(x).flip(x._data, dim)

    @staticmethod
    def backward(ctx, grad):
        return _Flip.apply(grad, ctx.dim), None


class CumSum(Function):
    """``y_i = sum_{k <= i} x_k``;  dL/dx_i = sum_{k >= i} dL/dy_k."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dim, np_dtype):
        ctx.dim = dim
        return _xp(x).cumsum(x._data, axis=dim, dtype=np_dtype)

    @staticmethod
    def backward(ctx, grad):
        return _reverse_cumsum(grad, ctx.dim), None, None


class CumProd(Function):
    """``y_i = prod_{k <= i} x_k``;  dL/dx_i = sum_{k >= i} g_k prod_{j <= k, j != i} x_j, which is
    ``reverse_cumsum(g * y) / x`` without zeros; zeros are handled exactly (first zero per slice).
    Complex: the same with ``conj(x)`` and ``conj(y)``."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dim, np_dtype):
        y = _xp(x).cumprod(x._data, axis=dim, dtype=np_dtype)
        ctx.dim = dim
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        if grad._data.dtype.kind == "c":
            x, y = _conj(x), _conj(y)
        if not (x._data == 0).any():
            return _reverse_cumsum(grad * y, ctx.dim) / x, None, None
        return Tensor._make(_cumprod_grad_with_zeros(x._data, y._data, grad._data, ctx.dim)), None, None


def _cumprod_grad_with_zeros(x: Any, y: Any, g: Any, dim: int) -> Any:
    """dL/dx for cumprod when x has zeros.  With z the first zero of a slice: positions before z
    get ``reverse_cumsum(g y)`` (over k < z) / x; position z gets
    ``prod_{j<z} x_j * sum_{k>=z} g_k prod_{z<j<=k} x_j``; positions after z get nothing."""
    xp = backend.array_module(x)
    x, y, g = (xp.moveaxis(a, dim, -1) for a in (x, y, g))
    n = x.shape[-1]
    ar = xp.arange(n)
    is_zero = x == 0
    first = xp.where(is_zero.any(-1), is_zero.argmax(-1), n)[..., None]
    before = ar < first
    gy = xp.where(before, g * y, 0)
    rev = gy.sum(-1, keepdims=True) - xp.cumsum(gy, -1) + gy
    term1 = xp.where(before, rev / xp.where(before, x, 1), 0)
    after = xp.cumprod(xp.where(ar <= first, 1, x), -1)  # prod_{z<j<=k} x_j for k >= z
    tail = xp.where(ar >= first, g * after, 0).sum(-1, keepdims=True)
    head = xp.where(before, x, 1).prod(-1, keepdims=True)
    term2 = xp.where(ar == first, head * tail, 0)
    return xp.moveaxis((term1 + term2).astype(x.dtype), -1, dim)


class _CumExtreme(Function):
    """``values_i = max_{k <= i} x_k`` (or min) and the index where it was (the latest on ties,
    as PyTorch); the gradient goes to that index."""

    @staticmethod
    def forward(ctx, x, dim, ufunc):
        xd = x._data
        xp = _xp(x)
        values = backend.ufunc_accumulate(ufunc, xd, dim)
        shape = [1] * xd.ndim
        shape[dim] = xd.shape[dim]
        ar = xp.arange(xd.shape[dim]).reshape(shape)
        hit = xd == values
        if xd.dtype in _FLOATS:
            hit = hit | xp.isnan(xd)
        indices = backend.ufunc_accumulate("maximum", xp.where(hit, ar, 0), dim).astype(backend.int64.np)
        ctx.dim, ctx.indices, ctx.n = dim, indices, xd.shape[dim]
        idx_t = Tensor._make(indices)
        ctx.mark_non_differentiable(idx_t)
        return values, idx_t

    @staticmethod
    def backward(ctx, grad, grad_indices):
        from .reduction import _PutAlong
        return _PutAlong.apply(grad, ctx.indices, ctx.dim, ctx.n), None, None


class LogCumSumExp(Function):
    """``y_i = log sum_{k <= i} exp(x_k)`` (pairwise ``logaddexp``, stable);
    dL/dx_j = sum_{k >= j} g_k exp(x_j - y_k), split by the sign of g to stay in log space."""

    @staticmethod
    def forward(ctx, x, dim):
        xd = _float_array(x)
        y = backend.ufunc_accumulate("logaddexp", xd, dim)
        ctx.dim = dim
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        d = ctx.dim

        def part(g_part: Tensor) -> Tensor:  # sum_{k>=j} g_k e^{x_j - y_k} for g_k >= 0
            pos = g_part._data > 0
            logs = _where(pos, log(_where(pos, g_part, 1.0)), float("-inf")) - y
            rev = _Flip.apply(logcumsumexp(_Flip.apply(logs, d), d), d)
            return exp(x + rev)

        pos = grad._data > 0
        zero = grad * 0
        return part(_where(pos, grad, zero)) - part(_where(pos, zero, -grad)), None


def cumsum(input: Tensor, dim: int, *, dtype: Any = None, out: Any = None) -> Tensor:
    if _autocast.active and out is None and dtype is None and "cumsum" in _autocast.listed: return _autocast.call("cumsum", cumsum, input, dim, dtype=dtype, out=out)  # noqa: E501,E701
    return write_out(CumSum.apply(input, wrap_dim(dim, input._data.ndim), _accumulate_dtype(input, dtype)), out)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None, out: Any = None) -> Tensor:
    if _autocast.active and out is None and dtype is None and "cumprod" in _autocast.listed: return _autocast.call("cumprod", cumprod, input, dim, dtype=dtype, out=out)  # noqa: E501,E701
    return write_out(CumProd.apply(input, wrap_dim(dim, input._data.ndim), _accumulate_dtype(input, dtype)), out)


def cummax(input: Tensor, dim: int, *, out: Any = None) -> Any:
    """``(values, indices)``: the running maximum along ``dim`` and where it was found."""
    values, indices = _CumExtreme.apply(input, wrap_dim(dim, input._data.ndim), "maximum")
    return write_out(return_types.cummax(values, indices), out)


def cummin(input: Tensor, dim: int, *, out: Any = None) -> Any:
    """``(values, indices)``: the running minimum along ``dim`` and where it was found."""
    values, indices = _CumExtreme.apply(input, wrap_dim(dim, input._data.ndim), "minimum")
    return write_out(return_types.cummin(values, indices), out)


def logcumsumexp(input: Tensor, dim: int, *, out: Any = None) -> Tensor:
    return write_out(LogCumSumExp.apply(input, wrap_dim(dim, input._data.ndim)), out)
