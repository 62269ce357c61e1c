"""F.linear and F.bilinear against PyTorch (values, input and weight gradients), gradcheck and
gradgradcheck in float64, float32 end to end, and PyTorch's errors for bad shapes and dtypes."""
import math

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from tests.opcheck import OpSpec, spec_tests, torch, needs_torch

pytestmark = pytest.mark.lesson05

TF = torch.nn.functional if torch is not None else None


def _lin(shapes, bias=True, name=None):
    if bias:
        fn, tfn = (lambda x, w, b: F.linear(x, w, b)), (lambda x, w, b: TF.linear(x, w, b))
    else:
        fn, tfn = (lambda x, w: F.linear(x, w)), (lambda x, w: TF.linear(x, w))
    return OpSpec(name or f"linear{shapes}", fn, tfn, shapes, gradgrad=True, lesson=5)


def _bil(shapes, bias=True):
    if bias:
        fn, tfn = (lambda a, b, w, c: F.bilinear(a, b, w, c)), (lambda a, b, w, c: TF.bilinear(a, b, w, c))
    else:
        fn, tfn = (lambda a, b, w: F.bilinear(a, b, w)), (lambda a, b, w: TF.bilinear(a, b, w))
    return OpSpec(f"bilinear{shapes}", fn, tfn, shapes, gradgrad=True, lesson=5)


SPECS = [
    _lin([(4, 3), (5, 3), (5,)]),
    _lin([(4, 3), (5, 3)], bias=False),
    _lin([(3,), (5, 3), (5,)], name="linear-unbatched"),
    _lin([(2, 3, 4), (6, 4), (6,)], name="linear-3d"),
    _lin([(2, 1, 3, 4), (2, 4)], bias=False, name="linear-4d-nobias"),
    _lin([(4, 3), (3,)], bias=False, name="linear-1d-weight"),
    _lin([(4, 3), (5, 3), (4, 5)], name="linear-full-bias"),
    _lin([(4, 3), (5, 3), (1,)], name="linear-broadcast-bias"),
    _bil([(4, 3), (4, 2), (5, 3, 2), (5,)]),
    _bil([(4, 3), (4, 2), (5, 3, 2)], bias=False),
    _bil([(3,), (2,), (5, 3, 2), (5,)]),
    _bil([(2, 4, 3), (2, 4, 2), (1, 3, 2), (1,)]),
]

test_parity, test_gradcheck = spec_tests(SPECS, lesson=5)


def test_float32_end_to_end_and_no_unneeded_grads():
    x = edunn.randn(8, 5)                      # a batch of data: no gradient wanted
    w = edunn.randn(3, 5, requires_grad=True)
    b = edunn.randn(3, requires_grad=True)
    y = F.linear(x, w, b)
    assert y.dtype == edunn.float32
    y.sum().backward()
    assert x.grad is None
    assert w.grad.dtype == edunn.float32 and b.grad.dtype == edunn.float32
    np.testing.assert_allclose(b.grad.numpy(), np.full(3, 8.0))
    np.testing.assert_allclose(w.grad.numpy(), np.tile(x.numpy().sum(0), (3, 1)), rtol=1e-5)


def test_needs_input_grad_respected():
    x = edunn.randn(4, 5, requires_grad=True)
    w = edunn.randn(3, 5)
    F.linear(x, w).sum().backward()
    assert w.grad is None and x.grad.shape == (4, 5)


def test_no_grad_mode_records_nothing():
    w = edunn.randn(3, 5, requires_grad=True)
    with edunn.no_grad():
        y = F.linear(edunn.randn(2, 5), w)
    assert not y.requires_grad and y.grad_fn is None


def test_zero_batch():
    x = edunn.randn(0, 4, requires_grad=True)
    w = edunn.randn(5, 4, requires_grad=True)
    b = edunn.randn(5, requires_grad=True)
    y = F.linear(x, w, b)
    assert y.shape == (0, 5)
    y.sum().backward()
    assert x.grad.shape == (0, 4) and (w.grad.numpy() == 0).all() and (b.grad.numpy() == 0).all()


def test_integer_inputs():
    x = edunn.arange(6).reshape(2, 3)
    w = edunn.ones(4, 3, dtype=edunn.int64)
    y = F.linear(x, w)
    assert y.dtype == edunn.int64
    np.testing.assert_array_equal(y.numpy(), np.array([[3] * 4, [12] * 4]))


def test_saved_input_modified_in_place_is_detected():
    x = edunn.randn(2, 3)
    w = edunn.randn(4, 3, requires_grad=True)
    y = F.linear(x, w)
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@pytest.mark.parametrize("xs,ws,bs,msg", [
    ((2, 3), (5, 4), (5,), r"mat1 and mat2 shapes cannot be multiplied \(2x3 and 4x5\)"),
    ((2, 7, 3), (5, 4), None, r"mat1 and mat2 shapes cannot be multiplied \(14x3 and 4x5\)"),
    ((3,), (5, 4), None, r"mat1 and mat2 shapes cannot be multiplied \(1x3 and 4x5\)"),
    ((2, 4), (5, 4), (4,), r"bias of shape \[4\] cannot be broadcast to the output shape \[2, 5\]"),
    ((2, 4), (5, 4), (3, 2, 5), r"bias of shape \[3, 2, 5\] cannot be broadcast"),
    ((), (5, 4), None, "both arguments to linear need to be at least 1D, but they are 0D and 2D"),
    ((2, 4), (2, 5, 4), None, r"weight must be 1-D or 2-D"),
])
def test_linear_shape_errors(xs, ws, bs, msg):
    b = None if bs is None else edunn.randn(*bs)
    with pytest.raises(RuntimeError, match=msg):
        F.linear(edunn.randn(*xs), edunn.randn(*ws), b)


@needs_torch
def test_linear_shape_error_message_starts_like_torch():
    with pytest.raises(RuntimeError) as ours:
        F.linear(edunn.randn(2, 3), edunn.randn(5, 4))
    with pytest.raises(RuntimeError) as theirs:
        TF.linear(torch.randn(2, 3), torch.randn(5, 4))
    assert str(ours.value).startswith(str(theirs.value))


def test_linear_dtype_and_type_errors():
    with pytest.raises(RuntimeError, match="mat1 and mat2 must have the same dtype, but got Double and Float"):
        F.linear(edunn.randn(2, 4, dtype=edunn.float64), edunn.randn(5, 4))
    with pytest.raises(RuntimeError, match="self and mat2 must have the same dtype, but got Double and Float"):
        F.linear(edunn.randn(2, 4), edunn.randn(5, 4), edunn.randn(5, dtype=edunn.float64))
    with pytest.raises(TypeError, match="argument 'weight'"):
        F.linear(edunn.randn(2, 4), np.zeros((5, 4)))
    with pytest.raises(TypeError, match="argument 'input'"):
        F.linear([[1.0]], edunn.randn(1, 1))


@pytest.mark.parametrize("s1,s2,ws,bs,msg", [
    ((2, 3), (2, 5), (5, 3, 4), (5,), "input2 size does not match weight size: got 5 but expected 4"),
    ((2, 4), (2, 4), (5, 3, 4), None, "input1 size does not match weight size: got 4 but expected 3"),
    ((2, 3), (3, 4), (5, 3, 4), (5,), "input batch dimensions do not match at dim 0: got 2 and 3"),
    ((2, 2, 3), (2, 4), (5, 3, 4), (5,), "input dimensions do not match: got 3 and 2"),
    ((2, 3), (2, 4), (5, 3, 4), (4,), "bias size does not match weight size: got 4 but expected 5"),
    ((2, 3), (2, 4), (3, 4), None, r"weight must be 3-D"),
])
def test_bilinear_errors(s1, s2, ws, bs, msg):
    b = None if bs is None else edunn.randn(*bs)
    with pytest.raises(RuntimeError, match=msg):
        F.bilinear(edunn.randn(*s1), edunn.randn(*s2), edunn.randn(*ws), b)


# ------------------------------------------------------------------------------------ modules
nn = edunn.nn


def _copy_into_torch(ours, theirs):
    with torch.no_grad():
        for name, p in ours.named_parameters():
            getattr(theirs, name).copy_(torch.from_numpy(p.detach().numpy().copy()))


def _compare_module(ours, theirs, *shapes, dtype=np.float32, atol=1e-5):
    rng = np.random.default_rng(0)
    arrays = [rng.standard_normal(s).astype(dtype) for s in shapes]
    xs = [edunn.tensor(a, requires_grad=True) for a in arrays]
    ts = [torch.tensor(a, requires_grad=True) for a in arrays]
    y, t = ours(*xs), theirs(*ts)
    assert tuple(y.shape) == tuple(t.shape) and y.dtype.name == str(t.dtype).split(".")[-1]
    np.testing.assert_allclose(y.detach().numpy(), t.detach().numpy(), atol=atol, rtol=1e-5)
    g = rng.standard_normal(tuple(t.shape)).astype(dtype)
    y.backward(edunn.tensor(g))
    t.backward(torch.tensor(g))
    for x, tx in zip(xs, ts):
        np.testing.assert_allclose(x.grad.numpy(), tx.grad.numpy(), atol=atol * 10, rtol=1e-4)
    for name, p in ours.named_parameters():
        np.testing.assert_allclose(p.grad.numpy(), getattr(theirs, name).grad.numpy(), atol=atol * 10,
                                   rtol=1e-4, err_msg=name)


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("shape", [(6, 5), (5,), (2, 3, 5), (0, 5)])
def test_linear_module_parity(bias, shape):
    ours, theirs = nn.Linear(5, 4, bias=bias), torch.nn.Linear(5, 4, bias=bias)
    _copy_into_torch(ours, theirs)
    _compare_module(ours, theirs, shape)


@needs_torch
def test_linear_module_parity_float64():
    ours = nn.Linear(5, 3, dtype=edunn.float64)
    theirs = torch.nn.Linear(5, 3, dtype=torch.float64)
    _copy_into_torch(ours, theirs)
    _compare_module(ours, theirs, (4, 5), dtype=np.float64, atol=1e-12)


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
@pytest.mark.parametrize("s1,s2", [((6, 3), (6, 4)), ((3,), (4,)), ((2, 5, 3), (2, 5, 4))])
def test_bilinear_module_parity(bias, s1, s2):
    ours, theirs = nn.Bilinear(3, 4, 2, bias=bias), torch.nn.Bilinear(3, 4, 2, bias=bias)
    _copy_into_torch(ours, theirs)
    _compare_module(ours, theirs, s1, s2)


def test_module_gradcheck():
    lin = nn.Linear(4, 3, dtype=edunn.float64)
    bil = nn.Bilinear(3, 2, 2, dtype=edunn.float64)
    x = edunn.randn(5, 4, dtype=edunn.float64, requires_grad=True)
    a = edunn.randn(5, 3, dtype=edunn.float64, requires_grad=True)
    b = edunn.randn(5, 2, dtype=edunn.float64, requires_grad=True)
    assert edunn.autograd.gradcheck(lambda x, w, c: F.linear(x, w, c), (x, lin.weight, lin.bias))
    assert edunn.autograd.gradcheck(lambda a, b, w, c: F.bilinear(a, b, w, c), (a, b, bil.weight, bil.bias))
    assert edunn.autograd.gradcheck(lin, (x,)) and edunn.autograd.gradcheck(bil, (a, b))


def test_linear_default_init_statistics():
    # PyTorch's default: weight and bias ~ U(-1/sqrt(in), 1/sqrt(in))
    lin = nn.Linear(400, 300)
    bound = 1 / math.sqrt(400)
    w, b = lin.weight.detach().numpy(), lin.bias.detach().numpy()
    assert w.shape == (300, 400) and b.shape == (300,)
    assert np.abs(w).max() <= bound and np.abs(w).max() > 0.99 * bound
    assert abs(w.std() - bound / math.sqrt(3)) < 0.01 * bound
    assert np.abs(b).max() <= bound and abs(b.mean()) < 0.1 * bound
    assert lin.weight.requires_grad and lin.weight.is_leaf and lin.weight.grad_fn is None


def test_bilinear_default_init_and_errors():
    bil = nn.Bilinear(50, 20, 30)
    bound = 1 / math.sqrt(50)
    assert np.abs(bil.weight.detach().numpy()).max() <= bound
    assert np.abs(bil.bias.detach().numpy()).max() <= bound
    with pytest.raises(ValueError, match=r"in1_features must be > 0, but got \(in1_features=0\)"):
        nn.Bilinear(0, 2, 3)


def test_linear_seeded_and_factory_kwargs():
    edunn.manual_seed(5)
    a = nn.Linear(3, 4)
    edunn.manual_seed(5)
    b = nn.Linear(3, 4)
    np.testing.assert_array_equal(a.weight.detach().numpy(), b.weight.detach().numpy())
    np.testing.assert_array_equal(a.bias.detach().numpy(), b.bias.detach().numpy())
    c = nn.Linear(3, 4, device="cpu", dtype=edunn.float64)
    assert c.weight.dtype == edunn.float64 and c.bias.dtype == edunn.float64
    assert str(c.weight.device) == "cpu"
    assert nn.Linear(3, 4, bias=False).bias is None
    assert [n for n, _ in nn.Linear(3, 4).named_parameters()] == ["weight", "bias"]
    assert list(nn.Linear(3, 4, bias=False).state_dict()) == ["weight"]


def test_zero_in_features():
    with pytest.warns(UserWarning, match="Initializing zero-element tensors is a no-op"):
        lin = nn.Linear(0, 3)
    np.testing.assert_array_equal(lin.bias.detach().numpy(), np.zeros(3))
    assert lin(edunn.randn(2, 0)).shape == (2, 3)


@needs_torch
def test_reprs_match_torch():
    pairs = [(nn.Linear(3, 4), torch.nn.Linear(3, 4)), (nn.Linear(3, 4, bias=False), torch.nn.Linear(3, 4, bias=False)),
             (nn.Bilinear(2, 3, 4), torch.nn.Bilinear(2, 3, 4)), (nn.Identity(3, k=1), torch.nn.Identity(3, k=1)),
             (nn.LazyLinear(4), torch.nn.LazyLinear(4)), (nn.LazyLinear(4, bias=False), torch.nn.LazyLinear(4, bias=False))]
    for ours, theirs in pairs:
        assert repr(ours) == repr(theirs)


def test_identity():
    m = nn.Identity(54, unused_argument1=0.1, unused_argument2=False)
    x = edunn.randn(2, 3, requires_grad=True)
    assert m(x) is x
    assert list(m.parameters()) == []


def test_linear_module_bad_input_names_the_layer():
    lin = nn.Linear(4, 5)
    with pytest.raises(RuntimeError) as err:
        lin(edunn.randn(2, 3))
    msg = str(err.value)
    assert msg.startswith("mat1 and mat2 shapes cannot be multiplied (2x3 and 4x5)")
    assert "Linear(in_features=4, out_features=5, bias=True)" in msg and "[2, 3]" in msg
    with pytest.raises(RuntimeError, match=r"must have the same dtype, but got Double and Float.*in Linear"):
        lin(edunn.randn(2, 4, dtype=edunn.float64))
    bil = nn.Bilinear(3, 4, 2)
    with pytest.raises(RuntimeError, match=r"input2 size does not match weight size: got 5 but expected 4 \(in Bilinear"):
        bil(edunn.randn(2, 3), edunn.randn(2, 5))


@needs_torch
@pytest.mark.parametrize("bias", [True, False])
def test_lazy_linear_infers_and_becomes_linear(bias):
    m = nn.LazyLinear(4, bias=bias)
    assert isinstance(m.weight, edunn.nn.UninitializedParameter)
    assert m.has_uninitialized_params()
    x = edunn.randn(3, 2, 6)
    y = m(x)
    assert type(m) is nn.Linear and m.in_features == 6 and y.shape == (3, 2, 4)
    assert type(m.weight) is edunn.nn.Parameter and m.weight.shape == (4, 6)
    bound = 1 / math.sqrt(6)
    assert np.abs(m.weight.detach().numpy()).max() <= bound
    sd = m.state_dict()
    assert list(sd) == (["weight", "bias"] if bias else ["weight"])
    assert sd["weight"].shape == (4, 6) and (not bias or sd["bias"].shape == (4,))
    theirs = torch.nn.Linear(6, 4, bias=bias)
    _copy_into_torch(m, theirs)
    _compare_module(m, theirs, (5, 6))


def test_lazy_linear_dtype_and_load_state_dict():
    m = nn.LazyLinear(3, dtype=edunn.float64)
    m(edunn.randn(2, 5, dtype=edunn.float64))
    assert m.weight.dtype == edunn.float64 and m.bias.dtype == edunn.float64
    src = nn.Linear(7, 3)
    lazy = nn.LazyLinear(3)
    lazy.load_state_dict(src.state_dict())
    assert lazy.weight.shape == (3, 7)
    np.testing.assert_array_equal(lazy.weight.detach().numpy(), src.weight.detach().numpy())
    x = edunn.randn(2, 7)
    np.testing.assert_allclose(lazy(x).detach().numpy(), src(x).detach().numpy(), rtol=1e-6)
    assert type(lazy) is nn.Linear and lazy.in_features == 7


def test_lazy_linear_uninitialized_use_is_an_error():
    m = nn.LazyLinear(3)
    with pytest.raises(ValueError, match="uninitialized parameter"):
        m.weight.shape
    with pytest.raises(RuntimeError, match="in_features"):
        m(edunn.tensor(1.0))


def test_linear_trains():
    """A few SGD steps by hand reduce a regression loss (the gradients point the right way)."""
    edunn.manual_seed(0)
    lin = nn.Linear(3, 1)
    x = edunn.randn(64, 3)
    y = x @ edunn.tensor([[1.0], [-2.0], [0.5]]) + 0.3
    losses = []
    for _ in range(50):
        loss = ((lin(x) - y) ** 2).mean()
        losses.append(float(loss))
        lin.zero_grad()
        loss.backward()
        with edunn.no_grad():
            for p in lin.parameters():
                p -= 0.1 * p.grad
    assert losses[-1] < 0.01 * losses[0]


@needs_torch
@pytest.mark.parametrize("name", ["Identity", "Linear", "Bilinear", "LazyLinear"])
def test_module_signature_matches_torch(name):
    import inspect
    ps = lambda f: [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]
    assert ps(getattr(nn, name).__init__) == ps(getattr(torch.nn, name).__init__)
    assert ps(getattr(nn, name).forward) == ps(getattr(torch.nn, name).forward)
