"""Gradients of edunn.fft: the input gradient for the same output gradient (real or complex)
compared with torch's ``.grad`` (so PyTorch's convention for complex gradients, the doubled bins
of the half spectra and the real part for real inputs are all checked), finite differences with
``edunn.autograd.gradcheck`` (complex inputs and outputs as pairs of reals) and double backward."""
import numpy as np
import pytest

import edunn
import edunn.fft as efft
from opcheck import needs_torch, to_numpy, torch

pytestmark = [pytest.mark.lesson02, needs_torch]


def _array(shape, dtype, rng):
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


# (name, input shape, input dtype, kwargs)
CASES = [
    ("fft", (6,), "complex128", {}), ("fft", (5,), "float64", {"norm": "ortho"}),
    ("fft", (3, 5), "float64", {"n": 8, "dim": 0}), ("fft", (4, 6), "complex128", {"n": 3, "norm": "forward"}),
    ("ifft", (7,), "complex128", {"norm": "ortho"}), ("ifft", (2, 6), "float64", {"n": 4}),
    ("rfft", (8,), "float64", {}), ("rfft", (7,), "float64", {"norm": "forward"}),
    ("rfft", (3, 5), "float64", {"n": 9, "dim": 0}), ("rfft", (2, 7), "float64", {"n": 4, "norm": "ortho"}),
    ("irfft", (5,), "complex128", {}), ("irfft", (5,), "complex128", {"n": 9, "norm": "ortho"}),
    ("irfft", (4, 3), "complex128", {"n": 5, "dim": 0, "norm": "forward"}), ("irfft", (6,), "float64", {"n": 7}),
    ("hfft", (5,), "complex128", {}), ("hfft", (4,), "complex128", {"n": 7, "norm": "ortho"}),
    ("ihfft", (6,), "float64", {}), ("ihfft", (7,), "float64", {"n": 5, "norm": "forward"}),
    ("fft2", (3, 4), "complex128", {"s": (5, 3)}), ("ifft2", (2, 3, 4), "float64", {"norm": "ortho"}),
    ("fftn", (3, 4, 2), "complex128", {"dim": (0, 2)}), ("ifftn", (3, 5), "complex128", {"s": (4, 4)}),
    ("rfft2", (4, 5), "float64", {}), ("rfftn", (3, 4, 6), "float64", {"dim": (0, 2), "norm": "ortho"}),
    ("rfftn", (4, 5), "float64", {"s": (3, 8)}),
    ("irfft2", (4, 3), "complex128", {}), ("irfftn", (3, 4, 3), "complex128", {"s": (4, 5), "norm": "forward"}),
    ("hfft2", (3, 4), "complex128", {}), ("hfftn", (2, 3, 4), "complex128", {"s": (3, 5), "norm": "ortho"}),
    ("ihfft2", (4, 5), "float64", {}), ("ihfftn", (3, 4, 5), "float64", {"s": (2, 3, 6), "norm": "forward"}),
]


def _id(case):
    return f"{case[0]}-{case[2]}-{case[1]}-{case[3]}"


@pytest.mark.parametrize("case", CASES, ids=_id)
def test_input_gradient_matches_torch(device, case):
    name, shape, dtype, kw = case
    rng = np.random.default_rng(0)
    a = _array(shape, dtype, rng)
    x = edunn.tensor(a, device=device, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    ours, theirs = getattr(efft, name)(x, **kw), getattr(torch.fft, name)(t, **kw)
    g = _array(tuple(theirs.shape), "complex128" if theirs.is_complex() else "float64", rng)
    ours.backward(edunn.tensor(g, device=device))
    theirs.backward(torch.tensor(g))
    assert x.grad.dtype == x.dtype
    np.testing.assert_allclose(to_numpy(x.grad), t.grad.resolve_conj().numpy(), atol=1e-10, rtol=1e-10)


@pytest.mark.parametrize("case", [CASES[i] for i in (0, 1, 2, 7, 11, 13, 14, 17, 18, 22, 25, 27, 29)], ids=_id)
def test_gradcheck(case):
    name, shape, dtype, kw = case
    a = _array(shape, dtype, np.random.default_rng(1))
    x = edunn.tensor(a, requires_grad=True)
    assert edunn.autograd.gradcheck(lambda v: getattr(efft, name)(v, **kw), (x,), eps=1e-6, atol=1e-6)


@pytest.mark.parametrize("name", ["fft", "rfft", "irfft", "hfft"])
def test_gradgradcheck(name):
    dtype = "float64" if name == "rfft" else "complex128"
    x = edunn.tensor(_array((5,), dtype, np.random.default_rng(2)), requires_grad=True)
    assert edunn.autograd.gradgradcheck(lambda v: getattr(efft, name)(v, n=6, norm="ortho"), (x,), eps=1e-6,
                                        atol=1e-5)


def test_real_loss_through_a_spectrum():
    """A typical use: the power of a low band of a real signal, as a real loss."""
    a = np.random.default_rng(3).standard_normal((2, 16))
    x = edunn.tensor(a, requires_grad=True)
    t = torch.tensor(a, requires_grad=True)
    spec, tspec = efft.rfft(x, norm="ortho"), torch.fft.rfft(t, norm="ortho")
    (spec.real ** 2 + spec.imag ** 2)[:, 1:4].sum().backward()
    (tspec.abs() ** 2)[:, 1:4].sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-10)
