"""Containers (Sequential, ModuleList, ModuleDict, ParameterList, ParameterDict) compared with
PyTorch's names, orders and reprs; Parameter and the lazy mechanism."""
import copy
from collections import OrderedDict

import numpy as np
import pytest

import edunn
import edunn.nn as nn
from edunn.nn.modules.lazy import LazyModuleMixin
from edunn.nn.parameter import UninitializedBuffer, UninitializedParameter, is_lazy
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson03


def leaf(lib, n):
    class Scale(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.s = lib.nn.Parameter(lib.full((1,), float(n)))

        def forward(self, x):
            return x * self.s

        def extra_repr(self):
            return f"n={n}"
    return Scale()


def names(m):
    return [k for k, _ in m.named_parameters()], list(m.state_dict().keys())


@needs_torch
@pytest.mark.parametrize("op", ["build", "ordered", "slice", "del", "del_slice", "insert", "insert_neg",
                                "append_extend", "pop", "setitem", "add", "iadd", "mul", "imul"])
def test_sequential_like_pytorch(op):
    def run(lib):
        mk = lambda n: leaf(lib, n)  # noqa: E731
        s = lib.nn.Sequential(mk(1), mk(2), mk(3))
        if op == "ordered":
            s = lib.nn.Sequential(OrderedDict([("a", mk(1)), ("b", mk(2))]))
        elif op == "slice":
            s = s[1:]
        elif op == "del":
            del s[1]
        elif op == "del_slice":
            del s[:2]
        elif op == "insert":
            s.insert(1, mk(9))
        elif op == "insert_neg":
            s.insert(-1, mk(9))
        elif op == "append_extend":
            s.append(mk(4)).extend([mk(5), mk(6)])
        elif op == "pop":
            popped = s.pop(1)
            s.append(popped)
        elif op == "setitem":
            s[-1] = mk(8)
        elif op == "add":
            s = s + lib.nn.Sequential(mk(7))
        elif op == "iadd":
            s += lib.nn.Sequential(mk(7))
        elif op == "mul":
            s = s * 2
        elif op == "imul":
            s *= 2
        out = s(lib.ones(1)).item()
        return repr(s), names(s), len(s), out, [repr(m) for m in s]
    assert run(edunn) == run(torch)


@needs_torch
def test_module_list_like_pytorch():
    def run(lib):
        ml = lib.nn.ModuleList([leaf(lib, 1), leaf(lib, 1), leaf(lib, 2)])
        ml.append(leaf(lib, 3))
        ml.extend([leaf(lib, 3), leaf(lib, 3)])
        ml.insert(0, leaf(lib, 0))
        r1 = repr(ml)
        del ml[2]
        ml[0] = leaf(lib, 5)
        sl = ml[1:3]
        popped = ml.pop(-1)
        ml += [popped]
        return r1, repr(ml), names(ml), repr(sl), len(ml), repr(ml + lib.nn.ModuleList([leaf(lib, 4)]))
    assert run(edunn) == run(torch)


@needs_torch
def test_module_dict_like_pytorch():
    def run(lib):
        md = lib.nn.ModuleDict({"b": leaf(lib, 1), "a": leaf(lib, 2)})
        md["c"] = leaf(lib, 3)
        md.update([("d", leaf(lib, 4))])
        md.update(OrderedDict([("e", leaf(lib, 5))]))
        popped = md.pop("a")
        r = (repr(md), names(md), list(md.keys()), "b" in md, len(md), repr(popped))
        md.clear()
        return r + (len(md),)
    assert run(edunn) == run(torch)


@needs_torch
def test_parameter_list_and_dict_like_pytorch():
    def run(lib):
        pl = lib.nn.ParameterList([lib.ones(2), lib.nn.Parameter(lib.zeros(3, 4))])
        pl.append(lib.ones(1))
        pl.extend([lib.zeros(2, 2)])
        pl[0] = lib.full((2,), 5.0)
        pd = lib.nn.ParameterDict({"w": lib.ones(2), "b": lib.zeros(1)})
        pd["z"] = lib.ones(3)
        pd.update([("y", lib.ones(1))])
        popped = pd.pop("b")
        return (repr(pl).replace("torch.", "edunn."), names(pl), len(pl), [tuple(p.shape) for p in pl],
                all(isinstance(p, lib.nn.Parameter) for p in pl),
                repr(pd).replace("torch.", "edunn."), names(pd), list(pd.keys()), tuple(popped.shape),
                "w" in pd, pd.get("nope") is None, len(pd))
    assert run(edunn) == run(torch)


def test_containers_errors():
    with pytest.raises(IndexError, match="out of range"):
        nn.Sequential(nn.Module())[3]
    with pytest.raises(IndexError, match="out of range"):
        nn.ModuleList()[0]
    with pytest.raises(KeyError):
        nn.ModuleDict()["x"]
    with pytest.raises(TypeError, match="is not a Module subclass"):
        nn.ModuleList([3])
    with pytest.raises(ValueError, match="only objects of Sequential class"):
        nn.Sequential() + nn.ModuleList()
    with pytest.raises(RuntimeError, match="should not be called"):
        nn.ParameterList()(1)
    with pytest.raises(TypeError, match="not a string"):
        nn.ParameterDict()[1] = edunn.ones(1)


def test_plain_list_registers_nothing_but_module_list_does():
    class Bad(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = [leaf(edunn, 1)]

    class Good(nn.Module):
        def __init__(self):
            super().__init__()
            self.layers = nn.ModuleList([leaf(edunn, 1)])
    assert list(Bad().parameters()) == [] and len(list(Good().parameters())) == 1


# ---------------------------------------------------------------------------- Parameter
def test_parameter_basics():
    t = edunn.arange(3.0)
    p = nn.Parameter(t)
    assert isinstance(p, edunn.Tensor) and p.is_leaf and p.requires_grad
    with edunn.no_grad():
        p.add_(1)
    assert t.tolist() == [1.0, 2.0, 3.0]           # shares storage with what it was made from
    assert type(p * 2) is edunn.Tensor             # results of ops are plain tensors
    assert repr(p).startswith("Parameter containing:\ntensor(")
    assert not nn.Parameter(edunn.ones(1), requires_grad=False).requires_grad
    assert nn.Parameter().shape == (0,)
    q = copy.deepcopy(p)
    assert isinstance(q, nn.Parameter) and q._data is not p._data
    with pytest.raises(RuntimeError, match="floating point"):
        nn.Parameter(edunn.arange(3))


@needs_torch
def test_parameter_repr_like_pytorch():
    e = repr(nn.Parameter(edunn.tensor([1.0, 2.0])))
    t = repr(torch.nn.Parameter(torch.tensor([1.0, 2.0])))
    assert e == t


def test_uninitialized_parameter_and_buffer():
    p = UninitializedParameter()
    assert is_lazy(p) and repr(p) == "<UninitializedParameter>" and p.requires_grad
    with pytest.raises(ValueError, match="uninitialized parameter"):
        p + 1
    with pytest.raises(ValueError, match="uninitialized parameter"):
        p.shape
    p.materialize((2, 3))
    assert type(p) is nn.Parameter and p.shape == (2, 3) and not is_lazy(p)
    b = UninitializedBuffer(dtype=edunn.float64)
    b.materialize(4)
    assert type(b) is edunn.Tensor and b.dtype == edunn.float64 and b.shape == (4,)


class LazyScale(LazyModuleMixin, nn.Module):
    """A lazy layer written the way LazyLinear is: one weight per input feature."""

    def __init__(self):
        super().__init__()
        self.weight = UninitializedParameter()
        self.register_buffer("seen", UninitializedBuffer())

    def initialize_parameters(self, x):
        if self.has_uninitialized_params():
            with edunn.no_grad():
                self.weight.materialize((x.shape[-1],))
                self.seen.materialize((x.shape[-1],))
                self.weight.fill_(2.0)
                self.seen.zero_()

    def forward(self, x):
        return x * self.weight


def test_lazy_module_infers_and_becomes_plain():
    m = LazyScale()
    assert m.has_uninitialized_params()
    sd = m.state_dict()
    assert is_lazy(sd["weight"])
    y = m(edunn.ones(2, 5))
    assert m.weight.shape == (5,) and y.tolist() == [[2.0] * 5] * 2
    assert not hasattr(m, "_initialize_hook")
    assert list(m.state_dict()) == ["weight", "seen"]
    m(edunn.ones(1, 5))  # the hook is gone: no second initialisation


def test_lazy_module_loads_shapes_from_state_dict_and_rolls_back():
    src = LazyScale()
    src(edunn.ones(1, 3))
    dst = LazyScale()
    dst.load_state_dict(src.state_dict())
    assert dst.weight.shape == (3,) and dst.weight.tolist() == [2.0, 2.0, 2.0]
    bad = LazyScale()
    sd = dict(src.state_dict())
    sd["junk"] = edunn.ones(1)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        bad.load_state_dict(sd)
    assert is_lazy(bad.weight), "a failed load must leave a lazy parameter uninitialized"


def test_lazy_missing_initialize_raises():
    class Forgot(LazyModuleMixin, nn.Module):
        def __init__(self):
            super().__init__()
            self.weight = UninitializedParameter()

        def forward(self, x):
            return x
    with pytest.raises(NotImplementedError, match="initialize_parameters is not implemented"):
        Forgot()(edunn.ones(1))


def test_a_lazy_module_moves_and_casts_before_its_first_forward():
    # PyTorch allows ``LazyLinear(3).to(device)`` / ``.double()`` before the shapes are known;
    # the parameters then materialise with that dtype (and on that device).
    m = edunn.nn.LazyLinear(3).double()
    y = m(edunn.ones(2, 4, dtype=edunn.float64))
    assert y.dtype is edunn.float64 and m.weight.dtype is edunn.float64 and m.weight.shape == (3, 4)
    m = edunn.nn.LazyLinear(3).to("cpu").half().float()
    assert m(edunn.ones(2, 5)).dtype is edunn.float32 and m.weight.dtype is edunn.float32
