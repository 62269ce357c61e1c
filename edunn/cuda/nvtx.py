"""``edunn.cuda.nvtx`` (``torch.cuda.nvtx``): NVTX annotations for NVIDIA's profilers.

``range_push("forward")`` ... ``range_pop()`` marks a span of time that Nsight Systems shows
next to the kernels launched in it; ``mark`` is an instant.  edunn calls CuPy's bindings
(``cupy.cuda.nvtx``), which need CuPy with NVTX but no GPU.  PyTorch's ``range_push`` and
``range_pop`` return the nesting depth; CuPy's do not, so edunn counts it.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any

from .. import backend

__all__ = ["range_push", "range_pop", "range_start", "range_end", "mark", "range"]

_depth = {"value": 0}


def _nvtx(what: str) -> Any:
    """CuPy's NVTX module, or PyTorch's error when there is none."""
    cupy = backend.cupy
    if cupy is None or not getattr(cupy.cuda.nvtx, "available", False):
        raise RuntimeError(f"edunn.cuda.nvtx.{what}(): NVTX functions not installed. "
                           f"{backend.CUDA_UNAVAILABLE}")
    return cupy.cuda.nvtx


def range_push(msg: str) -> int:
    """Open a nested range named ``msg``; returns its depth (0 for the outermost)."""
    _nvtx("range_push").RangePush(msg)
    _depth["value"] += 1
    return _depth["value"] - 1


def range_pop() -> int:
    """Close the innermost range; returns the depth of the range closed."""
    _nvtx("range_pop").RangePop()
    _depth["value"] = max(_depth["value"] - 1, 0)
    return _depth["value"]


def range_start(msg: str) -> int:
    """Open a range that may end on another thread; returns its id for :func:`range_end`."""
    return int(_nvtx("range_start").RangeStart(msg, 0xFF76B900))  # CuPy wants an ARGB colour


def range_end(range_id: int) -> None:
    """Close the range :func:`range_start` returned ``range_id`` for."""
    _nvtx("range_end").RangeEnd(range_id)


def mark(msg: str) -> None:
    """An instantaneous event named ``msg``."""
    _nvtx("mark").Mark(msg)


@contextmanager
def range(msg: str, *args: Any, **kwargs: Any):
    """``with nvtx.range("layer {}", i):`` -- a range around the block (``msg`` formatted with
    ``args``/``kwargs``)."""
    range_push(msg.format(*args, **kwargs))
    try:
        yield
    finally:
        range_pop()
