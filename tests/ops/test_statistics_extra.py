"""cov, corrcoef, histogram, histogramdd: PyTorch parity (values, dtypes, gradients), gradcheck,
every argument, errors."""
import warnings

import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch
from _torch_errors import same_error

pytestmark = pytest.mark.lesson01


def _fw(rng):
    return [rng.normal(size=(3, 5)), rng.integers(0, 4, size=5)]


def _aw(rng):
    return [rng.normal(size=(3, 5)), rng.uniform(0.1, 2.0, size=5)]


def _faw(rng):
    return [rng.normal(size=(2, 6)), rng.integers(1, 4, size=6), rng.uniform(0.1, 2.0, size=6)]


S = OpSpec
SPECS = [
    S("cov", lambda a: edunn.cov(a), lambda a: torch.cov(a), [(3, 5)], gradgrad=True),
    S("cov_1d", lambda a: edunn.cov(a), lambda a: torch.cov(a), [(6,)]),
    S("cov_correction0", lambda a: edunn.cov(a, correction=0), lambda a: torch.cov(a, correction=0), [(2, 4)]),
    S("cov_correction2", lambda a: edunn.cov(a, correction=2), lambda a: torch.cov(a, correction=2), [(2, 5)]),
    S("cov_fweights", lambda a, f: edunn.cov(a, fweights=f), lambda a, f: torch.cov(a, fweights=f), [], make_inputs=_fw,
      gradgrad=True),
    S("cov_aweights", lambda a, w: edunn.cov(a, aweights=w), lambda a, w: torch.cov(a, aweights=w), [], make_inputs=_aw,
      gradgrad=True),
    S("cov_both_weights", lambda a, f, w: edunn.cov(a, correction=2, fweights=f, aweights=w),
      lambda a, f, w: torch.cov(a, correction=2, fweights=f, aweights=w), [], make_inputs=_faw),
    S("cov_aweights_correction0", lambda a, w: edunn.cov(a, correction=0, aweights=w),
      lambda a, w: torch.cov(a, correction=0, aweights=w), [], make_inputs=_aw),
    S("corrcoef", lambda a: edunn.corrcoef(a), lambda a: torch.corrcoef(a), [(3, 6)], gradgrad=True),
    S("corrcoef_1d", lambda a: edunn.corrcoef(a), lambda a: torch.corrcoef(a), [(5,)], grad=False),
]
test_parity, test_gradcheck = spec_tests(SPECS, lesson=1, gradcheck=[s for s in SPECS if s.name != "corrcoef_1d"])

VALUE_CASES = [
    ("cov_int", lambda m: m.cov(m.tensor([[0, 1, 2], [2, 1, 0]]))),
    ("cov_int_fweights", lambda m: m.cov(m.tensor([[0, 1, 2], [2, 1, 0]]), fweights=m.tensor([1, 2, 3]))),
    ("cov_float64_aweights", lambda m: m.cov(m.tensor([[0.0, 1, 2], [2, 1, 0]]), aweights=m.tensor([0.5, 1, 2], dtype=m.float64))),
    ("cov_float16", lambda m: m.cov(m.tensor([[0.0, 1, 2], [2, 1, 3]], dtype=m.float16))),
    ("cov_scalar", lambda m: m.cov(m.tensor(3.0))),
    ("cov_one_observation", lambda m: m.cov(m.ones(2, 1))),
    ("cov_no_observations", lambda m: m.cov(m.ones(2, 0))),
    ("cov_correction_too_big", lambda m: m.cov(m.tensor([[0.0, 1, 2], [2, 1, 0]]), correction=5)),
    ("corrcoef_int", lambda m: m.corrcoef(m.tensor([[0, 1, 2], [2, 1, 5]]))),
    ("corrcoef_constant_row", lambda m: m.corrcoef(m.tensor([[1.0, 1, 1], [1, 2, 3]]))),
    ("corrcoef_scalar", lambda m: m.corrcoef(m.tensor(2.0))),
    ("histogram_bins", lambda m: tuple(m.histogram(m.tensor([1.0, 2, 1, 2.5, 4]), 4))),
    ("histogram_default_bins", lambda m: tuple(m.histogram(m.arange(250, dtype=m.float32) * 0.37 % 11))),
    ("histogram_range", lambda m: tuple(m.histogram(m.tensor([1.0, 2, 1, 2.5, 4, -1]), 3, range=(0.0, 3.0)))),
    ("histogram_edges", lambda m: tuple(m.histogram(m.tensor([1.0, 2, 1, 2.5, 4, 5]), m.tensor([0.0, 1.5, 2.0, 5.0])))),
    ("histogram_weight_density", lambda m: tuple(m.histogram(m.tensor([1.0, 2, 1, 2.5, 4]), 3,
                                                            weight=m.tensor([1.0, 2, 3, 4, 5]), density=True))),
    ("histogram_edges_density", lambda m: tuple(m.histogram(m.tensor([1.0, 2, 1, 2.5, 4]), bins=m.tensor([0.0, 1.0, 3.0, 5.0]),
                                                           density=True))),
    ("histogram_2d_input_weight", lambda m: tuple(m.histogram(m.tensor([[1.0, 2], [1, 2.5]]), 3, weight=m.tensor([[1.0, 2], [3, 4]])))),
    ("histogram_float64", lambda m: tuple(m.histogram(m.tensor([0.1, 0.7, 0.3], dtype=m.float64), 5))),
    ("histogram_constant", lambda m: tuple(m.histogram(m.ones(3), 2))),
    ("histogram_empty", lambda m: tuple(m.histogram(m.ones(0), 2))),
    ("histogram_nan_ignored", lambda m: tuple(m.histogram(m.tensor([0.0, float("nan"), 1.0]), 2, range=(0.0, 1.0)))),
    ("histogram_equal_range", lambda m: tuple(m.histogram(m.tensor([1.0, 2, 1]), 2, range=(1.0, 1.0)))),
    ("histogramdd_weight", lambda m: _dd(m.histogramdd(m.tensor([[0.0, 1], [1, 0], [2, 0], [2, 2]]), bins=[3, 3],
                                                       weight=m.tensor([1.0, 2, 4, 8])))),
    ("histogramdd_range_density", lambda m: _dd(m.histogramdd(m.tensor([[0.0, 1], [1, 0], [2, 0], [0.25, 0.5]]), bins=2,
                                                              range=[0.0, 1.0, 0.0, 1.0], density=True))),
    ("histogramdd_edges", lambda m: _dd(m.histogramdd(m.tensor([[0.0, 1], [1, 0], [2, 0], [2, 2]]),
                                                      bins=[m.tensor([0.0, 1, 2.5]), m.tensor([-1.0, 1, 3])]))),
    ("histogramdd_tuple_bins", lambda m: _dd(m.histogramdd(m.tensor([[0.0, 1], [1, 0], [2, 0], [2, 2]]), bins=(2, 3)))),
    ("histogramdd_3d_batched", lambda m: _dd(m.histogramdd(m.arange(36, dtype=m.float64).reshape(2, 6, 3) % 7, bins=[2, 3, 4]))),
]


def _dd(r):
    return (r.hist,) + tuple(r.bin_edges)


@needs_torch
@pytest.mark.parametrize("name,fn", VALUE_CASES, ids=[c[0] for c in VALUE_CASES])
def test_values_and_dtypes_match_pytorch(name, fn):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = fn(edunn), fn(torch)
    ours, theirs = (ours, theirs) if isinstance(theirs, tuple) else ((ours,), (theirs,))
    assert len(ours) == len(theirs)
    for o, t in zip(ours, theirs):
        assert str(o.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], name
        assert_close(o, t, what=name)


def test_named_tuples():
    h = edunn.histogram(edunn.tensor([1.0, 2.0]), 2)
    assert type(h).__name__ == "histogram" and h._fields == ("hist", "bin_edges")
    dd = edunn.histogramdd(edunn.tensor([[1.0, 2.0]]), 2)
    assert type(dd).__name__ == "histogramdd" and isinstance(dd.bin_edges, tuple) and len(dd.bin_edges) == 2


def test_cov_warns_on_no_degrees_of_freedom():
    with pytest.warns(UserWarning, match="degrees of freedom is <= 0"):
        edunn.cov(edunn.ones(2, 1))


def test_histogram_counts_against_numpy_and_out():
    rng = np.random.default_rng(0)
    a = rng.normal(size=1000)
    hist, edges = edunn.histogram(edunn.tensor(a), 17, range=(-2.0, 2.5))
    ref, ref_edges = np.histogram(a, 17, range=(-2.0, 2.5))
    np.testing.assert_array_equal(hist.numpy(), ref)
    np.testing.assert_allclose(edges.numpy(), ref_edges)
    out = (edunn.empty(0, dtype=edunn.float64), edunn.empty(0, dtype=edunn.float64))
    r = edunn.histogram(edunn.tensor(a), 5, out=out)
    assert r.hist is out[0] and out[0].shape == (5,) and out[0].sum().item() == 1000


ERRORS = [
    ("cov_3d", lambda m: m.cov(m.ones(2, 2, 2))),
    ("cov_bool", lambda m: m.cov(m.tensor([[True, False]]))),
    ("cov_float_fweights", lambda m: m.cov(m.ones(2, 3), fweights=m.ones(3))),
    ("cov_negative_fweights", lambda m: m.cov(m.ones(2, 3), fweights=m.tensor([1, -1, 2]))),
    ("cov_negative_aweights", lambda m: m.cov(m.ones(2, 3), aweights=m.tensor([1.0, -1, 2]))),
    ("cov_fweights_numel", lambda m: m.cov(m.ones(2, 3), fweights=m.tensor([1, 2]))),
    ("cov_int_aweights", lambda m: m.cov(m.ones(2, 3), aweights=m.tensor([1, 2, 3], dtype=m.int32))),
    ("cov_fweights_2d", lambda m: m.cov(m.ones(2, 3), fweights=m.ones(3, 1, dtype=m.int64))),
    ("cov_zero_weights", lambda m: m.cov(m.tensor([[1.0, 2]]), aweights=m.tensor([0.0, 0]))),
    ("corrcoef_3d", lambda m: m.corrcoef(m.ones(2, 2, 2))),
    ("histogram_int", lambda m: m.histogram(m.tensor([1, 2]), 2)),
    ("histogram_half", lambda m: m.histogram(m.tensor([1.0, 2]).half(), 2)),
    ("histogram_zero_bins", lambda m: m.histogram(m.tensor([1.0, 2]), 0)),
    ("histogram_reversed_range", lambda m: m.histogram(m.tensor([1.0, 2]), 2, range=(3.0, 1.0))),
    ("histogram_nan_range", lambda m: m.histogram(m.tensor([0.0, float("nan")]), 2)),
    ("histogram_inf_range", lambda m: m.histogram(m.tensor([0.0, float("inf")]), 2)),
    ("histogram_weight_shape", lambda m: m.histogram(m.tensor([1.0, 2, 3]), 2, weight=m.ones(2))),
    ("histogram_weight_dtype", lambda m: m.histogram(m.tensor([1.0, 2], dtype=m.float64), 2, weight=m.ones(2))),
    ("histogram_2d_edges", lambda m: m.histogram(m.tensor([1.0, 2]), m.tensor([[0.0, 1.0]]))),
    ("histogram_one_edge", lambda m: m.histogram(m.tensor([1.0, 2]), m.tensor([1.0]))),
    ("histogram_list_bins", lambda m: m.histogram(m.tensor([1.0, 2]), bins=[0.0, 1.0, 3.0])),
    ("histogramdd_bins_count", lambda m: m.histogramdd(m.ones(4, 2), bins=[3])),
    ("histogramdd_range_length", lambda m: m.histogramdd(m.ones(4, 2), bins=2, range=[0.0, 1.0])),
    ("histogramdd_1d", lambda m: m.histogramdd(m.ones(2), bins=2)),
    ("histogramdd_weight_shape", lambda m: m.histogramdd(m.ones(4, 2), bins=2, weight=m.ones(4, 1))),
    ("histogramdd_zero_bins", lambda m: m.histogramdd(m.ones(4, 2), bins=[2, 0])),
    ("histogram_edges_dtype", lambda m: m.histogram(m.tensor([1.0, 2]), m.tensor([0.0, 2, 4], dtype=m.float64))),
    ("histogram_int_edges", lambda m: m.histogram(m.tensor([1.0, 2]), m.tensor([0, 2, 4]))),
    ("histogramdd_mixed_bins", lambda m: m.histogramdd(m.ones(2, 2), [m.tensor([0.0, 2, 4]), 3])),
]


@needs_torch
@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_pytorch(name, fn):
    same_error(lambda: fn(edunn), lambda: fn(torch), exact=name != "histogram_list_bins")
