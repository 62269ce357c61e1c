"""GPU suite, coverage: every ``Module`` class that ``edunn.nn`` exports and every function of
``edunn.nn.functional`` has a device-vs-CPU check in the test_gpu_layers*.py files, or an entry
in an exclusion list that says why.  A case's id starts with the name it covers
(``Conv2d-circular-stride`` covers ``Conv2d``; ``ModuleList-ModuleDict-...`` covers each name)."""
import inspect

import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from _compare import assert_same, check_module, randn
import test_gpu_layers as layers
import test_gpu_layers_functional as functional
import test_gpu_layers_more as more
import test_gpu_layers_seq as seq

pytestmark = pytest.mark.lesson18

#: Module classes with no device check of their own here, and why
MODULE_EXCLUDED = {
    "Module": "the base class: every case runs through Module.__call__, .to(device) and deepcopy",
    "RNNCellBase": "the abstract base of RNNCell/LSTMCell/GRUCell, which are checked; it has no forward",
    "DataParallel": "nn.parallel: checked by the DataParallel tests (several devices, scatter/gather)",
    "DistributedDataParallel": "nn.parallel: checked by the distributed tests under mpiexec",
}
#: functions of nn.functional with no direct device check, and why
FUNCTION_EXCLUDED: dict = {}


def _exported_modules() -> set:
    names = set()
    for ns in (nn, nn.modules):
        for name, obj in vars(ns).items():
            if not name.startswith("_") and inspect.isclass(obj) and issubclass(obj, nn.Module):
                names.add(name)
    return names


def _exported_functions() -> set:
    return {name for name, obj in vars(F).items()
            if not name.startswith("_") and callable(obj) and not inspect.isclass(obj)
            and not inspect.ismodule(obj) and getattr(obj, "__module__", "").startswith("edunn")}


def _module_case_ids() -> list:
    ids = [p.id for mod in (layers, more, seq) for p in mod.CASES]
    ids += [d[0] for d in layers.DROPOUTS + layers.ALPHA] + ["RReLU-train"] + [x[0] for x in seq.LAZY]
    return ids


def _leading_names(case_id: str, known: set) -> set:
    """The names a case id starts with: its first token and each following one that is a name too."""
    out = set()
    for tok in case_id.split("-"):
        if tok not in known:
            break
        out.add(tok)
    return out


def test_every_case_id_starts_with_an_exported_module():
    known = _exported_modules()
    bad = [i for i in _module_case_ids() if i.split("-")[0] not in known]
    assert not bad, f"case ids that do not start with an edunn.nn class: {bad}"


def test_every_nn_module_class_is_checked_on_the_device():
    known = _exported_modules()
    covered = set().union(*(_leading_names(i, known) for i in _module_case_ids()))
    missing = sorted(known - covered - set(MODULE_EXCLUDED))
    assert not missing, f"edunn.nn classes with no GPU layer check and no justified exclusion: {missing}"
    stale = sorted(set(MODULE_EXCLUDED) & covered)
    assert not stale, f"excluded yet checked (drop them from MODULE_EXCLUDED): {stale}"


def test_every_functional_function_is_checked_on_the_device():
    known = _exported_functions()
    ids = [p.id for p in functional.CASES] + ["gumbel_softmax"]
    bad = [i for i in ids if i.split("-")[0] not in known]
    assert not bad, f"case ids that do not start with an nn.functional name: {bad}"
    covered = {i.split("-")[0] for i in ids}
    missing = sorted(known - covered - set(FUNCTION_EXCLUDED))
    assert not missing, f"nn.functional names with no GPU check and no justified exclusion: {missing}"


def test_the_precision_variants_name_existing_cases():
    for mod, name in ((layers, "CASES"), (more, "CASES"), (seq, "CASES"), (functional, "CASES")):
        ids = {p.id for p in getattr(mod, name)}
        for table in ("F64", "F16"):
            unknown = sorted(set(getattr(mod, table, [])) - ids)
            assert not unknown, f"{mod.__name__}.{table} names unknown cases: {unknown}"



# ------------------------------------------------------------------------------- the harness itself
def _second_call_differs(change):
    """A ``call`` that runs the module as is the first time (the CPU reference) and applies
    ``change(module, x, y)`` the second time (the device): the harness must notice."""
    calls = []

    def call(m, x):
        calls.append(1)
        y = m(x)
        return change(m, x, y) if len(calls) > 1 else y
    return call


EPS = 1e-3
_CHANGES = {
    "output": lambda m, x, y: y * (1 + EPS),
    "input-grad": lambda m, x, y: y + (x * EPS - (x * EPS).detach()).sum(1, keepdim=True)[:, :1],
    "param-grad": lambda m, x, y: y + ((m.weight * EPS).sum() - (m.weight * EPS).sum().detach()),
    "buffer": lambda m, x, y: (m.running_mean.add_(EPS), y)[1],
}


@pytest.mark.parametrize("what", list(_CHANGES))
def test_the_harness_notices_a_difference_in_the(gpu, what):
    make = (lambda: nn.BatchNorm1d(3)) if what == "buffer" else (lambda: nn.Linear(3, 3))
    with pytest.raises(AssertionError, match="max abs error"):
        check_module(make, [randn(4, 3)], gpu, call=_second_call_differs(_CHANGES[what]))


def test_the_harness_checks_device_and_dtype(gpu):
    ref = edunn.ones(3)
    with pytest.raises(AssertionError, match="expected on"):
        assert_same("x", ref, ref, "elsewhere", edunn.float32, 1e-5)
    with pytest.raises(AssertionError, match="dtype"):
        assert_same("x", ref, ref.double().to(gpu), gpu, edunn.float32, 1e-5)
    with pytest.raises(AssertionError, match="entries differ"):
        idx = edunn.tensor([1, 2, 3])
        assert_same("i", idx, edunn.tensor([1, 2, 4], device=gpu), gpu, edunn.float32, 1e-5)
