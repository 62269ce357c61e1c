"""``edunn.autograd.forward_ad`` (PyTorch's ``torch.autograd.forward_ad``): the API, its errors,
levels, custom Functions with ``jvp``/``save_for_forward``, in-place ops and views, reverse mode
through forward mode -- each compared with torch on the same inputs."""
import gc
import inspect

import numpy as np
import pytest

import edunn
import edunn.autograd.forward_ad as fwad
from opcheck import needs_torch, torch

pytestmark = needs_torch

if torch is not None:
    import torch.autograd.forward_ad as tfwad


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, edunn.Tensor) else t.detach().numpy()


def _pair(*shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return edunn.tensor(a), torch.tensor(a)


def _raises_like(fn_ours, fn_torch):
    """Both raise the same exception type with the same message."""
    with pytest.raises(Exception) as theirs:
        fn_torch()
    with pytest.raises(type(theirs.value)) as ours:
        fn_ours()
    assert str(ours.value) == str(theirs.value).replace("torch.", "edunn.")


# ------------------------------------------------------------------------------- the API
def _params(fn):
    """Names, kinds and defaults (type hints aside)."""
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


def test_names_and_signatures_match_torch():
    assert fwad.__all__ == tfwad.__all__
    for name in tfwad.__all__:
        if name == "UnpackedDualTensor":
            assert fwad.UnpackedDualTensor._fields == tfwad.UnpackedDualTensor._fields
            continue
        assert _params(getattr(fwad, name)) == _params(getattr(tfwad, name)), name
    assert edunn.autograd.forward_ad is fwad
    F, TF = edunn.autograd.Function, torch.autograd.Function
    assert _params(F.jvp) == _params(TF.jvp)
    assert list(inspect.signature(F.save_for_forward).parameters) == \
        list(inspect.signature(torch.autograd.function.FunctionCtx.save_for_forward).parameters)


def test_basic_jvp(device):
    p, t = edunn.randn(3, 4, device=device), edunn.randn(3, 4, device=device)
    with fwad.dual_level() as level:
        assert level == 0
        x = fwad.make_dual(p, t)
        y = (x.sin() * x).sum(1)
        primal, tangent = fwad.unpack_dual(y)
        assert isinstance(fwad.unpack_dual(y), fwad.UnpackedDualTensor)
    expected = ((p.cos() * p + p.sin()) * t).sum(1)
    np.testing.assert_allclose(_np(tangent), _np(expected), rtol=1e-5, atol=1e-6)
    np.testing.assert_allclose(_np(primal), _np((p.sin() * p).sum(1)), rtol=1e-6)
    assert fwad.unpack_dual(y).tangent is None  # the level is gone, and its tangents with it


def test_make_and_unpack_dual_share_and_keep():
    p, t = edunn.ones(2), edunn.ones(2) * 3
    with fwad.dual_level():
        x = fwad.make_dual(p, t)
        unpacked = fwad.unpack_dual(x)
        assert unpacked.tangent is t                     # as is, as in PyTorch
        assert fwad.unpack_dual(unpacked.primal).tangent is None
        unpacked.primal.add_(1)                          # the primal shares x's (and p's) memory
        assert p.tolist() == [2.0, 2.0] and x.tolist() == [2.0, 2.0]
        plain = fwad.unpack_dual(p)
        assert plain.tangent is None and plain.primal is not p
        x.mul_(2)                                        # in place: the given tangent changes too
        assert t.tolist() == [6.0, 6.0]
        assert fwad.unpack_dual(p).tangent is None       # the primal's source gets no tangent
    assert fwad.unpack_dual(x) == (x, None)


def test_integer_outputs_have_no_tangent():
    with fwad.dual_level():
        x = fwad.make_dual(edunn.randn(5), edunn.randn(5))
        assert fwad.unpack_dual(x.argmax()).tangent is None
        assert fwad.unpack_dual(x > 0).tangent is None
        values, indices = x.max(0)
        assert fwad.unpack_dual(indices).tangent is None and fwad.unpack_dual(values).tangent is not None
        assert fwad.unpack_dual(x.detach()).tangent is None


def test_forward_ad_runs_under_no_grad():
    p, tp = _pair(4)
    t, tt = _pair(4, seed=1)
    with fwad.dual_level(), edunn.no_grad():
        ours = fwad.unpack_dual(fwad.make_dual(p, t).exp() * 2).tangent
    with tfwad.dual_level(), torch.no_grad():
        theirs = tfwad.unpack_dual(tfwad.make_dual(tp, tt).exp() * 2).tangent
    np.testing.assert_allclose(_np(ours), _np(theirs))


def test_dual_level_as_decorator_and_tangents_freed():
    @fwad.dual_level()
    def f(p, t):
        x = fwad.make_dual(p, t)
        y = x * 2
        assert len(fwad._tangents) >= 2
        del y
        gc.collect()
        return fwad.unpack_dual(x * 3).tangent
    assert f(edunn.ones(2), edunn.ones(2)).tolist() == [3.0, 3.0]
    assert fwad._current_level == -1 and not fwad._tangents
    assert not edunn.autograd.grad_mode.state.op_hooks  # the observer is gone too


@pytest.mark.parametrize("rules", ["table", "fallback"])
def test_complex_tangents_match_torch(rules, monkeypatch):
    if rules == "fallback":
        from edunn.autograd import _forward_rules
        monkeypatch.setattr(_forward_rules, "rules", lambda: {})
    a, t = np.array([1 + 2j, -0.5 + 0.3j]), np.array([0.3 - 1j, 2 + 0.1j])
    fns = [lambda x: x * x, lambda x: x.exp(), lambda x: x.sin(), lambda x: 1 / x,
           lambda x: x.sqrt(), lambda x: x.sum(), lambda x: x.tanh(), lambda x: x.abs(),
           lambda x: x.conj() * 1, lambda x: (x * x.conj()).real]
    results = []
    for M, fw in ((edunn, fwad), (torch, tfwad)):
        with fw.dual_level():
            x = fw.make_dual(M.tensor(a), M.tensor(t))
            results.append([fw.unpack_dual(f(x)).tangent for f in fns])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-10, atol=1e-12)


# ------------------------------------------------------------------------------- errors
def test_errors_match_torch():
    _raises_like(lambda: fwad.make_dual(edunn.ones(2), edunn.ones(2)),
                 lambda: tfwad.make_dual(torch.ones(2), torch.ones(2)))
    _raises_like(lambda: fwad.exit_dual_level(), lambda: tfwad.exit_dual_level())
    _raises_like(lambda: fwad.exit_dual_level(level=0), lambda: tfwad.exit_dual_level(level=0))
    assert fwad.unpack_dual(edunn.ones(1)).tangent is None  # outside a level: no error
    with fwad.dual_level(), tfwad.dual_level():
        _raises_like(fwad.enter_dual_level, tfwad.enter_dual_level)  # nesting: not in PyTorch
        _raises_like(lambda: fwad.make_dual(edunn.ones(2), edunn.ones(3)),
                     lambda: tfwad.make_dual(torch.ones(2), torch.ones(3)))
        _raises_like(lambda: fwad.make_dual(edunn.ones(2, 3), edunn.ones(3, 2)),
                     lambda: tfwad.make_dual(torch.ones(2, 3), torch.ones(3, 2)))
        _raises_like(lambda: fwad.make_dual(edunn.ones(2), edunn.ones(2, dtype=edunn.int64)),
                     lambda: tfwad.make_dual(torch.ones(2), torch.ones(2, dtype=torch.int64)))
        _raises_like(lambda: fwad.make_dual(edunn.ones(2, dtype=edunn.int64), edunn.ones(2)),
                     lambda: tfwad.make_dual(torch.ones(2, dtype=torch.int64), torch.ones(2)))
        _raises_like(lambda: fwad.make_dual(edunn.ones(2), edunn.ones(2), level=3),
                     lambda: tfwad.make_dual(torch.ones(2), torch.ones(2), level=3))
        assert fwad.unpack_dual(edunn.ones(2), level=3).tangent is None  # not dual: no check
        _raises_like(lambda: fwad.exit_dual_level(level=3), lambda: tfwad.exit_dual_level(level=3))
        x, tx = fwad.make_dual(edunn.ones(2), edunn.ones(2)), tfwad.make_dual(torch.ones(2), torch.ones(2))
        _raises_like(lambda: fwad.make_dual(x, edunn.ones(2)), lambda: tfwad.make_dual(tx, torch.ones(2)))
        _raises_like(lambda: fwad.unpack_dual(x, level=3), lambda: tfwad.unpack_dual(tx, level=3))
        with pytest.raises(TypeError, match="tangent.*must be Tensor"):
            fwad.make_dual(edunn.ones(2), [1.0, 2.0])
    assert fwad._current_level == -1
    assert fwad.enter_dual_level() == tfwad.enter_dual_level() == 0  # a level again after exit
    fwad.exit_dual_level(level=0)
    tfwad.exit_dual_level(level=0)


# ------------------------------------------------------------------------------- custom Functions
def _custom_classes(M):
    seen = {}

    class ScaledExp(M.autograd.Function):
        @staticmethod
        def forward(ctx, x, y, k):
            ctx.save_for_forward(x, y)
            ctx.save_for_backward(x, y)
            ctx.k = k
            seen["forward"] = ctx
            return (x.exp() * y * k, x.argmax())

        @staticmethod
        def backward(ctx, g, gi):
            x, y = ctx.saved_tensors
            seen["backward"] = ctx
            return g * x.exp() * y * ctx.k, g * x.exp() * ctx.k, None

        @staticmethod
        def jvp(ctx, xt, yt, kt):
            assert kt is None
            x, y = ctx.saved_tensors
            seen["jvp"] = ctx
            seen["yt"] = yt
            return (x.exp() * ctx.k * (xt * y + yt), None)

    class NoJvp(M.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x * 2

        @staticmethod
        def backward(ctx, g):
            return g * 2
    return ScaledExp, NoJvp, seen


def test_custom_function_jvp_and_save_for_forward():
    (p, tp), (t, tt), (y, ty) = _pair(4), _pair(4, seed=1), _pair(4, seed=2)
    results = []
    for M, fw, args in ((edunn, fwad, (p, t, y)), (torch, tfwad, (tp, tt, ty))):
        ScaledExp, NoJvp, seen = _custom_classes(M)
        a, b, c = args
        a = a.clone().requires_grad_()
        with fw.dual_level():
            out, idx = ScaledExp.apply(fw.make_dual(a, b), c, 1.5)
            results.append((fw.unpack_dual(out).tangent, fw.unpack_dual(idx).tangent))
            assert seen["jvp"] is seen["forward"]
            assert seen["yt"].tolist() == [0.0] * 4       # a tensor without tangent: zeros
            out.sum().backward()                          # and backward uses the same ctx
            assert seen["backward"] is seen["forward"]
            results.append(a.grad)
    (ours, ours_i), ours_g, (theirs, theirs_i), theirs_g = results
    np.testing.assert_allclose(_np(ours), _np(theirs))
    np.testing.assert_allclose(_np(ours_g), _np(theirs_g))
    assert ours_i is None and theirs_i is None


def test_custom_function_without_ctx_recording():
    """The usual forward-AD case: nothing requires grad.  jvp still gets forward's ctx, and the
    outputs are plain tensors afterwards (no graph)."""
    ScaledExp, _, seen = _custom_classes(edunn)
    p, t = edunn.randn(3), edunn.randn(3)
    with fwad.dual_level():
        x = fwad.make_dual(p, t)
        out, _ = ScaledExp.apply(x, edunn.ones(3), 2.0)
        assert seen["jvp"] is seen["forward"]
        assert out.grad_fn is None and not out.requires_grad and not x.requires_grad
        np.testing.assert_allclose(_np(fwad.unpack_dual(out).tangent), _np(p.exp() * 2 * t), rtol=1e-6)


def test_custom_function_under_no_grad_keeps_requires_grad():
    ScaledExp, _, seen = _custom_classes(edunn)
    p, t = edunn.randn(3).requires_grad_(), edunn.randn(3)
    with fwad.dual_level(), edunn.no_grad():
        out, _ = ScaledExp.apply(fwad.make_dual(p, t), edunn.ones(3), 2.0)
        assert seen["jvp"] is seen["forward"] and out.grad_fn is None
    assert p.requires_grad and p.grad_fn is None
    np.testing.assert_allclose(_np(out), _np(p.exp() * 2), rtol=1e-6)


def test_custom_function_without_jvp_raises_like_torch():
    ours_cls, theirs_cls = _custom_classes(edunn)[1], _custom_classes(torch)[1]
    with fwad.dual_level(), tfwad.dual_level():
        _raises_like(lambda: ours_cls.apply(fwad.make_dual(edunn.ones(2), edunn.ones(2))),
                     lambda: theirs_cls.apply(tfwad.make_dual(torch.ones(2), torch.ones(2))))
        assert ours_cls.apply(edunn.ones(2)).tolist() == [2.0, 2.0]  # no tangent: no jvp needed


def test_save_for_forward_rejects_non_tensors():
    class Bad(edunn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_forward(x, 3)
            return x

    with pytest.raises(AssertionError, match="save_for_forward expects all arguments to be tensors"):
        Bad.apply(edunn.ones(1))


# ------------------------------------------------------------------------------- whole models
def _mlp(M, x, w1, b1, w2, b2):
    F = M.nn.functional
    h = F.gelu(F.linear(x, w1, b1))
    return F.log_softmax(F.linear(F.layer_norm(h, (6,)), w2, b2), dim=-1)


def test_mlp_jvp_matches_func_jvp_and_torch():
    shapes = [(5, 4), (6, 4), (6,), (3, 6), (3,)]
    ours_p = [_pair(*s, seed=i)[0] for i, s in enumerate(shapes)]
    ours_t = [_pair(*s, seed=10 + i)[0] for i, s in enumerate(shapes)]
    with fwad.dual_level():
        out = _mlp(edunn, *[fwad.make_dual(p, t) for p, t in zip(ours_p, ours_t)])
        primal, tangent = fwad.unpack_dual(out)
    f_primal, f_tangent = edunn.func.jvp(lambda *a: _mlp(edunn, *a), tuple(ours_p), tuple(ours_t))
    tp = [torch.tensor(_np(p)) for p in ours_p]
    tt = [torch.tensor(_np(t)) for t in ours_t]
    _, t_tangent = torch.func.jvp(lambda *a: _mlp(torch, *a), tuple(tp), tuple(tt))
    np.testing.assert_allclose(_np(primal), _np(f_primal), rtol=1e-12)
    np.testing.assert_allclose(_np(tangent), _np(f_tangent), rtol=1e-9, atol=1e-12)
    np.testing.assert_allclose(_np(tangent), _np(t_tangent), rtol=1e-9, atol=1e-12)


def test_module_jvp_through_parameters():
    """The directional derivative of a model's loss along a direction in weight space."""
    edunn.manual_seed(0)
    model = edunn.nn.Sequential(edunn.nn.Linear(4, 8), edunn.nn.Tanh(), edunn.nn.Linear(8, 2)).double()
    x = edunn.randn(3, 4, dtype=edunn.float64)
    direction = [edunn.randn_like(p) for p in model.parameters()]
    with fwad.dual_level():
        params = {name: fwad.make_dual(p.detach(), d)
                  for (name, p), d in zip(model.named_parameters(), direction)}
        loss = edunn.func.functional_call(model, params, (x,)).pow(2).mean()
        ours = fwad.unpack_dual(loss).tangent
    loss = model(x).pow(2).mean()
    grads = edunn.autograd.grad(loss, list(model.parameters()))
    expected = sum((g * d).sum() for g, d in zip(grads, direction))  # ∇L · d
    np.testing.assert_allclose(ours.item(), expected.item(), rtol=1e-10)


# ------------------------------------------------------------------------------- reverse over forward
def test_reverse_mode_through_forward_mode_matches_torch():
    results = []
    for M, fw in ((edunn, fwad), (torch, tfwad)):
        p = M.tensor([0.3, -1.2, 2.0], dtype=M.float64, requires_grad=True)
        t = M.tensor([1.0, 0.5, -2.0], dtype=M.float64, requires_grad=True)
        with fw.dual_level():
            x = fw.make_dual(p, t)
            out = (x.sin() * x).sum() + x.clamp(-1, 1).pow(3).sum()  # a rule and the fallback
            primal, tangent = fw.unpack_dual(out)
            # the tangent's graph goes through the primal's: keep it for the second grad
            results.append((primal.detach(), tangent.detach(),
                            *M.autograd.grad(tangent, (p, t), retain_graph=True),
                            *M.autograd.grad(primal, (p,))))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-10, atol=1e-12)


def test_grad_of_a_function_using_forward_ad():
    """Hessian-vector product as forward-over-reverse's mirror: grad(∇f·v) = H v."""
    def directional(M, fw, p, v):
        with fw.dual_level():
            x = fw.make_dual(p, v)
            y = (x.exp() * x.tanh()).sum() + (x @ x)
            return fw.unpack_dual(y).tangent

    results = []
    for M, fw in ((edunn, fwad), (torch, tfwad)):
        p = M.tensor([0.1, -0.4, 0.7], dtype=M.float64, requires_grad=True)
        v = M.tensor([1.0, 2.0, -1.0], dtype=M.float64)
        d = directional(M, fw, p, v)
        results.append(M.autograd.grad(d, p)[0])
    np.testing.assert_allclose(_np(results[0]), _np(results[1]), rtol=1e-10)


# Ops whose backward saves their own output (exp, tanh, sigmoid, softmax ...): saved_tensors hands
# back a new tensor object for it, which must still find the output's tangent.
HVP_FUNCTIONS = {
    "sin_pow": lambda M, x, w: (x.sin() * x ** 3).sum(),
    "tanh_matmul": lambda M, x, w: M.tanh(x @ w.t()).pow(2).sum(),
    "exp_sigmoid": lambda M, x, w: (x.exp() + x.sigmoid() * x).sum(),
    "softmax": lambda M, x, w: (M.softmax(x, 0) * w[0]).sum() + (M.log_softmax(x, 0) * w[1]).sum(),
    "relu_gelu": lambda M, x, w: (M.relu(x) ** 2).sum() + M.nn.functional.gelu(x).sum(),
    "layer_norm_sqrt": lambda M, x, w: (M.nn.functional.layer_norm(x, (3,)) * w[0]).sum()
    + (x * x + 1).sqrt().sum(),
}


@pytest.mark.parametrize("name", list(HVP_FUNCTIONS))
def test_forward_over_reverse_hessian_vector_product(name):
    """A gradient computed inside a level (with ``create_graph=True``: the backward runs as
    recorded ops, which forward AD sees) carries the tangent H·t."""
    results = []
    for M, fw in ((edunn, fwad), (torch, tfwad)):
        p = M.tensor([0.5, -1.0, 2.0], dtype=M.float64, requires_grad=True)
        t = M.tensor([1.0, 2.0, 3.0], dtype=M.float64)
        w = M.tensor([[0.3, -0.2, 0.5], [1.0, 0.1, -0.7]], dtype=M.float64)
        with fw.dual_level():
            x = fw.make_dual(p, t)
            (g,) = M.autograd.grad(HVP_FUNCTIONS[name](M, x, w), p, create_graph=True)
            results.append(fw.unpack_dual(g))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-10, atol=1e-12)


def test_tangent_requires_grad_through_inplace_and_views():
    results = []
    for M, fw in ((edunn, fwad), (torch, tfwad)):
        p = M.tensor([[0.3, -1.2], [2.0, 0.5]], dtype=M.float64)
        t = M.tensor([[1.0, 0.5], [-2.0, 1.5]], dtype=M.float64, requires_grad=True)
        w = M.tensor([1.5, -0.5], dtype=M.float64, requires_grad=True)
        with fw.dual_level():
            y = fw.make_dual(p, t) * 1
            y[0].mul_(w)
            y.exp_()
            tangent = fw.unpack_dual(y).tangent
            results.append((tangent.detach(), *M.autograd.grad(tangent.sum(), (t, w))))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-10)


# ------------------------------------------------------------------------------- views and in place
def test_dual_is_a_view_of_its_primal_for_inplace_ops():
    results = []
    for M, fw in ((edunn, fwad), (torch, tfwad)):
        leaf = M.tensor([0.5, -1.0, 2.0], dtype=M.float64, requires_grad=True)
        t = M.tensor([1.0, 2.0, 3.0], dtype=M.float64)
        with fw.dual_level():
            with pytest.raises(RuntimeError, match="a view of a leaf Variable that requires grad"):
                fw.make_dual(leaf, t).mul_(2)
            p = leaf * 1                    # a non-leaf: the write into the dual reaches p's graph
            x = fw.make_dual(p, t)
            assert x._base is p
            x.mul_(leaf)
            tangent = fw.unpack_dual(x).tangent.clone()
            (grad,) = M.autograd.grad((p * p).sum(), leaf)
        results.append((p.detach(), tangent, grad))
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(_np(ours), _np(theirs), rtol=1e-12)


def test_view_tangents_share_the_base_tangent():
    results = []
    for M, fw in ((edunn, fwad), (torch, tfwad)):
        with fw.dual_level():
            base = fw.make_dual(M.zeros(2, 3, dtype=M.float64), M.ones(2, 3, dtype=M.float64))
            row, col = base[1], base[:, 2]
            row.mul_(3)                  # base's tangent changes in row 1; col's tangent sees it
            col.zero_()
            plain = M.zeros(2, 3, dtype=M.float64)  # no tangent: written through a view, it gets one
            ones = M.ones(2, dtype=M.float64)
            plain.t()[0].copy_(fw.make_dual(ones, M.tensor([4.0, 5.0], dtype=M.float64)))
            results.append([fw.unpack_dual(v).tangent.clone() for v in (base, row, col, plain)])
    for ours, theirs in zip(*results):
        np.testing.assert_allclose(_np(ours), _np(theirs))


def test_inplace_on_views_on_device(device):
    """The same in-place bookkeeping on whichever device the tensors live."""
    p = edunn.arange(6.0, device=device).reshape(2, 3)
    t = edunn.ones(2, 3, device=device)
    with fwad.dual_level():
        y = fwad.make_dual(p, t) * 2           # tangent 2 everywhere
        y[0].mul_(y[1])                        # row 0: d(y0*y1) = 2*y1 + y0*2 (old y0)
        y.t_()
        tangent = fwad.unpack_dual(y).tangent
    y0, y1 = 2 * p[0], 2 * p[1]
    expected = edunn.stack([2 * y1 + 2 * y0, 2 * edunn.ones(3, device=device)]).t()
    assert tangent.device == p.device and tuple(tangent.shape) == (3, 2)
    np.testing.assert_allclose(_np(tangent), _np(expected))


@pytest.fixture(autouse=True)
def _no_level_left():
    """A failing test must not leave its level entered for the next one."""
    yield
    while fwad._current_level >= 0:
        fwad.exit_dual_level()
    while tfwad._current_level >= 0:
        tfwad.exit_dual_level()
