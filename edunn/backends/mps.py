"""``edunn.backends.mps`` (``torch.backends.mps``): Apple's Metal GPUs.

edunn runs on NumPy (CPU) and CuPy (NVIDIA GPUs) only, so MPS is neither built nor available;
the device queries raise, as PyTorch's do on a build without MPS.
"""
from __future__ import annotations

__all__ = ["is_built", "is_available", "is_macos13_or_newer", "is_macos_or_newer", "get_name", "get_core_count"]


def _no_mps(what: str) -> RuntimeError:
    return RuntimeError(f"Cannot execute {what} without MPS backend: edunn computes on NumPy (CPU) "
                        "and CuPy (NVIDIA GPUs) only.")


def is_built() -> bool:
    """Whether the library was built with MPS support: no."""
    return False


def is_available() -> bool:
    """Whether an MPS device can be used: no."""
    return False


def is_macos_or_newer(major: int, minor: int) -> bool:
    """Whether MPS runs on macOS ``major.minor`` or newer (raises: there is no MPS backend)."""
    raise _no_mps("isOnMacOSorNewer()")


def is_macos13_or_newer(minor: int = 0) -> bool:
    return is_macos_or_newer(13, minor)


def get_name() -> str:
    """The Metal device's name (raises: there is no MPS backend)."""
    raise _no_mps("get_name()")


def get_core_count() -> int:
    """The Metal GPU's core count (raises: there is no MPS backend)."""
    raise _no_mps("get_core_count()")
