"""Graders of lesson 16 (learning-rate schedules): the learner's ``StepLR``,
``CosineAnnealingLR`` and ``ReduceLROnPlateau`` as ``edunn.optim.lr_scheduler.LRScheduler``
subclasses.

Every grader drives the learner's scheduler on an optimizer with two parameter groups (two
different learning rates) for many steps, in the order PyTorch asks for (``optimizer.step()``
then ``scheduler.step()``), records every group's lr after the constructor and after each step,
and compares that sequence with PyTorch's formula written out below in plain Python
(``tests/grading/test_lesson16_graders.py`` checks these against ``torch.optim.lr_scheduler``)
and with edunn's own scheduler.  The same formulas with one usual mistake switched on recognise
that mistake and name it, and a sequence shifted by one step is recognised as such::

    off by one step: your first lr is the second one (the schedule runs one step ahead):
    the lr of both groups after the constructor and each of 12 steps: ...

``StepLR`` and ``CosineAnnealingLR`` are also run together with an ``ExponentialLR`` on the same
optimizer: that only matches PyTorch when ``get_lr()`` is in the chainable form (the next lr
computed from the current ``group["lr"]``), not in the closed form.
"""

from __future__ import annotations

import math
from typing import Any, Callable

from edunn.grading import Fail, exercise

LRS = (0.1, 0.03)     # the two parameter groups' learning rates

# ---------------------------------------------------------------------------- the formulas
# Each returns the lr after the constructor (t = 0) and after each of ``steps`` steps.


def step_math(base_lr: float, steps: int, step_size: int, gamma: float = 0.1, *,
              decay_at_zero: bool = False, every_step: bool = False) -> list:
    """PyTorch's StepLR: ``base_lr * gamma ** (t // step_size)``."""
    out = []
    for t in range(steps + 1):
        k = t if every_step else t // step_size
        out.append(base_lr * gamma ** (k + (1 if decay_at_zero else 0)))
    return out


def cosine_math(base_lr: float, steps: int, T_max: int, eta_min: float = 0.0, *,
                no_half: bool = False, no_eta_min: bool = False, quarter: bool = False,
                restart: bool = False, stop: bool = False) -> list:
    """PyTorch's CosineAnnealingLR (closed form):
    ``eta_min + (base_lr - eta_min) * (1 + cos(pi t / T_max)) / 2``, for every t (past T_max the
    cosine goes on)."""
    out = []
    for t in range(steps + 1):
        if restart:
            t = t % T_max
        elif stop:
            t = min(t, T_max)
        if quarter:
            factor = math.cos(math.pi * t / (2 * T_max))
        elif no_half:
            factor = math.cos(math.pi * t / T_max)
        else:
            factor = (1 + math.cos(math.pi * t / T_max)) / 2
        low = 0.0 if no_eta_min else eta_min
        out.append(low + (base_lr - low) * factor)
    return out


def plateau_math(metrics: list, lr: float, mode: str = "min", factor: float = 0.1,
                 patience: int = 10, threshold: float = 1e-4, threshold_mode: str = "rel",
                 cooldown: int = 0, min_lr: float = 0.0, eps: float = 1e-8, *,
                 early: bool = False, no_reset: bool = False, no_cooldown: bool = False,
                 no_threshold: bool = False, no_min_lr: bool = False) -> list:
    """PyTorch's ReduceLROnPlateau: the lr after the constructor and after each
    ``step(metric)``.  Better means ``metric < best * (1 - threshold)`` ("min", "rel"),
    ``< best - threshold`` ("abs"), mirrored for "max"; after more than ``patience`` bad epochs
    in a row (none counted during the ``cooldown`` epochs after a reduction) the lr becomes
    ``max(lr * factor, min_lr)`` unless that changes it by no more than ``eps``."""
    best = math.inf if mode == "min" else -math.inf
    bad, cool, out = 0, 0, [lr]
    for m in metrics:
        if no_threshold:
            better = m < best if mode == "min" else m > best
        elif mode == "min":
            better = m < (best * (1 - threshold) if threshold_mode == "rel" else best - threshold)
        else:
            better = m > (best * (1 + threshold) if threshold_mode == "rel" else best + threshold)
        if better:
            best, bad = m, 0
        else:
            bad += 1
        if cool > 0 and not no_cooldown:
            cool -= 1
            bad = 0
        if (bad >= patience) if early else (bad > patience):
            new = lr * factor if no_min_lr else max(lr * factor, min_lr)
            if lr - new > eps:
                lr = new
            cool = cooldown
            if not no_reset:
                bad = 0
        out.append(lr)
    return out


def _columns(fn: Callable, *args: Any, **kwargs: Any) -> list:
    """``fn`` for each group's lr, as rows ``[lr of group 0, lr of group 1]`` per step."""
    cols = [fn(lr, *args, **kwargs) for lr in LRS]
    return [list(row) for row in zip(*cols)]


# ---------------------------------------------------------------------------- driving schedulers

def _optimizer():
    import edunn

    params = [edunn.zeros(2, dtype=edunn.float64, requires_grad=True) for _ in LRS]
    return edunn.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, LRS)], lr=LRS[0])


def _lrs(opt) -> list:
    return [float(group["lr"]) for group in opt.param_groups]


def _make(cls, opt, options: dict, name: str):
    from edunn.optim.lr_scheduler import LRScheduler

    sched = cls(opt, **options)
    if not isinstance(sched, LRScheduler):
        raise Fail(f"{name} should subclass edunn.optim.lr_scheduler.LRScheduler, got a "
                   f"{type(sched).__name__}")
    return sched


def _run(cls, options: dict, steps: int, name: str, metrics: list | None = None,
         partner: Callable | None = None) -> list:
    """The lrs after the constructor and after each step: ``optimizer.step()``, then the
    scheduler's ``step()`` (and ``partner``'s, a second scheduler on the same optimizer)."""
    opt = _optimizer()
    sched = _make(cls, opt, options, name)
    other = partner(opt) if partner is not None else None
    out = [_lrs(opt)]
    for k in range(steps):
        opt.step()
        if metrics is None:
            sched.step()
        else:
            sched.step(metrics[k])
        if other is not None:
            other.step()
        out.append(_lrs(opt))
    return out


def _describe(options: dict) -> str:
    return ", ".join(f"{k}={v}" for k, v in options.items())


def _close_rows(a: list, b: list, rtol: float = 1e-7, atol: float = 1e-12) -> bool:
    return len(a) == len(b) and all(
        math.isclose(x, y, rel_tol=rtol, abs_tol=atol) for ra, rb in zip(a, b) for x, y in zip(ra, rb))


def _compare_sequence(t, got: list, want: list, what: str, mistakes: dict, hint: str | None = None) -> bool:
    """``got`` against ``want`` row by row; known mistakes, and a shift by one step either way,
    are named."""
    wrong = {d: w for d, w in mistakes.items() if not _close_rows(w, want)}
    if not _close_rows(got, want) and len(got) == len(want) and len(got) > 2:
        if _close_rows(got[:-1], want[1:]):
            wrong = {"off by one step: your first lr is the second one (the schedule runs one "
                     "step ahead)": got, **wrong}
        elif _close_rows(got[1:], want[:-1]):
            wrong = {"off by one step: your schedule runs one step late (your second lr is the "
                     "first one)": got, **wrong}
    if got and want and not _close_rows(got[:1], want[:1]):
        wrong["the constructor's step (last_epoch == 0) changed the lr: it must return the "
              "current lr of each group unchanged"] = got
    return t.close(got, want, what, rtol=1e-7, atol=1e-12, hint=hint, mistakes=wrong)


# ---------------------------------------------------------------------------- 16.StepLR

STEP_MISTAKES = {
    "your get_lr decays at step 0 too (0 % step_size == 0): the constructor's step must leave "
    "the lr unchanged, return the current lr when last_epoch == 0": {"decay_at_zero": True},
    "your lr decays at every step: multiply by gamma only when last_epoch is a multiple of "
    "step_size": {"every_step": True},
}


def _closed_form_step():
    """A StepLR whose ``get_lr`` is the closed form (the usual mistake in the chained run)."""
    from edunn.optim.lr_scheduler import StepLR

    class ClosedFormStepLR(StepLR):
        def get_lr(self):
            return [b * self.gamma ** (self.last_epoch // self.step_size) for b in self.base_lrs]

    return ClosedFormStepLR


@exercise("16.StepLR", points=2, reference="edunn.optim.lr_scheduler.StepLR",
          title="StepLR, in the chainable form")
def grade_step_lr(student, t):
    """``group["lr"] * gamma`` on every nonzero multiple of ``step_size``, else unchanged."""
    from edunn.optim.lr_scheduler import ExponentialLR, StepLR

    for options, steps in (({"step_size": 3, "gamma": 0.5}, 12), ({"step_size": 1, "gamma": 0.9}, 6),
                           ({"step_size": 4}, 14), ({"step_size": 7, "gamma": 0.3}, 22)):
        with t.group(f"MyStepLR({_describe(options)})"):
            got = _run(student, options, steps, "MyStepLR")
            args = (steps, options["step_size"], options.get("gamma", 0.1))
            want = _columns(step_math, *args)
            mistakes = {d: _columns(step_math, *args, **flags) for d, flags in STEP_MISTAKES.items()}
            what = f"MyStepLR({_describe(options)}): the lr of both groups after the constructor and each of {steps} steps"
            if _compare_sequence(t, got, want, what, mistakes):
                t.close(got, _run(StepLR, options, steps, "StepLR"),
                        f"{what}, compared with edunn.optim.lr_scheduler.StepLR", rtol=1e-7, atol=1e-12)

    with t.group("chainable: together with an ExponentialLR on the same optimizer"):
        options, steps = {"step_size": 3, "gamma": 0.5}, 10

        def partner(opt):
            return ExponentialLR(opt, gamma=0.9)

        got = _run(student, options, steps, "MyStepLR", partner=partner)
        want = _run(StepLR, options, steps, "StepLR", partner=partner)
        closed = _run(_closed_form_step(), options, steps, "StepLR", partner=partner)
        _compare_sequence(
            t, got, want, "MyStepLR(step_size=3, gamma=0.5) then ExponentialLR(gamma=0.9), both "
            f"stepped {steps} times: the lrs", {
                "your get_lr uses the closed form base_lr * gamma ** (last_epoch // step_size), "
                "which overwrites what the other scheduler did; the chainable form multiplies "
                "the current group['lr'] by gamma": closed})


# ---------------------------------------------------------------------------- 16.CosineAnnealingLR

COSINE_MISTAKES = {
    "the cosine factor is (1 + cos(pi t / T_max)) / 2, from 1 down to 0; cos(pi t / T_max) "
    "alone goes down to -1": {"no_half": True},
    "eta_min is missing: eta_t = eta_min + (base_lr - eta_min) * (1 + cos(pi t / T_max)) / 2":
        {"no_eta_min": True},
    "your cosine covers a quarter period: T_max is half a period, cos(pi t / T_max)":
        {"quarter": True},
    "past T_max CosineAnnealingLR does not restart (that is CosineAnnealingWarmRestarts): the "
    "cosine goes on and the lr climbs back to base_lr at 2 T_max": {"restart": True},
    "past T_max CosineAnnealingLR does not stay at eta_min: the cosine goes on and the lr climbs "
    "back to base_lr at 2 T_max": {"stop": True},
}


def _closed_form_cosine():
    """A CosineAnnealingLR whose ``get_lr`` is the closed form (the chained run's mistake)."""
    from edunn.optim.lr_scheduler import CosineAnnealingLR

    class ClosedFormCosine(CosineAnnealingLR):
        def get_lr(self):
            return self._get_closed_form_lr()

    return ClosedFormCosine


def _run_cosine(student, options: dict, steps: int, partner: Callable | None = None) -> list:
    """``_run`` for the learner's cosine, explaining the 0 / 0 at the bottom of the cosine."""
    try:
        return _run(student, options, steps, "MyCosineAnnealingLR", partner=partner)
    except ZeroDivisionError:
        raise Fail(f"MyCosineAnnealingLR({_describe(options)}) raised ZeroDivisionError: at "
                   "t = T_max + 1 the ratio (1 + cos(pi t / T_max)) / (1 + cos(pi (t - 1) / "
                   "T_max)) is 0 / 0; there, add the closed form's step instead: "
                   "lr + (base_lr - eta_min) * (1 - cos(pi / T_max)) / 2") from None


def _cosine_case(t, student, options: dict, steps: int, title: str, hint: str | None = None) -> None:
    from edunn.optim.lr_scheduler import CosineAnnealingLR

    with t.group(title):
        got = _run_cosine(student, options, steps)
        args = (steps, options["T_max"], options.get("eta_min", 0.0))
        want = _columns(cosine_math, *args)
        mistakes = {d: _columns(cosine_math, *args, **flags) for d, flags in COSINE_MISTAKES.items()}
        what = (f"MyCosineAnnealingLR({_describe(options)}): the lr of both groups after the "
                f"constructor and each of {steps} steps")
        if _compare_sequence(t, got, want, what, mistakes, hint=hint):
            t.close(got, _run(CosineAnnealingLR, options, steps, "CosineAnnealingLR"),
                    f"{what}, compared with edunn.optim.lr_scheduler.CosineAnnealingLR",
                    rtol=1e-7, atol=1e-12)


@exercise("16.CosineAnnealingLR", points=3, reference="edunn.optim.lr_scheduler.CosineAnnealingLR",
          title="CosineAnnealingLR: the closed form and the recursive form")
def grade_cosine(student, t):
    """``_get_closed_form_lr`` is the formula; ``get_lr`` is PyTorch's recursive form."""
    from edunn.optim.lr_scheduler import CosineAnnealingLR, ExponentialLR

    with t.group("the closed form, _get_closed_form_lr()"):
        options = {"T_max": 8, "eta_min": 0.001}
        sched = _make(student, _optimizer(), options, "MyCosineAnnealingLR")
        got = []
        for epoch in range(25):
            sched.last_epoch = epoch
            got.append([float(v) for v in sched._get_closed_form_lr()])
        want = _columns(cosine_math, 24, 8, 0.001)
        mistakes = {d: _columns(cosine_math, 24, 8, 0.001, **flags)
                    for d, flags in COSINE_MISTAKES.items()}
        t.close(got, want, "_get_closed_form_lr() with last_epoch = 0, 1, ..., 24 (T_max=8, "
                "eta_min=0.001)", rtol=1e-9, atol=1e-12,
                mistakes={d: w for d, w in mistakes.items() if not _close_rows(w, want)})

    _cosine_case(t, student, {"T_max": 10}, 10, "the first half period, T_max=10")
    _cosine_case(t, student, {"T_max": 6, "eta_min": 0.005}, 6, "the first half period, T_max=6, eta_min=0.005")
    _cosine_case(t, student, {"T_max": 5, "eta_min": 0.002}, 22,
                 "past T_max: the cosine goes on (T_max=5, eta_min=0.002, 22 steps)")
    _cosine_case(t, student, {"T_max": 1}, 6, "T_max=1: the lr alternates between base_lr and eta_min")

    with t.group("chainable: together with an ExponentialLR on the same optimizer"):
        options, steps = {"T_max": 6, "eta_min": 0.001}, 14

        def partner(opt):
            return ExponentialLR(opt, gamma=0.9)

        got = _run_cosine(student, options, steps, partner=partner)
        want = _run(CosineAnnealingLR, options, steps, "CosineAnnealingLR", partner=partner)
        closed = _run(_closed_form_cosine(), options, steps, "CosineAnnealingLR", partner=partner)
        _compare_sequence(
            t, got, want, "MyCosineAnnealingLR(T_max=6, eta_min=0.001) then ExponentialLR(gamma="
            f"0.9), both stepped {steps} times: the lrs", {
                "your get_lr uses the closed form, which overwrites what the other scheduler "
                "did; get_lr should be the recursive form, eta_min + (lr - eta_min) * (1 + "
                "cos(pi t / T_max)) / (1 + cos(pi (t - 1) / T_max)) from the current "
                "group['lr']": closed})


# ---------------------------------------------------------------------------- 16.ReduceLROnPlateau

PLATEAU_MISTAKES = {
    "you reduce after `patience` bad epochs; PyTorch waits for more than patience "
    "(num_bad_epochs > patience)": {"early": True},
    "after a reduction set num_bad_epochs back to 0, or the lr drops again at every bad epoch "
    "that follows": {"no_reset": True},
    "the cooldown is missing: after a reduction set cooldown_counter = cooldown, and while it is "
    "positive count it down and keep num_bad_epochs at 0": {"no_cooldown": True},
    "an epoch is better only when it beats the best by the threshold (mode='min', "
    "threshold_mode='rel': metric < best * (1 - threshold))": {"no_threshold": True},
    "the lr never goes below min_lr: new_lr = max(lr * factor, min_lr)": {"no_min_lr": True},
}


def _metrics(t, n: int, mode: str = "min", flat: float = 0.0) -> list:
    """A noisy validation curve that improves, then plateaus: ``n`` numbers from ``t.rng``."""
    out = []
    for k in range(n):
        value = 0.2 + 1.0 / (1 + 0.4 * k) + t.rng.gauss(0.0, 0.03)
        if flat and t.rng.random() < flat and out:
            value = out[-1]            # an exact repeat: not better, whatever the threshold
        out.append(value)
    return out if mode == "min" else [1.5 - v for v in out]


PLATEAU_CASES = (
    ({"factor": 0.5, "patience": 2}, "min", 0.0),
    ({"factor": 0.5, "patience": 1, "threshold": 0.05}, "min", 0.0),
    ({"mode": "max", "factor": 0.3, "patience": 2, "threshold": 0.02, "threshold_mode": "abs"}, "max", 0.0),
    ({"factor": 0.5, "patience": 1, "cooldown": 3}, "min", 0.3),
    ({"factor": 0.1, "patience": 0, "min_lr": 0.002}, "min", 0.2),
)


@exercise("16.ReduceLROnPlateau", points=3,
          reference="edunn.optim.lr_scheduler.ReduceLROnPlateau",
          title="ReduceLROnPlateau: reduce the lr when the metric stops improving")
def grade_plateau(student, t):
    """The lr sequence on noisy validation curves, for each option."""
    from edunn.optim.lr_scheduler import ReduceLROnPlateau

    for options, mode, flat in PLATEAU_CASES:
        with t.group(f"MyReduceLROnPlateau({_describe(options)})"):
            steps = 30
            metrics = _metrics(t, steps, mode, flat)
            got = _run(student, options, steps, "MyReduceLROnPlateau", metrics=metrics)
            cols = [plateau_math(metrics, lr, **options) for lr in LRS]
            want = [list(r) for r in zip(*cols)]
            mistakes = {}
            for diagnosis, flags in PLATEAU_MISTAKES.items():
                cols = [plateau_math(metrics, lr, **options, **flags) for lr in LRS]
                mistakes[diagnosis] = [list(r) for r in zip(*cols)]
            what = (f"MyReduceLROnPlateau({_describe(options)}): the lr of both groups after "
                    f"the constructor and each of {steps} step(metric) calls")
            if _compare_sequence(t, got, want, what, mistakes):
                t.close(got, _run(ReduceLROnPlateau, options, steps, "ReduceLROnPlateau",
                                  metrics=metrics),
                        f"{what}, compared with edunn.optim.lr_scheduler.ReduceLROnPlateau",
                        rtol=1e-7, atol=1e-12)

    with t.group("get_last_lr() after step(metric)"):
        opt = _optimizer()
        sched = _make(student, opt, {"factor": 0.5, "patience": 0}, "MyReduceLROnPlateau")
        opt.step()
        sched.step(1.0)
        opt.step()
        sched.step(2.0)
        last = sched.get_last_lr()
        t.close([float(v) for v in last], [lr * 0.5 for lr in LRS],
                "get_last_lr() after a reduction",
                hint="end step() with self._last_lr = [group['lr'] for group in "
                     "self.optimizer.param_groups]")
