r"""``edunn.optim.lr_scheduler``: learning-rate schedules (lesson 16).

A scheduler owns nothing but a counter: ``last_epoch``, the number of times ``step()`` has been
called since it was built (``0`` right after construction, which counts as the first step).  On
each ``step()`` it writes new values into ``optimizer.param_groups[i]["lr"]`` (and, for the
cyclical policies, ``"momentum"`` or ``"betas"``); the optimizer reads them at its next step.
Everything follows PyTorch 2.13's ``torch/optim/lr_scheduler.py``:

* **chainable form.**  ``get_lr()`` computes the next lr *from the current* ``group["lr"]`` (for
  ``StepLR``: multiply by ``gamma`` on a multiple of ``step_size``), so that several schedulers
  can act on one optimizer and their effects multiply.  Where a formula in ``last_epoch`` alone
  exists, ``_get_closed_form_lr()`` gives it (``base_lr * gamma ** (last_epoch // step_size)``);
  it is what ``step(epoch)`` (deprecated) uses, and what the docstrings state.
* **the first value.**  Building a scheduler performs its step 0: it records each group's lr as
  ``group["initial_lr"]`` (then ``base_lrs``) and sets the lr of epoch 0.
* **the order of calls.**  ``optimizer.step()`` then ``scheduler.step()``, once per epoch (or
  per batch for ``CyclicLR``/``OneCycleLR``).  Calling the scheduler first skips the schedule's
  first value, so the scheduler wraps ``optimizer.step`` to notice it, and warns (lesson 16 runs
  both orders).
* **tensor learning rates.**  A ``group["lr"]`` that is a Tensor is updated in place with
  ``fill_`` (never rebound), and ``get_last_lr()`` returns copies.
* **state.**  ``state_dict()`` is the scheduler's ``__dict__`` minus the optimizer (lambdas,
  which cannot be saved, are left out as PyTorch does); ``load_state_dict`` puts it back.

The schedulers themselves live in ``_schedulers_basic.py`` (closed-form decays),
``_schedulers_compose.py`` (``ChainedScheduler``, ``SequentialLR``, ``ReduceLROnPlateau``) and
``_schedulers_cyclic.py`` (``CyclicLR``, ``OneCycleLR``, ``CosineAnnealingWarmRestarts``); this
module re-exports them all, so ``edunn.optim.lr_scheduler.StepLR`` is the name to use.
"""
from __future__ import annotations

import warnings
from typing import Any
from weakref import ref

from ..tensor import Tensor
from .optimizer import Optimizer, _to_scalar

__all__ = [
    "LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
    "ExponentialLR", "SequentialLR", "CosineAnnealingLR", "ChainedScheduler",
    "ReduceLROnPlateau", "CyclicLR", "CosineAnnealingWarmRestarts", "OneCycleLR",
    "PolynomialLR", "LRScheduler",
]

EPOCH_DEPRECATION_WARNING = (
    "The epoch parameter in `scheduler.step()` was not necessary and is being "
    "deprecated where possible. Please use `scheduler.step()` to step the "
    "scheduler. During the deprecation, if epoch is different from None, the "
    "closed form is used instead of the new chainable form, where available. "
    "Please open an issue if you are unable to replicate your use case: "
    "https://github.com/pytorch/pytorch/issues/new/choose."
)

_ORDER_WARNING = (
    "Detected call of `lr_scheduler.step()` before `optimizer.step()`. "
    "In PyTorch 1.1.0 and later, you should call them in the opposite order: "
    "`optimizer.step()` before `lr_scheduler.step()`.  Failure to do this "
    "will result in PyTorch skipping the first value of the learning rate schedule. "
    "See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)

_OVERRIDDEN_WARNING = (
    "Seems like `optimizer.step()` has been overridden after learning rate scheduler "
    "initialization. Please, make sure to call `optimizer.step()` before "
    "`lr_scheduler.step()`. See more details at "
    "https://pytorch.org/docs/stable/optim.html#how-to-adjust-learning-rate"
)


# ---------------------------------------------------------------------------- helpers
def _check_optimizer(optimizer: Any) -> None:
    """Every scheduler's first check (PyTorch's message)."""
    if not isinstance(optimizer, Optimizer):
        raise TypeError(f"{type(optimizer).__name__} is not an Optimizer")


def _format_param(name: str, optimizer: Optimizer, param: Any) -> list[Any]:
    """One value per parameter group: a list or tuple is checked for length, a single value is
    repeated.  Tensors are cloned so that the scheduler never aliases a user's tensor."""
    def _copy(value: Any) -> Any:
        return value.clone() if isinstance(value, Tensor) else value

    if isinstance(param, (list, tuple)):
        if len(param) != len(optimizer.param_groups):
            raise ValueError(
                f"{name} must have the same length as optimizer.param_groups. "
                f"{name} has {len(param)} values, param_groups has "
                f"{len(optimizer.param_groups)}.")
    else:
        param = [param] * len(optimizer.param_groups)
    return list(map(_copy, param))


def _param_groups_val_list(optimizer: Optimizer, key: str) -> list[Any]:
    """``[group[key] for group in param_groups]``, with tensors cloned (no aliasing)."""
    return [group[key].clone() if isinstance(group[key], Tensor) else group[key]
            for group in optimizer.param_groups]


def _update_param_group_val(param_group: dict[str, Any], key: str, val: Any) -> None:
    """``param_group[key] = val``, except that a tensor already there is filled in place: the
    optimizer (or the user) may hold on to that very tensor."""
    if isinstance(param_group[key], Tensor):
        param_group[key].fill_(_to_scalar(val))
    else:
        param_group[key] = val


def _warn_get_lr_called_within_step(lr_scheduler: "LRScheduler") -> None:
    """``get_lr()`` computes the *next* lr from the current one (chainable form): called by a
    user to read the lr, it returns a wrong value, hence PyTorch's warning."""
    if not lr_scheduler._get_lr_called_within_step:
        warnings.warn("To get the last learning rate computed by the scheduler, "
                      "please use `get_last_lr()`.", UserWarning, stacklevel=3)


class _enable_get_lr_call:
    """Marks ``get_lr()`` calls made by ``step()`` itself (they must not warn)."""

    def __init__(self, o: "LRScheduler") -> None:
        self.o = o

    def __enter__(self) -> "_enable_get_lr_call":
        self.o._get_lr_called_within_step = True
        return self

    def __exit__(self, *exc: Any) -> None:
        self.o._get_lr_called_within_step = False


class _initial_mode:
    """Marks the step made by the constructor (step 0), which some schedulers treat apart."""

    def __init__(self, o: "LRScheduler") -> None:
        self.o = o

    def __enter__(self) -> None:
        self.o._is_initial = True

    def __exit__(self, *exc: Any) -> None:
        self.o._is_initial = False


def _patch_track_step_called(scheduler: "LRScheduler", opt: Optimizer) -> None:
    """Wrap ``opt.step`` (an instance attribute, as PyTorch does) so that it records
    ``opt._opt_called = True``: that is how ``scheduler.step()`` knows whether the optimizer has
    stepped before it.  The wrapper holds the optimizer weakly, and wraps only once however many
    schedulers share the optimizer."""
    if hasattr(opt.step, "_wrapped_by_lr_sched"):
        return
    opt_ref = ref(opt)
    func = opt.step.__func__

    def wrapper(*args: Any, **kwargs: Any) -> Any:
        opt = opt_ref()
        opt._opt_called = True
        return func.__get__(opt, opt.__class__)(*args, **kwargs)

    for attr in ("__module__", "__name__", "__qualname__", "__doc__"):
        setattr(wrapper, attr, getattr(func, attr, None))
    wrapper.__wrapped__ = func
    wrapper._wrapped_by_lr_sched = True
    opt.step = wrapper


# ---------------------------------------------------------------------------- the base class
class LRScheduler:
    r"""Base class for all learning-rate schedulers (lesson 16).

    A subclass implements ``get_lr()`` -- the lr of epoch ``last_epoch`` computed from the
    current ``group["lr"]`` (chainable form) -- and, where a formula in ``last_epoch`` exists,
    ``_get_closed_form_lr()``.  ``step()`` advances ``last_epoch`` and writes the new values.

    Args:
        optimizer (Optimizer): the optimizer whose learning rates this scheduler sets.
        last_epoch (int): the index of the last epoch seen; ``-1`` (default) starts a new
            schedule (each ``group["initial_lr"]`` is set from ``group["lr"]``).  Any other value
            resumes one, and then every group must already have ``"initial_lr"``.

    .. warning::
        Building a scheduler overwrites its optimizer's ``group["lr"]``.  When restoring a
        checkpoint, build the scheduler **before** ``optimizer.load_state_dict``.

    Attributes: ``optimizer``, ``last_epoch``, ``base_lrs`` (the ``initial_lr`` of each group),
    ``_step_count`` (calls to ``step()``, the constructor's included), ``_last_lr``.
    """

    _get_lr_called_within_step: bool = False
    _is_initial: bool = False

    def __init__(self, optimizer: Optimizer, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer

        if last_epoch == -1:
            for group in optimizer.param_groups:
                initial_lr = group["lr"]
                if isinstance(initial_lr, Tensor):
                    initial_lr = initial_lr.clone()
                group.setdefault("initial_lr", initial_lr)
        else:
            for i, group in enumerate(optimizer.param_groups):
                if "initial_lr" not in group:
                    raise KeyError(
                        f"param 'initial_lr' is not specified in param_groups[{i}] when resuming "
                        "scheduler with last_epoch >= 0.\n"
                        "This typically happens when:\n"
                        "1. You're trying to resume training from a checkpoint but haven't "
                        "properly loaded the optimizer state\n"
                        "2. You're using last_epoch >= 0 for a fresh training run (not "
                        "recommended)")
        self.base_lrs: list[Any] = _param_groups_val_list(optimizer, "initial_lr")
        self.last_epoch = last_epoch

        # github.com/pytorch/pytorch/issues/20124: detect scheduler.step() before optimizer.step()
        _patch_track_step_called(self, self.optimizer)
        self._initial_step()

    def _initial_step(self) -> None:
        """Reset the step count and take step 0 (the lr of the first epoch)."""
        self._step_count = 0
        with _initial_mode(self):
            self.step()

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's state: every entry of ``self.__dict__`` except the optimizer."""
        return {key: value for key, value in self.__dict__.items() if key != "optimizer"}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state returned by ``state_dict()``.  Load the optimizer's state too: the
        scheduler's next step starts from the optimizer's current ``lr``."""
        self.__dict__.update(state_dict)

    def get_last_lr(self) -> list[Any]:
        """The learning rates set by the last ``step()``, one per group (copies: changing a
        returned tensor does not change the optimizer)."""
        return self._last_lr

    def get_lr(self) -> list[Any]:
        """The next learning rate of each group (called by ``step()``; to read the current lr,
        use ``get_last_lr()``)."""
        raise NotImplementedError(f"{type(self).__name__} does not define get_lr(); an "
                                  "LRScheduler subclass must implement it")

    def step(self, epoch: int | None = None) -> None:
        """Advance the schedule by one epoch and set the new learning rates.

        Args:
            epoch (int, optional): deprecated (warns).  Sets ``last_epoch = epoch`` and uses
                the closed form where the scheduler has one.

        Call it after ``optimizer.step()``.
        """
        if self._step_count == 1:
            if not hasattr(self.optimizer.step, "_wrapped_by_lr_sched"):
                warnings.warn(_OVERRIDDEN_WARNING, UserWarning, stacklevel=2)
            elif not getattr(self.optimizer, "_opt_called", False):
                warnings.warn(_ORDER_WARNING, UserWarning, stacklevel=2)
        self._step_count += 1
        if epoch is not None:
            warnings.warn(EPOCH_DEPRECATION_WARNING, UserWarning, stacklevel=2)
        self._update_lr(epoch)

    def _update_lr(self, epoch: int | None = None) -> None:
        with _enable_get_lr_call(self):
            if epoch is None:
                self.last_epoch += 1
                values = self.get_lr()
            else:
                self.last_epoch = epoch
                if hasattr(self, "_get_closed_form_lr"):
                    values = self._get_closed_form_lr()
                else:
                    values = self.get_lr()
        groups = self.optimizer.param_groups
        if len(values) != len(groups):
            raise ValueError(f"{type(self).__name__} computed {len(values)} learning rates for "
                             f"an optimizer with {len(groups)} param_groups")
        for param_group, lr in zip(groups, values):
            _update_param_group_val(param_group, "lr", lr)
        self._last_lr: list[Any] = _param_groups_val_list(self.optimizer, "lr")


class _LRScheduler(LRScheduler):
    """The old name of ``LRScheduler``, kept (as a subclass, like PyTorch) for old code."""


# The schedulers, re-exported; they import the helpers above, hence the import at the bottom.
from ._schedulers_basic import (ConstantLR, CosineAnnealingLR, ExponentialLR,  # noqa: E402
                                LambdaLR, LinearLR, MultiplicativeLR, MultiStepLR,
                                PolynomialLR, StepLR)
from ._schedulers_compose import ChainedScheduler, ReduceLROnPlateau, SequentialLR  # noqa: E402
from ._schedulers_cyclic import (CosineAnnealingWarmRestarts, CyclicLR,  # noqa: E402
                                 OneCycleLR)
