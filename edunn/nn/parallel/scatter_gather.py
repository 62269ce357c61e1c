"""``scatter``, ``scatter_kwargs`` and ``gather`` over nested inputs and outputs (lesson 18), as
``torch/nn/parallel/scatter_gather.py``.

A module's inputs are rarely one tensor: ``model(x, mask=m, lengths=[...])``.  ``scatter``
walks tuples, lists, dicts and namedtuples, cuts every tensor it meets into per-device chunks
(``Scatter``, differentiable) and repeats every other object by reference, then *transposes*:
one structure per device.  ``gather`` does the opposite with the replicas' outputs (``Gather``).
Because of the transposition (``zip``), a structure holding tensors of different lengths is cut
into as many pieces as its shortest tensor gives, exactly as in PyTorch.

Difference from PyTorch: the devices may be CPU (``["cpu", "cpu"]``), see ``comm.py``.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

from ...tensor import Tensor
from ._functions import Gather, Scatter

__all__ = ["scatter", "scatter_kwargs", "gather"]


def is_namedtuple(obj: Any) -> bool:
    """Deprecated in PyTorch (use the python checks instead); kept for the same code to run."""
    warnings.warn("`is_namedtuple` is deprecated, please use the python checks instead",
                  FutureWarning, stacklevel=2)
    return _is_namedtuple(obj)


def _is_namedtuple(obj: Any) -> bool:
    # a type made by collections.namedtuple or typing.NamedTuple
    return isinstance(obj, tuple) and hasattr(obj, "_asdict") and hasattr(obj, "_fields")


def scatter(inputs: Any, target_gpus: Sequence[Any], dim: int = 0) -> Any:
    r"""Slice tensors into approximately equal chunks and distribute them across the devices
    ``target_gpus``; duplicate references to objects that are not tensors.

    A tensor gives a tuple of chunks (``tensor.chunk(len(target_gpus), dim)``'s sizes); a tuple,
    list, dict or namedtuple gives a list with one such structure per device.
    """

    def scatter_map(obj):
        if isinstance(obj, Tensor):
            return Scatter.apply(target_gpus, None, dim, obj)
        if _is_namedtuple(obj):
            return [type(obj)(*args) for args in zip(*map(scatter_map, obj))]
        if isinstance(obj, tuple) and len(obj) > 0:
            return list(zip(*map(scatter_map, obj)))
        if isinstance(obj, list) and len(obj) > 0:
            return [list(i) for i in zip(*map(scatter_map, obj))]
        if isinstance(obj, dict) and len(obj) > 0:
            return [type(obj)(i) for i in zip(*map(scatter_map, obj.items()))]
        return [obj for _ in target_gpus]

    # scatter_map refers to itself through its closure cell: clear it to break the cycle
    try:
        res = scatter_map(inputs)
    finally:
        scatter_map = None  # type: ignore[assignment]
    return res


def scatter_kwargs(inputs: tuple, kwargs: dict | None, target_gpus: Sequence[Any],
                   dim: int = 0) -> tuple[tuple, tuple]:
    r"""``scatter`` of the positional ``inputs`` and of the keyword ``kwargs``: ``(inputs per
    device, kwargs per device)``, padded with ``()`` / ``{}`` so that both have one entry per
    device that receives anything."""
    scattered_inputs = scatter(inputs, target_gpus, dim) if inputs else []
    scattered_kwargs = scatter(kwargs, target_gpus, dim) if kwargs else []
    if len(scattered_inputs) < len(scattered_kwargs):
        scattered_inputs.extend(() for _ in range(len(scattered_kwargs) - len(scattered_inputs)))
    elif len(scattered_kwargs) < len(inputs):  # (sic) PyTorch compares with len(inputs) here
        scattered_kwargs.extend({} for _ in range(len(scattered_inputs) - len(scattered_kwargs)))
    return tuple(scattered_inputs), tuple(scattered_kwargs)


def gather(outputs: Any, target_device: Any, dim: int = 0) -> Any:
    r"""Gather the replicas' outputs (a sequence, one per device) onto ``target_device``:
    tensors are concatenated along ``dim`` (``Gather``, differentiable), dicts, namedtuples,
    tuples and lists are gathered element by element, ``None`` stays ``None``."""

    def gather_map(outputs):
        out = outputs[0]
        if isinstance(out, Tensor):
            return Gather.apply(target_device, dim, *outputs)
        if out is None:
            return None
        if isinstance(out, dict):
            if not all(len(out) == len(d) for d in outputs):
                raise ValueError("All dicts must have the same number of keys")
            return type(out)((k, gather_map([d[k] for d in outputs])) for k in out)
        if _is_namedtuple(out):
            return type(out)._make(map(gather_map, zip(*outputs, strict=True)))
        return type(out)(map(gather_map, zip(*outputs, strict=True)))

    try:
        res = gather_map(outputs)
    finally:
        gather_map = None  # type: ignore[assignment]
    return res
