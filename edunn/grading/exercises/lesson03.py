"""Graders of lesson 03 (Module): the learner's own ``Module`` base class, piece by piece.

The learner writes one class, ``Module``, and grows it cell by cell (``class Module(Module):``
adds the next methods). Each exercise receives that class. The grader defines the same little
models twice -- once on the learner's class, once on ``edunn.nn.Module`` -- with the same
numbers, does the same things to both, and compares what comes out: the registered names and
their order, the objects, the values, the errors. The reference for every exercise is
``edunn.nn.Module`` (``edunn/nn/modules/module.py`` and ``_module_state.py``).

The models (``_zoo``): ``Affine`` (a weight, a bias that may be set to ``None``, plain
attributes), ``Running`` (a parameter, two persistent buffers and a non-persistent one),
``Act`` (no state at all), ``Net`` (three layers and a parameter of its own, assigned after
them) and ``Deep`` (a ``Net`` inside, a weight shared by two layers and a layer registered under
two names).
"""

from __future__ import annotations

from types import SimpleNamespace
from typing import Any, Callable

from edunn.grading import Fail, exercise

REFERENCE = "edunn.nn.Module"

# name -> shape of every number the models are made of
_SHAPES = {
    "fc1.w": (3, 4), "fc1.b": (3,),
    "fc2.w": (2, 3), "fc2.b": (2,),
    "body.fc1.w": (3, 4), "body.fc1.b": (3,),
    "body.norm.g": (3,), "body.norm.m": (3,),
    "body.fc2.w": (2, 3), "body.fc2.b": (2,),
    "body.t": (),
    "head.w": (2, 2), "head.b": (2,),
    "tied.w": (2, 2), "tied.b": (2,),
}


def _values(t) -> dict:
    """Random numbers for every model tensor, as nested lists (so both models get copies)."""
    return {key: t.randn(*shape).tolist() for key, shape in _SHAPES.items()}


def _zoo(Base: type, values: dict) -> SimpleNamespace:
    """The graders' little models, defined as subclasses of ``Base``."""
    import edunn
    from edunn.nn import Parameter

    def tensor(key):
        return edunn.tensor(values[key])

    class Affine(Base):
        def __init__(self, key, bias=True):
            super().__init__()
            self.in_features = len(values[key + ".w"][0])     # a plain attribute
            self.weight = Parameter(tensor(key + ".w"))
            self.bias = Parameter(tensor(key + ".b"))
            if not bias:
                self.bias = None                               # a declared, absent parameter

        def forward(self, x):
            y = x @ self.weight.mT
            return y if self.bias is None else y + self.bias

    class Running(Base):
        def __init__(self, key):
            super().__init__()
            self.gain = Parameter(tensor(key + ".g"))
            self.register_buffer("running_mean", tensor(key + ".m"))
            self.register_buffer("count", edunn.tensor(3))
            self.register_buffer("scratch", edunn.zeros(3), persistent=False)

        def forward(self, x):
            return (x - self.running_mean) * self.gain

    class Act(Base):
        def forward(self, x):
            return x.tanh()

    class Net(Base):
        def __init__(self, key):
            super().__init__()
            self.fc1 = Affine(key + ".fc1")
            self.norm = Running(key + ".norm")
            self.act = Act()
            self.fc2 = Affine(key + ".fc2", bias=False)
            self.temperature = Parameter(tensor(key + ".t"))   # assigned after the layers

        def forward(self, x):
            return self.fc2(self.act(self.norm(self.fc1(x)))) * self.temperature

    class Deep(Base):
        def __init__(self):
            super().__init__()
            self.body = Net("body")
            self.head = Affine("head")
            self.tied = Affine("tied")
            self.tied.weight = self.head.weight                # one weight, two layers
            self.again = self.head                             # one layer, two names

        def forward(self, x):
            h = self.body(x)
            return self.tied(self.head(h)) + self.again(h)

    return SimpleNamespace(Affine=Affine, Running=Running, Act=Act, Net=Net, Deep=Deep)


def _models(t, student: type):
    import edunn

    if not isinstance(student, type):
        raise Fail(f"check the class itself (check('03.registration', Module), with Module the "
                   f"class, not a module made from it); got {type(student).__name__}")
    values = _values(t)
    return _zoo(student, values), _zoo(edunn.nn.Module, values), values


# ---------------------------------------------------------------------------- helpers


def _error_of(function: Callable[[], Any]) -> BaseException | None:
    try:
        function()
    except NotImplementedError:
        raise
    except Exception as error:
        return error
    return None


def _headline(error: BaseException | None) -> str:
    if error is None:
        return "nothing (it returned normally)"
    text = str(error).strip().splitlines()[0] if str(error).strip() else ""
    if len(text) > 160:
        text = text[:157] + "..."
    return f"{type(error).__name__}: {text}" if text else type(error).__name__


def _same_error(t, mine: Callable, ref: Callable, what: str, hint: str | None = None,
                mentions: tuple = ()) -> bool:
    """``mine()`` raises the kind of error ``ref()`` raises (edunn's), naming ``mentions``."""
    want = _error_of(ref)
    got = _error_of(mine)
    if isinstance(got, RecursionError):
        return t.fail(f"{what} ran into RecursionError: your __getattr__ looks an attribute up "
                      "with self._parameters (or similar), which calls __getattr__ again when "
                      "that attribute does not exist yet; read the dictionaries through "
                      "self.__dict__ instead")
    if got is None or not isinstance(got, type(want)):
        message = f"{what} should raise {type(want).__name__} (edunn.nn.Module raises " \
                  f"{_headline(want)}), but it raised {_headline(got)}"
        if hint:
            message += f" (hint: {hint})"
        return t.fail(message)
    missing = [m for m in mentions if m not in str(got)]
    if missing:
        return t.fail(f"{what}: your error message should name {', '.join(repr(m) for m in missing)}; "
                      f"it says {_headline(got)}")
    return t.ok(True, "")


def _dicts(m) -> tuple:
    """``(_parameters, _buffers, _modules)`` of ``m``, read past any ``__getattr__``."""
    d = object.__getattribute__(m, "__dict__")
    missing = [name for name in ("_parameters", "_buffers", "_modules") if name not in d]
    if missing:
        raise Fail(f"your module has no {', '.join(missing)} in its __dict__: __init__ should create "
                   "the dictionaries _parameters, _buffers and _modules (and the set "
                   "_non_persistent_buffers_set) with object.__setattr__")
    return d["_parameters"], d["_buffers"], d["_modules"]


def _layout(m) -> dict:
    """Where each name of ``m`` lives: which dictionary, or the plain ``__dict__``."""
    params, buffers, modules = _dicts(m)
    d = object.__getattribute__(m, "__dict__")
    return {"_parameters": list(params), "_buffers": list(buffers), "_modules": list(modules),
            "__dict__": sorted(k for k in d if not k.startswith("_") and k != "training")}


def _describe_layout(layout: dict) -> str:
    return ", ".join(f"{where}: {names}" for where, names in layout.items())


def _compare_layout(t, mine, ref, what: str, hint: str | None = None) -> bool:
    got, want = _layout(mine), _layout(ref)
    if got == want:
        return t.ok(True, "")
    wrong = [where for where in want if got[where] != want[where]]
    message = (f"{what}: your module has {_describe_layout({w: got[w] for w in wrong})}; "
               f"expected {_describe_layout({w: want[w] for w in wrong})}")
    if hint:
        message += f" (hint: {hint})"
    return t.fail(message)


def _walk(m, prefix: str = ""):
    """``(dotted name, tensor)`` for every parameter and buffer of ``m`` and its submodules,
    straight from the dictionaries (not through the learner's methods); shared ones repeat."""
    params, buffers, modules = _dicts(m)
    for name, value in list(params.items()) + list(buffers.items()):
        if value is not None:
            yield prefix + name, value
    for name, child in modules.items():
        if child is not None:
            yield from _walk(child, prefix + name + ".")


def _snapshot(m) -> dict:
    return {name: value.tolist() for name, value in _walk(m)}


def _all_modules(m, prefix: str = ""):
    yield prefix or "(the model)", m
    for name, child in _dicts(m)[2].items():
        if child is not None:
            yield from _all_modules(child, prefix + ("." if prefix else "") + name)


def _at(m, path: str):
    for part in path.split("."):
        m = getattr(m, part)
    return m


def _pairs(result: Any, what: str) -> list:
    """The learner's ``named_parameters`` result as a list of ``(name, parameter)`` pairs."""
    if result is None:
        raise Fail(f"{what} returned None: return (or yield) the (name, parameter) pairs")
    if isinstance(result, dict):
        raise Fail(f"{what} returned a dict; it should give (name, parameter) pairs, one at a "
                   "time (write it as a generator, with yield)")
    pairs = list(result)
    for item in pairs:
        if not (isinstance(item, tuple) and len(item) == 2 and isinstance(item[0], str)):
            raise Fail(f"{what} gave {type(item).__name__} {str(item)[:60]!r}; each item should be "
                       "a pair (name, parameter) with the name a string")
    return pairs


def _name_diagnosis(got: list, want: list, prefix: str = "", kind: str = "parameter") -> str | None:
    """What a wrong list of names usually means."""
    if len(set(got)) < len(got) and len(set(got)) == len(set(want)) == len(want) and set(got) == set(want):
        return "a name comes twice"
    short = [name.rsplit(".", 1)[-1] for name in want]
    if got != want and [name.replace(".", "") for name in want] == got:
        return "prefix and name are joined with a dot: 'fc1.weight', 'body.fc1.weight'"
    if got != want and any("." in name for name in want) and all(name in short for name in got):
        return (f"the names of a submodule's {kind}s must start with the submodule's name and a "
                f"dot ('fc1.weight', not 'weight'), all the way down ('body.fc1.weight')")
    if any(name.startswith(".") for name in got) and not prefix.startswith("."):
        return ("a name starts with a dot: with prefix '' the top module's names have no dot in "
                "front ('weight', then 'fc1.weight' for a submodule)")
    if sorted(got) == sorted(want):
        return (f"the right names in the wrong order: a module's own {kind}s first, in the order "
                "they were assigned, then each submodule's, in the order the submodules were "
                "assigned (depth first)")
    return None


# ---------------------------------------------------------------------------- 03.registration


@exercise("03.registration", points=4, reference=REFERENCE,
          title="registration through __setattr__ and __getattr__")
def grade_registration(student, t):
    import edunn
    from edunn.nn import Parameter

    S, E, values = _models(t, student)

    with t.group("a Parameter goes into _parameters"):
        m, r = S.Affine("fc1"), E.Affine("fc1")
        params, _, _ = _dicts(m)
        t.equal(list(params), ["weight", "bias"], "the keys of _parameters after self.weight = "
                "Parameter(...) and self.bias = Parameter(...)")
        t.ok("weight" not in object.__getattribute__(m, "__dict__"),
             "the parameter 'weight' also landed in __dict__: keep it only in _parameters (Python "
             "then finds it through __getattr__, and nothing can go out of step)")
        t.ok(params.get("weight") is m.weight, "m.weight is not the Parameter stored in "
             "m._parameters['weight']")
        t.close(m.weight, values["fc1.w"], "m.weight")
        t.close(m(edunn.ones(2, 4)), r(edunn.ones(2, 4)), "m(x), which calls forward")

    with t.group("a Module goes into _modules"):
        m, r = S.Net("body"), E.Net("body")
        _compare_layout(t, m, r, "a Net that assigns fc1, norm, act, fc2 and then the parameter "
                        "temperature", hint="isinstance(value, Module) decides where a value goes")
        t.ok(_dicts(m)[2].get("fc1") is m.fc1, "m.fc1 is not the module stored in m._modules['fc1']")
        t.ok(m.fc1.weight is _dicts(_dicts(m)[2]["fc1"])[0].get("weight"),
             "m.fc1.weight is not the submodule's registered weight")
        t.close(m(edunn.ones(2, 4)), r(edunn.ones(2, 4)), "the Net's output")

    with t.group("other values are ordinary attributes"):
        m, r = S.Affine("fc1"), E.Affine("fc1")
        for model in (m, r):
            model.mask = edunn.ones(3)       # a tensor, but not a Parameter
            model.name = "affine"
        _compare_layout(t, m, r, "after self.mask = edunn.ones(3) and self.name = 'affine'",
                        hint="only Parameter objects are parameters: a Parameter is a Tensor, but "
                             "a plain Tensor is not a Parameter")
        t.equal(m.in_features, 4, "m.in_features (a plain int attribute)")

    with t.group("buffers: register_buffer, then assigning a tensor replaces the buffer"):
        m, r = S.Running("body.norm"), E.Running("body.norm")
        new = edunn.full((3,), 5.0)
        m.running_mean = new
        r.running_mean = edunn.full((3,), 5.0)
        _compare_layout(t, m, r, "after self.running_mean = a new tensor",
                        hint="a name that is already in _buffers is a buffer: the tensor replaces "
                             "_buffers[name] (that is how a layer updates self.running_mean)")
        t.ok(_dicts(m)[1].get("running_mean") is new and m.running_mean is new,
             "m.running_mean is not the tensor just assigned to it")

    with t.group("assigning again under a name that was something else"):
        m, r = S.Net("body"), E.Net("body")
        for model in (m, r):
            model.extra = 3
            model.extra = Parameter(edunn.zeros(2))   # a plain attribute becomes a parameter
            model.fc1 = Parameter(edunn.zeros(2))     # a submodule becomes a parameter
            model.norm.running_mean = Parameter(edunn.zeros(3))   # a buffer becomes a parameter
            model.fc2.weight = Parameter(edunn.zeros(2, 3))       # a parameter is replaced
        _compare_layout(t, m, r, "after m.extra = 3, m.extra = Parameter(...) and m.fc1 = Parameter(...)",
                        hint="before registering a name, remove it from __dict__ and from the other "
                             "dictionaries: an old entry in __dict__ hides the new one, because "
                             "__getattr__ is only called when normal lookup fails")
        _compare_layout(t, m.norm, r.norm, "after m.norm.running_mean = Parameter(...)")
        _compare_layout(t, m.fc2, r.fc2, "after m.fc2.weight = Parameter(...) replaced the weight",
                        hint="a parameter that is replaced keeps its place in _parameters (and so "
                             "in named_parameters and state_dict): don't pop it from its own dict")
        t.ok(isinstance(m.extra, Parameter), f"m.extra is {type(m.extra).__name__} 3, not the Parameter "
             "assigned after it: the old plain attribute in __dict__ hides it; pop it from __dict__")

    with t.group("None keeps a parameter's place"):
        m = S.Affine("fc1")
        m.bias = None
        params = _dicts(m)[0]
        t.ok("bias" in params and params["bias"] is None and m.bias is None,
             "after m.bias = None, _parameters should still have the key 'bias' with the value "
             f"None (a declared, absent parameter); got _parameters keys {list(params)} and "
             f"m.bias = {m.bias!r:.40}")

    with t.group("errors"):
        m, r = S.Affine("fc1"), E.Affine("fc1")

        def plain_tensor(model):
            return lambda: setattr(model, "weight", edunn.zeros(3, 4))

        _same_error(t, plain_tensor(m), plain_tensor(r), "m.weight = edunn.zeros(3, 4) (a plain tensor "
                    "where a Parameter is registered)", hint="a registered parameter can only be "
                    "replaced by a Parameter or None: wrap it, Parameter(tensor)")
        n, q = S.Net("body"), E.Net("body")
        _same_error(t, lambda: setattr(n, "fc1", 5), lambda: setattr(q, "fc1", 5),
                    "m.fc1 = 5 (a number where a submodule is registered)")
        _same_error(t, lambda: m.wieght, lambda: r.wieght, "m.wieght (a typo)", mentions=("wieght",))

    with t.group("before Module.__init__() has run"):
        def forgot_super(Base):
            class Forgot(Base):
                def __init__(self):
                    self.weight = Parameter(edunn.zeros(2))    # before super().__init__()
                    super().__init__()
            return Forgot

        _same_error(t, forgot_super(student), forgot_super(edunn.nn.Module),
                    "a layer that assigns a Parameter before calling super().__init__()",
                    hint="there is no _parameters yet: raise AttributeError('cannot assign "
                         "parameters before Module.__init__() call')")
        bare, bare_ref = object.__new__(S.Affine), object.__new__(E.Affine)
        _same_error(t, lambda: bare.weight, lambda: bare_ref.weight,
                    "reading m.weight on a module whose __init__ never ran (copy.deepcopy does this)")


# ---------------------------------------------------------------------------- 03.named_parameters

_NAMED_CASES = [
    ("a layer: weight, then bias", lambda Z: Z.Affine("fc1"), {}),
    ("a layer whose bias is None", lambda Z: Z.Affine("fc2", bias=False), {}),
    ("a network: its own parameter, then its layers'", lambda Z: Z.Net("body"), {}),
    ("nested, with a weight shared by two layers and a layer registered twice", lambda Z: Z.Deep(), {}),
    ("prefix='model'", lambda Z: Z.Net("body"), {"prefix": "model"}),
    ("recurse=False", lambda Z: Z.Deep(), {"recurse": False}),
    ("recurse=False on a layer", lambda Z: Z.Affine("fc1"), {"recurse": False}),
]


@exercise("03.named_parameters", points=3, reference=REFERENCE,
          title="named_parameters: every parameter once, with its dotted name")
def grade_named_parameters(student, t):
    S, E, _ = _models(t, student)
    for title, make, kwargs in _NAMED_CASES:
        with t.group(title):
            mine, ref = make(S), make(E)
            call = "named_parameters(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
            got = _pairs(mine.named_parameters(**kwargs), call)
            want = list(ref.named_parameters(**kwargs))
            names, want_names = [n for n, _ in got], [n for n, _ in want]
            if any(p is None for _, p in got):
                raise Fail(f"{call} gave {[n for n, p in got if p is None]} with the value None: "
                           "skip parameters that are None (a layer built with bias=False)")
            if names != want_names:
                objects = [id(p) for _, p in got]
                if len(set(objects)) < len(objects):
                    twice = [n for i, (n, p) in enumerate(got) if id(p) in objects[:i]]
                    raise Fail(f"{call} gave the same parameter more than once ({twice}): each "
                               "parameter comes once, under the first name it is found by (keep a "
                               "set of the id()s already given); expected names "
                               f"{want_names}")
                if kwargs.get("recurse") is False and len(names) > len(want_names):
                    raise Fail(f"{call} gave {names}: with recurse=False only the module's own "
                               f"parameters, {want_names}")
                prefix = kwargs.get("prefix", "")
                reason = _name_diagnosis(names, want_names, prefix)
                if prefix and names == [n[len(prefix) + 1:] for n in want_names]:
                    reason = f"the prefix is missing: with prefix={prefix!r} the names start with '{prefix}.'"
                elif prefix and names == [prefix + n[len(prefix) + 1:] for n in want_names]:
                    reason = f"prefix and name are joined with a dot: '{prefix}.weight'"
                raise Fail(f"{call} gave the names {names}, expected {want_names}"
                           + (f": {reason}" if reason else ""))
            strip = len(kwargs["prefix"]) + 1 if kwargs.get("prefix") else 0
            for name, param in got:
                if param is not _at(mine, name[strip:]):
                    raise Fail(f"{call}: the value given with {name!r} is not the module's parameter "
                               "object itself (give the Parameter, not a copy or a detached tensor: an "
                               "optimizer must update the real thing)")
            t.ok(True, "")


# ---------------------------------------------------------------------------- 03.train_eval


def _modes(m) -> list:
    return [(name, module.__dict__.get("training", "missing")) for name, module in _all_modules(m)]


def _expect_modes(t, m, expected: Callable[[str], bool], what: str) -> bool:
    wrong = [(name, mode) for name, mode in _modes(m) if mode is not expected(name)]
    if not wrong:
        return t.ok(True, "")
    shown = ", ".join(f"{name}: {mode!r}" for name, mode in wrong[:5])
    more = f" and {len(wrong) - 5} more" if len(wrong) > 5 else ""
    return t.fail(f"{what}: wrong training flag on {shown}{more}")


@exercise("03.train_eval", points=2, reference=REFERENCE, title="train(mode) and eval(), all the way down")
def grade_train_eval(student, t):
    import edunn

    S, E, _ = _models(t, student)
    with t.group("eval() switches every module to evaluation mode and returns the module"):
        m = S.Deep()
        out = m.eval()
        t.ok(out is m, f"eval() returned {type(out).__name__}; it should return the module itself "
             "(so that model = Net().eval() works)")
        t.ok(not any("training" in vars(k) for k in type(m).__mro__),
             "training became a class attribute: set it on the module object (self.training = mode)")
        _expect_modes(t, m, lambda name: False, "after m.eval()")
    with t.group("train() switches them back, train(False) is eval()"):
        m = S.Deep()
        m.eval()
        out = m.train()
        t.ok(out is m, f"train() returned {type(out).__name__}; it should return the module itself")
        _expect_modes(t, m, lambda name: True, "after m.eval() and then m.train()")
        m.train(False)
        _expect_modes(t, m, lambda name: False, "after m.train(False)")
    with t.group("a submodule alone"):
        m = S.Deep()
        m.body.eval()
        _expect_modes(t, m, lambda name: not name.startswith("body"),
                      "after m.body.eval() only body and its submodules leave training mode")
    with t.group("eval() does not switch off gradients"):
        m = S.Net("body")
        m.eval()
        params = [p for _, p in _walk(m) if isinstance(p, edunn.nn.Parameter)]
        t.ok(all(p.requires_grad for p in params),
             "after eval() some parameters no longer require grad: eval() only sets the training "
             "flags (dropout and batch norm read them); turning off gradients is edunn.no_grad()")
        t.ok(m(edunn.ones(1, 4)).requires_grad, "after eval() the output no longer requires grad")
    with t.group("train(mode) wants a bool"):
        m, r = S.Affine("fc1"), E.Affine("fc1")
        _same_error(t, lambda: m.train("no"), lambda: r.train("no"), "m.train('no')",
                    hint="if not isinstance(mode, bool): raise ValueError(...) -- a string such as "
                         "'no' is truthy and would switch training on")


# ---------------------------------------------------------------------------- 03.state_dict

_STATE_CASES = [
    ("a layer", lambda Z: Z.Affine("fc1"), {}),
    ("a layer whose bias is None", lambda Z: Z.Affine("fc2", bias=False), {}),
    ("parameters and buffers, one not persistent", lambda Z: Z.Running("body.norm"), {}),
    ("a network", lambda Z: Z.Net("body"), {}),
    ("nested, with a shared weight and a layer registered twice", lambda Z: Z.Deep(), {}),
    ("prefix='model.'", lambda Z: Z.Net("body"), {"prefix": "model."}),
]


def _state_reason(got: list, want: list) -> str | None:
    if any(name.endswith("scratch") for name in got) and not any(n.endswith("scratch") for n in want):
        return ("scratch was registered with persistent=False: it stays out of the state_dict "
                "(look it up in _non_persistent_buffers_set)")
    if any(name.endswith(("running_mean", "count")) for name in want) and \
            not any(name.endswith(("running_mean", "count")) for name in got):
        return "the persistent buffers (running_mean, count) belong in the state_dict too"
    if len(got) < len(want) and set(got) <= set(want) and any(".tied.weight" in n or n == "tied.weight" for n in want):
        return ("a state_dict does not skip shared tensors: the weight shared by head and tied "
                "appears under both names, and so does the layer registered as head and as again "
                "(unlike named_parameters), so that each layer can be loaded by its own name")
    return _name_diagnosis(got, want, kind="entrie")


@exercise("03.state_dict", points=3, reference=REFERENCE,
          title="state_dict: parameters and persistent buffers by dotted name")
def grade_state_dict(student, t):
    import edunn

    S, E, _ = _models(t, student)
    for title, make, kwargs in _STATE_CASES:
        with t.group(title):
            mine, ref = make(S), make(E)
            call = "state_dict(" + ", ".join(f"{k}={v!r}" for k, v in kwargs.items()) + ")"
            got = mine.state_dict(**kwargs)
            if not hasattr(got, "keys") or not hasattr(got, "items"):
                raise Fail(f"{call} returned {type(got).__name__}; it should return a dict")
            want = ref.state_dict(**kwargs)
            names, want_names = list(got.keys()), list(want.keys())
            if any(v is None for v in got.values()):
                raise Fail(f"{call} has None values ({[k for k, v in got.items() if v is None]}): "
                           "leave out parameters and buffers that are None")
            if names != want_names:
                reason = _state_reason(names, want_names)
                raise Fail(f"{call} has the keys {names}, expected {want_names}"
                           + (f": {reason}" if reason else ""))
            for key, value in want.items():
                t.close(got[key], value, f"{call}[{key!r}]")
    with t.group("the values are detached views of the module's tensors"):
        m = S.Net("body")
        sd = m.state_dict()
        weight = sd["fc1.weight"]
        t.ok(isinstance(weight, edunn.Tensor) and not weight.requires_grad and weight.grad_fn is None,
             "state_dict()['fc1.weight'] requires grad: store param.detach(), which shares the values "
             "but is outside the graph")
        t.ok(not isinstance(weight, edunn.nn.Parameter),
             "state_dict()['fc1.weight'] is the Parameter itself: store param.detach()")
        with edunn.no_grad():
            m.fc1.weight.add_(1.0)
            m.norm.running_mean.add_(1.0)
        t.close(sd["fc1.weight"], m.fc1.weight, "state_dict()['fc1.weight'] after the model's weight "
                "changed in place", mistakes={
                    "your state_dict holds copies (clone()); PyTorch's and edunn's hold detached views "
                    "that share the module's storage (detach()), which is cheap and lets "
                    "load_state_dict copy into them": [[v - 1.0 for v in row] for row in m.fc1.weight.tolist()]})
        t.close(sd["norm.running_mean"], m.norm.running_mean,
                "state_dict()['norm.running_mean'] after the buffer changed in place")


# ---------------------------------------------------------------------------- 03.load_state_dict


def _source(t, make, dtype=None) -> dict:
    import edunn

    Z = _zoo(edunn.nn.Module, _values(t))
    sd = make(Z).state_dict()
    return {k: (v.to(dtype) if dtype is not None and v.is_floating_point() else v).clone() for k, v in sd.items()}


def _copy_sd(sd: dict) -> dict:
    return {k: v.clone() for k, v in sd.items()}


def _unpack_result(result: Any, what: str) -> tuple:
    try:
        missing, unexpected = result
        return list(missing), list(unexpected)
    except (TypeError, ValueError):
        raise Fail(f"{what} returned {type(result).__name__} {str(result)[:60]}; it should return the "
                   "pair (missing_keys, unexpected_keys), e.g. IncompatibleKeys(missing, unexpected)") from None


def _unchanged(t, m, before: dict, what: str) -> bool:
    after = _snapshot(m)
    changed = [k for k in before if before[k] != after.get(k)]
    if not changed:
        return t.ok(True, "")
    return t.fail(f"{what} raised, but it had already changed {changed}: check every key and every "
                  "shape first, and copy only when everything is right (all or nothing, so that a "
                  "failed load leaves the model as it was)")


def _loads_error(t, m, sd: dict, what: str, mentions: list, strict: bool = True) -> None:
    error = _error_of(lambda: m.load_state_dict(sd, strict=strict))
    if error is None:
        raise Fail(f"{what}: load_state_dict returned normally; it should raise RuntimeError")
    if isinstance(error, RecursionError) or not isinstance(error, RuntimeError):
        raise Fail(f"{what}: load_state_dict should raise RuntimeError, but it raised {_headline(error)}")
    missing = [k for k in mentions if k not in str(error)]
    if missing:
        raise Fail(f"{what}: the error message should name every offending key; it does not name "
                   f"{missing}: {_headline(error)}")


@exercise("03.load_state_dict", points=4, reference=REFERENCE,
          title="load_state_dict: strict checks, then an in-place copy")
def grade_load_state_dict(student, t):
    import edunn

    S, E, _ = _models(t, student)
    net = lambda Z: Z.Net("body")  # noqa: E731

    with t.group("loading a whole state_dict"):
        m = net(S)
        sd = _source(t, net)
        before = {name: p for name, p in _walk(m)}
        result = m.load_state_dict(_copy_sd(sd))
        missing, unexpected = _unpack_result(result, "load_state_dict(a complete state_dict)")
        t.ok(missing == [] and unexpected == [], f"loading a complete state_dict returned missing "
             f"{missing} and unexpected {unexpected}; both should be empty lists")
        after = _snapshot(m)
        for key, value in sd.items():
            t.close(after.get(key), value, f"the model's {key} after loading")
        replaced = [name for name, p in _walk(m) if before.get(name) is not p]
        t.ok(not replaced, f"after loading, {replaced} are new objects: copy the values into the "
             "existing tensors (tensor.copy_(value) under edunn.no_grad()) -- an optimizer built "
             "before the load still holds the old ones")
        t.ok(isinstance(m.fc1.weight, edunn.nn.Parameter) and m.fc1.weight.requires_grad
             and m.fc1.weight.grad_fn is None,
             "after loading, m.fc1.weight is no longer a trainable leaf Parameter (copy under "
             "edunn.no_grad(), into the Parameter itself)")

    with t.group("a float64 checkpoint into a float32 model: the dtype stays"):
        m = net(S)
        sd = _source(t, net, dtype=edunn.float64)
        m.load_state_dict(sd)
        t.equal(str(m.fc1.weight.dtype), "edunn.float32", "m.fc1.weight's dtype after loading float64 "
                "values (copy_ converts them to the parameter's dtype)")
        t.close(m.fc1.weight, sd["fc1.weight"], "m.fc1.weight after loading float64 values")

    with t.group("the values are copied: model and checkpoint stay independent"):
        m = net(S)
        sd = _source(t, net)
        m.load_state_dict(sd)
        with edunn.no_grad():
            sd["fc1.weight"].add_(10.0)
        t.ok(abs(m.fc1.weight.tolist()[0][0] - (sd["fc1.weight"].tolist()[0][0] - 10.0)) < 1e-5,
             "changing the checkpoint's tensor after loading changed the model: copy the values "
             "(copy_), do not make the parameter share the checkpoint's storage")

    with t.group("strict=True: missing keys"):
        m = net(S)
        before = _snapshot(m)
        sd = _source(t, net)
        del sd["fc1.bias"], sd["norm.running_mean"]
        _loads_error(t, m, sd, "a state_dict without fc1.bias and norm.running_mean",
                     ["fc1.bias", "norm.running_mean"])
        _unchanged(t, m, before, "the load with missing keys")

    with t.group("strict=True: unexpected keys"):
        m = net(S)
        before = _snapshot(m)
        sd = _source(t, net)
        sd["fc3.weight"] = edunn.zeros(2, 2)
        sd["norm.extra"] = edunn.zeros(3)
        _loads_error(t, m, sd, "a state_dict with the extra keys fc3.weight and norm.extra",
                     ["fc3.weight", "norm.extra"])
        _unchanged(t, m, before, "the load with unexpected keys")

    with t.group("a shape mismatch raises, even with strict=False, and changes nothing"):
        for strict in (True, False):
            m = net(S)
            before = _snapshot(m)
            sd = _source(t, net)
            sd["fc2.weight"] = edunn.zeros(3, 3)          # fc1's entries, before it, are fine
            _loads_error(t, m, sd, f"a state_dict whose fc2.weight has shape (3, 3) instead of (2, 3), "
                         f"strict={strict}", ["fc2.weight"], strict=strict)
            _unchanged(t, m, before, "the load with a mis-shaped fc2.weight")

    with t.group("strict=False: load what matches, report the rest"):
        m, r = net(S), net(E)
        sd = _source(t, net)
        del sd["fc2.weight"]
        sd["head.bias"] = edunn.zeros(2)
        old_fc2 = m.fc2.weight.tolist()
        missing, unexpected = _unpack_result(m.load_state_dict(_copy_sd(sd), strict=False),
                                             "load_state_dict(..., strict=False)")
        want_missing, want_unexpected = r.load_state_dict(_copy_sd(sd), strict=False)
        t.equal(sorted(missing), sorted(want_missing), "the missing keys with strict=False")
        t.equal(sorted(unexpected), sorted(want_unexpected), "the unexpected keys with strict=False")
        t.close(m.fc1.weight, sd["fc1.weight"], "m.fc1.weight after a strict=False load")
        t.close(m.fc2.weight, old_fc2, "m.fc2.weight, which the state_dict did not have")

    with t.group("nested, with shared weights and a non-persistent buffer"):
        m = S.Deep()
        sd = _source(t, lambda Z: Z.Deep())
        missing, unexpected = _unpack_result(m.load_state_dict(_copy_sd(sd)), "load_state_dict")
        t.ok(missing == [] and unexpected == [], f"loading a Deep model's own state_dict reported "
             f"missing {missing} and unexpected {unexpected} (a non-persistent buffer such as "
             "body.norm.scratch is not expected in a state_dict)")
        after = _snapshot(m)
        for key, value in sd.items():
            t.close(after.get(key), value, f"the model's {key} after loading")
