"""Complex tensors through the built-in ops: values and gradients against PyTorch.

PyTorch's convention is the specification: for ``z = x + iy`` and a real loss ``L`` the gradient
stored in ``z.grad`` is ``dL/dx + i dL/dy``.  Every case below runs one op on seeded complex128
(and, where the op mixes them, float64) inputs, compares the result with torch's, then takes the
real loss ``L = Re(sum(out * w))`` for a random complex ``w`` (a random real ``w`` for real
outputs) and compares each input's ``.grad`` with torch's and with central finite differences
on the real and imaginary parts (independent of both libraries' formulas).
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = needs_torch


@dataclass
class Case:
    name: str
    fn: Callable                 # fn(L, *inputs) with L the module: edunn or torch
    kinds: str = "c"             # one letter per input: c complex, r real, p complex away from 0
    shape: tuple = (3, 4)        # shape of every input, unless ``shapes`` says otherwise
    shapes: tuple | None = None
    fd: bool = True              # also compare with finite differences
    torch: bool = True           # compare with torch (False where torch's gradient is wrong)
    tol: float = 1e-7


def _array(rng: np.random.Generator, kind: str, shape: tuple) -> np.ndarray:
    if kind == "r":
        return rng.standard_normal(shape)
    z = rng.standard_normal(shape) + 1j * rng.standard_normal(shape)
    if kind == "p":  # |z| in [0.5, 1.5]: away from 0 and from the unit circle's poles
        z = z / np.abs(z) * rng.uniform(0.5, 1.5, shape)
    return z


def _inputs(case: Case, seed: int = 0) -> list:
    rng = np.random.default_rng(seed)
    shapes = case.shapes or (case.shape,) * len(case.kinds)
    return [_array(rng, k, s) for k, s in zip(case.kinds, shapes)]


def _weight(out: np.ndarray, seed: int = 1) -> np.ndarray:
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(out.shape)
    return w + 1j * rng.standard_normal(out.shape) if np.iscomplexobj(out) else w


def _loss(L: Any, out: Any, w: np.ndarray, **kw: Any) -> Any:
    """``Re(sum(out * w))``: a real number that depends on every part of ``out``."""
    prod = out * L.tensor(w, **kw)
    return (prod.real if prod.is_complex() else prod).sum()


def _run(L: Any, case: Case, arrays: list, device: str = "cpu") -> tuple:
    """The output and each input's gradient (as NumPy arrays) of ``case`` run by ``L``."""
    kw = {"device": device} if L is edunn else {}
    xs = [L.tensor(a, requires_grad=True, **kw) for a in arrays]
    out = case.fn(L, *xs)
    out_np = _numpy(out)
    _loss(L, out, _weight(out_np), **kw).backward()
    return out_np, [_numpy(x.grad) if x.grad is not None else None for x in xs]


def _finite_differences(case: Case, arrays: list, w: np.ndarray, eps: float = 1e-6) -> list:
    """``dL/dx + i dL/dy`` for every element of every input, by central differences."""
    def loss(arrs):
        with edunn.no_grad():
            out = case.fn(edunn, *[edunn.tensor(a) for a in arrs]).numpy()
        return float(np.real(np.sum(out * w)))
    grads = []
    for i, a in enumerate(arrays):
        g = np.zeros(a.shape, a.dtype)
        for idx in np.ndindex(a.shape):
            for unit in ((1.0,) if a.dtype.kind == "f" else (1.0, 1j)):
                plus, minus = [b.copy() for b in arrays], [b.copy() for b in arrays]
                plus[i][idx] += eps * unit
                minus[i][idx] -= eps * unit
                g[idx] += unit * (loss(plus) - loss(minus)) / (2 * eps)
        grads.append(g)
    return grads


UNARY = ["exp", "expm1", "exp2", "log", "log2", "log10", "log1p", "sqrt", "rsqrt", "square", "sin",
         "cos", "tan", "sinh", "cosh", "tanh", "asin", "acos", "atan", "asinh", "acosh", "atanh",
         "sigmoid", "abs", "sgn", "reciprocal", "neg", "sinc"]

CASES = [Case(n, (lambda n: lambda L, x: getattr(L, n)(x))(n), "p" if n in ("log", "log2", "log10", "rsqrt",
                                                                        "reciprocal") else "c")
         for n in UNARY] + [
    # arithmetic, with broadcasting and mixed real/complex operands (real inputs keep Re(grad))
    Case("add", lambda L, a, b: a + b, "cc", shapes=((3, 4), (4,))),
    Case("add_alpha", lambda L, a, b: L.add(a, b, alpha=2 - 1j), "cc"),
    Case("sub_real", lambda L, a, b: a - b, "rc", shapes=((3, 1), (3, 4))),
    Case("sub_alpha", lambda L, a, b: L.sub(a, b, alpha=0.5j), "cc"),
    Case("mul", lambda L, a, b: a * b, "cc", shapes=((2, 3, 4), (3, 4))),
    Case("mul_real", lambda L, a, b: a * b, "rc"),
    Case("mul_scalar", lambda L, a: a * (2 - 3j), "c"),
    Case("real_times_1j", lambda L, a: a * 1j, "r"),
    Case("div", lambda L, a, b: a / b, "cp"),
    Case("div_real", lambda L, a, b: a / b, "pr"),
    Case("rdiv_scalar", lambda L, a: (1 + 1j) / a, "p"),
    Case("pow_int", lambda L, a: a ** 3, "c"),
    Case("pow_float", lambda L, a: a ** 2.5, "p"),
    Case("pow_complex_scalar", lambda L, a: a ** (0.5 + 1j), "p"),
    Case("pow_tensor", lambda L, a, b: a ** b, "pc"),
    Case("pow_real_base", lambda L, a, b: L.pow(a.abs() + 0.5, b), "rc"),
    Case("rpow_complex", lambda L, a: (2j) ** a, "c"),
    Case("rpow_real_exponent", lambda L, a: (1 + 2j) ** a, "r"),
    Case("addcmul", lambda L, a, b, c: L.addcmul(a, b, c, value=0.5 - 1j), "ccc"),
    Case("addcdiv", lambda L, a, b, c: L.addcdiv(a, b, c, value=2), "ccp"),
    Case("lerp_scalar", lambda L, a, b: L.lerp(a, b, 0.3), "cc"),
    Case("lerp_tensor", lambda L, a, b, w: L.lerp(a, b, w), "ccc"),
    Case("where", lambda L, a, b: L.where(a.abs() > 1, a, b), "cc"),
    Case("where_scalar", lambda L, a: L.where(a.abs() > 1, a, 1j), "c"),
    Case("masked_fill", lambda L, a: a.masked_fill(a.abs() > 1, 2 - 1j), "c"),
    Case("sigmoid_tanh_chain", lambda L, a: L.tanh(L.sigmoid(a) * a), "c"),
    # reductions and scans (var/std/norm: complex in, real out)
    Case("sum", lambda L, a: a.sum(), "c"),
    Case("sum_dim", lambda L, a: a.sum(1, keepdim=True), "c"),
    Case("mean", lambda L, a: a.mean(0), "c"),
    Case("prod", lambda L, a: a.prod(1), "c"),
    Case("prod_all", lambda L, a: a.prod(), "c", shape=(5,)),
    Case("cumsum", lambda L, a: a.cumsum(1), "c"),
    Case("cumprod", lambda L, a: a.cumprod(1), "c"),
    Case("var", lambda L, a: a.var(1), "c"),
    Case("var_all_unbiased0", lambda L, a: a.var(unbiased=False), "c"),
    Case("std", lambda L, a: a.std(0), "c"),
    Case("var_mean", lambda L, a: L.stack([*L.var_mean(a, 1)[:1]]) + L.var_mean(a, 1)[1].abs(), "c"),
    Case("vector_norm_2", lambda L, a: L.linalg.vector_norm(a, 2, 1), "c"),
    Case("vector_norm_1", lambda L, a: L.linalg.vector_norm(a, 1), "c"),
    Case("vector_norm_3", lambda L, a: L.linalg.vector_norm(a, 3.0, 0), "c"),
    Case("vector_norm_inf", lambda L, a: L.linalg.vector_norm(a, float("inf")), "c"),
    Case("norm", lambda L, a: a.norm(), "c"),
    Case("dot", lambda L, a, b: L.dot(a, b), "cc", shape=(5,)),
    Case("vdot", lambda L, a, b: L.vdot(a, b), "cc", shape=(5,)),
    Case("inner", lambda L, a, b: L.inner(a, b), "cc"),
    # linear algebra
    Case("matmul", lambda L, a, b: a @ b, "cc", shapes=((3, 4), (4, 2))),
    Case("matmul_batched", lambda L, a, b: L.matmul(a, b), "cc", shapes=((2, 3, 4), (4, 2))),
    Case("matmul_vec", lambda L, a, b: L.matmul(a, b), "cc", shapes=((4,), (2, 4, 3))),
    Case("mm", lambda L, a, b: L.mm(a, b), "cc", shapes=((3, 4), (4, 2))),
    Case("bmm", lambda L, a, b: L.bmm(a, b), "cc", shapes=((2, 3, 4), (2, 4, 2))),
    Case("mv", lambda L, a, b: L.mv(a, b), "cc", shapes=((3, 4), (4,))),
    Case("outer", lambda L, a, b: L.outer(a, b), "cc", shapes=((3,), (4,))),
    Case("einsum", lambda L, a, b: L.einsum("ij,jk->ik", a, b), "cc", shapes=((3, 4), (4, 2))),
    Case("einsum_trace", lambda L, a: L.einsum("ii->", a), "c", shape=(3, 3)),
    Case("tensordot", lambda L, a, b: L.tensordot(a, b, dims=([1], [0])), "cc", shapes=((3, 4), (4, 2))),
    Case("kron", lambda L, a, b: L.kron(a, b), "cc", shapes=((2, 2), (2, 3))),
    Case("trace", lambda L, a: L.trace(a), "c", shape=(3, 3)),
    Case("diagonal", lambda L, a: L.diagonal(a, 1), "c"),
    Case("diag", lambda L, a: L.diag(a), "c", shape=(3,)),
    Case("linear", lambda L, a, w, b: L.nn.functional.linear(a, w, b), "ccc", shapes=((2, 4), (3, 4), (3,))),
    Case("addmm", lambda L, c, a, b: L.addmm(c, a, b, beta=0.5j, alpha=2), "ccc", shapes=((3, 2), (3, 4), (4, 2))),
    Case("addmv", lambda L, c, a, b: L.addmv(c, a, b, alpha=1 - 1j), "ccc", shapes=((3,), (3, 4), (4,))),
    Case("baddbmm", lambda L, c, a, b: L.baddbmm(c, a, b), "ccc", shapes=((2, 3, 2), (2, 3, 4), (2, 4, 2))),
    Case("addbmm", lambda L, c, a, b: L.addbmm(c, a, b), "ccc", shapes=((3, 2), (2, 3, 4), (2, 4, 2))),
    Case("addr", lambda L, c, a, b: L.addr(c, a, b, beta=2), "ccc", shapes=((3, 4), (3,), (4,))),
    Case("chain_matmul", lambda L, a, b, c: L.linalg.multi_dot([a, b, c]), "ccc", shapes=((2, 3), (3, 4), (4, 2))),
    Case("cross", lambda L, a, b: L.linalg.cross(a, b), "cc", shape=(2, 3)),
    # shape, indexing, joining: values move, gradients move back
    Case("view_reshape", lambda L, a: a.view(4, 3).reshape(2, 6) * a.reshape(2, 6), "c"),
    Case("permute_t", lambda L, a: a.permute(1, 0) * a.t() * a.transpose(0, 1), "c"),
    Case("squeeze", lambda L, a: a.unsqueeze(0).squeeze(0).flatten(), "c"),
    Case("expand", lambda L, a: a.expand(2, 3, 4), "c", shape=(3, 1)),
    Case("flip_roll", lambda L, a: a.flip(0).roll(1, 1), "c"),
    Case("cat_stack", lambda L, a, b: L.cat([a, L.stack([b, a]).sum(0)], 1), "cc"),
    Case("split_chunk", lambda L, a: a.split(1, 0)[1] * a.chunk(2, 1)[0].sum(), "c"),
    Case("narrow_select", lambda L, a: a.narrow(1, 1, 2) * a.select(1, 3).unsqueeze(1), "c"),
    Case("getitem", lambda L, a: a[1:, ::2] * a[L.tensor([0, 2, 2])][:2, 1:3], "c"),
    Case("gather", lambda L, a: a.gather(1, L.tensor([[0, 0], [3, 1], [2, 2]])), "c"),
    Case("scatter", lambda L, a, b: a.scatter(1, L.tensor([[0, 1], [3, 1], [2, 0]]), b[:, :2]), "cc"),
    Case("scatter_add", lambda L, a, b: a.scatter_add(1, L.tensor([[0, 0], [3, 1], [2, 2]]), b[:, :2]), "cc"),
    Case("index_select", lambda L, a: a.index_select(1, L.tensor([3, 0, 3])), "c"),
    Case("masked_select", lambda L, a: a.masked_select(a.abs() > 1), "c"),
    Case("take", lambda L, a: L.take(a, L.tensor([0, 5, 11, 5])), "c"),
    Case("take_along_dim", lambda L, a: L.take_along_dim(a, L.tensor([[0], [3], [1]]), 1), "c"),
    Case("clone_contiguous", lambda L, a: a.t().contiguous().clone(), "c"),
    Case("repeat_tile", lambda L, a: a.repeat(2, 1) * a.tile((2, 1)), "c"),
    Case("pad", lambda L, a: L.nn.functional.pad(a, (1, 2, 0, 1), value=0), "c"),
    Case("pad_reflect", lambda L, a: L.nn.functional.pad(a.unsqueeze(0), (2, 1), mode="reflect"), "c"),
    Case("tril_triu", lambda L, a: a.tril(1) + a.triu(-1) * 2, "c"),
    Case("diag_embed", lambda L, a: L.diag_embed(a, 1), "c"),
    Case("unfold", lambda L, a: a.unfold(1, 2, 1), "c"),
    Case("unbind", lambda L, a: L.unbind(a, 1)[2] * 3, "c"),
    Case("index_add_fill", lambda L, a, b: a.index_add(1, L.tensor([0, 2]), b[:, :2], alpha=2).index_fill(
        0, L.tensor([1]), 1 - 1j), "cc"),
    # torch 2.13 multiplies index_add's source gradient by alpha, not conj(alpha); finite
    # differences agree with edunn's grad * conj(alpha)
    Case("index_add_complex_alpha", lambda L, a, b: a.index_add(1, L.tensor([0, 2]), b[:, :2], alpha=2j),
         "cc", torch=False),
    Case("masked_scatter", lambda L, a, b: a.masked_scatter(a.abs() > 1, b), "cc"),
    Case("diff", lambda L, a: L.diff(a, dim=1), "c"),
    Case("movedim_swapaxes", lambda L, a: a.movedim(0, 1).swapaxes(0, 1).unflatten(1, (2, 2)), "c"),
]


TORCH_CASES = [c for c in CASES if c.torch]


@pytest.mark.parametrize("case", TORCH_CASES, ids=[c.name for c in TORCH_CASES])
def test_values_and_grads_match_torch(case: Case, device: str) -> None:
    arrays = _inputs(case)
    got, grads = _run(edunn, case, arrays, device)
    want, torch_grads = _run(torch, case, arrays)
    assert got.dtype == want.dtype, (got.dtype, want.dtype)
    np.testing.assert_allclose(got, want, rtol=case.tol, atol=case.tol)
    for g, tg in zip(grads, torch_grads):
        assert g.dtype == tg.dtype
        np.testing.assert_allclose(g, tg, rtol=case.tol, atol=case.tol)


FD_CASES = [c for c in CASES if c.fd]


@pytest.mark.parametrize("case", FD_CASES, ids=[c.name for c in FD_CASES])
def test_grads_match_finite_differences(case: Case) -> None:
    arrays = _inputs(case, seed=2)
    out, grads = _run(edunn, case, arrays)
    numeric = _finite_differences(case, arrays, _weight(out))
    for g, n in zip(grads, numeric):
        np.testing.assert_allclose(g, n, rtol=1e-5, atol=1e-6)


# ---------------------------------------------------------------------------------------------
# second derivatives: the backward formulas are themselves differentiable (create_graph=True)
# ---------------------------------------------------------------------------------------------
SECOND = [c for c in CASES if c.name in (
    "exp", "log", "sqrt", "tanh", "sigmoid", "sin", "acosh", "reciprocal", "abs", "sgn", "mul", "div",
    "pow_tensor", "rpow_complex", "matmul", "einsum", "prod", "cumprod", "var", "vector_norm_3",
    "linear", "lerp_tensor", "mul_real")]


def _second_order(L: Any, case: Case, arrays: list) -> list:
    """The gradient of ``Re(sum(v * dL/dx))`` with respect to every input ``x``."""
    xs = [L.tensor(a, requires_grad=True) for a in arrays]
    out = case.fn(L, *xs)
    loss = _loss(L, out, _weight(_numpy(out)))
    grads = L.autograd.grad(loss, xs, create_graph=True)
    total = sum(_loss(L, g, _weight(_numpy(g), seed=10 + k)) for k, g in enumerate(grads))
    return [_numpy(g) for g in L.autograd.grad(total, xs, allow_unused=True, materialize_grads=True)]


def _numpy(t: Any) -> np.ndarray:
    t = t.detach()
    if isinstance(t, torch.Tensor):
        t = t.resolve_conj()  # torch's lazy conjugates must be resolved
    return t.cpu().numpy()


@pytest.mark.parametrize("case", SECOND, ids=[c.name for c in SECOND])
def test_second_derivatives_match_torch(case: Case) -> None:
    arrays = _inputs(case, seed=3)
    for g, tg in zip(_second_order(edunn, case, arrays), _second_order(torch, case, arrays)):
        np.testing.assert_allclose(g, tg, rtol=1e-7, atol=1e-7)


@pytest.mark.parametrize("case", SECOND, ids=[c.name for c in SECOND])
def test_gradcheck_and_gradgradcheck(case: Case) -> None:
    xs = [edunn.tensor(a, requires_grad=True) for a in _inputs(case, seed=4)]
    fn = (lambda *t: case.fn(edunn, *t))
    assert edunn.autograd.gradcheck(fn, tuple(xs))
    assert edunn.autograd.gradgradcheck(fn, tuple(xs))
