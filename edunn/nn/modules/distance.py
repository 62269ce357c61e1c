"""``PairwiseDistance`` and ``CosineSimilarity`` (lesson 08); the math is in
``edunn.nn.functional.distance``."""
from __future__ import annotations

from ...tensor import Tensor
from .. import functional as F
from .module import Module

__all__ = ["PairwiseDistance", "CosineSimilarity"]


class PairwiseDistance(Module):
    r"""``dist(x, y) = || x - y + eps e ||_p`` over the last dimension (e: the vector of ones).

    Shapes: ``(N, D)`` or ``(D)`` -> ``(N)`` or ``()`` (``(N, 1)`` or ``(1)`` with keepdim)."""

    __constants__ = ["norm", "eps", "keepdim"]

    def __init__(self, p: float = 2.0, eps: float = 1e-6, keepdim: bool = False) -> None:
        super().__init__()
        self.norm = p
        self.eps = eps
        self.keepdim = keepdim

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.pairwise_distance(x1, x2, self.norm, self.eps, self.keepdim)


class CosineSimilarity(Module):
    r"""``similarity = x1 . x2 / (max(||x1||, eps) max(||x2||, eps))`` along ``dim``.

    Shapes: ``(*1, D, *2)`` and a broadcastable tensor -> ``(*1, *2)``."""

    __constants__ = ["dim", "eps"]

    def __init__(self, dim: int = 1, eps: float = 1e-8) -> None:
        super().__init__()
        self.dim = dim
        self.eps = eps

    def forward(self, x1: Tensor, x2: Tensor) -> Tensor:
        return F.cosine_similarity(x1, x2, self.dim, self.eps)
