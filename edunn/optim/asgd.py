"""``ASGD``: averaged stochastic gradient descent (Polyak-Ruppert averaging).

Lesson 15 derives it.  The update runs in place on whole arrays (NumPy or CuPy, wherever the
parameter lives), exactly as ``torch.optim.ASGD``'s single-tensor path.
"""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from ._devices import on_each_device
from .optimizer import (Optimizer, _reduced, _blocks, _bump_version, _check_lr, _get_scalar_dtype,
                        _get_value, _increment_step, _to_scalar, _use_grad_for_differentiable,
                        _writable)

__all__ = ["ASGD"]


class ASGD(Optimizer):
    r"""Implements Averaged Stochastic Gradient Descent, as ``torch.optim.ASGD``.

    ::

        input: gamma (lr), theta_0 (params), f(theta) (objective), lambda (lambd, decay term),
               alpha (power for eta), t_0 (when averaging starts), w (weight decay)
        initialize: eta_0 <- gamma, mu_0 <- 1, ax_0 <- 0
        for t = 1 to ... do
            g_t <- grad_theta f_t(theta_{t-1})            (negated when maximize)
            if w != 0:  g_t <- g_t + w theta_{t-1}
            theta_t <- (1 - lambda eta_{t-1}) theta_{t-1} - eta_{t-1} g_t
            if mu_{t-1} != 1:  ax_t <- ax_{t-1} + mu_{t-1} (theta_t - ax_{t-1})
            else:              ax_t <- theta_t
            eta_t <- gamma / (1 + lambda gamma t)^alpha
            mu_t  <- 1 / max(1, t - t_0)
        return theta_t  (and the average ax_t, in the state)

    ``ax`` is the running mean of the iterates since step ``t0``; for a noisy gradient it is a
    far better estimate of the minimum than the last iterate (Polyak and Juditsky, 1992).  The
    optimizer leaves the parameters at the last iterate: copy ``state[p]["ax"]`` into them to
    use the average.

    Args:
        params: an iterable of parameters, of ``(name, parameter)`` pairs, or of dicts defining
            parameter groups.
        lr (float or Tensor): learning rate (default: 1e-2).
        lambd (float): decay term (default: 1e-4).
        alpha (float): power for the eta update (default: 0.75).
        t0 (float): point at which to start averaging (default: 1e6).
        weight_decay (float): weight decay (L2 penalty) (default: 0).
        foreach (bool, optional): accepted for PyTorch compatibility; edunn has one
            implementation (in place, in cache-sized blocks), so it changes nothing.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        differentiable (bool): record the step with autograd, so that one can differentiate
            through it; the update then runs with Tensor ops, which is slower (default: False).
        capturable (bool): accepted for PyTorch compatibility (the state lives on the
            parameter's device either way, as in PyTorch).

    State per parameter (PyTorch's names): ``step``, ``eta`` and ``mu`` (0-d tensors on the
    parameter's device) and ``ax`` (the averaged parameter).
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-2, lambd: float = 1e-4,
                 alpha: float = 0.75, t0: float = 1e6, weight_decay: float = 0,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = dict(lr=lr, lambd=lambd, alpha=alpha, t0=t0, weight_decay=weight_decay,
                        foreach=foreach, maximize=maximize, differentiable=differentiable,
                        capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)

    def _init_group(self, group: dict, params_with_grad: list, grads: list, mus: list,
                    axs: list, etas: list, state_steps: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError("ASGD does not support sparse gradients")
            params_with_grad.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                # step, eta and mu are 0-d tensors on the parameter's device, as in PyTorch
                xp = backend.array_module(p._data)
                dt = _get_scalar_dtype().np
                with backend.device_context(p.device):
                    state["step"] = Tensor._make(xp.zeros((), dt))
                    state["eta"] = Tensor._make(xp.asarray(float(_get_value(group["lr"])), dt))
                    state["mu"] = Tensor._make(xp.ones((), dt))
                state["ax"] = Tensor._make(xp.zeros_like(p._data))
            mus.append(state["mu"])
            axs.append(state["ax"])
            etas.append(state["eta"])
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
            mus: list[Tensor] = []
            axs: list[Tensor] = []
            etas: list[Tensor] = []
            state_steps: list[Tensor] = []
            self._init_group(group, params, grads, mus, axs, etas, state_steps)
            asgd(params, grads, axs, mus, etas, state_steps, maximize=group["maximize"],
                 differentiable=group["differentiable"], lambd=group["lambd"], lr=group["lr"],
                 t0=group["t0"], alpha=group["alpha"], weight_decay=group["weight_decay"])
        return loss


def _set_scalar(t: Tensor, value: float) -> None:
    """Write a Python number into a 0-d state tensor in place (the state dict shares it)."""
    _writable(t)[...] = value
    t._version_counter[0] += 1


def asgd(params: list[Tensor], grads: list[Tensor], axs: list[Tensor], mus: list[Tensor],
         etas: list[Tensor], state_steps: list[Tensor], foreach: bool | None = None,
         maximize: bool = False, differentiable: bool = False, capturable: bool = False,
         has_complex: bool = False, *, lambd: float, lr: float | Tensor, t0: float,
         alpha: float, weight_decay: float) -> None:
    """Functional ASGD (``torch.optim.asgd.asgd``): updates ``params`` and the state in place.
    See :class:`ASGD` for the algorithm."""
    lr = float(_get_value(_to_scalar(lr)))
    for param, grad, ax_t, mu_t, eta_t, step_t in on_each_device(
            zip(params, grads, axs, mus, etas, state_steps)):
        guard = backend.device_guard((step_t,))  # a loaded step stays on the device it came from
        if guard is None:
            step = _increment_step(step_t)
        else:
            with guard:
                step = _increment_step(step_t)
        eta = float(eta_t._data)
        mu = float(mu_t._data)
        if differentiable or _reduced((param,)):  # Tensor ops, so that autograd records the update
            g = grad if not maximize else -grad
            if weight_decay != 0:
                g = g.add(param, alpha=weight_decay)
            param.mul_(1 - lambd * eta)
            param.add_(g, alpha=-eta)
            if mu != 1:
                ax_t.add_(param.sub(ax_t).mul_(mu_t))
            else:
                ax_t.copy_(param)
        else:
            p, g, ax = _writable(param), grad._data, _writable(ax_t)
            xp = backend.array_module(p)
            # mu as a 0-d array of ax's dtype, so the product stays in that dtype
            mu_arr = mu_t._data.astype(ax.dtype) if mu_t._data.dtype != ax.dtype else mu_t._data
            for pb, gb, axb, d in _blocks(p, g, ax, scratch=1):
                # d = eta g_t, with g_t = -/+ grad + weight_decay * theta (theta before decay)
                if weight_decay != 0:
                    xp.multiply(pb, weight_decay, out=d)
                    (xp.subtract if maximize else xp.add)(d, gb, out=d)
                    xp.multiply(d, eta, out=d)
                else:
                    xp.multiply(gb, -eta if maximize else eta, out=d)
                xp.multiply(pb, 1 - lambd * eta, out=pb)  # the decay term
                xp.subtract(pb, d, out=pb)  # theta -= eta g_t
                if mu != 1:  # ax += mu (theta - ax)
                    xp.subtract(pb, axb, out=d)
                    xp.multiply(d, mu_arr, out=d)
                    xp.add(axb, d, out=axb)
                else:
                    xp.copyto(axb, pb)
            _bump_version(param, ax_t)
        _set_scalar(eta_t, lr / ((1 + lambd * lr * step) ** alpha))
        _set_scalar(mu_t, 1 / max(1, step - t0))
