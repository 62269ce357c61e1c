"""A model's parameters as one flat vector and back (``torch.nn.utils.convert_parameters``).

``parameters_to_vector`` concatenates the flattened parameters (in the order given, usually
``model.parameters()``); ``vector_to_parameters`` cuts a vector back into pieces of the same
sizes.  Lesson 14 uses the flat view: an optimizer step is one update of the vector
``theta = concat(vec(W_1), vec(b_1), ...)``, and second-order methods (L-BFGS, lesson 15) work
on it directly.
"""
from __future__ import annotations

from typing import Any, Iterable, Optional

import edunn
from ...tensor import Tensor

__all__ = ["parameters_to_vector", "vector_to_parameters"]


def parameters_to_vector(parameters: Iterable[Tensor]) -> Tensor:
    r"""Flatten an iterable of parameters into one vector::

        vec = concat(p_1.view(-1), ..., p_k.view(-1))      # shape (sum_i p_i.numel(),)

    Differentiable (a concatenation of views).  Every parameter must be on the same device, and
    each must be viewable as one dimension (``view(-1)``: a transposed parameter is not).

    Args:
        parameters (Iterable[Tensor]): the parameters of a model.

    Returns:
        The parameters as a single vector.
    """
    param_device = None  # the device of the first parameter, which the others must match
    vec = []
    for param in parameters:
        param_device = _check_param_device(param, param_device)
        vec.append(param.view(-1))
    if not vec:  # PyTorch's error comes from cat, a ValueError
        raise ValueError("parameters_to_vector: expected a non-empty iterable of Tensors "
                         "(torch.cat(): expected a non-empty list of Tensors)")
    return edunn.cat(vec)


def vector_to_parameters(vec: Tensor, parameters: Iterable[Tensor]) -> None:
    r"""Copy slices of a vector into an iterable of parameters: parameter ``i`` becomes::

        p_i = vec[n_1 + ... + n_{i-1} : n_1 + ... + n_i].view_as(p_i)     (n_j = p_j.numel())

    As in PyTorch, each parameter's ``.data`` is replaced by a view of ``vec`` (they share
    memory afterwards, and a parameter takes ``vec``'s dtype); elements of ``vec`` past the last
    parameter are ignored; a ``vec`` too short raises the ``view`` error.

    Args:
        vec (Tensor): a single vector representing the parameters of a model.
        parameters (Iterable[Tensor]): the parameters of a model.
    """
    if not isinstance(vec, Tensor):
        raise TypeError(f"expected edunn.Tensor, but got: {_typename(vec)}")
    param_device = None
    pointer = 0  # where the current parameter's slice starts
    for param in parameters:
        param_device = _check_param_device(param, param_device)
        num_param = param.numel()
        param.data = vec[pointer:pointer + num_param].view_as(param).data
        pointer += num_param


def _check_param_device(param: Tensor, old_param_device: Optional[int]) -> int:
    """The device index of the first parameter (-1 for the CPU), checking that every later
    parameter is on that same device."""
    if old_param_device is None:
        return _device_index(param)
    if _device_index(param) != old_param_device:
        raise TypeError("Found two parameters on different devices, "
                        "this is currently not supported.")
    return old_param_device


def _device_index(param: Tensor) -> int:
    """``param.get_device()`` as PyTorch gives it: the GPU's index, -1 on the CPU."""
    device = param.device
    if device.type == "cpu":
        return -1
    return 0 if device.index is None else device.index


def _typename(obj: Any) -> str:
    """``torch.typename``: a tensor's type string (``'edunn.FloatTensor'``), else the object's
    module-qualified type name (builtins without their module)."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = obj if isinstance(obj, type) else type(obj)
    module = getattr(cls, "__module__", "") or ""
    qualname = cls.__qualname__
    return qualname if module in ("", "builtins") else f"{module}.{qualname}"
