"""Sparse COO tensors (lesson 08): ``edunn.sparse_coo_tensor`` and the gradient of an
``Embedding(sparse=True)``.

A sparse COO ("coordinate") tensor of size ``(s_0, ..., s_{k-1}, d_0, ...)`` stores only the
entries it names:

* ``indices``: an int64 tensor of shape ``(sparse_dim, nnz)``; column ``j`` is the position of
  entry ``j`` along the ``sparse_dim`` leading dimensions;
* ``values``: a tensor of shape ``(nnz, *dense_dims)``; row ``j`` is what sits there.

So ``to_dense()[indices[0, j], ..., indices[k-1, j]] += values[j]`` for every ``j``: a position
named twice holds the *sum* of its values.  That is what makes concatenation a valid addition
(``a + b`` keeps both lists of entries) and why an embedding's gradient can simply list the
rows that were looked up, once per lookup.  ``coalesce()`` sorts the positions and sums the
duplicates; a non-linear consumer (``SparseAdam``) needs that form.

As in PyTorch, a sparse tensor is a ``Tensor`` (``isinstance`` holds, so it can be a
parameter's ``.grad``) with ``is_sparse`` True and ``layout`` ``edunn.sparse_coo``; it offers
the operations listed on :class:`SparseCOOTensor`, and every other tensor operation raises
``NotImplementedError`` (PyTorch's answer too for most ops on its sparse backend): call
``to_dense()`` first.  Differences from PyTorch: ``sparse_coo_tensor`` always checks the
indices against the size (PyTorch only with ``check_invariants=True``), and a sparse gradient
reaching a non-leaf tensor is made dense there (same numbers).
"""
from __future__ import annotations

import builtins
from typing import Any

from . import backend
from .autograd import grad_mode
from .autograd.function import Function
from .tensor import Size, Tensor

__all__ = ["layout", "strided", "sparse_coo", "SparseCOOTensor", "sparse_coo_tensor"]

_INT64 = backend.int64.np


class layout:
    """How a tensor stores its elements: ``edunn.strided`` (dense arrays, every tensor but the
    sparse ones) or ``edunn.sparse_coo`` (indices and values), as ``torch.layout``."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"edunn.{self._name}"

    def __reduce__(self) -> str:
        return self._name


strided = layout("strided")
sparse_coo = layout("sparse_coo")


def _sparse_only(what: str) -> NotImplementedError:
    return NotImplementedError(
        f"{what} is not implemented for sparse COO tensors (layout edunn.sparse_coo): they "
        "hold indices and values, not a dense array; call .to_dense() first")


class SparseCOOTensor(Tensor):
    """A sparse tensor in coordinate format (see the module docstring).  Create one with
    ``edunn.sparse_coo_tensor(indices, values, size)`` or ``dense.to_sparse()``.

    Supported: ``shape``/``size()``/``dim()``/``numel()``, ``dtype``, ``device``, ``layout``,
    ``is_sparse``, ``_indices()``/``_values()`` (always), ``indices()``/``values()`` (coalesced
    only), ``coalesce()``, ``is_coalesced()``, ``_nnz()``, ``sparse_dim()``, ``dense_dim()``,
    ``to_dense()`` (differentiable: a sparse leaf that requires grad gets a sparse ``.grad``),
    ``add``/``sub`` and ``+``/``-`` with a sparse tensor (entries concatenated) or, from a dense
    left operand, with a dense one (a dense result), ``mul``/``div`` by a number, ``mul`` by a
    dense tensor of the same size, ``neg``, ``clone``, ``detach``, ``to``/``cpu``/``cuda`` and
    the dtype casts, ``zero_()``, ``requires_grad_()``, ``to_sparse()``, ``sum()`` (of every
    entry).

    Autograd: ``sparse_coo_tensor`` is differentiable in its values, and ``to_dense``, ``sum``,
    ``coalesce``, ``clone``, ``to``, ``neg`` and products by a number carry gradients; ``add``
    and products with tensors raise if an operand requires grad (densify those first).
    """

    is_sparse = True
    layout = sparse_coo

    # ------------------------------------------------------------------ what it is
    @property
    def _data(self) -> Any:  # every dense-array code path of Tensor ends here
        raise _sparse_only("this operation")

    @property
    def shape(self) -> Size:
        return Size(self._sparse_size)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._sparse_size)
        n = len(self._sparse_size)
        if not -n <= dim < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                             f"but got {dim})")
        return self._sparse_size[dim]

    @property
    def dtype(self) -> backend.dtype:
        return self._vals.dtype

    @property
    def device(self) -> backend.device:
        return self._vals.device

    @property
    def is_cuda(self) -> bool:
        return self._vals.is_cuda

    @property
    def ndim(self) -> int:
        return len(self._sparse_size)

    def dim(self) -> int:
        return len(self._sparse_size)

    def numel(self) -> int:
        n = 1
        for s in self._sparse_size:
            n *= s
        return n

    def element_size(self) -> int:
        return self._vals.element_size()

    def is_floating_point(self) -> bool:
        return self._vals.is_floating_point()

    def is_complex(self) -> bool:
        return False

    def __len__(self) -> int:
        if not self._sparse_size:
            raise TypeError("len() of a 0-d tensor")
        return self._sparse_size[0]

    @property
    def data(self) -> "SparseCOOTensor":
        return self.detach()

    @data.setter
    def data(self, value: "SparseCOOTensor") -> None:
        """Take ``value``'s indices, values and size (``module.to(...)`` moves a sparse
        ``.grad`` this way)."""
        if not isinstance(value, SparseCOOTensor):
            raise RuntimeError(f"the .data of a sparse COO tensor must be set to a sparse COO "
                               f"tensor, got {type(value).__name__}")
        self._idx, self._vals = value._idx, value._vals
        self._sparse_size, self._coalesced = value._sparse_size, value._coalesced

    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The sum of every entry (a dense 0-d tensor, as PyTorch's).  Differentiable: like
        PyTorch, the gradient is dense (every entry of the tensor, named or not, moves the
        sum), where ``to_dense()`` gives a sparse one."""
        if dim is not None:
            raise _sparse_only("sum over a dimension")
        vals = self._vals._data
        total = Tensor._make(backend.array_module(vals).asarray(vals.sum()))
        _record(total, SparseSum, self, size=self._sparse_size)
        return total if dtype is None else total.to(dtype)

    def _nnz(self) -> int:
        return int(self._idx.shape[1])

    def sparse_dim(self) -> int:
        return int(self._idx.shape[0])

    def dense_dim(self) -> int:
        return self._vals.ndim - 1

    def _indices(self) -> Tensor:
        """The ``(sparse_dim, nnz)`` int64 indices, coalesced or not (shares memory)."""
        return self._idx

    def _values(self) -> Tensor:
        """The ``(nnz, *dense_dims)`` values, coalesced or not (shares memory)."""
        return self._vals

    def indices(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get indices on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._idx

    def values(self) -> Tensor:
        if not self._coalesced:
            raise RuntimeError("Cannot get values on an uncoalesced tensor, please call "
                               ".coalesce() first")
        return self._vals

    def is_coalesced(self) -> bool:
        return self._coalesced

    # ------------------------------------------------------------------ conversions
    def coalesce(self) -> "SparseCOOTensor":
        """Positions sorted (row-major) and duplicates summed; ``self`` when already coalesced."""
        if self._coalesced:
            return self
        idx, vals = self._idx._data, self._vals._data
        xp = backend.array_module(vals)
        sizes = self._sparse_size[:idx.shape[0]]
        key = _linear_key(idx, sizes, xp)
        uniq, inverse = xp.unique(key, return_inverse=True)
        summed = xp.zeros((uniq.shape[0],) + vals.shape[1:], vals.dtype)
        backend.scatter_add_at(summed, inverse.reshape(-1), vals)
        new_idx = xp.empty((len(sizes), uniq.shape[0]), _INT64)
        rest = uniq
        for k in range(len(sizes) - 1, -1, -1):  # unravel the row-major key
            new_idx[k] = rest % sizes[k]
            rest = rest // sizes[k]
        return _record(_new_sparse(new_idx, summed, self._sparse_size, True), Coalesce, self)

    def to_dense(self, dtype: Any = None, *, masked_grad: bool = True) -> Tensor:
        """The dense tensor: zeros with every value added at its position (duplicates sum).
        Differentiable with respect to this tensor when it requires grad (the gradient is the
        dense gradient read at the same positions: a sparse tensor)."""
        out = _to_dense_array(self)
        if dtype is not None:
            out = out.astype(backend.as_dtype(dtype).np)
        return _record(Tensor._make(out), ToDense, self, sparse=self)

    def to_sparse(self, *args: Any, **kwargs: Any) -> "SparseCOOTensor":
        return self

    def clone(self, *, memory_format: Any = None) -> "SparseCOOTensor":
        out = _new_sparse(self._idx._data.copy(), self._vals._data.copy(), self._sparse_size,
                          self._coalesced)
        return _record(out, Scale, self, factor=1)

    def detach(self) -> "SparseCOOTensor":
        return _new_sparse(self._idx._data, self._vals._data, self._sparse_size, self._coalesced)

    def __deepcopy__(self, memo: dict) -> "SparseCOOTensor":
        if id(self) not in memo:
            memo[id(self)] = self.clone().requires_grad_(self.requires_grad)
        return memo[id(self)]

    def to(self, *args: Any, **kwargs: Any) -> "SparseCOOTensor":
        """Values (and indices) moved/cast as ``Tensor.to`` would move them; ``self`` when
        nothing changes."""
        vals = self._vals.to(*args, **kwargs)
        if vals is self._vals:
            return self
        idx = self._idx.to(vals.device)
        out = _new_sparse(idx._data, vals._data, self._sparse_size, self._coalesced)
        return _record(out, Scale, self, factor=1, device=self.device)

    def cpu(self) -> "SparseCOOTensor":
        return self.to("cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False) -> "SparseCOOTensor":
        return self.to("cuda" if device is None else backend.as_device(
            device if not isinstance(device, builtins.int) else f"cuda:{device}"))

    def double(self) -> "SparseCOOTensor":
        return self.to(backend.float64)

    def float(self) -> "SparseCOOTensor":
        return self.to(backend.float32)

    def half(self) -> "SparseCOOTensor":
        return self.to(backend.float16)

    # ------------------------------------------------------------------ autograd flags
    def requires_grad_(self, requires_grad: bool = True) -> "SparseCOOTensor":
        if requires_grad and not self._vals.is_floating_point():
            raise RuntimeError("Only Tensors of floating point and complex dtype can require "
                               "gradients")
        self.requires_grad = bool(requires_grad)
        return self

    def zero_(self) -> "SparseCOOTensor":
        """No entries left (nnz becomes 0), as PyTorch's sparse ``zero_``."""
        xp = backend.array_module(self._vals._data)
        self._idx = Tensor._make(xp.zeros((self._idx.shape[0], 0), _INT64))
        self._vals = Tensor._make(xp.zeros((0,) + tuple(self._vals.shape[1:]),
                                           self._vals._data.dtype))
        self._coalesced = True
        self._version_counter[0] += 1
        return self

    # ------------------------------------------------------------------ arithmetic
    def add(self, other: Any, *, alpha: Any = 1) -> "SparseCOOTensor":
        """``self + alpha * other`` for a sparse ``other`` of the same size: the two lists of
        entries concatenated (coalesced again when both were coalesced, as PyTorch keeps it)."""
        _no_graph("add", self, other)
        if not getattr(other, "is_sparse", False):
            raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, sparse) "
                               "instead.")
        if self._sparse_size != other._sparse_size:
            raise RuntimeError(f"add: expected sizes of 'self' and 'other' to match, but "
                               f"{list(self._sparse_size)} != {list(other._sparse_size)}")
        if self.sparse_dim() != other.sparse_dim():
            raise RuntimeError(f"add: expected 'self' and 'other' to have same sparse "
                               f"dimensions, but got {self.sparse_dim()} and {other.sparse_dim()}")
        if self.device != other.device:
            raise RuntimeError(f"Expected all tensors to be on the same device, but found at "
                               f"least two devices, {self.device} and {other.device}!")
        xp = backend.array_module(self._vals._data)
        dt = backend.promote_types(self.dtype, other.dtype).np
        ov = other._vals._data if alpha == 1 else other._vals._data * alpha
        vals = xp.concatenate([self._vals._data.astype(dt, copy=False), ov.astype(dt, copy=False)])
        idx = xp.concatenate([self._idx._data, other._idx._data], axis=1)
        out = _new_sparse(idx, vals, self._sparse_size, False)
        return out.coalesce() if self._coalesced and other._coalesced else out

    def sub(self, other: Any, *, alpha: Any = 1) -> "SparseCOOTensor":
        return self.add(other, alpha=-alpha)

    def __add__(self, other: Any) -> "SparseCOOTensor":
        return self.add(other)

    def __radd__(self, other: Any) -> Tensor:
        """``dense + sparse``: a dense tensor (differentiable in both)."""
        if isinstance(other, Tensor) and not other.is_sparse:
            return other + self.to_dense()
        return NotImplemented

    def __sub__(self, other: Any) -> "SparseCOOTensor":
        return self.add(other, alpha=-1)

    def __rsub__(self, other: Any) -> Tensor:
        if isinstance(other, Tensor) and not other.is_sparse:
            return other - self.to_dense()
        return NotImplemented

    def mul(self, other: Any) -> "SparseCOOTensor":
        """``self * other`` for a number, a one-element tensor, or a dense tensor of the same
        size (its entries read at this tensor's positions): a sparse tensor."""
        if isinstance(other, Tensor) and other.is_sparse:
            raise _sparse_only("mul of two sparse tensors")
        if isinstance(other, Tensor) and other.ndim > 0 and tuple(other.shape) != (1,) * other.ndim:
            if tuple(other.shape) != self._sparse_size:
                raise RuntimeError(f"mul(sparse, dense): expected the dense tensor to have the "
                                   f"sparse tensor's size {list(self._sparse_size)}, got "
                                   f"{list(other.shape)}")
            _no_graph("mul by a dense tensor", self, other)
            picked = other._data[tuple(self._idx._data)]
            vals = self._vals._data * picked
            return _new_sparse(self._idx._data, vals, self._sparse_size, self._coalesced)
        if isinstance(other, Tensor):
            _no_graph("mul by a tensor", other)
            other = other.item()
        vals = self._vals._data * other
        if isinstance(other, builtins.float) and vals.dtype.kind in "iub":
            vals = vals.astype(backend.get_default_dtype().np)
        elif vals.dtype != self._vals._data.dtype and vals.dtype.kind == self._vals._data.dtype.kind:
            vals = vals.astype(self._vals._data.dtype)  # a Python number keeps the dtype
        out = _new_sparse(self._idx._data, vals, self._sparse_size, self._coalesced)
        return _record(out, Scale, self, factor=other)

    __mul__ = mul

    def __rmul__(self, other: Any) -> "SparseCOOTensor":
        return self.mul(other)

    def div(self, other: Any) -> "SparseCOOTensor":
        if isinstance(other, Tensor):
            _no_graph("div by a tensor", other)
            other = other.item()
        return self.mul(1.0 / other)

    __truediv__ = div

    def neg(self) -> "SparseCOOTensor":
        out = _new_sparse(self._idx._data, -self._vals._data, self._sparse_size, self._coalesced)
        return _record(out, Scale, self, factor=-1)

    __neg__ = neg

    def __iadd__(self, other: Any) -> "SparseCOOTensor":
        return self.add(other)

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return _sparse_repr(self)

    def __str__(self) -> str:
        return self.__repr__()

    def __reduce_ex__(self, protocol: int):
        return (_rebuild_sparse, (self._idx, self._vals, self._sparse_size, self._coalesced,
                                  self.requires_grad))


# ----------------------------------------------------------------------------------------------
# autograd: the few differentiable sparse operations.  Each node has one input edge, to a sparse
# tensor (or, for sparse_coo_tensor, to its values); a sparse gradient arriving at a non-leaf
# is made dense by the engine, so these backwards read dense gradients.
# ----------------------------------------------------------------------------------------------
def _record(out: Tensor, node_cls: type, parent: Tensor, **saved: Any) -> Tensor:
    """Make ``out`` the output of a ``node_cls`` node whose input is ``parent``, when autograd
    is recording and ``parent`` requires grad."""
    if not (parent.requires_grad and grad_mode.state.enabled):
        return out
    ctx = object.__new__(node_cls)
    if parent.is_sparse:
        shape, np_dtype = parent._sparse_size, parent._vals._data.dtype
    else:
        shape, np_dtype = parent._data.shape, parent._data.dtype
    ctx._next = ((parent.grad_fn or parent, parent._output_nr, tuple(shape), np_dtype),)
    ctx.__dict__.update(saved)
    out.requires_grad, out.grad_fn = True, ctx
    return out


class ToDense(Function):
    """``dense = s.to_dense()``.  Backward: the dense gradient read at ``s``'s positions, as a
    coalesced sparse tensor with ``s``'s distinct indices (PyTorch's ``sparse_mask``)."""

    @staticmethod
    def backward(ctx, grad):
        s = ctx.sparse.coalesce()
        vals = grad._data[tuple(s._idx._data)]
        return _new_sparse(s._idx._data, vals, s._sparse_size, vals.shape[0] <= 1)  # PyTorch's flag


class SparseSum(Function):
    """``total = s.sum()``.  Backward: the gradient spread over every entry (dense)."""

    @staticmethod
    def backward(ctx, grad):
        return grad.expand(ctx.size)


class Scale(Function):
    """``out = factor * s`` (``mul``/``div`` by a number, ``neg``, ``clone``, ``to``).
    Backward: ``factor * grad``, on ``s``'s device."""

    @staticmethod
    def backward(ctx, grad):
        grad = grad if ctx.factor == 1 else grad * ctx.factor
        device = ctx.__dict__.get("device")
        return grad if device is None else grad.to(device)


def _no_graph(what: str, *operands: Any) -> None:
    """Refuse, rather than silently drop, a gradient edunn does not derive through ``what``."""
    if grad_mode.state.enabled and any(getattr(o, "requires_grad", False) for o in operands):
        raise RuntimeError(f"edunn does not differentiate through the sparse {what}; call "
                           ".to_dense() on the operands that require grad first (dense "
                           "arithmetic is differentiable)")


class Coalesce(Function):
    """``c = s.coalesce()``: the same dense tensor.  Backward: the gradient, unchanged."""

    @staticmethod
    def backward(ctx, grad):
        return grad


class ToSparse(Coalesce):
    """``s = x.to_sparse()``: the same tensor in another layout.  Backward: the gradient."""


class SparseCooTensor(Function):
    """``s = sparse_coo_tensor(indices, values, size)``.  Backward: the dense gradient read at
    each entry's position, one row per value."""

    @staticmethod
    def backward(ctx, grad):
        if grad.is_sparse:
            grad = grad.to_dense()
        if not ctx.indices:  # no sparse dimension: every value covers the whole tensor
            return grad.unsqueeze(0).expand((ctx.nnz,) + tuple(grad.shape))
        return grad[tuple(Tensor._make(i) for i in ctx.indices)]


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _new_sparse(indices: Any, values: Any, size: tuple, coalesced: bool) -> SparseCOOTensor:
    """Wrap index and value arrays (no checks): the fast path every producer uses."""
    s = object.__new__(SparseCOOTensor)
    s.requires_grad = False
    s.grad_fn = None
    s._output_nr = 0
    s._version_counter = [0]
    s._idx = Tensor._make(indices)
    s._vals = Tensor._make(values)
    s._sparse_size = tuple(builtins.int(n) for n in size)
    s._coalesced = bool(coalesced)
    return s


def _rebuild_sparse(indices: Tensor, values: Tensor, size: tuple, coalesced: bool,
                    requires_grad: bool) -> SparseCOOTensor:
    s = _new_sparse(indices._data, values._data, size, coalesced)
    return s.requires_grad_(requires_grad)


def _linear_key(idx: Any, sizes: tuple, xp: Any) -> Any:
    """Row-major position of every entry: one int64 per column of ``idx``."""
    key = xp.zeros(idx.shape[1], _INT64)
    for k, n in enumerate(sizes):
        key = key * n + idx[k]
    return key


def _to_dense_array(s: SparseCOOTensor) -> Any:
    idx, vals = s._idx._data, s._vals._data
    xp = backend.array_module(vals)
    out = xp.zeros(s._sparse_size, vals.dtype)
    if idx.shape[0] == 0:  # no sparse dimension: every value lands on the whole tensor
        if vals.shape[0]:
            out += vals.sum(axis=0)
        return out
    if idx.shape[1]:
        backend.scatter_add_at(out, tuple(idx), vals)
    return out


def _accumulate(prev: Tensor, grad: Tensor) -> Tensor:
    """``prev + grad`` where either is sparse (the engine's gradient accumulation): sparse +
    sparse stays sparse (entries concatenated); any dense term makes the sum dense."""
    if prev.is_sparse and grad.is_sparse:
        return prev.add(grad)
    if prev.is_sparse:
        return grad + prev  # dense + sparse
    return prev + grad


def sparse_coo_tensor(indices: Any, values: Any, size: Any = None, *, dtype: Any = None,
                      device: Any = None, pin_memory: bool = False, requires_grad: bool = False,
                      check_invariants: bool | None = None,
                      is_coalesced: bool | None = None) -> SparseCOOTensor:
    """A sparse COO tensor with ``values[j]`` at position ``indices[:, j]``, as
    ``torch.sparse_coo_tensor``.

    Args:
        indices: integer tensor (or nested list) of shape ``(sparse_dim, nnz)``.
        values: tensor (or nested list) of shape ``(nnz, *dense_dims)``.
        size: the tensor's size; without it, ``max(indices[k]) + 1`` along each sparse
            dimension followed by ``values``' trailing sizes.
        dtype, device: of the values (default: inferred from ``values``).
        requires_grad: the result is a leaf that gets a sparse ``.grad`` through ``to_dense()``.
            (Values that require grad make it a non-leaf, differentiable in them, instead.)
        check_invariants: PyTorch checks the indices only when True; edunn always checks them
            (negative or out-of-range indices raise), which costs little here.
        is_coalesced: declare the indices sorted and unique (trusted, as PyTorch does).
    """
    from .ops.creation import tensor as _tensor
    if not isinstance(indices, Tensor):
        indices = _tensor(indices, device=device if not isinstance(values, Tensor) else values.device)
    values_in = values if isinstance(values, Tensor) else None
    if isinstance(values, Tensor):
        if dtype is not None or device is not None:
            values_in = values = values.to(device=device, dtype=dtype)  # differentiable casts
        values = values.detach()
    else:
        values = _tensor(values, dtype=dtype, device=device)
    if indices.dtype.is_floating_point or indices.dtype is backend.bool_:
        raise RuntimeError(f"indices must be an int64 tensor, got {indices.dtype}")
    if indices.ndim != 2:
        raise RuntimeError(f"indices must be sparse_dim x nnz, but got: {list(indices.shape)}")
    if values.ndim == 0:
        raise RuntimeError("values must be at least 1-dimensional (nnz, *dense_dims), got a "
                           "0-d tensor")
    if indices.shape[1] != values.shape[0]:
        raise RuntimeError(f"indices and values must have same nnz, but got nnz from indices: "
                           f"{indices.shape[1]}, nnz from values: {values.shape[0]}")
    idx = indices._data.astype(_INT64, copy=False)
    if backend.device_of(idx) != values.device:
        idx = backend.to_device(idx, values.device)
    sparse_dim, dense_dim = idx.shape[0], values.ndim - 1
    if size is None:
        sparse_sizes = tuple(builtins.int(idx[k].max()) + 1 if idx.shape[1] else 0
                             for k in range(sparse_dim))
        size = sparse_sizes + tuple(values.shape[1:])
    else:
        size = tuple(builtins.int(n) for n in size)
        if len(size) != sparse_dim + dense_dim:
            raise RuntimeError(f"'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) "
                               f"= {len(size)}, sparse_dim = {sparse_dim}, dense_dim = {dense_dim}")
        if tuple(values.shape[1:]) != size[sparse_dim:]:
            raise RuntimeError(f"values has incorrect size, expected {[values.shape[0]] + list(size[sparse_dim:])}"
                               f", got {list(values.shape)}")
    if idx.shape[1]:
        low, high = idx.min(axis=1), idx.max(axis=1)
        for k in range(sparse_dim):
            if builtins.int(low[k]) < 0:
                raise RuntimeError(f"found negative index {builtins.int(low[k])} for dim {k}")
            if builtins.int(high[k]) >= size[k]:
                raise RuntimeError(f"size is inconsistent with indices: for dim {k}, size is "
                                   f"{size[k]} but found index {builtins.int(high[k])}")
    coalesced = bool(is_coalesced) if is_coalesced is not None else idx.shape[1] <= 1
    out = _new_sparse(idx if idx is not indices._data else idx.copy(), values._data, size, coalesced)
    if requires_grad:
        out.requires_grad_(True)
    if values_in is None:
        return out
    # differentiable with respect to values that require grad (then a non-leaf)
    return _record(out, SparseCooTensor, values_in, indices=tuple(idx), nnz=idx.shape[1])


def to_sparse(input: Tensor, sparse_dim: int | None = None) -> SparseCOOTensor:
    """``input.to_sparse(sparse_dim)``: the nonzero entries (along the first ``sparse_dim``
    dimensions, all of them by default) of a dense tensor, coalesced."""
    if input.is_sparse:
        return input
    arr = input._data
    sd = arr.ndim if sparse_dim is None else builtins.int(sparse_dim)
    if not 0 <= sd <= arr.ndim:
        raise RuntimeError(f"sparse_dim must be between 0 and {arr.ndim}, got {sd}")
    xp = backend.array_module(arr)
    lead = arr.reshape(arr.shape[:sd] + (-1,)) if sd < arr.ndim else arr[..., None]
    nonzero = (lead != 0).any(axis=-1) if lead.shape[-1] else xp.zeros(lead.shape[:-1], bool)
    idx = xp.stack(xp.nonzero(nonzero)).astype(_INT64) if sd else xp.zeros((0, 1), _INT64)
    vals = arr[tuple(idx)] if sd else arr[None]
    return _record(_new_sparse(idx.reshape(sd, -1), vals.copy(), arr.shape, True), ToSparse, input)


def _sparse_repr(s: SparseCOOTensor) -> str:
    """PyTorch's text for a sparse tensor: indices, values, then size, nnz, dtype, layout."""
    from ._tensor_str import _add_suffixes, _tensor_str
    indent = len("tensor(")
    suffixes = []
    if s.device.type != "cpu":
        suffixes.append(f"device='{s.device}'")
    suffixes.append(f"size={s._sparse_size}")
    suffixes.append(f"nnz={s._nnz()}")
    if s.dtype not in (backend.get_default_dtype(), backend.int64, backend.bool_):
        suffixes.append(f"dtype={s.dtype!r}")
    suffixes.append(f"layout={s.layout!r}")
    parts = []
    for prefix, t in (("indices=tensor(", s._idx), ("values=tensor(", s._vals)):
        arr = backend.to_numpy(t._data)
        body = _tensor_str(arr, t.is_floating_point(), indent + len(prefix))
        if arr.size == 0:
            body += f", size={tuple(arr.shape)}"
        parts.append(prefix + body + ")")
    text = "tensor(" + (",\n" + " " * indent).join(parts)
    if s.grad_fn is not None:
        suffixes.append(f"grad_fn=<{s.grad_fn.name()}>")
    elif s.requires_grad:
        suffixes.append("requires_grad=True")
    # PyTorch starts the suffixes of a sparse tensor on a line of their own
    first, rest = suffixes[0], suffixes[1:]
    return _add_suffixes(text + ",\n" + " " * indent + first, rest, indent)
