"""Distances between vectors: ``pairwise_distance``, ``cosine_similarity``, ``pdist``, ``normalize``
(lesson 08).

Each follows PyTorch's ATen formula exactly, including where ``eps`` enters:

* ``pairwise_distance`` adds ``eps`` to the *difference* (``||x1 - x2 + eps||_p``), so the distance
  of a vector to itself is ``eps * D^(1/p)``, not 0, and its gradient is defined;
* ``cosine_similarity`` divides each input by its norm clamped to ``eps`` *before* the dot product
  (the result stays in [-1, 1] and nothing overflows); the clamp is applied to the values only,
  the gradient flows through the unclamped norm, as ATen's in-place ``clamp_min_`` under
  ``no_grad`` does;
* ``normalize`` divides by ``max(||v||_p, eps)`` with an ordinary (differentiable) clamp.
"""
from __future__ import annotations

import math
from typing import Any

import edunn
from ... import backend
from ...autograd.function import Function
from ...tensor import Tensor
from ...amp import _policy as _autocast

__all__ = ["pairwise_distance", "cosine_similarity", "pdist", "normalize"]

# PyTorch's names of scalar types, for error messages that read like PyTorch's.
_TYPE_NAMES = {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
               "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
               "bool": "Bool"}


def _type_name(t: Tensor) -> str:
    """``Long`` for an int64 tensor, ``Float`` for float32 ... (PyTorch's ``ScalarType`` names)."""
    name = str(t.dtype).split(".")[-1]
    return _TYPE_NAMES.get(name, name)


def _check_tensor(value: Any, what: str, fn: str) -> None:
    if not isinstance(value, Tensor):
        raise TypeError(f"{fn}(): argument '{what}' must be Tensor, not {type(value).__name__}")


class _ClampMinValueOnly(Function):
    """``y = max(x, eps)`` in value, but ``dy/dx = 1`` everywhere.

    This is what ATen gets by clamping a tensor in place under ``no_grad``: the graph still
    holds the unclamped op, so the gradient is that of the unclamped value, while the division
    that follows uses the clamped one (``cosine_similarity``'s norms, ``gaussian_nll_loss``'s
    variance)."""

    @staticmethod
    def forward(ctx, x, eps):
        xp = backend.array_module(x._data)
        return xp.maximum(x._data, xp.asarray(eps, dtype=x._data.dtype))

    @staticmethod
    def backward(ctx, grad):
        return grad, None


def _clamp_min_value_only(x: Tensor, eps: float) -> Tensor:
    return _ClampMinValueOnly.apply(x, eps)


# ------------------------------------------------------------------------------------------------
def pairwise_distance(x1: Tensor, x2: Tensor, p: float = 2.0, eps: float = 1e-6,
                      keepdim: bool = False) -> Tensor:
    r"""The p-norm distance between the rows of ``x1`` and ``x2`` over the last dimension:

        dist(x, y) = || x - y + eps e ||_p      (e: the vector of ones)

    Shapes: ``(N, D)`` or ``(D)`` (broadcast against each other) -> ``(N)`` or ``()``; with
    ``keepdim`` the last dimension is kept with size 1.  Lesson 08."""
    _check_tensor(x1, "x1", "pairwise_distance")
    _check_tensor(x2, "x2", "pairwise_distance")
    output_dim = max(x1.dim(), x2.dim())
    diff = x1 - x2 + eps
    if output_dim == 0:  # ATen takes the norm of a scalar over dim -1
        return diff.reshape(1).norm(p, 0, keepdim=False)
    return diff.norm(p, output_dim - 1, keepdim=keepdim)


def cosine_similarity(x1: Tensor, x2: Tensor, dim: int = 1, eps: float = 1e-8) -> Tensor:
    r"""Cosine of the angle between ``x1`` and ``x2`` along ``dim``:

        similarity = sum( x1 / max(||x1||_2, eps) * x2 / max(||x2||_2, eps) )  over dim

    (ATen's formula: each input is normalised first, so the result is within [-1, 1]).
    Shapes: ``(*1, D, *2)`` and a tensor broadcastable to it -> ``(*1, *2)``.  Lesson 08."""
    if _autocast.active and "cosine_similarity" in _autocast.listed: return _autocast.call("cosine_similarity", cosine_similarity, x1, x2, dim, eps)  # noqa: E501,E701
    _check_tensor(x1, "x1", "cosine_similarity")
    _check_tensor(x2, "x2", "cosine_similarity")
    common = edunn.result_type(x1, x2)
    if not common.is_floating_point:
        raise RuntimeError("expected common dtype to be floating point, yet common dtype is "
                           f"{_TYPE_NAMES.get(str(common).split('.')[-1], str(common))}")
    if not x1.is_floating_point():
        x1 = x1.to(common)
    if not x2.is_floating_point():
        x2 = x2.to(common)
    if x1.shape != x2.shape:
        x1, x2 = edunn.broadcast_tensors(x1, x2)
    n1 = _clamp_min_value_only(x1.norm(2, dim, keepdim=True), eps)
    n2 = _clamp_min_value_only(x2.norm(2, dim, keepdim=True), eps)
    return ((x1 / n1) * (x2 / n2)).sum(dim)


class _PdistNorm(Function):
    """The p-norm of each row of the pair differences ``(M, D) -> (M)``, with the gradient
    ``pdist`` has in ATen: 0 where the distance is 0, ``sign(diff)`` for p = 1, and for
    p = inf a gradient of ``sign(diff)`` on *every* coordinate that attains the maximum."""

    @staticmethod
    def forward(ctx, diff, p):
        d = diff._data
        xp = backend.array_module(d)
        a = xp.abs(d)
        if d.shape[1] == 0:
            dist = xp.zeros(d.shape[0], d.dtype)
        elif p == 0:
            dist = (a != 0).sum(axis=1).astype(d.dtype)
        elif p == 1:
            dist = a.sum(axis=1)
        elif p == 2:
            dist = xp.sqrt((a * a).sum(axis=1))
        elif p == math.inf:
            dist = a.max(axis=1)
        else:
            dist = (a ** p).sum(axis=1) ** (1.0 / p)
        ctx.p = p
        ctx.save_for_backward(diff, dist)
        return dist

    @staticmethod
    def backward(ctx, grad):
        diff, dist = ctx.saved_tensors
        p = ctx.p
        g = grad.unsqueeze(1)
        if p == 0:
            return diff * 0, None
        if p == 1:
            return g * diff.sign(), None
        dist_k = dist.unsqueeze(1)
        if p == math.inf:
            hit = (diff.abs() == dist_k).to(diff.dtype)
            return g * diff.sign() * hit, None
        zero = dist_k == 0
        safe = edunn.where(zero, 1.0, dist_k)
        if p == 2:
            d = diff / safe
        else:
            ad = diff.abs()
            ad_safe = edunn.where(ad == 0, 1.0, ad)
            if p < 2:   # sign(0) = 0 removes the coordinates where |diff|^(p-1) blows up
                d = diff.sign() * ad_safe ** (p - 1) / safe ** (p - 1)
            else:
                d = diff * ad_safe ** (p - 2) / safe ** (p - 1)
        return g * edunn.where(zero, 0.0, d), None


def pdist(input: Tensor, p: float = 2.0) -> Tensor:
    r"""The p-norm distance between every pair of rows of ``input`` ``(N, M)``: the upper
    triangle of the distance matrix, row by row, ``(N (N - 1) / 2)``:

        out[k] = || input[i] - input[j] ||_p      for i < j

    Lesson 08."""
    if _autocast.active and "pdist" in _autocast.listed: return _autocast.call("pdist", pdist, input, p)  # noqa: E501,E701
    _check_tensor(input, "input", "pdist")
    if input.dim() != 2:
        raise RuntimeError(f"pdist only supports 2D tensors, got: {input.dim()}D")
    if not input.is_floating_point():
        raise RuntimeError("pdist only supports floating-point dtypes")
    if p < 0:
        raise RuntimeError("pdist only supports non-negative p values")
    n = input.shape[0]
    xp = backend.array_module(input._data)
    i, j = xp.triu_indices(n, k=1)
    ii, jj = Tensor._make(i), Tensor._make(j)
    return _PdistNorm.apply(input[ii] - input[jj], float(p))


def normalize(input: Tensor, p: float = 2.0, dim: Any = 1, eps: float = 1e-12,
              out: Tensor | None = None) -> Tensor:
    r"""Divide each vector along ``dim`` by its p-norm:  ``v / max(||v||_p, eps)``.

    ``dim`` may be a tuple.  With ``out`` the result is written there and is not
    differentiable, as in PyTorch.  Lesson 08."""
    if _autocast.active and out is None and "normalize" in _autocast.listed: return _autocast.call("normalize", normalize, input, p, dim, eps, out)  # noqa: E501,E701
    _check_tensor(input, "input", "normalize")
    denom = input.norm(p, dim, keepdim=True).clamp_min(eps).expand_as(input)
    if out is None:
        return input / denom
    return edunn.div(input, denom, out=out)
