"""edunn.linalg's decompositions against torch.linalg: cholesky, qr, eigh, svd, inv, det, slogdet
(values, batched shapes, gradients, gradcheck in float64, errors and the *_ex info values).

Singular vectors and eigenvectors are defined up to sign, so their tests compare (and
differentiate) sign-free functions of them: squared entries, reconstructions, projectors."""
import warnings

import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch
from linalg_inputs import general, plain


def _spec(name, f, make, **kw):
    """One spec from ``f(lib, *tensors)``, run with lib = edunn and lib = torch."""
    return OpSpec(name, lambda *t: f(edunn, *t), lambda *t: f(torch, *t), None, make_inputs=make, lesson=2, **kw)


def _sym(lib, a):
    return a + a.mT


def _pd(lib, a):
    return a @ a.mT + a.shape[-1] * lib.eye(a.shape[-1], dtype=a.dtype, device=a.device)


def _svd_invariants(lib, a, full):
    U, S, Vh = lib.linalg.svd(a, full_matrices=full)
    k = S.shape[-1]
    return S, U[..., :, :k] ** 2, Vh[..., :k, :] ** 2, (U[..., :, :k] * S.unsqueeze(-2)) @ Vh[..., :k, :]


SPECS = [
    _spec("cholesky", lambda L, a: L.linalg.cholesky(_pd(L, a)), plain((2, 4, 4)), gradgrad=True),
    _spec("cholesky_upper", lambda L, a: L.linalg.cholesky(_pd(L, a), upper=True), plain((3, 3))),
    _spec("cholesky_ex", lambda L, a: L.linalg.cholesky_ex(_pd(L, a)), plain((2, 3, 3))),
    _spec("torch.cholesky", lambda L, a: L.cholesky(_pd(L, a), True), plain((3, 3))),
    _spec("qr_square", lambda L, a: L.linalg.qr(a), general(2, 4, 4), gradgrad=True),
    _spec("qr_tall", lambda L, a: L.linalg.qr(a), general(5, 3)),
    _spec("qr_wide", lambda L, a: L.linalg.qr(a), general(2, 3, 5)),
    _spec("qr_complete_wide", lambda L, a: L.linalg.qr(a, mode="complete"), general(3, 5)),
    _spec("qr_r", lambda L, a: L.linalg.qr(a, mode="r"), general(2, 5, 3), grad=False),
    _spec("torch.qr", lambda L, a: L.qr(a, some=False), general(3, 5)),
    _spec("eigh_values", lambda L, a: L.linalg.eigh(_sym(L, a)).eigenvalues, plain((2, 4, 4)), gradgrad=True),
    _spec("eigh_vectors", lambda L, a: L.linalg.eigh(_sym(L, a))[1] ** 2, plain((2, 4, 4))),
    _spec("eigh_upper", lambda L, a: L.linalg.eigh(_sym(L, a), UPLO="U")[1] ** 2, plain((3, 3))),
    _spec("eigh_reads_one_triangle", lambda L, a: L.linalg.eigh(a, "U")[0], plain((3, 3)), grad=False),
    _spec("eigvalsh", lambda L, a: L.linalg.eigvalsh(_sym(L, a), UPLO="U"), plain((2, 3, 3))),
    _spec("svd_full_tall", lambda L, a: _svd_invariants(L, a, True), plain((2, 5, 3))),
    _spec("svd_reduced_wide", lambda L, a: _svd_invariants(L, a, False), plain((2, 3, 5)), gradgrad=True),
    _spec("svd_square", lambda L, a: _svd_invariants(L, a, False), plain((4, 4))),
    _spec("svdvals", lambda L, a: L.linalg.svdvals(a), plain((2, 3, 4)), gradgrad=True),
    _spec("torch.svd", lambda L, a: (lambda r: (r.S, r.U ** 2, r.V ** 2))(L.svd(a)), plain((2, 5, 3))),
    _spec("torch.svd_some_false", lambda L, a: (lambda r: (r.S, (r.U[..., :, :3] * r.S.unsqueeze(-2)) @ r.V.mT))(
        L.svd(a, some=False)), plain((5, 3))),
    _spec("eigh_values_and_vectors", lambda L, a: (lambda r: (r[0], r[1] ** 2 * r[0].unsqueeze(-2)))(
        L.linalg.eigh(_sym(L, a))), plain((3, 4, 4)), gradgrad=True),
    _spec("svd_U_only", lambda L, a: L.linalg.svd(a, full_matrices=False)[0] ** 2, plain((5, 3)), gradgrad=True),
    _spec("svd_Vh_only", lambda L, a: L.linalg.svd(a, full_matrices=False)[2] ** 2, plain((3, 5))),
    _spec("qr_tall_gradgrad", lambda L, a: L.linalg.qr(a), general(5, 3), gradgrad=True),
    _spec("qr_wide_gradgrad", lambda L, a: L.linalg.qr(a), general(3, 5), gradgrad=True),
    _spec("cholesky_upper_gradgrad", lambda L, a: L.linalg.cholesky(_pd(L, a), upper=True), plain((3, 3)),
          gradgrad=True),
    _spec("inv", lambda L, a: L.linalg.inv(a), general(2, 3, 3), gradgrad=True),
    _spec("inv_ex", lambda L, a: L.linalg.inv_ex(a), general(2, 3, 3)),
    _spec("det", lambda L, a: L.linalg.det(a), general(2, 3, 3)),
    _spec("slogdet", lambda L, a: L.linalg.slogdet(a), general(2, 4, 4), gradgrad=True),
    _spec("slogdet_negative", lambda L, a: L.linalg.slogdet(-a), general(3, 3)),
]

test_parity, test_gradcheck = spec_tests(SPECS, lesson=2)


def _np(t):
    return t.detach().cpu().numpy()


@pytest.mark.lesson02
def test_factors_reconstruct_and_are_orthonormal(device):
    rng = np.random.default_rng(3)
    a = edunn.tensor(rng.normal(size=(2, 5, 3)), device=device)
    U, S, Vh = edunn.linalg.svd(a)
    assert U.shape == (2, 5, 5) and S.shape == (2, 3) and Vh.shape == (2, 3, 3)
    np.testing.assert_allclose(_np((U[..., :3] * S.unsqueeze(-2)) @ Vh), _np(a), atol=1e-12)
    np.testing.assert_allclose(_np(U.mT @ U), np.eye(5) + np.zeros((2, 5, 5)), atol=1e-12)
    Q, R = edunn.linalg.qr(a, mode="complete")
    assert Q.shape == (2, 5, 5) and R.shape == (2, 5, 3)
    np.testing.assert_allclose(_np(Q @ R), _np(a), atol=1e-12)
    s = a.mT @ a
    w, V = edunn.linalg.eigh(s)
    np.testing.assert_allclose(_np((V * w.unsqueeze(-2)) @ V.mT), _np(s), atol=1e-10)
    assert (np.diff(_np(w), axis=-1) >= 0).all()


@needs_torch
@pytest.mark.lesson02
def test_qr_r_mode_and_complete_tall_are_not_differentiable_like_torch():
    a = edunn.randn(4, 3, dtype=edunn.float64, requires_grad=True)
    Q, R = edunn.linalg.qr(a, mode="r")
    assert Q.shape == (0,)
    with pytest.raises(RuntimeError, match="depends on Q, which is not computed when mode='r'"):
        R.sum().backward()
    Q, R = edunn.linalg.qr(a, mode="complete")
    with pytest.raises(RuntimeError, match="not differentiable when mode='complete' and nrows > ncols"):
        (Q.sum() + R.sum()).backward()


def _torch_error(fn):
    try:
        fn()
    except Exception as e:  # noqa: BLE001 - whichever torch raises
        return type(e), str(e)
    raise AssertionError("torch did not raise")


def _same_error(ours, theirs):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # torch's deprecation warnings (torch.cholesky ...)
        kind, message = _torch_error(theirs)
    base = RuntimeError if issubclass(kind, RuntimeError) else kind
    with pytest.raises(base) as info:
        ours()
    assert str(info.value) == message


ERRORS = [
    ("inv_not_square", lambda L: L.linalg.inv(L.zeros(2, 3))),
    ("inv_1d", lambda L: L.linalg.inv(L.zeros(3))),
    ("inv_long", lambda L: L.linalg.inv(L.ones(3, 3, dtype=L.int64))),
    ("inv_half", lambda L: L.linalg.inv(L.ones(3, 3, dtype=L.float16))),
    ("inv_singular", lambda L: L.linalg.inv(L.zeros(3, 3))),
    ("inv_singular_batch", lambda L: L.linalg.inv(L.stack([L.eye(3), L.zeros(3, 3)]))),
    ("inv_ex_check", lambda L: L.linalg.inv_ex(L.zeros(3, 3), check_errors=True)),
    ("det_not_square", lambda L: L.linalg.det(L.zeros(3, 2))),
    ("det_long", lambda L: L.linalg.det(L.ones(3, 3, dtype=L.int64))),
    ("slogdet_not_square", lambda L: L.linalg.slogdet(L.zeros(3, 2))),
    ("cholesky_not_pd", lambda L: L.linalg.cholesky(-L.eye(3))),
    ("cholesky_not_pd_batch", lambda L: L.linalg.cholesky(L.diag(L.tensor([1., -1, 1])).expand(2, 3, 3))),
    ("cholesky_ex_check", lambda L: L.linalg.cholesky_ex(-L.eye(3), check_errors=True)),
    ("torch.cholesky_not_pd", lambda L: L.cholesky(-L.eye(3))),
    ("cholesky_not_square", lambda L: L.linalg.cholesky(L.zeros(2, 3))),
    ("cholesky_int", lambda L: L.linalg.cholesky(L.ones(3, 3, dtype=L.int32))),
    ("qr_1d", lambda L: L.linalg.qr(L.zeros(3))),
    ("qr_mode", lambda L: L.linalg.qr(L.zeros(3, 3), mode="x")),
    ("qr_long", lambda L: L.linalg.qr(L.ones(3, 3, dtype=L.int64))),
    ("eigh_not_square", lambda L: L.linalg.eigh(L.zeros(2, 3))),
    ("eigh_uplo", lambda L: L.linalg.eigh(L.zeros(3, 3), UPLO="X")),
    ("eigh_long", lambda L: L.linalg.eigh(L.zeros(3, 3, dtype=L.int64))),
    ("svd_1d", lambda L: L.linalg.svd(L.zeros(3))),
    ("svd_long", lambda L: L.linalg.svd(L.zeros(3, 3, dtype=L.int64))),
    ("svdvals_long", lambda L: L.linalg.svdvals(L.zeros(3, 3, dtype=L.int64))),
]


@needs_torch
@pytest.mark.lesson02
@pytest.mark.parametrize("call", [c for _, c in ERRORS], ids=[n for n, _ in ERRORS])
def test_errors_match_torch(call):
    _same_error(lambda: call(edunn), lambda: call(torch))


@needs_torch
@pytest.mark.lesson02
def test_ex_info_values_match_torch(device):
    rng = np.random.default_rng(5)
    good = rng.normal(size=(3, 3)) + 3 * np.eye(3)
    sing = np.array([[1.0, 2, 3], [2, 4, 6], [1, 0, 1]])  # second pivot is zero
    batch = np.stack([good, np.zeros((3, 3)), sing])
    ours = edunn.linalg.inv_ex(edunn.tensor(batch, device=device))
    theirs = torch.linalg.inv_ex(torch.tensor(batch))
    assert ours.info.dtype == edunn.int32
    assert_close(ours.info, theirs.info)
    assert_close(ours.inverse[0], theirs.inverse[0], 1e-12)
    pd = good @ good.T
    notpd = np.diag([1.0, 2.0, -1.0])
    ours = edunn.linalg.cholesky_ex(edunn.tensor(np.stack([pd, notpd, -pd]), device=device))
    theirs = torch.linalg.cholesky_ex(torch.tensor(np.stack([pd, notpd, -pd])))
    assert_close(ours.info, theirs.info)
    assert_close(ours.L[0], theirs.L[0], 1e-12)


@pytest.mark.lesson02
def test_slogdet_of_large_and_singular_matrices(device):
    big = edunn.eye(200, dtype=edunn.float64, device=device) * 100
    sign, logabs = edunn.linalg.slogdet(big)
    assert float(sign) == 1.0 and abs(float(logabs) - 200 * np.log(100)) < 1e-9
    sign, logabs = edunn.linalg.slogdet(edunn.zeros(3, 3, device=device))
    assert float(sign) == 0.0 and float(logabs) == -np.inf
