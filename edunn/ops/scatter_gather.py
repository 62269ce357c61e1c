"""Gather and scatter along a dim: ``gather``, ``scatter``, ``scatter_add``, ``scatter_reduce``,
``take_along_dim``.

For ``dim = 2``, ``gather`` reads ``out[i][j][k] = input[i][j][index[i][j][k]]`` and ``scatter``
writes ``out[i][j][index[i][j][k]] = src[i][j][k]``.  :func:`_dim_index` turns ``(dim, index)``
into one advanced-index tuple (every dim an open grid over ``index``'s shape, except ``dim``, which
takes ``index``'s values), so these are the two ops of ``indexing.py`` with that tuple:
``gather`` is :class:`~edunn.ops.indexing.Index` (its backward adds the gradient back into zeros:
the gradient of a gather is a scatter-add) and ``scatter``/``scatter_add`` are
:class:`~edunn.ops.indexing.IndexPut`.  Only ``scatter_reduce`` (``sum``, ``prod``, ``mean``,
``amax``, ``amin`` over the entries sent to one position) needs an op of its own,
:class:`ScatterReduce`, with PyTorch's backward formulas.  Lesson 01 (indexing semantics) and
lesson 02 (the gradient of a gather is a scatter-add).

Complex tensors work as real ones (``supports_complex``); ``scatter_reduce`` takes them for
``sum``, ``mean`` and ``prod`` (without gradients, as in PyTorch), not for ``amax``/``amin``,
which need an order.  These used to be part of ``indexing.py``, which re-exports them
(``edunn.ops.indexing.gather`` is this module's ``gather``).
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from .indexing import _INT64, BasicIndex, Index, IndexPut, _as_value, _check_index, _first_bad, take, where
from ..amp import _policy as _autocast

__all__ = ['gather', 'scatter', 'scatter_add', 'scatter_reduce', 'take_along_dim']


# ----------------------------------------------------------------------------------------------
# gather / scatter along a dim
# ----------------------------------------------------------------------------------------------
def _dim_index(x: Tensor, dim: int, index: Any, who: str) -> tuple:
    """The index tuple that picks ``x[i][j][index[i][j][k]]`` (for dim 2): every dim an open
    grid over ``index``'s shape, except ``dim``, which takes ``index``'s values."""
    arr = _check_index(index, who)
    xd = x._data
    if backend.device_of(arr) != backend.device_of(xd):
        arr = backend.to_device(arr, backend.device_of(xd))
    n = max(xd.ndim, 1)
    if arr.ndim != xd.ndim and not (arr.ndim <= 1 and xd.ndim <= 1):
        raise RuntimeError(f"Index tensor must have the same number of dimensions as input tensor "
                           f"(index shape {list(arr.shape)}, input shape {list(xd.shape)})")
    d = wrap_dim(dim, n)
    if xd.ndim == 0:
        return (arr.reshape(()),), d
    for k in range(xd.ndim):
        if k != d and arr.shape[k] > xd.shape[k]:
            raise RuntimeError(f"Size does not match at dimension {k} expected index {list(arr.shape)} to be "
                               f"smaller than self {list(xd.shape)} apart from dimension {d}")
    xp = backend.array_module(xd)
    if arr.size:  # PyTorch allows no negative index here; NumPy would count from the end and
        n_d = xd.shape[d]  # CuPy wrap around, so check (on a GPU at the next synchronisation)
        backend.device_assert(((arr < 0) | (arr >= n_d)).any(), lambda: RuntimeError(
            f"index {_first_bad(arr, n_d, 0)} is out of bounds for dimension {d} with size {n_d}"))
    idx = []
    for k, s in enumerate(arr.shape):
        if k == d:
            idx.append(arr.astype(_INT64))
        else:
            idx.append(xp.arange(s).reshape((1,) * k + (s,) + (1,) * (arr.ndim - k - 1)))
    return tuple(idx), d


def _src_part(src: Tensor, shape: tuple) -> Tensor:
    if src._data.shape == shape:
        return src
    if src._data.ndim != len(shape) or any(a < b for a, b in zip(src._data.shape, shape)):
        raise RuntimeError(f"Expected index {list(shape)} to be smaller than self apart from dimension "
                           f"and to be smaller size than src {list(src._data.shape)}")
    return BasicIndex.apply(src, tuple(slice(0, s) for s in shape), False)


@backend.on_input_device
def gather(input: Tensor, dim: int, index: Tensor, *, sparse_grad: bool = False, out: Any = None) -> Tensor:
    """``out[i][j][k] = input[i][j][index[i][j][k]]`` (dim 2).  Backward: scatter-add."""
    idx, _ = _dim_index(input, dim, index, "gather")
    return write_out(Index.apply(input, idx, True), out)


@backend.on_input_device
def scatter(input: Tensor, dim: int, index: Tensor, src: Any = None, *, value: Any = None,
            reduce: str | None = None) -> Tensor:
    """``out = input.clone(); out[i][j][index[i][j][k]] = src[i][j][k]`` (dim 2); ``src`` may be
    a number (``value=``).  ``reduce='add'|'multiply'`` combines instead of overwriting."""
    if src is None:
        src = value
    if src is None:
        raise TypeError("scatter() missing 1 required argument: 'src' or 'value'")
    if reduce is not None:
        mode = {"add": "sum", "multiply": "prod"}.get(reduce)
        if mode is None:
            raise RuntimeError(f"reduce argument must be either add or multiply, got {reduce}")
        if not isinstance(src, Tensor):
            from .creation import full
            src = full(tuple(_check_index(index, "scatter").shape), src, dtype=input.dtype, device=input.device)
        return scatter_reduce(input, dim, index, src, mode, include_self=True)
    idx, _ = _dim_index(input, dim, index, "scatter")
    if isinstance(src, Tensor):
        src = _src_part(src, tuple(_check_index(index, "scatter").shape))
    return IndexPut.apply(input, _as_value(src, input), idx, False)


@backend.on_input_device
def scatter_add(input: Tensor, dim: int, index: Tensor, src: Tensor) -> Tensor:
    """``out[i][j][index[i][j][k]] += src[i][j][k]`` (dim 2), repeated positions adding up."""
    if _autocast.active and "scatter_add" in _autocast.listed: return _autocast.call("scatter_add", scatter_add, input, dim, index, src)  # noqa: E501,E701
    idx, _ = _dim_index(input, dim, index, "scatter_add")
    src = _src_part(src, tuple(_check_index(index, "scatter_add").shape))
    return IndexPut.apply(input, src, idx, True)


@backend.on_input_device
def take_along_dim(input: Tensor, indices: Tensor, dim: int | None = None, *, out: Any = None) -> Tensor:
    """``gather`` after broadcasting ``input`` and ``indices`` over every dim but ``dim``."""
    if dim is None:
        return write_out(take(input, indices.reshape((-1,))), out)
    from .shape import expand
    arr = _check_index(indices, "take_along_dim")
    d = wrap_dim(dim, input._data.ndim)
    if arr.ndim != input._data.ndim:
        raise RuntimeError("torch.take_along_dim(): input and indices should have the same number of "
                           f"dimensions, but got {input._data.ndim} dimensions for input, and {arr.ndim} "
                           "dimensions for indices")
    shape = [max(a, b) for a, b in zip(input._data.shape, arr.shape)]
    xs, ixs = list(shape), list(shape)
    xs[d], ixs[d] = input._data.shape[d], arr.shape[d]
    x = expand(input, xs)
    ind = backend.array_module(arr).broadcast_to(arr, tuple(ixs))
    return write_out(gather(x, d, Tensor._make(ind)), out)



# ----------------------------------------------------------------------------------------------
# scatter_reduce
# ----------------------------------------------------------------------------------------------
_UFUNC = {"sum": "add", "mean": "add", "prod": "multiply", "amax": "maximum", "amin": "minimum"}


class ScatterReduce(Function):
    """``out[..index..] = reduce(out[..index..], src)`` over every src entry sent to a position
    (``sum``, ``prod``, ``mean``, ``amax``, ``amin``), starting from ``input`` or, without
    ``include_self``, from the reduction's identity.  Backward (PyTorch's formulas): sum passes
    the gradient, mean divides it by the count, prod multiplies by ``out / value`` (for nonzero
    values), amax/amin share it evenly between the entries equal to the result.  Complex tensors:
    sum, mean and prod, without gradients; amax/amin refuse them, as PyTorch."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, src, idx, reduce, include_self):
        xd, sd = x._data, src._data
        if xd.dtype.kind == "c" or sd.dtype.kind == "c":
            if reduce in ("amax", "amin"):
                raise NotImplementedError(f'"scatter_gather_tensor_cpu_reduce_{reduce}" not implemented for '
                                          f"'{backend.dtype_of(xd).scalar_name}'")
            if any(e is not None for e in ctx._next):  # as PyTorch, which has no complex formula here
                raise RuntimeError("scatter_reduce does not support automatic differentiation for outputs "
                                   "with complex dtype.")
        xp = backend.array_module(xd)
        sd = sd if sd.dtype == xd.dtype else sd.astype(xd.dtype)
        out = xd.copy()
        touched = xp.zeros(xd.shape, bool)
        touched[idx] = True
        if not include_self:
            if reduce in ("sum", "mean"):
                ident = 0
            elif reduce == "prod":
                ident = 1
            elif xd.dtype.kind == "f":
                ident = -backend.inf if reduce == "amax" else backend.inf
            else:
                info = backend.iinfo(backend.dtype_of(xd))
                ident = info.min if reduce == "amax" else info.max
            out[touched] = ident
        backend.scatter_reduce_at(out, idx, sd, _UFUNC[reduce])
        count = None
        if reduce == "mean":
            count = xp.ones(xd.shape, xd.dtype)
            if not include_self:
                count[touched] = 0
            backend.scatter_add_at(count, idx, xp.ones(sd.shape, xd.dtype))
            count = xp.maximum(count, 1)
            out = out / count if xd.dtype.kind in "fc" else out // count
        ctx.idx, ctx.reduce, ctx.include_self = idx, reduce, include_self
        ctx.touched, ctx.count = touched, count
        ctx.save_for_backward(x, src, out)
        return out

    @staticmethod
    def backward(ctx, grad):
        x, src, out = ctx.saved_tensors
        idx, reduce, touched = ctx.idx, ctx.reduce, Tensor._make(ctx.touched)
        keep_self = ctx.include_self
        if reduce in ("sum", "mean"):
            g = grad / Tensor._make(ctx.count) if reduce == "mean" else grad
            gx = g if keep_self else where(touched, 0, g)
            return gx, Index.apply(g, idx, True), None, None, None
        if reduce == "prod":
            gx = grad * out / x if keep_self else where(touched, 0, grad)
            gsrc = Index.apply(grad * out, idx, True) / src
            return gx, gsrc, None, None, None
        # amax / amin: the gradient is shared between all entries equal to the result.
        self_hits = where(touched, (x == out) if keep_self else False, True).to(grad.dtype)
        out_at = Index.apply(out, idx, True)
        src_hits = (src == out_at).to(grad.dtype)
        n = IndexPut.apply(self_hits, src_hits, idx, True)
        share = grad / n
        return share * self_hits, Index.apply(share, idx, True) * src_hits, None, None, None


@backend.on_input_device
def scatter_reduce(input: Tensor, dim: int, index: Tensor, src: Tensor, reduce: str, *,
                   include_self: bool = True) -> Tensor:
    if reduce not in _UFUNC:
        raise RuntimeError(f"reduce argument must be either sum, prod, mean, amax or amin, got {reduce}")
    idx, _ = _dim_index(input, dim, index, "scatter_reduce")
    src = _src_part(src, tuple(_check_index(index, "scatter_reduce").shape))
    return ScatterReduce.apply(input, src, idx, reduce, bool(include_self))
