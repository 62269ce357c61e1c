"""Solvers and factorizations built on elimination: ``solve``, ``solve_triangular``, LU
(``lu_factor``, ``lu``, ``lu_solve``, ``lu_unpack``), ``cholesky_solve`` / ``cholesky_inverse`` --
each a :class:`Function` whose ``backward`` is PyTorch's formula
(``tools/autograd/FunctionsManual.cpp``) written with tensor ops, so that it can be differentiated
again -- and the argument checks the linalg functions share, worded as PyTorch's.

NumPy and CuPy share ``linalg.solve``, ``inv``, ``svd``, ``eigh``, ``cholesky`` and ``qr``; neither
has a triangular solver or an LU factorization with pivots that runs on both, so those two are
written here: a triangular solve is ``solve`` on the triangle, and LU is partial-pivoting
elimination vectorised over the batch with a loop over the columns.  Lesson 02 (matrix gradients).
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._out import write_out
from .broadcast import broadcast_shapes
from ..amp import _policy as _autocast

__all__ = ['cholesky_solve', 'cholesky_inverse', 'lu_unpack', 'triangular_solve', 'lu_solve']

_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool", "float16": "Half", "bfloat16": "BFloat16", "float32": "Float",
                "float64": "Double"}


class LinAlgError(RuntimeError):
    """``torch.linalg.LinAlgError``: a matrix was singular or not positive-definite."""


# ----------------------------------------------------------------------------------------------
# argument checks, worded as PyTorch's
# ----------------------------------------------------------------------------------------------
def torch_name(t: Tensor) -> str:
    return _TORCH_NAMES.get(t.dtype.name, t.dtype.name)


def check_matrix(x: Tensor, who: str, name: str = "A") -> None:
    if x._data.ndim < 2:
        raise RuntimeError(f"{who}: The input tensor {name} must have at least 2 dimensions.")


def check_float(x: Tensor, who: str, kernel: str | None = None) -> None:
    """Integer input is refused by name; float16/bfloat16 too, or by the missing CPU ``kernel``
    (PyTorch's ``"cholesky_cpu" not implemented for 'Half'``) where PyTorch words it so."""
    if not x.dtype.is_floating_point:
        raise RuntimeError(f"{who}: Expected a floating point or complex tensor as input. Got {torch_name(x)}")
    if x.dtype in (backend.float16, backend.bfloat16):
        if kernel is not None:
            check_kernel(x, kernel)
        raise RuntimeError(f"{who}: Low precision dtypes not supported. Got {torch_name(x)}")


def check_kernel(x: Tensor, kernel: str) -> None:
    """PyTorch's ``NotImplementedError`` for a dtype its CPU ``kernel`` lacks (all but float32
    and float64)."""
    if not x.dtype.is_floating_point or x.dtype in (backend.float16, backend.bfloat16):
        raise NotImplementedError(f"\"{kernel}\" not implemented for '{torch_name(x)}'")


def check_square(x: Tensor, who: str, name: str = "A") -> None:
    check_matrix(x, who, name)
    m, n = x._data.shape[-2:]
    if m != n:
        raise RuntimeError(f"{who}: {name} must be batches of square matrices, but they are {m} by {n} matrices")


def check_same_dtype(a: Tensor, b: Tensor, who: str) -> None:
    if a.dtype != b.dtype:
        raise RuntimeError(f"{who}: Expected A and B to have the same dtype, but found A of type {torch_name(a)} "
                           f"and B of type {torch_name(b)} instead")


def raise_for_info(info: Any, who: str, message: Any) -> None:
    """PyTorch's error for the first matrix whose ``info`` is nonzero (``message(info)`` says
    what went wrong), prefixed by ``(Batch element i):`` for a batch.  Reading ``info`` is a host
    synchronisation, as it is in PyTorch."""
    xp = backend.array_module(info)
    bad = info.reshape(-1) != 0
    if not bool(bad.any()):
        return
    i = int(xp.argmax(bad))
    where = f"(Batch element {i}): " if info.ndim else ""
    raise LinAlgError(f"{who}: {where}{message(int(info.reshape(-1)[i]))}")


def is_vector_rhs(a: Tensor, b: Tensor) -> bool:
    """``B`` is a vector (or a batch of them) for ``A X = B`` as PyTorch decides it."""
    return b._data.ndim == 1 or (b._data.ndim == a._data.ndim - 1 and b._data.shape == a._data.shape[:-1])


def _xp(t: Tensor) -> Any:
    return backend.array_module(t._data)


def _broadcast_batch(xp: Any, a: Any, b: Any) -> tuple:
    batch = broadcast_shapes(a.shape[:-2], b.shape[:-2])
    return xp.broadcast_to(a, batch + a.shape[-2:]), xp.broadcast_to(b, batch + b.shape[-2:])


def eye_like(a: Tensor, n: int | None = None) -> Tensor:
    from .creation import eye
    return eye(a._data.shape[-1] if n is None else n, dtype=a.dtype, device=a.device)


# ----------------------------------------------------------------------------------------------
# array routines both backends lack
# ----------------------------------------------------------------------------------------------
def lu_arrays(xp: Any, a: Any, pivot: bool = True) -> tuple:
    """``(LU, pivots, info)`` as LAPACK's ``getrf`` returns them: L below the diagonal (unit
    diagonal implied) and U on and above it, packed in one matrix; ``pivots[j]`` (1-based) is the
    row swapped with row j at step j; ``info`` the 1-based index of the first zero pivot, or 0.
    Partial pivoting picks the first largest ``|a|`` of the column, as ``idamax`` does."""
    *batch, m, n = a.shape
    k = min(m, n)
    if a.size == 0:
        return (a.copy(), xp.zeros(tuple(batch) + (k,), dtype=xp.int32), xp.zeros(tuple(batch), dtype=xp.int32))
    lu = a.reshape((-1, m, n)).copy()
    nb = lu.shape[0]
    rows = xp.arange(nb)
    piv = xp.broadcast_to(xp.arange(1, k + 1, dtype=xp.int32), (nb, k)).copy()
    info = xp.zeros(nb, dtype=xp.int32)
    for j in range(k):
        if pivot:
            p = xp.argmax(xp.abs(lu[:, j:, j]), axis=1) + j
            piv[:, j] = p + 1
            top = lu[:, j, :].copy()
            lu[:, j, :] = lu[rows, p, :]
            lu[rows, p, :] = top
        d = lu[:, j, j]
        zero = d == 0
        info = xp.where((info == 0) & zero, j + 1, info).astype(xp.int32)
        if j + 1 < m:
            col = lu[:, j + 1:, j] / xp.where(zero, 1, d)[:, None]
            lu[:, j + 1:, j] = col
            lu[:, j + 1:, j + 1:] -= col[:, :, None] * lu[:, j, None, j + 1:]
    return lu.reshape(a.shape), piv.reshape(tuple(batch) + (k,)), info.reshape(tuple(batch))


def perm_from_pivots(xp: Any, piv: Any, m: int) -> Any:
    """The row order ``perm`` with ``A[perm] = L U``, replaying LAPACK's row swaps."""
    batch = piv.shape[:-1]
    if piv.size == 0:
        return xp.broadcast_to(xp.arange(m), tuple(batch) + (m,)).copy()
    p = piv.reshape((-1, piv.shape[-1])).astype(xp.int64) - 1
    nb = p.shape[0]
    perm = xp.broadcast_to(xp.arange(m), (nb, m)).copy()
    rows = xp.arange(nb)
    for j in range(p.shape[1]):
        a, c = perm[:, j].copy(), perm[rows, p[:, j]].copy()
        perm[:, j] = c
        perm[rows, p[:, j]] = a
    return perm.reshape(tuple(batch) + (m,))


def _substitute(xp: Any, t: Any, b: Any) -> Any:
    """Forward or back substitution, one row per step, for a triangle with zeros on its diagonal:
    it gives the infinities and NaNs that LAPACK's ``trsm`` gives (NumPy's solve refuses)."""
    n = t.shape[-1]
    lower = bool((xp.triu(t, 1) == 0).all())
    x = xp.zeros(b.shape, dtype=xp.result_type(t, b))
    with backend.numpy.errstate(divide="ignore", invalid="ignore"):
        for i in (range(n) if lower else range(n - 1, -1, -1)):
            x[..., i, :] = (b[..., i, :] - (t[..., i, :, None] * x).sum(-2)) / t[..., i, i, None]
    return x


def tri_solve_arrays(xp: Any, t: Any, b: Any) -> Any:
    """``X`` with ``T X = B`` for a triangular ``T`` (the other triangle already zero)."""
    t, b = _broadcast_batch(xp, t, b)
    try:
        return xp.linalg.solve(t, b)
    except backend.numpy.linalg.LinAlgError:
        return _substitute(xp, t, b)


def _triangle(xp: Any, a: Any, upper: bool, unitriangular: bool) -> Any:
    t = xp.triu(a) if upper else xp.tril(a)
    if unitriangular:
        n = a.shape[-1]
        t = xp.where(xp.eye(n, dtype=bool), xp.ones((), dtype=a.dtype), t)
    return t


# ----------------------------------------------------------------------------------------------
# solve, solve_triangular
# ----------------------------------------------------------------------------------------------
class Solve(Function):
    """``X = A^{-1} B`` for (*, n, n) A and (*, n, k) B;  dL/dB = A^{-H} g,  dL/dA = -(dL/dB) X^H
    (^H: conjugate transpose, ^T for real matrices).  A singular A gives NaNs here; the public
    functions report it."""

    supports_complex = True  # linalg.eig's backward solves with complex matrices

    @staticmethod
    def forward(ctx, a, b):
        xp = _xp(a)
        ad, bd = _broadcast_batch(xp, a._data, b._data)
        try:
            x = xp.linalg.solve(ad, bd)
        except backend.numpy.linalg.LinAlgError:
            x = xp.full(bd.shape, xp.nan, dtype=bd.dtype)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        gb = Solve.apply(a.mH, grad)
        return (-(gb @ x.mH) if ctx.needs_input_grad[0] else None), gb


class SolveTriangular(Function):
    """``X = A^{-1} B`` (``left``) or ``B A^{-1}`` for triangular A, read from its ``upper`` or
    lower triangle, with ones on the diagonal if ``unitriangular``;  dL/dB = A^{-T} g (from the
    same side), dL/dA = -(dL/dB) X^T (or -X^T dL/dB) kept on A's triangle."""

    @staticmethod
    def forward(ctx, a, b, upper, left, unitriangular):
        xp = _xp(a)
        t = _triangle(xp, a._data, upper, unitriangular)
        if left:
            x = tri_solve_arrays(xp, t, b._data)
        else:
            x = xp.swapaxes(tri_solve_arrays(xp, xp.swapaxes(t, -1, -2), xp.swapaxes(b._data, -1, -2)), -1, -2)
        ctx.flags = (upper, left, unitriangular)
        ctx.save_for_backward(a, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        a, x = ctx.saved_tensors
        upper, left, unit = ctx.flags
        gb = SolveTriangular.apply(a.mT, grad, not upper, left, unit)
        ga = None
        if ctx.needs_input_grad[0]:
            ga = -(gb @ x.mT) if left else -(x.mT @ gb)
            ga = ga.triu(1 if unit else 0) if upper else ga.tril(-1 if unit else 0)
        return ga, (gb if ctx.needs_input_grad[1] else None), None, None, None


@backend.on_input_device
def solve_triangular(A: Tensor, B: Tensor, *, upper: bool, left: bool = True, unitriangular: bool = False,
                     out: Any = None) -> Tensor:
    """``torch.linalg.solve_triangular``: X with ``A X = B`` (``left``) or ``X A = B`` for a
    triangular A; only the ``upper`` (or lower) triangle of A is read.  A zero on the diagonal gives
    infinities and NaNs, as in PyTorch (no error)."""
    who = "linalg.solve_triangular"
    check_square(A, who)
    check_matrix(B, who, "B")
    check_same_dtype(A, B, who)
    check_kernel(A, "triangular_solve_cpu")
    n = A._data.shape[-1]
    rows, cols = B._data.shape[-2:]
    if (rows if left else cols) != n:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{who}: Incompatible shapes of A and B for the equation {eq} "
                           f"({n}x{n} and {rows}x{cols})")
    return write_out(SolveTriangular.apply(A, B, bool(upper), bool(left), bool(unitriangular)), out)


def _solve_shapes(A: Tensor, B: Tensor, left: bool, who: str) -> bool:
    """Check ``A X = B`` (or ``X A = B``); True when B is a vector right-hand side."""
    check_square(A, who)
    check_float(A, who, "lu_cpu")
    check_same_dtype(A, B, who)
    vector = left and is_vector_rhs(A, B)
    n = A._data.shape[-1]
    bs = B._data.shape
    if vector:
        ok, shape = bs[-1] == n, f"{bs[-1]}x1"
    elif B._data.ndim < 2:
        ok, shape = False, f"1x{bs[-1]}"
    else:
        ok, shape = (bs[-2] if left else bs[-1]) == n, f"{bs[-2]}x{bs[-1]}"
    if not ok:
        eq = "AX = B" if left else "XA = B"
        raise RuntimeError(f"{who}: Incompatible shapes of A and B for the equation {eq} ({n}x{n} and {shape})")
    return vector


def _solve(A: Tensor, B: Tensor, left: bool, vector: bool) -> Tensor:
    if vector:
        return Solve.apply(A, B.unsqueeze(-1)).squeeze(-1)
    if left:
        return Solve.apply(A, B)
    return Solve.apply(A.mT, B.mT).mT


def _solver_failed(info: int) -> str:
    return "The solver failed because the input matrix is singular."


@backend.on_input_device
def solve_ex(A: Tensor, B: Tensor, *, left: bool = True, check_errors: bool = False, out: Any = None) -> Any:
    """``torch.linalg.solve_ex``: ``(result, info)``; ``info`` is LAPACK's (the first zero pivot
    of A's LU factorization, 1-based, 0 for success) and ``result`` is undefined where it is
    nonzero (here: the solution of the system with the identity in place of that A)."""
    from ..return_types import linalg_solve_ex
    vector = _solve_shapes(A, B, left, "linalg.solve")
    xp = _xp(A)
    _, _, info = lu_arrays(xp, A._data)
    safe = A
    if info.size:
        from .indexing import where
        bad = Tensor._make((info != 0)[..., None, None])
        safe = where(bad, eye_like(A), A)
    x = _solve(safe, B, left, vector)
    if check_errors:
        raise_for_info(info, "torch.linalg.solve_ex", _solver_failed)
    result = linalg_solve_ex(x, Tensor._make(info))
    return write_out(result, out)


@backend.on_input_device
def solve(A: Tensor, B: Tensor, *, left: bool = True, out: Any = None) -> Tensor:
    """``torch.linalg.solve``: X with ``A X = B`` (``left``) or ``X A = B``; B may be a vector (or
    a batch of vectors); batch dims broadcast.  A singular A raises ``LinAlgError`` as in PyTorch."""
    if _autocast.active and out is None and "linalg_solve" in _autocast.listed: return _autocast.call("linalg_solve", solve, A, B, left=left, out=out)  # noqa: E501,E701
    vector = _solve_shapes(A, B, left, "linalg.solve")
    x = _solve(A, B, left, vector)
    xp = _xp(x)
    if not bool(xp.isfinite(x._data).all()):  # singular, or non-finite input: LU says which
        _, _, info = lu_arrays(xp, A._data)
        raise_for_info(info, "torch.linalg.solve", _solver_failed)
    return write_out(x, out)


def singular_message(i: int) -> str:
    return (f"The diagonal element {i} is zero, the inversion could not be completed because the input matrix "
            "is singular.")


def inv_checked(A: Tensor, who: str) -> Tensor:
    """``A^{-1}`` (``ops.linalg.Inverse``), raising PyTorch's ``LinAlgError`` for a singular A;
    the check reads one flag from the device, as PyTorch's does."""
    from .linalg import Inverse
    check_square(A, who)
    check_float(A, who)
    xp = _xp(A)
    try:
        y = Inverse.apply(A)
        ok = bool(xp.isfinite(y._data).all())
    except backend.numpy.linalg.LinAlgError:
        y, ok = None, False
    if not ok:  # singular (or a non-finite input): the LU factorization says which
        raise_for_info(lu_arrays(xp, A._data)[2], who, singular_message)
    return y


# ----------------------------------------------------------------------------------------------
# LU
# ----------------------------------------------------------------------------------------------
class LinalgLU(Function):
    """``A = P L U`` with partial pivoting; outputs ``(P, L, U, pivots, info)``.  P, pivots and info
    carry no gradient (the public ``lu`` detaches P); dL/dA pulls the gradients of L and U back
    through two triangular solves (PyTorch's ``linalg_lu_backward``)."""

    @staticmethod
    def forward(ctx, a, pivot):
        xp = _xp(a)
        ad = a._data
        m, n = ad.shape[-2:]
        k = min(m, n)
        lu, piv, info = lu_arrays(xp, ad, pivot)
        lower = xp.tril(lu[..., :, :k], -1) + xp.eye(m, k, dtype=ad.dtype)
        upper = xp.triu(lu[..., :k, :])
        perm = perm_from_pivots(xp, piv, m)
        p = xp.swapaxes(xp.eye(m, dtype=ad.dtype)[perm], -1, -2)
        ctx.pivot = pivot
        ctx.set_materialize_grads(False)
        ctx.save_for_backward(p, lower, upper)
        return p, lower, upper, piv, info

    @staticmethod
    def backward(ctx, gP, gL, gU, gpiv=None, ginfo=None):
        p, L, U = ctx.saved_tensors
        if gL is None and gU is None:
            return None, None
        m, n = L.shape[-2], U.shape[-1]
        k = min(m, n)
        st = SolveTriangular.apply
        if m == n:
            g = None
            if gL is not None:
                g = (L.mT @ gL).tril(-1)
            if gU is not None:
                t = (gU @ U.mT).triu()
                g = t if g is None else g + t
            g = st(U.mT, g, False, False, False)
            g = st(L.mT, g, True, True, True)
        elif m < n:
            from .joining import cat
            U1 = U[..., :, :k]
            g = None
            if gL is not None:
                g = L.mT @ gL
            if gU is not None:
                t = -(gU.triu() @ U.mT)
                g = t if g is None else g + t
            g = st(U1.mT, g.tril(-1), False, False, False)
            if gU is not None:
                g = cat([g + gU[..., :, :k].triu(), gU[..., :, k:]], -1)
            g = st(L.mT, g, True, True, True)
            if gU is None:
                g = cat([g, g.new_zeros(g.shape[:-1] + (n - k,))], -1)
        else:
            from .joining import cat
            L1 = L[..., :k, :]
            g = None
            if gU is not None:
                g = gU @ U.mT
            if gL is not None:
                t = -(L.mT @ gL.tril(-1))
                g = t if g is None else g + t
            g = st(L1.mT, g.triu(), True, True, True)
            if gL is not None:
                g = cat([g + gL[..., :k, :].tril(-1), gL[..., k:, :]], -2)
            g = st(U.mT, g, False, False, False)
            if gL is None:
                g = cat([g, g.new_zeros(g.shape[:-2] + (m - k, g.shape[-1]))], -2)
        return (p @ g if ctx.pivot else g), None


def lu_factor_parts(A: Tensor, pivot: bool) -> tuple:
    """``(LU, pivots, info)`` with LU packed from the differentiable L and U."""
    P, L, U, piv, info = LinalgLU.apply(A, bool(pivot))
    m, n = A._data.shape[-2:]
    if m == n:
        lu = L.tril(-1) + U
    elif m > n:
        from .joining import cat
        lu = L.tril(-1) + cat([U, U.new_zeros(U.shape[:-2] + (m - n, n))], -2)
    else:
        from .joining import cat
        lu = cat([L.tril(-1), L.new_zeros(L.shape[:-2] + (m, n - m))], -1) + U
    return lu, piv, info


@backend.on_input_device
def lu_unpack(LU_data: Tensor, LU_pivots: Tensor, unpack_data: bool = True, unpack_pivots: bool = True, *,
              out: Any = None) -> Any:
    """``torch.lu_unpack``: ``(P, L, U)`` from ``lu_factor``'s packed matrix and pivots (empty
    tensors for the parts not asked for).  L and U are differentiable in ``LU_data``."""
    from ..return_types import lu_unpack as _rt
    from .creation import eye
    m, n = LU_data._data.shape[-2:]
    k = min(m, n)
    batch = LU_data._data.shape[:-2]
    empty = LU_data.new_zeros((0,))
    if unpack_data:
        L = LU_data[..., :, :k].tril(-1) + eye(m, k, dtype=LU_data.dtype, device=LU_data.device)
        U = LU_data[..., :k, :].triu()
    else:
        L = U = empty
    if unpack_pivots:
        xp = _xp(LU_data)
        perm = perm_from_pivots(xp, LU_pivots._data, m)
        p = xp.swapaxes(xp.eye(m, dtype=LU_data._data.dtype)[perm], -1, -2)
        P = Tensor._make(xp.broadcast_to(p, batch + (m, m)).copy())
    else:
        P = empty
    return write_out(_rt(P, L, U), out)


def lu_solve_parts(LU: Tensor, pivots: Tensor, B: Tensor, left: bool, adjoint: bool) -> Tensor:
    """X from the packed factorization ``A = P L U``: ``A X = B`` (or ``A^T X = B`` if
    ``adjoint``; ``X A = B`` when not ``left``), through two triangular solves, so the gradient
    reaches ``LU`` and ``B``."""
    if not left:  # X A = B  <=>  A^T X^T = B^T
        return lu_solve_parts(LU, pivots, B.mT, True, not adjoint).mT
    P, L, U = lu_unpack(LU, pivots)
    st = SolveTriangular.apply
    if not adjoint:
        return st(U, st(L, P.mT @ B, False, True, True), True, True, False)
    return P @ st(L.mT, st(U.mT, B, False, True, False), True, True, True)


@backend.on_input_device
def lu_solve(b: Tensor, LU_data: Tensor, LU_pivots: Tensor, *, out: Any = None) -> Tensor:
    """``torch.lu_solve`` (deprecated there for ``torch.linalg.lu_solve(LU, pivots, B)``)."""
    if _autocast.active and out is None and "lu_solve" in _autocast.listed: return _autocast.call("lu_solve", lu_solve, b, LU_data, LU_pivots, out=out)  # noqa: E501,E701
    return write_out(lu_solve_parts(LU_data, LU_pivots, b, True, False), out)


@backend.on_input_device
def triangular_solve(b: Tensor, A: Tensor, upper: bool = True, transpose: bool = False,
                     unitriangular: bool = False, *, out: Any = None) -> Any:
    """``torch.triangular_solve`` (deprecated there for ``torch.linalg.solve_triangular``):
    ``(solution, cloned_coefficient)`` with ``op(A) X = b``, op = transpose if ``transpose``."""
    if _autocast.active and out is None and "triangular_solve" in _autocast.listed: return _autocast.call("triangular_solve", triangular_solve, b, A, upper, transpose, unitriangular, out=out)  # noqa: E501,E701
    from ..return_types import triangular_solve as _rt
    check_square(A, "linalg.solve_triangular")
    check_kernel(A, "triangular_solve_cpu")
    a = A.mT if transpose else A
    x = SolveTriangular.apply(a, b, bool(upper) != bool(transpose), True, bool(unitriangular))
    return write_out(_rt(x, A.clone()), out)


# ----------------------------------------------------------------------------------------------
# Cholesky-based solves
# ----------------------------------------------------------------------------------------------
class CholeskySolve(Function):
    """``X = (L L^T)^{-1} B`` (``U^T U`` if ``upper``), by two triangular solves;  dL/dB is the
    same solve of g, and dL/dL = -(G + G^T) L with G = (dL/dB) X^T (PyTorch's formula, which
    does not keep the gradient on L's triangle)."""

    @staticmethod
    def forward(ctx, b, f, upper):
        xp = _xp(f)
        t = _triangle(xp, f._data, upper, False)
        low = xp.swapaxes(t, -1, -2) if upper else t
        y = tri_solve_arrays(xp, low, b._data)
        x = tri_solve_arrays(xp, xp.swapaxes(low, -1, -2), y)
        ctx.upper = upper
        ctx.save_for_backward(f, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        f, x = ctx.saved_tensors
        gb = CholeskySolve.apply(grad, f, ctx.upper)
        gf = None
        if ctx.needs_input_grad[1]:
            common = gb @ x.mT
            common = common + common.mT
            gf = -(f @ common) if ctx.upper else -(common @ f)
        return gb, gf, None


@backend.on_input_device
def cholesky_solve(B: Tensor, L: Tensor, upper: bool = False, *, out: Any = None) -> Tensor:
    """``torch.cholesky_solve``: X with ``A X = B`` for ``A = L L^T`` (``U^T U`` if ``upper``)
    given the Cholesky factor; batch dims broadcast."""
    if _autocast.active and out is None and "cholesky_solve" in _autocast.listed: return _autocast.call("cholesky_solve", cholesky_solve, B, L, upper, out=out)  # noqa: E501,E701
    for t, name in ((B, "b"), (L, "u")):
        if t._data.ndim < 2:
            raise RuntimeError(f"{name} should have at least 2 dimensions, but has {t._data.ndim} dimensions instead")
    check_square(L, "linalg.cholesky_solve")
    check_kernel(B, "cholesky_solve_cpu")
    if B._data.shape[-2] != L._data.shape[-1]:
        raise RuntimeError(f"Incompatible matrix sizes for cholesky_solve: each A matrix is {L._data.shape[-1]} by "
                           f"{L._data.shape[-1]} but each b matrix is {B._data.shape[-2]} by {B._data.shape[-1]}")
    if B.dtype != L.dtype:
        raise RuntimeError(f"Expected b and A to have the same dtype, but found b of type {torch_name(B)} "
                           f"and A of type {torch_name(L)} instead.")
    return write_out(CholeskySolve.apply(B, L, bool(upper)), out)


@backend.on_input_device
def cholesky_inverse(L: Tensor, upper: bool = False, *, out: Any = None) -> Tensor:
    """``torch.cholesky_inverse``: ``(L L^T)^{-1}`` from the Cholesky factor (``U^T U`` if
    ``upper``); its gradient is PyTorch's, ``-(A^{-1}(g + g^T)A^{-1}) L``."""
    if _autocast.active and out is None and "cholesky_inverse" in _autocast.listed: return _autocast.call("cholesky_inverse", cholesky_inverse, L, upper, out=out)  # noqa: E501,E701
    check_square(L, "linalg.cholesky_inverse")
    check_kernel(L, "cholesky_inverse_out_cpu")
    eye = eye_like(L).expand(L._data.shape)
    return write_out(CholeskySolve.apply(eye, L, bool(upper)), out)
