"""Padding layers (lesson 10), laid out like ``torch/nn/modules/padding.py``.

Each layer stores ``padding`` as PyTorch does -- ``(left, right)`` for 1d, ``(left, right, top,
bottom)`` for 2d, ``(left, right, top, bottom, front, back)`` for 3d, from an int or a tuple --
and calls ``F.pad`` with its mode: ``constant`` (``ZeroPad``, ``ConstantPad``), ``reflect``
(mirror without repeating the edge), ``replicate`` (repeat the edge) or ``circular`` (wrap
around).  One class per mode; the 1d/2d/3d classes only fix the tuple length.
"""
from __future__ import annotations

from typing import Any

from .. import functional as F
from .module import Module

__all__ = ["CircularPad1d", "CircularPad2d", "CircularPad3d", "ConstantPad1d", "ConstantPad2d", "ConstantPad3d",
           "ReflectionPad1d", "ReflectionPad2d", "ReflectionPad3d", "ReplicationPad1d", "ReplicationPad2d",
           "ReplicationPad3d", "ZeroPad1d", "ZeroPad2d", "ZeroPad3d"]


def _padding(value: Any, n: int) -> tuple:
    """``_pair``/``_quadruple``/``_ntuple(6)``: an int for every side, or the sides as given."""
    if isinstance(value, (tuple, list)):
        return tuple(value)
    return (value,) * n


class _PadNd(Module):
    __constants__ = ["padding"]
    _mode = "constant"
    _n = 1  # spatial dims

    def __init__(self, padding: Any) -> None:
        super().__init__()
        self.padding = _padding(padding, 2 * self._n)

    def forward(self, input: Any) -> Any:
        return F.pad(input, self.padding, self._mode)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class _CircularPadNd(_PadNd):
    _mode = "circular"

    def _check_input_dim(self, input: Any) -> None:
        n = self._n
        if input.dim() not in (n + 1, n + 2):
            raise ValueError(f"expected {n + 1}D or {n + 2}D input (got {input.dim()}D input)")

    def forward(self, input: Any) -> Any:
        self._check_input_dim(input)
        return F.pad(input, self.padding, "circular")


class CircularPad1d(_CircularPadNd):
    _n = 1


class CircularPad2d(_CircularPadNd):
    _n = 2


class CircularPad3d(_CircularPadNd):
    _n = 3


class _ConstantPadNd(_PadNd):
    __constants__ = ["padding", "value"]

    def __init__(self, padding: Any, value: float) -> None:
        super().__init__(padding)
        self.value = value

    def forward(self, input: Any) -> Any:
        return F.pad(input, self.padding, "constant", self.value)

    def extra_repr(self) -> str:
        return f"padding={self.padding}, value={self.value}"


class ConstantPad1d(_ConstantPadNd):
    _n = 1


class ConstantPad2d(_ConstantPadNd):
    _n = 2


class ConstantPad3d(_ConstantPadNd):
    _n = 3


class _ReflectionPadNd(_PadNd):
    _mode = "reflect"


class ReflectionPad1d(_ReflectionPadNd):
    _n = 1


class ReflectionPad2d(_ReflectionPadNd):
    _n = 2


class ReflectionPad3d(_ReflectionPadNd):
    _n = 3


class _ReplicationPadNd(_PadNd):
    _mode = "replicate"


class ReplicationPad1d(_ReplicationPadNd):
    _n = 1


class ReplicationPad2d(_ReplicationPadNd):
    _n = 2


class ReplicationPad3d(_ReplicationPadNd):
    _n = 3


class _ZeroPadNd(_ConstantPadNd):
    def __init__(self, padding: Any) -> None:
        super().__init__(padding, 0.0)

    def extra_repr(self) -> str:
        return f"{self.padding}"


class ZeroPad1d(_ZeroPadNd, ConstantPad1d):
    _n = 1


class ZeroPad2d(_ZeroPadNd, ConstantPad2d):
    _n = 2


class ZeroPad3d(_ZeroPadNd, ConstantPad3d):
    _n = 3
