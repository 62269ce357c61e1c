"""edunn.fft against torch.fft: values and dtypes of the 18 transforms over dims / n / s / norm,
real and complex inputs of odd and even lengths, the frequency helpers and shifts, out=, the
namespace and signatures, and errors.  Gradients are in test_fft_grad.py."""
import inspect

import numpy as np
import pytest

import edunn
import edunn.fft as efft
from opcheck import needs_torch, to_numpy, torch

pytestmark = [pytest.mark.lesson01, needs_torch]

NORMS = [None, "backward", "ortho", "forward"]
DTYPES = ["float32", "float64", "complex64", "complex128"]
ONE_D = ["fft", "ifft", "rfft", "irfft", "hfft", "ihfft"]
N_D = ["fft2", "ifft2", "fftn", "ifftn", "rfft2", "irfft2", "rfftn", "irfftn", "hfft2", "ihfft2", "hfftn", "ihfftn"]
REAL_ONLY = {"rfft", "ihfft", "rfft2", "ihfft2", "rfftn", "ihfftn"}


def _array(shape, dtype, seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _pair(shape, dtype, device="cpu", seed=0):
    a = _array(shape, dtype, seed)
    return edunn.tensor(a, device=device), torch.tensor(a)


def assert_close(actual, expected, atol=1e-5, rtol=1e-4, what=""):
    """Values (complex ones as complex numbers: opcheck's helper compares real parts only)."""
    a, e = to_numpy(actual), to_numpy(expected.resolve_conj() if hasattr(expected, "resolve_conj") else expected)
    assert a.shape == e.shape, f"{what}: shape {a.shape} != expected {e.shape}"
    np.testing.assert_allclose(a, e, atol=atol, rtol=rtol, err_msg=what)


def _tol(dtype):
    return (2e-4, 2e-4) if dtype in ("float32", "complex64") else (1e-10, 1e-10)


def _same(ours, theirs, dtype, what):
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], f"{what}: {ours.dtype} != {theirs.dtype}"
    atol, rtol = _tol(dtype)
    assert_close(ours, theirs, atol=atol, rtol=rtol, what=what)


def test_namespace_and_signatures():
    assert sorted(efft.__all__) == sorted(n for n in torch.fft.__all__ if n != "Tensor")
    for name in ONE_D + N_D + ["fftfreq", "rfftfreq", "fftshift", "ifftshift"]:
        assert callable(getattr(efft, name)), name
    for name in ONE_D + N_D + ["fftfreq", "rfftfreq", "fftshift", "ifftshift"]:
        # torch's are builtins: their signature is the first line of the docstring
        theirs = getattr(torch.fft, name).__doc__.strip().split("\n")[0].split(" -> ")[0]
        sig = inspect.signature(getattr(efft, name)).replace(return_annotation=inspect.Signature.empty)
        sig = sig.replace(parameters=[p.replace(annotation=p.empty) for p in sig.parameters.values()])
        assert f"{name}{sig}".replace("edunn.", "torch.") == theirs, name
    assert edunn.fft is efft


@pytest.mark.parametrize("name", ONE_D)
@pytest.mark.parametrize("dtype", DTYPES)
def test_one_dim_transforms_match_torch(device, name, dtype):
    if name in REAL_ONLY and dtype.startswith("complex"):
        pytest.skip("real input only")
    for shape, dim in [((7,), -1), ((4, 6), 0), ((3, 5, 4), 1), ((2, 8), -1)]:
        x, t = _pair(shape, dtype, device)
        for n in [None, 1, 3, 6, 9]:
            for norm in NORMS:
                ours = getattr(efft, name)(x, n=n, dim=dim, norm=norm)
                theirs = getattr(torch.fft, name)(t, n=n, dim=dim, norm=norm)
                _same(ours, theirs, dtype, f"{name}{shape} dim={dim} n={n} norm={norm}")


@pytest.mark.parametrize("name", N_D)
@pytest.mark.parametrize("dtype", DTYPES)
def test_n_dim_transforms_match_torch(device, name, dtype):
    if name in REAL_ONLY and dtype.startswith("complex"):
        pytest.skip("real input only")
    two = name.endswith("2")
    cases = [((4, 5), None, None), ((3, 4, 5), None, (0, 2)), ((3, 4, 5), (4, 7), None), ((3, 4, 6), (2, -1), (2, 0)),
             ((2, 3, 5), (3, 4), (-1, 1)), ((5, 3, 4), None, (1,))]
    for shape, s, dim in cases:
        if two and dim is not None and len(dim) != 2:
            continue
        x, t = _pair(shape, dtype, device)
        for norm in NORMS:
            kw = {"s": s, "norm": norm}
            if dim is not None:
                kw["dim"] = dim
            ours = getattr(efft, name)(x, **kw)
            theirs = getattr(torch.fft, name)(t, **kw)
            _same(ours, theirs, dtype, f"{name}{shape} {kw}")


def test_integer_input_is_promoted_and_fftn_of_scalar_and_empty_dims():
    x = edunn.tensor([1, 2, 3, 4])
    t = torch.tensor([1, 2, 3, 4])
    for name in ["fft", "rfft", "ifft", "ihfft", "irfft", "hfft", "fftn"]:
        _same(getattr(efft, name)(x), getattr(torch.fft, name)(t), "float32", name)
    _same(efft.fftn(edunn.tensor(3.0)), torch.fft.fftn(torch.tensor(3.0)), "float32", "0-d")
    x, t = _pair((3, 4), "float64")
    _same(efft.fftn(x, dim=()), torch.fft.fftn(t, dim=()), "float64", "dim=()")
    _same(efft.fftn(x, dim=1), torch.fft.fftn(t, dim=1), "float64", "int dim")
    _same(efft.fftn(x, s=5, dim=0), torch.fft.fftn(t, s=5, dim=0), "float64", "int s")


@pytest.mark.parametrize("dtype", DTYPES)
def test_round_trips(dtype):
    x, _ = _pair((4, 6), dtype)
    for norm in NORMS:
        assert_close(efft.ifft(efft.fft(x, norm=norm), norm=norm), x.to(x.dtype.to_complex()), atol=1e-4)
        assert_close(efft.ifftn(efft.fftn(x, norm=norm), norm=norm), x.to(x.dtype.to_complex()), atol=1e-4)
        if not dtype.startswith("complex"):
            assert_close(efft.irfft(efft.rfft(x, norm=norm), n=6, norm=norm), x, atol=1e-4)
            assert_close(efft.irfftn(efft.rfftn(x, norm=norm), s=(4, 6), norm=norm), x, atol=1e-4)
            assert_close(efft.hfft(efft.ihfft(x, norm=norm), n=6, norm=norm), x, atol=1e-4)


def test_freqs_and_shifts(device):
    for n in [1, 4, 5, 8]:
        for d in [1.0, 0.5, 3]:
            assert_close(efft.fftfreq(n, d, device=device), torch.fft.fftfreq(n, d), atol=1e-7)
            assert_close(efft.rfftfreq(n, d, device=device), torch.fft.rfftfreq(n, d), atol=1e-7)
    assert efft.fftfreq(0).shape == (0,)
    assert efft.fftfreq(5, dtype=edunn.float64).dtype == edunn.float64
    assert efft.fftfreq(5, dtype=edunn.complex64).dtype == edunn.complex64
    f = efft.rfftfreq(6, requires_grad=True)
    assert f.requires_grad and f.is_leaf
    o = edunn.empty(5, dtype=edunn.float64)
    assert efft.fftfreq(5, out=o) is o
    assert_close(o, torch.fft.fftfreq(5, dtype=torch.float64))
    x, t = _pair((4, 5, 3), "complex64", device)
    for dim in [None, 0, (1, 2), [-1]]:
        _same(efft.fftshift(x, dim), torch.fft.fftshift(t, dim), "complex64", f"fftshift {dim}")
        _same(efft.ifftshift(x, dim=dim), torch.fft.ifftshift(t, dim=dim), "complex64", f"ifftshift {dim}")
    r = edunn.arange(7.0)
    assert_close(efft.ifftshift(efft.fftshift(r)), r)


def test_out_argument():
    x, t = _pair((3, 6), "float64")
    o = edunn.empty(0, dtype=edunn.complex128)
    assert efft.rfft(x, out=o) is o
    _same(o, torch.fft.rfft(t), "float64", "rfft out=")
    o = edunn.empty(0, dtype=edunn.float64)
    c, tc = _pair((3, 4), "complex128")
    assert efft.irfftn(c, out=o) is o
    _same(o, torch.fft.irfftn(tc), "float64", "irfftn out=")


def _error(fn, tfn):
    with pytest.raises(Exception) as ours:
        fn()
    with pytest.raises(Exception) as theirs:
        tfn()
    assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)
    assert str(ours.value).replace("edunn", "torch") == str(theirs.value).split("\n")[0], (ours.value, theirs.value)


def test_errors_match_torch():
    x, t = _pair((4, 5), "float32")
    c, tc = _pair((4, 5), "complex64")
    cases = [
        lambda m, a, b: m.fft(a, norm="bad"),
        lambda m, a, b: m.fft(a, n=0),
        lambda m, a, b: m.ifft(a, n=-1),
        lambda m, a, b: m.fft(a, dim=2),
        lambda m, a, b: m.rfft(b),
        lambda m, a, b: m.ihfft(b),
        lambda m, a, b: m.rfftn(b),
        lambda m, a, b: m.ihfftn(b),
        lambda m, a, b: m.irfft(a[:, :1]),
        lambda m, a, b: m.fftn(a, s=(3, 3, 3)),
        lambda m, a, b: m.fftn(a, s=(3, 3), dim=(0,)),
        lambda m, a, b: m.fftn(a, dim=(0, 0)),
        lambda m, a, b: m.fftn(a, dim=(0, -2)),
        lambda m, a, b: m.fftn(a, s=(0, 3)),
        lambda m, a, b: m.irfftn(a, dim=()),
        lambda m, a, b: m.hfftn(a, dim=()),
        lambda m, a, b: m.ihfftn(a, dim=()),
        lambda m, a, b: m.fft(a.half()),
        lambda m, a, b: m.fft(a[0, 0]),
        lambda m, a, b: m.fft2(a[0]),
        lambda m, a, b: m.fftfreq(4, dtype=a.long().dtype),
    ]
    for case in cases:
        _error(lambda: case(efft, x, c), lambda: case(torch.fft, t, tc))
    with pytest.raises(TypeError, match="argument 'dim' must be int, not tuple"):
        efft.fft(x, dim=(0,))
