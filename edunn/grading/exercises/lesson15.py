"""Graders of lesson 15 (the rest of the optimizer family): the learner's ``AdamW``, ``Adamax``,
``RAdam`` and ``Rprop`` as ``edunn.optim.Optimizer`` subclasses.

Every grader feeds one gradient sequence to the learner's optimizer, to edunn's
(``edunn.optim.AdamW`` ...) and to the algorithm written out below in plain Python floats, line
for line as PyTorch's documentation states it (all four are coordinatewise, so one coordinate at
a time is enough; ``tests/grading/test_lesson15_graders.py`` checks these against ``torch.optim``),
and compares the trajectories in float64.  The same plain-Python algorithms, each with one usual
mistake switched on, recognise that mistake in the learner's trajectory and name it:

    your AdamW decays the weights by weight_decay alone; the decay is lr * weight_decay:
    step 1 moved the parameter by: got 0.02, expected 0.011

Each grader also checks what the ``Optimizer`` contract asks of a subclass (PyTorch's defaults,
state in ``self.state[p]`` so that ``state_dict`` resumes a run, parameters without a gradient
left alone, one set of options per parameter group, ``step(closure)``, an update autograd does not
record) and PyTorch's ``ValueError`` for bad arguments.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from edunn.grading import Fail, exercise

# ---------------------------------------------------------------------------- the algorithms
# One coordinate: ``x`` the starting value, ``gs`` its gradients, one per step; the result is the
# list of values after each step.  The keyword-only flags plant the usual mistakes.


def adamw_math(x: float, gs: list, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
               eps: float = 1e-8, weight_decay: float = 1e-2, *, l2: bool = False,
               no_lr: bool = False, decay_after: bool = False, no_decay: bool = False,
               no_correction: bool = False) -> list:
    """PyTorch's AdamW: ``x *= 1 - lr wd``; ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``x -= lr m^ / (sqrt(v^) + eps)`` with ``m^ = m / (1 - b1^t)``, ``v^ = v / (1 - b2^t)``."""
    beta1, beta2 = betas
    out, m, v = [], 0.0, 0.0
    for t, g in enumerate(gs, start=1):
        if l2:
            g = g + weight_decay * x
        elif no_lr:
            x = x * (1 - weight_decay)
        elif not (decay_after or no_decay):
            x = x * (1 - lr * weight_decay)
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        bc1, bc2 = (1.0, 1.0) if no_correction else (1 - beta1 ** t, 1 - beta2 ** t)
        x = x - lr * (m / bc1) / (math.sqrt(v / bc2) + eps)
        if decay_after:
            x = x * (1 - lr * weight_decay)
        out.append(x)
    return out


def adamax_math(x: float, gs: list, lr: float = 2e-3, betas: tuple = (0.9, 0.999),
                eps: float = 1e-8, weight_decay: float = 0.0, *, eps_outside: bool = False,
                no_correction: bool = False, correct_u: bool = False, no_beta2: bool = False,
                scaled_g: bool = False, no_decay: bool = False) -> list:
    """PyTorch's Adamax: ``g += wd x``; ``m = b1 m + (1 - b1) g``;
    ``u = max(b2 u, |g| + eps)``; ``x -= lr / (1 - b1^t) * m / u``."""
    beta1, beta2 = betas
    out, m, u = [], 0.0, 0.0
    for t, g in enumerate(gs, start=1):
        if weight_decay and not no_decay:
            g = g + weight_decay * x
        m = beta1 * m + (1 - beta1) * g
        new = abs(g) * ((1 - beta2) if scaled_g else 1.0)
        if eps_outside:
            u = max(beta2 * u, new)
            denom = u + eps
        else:
            u = max(u if no_beta2 else beta2 * u, new + eps)
            denom = u
        if correct_u:
            denom = denom / (1 - beta2 ** t)
        bc1 = 1.0 if no_correction else 1 - beta1 ** t
        x = x - lr / bc1 * m / denom
        out.append(x)
    return out


def radam_rho(t: int, beta2: float) -> tuple[float, float]:
    """``(rho_t, rho_inf)``: the length of the simple moving average that the exponential one
    with ``beta2`` approximates after ``t`` steps, and its limit."""
    rho_inf = 2 / (1 - beta2) - 1
    return rho_inf - 2 * t * beta2 ** t / (1 - beta2 ** t), rho_inf


def radam_rectification(rho_t: float, rho_inf: float) -> float:
    """``r_t = sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))``."""
    return math.sqrt((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t))


def radam_math(x: float, gs: list, lr: float = 1e-3, betas: tuple = (0.9, 0.999),
               eps: float = 1e-8, weight_decay: float = 0.0,
               decoupled_weight_decay: bool = False, *, no_rectification: bool = False,
               adam_early: bool = False, switch_on_t: bool = False, no_lt_correction: bool = False,
               uncorrected_m: bool = False, swapped_decay: bool = False) -> list:
    """PyTorch's RAdam: weight decay (L2 into ``g``, or ``x *= 1 - lr wd`` when decoupled);
    ``m``, ``v`` as Adam's; ``m^ = m / (1 - b1^t)``; if ``rho_t > 5``:
    ``x -= lr m^ r_t sqrt(1 - b2^t) / (sqrt(v) + eps)``, else ``x -= lr m^``."""
    beta1, beta2 = betas
    out, m, v = [], 0.0, 0.0
    for t, g in enumerate(gs, start=1):
        if weight_decay:
            if decoupled_weight_decay != swapped_decay:
                x = x * (1 - lr * weight_decay)
            else:
                g = g + weight_decay * x
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        m_hat = m if uncorrected_m else m / (1 - beta1 ** t)
        rho_t, rho_inf = radam_rho(t, beta2)
        adapt = t > 5 if switch_on_t else rho_t > 5
        if adapt:
            l_t = (1.0 if no_lt_correction else math.sqrt(1 - beta2 ** t)) / (math.sqrt(v) + eps)
            r_t = 1.0 if no_rectification else radam_rectification(rho_t, rho_inf)
            x = x - lr * m_hat * r_t * l_t
        elif adam_early:
            x = x - lr * m_hat / (math.sqrt(v / (1 - beta2 ** t)) + eps)
        else:
            x = x - lr * m_hat
        out.append(x)
    return out


def rprop_math(x: float, gs: list, lr: float = 1e-2, etas: tuple = (0.5, 1.2),
               step_sizes: tuple = (1e-6, 50), *, no_rest: bool = False,
               magnitude: bool = False, swapped: bool = False, no_clamp: bool = False,
               raw_prev: bool = False) -> list:
    """PyTorch's Rprop: the sign of ``g prev`` multiplies the step size by ``etaplus`` (> 0) or
    ``etaminus`` (< 0, and then ``g = 0``: that coordinate rests), clamped to ``step_sizes``;
    ``x -= step_size sign(g)``; ``prev = g``."""
    etaminus, etaplus = (etas[1], etas[0]) if swapped else etas
    lo, hi = step_sizes
    out, prev, size = [], 0.0, lr
    for g in gs:
        product = g * prev
        used = g
        if product > 0:
            size = size * etaplus
        elif product < 0:
            size = size * etaminus
            if not no_rest:
                used = 0.0
        if not no_clamp:
            size = min(max(size, lo), hi)
        sign = (used > 0) - (used < 0)
        x = x - (size * used if magnitude else size * sign)
        prev = g if raw_prev else used
        out.append(x)
    return out


# ---------------------------------------------------------------------------- running optimizers

SHAPES = ((3,), (2, 2))


def _flat(values: Any) -> list:
    if not isinstance(values, list):
        return [values]
    flat = []
    for v in values:
        flat.extend(_flat(v))
    return flat


def _leaves(inits: list) -> list:
    import edunn

    return [edunn.tensor(v, dtype=edunn.float64, requires_grad=True) for v in inits]


def _problem(t, steps: int, scale: float = 1.0) -> tuple[list, list]:
    """Starting values of two parameters of shapes (3,) and (2, 2) and ``steps`` gradients for
    each, as nested lists drawn from ``t.rng``."""
    inits = [t.randn(*s).tolist() for s in SHAPES]
    grads = [[(t.randn(*s) * scale).tolist() for s in SHAPES] for _ in range(steps)]
    return inits, grads


def _make(cls, params: list, options: dict, name: str):
    import edunn

    opt = cls(params, **options)
    if not isinstance(opt, edunn.optim.Optimizer):
        raise Fail(f"{name} should subclass edunn.optim.Optimizer (class {name}(Optimizer): ... "
                   f"calling super().__init__(params, defaults)), got a {type(opt).__name__}")
    if not getattr(opt, "param_groups", None):
        raise Fail(f"{name}(params, ...) has no param_groups: call super().__init__(params, "
                   "defaults) in __init__")
    return opt


def _step(opt, params: list, grads: list) -> None:
    import edunn

    for p, g in zip(params, grads):
        p.grad = None if g is None else edunn.tensor(g, dtype=edunn.float64)
    try:
        opt.step()
    except RuntimeError as error:
        if "leaf" in str(error) and "in-place" in str(error):
            raise Fail("step() changed a parameter in place while autograd was recording: "
                       "decorate step with @edunn.no_grad()") from None
        raise
    for p in params:
        if p.grad_fn is not None:
            raise Fail("after step() a parameter has a grad_fn: the update was recorded by "
                       "autograd; decorate step with @edunn.no_grad()")


def _trajectory(cls, options: dict, inits: list, grads: list, name: str) -> list:
    """The flattened parameters after each step: ``steps`` lists of 7 floats."""
    params = _leaves(inits)
    opt = _make(cls, params, options, name)
    out = []
    for gs in grads:
        _step(opt, params, gs)
        out.append(_flat([p.detach().tolist() for p in params]))
    return out


def _math_trajectory(math_fn: Callable, inits: list, grads: list, options: dict,
                     **mistake: Any) -> list:
    x0 = _flat(inits)
    per_step = [_flat(gs) for gs in grads]
    columns = [math_fn(x0[i], [row[i] for row in per_step], **options, **mistake)
               for i in range(len(x0))]
    return [[col[s] for col in columns] for s in range(len(grads))]


def _describe(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


def _compare_run(t, student, reference, math_fn: Callable, options: dict, mistakes: dict,
                 name: str, steps: int = 10, scale: float = 1.0, hint: str | None = None) -> None:
    """The learner's optimizer, edunn's and the written-out algorithm on one random problem,
    compared at every step (float64)."""
    inits, grads = _problem(t, steps, scale)
    mine = _trajectory(student, options, inits, grads, name)
    want = _math_trajectory(math_fn, inits, grads, options)
    wrong = {}
    for diagnosis, flags in mistakes.items():
        try:   # a mistake can be undefined for some options (RAdam's r_t switched on too early)
            trajectory = _math_trajectory(math_fn, inits, grads, options, **flags)
        except (ValueError, ZeroDivisionError):
            continue
        if trajectory != want:
            wrong[diagnosis] = trajectory
    what = f"{name}({_describe(options)}): the parameters after each of {steps} steps"
    if not t.close(mine, want, what, rtol=1e-7, atol=1e-10, hint=hint, mistakes=wrong):
        return
    theirs = _trajectory(reference, options, inits, grads, reference.__name__)
    t.close(mine, theirs, f"{what}, compared with edunn.optim.{reference.__name__}",
            rtol=1e-7, atol=1e-10)


def _first_step(t, student, math_fn: Callable, options: dict, mistakes: dict, name: str,
                x0: float = 1.0, g: float = 2.0, hint: str | None = None) -> None:
    """One step from ``x0`` with gradient ``g``: by how much did the parameter move?"""
    params = _leaves([[x0]])
    opt = _make(student, params, options, name)
    _step(opt, params, [[g]])
    moved = x0 - params[0].detach().item()
    expected = x0 - math_fn(x0, [g], **options)[0]
    wrong = {}
    for diagnosis, flags in mistakes.items():
        try:
            wrong[diagnosis] = x0 - math_fn(x0, [g], **options, **flags)[0]
        except (ValueError, ZeroDivisionError):
            continue
    t.close(moved, expected,
            f"step 1 moved the parameter by (from {x0} with gradient {g}, {_describe(options)})",
            rtol=1e-6, atol=1e-12, hint=hint,
            mistakes={d: w for d, w in wrong.items() if abs(w - expected) > 1e-9})


def _contract(t, student, name: str, defaults: dict, options: dict) -> None:
    """What every ``Optimizer`` subclass owes: PyTorch's defaults, state in ``self.state``,
    parameters without a gradient left alone, per-group options, the closure's loss."""
    with t.group("PyTorch's default options"):
        opt = _make(student, _leaves([[1.0, 2.0]]), {}, name)
        group = opt.param_groups[0]
        for key, value in defaults.items():
            if key not in group:
                raise Fail(f"param_groups[0] has no {key!r}: put every option in the defaults "
                           "dict you give to super().__init__(params, defaults)")
            got = tuple(group[key]) if isinstance(group[key], list) else group[key]
            t.equal(got, value, f"the default {key}",
                    hint=f"{name}'s signature should give PyTorch's defaults")

    with t.group("state lives in self.state: state_dict() and load_state_dict() resume a run"):
        inits, grads = _problem(t, 8)
        whole = _trajectory(student, options, inits, grads, name)
        params = _leaves(inits)
        first = _make(student, params, options, name)
        for gs in grads[:4]:
            _step(first, params, gs)
        saved = first.state_dict()
        if not saved.get("state"):
            raise Fail("after 4 steps state_dict()['state'] is empty: keep what the optimizer "
                       "remembers between steps (averages, step sizes, step counts) in "
                       "self.state[p], the dict the Optimizer base class saves and loads")
        second = _make(student, params, options, name)
        second.load_state_dict(saved)
        resumed = []
        for gs in grads[4:]:
            _step(second, params, gs)
            resumed.append(_flat([p.detach().tolist() for p in params]))
        t.close(resumed, whole[4:], "the parameters after steps 5-8, run by a new optimizer that "
                "loaded the state_dict saved after step 4", rtol=1e-7, atol=1e-10,
                hint="keep every buffer and the step count in self.state[p], not in attributes "
                     "of the optimizer")

    with t.group("a parameter without a gradient is left alone"):
        params = _leaves([[1.0, -1.0], [0.5, 2.0]])
        opt = _make(student, params, options, name)
        _step(opt, params, [[0.3, -0.2], None])
        t.close(params[1], [0.5, 2.0], "a parameter whose .grad is None, after step()",
                hint="skip it: `if p.grad is None: continue`")

    with t.group("each parameter group uses its own options"):
        p1, p2 = _leaves([[1.0, -1.0], [1.0, -1.0]])
        lr = options["lr"]
        rest = {k: v for k, v in options.items() if k != "lr"}
        opt = student([{"params": [p1]}, {"params": [p2], "lr": lr * 3}], lr=lr, **rest)
        sequence = ([0.3, -0.2], [0.1, 0.4], [0.2, 0.3])
        for gs in sequence:
            _step(opt, [p1, p2], [gs, gs])
        q1, q2 = _leaves([[1.0, -1.0], [1.0, -1.0]])
        alone1 = _make(student, [q1], options, name)
        alone2 = _make(student, [q2], {**options, "lr": lr * 3}, name)
        for gs in sequence:
            _step(alone1, [q1], [gs])
            _step(alone2, [q2], [gs])
        t.close([p1.detach().tolist(), p2.detach().tolist()],
                [q1.detach().tolist(), q2.detach().tolist()],
                "two parameter groups (the second with lr * 3), compared with one optimizer each",
                rtol=1e-9, atol=1e-12,
                hint="loop `for group in self.param_groups:` and read lr and the other options "
                     "from group[...], not from self.defaults or attributes")

    with t.group("step(closure) returns the closure's loss"):
        params = _leaves([[1.0, 2.0]])
        opt = _make(student, params, options, name)

        def closure():
            params[0].grad = None
            loss = (params[0] ** 2).sum()
            loss.backward()
            return loss

        loss = opt.step(closure)
        t.ok(loss is not None and abs(float(loss) - 5.0) < 1e-9,
             f"step(closure) returned {loss!r:.60}, expected the closure's loss 5.0: evaluate "
             "`loss = closure()` under `with edunn.enable_grad():` and return it")

    with t.group("a negative learning rate raises ValueError"):
        t.raises(ValueError, student, _leaves([[1.0]]), **{**options, "lr": -0.1},
                 what=f"{name}(params, lr=-0.1)")


def _name(student, default: str) -> str:
    return getattr(student, "__name__", default)


# ---------------------------------------------------------------------------- 15.AdamW

_ADAMW_MISTAKES = {
    "your AdamW adds weight_decay * p to the gradient: that is Adam's L2 penalty, which the "
    "division by sqrt(v) then rescales; AdamW shrinks the weights directly, p *= 1 - lr * "
    "weight_decay": {"l2": True},
    "your AdamW decays the weights by weight_decay alone; the decay is lr * weight_decay, "
    "p *= 1 - lr * weight_decay": {"no_lr": True},
    "your AdamW decays the weights after the Adam step; PyTorch decays the old weights first, "
    "then takes the Adam step": {"decay_after": True},
    "your AdamW has no weight decay at all: p *= 1 - lr * weight_decay before the Adam step":
        {"no_decay": True},
    "your AdamW update is missing bias correction": {"no_correction": True},
}


@exercise("15.AdamW", points=3, reference="edunn.optim.AdamW", title="AdamW, decoupled weight decay")
def grade_adamw(student, t):
    import edunn

    ref = edunn.optim.AdamW
    name = _name(student, "your AdamW")
    with t.group("the first step"):
        _first_step(t, student, adamw_math, {"lr": 0.01, "weight_decay": 0.1}, _ADAMW_MISTAKES,
                    name, x0=2.0, g=0.5,
                    hint="decay first, p *= 1 - lr * wd (here 2 * 0.001 = 0.002), then the Adam "
                         "step, lr * sign(g) = 0.01 on the first step")
    with t.group("the AdamW step, many times"):
        _compare_run(t, student, ref, adamw_math, {"lr": 0.01, "weight_decay": 0.1},
                     _ADAMW_MISTAKES, name, steps=12)
    with t.group("a large weight decay, other betas"):
        _compare_run(t, student, ref, adamw_math,
                     {"lr": 0.05, "betas": (0.5, 0.9), "weight_decay": 2.0}, _ADAMW_MISTAKES, name)
    with t.group("eps, where PyTorch puts it"):
        _compare_run(t, student, ref, adamw_math, {"lr": 0.01, "eps": 1e-3, "weight_decay": 0.1},
                     _ADAMW_MISTAKES, name, scale=1e-2,
                     hint="denominator: sqrt(v / (1 - beta2**t)) + eps")
    _contract(t, student, name,
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 1e-2},
              {"lr": 0.01, "weight_decay": 0.1})


# ---------------------------------------------------------------------------- 15.Adamax

_ADAMAX_MISTAKES = {
    "you added eps after the maximum; PyTorch takes u = max(beta2 * u, |g| + eps)":
        {"eps_outside": True},
    "your Adamax is missing the bias correction of m: step size lr / (1 - beta1**t)":
        {"no_correction": True},
    "you bias-corrected u: the running maximum needs no correction (it does not start "
    "biased towards zero the way an average does)": {"correct_u": True},
    "your u never decays: u = max(beta2 * u, |g| + eps), the old maximum multiplied by beta2":
        {"no_beta2": True},
    "you multiplied |g| by (1 - beta2) as in an average; the infinity norm is a plain "
    "maximum, u = max(beta2 * u, |g| + eps)": {"scaled_g": True},
    "your weight decay is missing: g = grad + weight_decay * p": {"no_decay": True},
}


@exercise("15.Adamax", points=2, reference="edunn.optim.Adamax", title="Adamax, the infinity norm")
def grade_adamax(student, t):
    import edunn

    ref = edunn.optim.Adamax
    name = _name(student, "your Adamax")
    with t.group("the Adamax step"):
        _first_step(t, student, adamax_math, {"lr": 0.01}, _ADAMAX_MISTAKES, name,
                    hint="the first step is lr * g / |g| = lr * sign(g)")
        _compare_run(t, student, ref, adamax_math, {"lr": 0.01}, _ADAMAX_MISTAKES, name, steps=12)
    with t.group("other betas, eps, weight_decay"):
        _compare_run(t, student, ref, adamax_math,
                     {"lr": 0.02, "betas": (0.8, 0.9), "eps": 1e-2, "weight_decay": 0.1},
                     _ADAMAX_MISTAKES, name, scale=0.05)
    with t.group("betas outside [0, 1) raise ValueError"):
        t.raises(ValueError, student, _leaves([[1.0]]), lr=0.01, betas=(0.9, 1.0),
                 what=f"{name}(params, betas=(0.9, 1.0))")
    _contract(t, student, name,
              {"lr": 2e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0},
              {"lr": 0.01, "betas": (0.8, 0.99)})


# ---------------------------------------------------------------------------- 15.RAdam

_RADAM_MISTAKES = {
    "you skipped the rectification: once rho_t > 5 the adaptive step is multiplied by r_t":
        {"no_rectification": True},
    "your first steps (rho_t <= 5) are Adam steps; while the variance of the adaptive rate is "
    "intractable RAdam takes the plain momentum step, p -= lr * m_hat": {"adam_early": True},
    "you switched on the step count (t > 5); the switch is rho_t > 5": {"switch_on_t": True},
    "your adaptive factor l_t lacks the bias correction of v: l_t = sqrt(1 - beta2**t) / "
    "(sqrt(v) + eps)": {"no_lt_correction": True},
    "your m is not bias-corrected: m_hat = m / (1 - beta1**t)": {"uncorrected_m": True},
    "your weight decay is the wrong kind: L2 (g += wd * p) by default, p *= 1 - lr * wd when "
    "decoupled_weight_decay=True": {"swapped_decay": True},
}


@exercise("15.RAdam", points=3, reference="edunn.optim.RAdam", title="RAdam, the rectified step")
def grade_radam(student, t):
    import edunn

    ref = edunn.optim.RAdam
    name = _name(student, "your RAdam")
    with t.group("the first steps (rho_t <= 5): momentum without adaptation"):
        _first_step(t, student, radam_math, {"lr": 0.01}, _RADAM_MISTAKES, name,
                    hint="rho_1 = 1: the first step is lr * m_hat = lr * g")
    with t.group("the RAdam step across the switch"):
        _compare_run(t, student, ref, radam_math, {"lr": 0.01}, _RADAM_MISTAKES, name, steps=14,
                     hint="rho_t grows past 5 at t = 6 for beta2 = 0.999")
    with t.group("a short memory, beta2 = 0.7: rho_t passes 5 only at t = 10"):
        _compare_run(t, student, ref, radam_math, {"lr": 0.01, "betas": (0.9, 0.7)},
                     _RADAM_MISTAKES, name, steps=14,
                     hint="use rho_t > 5 with rho_t computed from beta2, not the step count")
    with t.group("other betas and eps"):
        _compare_run(t, student, ref, radam_math,
                     {"lr": 0.01, "betas": (0.8, 0.99), "eps": 1e-3}, _RADAM_MISTAKES, name,
                     steps=14, scale=0.01)
    with t.group("weight decay, L2 and decoupled"):
        _compare_run(t, student, ref, radam_math, {"lr": 0.01, "weight_decay": 0.5},
                     _RADAM_MISTAKES, name, steps=9)
        _compare_run(t, student, ref, radam_math,
                     {"lr": 0.01, "weight_decay": 0.5, "decoupled_weight_decay": True},
                     _RADAM_MISTAKES, name, steps=9)
    _contract(t, student, name,
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0,
               "decoupled_weight_decay": False},
              {"lr": 0.01, "betas": (0.9, 0.99)})


# ---------------------------------------------------------------------------- 15.Rprop

_RPROP_MISTAKES = {
    "after a sign change the coordinate must rest for one step: set its gradient to 0 (no "
    "move this step, and no comparison with it next step)": {"no_rest": True},
    "your step uses the size of the gradient; Rprop moves by step_size * sign(g)":
        {"magnitude": True},
    "your etas are swapped: etas = (etaminus, etaplus), shrink by etaminus when the sign flips":
        {"swapped": True},
    "your step sizes are not clamped to step_sizes = (min, max)": {"no_clamp": True},
    "you remembered the raw gradient after a sign change; PyTorch keeps the zeroed one, so the "
    "step after a rest does not shrink again": {"raw_prev": True},
}


@exercise("15.Rprop", points=3, reference="edunn.optim.Rprop", title="Rprop, signs only")
def grade_rprop(student, t):
    import edunn

    ref = edunn.optim.Rprop
    name = _name(student, "your Rprop")
    with t.group("the first step is lr * sign(g)"):
        _first_step(t, student, rprop_math, {"lr": 0.1}, _RPROP_MISTAKES, name, g=-5.0,
                    hint="the step size starts at lr; the first step is -lr * sign(g)")
    with t.group("growing and shrinking step sizes"):
        _compare_run(t, student, ref, rprop_math, {"lr": 0.05}, _RPROP_MISTAKES, name, steps=14)
    with t.group("other etas"):
        _compare_run(t, student, ref, rprop_math, {"lr": 0.05, "etas": (0.3, 1.5)},
                     _RPROP_MISTAKES, name, steps=14)
    with t.group("step_sizes clamp the step"):
        _compare_run(t, student, ref, rprop_math,
                     {"lr": 0.05, "etas": (0.2, 2.0), "step_sizes": (0.02, 0.15)},
                     _RPROP_MISTAKES, name, steps=14)
    with t.group("etas outside 0 < etaminus < 1 < etaplus raise ValueError"):
        t.raises(ValueError, student, _leaves([[1.0]]), lr=0.01, etas=(1.2, 0.5),
                 what=f"{name}(params, etas=(1.2, 0.5))")
    _contract(t, student, name,
              {"lr": 1e-2, "etas": (0.5, 1.2), "step_sizes": (1e-6, 50)},
              {"lr": 0.05})
