"""The graders of lesson 20: edunn's references and the notebook's solutions get full marks, the
stubs zero, planted mistakes less than full marks with a specific message; the mistakes the
graders replay are checked against PyTorch."""

from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson20 as lesson20
import edunn.nn.functional as F
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero, from_notebook, stub
from edunn.lessons_support import transforms

pytestmark = pytest.mark.lesson20

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "20_func_memory_precision.ipynb"
needs_solution = pytest.mark.skipif(not SOLUTION.exists(), reason="the lesson 20 solution is missing")


# ---------------------------------------------------------------------------- references, stubs

def test_references_get_full_marks():
    assert_full_marks("20.per_sample_grads", transforms.per_sample_grads)
    assert_full_marks("20.jvp", transforms.jvp)
    assert_full_marks("20.checkpoint", transforms.checkpoint)
    assert_full_marks("20.GradScaler", transforms.GradScaler)


def test_stubs_get_zero():
    assert_zero("20.per_sample_grads", stub)
    assert_zero("20.jvp", stub)
    assert_zero("20.checkpoint", stub)
    assert_zero("20.GradScaler", StubClass)


# ---------------------------------------------------------------------------- the replays

class _T:
    """Just enough of a grader's ``t`` for the helpers: ``randn`` and ``randint``."""

    def randn(self, *shape):
        return edunn.randn(*shape)

    def randint(self, low, high, shape):
        return edunn.randint(low, high, shape)


def test_loop_replay_matches_torch_func():
    torch = pytest.importorskip("torch")
    model = lesson20._mlp(_T())
    x, y = edunn.randn(5, 4), edunn.randint(0, 3, (5,))
    mine = lesson20._loop_grads(model, F.cross_entropy, x, y)
    theirs_model = torch.nn.Sequential(torch.nn.Linear(4, 5), torch.nn.Tanh(), torch.nn.Linear(5, 3))
    theirs_model.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    params = {k: v.detach() for k, v in theirs_model.named_parameters()}

    def loss_one(p, xi, yi):
        return torch.nn.functional.cross_entropy(
            torch.func.functional_call(theirs_model, p, (xi.unsqueeze(0),)), yi.unsqueeze(0))

    theirs = torch.func.vmap(torch.func.grad(loss_one), in_dims=(None, 0, 0))(
        params, torch.tensor(x.numpy()), torch.tensor(y.numpy()))
    for name in params:
        assert mine[name].numpy() == pytest.approx(theirs[name].numpy(), rel=1e-4, abs=1e-6)
    # the batch-mean mistake is a different answer
    wrong = lesson20._batch_mean_grads(model, F.cross_entropy, x, y)
    assert lesson20._as_flat_dict(wrong, list(params)) != pytest.approx(lesson20._as_flat_dict(mine, list(params)))


def test_finite_difference_and_vjp_replays_match_torch():
    torch = pytest.importorskip("torch")
    x, v = edunn.randn(2, 3, dtype=edunn.float64), edunn.randn(2, 3, dtype=edunn.float64)
    _, jv = torch.func.jvp(lambda z: z @ z.T, (torch.tensor(x.numpy()),), (torch.tensor(v.numpy()),))
    assert lesson20._finite_difference(lambda z: z @ z.T, x, v) == pytest.approx(jv.reshape(-1).tolist(), abs=1e-7)
    ones = edunn.ones(2, 2, dtype=edunn.float64)
    _, vjp_fn = torch.func.vjp(lambda z: z @ z.T, torch.tensor(x.numpy()))
    (theirs,) = vjp_fn(torch.tensor(ones.numpy()))
    assert lesson20._vjp_by_grad(lambda z: z @ z.T, x, ones) == pytest.approx(theirs.reshape(-1).tolist(), abs=1e-12)


@pytest.mark.parametrize("interval", [1, 3])
def test_scale_replay_matches_torch_grad_scaler(interval):
    torch = pytest.importorskip("torch")
    infs = [False, False, True, False, False, False, True, True, False, False, False]
    scaler = torch.amp.GradScaler("cpu", init_scale=1024.0, growth_factor=2.0, backoff_factor=0.5,
                                  growth_interval=interval)
    p = torch.nn.Parameter(torch.ones(2))
    opt = torch.optim.SGD([p], lr=0.1)
    scales = []
    for inf in infs:
        opt.zero_grad()
        x = torch.tensor([float("inf") if inf else 1.0, 2.0])
        scaler.scale((p * x).sum()).backward()
        scaler.step(opt)
        scaler.update()
        scales.append(scaler.get_scale())
    assert lesson20._replay_scales(infs, 1024.0, 2.0, 0.5, interval) == scales
    for flag in ("keep_tracker", "no_backoff", "grow_each"):
        if interval > 1 or flag == "no_backoff":      # with an interval of 1 the others coincide
            assert lesson20._replay_scales(infs, 1024.0, 2.0, 0.5, interval, **{flag: True}) != scales


# ---------------------------------------------------------------------------- the notebook

PRELUDE = "import math\nimport edunn\nimport edunn.nn as nn\nimport edunn.nn.functional as F\n"


def _build(name: str, *replacements: tuple, needs: tuple = ()):
    return from_notebook(SOLUTION, name, *replacements, prelude=PRELUDE, needs=needs)


@needs_solution
def test_the_notebook_solutions_get_full_marks():
    assert_full_marks("20.per_sample_grads", _build("per_sample_grads"))
    assert_full_marks("20.jvp", _build("my_jvp"))
    assert_full_marks("20.checkpoint", _build("my_checkpoint", needs=("CheckpointFunction",)))
    assert_full_marks("20.GradScaler", _build("MyGradScaler"))


def _checkpoint_with(*replacements):
    namespace_fn = from_notebook(SOLUTION, "CheckpointFunction", *replacements, prelude=PRELUDE)
    return lambda function, *args: namespace_fn.apply(function, *args)


PLANTED = [
    ("20.per_sample_grads", "per_sample_grads", [("model(inputs[i:i + 1]), targets[i:i + 1]", "model(inputs), targets")],
     "gradient of the whole batch"),
    ("20.per_sample_grads", "per_sample_grads",
     [("if p.requires_grad]", "]")], "frozen parameter"),
    ("20.jvp", "my_jvp", [("(jv,) = edunn.autograd.grad(g, u, v)", "jv = g")], "vector-Jacobian product"),
    ("20.jvp", "my_jvp", [("return out.detach(), jv.detach()", "return out, jv")], "detached"),
    ("20.GradScaler", "MyGradScaler", [("            self.good_steps = 0\n        else:", "        else:")],
     "not reset after an inf"),
    ("20.GradScaler", "MyGradScaler", [("self._scale *= self.backoff_factor", "pass")], "never backs off"),
    ("20.GradScaler", "MyGradScaler", [("if self.good_steps == self.growth_interval:", "if True:")],
     "after every good step"),
    ("20.GradScaler", "MyGradScaler", [("        if not self.found_inf:\n", "        if True:\n")], "inf/NaN"),
    ("20.GradScaler", "MyGradScaler", [("g.div_(self._scale)", "g.div_(1.0)")], "unscale"),
]


@needs_solution
@pytest.mark.parametrize("exercise_id, name, replacements, mentions", PLANTED,
                         ids=[f"{p[0]}-{p[3][:24]}" for p in PLANTED])
def test_planted_mistakes_get_partial_marks(exercise_id, name, replacements, mentions):
    assert_partial(exercise_id, _build(name, *replacements), mentions=mentions)


CHECKPOINT_PLANTED = [
    ([("x.detach().requires_grad_(x.requires_grad)", "x")], None),
    ([("        edunn.autograd.backward(output, grad_output)\n", "")], "x.grad or c.grad is None"),
    ([("        with edunn.enable_grad():\n            output = ctx.function(*inputs)",
       "        output = ctx.function(*inputs)")], None),
]


@needs_solution
@pytest.mark.parametrize("replacements, mentions", CHECKPOINT_PLANTED, ids=["not-detached", "no-backward", "no-enable-grad"])
def test_planted_checkpoint_mistakes_get_partial_marks(replacements, mentions):
    assert_partial("20.checkpoint", _checkpoint_with(*replacements), mentions=mentions)
