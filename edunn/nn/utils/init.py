"""``skip_init`` (``torch.nn.utils.init``): build a module without initialising its parameters.

PyTorch builds the module on the ``meta`` device (shapes and dtypes, no storage, so the
``nn.init`` calls of the constructor cost nothing) and then gives it uninitialised storage on
the requested device with ``Module.to_empty``.  edunn has no ``meta`` device, so the constructor
runs for real on the requested device, and ``to_empty`` then replaces every parameter and buffer
by uninitialised storage of the same shape and dtype.  The initialisation is computed and thrown
away (no time is saved), but the result is what PyTorch's is: values as from ``edunn.empty``,
and the random generators left exactly as they were (their state is saved before the
constructor and restored after it), so the random stream of the program is not affected.
"""
from __future__ import annotations

import inspect
from typing import Any

import edunn
from ... import backend
from ..modules.module import Module

__all__ = ["skip_init"]


def skip_init(module_cls: type, *args: Any, **kwargs: Any) -> Module:
    r"""Instantiate ``module_cls(*args, **kwargs)`` with its parameters and buffers
    uninitialised (as if made by ``edunn.empty``); then initialise them yourself.

    The module must accept a ``device`` argument and pass it to the tensors it creates, and
    must do no computation with its parameters in ``__init__`` besides initialising them.

    Args:
        module_cls: Class object; should be a subclass of :class:`edunn.nn.Module`
        args: args to pass to the module's constructor
        kwargs: kwargs to pass to the module's constructor

    Returns:
        Instantiated module with uninitialized parameters / buffers

    Example::

        >>> m = edunn.nn.utils.skip_init(edunn.nn.Linear, 5, 1)
        >>> m.weight.shape
        edunn.Size([1, 5])
    """
    if not (isinstance(module_cls, type) and issubclass(module_cls, Module)):
        raise RuntimeError(f"Expected a Module; got {module_cls}")
    if "device" not in inspect.signature(module_cls).parameters:
        raise RuntimeError("Module must support a 'device' arg to skip initialization")
    final_device = kwargs.pop("device", "cpu")
    device = backend.as_device(f"cuda:{final_device}" if isinstance(final_device, int) else final_device)
    cpu_state = edunn.get_rng_state()
    cuda_state = edunn.cuda.get_rng_state(device) if device.type == "cuda" else None
    try:
        module = module_cls(*args, device=device, **kwargs)
    finally:
        edunn.set_rng_state(cpu_state)
        if cuda_state is not None:
            edunn.cuda.set_rng_state(cuda_state, device)
    return module.to_empty(device=device)
