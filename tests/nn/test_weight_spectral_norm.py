"""Weight and spectral normalization against torch, in both forms: the parametrizations
(edunn.nn.utils.parametrizations.weight_norm / spectral_norm: original0/original1, _u/_v buffers
and power iterations, train/eval, dims, ConvTranspose, 1-d weights, loading an old-style
state_dict) and the old forward pre-hooks (edunn.nn.utils.weight_norm / spectral_norm and their
remove_*: weight_g/weight_v, weight_orig/weight_u/weight_v, the FutureWarning, state_dict keys
and spectral_norm metadata, version-0 checkpoints).  Initial u/v are copied from torch so that
the power iterations can be compared step by step; gradients through norm_except_dim are
checked by finite differences; PyTorch's errors and signatures."""
import inspect
import warnings

import numpy as np
import pytest

import edunn
from edunn.autograd import gradcheck
from edunn.nn import utils as U
from edunn.nn.utils import parametrizations as PZ
from edunn.nn.utils import parametrize as P
from edunn.nn.utils.weight_norm import _weight_norm, norm_except_dim
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson11, needs_torch]

TU = torch.nn.utils if torch is not None else None


def _pair(kind, args, dtype="float64", seed=0):
    """The same layer in edunn and torch, with the same parameters."""
    ours = getattr(edunn.nn, kind)(*args, dtype=getattr(edunn, dtype))
    theirs = getattr(torch.nn, kind)(*args, dtype=getattr(torch, dtype))
    rng = np.random.default_rng(seed)
    for (name, p), (_, q) in zip(ours.named_parameters(), theirs.named_parameters()):
        w = rng.standard_normal(tuple(q.shape)).astype(dtype)
        with edunn.no_grad():
            p.copy_(edunn.tensor(w))
        with torch.no_grad():
            q.copy_(torch.tensor(w))
    return ours, theirs


def _load_torch_state(ours, theirs):
    ours.load_state_dict({k: edunn.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()})


def _same_state(ours, theirs, atol=1e-8):
    o, t = ours.state_dict(), theirs.state_dict()
    assert list(o.keys()) == list(t.keys())
    for k in t:
        assert_close(o[k], t[k], atol=atol, rtol=1e-6, what=k)


def _input(theirs, kind, args, seed=1):
    rng = np.random.default_rng(seed)
    if kind == "Linear":
        shape = (3, args[0])
    else:
        shape = (2, args[0]) + (5,) * int(kind[-2])
    x = rng.standard_normal(shape)
    return edunn.tensor(x), torch.tensor(x)


def _steps(ours, theirs, kind, args, steps=3, atol=1e-8):
    opt_o = edunn.optim.SGD(ours.parameters(), lr=0.1)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1)
    for i in range(steps):
        xo, xt = _input(theirs, kind, args, seed=i)
        out_o, out_t = ours(xo), theirs(xt)
        assert_close(out_o, out_t, atol=atol, rtol=1e-6, what=f"output {i}")
        out_o.pow(2).sum().backward()
        out_t.pow(2).sum().backward()
        grads_t = dict(theirs.named_parameters())
        for name, p in ours.named_parameters():
            assert_close(p.grad, grads_t[name].grad, atol=atol * 10, rtol=1e-6, what=f"grad {name}")
        opt_o.step()
        opt_t.step()
        opt_o.zero_grad()
        opt_t.zero_grad()
        _same_state(ours, theirs, atol=atol * 10)


LAYERS = [("Linear", (4, 3)), ("Conv1d", (2, 3, 3)), ("Conv2d", (2, 3, 2)), ("ConvTranspose2d", (2, 3, 2))]


# --------------------------------------------------------------------------- formulas
@pytest.mark.parametrize("dim", [0, 1, 2, -1, -2, -3])
def test_norm_except_dim_and_gradcheck(dim):
    v = np.random.default_rng(0).standard_normal((3, 4, 5))
    assert_close(norm_except_dim(edunn.tensor(v), 2, dim), torch.norm_except_dim(torch.tensor(v), 2, dim),
                 atol=1e-12)
    g = norm_except_dim(edunn.tensor(v), 2, dim) * 1.5
    assert_close(_weight_norm(edunn.tensor(v), g, dim),
                 torch._weight_norm(torch.tensor(v), torch.tensor(g.numpy()), dim), atol=1e-12)
    vv = edunn.tensor(v, requires_grad=True)
    gg = edunn.tensor(g.numpy(), requires_grad=True)
    assert gradcheck(lambda a, b: _weight_norm(a, b, dim), (vv, gg))


# --------------------------------------------------------------------------- parametrizations.weight_norm
@pytest.mark.parametrize("kind,args", LAYERS)
@pytest.mark.parametrize("dim", [0, 1, None])
def test_weight_norm_parametrization(kind, args, dim):
    ours, theirs = _pair(kind, args)
    PZ.weight_norm(ours, dim=dim)
    TU.parametrizations.weight_norm(theirs, dim=dim)
    assert repr(ours) == repr(theirs)
    _same_state(ours, theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert_close(ours.weight, theirs.weight, atol=1e-12)
    _steps(ours, theirs, kind, args)
    P.remove_parametrizations(ours, "weight")
    TU.parametrize.remove_parametrizations(theirs, "weight")
    assert type(ours) is getattr(edunn.nn, kind)
    _same_state(ours, theirs)


def test_weight_norm_parametrization_loads_old_state_dict():
    ours, theirs = _pair("Linear", (4, 3))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        TU.weight_norm(theirs)               # old form: weight_g, weight_v
    old = {k: edunn.tensor(v.detach().numpy()) for k, v in theirs.state_dict().items()}
    assert set(old) == {"bias", "weight_g", "weight_v"}
    PZ.weight_norm(ours)
    ours.load_state_dict(old)
    assert_close(ours.parametrizations.weight.original0, theirs.weight_g, atol=1e-12)
    assert_close(ours.parametrizations.weight.original1, theirs.weight_v, atol=1e-12)


# --------------------------------------------------------------------------- parametrizations.spectral_norm
@pytest.mark.parametrize("kind,args", LAYERS)
@pytest.mark.parametrize("n_iter", [1, 3])
def test_spectral_norm_parametrization(kind, args, n_iter):
    ours, theirs = _pair(kind, args)
    PZ.spectral_norm(ours, n_power_iterations=n_iter)
    TU.parametrizations.spectral_norm(theirs, n_power_iterations=n_iter)
    assert repr(ours) == repr(theirs)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    sn = ours.parametrizations.weight[0]
    assert sn.dim == (1 if kind.startswith("ConvTranspose") else 0)
    # 15 power iterations from a random start already give the top singular vectors
    w = theirs.parametrizations.weight.original.detach().numpy()
    mat = np.moveaxis(w, sn.dim, 0).reshape(w.shape[sn.dim], -1)
    s = np.linalg.svd(mat, compute_uv=False)
    u, v = sn._u.numpy(), sn._v.numpy()
    assert abs(u @ mat @ v) == pytest.approx(s[0], rel=1e-2)
    # from torch's u and v on, every power iteration and training step must agree
    _load_torch_state(ours, theirs)
    assert_close(ours.weight, theirs.weight, atol=1e-10)   # train mode: one more iteration each
    _same_state(ours, theirs)
    _steps(ours, theirs, kind, args)
    ours.eval()
    theirs.eval()
    before = ours.parametrizations.weight[0]._u.numpy().copy()
    assert_close(ours.weight, theirs.weight, atol=1e-10)
    np.testing.assert_array_equal(ours.parametrizations.weight[0]._u.numpy(), before)  # frozen in eval
    _same_state(ours, theirs)


def test_spectral_norm_parametrization_sigma_and_vectors():
    ours, theirs = _pair("Linear", (6, 5))
    PZ.spectral_norm(ours)
    with edunn.no_grad():
        for _ in range(30):
            w = ours.weight
    assert np.linalg.norm(w.numpy(), 2) == pytest.approx(1.0, rel=1e-6)
    # a 1-d tensor is just normalized; dim=-1 is the last dimension
    b, tb = edunn.nn.Linear(3, 4, dtype=edunn.float64), torch.nn.Linear(3, 4, dtype=torch.float64)
    with edunn.no_grad():
        b.bias.copy_(edunn.tensor(tb.bias.detach().numpy()))
    PZ.spectral_norm(b, "bias")
    TU.parametrizations.spectral_norm(tb, "bias")
    assert list(b.state_dict()) == list(tb.state_dict()) == ["weight", "parametrizations.bias.original"]
    assert_close(b.bias, tb.bias, atol=1e-12)
    c = edunn.nn.Linear(3, 4)
    PZ.spectral_norm(c, dim=-1)
    assert c.parametrizations.weight[0].dim == 1 and c.parametrizations.weight[0]._u.shape == (3,)


def test_spectral_norm_parametrization_errors():
    with pytest.raises(IndexError, match=r"Dimension out of range \(expected to be in range of \[-2, 1\] but got 2\)"):
        PZ.spectral_norm(edunn.nn.Linear(3, 4), dim=2)
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive, but got n_power_iterations=0"):
        PZ.spectral_norm(edunn.nn.Linear(3, 4), n_power_iterations=0)
    with pytest.raises(ValueError, match="has no parameter or buffer with name 'kernel'"):
        PZ.spectral_norm(edunn.nn.Linear(3, 4), "kernel")


# --------------------------------------------------------------------------- old-style weight_norm
@pytest.mark.parametrize("kind,args", LAYERS[:3])
@pytest.mark.parametrize("dim", [0, None])
def test_old_weight_norm(kind, args, dim):
    ours, theirs = _pair(kind, args)
    with pytest.warns(FutureWarning, match="`torch.nn.utils.weight_norm` is deprecated in favor of "
                                           "`torch.nn.utils.parametrizations.weight_norm`."):
        assert U.weight_norm(ours, dim=dim) is ours
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        TU.weight_norm(theirs, dim=dim)
    assert type(ours) is getattr(edunn.nn, kind)
    assert repr(ours) == repr(theirs)
    _same_state(ours, theirs)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert "weight" not in ours._parameters and isinstance(ours.weight, edunn.Tensor)
    _steps(ours, theirs, kind, args)
    with pytest.warns(FutureWarning), \
            pytest.raises(RuntimeError, match="Cannot register two weight_norm hooks on the same parameter weight"):
        U.weight_norm(ours)
    U.remove_weight_norm(ours)
    TU.remove_weight_norm(theirs)
    assert isinstance(ours.weight, edunn.nn.Parameter) and not ours._forward_pre_hooks
    _same_state(ours, theirs)
    with pytest.raises(ValueError, match="weight_norm of 'weight' not found in"):
        U.remove_weight_norm(ours)


# --------------------------------------------------------------------------- old-style spectral_norm
@pytest.mark.parametrize("kind,args", LAYERS)
def test_old_spectral_norm(kind, args):
    ours, theirs = _pair(kind, args)
    with warnings.catch_warnings():
        warnings.simplefilter("error")           # no deprecation warning in 2.13
        assert U.spectral_norm(ours, n_power_iterations=2) is ours
    TU.spectral_norm(theirs, n_power_iterations=2)
    assert list(ours.state_dict()) == list(theirs.state_dict())
    assert ours.state_dict()._metadata == theirs.state_dict()._metadata
    hook = next(iter(ours._forward_pre_hooks.values()))
    assert hook.dim == (1 if kind.startswith("ConvTranspose") else 0)
    _load_torch_state(ours, theirs)              # torch's random u and v
    # before the first forward, module.weight is the raw weight
    assert_close(ours.weight, theirs.weight, atol=1e-12)
    _steps(ours, theirs, kind, args)
    ours.eval()
    theirs.eval()
    u_before = ours.weight_u.numpy().copy()
    xo, xt = _input(theirs, kind, args)
    assert_close(ours(xo), theirs(xt), atol=1e-8)
    np.testing.assert_array_equal(ours.weight_u.numpy(), u_before)
    with pytest.raises(RuntimeError, match="Cannot register two spectral_norm hooks on the same parameter weight"):
        U.spectral_norm(ours)
    U.remove_spectral_norm(ours)
    TU.remove_spectral_norm(theirs)
    assert isinstance(ours.weight, edunn.nn.Parameter)
    assert not ours._forward_pre_hooks and not ours._state_dict_hooks and not ours._load_state_dict_pre_hooks
    _same_state(ours, theirs)
    with pytest.raises(ValueError, match="spectral_norm of 'weight' not found in"):
        U.remove_spectral_norm(ours)


def test_old_spectral_norm_version0_checkpoint():
    """A version-0 checkpoint (weight and weight_orig, no weight_v) is converted on load."""
    ours, theirs = _pair("Linear", (4, 3))
    U.spectral_norm(ours)
    TU.spectral_norm(theirs)
    _load_torch_state(ours, theirs)
    theirs(torch.zeros(1, 4, dtype=torch.float64))
    sd = theirs.state_dict()
    v0 = {k: v for k, v in sd.items() if k != "weight_v"}
    v0["weight"] = theirs.weight.detach()
    meta_free = dict(v0)          # no metadata: treated as version 0
    theirs.load_state_dict(meta_free)
    ours.load_state_dict({k: edunn.tensor(v.detach().numpy()) for k, v in meta_free.items()})
    assert_close(ours.weight_v, theirs.weight_v, atol=1e-8)
    # version-0 checkpoint missing weight_orig: reported as missing
    with pytest.raises(RuntimeError, match='Missing key\\(s\\) in state_dict: "weight_orig"'):
        ours.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in meta_free.items() if k != "weight_orig"})


def test_old_spectral_norm_errors():
    lin = edunn.nn.Linear(3, 2, bias=False)
    with pytest.raises(ValueError, match="Expected n_power_iterations to be positive, but got n_power_iterations=0"):
        U.spectral_norm(lin, n_power_iterations=0)
    with pytest.raises(ValueError, match="`SpectralNorm` cannot be applied as parameter `bias` is None"):
        U.spectral_norm(lin, "bias")
    with pytest.raises(ValueError, match="can't have uninitialized parameters"):
        U.spectral_norm(edunn.nn.LazyLinear(2))
    with pytest.warns(FutureWarning), pytest.raises(ValueError, match="can't have uninitialized parameters"):
        U.weight_norm(edunn.nn.LazyLinear(2))


# --------------------------------------------------------------------------- devices
def test_norms_on_device(device):
    """Each normalization on a module moved to ``device`` computes what it does on the CPU,
    the power-iteration buffers included."""
    import copy
    x = np.random.default_rng(0).standard_normal((3, 4))
    for apply in (PZ.weight_norm, PZ.spectral_norm, U.spectral_norm):
        ours, _ = _pair("Linear", (4, 3))
        apply(ours)
        twin = copy.deepcopy(ours).to(device)
        for _ in range(2):
            out = twin(edunn.tensor(x, device=device))
            assert_close(out.cpu(), ours(edunn.tensor(x)), atol=1e-10, what=apply.__module__)
        out.sum().backward()
        _same_state(twin, ours, atol=1e-10) if device == "cpu" else None
        for (name, p), (_, q) in zip(twin.state_dict().items(), ours.state_dict().items()):
            assert p.device.type == device
            assert_close(p.cpu(), q, atol=1e-10, what=name)
    with pytest.warns(FutureWarning):
        old = U.weight_norm(edunn.nn.Linear(4, 3, dtype=edunn.float64).to(device))
    assert old(edunn.tensor(x, device=device)).device.type == device


# --------------------------------------------------------------------------- API
@pytest.mark.parametrize("name", ["weight_norm", "remove_weight_norm", "spectral_norm", "remove_spectral_norm"])
def test_signature_matches_torch(name):
    o = inspect.signature(getattr(U, name)).parameters
    t = inspect.signature(getattr(TU, name)).parameters
    assert list(o) == list(t)
    for k in t:
        assert o[k].kind == t[k].kind and o[k].default == t[k].default, k
    assert getattr(U, name).__doc__


def test_module_namespaces():
    import importlib
    for mod in ("weight_norm", "spectral_norm"):
        ours = importlib.import_module(f"edunn.nn.utils.{mod}")
        theirs = importlib.import_module(f"torch.nn.utils.{mod}")
        assert set(ours.__all__) == set(theirs.__all__)
