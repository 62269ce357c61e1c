"""Padding layers, pixel/channel shuffles and interpolation (lesson 10) against PyTorch CPU:
values, input gradients, reprs, warnings and errors; gradcheck in float64."""
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.lesson10


def compare(fn, tfn, x, seed=1, atol=1e-5, grad=True):
    """Forward and input gradient of ``fn`` against ``tfn`` on the array ``x``."""
    a = edunn.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ya, yb = fn(a), tfn(b)
    assert tuple(ya.shape) == tuple(yb.shape), (tuple(ya.shape), tuple(yb.shape))
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), atol=atol, rtol=1e-5)
    if not grad:
        return
    g = np.random.default_rng(seed).standard_normal(tuple(yb.shape)).astype(x.dtype)
    ya.backward(edunn.tensor(g))
    yb.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, rtol=1e-5)


def rand(*shape, seed=0, dtype="float32"):
    return np.random.default_rng(seed).standard_normal(shape).astype(dtype)


# ------------------------------------------------------------------------------ padding layers
PAD_CLASSES = ["ReflectionPad", "ReplicationPad", "ZeroPad", "ConstantPad", "CircularPad"]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("n", [1, 2, 3])
@pytest.mark.parametrize("kind", PAD_CLASSES)
def test_padding_layers(kind, n, batched):
    shape = (2, 3, 5, 4, 6)[: n + 2] if batched else (3, 5, 4, 6)[: n + 1]
    x = rand(*shape)
    for padding in [1, (2, 1, 0, 3, 1, 2)[: 2 * n]]:
        args = (padding, 2.5) if kind == "ConstantPad" else (padding,)
        ours, theirs = getattr(nn, f"{kind}{n}d")(*args), getattr(torch.nn, f"{kind}{n}d")(*args)
        assert repr(ours) == repr(theirs)
        compare(ours, theirs, x)


def test_padding_layer_errors():
    with pytest.raises(ValueError, match=r"expected 3D or 4D input \(got 2D input\)"):
        nn.CircularPad2d(1)(edunn.randn(4, 4))
    with pytest.raises(RuntimeError, match="Padding size should be less than the corresponding input dimension"):
        nn.ReflectionPad1d(4)(edunn.randn(1, 2, 4))
    assert isinstance(nn.ZeroPad2d(1), nn.ConstantPad2d)


# ------------------------------------------------------------------------------ shuffles
@pytest.mark.parametrize("shape", [(2, 8, 3, 5), (8, 3, 5), (2, 1, 18, 2, 3)])
def test_pixel_shuffle_and_unshuffle(shape):
    r = 2 if shape[-3] % 4 == 0 else 3
    x = rand(*shape)
    compare(lambda t: F.pixel_shuffle(t, r), lambda t: TF.pixel_shuffle(t, r), x)
    compare(lambda t: nn.PixelShuffle(r)(t), lambda t: torch.nn.PixelShuffle(r)(t), x)
    y = rand(*shape[:-3], shape[-3], shape[-2] * r, shape[-1] * r)
    compare(lambda t: F.pixel_unshuffle(t, r), lambda t: TF.pixel_unshuffle(t, r), y)
    compare(lambda t: nn.PixelUnshuffle(r)(t), lambda t: torch.nn.PixelUnshuffle(r)(t), y)
    back = F.pixel_unshuffle(F.pixel_shuffle(edunn.tensor(x), r), r)
    np.testing.assert_array_equal(back.numpy(), x)


@pytest.mark.parametrize("shape", [(2, 6, 3), (2, 6, 3, 4), (1, 12, 2, 2, 2)])
def test_channel_shuffle(shape):
    x = rand(*shape)
    for g in (1, 2, 3):
        compare(lambda t: F.channel_shuffle(t, g), lambda t: TF.channel_shuffle(t, g), x)
        compare(lambda t: nn.ChannelShuffle(g)(t), lambda t: torch.nn.ChannelShuffle(g)(t), x)


@pytest.mark.parametrize("call", [
    lambda f: f.pixel_shuffle(lib(f).randn(4, 4), 2),
    lambda f: f.pixel_shuffle(lib(f).randn(1, 3, 4, 4), 2),
    lambda f: f.pixel_shuffle(lib(f).randn(1, 4, 4, 4), 0),
    lambda f: f.pixel_unshuffle(lib(f).randn(1, 3, 5, 4), 2),
    lambda f: f.pixel_unshuffle(lib(f).randn(1, 3, 4, 5), 2),
    lambda f: f.channel_shuffle(lib(f).randn(1, 3, 4, 4), 2),
    lambda f: f.channel_shuffle(lib(f).randn(1, 4, 4, 4), 0),
    lambda f: f.channel_shuffle(lib(f).randn(4, 4), 2),
    lambda f: f.pixel_shuffle(lib(f).randn(1, 4, 4, 4), 2.0),
])
def test_shuffle_errors_like_torch(call):
    with pytest.raises(Exception) as theirs:
        call(TF)
    with pytest.raises(type(theirs.value)) as ours:
        call(F)
    assert str(ours.value) == str(theirs.value)


def lib(f):
    return torch if f is TF else edunn


# ------------------------------------------------------------------------------ interpolate
def torch_backward_agrees(spatial, out, kw):
    """PyTorch 2.13's backward disagrees with its own forward in two cases (its gradient is not
    the derivative of its output): ``nearest`` with a given scale, where the backward maps
    ``out == in`` and ``out == 2 in`` directly but the 1-d/3-d forward uses the scale; and
    ``bicubic`` with a given scale and an unchanged size, where the backward is the identity.
    There we compare the values with PyTorch and check our gradient by finite differences."""
    scaled = kw.get("scale_factor") is not None and not kw.get("recompute_scale_factor")
    if not scaled:
        return True
    if kw["mode"] == "nearest" and len(spatial) != 2:
        return not any(o in (L, 2 * L) for L, o in zip(spatial, out))
    if kw["mode"] == "bicubic" and not kw.get("antialias"):
        return not any(o == L for L, o in zip(spatial, out))
    return True


def check_interpolate(x, kw, atol=2e-5):
    out = tuple(TF.interpolate(torch.tensor(x), **kw).shape[2:])
    agrees = torch_backward_agrees(x.shape[2:], out, kw)
    compare(lambda t: F.interpolate(t, **kw), lambda t: TF.interpolate(t, **kw), x, atol=atol, grad=agrees)
    if not agrees:
        t = edunn.tensor(x.astype("float64"), requires_grad=True)
        assert gradcheck(lambda v: F.interpolate(v, **kw), (t,))


INTERP_CASES = [
    # (input spatial shape, kwargs)
    ((7,), dict(size=12, mode="nearest")),
    ((7,), dict(scale_factor=1.1, mode="nearest")),
    ((4, 5), dict(scale_factor=(2.49, 1.0), mode="nearest")),  # PyTorch's 2-d out == 2 in / out == in maps
    ((5, 6), dict(size=(3, 8), mode="nearest")),
    ((3, 4, 5), dict(scale_factor=(1.7, 0.6, 2.0), mode="nearest")),
    ((7,), dict(size=4, mode="nearest-exact")),
    ((5, 6), dict(scale_factor=1.4, mode="nearest-exact")),
    ((3, 4, 5), dict(size=(5, 3, 7), mode="nearest-exact")),
    ((7,), dict(size=12, mode="linear")),
    ((7,), dict(size=3, mode="linear", align_corners=True)),
    ((6,), dict(scale_factor=1.01, mode="linear")),  # same size: left alone
    ((5, 6), dict(size=(9, 4), mode="bilinear")),
    ((5, 6), dict(scale_factor=(1.7, 0.5), mode="bilinear", align_corners=True)),
    ((5, 6), dict(scale_factor=1.3, mode="bilinear", recompute_scale_factor=True)),
    ((5, 6), dict(size=(9, 4), mode="bicubic")),
    ((5, 6), dict(size=(1, 11), mode="bicubic", align_corners=True)),
    ((6, 6), dict(scale_factor=1.01, mode="bicubic")),  # same size, but the scale is used
    ((3, 4, 5), dict(size=(5, 3, 7), mode="trilinear")),
    ((3, 4, 5), dict(scale_factor=(2.0, 1.5, 0.5), mode="trilinear", align_corners=True)),
    ((7,), dict(size=3, mode="area")),
    ((5, 6), dict(scale_factor=0.5, mode="area")),
    ((3, 4, 5), dict(size=(2, 4, 9), mode="area")),
    ((10, 9), dict(size=(4, 3), mode="bilinear", antialias=True)),
    ((10, 9), dict(size=(4, 13), mode="bilinear", antialias=True, align_corners=True)),
    ((10, 9), dict(scale_factor=(0.37, 0.6), mode="bicubic", antialias=True)),
    ((10, 9), dict(size=(3, 17), mode="bicubic", antialias=True, align_corners=True)),
    ((10, 9), dict(size=(4, 5), mode="lanczos", antialias=True)),
    ((5, 6), dict(scale_factor=(2.2, 0.4), mode="lanczos", antialias=True)),
]


@pytest.mark.parametrize("spatial,kw", INTERP_CASES, ids=[f"{s}-{k}" for s, k in INTERP_CASES])
def test_interpolate(spatial, kw):
    x = rand(2, 3, *spatial)
    check_interpolate(x, kw)
    if kw.get("mode") in ("nearest", "bilinear") and len(spatial) == 2 and not kw.get("antialias"):
        args = dict(size=kw.get("size"), scale_factor=kw.get("scale_factor"))
        cls = "UpsamplingNearest2d" if kw["mode"] == "nearest" else "UpsamplingBilinear2d"
        ours, theirs = getattr(nn, cls)(**args), getattr(torch.nn, cls)(**args)
        assert repr(ours) == repr(theirs)
        compare(ours, theirs, x, atol=2e-5)


def test_interpolate_random_configurations():
    """A seeded sweep over modes, sizes, scales and flags (shapes and values against PyTorch)."""
    rng = np.random.default_rng(0)
    checked = 0
    for mode in ["nearest", "nearest-exact", "linear", "bilinear", "bicubic", "trilinear", "area"]:
        dims = {"linear": [1], "bilinear": [2], "bicubic": [2], "trilinear": [3]}.get(mode, [1, 2, 3])
        for d in dims:
            for _ in range(12):
                shape = tuple(int(v) for v in rng.integers(1, 8, d))
                kw = dict(mode=mode)
                if mode in ("linear", "bilinear", "bicubic", "trilinear"):
                    kw["align_corners"] = bool(rng.integers(2))
                if rng.integers(2):
                    kw["size"] = tuple(int(v) for v in rng.integers(1, 12, d))
                else:
                    kw["scale_factor"] = tuple(float(v) for v in np.round(rng.uniform(0.5, 3.0, d), 2))
                    kw["recompute_scale_factor"] = [None, True, False][int(rng.integers(3))]
                    if any(int(s * f) <= 0 for s, f in zip(shape, kw["scale_factor"])):
                        continue
                check_interpolate(rand(1, 2, *shape, seed=checked), kw)
                checked += 1
    assert checked > 80


def test_upsample_module_and_deprecated_functions():
    x = rand(1, 2, 4, 5)
    for kw in [dict(scale_factor=2), dict(size=(3, 7), mode="bilinear", align_corners=False),
               dict(scale_factor=(1.5, 2.0), mode="bicubic"), dict(size=3, mode="nearest-exact")]:
        ours, theirs = nn.Upsample(**kw), torch.nn.Upsample(**kw)
        assert repr(ours) == repr(theirs)
        compare(ours, theirs, x)
    for name, args in [("upsample", dict(scale_factor=2, mode="bilinear")), ("upsample_nearest", dict(size=7)),
                       ("upsample_bilinear", dict(scale_factor=1.5))]:
        with pytest.warns(UserWarning, match=f"nn.functional.{name}` is deprecated"):
            a = getattr(F, name)(edunn.tensor(x), **args)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            b = getattr(TF, name)(torch.tensor(x), **args)
        np.testing.assert_allclose(a.numpy(), b.numpy(), atol=1e-5)


@pytest.mark.parametrize("call", [
    lambda f, x4: f.interpolate(x4, size=2, scale_factor=2),
    lambda f, x4: f.interpolate(x4),
    lambda f, x4: f.interpolate(x4, size=2, align_corners=True),
    lambda f, x4: f.interpolate(x4, size=2, recompute_scale_factor=True),
    lambda f, x4: f.interpolate(x4, size=2, mode="linear"),
    lambda f, x4: f.interpolate(x4, size=2, mode="trilinear"),
    lambda f, x4: f.interpolate(x4, size=2, mode="foo"),
    lambda f, x4: f.interpolate(x4[0, 0], size=2),
    lambda f, x4: f.interpolate(x4, size=(2, 2, 2)),
    lambda f, x4: f.interpolate(x4, scale_factor=(2, 2, 2)),
    lambda f, x4: f.interpolate(x4[0], size=2, mode="linear", antialias=True),
    lambda f, x4: f.interpolate(x4, size=(2.0, 2)),
    lambda f, x4: f.interpolate(x4, size=0),
    lambda f, x4: f.interpolate(x4[0], size=0),
    lambda f, x4: f.interpolate(x4, scale_factor=0.1),
    lambda f, x4: f.interpolate(x4, size=2, mode="lanczos"),
    lambda f, x4: f.interpolate(x4, size=2, mode="lanczos", antialias=True, align_corners=True),
    lambda f, x4: f.interpolate(x4, size=2.0),
    lambda f, x4: f.interpolate(x4, scale_factor="2"),
])
def test_interpolate_errors_like_torch(call):
    x = rand(1, 2, 4, 4)
    with pytest.raises(Exception) as theirs:
        call(TF, torch.tensor(x))
    with pytest.raises(type(theirs.value)) as ours:
        call(F, edunn.tensor(x))
    if not str(theirs.value).startswith("upsample_nearest2d() received an invalid combination"):
        assert str(ours.value) == str(theirs.value)


def test_gradcheck_float64():
    x1 = edunn.tensor(rand(1, 2, 5, dtype="float64"), requires_grad=True)
    x2 = edunn.tensor(rand(1, 2, 4, 5, dtype="float64"), requires_grad=True)
    x3 = edunn.tensor(rand(1, 1, 3, 2, 3, dtype="float64"), requires_grad=True)
    assert gradcheck(lambda t: F.interpolate(t, size=8, mode="linear"), (x1,))
    assert gradcheck(lambda t: F.interpolate(t, scale_factor=1.5, mode="nearest"), (x1,))
    assert gradcheck(lambda t: F.interpolate(t, size=(3, 7), mode="bicubic", align_corners=True), (x2,))
    assert gradcheck(lambda t: F.interpolate(t, size=(2, 3), mode="bilinear", antialias=True), (x2,))
    assert gradcheck(lambda t: F.interpolate(t, size=(2, 3), mode="area"), (x2,))
    assert gradcheck(lambda t: F.interpolate(t, size=(4, 3, 5), mode="trilinear"), (x3,))
    assert gradcheck(lambda t: F.pixel_shuffle(t.reshape(1, 4, 2, 5), 2), (x2,))
    assert gradcheck(lambda t: nn.ReflectionPad2d((1, 2, 0, 3))(t), (x2,))
    assert gradcheck(lambda t: nn.CircularPad3d(1)(t), (x3,))
    assert gradgradcheck(lambda t: F.interpolate(t, size=(3, 7), mode="bilinear"), (x2,))


def test_same_results_on_every_device(device):
    """Pooling, padding, shuffles and interpolation run on the device's array module and agree
    with the CPU (forward and input gradient)."""
    x = rand(2, 4, 7, 6)
    calls = [
        lambda t: F.max_pool2d(t, 3, stride=2, padding=1, ceil_mode=True),
        lambda t: F.max_pool2d(t, 2, return_indices=True)[0],
        lambda t: F.avg_pool2d(t, 3, stride=2, padding=1, count_include_pad=False),
        lambda t: F.lp_pool2d(t.abs() + 0.1, 2, 2),
        lambda t: F.adaptive_max_pool2d(t, (3, 4)),
        lambda t: F.adaptive_avg_pool2d(t, (4, 5)),
        lambda t: F.fractional_max_pool2d(t, 2, output_size=3, _random_samples=edunn.full((2, 4, 2), 0.4,
                                                                                             device=t.device)),
        lambda t: F.max_unpool2d(*F.max_pool2d(t, 2, return_indices=True), 2, output_size=(7, 6)),
        lambda t: nn.ReflectionPad2d((1, 2, 0, 1))(t),
        lambda t: F.pixel_shuffle(t, 2),
        lambda t: F.channel_shuffle(t, 2),
        lambda t: F.interpolate(t, scale_factor=1.7, mode="nearest"),
        lambda t: F.interpolate(t, size=(5, 9), mode="bicubic", align_corners=True),
        lambda t: F.interpolate(t, size=(3, 4), mode="bilinear", antialias=True),
    ]
    for fn in calls:
        a = edunn.tensor(x, requires_grad=True)
        b = edunn.tensor(x, device=device, requires_grad=True)
        ya, yb = fn(a), fn(b)
        assert str(yb.device).startswith(device)
        np.testing.assert_allclose(yb.detach().cpu().numpy(), ya.detach().numpy(), atol=1e-5)
        ya.sum().backward()
        yb.sum().backward()
        np.testing.assert_allclose(b.grad.cpu().numpy(), a.grad.numpy(), atol=1e-5)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_half_precision_like_torch(dtype):
    x = edunn.tensor(rand(1, 2, 5, 4)).to(getattr(edunn, dtype))
    t = torch.tensor(x.float().numpy()).to(getattr(torch, dtype))
    for fn in [lambda f, v: f.max_pool2d(v, 3, 1, 1), lambda f, v: f.avg_pool2d(v, 2),
               lambda f, v: f.adaptive_avg_pool2d(v, 3), lambda f, v: f.adaptive_max_pool2d(v, 3),
               lambda f, v: f.interpolate(v, scale_factor=2, mode="bilinear"),
               lambda f, v: f.interpolate(v, size=(3, 7), mode="bicubic")]:
        a, b = fn(F, x), fn(TF, t)
        assert a.dtype == x.dtype
        np.testing.assert_allclose(a.float().numpy(), b.float().numpy(), atol=1e-2, rtol=1e-2)
