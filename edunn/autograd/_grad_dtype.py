"""``Tensor.grad_dtype``: the dtype a leaf's ``.grad`` must have (PyTorch 2.13).

By default a leaf's gradient has the leaf's own dtype.  Setting ``leaf.grad_dtype`` to another
dtype makes ``AccumulateGrad`` cast every incoming gradient to it (a float32 parameter that
accumulates its gradient in float64, say); setting it to ``None`` allows a gradient of any
dtype (``.grad = g`` then accepts any dtype, and the engine does not cast).  Only leaves have
it, and it cannot change while a ``.grad`` of another dtype is stored.

Stored as the tensor attribute ``_grad_dtype``: ``None`` (the class default) means "the
tensor's dtype", ``ANY`` means "any dtype", otherwise the dtype itself -- so the engine's
accumulation pays one attribute test for leaves that never set it.
"""
from __future__ import annotations

from typing import Any

from .. import backend

__all__ = ["ANY", "get", "set_", "wanted", "check_assigned"]

ANY = "any"  # grad_dtype = None: a gradient of any dtype

# PyTorch prints the dtype of a gradient by its C++ type in these messages
_CPP = {"float32": "float", "float64": "double", "float16": "c10::Half",
        "bfloat16": "c10::BFloat16", "int64": "long int", "int32": "int", "int16": "short int",
        "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
        "complex64": "c10::complex<float>", "complex128": "c10::complex<double>"}


def _cpp(d: backend.dtype) -> str:
    return _CPP.get(d.name, d.name)


def _leaf_only(t: Any, verb: str) -> None:
    if t.grad_fn is not None:
        raise RuntimeError(f"grad_dtype can only be {verb} on leaf tensors.")


def get(t: Any) -> Any:
    """``t.grad_dtype``: the dtype (the tensor's own by default), or None for any."""
    _leaf_only(t, "accessed")
    value = t._grad_dtype
    if value is None:
        return t.dtype
    return None if value is ANY else value


def set_(t: Any, value: Any) -> None:
    """``t.grad_dtype = value`` (a dtype, or None for any)."""
    _leaf_only(t, "set")
    if value is not None:
        value = backend.as_dtype(value)
        grad = t._grad
        if grad is not None and grad.dtype != value:
            raise RuntimeError(
                f"Cannot set grad_dtype to '{value.scalar_name}' because there is already a "
                f"gradient with dtype '{_cpp(grad.dtype)}'. Please clear the gradient (.grad = "
                "None) before changing grad_dtype, or ensure the new grad_dtype matches the "
                "existing gradient's dtype.")
    t._grad_dtype = ANY if value is None else (None if value == t.dtype else value)


def wanted(t: Any) -> Any:
    """The dtype ``.grad`` must have, or None when any dtype will do."""
    value = t._grad_dtype
    if value is None:
        return t.dtype
    return None if value is ANY else value


def check_assigned(t: Any, grad: Any) -> None:
    """``t.grad = grad``: PyTorch's error when the dtype is not the allowed one."""
    want = wanted(t)
    if want is not None and grad.dtype != want:
        raise RuntimeError(
            f"attempting to assign a gradient with dtype '{_cpp(grad.dtype)}' to a tensor with "
            f"grad_dtype '{want.scalar_name}'. The gradient must match the tensor's grad_dtype "
            "(defaults to the tensor's dtype). You can set the tensor's grad_dtype attribute "
            "with a specific dtype, or None to allow any dtype. Set grad_dtype with caution. "
            "Diverging the dtypes of a tensor and its gradient may break downstream systems "
            "that assume they match.")
