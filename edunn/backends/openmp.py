"""``edunn.backends.openmp`` (``torch.backends.openmp``): whether OpenMP parallelises the
library's CPU work.  edunn's only CPU parallelism is its BLAS (see ``edunn/_runtime.py``), so
the answer is whether NumPy's BLAS threads with OpenMP (OpenBLAS and MKL can be built either
way; ``threadpoolctl`` reports the threading layer)."""
from __future__ import annotations

from ._blas import blas_pools

__all__ = ["is_available"]


def is_available() -> bool:
    """Whether NumPy's BLAS uses OpenMP threads."""
    return any(pool.get("threading_layer") in ("openmp", "gnu", "intel") for pool in blas_pools())
