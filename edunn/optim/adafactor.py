"""``Adafactor``: Adam's second moment in factored form, for memory (lesson 15).

Adam keeps one running average of squared gradients per weight -- as much memory as the model.
Adafactor (Shazeer & Stern, 2018) keeps, for a matrix of shape ``(n, m)``, only the running mean
of each *row* of squared gradients (``n`` numbers) and of each *column* (``m`` numbers), and
rebuilds the whole second-moment matrix as their outer product divided by the overall mean --
the best rank-one approximation in the sense of the paper.  Tensors with more than two dims are
factored over their last two (a ``(B, n, m)`` weight keeps ``(B, n, 1)`` and ``(B, 1, m)``);
vectors keep a full ``variance``.  The step size is *relative*: the update has RMS about
``rho_t = min(lr, 1/sqrt(t))`` times the RMS of the weights, and is clipped to RMS ``d``.

This follows ``torch/optim/_adafactor.py`` (its single-tensor path; ``foreach`` changes nothing
here): the same state keys (``"step"``, ``"row_var"``, ``"col_var"``, ``"variance"``), messages and
order of operations, so a PyTorch checkpoint loads and continues identically.
"""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from ._devices import on_each_device
from .optimizer import (Optimizer, _bump_version, _foreach_doc, _get_value, _increment_step,
                        _lerp_, _maximize_doc, _params_doc, _writable, _zero_step)

__all__ = ["Adafactor"]


class Adafactor(Optimizer):
    __doc__ = r"""Implements the Adafactor algorithm (lesson 15: Adam's second moment, factored).

    .. code-block:: text

        input: gamma (lr), tau (beta2_decay), theta_0 (params), f(theta) (objective),
               epsilon_1, epsilon_2 (eps), d (clipping threshold), lambda (weight decay),
               maximize
        initialize: R_0 <- 0 (second moment row factor), C_0 <- 0 (column factor),
                    V_0 <- 0 (second moment of vectors)
        for t = 1 to ... do
            G_t <- -grad f_t(theta_{t-1})   if maximize   else   grad f_t(theta_{t-1})
            beta2_t <- 1 - t^tau
            rho_t <- min(gamma, 1 / sqrt(t))
            alpha_t <- max(epsilon_2, RMS(theta_{t-1})) rho_t
            theta_t <- theta_{t-1} - gamma lambda theta_{t-1}
            if dim(G_t) > 1:
                R_t <- beta2_t R_{t-1} + (1 - beta2_t) mean_{last dim}(G_t * G_t)
                C_t <- beta2_t C_{t-1} + (1 - beta2_t) mean_{dim -2}(G_t * G_t)
                V_t <- (R_t C_t) / max(mean(R_t), epsilon_1)       (outer product)
            else:
                V_t <- beta2_t V_{t-1} + (1 - beta2_t) (G_t * G_t)
            U_t <- G_t / max(sqrt(V_t), epsilon_1)
            U^_t <- U_t / max(1, RMS(U_t) / d)
            theta_t <- theta_t - alpha_t U^_t
        return theta_t

    As in PyTorch (and unlike the paper), ``lr`` is the cap of the relative step size ``rho_t``
    and the factor of the decoupled weight decay, ``epsilon_1`` is applied to the rebuilt
    variance and the update rather than to the squared gradients, and the factors hold *means*
    of squared gradients (not sums).  ``epsilon_1=None`` means the machine epsilon of the
    parameter's dtype.

    Args:
        """ + _params_doc + r"""
        lr (float, Tensor, optional): the maximum relative step size rho_t and the weight
            decay factor (default: 1e-2)
        beta2_decay (float, optional): tau; the running averages use beta2_t = 1 - t^tau
            (default: -0.8)
        eps (Tuple[float | None, float], optional): epsilon_1, which keeps the denominator away
            from zero (None: the dtype's machine epsilon), and epsilon_2, the smallest RMS of
            the parameter used to scale the step (default: (None, 1e-3))
        d (float, optional): the clipping threshold of the update's RMS (default: 1.0)
        weight_decay (float, optional): weight decay coefficient (default: 0.0)
        """ + _foreach_doc + r"""
        """ + _maximize_doc + r"""

    State per parameter (PyTorch's keys): ``"step"`` (0-dim float32 tensor) and, for a
    parameter with two or more dims, ``"row_var"`` (its shape with the last dim 1) and
    ``"col_var"`` (the dim -2 made 1); for a vector or a scalar ``"variance"``.
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-2, beta2_decay: float = -0.8,
                 eps: tuple[float | None, float] = (None, 1e-3), d: float = 1.0,
                 weight_decay: float = 0.0, *, foreach: bool | None = None,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 >= beta2_decay:
            raise ValueError(f"beta2_decay should be <= 0 but is: {beta2_decay}")
        if eps[0] is not None and not 0.0 <= eps[0]:
            raise ValueError(f"epsilon1 should be >= 0 but is: {eps[0]}")
        if not 0.0 <= eps[1]:
            raise ValueError(f"epsilon2 should be >= 0 but is: {eps[1]}")
        if not 1.0 <= d:
            raise ValueError(f"Clipping threshold d should be >= 1 but is: {d}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight_decay should be >= 0 but is: {weight_decay}")
        defaults = {"lr": lr, "beta2_decay": beta2_decay, "eps": eps, "d": d,
                    "weight_decay": weight_decay, "foreach": foreach, "maximize": maximize}
        super().__init__(params, defaults)

    def __setstate__(self, state: dict[str, Any]) -> None:
        super().__setstate__(state)
        for group in self.param_groups:
            group.setdefault("foreach", None)
            for p in group["params"]:
                p_state = self.state.get(p, {})
                if len(p_state) != 0 and not isinstance(p_state["step"], Tensor):
                    step = _zero_step(p)
                    step._data += float(p_state["step"])
                    p_state["step"] = step

    def _init_group(self, group: dict, params_with_grad: list, grads: list, row_vars: list,
                    col_vars: list, variances: list, state_steps: list) -> bool:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            if p.is_complex():
                raise RuntimeError("Adafactor does not support complex parameters")
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError("Adafactor does not support sparse gradients")
            params_with_grad.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if len(state) == 0:  # lazy state initialization
                state["step"] = _zero_step(p)
                g = p.grad
                if g.dim() > 1:
                    # the factors: g's shape with the last dim (rows) or dim -2 (columns) made 1
                    row_shape, col_shape = list(g.shape), list(g.shape)
                    row_shape[-1] = 1
                    col_shape[-2] = 1
                    state["row_var"] = g.new_zeros(row_shape)
                    state["col_var"] = g.new_zeros(col_shape)
                else:
                    state["variance"] = g.new_zeros(tuple(g.shape))
            row_vars.append(state.get("row_var"))
            col_vars.append(state.get("col_var"))
            variances.append(state.get("variance"))
            state_steps.append(state["step"])
        return False  # has_complex

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
        with grad_mode.no_grad():
            for group in self.param_groups:
                params_with_grad: list[Tensor] = []
                grads: list[Tensor] = []
                row_vars: list = []
                col_vars: list = []
                variances: list = []
                state_steps: list[Tensor] = []
                eps1, eps2 = group["eps"]
                has_complex = self._init_group(group, params_with_grad, grads, row_vars,
                                               col_vars, variances, state_steps)
                adafactor(params_with_grad, grads, row_vars, col_vars, variances, state_steps,
                          d=group["d"], lr=group["lr"], beta2_decay=group["beta2_decay"],
                          weight_decay=group["weight_decay"], eps1=eps1, eps2=eps2,
                          foreach=group["foreach"], maximize=group["maximize"],
                          grad_scale=getattr(self, "grad_scale", None),
                          found_inf=getattr(self, "found_inf", None), has_complex=has_complex)
        return loss


def _rms(xp: Any, a: Any) -> float:
    """``a.norm(2) / sqrt(a.numel())`` as a Python float (the root mean square)."""
    return float(xp.sqrt(xp.sum(a * a))) / (a.size ** 0.5) if a.size else float("nan")


def adafactor(params: list[Tensor], grads: list[Tensor], row_vars: list[Tensor | None],
              col_vars: list[Tensor | None], variances: list[Tensor | None],
              state_steps: list[Tensor], foreach: bool | None = None,
              grad_scale: Tensor | None = None, found_inf: Tensor | None = None,
              has_complex: bool = False, *, d: float, lr: float | Tensor, beta2_decay: float,
              weight_decay: float, eps1: float, eps2: float, maximize: bool) -> None:
    """Functional form of ``Adafactor``'s update (``torch.optim._adafactor.adafactor``), in
    place on the raw arrays.  ``foreach`` changes nothing; ``grad_scale``/``found_inf`` must be
    None, as in PyTorch (grad scaling happens outside the optimizer)."""
    if grad_scale is not None or found_inf is not None:
        raise AssertionError("Grad scaling should occur outside of optimizer.step()")
    lr = float(_get_value(lr))
    for i, param in on_each_device(enumerate(params)):
        p = _writable(param)
        xp = backend.array_module(p)
        grad = grads[i]._data
        if maximize:
            grad = xp.negative(grad)
        row_var, col_var, variance = row_vars[i], col_vars[i], variances[i]
        if eps1 is None:   # PyTorch fixes it from the first parameter of the group
            eps1 = float(backend.finfo(param.dtype).eps)

        step = _increment_step(state_steps[i])
        one_minus_beta2_t = step ** beta2_decay
        rho_t = min(lr, 1 / (step ** 0.5))
        alpha = max(eps2, _rms(xp, p)) * rho_t      # the relative step, before the decay

        if weight_decay != 0:
            xp.multiply(p, 1 - lr * weight_decay, out=p)

        grad_sq = grad * grad
        if grad.ndim > 1:
            if row_var is None or col_var is None:
                raise AssertionError("row_var and col_var should be defined when grad is "
                                     "multidimensional")
            r, c = _writable(row_var), _writable(col_var)
            row_mean = xp.mean(grad_sq, axis=-1, keepdims=True)   # (..., n, 1)
            _lerp_(xp, r, row_mean, one_minus_beta2_t, xp.empty_like(r))
            col_mean = xp.mean(grad_sq, axis=-2, keepdims=True)   # (..., 1, m)
            _lerp_(xp, c, col_mean, one_minus_beta2_t, xp.empty_like(c))
            var_estimate = xp.matmul(r, c)                        # outer product (..., n, m)
            row_scale = xp.maximum(xp.mean(r, axis=-2, keepdims=True), eps1)
            xp.divide(var_estimate, row_scale.astype(var_estimate.dtype), out=var_estimate)
            _bump_version(row_var, col_var)
        else:
            if variance is None:
                raise AssertionError("variance should be defined when grad is a vector")
            v = _writable(variance)
            _lerp_(xp, v, grad_sq, one_minus_beta2_t, xp.empty_like(v))
            var_estimate = v.copy()
            _bump_version(variance)

        # eps1 squared, because the square root comes next
        update = xp.empty_like(var_estimate)
        xp.maximum(var_estimate, var_estimate.dtype.type(eps1 * eps1), out=update)
        xp.sqrt(update, out=update)
        xp.divide(grad, update, out=update)
        denom = max(1.0, _rms(xp, update) / d) if update.size else 1.0
        xp.subtract(p, (alpha / denom) * update, out=p)
        _bump_version(param)
