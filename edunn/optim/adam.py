"""``Adam``: RMSprop with momentum and bias correction (lesson 14); with
``decoupled_weight_decay=True`` it is ``AdamW`` (lesson 15)."""
from __future__ import annotations

from typing import Any, Callable

from .. import _kernels, backend
from ..autograd import grad_mode
from ..ops.complex import view_as_real
from ..ops.creation import zeros_like
from ..tensor import Tensor
from . import _fused
from ._devices import on_each_device
from .optimizer import (Optimizer, _adam_moments, _blocks, _bump_version, _capturable_doc,
                        _check_lr, _differentiable_doc, _foreach_doc, _fused_doc, _get_value,
                        _increment_step, _maximize_doc, _params_doc, _to_scalar,
                        _use_grad_for_differentiable, _writable, _zero_step)

__all__ = ["Adam"]


def _check_adam_args(lr: Any, betas: Any, eps: float, weight_decay: float) -> None:
    """The argument checks the Adam family shares, with PyTorch's messages."""
    _check_lr(lr)
    if not 0.0 <= eps:
        raise ValueError(f"Invalid epsilon value: {eps}")
    if not 0.0 <= betas[0] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 0: {betas[0]}")
    if not 0.0 <= betas[1] < 1.0:
        raise ValueError(f"Invalid beta parameter at index 1: {betas[1]}")
    if not 0.0 <= weight_decay:
        raise ValueError(f"Invalid weight_decay value: {weight_decay}")


def _step_from_number(state: dict, param: Tensor, on_param_device: bool) -> None:
    """An old checkpoint may hold ``"step"`` as a Python number: make it the 0-dim tensor."""
    if len(state) != 0 and not isinstance(state["step"], Tensor):
        step = _zero_step(param, on_param_device)
        step._data += float(state["step"])
        state["step"] = step


def _no_sparse(grad: Tensor, name: str) -> None:
    if getattr(grad, "is_sparse", False):
        raise RuntimeError(f"{name} does not support sparse gradients" +
                           (", please consider SparseAdam instead" if name == "Adam" else ""))


class Adam(Optimizer):
    __doc__ = r"""Implements the Adam algorithm (lesson 14: RMSprop plus momentum, then the bias
    correction that undoes the zero start of both averages).

    .. code-block:: text

        input: gamma (lr), beta1, beta2 (betas), theta_0 (params), f(theta) (objective),
               lambda (weight decay), amsgrad, maximize, epsilon
        initialize: m_0 <- 0 (first moment), v_0 <- 0 (second moment), v_0^max <- 0
        for t = 1 to ... do
            g_t <- -grad f_t(theta_{t-1})   if maximize   else   grad f_t(theta_{t-1})
            if lambda != 0:
                if decoupled_weight_decay:  theta_{t-1} <- theta_{t-1} - gamma lambda theta_{t-1}
                else:                       g_t <- g_t + lambda theta_{t-1}
            m_t <- beta1 m_{t-1} + (1 - beta1) g_t
            v_t <- beta2 v_{t-1} + (1 - beta2) g_t^2
            m^_t <- m_t / (1 - beta1^t)
            if amsgrad:
                v_t^max <- max(v_{t-1}^max, v_t)
                v^_t <- v_t^max / (1 - beta2^t)
            else:
                v^_t <- v_t / (1 - beta2^t)
            theta_t <- theta_{t-1} - gamma m^_t / (sqrt(v^_t) + epsilon)
        return theta_t

    (Computed as PyTorch does: ``denom = sqrt(v) / sqrt(1 - beta2^t) + eps`` and
    ``theta -= gamma / (1 - beta1^t) * m / denom``.)

    Args:
        """ + _params_doc + r"""
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running
            averages of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        weight_decay (float, optional): weight decay coefficient (default: 0)
        amsgrad (bool, optional): whether to use the AMSGrad variant, "On the Convergence of
            Adam and Beyond" (default: False)
        """ + _foreach_doc + r"""
        """ + _maximize_doc + r"""
        """ + _capturable_doc + r"""
        """ + _differentiable_doc + r"""
        """ + _fused_doc + r"""
        decoupled_weight_decay (bool, optional): if True, this optimizer is equivalent to
            AdamW and the algorithm will not accumulate weight decay in the momentum nor
            variance (default: False)

    State per parameter (PyTorch's keys): ``"step"`` (0-dim float32 tensor), ``"exp_avg"``,
    ``"exp_avg_sq"`` and, with ``amsgrad``, ``"max_exp_avg_sq"``.
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-3,
                 betas: tuple[float | Tensor, float | Tensor] = (0.9, 0.999), eps: float = 1e-8,
                 weight_decay: float = 0, amsgrad: bool = False, *, foreach: bool | None = None,
                 maximize: bool = False, capturable: bool = False, differentiable: bool = False,
                 fused: bool | None = None, decoupled_weight_decay: bool = False) -> None:
        if isinstance(lr, Tensor) and foreach and not capturable:
            raise ValueError("lr as a Tensor is not supported for capturable=False and foreach=True")
        _check_adam_args(lr, betas, eps, weight_decay)
        if not ((isinstance(betas[0], float) and isinstance(betas[1], float))
                or (isinstance(betas[0], Tensor) and isinstance(betas[1], Tensor))):
            raise ValueError("betas must be either both floats or both Tensors")
        for i in (0, 1):
            if isinstance(betas[i], Tensor):
                if not capturable and foreach:
                    raise ValueError(f"betas[{i}] as a Tensor is not supported for "
                                     "capturable=False and foreach=True")
                if betas[i].numel() != 1:
                    raise ValueError(f"Tensor betas[{i}] must be 1-element")
        betas = tuple(map(_to_scalar, betas))
        defaults = {"lr": lr, "betas": betas, "eps": eps, "weight_decay": weight_decay,
                    "amsgrad": amsgrad, "maximize": maximize, "foreach": foreach,
                    "capturable": capturable, "differentiable": differentiable, "fused": fused,
                    "decoupled_weight_decay": decoupled_weight_decay}
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("amsgrad", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("capturable", False)
            group.setdefault("differentiable", False)
            group.setdefault("decoupled_weight_decay", False)
            group.setdefault("fused", None)
            for p in group["params"]:
                _step_from_number(self.state.get(p, {}), p, group["capturable"] or bool(group["fused"]))

    def _init_group(self, group: dict, params_with_grad: list, grads: list, exp_avgs: list,
                    exp_avg_sqs: list, max_exp_avg_sqs: list, state_steps: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            params_with_grad.append(p)
            _no_sparse(p.grad, "Adam")
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:  # lazy state initialization
                # "step" lives on the CPU unless capturable/fused ask for the param's device
                state["step"] = _zero_step(p, group["capturable"] or bool(group["fused"]),
                                           group["fused"])
                state["exp_avg"] = zeros_like(p)     # m: moving average of gradients
                state["exp_avg_sq"] = zeros_like(p)  # v: moving average of squared gradients
                if group["amsgrad"]:
                    state["max_exp_avg_sq"] = zeros_like(p)  # max of all v so far
            exp_avgs.append(state["exp_avg"])
            exp_avg_sqs.append(state["exp_avg_sq"])
            if group["amsgrad"]:
                max_exp_avg_sqs.append(state["max_exp_avg_sq"])
            if group["differentiable"] and state["step"].requires_grad:
                raise RuntimeError("`requires_grad` is not supported for `step` in differentiable mode")
            if group["foreach"] and isinstance(group["lr"], Tensor) and not group["capturable"]:
                raise RuntimeError("lr as a Tensor is not supported for capturable=False and "
                                   "foreach=True")
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
            max_exp_avg_sqs: list[Tensor] = []
            state_steps: list[Tensor] = []
            beta1, beta2 = group["betas"]
            self._init_group(group, params_with_grad, grads, exp_avgs, exp_avg_sqs,
                             max_exp_avg_sqs, state_steps)
            adam(params_with_grad, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,
                 amsgrad=group["amsgrad"], beta1=beta1, beta2=beta2, lr=group["lr"],
                 weight_decay=group["weight_decay"], eps=group["eps"],
                 maximize=group["maximize"], differentiable=group["differentiable"],
                 decoupled_weight_decay=group["decoupled_weight_decay"])
        return loss


def adam(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
         exp_avg_sqs: list[Tensor], max_exp_avg_sqs: list[Tensor], state_steps: list[Tensor], *,
         amsgrad: bool, beta1: float | Tensor, beta2: float | Tensor, lr: float | Tensor,
         weight_decay: float, eps: float, maximize: bool, differentiable: bool = False,
         decoupled_weight_decay: bool = False) -> None:
    """Functional form of ``Adam``'s update (``torch.optim.adam.adam``), in place."""
    if differentiable:
        _adam_with_autograd(params, grads, exp_avgs, exp_avg_sqs, max_exp_avg_sqs, state_steps,
                            amsgrad=amsgrad, beta1=_to_scalar(beta1), beta2=_to_scalar(beta2),
                            lr=_to_scalar(lr), weight_decay=weight_decay, eps=eps,
                            maximize=maximize, decoupled_weight_decay=decoupled_weight_decay)
        return
    lr, beta1, beta2 = float(_get_value(lr)), float(_get_value(beta1)), float(_get_value(beta2))
    for i, param in on_each_device(enumerate(params)):
        step = _increment_step(state_steps[i])
        bias_correction1 = 1 - beta1 ** step
        bias_correction2_sqrt = (1 - beta2 ** step) ** 0.5
        step_size = lr / bias_correction1
        p = _writable(param)
        xp = backend.array_module(p)
        arrays = [p, grads[i]._data, exp_avgs[i]._data, exp_avg_sqs[i]._data]
        if amsgrad:
            arrays.append(max_exp_avg_sqs[i]._data)
        for arrays in (_complex_parts(arrays) if p.dtype.kind == "c" else (arrays,)):
            if _kernels.fusable(*arrays):  # on a GPU: the lines below as one kernel
                w = 1 - beta1
                spec = _fused.adam_kernel(maximize, weight_decay != 0, decoupled_weight_decay,
                                          amsgrad, abs(w) < 0.5)
                _kernels.launch(spec, (arrays[1],), {
                    "weight_decay": weight_decay, "decay": 1 - lr * weight_decay, "weight": w,
                    "one_minus_weight": 1 - w, "beta2": beta2, "one_minus_beta2": 1 - beta2,
                    "bias_correction2_sqrt": bias_correction2_sqrt, "eps": eps,
                    "step_size": step_size},
                    (arrays[0],) + tuple(arrays[2:]))
            else:
                for blk in _blocks(*arrays, scratch=2):
                    pb, gb, m, v = blk[:4]
                    d, t = blk[-2:]
                    _adam_moments(xp, pb, gb, m, v, d, t, beta1=beta1, beta2=beta2, lr=lr,
                                  weight_decay=weight_decay, decoupled=decoupled_weight_decay,
                                  maximize=maximize)
                    if amsgrad:
                        xp.maximum(blk[4], v, out=blk[4])       # v_max = max(v_max, v)
                    xp.sqrt(blk[4] if amsgrad else v, out=t)    # denom = sqrt(v) / sqrt(bc2) + eps
                    xp.divide(t, bias_correction2_sqrt, out=t)
                    xp.add(t, eps, out=t)
                    xp.divide(m, t, out=t)                      # theta -= lr / bc1 * m / denom
                    xp.multiply(t, step_size, out=t)
                    xp.subtract(pb, t, out=pb)
        _bump_version(param, exp_avgs[i], exp_avg_sqs[i], max_exp_avg_sqs[i] if amsgrad else None)


def _complex_parts(arrays: list) -> tuple:
    """PyTorch updates a complex parameter as (real, imaginary) pairs (``view_as_real``), so each
    moment is kept per part: ``v`` averages ``Re(g)^2`` and ``Im(g)^2`` separately (not
    ``|g|^2``) and each part gets its own step size.  We run the real update twice, on the real
    parts and then on the imaginary parts; ``.real``/``.imag`` are views, so the writes land in
    the complex arrays (and the state stays complex, as PyTorch's)."""
    return [a.real for a in arrays], [a.imag for a in arrays]


def _adam_with_autograd(params: list[Tensor], grads: list[Tensor], exp_avgs: list[Tensor],
                        exp_avg_sqs: list[Tensor], max_exp_avg_sqs: list[Tensor],
                        state_steps: list[Tensor], *, amsgrad: bool, beta1: Any, beta2: Any,
                        lr: Any, weight_decay: float, eps: float, maximize: bool,
                        decoupled_weight_decay: bool) -> None:
    """The update in Tensor ops, recorded by autograd (``differentiable=True``): PyTorch's
    ``_single_tensor_adam`` in its differentiable branch."""
    for i, param in on_each_device(enumerate(params)):
        grad = grads[i] if not maximize else -grads[i]
        exp_avg, exp_avg_sq, step_t = exp_avgs[i], exp_avg_sqs[i], state_steps[i]
        if param.is_complex():  # PyTorch: the update of the (real, imag) pairs, as above
            grad, exp_avg, exp_avg_sq = map(view_as_real, (grad, exp_avg, exp_avg_sq))
            if amsgrad:
                max_exp_avg_sqs[i] = view_as_real(max_exp_avg_sqs[i])
            param = view_as_real(param)
        _increment_step(step_t)
        if weight_decay != 0:
            if decoupled_weight_decay:
                param.mul_(1 - lr * weight_decay)
            else:
                grad = grad.add(param, alpha=weight_decay)
        exp_avg.lerp_(grad, 1 - beta1)
        exp_avg_sq.mul_(beta2).addcmul_(grad, grad, value=1 - beta2)
        step = step_t
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr / bias_correction1
        step_size_neg = step_size.neg()
        bias_correction2_sqrt = bias_correction2.sqrt()
        if amsgrad:
            max_exp_avg_sq = max_exp_avg_sqs[i].clone()
            max_exp_avg_sqs[i].copy_(max_exp_avg_sq.maximum(exp_avg_sq))
            denom = (max_exp_avg_sqs[i].sqrt() / (bias_correction2_sqrt * step_size_neg)).add_(
                eps / step_size_neg)
        else:
            denom = (exp_avg_sq.sqrt() / (bias_correction2_sqrt * step_size_neg)).add_(
                eps / step_size_neg)
        param.addcdiv_(exp_avg.clone(), denom)

