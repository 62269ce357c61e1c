"""The op-observer hook of ``Function.apply`` (``autograd/op_hooks.py``)."""
import pytest

import edunn
from edunn.autograd import op_hooks


def test_observers_see_each_op_once_outermost_first_and_are_removed():
    calls = []

    def outer(cls, args, kwargs, proceed):
        calls.append(("outer", cls.__name__))
        return proceed()

    def inner(cls, args, kwargs, proceed):
        calls.append(("inner", cls.__name__))
        out = proceed()
        calls.append(("inner-out", tuple(out.shape)))
        return out

    x = edunn.ones(2, 3, requires_grad=True)
    with op_hooks.observing(outer), op_hooks.observing(inner):
        y = (x * 2).sum()
    assert calls == [("outer", "Mul"), ("inner", "Mul"), ("inner-out", (2, 3)),
                     ("outer", "Sum"), ("inner", "Sum"), ("inner-out", ())]
    calls.clear()
    y.backward()
    (x * 3).sum()
    assert calls == [] and x.grad.tolist() == [[2.0] * 3] * 2


def test_an_observer_may_replace_the_result_and_errors_restore_the_state():
    def boom(cls, args, kwargs, proceed):
        raise ValueError("observer failed")

    with pytest.raises(ValueError, match="observer failed"):
        with op_hooks.observing(boom):
            edunn.ones(2) + 1
    assert edunn.autograd.grad_mode.state.op_hooks == ()
    op_hooks.add_hook(boom)
    op_hooks.remove_hook(boom)
    with pytest.raises(RuntimeError, match="not installed"):
        op_hooks.remove_hook(boom)
    assert (edunn.ones(2) + 1).tolist() == [2.0, 2.0]
