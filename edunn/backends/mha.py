"""``edunn.backends.mha`` (``torch.backends.mha``): whether ``nn.MultiheadAttention`` and
``nn.TransformerEncoderLayer`` may take PyTorch's fused inference "fast path".  edunn's layers
compute the same function on their ordinary path either way; the switch is stored."""
from __future__ import annotations

__all__ = ["get_fastpath_enabled", "set_fastpath_enabled"]

_is_fastpath_enabled: bool = True


def get_fastpath_enabled() -> bool:
    """Whether the fast path is allowed (default True)."""
    return _is_fastpath_enabled


def set_fastpath_enabled(value: bool) -> None:
    """Allow or forbid the fast path."""
    global _is_fastpath_enabled
    _is_fastpath_enabled = bool(value)
