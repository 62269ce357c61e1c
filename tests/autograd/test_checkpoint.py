"""edunn.utils.checkpoint against torch.utils.checkpoint: gradients through checkpointed blocks
(with dropout: the re-run draws the same mask), how many times the block runs, that the block's
activations are not kept, checkpoint_sequential, warnings and errors."""
import inspect
import warnings
import weakref

import numpy as np
import pytest

import edunn
import edunn.nn as enn
from edunn.utils import checkpoint as eck
from opcheck import needs_torch, torch

if torch is not None:
    import torch.utils.checkpoint as tck

VARIANTS = [True, False]


def _pair(*shape, seed=0):
    a = np.random.default_rng(seed).standard_normal(shape)
    return edunn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


def _block(lib, w1, w2, calls, refs, p=0.0):
    F = lib.nn.functional

    def f(x):
        calls.append(1)
        h = F.linear(x, w1).relu()
        refs.append(weakref.ref(h))
        if p:
            h = F.dropout(h, p)
        return F.linear(h, w2).tanh()
    return f


@needs_torch
@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_mlp_gradients_and_call_count_match_torch(use_reentrant):
    (xe, xt), (w1e, w1t), (w2e, w2t) = _pair(5, 4), _pair(8, 4, seed=1), _pair(3, 8, seed=2)
    results = {}
    for lib, ck, x, w1, w2 in ((edunn, eck, xe, w1e, w2e), (torch, tck, xt, w1t, w2t)):
        calls, refs = [], []
        y = ck.checkpoint(_block(lib, w1, w2, calls, refs), x, use_reentrant=use_reentrant)
        after_forward = len(calls)
        alive = [r() is not None for r in refs]
        (y * y).sum().backward()
        results[lib.__name__] = (after_forward, len(calls), alive, y.detach().numpy(),
                                 [t.grad.numpy().copy() for t in (x, w1, w2)])
    e, t = results["edunn"], results["torch"]
    assert e[:3] == t[:3] == (1, 2, [False])  # recomputed once; the activation was not kept
    np.testing.assert_allclose(e[3], t[3], rtol=1e-10)
    for ge, gt in zip(e[4], t[4]):
        np.testing.assert_allclose(ge, gt, rtol=1e-10, atol=1e-12)


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_dropout_block_same_mask_on_recompute(use_reentrant, device):
    rng = np.random.default_rng(3)
    x = edunn.tensor(rng.standard_normal((6, 4)), device=device, requires_grad=True)
    w1 = edunn.tensor(rng.standard_normal((16, 4)), device=device, requires_grad=True)
    w2 = edunn.tensor(rng.standard_normal((2, 16)), device=device, requires_grad=True)
    f = _block(edunn, w1, w2, [], [], p=0.5)
    edunn.manual_seed(7)
    y = eck.checkpoint(f, x, use_reentrant=use_reentrant)
    after = edunn.rand(3, device=device)  # the stream after the forward
    y.sum().backward()
    got = [t.grad.cpu().numpy().copy() for t in (x, w1, w2)]
    for t in (x, w1, w2):
        t.grad = None
    edunn.manual_seed(7)
    y_ref = f(x)
    np.testing.assert_array_equal(y.detach().cpu().numpy(), y_ref.detach().cpu().numpy())
    # backward left the random stream where the forward left it
    np.testing.assert_array_equal(after.cpu().numpy(), edunn.rand(3, device=device).cpu().numpy())
    y_ref.sum().backward()
    for g, t in zip(got, (x, w1, w2)):
        np.testing.assert_allclose(g, t.grad.cpu().numpy(), rtol=1e-12)


def test_without_preserve_rng_state_the_mask_differs():
    x = edunn.ones(200, 4, dtype=edunn.float64, requires_grad=True)
    seen = []

    def f(x):
        m = enn.functional.dropout(x, 0.5)
        seen.append((m != 0).numpy().copy())
        return m * x

    eck.checkpoint(f, x, use_reentrant=False, preserve_rng_state=False).sum().backward()
    assert len(seen) == 2 and not (seen[0] == seen[1]).all()


def test_module_parameters_get_gradients_and_grad_works_non_reentrant():
    edunn.manual_seed(0)
    net = enn.Sequential(enn.Linear(4, 6), enn.ReLU(), enn.Linear(6, 2)).double()
    x = edunn.randn(3, 4, dtype=edunn.float64, requires_grad=True)
    ref = edunn.autograd.grad(net(x).sum(), [x, *net.parameters()])
    got = edunn.autograd.grad(eck.checkpoint(net, x, use_reentrant=False).sum(), [x, *net.parameters()])
    for a, b in zip(got, ref):
        np.testing.assert_allclose(a.numpy(), b.numpy(), rtol=1e-12)


def test_reentrant_refuses_grad_and_backward_inputs_like_torch():
    x = edunn.randn(3, requires_grad=True)
    y = eck.checkpoint(lambda t: t.exp(), x, use_reentrant=True)
    with pytest.raises(RuntimeError, match="use_reentrant=True, torch.utils.checkpoint is incompatible"):
        edunn.autograd.grad(y.sum(), x)


@needs_torch
def test_keyword_arguments_only_non_reentrant():
    x = edunn.randn(3, requires_grad=True)
    y = eck.checkpoint(lambda t, scale: t * scale, x, scale=3.0, use_reentrant=False)
    y.sum().backward()
    np.testing.assert_allclose(x.grad.numpy(), 3.0)
    for ck, t in ((eck, x), (tck, torch.ones(3, requires_grad=True))):
        with pytest.raises(ValueError, match="Unexpected keyword arguments: scale"):
            ck.checkpoint(lambda a, scale: a * scale, t, scale=3.0, use_reentrant=True)


def test_nested_checkpoints_non_reentrant():
    x = edunn.tensor([0.3, -1.2, 2.0], dtype=edunn.float64, requires_grad=True)
    inner = lambda t: (t.sin() * t).exp()  # noqa: E731
    outer = lambda t: eck.checkpoint(inner, t.cos(), use_reentrant=False).tanh()  # noqa: E731
    g, = edunn.autograd.grad(eck.checkpoint(outer, x, use_reentrant=False).sum(), x)
    g_ref, = edunn.autograd.grad(outer(x).sum(), x)
    np.testing.assert_allclose(g.numpy(), g_ref.numpy(), rtol=1e-12)


@needs_torch
@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_checkpoint_sequential_matches_torch(use_reentrant):
    mods = []
    for lib in (edunn, torch):
        lib.manual_seed(0)
        mods.append(lib.nn.Sequential(lib.nn.Linear(4, 5), lib.nn.Tanh(), lib.nn.Linear(5, 5),
                                      lib.nn.ReLU(), lib.nn.Linear(5, 2)).double())
    for pe, pt in zip(mods[0].parameters(), mods[1].parameters()):
        pe.data.copy_(edunn.tensor(pt.detach().numpy()))
    xe, xt = _pair(3, 4)
    ye = eck.checkpoint_sequential(mods[0], 2, xe, use_reentrant=use_reentrant)
    yt = tck.checkpoint_sequential(mods[1], 2, xt, use_reentrant=use_reentrant)
    np.testing.assert_allclose(ye.detach().numpy(), yt.detach().numpy(), rtol=1e-10)
    ye.sum().backward()
    yt.sum().backward()
    np.testing.assert_allclose(xe.grad.numpy(), xt.grad.numpy(), rtol=1e-10)
    for pe, pt in zip(mods[0].parameters(), mods[1].parameters()):
        np.testing.assert_allclose(pe.grad.numpy(), pt.grad.numpy(), rtol=1e-10, atol=1e-12)


@needs_torch
def test_use_reentrant_not_passed_warns_like_torch():
    for ck, lib in ((eck, edunn), (tck, torch)):
        with pytest.warns(UserWarning) as rec:
            ck.checkpoint(lambda t: t * 2, lib.ones(2, requires_grad=True))
        assert "use_reentrant parameter should be passed explicitly" in str(rec[0].message)
        with pytest.warns(UserWarning, match="checkpoint_sequential: the use_reentrant"):
            ck.checkpoint_sequential([lambda t: t * 2, lambda t: t + 1], 2, lib.ones(2, requires_grad=True))


@needs_torch
def test_no_input_requires_grad_warns_like_torch():
    msgs = []
    for ck, lib in ((eck, edunn), (tck, torch)):
        w = lib.ones(2, requires_grad=True)
        with warnings.catch_warnings(record=True) as rec:
            warnings.simplefilter("always")
            y = ck.checkpoint(lambda t: t * w, lib.ones(2), use_reentrant=True)
        msgs.append([str(r.message) for r in rec])
        assert not y.requires_grad  # the classic pitfall: w gets no gradient
    assert msgs[0] == msgs[1] == ["None of the inputs have requires_grad=True. Gradients will be None"]


@needs_torch
def test_bad_arguments_raise_like_torch():
    for ck, lib in ((eck, edunn), (tck, torch)):
        x = lib.ones(2, requires_grad=True)
        with pytest.raises(ValueError, match="Passing `context_fn` or `debug` is only supported"):
            ck.checkpoint(lambda t: t, x, use_reentrant=True, debug=True)
        with pytest.raises(ValueError, match=r"determinism_check should be one of \['default', 'none'\], but got x"):
            ck.checkpoint(lambda t: t, x, use_reentrant=False, determinism_check="x")
        with pytest.raises(RuntimeError, match="Only tuple of tensors is supported. Got Unsupported input type: list"):
            ck.detach_variable([x])


def test_recomputation_mismatch_is_a_checkpoint_error():
    state = {"n": 0}

    def f(x):
        state["n"] += 1
        return x.exp().exp() if state["n"] == 1 else x.exp()  # the re-run saves less

    x = edunn.ones(3, requires_grad=True)
    with eck.set_checkpoint_early_stop(False):
        y = eck.checkpoint(f, x, use_reentrant=False)
    with pytest.raises(eck.CheckpointError, match="A different number of tensors was saved"):
        y.sum().backward()
    state["n"] = 0
    y = eck.checkpoint(f, x, use_reentrant=False, debug=True)
    with pytest.raises(eck.CheckpointError, match="dumping logs of latest computation"):
        y.sum().backward()
    g = [edunn.ones(3), edunn.ones(1)]  # Mul saves its operands: the second one changes shape
    y = eck.checkpoint(lambda t: (t.exp() * g.pop(0)), x, use_reentrant=False)
    with pytest.raises(eck.CheckpointError, match="different metadata"):
        y.sum().backward()


def test_early_stop_and_context_fn():
    log = []

    class Mark:
        def __init__(self, name):
            self.name = name

        def __enter__(self):
            log.append(self.name)

        def __exit__(self, *a):
            pass

    def f(x):
        a = x.exp()
        log.append("after first op")
        return a.sin()

    x = edunn.ones(2, requires_grad=True)
    y = eck.checkpoint(f, x, use_reentrant=False, context_fn=lambda: (Mark("fwd"), Mark("recompute")))
    y.sum().backward()
    # early stop: the re-run stops at the last saved tensor (sin's input) before logging again
    assert log == ["fwd", "after first op", "recompute", "after first op"]


@needs_torch
def test_signatures_and_names_match_torch():
    for name in ["checkpoint", "checkpoint_sequential", "detach_variable", "check_backward_validity",
                 "get_device_states", "set_device_states", "noop_context_fn",
                 "set_checkpoint_early_stop", "set_checkpoint_debug_enabled"]:
        se, st = inspect.signature(getattr(eck, name)), inspect.signature(getattr(tck, name))
        assert list(se.parameters) == list(st.parameters), name
        assert [p.kind for p in se.parameters.values()] == [p.kind for p in st.parameters.values()], name
    assert issubclass(eck.CheckpointError, RuntimeError)
    assert eck.get_device_states(edunn.ones(2)) == ([], [])
    assert eck.DefaultDeviceType.get_device_type() in ("cpu", "cuda")
    assert eck.noop_context_fn()[0].__class__.__name__ == "nullcontext"


@needs_torch
@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_inplace_ops_inside_the_block_match_torch(use_reentrant):
    grads = []
    for lib, ck in ((edunn, eck), (torch, tck)):
        a = lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64, requires_grad=True)
        w = lib.tensor([0.5, -1.0, 2.0], dtype=lib.float64, requires_grad=True)

        def f(a):
            x = a * 2
            x.mul_(w)  # Mul saved x, which is then overwritten: backward needs the old x for w
            x = lib.nn.functional.dropout(x, 0.5, inplace=True)
            return x.sin()
        lib.manual_seed(3)
        ref = lib.autograd.grad(f(a).sum(), [a, w])
        lib.manual_seed(3)
        y = ck.checkpoint(f, a, use_reentrant=use_reentrant)
        y.sum().backward()
        for r, t in zip(ref, (a, w)):
            np.testing.assert_allclose(t.grad.numpy(), r.numpy(), rtol=1e-12)
        grads.append(w.grad.numpy())
    assert grads[0].shape == grads[1].shape


@pytest.mark.parametrize("use_reentrant", VARIANTS)
def test_recompute_replays_the_forward_autocast_state(use_reentrant):
    rng = np.random.default_rng(5)
    x = edunn.tensor(rng.standard_normal((4, 8)), dtype=edunn.float32, requires_grad=True)
    w = edunn.tensor(rng.standard_normal((8, 8)), dtype=edunn.float32, requires_grad=True)
    dtypes = []

    def f(x):
        h = x @ w
        dtypes.append(h.dtype)
        return h.float().tanh()

    with edunn.autocast("cpu", dtype=edunn.bfloat16):
        ref = edunn.autograd.grad(f(x).sum(), [x, w])
        y = eck.checkpoint(f, x, use_reentrant=use_reentrant)
    x.grad = w.grad = None
    y.sum().backward()  # outside autocast: the re-run must still compute in bfloat16
    assert dtypes == [edunn.bfloat16] * 3
    for r, t in zip(ref, (x, w)):
        np.testing.assert_array_equal(t.grad.numpy(), r.numpy())


@needs_torch
def test_graph_exec_group_recomputes_once_across_backward_calls():
    counts = []
    for lib, ck in ((edunn, eck), (torch, tck)):
        calls = []
        x = lib.ones(3, dtype=lib.float64, requires_grad=True)

        def f(t):
            calls.append(1)
            return t.sin(), t.cos()
        a, b = ck.checkpoint(f, x, use_reentrant=False)
        with ck.GraphExecGroup():
            a.sum().backward()  # each call needs a different saved activation
            b.sum().backward()
        with pytest.raises(RuntimeError, match="cannot be nested"):
            with ck.GraphExecGroup(), ck.GraphExecGroup():
                pass
        np.testing.assert_allclose(x.grad.numpy(), np.cos(1.0) - np.sin(1.0))
        counts.append(len(calls))
    assert counts[0] == counts[1] == 2  # the forward and one re-run
