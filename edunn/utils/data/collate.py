"""Collation (lesson 19): turning a list of samples into one batch, as
``torch/utils/data/_utils/collate.py``.

``default_collate`` follows the structure of the first sample and recurses::

    Tensor                  -> edunn.stack(batch)           (a new leading batch dimension)
    NumPy array / scalar    -> tensors, then as above
    float                   -> tensor, float64
    int (and bool)          -> tensor, int64 (bool)
    str / bytes             -> the list, unchanged
    dict (Mapping)          -> the same type, each key collated
    namedtuple              -> the same namedtuple, each field collated
    tuple / list (Sequence) -> a list (for a tuple) or the same type of sequence, position by position

``default_convert`` (used when automatic batching is off, ``batch_size=None``) only turns NumPy
arrays into tensors, recursively.
"""
from __future__ import annotations

import collections.abc
import copy
import re
from typing import Any

import edunn
from ...tensor import Tensor

__all__ = ["default_collate", "default_convert"]

# dtypes of strings and Python objects, which cannot become tensors
_np_str_obj_array_pattern = re.compile(r"[SaUO]")

default_collate_err_msg_format = (
    "default_collate: batch must contain tensors, numpy arrays, numbers, dicts or lists; found {}")


def _is_numpy(x: Any) -> bool:
    """NumPy values are recognised by their type's module (this file may not import numpy)."""
    t = type(x)
    return t.__module__ == "numpy" and t.__name__ not in ("str_", "string_", "bytes_")


def default_convert(data: Any) -> Any:
    """NumPy arrays (anywhere in a nested structure) to tensors; everything else unchanged."""
    elem_type = type(data)
    if isinstance(data, Tensor):
        return data
    if _is_numpy(data):
        if elem_type.__name__ == "ndarray" and _np_str_obj_array_pattern.search(data.dtype.str) is not None:
            return data
        return edunn.as_tensor(data)
    if isinstance(data, collections.abc.Mapping):
        try:
            if isinstance(data, collections.abc.MutableMapping):
                clone = copy.copy(data)
                clone.update({key: default_convert(data[key]) for key in data})
                return clone
            return elem_type({key: default_convert(data[key]) for key in data})
        except TypeError:  # a mapping type whose constructor takes other arguments
            return {key: default_convert(data[key]) for key in data}
    if isinstance(data, tuple) and hasattr(data, "_fields"):  # namedtuple
        return elem_type(*(default_convert(d) for d in data))
    if isinstance(data, tuple):
        return [default_convert(d) for d in data]  # a list, as PyTorch (backwards compatibility)
    if isinstance(data, collections.abc.Sequence) and not isinstance(data, (str, bytes)):
        try:
            if isinstance(data, collections.abc.MutableSequence):
                clone = copy.copy(data)
                for i, d in enumerate(data):
                    clone[i] = default_convert(d)
                return clone
            return elem_type([default_convert(d) for d in data])
        except TypeError:
            return [default_convert(d) for d in data]
    return data


def default_collate(batch: list) -> Any:
    """Stack a list of samples into a batch, following the first sample's structure (table above).

    Example: ``default_collate([(x0, 0), (x1, 1)])`` with ``x`` of shape (3,) gives
    ``[tensor of shape (2, 3), tensor([0, 1])]``."""
    if not isinstance(batch, collections.abc.Sequence) or isinstance(batch, (str, bytes)):
        raise TypeError(f"default_collate expects a list of samples, got {type(batch).__name__}")
    if len(batch) == 0:
        raise IndexError("default_collate got an empty batch (a list of 0 samples)")
    elem = batch[0]
    elem_type = type(elem)
    if isinstance(elem, Tensor):
        return edunn.stack(list(batch), 0)
    if _is_numpy(elem):
        if elem_type.__name__ in ("ndarray", "memmap"):
            if _np_str_obj_array_pattern.search(elem.dtype.str) is not None:
                raise TypeError(default_collate_err_msg_format.format(elem.dtype))
            return default_collate([edunn.as_tensor(b) for b in batch])
        if elem.shape == ():  # a NumPy scalar: keep its dtype (as torch.as_tensor of the list)
            return edunn.stack([edunn.as_tensor(b) for b in batch])
    if isinstance(elem, float):
        return edunn.tensor(list(batch), dtype=edunn.float64)
    if isinstance(elem, int):  # bool included: a bool tensor
        return edunn.tensor(list(batch))
    if isinstance(elem, (str, bytes)):
        return batch
    if isinstance(elem, collections.abc.Mapping):
        try:
            if isinstance(elem, collections.abc.MutableMapping):
                clone = copy.copy(elem)
                clone.update({key: default_collate([d[key] for d in batch]) for key in elem})
                return clone
            return elem_type({key: default_collate([d[key] for d in batch]) for key in elem})
        except TypeError:
            return {key: default_collate([d[key] for d in batch]) for key in elem}
    if isinstance(elem, tuple) and hasattr(elem, "_fields"):  # namedtuple
        return elem_type(*(default_collate(list(samples)) for samples in zip(*batch)))
    if isinstance(elem, collections.abc.Sequence):
        it = iter(batch)
        elem_size = len(next(it))
        if not all(len(e) == elem_size for e in it):
            raise RuntimeError("each element in list of batch should be of equal size")
        transposed = list(zip(*batch))
        if isinstance(elem, tuple):
            return [default_collate(list(samples)) for samples in transposed]
        try:
            if isinstance(elem, collections.abc.MutableSequence):
                clone = copy.copy(elem)
                for i, samples in enumerate(transposed):
                    clone[i] = default_collate(list(samples))
                return clone
            return elem_type([default_collate(list(samples)) for samples in transposed])
        except TypeError:
            return [default_collate(list(samples)) for samples in transposed]
    raise TypeError(default_collate_err_msg_format.format(elem_type))
