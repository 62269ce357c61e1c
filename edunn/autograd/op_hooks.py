"""Observers of every op: the one place where profilers, ``FlopCounterMode`` and forward-mode AD
see each ``Function.apply``.

PyTorch has a dispatcher through which every op passes, and modes (``TorchDispatchMode``) that sit
on it.  edunn's single entry point is ``Function.apply``; while an observer is installed it calls
``call_hooked`` instead of running the op directly.  An observer is a callable

    hook(cls, args, kwargs, proceed) -> result

that must call ``proceed()`` (which runs the op, or the next observer inside it) exactly once and
return what the op returns; it may look at the inputs, time the call, or attach something to the
outputs.  Observers are per thread, like grad mode.  While an op runs under its observers, the
observers are switched off, so the ops that an op (or an observer) runs internally are not
observed a second time; with no observer installed an op pays one attribute check.
"""
from __future__ import annotations

import contextlib
from typing import Any, Callable, Iterator

from . import grad_mode

_state = grad_mode.state


def call_hooked(cls: type, args: tuple, kwargs: dict) -> Any:
    """Run ``cls.apply(*args, **kwargs)`` through the installed observers, outermost first."""
    hooks = _state.op_hooks
    _state.op_hooks = ()
    try:
        return _run(hooks, 0, cls, args, kwargs)
    finally:
        _state.op_hooks = hooks


def _run(hooks: tuple, i: int, cls: type, args: tuple, kwargs: dict) -> Any:
    # a module-level function, not a closure calling itself: such a closure is a reference
    # cycle that would keep the op's inputs alive until the garbage collector runs
    if i == len(hooks):
        return cls.apply(*args, **kwargs)
    return hooks[i](cls, args, kwargs, lambda: _run(hooks, i + 1, cls, args, kwargs))


@contextlib.contextmanager
def observing(hook: Callable[..., Any]) -> Iterator[None]:
    """Install ``hook`` (innermost) for the duration of the ``with`` block."""
    previous = _state.op_hooks
    _state.op_hooks = previous + (hook,)
    try:
        yield
    finally:
        _state.op_hooks = previous


def add_hook(hook: Callable[..., Any]) -> None:
    """Install ``hook`` until ``remove_hook``: for observers entered and left by separate calls
    (``profile.start()``/``stop()``)."""
    _state.op_hooks = _state.op_hooks + (hook,)


def remove_hook(hook: Callable[..., Any]) -> None:
    hooks = list(_state.op_hooks)
    if hook not in hooks:
        raise RuntimeError("this op observer is not installed")
    hooks.remove(hook)
    _state.op_hooks = tuple(hooks)
