"""edunn.sparse_coo_tensor against torch.sparse_coo_tensor: construction and size inference,
coalesce, to_dense, add (sparse + sparse, dense + sparse), scalar and dense products, to_sparse,
reprs, errors, and sparse gradients in autograd (a sparse leaf through to_dense, accumulation
into a parameter's .grad, zero_grad)."""
import copy
import re

import numpy as np
import pytest

import edunn
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson08, needs_torch,
              pytest.mark.filterwarnings("ignore:Sparse invariant checks")]


def _pair(indices, values, size=None, **kw):
    indices, values = np.array(indices), np.array(values)
    if values.dtype == np.float64:
        values = values.astype(np.float32)
    e = edunn.sparse_coo_tensor(indices, values, size, **kw)
    t_kw = {k: getattr(torch, v.name) if isinstance(v, edunn.dtype) else v for k, v in kw.items()}
    t = torch.sparse_coo_tensor(torch.tensor(indices), torch.tensor(values),
                                *(() if size is None else (size,)), **t_kw)
    return e, t


def _same(e, t):
    """Same size, dtype, coalesced flag, indices and values, entry by entry, and dense form."""
    assert tuple(e.shape) == tuple(t.shape)
    assert e.dtype.name == str(t.dtype).split(".")[1]
    assert e.is_coalesced() == t.is_coalesced()
    assert (e._nnz(), e.sparse_dim(), e.dense_dim()) == (t._nnz(), t.sparse_dim(), t.dense_dim())
    np.testing.assert_array_equal(e._indices().numpy(), t._indices().numpy())
    assert_close(e._values(), t._values().detach())
    assert_close(e.to_dense().detach(), t.to_dense().detach())


IDX = [[0, 2, 0, 1], [1, 0, 1, 3]]
VAL = [1.0, 2.0, 3.0, -4.0]

CASES = [
    (IDX, VAL, (3, 4)),
    (IDX, VAL, None),                                          # size inferred
    ([[3, 1, 1, 0]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], (5, 2)),  # hybrid
    ([[3, 1, 1, 0]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0], [7.0, 8.0]], None),
    ([[2]], [7.0], (4,)),                                      # one entry: coalesced
    (np.zeros((2, 0), np.int64), np.zeros(0, np.float32), (3, 4)),  # empty
    (np.zeros((0, 2), np.int64), [[1.0, 2.0], [3.0, 4.0]], (2,)),  # no sparse dimension
    (IDX, [1, 2, 3, 4], (3, 4)),                               # int64 values
]


@pytest.mark.parametrize("case", range(len(CASES)))
def test_construction_coalesce_and_to_dense_match_torch(case):
    indices, values, size = CASES[case]
    e, t = _pair(indices, values, size)
    _same(e, t)
    assert e.is_sparse and e.layout is edunn.sparse_coo and isinstance(e, edunn.Tensor)
    assert repr(e.layout) == "edunn.sparse_coo" and repr(edunn.ones(1).layout) == "edunn.strided"
    _same(e.coalesce(), t.coalesce())
    c = e.coalesce()
    assert c.coalesce() is c
    assert repr(e) == repr(t).replace("torch.", "edunn.")
    assert repr(e.coalesce()) == repr(t.coalesce()).replace("torch.", "edunn.")


def test_reprs_with_dtype_device_and_requires_grad():
    e, t = _pair(IDX, VAL, (3, 4), dtype=edunn.float64, requires_grad=True)
    assert repr(e) == repr(t).replace("torch.", "edunn.")
    e, t = _pair(IDX, VAL, (3, 4), dtype=edunn.float16)
    assert repr(e) == repr(t).replace("torch.", "edunn.")


def test_indices_and_values_need_a_coalesced_tensor():
    e, t = _pair(IDX, VAL, (3, 4))
    for name in ("indices", "values"):
        with pytest.raises(RuntimeError) as te:
            getattr(t, name)()
        with pytest.raises(RuntimeError, match=r"Cannot get .* on an uncoalesced tensor, please "
                                               r"call \.coalesce\(\) first") as ee:
            getattr(e, name)()
        assert str(ee.value) == str(te.value)
        np.testing.assert_array_equal(getattr(e.coalesce(), name)().numpy(),
                                      getattr(t.coalesce(), name)().numpy())
    assert e._values() is e._values()  # shares memory, as PyTorch's view


def test_is_coalesced_argument_and_flags_after_ops():
    e, t = _pair([[1, 3]], [1.0, 2.0], (5,), is_coalesced=True)
    assert e.is_coalesced() and t.is_coalesced()
    e, t = _pair([[1, 3]], [1.0, 2.0], (5,))
    assert e.is_coalesced() == t.is_coalesced()
    assert (e * 2).is_coalesced() == (t * 2).is_coalesced()
    c, tc = e.coalesce(), t.coalesce()
    assert (c * 2).is_coalesced() and (tc * 2).is_coalesced()
    assert (c + c).is_coalesced() == (tc + tc).is_coalesced()
    _same(c + c, tc + tc)


@pytest.mark.parametrize("alpha", [1, 3, -0.5])
def test_sparse_plus_sparse(alpha):
    a, ta = _pair(IDX, VAL, (3, 4))
    b, tb = _pair([[1, 0], [0, 3]], [10.0, 20.0], (3, 4))
    s, ts = a.add(b, alpha=alpha), ta.add(tb, alpha=alpha)
    assert s.is_sparse and s._nnz() == 6  # the two lists of entries, concatenated
    assert_close(s.to_dense(), ts.to_dense())
    _same(s.coalesce(), ts.coalesce())
    _same((a - b).coalesce(), (ta - tb).coalesce())
    _same((a + b).coalesce(), (ta + tb).coalesce())


def test_dense_plus_sparse_and_the_errors_of_add():
    a, ta = _pair(IDX, VAL, (3, 4))
    d = np.arange(12, dtype=np.float32).reshape(3, 4)
    assert_close(edunn.tensor(d) + a, torch.tensor(d) + ta)
    assert_close(edunn.tensor(d) - a, torch.tensor(d) - ta)
    with pytest.raises(RuntimeError) as te:
        ta + torch.tensor(d)
    with pytest.raises(RuntimeError) as ee:
        a + edunn.tensor(d)
    assert str(ee.value) == str(te.value)
    b, tb = _pair([[1]], [1.0], (5,))
    with pytest.raises(RuntimeError, match="expected sizes of 'self' and 'other' to match"):
        a + b
    with pytest.raises(RuntimeError, match="expected sizes"):
        ta + tb


def test_products_negation_clone_detach_and_casts():
    a, ta = _pair(IDX, VAL, (3, 4))
    _same(a * 2.5, ta * 2.5)
    _same(3 * a, 3 * ta)
    _same(a / 4, ta / 4)
    _same(-a, -ta)
    _same(a.mul(edunn.tensor(2.0)), ta.mul(torch.tensor(2.0)))
    d = np.arange(1, 13, dtype=np.float32).reshape(3, 4)
    _same(a * edunn.tensor(d), ta * torch.tensor(d))
    c = a.clone()
    c._values()[0] = 100.0
    assert a._values()[0].item() == 1.0  # a clone owns its storage
    assert a.detach()._values()._data is a._values()._data
    _same(a.double(), ta.double())
    _same(a.to(edunn.float64), ta.to(torch.float64))
    assert a.to("cpu") is a and a.to(edunn.float32) is a
    deep = copy.deepcopy(a)
    assert deep is not a and deep._values()._data is not a._values()._data
    _same(deep, ta)
    z = a.clone().zero_()
    tz = ta.clone().zero_()
    _same(z, tz)
    assert repr(z) == repr(tz).replace("torch.", "edunn.")


@pytest.mark.parametrize("sparse_dim", [None, 1, 2])
def test_to_sparse_matches_torch(sparse_dim):
    d = np.array([[0.0, 1.0, 0.0], [0.0, 0.0, 0.0], [2.0, 0.0, -3.0]], np.float32)
    args = () if sparse_dim is None else (sparse_dim,)
    e, t = edunn.tensor(d).to_sparse(*args), torch.tensor(d).to_sparse(*args)
    _same(e, t)
    assert repr(e) == repr(t).replace("torch.", "edunn.")
    _same(edunn.tensor(d).to_sparse(dense_dim=1), torch.tensor(d).to_sparse(dense_dim=1))
    assert e.to_sparse() is e


def test_size_and_shape_queries():
    e, t = _pair([[3, 1]], [[1.0, 2.0], [3.0, 4.0]], (5, 2))
    assert e.size() == edunn.Size((5, 2)) and e.size(0) == 5 and e.size(-1) == 2
    assert e.dim() == t.dim() == 2 and e.ndim == 2 and len(e) == 5 and e.numel() == t.numel()
    assert e.device == edunn.device("cpu") and e.dtype is edunn.float32
    assert edunn.is_tensor(e) and not edunn.ones(2).is_sparse
    with pytest.raises(NotImplementedError, match="to_dense"):
        e.exp()
    assert e.sum(dim=0).tolist() == t.sum(dim=0).tolist()  # torch.sparse.sum over a dim


@pytest.mark.parametrize("bad, expected", [
    (dict(indices=[[5]], values=[1.0], size=(2,)),
     "size is inconsistent with indices: for dim 0, size is 2 but found index 5"),
    (dict(indices=[[-1]], values=[1.0], size=(2,)), "found negative index -1 for dim 0"),
    (dict(indices=[[1]], values=[1.0, 2.0], size=(2,)),
     "indices and values must have same nnz, but got nnz from indices: 1, nnz from values: 2"),
    (dict(indices=[1], values=[1.0], size=(2,)), "indices must be sparse_dim x nnz, but got: [1]"),
    (dict(indices=[[1, 3]], values=[1.0, 2.0], size=(5, 3)),
     "'len(size) == sparse_dim + dense_dim' is not satisfied: len(size) = 2, sparse_dim = 1, "
     "dense_dim = 0"),
])
def test_construction_errors_match_torch(bad, expected):
    with pytest.raises(RuntimeError, match=re.escape(expected)):
        edunn.sparse_coo_tensor(np.array(bad["indices"]), np.array(bad["values"]), bad["size"])
    with pytest.raises(RuntimeError):
        torch.sparse_coo_tensor(torch.tensor(bad["indices"]), torch.tensor(bad["values"]),
                                bad["size"], check_invariants=True)


def test_other_construction_errors():
    with pytest.raises(RuntimeError, match="int64"):
        edunn.sparse_coo_tensor(edunn.tensor([[0.0]]), edunn.tensor([1.0]), (2,))
    with pytest.raises(RuntimeError, match="floating point"):
        edunn.sparse_coo_tensor([[0]], [1], (2,), requires_grad=True)
    with pytest.raises(RuntimeError):
        torch.sparse_coo_tensor([[0]], [1], (2,), requires_grad=True)
    e = edunn.sparse_coo_tensor(edunn.tensor([[0]], dtype=edunn.int32), [1.0], (2,))
    assert e._indices().dtype is edunn.int64


def test_a_sparse_leaf_gets_a_sparse_grad_through_to_dense():
    e, t = _pair(IDX, VAL, (3, 4), requires_grad=True)
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    (e.to_dense() * edunn.tensor(w)).sum().backward()
    (t.to_dense() * torch.tensor(w)).sum().backward()
    assert e.grad.is_sparse and t.grad.is_sparse
    _same(e.grad, t.grad)


def test_parameter_grad_can_be_sparse_and_accumulates_like_torch():
    p, tp = edunn.zeros(5, 2, requires_grad=True), torch.zeros(5, 2, requires_grad=True)
    g, tg = _pair([[1, 3, 1]], [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]], (5, 2))
    p.grad, tp.grad = g, tg
    assert p.grad is g
    with pytest.raises(RuntimeError, match="attempting to assign a gradient of size"):
        p.grad = edunn.sparse_coo_tensor([[1]], [[1.0, 2.0, 3.0]], (5, 3))
    # sparse + sparse stays sparse; a dense term makes the sum dense (either order)
    for first_sparse in (True, False):
        w, tw = edunn.ones(5, 2, requires_grad=True), torch.ones(5, 2, requires_grad=True)
        for fw, weight in ((edunn, w), (torch, tw)):
            idx = fw.tensor([[1, 4], [1, 0]])
            sparse_use = lambda: fw.nn.functional.embedding(idx, weight, sparse=True).sum()
            dense_use = lambda: (weight * 3).sum()
            first, second = (sparse_use, dense_use) if first_sparse else (dense_use, sparse_use)
            first().backward()
            second().backward()
        assert not w.grad.is_sparse and not tw.grad.is_sparse
        assert_close(w.grad, tw.grad)
    w, tw = edunn.ones(5, 2, requires_grad=True), torch.ones(5, 2, requires_grad=True)
    for fw, weight in ((edunn, w), (torch, tw)):
        for rows in ([1, 4], [4, 2, 2]):
            fw.nn.functional.embedding(fw.tensor(rows), weight, sparse=True).sum().backward()
    assert w.grad.is_sparse and tw.grad.is_sparse and w.grad._nnz() == 5
    _same(w.grad.coalesce(), tw.grad.coalesce())
    # one backward that reaches the same leaf twice, sparsely
    w, tw = edunn.ones(5, 2, requires_grad=True), torch.ones(5, 2, requires_grad=True)
    for fw, weight in ((edunn, w), (torch, tw)):
        emb = fw.nn.functional.embedding
        (emb(fw.tensor([0, 1]), weight, sparse=True).sum()
         + 2 * emb(fw.tensor([1, 1]), weight, sparse=True).sum()).backward()
    assert_close(w.grad.to_dense(), tw.grad.to_dense())


def test_a_sparse_grad_reaching_a_non_leaf_is_made_dense():
    """PyTorch carries it on sparse through ``b * 2``; edunn densifies it there (same numbers)."""
    base = edunn.ones(4, 3, requires_grad=True)
    tbase = torch.ones(4, 3, requires_grad=True)
    for fw, b in ((edunn, base), (torch, tbase)):
        fw.nn.functional.embedding(fw.tensor([0, 2, 2]), b * 2, sparse=True).sum().backward()
    assert not base.grad.is_sparse
    assert_close(base.grad, tbase.grad.to_dense())


def test_autograd_grad_returns_the_sparse_gradient():
    w = edunn.ones(5, 2, requires_grad=True)
    (g,) = edunn.autograd.grad(edunn.nn.functional.embedding(edunn.tensor([3, 1]), w,
                                                             sparse=True).sum(), [w])
    assert g.is_sparse and w.grad is None
    assert_close(g.to_dense(), np.array([[0, 0], [1, 1], [0, 0], [1, 1], [0, 0]], np.float32))


@pytest.mark.parametrize("set_to_none", [True, False])
def test_zero_grad_with_sparse_grads(set_to_none):
    m, tm = edunn.nn.Embedding(6, 2, sparse=True), torch.nn.Embedding(6, 2, sparse=True)
    o, to = edunn.optim.SGD(m.parameters(), lr=0.1), torch.optim.SGD(tm.parameters(), lr=0.1)
    for fw, mod, opt in ((edunn, m, o), (torch, tm, to)):
        mod(fw.tensor([1, 2])).sum().backward()
        opt.zero_grad(set_to_none=set_to_none)
    if set_to_none:
        assert m.weight.grad is None and tm.weight.grad is None
    else:
        _same(m.weight.grad, tm.weight.grad)
    m(edunn.tensor([1, 2])).sum().backward()
    m.zero_grad(set_to_none=False)
    assert m.weight.grad.is_sparse and m.weight.grad._nnz() == 0


def test_sparse_tensors_on_a_device(device):
    e = edunn.sparse_coo_tensor([[0, 2, 0]], [1.0, 2.0, 3.0], (4,), device=device)
    dev = edunn.zeros(1, device=device).device  # "cuda" means the current device, cuda:0
    assert e.device == dev and e._indices().device == dev
    assert_close(e.to_dense(), np.array([4.0, 0.0, 2.0, 0.0], np.float32))
    c = e.coalesce()
    assert_close(c._values(), np.array([4.0, 2.0], np.float32))
    assert_close((edunn.zeros(4, device=device) + e * 2), np.array([8.0, 0.0, 4.0, 0.0], np.float32))
    assert e.cpu().device == edunn.device("cpu")


def test_sum_and_module_casts_carry_a_sparse_grad():
    e, t = _pair(IDX, VAL, (3, 4))
    assert_close(e.sum(), t.sum())
    ei, ti = _pair(IDX, [1, 2, 3, 4], (3, 4))
    assert ei.sum().dtype is edunn.int64 and ei.sum().item() == ti.sum().item()
    s, ts = _pair(IDX, VAL, (3, 4), requires_grad=True)
    (s.sum() * 2).backward()
    (ts.sum() * 2).backward()
    assert not s.grad.is_sparse and not ts.grad.is_sparse  # PyTorch's dense gradient here
    assert_close(s.grad, ts.grad)
    m, tm = edunn.nn.Embedding(5, 2, sparse=True), torch.nn.Embedding(5, 2, sparse=True)
    for fw, mod in ((edunn, m), (torch, tm)):
        mod(fw.tensor([1, 2, 1])).sum().backward()
        mod.double()
    assert m.weight.grad.is_sparse and m.weight.grad.dtype is edunn.float64
    assert tm.weight.grad.dtype == torch.float64
    clone = copy.deepcopy(m)
    assert clone.weight.grad.is_sparse and clone.weight.grad is not m.weight.grad
    assert_close(clone.weight.grad.to_dense(), tm.weight.grad.to_dense())


def test_sparse_coo_tensor_is_differentiable_in_its_values():
    v, tv = edunn.tensor([1.0, 2.0, 3.0], requires_grad=True), torch.tensor([1.0, 2.0, 3.0],
                                                                           requires_grad=True)
    w = np.arange(12, dtype=np.float32).reshape(3, 4)
    for fw, vv in ((edunn, v), (torch, tv)):
        s = fw.sparse_coo_tensor(fw.tensor([[0, 2, 0], [1, 0, 1]]), vv * 2, (3, 4))
        assert s.requires_grad and s.grad_fn is not None and not s.is_leaf
        dense = (-(s * 3) / 2).clone().to(fw.float64).coalesce().to_dense()
        (dense * fw.tensor(w)).sum().backward()
    assert_close(v.grad, tv.grad)
    d = np.array([[0.0, 1.0], [2.0, 0.0]], np.float32)
    (de, dt) = edunn.tensor(d, requires_grad=True), torch.tensor(d, requires_grad=True)
    for fw, x in ((edunn, de), (torch, dt)):
        (x.to_sparse().to_dense() * fw.tensor([[1.0, 2.0], [3.0, 4.0]])).sum().backward()
    assert_close(de.grad, dt.grad)
    hybrid = edunn.tensor([[1.0, 2.0]], requires_grad=True)
    edunn.sparse_coo_tensor(np.zeros((0, 1), np.int64), hybrid, (2,)).sum().backward()
    assert_close(hybrid.grad, np.ones((1, 2), np.float32))
    assert "grad_fn=<SparseCooTensorWithDimsAndTensorsBackward0>" in repr(
        edunn.sparse_coo_tensor([[0]], edunn.ones(1, requires_grad=True), (2,)))


def test_sparse_ops_without_a_derivative_refuse_inputs_that_require_grad():
    s = edunn.sparse_coo_tensor([[0, 1]], [1.0, 2.0], (3,), requires_grad=True)
    for op in (lambda: s + s, lambda: s - s, lambda: s * edunn.ones(3),
               lambda: s.detach() * edunn.tensor(2.0, requires_grad=True)):
        with pytest.raises(RuntimeError, match="does not differentiate through the sparse"):
            op()
    with edunn.no_grad():
        assert (s + s)._nnz() == 4
    assert (s.detach() + s.detach())._nnz() == 4
