"""``SGD``: stochastic gradient descent, with momentum, dampening and Nesterov momentum
(lesson 14)."""
from __future__ import annotations

from typing import Any, Callable

from .. import _kernels, backend
from ..autograd import grad_mode
from ..tensor import Tensor
from . import _fused
from ._devices import on_each_device
from .optimizer import (Optimizer, _blocks, _bump_version, _check_lr, _dense_from_sparse, _reduced,
                        _differentiable_doc,
                        _foreach_doc, _fused_doc, _get_value, _maximize_doc, _params_doc,
                        _to_scalar, _use_grad_for_differentiable, _writable)

__all__ = ["SGD"]


class SGD(Optimizer):
    __doc__ = r"""Implements stochastic gradient descent (optionally with momentum), lesson 14.

    .. code-block:: text

        input: gamma (lr), theta_0 (params), f(theta) (objective), lambda (weight decay),
               mu (momentum), tau (dampening), nesterov, maximize
        for t = 1 to ... do
            g_t <- -grad f_t(theta_{t-1})   if maximize   else   grad f_t(theta_{t-1})
            if lambda != 0:  g_t <- g_t + lambda * theta_{t-1}
            if mu != 0:
                if t > 1:  b_t <- mu * b_{t-1} + (1 - tau) * g_t
                else:      b_t <- g_t
                if nesterov:  g_t <- g_t + mu * b_t
                else:         g_t <- b_t
            theta_t <- theta_{t-1} - gamma * g_t
        return theta_t

    This is PyTorch's form of momentum: ``v <- mu v + g; p <- p - lr v`` (Sutskever et al. and
    some frameworks put ``lr`` inside the velocity instead; the two agree for a constant lr).
    The momentum buffer starts as the first gradient, so dampening applies from step 2 on.
    Lesson 14 derives momentum as "integrate velocity, integrate position" and shows that this
    Nesterov form equals the look-ahead gradient at ``x + mu v``.

    Args:
        """ + _params_doc + r"""
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        momentum (float, optional): momentum factor (default: 0)
        dampening (float, optional): dampening for momentum (default: 0)
        weight_decay (float, optional): weight decay (L2 penalty) (default: 0)
        nesterov (bool, optional): enables Nesterov momentum; needs a momentum and zero
            dampening (default: False)
        """ + _maximize_doc + r"""
        """ + _foreach_doc + r"""
        """ + _differentiable_doc + r"""
        """ + _fused_doc + r"""

    State per parameter (PyTorch's keys): ``"momentum_buffer"`` when ``momentum != 0``.

    A sparse COO gradient (``nn.Embedding(sparse=True)``; ``edunn.sparse``) is used in its dense
    form, which gives the same numbers; the momentum buffer is then dense where PyTorch keeps a
    sparse one.  As in PyTorch, it cannot be combined with ``weight_decay``.

    Example::

        >>> optimizer = edunn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
        >>> optimizer.zero_grad()
        >>> loss_fn(model(input), target).backward()
        >>> optimizer.step()
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-3, momentum: float = 0,
                 dampening: float = 0, weight_decay: float | Tensor = 0, nesterov: bool = False,
                 *, maximize: bool = False, foreach: bool | None = None,
                 differentiable: bool = False, fused: bool | None = None) -> None:
        _check_lr(lr)
        if momentum < 0.0:
            raise ValueError(f"Invalid momentum value: {momentum}")
        if weight_decay < 0.0:
            raise ValueError(f"Invalid weight_decay value: {weight_decay}")
        defaults = {"lr": lr, "momentum": momentum, "dampening": dampening,
                    "weight_decay": weight_decay, "nesterov": nesterov, "maximize": maximize,
                    "foreach": foreach, "differentiable": differentiable, "fused": fused}
        if nesterov and (momentum <= 0 or dampening != 0):
            raise ValueError("Nesterov momentum requires a momentum and zero dampening")
        super().__init__(params, defaults)
        if fused:
            if differentiable:
                raise RuntimeError("`fused` does not support `differentiable`")
            if foreach:
                raise RuntimeError("`fused` and `foreach` cannot be `True` together.")

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("nesterov", False)
            group.setdefault("maximize", False)
            group.setdefault("foreach", None)
            group.setdefault("differentiable", False)
            group.setdefault("fused", False)

    def _init_group(self, group: dict, params: list, grads: list, momentum_buffer_list: list) -> None:
        for p in on_each_device(group["params"]):
            if p.grad is not None:
                params.append(p)
                if getattr(p.grad, "is_sparse", False):
                    if group["weight_decay"] != 0:  # PyTorch's error for a sparse + dense sum
                        raise RuntimeError("add(sparse, dense) is not supported. Use add(dense, "
                                           "sparse) instead.")
                    # p - lr * 0 == p exactly: the dense form moves the same entries
                    grads.append(_dense_from_sparse(p.grad, p))
                else:
                    grads.append(p.grad)
                if group["momentum"] != 0:
                    momentum_buffer_list.append(self.state[p].get("momentum_buffer"))

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
            momentum_buffer_list: list[Tensor | None] = []
            self._init_group(group, params, grads, momentum_buffer_list)
            sgd(params, grads, momentum_buffer_list, weight_decay=group["weight_decay"],
                momentum=group["momentum"], lr=group["lr"], dampening=group["dampening"],
                nesterov=group["nesterov"], maximize=group["maximize"],
                differentiable=group["differentiable"])
            if group["momentum"] != 0:
                for p, momentum_buffer in zip(params, momentum_buffer_list):
                    self.state[p]["momentum_buffer"] = momentum_buffer
        return loss


def sgd(params: list[Tensor], d_p_list: list[Tensor], momentum_buffer_list: list[Tensor | None],
        *, weight_decay: float, momentum: float, lr: float | Tensor, dampening: float,
        nesterov: bool, maximize: bool, differentiable: bool = False) -> None:
    """Functional form of ``SGD``'s update (``torch.optim.sgd.sgd``): updates ``params`` in place
    and fills ``None`` entries of ``momentum_buffer_list`` with new buffers."""
    lr = _to_scalar(lr)
    if differentiable or _reduced(params):
        _sgd_with_autograd(params, d_p_list, momentum_buffer_list, weight_decay=weight_decay,
                           momentum=momentum, lr=lr, dampening=dampening, nesterov=nesterov,
                           maximize=maximize)
        return
    lr, weight_decay = float(_get_value(lr)), float(_get_value(weight_decay))
    for i, param in on_each_device(enumerate(params)):
        p, g = _writable(param), d_p_list[i]._data
        xp = backend.array_module(p)
        buf = momentum_buffer_list[i] if momentum != 0 else None
        first = momentum != 0 and buf is None
        if first:  # the buffer starts as the first (decayed, signed) gradient
            buf = momentum_buffer_list[i] = Tensor._make(xp.empty_like(p))
        arrays = (p, g) if buf is None else (p, g, buf._data)
        if _kernels.fusable(*arrays):   # on a GPU: the lines below as one kernel
            spec = _fused.sgd_kernel(maximize, weight_decay != 0, buf is not None, first,
                                     dampening != 0, nesterov)
            _kernels.launch(spec, (g,), {"weight_decay": weight_decay, "momentum": momentum,
                                       "one_minus_dampening": 1 - dampening, "lr": lr},
                          (p,) + tuple(arrays[2:]))
        else:
            # the second temporary (for the signed, decayed gradient) only when something changes
            # the gradient: each one is a fresh cache-sized array per parameter
            signed = weight_decay != 0 or maximize
            for blk in _blocks(*arrays, scratch=2 if signed else 1):
                pb, gb, t = blk[0], blk[1], blk[-1]
                d = blk[-2] if signed else None
                # d = g_t = -/+ grad + weight_decay * p
                if weight_decay != 0:
                    xp.multiply(pb, weight_decay, out=d)
                    (xp.subtract if maximize else xp.add)(d, gb, out=d)
                elif maximize:
                    xp.negative(gb, out=d)
                else:
                    d = gb  # read only from here on
                if buf is not None:
                    bb = blk[2]
                    if first:
                        xp.copyto(bb, d)
                    else:  # b = mu * b + (1 - dampening) * g_t
                        xp.multiply(bb, momentum, out=bb)
                        if dampening != 0:
                            xp.multiply(d, 1 - dampening, out=t)
                            xp.add(bb, t, out=bb)
                        else:
                            xp.add(bb, d, out=bb)
                    if nesterov:  # g_t = g_t + mu * b
                        xp.multiply(bb, momentum, out=t)
                        xp.add(d, t, out=t)
                        d = t
                    else:
                        d = bb
                xp.multiply(d, lr, out=t)  # p = p - lr * g_t
                xp.subtract(pb, t, out=pb)
        _bump_version(param, None if first else buf)


def _sgd_with_autograd(params: list[Tensor], grads: list[Tensor],
                       momentum_buffer_list: list[Tensor | None], *, weight_decay: Any,
                       momentum: float, lr: Any, dampening: float, nesterov: bool,
                       maximize: bool) -> None:
    """The same update written with Tensor ops, so that autograd records it
    (``differentiable=True``); line for line PyTorch's ``_single_tensor_sgd``."""
    for i, param in on_each_device(enumerate(params)):
        grad = grads[i] if not maximize else -grads[i]
        if weight_decay != 0:
            if isinstance(weight_decay, Tensor) and weight_decay.requires_grad:
                grad = grad.addcmul(param.clone(), weight_decay)
            else:
                grad = grad.add(param, alpha=_get_value(weight_decay))
        if momentum != 0:
            buf = momentum_buffer_list[i]
            if buf is None:
                buf = grad.detach().clone()
                momentum_buffer_list[i] = buf
            else:
                buf.mul_(momentum).add_(grad, alpha=1 - dampening)
            grad = grad.add(buf, alpha=momentum) if nesterov else buf
        if isinstance(lr, Tensor) and lr.requires_grad:
            param.addcmul_(grad, lr, value=-1)
        else:
            param.add_(grad, alpha=-_get_value(lr))
