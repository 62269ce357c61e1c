"""``torch.addr`` (the outer-product update) and the two norms PyTorch keeps at the top level
for TorchScript, ``nuclear_norm`` and ``frobenius_norm``.

``addr(input, vec1, vec2, beta, alpha) = beta * input + alpha * outer(vec1, vec2)``: the rank-1
update of BLAS's ``ger``, written with :func:`edunn.outer` and the same ``beta``/``alpha`` rule
as ``addmm`` (``beta == 0`` ignores ``input``, NaN included), so its gradient comes from those
ops.  The norms are the deprecated spellings of ``linalg.matrix_norm(A, 'nuc')`` and
``linalg.vector_norm(A, 2, dim)``; they warn as PyTorch does and call those.
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any

from ..tensor import Tensor
from ._out import write_out
from .linalg import _scaled_sum, outer

__all__ = ["addr", "nuclear_norm", "frobenius_norm"]


def addr(input: Tensor, vec1: Tensor, vec2: Tensor, *, beta: Any = 1, alpha: Any = 1, out: Any = None) -> Tensor:
    """``beta * input + alpha * vec1 ⊗ vec2``; ``input`` broadcasts to ``(len(vec1), len(vec2))``."""
    for name, v in (("vec1", vec1), ("vec2", vec2)):
        if not isinstance(v, Tensor):
            raise TypeError(f"addr(): argument '{name}' must be Tensor, not {type(v).__name__}")
        if v.ndim != 1:
            raise RuntimeError(f"addr: Expected 1-D argument {name}, but got {v.ndim}-D")
    if not isinstance(input, Tensor):
        raise TypeError(f"addr(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if not input.is_floating_point():
        for name, s in (("beta", beta), ("alpha", alpha)):
            if isinstance(s, numbers.Real) and not isinstance(s, numbers.Integral):
                raise RuntimeError(f"For integral input tensors, argument {name} must not be a floating point number.")
    result = _scaled_sum(input, outer(vec1, vec2), beta, alpha)
    shape = (vec1.shape[0], vec2.shape[0])
    if tuple(result.shape) != shape:  # input may broadcast up to the outer product, never beyond it
        raise RuntimeError(f"The expanded size of the tensor ({result.shape[-1]}) must match the existing "
                           f"size ({shape[-1]}) at non-singleton dimension 1.  Target sizes: {list(shape)}.  "
                           f"Tensor sizes: {list(input.shape)}")
    return write_out(result, out)


def nuclear_norm(input: Tensor, dim: Any = None, keepdim: bool = False, *, out: Any = None) -> Tensor:
    """The sum of singular values over the matrices in dims ``dim`` (the last two by default, batched over the rest).
    PyTorch's two overloads are ``nuclear_norm(input, keepdim=False)`` and
    ``nuclear_norm(input, dim, keepdim=False)``: a bool in the second place is ``keepdim``."""
    from ..linalg import matrix_norm
    warnings.warn("at::nuclear_norm is deprecated and it is just left for JIT compatibility. It will be removed "
                  "in a future PyTorch release. Please use `linalg.matrix_norm(A, 'nuc', dim, keepdim)` instead",
                  UserWarning, stacklevel=2)
    if isinstance(dim, bool):
        dim, keepdim = None, dim
    if dim is None:
        dim = (-2, -1)
    return write_out(matrix_norm(input, "nuc", tuple(dim), keepdim), out)


def frobenius_norm(input: Tensor, dim: Any, keepdim: bool = False, *, out: Any = None) -> Tensor:
    """``sqrt(sum(input ** 2))`` over one or two dims (``linalg.vector_norm(input, 2, dim)``)."""
    from ..linalg import vector_norm
    warnings.warn("at::frobenius_norm is deprecated and it is just left for JIT compatibility. It will be "
                  "removed in a future PyTorch release. Please use `linalg.vector_norm(A, 2., dim, keepdim)` "
                  "instead", UserWarning, stacklevel=2)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) > 2:
        raise RuntimeError(f"Expected at most 2 dimensions, but got {len(dims)} dimensions instead.")
    return write_out(vector_norm(input, 2, dims, keepdim), out)
