"""Graders of lesson 04 (hooks): a module base class whose call runs forward pre-hooks and
forward hooks, an activation-statistics recorder, a gradient-norm recorder, and a
``load_state_dict`` pre-hook that renames the keys of an old checkpoint.

References are written out below in the few lines a learner writes, next to the library code
they mirror: ``Module._call_impl`` and ``register_forward_*_hook`` in
``edunn/nn/modules/module.py``, ``RemovableHandle`` in ``edunn/utils/hooks.py``.  The graders
run the learner's code side by side with edunn's real ``Module`` hooks (same hooks, same
order, same values) and recognise the usual mistakes: a pre-hook's bare return value not
wrapped in a tuple, hooks that do not chain, ``prepend`` ignored, a closure that binds its loop
variable late, tensors stored instead of numbers, ``grad_input`` taken for ``grad_output``, a
renaming that ignores ``prefix`` or rebinds the dict instead of editing it.
"""

from __future__ import annotations

import itertools
from collections import OrderedDict
from typing import Any, Callable

from edunn.grading import Fail, exercise

# ---------------------------------------------------------------------------- references


class RemovableHandle:
    """What a registration returns: ``handle.remove()`` takes the hook out of its dict (the
    idea of ``edunn.utils.hooks.RemovableHandle``).  Removing twice is harmless."""

    _ids = itertools.count()

    def __init__(self, hooks: dict) -> None:
        self.hooks = hooks
        self.id = next(RemovableHandle._ids)

    def remove(self) -> None:
        self.hooks.pop(self.id, None)


class HookedModule:
    """A module base class with forward pre-hooks and forward hooks, as ``Module._call_impl``
    runs them: pre-hooks in order (each may replace ``args``; a bare value becomes a 1-tuple),
    ``forward``, then forward hooks in order (each may replace the output)."""

    def __init__(self) -> None:
        self._forward_pre_hooks: OrderedDict = OrderedDict()
        self._forward_hooks: OrderedDict = OrderedDict()

    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False) -> RemovableHandle:
        handle = RemovableHandle(self._forward_pre_hooks)
        self._forward_pre_hooks[handle.id] = hook
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False) -> RemovableHandle:
        handle = RemovableHandle(self._forward_hooks)
        self._forward_hooks[handle.id] = hook
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def __call__(self, *args: Any) -> Any:
        for hook in list(self._forward_pre_hooks.values()):
            new = hook(self, args)
            if new is not None:
                args = new if isinstance(new, tuple) else (new,)
        output = self.forward(*args)
        for hook in list(self._forward_hooks.values()):
            new = hook(self, args, output)
            if new is not None:
                output = new
        return output

    def forward(self, *args: Any) -> Any:
        raise NotImplementedError(f"{type(self).__name__} has no forward")


def leaf_modules(model: Any) -> list:
    """``(name, module)`` for every module of ``model`` that has no children."""
    return [(name, m) for name, m in model.named_modules() if next(m.children(), None) is None]


def record_activations(model: Any, stats: dict) -> list:
    """A forward hook on every leaf module appends ``(output.mean().item(), output.std().item())``
    to ``stats[name]``; returns the handles."""
    handles = []
    for name, module in leaf_modules(model):
        def hook(module: Any, args: tuple, output: Any, name: str = name) -> None:
            stats.setdefault(name, []).append((output.mean().item(), output.std().item()))
        handles.append(module.register_forward_hook(hook))
    return handles


def record_grad_norms(model: Any, norms: dict) -> list:
    """A full backward hook on every leaf module appends ``grad_output[0].norm().item()`` (the
    size of the gradient arriving at the module's output) to ``norms[name]``; returns the
    handles."""
    handles = []
    for name, module in leaf_modules(model):
        def hook(module: Any, grad_input: tuple, grad_output: tuple, name: str = name) -> None:
            norms.setdefault(name, []).append(grad_output[0].norm().item())
        handles.append(module.register_full_backward_hook(hook))
    return handles


def renaming_pre_hook(renames: dict) -> Callable:
    """A ``load_state_dict`` pre-hook that renames, in place, the keys of an old checkpoint:
    a key ``prefix + old`` or ``prefix + old + "." + rest`` becomes ``prefix + new (+ ...)``
    for every ``old -> new`` in ``renames`` (names relative to the hooked module)."""
    def hook(module: Any, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
             missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        for key in list(state_dict):
            if not key.startswith(prefix):
                continue
            rest = key[len(prefix):]
            for old, new in renames.items():
                if rest == old or rest.startswith(old + "."):
                    state_dict[prefix + new + rest[len(old):]] = state_dict.pop(key)
                    break
    return hook


# ---------------------------------------------------------------------------- 04.HookedModule


def _affine(base: type, w: Any, b: Any) -> Any:
    """An instance of ``class Affine(base)`` computing ``x * w + y`` (and logging forward)."""
    class Affine(base):
        def __init__(self) -> None:
            super().__init__()
            self.log: list = []

        def forward(self, x: Any, y: Any) -> Any:
            self.log.append("forward")
            return x * w + y
    return Affine()


def _square(base: type) -> Any:
    class Square(base):
        def forward(self, x: Any) -> Any:
            return x * x
    return Square()


def _edunn_module() -> type:
    import edunn
    return edunn.nn.Module


@exercise("04.HookedModule", points=4, reference=HookedModule,
          title="forward pre-hooks and forward hooks with removable handles")
def grade_hooked_module(student: Any, t: Any) -> None:
    import edunn

    if not isinstance(student, type):
        raise Fail(f"expected a class (HookedModule), got {type(student).__name__}")
    w, b = t.randn(3), t.randn(3)
    x, y = t.randn(2, 3), t.randn(2, 3)

    with t.group("calling the module with no hooks runs forward"):
        m = _affine(student, w, b)
        t.close(m(x, y), x * w + y, "m(x, y) with no hooks")

    with t.group("a registration returns a handle with remove()"):
        m = _affine(student, w, b)
        h1 = m.register_forward_pre_hook(lambda mod, args: None)
        h2 = m.register_forward_hook(lambda mod, args, out: None)
        t.ok(callable(getattr(h1, "remove", None)) and callable(getattr(h2, "remove", None)),
             "register_forward_pre_hook / register_forward_hook should return the handle "
             "(a RemovableHandle), whose remove() unregisters the hook; got "
             f"{type(h1).__name__} and {type(h2).__name__}")

    with t.group("a forward pre-hook runs before forward with (module, args)"):
        m = _affine(student, w, b)
        seen: list = []
        m.register_forward_pre_hook(lambda mod, args: (seen.append((mod, args)), m.log.append("pre"))[-1])
        m(x, y)
        t.equal(m.log, ["pre", "forward"], "the order of calls",
                hint="call every pre-hook, then self.forward(*args)")
        if seen:
            mod, args = seen[0]
            t.ok(mod is m, "the pre-hook's first argument should be the module itself (self)")
            t.ok(isinstance(args, tuple) and len(args) == 2 and args[0] is x and args[1] is y,
                 "the pre-hook's second argument should be the tuple of positional arguments "
                 f"(x, y); got {type(args).__name__}"
                 + (f" of length {len(args)}" if isinstance(args, (tuple, list)) else ""))

    with t.group("a pre-hook's return value replaces the arguments"):
        m = _affine(student, w, b)
        m.register_forward_pre_hook(lambda mod, args: (args[0] * 2, args[1]))
        t.close(m(x, y), 2 * x * w + y, "m(x, y) with a pre-hook returning (2 * x, y)",
                mistakes={"the value a pre-hook returns must replace args (None means keep them)":
                          x * w + y})
        m = _affine(student, w, b)
        m.register_forward_pre_hook(lambda mod, args: None)
        t.close(m(x, y), x * w + y, "m(x, y) with a pre-hook returning None",
                hint="None means: keep the arguments as they are")

    with t.group("a pre-hook that returns a single value replaces args by (value,)"):
        sq = _square(student)
        sq.register_forward_pre_hook(lambda mod, args: args[0] + 1)
        try:
            out = sq(x)
        except Exception as error:
            raise Fail("a pre-hook returned a single tensor (not a tuple), and calling the module "
                       f"raised {type(error).__name__}: {error}. PyTorch's rule: a return value "
                       "that is not a tuple becomes (value,)") from None
        t.close(out, (x + 1) * (x + 1), "Square()(x) with a pre-hook returning x + 1",
                hint="a return value that is not a tuple becomes (value,); forward(*value) would "
                     "unpack the tensor along its first axis")

    with t.group("pre-hooks chain: each sees the arguments the previous one returned"):
        m = _affine(student, w, b)
        m.register_forward_pre_hook(lambda mod, args: (args[0] + 1, args[1]))
        m.register_forward_pre_hook(lambda mod, args: (args[0] * 3, args[1]))
        t.close(m(x, y), (x + 1) * 3 * w + y, "m(x, y) with pre-hooks x + 1 then x * 3",
                mistakes={"each pre-hook should receive the args returned by the previous one; "
                          "yours all received the original args": x * 3 * w + y})

    with t.group("forward hooks see (module, args, output) and may replace the output"):
        m = _affine(student, w, b)
        got: list = []
        m.register_forward_pre_hook(lambda mod, args: (args[0] * 2, args[1]))
        m.register_forward_hook(lambda mod, args, out: got.append((mod, args, out)))
        m.register_forward_hook(lambda mod, args, out: out + 1)
        m.register_forward_hook(lambda mod, args, out: out * 10)
        out = m(x, y)
        t.close(out, (2 * x * w + y + 1) * 10, "m(x, y) with forward hooks out + 1 then out * 10",
                mistakes={"the value a forward hook returns must replace the output":
                          2 * x * w + y,
                          "each forward hook should receive the output returned by the previous "
                          "one": (2 * x * w + y) * 10})
        if got:
            mod, args, o = got[0]
            t.ok(mod is m, "a forward hook's first argument should be the module itself")
            t.ok(isinstance(args, tuple) and len(args) == 2, "a forward hook's args should be the tuple of "
                 f"arguments forward received; got {type(args).__name__}")
            if isinstance(args, tuple) and len(args) == 2:
                t.close(args[0], 2 * x, "args[0] seen by the forward hook",
                        mistakes={"a forward hook should see the arguments after the pre-hooks "
                                  "replaced them (the ones forward received)": x})
            t.close(o, 2 * x * w + y, "the output seen by the first forward hook")

    with t.group("the order of hooks, with prepend=True, as edunn.nn.Module runs them"):
        logs = []
        for base in (student, _edunn_module()):
            m = _affine(base, w, b)
            log: list = m.log
            for i, (kind, prepend) in enumerate([("pre", False), ("post", False), ("pre", True),
                                                 ("post", True), ("pre", False), ("post", True)]):
                if kind == "pre":
                    m.register_forward_pre_hook(lambda mod, args, i=i: log.append(f"pre{i}"), prepend=prepend)
                else:
                    m.register_forward_hook(lambda mod, args, out, i=i: log.append(f"post{i}"), prepend=prepend)
            m(x, y)
            logs.append(list(log))
        t.equal(logs[0], logs[1], "the calls, in order",
                hint="prepend=True puts the hook first: OrderedDict.move_to_end(handle.id, last=False)")

    with t.group("handle.remove() unregisters exactly that hook"):
        m = _affine(student, w, b)
        log = m.log
        ha = m.register_forward_hook(lambda mod, args, out: log.append("A"))
        hb = m.register_forward_hook(lambda mod, args, out: log.append("B"))
        hp = m.register_forward_pre_hook(lambda mod, args: log.append("P"))
        ha.remove()
        hc = m.register_forward_hook(lambda mod, args, out: log.append("C"))
        hb.remove()
        hb.remove()
        hp.remove()
        m(x, y)
        t.equal(log, ["forward", "C"], "the calls after removing A, B (twice) and P",
                hint="each registration stores the hook under handle.id; remove() deletes that key")
        other = _affine(student, w, b)
        other(x, y)
        t.equal(other.log, ["forward"], "the calls of a second instance",
                hint="hooks belong to one instance: keep them in dicts made in __init__")
        del hc


# ---------------------------------------------------------------------------- shared models


def _model(t: Any, sizes: tuple = (5, 7, 6, 3)) -> Any:
    """A nested ``Sequential`` of ``Linear``/``ReLU``/``Tanh`` with weights drawn from ``t``."""
    import edunn
    nn = edunn.nn
    a, h, g, c = sizes
    model = nn.Sequential(OrderedDict([
        ("fc1", nn.Linear(a, h)),
        ("act1", nn.ReLU()),
        ("block", nn.Sequential(nn.Linear(h, g), nn.Tanh())),
        ("head", nn.Linear(g, c)),
    ]))
    with edunn.no_grad():
        for p in model.parameters():
            p.copy_(t.randn(*p.shape) * 0.7)
    return model


def _check_handles(t: Any, handles: Any, n: int, what: str) -> bool:
    if not isinstance(handles, (list, tuple)):
        return t.fail(f"{what} should return the list of handles (one per leaf module); got "
                      f"{type(handles).__name__}")
    if not all(callable(getattr(h, "remove", None)) for h in handles):
        return t.fail(f"{what} should return the handles that register_*_hook returned")
    return t.equal(len(handles), n, f"the number of handles {what} returned",
                   hint="one hook per leaf module: a module with no children (next(m.children(), "
                        "None) is None); containers are left out")


def _check_names(t: Any, got: Any, expected: dict, model: Any, what: str) -> bool:
    if not isinstance(got, dict):
        return t.fail(f"{what} should be the dict passed in, filled by the hooks")
    got_names, want = sorted(got), sorted(expected)
    if got_names == want:
        return True
    if len(got_names) == 1 and len(want) > 1 and got_names[0] in want:
        return t.fail(f"every record went to {got_names[0]!r}: the hook looked up the loop variable "
                      "`name` when it ran, after the loop had finished (Python closures bind late). "
                      "Freeze it when the hook is made: def hook(..., name=name) or functools.partial")
    containers = {n for n, m in model.named_modules() if next(m.children(), None) is not None}
    extra = [n for n in got_names if n not in want]
    missing = [n for n in want if n not in got_names]
    if extra and all(n in containers for n in extra):
        message = (f"{what} recorded containers too ({', '.join(repr(n) for n in extra)}): hook only "
                   "the leaf modules (no children); a container's output is its last child's")
        if missing:
            message += (f"; and the leaves {', '.join(repr(n) for n in missing)} are missing "
                        "(named_children() lists only the top level, named_modules() goes all the way down)")
        return t.fail(message)
    return t.equal(got_names, want, f"the names in {what}")


def _floats(t: Any, records: dict, what: str) -> bool:
    import edunn
    for values in records.values():
        for v in values:
            items = v if isinstance(v, tuple) else (v,)
            if any(isinstance(i, edunn.Tensor) for i in items):
                return t.fail(f"{what} should store Python floats (.item()), not tensors: a tensor "
                              "that requires grad keeps its whole graph alive for as long as you keep it")
            if not all(isinstance(i, float) for i in items):
                return t.fail(f"{what} should store Python floats; found {type(items[0]).__name__}")
    return True


# ---------------------------------------------------------------------------- 04.record_activations


@exercise("04.record_activations", points=3, reference=record_activations,
          title="activation statistics through forward hooks")
def grade_record_activations(student: Any, t: Any) -> None:
    import edunn

    model = _model(t)
    x1, x2 = t.randn(8, 5), t.randn(4, 5)
    with edunn.no_grad():
        plain = model(x1)
    outputs: dict = {}
    handles = [m.register_forward_hook(lambda m, a, o, n=n: outputs.setdefault(n, []).append(o.detach()))
               for n, m in leaf_modules(model)]
    model(x1), model(x2)
    for h in handles:
        h.remove()
    want = {n: [(o.mean().item(), o.std().item()) for o in outs] for n, outs in outputs.items()}
    population = {n: [(o.mean().item(), ((o - o.mean()) ** 2).mean().sqrt().item()) for o in outs]
                  for n, outs in outputs.items()}

    stats: dict = {}
    with t.group("one hook per leaf module, handles returned"):
        handles = student(model, stats)
        _check_handles(t, handles, len(leaf_modules(model)), "record_activations")
    with t.group("the output of the model is unchanged"):
        with edunn.no_grad():
            out = model(x1)
        t.close(out, plain, "model(x) with your hooks",
                hint="a forward hook that returns something replaces the output: return None")
        model(x2)
    with t.group("stats[name] for each leaf module, one record per call"):
        if _check_names(t, stats, want, model, "stats") and _floats(t, stats, "stats"):
            for name in want:
                t.equal(len(stats[name]), 2, f"the number of records in stats[{name!r}] after two calls")
    with t.group("the mean and the std of each output"):
        if sorted(stats) == sorted(want):
            for name, records in want.items():
                got = [tuple(r) for r in stats[name]]
                t.close(got, records, f"stats[{name!r}] (mean, std) of the two calls", rtol=1e-4, atol=1e-5,
                        mistakes={"your std divides by n; PyTorch's output.std() divides by n - 1 "
                                  "(correction=1, the unbiased estimate): use output.std()":
                                  population[name]})
        else:
            t.fail("the names in stats are wrong (see above), so the values cannot be compared")
    with t.group("remove() on the handles stops the recording"):
        if isinstance(handles, (list, tuple)):
            for h in handles:
                h.remove()
        before = {k: len(v) for k, v in stats.items()}
        model(x1)
        t.equal({k: len(v) for k, v in stats.items()}, before, "the number of records after removing the hooks")


# ---------------------------------------------------------------------------- 04.record_grad_norms


@exercise("04.record_grad_norms", points=3, reference=record_grad_norms,
          title="gradient norms through full backward hooks")
def grade_record_grad_norms(student: Any, t: Any) -> None:
    import edunn

    model = _model(t)
    x, g = t.randn(6, 5), t.randn(6, 3)

    def run() -> list:
        for p in model.parameters():
            p.grad = None
        (model(x) * g).sum().backward()
        return [p.grad.clone() for p in model.parameters()]

    plain = run()
    want: dict = {}
    ref_handles = record_grad_norms(model, want)
    run()
    for h in ref_handles:
        h.remove()
    # the mistake of taking grad_input: its first entry, where there is one
    wrong: dict = {}
    hs = [m.register_full_backward_hook(
        lambda m, gi, go, n=n: wrong.setdefault(n, []).append(None if gi[0] is None else gi[0].norm().item()))
        for n, m in leaf_modules(model)]
    run()
    for h in hs:
        h.remove()

    norms: dict = {}
    with t.group("one hook per leaf module, handles returned"):
        handles = student(model, norms)
        _check_handles(t, handles, len(leaf_modules(model)), "record_grad_norms")
    with t.group("the gradients of the parameters are unchanged"):
        got = run()
        for (name, _), a, b in zip(model.named_parameters(), got, plain):
            t.close(a, b, f"the gradient of {name} with your hooks",
                    hint="a full backward hook that returns something replaces grad_input: return None")
        run()
    with t.group("norms[name] for each leaf module, one record per backward"):
        if _check_names(t, norms, want, model, "norms") and _floats(t, norms, "norms"):
            for name in want:
                t.equal(len(norms[name]), 2, f"the number of records in norms[{name!r}] after two backward passes")
    with t.group("the norm of grad_output[0]"):
        if sorted(norms) == sorted(want):
            for name in want:
                t.close(list(norms[name]), want[name] * 2, f"norms[{name!r}]", rtol=1e-4, atol=1e-6,
                        mistakes={"you recorded the norm of grad_input[0], the gradient with respect to "
                                  "the module's input; grad_output[0] is the one arriving at its output":
                                  wrong[name] * 2})
        else:
            t.fail("the names in norms are wrong (see above), so the values cannot be compared")
    with t.group("remove() on the handles stops the recording"):
        if isinstance(handles, (list, tuple)):
            for h in handles:
                h.remove()
        before = {k: len(v) for k, v in norms.items()}
        run()
        t.equal({k: len(v) for k, v in norms.items()}, before, "the number of records after removing the hooks")
        t.ok(all(not m._backward_hooks for m in model.modules()),
             "the modules still hold backward hooks after remove()")


# ---------------------------------------------------------------------------- 04.renaming_pre_hook


def _call(hook: Callable, module: Any, state_dict: dict, prefix: str) -> None:
    hook(module, state_dict, prefix, {}, True, [], [], [])


@exercise("04.renaming_pre_hook", points=3, reference=renaming_pre_hook,
          title="a load_state_dict pre-hook that upgrades an old checkpoint")
def grade_renaming_pre_hook(student: Any, t: Any) -> None:
    import edunn
    nn = edunn.nn

    renames = {"fc1": "hidden", "fc2": "out", "w": "weight"}
    values = {k: t.randn(2) for k in ("a", "b", "c", "d", "e", "f", "g")}

    def old_dict(prefix: str) -> dict:
        return OrderedDict([
            (prefix + "fc1.weight", values["a"]), (prefix + "fc1.bias", values["b"]),
            (prefix + "fc2.weight", values["c"]), (prefix + "w", values["d"]),
            (prefix + "fc10.weight", values["e"]), ("other.fc1.weight", values["f"]),
            (prefix + "keep.fc1.weight", values["g"]),
        ])

    def expected(prefix: str) -> dict:
        d = old_dict(prefix)
        _call(renaming_pre_hook(renames), None, d, prefix)
        return d

    def check(prefix: str) -> None:
        d = old_dict(prefix)
        hook = student(renames)
        if not callable(hook):
            raise Fail(f"renaming_pre_hook(renames) should return the hook (a function); got "
                       f"{type(hook).__name__}")
        result = hook(None, d, prefix, {}, True, [], [], [])
        want = expected(prefix)
        if isinstance(result, dict) and sorted(d) == sorted(old_dict(prefix)) and sorted(result) == sorted(want):
            raise Fail("edit state_dict in place (state_dict[new] = state_dict.pop(old)): load_state_dict "
                       "ignores what a pre-hook returns, and rebinding the name does not change its dict")
        naive = old_dict(prefix)
        for key in list(naive):
            for old, new in renames.items():
                if key.startswith(prefix + old):
                    naive[prefix + new + key[len(prefix + old):]] = naive.pop(key)
                    break
        unprefixed = old_dict(prefix)
        for key in list(unprefixed):
            for old, new in renames.items():
                if key.startswith(old + ".") or key == old:
                    unprefixed[new + key[len(old):]] = unprefixed.pop(key)
                    break
        got_keys, want_keys = sorted(d), sorted(want)
        if got_keys != want_keys:
            if got_keys == sorted(naive):
                raise Fail("'fc10.weight' was renamed by the rule for 'fc1': rename only a key that is "
                           "prefix + old exactly or starts with prefix + old + '.'")
            if prefix and got_keys == sorted(unprefixed):
                raise Fail(f"with prefix {prefix!r} (the module sits inside a parent) nothing of the "
                           "module was renamed: keys start with prefix; rename prefix + old to prefix + new")
            missing = [k for k in want_keys if k not in d]
            extra = [k for k in got_keys if k not in want]
            raise Fail(f"with prefix {prefix!r}, the keys after your hook: missing {missing}, "
                       f"unexpected {extra}")
        for key in want_keys:
            t.ok(d[key] is want[key], f"state_dict[{key!r}] should be the same tensor the old key held "
                 "(move it with state_dict.pop(old_key); do not copy it)")

    with t.group("renames the keys of a top-level module (prefix '')"):
        check("")
    with t.group("renames only the keys under prefix, for a module inside a parent"):
        check("encoder.")
    with t.group("load_state_dict of an old checkpoint, with the hook registered on a submodule"):
        class New(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.hidden = nn.Linear(3, 4)
                self.out = nn.Linear(4, 2)

            def forward(self, x: Any) -> Any:
                return self.out(self.hidden(x).relu())

        class Parent(nn.Module):
            def __init__(self) -> None:
                super().__init__()
                self.encoder = New()
                self.decoder = nn.Linear(2, 2)

        new = Parent()
        old = {k.replace("hidden", "fc1").replace(".out.", ".fc2."): t.randn(*v.shape)
               for k, v in new.state_dict().items()}
        new.encoder.register_load_state_dict_pre_hook(student({"fc1": "hidden", "fc2": "out"}))
        result = new.load_state_dict(old)
        t.equal((list(result.missing_keys), list(result.unexpected_keys)), ([], []),
                "load_state_dict(old checkpoint): (missing_keys, unexpected_keys)")
        t.close(new.encoder.hidden.weight, old["encoder.fc1.weight"], "encoder.hidden.weight after loading")
        t.close(new.encoder.out.bias, old["encoder.fc2.bias"], "encoder.out.bias after loading")
