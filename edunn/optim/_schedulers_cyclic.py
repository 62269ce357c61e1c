r"""The cyclical policies of ``edunn.optim.lr_scheduler`` (lesson 16): ``CyclicLR`` (Smith,
2017), ``OneCycleLR`` (Smith & Topin, 2018) and ``CosineAnnealingWarmRestarts`` (SGDR,
Loshchilov & Hutter, 2017).  They are stepped once per *batch* (the cosine restarts may be
stepped with fractional epochs).  ``CyclicLR`` and ``OneCycleLR`` also cycle the momentum, in
the opposite direction to the lr: ``group["momentum"]`` for SGD-like optimizers, the first of
``group["betas"]`` for Adam-like ones.  Import them from ``edunn.optim.lr_scheduler``.
"""
from __future__ import annotations

import math
import types
from functools import partial
from typing import Any, Callable, Literal

from .lr_scheduler import (LRScheduler, _check_optimizer, _enable_get_lr_call, _format_param,
                           _param_groups_val_list, _update_param_group_val,
                           _warn_get_lr_called_within_step)
from .optimizer import Optimizer

__all__ = ["CyclicLR", "OneCycleLR", "CosineAnnealingWarmRestarts"]


def _setup_momentum(optimizer: Optimizer, base_momentum: Any, max_momentum: Any,
                    last_epoch: int) -> tuple[bool, list, list]:
    """Check that the optimizer has a momentum to cycle, and start each group at
    ``max_momentum`` (recording ``base_momentum``/``max_momentum`` in the group)."""
    if "momentum" not in optimizer.defaults and "betas" not in optimizer.defaults:
        raise ValueError("optimizer must support momentum or beta1 with `cycle_momentum` option "
                         "enabled")
    use_beta1 = "betas" in optimizer.defaults
    base_momentums = _format_param("base_momentum", optimizer, base_momentum)
    max_momentums = _format_param("max_momentum", optimizer, max_momentum)
    if last_epoch == -1:
        for m_momentum, b_momentum, group in zip(max_momentums, base_momentums,
                                                 optimizer.param_groups):
            _set_momentum(group, m_momentum, use_beta1)
            group["max_momentum"] = m_momentum
            group["base_momentum"] = b_momentum
    return use_beta1, base_momentums, max_momentums


def _set_momentum(group: dict[str, Any], momentum: Any, use_beta1: bool) -> None:
    if use_beta1:
        group["betas"] = (momentum, *group["betas"][1:])
    else:
        group["momentum"] = momentum


class CyclicLR(LRScheduler):
    r"""Cycle each group's lr between ``base_lr`` and ``max_lr`` (Smith, 2017), lesson 16.

    With ``cycle = floor(1 + t / (up + down))`` and ``x = 1 + t / (up + down) - cycle`` (the
    position in the cycle, in ``[0, 1)``) and ``r = up / (up + down)``:

    .. code-block:: text

        s     = x / r                  if x <= r   (rising)
              = (x - 1) / (r - 1)      otherwise   (falling)
        eta_t = base_lr + (max_lr - base_lr) * s * scale_fn(cycle or t)
        mom_t = max_momentum - (max_momentum - base_momentum) * s * scale_fn(cycle or t)

    ``mode`` picks ``scale_fn``: ``"triangular"`` 1; ``"triangular2"`` ``1 / 2**(cycle - 1)``
    (the height halves each cycle); ``"exp_range"`` ``gamma**t`` (of the iteration).

    Args:
        optimizer (Optimizer): wrapped optimizer.
        base_lr (float or list): the lower bound of the cycle, per group (it replaces the
            optimizer's lr at construction).
        max_lr (float or list): the upper bound (reached only when ``scale_fn`` is 1).
        step_size_up (int): iterations of the rising half (default: 2000).
        step_size_down (int): iterations of the falling half (default: ``step_size_up``).
        mode (str): ``"triangular"``, ``"triangular2"`` or ``"exp_range"`` (ignored when
            ``scale_fn`` is given) (default: ``"triangular"``).
        gamma (float): the base of ``"exp_range"`` (default: 1.0).
        scale_fn (function): a custom ``x -> scale`` with ``0 <= scale <= 1`` (default: None).
        scale_mode (str): ``"cycle"`` or ``"iterations"``: what ``scale_fn`` is given
            (default: ``"cycle"``).
        cycle_momentum (bool): cycle the momentum (or beta1) inversely (default: True).
        base_momentum (float or list): the lower bound of the momentum (default: 0.8).
        max_momentum (float or list): the upper bound, where the lr is lowest (default: 0.9).
        last_epoch (int): the index of the last batch (default: -1).
    """

    def __init__(self, optimizer: Optimizer, base_lr: float | list[float],
                 max_lr: float | list[float], step_size_up: int = 2000,
                 step_size_down: int | None = None,
                 mode: Literal["triangular", "triangular2", "exp_range"] = "triangular",
                 gamma: float = 1.0, scale_fn: Callable[[float], float] | None = None,
                 scale_mode: Literal["cycle", "iterations"] = "cycle",
                 cycle_momentum: bool = True, base_momentum: float = 0.8,
                 max_momentum: float = 0.9, last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer

        base_lrs = _format_param("base_lr", optimizer, base_lr)
        if last_epoch == -1:
            for lr, group in zip(base_lrs, optimizer.param_groups):
                _update_param_group_val(group, "lr", lr)
        self.max_lrs = _format_param("max_lr", optimizer, max_lr)

        step_size_up = float(step_size_up)
        step_size_down = float(step_size_down) if step_size_down is not None else step_size_up
        self.total_size = step_size_up + step_size_down
        self.step_ratio = step_size_up / self.total_size

        if mode not in ["triangular", "triangular2", "exp_range"] and scale_fn is None:
            raise ValueError("mode is invalid and scale_fn is None")
        self.mode = mode
        self.gamma = gamma
        self._scale_fn_ref: Callable[[float], float]
        self._scale_fn_custom = scale_fn
        self.scale_mode = scale_mode
        self._init_scale_fn()

        self.cycle_momentum = cycle_momentum
        if cycle_momentum:
            self.use_beta1, self.base_momentums, self.max_momentums = _setup_momentum(
                optimizer, base_momentum, max_momentum, last_epoch)

        super().__init__(optimizer, last_epoch)
        self.base_lrs = base_lrs

    def _init_scale_fn(self) -> None:
        if self._scale_fn_custom is not None:
            return
        if self.mode == "triangular":
            self._scale_fn_ref = self._triangular_scale_fn
            self.scale_mode = "cycle"
        elif self.mode == "triangular2":
            self._scale_fn_ref = self._triangular2_scale_fn
            self.scale_mode = "cycle"
        elif self.mode == "exp_range":
            self._scale_fn_ref = partial(self._exp_range_scale_fn, self.gamma)
            self.scale_mode = "iterations"

    def scale_fn(self, x: float) -> float:
        """The custom ``scale_fn`` if one was given, else the mode's."""
        if self._scale_fn_custom is not None:
            return self._scale_fn_custom(x)
        return self._scale_fn_ref(x)

    @staticmethod
    def _triangular_scale_fn(x: float) -> float:
        return 1.0

    @staticmethod
    def _triangular2_scale_fn(x: float) -> float:
        return 1 / (2.0 ** (x - 1))

    @staticmethod
    def _exp_range_scale_fn(gamma: float, x: float) -> float:
        return gamma**x

    def get_lr(self) -> list[Any]:
        """The lrs of batch ``last_epoch`` (closed form); also sets the momenta."""
        _warn_get_lr_called_within_step(self)
        cycle = math.floor(1 + self.last_epoch / self.total_size)
        x = 1.0 + self.last_epoch / self.total_size - cycle
        if x <= self.step_ratio:
            scale_factor = x / self.step_ratio
        else:
            scale_factor = (x - 1) / (self.step_ratio - 1)
        scale_arg = cycle if self.scale_mode == "cycle" else self.last_epoch

        lrs = []
        for base_lr, max_lr in zip(self.base_lrs, self.max_lrs):
            base_height = (max_lr - base_lr) * scale_factor
            lrs.append(base_lr + base_height * self.scale_fn(scale_arg))

        if self.cycle_momentum:
            momentums = []
            for base_momentum, max_momentum in zip(self.base_momentums, self.max_momentums):
                base_height = (max_momentum - base_momentum) * scale_factor
                momentums.append(max_momentum - base_height * self.scale_fn(scale_arg))
            for param_group, momentum in zip(self.optimizer.param_groups, momentums):
                _set_momentum(param_group, momentum, self.use_beta1)
        return lrs

    def state_dict(self) -> dict[str, Any]:
        """The scheduler's fields; a custom ``scale_fn`` is saved only as the ``__dict__`` of a
        callable object (a function cannot be saved: ``None``)."""
        state = super().state_dict()
        state.pop("_scale_fn_ref", None)  # a bound method: rebuilt from ``mode`` on loading
        fn = state.pop("_scale_fn_custom")
        state["_scale_fn_custom"] = None
        if fn is not None and not isinstance(fn, types.FunctionType):
            state["_scale_fn_custom"] = fn.__dict__.copy()
        return state

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state from ``state_dict()`` (a custom ``scale_fn`` keeps the function given
        to the constructor, updated with the saved ``__dict__`` if any)."""
        fn = state_dict.pop("_scale_fn_custom")
        super().load_state_dict(state_dict)
        if fn is not None:
            self._scale_fn_custom.__dict__.update(fn)
        self._init_scale_fn()


class CosineAnnealingWarmRestarts(LRScheduler):
    r"""Cosine annealing with warm restarts (SGDR, Loshchilov & Hutter, 2017), lesson 16.

    .. code-block:: text

        eta_t = eta_min + (eta_0 - eta_min) * (1 + cos(pi * T_cur / T_i)) / 2

    ``T_cur`` counts the epochs since the last restart (it may be fractional: ``step(epoch)``
    with ``epoch = e + batch / batches_per_epoch``); a restart sets it to 0 and multiplies the
    period ``T_i`` by ``T_mult`` (``T_0``, ``T_0 T_mult``, ``T_0 T_mult**2``, ...).

    Args:
        optimizer (Optimizer): wrapped optimizer.
        T_0 (int): the length of the first period (a positive integer).
        T_mult (int): the growth of the period after each restart (an integer >= 1,
            default: 1).
        eta_min (float): the minimum lr (default: 0).
        last_epoch (int): the index of the last epoch (default: -1).
    """

    def __init__(self, optimizer: Optimizer, T_0: int, T_mult: int = 1, eta_min: float = 0.0,
                 last_epoch: int = -1) -> None:
        if T_0 <= 0 or not isinstance(T_0, int):
            raise ValueError(f"Expected positive integer T_0, but got {T_0}")
        if T_mult < 1 or not isinstance(T_mult, int):
            raise ValueError(f"Expected integer T_mult >= 1, but got {T_mult}")
        if not isinstance(eta_min, (float, int)):
            raise ValueError(f"Expected float or int eta_min, but got {eta_min} of type "
                             f"{type(eta_min)}")
        self.T_0 = T_0
        self.T_i = T_0
        self.T_mult = T_mult
        self.eta_min = eta_min
        self.T_cur = last_epoch
        super().__init__(optimizer, last_epoch)

    def get_lr(self) -> list[Any]:
        """The formula above at the current ``T_cur`` and ``T_i``."""
        _warn_get_lr_called_within_step(self)
        return [self.eta_min + (base_lr - self.eta_min)
                * (1 + math.cos(math.pi * self.T_cur / self.T_i)) / 2
                for base_lr in self.base_lrs]

    def step(self, epoch: float | None = None) -> None:
        """Advance by one epoch, or jump to ``epoch`` (fractional allowed, no warning here:
        this is the intended use, e.g. ``scheduler.step(epoch + i / iters)`` every batch).

        With ``T_mult > 1``, the period containing ``epoch`` is found in closed form:
        ``n = floor(log_{T_mult}(epoch / T_0 * (T_mult - 1) + 1))``."""
        if epoch is None and self.last_epoch < 0:
            epoch = 0

        if epoch is None:
            epoch = self.last_epoch + 1
            self.T_cur = self.T_cur + 1
            if self.T_cur >= self.T_i:
                self.T_cur = self.T_cur % self.T_i
                self.T_i = self.T_i * self.T_mult
        else:
            if epoch < 0:
                raise ValueError(f"Expected non-negative epoch, but got {epoch}")
            if epoch >= self.T_0:
                if self.T_mult == 1:
                    self.T_cur = epoch % self.T_0
                else:
                    n = int(math.log((epoch / self.T_0 * (self.T_mult - 1) + 1), self.T_mult))
                    self.T_cur = epoch - self.T_0 * (self.T_mult**n - 1) / (self.T_mult - 1)
                    self.T_i = self.T_0 * self.T_mult ** (n)
            else:
                self.T_i = self.T_0
                self.T_cur = epoch
        self.last_epoch = math.floor(epoch)

        with _enable_get_lr_call(self):
            for param_group, lr in zip(self.optimizer.param_groups, self.get_lr()):
                _update_param_group_val(param_group, "lr", lr)
        self._last_lr = _param_groups_val_list(self.optimizer, "lr")


class OneCycleLR(LRScheduler):
    r"""The 1cycle policy (Smith & Topin, 2018): warm up from ``max_lr / div_factor`` to
    ``max_lr``, then anneal to ``max_lr / (div_factor * final_div_factor)``, once, over
    ``total_steps`` batches (lesson 16).

    With ``eta_init = max_lr / div_factor``, ``eta_fin = eta_init / final_div_factor`` and
    ``p = pct_start * total_steps``, in phases (each interpolated by ``anneal``):

    .. code-block:: text

        two phases (default):   [0, p - 1]: eta_init -> max_lr,   [p - 1, total - 1]: max_lr -> eta_fin
        three_phase=True:       [0, p - 1]: eta_init -> max_lr,   [p - 1, 2p - 2]: max_lr -> eta_init,
                                [2p - 2, total - 1]: eta_init -> eta_fin
        anneal "cos":    end + (start - end) * (1 + cos(pi * pct)) / 2
        anneal "linear": start + (end - start) * pct
        (pct = the fraction of the phase done)

    The momentum follows the lr inversely: ``max_momentum -> base_momentum -> max_momentum``.

    Args:
        optimizer (Optimizer): wrapped optimizer.
        max_lr (float or list): the peak lr, per group.
        total_steps (int): the length of the cycle; or give ``epochs`` and
            ``steps_per_epoch`` (``total_steps = epochs * steps_per_epoch``).
        epochs (int), steps_per_epoch (int): see ``total_steps``.
        pct_start (float): the fraction of the cycle spent warming up (default: 0.3).
        anneal_strategy (str): ``"cos"`` or ``"linear"`` (default: ``"cos"``).
        cycle_momentum (bool): cycle the momentum (or beta1) inversely (default: True).
        base_momentum (float or list): the momentum at the peak lr (default: 0.85).
        max_momentum (float or list): the momentum at both ends (default: 0.95).
        div_factor (float): ``max_lr / initial lr`` (default: 25).
        final_div_factor (float): ``initial lr / final lr`` (default: 1e4).
        three_phase (bool): use the three-phase form above (default: False).
        last_epoch (int): the index of the last batch (default: -1).

    Stepping more than ``total_steps`` times raises a ``ValueError`` (as in PyTorch).
    """

    def __init__(self, optimizer: Optimizer, max_lr: float | list[float],
                 total_steps: int | None = None, epochs: int | None = None,
                 steps_per_epoch: int | None = None, pct_start: float = 0.3,
                 anneal_strategy: Literal["cos", "linear"] = "cos", cycle_momentum: bool = True,
                 base_momentum: float | list[float] = 0.85,
                 max_momentum: float | list[float] = 0.95, div_factor: float = 25.0,
                 final_div_factor: float = 1e4, three_phase: bool = False,
                 last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        self.optimizer = optimizer

        if total_steps is not None:
            if total_steps <= 0 or not isinstance(total_steps, int):
                raise ValueError(f"Expected positive integer total_steps, but got {total_steps}")
            self.total_steps = total_steps
        elif epochs is not None and steps_per_epoch is not None:
            if not isinstance(epochs, int) or epochs <= 0:
                raise ValueError(f"Expected positive integer epochs, but got {epochs}")
            if not isinstance(steps_per_epoch, int) or steps_per_epoch <= 0:
                raise ValueError(f"Expected positive integer steps_per_epoch, but got "
                                 f"{steps_per_epoch}")
            self.total_steps = epochs * steps_per_epoch
        else:
            raise ValueError("You must define either total_steps OR (epochs AND steps_per_epoch)")

        warm_end = float(pct_start * self.total_steps) - 1
        if three_phase:
            self._schedule_phases = [
                {"end_step": warm_end, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": float(2 * pct_start * self.total_steps) - 2, "start_lr": "max_lr",
                 "end_lr": "initial_lr", "start_momentum": "base_momentum",
                 "end_momentum": "max_momentum"},
                {"end_step": self.total_steps - 1, "start_lr": "initial_lr", "end_lr": "min_lr",
                 "start_momentum": "max_momentum", "end_momentum": "max_momentum"},
            ]
        else:
            self._schedule_phases = [
                {"end_step": warm_end, "start_lr": "initial_lr", "end_lr": "max_lr",
                 "start_momentum": "max_momentum", "end_momentum": "base_momentum"},
                {"end_step": self.total_steps - 1, "start_lr": "max_lr", "end_lr": "min_lr",
                 "start_momentum": "base_momentum", "end_momentum": "max_momentum"},
            ]

        if pct_start < 0 or pct_start > 1 or not isinstance(pct_start, float):
            raise ValueError(f"Expected float between 0 and 1 pct_start, but got {pct_start}")
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError("anneal_strategy must be one of 'cos' or 'linear', instead got "
                             f"{anneal_strategy}")
        self._anneal_func_type = anneal_strategy

        max_lrs = _format_param("max_lr", self.optimizer, max_lr)
        if last_epoch == -1:
            for idx, group in enumerate(self.optimizer.param_groups):
                group["initial_lr"] = max_lrs[idx] / div_factor
                group["max_lr"] = max_lrs[idx]
                group["min_lr"] = group["initial_lr"] / final_div_factor

        self.cycle_momentum = cycle_momentum
        if self.cycle_momentum:
            self.use_beta1, _, _ = _setup_momentum(optimizer, base_momentum, max_momentum,
                                                   last_epoch)
        super().__init__(optimizer, last_epoch)

    def _anneal_func(self, *args: Any, **kwargs: Any) -> Any:
        if hasattr(self, "_anneal_func_type"):
            if self._anneal_func_type == "cos":
                return self._annealing_cos(*args, **kwargs)
            if self._anneal_func_type == "linear":
                return self._annealing_linear(*args, **kwargs)
            raise ValueError(f"Unknown _anneal_func_type: {self._anneal_func_type}")
        # a state saved by an old PyTorch, which kept the function itself
        return self.anneal_func(*args, **kwargs)

    @staticmethod
    def _annealing_cos(start: Any, end: Any, pct: float) -> Any:
        """Cosine from ``start`` (pct 0) to ``end`` (pct 1)."""
        cos_out = math.cos(math.pi * pct) + 1
        return end + (start - end) / 2.0 * cos_out

    @staticmethod
    def _annealing_linear(start: Any, end: Any, pct: float) -> Any:
        """Straight line from ``start`` (pct 0) to ``end`` (pct 1)."""
        return (end - start) * pct + start

    def get_lr(self) -> list[Any]:
        """The lrs of batch ``last_epoch`` (closed form); also sets the momenta."""
        _warn_get_lr_called_within_step(self)
        lrs = []
        step_num = self.last_epoch
        if step_num > self.total_steps:
            raise ValueError(f"Tried to step {step_num} times. The specified number of total "
                             f"steps is {self.total_steps}")

        for group in self.optimizer.param_groups:
            start_step = 0.0
            for i, phase in enumerate(self._schedule_phases):
                end_step = phase["end_step"]
                if step_num <= end_step or i == len(self._schedule_phases) - 1:
                    pct = (step_num - start_step) / (end_step - start_step)
                    computed_lr = self._anneal_func(group[phase["start_lr"]],
                                                    group[phase["end_lr"]], pct)
                    if self.cycle_momentum:
                        computed_momentum = self._anneal_func(group[phase["start_momentum"]],
                                                              group[phase["end_momentum"]], pct)
                    break
                start_step = phase["end_step"]
            lrs.append(computed_lr)
            if self.cycle_momentum:
                _set_momentum(group, computed_momentum, self.use_beta1)
        return lrs
