"""Window functions: values and dtypes against PyTorch for every length, periodic/symmetric,
alpha/beta, dtype, device and requires_grad; errors."""
import math

import numpy as np
import pytest

import edunn
from opcheck import assert_close, needs_torch, torch
from _torch_errors import same_error

pytestmark = pytest.mark.lesson01

NAMES = ["hann_window", "hamming_window", "blackman_window", "bartlett_window", "kaiser_window"]


@needs_torch
@pytest.mark.parametrize("name", NAMES)
@pytest.mark.parametrize("length", [0, 1, 2, 3, 8, 51])
@pytest.mark.parametrize("periodic", [True, False])
def test_windows_match_pytorch(name, length, periodic, device):
    ours = getattr(edunn, name)(length, periodic, device=device)
    theirs = getattr(torch, name)(length, periodic)
    assert ours.dtype == edunn.float32 and ours.device.type == device and not ours.requires_grad
    assert_close(ours, theirs, atol=1e-6, what=f"{name}({length}, {periodic})")


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_windows_default_to_periodic_and_take_dtype_and_requires_grad(name):
    ours = getattr(edunn, name)(7, dtype=edunn.float64, requires_grad=True)
    theirs = getattr(torch, name)(7, dtype=torch.float64, requires_grad=True)
    assert ours.dtype == edunn.float64 and ours.requires_grad and ours.is_leaf
    assert_close(ours, theirs, atol=1e-12)
    half = getattr(edunn, name)(6, dtype=edunn.float16, layout=edunn.strided)
    assert half.dtype == edunn.float16
    assert_close(half, getattr(torch, name)(6, dtype=torch.float16), atol=2e-3)


@needs_torch
@pytest.mark.parametrize("args", [(5, True, 0.5, 0.3), (6, False, 0.54, 0.46), (4, False, 1.0), (9, True)])
def test_hamming_alpha_beta(args):
    assert_close(edunn.hamming_window(*args), torch.hamming_window(*args), atol=1e-6)
    if len(args) == 4:
        kw = dict(periodic=args[1], alpha=args[2], beta=args[3])
        assert_close(edunn.hamming_window(args[0], **kw), torch.hamming_window(*args), atol=1e-6)


@needs_torch
@pytest.mark.parametrize("beta", [0.0, 3.0, 12.0, 20.5])
@pytest.mark.parametrize("periodic", [True, False])
def test_kaiser_beta(beta, periodic):
    assert_close(edunn.kaiser_window(10, periodic, beta), torch.kaiser_window(10, periodic, beta), atol=1e-6)
    assert_close(edunn.kaiser_window(10, periodic, beta, dtype=edunn.float64),
                 torch.kaiser_window(10, periodic, beta, dtype=torch.float64), atol=1e-12)


def test_hann_is_sine_squared_and_periodic_is_the_longer_symmetric_window():
    n = np.arange(9)
    np.testing.assert_allclose(edunn.hann_window(9, False, dtype=edunn.float64).numpy(), np.sin(math.pi * n / 8) ** 2, atol=1e-12)
    np.testing.assert_allclose(edunn.bartlett_window(8, dtype=edunn.float64).numpy(),
                               edunn.bartlett_window(9, periodic=False, dtype=edunn.float64).numpy()[:-1])


ERRORS = [
    ("negative_length", lambda m: m.hann_window(-1), True),
    ("negative_length_kaiser", lambda m: m.kaiser_window(-3, False), True),
    ("float_length", lambda m: m.hann_window(3.5), True),
    ("int_dtype", lambda m: m.hann_window(4, dtype=m.int64), False),
    ("int_dtype_blackman", lambda m: m.blackman_window(4, dtype=m.int32), False),
    ("sparse_layout", lambda m: m.bartlett_window(3, layout=m.sparse_coo), False),
]


@needs_torch
@pytest.mark.parametrize("name,fn,exact", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_pytorch(name, fn, exact):
    same_error(lambda: fn(edunn), lambda: fn(torch), exact=exact)
    if not exact:  # PyTorch's message ends in a C++ TensorOptions dump: compare the sentence
        with pytest.raises(Exception) as theirs:
            fn(torch)
        with pytest.raises(Exception) as ours:
            fn(edunn)
        assert str(ours.value).split(" got:")[0] == str(theirs.value).split(" got:")[0]
