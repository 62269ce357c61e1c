"""edunn.nn.init: gains equal PyTorch's, every init's statistics match the distribution its
fan computation (done here independently) asks for, structure of eye/dirac/orthogonal/sparse,
reproducibility, in-place and no-grad behaviour, and PyTorch's errors."""
import math

import numpy as np
import pytest

import edunn
import edunn.nn.init as init
from tests.opcheck import torch, needs_torch

pytestmark = pytest.mark.lesson07

NONLINEARITIES = ["linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
                  "conv_transpose3d", "sigmoid", "tanh", "relu", "leaky_relu", "selu"]


def fans(shape):
    rf = int(np.prod(shape[2:])) if len(shape) > 2 else 1
    return shape[1] * rf, shape[0] * rf


@needs_torch
@pytest.mark.parametrize("nl", NONLINEARITIES)
def test_calculate_gain_matches_torch(nl):
    assert init.calculate_gain(nl) == torch.nn.init.calculate_gain(nl)
    assert type(init.calculate_gain(nl)) is type(torch.nn.init.calculate_gain(nl))


@needs_torch
@pytest.mark.parametrize("param", [0, 0.2, 1, math.sqrt(5), -0.5])
def test_calculate_gain_leaky_param(param):
    assert init.calculate_gain("leaky_relu", param) == pytest.approx(
        torch.nn.init.calculate_gain("leaky_relu", param), rel=1e-15)


def test_calculate_gain_errors():
    with pytest.raises(ValueError, match="Unsupported nonlinearity gelu"):
        init.calculate_gain("gelu")
    with pytest.raises(ValueError, match="negative_slope True not a valid number"):
        init.calculate_gain("leaky_relu", True)
    with pytest.raises(ValueError, match="not a valid number"):
        init.calculate_gain("leaky_relu", "0.1")


@pytest.mark.parametrize("shape", [(7, 5), (6, 4, 3), (8, 3, 2, 5), (4, 2, 3, 3, 2)])
def test_fans(shape):
    t = edunn.empty(*shape)
    assert init._calculate_fan_in_and_fan_out(t) == fans(shape)
    assert init._calculate_correct_fan(t, "fan_in") == fans(shape)[0]
    assert init._calculate_correct_fan(t, "FAN_OUT") == fans(shape)[1]


def test_fan_errors():
    msg = "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions"
    for f in (init.xavier_uniform_, init.xavier_normal_, init.kaiming_uniform_, init.kaiming_normal_):
        with pytest.raises(ValueError, match=msg):
            f(edunn.empty(5))
    with pytest.raises(ValueError, match=r"Mode fan_avg not supported, please use one of \['fan_in', 'fan_out'\]"):
        init.kaiming_uniform_(edunn.empty(3, 4), mode="fan_avg")
    with pytest.raises(ValueError, match="Unsupported nonlinearity"):
        init.kaiming_normal_(edunn.empty(3, 4), nonlinearity="swish")


def stats(t):
    a = t.numpy().astype(np.float64).ravel()
    return a.mean(), a.std(), a.min(), a.max()


N = (400, 300)  # 120k samples: the std of the sample mean is ~ std / 350


def test_uniform_normal_constant():
    t = edunn.empty(*N)
    assert init.uniform_(t, -2.0, 3.0) is t
    m, s, lo, hi = stats(t)
    assert lo >= -2 and hi <= 3 and abs(m - 0.5) < 0.02 and abs(s - 5 / math.sqrt(12)) < 0.02
    assert init.normal_(t, 1.5, 0.5) is t
    m, s, _, _ = stats(t)
    assert abs(m - 1.5) < 0.01 and abs(s - 0.5) < 0.01
    assert init.constant_(t, 0.25) is t and (t.numpy() == 0.25).all()
    assert init.ones_(t) is t and (t.numpy() == 1).all()
    assert init.zeros_(t) is t and (t.numpy() == 0).all()


@pytest.mark.parametrize("shape", [(400, 300), (64, 32, 3, 3)])
@pytest.mark.parametrize("gain", [1.0, 2.5])
def test_xavier(shape, gain):
    fi, fo = fans(shape)
    std = gain * math.sqrt(2.0 / (fi + fo))
    t = init.xavier_uniform_(edunn.empty(*shape), gain=gain)
    m, s, lo, hi = stats(t)
    bound = math.sqrt(3) * std
    assert -bound <= lo and hi <= bound and hi > 0.99 * bound
    assert abs(m) < 0.01 * bound and abs(s - std) < 0.01 * std
    m, s, _, _ = stats(init.xavier_normal_(edunn.empty(*shape), gain=gain))
    assert abs(m) < 0.02 * std and abs(s - std) < 0.01 * std


@pytest.mark.parametrize("shape", [(400, 300), (64, 32, 3, 3)])
@pytest.mark.parametrize("a,mode,nl", [(0, "fan_in", "leaky_relu"), (math.sqrt(5), "fan_in", "leaky_relu"),
                                       (0, "fan_out", "relu"), (0.2, "fan_out", "leaky_relu"),
                                       (0, "fan_in", "tanh"), (0, "fan_in", "linear")])
def test_kaiming(shape, a, mode, nl):
    fan = fans(shape)[0 if mode == "fan_in" else 1]
    gains = {"leaky_relu": math.sqrt(2 / (1 + a * a)), "relu": math.sqrt(2), "tanh": 5 / 3, "linear": 1}
    std = gains[nl] / math.sqrt(fan)
    bound = math.sqrt(3) * std
    t = init.kaiming_uniform_(edunn.empty(*shape), a=a, mode=mode, nonlinearity=nl)
    m, s, lo, hi = stats(t)
    assert -bound <= lo and hi <= bound and hi > 0.99 * bound
    assert abs(m) < 0.01 * bound and abs(s - std) < 0.01 * std
    m, s, _, _ = stats(init.kaiming_normal_(edunn.empty(*shape), a=a, mode=mode, nonlinearity=nl))
    assert abs(m) < 0.02 * std and abs(s - std) < 0.01 * std


def test_kaiming_zero_element_warns():
    t = edunn.empty(0, 3)
    for f in (init.kaiming_uniform_, init.kaiming_normal_):
        with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
            assert f(t) is t


def truncnorm_moments(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)
    Phi = lambda x: 0.5 * (1 + math.erf(x / math.sqrt(2)))
    Z = Phi(be) - Phi(al)
    mu = mean + std * (phi(al) - phi(be)) / Z
    var = std ** 2 * (1 + (al * phi(al) - be * phi(be)) / Z - ((phi(al) - phi(be)) / Z) ** 2)
    return mu, math.sqrt(var)


@pytest.mark.parametrize("mean,std,a,b", [(0, 1, -2, 2), (0.5, 2, -1, 3), (0, 1, 1.5, 3), (0, 0.02, -0.04, 0.04),
                                          (0, 1, -0.1, 0.1)])
def test_trunc_normal(mean, std, a, b):
    t = init.trunc_normal_(edunn.empty(*N), mean, std, a, b)
    m, s, lo, hi = stats(t)
    mu, sd = truncnorm_moments(mean, std, a, b)
    assert a <= lo and hi <= b
    assert abs(m - mu) < 0.02 * sd + 1e-12 and abs(s - sd) < 0.02 * sd


def test_trunc_normal_warns_far_mean():
    with pytest.warns(UserWarning, match="mean is more than 2 std from"):
        t = init.trunc_normal_(edunn.empty(100), mean=10, std=1, a=-1, b=1)
    assert float(t.min()) >= -1 and float(t.max()) <= 1


@pytest.mark.parametrize("dtype", [edunn.float16, edunn.float64])
def test_trunc_normal_dtypes(dtype):
    t = init.trunc_normal_(edunn.empty(1000, dtype=dtype), a=-0.5, b=0.5)
    assert t.dtype == dtype and float(t.min()) >= -0.5 and float(t.max()) <= 0.5


@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (6, 6), (4, 2, 3)])
@pytest.mark.parametrize("gain", [1.0, 0.5])
def test_orthogonal(shape, gain):
    t = init.orthogonal_(edunn.empty(*shape), gain=gain)
    q = t.numpy().astype(np.float64).reshape(shape[0], -1) / gain
    r, c = q.shape
    small = q @ q.T if r <= c else q.T @ q
    np.testing.assert_allclose(small, np.eye(min(r, c)), atol=1e-5)


def test_orthogonal_haar_sign():
    # without the sign fix QR's R has a positive-by-convention diagonal and Q is biased; with it
    # the first entry is as often positive as negative
    vals = [float(init.orthogonal_(edunn.empty(4, 4))[0, 0]) for _ in range(400)]
    assert 150 < sum(v > 0 for v in vals) < 250


def test_orthogonal_errors():
    with pytest.raises(ValueError, match="Only tensors with 2 or more dimensions are supported"):
        init.orthogonal_(edunn.empty(4))


@pytest.mark.parametrize("sparsity,rows,cols", [(0.1, 100, 50), (0.35, 40, 30), (0.0, 10, 10), (1.0, 7, 3)])
def test_sparse(sparsity, rows, cols):
    t = init.sparse_(edunn.empty(rows, cols), sparsity, std=0.5)
    a = t.numpy()
    zeros_per_col = (a == 0).sum(axis=0)
    assert (zeros_per_col == math.ceil(sparsity * rows)).all()
    nz = a[a != 0]
    if nz.size > 1000:
        assert abs(nz.std() - 0.5) < 0.03
    # the zero rows differ from column to column
    if 0 < sparsity < 1:
        pattern = a == 0
        assert len({tuple(pattern[:, j]) for j in range(cols)}) > 1


def test_sparse_errors():
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.sparse_(edunn.empty(3, 4, 5), 0.1)


@needs_torch
@pytest.mark.parametrize("shape", [(3, 5), (5, 3), (4, 4)])
def test_eye_matches_torch(shape):
    t = init.eye_(edunn.empty(*shape))
    np.testing.assert_array_equal(t.numpy(), torch.nn.init.eye_(torch.empty(*shape)).numpy())
    with pytest.raises(ValueError, match="Only tensors with 2 dimensions are supported"):
        init.eye_(edunn.empty(2, 3, 4))


@needs_torch
@pytest.mark.parametrize("shape,groups", [((4, 3, 5), 1), ((6, 2, 3, 3), 1), ((6, 2, 3, 4), 3),
                                          ((4, 5, 3, 3, 3), 2), ((2, 4, 3, 2), 2)])
def test_dirac_matches_torch(shape, groups):
    t = init.dirac_(edunn.randn(*shape), groups)
    np.testing.assert_array_equal(t.numpy(), torch.nn.init.dirac_(torch.randn(*shape), groups).numpy())


@needs_torch
def test_dirac_preserves_identity_through_conv():
    w = init.dirac_(edunn.empty(3, 3, 3, 3))
    x = torch.randn(2, 3, 5, 5)
    y = torch.nn.functional.conv2d(x, torch.from_numpy(w.numpy()), padding=1)
    np.testing.assert_allclose(y.numpy(), x.numpy(), atol=1e-6)


def test_dirac_errors():
    with pytest.raises(ValueError, match="Only tensors with 3, 4, or 5 dimensions are supported"):
        init.dirac_(edunn.empty(3, 3))
    with pytest.raises(ValueError, match="dim 0 must be divisible by groups"):
        init.dirac_(edunn.empty(5, 2, 3), groups=2)


RANDOM_INITS = [
    (init.uniform_, {}), (init.normal_, {}), (init.trunc_normal_, {}),
    (init.trunc_normal_, {"a": 2.0, "b": 4.0}), (init.xavier_uniform_, {}), (init.xavier_normal_, {}),
    (init.kaiming_uniform_, {}), (init.kaiming_normal_, {}), (init.orthogonal_, {}),
    (init.sparse_, {"sparsity": 0.3}),
]


@pytest.mark.parametrize("fn,kw", RANDOM_INITS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_reproducible_and_generator(fn, kw):
    edunn.manual_seed(123)
    a = fn(edunn.empty(20, 30), **kw).numpy().copy()
    edunn.manual_seed(123)
    b = fn(edunn.empty(20, 30), **kw).numpy().copy()
    np.testing.assert_array_equal(a, b)
    g1, g2 = edunn.Generator().manual_seed(7), edunn.Generator().manual_seed(7)
    c = fn(edunn.empty(20, 30), **kw, generator=g1).numpy().copy()
    edunn.manual_seed(999)  # the default generator's state does not matter with generator=
    d = fn(edunn.empty(20, 30), **kw, generator=g2).numpy().copy()
    np.testing.assert_array_equal(c, d)
    assert not np.array_equal(a, c)


ALL_INITS = RANDOM_INITS + [(init.constant_, {"val": 0.3}), (init.ones_, {}), (init.zeros_, {}),
                            (init.eye_, {})]


@pytest.mark.parametrize("fn,kw", ALL_INITS, ids=lambda v: getattr(v, "__name__", str(v)))
def test_in_place_on_leaf_without_grad(fn, kw):
    p = edunn.zeros(6, 8, requires_grad=True)
    view = p[1:3]
    v0 = p._version
    out = fn(p, **kw)
    assert out is p and p.requires_grad and p.is_leaf and p.grad_fn is None
    assert p._version > v0
    np.testing.assert_array_equal(view.detach().numpy(), p.detach().numpy()[1:3])  # in p's storage
    (p * 2).sum().backward()
    np.testing.assert_array_equal(p.grad.numpy(), np.full((6, 8), 2, np.float32))


def test_keeps_dtype():
    for dt in (edunn.float64, edunn.float16):
        for fn, kw in ALL_INITS:
            assert fn(edunn.empty(6, 8, dtype=dt), **kw).dtype == dt


def test_type_error():
    with pytest.raises(TypeError, match="must be a Tensor"):
        init.uniform_(np.zeros((2, 2)))


def test_deprecated_aliases():
    with pytest.warns(FutureWarning, match=r"`nn.init.xavier_uniform` is now deprecated in favor of `nn.init.xavier_uniform_`"):
        t = init.xavier_uniform(edunn.empty(3, 4))
    assert t.shape == (3, 4)
    for name in ("uniform", "normal", "constant", "eye", "dirac", "kaiming_uniform", "kaiming_normal",
                 "orthogonal", "sparse", "xavier_normal"):
        assert getattr(init, name).__name__ == name


@needs_torch
def test_all_names_match_torch():
    assert set(init.__all__) == set(torch.nn.init.__all__)
    assert edunn.nn.init is init


@needs_torch
@pytest.mark.parametrize("name", sorted(n for n in init.__all__ if n.endswith("_") or n == "calculate_gain"))
def test_signature_matches_torch(name):
    import inspect
    ps = lambda f: [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]
    assert ps(getattr(init, name)) == ps(getattr(torch.nn.init, name))
