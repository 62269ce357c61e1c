r"""The decaying schedules of ``edunn.optim.lr_scheduler`` (lesson 16): ``LambdaLR``,
``MultiplicativeLR``, ``StepLR``, ``MultiStepLR``, ``ConstantLR``, ``LinearLR``,
``ExponentialLR``, ``PolynomialLR``, ``CosineAnnealingLR``.

Each ``get_lr()`` is PyTorch's chainable form (the next lr from the current ``group["lr"]``),
so that two schedulers on one optimizer compose by multiplication; each docstring states the
closed form in ``t = last_epoch`` and ``eta_0 = base_lr``, which ``_get_closed_form_lr`` computes.
Import them from ``edunn.optim.lr_scheduler``.
"""
from __future__ import annotations

import math
import types
from bisect import bisect_right
from collections import Counter
from collections.abc import Iterable
from typing import Any, Callable

from .lr_scheduler import (LRScheduler, _check_optimizer, _param_groups_val_list,
                           _warn_get_lr_called_within_step)
from .optimizer import Optimizer

__all__ = ["LambdaLR", "MultiplicativeLR", "StepLR", "MultiStepLR", "ConstantLR", "LinearLR",
           "ExponentialLR", "PolynomialLR", "CosineAnnealingLR"]


def _lambdas(optimizer: Optimizer, lr_lambda: Any) -> list[Callable[[int], float]]:
    """One lambda per parameter group (a single one is shared)."""
    _check_optimizer(optimizer)
    if not isinstance(lr_lambda, (list, tuple)):
        return [lr_lambda] * len(optimizer.param_groups)
    if len(lr_lambda) != len(optimizer.param_groups):
        raise ValueError(f"Expected {len(optimizer.param_groups)} lr_lambdas, but got "
                         f"{len(lr_lambda)}")
    return list(lr_lambda)


class _LambdaStateMixin:
    """``state_dict`` for the schedulers that hold functions: a plain function or lambda cannot
    be saved (``None`` stands in its place); a callable object saves its ``__dict__``."""

    lr_lambdas: list

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's ``__dict__`` minus the optimizer; each lambda is ``None``, or the
        ``__dict__`` of a callable object.  Save the optimizer's state as well."""
        state_dict = {key: value for key, value in self.__dict__.items()
                      if key not in ("optimizer", "lr_lambdas")}
        state_dict["lr_lambdas"] = [None] * len(self.lr_lambdas)
        for idx, fn in enumerate(self.lr_lambdas):
            if not isinstance(fn, types.FunctionType):
                state_dict["lr_lambdas"][idx] = fn.__dict__.copy()
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from ``state_dict()``; callable objects get their saved ``__dict__``."""
        lr_lambdas = state_dict.pop("lr_lambdas")
        self.__dict__.update(state_dict)
        # put the key back: the caller's dict must not change (pytorch/pytorch#32756)
        state_dict["lr_lambdas"] = lr_lambdas
        for idx, fn in enumerate(lr_lambdas):
            if fn is not None:
                self.lr_lambdas[idx].__dict__.update(fn)


class LambdaLR(_LambdaStateMixin, LRScheduler):
    r"""Set each group's lr to its initial lr times a function of the epoch (lesson 16).

    .. code-block:: text

        eta_t = eta_0 * lr_lambda(t)

    Args:
        optimizer (Optimizer): wrapped optimizer.
        lr_lambda (function or list): ``epoch -> factor``, or one such function per group.
        last_epoch (int): the index of the last epoch (default: -1).

    Warm-up, for instance: ``LambdaLR(opt, lambda t: min(1.0, (t + 1) / 100))``.
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """``base_lr * lr_lambda(last_epoch)`` for each group."""
        _warn_get_lr_called_within_step(self)
        return [base_lr * lmbda(self.last_epoch)
                for lmbda, base_lr in zip(self.lr_lambdas, self.base_lrs)]


class MultiplicativeLR(_LambdaStateMixin, LRScheduler):
    r"""Multiply each group's lr by a function of the epoch, every epoch (lesson 16).

    .. code-block:: text

        eta_t = eta_{t-1} * lr_lambda(t)   (t >= 1),   so   eta_t = eta_0 * prod_{s=1..t} lr_lambda(s)

    Args:
        optimizer (Optimizer): wrapped optimizer.
        lr_lambda (function or list): ``epoch -> factor``, or one such function per group.
        last_epoch (int): the index of the last epoch (default: -1).
    """

    def __init__(self, optimizer: Optimizer, lr_lambda: Callable[[int], float] | list,
                 last_epoch: int = -1) -> None:
        self.optimizer = optimizer
        self.lr_lambdas = _lambdas(optimizer, lr_lambda)
        for fn in self.lr_lambdas:
            if not callable(fn):
                raise TypeError(f"lr_lambda should be a function, but got {type(fn).__name__}")
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """``group["lr"] * lr_lambda(last_epoch)`` (unchanged at step 0)."""
        _warn_get_lr_called_within_step(self)
        if self._is_initial:
            return _param_groups_val_list(self.optimizer, "lr")
        return [group["lr"] * lmbda(self.last_epoch)
                for lmbda, group in zip(self.lr_lambdas, self.optimizer.param_groups)]


class StepLR(LRScheduler):
    r"""Decay each group's lr by ``gamma`` every ``step_size`` epochs (lesson 16).

    .. code-block:: text

        eta_t = eta_0 * gamma ** floor(t / step_size)

    Args:
        optimizer (Optimizer): wrapped optimizer.
        step_size (int): period of the decay, in epochs (must be positive; PyTorch does not
            check it: 0 fails at the first step, with a ``ZeroDivisionError``, as here).
        gamma (float): multiplicative factor of the decay (default: 0.1).
        last_epoch (int): the index of the last epoch (default: -1).

    Other changes to the lr from outside (another scheduler) are kept: the decay multiplies
    the current lr.
    """

    def __init__(self, optimizer: Optimizer, step_size: int, gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.step_size = step_size
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def _check_step_size(self) -> None:
        if self.step_size == 0:
            raise ZeroDivisionError("StepLR: step_size is 0 (integer modulo by zero); expected a "
                                    "positive number of epochs between decays")

    def get_lr(self) -> list[Any]:
        """``group["lr"] * gamma`` on a nonzero multiple of ``step_size``, else unchanged."""
        _warn_get_lr_called_within_step(self)
        if self.last_epoch == 0:
            return _param_groups_val_list(self.optimizer, "lr")
        self._check_step_size()
        if self.last_epoch % self.step_size != 0:
            return _param_groups_val_list(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[Any]:
        self._check_step_size()
        return [base_lr * self.gamma ** (self.last_epoch // self.step_size)
                for base_lr in self.base_lrs]


class MultiStepLR(LRScheduler):
    r"""Decay each group's lr by ``gamma`` at each milestone epoch (lesson 16).

    .. code-block:: text

        eta_t = eta_0 * gamma ** (number of milestones <= t)

    Args:
        optimizer (Optimizer): wrapped optimizer.
        milestones (list): epoch indices (increasing; as in PyTorch, they are held in a
            ``Counter``, so order does not matter and a repeated milestone decays twice).
        gamma (float): multiplicative factor of the decay (default: 0.1).
        last_epoch (int): the index of the last epoch (default: -1).

    ``state_dict()["milestones"]`` is a plain ``{epoch: count}`` dict here (PyTorch's holds the
    ``Counter`` itself), so that ``edunn.save``, which stores data only, can write it;
    ``load_state_dict`` accepts either.
    """

    def __init__(self, optimizer: Optimizer, milestones: Iterable[int], gamma: float = 0.1,
                 last_epoch: int = -1) -> None:
        self.milestones = Counter(milestones)
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """``group["lr"] * gamma ** k`` at an epoch named ``k`` times among the milestones."""
        _warn_get_lr_called_within_step(self)
        if self.last_epoch not in self.milestones:
            return _param_groups_val_list(self.optimizer, "lr")
        return [group["lr"] * self.gamma ** self.milestones[self.last_epoch]
                for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[Any]:
        milestones = sorted(self.milestones.elements())
        return [base_lr * self.gamma ** bisect_right(milestones, self.last_epoch)
                for base_lr in self.base_lrs]

    def state_dict(self) -> dict[str, Any]:
        state_dict = super().state_dict()
        state_dict["milestones"] = dict(self.milestones)
        return state_dict

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        super().load_state_dict(state_dict)
        self.milestones = Counter(self.milestones)


class ConstantLR(LRScheduler):
    r"""Multiply each group's lr by a constant ``factor`` for the first ``total_iters`` epochs
    (lesson 16: the simplest warm-up).

    .. code-block:: text

        eta_t = eta_0 * factor   if t < total_iters,   eta_0   otherwise

    Args:
        optimizer (Optimizer): wrapped optimizer.
        factor (float): the factor, in ``[0, 1]`` (default: 1/3).
        total_iters (int): the number of epochs it applies to (default: 5).
        last_epoch (int): the index of the last epoch (default: -1).
    """

    def __init__(self, optimizer: Optimizer, factor: float = 1.0 / 3, total_iters: int = 5,
                 last_epoch: int = -1) -> None:
        if factor > 1.0 or factor < 0:
            raise ValueError("Constant multiplicative factor expected to be between 0 and 1.")
        self.factor = factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """``* factor`` at epoch 0, ``/ factor`` at ``total_iters``, else unchanged."""
        _warn_get_lr_called_within_step(self)
        if self.last_epoch == 0:
            return [group["lr"] * self.factor for group in self.optimizer.param_groups]
        if self.last_epoch != self.total_iters:
            return _param_groups_val_list(self.optimizer, "lr")
        return [group["lr"] * (1.0 / self.factor) for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[Any]:
        return [base_lr * (self.factor + (self.last_epoch >= self.total_iters) * (1 - self.factor))
                for base_lr in self.base_lrs]


class LinearLR(LRScheduler):
    r"""Change each group's lr linearly from ``start_factor * lr`` to ``end_factor * lr`` over
    ``total_iters`` epochs (lesson 16: linear warm-up).

    .. code-block:: text

        eta_t = eta_0 * (start_factor + (end_factor - start_factor) * min(t, total_iters) / total_iters)

    Args:
        optimizer (Optimizer): wrapped optimizer.
        start_factor (float): the factor at epoch 0, in ``(0, 1]`` (default: 1/3).
        end_factor (float): the factor from ``total_iters`` on, in ``[0, 1]`` (default: 1.0).
        total_iters (int): the length of the ramp (default: 5).
        last_epoch (int): the index of the last epoch (default: -1).
    """

    def __init__(self, optimizer: Optimizer, start_factor: float = 1.0 / 3,
                 end_factor: float = 1.0, total_iters: int = 5, last_epoch: int = -1) -> None:
        if start_factor > 1.0 or start_factor <= 0:
            raise ValueError("Starting multiplicative factor expected to be greater than 0 and "
                             "less or equal to 1.")
        if end_factor > 1.0 or end_factor < 0:
            raise ValueError("Ending multiplicative factor expected to be between 0 and 1.")
        self.start_factor = start_factor
        self.end_factor = end_factor
        self.total_iters = total_iters
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """The ratio of consecutive values of the closed form, applied to ``group["lr"]``."""
        _warn_get_lr_called_within_step(self)
        if self.last_epoch == 0:
            return [group["lr"] * self.start_factor for group in self.optimizer.param_groups]
        if self._is_initial or self.last_epoch > self.total_iters:
            return _param_groups_val_list(self.optimizer, "lr")
        delta = self.end_factor - self.start_factor
        ratio = 1.0 + delta / (self.total_iters * self.start_factor + (self.last_epoch - 1) * delta)
        return [group["lr"] * ratio for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[Any]:
        return [base_lr * (self.start_factor + (self.end_factor - self.start_factor)
                           * min(self.total_iters, self.last_epoch) / self.total_iters)
                for base_lr in self.base_lrs]


class ExponentialLR(LRScheduler):
    r"""Decay each group's lr by ``gamma`` every epoch (lesson 16).

    .. code-block:: text

        eta_t = eta_0 * gamma ** t

    Args:
        optimizer (Optimizer): wrapped optimizer.
        gamma (float): multiplicative factor of the decay.
        last_epoch (int): the index of the last epoch (default: -1).
    """

    def __init__(self, optimizer: Optimizer, gamma: float, last_epoch: int = -1) -> None:
        self.gamma = gamma
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """``group["lr"] * gamma`` (unchanged at step 0)."""
        _warn_get_lr_called_within_step(self)
        if self._is_initial:
            return _param_groups_val_list(self.optimizer, "lr")
        return [group["lr"] * self.gamma for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[Any]:
        return [base_lr * self.gamma ** self.last_epoch for base_lr in self.base_lrs]


class PolynomialLR(LRScheduler):
    r"""Decay each group's lr polynomially to 0 over ``total_iters`` epochs (lesson 16).

    .. code-block:: text

        eta_t = eta_0 * (1 - min(t, total_iters) / total_iters) ** power

    Args:
        optimizer (Optimizer): wrapped optimizer.
        total_iters (int): the number of epochs of the decay (default: 5).
        power (float): the power of the polynomial (default: 1.0, a linear decay).
        last_epoch (int): the index of the last epoch (default: -1).
    """

    def __init__(self, optimizer: Optimizer, total_iters: int = 5, power: float = 1.0,
                 last_epoch: int = -1) -> None:
        self.total_iters = total_iters
        self.power = power
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """The ratio of consecutive values of the closed form, applied to ``group["lr"]``."""
        _warn_get_lr_called_within_step(self)
        if self._is_initial or self.last_epoch > self.total_iters:
            return _param_groups_val_list(self.optimizer, "lr")
        decay_factor = ((1.0 - self.last_epoch / self.total_iters)
                        / (1.0 - (self.last_epoch - 1) / self.total_iters)) ** self.power
        return [group["lr"] * decay_factor for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[Any]:
        return [base_lr * (1.0 - min(self.total_iters, self.last_epoch) / self.total_iters)
                ** self.power for base_lr in self.base_lrs]


class CosineAnnealingLR(LRScheduler):
    r"""Anneal each group's lr along a half cosine from its initial value to ``eta_min`` over
    ``T_max`` epochs (SGDR without the restarts; Loshchilov & Hutter, 2017), lesson 16.

    .. code-block:: text

        eta_t = eta_min + (eta_0 - eta_min) * (1 + cos(pi * t / T_max)) / 2

    Past ``T_max`` the cosine goes on: the lr climbs back to ``eta_0`` at ``2 T_max``, and so on.
    ``get_lr()`` uses the recursive form, which keeps changes made by other schedulers::

        eta_t = eta_min + (eta_{t-1} - eta_min) * (1 + cos(pi t / T_max)) / (1 + cos(pi (t-1) / T_max))

    (at the bottom of the cosine, where that ratio is 0/0, it adds the closed form's step).

    Args:
        optimizer (Optimizer): wrapped optimizer.
        T_max (int): the number of epochs of the half period (nonzero; PyTorch does not check
            it: 0 fails at the first step, with a ``ZeroDivisionError``, as here).
        eta_min (float): the minimum lr (default: 0).
        last_epoch (int): the index of the last epoch (default: -1).
    """

    def __init__(self, optimizer: Optimizer, T_max: int, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        self.T_max = T_max
        self.eta_min = eta_min
        super().__init__(optimizer, last_epoch)

    def _check_T_max(self, what: str) -> None:
        if self.T_max == 0:
            raise ZeroDivisionError(f"CosineAnnealingLR: T_max is 0 ({what} by zero); expected "
                                    "a positive number of epochs")

    def get_lr(self) -> list[Any]:
        """The recursive form above (unchanged at step 0)."""
        _warn_get_lr_called_within_step(self)
        if self._is_initial:
            return _param_groups_val_list(self.optimizer, "lr")
        self._check_T_max("integer modulo")
        t, T, eta_min = self.last_epoch, self.T_max, self.eta_min
        if self._step_count == 1 and t > 0:
            return [eta_min + (base_lr - eta_min) * (1 + math.cos(t * math.pi / T)) / 2
                    for base_lr in self.base_lrs]
        if (t - 1 - T) % (2 * T) == 0:
            return [group["lr"] + (base_lr - eta_min) * (1 - math.cos(math.pi / T)) / 2
                    for base_lr, group in zip(self.base_lrs, self.optimizer.param_groups)]
        return [(1 + math.cos(math.pi * t / T)) / (1 + math.cos(math.pi * (t - 1) / T))
                * (group["lr"] - eta_min) + eta_min for group in self.optimizer.param_groups]

    def _get_closed_form_lr(self) -> list[Any]:
        self._check_T_max("float division")
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.last_epoch / self.T_max)) / 2
                for base_lr in self.base_lrs]
