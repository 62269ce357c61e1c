"""``Tensor``: an n-dimensional array (NumPy on the CPU, CuPy on a GPU) plus what autograd needs.

A tensor holds

* ``_data`` -- the array itself (lesson 01: storage, dtype, shape, device);
* ``requires_grad`` and ``grad`` -- whether gradients are wanted, and where they accumulate;
* ``grad_fn`` and ``_output_nr`` -- the :class:`~edunn.autograd.Function` node that produced it
  (``None`` for a leaf) and which of that node's outputs it is;
* ``_version_counter`` -- bumped by every in-place op, shared with views, so that backward can
  tell when a tensor it saved was modified (lesson 02).

Every operator and method below is one line that calls an op from ``edunn/ops/``; the math and
its derivative live there, one ``Function`` per op.  The long list of methods that mirror
``torch.Tensor`` is in ``_tensor_methods.py``.
"""
from __future__ import annotations

import warnings
import weakref
from typing import Any

from . import backend
from .autograd import grad_mode
from .autograd._inference import InferenceVersion as _InferenceVersion
from ._tensor_methods import TensorMethods

_state = grad_mode.state


class Tensor(TensorMethods):
    """A multi-dimensional array with autograd, as ``torch.Tensor``.  Create tensors with
    ``edunn.tensor(data)``, ``edunn.zeros(...)`` and friends rather than with this class."""

    __slots__ = ("_data", "requires_grad", "grad_fn", "_output_nr", "_version_counter",
                 "__dict__", "__weakref__")

    # Rarely set, so they live on the class until an instance needs its own.
    _grad: "Tensor | None" = None
    _grad_dtype: Any = None  # Tensor.grad_dtype when set (autograd/_grad_dtype.py)
    _base: "Tensor | None" = None
    _hooks: Any = None
    _post_accumulate_hooks: Any = None
    _retains_grad = False
    _view_chain: tuple = ()  # for a view: the view ops that made it from ``_base``
    _view_version = 0  # for a view: the shared version when its grad_fn was made (copy_slices.py)

    __array_priority__ = 1000  # ``ndarray + tensor`` calls Tensor.__radd__

    def __init__(self, *args: Any, dtype: Any = None, device: Any = None,
                 requires_grad: bool = False) -> None:
        """The legacy constructor, as ``torch.Tensor``: ``Tensor(2, 3)`` is an uninitialised
        (2, 3) tensor, ``Tensor([1, 2])`` holds the data in the default float dtype."""
        from .ops.creation import _to_array
        d = backend.as_dtype(dtype) if dtype is not None else backend.get_default_dtype()
        if args and all(isinstance(a, int) and not isinstance(a, bool) for a in args):
            self._data = backend.xp_for(backend.as_device(device)).empty(args, d.np)
        else:
            if len(args) > 1:
                raise TypeError(f"Tensor() takes sizes (ints) or one sequence of data, got {args!r}")
            data = args[0] if args else []
            self._data = _to_array(data._data if isinstance(data, Tensor) else data, d, device)
        self.requires_grad = False
        self.grad_fn = None
        self._output_nr = 0
        self._version_counter = [0]
        if requires_grad:
            self.requires_grad_(True)

    @classmethod
    def _make(cls, data: Any, requires_grad: bool = False, grad_fn: Any = None, output_nr: int = 0) -> "Tensor":
        """Wrap an array without copying or checking: the fast path every op uses."""
        t = object.__new__(Tensor)
        t._data = data
        t.requires_grad = requires_grad
        t.grad_fn = grad_fn
        t._output_nr = output_nr
        t._version_counter = [0] if not _state.inference else _InferenceVersion((0,))
        return t

    # ------------------------------------------------------------------ what a tensor is
    @property
    def shape(self) -> "Size":
        return Size(self._data.shape)

    def size(self, dim: int | None = None) -> Any:
        if dim is None:
            return Size(self._data.shape)
        return self._data.shape[self._wrap_dim(dim)]

    @property
    def dtype(self) -> backend.dtype:
        return backend.dtype_of(self._data)

    @property
    def device(self) -> backend.device:
        return backend.device_of(self._data)

    @property
    def is_cuda(self) -> bool:
        return backend.is_cupy_array(self._data)

    @property
    def is_cpu(self) -> bool:
        return not backend.is_cupy_array(self._data)

    is_meta = False  # edunn has no meta (data-less) tensors

    @property
    def output_nr(self) -> int:
        """Which output of ``grad_fn`` this tensor is (0 for a leaf)."""
        return self._output_nr

    def is_inference(self) -> bool:
        """Whether this tensor was created under ``inference_mode`` (and is not a view of a
        normal tensor): see ``autograd/_inference.py``."""
        return self._version_counter.__class__ is _InferenceVersion

    def data_ptr(self) -> int:
        """The address of the first element (NumPy's ``__array_interface__``, CuPy's
        ``data.ptr``); views report where their first element sits, as in PyTorch."""
        d = self._data
        return int(d.data.ptr) if backend.is_cupy_array(d) else int(d.__array_interface__["data"][0])

    const_data_ptr = data_ptr

    def get_device(self) -> int:
        """The CUDA device index of a CUDA tensor; -1 on the CPU (``torch.Tensor.get_device``)."""
        return self.device.index if self.is_cuda else -1

    @property
    def ndim(self) -> int:
        return self._data.ndim

    def dim(self) -> int:
        return self._data.ndim

    ndimension = dim

    def numel(self) -> int:
        return int(self._data.size)

    nelement = numel

    def element_size(self) -> int:
        return self._data.dtype.itemsize

    @property
    def itemsize(self) -> int:
        return self._data.dtype.itemsize

    @property
    def nbytes(self) -> int:
        return int(self._data.nbytes)

    def stride(self, dim: int | None = None) -> Any:
        """Steps, in elements, between neighbours along each dimension (lesson 01)."""
        d = self._data
        if d.size == 0:  # no element to step between: PyTorch reports contiguous strides
            strides, step = [], 1
            for size in reversed(d.shape):
                strides.append(step)
                step *= max(size, 1)
            strides = tuple(reversed(strides))
        else:
            strides = tuple(s // d.dtype.itemsize for s in d.strides)
        return strides if dim is None else strides[self._wrap_dim(dim)]

    def storage_offset(self) -> int:
        """Where this tensor's first element sits in its base's memory, in elements."""
        if self._base is None:
            return 0
        return backend.element_offset(self._data, self._base._data)

    def is_contiguous(self, memory_format: Any = None) -> bool:
        return bool(self._data.flags.c_contiguous)

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return self._data.dtype.kind == "c"

    @property
    def is_leaf(self) -> bool:
        return self.grad_fn is None

    @property
    def _version(self) -> int:
        return self._version_counter[0]

    @property
    def data(self) -> "Tensor":
        """The same storage, detached from the graph and, unlike ``detach()``, with a version
        counter of its own: changes made through ``.data`` are invisible to autograd's checks
        (as ``torch.Tensor.data``; prefer ``detach()`` or ``no_grad()``)."""
        return Tensor._make(self._data)

    @data.setter
    def data(self, value: "Tensor") -> None:
        if not isinstance(value, Tensor):
            raise TypeError(f"Tensor.data must be set to a Tensor, got {type(value).__name__}")
        self._data = value._data

    @property
    def T(self) -> "Tensor":
        return self.permute(*range(self.ndim - 1, -1, -1))

    @property
    def mT(self) -> "Tensor":
        return self.transpose(-2, -1)

    @property
    def H(self) -> "Tensor":
        """The conjugate transpose of a matrix (the transpose, for a real one)."""
        from .ops.complex import conj
        return conj(self.T)

    @property
    def mH(self) -> "Tensor":
        """The conjugate transpose of the last two dimensions (``adjoint``)."""
        from .ops.complex import conj
        return conj(self.mT)

    # ------------------------------------------------------------------ complex parts
    @property
    def real(self) -> "Tensor":
        """The real parts, a view (``z.real[0] = 1`` writes into ``z``); a real tensor itself."""
        from .ops.complex import real
        return real(self)

    @real.setter
    def real(self, value: Any) -> None:
        self.real.copy_(value)

    @property
    def imag(self) -> "Tensor":
        """The imaginary parts, a view; only complex tensors have them, as in PyTorch."""
        from .ops.complex import imag
        return imag(self)

    @imag.setter
    def imag(self, value: Any) -> None:
        self.imag.copy_(value)

    def _wrap_dim(self, dim: int) -> int:
        return wrap_dim(dim, self._data.ndim)

    def type(self, dtype: Any = None, non_blocking: bool = False, **kwargs: Any) -> Any:
        """Without ``dtype``: the type's name, ``'edunn.FloatTensor'``; with one (a dtype or a
        name such as ``'torch.DoubleTensor'``): this tensor cast to it.  ``non_blocking`` has no
        effect: copies here are synchronous."""
        prefix = "edunn.cuda." if self.is_cuda else "edunn."
        if dtype is None:
            return prefix + _TYPE_NAMES[self.dtype.name]
        if isinstance(dtype, type) and hasattr(dtype, "is_cuda"):  # edunn.DoubleTensor, edunn.cuda.*
            dtype = ("edunn.cuda." if dtype.is_cuda else "edunn.") + dtype.__name__
        if isinstance(dtype, str) and dtype.endswith("Tensor"):
            name = dtype.rsplit(".", 1)[-1]
            by_type = {v: k for k, v in _TYPE_NAMES.items()}
            if name not in by_type:
                raise ValueError(f"invalid type: '{dtype}'")
            cuda = ".cuda." in dtype  # the name says the device too: torch.cuda.FloatTensor
            return self.to(self.device if cuda == self.is_cuda else ("cuda" if cuda else "cpu"),
                           backend.as_dtype(by_type[name]))
        return self.to(backend.as_dtype(dtype))

    # ------------------------------------------------------------------ autograd
    def backward(self, gradient: "Tensor | None" = None, retain_graph: bool | None = None,
                 create_graph: bool = False, inputs: Any = None) -> None:
        """Compute the gradient of this tensor with respect to the graph's leaves and add it into
        their ``.grad`` (lesson 02)."""
        from .autograd import backward
        backward(self, gradient, retain_graph, create_graph, inputs=inputs)

    @property
    def grad(self) -> "Tensor | None":
        """Where backward accumulates this tensor's gradient (leaves, and non-leaves that called
        ``retain_grad``)."""
        if self.grad_fn is not None and not self._retains_grad and self._grad is None:
            warnings.warn(
                "The .grad attribute of a Tensor that is not a leaf Tensor is being accessed. Its "
                ".grad attribute won't be populated during autograd.backward(). If you indeed want "
                "the .grad field to be populated for a non-leaf Tensor, use .retain_grad() on the "
                "non-leaf Tensor.", UserWarning, stacklevel=2)
        return self._grad

    @grad.setter
    def grad(self, value: "Tensor | None") -> None:
        if value is not None:
            if not isinstance(value, Tensor):
                raise TypeError(f"assigned grad expected to be a Tensor or None but got grad of "
                                f"type {type(value).__name__}")
            if tuple(value.shape) != self._data.shape:  # value.shape: a sparse grad has no _data
                raise RuntimeError(
                    f"attempting to assign a gradient of size '{list(value.shape)}' to a tensor "
                    f"of size '{list(self._data.shape)}'. Please ensure that the gradient and the "
                    "tensor are the same size")
            if value.dtype != self.dtype or self._grad_dtype is not None:
                from .autograd._grad_dtype import check_assigned
                check_assigned(self, value)
            if value.device != self.device:
                raise RuntimeError(f"assigned grad has data located on a different device: "
                                   f"expected {self.device}, got {value.device}")
        self._grad = value

    def detach(self) -> "Tensor":
        t = Tensor._make(self._data)
        t._version_counter = self._version_counter
        return t

    def detach_(self) -> "Tensor":
        self.grad_fn = None
        self.requires_grad = False
        return self

    def requires_grad_(self, requires_grad: bool = True) -> "Tensor":
        if requires_grad and self._data.dtype not in _FLOAT_NP:
            raise RuntimeError(
                f"only Tensors of floating point and complex dtype can require gradients, got {self.dtype}")
        if not requires_grad and self.grad_fn is not None:
            raise RuntimeError(
                "you can only change requires_grad flags of leaf variables. If you want to use a "
                "computed variable in a subgraph that doesn't require differentiation use "
                "var_no_grad = var.detach().")
        self.requires_grad = bool(requires_grad)
        return self

    def retain_grad(self) -> None:
        """Keep ``.grad`` for this non-leaf tensor after backward."""
        if not self.requires_grad:
            raise RuntimeError("can't retain_grad on Tensor that has requires_grad=False")
        if self.grad_fn is None:
            return
        node = self.grad_fn
        if node._retain is None:
            node._retain = {}
        node._has_hooks = True
        node._retain[self._output_nr] = weakref.ref(self)
        self._retains_grad = True

    @property
    def retains_grad(self) -> bool:
        return self._retains_grad and self.grad_fn is not None

    def register_hook(self, hook) -> Any:
        """``hook(grad)`` runs when the gradient of this tensor is computed; it may return a
        replacement.  Returns a handle whose ``remove()`` unregisters it."""
        from .utils.hooks import RemovableHandle
        if not self.requires_grad:
            raise RuntimeError("cannot register a hook on a tensor that doesn't require gradient")
        if self.grad_fn is not None:
            node = self.grad_fn
            if node._pre_hooks is None:
                node._pre_hooks = {}
            node._has_hooks = True
            hooks = node._pre_hooks.setdefault(self._output_nr, {})
        else:
            if self._hooks is None:
                self._hooks = {}
            hooks = self._hooks
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        return handle

    def register_post_accumulate_grad_hook(self, hook) -> Any:
        """``hook(tensor)`` runs after a leaf's ``.grad`` has been accumulated."""
        from .utils.hooks import RemovableHandle
        if self.grad_fn is not None:
            raise RuntimeError("post accumulate grad hooks cannot be registered on non-leaf tensors")
        if self._post_accumulate_hooks is None:
            self._post_accumulate_hooks = {}
        handle = RemovableHandle(self._post_accumulate_hooks)
        self._post_accumulate_hooks[handle.id] = hook
        return handle

    def _cast_np(self, np_dtype: Any) -> "Tensor":
        """Cast to a NumPy dtype, differentiably (the engine uses it to match input dtypes)."""
        from .ops.conversion import Cast
        return Cast.apply(self, np_dtype)

    # ------------------------------------------------------------------ in-place machinery
    def _check_inplace(self) -> None:
        if _state.enabled and self.requires_grad and self.grad_fn is None:
            raise RuntimeError(
                "a leaf Variable that requires grad is being used in an in-place operation.")
        base = self._base
        if _state.enabled and base is not None and base.requires_grad and base.grad_fn is None:
            raise RuntimeError(
                "a view of a leaf Variable that requires grad is being used in an in-place "
                "operation.")

    @backend.on_input_device
    def _inplace(self, result: "Tensor") -> "Tensor":
        """Make ``self`` hold ``result`` (computed out of place): write its values into this
        tensor's storage, so views see them, bump the version and take over ``result``'s place in
        the graph -- how every ``x.op_()`` is built."""
        self._check_inplace()
        src = result._data
        if src.dtype != self._data.dtype:
            if not backend.can_cast_result(src.dtype, self._data.dtype):
                raise RuntimeError(
                    f"result type {backend.dtype_of(src).scalar_name} can't be cast to the desired "
                    f"output type {self.dtype.scalar_name}")
        if src.shape != self._data.shape:
            raise RuntimeError(
                f"output with shape {list(self._data.shape)} doesn't match the broadcast shape "
                f"{list(src.shape)}")
        node = result.grad_fn
        if node is not None and node._saved:
            self._keep_original_for(node)
        if self._data.ndim == 0 and not hasattr(self._data, "__setitem__"):
            self._data = src.astype(self._data.dtype)
        elif backend.writable(self._data):
            self._data[...] = src
        elif not backend.self_overlapping(self._data):  # a read-only NumPy array
            raise RuntimeError(
                "cannot write into a read-only tensor: it shares memory with a NumPy array that is "
                "not writeable (from_numpy of a read-only array, or a view of one). Please clone() "
                "the tensor before performing the operation.")
        else:  # an expanded tensor: several of its elements are one number in memory
            raise RuntimeError(
                "unsupported operation: more than one element of the written-to tensor refers to "
                "a single memory location. Please clone() the tensor before performing the "
                "operation.")
        self._version_counter[0] += 1
        base = self._base
        if base is not None and _state.enabled and (base.requires_grad or result.requires_grad):
            from .ops.copy_slices import rebase_view  # the base's graph must see the write
            rebase_view(self, result)
        elif result.requires_grad:
            self.grad_fn = result.grad_fn
            self._output_nr = result._output_nr
            self.requires_grad = True
        elif self.grad_fn is not None and _state.enabled:
            # overwritten by a constant (``fill_``, ``zero_``): the old values get a zero gradient,
            # through a node that takes the new values everywhere (PyTorch's ``FillBackward``)
            from .ops.elementwise import _where
            everywhere = backend.array_module(src).ones(src.shape, bool)
            node = _where(everywhere, result, self)
            self.grad_fn, self._output_nr = node.grad_fn, node._output_nr
        if _state.op_hooks:  # forward-mode AD may be on: the tangent follows the values
            from .autograd.forward_ad import _after_inplace
            _after_inplace(self, result)
        return self

    def _keep_original_for(self, node: Any) -> None:
        """``y.mul_(w)``'s backward needs ``y`` as it was *before* the write (dL/dw = grad * y).
        The out-of-place op saved ``y`` itself, which is about to be overwritten, so give the
        node a copy of the original instead (PyTorch saves the original self the same way)."""
        data = self._data
        saved = node._saved
        if not any(e[0] is self or e[0] is data for e in saved):
            if node._pack_hooks_used:  # saved through saved-tensor hooks (autograd/graph.py)
                from .autograd.function import _repack_before_write
                _repack_before_write(node, self)
            return
        snap = Tensor._make(data.copy(), self.requires_grad, self.grad_fn, self._output_nr)
        node._saved = tuple((snap, 0) if e[0] is self else (snap._data, None) if e[0] is data else e
                            for e in saved)

    # ------------------------------------------------------------------ conversion
    def numpy(self, *, force: bool = False) -> Any:
        if self.requires_grad and not force:
            raise RuntimeError(
                "Can't call numpy() on Tensor that requires grad. Use tensor.detach().numpy() instead.")
        if self.is_cuda:
            if not force:
                raise TypeError(
                    "can't convert cuda:0 device type tensor to numpy. Use Tensor.cpu() to copy the "
                    "tensor to host memory first.")
            return backend.to_numpy(self._data)
        return self._data

    def item(self) -> Any:
        if self._data.size != 1:
            raise RuntimeError(
                f"a Tensor with {self._data.size} elements cannot be converted to Scalar")
        if backend._pending_asserts:
            backend.check_device_asserts()
        return self._data.item()

    def tolist(self) -> Any:
        return backend.to_numpy(self._data).tolist()

    def __len__(self) -> int:
        if self._data.ndim == 0:
            raise TypeError("len() of a 0-d tensor")
        return self._data.shape[0]

    def __bool__(self) -> bool:
        if self._data.size != 1:
            raise RuntimeError(
                f"Boolean value of Tensor with more than one value is ambiguous (shape {list(self.shape)})")
        return bool(self.item())

    def __float__(self) -> float:
        return float(self.item())

    def __int__(self) -> int:
        return int(self.item())

    def __index__(self) -> int:
        if self._data.dtype.kind not in "iub" or self._data.size != 1:
            raise TypeError("only integer tensors of a single element can be converted to an index")
        return int(self.item())

    def __complex__(self) -> complex:
        return complex(self.item())

    def __array__(self, dtype: Any = None, copy: Any = None) -> Any:
        arr = backend.to_numpy(self._data)
        return arr if dtype is None else arr.astype(dtype)

    def __dlpack__(self, *, stream: Any = -1, max_version: Any = None, dl_device: Any = None,
                   copy: Any = None) -> Any:
        """The DLPack protocol (``ops/interop.py``): a capsule of this tensor's memory."""
        from .ops.interop import dlpack_export
        return dlpack_export(self, stream, max_version, dl_device, copy)

    def __dlpack_device__(self) -> tuple:
        from .ops.interop import dlpack_device
        return dlpack_device(self)

    def __iter__(self):
        if self._data.ndim == 0:
            raise TypeError("iteration over a 0-d tensor")
        return iter(self.unbind(0))

    def __hash__(self) -> int:
        return id(self)

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        from ._tensor_str import tensor_repr
        return tensor_repr(self)

    def __str__(self) -> str:
        return self.__repr__()

    def __format__(self, spec: str) -> str:
        if self._data.ndim == 0:
            return self.item().__format__(spec)
        return object.__format__(self, spec)

    def __reduce_ex__(self, protocol: int):
        return (_rebuild_tensor, (backend.to_numpy(self._data), str(self.device), self.requires_grad))

    def __deepcopy__(self, memo: dict) -> "Tensor":
        if id(self) in memo:
            return memo[id(self)]
        if self.grad_fn is not None:
            raise RuntimeError(
                "Only Tensors created explicitly by the user (graph leaves) support the deepcopy "
                "protocol at the moment.")
        import copy
        new = object.__new__(type(self))
        new._data = self._data.copy()
        new.requires_grad = self.requires_grad
        new.grad_fn = None
        new._output_nr = 0
        new._version_counter = [0]
        memo[id(self)] = new
        for key, value in self.__dict__.items():
            if key in ("_hooks", "_post_accumulate_hooks", "_base"):
                continue
            setattr(new, key, copy.deepcopy(value, memo))
        return new


_TYPE_NAMES = {"float32": "FloatTensor", "float64": "DoubleTensor", "float16": "HalfTensor",
               "bfloat16": "BFloat16Tensor", "int64": "LongTensor", "int32": "IntTensor",
               "int16": "ShortTensor", "int8": "CharTensor", "uint8": "ByteTensor", "bool": "BoolTensor",
               "complex64": "ComplexFloatTensor", "complex128": "ComplexDoubleTensor"}


def _rebuild_tensor(array: Any, device: str, requires_grad: bool) -> Tensor:
    t = Tensor._make(backend.to_device(array, backend.as_device(device)))
    t.requires_grad = requires_grad
    return t


class Size(tuple):
    """A tensor's shape: a tuple with ``numel()`` (``torch.Size``)."""

    def numel(self) -> int:
        n = 1
        for s in self:
            n *= s
        return n

    def __repr__(self) -> str:
        return f"edunn.Size([{', '.join(str(s) for s in self)}])"

    def __getitem__(self, item):
        out = tuple.__getitem__(self, item)
        return Size(out) if isinstance(item, slice) else out


def wrap_dim(dim: int, ndim: int) -> int:
    """A dimension index in ``[0, ndim)`` from one in ``[-ndim, ndim)``, with PyTorch's error."""
    n = max(ndim, 1)
    if not -n <= dim < n:
        raise IndexError(
            f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], but got {dim})")
    return dim + n if dim < 0 else dim


_FLOAT_NP = frozenset(d.np for d in backend.ALL_DTYPES if d.is_floating_point or d.is_complex)

# The ops import ``Tensor`` from this module, so they are imported once it exists.
from . import _tensor_methods  # noqa: E402

_tensor_methods._import_ops()
