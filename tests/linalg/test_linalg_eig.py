"""linalg.eig / linalg.eigvals against torch: values and dtypes (real and complex, batched,
empty), the eigen-equation and unit-norm eigenvectors, gradients of phase-invariant losses against
torch's .grad and finite differences, the phase error, errors and out=."""
import numpy as np
import pytest

import edunn
from opcheck import needs_torch, to_numpy, torch

pytestmark = [pytest.mark.lesson01, needs_torch]


def _matrix(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _fix_phase(v):
    """Each column times the phase that makes its largest entry real and positive (eigenvectors
    are defined up to a phase; different LAPACK builds choose different signs)."""
    if not v.size:
        return v
    k = np.abs(v).argmax(axis=-2)[..., None, :]
    top = np.take_along_axis(v, k, axis=-2)
    return v * (np.abs(top) / top)


def _close(ours, theirs, atol):
    np.testing.assert_allclose(to_numpy(ours), theirs.detach().resolve_conj().numpy(), atol=atol, rtol=atol)


@pytest.mark.parametrize("dtype", ["float32", "float64", "complex64", "complex128"])
@pytest.mark.parametrize("shape", [(4, 4), (2, 3, 3), (1, 1), (0, 0), (2, 0, 0)])
def test_values_match_torch(shape, dtype):
    a = _matrix(shape, dtype)
    L, V = edunn.linalg.eig(edunn.tensor(a))
    tL, tV = torch.linalg.eig(torch.tensor(a))
    assert type(edunn.linalg.eig(edunn.tensor(a))).__name__ == "linalg_eig"
    atol = 1e-4 if dtype in ("float32", "complex64") else 1e-10
    assert str(L.dtype).split(".")[-1] == str(tL.dtype).split(".")[-1] and L.shape == tuple(tL.shape)
    assert str(V.dtype).split(".")[-1] == str(tV.dtype).split(".")[-1] and V.shape == tuple(tV.shape)
    _close(L, tL, atol)
    np.testing.assert_allclose(_fix_phase(to_numpy(V)), _fix_phase(tV.numpy()), atol=atol, rtol=atol)
    _close(edunn.linalg.eigvals(edunn.tensor(a)), torch.linalg.eigvals(torch.tensor(a)), atol)
    v, lam = to_numpy(V), to_numpy(L)
    np.testing.assert_allclose(a @ v, v * lam[..., None, :], atol=10 * atol)
    if v.size:
        np.testing.assert_allclose(np.linalg.norm(v, axis=-2), 1, atol=atol)


def test_real_matrix_with_complex_eigenvalues():
    rot = [[0.0, -1.0], [1.0, 0.0]]
    L = edunn.linalg.eigvals(edunn.tensor(rot))
    assert L.dtype == edunn.complex64
    np.testing.assert_allclose(sorted(to_numpy(L), key=lambda z: z.imag), [-1j, 1j], atol=1e-6)


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_gradients_match_torch(dtype):
    a = _matrix((2, 4, 4), dtype, seed=1)
    rng = np.random.default_rng(2)
    gL = rng.standard_normal((2, 4)) + 1j * rng.standard_normal((2, 4))
    w = rng.standard_normal((2, 4, 4))
    x, t = edunn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    L, V = edunn.linalg.eig(x)
    tL, tV = torch.linalg.eig(t)
    L.backward(edunn.tensor(gL), retain_graph=True)
    tL.backward(torch.tensor(gL), retain_graph=True)
    _close(x.grad, t.grad, 1e-9)
    x.grad = t.grad = None
    # |V|^2 does not depend on the eigenvectors' phases
    ((V.real ** 2 + V.imag ** 2) * edunn.tensor(w)).sum().backward()
    ((tV.abs() ** 2) * torch.tensor(w)).sum().backward()
    _close(x.grad, t.grad, 1e-9)
    x.grad = t.grad = None
    edunn.linalg.eigvals(x).backward(edunn.tensor(gL))
    torch.linalg.eigvals(t).backward(torch.tensor(gL))
    _close(x.grad, t.grad, 1e-9)
    assert x.grad.dtype == x.dtype


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_gradcheck(dtype):
    x = edunn.tensor(_matrix((3, 3), dtype, seed=3), requires_grad=True)
    assert edunn.autograd.gradcheck(edunn.linalg.eigvals, (x,))
    assert edunn.autograd.gradcheck(lambda m: (lambda LV: (LV[0], LV[1].abs()))(edunn.linalg.eig(m)), (x,))


def test_a_loss_that_depends_on_the_phase_is_refused_as_in_torch():
    a = _matrix((3, 3), "complex128", seed=4)
    x, t = edunn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    with pytest.raises(RuntimeError) as theirs:
        torch.linalg.eig(t)[1].real.sum().backward()
    with pytest.raises(RuntimeError) as ours:
        edunn.linalg.eig(x)[1].real.sum().backward()
    assert str(ours.value) == str(theirs.value)


@pytest.mark.parametrize("case", [
    lambda m, t: m.linalg.eig(t(np.ones(3))),
    lambda m, t: m.linalg.eig(t(np.ones((2, 3)))),
    lambda m, t: m.linalg.eigvals(t(np.ones((2, 3)))),
    lambda m, t: m.linalg.eig(t(np.ones((2, 2), dtype=np.int64))),
    lambda m, t: m.linalg.eigvals(t(np.ones((2, 2), dtype=np.int64))),
    lambda m, t: m.linalg.eig(t(np.ones((2, 2), dtype=np.float16))),
    lambda m, t: m.linalg.eig(t(np.array([[np.nan, 1.0], [0.0, 1.0]]))),
])
def test_errors_match_torch(case):
    import warnings
    with pytest.raises(Exception) as ours:
        case(edunn, edunn.tensor)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        with pytest.raises(Exception) as theirs:
            case(torch, torch.tensor)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value) == str(theirs.value)


def test_out():
    a = _matrix((3, 3), "float64")
    L, V = edunn.empty(0, dtype=edunn.complex128), edunn.empty(0, dtype=edunn.complex128)
    r = edunn.linalg.eig(edunn.tensor(a), out=(L, V))
    assert r[0] is L and r[1] is V
    _close(L, torch.linalg.eigvals(torch.tensor(a)), 1e-10)
    o = edunn.empty(0, dtype=edunn.complex128)
    assert edunn.linalg.eigvals(edunn.tensor(a), out=o) is o
    _close(o, torch.linalg.eigvals(torch.tensor(a)), 1e-10)
