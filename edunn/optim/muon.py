"""``Muon``: momentum SGD whose update matrix is orthogonalized (lesson 15).

Muon (Keller Jordan, 2024) keeps SGD's momentum buffer but, before stepping, replaces the
update matrix ``B = U S V^T`` by (approximately) ``U V^T``: every singular value becomes about 1,
so no direction of the weight matrix dominates the step.  The orthogonalization is a few
iterations of a quintic Newton--Schulz polynomial ``X <- a X + (b A + c A^2) X`` with
``A = X X^T``, run in bfloat16 -- cheap matrix products instead of an SVD.  Only 2-D parameters
(hidden layers' weight matrices) are accepted; biases and embeddings go to another optimizer.

This follows ``torch/optim/_muon.py``: the same arguments, errors, state (``"momentum_buffer"``
only) and arithmetic.  PyTorch runs the iteration on bfloat16 tensors, whose matrix products
accumulate in float32 and round the result to bfloat16.  edunn does exactly that on float32
arrays, rounding to bfloat16 after every operation (``_round_to_bfloat16``, bit arithmetic that
NumPy and CuPy both run -- CuPy has no bfloat16 dtype), so the result equals PyTorch's.
"""
from __future__ import annotations

import math
from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from ._devices import on_each_device
from .optimizer import (Optimizer, _bump_version, _get_value, _lerp_, _params_doc, _writable)

__all__ = ["Muon"]

# Keller Jordan's constants (https://kellerjordan.github.io/posts/muon/), as PyTorch's
EPS = 1e-7
DEFAULT_A = 3.4445
DEFAULT_B = -4.7750
DEFAULT_C = 2.0315
DEFAULT_NS_STEPS = 5


def _round_to_bfloat16(x: Any) -> Any:
    """Float32 values rounded to the nearest bfloat16 (ties to even), kept as float32.

    A bfloat16 is the top 16 bits of a float32.  Adding ``0x7FFF`` plus the lowest kept bit to
    the bit pattern and clearing the low 16 bits rounds to nearest, ties to even -- what a cast
    to bfloat16 does."""
    xp = backend.array_module(x)
    bits = xp.ascontiguousarray(x, dtype=xp.float32).view(xp.uint32)
    rounded = (bits + xp.uint32(0x7FFF) + ((bits >> xp.uint32(16)) & xp.uint32(1))) \
        & xp.uint32(0xFFFF0000)
    return rounded.view(xp.float32)


def _zeropower_via_newtonschulz(grad: Any, ns_coefficients: tuple[float, float, float],
                                ns_steps: int, eps: float) -> Any:
    """Newton--Schulz iteration towards the "zeroth power" ``U V^T`` of ``grad = U S V^T``.

    The quintic's coefficients maximise its slope at zero rather than converge to 1: the result
    is ``U S' V^T`` with ``S'_ii`` roughly in (0.5, 1.5), which trains as well as ``U V^T``.
    ``grad`` is a raw 2-D array; the result is a float32 array holding bfloat16 values (see the
    module docstring)."""
    if ns_steps >= 100:
        raise ValueError("Number of steps must be less than 100 for computational efficiency")
    if len(grad.shape) != 2:
        raise ValueError("Input tensor gradient must be a 2D matrix")
    if len(ns_coefficients) != 3:
        raise ValueError("Coefficients must be a tuple of exactly 3 values")
    a, b, c = ns_coefficients
    rb = _round_to_bfloat16
    xp = backend.array_module(grad)
    x = rb(grad.astype(xp.float32))
    tall = grad.shape[0] > grad.shape[1]
    if tall:   # work on the wide side, where X X^T is the smaller Gram matrix
        x = x.T
    # divide by the Frobenius norm (a bound of the spectral norm): singular values <= 1
    norm = rb(xp.sqrt(xp.sum(x * x)))
    x = rb(x / xp.maximum(norm, xp.float32(eps)))
    for _ in range(ns_steps):
        gram = rb(x @ x.T)                                            # A = X X^T
        gram_update = rb(xp.float32(b) * gram + xp.float32(c) * (gram @ gram))   # b A + c A^2
        x = rb(xp.float32(a) * x + gram_update @ x)                   # a X + (b A + c A^2) X
    return x.T if tall else x


def _adjust_lr(lr: float, adjust_lr_fn: str | None, param_shape: tuple) -> float:
    """The learning rate scaled for the matrix's shape ``(A, B)``: ``sqrt(max(1, A/B))``
    ("original", Keller Jordan's) or ``0.2 sqrt(max(A, B))`` ("match_rms_adamw", Moonshot's,
    which gives the update the RMS of AdamW's so AdamW's lr and weight decay carry over)."""
    A, B = param_shape[:2]
    if adjust_lr_fn is None or adjust_lr_fn == "original":
        adjusted_ratio = math.sqrt(max(1, A / B))
    elif adjust_lr_fn == "match_rms_adamw":
        adjusted_ratio = 0.2 * math.sqrt(max(A, B))
    else:
        adjusted_ratio = 1.0
    return lr * adjusted_ratio


class Muon(Optimizer):
    __doc__ = r"""Implements the Muon algorithm (lesson 15: momentum, then orthogonalize).

    .. code-block:: text

        input: gamma (lr), lambda (weight decay), mu (momentum), nesterov,
               (a, b, c) (NS coefficients), epsilon (eps), k (NS steps),
               theta_0 (params), f(theta) (objective)
        initialize: B_0 <- 0 (momentum buffer)
        for t = 1 to ... do
            g_t <- grad f_t(theta_{t-1})
            B_t <- mu B_{t-1} + (1 - mu) g_t             (PyTorch: B.lerp_(g, 1 - mu))
            B~_t <- (1 - mu) g_t + mu B_t   if nesterov   else   B_t
            O_t <- NS_k^(a,b,c)(B~_t; epsilon)           (Newton-Schulz, in bfloat16)
            theta_t <- theta_{t-1} - gamma lambda theta_{t-1}     (decoupled weight decay)
            gamma' <- AdjustLR(gamma; shape(theta_t))
            theta_t <- theta_t - gamma' O_t
        return theta_t

    ``NS_k`` divides ``B~`` by its norm (clamped to at least epsilon), then runs ``k`` times
    ``A = X X^T; X <- a X + (b A + c A^2) X`` (on the transpose of a tall matrix).
    ``AdjustLR``: ``"original"`` (or None) multiplies gamma by ``sqrt(max(1, A/B))`` for a
    parameter of shape ``(A, B)``; ``"match_rms_adamw"`` by ``0.2 sqrt(max(A, B))``.

    Args:
        """ + _params_doc + r""". Note that Muon is an optimizer for 2D parameters of neural
            network hidden layers. Other parameters, such as bias, and embedding, should be
            optimized by a standard method such as AdamW.
        lr (float, Tensor, optional): learning rate (default: 1e-3)
        weight_decay (float, optional): decoupled weight decay (default: 0.1)
        momentum (float, optional): momentum factor (default: 0.95)
        nesterov (bool, optional): enables Nesterov momentum (default: True)
        ns_coefficients (tuple of three floats, optional): coefficients (a, b, c) of the
            Newton-Schulz polynomial (default: (3.4445, -4.775, 2.0315))
        eps (float, optional): the smallest norm divided by (default: 1e-7)
        ns_steps (int, optional): number of Newton-Schulz iterations, under 100 (default: 5)
        adjust_lr_fn (str, optional): "original" or "match_rms_adamw" (default: None, which
            is "original")

    State per parameter (PyTorch's key): ``"momentum_buffer"``; Muon keeps no step count.
    """

    def __init__(self, params: Any, lr: float = 1e-3, weight_decay: float = 0.1,
                 momentum: float = 0.95, nesterov: bool = True,
                 ns_coefficients: tuple[float, float, float] = (DEFAULT_A, DEFAULT_B, DEFAULT_C),
                 eps: float = EPS, ns_steps: int = DEFAULT_NS_STEPS,
                 adjust_lr_fn: str | None = None) -> None:
        if isinstance(lr, Tensor) and lr.numel() != 1:
            raise ValueError("Tensor lr must be 1-element")
        if not 0.0 <= lr:
            raise ValueError(f"Learning rate should be >= 0 but is: {lr}")
        if not 0.0 <= momentum:
            raise ValueError(f"momentum should be >= 0 but is: {momentum}")
        if not 0.0 <= weight_decay:
            raise ValueError(f"weight decay should be >= 0 but is: {weight_decay}")
        if adjust_lr_fn is not None and adjust_lr_fn not in ["original", "match_rms_adamw"]:
            raise ValueError(f"Adjust learning rate function {adjust_lr_fn} is not supported")
        defaults = {"lr": lr, "weight_decay": weight_decay, "momentum": momentum,
                    "nesterov": nesterov, "ns_coefficients": ns_coefficients, "eps": eps,
                    "ns_steps": ns_steps, "adjust_lr_fn": adjust_lr_fn}
        super().__init__(params, defaults)
        for group in self.param_groups:
            for p in group["params"]:
                if p.ndim != 2:
                    raise ValueError("Muon only supports 2D parameters whereas we found a "
                                     f"parameter with size: {p.size()}")

    def _init_group(self, group: dict, params_with_grad: list, grads: list,
                    muon_momentum_bufs: list) -> bool:
        for p in on_each_device(group["params"]):
            if p.grad is None:
                continue
            if p.is_complex():
                raise RuntimeError("Muon does not support complex parameters")
            if getattr(p.grad, "is_sparse", False):
                raise RuntimeError("Muon does not support sparse gradients")
            params_with_grad.append(p)
            grads.append(p.grad)
            state = self.state[p]
            if "momentum_buffer" not in state:
                state["momentum_buffer"] = p.grad.new_zeros(tuple(p.grad.shape))
            muon_momentum_bufs.append(state["momentum_buffer"])
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
                muon_momentum_bufs: list[Tensor] = []
                has_complex = self._init_group(group, params_with_grad, grads, muon_momentum_bufs)
                muon(params_with_grad, grads, muon_momentum_bufs, lr=group["lr"],
                     weight_decay=group["weight_decay"], momentum=group["momentum"],
                     nesterov=group["nesterov"], ns_coefficients=group["ns_coefficients"],
                     eps=group["eps"], ns_steps=group["ns_steps"],
                     adjust_lr_fn=group["adjust_lr_fn"], has_complex=has_complex)
        return loss


def muon(params: list[Tensor], grads: list[Tensor], muon_momentum_bufs: list[Tensor], *,
         foreach: bool | None = None, lr: float, weight_decay: float, momentum: float,
         nesterov: bool, ns_coefficients: tuple[float, float, float], ns_steps: int, eps: float,
         adjust_lr_fn: str | None, has_complex: bool) -> None:
    """Functional form of ``Muon``'s update (``torch.optim._muon.muon``), in place on the raw
    arrays."""
    if foreach is not None and foreach:
        raise RuntimeError("Foreach is not supported for Muon yet")
    lr = float(_get_value(lr))
    if has_complex:
        raise ValueError("Complex parameters are not supported")
    for i, param in on_each_device(enumerate(params)):
        grad = grads[i]._data
        if grad.ndim != 2:
            raise ValueError("Param gradient must be a 2D matrix")
        xp = backend.array_module(grad)
        buf = _writable(muon_momentum_bufs[i])
        _lerp_(xp, buf, grad, 1 - momentum, xp.empty_like(buf))   # B = mu B + (1 - mu) g
        if nesterov:                                               # grad.lerp(B, mu)
            update = grad.copy()
            _lerp_(xp, update, buf, momentum, xp.empty_like(buf))
        else:
            update = buf
        update = _zeropower_via_newtonschulz(update, ns_coefficients, ns_steps, eps)
        adjusted_lr = _adjust_lr(lr, adjust_lr_fn, tuple(param.shape))
        p = _writable(param)
        xp.multiply(p, 1 - lr * weight_decay, out=p)
        xp.subtract(p, update.astype(p.dtype) * adjusted_lr, out=p)
        _bump_version(param, muon_momentum_bufs[i])
