"""A leaf keeps a gradient only the engine holds (no copy, as PyTorch); every gradient that
something else can see is copied, so changing one ``.grad`` in place never changes another."""
import numpy as np
import pytest

import edunn
import edunn.autograd.engine as engine

pytestmark = pytest.mark.lesson02


def shares(a, b):
    return np.shares_memory(a._data, b._data)


def test_fresh_gradient_is_kept_not_copied():
    x = edunn.randn(3, 4, requires_grad=True)
    w = edunn.randn(4, 2, requires_grad=True)
    y = x @ w
    made = []  # ids only: holding the gradients would (rightly) force a copy
    y.grad_fn.register_hook(lambda grads_in, grads_out: made.extend(id(g._data) for g in grads_in))
    y.sum().backward()
    assert engine._sole_owner_refs > 0
    assert id(x.grad._data) in made and id(w.grad._data) in made


def test_one_gradient_to_two_leaves_is_copied():
    a, b = edunn.randn(3, requires_grad=True), edunn.randn(3, requires_grad=True)
    (a + b).exp().sum().backward()
    assert not shares(a.grad, b.grad)
    before = b.grad.clone()
    a.grad.add_(1)
    assert edunn.equal(b.grad, before)


def test_gradient_held_by_a_tensor_hook_is_copied():
    a, b = edunn.randn(3, requires_grad=True), edunn.randn(3, requires_grad=True)
    store = []
    y = a + b
    y.register_hook(lambda g: store.append(g))
    (y * 2).sum().backward()
    assert not shares(a.grad, store[0]) and not shares(b.grad, store[0])


def test_gradient_returned_by_a_leaf_hook_is_copied():
    a = edunn.randn(3, requires_grad=True)
    keep = []
    a.register_hook(lambda g: keep.append(g * 1) or keep[-1])
    a.exp().sum().backward()
    assert not shares(a.grad, keep[0])


def test_retained_intermediate_gradient_is_not_shared_with_the_leaf():
    a = edunn.randn(3, requires_grad=True)
    y = a.clone()
    y.retain_grad()
    y.exp().sum().backward()
    assert not shares(a.grad, y.grad)


def test_identity_scalar_add_and_views():
    a = edunn.randn(2, 3, requires_grad=True)
    (a + 1.0).exp().sum().backward()
    g1 = a.grad.clone()
    a.grad = None
    v = a.view(6)
    (v * 3).sum().backward()
    assert np.allclose(a.grad.numpy(), 3) and not np.allclose(g1.numpy(), 3)


def test_grad_with_inputs_and_accumulation():
    a = edunn.randn(3, requires_grad=True)
    g, = edunn.autograd.grad(a.exp().sum(), [a])
    a.exp().sum().backward(inputs=[a])
    assert not shares(a.grad, g)
    a.exp().sum().backward()
    np.testing.assert_allclose(a.grad.numpy(), 2 * g.numpy(), rtol=1e-6)


def test_a_leaf_reached_twice_runs_its_hooks_once_on_the_summed_gradient():
    # PyTorch's AccumulateGrad node sums the incoming gradients first: a hook sees 2x, not x twice
    torch = pytest.importorskip("torch")
    seen, tseen, posts = [], [], []
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    x.register_hook(lambda g: seen.append(g.tolist()))
    x.register_post_accumulate_grad_hook(lambda p: posts.append(p.grad.tolist()))
    (x * x + x.exp()).sum().backward()
    tx = torch.tensor([1.0, 2.0], requires_grad=True)
    tx.register_hook(lambda g: tseen.append(g.tolist()))
    (tx * tx + tx.exp()).sum().backward()
    assert len(seen) == 1 and len(posts) == 1
    assert seen[0] == pytest.approx(tseen[0]) and posts[0] == pytest.approx(tx.grad.tolist())
