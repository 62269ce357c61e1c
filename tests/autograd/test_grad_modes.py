"""no_grad, enable_grad, set_grad_enabled, inference_mode (lesson 02)."""
import threading

import pytest

import edunn

pytestmark = pytest.mark.lesson02


def _x():
    return edunn.tensor([1.0, 2.0], requires_grad=True)


def test_no_grad_context_and_decorators():
    x = _x()
    with edunn.no_grad():
        assert not edunn.is_grad_enabled()
        y = x * 2
    assert edunn.is_grad_enabled()
    assert not y.requires_grad and y.grad_fn is None

    @edunn.no_grad()
    def f(t):
        return t * 2

    @edunn.no_grad
    def g(t):
        return t * 3

    assert not f(x).requires_grad and not g(x).requires_grad
    assert f.__name__ == "f"


def test_enable_grad_inside_no_grad():
    x = _x()
    with edunn.no_grad():
        with edunn.enable_grad():
            y = x * 2
        z = x * 2
    assert y.requires_grad and not z.requires_grad

    @edunn.enable_grad()
    def h(t):
        return t * 2

    with edunn.no_grad():
        assert h(x).requires_grad


def test_set_grad_enabled_call_context_decorator():
    x = _x()
    with edunn.set_grad_enabled(False):
        assert not (x * 2).requires_grad
    assert (x * 2).requires_grad
    edunn.set_grad_enabled(False)  # as a plain call: takes effect at once
    try:
        assert not edunn.is_grad_enabled() and not (x * 2).requires_grad
    finally:
        edunn.set_grad_enabled(True)
    assert edunn.is_grad_enabled()

    @edunn.set_grad_enabled(False)
    def f(t):
        return t * 2

    assert not f(x).requires_grad and edunn.is_grad_enabled()
    with pytest.raises(TypeError):
        edunn.set_grad_enabled("yes")


def test_inference_mode():
    x = _x()
    with edunn.inference_mode():
        assert edunn.is_inference_mode_enabled() and not edunn.is_grad_enabled()
        y = x * 2
    assert not y.requires_grad and not edunn.is_inference_mode_enabled()
    with edunn.inference_mode(False):
        assert (x * 2).requires_grad

    @edunn.inference_mode()
    def f(t):
        return t * 2

    assert not f(x).requires_grad


def test_mode_restored_after_exception():
    with pytest.raises(ValueError):
        with edunn.no_grad():
            raise ValueError
    assert edunn.is_grad_enabled()


def test_grad_mode_is_per_thread():
    seen = []

    def worker():
        seen.append(edunn.is_grad_enabled())

    with edunn.no_grad():
        t = threading.Thread(target=worker)
        t.start()
        t.join()
    assert seen == [True]


def test_optimizer_update_under_no_grad():
    w = edunn.tensor([1.0, -2.0], requires_grad=True)
    (w * w).sum().backward()
    with edunn.no_grad():
        w -= 0.1 * w.grad
    assert w.is_leaf and w.requires_grad
    assert [round(v, 6) for v in w.tolist()] == [0.8, -1.6]
    with edunn.no_grad():
        w.mul_(0.5)
    assert w.tolist()[0] == pytest.approx(0.4)
