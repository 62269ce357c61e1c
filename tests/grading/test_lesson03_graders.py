"""The graders of lesson 03: edunn's ``nn.Module`` and the notebook's own ``Module`` get full
marks, the stubs zero, planted mistakes less than full marks with a specific message.

The planted mistakes are the notebook's finished ``Module`` with one method rewritten wrong."""

from pathlib import Path

import pytest

import edunn
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero
from edunn.nn import Parameter

pytestmark = pytest.mark.lesson03

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "03_module.ipynb"
EXERCISES = ["03.registration", "03.named_parameters", "03.train_eval", "03.state_dict",
             "03.load_state_dict"]


def _solution_namespace():
    """Run the notebook's exercise cells with ``check`` as the identity; return their names."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import edunn\nfrom collections import namedtuple\nfrom edunn.nn import Parameter\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.fixture(scope="module")
def Module():
    if not SOLUTION.exists():
        pytest.skip("solutions/03_module.ipynb is missing")
    return _solution_namespace()["Module"]


def _stub(*args, **kwargs):
    raise NotImplementedError("your turn: replace this line with your code")


def test_the_reference_gets_full_marks():
    for exercise_id in EXERCISES:
        assert_full_marks(exercise_id, edunn.nn.Module)


def test_the_notebook_solutions_get_full_marks(Module):
    for exercise_id in EXERCISES:
        assert_full_marks(exercise_id, Module)


def test_stubs_get_zero(Module):
    for exercise_id in EXERCISES:
        assert_zero(exercise_id, StubClass)
    stub_methods = {"03.registration": "__setattr__", "03.named_parameters": "named_parameters",
                    "03.train_eval": "train", "03.state_dict": "state_dict",
                    "03.load_state_dict": "load_state_dict"}
    for exercise_id, method in stub_methods.items():
        assert_zero(exercise_id, type("Stubbed", (Module,), {method: _stub}))

    class StubInit(Module):
        def __init__(self):
            _stub()

    assert_zero("03.registration", StubInit)


# ---------------------------------------------------------------------------- 03.registration

def test_registration_mistakes(Module):
    class GetattrRecurses(Module):
        def __getattr__(self, name):
            for home in (self._parameters, self._buffers, self._modules):
                if name in home:
                    return home[name]
            raise AttributeError(name)

    class KeepsDictEntry(Module):
        def __setattr__(self, name, value):
            if isinstance(value, (Parameter, Module)):
                d = self.__dict__
                if "_parameters" not in d:
                    raise AttributeError("cannot assign parameters before Module.__init__() call")
                (d["_parameters"] if isinstance(value, Parameter) else d["_modules"])[name] = value
            else:
                super().__setattr__(name, value)

    class AnyTensorIsAParameter(Module):
        def __setattr__(self, name, value):
            if isinstance(value, edunn.Tensor) and not isinstance(value, Parameter) \
                    and name not in self.__dict__.get("_buffers", {}):
                self.__dict__["_parameters"][name] = value
            else:
                super().__setattr__(name, value)

    class NoTypeError(Module):
        def __setattr__(self, name, value):
            params = self.__dict__.get("_parameters", {})
            if name in params and value is not None and not isinstance(value, Parameter):
                del params[name]
                object.__setattr__(self, name, value)
            else:
                super().__setattr__(name, value)

    class PopsOwnEntry(Module):
        def __setattr__(self, name, value):
            if isinstance(value, Parameter):
                self.__dict__.get("_parameters", {}).pop(name, None)
            super().__setattr__(name, value)

    class NoBufferRule(Module):
        def __setattr__(self, name, value):
            if name in self.__dict__.get("_buffers", {}) and not isinstance(value, Parameter):
                object.__setattr__(self, name, value)
            else:
                super().__setattr__(name, value)

    class NoneLeavesTheDict(Module):
        def __setattr__(self, name, value):
            if value is None and name in self.__dict__.get("_parameters", {}):
                del self.__dict__["_parameters"][name]
                object.__setattr__(self, name, value)
            else:
                super().__setattr__(name, value)

    assert_partial("03.registration", GetattrRecurses, mentions="self.__dict__")
    assert_partial("03.registration", KeepsDictEntry, mentions="__getattr__ is only called when normal lookup fails")
    assert_partial("03.registration", AnyTensorIsAParameter, mentions="a plain Tensor is not a Parameter")
    assert_partial("03.registration", NoTypeError, mentions="should raise TypeError")
    assert_partial("03.registration", PopsOwnEntry, mentions="keeps its place")
    assert_partial("03.registration", NoBufferRule, mentions="already in _buffers")
    assert_partial("03.registration", NoneLeavesTheDict, mentions="declared, absent parameter")
    assert_partial("03.registration", edunn.nn.Linear(2, 2), mentions="check the class itself")


# ---------------------------------------------------------------------------- 03.named_parameters

def _walk_parameters(module, prefix, *, dedup=True, skip_none=True, child_names=True,
                     own_first=True, dot=True, recurse_flag=True, recurse=True, detach=False):
    seen = set()

    def join(prefix, name):
        return (prefix + "." + name if prefix or not dot else name) if dot else prefix + name

    def walk(m, prefix):
        own = []
        for name, p in m._parameters.items():
            if (p is None and skip_none) or (dedup and id(p) in seen):
                continue
            seen.add(id(p))
            own.append((join(prefix, name), p.detach() if detach and p is not None else p))
        kids = []
        if recurse or not recurse_flag:
            for name, child in m._modules.items():
                kids.extend(walk(child, join(prefix, name) if child_names else prefix))
        return own + kids if own_first else kids + own

    return iter(walk(module, prefix))


def _named_variant(Module, **options):
    def named_parameters(self, prefix="", recurse=True):
        return _walk_parameters(self, prefix, recurse=recurse, **options)

    return type("Variant", (Module,), {"named_parameters": named_parameters})


def test_named_parameters_mistakes(Module):
    assert_partial("03.named_parameters", _named_variant(Module, dedup=False), mentions="more than once")
    assert_partial("03.named_parameters", _named_variant(Module, skip_none=False), mentions="skip parameters that are None")
    assert_partial("03.named_parameters", _named_variant(Module, child_names=False),
                   mentions="must start with the submodule's name")
    assert_partial("03.named_parameters", _named_variant(Module, own_first=False), mentions="wrong order")
    assert_partial("03.named_parameters", _named_variant(Module, recurse_flag=False), mentions="recurse=False")
    assert_partial("03.named_parameters", _named_variant(Module, detach=True), mentions="not the module's parameter object")
    assert_partial("03.named_parameters", _named_variant(Module, dot=False), mentions="joined with a dot")

    def leading_dot(self, prefix="", recurse=True):
        return ((("." + n) if not prefix else n, p) for n, p in Module.named_parameters(self, prefix, recurse))

    assert_partial("03.named_parameters", type("V", (Module,), {"named_parameters": leading_dot}),
                   mentions="starts with a dot")

    def as_dict(self, prefix="", recurse=True):
        return dict(Module.named_parameters(self, prefix, recurse))

    assert_partial("03.named_parameters", type("V", (Module,), {"named_parameters": as_dict}),
                   mentions="returned a dict")


# ---------------------------------------------------------------------------- 03.train_eval

def test_train_eval_mistakes(Module):
    def not_recursive(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("mode")
        self.training = mode
        return self

    def returns_none(self, mode=True):
        Module.train(self, mode)

    def class_attribute(self, mode=True):
        if not isinstance(mode, bool):
            raise ValueError("mode")
        type(self).training = mode
        for child in self._modules.values():
            child.train(mode)
        return self

    def eval_no_grad(self):
        for p in self.parameters():
            p.requires_grad_(False)
        return self.train(False)

    def no_check(self, mode=True):
        self.training = mode
        for child in self._modules.values():
            child.train(mode)
        return self

    variant = lambda **methods: type("V", (Module,), methods)  # noqa: E731
    assert_partial("03.train_eval", variant(train=not_recursive), mentions="wrong training flag")
    assert_partial("03.train_eval", variant(train=returns_none), mentions="should return the module itself")
    assert_partial("03.train_eval", variant(train=class_attribute), mentions="class attribute")
    assert_partial("03.train_eval", variant(eval=eval_no_grad), mentions="does not switch off gradients")
    assert_partial("03.train_eval", variant(train=no_check), mentions="should raise ValueError")


# ---------------------------------------------------------------------------- 03.state_dict

def test_state_dict_mistakes(Module):
    def make(**options):
        inner = {}

        def state_dict(self, prefix="", _top=True):
            if _top:
                inner["seen"] = set()
            out = {}
            items = list(self._parameters.items())
            if options.get("buffers", True):
                items += [(n, b) for n, b in self._buffers.items()
                          if options.get("non_persistent") or n not in self._non_persistent_buffers_set]
            for name, t in items:
                if t is None or (options.get("dedup") and id(t) in inner["seen"]):
                    continue
                inner["seen"].add(id(t))
                value = t.detach() if options.get("detach", True) else t
                out[prefix + name] = value.clone() if options.get("clone") else value
            for name, child in self._modules.items():
                child_prefix = prefix + name + "." if options.get("child_prefix", True) else prefix
                out.update(child.state_dict(child_prefix, _top=False))
            return out

        return type("Variant", (Module,), {"state_dict": state_dict})

    assert_partial("03.state_dict", make(non_persistent=True), mentions="persistent=False")
    assert_partial("03.state_dict", make(buffers=False), mentions="persistent buffers")
    assert_partial("03.state_dict", make(dedup=True), mentions="does not skip shared tensors")
    assert_partial("03.state_dict", make(clone=True), mentions="holds copies")
    assert_partial("03.state_dict", make(detach=False), mentions="store param.detach()")
    assert_partial("03.state_dict", make(child_prefix=False), mentions="must start with the submodule's name")


# ---------------------------------------------------------------------------- 03.load_state_dict

def test_load_state_dict_mistakes(Module):
    def copies_as_it_goes(self, state_dict, strict=True):
        own = self.state_dict()
        missing = [k for k in own if k not in state_dict]
        unexpected = [k for k in state_dict if k not in own]
        with edunn.no_grad():
            for key, tensor in own.items():
                if key in state_dict:
                    if tuple(state_dict[key].shape) != tuple(tensor.shape):
                        raise RuntimeError(f"size mismatch for {key}")
                    tensor.copy_(state_dict[key])
        if strict and (missing or unexpected):
            raise RuntimeError(f"Missing key(s): {missing}. Unexpected key(s): {unexpected}")
        return missing, unexpected

    def replaces_parameters(self, state_dict, strict=True):
        result = Module.load_state_dict(self, state_dict, strict)
        for name, value in list(self._parameters.items()):
            if value is not None:
                self._parameters[name] = Parameter(value.detach().clone())
        return result

    def never_strict(self, state_dict, strict=True):
        return Module.load_state_dict(self, state_dict, strict=False)

    def vague_error(self, state_dict, strict=True):
        try:
            return Module.load_state_dict(self, state_dict, strict)
        except RuntimeError:
            raise RuntimeError("the state_dict does not fit the model") from None

    def ignores_shapes(self, state_dict, strict=True):
        own = self.state_dict()
        fitting = {k: v for k, v in state_dict.items() if k not in own or tuple(v.shape) == tuple(own[k].shape)}
        return Module.load_state_dict(self, fitting, strict=False) if not strict else \
            Module.load_state_dict(self, state_dict, strict)

    def shares_storage(self, state_dict, strict=True):
        result = Module.load_state_dict(self, state_dict, strict)
        for key, param in self.named_parameters():
            if key in state_dict:
                param._data = state_dict[key]._data     # the model now aliases the checkpoint
        return result

    def returns_nothing(self, state_dict, strict=True):
        Module.load_state_dict(self, state_dict, strict)

    variant = lambda method: type("V", (Module,), {"load_state_dict": method})  # noqa: E731
    assert_partial("03.load_state_dict", variant(copies_as_it_goes), mentions="check every key and every shape first")
    assert_partial("03.load_state_dict", variant(replaces_parameters), mentions="new objects")
    assert_partial("03.load_state_dict", variant(never_strict), mentions="should raise RuntimeError")
    assert_partial("03.load_state_dict", variant(vague_error), mentions="should name every offending key")
    assert_partial("03.load_state_dict", variant(ignores_shapes), mentions="strict=False")
    assert_partial("03.load_state_dict", variant(shares_storage), mentions="changing the checkpoint's tensor")
    assert_partial("03.load_state_dict", variant(returns_nothing), mentions="should return the pair")
