"""``Adadelta``: RMSprop whose step carries its own units, so that it needs no learning rate.

Lesson 15 derives it.  The update runs in place on whole arrays (NumPy or CuPy, wherever the
parameter lives), exactly as ``torch.optim.Adadelta``'s single-tensor path.
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

__all__ = ["Adadelta"]


class Adadelta(Optimizer):
    r"""Implements the Adadelta algorithm, as ``torch.optim.Adadelta``.

    ::

        input: gamma (lr), theta_0 (params), f(theta) (objective), rho (decay),
               lambda (weight decay)
        initialize: v_0 <- 0 (square avg), u_0 <- 0 (accumulated updates)
        for t = 1 to ... do
            g_t <- grad_theta f_t(theta_{t-1})            (negated when maximize)
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            v_t <- rho v_{t-1} + (1 - rho) g_t^2
            Delta x_t <- sqrt(u_{t-1} + epsilon) / sqrt(v_t + epsilon) * g_t
            u_t <- rho u_{t-1} + (1 - rho) Delta x_t^2
            theta_t <- theta_{t-1} - gamma Delta x_t
        return theta_t

    The ratio of two root-mean-squares has the units of the parameter, which is Zeiler's
    argument for dropping the learning rate (``lr`` stays, default 1, as a plain scale).

    Args:
        params: an iterable of parameters, of ``(name, parameter)`` pairs, or of dicts defining
            parameter groups.
        lr (float or Tensor): coefficient that scales delta before it is applied (default: 1.0).
        rho (float): coefficient of the running averages (default: 0.9).
        eps (float): term added inside the square roots (default: 1e-6).
        weight_decay (float): weight decay (L2 penalty) (default: 0).
        foreach (bool, optional): accepted for PyTorch compatibility; edunn has one
            implementation (in place, in cache-sized blocks), so it changes nothing.
        capturable (bool): accepted for PyTorch compatibility (there is no graph capture
            here); it only keeps the ``step`` counter on the parameter's device, as PyTorch.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        differentiable (bool): record the step with autograd, so that one can differentiate
            through it; the update then runs with Tensor ops, which is slower (default: False).

    State per parameter (PyTorch's names): ``step``, ``square_avg`` (v) and ``acc_delta`` (u).
    """

    def __init__(self, params: Any, lr: float | Tensor = 1.0, rho: float = 0.9,
                 eps: float = 1e-6, weight_decay: float = 0, foreach: bool | None = None, *,
                 capturable: bool = False, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= rho <= 1.0:
            raise ValueError(f"Invalid rho value: {rho}")
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize,
                        capturable=capturable, foreach=foreach, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)

    def _init_group(self, group: dict, params_with_grad: list, grads: list, square_avgs: list,
                    acc_deltas: list, state_steps: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError("Adadelta does not support sparse gradients")
            params_with_grad.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                state["step"] = _zero_step(p, on_param_device=group["capturable"])
                xp = backend.array_module(p._data)
                state["square_avg"] = Tensor._make(xp.zeros_like(p._data))
                state["acc_delta"] = Tensor._make(xp.zeros_like(p._data))
            square_avgs.append(state["square_avg"])
            acc_deltas.append(state["acc_delta"])
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
            square_avgs: list[Tensor] = []
            acc_deltas: list[Tensor] = []
            state_steps: list[Tensor] = []
            self._init_group(group, params, grads, square_avgs, acc_deltas, state_steps)
            adadelta(params, grads, square_avgs, acc_deltas, state_steps, lr=group["lr"],
                     rho=group["rho"], eps=group["eps"], weight_decay=group["weight_decay"],
                     maximize=group["maximize"], differentiable=group["differentiable"])
        return loss


def adadelta(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor],
             acc_deltas: list[Tensor], state_steps: list[Tensor], capturable: bool = False,
             foreach: bool | None = None, differentiable: bool = False,
             has_complex: bool = False, *, lr: float | Tensor, rho: float, eps: float,
             weight_decay: float, maximize: bool) -> None:
    """Functional Adadelta (``torch.optim.adadelta.adadelta``): updates ``params`` and the
    state in place.  See :class:`Adadelta` for the algorithm."""
    lr = _to_scalar(lr)
    if differentiable or _reduced(params):
        _adadelta_with_autograd(params, grads, square_avgs, acc_deltas, state_steps, lr=lr,
                                rho=rho, eps=eps, weight_decay=weight_decay, maximize=maximize)
        return
    lr = float(_get_value(lr))
    for param, grad, square_avg, acc_delta, step_t in on_each_device(
            zip(params, grads, square_avgs, acc_deltas, state_steps)):
        p, g = _writable(param), grad._data
        v, u = _writable(square_avg), _writable(acc_delta)
        xp = backend.array_module(p)
        _increment_step(step_t)
        for pb, gb, vb, ub, d, t, delta in _blocks(p, g, v, u, scratch=3):
            # d = g_t = -/+ grad + weight_decay * theta
            if weight_decay != 0:
                xp.multiply(pb, weight_decay, out=d)
                (xp.subtract if maximize else xp.add)(d, gb, out=d)
            elif maximize:
                xp.negative(gb, out=d)
            else:
                d = gb  # read only from here on
            xp.multiply(vb, rho, out=vb)  # v = rho v + (1 - rho) g_t^2
            xp.multiply(d, d, out=t)
            xp.multiply(t, 1 - rho, out=t)
            xp.add(vb, t, out=vb)
            xp.add(vb, eps, out=t)  # delta = sqrt(u + eps) / sqrt(v + eps) * g_t
            xp.sqrt(t, out=t)
            xp.add(ub, eps, out=delta)
            xp.sqrt(delta, out=delta)
            xp.divide(delta, t, out=delta)
            xp.multiply(delta, d, out=delta)
            xp.multiply(ub, rho, out=ub)  # u = rho u + (1 - rho) delta^2
            xp.multiply(delta, delta, out=t)
            xp.multiply(t, 1 - rho, out=t)
            xp.add(ub, t, out=ub)
            xp.multiply(delta, lr, out=delta)  # theta -= lr delta
            xp.subtract(pb, delta, out=pb)
        _bump_version(param, square_avg, acc_delta)


def _adadelta_with_autograd(params: list[Tensor], grads: list[Tensor],
                            square_avgs: list[Tensor], acc_deltas: list[Tensor],
                            state_steps: list[Tensor], *, lr: Any, rho: float, eps: float,
                            weight_decay: float, maximize: bool) -> None:
    """The same update written with Tensor ops, so that autograd records it
    (``differentiable=True``); line for line PyTorch's ``_single_tensor_adadelta``."""
    for param, grad, square_avg, acc_delta, step_t in on_each_device(
            zip(params, grads, square_avgs, acc_deltas, state_steps)):
        _increment_step(step_t)
        grad = grad if not maximize else -grad
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        square_avg.mul_(rho).addcmul_(grad, grad, value=1 - rho)
        std = square_avg.add(eps).sqrt_()
        delta = acc_delta.add(eps).sqrt_().clone()
        delta.div_(std).mul_(grad)
        acc_delta.mul_(rho).addcmul_(delta, delta, value=1 - rho)
        if isinstance(lr, Tensor):
            param.sub_(delta * lr)
        else:
            param.add_(delta, alpha=-lr)
