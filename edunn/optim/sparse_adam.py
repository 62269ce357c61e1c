"""``SparseAdam``: Adam that touches only the rows a sparse gradient names (lesson 15)."""
from __future__ import annotations

from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..ops.creation import zeros_like
from ..tensor import Tensor
from .adam import _check_adam_args
from ._devices import on_each_device
from .optimizer import Optimizer, _bump_version, _get_value, _maximize_doc, _params_doc, _to_scalar

__all__ = ["SparseAdam"]


class SparseAdam(Optimizer):
    __doc__ = r"""Implements a masked version of Adam for sparse gradients, lesson 15.

    The gradient of an ``Embedding(sparse=True)`` names a few rows (the indices that were looked
    up) and their values.  SparseAdam updates the two moments and the parameter at those
    entries only; every other entry keeps its moments as they were (plain Adam would decay
    them).  For the entries i named by the gradient at step t:

    .. code-block:: text

        g_t <- -grad   if maximize   else   grad          (values at the named entries)
        m_t[i] <- m_{t-1}[i] + (1 - beta1) (g_t[i] - m_{t-1}[i])
        v_t[i] <- v_{t-1}[i] + (1 - beta2) (g_t[i]^2 - v_{t-1}[i])
        theta_t[i] <- theta_{t-1}[i]
                      - lr sqrt(1 - beta2^t) / (1 - beta1^t) * m_t[i] / (sqrt(v_t[i]) + eps)

    where t counts the steps in which the parameter had a gradient (``state["step"]``, a
    Python int as in PyTorch).  Any entry present in the sparse gradient counts as named, even
    if its value is zero.

    A dense gradient is rejected with PyTorch's error.  The sparse gradient is a sparse COO
    tensor (``edunn.sparse``, what ``nn.Embedding(sparse=True)`` produces), used through
    PyTorch's interface: ``grad.is_sparse`` (True), ``grad.coalesce()`` (sums duplicate
    indices), ``grad._indices()`` (shape (sparse_dim, nnz)) and ``grad._values()`` (shape
    (nnz, *dense_dims)).

    Args:
        """ + _params_doc + r"""
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        betas (Tuple[float, float], optional): coefficients used for computing running
            averages of gradient and its square (default: (0.9, 0.999))
        eps (float, optional): term added to the denominator to improve numerical stability
            (default: 1e-8)
        """ + _maximize_doc + r"""

    State per parameter (PyTorch's keys): ``"step"`` (int), ``"exp_avg"``, ``"exp_avg_sq"``.
    """

    def __init__(self, params: Any, lr: float | Tensor = 1e-3,
                 betas: tuple[float, float] = (0.9, 0.999), eps: float = 1e-8,
                 maximize: bool = False) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 < lr:
            raise ValueError(f"Invalid learning rate: {lr}")
        if not 0.0 < eps:
            raise ValueError(f"Invalid epsilon value: {eps}")
        _check_adam_args(lr, betas, eps, 0.0)
        defaults = {"lr": lr, "betas": betas, "eps": eps, "maximize": maximize}
        super().__init__(params, defaults)
        sparse_params, complex_params = [], []
        for index, param_group in enumerate(self.param_groups):
            for d_index, d_param in enumerate(param_group["params"]):
                if getattr(d_param, "is_sparse", False):
                    sparse_params.append([index, d_index])
                if d_param.is_complex():
                    complex_params.append([index, d_index])
        if sparse_params:
            raise ValueError(f"Sparse params at indices {sparse_params}: SparseAdam requires "
                             "dense parameter tensors")
        if complex_params:
            raise ValueError(f"Complex params at indices {complex_params}: SparseAdam does not "
                             "support complex parameters")

    @grad_mode.no_grad()
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
            grads: list[Any] = []
            exp_avgs: list[Tensor] = []
            exp_avg_sqs: list[Tensor] = []
            state_steps: list[int] = []
            beta1, beta2 = group["betas"]
            for p in group["params"]:
                if p.grad is None:
                    continue
                params_with_grad.append(p)
                if not getattr(p.grad, "is_sparse", False):
                    raise RuntimeError("SparseAdam does not support dense gradients, please "
                                       "consider Adam instead")
                grads.append(p.grad)
                state = self.state[p]
                if len(state) == 0:  # lazy state initialization
                    state["step"] = 0
                    state["exp_avg"] = zeros_like(p)
                    state["exp_avg_sq"] = zeros_like(p)
                exp_avgs.append(state["exp_avg"])
                exp_avg_sqs.append(state["exp_avg_sq"])
                state["step"] += 1
                state_steps.append(state["step"])
            sparse_adam(params_with_grad, grads, exp_avgs, exp_avg_sqs, state_steps,
                        eps=group["eps"], beta1=beta1, beta2=beta2, lr=_to_scalar(group["lr"]),
                        maximize=group.get("maximize", False))
        return loss


def _array(x: Any) -> Any:
    return x._data if isinstance(x, Tensor) else x


def sparse_adam(params: list[Tensor], grads: list[Any], exp_avgs: list[Tensor],
                exp_avg_sqs: list[Tensor], state_steps: list[int], *, eps: float, beta1: float,
                beta2: float, lr: float | Tensor, maximize: bool) -> None:
    """Functional form of ``SparseAdam``'s update (``torch.optim._functional.sparse_adam``):
    PyTorch's arithmetic, on the named entries only."""
    lr = float(_get_value(lr))
    for i, param in on_each_device(enumerate(params)):
        grad = grads[i].coalesce()  # the update is non-linear, so indices must be unique
        indices = _array(grad._indices())
        values = _array(grad._values())
        if values.size == 0:
            continue
        xp = backend.array_module(values)
        if maximize:
            values = xp.negative(values)
        where = tuple(indices[k] for k in range(indices.shape[0]))  # the named entries
        p, exp_avg, exp_avg_sq = param._data, exp_avgs[i]._data, exp_avg_sqs[i]._data
        step = state_steps[i]

        old_exp_avg = exp_avg[where]
        exp_avg_update = (values - old_exp_avg) * (1 - beta1)
        exp_avg[where] = old_exp_avg + exp_avg_update
        old_exp_avg_sq = exp_avg_sq[where]
        exp_avg_sq_update = (values ** 2 - old_exp_avg_sq) * (1 - beta2)
        exp_avg_sq[where] = old_exp_avg_sq + exp_avg_sq_update

        numer = exp_avg_update + old_exp_avg
        denom = xp.sqrt(exp_avg_sq_update + old_exp_avg_sq) + eps
        bias_correction1 = 1 - beta1 ** step
        bias_correction2 = 1 - beta2 ** step
        step_size = lr * bias_correction2 ** 0.5 / bias_correction1
        p[where] = p[where] + (-step_size) * (numer / denom)
        _bump_version(param, exp_avgs[i], exp_avg_sqs[i])
