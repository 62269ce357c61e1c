"""Small top-level queries and switches PyTorch scripts use: the tensor predicates
``get_device``/``is_complex``/``is_conj``/``is_neg``/``is_inference``, ``typename``, and the
process-wide settings ``set_deterministic_debug_mode``, ``set_anomaly_enabled``,
``set_warn_always``, ``set_flush_denormal`` and the inter-op thread count, with their getters.

Each predicate asks the tensor (the answer lives in one place, the ``Tensor`` method).
``is_complex`` follows the dtype; edunn conjugates eagerly (``conj()`` copies) and has no lazy
negation bit, so ``is_conj`` and ``is_neg`` are always False.  The settings reuse the switches edunn already has
(the determinism flag in ``ops/utilities.py``, anomaly mode in ``autograd``); where edunn has no
such machinery (an inter-op thread pool, control of the CPU's denormal mode) the value is
validated and recorded, and the docstring says what it does and does not change.
"""
from __future__ import annotations

import builtins
import os
from typing import Any

from ..autograd.anomaly_mode import is_anomaly_check_nan_enabled, is_anomaly_enabled
from ..autograd.grad_mode import state as _grad_state
from ..tensor import Tensor
from .utilities import (are_deterministic_algorithms_enabled, is_deterministic_algorithms_warn_only_enabled,
                        use_deterministic_algorithms)

__all__ = ["get_device", "is_complex", "is_conj", "is_neg", "is_inference", "typename",
           "get_deterministic_debug_mode", "set_deterministic_debug_mode", "set_anomaly_enabled", "is_anomaly_enabled",
           "is_anomaly_check_nan_enabled",
           "set_warn_always", "is_warn_always_enabled", "set_flush_denormal",
           "get_num_interop_threads", "set_num_interop_threads"]


def _tensor(input: Any, name: str) -> Tensor:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    return input


def get_device(input: Tensor) -> int:
    """The CUDA device index of ``input``, or -1 for a CPU tensor."""
    return _tensor(input, "get_device").get_device()


def is_complex(input: Tensor) -> bool:
    """Whether ``input``'s dtype is complex (``complex64``/``complex128``)."""
    return _tensor(input, "is_complex").is_complex()


def is_conj(input: Tensor) -> bool:
    """Whether ``input`` is a lazily conjugated view: never in edunn, whose ``conj()`` computes
    the conjugate at once (see ``ops/complex.py``)."""
    return _tensor(input, "is_conj").is_conj()


def is_neg(input: Tensor) -> bool:
    """Whether ``input`` is a lazily negated view: never in edunn, which has no lazy negation."""
    return _tensor(input, "is_neg").is_neg()


def is_inference(input: Tensor) -> bool:
    """Whether ``input`` was created under ``inference_mode``."""
    return _tensor(input, "is_inference").is_inference()


def typename(obj: Any, /) -> str:
    """A tensor's type string (``'torch.FloatTensor'`` in PyTorch, ``'edunn.FloatTensor'``
    here), else the object's ``module.qualname`` (bare for builtins: ``typename(3) == 'int'``)."""
    if isinstance(obj, Tensor):
        return obj.type()
    module = getattr(obj, "__module__", "") or ""
    if hasattr(obj, "__qualname__"):
        qualname = obj.__qualname__
    elif hasattr(obj, "__name__"):
        qualname = obj.__name__
    else:
        module = obj.__class__.__module__ or ""
        qualname = obj.__class__.__qualname__
    return qualname if module in {"", "builtins"} else f"{module}.{qualname}"


# ---- determinism: PyTorch's debug mode is another spelling of use_deterministic_algorithms ---
_DEBUG_MODES = {"default": 0, "warn": 1, "error": 2}


def set_deterministic_debug_mode(debug_mode: builtins.int | str) -> None:
    """0/"default": nondeterministic ops allowed; 1/"warn": deterministic, warn where an op is
    not; 2/"error": deterministic, error where an op is not."""
    if not isinstance(debug_mode, (builtins.int, str)):
        raise TypeError(f"debug_mode must be str or int, but got {type(debug_mode)}")
    if isinstance(debug_mode, str):
        if debug_mode not in _DEBUG_MODES:
            raise RuntimeError("invalid value of debug_mode, expected one of `default`, "
                               f"`warn`, `error`, but got {debug_mode}")
        debug_mode = _DEBUG_MODES[debug_mode]
    if debug_mode not in (0, 1, 2):
        raise RuntimeError(f"invalid value of debug_mode, expected 0, 1, or 2, but got {debug_mode}")
    use_deterministic_algorithms(debug_mode > 0, warn_only=debug_mode == 1)


def get_deterministic_debug_mode() -> builtins.int:
    if not are_deterministic_algorithms_enabled():
        return 0
    return 1 if is_deterministic_algorithms_warn_only_enabled() else 2


# ---- anomaly mode ------------------------------------------------------------------------------
def set_anomaly_enabled(enabled: bool, check_nan: bool = True) -> None:
    """Turn anomaly detection on or off for good (``autograd.set_detect_anomaly`` without the
    context manager)."""
    if not isinstance(enabled, bool) or not isinstance(check_nan, bool):
        raise TypeError(f"set_anomaly_enabled(): arguments must be bool, got "
                        f"({type(enabled).__name__}, {type(check_nan).__name__})")
    _grad_state.anomaly, _grad_state.anomaly_check_nan = enabled, check_nan


# ---- warnings ----------------------------------------------------------------------------------
_WARN_ALWAYS = [False]


def set_warn_always(b: bool, /) -> None:
    """PyTorch warns once per process for some warnings; ``True`` makes it warn every time.
    edunn's warnings go through Python's ``warnings`` module, whose filters decide; the flag is
    recorded for code that reads it back."""
    if not isinstance(b, bool):
        raise TypeError(f"set_warn_always(): argument 'b' must be bool, not {type(b).__name__}")
    _WARN_ALWAYS[0] = b


def is_warn_always_enabled() -> bool:
    return _WARN_ALWAYS[0]


def set_flush_denormal(mode: bool) -> bool:
    """PyTorch sets the CPU's flush-to-zero mode and returns whether the CPU supports it.
    NumPy offers no control of the floating-point mode, so edunn cannot flush denormals and
    returns ``False`` (what PyTorch returns on a CPU without the feature); nothing changes."""
    if not isinstance(mode, bool):
        raise TypeError(f"set_flush_denormal(): argument 'mode' (position 1) must be bool, "
                        f"not {type(mode).__name__}")
    return False


# ---- inter-op threads --------------------------------------------------------------------------
_INTEROP_THREADS = [os.cpu_count() or 1]


def get_num_interop_threads() -> builtins.int:
    """The inter-op pool size (PyTorch runs independent ops of a TorchScript graph in parallel
    there; it defaults to the number of CPU cores).  edunn runs ops one after another; the value
    is recorded for code that reads it back."""
    return _INTEROP_THREADS[0]


def set_num_interop_threads(int: builtins.int) -> None:  # noqa: A002  (PyTorch's parameter name)
    if isinstance(int, bool) or not isinstance(int, builtins.int):
        raise TypeError(f"set_num_interop_threads(): argument 'int' (position 1) must be int, "
                        f"not {type(int).__name__}")
    if int <= 0:
        raise RuntimeError("set_num_interop_threads expects a positive integer")
    _INTEROP_THREADS[0] = int
