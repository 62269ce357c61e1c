"""Matrix decompositions and solvers (``svd``, ``qr``, ``cholesky``, ``eigh``, ``lu``, ``solve`` ...),
each an op with PyTorch's backward; ``edunn.linalg`` presents them under ``torch.linalg``'s names,
and ``__all__`` holds the names PyTorch also has at the top level (``torch.svd``, ``torch.qr`` ...).
"""
from __future__ import annotations

__all__: list = []
