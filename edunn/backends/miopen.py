"""``edunn.backends.miopen`` (``torch.backends.miopen``): AMD's MIOpen (ROCm builds).  edunn has
no ROCm build; the ``immediate`` flag (MIOpen's immediate mode) is stored and restored."""
from __future__ import annotations

from contextlib import contextmanager

from . import ContextProp, PropModule, _allow_nonbracketed_mutation, _check_bool, _install

_flags = {"immediate": False}


def _set_immediate(value: bool) -> None:
    _flags["immediate"] = _check_bool("_set_miopen_immediate", value)


def set_flags(_immediate: bool | None = None) -> tuple:
    orig_flags = (_flags["immediate"],)
    if _immediate is not None:
        _set_immediate(_immediate)
    return orig_flags


@contextmanager
def flags(immediate: bool = False):
    """Set ``immediate`` for the block, then restore it."""
    with _allow_nonbracketed_mutation():
        orig_flags = set_flags(immediate)
    try:
        yield
    finally:
        with _allow_nonbracketed_mutation():
            set_flags(*orig_flags)


class MiopenModule(PropModule):
    immediate = ContextProp(lambda: _flags["immediate"], _set_immediate)


_install(__name__, MiopenModule)
