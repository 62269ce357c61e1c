"""Every activation of edunn.nn.functional and edunn.nn against PyTorch: values and gradients for
every option (OpSpec table), gradcheck in float64 and gradgradcheck of the smooth ones, PyTorch's
subgradients at the kinks, inputs of +-1e4, in-place semantics (same tensor, version, leaf error),
integer and half dtypes, errors, RReLU's statistics, and the modules (parity on the same weights,
PReLU's weight gradient, reprs equal to PyTorch's)."""
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from tests.opcheck import OpSpec, assert_close, needs_torch, spec_tests, torch

pytestmark = pytest.mark.lesson05

TF = torch.nn.functional if torch is not None else None
TNN = torch.nn if torch is not None else None


def _f(name, *args, **kw):
    return lambda x: getattr(F, name)(x, *args, **kw)


def _t(name, *args, **kw):
    return lambda x: getattr(TF, name)(x, *args, **kw)


def _spec(label, name, *args, shape=(3, 5), gradgrad=False, low=-3.0, high=3.0, **kw):
    return OpSpec(label, _f(name, *args, **kw), _t(name, *args, **kw), [shape], low=low, high=high,
                  gradgrad=gradgrad, lesson=5)


def _inplace_spec(label, name, *args, **kw):
    """The in-place form applied to a non-leaf (x * 1), gradients flowing back through it."""
    return OpSpec(label, lambda x: getattr(F, name)(x * 1, *args, **kw),
                  lambda x: getattr(TF, name)(x * 1, *args, **kw), [(4, 3)], low=-3, high=3, lesson=5)


SPECS = [
    _spec("threshold", "threshold", 0.3, -2.0),
    _spec("relu", "relu"),
    _spec("hardtanh", "hardtanh"),
    _spec("hardtanh(-2,0.5)", "hardtanh", -2.0, 0.5),
    _spec("relu6", "relu6", low=-2, high=8),
    _spec("hardswish", "hardswish", low=-5, high=5, gradgrad=True),
    _spec("hardsigmoid", "hardsigmoid", low=-5, high=5),
    _spec("elu", "elu", gradgrad=True),
    _spec("elu(alpha=0.3)", "elu", 0.3, gradgrad=True),
    _spec("elu(alpha=-1.5)", "elu", -1.5),
    _spec("selu", "selu", gradgrad=True),
    _spec("celu", "celu", gradgrad=True),
    _spec("celu(alpha=2.5)", "celu", 2.5, gradgrad=True),
    _spec("leaky_relu", "leaky_relu"),
    _spec("leaky_relu(0.2)", "leaky_relu", 0.2),
    _spec("leaky_relu(-0.5)", "leaky_relu", -0.5),
    _spec("rrelu(eval)", "rrelu"),
    _spec("rrelu(0.1,0.9,eval)", "rrelu", 0.1, 0.9, False),
    _spec("glu", "glu", shape=(3, 6), gradgrad=True),
    _spec("glu(dim=0)", "glu", 0, shape=(4, 3, 2), gradgrad=True),
    _spec("gelu", "gelu", low=-5, high=5, gradgrad=True),
    _spec("gelu(tanh)", "gelu", approximate="tanh", low=-5, high=5, gradgrad=True),
    _spec("logsigmoid", "logsigmoid", low=-30, high=30, gradgrad=True),
    _spec("hardshrink", "hardshrink"),
    _spec("hardshrink(1.2)", "hardshrink", 1.2),
    _spec("tanhshrink", "tanhshrink", gradgrad=True),
    _spec("softsign", "softsign", gradgrad=True),
    _spec("softplus", "softplus", low=-30, high=30, gradgrad=True),
    _spec("softplus(beta=2,threshold=3)", "softplus", 2.0, 3.0, gradgrad=True),
    _spec("softplus(beta=0.5,threshold=1)", "softplus", beta=0.5, threshold=1.0),
    _spec("softplus(beta=-1)", "softplus", -1.0, 20.0),
    _spec("softshrink", "softshrink"),
    _spec("softshrink(1.5)", "softshrink", 1.5),
    _spec("tanh", "tanh", gradgrad=True),
    _spec("sigmoid", "sigmoid", gradgrad=True),
    _spec("silu", "silu", low=-8, high=8, gradgrad=True),
    _spec("mish", "mish", low=-8, high=8, gradgrad=True),
    _spec("relu(3d)", "relu", shape=(2, 3, 4)),
    _spec("gelu(0-d)", "gelu", shape=()),
    _spec("silu(0-d)", "silu", shape=()),
    OpSpec("prelu(1 weight)", F.prelu, TF.prelu if TF else None, [(4, 3, 5), (1,)], lesson=5,
           gradgrad=True),
    OpSpec("prelu(per channel)", F.prelu, TF.prelu if TF else None, [(2, 3, 4, 2), (3,)], lesson=5,
           gradgrad=True),
    OpSpec("prelu(0-d weight)", F.prelu, TF.prelu if TF else None, [(4, 3), ()], lesson=5),
    OpSpec("prelu(1-d input)", F.prelu, TF.prelu if TF else None, [(6,), (1,)], lesson=5),
    _inplace_spec("threshold_", "threshold_", 0.5, 9.0),
    _inplace_spec("relu(inplace)", "relu", inplace=True),
    _inplace_spec("relu_", "relu_"),
    _inplace_spec("hardtanh_", "hardtanh_", -0.5, 0.5),
    _inplace_spec("relu6(inplace)", "relu6", inplace=True),
    _inplace_spec("hardswish(inplace)", "hardswish", inplace=True),
    _inplace_spec("hardsigmoid(inplace)", "hardsigmoid", inplace=True),
    _inplace_spec("elu_", "elu_", 0.7),
    _inplace_spec("selu_", "selu_"),
    _inplace_spec("celu_", "celu_", 1.3),
    _inplace_spec("leaky_relu_", "leaky_relu_", 0.3),
    _inplace_spec("rrelu_(eval)", "rrelu_"),
    _inplace_spec("silu(inplace)", "silu", inplace=True),
    _inplace_spec("mish(inplace)", "mish", inplace=True),
]

test_parity, test_gradcheck = spec_tests(SPECS, lesson=5)


# -------------------------------------------------------------------------------- kinks and extremes
POINTWISE = [
    ("threshold", (1.0, 5.0), {}), ("relu", (), {}), ("hardtanh", (), {}), ("relu6", (), {}),
    ("hardswish", (), {}), ("hardsigmoid", (), {}), ("elu", (), {}), ("elu", (2.0,), {}),
    ("selu", (), {}), ("celu", (2.0,), {}), ("leaky_relu", (0.2,), {}), ("rrelu", (), {}),
    ("gelu", (), {}), ("gelu", (), {"approximate": "tanh"}), ("logsigmoid", (), {}),
    ("hardshrink", (), {}), ("tanhshrink", (), {}), ("softsign", (), {}), ("softplus", (), {}),
    ("softplus", (2.0, 10.0), {}), ("softshrink", (), {}), ("tanh", (), {}), ("sigmoid", (), {}),
    ("silu", (), {}), ("mish", (), {}),
]
_IDS = [f"{n}{a or ''}{k or ''}" for n, a, k in POINTWISE]
KINKS = [0.0, -0.0, 1.0, -1.0, 6.0, 3.0, -3.0, 0.5, -0.5, 5.0, 1e-30, -1e-30]
EXTREMES = [1e4, -1e4, 1e3, -1e3, 100.0, -100.0, 88.0, -88.0, 30.0, -30.0, 20.0, 20.0001, 19.9999]


def _compare_pointwise(name, args, kw, values, dtype):
    x = np.array(values, dtype=dtype)
    a = edunn.tensor(x, requires_grad=True)
    b = torch.tensor(x, requires_grad=True)
    ya, yb = getattr(F, name)(a, *args, **kw), getattr(TF, name)(b, *args, **kw)
    ya.backward(edunn.ones_like(ya))
    yb.backward(torch.ones_like(yb))
    ref_y, ref_g = yb.detach().numpy(), b.grad.numpy()
    ours_y, ours_g = ya.detach().numpy(), a.grad.numpy()
    assert np.isfinite(ours_y[np.isfinite(ref_y)]).all() and np.isfinite(ours_g[np.isfinite(ref_g)]).all()
    tol = 1e-6 if dtype == "float32" else 1e-12
    if name == "hardsigmoid":  # PyTorch's kernel multiplies by 1/6 rounded to float32, even in float64
        tol = max(tol, 1e-7)
    np.testing.assert_allclose(ours_y, ref_y, rtol=tol, atol=tol, err_msg=f"{name} values at {values}")
    np.testing.assert_allclose(ours_g, ref_g, rtol=10 * tol, atol=10 * tol, err_msg=f"{name} grads at {values}")


@needs_torch
@pytest.mark.parametrize("name,args,kw", POINTWISE, ids=_IDS)
def test_subgradients_at_kinks_are_torchs(name, args, kw):
    _compare_pointwise(name, args, kw, KINKS, "float64")


@needs_torch
@pytest.mark.parametrize("dtype", ["float32", "float64"])
@pytest.mark.parametrize("name,args,kw", POINTWISE, ids=_IDS)
def test_extreme_inputs_finite_and_equal_to_torch(name, args, kw, dtype):
    _compare_pointwise(name, args, kw, EXTREMES, dtype)


@needs_torch
@pytest.mark.parametrize("name", ["relu", "hardtanh", "elu", "gelu", "softplus", "silu", "mish",
                                  "sigmoid", "tanh", "leaky_relu", "logsigmoid"])
def test_nan_and_inf_inputs_as_torch(name):
    x = [float("nan"), float("inf"), -float("inf"), 1.0]
    ours = getattr(F, name)(edunn.tensor(x)).numpy()
    ref = getattr(TF, name)(torch.tensor(x)).numpy()
    assert np.isnan(ours[0])
    # wherever PyTorch gives a number we give the same one (PyTorch's gelu(+inf) is NaN, ours inf)
    np.testing.assert_allclose(ours[~np.isnan(ref)], ref[~np.isnan(ref)], rtol=1e-6)


# -------------------------------------------------------------------------------- in place
INPLACE = [("relu", {"inplace": True}), ("relu_", {}), ("threshold_", {"threshold": 0.1, "value": 2.0}),
           ("hardtanh_", {}), ("relu6", {"inplace": True}), ("elu_", {}), ("selu_", {}), ("celu_", {}),
           ("leaky_relu_", {}), ("rrelu_", {}), ("rrelu_", {"training": True}),
           ("hardswish", {"inplace": True}), ("hardsigmoid", {"inplace": True}),
           ("silu", {"inplace": True}), ("mish", {"inplace": True}), ("elu", {"inplace": True}),
           ("threshold", {"threshold": 0.0, "value": 0.0, "inplace": True})]


@pytest.mark.parametrize("name,kw", INPLACE, ids=[f"{n}{k}" for n, k in INPLACE])
def test_inplace_returns_input_and_bumps_version(name, kw):
    x = edunn.randn(4, 5)
    before = x.clone()
    v = x._version
    y = getattr(F, name)(x, **kw)
    assert y is x
    assert x._version > v
    out_of_place = {k: v for k, v in kw.items() if k != "inplace"}
    fn = name.rstrip("_")
    if "rrelu" in name and kw.get("training"):
        neg = before.numpy() < 0
        ratio = x.numpy()[neg] / before.numpy()[neg]
        assert ((ratio >= 1 / 8) & (ratio <= 1 / 3)).all()
    else:
        np.testing.assert_allclose(x.numpy(), getattr(F, fn)(before, **out_of_place).numpy(), rtol=1e-6)


@pytest.mark.parametrize("name,kw", INPLACE, ids=[f"{n}{k}" for n, k in INPLACE])
def test_inplace_on_leaf_requiring_grad_raises_as_torch(name, kw):
    x = edunn.randn(3, requires_grad=True)
    with pytest.raises(RuntimeError, match="a leaf Variable that requires grad is being used in an in-place operation."):
        getattr(F, name)(x, **kw)
    with edunn.no_grad():
        assert getattr(F, name)(x, **kw) is x


@needs_torch
def test_inplace_after_an_op_that_saved_its_output_fails_at_backward_as_torch():
    for lib, fn in ((edunn, F), (torch, TF)):
        x = lib.tensor([0.5, -1.0, 2.0], requires_grad=True)
        y = x.sigmoid()  # sigmoid saves its output for backward
        fn.relu(y, inplace=True)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            y.sum().backward()


@needs_torch
def test_inplace_on_a_view_updates_the_base_and_its_gradient():
    x0 = np.linspace(-2, 2, 12).reshape(3, 4)
    grads = []
    for lib, fn in ((edunn, F), (torch, TF)):
        x = lib.tensor(x0, requires_grad=True)
        base = x * 2
        fn.elu(base[1], inplace=True)
        (base * lib.tensor(x0)).sum().backward()
        grads.append(x.grad.numpy().copy())
        assert_close(base.detach(), (x * 2).detach().numpy() * 0 + base.detach().numpy())
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("call", ["leaky_relu_", "elu_"])
def test_inplace_negative_slope_refused_like_torch(call):
    x = edunn.randn(3, requires_grad=True) * 1
    with pytest.raises(RuntimeError, match="backward calculation is triggered with a negative slope"):
        getattr(F, call)(x, -0.5)
    with edunn.no_grad():  # nothing to differentiate: allowed, as in torch
        getattr(F, call)(edunn.randn(3) * 1, -0.5)


# -------------------------------------------------------------------------------- dtypes and errors
@needs_torch
@pytest.mark.parametrize("name,args", [("relu", ()), ("relu6", ()), ("hardtanh", ()),
                                       ("threshold", (1, 7))])
def test_integer_inputs_keep_their_dtype(name, args):
    x = np.array([-3, 0, 2, 9])
    ours = getattr(F, name)(edunn.tensor(x), *args)
    ref = getattr(TF, name)(torch.tensor(x), *args)
    assert ours.dtype == edunn.int64
    np.testing.assert_array_equal(ours.numpy(), ref.numpy())


@pytest.mark.parametrize("name", ["elu", "selu", "celu", "leaky_relu", "gelu", "silu", "softplus",
                                  "hardshrink", "logsigmoid", "mish", "hardswish", "hardsigmoid",
                                  "softshrink", "glu", "rrelu"])
def test_integer_inputs_refused(name):
    with pytest.raises(NotImplementedError, match="not implemented for 'Long'"):
        getattr(F, name)(edunn.tensor([-2, 0, 3, 4]))


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", ["relu", "gelu", "silu", "elu", "softplus", "mish", "hardswish",
                                  "leaky_relu", "logsigmoid"])
def test_half_precision_keeps_dtype(name, dtype):
    x = edunn.linspace(-4, 4, 9).to(getattr(edunn, dtype)).requires_grad_()
    y = getattr(F, name)(x)
    assert y.dtype == x.dtype
    y.sum().backward()
    assert x.grad.dtype == x.dtype
    ref = getattr(F, name)(x.detach().double()).float().numpy()
    np.testing.assert_allclose(y.detach().float().numpy(), ref, atol=0.05, rtol=0.02)


def test_bad_arguments_raise_torchs_errors():
    x = edunn.randn(2, 3)
    with pytest.raises(RuntimeError, match="approximate argument must be either none or tanh."):
        F.gelu(x, approximate="fast")
    with pytest.raises(RuntimeError, match="ZeroDivisionError: alpha cannot be 0 for CELU"):
        F.celu(x, 0.0)
    with pytest.raises(RuntimeError, match="lambda must be in range"):
        F.softshrink(x, -1.0)
    with pytest.raises(RuntimeError, match="Lower bound should be less than or equal to the upper bound"):
        F.rrelu(x, 0.5, 0.1, training=True)
    with pytest.raises(RuntimeError, match="Halving dimension must be even, but dimension 1 is size 3"):
        F.glu(x, 1)
    with pytest.raises(RuntimeError, match="glu does not support scalars"):
        F.glu(edunn.tensor(1.0))
    with pytest.raises(RuntimeError, match="Found parameter numbers = 2 and channel size = 3."):
        F.prelu(x, edunn.ones(2))
    with pytest.raises(RuntimeError, match="Found parameter numbers = 4 and channel size = 1."):
        F.prelu(edunn.randn(4), edunn.ones(4))
    with pytest.raises(RuntimeError, match="Expected `weight` to be a scalar or 1D tensor, but got: ndim = 2"):
        F.prelu(x, edunn.ones(3, 1))
    with pytest.raises(ValueError, match="min_val cannot be greater than max_val"):
        F.hardtanh(x, 2.0, 1.0)
    with pytest.raises(RuntimeError, match="prelu: Type promoting not supported. Got Double and Float"):
        F.prelu(x.double(), edunn.ones(1))
    with pytest.raises(TypeError, match=r"relu\(\): argument 'input' \(position 1\) must be Tensor, not list"):
        F.relu([1.0])
    with pytest.raises(IndexError, match="Dimension out of range"):
        F.glu(x, 2)


# -------------------------------------------------------------------------------- rrelu
def test_rrelu_training_samples_slopes_uniformly_and_backprops_them():
    lower, upper = 0.1, 0.6
    x = -edunn.rand(200000, dtype=edunn.float64) - 0.5
    x.requires_grad_()
    y = F.rrelu(x, lower, upper, training=True)
    slopes = (y / x).detach().numpy()
    assert slopes.min() >= lower and slopes.max() <= upper
    n = slopes.size
    assert abs(slopes.mean() - (lower + upper) / 2) < 4 * (upper - lower) / np.sqrt(12 * n)
    assert abs(slopes.var() - (upper - lower) ** 2 / 12) < 0.01 * (upper - lower) ** 2
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), slopes, rtol=1e-12)
    pos = edunn.rand(100) + 0.01
    np.testing.assert_array_equal(F.rrelu(pos, training=True).numpy(), pos.numpy())


def test_rrelu_training_is_reproducible_and_fresh_each_call():
    x = -edunn.rand(50) - 0.1
    edunn.manual_seed(5)
    a = F.rrelu(x, training=True)
    b = F.rrelu(x, training=True)
    edunn.manual_seed(5)
    c = F.rrelu(x, training=True)
    np.testing.assert_array_equal(a.numpy(), c.numpy())
    assert not np.array_equal(a.numpy(), b.numpy())


@needs_torch
def test_rrelu_module_train_and_eval():
    m = nn.RReLU(0.2, 0.4)
    x0 = np.linspace(-3, 3, 13)
    y = m(edunn.tensor(x0)).numpy()
    neg = x0 < 0
    assert ((y[neg] / x0[neg] >= 0.2) & (y[neg] / x0[neg] <= 0.4)).all()
    m.eval()
    assert_close(m(edunn.tensor(x0)), TNN.RReLU(0.2, 0.4).eval()(torch.tensor(x0)), 1e-12, 1e-12)


# -------------------------------------------------------------------------------- modules
MODULES = [
    ("Threshold", (0.1, 20.0), {}), ("Threshold", (0.1, 20.0), {"inplace": True}),
    ("ReLU", (), {}), ("ReLU", (), {"inplace": True}), ("RReLU", (), {}), ("RReLU", (0.1, 0.3), {"inplace": True}),
    ("Hardtanh", (), {}), ("Hardtanh", (-2.0, 3.0), {"inplace": True}), ("ReLU6", (), {}),
    ("ReLU6", (), {"inplace": True}), ("Sigmoid", (), {}), ("Hardsigmoid", (), {}),
    ("Hardsigmoid", (), {"inplace": True}), ("Tanh", (), {}), ("SiLU", (), {}), ("SiLU", (), {"inplace": True}),
    ("Mish", (), {}), ("Mish", (), {"inplace": True}), ("Hardswish", (), {}), ("Hardswish", (), {"inplace": True}),
    ("ELU", (), {}), ("ELU", (0.5,), {"inplace": True}), ("CELU", (), {}), ("CELU", (1.5, True), {}),
    ("SELU", (), {}), ("SELU", (), {"inplace": True}), ("GLU", (), {}), ("GLU", (1,), {}), ("GELU", (), {}),
    ("GELU", ("tanh",), {}), ("Hardshrink", (), {}), ("Hardshrink", (0.8,), {}), ("LeakyReLU", (), {}),
    ("LeakyReLU", (0.2, True), {}), ("LogSigmoid", (), {}), ("Softplus", (), {}), ("Softplus", (2, 5), {}),
    ("Softshrink", (), {}), ("Softshrink", (1.0,), {}), ("PReLU", (), {}), ("PReLU", (4,), {}),
    ("PReLU", (4, 0.1), {}), ("Softsign", (), {}), ("Tanhshrink", (), {}), ("Softmin", (1,), {}),
    ("Softmax", (), {}), ("Softmax", (-1,), {}), ("Softmax2d", (), {}), ("LogSoftmax", (2,), {}),
    ("LogSoftmax", (), {"dim": 0}),
]
_MIDS = [f"{n}{a}{k or ''}" for n, a, k in MODULES]


@needs_torch
@pytest.mark.parametrize("name,args,kw", MODULES, ids=_MIDS)
def test_module_repr_equals_torchs(name, args, kw):
    assert repr(getattr(nn, name)(*args, **kw)) == repr(getattr(TNN, name)(*args, **kw))


@needs_torch
@pytest.mark.parametrize("name,args,kw", MODULES, ids=_MIDS)
def test_module_forward_and_gradients_match_torch(name, args, kw):
    ours, ref = getattr(nn, name)(*args, **kw), getattr(TNN, name)(*args, **kw)
    if name == "RReLU":  # random in training: compare the deterministic evaluation mode
        ours.eval(), ref.eval()
    ours.double(), ref.double()
    tol = 1e-7 if name == "Hardsigmoid" else 1e-10  # PyTorch's 1/6 is rounded to float32
    x0 = np.random.default_rng(0).uniform(-3, 3, (2, 4, 3, 2))
    a = edunn.tensor(x0, requires_grad=True)
    b = torch.tensor(x0, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # implicit softmax dims warn in both
        ya, yb = ours(a * 1), ref(b * 1)
    assert_close(ya, yb, 1e-10, 1e-10, name)
    g = np.random.default_rng(1).standard_normal(tuple(yb.shape))
    ya.backward(edunn.tensor(g))
    yb.backward(torch.tensor(g))
    assert_close(a.grad, b.grad, tol, tol, name + " input grad")
    if name == "PReLU":
        assert_close(ours.weight.grad, ref.weight.grad, 1e-10, 1e-10, "PReLU weight grad")


@needs_torch
@pytest.mark.parametrize("num_parameters", [1, 3])
@pytest.mark.parametrize("shape", [(5, 3), (2, 3, 4), (2, 3, 2, 2), (2, 3, 1, 2, 2)])
def test_prelu_weight_gradient_on_the_same_weights(num_parameters, shape):
    rng = np.random.default_rng(num_parameters)
    ours, ref = nn.PReLU(num_parameters), TNN.PReLU(num_parameters)
    w = rng.uniform(-1, 1, num_parameters).astype(np.float32)
    ref.weight.data = torch.tensor(w)
    ours.load_state_dict({"weight": edunn.tensor(w)})
    x0 = rng.standard_normal(shape).astype(np.float32)
    a, b = edunn.tensor(x0, requires_grad=True), torch.tensor(x0, requires_grad=True)
    ya, yb = ours(a), ref(b)
    assert_close(ya, yb)
    ya.sum().backward()
    yb.sum().backward()
    assert_close(a.grad, b.grad)
    assert_close(ours.weight.grad, ref.weight.grad, 1e-5, 1e-5)
    assert edunn.autograd.gradcheck(F.prelu, [edunn.tensor(x0, dtype=edunn.float64, requires_grad=True),
                                              edunn.tensor(w, dtype=edunn.float64, requires_grad=True)])


def test_prelu_module_parameters_dtype_and_errors():
    m = nn.PReLU(3, init=0.1, dtype=edunn.float64)
    assert [n for n, _ in m.named_parameters()] == ["weight"]
    assert m.weight.dtype == edunn.float64 and m.weight.shape == (3,)
    np.testing.assert_array_equal(m.weight.detach().numpy(), [0.1, 0.1, 0.1])
    assert list(m.state_dict()) == ["weight"]
    with pytest.raises(RuntimeError, match="Found parameter numbers = 3 and channel size = 4."):
        m(edunn.randn(2, 4, dtype=edunn.float64))


def test_hardtanh_module_checks_and_deprecated_names():
    with pytest.raises(AssertionError, match=r"max_val \(1.0\) must be greater than min_val \(2.0\)"):
        nn.Hardtanh(2.0, 1.0)
    with pytest.warns(FutureWarning, match="`min_value` is deprecated"):
        m = nn.Hardtanh(min_value=-3.0)
    assert m.min_val == -3.0
    with pytest.warns(FutureWarning, match="`max_value` is deprecated"):
        assert nn.Hardtanh(max_value=4.0).max_val == 4.0


@needs_torch
@pytest.mark.parametrize("ndim", [3, 4])
def test_softmax2d_over_channels(ndim):
    x0 = np.random.default_rng(2).standard_normal((2, 3, 4, 5)[4 - ndim:])
    assert_close(nn.Softmax2d()(edunn.tensor(x0)), TNN.Softmax2d()(torch.tensor(x0)), 1e-12, 1e-12)
    with pytest.raises(ValueError, match="Softmax2d: expected input to be 3D or 4D, got 2D instead"):
        nn.Softmax2d()(edunn.randn(3, 4))


def test_softmax_modules_warn_at_the_callers_line_without_dim():
    for cls in (nn.Softmax, nn.Softmin, nn.LogSoftmax):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            cls()(edunn.randn(2, 3))
        assert len(caught) == 1 and "Implicit dimension choice" in str(caught[0].message)
        assert caught[0].category is UserWarning


def test_modules_hold_no_parameters_except_prelu():
    for name, args, kw in MODULES:
        m = getattr(nn, name)(*args, **kw)
        assert len(list(m.parameters())) == (1 if name == "PReLU" else 0)


# -------------------------------------------------------------------------------- signatures
def _torch_params(fn, name):
    """(name, default) pairs of a torch.nn.functional entry; builtins only document theirs."""
    import inspect
    import re
    try:
        return [(p.name, p.default) for p in inspect.signature(fn).parameters.values()]
    except (TypeError, ValueError):
        text = re.search(re.escape(name) + r"\((.*?)\) -> Tensor", fn.__doc__).group(1)
        out = []
        for part in text.split(","):
            key, _, default = part.partition("=")
            out.append((key.strip(), eval(default) if default else inspect.Parameter.empty))
        return out


@needs_torch
@pytest.mark.parametrize("name", F.activation.__all__)
def test_functional_signature_matches_torch(name):
    import inspect
    ours = [(p.name, p.default) for p in inspect.signature(getattr(F, name)).parameters.values()]
    assert ours == _torch_params(getattr(TF, name), name)


@needs_torch
@pytest.mark.parametrize("name", nn.modules.activation.__all__)
def test_module_signature_matches_torch(name):
    import inspect
    ps = lambda f: [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]
    assert ps(getattr(nn, name).__init__) == ps(getattr(torch.nn, name).__init__)
    assert ps(getattr(nn, name).forward) == ps(getattr(torch.nn, name).forward)


@needs_torch
@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("name,kwargs", [("hardtanh", {}), ("relu6", {}), ("threshold", dict(threshold=0.1, value=20.0)),
                                         ("hardsigmoid", {}), ("hardswish", {}), ("hardshrink", {}),
                                         ("softshrink", {})])
def test_cut_gradients_are_zero_even_for_nonfinite_gradients(name, kwargs, create_graph):
    # where PyTorch's backward takes its "return 0" branch, a NaN or infinite incoming gradient
    # gives 0 (not 0 * inf = NaN); elsewhere it passes through (times the derivative)
    x = [-4.0, -3.0, -2.0, -0.5, 0.0, 0.5, 2.0, 3.0, 7.0]
    g = [1.0, np.nan, np.inf, 1.0, -np.inf, np.nan, 1.0, np.nan, -np.inf]
    grads = []
    for lib in (edunn, torch):
        t = lib.tensor(x, requires_grad=True)
        (gx,) = lib.autograd.grad(getattr(lib.nn.functional, name)(t, **kwargs), t, lib.tensor(g),
                                  create_graph=create_graph)
        grads.append(np.asarray(gx.detach().numpy()))
    np.testing.assert_array_equal(grads[0], grads[1])
