"""``torch.gradient`` compared with PyTorch (and so with ``numpy.gradient``): uniform spacing,
per-dimension spacing, coordinates, ``dim``, both edge orders, dtypes, autograd, errors."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch

A = np.random.default_rng(2).standard_normal((5, 4, 3))
X0 = np.array([0.0, 0.5, 1.7, 2.0, 3.5])
X2 = np.array([-1.0, 0.0, 0.25])


def _both(spacing, device="cpu"):
    """``spacing`` for edunn (on ``device``) and for torch (coordinates as tensors of each library)."""
    if isinstance(spacing, list) and spacing and isinstance(spacing[0], np.ndarray):
        return [edunn.tensor(s, device=device) for s in spacing], [torch.tensor(s) for s in spacing]
    return spacing, spacing


CASES = [({}, 1), ({}, 2), ({"spacing": 2.5}, 1), ({"spacing": [1.0, 2.0, 0.5]}, 2),
         ({"dim": 1}, 1), ({"dim": -1, "spacing": 3.0}, 2), ({"dim": [0, 2], "spacing": [X0, X2]}, 1),
         ({"dim": [2, 0], "spacing": [X2, X0]}, 2), ({"dim": (1,), "spacing": [0.5]}, 1)]


@pytest.mark.parametrize("kwargs,edge_order", CASES)
def test_gradient_matches_torch(kwargs, edge_order, device):
    kw = dict(kwargs)
    ours_sp, theirs_sp = _both(kw.pop("spacing", 1), device)
    r = edunn.gradient(edunn.tensor(A, device=device), spacing=ours_sp, edge_order=edge_order, **kw)
    tr = torch.gradient(torch.tensor(A), spacing=theirs_sp, edge_order=edge_order, **kw)
    assert isinstance(r, tuple) and len(r) == len(tr)
    for a, b in zip(r, tr):
        assert a.dtype == edunn.float64
        assert_close(a, b, atol=1e-10, rtol=1e-10)


def test_gradient_dtypes():
    ints = [1, 4, 9, 16, 25]
    r, tr = edunn.gradient(edunn.tensor(ints)), torch.gradient(torch.tensor(ints))
    assert r[0].dtype == edunn.float32 and tr[0].dtype == torch.float32
    assert_close(r[0], tr[0])
    f32 = edunn.gradient(edunn.tensor(A, dtype=edunn.float32), spacing=2.0)
    assert f32[0].dtype == edunn.float32
    assert_close(f32[0], torch.gradient(torch.tensor(A, dtype=torch.float32), spacing=2.0)[0])


def test_gradient_is_differentiable():
    x = edunn.tensor(A[:, :, 0], requires_grad=True)
    c = edunn.tensor(X0, requires_grad=True)
    assert edunn.autograd.gradcheck(lambda t: edunn.gradient(t, edge_order=2), (x,))
    assert edunn.autograd.gradcheck(lambda t, s: edunn.gradient(t, spacing=[s], dim=0, edge_order=2), (x, c))


def test_gradient_errors():
    x = edunn.tensor(A)
    with pytest.raises(RuntimeError, match="only supports edge_order=1 and edge_order=2"):
        edunn.gradient(x, edge_order=3)
    with pytest.raises(RuntimeError, match="list of length equal to 'self.dim\\(\\) = 3'"):
        edunn.gradient(x, spacing=[1.0, 2.0])
    with pytest.raises(RuntimeError, match="dim 0 appears multiple times"):
        edunn.gradient(x, dim=[0, 0])
    with pytest.raises(RuntimeError, match="at least edge_order\\+1"):
        edunn.gradient(edunn.ones(2, dtype=edunn.float64), edge_order=2)
    with pytest.raises(RuntimeError, match="one dimension, but got an element with 0 dimensions"):
        edunn.gradient(edunn.ones(5), spacing=[edunn.tensor(2.0)])
    with pytest.raises(RuntimeError, match="5 elements, but got 3"):
        edunn.gradient(edunn.ones(5), spacing=[edunn.ones(3)])
    with pytest.raises(TypeError, match="must be Tensor"):
        edunn.gradient([1.0, 2.0])
    for bad in ({"edge_order": 3}, {"spacing": [1.0, 2.0]}, {"dim": [0, 0]}):  # torch agrees
        with pytest.raises(RuntimeError):
            torch.gradient(torch.tensor(A), **bad)
