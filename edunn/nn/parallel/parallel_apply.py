"""``parallel_apply``: run each replica on its inputs, one thread per device (lesson 18), as
``torch/nn/parallel/parallel_apply.py``.

Threads suit this work: on a GPU each thread only queues kernels (CuPy releases the GIL while
they run), and NumPy releases the GIL inside its large array routines.  Each thread makes its
device current (``backend.device_context``), inherits the caller's grad mode (grad mode is per
thread), and an exception in one replica is re-raised in the caller naming the replica and
device, with the original traceback in the message.

Difference from PyTorch: devices may be CPU; with ``devices=None`` a replica runs on the device
of the first tensor in its input (PyTorch 2.13 uses the current accelerator and needs one).
"""
from __future__ import annotations

import sys
import threading
import traceback
from typing import Any, Sequence

from ... import backend
from ...autograd import grad_mode
from ...tensor import Tensor
from ..modules.module import Module
from .comm import _get_device

__all__ = ["get_a_var", "parallel_apply"]


class ExceptionWrapper:
    """An exception and its traceback, carried from a worker thread to the caller
    (``torch._utils.ExceptionWrapper``)."""

    def __init__(self, exc_info: Any = None, where: str = "in background") -> None:
        if exc_info is None:
            exc_info = sys.exc_info()
        self.exc_type = exc_info[0]
        # the formatted text, not exc_info itself: a traceback would keep every frame alive
        self.exc_msg = "".join(traceback.format_exception(*exc_info))
        self.where = where

    def reraise(self) -> None:
        """Raise the wrapped exception's type here: "Caught ValueError in replica 1 on device
        cpu.\\nOriginal Traceback (most recent call last): ..."."""
        msg = f"Caught {self.exc_type.__name__} {self.where}.\nOriginal {self.exc_msg}"
        if self.exc_type is KeyError:
            msg = _KeyErrorMessage(msg)
        try:
            exception = self.exc_type(msg)
        except Exception:
            # an exception class that cannot be built from one message
            raise RuntimeError(msg) from None
        raise exception


class _KeyErrorMessage(str):
    """KeyError shows ``repr`` of its argument; this keeps the traceback's line breaks."""

    def __repr__(self) -> str:
        return self


def get_a_var(obj: Any) -> Tensor | None:
    """The first tensor found in ``obj`` (a tensor, or lists, tuples and dicts of them)."""
    if isinstance(obj, Tensor):
        return obj
    if isinstance(obj, (list, tuple)):
        for result in map(get_a_var, obj):
            if isinstance(result, Tensor):
                return result
    if isinstance(obj, dict):
        for result in map(get_a_var, obj.items()):
            if isinstance(result, Tensor):
                return result
    return None


def parallel_apply(modules: Sequence[Module], inputs: Sequence[Any],
                   kwargs_tup: Sequence[dict] | None = None,
                   devices: Sequence[Any] | None = None) -> list:
    r"""Apply ``modules[i]`` to ``inputs[i]`` (and ``kwargs_tup[i]``) on ``devices[i]``, all in
    parallel; returns the outputs in order.

    ``modules``, ``inputs``, ``kwargs_tup`` (if given) and ``devices`` (if given) have the same
    length.  Each element of ``inputs`` is either the module's only argument or a list/tuple of
    its positional arguments.
    """
    if len(modules) != len(inputs):
        raise AssertionError(f"The number of modules {len(modules)} is not equal to the number of "
                             f"inputs {len(inputs)}")
    if kwargs_tup is not None:
        if len(modules) != len(kwargs_tup):
            raise AssertionError(f"The number of modules {len(modules)} is not equal to the number "
                                 f"of kwargs_tup {len(kwargs_tup)}")
    else:
        kwargs_tup = ({},) * len(modules)
    if devices is not None:
        if len(modules) != len(devices):
            raise AssertionError(f"The number of modules {len(modules)} is not equal to the number "
                                 f"of devices {len(devices)}")
        # a None entry: the device of that replica's input, as with devices=None
        devices = [None if x is None else _get_device(x, optional=True) for x in devices]
    else:
        devices = [None] * len(modules)
    lock = threading.Lock()
    results: dict = {}
    grad_enabled = grad_mode.state.enabled
    anomaly = grad_mode.state.anomaly, grad_mode.state.anomaly_check_nan

    def _worker(i: int, module: Module, input: Any, kwargs: dict, device: Any = None) -> None:
        # grad mode is per thread: a new thread would otherwise start with gradients on
        grad_mode.state.enabled = grad_enabled
        grad_mode.state.anomaly, grad_mode.state.anomaly_check_nan = anomaly
        if device is None:
            t = get_a_var(input)
            if t is None:
                # (PyTorch builds this wrapper outside an ``except``, so its reraise fails with an
                # AttributeError; here it raises the RuntimeError that the message describes)
                error = RuntimeError(f"in replica {i}, no device was provided and no tensor input "
                                     "was found; device cannot be resolved")
                with lock:
                    results[i] = ExceptionWrapper((RuntimeError, error, None), where=f"in replica {i}")
                return
            device = t.device
        try:
            with backend.device_context(device):
                # a lone tensor is one argument (never unpacked along its first dimension)
                if not isinstance(input, (list, tuple)):
                    input = (input,)
                output = module(*input, **kwargs)
            with lock:
                results[i] = output
        except Exception:
            with lock:
                results[i] = ExceptionWrapper(where=f"in replica {i} on device {device}")

    if len(modules) > 1:
        threads = [threading.Thread(target=_worker, args=(i, module, input, kwargs, device))
                   for i, (module, input, kwargs, device)
                   in enumerate(zip(modules, inputs, kwargs_tup, devices))]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    else:
        _worker(0, modules[0], inputs[0], kwargs_tup[0], devices[0])

    outputs = []
    for i in range(len(inputs)):
        output = results[i]
        if isinstance(output, ExceptionWrapper):
            output.reraise()
        outputs.append(output)
    return outputs
