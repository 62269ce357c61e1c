"""``nn.Module``: registration, iteration, modes, casts, state_dict/load_state_dict and repr,
each compared with what PyTorch does on the same model built the same way."""
import copy
import pickle
import warnings
from collections import OrderedDict

import numpy as np
import pytest

import edunn
import edunn.nn as nn
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson03


def build(lib):
    """The same small model in edunn or torch: shared submodule, buffers of both kinds,
    a None parameter, nested containers."""
    class Block(lib.nn.Module):
        def __init__(self, n):
            super().__init__()
            self.weight = lib.nn.Parameter(lib.arange(n * n, dtype=lib.float32).reshape(n, n) / 10)
            self.register_parameter("bias", None)
            self.register_buffer("running", lib.zeros(n))
            self.register_buffer("scratch", lib.ones(n), persistent=False)
            self.steps = lib.tensor(3)  # a plain attribute, not registered

        def forward(self, x):
            return x @ self.weight.T + self.running

        def extra_repr(self):
            return f"n={self.weight.shape[0]}"

    class Net(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.first = Block(3)
            self.body = lib.nn.Sequential(Block(3), lib.nn.ModuleList([Block(3), Block(3)]))
            self.shared = self.first
            self.head = lib.nn.ModuleDict({"out": Block(3)})
            self.scale = lib.nn.Parameter(lib.ones(1))

        def forward(self, x):
            x = self.first(x)
            x = self.body[0](x)
            for block in self.body[1]:
                x = block(x)
            return self.head["out"](self.shared(x)) * self.scale

    return Net()


@needs_torch
def test_names_and_order_match_pytorch():
    e, t = build(edunn), build(torch)
    assert [n for n, _ in e.named_parameters()] == [n for n, _ in t.named_parameters()]
    assert [n for n, _ in e.named_buffers()] == [n for n, _ in t.named_buffers()]
    assert [n for n, _ in e.named_modules()] == [n for n, _ in t.named_modules()]
    assert [n for n, _ in e.named_modules(remove_duplicate=False)] == \
        [n for n, _ in t.named_modules(remove_duplicate=False)]
    assert [n for n, _ in e.named_parameters(remove_duplicate=False)] == \
        [n for n, _ in t.named_parameters(remove_duplicate=False)]
    assert [n for n, _ in e.named_children()] == [n for n, _ in t.named_children()]
    assert [n for n, _ in e.named_parameters(prefix="model", recurse=False)] == \
        [n for n, _ in t.named_parameters(prefix="model", recurse=False)]
    assert list(e.state_dict().keys()) == list(t.state_dict().keys())
    assert list(e.state_dict(prefix="m.", keep_vars=True).keys()) == \
        list(t.state_dict(prefix="m.", keep_vars=True).keys())
    assert len(list(e.parameters())) == len(list(t.parameters()))
    assert len(list(e.modules())) == len(list(t.modules()))
    assert len(list(e.children())) == len(list(t.children()))


@needs_torch
def test_repr_matches_pytorch():
    e, t = build(edunn), build(torch)
    assert repr(e) == repr(t)


def test_state_dict_detaches_unless_keep_vars():
    m = build(edunn)
    sd = m.state_dict()
    assert not isinstance(sd["scale"], nn.Parameter) and not sd["scale"].requires_grad
    assert sd["scale"]._data is m.scale._data          # the same storage: no copy
    assert m.state_dict(keep_vars=True)["scale"] is m.scale
    assert "first.scratch" not in sd and "first.running" in sd
    assert sd._metadata[""] == {"version": 1}


def test_get_submodule_parameter_buffer():
    m = build(edunn)
    assert m.get_submodule("body.1.0") is m.body[1][0]
    assert m.get_submodule("") is m
    assert m.get_parameter("body.0.weight") is m.body[0].weight
    assert m.get_buffer("head.out.running") is m.head["out"].running
    with pytest.raises(AttributeError, match="has no attribute `nope`"):
        m.get_submodule("body.nope")
    with pytest.raises(AttributeError, match="`weight` is not an nn.Module"):
        m.get_submodule("first.weight.x")
    with pytest.raises(AttributeError, match="`running` is not an nn.Parameter"):
        m.get_parameter("first.running")
    with pytest.raises(AttributeError, match="`weight` is not a buffer"):
        m.get_buffer("first.weight")


def test_set_submodule():
    m = build(edunn)
    new = nn.Module()
    m.set_submodule("body.1.0", new)
    assert m.body[1][0] is new
    with pytest.raises(AttributeError):
        m.set_submodule("body.1.7", new, strict=True)


def test_setattr_routing_and_errors():
    m = nn.Module()
    m.p = nn.Parameter(edunn.ones(2))
    m.register_buffer("b", edunn.zeros(2))
    m.sub = nn.Module()
    assert set(m._parameters) == {"p"} and set(m._buffers) == {"b"} and set(m._modules) == {"sub"}
    with pytest.raises(TypeError, match="cannot assign 'edunn.FloatTensor' as parameter 'p'"):
        m.p = edunn.ones(2)
    with pytest.raises(TypeError, match="as child module 'sub'"):
        m.sub = 3
    with pytest.raises(TypeError, match="as buffer 'b'"):
        m.b = 3
    m.b = edunn.ones(3)                     # a tensor to a buffer name replaces the buffer
    assert m._buffers["b"].shape == (3,)
    m.p = None                              # None is allowed for a parameter slot
    assert m._parameters["p"] is None and m.p is None
    with pytest.raises(KeyError, match="contain"):
        m.register_buffer("a.b", edunn.ones(1))
    with pytest.raises(KeyError, match="contain"):
        m.register_parameter("a.b", None)
    with pytest.raises(KeyError, match="contain"):
        m.add_module("a.b", nn.Module())
    with pytest.raises(KeyError, match="already exists"):
        m.register_buffer("sub", edunn.ones(1))
    with pytest.raises(KeyError, match="already exists"):
        m.register_parameter("b", None)
    with pytest.raises(KeyError, match="empty string"):
        m.add_module("", nn.Module())
    with pytest.raises(TypeError, match="is not a Module subclass"):
        m.add_module("x", 3)
    with pytest.raises(TypeError, match="cannot assign 'edunn.FloatTensor' object to parameter"):
        m.register_parameter("q", edunn.ones(1))
    with pytest.raises(ValueError, match="Cannot assign non-leaf Tensor"):
        w = edunn.ones(2, requires_grad=True)
        m.register_parameter("q", nn.Parameter(w * 2) if False else _non_leaf_parameter(w))
    with pytest.raises(AttributeError, match="'Module' object has no attribute 'missing'"):
        m.missing
    # reassigning a name as another kind moves it
    m.sub = nn.Parameter(edunn.ones(1))
    assert "sub" in m._parameters and "sub" not in m._modules
    del m.sub
    assert "sub" not in m._parameters
    del m.b
    assert "b" not in m._buffers


def _non_leaf_parameter(w):
    p = nn.Parameter(edunn.ones(2))
    p.grad_fn = (w * 2).grad_fn  # what a non-leaf parameter looks like
    return p


def test_assign_before_init():
    class Bad(nn.Module):
        def __init__(self):
            self.w = nn.Parameter(edunn.ones(1))
    with pytest.raises(AttributeError, match="before Module.__init__"):
        Bad()


def test_buffer_class_and_persistence():
    m = nn.Module()
    m.a = nn.Buffer(edunn.ones(2))
    m.b = nn.Buffer(edunn.ones(2), persistent=False)
    assert set(m._buffers) == {"a", "b"} and list(m.state_dict()) == ["a"]


def test_train_eval_propagate():
    m = build(edunn)
    assert m.training and all(x.training for x in m.modules())
    assert m.eval() is m
    assert not any(x.training for x in m.modules())
    m.train()
    assert all(x.training for x in m.modules())
    with pytest.raises(ValueError, match="boolean"):
        m.train("yes")


def test_apply_children_first_then_self():
    m = build(edunn)
    seen = []
    m.apply(lambda mod: seen.append(type(mod).__name__))
    assert seen[-1] == "Net" and seen[0] == "Block"
    if torch is not None:
        t = build(torch)
        tseen = []
        t.apply(lambda mod: tseen.append(type(mod).__name__))
        assert seen == tseen


def test_zero_grad_and_requires_grad_():
    m = build(edunn)
    m(edunn.ones(2, 3)).sum().backward()
    assert m.scale.grad is not None
    m.zero_grad(set_to_none=False)
    assert m.scale.grad is not None and float(m.scale.grad.abs().sum()) == 0
    m.zero_grad()
    assert all(p.grad is None for p in m.parameters())
    m.requires_grad_(False)
    assert not any(p.requires_grad for p in m.parameters())


def test_casts_in_place_keep_parameter_identity():
    m = build(edunn)
    w = m.first.weight
    m(edunn.ones(2, 3)).sum().backward()
    assert m.double() is m
    assert m.first.weight is w and w.dtype == edunn.float64 and w.grad.dtype == edunn.float64
    assert m.first.running.dtype == edunn.float64
    m.float()
    assert w.dtype == edunn.float32
    m.half()
    assert w.dtype == edunn.float16
    m.bfloat16()
    assert w.dtype == edunn.bfloat16
    m.to(edunn.float32)
    assert w.dtype == edunn.float32
    m.register_buffer("count", edunn.tensor(3))
    m.to(edunn.float64)
    assert m.count.dtype == edunn.int64      # integer buffers keep their dtype in to(dtype)
    m.type(edunn.float32)
    assert m.count.dtype == edunn.float32    # type() casts everything
    m.to("cpu")
    m.to(edunn.device("cpu"), edunn.float64)
    assert w.dtype == edunn.float64
    m.to(edunn.zeros(1, dtype=edunn.float32))
    assert w.dtype == edunn.float32
    assert m.to(memory_format=edunn.channels_last) is m
    assert m.cpu() is m and m.share_memory() is m
    with pytest.raises(TypeError, match="floating point or complex dtypes"):
        m.to(edunn.int32)


def test_to_empty_keeps_shapes():
    m = build(edunn)
    m.to_empty(device="cpu")
    assert m.first.weight.shape == (3, 3)


@pytest.mark.gpu
def test_cuda_moves_everything(device):
    if device == "cpu":
        pytest.skip("needs CUDA")
    m = build(edunn).cuda()
    assert all(p.device.type == "cuda" for p in m.parameters())
    assert all(b.device.type == "cuda" for b in m.buffers())
    m.cpu()
    assert all(p.device.type == "cpu" for p in m.parameters())


def test_deepcopy_and_pickle():
    m = build(edunn)
    c = copy.deepcopy(m)
    assert c.shared is c.first and c.first is not m.first
    assert np.array_equal(c.first.weight.detach().numpy(), m.first.weight.detach().numpy())
    assert isinstance(c.first.weight, nn.Parameter)
    w = WithExtra()
    w.count = 4
    p = pickle.loads(pickle.dumps(w))
    assert p.count == 4 and isinstance(p.w, nn.Parameter) and [n for n, _ in p.named_parameters()] == ["w"]


def test_forward_missing():
    with pytest.raises(NotImplementedError, match='missing the required "forward" function'):
        nn.Module()(1)


def test_init_rejects_arguments():
    with pytest.raises(TypeError, match="unexpected keyword argument 'x'"):
        nn.Module(x=1)


# ---------------------------------------------------------------------------- load_state_dict
def test_load_state_dict_round_trip_values():
    a, b = build(edunn), build(edunn)
    with edunn.no_grad():
        for p in a.parameters():
            p.add_(1.5)
        a.first.running.fill_(7)
    result = b.load_state_dict(a.state_dict())
    assert repr(result) == "<All keys matched successfully>"
    for (n1, p1), (n2, p2) in zip(a.state_dict().items(), b.state_dict().items()):
        assert n1 == n2 and np.array_equal(p1.numpy(), p2.numpy())
    assert isinstance(b.first.weight, nn.Parameter)


def _values(m):
    return {k: v.numpy().copy() for k, v in m.state_dict().items()}


@needs_torch
def test_strict_errors_list_every_key_and_change_nothing():
    e, t = build(edunn), build(torch)
    before = _values(e)
    sd = {k: v.clone() + 1 for k, v in e.state_dict().items()}
    tsd = {k: v.clone() + 1 for k, v in t.state_dict().items()}
    for d, lib in ((sd, edunn), (tsd, torch)):
        del d["body.1.0.weight"]
        del d["head.out.running"]
        d["extra.thing"] = lib.ones(1)
        d["body.9.weight"] = lib.ones(1)
        d["first.weight"] = lib.ones(4, 4)
        d["scale"] = lib.ones(2)
    with pytest.raises(RuntimeError) as e_err:
        e.load_state_dict(sd)
    with pytest.raises(RuntimeError) as t_err:
        t.load_state_dict(tsd)
    assert str(e_err.value).replace("edunn.Size", "torch.Size") == str(t_err.value)
    after = _values(e)
    assert all(np.array_equal(before[k], after[k]) for k in before), "a failed load changed the module"


@needs_torch
def test_non_strict_returns_keys_like_pytorch():
    e, t = build(edunn), build(torch)
    sd = e.state_dict()
    tsd = t.state_dict()
    del sd["scale"], tsd["scale"]
    sd["zzz"] = edunn.ones(1)
    tsd["zzz"] = torch.ones(1)
    r, tr = e.load_state_dict(sd, strict=False), t.load_state_dict(tsd, strict=False)
    assert r.missing_keys == tr.missing_keys and r.unexpected_keys == tr.unexpected_keys
    assert repr(r) == repr(tr)


def test_shape_mismatch_non_strict_still_raises_and_rolls_back():
    m = build(edunn)
    before = _values(m)
    sd = {k: v + 1 for k, v in m.state_dict().items()}
    sd["body.0.weight"] = edunn.ones(2, 2)
    with pytest.raises(RuntimeError, match="size mismatch for body.0.weight"):
        m.load_state_dict(sd, strict=False)
    assert all(np.array_equal(before[k], v) for k, v in _values(m).items())


def test_wrong_type_entry_and_non_mapping():
    m = build(edunn)
    sd = m.state_dict()
    sd["scale"] = [1.0]
    with pytest.raises(RuntimeError, match='expected torch.Tensor or Tensor-like object'):
        m.load_state_dict(sd)
    with pytest.raises(TypeError, match="Expected state_dict to be dict-like"):
        m.load_state_dict([1, 2])


def test_assign_replaces_objects_and_keeps_requires_grad():
    a, b = build(edunn), build(edunn)
    sd = a.state_dict()
    b.load_state_dict(sd, assign=True)
    assert b.first.weight._data is sd["first.weight"]._data
    assert isinstance(b.first.weight, nn.Parameter) and b.first.weight.requires_grad


def test_assign_rolled_back_on_error():
    b = build(edunn)
    w = b.first.weight
    sd = b.state_dict()
    sd = {k: v.clone() for k, v in sd.items()}
    sd["bad"] = edunn.ones(1)
    with pytest.raises(RuntimeError, match="Unexpected key"):
        b.load_state_dict(sd, assign=True)
    assert b.first.weight is w


def test_scalar_loaded_from_one_element_vector():
    m = nn.Module()
    m.register_buffer("n", edunn.tensor(0.0))
    m.load_state_dict({"n": edunn.tensor([4.0])})
    assert m.n.item() == 4.0


class WithExtra(nn.Module):
    def __init__(self):
        super().__init__()
        self.count = 0
        self.w = nn.Parameter(edunn.zeros(2))

    def get_extra_state(self):
        return {"count": self.count}

    def set_extra_state(self, state):
        self.count = state["count"]


def test_extra_state_round_trip_and_rollback():
    a, b = WithExtra(), WithExtra()
    a.count = 5
    sd = a.state_dict()
    assert list(sd) == ["w", "_extra_state"]
    b.load_state_dict(sd)
    assert b.count == 5
    c = WithExtra()
    bad = dict(sd)
    bad["w"] = edunn.ones(3)
    with pytest.raises(RuntimeError, match="size mismatch"):
        c.load_state_dict(bad)
    assert c.count == 0
    with pytest.raises(RuntimeError, match='Missing key.*"_extra_state"'):
        WithExtra().load_state_dict({"w": edunn.ones(2)})
    with pytest.raises(RuntimeError, match='Unexpected key.*"_extra_state"'):
        m = nn.Module()
        m.load_state_dict({"_extra_state": 1})


@needs_torch
def test_state_dict_hooks_order_and_effects():
    def run(lib):
        log = []
        m = lib.nn.Module()
        m.register_buffer("old_name", lib.zeros(1))
        m.register_state_dict_pre_hook(lambda mod, prefix, keep_vars: log.append(("pre", prefix, keep_vars)))

        def post(mod, sd, prefix, meta):
            log.append(("post", prefix, sorted(sd)))
            sd["added"] = lib.ones(1)
        m.register_state_dict_post_hook(post)
        sd = m.state_dict(prefix="x.")

        def rename(mod, sd, prefix, meta, strict, missing, unexpected, errors):
            log.append(("load_pre", prefix, sorted(sd)))
            if prefix + "legacy" in sd:
                sd[prefix + "old_name"] = sd.pop(prefix + "legacy")
        m.register_load_state_dict_pre_hook(rename)

        def post_load(mod, keys):
            log.append(("load_post", list(keys.missing_keys), list(keys.unexpected_keys)))
            keys.unexpected_keys.clear()
        m.register_load_state_dict_post_hook(post_load)
        res = m.load_state_dict({"legacy": lib.full((1,), 3.0), "junk": lib.ones(1)})
        return log, sorted(sd), float(m.old_name[0]), list(res.unexpected_keys)

    assert run(edunn) == run(torch)


def test_state_dict_post_hook_must_return_none():
    m = nn.Module()
    m.register_state_dict_post_hook(lambda *a: {})
    with pytest.raises(RuntimeError, match="must return None"):
        m.state_dict()


def test_load_post_hook_must_return_none():
    m = nn.Module()
    m.register_load_state_dict_post_hook(lambda mod, keys: 1)
    with pytest.raises(RuntimeError, match="not expected to return new values"):
        m.load_state_dict({})


def test_positional_state_dict_args_warn():
    m = build(edunn)
    with warnings.catch_warnings(record=True) as w:
        warnings.simplefilter("always")
        sd = m.state_dict(None, "p.")
    assert any("Positional args are being deprecated" in str(x.message) for x in w)
    assert next(iter(sd)).startswith("p.")


@needs_torch
def test_pytorch_state_dict_loads_into_edunn():
    e, t = build(edunn), build(torch)
    with torch.no_grad():
        for p in t.parameters():
            p.normal_()
    e.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in t.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((4, 3)).astype(np.float32)
    np.testing.assert_allclose(e(edunn.tensor(x)).detach().numpy(),
                               t(torch.tensor(x)).detach().numpy(), rtol=1e-5, atol=1e-5)
