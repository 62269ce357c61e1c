"""Convolutions against PyTorch: Conv1d/2d/3d, ConvTranspose1d/2d/3d, their lazy forms and the
functional forms; forward, input gradient and parameter gradients on the same weights, over a
table of configurations; gradcheck/gradgradcheck in float64; PyTorch's errors and reprs."""
import itertools
import math

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import gradcheck, gradgradcheck
from tests.opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson09,
              pytest.mark.filterwarnings("ignore:Using padding=.same. with even kernel:UserWarning")]

RTOL, ATOL = 1e-4, 1e-4


def _copy_params(ours, theirs):
    """Give our module the torch module's parameters."""
    with edunn.no_grad():
        for name, p in theirs.named_parameters():
            getattr(ours, name).copy_(edunn.tensor(p.detach().numpy()))


def _compare_layer(ours, theirs, x_shape, seed=0, forward_kwargs=None):
    rng = np.random.default_rng(seed)
    forward_kwargs = forward_kwargs or {}
    _copy_params(ours, theirs)
    x = rng.standard_normal(x_shape).astype(np.float32)
    ex = edunn.tensor(x, requires_grad=True)
    tx = torch.tensor(x, requires_grad=True)
    ey = ours(ex, **forward_kwargs)
    ty = theirs(tx, **forward_kwargs)
    assert tuple(ey.shape) == tuple(ty.shape)
    np.testing.assert_allclose(ey.detach().numpy(), ty.detach().numpy(), rtol=RTOL, atol=ATOL)
    g = rng.standard_normal(tuple(ty.shape)).astype(np.float32)
    ey.backward(edunn.tensor(g))
    ty.backward(torch.tensor(g))
    np.testing.assert_allclose(ex.grad.numpy(), tx.grad.numpy(), rtol=RTOL, atol=ATOL)
    for name, p in theirs.named_parameters():
        np.testing.assert_allclose(getattr(ours, name).grad.numpy(), p.grad.numpy(), rtol=RTOL, atol=ATOL,
                                   err_msg=name)


# (dims, kwargs, input shape): in_channels = input shape[1] (or [0] unbatched)
CONV_CASES = [
    (1, dict(out_channels=4, kernel_size=3), (2, 3, 11)),
    (1, dict(out_channels=4, kernel_size=4, stride=3, padding=2, dilation=2), (2, 3, 17)),
    (1, dict(out_channels=6, kernel_size=2, padding="same", groups=3), (2, 3, 9)),
    (1, dict(out_channels=5, kernel_size=3, padding="valid", bias=False), (3, 12)),
    (1, dict(out_channels=4, kernel_size=3, padding=2, padding_mode="circular"), (2, 2, 7)),
    (2, dict(out_channels=5, kernel_size=3), (2, 3, 8, 7)),
    (2, dict(out_channels=4, kernel_size=(3, 2), stride=(2, 1), padding=(1, 2), dilation=(1, 2)), (2, 2, 9, 8)),
    (2, dict(out_channels=4, kernel_size=2, stride=3), (2, 2, 7, 8)),          # stride > kernel
    (2, dict(out_channels=6, kernel_size=4, padding="same", dilation=1), (2, 3, 7, 6)),  # even kernel
    (2, dict(out_channels=4, kernel_size=3, padding="same", dilation=2), (2, 4, 8, 8)),
    (2, dict(out_channels=6, kernel_size=3, groups=2, padding=1), (2, 4, 6, 6)),
    (2, dict(out_channels=8, kernel_size=3, groups=4, padding=1), (2, 4, 6, 5)),  # depthwise x2
    (2, dict(out_channels=4, kernel_size=3, bias=False, stride=2), (2, 3, 9, 9)),
    (2, dict(out_channels=3, kernel_size=3, padding=2, padding_mode="reflect"), (2, 2, 6, 7)),
    (2, dict(out_channels=3, kernel_size=3, padding=(1, 2), padding_mode="replicate"), (2, 2, 5, 6)),
    (2, dict(out_channels=3, kernel_size=3, padding=1, padding_mode="circular", stride=2), (2, 2, 6, 7)),
    (2, dict(out_channels=3, kernel_size=4, padding="same", padding_mode="reflect"), (2, 2, 6, 7)),
    (2, dict(out_channels=4, kernel_size=3, padding=1), (3, 6, 5)),                # unbatched
    (2, dict(out_channels=2, kernel_size=3, padding=1, padding_mode="reflect"), (3, 6, 5)),
    (1, dict(out_channels=2, kernel_size=3, padding=2, padding_mode="replicate"), (3, 7)),
    (3, dict(out_channels=4, kernel_size=2), (2, 3, 4, 5, 3)),
    (3, dict(out_channels=4, kernel_size=(3, 2, 2), stride=(1, 2, 1), padding=(1, 0, 1), dilation=(1, 1, 2),
             groups=2), (2, 2, 5, 5, 6)),
    (3, dict(out_channels=3, kernel_size=3, padding=1, padding_mode="replicate", bias=False), (2, 5, 4, 3)),
    (3, dict(out_channels=2, kernel_size=3, padding="same"), (1, 2, 4, 5, 3)),
]


def _case_id(case):
    dims, kw, shape = case
    return f"{dims}d-" + "-".join(f"{k}={v}" for k, v in kw.items()) + f"-in{list(shape)}"


@needs_torch
@pytest.mark.parametrize("case", CONV_CASES, ids=_case_id)
def test_conv_matches_torch(case):
    dims, kw, shape = case
    in_channels = shape[1] if len(shape) == dims + 2 else shape[0]
    ours = getattr(nn, f"Conv{dims}d")(in_channels, **kw)
    theirs = getattr(torch.nn, f"Conv{dims}d")(in_channels, **kw)
    _compare_layer(ours, theirs, shape)


TRANSPOSE_CASES = [
    (1, dict(out_channels=3, kernel_size=3), (2, 4, 6), None),
    (1, dict(out_channels=4, kernel_size=3, stride=2, padding=1, output_padding=1, dilation=2), (2, 2, 5), None),
    (1, dict(out_channels=2, kernel_size=3, stride=1, dilation=2, output_padding=1), (3, 5), None),  # unbatched
    (2, dict(out_channels=3, kernel_size=3, stride=2, padding=1, output_padding=1), (2, 4, 4, 5), None),
    (2, dict(out_channels=4, kernel_size=(2, 3), stride=(3, 2), padding=(0, 1), groups=2, bias=False),
     (2, 4, 3, 4), None),
    (2, dict(out_channels=4, kernel_size=3, stride=2, padding=1), (2, 3, 4, 4), (8, 8)),   # output_size
    (2, dict(out_channels=4, kernel_size=3, stride=3), (2, 3, 3, 2), [2, 4, 10, 8]),
    (2, dict(out_channels=6, kernel_size=3, groups=3, dilation=(2, 1), stride=2), (2, 3, 3, 4), None),
    (3, dict(out_channels=2, kernel_size=2, stride=2, padding=(0, 1, 0), output_padding=(1, 0, 1)),
     (2, 3, 2, 3, 2), None),
]


@needs_torch
@pytest.mark.parametrize("case", TRANSPOSE_CASES, ids=lambda c: _case_id(c[:3]) + f"-size{c[3]}")
def test_conv_transpose_matches_torch(case):
    dims, kw, shape, output_size = case
    in_channels = shape[1] if len(shape) == dims + 2 else shape[0]
    ours = getattr(nn, f"ConvTranspose{dims}d")(in_channels, **kw)
    theirs = getattr(torch.nn, f"ConvTranspose{dims}d")(in_channels, **kw)
    _compare_layer(ours, theirs, shape, forward_kwargs={"output_size": output_size} if output_size else None)


@needs_torch
@pytest.mark.parametrize("dims", [1, 2, 3])
def test_functional_float64(dims):
    """The functional forms in float64, with every argument given positionally as torch's."""
    rng = np.random.default_rng(dims)
    shape = (2, 4) + (5,) * dims
    x = rng.standard_normal(shape)
    w = rng.standard_normal((6, 2) + (3,) * dims)
    b = rng.standard_normal(6)
    ours = getattr(F, f"conv{dims}d")(edunn.tensor(x), edunn.tensor(w), edunn.tensor(b), 2, 1, 1, 2)
    theirs = getattr(torch.nn.functional, f"conv{dims}d")(torch.tensor(x), torch.tensor(w), torch.tensor(b),
                                                        2, 1, 1, 2)
    assert ours.dtype == edunn.float64
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-10)
    wt = rng.standard_normal((4, 3) + (3,) * dims)
    ours = getattr(F, f"conv_transpose{dims}d")(edunn.tensor(x), edunn.tensor(wt), None, 2, 1, 1, 1, 1)
    theirs = getattr(torch.nn.functional, f"conv_transpose{dims}d")(torch.tensor(x), torch.tensor(wt), None,
                                                                   2, 1, 1, 1, 1)
    np.testing.assert_allclose(ours.numpy(), theirs.numpy(), rtol=1e-10, atol=1e-10)


# --------------------------------------------------------------------------- gradcheck

def _d(*shape):
    return edunn.randn(*shape, dtype=edunn.float64, requires_grad=True)


def test_gradcheck_conv():
    edunn.manual_seed(0)
    assert gradcheck(lambda x, w, b: F.conv1d(x, w, b, stride=2, padding=1, dilation=2, groups=2),
                     (_d(2, 4, 7), _d(4, 2, 2), _d(4)))
    assert gradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=(2, 1), padding="valid", groups=1),
                     (_d(1, 2, 5, 4), _d(3, 2, 2, 3), _d(3)))
    assert gradcheck(lambda x, w: F.conv3d(x, w, padding="same"), (_d(1, 2, 3, 3, 4), _d(2, 2, 2, 3, 2)))


def test_gradcheck_conv_transpose():
    edunn.manual_seed(1)
    assert gradcheck(lambda x, w, b: F.conv_transpose1d(x, w, b, stride=2, padding=1, output_padding=1),
                     (_d(2, 2, 4), _d(2, 3, 3), _d(3)))
    assert gradcheck(lambda x, w, b: F.conv_transpose2d(x, w, b, stride=2, groups=2, dilation=(1, 2)),
                     (_d(1, 4, 3, 2), _d(4, 1, 2, 2), _d(2)))
    assert gradcheck(lambda x, w: F.conv_transpose3d(x, w, stride=(1, 2, 1), padding=(0, 1, 0)),
                     (_d(1, 2, 2, 3, 2), _d(2, 2, 2, 3, 2)))


def test_gradgradcheck_conv2d_and_transpose():
    """Double backward: the backward is written with differentiable ops (im2col/col2im)."""
    edunn.manual_seed(2)
    assert gradgradcheck(lambda x, w, b: F.conv2d(x, w, b, stride=2, padding=1, groups=2),
                         (_d(2, 4, 4, 3), _d(4, 2, 2, 2), _d(4)))
    assert gradgradcheck(lambda x, w: F.conv_transpose2d(x, w, stride=2, output_padding=1),
                         (_d(1, 2, 2, 3), _d(2, 2, 2, 2)))


@needs_torch
def test_double_backward_matches_torch():
    """d/dx of ||dL/dW||^2, through create_graph, equals PyTorch's."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((2, 3, 6, 5))
    w = rng.standard_normal((4, 3, 3, 3))
    results = []
    for fw, fn in ((edunn, F.conv2d), (torch, torch.nn.functional.conv2d)):
        tx, tw = fw.tensor(x, requires_grad=True), fw.tensor(w, requires_grad=True)
        y = fn(tx, tw, None, 1, 1)
        gx, gw = fw.autograd.grad((y ** 2).sum(), (tx, tw), create_graph=True)
        ((gw ** 2).sum() + (gx ** 3).sum()).backward()
        results.append((tx.grad.detach().numpy(), tw.grad.detach().numpy()))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-8)


# --------------------------------------------------------------------------- modules

def test_default_init_bounds():
    """kaiming_uniform_(a=sqrt(5)) gives U(-1/sqrt(fan_in), 1/sqrt(fan_in)); the bias the same."""
    edunn.manual_seed(0)
    m = nn.Conv2d(8, 16, 5, groups=2)
    bound = 1 / math.sqrt(4 * 25)
    w, b = m.weight.detach().numpy(), m.bias.detach().numpy()
    assert m.weight.shape == (16, 4, 5, 5) and m.bias.shape == (16,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.9 * bound
    assert np.abs(b).max() <= bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.1 * bound
    t = nn.ConvTranspose2d(8, 6, 3, groups=2)
    assert t.weight.shape == (8, 3, 3, 3)
    assert np.abs(t.weight.detach().numpy()).max() <= 1 / math.sqrt(3 * 9)
    assert nn.Conv1d(2, 3, 2, dtype=edunn.float64).weight.dtype == edunn.float64


@needs_torch
@pytest.mark.parametrize("args", [
    ("Conv1d", (3, 4, 3), {}),
    ("Conv2d", (3, 8, 3), dict(padding="same", padding_mode="reflect", bias=False)),
    ("Conv2d", (4, 8, (3, 5)), dict(stride=2, padding=(1, 2), dilation=2, groups=4)),
    ("Conv3d", (2, 4, 3), dict(padding="valid", padding_mode="circular")),
    ("ConvTranspose1d", (3, 4, 3), dict(output_padding=1, stride=2)),
    ("ConvTranspose2d", (4, 6, 3), dict(stride=2, padding=1, output_padding=1, groups=2, dilation=2,
                                        bias=False)),
    ("ConvTranspose3d", (2, 2, 2), {}),
    ("Fold", ((4, 5), 2), {}),
    ("Fold", ((4, 5), (2, 3)), dict(dilation=(1, 2), padding=1, stride=2)),
    ("Unfold", (3,), dict(dilation=2, padding=(1, 0), stride=1)),
], ids=lambda a: a[0])
def test_repr_matches_torch(args):
    name, pos, kw = args
    assert repr(getattr(nn, name)(*pos, **kw)) == repr(getattr(torch.nn, name)(*pos, **kw))


@needs_torch
@pytest.mark.parametrize("name,kw,shape", [
    ("LazyConv1d", dict(out_channels=4, kernel_size=3, padding=1), (2, 3, 8)),
    ("LazyConv2d", dict(out_channels=6, kernel_size=3, groups=2), (2, 4, 6, 6)),
    ("LazyConv3d", dict(out_channels=2, kernel_size=2, bias=False), (3, 4, 4, 4)),   # unbatched
    ("LazyConvTranspose1d", dict(out_channels=2, kernel_size=3, stride=2), (2, 3, 5)),
    ("LazyConvTranspose2d", dict(out_channels=4, kernel_size=3, groups=2, output_padding=1, stride=2),
     (2, 4, 3, 3)),
    ("LazyConvTranspose3d", dict(out_channels=2, kernel_size=2), (1, 2, 3, 3, 2)),
])
def test_lazy_modules_materialize_and_match(name, kw, shape):
    ours = getattr(nn, name)(**kw)
    assert isinstance(ours.weight, nn.UninitializedParameter)
    ours(edunn.zeros(*shape))          # the first call infers in_channels
    become = name[len("Lazy"):]
    assert type(ours) is getattr(nn, become)
    in_channels = shape[1] if len(shape) == int(become[-2]) + 2 else shape[0]
    assert ours.in_channels == in_channels
    theirs = getattr(torch.nn, become)(in_channels, **kw)
    assert tuple(ours.weight.shape) == tuple(theirs.weight.shape)
    assert repr(ours) == repr(theirs)
    _compare_layer(ours, theirs, shape)


def test_lazy_conv_bad_input():
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to LazyConv2d"):
        nn.LazyConv2d(4, 3)(edunn.zeros(2, 3))
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.LazyConv2d(4, 3, groups=2)(edunn.zeros(1, 3, 5, 5))


def test_conv_state_dict_round_trip():
    a, b = nn.Conv2d(3, 4, 3), nn.Conv2d(3, 4, 3)
    b.load_state_dict(a.state_dict())
    x = edunn.randn(1, 3, 5, 5)
    np.testing.assert_array_equal(a(x).detach().numpy(), b(x).detach().numpy())
    assert list(a.state_dict()) == ["weight", "bias"]
    assert list(nn.Conv2d(3, 4, 3, bias=False).state_dict()) == ["weight"]


# --------------------------------------------------------------------------- errors

def test_module_construction_errors():
    with pytest.raises(ValueError, match="in_channels must be divisible by groups"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="out_channels must be divisible by groups"):
        nn.Conv2d(4, 3, 3, groups=2)
    with pytest.raises(ValueError, match="groups must be a positive integer"):
        nn.Conv1d(4, 4, 3, groups=0)
    with pytest.raises(ValueError, match="padding_mode must be one of .*but got padding_mode='mirror'"):
        nn.Conv2d(3, 4, 3, padding_mode="mirror")
    with pytest.raises(ValueError, match="Invalid padding string 'full'"):
        nn.Conv2d(3, 4, 3, padding="full")
    with pytest.raises(ValueError, match="padding='same' is not supported for strided convolutions"):
        nn.Conv2d(3, 4, 3, padding="same", stride=2)
    with pytest.raises(ValueError, match='Only "zeros" padding mode is supported for ConvTranspose2d'):
        nn.ConvTranspose2d(3, 4, 3, padding_mode="reflect")


def test_functional_errors():
    x = edunn.randn(2, 4, 10, 10)
    w = edunn.randn(8, 3, 3, 3)
    with pytest.raises(RuntimeError, match=r"Given groups=1, weight of size \[8, 3, 3, 3\], expected "
                                           r"input\[2, 4, 10, 10\] to have 3 channels, but got 4 channels instead"):
        F.conv2d(x, w)
    with pytest.raises(RuntimeError, match=r"Expected 3D \(unbatched\) or 4D \(batched\) input to conv2d, "
                                           r"but got input of size: \[2, 3\]"):
        F.conv2d(edunn.randn(2, 3), w)
    with pytest.raises(RuntimeError, match=r"Calculated padded input size per channel: \(2 x 2\). Kernel size: "
                                           r"\(3 x 3\). Kernel size can't be greater than actual input size"):
        F.conv2d(edunn.randn(2, 3, 2, 2), w)
    with pytest.raises(RuntimeError, match="padding='same' is not supported for strided convolutions"):
        F.conv2d(edunn.randn(2, 3, 5, 5), w, padding="same", stride=2)
    with pytest.raises(RuntimeError, match="Invalid padding string: 'foo'"):
        F.conv2d(edunn.randn(2, 3, 5, 5), w, padding="foo")
    with pytest.raises(RuntimeError, match="non-positive stride is not supported"):
        F.conv2d(edunn.randn(2, 3, 5, 5), w, stride=0)
    with pytest.raises(RuntimeError, match="negative padding is not supported"):
        F.conv2d(edunn.randn(2, 3, 5, 5), w, padding=-1)
    with pytest.raises(RuntimeError, match="non-positive groups is not supported"):
        F.conv2d(edunn.randn(2, 6, 5, 5), edunn.randn(3, 2, 3, 3), groups=0)
    with pytest.raises(RuntimeError, match=r"expected weight to be divisible by 4 at dimension 0"):
        F.conv2d(edunn.randn(2, 8, 5, 5), edunn.randn(6, 2, 3, 3), groups=4)
    with pytest.raises(RuntimeError, match=r"expected bias to be 1-dimensional with 6 elements, but got bias of "
                                           r"size \[5\]"):
        F.conv2d(edunn.randn(2, 6, 5, 5), edunn.randn(6, 2, 3, 3), edunn.randn(5), groups=3)
    with pytest.raises(RuntimeError, match="expected scalar type Double but found Float"):
        F.conv2d(edunn.randn(2, 3, 5, 5, dtype=edunn.float64), w)
    with pytest.raises(RuntimeError, match=r"expected stride to be a single integer value or a list of 2 values"):
        F.conv2d(edunn.randn(2, 3, 5, 5), w, stride=(1, 1, 1))
    with pytest.raises(RuntimeError, match="output padding must be smaller than either stride or dilation, but "
                                           "got output_padding_height: 1 output_padding_width: 1 stride_height: 1"):
        F.conv_transpose2d(edunn.randn(2, 3, 5, 5), edunn.randn(3, 2, 3, 3), output_padding=1)
    with pytest.raises(RuntimeError, match=r"Given transposed=1, weight of size \[3, 2, 3, 3\], expected "
                                           r"input\[2, 4, 5, 5\] to have 3 channels, but got 4 channels instead"):
        F.conv_transpose2d(edunn.randn(2, 4, 5, 5), edunn.randn(3, 2, 3, 3))
    with pytest.raises(TypeError, match="argument 'padding' must be tuple of ints, not str"):
        F.conv_transpose2d(edunn.randn(2, 3, 5, 5), edunn.randn(3, 2, 3, 3), padding="same")
    with pytest.raises(RuntimeError, match="Output size is too small"):
        F.conv_transpose2d(edunn.randn(2, 3, 1, 1), edunn.randn(3, 2, 3, 3), padding=2)
    with pytest.raises(RuntimeError, match='"conv1d" not implemented for \'Long\''):
        F.conv1d(edunn.ones(1, 1, 3, dtype=edunn.int64), edunn.ones(1, 1, 2, dtype=edunn.int64))


def test_module_forward_errors():
    with pytest.raises(RuntimeError, match=r"expected input\[1, 2, 8, 8\] to have 3 channels, but got 2"):
        nn.Conv2d(3, 4, 3)(edunn.randn(1, 2, 8, 8))
    t = nn.ConvTranspose2d(3, 4, 3, stride=2)
    with pytest.raises(ValueError, match=r"requested an output size of \[20, 20\], but valid sizes range from "
                                         r"\[9, 9\] to \[10, 10\]"):
        t(edunn.randn(1, 3, 4, 4), output_size=(20, 20))
    with pytest.raises(ValueError, match="output_size must have 2 or 4 elements"):
        t(edunn.randn(1, 3, 4, 4), output_size=(9,))


def test_empty_batch():
    y = F.conv2d(edunn.randn(0, 3, 5, 5), edunn.randn(4, 3, 3, 3))
    assert tuple(y.shape) == (0, 4, 3, 3)


@needs_torch
@pytest.mark.parametrize("transposed", [False, True])
def test_only_needed_gradients(transposed):
    """A frozen weight gets no gradient, an input that needs none is left alone; the others match."""
    rng = np.random.default_rng(5)
    x = rng.standard_normal((2, 4, 5, 5)).astype(np.float32)
    w = rng.standard_normal((4, 2, 3, 3)).astype(np.float32)
    b = rng.standard_normal(4 if not transposed else 4).astype(np.float32)
    name = "conv_transpose2d" if transposed else "conv2d"
    for x_grad, w_grad in ((True, False), (False, True)):
        ex, ew, eb = (edunn.tensor(x, requires_grad=x_grad), edunn.tensor(w, requires_grad=w_grad),
                      edunn.tensor(b, requires_grad=True))
        tx, tw, tb = (torch.tensor(x, requires_grad=x_grad), torch.tensor(w, requires_grad=w_grad),
                      torch.tensor(b, requires_grad=True))
        getattr(F, name)(ex, ew, eb, 2, 1, groups=2).sum().backward()
        getattr(torch.nn.functional, name)(tx, tw, tb, 2, 1, groups=2).sum().backward()
        for ours, theirs in ((ex, tx), (ew, tw), (eb, tb)):
            if theirs.grad is None:
                assert ours.grad is None
            else:
                np.testing.assert_allclose(ours.grad.numpy(), theirs.grad.numpy(), rtol=RTOL, atol=ATOL)


@pytest.mark.parametrize("nd", [1, 2, 3])
def test_transposed_convolution_by_convolution_equals_offset_loop(nd):
    # with stride 1 the input gradient is a convolution with the flipped kernel (one im2col and
    # one matmul); every geometry it accepts must give the offset loop's image
    from edunn.nn.functional import conv as C
    rng = np.random.default_rng(nd)
    checked = 0
    for k, d, (lo, hi), extra, g in itertools.product([1, 2, 3], [1, 2], [(0, 0), (1, 1), (2, 1)],
                                                      [0, 1], [1, 2]):
        image = (7, 6, 5)[:nd]
        length = tuple(s + lo + hi - d * (k - 1) - extra for s in image)  # extra: output_padding
        geo = C._Geometry((k,) * nd, (1,) * nd, ((lo, hi),) * nd, (d,) * nd, g, image, length)
        flipped = C._by_convolution(geo)
        if d * (k - 1) < lo:
            assert flipped is None
            continue
        z, w = rng.normal(size=(2, 6) + length), rng.normal(size=(6, 4 // g) + (k,) * nd)
        np.testing.assert_allclose(C._conv_transpose_by_convolution(z, w, geo, flipped),
                                   C._conv_transpose_by_offsets(z, w, geo), rtol=1e-12, atol=1e-12)
        checked += 1
    assert checked > 40
    strided = C._Geometry((3,) * nd, (2,) * nd, ((1, 1),) * nd, (1,) * nd, 1, (7,) * nd, (4,) * nd)
    assert C._by_convolution(strided) is None
