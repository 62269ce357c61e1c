"""``AdamW``: Adam with decoupled weight decay (lesson 15)."""
from __future__ import annotations

from typing import Any

from ..tensor import Tensor
from .adam import Adam
from .optimizer import (_capturable_doc, _differentiable_doc, _foreach_doc, _fused_doc,
                        _maximize_doc, _params_doc)

__all__ = ["AdamW"]


class AdamW(Adam):
    __doc__ = r"""Implements the AdamW algorithm, where weight decay does not accumulate in the
    momentum nor the variance (lesson 15: why decoupled decay differs from an L2 penalty once
    the gradient is divided by sqrt(v)).

    .. code-block:: text

        input: gamma (lr), beta1, beta2 (betas), theta_0 (params), f(theta) (objective),
               epsilon, lambda (weight decay), amsgrad, maximize
        initialize: m_0 <- 0 (first moment), v_0 <- 0 (second moment), v_0^max <- 0
        for t = 1 to ... do
            g_t <- -grad f_t(theta_{t-1})   if maximize   else   grad f_t(theta_{t-1})
            theta_t <- theta_{t-1} - gamma lambda theta_{t-1}
            m_t <- beta1 m_{t-1} + (1 - beta1) g_t
            v_t <- beta2 v_{t-1} + (1 - beta2) g_t^2
            m^_t <- m_t / (1 - beta1^t)
            if amsgrad:
                v_t^max <- max(v_{t-1}^max, v_t)
                v^_t <- v_t^max / (1 - beta2^t)
            else:
                v^_t <- v_t / (1 - beta2^t)
            theta_t <- theta_t - gamma m^_t / (sqrt(v^_t) + epsilon)
        return theta_t

    It is ``Adam(..., decoupled_weight_decay=True)``, as in PyTorch, with a default
    ``weight_decay`` of 1e-2.

    Args:
        """ + _params_doc + r"""
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running
            averages of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay coefficient (default: 1e-2)
        amsgrad (bool, optional): whether to use the AMSGrad variant (default: False)
        """ + _maximize_doc + r"""
        """ + _foreach_doc + r"""
        """ + _capturable_doc + r"""
        """ + _differentiable_doc + r"""
        """ + _fused_doc + r"""

    State per parameter: as ``Adam``'s.
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-3,
                 betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 1e-2, amsgrad: bool = False, *, maximize: bool = False,
                 foreach: bool | None = None, capturable: bool = False,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        super().__init__(params, lr, betas, eps, weight_decay, amsgrad, foreach=foreach,
                         maximize=maximize, capturable=capturable,
                         differentiable=differentiable, fused=fused,
                         decoupled_weight_decay=True)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group["decoupled_weight_decay"] = True
