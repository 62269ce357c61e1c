r"""The argument checks and small computations of :mod:`edunn.nn.utils.prune`: validating
``amount`` (an ``int`` count or a ``float`` fraction) and ``dim``, turning ``amount`` into a
number of units, and the L\ ``n`` norm of each channel for ``LnStructured``.

Split from ``edunn/nn/utils/prune.py`` (which re-exports these names, as PyTorch's
``torch.nn.utils.prune`` has them); the errors are PyTorch's, type and message.
"""
from __future__ import annotations

import numbers
from typing import Any

import edunn
from ...tensor import Tensor


def _validate_pruning_amount_init(amount: Any) -> None:
    r"""``amount`` must be a real number: an ``int`` >= 0 or a ``float`` in ``[0, 1]``
    (``TypeError`` / ``ValueError`` otherwise).  The tensor size is not known yet."""
    if not isinstance(amount, numbers.Real):
        raise TypeError(f"Invalid type for amount: {amount}. Must be int or float.")
    if (isinstance(amount, numbers.Integral) and amount < 0) or (
            not isinstance(amount, numbers.Integral) and (float(amount) > 1.0 or float(amount) < 0.0)):
        raise ValueError(f"amount={amount} should either be a float in the range [0, 1] or a non-negative integer")


def _validate_pruning_amount(amount: Any, tensor_size: int) -> None:
    r"""An integer ``amount`` must not exceed the number of units (``ValueError``)."""
    if isinstance(amount, numbers.Integral) and amount > tensor_size:
        raise ValueError(f"amount={amount} should be smaller than the number of parameters to prune={tensor_size}")


def _validate_structured_pruning(t: Tensor) -> None:
    r"""Channels need a tensor of at least 2 dimensions (``ValueError``)."""
    shape = t.shape
    if len(shape) <= 1:
        raise ValueError("Structured pruning can only be applied to multidimensional tensors. "
                         f"Found tensor of shape {shape} with {len(shape)} dims")


def _compute_nparams_toprune(amount: Any, tensor_size: int) -> int:
    r"""An ``int`` amount as is; a fraction as ``round(amount * tensor_size)`` (Python's
    ``round``: halves go to the even number)."""
    if isinstance(amount, numbers.Integral):
        return amount
    return round(amount * tensor_size)


def _validate_pruning_dim(t: Tensor, dim: int) -> None:
    r"""``dim`` must index ``t`` (``IndexError``; PyTorch checks only the upper bound)."""
    if dim >= t.dim():
        raise IndexError(f"Invalid index {dim} for tensor of size {t.shape}")


def _compute_norm(t: Tensor, n: Any, dim: int) -> Tensor:
    r"""The L\ ``n`` norm of ``t`` over every dimension except ``dim``: shape ``(t.shape[dim],)``."""
    dims = list(range(t.dim()))
    if dim < 0:
        dim = dims[dim]
    dims.remove(dim)
    return edunn.norm(t, p=n, dim=dims)
