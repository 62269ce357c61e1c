"""Reductions, scans and order statistics: PyTorch parity, gradcheck, named tuples, errors."""
import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

def _distinct(shape):
    """Inputs whose values are well apart (no near-ties), for max/median/sort-like ops."""
    def make(rng):
        n = int(np.prod(shape))
        return [(rng.permutation(n) * 0.37 - n * 0.15).reshape(shape) + rng.uniform(-0.05, 0.05, shape)]
    return make


def _with_zeros(rng):
    a = rng.uniform(0.5, 1.5, (3, 4)) * rng.choice([-1, 1], (3, 4))
    a[0, 1] = 0.0             # one zero in row 0
    a[1, 0] = a[1, 2] = 0.0   # two zeros in row 1
    return [a]


def _ties(rng):
    return [np.array([[1.0, 3.0, 3.0, 2.0], [0.5, 0.5, 0.5, -1.0]])]


R = OpSpec
SPECS = [
    R("sum_tuple_dims", lambda a: a.sum((0, 2)), lambda a: a.sum((0, 2)), [(2, 3, 4)], gradgrad=True),
    R("sum_neg_dim_keepdim", lambda a: a.sum(-1, keepdim=True), lambda a: a.sum(-1, keepdim=True), [(2, 3)]),
    R("sum_dtype", lambda a: a.sum(dtype=edunn.float64), lambda a: a.sum(dtype=torch.float64), [(2, 3)]),
    R("nansum", lambda a: a.nansum(1), lambda a: a.nansum(1), [],
      make_inputs=lambda r: [np.where(r.uniform(size=(3, 4)) < 0.3, np.nan, r.uniform(-1, 1, (3, 4)))], grad=False),
    R("nansum_grad", lambda a: a.nansum(1), lambda a: a.nansum(1), [(3, 4)]),
    R("mean", lambda a: a.mean(), lambda a: a.mean(), [(3, 4)], gradgrad=True),
    R("mean_dims", lambda a: a.mean((0, 1), keepdim=True), lambda a: a.mean((0, 1), keepdim=True), [(2, 3, 4)]),
    R("nanmean", lambda a: a.nanmean(0), lambda a: a.nanmean(0), [(3, 4)]),
    R("prod_all", lambda a: a.prod(), lambda a: a.prod(), [(2, 3)], low=0.5, high=1.5, gradgrad=True),
    R("prod_dim", lambda a: a.prod(1, keepdim=True), lambda a: a.prod(1, keepdim=True), [(3, 4)], low=-1.5, high=1.5, gradgrad=True),
    R("prod_zeros", lambda a: a.prod(1), lambda a: a.prod(1), [], make_inputs=_with_zeros),
    R("max_all", lambda a: a.max(), lambda a: a.max(), [], make_inputs=_distinct((3, 4)), gradgrad=True),
    R("max_all_ties", lambda a: a.max(), lambda a: a.max(), [], make_inputs=_ties),
    R("min_all_ties", lambda a: a.min(), lambda a: a.min(), [], make_inputs=_ties),
    R("max_dim", lambda a: tuple(a.max(1)), lambda a: tuple(a.max(1)), [], make_inputs=_distinct((3, 4))),
    R("min_dim_keepdim", lambda a: tuple(a.min(0, keepdim=True)), lambda a: tuple(a.min(0, keepdim=True)), [],
      make_inputs=_distinct((3, 4))),
    R("max_other", lambda a, b: a.max(b), lambda a, b: a.max(b), [(3, 4), (3, 4)]),
    R("amax_tuple_ties", lambda a: a.amax((0, 1)), lambda a: a.amax((0, 1)), [], make_inputs=_ties),
    R("amax_dim_ties", lambda a: a.amax(1), lambda a: a.amax(1), [], make_inputs=_ties),
    R("amin_dim", lambda a: a.amin(-1, keepdim=True), lambda a: a.amin(-1, keepdim=True), [], make_inputs=_distinct((2, 5))),
    R("aminmax", lambda a: tuple(a.aminmax(dim=1)), lambda a: tuple(a.aminmax(dim=1)), [], make_inputs=_distinct((3, 4))),
    R("aminmax_all", lambda a: tuple(edunn.aminmax(a)), lambda a: tuple(torch.aminmax(a)), [], make_inputs=_distinct((3, 4))),
    R("var", lambda a: a.var(), lambda a: a.var(), [(3, 4)], gradgrad=True),
    R("var_dim_biased", lambda a: a.var(1, unbiased=False), lambda a: a.var(1, unbiased=False), [(3, 4)]),
    R("var_correction", lambda a: a.var((0, 2), keepdim=True, correction=2), lambda a: a.var((0, 2), keepdim=True, correction=2), [(3, 4, 2)]),
    R("std", lambda a: a.std(0), lambda a: a.std(0), [(3, 4)], gradgrad=True),
    R("var_mean", lambda a: edunn.var_mean(a, 1), lambda a: torch.var_mean(a, 1), [(3, 4)]),
    R("std_mean", lambda a: edunn.std_mean(a, correction=0), lambda a: torch.std_mean(a, correction=0), [(3, 4)]),
    R("norm_fro", lambda a: a.norm(), lambda a: a.norm(), [(3, 4)], gradgrad=True),
    R("norm_p1_dim", lambda a: a.norm(1, dim=1), lambda a: a.norm(1, dim=1), [], make_inputs=lambda r: [r.uniform(0.2, 1, (3, 4)) * r.choice([-1, 1], (3, 4))]),
    R("norm_p3", lambda a: a.norm(3, dim=0, keepdim=True), lambda a: a.norm(3, dim=0, keepdim=True), [(3, 4)]),
    R("norm_p05", lambda a: a.norm(0.5), lambda a: a.norm(0.5), [(3, 4)], low=0.2, high=2),
    R("norm_inf", lambda a: a.norm(float("inf"), dim=1), lambda a: a.norm(float("inf"), dim=1), [], make_inputs=_distinct((3, 4))),
    R("norm_neg_inf", lambda a: a.norm(float("-inf")), lambda a: a.norm(float("-inf")), [], make_inputs=_distinct((3, 4))),
    R("norm_p0", lambda a: a.norm(0), lambda a: a.norm(0), [(3, 4)]),
    R("logsumexp", lambda a: a.logsumexp(1), lambda a: a.logsumexp(1), [(3, 4)], low=-50, high=50, gradgrad=True),
    R("logsumexp_tuple_keepdim", lambda a: a.logsumexp((0, 1), keepdim=True), lambda a: a.logsumexp((0, 1), keepdim=True), [(2, 3, 2)]),
    R("cumsum", lambda a: a.cumsum(1), lambda a: a.cumsum(1), [(3, 4)], gradgrad=True),
    R("cumprod", lambda a: a.cumprod(0), lambda a: a.cumprod(0), [(4, 3)], low=0.5, high=1.5, gradgrad=True),
    R("cumprod_zeros", lambda a: a.cumprod(1), lambda a: a.cumprod(1), [], make_inputs=_with_zeros),
    R("cummax", lambda a: tuple(a.cummax(1)), lambda a: tuple(a.cummax(1)), [], make_inputs=_distinct((3, 5))),
    R("cummin", lambda a: tuple(a.cummin(0)), lambda a: tuple(a.cummin(0)), [], make_inputs=_distinct((5, 3))),
    R("logcumsumexp", lambda a: a.logcumsumexp(1), lambda a: a.logcumsumexp(1), [(3, 5)], low=-20, high=20),
    R("median_all", lambda a: a.median(), lambda a: a.median(), [], make_inputs=_distinct((3, 4))),
    R("median_all_ties", lambda a: a.median(), lambda a: a.median(), [], make_inputs=lambda r: [np.array([1.0, 2.0, 2.0, 3.0])]),
    R("median_dim", lambda a: tuple(a.median(1)), lambda a: tuple(a.median(1)), [], make_inputs=_distinct((3, 4))),
    R("nanmedian_dim", lambda a: tuple(a.nanmedian(0, keepdim=True)), lambda a: tuple(a.nanmedian(0, keepdim=True)), [],
      make_inputs=lambda r: [np.array([[1.0, np.nan, 3.0], [np.nan, np.nan, 1.0], [2.0, np.nan, 2.5]])], grad=False),
    R("mode", lambda a: tuple(a.mode(1)), lambda a: tuple(a.mode(1)), [],
      make_inputs=lambda r: [np.array([[1.0, 2.0, 2.0, 1.0, 3.0], [3.0, 1.0, 1.0, 3.0, 2.0]])]),
    R("quantile_scalar", lambda a: a.quantile(0.3, dim=1), lambda a: a.quantile(0.3, dim=1), [], make_inputs=_distinct((3, 5))),
    R("quantile_tensor_q", lambda a, q: a.quantile(q, dim=0, keepdim=True), lambda a, q: a.quantile(q, dim=0, keepdim=True), [],
      make_inputs=lambda r: _distinct((5, 3))(r) + [np.array([0.1, 0.5, 0.9])], grad_inputs=[0]),
    R("quantile_all", lambda a: a.quantile(0.75), lambda a: a.quantile(0.75), [], make_inputs=_distinct((3, 4))),
]

INTERP = ["linear", "lower", "higher", "midpoint", "nearest"]
SPECS += [R(f"quantile_{m}", (lambda m: lambda a: a.quantile(0.4, dim=1, interpolation=m))(m),
            (lambda m: lambda a: a.quantile(0.4, dim=1, interpolation=m))(m), [], make_inputs=_distinct((3, 6)))
          for m in INTERP]


# Ties, the L0 "norm" and mode are not smooth at the sampled points: parity only.
GRADCHECK = [s for s in SPECS if s.grad and "ties" not in s.name and s.name not in ("norm_p0", "mode")]
test_parity, test_gradcheck = spec_tests(SPECS, lesson=2, gradcheck=GRADCHECK)


# ---------------------------------------------------------------------------------------- non-differentiable
CASES = [
    ("argmax_flat", lambda m, x: x.argmax()),
    ("argmax_flat_keepdim", lambda m, x: x.argmax(keepdim=True)),
    ("argmin_dim", lambda m, x: x.argmin(1)),
    ("argmax_dim_keepdim", lambda m, x: x.argmax(0, keepdim=True)),
    ("all", lambda m, x: (x > 0).all()),
    ("any_dim", lambda m, x: (x > 0).any(1)),
    ("all_uint8", lambda m, x: (x > 0).to(m.uint8).all(0)),
    ("count_nonzero", lambda m, x: (x > 0).count_nonzero()),
    ("count_nonzero_dims", lambda m, x: m.count_nonzero(x > 0, dim=(0, 1))),
    ("sum_int", lambda m, x: (x * 10).to(m.int32).sum(1)),
    ("sum_bool", lambda m, x: (x > 0).sum()),
    ("prod_int", lambda m, x: (x * 3).to(m.int16).prod(0)),
    ("cumsum_int", lambda m, x: (x * 3).to(m.int32).cumsum(1)),
    ("cumsum_dtype", lambda m, x: x.cumsum(0, dtype=m.float64)),
    ("max_int", lambda m, x: (x * 10).to(m.int64).max()),
    ("mean_dtype_for_int", lambda m, x: (x * 10).to(m.int64).mean(dtype=m.float32)),
    ("median_int_dim", lambda m, x: (x * 10).to(m.int64).median(1)[0]),
    ("nanmedian_all", lambda m, x: m.nanmedian(m.log(x - 0.2))),
    ("nanmedian_dim", lambda m, x: m.nanmedian(m.log(x), 1)[0]),
    ("median_nan_propagates", lambda m, x: m.log(x).median()),
    ("median_dim_nan_index", lambda m, x: m.log(x).median(0)[1]),
    ("logsumexp_neg_inf_row", lambda m, x: m.tensor([[float("-inf")] * 3, [0.0, 1.0, 2.0]]).logsumexp(1)),
    ("nanquantile", lambda m, x: m.nanquantile(m.tensor([[1.0, float("nan"), 3.0, 2.0]]), 0.5, dim=1)),
    ("quantile_nan", lambda m, x: m.quantile(m.tensor([[1.0, float("nan"), 3.0]]), 0.5, dim=1)),
    ("norm_dtype", lambda m, x: x.norm(dtype=m.float64)),
    ("norm_zero_vector", lambda m, x: m.zeros(3).norm()),
]


@needs_torch
@pytest.mark.lesson01
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_values_and_dtypes_match_pytorch(name, fn):
    a = np.random.default_rng(3).uniform(-1, 1, (3, 4)).astype(np.float32)
    out, ref = fn(edunn, edunn.tensor(a)), fn(torch, torch.tensor(a))
    assert str(out.dtype).split(".")[-1] == str(ref.dtype).split(".")[-1], f"{name}: {out.dtype} vs {ref.dtype}"
    assert tuple(out.shape) == tuple(ref.shape)
    np.testing.assert_allclose(out.numpy().astype(np.float64), ref.numpy().astype(np.float64), rtol=1e-5, equal_nan=True)


@pytest.mark.lesson02
def test_named_tuples_have_pytorch_fields():
    x = edunn.tensor([[1.0, 5.0, 2.0], [4.0, 0.0, 3.0]])
    r = x.max(1)
    assert type(r).__name__ == "max" and r.values.tolist() == [5.0, 4.0] and r.indices.tolist() == [1, 0]
    v, i = x.min(dim=1, keepdim=True)
    assert v.shape == (2, 1) and i.tolist() == [[0], [1]]
    assert x.aminmax().min.item() == 0.0 and x.aminmax().max.item() == 5.0
    assert x.median(1).indices.tolist() == [2, 2]
    assert x.cummax(1).values.tolist() == [[1.0, 5.0, 5.0], [4.0, 4.0, 4.0]]
    assert x.mode(0).values.tolist() == [1.0, 0.0, 2.0]
    assert x.max().shape == () and edunn.max(x, x * 2).tolist() == (x * 2).tolist()


@needs_torch
@pytest.mark.lesson02
def test_prod_and_cumprod_gradients_with_zeros_match_pytorch():
    data = [[0.0, 2.0, 3.0, 0.5], [1.0, 0.0, 0.0, 2.0], [2.0, 3.0, 0.0, 4.0], [0.0, 1.0, 2.0, 3.0]]
    for fn in [lambda t: t.prod(1), lambda t: t.prod(0), lambda t: t.prod(), lambda t: t.cumprod(1), lambda t: t.cumprod(0)]:
        a, b = edunn.tensor(data, requires_grad=True), torch.tensor(data, requires_grad=True)
        g = np.random.default_rng(0).standard_normal(tuple(fn(b).shape)).astype(np.float32)
        fn(a).backward(edunn.tensor(g))
        fn(b).backward(torch.tensor(g))
        assert_close(a.grad, b.grad, what="grad with zeros")


@needs_torch
@pytest.mark.lesson02
def test_zero_norm_and_neg_inf_logsumexp_gradients():
    a, b = edunn.zeros(3, requires_grad=True), torch.zeros(3, requires_grad=True)
    a.norm().backward()
    b.norm().backward()
    assert a.grad.tolist() == b.grad.tolist() == [0.0, 0.0, 0.0]
    for p in (1, 3, 0.5):
        a = edunn.zeros(3, requires_grad=True)
        a.norm(p).backward()
        assert a.grad.tolist() == [0.0, 0.0, 0.0]


@pytest.mark.lesson01
def test_reduction_errors():
    with pytest.raises(RuntimeError, match="mean\\(\\): could not infer output dtype"):
        edunn.tensor([1, 2]).mean()
    with pytest.raises(RuntimeError, match="floating point"):
        edunn.tensor([1, 2]).var()
    with pytest.raises(IndexError, match="Dimension out of range"):
        edunn.ones(2, 3).sum(2)
    with pytest.raises(RuntimeError, match="multiple times"):
        edunn.ones(2, 3).sum((0, 0))
    with pytest.raises(RuntimeError, match=r"q values must be in the range \[0, 1\]"):
        edunn.ones(3).quantile(1.5)
    with pytest.raises(RuntimeError, match="float or double"):
        edunn.tensor([1, 2]).quantile(0.5)


@needs_torch
@pytest.mark.parametrize("make", [
    lambda m: m.norm(m.zeros(0), float("inf")), lambda m: m.norm(m.zeros(2, 0), float("inf"), dim=1),
    lambda m: m.norm(m.zeros(2, 0), -float("inf")), lambda m: m.cat([]), lambda m: m.stack([])],
    ids=["inf-empty", "inf-empty-dim", "-inf-empty", "cat-empty", "stack-empty"])
def test_empty_inputs_raise_like_pytorch(make):
    with pytest.raises(Exception) as ours:
        make(edunn)
    with pytest.raises(Exception) as theirs:
        make(torch)
    assert type(ours.value) is type(theirs.value) and str(ours.value) == str(theirs.value)


@needs_torch
@pytest.mark.parametrize("dim, keepdim", [(None, False), ((0, 2), True), ((2, 1), False)])
def test_nuclear_norm_matches_torch(dim, keepdim):
    a = np.random.default_rng(3).standard_normal((2, 3, 4))
    x, t = edunn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)
    take = (lambda m: m[0]) if dim is None else (lambda m: m)
    ours = edunn.norm(take(x), "nuc", dim=dim, keepdim=keepdim)
    theirs = torch.norm(take(t), "nuc", dim=dim, keepdim=keepdim)
    assert_close(ours, theirs, 1e-10, 1e-10, "value")
    ours.sum().backward()
    theirs.sum().backward()
    assert_close(x.grad, t.grad, 1e-10, 1e-8, "gradient")
