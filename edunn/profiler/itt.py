"""``edunn.profiler.itt``: Intel ITT annotations for VTune (PyTorch's ``torch.profiler.itt``).

PyTorch is usually built with ITT; then ``is_available()`` is True and the range calls are cheap
no-ops unless VTune is collecting.  edunn has no ITT binding, so it behaves as PyTorch built
without ITT: ``is_available()`` is False and ``range_push``/``range_pop``/``mark`` (and so
``range``) raise ``RuntimeError``.  Use ``edunn.profiler.record_function`` to label code instead.
"""
from contextlib import contextmanager
from typing import NoReturn

__all__ = ["is_available", "range_push", "range_pop", "mark", "range"]


def _fail(*args, **kwargs) -> NoReturn:
    raise RuntimeError("ITT functions not installed. Are you sure you have a ITT build?")


def is_available() -> bool:
    """Whether ITT can be used: never in edunn."""
    return False


def range_push(msg: str) -> int:
    """Push a range onto the stack of nested range spans (needs ITT: raises here)."""
    return _fail(msg)


def range_pop() -> int:
    """Pop a range off the stack of nested range spans (needs ITT: raises here)."""
    return _fail()


def mark(msg: str) -> None:
    """Describe an instantaneous event (needs ITT: raises here)."""
    return _fail(msg)


@contextmanager
def range(msg: str, *args, **kwargs):
    """``range_push(msg.format(*args, **kwargs))`` on entry, ``range_pop()`` on exit."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
