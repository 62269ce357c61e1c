"""``edunn.amp``: automatic mixed precision, as ``torch.amp``.

Two pieces that are used together to train in 16-bit floats:

* :class:`autocast` (``autocast_mode.py``) -- a region in which matrix products and convolutions
  run in float16/bfloat16 and precision-sensitive ops in float32, chosen per op
  (``_policy.py`` holds the op lists and the one casting rule the ops call);
* :class:`GradScaler` (``grad_scaler.py``) -- multiplies the loss so float16 gradients do not
  underflow, unscales them before the optimizer step and skips steps whose gradients overflowed.

The functions below read and set the autocast state directly; PyTorch has them at the top level
(``torch.is_autocast_enabled`` ...), and so does edunn.  Lesson 18 (GPUs).
"""
from __future__ import annotations

import warnings

from .. import backend
from . import _policy
from .autocast_mode import autocast, custom_bwd, custom_fwd, is_autocast_available
from .grad_scaler import GradScaler

__all__ = ["autocast", "custom_bwd", "custom_fwd", "is_autocast_available", "GradScaler"]


# ----------------------------------------------------------------------------------------------
# The autocast state (torch.is_autocast_enabled & co., re-exported by edunn/__init__.py)
# ----------------------------------------------------------------------------------------------
def is_autocast_enabled(device_type: str | None = None) -> bool:
    """Whether autocast is on for ``device_type`` (``None``: CUDA, PyTorch's legacy meaning)."""
    return _policy.is_enabled("cuda" if device_type is None else device_type)


def set_autocast_enabled(*args) -> None:
    """``set_autocast_enabled(device_type, enabled)``, or the legacy ``set_autocast_enabled(enabled)``
    for CUDA.  Low level: ``autocast`` also saves and restores the previous state."""
    if len(args) == 1:
        device_type, enabled = "cuda", args[0]
    elif len(args) == 2:
        device_type, enabled = args
    else:
        raise TypeError(f"set_autocast_enabled() takes (device_type, enabled) or (enabled), but got "
                        f"{len(args)} arguments")
    _policy.set_enabled(device_type, enabled)


def get_autocast_dtype(device_type: str) -> backend.dtype:
    """The dtype ``autocast(device_type)`` lowers to (bfloat16 on the CPU, float16 on CUDA)."""
    return _policy.get_dtype(device_type)


def set_autocast_dtype(device_type: str, dtype: backend.dtype) -> None:
    _policy.set_dtype(device_type, dtype)


def _deprecated(old: str, new: str) -> None:
    warnings.warn(f"torch.{old} is deprecated. Please use torch.{new} instead.", DeprecationWarning, stacklevel=3)


# The per-device forms below are PyTorch's older API: each warns, as PyTorch's do, and forwards.
def is_autocast_cpu_enabled() -> bool:
    _deprecated("is_autocast_cpu_enabled()", "is_autocast_enabled('cpu')")
    return _policy.is_enabled("cpu")


def set_autocast_cpu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_cpu_enabled(enabled)", "set_autocast_enabled('cpu', enabled)")
    _policy.set_enabled("cpu", enabled)


def get_autocast_cpu_dtype() -> backend.dtype:
    _deprecated("get_autocast_cpu_dtype()", "get_autocast_dtype('cpu')")
    return _policy.get_dtype("cpu")


def set_autocast_cpu_dtype(dtype: backend.dtype) -> None:
    _deprecated("set_autocast_cpu_dtype(dtype)", "set_autocast_dtype('cpu', dtype)")
    _policy.set_dtype("cpu", dtype)


def get_autocast_gpu_dtype() -> backend.dtype:
    _deprecated("get_autocast_gpu_dtype()", "get_autocast_dtype('cuda')")
    return _policy.get_dtype("cuda")


def set_autocast_gpu_dtype(dtype: backend.dtype) -> None:
    _deprecated("set_autocast_gpu_dtype(dtype)", "set_autocast_dtype('cuda', dtype)")
    _policy.set_dtype("cuda", dtype)


def is_autocast_ipu_enabled() -> bool:
    _deprecated("is_autocast_ipu_enabled()", "is_autocast_enabled('ipu')")
    return _policy.is_enabled("ipu")


def set_autocast_ipu_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_ipu_enabled(enabled)", "set_autocast_enabled('ipu', enabled)")
    _policy.set_enabled("ipu", enabled)


def get_autocast_ipu_dtype() -> backend.dtype:
    _deprecated("get_autocast_ipu_dtype()", "get_autocast_dtype('ipu')")
    return _policy.get_dtype("ipu")


def set_autocast_ipu_dtype(dtype: backend.dtype) -> None:
    _deprecated("set_autocast_ipu_dtype(dtype)", "set_autocast_dtype('ipu', dtype)")
    _policy.set_dtype("ipu", dtype)


def is_autocast_xla_enabled() -> bool:
    _deprecated("is_autocast_xla_enabled()", "is_autocast_enabled('xla')")
    return _policy.is_enabled("xla")


def set_autocast_xla_enabled(enabled: bool) -> None:
    _deprecated("set_autocast_xla_enabled(enabled)", "set_autocast_enabled('xla', enabled)")
    _policy.set_enabled("xla", enabled)


def get_autocast_xla_dtype() -> backend.dtype:
    _deprecated("get_autocast_xla_dtype()", "get_autocast_dtype('xla')")
    return _policy.get_dtype("xla")


def set_autocast_xla_dtype(dtype: backend.dtype) -> None:
    _deprecated("set_autocast_xla_dtype(dtype)", "set_autocast_dtype('xla', dtype)")
    _policy.set_dtype("xla", dtype)


def is_autocast_cache_enabled() -> bool:
    """Whether autocast keeps one 16-bit copy of each parameter per region (default True)."""
    return _policy.is_cache_enabled()


def set_autocast_cache_enabled(enabled: bool) -> None:
    _policy.set_cache_enabled(enabled)


def clear_autocast_cache() -> None:
    """Forget the cached 16-bit copies of parameters (``autocast`` does it on leaving the
    outermost region)."""
    _policy.clear_cache()


def autocast_increment_nesting() -> int:
    """Count one more open autocast region; returns the new depth."""
    return _policy.increment_nesting()


def autocast_decrement_nesting() -> int:
    """Count one autocast region closed; returns the new depth (0: the cache may be cleared)."""
    return _policy.decrement_nesting()
