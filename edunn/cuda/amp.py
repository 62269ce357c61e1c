"""``edunn.cuda.amp`` (``torch.cuda.amp``): the deprecated CUDA spellings of ``edunn.amp``.

``torch.cuda.amp.autocast(...)`` is ``torch.amp.autocast("cuda", ...)``,
``torch.cuda.amp.GradScaler(...)`` is ``torch.amp.GradScaler("cuda", ...)``, and
``custom_fwd``/``custom_bwd`` are ``torch.amp.custom_fwd/custom_bwd(..., device_type="cuda")``;
each warns with PyTorch's ``FutureWarning`` and then behaves exactly as the new form.  Without a
GPU, autocast and the scaler also warn and disable themselves (``edunn.amp``'s behaviour).
"""
from __future__ import annotations

import functools
from typing import Any

from .. import backend
from .. import amp as _amp
from ..cpu.amp import _warn_deprecated

__all__ = ["amp_definitely_not_available", "autocast", "custom_bwd", "custom_fwd", "GradScaler"]


def amp_definitely_not_available() -> bool:
    """True when CUDA is not available (so CUDA autocast cannot do anything)."""
    return not backend.cuda_available()


class autocast(_amp.autocast):
    """Deprecated: ``edunn.amp.autocast("cuda", dtype=dtype, enabled=enabled, cache_enabled=...)``."""

    def __init__(self, enabled: bool = True, dtype: backend.dtype = backend.float16, cache_enabled: bool = True) -> None:
        _warn_deprecated("cuda.amp.autocast", "amp.autocast('cuda', args...)")
        super().__init__("cuda", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    """Deprecated: ``edunn.amp.GradScaler("cuda", ...)``."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        _warn_deprecated("cuda.amp.GradScaler", "amp.GradScaler('cuda', args...)")
        super().__init__("cuda", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)


def custom_fwd(fwd: Any = None, *, cast_inputs: backend.dtype | None = None) -> Any:
    """Deprecated: ``edunn.amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)``."""
    _warn_deprecated("cuda.amp.custom_fwd", "amp.custom_fwd(args..., device_type='cuda')")
    if fwd is None:
        return functools.partial(_amp.custom_fwd, device_type="cuda", cast_inputs=cast_inputs)
    return _amp.custom_fwd(fwd, device_type="cuda", cast_inputs=cast_inputs)


def custom_bwd(bwd: Any) -> Any:
    """Deprecated: ``edunn.amp.custom_bwd(bwd, device_type="cuda")``."""
    _warn_deprecated("cuda.amp.custom_bwd", "amp.custom_bwd(args..., device_type='cuda')")
    return _amp.custom_bwd(bwd, device_type="cuda")
