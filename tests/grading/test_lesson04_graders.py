"""The graders of lesson 04: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

from collections import OrderedDict
from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson04 as lesson04
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero, stub

pytestmark = pytest.mark.lesson04

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "04_hooks.ipynb"
Handle = lesson04.RemovableHandle


# ---------------------------------------------------------------------------- planted mistakes: HookedModule

def hooked(call=None, register=None):
    """A ``HookedModule`` whose ``__call__`` or registration is replaced by a planted mistake."""
    class Planted(lesson04.HookedModule):
        pass
    if call is not None:
        Planted.__call__ = call
    if register is not None:
        Planted.register_forward_pre_hook = lambda self, hook, *, prepend=False: register(
            self, self._forward_pre_hooks, hook, prepend)
        Planted.register_forward_hook = lambda self, hook, *, prepend=False: register(
            self, self._forward_hooks, hook, prepend)
    return Planted


class StubHooked(lesson04.HookedModule):
    def register_forward_pre_hook(self, hook, *, prepend=False):
        raise NotImplementedError("your turn: replace this line with your code")

    register_forward_hook = register_forward_pre_hook

    def __call__(self, *args):
        raise NotImplementedError("your turn: replace this line with your code")


def call_no_wrap(self, *args):
    for hook in self._forward_pre_hooks.values():
        new = hook(self, args)
        if new is not None:
            args = new
    output = self.forward(*args)
    for hook in self._forward_hooks.values():
        new = hook(self, args, output)
        if new is not None:
            output = new
    return output


def call_no_chain(self, *args):
    original = args
    for hook in self._forward_pre_hooks.values():
        new = hook(self, original)
        if new is not None:
            args = new if isinstance(new, tuple) else (new,)
    output = self.forward(*args)
    for hook in self._forward_hooks.values():
        new = hook(self, args, output)
        if new is not None:
            output = new
    return output


def call_ignores_forward_hook_result(self, *args):
    for hook in self._forward_pre_hooks.values():
        new = hook(self, args)
        if new is not None:
            args = new if isinstance(new, tuple) else (new,)
    output = self.forward(*args)
    for hook in self._forward_hooks.values():
        hook(self, args, output)
    return output


def call_hooks_see_original_args(self, *args):
    original = args
    for hook in self._forward_pre_hooks.values():
        new = hook(self, args)
        if new is not None:
            args = new if isinstance(new, tuple) else (new,)
    output = self.forward(*args)
    for hook in self._forward_hooks.values():
        new = hook(self, original, output)
        if new is not None:
            output = new
    return output


def register_ignores_prepend(self, hooks, hook, prepend):
    handle = Handle(hooks)
    hooks[handle.id] = hook
    return handle


def register_returns_nothing(self, hooks, hook, prepend):
    handle = Handle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)


class _LenHandle:
    def __init__(self, hooks, key):
        self.hooks, self.key = hooks, key

    def remove(self):
        self.hooks.pop(self.key, None)


def register_keyed_by_length(self, hooks, hook, prepend):
    key = len(hooks)
    hooks[key] = hook
    if prepend:
        hooks.move_to_end(key, last=False)
    return _LenHandle(hooks, key)


# ---------------------------------------------------------------------------- planted mistakes: recorders

def activations_late_binding(model, stats):
    handles = []
    for name, module in lesson04.leaf_modules(model):
        def hook(module, args, output):
            stats.setdefault(name, []).append((output.mean().item(), output.std().item()))
        handles.append(module.register_forward_hook(hook))
    return handles


def activations_all_modules(model, stats):
    handles = []
    for name, module in model.named_modules():
        def hook(module, args, output, name=name):
            stats.setdefault(name, []).append((output.mean().item(), output.std().item()))
        handles.append(module.register_forward_hook(hook))
    return handles


def activations_population_std(model, stats):
    handles = []
    for name, module in lesson04.leaf_modules(model):
        def hook(module, args, output, name=name):
            std = ((output - output.mean()) ** 2).mean().sqrt()
            stats.setdefault(name, []).append((output.mean().item(), std.item()))
        handles.append(module.register_forward_hook(hook))
    return handles


def activations_tensors(model, stats):
    handles = []
    for name, module in lesson04.leaf_modules(model):
        def hook(module, args, output, name=name):
            stats.setdefault(name, []).append((output.mean(), output.std()))
        handles.append(module.register_forward_hook(hook))
    return handles


def activations_returns_output(model, stats):
    handles = []
    for name, module in lesson04.leaf_modules(model):
        def hook(module, args, output, name=name):
            stats.setdefault(name, []).append((output.mean().item(), output.std().item()))
            return output * 1.0 + 1e-3
        handles.append(module.register_forward_hook(hook))
    return handles


def activations_no_handles(model, stats):
    lesson04.record_activations(model, stats)


def grad_norms_of_grad_input(model, norms):
    handles = []
    for name, module in lesson04.leaf_modules(model):
        def hook(module, grad_input, grad_output, name=name):
            if grad_input[0] is not None:
                norms.setdefault(name, []).append(grad_input[0].norm().item())
            else:
                norms.setdefault(name, []).append(0.0)
        handles.append(module.register_full_backward_hook(hook))
    return handles


def grad_norms_late_binding(model, norms):
    handles = []
    for name, module in lesson04.leaf_modules(model):
        def hook(module, grad_input, grad_output):
            norms.setdefault(name, []).append(grad_output[0].norm().item())
        handles.append(module.register_full_backward_hook(hook))
    return handles


def grad_norms_returns_grads(model, norms):
    handles = []
    for name, module in lesson04.leaf_modules(model):
        def hook(module, grad_input, grad_output, name=name):
            norms.setdefault(name, []).append(grad_output[0].norm().item())
            return tuple(None if g is None else g * 2 for g in grad_input)
        handles.append(module.register_full_backward_hook(hook))
    return handles


def grad_norms_pre_hook(model, norms):
    """A correct variant: the backward pre-hook sees grad_output too."""
    handles = []
    for name, module in lesson04.leaf_modules(model):
        def hook(module, grad_output, name=name):
            norms.setdefault(name, []).append(grad_output[0].norm().item())
        handles.append(module.register_full_backward_pre_hook(hook))
    return handles


# ---------------------------------------------------------------------------- planted mistakes: renaming

def renaming_no_prefix(renames):
    def hook(module, state_dict, prefix, *rest):
        for key in list(state_dict):
            for old, new in renames.items():
                if key == old or key.startswith(old + "."):
                    state_dict[new + key[len(old):]] = state_dict.pop(key)
                    break
    return hook


def renaming_startswith(renames):
    def hook(module, state_dict, prefix, *rest):
        for key in list(state_dict):
            for old, new in renames.items():
                if key.startswith(prefix + old):
                    state_dict[prefix + new + key[len(prefix + old):]] = state_dict.pop(key)
                    break
    return hook


def renaming_new_dict(renames):
    def hook(module, state_dict, prefix, *rest):
        out = OrderedDict()
        for key, value in state_dict.items():
            rest_ = key[len(prefix):] if key.startswith(prefix) else None
            for old, new in renames.items():
                if rest_ is not None and (rest_ == old or rest_.startswith(old + ".")):
                    key = prefix + new + rest_[len(old):]
                    break
            out[key] = value
        state_dict = out
        return state_dict
    return hook


def renaming_copies(renames):
    def hook(module, state_dict, prefix, *rest):
        lesson04.renaming_pre_hook(renames)(module, state_dict, prefix, *rest)
        for key in list(state_dict):
            state_dict[key] = state_dict[key].clone()
    return hook


# ---------------------------------------------------------------------------- the tests

def test_hooked_module():
    assert_full_marks("04.HookedModule", lesson04.HookedModule)
    assert_zero("04.HookedModule", StubHooked)
    assert_zero("04.HookedModule", StubClass)
    assert_partial("04.HookedModule", hooked(call=call_no_wrap), mentions="becomes (value,)")
    assert_partial("04.HookedModule", hooked(call=call_no_chain), mentions="returned by the previous one")
    assert_partial("04.HookedModule", hooked(call=call_ignores_forward_hook_result),
                   mentions="must replace the output")
    assert_partial("04.HookedModule", hooked(call=call_hooks_see_original_args),
                   mentions="after the pre-hooks replaced them")
    assert_partial("04.HookedModule", hooked(register=register_ignores_prepend), mentions="move_to_end")
    assert_partial("04.HookedModule", hooked(register=register_returns_nothing), mentions="should return the handle")
    assert_partial("04.HookedModule", hooked(register=register_keyed_by_length), mentions="handle.id")
    assert_partial("04.HookedModule", stub, mentions="expected a class")


def test_record_activations():
    assert_full_marks("04.record_activations", lesson04.record_activations)
    assert_zero("04.record_activations", stub)
    assert_partial("04.record_activations", activations_late_binding, mentions="closures bind late")
    assert_partial("04.record_activations", activations_all_modules, mentions="recorded containers too")
    assert_partial("04.record_activations", activations_population_std, mentions="correction=1")
    assert_partial("04.record_activations", activations_tensors, mentions="not tensors")
    assert_partial("04.record_activations", activations_returns_output, mentions="return None")
    assert_partial("04.record_activations", activations_no_handles, mentions="should return the list of handles")


def test_record_grad_norms():
    assert_full_marks("04.record_grad_norms", lesson04.record_grad_norms)
    assert_full_marks("04.record_grad_norms", grad_norms_pre_hook)
    assert_zero("04.record_grad_norms", stub)
    assert_partial("04.record_grad_norms", grad_norms_of_grad_input, mentions="grad_output[0] is the one")
    assert_partial("04.record_grad_norms", grad_norms_late_binding, mentions="closures bind late")
    assert_partial("04.record_grad_norms", grad_norms_returns_grads, mentions="return None")


def test_renaming_pre_hook():
    assert_full_marks("04.renaming_pre_hook", lesson04.renaming_pre_hook)
    assert_zero("04.renaming_pre_hook", stub)
    assert_partial("04.renaming_pre_hook", renaming_no_prefix, mentions="nothing of the module was renamed")
    assert_partial("04.renaming_pre_hook", renaming_startswith, mentions="'fc10.weight' was renamed")
    assert_partial("04.renaming_pre_hook", renaming_new_dict, mentions="edit state_dict in place")
    assert_partial("04.renaming_pre_hook", renaming_copies, mentions="same tensor")


def test_the_reference_hooks_match_edunn_modules():
    """The reference HookedModule runs hooks exactly as edunn.nn.Module does."""
    log = {}
    for base in (lesson04.HookedModule, edunn.nn.Module):
        class Double(base):
            def forward(self, x):
                return x * 2
        m, calls = Double(), []
        m.register_forward_pre_hook(lambda mod, args: calls.append("a") or (args[0] + 1,))
        h = m.register_forward_pre_hook(lambda mod, args: calls.append("b"), prepend=True)
        m.register_forward_hook(lambda mod, args, out: calls.append(("c", args[0].item())) or out - 1)
        first = m(edunn.tensor(1.0)).item()
        h.remove()
        second = m(edunn.tensor(1.0)).item()
        log[base] = (calls, first, second)
    assert log[lesson04.HookedModule] == log[edunn.nn.Module]


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells (and the cells they need) with ``check`` as the
    identity, and return the names they define."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import itertools\nfrom collections import OrderedDict\nimport edunn\nimport edunn.nn as nn\n",
         namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and ("### BEGIN SOLUTION" in cell.source
                                         or "# needed by the exercises" in cell.source):
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/04_hooks.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("04.HookedModule", ns["HookedModule"])
    assert_full_marks("04.record_activations", ns["record_activations"])
    assert_full_marks("04.record_grad_norms", ns["record_grad_norms"])
    assert_full_marks("04.renaming_pre_hook", ns["renaming_pre_hook"])
