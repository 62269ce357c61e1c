"""``Adagrad``: a per-coordinate learning rate that shrinks with the sum of squared gradients.

Lesson 14 derives it (and why its effective learning rate only ever shrinks); lesson 15 returns
to it next to the rest of the family.  The update runs in place on whole arrays (NumPy or CuPy,
wherever the parameter lives), exactly as ``torch.optim.Adagrad``'s single-tensor path.
"""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from ._devices import on_each_device
from .optimizer import (Optimizer, _reduced, _blocks, _bump_version, _check_lr, _get_value,
                        _increment_step, _to_scalar, _use_grad_for_differentiable, _writable,
                        _zero_step)

__all__ = ["Adagrad"]


class Adagrad(Optimizer):
    r"""Implements the Adagrad algorithm, as ``torch.optim.Adagrad``.

    ::

        input: gamma (lr), theta_0 (params), f(theta) (objective), lambda (weight decay),
               tau (initial accumulator value), eta (lr decay)
        initialize: state_sum_0 <- tau
        for t = 1 to ... do
            g_t <- grad_theta f_t(theta_{t-1})            (negated when maximize)
            gamma~ <- gamma / (1 + (t - 1) eta)
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            state_sum_t <- state_sum_{t-1} + g_t^2
            theta_t <- theta_{t-1} - gamma~ g_t / (sqrt(state_sum_t) + epsilon)
        return theta_t

    Because ``state_sum`` only grows, every coordinate's effective learning rate
    ``gamma / sqrt(state_sum)`` only shrinks -- good for rare features, fatal for long runs
    (lesson 14; RMSprop is the fix).

    Args:
        params: an iterable of parameters, of ``(name, parameter)`` pairs, or of dicts defining
            parameter groups.
        lr (float or Tensor): learning rate (default: 1e-2).
        lr_decay (float): learning rate decay (default: 0).
        weight_decay (float): weight decay (L2 penalty) (default: 0).
        initial_accumulator_value (float): initial value of the sum of squares of gradients
            (default: 0).
        eps (float): term added to the denominator for numerical stability (default: 1e-10).
        foreach (bool, optional): accepted for PyTorch compatibility; edunn has one
            implementation (in place, in cache-sized blocks), so it changes nothing.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        differentiable (bool): record the step with autograd, so that one can differentiate
            through it; the update then runs with Tensor ops, which is slower (default: False).
        fused (bool, optional): accepted for PyTorch compatibility; changes nothing but where
            ``state["step"]`` lives (on the parameter's device, as PyTorch).

    A sparse gradient (``Embedding(sparse=True)``) updates only the entries it names, after
    summing its duplicates; as in PyTorch it cannot be combined with ``weight_decay``.

    State per parameter (PyTorch's names): ``step`` (a 0-d float tensor) and ``sum``.
    Sparse gradients are not available in edunn yet, so only dense gradients arrive here.
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-2, lr_decay: float = 0,
                 weight_decay: float = 0, initial_accumulator_value: float = 0,
                 eps: float = 1e-10, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if not 0.0 <= lr_decay:
            raise ValueError(f"Invalid lr_decay value: {lr_decay}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= initial_accumulator_value:
            raise ValueError(
                f"Invalid initial_accumulator_value value: {initial_accumulator_value}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        defaults = dict(lr=lr, lr_decay=lr_decay, eps=eps, weight_decay=weight_decay,
                        initial_accumulator_value=initial_accumulator_value, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, fused=fused)
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")
        # Unlike the others, Adagrad creates its state up front (as PyTorch does), so that
        # a state_dict taken before the first step already holds the accumulators.
        for group in self.param_groups:
            for p in group["params"]:
                self._init_state(p, initial_accumulator_value, group["fused"])

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("fused", None)

    def _init_state(self, p: Tensor, init_value: float, fused: bool | None) -> None:
        state = self.state[p]
        state["step"] = _zero_step(p, on_param_device=bool(fused), is_fused=fused)
        xp = backend.array_module(p._data)
        with backend.device_context(p.device):
            state["sum"] = Tensor._make(xp.full_like(p._data, init_value))

    def _init_group(self, group: dict, params_with_grad: list, grads: list, state_sums: list,
                    state_steps: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            if p.grad.is_sparse and group["weight_decay"] != 0:
                raise RuntimeError("weight_decay option is not compatible with sparse gradients")
            if p.grad.is_sparse and group["differentiable"]:
                raise RuntimeError("Adagrad(differentiable=True) needs dense gradients in edunn "
                                   "(its sparse update is written on arrays)")
            params_with_grad.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                # PyTorch reads the constructor's value here, not the group's.
                self._init_state(p, self.defaults["initial_accumulator_value"], group["fused"])
            state_sums.append(state["sum"])
            state_steps.append(state["step"])

    @_use_grad_for_differentiable
    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform a single optimization step.

        Args:
            closure (Callable, optional): a closure that reevaluates the model and returns the
                loss.
        """
        loss = None
        if closure is not None:
            with grad_mode.enable_grad():
                loss = closure()
        for group in self.param_groups:
            params: list[Tensor] = []
            grads: list[Tensor] = []
            state_sums: list[Tensor] = []
            state_steps: list[Tensor] = []
            self._init_group(group, params, grads, state_sums, state_steps)
            adagrad(params, grads, state_sums, state_steps, lr=group["lr"],
                    weight_decay=group["weight_decay"], lr_decay=group["lr_decay"],
                    eps=group["eps"], maximize=group["maximize"],
                    differentiable=group["differentiable"])
        return loss


def adagrad(params: list[Tensor], grads: list[Tensor], state_sums: list[Tensor],
            state_steps: list[Tensor], fused: bool | None = None, grad_scale: Any = None,
            found_inf: Any = None, has_sparse_grad: bool = False, foreach: bool | None = None,
            differentiable: bool = False, has_complex: bool = False, *, lr: float | Tensor,
            weight_decay: float, lr_decay: float, eps: float, maximize: bool) -> None:
    """Functional Adagrad (``torch.optim.adagrad.adagrad``): updates ``params``, ``state_sums``
    and ``state_steps`` in place.  See :class:`Adagrad` for the algorithm."""
    lr = _to_scalar(lr)
    if differentiable or _reduced(params):
        _adagrad_with_autograd(params, grads, state_sums, state_steps, lr=lr,
                               weight_decay=weight_decay, lr_decay=lr_decay, eps=eps,
                               maximize=maximize)
        return
    lr = float(_get_value(lr))
    for param, grad, state_sum, step_t in on_each_device(
            zip(params, grads, state_sums, state_steps)):
        p, s = _writable(param), _writable(state_sum)
        g = None if grad.is_sparse else grad._data
        xp = backend.array_module(p)
        step = _increment_step(step_t)
        clr = lr / (1 + (step - 1) * lr_decay)
        if grad.is_sparse:
            _sparse_adagrad_update(p, grad, s, clr, eps, maximize)
            _bump_version(param, state_sum)
            continue
        for pb, gb, sb, d, t in _blocks(p, g, s, scratch=2):
            # d = g_t = -/+ grad + weight_decay * theta
            if weight_decay != 0:
                xp.multiply(pb, weight_decay, out=d)
                (xp.subtract if maximize else xp.add)(d, gb, out=d)
            elif maximize:
                xp.negative(gb, out=d)
            else:
                d = gb  # read only from here on
            xp.multiply(d, d, out=t)  # state_sum += g_t^2
            xp.add(sb, t, out=sb)
            xp.sqrt(sb, out=t)  # theta -= clr * g_t / (sqrt(state_sum) + eps)
            xp.add(t, eps, out=t)
            xp.divide(d, t, out=t)
            xp.multiply(t, clr, out=t)
            xp.subtract(pb, t, out=pb)
        _bump_version(param, state_sum)


def _sparse_adagrad_update(p: Any, grad: Any, s: Any, clr: float, eps: float,
                           maximize: bool) -> None:
    """PyTorch's sparse Adagrad step, on the entries the (coalesced) gradient names only:
    ``sum[i] += g_i^2;  theta[i] -= clr * g_i / (sqrt(sum[i]) + eps)``."""
    grad = grad.coalesce()  # the update is non-linear, so each entry once
    where = tuple(grad._indices()._data)
    values = grad._values()._data
    if maximize:
        values = -values
    s[where] += values * values
    p[where] -= clr * (values / (backend.array_module(s).sqrt(s[where]) + eps))


def _adagrad_with_autograd(params: list[Tensor], grads: list[Tensor], state_sums: list[Tensor],
                           state_steps: list[Tensor], *, lr: Any, weight_decay: float,
                           lr_decay: float, eps: float, maximize: bool) -> None:
    """The same update written with Tensor ops, so that autograd records it
    (``differentiable=True``); line for line PyTorch's ``_single_tensor_adagrad``."""
    for param, grad, state_sum, step_t in on_each_device(
            zip(params, grads, state_sums, state_steps)):
        step = _increment_step(step_t)
        grad = grad if not maximize else -grad
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        clr = lr / (1 + (step - 1) * lr_decay)
        state_sum.addcmul_(grad, grad, value=1)
        # (edunn's sqrt keeps its input for backward; the clone lets next step's in-place
        # update of state_sum leave this step's graph intact)
        std = state_sum.clone().sqrt() + eps
        if isinstance(clr, Tensor):
            param.sub_(grad / std * clr)
        else:
            param.addcdiv_(grad, std, value=-clr)
