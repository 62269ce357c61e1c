"""Classical orthogonal polynomials evaluated by their three-term recurrences: Chebyshev (four
kinds, plain and shifted), Hermite (physicists' and probabilists'), Laguerre and Legendre.

``__special__`` holds the names of ``torch.special`` this module provides (``edunn.special``
collects them); PyTorch has none of them at the top level.
"""
from __future__ import annotations

__all__: list = []
__special__: list = []
