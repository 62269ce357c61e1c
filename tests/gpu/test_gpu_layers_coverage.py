"""GPU suite, coverage: every ``Module`` class that ``edunn.nn`` exports and every function of
``edunn.nn.functional`` has a device-vs-CPU check in the test_gpu_layers*.py files, or an entry
in an exclusion list that says why.  A case's id starts with the name it covers
(``Conv2d-circular-stride`` covers ``Conv2d``; ``ModuleList-ModuleDict-...`` covers each name)."""
import inspect

import pytest

import edunn.nn as nn
import edunn.nn.functional as F
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

