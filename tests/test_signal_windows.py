"""edunn.signal.windows against torch.signal.windows: values (symmetric and periodic, every
length from 0, float32/float64, the windows' parameters), signatures, flags and errors."""
import inspect

import numpy as np
import pytest

import edunn
import edunn.signal.windows as W
from opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson01, needs_torch]

NAMES = ['bartlett', 'blackman', 'cosine', 'exponential', 'gaussian', 'general_cosine', 'general_hamming',
         'hamming', 'hann', 'kaiser', 'nuttall']
PARAMS = {"general_cosine": [{"a": [0.5, 0.3, 0.2]}, {"a": (1.0,)}], "general_hamming": [{}, {"alpha": 0.6}],
          "kaiser": [{}, {"beta": 0.0}, {"beta": 4.5}], "gaussian": [{}, {"std": 2.5}],
          "exponential": [{}, {"tau": 3.0}]}


def test_namespace_and_signatures():
    import torch.signal.windows as T
    assert sorted(W.__all__) == sorted(T.__all__) == NAMES
    for name in NAMES:
        ours = [(p.name, p.kind) for p in inspect.signature(getattr(W, name)).parameters.values()]
        theirs = [(p.name, p.kind) for p in inspect.signature(getattr(T, name)).parameters.values()]
        assert ours == theirs, name
        for p in inspect.signature(getattr(T, name)).parameters.values():
            if isinstance(p.default, (bool, int, float, type(None))):
                assert inspect.signature(getattr(W, name)).parameters[p.name].default == p.default, (name, p.name)
    assert edunn.signal.windows is W


@pytest.mark.parametrize("name", NAMES)
def test_values_match_torch(device, name):
    for kw in PARAMS.get(name, [{}]):
        for M in [0, 1, 2, 5, 8]:
            for sym in [True, False]:
                for dt, tol in [("float64", 1e-12), ("float32", 2e-6)]:
                    ours = getattr(W, name)(M, sym=sym, dtype=getattr(edunn, dt), device=device, **kw)
                    theirs = getattr(torch.signal.windows, name)(M, sym=sym, dtype=getattr(torch, dt), **kw)
                    assert ours.dtype == getattr(edunn, dt) and ours.device.type == device
                    assert_close(ours, theirs, atol=tol, rtol=tol, what=f"{name}({M}, sym={sym}, {kw}, {dt})")


def test_periodic_exponential_with_a_centre_and_default_dtype():
    for c in [0.0, 2.5, 7]:
        assert_close(W.exponential(6, center=c, sym=False, tau=2.0),
                     torch.signal.windows.exponential(6, center=c, sym=False, tau=2.0), atol=1e-6)
    assert W.hann(4).dtype == edunn.float32
    edunn.set_default_dtype(edunn.float64)
    try:
        assert W.hann(4).dtype == edunn.float64
    finally:
        edunn.set_default_dtype(edunn.float32)


def test_shares_the_torch_window_functions():
    """hann(M, sym=False) is hann_window(M, periodic=True) & co: one formula each."""
    for M in [1, 4, 7]:
        assert_close(W.hann(M, sym=False), edunn.hann_window(M))
        assert_close(W.hamming(M), edunn.hamming_window(M, periodic=False))
        assert_close(W.blackman(M, sym=False), edunn.blackman_window(M), atol=1e-6)
        assert_close(W.bartlett(M), edunn.bartlett_window(M, periodic=False))
        assert_close(W.kaiser(M, beta=5.0, sym=False), edunn.kaiser_window(M, beta=5.0))


def test_requires_grad_flag():
    w = W.hann(5, requires_grad=True)
    assert w.requires_grad and w.is_leaf
    (w * 2).sum().backward()
    assert np.allclose(w.grad.numpy(), 2)


def _same_error(fn):
    with pytest.raises(Exception) as ours:
        fn(W, edunn)
    with pytest.raises(Exception) as theirs:
        fn(torch.signal.windows, torch)
    assert type(ours.value) is type(theirs.value)
    assert str(ours.value).replace("edunn.", "torch.") == str(theirs.value)


@pytest.mark.parametrize("case", [
    lambda m, t: m.hann(-1),
    lambda m, t: m.hann(4, dtype=t.int64),
    lambda m, t: m.cosine(4, dtype=t.float16),
    lambda m, t: m.gaussian(4, std=0.0),
    lambda m, t: m.exponential(4, tau=-1.0),
    lambda m, t: m.exponential(4, center=1.0),
    lambda m, t: m.kaiser(4, beta=-1.0),
    lambda m, t: m.general_cosine(4, a=[]),
    lambda m, t: m.general_cosine(4, a=3),
    lambda m, t: m.bartlett(4, layout=t.sparse_coo),
])
def test_errors_match_torch(case):
    _same_error(case)
