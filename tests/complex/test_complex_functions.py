"""The complex-number functions (``edunn/ops/complex.py``): values, views, errors and gradients
compared with torch, gradients checked by finite differences with the complex ``gradcheck``
(lessons 01 and 02)."""
import numpy as np
import pytest

import edunn
from edunn.autograd import gradcheck, gradgradcheck
from edunn.autograd.gradcheck import GradcheckError
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson02

RNG = np.random.default_rng(0)


def _c(shape, rng=RNG):
    return rng.standard_normal(shape) + 1j * rng.standard_normal(shape)


def _pair(a, requires_grad=True, device="cpu"):
    e = edunn.tensor(a, device=device, requires_grad=requires_grad)
    t = torch.tensor(a, requires_grad=requires_grad)
    return e, t


def _same(e, t, atol=1e-10):
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.detach().cpu().numpy(force=True), t.detach().resolve_conj().numpy(), atol=atol, rtol=1e-7)


def _loss(fw, out, w):
    """A real loss of any output: Re(sum(w * out)) with a fixed complex (or real) weight."""
    w = fw.tensor(w, device=out.device)
    return (out * w).real.sum() if out.is_complex() else (out * w.real).sum()


# (name, edunn fn, torch fn, input maker (rng -> list of arrays))
SPECS = [
    ("real", edunn.real, torch.real if torch else None, lambda r: [_c((2, 3), r)]),
    ("imag", edunn.imag, torch.imag if torch else None, lambda r: [_c((2, 3), r)]),
    ("real_attr", lambda z: z.real, lambda z: z.real, lambda r: [_c((4,), r)]),
    ("imag_attr", lambda z: z.imag, lambda z: z.imag, lambda r: [_c((4,), r)]),
    ("view_as_real", edunn.view_as_real, torch.view_as_real if torch else None, lambda r: [_c((3, 2), r)]),
    ("view_as_complex", edunn.view_as_complex, torch.view_as_complex if torch else None,
     lambda r: [r.standard_normal((3, 2))]),
    ("view_as_real_copy", edunn.view_as_real_copy, torch.view_as_real_copy if torch else None,
     lambda r: [_c((3,), r)]),
    ("view_as_complex_copy", edunn.view_as_complex_copy, torch.view_as_complex_copy if torch else None,
     lambda r: [r.standard_normal((2, 2))]),
    ("complex", edunn.complex, torch.complex if torch else None,
     lambda r: [r.standard_normal((2, 3)), r.standard_normal((3,))]),
    ("polar", edunn.polar, torch.polar if torch else None,
     lambda r: [r.uniform(0.5, 2, (2, 3)), r.uniform(-3, 3, (2, 3))]),
    ("angle", edunn.angle, torch.angle if torch else None, lambda r: [_c((5,), r)]),
    ("angle_real", edunn.angle, torch.angle if torch else None, lambda r: [r.standard_normal(5)]),
    ("conj", edunn.conj, torch.conj if torch else None, lambda r: [_c((2, 2), r)]),
    ("conj_method", lambda z: z.conj(), lambda z: z.conj(), lambda r: [_c((3,), r)]),
    ("conj_physical", edunn.conj_physical, torch.conj_physical if torch else None, lambda r: [_c((3,), r)]),
    ("resolve_conj", lambda z: edunn.resolve_conj(edunn.conj(z)), lambda z: torch.resolve_conj(torch.conj(z)),
     lambda r: [_c((3,), r)]),
    ("adjoint", edunn.adjoint, torch.adjoint if torch else None, lambda r: [_c((2, 3, 2), r)]),
    ("mH", lambda z: z.mH, lambda z: z.mH, lambda r: [_c((3, 2), r)]),
    ("H", lambda z: z.H, lambda z: z.H, lambda r: [_c((3, 2), r)]),
    ("chain", lambda z: edunn.polar(edunn.imag(z), edunn.angle(z)),  # imag > 0: see polar's doc
     lambda z: torch.polar(torch.imag(z), torch.angle(z)), lambda r: [_c((4,), r).real + 1j * r.uniform(0.5, 2, 4)]),
]
IDS = [s[0] for s in SPECS]


@needs_torch
@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_values_and_gradients_match_torch(spec, device):
    name, fe, ft, make = spec
    arrays = make(np.random.default_rng(1))
    pairs = [_pair(a, device=device) for a in arrays]
    if name == "view_as_complex_copy":
        pairs = [(e, t.detach()) for e, t in pairs]
    out_e, out_t = fe(*[e for e, _ in pairs]), ft(*[t for _, t in pairs])
    _same(out_e, out_t)
    if name == "view_as_complex_copy":  # torch: "does not support automatic differentiation"
        return
    w = _c(tuple(out_t.shape), np.random.default_rng(2))
    _loss(edunn, out_e, w).backward()
    _loss(torch, out_t, w).backward()
    for e, t in pairs:
        assert e.grad.dtype is e.dtype
        _same(e.grad, t.grad)


@pytest.mark.parametrize("spec", SPECS, ids=IDS)
def test_gradcheck(spec):
    name, fe, _, make = spec
    inputs = [edunn.tensor(a, requires_grad=True) for a in make(np.random.default_rng(3))]
    assert gradcheck(fe, inputs)


@pytest.mark.parametrize("name", ["real", "imag", "angle", "polar", "complex", "view_as_real", "conj"])
def test_gradgradcheck(name):
    spec = SPECS[IDS.index(name)]
    inputs = [edunn.tensor(a, requires_grad=True) for a in spec[3](np.random.default_rng(4))]
    assert gradgradcheck(spec[1], inputs)


# ---------------------------------------------------------------------------------- gradcheck itself
class _MulC(edunn.autograd.Function):
    """z * c for a complex constant c; ``wrong`` uses the holomorphic derivative c instead of
    PyTorch's conj(c)."""
    c, wrong = 0.3 - 0.7j, False

    @staticmethod
    def forward(ctx, z):
        return edunn.tensor(z.detach().numpy() * _MulC.c)

    @staticmethod
    def backward(ctx, g):
        return edunn.tensor(g.numpy() * (_MulC.c if _MulC.wrong else np.conj(_MulC.c)))


def test_gradcheck_checks_wirtinger_derivatives():
    z = edunn.tensor(_c((3,)), requires_grad=True)
    _MulC.wrong = False
    assert gradcheck(_MulC.apply, (z,))
    _MulC.wrong = True
    try:
        assert gradcheck(_MulC.apply, (z,), raise_exception=False) is False
        with pytest.raises(GradcheckError, match=r"d out\[\d\]\.(real|imag) / d in\[\d\]\.(real|imag)"):
            gradcheck(_MulC.apply, (z,))
    finally:
        _MulC.wrong = False


def test_gradcheck_real_to_complex_and_complex_to_real():
    x = edunn.tensor(RNG.standard_normal(3), requires_grad=True)
    y = edunn.tensor(RNG.standard_normal(3), requires_grad=True)
    assert gradcheck(lambda a, b: edunn.complex(a, b), (x, y))
    z = edunn.tensor(_c((3,)), requires_grad=True)
    assert gradcheck(lambda t: edunn.view_as_real(t), (z,))
    with pytest.warns(UserWarning, match="not a double precision"):
        gradcheck(edunn.real, (edunn.tensor(_c((2,)), dtype=edunn.complex64, requires_grad=True),),
                  eps=1e-2, atol=1e-2, rtol=1e-2)


# ---------------------------------------------------------------------------------- views and in-place
def test_real_and_imag_are_views():
    z = edunn.tensor([1 + 2j, 3 - 1j])
    z.real[0] = 7
    z.imag[1] = 5
    assert z.tolist() == [7 + 2j, 3 + 5j]
    z.real = edunn.tensor([0.5, 0.25])
    z.imag = 1.0
    assert z.tolist() == [0.5 + 1j, 0.25 + 1j]
    assert z.real._base is z and z.real.dtype is edunn.float32
    v = z._version
    z.real.add_(1)
    assert z._version > v and z.tolist() == [1.5 + 1j, 1.25 + 1j]
    x = edunn.ones(2)
    assert x.real is x and edunn.real(x) is x


def test_view_as_real_and_complex_share_memory():
    z = edunn.tensor([1 + 2j, 3 - 1j], dtype=edunn.complex128)
    r = edunn.view_as_real(z)
    assert r.shape == (2, 2) and r.dtype is edunn.float64 and r.stride() == (2, 1)
    r[1, 1] = 9
    assert z.tolist() == [1 + 2j, 3 + 9j]
    x = edunn.zeros(3, 2)
    c = edunn.view_as_complex(x)
    c.imag.fill_(2)  # through two views
    assert x[:, 1].tolist() == [2.0] * 3
    # a strided complex tensor is still viewed in place
    zs = edunn.tensor(_c((4,)))[::2]
    assert edunn.view_as_real(zs).stride() == (4, 1)
    np.testing.assert_array_equal(edunn.view_as_real(zs).numpy(), np.stack([zs.numpy().real, zs.numpy().imag], -1))
    cp = edunn.view_as_real_copy(z)
    cp[0, 0] = -5
    assert z.tolist()[0] == 1 + 2j


@needs_torch
def test_inplace_write_into_real_part_gradient_matches_torch():
    a = _c((3,))
    w = _c((3,), np.random.default_rng(7))
    results = []
    for fw in (edunn, torch):
        leaf = fw.tensor(a, requires_grad=True)
        b = fw.conj_physical(leaf)
        b.real.mul_(fw.tensor([2.0, 3.0, 4.0], dtype=fw.float64))
        (fw.view_as_real(b) * fw.view_as_real(fw.tensor(w))).sum().backward()
        results.append(leaf.grad.detach().numpy())
    np.testing.assert_allclose(*results, atol=1e-12)


def test_conj_physical_inplace():
    z = edunn.tensor([1 + 2j, -1j])
    assert edunn.conj_physical_(z) is z and z.tolist() == [1 - 2j, 1j]
    assert z.conj_physical_() is z and z.tolist() == [1 + 2j, -1j]
    x = edunn.tensor([1.0])
    assert edunn.conj_physical_(x) is x


def test_conjugation_is_eager_and_real_conj_is_identity():
    x = edunn.ones(2)
    assert edunn.conj(x) is x and x.conj() is x and edunn.conj_physical(x) is x
    z = edunn.tensor([1 + 1j])
    c = z.conj()
    assert not c.is_conj() and not edunn.is_conj(c) and not c.is_neg() and not edunn.is_neg(c)
    assert edunn.resolve_conj(c) is c and edunn.resolve_neg(c) is c and c.resolve_conj() is c
    c[0] = 0  # a copy: z keeps its value
    assert z.tolist() == [1 + 1j]


@needs_torch
@pytest.mark.parametrize("dtype", ["int64", "bool", "float64", "float32"])
def test_angle_of_real_inputs_matches_torch(dtype):
    vals = [1, 0, 1, 0] if dtype == "bool" else [2, -3, 0, -1]
    e, t = edunn.tensor(vals, dtype=getattr(edunn, dtype)), torch.tensor(vals, dtype=getattr(torch, dtype))
    _same(edunn.angle(e), torch.angle(t), atol=1e-6)
    nan_e = edunn.angle(edunn.tensor([float("nan"), -0.5]))
    assert np.isnan(nan_e.numpy()[0]) and nan_e.numpy()[1] == np.float32(np.pi)
    assert e.angle().dtype is edunn.angle(e).dtype


def test_out_arguments():
    out = edunn.empty(2, dtype=edunn.complex64)
    assert edunn.complex(edunn.ones(2), edunn.zeros(2), out=out) is out and out.tolist() == [1, 1]
    out = edunn.empty(0)
    edunn.angle(edunn.tensor([1j]), out=out)
    assert np.allclose(out.numpy(), [np.pi / 2])
    out = edunn.empty(1, dtype=edunn.complex64)
    edunn.polar(edunn.ones(1), edunn.zeros(1), out=out)
    assert out.tolist() == [1 + 0j]


# ---------------------------------------------------------------------------------- errors
@needs_torch
@pytest.mark.parametrize("call", [
    lambda fw: fw.imag(fw.ones(2)),
    lambda fw: fw.ones(2).imag,
    lambda fw: fw.view_as_real(fw.ones(2)),
    lambda fw: fw.view_as_complex(fw.ones(3)),
    lambda fw: fw.view_as_complex(fw.ones(2, 3)),
    lambda fw: fw.view_as_complex(fw.ones(3, 2, dtype=fw.int32)),
    lambda fw: fw.view_as_complex(fw.ones(2, 4)[:, ::2]),
    lambda fw: fw.view_as_complex(fw.ones(3, 4)[:, 1:3]),
    lambda fw: fw.view_as_complex(fw.ones(3, 2).t().contiguous().t()),
    lambda fw: fw.view_as_complex(fw.ones(())),
    lambda fw: fw.view_as_complex(fw.ones(3, 3, 2)[:, ::1, :][:, :, :].permute(1, 0, 2)[::1, ::1][:, :, :][:, 1:, :][:, :1, :].transpose(0, 1).contiguous()[:, :, :1].expand(1, 2, 2)),
    lambda fw: fw.complex(fw.ones(2), fw.ones(2, dtype=fw.float64)),
    lambda fw: fw.complex(fw.ones(2, dtype=fw.int64), fw.ones(2, dtype=fw.int64)),
    lambda fw: fw.polar(fw.ones(2), fw.ones(2, dtype=fw.float64)),
    lambda fw: fw.adjoint(fw.ones(3)),
])
def test_errors_match_torch(call):
    with pytest.raises(Exception) as theirs:
        call(torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(edunn)
    assert str(ours.value) == str(theirs.value).split(" (Triggered")[0]


def test_complex_of_half_names_the_missing_type():
    with pytest.raises(TypeError, match="complex32"):
        edunn.complex(edunn.ones(2, dtype=edunn.float16), edunn.ones(2, dtype=edunn.float16))
    with pytest.raises(TypeError, match="argument 'input' must be Tensor"):
        edunn.real([1.0])
