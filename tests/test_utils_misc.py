"""``edunn.utils``' small pieces against ``torch.utils``: ``swap_tensors``, ``set_module``,
``dlpack``, ``hooks.unserializable_hook``/``warn_if_has_hooks`` and ``deterministic``."""
import weakref

import numpy as np
import pytest

import edunn
from edunn.utils import dlpack, hooks
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01


@needs_torch
def test_swap_tensors_like_torch():
    for m in (edunn, torch):
        a = m.nn.Parameter(m.ones(2))
        b = m.zeros(3)
        b.note = "from b"
        a_id, b_id = id(a), id(b)
        m.utils.swap_tensors(a, b)
        assert (id(a), id(b)) == (a_id, b_id)
        assert type(a) is m.Tensor and type(b) is m.nn.Parameter
        assert a.tolist() == [0.0, 0.0, 0.0] and b.tolist() == [1.0, 1.0]
        assert a.note == "from b" and not hasattr(b, "note")
        assert b.requires_grad and not a.requires_grad
        c, d = m.ones(1), m.ones(1)
        refs = [weakref.ref(c)]  # kept alive: swapping must refuse
        with pytest.raises(RuntimeError, match="Cannot swap t1 because it has weakref associated with it"):
            m.utils.swap_tensors(c, d)
        with pytest.raises(RuntimeError, match="Cannot swap t2 because it has weakref"):
            m.utils.swap_tensors(d, c)
        assert refs[0]() is c


def test_swap_tensors_refuses_different_slots_and_keeps_module_references():
    class Slotted(edunn.Tensor):
        __slots__ = ("extra",)

    s = Slotted(2)
    with pytest.raises(RuntimeError, match="different slots"):
        edunn.utils.swap_tensors(s, edunn.zeros(2))
    layer = edunn.nn.Linear(2, 1)
    w = layer.weight
    edunn.utils.swap_tensors(w, edunn.nn.Parameter(edunn.full((1, 2), 3.0)))
    assert layer.weight is w and layer.weight.tolist() == [[3.0, 3.0]]


@needs_torch
def test_set_module_like_torch():
    for m in (edunn, torch):
        def f():
            pass
        m.utils.set_module(f, "edunn.somewhere")
        assert f.__module__ == "edunn.somewhere"
        with pytest.raises(TypeError, match="The mod argument should be a string"):
            m.utils.set_module(f, 3)


@needs_torch
def test_dlpack_names_and_round_trip():
    assert {k: int(v) for k, v in dlpack.DLDeviceType.__members__.items()} == \
        {k: int(v) for k, v in torch.utils.dlpack.DLDeviceType.__members__.items()}
    assert dlpack.from_dlpack is edunn.from_dlpack and dlpack.to_dlpack is edunn.to_dlpack
    t = torch.arange(4.)
    x = dlpack.from_dlpack(t)
    t[0] = 9  # shares memory
    assert x.tolist() == [9.0, 1.0, 2.0, 3.0]
    back = torch.utils.dlpack.from_dlpack(dlpack.to_dlpack(edunn.arange(3.)))
    np.testing.assert_array_equal(back.numpy(), [0.0, 1.0, 2.0])
    assert dlpack.DLDeviceType.kDLCPU == t.__dlpack_device__()[0]


@needs_torch
def test_hook_serialization_warnings_like_torch():
    def plain(grad):
        return grad

    @hooks.unserializable_hook
    def marked(grad):
        return grad

    assert marked.__torch_unserializable__ is True
    x = edunn.ones(2, requires_grad=True)
    x.register_hook(marked)
    import warnings
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        hooks.warn_if_has_hooks(x)
        hooks.warn_if_has_hooks(edunn.ones(2))
    x.register_hook(plain)
    with pytest.warns(UserWarning, match="backward hook .*plain.* on tensor will not be serialized"):
        hooks.warn_if_has_hooks(x)
    y = x * 2  # a non-leaf's hooks are found too
    y.register_hook(plain)
    with pytest.warns(UserWarning, match="will not be serialized"):
        hooks.warn_if_has_hooks(y)
    t = torch.ones(2, requires_grad=True)
    t.register_hook(plain)
    with pytest.warns(UserWarning, match="backward hook .*plain.* on tensor will not be serialized"):
        torch.utils.hooks.warn_if_has_hooks(t)


@needs_torch
def test_deterministic_fill_flag_like_torch():
    import torch.utils.deterministic  # noqa: F401
    det = edunn.utils.deterministic
    assert det.fill_uninitialized_memory is torch.utils.deterministic.fill_uninitialized_memory is True
    try:
        det.fill_uninitialized_memory = False
        assert det.fill_uninitialized_memory is False
        with pytest.raises(RuntimeError, match="expected a bool, but got str"):
            det.fill_uninitialized_memory = "yes"
        with pytest.raises(RuntimeError, match="expected a bool, but got str"):
            torch.utils.deterministic.fill_uninitialized_memory = "yes"
    finally:
        det.fill_uninitialized_memory = True
