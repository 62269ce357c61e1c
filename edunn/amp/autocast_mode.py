"""``autocast``: run a region of code in mixed precision, as ``torch.autocast``.

Inside ``with edunn.autocast("cpu"):`` (bfloat16 by default) or ``autocast("cuda")`` (float16),
matrix products and convolutions run in the 16-bit dtype and precision-sensitive ops (losses,
``exp``/``log``, reductions on CUDA) in float32; see ``_policy.py`` for the lists and the rule.
The object only saves the previous state on ``__enter__``, switches it, and restores it on
``__exit__`` -- the casting itself happens inside the ops.  Also here: ``custom_fwd`` and
``custom_bwd``, decorators that make a custom ``autograd.Function`` behave under autocast.
Lesson 18 (GPUs).
"""
from __future__ import annotations

import collections.abc
import functools
import warnings
from typing import Any

from .. import backend
from ..tensor import Tensor
from . import _policy

__all__ = ["autocast_decorator", "autocast", "is_autocast_available", "custom_fwd", "custom_bwd"]

_AVAILABLE = ("cpu", "cuda")


def is_autocast_available(device_type: str) -> bool:
    """Whether autocast can run on ``device_type``: ``"cpu"`` and ``"cuda"`` (the device types
    edunn has; PyTorch also answers True for its other accelerators, xpu, mps, hpu ...)."""
    if not isinstance(device_type, str):
        raise TypeError(f"is_autocast_available(): argument 'device_type' must be str, not "
                        f"{type(device_type).__name__}")
    return device_type in _AVAILABLE


def autocast_decorator(autocast_instance: "autocast", func: Any) -> Any:
    @functools.wraps(func)
    def decorate_autocast(*args, **kwargs):
        with autocast_instance:
            return func(*args, **kwargs)
    return decorate_autocast


class autocast:
    r"""Context manager (and decorator) for a region that runs in mixed precision.

    ``device_type`` is ``"cpu"`` or ``"cuda"``; ``dtype`` the lower precision (default
    ``edunn.get_autocast_dtype(device_type)``: bfloat16 on the CPU, float16 on CUDA; only these
    two are accepted -- another dtype warns and disables autocast, as PyTorch); ``enabled=False``
    turns it off (also inside an enclosing autocast region); ``cache_enabled`` (default
    ``edunn.is_autocast_cache_enabled()``) keeps one 16-bit copy of each parameter per region.

    Wrap only the forward pass and the loss; call ``backward()`` outside: each backward op runs
    in the dtype its forward op ran in, and the casts send float32 gradients to float32
    parameters.  On a machine without a GPU, ``autocast("cuda")`` warns and does nothing, as
    PyTorch's.  Example::

        with edunn.autocast("cpu"):
            loss = F.cross_entropy(model(x), y)   # linear layers in bfloat16, the loss in float32
        loss.backward()
    """

    def __init__(self, device_type: str, dtype: backend.dtype | None = None, enabled: bool = True,
                 cache_enabled: bool | None = None):
        if not isinstance(device_type, str):
            raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")
        self.device = device_type
        if not is_autocast_available(self.device):
            raise RuntimeError(f"User specified an unsupported autocast device_type '{self.device}'")
        self.fast_dtype = _policy.get_dtype(device_type) if dtype is None else dtype
        self._cache_enabled = _policy.is_cache_enabled() if cache_enabled is None else cache_enabled
        supported = [backend.bfloat16, backend.float16]
        if enabled:
            if self.device == "cuda":
                if not backend.cuda_available():
                    warnings.warn("CUDA is not available or torch_xla is imported. Disabling autocast.",
                                  stacklevel=2)
                    enabled = False
            elif self.fast_dtype not in supported:
                name = self.device.upper()
                warnings.warn(f"In {name} autocast, but the target dtype is not supported. Disabling autocast.\n"
                              f"{name} Autocast only supports dtypes of "
                              + ", ".join(map(str, supported)) + " currently.", stacklevel=2)
                enabled = False
        self._enabled = enabled

    def __enter__(self) -> "autocast":
        self.prev_cache_enabled = _policy.is_cache_enabled()
        self.prev = _policy.is_enabled(self.device)
        self.prev_fastdtype = _policy.get_dtype(self.device)
        _policy.set_enabled(self.device, self._enabled)
        _policy.set_dtype(self.device, self.fast_dtype)
        _policy.increment_nesting()
        _policy.set_cache_enabled(self._cache_enabled)
        return self

    def __exit__(self, exc_type: Any, exc_val: Any, exc_tb: Any) -> bool:
        # Drop the cast cache when leaving the outermost autocast region.
        if _policy.decrement_nesting() == 0:
            _policy.clear_cache()
        _policy.set_enabled(self.device, self.prev)
        _policy.set_dtype(self.device, self.prev_fastdtype)
        _policy.set_cache_enabled(self.prev_cache_enabled)
        return False

    def __call__(self, func: Any) -> Any:
        if not callable(func):
            raise TypeError(f"autocast()(func) requires a callable, but got {type(func).__name__}. "
                            f"Did you mean to use autocast as a context manager? For example:\n"
                            f"    with torch.autocast(device_type=...):\n"
                            f"        output = model(input)")
        return autocast_decorator(self, func)


def _cast(value: Any, device_type: str, dtype: backend.dtype) -> Any:
    """Cast the eligible tensors in ``value`` (tensors, or lists/tuples/dicts of them) to
    ``dtype``; strings and everything else pass through."""
    if isinstance(value, Tensor):
        return value.to(dtype) if _policy._eligible(value, device_type) else value
    if isinstance(value, (str, bytes)):
        return value
    if isinstance(value, collections.abc.Mapping):
        return {_cast(k, device_type, dtype): _cast(v, device_type, dtype) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return type(value)(_cast(v, device_type, dtype) for v in value)
    return value


def _check_device_type(device_type: Any) -> None:
    if not isinstance(device_type, str):
        raise ValueError(f"Expected `device_type` of type `str`, got: `{type(device_type)}`")


def custom_fwd(fwd: Any = None, *, device_type: str, cast_inputs: backend.dtype | None = None) -> Any:
    """Decorate the ``forward`` of a custom ``autograd.Function`` for autocast.

    With ``cast_inputs=None`` the forward runs under whatever autocast state is current (and
    ``custom_bwd`` replays that state in backward).  With ``cast_inputs=dtype`` and autocast on
    for ``device_type``, the floating-point tensor arguments are cast to ``dtype`` and the forward
    runs with autocast *off* -- for ops that must see one dtype.  Outside autocast it is a no-op."""
    _check_device_type(device_type)
    if fwd is None:
        return functools.partial(custom_fwd, device_type=device_type, cast_inputs=cast_inputs)

    @functools.wraps(fwd)
    def decorate_fwd(*args, **kwargs):
        args[0]._dtype = _policy.get_dtype(device_type)
        if cast_inputs is None:
            args[0]._fwd_used_autocast = _policy.is_enabled(device_type)
            return fwd(*args, **kwargs)
        autocast_context = _policy.is_enabled(device_type)
        args[0]._fwd_used_autocast = False
        if autocast_context:
            with autocast(device_type=device_type, enabled=False):
                return fwd(*_cast(args, device_type, cast_inputs), **_cast(kwargs, device_type, cast_inputs))
        return fwd(*args, **kwargs)

    return decorate_fwd


def custom_bwd(bwd: Any = None, *, device_type: str) -> Any:
    """Decorate the ``backward`` of a custom ``autograd.Function``: it runs with the autocast
    state (enabled and dtype) that its ``forward`` (decorated by ``custom_fwd``) ran with."""
    _check_device_type(device_type)
    if bwd is None:
        return functools.partial(custom_bwd, device_type=device_type)

    @functools.wraps(bwd)
    def decorate_bwd(*args, **kwargs):
        with autocast(device_type=device_type, enabled=args[0]._fwd_used_autocast, dtype=args[0]._dtype):
            return bwd(*args, **kwargs)

    return decorate_bwd
