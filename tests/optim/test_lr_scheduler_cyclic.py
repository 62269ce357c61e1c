"""``CyclicLR``, ``OneCycleLR`` and ``CosineAnnealingWarmRestarts`` against PyTorch (lesson 16).

Same harness as ``test_lr_scheduler.py``: torch and edunn driven side by side, the lr, the
momentum (SGD's ``momentum`` or Adam's ``betas[0]``), the other group entries the scheduler
writes, ``get_last_lr()`` and ``state_dict()`` compared to 1e-12 relative after every step.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

import pytest

import edunn
from edunn.optim import lr_scheduler as L
from tests.opcheck import needs_torch, torch
from tests.optim.test_lr_scheduler import (TL, _opt, _sched, caught, check, drive, make_opts,
                                           resume, same_error)

pytestmark = [pytest.mark.lesson16, needs_torch]


class Wave:
    """A callable object as ``scale_fn`` (its ``__dict__`` goes into the state_dict)."""

    def __init__(self, period: float) -> None:
        self.period = period

    def __call__(self, x: float) -> float:
        return 0.5 * (1 + math.cos(math.pi * x / self.period))


CYCLIC = {
    "triangular": (lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=5), "SGD"),
    "triangular_down": (lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=4, step_size_down=7),
                        "SGD"),
    "triangular2": (lambda M, o: M.CyclicLR(o, [0.01, 0.001], [0.1, 0.05], step_size_up=6,
                                            mode="triangular2"), "SGD"),
    "exp_range": (lambda M, o: M.CyclicLR(o, 0.001, 0.1, step_size_up=5, step_size_down=3,
                                          mode="exp_range", gamma=0.97,
                                          base_momentum=[0.7, 0.75], max_momentum=0.95), "SGD"),
    "scale_fn_cycle": (lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=3,
                                               scale_fn=lambda x: 1 / x), "SGD"),
    "scale_fn_iterations": (lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=4,
                                                    scale_fn=Wave(40.0),
                                                    scale_mode="iterations"), "SGD"),
    "adam_beta1": (lambda M, o: M.CyclicLR(o, 0.001, 0.01, step_size_up=5, base_momentum=0.85,
                                           max_momentum=0.95), "Adam"),
    "no_momentum": (lambda M, o: M.CyclicLR(o, 0.01, 0.1, step_size_up=8,
                                            cycle_momentum=False), "Adagrad"),
}

ONE_CYCLE = {
    "cos": (lambda M, o: M.OneCycleLR(o, max_lr=0.1, total_steps=100), "SGD"),
    "linear_epochs": (lambda M, o: M.OneCycleLR(o, max_lr=[0.1, 0.05], epochs=10,
                                                steps_per_epoch=10, anneal_strategy="linear"),
                      "SGD"),
    "three_phase": (lambda M, o: M.OneCycleLR(o, 0.2, total_steps=100, pct_start=0.25,
                                              three_phase=True, div_factor=10.0,
                                              final_div_factor=100.0), "SGD"),
    "three_phase_linear": (lambda M, o: M.OneCycleLR(o, 0.2, total_steps=100, three_phase=True,
                                                     anneal_strategy="linear"), "Adam"),
    "adam": (lambda M, o: M.OneCycleLR(o, 0.01, total_steps=100, base_momentum=[0.8, 0.85],
                                       max_momentum=[0.9, 0.99]), "Adam"),
    "no_momentum": (lambda M, o: M.OneCycleLR(o, 0.01, total_steps=100, cycle_momentum=False,
                                              pct_start=0.5), "Adagrad"),
}

WARM_RESTARTS = {
    "T0_10": lambda M, o: M.CosineAnnealingWarmRestarts(o, T_0=10),
    "T0_5_mult2": lambda M, o: M.CosineAnnealingWarmRestarts(o, 5, T_mult=2, eta_min=0.001),
    "T0_3_mult3": lambda M, o: M.CosineAnnealingWarmRestarts(o, 3, 3, eta_min=1),
}


def _opt_kw(opt: str) -> dict:
    return {"SGD": {"momentum": 0.9}, "Adam": {}, "Adagrad": {}}[opt]


@pytest.mark.parametrize("tensor_lr", [None, "float32", "float64"])
@pytest.mark.parametrize("case", list(CYCLIC))
def test_cyclic_lr(case: str, tensor_lr: str | None, tmp_path: Any) -> None:
    make, opt = CYCLIC[case]
    run = drive(make, lrs=(0.1, 0.02), opt=opt, tensor_lr=tensor_lr, steps=120,
                opt_kw=_opt_kw(opt))
    if case != "scale_fn_cycle":  # a lambda scale_fn cannot be saved (None in the state)
        resume(make, run, tmp_path, steps=50, through_file=tensor_lr != "float32")


@pytest.mark.parametrize("tensor_lr", [None, "float64"])
@pytest.mark.parametrize("case", list(ONE_CYCLE))
def test_one_cycle_lr(case: str, tensor_lr: str | None, tmp_path: Any) -> None:
    make, opt = ONE_CYCLE[case]
    run = drive(make, lrs=(0.1, 0.02), opt=opt, tensor_lr=tensor_lr, steps=60,
                opt_kw=_opt_kw(opt))
    resume(make, run, tmp_path, steps=40)  # to exactly total_steps
    t_s, e_s = run[0], None  # stepping once more: PyTorch's ValueError
    t_opt, e_opt = make_opts((0.1, 0.02), opt, tensor_lr, **_opt_kw(opt))
    t_s, e_s = make(TL, t_opt), make(L, e_opt)
    for _ in range(100):
        t_opt.step(), e_opt.step(), t_s.step(), e_s.step()
    same_error(lambda lib: (t_s if lib is torch else e_s).step())


@pytest.mark.parametrize("tensor_lr", [None, "float32"])
@pytest.mark.parametrize("case", list(WARM_RESTARTS))
def test_cosine_warm_restarts(case: str, tensor_lr: str | None, tmp_path: Any) -> None:
    make = WARM_RESTARTS[case]
    run = drive(make, lrs=(0.1, 2.0), tensor_lr=tensor_lr, steps=100)
    resume(make, run, tmp_path, steps=50)


@pytest.mark.parametrize("case", list(WARM_RESTARTS))
def test_cosine_warm_restarts_fractional_epochs(case: str) -> None:
    """``step(epoch + batch / batches)`` every batch, as the docs suggest; no warning."""
    iters = 7

    def args(i: int, lib: Any) -> tuple:
        return (i // iters + (i % iters) / iters,)

    with warnings.catch_warnings():
        warnings.simplefilter("error")
        drive(WARM_RESTARTS[case], lrs=(0.1, 0.01), steps=150, step_args=args)

    def jumps(i: int, lib: Any) -> tuple:  # back and forth, across several periods
        return ((37 * i % 101) / 3.0,)
    drive(WARM_RESTARTS[case], lrs=(0.1,), steps=60, step_args=jumps)


def test_several_cyclical_schedulers_and_chaining() -> None:
    make = lambda M, o: M.ChainedScheduler([  # noqa: E731
        M.CyclicLR(o, 0.01, 0.1, step_size_up=5), M.ExponentialLR(o, 0.99)])
    drive(make, lrs=(0.1,), opt="SGD", steps=80, opt_kw={"momentum": 0.9})
    make = lambda M, o: M.SequentialLR(o, [  # noqa: E731
        M.LinearLR(o, 0.1, total_iters=10), M.CosineAnnealingWarmRestarts(o, 7, 2)], [10])
    drive(make, lrs=(0.1, 0.3), steps=90)


def test_get_lr_outside_step_warns() -> None:
    for make, opt in (CYCLIC["adam_beta1"], ONE_CYCLE["cos"]):
        t_s, e_s, t_opt, e_opt = drive(make, opt=opt, steps=4, opt_kw=_opt_kw(opt))
        assert caught(e_s.get_lr) == caught(t_s.get_lr) != []
        check(t_s, e_s, t_opt, e_opt, "after get_lr()")
    t_s, e_s, _, _ = drive(WARM_RESTARTS["T0_10"], steps=4)
    assert caught(e_s.get_lr) == caught(t_s.get_lr) != []


def test_step_order_warning() -> None:
    t_opt, e_opt = make_opts((0.1,), "SGD", momentum=0.9)
    t_s, e_s = TL.OneCycleLR(t_opt, 0.1, 10), L.OneCycleLR(e_opt, 0.1, 10)
    t_w, e_w = caught(t_s.step), caught(e_s.step)
    assert e_w == t_w and len(e_w) == 1


ERRORS = {
    "cyclic_not_optimizer": lambda lib: _sched(lib).CyclicLR(None, 0.1, 1.0),
    "cyclic_mode": lambda lib: _sched(lib).CyclicLR(_opt(lib, momentum=0.9), 0.1, 1.0,
                                                    mode="triangle"),
    "cyclic_no_momentum": lambda lib: _sched(lib).CyclicLR(_opt(lib, opt="Adagrad"), 0.1, 1.0),
    "cyclic_base_lr_count": lambda lib: _sched(lib).CyclicLR(_opt(lib, momentum=0.9),
                                                             [0.1, 0.2], 1.0),
    "cyclic_momentum_count": lambda lib: _sched(lib).CyclicLR(
        _opt(lib, momentum=0.9), 0.1, 1.0, base_momentum=(0.8, 0.8, 0.8)),
    "one_cycle_not_optimizer": lambda lib: _sched(lib).OneCycleLR(3, 0.1, 10),
    "one_cycle_no_length": lambda lib: _sched(lib).OneCycleLR(_opt(lib), 0.1, epochs=3),
    "one_cycle_total_zero": lambda lib: _sched(lib).OneCycleLR(_opt(lib), 0.1, total_steps=0),
    "one_cycle_total_float": lambda lib: _sched(lib).OneCycleLR(_opt(lib), 0.1, 10.0),
    "one_cycle_epochs": lambda lib: _sched(lib).OneCycleLR(_opt(lib), 0.1, epochs=-1,
                                                           steps_per_epoch=3),
    "one_cycle_steps_per_epoch": lambda lib: _sched(lib).OneCycleLR(_opt(lib), 0.1, epochs=2,
                                                                    steps_per_epoch=0),
    "one_cycle_pct_start": lambda lib: _sched(lib).OneCycleLR(_opt(lib), 0.1, 10, pct_start=1.5),
    "one_cycle_pct_start_int": lambda lib: _sched(lib).OneCycleLR(_opt(lib), 0.1, 10,
                                                                  pct_start=1),
    "one_cycle_anneal": lambda lib: _sched(lib).OneCycleLR(_opt(lib), 0.1, 10,
                                                           anneal_strategy="cosine"),
    "one_cycle_no_momentum": lambda lib: _sched(lib).OneCycleLR(_opt(lib, opt="Adagrad"), 0.1,
                                                                10),
    "one_cycle_max_lr_count": lambda lib: _sched(lib).OneCycleLR(_opt(lib), [0.1, 0.2], 10),
    "restarts_T_0": lambda lib: _sched(lib).CosineAnnealingWarmRestarts(_opt(lib), 0),
    "restarts_T_0_float": lambda lib: _sched(lib).CosineAnnealingWarmRestarts(_opt(lib), 2.5),
    "restarts_T_mult": lambda lib: _sched(lib).CosineAnnealingWarmRestarts(_opt(lib), 3, 0),
    "restarts_T_mult_float": lambda lib: _sched(lib).CosineAnnealingWarmRestarts(_opt(lib), 3,
                                                                                 1.5),
    "restarts_eta_min": lambda lib: _sched(lib).CosineAnnealingWarmRestarts(_opt(lib), 3,
                                                                            eta_min="0"),
    "restarts_negative_epoch": lambda lib: _sched(lib).CosineAnnealingWarmRestarts(
        _opt(lib), 3).step(-1),
}


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name: str) -> None:
    same_error(ERRORS[name])


def test_cyclic_state_dict_keeps_callable_scale_fn() -> None:
    _, e_opt = make_opts((0.1,), "SGD", momentum=0.9)
    s = L.CyclicLR(e_opt, 0.01, 0.1, step_size_up=4, scale_fn=Wave(10.0),
                   scale_mode="iterations")
    sd = s.state_dict()
    assert sd["_scale_fn_custom"] == {"period": 10.0} and "_scale_fn_ref" not in sd
    sd["_scale_fn_custom"]["period"] = 3.0
    s.load_state_dict(sd)
    assert s._scale_fn_custom.period == 3.0 and isinstance(s.scale_fn(1), float)
    s = L.CyclicLR(e_opt, 0.01, 0.1, mode="exp_range", gamma=0.5)
    s.load_state_dict(s.state_dict())
    assert s.scale_fn(2) == 0.25 and s.scale_mode == "iterations"
    assert isinstance(edunn.optim.lr_scheduler.CyclicLR, type)
