"""``torch.*_copy`` and the split variants compared with PyTorch: values, shapes, that the
result owns fresh memory, gradients (gradcheck in float64) and errors."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch

A = np.random.default_rng(1).standard_normal((2, 3, 4))

CASES = [
    ("permute_copy", ((2, 0, 1),), {}),
    ("transpose_copy", (0, 2), {}),
    ("view_copy", ((6, 4),), {}),
    ("squeeze_copy", (), {}),
    ("unsqueeze_copy", (1,), {}),
    ("diagonal_copy", (1, 1, 2), {}),
    ("select_copy", (1, -1), {}),
    ("slice_copy", (2, 1, None, 2), {}),
    ("slice_copy", (), {"dim": 1, "start": -2}),
    ("split_copy", (2, 2), {}),
    ("split_with_sizes_copy", ([1, 2], 1), {}),
    ("unbind_copy", (1,), {}),
    ("unfold_copy", (2, 2, 1), {}),
    ("alias_copy", (), {}),
    ("detach_copy", (), {}),
    ("narrow_copy", (2, 1, 2), {}),
    ("split_with_sizes", ([3, 1], 2), {}),
    ("unsafe_split", (1, 1), {}),
    ("unsafe_chunk", (3, 2), {}),
    ("unsafe_split_with_sizes", ([1, 1], 0), {}),
]


def _ids(case):
    return case[0] + str(case[1])


@pytest.mark.parametrize("case", CASES, ids=[_ids(c) for c in CASES])
def test_copy_matches_torch(case, device):
    name, args, kwargs = case
    x = edunn.tensor(A, device=device)
    r = getattr(edunn, name)(x, *args, **kwargs)
    tr = getattr(torch, name)(torch.tensor(A), *args, **kwargs)
    rs, trs = (r, tr) if isinstance(r, tuple) else ((r,), (tr,))
    assert isinstance(r, tuple) == isinstance(tr, (tuple, list)) and len(rs) == len(trs)
    for a, b in zip(rs, trs):
        assert tuple(a.shape) == tuple(b.shape) and a.dtype == edunn.float64
        assert_close(a, b, atol=0, rtol=0)
    if name.endswith("_copy"):  # fresh memory: writing into the copy leaves the input alone
        rs[0].fill_(123.0)
        assert_close(x, A, atol=0, rtol=0)


@pytest.mark.parametrize("case", [c for c in CASES if c[0] != "detach_copy"], ids=[_ids(c) for c in CASES
                                                                                 if c[0] != "detach_copy"])
def test_copy_gradcheck(case):
    name, args, kwargs = case
    x = edunn.tensor(A, requires_grad=True)

    def f(t):
        r = getattr(edunn, name)(t, *args, **kwargs)
        return r if not isinstance(r, tuple) else tuple(p * (i + 1) for i, p in enumerate(r))
    assert edunn.autograd.gradcheck(f, (x,))


def test_detach_copy_and_expand_copy():
    x = edunn.tensor(A, requires_grad=True)
    assert not edunn.detach_copy(x).requires_grad
    v = edunn.tensor([[1.0], [2.0]], dtype=edunn.float64, requires_grad=True)
    r = edunn.expand_copy(v, [3, 2, 4])
    assert_close(r, torch.expand_copy(torch.tensor([[1.0], [2.0]], dtype=torch.float64), [3, 2, 4]))
    assert r.is_contiguous()
    assert edunn.autograd.gradcheck(lambda t: edunn.expand_copy(t, [3, 2, 4]), (v,))
    t = edunn.t_copy(edunn.tensor(A[0]))
    assert t.is_contiguous()
    assert_close(t, torch.t_copy(torch.tensor(A[0])))
    bits = edunn.view_copy(edunn.ones(2, 2), edunn.int32)
    assert bits.dtype == edunn.int32
    assert_close(bits, torch.view_copy(torch.ones(2, 2), torch.int32), atol=0, rtol=0)


def test_copy_out_and_errors():
    out = edunn.empty(4, 3, 2, dtype=edunn.float64)
    r = edunn.permute_copy(edunn.tensor(A), (2, 1, 0), out=out)
    assert r is out
    assert_close(out, np.transpose(A, (2, 1, 0)))
    with pytest.raises(RuntimeError, match="slice step must be positive"):
        torch.slice_copy(torch.tensor(A), 0, None, None, 0)
    with pytest.raises(RuntimeError, match="slice step must be positive"):
        edunn.slice_copy(edunn.tensor(A), 0, None, None, 0)
    with pytest.raises(RuntimeError, match="split_with_sizes expects split_sizes to sum exactly to 3"):
        edunn.split_with_sizes(edunn.tensor(A), [1, 1], 1)
    with pytest.raises(TypeError, match="split_sizes"):
        edunn.split_with_sizes(edunn.tensor(A), 1)
    with pytest.raises(TypeError, match="must be Tensor"):
        edunn.permute_copy(A, (0, 1, 2))
    with pytest.raises(RuntimeError, match="chunk expects"):
        edunn.unsafe_chunk(edunn.tensor(A), 0)
