"""edunn.linalg's solvers against torch.linalg: solve(_ex), solve_triangular, LU (lu_factor(_ex),
lu, lu_solve, lu_unpack), pinv, lstsq (every driver), matrix_rank, matrix_power, matrix_exp,
cholesky_solve/inverse, triangular_solve, householder_product, multi_dot, vecdot, vander,
diagonal, tensorinv/tensorsolve, cross and matmul: values, batched shapes, gradients, gradcheck,
errors and info values."""
import math
import warnings

import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch
from linalg_inputs import general, plain, with_rhs


def _spec(name, f, make, **kw):
    return OpSpec(name, lambda *t: f(edunn, *t), lambda *t: f(torch, *t), None, make_inputs=make, lesson=2, **kw)


def _quiet(f):
    """torch warns that its deprecated names (triangular_solve, lu_solve ...) are deprecated."""
    def g(*a):
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return f(*a)
    return g


def _pd(lib, a):
    return a @ a.mT + a.shape[-1] * lib.eye(a.shape[-1], dtype=a.dtype, device=a.device)


def _lu_solve(lib, a, b, **kw):
    LU, piv = lib.linalg.lu_factor(a)
    return lib.linalg.lu_solve(LU, piv, b, **kw)


def _rank_deficient(rng):
    return [rng.normal(size=(5, 2)) @ rng.normal(size=(2, 4))]


SPECS = [
    _spec("solve", lambda L, a, b: L.linalg.solve(a, b), with_rhs((2, 3, 3), (2, 3, 2)), gradgrad=True),
    _spec("solve_vector", lambda L, a, b: L.linalg.solve(a, b), with_rhs((2, 3, 3), (2, 3))),
    _spec("solve_vector_1d", lambda L, a, b: L.linalg.solve(a, b), with_rhs((2, 3, 3), (3,))),
    _spec("solve_broadcast", lambda L, a, b: L.linalg.solve(a, b), with_rhs((3, 3), (4, 3, 2))),
    _spec("solve_right", lambda L, a, b: L.linalg.solve(a, b, left=False), with_rhs((2, 3, 3), (2, 4, 3))),
    _spec("solve_ex", lambda L, a, b: L.linalg.solve_ex(a, b), with_rhs((2, 3, 3), (2, 3, 2))),
    _spec("solve_triangular_upper", lambda L, a, b: L.linalg.solve_triangular(a, b, upper=True),
          with_rhs((2, 4, 4), (2, 4, 3)), gradgrad=True),
    _spec("solve_triangular_lower_right", lambda L, a, b: L.linalg.solve_triangular(a, b, upper=False, left=False),
          with_rhs((2, 4, 4), (2, 3, 4))),
    _spec("solve_triangular_unit", lambda L, a, b: L.linalg.solve_triangular(a, b, upper=False, unitriangular=True),
          with_rhs((4, 4), (2, 4, 3))),
    _spec("triangular_solve", _quiet(lambda L, a, b: L.triangular_solve(b, a)), with_rhs((2, 3, 3), (2, 3, 2))),
    _spec("triangular_solve_transpose", _quiet(lambda L, a, b: L.triangular_solve(b, a, False, True, True)),
          with_rhs((3, 3), (3, 2))),
    _spec("lu_factor", lambda L, a: L.linalg.lu_factor(a).LU, plain((2, 4, 4)), gradgrad=True),
    _spec("lu_factor_pivots", lambda L, a: L.linalg.lu_factor(a), plain((2, 4, 4)), grad=False),
    _spec("lu_factor_ex", lambda L, a: L.linalg.lu_factor_ex(a), plain((2, 4, 4))),
    _spec("lu_factor_tall", lambda L, a: L.linalg.lu_factor(a), plain((5, 3))),
    _spec("lu_factor_wide", lambda L, a: L.linalg.lu_factor(a), plain((2, 3, 5))),
    _spec("lu", lambda L, a: L.linalg.lu(a), plain((2, 4, 4))),
    _spec("lu_tall", lambda L, a: L.linalg.lu(a), plain((2, 5, 3))),
    _spec("lu_wide", lambda L, a: L.linalg.lu(a), plain((3, 5))),
    _spec("lu_only_U", lambda L, a: L.linalg.lu(a).U, plain((3, 5))),
    _spec("lu_only_L", lambda L, a: L.linalg.lu(a).L, plain((5, 3))),
    _spec("lu_unpack", lambda L, a: L.lu_unpack(*L.linalg.lu_factor(a)), plain((2, 3, 3))),
    _spec("lu_unpack_tall", lambda L, a: L.lu_unpack(*L.linalg.lu_factor(a)), plain((5, 3))),
    _spec("lu_solve", lambda L, a, b: _lu_solve(L, a, b), with_rhs((2, 3, 3), (2, 3, 2))),
    _spec("lu_solve_adjoint", lambda L, a, b: _lu_solve(L, a, b, adjoint=True), with_rhs((2, 3, 3), (2, 3, 2))),
    _spec("lu_solve_right", lambda L, a, b: _lu_solve(L, a, b, left=False), with_rhs((2, 3, 3), (2, 4, 3))),
    _spec("lu_solve_right_adjoint", lambda L, a, b: _lu_solve(L, a, b, left=False, adjoint=True),
          with_rhs((3, 3), (4, 3))),
    _spec("torch.lu_solve", _quiet(lambda L, a, b: L.lu_solve(b, *L.linalg.lu_factor(a))),
          with_rhs((2, 3, 3), (2, 3, 2))),
    _spec("cholesky_solve", lambda L, a, b: L.cholesky_solve(b, L.linalg.cholesky(_pd(L, a))),
          plain((2, 3, 3), (2, 3, 2))),
    _spec("cholesky_solve_upper", lambda L, a, b: L.cholesky_solve(b, L.linalg.cholesky(_pd(L, a), upper=True), True),
          plain((3, 3), (3, 2))),
    _spec("cholesky_inverse", lambda L, a: L.cholesky_inverse(L.linalg.cholesky(_pd(L, a))), plain((2, 3, 3))),
    _spec("cholesky_inverse_upper", lambda L, a: L.cholesky_inverse(L.linalg.cholesky(_pd(L, a), upper=True), True),
          plain((3, 3))),
    # PyTorch's gradient of the factor is not kept on its triangle (finite differences can't
    # agree), so these compare with torch only
    _spec("cholesky_solve_factor_grad", lambda L, f, b: L.cholesky_solve(b, f.tril() + 3 * L.eye(3, dtype=f.dtype, device=f.device)),
          plain((3, 3), (3, 2))),
    _spec("cholesky_inverse_factor_grad", lambda L, f: L.cholesky_inverse(f.triu() + 3 * L.eye(3, dtype=f.dtype, device=f.device), True),
          plain((3, 3))),
    _spec("pinv_tall", lambda L, a: L.linalg.pinv(a), plain((2, 5, 3)), gradgrad=True),
    _spec("pinv_wide", lambda L, a: L.linalg.pinv(a), plain((3, 5))),
    _spec("pinv_rank_deficient", lambda L, a: L.linalg.pinv(a), _rank_deficient, grad=False),
    _spec("pinv_atol", lambda L, a: L.linalg.pinv(a, atol=1.0), plain((2, 4, 3)), grad=False),
    _spec("pinv_rtol", lambda L, a: L.linalg.pinv(a, rtol=0.3), plain((2, 4, 3)), grad=False),
    _spec("pinv_hermitian", lambda L, a: L.linalg.pinv(a + a.mT, hermitian=True), plain((2, 4, 4))),
    _spec("pinverse", lambda L, a: L.pinverse(a, 0.2), plain((4, 3)), grad=False),
    _spec("matrix_rank", lambda L, a: L.linalg.matrix_rank(a), _rank_deficient, grad=False),
    _spec("matrix_rank_tol", lambda L, a: L.linalg.matrix_rank(a, atol=1.0, rtol=0.1), plain((3, 4, 5)), grad=False),
    _spec("matrix_rank_hermitian", lambda L, a: L.linalg.matrix_rank(a @ a.mT, hermitian=True), _rank_deficient,
          grad=False),
    _spec("matrix_power_3", lambda L, a: L.linalg.matrix_power(a, 3), plain((2, 3, 3)), gradgrad=True),
    _spec("matrix_power_-2", lambda L, a: L.linalg.matrix_power(a, -2), general(2, 3, 3)),
    _spec("matrix_power_0", lambda L, a: L.matrix_power(a, 0), plain((2, 3, 3))),
    _spec("matrix_exp", lambda L, a: L.linalg.matrix_exp(a), plain((2, 3, 3)), gradgrad=True),
    _spec("matrix_exp_large", lambda L, a: L.matrix_exp(a * 4), plain((2, 4, 4)), rtol=1e-3),
    _spec("householder_product", lambda L, a, t: L.linalg.householder_product(a, t), plain((2, 5, 3), (2, 2))),
    _spec("householder_of_geqrf", lambda L, a: L.linalg.householder_product(*torch.geqrf(torch.tensor(a.tolist())))
          if L is torch else L.linalg.qr(a).Q, general(4, 3), grad=False),
    _spec("lu_solve_broadcast", lambda L, a, b: _lu_solve(L, a, b), with_rhs((2, 1, 3, 3), (4, 3, 2))),
    _spec("solve_triangular_broadcast", lambda L, a, b: L.linalg.solve_triangular(a, b, upper=False),
          with_rhs((3, 3), (2, 3, 2))),
    _spec("cholesky_solve_broadcast", lambda L, a, b: L.cholesky_solve(b, L.linalg.cholesky(_pd(L, a))),
          plain((3, 3), (2, 3, 2))),
    _spec("solve_broadcast_A", lambda L, a, b: L.linalg.solve(a, b), with_rhs((2, 3, 3), (3, 2))),
    _spec("pinv_batched_rtol", lambda L, a: L.linalg.pinv(a, rtol=L.tensor([0.0, 0.5], dtype=a.dtype, device=a.device)),
          plain((2, 4, 3)), grad=False),
    _spec("householder_product_batched", lambda L, a, t: L.linalg.householder_product(a, t), plain((2, 4, 4), (2, 4)),
          gradgrad=True),
    _spec("ormqr_gradgrad", lambda L, a, t, c: L.ormqr(a, t, c), plain((4, 3), (3,), (4, 2)), gradgrad=True),
    _spec("lu_tall_gradgrad", lambda L, a: L.linalg.lu(a)[1:], plain((5, 3)), gradgrad=True),
    _spec("geqrf", lambda L, a: L.geqrf(a), general(2, 5, 3), grad=False),
    _spec("orgqr_of_geqrf", lambda L, a: L.orgqr(*L.geqrf(a)), general(2, 5, 3), grad=False),
    _spec("orgqr", lambda L, a, t: L.orgqr(a, t), plain((4, 3), (3,))),
    _spec("ormqr", lambda L, a, t, c: L.ormqr(a, t, c), plain((2, 4, 3), (2, 3), (2, 4, 5))),
    _spec("ormqr_transpose", lambda L, a, t, c: L.ormqr(a, t, c, transpose=True), plain((4, 3), (3,), (4, 2))),
    _spec("ormqr_right", lambda L, a, t, c: L.ormqr(a, t, c, left=False), plain((4, 3), (3,), (2, 4))),
    _spec("ormqr_right_transpose", lambda L, a, t, c: L.ormqr(a, t, c, False, True), plain((4, 2), (2,), (3, 4))),
    _spec("torch.lu", _quiet(lambda L, a: L.lu(a)), plain((2, 4, 4))),
    _spec("torch.lu_infos", _quiet(lambda L, a: L.lu(a * 0, get_infos=True)), plain((2, 3, 3)), grad=False),
    _spec("ldl_factor", lambda L, a: L.linalg.ldl_factor(a + a.mT), plain((2, 5, 5)), grad=False),
    _spec("ldl_factor_ex", lambda L, a: L.linalg.ldl_factor_ex(a + a.mT), plain((4, 4)), grad=False),
    _spec("ldl_solve", lambda L, a, b: L.linalg.ldl_solve(*L.linalg.ldl_factor(a + a.mT), b),
          plain((2, 4, 4), (2, 4, 3)), grad=False),
    _spec("multi_dot", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), plain((2, 5), (5, 3), (3, 4))),
    _spec("multi_dot_vectors", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), plain((5,), (5, 3), (3,))),
    _spec("vecdot", lambda L, a, b: L.linalg.vecdot(a, b, dim=0), plain((3, 4), (3, 1))),
    _spec("vander", lambda L, x: L.linalg.vander(x), plain((2, 4))),
    _spec("vander_N", lambda L, x: L.linalg.vander(x, N=3), plain((5,))),
    _spec("diagonal", lambda L, a: L.linalg.diagonal(a, offset=1), plain((2, 3, 4))),
    _spec("tensorinv", lambda L, a: L.linalg.tensorinv(a, ind=1), general(4, 4)),
    _spec("tensorinv_ind2", lambda L, a: L.linalg.tensorinv(a.reshape(2, 3, 6)), general(6, 6)),
    _spec("tensorsolve", lambda L, a, b: L.linalg.tensorsolve(a.reshape(2, 3, 6), b),
          lambda rng: general(6, 6)(rng) + [rng.normal(size=(2, 3))]),
    _spec("tensorsolve_dims", lambda L, a, b: L.linalg.tensorsolve(a.reshape(6, 2, 3), b, dims=(0,)),
          lambda rng: general(6, 6)(rng) + [rng.normal(size=(2, 3))]),
    _spec("cross", lambda L, a, b: L.linalg.cross(a, b), plain((2, 3), (1, 3))),
    _spec("matmul", lambda L, a, b: L.linalg.matmul(a, b), plain((2, 3, 4), (4,))),
]


def _lstsq_spec(name, a_shape, b_shape, driver, **kw):
    def f(L, a, b):
        return L.linalg.lstsq(a, b, driver=driver)
    return _spec(name, f, lambda rng: [rng.normal(size=a_shape), rng.normal(size=b_shape)], **kw)


SPECS += [_lstsq_spec(f"lstsq_tall_{d}", (2, 5, 3), (2, 5, 2), d) for d in (None, "gels", "gelsd", "gelss")]
SPECS += [_lstsq_spec(f"lstsq_wide_{d}", (3, 5), (3, 2), d) for d in ("gelsy", "gelsd", "gels")]
SPECS += [_lstsq_spec("lstsq_vector", (2, 5, 3), (2, 5), "gelsd"),
          _lstsq_spec("lstsq_broadcast", (1, 5, 3), (2, 5, 2), "gelsy"),
          _spec("lstsq_rank_deficient", lambda L, a, b: L.linalg.lstsq(a, b, driver="gelsd"),
                lambda rng: _rank_deficient(rng) + [rng.normal(size=(5, 2))], grad=False),
          _spec("lstsq_rcond", lambda L, a, b: L.linalg.lstsq(a, b, 0.5, driver="gelss")[:3],
                plain((6, 3), (6, 2)), grad=False)]

_TORCH_ONLY = ("cholesky_solve_factor_grad", "cholesky_inverse_factor_grad")
test_parity, test_gradcheck = spec_tests(SPECS, lesson=2, gradcheck=[s for s in SPECS if s.name not in _TORCH_ONLY])


# ----------------------------------------------------------------------------------------------
# errors and info values
# ----------------------------------------------------------------------------------------------
ERRORS = [
    ("solve_singular", lambda L: L.linalg.solve(L.zeros(3, 3), L.ones(3))),
    ("solve_singular_batch", lambda L: L.linalg.solve(L.stack([L.eye(3), L.zeros(3, 3)]), L.ones(3))),
    ("solve_vector_shape", lambda L: L.linalg.solve(L.eye(3), L.ones(4))),
    ("solve_matrix_shape", lambda L: L.linalg.solve(L.eye(3), L.ones(4, 2))),
    ("solve_right_shape", lambda L: L.linalg.solve(L.eye(3), L.ones(3, 2), left=False)),
    ("solve_dtypes", lambda L: L.linalg.solve(L.eye(3), L.ones(3, 2, dtype=L.float64))),
    ("solve_not_square", lambda L: L.linalg.solve(L.zeros(2, 3), L.ones(3))),
    ("solve_ex_check", lambda L: L.linalg.solve_ex(L.zeros(3, 3), L.ones(3), check_errors=True)),
    ("solve_triangular_not_square", lambda L: L.linalg.solve_triangular(L.zeros(2, 3), L.zeros(2, 3), upper=True)),
    ("solve_triangular_shapes", lambda L: L.linalg.solve_triangular(L.zeros(3, 3), L.zeros(2, 3), upper=True)),
    ("solve_triangular_1d", lambda L: L.linalg.solve_triangular(L.eye(3), L.zeros(3), upper=True)),
    ("lu_factor_singular", lambda L: L.linalg.lu_factor(L.zeros(3, 3))),
    ("lu_factor_singular_batch", lambda L: L.linalg.lu_factor(L.zeros(2, 3, 3))),
    ("lu_factor_ex_check", lambda L: L.linalg.lu_factor_ex(L.zeros(3, 3), check_errors=True)),
    ("lu_factor_long", lambda L: L.linalg.lu_factor(L.ones(3, 3, dtype=L.int64))),
    ("lu_solve_shapes", lambda L: L.linalg.lu_solve(L.ones(3, 3), L.ones(3, dtype=L.int32), L.ones(4, 2))),
    ("pinv_1d", lambda L: L.linalg.pinv(L.zeros(3))),
    ("pinv_long", lambda L: L.linalg.pinv(L.zeros(3, 3, dtype=L.int64))),
    ("matrix_rank_long", lambda L: L.linalg.matrix_rank(L.zeros(3, 3, dtype=L.int64))),
    ("matrix_rank_1d", lambda L: L.linalg.matrix_rank(L.ones(3))),
    ("matrix_power_not_square", lambda L: L.linalg.matrix_power(L.zeros(2, 3), 2)),
    ("matrix_power_singular", lambda L: L.linalg.matrix_power(L.zeros(3, 3), -1)),
    ("matrix_power_long_negative", lambda L: L.linalg.matrix_power(L.ones(3, 3, dtype=L.int64), -1)),
    ("matrix_exp_not_square", lambda L: L.linalg.matrix_exp(L.zeros(2, 3))),
    ("matrix_exp_long", lambda L: L.linalg.matrix_exp(L.zeros(3, 3, dtype=L.int64))),
    ("lstsq_rows", lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(4, 2))),
    ("lstsq_driver", lambda L: L.linalg.lstsq(L.ones(3, 2), L.ones(3, 2), driver="x")),
    ("lstsq_dtypes", lambda L: L.linalg.lstsq(L.ones(3, 2, dtype=L.int64), L.ones(3, 2))),
    ("lstsq_dims", lambda L: L.linalg.lstsq(L.ones(5, 3), L.ones(2, 5, 2))),
    ("lstsq_0d", lambda L: L.linalg.lstsq(L.ones(5, 3), L.ones(()))),
    ("multi_dot_one", lambda L: L.linalg.multi_dot([L.ones(3)])),
    ("multi_dot_shapes", lambda L: L.linalg.multi_dot([L.ones(3, 2), L.ones(3, 2)])),
    ("multi_dot_3d", lambda L: L.linalg.multi_dot([L.ones(3, 2, 2), L.ones(2, 2)])),
    ("multi_dot_dtypes", lambda L: L.linalg.multi_dot([L.ones(2, 3), L.ones(3, 2, dtype=L.float64)])),
    ("householder_tau", lambda L: L.linalg.householder_product(L.zeros(3, 2), L.zeros(3))),
    ("householder_wide", lambda L: L.linalg.householder_product(L.zeros(2, 3), L.zeros(2))),
    ("geqrf_1d", lambda L: L.geqrf(L.zeros(3))),
    ("geqrf_long", lambda L: L.geqrf(L.zeros(3, 3, dtype=L.int64))),
    ("ormqr_shapes", lambda L: L.ormqr(L.zeros(3, 2), L.zeros(2), L.zeros(4, 2))),
    ("ldl_factor_not_square", lambda L: L.linalg.ldl_factor(L.zeros(2, 3))),
    ("ldl_factor_long", lambda L: L.linalg.ldl_factor(L.zeros(3, 3, dtype=L.int64))),
    ("ldl_factor_half", lambda L: L.linalg.ldl_factor(L.zeros(3, 3, dtype=L.float16))),
    ("ldl_solve_shapes", lambda L: L.linalg.ldl_solve(L.eye(3), L.ones(3, dtype=L.int32), L.ones(4, 2))),
    ("ldl_solve_dtypes", lambda L: L.linalg.ldl_solve(L.eye(3), L.ones(3, dtype=L.int32),
                                                      L.ones(3, 2, dtype=L.float64))),
    ("tensorinv_ind", lambda L: L.linalg.tensorinv(L.zeros(4, 2, 2), ind=0)),
    ("tensorinv_shape", lambda L: L.linalg.tensorinv(L.zeros(4, 2, 3), ind=1)),
    ("tensorinv_singular", lambda L: L.linalg.tensorinv(L.zeros(4, 2, 2), ind=1)),
    ("tensorsolve_shape", lambda L: L.linalg.tensorsolve(L.ones(2, 3, 5), L.ones(2, 3))),
    ("vander_N", lambda L: L.linalg.vander(L.zeros(2, 3), N=0)),
    ("vecdot_sizes", lambda L: L.linalg.vecdot(L.ones(4), L.ones(5))),
    ("vecdot_dtypes", lambda L: L.linalg.vecdot(L.ones(4), L.ones(4, dtype=L.float64))),
    ("vecdot_long", lambda L: L.linalg.vecdot(L.ones(4, dtype=L.int64), L.ones(4, dtype=L.int64))),
    ("cross_size", lambda L: L.linalg.cross(L.zeros(2, 4), L.zeros(2, 4))),
]


@needs_torch
@pytest.mark.lesson02
@pytest.mark.parametrize("call", [c for _, c in ERRORS], ids=[n for n, _ in ERRORS])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    kind = RuntimeError if isinstance(theirs.value, RuntimeError) else type(theirs.value)
    with pytest.raises(kind) as ours:
        call(edunn)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.lesson02
def test_singular_matrices_raise_linalg_error(device):
    with pytest.raises(edunn.linalg.LinAlgError):
        edunn.linalg.inv(edunn.zeros(2, 2, device=device))
    with pytest.raises(edunn.linalg.LinAlgError):
        edunn.linalg.cholesky(-edunn.eye(2, device=device))
    with pytest.raises(RuntimeError):
        edunn.linalg.solve(edunn.zeros(2, 2, device=device), edunn.ones(2, device=device))


@needs_torch
@pytest.mark.lesson02
def test_ex_info_and_lu_pivots_match_torch(device):
    rng = np.random.default_rng(7)
    good = rng.normal(size=(4, 4))
    sing = good.copy()
    sing[:, 2] = sing[:, 0] + sing[:, 1]  # rank 3: the last pivot is (about) zero
    sing2 = np.array([[0.0, 1, 2, 3], [0, 1, 2, 3], [0, 2, 1, 1], [0, 5, 0, 1]])  # zero first column
    batch = np.stack([good, sing2, np.zeros((4, 4))])
    ours = edunn.linalg.lu_factor_ex(edunn.tensor(batch, device=device))
    theirs = torch.linalg.lu_factor_ex(torch.tensor(batch))
    assert ours.pivots.dtype == edunn.int32 and ours.info.dtype == edunn.int32
    assert_close(ours.info, theirs.info)
    assert_close(ours.pivots, theirs.pivots)
    assert_close(ours.LU, theirs.LU, 1e-12)
    b = rng.normal(size=(3, 4, 2))
    ours = edunn.linalg.solve_ex(edunn.tensor(batch, device=device), edunn.tensor(b, device=device))
    theirs = torch.linalg.solve_ex(torch.tensor(batch), torch.tensor(b))
    assert_close(ours.info, theirs.info)
    assert_close(ours.result[0], theirs.result[0], 1e-12)


@needs_torch
@pytest.mark.lesson02
def test_solve_triangular_with_zero_diagonal_gives_non_finite_like_torch(device):
    a = np.triu(np.ones((3, 3)))
    a[1, 1] = 0.0
    b = np.ones((3, 2))
    ours = edunn.linalg.solve_triangular(edunn.tensor(a, device=device), edunn.tensor(b, device=device), upper=True)
    theirs = torch.linalg.solve_triangular(torch.tensor(a), torch.tensor(b), upper=True)
    np.testing.assert_array_equal(np.isfinite(ours.cpu().numpy()), np.isfinite(theirs.numpy()))


@pytest.mark.lesson02
def test_matrix_exp_properties(device):
    rng = np.random.default_rng(1)
    a = rng.normal(size=(3, 3))
    e = edunn.linalg.matrix_exp
    A = edunn.tensor(a, device=device)
    np.testing.assert_allclose((e(A) @ e(-A)).cpu().numpy(), np.eye(3), atol=1e-12)
    d = edunn.tensor(np.diag([1.0, -2.0, 30.0]), device=device)
    np.testing.assert_allclose(e(d).cpu().numpy(), np.diag(np.exp([1.0, -2.0, 30.0])), rtol=1e-12)
    r = edunn.tensor([[0.0, -math.pi / 2], [math.pi / 2, 0.0]], dtype=edunn.float64, device=device)
    np.testing.assert_allclose(e(r).cpu().numpy(), [[0.0, -1.0], [1.0, 0.0]], atol=1e-14)


@pytest.mark.lesson02
def test_matrix_power_keeps_integers(device):
    a = edunn.tensor([[1, 1], [1, 0]], device=device)
    assert edunn.linalg.matrix_power(a, 10).tolist() == [[89, 55], [55, 34]]


@pytest.mark.lesson02
def test_geqrf_is_not_differentiable_like_torch():
    a = edunn.randn(4, 3, dtype=edunn.float64, requires_grad=True)
    with pytest.raises(RuntimeError, match="the derivative for 'geqrf' is not implemented."):
        edunn.geqrf(a)[0].sum().backward()


@needs_torch
@pytest.mark.lesson02
def test_ldl_pivots_match_lapack_on_indefinite_and_singular_matrices():
    """Bunch-Kaufman's 1x1 / 2x2 choices, the row swaps and info equal LAPACK's (through torch)."""
    rng = np.random.default_rng(11)
    kinds = set()
    for trial in range(60):
        n = int(rng.integers(1, 8))
        a = rng.normal(size=(n, n)) * (rng.random((n, n)) < 0.6)
        a = a + a.T
        if trial % 5 == 0:  # a zero row and column: exactly singular, whatever the rounding
            i = int(rng.integers(0, n))
            a[i] = a[:, i] = 0.0
        ours = edunn.linalg.ldl_factor_ex(edunn.tensor(a))
        theirs = torch.linalg.ldl_factor_ex(torch.tensor(a))
        assert_close(ours.pivots, theirs.pivots)
        assert_close(ours.info, theirs.info)
        assert_close(ours.LD, theirs.LD, 1e-10)
        kinds.update("2x2" if p < 0 else "1x1" for p in ours.pivots.tolist())
        kinds.add("singular" if int(ours.info) else "regular")
    assert kinds == {"1x1", "2x2", "singular", "regular"}  # every branch was taken


@pytest.mark.lesson02
def test_ldl_solve_solves_and_singular_matrices_raise(device):
    rng = np.random.default_rng(12)
    a = rng.normal(size=(3, 6, 6))
    a = a + np.swapaxes(a, -1, -2)
    b = rng.normal(size=(3, 6, 2))
    A = edunn.tensor(a, device=device)
    x = edunn.linalg.ldl_solve(*edunn.linalg.ldl_factor(A), edunn.tensor(b, device=device))
    np.testing.assert_allclose((A @ x).cpu().numpy(), b, atol=1e-10)
    with pytest.raises(edunn.linalg.LinAlgError, match="D\\[1,1\\] is zero"):
        edunn.linalg.ldl_factor(edunn.zeros(3, 3, device=device))
    with pytest.raises(RuntimeError, match="derivative for aten::linalg_ldl_factor_ex is not implemented"):
        edunn.linalg.ldl_factor(A.clone().requires_grad_()).LD.sum().backward()


@pytest.mark.lesson02
def test_lu_without_pivoting(device):
    """``pivot=False`` (PyTorch: CUDA only) factors A = L U with P = I; gradcheck included."""
    rng = np.random.default_rng(13)
    a = rng.normal(size=(2, 4, 4)) + 4 * np.eye(4)
    A = edunn.tensor(a, device=device)
    P, L, U = edunn.linalg.lu(A, pivot=False)
    np.testing.assert_array_equal(P.cpu().numpy(), np.broadcast_to(np.eye(4), (2, 4, 4)))
    np.testing.assert_allclose((L @ U).cpu().numpy(), a, atol=1e-12)
    LU, piv = edunn.linalg.lu_factor(A, pivot=False)
    assert piv.tolist() == [[1, 2, 3, 4]] * 2
    x = edunn.linalg.lu_solve(LU, piv, edunn.tensor(a[..., :2], device=device))
    np.testing.assert_allclose(x.cpu().numpy(), np.broadcast_to(np.eye(4)[:, :2], (2, 4, 2)), atol=1e-12)
    A.requires_grad_()
    assert edunn.autograd.gradcheck(lambda t: edunn.linalg.lu(t, pivot=False)[1:], [A])


@pytest.mark.lesson02
def test_out_arguments(device):
    A = edunn.tensor(np.eye(3) * 2, device=device)
    out = edunn.empty(0, dtype=edunn.float64, device=device)
    assert edunn.linalg.inv(A, out=out) is out
    np.testing.assert_allclose(out.cpu().numpy(), np.eye(3) / 2)
    q, r = edunn.empty(3, 3, dtype=edunn.float64, device=device), edunn.empty(3, 3, dtype=edunn.float64, device=device)
    res = edunn.linalg.qr(A, out=(q, r))
    assert res.Q is q and res.R is r
    np.testing.assert_allclose((q @ r).cpu().numpy(), np.eye(3) * 2, atol=1e-12)
