"""diff, trapezoid/trapz, cumulative_trapezoid, cdist, dist: PyTorch parity (values, dtypes,
gradients), gradcheck, every argument, errors."""
import math

import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch
from _torch_errors import same_error

pytestmark = pytest.mark.lesson01


def _pm(shape):  # values well away from 0 (for |x|^(p-1) with p < 1, sign changes)
    def make(rng):
        return [rng.uniform(0.3, 1.5, shape) * rng.choice([-1, 1], shape)]
    return make


def _pairs(s1, s2):
    def make(rng):
        return [rng.normal(size=s1), rng.normal(size=s2)]
    return make


S = OpSpec
SPECS = [
    S("diff", lambda a: edunn.diff(a), lambda a: torch.diff(a), [(3, 5)], gradgrad=True),
    S("diff_n2_dim0", lambda a: edunn.diff(a, 2, 0), lambda a: torch.diff(a, 2, 0), [(5, 3)]),
    S("diff_n_large", lambda a: edunn.diff(a, 7), lambda a: torch.diff(a, 7), [(2, 4)]),
    S("diff_n0", lambda a: edunn.diff(a, n=0), lambda a: torch.diff(a, n=0), [(2, 4)]),
    S("diff_prepend_append", lambda a, p, q: edunn.diff(a, 2, dim=1, prepend=p, append=q),
      lambda a, p, q: torch.diff(a, 2, dim=1, prepend=p, append=q), [(2, 3), (2, 2), (2, 1)], gradgrad=True),
    S("trapezoid", lambda y: edunn.trapezoid(y), lambda y: torch.trapezoid(y), [(3, 5)], gradgrad=True),
    S("trapezoid_dx_dim", lambda y: edunn.trapezoid(y, dx=0.5, dim=0), lambda y: torch.trapezoid(y, dx=0.5, dim=0), [(4, 3)]),
    S("trapezoid_x1d", lambda y, x: edunn.trapezoid(y, x, dim=0), lambda y, x: torch.trapezoid(y, x, dim=0),
      [(4, 3), (4,)], gradgrad=True),
    S("trapezoid_x_same", lambda y, x: edunn.trapezoid(y, x), lambda y, x: torch.trapezoid(y, x), [(2, 3, 4), (2, 3, 4)]),
    S("trapezoid_x_broadcast", lambda y, x: edunn.trapezoid(y, x, dim=1), lambda y, x: torch.trapezoid(y, x, dim=1),
      [(2, 3, 4), (3, 4)]),
    S("trapezoid_x_higher", lambda y, x: edunn.trapezoid(y, x), lambda y, x: torch.trapezoid(y, x), [(2, 3), (2, 3, 1)]),
    S("trapz_x", lambda y, x: edunn.trapz(y, x), lambda y, x: torch.trapz(y, x), [(3, 4), (4,)]),
    S("trapz_dx", lambda y: edunn.trapz(y, dx=3, dim=0), lambda y: torch.trapz(y, dx=3, dim=0), [(3, 4)]),
    S("cumulative_trapezoid", lambda y: edunn.cumulative_trapezoid(y), lambda y: torch.cumulative_trapezoid(y),
      [(3, 5)], gradgrad=True),
    S("cumulative_trapezoid_dx", lambda y: edunn.cumulative_trapezoid(y, dx=2.5, dim=0),
      lambda y: torch.cumulative_trapezoid(y, dx=2.5, dim=0), [(4, 2)]),
    S("cumulative_trapezoid_x", lambda y, x: edunn.cumulative_trapezoid(y, x, dim=-2),
      lambda y, x: torch.cumulative_trapezoid(y, x, dim=-2), [(2, 4, 3), (4, 3)]),
    S("cdist", lambda a, b: edunn.cdist(a, b), lambda a, b: torch.cdist(a, b), [], make_inputs=_pairs((4, 3), (5, 3)),
      gradgrad=True),
    S("cdist_mm_large", lambda a, b: edunn.cdist(a, b), lambda a, b: torch.cdist(a, b), [],
      make_inputs=_pairs((30, 3), (4, 3)), atol=1e-4, gradgrad=True),
    S("cdist_mm_forced", lambda a, b: edunn.cdist(a, b, compute_mode="use_mm_for_euclid_dist"),
      lambda a, b: torch.cdist(a, b, compute_mode="use_mm_for_euclid_dist"), [], make_inputs=_pairs((3, 4), (2, 4)), atol=1e-4),
    S("cdist_no_mm", lambda a, b: edunn.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist"),
      lambda a, b: torch.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist"), [], make_inputs=_pairs((30, 3), (27, 3))),
    S("cdist_p1", lambda a, b: edunn.cdist(a, b, 1), lambda a, b: torch.cdist(a, b, 1), [], make_inputs=_pairs((4, 3), (2, 3))),
    S("cdist_p0", lambda a, b: edunn.cdist(a, b, 0), lambda a, b: torch.cdist(a, b, 0), [], make_inputs=_pairs((4, 3), (2, 3))),
    S("cdist_pinf", lambda a, b: edunn.cdist(a, b, math.inf), lambda a, b: torch.cdist(a, b, math.inf), [],
      make_inputs=_pairs((4, 3), (2, 3))),
    S("cdist_p3", lambda a, b: edunn.cdist(a, b, 3.0), lambda a, b: torch.cdist(a, b, 3.0), [],
      make_inputs=_pairs((4, 3), (2, 3)), gradgrad=True),
    S("cdist_p_half", lambda a, b: edunn.cdist(a, b, 0.5), lambda a, b: torch.cdist(a, b, 0.5), [],
      make_inputs=lambda r: [r.uniform(0, 1, (3, 2)), r.uniform(2, 3, (2, 2))]),
    S("cdist_batched_broadcast", lambda a, b: edunn.cdist(a, b), lambda a, b: torch.cdist(a, b), [],
      make_inputs=_pairs((2, 1, 3, 4), (3, 5, 4))),
    S("cdist_batched_p1", lambda a, b: edunn.cdist(a, b, p=1), lambda a, b: torch.cdist(a, b, p=1), [],
      make_inputs=_pairs((2, 3, 4), (2, 5, 4))),
    S("dist", lambda a, b: edunn.dist(a, b), lambda a, b: torch.dist(a, b), [(3, 4), (4,)], gradgrad=True),
    S("dist_p3", lambda a, b: edunn.dist(a, b, 3), lambda a, b: torch.dist(a, b, 3), [(3, 4), (3, 4)]),
    S("dist_p1", lambda a, b: edunn.dist(a, b, 1), lambda a, b: torch.dist(a, b, 1), [(3, 4), (3, 4)]),
    S("dist_p0", lambda a, b: edunn.dist(a, b, 0), lambda a, b: torch.dist(a, b, 0), [(3, 4), (3, 4)], grad=False),
    S("dist_pinf", lambda a, b: edunn.dist(a, b, math.inf), lambda a, b: torch.dist(a, b, math.inf), [(3, 4), (3, 4)]),
    S("dist_pneg", lambda a, b: edunn.dist(a, b, -1.5), lambda a, b: torch.dist(a, b, -1.5), [(3, 4), (3, 4)]),
    S("dist_pneginf", lambda a, b: edunn.dist(a, b, -math.inf), lambda a, b: torch.dist(a, b, -math.inf), [(3, 4), (3, 4)]),
]
test_parity, test_gradcheck = spec_tests(SPECS, lesson=1, gradcheck=[s for s in SPECS if "p0" not in s.name])


INT_CASES = [
    ("diff_int", lambda m, x: m.diff(x), [1, 4, 9, 16]),
    ("diff_bool", lambda m, x: m.diff(x), [True, False, False, True]),
    ("diff_bool_n2", lambda m, x: m.diff(x, n=2), [True, False, False, True]),
    ("diff_int_float_prepend", lambda m, x: m.diff(x, prepend=m.tensor([0.5], device=x.device)), [1, 4, 9]),
    ("trapezoid_int", lambda m, x: m.trapezoid(x), [1, 2, 4]),
    ("trapezoid_int_dx", lambda m, x: m.trapezoid(x, dx=2), [1, 2, 4]),
    ("trapezoid_int_x", lambda m, x: m.trapezoid(x, m.tensor([1, 2, 5], device=x.device)), [1, 2, 4]),
    ("cumulative_trapezoid_int", lambda m, x: m.cumulative_trapezoid(x), [1, 2, 4]),
    ("cumulative_trapezoid_int_x", lambda m, x: m.cumulative_trapezoid(x, m.tensor([1, 2, 5], device=x.device)), [1, 2, 4]),
    ("trapezoid_empty_dim", lambda m, x: m.trapezoid(x.reshape(2, 0)), []),
    ("trapezoid_one_sample", lambda m, x: m.trapezoid(x.reshape(2, 1)), [1.0, 2.0]),
    ("cumulative_trapezoid_empty", lambda m, x: m.cumulative_trapezoid(x.reshape(2, 0)), []),
    ("trapezoid_float16", lambda m, x: m.trapezoid(x.half()), [1.0, 2.0, 3.5]),
    ("cdist_empty_rows", lambda m, x: m.cdist(x.reshape(0, 2), m.ones(3, 2, device=x.device)), []),
    ("cdist_no_columns", lambda m, x: m.cdist(x.reshape(3, 0), m.ones(2, 0, device=x.device)), [0.0, 0.0, 0.0][:0]),
    ("cdist_no_columns_inf", lambda m, x: m.cdist(m.ones(3, 0, device=x.device), m.ones(2, 0, device=x.device), p=float("inf")), []),
    ("cdist_float64", lambda m, x: m.cdist(x.double().reshape(2, 1), m.ones(3, 1, dtype=m.float64, device=x.device)), [1.0, 3.0]),
]


@needs_torch
@pytest.mark.parametrize("name,fn,data", INT_CASES, ids=[c[0] for c in INT_CASES])
def test_values_and_dtypes_match_pytorch(name, fn, data, device):
    ours = fn(edunn, edunn.tensor(data, device=device))
    theirs = fn(torch, torch.tensor(data))
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    assert_close(ours, theirs, what=name)


@needs_torch
def test_cdist_large_equals_direct_and_zero_distance_gradient():
    a = edunn.randn(40, 3, dtype=edunn.float64)
    b = edunn.cat([a[:5], edunn.randn(3, 3, dtype=edunn.float64)])  # 5 exact matches
    assert_close(edunn.cdist(a, b), edunn.cdist(a, b, compute_mode="donot_use_mm_for_euclid_dist"), atol=1e-6)
    for mode in ("use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist"):
        x = a.clone().requires_grad_()
        edunn.cdist(x, b, compute_mode=mode).sum().backward()
        assert np.isfinite(x.grad.numpy()).all()


@needs_torch
def test_cdist_inf_gives_every_tied_coordinate_the_whole_gradient():
    b = [[1.0, 1.0], [2.0, 0.5], [-1.0, 1.0]]
    grads = []
    for m in (edunn, torch):
        a = m.tensor([[0.0, 0.0], [1.0, 1.0]], requires_grad=True)
        m.cdist(a, m.tensor(b), p=float("inf")).sum().backward()
        grads.append(a.grad)
    assert_close(grads[0], grads[1])


ERRORS = [
    ("diff_0d", lambda m: m.diff(m.tensor(1.0))),
    ("diff_negative_n", lambda m: m.diff(m.tensor([1, 2]), n=-1)),
    ("diff_bad_dim", lambda m: m.diff(m.tensor([1, 2]), dim=3)),
    ("diff_prepend_ndim", lambda m: m.diff(m.ones(2, 3), prepend=m.ones(3))),
    ("diff_prepend_shape", lambda m: m.diff(m.ones(2, 3), dim=0, append=m.ones(1, 2))),
    ("trapezoid_0d", lambda m: m.trapezoid(m.tensor(1.0))),
    ("trapezoid_bool", lambda m: m.trapezoid(m.tensor([True, False]))),
    ("trapezoid_x_length", lambda m: m.trapezoid(m.ones(2, 3), m.ones(2))),
    ("trapezoid_bad_dim", lambda m: m.trapezoid(m.ones(3), dim=2)),
    ("cumulative_trapezoid_0d", lambda m: m.cumulative_trapezoid(m.tensor(1.0))),
    ("cumulative_trapezoid_x_length", lambda m: m.cumulative_trapezoid(m.ones(2, 3), m.ones(2))),
    ("cumulative_trapezoid_bool", lambda m: m.cumulative_trapezoid(m.tensor([True, False]))),
    ("cdist_1d", lambda m: m.cdist(m.ones(3), m.ones(2, 3))),
    ("cdist_columns", lambda m: m.cdist(m.ones(2, 4), m.ones(2, 3))),
    ("cdist_negative_p", lambda m: m.cdist(m.ones(2, 3), m.ones(2, 3), p=-1)),
    ("cdist_int", lambda m: m.cdist(m.ones(2, 3, dtype=m.int64), m.ones(2, 3, dtype=m.int64))),
    ("cdist_mixed_dtypes", lambda m: m.cdist(m.ones(2, 3), m.ones(2, 3, dtype=m.float64))),
    ("cdist_half", lambda m: m.cdist(m.ones(2, 3, dtype=m.float16), m.ones(2, 3, dtype=m.float16))),
    ("cdist_mode", lambda m: m.cdist(m.ones(2, 3), m.ones(2, 3), compute_mode="foo")),
    ("cdist_batch", lambda m: m.cdist(m.ones(2, 3, 4), m.ones(3, 5, 4))),
    ("dist_int", lambda m: m.dist(m.ones(3, dtype=m.int64), m.ones(3, dtype=m.int64))),
    ("dist_shapes", lambda m: m.dist(m.ones(3), m.ones(2))),
]


@needs_torch
@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_pytorch(name, fn):
    same_error(lambda: fn(edunn), lambda: fn(torch))


def test_trapezoid_x_and_dx_together_is_a_type_error():
    with pytest.raises(TypeError):
        edunn.trapezoid(edunn.ones(3), edunn.ones(3), dx=2)


def test_trapezoid_of_a_line_is_exact():
    x = edunn.linspace(0, 2, 5, dtype=edunn.float64)
    assert abs(edunn.trapezoid(3 * x + 1, x).item() - 8.0) < 1e-12
    assert_close(edunn.cumulative_trapezoid(3 * x + 1, x), edunn.tensor([0.875, 2.5, 4.875, 8.0], dtype=edunn.float64))
