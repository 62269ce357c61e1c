"""Every ``edunn.nn.init`` function on ``cuda`` tensors (lessons 07 and 18): the result stays on
the device, in place (the same tensor, still a leaf), with the right statistics; deterministic
fills equal the CPU's exactly; ``generator=`` takes a generator of the device, reproducibly.

The random streams of CuPy and NumPy differ, so random fills are checked by their statistics
(mean and variance within five standard errors over 60,000 draws) rather than by the CPU's
numbers.
"""
from __future__ import annotations

import math
import warnings

import numpy as np
import pytest

import edunn
from _compare import on_device
from edunn import nn
from edunn.nn import init

pytestmark = pytest.mark.lesson18

ROWS, COLS = 200, 300  # fan_in 300, fan_out 200; 60,000 draws
N = ROWS * COLS


def _empty(gpu, shape=(ROWS, COLS), dtype=edunn.float32, param=False):
    t = edunn.empty(shape, dtype=dtype, device=gpu)
    return nn.Parameter(t) if param else t


def _stats_ok(x: np.ndarray, mean: float, var: float, what: str) -> None:
    x = x.astype(np.float64).ravel()
    n = x.size
    se_mean = math.sqrt(var / n)
    assert abs(x.mean() - mean) < 5 * se_mean + 1e-12, f"{what}: mean {x.mean():.5f}, expected {mean:.5f}"
    # the variance's standard error for a distribution of kurtosis <= 3 (normal, uniform, truncated)
    assert abs(x.var() - var) < 5 * var * math.sqrt(2 / n), f"{what}: variance {x.var():.6f}, expected {var:.6f}"


def _check_in_place(out, t, gpu, what: str) -> np.ndarray:
    assert out is t, f"{what} must fill the tensor in place and return it"
    assert on_device(t, gpu), f"{what}: result on {t.device}"
    assert t.grad_fn is None, f"{what} must not record a graph"
    return t.detach().cpu().numpy()


# name -> (call(t, generator), expected mean, expected variance, bounds or None)
STD_XAVIER = 1.5 * math.sqrt(2.0 / (ROWS + COLS))
GAIN_LRELU = math.sqrt(2.0 / (1 + 0.2 ** 2))
RANDOM = {
    "uniform_": (lambda t, g: init.uniform_(t, -2.0, 3.0, generator=g), 0.5, 25 / 12, (-2.0, 3.0)),
    "normal_": (lambda t, g: init.normal_(t, 1.0, 2.0, generator=g), 1.0, 4.0, None),
    "xavier_uniform_": (lambda t, g: init.xavier_uniform_(t, gain=1.5, generator=g), 0.0, STD_XAVIER ** 2,
                        (-math.sqrt(3) * STD_XAVIER, math.sqrt(3) * STD_XAVIER)),
    "xavier_normal_": (lambda t, g: init.xavier_normal_(t, gain=1.5, generator=g), 0.0, STD_XAVIER ** 2, None),
    "kaiming_uniform_": (lambda t, g: init.kaiming_uniform_(t, a=0.2, generator=g), 0.0, GAIN_LRELU ** 2 / COLS,
                         (-GAIN_LRELU * math.sqrt(3 / COLS), GAIN_LRELU * math.sqrt(3 / COLS))),
    "kaiming_uniform_fan_out_relu": (lambda t, g: init.kaiming_uniform_(t, mode="fan_out", nonlinearity="relu",
                                                                         generator=g), 0.0, 2.0 / ROWS,
                                     (-math.sqrt(6 / ROWS), math.sqrt(6 / ROWS))),
    "kaiming_normal_": (lambda t, g: init.kaiming_normal_(t, generator=g), 0.0, 2.0 / COLS, None),
    "kaiming_normal_fan_out_tanh": (lambda t, g: init.kaiming_normal_(t, mode="fan_out", nonlinearity="tanh",
                                                                       generator=g), 0.0, (5 / 3) ** 2 / ROWS, None),
}


def _truncnorm_moments(mean, std, a, b):
    al, be = (a - mean) / std, (b - mean) / std
    phi = lambda x: math.exp(-x * x / 2) / math.sqrt(2 * math.pi)  # noqa: E731
    cdf = lambda x: (1 + math.erf(x / math.sqrt(2))) / 2  # noqa: E731
    z = cdf(be) - cdf(al)
    m = mean + std * (phi(al) - phi(be)) / z
    v = std ** 2 * (1 + (al * phi(al) - be * phi(be)) / z - ((phi(al) - phi(be)) / z) ** 2)
    return m, v


for _name, (_m, _s, _a, _b) in {"trunc_normal_wide": (0.5, 1.0, -1.0, 2.0),
                                "trunc_normal_narrow_tail": (0.0, 1.0, 1.5, 2.5)}.items():
    _mom = _truncnorm_moments(_m, _s, _a, _b)
    RANDOM[_name] = ((lambda m, s, a, b: lambda t, g: init.trunc_normal_(t, m, s, a, b, generator=g))(_m, _s, _a, _b),
                     _mom[0], _mom[1], (_a, _b))


@pytest.mark.parametrize("name", list(RANDOM))
def test_random_init_on_the_device_has_the_right_statistics(name, gpu):
    call, mean, var, bounds = RANDOM[name]
    t = _empty(gpu, param=True)
    x = _check_in_place(call(t, None), t, gpu, name)
    assert t.requires_grad and t.is_leaf and isinstance(t, nn.Parameter)
    assert x.dtype == np.float32
    _stats_ok(x, mean, var, name)
    if bounds is not None:
        assert bounds[0] - 1e-6 <= x.min() and x.max() <= bounds[1] + 1e-6, f"{name}: outside {bounds}"


@pytest.mark.parametrize("name", list(RANDOM))
def test_generator_of_the_device_makes_init_reproducible(name, gpu):
    call = RANDOM[name][0]
    draws = []
    for seed in (5, 5, 6):
        g = edunn.Generator(device=gpu).manual_seed(seed)
        t = _empty(gpu, shape=(30, 40))
        draws.append(_check_in_place(call(t, g), t, gpu, name))
    np.testing.assert_array_equal(draws[0], draws[1])
    assert not np.array_equal(draws[0], draws[2]), f"{name}: seeds 5 and 6 gave the same numbers"
    # the default generator of the device follows edunn.manual_seed
    again = []
    for _ in range(2):
        edunn.manual_seed(11)
        t = _empty(gpu, shape=(30, 40))
        again.append(call(t, None).cpu().numpy())
    np.testing.assert_array_equal(again[0], again[1])


def test_a_generator_of_another_device_is_rejected(gpu):
    if gpu == "cpu":
        pytest.skip("needs a real second device type")
    t = _empty(gpu, shape=(3, 4))
    with pytest.raises(RuntimeError, match="cuda.*generator.*cpu|generator"):
        init.normal_(t, generator=edunn.Generator(device="cpu"))


@pytest.mark.parametrize("dtype", ["float64", "float16"])
def test_random_init_in_other_dtypes_on_the_device(dtype, gpu):
    d = getattr(edunn, dtype)
    t = _empty(gpu, dtype=d)
    x = _check_in_place(init.kaiming_normal_(t), t, gpu, "kaiming_normal_")
    assert t.dtype == d and x.dtype == np.dtype(dtype)
    _stats_ok(x.astype(np.float64), 0.0, 2.0 / COLS, f"kaiming_normal_ {dtype}")
    u = _empty(gpu, dtype=d)
    init.trunc_normal_(u, std=0.02)
    assert u.dtype == d and float(u.abs().max()) <= 2.0


# name -> (call(t), shape)
DETERMINISTIC = {
    "constant_": (lambda t: init.constant_(t, 0.375), (4, 5)),
    "ones_": (init.ones_, (3, 2, 2)),
    "zeros_": (init.zeros_, (6,)),
    "eye_": (init.eye_, (3, 5)),
    "eye_tall": (init.eye_, (5, 3)),
    "dirac_1d": (init.dirac_, (4, 3, 3)),
    "dirac_2d_groups": (lambda t: init.dirac_(t, groups=2), (6, 2, 3, 3)),
    "dirac_3d": (init.dirac_, (2, 4, 3, 1, 3)),
}


@pytest.mark.parametrize("name", list(DETERMINISTIC))
def test_deterministic_init_on_the_device_equals_the_cpu(name, gpu):
    call, shape = DETERMINISTIC[name]
    t = edunn.randn(shape, device=gpu)
    out = _check_in_place(call(t), t, gpu, name)
    ref = edunn.randn(shape)
    call(ref)
    np.testing.assert_array_equal(out, ref.numpy())
    if name.startswith("dirac"):  # a convolution with the Dirac kernel copies its input channels
        x = edunn.randn((1, shape[1] * (2 if "groups" in name else 1)) + (5,) * (len(shape) - 2), device=gpu)
        conv = {3: nn.functional.conv1d, 4: nn.functional.conv2d, 5: nn.functional.conv3d}[len(shape)]
        y = conv(x, t, padding=tuple(k // 2 for k in shape[2:]), groups=2 if "groups" in name else 1)
        assert on_device(y, gpu)
        if "groups" in name:
            np.testing.assert_allclose(y[0, [0, 1, 3, 4]].cpu().numpy(), x[0].cpu().numpy(), rtol=1e-6, atol=1e-6)
        else:
            np.testing.assert_allclose(y[0, :min(shape[:2])].cpu().numpy(), x[0, :min(shape[:2])].cpu().numpy(),
                                       rtol=1e-6, atol=1e-6)


@pytest.mark.parametrize("shape,gain", [((20, 50), 1.0), ((50, 20), 2.0), ((8, 3, 2, 2), 0.5)],
                         ids=["wide", "tall", "conv"])
def test_orthogonal_on_the_device(shape, gain, gpu):
    t = _empty(gpu, shape=shape, param=True)
    x = _check_in_place(init.orthogonal_(t, gain=gain), t, gpu, "orthogonal_").astype(np.float64)
    flat = x.reshape(shape[0], -1)
    small = min(flat.shape)
    gram = flat @ flat.T if flat.shape[0] <= flat.shape[1] else flat.T @ flat
    np.testing.assert_allclose(gram, gain ** 2 * np.eye(small), atol=1e-5 * gain ** 2)
    g1, g2 = (edunn.Generator(device=gpu).manual_seed(3) for _ in range(2))
    a, b = _empty(gpu, shape=shape), _empty(gpu, shape=shape)
    np.testing.assert_array_equal(init.orthogonal_(a, generator=g1).cpu().numpy(),
                                  init.orthogonal_(b, generator=g2).cpu().numpy())


@pytest.mark.parametrize("sparsity", [0.1, 0.5, 0.95])
def test_sparse_on_the_device(sparsity, gpu):
    t = _empty(gpu, shape=(40, 500))
    x = _check_in_place(init.sparse_(t, sparsity, std=0.05), t, gpu, "sparse_")
    zeros = math.ceil(sparsity * 40)
    np.testing.assert_array_equal((x == 0).sum(0), np.full(500, zeros))  # exactly that many per column
    nz = x[x != 0]
    _stats_ok(nz, 0.0, 0.05 ** 2, "sparse_ nonzeros")
    g1, g2 = (edunn.Generator(device=gpu).manual_seed(9) for _ in range(2))
    np.testing.assert_array_equal(init.sparse_(_empty(gpu, shape=(10, 7)), sparsity, generator=g1).cpu().numpy(),
                                  init.sparse_(_empty(gpu, shape=(10, 7)), sparsity, generator=g2).cpu().numpy())


def test_fans_and_gains_do_not_depend_on_the_device(gpu):
    for shape in [(7, 3), (6, 4, 3, 3), (5, 2, 3)]:
        assert (init._calculate_fan_in_and_fan_out(edunn.empty(shape, device=gpu))
                == init._calculate_fan_in_and_fan_out(edunn.empty(shape)))
    assert init.calculate_gain("leaky_relu", 0.2) == GAIN_LRELU


def test_deprecated_names_work_on_the_device(gpu):
    for old, args in [("uniform", ()), ("normal", ()), ("constant", (0.5,)), ("eye", ()),
                      ("xavier_uniform", ()), ("xavier_normal", ()), ("kaiming_uniform", ()),
                      ("kaiming_normal", ()), ("orthogonal", ()), ("sparse", (0.5,))]:
        if not hasattr(init, old):
            continue
        t = _empty(gpu, shape=(6, 4))
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            getattr(init, old)(t, *args)
        assert any(issubclass(w.category, FutureWarning) for w in caught), f"nn.init.{old}: no FutureWarning"
        assert on_device(t, gpu)


@pytest.mark.parametrize("factory", [lambda d: nn.Linear(300, 200, device=d), lambda d: nn.Conv2d(3, 8, 3, device=d),
                                     lambda d: nn.LSTM(4, 6, device=d), lambda d: nn.Embedding(50, 8, device=d)],
                         ids=["Linear", "Conv2d", "LSTM", "Embedding"])
def test_layers_built_on_the_device_initialise_there(factory, gpu):
    """``device=`` at construction: reset_parameters runs the init functions on the device."""
    layer = factory(gpu)
    for name, p in layer.named_parameters():
        assert on_device(p, gpu), f"{name} on {p.device}"
        assert bool(p.detach().abs().sum() > 0), f"{name} was not initialised"
    if isinstance(layer, nn.Linear):
        w = layer.weight.detach().cpu().numpy()
        bound = 1 / math.sqrt(300)
        assert w.min() >= -bound and w.max() <= bound
        _stats_ok(w, 0.0, bound ** 2 / 3, "Linear.weight")
