"""Pooling (lesson 10): every functional pool against PyTorch CPU (values, indices, input
gradients), gradcheck/gradgradcheck in float64, the modules' reprs, and PyTorch's errors."""
import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.lesson10


def distinct(shape, seed=0, dtype="float32"):
    """Values without ties (a shuffled ramp), so that max pooling has one winner per window."""
    rng = np.random.default_rng(seed)
    n = int(np.prod(shape))
    return (rng.permutation(n).reshape(shape) / n * 4 - 2).astype(dtype)


def compare(fn, tfn, x, seed=1, atol=1e-5, indices=False):
    """Forward (and indices) and input gradient of ``fn`` against ``tfn`` on the array ``x``."""
    a = edunn.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ya, yb = fn(a), tfn(b)
    if indices:
        (ya, ia), (yb, ib) = ya, yb
        assert ia.dtype == edunn.int64
        np.testing.assert_array_equal(ia.numpy(), ib.numpy())
    assert tuple(ya.shape) == tuple(yb.shape)
    np.testing.assert_allclose(ya.detach().numpy(), yb.detach().numpy(), atol=atol, rtol=1e-5)
    g = np.random.default_rng(seed).standard_normal(tuple(yb.shape)).astype(x.dtype)
    ya.backward(edunn.tensor(g))
    yb.backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), b.grad.numpy(), atol=atol, rtol=1e-5)


SHAPES = {1: (2, 3, 11), 2: (2, 3, 9, 8), 3: (1, 2, 7, 6, 5)}
MAX_CONFIGS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1),
    dict(kernel_size=3, stride=2, padding=1),
    dict(kernel_size=2, stride=3),
    dict(kernel_size=3, stride=2, padding=1, dilation=2),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=2, stride=1, dilation=2, ceil_mode=True),
]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("cfg", MAX_CONFIGS, ids=str)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_pool(n, cfg, batched):
    if n == 1 and cfg.get("padding", 0) > cfg["kernel_size"] // 2:
        pytest.skip("max_pool1d: padding at most half the kernel")
    shape = SHAPES[n] if batched else SHAPES[n][1:]
    x = distinct(shape)
    fn, tfn = getattr(F, f"max_pool{n}d"), getattr(TF, f"max_pool{n}d")
    compare(lambda t: fn(t, return_indices=True, **cfg), lambda t: tfn(t, return_indices=True, **cfg), x,
            indices=True)
    compare(lambda t: fn(t, **cfg), lambda t: tfn(t, **cfg), x)
    w = getattr(F, f"max_pool{n}d_with_indices")(edunn.tensor(x), **cfg)
    assert isinstance(w, tuple) and len(w) == 2


def test_max_pool_tuple_args_and_ties():
    x = distinct((2, 2, 10, 9))
    cfg = dict(kernel_size=(3, 2), stride=(2, 1), padding=(1, 0), dilation=(1, 2))
    compare(lambda t: F.max_pool2d(t, return_indices=True, **cfg),
            lambda t: TF.max_pool2d(t, return_indices=True, **cfg), x, indices=True)
    # a constant input: every window ties; PyTorch takes the first, and so do we
    x = np.ones((1, 1, 4, 4), "float32")
    _, ia = F.max_pool2d(edunn.tensor(x), 2, return_indices=True)
    _, ib = TF.max_pool2d(torch.tensor(x), 2, return_indices=True)
    np.testing.assert_array_equal(ia.numpy(), ib.numpy())


AVG_CONFIGS = [
    dict(kernel_size=2),
    dict(kernel_size=3, stride=1, padding=1),
    dict(kernel_size=3, stride=2, padding=1, count_include_pad=False),
    dict(kernel_size=2, stride=3),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
    dict(kernel_size=2, stride=2, ceil_mode=True),
    dict(kernel_size=3, stride=2, padding=1, divisor_override=5),
]


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("cfg", AVG_CONFIGS, ids=str)
@pytest.mark.parametrize("n", [1, 2, 3])
def test_avg_pool(n, cfg, batched):
    if n == 1 and "divisor_override" in cfg:
        pytest.skip("avg_pool1d has no divisor_override")
    shape = SHAPES[n] if batched else SHAPES[n][1:]
    x = distinct(shape)
    fn, tfn = getattr(F, f"avg_pool{n}d"), getattr(TF, f"avg_pool{n}d")
    compare(lambda t: fn(t, **cfg), lambda t: tfn(t, **cfg), x)


@pytest.mark.parametrize("norm_type", [1, 2, 3.5, float("inf")])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_lp_pool(n, norm_type):
    x = np.abs(distinct(SHAPES[n])) + 0.1
    fn, tfn = getattr(F, f"lp_pool{n}d"), getattr(TF, f"lp_pool{n}d")
    compare(lambda t: fn(t, norm_type, 2), lambda t: tfn(t, norm_type, 2), x, atol=1e-4)
    compare(lambda t: fn(t, norm_type, 3, stride=2, ceil_mode=True),
            lambda t: tfn(t, norm_type, 3, stride=2, ceil_mode=True), x, atol=1e-4)


ADAPTIVE_SIZES = {1: [1, 4, 5, 11, 13], 2: [1, (3, 5), (None, 2), (4, None), (10, 9)],
                  3: [1, (2, 4, 3), (None, 2, None), (8, 7, 6)]}


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("n", [1, 2, 3])
def test_adaptive_pools(n, batched):
    shape = SHAPES[n] if batched else SHAPES[n][1:]
    x = distinct(shape)
    for size in ADAPTIVE_SIZES[n]:
        mx, tmx = getattr(F, f"adaptive_max_pool{n}d"), getattr(TF, f"adaptive_max_pool{n}d")
        compare(lambda t: mx(t, size, return_indices=True), lambda t: tmx(t, size, return_indices=True), x,
                indices=True)
        compare(lambda t: mx(t, size), lambda t: tmx(t, size), x)
        av, tav = getattr(F, f"adaptive_avg_pool{n}d"), getattr(TF, f"adaptive_avg_pool{n}d")
        compare(lambda t: av(t, size), lambda t: tav(t, size), x)


def test_adaptive_zero_output():
    x = edunn.randn(1, 2, 4, 4)
    assert tuple(F.adaptive_avg_pool2d(x, 0).shape) == (1, 2, 0, 0)
    assert tuple(F.adaptive_max_pool2d(x, (0, 2)).shape) == (1, 2, 0, 2)


@pytest.mark.parametrize("batched", [True, False])
@pytest.mark.parametrize("n", [2, 3])
def test_fractional_max_pool_matches_torch_given_samples(n, batched):
    shape = (2, 3, 11, 10, 9)[: n + 2] if batched else (3, 11, 10, 9)[: n + 1]
    x = distinct(shape)
    samples = np.random.default_rng(3).random((shape[0] if batched else 1, 3, n)).astype("float32")
    fn, tfn = getattr(F, f"fractional_max_pool{n}d"), getattr(TF, f"fractional_max_pool{n}d")
    for kw in [dict(kernel_size=2, output_size=4), dict(kernel_size=3, output_ratio=(0.5, 0.6, 0.7)[:n]),
               dict(kernel_size=(2, 3, 2)[:n], output_size=(5, 3, 7)[:n]), dict(kernel_size=2, output_size=1)]:
        compare(lambda t: fn(t, return_indices=True, _random_samples=edunn.tensor(samples), **kw),
                lambda t: tfn(t, return_indices=True, _random_samples=torch.tensor(samples), **kw), x, indices=True)


def test_fractional_max_pool_is_reproducible():
    x = edunn.randn(2, 3, 12, 12)
    edunn.manual_seed(7)
    a, ia = F.fractional_max_pool2d(x, 2, output_ratio=0.6, return_indices=True)
    edunn.manual_seed(7)
    b, ib = F.fractional_max_pool2d(x, 2, output_ratio=0.6, return_indices=True)
    np.testing.assert_array_equal(ia.numpy(), ib.numpy())
    assert tuple(a.shape) == (2, 3, 7, 7)


@pytest.mark.parametrize("n", [1, 2, 3])
def test_max_unpool_round_trip_and_parity(n):
    x = distinct(SHAPES[n]) + 3  # positive: the zeros that unpooling adds never win a window
    y, idx = getattr(F, f"max_pool{n}d")(edunn.tensor(x), 2, return_indices=True)
    ty, tidx = getattr(TF, f"max_pool{n}d")(torch.tensor(x), 2, return_indices=True)
    un, tun = getattr(F, f"max_unpool{n}d"), getattr(TF, f"max_unpool{n}d")
    size = x.shape[2:]
    compare(lambda t: un(t, idx, 2, output_size=size), lambda t: tun(t, tidx, 2, output_size=size), y.numpy())
    compare(lambda t: un(t, idx[0], 2, output_size=size), lambda t: tun(t, tidx[0], 2, output_size=size),
            y.numpy()[0])  # unbatched
    # round trip: pooling the unpooled map gives the pooled values back
    back = getattr(F, f"max_pool{n}d")(un(y, idx, 2, output_size=size), 2)
    np.testing.assert_array_equal(back.numpy(), y.numpy())
    # the default output size (L - 1) s + k - 2 p, on an even input
    x = distinct((2, 2, 6, 4, 4)[: n + 2])
    y, idx = getattr(F, f"max_pool{n}d")(edunn.tensor(x), 2, return_indices=True)
    _, tidx = getattr(TF, f"max_pool{n}d")(torch.tensor(x), 2, return_indices=True)
    compare(lambda t: un(t, idx, 2), lambda t: tun(t, tidx, 2), y.numpy())


def test_gradcheck_float64():
    x = edunn.tensor(distinct((1, 2, 5, 6), dtype="float64"), requires_grad=True)
    x3 = edunn.tensor(distinct((1, 1, 4, 3, 4), dtype="float64"), requires_grad=True)
    fns = [
        lambda t: F.max_pool2d(t, 3, stride=1, padding=1),
        lambda t: F.max_pool2d(t, 2, stride=2, ceil_mode=True),
        lambda t: F.avg_pool2d(t, 3, stride=2, padding=1, ceil_mode=True, count_include_pad=False),
        lambda t: F.lp_pool2d(t.abs() + 0.5, 2.5, 2),
        lambda t: F.adaptive_max_pool2d(t, (3, 4)),
        lambda t: F.adaptive_avg_pool2d(t, (4, 4)),
        lambda t: F.fractional_max_pool2d(t, 2, output_size=3, _random_samples=edunn.tensor([[[0.3, 0.6]] * 2])),
        lambda t: F.max_pool1d(t.flatten(2), 3, stride=2, dilation=2),
    ]
    for fn in fns:
        assert gradcheck(fn, (x,))
    assert gradcheck(lambda t: F.max_pool3d(t, 2, stride=1), (x3,))
    assert gradcheck(lambda t: F.avg_pool3d(t, 2, stride=1, padding=1), (x3,))
    y, idx = F.max_pool2d(x.detach(), 2, return_indices=True)
    yy = y.clone().requires_grad_(True)
    assert gradcheck(lambda t: F.max_unpool2d(t, idx, 2), (yy,))


def test_gradgradcheck_float64():
    x = edunn.tensor(distinct((1, 1, 5, 4), dtype="float64"), requires_grad=True)
    assert gradgradcheck(lambda t: F.max_pool2d(t, 2, stride=1), (x,))
    assert gradgradcheck(lambda t: F.avg_pool2d(t, 3, stride=1, padding=1), (x,))
    assert gradgradcheck(lambda t: F.adaptive_max_pool2d(t, 3), (x,))


def errors(fn, tfn, x):
    with pytest.raises(Exception) as theirs:
        tfn(torch.tensor(x))
    with pytest.raises(type(theirs.value)) as ours:
        fn(edunn.tensor(x))
    return str(ours.value), str(theirs.value)


@pytest.mark.parametrize("case", [
    ("max_pool2d", dict(kernel_size=2, padding=2)),
    ("max_pool2d", dict(kernel_size=5)),
    ("max_pool3d", dict(kernel_size=5)),
    ("max_pool1d", dict(kernel_size=6)),
    ("max_pool1d", dict(kernel_size=2, padding=2)),
    ("avg_pool2d", dict(kernel_size=2, padding=2)),
    ("avg_pool2d", dict(kernel_size=5)),
    ("avg_pool2d", dict(kernel_size=2, divisor_override=0)),
    ("max_pool2d", dict(kernel_size=(2, 2, 2))),
    ("max_pool2d", dict(kernel_size=2, stride=0)),
    ("max_pool2d", dict(kernel_size=3, dilation=2, padding=2)),
], ids=str)
def test_errors_like_torch(case):
    name, kw = case
    n = int(name[-2])
    x = distinct((1, 2, 4, 4, 4)[: n + 2])
    ours, theirs = errors(lambda t: getattr(F, name)(t, **kw), lambda t: getattr(TF, name)(t, **kw), x)
    assert ours == theirs or ours.split(",")[0] == theirs.split(",")[0], (ours, theirs)


@pytest.mark.parametrize("call", [
    lambda f, m: f.adaptive_max_pool2d(m.randn(4, 4), 2),
    lambda f, m: f.adaptive_avg_pool2d(m.randn(4, 4), 2),
    lambda f, m: f.adaptive_avg_pool3d(m.randn(4, 4, 4), 2),
    lambda f, m: f.adaptive_max_pool1d(m.randn(4), 2),
    lambda f, m: f.adaptive_avg_pool1d(m.randn(1, 2, 4), (2, 2)),
    lambda f, m: f.adaptive_avg_pool2d(m.randn(1, 2, 4, 4), (2, 2, 2)),
    lambda f, m: f.adaptive_avg_pool2d(m.randn(1, 2, 4, 4), -1),
    lambda f, m: f.adaptive_max_pool2d(m.randn(1, 2, 0, 4), 2),
    lambda f, m: f.max_pool1d(m.randn(4), 2),
    lambda f, m: f.max_pool1d(m.randn(1, 2, 5), 0),
    lambda f, m: f.max_pool3d(m.randn(3, 3, 3), 2),
    lambda f, m: f.avg_pool1d(m.randn(4), 2),
    lambda f, m: f.max_pool2d(m.randn(1, 2, 4, 4), 2.0),
    lambda f, m: f.fractional_max_pool2d(m.randn(1, 2, 4, 4), 3, output_size=3),
    lambda f, m: f.fractional_max_pool3d(m.randn(1, 1, 3, 3, 3), 2, output_size=3),
    lambda f, m: f.max_unpool2d(m.randn(4, 4), m.zeros(4, 4, dtype=m.int64), 2),
    lambda f, m: f.max_unpool2d(m.randn(1, 2, 2, 2), m.zeros(1, 2, 2, 2, dtype=m.int64), 2, output_size=(3, 3, 3)),
])
def test_error_messages_like_torch(call):
    with pytest.raises(Exception) as theirs:
        call(TF, torch)
    with pytest.raises(type(theirs.value)) as ours:
        call(F, edunn)
    assert str(ours.value) == str(theirs.value)


def test_more_errors():
    x = distinct((1, 2, 4, 4))
    with pytest.raises(RuntimeError, match="3D or 4D"):
        F.max_pool2d(edunn.randn(4, 4), 2)
    with pytest.raises(RuntimeError, match="Expected 3D or 4D tensor"):
        F.adaptive_avg_pool2d(edunn.randn(4, 4), 2)
    with pytest.raises(RuntimeError, match="non-zero size"):
        F.adaptive_max_pool2d(edunn.randn(1, 2, 0, 4), 2)
    with pytest.raises(RuntimeError, match="too large relative to input height 4"):
        F.fractional_max_pool2d(edunn.tensor(x), 3, output_size=3)
    with pytest.raises(ValueError, match="either an output_size or an output_ratio"):
        F.fractional_max_pool2d(edunn.tensor(x), 2)
    with pytest.raises(RuntimeError, match="channel size"):
        F.fractional_max_pool2d(edunn.tensor(x), 2, output_size=2, _random_samples=edunn.rand(1, 3, 2))
    idx = edunn.zeros(1, 2, 4, 4, dtype=edunn.int64)
    with pytest.raises(ValueError, match=r"dim 0 must be between 6 and 10"):
        F.max_unpool2d(edunn.tensor(x), idx, 2, output_size=(3, 3))
    with pytest.raises(RuntimeError, match="invalid max index: 100"):
        F.max_unpool2d(edunn.tensor(x), idx + 100, 2)
    with pytest.raises(RuntimeError, match="int64"):
        F.max_unpool2d(edunn.tensor(x), idx.float(), 2)
    with pytest.raises(RuntimeError, match="same as that of the input"):
        F.max_unpool2d(edunn.tensor(x), idx[..., :3], 2)


def test_nan_and_inf_like_torch():
    x = distinct((1, 1, 5, 5))
    x[0, 0, 1, 1] = x[0, 0, 0, 0] = np.nan
    x[0, 0, 4, 4] = -np.inf
    a, ia = F.max_pool2d(edunn.tensor(x), 2, 2, return_indices=True, ceil_mode=True)
    b, ib = TF.max_pool2d(torch.tensor(x), 2, 2, return_indices=True, ceil_mode=True)
    np.testing.assert_array_equal(a.numpy(), b.numpy())
    np.testing.assert_array_equal(ia.numpy(), ib.numpy())
    x = distinct((1, 1, 6, 6))
    x[0, 0, 0, 1] = x[0, 0, 1, 0] = x[0, 0, 3, 3] = np.nan  # PyTorch keeps the last NaN of a window
    samples = np.array([[[0.3, 0.4]]], "float32")
    for fn in [lambda f, t: f.adaptive_max_pool2d(t, 2, return_indices=True),
               lambda f, t: f.fractional_max_pool2d(t, 3, output_size=2, return_indices=True,
                                                    _random_samples=(edunn if f is F else torch).tensor(samples))]:
        (a, ia), (b, ib) = fn(F, edunn.tensor(x)), fn(TF, torch.tensor(x))
        np.testing.assert_array_equal(a.numpy(), b.numpy())
        np.testing.assert_array_equal(ia.numpy(), ib.numpy())


# ------------------------------------------------------------------------------ modules
MODULES = [
    ("MaxPool1d", (3,), dict(stride=2, padding=1, ceil_mode=True), 1),
    ("MaxPool2d", ((3, 2),), dict(stride=1, dilation=(1, 2)), 2),
    ("MaxPool3d", (2,), dict(), 3),
    ("AvgPool1d", (3,), dict(stride=2, padding=1, count_include_pad=False), 1),
    ("AvgPool2d", (3,), dict(stride=2, padding=1, ceil_mode=True, divisor_override=4), 2),
    ("AvgPool3d", (2,), dict(stride=1), 3),
    ("LPPool1d", (2, 3), dict(stride=2), 1),
    ("LPPool2d", (1.5, (2, 3)), dict(ceil_mode=True), 2),
    ("LPPool3d", (3, 2), dict(), 3),
    ("AdaptiveMaxPool1d", (4,), dict(), 1),
    ("AdaptiveMaxPool2d", ((None, 3),), dict(), 2),
    ("AdaptiveMaxPool3d", (2,), dict(), 3),
    ("AdaptiveAvgPool1d", (4,), dict(), 1),
    ("AdaptiveAvgPool2d", ((5, None),), dict(), 2),
    ("AdaptiveAvgPool3d", ((1, 2, 3),), dict(), 3),
]


@pytest.mark.parametrize("name,args,kw,n", MODULES, ids=[m[0] for m in MODULES])
def test_modules_match_torch(name, args, kw, n):
    ours, theirs = getattr(edunn.nn, name)(*args, **kw), getattr(torch.nn, name)(*args, **kw)
    assert repr(ours) == repr(theirs)
    assert list(ours.parameters()) == []
    x = distinct(SHAPES[n])
    if name.startswith("LP"):
        x = np.abs(x) + 0.1
    compare(ours, theirs, x, atol=1e-4)
    compare(ours, theirs, x[0], atol=1e-4)  # unbatched
    if "Max" in name:
        ours.return_indices = theirs.return_indices = True
        compare(ours, theirs, x, indices=True)


def test_unpool_and_fractional_modules():
    x = distinct((2, 3, 8, 6)) + 3
    pool, unpool = edunn.nn.MaxPool2d(2, return_indices=True), edunn.nn.MaxUnpool2d(2)
    assert repr(unpool) == repr(torch.nn.MaxUnpool2d(2))
    assert repr(edunn.nn.MaxUnpool1d(3, 1, 1)) == repr(torch.nn.MaxUnpool1d(3, 1, 1))
    y, idx = pool(edunn.tensor(x))
    ty, tidx = torch.nn.MaxPool2d(2, return_indices=True)(torch.tensor(x))
    compare(lambda t: unpool(t, idx), lambda t: torch.nn.MaxUnpool2d(2)(t, tidx), y.numpy())
    samples = np.random.default_rng(0).random((2, 3, 2)).astype("float32")
    ours = edunn.nn.FractionalMaxPool2d(2, output_ratio=(0.5, 0.7), return_indices=True,
                                        _random_samples=edunn.tensor(samples))
    theirs = torch.nn.FractionalMaxPool2d(2, output_ratio=(0.5, 0.7), return_indices=True,
                                          _random_samples=torch.tensor(samples))
    assert repr(ours) == repr(theirs)
    assert "_random_samples" in dict(ours.named_buffers())
    compare(ours, theirs, x, indices=True)
    s3 = np.random.default_rng(1).random((2, 3, 3)).astype("float32")
    x3 = distinct((2, 3, 7, 6, 5))
    compare(edunn.nn.FractionalMaxPool3d(2, output_size=(3, 4, 2), _random_samples=edunn.tensor(s3)),
            torch.nn.FractionalMaxPool3d(2, output_size=(3, 4, 2), _random_samples=torch.tensor(s3)), x3)
    with pytest.raises(ValueError, match="requires specifying either an output size, or a pooling ratio"):
        edunn.nn.FractionalMaxPool2d(2)
    with pytest.raises(ValueError, match="only one of output_size and output_ratio"):
        edunn.nn.FractionalMaxPool2d(2, output_size=3, output_ratio=0.5)
    with pytest.raises(ValueError, match="output_ratio must be between 0 and 1"):
        edunn.nn.FractionalMaxPool3d(2, output_ratio=1.5)
    with pytest.raises(ValueError, match="kernel_size must be greater than 0"):
        edunn.nn.FractionalMaxPool3d(0, output_size=2)


def test_signatures_match_torch():
    import inspect
    for name in F.__all__ if hasattr(F, "__all__") else dir(F):
        if not ("pool" in name) or not hasattr(TF, name):
            continue
        try:
            theirs = inspect.signature(getattr(TF, name))
        except (TypeError, ValueError):  # a C builtin: its documented signature is its first doc line
            doc = getattr(TF, name).__doc__.strip().split("\n")[0]
            theirs_names = [a.split("=")[0].strip() for a in doc[doc.index("(") + 1: doc.index(")")].split(",")]
            assert list(inspect.signature(getattr(F, name)).parameters) == theirs_names, name
            continue
        if list(theirs.parameters) == ["args", "kwargs"]:  # boolean_dispatch: the _with_indices twin's
            continue
        ours = inspect.signature(getattr(F, name))
        assert [(p.name, p.default) for p in ours.parameters.values()] == \
            [(p.name, p.default) for p in theirs.parameters.values()], name
