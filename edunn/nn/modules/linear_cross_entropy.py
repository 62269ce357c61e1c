"""``LinearCrossEntropyLoss`` (lesson 06): a ``Linear`` head and cross-entropy in one module, and
``LinearCrossEntropyOptions``, the switch to the chunked computation that never holds the whole
``(N, C)`` logits.

The module holds the ``Linear`` (its weight stored flat, ``(C * prod(out_features), F)``, as in
PyTorch, reshaped to ``(C, *out_features, F)`` in ``forward``), the class weights (a buffer) and the
options, and calls :func:`edunn.nn.functional.linear_cross_entropy`, where the equations are.
"""
from __future__ import annotations

import math
from typing import Any

from ...tensor import Tensor
from .. import functional as F
from ..functional.linear_cross_entropy import LinearCrossEntropyOptions
from .linear import Linear
from .loss import _WeightedLoss

__all__ = ["LinearCrossEntropyLoss", "LinearCrossEntropyOptions"]


class LinearCrossEntropyLoss(_WeightedLoss):
    r"""``cross_entropy(linear(input), target)`` with a learnable ``Linear(in_features,
    num_classes * prod(out_features), bias=bias)``.

    Input ``(F)`` or ``(N, F)``; target class indices ``()``, ``(N)`` or ``(N, *out_features)``,
    or class probabilities ``(C)`` / ``(N, C, *out_features)``.  ``ignore_index=None`` means -100
    for class indices; ``options`` (a :class:`LinearCrossEntropyOptions`) selects the chunked
    path, ``None`` the reference one.  Lesson 06."""

    __constants__ = ["num_classes", "out_features", "reduction", "ignore_index", "label_smoothing"]

    def __init__(self, in_features: int, num_classes: int, *, out_features: tuple[int, ...] = (),
                 bias: bool = False, device: Any = None, dtype: Any = None, reduction: str = "mean",
                 weight: Tensor | None = None, ignore_index: int | None = None,
                 label_smoothing: float = 0.0, options: LinearCrossEntropyOptions | None = None) -> None:
        if weight is not None and tuple(weight.shape) != (num_classes,):
            raise RuntimeError(f"expected weight shape to be {(num_classes,)}, got {tuple(weight.shape)}")
        if label_smoothing < 0 or label_smoothing > 1.0:
            raise RuntimeError(f"expected label_smoothing to be in range [0, 1], got {label_smoothing}")
        super().__init__(weight=weight, size_average=None, reduce=None, reduction=reduction)
        self.num_classes = num_classes
        self.out_features = out_features
        self.ignore_index = ignore_index
        self.label_smoothing = label_smoothing
        self.linear = Linear(in_features, math.prod(out_features, start=num_classes), bias=bias,
                             device=device, dtype=dtype)
        self.options = options

    def forward(self, input: Tensor, target: Tensor) -> Tensor:
        linear_weight = self.linear.weight.reshape((self.num_classes, *self.out_features, self.linear.in_features))
        linear_bias = (self.linear.bias.reshape((self.num_classes, *self.out_features))
                       if self.linear.bias is not None else None)
        return F.linear_cross_entropy(input, linear_weight, target, linear_bias=linear_bias, weight=self.weight,
                                      reduction=self.reduction, ignore_index=self.ignore_index,
                                      label_smoothing=self.label_smoothing, options=self.options)

    def extra_repr(self) -> str:
        return (f"in_features={self.linear.in_features}, num_classes={self.num_classes}, "
                f"out_features={self.out_features}, bias={self.linear.bias is not None}, "
                f"reduction={self.reduction}, ignore_index={self.ignore_index}, "
                f"label_smoothing={self.label_smoothing}, options={self.options}")
