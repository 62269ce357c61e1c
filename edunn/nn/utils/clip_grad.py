"""Gradient clipping (``torch.nn.utils.clip_grad``): lesson 12 derives why recurrent networks need
it (exploding gradients), lesson 14 uses it around the optimizer step.

Clipping by norm treats the gradients of all parameters as one long vector ``g`` and, when its
p-norm is above ``max_norm``, scales it down to ``max_norm`` keeping its direction::

    total_norm = || (||g_1||_p, ||g_2||_p, ..., ||g_k||_p) ||_p      (= ||concat(g_1, ..., g_k)||_p)
    g_i <- g_i * min(max_norm / (total_norm + 1e-6), 1)

(for ``p = inf`` both norms are ``max |.|``).  ``get_total_norm`` is the first line,
``clip_grads_with_norm_`` the second, ``clip_grad_norm_`` both.  ``clip_grad_value_`` clamps
every element to ``[-clip_value, clip_value]`` instead, which changes the direction.

Everything runs under ``no_grad`` and modifies ``.grad`` in place, as PyTorch does.  The
``foreach`` flag selects PyTorch's fused multi-tensor kernels; edunn has none, so every value of
it runs the same loop over the gradients (each op is already one whole-array NumPy/CuPy call).

Sparse gradients (``nn.Embedding(sparse=True)``): PyTorch 2.13's CPU kernels refuse them here
(``linalg_vector_norm``/``clamp_`` have no sparse kernel), edunn handles them: the norm of a
sparse gradient is the norm of its coalesced values (what ``torch.norm(sparse)`` gives, the
same as the norm of ``to_dense()``), scaling multiplies the values, and value clipping clamps
the coalesced values (the gradient is left coalesced).
"""
from __future__ import annotations

import math
import types
import warnings
from typing import Iterable, Optional, Union

import edunn
from ...tensor import Tensor

__all__ = ["clip_grad_norm", "clip_grad_norm_", "clip_grad_value_", "get_total_norm",
           "clip_grads_with_norm_"]

_tensor_or_tensors = Union[Tensor, Iterable[Tensor]]


def _vector_norm(t: Tensor, norm_type: float) -> Tensor:
    """``||t||_p`` over all elements, as ``torch.linalg.vector_norm(t, p)`` (a 0-d tensor of
    ``t``'s dtype); a sparse ``t`` counts its implicit zeros."""
    if t.numel() == 0 and norm_type in (math.inf, -math.inf):
        # max/min over nothing has no value; PyTorch's message
        raise RuntimeError(f"linalg.vector_norm cannot compute the {norm_type} norm on an empty "
                           "tensor because the operation does not have an identity")
    if not t.is_sparse:
        return edunn.norm(t, norm_type)
    values = t.coalesce()._values().reshape(-1)
    # Implicit zeros add nothing to the norm when p >= 0 (|0|^p = 0, and max |x| >= 0); for
    # p < 0 a zero entry decides it (|0|^p = inf, min |x| = 0), so put one in when there is one.
    if norm_type < 0 and values.numel() < t.numel():
        values = edunn.cat([values, values.new_zeros(1)])
    if values.numel() == 0:
        return edunn.zeros((), dtype=t.dtype, device=t.device)
    return edunn.norm(values, norm_type)


def get_total_norm(tensors: _tensor_or_tensors, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    r"""The p-norm of an iterable of tensors, as if they were concatenated into one vector
    (``torch.nn.utils.get_total_norm``; lesson 12)::

        total_norm = || (||t_1||_p, ..., ||t_k||_p) ||_p

    which equals ``||concat(t_1.flatten(), ..., t_k.flatten())||_p`` for every p.

    Args:
        tensors (Iterable[Tensor] or Tensor): the tensors (usually gradients), or one tensor.
        norm_type (float): p; ``'inf'`` or ``math.inf`` for the largest absolute value.
            Default: 2.0
        error_if_nonfinite (bool): raise ``RuntimeError`` if the total norm is nan or +-inf.
            Default: False
        foreach (bool): PyTorch's fused-kernel switch; accepted, same loop here (module
            docstring).

    Returns:
        A 0-d tensor on the first tensor's device (``tensor(0.)`` for no tensors); its dtype is
        the tensors' (promoted when they differ).
    """
    with edunn.no_grad():
        tensors = [tensors] if isinstance(tensors, Tensor) else list(tensors)
        norm_type = float(norm_type)
        if len(tensors) == 0:
            return edunn.tensor(0.0)
        first_device = tensors[0].device
        norms = [_vector_norm(t, norm_type).to(first_device) for t in tensors]
        total_norm = edunn.norm(edunn.stack(norms), norm_type)
        if error_if_nonfinite and bool(edunn.logical_or(total_norm.isnan(), total_norm.isinf())):
            raise RuntimeError(
                f"The total norm of order {norm_type} for gradients from "
                "`parameters` is non-finite, so it cannot be clipped. To disable "
                "this error and scale the gradients by the non-finite norm anyway, "
                "set `error_if_nonfinite=False`")
        return total_norm


def _scale_(grad: Tensor, coef: Tensor) -> None:
    """``grad *= coef`` in place (for a sparse gradient: its values)."""
    coef = coef.to(grad.device)
    if grad.is_sparse:
        grad.data = grad * coef  # the SparseCOOTensor takes the scaled values as its own
    else:
        grad.mul_(coef)


def clip_grads_with_norm_(parameters: _tensor_or_tensors, max_norm: float, total_norm: Tensor,
                          foreach: Optional[bool] = None) -> None:
    r"""Scale the gradients of ``parameters`` in place, given their total norm already computed
    (``torch.nn.utils.clip_grads_with_norm_``; lesson 12)::

        grad <- grad * min(max_norm / (total_norm + 1e-6), 1)

    The coefficient is clamped at 1: gradients are only ever scaled down.  The ``1e-6`` keeps a
    zero norm from dividing by zero.  ``clip_grad_norm_`` is ``get_total_norm`` followed by this.

    Args:
        parameters (Iterable[Tensor] or Tensor): tensors whose ``.grad`` is scaled (those
            without a gradient are skipped).
        max_norm (float): the largest total norm allowed.
        total_norm (Tensor): the total norm of the gradients (``get_total_norm``).
        foreach (bool): accepted for PyTorch's API; same loop here.
    """
    with edunn.no_grad():
        if isinstance(parameters, Tensor):
            parameters = [parameters]
        grads = [p.grad for p in parameters if p.grad is not None]
        max_norm = float(max_norm)
        if len(grads) == 0:
            return
        if not isinstance(total_norm, Tensor):
            raise TypeError(f"clip_grads_with_norm_: expected total_norm to be a Tensor (as "
                            f"get_total_norm returns), got {type(total_norm).__name__}")
        clip_coef = max_norm / (total_norm + 1e-6)
        # Multiplying by a coefficient clamped to 1 (rather than testing ``clip_coef < 1``) is
        # what PyTorch does: on a GPU the test would wait for the device.
        clip_coef_clamped = edunn.clamp(clip_coef, max=1.0)
        for g in grads:
            _scale_(g, clip_coef_clamped)


def clip_grad_norm_(parameters: _tensor_or_tensors, max_norm: float, norm_type: float = 2.0,
                    error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    r"""Clip the gradient norm of an iterable of parameters, in place
    (``torch.nn.utils.clip_grad_norm_``; lesson 12 derives why, lesson 14 uses it)::

        total_norm = || (||g_1||_p, ..., ||g_k||_p) ||_p
        g_i <- g_i * min(max_norm / (total_norm + 1e-6), 1)

    All gradients are scaled by the same factor, so the direction of the whole gradient is kept.

    Args:
        parameters (Iterable[Tensor] or Tensor): tensors whose ``.grad`` is clipped (those
            without a gradient are skipped); a generator is read once.
        max_norm (float): the largest total norm allowed.
        norm_type (float): p; ``'inf'`` for the largest absolute value. Default: 2.0
        error_if_nonfinite (bool): raise ``RuntimeError`` if the total norm is nan or +-inf
            (otherwise the gradients are scaled by the non-finite norm anyway). Default: False
        foreach (bool): accepted for PyTorch's API; same loop here.

    Returns:
        The total norm of the gradients before clipping, a 0-d tensor.
    """
    if isinstance(parameters, Tensor):
        parameters = [parameters]
    else:
        is_generator = isinstance(parameters, types.GeneratorType)
        parameters = list(parameters)  # a generator would be used up by the first pass
        if is_generator and len(parameters) == 0:
            warnings.warn("`parameters` is an empty generator, no gradient clipping will occur.",
                          stacklevel=2)
    grads = [p.grad for p in parameters if p.grad is not None]
    total_norm = get_total_norm(grads, norm_type, error_if_nonfinite, foreach)
    clip_grads_with_norm_(parameters, max_norm, total_norm, foreach)
    return total_norm


def clip_grad_norm(parameters: _tensor_or_tensors, max_norm: float, norm_type: float = 2.0,
                   error_if_nonfinite: bool = False, foreach: Optional[bool] = None) -> Tensor:
    r"""Clip the gradient norm of an iterable of parameters.

    .. warning::
        Deprecated (a ``FutureWarning``, as in PyTorch) in favor of :func:`clip_grad_norm_`,
        which it calls.
    """
    warnings.warn(_CLIP_GRAD_NORM_DEPRECATED, FutureWarning, stacklevel=2)
    return clip_grad_norm_(parameters, max_norm, norm_type, error_if_nonfinite, foreach)


_CLIP_GRAD_NORM_DEPRECATED = ("`edunn.nn.utils.clip_grad_norm` is now deprecated in favor of "
                              "`edunn.nn.utils.clip_grad_norm_`.")
clip_grad_norm.__deprecated__ = _CLIP_GRAD_NORM_DEPRECATED  # as typing_extensions.deprecated marks it


def clip_grad_value_(parameters: _tensor_or_tensors, clip_value: float,
                     foreach: Optional[bool] = None) -> None:
    r"""Clamp every gradient element to ``[-clip_value, clip_value]``, in place
    (``torch.nn.utils.clip_grad_value_``; lesson 12)::

        g <- min(max(g, -clip_value), clip_value)

    Unlike norm clipping this changes the gradient's direction.  A negative ``clip_value`` makes
    the range empty and, as ``clamp`` with ``min > max``, sets every element to ``clip_value``.

    Args:
        parameters (Iterable[Tensor] or Tensor): tensors whose ``.grad`` is clamped (those
            without a gradient are skipped).
        clip_value (float): the largest absolute value allowed.
        foreach (bool): accepted for PyTorch's API; same loop here.
    """
    with edunn.no_grad():
        if isinstance(parameters, Tensor):
            parameters = [parameters]
        clip_value = float(clip_value)
        grads = [p.grad for p in parameters if p.grad is not None]
        for grad in grads:
            if not grad.is_sparse:
                grad.clamp_(min=-clip_value, max=clip_value)
                continue
            if clip_value < 0:  # the implicit zeros would have to become clip_value: not sparse
                raise RuntimeError(f"clip_grad_value_: a negative clip_value ({clip_value}) "
                                   "would turn every implicit zero of a sparse gradient into "
                                   "clip_value; densify the gradient or use clip_value >= 0")
            # Clamp the coalesced values: a position listed twice holds the sum of its entries.
            c = grad.coalesce()
            values = c._values().clamp(min=-clip_value, max=clip_value)
            grad.data = edunn.sparse_coo_tensor(c._indices(), values, c.shape, is_coalesced=True)


# PyTorch's private names (``torch.nn.utils`` exports them under the public ones above).
_get_total_norm = get_total_norm
_clip_grads_with_norm_ = clip_grads_with_norm_
