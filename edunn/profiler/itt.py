"""``edunn.profiler.itt``: Intel ITT annotations for VTune (PyTorch's ``torch.profiler.itt``).

PyTorch is built with ITT; without VTune attached its calls do nothing and return ``None``.
edunn has no ITT binding at all, so ``is_available()`` is False and ``range_push``,
``range_pop`` and ``mark`` are documented no-ops returning ``None`` -- what the same calls do in
PyTorch on a machine without VTune -- so code that annotates for VTune runs unchanged.  To
label code for edunn's own profiler, use ``edunn.profiler.record_function``.
"""
from contextlib import contextmanager

__all__ = ["is_available", "range_push", "range_pop", "mark", "range"]


def is_available() -> bool:
    """Whether ITT can be used: never in edunn (no ITT binding)."""
    return False


def range_push(msg: str) -> None:
    """Push a range onto the stack of nested range spans: a no-op here (no ITT)."""
    return None


def range_pop() -> None:
    """Pop a range off the stack of nested range spans: a no-op here (no ITT)."""
    return None


def mark(msg: str) -> None:
    """Describe an instantaneous event: a no-op here (no ITT)."""
    return None


@contextmanager
def range(msg: str, *args, **kwargs):
    """``range_push(msg.format(*args, **kwargs))`` on entry, ``range_pop()`` on exit."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
