r"""``edunn.optim.swa_utils``: stochastic weight averaging (lesson 17), as ``torch/optim/swa_utils.py``.

SWA (Izmailov et al., 2018, "Averaging Weights Leads to Wider Optima and Better Generalization")
keeps, next to the model being trained, a running average of the weights visited late in
training.  Its core is one line, the running mean after ``n`` models::

    avg = avg + (p - avg) / (n + 1)

Around it:

* ``AveragedModel`` -- a deepcopy of the model whose parameters hold ``avg``, with an int64
  buffer ``n_averaged`` (``update_parameters(model)`` copies on the first call, then averages;
  ``avg_fn``/``multi_avg_fn`` replace the mean, e.g. by an exponential moving average);
* ``update_bn(loader, model)`` -- the averaged weights never ran forward, so BatchNorm's running
  statistics are those of the *last* model: one pass over the data recomputes them;
* ``SWALR`` -- anneals each group's lr to a constant ``swa_lr`` (cosine or linear).
"""
from __future__ import annotations

import itertools
import math
from copy import deepcopy
from typing import Any, Callable, Iterable, Literal

import edunn
from ..autograd.grad_mode import no_grad
from ..nn.modules.batchnorm import _BatchNorm
from ..nn.modules.module import Module
from ..tensor import Tensor
from .lr_scheduler import LRScheduler, _check_optimizer, _format_param, _warn_get_lr_called_within_step
from .optimizer import Optimizer

__all__ = ["AveragedModel", "update_bn", "SWALR", "get_ema_multi_avg_fn", "get_swa_multi_avg_fn",
           "get_ema_avg_fn", "get_swa_avg_fn"]

def _check_decay(decay: float) -> None:
    if decay < 0.0 or decay > 1.0:
        raise ValueError(f"Invalid decay value {decay} provided. Please provide a value in [0,1] range.")


def get_ema_multi_avg_fn(decay: float = 0.999) -> Callable[[list, list, Any], None]:
    r"""An exponential moving average over lists of tensors, in place::

        W_0^EMA = W_0^model,   W_{t+1}^EMA = decay * W_t^EMA + (1 - decay) * W_{t+1}^model
    """
    _check_decay(decay)

    def ema_update(ema_param_list: list, current_param_list: list, _: Any) -> None:
        with no_grad():
            if ema_param_list[0].is_floating_point() or ema_param_list[0].is_complex():
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.lerp_(p_model, 1 - decay)
            else:
                for p_ema, p_model in zip(ema_param_list, current_param_list):
                    p_ema.copy_(p_ema * decay + p_model * (1 - decay))
    return ema_update


def get_swa_multi_avg_fn() -> Callable[[list, list, Any], None]:
    """The running mean over lists of tensors, in place: ``avg += (p - avg) / (n + 1)``
    (for floating tensors written ``avg.lerp_(p, 1 / (n + 1))``, which is the same)."""

    def swa_update(averaged_param_list: list, current_param_list: list, num_averaged: Any) -> None:
        with no_grad():
            if averaged_param_list[0].is_floating_point() or averaged_param_list[0].is_complex():
                weight = 1 / (num_averaged + 1)
                weight = weight.item() if isinstance(weight, Tensor) else weight
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    p_avg.lerp_(p_model, weight)
            else:
                for p_avg, p_model in zip(averaged_param_list, current_param_list):
                    diff = p_model - p_avg
                    if isinstance(num_averaged, Tensor):
                        p_avg.addcdiv_(diff, num_averaged + 1)
                    else:
                        p_avg.add_(diff, alpha=1.0 / (num_averaged + 1))
    return swa_update


def get_ema_avg_fn(decay: float = 0.999) -> Callable[[Tensor, Tensor, Any], Tensor]:
    """One tensor's exponential moving average: ``decay * ema + (1 - decay) * p``."""
    _check_decay(decay)

    def ema_update(ema_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return decay * ema_param + (1 - decay) * current_param
    return ema_update


def get_swa_avg_fn() -> Callable[[Tensor, Tensor, Any], Tensor]:
    """One tensor's running mean: ``avg + (p - avg) / (n + 1)`` -- SWA's one line."""

    def swa_update(averaged_param: Tensor, current_param: Tensor, num_averaged: Any) -> Tensor:
        with no_grad():
            return averaged_param + (current_param - averaged_param) / (num_averaged + 1)
    return swa_update


class AveragedModel(Module):
    r"""A copy of ``model`` whose parameters are the average of the models passed to
    ``update_parameters`` (SWA), or their exponential moving average (EMA).

    After ``n`` models the default is the running mean; each new model ``p`` moves it by::

        avg = avg + (p - avg) / (n + 1)        # n = n_averaged, the models averaged so far

    which equals ``(p_1 + ... + p_{n+1}) / (n + 1)`` without storing them.  The first call copies
    the model (``n_averaged`` 0 -> 1).

    Args:
        model: the module to average; it is deep-copied (and moved to ``device`` if given).
        device: where the averaged copy lives (a GPU model can be averaged on the CPU).
        avg_fn: ``avg_fn(averaged_param, model_param, num_averaged) -> new averaged_param``,
            one tensor at a time (``get_ema_avg_fn(decay)``).
        multi_avg_fn: ``multi_avg_fn(averaged_params, model_params, num_averaged)``, updating the
            lists in place (``get_ema_multi_avg_fn(decay)``).  At most one of the two.
        use_buffers: average the buffers too (BatchNorm's running statistics), instead of copying
            the model's latest buffers; then ``update_bn`` is not needed.

    ``forward`` calls the averaged copy.  ``avg_fn``/``multi_avg_fn`` are not in ``state_dict``;
    ``n_averaged`` is.  Lesson 17 derives the running mean and trains an SWA model on digits.
    """

    n_averaged: Tensor

    def __init__(self, model: Module, device: Any = None,
                 avg_fn: Callable[[Tensor, Tensor, Any], Tensor] | None = None,
                 multi_avg_fn: Callable[[list, list, Any], None] | None = None,
                 use_buffers: bool = False) -> None:
        super().__init__()
        if avg_fn is not None and multi_avg_fn is not None:
            raise AssertionError("Only one of avg_fn and multi_avg_fn should be provided")
        if not isinstance(model, Module):
            raise TypeError(f"AveragedModel expects an edunn.nn.Module, but got {type(model).__name__}")
        self.module = deepcopy(model)
        if device is not None:
            self.module = self.module.to(device)
        self.register_buffer("n_averaged", edunn.tensor(0, dtype=edunn.long, device=device))
        self.avg_fn = avg_fn
        self.multi_avg_fn = multi_avg_fn
        self.use_buffers = use_buffers

    def forward(self, *args: Any, **kwargs: Any) -> Any:
        return self.module(*args, **kwargs)

    def update_parameters(self, model: Module) -> None:
        """Fold ``model``'s current parameters (and buffers, if ``use_buffers``) into the average."""
        if self.use_buffers:
            self_param = list(itertools.chain(self.module.parameters(), self.module.buffers()))
            model_param = list(itertools.chain(model.parameters(), model.buffers()))
        else:
            self_param = list(self.parameters())
            model_param = list(model.parameters())
        if len(self_param) != len(model_param):
            raise ValueError(f"update_parameters: the model has {len(model_param)} tensors to average, "
                             f"but the averaged model has {len(self_param)}; pass the model it was built from")
        n = self.n_averaged
        with no_grad():
            averaged = [p.detach() for p in self_param]
            current = [p.detach().to(a.device) for p, a in zip(model_param, averaged)]
            if int(n.item()) == 0:
                for a, p in zip(averaged, current):
                    a.copy_(p)
            elif self.avg_fn is not None:
                for a, p in zip(averaged, current):
                    a.copy_(self.avg_fn(a, p, n.to(a.device)))
            else:
                # multi_avg_fn works on lists of one dtype and device, as PyTorch's groups
                groups: dict = {}
                for a, p in zip(averaged, current):
                    groups.setdefault((str(a.device), str(a.dtype)), ([], []))
                    groups[(str(a.device), str(a.dtype))][0].append(a)
                    groups[(str(a.device), str(a.dtype))][1].append(p)
                swa = get_swa_avg_fn()
                for avg_list, cur_list in groups.values():
                    n_dev = n.to(avg_list[0].device)
                    if self.multi_avg_fn is not None:
                        self.multi_avg_fn(avg_list, cur_list, n_dev)
                    else:
                        for a, p in zip(avg_list, cur_list):
                            a.copy_(swa(a, p, n_dev))  # avg + (p - avg) / (n + 1)
            if not self.use_buffers:
                # the buffers (BatchNorm statistics) are the latest model's, not averaged
                for b_swa, b_model in zip(self.module.buffers(), model.buffers()):
                    b_swa.detach().copy_(b_model.detach().to(b_swa.device))
            self.n_averaged += 1


def update_bn(loader: Iterable[Any], model: Module, device: Any = None) -> None:
    r"""Recompute the running statistics of every BatchNorm in ``model`` with one pass over
    ``loader``.

    Each ``_BatchNorm`` is reset (running_mean 0, running_var 1, num_batches_tracked 0) and its
    ``momentum`` set to ``None``, so its running statistics become the *cumulative* average of
    the batch statistics, ``running = running + (batch_stat - running) / num_batches_tracked``
    (SWA's running mean again); momenta and train/eval mode are restored afterwards.  A batch may
    be a tensor or a list/tuple whose first element is the input.  A model without BatchNorm is
    left untouched.  Lesson 17 shows why the averaged weights need this.
    """
    momenta: dict = {}
    for module in model.modules():
        if isinstance(module, _BatchNorm):
            module.reset_running_stats()
            momenta[module] = module.momentum
    if not momenta:
        return
    was_training = model.training
    model.train()
    for module in momenta:
        module.momentum = None
    with no_grad():
        for input in loader:
            if isinstance(input, (list, tuple)):
                input = input[0]
            if device is not None:
                input = input.to(device)
            model(input)
    for bn_module in momenta:
        bn_module.momentum = momenta[bn_module]
    model.train(was_training)


class SWALR(LRScheduler):
    r"""Anneals each group's learning rate from its current value to ``swa_lr`` in
    ``anneal_epochs`` steps, then holds it there (the constant SWA learning rate).

    With ``t = min(1, step / max(1, anneal_epochs))`` (``step`` = calls to ``step()`` since
    construction) and ``alpha = (1 - cos(pi t)) / 2`` ("cos") or ``alpha = t`` ("linear")::

        lr_t = alpha_t * swa_lr + (1 - alpha_t) * lr_0

    computed, as PyTorch does, in chainable form: ``lr_0`` is recovered from the current
    ``group["lr"]`` and the previous ``alpha``, ``lr_0 = (lr - alpha_prev * swa_lr) / (1 - alpha_prev)``,
    so SWALR can take over from another scheduler mid-run.

    Args:
        optimizer: the wrapped optimizer.
        swa_lr: the final learning rate, one for all groups or a list with one per group
            (stored as ``group["swa_lr"]``).
        anneal_epochs: steps of the annealing phase (an int >= 0; default 10).
        anneal_strategy: ``"cos"`` (default) or ``"linear"``.
        last_epoch: the index of the last epoch (default -1, a new schedule).

    Lesson 17 runs it after a cosine schedule and before ``update_bn``.
    """

    def __init__(self, optimizer: Optimizer, swa_lr: float | list[float], anneal_epochs: int = 10,
                 anneal_strategy: Literal["cos", "linear"] = "cos", last_epoch: int = -1) -> None:
        _check_optimizer(optimizer)
        swa_lrs = _format_param("swa_lr", optimizer, swa_lr)
        for lr, group in zip(swa_lrs, optimizer.param_groups):
            group["swa_lr"] = lr
        if anneal_strategy not in ["cos", "linear"]:
            raise ValueError(f"anneal_strategy must be one of 'cos' or 'linear', instead got {anneal_strategy}")
        self._set_anneal_func(anneal_strategy)
        if not isinstance(anneal_epochs, int) or isinstance(anneal_epochs, bool) or anneal_epochs < 0:
            raise ValueError(f"anneal_epochs must be equal or greater than 0, got {anneal_epochs}")
        self.anneal_epochs = anneal_epochs
        super().__init__(optimizer, last_epoch)

    @staticmethod
    def _linear_anneal(t: float) -> float:
        return t

    @staticmethod
    def _cosine_anneal(t: float) -> float:
        return (1 - math.cos(math.pi * t)) / 2

    @staticmethod
    def _get_initial_lr(lr: Any, swa_lr: Any, alpha: float) -> Any:
        if alpha == 1:
            return swa_lr
        return (lr - alpha * swa_lr) / (1 - alpha)

    def get_lr(self) -> list[Any]:
        """The next lr of each group (``step()`` calls it; read the current one with
        ``get_last_lr()``)."""
        _warn_get_lr_called_within_step(self)
        step = self._step_count - 1
        if self.anneal_epochs == 0:
            step = max(1, step)
        prev_t = max(0, min(1, (step - 1) / max(1, self.anneal_epochs)))
        prev_alpha = self.anneal_func(prev_t)
        prev_lrs = [self._get_initial_lr(group["lr"], group["swa_lr"], prev_alpha)
                    for group in self.optimizer.param_groups]
        t = max(0, min(1, step / max(1, self.anneal_epochs)))
        alpha = self.anneal_func(t)
        return [group["swa_lr"] * alpha + lr * (1 - alpha)
                for group, lr in zip(self.optimizer.param_groups, prev_lrs)]

    def _set_anneal_func(self, anneal_strategy: str) -> None:
        self._anneal_strategy = anneal_strategy
        self.anneal_func = self._cosine_anneal if anneal_strategy == "cos" else self._linear_anneal

    def state_dict(self) -> dict[str, Any]:
        """Every field but the optimizer and the anneal function (rebuilt from its name on load)."""
        return {key: value for key, value in self.__dict__.items() if key not in ("optimizer", "anneal_func")}

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        self.__dict__.update(state_dict)
        self._set_anneal_func(self._anneal_strategy)
