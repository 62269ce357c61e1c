"""Joining and splitting tensors: ``cat``, ``stack``, ``split``, ``chunk``, ``unbind``,
``meshgrid``, ``broadcast_tensors`` ...

``cat`` and ``split`` are each other's derivative: the gradient of a concatenation is split into
the pieces' shapes, and the gradients of the pieces of a split are concatenated back (a piece
that was not used gets zeros, which the engine supplies).  Re-exported by ``shape.py``.
Complex tensors join and split like real ones (``supports_complex``).
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from ..amp import _policy as _autocast

__all__ = ['cat', 'concat', 'concatenate', 'stack', 'hstack', 'vstack', 'row_stack', 'dstack',
           'column_stack', 'atleast_1d', 'atleast_2d', 'atleast_3d', 'broadcast_tensors',
           'broadcast_shapes', 'meshgrid', 'split', 'tensor_split', 'chunk', 'unbind', 'hsplit',
           'vsplit', 'dsplit']


def _check_tensors(tensors: Any, who: str) -> list:
    if isinstance(tensors, Tensor) or not isinstance(tensors, (list, tuple)):
        raise TypeError(f"{who}(): argument 'tensors' must be a tuple or list of Tensors, "
                        f"not {type(tensors).__name__}")
    tensors = list(tensors)
    if not tensors:
        if who in ("cat", "concat", "concatenate"):  # torch.cat raises ValueError, the rest RuntimeError
            raise ValueError(f"torch.cat(): expected a non-empty list of Tensors")
        raise RuntimeError(f"{who} expects a non-empty TensorList")
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"{who}(): expected Tensor as element {i} in argument 0, but got "
                            f"{type(t).__name__}")
    return tensors


class Cat(Function):
    """``y = cat(tensors, dim)``.  Backward: the gradient split back into each input's extent
    along ``dim``."""
    supports_complex = True

    @staticmethod
    def forward(ctx, dim, np_dtype, *tensors):
        xp = backend.array_module(tensors[0]._data)
        arrays = [t._data if t._data.dtype == np_dtype else t._data.astype(np_dtype) for t in tensors]
        ctx.dim, ctx.sizes = dim, [a.shape[dim] for a in arrays]
        return xp.concatenate(arrays, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        return (None, None) + tuple(split(grad, ctx.sizes, ctx.dim))


def cat(tensors: Sequence[Tensor], dim: int = 0, *, out: Any = None) -> Tensor:
    """Concatenate along ``dim``; every other dim must match.  dtypes promote as in ``+``."""
    if _autocast.active and out is None and "cat" in _autocast.listed: return _autocast.call("cat", cat, tensors, dim, out=out)  # noqa: E501,E701
    tensors = _check_tensors(tensors, "cat")
    # PyTorch's legacy rule: 1-D empty tensors are skipped.
    kept = [t for t in tensors if not (t._data.ndim == 1 and t._data.shape[0] == 0)] or tensors[:1]
    ref = kept[0]
    dtype = backend.dtype_of(tensors[0]._data)
    for t in tensors[1:]:
        dtype = backend.promote_types(dtype, backend.dtype_of(t._data))
        if t.device != tensors[0].device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                               f"devices, {tensors[0].device} and {t.device}!")
    if ref._data.ndim == 0:
        raise RuntimeError("zero-dimensional tensor (at position 0) cannot be concatenated")
    d = wrap_dim(dim, ref._data.ndim)
    for i, t in enumerate(kept[1:], 1):
        if t._data.ndim != ref._data.ndim:
            raise RuntimeError(f"Tensors must have same number of dimensions: got {ref._data.ndim} and "
                               f"{t._data.ndim} (shapes {list(ref._data.shape)} and {list(t._data.shape)})")
        for k, (a, b) in enumerate(zip(ref._data.shape, t._data.shape)):
            if k != d and a != b:
                raise RuntimeError(
                    f"Sizes of tensors must match except in dimension {d}. Expected size {a} but got "
                    f"size {b} for tensor number {i} in the list (shapes {list(ref._data.shape)} and "
                    f"{list(t._data.shape)}).")
    return write_out(Cat.apply(d, dtype.np, *kept), out)


concat = cat


def concatenate(tensors: Sequence[Tensor], axis: int = 0, *, out: Any = None) -> Tensor:
    """``cat`` with NumPy's argument name (``torch.concatenate``)."""
    return cat(tensors, axis, out=out)


def stack(tensors: Sequence[Tensor], dim: int = 0, *, out: Any = None) -> Tensor:
    """Join along a new dim ``dim``; every tensor must have the same shape."""
    if _autocast.active and out is None and "stack" in _autocast.listed: return _autocast.call("stack", stack, tensors, dim, out=out)  # noqa: E501,E701
    from .shape import unsqueeze
    tensors = _check_tensors(tensors, "stack")
    shape = tensors[0]._data.shape
    for i, t in enumerate(tensors[1:], 1):
        if t._data.shape != shape:
            raise RuntimeError(f"stack expects each tensor to be equal size, but got {list(shape)} at "
                               f"entry 0 and {list(t._data.shape)} at entry {i}")
    d = wrap_dim(dim, len(shape) + 1)
    return write_out(cat([unsqueeze(t, d) for t in tensors], d), out)


def atleast_1d(*tensors: Any) -> Any:
    from .shape import reshape
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = [reshape(t, (1,)) if t._data.ndim == 0 else t for t in ts]
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else tuple(out)


def atleast_2d(*tensors: Any) -> Any:
    from .shape import reshape
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = [reshape(t, (1,) * (2 - t._data.ndim) + t._data.shape) if t._data.ndim < 2 else t for t in ts]
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else tuple(out)


def atleast_3d(*tensors: Any) -> Any:
    from .shape import reshape
    ts = tensors[0] if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else tensors
    out = []
    for t in ts:
        s = t._data.shape
        new = {0: (1, 1, 1), 1: (1,) + s + (1,), 2: s + (1,)}.get(len(s), s)
        out.append(reshape(t, new) if new != s else t)
    return out[0] if len(tensors) == 1 and isinstance(tensors[0], Tensor) else tuple(out)


def hstack(tensors: Sequence[Tensor], *, out: Any = None) -> Tensor:
    ts = atleast_1d(*_check_tensors(tensors, "hstack"))
    ts = (ts,) if isinstance(ts, Tensor) else ts
    return write_out(cat(list(ts), 0 if ts[0]._data.ndim == 1 else 1), out)


def vstack(tensors: Sequence[Tensor], *, out: Any = None) -> Tensor:
    ts = atleast_2d(*_check_tensors(tensors, "vstack"))
    return write_out(cat([ts] if isinstance(ts, Tensor) else list(ts), 0), out)


row_stack = vstack


def dstack(tensors: Sequence[Tensor], *, out: Any = None) -> Tensor:
    ts = atleast_3d(*_check_tensors(tensors, "dstack"))
    return write_out(cat([ts] if isinstance(ts, Tensor) else list(ts), 2), out)


def column_stack(tensors: Sequence[Tensor], *, out: Any = None) -> Tensor:
    from .shape import reshape
    ts = _check_tensors(tensors, "column_stack")
    ts = [reshape(t, (t._data.size, 1)) if t._data.ndim <= 1 else t for t in ts]
    return write_out(cat(ts, 1), out)


def broadcast_shapes(*shapes: Any) -> Any:
    from .broadcast import broadcast_shapes as _bs
    from ..tensor import Size
    return Size(_bs(*[(s,) if isinstance(s, int) else tuple(s) for s in shapes]))


def broadcast_tensors(*tensors: Tensor) -> tuple:
    from .shape import expand
    shape = broadcast_shapes(*[t._data.shape for t in tensors])
    return tuple(expand(t, shape) for t in tensors)


def meshgrid(*tensors: Any, indexing: str | None = None) -> tuple:
    """Coordinate grids from 1-D tensors: with ``indexing='ij'`` (the default) output k varies
    along dim k; with ``'xy'`` the first two dims are swapped (Cartesian, like NumPy's)."""
    from .shape import expand, reshape
    ts = list(tensors[0]) if len(tensors) == 1 and isinstance(tensors[0], (list, tuple)) else list(tensors)
    indexing = indexing or "ij"
    if indexing not in ("ij", "xy"):
        raise RuntimeError(f"torch.meshgrid: indexing must be one of \"xy\" or \"ij\", but received: {indexing}")
    for t in ts:
        if t._data.ndim > 1:
            raise RuntimeError(f"torch.meshgrid: Expected 0D or 1D tensor in the tensor list but got: "
                               f"{list(t._data.shape)}")
    ts = [reshape(t, (-1,)) for t in ts]
    swap = indexing == "xy" and len(ts) >= 2
    order = list(range(len(ts)))
    if swap:
        order[0], order[1] = 1, 0
    shape = tuple(ts[k]._data.shape[0] for k in order)
    out = []
    for i, t in enumerate(ts):
        pos = order.index(i)
        view = [1] * len(ts)
        view[pos] = t._data.shape[0]
        out.append(expand(reshape(t, tuple(view)), shape))
    return tuple(out)


# ----------------------------------------------------------------------------------------------
# splitting
# ----------------------------------------------------------------------------------------------
class SplitAt(Function):
    """Pieces of ``x`` along ``dim`` between ``bounds`` (views).  Backward: the pieces'
    gradients concatenated (zeros for a piece that got none)."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, dim, bounds):
        ctx.dim = dim
        pre = (slice(None),) * dim
        return tuple(x._data[pre + (slice(a, b),)] for a, b in zip(bounds[:-1], bounds[1:]))

    @staticmethod
    def backward(ctx, *grads):
        return Cat.apply(ctx.dim, grads[0]._data.dtype, *grads), None, None


def _split_at(x: Tensor, dim: int, bounds: list) -> tuple:
    out = SplitAt.apply(x, dim, tuple(bounds))
    return out if isinstance(out, tuple) else (out,)


def split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    """Pieces of ``split_size`` along ``dim`` (the last may be smaller), or of the given sizes."""
    d = wrap_dim(dim, tensor._data.ndim)
    n = tensor._data.shape[d]
    s = split_size_or_sections
    if isinstance(s, Tensor):
        s = s.tolist()
    if isinstance(s, int):
        if s <= 0 and n > 0 or s < 0:
            raise RuntimeError(f"split_size can only be 0 if dimension size is 0, but got dimension size of {n}")
        bounds = list(range(0, n, s)) + [n] if n else [0, 0]
    else:
        sizes = [int(k) for k in s]
        if sum(sizes) != n:
            raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input tensor's "
                               f"size at dimension {d}), but got split_sizes={sizes}")
        bounds = [0]
        for k in sizes:
            bounds.append(bounds[-1] + k)
    return _split_at(tensor, d, bounds)


def tensor_split(input: Tensor, sections: Any = None, dim: int = 0, *, indices: Any = None) -> tuple:
    """``sections`` (an int): that many nearly equal pieces (the first ``size % n`` one longer);
    a list of ``indices``: pieces cut at them.  Positionally either one, as in PyTorch."""
    if (sections is None) == (indices is None):
        raise TypeError("tensor_split() expects exactly one of sections (an int, or indices "
                        "positionally) and indices")
    d = wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    s = sections if indices is None else indices
    if isinstance(s, Tensor):
        s = s.item() if s._data.ndim == 0 else s.tolist()
    if isinstance(s, int):
        if s <= 0:
            raise RuntimeError(f"number of sections must be larger than 0, got {s}")
        q, r = divmod(n, s)
        bounds = [0]
        for k in range(s):
            bounds.append(bounds[-1] + q + (1 if k < r else 0))
    else:
        cuts = [min(max(int(i) + (n if int(i) < 0 else 0), 0), n) for i in s]
        bounds = [0] + cuts + [n]
        bounds = [bounds[0]] + [max(b, a) for a, b in zip(bounds[:-1], bounds[1:])]
    return _split_at(input, d, bounds)


def chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    """At most ``chunks`` pieces of size ``ceil(size / chunks)``."""
    if chunks <= 0:
        raise RuntimeError(f"chunk expects `chunks` to be greater than 0, got: {chunks}")
    d = wrap_dim(dim, input._data.ndim)
    n = input._data.shape[d]
    size = max(-(-n // chunks), 1) if n else 0
    return split(input, size, d) if n else _split_at(input, d, [0] * (chunks + 1))  # torch: `chunks` empty pieces


def _split_indices(input: Tensor, s: Any, dim: int, who: str) -> tuple:
    if isinstance(s, int) and input._data.shape[dim] % s:
        raise RuntimeError(f"torch.{who} attempted to split along dimension {dim}, but the size of the "
                           f"dimension {input._data.shape[dim]} is not divisible by the split_size {s}!")
    return tensor_split(input, s, dim)


def hsplit(input: Tensor, sections: Any) -> tuple:
    return _split_indices(input, sections, 1 if input._data.ndim > 1 else 0, "hsplit")


def vsplit(input: Tensor, sections: Any) -> tuple:
    return _split_indices(input, sections, 0, "vsplit")


def dsplit(input: Tensor, sections: Any) -> tuple:
    return _split_indices(input, sections, 2, "dsplit")


class Unbind(Function):
    """Every slice of ``x`` along ``dim`` (views).  Backward: the slices' gradients stacked."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, dim):
        ctx.dim = dim
        pre = (slice(None),) * dim
        return tuple(x._data[pre + (i,)] for i in range(x._data.shape[dim]))

    @staticmethod
    def backward(ctx, *grads):
        return stack(list(grads), ctx.dim), None


def unbind(input: Tensor, dim: int = 0) -> tuple:
    if input._data.ndim == 0:
        raise IndexError("Dimension specified as 0 but tensor has no dimensions")
    d = wrap_dim(dim, input._data.ndim)
    if input._data.shape[d] == 0:
        return ()
    out = Unbind.apply(input, d)
    return out if isinstance(out, tuple) else (out,)
