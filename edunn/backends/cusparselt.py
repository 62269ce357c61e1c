"""``edunn.backends.cusparselt`` (``torch.backends.cusparselt``): NVIDIA's cuSPARSELt (2:4
structured-sparse matrix products).  edunn does not use it: not available, no version."""
from __future__ import annotations

__all__ = ["version", "is_available", "get_max_alg_id"]


def version() -> int | None:
    """cuSPARSELt's version, or None when it is not available (always, in edunn)."""
    return None


def is_available() -> bool:
    return False


def get_max_alg_id() -> int | None:
    """The largest cuSPARSELt algorithm id, or None when it is not available."""
    return None
