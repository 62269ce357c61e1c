"""``edunn.backends.mkl`` (``torch.backends.mkl``): Intel's Math Kernel Library.

edunn's CPU products are NumPy's, which calls whichever BLAS NumPy was built with: MKL (conda's
NumPy, for instance) or OpenBLAS (the wheels on PyPI).  :func:`is_available` says which, by
asking ``threadpoolctl``; :class:`verbose` turns on MKL's own call log when MKL is there.
"""
from __future__ import annotations

import ctypes
from typing import Any

from ._blas import blas_pools

__all__ = ["is_available", "VERBOSE_OFF", "VERBOSE_ON", "verbose"]

VERBOSE_OFF = 0
VERBOSE_ON = 1


def _mkl_pools() -> list:
    return [pool for pool in blas_pools() if pool["internal_api"] == "mkl"]


def is_available() -> bool:
    """Whether NumPy's matrix products run on MKL."""
    return bool(_mkl_pools())


def _set_verbose(level: int) -> bool:
    """MKL's ``mkl_verbose(level)``, called in the loaded library; False when MKL is absent."""
    pools = _mkl_pools()
    if not pools:
        return False
    ctypes.CDLL(pools[0]["filepath"]).mkl_verbose(ctypes.c_int(level))
    return True


class verbose:
    """``with torch.backends.mkl.verbose(torch.backends.mkl.VERBOSE_ON): ...`` -- MKL prints a
    line per call inside the block.  Entering with VERBOSE_ON fails (AssertionError, as in
    PyTorch) when NumPy's BLAS is not MKL."""

    def __init__(self, enable: int) -> None:
        self.enable = enable

    def __enter__(self) -> "verbose":
        if self.enable == VERBOSE_OFF:
            return self
        st = _set_verbose(self.enable)
        assert st, "Failed to set MKL into verbose mode. Please consider to disable this verbose scope."
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        _set_verbose(VERBOSE_OFF)
        return False
