"""Every edunn.linalg function refuses the dtypes torch.linalg refuses on the CPU (integers,
float16, bfloat16), with torch's exception type and message, and computes those torch computes
(float16 norms and matrix_exp, integer matrix powers ...) in the same dtype."""
import warnings

import numpy as np
import pytest

import edunn
from opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson02, needs_torch]


def _eye(L, d):
    return L.eye(3, dtype=d) * 2


CALLS = {
    "vector_norm": lambda L, d: L.linalg.vector_norm(_eye(L, d)),
    "matrix_norm": lambda L, d: L.linalg.matrix_norm(_eye(L, d)),
    "matrix_norm_nuc": lambda L, d: L.linalg.matrix_norm(_eye(L, d), "nuc"),
    "matrix_norm_1": lambda L, d: L.linalg.matrix_norm(_eye(L, d), 1),
    "norm": lambda L, d: L.linalg.norm(_eye(L, d)),
    "inv": lambda L, d: L.linalg.inv(_eye(L, d)),
    "inv_ex": lambda L, d: L.linalg.inv_ex(_eye(L, d)),
    "det": lambda L, d: L.linalg.det(_eye(L, d)),
    "slogdet": lambda L, d: L.linalg.slogdet(_eye(L, d)),
    "solve": lambda L, d: L.linalg.solve(_eye(L, d), _eye(L, d)),
    "solve_ex": lambda L, d: L.linalg.solve_ex(_eye(L, d), _eye(L, d)),
    "cholesky": lambda L, d: L.linalg.cholesky(_eye(L, d)),
    "cholesky_ex": lambda L, d: L.linalg.cholesky_ex(_eye(L, d)),
    "qr": lambda L, d: L.linalg.qr(_eye(L, d)),
    "eigh": lambda L, d: L.linalg.eigh(_eye(L, d)),
    "eigvalsh": lambda L, d: L.linalg.eigvalsh(_eye(L, d)),
    "svd": lambda L, d: L.linalg.svd(_eye(L, d)),
    "svdvals": lambda L, d: L.linalg.svdvals(_eye(L, d)),
    "pinv": lambda L, d: L.linalg.pinv(_eye(L, d)),
    "lstsq": lambda L, d: L.linalg.lstsq(_eye(L, d), _eye(L, d)),
    "matrix_rank": lambda L, d: L.linalg.matrix_rank(_eye(L, d)),
    "matrix_exp": lambda L, d: L.linalg.matrix_exp(_eye(L, d)),
    "solve_triangular": lambda L, d: L.linalg.solve_triangular(_eye(L, d), _eye(L, d), upper=True),
    "cond": lambda L, d: L.linalg.cond(_eye(L, d)),
    "cond_1": lambda L, d: L.linalg.cond(_eye(L, d), 1),
    "lu_factor": lambda L, d: L.linalg.lu_factor(_eye(L, d)),
    "lu": lambda L, d: L.linalg.lu(_eye(L, d)),
    "lu_solve": lambda L, d: L.linalg.lu_solve(_eye(L, d), L.ones(3, dtype=L.int32), _eye(L, d)),
    "householder_product": lambda L, d: L.linalg.householder_product(_eye(L, d), L.ones(3, dtype=d)),
    "tensorinv": lambda L, d: L.linalg.tensorinv(_eye(L, d), 1),
    "vander": lambda L, d: L.linalg.vander(L.ones(3, dtype=d)),
    "multi_dot": lambda L, d: L.linalg.multi_dot([_eye(L, d), _eye(L, d)]),
    "matrix_power_2": lambda L, d: L.linalg.matrix_power(_eye(L, d), 2),
    "matrix_power_-1": lambda L, d: L.linalg.matrix_power(_eye(L, d), -1),
    "cholesky_solve": lambda L, d: L.cholesky_solve(_eye(L, d), _eye(L, d)),
    "cholesky_inverse": lambda L, d: L.cholesky_inverse(_eye(L, d)),
    "triangular_solve": lambda L, d: L.triangular_solve(_eye(L, d), _eye(L, d)),
    "ormqr": lambda L, d: L.ormqr(_eye(L, d), L.ones(3, dtype=d), _eye(L, d)),
    "geqrf": lambda L, d: L.geqrf(_eye(L, d)),
    "ldl_factor": lambda L, d: L.linalg.ldl_factor(_eye(L, d)),
    "ldl_solve": lambda L, d: L.linalg.ldl_solve(_eye(L, d), L.arange(1, 4, dtype=L.int32), _eye(L, d)),
    "torch.svd": lambda L, d: L.svd(_eye(L, d)),
    "torch.cholesky": lambda L, d: L.cholesky(_eye(L, d)),
    "pinverse": lambda L, d: L.pinverse(_eye(L, d)),
}
DTYPES = ["float16", "bfloat16", "int64"]
# torch 2.13's float16/bfloat16 matrix_exp overflows to inf where exp(2 I) = 7.39 I is representable;
# edunn computes in float32 and rounds (see the test at the end)
SKIP = {("matrix_exp", "float16"), ("matrix_exp", "bfloat16")}


def _cases():
    for name in CALLS:
        for dtype in DTYPES:
            if (name, dtype) not in SKIP:
                yield pytest.param(name, dtype, id=f"{name}-{dtype}")


@pytest.mark.parametrize("name, dtype", list(_cases()))
def test_dtypes_like_torch(name, dtype):
    call = CALLS[name]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        try:
            expected = call(torch, getattr(torch, dtype))
        except Exception as e:  # noqa: BLE001 - whatever torch raises, we raise
            kind = RuntimeError if isinstance(e, RuntimeError) else type(e)
            with pytest.raises(kind) as ours:
                call(edunn, getattr(edunn, dtype))
            assert str(ours.value) == str(e)
            return
    got = call(edunn, getattr(edunn, dtype))
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert str(g.dtype).split(".")[-1] == str(e.dtype).split(".")[-1]
        assert_close(g.float() if g.dtype.is_floating_point else g, e.float() if e.is_floating_point() else e,
                     1e-2, 1e-2)


def test_float16_matrix_exp_is_close_to_float64():
    a = np.array([[0.5, -1.0], [0.25, 0.1]])
    half = edunn.linalg.matrix_exp(edunn.tensor(a, dtype=edunn.float16)).float().numpy()
    full = torch.linalg.matrix_exp(torch.tensor(a)).numpy()
    np.testing.assert_allclose(half, full, atol=5e-3)


EMPTY = {
    "inv": lambda L: L.linalg.inv(L.zeros(0, 3, 3)),
    "det": lambda L: L.linalg.det(L.zeros(0, 0)),
    "slogdet": lambda L: L.linalg.slogdet(L.zeros(2, 0, 0)),
    "svd": lambda L: L.linalg.svd(L.zeros(0, 3)),
    "svdvals": lambda L: L.linalg.svdvals(L.zeros(3, 0)),
    "qr": lambda L: L.linalg.qr(L.zeros(0, 3)),
    "eigh": lambda L: L.linalg.eigh(L.zeros(0, 0)),
    "cholesky": lambda L: L.linalg.cholesky(L.zeros(0, 0)),
    "solve": lambda L: L.linalg.solve(L.zeros(0, 0), L.zeros(0, 2)),
    "lu_factor": lambda L: L.linalg.lu_factor(L.zeros(0, 0)),
    "lu": lambda L: L.linalg.lu(L.zeros(0, 3, 3)),
    "pinv": lambda L: L.linalg.pinv(L.zeros(0, 3)),
    "matrix_rank": lambda L: L.linalg.matrix_rank(L.zeros(0, 3)),
    "matrix_exp": lambda L: L.linalg.matrix_exp(L.zeros(0, 2, 2)),
    "matrix_norm_nuc": lambda L: L.linalg.matrix_norm(L.zeros(0, 3), "nuc"),
    "matrix_norm_2": lambda L: L.linalg.matrix_norm(L.zeros(2, 0, 3), 2),
    "cond": lambda L: L.linalg.cond(L.zeros(0, 0)),
    "cond_1": lambda L: L.linalg.cond(L.zeros(2, 0, 0), 1),
    "lstsq": lambda L: L.linalg.lstsq(L.zeros(0, 3), L.zeros(0, 2)),
}


@pytest.mark.parametrize("name", list(EMPTY))
def test_empty_matrices_like_torch(name):
    expected = EMPTY[name](torch)
    got = EMPTY[name](edunn)
    expected = expected if isinstance(expected, tuple) else (expected,)
    got = got if isinstance(got, tuple) else (got,)
    assert len(got) == len(expected)
    for g, e in zip(got, expected):
        assert_close(g, e)
