"""``edunn.optim.lr_scheduler`` against ``torch.optim.lr_scheduler`` (lesson 16).

Every test drives a PyTorch CPU optimizer with a PyTorch scheduler and an edunn optimizer with
the edunn scheduler side by side -- ``optimizer.step()`` then ``scheduler.step()`` each
iteration -- and after every step compares ``get_last_lr()``, the scheduler-owned entries of
every parameter group (``lr``, ``initial_lr``, ``momentum``, ``betas``, ...) and the whole
``state_dict()`` to 1e-12 relative.  The cyclical policies are in
``test_lr_scheduler_cyclic.py``, which reuses the harness below.
"""
from __future__ import annotations

import copy
import math
import random
import warnings
from typing import Any, Callable

import pytest

import edunn
from edunn.optim import lr_scheduler as L
from tests.opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson16, needs_torch]

if torch is not None:
    TL = torch.optim.lr_scheduler

GROUP_KEYS = ("lr", "initial_lr", "momentum", "betas", "max_lr", "min_lr", "max_momentum",
              "base_momentum")
RTOL = 1e-12


# ------------------------------------------------------------------------------ the harness
def assert_same(t: Any, e: Any, where: str = "") -> None:
    """``e`` (edunn's) equals ``t`` (torch's): same structure, tensors where torch has tensors,
    numbers within 1e-12 relative."""
    if isinstance(t, torch.Tensor):
        assert isinstance(e, edunn.Tensor), f"{where}: expected a tensor, got {e!r}"
        assert str(e.dtype).split(".")[-1] == str(t.dtype).split(".")[-1], where
        assert_same(t.item(), e.item(), where)
    elif isinstance(t, dict):
        assert isinstance(e, dict), f"{where}: expected a dict, got {e!r}"
        t_keys, e_keys = sorted(map(str, t)), sorted(map(str, e))
        assert t_keys == e_keys, f"{where}: keys {t_keys} != {e_keys}"
        for k in t:
            assert_same(t[k], e[k], f"{where}[{k!r}]")
    elif isinstance(t, (list, tuple)):
        assert isinstance(e, (list, tuple)) and len(t) == len(e), f"{where}: {t!r} != {e!r}"
        for i, (a, b) in enumerate(zip(t, e)):
            assert_same(a, b, f"{where}[{i}]")
    elif isinstance(t, float) and not isinstance(e, edunn.Tensor):
        assert isinstance(e, (int, float)), f"{where}: {e!r} is not a number"
        if math.isinf(t) or t == 0:
            assert e == t, f"{where}: {e!r} != {t!r}"
        else:
            assert abs(e - t) <= RTOL * abs(t), f"{where}: {e!r} != {t!r}"
    else:
        assert e == t, f"{where}: {e!r} != {t!r}"


def make_opts(lrs=(0.1,), opt: str = "SGD", tensor_lr: str | None = None,
              **opt_kw: Any) -> tuple:
    """A torch and an edunn optimizer with one parameter (with a gradient) per group, group i
    starting at ``lrs[i]`` (a float, or a 0-dim tensor of dtype ``tensor_lr``)."""
    opts = []
    for lib in (torch, edunn):
        groups = []
        for lr in lrs:
            p = lib.zeros(2, requires_grad=True)
            p.grad = lib.ones(2)
            if tensor_lr:
                lr = lib.tensor(lr, dtype=getattr(lib, tensor_lr))
            groups.append({"params": [p], "lr": lr})
        kw = dict(opt_kw)
        if lib is torch:
            kw["foreach"] = False  # PyTorch refuses a tensor lr on its foreach path
        opts.append(getattr(lib.optim, opt)(groups, **kw))
    return tuple(opts)


def check(t_s: Any, e_s: Any, t_opt: Any, e_opt: Any, where: str, state: bool = True) -> None:
    assert_same(t_s.get_last_lr(), e_s.get_last_lr(), f"{where} get_last_lr()")
    for i, (tg, eg) in enumerate(zip(t_opt.param_groups, e_opt.param_groups)):
        for key in GROUP_KEYS:
            if key in tg:
                assert key in eg, f"{where}: group {i} has no {key!r}"
                assert_same(tg[key], eg[key], f"{where} group {i} {key}")
    if state:
        assert_same(t_s.state_dict(), e_s.state_dict(), f"{where} state_dict()")


def drive(make: Callable, lrs=(0.1,), opt: str = "SGD", tensor_lr: str | None = None,
          steps: int = 100, step_args: Callable | None = None, opt_kw: dict | None = None,
          pair: tuple | None = None) -> tuple:
    """Build ``make(module, optimizer)`` for both libraries and step both ``steps`` times,
    checking after construction and after every step.  ``step_args(i, lib)`` gives the
    arguments of the i-th ``scheduler.step`` (a metric, an epoch).  Returns the four objects."""
    if pair is None:
        t_opt, e_opt = make_opts(lrs, opt, tensor_lr, **(opt_kw or {}))
        t_s, e_s = make(TL, t_opt), make(L, e_opt)
    else:
        t_s, e_s, t_opt, e_opt = pair
    check(t_s, e_s, t_opt, e_opt, "init")
    for i in range(steps):
        t_opt.step()
        e_opt.step()
        args = (step_args(i, torch), step_args(i, edunn)) if step_args else ((), ())
        t_s.step(*args[0])
        e_s.step(*args[1])
        check(t_s, e_s, t_opt, e_opt, f"step {i + 1}")
    return t_s, e_s, t_opt, e_opt


def resume(make: Callable, run: tuple, tmp_path: Any, steps: int = 40,
           step_args: Callable | None = None, through_file: bool = True, first: int = 0) -> None:
    """Save edunn's scheduler and optimizer mid-run (through ``edunn.save``/``edunn.load`` or a
    deep copy), load them into freshly built ones, and go on side by side with torch's."""
    t_s, e_s, t_opt, e_opt = run
    saved = {"scheduler": e_s.state_dict(), "optimizer": e_opt.state_dict()}
    if through_file:
        edunn.save(saved, str(tmp_path / "ckpt.edunn"))
        saved = edunn.load(str(tmp_path / "ckpt.edunn"))
    else:
        saved = copy.deepcopy(saved)
    lrs = [g.get("initial_lr", g["lr"]) for g in e_opt.param_groups]
    lrs = [lr.item() if isinstance(lr, edunn.Tensor) else lr for lr in lrs]
    tensor_lr = (str(e_opt.param_groups[0]["lr"].dtype).split(".")[-1]
                 if isinstance(e_opt.param_groups[0]["lr"], edunn.Tensor) else None)
    _, e_opt2 = make_opts(lrs, type(e_opt).__name__, tensor_lr, **{
        k: e_opt.defaults[k] for k in ("momentum", "betas") if k in e_opt.defaults})
    e_s2 = make(L, e_opt2)
    e_opt2.load_state_dict(saved["optimizer"])
    e_s2.load_state_dict(saved["scheduler"])
    check(t_s, e_s2, t_opt, e_opt2, "resumed")

    def shifted(i: int, lib: Any) -> tuple:
        return step_args(i + first, lib)
    drive(make, steps=steps, step_args=shifted if step_args else None,
          pair=(t_s, e_s2, t_opt, e_opt2))


def same_error(fn: Callable[[Any], Any], exact: bool | str = True) -> None:
    """``fn(torch's module)`` and ``fn(edunn's)`` raise the same kind of error, with the same
    message (``exact``), the same first words (False), or edunn's containing PyTorch's
    (``"contains"``: a clearer message around the same words)."""
    with pytest.raises(Exception) as t_err:
        fn(torch)
    with pytest.raises(Exception) as e_err:
        fn(edunn)
    assert type(e_err.value) is type(t_err.value), (t_err.value, e_err.value)
    t_msg, e_msg = str(t_err.value), str(e_err.value)
    if exact == "contains":
        assert t_msg in e_msg, (t_msg, e_msg)
    elif exact:
        assert e_msg == t_msg
    else:
        assert e_msg.split(",")[0] == t_msg.split(",")[0], (t_msg, e_msg)


def caught(fn: Callable[[], Any]) -> list[tuple]:
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        fn()
    return [(w.category, str(w.message)) for w in rec]


# ------------------------------------------------------------------------------ the cases
CASES: dict[str, Callable] = {
    "lambda": lambda M, o: M.LambdaLR(o, lambda e: 0.95 ** e),
    "lambda_warmup": lambda M, o: M.LambdaLR(o, lambda e: min(1.0, (e + 1) / 10)),
    "multiplicative": lambda M, o: M.MultiplicativeLR(o, lambda e: 0.97),
    "multiplicative_epoch": lambda M, o: M.MultiplicativeLR(o, lambda e: 1 - 0.002 * e),
    "step": lambda M, o: M.StepLR(o, step_size=7, gamma=0.5),
    "step_default": lambda M, o: M.StepLR(o, 10),
    "multistep": lambda M, o: M.MultiStepLR(o, milestones=[10, 25, 25, 60], gamma=0.3),
    "multistep_unsorted": lambda M, o: M.MultiStepLR(o, [40, 5, 20]),
    "constant": lambda M, o: M.ConstantLR(o),
    "constant_long": lambda M, o: M.ConstantLR(o, factor=0.5, total_iters=20),
    "linear": lambda M, o: M.LinearLR(o),
    "linear_decay": lambda M, o: M.LinearLR(o, start_factor=1.0, end_factor=0.1,
                                           total_iters=30),
    "exponential": lambda M, o: M.ExponentialLR(o, gamma=0.95),
    "polynomial": lambda M, o: M.PolynomialLR(o),
    "polynomial_p2": lambda M, o: M.PolynomialLR(o, total_iters=40, power=2.0),
    "cosine": lambda M, o: M.CosineAnnealingLR(o, T_max=20),
    "cosine_eta_min": lambda M, o: M.CosineAnnealingLR(o, T_max=33, eta_min=0.001),
    "chained": lambda M, o: M.ChainedScheduler([M.ConstantLR(o, factor=0.1, total_iters=2),
                                                M.ExponentialLR(o, gamma=0.9)]),
    "chained_optimizer": lambda M, o: M.ChainedScheduler(
        [M.StepLR(o, 5, 0.5), M.CosineAnnealingLR(o, 30), M.LinearLR(o, 0.2, total_iters=9)],
        optimizer=o),
    "sequential": lambda M, o: M.SequentialLR(
        o, [M.LinearLR(o, start_factor=0.1, total_iters=10), M.CosineAnnealingLR(o, T_max=90)],
        milestones=[10]),
    "sequential3": lambda M, o: M.SequentialLR(
        o, [M.ConstantLR(o, 0.1, total_iters=5), M.ExponentialLR(o, 0.9), M.StepLR(o, 10)],
        milestones=[5, 30]),
    "chained_sequential": lambda M, o: M.ChainedScheduler([
        M.SequentialLR(o, [M.LinearLR(o, 0.25, total_iters=4), M.CosineAnnealingLR(o, 40)], [4]),
        M.MultiStepLR(o, [3, 9, 50])]),
}

VARIANTS = {  # (lrs, tensor_lr)
    "one_group": ((0.1,), None),
    "three_groups": ((0.1, 0.02, 3e-4), None),
    "tensor_lr_float32": ((0.1, 0.05), "float32"),
    "tensor_lr_float64": ((0.3,), "float64"),
}


@pytest.mark.parametrize("variant", list(VARIANTS))
@pytest.mark.parametrize("case", list(CASES))
def test_schedule_matches_torch(case: str, variant: str) -> None:
    lrs, tensor_lr = VARIANTS[variant]
    drive(CASES[case], lrs=lrs, tensor_lr=tensor_lr, steps=100)


def test_per_group_lambdas_and_adam() -> None:
    make = lambda M, o: M.LambdaLR(o, [lambda e: 1 / (e + 1), lambda e: 0.9 ** e,  # noqa: E731
                                       lambda e: min(1.0, (e + 1) / 25)])
    drive(make, lrs=(0.1, 0.01, 1.0), opt="Adam", steps=60)
    make = lambda M, o: M.MultiplicativeLR(o, (lambda e: 0.9, lambda e: 1.01))  # noqa: E731
    drive(make, lrs=(0.1, 0.2), opt="AdamW", steps=60)


def test_several_schedulers_on_one_optimizer() -> None:
    t_opt, e_opt = make_opts((0.1, 0.01))
    t_s = [TL.StepLR(t_opt, 4, 0.5), TL.ExponentialLR(t_opt, 0.97), TL.LinearLR(t_opt, 0.5)]
    e_s = [L.StepLR(e_opt, 4, 0.5), L.ExponentialLR(e_opt, 0.97), L.LinearLR(e_opt, 0.5)]
    for i in range(80):
        t_opt.step()
        e_opt.step()
        for a, b in zip(t_s, e_s):
            a.step()
            b.step()
            check(a, b, t_opt, e_opt, f"step {i}")
    # the optimizer's step is wrapped once, however many schedulers watch it
    assert e_opt.step._wrapped_by_lr_sched and e_opt._opt_called
    assert not hasattr(e_opt.step.__wrapped__, "_wrapped_by_lr_sched")


def test_resume_with_last_epoch() -> None:
    """A scheduler built with ``last_epoch=k`` on an optimizer that has ``initial_lr``."""
    t_s, e_s, t_opt, e_opt = drive(CASES["cosine"], lrs=(0.1, 0.2), steps=13)
    for make in (lambda M, o: M.CosineAnnealingLR(o, T_max=20, last_epoch=13),
                 lambda M, o: M.StepLR(o, 5, last_epoch=13),
                 lambda M, o: M.ExponentialLR(o, 0.9, last_epoch=13)):
        drive(make, steps=30, pair=(make(TL, t_opt), make(L, e_opt), t_opt, e_opt))


def test_learner_subclass() -> None:
    """An ``LRScheduler`` subclass written as lesson 16 asks (and the old ``_LRScheduler``)."""
    def make(M: Any, o: Any) -> Any:
        class Warmup(M.LRScheduler):
            def __init__(self, optimizer, warmup, last_epoch=-1):
                self.warmup = warmup
                super().__init__(optimizer, last_epoch)

            def get_lr(self):
                return [b * min(1.0, (self.last_epoch + 1) / self.warmup) for b in self.base_lrs]
        return Warmup(o, 8)
    drive(make, lrs=(0.1, 0.3), steps=20)
    assert issubclass(L._LRScheduler, L.LRScheduler) and L._LRScheduler.__name__ == "_LRScheduler"
    with pytest.raises(NotImplementedError):
        L.LRScheduler(make_opts()[1])


# ------------------------------------------------------------------------------ state_dict
@pytest.mark.parametrize("case", ["lambda", "multiplicative", "step", "multistep", "constant",
                                  "linear", "polynomial", "cosine", "chained", "sequential",
                                  "sequential3", "chained_sequential"])
@pytest.mark.parametrize("through_file", [True, False])
def test_state_dict_round_trip(case: str, through_file: bool, tmp_path: Any) -> None:
    run = drive(CASES[case], lrs=(0.1, 0.01), tensor_lr="float64" if through_file else None,
                steps=17)
    resume(CASES[case], run, tmp_path, steps=60, through_file=through_file)


def test_state_dict_of_callable_objects_and_lambdas() -> None:
    class Decay:
        def __init__(self, rate):
            self.rate = rate

        def __call__(self, epoch):
            return self.rate ** epoch

    t_s, e_s, t_opt, e_opt = drive(lambda M, o: M.LambdaLR(o, [Decay(0.9), lambda e: 1.0]),
                                   lrs=(0.1, 0.2), steps=5)
    sd = e_s.state_dict()
    assert sd["lr_lambdas"] == [{"rate": 0.9}, None]
    sd["lr_lambdas"][0]["rate"] = 0.5
    e_s.load_state_dict(sd)
    assert e_s.lr_lambdas[0].rate == 0.5 and "lr_lambdas" in sd and "optimizer" not in sd


# ------------------------------------------------------------------------------ ReduceLROnPlateau
def _metrics(seed: int, n: int = 150, mode: str = "min") -> list[float]:
    """A validation curve with plateaus: a staircase (flat for 9 epochs at a time) with small
    noise, sometimes improving by less than the threshold."""
    rng = random.Random(seed)
    out = []
    for i in range(n):
        v = max(0.05, 1.0 - 0.08 * (i // 9)) + 1e-5 * rng.random() + (0.02 if i % 13 == 0 else 0)
        out.append(v if mode == "min" else 1.0 - v)
    return out


PLATEAU = {
    "default": dict(),
    "patience2": dict(patience=2, factor=0.5),
    "cooldown": dict(patience=1, factor=0.5, cooldown=3),
    "abs": dict(patience=2, threshold=0.01, threshold_mode="abs"),
    "min_lr": dict(patience=1, factor=0.3, min_lr=1e-3),
    "min_lr_groups": dict(patience=1, factor=0.3, min_lr=[1e-3, 1e-4]),
    "eps": dict(patience=1, factor=0.9, eps=5e-3, min_lr=0.01),
    "max": dict(mode="max", patience=2, factor=0.5),
    "max_abs": dict(mode="max", patience=3, threshold=0.05, threshold_mode="abs", cooldown=2),
}


@pytest.mark.parametrize("tensor_metric", [False, True])
@pytest.mark.parametrize("tensor_lr", [None, "float32"])
@pytest.mark.parametrize("config", list(PLATEAU))
def test_reduce_lr_on_plateau(config: str, tensor_lr: str | None, tensor_metric: bool,
                              tmp_path: Any) -> None:
    kw = PLATEAU[config]
    metrics = _metrics(sum(map(ord, config)), mode=kw.get("mode", "min"))

    def args(i: int, lib: Any) -> tuple:
        return (lib.tensor(metrics[i]) if tensor_metric else metrics[i],)

    make = lambda M, o: M.ReduceLROnPlateau(o, **kw)  # noqa: E731
    run = drive(make, lrs=(0.1, 0.05), tensor_lr=tensor_lr, steps=70, step_args=args)
    assert run[0].get_last_lr() != [0.1, 0.05] or config == "default"
    resume(make, run, tmp_path, steps=70, step_args=args, first=70)


def test_reduce_lr_on_plateau_new_group_and_epoch() -> None:
    t_opt, e_opt = make_opts((0.1,))
    t_s, e_s = TL.ReduceLROnPlateau(t_opt, patience=0), L.ReduceLROnPlateau(e_opt, patience=0)
    for opt, lib in ((t_opt, torch), (e_opt, edunn)):
        opt.add_param_group({"params": [lib.zeros(1, requires_grad=True)], "lr": 0.5})
    drive(None, steps=5, step_args=lambda i, lib: (1.0,), pair=(t_s, e_s, t_opt, e_opt))
    # a per-group min_lr list no longer matches: PyTorch's RuntimeError
    t_opt, e_opt = make_opts((0.1,))
    t_s = TL.ReduceLROnPlateau(t_opt, patience=0, min_lr=[0.0])
    e_s = L.ReduceLROnPlateau(e_opt, patience=0, min_lr=[0.0])
    for opt, lib, s in ((t_opt, torch, t_s), (e_opt, edunn, e_s)):
        opt.add_param_group({"params": [lib.zeros(1, requires_grad=True)], "lr": 0.5})
        s.step(1.0)
    same_error(lambda lib: (t_s if lib is torch else e_s).step(1.0))
    # the deprecated epoch argument: PyTorch's warning, and last_epoch set
    t_opt, e_opt = make_opts((0.1,))
    t_s, e_s = TL.ReduceLROnPlateau(t_opt), L.ReduceLROnPlateau(e_opt)
    assert caught(lambda: e_s.step(1.0, 7)) == caught(lambda: t_s.step(1.0, 7))
    check(t_s, e_s, t_opt, e_opt, "epoch=7")


# ------------------------------------------------------------------------------ warnings
def test_step_order_warning_and_skipped_first_value() -> None:
    """Stepping the scheduler before the optimizer warns (PyTorch's words) and skips lr_0."""
    t_opt, e_opt = make_opts((0.1,))
    t_s, e_s = TL.StepLR(t_opt, 1, 0.5), L.StepLR(e_opt, 1, 0.5)
    t_w, e_w = caught(t_s.step), caught(e_s.step)
    assert e_w == t_w and len(e_w) == 1 and "before `optimizer.step()`" in e_w[0][1]
    drive(None, steps=5, pair=(t_s, e_s, t_opt, e_opt))
    # the right order: no warning at all
    t_opt, e_opt = make_opts((0.1,))
    t_s, e_s = TL.StepLR(t_opt, 1, 0.5), L.StepLR(e_opt, 1, 0.5)
    assert caught(lambda: (e_opt.step(), e_s.step())) == [] == caught(
        lambda: (t_opt.step(), t_s.step()))
    # an optimizer.step replaced after the scheduler was built
    t_opt, e_opt = make_opts((0.1,))
    t_s, e_s = TL.ExponentialLR(t_opt, 0.5), L.ExponentialLR(e_opt, 0.5)
    t_opt.step = lambda: None
    e_opt.step = lambda: None
    t_w, e_w = caught(t_s.step), caught(e_s.step)
    assert e_w == t_w and "overridden" in e_w[0][1]


def test_warning_points_at_the_caller() -> None:
    _, e_opt = make_opts()
    s = L.StepLR(e_opt, 3)
    with warnings.catch_warnings(record=True) as rec:
        warnings.simplefilter("always")
        s.step()
        s.get_lr()
    assert [w.filename for w in rec] == [__file__, __file__]


@pytest.mark.parametrize("case", ["step", "multistep", "constant_long", "linear_decay",
                                  "exponential", "polynomial_p2", "cosine_eta_min", "lambda",
                                  "multiplicative"])
def test_epoch_argument_is_deprecated_and_uses_closed_form(case: str) -> None:
    t_s, e_s, t_opt, e_opt = drive(CASES[case], lrs=(0.1, 0.02), steps=3)
    for epoch in (7, 12, 5, 30, 31):
        t_opt.step()
        e_opt.step()
        t_w, e_w = caught(lambda: t_s.step(epoch)), caught(lambda: e_s.step(epoch))
        assert e_w == t_w and len(e_w) == 1 and e_w[0][1] == L.EPOCH_DEPRECATION_WARNING
        check(t_s, e_s, t_opt, e_opt, f"epoch={epoch}")
    drive(None, steps=10, pair=(t_s, e_s, t_opt, e_opt))


def test_get_lr_outside_step_warns() -> None:
    for case in ("step", "lambda", "cosine", "exponential"):
        t_s, e_s, t_opt, e_opt = drive(CASES[case], steps=4)
        t_w, e_w = caught(t_s.get_lr), caught(e_s.get_lr)
        assert e_w == t_w == [(UserWarning, "To get the last learning rate computed by the "
                                            "scheduler, please use `get_last_lr()`.")]
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_same(t_s.get_lr(), e_s.get_lr(), f"{case} get_lr()")


# ------------------------------------------------------------------------------ bad input
def _opt(lib: Any, lrs=(0.1,), opt: str = "SGD", **kw: Any) -> Any:
    groups = [{"params": [lib.zeros(1, requires_grad=True)], "lr": lr} for lr in lrs]
    return getattr(lib.optim, opt)(groups, **kw)


def _sched(lib: Any) -> Any:
    return TL if lib is torch else L


ERRORS: dict[str, Callable[[Any], Any]] = {
    "not_an_optimizer": lambda lib: _sched(lib).StepLR([1, 2], 3),
    "not_an_optimizer_plateau": lambda lib: _sched(lib).ReduceLROnPlateau("sgd"),
    "resume_without_initial_lr": lambda lib: _sched(lib).StepLR(_opt(lib), 3, last_epoch=4),
    "lambdas_count": lambda lib: _sched(lib).LambdaLR(_opt(lib), [lambda e: 1, lambda e: 2]),
    "multiplicative_lambdas_count": lambda lib: _sched(lib).MultiplicativeLR(
        _opt(lib, (0.1, 0.2)), [lambda e: 1]),
    "multiplicative_not_callable": lambda lib: _sched(lib).MultiplicativeLR(_opt(lib), 0.9),
    "constant_factor": lambda lib: _sched(lib).ConstantLR(_opt(lib), factor=1.5),
    "linear_start": lambda lib: _sched(lib).LinearLR(_opt(lib), start_factor=0),
    "linear_end": lambda lib: _sched(lib).LinearLR(_opt(lib), end_factor=-0.1),
    "chained_empty": lambda lib: _sched(lib).ChainedScheduler([]),
    "sequential_empty": lambda lib: _sched(lib).SequentialLR(_opt(lib), [], []),
    "sequential_milestones": lambda lib: (lambda o: _sched(lib).SequentialLR(
        o, [_sched(lib).StepLR(o, 2), _sched(lib).ExponentialLR(o, 0.9)], [3, 6]))(_opt(lib)),
    "sequential_plateau": lambda lib: (lambda o: _sched(lib).SequentialLR(
        o, [_sched(lib).StepLR(o, 2), _sched(lib).ReduceLROnPlateau(o)], [3]))(_opt(lib)),
    "chained_plateau": lambda lib: (lambda o: _sched(lib).ChainedScheduler(
        [_sched(lib).ReduceLROnPlateau(o)]))(_opt(lib)),
    "chained_not_scheduler": lambda lib: _sched(lib).ChainedScheduler([3], _opt(lib)),
    "plateau_factor": lambda lib: _sched(lib).ReduceLROnPlateau(_opt(lib), factor=1.0),
    "plateau_mode": lambda lib: _sched(lib).ReduceLROnPlateau(_opt(lib), mode="lowest"),
    "plateau_threshold_mode": lambda lib: _sched(lib).ReduceLROnPlateau(
        _opt(lib), threshold_mode="relative"),
    "plateau_min_lrs": lambda lib: _sched(lib).ReduceLROnPlateau(_opt(lib), min_lr=[0, 0]),
    "step_size_zero": lambda lib: _sched(lib).StepLR(_opt(lib), 0).step(),
    "t_max_zero": lambda lib: _sched(lib).CosineAnnealingLR(_opt(lib), 0).step(),
}
CLEARER = {"step_size_zero", "t_max_zero"}  # same error kind, a message naming the argument


@pytest.mark.parametrize("name", list(ERRORS))
def test_errors_match_torch(name: str) -> None:
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        same_error(ERRORS[name], exact="contains" if name in CLEARER else True)


def test_sequential_restarting_a_chained_scheduler_fails_as_in_torch() -> None:
    """At a milestone SequentialLR restarts the next scheduler through its closed form at 0;
    a ChainedScheduler has none (nor a get_lr): NotImplementedError in both libraries."""
    def fn(lib):
        o = _opt(lib)
        s = _sched(lib).SequentialLR(o, [_sched(lib).StepLR(o, 2), _sched(lib).ChainedScheduler(
            [_sched(lib).ExponentialLR(o, 0.9)])], [2])
        o.step()
        s.step()
        s.step()
    for lib in (torch, edunn):
        with pytest.raises(NotImplementedError):
            fn(lib)


def test_scheduler_of_another_optimizer() -> None:
    def fn(lib):
        a, b = _opt(lib), _opt(lib)
        return _sched(lib).SequentialLR(a, [_sched(lib).StepLR(a, 2), _sched(lib).StepLR(b, 2)],
                                        [3])
    same_error(fn, exact=False)  # the message prints the optimizer, whose repr differs
    with pytest.raises(ValueError, match="expects all schedulers to belong to the same optimizer"):
        fn(edunn)


# ------------------------------------------------------------------------------ the API
@pytest.mark.parametrize("name", sorted(L.__all__))
def test_signatures_match_torch(name: str) -> None:
    """Every class of PyTorch's ``__all__`` exists, and its constructor and public methods take
    PyTorch's parameters, in PyTorch's order, with PyTorch's defaults."""
    import inspect
    assert sorted(L.__all__) == sorted(TL.__all__)
    t_cls, e_cls = getattr(TL, name), getattr(L, name)
    methods = ["__init__"] + [m for m in dir(t_cls) if not m.startswith("_")
                              and callable(getattr(t_cls, m))]
    for method in methods:
        assert hasattr(e_cls, method), f"{name}.{method} is missing"
        t_sig = inspect.signature(getattr(t_cls, method))
        e_sig = inspect.signature(getattr(e_cls, method))
        t_params = [(p.name, p.kind, p.default) for p in t_sig.parameters.values()]
        e_params = [(p.name, p.kind, p.default) for p in e_sig.parameters.values()]
        assert e_params == t_params, f"{name}.{method}"


@pytest.mark.parametrize("case", ["cosine", "sequential", "chained"])
def test_tensor_lr_is_filled_in_place(case: str, device: str) -> None:
    """A tensor ``group["lr"]`` (here on ``device``) stays the same object, updated in place;
    ``get_last_lr()`` and ``base_lrs`` hold copies, never the group's tensor."""
    t_opt, _ = make_opts((0.1, 0.2), tensor_lr="float64")
    lrs = [edunn.tensor(lr, dtype=edunn.float64, device=device) for lr in (0.1, 0.2)]
    params = [edunn.zeros(2, requires_grad=True, device=device) for _ in lrs]
    for p in params:
        p.grad = edunn.ones(2, device=device)
    e_opt = edunn.optim.SGD([{"params": [p], "lr": lr} for p, lr in zip(params, lrs)])
    t_s, e_s = CASES[case](TL, t_opt), CASES[case](L, e_opt)
    drive(None, steps=40, pair=(t_s, e_s, t_opt, e_opt))
    for group, lr, last in zip(e_opt.param_groups, lrs, e_s.get_last_lr()):
        assert group["lr"] is lr and last is not lr and str(lr.device).startswith(device)
        assert group["initial_lr"] is not lr
