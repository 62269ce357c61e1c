"""``edunn.backends.mkldnn`` (``torch.backends.mkldnn``): Intel's oneDNN (formerly MKL-DNN)
kernels for CPU convolutions and matrix products.

edunn does not call oneDNN (its convolutions are im2col products through NumPy's BLAS), so
:func:`is_available` and :func:`is_acl_available` are False and :class:`verbose` cannot be
turned on.  The flags -- ``enabled``, ``deterministic``, ``allow_tf32``, ``fp32_precision``
and the ``matmul``/``conv``/``rnn`` precisions -- are stored and restored as in PyTorch.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from . import (ContextProp, PropModule, _FP32Precision, _allow_nonbracketed_mutation, _check_bool,
               _get_fp32_precision, _install, _set_fp32_precision)

VERBOSE_OFF = 0
VERBOSE_ON = 1
VERBOSE_ON_CREATION = 2

_flags: dict[str, Any] = {"enabled": True, "deterministic": False}


def is_available() -> bool:
    """Whether the library computes with oneDNN: no."""
    return False


def is_acl_available() -> bool:
    """Whether oneDNN's Arm Compute Library backend is built in: no."""
    return False


class verbose:
    """``with torch.backends.mkldnn.verbose(VERBOSE_ON): ...`` -- oneDNN's call log.  Entering
    with a level other than VERBOSE_OFF fails, as in PyTorch without oneDNN."""

    def __init__(self, level: int) -> None:
        self.level = level

    def __enter__(self) -> "verbose":
        if self.level == VERBOSE_OFF:
            return self
        raise AssertionError("Failed to set MKLDNN into verbose mode. Please consider to disable this verbose "
                             "scope. (edunn does not use oneDNN.)")

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        return False


def _set(name: str):
    def setter(value: Any) -> None:
        _flags[name] = _check_bool(f"_set_mkldnn_{name}", value)
    return setter


def _get_allow_tf32() -> bool:
    return _get_fp32_precision("mkldnn", "all") == "tf32"


def _set_allow_tf32(value: bool) -> None:
    if _check_bool("_set_onednn_allow_tf32", value) != _get_allow_tf32():  # an unchanged value stays inherited
        _set_fp32_precision("mkldnn", "all", "tf32" if value else "ieee")


def set_flags(_enabled: bool | None = None, _deterministic: bool | None = None, _allow_tf32: bool | None = None,
              _fp32_precision: str | None = "none") -> tuple:
    """Set the given flags (``None`` leaves one as it is); returns the previous ones."""
    orig_flags = (_flags["enabled"], _flags["deterministic"], _get_allow_tf32(),
                  _get_fp32_precision("mkldnn", "all"))
    if _enabled is not None:
        _set("enabled")(_enabled)
    if _deterministic is not None:
        _set("deterministic")(_deterministic)
    if _allow_tf32 is not None:
        _set_allow_tf32(_allow_tf32)
    if _fp32_precision is not None:
        _set_fp32_precision("mkldnn", "all", _fp32_precision)
    return orig_flags


@contextmanager
def flags(enabled: bool = False, deterministic: bool = False, allow_tf32: bool = True, fp32_precision: str = "none"):
    """Set these flags for the block, then restore the previous ones."""
    with _allow_nonbracketed_mutation():
        orig_flags = set_flags(enabled, deterministic, allow_tf32, fp32_precision)
    try:
        yield
    finally:
        with _allow_nonbracketed_mutation():
            set_flags(*orig_flags)


class MkldnnModule(PropModule):
    def is_available(self) -> bool:
        return is_available()

    enabled = ContextProp(lambda: _flags["enabled"], _set("enabled"))
    deterministic = ContextProp(lambda: _flags["deterministic"], _set("deterministic"))
    allow_tf32 = ContextProp(_get_allow_tf32, _set_allow_tf32)
    matmul = _FP32Precision("mkldnn", "matmul")
    conv = _FP32Precision("mkldnn", "conv")
    rnn = _FP32Precision("mkldnn", "rnn")
    fp32_precision = ContextProp(lambda: _get_fp32_precision("mkldnn", "all"),
                                 lambda p: _set_fp32_precision("mkldnn", "all", p))


_install(__name__, MkldnnModule)
