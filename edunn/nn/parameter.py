"""``Parameter``, ``Buffer`` and the uninitialized kinds that lazy modules fill in (lesson 03).

A ``Parameter`` is a tensor that a ``Module`` tracks: assigning one to a module attribute
registers it, so it shows up in ``parameters()`` (what the optimizer updates) and in
``state_dict()``.  It is a leaf that requires grad by default, and it shares its storage with the
tensor it was made from.  ``Buffer`` marks a tensor as module state that is *not* trained
(BatchNorm's ``running_mean``).  ``UninitializedParameter``/``UninitializedBuffer`` hold no data
yet: a lazy module gives them a shape on its first forward (``materialize``).
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor

__all__ = ["Parameter", "Buffer", "UninitializedParameter", "UninitializedBuffer"]


def _alias(cls: type, data: Tensor, requires_grad: bool) -> Tensor:
    """A ``cls`` object sharing ``data``'s storage and version counter (torch's
    ``_make_subclass``): changes to one show in the other, as with ``detach()``."""
    t = object.__new__(cls)
    t._data = data._data
    t.requires_grad = requires_grad
    t.grad_fn = None
    t._output_nr = 0
    t._version_counter = data._version_counter
    return t


class Parameter(Tensor):
    """``Parameter(data=None, requires_grad=True)``: a tensor registered by the module it is
    assigned to.  ``data=None`` gives an empty float tensor."""

    def __new__(cls, data: Tensor | None = None, requires_grad: bool = True) -> "Parameter":
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Parameter: data must be a Tensor, got {type(data).__name__}")
        if requires_grad and not (data.is_floating_point() or data.is_complex()):
            raise RuntimeError(
                f"Only Tensors of floating point and complex dtype can require gradients, got {data.dtype}")
        return _alias(cls, data, requires_grad)

    def __init__(self, data: Tensor | None = None, requires_grad: bool = True) -> None:
        pass  # everything happens in __new__ (the storage is shared, not copied)

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return "Parameter containing:\n" + super().__repr__()

    def __deepcopy__(self, memo: dict) -> "Parameter":
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(Tensor._make(self._data.copy()), self.requires_grad)
        if self._grad is not None:
            import copy
            result._grad = copy.deepcopy(self._grad, memo)
        memo[id(self)] = result
        return result

    def __reduce_ex__(self, protocol: int):
        return (_rebuild_parameter, (Tensor.__reduce_ex__(self, protocol), self.requires_grad))


def _rebuild_parameter(tensor_reduced: tuple, requires_grad: bool) -> Parameter:
    rebuild, args = tensor_reduced
    return Parameter(rebuild(*args), requires_grad)


class _BufferMeta(type):
    # ``isinstance(t, Buffer)`` is true for tensors marked by ``Buffer(...)``: a buffer stays a
    # plain Tensor (as in PyTorch), the mark only tells ``Module.__setattr__`` what it is.
    def __instancecheck__(cls, instance: Any) -> bool:
        if cls is Buffer:
            return isinstance(instance, Tensor) and getattr(instance, "_is_buffer", False)
        return super().__instancecheck__(instance)


class Buffer(Tensor, metaclass=_BufferMeta):
    """``Buffer(data, *, persistent=True)``: marks a tensor so that assigning it to a module
    attribute registers it as a buffer (``persistent=False`` keeps it out of ``state_dict``).
    Returns the tensor itself, detached, as PyTorch does."""

    def __new__(cls, data: Tensor | None = None, *, persistent: bool = True) -> Tensor:
        if data is None:
            from ..ops.creation import empty
            data = empty(0)
        t = data.detach().requires_grad_(data.requires_grad)
        t.persistent = persistent
        t._is_buffer = True
        return t


_UNINIT_MESSAGE = (
    "Attempted to use an uninitialized parameter in {}. This error happens when you are using a "
    "`LazyModule` or explicitly manipulating `torch.nn.parameter.UninitializedParameter` objects. "
    "When using LazyModules Call `forward` with a dummy batch to initialize the parameters before "
    "calling torch functions")

_SLOT_DATA = Tensor._data  # the slot descriptor; the mixin's property hides it until materialize


class UninitializedTensorMixin:
    """Holds a dtype and device but no data: any use of the data raises a clear error until
    ``materialize(shape)`` allocates it and turns the object into ``cls_to_become``."""

    cls_to_become: type = Tensor

    @property
    def _data(self) -> Any:
        raise ValueError(_UNINIT_MESSAGE.format(type(self).__name__))

    @_data.setter
    def _data(self, value: Any) -> None:
        _SLOT_DATA.__set__(self, value)

    @property
    def dtype(self) -> backend.dtype:
        return backend.dtype_of(_SLOT_DATA.__get__(self))

    @property
    def device(self) -> backend.device:
        return backend.device_of(_SLOT_DATA.__get__(self))

    @property
    def shape(self) -> Any:
        raise ValueError(_UNINIT_MESSAGE.format(type(self).__name__))

    def size(self, dim: int | None = None) -> Any:
        raise ValueError(_UNINIT_MESSAGE.format(type(self).__name__))

    def is_floating_point(self) -> bool:
        return self.dtype.is_floating_point

    def is_complex(self) -> bool:
        return False

    def materialize(self, shape: Any, device: Any = None, dtype: Any = None) -> None:
        """Allocate the data (uninitialised values, as ``edunn.empty``) and become
        ``cls_to_become``: a ``Parameter`` or a ``Tensor``."""
        from ..ops.creation import empty
        if isinstance(shape, int):
            shape = (shape,)
        device = self.device if device is None else device
        dtype = self.dtype if dtype is None else dtype
        array = empty(tuple(shape), device=device, dtype=dtype)._data
        self.__class__ = self.cls_to_become
        self._data = array

    # Moves and casts are allowed before materialisation (as PyTorch's ``_allowed_methods``), so
    # ``LazyLinear(3).to("cuda")`` materialises its weights on the GPU at the first forward.
    def to(self, *args: Any, **kwargs: Any) -> Any:
        moved = Tensor._make(_SLOT_DATA.__get__(self)).to(*args, **kwargs)
        if moved.device == self.device and moved.dtype == self.dtype:
            return self
        result = _uninitialized(type(self), self.requires_grad, moved.device, moved.dtype)
        result.__dict__.update(getattr(self, "__dict__", {}))
        return result

    def cpu(self, memory_format: Any = None) -> Any:
        return self.to("cpu")

    def cuda(self, device: Any = None, non_blocking: bool = False, memory_format: Any = None) -> Any:
        return self.to("cuda" if device is None else device)

    def half(self, memory_format: Any = None) -> Any:
        return self.to(backend.float16)

    def float(self, memory_format: Any = None) -> Any:
        return self.to(backend.float32)

    def double(self, memory_format: Any = None) -> Any:
        return self.to(backend.float64)

    def _set_data(self, value: Tensor) -> None:
        """``param.data = uninitialized`` (what ``Module._apply`` does) takes over its storage."""
        _SLOT_DATA.__set__(self, _SLOT_DATA.__get__(value) if is_lazy(value) else value._data)

    data = property(Tensor.data.fget, _set_data)

    def share_memory_(self) -> Any:
        raise RuntimeError(
            "Can't share memory on an uninitialized parameter or buffer. Call `forward` to "
            "initialize the parameters before calling `module.share_memory()`.")

    def __repr__(self, *, tensor_contents: Any = None) -> str:
        return f"<{self.__class__.__name__}>"

    def __reduce_ex__(self, proto: int):
        return (self.__class__, (self.requires_grad,))

    def __deepcopy__(self, memo: dict) -> Any:
        if id(self) in memo:
            return memo[id(self)]
        result = type(self)(self.requires_grad, self.device, self.dtype)
        memo[id(self)] = result
        return result


def _uninitialized(cls: type, requires_grad: bool, device: Any, dtype: Any) -> Any:
    from ..ops.creation import empty
    t = object.__new__(cls)
    _SLOT_DATA.__set__(t, empty(0, device=device, dtype=dtype)._data)
    t.requires_grad = requires_grad
    t.grad_fn = None
    t._output_nr = 0
    t._version_counter = [0]
    return t


class UninitializedParameter(UninitializedTensorMixin, Parameter):
    """A parameter whose shape a lazy module infers on its first forward; becomes a
    ``Parameter`` when materialized."""

    cls_to_become = Parameter

    def __new__(cls, requires_grad: bool = True, device: Any = None, dtype: Any = None):
        return _uninitialized(cls, requires_grad, device, dtype)

    def __init__(self, requires_grad: bool = True, device: Any = None, dtype: Any = None) -> None:
        pass


class UninitializedBuffer(UninitializedTensorMixin, Tensor):
    """A buffer whose shape a lazy module infers on its first forward; becomes a plain
    ``Tensor`` when materialized."""

    cls_to_become = Tensor

    def __new__(cls, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                persistent: bool = True):
        t = _uninitialized(cls, requires_grad, device, dtype)
        t.persistent = persistent
        t._is_buffer = True
        return t

    def __init__(self, requires_grad: bool = False, device: Any = None, dtype: Any = None,
                 persistent: bool = True) -> None:
        pass


def is_lazy(param: Any) -> bool:
    """Whether ``param`` is still waiting for a lazy module to give it a shape."""
    return isinstance(param, UninitializedTensorMixin)

