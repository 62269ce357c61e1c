"""edunn.nn.utils' gradient clipping and parameter-vector utilities against torch.nn.utils:
clip_grad_norm_ (total norms and clipped gradients for p = 1, 2, 3.5, inf, 0, -inf; max_norm
below and above the norm; several shapes and dtypes; non-finite gradients), get_total_norm and
clip_grads_with_norm_, the deprecated clip_grad_norm, clip_grad_value_, sparse gradients,
parameters_to_vector / vector_to_parameters, PyTorch's errors and warnings, and signatures."""
import inspect
import math
import warnings

import numpy as np
import pytest

import edunn
from edunn.autograd import gradcheck
from edunn.nn import utils as U
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson12, needs_torch]

TU = torch.nn.utils if torch is not None else None
NAMES = ["clip_grad_norm_", "clip_grad_norm", "clip_grad_value_", "get_total_norm",
         "clip_grads_with_norm_", "parameters_to_vector", "vector_to_parameters"]
SHAPES = [((3, 4), "float32"), ((5,), "float64"), ((2, 3, 2), "float32"), ((1,), "float32")]


def _pairs(grads, device="cpu", without_grad=()):
    """Parameters in edunn (on ``device``) and torch with the same values and the given grads
    (a None grad leaves the parameter without one)."""
    rng = np.random.default_rng(1)
    ours, theirs = [], []
    for i, g in enumerate(grads):
        w = rng.standard_normal(g.shape).astype(g.dtype)
        p = edunn.nn.Parameter(edunn.tensor(w, device=device))
        t = torch.nn.Parameter(torch.tensor(w))
        if i not in without_grad:
            p.grad = edunn.tensor(g, device=device)
            t.grad = torch.tensor(g)
        ours.append(p)
        theirs.append(t)
    return ours, theirs


def _grads(scale=1.0, seed=0):
    rng = np.random.default_rng(seed)
    return [(scale * rng.standard_normal(s)).astype(d) for s, d in SHAPES]


def _same_grads(ours, theirs, atol=1e-6):
    for i, (p, t) in enumerate(zip(ours, theirs)):
        if t.grad is None:
            assert p.grad is None
            continue
        a, e = edunn.backend.to_numpy(p.grad._data), t.grad.numpy()
        assert a.dtype == e.dtype, f"grad {i}: dtype {a.dtype} != {e.dtype}"
        np.testing.assert_allclose(a, e, rtol=1e-5, atol=atol, equal_nan=True, err_msg=f"grad {i}")


def _same_norm(ours, theirs, rtol=1e-5):
    assert isinstance(ours, edunn.Tensor) and ours.shape == ()
    assert ours.dtype.name == str(theirs.dtype).replace("torch.", ""), (ours.dtype, theirs.dtype)
    np.testing.assert_allclose(float(ours.item()), float(theirs.item()), rtol=rtol, equal_nan=True)


# ----------------------------------------------------------------------------- clip_grad_norm_
@pytest.mark.parametrize("norm_type", [1, 2.0, 3.5, math.inf, "inf", 0, -math.inf])
@pytest.mark.parametrize("max_norm", [0.3, 1e4])  # below the total norm (clips), above (doesn't)
def test_clip_grad_norm_matches_torch(norm_type, max_norm, device):
    ours, theirs = _pairs(_grads(), device, without_grad=(3,))
    before = [p.grad.clone() for p in ours if p.grad is not None]
    n = U.clip_grad_norm_(ours, max_norm, norm_type)
    m = TU.clip_grad_norm_(theirs, max_norm, norm_type)
    _same_norm(n, m)
    assert n.device == ours[0].device
    _same_grads(ours, theirs)
    if max_norm > float(m):  # coefficient clamped to 1: the gradients are unchanged
        for g, p in zip(before, [p for p in ours if p.grad is not None]):
            assert_close(p.grad, g, atol=0, rtol=0)


def test_clip_grad_norm_of_clipped_grads_is_max_norm():
    ours, theirs = _pairs(_grads(scale=10.0))
    U.clip_grad_norm_(ours, 2.5)
    TU.clip_grad_norm_(theirs, 2.5)
    after = U.get_total_norm([p.grad for p in ours])
    np.testing.assert_allclose(after.item(), 2.5, rtol=1e-5)
    _same_grads(ours, theirs)


@pytest.mark.parametrize("norm_type", [2.0, 3.5, "inf"])
def test_clip_grad_norm_single_tensor_and_generator(norm_type):
    ours, theirs = _pairs(_grads(scale=3.0))
    _same_norm(U.clip_grad_norm_(ours[0], 0.5, norm_type), TU.clip_grad_norm_(theirs[0], 0.5, norm_type))
    _same_grads(ours, theirs)
    _same_norm(U.clip_grad_norm_((p for p in ours), 0.25, norm_type),
               TU.clip_grad_norm_((t for t in theirs), 0.25, norm_type))
    _same_grads(ours, theirs)


def test_clip_grad_norm_empty_inputs():
    n, m = U.clip_grad_norm_([], 1.0), TU.clip_grad_norm_([], 1.0)
    _same_norm(n, m)
    ours, theirs = _pairs(_grads()[:2], without_grad=(0, 1))  # no parameter has a gradient
    _same_norm(U.clip_grad_norm_(ours, 1.0), TU.clip_grad_norm_(theirs, 1.0))
    with pytest.warns(UserWarning) as got:
        U.clip_grad_norm_((p for p in []), 1.0)
    with pytest.warns(UserWarning) as expected:
        TU.clip_grad_norm_((p for p in []), 1.0)
    assert str(got[0].message) == str(expected[0].message)
    assert got[0].filename == __file__  # points at the caller, as PyTorch's stacklevel does


# inf * 0 in NumPy warns ("invalid value"); PyTorch gives the same nan silently
@pytest.mark.filterwarnings("ignore:invalid value encountered:RuntimeWarning")
@pytest.mark.parametrize("bad", [math.nan, math.inf, -math.inf])
@pytest.mark.parametrize("norm_type", [2.0, 1, "inf"])
def test_clip_grad_norm_nonfinite(bad, norm_type):
    grads = _grads()
    grads[1][2] = bad
    ours, theirs = _pairs(grads)
    with pytest.raises(RuntimeError) as got:
        U.clip_grad_norm_(ours, 1.0, norm_type, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as expected:
        TU.clip_grad_norm_(theirs, 1.0, norm_type, error_if_nonfinite=True)
    assert str(got.value) == str(expected.value)
    _same_grads(ours, theirs)  # nothing was scaled before the error
    # without the check, the gradients are scaled by the non-finite norm anyway
    _same_norm(U.clip_grad_norm_(ours, 1.0, norm_type), TU.clip_grad_norm_(theirs, 1.0, norm_type))
    _same_grads(ours, theirs)


@pytest.mark.parametrize("foreach", [None, True, False])
def test_foreach_flag_gives_the_same_numbers(foreach):
    ours, theirs = _pairs(_grads(scale=2.0))
    _same_norm(U.clip_grad_norm_(ours, 0.7, 3.5, foreach=foreach),
               TU.clip_grad_norm_(theirs, 0.7, 3.5, foreach=foreach))
    _same_grads(ours, theirs)
    U.clip_grad_value_(ours, 0.01, foreach=foreach)
    TU.clip_grad_value_(theirs, 0.01, foreach=foreach)
    _same_grads(ours, theirs)


@pytest.mark.parametrize("norm_type", ["inf", -math.inf])
def test_inf_norm_of_an_empty_gradient_raises_as_torch(norm_type):
    ours, theirs = _pairs([np.zeros(0, np.float32), np.ones(3, np.float32)])
    with pytest.raises(RuntimeError, match="empty tensor because the operation does not have an identity"):
        U.clip_grad_norm_(ours, 1.0, norm_type)
    with pytest.raises(RuntimeError, match="empty tensor because the operation does not have an identity"):
        TU.clip_grad_norm_(theirs, 1.0, norm_type)
    _same_norm(U.clip_grad_norm_(ours, 1.0, 2), TU.clip_grad_norm_(theirs, 1.0, 2))


def test_clip_grad_norm_leaves_no_graph():
    p = edunn.nn.Parameter(edunn.ones(3))
    p.grad = edunn.full((3,), 2.0, requires_grad=True)  # even a gradient that requires grad
    n = U.clip_grad_norm_(p, 1.0)
    assert not n.requires_grad and n.grad_fn is None


def test_clip_grad_norm_on_a_trained_module():
    """The common use: a backward through a small model, then clipping, then identical grads."""
    rng = np.random.default_rng(3)
    x = rng.standard_normal((8, 5)).astype(np.float32)
    ours = edunn.nn.Sequential(edunn.nn.Linear(5, 7), edunn.nn.Tanh(), edunn.nn.Linear(7, 2))
    theirs = torch.nn.Sequential(torch.nn.Linear(5, 7), torch.nn.Tanh(), torch.nn.Linear(7, 2))
    with torch.no_grad():
        for p, t in zip(ours.parameters(), theirs.parameters()):
            t.copy_(torch.tensor(p.detach().numpy()))
    (ours(edunn.tensor(x)) ** 2).sum().backward()
    (theirs(torch.tensor(x)) ** 2).sum().backward()
    _same_norm(U.clip_grad_norm_(ours.parameters(), 0.5), TU.clip_grad_norm_(theirs.parameters(), 0.5))
    _same_grads(list(ours.parameters()), list(theirs.parameters()), atol=1e-5)


# ---------------------------------------------------------- get_total_norm, clip_grads_with_norm_
@pytest.mark.parametrize("norm_type", [1, 2.0, 3.5, "inf"])
def test_get_total_norm_and_clip_grads_with_norm(norm_type):
    grads = _grads()
    n = U.get_total_norm([edunn.tensor(g) for g in grads], norm_type)
    m = TU.get_total_norm([torch.tensor(g) for g in grads], norm_type)
    _same_norm(n, m)
    flat = np.concatenate([g.astype(np.float64).ravel() for g in grads])  # the same, by definition
    np.testing.assert_allclose(n.item(), np.linalg.norm(flat, float(norm_type)), rtol=1e-5)
    _same_norm(U.get_total_norm(edunn.tensor(grads[0]), norm_type),
               TU.get_total_norm(torch.tensor(grads[0]), norm_type))
    _same_norm(U.get_total_norm([]), TU.get_total_norm([]))
    ours, theirs = _pairs(grads, without_grad=(2,))
    U.clip_grads_with_norm_(ours, 0.4, n)
    TU.clip_grads_with_norm_(theirs, 0.4, m)
    _same_grads(ours, theirs)
    U.clip_grads_with_norm_(ours[0], 100.0, n)  # coefficient above 1: clamped, nothing changes
    TU.clip_grads_with_norm_(theirs[0], 100.0, m)
    _same_grads(ours, theirs)


def test_get_total_norm_errors():
    t = [edunn.tensor([1.0, math.nan])]
    with pytest.raises(RuntimeError) as got:
        U.get_total_norm(t, error_if_nonfinite=True)
    with pytest.raises(RuntimeError) as expected:
        TU.get_total_norm([torch.tensor([1.0, math.nan])], error_if_nonfinite=True)
    assert str(got.value) == str(expected.value)
    assert math.isnan(U.get_total_norm(t).item())
    with pytest.raises(ValueError):  # float('two'), as PyTorch
        U.get_total_norm(t, "two")
    ours, _ = _pairs(_grads()[:1])
    with pytest.raises(TypeError, match="total_norm"):
        U.clip_grads_with_norm_(ours, 1.0, 2.0)


# ------------------------------------------------------------------------------- clip_grad_norm
def test_clip_grad_norm_is_deprecated_with_torchs_warning():
    ours, theirs = _pairs(_grads(scale=5.0))
    with pytest.warns(FutureWarning) as got:
        n = U.clip_grad_norm(ours, 1.0, 3.5)
    with pytest.warns(FutureWarning) as expected:
        m = TU.clip_grad_norm(theirs, 1.0, 3.5)
    assert str(got[0].message) == str(expected[0].message).replace("torch.", "edunn.")
    assert got[0].filename == __file__
    _same_norm(n, m)
    _same_grads(ours, theirs)


# ------------------------------------------------------------------------------ clip_grad_value_
@pytest.mark.parametrize("clip_value", [0.5, 2, 0.0, -0.3])
def test_clip_grad_value_matches_torch(clip_value, device):
    grads = _grads(scale=1.5)
    grads[0][0, 0] = math.nan  # NaN passes through the clamp in both
    ours, theirs = _pairs(grads, device, without_grad=(2,))
    assert U.clip_grad_value_(ours, clip_value) is None
    TU.clip_grad_value_(theirs, clip_value)
    _same_grads(ours, theirs)


def test_clip_grad_value_single_tensor_and_generator():
    ours, theirs = _pairs(_grads(scale=3.0))
    U.clip_grad_value_(ours[1], 0.2)
    TU.clip_grad_value_(theirs[1], 0.2)
    _same_grads(ours, theirs)
    U.clip_grad_value_((p for p in ours), 0.1)
    TU.clip_grad_value_((t for t in theirs), 0.1)
    _same_grads(ours, theirs)
    U.clip_grad_value_([], 0.1)
    with pytest.raises(TypeError):  # float(None), as PyTorch
        U.clip_grad_value_(ours, None)
    with pytest.raises(TypeError):
        TU.clip_grad_value_(theirs, None)


# ----------------------------------------------------------------------------- sparse gradients
def _sparse_embeddings():
    """An Embedding(sparse=True) in both libraries with one backward (a repeated index, so the
    gradient is uncoalesced), and a dense Linear beside it."""
    rng = np.random.default_rng(2)
    w = rng.standard_normal((10, 3)).astype(np.float32)
    idx = np.array([1, 4, 4, 7, 1, 1])
    up = rng.standard_normal((6, 3)).astype(np.float32)
    e = edunn.nn.Embedding(10, 3, sparse=True)
    te = torch.nn.Embedding(10, 3, sparse=True)
    with torch.no_grad():
        e.weight.data = edunn.tensor(w)
        te.weight.copy_(torch.tensor(w))
    (e(edunn.tensor(idx)) * edunn.tensor(up)).sum().backward()
    (te(torch.tensor(idx)) * torch.tensor(up)).sum().backward()
    assert e.weight.grad.is_sparse and te.weight.grad.is_sparse
    return e.weight, te.weight


@pytest.mark.parametrize("norm_type", [1, 2.0, 3.5, "inf", 0, -math.inf])
def test_sparse_gradient_norm_and_clip(norm_type):
    # PyTorch 2.13 has no sparse kernel for clip_grad_norm_; its reference is torch.norm of the
    # sparse gradient (and the dense gradient, clipped by torch).
    p, t = _sparse_embeddings()
    dense = torch.nn.Parameter(t.detach().clone())
    dense.grad = t.grad.to_dense()
    q, s = _pairs(_grads()[:2])
    expected_norm = TU.clip_grad_norm_([dense] + s, 0.5, norm_type)
    if norm_type not in (0, -math.inf):
        _same_norm(U.get_total_norm(p.grad, norm_type), torch.norm(t.grad, float(norm_type)))
    n = U.clip_grad_norm_([p] + q, 0.5, norm_type)
    _same_norm(n, expected_norm)
    assert p.grad.is_sparse
    assert_close(p.grad.to_dense(), dense.grad)
    _same_grads(q, s)


def test_sparse_gradient_clip_value():
    p, t = _sparse_embeddings()
    expected = t.grad.to_dense().clamp(-0.4, 0.4)
    U.clip_grad_value_(p, 0.4)
    assert p.grad.is_sparse and p.grad.is_coalesced()
    assert_close(p.grad.to_dense(), expected)
    with pytest.raises(RuntimeError, match="negative clip_value"):
        U.clip_grad_value_(p, -0.4)


# ------------------------------------------------------------- parameters_to_vector and back
def test_parameters_to_vector_matches_torch_with_gradients():
    ours, theirs = _pairs(_grads())
    v, w = U.parameters_to_vector(ours), TU.parameters_to_vector(theirs)
    assert_close(v, w.detach(), atol=0, rtol=0)
    assert v.dtype.name == str(w.dtype).replace("torch.", "") and v.shape == tuple(w.shape)
    c = np.linspace(-1, 1, v.numel())
    (v * edunn.tensor(c)).sum().backward()
    (w * torch.tensor(c)).sum().backward()
    _same_grads(ours, theirs)
    assert_close(U.parameters_to_vector(iter(ours[:1])), TU.parameters_to_vector(iter(theirs[:1])).detach())


def test_parameters_to_vector_gradcheck():
    rng = np.random.default_rng(4)
    a = edunn.tensor(rng.standard_normal((2, 3)), dtype=edunn.float64, requires_grad=True)
    b = edunn.tensor(rng.standard_normal(4), dtype=edunn.float64, requires_grad=True)
    assert gradcheck(lambda x, y: U.parameters_to_vector([x, y]) ** 2, (a, b))


def test_vector_round_trip_and_memory_sharing():
    ours, theirs = _pairs(_grads())
    ours, theirs = ours[::2], theirs[::2]  # float32 only
    vec = np.arange(sum(p.numel() for p in ours) + 3, dtype=np.float32)  # 3 spare elements
    v, w = edunn.tensor(vec), torch.tensor(vec)
    assert U.vector_to_parameters(v, ours) is None
    TU.vector_to_parameters(w, theirs)
    for p, t in zip(ours, theirs):
        assert isinstance(p, edunn.nn.Parameter) and p.requires_grad
        assert tuple(p.shape) == tuple(t.shape)
        assert_close(p, t.detach(), atol=0, rtol=0)
    assert_close(U.parameters_to_vector(ours), TU.parameters_to_vector(theirs).detach())
    # the parameters now view the vector, as in PyTorch
    v[0] = 100.0
    w[0] = 100.0
    assert ours[0][0, 0].item() == theirs[0][0, 0].item() == 100.0
    # a vector of another dtype gives the parameters its dtype (``.data`` assignment), as torch
    U.vector_to_parameters(v.double(), ours)
    TU.vector_to_parameters(w.double(), theirs)
    assert ours[0].dtype == edunn.float64 and theirs[0].dtype == torch.float64


def test_parameters_to_vector_errors_as_torch():
    ours, theirs = _pairs(_grads())
    with pytest.raises(ValueError, match="non-empty"):
        U.parameters_to_vector([])
    with pytest.raises(ValueError, match="non-empty"):
        TU.parameters_to_vector([])
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        U.parameters_to_vector([ours[0].t()])
    with pytest.raises(RuntimeError, match="view size is not compatible"):
        TU.parameters_to_vector([theirs[0].t()])
    for bad in ([1.0, 2.0], np.zeros(3), 3):
        with pytest.raises(TypeError) as got:
            U.vector_to_parameters(bad, ours)
        with pytest.raises(TypeError) as expected:
            TU.vector_to_parameters(bad, theirs)
        assert str(got.value) == str(expected.value).replace("torch.Tensor", "edunn.Tensor")
    with pytest.raises(RuntimeError, match="is invalid for input of size"):
        U.vector_to_parameters(edunn.zeros(4), ours)
    with pytest.raises(RuntimeError, match="is invalid for input of size"):
        TU.vector_to_parameters(torch.zeros(4), theirs)


@pytest.mark.gpu
def test_parameters_on_two_devices_are_refused():
    a = edunn.nn.Parameter(edunn.ones(3))
    b = edunn.nn.Parameter(edunn.ones(2, device="cuda"))
    for params in ([a, b], [b, a]):
        with pytest.raises(TypeError, match="Found two parameters on different devices"):
            U.parameters_to_vector(params)
        with pytest.raises(TypeError, match="Found two parameters on different devices"):
            U.vector_to_parameters(edunn.zeros(5), params)


def test_mixed_devices_in_clip_grad_norm(device):
    """Per-parameter norms are gathered on the first gradient's device, the coefficient is sent
    back to each gradient's (a CPU and a CUDA parameter together on a GPU machine)."""
    ours, theirs = _pairs(_grads(scale=4.0))
    if device == "cuda":  # the second parameter moves to the GPU, the first stays on the CPU
        ours[1] = edunn.nn.Parameter(ours[1].detach().to(device))
        ours[1].grad = edunn.tensor(theirs[1].grad.numpy(), device=device)
    _same_norm(U.clip_grad_norm_(ours, 1.0), TU.clip_grad_norm_(theirs, 1.0))
    _same_grads(ours, theirs)


# ------------------------------------------------------------------------------------ signatures
@pytest.mark.parametrize("name", NAMES)
def test_signature_matches_torch(name):
    ours = inspect.signature(getattr(U, name)).parameters
    theirs = inspect.signature(getattr(TU, name)).parameters
    assert list(ours) == list(theirs)
    for k in theirs:
        assert ours[k].kind == theirs[k].kind, k
        assert ours[k].default == theirs[k].default, k
    assert getattr(U, name).__doc__


def test_namespace():
    from edunn.nn.utils import clip_grad, convert_parameters
    assert set(clip_grad.__all__) >= set(TU.clip_grad.__all__)
    assert set(convert_parameters.__all__) == {"parameters_to_vector", "vector_to_parameters"}
    assert U.get_total_norm is clip_grad._get_total_norm
    assert U.clip_grads_with_norm_ is clip_grad._clip_grads_with_norm_
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        U.clip_grad_norm_([edunn.nn.Parameter(edunn.ones(2))], 1.0)  # no warning on normal use
