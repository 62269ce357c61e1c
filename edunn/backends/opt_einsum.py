"""``edunn.backends.opt_einsum`` (``torch.backends.opt_einsum``): how ``einsum`` orders the
contractions of three or more operands.

``einsum("ij,jk,kl->il", a, b, c)`` can be computed as ``(a b) c`` or ``a (b c)``, at very
different costs.  PyTorch asks the ``opt_einsum`` package for a good order when it is installed;
``strategy`` is "auto", "greedy" or "optimal".  NumPy and CuPy have the same search built in
(``einsum_path``, with "greedy" and "optimal"), and edunn's ``einsum`` uses it: so here the
feature is always available, ``enabled`` defaults to True and ``strategy`` to "auto" (=
"greedy", as opt_einsum's "auto" for more than a handful of operands).  ``enabled = False``
contracts left to right, as PyTorch without opt_einsum.  The setting lives in
``edunn/ops/linalg.py`` (``_einsum_optimize``); this module reads and writes it.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from ..ops import linalg as _linalg
from . import ContextProp, PropModule, _allow_nonbracketed_mutation, _install

__all__ = ["is_available", "get_opt_einsum", "set_flags", "flags"]

_strategy_state = {"name": "auto"}
_STRATEGIES = {"auto": "greedy", "greedy": "greedy", "optimal": "optimal"}


def is_available() -> bool:
    """Whether einsum searches a contraction order: yes (NumPy/CuPy's ``einsum_path``)."""
    return True


def get_opt_einsum() -> Any:
    """The ``opt_einsum`` package PyTorch would use: None, edunn uses NumPy/CuPy's built-in
    search instead (same strategies)."""
    return None


def _get_enabled() -> bool:
    return _linalg._einsum_optimize is not False


def _set_enabled(_enabled: bool) -> None:
    _linalg._einsum_optimize = _STRATEGIES[_strategy_state["name"]] if _enabled else False


def _get_strategy() -> str:
    return _strategy_state["name"]


def _set_strategy(_strategy_name: str) -> None:
    if not _get_enabled():
        raise ValueError(f"opt_einsum is not enabled, so setting a `strategy` to {_strategy_name} will not be "
                         "meaningful. torch.einsum will bypass path calculation and simply contract from left "
                         "to right. Please set `enabled` to `True` as well or unset `strategy`.")
    if _strategy_name not in _STRATEGIES:
        raise ValueError(f"`strategy` must be one of the following: [auto, greedy, optimal] but is {_strategy_name}")
    _strategy_state["name"] = _strategy_name
    _linalg._einsum_optimize = _STRATEGIES[_strategy_name]


def set_flags(_enabled: bool | None = None, _strategy: str | None = None) -> tuple:
    """Set ``enabled`` and/or ``strategy``; returns the previous pair."""
    orig_flags = (_get_enabled(), _get_strategy())
    if _enabled is not None:
        _set_enabled(_enabled)
    if _strategy is not None:
        if _get_enabled():
            _set_strategy(_strategy)
        elif _strategy in _STRATEGIES:  # restoring a disabled state: remember the name only
            _strategy_state["name"] = _strategy
    return orig_flags


@contextmanager
def flags(enabled: bool | None = None, strategy: str | None = None):
    """``with torch.backends.opt_einsum.flags(strategy="optimal"): ...`` -- then restore."""
    with _allow_nonbracketed_mutation():
        orig_flags = set_flags(enabled, strategy)
    try:
        yield
    finally:
        with _allow_nonbracketed_mutation():
            set_flags(*orig_flags)


class OptEinsumModule(PropModule):
    enabled = ContextProp(_get_enabled, _set_enabled)
    strategy = ContextProp(_get_strategy, _set_strategy)


_install(__name__, OptEinsumModule)
