"""The gamma family (lesson 01's special functions): ``lgamma``, ``digamma``, ``polygamma``,
``mvlgamma``, the Hurwitz ``zeta`` and the regularised incomplete gamma functions ``igamma`` /
``igammac``.

``__all__`` holds the names PyTorch has at the top level (``torch.lgamma``); ``__special__`` the
names of ``torch.special`` this module provides (``edunn.special`` collects them).
"""
from __future__ import annotations

__all__: list = []
__special__: list = []
