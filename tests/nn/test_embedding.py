"""F.embedding, F.embedding_bag, F.one_hot and nn.Embedding / nn.EmbeddingBag against PyTorch:
forward, weight and per-sample-weight gradients for every option (padding_idx, max_norm with the
table renormalised in place, scale_grad_by_freq, sparse gradients compared entry by entry),
EmbeddingBag's modes x offsets/2-D x per_sample_weights x include_last_offset x padding_idx x
empty bags, from_pretrained, gradcheck in float64, SparseAdam and SGD trained on a sparse
embedding, errors and reprs."""
import itertools
import re

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson08, needs_torch,
              pytest.mark.filterwarnings("ignore:Sparse invariant checks")]

TF = torch.nn.functional if torch is not None else None


def _np(t):
    return t.detach().numpy()


def _both(array, requires_grad=False):
    return (edunn.tensor(array, requires_grad=requires_grad),
            torch.tensor(array, requires_grad=requires_grad))


def _same_grad(eg, tg):
    """Dense or sparse, the gradient PyTorch gives: for a sparse one, the same (uncoalesced)
    indices and values, entry by entry."""
    assert eg.is_sparse == tg.is_sparse
    if tg.is_sparse:
        assert eg.is_coalesced() == tg.is_coalesced()
        np.testing.assert_array_equal(eg._indices().numpy(), tg._indices().numpy())
        assert_close(eg._values(), tg._values())
        assert_close(eg.to_dense(), tg.to_dense())
    else:
        assert_close(eg, tg)


# ---------------------------------------------------------------------------------- embedding
EMB_OPTIONS = [
    {}, {"padding_idx": 2}, {"padding_idx": -1}, {"padding_idx": 0},
    {"scale_grad_by_freq": True}, {"scale_grad_by_freq": True, "padding_idx": 1},
    {"sparse": True}, {"sparse": True, "padding_idx": 1}, {"sparse": True, "padding_idx": -7},
    {"max_norm": 1.0}, {"max_norm": 0.5, "norm_type": 1.0}, {"max_norm": 1.2, "norm_type": 3.0},
    {"max_norm": 0.7, "norm_type": float("inf")}, {"max_norm": 1.0, "sparse": True},
]
INPUTS = [np.array([[1, 2, 1], [6, 2, 0]]), np.array([3, 3, 3, 5]), np.array(4),
          np.array([[[0, 1]], [[1, 1]]])]


@pytest.mark.parametrize("opts", EMB_OPTIONS, ids=repr)
@pytest.mark.parametrize("which", range(len(INPUTS)))
def test_embedding_matches_torch(opts, which):
    if INPUTS[which].ndim == 0 and opts.get("sparse"):
        pytest.skip("PyTorch's sparse backward raises IndexError for a 0-d index")
    rng = np.random.default_rng(which)
    table = rng.standard_normal((7, 3)).astype(np.float32)
    (we, wt), (ie, it) = _both(table, True), _both(INPUTS[which])
    oe, ot = F.embedding(ie, we, **opts), TF.embedding(it, wt, **opts)
    assert_close(oe, ot)
    assert_close(we, wt, atol=1e-6, rtol=1e-6)  # max_norm changed the same rows the same way
    g = rng.standard_normal(tuple(ot.shape)).astype(np.float32)
    oe.backward(edunn.tensor(g))
    ot.backward(torch.tensor(g))
    _same_grad(we.grad, wt.grad)


def test_max_norm_renormalises_in_place_outside_autograd():
    table = np.array([[3.0, 4.0], [0.3, 0.4], [6.0, 8.0]], np.float32)
    (we, wt), (ie, it) = _both(table, True), _both(np.array([0, 1, 0]))
    version = we._version
    F.embedding(ie, we, max_norm=1.0)
    TF.embedding(it, wt, max_norm=1.0)
    assert_close(we, wt, atol=0, rtol=1e-7)
    assert we._version > version and we.grad_fn is None
    np.testing.assert_array_equal(_np(we)[2], table[2])  # not looked up: untouched
    np.testing.assert_array_equal(_np(we)[1], table[1])  # under max_norm: untouched


def test_embedding_float64_and_int32_indices():
    rng = np.random.default_rng(1)
    table = rng.standard_normal((5, 4))
    (we, wt) = _both(table, True)
    ie, it = edunn.tensor([4, 0], dtype=edunn.int32), torch.tensor([4, 0], dtype=torch.int32)
    oe, ot = F.embedding(ie, we), TF.embedding(it, wt)
    assert oe.dtype is edunn.float64
    assert_close(oe, ot)
    oe.sum().backward()
    ot.sum().backward()
    assert_close(we.grad, wt.grad)


def test_embedding_gradcheck_float64():
    """(padding_idx and scale_grad_by_freq change the gradient on purpose: not a Jacobian.)"""
    w = edunn.randn(5, 3, dtype=edunn.float64, requires_grad=True)
    idx = edunn.tensor([[1, 2, 1], [4, 1, 0]])
    assert gradcheck(lambda w: F.embedding(idx, w), (w,))
    assert gradgradcheck(lambda w: F.embedding(idx, w), (w,))


def test_embedding_errors_match_torch():
    we, wt = _both(np.zeros((5, 3), np.float32))
    for bad in ([1, 7], [1, -1]):
        with pytest.raises(IndexError, match="index out of range in self"):
            F.embedding(edunn.tensor(bad), we)
        with pytest.raises(IndexError, match="index out of range in self"):
            TF.embedding(torch.tensor(bad), wt)
    with pytest.raises(RuntimeError) as te:
        TF.embedding(torch.tensor([1.0, 2.0]), wt)
    with pytest.raises(RuntimeError, match=re.escape("Expected tensor for argument #1 'indices' "
                                                     "to have one of the following scalar types: "
                                                     "Long, Int")):
        F.embedding(edunn.tensor([1.0, 2.0]), we)
    assert "Long, Int" in str(te.value)
    for pad in (5, -6):
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            F.embedding(edunn.tensor([1]), we, padding_idx=pad)
        with pytest.raises(AssertionError, match="Padding_idx must be within num_embeddings"):
            TF.embedding(torch.tensor([1]), wt, padding_idx=pad)
    we.requires_grad_(True)
    wt.requires_grad_(True)
    msg = "embedding_backward: scale_grad_by_freq not supported with sparse gradients"
    with pytest.raises(RuntimeError, match=msg):
        F.embedding(edunn.tensor([1]), we, scale_grad_by_freq=True, sparse=True).sum().backward()
    with pytest.raises(RuntimeError, match=msg):
        TF.embedding(torch.tensor([1]), wt, scale_grad_by_freq=True, sparse=True).sum().backward()


# ------------------------------------------------------------------------------ embedding_bag
IDX = np.array([1, 2, 6, 3, 3, 0, 5, 2])
LAYOUTS = {  # (input, offsets, include_last_offset)
    "offsets": (IDX, np.array([0, 3, 3, 5]), False),           # bag 1 is empty
    "last-offset": (IDX, np.array([0, 3, 3, 5, 8]), True),
    "empty-first": (IDX, np.array([0, 0, 4]), False),
    "2d": (IDX.reshape(2, 4), None, False),
    "2d-one-column": (IDX.reshape(8, 1), None, False),
}
BAG_CASES = [(mode, layout, psw, pad)
             for mode, layout, psw, pad in itertools.product(
                 ["sum", "mean", "max"], LAYOUTS, [False, True], [None, 3, -1])
             if not (psw and mode != "sum")]


@pytest.mark.parametrize("mode, layout, psw, pad", BAG_CASES)
def test_embedding_bag_matches_torch(mode, layout, psw, pad):
    rng = np.random.default_rng(len(layout) + 7 * abs(pad or 0))
    table = rng.standard_normal((7, 4)).astype(np.float32)
    inp, offs, last = LAYOUTS[layout]
    (we, wt), (ie, it) = _both(table, True), _both(inp)
    oe_, ot_ = (None, None) if offs is None else _both(offs)
    pe = pt = None
    if psw:
        pe, pt = _both(rng.standard_normal(inp.shape).astype(np.float32), True)
    kw = {"mode": mode, "include_last_offset": last, "padding_idx": pad}
    oe = F.embedding_bag(ie, we, oe_, per_sample_weights=pe, **kw)
    ot = TF.embedding_bag(it, wt, ot_, per_sample_weights=pt, **kw)
    assert_close(oe, ot)
    g = rng.standard_normal(tuple(ot.shape)).astype(np.float32)
    oe.backward(edunn.tensor(g))
    ot.backward(torch.tensor(g))
    assert_close(we.grad, wt.grad)
    if psw:
        assert_close(pe.grad, pt.grad)


@pytest.mark.parametrize("opts", [
    {"mode": "sum", "sparse": True}, {"mode": "mean", "sparse": True},
    {"mode": "sum", "sparse": True, "padding_idx": 3},
    {"mode": "sum", "max_norm": 1.0}, {"mode": "max", "max_norm": 0.8, "norm_type": 1.0},
], ids=repr)
def test_embedding_bag_options_match_torch(opts):
    rng = np.random.default_rng(5)
    table = rng.standard_normal((7, 4)).astype(np.float32)
    (we, wt), (ie, it), (oe_, ot_) = _both(table, True), _both(IDX), _both(np.array([0, 3, 3, 5]))
    oe, ot = F.embedding_bag(ie, we, oe_, **opts), TF.embedding_bag(it, wt, ot_, **opts)
    assert_close(oe, ot)
    assert_close(we, wt, atol=1e-6, rtol=1e-6)
    g = rng.standard_normal(tuple(ot.shape)).astype(np.float32)
    oe.backward(edunn.tensor(g))
    ot.backward(torch.tensor(g))
    _same_grad(we.grad, wt.grad)


@pytest.mark.parametrize("mode", ["sum", "mean"])
@pytest.mark.parametrize("pad", [None, 6])
def test_embedding_bag_scale_grad_by_freq_matches_embedding_then_reduce(mode, pad):
    """The reference is torch's F.embedding (scale_grad_by_freq) followed by a per-bag sum or
    mean: PyTorch's own embedding_bag CPU backward divides the k-th distinct index by the count
    of the k-th entry of the sorted indices instead (e.g. indices [2, 5, 1, 1, 6, 6, 6] give
    row 2 half its gradient and row 6 three times it), which is not what its documentation
    says; edunn follows the documentation."""
    rng = np.random.default_rng(9)
    table = rng.standard_normal((7, 4)).astype(np.float32)
    idx, offs = np.array([2, 5, 1, 1, 6, 6, 6, 2]), np.array([0, 3, 3, 5])
    (we, wt), (ie, it) = _both(table, True), _both(idx)
    oe = F.embedding_bag(ie, we, edunn.tensor(offs), mode=mode, scale_grad_by_freq=True,
                         padding_idx=pad)
    rows = TF.embedding(it, wt, scale_grad_by_freq=True, padding_idx=pad)
    keep = torch.tensor(idx != (pad if pad is not None else -1), dtype=torch.float32)[:, None]
    bag = torch.tensor(np.searchsorted(offs, np.arange(len(idx)), side="right") - 1)
    ot = torch.zeros(4, 4).index_add(0, bag, rows * keep)
    if mode == "mean":
        ot = ot / torch.zeros(4).index_add(0, bag, keep[:, 0]).clamp(min=1)[:, None]
    assert_close(oe, ot)
    g = rng.standard_normal((4, 4)).astype(np.float32)
    oe.backward(edunn.tensor(g))
    ot.backward(torch.tensor(g))
    assert_close(we.grad, wt.grad)


def test_embedding_bag_max_gives_the_gradient_to_the_first_maximum():
    table = np.array([[1.0, 5.0], [1.0, 2.0], [0.0, 5.0]], np.float32)  # ties in both columns
    (we, wt), (ie, it) = _both(table, True), _both(np.array([[0, 1, 2], [2, 1, 0]]))
    oe, ot = F.embedding_bag(ie, we, mode="max"), TF.embedding_bag(it, wt, mode="max")
    assert_close(oe, ot)
    oe.backward(edunn.tensor([[1.0, 2.0], [3.0, 4.0]]))
    ot.backward(torch.tensor([[1.0, 2.0], [3.0, 4.0]]))
    assert_close(we.grad, wt.grad)


@pytest.mark.parametrize("mode", ["sum", "mean", "max"])
def test_embedding_bag_gradcheck_float64(mode):
    w = edunn.randn(6, 3, dtype=edunn.float64, requires_grad=True)
    idx, offs = edunn.tensor([1, 2, 5, 3, 3, 0]), edunn.tensor([0, 2, 2, 5])
    if mode == "sum":
        psw = edunn.randn(6, dtype=edunn.float64, requires_grad=True)
        fn = lambda w, p: F.embedding_bag(idx, w, offs, mode=mode, per_sample_weights=p,
                                          padding_idx=0)
        assert gradcheck(fn, (w, psw))
        assert gradgradcheck(fn, (w, psw))
    else:
        assert gradcheck(lambda w: F.embedding_bag(idx, w, offs, mode=mode), (w,))


def test_embedding_bag_errors_match_torch():
    we, wt = _both(np.zeros((6, 3), np.float32))
    i1e, i1t = _both(np.array([1, 2, 3]))
    calls = [  # (args, kwargs) given to both, the exception kind
        (lambda fw, i, w: fw(i, w, None), ValueError),
        (lambda fw, i, w: fw(i.reshape(1, 3), w, i), ValueError),
        (lambda fw, i, w: fw(i.reshape(1, 1, 3), w, None), ValueError),
        (lambda fw, i, w: fw(i, w, i[:2] - 1, mode="foo"), ValueError),
        (lambda fw, i, w: fw(i, w, i[:2] - 1, mode="max", sparse=True), ValueError),
        (lambda fw, i, w: fw(i, w, i[:2] - 1, mode="max", scale_grad_by_freq=True), ValueError),
        (lambda fw, i, w: fw(i, w, i[:2] - 1, per_sample_weights=(i * 1.0)[:2], mode="sum"),
         ValueError),
        (lambda fw, i, w: fw(i, w, i[:2] - 1, per_sample_weights=i * 1.0), NotImplementedError),
        (lambda fw, i, w: fw(i, w, i[:2]), RuntimeError),             # offsets[0] == 1
        (lambda fw, i, w: fw(i, w, (i[:2] - 1) * 5), RuntimeError),   # offsets[-1] == 5 > 3
        (lambda fw, i, w: fw(i * 1.0, w, i[:2] - 1), RuntimeError),   # float indices
        (lambda fw, i, w: fw(i + 4, w, i[:2] - 1), RuntimeError),     # index 7 of 6 rows
        (lambda fw, i, w: fw(i, w[0], i[:2] - 1), ValueError),        # 1-D weight
        (lambda fw, i, w: fw(i, w, i[:2] - 1, mode="sum",
                             per_sample_weights=(i * 1.0).double()), RuntimeError),
    ]
    for call, kind in calls:
        with pytest.raises(kind) as te:
            call(TF.embedding_bag, i1t, wt)
        with pytest.raises(kind) as ee:
            call(F.embedding_bag, i1e, we)
        if kind is not RuntimeError or "offsets" in str(te.value):
            assert str(ee.value).replace("edunn.tensor.Tensor", "edunn.Tensor") == \
                str(te.value).replace("torch.", "edunn.").split("\n")[0]  # less a tensor dump
    with pytest.raises(RuntimeError, match="index out of range in self"):
        F.embedding_bag(i1e + 4, we, edunn.tensor([0, 1]))
    with pytest.raises(RuntimeError, match="non-decreasing"):
        F.embedding_bag(i1e, we, edunn.tensor([0, 2, 1]))


# -------------------------------------------------------------------------------------- one_hot
@pytest.mark.parametrize("data, n", [([0, 2, 1], -1), ([[0, 3], [1, 1]], 5), ([], 4), (2, 3)])
def test_one_hot_matches_torch(data, n):
    e = F.one_hot(edunn.tensor(data, dtype=edunn.int64), n)
    t = TF.one_hot(torch.tensor(data, dtype=torch.int64), n)
    assert e.dtype is edunn.int64
    np.testing.assert_array_equal(e.numpy(), t.numpy())


@pytest.mark.parametrize("data, n, dtype", [([0, 2], 2, "int64"), ([-1, 0], 3, "int64"),
                                            ([], -1, "int64"), ([0, 1], 3, "int32")])
def test_one_hot_errors_match_torch(data, n, dtype):
    with pytest.raises(RuntimeError) as te:
        TF.one_hot(torch.tensor(data, dtype=getattr(torch, dtype)), n)
    with pytest.raises(RuntimeError) as ee:
        F.one_hot(edunn.tensor(data, dtype=getattr(edunn, dtype)), n)
    assert str(ee.value) == str(te.value)


# --------------------------------------------------------------------------------------- modules
def _copy_table(e_mod, t_mod):
    with edunn.no_grad():
        e_mod.weight.copy_(edunn.tensor(t_mod.weight.detach().numpy()))


@pytest.mark.parametrize("kw", [{}, {"padding_idx": -2, "max_norm": 1.0, "norm_type": 1.0},
                                {"scale_grad_by_freq": True}, {"sparse": True, "padding_idx": 0}],
                         ids=repr)
def test_embedding_module_matches_torch(kw):
    e, t = edunn.nn.Embedding(9, 4, **kw), torch.nn.Embedding(9, 4, **kw)
    assert repr(e) == repr(t) and e.padding_idx == t.padding_idx
    if t.padding_idx is not None:
        assert not e.weight.detach().numpy()[e.padding_idx].any()
    _copy_table(e, t)
    (ie, it) = _both(np.array([[1, 7, 7], [0, 3, 8]]))
    oe, ot = e(ie), t(it)
    assert_close(oe, ot)
    oe.square().sum().backward()
    ot.square().sum().backward()
    _same_grad(e.weight.grad, t.weight.grad)
    assert_close(e.weight, t.weight, atol=1e-6, rtol=1e-6)


def test_embedding_reset_parameters_is_standard_normal_with_a_zero_padding_row():
    e = edunn.nn.Embedding(4000, 8, padding_idx=5)
    w = e.weight.detach().numpy()
    assert not w[5].any()
    assert abs(w.mean()) < 0.03 and abs(w.std() - 1) < 0.02  # 5 standard errors
    e = edunn.nn.Embedding(3, 2, dtype=edunn.float64)
    assert e.weight.dtype is edunn.float64 and e.weight.requires_grad


@pytest.mark.parametrize("kw", [{}, {"mode": "sum", "padding_idx": 1},
                                {"mode": "max", "include_last_offset": True},
                                {"mode": "sum", "sparse": True, "max_norm": 1.5}], ids=repr)
def test_embedding_bag_module_matches_torch(kw):
    e, t = edunn.nn.EmbeddingBag(9, 4, **kw), torch.nn.EmbeddingBag(9, 4, **kw)
    assert repr(e) == repr(t)
    _copy_table(e, t)
    (ie, it), (oe_, ot_) = _both(np.array([1, 7, 7, 0, 3, 8])), _both(np.array([0, 2, 2, 6]))
    if kw.get("mode") == "sum":
        pe, pt = _both(np.linspace(0.5, 2, 6).astype(np.float32))
        oe, ot = e(ie, oe_, per_sample_weights=pe), t(it, ot_, per_sample_weights=pt)
    else:
        oe, ot = e(ie, oe_), t(it, ot_)
    assert_close(oe, ot)
    oe.square().sum().backward()
    ot.square().sum().backward()
    _same_grad(e.weight.grad, t.weight.grad)
    (be, bt) = _both(np.array([[1, 2], [3, 3]]))
    assert_close(e(be), t(bt))


@pytest.mark.parametrize("cls", ["Embedding", "EmbeddingBag"])
@pytest.mark.parametrize("freeze", [True, False])
def test_from_pretrained(cls, freeze):
    table = np.arange(12, dtype=np.float32).reshape(4, 3)
    (we, wt) = _both(table)
    e = getattr(edunn.nn, cls).from_pretrained(we, freeze=freeze, padding_idx=1)
    t = getattr(torch.nn, cls).from_pretrained(wt, freeze=freeze, padding_idx=1)
    assert repr(e) == repr(t)
    assert e.weight.requires_grad == t.weight.requires_grad == (not freeze)
    assert e.weight._data is we._data  # shared, as PyTorch's
    np.testing.assert_array_equal(e.weight.detach().numpy(), table)  # padding row kept as given
    (ie, it) = _both(np.array([[0, 1, 3]]))
    assert_close(e(ie), t(it))
    with pytest.raises(AssertionError, match="Embeddings parameter is expected to be 2-dimensional"):
        getattr(edunn.nn, cls).from_pretrained(we[0])


def test_module_errors_match_torch():
    for cls, msg in (("Embedding", "Padding_idx must be within num_embeddings"),
                     ("EmbeddingBag", "padding_idx must be within num_embeddings")):
        for pad in (4, -5):
            with pytest.raises(AssertionError, match=msg):
                getattr(edunn.nn, cls)(4, 2, padding_idx=pad)
            with pytest.raises(AssertionError, match=msg):
                getattr(torch.nn, cls)(4, 2, padding_idx=pad)
        with pytest.raises(AssertionError, match="Shape of weight does not match"):
            getattr(edunn.nn, cls)(4, 2, _weight=edunn.zeros(3, 2))


# ---------------------------------------------------------------- training on sparse gradients
@pytest.mark.parametrize("opt, kw", [("SparseAdam", {"lr": 0.05}),
                                     ("SparseAdam", {"lr": 0.02, "betas": (0.8, 0.9)}),
                                     ("SGD", {"lr": 0.3}), ("SGD", {"lr": 0.1, "momentum": 0.9}),
                                     ("Adagrad", {"lr": 0.2, "lr_decay": 0.01}),
                                     ("Adagrad", {"lr": 0.1, "eps": 1e-3, "maximize": True,
                                                  "initial_accumulator_value": 0.5})],
                         ids=repr)
def test_sparse_embedding_trains_like_torch(opt, kw):
    rng = np.random.default_rng(3)
    e = edunn.nn.Embedding(20, 5, sparse=True, padding_idx=0)
    t = torch.nn.Embedding(20, 5, sparse=True, padding_idx=0)
    _copy_table(e, t)
    e_head, t_head = edunn.nn.Linear(5, 2), torch.nn.Linear(5, 2)
    with edunn.no_grad():
        e_head.weight.copy_(edunn.tensor(t_head.weight.detach().numpy()))
        e_head.bias.copy_(edunn.tensor(t_head.bias.detach().numpy()))
    e_opts = [getattr(edunn.optim, opt)(e.parameters(), **kw),
              edunn.optim.Adam(e_head.parameters(), lr=0.01)]
    t_opts = [getattr(torch.optim, opt)(t.parameters(), **kw),
              torch.optim.Adam(t_head.parameters(), lr=0.01)]
    for _ in range(20):
        idx = rng.integers(0, 20, (4, 6))
        target = rng.standard_normal((4, 6, 2)).astype(np.float32)
        for fw, emb, head, opts in ((edunn, e, e_head, e_opts), (torch, t, t_head, t_opts)):
            for o in opts:
                o.zero_grad()
            loss = ((head(emb(fw.tensor(idx))) - fw.tensor(target)) ** 2).mean()
            loss.backward()
            for o in opts:
                o.step()
        assert e.weight.grad.is_sparse
    assert_close(e.weight, t.weight, atol=1e-5, rtol=1e-4)
    assert not e.weight.detach().numpy()[0].any()  # the padding row never moved
    if opt == "SparseAdam":
        state_e, state_t = e_opts[0].state[e.weight], t_opts[0].state[t.weight]
        assert state_e["step"] == state_t["step"]
        assert_close(state_e["exp_avg_sq"], state_t["exp_avg_sq"], atol=1e-6, rtol=1e-4)


def test_embedding_bag_sparse_trains_with_sparse_adam():
    rng = np.random.default_rng(4)
    e = edunn.nn.EmbeddingBag(12, 3, mode="sum", sparse=True)
    t = torch.nn.EmbeddingBag(12, 3, mode="sum", sparse=True)
    _copy_table(e, t)
    eo, to = edunn.optim.SparseAdam(e.parameters(), lr=0.1), torch.optim.SparseAdam(t.parameters(), lr=0.1)
    for _ in range(10):
        idx = rng.integers(0, 12, 9)
        offs = np.array([0, 4, 4, 7])
        for fw, m, o in ((edunn, e, eo), (torch, t, to)):
            o.zero_grad()
            m(fw.tensor(idx), fw.tensor(offs)).sum().square().backward()
            o.step()
    assert_close(e.weight, t.weight, atol=1e-5, rtol=1e-4)


def test_adagrad_with_sparse_gradients_refuses_weight_decay_as_torch():
    for fw in (edunn, torch):
        emb = fw.nn.Embedding(4, 2, sparse=True)
        opt = fw.optim.Adagrad(emb.parameters(), weight_decay=0.1)
        emb(fw.tensor([1, 2])).sum().backward()
        with pytest.raises(RuntimeError, match="weight_decay option is not compatible with "
                                               "sparse gradients"):
            opt.step()
