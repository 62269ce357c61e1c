"""``torch.svd_lowrank`` and ``torch.pca_lowrank``: a few leading singular triplets (principal
components) of a large matrix by randomized projection (Halko, Martinsson & Tropp 2009,
"Finding structure with randomness", Algorithms 4.4 and 5.1), exactly as PyTorch's
``torch/_lowrank.py`` does.

For ``A`` (m x n) and a target rank ``q``:

1. draw a Gaussian ``R`` (n x q) and orthonormalise ``A R``: ``Q = qr(A R).Q``, an m x q basis
   that, with high probability, nearly spans ``A``'s leading left singular vectors;
2. sharpen it ``niter`` times by power iteration, ``Q = qr(A qr(A^T Q).Q).Q``, which raises the
   singular values to odd powers and so separates the leading ones from the tail;
3. take the small SVD of ``B = Q^T A`` (q x n): ``B = U' S V^T``, and ``U = Q U'``.

When ``m < n`` the algorithm runs on ``A^T`` (the basis is then the smaller side) and swaps
``U`` and ``V`` back.  ``M`` (broadcast to ``A``'s shape) is subtracted implicitly -- the
factorisation is of ``A - M`` -- which ``pca_lowrank`` uses with ``M`` the column means.  All
steps are differentiable tensor ops (``matmul``, ``linalg.qr``, ``linalg.svd``), so gradients
flow to ``A``.  The draws come from edunn's generator (``edunn.manual_seed``), so results equal
PyTorch's up to the sign of each singular pair and the random basis, not draw for draw.
"""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .creation import randn

__all__ = ["svd_lowrank", "pca_lowrank"]


def _mT(t: Tensor) -> Tensor:
    return t.transpose(-2, -1)


def _approximate_basis(A: Tensor, q: int, niter: int, M: Any) -> Tensor:
    """An orthonormal m x q basis ``Q`` with ``A - M ~ Q Q^T (A - M)`` (step 1 and 2 above)."""
    from ..linalg import qr
    R = randn(A.shape[-1], q, dtype=A.dtype, device=A.device)

    def times(X: Tensor, Y: Tensor, MX: Any) -> Tensor:
        return X @ Y if MX is None else X @ Y - MX @ Y
    Q = qr(times(A, R, M)).Q
    for _ in range(niter):
        Q = qr(times(_mT(A), Q, None if M is None else _mT(M))).Q
        Q = qr(times(A, Q, M)).Q
    return Q


def _svd_lowrank(A: Tensor, q: int, niter: int, M: Any) -> tuple:
    from ..linalg import svd
    m, n = A.shape[-2:]
    if M is not None:
        M = M.broadcast_to(A.shape)
    if m < n:
        A = _mT(A)
        M = None if M is None else _mT(M)
    Q = _approximate_basis(A, q, niter, M)
    B = _mT(Q) @ A
    if M is not None:
        B = B - _mT(Q) @ M
    U, S, Vh = svd(B, full_matrices=False)
    U, V = Q @ U, _mT(Vh)
    return (V, S, U) if m < n else (U, S, V)


def _check_matrix(A: Any, who: str) -> None:
    if not isinstance(A, Tensor):
        raise TypeError(f"{who}(): argument 'A' must be Tensor, not {type(A).__name__}")
    if A.ndim < 2:
        raise ValueError(f"{who}(): expected A to have at least 2 dimensions, but got {A.ndim}")
    if not A.is_floating_point():
        raise TypeError(f"{who}(): expected a floating point tensor, got {A.dtype}")


def svd_lowrank(A: Tensor, q: int | None = 6, niter: int | None = 2, M: Tensor | None = None) -> tuple:
    """``(U, S, V)`` with ``A - M ~ U diag(S) V^T``: U (m x q), S (q,), V (n x q), batched over
    leading dimensions.  Choose ``q`` a little above the rank wanted; ``niter`` power iterations
    (2 by default) sharpen the basis when the spectrum decays slowly."""
    _check_matrix(A, "svd_lowrank")
    return _svd_lowrank(A, 6 if q is None else q, 2 if niter is None else niter, M)


def pca_lowrank(A: Tensor, q: int | None = None, center: bool = True, niter: int = 2) -> tuple:
    """PCA of the rows of ``A`` (m samples x n features): ``(U, S, V)`` of ``A`` minus its column
    means (when ``center``), so ``V``'s columns are the principal directions and
    ``S ** 2 / (m - 1)`` the variances along them.  ``q`` defaults to ``min(6, m, n)``."""
    _check_matrix(A, "pca_lowrank")
    m, n = A.shape[-2:]
    if q is None:
        q = min(6, m, n)
    elif not (q >= 0 and q <= min(m, n)):
        raise ValueError(f"q(={q}) must be non-negative integer and not greater than min(m, n)={min(m, n)}")
    if not (niter >= 0):
        raise ValueError(f"niter(={niter}) must be non-negative integer")
    if not center:
        return _svd_lowrank(A, q, niter, None)
    return _svd_lowrank(A - A.mean(dim=(-2,), keepdim=True), q, niter, None)
