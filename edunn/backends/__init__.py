"""``edunn.backends`` (``torch.backends``): the switches that choose how PyTorch's native
libraries (cuDNN, cuBLAS, MKL, oneDNN, ...) compute.

A training script sets them first thing -- ``torch.backends.cudnn.benchmark = True``,
``torch.backends.cuda.matmul.allow_tf32 = True`` -- and asks what is there --
``torch.backends.mps.is_available()``.  edunn computes with NumPy on the CPU and CuPy on the
GPU, so each submodule answers *truthfully for edunn*: ``cudnn.is_available()`` is False (edunn
never calls cuDNN), ``mkl.is_available()`` is True only when NumPy's BLAS is MKL, and so on.
Every flag can be set and read back, and the ``flags(...)`` context managers restore it, as in
PyTorch; where a flag changes numerics in edunn too, its docstring says so.

How a module gets properties.  ``torch.backends.cudnn.benchmark = True`` is an *assignment to a
module attribute*, which PyTorch intercepts (to check it, and to refuse it after
:func:`disable_global_flags`) by giving the module a class with descriptors.  edunn does the
same with the two small classes below: :class:`ContextProp` (a getter/setter pair) and
:class:`PropModule` (a module type; each submodule sets ``sys.modules[__name__].__class__`` to
a subclass that lists its ``ContextProp`` s).

Top level, as ``torch.backends``: :func:`disable_global_flags` / :func:`flags_frozen`,
``fp32_precision`` (the generic float32 precision: "none", "ieee", "tf32" or "bf16"),
:func:`set_flags` and :func:`flags`.
"""
from __future__ import annotations

import sys
import types
from contextlib import contextmanager
from typing import Any, Callable

_allow_nonbracketed_mutation_flag = True


def disable_global_flags() -> None:
    """From now on, assigning a backend flag (``cudnn.benchmark = True``) raises; only the
    ``flags(...)`` context managers may change them.  For libraries that want every change
    bracketed."""
    global _allow_nonbracketed_mutation_flag
    _allow_nonbracketed_mutation_flag = False


def flags_frozen() -> bool:
    """Whether :func:`disable_global_flags` has been called."""
    return not _allow_nonbracketed_mutation_flag


@contextmanager
def _allow_nonbracketed_mutation():
    """Let the ``flags(...)`` context managers set flags even when they are frozen."""
    global _allow_nonbracketed_mutation_flag
    old = _allow_nonbracketed_mutation_flag
    _allow_nonbracketed_mutation_flag = True
    try:
        yield
    finally:
        _allow_nonbracketed_mutation_flag = old


class ContextProp:
    """A module attribute with a getter and a setter; setting it raises once the flags are
    frozen (:func:`disable_global_flags`)."""

    def __init__(self, getter: Callable[[], Any], setter: Callable[[Any], Any]) -> None:
        self.getter = getter
        self.setter = setter

    def __get__(self, obj: Any, objtype: Any) -> Any:
        return self.getter()

    def __set__(self, obj: Any, val: Any) -> None:
        if not flags_frozen():
            self.setter(val)
        else:
            raise RuntimeError(f"not allowed to set {obj.__name__} flags after disable_global_flags; "
                               "please use flags() context manager instead")


class PropModule(types.ModuleType):
    """The module type whose subclasses hold ``ContextProp`` s.  PyTorch wraps the original
    module in one (``PropModule(m, name)``, attribute reads fall through to ``m``); edunn
    changes the module's class in place (``_install``), so ``m`` is the module itself."""

    def __init__(self, m: types.ModuleType, name: str) -> None:
        super().__init__(name)
        self.m = m

    def __getattr__(self, attr: str) -> Any:
        return self.m.__getattribute__(attr)


def _install(module_name: str, cls: type) -> None:
    """Give the module ``module_name`` the class ``cls`` (a ``types.ModuleType`` subclass with
    ``ContextProp`` s): from then on its flags are properties."""
    module = sys.modules[module_name]
    module.__class__ = cls
    module.m = module   # PyTorch's PropModule keeps the wrapped module as ``.m``


def _check_bool(name: str, value: Any) -> bool:
    """PyTorch's flag setters take a bool (its C++ binding raises TypeError otherwise)."""
    if not isinstance(value, bool):
        raise TypeError(f"{name}(): argument must be bool, but got {type(value).__name__}")
    return value


# ------------------------------------------------------------------ float32 precision
# PyTorch 2.9+ keeps one "fp32_precision" per (backend, op): backend "generic" (op "all"),
# "cuda" and "mkldnn" (ops "all", "matmul", "conv", "rnn").  "none" means "inherit": an op
# inherits its backend's "all", which inherits the generic one; a value the backend does not
# support reads as "none"; when every level is "none", CUDA convolutions and RNNs default to
# "tf32".  edunn keeps the same table; it computes float32 in full (IEEE) float32 whatever it
# says (see edunn/_runtime.py), so the table is recorded and reported.
_PRECISIONS = {"generic": ("none", "ieee", "tf32", "bf16"), "cuda": ("none", "ieee", "tf32"),
               "mkldnn": ("none", "ieee", "tf32", "bf16")}
_OPS = {"generic": ("all",), "cuda": ("all", "matmul", "conv", "rnn"),
        "mkldnn": ("all", "matmul", "conv", "rnn")}
_fp32_precision = {(b, op): "none" for b, ops in _OPS.items() for op in ops}


def _check_backend_op(backend: str, op: str) -> None:
    if backend not in _OPS or op not in _OPS[backend]:
        raise RuntimeError(f"Invalid (backend, op) pair: ({backend}, {op})")


def _get_fp32_precision(backend: str, op: str) -> str:
    _check_backend_op(backend, op)
    for key in ((backend, op), (backend, "all"), ("generic", "all")):
        value = _fp32_precision[key]
        if value != "none":
            return value if value in _PRECISIONS[backend] else "none"
    return "tf32" if backend == "cuda" and op in ("conv", "rnn") else "none"


def _set_fp32_precision(backend: str, op: str, precision: str) -> None:
    _check_backend_op(backend, op)
    if precision not in _PRECISIONS["generic"]:
        raise RuntimeError(f"Unknown precision: {precision}")
    if precision not in _PRECISIONS[backend]:
        raise RuntimeError(f"backend '{backend}' does not support precision '{precision}'")
    _fp32_precision[(backend, op)] = precision


def _get_fp32_precision_getter(backend: str, op: str) -> Callable[[], str]:
    return lambda: _get_fp32_precision(backend, op)


def _set_fp32_precision_setter(backend: str, op: str) -> Callable[[str], None]:
    return lambda precision: _set_fp32_precision(backend, op, precision)


class _FP32Precision:
    """``cudnn.conv``, ``cuda.matmul``, ``mkldnn.rnn`` ...: an object whose one attribute,
    ``fp32_precision``, is that (backend, op) entry of the table."""

    def __init__(self, backend: str, op: str) -> None:
        self.backend = backend
        self.op = op

    def __setattr__(self, name: str, value: Any) -> None:
        if name == "fp32_precision":
            _set_fp32_precision(self.backend, self.op, value)
        elif name in ("backend", "op"):
            super().__setattr__(name, value)
        else:
            raise AttributeError("Unknown attribute " + name)

    def __getattr__(self, name: str) -> Any:
        if name == "fp32_precision":
            return _get_fp32_precision(self.backend, self.op)
        raise AttributeError("Unknown attribute " + name)


def set_flags(_fp32_precision: str | None = "none") -> tuple:
    """Set the generic float32 precision; returns the previous flags (for :func:`flags`)."""
    orig_flags = (_get_fp32_precision("generic", "all"),)
    if _fp32_precision is not None:
        _set_fp32_precision("generic", "all", _fp32_precision)
    return orig_flags


@contextmanager
def flags(fp32_precision: str = "none"):
    """``with torch.backends.flags(fp32_precision="ieee"):`` -- set, then restore."""
    with _allow_nonbracketed_mutation():
        orig_flags = set_flags(fp32_precision)
    try:
        yield
    finally:
        with _allow_nonbracketed_mutation():
            set_flags(*orig_flags)


class GenericModule(PropModule):
    fp32_precision = ContextProp(_get_fp32_precision_getter("generic", "all"),
                                 _set_fp32_precision_setter("generic", "all"))


_install(__name__, GenericModule)

from . import (cpu, cuda, cudnn, cusparselt, kleidiai, mha, miopen, mkl, mkldnn,  # noqa: E402
               mps, nnpack, openmp, opt_einsum, python_native, quantized)

_SUBMODULES = (cpu, cuda, cudnn, cusparselt, kleidiai, mha, miopen, mkl, mkldnn, mps, nnpack, openmp, opt_einsum,
               python_native, quantized)
