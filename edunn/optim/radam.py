"""``RAdam``: Adam with its adaptive learning rate switched on only once the variance of that
rate is tractable (lesson 15)."""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..ops.creation import zeros_like
from ..tensor import Tensor
from .adam import _check_adam_args, _no_sparse, _step_from_number
from ._devices import on_each_device
from .optimizer import (Optimizer, _reduced, _adam_moments, _blocks, _bump_version, _capturable_doc,
                        _differentiable_doc, _foreach_doc, _get_value, _increment_step,
                        _maximize_doc, _params_doc, _to_scalar, _use_grad_for_differentiable,
                        _writable, _zero_step)

__all__ = ["RAdam"]


class RAdam(Optimizer):
    __doc__ = r"""Implements the RAdam algorithm (Liu et al., "On the Variance of the Adaptive
    Learning Rate and Beyond"), lesson 15: in the first steps the estimate of v has so few
    samples that the adaptive rate 1/sqrt(v) has a huge variance; RAdam measures the length of
    the approximated simple moving average, rho_t, and uses plain momentum SGD until rho_t > 5,
    then Adam's step scaled by a rectification term r_t.

    .. code-block:: text

        input: gamma (lr), beta1, beta2 (betas), theta_0 (params), f(theta) (objective),
               lambda (weight decay), decoupled_weight_decay, maximize
        initialize: m_0 <- 0 (first moment), v_0 <- 0 (second moment),
                    rho_inf <- 2 / (1 - beta2) - 1
        for t = 1 to ... do
            g_t <- -grad f_t(theta_{t-1})   if maximize   else   grad f_t(theta_{t-1})
            theta_t <- theta_{t-1}
            if lambda != 0:
                if decoupled_weight_decay:  theta_t <- theta_t - gamma lambda theta_t
                else:                       g_t <- g_t + lambda theta_t
            m_t <- beta1 m_{t-1} + (1 - beta1) g_t
            v_t <- beta2 v_{t-1} + (1 - beta2) g_t^2
            m^_t <- m_t / (1 - beta1^t)
            rho_t <- rho_inf - 2 t beta2^t / (1 - beta2^t)
            if rho_t > 5:
                l_t <- sqrt(1 - beta2^t) / (sqrt(v_t) + epsilon)
                r_t <- sqrt((rho_t - 4)(rho_t - 2) rho_inf / ((rho_inf - 4)(rho_inf - 2) rho_t))
                theta_t <- theta_t - gamma m^_t r_t l_t
            else:
                theta_t <- theta_t - gamma m^_t
        return theta_t

    Args:
        """ + _params_doc + r"""
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running
            averages of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        decoupled_weight_decay (bool, optional): whether to decouple the weight decay as in
            AdamW to obtain RAdamW (default: False)
        """ + _foreach_doc + r"""
        """ + _maximize_doc + r"""
        """ + _capturable_doc + r"""
        """ + _differentiable_doc + r"""

    State per parameter (PyTorch's keys): ``"step"``, ``"exp_avg"``, ``"exp_avg_sq"``.
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, decoupled_weight_decay: bool = False, *,
                 foreach: bool | None = None, maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "maximize": maximize, "foreach": foreach, "capturable": capturable,
                    "decoupled_weight_decay": decoupled_weight_decay,
                    "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("capturable", False)
            for p in group["params"]:
                _step_from_number(self.state.get(p, {}), p, group["capturable"])

    def _init_group(self, group: dict, params_with_grad: list, grads: list, exp_avgs: list,
                    exp_avg_sqs: list, state_steps: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            params_with_grad.append(p)
            _no_sparse(p.grad, "RAdam")
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:  # lazy state initialization
                state["step"] = _zero_step(p, group["capturable"])
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
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
            exp_avg_sqs: list[Tensor] = []
            state_steps: list[Tensor] = []
            beta1, beta2 = group["betas"]
            self._init_group(group, params_with_grad, grads, exp_avgs, exp_avg_sqs, state_steps)
            radam(params_with_grad, grads, exp_avgs, exp_avg_sqs, state_steps, beta1=beta1,
                  beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                  eps=group["eps"], maximize=group["maximize"],
                  decoupled_weight_decay=group["decoupled_weight_decay"],
                  differentiable=group["differentiable"])
        return loss


def _rectification(rho_t: float, rho_inf: float) -> float:
    """r_t, the factor that scales the variance of the adaptive rate to its limit's."""
    return ((rho_t - 4) * (rho_t - 2) * rho_inf / ((rho_inf - 4) * (rho_inf - 2) * rho_t)) ** 0.5


def radam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
          exp_avg_sqs: list[Tensor], state_steps: list[Tensor], *, beta1: float, beta2: float,
          lr: float | Tensor, weight_decay: float, eps: float,
          decoupled_weight_decay: bool = False, maximize: bool = False,
          differentiable: bool = False) -> None:
    """Functional form of ``RAdam``'s update (``torch.optim.radam.radam``), in place."""
    lr = _to_scalar(lr)
    if differentiable or _reduced(params):
        _radam_with_autograd(params, grads, exp_avgs, exp_avg_sqs, state_steps, beta1=beta1,
                             beta2=beta2, lr=lr, weight_decay=weight_decay, eps=eps,
                             decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        return
    lr = float(_get_value(lr))
    rho_inf = 2 / (1 - beta2) - 1
    for i, param in on_each_device(enumerate(params)):
        step = _increment_step(state_steps[i])
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        p = _writable(param)
        xp = backend.array_module(p)
        for pb, gb, m, v, d, t in _blocks(p, grads[i]._data, exp_avgs[i]._data,
                                          exp_avg_sqs[i]._data, scratch=2):
            _adam_moments(xp, pb, gb, m, v, d, t, beta1=beta1, beta2=beta2, lr=lr,
                          weight_decay=weight_decay, decoupled=decoupled_weight_decay,
                          maximize=maximize)
            xp.divide(m, bias_correction1, out=d)      # step = m^ * lr (* l_t * r_t)
            xp.multiply(d, lr, out=d)
            if rho_t > 5.0:                            # the variance is tractable: adapt
                xp.sqrt(v, out=t)                      # l_t = sqrt(bc2) / (sqrt(v) + eps)
                xp.add(t, eps, out=t)
                xp.divide(bias_correction2 ** 0.5, t, out=t)
                xp.multiply(d, t, out=d)
                xp.multiply(d, _rectification(rho_t, rho_inf), out=d)
            xp.subtract(pb, d, out=pb)
        _bump_version(param, exp_avgs[i], exp_avg_sqs[i])


def _radam_with_autograd(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
                         exp_avg_sqs: list[Tensor], state_steps: list[Tensor], *, beta1: float,
                         beta2: float, lr: Any, weight_decay: float, eps: float,
                         decoupled_weight_decay: bool, maximize: bool) -> None:
    """The update in Tensor ops, recorded by autograd (``differentiable=True``)."""
    rho_inf = 2 / (1 - beta2) - 1
    for i, param in on_each_device(enumerate(params)):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq = exp_avgs[i], exp_avg_sqs[i]
        step = _increment_step(state_steps[i])
        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        bias_corrected_exp_avg = exp_avg / bias_correction1
        rho_t = rho_inf - 2 * step * (beta2 ** step) / bias_correction2
        if rho_t > 5.0:
            adaptive_lr = (bias_correction2 ** 0.5) / exp_avg_sq.sqrt().add(eps)
            param.add_(bias_corrected_exp_avg * lr * adaptive_lr * _rectification(rho_t, rho_inf),
                       alpha=-1.0)
        else:
            param.add_(bias_corrected_exp_avg * lr, alpha=-1.0)
