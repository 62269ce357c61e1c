"""The graders of lesson 15: the algorithms they compare with are PyTorch's, edunn's references
and the notebook's solutions get full marks, the stub zero, planted mistakes less than full marks
with a specific message."""

import math
import random
from pathlib import Path

import pytest

import edunn
import edunn.grading.exercises.lesson15 as lesson15
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero, from_notebook
from edunn.optim import Optimizer

pytestmark = pytest.mark.lesson15

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "15_more_optimizers.ipynb"
needs_solution = pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/15_more_optimizers.ipynb is missing")

# ---------------------------------------------------------------------------- the written-out
# algorithms are PyTorch's: same gradients, same parameters after every step

CASES = [
    ("AdamW", lesson15.adamw_math, {"lr": 0.01, "weight_decay": 0.1}, 1.0),
    ("AdamW", lesson15.adamw_math, {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 2.0}, 1.0),
    ("AdamW", lesson15.adamw_math, {"lr": 0.01, "eps": 1e-3, "weight_decay": 0.1}, 1e-2),
    ("Adamax", lesson15.adamax_math, {"lr": 0.01}, 1.0),
    ("Adamax", lesson15.adamax_math,
     {"lr": 0.02, "betas": (0.8, 0.9), "eps": 1e-2, "weight_decay": 0.1}, 0.05),
    ("RAdam", lesson15.radam_math, {"lr": 0.01}, 1.0),
    ("RAdam", lesson15.radam_math, {"lr": 0.01, "betas": (0.9, 0.7)}, 1.0),
    ("RAdam", lesson15.radam_math, {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-3}, 0.01),
    ("RAdam", lesson15.radam_math, {"lr": 0.01, "weight_decay": 0.5}, 1.0),
    ("RAdam", lesson15.radam_math,
     {"lr": 0.01, "weight_decay": 0.5, "decoupled_weight_decay": True}, 1.0),
    ("Rprop", lesson15.rprop_math, {"lr": 0.05}, 1.0),
    ("Rprop", lesson15.rprop_math, {"lr": 0.05, "etas": (0.3, 1.5)}, 1.0),
    ("Rprop", lesson15.rprop_math,
     {"lr": 0.05, "etas": (0.2, 2.0), "step_sizes": (0.02, 0.15)}, 1.0),
]


@pytest.mark.parametrize("name, math_fn, options, scale", CASES,
                         ids=[f"{c[0]}-{i}" for i, c in enumerate(CASES)])
def test_written_out_algorithm_is_pytorchs(name, math_fn, options, scale):
    torch = pytest.importorskip("torch")
    rng = random.Random(15)
    steps, n = 16, 6
    x0 = [rng.gauss(0, 1) for _ in range(n)]
    grads = [[rng.gauss(0, 1) * scale for _ in range(n)] for _ in range(steps)]
    p = torch.tensor(x0, dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, name)([p], **options)
    theirs = []
    for g in grads:
        p.grad = torch.tensor(g, dtype=torch.float64)
        opt.step()
        theirs.append(p.detach().tolist())
    columns = [math_fn(x0[i], [g[i] for g in grads], **options) for i in range(n)]
    for s in range(steps):
        for i in range(n):
            assert math.isclose(columns[i][s], theirs[s][i], rel_tol=1e-10, abs_tol=1e-12), (name, s, i)


def test_radam_rho_and_rectification():
    rho_t, rho_inf = lesson15.radam_rho(1, 0.999)
    assert rho_inf == pytest.approx(1999.0)
    assert rho_t == pytest.approx(1.0)
    assert lesson15.radam_rho(6, 0.999)[0] > 5 > lesson15.radam_rho(5, 0.999)[0]
    assert lesson15.radam_rectification(rho_inf - 1e-9, rho_inf) == pytest.approx(1.0)


# ---------------------------------------------------------------------------- references, stubs

REFERENCES = {"15.AdamW": edunn.optim.AdamW, "15.Adamax": edunn.optim.Adamax,
              "15.RAdam": edunn.optim.RAdam, "15.Rprop": edunn.optim.Rprop}


@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
def test_reference_gets_full_marks(exercise_id):
    assert_full_marks(exercise_id, REFERENCES[exercise_id])


@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
def test_stub_gets_zero(exercise_id):
    assert_zero(exercise_id, StubClass)


class StubStep(Optimizer):
    """What the student copy holds: ``__init__`` written, ``step`` raising in the loop."""

    def __init__(self, params, lr=1e-3, **options):
        super().__init__(params, dict(lr=lr, **options))

    def step(self, closure=None):
        raise NotImplementedError("your turn: replace this line with your code")


@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
def test_stub_step_gets_zero(exercise_id):
    assert_zero(exercise_id, StubStep)


# ---------------------------------------------------------------------------- the notebook

def _build(name: str, *replacements: tuple):
    """The notebook's ``name``, with ``(old, new)`` text replacements (planted mistakes)."""
    return from_notebook(SOLUTION, name, *replacements, prelude='import math\nimport edunn\nfrom edunn.optim import Optimizer\n', needs=("rho",))


@needs_solution
@pytest.mark.parametrize("exercise_id", sorted(REFERENCES))
def test_the_notebook_solutions_get_full_marks(exercise_id):
    assert_full_marks(exercise_id, _build("My" + exercise_id.split(".")[1]))


PLANTED = [
    ("15.AdamW", "MyAdamW",
     [('p.mul_(1 - lr * group["weight_decay"])', 'g = p.grad.add(p, alpha=group["weight_decay"])'),
      ("t, g = state[\"step\"], p.grad", "t = state[\"step\"]")],
     "Adam's L2 penalty"),
    ("15.AdamW", "MyAdamW", [('p.mul_(1 - lr * group["weight_decay"])', 'p.mul_(1 - group["weight_decay"])')],
     "by weight_decay alone"),
    ("15.AdamW", "MyAdamW",
     [('                p.mul_(1 - lr * group["weight_decay"])       # the decoupled decay, first\n', ""),
      ('value=-lr)\n', 'value=-lr)\n                p.mul_(1 - lr * group["weight_decay"])\n')],
     "after the Adam step"),
    ("15.AdamW", "MyAdamW",
     [("state[\"exp_avg\"] / (1 - beta1 ** t)", "state[\"exp_avg\"]"),
      ("state[\"exp_avg_sq\"] / (1 - beta2 ** t)", "state[\"exp_avg_sq\"]")],
     "missing bias correction"),
    ("15.AdamW", "MyAdamW", [("state = self.state[p]\n", "state = self.__dict__.setdefault('mine', {}).setdefault(id(p), {})\n")],
     "self.state"),
    ("15.AdamW", "MyAdamW", [("    @edunn.no_grad()\n", "")], "no_grad"),
    ("15.Adamax", "MyAdamax",
     [('g.abs() + group["eps"]))', "g.abs()))"),
      ('p.addcdiv_(state["exp_avg"], state["exp_inf"],', 'p.addcdiv_(state["exp_avg"], state["exp_inf"] + group["eps"],')],
     "after the maximum"),
    ("15.Adamax", "MyAdamax", [(' / (1 - beta1 ** state["step"])', "")], "bias correction of m"),
    ("15.Adamax", "MyAdamax", [('state["exp_inf"] * beta2', 'state["exp_inf"]')], "never decays"),
    ("15.Adamax", "MyAdamax", [("g.abs() + group", "g.abs() * (1 - beta2) + group")], "plain maximum"),
    ("15.Adamax", "MyAdamax",
     [("        for i, beta in enumerate(betas):\n            if not 0.0 <= beta < 1.0:\n"
       "                raise ValueError(f\"Invalid beta parameter at index {i}: {beta}\")\n", "")],
     "ValueError"),
    ("15.RAdam", "MyRAdam", [("lr * rectification(t, beta2)", "lr")], "rectification"),
    ("15.RAdam", "MyRAdam",
     [("p.sub_(m_hat * lr)", 'p.sub_(m_hat * lr / ((state["exp_avg_sq"] / (1 - beta2 ** t)).sqrt() + group["eps"]))')],
     "plain momentum step"),
    ("15.RAdam", "MyRAdam", [("if rho(t, beta2)[0] > 5:", "if t > 5:")], "the switch is rho_t > 5"),
    ("15.RAdam", "MyRAdam", [("math.sqrt(1 - beta2 ** t) / (", "1 / (")], "bias correction of v"),
    ("15.RAdam", "MyRAdam", [('if group["decoupled_weight_decay"]:', 'if not group["decoupled_weight_decay"]:')],
     "wrong kind"),
    ("15.Rprop", "MyRprop", [("g = edunn.where(sign < 0, 0.0, g)", "pass")], "rest for one step"),
    ("15.Rprop", "MyRprop", [("p.addcmul_(g.sign(),", "p.addcmul_(g,")], "size of the gradient"),
    ("15.Rprop", "MyRprop", [('etaminus, etaplus = group["etas"]', 'etaplus, etaminus = group["etas"]')],
     "swapped"),
    ("15.Rprop", "MyRprop", [(".clamp_(smallest, largest)", "")], "not clamped"),
    ("15.Rprop", "MyRprop", [('state["prev"].copy_(g)', 'state["prev"].copy_(p.grad)')], "raw gradient"),
]


@needs_solution
@pytest.mark.parametrize("exercise_id, name, replacements, mentions", PLANTED,
                         ids=[f"{p[0]}-{p[3][:20]}" for p in PLANTED])
def test_planted_mistakes_get_partial_marks(exercise_id, name, replacements, mentions):
    assert_partial(exercise_id, _build(name, *replacements), mentions=mentions)
