"""``torch.conv2d``, ``torch.dropout``, ``torch.kl_div`` ...: the kernels PyTorch also exposes at
the top level, with their *native* signatures (lesson 05 onwards).

PyTorch's ``nn.functional`` is a Python layer over ATen kernels, and ``torch`` exports many of
those kernels directly.  Their arguments are the kernel's, not ``F``'s: ``torch.dropout(input,
p, train)`` has no defaults, ``torch.embedding(weight, input)`` takes the table first, and a loss
takes ``reduction`` as an int (``0`` none, ``1`` mean, ``2`` sum; ``_Reduction.get_enum``),
which when left out is 0 (see the losses below).
Every function here only translates those conventions and calls ``edunn.nn.functional``, where
the math lives once.  It sits in ``nn`` (not ``ops``) because it uses ``nn.functional``.
"""
from __future__ import annotations

import warnings
from typing import Any, Sequence

from ..tensor import Tensor
from .. import backend
from . import functional as F
from .functional.dropout import _check_p, _check_tensor, _dropout_impl, _keep_mask
from .functional.conv import (conv1d, conv2d, conv3d, conv_transpose1d, conv_transpose2d,
                              conv_transpose3d)
from .functional.pooling import avg_pool1d
from .functional import adaptive_avg_pool1d
from .functional.rnn import rnn_tanh_cell, rnn_relu_cell, lstm_cell, gru_cell, rnn_forward
from .functional import (bilinear, cosine_similarity, pairwise_distance, pdist, pixel_shuffle,
                         pixel_unshuffle, channel_shuffle, prelu, selu_, celu_, rrelu_, threshold_,
                         hardshrink, relu_, rms_norm)

__all__ = [
    # identical to nn.functional's (the same function object)
    "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
    "avg_pool1d", "adaptive_avg_pool1d", "bilinear", "cosine_similarity", "pairwise_distance",
    "pdist", "pixel_shuffle", "pixel_unshuffle", "channel_shuffle", "prelu", "selu_", "celu_",
    "rrelu_", "threshold_", "hardshrink", "relu_", "rms_norm",
    "rnn_tanh_cell", "rnn_relu_cell", "lstm_cell", "gru_cell",
    # native signatures
    "max_pool1d", "max_pool2d", "max_pool3d", "max_pool1d_with_indices", "adaptive_max_pool1d",
    "dropout", "dropout_", "alpha_dropout", "alpha_dropout_", "feature_dropout", "feature_dropout_",
    "feature_alpha_dropout", "feature_alpha_dropout_",
    "batch_norm", "instance_norm", "layer_norm", "group_norm", "embedding",
    "native_batch_norm", "native_layer_norm", "native_group_norm", "native_dropout", "convolution",
    "rnn_tanh", "rnn_relu", "lstm", "gru",
    "selu", "celu", "rrelu", "threshold", "constant_pad_nd",
    "kl_div", "binary_cross_entropy_with_logits", "cosine_embedding_loss", "hinge_embedding_loss",
    "margin_ranking_loss", "triplet_margin_loss", "poisson_nll_loss", "ctc_loss",
    "embedding_bag", "conv_tbc", "grid_sampler", "grid_sampler_2d", "grid_sampler_3d", "affine_grid_generator",
]

def _reduction(reduction: int, who: str) -> str:
    """``reduction`` as ``F`` spells it.  ATen's kernels take the enum: ``1`` is mean, ``2`` sum,
    and any other int (``0`` by name) no reduction -- PyTorch's kernels test only for 1 and 2."""
    if isinstance(reduction, bool) or not isinstance(reduction, int):
        raise TypeError(f"{who}(): argument 'reduction' must be int, not {type(reduction).__name__}")
    return {1: "mean", 2: "sum"}.get(reduction, "none")


def _stride(stride: Any) -> Any:
    # ATen's `int[] stride=[]`: empty means "the kernel size", which F spells None
    return None if stride is None or (isinstance(stride, (tuple, list)) and len(stride) == 0) else stride


# ---- pooling ---------------------------------------------------------------------------------
def max_pool1d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """ATen's ``max_pool1d``: :func:`edunn.nn.functional.max_pool1d` without ``return_indices``."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool2d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """ATen's ``max_pool2d``: :func:`edunn.nn.functional.max_pool2d` without ``return_indices``."""
    return F.max_pool2d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool3d(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0, dilation: Any = 1,
               ceil_mode: bool = False) -> Tensor:
    """ATen's ``max_pool3d``: :func:`edunn.nn.functional.max_pool3d` without ``return_indices``."""
    return F.max_pool3d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode)


def max_pool1d_with_indices(input: Tensor, kernel_size: Any, stride: Any = (), padding: Any = 0,
                            dilation: Any = 1, ceil_mode: bool = False) -> tuple:
    """``(values, indices)`` of :func:`max_pool1d`."""
    return F.max_pool1d(input, kernel_size, _stride(stride), padding, dilation, ceil_mode,
                        return_indices=True)


def adaptive_max_pool1d(input: Tensor, output_size: Any) -> tuple:
    """ATen's ``adaptive_max_pool1d``: always ``(values, indices)``."""
    return F.adaptive_max_pool1d(input, output_size, return_indices=True)


# ---- dropout: (input, p, train), no defaults ---------------------------------------------------
def dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """:func:`edunn.nn.functional.dropout` with ATen's ``train`` for ``training``."""
    return F.dropout(input, p, train)


def dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    """In-place :func:`dropout`; returns ``input``."""
    return F.dropout(input, p, train, inplace=True)


def native_dropout(input: Tensor, p: float, train: bool | None) -> tuple:
    """Dropout and its mask: ``(input * mask / (1 - p), mask)``, the mask boolean (True: kept).
    ``train=False`` keeps everything (the output is a copy); ``None`` means training."""
    from ..ops.creation import ones
    _check_tensor(input, "native_dropout")
    if not 0.0 <= 1 - p <= 1.0:
        raise RuntimeError(f"bernoulli_ expects p to be in [0, 1], but got p={1 - p}")
    if train is False or p == 0:
        return input * 1, ones(input.shape, dtype=backend.bool_, device=input.device)
    mask = Tensor._make(_keep_mask(input, p, tuple(input.shape)))
    return input * mask * (1.0 / (1.0 - p) if p < 1 else 0.0), mask


def convolution(input: Tensor, weight: Tensor, bias: Tensor | None, stride: Sequence[int], padding: Sequence[int],
                dilation: Sequence[int], transposed: bool, output_padding: Sequence[int], groups: int) -> Tensor:
    """ATen's one convolution entry point: ``conv1d/2d/3d`` or, ``transposed``, ``conv_transpose``
    of the dimension the weight gives (``weight.dim() - 2``), every argument required."""
    n = weight.dim() - 2
    if n not in (1, 2, 3):
        raise RuntimeError(f"Expected 3D, 4D or 5D weight for convolution, but got weight of size {list(weight.shape)}")
    if transposed:
        conv = (conv_transpose1d, conv_transpose2d, conv_transpose3d)[n - 1]
        return conv(input, weight, bias, stride, padding, output_padding, groups, dilation)
    return (conv1d, conv2d, conv3d)[n - 1](input, weight, bias, stride, padding, dilation, groups)


def alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.alpha_dropout(input, p, train)


def alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return F.alpha_dropout(input, p, train, inplace=True)


def feature_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    """Dropout of whole channels: one draw per ``input.shape[:2]`` (what ``dropout1d/2d/3d``
    call, for any number of spatial dims)."""
    _check_tensor(input, "feature_dropout")
    _check_p(p)
    return _dropout_impl(input, p, train, False, feature=True, alpha=False)


def feature_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    _check_tensor(input, "feature_dropout_")
    _check_p(p)
    return _dropout_impl(input, p, train, True, feature=True, alpha=False)


def feature_alpha_dropout(input: Tensor, p: float, train: bool) -> Tensor:
    return F.feature_alpha_dropout(input, p, train)


def feature_alpha_dropout_(input: Tensor, p: float, train: bool) -> Tensor:
    return F.feature_alpha_dropout(input, p, train, inplace=True)


# ---- normalization -----------------------------------------------------------------------------
def batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
               running_var: Tensor | None, training: bool, momentum: float, eps: float,
               cudnn_enabled: bool) -> Tensor:
    """ATen's order (affine parameters first, every argument required).  ``cudnn_enabled`` picks
    a GPU library in PyTorch and does nothing here."""
    return F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)


def _statistics(stats: list, input: Tensor, shape: tuple) -> tuple:
    """The ``(mean, rstd)`` tensors of the one normalisation recorded in ``stats``, in ``shape``
    and the input's dtype (no graph: PyTorch's are not differentiable).  Nothing recorded (an
    input with no element to normalise): a mean of 0 and an rstd of NaN, as PyTorch gives."""
    from ..ops.creation import full
    if not stats:
        return (full(shape, 0.0, dtype=input.dtype, device=input.device),
                full(shape, float("nan"), dtype=input.dtype, device=input.device))
    return tuple(Tensor._make(a.reshape(shape).astype(input._data.dtype, copy=False)) for a in stats[-1])


def native_layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None,
                      bias: Tensor | None, eps: float) -> tuple:
    """:func:`layer_norm` and the statistics it normalised with: ``(out, mean, rstd)``, where
    ``rstd = 1 / sqrt(var + eps)`` and both keep the normalised dims as size 1."""
    from .functional.normalization import statistics_of_normalize
    with statistics_of_normalize() as stats:
        out = F.layer_norm(input, normalized_shape, weight, bias, eps)
    k = len(tuple(normalized_shape))
    return (out,) + _statistics(stats, input, tuple(input.shape[:input.dim() - k]) + (1,) * k)


def native_group_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, N: int, C: int,
                      HxW: int, group: int, eps: float) -> tuple:
    """:func:`group_norm` of the ``(N, C, *)`` input (``HxW`` = the product of ``*``) and its
    statistics: ``(out, mean, rstd)``, each ``(N, group)``."""
    from .functional.normalization import statistics_of_normalize
    if input.numel() != N * C * HxW:
        raise RuntimeError("Expected X.numel() == N * C * HxW to be true, but got false.")
    with statistics_of_normalize() as stats:
        out = F.group_norm(input, group, weight, bias, eps)
    return (out,) + _statistics(stats, input, (N, group))


def native_batch_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                      running_var: Tensor | None, training: bool, momentum: float, eps: float) -> tuple:
    """:func:`batch_norm` and the batch statistics it saved: ``(out, save_mean, save_invstd)``,
    each ``(C,)``, in training; in evaluation (normalised by the running statistics) the two are
    empty, as on PyTorch's CPU."""
    from ..ops.creation import empty
    from .functional.normalization import statistics_of_normalize
    with statistics_of_normalize() as stats:
        out = F.batch_norm(input, running_mean, running_var, weight, bias, training, momentum, eps)
    if not training:
        return out, empty(0, dtype=input.dtype, device=input.device), empty(0, dtype=input.dtype, device=input.device)
    return (out,) + _statistics(stats, input, (input.shape[1],))


def instance_norm(input: Tensor, weight: Tensor | None, bias: Tensor | None, running_mean: Tensor | None,
                  running_var: Tensor | None, use_input_stats: bool, momentum: float, eps: float,
                  cudnn_enabled: bool) -> Tensor:
    """ATen's order, as :func:`batch_norm`; ``cudnn_enabled`` does nothing here."""
    return F.instance_norm(input, running_mean, running_var, weight, bias, use_input_stats, momentum, eps)


def layer_norm(input: Tensor, normalized_shape: Sequence[int], weight: Tensor | None = None,
               bias: Tensor | None = None, eps: float = 1e-05, cudnn_enable: bool = True) -> Tensor:
    """:func:`edunn.nn.functional.layer_norm`; ``cudnn_enable`` does nothing here."""
    return F.layer_norm(input, normalized_shape, weight, bias, eps)


def group_norm(input: Tensor, num_groups: int, weight: Tensor | None = None, bias: Tensor | None = None,
               eps: float = 1e-05, cudnn_enabled: bool = True) -> Tensor:
    """:func:`edunn.nn.functional.group_norm`; ``cudnn_enabled`` does nothing here."""
    return F.group_norm(input, num_groups, weight, bias, eps)


# ---- embedding: the table comes first ----------------------------------------------------------
def embedding(weight: Tensor, indices: Tensor, padding_idx: int = -1, scale_grad_by_freq: bool = False,
              sparse: bool = False) -> Tensor:
    """ATen's ``embedding(weight, indices)``: the table first, and a negative ``padding_idx``
    means none (``F`` turns its own negative index into a row number before calling this)."""
    return F.embedding(indices, weight, None if padding_idx < 0 else padding_idx,
                       scale_grad_by_freq=scale_grad_by_freq, sparse=sparse)


# ---- activations without F's `inplace` ---------------------------------------------------------
def selu(input: Tensor) -> Tensor:
    return F.selu(input)


def celu(input: Tensor, alpha: float = 1.0) -> Tensor:
    return F.celu(input, alpha)


def rrelu(input: Tensor, lower: float = 1.0 / 8, upper: float = 1.0 / 3, training: bool = False) -> Tensor:
    """:func:`edunn.nn.functional.rrelu` (ATen's ``generator=`` is not taken: slopes come from
    the default generator)."""
    return F.rrelu(input, lower, upper, training)


def threshold(input: Tensor, threshold: float, value: float) -> Tensor:
    return F.threshold(input, threshold, value)


def constant_pad_nd(input: Tensor, pad: Sequence[int], value: float = 0) -> Tensor:
    """``F.pad(input, pad, "constant", value)``."""
    return F.pad(input, pad, "constant", value)


# ---- losses: reduction is ATen's int enum ------------------------------------------------------
# ATen declares ``reduction=at::Reduction::Mean``, but PyTorch's Python argument parser reads
# that default as 0: ``torch.kl_div(x, t)`` is *unreduced*.  The defaults here are 0 to match what
# torch does (checked by calling it), not what its schema says.
def kl_div(input: Tensor, target: Tensor, reduction: int = 0, *, log_target: bool = False) -> Tensor:
    r = _reduction(reduction, "kl_div")
    with warnings.catch_warnings():  # F's warning about 'mean' is for F's string; the kernel is silent
        warnings.filterwarnings("ignore", message="reduction: 'mean' divides")
        return F.kl_div(input, target, reduction=r, log_target=log_target)


def binary_cross_entropy_with_logits(input: Tensor, target: Tensor, weight: Tensor | None = None,
                                     pos_weight: Tensor | None = None, reduction: int = 0) -> Tensor:
    r = _reduction(reduction, "binary_cross_entropy_with_logits")
    return F.binary_cross_entropy_with_logits(input, target, weight, reduction=r, pos_weight=pos_weight)


def cosine_embedding_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                          reduction: int = 0) -> Tensor:
    r = _reduction(reduction, "cosine_embedding_loss")
    return F.cosine_embedding_loss(input1, input2, target, margin, reduction=r)


def hinge_embedding_loss(input: Tensor, target: Tensor, margin: float = 1.0, reduction: int = 0) -> Tensor:
    r = _reduction(reduction, "hinge_embedding_loss")
    return F.hinge_embedding_loss(input, target, margin, reduction=r)


def margin_ranking_loss(input1: Tensor, input2: Tensor, target: Tensor, margin: float = 0.0,
                        reduction: int = 0) -> Tensor:
    r = _reduction(reduction, "margin_ranking_loss")
    return F.margin_ranking_loss(input1, input2, target, margin, reduction=r)


def triplet_margin_loss(anchor: Tensor, positive: Tensor, negative: Tensor, margin: float = 1.0,
                        p: float = 2.0, eps: float = 1e-06, swap: bool = False, reduction: int = 0) -> Tensor:
    r = _reduction(reduction, "triplet_margin_loss")
    return F.triplet_margin_loss(anchor, positive, negative, margin, p, eps, swap, reduction=r)


def poisson_nll_loss(input: Tensor, target: Tensor, log_input: bool, full: bool, eps: float,
                     reduction: int) -> Tensor:
    """ATen's ``poisson_nll_loss``: every argument required."""
    r = _reduction(reduction, "poisson_nll_loss")
    return F.poisson_nll_loss(input, target, log_input, full, eps=eps, reduction=r)


def ctc_loss(log_probs: Tensor, targets: Tensor, input_lengths: Any, target_lengths: Any, blank: int = 0,
             reduction: int = 0, zero_infinity: bool = False) -> Tensor:
    r = _reduction(reduction, "ctc_loss")
    return F.ctc_loss(log_probs, targets, input_lengths, target_lengths, blank, r, zero_infinity)


# ---- embedding_bag, conv_tbc, the sampling-grid kernels -----------------------------------------
_BAG_MODES = ("sum", "mean", "max")


@backend.on_input_device
def embedding_bag(weight: Tensor, indices: Tensor, offsets: Tensor, scale_grad_by_freq: bool = False,
                  mode: int = 0, sparse: bool = False, per_sample_weights: Tensor | None = None,
                  include_last_offset: bool = False, padding_idx: int | None = None) -> tuple:
    """ATen's ``embedding_bag``: the table first, ``mode`` an int (0 sum, 1 mean, 2 max), and four
    results ``(output, offset2bag, bag_size, max_indices)``.  ``output`` is
    :func:`edunn.nn.functional.embedding_bag`'s; the other three are what the kernel keeps for
    its backward: the bag of each index, each bag's size (padding rows left out) and, in max
    mode, the table row that gave each maximum (in mean mode the bag sizes again).  In sum mode PyTorch's CPU kernel
    needs no sizes and returns zeros for them, as edunn does; its float32/float16 fast path
    (FBGEMM) also leaves ``offset2bag`` empty, which edunn always fills (as PyTorch's float64)."""
    if isinstance(mode, bool) or not isinstance(mode, int) or not 0 <= mode <= 2:
        raise ValueError(f"embedding_bag(): mode has to be 0 (sum), 1 (mean) or 2 (max), got {mode!r}")
    out = F.embedding_bag(indices, weight, offsets, scale_grad_by_freq=scale_grad_by_freq,
                          mode=_BAG_MODES[mode], sparse=sparse, per_sample_weights=per_sample_weights,
                          include_last_offset=include_last_offset, padding_idx=padding_idx)
    xp = backend.array_module(weight._data)
    idx = backend.to_device(indices._data, weight.device).reshape(-1).astype(xp.int64)
    n_bags, length = out.shape[0], idx.shape[0]
    if indices.ndim == 2:
        starts = xp.arange(n_bags, dtype=xp.int64) * indices.shape[1]
    else:
        starts = backend.to_device(offsets._data, weight.device).astype(xp.int64)[:n_bags]
    bag = xp.searchsorted(starts, xp.arange(length), side="right").astype(xp.int64) - 1
    valid = bag >= 0 if padding_idx is None else (bag >= 0) & (idx != padding_idx % weight.shape[0])
    zeros = xp.zeros(n_bags, dtype=xp.int64)
    if mode == 0:
        offset2bag, bag_size, max_indices = bag, zeros, zeros
    else:
        offset2bag = bag
        bag_size = xp.bincount(bag[valid], minlength=n_bags).astype(xp.int64)
        max_indices = bag_size
        if mode == 2:
            # the first position of each bag whose row attains the maximum, per column
            rows = weight._data[idx]
            hit = (rows == out._data[xp.maximum(bag, 0)]) & valid[:, None]
            first = xp.full(out.shape, length, dtype=xp.int64)
            pos = xp.where(hit, xp.arange(length, dtype=xp.int64)[:, None], length)
            backend.scatter_reduce_at(first, xp.maximum(bag, 0), pos, "minimum")
            max_indices = xp.concatenate([idx, xp.zeros(1, dtype=xp.int64)])[first]
    return (out,) + tuple(Tensor._make(a) for a in (offset2bag, bag_size, max_indices))


def conv_tbc(input: Tensor, weight: Tensor, bias: Tensor, pad: int = 0) -> Tensor:
    """A 1-D convolution laid out time-first: ``input`` (T, N, C_in), ``weight`` (K, C_in,
    C_out), ``bias`` (C_out), ``pad`` zeros at both ends of time -> (T + 2 pad - K + 1, N, C_out).
    It is ``conv1d`` on the permuted tensors (a cross-correlation, as all of PyTorch's convs)."""
    for name, t, nd in (("input", input, 3), ("weight", weight, 3), ("bias", bias, 1)):
        if not isinstance(t, Tensor):
            raise TypeError(f"conv_tbc(): argument '{name}' must be Tensor, not {type(t).__name__}")
        if t.ndim != nd:
            raise RuntimeError(f"{name} must have {nd} dims")
    if input.shape[2] != weight.shape[1]:
        raise RuntimeError("Input dim 2 (input channels) is not == dim 1 in the weight tensor")
    if weight.shape[2] != bias.shape[0]:
        raise RuntimeError("Bias size must equal dim 2 in the weight tensor (output channels).")
    return conv1d(input.permute(1, 2, 0), weight.permute(2, 1, 0), bias, padding=pad).permute(2, 0, 1)


_INTERPOLATION = ("bilinear", "nearest", "bicubic")
_PADDING = ("zeros", "border", "reflection")


def grid_sampler(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                 align_corners: bool) -> Tensor:
    """ATen's ``grid_sampler``: :func:`edunn.nn.functional.grid_sample` with the modes as ints
    (interpolation 0 bilinear, 1 nearest, 2 bicubic; padding 0 zeros, 1 border, 2 reflection)."""
    if interpolation_mode not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): expected interpolation_mode to be 0 (bilinear), 1 (nearest) or "
                           f"2 (bicubic), but got: {interpolation_mode}")
    if padding_mode not in (0, 1, 2):
        raise RuntimeError(f"grid_sampler(): expected padding_mode to be 0 (zeros), 1 (border) or "
                           f"2 (reflection), but got: {padding_mode}")
    return F.grid_sample(input, grid, _INTERPOLATION[interpolation_mode], _PADDING[padding_mode],
                         align_corners)


def _grid_sampler_nd(nd: int, input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                     align_corners: bool) -> Tensor:
    if input.ndim != nd or grid.ndim != nd:
        raise RuntimeError(f"grid_sampler(): expected {nd}D input and grid with same number of dimensions, but got "
                           f"input with sizes {list(input.shape)} and grid with sizes {list(grid.shape)}")
    return grid_sampler(input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_2d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """:func:`grid_sampler` for 4-D ``input`` (N, C, H, W) and ``grid`` (N, H_out, W_out, 2)."""
    return _grid_sampler_nd(4, input, grid, interpolation_mode, padding_mode, align_corners)


def grid_sampler_3d(input: Tensor, grid: Tensor, interpolation_mode: int, padding_mode: int,
                    align_corners: bool) -> Tensor:
    """:func:`grid_sampler` for 5-D ``input`` (N, C, D, H, W) and ``grid`` (N, D_out, H_out, W_out, 3)."""
    return _grid_sampler_nd(5, input, grid, interpolation_mode, padding_mode, align_corners)


def affine_grid_generator(theta: Tensor, size: Sequence[int], align_corners: bool) -> Tensor:
    """ATen's ``affine_grid_generator``: :func:`edunn.nn.functional.affine_grid` with
    ``align_corners`` required."""
    return F.affine_grid(theta, list(size), align_corners)


# ------------------------------------------------------------------------------ whole recurrent layers
def _recurrent(mode: str, input: Tensor, hx: Any, params: Any, has_biases: Any, num_layers: Any, dropout: Any,
               train: Any, bidirectional: Any, batch_first: Any) -> tuple:
    """ATen's ``rnn_tanh``/``rnn_relu``/``lstm``/``gru``, both overloads: ``(input, hx, params,
    has_biases, num_layers, dropout, train, bidirectional, batch_first)``, or for a packed
    sequence ``(data, batch_sizes, hx, params, has_biases, num_layers, dropout, train,
    bidirectional)`` -- told apart, as PyTorch's binding does, by the types: ``params`` (a list)
    is where ``has_biases`` (a bool) would be.  ``params`` is a module's ``_flat_weights``.
    Returns ``(output, h_n)``, with ``c_n`` for an LSTM."""
    batch_sizes = None
    if isinstance(has_biases, (list, tuple)):  # the packed overload: every argument one place on
        batch_sizes = hx.tolist() if isinstance(hx, Tensor) else list(hx)
        hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first = \
            params, has_biases, num_layers, dropout, train, bidirectional, batch_first, False
    hx = tuple(hx) if mode == "LSTM" else (hx,)
    params = list(params)
    per = len(params) // (num_layers * (2 if bidirectional else 1))
    proj_size = params[per - 1].shape[0] if mode == "LSTM" and per == 3 + 2 * bool(has_biases) else 0
    x = input.transpose(0, 1) if batch_first and batch_sizes is None else input
    out = rnn_forward(mode, x, batch_sizes, hx, params, bool(has_biases), int(num_layers), float(dropout),
                      bool(train), bool(bidirectional), proj_size)
    output = out[0].transpose(0, 1) if batch_first and batch_sizes is None else out[0]
    return (output,) + tuple(out[1:])


def rnn_tanh(input: Tensor, hx: Any, params: Any, has_biases: Any, num_layers: Any, dropout: Any, train: Any,
             bidirectional: Any, batch_first: Any = False) -> tuple:
    """A stack of Elman layers with tanh over a whole sequence (what ``nn.RNN`` calls)."""
    return _recurrent("RNN_TANH", input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                      batch_first)


def rnn_relu(input: Tensor, hx: Any, params: Any, has_biases: Any, num_layers: Any, dropout: Any, train: Any,
             bidirectional: Any, batch_first: Any = False) -> tuple:
    """A stack of Elman layers with ReLU over a whole sequence."""
    return _recurrent("RNN_RELU", input, hx, params, has_biases, num_layers, dropout, train, bidirectional,
                      batch_first)


def lstm(input: Tensor, hx: Any, params: Any, has_biases: Any, num_layers: Any, dropout: Any, train: Any,
         bidirectional: Any, batch_first: Any = False) -> tuple:
    """A stack of LSTM layers over a whole sequence (what ``nn.LSTM`` calls); ``hx = [h0, c0]``."""
    return _recurrent("LSTM", input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)


def gru(input: Tensor, hx: Any, params: Any, has_biases: Any, num_layers: Any, dropout: Any, train: Any,
        bidirectional: Any, batch_first: Any = False) -> tuple:
    """A stack of GRU layers over a whole sequence (what ``nn.GRU`` calls)."""
    return _recurrent("GRU", input, hx, params, has_biases, num_layers, dropout, train, bidirectional, batch_first)

