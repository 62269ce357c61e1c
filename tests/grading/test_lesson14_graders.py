"""The graders of lesson 14: edunn's optimizers and the notebook's solutions get full marks, the
stubs zero, planted mistakes less than full marks with a specific message; and the plain-Python
algorithms the graders compare with are PyTorch's (checked against torch.optim when installed)."""

from pathlib import Path

import pytest

import edunn
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero
from edunn.optim import Optimizer
import edunn.grading.exercises.lesson14 as lesson14

pytestmark = pytest.mark.lesson14

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "14_gd_to_adam.ipynb"


# ---------------------------------------------------------------------------- planted optimizers
# Each is what a learner might write, with one mistake switched on by a class attribute.

class Planted(Optimizer):
    defaults_ = {}
    use_no_grad = True
    skip_none = True
    group_options = True          # False: read the options from self.defaults
    state_in_self_state = True    # False: keep buffers in an attribute keyed by id(p)
    return_loss = True
    check_lr = True

    def __init__(self, params, **options):
        if self.check_lr and options.get("lr", self.defaults_.get("lr", 0)) < 0:
            raise ValueError("Invalid learning rate")
        self._validate({**self.defaults_, **options})
        super().__init__(params, {**self.defaults_, **options})
        self._buffers = {}

    def _validate(self, options):
        pass

    def _state(self, p):
        if self.state_in_self_state:
            return self.state[p]
        return self._buffers.setdefault(id(p), {})

    def step(self, closure=None):
        loss = None
        if closure is not None:
            with edunn.enable_grad():
                loss = closure()
        if self.use_no_grad:
            with edunn.no_grad():
                self._update()
        else:
            self._update()
        return loss if self.return_loss else None

    def _update(self):
        for group in self.param_groups:
            options = group if self.group_options else self.defaults
            for p in group["params"]:
                if p.grad is None and self.skip_none:
                    continue
                self.update(p, p.grad, options, self._state(p))


class PlantedSGD(Planted):
    defaults_ = dict(lr=1e-3, momentum=0, dampening=0, weight_decay=0, nesterov=False)
    average = damp_first = plain_nesterov = decay_after = no_nesterov_check = False

    def _validate(self, o):
        if not self.no_nesterov_check and o["nesterov"] and (o["momentum"] <= 0 or o["dampening"] != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")

    def update(self, p, grad, o, state):
        g = grad
        if o["weight_decay"] and not self.decay_after:
            g = g.add(p, alpha=o["weight_decay"])
        if o["momentum"]:
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = g.clone() * ((1 - o["dampening"]) if self.damp_first else 1)
            else:
                damp = (1 - o["momentum"]) if self.average else (1 - o["dampening"])
                state["momentum_buffer"].mul_(o["momentum"]).add_(g, alpha=damp)
            buf = state["momentum_buffer"]
            g = g.add(buf, alpha=o["momentum"]) if o["nesterov"] and not self.plain_nesterov else buf
        if o["weight_decay"] and self.decay_after:
            g = g.add(p, alpha=o["weight_decay"])
        p.add_(g, alpha=-o["lr"])


class PlantedAdagrad(Planted):
    defaults_ = dict(lr=1e-2, weight_decay=0, initial_accumulator_value=0, eps=1e-10)
    eps_inside = no_sum = no_initial = False

    def update(self, p, grad, o, state):
        g = grad.add(p, alpha=o["weight_decay"]) if o["weight_decay"] else grad
        if "sum" not in state:
            state["sum"] = edunn.full_like(p, 0.0 if self.no_initial else o["initial_accumulator_value"])
        if self.no_sum:
            state["sum"].copy_(g * g)
        else:
            state["sum"].addcmul_(g, g, value=1)
        denom = (state["sum"] + o["eps"]).sqrt() if self.eps_inside else state["sum"].sqrt() + o["eps"]
        p.addcdiv_(g, denom, value=-o["lr"])


class PlantedRMSprop(Planted):
    defaults_ = dict(lr=1e-2, alpha=0.99, eps=1e-8, weight_decay=0)
    swapped = summed = eps_inside = False

    def update(self, p, grad, o, state):
        g = grad.add(p, alpha=o["weight_decay"]) if o["weight_decay"] else grad
        if "square_avg" not in state:
            state["square_avg"] = edunn.zeros_like(p)
        v = state["square_avg"]
        if self.summed:
            v.addcmul_(g, g, value=1)
        elif self.swapped:
            v.mul_(1 - o["alpha"]).addcmul_(g, g, value=o["alpha"])
        else:
            v.mul_(o["alpha"]).addcmul_(g, g, value=1 - o["alpha"])
        denom = (v + o["eps"]).sqrt() if self.eps_inside else v.sqrt() + o["eps"]
        p.addcdiv_(g, denom, value=-o["lr"])


class PlantedAdam(Planted):
    defaults_ = dict(lr=1e-3, betas=(0.9, 0.999), eps=1e-8, weight_decay=0)
    correct_m = correct_v = True
    eps_inside = adamw = step_from_zero = no_betas_check = False

    def _validate(self, o):
        if not self.no_betas_check and not all(0.0 <= b < 1.0 for b in o["betas"]):
            raise ValueError("Invalid beta parameter")

    def update(self, p, grad, o, state):
        beta1, beta2 = o["betas"]
        g = grad
        if o["weight_decay"]:
            if self.adamw:
                p.mul_(1 - o["lr"] * o["weight_decay"])
            else:
                g = g.add(p, alpha=o["weight_decay"])
        if not state:
            state.update(step=0, exp_avg=edunn.zeros_like(p), exp_avg_sq=edunn.zeros_like(p))
        t = state["step"] if self.step_from_zero else state["step"] + 1
        state["step"] += 1
        m, v = state["exp_avg"], state["exp_avg_sq"]
        m.mul_(beta1).add_(g, alpha=1 - beta1)
        v.mul_(beta2).addcmul_(g, g, value=1 - beta2)
        m_hat = m / (1 - beta1 ** t) if self.correct_m else m
        v_hat = v / (1 - beta2 ** t) if self.correct_v else v
        denom = (v_hat + o["eps"]).sqrt() if self.eps_inside else v_hat.sqrt() + o["eps"]
        p.addcdiv_(m_hat, denom, value=-o["lr"])


def planted(base, **flags):
    return type(f"{base.__name__}_" + "_".join(flags), (base,), flags)


class StubOptimizer(Optimizer):
    """The student copy: ``__init__`` given, ``step`` not written yet."""

    def __init__(self, params, lr=1e-3, **options):
        super().__init__(params, dict(lr=lr, **options))

    def step(self, closure=None):
        raise NotImplementedError("your turn: replace this line with your code")


# ---------------------------------------------------------------------------- the references

def test_planted_classes_without_mistakes_get_full_marks():
    assert_full_marks("14.SGD", PlantedSGD)
    assert_full_marks("14.Adagrad", PlantedAdagrad)
    assert_full_marks("14.RMSprop", PlantedRMSprop)
    assert_full_marks("14.Adam", PlantedAdam)


@pytest.mark.parametrize("exercise, reference", [
    ("14.SGD", edunn.optim.SGD), ("14.Adagrad", edunn.optim.Adagrad),
    ("14.RMSprop", edunn.optim.RMSprop), ("14.Adam", edunn.optim.Adam)])
def test_references_full_marks_and_stubs_zero(exercise, reference):
    assert_full_marks(exercise, reference)
    assert_zero(exercise, StubClass)
    assert_zero(exercise, StubOptimizer)


# ---------------------------------------------------------------------------- planted mistakes

def test_sgd_mistakes():
    assert_partial("14.SGD", planted(PlantedSGD, average=True),
                   mentions="your momentum buffer is an average")
    assert_partial("14.SGD", planted(PlantedSGD, plain_nesterov=True),
                   mentions="your Nesterov step uses the buffer only")
    assert_partial("14.SGD", planted(PlantedSGD, decay_after=True),
                   mentions="added to the update after momentum")
    assert_partial("14.SGD", planted(PlantedSGD, damp_first=True),
                   mentions="you dampened the first gradient")
    assert_partial("14.SGD", planted(PlantedSGD, no_nesterov_check=True),
                   mentions="should raise ValueError")
    assert_partial("14.SGD", planted(PlantedSGD, use_no_grad=False), mentions="@edunn.no_grad()")
    assert_partial("14.SGD", planted(PlantedSGD, state_in_self_state=False), mentions="self.state[p]")
    assert_partial("14.SGD", planted(PlantedSGD, group_options=False), mentions="from group[...]")
    assert_partial("14.SGD", planted(PlantedSGD, skip_none=False), mentions="your code raised")
    assert_partial("14.SGD", planted(PlantedSGD, return_loss=False), mentions="expected the closure's loss")
    assert_partial("14.SGD", planted(PlantedSGD, check_lr=False), mentions="lr=-0.1")
    assert_partial("14.SGD", planted(PlantedSGD, defaults_=dict(PlantedSGD.defaults_, lr=0.01)),
                   mentions="the default lr")


def test_adagrad_mistakes():
    assert_partial("14.Adagrad", planted(PlantedAdagrad, eps_inside=True),
                   mentions="you put eps inside the square root")
    assert_partial("14.Adagrad", planted(PlantedAdagrad, no_sum=True),
                   mentions="Adagrad sums the squares of every gradient")
    assert_partial("14.Adagrad", planted(PlantedAdagrad, no_initial=True),
                   mentions="ignores initial_accumulator_value")
    assert_partial("14.Adagrad", planted(PlantedAdagrad, state_in_self_state=False),
                   mentions="self.state[p]")


def test_rmsprop_mistakes():
    assert_partial("14.RMSprop", planted(PlantedRMSprop, swapped=True),
                   mentions="alpha and 1 - alpha swapped")
    assert_partial("14.RMSprop", planted(PlantedRMSprop, summed=True), mentions="your v is Adagrad's sum")
    assert_partial("14.RMSprop", planted(PlantedRMSprop, eps_inside=True),
                   mentions="you put eps inside the square root")


@pytest.mark.filterwarnings("ignore::RuntimeWarning")  # the step counted from 0 divides by 0
def test_adam_mistakes():
    result = assert_partial("14.Adam", planted(PlantedAdam, correct_m=False, correct_v=False),
                            mentions="your Adam update is missing bias correction: step 1 moved "
                                     "the parameter by")
    assert "got 0.0316" in result.render() and "expected 0.01" in result.render()
    assert_partial("14.Adam", planted(PlantedAdam, correct_v=False),
                   mentions="corrects the first moment only")
    assert_partial("14.Adam", planted(PlantedAdam, correct_m=False),
                   mentions="corrects the second moment only")
    assert_partial("14.Adam", planted(PlantedAdam, eps_inside=True),
                   mentions="you put eps inside the square root")
    assert_partial("14.Adam", planted(PlantedAdam, adamw=True), mentions="AdamW's (decoupled")
    assert_partial("14.Adam", planted(PlantedAdam, no_betas_check=True),
                   mentions="betas=(1.0, 0.999)) should raise ValueError")
    assert_partial("14.Adam", planted(PlantedAdam, step_from_zero=True),
                   mentions="add 1 to the step count before using it")


# ---------------------------------------------------------------------------- the written-out math

@pytest.mark.parametrize("name, math_fn, options", [
    ("SGD", lesson14.sgd_math, dict(lr=0.05, momentum=0.8, dampening=0.3, weight_decay=0.1)),
    ("SGD", lesson14.sgd_math, dict(lr=0.05, momentum=0.9, nesterov=True, weight_decay=0.1)),
    ("Adagrad", lesson14.adagrad_math, dict(lr=0.1, weight_decay=0.1, initial_accumulator_value=0.3,
                                            eps=1e-3)),
    ("RMSprop", lesson14.rmsprop_math, dict(lr=0.01, alpha=0.9, eps=1e-3, weight_decay=0.1)),
    ("Adam", lesson14.adam_math, dict(lr=0.01, betas=(0.8, 0.95), eps=1e-3, weight_decay=0.1)),
])
def test_the_graders_math_is_pytorchs(name, math_fn, options):
    """The plain-Python algorithms the graders compare with give torch.optim's trajectory."""
    torch = pytest.importorskip("torch")
    gs = [0.7, -1.3, 0.2, 2.5, -0.4, 0.05, 1.1, -0.9]
    x = torch.tensor([0.6], dtype=torch.float64, requires_grad=True)
    opt = getattr(torch.optim, name)([x], **options)
    expected = []
    for g in gs:
        x.grad = torch.tensor([g], dtype=torch.float64)
        opt.step()
        expected.append(x.item())
    got = math_fn(0.6, gs, **options)
    assert got == pytest.approx(expected, rel=1e-12, abs=1e-14)


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells with ``check`` as the identity; return their names."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import edunn\nfrom edunn.optim import Optimizer\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/14_gd_to_adam.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("14.SGD", ns["MySGD"])
    assert_full_marks("14.Adagrad", ns["MyAdagrad"])
    assert_full_marks("14.RMSprop", ns["MyRMSprop"])
    assert_full_marks("14.Adam", ns["MyAdam"])


# ---------------------------------------------------------------------------- the picture helpers

def test_optimizer_path_is_gradient_descent_on_the_valley():
    from edunn.lessons_support.optim_paths import VALLEY, optimizer_path

    path = optimizer_path(edunn.optim.SGD, VALLEY, 20, lr=0.3)
    x0, y0 = VALLEY.start
    assert len(path) == 21 and path[0] == (x0, y0)
    for t, (x, y) in enumerate(path):     # x_t = (1 - 0.1 lr)^t x_0, y_t = (1 - 2 lr)^t y_0
        assert x == pytest.approx(0.97 ** t * x0, rel=1e-12)
        assert y == pytest.approx(0.4 ** t * y0, rel=1e-12, abs=1e-300)


def test_optimizer_path_stops_when_a_run_diverges():
    from edunn.lessons_support.optim_paths import VALLEY, optimizer_path

    path = optimizer_path(edunn.optim.SGD, VALLEY, 500, lr=3.0)   # |1 - 2 lr| = 5: y explodes
    assert 2 < len(path) < 500


def test_animation_is_a_small_deterministic_gif(tmp_path):
    pytest.importorskip("PIL")
    import matplotlib
    matplotlib.use("Agg")
    from PIL import Image
    from edunn.lessons_support.optim_paths import SADDLE, animate_paths, optimizer_path

    paths = {"SGD": optimizer_path(edunn.optim.SGD, SADDLE, 30, lr=0.05),
             "Adam": optimizer_path(edunn.optim.Adam, SADDLE, 30, lr=0.1)}
    first = animate_paths(SADDLE, paths, tmp_path / "a.gif", frames=6)
    second = animate_paths(SADDLE, paths, tmp_path / "b.gif", frames=6)
    assert first.read_bytes() == second.read_bytes()
    with Image.open(first) as gif:
        assert gif.format == "GIF" and gif.n_frames == 6
    assert first.stat().st_size < 300_000
