"""Optimizers whose parameters live on several GPUs (model parallelism).

PyTorch runs each op of an optimizer step on its tensors' device, so one optimizer may hold
parameters on ``cuda:0`` and ``cuda:1``.  CuPy runs on the *current* device instead; the step as
a whole runs under the guard of its first parameter (``optimizer._hooked_step``), which is enough
while every parameter shares that device.  :func:`on_each_device` makes the per-parameter loops
of ``_init_group`` and of the functional updates switch to each parameter's device.  It costs one
check per loop on a machine with one GPU or none (``backend.device_guard`` is off there)."""
from __future__ import annotations

from typing import Any, Iterable, Iterator

from .. import backend


def _guarded(items: Iterable[Any]) -> Iterator[Any]:
    for item in items:
        guard = backend.device_guard(item if isinstance(item, tuple) else (item,))
        if guard is None:
            yield item
        else:
            with guard:  # the caller's loop body runs while this parameter's device is current
                yield item


def on_each_device(items: Iterable[Any]) -> Iterable[Any]:
    """``items`` (parameters, or tuples whose first CUDA tensor is the parameter), each one
    handed out with its device current when a machine has several GPUs; else ``items`` itself."""
    return _guarded(items) if backend.multi_gpu[0] else items
