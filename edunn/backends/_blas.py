"""What the process's BLAS library is, asked through ``threadpoolctl`` (NumPy's matrix products
call OpenBLAS or MKL; ``mkl``, ``openmp`` and ``cpu`` answer from this)."""
from __future__ import annotations


def blas_pools() -> list:
    """threadpoolctl's description of each loaded BLAS library (NumPy's is loaded with it)."""
    from threadpoolctl import threadpool_info
    from .. import backend
    backend.numpy.dot(backend.numpy.ones((2, 2)), backend.numpy.ones((2, 2)))  # make sure BLAS is loaded
    return [pool for pool in threadpool_info() if pool["user_api"] == "blas"]
