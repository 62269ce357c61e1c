"""``out=``: the one place where a functional op stores its result into a given tensor.

``torch.add(a, b, out=c)`` computes ``a + b`` and writes it into ``c``'s storage (views of ``c``
see it), then returns ``c``.  Every functional wrapper in ``ops/`` ends with
``return write_out(result, out)``, which returns ``result`` untouched when ``out`` is ``None``.
The rules are PyTorch's:

* no autograd through ``out=``: refused when grad mode is on and an input (or ``out``) requires
  grad, because the written tensor cannot take part in a graph;
* no forward-mode AD through ``out=`` either: while a forward-AD level holds tangents, a dual
  input or a dual ``out`` is refused with PyTorch's ``NotImplementedError`` naming ``<op>_out``
  (``write_out`` does not get the op's inputs; it looks at the arguments of the function that
  called it -- the op's own wrapper -- and at the result, which has a tangent when an input had);
* ``out`` of another shape is resized (with PyTorch's deprecation warning when it held elements);
* the result is cast into ``out``'s dtype if PyTorch's in-place casting rule allows it (int into
  a float tensor, yes; float into an int tensor, no); the tensors of a tuple ``out`` such as
  ``sort``'s ``(values, indices)`` must have exactly the result's dtypes.
"""
from __future__ import annotations

import builtins
import sys
import warnings
from typing import Any

from .. import backend
from ..autograd import forward_ad as _forward_ad, grad_mode
from ..tensor import Tensor


def write_out(result: Any, out: Any, name: str = "") -> Any:
    """Store ``result`` (a Tensor, or a tuple of Tensors) into ``out`` and return ``out``."""
    if out is None:
        return result
    op = f"{name}(): " if name else ""
    if _forward_ad._tangents:  # a forward-AD level holds dual tensors (empty otherwise)
        _refuse_forward_ad(name, result, out, sys._getframe(1))
    if isinstance(result, Tensor):
        if isinstance(out, (tuple, list)):
            raise TypeError(f"{op}out= expected a Tensor, got a {type(out).__name__}")
        _refuse_autograd(op, (result,), (out,))
        _store(op, result, out, exact_dtype=False)
        return out
    if not isinstance(out, (tuple, list)) or len(out) != len(result):
        raise TypeError(f"{op}out= expected a tuple of {len(result)} Tensors, "
                        f"got {type(out).__name__}")
    _refuse_autograd(op, tuple(result), tuple(out))
    for r, o in zip(result, out):
        _store(op, r, o, exact_dtype=True)
    return type(result)(*out) if hasattr(result, "_fields") else tuple(out)


def _refuse_autograd(op: str, results: tuple, outs: tuple) -> None:
    if not grad_mode.state.enabled:
        return
    # A result requires grad exactly when a differentiable input did (grad mode is on here).
    if any(r.requires_grad for r in results) or any(getattr(o, "requires_grad", False) for o in outs):
        raise RuntimeError(f"{op}functions with out=... arguments don't support automatic "
                           "differentiation, but one of the arguments requires grad.")


def _refuse_forward_ad(name: str, result: Any, out: Any, caller: Any) -> None:
    """PyTorch's error for an ``out=`` call that sees a dual tensor: among the arguments of the
    wrapper that called ``write_out`` (``caller``, its frame), in the result, or as ``out``."""
    def dual(v: Any) -> bool:
        if isinstance(v, Tensor):
            return _forward_ad._lookup(v) is not None
        return isinstance(v, (tuple, list)) and builtins.any(dual(t) for t in v)
    code = caller.f_code
    names = code.co_varnames[:code.co_argcount + code.co_kwonlyargcount]
    args = [caller.f_locals.get(n) for n in names if n != "out"]
    if dual(result) or dual(out) or builtins.any(dual(a) for a in args):
        raise NotImplementedError(f"Trying to use forward AD with {name or code.co_name}_out that does "
                                  "not support it because it is an out= function")


def _store(op: str, result: Tensor, out: Any, exact_dtype: bool) -> None:
    if not isinstance(out, Tensor):
        raise TypeError(f"{op}out= expected a Tensor, got {type(out).__name__}")
    if out.device != result.device:
        raise RuntimeError(f"{op}Expected out tensor to be on device {result.device}, "
                           f"but got {out.device} instead")
    guard = backend.device_guard((out,))  # write on out's GPU, whichever one is current
    if guard is not None:
        with guard:
            return _store(op, result, out, exact_dtype)
    src, dst = result._data, out._data
    if src.dtype != dst.dtype:
        if exact_dtype:
            raise RuntimeError(f"{op}Expected out tensor to have dtype {result.dtype}, but got "
                               f"{out.dtype} instead")
        if not backend.can_cast_result(src.dtype, dst.dtype):
            raise RuntimeError(f"{op}result type {result.dtype.scalar_name} can't be cast to the "
                               f"desired output type {out.dtype.scalar_name}")
    if src.shape != dst.shape:
        if dst.size:
            warnings.warn(
                f"An output with one or more elements was resized since it had shape "
                f"{list(dst.shape)}, which does not match the required output shape "
                f"{list(src.shape)}. This behavior is deprecated, and in a future PyTorch release "
                f"outputs will not be resized unless they have zero elements.", UserWarning,
                stacklevel=3)
        if out._base is not None:
            raise RuntimeError(f"{op}cannot resize out=, a view of another tensor, from "
                               f"{list(dst.shape)} to {list(src.shape)}")
        out._data = src.astype(dst.dtype, copy=True)  # resizing gives new storage, as resize_
    elif dst.ndim == 0 and not hasattr(dst, "__setitem__"):
        out._data = src.astype(dst.dtype)
    else:
        dst[...] = src
    out._version_counter[0] += 1
