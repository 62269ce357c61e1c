"""The normal distribution's functions and their relatives: ``ndtr``, ``ndtri``, ``log_ndtr``,
``erfcx``, ``entr``, ``xlog1py``.

``__all__`` holds the names PyTorch has at the top level; ``__special__`` the names of
``torch.special`` this module provides (``edunn.special`` collects them).
"""
from __future__ import annotations

__all__: list = []
__special__: list = []
