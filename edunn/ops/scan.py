"""Cumulative (scan) ops along one dim: ``cumsum``, ``cumprod``, ``cummax``, ``cummin``,
``logcumsumexp``.  Each output element depends on the input elements at and before it, so each
backward is a *reverse* scan of the gradient.  ``cumsum``, ``cumprod`` and ``logcumsumexp`` take
complex tensors (their gradients are then conjugated: ``grad * conj(dy/dx)``, PyTorch's
convention); ``cummax``/``cummin`` refuse them with PyTorch's error (complex numbers have no order).
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend, return_types
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from .elementwise import _FLOATS, _conj, _float_array, _where, _xp, exp, log
from ._operands import _REDUCED, _widened
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
        xd = x._data
        if np_dtype is None and xd.dtype in _REDUCED:  # float32 running sums, rounded one by one
            return _xp(x).cumsum(_widened(xd), axis=dim).astype(xd.dtype)
        return _xp(x).cumsum(xd, axis=dim, dtype=np_dtype)

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
        with backend.numpy.errstate(over="ignore", invalid="ignore"):  # inf silently, as PyTorch
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
    dL/dx_j = sum_{k >= j} g_k exp(x_j - y_k), split by the sign of g to stay in log space.
    Complex: see :func:`_logcumsumexp_complex`; the gradient is PyTorch's
    ``conj(exp(x_j + log sum_{k >= j} exp(log(conj g_k) - y_k)))`` (no sign split needed: the
    complex ``log`` of a negative number is finite)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dim):
        xd = _float_array(x)
        flat = xd.reshape(1) if xd.ndim == 0 else xd  # a 0-dim tensor is its own scan
        if xd.dtype.kind == "c":
            y = _logcumsumexp_complex(_xp(x), flat, dim)
        else:
            y = backend.ufunc_accumulate("logaddexp", flat, dim)
        y = y.reshape(xd.shape)
        ctx.dim = dim
        ctx.save_for_backward(x, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        d = ctx.dim
        if grad._data.ndim == 0 or grad._data.size == 0:  # y = x for a 0-dim tensor
            return grad, None
        if grad._data.dtype.kind == "c":
            from .complex import conj
            with backend.numpy.errstate(divide="ignore", invalid="ignore"):  # log(0) = -inf is fine
                log_g = log(conj(grad))
            rev = _Flip.apply(logcumsumexp(_Flip.apply(log_g - y, d), d), d)
            return conj(exp(x + rev)), None

        def part(g_part: Tensor) -> Tensor:  # sum_{k>=j} g_k e^{x_j - y_k} for g_k >= 0
            pos = g_part._data > 0
            logs = _where(pos, log(_where(pos, g_part, 1.0)), float("-inf")) - y
            rev = _Flip.apply(logcumsumexp(_Flip.apply(logs, d), d), d)
            return exp(x + rev)

        pos = grad._data > 0
        zero = grad * 0
        return part(_where(pos, grad, zero)) - part(_where(pos, zero, -grad)), None


def _logcumsumexp_complex(xp: Any, xd: Any, dim: int) -> Any:
    """Complex ``logcumsumexp`` with PyTorch's CPU values, imaginary parts included.

    PyTorch runs ``y_i = logaddexp(x_i, y_{i-1})`` left to right (``y_{-1} = -inf``) with its
    complex ``logaddexp``, ``hi + log1p(exp(lo - hi))`` where ``hi`` has the larger real part.
    That leaves ``Im y`` on no fixed branch: it stays within pi/2 of ``Im y_{i-1}`` while
    ``y_{i-1}`` is ``hi``, and restarts within pi/2 of ``Im x_i`` when ``x_i`` is (a *reset*,
    ``Re x_i >= Re y_{i-1}``).  A sequential loop is not vectorised, so we (1) compute the values
    up to multiples of 2 pi with a Hillis-Steele scan (log2(n) rounds of the same complex
    ``logaddexp``), then (2) put each imaginary part on PyTorch's branch: from the last reset
    ``r <= i``, ``Im y_i = Im y_r + sum_{r < j <= i} wrap(w_j - w_{j-1})`` (``w`` the angles from
    step 1, ``wrap`` into [-pi, pi)), ``Im y_r`` the branch nearest ``Im x_r``."""
    from .binary import _logaddexp_complex
    z = xp.moveaxis(xd, dim, -1)
    y = z.copy()
    n, step = z.shape[-1], 1
    if n == 0:
        return xd.copy()
    y[..., :1] = _logaddexp_complex(xp, z[..., :1], xp.full_like(z[..., :1], -math.inf))
    while step < n:
        y[..., step:] = _logaddexp_complex(xp, y[..., step:], y[..., :-step])
        step *= 2
    two_pi = 2 * math.pi

    def wrap(t: Any) -> Any:
        return t - two_pi * xp.floor(t / two_pi + 0.5)

    with backend.numpy.errstate(invalid="ignore"):
        w = y.imag
        prev_re = xp.concatenate([xp.full_like(y.real[..., :1], -math.inf), y.real[..., :-1]], -1)
        reset = ~(z.real < prev_re)
        reset[..., 0] = True
        delta = xp.concatenate([xp.zeros_like(w[..., :1]), wrap(w[..., 1:] - w[..., :-1])], -1)
        s = xp.cumsum(delta, -1)
        anchor = z.imag + wrap(w - z.imag)
        ar = xp.arange(n)
        last = backend.ufunc_accumulate("maximum", xp.where(reset, ar, 0), -1)
        imag = xp.take_along_axis(anchor - s, last, -1) + s
        ok = xp.isfinite(imag)
        y = xp.where(ok, y.real + 1j * xp.where(ok, imag, 0), y).astype(xd.dtype, copy=False)
    return xp.moveaxis(y, -1, dim)


def _scan(op: type, input: Tensor, dim: int, *args: Any) -> Any:
    """``op.apply(input, dim, *args)``; a 0-d tensor is scanned as one element along a dim of
    size 1 and stays 0-d, as in PyTorch (NumPy would hand back shape (1,))."""
    d = wrap_dim(dim, input._data.ndim)
    if input._data.ndim:
        return op.apply(input, d, *args)
    out = op.apply(input.reshape(1), 0, *args)
    return tuple(t.reshape(()) for t in out) if isinstance(out, tuple) else out.reshape(())


def cumsum(input: Tensor, dim: int, *, dtype: Any = None, out: Any = None) -> Tensor:
    if _autocast.active and out is None and dtype is None and "cumsum" in _autocast.listed: return _autocast.call("cumsum", cumsum, input, dim, dtype=dtype, out=out)  # noqa: E501,E701
    return write_out(_scan(CumSum, input, dim, _accumulate_dtype(input, dtype)), out)


def cumprod(input: Tensor, dim: int, *, dtype: Any = None, out: Any = None) -> Tensor:
    if _autocast.active and out is None and dtype is None and "cumprod" in _autocast.listed: return _autocast.call("cumprod", cumprod, input, dim, dtype=dtype, out=out)  # noqa: E501,E701
    return write_out(_scan(CumProd, input, dim, _accumulate_dtype(input, dtype)), out)


def _refuse_complex(op: str, input: Tensor) -> None:
    """Complex numbers have no order: PyTorch has no ``cummax``/``cummin`` kernel for them."""
    if input._data.dtype.kind == "c":
        raise NotImplementedError(f"\"{op}_{input.device.type}\" not implemented for "
                                  f"'{input.dtype.scalar_name}'")


def cummax(input: Tensor, dim: int, *, out: Any = None) -> Any:
    """``(values, indices)``: the running maximum along ``dim`` and where it was found."""
    _refuse_complex("cummax", input)
    values, indices = _scan(_CumExtreme, input, dim, "maximum")
    return write_out(return_types.cummax(values, indices), out)


def cummin(input: Tensor, dim: int, *, out: Any = None) -> Any:
    """``(values, indices)``: the running minimum along ``dim`` and where it was found."""
    _refuse_complex("cummin", input)
    values, indices = _scan(_CumExtreme, input, dim, "minimum")
    return write_out(return_types.cummin(values, indices), out)


def logcumsumexp(input: Tensor, dim: int, *, out: Any = None) -> Tensor:
    return write_out(_scan(LogCumSumExp, input, dim), out)
