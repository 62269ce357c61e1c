"""``edunn.linalg``'s LU and LDL^T factorizations: ``lu_factor(_ex)``, ``lu``, ``lu_solve``,
``ldl_factor(_ex)`` and ``ldl_solve``.

Split from ``edunn/linalg/__init__.py`` (which re-exports these names).  They check their
arguments as PyTorch does (same messages) and call the ops of ``edunn/ops/solvers.py``
(``LinalgLU``, ``lu_factor_parts``, ``lu_solve_parts``, whose backwards are PyTorch's) and
``edunn/ops/ldl.py`` (LAPACK's pivoting steps, run on the host; PyTorch does not differentiate
them).
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..ops._out import write_out
from ..ops.ldl import LdlFactor, LdlSolve
from ..ops.solvers import (LinalgLU, check_float, check_kernel, check_matrix, check_square, lu_factor_parts,
                           lu_solve_parts, raise_for_info, torch_name)
from ..tensor import Tensor

__all__ = ['lu_factor', 'lu_factor_ex', 'lu', 'lu_solve', 'ldl_factor', 'ldl_factor_ex', 'ldl_solve']


# ----------------------------------------------------------------------------------------------
# LU
# ----------------------------------------------------------------------------------------------
def _zero_pivot(i: int) -> str:
    return (f"U[{i},{i}] is zero and using it on lu_solve would result in a division by zero. If you still want "
            "to perform the factorization, consider calling linalg.lu(A, pivot) or linalg.lu_factor_ex(A, pivot)")


def _lu_checks(A: Tensor, who: str) -> None:
    check_matrix(A, who)
    if not A.dtype.is_floating_point or A.dtype in (backend.float16, backend.bfloat16):
        raise NotImplementedError(f"\"lu_cpu\" not implemented for '{torch_name(A)}'")


@backend.on_input_device
def lu_factor_ex(A: Tensor, *, pivot: bool = True, check_errors: bool = False, out: Any = None) -> Any:
    """``(LU, pivots, info)``: L (unit diagonal implied) and U packed in one matrix, LAPACK's
    1-based int32 row swaps, and info = the first zero pivot (1-based) or 0.  ``pivot=False`` is
    supported on every device (PyTorch: CUDA only)."""
    from ..return_types import linalg_lu_factor_ex
    _lu_checks(A, "linalg.lu_factor_ex")
    lu_, piv, info = lu_factor_parts(A, pivot)
    if check_errors:
        raise_for_info(info._data, "torch.linalg.lu_factor_ex", _zero_pivot)
    return write_out(linalg_lu_factor_ex(lu_, piv, info), out)


@backend.on_input_device
def lu_factor(A: Tensor, *, pivot: bool = True, out: Any = None) -> Any:
    """``(LU, pivots)`` of ``A = P L U``, packed as LAPACK's ``getrf``; raises if a pivot is
    zero (use ``lu_factor_ex`` or ``lu`` for singular matrices)."""
    from ..return_types import linalg_lu_factor
    _lu_checks(A, "linalg.lu_factor")
    lu_, piv, info = lu_factor_parts(A, pivot)
    raise_for_info(info._data, "torch.linalg.lu_factor", _zero_pivot)
    return write_out(linalg_lu_factor(lu_, piv), out)


@backend.on_input_device
def lu(A: Tensor, *, pivot: bool = True, out: Any = None) -> Any:
    """``(P, L, U)`` with ``A = P L U``: P a permutation, L (m, k) unit lower-triangular, U (k, n)
    upper-triangular, k = min(m, n)."""
    from ..return_types import linalg_lu
    _lu_checks(A, "linalg.lu")
    P, L, U, _, _ = LinalgLU.apply(A, bool(pivot))
    return write_out(linalg_lu(P.detach(), L, U), out)


@backend.on_input_device
def lu_solve(LU: Tensor, pivots: Tensor, B: Tensor, *, left: bool = True, adjoint: bool = False,
             out: Any = None) -> Tensor:
    """X with ``A X = B`` (``adjoint``: ``A^T X = B``; not ``left``: ``X A = B``) from
    ``lu_factor``'s output; differentiable in LU and B."""
    who = "linalg.lu_solve"
    check_square(LU, who, "LU")
    check_matrix(B, who, "B")
    n = LU._data.shape[-1]
    rows, cols = B._data.shape[-2:]
    if (rows if left else cols) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{who}: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and {rows}x{cols})")
    if not LU.dtype.is_floating_point:
        raise RuntimeError(f"torch.{who}: Expected a floating point or complex tensor as input. Got {torch_name(LU)}")
    check_kernel(LU, "linalg.lu_solve_cpu")
    if LU.dtype != B.dtype:
        raise RuntimeError(f"{who}: Expected LU and B to have the same dtype, but found LU of type {torch_name(LU)} "
                           f"and B of type {torch_name(B)} instead")
    return write_out(lu_solve_parts(LU, pivots, B, bool(left), bool(adjoint)), out)


# ----------------------------------------------------------------------------------------------
# LDL^T (Bunch-Kaufman), as LAPACK's sytrf / sytrs; PyTorch does not differentiate these
# ----------------------------------------------------------------------------------------------
def _ldl_singular(i: int) -> str:
    return f"The factorization could not be completed because the input matrix is singular (D[{i},{i}] is zero)."


@backend.on_input_device
def ldl_factor_ex(A: Tensor, *, hermitian: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    """``(LD, pivots, info)`` of symmetric A (read from its lower triangle) = P L D L^T P^T with
    Bunch-Kaufman pivoting, in LAPACK's compact form (``ops/ldl.py``); info is the first zero
    1x1 block of D (1-based) or 0.  ``hermitian`` matters only for complex input."""
    from ..return_types import linalg_ldl_factor_ex
    who = "torch.linalg.ldl_factor_ex"
    check_square(A, who)
    if not A.dtype.is_floating_point:
        check_float(A, who)
    check_kernel(A, "ldl_factor_kernel_cpu")
    ld, piv, info = LdlFactor.apply(A)
    if check_errors:
        raise_for_info(info._data, who, _ldl_singular)
    return write_out(linalg_ldl_factor_ex(ld, piv, info), out)


@backend.on_input_device
def ldl_factor(A: Tensor, *, hermitian: bool = False, out: Any = None) -> Any:
    """``(LD, pivots)`` as ``ldl_factor_ex``, raising ``LinAlgError`` for a singular A (PyTorch
    2.13 fails there with an internal assertion instead)."""
    from ..return_types import linalg_ldl_factor
    ld, piv, info = ldl_factor_ex(A, hermitian=hermitian)
    raise_for_info(info._data, "torch.linalg.ldl_factor", _ldl_singular)
    return write_out(linalg_ldl_factor(ld, piv), out)


@backend.on_input_device
def ldl_solve(LD: Tensor, pivots: Tensor, B: Tensor, *, hermitian: bool = False, out: Any = None) -> Tensor:
    """X with ``A X = B`` from ``ldl_factor``'s ``(LD, pivots)`` (LAPACK's ``sytrs``); batch
    dims broadcast."""
    who = "torch.linalg.ldl_solve"
    check_square(LD, who, "LD")
    if B._data.ndim < 2:
        raise IndexError(f"Dimension out of range (expected to be in range of [-{max(B._data.ndim, 1)}, "
                         f"{max(B._data.ndim, 1) - 1}], but got -2)")
    n = LD._data.shape[-1]
    if B._data.shape[-2] != n:
        raise RuntimeError(f"Incompatible matrix sizes for {who}: each A matrix is {n} by {n} but each b matrix is "
                           f"{B._data.shape[-2]} by {B._data.shape[-1]}")
    if B.dtype != LD.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {torch_name(B)} and A of "
                           f"type {torch_name(LD)} instead.")
    if not LD.dtype.is_floating_point:
        check_float(LD, who)
    check_kernel(LD, "ldl_solve_kernel_cpu")
    return write_out(LdlSolve.apply(LD, pivots, B), out)
