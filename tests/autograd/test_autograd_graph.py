"""edunn.autograd.graph against torch.autograd.graph: saved-tensor hooks (order and counts of
pack/unpack calls), save_on_cpu, disable_saved_tensors_hooks, allow_mutation_on_saved_tensors,
register_multi_grad_hook ('all'/'any'), the Node API, gradient edges; autograd.Variable and
set_multithreading_enabled."""
import inspect

import numpy as np
import pytest

import edunn
from edunn.autograd import graph as eg
from opcheck import needs_torch, torch

if torch is not None:
    import torch.autograd.graph as tg


def _custom(lib):
    class Cube(lib.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            ctx.save_for_backward(x, y)
            return x ** 3 * y

        @staticmethod
        def backward(ctx, g):
            x, y = ctx.saved_tensors
            return g * 3 * x ** 2 * y, g * x ** 3
    return Cube


def _hook_log(lib, graph, run):
    log = []

    def pack(t):
        log.append(("pack", tuple(t.shape)))
        return t.detach()

    def unpack(t):
        log.append(("unpack", tuple(t.shape)))
        return t
    with graph.saved_tensors_hooks(pack, unpack):
        out = run(lib)
    log.append("backward")
    out.sum().backward()
    return log


@needs_torch
@pytest.mark.parametrize("case", ["custom", "exp", "matmul", "tanh_relu", "sigmoid_sin"])
def test_pack_unpack_calls_match_torch(case):
    runs = {
        "custom": lambda lib: _custom(lib).apply(lib.ones(2, 3, requires_grad=True),
                                                 lib.ones(3, requires_grad=True)),
        "exp": lambda lib: lib.ones(4, requires_grad=True).exp(),
        "matmul": lambda lib: lib.ones(2, 3, requires_grad=True) @ lib.ones(3, 5, requires_grad=True),
        "tanh_relu": lambda lib: lib.ones(3, requires_grad=True).tanh().relu(),
        "sigmoid_sin": lambda lib: lib.ones(3, requires_grad=True).sigmoid().sin(),
    }
    e, t = _hook_log(edunn, eg, runs[case]), _hook_log(torch, tg, runs[case])
    if case == "matmul":  # both operands are saved, in another order than torch's
        e, t = sorted(map(str, e)), sorted(map(str, t))
    assert e == t


@needs_torch
def test_hooks_keep_gradients_and_double_backward():
    for lib, graph in ((edunn, eg), (torch, tg)):
        x = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        with graph.saved_tensors_hooks(lambda t: t.detach() * 1, lambda t: t):
            y = (x.sin() * x).exp().sum()
        g, = lib.autograd.grad(y, x, create_graph=True)
        gg, = lib.autograd.grad(g.sum(), x)
        if lib is edunn:
            ge, gge = g.detach().numpy(), gg.numpy()
        else:
            np.testing.assert_allclose(ge, g.detach().numpy(), rtol=1e-12)
            np.testing.assert_allclose(gge, gg.numpy(), rtol=1e-12)


def test_innermost_hooks_apply_and_unpack_must_return_a_tensor():
    seen = []
    x = edunn.ones(2, requires_grad=True)
    with eg.saved_tensors_hooks(lambda t: seen.append("outer") or t, lambda t: t):
        with eg.saved_tensors_hooks(lambda t: seen.append("inner") or t, lambda t: t):
            x.exp()
        x.exp()
    assert seen == ["inner", "outer"]
    with eg.saved_tensors_hooks(lambda t: 1, lambda t: 2):
        y = x * x
    with pytest.raises(TypeError, match="unpack_hook expected to be a Tensor but got result of type int"):
        y.sum().backward()
    # the pack hook runs with hooks off: the ops it calls save plainly (as in torch)
    n = []
    with eg.saved_tensors_hooks(lambda t: n.append(1) or t * t, lambda t: t):
        x * x
    assert len(n) == 2


def test_save_on_cpu(device):
    x = edunn.tensor([1.0, 2.0, 3.0], device=device, requires_grad=True)
    with eg.save_on_cpu(pin_memory=True):
        y = (x * x).exp()
    node = y.grad_fn
    assert all(e[0].__class__.__name__ == "_Packed" for e in node._saved)
    assert all(e[0].packed[1].device.type == "cpu" and e[0].packed[0] == x.device for e in node._saved)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.cpu().numpy(), (2 * x * (x * x).exp()).detach().cpu().numpy(), rtol=1e-6)
    assert x.grad.device == x.device


@needs_torch
def test_disable_saved_tensors_hooks_message_like_torch():
    for lib, graph in ((edunn, eg), (torch, tg)):
        with graph.disable_saved_tensors_hooks("no hooks here"):
            with pytest.raises(RuntimeError, match="^no hooks here$"):
                with graph.save_on_cpu():
                    pass
            lib.ones(2, requires_grad=True).exp()  # saving without hooks is fine
        a = lib.ones(2, requires_grad=True)
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):
            with pytest.raises(RuntimeError, match="^disabled later$"):
                with graph.disable_saved_tensors_hooks("disabled later"):
                    pass
        with graph.saved_tensors_hooks(lambda t: t, lambda t: t):  # enabled again
            a * a


@needs_torch
def test_allow_mutation_on_saved_tensors_like_torch():
    grads = []
    for lib, graph in ((edunn, eg), (torch, tg)):
        a = lib.tensor([0.5, 1.0, 2.0], requires_grad=True)
        with graph.allow_mutation_on_saved_tensors() as ctx:
            b = a.clone()
            out = (b ** 2).sum()
            b.sin_()
            out.backward()
        grads.append(a.grad.numpy())
        assert type(ctx).__name__ == "_AllowMutationOnSavedContext"
        b = a.detach().clone().requires_grad_()
        c = b.clone()
        out = (c ** 2).sum()
        c.mul_(2)
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            out.backward()
        with pytest.raises(RuntimeError, match="cannot be nested"):
            with graph.allow_mutation_on_saved_tensors():
                with graph.allow_mutation_on_saved_tensors():
                    pass
        with graph.allow_mutation_on_saved_tensors():
            out = (a.clone() ** 2).sum()
        with pytest.raises(AssertionError, match="Trying to backward outside"):
            out.backward()
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-6)


def _multi(lib, graph, mode, backward):
    a = lib.ones(2, 3, requires_grad=True)
    b = lib.ones(2, 3, requires_grad=True)
    c, d = a * b, a * b
    calls = []
    fn = (lambda grads: calls.append([g is not None for g in grads])) if mode == "all" else \
        (lambda grad: calls.append(tuple(grad.shape)))
    handle = graph.register_multi_grad_hook((a, b, c, d), fn, mode=mode)
    backward(lib, a, b, c, d)
    handle.remove()
    c.sum().backward(retain_graph=True)
    return calls


@needs_torch
@pytest.mark.parametrize("mode", ["all", "any"])
@pytest.mark.parametrize("how", ["plain", "inputs", "twice", "grad"])
def test_register_multi_grad_hook_like_torch(mode, how):
    def backward(lib, a, b, c, d):
        if how == "plain":
            c.sum().backward(retain_graph=True)
        elif how == "inputs":
            c.sum().backward(inputs=(a,), retain_graph=True)
        elif how == "twice":
            (c + d).sum().backward(retain_graph=True)
            d.sum().backward(retain_graph=True)
        else:
            lib.autograd.grad(c.sum(), (b,), retain_graph=True)
    if how == "grad" and mode == "all":  # torch refuses leaves under autograd.grad, and so do we
        for lib, graph in ((edunn, eg), (torch, tg)):
            with pytest.raises(RuntimeError, match="A leaf node was passed to _will_engine_execute_node"):
                _multi(lib, graph, mode, backward)
        return
    assert _multi(edunn, eg, mode, backward) == _multi(torch, tg, mode, backward)


@needs_torch
def test_register_multi_grad_hook_bad_mode():
    for lib, graph in ((edunn, eg), (torch, tg)):
        with pytest.raises(ValueError, match=r"Expects mode to be one of \('all', 'any'\) but got some"):
            graph.register_multi_grad_hook((lib.ones(1, requires_grad=True),), print, mode="some")


@needs_torch
def test_node_api_like_torch():
    for lib, graph in ((edunn, eg), (torch, tg)):
        x = lib.ones(3, requires_grad=True)
        y = _custom(lib).apply(x, lib.ones(3))
        node = y.grad_fn
        assert isinstance(node, graph.Node) and not isinstance(x, graph.Node)
        assert node.name() == "CubeBackward"
        acc = node.next_functions[0][0]
        assert isinstance(acc, graph.Node) and node.next_functions[1] == (None, 0)
        node.metadata["k"] = 1
        assert y.grad_fn.metadata == {"k": 1}
        with pytest.raises(AttributeError):
            node.metadata = {}
        seen = []
        h1 = node.register_prehook(lambda gO: seen.append("pre") or (gO[0] * 2,))
        h2 = node.register_hook(lambda gI, gO: seen.append("post"))
        h3 = acc.register_prehook(lambda gO: seen.append("acc pre"))
        y.sum().backward(retain_graph=True)
        assert seen == ["pre", "post", "acc pre"]
        np.testing.assert_allclose(x.grad.numpy(), 6.0)
        for h in (h1, h2, h3):
            h.remove()
        x.grad = None
        y.sum().backward()
        np.testing.assert_allclose(x.grad.numpy(), 3.0)


@needs_torch
def test_gradient_edges_and_increment_version():
    for lib, graph in ((edunn, eg), (torch, tg)):
        x = lib.ones(2, requires_grad=True)
        y = x * 2
        e = graph.get_gradient_edge(y)
        assert e.node is y.grad_fn and e.output_nr == 0 and e.ownership_token is None
        assert graph.get_gradient_edge(x).node.name().endswith("AccumulateGrad")
        with pytest.raises(RuntimeError, match="does not require gradients"):
            graph.get_gradient_edge(lib.ones(2))
        z = x.sin()  # saves x
        v = x._version
        graph.increment_version(x)
        graph.increment_version([x, y])
        assert x._version == v + 2
        with pytest.raises(RuntimeError, match="modified by an inplace operation"):
            z.sum().backward()


@needs_torch
def test_settings_and_names_match_torch():
    assert sorted(eg.__all__) == sorted(tg.__all__)
    for name in tg.__all__:
        se, st = inspect.signature(getattr(eg, name)), inspect.signature(getattr(tg, name))
        assert list(se.parameters) == list(st.parameters), name
        assert [(p.kind, p.default) for p in se.parameters.values()] == \
            [(p.kind, p.default) for p in st.parameters.values()], name
    eg.set_warn_on_accumulate_grad_stream_mismatch(False)
    eg.set_warn_on_accumulate_grad_stream_mismatch(True)
    eg.set_override_stale_capture_stream(False)
    for bad, exc in (("x", TypeError), (1.5, ValueError), (0.5, RuntimeError)):
        with pytest.raises(exc):
            eg.region_activation_memory_budget(bad)
        with pytest.raises(exc):
            tg.region_activation_memory_budget(bad)


@needs_torch
def test_variable_and_set_multithreading_enabled_like_torch():
    from edunn.autograd import Variable
    t = edunn.ones(2)
    v = Variable(t, requires_grad=True)
    assert v is not t and v.requires_grad and v.is_leaf and not t.requires_grad
    v.data[0] = 5.0
    assert t[0].item() == 5.0  # shares the data
    assert isinstance(t, Variable) and not isinstance([1], Variable)
    assert tuple(Variable().shape) == (0,)
    with pytest.raises(TypeError, match="Variable data has to be a tensor, but got list"):
        Variable([1, 2])
    with pytest.warns(UserWarning, match="volatile was removed"):
        Variable(t, volatile=True)
    with pytest.raises(RuntimeError, match="deprecated"):
        edunn.autograd.variable(1)
    assert edunn.autograd._is_multithreading_enabled()
    with edunn.autograd.set_multithreading_enabled(False):
        assert not edunn.autograd._is_multithreading_enabled()
    assert edunn.autograd._is_multithreading_enabled()
    assert str(inspect.signature(edunn.autograd.set_multithreading_enabled)) == \
        str(inspect.signature(torch.autograd.set_multithreading_enabled))


@needs_torch
def test_inplace_write_into_a_saved_input_under_hooks():
    for lib, graph in ((edunn, eg), (torch, tg)):
        a = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)
        with graph.saved_tensors_hooks(lambda t: t.detach(), lambda t: t):
            x = a * 2
            x.mul_(w)  # w's gradient needs x from before the write
            x.sin().sum().backward()
        np.testing.assert_allclose(w.grad.numpy(), (np.cos([1.0, -4.0, 12.0]) * [2.0, 4.0, 6.0]), rtol=1e-12)
    # an unrelated in-place write into a tensor saved (and still shared) by a hook: the usual error
    a = edunn.tensor([1.0, 2.0], requires_grad=True)
    with eg.saved_tensors_hooks(lambda t: t.detach(), lambda t: t):
        x = a * 1
        y = x.sin()
    x.add_(1)
    with pytest.raises(RuntimeError, match="modified by an inplace operation"):
        y.sum().backward()


@needs_torch
def test_grad_and_backward_take_gradient_edges_like_torch():
    xn = np.random.RandomState(3).randn(2, 3)
    results = []
    for lib, graph in ((edunn, eg), (torch, tg)):
        x = lib.tensor(xn, requires_grad=True)
        y = x.exp()
        z = (y.sin() * y).sum()
        edge_y, edge_x = graph.get_gradient_edge(y), graph.get_gradient_edge(x)
        row = [lib.autograd.grad(z, edge_y, retain_graph=True)[0],               # into y's edge
               lib.autograd.grad(z, (edge_x, y), retain_graph=True),              # leaf edge and a tensor
               lib.autograd.grad(edge_y, x, grad_outputs=lib.ones(2, 3), retain_graph=True)[0]]  # output edge
        with pytest.raises(RuntimeError, match="only for scalar outputs"):
            lib.autograd.grad(edge_y, x, retain_graph=True)
        unused = graph.get_gradient_edge(x.cos())
        with pytest.raises(RuntimeError, match="materialize_grads cannot be used when the given input is a GradientEdge"):
            lib.autograd.grad(z, unused, materialize_grads=True, retain_graph=True)
        row.append(lib.autograd.grad(z, edge_y, materialize_grads=True, retain_graph=True)[0])   # used: fine
        lib.autograd.backward(z, inputs=[edge_y])
        row.append(x.grad)                       # nothing accumulates into a leaf through an edge
        results.append(row)
    mine, theirs = results
    np.testing.assert_allclose(mine[0].numpy(), theirs[0].detach().numpy(), rtol=1e-12)
    for a, b in zip(mine[1], theirs[1]):
        np.testing.assert_allclose(a.numpy(), b.detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(mine[2].numpy(), theirs[2].detach().numpy(), rtol=1e-12)
    np.testing.assert_allclose(mine[3].numpy(), theirs[3].detach().numpy(), rtol=1e-12)
    assert mine[4] is None and theirs[4] is None
