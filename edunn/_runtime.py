"""Process-wide settings that PyTorch scripts make at the top: ``set_num_threads`` and
``set_float32_matmul_precision``, with their getters.

edunn's only CPU parallelism is the BLAS library NumPy calls for matrix products (OpenBLAS or
MKL); its thread count is read and set through ``threadpoolctl``, as ``torch.set_num_threads``
sets PyTorch's intra-op pool.  The float32 matmul precision is a permission in PyTorch: "high"
and "medium" *allow* TF32 or bfloat16 arithmetic inside float32 products.  edunn's products are
always computed in full float32 ("highest"), which every setting allows; the setting is kept and
reported, so code that reads it back sees what it set.
"""
from __future__ import annotations

import warnings

_PRECISIONS = ("highest", "high", "medium")
_matmul_precision = "highest"


def _blas_pools() -> list:
    from threadpoolctl import threadpool_info
    return [pool for pool in threadpool_info() if pool["user_api"] == "blas"]


def get_num_threads() -> int:
    """The number of threads the BLAS library uses for matrix products (1 if none is loaded)."""
    return max((pool["num_threads"] for pool in _blas_pools()), default=1)


def set_num_threads(int: int) -> None:  # noqa: A002  (PyTorch's parameter name)
    """Use ``int`` threads for matrix products from now on."""
    import builtins
    if isinstance(int, builtins.bool) or not isinstance(int, builtins.int):
        raise RuntimeError(f"set_num_threads expects an int, but got {type(int).__name__}")
    if int <= 0:
        raise RuntimeError("set_num_threads expects a positive integer")
    from threadpoolctl import threadpool_limits
    threadpool_limits(limits=int, user_api="blas")  # not a context: the limit stays


def get_float32_matmul_precision() -> str:
    return _matmul_precision


def set_float32_matmul_precision(precision: str) -> None:
    """Record ``precision`` ("highest", "high" or "medium"); edunn computes float32 products in
    full float32 under all three (see the module docstring)."""
    global _matmul_precision
    if not isinstance(precision, str):
        raise RuntimeError(f"set_float32_matmul_precision expects a str, but got {type(precision).__name__}")
    if precision not in _PRECISIONS:
        warnings.warn(f"{precision} is not one of 'highest', 'high', or 'medium'; the current"
                      "setFloat32MatmulPrecision call has no effect.", UserWarning, stacklevel=2)
        return
    _matmul_precision = precision
