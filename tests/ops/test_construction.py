"""block_diag, cartesian_prod, combinations, diagflat, vander, tril_indices, triu_indices:
PyTorch parity (values, dtypes, gradients), gradcheck, every argument, errors."""
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch
from _torch_errors import same_error

pytestmark = pytest.mark.lesson01

S = OpSpec
SPECS = [
    S("block_diag", lambda a, b, c: edunn.block_diag(a, b, c), lambda a, b, c: torch.block_diag(a, b, c),
      [(2, 3), (4,), ()], gradgrad=True),
    S("block_diag_one", lambda a: edunn.block_diag(a), lambda a: torch.block_diag(a), [(2, 2)]),
    S("block_diag_empty_block", lambda a, b: edunn.block_diag(a, b), lambda a, b: torch.block_diag(a, b), [(0, 3), (2, 1)]),
    S("cartesian_prod", lambda a, b, c: edunn.cartesian_prod(a, b, c), lambda a, b, c: torch.cartesian_prod(a, b, c),
      [(2,), (3,), (2,)], gradgrad=True),
    S("cartesian_prod_one", lambda a: edunn.cartesian_prod(a), lambda a: torch.cartesian_prod(a), [(3,)]),
    S("combinations", lambda a: edunn.combinations(a), lambda a: torch.combinations(a), [(4,)], gradgrad=True),
    S("combinations_r3", lambda a: edunn.combinations(a, 3), lambda a: torch.combinations(a, 3), [(5,)]),
    S("combinations_replacement", lambda a: edunn.combinations(a, r=3, with_replacement=True),
      lambda a: torch.combinations(a, r=3, with_replacement=True), [(3,)]),
    S("combinations_r_too_big", lambda a: edunn.combinations(a, 4), lambda a: torch.combinations(a, 4), [(3,)]),
    S("combinations_r0", lambda a: edunn.combinations(a, 0), lambda a: torch.combinations(a, 0), [(3,)], grad=False),
    S("combinations_r1", lambda a: edunn.combinations(a, 1), lambda a: torch.combinations(a, 1), [(3,)]),
    S("diagflat", lambda a: edunn.diagflat(a), lambda a: torch.diagflat(a), [(2, 2)], gradgrad=True),
    S("diagflat_offset", lambda a: edunn.diagflat(a, 2), lambda a: torch.diagflat(a, 2), [(3,)]),
    S("diagflat_negative_offset", lambda a: edunn.diagflat(a, offset=-1), lambda a: torch.diagflat(a, offset=-1), [(2, 1, 2)]),
    S("diagflat_scalar", lambda a: edunn.diagflat(a), lambda a: torch.diagflat(a), [()]),
    S("vander", lambda a: edunn.vander(a), lambda a: torch.vander(a), [(4,)], gradgrad=True),
    S("vander_N_increasing", lambda a: edunn.vander(a, N=5, increasing=True), lambda a: torch.vander(a, N=5, increasing=True), [(3,)]),
    S("vander_N1", lambda a: edunn.vander(a, 1), lambda a: torch.vander(a, 1), [(3,)]),
    S("vander_with_zero", lambda a: edunn.vander(a, 4), lambda a: torch.vander(a, 4), [],
      make_inputs=lambda r: [r.uniform(-2, 2, 3) * [1, 0, 1]]),
]
# torch.vander's own backward fails ("modified by an inplace operation"): its values are
# compared with PyTorch's, its gradients checked by finite differences only.
VANDER_GRAD = [S(s.name, s.fn, None, s.shapes, make_inputs=s.make_inputs, gradgrad=s.gradgrad)
               for s in SPECS if s.name.startswith("vander")]
PARITY = [S(s.name, s.fn, s.torch_fn, s.shapes, make_inputs=s.make_inputs, grad=False)
          if s.name.startswith("vander") else s for s in SPECS]
test_parity, test_gradcheck = spec_tests(
    PARITY, lesson=1, gradcheck=[s for s in SPECS if s.grad and not s.name.startswith("vander")
                                 and s.name != "block_diag_empty_block"] + VANDER_GRAD)

CASES = [
    ("block_diag_mixed_dtypes", lambda m: m.block_diag(m.tensor([[1, 2], [3, 4]]), m.tensor([5.0, 6]), m.tensor(7))),
    ("block_diag_bool_int", lambda m: m.block_diag(m.tensor([True]), m.tensor([1]))),
    ("block_diag_none", lambda m: m.block_diag()),
    ("block_diag_zero_sized", lambda m: m.block_diag(m.ones(0, 3), m.ones(2, 0))),
    ("cartesian_prod_int", lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([3, 4, 5]))),
    ("cartesian_prod_empty", lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([], dtype=m.int64))),
    ("combinations_int", lambda m: m.combinations(m.tensor([1, 2, 3]))),
    ("combinations_empty", lambda m: m.combinations(m.tensor([], dtype=m.int64))),
    ("combinations_r0_int", lambda m: m.combinations(m.tensor([1, 2, 3]), 0)),
    ("combinations_replacement_r4", lambda m: m.combinations(m.tensor([1, 2, 3]), 4, with_replacement=True)),
    ("diagflat_int", lambda m: m.diagflat(m.tensor([[1, 2], [3, 4]]))),
    ("vander_int", lambda m: m.vander(m.tensor([1, 2, 3]))),
    ("vander_int32", lambda m: m.vander(m.tensor([1, 2, 3], dtype=m.int32), 4)),
    ("vander_uint8", lambda m: m.vander(m.tensor([1, 2, 3], dtype=m.uint8))),
    ("vander_bool", lambda m: m.vander(m.tensor([True, False]))),
    ("vander_half", lambda m: m.vander(m.tensor([1.0, 2, 3], dtype=m.float16))),
    ("vander_N0", lambda m: m.vander(m.tensor([1, 2, 3]), 0)),
    ("vander_empty", lambda m: m.vander(m.tensor([], dtype=m.float32))),
    ("tril_indices", lambda m: m.tril_indices(3, 3)),
    ("tril_indices_offset", lambda m: m.tril_indices(4, 3, -1)),
    ("tril_indices_wide", lambda m: m.tril_indices(3, 5, 1)),
    ("tril_indices_int32", lambda m: m.tril_indices(3, 3, dtype=m.int32)),
    ("tril_indices_empty", lambda m: m.tril_indices(0, 3)),
    ("tril_indices_big_offset", lambda m: m.tril_indices(3, 3, 10)),
    ("triu_indices", lambda m: m.triu_indices(3, 3)),
    ("triu_indices_offset", lambda m: m.triu_indices(4, 3, 1)),
    ("triu_indices_negative", lambda m: m.triu_indices(3, 4, -10)),
    ("triu_indices_keywords", lambda m: m.triu_indices(row=4, col=2, offset=-1, dtype=m.int64, device="cpu")),
]


@needs_torch
@pytest.mark.parametrize("name,fn", CASES, ids=[c[0] for c in CASES])
def test_values_and_dtypes_match_pytorch(name, fn):
    ours, theirs = fn(edunn), fn(torch)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1], name
    assert_close(ours, theirs, what=name)


def test_index_builders_place_on_device(device):
    t = edunn.tril_indices(3, 2, device=device)
    assert t.device.type == device and t.dtype == edunn.int64
    assert edunn.triu_indices(2, 2, dtype=edunn.int32, device=device).device.type == device


ERRORS = [
    ("block_diag_3d", lambda m: m.block_diag(m.ones(2, 2, 2))),
    ("cartesian_prod_none", lambda m: m.cartesian_prod()),
    ("cartesian_prod_2d", lambda m: m.cartesian_prod(m.ones(2, 2))),
    ("cartesian_prod_0d", lambda m: m.cartesian_prod(m.tensor(1), m.tensor([2, 3]))),
    ("cartesian_prod_dtypes", lambda m: m.cartesian_prod(m.tensor([1, 2]), m.tensor([3.0, 4]))),
    ("combinations_negative_r", lambda m: m.combinations(m.tensor([1, 2, 3]), -1)),
    ("combinations_2d", lambda m: m.combinations(m.ones(2, 2))),
    ("vander_negative_N", lambda m: m.vander(m.tensor([1, 2]), -1)),
    ("vander_2d", lambda m: m.vander(m.ones(2, 2))),
    ("vander_0d", lambda m: m.vander(m.tensor(2.0))),
    ("tril_indices_float", lambda m: m.tril_indices(3, 3, dtype=m.float32)),
    ("tril_indices_int16", lambda m: m.tril_indices(3, 3, dtype=m.int16)),
    ("tril_indices_negative_row", lambda m: m.tril_indices(-1, 3)),
    ("triu_indices_negative_col", lambda m: m.triu_indices(3, -1)),
]


@needs_torch
@pytest.mark.parametrize("name,fn", ERRORS, ids=[e[0] for e in ERRORS])
def test_errors_match_pytorch(name, fn):
    same_error(lambda: fn(edunn), lambda: fn(torch))
