"""``edunn.cpu.amp`` (``torch.cpu.amp``): the deprecated CPU spellings of ``edunn.amp``.

``torch.cpu.amp.autocast(...)`` is ``torch.amp.autocast("cpu", ...)`` and
``torch.cpu.amp.GradScaler(...)`` is ``torch.amp.GradScaler("cpu", ...)``; each warns
(``FutureWarning``, PyTorch's text) when created and then behaves exactly as the new form --
they are subclasses of it.  ``edunn.cuda.amp`` does the same for CUDA with the helpers here.
"""
from __future__ import annotations

import warnings
from .. import backend
from .. import amp as _amp

__all__ = ["autocast", "GradScaler"]


def _warn_deprecated(old: str, new: str) -> None:
    """PyTorch's deprecation message for ``torch.<old>(args...)``, pointing at ``torch.<new>``."""
    warnings.warn(f"`torch.{old}(args...)` is deprecated. Please use `torch.{new}` instead.",
                  FutureWarning, stacklevel=3)


class autocast(_amp.autocast):
    """Deprecated: ``edunn.amp.autocast("cpu", dtype=dtype, enabled=enabled, cache_enabled=...)``."""

    def __init__(self, enabled: bool = True, dtype: backend.dtype = backend.bfloat16,
                 cache_enabled: bool = True) -> None:
        _warn_deprecated("cpu.amp.autocast", "amp.autocast('cpu', args...)")
        super().__init__("cpu", enabled=enabled, dtype=dtype, cache_enabled=cache_enabled)


class GradScaler(_amp.GradScaler):
    """Deprecated: ``edunn.amp.GradScaler("cpu", ...)``."""

    def __init__(self, init_scale: float = 2.0 ** 16, growth_factor: float = 2.0, backoff_factor: float = 0.5,
                 growth_interval: int = 2000, enabled: bool = True) -> None:
        _warn_deprecated("cpu.amp.GradScaler", "amp.GradScaler('cpu', args...)")
        super().__init__("cpu", init_scale=init_scale, growth_factor=growth_factor,
                         backoff_factor=backoff_factor, growth_interval=growth_interval, enabled=enabled)
