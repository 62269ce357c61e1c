"""Dropout family: mask statistics, 1/(1-p) scale, eval identity, whole-channel masks, alpha
dropout's self-normalisation, reproducibility under manual_seed, in-place, gradients, PyTorch's
warnings and errors.  Flatten/Unflatten against PyTorch.  (Random layers are compared with
PyTorch by their statistics and structure: the random streams differ.)"""
import math
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from tests.opcheck import torch, needs_torch

pytestmark = pytest.mark.lesson08

ALPHA = 1.7580993408473766


@pytest.mark.parametrize("p", [0.1, 0.5, 0.8])
def test_dropout_mask_statistics(p):
    x = edunn.ones(100_000)
    y = F.dropout(x, p).numpy()
    zero = y == 0
    # fraction dropped ~ Binomial(n, p) / n: 5 standard deviations
    assert abs(zero.mean() - p) < 5 * math.sqrt(p * (1 - p) / 1e5)
    np.testing.assert_allclose(y[~zero], 1 / (1 - p), rtol=1e-6)
    assert abs(y.mean() - 1) < 0.05                    # E[y] = x
    assert (x.numpy() == 1).all()                      # not in place


def test_dropout_gradient_is_mask():
    x = edunn.randn(50, 40, requires_grad=True)
    y = F.dropout(x, 0.3)
    g = edunn.randn(50, 40)
    (y * g).sum().backward()
    m = y.detach().numpy() / x.detach().numpy()        # the mask: 0 or 1/(1-p)
    np.testing.assert_allclose(x.grad.numpy(), g.numpy() * m, rtol=1e-5, atol=1e-6)


def test_dropout_gradcheck():
    x = edunn.randn(6, 5, dtype=edunn.float64, requires_grad=True)

    def f(t):
        edunn.manual_seed(3)  # the same mask on every evaluation
        return F.dropout(t, 0.4)

    assert edunn.autograd.gradcheck(f, (x,))


@pytest.mark.parametrize("fn", [F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                                F.feature_alpha_dropout])
def test_eval_is_identity(fn):
    x = edunn.randn(2, 3, 4, 5, 6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        if fn is F.dropout1d:
            x = edunn.randn(2, 3, 4)
        assert fn(x, 0.5, training=False) is x
        assert fn(x, 0.0, training=True) is x


def test_alpha_defaults_to_eval():
    x = edunn.randn(10, 4)
    assert F.alpha_dropout(x, 0.5) is x and F.feature_alpha_dropout(x, 0.5) is x


@pytest.mark.parametrize("fn", [F.dropout, F.alpha_dropout, F.feature_alpha_dropout, F.dropout2d])
def test_p_one_gives_zeros(fn):
    x = edunn.randn(3, 4, 5, requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(x, 1.0, True)
    assert (y.detach().numpy() == 0).all()
    y.sum().backward()
    assert (x.grad.numpy() == 0).all()


@pytest.mark.parametrize("fn", [F.dropout, F.dropout1d, F.dropout2d, F.dropout3d, F.alpha_dropout,
                                F.feature_alpha_dropout])
@pytest.mark.parametrize("p", [-0.1, 1.5])
def test_p_validation(fn, p):
    with pytest.raises(ValueError, match=f"dropout probability has to be between 0 and 1, but got {p}"):
        fn(edunn.randn(2, 3, 4), p)


def test_type_and_dtype_errors():
    with pytest.raises(TypeError, match="must be Tensor"):
        F.dropout(np.ones(3))
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        F.dropout(edunn.arange(6), 0.5)
    assert F.dropout(edunn.ones(100, dtype=edunn.float16), 0.5).dtype == edunn.float16
    assert F.dropout(edunn.ones(100, dtype=edunn.float64), 0.5).dtype == edunn.float64


def test_same_seed_same_mask():
    x = edunn.ones(1000)
    for fn in (F.dropout, F.alpha_dropout):
        edunn.manual_seed(11)
        a = fn(x, 0.5, True).numpy()
        b = fn(x, 0.5, True).numpy()
        edunn.manual_seed(11)
        c = fn(x, 0.5, True).numpy()
        np.testing.assert_array_equal(a, c)
        assert not np.array_equal(a, b)


def test_inplace():
    x = edunn.ones(1000)
    v = x._version
    y = F.dropout(x, 0.5, True, inplace=True)
    assert y is x and x._version > v
    assert set(np.unique(x.numpy())) == {0.0, 2.0}
    leaf = edunn.ones(10, requires_grad=True)
    with pytest.raises(RuntimeError, match="leaf Variable that requires grad"):
        F.dropout(leaf, 0.5, True, inplace=True)
    # in place on a non-leaf: the gradient still flows through the mask
    a = edunn.ones(200, requires_grad=True)
    h = a * 1.0
    F.dropout(h, 0.5, True, inplace=True)
    h.sum().backward()
    np.testing.assert_array_equal(a.grad.numpy(), h.detach().numpy())


def channel_masks(y, lead):
    """Per (leading index) whether the whole channel is zero, and check it is all-or-nothing."""
    flat = y.reshape(y.shape[:lead] + (-1,))
    zero = flat == 0
    assert (zero.all(-1) | (~zero).any(-1) & ~zero.any(-1)).all(), "a channel is partly dropped"
    return zero.all(-1)


@pytest.mark.parametrize("fn,shape,lead", [
    (F.dropout1d, (40, 50, 7), 2), (F.dropout1d, (400, 7), 1),
    (F.dropout2d, (40, 50, 3, 4), 2), (F.dropout2d, (40, 50, 7), 2),
    (F.dropout3d, (20, 50, 2, 3, 2), 2), (F.dropout3d, (400, 2, 3, 2), 1),
    (F.feature_alpha_dropout, (40, 50, 3, 2), 2), (F.feature_alpha_dropout, (400, 5), 2),
])
def test_whole_channel_masks(fn, shape, lead):
    p = 0.3
    x = edunn.rand(*shape) + 1.0                        # never 0, so zeros come from the mask
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = fn(x, p, True).numpy()
    if fn is F.feature_alpha_dropout:
        dropped_value = -ALPHA * (1 / math.sqrt((ALPHA ** 2 * p + 1) * (1 - p))) * (1 - p)
        y = np.where(np.isclose(y, dropped_value, atol=1e-6), 0.0, 1.0) * np.ones_like(y)
        ratio = None
    else:
        ratio = y / x.numpy()
    dropped = channel_masks(y, lead)
    n = dropped.size
    assert abs(dropped.mean() - p) < 5 * math.sqrt(p * (1 - p) / n)
    if ratio is not None:
        kept = ratio.reshape(ratio.shape[:lead] + (-1,))[~dropped]
        np.testing.assert_allclose(kept, 1 / (1 - p), rtol=1e-5)


@pytest.mark.parametrize("fn", [F.alpha_dropout, F.feature_alpha_dropout])
@pytest.mark.parametrize("p", [0.1, 0.3, 0.6])
def test_alpha_dropout_self_normalising(fn, p):
    x = edunn.randn(1000, 200)
    y = fn(x, p, True).numpy().astype(np.float64)
    tol = 0.03 if fn is F.alpha_dropout else 0.08        # fewer independent draws per channel
    assert abs(y.mean()) < tol and abs(y.std() - 1) < tol
    a = 1 / math.sqrt((ALPHA ** 2 * p + 1) * (1 - p))
    if fn is F.alpha_dropout:
        dropped = np.isclose(y, a * ALPHA * (p - 1), atol=1e-6)
        assert abs(dropped.mean() - p) < 0.01
        np.testing.assert_allclose(y[~dropped], a * x.numpy()[~dropped] + a * ALPHA * p, rtol=1e-5, atol=1e-5)


def test_alpha_dropout_gradient():
    x = edunn.randn(30, 20, requires_grad=True)
    y = F.alpha_dropout(x, 0.2, True)
    y.sum().backward()
    a = 1 / math.sqrt((ALPHA ** 2 * 0.2 + 1) * 0.8)
    g = x.grad.numpy()
    assert np.isclose(g, 0).any() and np.isclose(g, a).any()
    assert (np.isclose(g, 0) | np.isclose(g, a, rtol=1e-6)).all()


@pytest.mark.parametrize("fn,shape,msg", [
    (F.dropout1d, (3,), "dropout1d: Expected 2D or 3D input, but received a 1D input"),
    (F.dropout1d, (2, 3, 4, 5), "dropout1d: Expected 2D or 3D input, but received a 4D input"),
    (F.feature_alpha_dropout, (6,), "Feature dropout requires at least 2 dimensions in the input"),
])
def test_rank_errors(fn, shape, msg):
    with pytest.raises(RuntimeError, match=msg):
        fn(edunn.randn(*shape), 0.5, True)


@needs_torch
@pytest.mark.parametrize("fn,shape", [("dropout2d", (3, 4)), ("dropout2d", (2, 3, 4)),
                                      ("dropout2d", (2, 3, 4, 5, 6)), ("dropout3d", (2, 3, 4)),
                                      ("dropout3d", (2, 3, 4, 5, 6, 7)), ("dropout2d", (2, 3, 4, 5)),
                                      ("dropout3d", (2, 3, 4, 5))])
def test_warnings_match_torch(fn, shape):
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        y = getattr(F, fn)(edunn.randn(*shape), 0.5)
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        t = getattr(torch.nn.functional, fn)(torch.randn(*shape), 0.5)
    assert [str(w.message) for w in ours] == [str(w.message) for w in theirs]
    assert tuple(y.shape) == tuple(t.shape)


@needs_torch
@pytest.mark.parametrize("fn,shape", [("dropout1d", (4, 5)), ("dropout3d", (3, 2, 2, 2)),
                                      ("dropout3d", (3, 4, 5)), ("dropout2d", (30, 4))])
def test_unbatched_structure_like_torch(fn, shape):
    """Which axes share one draw: compare the pattern of equal ratios with PyTorch's."""
    def groups(y, x):
        # for each axis: is the mask constant along it?
        r = y / x
        return [bool((np.diff(r, axis=k) == 0).all()) for k in range(r.ndim)]
    x = np.random.default_rng(0).uniform(1, 2, shape).astype(np.float32)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours = [all(vals) for vals in zip(*[groups(getattr(F, fn)(edunn.tensor(x), 0.5).numpy(), x)
                                            for _ in range(20)])]
        theirs = [all(vals) for vals in zip(*[groups(getattr(torch.nn.functional, fn)(
            torch.tensor(x), 0.5).numpy(), x) for _ in range(20)])]
    assert ours == theirs


# ------------------------------------------------------------------------------------ modules
nn = edunn.nn
DROPOUTS = ["Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "FeatureAlphaDropout"]
INPUT_FOR = {"Dropout": (20, 30), "Dropout1d": (4, 5, 6), "Dropout2d": (4, 5, 3, 3),
             "Dropout3d": (4, 5, 2, 2, 2), "AlphaDropout": (20, 30), "FeatureAlphaDropout": (4, 5, 3)}


@pytest.mark.parametrize("name", DROPOUTS)
def test_module_train_eval(name):
    m = getattr(nn, name)(0.5)
    x = edunn.randn(*INPUT_FOR[name])
    assert m.training
    y = m(x)
    assert y.shape == x.shape and not np.array_equal(y.numpy(), x.numpy())
    m.eval()
    assert m(x) is x
    m.train()
    assert not np.array_equal(m(x).numpy(), x.numpy())
    assert list(m.parameters()) == [] and list(m.state_dict()) == []


@pytest.mark.parametrize("name", DROPOUTS)
def test_module_p_validation(name):
    with pytest.raises(ValueError, match="dropout probability has to be between 0 and 1, but got 1.5"):
        getattr(nn, name)(1.5)
    with pytest.raises(ValueError, match="but got -0.5"):
        getattr(nn, name)(p=-0.5)


@needs_torch
@pytest.mark.parametrize("name", DROPOUTS)
def test_module_repr_matches_torch(name):
    for args in [(), (0.2,), (0.3, True)]:
        assert repr(getattr(nn, name)(*args)) == repr(getattr(torch.nn, name)(*args))


def test_dropout_module_inplace_and_seed():
    m = nn.Dropout(0.25, inplace=True)
    x = edunn.ones(10_000)
    assert m(x) is x
    assert abs((x.numpy() == 0).mean() - 0.25) < 0.02
    assert np.allclose(x.numpy()[x.numpy() != 0], 1 / 0.75)
    m = nn.Dropout2d(0.5)
    edunn.manual_seed(4)
    a = m(edunn.ones(8, 6, 3, 3)).numpy()
    edunn.manual_seed(4)
    np.testing.assert_array_equal(a, m(edunn.ones(8, 6, 3, 3)).numpy())


def test_dropout_in_a_model_follows_model_eval():
    model = nn.Sequential(nn.Linear(5, 5), nn.Dropout(0.5), nn.Linear(5, 2))
    x = edunn.randn(3, 5)
    model.eval()
    np.testing.assert_array_equal(model(x).detach().numpy(), model(x).detach().numpy())


@needs_torch
@pytest.mark.parametrize("args,shape", [((), (2, 3, 4, 5)), ((0, -1), (2, 3, 4)), ((2, 3), (2, 3, 4, 5)),
                                        ((1, 1), (2, 3)), ((-3, -2), (2, 3, 4, 5)), ((), (2,)),
                                        ((0,), ()), ((1,), (3, 0, 2))])
def test_flatten_parity(args, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours, theirs = nn.Flatten(*args), torch.nn.Flatten(*args)
    try:
        t = theirs(torch.tensor(x, requires_grad=True))
    except (IndexError, RuntimeError) as err:
        with pytest.raises(type(err), match=str(err).split("(")[0]):
            ours(edunn.tensor(x))
        return
    xe = edunn.tensor(x, requires_grad=True)
    y = ours(xe)
    assert tuple(y.shape) == tuple(t.shape)
    np.testing.assert_array_equal(y.detach().numpy(), t.detach().numpy())
    y.backward(edunn.ones(*y.shape))
    assert xe.grad.shape == xe.shape
    assert repr(ours) == repr(theirs)


@needs_torch
@pytest.mark.parametrize("dim,sizes,shape", [(1, (2, 3), (4, 6)), (-1, (2, 2, 2), (3, 8)), (1, [3, -1], (2, 6, 5)),
                                             (0, (1, 4), (4,)), (1, (3, 1), (2, 3)), (-2, (-1, 1), (2, 4, 3))])
def test_unflatten_parity(dim, sizes, shape):
    x = np.random.default_rng(0).standard_normal(shape).astype(np.float32)
    ours, theirs = nn.Unflatten(dim, sizes), torch.nn.Unflatten(dim, sizes)
    xe = edunn.tensor(x, requires_grad=True)
    y, t = ours(xe), theirs(torch.tensor(x))
    assert tuple(y.shape) == tuple(t.shape)
    np.testing.assert_array_equal(y.detach().numpy(), t.numpy())
    y.sum().backward()
    np.testing.assert_array_equal(xe.grad.numpy(), np.ones(shape, np.float32))
    assert repr(ours) == repr(theirs)


def test_flatten_unflatten_roundtrip_gradcheck():
    m = nn.Sequential(nn.Flatten(), nn.Unflatten(1, (3, 4)))
    x = edunn.randn(2, 3, 4, dtype=edunn.float64, requires_grad=True)
    assert edunn.autograd.gradcheck(m, (x,))


@pytest.mark.parametrize("dim,sizes,shape,msg", [
    (1, (2, 2), (2, 3, 4), r"unflatten: Provided sizes \[2, 2\] don't multiply up to the size of dim 1 \(3\) in the input tensor"),
    (1, (-1, 2), (2, 3, 4), r"unflatten: Provided sizes \[-1, 2\] don't multiply up to the size of dim 1 \(3\)"),
    (1, (), (2, 3, 4), "unflatten: sizes must be non-empty"),
])
def test_unflatten_errors(dim, sizes, shape, msg):
    with pytest.raises(RuntimeError, match=msg):
        nn.Unflatten(dim, sizes)(edunn.randn(*shape))


def test_unflatten_constructor_errors():
    with pytest.raises(TypeError, match="unflattened_size must be a tuple of ints, but found type int"):
        nn.Unflatten(1, 3)
    with pytest.raises(TypeError, match="unflattened_size must be tuple of ints, but found element of type float at pos 1"):
        nn.Unflatten(1, (3, 2.0))
    with pytest.raises(IndexError, match="Dimension out of range"):
        nn.Unflatten(5, (3,))(edunn.randn(2, 3))
    with pytest.raises(RuntimeError, match="start_dim cannot come after end_dim"):
        nn.Flatten(2, 1)(edunn.randn(2, 3, 4))


@needs_torch
@pytest.mark.parametrize("name", ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
                                  "feature_alpha_dropout", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d",
                                  "AlphaDropout", "FeatureAlphaDropout", "Flatten", "Unflatten"])
def test_signature_matches_torch(name):
    import inspect
    ours = getattr(F, name, None) or getattr(nn, name).__init__
    theirs = getattr(torch.nn.functional, name, None) if hasattr(F, name) else getattr(torch.nn, name).__init__
    ps = lambda f: [(p.name, p.kind, p.default) for p in inspect.signature(f).parameters.values()]
    assert ps(ours) == ps(theirs)
