"""edunn.nn.utils' fusion (fuse_conv_bn_eval/_weights incl. ConvTranspose with transpose=True,
fuse_linear_bn_eval/_weights), skip_init and convert_conv{2,3}d_weight_memory_format against
torch: fused parameters equal torch's, the fused layer computes bn(layer(x)), dtypes and
requires_grad as torch, PyTorch's errors, the random stream left untouched by skip_init, the
package namespace (every torch.nn.utils name) and signatures."""
import inspect

import numpy as np
import pytest

import edunn
from edunn.nn import utils as U
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson11, needs_torch]

TU = torch.nn.utils if torch is not None else None


def _copy_params(ours, theirs, seed=0, positive=("running_var",)):
    """Random values for every parameter and buffer of both (running_var kept positive)."""
    rng = np.random.default_rng(seed)
    t_state = theirs.state_dict()
    new = {}
    for k, v in t_state.items():
        if not v.is_floating_point():
            new[k] = v
            continue
        a = rng.standard_normal(tuple(v.shape))
        if k.split(".")[-1] in positive:
            a = np.abs(a) + 0.5
        new[k] = torch.tensor(a, dtype=v.dtype)
    theirs.load_state_dict(new)
    ours.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in new.items()})


CONVS = [("Conv1d", (4, 6, 3), {}, "BatchNorm1d", 1),
         ("Conv2d", (4, 6, 3), {"bias": False}, "BatchNorm2d", 2),
         ("Conv2d", (4, 6, 3), {"groups": 2}, "BatchNorm2d", 2),
         ("Conv3d", (2, 4, 2), {}, "BatchNorm3d", 3),
         ("ConvTranspose2d", (4, 6, 3), {"stride": 2}, "BatchNorm2d", 2),
         ("ConvTranspose1d", (4, 6, 3), {"bias": False}, "BatchNorm1d", 1)]


@pytest.mark.parametrize("conv,args,kwargs,bn,nd", CONVS)
@pytest.mark.parametrize("affine", [True, False])
def test_fuse_conv_bn_eval(conv, args, kwargs, bn, nd, affine):
    transpose = conv.startswith("ConvTranspose")
    c_o = getattr(edunn.nn, conv)(*args, **kwargs, dtype=edunn.float64)
    c_t = getattr(torch.nn, conv)(*args, **kwargs, dtype=torch.float64)
    b_o = getattr(edunn.nn, bn)(args[1], affine=affine, dtype=edunn.float64)
    b_t = getattr(torch.nn, bn)(args[1], affine=affine, dtype=torch.float64)
    _copy_params(c_o, c_t)
    _copy_params(b_o, b_t, seed=1)
    c_o.eval(), b_o.eval(), c_t.eval(), b_t.eval()
    f_o = U.fuse_conv_bn_eval(c_o, b_o, transpose=transpose)
    f_t = TU.fuse_conv_bn_eval(c_t, b_t, transpose=transpose)
    assert type(f_o) is type(c_o) and f_o is not c_o
    assert isinstance(f_o.weight, edunn.nn.Parameter) and isinstance(f_o.bias, edunn.nn.Parameter)
    assert_close(f_o.weight, f_t.weight, atol=1e-12, what="fused weight")
    assert_close(f_o.bias, f_t.bias, atol=1e-12, what="fused bias")
    assert (c_o.bias is None) == (c_t.bias is None)   # the original is untouched
    x = np.random.default_rng(2).standard_normal((2, args[0]) + (5,) * nd)
    assert_close(f_o(edunn.tensor(x)), b_o(c_o(edunn.tensor(x))), atol=1e-10, what="bn(conv(x))")


def test_fuse_conv_bn_weights_defaults_dtypes_requires_grad():
    rng = np.random.default_rng(0)
    w = rng.standard_normal((6, 4, 3, 3)).astype(np.float32)
    rm, rv = rng.standard_normal(6), np.abs(rng.standard_normal(6)) + 0.5
    ours = U.fuse_conv_bn_weights(edunn.tensor(w, requires_grad=False), None, edunn.tensor(rm),
                                  edunn.tensor(rv), 1e-3, None, None)
    theirs = TU.fuse_conv_bn_weights(torch.tensor(w, requires_grad=False), None, torch.tensor(rm),
                                     torch.tensor(rv), 1e-3, None, None)
    for o, t in zip(ours, theirs):
        assert isinstance(o, edunn.nn.Parameter)
        assert str(o.dtype).split(".")[1] == str(t.dtype).split(".")[1]
        assert o.requires_grad == t.requires_grad
        assert_close(o, t, atol=1e-6)
    bn_w, bn_b = rng.standard_normal(6), rng.standard_normal(6)
    ours = U.fuse_conv_bn_weights(edunn.tensor(w), edunn.tensor(rm), edunn.tensor(rm), edunn.tensor(rv), 1e-5,
                                  edunn.tensor(bn_w), edunn.tensor(bn_b))
    theirs = TU.fuse_conv_bn_weights(torch.tensor(w), torch.tensor(rm), torch.tensor(rm), torch.tensor(rv), 1e-5,
                                     torch.tensor(bn_w), torch.tensor(bn_b))
    for o, t in zip(ours, theirs):
        assert str(o.dtype).split(".")[1] == str(t.dtype).split(".")[1]
        assert_close(o, t, atol=1e-6)


@pytest.mark.parametrize("num_features", [5, 1])
def test_fuse_linear_bn_eval(num_features):
    l_o, l_t = edunn.nn.Linear(3, 5, dtype=edunn.float64), torch.nn.Linear(3, 5, dtype=torch.float64)
    b_o = edunn.nn.BatchNorm1d(num_features, dtype=edunn.float64)
    b_t = torch.nn.BatchNorm1d(num_features, dtype=torch.float64)
    _copy_params(l_o, l_t)
    _copy_params(b_o, b_t, seed=1)
    l_o.eval(), b_o.eval(), l_t.eval(), b_t.eval()
    f_o, f_t = U.fuse_linear_bn_eval(l_o, b_o), TU.fuse_linear_bn_eval(l_t, b_t)
    assert type(f_o) is edunn.nn.Linear and f_o is not l_o
    assert_close(f_o.weight, f_t.weight, atol=1e-12)
    assert_close(f_o.bias, f_t.bias, atol=1e-12)
    if num_features == 5:
        x = edunn.tensor(np.random.default_rng(3).standard_normal((4, 3)))
        assert_close(f_o(x), b_o(l_o(x)), atol=1e-10)
    # the weights function directly, without a linear bias
    rng = np.random.default_rng(4)
    lw, rm, rv = rng.standard_normal((5, 3)), rng.standard_normal(5), np.abs(rng.standard_normal(5)) + 1
    bw, bb = rng.standard_normal(5), rng.standard_normal(5)
    ours = U.fuse_linear_bn_weights(*(edunn.tensor(a) if a is not None else None for a in (lw, None, rm, rv)),
                                    1e-5, edunn.tensor(bw), edunn.tensor(bb))
    theirs = TU.fuse_linear_bn_weights(*(torch.tensor(a) if a is not None else None for a in (lw, None, rm, rv)),
                                       1e-5, torch.tensor(bw), torch.tensor(bb))
    for o, t in zip(ours, theirs):
        assert isinstance(o, edunn.nn.Parameter) and o.requires_grad == t.requires_grad
        assert_close(o, t, atol=1e-12)


def test_fusion_errors_match_torch():
    def both(fn_o, fn_t):
        with pytest.raises(AssertionError) as e_o:
            fn_o()
        with pytest.raises(AssertionError) as e_t:
            fn_t()
        assert str(e_o.value) == str(e_t.value)

    conv_o, conv_t = edunn.nn.Conv2d(2, 3, 1), torch.nn.Conv2d(2, 3, 1)
    bn_o, bn_t = edunn.nn.BatchNorm2d(3), torch.nn.BatchNorm2d(3)
    both(lambda: U.fuse_conv_bn_eval(conv_o, bn_o), lambda: TU.fuse_conv_bn_eval(conv_t, bn_t))
    lin_o, lin_t = edunn.nn.Linear(2, 3).eval(), torch.nn.Linear(2, 3).eval()
    b4_o, b4_t = edunn.nn.BatchNorm1d(4).eval(), torch.nn.BatchNorm1d(4).eval()
    both(lambda: U.fuse_linear_bn_eval(lin_o, b4_o), lambda: TU.fuse_linear_bn_eval(lin_t, b4_t))
    nr_o = edunn.nn.BatchNorm2d(3, track_running_stats=False).eval()
    nr_t = torch.nn.BatchNorm2d(3, track_running_stats=False).eval()
    both(lambda: U.fuse_conv_bn_eval(conv_o.eval(), nr_o), lambda: TU.fuse_conv_bn_eval(conv_t.eval(), nr_t))


def test_fusion_on_device(device):
    conv, bn = edunn.nn.Conv2d(2, 3, 3), edunn.nn.BatchNorm2d(3)
    with edunn.no_grad():
        bn.running_var.uniform_(0.5, 2.0)
        bn.running_mean.normal_()
        bn.weight.normal_()
    conv.eval().to(device), bn.eval().to(device)
    fused = U.fuse_conv_bn_eval(conv, bn)
    x = edunn.randn(2, 2, 6, 6, device=device)
    assert fused.weight.device.type == device
    assert_close(fused(x).cpu(), bn(conv(x)).cpu(), atol=1e-5)
    lin, bn1 = edunn.nn.Linear(3, 4).eval().to(device), edunn.nn.BatchNorm1d(4).eval().to(device)
    y = edunn.randn(5, 3, device=device)
    assert_close(U.fuse_linear_bn_eval(lin, bn1)(y).cpu(), bn1(lin(y)).cpu(), atol=1e-5)
    m = U.skip_init(edunn.nn.Linear, 3, 2, device=device)
    assert m.weight.device.type == device
    assert U.convert_conv2d_weight_memory_format(conv, edunn.channels_last).weight.device.type == device


# --------------------------------------------------------------------------- skip_init
def test_skip_init():
    edunn.manual_seed(3)
    expected = edunn.randn(5)
    edunn.manual_seed(3)
    m = U.skip_init(edunn.nn.Linear, 6, 4, bias=True, dtype=edunn.float64)
    assert_close(edunn.randn(5), expected)          # the random stream was not consumed
    assert type(m) is edunn.nn.Linear and m.weight.shape == (4, 6) and m.bias.shape == (4,)
    assert m.weight.dtype == edunn.float64 and m.weight.device == edunn.device("cpu")
    assert isinstance(m.weight, edunn.nn.Parameter) and m.weight.requires_grad
    m2 = U.skip_init(edunn.nn.Conv2d, in_channels=2, out_channels=3, kernel_size=3, device="cpu")
    assert m2.weight.shape == (3, 2, 3, 3) and m2.weight.device.type == "cpu"
    # uninitialised values, but a working module once initialised
    edunn.nn.init.zeros_(m.weight)
    edunn.nn.init.zeros_(m.bias)
    assert_close(m(edunn.ones(2, 6, dtype=edunn.float64)), np.zeros((2, 4)))


def test_skip_init_errors_match_torch():
    with pytest.raises(RuntimeError) as e_o:
        U.skip_init(int, 3)
    with pytest.raises(RuntimeError) as e_t:
        TU.skip_init(int, 3)
    assert str(e_o.value) == str(e_t.value) == "Expected a Module; got <class 'int'>"

    class NoDevice(edunn.nn.Module):
        def __init__(self, n):
            super().__init__()

    class TNoDevice(torch.nn.Module):
        def __init__(self, n):
            super().__init__()
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
        U.skip_init(NoDevice, 3)
    with pytest.raises(RuntimeError, match="Module must support a 'device' arg to skip initialization"):
        TU.skip_init(TNoDevice, 3)


# --------------------------------------------------------------------------- memory format
@pytest.mark.parametrize("which", [2, 3])
def test_convert_conv_weight_memory_format(which):
    fn = getattr(U, f"convert_conv{which}d_weight_memory_format")
    fmt = edunn.channels_last if which == 2 else edunn.channels_last_3d
    model = edunn.nn.Sequential(edunn.nn.Conv2d(2, 3, 3), edunn.nn.Sequential(edunn.nn.ConvTranspose2d(3, 2, 2)),
                                edunn.nn.Conv3d(2, 2, 1), edunn.nn.ConvTranspose3d(2, 2, 1), edunn.nn.Linear(2, 2))
    params = [p for p in model.parameters()]
    values = [p.detach().numpy().copy() for p in params]
    arrays = [p._data for p in params]
    assert fn(model, fmt) is model
    assert list(model.parameters()) == params       # the same Parameter objects, same values
    for p, v in zip(model.parameters(), values):
        np.testing.assert_array_equal(p.detach().numpy(), v)
    touched = [0, 2] if which == 2 else [4, 6]
    for i, (p, a) in enumerate(zip(params, arrays)):
        assert (p._data is not a) == (i in touched), i    # only those weights got fresh storage
    assert fn(edunn.nn.Conv2d(1, 1, 1), edunn.contiguous_format) is not None
    with pytest.raises(TypeError, match="memory_format must be an edunn.memory_format, got str"):
        fn(model, "channels_last")


# --------------------------------------------------------------------------- API
FUNCTIONS = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights",
             "skip_init", "convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format",
             "weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"]


@pytest.mark.parametrize("name", FUNCTIONS)
def test_signature_matches_torch(name):
    o = inspect.signature(getattr(U, name)).parameters
    t = inspect.signature(getattr(TU, name)).parameters
    assert list(o) == list(t)
    for k in t:
        assert o[k].kind == t[k].kind and o[k].default == t[k].default, k
    assert getattr(U, name).__doc__


def test_every_torch_nn_utils_name_exists():
    import importlib
    # (stateless is another module's scope, tested with it)
    missing = [n for n in TU.__all__ if not hasattr(U, n) and n != "stateless"]
    assert missing == []
    assert set(U.__all__) == set(TU.__all__)
    for mod in ("fusion", "init", "memory_format"):
        ours = importlib.import_module(f"edunn.nn.utils.{mod}")
        theirs = importlib.import_module(f"torch.nn.utils.{mod}")
        assert set(getattr(ours, "__all__", [])) == set(getattr(theirs, "__all__", ["skip_init"]))
