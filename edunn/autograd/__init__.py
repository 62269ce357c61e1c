"""``edunn.autograd``: automatic differentiation (PyTorch's ``torch.autograd``).

* ``function.py``  -- ``Function``, the op and graph node a learner can subclass;
* ``engine.py``    -- the backward pass in reverse topological order;
* ``api.py``       -- ``backward`` and ``grad``;
* ``grad_mode.py`` -- ``no_grad``, ``enable_grad``, ``set_grad_enabled``, ``inference_mode``;
* ``gradcheck.py`` -- finite-difference checks of any op's gradient;
* ``anomaly_mode.py`` -- ``detect_anomaly``;
* ``graph.py``     -- the graph's nodes and edges, saved-tensor hooks, multi-grad hooks.
* ``forward_ad.py`` -- forward-mode AD: dual tensors carrying tangents (``_forward_rules.py``).

Also here, for old code: ``Variable`` (before PyTorch 0.4 tensors had to be wrapped in one;
``Variable(t)`` now just returns a tensor) and ``set_multithreading_enabled``.

Lesson 02 builds this package.
"""
from .grad_mode import (no_grad, enable_grad, set_grad_enabled, inference_mode, is_grad_enabled,
                        is_inference_mode_enabled)
from .function import Function, FunctionCtx, once_differentiable
from ._nested_io import NestedIOFunction
from .api import backward, grad
from .anomaly_mode import detect_anomaly, set_detect_anomaly, is_anomaly_enabled, is_anomaly_check_nan_enabled
from .gradcheck import gradcheck, gradgradcheck, GradcheckError
from . import functional
from . import forward_ad
from . import engine as _engine
from .grad_mode import _DecoratorContextManager


class _VariableMeta(type):
    def __instancecheck__(cls, other: object) -> bool:
        from ..tensor import Tensor
        return isinstance(other, Tensor)


class Variable(metaclass=_VariableMeta):
    """PyTorch's legacy wrapper (``torch.autograd.Variable``): ``Variable(t)`` returns a new leaf
    tensor sharing ``t``'s data (like ``t.detach()``) with the given ``requires_grad``;
    ``Variable()`` is an empty float tensor; every tensor is an instance of ``Variable``.
    ``volatile`` was removed in PyTorch 0.4 and only warns."""

    def __new__(cls, data=None, requires_grad: bool = False, volatile: bool = False, _grad_fn=None):
        from ..tensor import Tensor
        from ..ops.creation import empty
        import warnings
        if volatile:
            warnings.warn("volatile was removed and now has no effect. Use `with torch.no_grad():` "
                          "instead.", stacklevel=2)
        if data is None:
            data = empty(0)
        if not isinstance(data, Tensor):
            raise TypeError(f"Variable data has to be a tensor, but got {type(data).__name__}")
        t = data.detach()
        if requires_grad:
            t.requires_grad_(True)
        return t


def variable(*args, **kwargs):
    """Removed in PyTorch (``torch.autograd.variable``): raises, pointing to ``tensor``."""
    raise RuntimeError("torch.autograd.variable(...) is deprecated, use torch.tensor(...) instead")


_multithreading = [True]


class set_multithreading_enabled(_DecoratorContextManager):
    """Enable or disable multithreaded backward (a context manager, a decorator, or a plain call).

    PyTorch runs the backward of GPU ops on one worker thread per device.  edunn's engine always
    runs backward on the calling thread, one node after another, so both settings compute the
    same thing the same way; the flag is recorded (and restored on exit) for code that reads
    ``_is_multithreading_enabled()``."""

    def __init__(self, mode: bool) -> None:
        self.prev = _multithreading[0]
        _multithreading[0] = bool(mode)
        self.mode = mode

    def __enter__(self) -> None:
        pass

    def __exit__(self, exc_type, exc_value, traceback) -> None:
        _multithreading[0] = self.prev

    def clone(self) -> "set_multithreading_enabled":
        return self.__class__(self.mode)


def _is_multithreading_enabled() -> bool:
    return _multithreading[0]


def __getattr__(name: str):
    # ``graph`` builds on ``edunn.utils.hooks``, and ``edunn.utils`` needs ``Tensor``, which is
    # still being defined when this package is first imported: load it on first use (PEP 562).
    if name == "graph":
        import importlib
        return importlib.import_module(".graph", __name__)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


def _is_checkpoint_valid() -> bool:
    """False inside ``grad()`` or ``backward(inputs=...)``, where reentrant checkpointing fails."""
    return _engine.is_checkpoint_valid()


__all__ = ["Function", "FunctionCtx", "once_differentiable", "backward", "grad", "no_grad",
           "enable_grad", "set_grad_enabled", "inference_mode", "is_grad_enabled",
           "is_inference_mode_enabled", "detect_anomaly", "set_detect_anomaly",
           "is_anomaly_enabled", "is_anomaly_check_nan_enabled", "gradcheck", "gradgradcheck",
           "GradcheckError", "functional", "forward_ad", "graph", "Variable",
           "set_multithreading_enabled", "NestedIOFunction",
           "variable"]
