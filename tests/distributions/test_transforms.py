"""edunn.distributions.transforms, constraint_registry and the new constraints against torch's:
forward / inverse / log_abs_det_jacobian values and gradients on the same inputs, gradcheck,
caching, composition, shapes, attributes, reprs and errors; biject_to/transform_to land in the
constraint; constraints' checks and reprs."""
import inspect

import numpy as np
import pytest

import edunn
import edunn.distributions as D
from edunn.autograd import gradcheck
from edunn.distributions import constraints as C
from edunn.distributions import transforms as ET
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch
if torch is not None:
    from torch.distributions import constraints as TC
    from torch.distributions import transforms as TT

rng = np.random.RandomState(0)
TOL = dict(atol=1e-10, rtol=1e-9)


def _lib(T):
    return edunn if T is ET else torch


def _affine_tensor(T):
    t = _lib(T).tensor
    return T.AffineTransform(t([0.5, -1.0, 2.0, 0.0], dtype=_lib(T).float64),
                             t([2.0, -0.5, 1.5, 3.0], dtype=_lib(T).float64))


def _power(T):
    return T.PowerTransform(_lib(T).tensor([0.5, 2.0, -1.5, 3.0], dtype=_lib(T).float64))


def _cdf(T):
    L = D if T is ET else torch.distributions
    return T.CumulativeDistributionTransform(L.Normal(0.3, 1.7))


# (name, make(transforms module), input array) -- inputs are in the transform's domain
CASES = [
    ("Exp", lambda T: T.ExpTransform(), rng.normal(size=(3, 4))),
    ("Sigmoid", lambda T: T.SigmoidTransform(), rng.normal(size=(3, 4)) * 3),
    ("Softplus", lambda T: T.SoftplusTransform(), rng.normal(size=(3, 4)) * 3),
    ("Tanh", lambda T: T.TanhTransform(), rng.normal(size=(3, 4))),
    ("Abs", lambda T: T.AbsTransform(), rng.normal(size=(3, 4))),
    ("Affine_numbers", lambda T: T.AffineTransform(1.0, -2.0), rng.normal(size=(3, 4))),
    ("Affine_tensors", _affine_tensor, rng.normal(size=(3, 4))),
    ("Affine_event_dim", lambda T: T.AffineTransform(0.5, 3.0, event_dim=1), rng.normal(size=(3, 4))),
    ("Power", _power, rng.uniform(0.5, 2.0, size=(3, 4))),
    ("Softmax", lambda T: T.SoftmaxTransform(), rng.normal(size=(3, 4))),
    ("StickBreaking", lambda T: T.StickBreakingTransform(), rng.normal(size=(3, 4))),
    ("CorrCholesky", lambda T: T.CorrCholeskyTransform(), rng.normal(size=(2, 6))),
    ("LowerCholesky", lambda T: T.LowerCholeskyTransform(), rng.normal(size=(2, 3, 3))),
    ("PositiveDefinite", lambda T: T.PositiveDefiniteTransform(), rng.normal(size=(2, 3, 3))),
    ("Reshape", lambda T: T.ReshapeTransform((4,), (2, 2)), rng.normal(size=(3, 4))),
    ("Independent", lambda T: T.IndependentTransform(T.SigmoidTransform(), 1), rng.normal(size=(3, 4))),
    ("Compose", lambda T: T.ComposeTransform([T.AffineTransform(0.1, 2.0), T.StickBreakingTransform(),
                                              T.AffineTransform(0.0, 3.0)]), rng.normal(size=(3, 4))),
    ("Compose_empty", lambda T: T.identity_transform, rng.normal(size=(3, 4))),
    ("Inverse_Exp", lambda T: T.ExpTransform().inv, rng.uniform(0.5, 2.0, size=(3, 4))),
    ("Cat", lambda T: T.CatTransform([T.ExpTransform(), T.identity_transform, T.SigmoidTransform()],
                                     dim=1, lengths=[1, 2, 1]), rng.normal(size=(3, 4))),
    ("Cat_batch_dim", lambda T: T.CatTransform([T.ExpTransform(), T.TanhTransform()], dim=0, lengths=[2, 1]),
     rng.normal(size=(3, 4))),
    ("Stack", lambda T: T.StackTransform([T.ExpTransform(), T.SigmoidTransform(), T.TanhTransform(),
                                          T.AffineTransform(1.0, 2.0)], dim=1), rng.normal(size=(3, 4))),
    ("CumulativeDistribution", _cdf, rng.normal(size=(3, 4))),
]
IDS = [c[0] for c in CASES]


def _run(T, make, array, requires_grad=True):
    lib = _lib(T)
    x = lib.tensor(array, dtype=lib.float64, requires_grad=requires_grad)
    t = make(T)
    y = t(x)
    x_back = t.inv(y.detach())
    try:
        ladj = t.log_abs_det_jacobian(x, y)
    except NotImplementedError:
        ladj = None
    return t, x, y, x_back, ladj


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_forward_inverse_logdet(case):
    name, make, array = case
    te, xe, ye, be, le = _run(ET, make, array)
    tt, xt, yt, bt, lt = _run(TT, make, array)
    assert_close(ye, yt, what=f"{name} forward", **TOL)
    assert_close(be, bt, what=f"{name} inverse", **TOL)
    assert (le is None) == (lt is None), f"{name}: log_abs_det_jacobian exists in one library only"
    if lt is not None:
        assert tuple(le.shape) == tuple(lt.shape)
        assert_close(le, lt, what=f"{name} log_abs_det_jacobian", **TOL)
    # gradients of the forward map and of the log-det with respect to the input
    w = rng.normal(size=tuple(yt.shape))
    out_t = (yt * torch.tensor(w)).sum() + (lt.sum() if lt is not None else 0)
    out_e = (ye * edunn.tensor(w)).sum() + (le.sum() if le is not None else 0)
    out_t.backward()
    out_e.backward()
    assert_close(xe.grad, xt.grad, what=f"{name} d/dx", atol=1e-9, rtol=1e-8)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_attributes(case):
    name, make, _ = case
    te, tt = make(ET), make(TT)
    assert te.bijective == tt.bijective
    for attr in ("domain", "codomain"):
        ce, ct = getattr(te, attr), getattr(tt, attr)
        assert repr(ce).split("(")[0] == repr(ct).split("(")[0], (repr(ce), repr(ct))
        assert ce.event_dim == ct.event_dim
        assert ce.is_discrete == ct.is_discrete
    for attr in ("event_dim", "sign"):
        try:
            vt = getattr(tt, attr)
        except (NotImplementedError, ValueError) as e:
            with pytest.raises(type(e)):
                getattr(te, attr)
            continue
        ve = getattr(te, attr)
        if isinstance(vt, torch.Tensor):
            assert_close(ve, vt)
        else:
            assert ve == vt
    assert repr(te) == repr(tt)
    assert te.inv.inv is te
    shape = (5, 3, 4) if name not in ("CorrCholesky", "LowerCholesky", "PositiveDefinite") else (5, 2, 6)
    if name in ("LowerCholesky", "PositiveDefinite"):
        shape = (5, 3, 3)
    assert tuple(te.forward_shape(edunn.Size(shape))) == tuple(tt.forward_shape(torch.Size(shape)))
    out = tuple(tt.forward_shape(torch.Size(shape)))
    assert tuple(te.inverse_shape(edunn.Size(out))) == tuple(tt.inverse_shape(torch.Size(out)))


GRADCHECK = ["Exp", "Sigmoid", "Softplus", "Tanh", "Affine_tensors", "Power", "Softmax", "StickBreaking",
             "CorrCholesky", "LowerCholesky", "PositiveDefinite", "Compose", "Cat", "Stack", "CumulativeDistribution"]


@pytest.mark.parametrize("name", GRADCHECK)
def test_gradcheck(name):
    make, array = next((c[1], c[2]) for c in CASES if c[0] == name)
    t = make(ET)
    x = edunn.tensor(array[:2], dtype=edunn.float64, requires_grad=True)
    assert gradcheck(lambda x: t(x), (x,))
    if name not in ("Softmax", "LowerCholesky", "PositiveDefinite"):
        assert gradcheck(lambda x: t.log_abs_det_jacobian(x, t(x)), (x,))
    y = t(x).detach().requires_grad_()
    # (cholesky reads only the lower triangle, so a non-symmetric perturbation of a positive
    # definite y is not a fair finite difference)
    if name not in ("Softmax", "PositiveDefinite"):
        assert gradcheck(lambda y: t.inv(y), (y,))


def test_affine_and_power_parameter_gradients():
    for T in (ET, TT):
        lib = _lib(T)
        loc = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        scale = lib.tensor([2.0, -0.5, 1.5], dtype=lib.float64, requires_grad=True)
        exponent = lib.tensor([0.5, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        x = lib.tensor([[0.3, 1.2, 0.7], [1.1, 0.4, 2.0]], dtype=lib.float64)
        t = T.ComposeTransform([T.PowerTransform(exponent), T.AffineTransform(loc, scale)])
        y = t(x)
        (y.sum() + t.log_abs_det_jacobian(x, y).sum()).backward()
        if T is ET:
            grads_e = [loc.grad, scale.grad, exponent.grad]
        else:
            grads_t = [loc.grad, scale.grad, exponent.grad]
    for a, b in zip(grads_e, grads_t):
        assert_close(a, b, **TOL)


def test_caching():
    x = edunn.tensor([0.2, -0.3])
    t = ET.ExpTransform(cache_size=1)
    y = t(x)
    assert t(x) is y and t.inv(y) is x
    t0 = ET.ExpTransform()
    assert t0(x) is not t0(x)
    # the inverse of a cached transform shares its cache
    ti = ET.TanhTransform(cache_size=1)
    big = edunn.tensor([30.0], dtype=edunn.float64)
    assert ti.inv(ti(big)) is big  # atanh(1.0) would be inf
    assert t.with_cache(1) is t and t0.with_cache(1)._cache_size == 1
    assert ET.AffineTransform(1.0, 2.0).with_cache(1)._cache_size == 1
    c = ET.ComposeTransform([ET.ExpTransform(), ET.SigmoidTransform()], cache_size=1)
    assert all(p._cache_size == 1 for p in c.parts)
    assert ET.ExpTransform().inv.with_cache(1).inv._cache_size == 1
    for lib_T in (ET, TT):
        with pytest.raises(ValueError, match="cache_size must be 0 or 1"):
            lib_T.ExpTransform(cache_size=2)
    for lib_T in (ET, TT):
        class Scaled(lib_T.Transform):  # a custom __init__ must write its own with_cache
            def __init__(self, k):
                super().__init__()
                self.k = k
        with pytest.raises(NotImplementedError, match="with_cache is not implemented"):
            Scaled(2.0).with_cache(1)


def test_equality_matches_torch():
    pairs = [
        (lambda T: T.ExpTransform(), lambda T: T.ExpTransform()),
        (lambda T: T.AffineTransform(1.0, 2.0), lambda T: T.AffineTransform(1.0, 2.0)),
        (lambda T: T.AffineTransform(1.0, 2.0), lambda T: T.AffineTransform(1.0, 3.0)),
        (lambda T: T.ComposeTransform([T.ExpTransform()]), lambda T: T.ComposeTransform([T.ExpTransform()])),
        (lambda T: T.ExpTransform().inv, lambda T: T.ExpTransform().inv),
        (lambda T: T.ExpTransform(), lambda T: T.SigmoidTransform()),
        (lambda T: T.CorrCholeskyTransform(), lambda T: T.CorrCholeskyTransform()),
        (lambda T: T.PowerTransform(_lib(T).tensor([2.0])), lambda T: T.PowerTransform(_lib(T).tensor([2.0]))),
    ]
    for a, b in pairs:
        assert (a(ET) == b(ET)) == (a(TT) == b(TT))
        assert (a(ET) != b(ET)) == (a(TT) != b(TT))


def test_compose_repr_and_event_dims():
    def make(T):
        return T.ComposeTransform([T.ExpTransform(), T.StickBreakingTransform(), T.AffineTransform(0.0, 2.0)])
    te, tt = make(ET), make(TT)
    assert repr(te) == repr(tt)
    assert repr(te.inv) == repr(tt.inv)
    assert te.domain.event_dim == tt.domain.event_dim == 1
    assert te.codomain.event_dim == tt.codomain.event_dim
    assert te.inv.inv is te


SHAPE_ERRORS = [
    ("Reshape_numel", lambda T: T.ReshapeTransform((3,), (2, 2)), None),
    ("Reshape_forward", lambda T: T.ReshapeTransform((4,), (2, 2)), ("forward_shape", (3, 5))),
    ("Reshape_inverse", lambda T: T.ReshapeTransform((4,), (2, 2)), ("inverse_shape", (3,))),
    ("CorrCholesky_forward", lambda T: T.CorrCholeskyTransform(), ("forward_shape", (4,))),
    ("CorrCholesky_inverse", lambda T: T.CorrCholeskyTransform(), ("inverse_shape", (3, 4))),
    ("StickBreaking_scalar", lambda T: T.StickBreakingTransform(), ("forward_shape", ())),
    ("Cat_lengths", lambda T: T.CatTransform([T.ExpTransform()], 0, [1, 2]), None),
    ("Cat_not_transform", lambda T: T.CatTransform([1.0]), None),
    ("Compose_event_dim", lambda T: T.ComposeTransform([T.StickBreakingTransform(), T.CorrCholeskyTransform()]),
     ("event_dim", None)),
]


@pytest.mark.parametrize("name", [c[0] for c in SHAPE_ERRORS])
def test_errors_match_torch(name):
    make, call = next((c[1], c[2]) for c in SHAPE_ERRORS if c[0] == name)

    def run(T):
        with pytest.raises(Exception) as info:
            t = make(T)
            if call is not None and call[1] is None:
                getattr(t, call[0])
            elif call is not None:
                getattr(t, call[0])((edunn.Size if T is ET else torch.Size)(call[1]))
        return type(info.value), str(info.value).replace("torch.Size", "Size").replace("edunn.Size", "Size")
    assert run(ET) == run(TT)


def test_cat_stack_size_errors():
    for T in (ET, TT):
        lib = _lib(T)
        with pytest.raises(AssertionError, match="must equal length 3"):
            T.CatTransform([T.ExpTransform(), T.ExpTransform()], 0, [1, 2])(lib.zeros(4))
        with pytest.raises(AssertionError, match="must equal len\\(transforms\\) 2"):
            T.StackTransform([T.ExpTransform(), T.ExpTransform()], 0)(lib.zeros(3))
        with pytest.raises(AssertionError, match="out of range"):
            T.StackTransform([T.ExpTransform()], 2)(lib.zeros(3))
    with pytest.raises(ValueError, match="Too few dimensions on input"):
        ET.IndependentTransform(ET.ExpTransform(), 2)(edunn.zeros(3))


def test_signatures_match_torch():
    for name in TT.__all__:
        ours, theirs = getattr(ET, name), getattr(TT, name)
        if isinstance(theirs, type):
            pe = inspect.signature(ours.__init__).parameters
            pt = inspect.signature(theirs.__init__).parameters
            assert list(pe) == list(pt), name
            assert [p.default for p in pe.values()] == [p.default for p in pt.values()], name
            assert [p.kind for p in pe.values()] == [p.kind for p in pt.values()], name
    assert sorted(ET.__all__) == sorted(TT.__all__)
    assert repr(ET.identity_transform) == repr(TT.identity_transform)


# ---- constraint_registry ---------------------------------------------------------------------

def _constraints(M):
    lib = edunn if M is C else torch
    return [
        ("real", M.real), ("positive", M.positive), ("nonnegative", M.nonnegative),
        ("greater_than", M.greater_than(1.5)), ("greater_than_eq", M.greater_than_eq(-2.0)),
        ("less_than", M.less_than(3.0)), ("unit_interval", M.unit_interval), ("interval", M.interval(-1.0, 4.0)),
        ("interval_tensor", M.interval(lib.tensor([0.0, 1.0, 2.0, 3.0]), lib.tensor([1.0, 3.0, 2.5, 10.0]))),
        ("half_open_interval", M.half_open_interval(0.5, 1.5)), ("simplex", M.simplex),
        ("real_vector", M.real_vector), ("independent_positive", M.independent(M.positive, 1)),
        ("lower_cholesky", M.lower_cholesky), ("positive_definite", M.positive_definite),
        ("positive_semidefinite", M.positive_semidefinite), ("corr_cholesky", M.corr_cholesky),
        ("cat", M.cat([M.positive, M.real, M.unit_interval], dim=-1, lengths=[1, 2, 1])),
        ("stack", M.stack([M.positive, M.real, M.unit_interval, M.less_than(0.0)], dim=-1)),
    ]


def _unconstrained_input(name):
    r = np.random.RandomState(3)
    if name == "corr_cholesky":
        return r.normal(size=(3, 6))
    if name in ("lower_cholesky", "positive_definite", "positive_semidefinite"):
        return r.normal(size=(2, 4, 4))
    return r.normal(size=(3, 4)) * 2


@pytest.mark.parametrize("registry", ["biject_to", "transform_to"])
@pytest.mark.parametrize("index", range(19), ids=[c[0] for c in _constraints(C)])
def test_registry_lands_in_support(registry, index):
    name, ce = _constraints(C)[index]
    _, ct = _constraints(TC)[index]
    reg_e = getattr(D, registry)
    reg_t = getattr(torch.distributions, registry)
    try:
        tt = reg_t(ct)
    except NotImplementedError as e:
        with pytest.raises(NotImplementedError, match=str(e)):
            reg_e(ce)
        return
    te = reg_e(ce)
    assert type(te).__name__ == type(tt).__name__
    a = _unconstrained_input(name)
    ye, yt = te(edunn.tensor(a)), tt(torch.tensor(a))
    assert_close(ye, yt, what=f"{registry}({name})", atol=1e-6, rtol=1e-5)
    assert bool(ce.check(ye).all()), f"{registry}({name}) left the constraint"
    back = te.inv(ye)
    assert_close(te(back), ye, atol=1e-5, rtol=1e-5)


def test_registry_register_and_errors():
    with pytest.raises(TypeError, match="Expected constraint to be either a Constraint subclass or instance"):
        D.biject_to.register(3, lambda c: None)
    with pytest.raises(NotImplementedError, match="Cannot transform _Boolean constraints"):
        D.biject_to(C.boolean)

    class _Mine(C.Constraint):
        pass
    registry = type(D.biject_to)()

    @registry.register(_Mine)
    def _factory(constraint):
        return ET.ExpTransform()
    assert isinstance(registry(_Mine()), ET.ExpTransform)
    assert registry.register(_Mine(), _factory) is _factory


# ---- constraints -----------------------------------------------------------------------------

def _check_values():
    r = np.random.RandomState(4)
    a = r.normal(size=(3, 3))
    spd = a @ a.T + np.eye(3)
    L = np.linalg.cholesky(spd)
    corr = L / np.linalg.norm(L, axis=-1, keepdims=True)
    return {
        "lower_triangular": [np.tril(a), a],
        "lower_cholesky": [L, -L],
        "corr_cholesky": [corr, L],
        "square": [a, np.zeros((2, 3))],
        "symmetric": [spd, a],
        "positive_semidefinite": [spd, -spd, np.zeros((3, 3))],
        "positive_definite": [spd, -spd],
        "multinomial": [np.array([[1.0, 2.0, 0.0], [3.0, 2.0, 1.0], [-1.0, 1.0, 1.0]])],
        "cat": [np.array([[1.0, -2.0, 0.5], [-1.0, 2.0, 2.0]])],
        "stack": [np.array([[1.0, -2.0, 0.5], [-1.0, 2.0, 2.0]])],
    }


def _make_constraint(M, name):
    if name == "multinomial":
        return M.multinomial(4)
    if name == "cat":
        return M.cat([M.positive, M.real, M.unit_interval], dim=-1, lengths=[1, 1, 1])
    if name == "stack":
        return M.stack([M.positive, M.real, M.unit_interval], dim=-1)
    return getattr(M, name)


@pytest.mark.parametrize("name", list(_check_values()))
def test_new_constraints_check(name):
    ce, ct = _make_constraint(C, name), _make_constraint(TC, name)
    assert repr(ce) == repr(ct)
    assert ce.event_dim == ct.event_dim and ce.is_discrete == ct.is_discrete
    for v in _check_values()[name]:
        assert_close(ce.check(edunn.tensor(v)), ct.check(torch.tensor(v)))


def test_constraints_module_matches_torch():
    assert sorted(C.__all__) == sorted(TC.__all__)
    for name in TC.__all__:
        assert hasattr(C, name), name
    assert C.is_dependent(C.dependent) and not C.is_dependent(C.real)
    assert TC.is_dependent(TC.dependent) and not TC.is_dependent(TC.real)
    for M in (C, TC):
        with pytest.raises(NotImplementedError, match="cannot be determined statically"):
            M.dependent.event_dim
        d = M.dependent(is_discrete=True, event_dim=2)
        assert d.is_discrete and d.event_dim == 2
        with pytest.raises(ValueError, match="Cannot determine validity of dependent constraint"):
            d.check(None)

    class Holder:
        @C.dependent_property(is_discrete=False, event_dim=1)
        def support(self):
            return C.real_vector
    assert C.is_dependent(Holder.support) and Holder.support.event_dim == 1
    assert Holder().support is C.real_vector
    base_e = C.MixtureSameFamilyConstraint(C.positive)
    base_t = TC.MixtureSameFamilyConstraint(TC.positive)
    assert repr(base_e) == repr(base_t)
    v = np.array([[1.0, 2.0], [-1.0, 3.0]])
    assert_close(base_e.check(edunn.tensor(v)), base_t.check(torch.tensor(v)))
    with pytest.raises(AssertionError, match="base_constraint must be a Constraint"):
        C.MixtureSameFamilyConstraint(3)


DEVICE_CASES = [c for c in CASES if c[0] not in ("Affine_tensors", "Power", "CumulativeDistribution")]


@pytest.mark.parametrize("case", DEVICE_CASES, ids=[c[0] for c in DEVICE_CASES])
def test_on_device(case, device):
    """The array code runs where the input lives: the same values as torch's on the CPU."""
    name, make, array = case
    te, tt = make(ET), make(TT)
    x = edunn.tensor(array, dtype=edunn.float64, device=device)
    y = te(x)
    assert y.device.type == device
    yt = tt(torch.tensor(array))
    assert_close(y.cpu(), yt, **TOL)
    assert_close(te.inv(y).cpu(), tt.inv(yt), **TOL)
    if te.bijective and name not in ("Reshape",):
        assert_close(te.log_abs_det_jacobian(x, y).cpu(), tt.log_abs_det_jacobian(torch.tensor(array), yt), **TOL)
