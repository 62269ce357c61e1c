"""Indexing: ``x[i]``, ``x[i] = v``, ``index_select``, ``masked_fill``, ``where`` ...

Everything here is built on two ops:

* :class:`Index` -- ``y = x[index]``.  Backward: the gradient added into zeros at ``index``
  (:class:`IndexBackward`); a position picked twice gets both gradients (``np.add.at``).
* :class:`IndexPut` -- ``y = x.clone(); y[index] = v`` (or ``+= v`` with ``accumulate``).
  Backward: x gets the gradient with the overwritten positions zeroed, v gets ``grad[index]``.

``index_select``, ``index_add``, ``masked_fill``, ``take``, ``put`` ... are those two ops with an
index tuple built for them, so their gradients come for free.  The family that works along one
dim with an index tensor of the input's rank (``gather``, ``scatter``, ``scatter_add``,
``scatter_reduce``, ``take_along_dim``) lives in ``scatter_gather.py`` and is re-exported here.
Lesson 01 (indexing semantics) and lesson 02 (the gradient of a gather is a scatter-add).

Indexing moves values, so complex tensors work as real ones (``supports_complex``).
"""
from __future__ import annotations

import re
from typing import Any, Sequence

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from ..amp import _policy as _autocast

__all__ = ['gather', 'scatter', 'scatter_add', 'scatter_reduce', 'index_select', 'index_add',
           'index_copy', 'index_fill', 'index_put', 'masked_fill', 'masked_select', 'masked_scatter',
           'take', 'take_along_dim', 'nonzero', 'nonzero_static', 'argwhere', 'where', 'put']

_INT64 = backend.int64.np


# ----------------------------------------------------------------------------------------------
# turning what users write between [] into something NumPy/CuPy index with
# ----------------------------------------------------------------------------------------------
def _index_array(obj: Any, x: Any) -> Any:
    """An index given as a tensor, list or array, as an array on ``x``'s device."""
    xp = backend.array_module(x)
    if isinstance(obj, Tensor):
        arr = obj._data
        if backend.device_of(arr) != backend.device_of(x):
            arr = backend.to_device(arr, backend.device_of(x))
    else:
        arr = xp.asarray(backend.to_numpy(obj) if backend.is_cupy_array(obj) and xp is not backend.array_module(obj) else obj)
        if arr.dtype.kind == "f" and arr.size == 0:
            arr = arr.astype(_INT64)
    if arr.dtype.kind not in "biu":
        raise IndexError("tensors used as indices must be long, int, byte or bool tensors "
                         f"(got {arr.dtype})")
    return arr


def _normalize(x: Any, index: Any) -> tuple[tuple, bool]:
    """``(index_tuple, is_advanced)`` for ``x[index]`` with PyTorch's meaning: tensors and lists
    are advanced indices, bool masks become the positions of their True entries."""
    if not isinstance(index, tuple):
        index = (index,)
    out = []
    masks = []   # (position in out, shape) of each boolean mask, checked against x below
    advanced = False
    for item in index:
        if item is None or item is Ellipsis or isinstance(item, slice):
            if isinstance(item, slice):
                item = slice(*(int(v) if isinstance(v, Tensor) else v for v in (item.start, item.stop, item.step)))
                if item.step is not None and item.step <= 0:
                    raise ValueError("step must be greater than zero")
            out.append(item)
        elif isinstance(item, bool):
            out.append(backend.array_module(x).asarray(item))
            advanced = True
        elif isinstance(item, int):
            out.append(item)
        elif isinstance(item, Tensor) and item._data.ndim == 0 and item._data.dtype.kind in "iu":
            out.append(int(item._data.item()))
        else:
            arr = _index_array(item, x)
            advanced = True
            if arr.dtype.kind == "b" and arr.ndim > 0:
                masks.append((len(out), arr.shape))
                out.extend(arr.nonzero())
            else:
                out.append(arr.astype(_INT64) if arr.dtype.kind == "u" else arr)
    if len(out) > x.ndim and _consumed(out) > x.ndim:
        raise IndexError(f"too many indices for tensor of dimension {x.ndim}")
    if masks:
        _check_masks(out, masks, x.shape)
    if advanced and backend.is_cupy_array(x):
        _check_bounds(out, x.shape)
    if advanced and any(i.__class__ is int for i in out):
        return _with_ints_selected_first(x, out), True
    return tuple(out), advanced


def _consumed(index: Sequence) -> int:
    """How many dimensions of the indexed tensor ``index`` names (None, ``...`` and a bool
    scalar name none)."""
    return sum(1 for i in index if i is not None and i is not Ellipsis
               and not (getattr(i, "ndim", 1) == 0 and getattr(i, "dtype", None) == bool))


def _check_masks(index: list, masks: list, shape: tuple) -> None:
    """Each boolean mask must have the shape of the dimensions it covers (NumPy would accept a
    longer mask whose extra entries are False), with PyTorch's IndexError."""
    consumed = _consumed(index)
    start, dim = {}, 0
    for k, item in enumerate(index):
        start[k] = dim
        if item is Ellipsis:
            dim += len(shape) - consumed
        elif item is not None and not (getattr(item, "ndim", 1) == 0 and getattr(item, "dtype", None) == bool):
            dim += 1
    for k, mask_shape in masks:
        d = start[k]
        for j, n in enumerate(mask_shape):
            if d + j >= len(shape) or shape[d + j] != n:
                raise IndexError(f"The shape of the mask {list(mask_shape)} at index {j} does not match the shape "
                                 f"of the indexed tensor {list(shape)} at index {d + j}")


def _with_ints_selected_first(x: Any, index: list) -> tuple:
    """An all-array index that gives PyTorch's result for ``x[index]`` when integers meet index
    arrays, as in ``x[0, :, [1, 2]]``.

    NumPy counts an integer as an index array, and index arrays separated by a slice put their
    dimensions first: its ``x[0, :, [1, 2]]`` has shape ``(2, x.shape[1])``.  PyTorch selects
    with the integers first (as ``select``), then places the index arrays' dimensions where they
    stand in what is left -- in place when they are next to each other there, else first -- so
    its result has shape ``(x.shape[1], 2)``.  Here every dimension of ``x`` is indexed by an
    array (a range for a slice) shaped so that broadcasting them gives PyTorch's layout."""
    xp = backend.array_module(x)
    if sum(1 for i in index if getattr(i, "ndim", 1) == 0 and getattr(i, "dtype", None) == bool):
        return tuple(index)   # x[True, ...] adds a dimension: left to NumPy, whose rule agrees
    consumed = _consumed(index)
    items = []   # what is left after the integers: ("basic", x dim or None, range) or ("array", x dim, arr)
    ints = {}    # x dim -> integer
    dim = 0
    for item in index:
        if item is Ellipsis:
            for _ in range(x.ndim - consumed):
                items.append(("basic", dim, xp.arange(x.shape[dim])))
                dim += 1
        elif item is None:
            items.append(("basic", None, xp.zeros(1, _INT64)))
        elif item.__class__ is int:
            ints[dim] = item
            dim += 1
        elif isinstance(item, slice):
            items.append(("basic", dim, xp.arange(*item.indices(x.shape[dim]))))
            dim += 1
        else:
            items.append(("array", dim, item))
            dim += 1
    while dim < x.ndim:   # dims not named in the index are taken whole
        items.append(("basic", dim, xp.arange(x.shape[dim])))
        dim += 1
    arrays = [i for i, (kind, _, _) in enumerate(items) if kind == "array"]
    shapes = [items[i][2].shape for i in arrays]
    try:
        block = backend.numpy.broadcast_shapes(*shapes)
    except ValueError:
        raise _mismatch(shapes) from None
    adjacent = arrays == list(range(arrays[0], arrays[-1] + 1))
    basic = [i for i, (kind, _, _) in enumerate(items) if kind == "basic"]
    before = sum(1 for i in basic if i < arrays[0]) if adjacent else 0
    ndim = len(basic) + len(block)
    axis = {}   # item position -> its output axis (basic items)
    for k, i in enumerate(basic):
        axis[i] = k if k < before else k + len(block)
    out = [None] * x.ndim
    for d, i in ints.items():
        out[d] = i
    for i, (kind, d, arr) in enumerate(items):
        if d is None:
            continue
        if kind == "basic":
            shape = [1] * ndim
            shape[axis[i]] = arr.shape[0]
            out[d] = arr.reshape(shape)
        else:
            lead = before + len(block) - arr.ndim
            out[d] = arr.reshape((1,) * lead + arr.shape + (1,) * (ndim - lead - arr.ndim))
    return tuple(out)   # a new axis (None) indexes no dimension of x: every array has size 1 there


def _first_bad(arr: Any, n: int, low: int | None = None) -> int:
    """The first entry of ``arr`` outside ``[low, n)`` (``low`` defaults to ``-n``), read on
    ``arr``'s device (a deferred GPU check may run while another device is current)."""
    with backend.device_context(backend.device_of(arr)):
        return int(arr[(arr < (-n if low is None else low)) | (arr >= n)].ravel()[0])


def _check_bounds(index: Sequence, shape: tuple) -> None:
    """Every integer index array in ``index`` within its dimension of ``shape``.  NumPy checks
    this itself; CuPy wraps around silently, so on a GPU the check is a device-side assert
    (reported at the next synchronisation, as PyTorch's CUDA kernels do)."""
    consumed = _consumed(index)
    dim = 0
    for item in index:
        if item is None or (getattr(item, "ndim", 1) == 0 and getattr(item, "dtype", None) == bool):
            continue  # a new axis: no dimension of x is consumed
        if item is Ellipsis:
            dim += len(shape) - consumed
            continue
        if hasattr(item, "dtype") and item.dtype.kind in "iu" and item.size and dim < len(shape):
            n = shape[dim]
            backend.device_assert(
                ((item < -n) | (item >= n)).any(),
                lambda item=item, n=n, dim=dim: IndexError(
                    f"index {_first_bad(item, n)} is out of bounds for dimension {dim} with size {n}"))
        dim += 1


def _basic_view(xd: Any, idx: tuple) -> Any:
    # A trailing Ellipsis makes NumPy return a 0-d array view instead of a scalar for x[i, j].
    return xd[idx] if any(i is Ellipsis for i in idx) else xd[idx + (Ellipsis,)]


def _dimension_error(err: IndexError) -> IndexError:
    """PyTorch's words for NumPy's IndexError: "dimension" for "axis" when out of bounds, and
    its message for index arrays that do not broadcast together."""
    text = str(err)
    found = re.match(r"shape mismatch: indexing arrays could not be broadcast together with shapes (.*)", text)
    if found:
        return _mismatch([tuple(int(n) for n in re.findall(r"\d+", s)) for s in re.findall(r"\([^)]*\)", found[1])])
    return IndexError(text.replace(" for axis ", " for dimension "))


def _mismatch(shapes: list) -> IndexError:
    return IndexError("shape mismatch: indexing tensors could not be broadcast together with shapes "
                      + ", ".join(str(list(s)) for s in shapes))


class Index(Function):
    """``y = x[index]`` with basic and advanced (integer array) indices.
    Backward: :class:`IndexBackward` -- zeros with the gradient added at ``index``."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, idx, advanced):
        ctx.args = (x._data.shape, idx, advanced)
        if not advanced:
            return _basic_view(x._data, idx)
        try:
            return x._data[idx]
        except IndexError as err:
            raise _dimension_error(err) from None

    @staticmethod
    def backward(ctx, grad):
        return IndexBackward.apply(grad, *ctx.args), None, None


class BasicIndex(Index):
    """``y = x[slices, ints, None, ...]``: a view of x."""
    supports_complex = True
    _is_view = True


class IndexBackward(Function):
    """``y = zeros(shape); y[index] += g`` once per occurrence of a position.  Backward: ``g[index]``."""
    supports_complex = True

    @staticmethod
    def forward(ctx, g, shape, idx, advanced):
        ctx.idx, ctx.advanced = idx, advanced
        out = backend.array_module(g._data).zeros(shape, g._data.dtype)
        if advanced:
            backend.scatter_add_at(out, idx, g._data)
        else:
            _basic_view(out, idx)[...] = g._data
        return out

    @staticmethod
    def backward(ctx, grad):
        return _index(grad, ctx.idx, ctx.advanced), None, None, None


def _index(x: Tensor, idx: tuple, advanced: bool) -> Tensor:
    return Index.apply(x, idx, True) if advanced else BasicIndex.apply(x, idx, False)


@backend.on_input_device
def getitem(input: Tensor, index: Any) -> Tensor:
    """``input[index]``: ints, slices, None, Ellipsis, integer/bool tensors or lists, mixed."""
    idx, advanced = _normalize(input._data, index)
    return _index(input, idx, advanced)


class IndexPut(Function):
    """``y = x.clone(); y[index] = v`` (``+= v`` with ``accumulate``; ``v`` broadcast).
    Backward: dL/dx = grad with the overwritten positions zeroed (all of grad when
    accumulating), dL/dv = grad[index] (summed over v's broadcast dims by the engine)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, v, idx, accumulate):
        xd = x._data
        vd = v._data if isinstance(v, Tensor) else v
        if hasattr(vd, "dtype") and vd.dtype != xd.dtype:
            vd = vd.astype(xd.dtype)
        ctx.idx, ctx.accumulate = idx, accumulate
        ctx.v_shape = v._data.shape if isinstance(v, Tensor) else None
        out = xd.copy()
        try:
            if accumulate:
                xp = backend.array_module(xd)
                target_shape = out[idx].shape
                backend.scatter_add_at(out, idx, xp.broadcast_to(xp.asarray(vd, dtype=xd.dtype), target_shape))
            else:
                out[idx] = vd
        except IndexError as err:
            raise _dimension_error(err) from None
        return out

    @staticmethod
    def backward(ctx, grad):
        need_x, need_v = (ctx.needs_input_grad + (False, False))[:2]
        gx = gv = None
        if need_x:
            gx = grad if ctx.accumulate else IndexPut.apply(grad, 0, ctx.idx, False)
        if need_v:
            gv = Index.apply(grad, ctx.idx, True)
            extra = len(ctx.v_shape) - gv._data.ndim
            if extra > 0:  # v had leading size-1 dims that NumPy dropped when assigning
                gv = gv.reshape((1,) * extra + gv._data.shape)
        return gx, gv, None, None


def _check_not_complex_into_real(value: Any, x: Tensor) -> None:
    """PyTorch's error for a Python complex number written into a real tensor (a bool tensor
    takes it: True when it is nonzero)."""
    if isinstance(value, complex) and x._data.dtype.kind not in "cb":
        name = {"float64": "double", "float32": "float"}.get(x.dtype.name, x.dtype.name)
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")


def _as_value(v: Any, x: Tensor) -> Any:
    if isinstance(v, Tensor):
        if v.device != x.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                               f"devices, {x.device} and {v.device}!")
        return v
    if isinstance(v, (int, float, bool, complex)):
        _check_not_complex_into_real(v, x)
        return v
    from .creation import tensor
    return tensor(v, dtype=x.dtype, device=x.device)


@backend.on_input_device
def index_put(input: Tensor, indices: Any, values: Any, accumulate: bool = False) -> Tensor:
    """``input`` with ``input[indices] = values`` (or ``+=``), out of place; ``x[i] = v`` calls it."""
    if _autocast.active and "index_put" in _autocast.listed: return _autocast.call("index_put", index_put, input, indices, values, accumulate)  # noqa: E501,E701
    idx, _ = _normalize(input._data, indices)
    return IndexPut.apply(input, _as_value(values, input), idx, bool(accumulate))


# ----------------------------------------------------------------------------------------------
# along a dim: index_select, index_add, index_copy, index_fill
# ----------------------------------------------------------------------------------------------
def _check_index(index: Any, who: str) -> Any:
    arr = index._data if isinstance(index, Tensor) else backend.array_module(index).asarray(index)
    if arr.dtype.kind not in "iu":
        raise RuntimeError(f"{who}(): Expected dtype int64 for index, got {backend.dtype_of(arr)}")
    return arr


@backend.on_input_device
def index_select(input: Tensor, dim: int, index: Tensor, *, out: Any = None) -> Tensor:
    """The entries ``index`` (1-D) along ``dim``.  Backward: ``index_add`` into zeros."""
    arr = _check_index(index, "index_select")
    if arr.ndim > 1:
        raise IndexError(f"index_select(): Index is supposed to be a vector, got shape {list(arr.shape)}")
    d = wrap_dim(dim, max(input._data.ndim, 1))
    if arr.size:
        n_d = input._data.shape[d] if input._data.ndim else 1
        backend.device_assert(((arr < 0) | (arr >= n_d)).any(),
                              lambda: IndexError("index out of range in self"))
    if input._data.ndim == 0:
        return write_out(getitem(input.reshape((1,)), (index if arr.ndim else index.reshape((1,)),)).reshape(()), out)
    return write_out(getitem(input, (slice(None),) * d + (Tensor._make(arr.reshape(-1)),)), out)


def _along(input: Tensor, dim: int, index: Any, who: str) -> tuple:
    arr = _check_index(index, who)
    if arr.ndim > 1:
        raise IndexError(f"{who}(): Index is supposed to be a vector, got shape {list(arr.shape)}")
    d = wrap_dim(dim, max(input._data.ndim, 1))
    idx, _ = _normalize(input._data, (slice(None),) * d + (Tensor._make(arr.reshape(-1)),))
    return idx


@backend.on_input_device
def index_add(input: Tensor, dim: int, index: Tensor, source: Tensor, *, alpha: Any = 1, out: Any = None) -> Tensor:
    """``out[..., index[i], ...] += alpha * source[..., i, ...]`` along ``dim``."""
    idx = _along(input, dim, index, "index_add")
    if alpha != 1:
        source = source * alpha
    return write_out(IndexPut.apply(input, source, idx, True), out)


@backend.on_input_device
def index_copy(input: Tensor, dim: int, index: Tensor, source: Tensor, *, out: Any = None) -> Tensor:
    """``out[..., index[i], ...] = source[..., i, ...]`` along ``dim``."""
    if _autocast.active and out is None and "index_copy" in _autocast.listed: return _autocast.call("index_copy", index_copy, input, dim, index, source, out=out)  # noqa: E501,E701
    return write_out(IndexPut.apply(input, source, _along(input, dim, index, "index_copy"), False), out)


@backend.on_input_device
def index_fill(input: Tensor, dim: int, index: Tensor, value: Any) -> Tensor:
    """``out[..., index[i], ...] = value`` along ``dim``."""
    idx = _along(input, dim, index, "index_fill")
    mask = backend.array_module(input._data).zeros(input._data.shape, bool)
    mask[idx] = True
    return masked_fill(input, Tensor._make(mask), value)


# ----------------------------------------------------------------------------------------------
# masks and where
# ----------------------------------------------------------------------------------------------
class Where(Function):
    """``y = condition ? a : b`` elementwise (broadcast).  Backward: the gradient goes to ``a``
    where the condition holds and to ``b`` elsewhere."""
    supports_complex = True

    @staticmethod
    def forward(ctx, cond, a, b):
        from .elementwise import _binary
        xp = backend.array_module(cond)
        if not isinstance(a, Tensor) and not isinstance(b, Tensor):
            d = backend.promote_types(backend.scalar_result_type(backend.bool_, a),
                                      backend.scalar_result_type(backend.bool_, b))
            ad, bd = xp.asarray(a, dtype=d.np), xp.asarray(b, dtype=d.np)
        else:
            ad, bd = _binary(a, b)
        ctx.cond = cond
        out = xp.where(cond, ad, bd)
        dt = ad.dtype if hasattr(ad, "dtype") else bd.dtype
        return out if out.dtype == dt else out.astype(dt)

    @staticmethod
    def backward(ctx, grad):
        need = ctx.needs_input_grad
        ga = Where.apply(ctx.cond, grad, 0) if need[1] else None
        gb = Where.apply(ctx.cond, 0, grad) if need[2] else None
        return None, ga, gb


def where(condition: Tensor, input: Any = None, other: Any = None, *, out: Any = None) -> Any:
    """``input`` where ``condition`` else ``other`` (numbers allowed, dtypes promote);
    ``where(condition)`` alone is ``nonzero(condition, as_tuple=True)``."""
    if input is None and other is None:
        return write_out(nonzero(condition, as_tuple=True), out)
    cond = condition._data if isinstance(condition, Tensor) else None
    if cond is None or cond.dtype.kind != "b":
        got = "a non-tensor" if cond is None else f"a tensor with dtype {backend.dtype_of(cond).name}"
        raise RuntimeError(f"where expected condition to be a boolean tensor, but got {got}")
    for t in (input, other):
        if isinstance(t, Tensor) and t.device != condition.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two "
                               f"devices, {condition.device} and {t.device}!")
    return write_out(Where.apply(cond, input, other), out)


def _check_mask(mask: Any, who: str) -> Any:
    m = mask._data if isinstance(mask, Tensor) else mask
    if m.dtype.kind != "b":
        raise RuntimeError(f"{who} only supports boolean masks, but got mask with dtype "
                           f"{backend.dtype_of(m).name}")
    return m


def masked_fill(input: Tensor, mask: Tensor, value: Any) -> Tensor:
    """``value`` where ``mask`` is True, ``input`` elsewhere; ``value`` is a number or a 0-dim
    tensor (differentiable: it gets the sum of the gradient over the masked positions)."""
    m = _check_mask(mask, "masked_fill_")
    if isinstance(value, Tensor):
        if value._data.ndim != 0:
            raise RuntimeError(f"masked_fill_ only supports a 0-dimensional value tensor, but got tensor "
                               f"with {value._data.ndim} dimension(s).")
        if value.dtype != input.dtype:
            from .conversion import to
            value = to(value, input.dtype)
    else:
        _check_not_complex_into_real(value, input)
        kind = input._data.dtype.kind
        value = bool(value) if kind == "b" else int(value) if kind in "iu" else \
            complex(value) if kind == "c" else float(value)
    if m.shape != input._data.shape:
        from .broadcast import broadcast_shapes
        from .shape import expand
        shape = broadcast_shapes(m.shape, input._data.shape)
        input = expand(input, shape)
    return Where.apply(m, value, input)


@backend.on_input_device
def masked_select(input: Tensor, mask: Tensor, *, out: Any = None) -> Tensor:
    """The entries of ``input`` where ``mask`` (broadcast) is True, as a 1-D tensor."""
    from .broadcast import broadcast_shapes
    from .shape import expand
    m = _check_mask(mask, "masked_select:")
    shape = broadcast_shapes(m.shape, input._data.shape) or (1,)   # 0-d with 0-d: a 1-element result
    xp = backend.array_module(m)
    return write_out(Index.apply(expand(input, shape), xp.broadcast_to(m, shape).nonzero(), True), out)


@backend.on_input_device
def masked_scatter(input: Tensor, mask: Tensor, source: Tensor) -> Tensor:
    """``input`` with the True positions of ``mask`` filled, in order, from ``source``."""
    m = _check_mask(mask, "masked_scatter_")
    xp = backend.array_module(m)
    m = xp.broadcast_to(m, input._data.shape)
    n = int(m.sum())
    if n > source._data.size:
        raise RuntimeError(f"masked_scatter: expected source to have at least {n} elements (the number "
                           f"of True values in mask), got {source._data.size}")
    part = BasicIndex.apply(source.reshape((-1,)), (slice(0, n),), False)
    return IndexPut.apply(input, part, m.nonzero(), False)


@backend.on_input_device
def take(input: Tensor, index: Tensor) -> Tensor:
    """``input.flatten()[index]``, shaped like ``index``."""
    arr = _check_index(index, "take")
    return Index.apply(input.reshape((-1,)), (arr,), True)


@backend.on_input_device
def nonzero(input: Tensor, *, as_tuple: bool = False, out: Any = None) -> Any:
    """Indices of the non-zero entries: an (n, ndim) int64 tensor, or one 1-D tensor per dim."""
    d = input._data
    flat = d.reshape((1,)) if d.ndim == 0 else d
    idx = flat.nonzero()
    if as_tuple:
        return write_out(tuple(Tensor._make(i.astype(_INT64)) for i in (idx if d.ndim else idx[:1])), out)
    xp = backend.array_module(d)
    if d.ndim == 0:
        return write_out(Tensor._make(xp.zeros((idx[0].shape[0], 0), _INT64)), out)
    return write_out(Tensor._make(xp.stack(idx, axis=1).astype(_INT64)), out)


def nonzero_static(input: Tensor, *, size: int, fill_value: int = -1) -> Tensor:
    """:func:`nonzero` with a fixed number of rows, ``size``: the first ``size`` indices, then
    rows of ``fill_value`` when there are fewer (a shape known before the data is seen)."""
    if not isinstance(size, int) or size < 0:
        raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
    found = nonzero(input)._data[:size]
    xp = backend.array_module(found)
    out = xp.full((size, found.shape[1]), fill_value, _INT64)
    out[:found.shape[0]] = found
    return Tensor._make(out)


def argwhere(input: Tensor) -> Tensor:
    return nonzero(input)


@backend.on_input_device
def put(input: Tensor, index: Tensor, source: Tensor, accumulate: bool = False) -> Tensor:
    """``input`` seen as 1-D, with ``input[index] = source`` (or ``+=``)."""
    arr = _check_index(index, "put")
    flat = IndexPut.apply(input.reshape((-1,)), source.reshape((-1,)), (arr.reshape(-1),), bool(accumulate))
    return flat.reshape(input._data.shape)


@backend.on_input_device
def fill_diagonal(input: Tensor, fill_value: Any, wrap: bool = False) -> Tensor:
    """``input`` with its main diagonal set to ``fill_value`` (all dims equal beyond 2-D; a tall
    matrix restarts the diagonal after every N+1 rows with ``wrap=True``)."""
    d = input._data
    if d.ndim < 2:
        raise RuntimeError("dimensions must larger than 1")
    if d.ndim > 2 and len(set(d.shape)) != 1:
        raise RuntimeError("all dimensions of input must be of equal length")
    xp = backend.array_module(d)
    if d.ndim == 2:
        rows, cols = d.shape
        step = cols + 1
        end = rows * cols if wrap else min(rows, cols) * cols
    else:
        n = d.shape[0]
        step = sum(n ** k for k in range(d.ndim))
        end = d.size
    mask = xp.zeros(d.size, bool)
    mask[0:end:step] = True
    return masked_fill(input, Tensor._make(mask.reshape(d.shape)), fill_value)


# The gather/scatter family (see the module docstring).  It builds on ``Index``, ``IndexPut`` and
# ``where`` above, so it comes last; ``__all__`` above already lists its names.
from .scatter_gather import gather, scatter, scatter_add, scatter_reduce, take_along_dim  # noqa: E402
