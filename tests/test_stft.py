"""edunn.stft / istft against torch: values over n_fft / hop / win_length / window / center /
pad_mode / normalized / onesided / return_complex (1-D and batched, real and complex), the
round trip, gradients (signal and window) against torch's .grad and finite differences, Tensor
methods, errors and warnings."""
import inspect
import warnings

import numpy as np
import pytest

import edunn
from opcheck import needs_torch, to_numpy, torch

pytestmark = [pytest.mark.lesson01, needs_torch]


def _close(ours, theirs, atol=1e-9):
    a, e = to_numpy(ours), theirs.detach().resolve_conj().numpy()
    assert a.shape == e.shape, (a.shape, e.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    np.testing.assert_allclose(a, e, atol=atol, rtol=1e-6)


def _signal(shape, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    a = rng.standard_normal(shape)
    if dtype.startswith("complex"):
        a = a + 1j * rng.standard_normal(shape)
    return a.astype(dtype)


def _quiet(fn, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return fn(*args, **kw)


def test_signatures_match_torch():
    for name in ["stft", "istft"]:
        ours = inspect.signature(getattr(edunn, name))
        theirs = inspect.signature(getattr(edunn.Tensor, name))
        assert list(ours.parameters)[1:] == list(theirs.parameters)[1:]
    want = [(p.name, p.default) for p in inspect.signature(torch.stft).parameters.values()]
    assert [(p.name, p.default) for p in inspect.signature(edunn.stft).parameters.values()] == want
    want = [(p.name, p.default) for p in inspect.signature(torch.Tensor.istft).parameters.values()][1:]
    assert [(p.name, p.default) for p in inspect.signature(edunn.istft).parameters.values()][1:] == want


CASES = [  # (signal shape, n_fft, kwargs)
    ((32,), 8, {}), ((2, 33), 9, {"hop_length": 3}), ((40,), 16, {"win_length": 11, "hop_length": 5}),
    ((30,), 8, {"center": False}), ((30,), 8, {"pad_mode": "constant"}), ((2, 30), 7, {"pad_mode": "replicate"}),
    ((30,), 8, {"pad_mode": "circular", "normalized": True}), ((30,), 8, {"onesided": False}),
    ((20,), 8, {"center": False, "hop_length": 4, "win_length": 6, "align_to_window": True}),
    ((25,), 6, {"center": False, "align_to_window": False, "win_length": 3}),
]


@pytest.mark.parametrize("window", [None, "hann"])
@pytest.mark.parametrize("dtype", ["float32", "float64", "complex128"])
@pytest.mark.parametrize("case", CASES, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}")
def test_stft_matches_torch(device, case, dtype, window):
    shape, n_fft, kw = case
    a = _signal(shape, dtype)
    wl = kw.get("win_length", n_fft)
    w = None if window is None else torch.hann_window(wl, dtype=torch.float64 if dtype != "float32" else torch.float32)
    if dtype.startswith("complex") and kw.get("onesided"):
        return
    ours = _quiet(edunn.stft, edunn.tensor(a, device=device), n_fft,
                  window=None if w is None else edunn.tensor(w.numpy(), device=device), return_complex=True, **kw)
    theirs = _quiet(torch.stft, torch.tensor(a), n_fft, window=w, return_complex=True, **kw)
    _close(ours, theirs, atol=1e-4 if dtype == "float32" else 1e-9)


def test_return_complex_false_is_view_as_real_and_warns():
    a = _signal((30,))
    with pytest.warns(UserWarning, match="return_complex=False is deprecated"):
        ours = edunn.stft(edunn.tensor(a), 8, window=edunn.ones(8, dtype=edunn.float64), return_complex=False)
    _close(ours, _quiet(torch.stft, torch.tensor(a), 8, window=torch.ones(8, dtype=torch.float64),
                        return_complex=False))
    with pytest.warns(UserWarning, match="A window was not provided"):
        edunn.stft(edunn.tensor(a), 8, return_complex=True)
    assert _quiet(edunn.stft, edunn.tensor(a).to(edunn.complex128), 8).dtype == edunn.complex128


ISTFT = [  # (signal shape, n_fft, stft kwargs, istft-only kwargs)
    ((32,), 8, {}, {}), ((2, 33), 9, {"hop_length": 3}, {"length": 33}), ((40,), 16, {"hop_length": 4}, {}),
    ((30,), 8, {"center": False}, {}), ((30,), 8, {"normalized": True}, {"length": 35}),
    ((30,), 8, {"onesided": False}, {}), ((30,), 8, {"hop_length": 2}, {"length": 20}),
]


@pytest.mark.parametrize("case", ISTFT, ids=lambda c: f"{c[0]}-{c[1]}-{c[2]}-{c[3]}")
@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_istft_matches_torch_and_inverts_stft(device, case, dtype):
    shape, n_fft, kw, extra = case
    if dtype.startswith("complex") and "onesided" not in kw:
        kw = dict(kw, onesided=False)
    a = _signal(shape, dtype)
    w = torch.hann_window(n_fft, dtype=torch.float64) + 0.1  # nonzero ends: center=False needs them
    spec = torch.stft(torch.tensor(a), n_fft, window=w, return_complex=True, **kw)
    ikw = {k: v for k, v in kw.items() if k != "pad_mode"}
    rc = dtype.startswith("complex")
    theirs = _quiet(torch.istft, spec, n_fft, window=w, return_complex=rc, **ikw, **extra)
    ours = _quiet(edunn.istft, edunn.tensor(spec.numpy(), device=device), n_fft,
                  window=edunn.tensor(w.numpy(), device=device), return_complex=rc, **ikw, **extra)
    _close(ours, theirs)
    if "length" not in extra and kw.get("center", True):
        np.testing.assert_allclose(to_numpy(ours), a[..., :ours.shape[-1]], atol=1e-9)


def test_round_trip_float32_and_tensor_methods():
    x = edunn.tensor(_signal((2, 50), "float32"))
    w = edunn.hann_window(16)
    spec = x.stft(16, 4, window=w, return_complex=True)
    assert spec.dtype == edunn.complex64 and spec.shape == (2, 9, 13)
    y = spec.istft(16, 4, window=w, length=50)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-5)


def test_gradients_match_torch():
    a = _signal((2, 30))
    wa = np.hanning(10) + 0.1
    x, t = edunn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    w, tw = edunn.tensor(wa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    spec = edunn.stft(x, 12, 3, 10, window=w, return_complex=True)
    tspec = torch.stft(t, 12, 3, 10, window=tw, return_complex=True)
    g = _signal(tuple(tspec.shape), "complex128", seed=1)
    spec.backward(edunn.tensor(g))
    tspec.backward(torch.tensor(g))
    np.testing.assert_allclose(x.grad.numpy(), t.grad.numpy(), atol=1e-9)
    np.testing.assert_allclose(w.grad.numpy(), tw.grad.numpy(), atol=1e-9)

    s, ts = edunn.tensor(tspec.detach().numpy(), requires_grad=True), tspec.detach().requires_grad_()
    w2, tw2 = edunn.tensor(wa, requires_grad=True), torch.tensor(wa, requires_grad=True)
    y = edunn.istft(s, 12, 3, 10, window=w2, length=28)
    ty = torch.istft(ts, 12, 3, 10, window=tw2, length=28)
    gy = _signal(tuple(ty.shape), "float64", seed=2)
    y.backward(edunn.tensor(gy))
    ty.backward(torch.tensor(gy))
    np.testing.assert_allclose(s.grad.numpy(), ts.grad.resolve_conj().numpy(), atol=1e-9)
    np.testing.assert_allclose(w2.grad.numpy(), tw2.grad.numpy(), atol=1e-9)


def test_gradcheck():
    x = edunn.tensor(_signal((14,)), requires_grad=True)
    w = edunn.tensor(np.hanning(6) + 0.2, requires_grad=True)
    assert edunn.autograd.gradcheck(lambda a, b: edunn.stft(a, 6, 2, window=b, return_complex=True), (x, w),
                                    eps=1e-6, atol=1e-6)
    s = edunn.stft(x.detach(), 6, 2, window=w.detach(), return_complex=True).detach()
    s = s.contiguous().requires_grad_()  # gradcheck perturbs the input's storage in place
    assert edunn.autograd.gradcheck(lambda a, b: edunn.istft(a, 6, 2, window=b), (s, w), eps=1e-6, atol=1e-6)


def _same_error(fn):
    with pytest.raises(Exception) as ours:
        _quiet(fn, edunn)
    with pytest.raises(Exception) as theirs:
        _quiet(fn, torch)
    assert type(ours.value) is type(theirs.value), (ours.value, theirs.value)
    o, t = str(ours.value).replace("edunn.", "torch.").split("\n")[0], str(theirs.value).split(" (Triggered")[0].split("\n")[0]
    assert o == t, (o, t)


X = _signal((20,))


@pytest.mark.parametrize("case", [
    lambda m: m.stft(m.tensor(X), 8, center=True, return_complex=True, align_to_window=True),
    lambda m: m.stft(m.tensor(X), 8),
    lambda m: m.stft(m.tensor(X), 30, return_complex=True, center=False),
    lambda m: m.stft(m.tensor(X), 8, 0, return_complex=True),
    lambda m: m.stft(m.tensor(X), 8, win_length=9, return_complex=True),
    lambda m: m.stft(m.tensor(X), 8, window=m.ones(7, dtype=m.float64), return_complex=True),
    lambda m: m.stft(m.tensor(X).reshape(2, 2, 5), 4, return_complex=True),
    lambda m: m.stft(m.tensor(X).long(), 4, return_complex=True),
    lambda m: m.stft(m.tensor(X).to(m.complex128), 4, onesided=True, return_complex=True),
    lambda m: m.istft(m.tensor(X), 8),
    lambda m: m.istft(m.zeros(5, 0, dtype=m.complex64), 8),
    lambda m: m.istft(m.zeros(4, dtype=m.complex64), 8),
    lambda m: m.istft(m.zeros(4, 3, dtype=m.complex64), 8),
    lambda m: m.istft(m.zeros(8, 3, dtype=m.complex64), 8, onesided=True),
    lambda m: m.istft(m.zeros(5, 3, dtype=m.complex64), 8, hop_length=9),
    lambda m: m.istft(m.zeros(5, 3, dtype=m.complex64), 8, win_length=9),
    lambda m: m.istft(m.zeros(5, 3, dtype=m.complex64), 8, window=m.ones(7)),
    lambda m: m.istft(m.zeros(5, 3, dtype=m.complex64), 8, return_complex=True),
    lambda m: m.istft(m.zeros(5, 3, dtype=m.complex64), 8, window=m.zeros(8)),
])
def test_errors_match_torch(case):
    _same_error(case)


def test_istft_pads_to_a_longer_length_with_a_warning():
    w = torch.hann_window(8, dtype=torch.float64) + 0.1
    spec = torch.stft(torch.tensor(_signal((20,))), 8, window=w, return_complex=True, center=False)
    with pytest.warns(UserWarning, match="shorter than the length parameter"):
        ours = edunn.istft(edunn.tensor(spec.numpy()), 8, window=edunn.tensor(w.numpy()), center=False, length=25)
    theirs = _quiet(torch.istft, spec, 8, window=w, center=False, length=25)
    _close(ours, theirs)


def test_align_to_window_where_torch_reads_past_its_padding():
    """n_fft=8, win_length=5: torch 2.13 fails (its padded signal is too short for the last frame);
    edunn's frames are those of the signal padded by (8 - 5) // 2 in front and the rest behind."""
    a = _signal((20,))
    w = torch.hann_window(5, dtype=torch.float64)
    ours = edunn.stft(edunn.tensor(a), 8, 3, 5, edunn.tensor(w.numpy()), center=False, return_complex=True,
                      align_to_window=True)
    padded = torch.nn.functional.pad(torch.tensor(a), (1, 2))
    _close(ours, torch.stft(padded, 8, 3, 5, w, center=False, return_complex=True))
    assert ours.shape[-1] == 1 + (20 - 5) // 3
