"""Dropout and its variants (lesson 08).

In training, dropout multiplies its input by a random mask ``m`` whose entries are 0 with
probability ``p`` and ``1 / (1 - p)`` otherwise, so ``E[y] = x``; in evaluation it is the
identity.  Lesson 08 reads it as training an ensemble of thinned networks that share weights.

* ``dropout``: one draw per element.
* ``dropout1d/2d/3d`` ("feature dropout"): one draw per channel, ``(N, C, 1, ..., 1)``, so whole
  feature maps are dropped -- neighbouring pixels are correlated, and dropping single ones would
  barely regularise a convolutional net.
* ``alpha_dropout`` / ``feature_alpha_dropout``: for SELU networks.  A dropped unit is set to
  SELU's negative saturation ``-alpha'`` (``alpha' = scale * alpha = 1.7581``) instead of 0, and
  an affine map ``a * (.) + b`` restores zero mean and unit variance:
  ``a = 1 / sqrt((1 - p) (1 + p alpha'^2))``, ``b = a alpha' p``.

The masks come from ``edunn``'s generator, so ``edunn.manual_seed`` reproduces them; the
multiplication is an ordinary (differentiable) tensor op, so the gradient is ``g * m``.
"""
from __future__ import annotations

import math
import warnings
from typing import Any

from ... import backend
from ...ops import creation as _cr
from ...tensor import Tensor

__all__ = ["dropout", "dropout1d", "dropout2d", "dropout3d", "alpha_dropout",
           "feature_alpha_dropout"]

# SELU's scale * alpha: -_ALPHA is the value SELU tends to for large negative inputs
_ALPHA = 1.7580993408473766

_TORCH_NAMES = {"int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
                "bool": "Bool"}


def _check_p(p: float) -> None:
    if p < 0.0 or p > 1.0:
        raise ValueError(f"dropout probability has to be between 0 and 1, but got {p}")


def _check_tensor(input: object, who: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")


def _keep_mask(input: Tensor, p: float, shape: tuple) -> Any:
    """The draw of every dropout: a boolean array of ``shape``, True with probability ``1 - p``
    (uniforms of the input's precision, at least float32, compared with ``p``)."""
    draw = backend.float64 if input.dtype == backend.float64 else backend.float32
    return _cr.rand(shape, dtype=draw, device=input.device)._data >= p


@backend.on_input_device
def _dropout_impl(input: Tensor, p: float, training: bool, inplace: bool, feature: bool,
                  alpha: bool, leading: int = 2) -> Tensor:
    """The one implementation behind every variant (ATen's ``_dropout_impl``).

    ``feature``: one draw per ``input.shape[:leading]`` (samples and channels), broadcast over
    the remaining dims; ``leading`` is 1 for an input without its batch dim."""
    if p == 0 or not training or input.numel() == 0:
        return input
    if p == 1:  # everything dropped (even alpha dropout gives zeros here, as PyTorch does)
        zero = Tensor._make(backend.array_module(input._data).zeros((), dtype=input._data.dtype))
        return input.mul_(zero) if inplace else input * zero
    if input.dtype.is_complex:  # PyTorch draws the mask with bernoulli_ in the input's dtype
        raise NotImplementedError(f"\"bernoulli_scalar_{input.device.type}_\" not implemented "
                                  f"for '{input.dtype.scalar_name}'")
    if not input.is_floating_point():
        name = _TORCH_NAMES.get(input.dtype.name, input.dtype.name)
        raise RuntimeError(f"result type Float can't be cast to the desired output type {name}")
    shape = tuple(input.shape)
    if feature:
        if len(shape) + (2 - leading) < 2:
            raise RuntimeError("Feature dropout requires at least 2 dimensions in the input")
        shape = shape[:leading] + (1,) * (len(shape) - leading)
    keep = _keep_mask(input, p, shape)
    dt = input._data.dtype
    if not alpha:
        noise = Tensor._make((keep * (1.0 / (1.0 - p))).astype(dt))
        return input.mul_(noise) if inplace else input * noise
    a = 1.0 / math.sqrt((_ALPHA * _ALPHA * p + 1) * (1 - p))
    scale = Tensor._make((keep * a).astype(dt))
    # kept: a x + a alpha' p;  dropped: a (-alpha') + a alpha' p
    shift = Tensor._make(((keep - 1.0) * (_ALPHA * a) + _ALPHA * a * p).astype(dt))
    return input.mul_(scale).add_(shift) if inplace else input * scale + shift


def dropout(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Zero each element with probability ``p`` and scale the others by :math:`1 / (1 - p)`
    (Srivastava et al., 2014); the identity when ``training`` is False.  Any shape."""
    _check_tensor(input, "dropout")
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=False, alpha=False)


def dropout1d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Zero whole channels with probability ``p``: input :math:`(N, C, L)` or :math:`(C, L)`,
    one draw per ``(n, c)``; kept channels are scaled by :math:`1 / (1 - p)`."""
    _check_tensor(input, "dropout1d")
    _check_p(p)
    inp_dim = input.dim()
    if inp_dim not in (2, 3):
        raise RuntimeError(
            f"dropout1d: Expected 2D or 3D input, but received a {inp_dim}D input. "
            "Note that dropout1d exists to provide channel-wise dropout on inputs with 1 "
            "spatial dimension, a channel dimension, and an optional batch dimension "
            "(i.e. 2D or 3D inputs).")
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=False,
                         leading=2 if inp_dim == 3 else 1)


def dropout2d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Zero whole channels with probability ``p``: input :math:`(N, C, H, W)`, one draw per
    ``(n, c)``.

    As in PyTorch, a 3-D input is read as :math:`(N, C, L)` (channel-wise 1-D dropout, with a
    warning) rather than as an unbatched :math:`(C, H, W)`; other ranks warn and are treated
    as :math:`(N, C, ...)`."""
    _check_tensor(input, "dropout2d")
    _check_p(p)
    inp_dim = input.dim()
    if inp_dim not in (3, 4):
        warnings.warn(
            f"dropout2d: Received a {inp_dim}-D input to dropout2d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout2d "
            "exists to provide channel-wise dropout on inputs with 2 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 3D or 4D inputs).",
            stacklevel=2)
    if inp_dim == 3:
        warnings.warn(
            "dropout2d: Received a 3D input to dropout2d and assuming that channel-wise "
            "1D dropout behavior is desired - input is interpreted as shape (N, C, L), where C "
            "is the channel dim. This behavior will change in a future release to interpret the "
            "input as one without a batch dimension, i.e. shape (C, H, W). To maintain the 1D "
            "channel-wise dropout behavior, please switch to using dropout1d instead.",
            stacklevel=2)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=False)


def dropout3d(input: Tensor, p: float = 0.5, training: bool = True, inplace: bool = False) -> Tensor:
    r"""Zero whole channels with probability ``p``: input :math:`(N, C, D, H, W)` or
    :math:`(C, D, H, W)`, one draw per channel; other ranks warn and are read as unbatched."""
    _check_tensor(input, "dropout3d")
    _check_p(p)
    inp_dim = input.dim()
    if inp_dim not in (4, 5):
        warnings.warn(
            f"dropout3d: Received a {inp_dim}-D input to dropout3d, which is deprecated "
            "and will result in an error in a future release. To retain the behavior "
            "and silence this warning, please use dropout instead. Note that dropout3d "
            "exists to provide channel-wise dropout on inputs with 3 spatial dimensions, "
            "a channel dimension, and an optional batch dimension (i.e. 4D or 5D inputs).",
            stacklevel=2)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=False,
                         leading=2 if inp_dim == 5 else 1)


def alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False, inplace: bool = False) -> Tensor:
    r"""Alpha dropout (Klambauer et al., 2017) for SELU networks: dropped elements become
    :math:`-\alpha'` and the result is mapped by :math:`a(\cdot) + b` so that a zero-mean,
    unit-variance input keeps zero mean and unit variance.  Note PyTorch's default
    ``training=False`` here."""
    _check_tensor(input, "alpha_dropout")
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=False, alpha=True)


def feature_alpha_dropout(input: Tensor, p: float = 0.5, training: bool = False,
                          inplace: bool = False) -> Tensor:
    r"""Alpha dropout of whole channels: one draw per ``(n, c)`` of an :math:`(N, C, *)` input.
    Default ``training=False``, as in PyTorch."""
    _check_tensor(input, "feature_alpha_dropout")
    _check_p(p)
    return _dropout_impl(input, p, training, inplace, feature=True, alpha=True)
