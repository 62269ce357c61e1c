"""``RMSprop``: Adagrad with a moving average instead of a sum, so the step size stops shrinking.

Lesson 14 derives it as the fix for Adagrad; lesson 15 adds the centered and momentum forms.
The update runs in place on whole arrays (NumPy or CuPy, wherever the parameter lives),
exactly as ``torch.optim.RMSprop``'s single-tensor path.
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

__all__ = ["RMSprop"]


class RMSprop(Optimizer):
    r"""Implements the RMSprop algorithm, as ``torch.optim.RMSprop``.

    ::

        input: alpha (alpha), gamma (lr), theta_0 (params), f(theta) (objective),
               lambda (weight decay), mu (momentum), centered, epsilon
        initialize: v_0 <- 0 (square average), b_0 <- 0 (buffer), g^ave_0 <- 0
        for t = 1 to ... do
            g_t <- grad_theta f_t(theta_{t-1})            (negated when maximize)
            if lambda != 0:  g_t <- g_t + lambda theta_{t-1}
            v_t <- alpha v_{t-1} + (1 - alpha) g_t^2
            v~_t <- v_t
            if centered:
                g^ave_t <- alpha g^ave_{t-1} + (1 - alpha) g_t
                v~_t <- v~_t - (g^ave_t)^2
            if mu > 0:
                b_t <- mu b_{t-1} + g_t / (sqrt(v~_t) + epsilon)
                theta_t <- theta_{t-1} - gamma b_t
            else:
                theta_t <- theta_{t-1} - gamma g_t / (sqrt(v~_t) + epsilon)
        return theta_t

    As in PyTorch, epsilon is added after the square root (TensorFlow adds it inside).  The
    centered form divides by an estimate of the gradient's variance instead of its second
    moment (Graves, 2013).

    Args:
        params: an iterable of parameters, of ``(name, parameter)`` pairs, or of dicts defining
            parameter groups.
        lr (float or Tensor): learning rate (default: 1e-2).
        alpha (float): smoothing constant (default: 0.99).
        eps (float): term added to the denominator (default: 1e-8).
        weight_decay (float): weight decay (L2 penalty) (default: 0).
        momentum (float): momentum factor (default: 0).
        centered (bool): normalise by the estimated variance of the gradient (default: False).
        capturable (bool): accepted for PyTorch compatibility (there is no graph capture
            here); it only keeps the ``step`` counter on the parameter's device, as PyTorch.
        foreach (bool, optional): accepted for PyTorch compatibility; edunn has one
            implementation (in place, in cache-sized blocks), so it changes nothing.
        maximize (bool): maximize the objective instead of minimizing it (default: False).
        differentiable (bool): record the step with autograd, so that one can differentiate
            through it; the update then runs with Tensor ops, which is slower (default: False).

    State per parameter (PyTorch's names): ``step``, ``square_avg``, ``momentum_buffer`` (when
    momentum > 0) and ``grad_avg`` (when centered).
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-2, alpha: float = 0.99,
                 eps: float = 1e-8, weight_decay: float = 0, momentum: float = 0,
                 centered: bool = False, capturable: bool = False,
                 foreach: bool | None = None, maximize: bool = False,
                 differentiable: bool = False) -> None:
        _check_lr(lr)
        if not 0.0 <= eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        if not 0.0 <= momentum:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        if not 0.0 <= alpha:
            raise ValueError(f"Invalid alpha value: {alpha}")
        defaults = dict(lr=lr, momentum=momentum, alpha=alpha, eps=eps, centered=centered,
                        weight_decay=weight_decay, capturable=capturable, foreach=foreach,
                        maximize=maximize, differentiable=differentiable)
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("momentum", 0)
            group.setdefault("centered", False)
            group.setdefault("foreach", None)
            group.setdefault("maximize", False)
            group.setdefault("differentiable", False)
            group.setdefault("capturable", False)

    def _init_group(self, group: dict, params_with_grad: list, grads: list, square_avgs: list,
                    momentum_buffer_list: list, grad_avgs: list, state_steps: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError("RMSprop does not support sparse gradients")
            params_with_grad.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:
                xp = backend.array_module(p._data)
                state["step"] = _zero_step(p, on_param_device=group["capturable"])
                state["square_avg"] = Tensor._make(xp.zeros_like(p._data))
                if group["momentum"] > 0:
                    state["momentum_buffer"] = Tensor._make(xp.zeros_like(p._data))
                if group["centered"]:
                    state["grad_avg"] = Tensor._make(xp.zeros_like(p._data))
            square_avgs.append(state["square_avg"])
            state_steps.append(state["step"])
            if group["momentum"] > 0:
                momentum_buffer_list.append(state["momentum_buffer"])
            if group["centered"]:
                grad_avgs.append(state["grad_avg"])

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
            grad_avgs: list[Tensor] = []
            momentum_buffer_list: list[Tensor] = []
            state_steps: list[Tensor] = []
            self._init_group(group, params, grads, square_avgs, momentum_buffer_list, grad_avgs,
                             state_steps)
            rmsprop(params, grads, square_avgs, grad_avgs, momentum_buffer_list, state_steps,
                    maximize=group["maximize"], differentiable=group["differentiable"],
                    lr=group["lr"], alpha=group["alpha"], eps=group["eps"],
                    weight_decay=group["weight_decay"], momentum=group["momentum"],
                    centered=group["centered"])
        return loss


def rmsprop(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor],
            grad_avgs: list[Tensor], momentum_buffer_list: list[Tensor],
            state_steps: list[Tensor], foreach: bool | None = None, maximize: bool = False,
            differentiable: bool = False, capturable: bool = False, has_complex: bool = False,
            *, lr: float | Tensor, alpha: float, eps: float, weight_decay: float,
            momentum: float, centered: bool) -> None:
    """Functional RMSprop (``torch.optim.rmsprop.rmsprop``): updates ``params`` and the state
    in place.  See :class:`RMSprop` for the algorithm."""
    lr = _to_scalar(lr)
    if differentiable or _reduced(params):
        _rmsprop_with_autograd(params, grads, square_avgs, grad_avgs, momentum_buffer_list,
                               state_steps, lr=lr, alpha=alpha, eps=eps,
                               weight_decay=weight_decay, momentum=momentum, centered=centered,
                               maximize=maximize)
        return
    lr = float(_get_value(lr))
    for i, param in on_each_device(enumerate(params)):
        p, g, v = _writable(param), grads[i]._data, _writable(square_avgs[i])
        xp = backend.array_module(p)
        _increment_step(state_steps[i])
        arrays = [p, g, v]
        if centered:
            arrays.append(_writable(grad_avgs[i]))
        if momentum > 0:
            arrays.append(_writable(momentum_buffer_list[i]))
        for blk in _blocks(*arrays, scratch=2):
            pb, gb, vb, d, t = blk[0], blk[1], blk[2], blk[-2], blk[-1]
            # d = g_t = -/+ grad + weight_decay * theta
            if weight_decay != 0:
                xp.multiply(pb, weight_decay, out=d)
                (xp.subtract if maximize else xp.add)(d, gb, out=d)
            elif maximize:
                xp.negative(gb, out=d)
            else:
                d = gb  # read only from here on
            xp.multiply(vb, alpha, out=vb)  # v = alpha v + (1 - alpha) g_t^2
            xp.multiply(d, d, out=t)
            xp.multiply(t, 1 - alpha, out=t)
            xp.add(vb, t, out=vb)
            if centered:  # g_ave = lerp(g_ave, g_t, 1 - alpha);  avg = sqrt(v - g_ave^2)
                ab = blk[3]
                _lerp_(ab, d, 1 - alpha, t, xp)
                xp.multiply(ab, ab, out=t)
                xp.subtract(vb, t, out=t)
                xp.sqrt(t, out=t)
            else:
                xp.sqrt(vb, out=t)
            xp.add(t, eps, out=t)
            xp.divide(d, t, out=t)  # g_t / (sqrt(v~) + eps)
            if momentum > 0:  # b = mu b + g_t / (sqrt(v~) + eps);  theta -= lr b
                bb = blk[-3]
                xp.multiply(bb, momentum, out=bb)
                xp.add(bb, t, out=bb)
                xp.multiply(bb, lr, out=t)
            else:  # theta -= lr g_t / (sqrt(v~) + eps)
                xp.multiply(t, lr, out=t)
            xp.subtract(pb, t, out=pb)
        _bump_version(param, square_avgs[i], grad_avgs[i] if centered else None,
                      momentum_buffer_list[i] if momentum > 0 else None)


def _lerp_(start: Any, end: Any, weight: float, scratch: Any, xp: Any) -> None:
    """``start <- start + weight (end - start)`` in place, with PyTorch's two formulas (the
    second, for weights of 0.5 and more, is exact at weight 1)."""
    xp.subtract(end, start, out=scratch)
    if abs(weight) < 0.5:
        xp.multiply(scratch, weight, out=scratch)
        xp.add(start, scratch, out=start)
    else:
        xp.multiply(scratch, 1 - weight, out=scratch)
        xp.subtract(end, scratch, out=start)


def _rmsprop_with_autograd(params: list[Tensor], grads: list[Tensor], square_avgs: list[Tensor],
                           grad_avgs: list[Tensor], momentum_buffer_list: list[Tensor],
                           state_steps: list[Tensor], *, lr: Any, alpha: float, eps: float,
                           weight_decay: float, momentum: float, centered: bool,
                           maximize: bool) -> None:
    """The same update written with Tensor ops, so that autograd records it
    (``differentiable=True``); line for line PyTorch's ``_single_tensor_rmsprop``."""
    for i, param in on_each_device(enumerate(params)):
        grad = grads[i] if not maximize else -grads[i]
        square_avg = square_avgs[i]
        _increment_step(state_steps[i])
        if weight_decay != 0:
            grad = grad.add(param, alpha=weight_decay)
        square_avg.mul_(alpha).addcmul_(grad, grad, value=1 - alpha)
        if centered:
            grad_avg = grad_avgs[i]
            grad_avg.lerp_(grad, 1 - alpha)
            avg = square_avg.addcmul(grad_avg, grad_avg, value=-1).sqrt_()
        else:
            avg = square_avg.clone().sqrt()  # (sqrt keeps its input: see _adagrad_with_autograd)
        avg = avg.add(eps)
        if momentum > 0:
            buf = momentum_buffer_list[i]
            buf.mul_(momentum).addcdiv_(grad, avg)
            if isinstance(lr, Tensor):
                param.sub_(buf * lr)
            else:
                param.add_(buf, alpha=-lr)
        elif isinstance(lr, Tensor):
            param.sub_(grad / avg * lr)
        else:
            param.addcdiv_(grad, avg, value=-lr)
