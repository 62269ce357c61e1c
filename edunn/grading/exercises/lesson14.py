"""Graders of lesson 14 (from gradient descent to Adam): the learner's ``SGD`` (momentum,
dampening, Nesterov, weight decay), ``Adagrad``, ``RMSprop`` and ``Adam`` as
``edunn.optim.Optimizer`` subclasses.

Every grader feeds one gradient sequence to the learner's optimizer, to edunn's optimizer
(``edunn.optim.SGD`` ...) and to the algorithm written out below in plain Python floats, line for
line as PyTorch's documentation states it (all four are coordinatewise, so one coordinate at a
time is enough), and compares the trajectories in float64.  The same plain-Python algorithms,
each with one usual mistake switched on (bias correction left out, epsilon inside the square
root, the momentum buffer as an average, ...), tell the learner what went wrong when their
trajectory matches one of those instead:

    your Adam update is missing bias correction: step 1 moved the parameter by: got 0.0316,
    expected 0.01

The graders also check what the ``Optimizer`` contract asks of a subclass: PyTorch's default
options in ``param_groups``, state kept in ``self.state[p]`` (so that ``state_dict`` and
``load_state_dict`` resume a run exactly), parameters without a gradient left alone, one
learning rate per parameter group, ``step(closure)`` returning the closure's loss, an update
that autograd does not record, and PyTorch's ``ValueError`` for bad arguments.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from edunn.grading import Fail, exercise

# ---------------------------------------------------------------------------- the algorithms
# One coordinate: ``x`` the starting value, ``gs`` its gradients, one per step; the return value
# is the list of values after each step.  The keyword-only flags plant the usual mistakes.


def sgd_math(x: float, gs: list, lr: float, momentum: float = 0.0, dampening: float = 0.0,
             weight_decay: float = 0.0, nesterov: bool = False, *, average: bool = False,
             damp_first: bool = False, plain_nesterov: bool = False, decay_after: bool = False,
             no_decay: bool = False) -> list:
    """PyTorch's SGD: ``g += wd x``; ``b = g`` (first step) else ``b = mu b + (1 - tau) g``;
    ``g = g + mu b`` (Nesterov) else ``g = b``; ``x -= lr g``."""
    out, b = [], None
    for g in gs:
        if weight_decay and not (decay_after or no_decay):
            g = g + weight_decay * x
        if momentum:
            if b is None:
                b = (1 - dampening) * g if damp_first else g
            else:
                b = momentum * b + ((1 - momentum) if average else (1 - dampening)) * g
            g = g + momentum * b if nesterov and not plain_nesterov else b
        if weight_decay and decay_after:
            g = g + weight_decay * x
        x = x - lr * g
        out.append(x)
    return out


def adagrad_math(x: float, gs: list, lr: float, weight_decay: float = 0.0,
                 initial_accumulator_value: float = 0.0, eps: float = 1e-10, *,
                 eps_inside: bool = False, no_square: bool = False, no_sum: bool = False,
                 no_initial: bool = False, no_decay: bool = False) -> list:
    """PyTorch's Adagrad (``lr_decay=0``): ``g += wd x``; ``s += g^2``;
    ``x -= lr g / (sqrt(s) + eps)``."""
    out, s = [], 0.0 if no_initial else initial_accumulator_value
    for g in gs:
        if weight_decay and not no_decay:
            g = g + weight_decay * x
        sq = abs(g) if no_square else g * g
        s = sq if no_sum else s + sq
        denom = math.sqrt(s + eps) if eps_inside else math.sqrt(s) + eps
        x = x - lr * g / denom
        out.append(x)
    return out


def rmsprop_math(x: float, gs: list, lr: float, alpha: float = 0.99, eps: float = 1e-8,
                 weight_decay: float = 0.0, *, eps_inside: bool = False, swapped: bool = False,
                 summed: bool = False, no_decay: bool = False) -> list:
    """PyTorch's RMSprop (no momentum, not centered): ``g += wd x``;
    ``v = alpha v + (1 - alpha) g^2``; ``x -= lr g / (sqrt(v) + eps)``."""
    out, v = [], 0.0
    for g in gs:
        if weight_decay and not no_decay:
            g = g + weight_decay * x
        if summed:
            v = v + g * g
        elif swapped:
            v = (1 - alpha) * v + alpha * g * g
        else:
            v = alpha * v + (1 - alpha) * g * g
        denom = math.sqrt(v + eps) if eps_inside else math.sqrt(v) + eps
        x = x - lr * g / denom
        out.append(x)
    return out


def adam_math(x: float, gs: list, lr: float, betas: tuple = (0.9, 0.999), eps: float = 1e-8,
              weight_decay: float = 0.0, *, correct_m: bool = True, correct_v: bool = True,
              eps_inside: bool = False, eps_before: bool = False, adamw: bool = False,
              no_decay: bool = False, no_sqrt: bool = False) -> list:
    """PyTorch's Adam: ``g += wd x``; ``m = b1 m + (1 - b1) g``; ``v = b2 v + (1 - b2) g^2``;
    ``m^ = m / (1 - b1^t)``; ``v^ = v / (1 - b2^t)``; ``x -= lr m^ / (sqrt(v^) + eps)``."""
    beta1, beta2 = betas
    out, m, v = [], 0.0, 0.0
    for t, g in enumerate(gs, start=1):
        if weight_decay and adamw:
            x = x * (1 - lr * weight_decay)
        elif weight_decay and not no_decay:
            g = g + weight_decay * x
        m = beta1 * m + (1 - beta1) * g
        v = beta2 * v + (1 - beta2) * g * g
        bc1 = 1 - beta1 ** t if correct_m else 1.0
        bc2 = 1 - beta2 ** t if correct_v else 1.0
        if no_sqrt:
            denom = v / bc2 + eps
        elif eps_inside:
            denom = math.sqrt(v / bc2 + eps)
        elif eps_before:
            denom = (math.sqrt(v) + eps) / math.sqrt(bc2)
        else:
            denom = math.sqrt(v / bc2) + eps
        x = x - lr * (m / bc1) / denom
        out.append(x)
    return out


# ---------------------------------------------------------------------------- running optimizers

SHAPES = ((3,), (2, 2))


def _flat(values: list) -> list:
    flat = []
    for v in values:
        flat.extend(_flat(v) if isinstance(v, list) else [v])
    return flat


def _leaves(t, inits: list) -> list:
    import edunn

    return [edunn.tensor(v, dtype=edunn.float64, requires_grad=True) for v in inits]


def _problem(t, steps: int, scale: float = 1.0) -> tuple[list, list]:
    """Starting values of two parameters, shapes (3,) and (2, 2), and ``steps`` gradients for
    each: nested Python lists drawn from ``t.rng``."""
    inits = [t.randn(*s).tolist() for s in SHAPES]
    grads = [[(t.randn(*s) * scale).tolist() for s in SHAPES] for _ in range(steps)]
    return inits, grads


def _make(cls, params: list, options: dict, name: str):
    import edunn

    opt = cls(params, **options)
    if not isinstance(opt, edunn.optim.Optimizer):
        raise Fail(f"{name} should be a subclass of edunn.optim.Optimizer (class {name}"
                   f"(edunn.optim.Optimizer): ... with super().__init__(params, defaults)), "
                   f"got an instance of {type(opt).__name__}")
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
                       "decorate step with @edunn.no_grad() (or put the update inside "
                       "`with edunn.no_grad():`); an update must not become part of the graph"
                       ) from None
        raise


def _trajectory(cls, options: dict, inits: list, grads: list, name: str) -> list:
    """The flattened parameters after each step: ``steps`` lists of 7 floats."""
    params = _leaves(None, inits)
    opt = _make(cls, params, options, name)
    out = []
    for gs in grads:
        _step(opt, params, gs)
        for p in params:
            if p.grad_fn is not None or not p.is_leaf:
                raise Fail("after step() a parameter has a grad_fn: the update was recorded by "
                           "autograd; decorate step with @edunn.no_grad()")
        out.append(_flat([p.detach().tolist() for p in params]))
    return out


def _math_trajectory(math_fn: Callable, inits: list, grads: list, options: dict,
                     **mistake: Any) -> list:
    x0 = _flat(inits)
    per_coord = [_flat(gs) for gs in grads]            # steps x coordinates
    columns = [math_fn(x0[i], [row[i] for row in per_coord], **options, **mistake)
               for i in range(len(x0))]
    return [[col[s] for col in columns] for s in range(len(grads))]


def _describe(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


def _compare_run(t, student, reference, math_fn: Callable, options: dict, mistakes: dict,
                 name: str, steps: int = 8, scale: float = 1.0, hint: str | None = None) -> None:
    """Run the learner's optimizer, edunn's and the written-out algorithm on one random problem
    and compare every step (float64)."""
    inits, grads = _problem(t, steps, scale)
    mine = _trajectory(student, options, inits, grads, name)
    want = _math_trajectory(math_fn, inits, grads, options)
    wrong = {diagnosis: _math_trajectory(math_fn, inits, grads, options, **flags)
             for diagnosis, flags in mistakes.items()}
    wrong = {d: w for d, w in wrong.items() if w != want}
    what = (f"{name}({_describe(options)}): the parameters after each of {steps} steps "
            "(index [step, coordinate])")
    t.close(mine, want, what, rtol=1e-7, atol=1e-10, hint=hint, mistakes=wrong)
    edunn_run = _trajectory(reference, options, inits, grads, reference.__name__)
    t.close(mine, edunn_run, f"{what}, compared with edunn.optim.{reference.__name__}",
            rtol=1e-7, atol=1e-10)


def _first_step(t, student, math_fn: Callable, options: dict, mistakes: dict, name: str,
                x0: float = 1.0, g: float = 2.0, hint: str | None = None) -> None:
    """One step from ``x0`` with gradient ``g``: by how much did the parameter move?"""
    params = _leaves(t, [[x0]])
    opt = _make(student, params, options, name)
    _step(opt, params, [[g]])
    moved = x0 - params[0].detach().item()
    expected = x0 - math_fn(x0, [g], **options)[0]
    wrong = {d: x0 - math_fn(x0, [g], **options, **flags)[0] for d, flags in mistakes.items()}
    t.close(moved, expected,
            f"step 1 moved the parameter by (from {x0} with gradient {g}, {_describe(options)})",
            rtol=1e-6, atol=1e-12, hint=hint,
            mistakes={d: w for d, w in wrong.items() if abs(w - expected) > 1e-9})


def _contract(t, student, name: str, defaults: dict, options: dict) -> None:
    """What every ``Optimizer`` subclass owes: PyTorch's defaults, state in ``self.state``,
    parameters without a gradient left alone, per-group options, the closure's loss."""
    import edunn

    with t.group("PyTorch's default options"):
        opt = _make(student, _leaves(t, [[1.0, 2.0]]), {}, name)
        group = opt.param_groups[0]
        for key, value in defaults.items():
            if key not in group:
                raise Fail(f"param_groups[0] has no {key!r}: put every option in the defaults dict "
                           "you give to super().__init__(params, defaults)")
            t.equal(group[key], value, f"the default {key}",
                    hint=f"{name}'s signature should give PyTorch's defaults")

    with t.group("state lives in self.state: state_dict() and load_state_dict() resume a run"):
        inits, grads = _problem(t, 6)
        whole = _trajectory(student, options, inits, grads, name)
        params = _leaves(t, inits)
        first = _make(student, params, options, name)
        for gs in grads[:3]:
            _step(first, params, gs)
        saved = first.state_dict()
        if not saved.get("state"):
            raise Fail("after 3 steps state_dict()['state'] is empty: keep what the optimizer "
                       "remembers between steps (moving averages, sums, step counts) in "
                       "self.state[p], the dict the Optimizer base class saves and loads")
        second = _make(student, params, options, name)
        second.load_state_dict(saved)
        resumed = []
        for gs in grads[3:]:
            _step(second, params, gs)
            resumed.append(_flat([p.detach().tolist() for p in params]))
        t.close(resumed, whole[3:], "the parameters after steps 4-6, run by a new optimizer that "
                "loaded the state_dict saved after step 3", rtol=1e-7, atol=1e-10,
                hint="keep every buffer in self.state[p], not in attributes of the optimizer or "
                     "in a dict keyed by id(p)")

    with t.group("a parameter without a gradient is left alone"):
        params = _leaves(t, [[1.0, -1.0], [0.5, 2.0]])
        opt = _make(student, params, options, name)
        _step(opt, params, [[0.3, -0.2], None])
        t.close(params[1], [0.5, 2.0], "a parameter whose .grad is None, after step()",
                hint="skip it: `if p.grad is None: continue`")

    with t.group("each parameter group uses its own options"):
        p1, p2 = _leaves(t, [[1.0, -1.0], [1.0, -1.0]])
        lr = options["lr"]
        opt = student([{"params": [p1]}, {"params": [p2], "lr": lr * 3}],
                      **{k: v for k, v in options.items() if k != "lr"}, lr=lr)
        together = [p1, p2]
        for gs in ([[0.3, -0.2], [0.3, -0.2]], [[0.1, 0.4], [0.1, 0.4]]):
            _step(opt, together, gs)
        q1, q2 = _leaves(t, [[1.0, -1.0], [1.0, -1.0]])
        alone1, alone2 = _make(student, [q1], options, name), _make(student, [q2], {**options, "lr": lr * 3}, name)
        for gs in ([0.3, -0.2], [0.1, 0.4]):
            _step(alone1, [q1], [gs])
            _step(alone2, [q2], [gs])
        t.close([p1.detach().tolist(), p2.detach().tolist()], [q1.detach().tolist(), q2.detach().tolist()],
                "two parameter groups (the second with lr * 3), compared with one optimizer each",
                rtol=1e-9, atol=1e-12,
                hint="loop `for group in self.param_groups:` and read lr and the other options "
                     "from group[...], not from self.defaults or attributes")

    with t.group("step(closure) returns the closure's loss"):
        params = _leaves(t, [[1.0, 2.0]])
        opt = _make(student, params, options, name)

        def closure():
            params[0].grad = None
            loss = (params[0] ** 2).sum()
            loss.backward()
            return loss

        loss = opt.step(closure)
        t.ok(loss is not None and abs(float(loss) - 5.0) < 1e-9,
             f"step(closure) returned {loss!r:.60}, expected the closure's loss 5.0: evaluate "
             "`loss = closure()` under `with edunn.enable_grad():` when a closure is given, "
             "and return it")
        t.ok(params[0].grad is not None and params[0].detach().tolist() != [1.0, 2.0],
             "step(closure) did not move the parameter by the gradient the closure computed")

    with t.group("a negative learning rate raises ValueError"):
        t.raises(ValueError, student, _leaves(t, [[1.0]]), **{**options, "lr": -0.1},
                 what=f"{name}(params, lr=-0.1)")


# ---------------------------------------------------------------------------- 14.SGD

_SGD_MISTAKES = {
    "your momentum buffer is an average, b = mu b + (1 - mu) g; PyTorch's adds the whole "
    "gradient, b = mu b + (1 - dampening) g": {"average": True},
    "your Nesterov step uses the buffer only (g = b); Nesterov's is g = g + mu b": {"plain_nesterov": True},
    "your weight decay is added to the update after momentum; add weight_decay * p to the "
    "gradient first, so that it goes through the momentum buffer": {"decay_after": True},
    "your weight decay is missing: g = grad + weight_decay * p": {"no_decay": True},
    "you dampened the first gradient: the buffer starts as the gradient itself, b_1 = g_1, and "
    "dampening applies from step 2 on": {"damp_first": True},
}


@exercise("14.SGD", points=4, reference="edunn.optim.SGD",
          title="SGD with momentum, dampening, Nesterov and weight decay")
def grade_sgd(student, t):
    import edunn

    ref = edunn.optim.SGD
    name = getattr(student, "__name__", "your SGD")
    with t.group("plain gradient descent"):
        _first_step(t, student, sgd_math, {"lr": 0.1}, _SGD_MISTAKES, name,
                    hint="p <- p - lr * grad")
        _compare_run(t, student, ref, sgd_math, {"lr": 0.05}, _SGD_MISTAKES, name)
    with t.group("momentum"):
        _compare_run(t, student, ref, sgd_math, {"lr": 0.05, "momentum": 0.9}, _SGD_MISTAKES, name,
                     hint="b <- g on the first step, then b <- momentum * b + g; p <- p - lr * b")
    with t.group("dampening"):
        _compare_run(t, student, ref, sgd_math, {"lr": 0.05, "momentum": 0.8, "dampening": 0.3},
                     _SGD_MISTAKES, name, hint="b <- momentum * b + (1 - dampening) * g")
    with t.group("Nesterov momentum"):
        _compare_run(t, student, ref, sgd_math, {"lr": 0.05, "momentum": 0.9, "nesterov": True},
                     _SGD_MISTAKES, name, hint="with nesterov, p <- p - lr * (g + momentum * b)")
    with t.group("weight decay"):
        _compare_run(t, student, ref, sgd_math,
                     {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.1}, _SGD_MISTAKES, name,
                     hint="g <- grad + weight_decay * p, before the momentum buffer")
    with t.group("Nesterov without momentum raises ValueError"):
        t.raises(ValueError, student, _leaves(t, [[1.0]]), lr=0.1, nesterov=True,
                 what=f"{name}(params, lr=0.1, nesterov=True) (no momentum)")
    _contract(t, student, name,
              {"lr": 1e-3, "momentum": 0, "dampening": 0, "weight_decay": 0, "nesterov": False},
              {"lr": 0.05, "momentum": 0.9, "weight_decay": 0.01})


# ---------------------------------------------------------------------------- 14.Adagrad

_ADAGRAD_MISTAKES = {
    "you put eps inside the square root; PyTorch adds it after: g / (sqrt(sum) + eps)": {"eps_inside": True},
    "your sum adds |g|, not g**2": {"no_square": True},
    "your denominator uses this step's g**2 only; Adagrad sums the squares of every gradient "
    "so far (state_sum += g * g)": {"no_sum": True},
    "your sum ignores initial_accumulator_value: it should start there": {"no_initial": True},
    "your weight decay is missing: g = grad + weight_decay * p": {"no_decay": True},
}


@exercise("14.Adagrad", points=2, reference="edunn.optim.Adagrad", title="Adagrad")
def grade_adagrad(student, t):
    import edunn

    ref = edunn.optim.Adagrad
    name = getattr(student, "__name__", "your Adagrad")
    with t.group("the Adagrad step"):
        _first_step(t, student, adagrad_math, {"lr": 0.1}, _ADAGRAD_MISTAKES, name,
                    hint="the first step of Adagrad is lr * g / |g| = lr * sign(g)")
        _compare_run(t, student, ref, adagrad_math, {"lr": 0.1}, _ADAGRAD_MISTAKES, name)
    with t.group("eps, where PyTorch puts it"):
        _compare_run(t, student, ref, adagrad_math, {"lr": 0.1, "eps": 1e-3}, _ADAGRAD_MISTAKES,
                     name, scale=1e-2, hint="p <- p - lr * g / (sqrt(state_sum) + eps)")
    with t.group("initial_accumulator_value and weight_decay"):
        _compare_run(t, student, ref, adagrad_math,
                     {"lr": 0.1, "initial_accumulator_value": 0.5, "weight_decay": 0.1},
                     _ADAGRAD_MISTAKES, name)
    _contract(t, student, name,
              {"lr": 1e-2, "weight_decay": 0, "initial_accumulator_value": 0, "eps": 1e-10},
              {"lr": 0.1, "initial_accumulator_value": 0.1})


# ---------------------------------------------------------------------------- 14.RMSprop

_RMSPROP_MISTAKES = {
    "you put eps inside the square root; PyTorch adds it after: g / (sqrt(v) + eps)": {"eps_inside": True},
    "your moving average has alpha and 1 - alpha swapped: v = alpha * v + (1 - alpha) * g**2 "
    "(alpha close to 1 keeps a long memory)": {"swapped": True},
    "your v is Adagrad's sum; RMSprop keeps a moving average, v = alpha * v + (1 - alpha) * g**2":
        {"summed": True},
    "your weight decay is missing: g = grad + weight_decay * p": {"no_decay": True},
}


@exercise("14.RMSprop", points=2, reference="edunn.optim.RMSprop", title="RMSprop")
def grade_rmsprop(student, t):
    import edunn

    ref = edunn.optim.RMSprop
    name = getattr(student, "__name__", "your RMSprop")
    with t.group("the RMSprop step"):
        _first_step(t, student, rmsprop_math, {"lr": 0.01}, _RMSPROP_MISTAKES, name,
                    hint="v starts at 0, so the first step is lr * g / sqrt((1 - alpha) g**2) = "
                         "10 lr sign(g) for alpha = 0.99")
        _compare_run(t, student, ref, rmsprop_math, {"lr": 0.01, "alpha": 0.9}, _RMSPROP_MISTAKES, name)
    with t.group("eps, where PyTorch puts it"):
        _compare_run(t, student, ref, rmsprop_math, {"lr": 0.01, "eps": 1e-3}, _RMSPROP_MISTAKES,
                     name, scale=1e-2, hint="p <- p - lr * g / (sqrt(v) + eps)")
    with t.group("weight_decay"):
        _compare_run(t, student, ref, rmsprop_math, {"lr": 0.01, "weight_decay": 0.1},
                     _RMSPROP_MISTAKES, name)
    _contract(t, student, name, {"lr": 1e-2, "alpha": 0.99, "eps": 1e-8, "weight_decay": 0},
              {"lr": 0.01, "alpha": 0.9})


# ---------------------------------------------------------------------------- 14.Adam

_ADAM_MISTAKES = {
    "your Adam update is missing bias correction": {"correct_m": False, "correct_v": False},
    "your Adam update corrects the first moment only: divide v by (1 - beta2**t) too":
        {"correct_v": False},
    "your Adam update corrects the second moment only: divide m by (1 - beta1**t) too":
        {"correct_m": False},
    "you put eps inside the square root; PyTorch adds it after: m^ / (sqrt(v^) + eps)": {"eps_inside": True},
    "you added eps before the bias correction of v: it is sqrt(v / (1 - beta2**t)) + eps":
        {"eps_before": True},
    "you forgot the square root: divide by sqrt(v^) + eps": {"no_sqrt": True},
    "your weight decay is AdamW's (decoupled, p *= 1 - lr * wd); Adam's is L2: g = grad + "
    "weight_decay * p": {"adamw": True},
    "your weight decay is missing: g = grad + weight_decay * p": {"no_decay": True},
}


@exercise("14.Adam", points=4, reference="edunn.optim.Adam", title="Adam with bias correction")
def grade_adam(student, t):
    import edunn

    ref = edunn.optim.Adam
    name = getattr(student, "__name__", "your Adam")
    with t.group("the first step"):
        _first_step(t, student, adam_math, {"lr": 0.01}, _ADAM_MISTAKES, name,
                    hint="with bias correction the first step is lr * g / |g| = lr * sign(g); a nan "
                         "or inf means 1 - beta**t was 0: add 1 to the step count before using it, "
                         "so that the first step is t = 1")
    with t.group("the Adam step, many times"):
        _compare_run(t, student, ref, adam_math, {"lr": 0.01}, _ADAM_MISTAKES, name, steps=12)
    with t.group("other betas"):
        _compare_run(t, student, ref, adam_math, {"lr": 0.01, "betas": (0.5, 0.9)}, _ADAM_MISTAKES,
                     name, hint="read beta1, beta2 = group['betas']")
    with t.group("eps, where PyTorch puts it"):
        _compare_run(t, student, ref, adam_math, {"lr": 0.01, "eps": 1e-3}, _ADAM_MISTAKES, name,
                     scale=1e-2, hint="denominator: sqrt(v / (1 - beta2**t)) + eps")
    with t.group("weight_decay (L2, as in PyTorch's Adam)"):
        _compare_run(t, student, ref, adam_math, {"lr": 0.01, "weight_decay": 0.1},
                     _ADAM_MISTAKES, name)
    with t.group("betas outside [0, 1) raise ValueError"):
        t.raises(ValueError, student, _leaves(t, [[1.0]]), lr=0.01, betas=(1.0, 0.999),
                 what=f"{name}(params, betas=(1.0, 0.999))")
        t.raises(ValueError, student, _leaves(t, [[1.0]]), lr=0.01, betas=(0.9, -0.1),
                 what=f"{name}(params, betas=(0.9, -0.1))")
    _contract(t, student, name,
              {"lr": 1e-3, "betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0},
              {"lr": 0.01, "betas": (0.8, 0.99)})
