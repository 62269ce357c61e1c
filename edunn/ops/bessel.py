"""Bessel and Airy functions: ``i0``, ``i0e``, ``i1``, ``i1e``, ``bessel_j0`` ... ``airy_ai``.

``__all__`` holds the names PyTorch has at the top level (``torch.i0``); ``__special__`` the names
of ``torch.special`` this module provides (``edunn.special`` collects them).
"""
from __future__ import annotations

__all__: list = []
__special__: list = []
