"""Order statistics: ``median``, ``nanmedian``, ``mode``, ``quantile``, ``nanquantile``.

Each result is one of the input's elements (or, for ``quantile``, a blend of two), found by
sorting; the gradient goes back to the element(s) picked, through ``_TakeAlong``.  Complex
numbers have no order, so complex tensors are refused (PyTorch's error), never sorted somehow.
"""
from __future__ import annotations

from typing import Any

from .. import backend, return_types
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from .elementwise import _FLOATS, _where, _xp
from .reduction import _Select, _const, _take_along
from ..amp import _policy as _autocast

__all__ = ['median', 'nanmedian', 'mode', 'quantile', 'nanquantile']


def _median_index(xd: Any, dim: int, skip_nan: bool) -> Any:
    """Per slice along ``dim``: the index (into ``xd``) of the lower median; a NaN's index when the
    slice has one and ``skip_nan`` is False (PyTorch's ``median`` propagates NaN)."""
    xp = backend.array_module(xd)
    order = xp.argsort(xd, axis=dim, kind="stable")  # NaNs sort last
    n = xd.shape[dim]
    valid = (~xp.isnan(xd)).sum(axis=dim, keepdims=True) if xd.dtype in _FLOATS else \
        xp.full(tuple(1 if i == dim else s for i, s in enumerate(xd.shape)), n)
    if skip_nan:
        k = xp.maximum((valid - 1) // 2, 0)
    else:
        k = xp.where(valid < n, valid, (n - 1) // 2)
    return xp.take_along_axis(order, k, dim)


def _refuse_complex(input: Tensor, kernel: str) -> None:
    """PyTorch's error for an order statistic of a complex tensor."""
    if input._data.dtype.kind == "c":
        raise NotImplementedError(f'"{kernel}" not implemented for \'{input.dtype.scalar_name}\'')


def _median(input: Tensor, dim: Any, keepdim: bool, skip_nan: bool, name: str) -> Any:
    xd = input._data
    _refuse_complex(input, f"{name}_cpu")
    if dim is None:
        flat = xd.reshape(-1)
        if flat.size == 0:   # PyTorch: NaN (the smallest integer for an integer tensor)
            if xd.dtype.kind in "biu":
                return Tensor._make(_xp(input).asarray(backend.numpy.iinfo(xd.dtype).min, dtype=xd.dtype))
            return input.sum() * float("nan")

        def reducer(arr: Any, dims: Any) -> Any:
            pick = _median_index(arr.reshape(-1), 0, skip_nan)
            return arr.reshape(-1)[pick].reshape((1,) * arr.ndim)
        return _Select.apply(input, None, False, reducer, True)
    if xd.ndim == 0:
        return getattr(return_types, name)(input * 1, Tensor._make(_xp(input).zeros((), backend.int64.np)))
    d = wrap_dim(dim, xd.ndim)
    idx = _median_index(xd, d, skip_nan)
    values = _take_along(input, idx, d, keepdim)
    indices = Tensor._make((idx if keepdim else idx.squeeze(d)).astype(backend.int64.np))
    return getattr(return_types, name)(values, indices)


@backend.on_input_device
def median(input: Tensor, dim: int | None = None, keepdim: bool = False, *, out: Any = None) -> Any:
    """The lower median (the smaller of the two middle values for an even count).  Without
    ``dim``: a 0-dim tensor; with ``dim``: ``(values, indices)``.  NaN propagates."""
    return write_out(_median(input, dim, keepdim, False, "median"), out)


@backend.on_input_device
def nanmedian(input: Tensor, dim: int | None = None, keepdim: bool = False, *, out: Any = None) -> Any:
    """``median`` ignoring NaNs (NaN only where a slice is all NaN)."""
    return write_out(_median(input, dim, keepdim, True, "nanmedian"), out)


@backend.on_input_device
def mode(input: Tensor, dim: int = -1, keepdim: bool = False, *, out: Any = None) -> Any:
    """``(values, indices)``: the most frequent value along ``dim`` (the smallest on ties) and
    the last index where it occurs, as PyTorch.  Counting compares all pairs: O(n^2) per slice."""
    xd = input._data
    xp = _xp(input)
    _refuse_complex(input, "mode_cpu")
    if xd.ndim == 0:
        return write_out(return_types.mode(input * 1, Tensor._make(xp.zeros((), backend.int64.np))), out)
    d = wrap_dim(dim, xd.ndim)
    x = xp.moveaxis(xd, d, -1)
    s = xp.sort(x, axis=-1)
    counts = (s[..., :, None] == s[..., None, :]).sum(-1)
    best = xp.take_along_axis(s, counts.argmax(-1)[..., None], -1)  # first = smallest value
    n = x.shape[-1]
    last = xp.where(x == best, xp.arange(n), -1).max(-1, keepdims=True)
    idx = xp.moveaxis(last, -1, d)
    values = _take_along(input, idx, d, keepdim)
    indices = Tensor._make((idx if keepdim else idx.squeeze(d)).astype(backend.int64.np))
    return write_out(return_types.mode(values, indices), out)


_INTERPOLATIONS = ("linear", "lower", "higher", "midpoint", "nearest")


def _quantile(input: Tensor, q: Any, dim: Any, keepdim: bool, interpolation: str, skip_nan: bool,
              name: str) -> Tensor:
    xd = input._data
    xp = _xp(input)
    if xd.dtype not in _FLOATS:
        raise RuntimeError(f"{name}() input tensor must be either float or double dtype, got {input.dtype.name}")
    if interpolation not in _INTERPOLATIONS:
        raise ValueError(f"{name}() interpolation must be one of {', '.join(_INTERPOLATIONS)}. "
                         f"Got {interpolation}")
    q_is_tensor = isinstance(q, Tensor)
    qd = q._data.astype(xd.dtype) if q_is_tensor else xp.asarray(float(q), xd.dtype)
    if qd.ndim > 1:
        raise RuntimeError(f"{name}() q must be a scalar or 1D tensor, got {qd.ndim}D")
    if ((qd < 0) | (qd > 1)).any():
        raise RuntimeError(f"{name}() q values must be in the range [0, 1]")
    x = input
    out_ndim = xd.ndim
    if dim is not None:
        wrap_dim(dim, xd.ndim)
    whole = dim is None or xd.ndim == 0   # a 0-d tensor's one dim is all of it
    if whole:
        x = input.reshape((-1,))
        d = 0
    else:
        d = wrap_dim(dim, xd.ndim)
    data = x._data
    if data.shape[d] == 0:
        raise IndexError(f"{name}() input tensor must be non-empty")
    order = xp.argsort(data, axis=d, kind="stable")
    n = data.shape[d]
    nan = xp.isnan(data)
    valid = (~nan).sum(axis=d, keepdims=True)
    count = valid if skip_nan else xp.full(valid.shape, n)
    # q along a new leading axis: rank positions of shape (nq, ..., 1, ...)
    qk = qd.reshape((-1,) + (1,) * data.ndim)
    pos = qk * xp.maximum(count - 1, 0).astype(data.dtype)  # in the input's dtype, as PyTorch
    lo = xp.floor(pos).astype(backend.int64.np)
    hi = xp.ceil(pos).astype(backend.int64.np)
    frac = pos - lo
    if interpolation == "lower":
        hi, frac = lo, frac * 0
    elif interpolation == "higher":
        lo, frac = hi, frac * 0
    elif interpolation == "midpoint":
        frac = xp.where(hi > lo, 0.5, 0.0).astype(data.dtype)
    elif interpolation == "nearest":
        lo = hi = xp.round(pos).astype(backend.int64.np)
        frac = frac * 0
    order_b = order[None]
    i_lo = xp.take_along_axis(order_b, xp.minimum(lo, n - 1), d + 1)
    i_hi = xp.take_along_axis(order_b, xp.minimum(hi, n - 1), d + 1)
    xb = x.reshape((1,) + tuple(data.shape))
    a = _take_along(xb, i_lo, d + 1, True)
    b = _take_along(xb, i_hi, d + 1, True)
    w = _const(frac.astype(data.dtype))
    out = a + (b - a) * w
    if not skip_nan:
        out = _where(xp.broadcast_to(nan.any(axis=d, keepdims=True)[None], out.shape), float("nan"), out)
    # shape: (nq, kept...) -> drop or keep the reduced dim, drop nq for a scalar q
    shape = list(out.shape)
    if whole:
        shape = [shape[0]] + ([1] * out_ndim if keepdim else [])
    elif not keepdim:
        del shape[d + 1]
    if not (q_is_tensor and qd.ndim == 1):
        shape = shape[1:]
    return out.reshape(tuple(shape))


@backend.on_input_device
def quantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
             interpolation: str = "linear", out: Any = None) -> Tensor:
    """The q-th quantiles along ``dim`` (of all elements when None); for a 1-D ``q`` the
    quantiles are stacked along a new first dim.  ``linear``: x_lo + (x_hi - x_lo) * frac(q (n-1))."""
    if _autocast.active and out is None and "quantile" in _autocast.listed: return _autocast.call("quantile", quantile, input, q, dim, keepdim, interpolation=interpolation, out=out)  # noqa: E501,E701
    return write_out(_quantile(input, q, dim, keepdim, interpolation, False, "quantile"), out)


@backend.on_input_device
def nanquantile(input: Tensor, q: Any, dim: int | None = None, keepdim: bool = False, *,
                interpolation: str = "linear", out: Any = None) -> Tensor:
    """``quantile`` ignoring NaNs."""
    if _autocast.active and out is None and "nanquantile" in _autocast.listed: return _autocast.call("nanquantile", nanquantile, input, q, dim, keepdim, interpolation=interpolation, out=out)  # noqa: E501,E701
    return write_out(_quantile(input, q, dim, keepdim, interpolation, True, "nanquantile"), out)
