"""``conv_tbc`` (lesson 09): 1-D convolution over a time-major sequence.

PyTorch's sequence models of the fairseq era keep activations as (Time, Batch, Channels), and
``conv_tbc`` convolves them over time without a transpose by the caller:

    out[t, b, o] = bias[o] + sum_{k, c} input[t + k - pad, b, c] weight[k, c, o]

(a cross-correlation, zeros outside the sequence).  It is ``conv1d`` with the axes moved:
input (T, B, C_in) -> (B, C_in, T), weight (K, C_in, C_out) -> (C_out, C_in, K), the result
(B, C_out, T_out) -> (T_out, B, C_out), with ``T_out = T + 2 pad - K + 1``.  A negative ``pad``
crops ``-pad`` steps from each end, as PyTorch's kernel does.  Gradients (for input, weight and
bias) are ``conv1d``'s and the permutations'.
"""
from __future__ import annotations

import operator

from ...tensor import Tensor
from .conv import conv1d
from ...amp import _policy as _autocast

__all__ = ["conv_tbc"]


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    r"""1-D sequence convolution with (Time, Batch, Channels) input: ``(T, B, C_in)``, weight
    ``(K, C_in, C_out)``, bias ``(C_out)`` -> ``(T + 2 pad - K + 1, B, C_out)``.  Lesson 09."""
    if _autocast.active and "conv_tbc" in _autocast.listed: return _autocast.call("conv_tbc", conv_tbc, input, weight, bias, pad)  # noqa: E501,E701
    for i, (name, t) in enumerate((("input", input), ("weight", weight), ("bias", bias))):
        if not isinstance(t, Tensor):
            raise TypeError(f"conv_tbc(): argument '{name}' (position {i + 1}) must be Tensor, "
                            f"not {type(t).__name__}")
    if isinstance(pad, bool) or not hasattr(pad, "__index__"):
        raise TypeError(f"conv_tbc(): argument 'pad' (position 4) must be int, not {type(pad).__name__}")
    pad = operator.index(pad)
    if input.dim() != 3:
        raise RuntimeError("Input must have 3 dims: time, batch, in_channel")
    if weight.dim() != 3:
        raise RuntimeError("Weight tensor must have 3 dims: kernel_width, in_channels, out_channels.")
    if bias.dim() != 1:
        raise RuntimeError("Bias must be 1-D")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    t, b, k = input.shape[0], input.shape[1], weight.shape[0]
    out_len = t + 2 * pad - k + 1
    if out_len < 0:
        raise RuntimeError(f"Trying to create tensor with negative dimension {out_len}: "
                           f"[{out_len}, {b}, {weight.shape[2]}]")
    if pad < 0:   # PyTorch's kernel simply skips the first and last -pad steps
        input, pad = input[-pad:t + pad], 0
    y = conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad)
    return y.permute(2, 0, 1)
