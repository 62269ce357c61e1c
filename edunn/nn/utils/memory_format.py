"""Convolution weights in another memory format (``torch.nn.utils.memory_format``).

PyTorch can store a 4-d (5-d) tensor "channels last" (NHWC / NDHWC in memory while its shape
stays NCHW), which lets cuDNN pick faster kernels for fp16 convolutions.
``convert_conv2d_weight_memory_format`` re-lays only the weights of ``Conv2d`` and
``ConvTranspose2d`` (``convert_conv3d_weight_memory_format``: the 3-d ones) found anywhere in a
module, keeping each ``Parameter`` object (its ``.data`` is replaced).

edunn's arrays are always C-ordered: a memory format is a hint that never changes values
(``edunn.channels_last`` ..., see ``Module.to(memory_format=...)``, which checks the argument
and otherwise leaves the tensors as they are).  These functions do the same as edunn's
``.to(memory_format=...)``: they check that ``memory_format`` is an ``edunn.memory_format``, visit
the same layers as PyTorch, give each weight a fresh copy of its values (as PyTorch's
``clone(memory_format=...)`` does), and return the module.
"""
from __future__ import annotations

from typing import Any, TypeVar

from ... import backend
from ..modules.conv import Conv2d, Conv3d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module

__all__ = ["convert_conv2d_weight_memory_format", "convert_conv3d_weight_memory_format"]

_M = TypeVar("_M", bound=Module)


def _convert(module: Module, memory_format: Any, kinds: tuple, who: str) -> None:
    if not isinstance(memory_format, backend.memory_format):
        raise TypeError(f"{who}(): memory_format must be an edunn.memory_format, got "
                        f"{type(memory_format).__name__}")
    if isinstance(module, kinds):
        module.weight.data = module.weight.detach().clone(memory_format=memory_format)
    for child in module.children():
        _convert(child, memory_format, kinds, who)


def convert_conv2d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    r"""Convert the ``memory_format`` of every ``nn.Conv2d``/``nn.ConvTranspose2d`` weight in
    ``module`` (recursively, ``module`` included); see the module docstring for what a memory
    format means in edunn.

    Args:
        module (nn.Module): ``nn.Conv2d`` & ``nn.ConvTranspose2d`` or container ``nn.Module``
        memory_format: user specified ``memory_format``, e.g. ``edunn.channels_last`` or
            ``edunn.contiguous_format``

    Returns:
        The original module with updated ``nn.Conv2d``
    """
    _convert(module, memory_format, (Conv2d, ConvTranspose2d), "convert_conv2d_weight_memory_format")
    return module


def convert_conv3d_weight_memory_format(module: _M, memory_format: Any) -> _M:
    r"""Convert the ``memory_format`` of every ``nn.Conv3d``/``nn.ConvTranspose3d`` weight in
    ``module`` (recursively, ``module`` included); see the module docstring.

    Args:
        module (nn.Module): ``nn.Conv3d`` & ``nn.ConvTranspose3d`` or container ``nn.Module``
        memory_format: user specified ``memory_format``, e.g. ``edunn.channels_last_3d`` or
            ``edunn.contiguous_format``

    Returns:
        The original module with updated ``nn.Conv3d``
    """
    _convert(module, memory_format, (Conv3d, ConvTranspose3d), "convert_conv3d_weight_memory_format")
    return module
