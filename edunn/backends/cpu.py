"""``edunn.backends.cpu`` (``torch.backends.cpu``): which SIMD instruction set the CPU kernels use.

PyTorch compiles its CPU kernels several times (AVX2, AVX512, ...) and picks one at start-up.
NumPy does the same for its loops ("CPU dispatch"), and edunn's CPU code is NumPy's, so the
answer is read from NumPy's detected CPU features, in PyTorch's vocabulary.
"""
from __future__ import annotations

__all__ = ["get_cpu_capability"]


def cpu_features() -> dict:
    """NumPy's map of CPU feature name (``"AVX2"``, ``"AVX512F"``, ``"ASIMD"`` ...) -> present."""
    from .. import backend
    umath = getattr(getattr(backend.numpy, "_core", None), "_multiarray_umath", None)
    if umath is None:  # NumPy 1.x
        umath = backend.numpy.core._multiarray_umath
    return dict(umath.__cpu_features__)


def get_cpu_capability() -> str:
    """``"AVX512"``, ``"AVX2"``, ``"VSX"``, ``"Z VECTOR"``, ``"SVE256"`` or ``"DEFAULT"`` (plain
    vector code), as PyTorch names its kernel builds."""
    f = cpu_features()
    if all(f.get(k) for k in ("AVX512F", "AVX512BW", "AVX512VL", "AVX512DQ")):
        return "AVX512"
    if f.get("AVX2") and f.get("FMA3"):
        return "AVX2"
    if f.get("VSX"):
        return "VSX"
    if f.get("VX"):
        return "Z VECTOR"
    if f.get("SVE"):
        return "SVE256"
    return "DEFAULT"
