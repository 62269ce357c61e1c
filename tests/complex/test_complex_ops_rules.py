"""Complex tensors and the built-in ops: the rules around the formulas, against PyTorch.

Result dtypes of mixed real/complex operands and Python ``complex`` scalars, the real part kept
for real inputs, in-place ops and writes, ``pow``'s conventions at 0, complex64, and the ops
that refuse complex tensors (with a clear error, never a number).
"""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = needs_torch

Z = np.array([[1 + 2j, -0.5 + 1j, 0.25 - 0.75j], [2 - 1j, -1.5 - 0.5j, 0.8 + 0.1j]])
X = np.array([[1.0, -2.0, 0.5], [0.3, 1.7, -0.9]])


def _numpy(t):
    t = t.detach()
    if isinstance(t, torch.Tensor):
        t = t.resolve_conj()  # torch's lazy conjugates must be resolved
    return t.cpu().numpy()


@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("expr", ["x * 1j", "1j * x", "x + (2 - 1j)", "(2j) ** x", "x / 1j",
                                  "x * z", "z - x", "x ** z"])
def test_mixed_real_complex_dtypes_and_real_input_gradients(expr: str, dtype: str) -> None:
    """Promotion follows torch (a Python complex takes the float operand's width), and a real
    input's gradient is the real part of the complex one, in the input's own dtype."""
    results = []
    for L in (edunn, torch):
        x = L.tensor(X, dtype=getattr(L, dtype), requires_grad=True)
        z = L.tensor(Z.astype(np.complex64 if dtype == "float32" else np.complex128), requires_grad=True)
        out = eval(expr, {"x": x, "z": z})
        w = L.tensor(np.full(out.shape, 0.5 - 1.5j).astype(_numpy(out).dtype))
        (out * w).real.sum().backward()
        results.append((str(out.dtype).split(".")[-1], _numpy(out), str(x.grad.dtype).split(".")[-1],
                        _numpy(x.grad), None if z.grad is None else _numpy(z.grad)))
    (d1, o1, gd1, g1, gz1), (d2, o2, gd2, g2, gz2) = results
    tol = 1e-5 if dtype == "float32" else 1e-10
    assert (d1, gd1) == (d2, gd2)
    np.testing.assert_allclose(o1, o2, rtol=tol, atol=tol)
    np.testing.assert_allclose(g1, g2, rtol=tol, atol=tol)
    if gz2 is not None:
        np.testing.assert_allclose(gz1, gz2, rtol=tol, atol=tol)


@pytest.mark.parametrize("name", ["exp", "sqrt", "tanh", "abs", "sgn", "matmul", "cumprod", "var"])
def test_complex64_follows_torch(name: str) -> None:
    """complex64 inputs: result and gradient dtypes (abs/var give float32) and values."""
    fns = {"matmul": lambda L, z: z @ z.mT, "cumprod": lambda L, z: z.cumprod(1), "var": lambda L, z: z.var(1)}
    fn = fns.get(name, lambda L, z: getattr(L, name)(z))
    got = []
    for L in (edunn, torch):
        z = L.tensor(Z.astype(np.complex64), requires_grad=True)
        out = fn(L, z)
        (out.abs() ** 2).sum().backward()
        got.append((str(out.dtype).split(".")[-1], _numpy(out), str(z.grad.dtype).split(".")[-1], _numpy(z.grad)))
    assert got[0][0] == got[1][0] and got[0][2] == got[1][2]
    np.testing.assert_allclose(got[0][1], got[1][1], rtol=1e-5, atol=1e-5)
    np.testing.assert_allclose(got[0][3], got[1][3], rtol=1e-4, atol=1e-4)


def test_inplace_ops_and_writes_follow_torch() -> None:
    """``add_``/``mul_``/``exp_``, ``z[i] = v``, ``copy_``, ``fill_``, ``zero_`` on a non-leaf
    complex tensor: values and the gradient that reaches the leaf."""
    got = []
    for L in (edunn, torch):
        z = L.tensor(Z, requires_grad=True)
        w = L.tensor(Z[::-1].copy(), requires_grad=True)
        y = z * 1
        y.mul_(w).add_(z, alpha=1j)
        y[0, 1] = 2 - 1j
        y[1, :2] = w[0, :2] * 1j
        y.exp_()
        v = y.clone()
        v[0].copy_(z[1])
        v[1, 2:].fill_(0.5j)
        u = (y * 1).zero_() + v
        (u * L.tensor(np.conj(Z))).real.sum().backward()
        got.append((_numpy(u), _numpy(z.grad), _numpy(w.grad)))
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=1e-10, atol=1e-10)


@pytest.mark.parametrize("op", [lambda x, z: x.add_(z), lambda x, z: x.mul_(1j),
                                lambda x, z: x.__setitem__(0, 1j), lambda x, z: x.masked_fill(x > 0, 1j)])
def test_complex_into_a_real_tensor_raises_like_torch(op) -> None:
    errors = []
    for L in (edunn, torch):
        x, z = L.tensor(X), L.tensor(Z)
        with pytest.raises(RuntimeError) as info:
            op(x, z)
        errors.append(str(info.value))
    assert errors[0] == errors[1]


def test_pow_conventions_at_zero_follow_torch() -> None:
    """No gradient for the base where the exponent is 0, none for the exponent where the base is
    0 and the exponent real and >= 0 (torch's ``pow_backward_self``/``pow_backward_exponent``)."""
    base = np.array([0j, 1 - 2j, 1 + 1j, 0j])  # (0^0 is 1 here and NaN in torch's complex pow)
    expo = np.array([2 + 0j, 0j, 0.5j, 1.5 + 0j])
    got = []
    for L in (edunn, torch):
        a, b = L.tensor(base, requires_grad=True), L.tensor(expo, requires_grad=True)
        y = a ** b
        c = L.tensor(np.array([0.0, 2.0, -1.0 + 1j, 0.5j]), requires_grad=True)
        s = L.pow(0.0, c) if L is torch else edunn.pow(0.0, c)
        (y * (1 - 2j)).real.sum().backward()
        (s.real.sum() + (a ** 0).real.sum()).backward()
        got.append([_numpy(t) for t in (y, a.grad, b.grad, c.grad)])
    for e, t in zip(*got):
        np.testing.assert_allclose(e, t, rtol=1e-12, atol=1e-12)


def test_abs_and_sgn_at_zero_and_on_real_tensors() -> None:
    """``sgn`` of a real tensor is ``sign`` with a zero gradient; at ``z = 0`` both ``abs`` and
    ``sgn`` give the gradient 0, as torch."""
    for values in (np.array([0j, 1 - 1j, -2j]), np.array([0.0, -1.5, 2.0])):
        got = []
        for L in (edunn, torch):
            z = L.tensor(values, requires_grad=True)
            out = z.sgn() * 3 + z.abs()
            w = L.tensor(np.array([1 + 1j, 2, -1j]) if z.is_complex() else np.array([1.0, 2.0, -1.0]))
            (out * w).real.sum().backward()
            got.append((_numpy(out), _numpy(z.grad)))
        for a, b in zip(*got):
            np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


def test_scatter_reduce_complex_values_but_no_gradient_like_torch() -> None:
    index = np.array([[0, 0, 2], [1, 1, 1]])
    got = []
    for L in (edunn, torch):
        z, src = L.tensor(Z), L.tensor(Z[::-1].copy())
        got.append([_numpy(z.scatter_reduce(1, L.tensor(index), src, r)) for r in ("sum", "prod", "mean")])
        with pytest.raises(RuntimeError, match="does not support automatic differentiation"):
            L.tensor(Z, requires_grad=True).scatter_reduce(1, L.tensor(index), src, "prod")
        with pytest.raises((RuntimeError, NotImplementedError)):
            z.scatter_reduce(1, L.tensor(index), src, "amax")
    for a, b in zip(*got):
        np.testing.assert_allclose(a, b, rtol=1e-12, atol=1e-12)


REFUSED = {
    "floor": lambda L, z: L.floor(z), "ceil": lambda L, z: L.ceil(z), "trunc": lambda L, z: L.trunc(z),
    "round": lambda L, z: L.round(z), "frac": lambda L, z: L.frac(z), "sign": lambda L, z: L.sign(z),
    "clamp": lambda L, z: L.clamp(z, 0, 1), "relu": lambda L, z: L.relu(z), "erf": lambda L, z: L.erf(z),
    "maximum": lambda L, z: L.maximum(z, z), "minimum": lambda L, z: L.minimum(z, z),
    "remainder": lambda L, z: L.remainder(z, z), "fmod": lambda L, z: L.fmod(z, 2.0),
    "atan2": lambda L, z: L.atan2(z, z), "hypot": lambda L, z: L.hypot(z, z),
    "div_floor": lambda L, z: L.div(z, z, rounding_mode="floor"), "floor_divide": lambda L, z: z // z,
    "div_trunc": lambda L, z: L.div(z, z, rounding_mode="trunc"), "deg2rad": lambda L, z: L.deg2rad(z),
    "max": lambda L, z: z.max(), "max_dim": lambda L, z: z.max(1), "min": lambda L, z: z.min(),
    "amax": lambda L, z: z.amax(), "argmax": lambda L, z: z.argmax(), "argmin": lambda L, z: z.argmin(1),
    "median": lambda L, z: z.median(), "median_dim": lambda L, z: z.median(1), "mode": lambda L, z: z.mode(),
    "nansum": lambda L, z: z.nansum(), "cummax": lambda L, z: z.cummax(1), "xlogy": lambda L, z: L.xlogy(z, z),
    "copysign": lambda L, z: L.copysign(z, z), "quantile": lambda L, z: L.quantile(z, 0.5),
}


@pytest.mark.parametrize("name", list(REFUSED))
def test_ops_torch_refuses_raise_a_clear_error(name: str) -> None:
    """Ops PyTorch does not define on complex numbers raise, never return numbers."""
    fn = REFUSED[name]
    with pytest.raises((RuntimeError, NotImplementedError)):
        fn(torch, torch.tensor(Z))
    with pytest.raises((RuntimeError, NotImplementedError)) as info:
        fn(edunn, edunn.tensor(Z))
    message = str(info.value)
    assert "omplex" in message or "ComplexDouble" in message or "not implemented" in message, message


def test_refusal_names_the_op() -> None:
    with pytest.raises(RuntimeError, match="clamp does not support complex tensors"):
        edunn.clamp(edunn.tensor(Z), 0, 1)
    with pytest.raises(RuntimeError, match="max\\(\\): does not support complex input"):
        edunn.tensor(Z).max()


@pytest.mark.parametrize("dtype", ["float64", "complex128"])
def test_fill_and_zero_give_the_overwritten_values_no_gradient(dtype: str) -> None:
    got = []
    for L in (edunn, torch):
        z = L.tensor(Z.astype(dtype) if dtype == "complex128" else X, requires_grad=True)
        y = (z * 2).fill_(3) + (z * 1).zero_() * 5 + z
        assert y.requires_grad
        (y * 2).sum().abs().backward()
        got.append(_numpy(z.grad))
    np.testing.assert_allclose(got[0], got[1], rtol=1e-12, atol=1e-12)
