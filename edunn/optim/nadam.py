"""``NAdam``: Adam with Nesterov momentum (lesson 15)."""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..ops.creation import zeros_like
from ..tensor import Tensor
from .adam import _check_adam_args, _no_sparse, _step_from_number
from ._devices import on_each_device
from .optimizer import (Optimizer, _adam_moments, _blocks, _bump_version, _capturable_doc,
                        _differentiable_doc, _foreach_doc, _get_value, _increment_step,
                        _maximize_doc, _params_doc, _to_scalar, _use_grad_for_differentiable,
                        _writable, _zero_step)

__all__ = ["NAdam"]


class NAdam(Optimizer):
    __doc__ = r"""Implements the NAdam algorithm (Dozat, "Incorporating Nesterov Momentum into
    Adam"), lesson 15: the step uses the momentum of the *next* step, as Nesterov's look-ahead
    does, with a momentum coefficient mu_t that warms up over the first steps.

    .. code-block:: text

        input: gamma_t (lr), beta1, beta2 (betas), theta_0 (params), f(theta) (objective),
               lambda (weight decay), psi (momentum decay), decoupled_weight_decay, maximize
        initialize: m_0 <- 0 (first moment), v_0 <- 0 (second moment)
        for t = 1 to ... do
            g_t <- -grad f_t(theta_{t-1})   if maximize   else   grad f_t(theta_{t-1})
            theta_t <- theta_{t-1}
            if lambda != 0:
                if decoupled_weight_decay:  theta_t <- theta_{t-1} - gamma lambda theta_{t-1}
                else:                       g_t <- g_t + lambda theta_{t-1}
            mu_t <- beta1 (1 - 1/2 * 0.96^(t psi))
            mu_{t+1} <- beta1 (1 - 1/2 * 0.96^((t+1) psi))
            m_t <- beta1 m_{t-1} + (1 - beta1) g_t
            v_t <- beta2 v_{t-1} + (1 - beta2) g_t^2
            m^_t <- mu_{t+1} m_t / (1 - prod_{i=1}^{t+1} mu_i)
                    + (1 - mu_t) g_t / (1 - prod_{i=1}^{t} mu_i)
            v^_t <- v_t / (1 - beta2^t)
            theta_t <- theta_t - gamma m^_t / (sqrt(v^_t) + epsilon)
        return theta_t

    The running product of the mu_i is kept in the state as ``"mu_product"`` (a 0-dim float32
    tensor, multiplied in float32 as in PyTorch).

    Args:
        """ + _params_doc + r"""
        lr (float, Tensor, optional): learning rate (default: 2e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running
            averages of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        momentum_decay (float, optional): momentum decay psi (default: 4e-3)
        decoupled_weight_decay (bool, optional): whether to decouple the weight decay as in
            AdamW to obtain NAdamW (default: False)
        """ + _foreach_doc + r"""
        """ + _maximize_doc + r"""
        """ + _capturable_doc + r"""
        """ + _differentiable_doc + r"""

    State per parameter (PyTorch's keys): ``"step"``, ``"mu_product"``, ``"exp_avg"``,
    ``"exp_avg_sq"``.
    """

    def __init__(self, params: Any, lr: float | Tensor = 2e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, momentum_decay: float = 4e-3,
                 decoupled_weight_decay: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False,
                 differentiable: bool = False) -> None:
        _check_adam_args(lr, betas, eps, weight_decay)
        if not 0.0 <= momentum_decay:
            raise ValueError(f"Invalid momentum_decay value: {momentum_decay}")
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "momentum_decay": momentum_decay,
                    "decoupled_weight_decay": decoupled_weight_decay, "maximize": maximize,
                    "foreach": foreach, "capturable": capturable, "differentiable": differentiable}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            for p in group["params"]:
                p_state = self.state.get(p, {})
                _step_from_number(p_state, p, group["capturable"])
                if len(p_state) != 0 and not isinstance(p_state["mu_product"], Tensor):
                    mu_product = _zero_step(p, group["capturable"])
                    mu_product._data += float(p_state["mu_product"])
                    p_state["mu_product"] = mu_product

    def _init_group(self, group: dict, params_with_grad: list, grads: list, exp_avgs: list,
                    exp_avg_sqs: list, mu_products: list, state_steps: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            params_with_grad.append(p)
            _no_sparse(p.grad, "NAdam")
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:  # lazy state initialization
                state["step"] = _zero_step(p, group["capturable"])
                state["mu_product"] = _zero_step(p, group["capturable"])
                state["mu_product"]._data += 1.0  # the empty product
                state["exp_avg"] = zeros_like(p)
                state["exp_avg_sq"] = zeros_like(p)
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            mu_products.append(state["mu_product"])
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
            mu_products: list[Tensor] = []
            state_steps: list[Tensor] = []
            beta1, beta2 = group["betas"]
            self._init_group(group, params_with_grad, grads, exp_avgs, exp_avg_sqs, mu_products,
                             state_steps)
            nadam(params_with_grad, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps,
                  beta1=beta1, beta2=beta2, lr=group["lr"], weight_decay=group["weight_decay"],
                  momentum_decay=group["momentum_decay"], eps=group["eps"],
                  maximize=group["maximize"],
                  decoupled_weight_decay=group["decoupled_weight_decay"],
                  differentiable=group["differentiable"])
        return loss


def _multiply_scalar_(t: Tensor, factor: float) -> None:
    """``t *= factor`` for a 0-dim state tensor, in its own dtype (float32 rounding)."""
    data = _writable(t)
    data *= factor
    t._version_counter[0] += 1


def nadam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
          exp_avg_sqs: list[Tensor], mu_products: list[Tensor], state_steps: list[Tensor], *,
          beta1: float, beta2: float, lr: float | Tensor, weight_decay: float,
          momentum_decay: float, eps: float, decoupled_weight_decay: bool = False,
          maximize: bool = False, differentiable: bool = False) -> None:
    """Functional form of ``NAdam``'s update (``torch.optim.nadam.nadam``), in place."""
    lr = _to_scalar(lr)
    if differentiable:
        _nadam_with_autograd(params, grads, exp_avgs, exp_avg_sqs, mu_products, state_steps,
                             beta1=beta1, beta2=beta2, lr=lr, weight_decay=weight_decay,
                             momentum_decay=momentum_decay, eps=eps,
                             decoupled_weight_decay=decoupled_weight_decay, maximize=maximize)
        return
    lr = float(_get_value(lr))
    for i, param in on_each_device(enumerate(params)):
        step = _increment_step(state_steps[i])
        bias_correction2 = 1 - beta2 ** step
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        _multiply_scalar_(mu_products[i], mu)
        mu_product = float(_get_value(mu_products[i]))
        grad_coef = -lr * (1.0 - mu) / (1.0 - mu_product)
        avg_coef = (-lr * mu_next) / (1.0 - mu_product * mu_next)
        p = _writable(param)
        xp = backend.array_module(p)
        for pb, gb, m, v, d, t in _blocks(p, grads[i]._data, exp_avgs[i]._data,
                                          exp_avg_sqs[i]._data, scratch=2):
            g = _adam_moments(xp, pb, gb, m, v, d, t, beta1=beta1, beta2=beta2, lr=lr,
                              weight_decay=weight_decay, decoupled=decoupled_weight_decay,
                              maximize=maximize)
            xp.divide(v, bias_correction2, out=t)      # denom = sqrt(v / bc2) + eps
            xp.sqrt(t, out=t)
            xp.add(t, eps, out=t)
            xp.divide(g, t, out=d)                     # theta += grad_coef * g / denom
            xp.multiply(d, grad_coef, out=d)
            xp.add(pb, d, out=pb)
            xp.divide(m, t, out=t)                     # theta += avg_coef * m / denom
            xp.multiply(t, avg_coef, out=t)
            xp.add(pb, t, out=pb)
        _bump_version(param, exp_avgs[i], exp_avg_sqs[i])


def _nadam_with_autograd(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
                         exp_avg_sqs: list[Tensor], mu_products: list[Tensor],
                         state_steps: list[Tensor], *, beta1: float, beta2: float, lr: Any,
                         weight_decay: float, momentum_decay: float, eps: float,
                         decoupled_weight_decay: bool, maximize: bool) -> None:
    """The update in Tensor ops, recorded by autograd (``differentiable=True``): PyTorch's
    ``_single_tensor_nadam`` in its differentiable branch."""
    for i, param in on_each_device(enumerate(params)):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq, mu_product = exp_avgs[i], exp_avg_sqs[i], mu_products[i]
        step = _increment_step(state_steps[i])
        bias_correction2 = 1 - beta2 ** step
        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        mu = beta1 * (1.0 - 0.5 * (0.96 ** (step * momentum_decay)))
        mu_next = beta1 * (1.0 - 0.5 * (0.96 ** ((step + 1) * momentum_decay)))
        _multiply_scalar_(mu_product, mu)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        denom = exp_avg_sq.div(bias_correction2).sqrt().add(eps)
        mu_product_next = mu_product * mu_next
        grad = grad * (-lr * (1.0 - mu) / (1.0 - mu_product))
        exp_avg = exp_avg * (-lr * mu_next / (1.0 - mu_product_next))
        param.addcdiv_(grad, denom)
        param.addcdiv_(exp_avg, denom)
