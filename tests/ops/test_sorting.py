"""Sorting and counting: sort/argsort/topk/kthvalue (gradients scattered back), unique, bincount ..."""
import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

SPECS = [
    OpSpec("sort", lambda a: a.sort(1), lambda a: a.sort(1), [(3, 5)]),
    OpSpec("sort_desc", lambda a: a.sort(0, descending=True), lambda a: a.sort(0, descending=True), [(4, 3)]),
    OpSpec("msort", lambda a: a.msort(), lambda a: a.msort(), [(4, 3)]),
    OpSpec("topk", lambda a: a.topk(2), lambda a: a.topk(2), [(3, 5)]),
    OpSpec("topk_smallest", lambda a: a.topk(3, dim=0, largest=False), lambda a: a.topk(3, dim=0, largest=False), [(4, 2)]),
    OpSpec("kthvalue", lambda a: a.kthvalue(2, 1), lambda a: a.kthvalue(2, 1), [(3, 5)]),
    OpSpec("kthvalue_keepdim", lambda a: a.kthvalue(3, 0, keepdim=True), lambda a: a.kthvalue(3, 0, keepdim=True), [(4, 2)]),
    OpSpec("sort_values", lambda a: a.sort(1).values, lambda a: a.sort(1).values, [(3, 5)], gradgrad=True),
    OpSpec("topk_values", lambda a: a.topk(2).values, lambda a: a.topk(2).values, [(3, 5)], gradgrad=True),
    OpSpec("kthvalue_values", lambda a: a.kthvalue(2, 0).values, lambda a: a.kthvalue(2, 0).values, [(3, 5)]),
    OpSpec("argsort", lambda a: a.argsort(1, descending=True), lambda a: a.argsort(1, descending=True), [(3, 5)], grad=False),
]


# Only the values are differentiable; the index outputs are checked for parity.
GRADCHECK = [s for s in SPECS if s.name.endswith("_values")]
test_parity, test_gradcheck = spec_tests(SPECS, lesson=2, gradcheck=GRADCHECK)


@pytest.mark.lesson01
@needs_torch
def test_stable_sort_ties_and_nan():
    a = np.array([2.0, 1.0, 2.0, np.nan, 1.0, 2.0])
    for desc in (False, True):
        ours = edunn.tensor(a).sort(descending=desc, stable=True)
        ref = torch.tensor(a).sort(descending=desc, stable=True)
        np.testing.assert_array_equal(ours.indices.numpy(), ref.indices.numpy())
        np.testing.assert_array_equal(ours.values.numpy(), ref.values.numpy())


@pytest.mark.lesson01
def test_return_types():
    out = edunn.tensor([3.0, 1.0, 2.0]).sort()
    assert type(out).__name__ == "sort" and out.values.tolist() == [1.0, 2.0, 3.0]
    assert out.indices.dtype == edunn.int64
    assert edunn.tensor([3.0, 1.0]).topk(1).indices.tolist() == [0]
    with pytest.raises(RuntimeError, match="out of range"):
        edunn.zeros(3).topk(4)


@pytest.mark.lesson01
def test_zero_dim_input_is_its_own_sort():
    x = edunn.tensor(3.0, requires_grad=True)
    for out in (x.sort(), x.topk(1), x.kthvalue(1)):
        assert out.values.shape == () and out.values.item() == 3.0
        assert out.indices.shape == () and out.indices.item() == 0
    x.sort().values.backward()
    assert x.grad.item() == 1.0


@pytest.mark.lesson01
@needs_torch
def test_unique_bincount_histc_searchsorted():
    a = np.array([[3, 1, 3], [2, 1, 3]])
    for kw in [dict(), dict(return_inverse=True, return_counts=True), dict(dim=1, return_inverse=True)]:
        ours, ref = edunn.tensor(a).unique(**kw), torch.tensor(a).unique(**kw)
        for o, r in zip(ours if isinstance(ours, tuple) else (ours,), ref if isinstance(ref, tuple) else (ref,)):
            assert_close(o, r)
    ours = edunn.unique_consecutive(edunn.tensor([1, 1, 2, 2, 3, 1]), return_inverse=True, return_counts=True)
    ref = torch.unique_consecutive(torch.tensor([1, 1, 2, 2, 3, 1]), return_inverse=True, return_counts=True)
    for o, r in zip(ours, ref):
        assert_close(o, r)
    b = np.array([0, 1, 1, 4])
    w = np.array([0.5, 1.0, 2.0, 3.0], dtype=np.float32)
    assert_close(edunn.tensor(b).bincount(minlength=6), torch.tensor(b).bincount(minlength=6))
    assert_close(edunn.tensor(b).bincount(edunn.tensor(w)), torch.tensor(b).bincount(torch.tensor(w)))
    x = np.random.default_rng(0).normal(size=50).astype(np.float32)
    assert_close(edunn.tensor(x).histc(7), torch.tensor(x).histc(7))
    assert_close(edunn.tensor(x).histc(4, -1, 1), torch.tensor(x).histc(4, -1, 1))
    seq = np.array([[1.0, 3, 5, 7], [2, 4, 6, 8]])
    v = np.array([[3.0, 6], [1, 8]])
    for right in (False, True):
        assert_close(edunn.searchsorted(edunn.tensor(seq), edunn.tensor(v), right=right),
                     torch.searchsorted(torch.tensor(seq), torch.tensor(v), right=right))
        assert_close(edunn.searchsorted(edunn.tensor(seq[0]), edunn.tensor(v), right=right),
                     torch.searchsorted(torch.tensor(seq[0]), torch.tensor(v), right=right))
    assert_close(edunn.bucketize(edunn.tensor(v), edunn.tensor(seq[0])),
                 torch.bucketize(torch.tensor(v), torch.tensor(seq[0])))
