"""Indexing: getitem with every index kind, setitem autograd, gather/scatter, masks, where."""
import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

def _ints(*arrays):
    return lambda rng: [rng.uniform(-2, 2, size=arrays[0])] + [np.asarray(a, dtype=np.int64) for a in arrays[1:]]


def _float_and(shape, *others):
    return lambda rng: [rng.uniform(-2, 2, size=shape)] + [np.asarray(o) for o in others]


IDX = np.array([[0, 2, 2], [1, 0, 2]])
SPECS = [
    OpSpec("getitem_int", lambda a: a[1], lambda a: a[1], [(3, 4)]),
    OpSpec("getitem_scalar", lambda a: a[1, -1], lambda a: a[1, -1], [(3, 4)]),
    OpSpec("getitem_slice_step", lambda a: a[::2, 1:], lambda a: a[::2, 1:], [(5, 4)], gradgrad=True),
    OpSpec("getitem_none_ellipsis", lambda a: a[..., None, 1], lambda a: a[..., None, 1], [(2, 3, 4)]),
    OpSpec("getitem_list_repeated", lambda a: a[[0, 2, 0, 0]], lambda a: a[[0, 2, 0, 0]], [(3, 4)], gradgrad=True),
    OpSpec("getitem_tensor_index", lambda a, i: a[i], lambda a, i: a[i], None, make_inputs=_ints((4, 3), IDX)),
    OpSpec("getitem_two_tensors", lambda a, i, j: a[i, j], lambda a, i, j: a[i, j], None,
           make_inputs=_ints((3, 4), [0, 2, 2, 1], [3, 3, 0, 3])),
    OpSpec("getitem_slice_adv", lambda a, i: a[1:, i], lambda a, i: a[1:, i], None, make_inputs=_ints((3, 4, 2), [3, 0, 3])),
    OpSpec("getitem_split_adv", lambda a, i: a[i, :, i], lambda a, i: a[i, :, i], None, make_inputs=_ints((3, 2, 3), [2, 0, 2])),
    OpSpec("getitem_bool_mask", lambda a, m: a[m], lambda a, m: a[m], None,
           make_inputs=_float_and((3, 4), np.arange(12).reshape(3, 4) % 3 == 0)),
    OpSpec("getitem_bool_rows", lambda a, m: a[m, 1:], lambda a, m: a[m, 1:], None,
           make_inputs=_float_and((3, 4), np.array([True, False, True]))),
    OpSpec("gather", lambda a, i: a.gather(1, i), lambda a, i: a.gather(1, i), None, make_inputs=_ints((2, 4), IDX), gradgrad=True),
    OpSpec("gather_small_index", lambda a, i: a.gather(0, i), lambda a, i: a.gather(0, i), None,
           make_inputs=_ints((4, 5), [[3, 0], [1, 1]])),
    OpSpec("scatter", lambda a, i, s: a.scatter(1, i, s), lambda a, i, s: a.scatter(1, i, s), None,
           make_inputs=lambda rng: [rng.normal(size=(2, 4)), np.array([[0, 3, 1], [2, 1, 0]]), rng.normal(size=(2, 3))]),
    OpSpec("scatter_value", lambda a, i: a.scatter(0, i, value=1.5), lambda a, i: a.scatter(0, i, value=1.5), None,
           make_inputs=_ints((3, 2), [[0, 2]])),
    OpSpec("scatter_add", lambda a, i, s: a.scatter_add(1, i, s), lambda a, i, s: a.scatter_add(1, i, s), None,
           make_inputs=lambda rng: [rng.normal(size=(2, 4)), IDX, rng.normal(size=(2, 3))], gradgrad=True),
    OpSpec("scatter_reduce_sum", lambda a, i, s: a.scatter_reduce(1, i, s, "sum", include_self=False),
           lambda a, i, s: a.scatter_reduce(1, i, s, "sum", include_self=False), None,
           make_inputs=lambda rng: [rng.normal(size=(2, 4)), IDX, rng.normal(size=(2, 3))]),
    OpSpec("scatter_reduce_mean", lambda a, i, s: a.scatter_reduce(1, i, s, "mean"),
           lambda a, i, s: a.scatter_reduce(1, i, s, "mean"), None,
           make_inputs=lambda rng: [rng.normal(size=(2, 4)), IDX, rng.normal(size=(2, 3))]),
    OpSpec("scatter_reduce_prod", lambda a, i, s: a.scatter_reduce(1, i, s, "prod"),
           lambda a, i, s: a.scatter_reduce(1, i, s, "prod"), None,
           make_inputs=lambda rng: [rng.uniform(0.5, 2, size=(2, 4)), IDX, rng.uniform(0.5, 2, size=(2, 3))]),
    OpSpec("scatter_reduce_amax", lambda a, i, s: a.scatter_reduce(1, i, s, "amax", include_self=False),
           lambda a, i, s: a.scatter_reduce(1, i, s, "amax", include_self=False), None,
           make_inputs=lambda rng: [rng.normal(size=(2, 4)), IDX, rng.normal(size=(2, 3))]),
    OpSpec("scatter_reduce_amin", lambda a, i, s: a.scatter_reduce(0, i, s, "amin"),
           lambda a, i, s: a.scatter_reduce(0, i, s, "amin"), None,
           make_inputs=lambda rng: [rng.normal(size=(3, 3)), np.array([[0, 1, 0], [0, 2, 2]]), rng.normal(size=(2, 3))]),
    OpSpec("index_select", lambda a, i: a.index_select(1, i), lambda a, i: a.index_select(1, i), None,
           make_inputs=_ints((2, 4), [3, 0, 3]), gradgrad=True),
    OpSpec("index_add", lambda a, i, s: a.index_add(0, i, s, alpha=2), lambda a, i, s: a.index_add(0, i, s, alpha=2), None,
           make_inputs=lambda rng: [rng.normal(size=(3, 2)), np.array([2, 0, 2]), rng.normal(size=(3, 2))]),
    OpSpec("index_copy", lambda a, i, s: a.index_copy(1, i, s), lambda a, i, s: a.index_copy(1, i, s), None,
           make_inputs=lambda rng: [rng.normal(size=(2, 4)), np.array([3, 1]), rng.normal(size=(2, 2))]),
    OpSpec("index_fill", lambda a, i: a.index_fill(1, i, -1.0), lambda a, i: a.index_fill(1, i, -1.0), None,
           make_inputs=_ints((2, 4), [0, 2, 2])),
    OpSpec("index_put_accumulate", lambda a, i, v: a.index_put((i,), v, accumulate=True),
           lambda a, i, v: a.index_put((i,), v, accumulate=True), None,
           make_inputs=lambda rng: [rng.normal(size=(4, 2)), np.array([1, 1, 3]), rng.normal(size=(3, 2))]),
    OpSpec("masked_fill", lambda a, m: a.masked_fill(m, 2.5), lambda a, m: a.masked_fill(m, 2.5), None,
           make_inputs=_float_and((3, 4), np.array([True, False, True, False]))),
    OpSpec("masked_fill_tensor_value", lambda a, v, m: a.masked_fill(m, v), lambda a, v, m: a.masked_fill(m, v), None,
           make_inputs=lambda rng: [rng.normal(size=(3, 4)), np.asarray(rng.normal()), np.eye(3, 4, dtype=bool)], gradgrad=True),
    OpSpec("masked_select", lambda a, m: a.masked_select(m), lambda a, m: a.masked_select(m), None,
           make_inputs=_float_and((2, 3), np.array([[True], [False]]))),
    OpSpec("masked_scatter", lambda a, m, s: a.masked_scatter(m, s), lambda a, m, s: a.masked_scatter(m, s), None,
           make_inputs=lambda rng: [rng.normal(size=(2, 3)), np.array([[True, False, True], [False, True, False]]),
                                    rng.normal(size=(5,))]),
    OpSpec("where", lambda c, a, b: edunn.where(c, a, b), lambda c, a, b: torch.where(c, a, b), None,
           make_inputs=lambda rng: [rng.normal(size=(3, 1)) > 0, rng.normal(size=(3, 4)), rng.normal(size=(4,))], gradgrad=True),
    OpSpec("where_scalar", lambda c, a: edunn.where(c, a, 0.0), lambda c, a: torch.where(c, a, 0.0), None,
           make_inputs=lambda rng: [rng.normal(size=(3, 4)) > 0, rng.normal(size=(3, 4))]),
    OpSpec("take", lambda a, i: a.take(i), lambda a, i: a.take(i), None, make_inputs=_ints((3, 4), [[0, 11], [5, 5]])),
    OpSpec("take_along_dim", lambda a, i: a.take_along_dim(i, 1), lambda a, i: a.take_along_dim(i, 1), None,
           make_inputs=_ints((3, 4), [[0, 3]])),
    OpSpec("put", lambda a, i, s: a.clone().put_(i, s, accumulate=True), lambda a, i, s: a.clone().put_(i, s, accumulate=True), None,
           make_inputs=lambda rng: [rng.normal(size=(2, 3)), np.array([5, 0, 5]), rng.normal(size=(3,))]),
    OpSpec("fill_diagonal", lambda a: a.clone().fill_diagonal_(3.0, wrap=True), lambda a: a.clone().fill_diagonal_(3.0, wrap=True),
           [(7, 3)]),
]


test_parity, test_gradcheck = spec_tests(SPECS, lesson=2)


@pytest.mark.lesson02
@needs_torch
@pytest.mark.parametrize("kind", ["slice_adv", "mask", "scalar", "broadcast_v", "accumulate"])
def test_setitem_autograd(kind, device):
    rng = np.random.default_rng(0)
    xa, va = rng.normal(size=(3, 4)), rng.normal(size=(2, 3))
    results = []
    for lib in (edunn, torch):
        x = lib.tensor(xa, requires_grad=True) if lib is torch else lib.tensor(xa, device=device, requires_grad=True)
        v = lib.tensor(va, requires_grad=True) if lib is torch else lib.tensor(va, device=device, requires_grad=True)
        y = x.clone()
        if kind == "slice_adv":
            y[1:, [0, 2, 3]] = v
        elif kind == "mask":
            y[y > 0] = v.sum()
        elif kind == "scalar":
            y[0, 1:3] = 7.0
        elif kind == "broadcast_v":
            y[:2, 1:] = v[:, :1]
        else:
            y.index_put_((lib.tensor([0, 0, 2]),), v[0].sum(), accumulate=True)
        (y * y).sum().backward()
        results.append((y, x.grad, v.grad))
    (y0, gx0, gv0), (y1, gx1, gv1) = results
    assert_close(y0, y1)
    assert_close(gx0, gx1)
    if gv1 is None:
        assert gv0 is None
    else:
        assert_close(gv0, gv1)


@pytest.mark.lesson01
@needs_torch
def test_getitem_semantics_match_torch():
    a = np.arange(60.0).reshape(3, 4, 5)
    x, t = edunn.tensor(a), torch.tensor(a)
    for index in [(0,), (slice(None), 2), (Ellipsis, 1), (None, 1, None), ([0, 2], slice(1, 3), [1, 4]),
                  (1, [0, 0, 3]), (slice(None), [[0], [2]], [1, 2]), (a[:, 0, 0] > 10,)]:
        ours = x[tuple(edunn.tensor(i) if isinstance(i, np.ndarray) else i for i in index)]
        ref = t[tuple(torch.tensor(i) if isinstance(i, np.ndarray) else i for i in index)]
        assert_close(ours, ref, what=str(index))
    assert x[edunn.tensor(1)].shape == (4, 5)
    with pytest.raises(IndexError):
        x[edunn.tensor([0.5])]


@pytest.mark.lesson01
def test_basic_index_is_view():
    x = edunn.zeros(3, 4)
    row = x[1]
    x[1, 2] = 5.0
    assert row[2].item() == 5.0
    assert x[[1]]._base is None


@pytest.mark.lesson01
def test_nonzero_and_where_single_arg():
    x = edunn.tensor([[0, 1], [2, 0]])
    assert x.nonzero().tolist() == [[0, 1], [1, 0]]
    r, c = x.nonzero(as_tuple=True)
    assert r.tolist() == [0, 1] and c.tolist() == [1, 0]
    assert [t.tolist() for t in edunn.where(x > 0)] == [[0, 1], [1, 0]]
    assert x.nonzero().dtype == edunn.int64


@pytest.mark.lesson01
def test_where_dtypes_and_errors():
    c = edunn.tensor([True, False])
    assert edunn.where(c, edunn.tensor([1, 2]), 0.5).dtype == edunn.float32
    assert edunn.where(c, 1, 0).dtype == edunn.int64
    assert edunn.where(c, 1.0, 0).dtype == edunn.float32
    with pytest.raises(RuntimeError, match="boolean"):
        edunn.where(edunn.tensor([1.0, 0.0]), 1.0, 0.0)
    with pytest.raises(RuntimeError, match="0-dimensional value tensor"):
        edunn.zeros(2).masked_fill(c, edunn.zeros(2))
    with pytest.raises(RuntimeError, match="Expected dtype int64 for index"):
        edunn.zeros(2, 2).gather(0, edunn.zeros(2, 2))


@pytest.mark.parametrize("bad", [-1, 3])
def test_gather_scatter_index_select_refuse_out_of_range_indices_as_torch(bad):
    torch = pytest.importorskip("torch")
    x, tx = edunn.arange(3.0), torch.arange(3.0)
    i, ti = edunn.tensor([bad]), torch.tensor([bad])
    for ours, theirs in ((lambda: x.gather(0, i), lambda: tx.gather(0, ti)),
                         (lambda: x.scatter_add(0, i, edunn.ones(1)), lambda: tx.scatter_add(0, ti, torch.ones(1))),
                         (lambda: x.index_select(0, i), lambda: tx.index_select(0, ti))):
        with pytest.raises(Exception) as want:
            theirs()
        with pytest.raises(want.type, match=str(want.value).split("\n")[0][:40].replace("(", ".").replace(")", ".")):
            ours()


def test_the_gpu_bounds_check_names_the_dimension_past_none_and_ellipsis():
    # CuPy wraps out-of-range indices around; edunn checks them (on a GPU as a device-side
    # assert).  The check itself, run on NumPy arrays here, where it raises at once.
    from edunn.ops.indexing import _check_bounds
    idx = (None, Ellipsis, np.array([0, 4]), slice(None))
    with pytest.raises(IndexError, match="index 4 is out of bounds for dimension 1 with size 4"):
        _check_bounds(idx, (2, 4, 5))
    _check_bounds((np.array([-4, 3]), np.asarray(True), np.array([1])), (4, 2))  # all in range
    with pytest.raises(IndexError, match="index -3 is out of bounds for dimension 1 with size 2"):
        _check_bounds((slice(None), np.array([1, -3])), (4, 2))
