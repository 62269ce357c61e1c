r"""Weight normalization with a forward pre-hook (``torch.nn.utils.weight_norm``, deprecated).

Weight normalization (Salimans & Kingma, https://arxiv.org/abs/1602.07868) writes a weight as a
magnitude times a direction::

    w = g * v / ||v||

where the norm is taken over every dimension except ``dim`` (one norm per output channel for
``dim=0``; over the whole tensor for ``dim=None``, stored as ``dim=-1``).  Training ``g`` and
``v`` instead of ``w`` decouples the length of each weight vector from its direction.

This old form replaces the parameter ``weight`` by two parameters ``weight_g`` (shape
``(out, 1, ..., 1)`` for ``dim=0``) and ``weight_v`` (the shape of ``weight``), and registers a
forward pre-hook (the :class:`WeightNorm` object itself) that recomputes the plain tensor
attribute ``module.weight`` from them before every call.  PyTorch 2.13 deprecates it in favour
of ``edunn.nn.utils.parametrizations.weight_norm`` and warns with a ``FutureWarning``; so do we.

``norm_except_dim`` and ``_weight_norm`` are the two formulas (``torch.norm_except_dim`` and
``torch._weight_norm`` in PyTorch); the parametrization uses them too.  They are compositions of
differentiable edunn ops, so their gradients come from autograd.
"""
from __future__ import annotations

import warnings
from typing import Any, TypeVar

from ...tensor import Tensor
from ..modules.module import Module
from ..parameter import Parameter, UninitializedParameter

__all__ = ["WeightNorm", "weight_norm", "remove_weight_norm"]


def norm_except_dim(v: Tensor, pow: float = 2, dim: int = 0) -> Tensor:
    """The ``pow``-norm of ``v`` over every dimension but ``dim``, kept as size-1 dimensions
    (shape ``(v.size(0), 1, ..., 1)`` for ``dim=0``).  ``dim=-1`` means the norm of the whole
    tensor (a 0-d tensor), as in PyTorch (not "the last dimension")."""
    if dim == -1:
        return v.norm(pow)
    dim = v._wrap_dim(dim)
    others = tuple(d for d in range(v.ndim) if d != dim)
    return v.norm(pow, dim=others, keepdim=True)


def _weight_norm(v: Tensor, g: Tensor, dim: int = 0) -> Tensor:
    """``w = g * v / ||v||``, the norm over every dimension but ``dim`` (``-1``: all)."""
    return v * (g / norm_except_dim(v, 2, dim))


def _find_hook(module: Module, hook_type: type, name: str) -> Any:
    """The key of ``module``'s forward pre-hook of ``hook_type`` for the tensor ``name`` (the
    old hook-based ``weight_norm`` and ``spectral_norm``), or ``None``."""
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, hook_type) and hook.name == name:
            return k
    return None


def _remove_hook(module: Module, hook_type: type, name: str, what: str) -> None:
    """Undoes and drops ``module``'s ``hook_type`` hook for ``name``; ``ValueError`` naming
    ``what`` when there is none."""
    k = _find_hook(module, hook_type, name)
    if k is None:
        raise ValueError(f"{what} of '{name}' not found in {module}")
    module._forward_pre_hooks[k].remove(module)
    del module._forward_pre_hooks[k]


class WeightNorm:
    """The forward pre-hook that rebuilds ``module.<name>`` from ``<name>_g`` and ``<name>_v``."""

    name: str
    dim: int

    def __init__(self, name: str, dim: int) -> None:
        if dim is None:
            dim = -1
        self.name = name
        self.dim = dim

    def compute_weight(self, module: Module) -> Any:
        g = getattr(module, self.name + "_g")
        v = getattr(module, self.name + "_v")
        return _weight_norm(v, g, self.dim)

    @staticmethod
    def apply(module: Module, name: str, dim: int) -> "WeightNorm":
        warnings.warn("`torch.nn.utils.weight_norm` is deprecated in favor of "
                      "`torch.nn.utils.parametrizations.weight_norm`.", FutureWarning, stacklevel=2)
        if _find_hook(module, WeightNorm, name) is not None:
            raise RuntimeError(f"Cannot register two weight_norm hooks on the same parameter {name}")
        if dim is None:
            dim = -1
        fn = WeightNorm(name, dim)
        weight = getattr(module, name)
        if isinstance(weight, UninitializedParameter):
            raise ValueError("The module passed to `WeightNorm` can't have uninitialized parameters. "
                             "Make sure to run the dummy forward before applying weight normalization")
        # g and v are new leaves: the initial g makes w equal to the old weight
        del module._parameters[name]
        module.register_parameter(name + "_g", Parameter(norm_except_dim(weight, 2, dim).data))
        module.register_parameter(name + "_v", Parameter(weight.data))
        setattr(module, name, fn.compute_weight(module))
        module.register_forward_pre_hook(fn)
        return fn

    def remove(self, module: Module) -> None:
        weight = self.compute_weight(module)
        delattr(module, self.name)
        del module._parameters[self.name + "_g"]
        del module._parameters[self.name + "_v"]
        setattr(module, self.name, Parameter(weight.data))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module))


T_module = TypeVar("T_module", bound=Module)


def weight_norm(module: T_module, name: str = "weight", dim: int = 0) -> T_module:
    r"""Apply weight normalization to ``module.<name>`` with a forward pre-hook (deprecated: use
    :func:`edunn.nn.utils.parametrizations.weight_norm`; this warns ``FutureWarning``).

    .. math:: \mathbf{w} = g \dfrac{\mathbf{v}}{\|\mathbf{v}\|}

    ``module.<name>`` is replaced by the parameters ``<name>_g`` (magnitude) and ``<name>_v``
    (direction); the weight is recomputed before every ``forward``.  ``dim=0`` (the default)
    takes one norm per output channel, ``dim=None`` one norm for the whole tensor.

    Args:
        module (Module): containing module
        name (str, optional): name of weight parameter
        dim (int, optional): dimension over which to compute the norm

    Returns:
        The original module with the weight norm hook
    """
    WeightNorm.apply(module, name, dim)
    return module


def remove_weight_norm(module: T_module, name: str = "weight") -> T_module:
    r"""Undo :func:`weight_norm`: ``module.<name>`` becomes a plain parameter holding the current
    ``g * v / ||v||``.

    Raises:
        ValueError: if ``module`` has no weight norm on ``name``
    """
    _remove_hook(module, WeightNorm, name, "weight_norm")
    return module
