"""``Adamax``: Adam with the infinity norm in place of the second moment (lesson 15)."""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..ops.creation import zeros_like
from ..tensor import Tensor
from .adam import _check_adam_args, _no_sparse, _step_from_number
from ._devices import on_each_device
from .optimizer import (Optimizer, _reduced, _blocks, _bump_version, _capturable_doc, _differentiable_doc,
                        _foreach_doc, _get_value, _increment_step, _lerp_, _maximize_doc,
                        _params_doc, _signed_grad, _to_scalar, _use_grad_for_differentiable,
                        _writable, _zero_step)

__all__ = ["Adamax"]


class Adamax(Optimizer):
    __doc__ = r"""Implements the Adamax algorithm (a variant of Adam based on the infinity norm),
    lesson 15: let the exponent p of Adam's p-norm average go to infinity and the moving average
    of |g|^p becomes a decaying running maximum.

    .. code-block:: text

        input: gamma (lr), beta1, beta2 (betas), theta_0 (params), f(theta) (objective),
               lambda (weight decay), epsilon, maximize
        initialize: m_0 <- 0 (first moment), u_0 <- 0 (infinity norm)
        for t = 1 to ... do
            g_t <- -grad f_t(theta_{t-1})   if maximize   else   grad f_t(theta_{t-1})
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            m_t <- beta1 m_{t-1} + (1 - beta1) g_t
            u_t <- max(beta2 u_{t-1}, |g_t| + epsilon)
            theta_t <- theta_{t-1} - gamma m_t / ((1 - beta1^t) u_t)
        return theta_t

    Args:
        """ + _params_doc + r"""
        lr (float, Tensor, optional): learning rate (default: 2e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running
            averages of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        """ + _foreach_doc + r"""
        """ + _maximize_doc + r"""
        """ + _differentiable_doc + r"""
        """ + _capturable_doc + r"""

    State per parameter (PyTorch's keys): ``"step"``, ``"exp_avg"``, ``"exp_inf"``.
    """

    def __init__(self, params: Any, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, foreach: bool | None = None, *, maximize: bool = False,
                 differentiable: bool = False, capturable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "foreach": foreach, "maximize": maximize, "differentiable": differentiable,
                    "capturable": capturable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)
            for p in group["params"]:
                _step_from_number(self.state.get(p, {}), p, group["capturable"])

    def _init_group(self, group: dict, params_with_grad: list, grads: list, exp_avgs: list,
                    exp_infs: list, state_steps: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            params_with_grad.append(p)
            _no_sparse(p.grad, "Adamax")
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:  # lazy state initialization
                state["step"] = _zero_step(p, group["capturable"])
                state["exp_avg"] = zeros_like(p)
                state["exp_inf"] = zeros_like(p)
            exp_avgs.append(state["exp_avg"])
            exp_infs.append(state["exp_inf"])
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
            params_with_grad: list[Tensor] = []
            grads: list[Tensor] = []
            exp_avgs: list[Tensor] = []
            exp_infs: list[Tensor] = []
            state_steps: list[Tensor] = []
            beta1, beta2 = group["betas"]
            self._init_group(group, params_with_grad, grads, exp_avgs, exp_infs, state_steps)
            adamax(params_with_grad, grads, exp_avgs, exp_infs, state_steps, eps=group["eps"],
                   beta1=beta1, beta2=beta2, lr=group["lr"],
                   weight_decay=group["weight_decay"], maximize=group["maximize"],
                   differentiable=group["differentiable"])
        return loss


def adamax(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
           exp_infs: list[Tensor], state_steps: list[Tensor], *, eps: float, beta1: float,
           beta2: float, lr: float | Tensor, weight_decay: float, maximize: bool,
           differentiable: bool = False) -> None:
    """Functional form of ``Adamax``'s update (``torch.optim.adamax.adamax``), in place."""
    lr = _to_scalar(lr)
    if differentiable or _reduced(params):
        _adamax_with_autograd(params, grads, exp_avgs, exp_infs, state_steps, eps=eps,
                              beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay,
                              maximize=maximize)
        return
    lr = float(_get_value(lr))
    for i, param in on_each_device(enumerate(params)):
        step = _increment_step(state_steps[i])
        clr = lr / (1 - beta1 ** step)
        p = _writable(param)
        xp = backend.array_module(p)
        for pb, gb, m, u, d, t in _blocks(p, grads[i]._data, exp_avgs[i]._data,
                                          exp_infs[i]._data, scratch=2):
            g = _signed_grad(xp, gb, pb, d, maximize, weight_decay)
            _lerp_(xp, m, g, 1 - beta1, t)   # m = beta1 m + (1 - beta1) g
            xp.multiply(u, beta2, out=u)     # u = max(beta2 u, |g| + eps)
            xp.abs(g, out=t)
            xp.add(t, eps, out=t)
            xp.maximum(u, t, out=u)
            xp.divide(m, u, out=t)           # theta -= lr / (1 - beta1^t) * m / u
            xp.multiply(t, clr, out=t)
            xp.subtract(pb, t, out=pb)
        _bump_version(param, exp_avgs[i], exp_infs[i])


def _adamax_with_autograd(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
                          exp_infs: list[Tensor], state_steps: list[Tensor], *, eps: float,
                          beta1: float, beta2: float, lr: Any, weight_decay: float,
                          maximize: bool) -> None:
    """The update in Tensor ops, recorded by autograd (``differentiable=True``)."""
    for i, param in on_each_device(enumerate(params)):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_inf = exp_avgs[i], exp_infs[i]
        step = _increment_step(state_steps[i])
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        # u = max(beta2 u, |g| + eps), from a scaled copy: backward needs the operands as
        # they were, and copy_ overwrites exp_inf (PyTorch stacks them with cat for the same reason)
        exp_inf.copy_((exp_inf * beta2).maximum(grad.abs().add(eps)))
        clr = lr / (1 - beta1 ** step)
        if isinstance(clr, Tensor):
            param.sub_(exp_avg / exp_inf * clr)
        else:
            param.addcdiv_(exp_avg, exp_inf, value=-clr)
