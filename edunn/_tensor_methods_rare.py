"""The rarer ``torch.Tensor`` methods (``sum_to_size``, ``resize_``, ``map_``, ``new``, ``addr``,
``split_with_sizes`` ...), each calling the op that implements it, as in ``_tensor_methods.py``:
``TensorMethods`` inherits this class, so ``Tensor`` has them.  Split out only to keep each file
readable; the conventions are that module's."""
from __future__ import annotations

import math

from . import backend


def _tm():
    """``_tensor_methods``, whose op modules (``_ops``, ``_sh``, ``_cv``, ``_cr``) are bound once
    ``Tensor`` exists: read at call time."""
    from . import _tensor_methods
    return _tensor_methods


def _tm_storage():
    """``_storage_typed`` (through ``storage``, which it completes): the tensor side of storages."""
    from . import storage, _storage_typed  # noqa: F401
    return _storage_typed


class RareTensorMethods:
    __slots__ = ()

    def untyped_storage(self): return _tm_storage().tensor_untyped_storage(self)
    def storage(self): return _tm_storage().tensor_storage(self)
    def storage_type(self): return _tm_storage().tensor_storage_type(self)
    def set_(self, source=None, storage_offset=0, size=None, stride=None):
        return _tm_storage().tensor_set_(self, source, storage_offset, size, stride)
    def as_strided(self, size, stride, storage_offset=None):
        return _tm()._ops.strided.as_strided(self, size, stride, storage_offset)
    def as_strided_(self, size, stride, storage_offset=None):
        return _tm()._ops.strided.as_strided_(self, size, stride, storage_offset)
    def as_strided_scatter(self, src, size, stride, storage_offset=None):
        return _tm()._ops.strided.as_strided_scatter(self, src, size, stride, storage_offset)

    def hardshrink(self, lambd=0.5): return _tm()._nn_functional().hardshrink(self, lambd)
    def prelu(self, weight): return _tm()._nn_functional().prelu(self, weight)
    def cfloat(self, memory_format=None): return _tm()._cv.to(self, backend.complex64)
    def angle(self): return _tm()._ops.complex.angle(self)
    def conj(self): return _tm()._ops.complex.conj(self)
    def conj_physical(self): return _tm()._ops.complex.conj_physical(self)
    def conj_physical_(self): return _tm()._ops.complex.conj_physical_(self)
    def resolve_conj(self): return self  # edunn conjugates eagerly: nothing to resolve
    def cdouble(self, memory_format=None): return _tm()._cv.to(self, backend.complex128)
    def chalf(self, memory_format=None): return _tm()._cv.to(self, backend.complex32)  # a clear TypeError
    def resolve_neg(self): return self  # edunn has no lazy negation bit: nothing to resolve
    def is_neg(self): return False
    def is_conj(self): return False
    def sum_to_size(self, *size):
        """Sum over the dims that broadcasting ``size`` to this shape would stretch or add."""
        size, shape = tuple(_tm()._shape_arg(size)), tuple(self.shape)
        if len(size) > len(shape) or any(a not in (b, 1) for a, b in zip(size[::-1], shape[::-1])):
            raise RuntimeError(f"size {{{list(size)}}} is not expandable to size {{{list(shape)}}}.")
        return _tm()._ops.broadcast.sum_to(self, size)

    @backend.on_input_device
    def resize_(self, *sizes, memory_format=None):
        """PyTorch's storage semantics: the first ``numel`` elements in memory order, reused in
        place when they fit (a contiguous tensor keeps sharing its memory); growth copies into a
        new array whose new elements PyTorch leaves uninitialised and edunn fills with zeros."""
        if self.requires_grad:
            raise RuntimeError("cannot resize variables that require grad")
        size = tuple(_tm()._shape_arg(sizes))
        if any(s < 0 for s in size):
            raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: {list(size)}")
        d, n = self._data, math.prod(size)
        flat = d.reshape(-1) if d.flags.c_contiguous else d.ravel(order="K")
        if n > flat.size:
            grown = _tm()._cr.zeros(n, dtype=self.dtype, device=self.device)._data
            grown[:flat.size] = flat
            flat = grown
        if flat.base is None or flat is not d.reshape(-1):  # a copy now: no longer a view of _base
            self._base, self._view_chain = None, ()
        self._data = flat[:n].reshape(size)
        self._version_counter[0] += 1
        return self

    def resize_as_(self, tensor, memory_format=None): return self.resize_(tensor.shape)

    def apply_(self, callable):
        """``callable`` on every element, as a Python number (CPU only, as in PyTorch)."""
        return self._map("apply_", callable)

    def map_(self, tensor, callable): return self._map("map_", callable, tensor)
    def map2_(self, x, y, callable): return self._map("map2_", callable, x, y)

    def _map(self, who, fn, *others):
        if self.is_cuda:
            raise TypeError(f"{who} is only implemented on CPU tensors")
        if self.requires_grad:
            raise RuntimeError(f"Can't call {who}() on Variable that requires grad. Use var.detach().{who}() instead.")
        for t in others:
            if t.dtype != self.dtype:
                raise TypeError(f"{who}: expected {self.type()} for 'other' (got {t.type()})")
        args = [self._data] + [_tm()._sh.expand(t, self.shape)._data for t in others]
        xp = backend.array_module(self._data)
        out = xp.frompyfunc(fn, len(args), 1)(*(a.astype(object) for a in args))
        return self._inplace(type(self)._make(xp.asarray(out).astype(self._data.dtype)))

    def new(self, *args, device=None):
        """The legacy constructor on this tensor's dtype and device: ``x.new(2, 3)`` (or a
        ``Size``) is uninitialised, ``x.new(data)`` holds the data, ``x.new(t)`` aliases ``t``."""
        if len(args) == 1 and isinstance(args[0], type(self)):
            if args[0].dtype != self.dtype:
                raise TypeError(f"expected {self.type()} (got {args[0].type()})")
            return args[0].detach()
        if len(args) == 1 and type(args[0]).__name__ == "Size":
            args = tuple(args[0])
        return type(self)(*args, dtype=self.dtype, device=device if device is not None else self.device)

    def dim_order(self, *, ambiguity_check=False):
        """The dims from outermost to innermost in memory (largest stride first)."""
        if not isinstance(ambiguity_check, (bool, list)):
            raise TypeError("The ambiguity_check argument must be a bool or a list of memory formats.")
        strides, sizes = self.stride(), self.shape
        ambiguous = len(set(strides)) < len(strides) or 1 in sizes
        if ambiguity_check is True and ambiguous or isinstance(ambiguity_check, list) and ambiguous and sum(
                self.is_contiguous(memory_format=f) for f in ambiguity_check) != 1:
            raise RuntimeError("The tensor does not have unique dim order, or cannot map to exact one of the given memory formats.")
        return tuple(sorted(range(self.ndim), key=lambda d: -strides[d]))

    def to_dense(self, dtype=None, *, masked_grad=True): return self if dtype is None or dtype == self.dtype else _tm()._cv.to(self, dtype)
    # sparse COO queries and products (edunn/sparse/): a strided tensor has no sparse dimension
    def sparse_dim(self): return 0
    def dense_dim(self): return self.ndim
    def to_sparse_coo(self): return self.to_sparse()
    def sparse_mask(self, mask): from .sparse import sparse_mask; return sparse_mask(self, mask)
    def smm(self, mat): from .sparse import smm; return smm(self, mat)
    def sspaddmm(self, mat1, mat2, *, beta=1, alpha=1): from .sparse import sspaddmm; return sspaddmm(self, mat1, mat2, beta=beta, alpha=alpha)
    def coalesce(self): from .sparse import _strided_error; raise _strided_error("coalesce")
    def is_coalesced(self): from .sparse import _strided_error; raise _strided_error("is_coalesced")
    def indices(self): from .sparse import _strided_error; raise _strided_error("indices")
    def values(self): from .sparse import _strided_error; raise _strided_error("values")
    def _nnz(self): from .sparse import _strided_error; raise _strided_error("_nnz")
    @property
    def grad_dtype(self): from .autograd._grad_dtype import get; return get(self)
    @grad_dtype.setter
    def grad_dtype(self, value): from .autograd._grad_dtype import set_; set_(self, value)
    def is_set_to(self, tensor):
        """Same memory, offset, shape and strides (``x.view(x.shape)`` is set to ``x``)."""
        return (self.data_ptr() == tensor.data_ptr() and self.shape == tensor.shape and self.stride() == tensor.stride()
                and self.device == tensor.device)

    def as_subclass(self, cls):
        """This tensor's data (and place in the graph) as an instance of ``cls``."""
        if not (isinstance(cls, type) and issubclass(cls, _tm()._tensor_class())):
            raise TypeError("Creating a Tensor subclass from a class that does not inherit from Tensor is not possible. "
                            "Make sure your class inherits from Tensor.")
        t = object.__new__(cls)
        t._data, t.requires_grad, t.grad_fn, t._output_nr = self._data, self.requires_grad, self.grad_fn, self._output_nr
        t._version_counter = self._version_counter
        return t

    def module_load(self, other, assign=False):
        """What ``Module.load_state_dict`` stores for this parameter: ``other`` itself (``assign``)
        or this tensor with ``other``'s values copied in, detached either way."""
        return other.detach() if assign else self.copy_(other).detach()


    def addr(self, vec1, vec2, *, beta=1, alpha=1): return _tm()._ops.linalg_extra.addr(self, vec1, vec2, beta=beta, alpha=alpha)
    def addr_(self, vec1, vec2, *, beta=1, alpha=1): return self._inplace(self.addr(vec1, vec2, beta=beta, alpha=alpha))
    def narrow_copy(self, dimension, start, length): return _tm()._ops.view_copies.narrow_copy(self, dimension, start, length)
    def split_with_sizes(self, split_sizes, dim=0): return _tm()._ops.view_copies.split_with_sizes(self, split_sizes, dim)
    def unsafe_chunk(self, chunks, dim=0): return _tm()._ops.view_copies.unsafe_chunk(self, chunks, dim)
    def unsafe_split(self, split_size, dim=0): return _tm()._ops.view_copies.unsafe_split(self, split_size, dim)
    def unsafe_split_with_sizes(self, split_sizes, dim=0): return _tm()._ops.view_copies.unsafe_split_with_sizes(self, split_sizes, dim)
    def stft(self, n_fft, hop_length=None, win_length=None, window=None, center=True, pad_mode="reflect", normalized=False, onesided=None, return_complex=None, align_to_window=None): return _tm()._ops.spectral.stft(self, n_fft, hop_length, win_length, window, center, pad_mode, normalized, onesided, return_complex, align_to_window)  # noqa: E501
    def istft(self, n_fft, hop_length=None, win_length=None, window=None, center=True, normalized=False, onesided=None, length=None, return_complex=False): return _tm()._ops.spectral.istft(self, n_fft, hop_length, win_length, window, center, normalized, onesided, length, return_complex)  # noqa: E501
