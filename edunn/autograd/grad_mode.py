"""Grad modes: whether the ops being run are recorded in the graph.

``no_grad``, ``enable_grad``, ``set_grad_enabled`` and ``inference_mode`` behave as PyTorch's: each
is a context manager and a decorator, and the mode is per thread.  Lesson 02 explains why the
optimizer's update and evaluation run under ``no_grad``.
"""
from __future__ import annotations

import functools
import threading


class _GradState(threading.local):
    def __init__(self) -> None:
        self.enabled = True
        self.inference = False
        self.anomaly = False
        self.anomaly_check_nan = True
        # Observers of every op (profilers, FlopCounterMode, forward-mode AD), outermost first;
        # see ``Function.apply`` and ``autograd/op_hooks.py``.  Empty: the op costs one check.
        self.op_hooks = ()


# The one mutable flag that ``Function.apply`` reads on every op.
state = _GradState()


def is_grad_enabled() -> bool:
    return state.enabled


def is_inference_mode_enabled() -> bool:
    return state.inference


class _DecoratorContextManager:
    """A context manager that can also decorate a function (``@no_grad()`` or ``@no_grad``)."""

    def __call__(self, func=None):
        if func is None:  # PyTorch allows ``@no_grad()`` and, for a few, bare ``@no_grad``.
            return self.__class__()
        mode = self

        @functools.wraps(func)
        def wrapper(*args, **kwargs):
            with mode.clone():
                return func(*args, **kwargs)
        return wrapper

    def clone(self):
        return self.__class__()


class _SetGrad(_DecoratorContextManager):
    """Sets ``state.enabled`` to the class's ``enabled`` inside, and restores it on exit."""

    enabled: bool

    def __new__(cls, orig_func=None):
        if orig_func is not None and callable(orig_func):  # bare ``@no_grad``
            return cls()(orig_func)
        return super().__new__(cls)

    def __init__(self, orig_func=None) -> None:
        self.prev = True

    def __enter__(self) -> None:
        self.prev = state.enabled
        state.enabled = self.enabled

    def __exit__(self, *exc) -> None:
        state.enabled = self.prev


class no_grad(_SetGrad):
    """Disable graph recording: ops inside produce tensors with ``requires_grad=False``."""

    enabled = False


class enable_grad(_SetGrad):
    """Enable graph recording inside a ``no_grad`` region."""

    enabled = True


class set_grad_enabled(_DecoratorContextManager):
    """``set_grad_enabled(False)`` as a function call, a context manager or a decorator."""

    def __init__(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise TypeError(f"set_grad_enabled() expected a bool, got {type(mode).__name__}")
        self.prev = state.enabled
        self.mode = mode
        state.enabled = mode  # takes effect at once when used as a plain function call

    def __call__(self, func=None):
        # Used as a decorator, the mode applies inside the function only: undo the switch
        # that ``__init__`` made (as PyTorch does).
        state.enabled = self.prev
        return super().__call__(func)

    def __enter__(self) -> None:
        state.enabled = self.mode

    def __exit__(self, *exc) -> None:
        state.enabled = self.prev

    def clone(self):
        prev = state.enabled
        clone = self.__class__(self.mode)
        state.enabled = prev
        return clone


class inference_mode(_DecoratorContextManager):
    """``no_grad`` plus a promise that the results will never be used in autograd.  PyTorch uses the
    promise to skip version counting; edunn has nothing to skip, so inside it behaves as
    ``no_grad`` and ``is_inference_mode_enabled()`` reports True."""

    def __new__(cls, mode=True):
        if callable(mode) and not isinstance(mode, bool):
            return cls()(mode)
        return super().__new__(cls)

    def __init__(self, mode: bool = True) -> None:
        self.mode = mode
        self.prev = (True, False)

    def __enter__(self) -> None:
        self.prev = (state.enabled, state.inference)
        if self.mode:
            state.enabled, state.inference = False, True
        else:
            state.inference = False

    def __exit__(self, *exc) -> None:
        state.enabled, state.inference = self.prev

    def clone(self):
        return self.__class__(self.mode)
