"""``Identity``, ``Linear``, ``Bilinear`` and ``LazyLinear`` (lesson 05), as in
``torch/nn/modules/linear.py``: the modules hold the weights and their default initialisation;
the math is ``F.linear`` / ``F.bilinear``."""
from __future__ import annotations

import math
from typing import Any

from ... import autograd
from ...ops.creation import empty
from ...tensor import Tensor
from .. import functional as F, init
from ..parameter import Parameter, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["Identity", "Linear", "Bilinear", "LazyLinear"]


def _named_error(module: Module, err: RuntimeError) -> RuntimeError:
    """The functional's error (PyTorch's message first) followed by which layer raised it."""
    return RuntimeError(f"{err} (in {module._get_name()}({module.extra_repr()}))")


class Identity(Module):
    """A placeholder that returns its input unchanged; any constructor arguments are accepted and
    ignored (so it can stand in for any layer).  Shape: input ``(*)``, output ``(*)``."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__()

    def forward(self, input: Tensor) -> Tensor:
        return input


class Linear(Module):
    r"""Apply the affine map :math:`y = x A^T + b` (lesson 05).

    Args: ``in_features``, ``out_features``, ``bias`` (learn an additive bias, default True),
    ``device``/``dtype`` of the parameters.

    Shapes: input :math:`(*, H_{in})`, output :math:`(*, H_{out})`.

    Parameters: ``weight`` :math:`(H_{out}, H_{in})` and ``bias`` :math:`(H_{out})`, both drawn from
    :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})` with :math:`k = 1 / H_{in}` -- PyTorch's default,
    written as ``kaiming_uniform_(a=sqrt(5))``, whose bound ``sqrt(6 / ((1 + 5) fan_in))`` is
    exactly ``1 / sqrt(fan_in)``.
    """

    __constants__ = ["in_features", "out_features"]

    def __init__(self, in_features: int, out_features: int, bias: bool = True, device: Any = None,
                 dtype: Any = None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.in_features = in_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in_features), **factory_kwargs))
        if bias:
            self.bias = Parameter(empty(out_features, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        init.kaiming_uniform_(self.weight, a=math.sqrt(5))
        if self.bias is not None:
            fan_in, _ = init._calculate_fan_in_and_fan_out(self.weight)
            bound = 1 / math.sqrt(fan_in) if fan_in > 0 else 0
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input: Tensor) -> Tensor:
        try:
            return F.linear(input, self.weight, self.bias)
        except RuntimeError as err:
            raise _named_error(self, err) from None

    def extra_repr(self) -> str:
        return f"in_features={self.in_features}, out_features={self.out_features}, bias={self.bias is not None}"


class Bilinear(Module):
    r"""Apply :math:`y = x_1^T A x_2 + b` (one bilinear form per output feature).

    Shapes: input1 :math:`(*, H_{in1})`, input2 :math:`(*, H_{in2})` (same batch dims), output
    :math:`(*, H_{out})`.  Parameters: ``weight`` :math:`(H_{out}, H_{in1}, H_{in2})`, ``bias``
    :math:`(H_{out})`, both from :math:`\mathcal{U}(-\sqrt{k}, \sqrt{k})`, :math:`k = 1 / H_{in1}`.
    """

    __constants__ = ["in1_features", "in2_features", "out_features"]

    def __init__(self, in1_features: int, in2_features: int, out_features: int, bias: bool = True,
                 device: Any = None, dtype: Any = None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.in1_features = in1_features
        self.in2_features = in2_features
        self.out_features = out_features
        self.weight = Parameter(empty((out_features, in1_features, in2_features), **factory_kwargs))
        if bias:
            self.bias = Parameter(empty(out_features, **factory_kwargs))
        else:
            self.register_parameter("bias", None)
        self.reset_parameters()

    def reset_parameters(self) -> None:
        if self.in1_features <= 0:
            raise ValueError(f"in1_features must be > 0, but got (in1_features={self.in1_features})")
        bound = 1 / math.sqrt(self.weight.size(1))
        init.uniform_(self.weight, -bound, bound)
        if self.bias is not None:
            init.uniform_(self.bias, -bound, bound)

    def forward(self, input1: Tensor, input2: Tensor) -> Tensor:
        try:
            return F.bilinear(input1, input2, self.weight, self.bias)
        except RuntimeError as err:
            raise _named_error(self, err) from None

    def extra_repr(self) -> str:
        return (f"in1_features={self.in1_features}, in2_features={self.in2_features}, "
                f"out_features={self.out_features}, bias={self.bias is not None}")


class LazyLinear(LazyModuleMixin, Linear):
    """A ``Linear`` whose ``in_features`` is read from the last dim of its first input.

    Until then ``weight`` and ``bias`` are ``UninitializedParameter``s; the first call
    materialises them as ``(out_features, in_features)`` and ``(out_features,)``, initialises them
    as ``Linear`` does, and the module becomes a ``Linear``."""

    cls_to_become = Linear

    def __init__(self, out_features: int, bias: bool = True, device: Any = None, dtype: Any = None) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(0, 0, False)
        self.weight = UninitializedParameter(**factory_kwargs)
        self.out_features = out_features
        if bias:
            self.bias = UninitializedParameter(**factory_kwargs)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.in_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        if self.has_uninitialized_params():
            if not isinstance(input, Tensor) or input.dim() == 0:
                raise RuntimeError(f"LazyLinear: cannot infer in_features from "
                                   f"{'a 0-d tensor' if isinstance(input, Tensor) else type(input).__name__}; "
                                   "expected an input of shape (*, in_features)")
            with autograd.no_grad():
                self.in_features = input.shape[-1]
                self.weight.materialize((self.out_features, self.in_features))
                if self.bias is not None:
                    self.bias.materialize((self.out_features,))
                self.reset_parameters()
        if self.in_features == 0:
            if input.shape[-1] != self.weight.shape[-1]:
                raise AssertionError(f"The in_features inferred from input: {input.shape[-1]} is not equal "
                                     f"to in_features from self.weight: {self.weight.shape[-1]}")
            self.in_features = input.shape[-1]
