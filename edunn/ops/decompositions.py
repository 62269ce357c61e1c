"""Matrix decompositions (``svd``, ``qr``, ``cholesky``, ``eigh``, ``slogdet``, Householder
reflectors: ``geqrf``, ``householder_product``, ``ormqr``), each an op with PyTorch's backward;
solvers live in ``solvers.py`` (``solve``, LU ...), ``pinv``/``matrix_exp`` in ``matfuncs.py``,
LDL^T in ``ldl.py``.  ``edunn.linalg`` presents them under ``torch.linalg``'s names, and
``__all__`` holds the names PyTorch also has at the top level (``torch.svd``, ``torch.qr``,
``torch.cholesky``, ``torch.lu_solve`` ...).

The decompositions' gradients are PyTorch's (``tools/autograd/FunctionsManual.cpp``:
``svd_backward``, ``linalg_eig_backward``, ``linalg_qr_backward``, ``cholesky_backward``), written
with tensor ops so that a backward can be differentiated again.  Where a decomposition is not
unique (the signs of singular vectors and eigenvectors), only functions that do not depend on the
choice have well-defined gradients, as in PyTorch.  Lesson 02 (matrix gradients).
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._out import write_out
from .matfuncs import Pinv, matrix_exp, matrix_power, tolerances
from .solvers import (Solve, SolveTriangular, check_float, check_kernel, check_matrix, check_square,
                      cholesky_inverse, cholesky_solve, eye_like, lu_factor_parts, lu_solve, lu_unpack, raise_for_info,
                      torch_name, triangular_solve)
from ..amp import _policy as _autocast

__all__ = ['svd', 'qr', 'pinverse', 'cholesky', 'matrix_power', 'matrix_exp', 'cholesky_solve', 'cholesky_inverse',
           'lu_unpack', 'triangular_solve', 'lu_solve', 'lu', 'geqrf', 'orgqr', 'ormqr']


def _xp(t: Tensor) -> Any:
    return backend.array_module(t._data)


def _nan_like(xp: Any, shape: tuple, dtype: Any) -> Any:
    return xp.full(shape, xp.nan, dtype=dtype)


# ----------------------------------------------------------------------------------------------
# Cholesky
# ----------------------------------------------------------------------------------------------
def cholesky_info(xp: Any, a: Any) -> Any:
    """LAPACK's ``potrf`` info: the order of the first leading minor that is not positive-
    definite (0 when all are), by the column-by-column Cholesky recurrence over the batch.
    Used only once the fast factorization has failed (NumPy refuses a whole batch)."""
    n = a.shape[-1]
    m = a.reshape((-1, n, n))
    lo = xp.zeros_like(m)
    info = xp.zeros(m.shape[0], dtype=xp.int32)
    for j in range(n):
        d = m[:, j, j] - (lo[:, j, :j] ** 2).sum(-1)
        bad = ~(d > 0)
        info = xp.where((info == 0) & bad, j + 1, info).astype(xp.int32)
        dj = xp.sqrt(xp.where(bad, 1, d))
        lo[:, j, j] = dj
        lo[:, j + 1:, j] = (m[:, j + 1:, j] - (lo[:, j + 1:, :j] * lo[:, j, None, :j]).sum(-1)) / dj[:, None]
    return info.reshape(a.shape[:-2])


class Cholesky(Function):
    """``A = L L^T`` (lower L; ``upper`` returns ``U = L^T``), reading A's lower triangle.
    dL/dA = L^{-T} Phi(L^T g) L^{-1}, symmetrised, Phi taking the lower triangle with the diagonal
    halved (PyTorch's ``cholesky_backward``).  A failed factorization gives NaNs here; the public
    functions report it."""

    @staticmethod
    def forward(ctx, a, upper):
        xp = _xp(a)
        try:
            low = xp.linalg.cholesky(a._data)
        except backend.numpy.linalg.LinAlgError:
            low = _nan_like(xp, a._data.shape, a._data.dtype)
        out = xp.swapaxes(low, -1, -2).copy() if upper else low
        ctx.upper = upper
        ctx.save_for_backward(out)
        return out

    @staticmethod
    def backward(ctx, grad):
        f, = ctx.saved_tensors
        low, g = (f.mT, grad.mT) if ctx.upper else (f, grad)
        ga = (low.mT @ g).tril()
        ga = (ga + ga.tril(-1).mT) * 0.5
        ga = SolveTriangular.apply(low.mT, ga, True, True, False)
        return SolveTriangular.apply(low, ga, False, False, False), None


def _not_pd(i: int) -> str:
    return ("The factorization could not be completed because the input is not positive-definite "
            f"(the leading minor of order {i} is not positive-definite).")


def cholesky_parts(A: Tensor, upper: bool, who: str) -> tuple:
    """``(factor, info)``; info is computed (a host read) only when the factorization failed."""
    check_square(A, who)
    check_float(A, who, "cholesky_cpu")
    xp = _xp(A)
    f = Cholesky.apply(A, bool(upper))
    d = xp.diagonal(f._data, axis1=-2, axis2=-1)
    if bool((d > 0).all()):
        return f, xp.zeros(A._data.shape[:-2], dtype=xp.int32)
    info = cholesky_info(xp, A._data)
    if info.size and bool((info != 0).any()):
        from .indexing import where
        safe = where(Tensor._make((info != 0)[..., None, None]), eye_like(A), A)
        f = Cholesky.apply(safe, bool(upper))
    return f, info


@backend.on_input_device
def cholesky(input: Tensor, upper: bool = False, *, out: Any = None) -> Tensor:
    """``torch.cholesky`` (deprecated there for ``torch.linalg.cholesky``): the lower factor L of
    ``A = L L^T``, or ``U = L^T`` with ``upper``.  Raises ``LinAlgError`` if A is not
    positive-definite."""
    if _autocast.active and out is None and "cholesky" in _autocast.listed: return _autocast.call("cholesky", cholesky, input, upper, out=out)  # noqa: E501,E701
    check_kernel(input, "cholesky_cpu")
    f, info = cholesky_parts(input, upper, "cholesky")
    raise_for_info(info, "cholesky", _not_pd)
    return write_out(f, out)


# ----------------------------------------------------------------------------------------------
# eigh
# ----------------------------------------------------------------------------------------------
class Eigh(Function):
    """``A = V diag(L) V^T`` for symmetric A (read from the ``UPLO`` triangle), eigenvalues
    ascending.  dL/dA = V (diag(gL) + skew(V^T gV) / E) V^T, E_ij = L_j - L_i (PyTorch's
    ``linalg_eig_backward``); the eigenvector term is infinite for repeated eigenvalues."""

    @staticmethod
    def forward(ctx, a, uplo):
        w, v = _xp(a).linalg.eigh(a._data, UPLO=uplo)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(w, v)
        return w, v

    @staticmethod
    def backward(ctx, gL, gV):
        L, V = ctx.saved_tensors
        if gV is None:
            if gL is None:
                return None, None
            return (V * gL.unsqueeze(-2)) @ V.mT, None
        VhgV = V.mT @ gV
        VhgV = (VhgV - VhgV.mT) * 0.5
        E = L.unsqueeze(-2) - L.unsqueeze(-1) + eye_like(V)
        ga = VhgV / E
        if gL is not None:
            ga = ga + gL.diag_embed()
        return V @ (ga @ V.mT), None


# ----------------------------------------------------------------------------------------------
# SVD
# ----------------------------------------------------------------------------------------------
class SVD(Function):
    """``A = U diag(S) V^T`` (outputs U, S, Vh), S descending.  dL/dA is PyTorch's
    ``svd_backward``: with E_ij = S_j^2 - S_i^2,
    ``U [(skew(U^T gU) S + S skew(V^T gV)) / E + diag(gS)] V^T`` plus the terms for the columns
    outside the reduced factors.  Extra columns of a full factorization carry no gradient."""

    @staticmethod
    def forward(ctx, a, full_matrices):
        u, s, vh = _xp(a).linalg.svd(a._data, full_matrices=full_matrices)
        ctx.full = full_matrices
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(u, s, vh)
        return u, s, vh

    @staticmethod
    def backward(ctx, gU, gS, gVh):
        U, S, Vh = ctx.saved_tensors
        if gU is None and gS is None and gVh is None:
            return None, None
        k = S.shape[-1]
        if ctx.full:
            U, Vh = U[..., :, :k], Vh[..., :k, :]
            gU = None if gU is None else gU[..., :, :k]
            gVh = None if gVh is None else gVh[..., :k, :]
        m, n = U.shape[-2], Vh.shape[-1]
        if gU is None and gVh is None:
            return (U @ (gS.unsqueeze(-1) * Vh) if m >= n else (U * gS.unsqueeze(-2)) @ Vh), None
        UhgU = None if gU is None else U.mT @ gU
        UhgU = None if UhgU is None else UhgU - UhgU.mT
        VhgV = None if gVh is None else Vh @ gVh.mT
        VhgV = None if VhgV is None else VhgV - VhgV.mT
        S2 = S * S
        E = S2.unsqueeze(-2) - S2.unsqueeze(-1) + eye_like(S.unsqueeze(-1).expand(S.shape + (k,)))
        if UhgU is not None and VhgV is not None:
            ga = (UhgU * S.unsqueeze(-2) + S.unsqueeze(-1) * VhgV) / E
        elif UhgU is not None:
            ga = (UhgU / E) * S.unsqueeze(-2)
        else:
            ga = S.unsqueeze(-1) * (VhgV / E)
        if gS is not None:
            ga = ga + gS.diag_embed()
        if m > k and gU is not None:
            ga = U @ ga
            gUSinv = gU / S.unsqueeze(-2)
            ga = ga + gUSinv - U @ (U.mT @ gUSinv)
            return ga @ Vh, None
        if n > k and gVh is not None:
            ga = ga @ Vh
            SinvgVh = gVh / S.unsqueeze(-1)
            ga = ga + SinvgVh - (SinvgVh @ Vh.mT) @ Vh
            return U @ ga, None
        return (U @ (ga @ Vh) if m >= n else (U @ ga) @ Vh), None


def svd(input: Tensor, some: bool = True, compute_uv: bool = True, *, out: Any = None) -> Any:
    """``torch.svd`` (deprecated there for ``torch.linalg.svd``): ``(U, S, V)`` with
    ``A = U diag(S) V^T`` -- V, not V^T; ``some=False`` gives the full square U and V;
    ``compute_uv=False`` returns zero-filled (m, m) U and (n, n) V, as PyTorch does."""
    if _autocast.active and out is None and "svd" in _autocast.listed: return _autocast.call("svd", svd, input, some, compute_uv, out=out)  # noqa: E501,E701
    from ..return_types import svd as _rt
    who = "linalg.svd"
    check_matrix(input, who)
    check_float(input, who, "linalg_svd_cpu")
    m, n = input._data.shape[-2:]
    if not compute_uv:
        batch = input._data.shape[:-2]
        _, S, _ = SVD.apply(input, False)
        return write_out(_rt(input.new_zeros(batch + (m, m)), S, input.new_zeros(batch + (n, n))), out)
    U, S, Vh = SVD.apply(input, not some)
    return write_out(_rt(U, S, Vh.mT), out)


# ----------------------------------------------------------------------------------------------
# QR
# ----------------------------------------------------------------------------------------------
class QR(Function):
    """``A = Q R`` (Householder, as LAPACK's ``geqrf``/``orgqr``).  dL/dA is PyTorch's
    ``linalg_qr_backward``: for m >= n, ``(gQ + Q copyltu(M)) R^{-T}`` with
    ``M = gR R^T - Q^T gQ``; for m < n the square left block is solved and gR's right block
    passed through."""

    @staticmethod
    def forward(ctx, a, mode):
        xp = _xp(a)
        ctx.mode = mode
        ctx.set_materialize_grads(False)
        if mode == "r":
            r = xp.linalg.qr(a._data, mode="r")
            q = xp.zeros((0,), dtype=a._data.dtype)
            return q, r
        q, r = xp.linalg.qr(a._data, mode=mode)
        ctx.save_for_backward(q, r)
        return q, r

    @staticmethod
    def backward(ctx, gQ, gR):
        if ctx.mode == "r":
            raise RuntimeError("The derivative of linalg.qr depends on Q, which is not computed when mode='r'. "
                               "Please use linalg.qr(A, mode='reduced') if you are going to differentiate through "
                               "linalg.qr.")
        Q, R = ctx.saved_tensors
        m, n = Q.shape[-2], R.shape[-1]
        if ctx.mode == "complete" and m > n:
            raise RuntimeError("The QR decomposition is not differentiable when mode='complete' and nrows > ncols.")
        if gQ is None and gR is None:
            return None, None
        if gQ is not None:
            ga = gR @ R.mT - Q.mT @ gQ if gR is not None else -(Q.mT @ gQ)
        else:
            ga = gR @ R.mT
        if m >= n:
            sym = ga.triu()
            sym = sym + sym.mT
            sym = sym - (sym.diagonal(0, -2, -1) * 0.5).diag_embed()
            ga = Q @ sym
            if gQ is not None:
                ga = ga + gQ
            return SolveTriangular.apply(R.mT, ga, False, False, False), None
        from .joining import cat
        x = -ga
        skew = (x - x.mT).tril()
        ga = SolveTriangular.apply(R[..., :, :m].mT, Q @ skew, False, False, False)
        ga = cat([ga, ga.new_zeros(ga.shape[:-1] + (n - m,))], -1)
        if gR is not None:
            ga = ga + Q @ gR
        return ga, None


_QR_MODES = ("reduced", "complete", "r")


def qr_parts(A: Tensor, mode: str) -> tuple:
    who = "linalg.qr"
    if mode not in _QR_MODES:
        raise RuntimeError(f"qr received unrecognized mode '{mode}' but expected one of 'reduced' (default), 'r', "
                           "or 'complete'")
    check_matrix(A, who)
    check_float(A, who, "geqrf_cpu")
    return QR.apply(A, mode)


def qr(input: Tensor, some: bool = True, *, out: Any = None) -> Any:
    """``torch.qr`` (deprecated there for ``torch.linalg.qr``): ``(Q, R)``, reduced if ``some``
    else complete."""
    if _autocast.active and out is None and "qr" in _autocast.listed: return _autocast.call("qr", qr, input, some, out=out)  # noqa: E501,E701
    from ..return_types import qr as _rt
    Q, R = qr_parts(input, "reduced" if some else "complete")
    return write_out(_rt(Q, R), out)


# ----------------------------------------------------------------------------------------------
# slogdet, pinverse
# ----------------------------------------------------------------------------------------------
class SlogDet(Function):
    """``(sign, log|det A|)`` from the LU factorization;  d log|det A| / dA = A^{-T} (the sign
    has zero gradient), solved rather than inverted (PyTorch's ``slogdet_backward``)."""

    @staticmethod
    def forward(ctx, a):
        sign, logabs = _xp(a).linalg.slogdet(a._data)
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(a)
        return sign, logabs

    @staticmethod
    def backward(ctx, gsign, glog):
        if glog is None:
            return None
        a, = ctx.saved_tensors
        return Solve.apply(a.mT, glog.unsqueeze(-1).unsqueeze(-1) * eye_like(a))


def pinv_parts(A: Tensor, atol: Any, rtol: Any, hermitian: bool, who: str) -> Tensor:
    if A._data.ndim < 2 or not A.dtype.is_floating_point or A.dtype in (backend.float16, backend.bfloat16):
        shape = list(A._data.shape)
        raise RuntimeError(f"{who}({torch_name(A)}{{{shape}}}): expected a tensor with 2 or more dimensions of "
                           "float, double, cfloat or cdouble types")
    if hermitian:
        check_square(A, who)
    a, r = tolerances(A, atol, rtol, who)
    return Pinv.apply(A, a, r, bool(hermitian))


@backend.on_input_device
def pinverse(input: Tensor, rcond: float = 1e-15) -> Tensor:
    """``torch.pinverse``: the pseudo-inverse with singular values below ``rcond * s_max``
    dropped (``torch.linalg.pinv(input, rtol=rcond)``)."""
    if _autocast.active and "pinverse" in _autocast.listed: return _autocast.call("pinverse", pinverse, input, rcond)  # noqa: E501,E701
    return pinv_parts(input, None, rcond, False, "linalg.pinv")


@backend.on_input_device
def lu(A: Tensor, pivot: bool = True, get_infos: bool = False, out: Any = None) -> tuple:
    """``torch.lu`` (deprecated there for ``torch.linalg.lu_factor(_ex)``): ``(LU, pivots)``, and
    ``infos`` with ``get_infos``; a singular A is not an error."""
    check_matrix(A, "linalg.lu_factor")
    lu_, piv, info = lu_factor_parts(A, pivot)
    return write_out((lu_, piv, info) if get_infos else (lu_, piv), out)


# ----------------------------------------------------------------------------------------------
# Householder reflectors: geqrf, orgqr (householder_product), ormqr
# ----------------------------------------------------------------------------------------------
class Geqrf(Function):
    """LAPACK's ``geqrf``: R on and above the diagonal, the Householder vectors below it, and
    their scales ``tau``.  Not differentiable, as in PyTorch."""

    @staticmethod
    def forward(ctx, a):
        xp = _xp(a)
        h, tau = xp.linalg.qr(a._data, mode="raw")  # h is the transpose (LAPACK's column order)
        return xp.swapaxes(h, -1, -2).astype(a._data.dtype), tau.astype(a._data.dtype)

    @staticmethod
    def backward(ctx, ga, gtau):
        raise RuntimeError("the derivative for 'geqrf' is not implemented.")


@backend.on_input_device
def geqrf(input: Tensor, *, out: Any = None) -> tuple:
    """``(a, tau)`` as LAPACK's ``geqrf``: ``householder_product(a, tau)`` is the Q of ``qr``."""
    if _autocast.active and out is None and "geqrf" in _autocast.listed: return _autocast.call("geqrf", geqrf, input, out=out)  # noqa: E501,E701
    from ..return_types import geqrf as _rt
    if input._data.ndim < 2:
        raise RuntimeError("torch.geqrf: input must have at least 2 dimensions.")
    if not input.dtype.is_floating_point or input.dtype in (backend.float16, backend.bfloat16):
        raise NotImplementedError(f"\"geqrf_cpu\" not implemented for '{torch_name(input)}'")
    return write_out(_rt(*Geqrf.apply(input)), out)


def apply_reflectors(A: Tensor, tau: Tensor, C: Tensor, left: bool, transpose: bool) -> Tensor:
    """``Q C`` (``left``) or ``C Q``, with Q^T if ``transpose``, for ``Q = H_1 ... H_k``,
    ``H_i = I - tau_i v_i v_i^T`` and v_i column i of A below the diagonal with a 1 on it.  Each
    reflector is applied as a rank-1 update (never forming Q), with tensor ops throughout, so
    autograd differentiates it."""
    xp = _xp(A)
    m = A._data.shape[-2]
    rows = xp.arange(m)
    k = tau._data.shape[-1]
    # Q C applies H_k first; Q^T C applies H_1 first; C Q applies H_1 first; C Q^T applies H_k first
    order = range(k - 1, -1, -1) if left != transpose else range(k)
    for i in order:
        below = Tensor._make((rows > i).astype(A._data.dtype))
        unit = Tensor._make((rows == i).astype(A._data.dtype))
        v = A[..., :, i] * below + unit
        t = tau[..., i, None, None]
        if left:
            C = C - t * (v.unsqueeze(-1) @ (v.unsqueeze(-2) @ C))
        else:
            C = C - t * ((C @ v.unsqueeze(-1)) @ v.unsqueeze(-2))
    return C


@backend.on_input_device
def householder_product(A: Tensor, tau: Tensor, *, out: Any = None) -> Tensor:
    """The first n columns of ``H_1 H_2 ... H_k``, ``H_i = I - tau_i v_i v_i^T``, where v_i is
    column i of A below the diagonal with a 1 on it (``geqrf``'s output gives ``Q``)."""
    if _autocast.active and out is None and "linalg_householder_product" in _autocast.listed: return _autocast.call("linalg_householder_product", householder_product, A, tau, out=out)  # noqa: E501,E701
    who = "torch.linalg.householder_product"
    if A._data.ndim < 2:
        raise RuntimeError(f"{who}: input must have at least 2 dimensions.")
    m, n = A._data.shape[-2:]
    if m < n:
        raise RuntimeError(f"{who}: input.shape[-2] must be greater than or equal to input.shape[-1]")
    k = tau._data.shape[-1] if tau._data.ndim else 1
    if k > n:
        raise RuntimeError(f"{who}: input.shape[-1] must be greater than or equal to tau.shape[-1]")
    if tau._data.ndim != A._data.ndim - 1:
        raise RuntimeError(f"{who}: Expected tau to have one dimension less than input, but got "
                           f"tau.ndim equal to {tau._data.ndim} and input.ndim is equal to {A._data.ndim}")
    if A.dtype != tau.dtype:
        raise RuntimeError(f"{who}: tau dtype {torch_name(tau)} does not match input dtype {torch_name(A)}")
    check_kernel(A, "orgqr_cpu")
    q = eye_like(A, m)[:, :n].expand(A._data.shape[:-2] + (m, n))
    return write_out(apply_reflectors(A, tau, q, True, False), out)


@backend.on_input_device
def orgqr(input: Tensor, tau: Tensor) -> Tensor:
    """``torch.orgqr``: an alias of ``torch.linalg.householder_product``."""
    if _autocast.active and "orgqr" in _autocast.listed: return _autocast.call("orgqr", orgqr, input, tau)  # noqa: E501,E701
    return householder_product(input, tau)


@backend.on_input_device
def ormqr(input: Tensor, tau: Tensor, other: Tensor, left: bool = True, transpose: bool = False, *,
          out: Any = None) -> Tensor:
    """``op(Q) other`` (``left``) or ``other op(Q)``, op = transpose if ``transpose``, with Q given
    by ``geqrf``'s reflectors (``input``, ``tau``) -- without forming Q."""
    if _autocast.active and out is None and "ormqr" in _autocast.listed: return _autocast.call("ormqr", ormqr, input, tau, other, left, transpose, out=out)  # noqa: E501,E701
    who = "torch.ormqr"
    if input._data.ndim < 2:
        raise RuntimeError(f"{who}: input must have at least 2 dimensions.")
    if other._data.ndim < 2:
        raise RuntimeError(f"{who}: other must have at least 2 dimensions.")
    dim = -2 if left else -1
    if other._data.shape[dim] != input._data.shape[-2]:
        raise RuntimeError(f"{who}: other.shape[{dim}] must be equal to input.shape[-2]")
    if tau._data.shape[-1] > input._data.shape[-1]:
        raise RuntimeError(f"{who}: tau.shape[-1] must be less than or equal to input.shape[-1]")
    check_kernel(input, "ormqr_cpu")
    return write_out(apply_reflectors(input, tau, other, bool(left), bool(transpose)), out)
