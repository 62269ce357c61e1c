"""The rarer everyday ``Tensor`` methods and ``index_reduce``, each compared with torch."""
import warnings

import numpy as np
import pytest

import edunn
from edunn.ops.index_reduce import index_reduce
from opcheck import needs_torch, torch

pytestmark = needs_torch


def _t(a, device="cpu", **kw):
    return edunn.tensor(a, device=device, **kw)


def _np(t):
    return np.asarray(t.detach().cpu().numpy() if hasattr(t, "numpy") else t)


def _same_error(fn_ours, fn_torch):
    with pytest.raises(Exception) as theirs:
        fn_torch()
    with pytest.raises(type(theirs.value)) as ours:
        fn_ours()
    assert str(ours.value).split("\n")[0] == str(theirs.value).split("\n")[0]


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
@pytest.mark.parametrize("include_self", [True, False])
@pytest.mark.parametrize("dtype", ["float64", "int64"])
def test_index_reduce_values(device, reduce, include_self, dtype):
    rng = np.random.default_rng(1)
    x = rng.integers(-3, 4, (4, 3, 2)).astype(dtype)
    s = rng.integers(-3, 4, (4, 5, 2)).astype(dtype)
    i = np.array([0, 2, 0, 1, 2])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        want = torch.tensor(x).index_reduce(1, torch.tensor(i), torch.tensor(s), reduce, include_self=include_self)
    got = _t(x, device).index_reduce(1, _t(i, device), _t(s, device), reduce, include_self=include_self)
    assert got.dtype.name == dtype and np.array_equal(_np(got), want.numpy())
    xe = _t(x, device)
    assert xe.index_reduce_(1, _t(i, device), _t(s, device), reduce, include_self=include_self) is xe
    assert np.array_equal(_np(xe), want.numpy())
    assert np.array_equal(_np(index_reduce(_t(x, device), 1, _t(i, device), _t(s, device), reduce,
                                           include_self=include_self)), want.numpy())


@pytest.mark.parametrize("reduce", ["prod", "mean", "amax", "amin"])
def test_index_reduce_gradients(reduce):
    x = [[1., 2.], [3., 4.], [0.5, -1.]]
    s = [[5., 4.], [3., 4.], [1., 1.], [2., -3.]]
    idx = [0, 0, 1, 0]
    ours = [_t(x, dtype=edunn.float64, requires_grad=True), _t(s, dtype=edunn.float64, requires_grad=True)]
    theirs = [torch.tensor(x, dtype=torch.float64, requires_grad=True), torch.tensor(s, dtype=torch.float64, requires_grad=True)]
    w = np.arange(6.).reshape(3, 2)
    (ours[0].index_reduce(0, _t(idx), ours[1], reduce) * _t(w, dtype=edunn.float64)).sum().backward()
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        (theirs[0].index_reduce(0, torch.tensor(idx), theirs[1], reduce) * torch.tensor(w)).sum().backward()
    for a, b in zip(ours, theirs):
        np.testing.assert_allclose(_np(a.grad), b.grad.numpy(), atol=1e-12)
    if reduce in ("prod", "mean"):
        rng = np.random.default_rng(0)
        a = _t(rng.normal(size=(3, 2)) + 2, dtype=edunn.float64, requires_grad=True)
        b = _t(rng.normal(size=(4, 2)) + 2, dtype=edunn.float64, requires_grad=True)
        assert edunn.autograd.gradcheck(lambda p, q: index_reduce(p, 0, _t(idx), q, reduce), (a, b))


def test_index_reduce_errors():
    x, s = np.ones((3, 2)), np.ones((2, 2))
    cases = [
        (lambda m: m.tensor(x).index_reduce(0, m.tensor([0, 2]), m.tensor(s), "sum")),
        (lambda m: m.tensor(x).index_reduce(0, m.tensor([[0, 2]]), m.tensor(s), "prod")),
        (lambda m: m.tensor(x).index_reduce(0, m.tensor([0., 2.]), m.tensor(s), "prod")),
        (lambda m: m.tensor(x).index_reduce(0, m.tensor([0, 5]), m.tensor(s), "prod")),
        (lambda m: m.tensor(x).index_reduce(0, m.tensor([0, -1]), m.tensor(s), "prod")),
        (lambda m: m.tensor(x).index_reduce(0, m.tensor([0, 1, 2]), m.tensor(s), "prod")),
        (lambda m: m.tensor(x).index_reduce(0, m.tensor([0, 2]), m.tensor(np.ones((2, 3))), "prod")),
        (lambda m: m.tensor(x).index_reduce(0, m.tensor([0, 2]), m.tensor(np.ones(2)), "prod")),
        (lambda m: m.tensor(x).index_reduce(0, m.tensor([0, 2]), m.tensor(s, dtype=m.float32), "prod")),
        (lambda m: m.tensor(x).index_reduce(2, m.tensor([0, 2]), m.tensor(s), "prod")),
    ]
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        for case in cases:
            _same_error(lambda: case(edunn), lambda: case(torch))


def test_flags_and_pointers(device):
    x = _t([[1., 2., 3.], [4., 5., 6.]], device)
    tx = torch.tensor([[1., 2., 3.], [4., 5., 6.]])
    assert x.is_cpu == (device == "cpu") and x.is_meta is False
    assert x.is_inference() is False and x.is_neg() is False and x.is_conj() is False
    assert x.resolve_neg() is x
    assert x.output_nr == tx.output_nr == 0
    a = edunn.tensor([1., 2.], requires_grad=True)
    assert a.unbind()[1].output_nr == torch.tensor([1., 2.], requires_grad=True).unbind()[1].output_nr == 1
    assert x[1].data_ptr() - x.data_ptr() == tx[1].data_ptr() - tx.data_ptr() == 12
    assert x.const_data_ptr() == x.data_ptr()
    assert x.is_set_to(x.view(2, 3)) == tx.is_set_to(tx.view(2, 3)) is True
    assert x.is_set_to(x[:1]) == tx.is_set_to(tx[:1]) is False
    assert x.is_set_to(x.clone()) == tx.is_set_to(tx.clone()) is False
    assert x.to_dense() is x
    assert x.to_dense(edunn.float64).dtype == edunn.float64


def test_sum_to_size():
    rng = np.random.default_rng(0)
    a = rng.normal(size=(2, 3, 4))
    for size in [(1, 3, 1), (4,), (3, 4), ((2, 1, 4),), ([1, 1],)]:
        want = torch.tensor(a).sum_to_size(*size)
        got = _t(a).sum_to_size(*size)
        assert tuple(got.shape) == tuple(want.shape)
        np.testing.assert_allclose(_np(got), want.numpy())
    for size in [(2, 2), (1, 2, 3, 4)]:
        _same_error(lambda: _t(a).sum_to_size(*size), lambda: torch.tensor(a).sum_to_size(*size))
    x = _t(a, requires_grad=True)
    assert edunn.autograd.gradcheck(lambda t: t.sum_to_size(3, 1), (x,))


def test_resize():
    for start, size in [((6,), (2, 2)), ((4,), (2, 2)), ((2, 3), (3, 2)), ((2, 3), (6,))]:
        n = int(np.prod(start))
        got = edunn.arange(n).reshape(start).resize_(*size)
        want = torch.arange(n).reshape(start).resize_(*size)
        assert np.array_equal(_np(got), want.numpy())
    t = edunn.arange(6.).reshape(2, 3).t()
    assert np.array_equal(_np(t.resize_(2, 2)), torch.arange(6.).reshape(2, 3).t().resize_(2, 2).numpy())
    g = edunn.arange(4)
    assert g.resize_(3, 2) is g and tuple(g.shape) == (3, 2)
    assert np.array_equal(_np(g)[:2], [[0, 1], [2, 3]]) and np.array_equal(_np(g)[2], [0, 0])
    h = edunn.arange(6)
    assert h.resize_as_(edunn.zeros(2, 2)) is h and tuple(h.shape) == (2, 2)
    _same_error(lambda: edunn.ones(2, requires_grad=True).resize_(3),
                lambda: torch.ones(2, requires_grad=True).resize_(3))


def test_apply_map():
    x, tx = edunn.ones(3), torch.ones(3)
    f = lambda v: 5 if type(v) is float else 0  # noqa: E731  (the elements come as Python numbers)
    assert x.apply_(f) is x and np.array_equal(_np(x), tx.apply_(f).numpy())
    i, ti = edunn.ones(3, dtype=edunn.int32), torch.ones(3, dtype=torch.int32)
    assert np.array_equal(_np(i.apply_(lambda v: v * 2.7)), ti.apply_(lambda v: v * 2.7).numpy())
    y = edunn.ones(2, 3).map_(_t([1., 2., 3.]), lambda a, b: a + b)
    assert np.array_equal(_np(y), torch.ones(2, 3).map_(torch.tensor([1., 2., 3.]), lambda a, b: a + b).numpy())
    z = edunn.ones(3).map2_(edunn.ones(3), edunn.ones(1) * 2, lambda a, b, c: a + b + c)
    assert np.array_equal(_np(z), torch.ones(3).map2_(torch.ones(3), torch.ones(1) * 2, lambda a, b, c: a + b + c).numpy())
    _same_error(lambda: edunn.ones(2, requires_grad=True).apply_(f), lambda: torch.ones(2, requires_grad=True).apply_(f))
    _same_error(lambda: edunn.ones(2, requires_grad=True).map_(edunn.ones(2), max),
                lambda: torch.ones(2, requires_grad=True).map_(torch.ones(2), max))


@pytest.mark.gpu
def test_apply_map_are_cpu_only():
    x = edunn.ones(2, device="cuda")
    for call in (lambda: x.apply_(abs), lambda: x.map_(x, max), lambda: x.map2_(x, x, max)):
        with pytest.raises(TypeError, match="only implemented on CPU tensors"):
            call()


def test_inplace_forms_and_activations():
    for op in ("bitwise_left_shift_", "bitwise_right_shift_"):
        a, ta = _t([1, 8, -4]), torch.tensor([1, 8, -4])
        assert getattr(a, op)(1) is a and np.array_equal(_np(a), getattr(ta, op)(1).numpy())
    d = _t([1., 2.], dtype=edunn.float64)
    assert d.float_power_(2) is d
    assert np.array_equal(_np(d), torch.tensor([1., 2.], dtype=torch.float64).float_power_(2).numpy())
    _same_error(lambda: _t([1., 2.]).float_power_(2), lambda: torch.tensor([1., 2.]).float_power_(2))
    _same_error(lambda: _t([1, 2]).float_power_(2), lambda: torch.tensor([1, 2]).float_power_(2))
    v = [1., -0.2, 0.7, -3.]
    np.testing.assert_allclose(_np(_t(v).hardshrink(0.5)), torch.tensor(v).hardshrink(0.5).numpy())
    np.testing.assert_allclose(_np(_t(v).prelu(_t([0.25]))), torch.tensor(v).prelu(torch.tensor([0.25])).numpy())
    _same_error(lambda: edunn.ones(2, 3).prelu(_t([0.25, 1.])), lambda: torch.ones(2, 3).prelu(torch.tensor([0.25, 1.])))


def test_new_legacy_constructor():
    x, tx = _t([1, 2]), torch.tensor([1, 2])
    assert tuple(x.new(2, 3).shape) == tuple(tx.new(2, 3).shape) and x.new(2, 3).dtype == edunn.int64
    assert tuple(x.new(edunn.Size([2, 3])).shape) == (2, 3)
    for data in ([1.5, 2], (2, 3)):
        assert np.array_equal(_np(x.new(data)), tx.new(data).numpy()) and x.new(data).dtype == edunn.int64
    assert tuple(x.new().shape) == tuple(tx.new().shape) == (0,)
    assert x.new(x).data_ptr() == x.data_ptr()
    with pytest.raises(TypeError):
        x.new(_t([1., 2.]))


def test_nonzero_static():
    a = [0, 1, 0, 2]
    for kw in [dict(size=4), dict(size=1, fill_value=5), dict(size=0), dict(size=2, fill_value=0)]:
        got, want = _t(a).nonzero_static(**kw), torch.tensor(a).nonzero_static(**kw)
        assert got.dtype == edunn.int64 and np.array_equal(_np(got), want.numpy())
    m = [[0, 3], [4, 0]]
    assert np.array_equal(_np(_t(m).nonzero_static(size=3)), torch.tensor(m).nonzero_static(size=3).numpy())
    _same_error(lambda: _t(a).nonzero_static(size=-1), lambda: torch.tensor(a).nonzero_static(size=-1))


def test_dim_order_subclass_module_load():
    assert edunn.ones(2, 3).dim_order() == torch.ones(2, 3).dim_order()
    assert edunn.ones(2, 3, 4).permute(2, 0, 1).dim_order() == torch.ones(2, 3, 4).permute(2, 0, 1).dim_order()
    _same_error(lambda: edunn.ones(1, 3).dim_order(ambiguity_check=True), lambda: torch.ones(1, 3).dim_order(ambiguity_check=True))
    _same_error(lambda: edunn.ones(2, 3).dim_order(ambiguity_check=3), lambda: torch.ones(2, 3).dim_order(ambiguity_check=3))

    class Mine(edunn.Tensor):
        pass
    a = edunn.tensor([1., 2.], requires_grad=True)
    b = (a * 2).as_subclass(Mine)
    assert type(b) is Mine and b.data_ptr() != a.data_ptr() and b.grad_fn is not None
    b.sum().backward()
    assert np.array_equal(_np(a.grad), [2., 2.])
    _same_error(lambda: a.as_subclass(int), lambda: torch.ones(2).as_subclass(int))
    p, q = edunn.zeros(2), edunn.ones(2)
    out = p.module_load(q)
    assert np.array_equal(_np(p), [1., 1.]) and out.data_ptr() == p.data_ptr() and not out.requires_grad
    assert p.module_load(q, assign=True).data_ptr() == q.data_ptr()


@needs_torch
def test_addr_narrow_copy_and_the_splits_as_methods_like_torch():
    xn = np.random.RandomState(5).randn(3, 4)
    v1n, v2n = np.random.RandomState(6).randn(3), np.random.RandomState(7).randn(4)
    x, tx = edunn.tensor(xn, requires_grad=True), torch.tensor(xn, requires_grad=True)
    v1, v2 = edunn.tensor(v1n), edunn.tensor(v2n)
    tv1, tv2 = torch.tensor(v1n), torch.tensor(v2n)
    out, tout = x.addr(v1, v2, beta=0.5, alpha=2.0), tx.addr(tv1, tv2, beta=0.5, alpha=2.0)
    np.testing.assert_allclose(out.detach().numpy(), tout.detach().numpy(), rtol=1e-12)
    out.sum().backward()
    tout.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy())
    y, ty = edunn.tensor(xn), torch.tensor(xn)
    assert y.addr_(v1, v2) is y and ty.addr_(tv1, tv2) is ty
    np.testing.assert_allclose(y.numpy(), ty.numpy(), rtol=1e-12)
    e, t = edunn.tensor(xn), torch.tensor(xn)
    copy = e.narrow_copy(1, 1, 2)
    np.testing.assert_array_equal(copy.numpy(), t.narrow_copy(1, 1, 2).numpy())
    copy.fill_(0.0)
    assert e.numpy()[0, 1] == xn[0, 1], "narrow_copy must not share memory"
    for name, args in (("split_with_sizes", ([1, 2],)), ("unsafe_chunk", (2, 1)), ("unsafe_split", (2,)),
                       ("unsafe_split_with_sizes", ([3, 1], 1))):
        mine, theirs = getattr(e, name)(*args), getattr(t, name)(*args)
        assert len(mine) == len(theirs)
        for a, b in zip(mine, theirs):
            np.testing.assert_array_equal(a.numpy(), b.numpy())
