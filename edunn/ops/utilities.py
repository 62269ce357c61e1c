"""Small tensor utilities PyTorch has at the top level: ``isin``, ``unravel_index``, ``renorm``,
``rsub``, ``scalar_tensor``, ``fill``/``fill_``, ``zero_``, ``detach``, ``empty_strided``, the
predicates ``is_nonzero``/``is_same_size``/``is_signed``, and the determinism switch
(``use_deterministic_algorithms`` and its two queries).

``renorm`` and ``rsub`` are compositions of differentiable ops; ``isin`` looks every element up
in the sorted test elements with one ``searchsorted`` (O((N + M) log M), no N x M table).
"""
from __future__ import annotations

import itertools
import operator
from typing import Any, Sequence

from .. import backend
from ..tensor import Tensor, wrap_dim
from .differences import _type_name
from .elementwise import _where, sub
from ..amp import _policy as _autocast

__all__ = ['isin', 'unravel_index', 'renorm', 'rsub', 'scalar_tensor', 'is_nonzero', 'is_same_size',
           'is_signed', 'detach', 'zero_', 'fill', 'fill_', 'empty_strided', 'empty_permuted', 'resize_as_',
           'use_deterministic_algorithms', 'are_deterministic_algorithms_enabled',
           'is_deterministic_algorithms_warn_only_enabled']


@backend.on_input_device
def isin(elements: Any, test_elements: Any, *, assume_unique: bool = False, invert: bool = False,
         out: Any = None) -> Tensor:
    """Whether each element of ``elements`` occurs in ``test_elements`` (either may be a number,
    not both); NaN is in nothing.  ``assume_unique`` is accepted for PyTorch's sake: the lookup
    is the same either way."""
    from .creation import tensor
    if not isinstance(elements, Tensor) and not isinstance(test_elements, Tensor):
        raise TypeError(f"isin() received an invalid combination of arguments - got "
                        f"({type(elements).__name__}, {type(test_elements).__name__})")
    ref = elements if isinstance(elements, Tensor) else test_elements
    for t in (elements, test_elements):
        if isinstance(t, Tensor) and t.dtype == backend.bool_:
            raise RuntimeError("Unsupported input type encountered for isin(): Bool")
    if not isinstance(elements, Tensor):
        elements = tensor(elements, device=ref.device)
        elements = elements.to(backend.scalar_result_type(test_elements.dtype, elements.item()))
    if not isinstance(test_elements, Tensor):
        test_elements = tensor(test_elements, device=ref.device)
    e, t = elements._data, test_elements._data
    xp = backend.array_module(e)
    common = backend.result_type(backend.dtype_of(e), 1, backend.dtype_of(t), 1).np
    e, t = e.astype(common, copy=False), t.reshape(-1).astype(common, copy=False)
    if t.size == 0:
        found = xp.zeros(e.shape, bool)
    else:
        s = xp.sort(t)
        pos = xp.clip(xp.searchsorted(s, e), 0, s.size - 1)
        found = s[pos] == e
    from ._out import write_out
    return write_out(Tensor._make(~found if invert else found), out)


@backend.on_input_device
def unravel_index(indices: Tensor, shape: Any) -> tuple:
    """The coordinates, in a tensor of ``shape``, of flat (row-major) ``indices``: a tuple of
    one int64 tensor per dim, each of ``indices``' shape.  Out-of-range indices wrap around, as
    in PyTorch."""
    if indices.is_floating_point() or indices.dtype == backend.bool_:
        raise TypeError(f"expected 'indices' to be integer dtype, but got torch.{indices.dtype.name}")
    if isinstance(shape, int):
        shape = (shape,)
    elif not isinstance(shape, Sequence):
        raise TypeError(f"expected 'shape' to be int or sequence of ints, but got {type(shape)}")
    shape = tuple(shape)
    for n in shape:
        if not isinstance(n, int):
            raise TypeError(f"expected 'shape' sequence to only contain ints, but got {type(n)}")
    if any(n < 0 for n in shape):
        raise ValueError(f"'shape' cannot have negative values, but got {shape}")
    coefs = list(reversed(list(itertools.accumulate(reversed(shape[1:] + (1,)), func=operator.mul))))
    xp = backend.array_module(indices._data)
    i = indices._data.astype(backend.int64.np)[..., None]
    out = (i // xp.asarray(coefs, backend.int64.np)) % xp.asarray(shape, backend.int64.np)
    return tuple(Tensor._make(out[..., k]) for k in range(len(shape)))


@backend.on_input_device
def renorm(input: Tensor, p: float, dim: int, maxnorm: float, *, out: Any = None) -> Tensor:
    """Each sub-tensor ``input.select(dim, i)`` whose p-norm exceeds ``maxnorm`` scaled down to
    norm ``maxnorm``: ``x * (maxnorm / (norm + 1e-7))`` there, ``x`` elsewhere."""
    if _autocast.active and out is None and "renorm" in _autocast.listed: return _autocast.call("renorm", renorm, input, p, dim, maxnorm, out=out)  # noqa: E501,E701
    from ._out import write_out
    from .reduction import norm
    if input._data.ndim <= 1:
        raise RuntimeError(f"renorm: input needs at least 2 dimensions, got {input._data.ndim} dimensions")
    d = wrap_dim(dim, input._data.ndim)
    if not p > 0:
        raise RuntimeError("renorm: non-positive-norm not supported")
    if maxnorm < 0:
        raise RuntimeError(f"renorm: expected maxnorm to be >= 0 but got {_num(maxnorm)}")
    if not input.is_floating_point():
        raise RuntimeError(f"linalg.vector_norm: Expected a floating point or complex tensor as input. "
                           f"Got {_type_name(input)}")
    dims = tuple(k for k in range(input._data.ndim) if k != d)
    n = norm(input, float(p), dim=dims, keepdim=True)
    factor = _where(n._data > maxnorm, maxnorm / (n + 1e-7), 1.0)
    return write_out(input * factor, out)


def _num(v: float) -> str:
    return str(int(v)) if float(v) == int(v) else str(v)


def rsub(input: Tensor, other: Any, alpha: Any = 1) -> Tensor:
    """``other - alpha * input`` (``sub`` with the operands swapped).  PyTorch takes ``alpha``
    positionally only when ``other`` is a number; edunn takes it either way."""
    if not isinstance(input, Tensor):
        raise TypeError(f"rsub(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    integral = not input.is_floating_point() and (
        not other.is_floating_point() if isinstance(other, Tensor) else not isinstance(other, float))
    if integral and isinstance(alpha, float):
        raise RuntimeError("For integral input tensors, argument alpha must not be a floating point number.")
    return sub(other, input, alpha=alpha)


def scalar_tensor(s: Any, *, dtype: Any = None, layout: Any = None, device: Any = None,
                  requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """A 0-dim tensor holding the number ``s``, in the default float dtype unless ``dtype``
    says otherwise (integers and bools too, as PyTorch)."""
    from .creation import tensor
    if isinstance(s, Tensor):
        s = s.item()
    if isinstance(s, complex):
        raise RuntimeError("value cannot be converted to type float without overflow")
    d = backend.get_default_dtype() if dtype is None else backend.as_dtype(dtype)
    return tensor(s, dtype=d, device=device, requires_grad=requires_grad)


@backend.on_input_device
def is_nonzero(input: Tensor) -> bool:
    """``bool(input)`` for a one-element tensor."""
    n = input._data.size
    if n == 0:
        raise RuntimeError("Boolean value of Tensor with no values is ambiguous")
    if n > 1:
        raise RuntimeError("Boolean value of Tensor with more than one value is ambiguous")
    return bool(input.item())


def is_same_size(input: Tensor, other: Tensor) -> bool:
    for k, (name, t) in enumerate((("input", input), ("other", other)), 1):
        if not isinstance(t, Tensor):
            raise TypeError(f"is_same_size(): argument '{name}' (position {k}) must be Tensor, not "
                            f"{type(t).__name__}")
    return tuple(input._data.shape) == tuple(other._data.shape)


def is_signed(input: Tensor) -> bool:
    """Whether ``input``'s dtype holds negative numbers (not bool nor uint8)."""
    return input.dtype.is_signed


def detach(input: Tensor) -> Tensor:
    """``input.detach()``: the same data, cut from the graph."""
    return input.detach()


def zero_(input: Tensor) -> Tensor:
    """``input.zero_()``: fill ``input`` with zeros in place, and return it."""
    return input.zero_()


def _check_fill_value(value: Any) -> None:
    if isinstance(value, Tensor) and value._data.ndim != 0:
        raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with "
                           f"{value._data.ndim} dimensions.")


@backend.on_input_device
def fill(input: Tensor, value: Any) -> Tensor:
    """A tensor like ``input`` (shape, dtype, device) holding ``value`` everywhere; a 0-dim
    tensor ``value`` gets the sum of the output gradient."""
    from .creation import full_like_value
    _check_fill_value(value)
    if isinstance(value, Tensor):  # where(): input's gradient is zeros, as PyTorch gives it
        everywhere = backend.array_module(input._data).ones(input._data.shape, bool)
        return _where(everywhere, value.to(input.dtype), input)
    return full_like_value(input, value)


@backend.on_input_device
def fill_(input: Tensor, value: Any) -> Tensor:
    """``input.fill_(value)``: in place."""
    _check_fill_value(value)
    return input.fill_(value)


def empty_strided(size: Sequence[int], stride: Sequence[int], *, dtype: Any = None, layout: Any = None,
                  device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose elements are ``stride`` elements apart along
    each dim (a strided view of a buffer just big enough: overlapping strides share memory)."""
    from .creation import zeros
    size, stride = tuple(int(s) for s in size), tuple(int(s) for s in stride)
    if len(size) != len(stride):
        raise RuntimeError(f"dimensionality of sizes ({len(size)}) must match dimensionality of strides "
                           f"({len(stride)})")
    if any(s < 0 for s in size):
        raise RuntimeError(f"Trying to create tensor with negative dimension {min(size)}: {list(size)}")
    n = 0 if 0 in size else 1 + sum((s - 1) * st for s, st in zip(size, stride))
    buf = zeros((n,), dtype=dtype, device=device)._data
    xp = backend.array_module(buf)
    item = buf.dtype.itemsize
    with backend.device_context(backend.device_of(buf)):
        data = xp.lib.stride_tricks.as_strided(buf, size, tuple(st * item for st in stride)) if n else buf.reshape(size)
    out = Tensor._make(data)
    return out.requires_grad_() if requires_grad else out


def empty_permuted(size: Sequence[int], physical_layout: Sequence[int], *, dtype: Any = None, layout: Any = None,
                   device: Any = None, requires_grad: bool = False, pin_memory: bool = False) -> Tensor:
    """An uninitialised tensor of ``size`` whose dims lie in memory in the order
    ``physical_layout`` (outermost first): ``empty_permuted((2, 3, 4), (2, 0, 1))`` has strides
    ``(3, 1, 6)``.  Not a view: the memory is its own."""
    from .creation import empty
    size, order = tuple(int(s) for s in size), tuple(int(d) for d in physical_layout)
    if len(size) != len(order):
        raise RuntimeError(f"Number of dimensions in size does not match the length of the physical_layout; "
                           f"i.e. len(size) = {len(size)} is not equal to len(physical_layout) = {len(order)}")
    if sorted(order) != list(range(len(size))):
        raise RuntimeError("Duplicate dim not allowed")
    physical = empty(tuple(size[d] for d in order), dtype=dtype, device=device)._data
    out = Tensor._make(physical.transpose(tuple(sorted(range(len(order)), key=order.__getitem__))))
    return out.requires_grad_() if requires_grad else out


def resize_as_(input: Tensor, the_template: Tensor, *, memory_format: Any = None) -> Tensor:
    """``input.resize_as_(the_template)``: ``input`` resized in place to the template's shape."""
    return input.resize_as_(the_template, memory_format)


# ----------------------------------------------------------------------------------------------
# determinism: every edunn op is deterministic already; the flag is stored and reported as
# PyTorch does, so code that sets or checks it runs unchanged.
# ----------------------------------------------------------------------------------------------
_DETERMINISM = {"mode": False, "warn_only": False}


def use_deterministic_algorithms(mode: bool, *, warn_only: bool = False) -> None:
    """Record PyTorch's determinism switch.  edunn's ops give the same result on every run
    whatever it says (no atomics, no nondeterministic kernels), so it changes nothing else."""
    if not isinstance(mode, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'mode' (position 1) must be bool, "
                        f"not {type(mode).__name__}")
    if not isinstance(warn_only, bool):
        raise TypeError(f"_set_deterministic_algorithms(): argument 'warn_only' must be bool, not "
                        f"{type(warn_only).__name__}")
    _DETERMINISM["mode"], _DETERMINISM["warn_only"] = mode, warn_only


def are_deterministic_algorithms_enabled() -> bool:
    return _DETERMINISM["mode"]


def is_deterministic_algorithms_warn_only_enabled() -> bool:
    return _DETERMINISM["warn_only"]
