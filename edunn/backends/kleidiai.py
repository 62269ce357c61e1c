"""``edunn.backends.kleidiai`` (``torch.backends.kleidiai``): Arm's KleidiAI micro-kernels.
edunn does not use them."""
from __future__ import annotations

__all__ = ["is_available"]


def is_available() -> bool:
    """Whether the library computes with KleidiAI: no."""
    return False
