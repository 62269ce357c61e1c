"""Checking sparse tensors: ``torch.sparse.check_sparse_tensor_invariants`` (the switch for the
constructor's invariant checks), ``as_sparse_gradcheck`` (``gradcheck`` through sparse inputs
and outputs), and the CUDA-only semi-structured (2:4) format, whose error edunn gives as
PyTorch does on a CPU.
"""
from __future__ import annotations

import functools
from typing import Any

from .. import backend
from ..tensor import Tensor

__all__ = ["check_sparse_tensor_invariants", "as_sparse_gradcheck", "SparseSemiStructuredTensor",
           "SparseSemiStructuredTensorCUTLASS", "SparseSemiStructuredTensorCUSPARSELT",
           "to_sparse_semi_structured"]

_CHECKS = [False]  # PyTorch's global flag (torch._C._check_sparse_tensor_invariants)


class check_sparse_tensor_invariants:
    """Turn the invariant checks of ``sparse_coo_tensor`` on or off, as
    ``torch.sparse.check_sparse_tensor_invariants``: a context manager
    (``with check_sparse_tensor_invariants(): ...``), a decorator, or the static switches
    ``enable()``/``disable()``/``is_enabled()``.  A ``check_invariants=`` argument of the
    constructor overrides the flag.

    The COO invariants are: ``indices`` is ``(sparse_dim, nnz)`` with every index in
    ``[0, size[d])``, ``values`` is ``(nnz, *size[sparse_dim:])``, and ``is_coalesced=True`` is
    only claimed for sorted, duplicate-free indices.  PyTorch skips the index checks by default
    (a wrong index is then undefined behaviour in C++); edunn checks the index range always,
    because NumPy would otherwise raise an unhelpful ``IndexError`` or silently wrap a negative
    index, and the coalesced claim when the flag (or ``check_invariants=True``) asks for it.
    """

    @staticmethod
    def is_enabled() -> bool:
        """Whether the checks are on (off by default)."""
        return _CHECKS[0]

    @staticmethod
    def enable() -> None:
        """Turn the checks on for every sparse constructor."""
        _CHECKS[0] = True

    @staticmethod
    def disable() -> None:
        """Turn the checks off (the default)."""
        _CHECKS[0] = False

    def __init__(self, enable: bool = True) -> None:
        self.state = enable
        self.saved_state: bool | None = None

    def __enter__(self) -> None:
        if self.saved_state is not None:
            raise RuntimeError("This context manager instance is already activated. Use a "
                               "different context manager instance for context nesting.")
        self.saved_state = self.is_enabled()
        _CHECKS[0] = bool(self.state)

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        assert self.saved_state is not None
        _CHECKS[0] = self.saved_state
        self.saved_state = None

    def __call__(self, mth: Any) -> Any:
        def test_mth(*args: Any, **kwargs: Any) -> Any:
            with type(self)(self.state):
                return mth(*args, **kwargs)
        return functools.wraps(mth)(test_mth)


def _check_coalesced_claim(idx: Any, sizes: tuple) -> None:
    """``is_coalesced=True`` must describe strictly increasing row-major positions."""
    from ._coo import _linear_key
    if idx.shape[1] > 1:
        key = _linear_key(idx, sizes, backend.array_module(idx))
        if bool((key[1:] <= key[:-1]).any()):
            raise RuntimeError("cannot set is_coalesced to true if indices correspond to "
                               "uncoalesced COO tensor")


def as_sparse_gradcheck(gradcheck: Any) -> Any:
    """Wrap ``gradcheck`` (or a ``functools.partial`` of it) so that it accepts functions of
    sparse COO tensors and functions returning them, as ``torch.sparse.as_sparse_gradcheck``.

    Each sparse input that requires grad is replaced by its values (a dense tensor that
    gradcheck can perturb) and rebuilt inside the checked function with
    ``sparse_coo_tensor(indices, values, size)``; sparse outputs are made dense.  Without
    ``masked=True`` every element of the input is materialised first (zeros included), so the
    check covers the gradient with respect to the whole dense tensor; with ``masked=True`` only
    the specified entries are perturbed."""

    def gradcheck_with_sparse_support(func: Any, inputs: Any, **kwargs: Any) -> Any:
        masked = kwargs.pop("masked", False)
        from ._creation import sparse_coo_tensor
        from ._matmul import sparse_mask
        from ..ops.creation import ones
        marker = object()
        args = inputs if isinstance(inputs, (list, tuple)) else (inputs,)
        flat: list = []
        for obj in args:
            if isinstance(obj, Tensor) and obj.requires_grad and obj.is_sparse:
                if not masked:  # materialise unspecified elements as zeros
                    full = ones(tuple(obj.shape), dtype=backend.bool_, device=obj.device)
                    full = full.to_sparse(obj.sparse_dim())
                    obj = sparse_mask(obj.detach().to_dense(), full)
                meta = (obj._idx.detach(), tuple(obj.shape), obj.is_coalesced())
                flat.extend((marker, meta, obj._vals.detach().clone().requires_grad_(True)))
            else:
                flat.append(obj)

        def restore(flat_args: tuple) -> list:
            out, rest = [], list(flat_args)
            while rest:
                a = rest.pop(0)
                if a is marker:
                    (idx, size, coalesced), values = rest.pop(0), rest.pop(0)
                    a = sparse_coo_tensor(idx, values, size, is_coalesced=coalesced)
                out.append(a)
            return out

        def densify(result: Any) -> Any:
            if isinstance(result, (list, tuple)):
                return type(result)(densify(r) for r in result)
            if isinstance(result, Tensor) and result.is_sparse:
                return result.to_dense()
            return result

        def func_wrapper(*flat_args: Any) -> Any:
            return densify(func(*restore(flat_args)))

        return gradcheck(func_wrapper, tuple(flat), **kwargs)

    return gradcheck_with_sparse_support


_CUDA_ONLY = ("Error original_tensor.device= {} is not supported! Only CUDA tensors are "
              "currently supported.")


class SparseSemiStructuredTensor(Tensor):
    """PyTorch's 2:4 semi-structured sparse format (two nonzeros in every four), stored in the
    layout that NVIDIA's sparse tensor cores read (CUTLASS or cuSPARSELt kernels).  It exists
    only for CUDA tensors in PyTorch; edunn raises PyTorch's error for a CPU tensor, and has no
    such kernels on its CuPy path either, so it raises for CUDA tensors too (saying so)."""

    _DEFAULT_ALG_ID = 0
    _FORCE_CUTLASS = False
    _FUSE_TRANSPOSE = False
    _PROTOTYPE_WARNING_SHOWN = False
    BACKEND = "base"

    def __new__(cls, *args: Any, **kwargs: Any) -> Any:
        raise RuntimeError(f"{cls.__name__}: build it with to_sparse_semi_structured (or "
                           f"{cls.__name__}.from_dense); " + _semi_structured_error(None))

    @classmethod
    def from_dense(cls, original_tensor: Tensor) -> Any:
        raise RuntimeError(_semi_structured_error(original_tensor))


class SparseSemiStructuredTensorCUTLASS(SparseSemiStructuredTensor):
    """The CUTLASS-kernel flavour of :class:`SparseSemiStructuredTensor` (CUDA only)."""

    BACKEND = "cutlass"


class SparseSemiStructuredTensorCUSPARSELT(SparseSemiStructuredTensor):
    """The cuSPARSELt-kernel flavour of :class:`SparseSemiStructuredTensor` (CUDA only)."""

    BACKEND = "cusparselt"


def _semi_structured_error(t: Any) -> str:
    if t is None or not getattr(t, "is_cuda", False):
        return _CUDA_ONLY.format(getattr(t, "device", "cpu"))
    return ("semi-structured (2:4) sparsity needs NVIDIA's sparse tensor-core kernels "
            "(CUTLASS/cuSPARSELt), which edunn's CuPy backend does not have")


def to_sparse_semi_structured(original_tensor: Tensor, transposed: bool = False,
                              alg_id: int = 0) -> SparseSemiStructuredTensor:
    """``torch.sparse.to_sparse_semi_structured``: CUDA-only in PyTorch (see
    :class:`SparseSemiStructuredTensor`); raises PyTorch's error on a CPU tensor."""
    if transposed:
        raise DeprecationWarning("Setting transpose from `to_sparse_semi_structured` is "
                                 "deprecated and will be removed in a future release. "
                                 "`SparseSemiStructuredTensor` only support contiguous input "
                                 "tensors.")
    raise RuntimeError(_semi_structured_error(original_tensor))
