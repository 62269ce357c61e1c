"""select, select_scatter, slice_scatter, diagonal_scatter and the utilities (isin,
unravel_index, renorm, rsub, scalar_tensor, fill, zero_, detach, empty_strided, predicates,
determinism flags): PyTorch parity (values, dtypes, gradients), gradcheck, errors."""
import math

import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch
from _torch_errors import same_error

pytestmark = pytest.mark.lesson01

S = OpSpec
SPECS = [
    S("select", lambda a: edunn.select(a, 1, 2), lambda a: torch.select(a, 1, 2), [(3, 4, 2)], gradgrad=True),
    S("select_negative", lambda a: edunn.select(a, -1, -2), lambda a: torch.select(a, -1, -2), [(3, 4)]),
    S("select_scatter", lambda a, b: edunn.select_scatter(a, b, 0, 1), lambda a, b: torch.select_scatter(a, b, 0, 1),
      [(3, 4), (4,)], gradgrad=True),
    S("select_scatter_negative", lambda a, b: edunn.select_scatter(a, b, dim=-1, index=-1),
      lambda a, b: torch.select_scatter(a, b, dim=-1, index=-1), [(2, 3, 4), (2, 3)]),
    S("slice_scatter", lambda a, b: edunn.slice_scatter(a, b, 1, 0, 4, 2), lambda a, b: torch.slice_scatter(a, b, 1, 0, 4, 2),
      [(3, 4), (3, 2)], gradgrad=True),
    S("slice_scatter_defaults", lambda a, b: edunn.slice_scatter(a, b, start=2), lambda a, b: torch.slice_scatter(a, b, start=2),
      [(3, 4), (1, 4)]),
    S("slice_scatter_negative_clamped", lambda a, b: edunn.slice_scatter(a, b, dim=1, start=-5, end=1),
      lambda a, b: torch.slice_scatter(a, b, dim=1, start=-5, end=1), [(3, 4), (3, 1)]),
    S("slice_scatter_whole", lambda a, b: edunn.slice_scatter(a, b), lambda a, b: torch.slice_scatter(a, b), [(3, 4), (3, 4)]),
    S("diagonal_scatter", lambda a, b: edunn.diagonal_scatter(a, b), lambda a, b: torch.diagonal_scatter(a, b),
      [(3, 4), (3,)], gradgrad=True),
    S("diagonal_scatter_offset", lambda a, b: edunn.diagonal_scatter(a, b, 1), lambda a, b: torch.diagonal_scatter(a, b, 1),
      [(3, 4), (3,)]),
    S("diagonal_scatter_negative_offset", lambda a, b: edunn.diagonal_scatter(a, b, -1), lambda a, b: torch.diagonal_scatter(a, b, -1),
      [(3, 4), (2,)]),
    S("diagonal_scatter_dims", lambda a, b: edunn.diagonal_scatter(a, b, 0, 0, 2), lambda a, b: torch.diagonal_scatter(a, b, 0, 0, 2),
      [(2, 3, 4), (3, 2)]),
    S("diagonal_scatter_keywords", lambda a, b: edunn.diagonal_scatter(a, b, offset=1, dim1=-1, dim2=1),
      lambda a, b: torch.diagonal_scatter(a, b, offset=1, dim1=-1, dim2=1), [(2, 3, 4), (2, 2)]),
    S("renorm", lambda a: edunn.renorm(a, 2, 0, 2.0), lambda a: torch.renorm(a, 2, 0, 2.0), [(3, 4)], gradgrad=True),
    S("renorm_dim1_p1", lambda a: edunn.renorm(a, 1, 1, 2.0), lambda a: torch.renorm(a, 1, 1, 2.0), [(3, 4)]),
    S("renorm_p3_3d", lambda a: edunn.renorm(a, 3, -1, 1.5), lambda a: torch.renorm(a, 3, -1, 1.5), [(2, 3, 4)]),
    S("renorm_pinf", lambda a: edunn.renorm(a, math.inf, 0, 1.5), lambda a: torch.renorm(a, math.inf, 0, 1.5), [],
      make_inputs=lambda r: [r.permutation(12).reshape(3, 4) * 0.3 - 1.7]),
    S("renorm_untouched", lambda a: edunn.renorm(a, 2, 0, 100.0), lambda a: torch.renorm(a, 2, 0, 100.0), [(3, 4)]),
    S("rsub", lambda a, b: edunn.rsub(a, b), lambda a, b: torch.rsub(a, b), [(3, 4), (4,)], gradgrad=True),
    S("rsub_alpha", lambda a, b: edunn.rsub(a, b, alpha=2.5), lambda a, b: torch.rsub(a, b, alpha=2.5), [(3, 4), (3, 4)]),
    S("rsub_number", lambda a: edunn.rsub(a, 2, 3), lambda a: torch.rsub(a, 2, 3), [(3,)]),
    S("fill_tensor_value", lambda a, v: edunn.fill(a, v), lambda a, v: torch.fill(a, v), [(3, 4), ()]),
    S("fill_number", lambda a: edunn.fill(a, 7), lambda a: torch.fill(a, 7), [(3, 4)], grad=False),
    S("detach", lambda a: edunn.detach(a) * 1, lambda a: torch.detach(a) * 1, [(3,)], grad=False),
]
test_parity, test_gradcheck = spec_tests(SPECS, lesson=1, gradcheck=[s for s in SPECS if s.grad])

CASES = [
    ("select_scatter_int_src", lambda m: m.select_scatter(m.zeros(3, 4), m.ones(4, dtype=m.int64), 0, 1)),
    ("select_scatter_double_src", lambda m: m.select_scatter(m.zeros(3, 4), m.ones(4, dtype=m.float64), 0, 1)),
    ("slice_scatter_empty", lambda m: m.slice_scatter(m.zeros(3, 4), m.ones(0, 4), start=5)),
    ("diagonal_scatter_int", lambda m: m.diagonal_scatter(m.zeros(3, 4, dtype=m.int64), m.tensor([1, 2, 3]))),
    ("isin", lambda m: m.isin(m.tensor([[1, 2], [3, 4]]), m.tensor([2, 3]))),
    ("isin_invert", lambda m: m.isin(m.tensor([[1, 2], [3, 4]]), m.tensor([2, 3]), invert=True)),
    ("isin_assume_unique", lambda m: m.isin(m.tensor([[1, 2], [3, 4]]), m.tensor([2, 3]), assume_unique=True)),
    ("isin_number_test", lambda m: m.isin(m.tensor([[1, 2], [3, 4]]), 3)),
    ("isin_number_element", lambda m: m.isin(2, m.tensor([2, 3]))),
    ("isin_mixed_dtypes", lambda m: m.isin(m.tensor([1, 2]), m.tensor([2.5, 2.0]))),
    ("isin_float_int", lambda m: m.isin(m.tensor([1.0, 2.5, 3.0]), m.tensor([3, 1]))),
    ("isin_nan", lambda m: m.isin(m.tensor([1.0, float("nan")]), m.tensor([float("nan"), 1.0]))),
    ("isin_empty_test", lambda m: m.isin(m.tensor([1, 2]), m.tensor([], dtype=m.int64))),
    ("isin_many", lambda m: m.isin(m.arange(40).reshape(4, 10) % 13, m.tensor([12, 0, 5, 5, 7, 99, -1]))),
    ("isin_uint8_promotes", lambda m: m.isin(m.tensor([1, 2], dtype=m.uint8), m.tensor([258]))),
    ("renorm_half", lambda m: m.renorm(m.tensor([[1.0, 2, 3], [4, 5, 6]], dtype=m.float16), 2, 0, 5)),
    ("renorm_double", lambda m: m.renorm(m.tensor([[1.0, 2, 3], [4, 5, 6]], dtype=m.float64), 2.5, 0, 3)),
    ("rsub_int_float_number", lambda m: m.rsub(m.tensor([1, 2]), 2.5)),
    ("rsub_int", lambda m: m.rsub(m.tensor([1, 2]), m.tensor([5, 7]), alpha=2)),
    ("scalar_tensor_int", lambda m: m.scalar_tensor(3)),
    ("scalar_tensor_bool", lambda m: m.scalar_tensor(True)),
    ("scalar_tensor_dtype", lambda m: m.scalar_tensor(3, dtype=m.int32)),
    ("scalar_tensor_from_tensor", lambda m: m.scalar_tensor(m.tensor(2))),
    ("fill_int_truncates", lambda m: m.fill(m.ones(2, 3, dtype=m.int64), 2.7)),
    ("fill_bool", lambda m: m.fill(m.ones(2, dtype=m.bool), 0)),
    ("fill_", lambda m: m.fill_(m.ones(2, 3), 3)),
    ("zero_", lambda m: m.zero_(m.ones(2, 3))),
    ("detach_values", lambda m: m.detach(m.ones(2, 3))),
]


@needs_torch
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_values_and_dtypes_match_pytorch(name, fn):
    ours, theirs = fn(edunn), fn(torch)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
    assert_close(ours, theirs, atol=1e-3 if "half" in name else 1e-5, what=name)


UNRAVEL = [
    ("scalar", lambda m: m.unravel_index(m.tensor(4), (3, 2))),
    ("vector", lambda m: m.unravel_index(m.tensor([4, 1]), (3, 2))),
    ("matrix", lambda m: m.unravel_index(m.tensor([[4], [1]]), (3, 2))),
    ("wraps", lambda m: m.unravel_index(m.tensor([-1, 6, -7]), (3, 2))),
    ("int_shape", lambda m: m.unravel_index(m.tensor([1, 3]), 5)),
    ("empty_shape", lambda m: m.unravel_index(m.tensor(0), ())),
    ("int32", lambda m: m.unravel_index(m.tensor([1, 5], dtype=m.int32), (3, 2))),
    ("three_dims", lambda m: m.unravel_index(m.arange(24), m.Size([2, 3, 4]))),
    ("list_shape", lambda m: m.unravel_index(m.tensor([7]), [2, 4])),
]


@needs_torch
@pytest.mark.parametrize("name,fn", UNRAVEL, ids=[c[0] for c in UNRAVEL])
def test_unravel_index_matches_pytorch(name, fn, device):
    ours = fn(edunn)
    theirs = fn(torch)
    assert isinstance(ours, tuple) and len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert o.dtype == edunn.int64 and t.dtype == torch.int64
        assert_close(o, t, what=name)


@needs_torch
def test_predicates_match_pytorch():
    x, y = edunn.ones(2, 3), edunn.ones(3)
    tx, ty = torch.ones(2, 3), torch.ones(3)
    assert edunn.is_same_size(x, x) is torch.is_same_size(tx, tx) is True
    assert edunn.is_same_size(x, y) is torch.is_same_size(tx, ty) is False
    for d in ("float32", "int64", "uint8", "bool", "int8", "float16"):
        assert edunn.is_signed(edunn.ones(1, dtype=getattr(edunn, d))) == torch.is_signed(torch.ones(1, dtype=getattr(torch, d))), d
    for v in ([0.0], [1.5], [False], 3, float("nan")):
        assert edunn.is_nonzero(edunn.tensor(v)) == torch.is_nonzero(torch.tensor(v)), v


@needs_torch
def test_undocumented_builtins_take_torchs_keywords():
    x, tx = edunn.ones(2), torch.ones(2)
    assert_close(edunn.rsub(input=x, other=2, alpha=3), torch.rsub(input=tx, other=2, alpha=3))
    assert_close(edunn.fill(input=x, value=2), torch.fill(input=tx, value=2))
    assert_close(edunn.fill_(input=x.clone(), value=2), torch.fill_(input=tx.clone(), value=2))
    assert edunn.is_same_size(input=x, other=x) and torch.is_same_size(input=tx, other=tx)
    assert edunn.is_signed(input=x) and torch.is_signed(input=tx)
    assert_close(edunn.detach(input=x), torch.detach(input=tx))
    assert_close(edunn.zero_(input=x.clone()), torch.zero_(input=tx.clone()))
    assert_close(edunn.scalar_tensor(s=2, dtype=edunn.int64), torch.scalar_tensor(s=2, dtype=torch.int64))


def test_in_place_fills_write_into_their_tensor_and_detach_cuts_the_graph(device):
    x = edunn.ones(2, 3, device=device)
    assert edunn.fill_(x, 4) is x and x.sum().item() == 24
    assert edunn.zero_(x) is x and x.sum().item() == 0
    a = edunn.ones(3, device=device, requires_grad=True)
    d = edunn.detach(a)
    assert not d.requires_grad and d.grad_fn is None
    s = edunn.scalar_tensor(2.5, device=device, requires_grad=True)
    assert s.requires_grad and s.shape == () and s.device.type == device


def test_empty_strided_has_the_strides_asked_for(device):
    t = edunn.empty_strided((2, 3), (1, 2), device=device)
    assert t.shape == (2, 3) and t.stride() == (1, 2) and t.dtype == edunn.float32
    u = edunn.empty_strided((2, 3), (3, 1), dtype=edunn.int32, device=device, requires_grad=False)
    assert u.stride() == (3, 1) and u.dtype == edunn.int32
    assert edunn.empty_strided((0, 3), (3, 1)).shape == (0, 3)
    assert edunn.empty_strided((2, 2), (1, 1), dtype=edunn.float64, requires_grad=True).requires_grad


@needs_torch
def test_determinism_flags_are_stored_as_in_pytorch():
    saved = (torch.are_deterministic_algorithms_enabled(), torch.is_deterministic_algorithms_warn_only_enabled())
    try:
        for mode, warn in ((True, False), (True, True), (False, True), (False, False)):
            edunn.use_deterministic_algorithms(mode, warn_only=warn)
            torch.use_deterministic_algorithms(mode, warn_only=warn)
            assert edunn.are_deterministic_algorithms_enabled() is torch.are_deterministic_algorithms_enabled()
            assert (edunn.is_deterministic_algorithms_warn_only_enabled()
                    is torch.is_deterministic_algorithms_warn_only_enabled())
        edunn.use_deterministic_algorithms(True)
        torch.use_deterministic_algorithms(True)
        assert edunn.is_deterministic_algorithms_warn_only_enabled() is torch.is_deterministic_algorithms_warn_only_enabled() is False
        same_error(lambda: edunn.use_deterministic_algorithms(1), lambda: torch.use_deterministic_algorithms(1))
        same_error(lambda: edunn.use_deterministic_algorithms(True, warn_only=1),
                   lambda: torch.use_deterministic_algorithms(True, warn_only=1))
    finally:
        edunn.use_deterministic_algorithms(False)
        torch.use_deterministic_algorithms(saved[0], warn_only=saved[1])


def test_isin_is_vectorised_and_right_on_a_large_input():
    rng = np.random.default_rng(0)
    e, t = rng.integers(0, 1000, 5000), rng.integers(0, 1000, 300)
    np.testing.assert_array_equal(edunn.isin(edunn.tensor(e), edunn.tensor(t)).numpy(), np.isin(e, t))


ERRORS = [
    ("select_out_of_range", lambda m: m.select(m.zeros(3, 4), 0, 5)),
    ("select_bad_dim", lambda m: m.select(m.zeros(3, 4), 2, 0)),
    ("select_0d", lambda m: m.select(m.tensor(1.0), 0, 0)),
    ("select_scatter_size", lambda m: m.select_scatter(m.zeros(3, 4), m.ones(3), 0, 1)),
    ("select_scatter_extra_dim", lambda m: m.select_scatter(m.zeros(3, 4), m.ones(1, 4), 0, 1)),
    ("select_scatter_index", lambda m: m.select_scatter(m.zeros(3, 4), m.ones(4), 0, 3)),
    ("slice_scatter_size", lambda m: m.slice_scatter(m.zeros(3, 4), m.ones(2, 4), start=2)),
    ("slice_scatter_step", lambda m: m.slice_scatter(m.zeros(3, 4), m.ones(3, 2), 1, step=0)),
    ("diagonal_scatter_size", lambda m: m.diagonal_scatter(m.zeros(3, 4), m.ones(4))),
    ("diagonal_scatter_same_dims", lambda m: m.diagonal_scatter(m.zeros(3, 4), m.ones(3), 0, 1, 1)),
    ("isin_bool", lambda m: m.isin(m.tensor([True]), m.tensor([1]))),
    ("isin_two_numbers", lambda m: m.isin(2, 3)),
    ("unravel_float", lambda m: m.unravel_index(m.tensor([1.0]), (3, 2))),
    ("unravel_bool", lambda m: m.unravel_index(m.tensor([True]), (3, 2))),
    ("unravel_negative_shape", lambda m: m.unravel_index(m.tensor([1]), (3, -1))),
    ("renorm_p0", lambda m: m.renorm(m.ones(2, 3), 0, 0, 5)),
    ("renorm_negative_p", lambda m: m.renorm(m.ones(2, 3), -1, 0, 5)),
    ("renorm_negative_maxnorm", lambda m: m.renorm(m.ones(2, 3), 2, 0, -1)),
    ("renorm_int", lambda m: m.renorm(m.ones(2, 3, dtype=m.int64), 2, 0, 1)),
    ("renorm_1d", lambda m: m.renorm(m.ones(3), 2, 0, 1)),
    ("renorm_0d", lambda m: m.renorm(m.tensor(3.0), 2, 0, 1)),
    ("renorm_bad_dim", lambda m: m.renorm(m.ones(2, 3), 2, 3, 1)),
    ("rsub_bools", lambda m: m.rsub(m.tensor([True]), m.tensor([True]))),
    ("rsub_float_alpha_int", lambda m: m.rsub(m.tensor([1, 2]), 1, alpha=0.5)),
    ("is_nonzero_many", lambda m: m.is_nonzero(m.tensor([1, 1]))),
    ("is_nonzero_empty", lambda m: m.is_nonzero(m.tensor([]))),
    ("is_same_size_number", lambda m: m.is_same_size(m.ones(2), 2)),
    ("fill_1d_value", lambda m: m.fill(m.ones(2, 3), m.tensor([2.5]))),
    ("fill__1d_value", lambda m: m.fill_(m.ones(2, 3), m.tensor([2.5]))),
    ("empty_strided_dims", lambda m: m.empty_strided((2, 3), (1,))),
]


@needs_torch
@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_pytorch(name, fn):
    same_error(lambda: fn(edunn), lambda: fn(torch), exact=name not in ("isin_two_numbers",))


@needs_torch
def test_out_arguments_like_torch():
    cases = [
        (lambda m, o: m.diff(m.tensor([[1.0, 4, 9], [2, 3, 5]]), out=o), lambda m: m.empty(0)),
        (lambda m, o: m.isin(m.tensor([1, 2, 3]), m.tensor([2]), out=o), lambda m: m.empty(3, dtype=m.bool)),
        (lambda m, o: m.slice_scatter(m.zeros(3, 2), m.ones(1, 2), start=1, end=2, out=o), lambda m: m.empty(3, 2)),
        (lambda m, o: m.renorm(m.tensor([[1.0, 2], [3, 4]]), 2, 0, 1.0, out=o), lambda m: m.empty(2, 2)),
        (lambda m, o: tuple(m.histogram(m.tensor([1.0, 2, 2.5]), 2, out=o)), lambda m: (m.empty(2), m.empty(3))),
    ]
    for call, make in cases:
        results = []
        for m in (edunn, torch):
            out = make(m)
            got = call(m, out)
            outs, gots = (out, got) if isinstance(out, tuple) else ((out,), (got,))
            assert all(g is o for g, o in zip(gots, outs))
            results.append(outs)
        for o, t in zip(*results):
            assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
            assert_close(o, t)
