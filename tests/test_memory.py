"""The graph is freed after backward: no node outlives its outputs, no reference cycles, and a
training loop's memory stays flat (lesson 02)."""
import gc
import os
import weakref

import pytest

import edunn

pytestmark = pytest.mark.lesson02


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def test_graph_node_dies_with_its_outputs():
    x = edunn.randn(4, 4, requires_grad=True)
    h = (x * 2).tanh()
    node = weakref.ref(h.grad_fn)
    out = (h.exp() * h).sum()
    del h
    out.backward()
    del out
    assert node() is None, "a graph node survived its outputs: a reference cycle or a leak"
    assert x.grad is not None


def test_graph_node_dies_without_backward():
    x = edunn.randn(3, requires_grad=True)
    y = x.exp() * x
    node = weakref.ref(y.grad_fn)
    del y
    assert node() is None


def test_saved_tensors_released_after_backward():
    x = edunn.randn(5, requires_grad=True)
    y = x.exp()
    z = (y * y).sum()
    node = z.grad_fn
    z.backward()
    assert node._saved is None  # freed: no retain_graph


def _mlp_step(params, x, lr=0.01):
    w1, b1, w2 = params
    h = (x @ w1 + b1).tanh()
    loss = ((h @ w2) ** 2).sum()
    loss.backward()
    with edunn.no_grad():
        for p in params:
            p -= lr * p.grad
            p.grad = None
    return loss.item()


def _params():
    g = edunn.Generator().manual_seed(0)
    return [edunn.randn(32, 64, generator=g).mul_(0.1).requires_grad_(),
            edunn.zeros(64, requires_grad=True),
            edunn.randn(64, 1, generator=g).mul_(0.1).requires_grad_()]


def test_no_cyclic_garbage_per_iteration():
    params = _params()
    x = edunn.randn(16, 32)
    for _ in range(5):
        _mlp_step(params, x)
    gc.collect()
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        for _ in range(20):
            _mlp_step(params, x)
        found = gc.collect()
    finally:
        if was_enabled:
            gc.enable()
    # a cycle per iteration would give >= 20 objects; the graph must be freed by refcounting
    assert found < 10, f"gc.collect() found {found} objects in cycles after 20 training steps"


def test_training_loop_memory_is_flat():
    params = _params()
    x = edunn.randn(16, 32)
    for _ in range(100):
        _mlp_step(params, x)
    gc.collect()
    after_100 = _rss_bytes()
    for i in range(900):
        _mlp_step(params, x)
        if i % 300 == 0:
            gc.collect()
    gc.collect()
    after_1000 = _rss_bytes()
    grown = (after_1000 - after_100) / 2**20
    assert grown < 20, f"RSS grew by {grown:.1f} MB between iteration 100 and 1000"
