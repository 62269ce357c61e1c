"""``edunn.backends.nnpack`` (``torch.backends.nnpack``): the NNPACK convolution library.
edunn does not use it (:func:`is_available` is False); its ``enabled`` flag is stored and
restored by :func:`flags`, as in PyTorch."""
from __future__ import annotations

from contextlib import contextmanager

from . import _allow_nonbracketed_mutation, _check_bool

__all__ = ["is_available", "flags", "set_flags"]

_flags = {"enabled": True}


def is_available() -> bool:
    """Whether the library computes with NNPACK: no."""
    return False


def set_flags(_enabled: bool) -> tuple:
    """Set NNPACK's ``enabled`` flag; returns the previous value."""
    orig_flags = (_flags["enabled"],)
    _flags["enabled"] = _check_bool("_set_nnpack_enabled", _enabled)
    return orig_flags


@contextmanager
def flags(enabled: bool = False):
    """Set ``enabled`` for the block, then restore it."""
    with _allow_nonbracketed_mutation():
        orig_flags = set_flags(enabled)
    try:
        yield
    finally:
        with _allow_nonbracketed_mutation():
            set_flags(*orig_flags)
