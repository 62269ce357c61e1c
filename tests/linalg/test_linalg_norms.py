"""edunn.linalg's norms against torch.linalg: vector_norm, matrix_norm (every order, any two dims,
keepdim), norm's choice between them, cond; values, gradients, gradcheck, errors."""
import math

import pytest

import edunn
from opcheck import OpSpec, needs_torch, spec_tests, torch
from linalg_inputs import general, plain

INF = math.inf


def _spec(name, f, make, **kw):
    return OpSpec(name, lambda *t: f(edunn, *t), lambda *t: f(torch, *t), None, make_inputs=make, lesson=2, **kw)


SPECS = [
    _spec("vector_norm_2", lambda L, x: L.linalg.vector_norm(x), plain((3, 4)), gradgrad=True),
    _spec("vector_norm_dim", lambda L, x: L.linalg.vector_norm(x, 3, dim=(0, 2), keepdim=True), plain((2, 3, 4))),
    _spec("vector_norm_1", lambda L, x: L.linalg.vector_norm(x, 1, dim=-1), plain((3, 4))),
    _spec("vector_norm_inf", lambda L, x: L.linalg.vector_norm(x, INF, dim=0), plain((3, 4))),
    _spec("vector_norm_-inf", lambda L, x: L.linalg.vector_norm(x, -INF), plain((3, 4))),
    _spec("vector_norm_half", lambda L, x: L.linalg.vector_norm(x, 0.5, dim=1), plain((3, 4))),
    _spec("vector_norm_0", lambda L, x: L.linalg.vector_norm(x, 0), plain((3, 4)), grad=False),
    _spec("vector_norm_dtype", lambda L, x: L.linalg.vector_norm(x, dtype=L.float64), plain((3, 4)), grad=False),
] + [
    _spec(f"matrix_norm_{o}", lambda L, x, o=o: L.linalg.matrix_norm(x, o), plain((2, 3, 4)))
    for o in ("fro", "nuc", 2, -2, 1, -1, INF, -INF)
] + [
    _spec(f"matrix_norm_dims_{o}", lambda L, x, o=o: L.linalg.matrix_norm(x, o, dim=(2, 0), keepdim=True),
          plain((3, 2, 4)))
    for o in ("fro", "nuc", 2, 1, -INF)
] + [
    _spec("norm_flat", lambda L, x: L.linalg.norm(x), plain((2, 3, 4))),
    _spec("norm_vector_ord", lambda L, x: L.linalg.norm(x, 3), plain((5,))),
    _spec("norm_matrix_ord", lambda L, x: L.linalg.norm(x, -2), plain((3, 4))),
    _spec("norm_fro", lambda L, x: L.linalg.norm(x, "fro", dim=(0, 1)), plain((3, 4, 2))),
    _spec("norm_one_dim", lambda L, x: L.linalg.norm(x, INF, dim=1, keepdim=True), plain((3, 4, 2))),
    _spec("norm_nuc_dims", lambda L, x: L.linalg.norm(x, "nuc", dim=(-1, 0)), plain((3, 4, 2))),
] + [
    _spec(f"cond_{p}", lambda L, x, p=p: L.linalg.cond(x, p), general(2, 3, 3))
    for p in (None, 2, -2)
] + [
    # PyTorch 2.13 cannot differentiate cond for these orders (its backward trips over an
    # in-place write into inv_ex's output): values against torch, gradients by gradcheck below
    _spec(f"cond_{p}", lambda L, x, p=p: L.linalg.cond(x, p), general(2, 3, 3), grad=False)
    for p in ("fro", "nuc", 1, -1, INF, -INF)
] + [
    _spec("cond_gradgrad", lambda L, x: L.linalg.cond(x), plain((3, 3)), gradgrad=True),
    _spec("cond_rectangular", lambda L, x: L.linalg.cond(x), general(2, 5, 3)),
    _spec("cond_singular", lambda L, x: L.linalg.cond(x * 0, 1), plain((2, 3, 3)), grad=False),
]

COND_GRADCHECK = [OpSpec(f"cond_{p}", lambda x, p=p: edunn.linalg.cond(x, p), None, None, make_inputs=general(2, 3, 3),
                         lesson=2) for p in ("fro", "nuc", 1, -1, INF, -INF)]

test_parity, test_gradcheck = spec_tests(SPECS, lesson=2, gradcheck=[s for s in SPECS if s.grad] + COND_GRADCHECK)


ERRORS = [
    ("vector_norm_long", lambda L: L.linalg.vector_norm(L.ones(3, dtype=L.int64))),
    ("vector_norm_str_ord", lambda L: L.linalg.vector_norm(L.ones(3), ord="fro")),
    ("vector_norm_repeated_dim", lambda L: L.linalg.vector_norm(L.ones(3), dim=(0, 0))),
    ("matrix_norm_1d", lambda L: L.linalg.matrix_norm(L.ones(3))),
    ("matrix_norm_order", lambda L: L.linalg.matrix_norm(L.ones(3, 3), ord=3)),
    ("matrix_norm_order_str", lambda L: L.linalg.matrix_norm(L.ones(3, 3), ord="x")),
    ("matrix_norm_long", lambda L: L.linalg.matrix_norm(L.ones(3, 3, dtype=L.int64))),
    ("matrix_norm_same_dims", lambda L: L.linalg.matrix_norm(L.ones(3, 3), dim=(0, 0))),
    ("matrix_norm_three_dims", lambda L: L.linalg.matrix_norm(L.ones(3, 3), dim=(0, 1, 2))),
    ("norm_3d_ord", lambda L: L.linalg.norm(L.ones(3, 3, 3), ord=2)),
    ("norm_3d_fro", lambda L: L.linalg.norm(L.ones(3, 3, 3), ord="fro")),
    ("norm_1d_fro", lambda L: L.linalg.norm(L.ones(3), ord="fro")),
    ("norm_nuc_one_dim", lambda L: L.linalg.norm(L.ones(3, 3), ord="nuc", dim=0)),
    ("cond_rectangular_p1", lambda L: L.linalg.cond(L.ones(3, 2), 1)),
    ("cond_bad_p", lambda L: L.linalg.cond(L.eye(3), 3)),
]


@needs_torch
@pytest.mark.lesson02
@pytest.mark.parametrize("call", [c for _, c in ERRORS], ids=[n for n, _ in ERRORS])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(edunn)
    assert str(ours.value) == str(theirs.value)


@pytest.mark.lesson02
def test_vector_norm_gradient_at_zero_is_zero(device):
    x = edunn.zeros(3, device=device, requires_grad=True)
    edunn.linalg.vector_norm(x).backward()
    assert x.grad.abs().sum().item() == 0.0
