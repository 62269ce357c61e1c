"""Complex tensors in the remaining ops PyTorch 2.13 supports, each compared with torch:
``nan_to_num`` (parts replaced separately; torch's error when asked for a gradient),
``logcumsumexp`` (values on torch's imaginary branch, gradients, finite differences), ``cummax``/
``cummin`` (torch refuses), ``cumprod``'s gradient with zeros, the diagonal/flip/product family
(``trace``, ``diag``, ``outer``, ``kron``, ``cross`` ...), the losses (``l1_loss`` works, ``mse``/
``huber``/``smooth_l1`` refuse), ``pad``, dropout, softmax, ``relu``, and ``nn.init`` /
``nn.Linear`` on complex parameters (both parts drawn, torch's refusals)."""
import math
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck
from opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson02, needs_torch]

NAN, INF = float("nan"), float("inf")


def _c(shape, seed=0, scale=1.0):
    rng = np.random.default_rng(seed)
    return (rng.standard_normal(shape) + 1j * rng.standard_normal(shape)) * scale


def _np(t):
    t = t.detach()
    return t.resolve_conj().cpu().numpy() if hasattr(t, "resolve_conj") else t.numpy(force=True)


def _same(e, t, rtol=1e-10, atol=1e-12):
    assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(_np(e), _np(t), rtol=rtol, atol=atol, equal_nan=True)


def _raises_like(ours, theirs):
    with pytest.raises(Exception) as t_err:
        theirs()
    with pytest.raises(type(t_err.value)) as e_err:
        ours()
    assert str(e_err.value) == str(t_err.value)


def _both(fn, *arrays, grad_out=None):
    """``fn`` on edunn and on torch; returns (edunn out, torch out, edunn grads, torch grads)
    with a complex output gradient ``grad_out`` (random by default)."""
    res = []
    for lib in (edunn, torch):
        xs = [lib.tensor(a, requires_grad=True) for a in arrays]
        y = fn(lib, *xs)
        g = grad_out if grad_out is not None else _c(tuple(y.shape), seed=9)
        y.backward(lib.tensor(g if y.is_complex() else g.real))
        res.append((y, [x.grad for x in xs]))
    return res[0][0], res[1][0], res[0][1], res[1][1]


# ------------------------------------------------------------------------------- nan_to_num
SPECIAL = np.array([complex(NAN, 1), complex(INF, NAN), complex(1, -INF), complex(-INF, INF), 2 + 3j,
                    complex(NAN, NAN)])


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("kw", [{}, {"nan": 1.0, "posinf": 5.0, "neginf": -5.0}, {"posinf": 7.0}])
def test_nan_to_num_complex_replaces_each_part(device, dtype, kw):
    a = SPECIAL.astype(dtype)
    _same(edunn.nan_to_num(edunn.tensor(a, device=device), **kw), torch.nan_to_num(torch.tensor(a), **kw))


def test_nan_to_num_complex_out_and_no_grad():
    a = SPECIAL.astype("complex128")
    out = edunn.empty(6, dtype=edunn.cdouble)
    assert edunn.nan_to_num(edunn.tensor(a), nan=2.0, out=out) is out
    _same(out, torch.nan_to_num(torch.tensor(a), nan=2.0))
    z = edunn.tensor(a, requires_grad=True)
    with edunn.no_grad():
        y = edunn.nan_to_num(z)
    assert not y.requires_grad
    _same(y, torch.nan_to_num(torch.tensor(a)))


def test_nan_to_num_complex_refuses_autograd_as_torch():
    _raises_like(lambda: edunn.nan_to_num(edunn.tensor([1 + 2j], requires_grad=True)),
                 lambda: torch.nan_to_num(torch.tensor([1 + 2j], requires_grad=True)))


def test_nan_to_num_real_gradient_unchanged():
    x = edunn.tensor([1.0, NAN, INF, -2.0], requires_grad=True)
    edunn.nan_to_num(x).sum().backward()
    assert x.grad.tolist() == [1.0, 0.0, 0.0, 1.0]


# ------------------------------------------------------------------------------- logcumsumexp
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
@pytest.mark.parametrize("dim", [0, 1, -1])
@pytest.mark.parametrize("scale", [0.5, 4.0, 30.0])
def test_logcumsumexp_complex_values_on_torch_branch(device, dtype, dim, scale):
    # large imaginary parts: torch's result is on no fixed branch of the logarithm, we follow it
    a = _c((4, 9, 3), seed=int(scale * 10), scale=scale).astype(dtype)
    e = edunn.logcumsumexp(edunn.tensor(a, device=device), dim)
    t = torch.logcumsumexp(torch.tensor(a), dim)
    tol = 1e-5 if dtype == "complex64" else 1e-12
    _same(e, t, rtol=tol, atol=tol * (1 + scale))


def test_logcumsumexp_complex_many_random_lengths():
    rng = np.random.default_rng(5)
    for _ in range(40):
        n = int(rng.integers(1, 70))
        s_re, s_im = rng.choice([0.3, 3.0, 40.0], 2)
        a = rng.standard_normal((2, n)) * s_re + 1j * rng.standard_normal((2, n)) * s_im
        _same(edunn.logcumsumexp(edunn.tensor(a), 1), torch.logcumsumexp(torch.tensor(a), 1),
              rtol=1e-11, atol=1e-10 * (1 + s_re + s_im))


@pytest.mark.parametrize("values", [
    [complex(NAN, 0), 1 + 2j, 3j],
    [complex(-INF, 3), complex(-INF, 1), 1 + 2j],
    [complex(INF, 1), 1 + 2j, complex(INF, 2)],
    [1 + 2j, complex(INF, 0.5), -1j],
    [complex(-INF, 2)],
])
def test_logcumsumexp_complex_special_values(values):
    a = np.array(values)
    _same(edunn.logcumsumexp(edunn.tensor(a), 0), torch.logcumsumexp(torch.tensor(a), 0))


def test_logcumsumexp_complex_empty_and_scalar():
    for shape in [(0,), (3, 0), ()]:
        a = _c(shape)
        _same(edunn.logcumsumexp(edunn.tensor(a), -1 if shape else 0),
              torch.logcumsumexp(torch.tensor(a), -1 if shape else 0))


@pytest.mark.parametrize("value", [1.5, 1.5 - 2j])
def test_logcumsumexp_of_a_0_dim_tensor_is_itself(value):
    e, t, ge, gt = _both(lambda lib, x: lib.logcumsumexp(x, 0), np.array(value),
                         grad_out=np.array(2 + 1j if isinstance(value, complex) else 2.0))
    _same(e, t)
    _same(ge[0], gt[0])


@pytest.mark.parametrize("dim", [0, 1])
def test_logcumsumexp_complex_gradient_matches_torch(dim):
    a = _c((3, 5), seed=2)
    e, t, ge, gt = _both(lambda lib, x: lib.logcumsumexp(x, dim), a)
    _same(e, t)
    _same(ge[0], gt[0], rtol=1e-9, atol=1e-11)


def test_logcumsumexp_complex_gradcheck_and_gradgradcheck(device):
    x = edunn.tensor(_c((3, 4), seed=4), device=device, requires_grad=True)
    assert gradcheck(lambda t: edunn.logcumsumexp(t, 1), (x,))
    assert gradgradcheck(lambda t: edunn.logcumsumexp(t, 0), (x,))


def test_logcumsumexp_real_unchanged():
    a = np.random.default_rng(1).standard_normal((3, 6))
    e, t, ge, gt = _both(lambda lib, x: lib.logcumsumexp(x, 1), a, grad_out=_c((3, 6)).real)
    _same(e, t)
    _same(ge[0], gt[0], rtol=1e-9)


# ------------------------------------------------------------------------------- cummax / cummin
@pytest.mark.parametrize("op", ["cummax", "cummin"])
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_cummax_cummin_refuse_complex_as_torch(op, dtype):
    a = _c((3, 2)).astype(dtype)
    _raises_like(lambda: getattr(edunn, op)(edunn.tensor(a), 0), lambda: getattr(torch, op)(torch.tensor(a), 0))


# ------------------------------------------------------------------------------- cumprod with zeros
@pytest.mark.parametrize("zeros", [[], [1], [0, 3], [2, 4], [0, 1, 2, 3, 4]])
def test_cumprod_complex_gradient_with_zeros_matches_torch(zeros):
    a = _c((2, 5), seed=7)
    a[:, zeros] = 0
    e, t, ge, gt = _both(lambda lib, x: lib.cumprod(x, 1), a)
    _same(e, t)
    _same(ge[0], gt[0], rtol=1e-9, atol=1e-11)


def test_cumprod_complex_with_zero_gradcheck():
    a = _c((2, 4), seed=8)
    a[0, 1] = 0
    assert gradcheck(lambda t: edunn.cumprod(t, 1), (edunn.tensor(a, requires_grad=True),))


# ------------------------------------------------------------------------------- diagonals, flips, products
FAMILY = {
    "trace": (lambda L, x: L.trace(x), [(4, 4)]),
    "trace_rect": (lambda L, x: L.trace(x), [(3, 5)]),
    "diag_matrix": (lambda L, x: L.diag(x, 1), [(4, 4)]),
    "diag_vector": (lambda L, v: L.diag(v, -1), [(3,)]),
    "diagonal": (lambda L, x: L.diagonal(x, 1, 0, 2), [(3, 4, 5)]),
    "diag_embed": (lambda L, v: L.diag_embed(v, 1), [(2, 3)]),
    "flip": (lambda L, x: L.flip(x, [0, 2]), [(2, 3, 4)]),
    "fliplr": (lambda L, x: L.fliplr(x), [(2, 3)]),
    "flipud": (lambda L, x: L.flipud(x), [(2, 3)]),
    "roll": (lambda L, x: L.roll(x, (1, -2), (0, 1)), [(3, 4)]),
    "roll_flat": (lambda L, x: L.roll(x, 3), [(3, 4)]),
    "rot90": (lambda L, x: L.rot90(x, 3, (0, 1)), [(3, 4)]),
    "tril": (lambda L, x: L.tril(x, -1), [(4, 4)]),
    "triu": (lambda L, x: L.triu(x, 1), [(3, 4)]),
    "outer": (lambda L, a, b: L.outer(a, b), [(3,), (4,)]),
    "kron": (lambda L, a, b: L.kron(a, b), [(2, 3), (3, 2)]),
    "cross": (lambda L, a, b: L.cross(a, b, dim=1), [(4, 3), (4, 3)]),
    "linalg_cross": (lambda L, a, b: L.linalg.cross(a, b), [(2, 3), (1, 3)]),
}


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_complex_values_and_gradients_match_torch(name):
    fn, shapes = FAMILY[name]
    arrays = [_c(s, seed=i + 11) for i, s in enumerate(shapes)]
    e, t, ge, gt = _both(fn, *arrays)
    _same(e, t)
    for a, b in zip(ge, gt):
        _same(a, b)


@pytest.mark.parametrize("name", sorted(FAMILY))
def test_family_complex_gradcheck(device, name):
    fn, shapes = FAMILY[name]
    xs = tuple(edunn.tensor(_c(s, seed=i + 21), device=device, requires_grad=True) for i, s in enumerate(shapes))
    assert gradcheck(lambda *t: fn(edunn, *t), xs)


# ------------------------------------------------------------------------------- losses
@pytest.mark.parametrize("loss", ["mse_loss", "huber_loss", "smooth_l1_loss"])
@pytest.mark.parametrize("pair", ["cc", "cr", "rc", "c64c128", "ll", "lr"])
def test_real_only_losses_refuse_complex_and_integers_as_torch(loss, pair):
    def make(lib):
        c, r, i = lib.tensor(_c(3)).to(lib.cfloat), lib.tensor([1.0, 2.0, 3.0]), lib.tensor([1, 2, 3])
        a, b = {"cc": (c, 2 * c), "cr": (c, r), "rc": (r, c), "c64c128": (c, c.to(lib.cdouble)),
                "ll": (i, i), "lr": (i, r)}[pair]
        return lambda: getattr(lib.nn.functional, loss)(a, b)
    try:
        make(torch)()
    except Exception:
        _raises_like(make(edunn), make(torch))
    else:
        make(edunn)()


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_l1_loss_complex_uses_modulus(reduction):
    a, b = _c((3, 4), seed=1), _c((3, 4), seed=2)
    e, t, ge, gt = _both(lambda lib, x, y: lib.nn.functional.l1_loss(x, y, reduction=reduction), a, b)
    _same(e, t)
    for u, v in zip(ge, gt):
        _same(u, v)


def test_smooth_l1_with_beta_zero_is_l1_on_complex():
    a, b = _c(4, seed=1), _c(4, seed=2)
    e, t, ge, gt = _both(lambda lib, x, y: lib.nn.functional.smooth_l1_loss(x, y, beta=0.0), a, b)
    _same(e, t)
    _same(ge[0], gt[0])


# ------------------------------------------------------------------------------- pad, dropout, softmax, relu
@pytest.mark.parametrize("mode,value", [("constant", None), ("constant", 1.5), ("reflect", None),
                                        ("replicate", None), ("circular", None)])
def test_pad_complex(mode, value):
    a = _c((1, 2, 4), seed=3)
    e, t, ge, gt = _both(lambda lib, x: lib.nn.functional.pad(x, (2, 1), mode=mode, value=value), a)
    _same(e, t)
    _same(ge[0], gt[0])


def test_pad_refuses_a_complex_value_as_torch():
    _raises_like(lambda: F.pad(edunn.tensor([1j]), (1, 1), value=1 + 2j),
                 lambda: torch.nn.functional.pad(torch.tensor([1j]), (1, 1), value=1 + 2j))


DROPOUTS = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout", "feature_alpha_dropout"]


@pytest.mark.parametrize("fn", DROPOUTS)
def test_dropout_complex_as_torch(fn):
    def run(lib, p, training, inplace=False):
        x = lib.ones(2, 3, 4, dtype=lib.cfloat) * (1 + 2j)
        x = x[None] if fn == "dropout3d" else x
        return lambda: getattr(lib.nn.functional, fn)(x, p, training, inplace)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        _raises_like(run(edunn, 0.5, True), run(torch, 0.5, True))
        _raises_like(run(edunn, 0.3, True, True), run(torch, 0.3, True, True))
        for p, training in [(0.5, False), (1.0, True), (0.0, True)]:
            _same(run(edunn, p, training)(), run(torch, p, training)())


@pytest.mark.parametrize("fn", ["softmax", "log_softmax"])
@pytest.mark.parametrize("shape,dim", [((3,), 0), ((3, 1), 0), ((2, 3), 1), ((2, 3), -2)])
def test_softmax_refuses_complex_as_torch(fn, shape, dim):
    _raises_like(lambda: getattr(F, fn)(edunn.zeros(shape, dtype=edunn.cfloat), dim),
                 lambda: getattr(torch.nn.functional, fn)(torch.zeros(shape, dtype=torch.cfloat), dim))


def test_relu_refuses_complex():
    with pytest.raises((RuntimeError, NotImplementedError), match="complex"):
        F.relu(edunn.tensor([1 + 1j]))


# ------------------------------------------------------------------------------- nn.init and Linear
def test_uniform_and_normal_fill_both_parts_as_torch():
    for lib in (edunn, torch):
        lib.manual_seed(0)
        u = lib.empty(100_000, dtype=lib.cfloat).uniform_(-1.0, 3.0)
        for part in (u.real, u.imag):
            assert -1.0 <= part.min().item() and part.max().item() < 3.0
            assert abs(part.mean().item() - 1.0) < 0.03
        n = lib.empty(100_000, dtype=lib.cdouble).normal_(1.0, 2.0)
        for part in (n.real, n.imag):  # each part N(mean, std^2 / 2)
            assert abs(part.mean().item() - 1.0) < 0.03
            assert abs(part.std().item() - math.sqrt(2.0)) < 0.03


@pytest.mark.parametrize("init", ["kaiming_uniform_", "xavier_uniform_", "uniform_"])
def test_uniform_inits_bound_both_parts(init):
    w = edunn.empty(200, 300, dtype=edunn.cfloat)
    getattr(edunn.nn.init, init)(w)
    if init == "kaiming_uniform_":
        lo, hi = -math.sqrt(6.0 / 300), math.sqrt(6.0 / 300)
    elif init == "xavier_uniform_":
        lo, hi = -math.sqrt(6.0 / 500), math.sqrt(6.0 / 500)
    else:
        lo, hi = 0.0, 1.0
    for part in (w.real, w.imag):
        assert lo <= part.min().item() < lo + 0.01 * (hi - lo)
        assert hi - 0.01 * (hi - lo) < part.max().item() < hi


@pytest.mark.parametrize("init", ["kaiming_normal_", "xavier_normal_", "normal_"])
def test_normal_inits_on_complex_have_torch_spread(init):
    w = edunn.empty(200, 300, dtype=edunn.cdouble)
    getattr(edunn.nn.init, init)(w)
    t = torch.empty(200, 300, dtype=torch.cdouble)
    getattr(torch.nn.init, init)(t)
    for a, b in [(w.real, t.real), (w.imag, t.imag)]:
        assert abs(a.std().item() / b.std().item() - 1) < 0.03
        assert abs(a.mean().item()) < 0.01


@pytest.mark.parametrize("init", ["trunc_normal_", "orthogonal_"])
@pytest.mark.parametrize("dtype", ["cfloat", "cdouble"])
def test_trunc_normal_and_orthogonal_refuse_complex_as_torch(init, dtype):
    _raises_like(lambda: getattr(edunn.nn.init, init)(edunn.empty(3, 2, dtype=getattr(edunn, dtype))),
                 lambda: getattr(torch.nn.init, init)(torch.empty(3, 2, dtype=getattr(torch, dtype))))


@pytest.mark.parametrize("init", ["constant_", "ones_", "zeros_", "eye_", "dirac_"])
def test_deterministic_inits_on_complex_match_torch(init):
    shape = (4, 2, 3) if init == "dirac_" else (3, 4)
    args = (0.5,) if init == "constant_" else ()
    e = getattr(edunn.nn.init, init)(edunn.empty(shape, dtype=edunn.cfloat), *args)
    t = getattr(torch.nn.init, init)(torch.empty(shape, dtype=torch.cfloat), *args)
    _same(e, t)


def test_sparse_init_on_complex_zeroes_whole_entries():
    w = edunn.nn.init.sparse_(edunn.empty(10, 6, dtype=edunn.cfloat), 0.5)
    assert ((w == 0).sum(0) >= 5).all().item()
    assert (w.imag != 0).any().item()


def test_complex_linear_construction_and_forward_match_torch():
    m = edunn.nn.Linear(5, 3, dtype=edunn.cfloat)
    assert m.weight.dtype == edunn.cfloat and m.bias.dtype == edunn.cfloat
    bound = 1 / math.sqrt(5)
    for p in (m.weight, m.bias):
        for part in (p.real, p.imag):
            assert (part.abs() <= bound).all().item()
    tm = torch.nn.Linear(5, 3, dtype=torch.cfloat)
    with torch.no_grad():
        tm.weight.copy_(torch.from_numpy(m.weight.detach().numpy()))
        tm.bias.copy_(torch.from_numpy(m.bias.detach().numpy()))
    x = _c((4, 5), seed=3).astype("complex64")
    ye, yt = m(edunn.tensor(x)), tm(torch.tensor(x))
    _same(ye, yt, rtol=1e-5, atol=1e-6)
    ye.abs().sum().backward()
    yt.abs().sum().backward()
    _same(m.weight.grad, tm.weight.grad, rtol=1e-5, atol=1e-5)
    _same(m.bias.grad, tm.bias.grad, rtol=1e-5, atol=1e-5)
