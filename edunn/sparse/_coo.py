"""The sparse COO tensor class (see :mod:`edunn.sparse` for the format) and the small
helpers that wrap, densify and print index/value arrays."""
from __future__ import annotations

import builtins
from typing import Any

from .. import backend
from ..tensor import Size, Tensor
from ._autograd import Coalesce, Scale, SparseFullSum, ToDense, _no_graph, _record
from ._layout import sparse_coo

_INT64 = backend.int64.np


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

    @backend.on_input_device
    def sum(self, dim: Any = None, keepdim: bool = False, *, dtype: Any = None) -> Tensor:
        """The sum of every entry (a dense 0-d tensor, as PyTorch's), or over ``dim`` as
        ``torch.sparse.sum`` (``keepdim`` keeps summed dimensions with size 1).
        Differentiable: like PyTorch, the gradient of the full sum is dense (every entry of the
        tensor, named or not, moves the sum), where ``to_dense()`` gives a sparse one."""
        if dim is not None:
            from ._reduce import _sum
            return _sum(self, dim, dtype, keepdim)
        vals = self._vals._data
        total = Tensor._make(backend.array_module(vals).asarray(vals.sum()))
        _record(total, SparseFullSum, self, size=self._sparse_size)
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
    @backend.on_input_device
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

    @backend.on_input_device
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

    @backend.on_input_device
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
    @backend.on_input_device
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

    @backend.on_input_device
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

    @backend.on_input_device
    def div(self, other: Any) -> "SparseCOOTensor":
        if isinstance(other, Tensor):
            _no_graph("div by a tensor", other)
            other = other.item()
        return self.mul(1.0 / other)

    __truediv__ = div

    @backend.on_input_device
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


def _sparse_repr(s: SparseCOOTensor) -> str:
    """PyTorch's text for a sparse tensor: indices, values, then size, nnz, dtype, layout."""
    from .._tensor_str import _add_suffixes, _tensor_str
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
