"""``edunn.linalg``: PyTorch's ``torch.linalg`` namespace, for real floating dtypes.

The functions here check their arguments as PyTorch does (same messages) and compose the ops of
``edunn/ops/decompositions.py`` and ``edunn/ops/solvers.py`` (``SVD``, ``QR``, ``Eigh``,
``Cholesky``, ``Solve``, ``SolveTriangular``, ``LinalgLU``; ``ops/matfuncs.py``'s ``Pinv`` and
``MatrixExp``), whose backwards are PyTorch's; what is built from them (norms, ``cond``,
``lstsq``, ``lu_solve``, ``householder_product`` ...) is differentiated by autograd through them.

``eig`` and ``eigvals`` (complex results even for real input, NumPy only: CuPy has no general
``eig``) live in ``_eig.py``; ``eigh``/``eigvalsh`` cover symmetric matrices.  ``driver=`` of ``svd`` and
``svdvals`` is accepted and ignored (PyTorch uses it only with cuSOLVER).  The LU and LDL^T
factorizations (``lu_factor``, ``lu``, ``lu_solve``, ``ldl_factor``, ``ldl_solve`` ...) live in
``_lu.py``; ``ldl_factor`` runs LAPACK's pivoting steps on the host (``ops/ldl.py``).  Lesson 01 (section 7) uses ``solve``
and ``eigh``.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .. import backend
from ..ops._out import write_out
from ..ops.decompositions import (SVD, Eigh, SlogDet, _not_pd, cholesky_parts, householder_product, pinv_parts,
                                  qr_parts)
from ..ops.linalg import Det, Inverse
from ..ops.linalg import _matmul as _plain_matmul, cross as _cross, matmul as _matmul
from ..ops.matfuncs import Pinv, matrix_exp, matrix_power as _matrix_power, tolerances
from ..ops.reduction import Norm, _dims
from ..ops.solvers import (LinAlgError, check_float, check_matrix, check_square, eye_like, inv_checked, lu_arrays,
                           raise_for_info, singular_message, solve, solve_ex, solve_triangular, torch_name)
from ..tensor import Tensor, wrap_dim
from ..amp import _policy as _autocast
from ._eig import eig, eigvals
from ._lu import ldl_factor, ldl_factor_ex, ldl_solve, lu, lu_factor, lu_factor_ex, lu_solve

__all__ = ['vector_norm', 'matrix_norm', 'norm', 'inv', 'inv_ex', 'det', 'slogdet', 'solve', 'solve_ex',
           'cholesky', 'cholesky_ex', 'qr', 'eig', 'eigvals', 'eigh', 'eigvalsh', 'svd', 'svdvals', 'pinv', 'lstsq',
           'matrix_rank', 'matrix_power', 'matrix_exp', 'solve_triangular', 'cross', 'multi_dot', 'vecdot',
           'vander', 'diagonal', 'cond', 'tensorinv', 'tensorsolve', 'lu_factor', 'lu_factor_ex', 'lu',
           'lu_solve', 'householder_product', 'matmul', 'ldl_factor', 'ldl_factor_ex', 'ldl_solve']

_ = LinAlgError  # edunn.linalg.LinAlgError, as torch.linalg.LinAlgError


def _where_bad(info: Any, A: Tensor, fill: Tensor) -> Tensor:
    """A with each matrix whose ``info`` is nonzero replaced by ``fill`` (so that the fast routine
    succeeds on the rest of the batch)."""
    if not info.size:
        return A
    from ..ops.indexing import where
    return where(Tensor._make((info != 0)[..., None, None]), fill, A)


# ----------------------------------------------------------------------------------------------
# norms
# ----------------------------------------------------------------------------------------------
def vector_norm(x: Tensor, ord: Any = 2, dim: Any = None, keepdim: bool = False, *, dtype: Any = None,
                out: Any = None) -> Tensor:
    """``(sum_i |x_i|^ord)^(1/ord)`` over ``dim`` (all elements when None); ord = inf / -inf is
    the max / min of ``|x|``, ord = 0 the number of nonzeros."""
    if _autocast.active and out is None and dtype is None and "linalg_vector_norm" in _autocast.listed: return _autocast.call("linalg_vector_norm", vector_norm, x, ord, dim, keepdim, dtype=dtype, out=out)  # noqa: E501,E701
    if isinstance(ord, (str, bool)) or not isinstance(ord, (int, float)):
        raise TypeError(f"linalg_vector_norm(): argument 'ord' must be Number, not {type(ord).__name__}")
    if not (x.dtype.is_floating_point or x.dtype.is_complex):  # complex: a real norm of |x|
        check_float(x, "linalg.vector_norm")
    if dim is not None and not isinstance(dim, int):
        seen: set = set()
        for d in dim:
            w = wrap_dim(d, x._data.ndim)
            if w in seen:
                raise RuntimeError(f"dim {w} appears multiple times in the list of dims")
            seen.add(w)
    if dtype is not None:
        x = x.to(backend.as_dtype(dtype))
    return write_out(Norm.apply(x, float(ord), _dims(dim, x._data.ndim), keepdim), out)


_MATRIX_ORDS = ("fro", "nuc", 2, -2, 1, -1, math.inf, -math.inf)


def matrix_norm(A: Tensor, ord: Any = "fro", dim: Any = (-2, -1), keepdim: bool = False, *, dtype: Any = None,
                out: Any = None) -> Tensor:
    """Matrix norms over the two ``dim``: ``'fro'`` (sqrt of the sum of squares), ``'nuc'`` (sum
    of singular values), 2 / -2 (largest / smallest singular value), 1 / -1 (max / min column
    sum of ``|A|``), inf / -inf (max / min row sum)."""
    if _autocast.active and out is None and dtype is None and "linalg_matrix_norm" in _autocast.listed: return _autocast.call("linalg_matrix_norm", matrix_norm, A, ord, dim, keepdim, dtype=dtype, out=out)  # noqa: E501,E701
    who = "linalg.matrix_norm"
    check_matrix(A, who)
    if not A.dtype.is_floating_point:
        check_float(A, who)
    dims = (dim,) if isinstance(dim, int) else tuple(dim)
    if len(dims) != 2:
        raise RuntimeError(f"{who}: dim must be a 2-tuple. Got {' '.join(str(d) for d in dims)}")
    nd = A._data.ndim
    d0, d1 = wrap_dim(dims[0], nd), wrap_dim(dims[1], nd)
    if d0 == d1:
        raise RuntimeError(f"{who}: dims must be different. Got ({dims[0]}, {dims[1]})")
    if ord not in _MATRIX_ORDS or isinstance(ord, bool):
        raise RuntimeError(f"{who}: Order {ord} not supported.")
    if dtype is not None:
        A = A.to(backend.as_dtype(dtype))
    if ord == "fro":
        return write_out(Norm.apply(A, 2.0, tuple(sorted((d0, d1))), keepdim), out)
    x = A.movedim((d0, d1), (-2, -1))
    if ord in ("nuc", 2, -2):
        check_float(A, who)
        s = SVD.apply(x, False)[1]
        if s.shape[-1] == 0 and ord == -2:
            raise RuntimeError("amin(): Expected reduction dim -1 to have non-zero size.")
        if s.shape[-1] == 0 or ord == "nuc":
            r = s.sum(-1)
        else:
            r = s[..., 0] if ord == 2 else s[..., -1]
    else:
        sums = x.abs().sum(-2 if ord in (1, -1) else -1)
        r = sums.amax(-1) if ord > 0 else sums.amin(-1)
    if keepdim:
        for d in sorted((d0, d1)):
            r = r.unsqueeze(d)
    return write_out(r, out)


def norm(input: Tensor, ord: Any = None, dim: Any = None, keepdim: bool = False, *, out: Any = None,
         dtype: Any = None) -> Tensor:
    """``vector_norm`` over one dim (or all, when neither ``ord`` nor ``dim`` is given) and
    ``matrix_norm`` over two, as ``torch.linalg.norm`` chooses."""
    if dim is not None:
        dims = (dim,) if isinstance(dim, int) else tuple(dim)
        if len(dims) == 1 and not isinstance(ord, str):
            return vector_norm(input, 2 if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
        return matrix_norm(input, "fro" if ord is None else ord, dims, keepdim, dtype=dtype, out=out)
    if ord is None:
        return vector_norm(input, 2, None, keepdim, dtype=dtype, out=out)
    nd = input._data.ndim
    if nd not in (1, 2):
        raise RuntimeError(f"linalg.norm: If dim is not specified but ord is, the input must be 1D or 2D. Got {nd}D.")
    if isinstance(ord, str) or nd == 2:
        return matrix_norm(input, ord, (-2, -1), keepdim, dtype=dtype, out=out)
    return vector_norm(input, ord, None, keepdim, dtype=dtype, out=out)


# ----------------------------------------------------------------------------------------------
# inverse, determinants
# ----------------------------------------------------------------------------------------------
@backend.on_input_device
def inv(A: Tensor, *, out: Any = None) -> Tensor:
    """``A^{-1}`` of each square matrix; raises ``LinAlgError`` for a singular one.
    dL/dA = -A^{-T} g A^{-T}."""
    if _autocast.active and out is None and "linalg_inv" in _autocast.listed: return _autocast.call("linalg_inv", inv, A, out=out)  # noqa: E501,E701
    return write_out(inv_checked(A, "linalg.inv"), out)


@backend.on_input_device
def inv_ex(A: Tensor, *, check_errors: bool = False, out: Any = None) -> Any:
    """``(inverse, info)``: info is the first zero pivot of A's LU factorization (1-based; 0
    when A is invertible); the inverse is undefined where info is nonzero (here the identity)."""
    if _autocast.active and out is None and "linalg_inv_ex" in _autocast.listed: return _autocast.call("linalg_inv_ex", inv_ex, A, check_errors=check_errors, out=out)  # noqa: E501,E701
    from ..return_types import linalg_inv_ex
    who = "linalg.inv_ex"
    check_square(A, "linalg.inv")
    check_float(A, "linalg.inv")
    info = lu_arrays(backend.array_module(A._data), A._data)[2]
    if check_errors:
        raise_for_info(info, who, singular_message)
    y = Inverse.apply(_where_bad(info, A, eye_like(A)))
    return write_out(linalg_inv_ex(y, Tensor._make(info)), out)


def det(A: Tensor, *, out: Any = None) -> Tensor:
    """The determinant of each square matrix; dL/dA = g det(A) A^{-T}."""
    check_square(A, "linalg.det")
    check_float(A, "linalg.det", "lu_cpu")
    return write_out(Det.apply(A), out)


def slogdet(A: Tensor, *, out: Any = None) -> Any:
    """``(sign, logabsdet)`` with ``det A = sign * exp(logabsdet)``, computed without overflow;
    a singular A gives ``(0, -inf)``."""
    from ..return_types import linalg_slogdet
    check_square(A, "linalg.slogdet")
    check_float(A, "linalg.slogdet")
    sign, logabs = SlogDet.apply(A)
    return write_out(linalg_slogdet(sign, logabs), out)


# ----------------------------------------------------------------------------------------------
# Cholesky, QR, eigh, SVD
# ----------------------------------------------------------------------------------------------
@backend.on_input_device
def cholesky(A: Tensor, *, upper: bool = False, out: Any = None) -> Tensor:
    """The lower factor L of ``A = L L^T`` (``upper``: ``U = L^T``) for symmetric positive-
    definite A, read from A's lower triangle; raises ``LinAlgError`` otherwise."""
    if _autocast.active and out is None and "linalg_cholesky" in _autocast.listed: return _autocast.call("linalg_cholesky", cholesky, A, upper=upper, out=out)  # noqa: E501,E701
    f, info = cholesky_parts(A, upper, "linalg.cholesky")
    raise_for_info(info, "linalg.cholesky", _not_pd)
    return write_out(f, out)


@backend.on_input_device
def cholesky_ex(A: Tensor, *, upper: bool = False, check_errors: bool = False, out: Any = None) -> Any:
    """``(L, info)``: info is the order of the first leading minor that is not positive-definite
    (0 on success); L is undefined where info is nonzero."""
    if _autocast.active and out is None and "linalg_cholesky_ex" in _autocast.listed: return _autocast.call("linalg_cholesky_ex", cholesky_ex, A, upper=upper, check_errors=check_errors, out=out)  # noqa: E501,E701
    from ..return_types import linalg_cholesky_ex
    f, info = cholesky_parts(A, upper, "linalg.cholesky")
    if check_errors:
        raise_for_info(info, "linalg.cholesky_ex", _not_pd)
    return write_out(linalg_cholesky_ex(f, Tensor._make(info)), out)


def qr(A: Tensor, mode: str = "reduced", *, out: Any = None) -> Any:
    """``A = Q R`` with orthonormal columns of Q and upper-triangular R: ``'reduced'`` (Q is
    (m, k), R (k, n), k = min(m, n)), ``'complete'`` (Q is (m, m)) or ``'r'`` (R only; Q empty)."""
    if _autocast.active and out is None and "linalg_qr" in _autocast.listed: return _autocast.call("linalg_qr", qr, A, mode, out=out)  # noqa: E501,E701
    from ..return_types import linalg_qr
    Q, R = qr_parts(A, mode)
    return write_out(linalg_qr(Q, R), out)


def _eigh_checks(A: Tensor, UPLO: str, who: str) -> None:
    if UPLO not in ("L", "U"):
        raise RuntimeError(f"Expected UPLO argument to be 'L' or 'U', but got {UPLO}")
    check_square(A, who)
    if not A.dtype.is_floating_point or A.dtype in (backend.float16, backend.bfloat16):
        raise NotImplementedError(f"\"linalg_eigh_cpu\" not implemented for '{torch_name(A)}'")


def eigh(A: Tensor, UPLO: str = "L", *, out: Any = None) -> Any:
    """``(eigenvalues, eigenvectors)`` of symmetric A (read from the ``UPLO`` triangle),
    eigenvalues ascending, ``A = V diag(L) V^T``.  Eigenvectors are defined up to sign."""
    if _autocast.active and out is None and "linalg_eigh" in _autocast.listed: return _autocast.call("linalg_eigh", eigh, A, UPLO, out=out)  # noqa: E501,E701
    from ..return_types import linalg_eigh
    _eigh_checks(A, UPLO, "linalg.eigh")
    w, v = Eigh.apply(A, UPLO)
    return write_out(linalg_eigh(w, v), out)


def eigvalsh(A: Tensor, UPLO: str = "L", *, out: Any = None) -> Tensor:
    """The eigenvalues of symmetric A, ascending (differentiable, through ``eigh``)."""
    if _autocast.active and out is None and "linalg_eigvalsh" in _autocast.listed: return _autocast.call("linalg_eigvalsh", eigvalsh, A, UPLO, out=out)  # noqa: E501,E701
    _eigh_checks(A, UPLO, "linalg.eigvalsh")
    return write_out(Eigh.apply(A, UPLO)[0], out)


def svd(A: Tensor, full_matrices: bool = True, *, driver: Any = None, out: Any = None) -> Any:
    """``A = U diag(S) Vh``, S descending; ``full_matrices=False`` gives the reduced factors
    (U: (m, k), Vh: (k, n)).  Singular vectors are defined up to sign: differentiate only
    functions that do not depend on it.  ``driver`` is accepted and ignored."""
    if _autocast.active and out is None and "linalg_svd" in _autocast.listed: return _autocast.call("linalg_svd", svd, A, full_matrices, driver=driver, out=out)  # noqa: E501,E701
    from ..return_types import linalg_svd
    check_matrix(A, "linalg.svd")
    check_float(A, "linalg.svd", "linalg_svd_cpu")
    U, S, Vh = SVD.apply(A, bool(full_matrices))
    return write_out(linalg_svd(U, S, Vh), out)


def svdvals(A: Tensor, *, driver: Any = None, out: Any = None) -> Tensor:
    """The singular values of A, descending; dL/dA = U diag(g) Vh."""
    if _autocast.active and out is None and "linalg_svdvals" in _autocast.listed: return _autocast.call("linalg_svdvals", svdvals, A, driver=driver, out=out)  # noqa: E501,E701
    check_matrix(A, "linalg.svd")
    check_float(A, "linalg.svd", "linalg_svd_cpu")
    return write_out(SVD.apply(A, False)[1], out)


@backend.on_input_device
def pinv(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False, out: Any = None) -> Tensor:
    """The Moore-Penrose pseudo-inverse: singular values at most ``max(atol, rtol * s_max)`` are
    treated as zero (defaults: atol = 0, rtol = eps * max(m, n), or 0 when atol > 0 is given);
    ``hermitian`` uses ``eigh`` of symmetric A."""
    return write_out(pinv_parts(A, atol, rtol, hermitian, "linalg.pinv"), out)


@backend.on_input_device
def matrix_rank(A: Tensor, *, atol: Any = None, rtol: Any = None, hermitian: bool = False,
                out: Any = None) -> Tensor:
    """The number of singular values (``|eigenvalues|`` if ``hermitian``) above
    ``max(atol, rtol * s_max)``, tolerances as in ``pinv``; int64."""
    if _autocast.active and out is None and "linalg_matrix_rank" in _autocast.listed: return _autocast.call("linalg_matrix_rank", matrix_rank, A, atol=atol, rtol=rtol, hermitian=hermitian, out=out)  # noqa: E501,E701
    who = "torch.linalg.matrix_rank"
    if A._data.ndim < 2:
        raise RuntimeError(f"{who}: The input tensor input must have at least 2 dimensions.")
    if not A.dtype.is_floating_point or A.dtype in (backend.float16, backend.bfloat16):
        raise RuntimeError("This function doesn't handle types other than float and double")
    xp = backend.array_module(A._data)
    a, r = tolerances(A, atol, rtol, who)
    if hermitian:
        check_square(A, who)
        s = xp.abs(xp.linalg.eigvalsh(A._data))
        smax = s.max(axis=-1) if s.shape[-1] else xp.zeros(s.shape[:-1], s.dtype)
    else:
        s = xp.linalg.svd(A._data, compute_uv=False)
        smax = s[..., 0] if s.shape[-1] else xp.zeros(s.shape[:-1], s.dtype)
    tol = xp.maximum(a, r * smax)
    return write_out(Tensor._make((s > tol[..., None]).sum(axis=-1).astype(xp.int64)), out)


_LSTSQ_DRIVERS = ("gels", "gelsy", "gelsd", "gelss")


@backend.on_input_device
def lstsq(A: Tensor, B: Tensor, rcond: Any = None, *, driver: Any = None) -> Any:
    """``(solution, residuals, rank, singular_values)`` of ``min_X ||A X - B||_F``, filled as
    PyTorch's CPU drivers fill them: ``rank`` for gelsy (the default), gelsd and gelss;
    ``singular_values`` for gelsd and gelss; ``residuals`` (squared column norms of A X - B) when
    m > n, for gels always and for gelsd/gelss when every A has full rank.  The solution is
    ``pinv(A) B`` with singular values below ``rcond * s_max`` dropped (default rcond = eps *
    max(m, n); gels assumes full rank) -- the minimum-norm solution LAPACK's drivers compute --
    so its gradient is PyTorch's.  ``rank`` counts the singular values above ``rcond * s_max``
    for every driver (gelsy estimates it from a pivoted QR instead; the two agree but for
    matrices with a singular value right at the threshold)."""
    if _autocast.active and "linalg_lstsq" in _autocast.listed: return _autocast.call("linalg_lstsq", lstsq, A, B, rcond, driver=driver)  # noqa: E501,E701
    from ..return_types import linalg_lstsq
    who = "torch.linalg.lstsq"
    driver = "gelsy" if driver is None else driver
    if driver not in _LSTSQ_DRIVERS:
        raise RuntimeError(f"{who}: parameter `driver` should be one of (gels, gelsy, gelsd, gelss)")
    if A._data.ndim < 2:
        raise RuntimeError(f"{who}: input must have at least 2 dimensions.")
    if B._data.ndim < 1:
        raise RuntimeError(f"{who}: other must have at least 1 dimension.")
    if A.dtype != B.dtype:
        raise RuntimeError(f"{who}: Expected input and other to have the same dtype, but got input's dtype "
                           f"{torch_name(A)} and other's dtype {torch_name(B)}")
    if not A.dtype.is_floating_point or A.dtype in (backend.float16, backend.bfloat16):
        raise RuntimeError("This function doesn't handle types other than float and double")
    if not 0 <= A._data.ndim - B._data.ndim <= 1:
        raise RuntimeError(f"{who}: input.dim() must be greater or equal to other.dim() and "
                           "(input.dim() - other.dim()) <= 1")
    vector = B._data.ndim == A._data.ndim - 1
    b = B.unsqueeze(-1) if vector else B
    if b._data.shape[-2] != A._data.shape[-2]:
        raise RuntimeError(f"{who}: input.size(-2) should match other.size(-2)")
    xp = backend.array_module(A._data)
    m, n = A._data.shape[-2:]
    eps = backend.finfo(A.dtype).eps * max(m, n)
    rc = eps if rcond is None else float(rcond)
    batch = A._data.shape[:-2]
    zeros = xp.zeros(batch, dtype=A._data.dtype)
    rt = xp.full(batch, 0.0 if driver == "gels" else rc, dtype=A._data.dtype)
    x = _plain_matmul(Pinv.apply(A, zeros, rt, False), b)  # no autocast inside: float32 under CPU autocast
    s = xp.linalg.svd(A._data, compute_uv=False)
    smax = s[..., :1] if s.shape[-1] else s
    rank_arr = (s > rc * smax).sum(axis=-1).astype(xp.int64)
    empty = A.new_zeros((0,))
    rank = Tensor._make(rank_arr) if driver != "gels" else Tensor._make(xp.zeros((0,), dtype=xp.int64))
    sv = Tensor._make(s) if driver in ("gelsd", "gelss") else empty
    residuals = (A.reshape(-1)[:0] * 0) if A.requires_grad else empty  # empty, yet in the graph as PyTorch's
    if m > n and driver != "gelsy" and (driver == "gels" or bool((rank_arr == n).all())):
        residuals = ((_plain_matmul(A, x) - b) ** 2).sum(-2)
    return linalg_lstsq(x.squeeze(-1) if vector else x, residuals, rank, sv)


@backend.on_input_device
def matrix_power(A: Tensor, n: int, *, out: Any = None) -> Tensor:
    """``A^n`` of square matrices (n < 0: powers of the inverse; n = 0: the identity)."""
    return _matrix_power(A, n, out=out)


# ----------------------------------------------------------------------------------------------
# products and small helpers
# ----------------------------------------------------------------------------------------------
def cross(input: Tensor, other: Tensor, *, dim: int = -1, out: Any = None) -> Tensor:
    """The cross product along ``dim`` (size 3), batch dims broadcast."""
    return _cross(input, other, dim, out=out)


def matmul(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """``torch.matmul``."""
    return _matmul(input, other, out=out)


def vecdot(x: Tensor, y: Tensor, *, dim: int = -1, out: Any = None) -> Tensor:
    """``sum_i x_i y_i`` along ``dim`` (no conjugation is needed for real tensors), broadcast."""
    if _autocast.active and out is None and "linalg_vecdot" in _autocast.listed: return _autocast.call("linalg_vecdot", vecdot, x, y, dim=dim, out=out)  # noqa: E501,E701
    who = "linalg.vecdot"
    if x.dtype != y.dtype:
        raise RuntimeError(f"{who}: Expected x and y to have the same dtype, but found x of type {torch_name(x)} and "
                           f"y of type {torch_name(y)} instead")
    if not x.dtype.is_floating_point:
        check_float(x, who)
    if x._data.ndim == 1 and y._data.ndim == 1 and x._data.shape != y._data.shape:
        n, m = x._data.shape[0], y._data.shape[0]
        raise RuntimeError(f"inconsistent tensor size, expected tensor [{n}] and src [{m}] to have the same number of "
                           f"elements, but got {n} and {m} elements respectively")
    return write_out((x * y).sum(dim), out)


def diagonal(A: Tensor, *, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """``torch.diagonal`` with defaults suited to batches of matrices."""
    return A.diagonal(offset, dim1, dim2)


def vander(x: Tensor, N: int | None = None) -> Tensor:
    """Columns ``x^0, x^1, ..., x^{N-1}`` (increasing powers, unlike ``torch.vander``), by a
    cumulative product so that the gradient is finite at 0."""
    from ..ops.joining import cat
    if x._data.ndim < 1:
        raise RuntimeError("linalg.vander: x must have at least 1 dimension.")
    if x.dtype in (backend.float16, backend.bfloat16):
        raise RuntimeError(f"linalg.vander supports floating point, complex, and integer tensors, but got "
                           f"{torch_name(x)}")
    n = x._data.shape[-1] if N is None else N
    if n <= 1:
        raise RuntimeError("N must be greater than 1.")
    ones = x.new_ones(x._data.shape + (1,))
    return cat([ones, x.unsqueeze(-1).expand(x._data.shape + (n - 1,))], -1).cumprod(-1)


def _chain_order(dims: list) -> Any:
    """The cheapest parenthesisation of a matrix chain (the textbook dynamic programme)."""
    n = len(dims) - 1
    cost = [[0] * n for _ in range(n)]
    split = [[0] * n for _ in range(n)]
    for length in range(1, n):
        for i in range(n - length):
            j = i + length
            cost[i][j] = math.inf
            for k in range(i, j):
                c = cost[i][k] + cost[k + 1][j] + dims[i] * dims[k + 1] * dims[j + 1]
                if c < cost[i][j]:
                    cost[i][j], split[i][j] = c, k
    return split


def multi_dot(tensors: Sequence[Tensor], *, out: Any = None) -> Tensor:
    """``A_1 @ A_2 @ ... @ A_k`` in the order with fewest multiplications; the first and last may
    be vectors (a row and a column), the rest are matrices."""
    if _autocast.active and out is None and "multi_dot" in _autocast.listed: return _autocast.call("multi_dot", multi_dot, tensors, out=out)  # noqa: E501,E701
    ts = list(tensors)
    k = len(ts)
    if k < 2:
        raise RuntimeError(f"multi_dot(): expected at least 2 tensors but got {k}")
    for i, t in enumerate(ts):
        d = t._data.ndim
        if i == 0 and d not in (1, 2):
            raise RuntimeError(f"multi_dot(): the first tensor must be 1D or 2D but got {d}D")
        if i == k - 1 and d not in (1, 2):
            raise RuntimeError(f"multi_dot(): the last tensor must be 1D or 2D but got {d}D")
        if 0 < i < k - 1 and d != 2:
            raise RuntimeError(f"multi_dot(): tensor {i} must be 2D but got {d}D")
        if t.dtype != ts[0].dtype:
            raise RuntimeError(f"multi_dot(): all tensors must have be the same dtype but tensor 0 is "
                               f"{ts[0].dtype.name.replace('float32', 'float').replace('float64', 'double')} and "
                               f"tensor {i} {t.dtype.name.replace('float32', 'float').replace('float64', 'double')}")
    first_vec, last_vec = ts[0]._data.ndim == 1, ts[-1]._data.ndim == 1
    if first_vec:
        ts[0] = ts[0].unsqueeze(0)
    if last_vec:
        ts[-1] = ts[-1].unsqueeze(-1)
    for i in range(k - 1):
        if ts[i]._data.shape[1] != ts[i + 1]._data.shape[0]:
            raise RuntimeError(f"multi_dot(): tensors {i} and {i + 1} with shapes {list(ts[i].shape)} and "
                               f"{list(ts[i + 1].shape)} cannot be multiplied")
    split = _chain_order([ts[0]._data.shape[0]] + [t._data.shape[1] for t in ts])

    def product(i: int, j: int) -> Tensor:
        if i == j:
            return ts[i]
        s = split[i][j]
        return _matmul(product(i, s), product(s + 1, j))
    y = product(0, k - 1)
    if first_vec and last_vec:
        y = y.reshape(())
    elif first_vec:
        y = y.squeeze(0)
    elif last_vec:
        y = y.squeeze(-1)
    return write_out(y, out)


@backend.on_input_device
def cond(A: Tensor, p: Any = None, *, out: Any = None) -> Tensor:
    """The condition number ``||A||_p ||A^{-1}||_p``; for p = None / 2 (-2) the ratio of the
    largest to the smallest singular value (its inverse), for any A; the other norms need square
    A and give inf for a singular one."""
    if _autocast.active and out is None and "linalg_cond" in _autocast.listed: return _autocast.call("linalg_cond", cond, A, p, out=out)  # noqa: E501,E701
    if p in (None, 2, -2) and not isinstance(p, bool):
        check_matrix(A, "linalg.cond")
        check_float(A, "linalg.svd", "linalg_svd_cpu")
        if A._data.size == 0:
            return write_out(A.new_zeros(A._data.shape[:-2]), out)
        s = SVD.apply(A, False)[1]
        r = s[..., 0] / s[..., -1] if p != -2 else s[..., -1] / s[..., 0]
        return write_out(r, out)
    if p not in _MATRIX_ORDS:
        raise RuntimeError(f"linalg.cond got an invalid norm type: {p}")
    who = f"linalg.cond(ord={p})"
    check_square(A, who)
    check_float(A, "linalg.inv")
    if A._data.size == 0:
        return write_out(A.new_zeros(A._data.shape[:-2]), out)
    info = lu_arrays(backend.array_module(A._data), A._data)[2]
    a_inv = Inverse.apply(_where_bad(info, A, eye_like(A)))
    r = matrix_norm(A, p) * matrix_norm(a_inv, p)
    if info.size and bool((info != 0).any()):
        from ..ops.indexing import where
        r = where(Tensor._make(info != 0), math.inf, r)
    return write_out(r, out)


@backend.on_input_device
def tensorinv(A: Tensor, ind: int = 2, *, out: Any = None) -> Tensor:
    """The inverse of A seen as a linear map from its last dims to its first ``ind`` dims:
    ``tensordot(tensorinv(A, ind), A, ind)`` is the identity."""
    if _autocast.active and out is None and "linalg_tensorinv" in _autocast.listed: return _autocast.call("linalg_tensorinv", tensorinv, A, ind, out=out)  # noqa: E501,E701
    if ind <= 0:
        raise RuntimeError(f"Expected a strictly positive integer for 'ind', but got {ind}")
    shape = A._data.shape
    check_float(A, "linalg.inv")
    rows, cols = math.prod(shape[:ind]), math.prod(shape[ind:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[ind:]) == "
                           f"prod(self.shape[:ind]), but got {cols} != {rows}")
    return write_out(inv_checked(A.reshape((rows, cols)), "inv").reshape(shape[ind:] + shape[:ind]), out)


@backend.on_input_device
def tensorsolve(A: Tensor, B: Tensor, dims: Any = None, *, out: Any = None) -> Tensor:
    """X with ``tensordot(A, X, X.ndim) = B``; ``dims`` of A are moved to the end first."""
    if _autocast.active and out is None and "linalg_tensorsolve" in _autocast.listed: return _autocast.call("linalg_tensorsolve", tensorsolve, A, B, dims, out=out)  # noqa: E501,E701
    if dims is not None:
        nd = A._data.ndim
        dims = [wrap_dim(d, nd) for d in dims]
        A = A.movedim(dims, list(range(nd - len(dims), nd)))
    shape = A._data.shape
    nb = B._data.ndim
    rows, cols = math.prod(shape[:nb]), math.prod(shape[nb:])
    if rows != cols:
        raise RuntimeError(f"Expected self to satisfy the requirement prod(self.shape[other.ndim:]) == "
                           f"prod(self.shape[:other.ndim]), but got {cols} != {rows}")
    x = solve(A.reshape((rows, cols)), B.reshape((rows,)))
    return write_out(x.reshape(shape[nb:]), out)
