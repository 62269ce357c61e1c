"""The graders of lesson 16: the formulas they compare with are PyTorch's, edunn's references
and the notebook's solutions get full marks, the stub zero, planted mistakes less than full marks
with a specific message."""

import random
from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson16 as lesson16
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero, from_notebook
from edunn.optim import lr_scheduler
from edunn.optim.lr_scheduler import LRScheduler

pytestmark = pytest.mark.lesson16

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "16_lr_schedules.ipynb"
needs_solution = pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/16_lr_schedules.ipynb is missing")


# ---------------------------------------------------------------------------- the written-out
# formulas are PyTorch's: same learning rates after the constructor and every step

def _torch_lrs(torch, make, steps, metrics=None, lr=0.1):
    p = torch.zeros(1, requires_grad=True)
    opt = torch.optim.SGD([p], lr=lr)
    sched = make(opt)
    out = [opt.param_groups[0]["lr"]]
    for k in range(steps):
        opt.step()
        sched.step() if metrics is None else sched.step(metrics[k])
        out.append(opt.param_groups[0]["lr"])
    return out


@pytest.mark.parametrize("step_size, gamma", [(3, 0.5), (1, 0.9), (7, 0.3)])
def test_step_math_is_pytorchs(step_size, gamma):
    torch = pytest.importorskip("torch")
    S = torch.optim.lr_scheduler
    theirs = _torch_lrs(torch, lambda o: S.StepLR(o, step_size=step_size, gamma=gamma), 22)
    assert lesson16.step_math(0.1, 22, step_size, gamma) == pytest.approx(theirs, rel=1e-12)


@pytest.mark.parametrize("T_max, eta_min, steps", [(10, 0.0, 10), (5, 0.002, 22), (1, 0.0, 6), (8, 0.001, 40)])
def test_cosine_math_is_pytorchs(T_max, eta_min, steps):
    torch = pytest.importorskip("torch")
    S = torch.optim.lr_scheduler
    theirs = _torch_lrs(torch, lambda o: S.CosineAnnealingLR(o, T_max=T_max, eta_min=eta_min), steps)
    assert lesson16.cosine_math(0.1, steps, T_max, eta_min) == pytest.approx(theirs, rel=1e-9, abs=1e-14)


class _FakeChecker:
    rng = random.Random(16)


@pytest.mark.parametrize("options, mode, flat", lesson16.PLATEAU_CASES)
def test_plateau_math_is_pytorchs(options, mode, flat):
    torch = pytest.importorskip("torch")
    S = torch.optim.lr_scheduler
    metrics = lesson16._metrics(_FakeChecker, 40, mode, flat)
    theirs = _torch_lrs(torch, lambda o: S.ReduceLROnPlateau(o, **options), 40, metrics=metrics)
    assert lesson16.plateau_math(metrics, 0.1, **options) == pytest.approx(theirs, rel=1e-12)
    assert len(set(theirs)) > 1, "the case should reduce the lr at least once"


def test_mistakes_change_the_sequence():
    want = lesson16.step_math(0.1, 12, 3, 0.5)
    for flags in lesson16.STEP_MISTAKES.values():
        assert lesson16.step_math(0.1, 12, 3, 0.5, **flags) != want
    want = lesson16.cosine_math(0.1, 22, 5, 0.002)
    for flags in lesson16.COSINE_MISTAKES.values():
        assert lesson16.cosine_math(0.1, 22, 5, 0.002, **flags) != pytest.approx(want)


# ---------------------------------------------------------------------------- references, stubs

REFERENCES = {"16.StepLR": lr_scheduler.StepLR,
              "16.CosineAnnealingLR": lr_scheduler.CosineAnnealingLR,
              "16.ReduceLROnPlateau": lr_scheduler.ReduceLROnPlateau}


@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
def test_reference_gets_full_marks(exercise_id):
    assert_full_marks(exercise_id, REFERENCES[exercise_id])


@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
def test_stub_gets_zero(exercise_id):
    assert_zero(exercise_id, StubClass)


class StubGetLr(LRScheduler):
    """What the student copy holds for StepLR / CosineAnnealingLR: get_lr raising."""

    def __init__(self, optimizer, *args, last_epoch=-1, **options):
        super().__init__(optimizer, last_epoch)

    def get_lr(self):
        raise NotImplementedError("your turn: replace this line with your code")


@pytest.mark.parametrize("exercise_id", ["16.StepLR", "16.CosineAnnealingLR"])
def test_stub_get_lr_gets_zero(exercise_id):
    assert_zero(exercise_id, StubGetLr)


# ---------------------------------------------------------------------------- the notebook

NAMES = ("MyStepLR", "MyCosineAnnealingLR", "MyReduceLROnPlateau")


def _build(name: str, *replacements: tuple):
    """The notebook's ``name``, with ``(old, new)`` text replacements (planted mistakes)."""
    return from_notebook(SOLUTION, name, *replacements, prelude='import math\nimport edunn\nfrom edunn.optim.lr_scheduler import LRScheduler\n')


@needs_solution
@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
def test_the_notebook_solutions_get_full_marks(exercise_id):
    assert_full_marks(exercise_id, _build("My" + exercise_id.split(".")[1]))


@needs_solution
def test_the_student_copy_stubs_get_zero():
    lesson = ROOT / "lessons" / "16_lr_schedules.ipynb"
    if not lesson.exists():
        pytest.skip("lessons/16_lr_schedules.ipynb is missing")
    for cell in read_notebook(lesson).cells:
        for name in NAMES:
            if cell.cell_type == "code" and f"class {name}(" in cell.source:
                namespace = {"check": lambda exercise_id, impl: impl}
                exec("import math\nimport edunn\nfrom edunn.optim.lr_scheduler import LRScheduler\n", namespace)
                exec(compile(cell.source, f"<{name} stub>", "exec"), namespace)
                exercise_id = "16." + name[2:]
                assert_zero(exercise_id, namespace[name])


PLANTED = [
    ("16.StepLR", "MyStepLR", [("self.last_epoch == 0 or ", "")], "decays at step 0"),
    ("16.StepLR", "MyStepLR", [("self.last_epoch % self.step_size != 0",
                                "(self.last_epoch + 1) % self.step_size != 0")], "off by one step"),
    ("16.StepLR", "MyStepLR", [("if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:",
                                "if self.last_epoch == 0:")], "every step"),
    ("16.StepLR", "MyStepLR", [("return [lr * self.gamma for lr in current]",
                                "return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]"),
                               ("if self.last_epoch == 0 or self.last_epoch % self.step_size != 0:",
                                "if self.last_epoch == 0:")], "overwrites what the other scheduler did"),
    ("16.CosineAnnealingLR", "MyCosineAnnealingLR",
     [("(1 + math.cos(math.pi * t / T)) / 2\n", "math.cos(math.pi * t / T)\n")], "(1 + cos(pi t / T_max)) / 2"),
    ("16.CosineAnnealingLR", "MyCosineAnnealingLR",
     [("        if (t - 1 - T) % (2 * T) == 0:          # the bottom: f(t - 1) = 0, step additively\n"
       "            return [group[\"lr\"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2\n"
       "                    for base_lr, group in zip(self.base_lrs, groups)]\n", "")], "0 / 0"),
    ("16.CosineAnnealingLR", "MyCosineAnnealingLR",
     [("        if (t - 1 - T) % (2 * T) == 0:", "        return self._get_closed_form_lr()\n        if False:")],
     "overwrites what the other scheduler did"),
    ("16.CosineAnnealingLR", "MyCosineAnnealingLR",
     [("        if t == 0:\n            return [group[\"lr\"] for group in groups]\n", "")], "last_epoch == 0"),
    ("16.CosineAnnealingLR", "MyCosineAnnealingLR",
     [("self.eta_min + (base_lr - self.eta_min) * (1", "(base_lr) * (1")], "eta_min is missing"),
    ("16.ReduceLROnPlateau", "MyReduceLROnPlateau",
     [("if self.num_bad_epochs > self.patience:", "if self.num_bad_epochs >= self.patience:")],
     "more than patience"),
    ("16.ReduceLROnPlateau", "MyReduceLROnPlateau",
     [("            self.cooldown_counter = self.cooldown\n            self.num_bad_epochs = 0\n",
       "            self.cooldown_counter = self.cooldown\n")], "num_bad_epochs back to 0"),
    ("16.ReduceLROnPlateau", "MyReduceLROnPlateau",
     [("            self.cooldown_counter = self.cooldown\n", "")], "cooldown"),
    ("16.ReduceLROnPlateau", "MyReduceLROnPlateau",
     [("return a < best * (1 - self.threshold)", "return a < best")], "threshold"),
    ("16.ReduceLROnPlateau", "MyReduceLROnPlateau",
     [("max(group[\"lr\"] * self.factor, min_lr)", "group[\"lr\"] * self.factor")], "min_lr"),
    ("16.ReduceLROnPlateau", "MyReduceLROnPlateau",
     [("        self._last_lr = [group[\"lr\"] for group in self.optimizer.param_groups]\n        ### END",
       "        ### END")], "get_last_lr"),
]


@needs_solution
@pytest.mark.parametrize("exercise_id, name, replacements, mentions", PLANTED,
                         ids=[f"{p[0]}-{p[3][:20]}" for p in PLANTED])
def test_planted_mistakes_get_partial_marks(exercise_id, name, replacements, mentions):
    assert_partial(exercise_id, _build(name, *replacements), mentions=mentions)
