"""Reductions: ``sum``, ``mean``, ``prod``, ``max``, ``var``, ``norm``, ``logsumexp`` ... over all
elements or along ``dim`` (an int or a tuple), with ``keepdim``.

Every backward starts the same way: the gradient has the reduced shape, so it is reshaped to the
*kept* shape (size 1 in each reduced dim) and broadcast back over the input.  Cumulative ops
(``cumsum`` ...) are in ``scan.py``, order statistics (``median``, ``quantile`` ...) in
``statistics.py``; both are re-exported here.

Complex tensors: ``sum``, ``mean``, ``prod`` stay complex (``prod``'s gradient is conjugated,
PyTorch's ``grad * conj(dy/dx)``); ``var``/``std`` and ``norm`` give real results, whose real
gradients flow back as ``2 (x - mean) grad / (N - correction)`` and ``grad * sgn(x) ...``.
``logsumexp`` is complex too (its shift is the largest real part, its gradient conjugated);
``nansum``/``nanmean`` sum complex tensors on CUDA and refuse them on the CPU, as PyTorch does.
Order-based reductions (``max``, ``amax``, ``median`` ...) refuse complex, as in PyTorch.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

from .. import backend, return_types
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from .broadcast import broadcast_to
from .elementwise import _FLOATS, _INEXACT, _conj, _float_array, _where, _xp, maximum, minimum
from ._operands import _REDUCED, _widened
from .unary import abs as _abs, sgn, sqrt
from ..amp import _policy as _autocast

__all__ = ['sum', 'nansum', 'mean', 'nanmean', 'prod', 'max', 'min', 'amax', 'amin', 'aminmax',
           'argmax', 'argmin', 'var', 'std', 'var_mean', 'std_mean', 'norm', 'logsumexp', 'all',
           'any', 'count_nonzero']


def _dims(dim: Any, ndim: int) -> tuple | None:
    """``dim`` as a sorted tuple of non-negative axes (None or () means all)."""
    if dim is None:
        return None
    if isinstance(dim, int):
        d = wrap_dim(dim, ndim)
        return (d,) if ndim else None   # a 0-d tensor's one dim (0 or -1): its only element
    dims = tuple(sorted(wrap_dim(d, ndim) for d in dim))
    if len(set(dims)) != len(dims):
        raise RuntimeError(f"dim {list(dim)} appears multiple times in the list of dims")
    return dims if dims and ndim else None


def _keepdim_shape(shape: tuple, dims: tuple | None) -> tuple:
    if dims is None:
        return (1,) * len(shape)
    return tuple(1 if i in dims else s for i, s in enumerate(shape))


def _count(shape: tuple, dims: tuple | None) -> int:
    return math.prod(shape) if dims is None else math.prod(shape[d] for d in dims)


def _spread(grad: Tensor, kept: tuple, shape: tuple) -> Tensor:
    """The reduced gradient broadcast back over the input's shape."""
    return broadcast_to(grad.reshape(kept), shape)


def _const(array: Any) -> Tensor:
    return Tensor._make(array)


class _TakeAlong(Function):
    """``y = take_along_dim(x, index, dim)`` for a constant integer ``index`` array; the gradient
    is added back at the taken positions (``_PutAlong``)."""

    @staticmethod
    def forward(ctx, x, index, dim):
        ctx.index, ctx.dim, ctx.n = index, dim, x._data.shape[dim]
        return _xp(x).take_along_axis(x._data, index, dim)

    @staticmethod
    def backward(ctx, grad):
        return _PutAlong.apply(grad, ctx.index, ctx.dim, ctx.n), None, None


class _PutAlong(Function):
    """``y[.., j, ..] = sum of g[.., i, ..] over i with index[.., i, ..] == j`` (``n`` slots along
    ``dim``): the adjoint of ``_TakeAlong``, computed with a one-hot mask (no scatter needed)."""

    @staticmethod
    def forward(ctx, g, index, dim, n):
        ctx.index, ctx.dim = index, dim
        xp = _xp(g)
        gd, idx = xp.broadcast_arrays(g._data, index)
        gd, idx = xp.moveaxis(gd, dim, -1), xp.moveaxis(idx, dim, -1)
        onehot = idx[..., None] == xp.arange(n)
        # selected, not multiplied: a NaN or infinite g reaches its own slot only (0 * inf is NaN)
        out = xp.where(onehot, gd[..., None], xp.zeros((), gd.dtype)).sum(-2, dtype=gd.dtype)
        return xp.moveaxis(out, -1, dim)

    @staticmethod
    def backward(ctx, grad):
        return _TakeAlong.apply(grad, ctx.index, ctx.dim), None, None, None


def _take_along(x: Tensor, index: Any, dim: int, keepdim: bool) -> Tensor:
    out = _TakeAlong.apply(x, index, dim)
    if not keepdim:
        shape = out.shape
        out = out.reshape(tuple(s for i, s in enumerate(shape) if i != dim))
    return out


# ---------------------------------------------------------------------------------------- sums
def _quiet() -> Any:
    """Overflow to inf and 0/0 = NaN come out silently in PyTorch; NumPy would warn about them."""
    return backend.numpy.errstate(over="ignore", invalid="ignore")


def _accumulated(x: Tensor, how: str, dims: Any, keepdim: bool) -> Any:
    """``xp.<how>`` of a float16 or bfloat16 tensor in float32, rounded once to its dtype at the
    end, as PyTorch accumulates them (NumPy's bfloat16 sums add in bfloat16: a thousand 0.01s
    would come to 4.0, each addition rounding away what 0.01 adds to a total past 4)."""
    xd = x._data
    with _quiet():
        return _xp(x).asarray(getattr(_xp(x), how)(_widened(xd), axis=dims, keepdims=keepdim)).astype(xd.dtype)


class Sum(Function):
    """``y = sum(x, dim)``;  dy/dx = 1: the gradient is broadcast back over the summed dims."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        xd = x._data
        ctx.in_shape = xd.shape
        ctx.kept = _keepdim_shape(xd.shape, dims)
        if np_dtype is None and xd.dtype in _REDUCED:
            return _accumulated(x, "sum", dims, keepdim)
        with _quiet():  # an overflow to inf, silently as PyTorch
            return _xp(x).asarray(xd.sum(axis=dims, keepdims=keepdim, dtype=np_dtype))

    @staticmethod
    def backward(ctx, grad):
        return broadcast_to(grad.reshape(ctx.kept), ctx.in_shape), None, None, None


class NanSum(Function):
    """``y = sum of the non-NaN x``;  dy/dx = 1 where x is not NaN, else 0.  Complex: PyTorch
    sums complex tensors on CUDA only (a number with a NaN part counts as NaN) and refuses them
    on the CPU, and so does ``nansum`` below."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        xd = x._data
        ctx.in_shape, ctx.kept = xd.shape, _keepdim_shape(xd.shape, dims)
        ctx.keep = ~_xp(x).isnan(xd) if xd.dtype in _INEXACT else None
        if np_dtype is None and xd.dtype in _REDUCED:
            return _accumulated(x, "nansum", dims, keepdim)
        with _quiet():
            return _xp(x).asarray(_xp(x).nansum(xd, axis=dims, keepdims=keepdim, dtype=np_dtype))

    @staticmethod
    def backward(ctx, grad):
        g = _spread(grad, ctx.kept, ctx.in_shape)
        return (g if ctx.keep is None else _where(ctx.keep, g, g * 0)), None, None, None


class Mean(Function):
    """``y = sum(x, dim) / N``;  dy/dx = 1 / N."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        xd = x._data
        ctx.in_shape, ctx.kept = xd.shape, _keepdim_shape(xd.shape, dims)
        ctx.n = _count(xd.shape, dims)
        if np_dtype is None and xd.dtype in _REDUCED:
            return _accumulated(x, "mean", dims, keepdim)
        if xd.size:
            with _quiet():
                y = xd.mean(axis=dims, keepdims=keepdim, dtype=np_dtype)
        else:  # the mean of nothing is NaN, silently as PyTorch (NumPy warns "Mean of empty slice")
            with _quiet(), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                y = xd.mean(axis=dims, keepdims=keepdim, dtype=np_dtype)
        return _xp(x).asarray(y).astype(np_dtype or xd.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        return _spread(grad, ctx.kept, ctx.in_shape) / ctx.n, None, None, None


def _accumulate_dtype(input: Tensor, dtype: Any) -> Any:
    """The array dtype a sum or product accumulates in: ``dtype`` when given, int64 for bool and
    integer inputs (as PyTorch), else None (the input's own)."""
    if dtype is not None:
        return backend.as_dtype(dtype).np
    return backend.int64.np if input._data.dtype.kind in "biu" else None


def _check_float(input: Tensor, what: str, dtype: Any) -> Any:
    np_dtype = None if dtype is None else backend.as_dtype(dtype).np
    if (np_dtype or input._data.dtype) not in _INEXACT:
        raise RuntimeError(f"{what}(): could not infer output dtype. Input dtype must be either a "
                           f"floating point or complex dtype. Got: {input.dtype.name.capitalize()}")
    return np_dtype


def sum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, out: Any = None) -> Tensor:
    """Sum over ``dim`` (all dims when None); integers and bools are summed as int64."""
    if _autocast.active and out is None and dtype is None and "sum" in _autocast.listed: return _autocast.call("sum", sum, input, dim, keepdim, dtype=dtype, out=out)  # noqa: E501,E701
    return write_out(Sum.apply(input, _dims(dim, input._data.ndim), keepdim, _accumulate_dtype(input, dtype)), out)


def nansum(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, out: Any = None) -> Tensor:
    """Sum treating NaN as zero (complex tensors on CUDA only, as in PyTorch)."""
    if input._data.dtype.kind == "c" and input.device.type == "cpu":
        raise RuntimeError("nansum on CPU does not support complex inputs")
    return write_out(NanSum.apply(input, _dims(dim, input._data.ndim), keepdim, _accumulate_dtype(input, dtype)), out)


def mean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, out: Any = None) -> Tensor:
    """Mean over ``dim``; integer tensors need ``dtype=`` (as in PyTorch)."""
    np_dtype = _check_float(input, "mean", dtype)
    return write_out(Mean.apply(input, _dims(dim, input._data.ndim), keepdim, np_dtype), out)


@backend.on_input_device
def nanmean(input: Tensor, dim: Any = None, keepdim: bool = False, *, dtype: Any = None, out: Any = None) -> Tensor:
    """Mean of the non-NaN elements: ``nansum / count of non-NaN``."""
    np_dtype = _check_float(input, "nanmean", dtype)
    x = input if np_dtype is None else input.to(backend.as_dtype(np_dtype))
    dims = _dims(dim, x._data.ndim)
    count = (~_xp(x).isnan(x._data)).sum(axis=dims, keepdims=keepdim).astype(x._data.dtype)
    return write_out(nansum(x, dim, keepdim) / _const(count), out)


class Prod(Function):
    """``y = prod(x, dim)``;  dy/dx_i = prod of the other elements -- ``y / x_i`` without zeros; with
    one zero only that element gets a gradient; with two or more, none does.  Complex: the
    gradient is ``grad * conj(dy/dx_i)``."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, np_dtype):
        xd = x._data
        ctx.dims, ctx.kept = dims, _keepdim_shape(xd.shape, dims)
        ctx.save_for_backward(x)
        with _quiet():
            return _xp(x).asarray(xd.prod(axis=dims, keepdims=keepdim, dtype=np_dtype))

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        xd = x._data
        g = _spread(grad, ctx.kept, xd.shape)
        zero = xd == 0
        n_zero = zero.sum(axis=ctx.dims, keepdims=True)
        x_safe = _where(zero, 1.0, x)
        p = Prod.apply(x_safe, ctx.dims, True, None)  # product of the nonzero elements
        xp = _xp(x)
        no_zero = xp.broadcast_to(n_zero == 0, xd.shape)
        lone_zero = zero & (n_zero == 1)
        return g * _conj(_where(no_zero, p / x_safe, _where(lone_zero, p, 0.0))), None, None, None


def prod(input: Tensor, dim: int | None = None, keepdim: bool = False, *, dtype: Any = None, out: Any = None) -> Tensor:
    if _autocast.active and out is None and dtype is None and "prod" in _autocast.listed: return _autocast.call("prod", prod, input, dim, keepdim, dtype=dtype, out=out)  # noqa: E501,E701
    return write_out(Prod.apply(input, _dims(dim, input._data.ndim), keepdim, _accumulate_dtype(input, dtype)), out)


# ---------------------------------------------------------------------------------------- extremes
class _Select(Function):
    """``y = reducer(x)`` where the result is one of x's values (``amax``, ``median()`` ...): the
    gradient is shared evenly by every element equal to the result, as PyTorch's ``amax``.
    ``fill``: the other elements get exactly 0 even from a NaN or infinite gradient (PyTorch's
    ``max()``, ``min()`` and ``median()`` of a whole tensor fill the hits, and a NaN result sends
    the gradient to the NaN; ``amax`` multiplies, and a NaN result, equal to nothing, makes every
    element's gradient NaN, as PyTorch's 0/0)."""

    @staticmethod
    def forward(ctx, x, dims, keepdim, reducer, fill=False):
        xd = x._data
        y = reducer(xd, dims)  # with keepdims
        xp = _xp(x)
        hit = xd == y
        if xd.dtype in _FLOATS and fill:
            hit = hit | (xp.isnan(xd) & xp.isnan(y))
        ctx.shape, ctx.kept, ctx.fill = xd.shape, y.shape, fill
        if xd.dtype in _FLOATS:
            with _quiet():
                ctx.weight = (hit / hit.sum(axis=dims, keepdims=True)).astype(xd.dtype)
        return y if keepdim else y.reshape(tuple(s for i, s in enumerate(y.shape)
                                                 if dims is not None and i not in dims))

    @staticmethod
    def backward(ctx, grad):
        g = _spread(grad, ctx.kept, ctx.shape) * _const(ctx.weight)
        if ctx.fill:
            g = _where(ctx.weight != 0, g, 0.0)
        return g, None, None, None, None


def _amax(xd: Any, dims: Any) -> Any:
    return xd.max(axis=dims, keepdims=True)


def _amin(xd: Any, dims: Any) -> Any:
    return xd.min(axis=dims, keepdims=True)


def _check_nonempty(input: Tensor, name: str, dims: Any) -> None:
    if input._data.size == 0:
        raise IndexError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0, "
                         f"got a tensor of shape {list(input.shape)}")


def amax(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Tensor:
    """Largest value over ``dim`` (all dims for ``None`` or ``()``); ties share the gradient evenly."""
    dims = _dims(dim, input._data.ndim)
    _check_nonempty(input, "amax", dims)
    return write_out(_Select.apply(input, dims, keepdim, _amax), out)


def amin(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Tensor:
    """Smallest value over ``dim``; ties share the gradient evenly."""
    dims = _dims(dim, input._data.ndim)
    _check_nonempty(input, "amin", dims)
    return write_out(_Select.apply(input, dims, keepdim, _amin), out)


def _extreme(input: Tensor, dim: Any, keepdim: bool, name: str) -> Any:
    if isinstance(dim, Tensor):  # x.max(other) is the elementwise maximum
        return (maximum if name == "max" else minimum)(input, dim)
    if input._data.dtype.kind == "c":  # complex numbers have no order (argmax would pick one)
        raise RuntimeError(f"{name}(): does not support complex input")
    if dim is None:   # of everything: amax/amin's value, with the hits filled (PyTorch's max())
        if input._data.size == 0:
            raise RuntimeError(f"{name}(): Expected reduction dim to be specified for input.numel() == 0. "
                               "Specify the reduction dim with the 'dim' argument.")
        return _Select.apply(input, None, False, _amax if name == "max" else _amin, True)
    d = wrap_dim(dim, input._data.ndim)
    xd = input._data
    if xd.ndim == 0:
        idx = _xp(input).zeros((), backend.int64.np)
        return getattr(return_types, name)(input.clone() if input.requires_grad else input, Tensor._make(idx))
    arg = (_xp(input).argmax if name == "max" else _xp(input).argmin)(xd, axis=d, keepdims=True)
    values = _take_along(input, arg, d, keepdim)
    indices = Tensor._make((arg if keepdim else arg.squeeze(d)).astype(backend.int64.np))
    return getattr(return_types, name)(values, indices)


@backend.on_input_device
def max(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Tensor | None = None,
        out: Any = None) -> Any:
    """``max(x)``: the largest value (0-dim); ``max(x, dim)``: ``(values, indices)`` along dim;
    ``max(x, other)`` (or ``other=``): the elementwise maximum."""
    return write_out(_extreme(input, _dim_or_other(dim, other), keepdim, "max"), out)


@backend.on_input_device
def min(input: Tensor, dim: Any = None, keepdim: bool = False, *, other: Tensor | None = None,
        out: Any = None) -> Any:
    """``min(x)``, ``min(x, dim) -> (values, indices)`` or ``min(x, other)``, like ``max``."""
    return write_out(_extreme(input, _dim_or_other(dim, other), keepdim, "min"), out)


def _dim_or_other(dim: Any, other: Any) -> Any:
    """``max(x, other=y)`` is ``max(x, y)``: the overloads share the second position."""
    if other is None:
        return dim
    if dim is not None:
        raise TypeError("max()/min() got both dim and other: pass one of them")
    if not isinstance(other, Tensor):
        raise TypeError(f"max()/min(): other must be a Tensor, got {type(other).__name__}")
    return other


def aminmax(input: Tensor, *, dim: int | None = None, keepdim: bool = False, out: Any = None) -> Any:
    """``(min, max)`` in one call."""
    d = () if dim is None else dim
    return write_out(return_types.aminmax(amin(input, d, keepdim), amax(input, d, keepdim)), out)


def _arg(input: Tensor, dim: Any, keepdim: bool, fn: str) -> Tensor:
    xd = input._data
    if xd.dtype.kind == "c":
        raise RuntimeError(f"{fn}(): does not support complex input")
    xp = _xp(input)
    if dim is None:
        out = getattr(xp, fn)(xd.reshape(-1))
        if keepdim:
            out = out.reshape((1,) * xd.ndim)
    else:
        out = getattr(xp, fn)(xd, axis=wrap_dim(dim, xd.ndim), keepdims=keepdim)
    return Tensor._make(xp.asarray(out).astype(backend.int64.np))


@backend.on_input_device
def argmax(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the largest value (of the flattened tensor when ``dim`` is None)."""
    return _arg(input, dim, keepdim, "argmax")


@backend.on_input_device
def argmin(input: Tensor, dim: int | None = None, keepdim: bool = False) -> Tensor:
    """Index of the smallest value (of the flattened tensor when ``dim`` is None)."""
    return _arg(input, dim, keepdim, "argmin")


# ---------------------------------------------------------------------------------------- spread
class Var(Function):
    """``y = sum(|x - mean|^2) / (N - correction)``;  dy/dx = 2 (x - mean) / (N - correction).
    A complex ``x`` gives a real ``y``, and the same formula is its gradient (``|w|^2`` grows
    fastest in the direction ``2 w``)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dims, keepdim, correction):
        xd = x._data
        ctx.dims, ctx.kept = dims, _keepdim_shape(xd.shape, dims)
        ctx.denom = _count(xd.shape, dims) - correction
        ctx.save_for_backward(x)
        with backend.numpy.errstate(all="ignore"), warnings.catch_warnings():
            warnings.simplefilter("ignore", RuntimeWarning)  # NumPy's own "Degrees of freedom <= 0"
            y = _xp(x).asarray(_xp(x).var(_widened(xd), axis=dims, keepdims=keepdim, ddof=correction))
        return y.astype(xd.dtype if xd.dtype.kind != "c" else y.dtype)  # complex: real variance

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        centred = x - x.mean(ctx.dims, keepdim=True)
        scale = 2.0 / ctx.denom if ctx.denom else math.inf   # no degrees of freedom: NaN, as PyTorch
        return _spread(grad, ctx.kept, x.shape) * centred * scale, None, None, None


def _var_args(input: Tensor, dim: Any, unbiased: Any, correction: Any, name: str = "var") -> tuple:
    if isinstance(dim, bool):  # the old overload var(unbiased)
        dim, unbiased = None, dim
    if input._data.dtype not in _INEXACT:
        raise RuntimeError(f"std and var only support floating point and complex dtypes, got "
                           f"{input.dtype.name}")
    if correction is None:
        correction = 1 if unbiased is None or unbiased else 0
    elif unbiased is not None:
        raise RuntimeError("var/std: pass either unbiased or correction, not both")
    dims = _dims(dim, input._data.ndim)
    if _count(input._data.shape, dims) - correction <= 0:
        warnings.warn(f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "reduction factor (input numel divided by output numel).", UserWarning, stacklevel=3)
    return dims, correction


def var(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None, out: Any = None) -> Tensor:
    """Variance over ``dim`` with Bessel's ``correction`` (1 unless unbiased=False/correction=0)."""
    dims, c = _var_args(input, dim, unbiased, correction)
    return write_out(Var.apply(input, dims, keepdim, c), out)


def std(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
        correction: Any = None, out: Any = None) -> Tensor:
    """``sqrt(var)``."""
    dims, c = _var_args(input, dim, unbiased, correction, "std")
    return write_out(sqrt(Var.apply(input, dims, keepdim, c)), out)


def var_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None, out: Any = None) -> tuple:
    v = var(input, dim, unbiased, keepdim, correction=correction)
    return write_out((v, mean(input, None if isinstance(dim, bool) else dim, keepdim)), out)


def std_mean(input: Tensor, dim: Any = None, unbiased: Any = None, keepdim: bool = False, *,
             correction: Any = None, out: Any = None) -> tuple:
    s = std(input, dim, unbiased, keepdim, correction=correction)
    return write_out((s, mean(input, None if isinstance(dim, bool) else dim, keepdim)), out)


class Norm(Function):
    """``y = (sum |x|^p)^(1/p)`` (p = inf: max |x|, -inf: min |x|, 0: count of nonzeros);
    dy/dx = sign(x) |x|^(p-1) / y^(p-1), 0 where y = 0 (p = 2: x / y).  Complex ``x``: the norm
    of ``|x|``, real, and ``sgn(x) = x / |x|`` in place of ``sign(x)`` in the gradient."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, p, dims, keepdim):
        xd = _float_array(x)
        xp = _xp(x)
        a = xp.abs(xd)
        dtype, a = a.dtype, _widened(a)
        if p in (math.inf, -math.inf) and a.size == 0:  # max/min of nothing: no identity
            inf = "inf" if p > 0 else "-inf"
            empty = [d for d in (range(a.ndim) if dims is None else dims) if a.shape[d] == 0]
            if dims is None:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {inf} norm on an empty "
                                   "tensor because the operation does not have an identity")
            if empty:
                raise RuntimeError(f"linalg.vector_norm cannot compute the {inf} norm on the dimension "
                                   f"{empty[0]}because this dimension is empty and the operation does "
                                   "not have an identity")
        if p == math.inf:
            y = a.max(axis=dims, keepdims=True)
        elif p == -math.inf:
            y = a.min(axis=dims, keepdims=True)
        elif p == 0:
            y = (a != 0).sum(axis=dims, keepdims=True).astype(a.dtype)
        elif p == 1:
            y = a.sum(axis=dims, keepdims=True)
        elif p == 2:
            y = xp.sqrt((a * a).sum(axis=dims, keepdims=True))
        else:
            y = ((a ** p).sum(axis=dims, keepdims=True)) ** (1.0 / p)
        y = y.astype(dtype, copy=False)
        ctx.p, ctx.dims, ctx.kept = p, dims, y.shape
        out = y if keepdim else y.reshape(tuple(s for i, s in enumerate(y.shape)
                                                if dims is not None and i not in dims))
        ctx.save_for_backward(x, out)  # the output itself, so double backward differentiates it
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        y = y.reshape(ctx.kept)
        p = ctx.p
        g = _spread(grad, ctx.kept, x.shape)
        if p == 0:
            return g * 0, None, None, None
        if p == 1:
            return g * sgn(x), None, None, None
        if p in (math.inf, -math.inf):
            hit = _abs(x)._data == y._data
            w = (hit / hit.sum(axis=ctx.dims, keepdims=True)).astype(y._data.dtype)
            return g * sgn(x) * _const(w), None, None, None
        y_safe = _where(y == 0, 1.0, y)
        if p == 2:
            return g * x / y_safe, None, None, None
        ax = _abs(x)
        zero = x._data == 0
        d = sgn(x) * _where(zero, 0.0, _where(zero, 1.0, ax) ** (p - 1)) / y_safe ** (p - 1)
        return g * d, None, None, None


def norm(input: Tensor, p: Any = "fro", dim: Any = None, keepdim: bool = False, out: Any = None, dtype: Any = None) -> Tensor:
    """The vector p-norm over ``dim`` (all elements when None); ``'fro'`` is p = 2."""
    if _autocast.active and out is None and dtype is None and "norm" in _autocast.listed: return _autocast.call("norm", norm, input, p, dim, keepdim, out, dtype)  # noqa: E501,E701
    if dtype is not None:
        input = input.to(backend.as_dtype(dtype))
    if p == "fro" or p is None:
        p = 2
    if p == "nuc":
        from ..linalg import matrix_norm  # the sum of singular values: edunn.linalg's SVD
        return write_out(matrix_norm(input, "nuc", (-2, -1) if dim is None else dim, keepdim), out)
    if isinstance(p, str):
        raise RuntimeError(f"norm: p must be a number, 'fro' or 'nuc', got {p!r}")
    return write_out(Norm.apply(input, float(p), _dims(dim, input._data.ndim), keepdim), out)


class LogSumExp(Function):
    """``y = log sum exp(x)`` computed as ``m + log sum exp(x - m)`` with m = max(x) (rows of -inf
    give -inf);  dy/dx = exp(x - y) = softmax(x).

    Complex ``x`` (as PyTorch): m is the largest *real part* (``exp(x - m)`` then has moduli at
    most 1; the imaginary parts only turn it), and the gradient is conjugated, ``grad *
    conj(exp(x - y))`` (``y`` is holomorphic in each ``x_i``)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, dims, keepdim):
        xd = _float_array(x)
        dtype, xd = xd.dtype, _widened(xd)   # float16/bfloat16: summed in float32
        xp = _xp(x)
        real = xd.real if xd.dtype.kind == "c" else xd
        m = real.max(axis=dims, keepdims=True) if xd.size else xp.zeros(_keepdim_shape(xd.shape, dims), real.dtype)
        m = xp.where(xp.isfinite(m), m, 0)
        with backend.numpy.errstate(divide="ignore", invalid="ignore"):  # -inf rows; complex infinities
            y = (xp.log(xp.exp(xd - m).sum(axis=dims, keepdims=True)) + m).astype(dtype, copy=False)
        ctx.kept = y.shape
        out = y if keepdim else y.reshape(tuple(s for i, s in enumerate(y.shape)
                                                if dims is not None and i not in dims))
        ctx.save_for_backward(x, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, y = ctx.saved_tensors
        from .elementwise import exp
        return _spread(grad, ctx.kept, x.shape) * _conj(exp(x - y.reshape(ctx.kept))), None, None


def logsumexp(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "logsumexp" in _autocast.listed: return _autocast.call("logsumexp", logsumexp, input, dim, keepdim, out=out)  # noqa: E501,E701
    return write_out(LogSumExp.apply(input, _dims(dim, input._data.ndim), keepdim), out)


# ---------------------------------------------------------------------------------------- logical
def _logical(input: Tensor, dim: Any, keepdim: bool, fn: str) -> Tensor:
    xd = input._data
    dims = _dims(dim, xd.ndim)
    out = getattr(xd.astype(bool, copy=False), fn)(axis=dims, keepdims=keepdim)
    return Tensor._make(out.astype(xd.dtype) if xd.dtype == backend.uint8.np else out)


@backend.on_input_device
def all(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Tensor:
    """True where every element is nonzero (uint8 in, uint8 out, as in PyTorch)."""
    return write_out(_logical(input, dim, keepdim, "all"), out)


@backend.on_input_device
def any(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Tensor:
    """True where some element is nonzero."""
    return write_out(_logical(input, dim, keepdim, "any"), out)


@backend.on_input_device
def count_nonzero(input: Tensor, dim: Any = None) -> Tensor:
    xd = input._data
    out = (xd != 0).sum(axis=_dims(dim, xd.ndim))
    return Tensor._make(_xp(input).asarray(out).astype(backend.int64.np))


from .scan import *  # noqa: E402,F401,F403
from .scan import __all__ as _scan_all  # noqa: E402
from .statistics import *  # noqa: E402,F401,F403
from .statistics import __all__ as _statistics_all  # noqa: E402

__all__ = __all__ + _scan_all + _statistics_all
