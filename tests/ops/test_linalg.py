"""Linear algebra: matmul in every shape combination, einsum, products, det/inverse, cross."""
import numpy as np
import pytest

import edunn
from opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

def _mm(name, sa, sb, **kw):
    return OpSpec(name, lambda a, b: a @ b, lambda a, b: a @ b, [sa, sb], **kw)


def _es(eq, *shapes, **kw):
    return OpSpec(f"einsum[{eq}]", lambda *t: edunn.einsum(eq, *t), lambda *t: torch.einsum(eq, *t), list(shapes), **kw)


def _well_conditioned(rng):
    return [rng.normal(size=(2, 3, 3)) + 3 * np.eye(3)]


SPECS = [
    _mm("matmul_1d_1d", (4,), (4,), gradgrad=True),
    _mm("matmul_2d_1d", (3, 4), (4,)),
    _mm("matmul_1d_2d", (4,), (4, 5)),
    _mm("matmul_2d_2d", (3, 4), (4, 5), gradgrad=True),
    _mm("matmul_3d_1d", (2, 3, 4), (4,)),
    _mm("matmul_1d_3d", (4,), (2, 4, 5)),
    _mm("matmul_3d_2d", (2, 3, 4), (4, 5)),
    _mm("matmul_2d_3d", (3, 4), (2, 4, 5)),
    _mm("matmul_broadcast_batch", (2, 1, 3, 4), (5, 4, 2), gradgrad=True),
    OpSpec("mm", lambda a, b: a.mm(b), lambda a, b: a.mm(b), [(2, 3), (3, 4)]),
    OpSpec("bmm", lambda a, b: a.bmm(b), lambda a, b: a.bmm(b), [(2, 2, 3), (2, 3, 4)]),
    OpSpec("mv", lambda a, b: a.mv(b), lambda a, b: a.mv(b), [(2, 3), (3,)]),
    OpSpec("dot", lambda a, b: a.dot(b), lambda a, b: a.dot(b), [(5,), (5,)]),
    OpSpec("inner", lambda a, b: a.inner(b), lambda a, b: a.inner(b), [(2, 3), (4, 3)]),
    OpSpec("outer", lambda a, b: a.outer(b), lambda a, b: a.outer(b), [(3,), (4,)]),
    OpSpec("addmm", lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2), lambda c, a, b: c.addmm(a, b, beta=0.5, alpha=2),
           [(4,), (2, 3), (3, 4)]),
    OpSpec("baddbmm", lambda c, a, b: c.baddbmm(a, b, alpha=-1), lambda c, a, b: c.baddbmm(a, b, alpha=-1),
           [(2, 2, 4), (2, 2, 3), (2, 3, 4)]),
    OpSpec("tensordot", lambda a, b: edunn.tensordot(a, b, ([1, 0], [0, 2])), lambda a, b: torch.tensordot(a, b, ([1, 0], [0, 2])),
           [(2, 3, 4), (3, 5, 2)]),
    OpSpec("tensordot_int", lambda a, b: edunn.tensordot(a, b, 1), lambda a, b: torch.tensordot(a, b, 1), [(2, 3), (3, 4)]),
    OpSpec("kron", lambda a, b: edunn.kron(a, b), lambda a, b: torch.kron(a, b), [(2, 3), (2, 2)]),
    _es("ij,jk->ik", (2, 3), (3, 4), gradgrad=True),
    _es("bij,bjk->bik", (2, 2, 3), (2, 3, 4)),
    _es("ii->i", (3, 3), gradgrad=True),
    _es("ii", (3, 3)),
    _es("...ij,...jk", (2, 1, 2, 3), (3, 3, 4)),
    _es("i,i->", (4,), (4,)),
    _es("ij->ji", (2, 3)),
    _es("ij->i", (2, 3)),
    _es("bii->bi", (2, 3, 3)),
    _es("iij->ij", (3, 3, 2)),
    _es("ij,jk,kl->il", (2, 3), (3, 4), (4, 2)),
    _es("...i,i->...", (2, 3, 4), (4,)),
    OpSpec("trace", lambda a: a.trace(), lambda a: a.trace(), [(3, 4)]),
    OpSpec("det", lambda a: a.det(), lambda a: a.det(), None, make_inputs=_well_conditioned, gradgrad=True),
    OpSpec("inverse", lambda a: a.inverse(), lambda a: a.inverse(), None, make_inputs=_well_conditioned, gradgrad=True),
    OpSpec("cross", lambda a, b: a.cross(b, dim=1), lambda a, b: torch.linalg.cross(a, b, dim=1), [(2, 3), (1, 3)]),
]


test_parity, test_gradcheck = spec_tests(SPECS, lesson=2)


@pytest.mark.lesson01
def test_matmul_errors_name_shapes():
    with pytest.raises(RuntimeError, match=r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"):
        edunn.zeros(2, 3) @ edunn.zeros(4, 5)
    with pytest.raises(RuntimeError, match=r"cannot be multiplied \(1x3 and 4x5\)"):
        edunn.zeros(3) @ edunn.zeros(4, 5)
    with pytest.raises(RuntimeError, match="inconsistent tensor size"):
        edunn.zeros(3) @ edunn.zeros(4)
    with pytest.raises(RuntimeError, match="same dtype"):
        edunn.zeros(2, 2) @ edunn.zeros(2, 2, dtype=edunn.float64)
    with pytest.raises(RuntimeError, match="at least 1D"):
        edunn.matmul(edunn.tensor(1.0), edunn.zeros(2))
    with pytest.raises(RuntimeError, match="batch2"):
        edunn.zeros(2, 3, 4).bmm(edunn.zeros(3, 4, 5))


@pytest.mark.lesson01
def test_einsum_errors():
    with pytest.raises(RuntimeError, match="subscripts"):
        edunn.einsum("ij->i", edunn.zeros(3))
    with pytest.raises(RuntimeError, match="repeated"):
        edunn.einsum("ii->i", edunn.zeros(2, 3))
    assert edunn.einsum("ij,jk", [edunn.ones(2, 3), edunn.ones(3, 4)]).shape == (2, 4)


@pytest.mark.lesson01
def test_integer_matmul():
    a = edunn.tensor([[1, 2], [3, 4]])
    assert (a @ a).tolist() == [[7, 10], [15, 22]]
    assert (a @ a).dtype == edunn.int64


@needs_torch
def test_det_gradient_of_a_singular_matrix_in_a_batch_is_torchs():
    a = np.array([[[1.0, 2.0], [2.0, 4.0]], [[2.0, 1.0], [1.0, 3.0]], [[0.0, 0.0], [0.0, 0.0]]])
    grads = []
    for fw in (edunn, torch):
        x = fw.tensor(a, requires_grad=True)
        (fw.det(x) * fw.tensor([1.0, 2.0, 3.0], dtype=fw.float64)).sum().backward()
        grads.append(x.grad)
    assert_close(grads[0], grads[1], 1e-12, 1e-12, "det gradient")


@needs_torch
def test_slogdet_and_logdet_do_not_overflow_and_match_torch():
    big = 100 * np.eye(200)
    for fn in ("slogdet", "logdet"):
        ours, theirs = getattr(edunn, fn)(edunn.tensor(big)), getattr(torch, fn)(torch.tensor(big))
        assert_close(ours[-1] if fn == "slogdet" else ours, theirs[-1] if fn == "slogdet" else theirs,
                     1e-12, 1e-12, fn)
    m = np.array([[[-1.0, 0.0], [0.0, 2.0]], [[0.0, 0.0], [0.0, 1.0]], [[2.0, 1.0], [1.0, 3.0]]])
    assert_close(edunn.logdet(edunn.tensor(m)), torch.logdet(torch.tensor(m)), 0, 1e-12, "logdet")
    x, t = edunn.tensor(m[2], requires_grad=True), torch.tensor(m[2], requires_grad=True)
    edunn.logdet(x).backward()
    torch.logdet(t).backward()
    assert_close(x.grad, t.grad, 1e-12, 1e-12, "logdet gradient")


@needs_torch
@pytest.mark.parametrize("call", [lambda fw, a, b: a @ b, lambda fw, a, b: fw.bmm(a, b),
                                  lambda fw, a, b: fw.einsum("bij,bjk->bik", a, b)])
def test_bfloat16_products_stay_bfloat16_like_torch(call):
    a = np.random.default_rng(4).standard_normal((2, 3, 5))
    b = np.random.default_rng(5).standard_normal((2, 5, 4))
    ours = call(edunn, edunn.tensor(a, dtype=edunn.bfloat16), edunn.tensor(b, dtype=edunn.bfloat16))
    theirs = call(torch, torch.tensor(a, dtype=torch.bfloat16), torch.tensor(b, dtype=torch.bfloat16))
    assert ours.dtype.name == "bfloat16"
    assert_close(ours.float(), theirs.float(), 0.05, 0.02, "bfloat16 product")


@needs_torch
@pytest.mark.parametrize("fn", ["det", "inverse", "logdet", "slogdet"])
def test_square_matrix_errors_are_torchs(fn):
    for make in (lambda fw: fw.ones(2, 2, dtype=fw.int64), lambda fw: fw.ones(2, 3)):
        with pytest.raises(RuntimeError) as ours:
            getattr(edunn, fn)(make(edunn))
        with pytest.raises(RuntimeError) as theirs:
            getattr(torch, fn)(make(torch))
        assert str(ours.value) == str(theirs.value)
