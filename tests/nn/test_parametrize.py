"""edunn.nn.utils.parametrize and parametrizations.orthogonal against torch: the class swap
(``Parametrized<Class>``), state_dict keys and values, named_parameters, repr, deepcopy, to(),
right_inverse (one and several tensors), chains, unsafe, caching, removal (leave_parametrized
both ways), transfer_parametrizations_and_params, training steps compared with torch's, every
orthogonal map (square, tall, wide, batched; with and without the trivialization), PyTorch's
errors, and signatures."""
import copy
import inspect
import pickle

import numpy as np
import pytest

import edunn
from edunn.nn.utils import parametrizations as PZ
from edunn.nn.utils import parametrize as P
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson03, needs_torch]

TP = torch.nn.utils.parametrize if torch is not None else None
TPZ = torch.nn.utils.parametrizations if torch is not None else None


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "cpu") and not isinstance(t, edunn.Tensor) \
        else t.detach().numpy()


def _linear_pair(n_in=4, n_out=4, dtype="float64", seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal((n_out, n_in)).astype(dtype)
    b = rng.standard_normal(n_out).astype(dtype)
    ours = edunn.nn.Linear(n_in, n_out, dtype=getattr(edunn, dtype))
    theirs = torch.nn.Linear(n_in, n_out, dtype=getattr(torch, dtype))
    with edunn.no_grad():
        ours.weight.copy_(edunn.tensor(w))
        ours.bias.copy_(edunn.tensor(b))
    with torch.no_grad():
        theirs.weight.copy_(torch.tensor(w))
        theirs.bias.copy_(torch.tensor(b))
    return ours, theirs


def _same_state(ours, theirs, atol=1e-6):
    o, t = ours.state_dict(), theirs.state_dict()
    assert list(o.keys()) == list(t.keys())
    for k in t:
        assert_close(o[k], t[k], atol=atol, rtol=1e-5, what=k)


def _load_torch_state(ours, theirs):
    ours.load_state_dict({k: edunn.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _sgd_steps(ours, theirs, n_in, steps=3, lr=0.1, atol=1e-6):
    """forward, backward and SGD steps on both; outputs, gradients and parameters must agree."""
    rng = np.random.default_rng(5)
    dtype = next(iter(theirs.parameters())).dtype
    opt_o = edunn.optim.SGD(ours.parameters(), lr=lr)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=lr)
    for _ in range(steps):
        x = rng.standard_normal((3, n_in))
        out_o = ours(edunn.tensor(x, dtype=getattr(edunn, str(dtype).split(".")[1])))
        out_t = theirs(torch.tensor(x, dtype=dtype))
        assert_close(out_o, out_t, atol=atol, what="output")
        (out_o ** 2).sum().backward()
        (out_t ** 2).sum().backward()
        names_t = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            assert_close(p.grad, names_t[name].grad, atol=atol * 10, what=f"grad of {name}")
        opt_o.step()
        opt_t.step()
        opt_o.zero_grad()
        opt_t.zero_grad()
    _same_state(ours, theirs, atol=atol * 10)


def _symmetric(nn):
    class Symmetric(nn.Module):
        def forward(self, X):
            return X.triu() + X.triu(1).T

        def right_inverse(self, A):
            return A.triu()
    return Symmetric()


def _halves(nn):
    """A parametrization of two tensors: weight = a + b, right_inverse gives (X/2, X/2)."""
    class Halves(nn.Module):
        def forward(self, a, b):
            return a + b

        def right_inverse(self, X):
            return X / 2, X / 2
    return Halves()


def _double(nn):
    class Double(nn.Module):
        def forward(self, X):
            return 2 * X

        def right_inverse(self, X):
            return X / 2
    return Double()


# --------------------------------------------------------------------------- register / class swap
def test_register_swaps_class_and_matches_torch():
    ours, theirs = _linear_pair()
    weight = ours.weight
    P.register_parametrization(ours, "weight", _symmetric(edunn.nn))
    TP.register_parametrization(theirs, "weight", _symmetric(torch.nn))
    assert type(ours).__name__ == "ParametrizedLinear" == type(theirs).__name__
    assert type(ours).__bases__ == (edunn.nn.Linear,)
    assert isinstance(ours, edunn.nn.Linear)
    assert P.type_before_parametrizations(ours) is edunn.nn.Linear
    assert P.is_parametrized(ours) and P.is_parametrized(ours, "weight")
    assert not P.is_parametrized(ours, "bias")
    assert isinstance(ours.parametrizations, edunn.nn.ModuleDict)
    assert isinstance(ours.parametrizations.weight, P.ParametrizationList)
    # the same Parameter object, now the original (an optimizer holding it keeps working)
    assert ours.parametrizations.weight.original is weight
    assert_close(ours.weight, theirs.weight, what="weight")
    assert_close(ours.weight, ours.weight.T)
    _same_state(ours, theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert repr(ours) == repr(theirs)
    assert "weight" not in ours._parameters


def test_assignment_calls_right_inverse():
    ours, theirs = _linear_pair()
    P.register_parametrization(ours, "weight", _symmetric(edunn.nn))
    TP.register_parametrization(theirs, "weight", _symmetric(torch.nn))
    A = np.random.default_rng(2).standard_normal((4, 4))
    A = A + A.T
    ours.weight = edunn.tensor(A)
    theirs.weight = torch.tensor(A)
    assert_close(ours.weight, A)
    _same_state(ours, theirs)


def test_training_steps_match_torch():
    ours, theirs = _linear_pair(dtype="float32")
    P.register_parametrization(ours, "weight", _symmetric(edunn.nn))
    TP.register_parametrization(theirs, "weight", _symmetric(torch.nn))
    _sgd_steps(ours, theirs, 4, atol=1e-5)
    assert_close(ours.weight, ours.weight.T)


def test_chain_unsafe_and_buffers():
    ours, theirs = _linear_pair()
    for mod, nn, reg in ((ours, edunn.nn, P), (theirs, torch.nn, TP)):
        reg.register_parametrization(mod, "weight", _symmetric(nn))
        reg.register_parametrization(mod, "weight", _double(nn))
    assert len(ours.parametrizations.weight) == 2
    _same_state(ours, theirs)
    assert_close(ours.weight, theirs.weight)
    ours.weight = edunn.tensor(np.eye(4) * 3)      # right_inverse through the whole chain
    theirs.weight = torch.tensor(np.eye(4) * 3)
    _same_state(ours, theirs)
    assert_close(ours.weight, np.eye(4) * 3)

    class Flatten(edunn.nn.Module):  # changes the shape: only with unsafe=True
        def forward(self, X):
            return X.reshape(-1)

    class TFlatten(torch.nn.Module):
        def forward(self, X):
            return X.reshape(-1)
    P.register_parametrization(ours, "weight", Flatten(), unsafe=True)
    TP.register_parametrization(theirs, "weight", TFlatten(), unsafe=True)
    assert ours.weight.shape == (16,) and ours.parametrizations.weight.unsafe
    # a buffer can be parametrized too; it stays a buffer
    for mod, nn, reg in ((ours, edunn.nn, P), (theirs, torch.nn, TP)):
        mod.register_buffer("scale", (edunn if nn is edunn.nn else torch).ones(3, dtype=(
            edunn if nn is edunn.nn else torch).float64))
        reg.register_parametrization(mod, "scale", _double(nn))
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert "parametrizations.scale.original" in dict(ours.named_buffers())
    assert_close(ours.scale, np.ones(3))  # right_inverse halved the original


def test_several_originals():
    ours, theirs = _linear_pair()
    P.register_parametrization(ours, "weight", _halves(edunn.nn))
    TP.register_parametrization(theirs, "weight", _halves(torch.nn))
    pl = ours.parametrizations.weight
    assert not pl.is_tensor and pl.ntensors == 2
    assert not hasattr(pl, "original")
    assert isinstance(pl.original0, edunn.nn.Parameter) and pl.original0.requires_grad
    _same_state(ours, theirs)
    assert [n for n, _ in ours.named_parameters()] == ["bias", "parametrizations.weight.original0",
                                                       "parametrizations.weight.original1"]
    ours.weight = edunn.ones(4, 4, dtype=edunn.float64)
    theirs.weight = torch.ones(4, 4, dtype=torch.float64)
    _same_state(ours, theirs)
    _sgd_steps(ours, theirs, 4)
    with pytest.raises(ValueError, match="Cannot leave unparametrized"):
        P.remove_parametrizations(ours, "weight", leave_parametrized=False)
    P.remove_parametrizations(ours, "weight")
    TP.remove_parametrizations(theirs, "weight")
    assert isinstance(ours.weight, edunn.nn.Parameter) and ours.weight.grad_fn is None
    _same_state(ours, theirs)


@pytest.mark.parametrize("leave", [True, False])
def test_remove_restores_plain_parameter(leave):
    ours, theirs = _linear_pair()
    weight = ours.weight
    P.register_parametrization(ours, "weight", _symmetric(edunn.nn))
    TP.register_parametrization(theirs, "weight", _symmetric(torch.nn))
    P.remove_parametrizations(ours, "weight", leave_parametrized=leave)
    TP.remove_parametrizations(theirs, "weight", leave_parametrized=leave)
    assert type(ours) is edunn.nn.Linear and not hasattr(ours, "parametrizations")
    assert ours.weight is weight and isinstance(ours.weight, edunn.nn.Parameter)
    assert not hasattr(edunn.nn.Linear, "weight")
    _same_state(ours, theirs)
    assert repr(ours) == repr(theirs)
    with pytest.raises(ValueError, match="does not have a parametrization on weight"):
        P.remove_parametrizations(ours, "weight")


def test_caching():
    calls = []

    class Counting(edunn.nn.Module):
        def forward(self, X):
            calls.append(1)
            return X * 1

    m = edunn.nn.Linear(3, 3)
    P.register_parametrization(m, "weight", Counting())
    calls.clear()
    a, b = m.weight, m.weight
    assert a is not b and len(calls) == 2
    with P.cached():
        with P.cached():   # nested: the cache lives until the outermost exits
            c = m.weight
        d = m.weight
        assert c is d and len(calls) == 3
    assert P._cache == {} and m.weight is not c


def test_deepcopy_to_and_pickle():
    ours, _ = _linear_pair()
    P.register_parametrization(ours, "weight", _symmetric(edunn.nn))
    twin = copy.deepcopy(ours)
    assert type(twin) is type(ours)
    assert twin.parametrizations.weight.original is not ours.parametrizations.weight.original
    assert_close(twin.weight, ours.weight)
    with edunn.no_grad():
        twin.parametrizations.weight.original.add_(1.0)
    assert not np.allclose(_np(twin.weight), _np(ours.weight))
    ours.to(edunn.float32)
    assert ours.weight.dtype == edunn.float32
    assert ours.parametrizations.weight.original.dtype == edunn.float32
    with pytest.raises(RuntimeError, match="Serialization of parametrized modules"):
        pickle.dumps(ours)


def test_transfer_parametrizations_and_params():
    ours, theirs = _linear_pair()
    P.register_parametrization(ours, "weight", _symmetric(edunn.nn))
    TP.register_parametrization(theirs, "weight", _symmetric(torch.nn))
    o2, t2 = edunn.nn.Linear(4, 4, dtype=edunn.float64), torch.nn.Linear(4, 4, dtype=torch.float64)
    with edunn.no_grad():
        o2.bias.copy_(edunn.tensor(theirs.bias.detach().numpy()))
    with torch.no_grad():
        t2.bias.copy_(theirs.bias)
    assert P.transfer_parametrizations_and_params(ours, o2) is o2
    TP.transfer_parametrizations_and_params(theirs, t2)
    assert o2.parametrizations.weight.original is ours.parametrizations.weight.original
    assert o2.parametrizations.weight[0] is ours.parametrizations.weight[0]
    _same_state(o2, t2)
    # a tensor missing from to_module is created; an unparametrized from_module does nothing
    plain = edunn.nn.Identity()
    P.transfer_parametrizations_and_params(ours, plain, "weight")
    assert_close(plain.weight, ours.weight)
    assert P.transfer_parametrizations_and_params(edunn.nn.Linear(2, 2), plain) is plain


def test_errors_match_torch():
    def both(fn_o, fn_t, exc):
        with pytest.raises(exc) as e_o:
            fn_o()
        with pytest.raises(exc) as e_t:
            fn_t()
        return str(e_o.value), str(e_t.value)

    ours, theirs = _linear_pair()
    msg_o, msg_t = both(lambda: P.register_parametrization(ours, "nope", _double(edunn.nn)),
                        lambda: TP.register_parametrization(theirs, "nope", _double(torch.nn)), ValueError)
    assert msg_o.startswith("Module 'Linear(") and msg_o.endswith("with name 'nope'")
    assert msg_o.split("'")[-2] == msg_t.split("'")[-2]

    def to_int(nn):
        class ToInt(nn.Module):
            def forward(self, X):
                return X.long()
        return ToInt()
    msg_o, msg_t = both(lambda: P.register_parametrization(ours, "weight", to_int(edunn.nn)),
                        lambda: TP.register_parametrization(theirs, "weight", to_int(torch.nn)), ValueError)
    assert msg_o.split("\n")[0] == msg_t.split("\n")[0]
    assert not P.is_parametrized(ours) and type(ours) is edunn.nn.Linear  # nothing changed

    class Row(edunn.nn.Module):
        def forward(self, X):
            return X[0]

    class TRow(torch.nn.Module):
        def forward(self, X):
            return X[0]
    msg_o, msg_t = both(lambda: P.register_parametrization(ours, "weight", Row()),
                        lambda: TP.register_parametrization(theirs, "weight", TRow()), ValueError)
    assert msg_o.split("\n")[0] == msg_t.split("\n")[0]

    class BadInverse(edunn.nn.Module):
        def forward(self, X):
            return X

        def right_inverse(self, X):
            return 3

    class TBadInverse(torch.nn.Module):
        def forward(self, X):
            return X

        def right_inverse(self, X):
            return 3
    msg_o, msg_t = both(lambda: P.register_parametrization(ours, "weight", BadInverse()),
                        lambda: TP.register_parametrization(theirs, "weight", TBadInverse()), ValueError)
    assert msg_o == msg_t
    # stacking a shape-changing parametrization on a parametrized tensor
    P.register_parametrization(ours, "weight", _double(edunn.nn))
    TP.register_parametrization(theirs, "weight", _double(torch.nn))
    msg_o, msg_t = both(lambda: P.register_parametrization(ours, "weight", Row()),
                        lambda: TP.register_parametrization(theirs, "weight", TRow()), ValueError)
    assert msg_o.split("\n")[0] == msg_t.split("\n")[0]
    # assigning through a parametrization without right_inverse
    P.register_parametrization(ours, "bias", to_int(edunn.nn), unsafe=True)
    TP.register_parametrization(theirs, "bias", to_int(torch.nn), unsafe=True)
    msg_o, msg_t = both(lambda: setattr(ours, "bias", edunn.zeros(4)),
                        lambda: setattr(theirs, "bias", torch.zeros(4)), RuntimeError)
    assert msg_o == msg_t
    with pytest.raises(ValueError, match="requires one or more modules"):
        P.ParametrizationList([], edunn.zeros(2))


# --------------------------------------------------------------------------- orthogonal
def _orth_pair(shape, seed=0):
    rng = np.random.default_rng(seed)
    w = rng.standard_normal(shape)

    def holder(nn, lib):
        class Holder(nn.Module):
            def __init__(self):
                super().__init__()
                self.weight = nn.Parameter(lib.tensor(w))

            def forward(self, x):
                return x @ self.weight.mT
        return Holder()
    return holder(edunn.nn, edunn), holder(torch.nn, torch)


def _assert_orthogonal(Q):
    q = _np(Q)
    n, k = q.shape[-2:]
    if n < k:
        q = np.swapaxes(q, -1, -2)
        n, k = k, n
    np.testing.assert_allclose(np.swapaxes(q, -1, -2) @ q, np.broadcast_to(np.eye(k), q.shape[:-2] + (k, k)),
                               atol=1e-10)


ORTH_CASES = [(m, shape, triv) for m in ("matrix_exp", "cayley", "householder")
              for shape in ((4, 4), (5, 3), (3, 5), (2, 4, 3)) for triv in (True, False)]


@pytest.mark.parametrize("orth_map,shape,triv", ORTH_CASES)
def test_orthogonal_matches_torch(orth_map, shape, triv):
    ours, theirs = _orth_pair(shape)
    PZ.orthogonal(ours, orthogonal_map=orth_map, use_trivialization=triv)
    TPZ.orthogonal(theirs, orthogonal_map=orth_map, use_trivialization=triv)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    if triv or orth_map == "householder":
        _assert_orthogonal(ours.weight)
    # with the trivialization, a wide/tall base is completed by random columns: copy torch's
    _load_torch_state(ours, theirs)
    assert_close(ours.weight, theirs.weight, atol=1e-10, what="weight")
    _sgd_steps(ours, theirs, shape[-1], steps=2, lr=0.05, atol=1e-9)
    if triv or orth_map == "householder":
        _assert_orthogonal(ours.weight)


@pytest.mark.parametrize("orth_map", ["matrix_exp", "cayley", "householder"])
def test_orthogonal_assignment(orth_map):
    ours, theirs = _orth_pair((5, 3))
    PZ.orthogonal(ours, orthogonal_map=orth_map)
    TPZ.orthogonal(theirs, orthogonal_map=orth_map)
    q = np.linalg.qr(np.random.default_rng(3).standard_normal((5, 3)))[0]
    ours.weight = edunn.tensor(q)       # an orthogonal matrix is kept as it is
    theirs.weight = torch.tensor(q)
    assert_close(ours.weight, q, atol=1e-10)
    assert_close(theirs.weight, q, atol=1e-10)
    a = np.random.default_rng(4).standard_normal((5, 3))
    ours.weight = edunn.tensor(a)       # anything else is orthogonalized by QR
    theirs.weight = torch.tensor(a)
    assert_close(ours.weight, theirs.weight, atol=1e-10)
    # without the trivialization only Householder can be assigned to
    o2, t2 = _orth_pair((3, 5))
    PZ.orthogonal(o2, orthogonal_map=orth_map, use_trivialization=False)
    TPZ.orthogonal(t2, orthogonal_map=orth_map, use_trivialization=False)
    _load_torch_state(o2, t2)
    if orth_map == "householder":
        o2.weight = edunn.tensor(a.T)
        t2.weight = torch.tensor(a.T)
        _same_state(o2, t2, atol=1e-10)
        assert_close(o2.weight, t2.weight, atol=1e-10)
    else:
        with pytest.raises(NotImplementedError, match="not possible to assign"):
            o2.weight = edunn.tensor(a.T)


def test_orthogonal_defaults_and_errors():
    sq, _ = _orth_pair((3, 3))
    tall, _ = _orth_pair((4, 2))
    PZ.orthogonal(sq)
    PZ.orthogonal(tall)
    assert sq.parametrizations.weight[0].orthogonal_map.name == "matrix_exp"
    assert tall.parametrizations.weight[0].orthogonal_map.name == "householder"
    assert hasattr(sq.parametrizations.weight[0], "base")
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'bias'"):
        PZ.orthogonal(edunn.nn.Identity(), "bias")
    with pytest.raises(ValueError, match="Expected a matrix or batch of matrices. Got a tensor of 1 dimensions."):
        PZ.orthogonal(edunn.nn.Linear(3, 3), "bias")
    with pytest.raises(ValueError, match='orthogonal_map has to be one of "matrix_exp", "cayley", '
                                         '"householder". Got: qr'):
        PZ.orthogonal(edunn.nn.Linear(3, 3), orthogonal_map="qr")
    with pytest.raises(ValueError, match=r"Expected a matrix or batch of matrices of shape"):
        sq.weight = edunn.zeros(2, 2, dtype=edunn.float64)


# --------------------------------------------------------------------------- API
@pytest.mark.parametrize("mod,name", [("parametrize", n) for n in
                                      ["cached", "register_parametrization", "is_parametrized",
                                       "remove_parametrizations", "type_before_parametrizations",
                                       "transfer_parametrizations_and_params"]]
                         + [("parametrizations", n) for n in ["orthogonal", "spectral_norm", "weight_norm"]])
def test_signature_matches_torch(mod, name):
    ours = getattr(getattr(edunn.nn.utils, mod), name)
    theirs = getattr(getattr(torch.nn.utils, mod), name)
    o, t = inspect.signature(ours).parameters, inspect.signature(theirs).parameters
    assert list(o) == list(t)
    for k in t:
        assert o[k].kind == t[k].kind and o[k].default == t[k].default, k
    assert ours.__doc__


def test_namespaces():
    assert set(P.__all__) == set(TP.__all__)
    assert set(PZ.__all__) == set(TPZ.__all__)
    o = inspect.signature(P.ParametrizationList.__init__).parameters
    t = inspect.signature(TP.ParametrizationList.__init__).parameters
    assert list(o) == list(t) and all(o[k].default == t[k].default for k in t)


# --------------------------------------------------------------------------- gradients and devices
@pytest.mark.parametrize("orth_map", ["matrix_exp", "cayley", "householder"])
@pytest.mark.parametrize("shape", [(3, 3), (4, 2), (2, 4)])
def test_orthogonal_gradcheck(orth_map, shape, device):
    """The parametrization's forward against finite differences (float64), with a base."""
    ours, _ = _orth_pair(shape)
    ours.to(device)
    PZ.orthogonal(ours, orthogonal_map=orth_map)
    orth = ours.parametrizations.weight[0]
    X = ours.parametrizations.weight.original.detach() + 0.1 * edunn.randn(*shape, dtype=edunn.float64,
                                                                          device=device)
    X.requires_grad_(True)
    assert edunn.autograd.gradcheck(orth, (X,))


def test_parametrized_module_on_device(device):
    """A parametrized module moved with .to(device) computes what it computes on the CPU."""
    ours, _ = _linear_pair(4, 3)
    PZ.orthogonal(ours, "weight")
    P.register_parametrization(ours, "weight", _double(edunn.nn))
    P.register_parametrization(ours, "bias", _halves(edunn.nn))
    twin = copy.deepcopy(ours).to(device)
    assert twin.parametrizations.weight[0].base.device.type == device
    x = np.random.default_rng(0).standard_normal((2, 4))
    out = twin(edunn.tensor(x, device=device))
    assert out.device.type == device
    assert_close(out.cpu(), ours(edunn.tensor(x)), atol=1e-10)
    out.sum().backward()
    assert twin.parametrizations.bias.original0.grad.device.type == device
    assert twin.parametrizations.weight.original.grad.device.type == device
