"""``edunn.optim.Optimizer``, the base class, against ``torch.optim.Optimizer`` (lesson 14):
parameter groups, named parameters, state, zero_grad, closures, state_dict and
load_state_dict (layout, casting, copying, errors that leave the optimizer unchanged), every
kind of hook with its order and removal, repr and pickling."""
from __future__ import annotations

import copy
import pickle
import re
import warnings

import numpy as np
import pytest

import edunn
from edunn import optim
from edunn.optim.optimizer import Optimizer, required
from edunn.utils.hooks import RemovableHandle
from tests.opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson14


def _p(*shape, fill=1.0):
    return edunn.full(shape, fill, requires_grad=True)


class PlainSGD(Optimizer):
    """The smallest subclass the contract allows: what a learner writes in lesson 14."""

    def __init__(self, params, lr=required):
        super().__init__(params, {"lr": lr, "differentiable": False})

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with edunn.enable_grad():
                loss = closure()
        for group in self.param_groups:
            for p in group["params"]:
                if p.grad is not None:
                    self.state[p]["n"] = self.state[p].get("n", 0) + 1
                    with edunn.no_grad():
                        p.sub_(group["lr"] * p.grad)
        return loss


# ---------------------------------------------------------------------------- construction
def _both_raise(make, error, message):
    """``make(lib)`` raises ``error`` matching ``message`` in torch and in edunn."""
    for lib in ((torch, "torch"), (edunn, "edunn")) if torch is not None else ((edunn, "edunn"),):
        with pytest.raises(error, match=re.escape(message.replace("{lib}", lib[1]))):
            make(*lib)


@needs_torch
def test_constructor_errors_match_torch():
    def tensor(fw):
        return fw.zeros(2, requires_grad=True)

    _both_raise(lambda fw, n: fw.optim.SGD(tensor(fw), lr=0.1), TypeError,
                "params argument given to the optimizer should be an iterable of Tensors or dicts, "
                "but got {lib}.FloatTensor")
    _both_raise(lambda fw, n: fw.optim.SGD([], lr=0.1), ValueError,
                "optimizer got an empty parameter list")
    _both_raise(lambda fw, n: fw.optim.SGD([tensor(fw) * 2], lr=0.1), ValueError,
                "can't optimize a non-leaf Tensor")
    _both_raise(lambda fw, n: fw.optim.SGD([tensor(fw), 3], lr=0.1), TypeError,
                "optimizer can only optimize Tensors, but one of the params is int")
    _both_raise(lambda fw, n: fw.optim.SGD([{"params": {tensor(fw)}}], lr=0.1), TypeError,
                "optimizer parameters need to be organized in ordered collections")
    _both_raise(lambda fw, n: fw.optim.SGD([("a", tensor(fw)), tensor(fw)], lr=0.1), ValueError,
                "all optimizer params should be with/without names. Some param names are missing")
    _both_raise(lambda fw, n: fw.optim.SGD([{"params": [("a", tensor(fw))]},
                                            {"params": [tensor(fw)]}], lr=0.1), ValueError,
                "all optimizer param groups should be with/without names. cannot add param group "
                "without names to the optimizer")
    shared = {"torch": tensor(torch), "edunn": tensor(edunn)}
    _both_raise(lambda fw, n: fw.optim.SGD([{"params": [shared[n]]}, {"params": [shared[n]]}],
                                           lr=0.1), ValueError,
                "some parameters appear in more than one parameter group")


def test_non_leaf_is_fine_when_it_retains_grad_or_when_differentiable():
    x = _p(2) * 2
    x.retain_grad()
    optim.SGD([x], lr=0.1)
    optim.SGD([_p(2) * 2], lr=0.1, differentiable=True)


def test_params_forms_and_groups():
    a, b, c = _p(2), _p(3), _p(1)
    o = optim.SGD(iter([a, b]), lr=0.1)  # any iterable, consumed once
    assert len(o.param_groups) == 1 and o.param_groups[0]["params"] == [a, b]
    assert o.param_groups[0]["momentum"] == 0 and o.param_groups[0]["nesterov"] is False

    o = optim.SGD([{"params": a}, {"params": [b, c], "lr": 0.5, "momentum": 0.9}], lr=0.1)
    assert o.param_groups[0]["params"] == [a]  # a lone tensor becomes a list
    assert [g["lr"] for g in o.param_groups] == [0.1, 0.5]
    assert [g["momentum"] for g in o.param_groups] == [0, 0.9]
    assert o.defaults["lr"] == 0.1

    o = optim.Adam([("w", a), ("b", b)])
    assert o.param_groups[0]["param_names"] == ["w", "b"]
    assert o.state_dict()["param_groups"][0]["param_names"] == ["w", "b"]


def test_add_param_group_fills_defaults_and_checks():
    a, b, c = _p(2), _p(3), _p(1)
    o = optim.Adam([a], lr=0.01, betas=(0.8, 0.9))
    o.add_param_group({"params": [b], "lr": 0.1})
    assert o.param_groups[1]["lr"] == 0.1 and o.param_groups[1]["betas"] == (0.8, 0.9)
    assert set(o.param_groups[1]) == set(o.param_groups[0])
    with pytest.raises(ValueError, match="some parameters appear in more than one parameter group"):
        o.add_param_group({"params": [c, a]})
    assert len(o.param_groups) == 2  # nothing was added
    with pytest.raises(TypeError, match="param_group must be a dict"):
        o.add_param_group([c])
    with pytest.raises(ValueError, match="parameter group didn't specify a value of required "
                                         "optimization parameter lr"):
        PlainSGD([a])
    PlainSGD([{"params": [a], "lr": 0.1}])
    with pytest.warns(UserWarning, match="duplicate parameters"):
        optim.SGD([a, a], lr=0.1)


def test_state_is_a_defaultdict_keyed_by_the_tensor():
    a, b = _p(2), _p(2)  # equal values, different tensors
    o = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad = edunn.ones(2)
    o.step()
    assert set(o.state) == {a} and b not in o.state
    assert isinstance(o.state[b], dict)  # defaultdict: an empty dict on first access
    assert set(o.state[a]) == {"momentum_buffer"}


def test_zero_grad_both_ways():
    a, b = _p(2), _p(3)
    o = optim.SGD([a, b], lr=0.1)
    (a.sum() * 2 + b.sum()).backward()
    grad_a = a.grad
    o.zero_grad(set_to_none=False)
    assert a.grad is grad_a  # zeroed in place, same tensor
    np.testing.assert_array_equal(a.grad.numpy(), [0, 0])
    np.testing.assert_array_equal(b.grad.numpy(), [0, 0, 0])
    o.zero_grad()
    assert a.grad is None and b.grad is None
    o.zero_grad(False)  # no grads: nothing to do
    assert a.grad is None


def test_zero_grad_detaches_a_grad_with_history():
    a = _p(2)
    o = optim.SGD([a], lr=0.1)
    (a * a).sum().backward(create_graph=True)
    assert a.grad.requires_grad
    o.zero_grad(set_to_none=False)
    assert not a.grad.requires_grad and a.grad.grad_fn is None


def test_step_runs_without_grad_and_closure_with_grad():
    a = _p(2)
    seen = {}

    def closure():
        seen["enabled"] = edunn.is_grad_enabled()
        loss = (a * a).sum()
        a.grad = None
        loss.backward()
        return loss

    o = optim.SGD([a], lr=0.25)
    with edunn.no_grad():
        loss = o.step(closure)
    assert seen["enabled"] and float(loss) == 2.0
    np.testing.assert_allclose(a.detach().numpy(), [0.5, 0.5])
    assert a.is_leaf and a.requires_grad


def test_base_step_is_abstract():
    class NoStep(Optimizer):
        pass

    with pytest.raises(NotImplementedError):
        NoStep([_p(1)], {"lr": 0.1}).step()


# ---------------------------------------------------------------------------- hooks
def test_step_hooks_order_arguments_and_removal():
    calls = []
    a = _p(2)
    o = PlainSGD([a], lr=0.1)
    a.grad = edunn.ones(2)
    g_pre = optim.optimizer.register_optimizer_step_pre_hook(lambda opt, args, kw: calls.append("global pre"))
    g_post = optim.optimizer.register_optimizer_step_post_hook(lambda opt, args, kw: calls.append("global post"))
    try:
        h1 = o.register_step_pre_hook(lambda opt, args, kw: calls.append(("pre", args, kw)))
        h2 = o.register_step_post_hook(lambda opt, args, kw: calls.append("post"))
        assert isinstance(h1, RemovableHandle) and isinstance(h2, RemovableHandle)
        o.step()
        assert calls == ["global pre", ("pre", (), {}), "global post"][:2] + ["post", "global post"]

        # a pre hook may replace step's arguments
        def closure():
            calls.append("closure")
            return 7.0
        h3 = o.register_step_pre_hook(lambda opt, args, kw: ((), {"closure": closure}))
        calls.clear()
        assert o.step() == 7.0 and "closure" in calls

        h1.remove(), h2.remove(), h3.remove()
        g_pre.remove(), g_post.remove()
        calls.clear()
        o.step()
        assert calls == []
        bad = o.register_step_pre_hook(lambda opt, args, kw: "nonsense")
        with pytest.raises(RuntimeError, match="must return None or a tuple of \\(new_args, new_kwargs\\)"):
            o.step()
        bad.remove()
    finally:
        g_pre.remove()
        g_post.remove()


def test_step_hooks_run_once_for_a_subclass_calling_super():
    calls = []

    class Logged(optim.SGD):
        def step(self, closure=None):
            calls.append("sub")
            return super().step(closure)

    a = _p(2)
    o = Logged([a], lr=0.1)
    o.register_step_pre_hook(lambda *args: calls.append("pre"))
    a.grad = edunn.ones(2)
    o.step()
    assert calls == ["pre", "sub"]


def test_state_dict_hooks():
    a = _p(2)
    o = optim.SGD([a], lr=0.1)
    order = []
    o.register_state_dict_pre_hook(lambda opt: order.append("pre1"))
    o.register_state_dict_pre_hook(lambda opt: order.append("pre0"), prepend=True)

    def post(opt, sd):
        order.append("post")
        sd["extra"] = 1
    o.register_state_dict_post_hook(post)
    h = o.register_state_dict_post_hook(lambda opt, sd: {"replaced": True, **sd})
    sd = o.state_dict()
    assert order == ["pre0", "pre1", "post"] and sd["extra"] == 1 and sd["replaced"]
    h.remove()
    assert "replaced" not in o.state_dict()

    loaded = []
    o2 = optim.SGD([_p(2)], lr=0.5)

    def load_pre(opt, sd):
        loaded.append("pre")
        sd = dict(sd)
        sd["param_groups"] = [dict(g, lr=0.25) for g in sd["param_groups"]]
        return sd
    o2.register_load_state_dict_pre_hook(load_pre)
    o2.register_load_state_dict_post_hook(lambda opt: loaded.append(("post", opt.param_groups[0]["lr"])))
    o2.load_state_dict(o.state_dict())
    assert loaded == ["pre", ("post", 0.25)]


# ---------------------------------------------------------------------------- state_dict
def test_state_dict_numbers_params_across_groups():
    a, b, c = _p(2), _p(3), _p(1)
    o = optim.SGD([{"params": [a, b]}, {"params": [c], "lr": 0.5}], lr=0.1, momentum=0.9)
    for p in (a, c):
        p.grad = edunn.ones(p.shape)
    o.step()
    sd = o.state_dict()
    assert [g["params"] for g in sd["param_groups"]] == [[0, 1], [2]]
    assert set(sd["state"]) == {0, 2}
    assert sd["state"][0]["momentum_buffer"] is o.state[a]["momentum_buffer"]  # not a copy
    assert sd["param_groups"][1]["lr"] == 0.5


def test_load_state_dict_casts_copies_and_keeps_step():
    a = edunn.ones(3, dtype=edunn.float64, requires_grad=True)
    o = optim.Adam([a], lr=0.1)
    saved = {"state": {0: {"step": edunn.tensor(4.0), "exp_avg": edunn.ones(3),
                           "exp_avg_sq": edunn.ones(3)}},
             "param_groups": [dict(o.state_dict()["param_groups"][0], lr=0.2)]}
    o.load_state_dict(saved)
    st = o.state[a]
    assert st["exp_avg"].dtype == edunn.float64 and st["exp_avg_sq"].dtype == edunn.float64
    assert st["step"].dtype == edunn.float32 and float(st["step"]) == 4.0
    assert st["step"] is not saved["state"][0]["step"]  # a deep copy
    saved["state"][0]["exp_avg"].mul_(5)
    saved["param_groups"][0]["lr"] = 9.0
    np.testing.assert_array_equal(st["exp_avg"].numpy(), [1, 1, 1])
    assert o.param_groups[0]["lr"] == 0.2 and o.param_groups[0]["params"] == [a]


def test_load_state_dict_keeps_step_python_number_working():
    """An old checkpoint with a Python number as "step" becomes a tensor (``__setstate__``)."""
    a = _p(3)
    o = optim.Adam([a])
    sd = o.state_dict()
    sd["state"] = {0: {"step": 3, "exp_avg": edunn.zeros(3), "exp_avg_sq": edunn.zeros(3)}}
    o.load_state_dict(sd)
    assert isinstance(o.state[a]["step"], edunn.Tensor) and float(o.state[a]["step"]) == 3.0


@needs_torch
def test_failed_load_state_dict_raises_like_torch_and_changes_nothing():
    a, b = _p(2), _p(3)
    o = optim.SGD([a, b], lr=0.1, momentum=0.9)
    a.grad, b.grad = edunn.ones(2), edunn.ones(3)
    o.step()
    before = copy.deepcopy(o.state_dict())
    groups_before = o.param_groups

    two_groups = optim.SGD([{"params": [_p(2)]}, {"params": [_p(3)]}], lr=0.5).state_dict()
    wrong_size = optim.SGD([_p(2)], lr=0.5).state_dict()
    for bad, message in [(two_groups, "loaded state dict has a different number of parameter groups"),
                         (wrong_size, "loaded state dict contains a parameter group that doesn't "
                                      "match the size of optimizer's group")]:
        with pytest.raises(ValueError, match=re.escape(message)):
            o.load_state_dict(bad)
        t_bad = torch.optim.SGD([torch.zeros(2, requires_grad=True)] * 1, lr=0.1)
        if bad is two_groups:
            t_bad = torch.optim.SGD([{"params": [torch.zeros(1, requires_grad=True)]},
                                     {"params": [torch.zeros(1, requires_grad=True)]}], lr=0.1)
        t_opt = torch.optim.SGD([torch.zeros(2, requires_grad=True), torch.zeros(3, requires_grad=True)],
                                lr=0.1)
        with pytest.raises(ValueError, match=re.escape(message)):
            t_opt.load_state_dict(t_bad.state_dict())
    with pytest.raises(KeyError, match="param_groups"):
        o.load_state_dict({"state": {}})
    assert o.param_groups is groups_before
    after = o.state_dict()
    assert after["param_groups"] == before["param_groups"]
    for k in before["state"]:
        np.testing.assert_array_equal(after["state"][k]["momentum_buffer"].numpy(),
                                      before["state"][k]["momentum_buffer"].numpy())


@needs_torch
@pytest.mark.parametrize("name,kwargs", [("SGD", {"lr": 0.1, "momentum": 0.9}),
                                         ("Adam", {}), ("AdamW", {"amsgrad": True}),
                                         ("Adamax", {}), ("NAdam", {}), ("RAdam", {}),
                                         ("SparseAdam", {})])
def test_repr_matches_torch(name, kwargs):
    tp = [torch.zeros(2, requires_grad=True), torch.zeros(1, requires_grad=True)]
    ep = [edunn.zeros(2, requires_grad=True), edunn.zeros(1, requires_grad=True)]
    t = getattr(torch.optim, name)([{"params": tp[:1]}, {"params": tp[1:], "lr": 0.5}], **kwargs)
    e = getattr(optim, name)([{"params": ep[:1]}, {"params": ep[1:], "lr": 0.5}], **kwargs)
    assert repr(e) == repr(t)
    assert repr(e).startswith(f"{name} (\nParameter Group 0\n")


def test_pickle_and_deepcopy_keep_state_and_param_identity():
    a = _p(2)
    o = optim.Adam([a], lr=0.1)
    a.grad = edunn.ones(2)
    o.step()
    assert set(o.__getstate__()) == {"defaults", "state", "param_groups"}
    for o2 in (pickle.loads(pickle.dumps(o)), copy.deepcopy(o)):
        p2 = o2.param_groups[0]["params"][0]
        assert p2 is not a and p2 in o2.state
        np.testing.assert_array_equal(o2.state[p2]["exp_avg"].numpy(), o.state[a]["exp_avg"].numpy())
        assert o2._optimizer_step_pre_hooks == {}
        p2.grad = edunn.ones(2)
        o2.step()  # still works
        assert float(o2.state[p2]["step"]) == 2.0


def test_learning_rate_can_be_changed_in_place():
    """What schedulers do: write a new ``lr`` into each group between steps."""
    a = _p(1, fill=0.0)
    o = optim.SGD([a], lr=1.0)
    a.grad = edunn.ones(1)
    o.step()
    o.param_groups[0]["lr"] = 0.5
    o.step()
    np.testing.assert_allclose(a.detach().numpy(), [-1.5])


def test_no_warning_during_a_plain_step():
    a = _p(2)
    o = optim.Adam([a])
    a.grad = edunn.ones(2)
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        o.step()


@needs_torch
@pytest.mark.parametrize("name", ["Optimizer", "SGD", "Adam", "AdamW", "Adamax", "NAdam", "RAdam",
                                  "SparseAdam"])
def test_signatures_match_torch(name):
    import inspect

    def describe(fn):
        return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]
    assert describe(getattr(optim, name).__init__) == describe(getattr(torch.optim, name).__init__)
    if name == "Optimizer":
        for method in ("zero_grad", "step", "state_dict", "load_state_dict", "add_param_group",
                       "register_step_pre_hook", "register_step_post_hook",
                       "register_state_dict_pre_hook", "register_state_dict_post_hook",
                       "register_load_state_dict_pre_hook", "register_load_state_dict_post_hook"):
            assert describe(getattr(optim.Optimizer, method)) == \
                describe(getattr(torch.optim.Optimizer, method)), method
