"""``Rprop``: resilient backpropagation -- only the sign of the gradient moves the parameters.

Lesson 15 derives it.  The update runs in place on whole arrays (NumPy or CuPy, wherever the
parameter lives), exactly as ``torch.optim.Rprop``'s single-tensor path.
"""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from ._devices import on_each_device
from .optimizer import (Optimizer, _reduced, _blocks, _bump_version, _check_lr, _get_value,
                        _increment_step, _use_grad_for_differentiable, _writable, _zero_step)

__all__ = ["Rprop"]


class Rprop(Optimizer):
    r"""Implements the resilient backpropagation algorithm, as ``torch.optim.Rprop``.

    ::

        input: theta_0 in R^d (params), f(theta) (objective),
               eta_{+/-} (etaplus, etaminus), Gamma_{max/min} (step sizes)
        initialize: g^0_prev <- 0, eta_0 <- lr (learning rate)
        for t = 1 to ... do
            g_t <- grad_theta f_t(theta_{t-1})            (negated when maximize)
            for i = 0, 1, ..., d - 1 do
                if g^i_prev g^i_t > 0:
                    eta^i_t <- min(eta^i_{t-1} eta_+, Gamma_max)
                else if g^i_prev g^i_t < 0:
                    eta^i_t <- max(eta^i_{t-1} eta_-, Gamma_min)
                    g^i_t <- 0
                else:
                    eta^i_t <- eta^i_{t-1}
            theta_t <- theta_{t-1} - eta_t sign(g_t)
            g_prev <- g_t
        return theta_t

    Each coordinate keeps its own step size: it grows while the gradient keeps its sign and
    shrinks when the sign flips (we stepped over a minimum), and then that coordinate rests for
    one step.  The gradient's size never enters, which is why Rprop suits full-batch training
    and not minibatches.

    Args:
        params: an iterable of parameters, of ``(name, parameter)`` pairs, or of dicts defining
            parameter groups.
        lr (float or Tensor): learning rate, the initial step size (default: 1e-2).
        etas (tuple[float, float]): (etaminus, etaplus), the multiplicative decrease and
            increase factors (default: (0.5, 1.2)).
        step_sizes (tuple[float, float]): minimal and maximal step sizes (default: (1e-6, 50)).
        capturable (bool): accepted for PyTorch compatibility (there is no graph capture
            here); it only keeps the ``step`` counter on the parameter's device, as PyTorch.
        foreach (bool, optional): accepted for PyTorch compatibility; edunn has one
            implementation (in place, in cache-sized blocks), so it changes nothing.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        differentiable (bool): record the step with autograd, so that one can differentiate
            through it; the update then runs with Tensor ops, which is slower (default: False).

    State per parameter (PyTorch's names): ``step``, ``prev`` (the last gradient used) and
    ``step_size``.
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-2,
                 etas: tuple[float, float] = (0.5, 1.2),
                 step_sizes: tuple[float, float] = (1e-6, 50), *, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 < etas[0] < 1.0 < etas[1]:
            raise ValueError(f"Invalid eta values: {etas[0]}, {etas[1]}")
        defaults = dict(lr=lr, etas=etas, step_sizes=step_sizes, foreach=foreach,
                        maximize=maximize, differentiable=differentiable, capturable=capturable)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)

    def _init_group(self, group: dict, params: list, grads: list, prevs: list,
                    step_sizes: list, state_steps: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError("Rprop does not support sparse gradients")
            params.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                xp = backend.array_module(p._data)
                state["step"] = _zero_step(p, on_param_device=group["capturable"])
                state["prev"] = Tensor._make(xp.zeros_like(p._data))
                state["step_size"] = Tensor._make(
                    xp.full_like(p.grad._data, float(_get_value(group["lr"]))))
            prevs.append(state["prev"])
            step_sizes.append(state["step_size"])
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
            prevs: list[Tensor] = []
            step_sizes: list[Tensor] = []
            state_steps: list[Tensor] = []
            self._init_group(group, params, grads, prevs, step_sizes, state_steps)
            etaminus, etaplus = group["etas"]
            step_size_min, step_size_max = group["step_sizes"]
            rprop(params, grads, prevs, step_sizes, state_steps, maximize=group["maximize"],
                  differentiable=group["differentiable"], step_size_min=step_size_min,
                  step_size_max=step_size_max, etaminus=etaminus, etaplus=etaplus)
        return loss


def rprop(params: list[Tensor], grads: list[Tensor], prevs: list[Tensor],
          step_sizes: list[Tensor], state_steps: list[Tensor], foreach: bool | None = None,
          capturable: bool = False, maximize: bool = False, differentiable: bool = False,
          has_complex: bool = False, *, step_size_min: float, step_size_max: float,
          etaminus: float, etaplus: float) -> None:
    """Functional Rprop (``torch.optim.rprop.rprop``): updates ``params`` and the state in
    place.  See :class:`Rprop` for the algorithm."""
    if differentiable or _reduced(params):
        _rprop_with_autograd(params, grads, prevs, step_sizes, state_steps,
                             step_size_min=step_size_min, step_size_max=step_size_max,
                             etaminus=etaminus, etaplus=etaplus, maximize=maximize)
        return
    for param, grad, prev_t, step_size_t, step_t in on_each_device(
            zip(params, grads, prevs, step_sizes, state_steps)):
        p, g = _writable(param), grad._data
        prev, step_size = _writable(prev_t), _writable(step_size_t)
        xp = backend.array_module(p)
        _increment_step(step_t)
        for pb, gb, prevb, sb, factor, d in _blocks(p, g, prev, step_size, scratch=2):
            if maximize:
                xp.negative(gb, out=d)
            else:
                xp.copyto(d, gb)
            xp.multiply(d, prevb, out=factor)
            xp.sign(factor, out=factor)
            flipped = factor < 0  # the sign changed: we stepped over a minimum
            factor[factor > 0] = etaplus
            factor[flipped] = etaminus
            factor[factor == 0] = 1  # (a NaN stays NaN, as in PyTorch)
            xp.multiply(sb, factor, out=sb)  # step_size = clamp(step_size * factor)
            xp.clip(sb, step_size_min, step_size_max, out=sb)
            d[flipped] = 0  # that coordinate rests for one step
            xp.sign(d, out=factor)  # theta -= step_size * sign(g)
            xp.multiply(factor, sb, out=factor)
            xp.subtract(pb, factor, out=pb)
            xp.copyto(prevb, d)
        _bump_version(param, prev_t, step_size_t)


def _rprop_with_autograd(params: list[Tensor], grads: list[Tensor], prevs: list[Tensor],
                         step_sizes: list[Tensor], state_steps: list[Tensor], *,
                         step_size_min: float, step_size_max: float, etaminus: float,
                         etaplus: float, maximize: bool) -> None:
    """The same update written with Tensor ops, so that autograd records it
    (``differentiable=True``); line for line PyTorch's ``_single_tensor_rprop``."""
    from ..ops.indexing import where
    for param, grad, prev, step_size, step_t in on_each_device(
            zip(params, grads, prevs, step_sizes, state_steps)):
        grad = grad if not maximize else -grad
        _increment_step(step_t)
        sign = grad.mul(prev.clone()).sign()
        sign = where(sign.gt(0), etaplus, sign)
        sign = where(sign.lt(0), etaminus, sign)
        sign = where(sign.eq(0), 1.0, sign)
        step_size.mul_(sign).clamp_(step_size_min, step_size_max)
        grad = where(sign.eq(etaminus), 0.0, grad)
        param.addcmul_(grad.sign(), step_size, value=-1)
        prev.copy_(grad)
