r"""Folding an eval-mode BatchNorm into the layer before it (``torch.nn.utils.fusion``).

In eval mode BatchNorm is a fixed per-channel affine map of its input ``y``::

    bn(y) = (y - running_mean) / sqrt(running_var + eps) * gamma + beta

and when ``y = W x + b`` comes from a convolution or a linear layer, the two compose into one
layer of the same kind (lesson 11)::

    scale = gamma / sqrt(running_var + eps)                       (one number per channel)
    W'    = W * scale        (scale broadcast along output channels)
    b'    = (b - running_mean) * scale + beta

so inference runs one layer instead of two.  A ``ConvTranspose`` weight has its output channels
on dimension 1 (``(in, out / groups, *kernel)``), hence ``transpose=True`` scales along that
dimension instead of dimension 0.  The ``*_eval`` functions deep-copy the layer and give the
copy the fused parameters; the ``*_weights`` functions return the two new ``Parameter``\s.
"""
from __future__ import annotations

import copy
from typing import Optional, TypeVar

from ...ops import creation as _cr
from ...tensor import Tensor
from ..modules.batchnorm import _BatchNorm
from ..modules.conv import _ConvNd
from ..modules.linear import Linear
from ..parameter import Parameter

__all__ = ["fuse_conv_bn_eval", "fuse_conv_bn_weights", "fuse_linear_bn_eval", "fuse_linear_bn_weights"]

ConvT = TypeVar("ConvT", bound=_ConvNd)
LinearT = TypeVar("LinearT", bound=Linear)


def fuse_conv_bn_eval(conv: ConvT, bn: _BatchNorm, transpose: bool = False) -> ConvT:
    r"""A new convolution computing ``bn(conv(x))`` (both must be in eval mode, ``bn`` with
    running statistics).

    Args:
        conv (nn.modules.conv._ConvNd): A convolutional module.
        bn (nn.modules.batchnorm._BatchNorm): A BatchNorm module.
        transpose (bool, optional): If True, transpose the convolutional weight (for
            ``ConvTranspose``). Defaults to False.

    Returns:
        The fused convolutional module (a deep copy of ``conv``).
    """
    if conv.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused_conv = copy.deepcopy(conv)
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_conv.weight, fused_conv.bias = fuse_conv_bn_weights(
        fused_conv.weight, fused_conv.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias,
        transpose)
    return fused_conv


def fuse_conv_bn_weights(conv_w: Tensor, conv_b: Optional[Tensor], bn_rm: Tensor, bn_rv: Tensor, bn_eps: float,
                         bn_w: Optional[Tensor], bn_b: Optional[Tensor],
                         transpose: bool = False) -> tuple[Parameter, Parameter]:
    r"""The fused convolution weight and bias (module docstring); a missing ``conv_b``/``bn_b``
    counts as zeros and a missing ``bn_w`` as ones.  The results keep the convolution's dtypes.

    Args:
        conv_w (Tensor): Convolutional weight.
        conv_b (Optional[Tensor]): Convolutional bias.
        bn_rm (Tensor): BatchNorm running mean.
        bn_rv (Tensor): BatchNorm running variance.
        bn_eps (float): BatchNorm epsilon.
        bn_w (Optional[Tensor]): BatchNorm weight.
        bn_b (Optional[Tensor]): BatchNorm bias.
        transpose (bool, optional): If True, transpose the conv weight. Defaults to False.

    Returns:
        Tuple[Parameter, Parameter]: Fused convolutional weight and bias.
    """
    conv_weight_dtype = conv_w.dtype
    conv_bias_dtype = conv_b.dtype if conv_b is not None else conv_weight_dtype
    if conv_b is None:
        conv_b = _cr.zeros_like(bn_rm)
    if bn_w is None:
        bn_w = _cr.ones_like(bn_rm)
    if bn_b is None:
        bn_b = _cr.zeros_like(bn_rm)
    bn_var_rsqrt = (bn_rv + bn_eps).rsqrt()
    # the per-channel scale goes along the output-channel dimension of the weight
    if transpose:
        shape = [1, -1] + [1] * (len(conv_w.shape) - 2)
    else:
        shape = [-1, 1] + [1] * (len(conv_w.shape) - 2)
    fused_conv_w = (conv_w * (bn_w * bn_var_rsqrt).reshape(shape)).to(dtype=conv_weight_dtype)
    fused_conv_b = ((conv_b - bn_rm) * bn_var_rsqrt * bn_w + bn_b).to(dtype=conv_bias_dtype)
    return Parameter(fused_conv_w, conv_w.requires_grad), Parameter(fused_conv_b, conv_b.requires_grad)


def fuse_linear_bn_eval(linear: LinearT, bn: _BatchNorm) -> LinearT:
    r"""A new ``Linear`` computing ``bn(linear(x))`` (both in eval mode, ``bn`` with running
    statistics, and ``bn.num_features`` equal to ``linear.out_features`` or 1).

    Args:
        linear (nn.Linear): A Linear module.
        bn (nn.modules.batchnorm._BatchNorm): A BatchNorm module.

    Returns:
        The fused linear module (a deep copy of ``linear``).
    """
    if linear.training or bn.training:
        raise AssertionError("Fusion only for eval!")
    fused_linear = copy.deepcopy(linear)
    # bn's channels must broadcast against linear's output features for the shapes to stay
    if linear.out_features != bn.num_features and bn.num_features != 1:
        raise AssertionError("To fuse, linear.out_features == bn.num_features or bn.num_features == 1, "
                             f"got linear.out_features={linear.out_features} and bn.num_features={bn.num_features}")
    if bn.running_mean is None or bn.running_var is None:
        raise AssertionError("bn.running_mean and bn.running_var must not be None")
    fused_linear.weight, fused_linear.bias = fuse_linear_bn_weights(
        fused_linear.weight, fused_linear.bias, bn.running_mean, bn.running_var, bn.eps, bn.weight, bn.bias)
    return fused_linear


def fuse_linear_bn_weights(linear_w: Tensor, linear_b: Optional[Tensor], bn_rm: Tensor, bn_rv: Tensor,
                           bn_eps: float, bn_w: Tensor, bn_b: Tensor) -> tuple[Parameter, Parameter]:
    r"""The fused linear weight and bias (module docstring); a missing ``linear_b`` counts as
    zeros.  The results keep the linear layer's dtypes.

    Args:
        linear_w (Tensor): Linear weight.
        linear_b (Optional[Tensor]): Linear bias.
        bn_rm (Tensor): BatchNorm running mean.
        bn_rv (Tensor): BatchNorm running variance.
        bn_eps (float): BatchNorm epsilon.
        bn_w (Tensor): BatchNorm weight.
        bn_b (Tensor): BatchNorm bias.

    Returns:
        Tuple[Parameter, Parameter]: Fused linear weight and bias.
    """
    linear_weight_dtype = linear_w.dtype
    linear_bias_dtype = linear_b.dtype if linear_b is not None else linear_weight_dtype
    if linear_b is None:
        linear_b = _cr.zeros_like(bn_rm)
    bn_scale = bn_w * (bn_rv + bn_eps).rsqrt()
    fused_w = linear_w * bn_scale.unsqueeze(-1).to(dtype=linear_weight_dtype)
    fused_b = ((linear_b - bn_rm) * bn_scale + bn_b).to(dtype=linear_bias_dtype)
    return Parameter(fused_w, linear_w.requires_grad), Parameter(fused_b, linear_b.requires_grad)
