"""The graders of lesson 17: edunn's references and the notebook's solutions get full marks, the
stub zero, planted mistakes less than full marks with a specific message; the mistakes the
graders replay are the ones their messages name."""

from copy import deepcopy
from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson17 as lesson17
import edunn.nn as nn
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero, stub, from_notebook
from edunn.optim import swa_utils

pytestmark = pytest.mark.lesson17

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "17_swa.ipynb"
needs_solution = pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/17_swa.ipynb is missing")


# ---------------------------------------------------------------------------- references, stubs

def test_references_get_full_marks():
    assert_full_marks("17.AveragedModel", swa_utils.AveragedModel)
    assert_full_marks("17.update_bn", swa_utils.update_bn)


def test_stubs_get_zero():
    assert_zero("17.AveragedModel", StubClass)
    assert_zero("17.update_bn", stub)


class StubUpdate(nn.Module):
    """The student copy with ``__init__`` done and ``update_parameters`` still raising."""

    def __init__(self, model):
        super().__init__()
        self.module = deepcopy(model)
        self.register_buffer("n_averaged", edunn.tensor(0, dtype=edunn.long))

    def forward(self, *args, **kwargs):
        return self.module(*args, **kwargs)

    def update_parameters(self, model):
        raise NotImplementedError("your turn: replace this line with your code")


def test_stub_update_gets_zero():
    assert_zero("17.AveragedModel", StubUpdate)


# ---------------------------------------------------------------------------- the replayed mistakes

class _Checker:
    """Just enough of a grader's ``t`` for the model builders: ``randn`` and ``rand``."""

    def __init__(self, seed=0):
        import random
        self.rng = random.Random(seed)

    def randn(self, *shape):
        return edunn.tensor(self._nested(shape, lambda: self.rng.gauss(0, 1)))

    def rand(self, *shape, low=0.0, high=1.0):
        return edunn.tensor(self._nested(shape, lambda: self.rng.uniform(low, high)))

    def _nested(self, shape, draw):
        if not shape:
            return draw()
        return [self._nested(shape[1:], draw) for _ in range(shape[0])]


def test_running_mean_replay_is_the_mean_and_matches_averaged_model():
    t = _Checker()
    models = lesson17._snapshots(t, lesson17._mlp(t), 4)
    want = lesson17._running_means(models)
    flats = [lesson17._params_of(m) for m in models]
    for k in range(4):
        mean = [sum(col[:k + 1]) / (k + 1) for col in zip(*flats)]
        assert want[k] == pytest.approx(mean)
    averaged = swa_utils.AveragedModel(models[0])
    for m in models:
        averaged.update_parameters(m)
    assert lesson17._params(averaged) == pytest.approx(want[-1], rel=1e-5, abs=1e-6)
    # each mistake leaves a different average after 4 models
    wrongs = [lesson17._running_means(models, **{flag: True})[-1]
              for flag in ("divide_by_n", "count_initial", "frozen_n", "halves")]
    for i, w in enumerate(wrongs):
        assert w != pytest.approx(want[-1])
        for other in wrongs[i + 1:]:
            assert w != pytest.approx(other)


def test_running_mean_replay_matches_pytorch():
    torch = pytest.importorskip("torch")
    t = _Checker(3)
    models = lesson17._snapshots(t, lesson17._mlp(t), 5)
    copies = []
    for m in models:
        theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                     torch.nn.Linear(4, 2))
        theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in m.state_dict().items()})
        copies.append(theirs)
    averaged = torch.optim.swa_utils.AveragedModel(copies[0])
    for theirs in copies:
        averaged.update_parameters(theirs)
    flat = [v for p in averaged.parameters() for v in p.detach().reshape(-1).tolist()]
    assert lesson17._running_means(models)[-1] == pytest.approx(flat, rel=1e-5, abs=1e-6)


def test_update_bn_replay_is_update_bn():
    t = _Checker(1)
    model = lesson17._mlp(t)
    loader = [t.randn(5, 3) * 3.0 + 2.0, t.randn(7, 3)]
    ref = deepcopy(model)
    swa_utils.update_bn(loader, ref)
    assert lesson17._bn_stats(lesson17._replay_update_bn(loader, model)) == pytest.approx(
        lesson17._bn_stats(ref), rel=1e-5, abs=1e-6)
    untouched = lesson17._bn_stats(lesson17._replay_update_bn(loader, model, reset=False, train=False))
    assert untouched == pytest.approx(lesson17._bn_stats(model))


def test_update_bn_reference_matches_pytorch():
    torch = pytest.importorskip("torch")
    t = _Checker(2)
    model = lesson17._mlp(t)
    loader = [t.randn(6, 3) * 3.0 + 2.0, t.randn(4, 3) * 3.0 + 2.0, t.randn(9, 3) * 3.0 + 2.0]
    theirs = torch.nn.Sequential(torch.nn.Linear(3, 4), torch.nn.BatchNorm1d(4), torch.nn.ReLU(),
                                 torch.nn.Linear(4, 2))
    theirs.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    mine = lesson17._replay_update_bn(loader, model)
    torch.optim.swa_utils.update_bn([torch.tensor(b.numpy()) for b in loader], theirs)
    assert lesson17._bn_stats(mine) == pytest.approx(
        theirs[1].running_mean.tolist() + theirs[1].running_var.tolist(), rel=1e-5, abs=1e-6)


# ---------------------------------------------------------------------------- the notebook

def _build(name: str, *replacements: tuple):
    """The notebook's ``name``, with ``(old, new)`` text replacements (planted mistakes)."""
    return from_notebook(SOLUTION, name, *replacements, prelude='import copy\nimport edunn\nimport edunn.nn as nn\n')


@needs_solution
def test_the_notebook_solutions_get_full_marks():
    assert_full_marks("17.AveragedModel", _build("MyAveragedModel"))
    assert_full_marks("17.update_bn", _build("my_update_bn"))


PLANTED = [
    ("17.AveragedModel", "MyAveragedModel", [("(p - p_avg) / (n + 1)", "(p - p_avg) / n")],
     "did you divide by n instead of n + 1?"),
    ("17.AveragedModel", "MyAveragedModel",
     [("edunn.tensor(0, dtype=edunn.long)", "edunn.tensor(1, dtype=edunn.long)")], "counted as one more model"),
    ("17.AveragedModel", "MyAveragedModel", [("        self.n_averaged += 1\n", "")], "n_averaged grow"),
    ("17.AveragedModel", "MyAveragedModel", [("p_avg + (p - p_avg) / (n + 1)", "(p_avg + p) / 2")], "half the weight"),
    ("17.AveragedModel", "MyAveragedModel", [("copy.deepcopy(model)", "model")], "copy.deepcopy"),
    ("17.AveragedModel", "MyAveragedModel",
     [('self.register_buffer("n_averaged", edunn.tensor(0, dtype=edunn.long))',
       "self.n_averaged = edunn.tensor(0, dtype=edunn.long)")], "state_dict() has no 'n_averaged'"),
    ("17.AveragedModel", "MyAveragedModel", [("b_avg.copy_(b)", "b_avg.copy_(b_avg + (b - b_avg) / (n + 1))")],
     "averaged the buffers too"),
    ("17.AveragedModel", "MyAveragedModel", [("b_avg.copy_(b)", "pass")], "first model's statistics"),
    ("17.update_bn", "my_update_bn", [("layer.reset_running_stats()", "pass")], "reset them first"),
    ("17.update_bn", "my_update_bn", [("layer.momentum = None", "pass")], "momentum = None"),
    ("17.update_bn", "my_update_bn", [("model.train()\n", "model.eval()\n")], "train mode"),
    ("17.update_bn", "my_update_bn", [("layer.momentum = momentum", "pass")], "put it back"),
    ("17.update_bn", "my_update_bn", [("model.train(was_training)", "pass")], "model.train(was_training)"),
    ("17.update_bn", "my_update_bn", [("batch[0] if isinstance(batch, (list, tuple)) else batch", "batch")],
     "(input, label)"),
]


@needs_solution
@pytest.mark.parametrize("exercise_id, name, replacements, mentions", PLANTED,
                         ids=[f"{p[0]}-{p[3][:24]}" for p in PLANTED])
def test_planted_mistakes_get_partial_marks(exercise_id, name, replacements, mentions):
    assert_partial(exercise_id, _build(name, *replacements), mentions=mentions)
