"""``linalg.eig``/``linalg.eigvals``: eigen-decomposition of general square matrices.

``A V = V diag(L)``: for a matrix that is not symmetric the eigenvalues ``L`` and eigenvectors
``V`` are complex even when A is real (a rotation has eigenvalues ``e^{+-i theta}``), so the
results are complex64/complex128.  As in PyTorch (LAPACK's ``geev``) each eigenvector has norm
1; it is still defined only up to a phase ``e^{i phi}``.  NumPy's ``linalg.eig`` computes them
(the same LAPACK routine); CuPy has no ``eig`` for general matrices, so on CUDA this raises.

The gradient is PyTorch's ``linalg_eig_backward``.  With ``Vh = V^H``::

    only eigenvalues:  gA = Vh^{-1} diag(gL) Vh
    otherwise:         gA = Vh^{-1} (diag(gL) + off-diagonal of (Vh gV - Vh V diag(Re diag(Vh gV))) / E) Vh,
                       E_ij = conj(L_j) - conj(L_i)

(the ``Vh V`` term appears because V is not unitary; the real part of the diagonal of
``Vh gV`` is the change of ``|v_i|``, fixed at 1).  The imaginary part of that diagonal is the
loss's dependence on the eigenvectors' phases: when it is not ~0 the loss is not a function of
A, and the backward raises.  A real A receives the real part of the gradient.  Repeated
eigenvalues make E vanish (an infinite gradient), as in PyTorch.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..ops._out import write_out
from ..ops.solvers import check_square, eye_like, torch_name
from ..tensor import Tensor

_PHASE = ("linalg_eig_backward: The eigenvectors in the complex case are specified up to multiplication by "
          "e^{i phi}. The specified loss function depends on this quantity, so it is ill-defined.")


class Eig(Function):
    """``(L, V)`` with ``A V = V diag(L)``, eigenvectors of unit norm; backward as above."""

    supports_complex = True

    @staticmethod
    def forward(ctx, a: Tensor) -> Any:
        if backend.is_cupy_array(a._data):
            raise RuntimeError("linalg.eig: CuPy has no eigen-decomposition of general (non-symmetric) "
                               "matrices (cupy.linalg offers eigh/eigvalsh only); compute it on the CPU, "
                               "e.g. edunn.linalg.eig(A.cpu()), or use eigh for symmetric/Hermitian A")
        xp = backend.array_module(a._data)
        c = a.dtype.to_complex().np
        n = a._data.shape[-1]
        if n == 0:  # LAPACK is not called for empty matrices
            w, v = xp.zeros(a._data.shape[:-1], c), xp.zeros(a._data.shape, c)
        else:
            w, v = xp.linalg.eig(a._data)
            w, v = w.astype(c, copy=False), v.astype(c, copy=False)  # NumPy: real when all are real
        ctx.real_input = not a.dtype.is_complex
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gL: Any, gV: Any) -> Any:
        from ..ops.solvers import Solve
        L, V = ctx.saved_tensors
        if gL is None and gV is None:
            return None
        Vh = V.mH
        if gV is None:
            gA = Solve.apply(Vh, gL.unsqueeze(-1) * Vh)
        else:
            VhgV = Vh @ gV
            diag = VhgV.diagonal(0, -2, -1)
            if diag.numel() and float(diag.imag.abs().max()) > 1e-2:
                raise RuntimeError(_PHASE)
            VhgV = VhgV - Vh @ (V * diag.real.unsqueeze(-2))
            Lc = L.conj()
            E = Lc.unsqueeze(-2) - Lc.unsqueeze(-1) + eye_like(VhgV)
            gA = VhgV / E
            if gL is not None:
                gA = gA - gA.diagonal(0, -2, -1).diag_embed() + gL.diag_embed()
            gA = Solve.apply(Vh, gA @ Vh)
        return gA.real if ctx.real_input else gA


def _checks(A: Tensor, who: str) -> None:
    check_square(A, who)
    if not (A.dtype.is_floating_point or A.dtype.is_complex):
        raise RuntimeError(f"Unknown Complex ScalarType for {torch_name(A)}")
    if A.dtype in (backend.float16, backend.bfloat16):
        raise NotImplementedError(f"\"linalg_eig_out_cpu\" not implemented for '{torch_name(A)}'")
    xp = backend.array_module(A._data)
    if A._data.size and not bool(xp.isfinite(A._data).all()):
        raise RuntimeError(f"torch.{who}: input tensor should not contain infs or NaNs.")


@backend.on_input_device
def eig(A: Tensor, *, out: Any = None) -> Any:
    """``(eigenvalues, eigenvectors)`` of the square matrices A, complex, eigenvectors of norm 1
    (columns of V): ``A = V diag(L) V^{-1}``.  CPU only (CuPy has no general ``eig``)."""
    from ..return_types import linalg_eig
    _checks(A, "linalg.eig")
    return write_out(linalg_eig(*Eig.apply(A)), out)


@backend.on_input_device
def eigvals(A: Tensor, *, out: Any = None) -> Tensor:
    """The (complex) eigenvalues of the square matrices A, in LAPACK's order; differentiable:
    ``gA = V^{-H} diag(gL) V^H``."""
    _checks(A, "linalg.eigvals")
    return write_out(Eig.apply(A)[0], out)
