"""Complex follow-ups, each compared with torch 2.13: ``abs_`` refuses complex tensors;
``logsumexp`` and ``logaddexp`` compute on complex tensors (values, special values, gradients
against torch and finite differences, second derivatives); ``logaddexp2``, ``nansum`` and
``nanmean`` refuse them on the CPU with torch's errors (``nansum`` sums them on CUDA)."""
import numpy as np
import pytest

import edunn
from edunn.autograd import gradcheck, gradgradcheck
from opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson02, needs_torch]

RNG = np.random.default_rng(3)
NAN, INF = float("nan"), float("inf")


def _c(shape, rng=RNG):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _same(e, t, rtol=1e-10, atol=1e-12):
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().numpy(force=True), t.detach().numpy(), rtol=rtol, atol=atol,
                               equal_nan=True)


def _raises_like(ours, theirs):
    with pytest.raises(Exception) as t_err:
        theirs()
    with pytest.raises(type(t_err.value)) as e_err:
        ours()
    assert str(e_err.value) == str(t_err.value)


# ------------------------------------------------------------------------------- abs_
@pytest.mark.parametrize("call", ["abs_", "absolute_", "torch.abs_"])
def test_inplace_abs_of_complex_raises_as_torch(call):
    def run(lib):
        z = lib.tensor([1 + 2j, -3j])
        return (lambda: lib.abs_(z)) if call == "torch.abs_" else (lambda: getattr(z, call)())
    _raises_like(run(edunn), run(torch))


def test_inplace_abs_of_real_and_abs_out_of_complex_still_work():
    x = edunn.tensor([-1.5, 2.0])
    assert x.absolute_() is x and x.tolist() == [1.5, 2.0]
    z = edunn.tensor([3 + 4j])
    assert edunn.abs(z).tolist() == [5.0]


# ------------------------------------------------------------------------------- logsumexp
@pytest.mark.parametrize("dim,keepdim", [(None, False), (0, False), (1, True), ((0, 2), False), (-1, False)])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_logsumexp_complex_values(device, dim, keepdim, dtype):
    a = (_c((3, 4, 2)) * 4).astype(dtype)
    tdim = dim if dim is not None else (0, 1, 2)
    e = edunn.logsumexp(edunn.tensor(a, device=device), dim=tdim, keepdim=keepdim)
    t = torch.logsumexp(torch.tensor(a), dim=tdim, keepdim=keepdim)
    _same(e, t, rtol=1e-5 if dtype == "complex64" else 1e-10, atol=1e-5 if dtype == "complex64" else 1e-12)


def test_logsumexp_complex_large_and_special_values(device):
    rows = [[1000 + 1j, 999 - 2j, 3j], [complex(INF, 0), 1 + 1j, 0j], [complex(-INF, 0), complex(-INF, 0), 0j],
            [complex(NAN, 1), 1, 2], [-1000 + 0.5j, -1001 + 0j, -1002 - 1j]]
    e = edunn.logsumexp(edunn.tensor(rows, device=device), 1)
    t = torch.logsumexp(torch.tensor(rows), 1)
    _same(e, t, rtol=1e-6, atol=1e-6)


def test_logsumexp_complex_gradient_matches_torch(device):
    a, w = _c((3, 4)), _c((3,))
    e = edunn.tensor(a, device=device, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    (edunn.logsumexp(e, 1) * edunn.tensor(w, device=device)).real.sum().backward()
    (torch.logsumexp(t, 1) * torch.tensor(w)).real.sum().backward()
    _same(e.grad, t.grad)


def test_logsumexp_complex_gradcheck_and_gradgradcheck():
    x = edunn.tensor(_c((2, 3)), requires_grad=True)
    assert gradcheck(lambda z: edunn.logsumexp(z, 1), (x,))
    assert gradgradcheck(lambda z: edunn.logsumexp(z, (0, 1), keepdim=True), (x,))


def test_logsumexp_real_unchanged():
    a = RNG.standard_normal((3, 5))
    _same(edunn.logsumexp(edunn.tensor(a), 1), torch.logsumexp(torch.tensor(a), 1))


# ------------------------------------------------------------------------------- logaddexp
_A = [complex(1, NAN), 0j, complex(NAN, 0), complex(INF, 1), complex(-INF, 1), complex(INF, 2),
      complex(-INF, 2), complex(-INF, 3), 5 + 1j, complex(INF, 0), -3 + 0.5j, 1 + 2j, 700 + 3j, 1e-20 + 1e-20j]
_B = [0j, complex(1, NAN), 0j, complex(INF, 3), complex(-INF, 5), 0j, 0j, 1 + 1j, complex(INF, 0),
      complex(INF, 0), 2 - 7j, 1 + 2j, 690 - 1j, -50 + 0j]


@pytest.mark.parametrize("swap", [False, True])
def test_logaddexp_complex_values_and_special_values(device, swap):
    # complex128: torch's complex64 kernel gives nan+nanj for the last pair (1e-20j and -50)
    a, b = (_B, _A) if swap else (_A, _B)
    e = edunn.logaddexp(edunn.tensor(a, device=device, dtype=edunn.complex128),
                        edunn.tensor(b, device=device, dtype=edunn.complex128))
    t = torch.logaddexp(torch.tensor(a, dtype=torch.complex128), torch.tensor(b, dtype=torch.complex128))
    _same(e, t, rtol=1e-6, atol=1e-7)


def test_logaddexp_complex_random_and_mixed_operands(device):
    a, b, r = _c((4, 3)) * 3, _c((3,)) * 3, RNG.standard_normal((4, 1))
    E = lambda v: edunn.tensor(v, device=device)  # noqa: E731
    T = torch.tensor
    _same(edunn.logaddexp(E(a), E(b)), torch.logaddexp(T(a), T(b)))
    _same(edunn.logaddexp(E(a), E(r)), torch.logaddexp(T(a), T(r)))          # complex with real
    _same(edunn.logaddexp(E(r), E(a.astype(np.complex64))), torch.logaddexp(T(r), T(a.astype(np.complex64))),
          rtol=1e-5, atol=1e-6)
    _same(edunn.logaddexp(E(a), 2.0), torch.logaddexp(T(a), torch.tensor(2.0, dtype=torch.float64)))


def test_logaddexp_complex_gradients_match_torch(device):
    """A real operand's gradient is the real part of the complex one (dL/dr).  torch 2.13's
    engine refuses the complex gradient its logaddexp formula gives a real input, so torch's
    side casts ``r`` to complex first (whose backward takes the real part)."""
    a, b, r, w = _c((4, 3)), _c((3,)), RNG.standard_normal((4, 1)), _c((4, 3))
    ours = [edunn.tensor(v, device=device, requires_grad=True) for v in (a, b, r)]
    theirs = [torch.tensor(v, requires_grad=True) for v in (a, b, r)]
    x, y, z = ours
    ((edunn.logaddexp(x, y) + edunn.logaddexp(x, z)) * edunn.tensor(w, device=device)).real.sum().backward()
    x, y, z = theirs
    ((torch.logaddexp(x, y) + torch.logaddexp(x, z.to(torch.complex128))) * torch.tensor(w)).real.sum().backward()
    for e, t in zip(ours, theirs):
        _same(e.grad, t.grad)


def test_logaddexp_complex_gradcheck_and_gradgradcheck():
    x = edunn.tensor(_c((2, 3)), requires_grad=True)
    y = edunn.tensor(_c((3,)), requires_grad=True)
    assert gradcheck(edunn.logaddexp, (x, y))
    assert gradgradcheck(edunn.logaddexp, (x, y))


def test_logaddexp_real_unchanged():
    a, b = RNG.standard_normal((3, 4)), RNG.standard_normal(4)
    _same(edunn.logaddexp(edunn.tensor(a), edunn.tensor(b)), torch.logaddexp(torch.tensor(a), torch.tensor(b)))
    _same(edunn.logaddexp2(edunn.tensor(a), edunn.tensor(b)), torch.logaddexp2(torch.tensor(a), torch.tensor(b)))


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_logaddexp2_complex_raises_as_torch(dtype):
    a = np.array([1 + 1j, 2]).astype(dtype)
    _raises_like(lambda: edunn.logaddexp2(edunn.tensor(a), edunn.tensor(a)),
                 lambda: torch.logaddexp2(torch.tensor(a), torch.tensor(a)))
    _raises_like(lambda: edunn.tensor(a).logaddexp2(edunn.tensor([1.0])),
                 lambda: torch.tensor(a).logaddexp2(torch.tensor([1.0])))


# ------------------------------------------------------------------------------- nansum / nanmean
@pytest.mark.parametrize("name", ["nansum", "nanmean"])
def test_nansum_nanmean_complex_on_cpu_raise_as_torch(name):
    a = np.array([1 + 1j, complex(NAN, 1)])
    _raises_like(lambda: getattr(edunn, name)(edunn.tensor(a)), lambda: getattr(torch, name)(torch.tensor(a)))
    _raises_like(lambda: getattr(edunn.tensor(a), name)(0), lambda: getattr(torch.tensor(a), name)(0))


@pytest.mark.gpu
def test_nansum_nanmean_complex_on_cuda():
    """torch sums complex tensors with NaNs on CUDA only: compared with the sum of the NaN-free
    elements (a number with a NaN part counts as NaN), and the gradient 1 where not NaN."""
    if not edunn.cuda.is_available():
        pytest.skip("no CUDA device")
    a = _c((3, 4))
    a[0, 1] = complex(NAN, 1)
    a[2, 3] = complex(2, NAN)
    clean = np.where(np.isnan(a), 0, a)
    x = edunn.tensor(a, device="cuda", requires_grad=True)
    s = edunn.nansum(x, 1)
    np.testing.assert_allclose(s.detach().numpy(force=True), torch.tensor(clean).sum(1).numpy(), rtol=1e-12)
    s.real.sum().backward()
    np.testing.assert_array_equal(x.grad.numpy(force=True), np.where(np.isnan(a), 0, 1).astype(a.dtype))
    m = edunn.nanmean(edunn.tensor(a, device="cuda"), 1)
    np.testing.assert_allclose(m.numpy(force=True), clean.sum(1) / (~np.isnan(a)).sum(1), rtol=1e-12)


def test_nansum_real_unchanged(device):
    a = RNG.standard_normal((3, 4))
    a[1, 2] = NAN
    _same(edunn.nansum(edunn.tensor(a, device=device), 1), torch.nansum(torch.tensor(a), 1))
    _same(edunn.nanmean(edunn.tensor(a, device=device)), torch.nanmean(torch.tensor(a)))
