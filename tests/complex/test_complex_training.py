"""A small complex-valued network trained by edunn and by torch 2.13 from the same weights: a
complex ``nn.Linear`` and a loss made of ``mul``/``abs``, optimized by ``SGD`` (plain, momentum,
Nesterov, weight decay), ``Adam`` (AMSGrad, weight decay, maximize, differentiable) and ``AdamW``.
PyTorch's Adam updates a complex parameter as its (real, imaginary) pairs (``view_as_real``):
each part has its own second moment, which the comparisons of the optimizer state check."""
import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson14, needs_torch]


def _c(shape, seed, dtype="complex128"):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)).astype(dtype)


def _np(t):
    t = t.detach()
    return t.resolve_conj().numpy() if hasattr(t, "resolve_conj") else t.numpy(force=True)


def _train(lib, opt_name, opt_kw, dtype, steps=5, loss_kind="abs"):
    """Copy the same weights into a complex Linear(4, 3), run ``steps`` optimizer steps on
    ``sum |W x + b - y|`` (or ``sum (z conj z)``), return losses, final weights and the state."""
    cdt = getattr(lib, "cfloat" if dtype == "complex64" else "cdouble")
    model = lib.nn.Linear(4, 3, dtype=cdt)
    with lib.no_grad():
        model.weight.copy_(lib.tensor(_c((3, 4), 1, dtype)))
        model.bias.copy_(lib.tensor(_c(3, 2, dtype)))
    x, y = lib.tensor(_c((8, 4), 3, dtype)), lib.tensor(_c((8, 3), 4, dtype))
    opt = getattr(lib.optim, opt_name)(model.parameters(), **opt_kw)
    losses = []
    for _ in range(steps):
        opt.zero_grad()
        z = model(x) - y
        loss = z.abs().sum() if loss_kind == "abs" else (z * z.conj()).real.sum()
        loss.backward()
        opt.step()
        losses.append(loss.item())
    return losses, [_np(p) for p in model.parameters()], opt, model


OPTIMIZERS = [
    ("SGD", {"lr": 0.05}),
    ("SGD", {"lr": 0.05, "momentum": 0.9}),
    ("SGD", {"lr": 0.05, "momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("SGD", {"lr": 0.05, "momentum": 0.5, "dampening": 0.2, "maximize": True}),
    ("Adam", {"lr": 0.05}),
    ("Adam", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.01}),
    ("Adam", {"lr": 0.05, "maximize": True, "betas": (0.8, 0.9)}),
    ("Adam", {"lr": 0.05, "decoupled_weight_decay": True, "weight_decay": 0.1}),
    ("AdamW", {"lr": 0.05}),
    ("AdamW", {"lr": 0.05, "amsgrad": True, "weight_decay": 0.05}),
]


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("loss_kind", ["abs", "square"])
@pytest.mark.parametrize("opt_name,opt_kw", OPTIMIZERS, ids=lambda v: v if isinstance(v, str) else
                         "-".join(f"{k}={v}" for k, v in v.items()))
def test_complex_training_matches_torch(opt_name, opt_kw, loss_kind, dtype):
    le, pe, oe, _ = _train(edunn, opt_name, opt_kw, dtype, loss_kind=loss_kind)
    lt, pt, ot, _ = _train(torch, opt_name, opt_kw, dtype, loss_kind=loss_kind)
    tol = 2e-4 if dtype == "complex64" else 1e-11  # float32 rounding, amplified over the steps
    np.testing.assert_allclose(le, lt, rtol=tol)
    for a, b in zip(pe, pt):
        assert a.dtype == b.dtype
        np.testing.assert_allclose(a, b, rtol=tol, atol=tol)
    # the optimizer state: complex tensors like the parameters, the same numbers as torch's
    for (se, st) in zip(oe.state.values(), ot.state.values()):
        for key, value in st.items():
            if key == "step":
                assert float(se[key]) == float(value)
            elif value is not None:
                assert se[key].dtype.is_complex and value.is_complex()
                np.testing.assert_allclose(_np(se[key]), _np(value), rtol=tol, atol=tol)


def test_adam_second_moment_is_per_part_not_modulus():
    """After one step from zero state ``v = (1 - beta2) (Re(g)^2 + i Im(g)^2)`` -- torch's
    ``view_as_real`` update -- not ``(1 - beta2) |g|^2``."""
    p = edunn.nn.Parameter(edunn.tensor([1 + 1j, 2 - 1j]))
    opt = edunn.optim.Adam([p], lr=0.1)
    p.grad = edunn.tensor([3 + 4j, -1 + 0.5j])
    opt.step()
    v = opt.state[p]["exp_avg_sq"]
    np.testing.assert_allclose(v.numpy(), 0.001 * np.array([9 + 16j, 1 + 0.25j]), rtol=1e-6)
    # each part moved by about lr (Adam's first step is lr * sign(g) per real coordinate)
    np.testing.assert_allclose(p.detach().numpy(), [0.9 + 0.9j, 2.1 - 1.1j], rtol=1e-6)


@pytest.mark.parametrize("amsgrad", [False, True])
def test_differentiable_adam_on_complex_matches_torch(amsgrad):
    kw = {"lr": 0.1, "differentiable": True, "amsgrad": amsgrad, "weight_decay": 0.1}
    out = []
    for lib in (edunn, torch):
        p = lib.tensor(_c((3, 2), 5))  # torch's differentiable Adam refuses in-place on leaves that require grad
        opt = lib.optim.Adam([p], **kw)
        for k in range(3):
            p.grad = lib.tensor(_c((3, 2), 10 + k))
            opt.step()
        out.append((_np(p), _np(opt.state[p]["exp_avg_sq"])))
    # the step counter is a float32 tensor in this path: bias corrections round in float32
    np.testing.assert_allclose(out[0][0], out[1][0], rtol=1e-7, atol=1e-7)
    np.testing.assert_allclose(out[0][1], out[1][1], rtol=1e-12)


def test_large_complex_parameter_matches_torch():
    """Above the block size the real update runs on cache-sized blocks; the strided
    ``.real``/``.imag`` views of a complex parameter take the whole-array path."""
    out = []
    for lib in (edunn, torch):
        p = lib.nn.Parameter(lib.tensor(_c((300, 200), 6)))
        opt = lib.optim.Adam([p], lr=0.01, amsgrad=True)
        for k in range(2):
            p.grad = lib.tensor(_c((300, 200), 20 + k))
            opt.step()
        out.append(_np(p))
    np.testing.assert_allclose(out[0], out[1], rtol=1e-12, atol=1e-14)


def test_real_training_unchanged_by_complex_path():
    """The real path is untouched: float64 Adam from the same weights still matches torch."""
    res = []
    for lib in (edunn, torch):
        model = lib.nn.Linear(4, 3, dtype=lib.float64)
        with lib.no_grad():
            model.weight.copy_(lib.tensor(_c((3, 4), 1).real))
            model.bias.copy_(lib.tensor(_c(3, 2).real))
        opt = lib.optim.Adam(model.parameters(), lr=0.05, amsgrad=True)
        x, y = lib.tensor(_c((8, 4), 3).real), lib.tensor(_c((8, 3), 4).real)
        for _ in range(4):
            opt.zero_grad()
            ((model(x) - y) ** 2).sum().backward()
            opt.step()
        res.append([_np(p) for p in model.parameters()])
    for a, b in zip(*res):
        np.testing.assert_allclose(a, b, rtol=1e-12)
