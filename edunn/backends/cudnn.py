"""``edunn.backends.cudnn`` (``torch.backends.cudnn``): the cuDNN switches.

PyTorch runs convolutions, RNNs and some normalisations on the GPU through NVIDIA's cuDNN
library; ``benchmark=True`` makes it time several algorithms per input shape and keep the
fastest, ``deterministic=True`` restricts it to reproducible ones, ``allow_tf32`` lets it use
TensorFloat-32 in float32 convolutions, ``enabled=False`` turns cuDNN off.

edunn never calls cuDNN: its convolutions are im2col products (lesson 09) computed by CuPy's
cuBLAS on a GPU, which are deterministic and in full float32.  So :func:`is_available` is
False, :func:`version` is None and ``benchmark_limit`` is None (exactly what PyTorch's CPU build
reports), and the flags are stored and read back -- a script that sets them runs unchanged, and
every setting it can choose is one that edunn's results already satisfy.

``deterministic`` is independent of ``edunn.use_deterministic_algorithms``, as in PyTorch (which
does not couple them either).  ``allow_tf32`` is the legacy spelling of
``conv.fp32_precision == "tf32"`` (the ``cuda`` backend's convolution precision).
"""
from __future__ import annotations

import warnings
from contextlib import contextmanager
from typing import Any

from .. import backend
from . import (ContextProp, PropModule, _FP32Precision, _allow_nonbracketed_mutation, _check_bool,
               _get_fp32_precision, _install, _set_fp32_precision)

CUDNN_TENSOR_DTYPES = {backend.float16, backend.float32, backend.float64}

# PyTorch's defaults (its C++ globals)
_flags: dict[str, Any] = {"enabled": True, "benchmark": False, "deterministic": False,
                          "depthwise_kernel": "auto"}
_DEPTHWISE_KERNELS = ("auto", "cudnn", "native")


def is_available() -> bool:
    """Whether the library computes with cuDNN: False, edunn has no cuDNN code (see above)."""
    return False


def version() -> int | None:
    """The cuDNN version in use, or None when cuDNN is not available (always, in edunn)."""
    return None


def is_acceptable(tensor: Any) -> bool:
    """Whether cuDNN could take ``tensor``: enabled, on CUDA, float16/32/64 -- and cuDNN
    available, which it is not in edunn (a CUDA tensor gets PyTorch's warning)."""
    if not _flags["enabled"]:
        return False
    if tensor.device.type != "cuda" or tensor.dtype not in CUDNN_TENSOR_DTYPES:
        return False
    if not is_available():
        warnings.warn("PyTorch was compiled without cuDNN/MIOpen support. To use cuDNN/MIOpen, rebuild "
                      "PyTorch making sure the library is visible to the build system.", stacklevel=2)
        return False
    return True


def _set(name: str):
    def setter(value: Any) -> None:
        _flags[name] = _check_bool(f"_set_cudnn_{name}", value)
    return setter


def _set_depthwise_kernel(value: str) -> None:
    if value not in _DEPTHWISE_KERNELS:
        raise RuntimeError(f"depthwise_kernel must be one of {_DEPTHWISE_KERNELS}, got {value!r}")
    _flags["depthwise_kernel"] = value


def _get_allow_tf32() -> bool:
    return _get_fp32_precision("cuda", "conv") == "tf32"


def _set_allow_tf32(value: bool) -> None:
    if _check_bool("_set_cudnn_allow_tf32", value) != _get_allow_tf32():  # an unchanged value stays inherited
        _set_fp32_precision("cuda", "conv", "tf32" if value else "ieee")


def set_flags(_enabled: bool | None = None, _benchmark: bool | None = None, _benchmark_limit: int | None = None,
              _deterministic: bool | None = None, _allow_tf32: bool | None = None,
              _fp32_precision: str | None = "none", _depthwise_kernel: str | None = None) -> tuple:
    """Set the given flags (``None`` leaves one as it is); returns the previous ones."""
    orig_flags = (_flags["enabled"], _flags["benchmark"], None, _flags["deterministic"], _get_allow_tf32(),
                  _get_fp32_precision("cuda", "all"), _flags["depthwise_kernel"])
    if _enabled is not None:
        _set("enabled")(_enabled)
    if _benchmark is not None:
        _set("benchmark")(_benchmark)
    # _benchmark_limit: only meaningful with cuDNN (PyTorch ignores it without, as here)
    if _deterministic is not None:
        _set("deterministic")(_deterministic)
    if _allow_tf32 is not None:
        _set_allow_tf32(_allow_tf32)
    if _fp32_precision is not None:
        _set_fp32_precision("cuda", "all", _fp32_precision)
    if _depthwise_kernel is not None:
        _set_depthwise_kernel(_depthwise_kernel)
    return orig_flags


@contextmanager
def flags(enabled: bool = False, benchmark: bool = False, benchmark_limit: int = 10, deterministic: bool = False,
          allow_tf32: bool = True, fp32_precision: str = "none", depthwise_kernel: str = "auto"):
    """``with torch.backends.cudnn.flags(enabled=True, deterministic=True): ...`` -- set these
    flags for the block, then restore the previous ones (even when frozen)."""
    with _allow_nonbracketed_mutation():
        orig_flags = set_flags(enabled, benchmark, benchmark_limit, deterministic, allow_tf32,
                               fp32_precision, depthwise_kernel)
    try:
        yield
    finally:
        with _allow_nonbracketed_mutation():
            set_flags(*orig_flags)


class CudnnModule(PropModule):
    enabled = ContextProp(lambda: _flags["enabled"], _set("enabled"))
    deterministic = ContextProp(lambda: _flags["deterministic"], _set("deterministic"))
    benchmark = ContextProp(lambda: _flags["benchmark"], _set("benchmark"))
    benchmark_limit = None   # PyTorch: only a property when cuDNN is available
    allow_tf32 = ContextProp(_get_allow_tf32, _set_allow_tf32)
    conv = _FP32Precision("cuda", "conv")
    fp32_precision = ContextProp(lambda: _get_fp32_precision("cuda", "all"),
                                 lambda p: _set_fp32_precision("cuda", "all", p))
    depthwise_kernel = ContextProp(lambda: _flags["depthwise_kernel"], _set_depthwise_kernel)


_install(__name__, CudnnModule)
