"""edunn.func (torch.func): the autodiff transforms, compared with torch.func on the same
functions and with finite differences; signatures and error messages as torch's."""
import inspect

import numpy as np
import pytest

import edunn
import edunn.func as F
import edunn.nn as nn
from opcheck import needs_torch, torch

pytestmark = needs_torch

TF = torch.func if torch is not None else None


def _np(t):
    return t.detach().numpy() if isinstance(t, edunn.Tensor) else t.detach().numpy()


def _pair(*shape, seed=0, dtype="float64"):
    a = np.random.default_rng(seed).standard_normal(shape).astype(dtype)
    return edunn.tensor(a), torch.tensor(a)


def _close(ours, theirs, atol=1e-6, rtol=1e-5):
    """Compare two pytrees of tensors leaf by leaf (structure must match)."""
    if isinstance(theirs, (tuple, list)):
        assert isinstance(ours, (tuple, list)) and len(ours) == len(theirs), (type(ours), type(theirs))
        for a, b in zip(ours, theirs):
            _close(a, b, atol, rtol)
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and list(ours) == list(theirs)
        for k in theirs:
            _close(ours[k], theirs[k], atol, rtol)
    else:
        assert tuple(ours.shape) == tuple(theirs.shape), (ours.shape, theirs.shape)
        np.testing.assert_allclose(_np(ours), _np(theirs), atol=atol, rtol=rtol)


# functions written once, run on edunn and on torch (both have the same names)
def f_poly(x):
    return (x ** 3).sum() + (x.sin() * x).sum()


def f_vec(x):
    return x.tanh() * x.exp()


def f_two(x, y):
    return (x * y.cos()).sum(), x.exp() @ y


FUNCS = {"poly": (f_poly, [(4,)]), "vec": (f_vec, [(3,)]), "mat": (lambda x: (x @ x.T).sin(), [(2, 3)]),
         "two": (lambda x, y: (x[:, None] * y).exp(), [(3,), (2,)])}


def test_all_names_and_signatures():
    assert sorted(F.__all__) == sorted(TF.__all__)
    for name in TF.__all__:
        ours, theirs = inspect.signature(getattr(F, name)), inspect.signature(getattr(TF, name))
        assert list(ours.parameters) == list(theirs.parameters), name
        for p in theirs.parameters:
            a, b = ours.parameters[p], theirs.parameters[p]
            assert (a.kind, a.default) == (b.kind, b.default), (name, p)


# ------------------------------------------------------------------------------------------ grad
@pytest.mark.parametrize("name", ["poly"])
def test_grad_and_higher_order(name):
    f, shapes = FUNCS[name]
    x, tx = _pair(*shapes[0])
    _close(F.grad(f)(x), TF.grad(f)(tx))
    _close(F.grad(lambda a: F.grad(f)(a).sum())(x), TF.grad(lambda a: TF.grad(f)(a).sum())(tx))
    g3 = F.grad(lambda a: F.grad(lambda b: F.grad(f)(b).sum())(a).sum())(x)
    _close(g3, TF.grad(lambda a: TF.grad(lambda b: TF.grad(f)(b).sum())(a).sum())(tx))


def test_grad_argnums_pytrees_aux_and_value():
    x, tx = _pair(3, seed=1)
    y, ty = _pair(3, seed=2)

    def loss(lib):
        def f(p, z, scale=2.0):
            out = (p["w"] * z).sin().sum() * scale + (p["b"][0] ** 2).sum()
            return out, {"aux": z * 2}
        return f

    p = {"w": x, "b": [y]}
    tp = {"w": tx, "b": [ty]}
    g, aux = F.grad(loss(edunn), has_aux=True)(p, y, scale=3.0)
    tg, taux = TF.grad(loss(torch), has_aux=True)(tp, ty, scale=3.0)
    _close(g, tg)
    _close(aux, taux)
    (g0, g1), (v, aux) = F.grad_and_value(loss(edunn), argnums=(0, 1), has_aux=True)(p, y)
    (t0, t1), (tv, taux) = TF.grad_and_value(loss(torch), argnums=(0, 1), has_aux=True)(tp, ty)
    _close([g0, g1, v], [t0, t1, tv])
    _close(F.grad(lambda a, b: (a * b).sum(), argnums=-1)(x, y), TF.grad(lambda a, b: (a * b).sum(), argnums=-1)(tx, ty))


def test_grad_results_detached_outside_and_unused_inputs_give_zeros():
    x, tx = _pair(3)
    g = F.grad(lambda a: (a ** 2).sum())(x)
    assert not g.requires_grad and g.grad_fn is None
    # an input that requires grad keeps the result connected to the outer graph, as torch
    w = x.clone().requires_grad_()
    F.grad(lambda a: (a ** 3).sum())(w).sum().backward()
    tw = tx.clone().requires_grad_()
    TF.grad(lambda a: (a ** 3).sum())(tw).sum().backward()
    _close(w.grad, tw.grad)
    _close(F.grad(lambda a, b: (b ** 2).sum())(x, x), TF.grad(lambda a, b: (b ** 2).sum())(tx, tx))


def test_grad_inside_no_grad_still_differentiates():
    x, tx = _pair(3)
    with edunn.no_grad():
        g = F.grad(lambda a: (a ** 2).sum())(x)
    _close(g, 2 * tx)


def test_grad_errors():
    x, _ = _pair(3, 4)
    with pytest.raises(RuntimeError, match=r"grad_and_value\(f\)\(\*args\): Expected f\(\*args\) to return a "
                                           r"scalar Tensor, got tensor with 2 dims. Maybe you wanted to use "
                                           r"the vjp or jacrev APIs instead\?"):
        F.grad(lambda a: a)(x)
    with pytest.raises(RuntimeError, match=r"Expected f\(\*args\) to return a Tensor, got <class 'tuple'>"):
        F.grad(lambda a: (a.sum(), 1))(x)
    with pytest.raises(RuntimeError, match=r"output of function f should be a tuple: \(output, aux\) if has_aux is True"):
        F.grad(lambda a: a.sum(), has_aux=True)(x)
    with pytest.raises(ValueError, match="Thing passed to transform API must be Tensor, got <class 'float'>"):
        F.grad(lambda a: a)(3.0)
    with pytest.raises(RuntimeError, match="Got argnum=2, but only 1 positional inputs"):
        F.grad(lambda a: a.sum(), argnums=2)(x)
    with pytest.raises(RuntimeError, match="argnums must be non-empty"):
        F.grad(lambda a: a.sum(), argnums=())(x)
    with pytest.raises(RuntimeError, match=r"argnums must be int or Tuple\[int, ...\], got: <class 'float'>"):
        F.grad(lambda a: a.sum(), argnums=1.5)(x)
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require gradients"):
        F.grad(lambda a: a.sum())(edunn.arange(3))


# ------------------------------------------------------------------------------------- vjp / jvp
def test_vjp_values_pytrees_and_aux():
    x, tx = _pair(3, seed=3)
    y, ty = _pair(3, seed=4)
    v, tv = _pair(3, seed=5)
    out, fn = F.vjp(f_two, x, y)
    tout, tfn = TF.vjp(f_two, tx, ty)
    _close(out, tout)
    _close(fn((edunn.tensor(1.0, dtype=edunn.float64), edunn.tensor(2.0, dtype=edunn.float64))),
           tfn((torch.tensor(1.0, dtype=torch.float64), torch.tensor(2.0, dtype=torch.float64))))
    out, fn, aux = F.vjp(lambda a: (f_vec(a), a.sum()), x, has_aux=True)
    tout, tfn, taux = TF.vjp(lambda a: (f_vec(a), a.sum()), tx, has_aux=True)
    _close([out, aux, fn(v)], [tout, taux, tfn(tv)])
    assert sorted(inspect.signature(fn).parameters) == sorted(inspect.signature(tfn).parameters)


def test_vjp_errors():
    x, _ = _pair(3)
    _, fn = F.vjp(lambda a: (a, a * 2), x)
    with pytest.raises(RuntimeError, match=r"Expected pytree structure of cotangents to be the same as pytree "
                                           r"structure of outputs to the function. cotangents: \*, primal output: \(\*, \*\)"):
        fn(edunn.ones(3))
    with pytest.raises(RuntimeError, match=r"vjp\(f, \*primals\): expected f\(\*primals\) to return only tensors, "
                                           r"got unsupported type <class 'int'>"):
        F.vjp(lambda a: 3, x)


def test_jvp_and_linearize_values():
    x, tx = _pair(3, seed=6)
    y, ty = _pair(2, seed=7)
    u, tu = _pair(3, seed=8)
    w, tw = _pair(2, seed=9)
    f = FUNCS["two"][0]
    _close(F.jvp(f, (x, y), (u, w)), TF.jvp(f, (tx, ty), (tu, tw)))
    out, jv, aux = F.jvp(lambda a: (a.sin(), {"k": a}), (x,), (u,), has_aux=True)
    tout, tjv, taux = TF.jvp(lambda a: (a.sin(), {"k": a}), (tx,), (tu,), has_aux=True)
    _close([out, jv, aux], [tout, tjv, taux])
    out, fn = F.linearize(f_vec, x)
    tout, tfn = TF.linearize(f_vec, tx)
    _close([out, fn(u), fn(u * 2)], [tout, tfn(tu), tfn(tu * 2)])
    # an output independent of the input has a zero tangent
    _close(F.jvp(lambda a: (a * 2, edunn.ones(2, dtype=edunn.float64)), (x,), (u,))[1],
           TF.jvp(lambda a: (a * 2, torch.ones(2, dtype=torch.float64)), (tx,), (tu,))[1])


def test_jvp_is_exact_against_finite_differences():
    x, _ = _pair(4, seed=10)
    u, _ = _pair(4, seed=11)
    eps = 1e-6
    fd = (f_vec(x + eps * u) - f_vec(x - eps * u)) / (2 * eps)
    np.testing.assert_allclose(F.jvp(f_vec, (x,), (u,))[1].numpy(), fd.numpy(), atol=1e-7)


def test_jvp_errors():
    x, _ = _pair(3, 4)
    with pytest.raises(RuntimeError, match=r"jvp\(f, primals, tangents\): Expected primals to be a tuple. "
                                           r"E.g. it should be valid to call f\(\*primals\)."):
        F.jvp(lambda a: a, x, x)
    with pytest.raises(RuntimeError, match="Expected primals and tangents to have the same python structure"):
        F.jvp(lambda a: a, (x,), (x, x))
    with pytest.raises(RuntimeError, match=r"Tensor is of size \[3, 4\] while the given forward gradient is of size \[3\]"):
        F.jvp(lambda a: a * 2, (x,), (edunn.ones(3),))
    with pytest.raises(ValueError, match="Expected tangent to be floating point or complex, but got: edunn.int32"):
        F.jvp(lambda a: a * 2, (x,), (x.int(),))
    with pytest.raises(RuntimeError, match="Expected primals to only contain Tensors, got <class 'float'>"):
        F.jvp(lambda a: a, (3.0,), (3.0,))
    _, fn = F.linearize(lambda a: a * 2, x)
    with pytest.raises(RuntimeError, match="to have the same argspec as the primals"):
        fn(x, x)


# ------------------------------------------------------------------------- jacobians and hessian
@pytest.mark.parametrize("name", sorted(FUNCS))
def test_jacrev_jacfwd_match_torch(name):
    f, shapes = FUNCS[name]
    args = [_pair(*s, seed=i) for i, s in enumerate(shapes)]
    ours, theirs = [a for a, _ in args], [b for _, b in args]
    argnums = tuple(range(len(shapes))) if len(shapes) > 1 else 0
    for ejac, tjac in [(F.jacrev, TF.jacrev), (F.jacfwd, TF.jacfwd)]:
        _close(ejac(f, argnums=argnums)(*ours), tjac(f, argnums=argnums)(*theirs))


def test_jacobians_pytree_outputs_aux_and_chunks():
    x, tx = _pair(3, seed=12)

    def f(p):
        return {"s": (p["a"] * p["b"]).sum(), "v": p["a"].exp() * 2}, p["b"] * 3

    p = {"a": x, "b": x * 2}
    tp = {"a": tx, "b": tx * 2}
    _close(F.jacrev(f, has_aux=True, chunk_size=2)(p), TF.jacrev(f, has_aux=True, chunk_size=2)(tp))
    _close(F.jacfwd(f, has_aux=True)(p), TF.jacfwd(f, has_aux=True)(tp))
    with pytest.raises(ValueError, match="jacrev: `chunk_size` should be greater than 0."):
        F.jacrev(f_vec, chunk_size=0)
    with pytest.raises(RuntimeError, match="Got argnum=1, but only 1 positional inputs"):
        F.jacfwd(f_vec, argnums=1)(x)


def test_jacfwd_randomness():
    x, _ = _pair(3)
    with pytest.raises(RuntimeError, match="vmap: called random operation while in randomness error mode"):
        F.jacfwd(lambda a: a * edunn.rand(3, dtype=edunn.float64))(x)
    j = F.jacfwd(lambda a: a * 0 + a.sum() * edunn.rand((), dtype=edunn.float64), randomness="same")(x)
    assert j.shape == (3, 3)


@pytest.mark.parametrize("name", ["poly", "two_args"])
def test_hessian_matches_torch_and_autograd_functional(name):
    x, tx = _pair(3, seed=13)
    y, ty = _pair(3, seed=14)
    if name == "poly":
        _close(F.hessian(f_poly)(x), TF.hessian(f_poly)(tx))
        _close(F.hessian(f_poly)(x), edunn.autograd.functional.hessian(f_poly, x))
    else:
        f = lambda a, b: (a * b.exp()).sum() * a.sum()  # noqa: E731
        _close(F.hessian(f, argnums=(0, 1))(x, y), TF.hessian(f, argnums=(0, 1))(tx, ty))


def test_per_sample_gradients_of_an_mlp():
    """The canonical torch.func example: vmap(grad(loss), in_dims=(None, 0, 0)) with functional_call."""
    edunn.manual_seed(0)
    model = nn.Sequential(nn.Linear(5, 8), nn.Tanh(), nn.Linear(8, 3))
    tmodel = torch.nn.Sequential(torch.nn.Linear(5, 8), torch.nn.Tanh(), torch.nn.Linear(8, 3))
    with torch.no_grad():
        for (n, p), (tn, tp) in zip(model.named_parameters(), tmodel.named_parameters()):
            tp.copy_(torch.tensor(p.detach().numpy()))
    xs, txs = _pair(6, 5, seed=15, dtype="float32")
    ys = edunn.tensor([0, 1, 2, 0, 1, 2])
    tys = torch.tensor([0, 1, 2, 0, 1, 2])

    def make_loss(lib, mod):
        def loss(params, x, y):
            out = lib.func.functional_call(mod, params, (x.unsqueeze(0),))
            return lib.nn.functional.cross_entropy(out, y.unsqueeze(0))
        return loss

    params = {k: v.detach() for k, v in model.named_parameters()}
    tparams = {k: v.detach() for k, v in tmodel.named_parameters()}
    ours = F.vmap(F.grad(make_loss(edunn, model)), in_dims=(None, 0, 0))(params, xs, ys)
    theirs = TF.vmap(TF.grad(make_loss(torch, tmodel)), in_dims=(None, 0, 0))(tparams, txs, tys)
    _close(ours, theirs, atol=1e-5, rtol=1e-4)
    # the per-sample gradients average to the batch gradient
    assert all(isinstance(p, nn.Parameter) for p in model.parameters())  # functional_call restored them
    loss = edunn.nn.functional.cross_entropy(model(xs), ys)
    loss.backward()
    for k, p in model.named_parameters():
        np.testing.assert_allclose(ours[k].mean(0).numpy(), p.grad.numpy(), atol=1e-5)


def test_model_ensembling_with_stack_module_state():
    edunn.manual_seed(1)
    models = [nn.Linear(3, 2) for _ in range(4)]
    tmodels = [torch.nn.Linear(3, 2) for _ in range(4)]
    with torch.no_grad():
        for m, tm in zip(models, tmodels):
            tm.weight.copy_(torch.tensor(m.weight.detach().numpy()))
            tm.bias.copy_(torch.tensor(m.bias.detach().numpy()))
    params, buffers = F.stack_module_state(models)
    tparams, tbuffers = TF.stack_module_state(tmodels)
    assert list(params) == list(tparams) and params["weight"].shape == (4, 2, 3)
    assert params["weight"].requires_grad and params["weight"].is_leaf
    x, tx = _pair(5, 3, seed=16, dtype="float32")
    out = F.vmap(lambda p, b, d: F.functional_call(models[0], (p, b), (d,)), (0, 0, None))(params, buffers, x)
    tout = TF.vmap(lambda p, b, d: TF.functional_call(tmodels[0], (p, b), (d,)), (0, 0, None))(tparams, tbuffers, tx)
    _close(out, tout, atol=1e-6)
    out.sum().backward()  # the stacked leaves are trainable
    tout.sum().backward()
    _close(params["weight"].grad, tparams["weight"].grad, atol=1e-5)
    with pytest.raises(RuntimeError, match="stack_module_state: Expected at least one model, got 0."):
        F.stack_module_state([])
    with pytest.raises(RuntimeError, match="Expected all models to be of the same class."):
        F.stack_module_state([nn.Linear(3, 2), nn.Conv1d(1, 1, 1)])
    models[1].eval()
    with pytest.raises(RuntimeError, match="Expected all models to have the same training/eval mode."):
        F.stack_module_state(models)


def test_functional_call_multiple_dicts_and_errors():
    m = nn.Linear(2, 2)
    w = edunn.ones(2, 2)
    b = edunn.zeros(2)
    x = edunn.tensor([[1.0, 2.0]])
    np.testing.assert_allclose(F.functional_call(m, ({"weight": w}, {"bias": b}), x).numpy(), [[3.0, 3.0]])
    with pytest.raises(ValueError, match=r"\['weight'\] appeared in multiple dictionaries"):
        F.functional_call(m, ({"weight": w}, {"weight": w}), x)
    with pytest.raises(ValueError, match="Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts"):
        F.functional_call(m, 3, x)
    with pytest.raises(ValueError, match="Expected all elements of parameter_and_buffer_dicts to be dictionaries"):
        F.functional_call(m, ({"weight": w}, 3), x)


def test_replace_all_batch_norm_modules_functionalize_debug_unwrap():
    net = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Sequential(nn.BatchNorm1d(4)))
    assert F.replace_all_batch_norm_modules_(net) is net
    for bn in (net[1], net[2][0]):
        assert bn.running_mean is None and bn.running_var is None and bn.num_batches_tracked is None
        assert not bn.track_running_stats
    x, _ = _pair(6, 3, dtype="float32")
    assert F.vmap(net, in_dims=1, out_dims=1)(x.unsqueeze(1).expand(6, 2, 3)).shape == (6, 2, 4)

    def f(a):
        a = a.clone()
        a.add_(1)
        return a, a.view(-1)

    x, tx = _pair(2, 2)
    _close(F.functionalize(f)(x), TF.functionalize(f)(tx))
    out = F.functionalize(f, remove="mutations_and_views")(x)
    out[1][0] = 100.0
    assert out[0][0, 0].item() != 100.0
    with pytest.raises(RuntimeError, match="received invalid argument for remove=x"):
        F.functionalize(f, remove="x")
    assert F.debug_unwrap(x) is x
    assert F.grad(lambda a: (F.debug_unwrap(a) ** 2).sum())(x).shape == (2, 2)


def test_nested_grads_keep_levels_apart():
    """Perturbation confusion: the inner grad differentiates only through its own input."""
    x, tx = _pair(3, seed=17)
    s = edunn.tensor(3.0, dtype=edunn.float64)
    ts = torch.tensor(3.0, dtype=torch.float64)
    _close(F.grad(lambda a: F.grad(lambda b: a * b)(a))(s), TF.grad(lambda a: TF.grad(lambda b: a * b)(a))(ts))
    inner = lambda lib, fn: lambda w: fn(lambda z: (w * z.exp()).sum())(w * 0 + 1).sum()  # noqa: E731
    _close(F.grad(inner(edunn, F.grad))(x), TF.grad(inner(torch, TF.grad))(tx))
    _close(F.jvp(F.grad(f_poly), (x,), (x,)), TF.jvp(TF.grad(f_poly), (tx,), (tx,)))
    _close(F.jacrev(F.jacrev(f_poly))(x), TF.jacrev(TF.jacrev(f_poly))(tx))


def test_transformed_functions_pass_gradcheck():
    """Finite differences in float64, independent of torch: the results of grad and vmap are
    differentiable by ordinary autograd when the inputs require grad."""
    x = edunn.tensor(np.random.default_rng(18).standard_normal(4), dtype=edunn.float64, requires_grad=True)
    assert edunn.autograd.gradcheck(F.grad(lambda a: (a.sin() * a).sum()), (x,))
    assert edunn.autograd.gradcheck(lambda a: F.vmap(lambda r: r.exp() * r.sum())(a.reshape(2, 2)), (x,))
    assert edunn.autograd.gradcheck(lambda a: F.jvp(f_vec, (a,), (a.detach() * 0 + 1,))[1], (x,))


def test_transforms_on_device(device):
    x = edunn.tensor([[0.5, -1.0, 2.0], [1.5, 0.25, -0.5]], device=device)
    g = F.vmap(F.grad(lambda a: (a ** 3).sum()))(x)
    assert g.device == x.device
    np.testing.assert_allclose(g.cpu().numpy(), 3 * x.cpu().numpy() ** 2, rtol=1e-6)
    j = F.jacfwd(lambda a: a.sin())(x[0])
    np.testing.assert_allclose(j.cpu().numpy(), np.diag(np.cos(x[0].cpu().numpy())), rtol=1e-6, atol=1e-7)
    assert F.rearrange(x, "a b -> b a").cpu().numpy().tolist() == x.cpu().numpy().T.tolist()


def test_closure_over_tensors_requiring_grad_stays_differentiable():
    """As PyTorch: a transform's result keeps its graph to a user's tensor that requires grad,
    even one captured by closure (a model's parameters), and only to those."""
    x, tx = _pair(3, seed=19)
    w, tw = _pair(3, seed=20)
    w.requires_grad_()
    tw.requires_grad_()
    f = lambda lib_w: lambda a: (lib_w * a.sin()).sum() * (lib_w ** 2).sum()  # noqa: E731
    g, tg = F.grad(f(w))(x), TF.grad(f(tw))(tx)
    assert g.grad_fn is not None and tg.grad_fn is not None
    g.sum().backward()
    tg.sum().backward()
    _close(w.grad, tw.grad)
    (o, fn), (to, _) = F.vjp(f(w), x), TF.vjp(f(tw), tx)
    assert (o.grad_fn is None) == (to.grad_fn is None) and fn(o * 0 + 1)[0].grad_fn is not None
    assert F.grad(f(w.detach()))(x).grad_fn is None
