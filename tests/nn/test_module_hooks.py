"""Module hooks (lesson 04): forward pre/post hooks, full backward pre/post hooks, the old
backward hook, the global registrars; call order, arguments and replaced values compared with
PyTorch on the same model."""
import warnings

import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson04, needs_torch]

X = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
W1 = np.random.default_rng(1).standard_normal((5, 3)).astype(np.float32)
W2 = np.random.default_rng(2).standard_normal((2, 5)).astype(np.float32)


def build(lib):
    class Lin(lib.nn.Module):
        def __init__(self, w):
            super().__init__()
            self.weight = lib.nn.Parameter(lib.tensor(w))

        def forward(self, x, scale=1.0):
            return (x @ self.weight.T) * scale

    class Act(lib.nn.Module):
        def forward(self, x):
            return lib.tanh(x)

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.l1, self.act, self.l2 = Lin(W1), Act(), Lin(W2)

        def forward(self, x):
            return self.l2(self.act(self.l1(x)))

    return Net()


def arr(t):
    return None if t is None else np.asarray(t.detach().numpy(), dtype=np.float64).round(5).tolist()


def shapes(ts):
    return [None if t is None else tuple(t.shape) for t in ts]


def scenario(lib, kind):
    """Run one hook scenario; return a log of everything observable."""
    net = build(lib)
    log = []
    x = lib.tensor(X, requires_grad=True)
    if kind == "forward_order":
        for name, m in net.named_children():
            m.register_forward_pre_hook(lambda m, a, n=name: log.append(("pre", n, shapes(a))))
            m.register_forward_hook(lambda m, a, o, n=name: log.append(("post", n, tuple(o.shape))))
            m.register_forward_hook(lambda m, a, o, n=name: log.append(("first", n)), prepend=True)
        net(x)
    elif kind == "replace_input_output":
        net.l1.register_forward_pre_hook(lambda m, a: (a[0] * 2,))
        net.l2.register_forward_hook(lambda m, a, o: o + 1)
        net.act.register_forward_pre_hook(lambda m, a: a[0] * 0.5)  # a bare value is wrapped
        log.append(arr(net(x)))
    elif kind == "kwargs":
        def pre(m, args, kwargs):
            log.append(("pre", sorted(kwargs)))
            return args, {"scale": 3.0}
        net.l1.register_forward_pre_hook(pre, with_kwargs=True)
        net.l1.register_forward_hook(lambda m, a, k, o: log.append(("post", k)) , with_kwargs=True)
        log.append(arr(net.l1(x, scale=2.0)))
    elif kind == "always_call":
        class Boom(lib.nn.Module):
            def forward(self, x):
                raise ValueError("boom")
        b = Boom()
        b.register_forward_hook(lambda m, a, o: log.append(("always", o)), always_call=True)
        b.register_forward_hook(lambda m, a, o: log.append("never"))
        try:
            b(x)
        except ValueError as e:
            log.append(str(e))
    elif kind == "full_backward":
        for name, m in net.named_children():
            m.register_full_backward_pre_hook(lambda m, go, n=name: log.append(("bpre", n, shapes(go))))
            m.register_full_backward_hook(
                lambda m, gi, go, n=name: log.append(("bpost", n, shapes(gi), shapes(go), arr(go[0]))))
        net(x).sum().backward()
        log.append(arr(x.grad))
    elif kind == "replace_grads":
        net.l2.register_full_backward_pre_hook(lambda m, go: (go[0] * 10,))
        net.act.register_full_backward_hook(lambda m, gi, go: (gi[0] * 0 + 1,))
        net(x).sum().backward()
        log.append(arr(x.grad))
        log.append(arr(net.l1.weight.grad))
        log.append(arr(net.l2.weight.grad))
    elif kind == "input_without_grad":
        x = lib.tensor(X)  # no input requires grad: hooks still run, with grad_input None
        net.l1.register_full_backward_hook(lambda m, gi, go: log.append(("l1", shapes(gi), shapes(go))))
        net(x).sum().backward()
        log.append(arr(net.l1.weight.grad))
    elif kind == "removed":
        h1 = net.l1.register_forward_hook(lambda m, a, o: log.append("fwd"))
        h2 = net.l1.register_full_backward_hook(lambda m, gi, go: log.append("bwd"))
        h1.remove()
        h2.remove()
        net(x).sum().backward()
        log.append("done")
    elif kind == "global":
        mm = lib.nn.modules.module
        handles = [
            mm.register_module_forward_pre_hook(lambda m, a: log.append(("gpre", type(m).__name__))),
            mm.register_module_forward_hook(lambda m, a, o: log.append(("gpost", type(m).__name__))),
            mm.register_module_full_backward_hook(lambda m, gi, go: log.append(("gbwd", type(m).__name__))),
            mm.register_module_full_backward_pre_hook(lambda m, go: log.append(("gbpre", type(m).__name__))),
        ]
        net.l1.register_forward_pre_hook(lambda m, a: log.append(("local_pre", "l1")))
        try:
            net(x).sum().backward()
        finally:
            for h in handles:
                h.remove()
        net(x)
        log.append("after removal")
    elif kind == "old_backward_hook":
        with warnings.catch_warnings(record=True) as w:
            warnings.simplefilter("always")
            net.act.register_backward_hook(lambda m, gi, go: log.append(("old", shapes(gi), shapes(go))))
            net(x).sum().backward()
        log.append(sorted({type(x.message).__name__ for x in w if "non-full" in str(x.message)}))
    return log


SCENARIOS = ["forward_order", "replace_input_output", "kwargs", "always_call", "full_backward",
             "replace_grads", "input_without_grad", "removed", "global", "old_backward_hook"]


@pytest.mark.parametrize("kind", SCENARIOS)
def test_hooks_like_pytorch(kind):
    assert scenario(edunn, kind) == scenario(torch, kind)


def test_mixing_old_and_full_backward_hooks_is_an_error():
    for lib in (edunn, torch):
        m = build(lib).l1
        m.register_backward_hook(lambda *a: None)
        with pytest.raises(RuntimeError, match="Cannot use both regular backward hooks and full backward hooks"):
            m.register_full_backward_hook(lambda *a: None)


def test_wrong_number_of_grads_from_hook():
    for lib in (edunn, torch):
        net = build(lib)
        net.l1.register_full_backward_hook(lambda m, gi, go: (gi[0], gi[0]))
        with pytest.raises(RuntimeError, match="Backward hook returned an invalid number of grad_input, got 2, but expected 1"):
            net(lib.tensor(X, requires_grad=True)).sum().backward()


def test_bad_pre_hook_with_kwargs_result():
    net = build(edunn)
    net.l1.register_forward_pre_hook(lambda m, a, k: 3, with_kwargs=True)
    with pytest.raises(RuntimeError, match="forward pre-hook must return None or a tuple"):
        net(edunn.tensor(X))


def test_handle_as_context_manager():
    net = build(edunn)
    log = []
    with net.l1.register_forward_hook(lambda m, a, o: log.append(1)):
        net(edunn.tensor(X))
    net(edunn.tensor(X))
    assert log == [1]


def test_registration_hooks_global():
    mm = edunn.nn.modules.module
    seen = []
    hs = [mm.register_module_parameter_registration_hook(lambda m, n, p: seen.append(("param", n))),
          mm.register_module_buffer_registration_hook(lambda m, n, b: seen.append(("buffer", n))),
          mm.register_module_module_registration_hook(lambda m, n, s: seen.append(("module", n)))]
    try:
        m = edunn.nn.Module()
        m.w = edunn.nn.Parameter(edunn.ones(1))
        m.register_buffer("b", edunn.ones(1))
        m.sub = edunn.nn.Module()
    finally:
        for h in hs:
            h.remove()
    assert seen == [("param", "w"), ("buffer", "b"), ("module", "sub")]
