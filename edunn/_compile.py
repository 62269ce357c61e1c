"""``edunn.compile`` (``torch.compile``): accept PyTorch's compiler entry point, run eagerly.

What PyTorch does.  ``torch.compile(model)`` returns a wrapper whose first call *traces* the
Python code (TorchDynamo), turns the tensor operations into a graph and hands the graph to a
*backend* ("inductor" by default) that generates fused kernels; later calls replay the compiled
code while the inputs pass the recorded "guards".  The result computes the same function, faster.

What edunn does.  edunn has no tracer and no code generator: every backend runs the model
*eagerly* -- which is exactly what PyTorch's own ``backend="eager"`` does (trace, then run the
graph op by op), minus the tracing.  So ``compile`` is honest about being the identity on
semantics and keeps PyTorch's observable surface:

* ``compile(module)`` returns an :class:`OptimizedModule` that wraps the module as
  ``_orig_mod`` (so ``state_dict()`` keys start with ``"_orig_mod."``, exactly as PyTorch's),
  forwards attribute reads and writes to it, and calls it (hooks included) when called;
* ``compile(fn)`` returns a ``functools.wraps`` wrapper (``__wrapped__`` /
  ``_torchdynamo_orig_callable`` are ``fn``); ``compile()`` with no model is a decorator;
* ``disable=True`` returns the model itself; a backend name PyTorch does not know raises
  PyTorch's ``InvalidBackend``; ``mode`` is checked against inductor's modes; ``mode`` and
  ``options`` together raise; any backend other than "eager" (or a callable backend) warns
  once that edunn runs it eagerly.

``edunn.compiler`` holds the rest of ``torch.compiler`` (``disable``, ``set_stance``,
``list_backends``, ``is_compiling`` ...).
"""
from __future__ import annotations

import functools
import warnings
from typing import Any, Callable

from .nn.modules.module import Module

__all__ = ["compile", "OptimizedModule", "InvalidBackend"]


class InvalidBackend(RuntimeError):
    """``torch._dynamo.exc.InvalidBackend``: a backend name that is not registered."""

    def __init__(self, name: str) -> None:
        super().__init__(f"Invalid backend: {name!r}, see `torch._dynamo.list_backends()` for available backends.")


# PyTorch's registered backends and their tags (list_backends excludes tags)
_DEBUG_BACKENDS = ("aot_eager", "aot_eager_decomp_partition", "aot_eager_decomp_partition_crossref",
                   "aot_eager_decomp_partition_with_mode", "aot_eager_default_partitioner", "aot_ts",
                   "dynamo_accuracy_minifier_backend", "dynamo_minifier_backend", "eager", "eager_debug",
                   "eager_noexcept", "invoke_subgraph", "non_leaf_compile_error_TESTING_ONLY", "pre_dispatch_eager",
                   "relu_accuracy_error_TESTING_ONLY", "relu_compile_error_TESTING_ONLY",
                   "relu_runtime_error_TESTING_ONLY", "ts")
BACKEND_TAGS: dict[str, tuple[str, ...]] = {
    **{name: ("debug",) for name in _DEBUG_BACKENDS},
    "cudagraphs": (), "inductor": (), "openxla": (), "tvm": (), "openxla_eval": ("experimental",)}
_INDUCTOR_MODES = ("default", "lite", "reduce-overhead", "max-autotune-no-cudagraphs", "max-autotune")

_state: dict[str, Any] = {"default_backend": "inductor", "warned": set()}


def _check_backend(backend: str | Callable) -> str:
    """The backend's name after PyTorch's checks; warns once per name that edunn runs it eagerly."""
    if callable(backend):
        name = getattr(backend, "__name__", type(backend).__name__)
    else:
        if backend not in BACKEND_TAGS:
            raise InvalidBackend(backend)
        name = backend
    if name != "eager" and name not in _state["warned"]:
        _state["warned"].add(name)
        warnings.warn(f"edunn.compile(backend={name!r}): edunn has no graph compiler, so the model runs eagerly "
                      "(as PyTorch's backend='eager'); results are the same, speed is edunn's", UserWarning,
                      stacklevel=3)
    return name


class _EagerContext:
    """What PyTorch calls the ``dynamo_ctx``: the compile settings, and ``ctx(fn)`` -> the
    wrapped callable (here: ``fn`` itself, called eagerly)."""

    def __init__(self, backend: str, mode: str | None, options: dict | None, fullgraph: bool,
                 dynamic: bool | None) -> None:
        self.backend, self.mode, self.options = backend, mode, options
        self.fullgraph, self.dynamic = fullgraph, dynamic

    def __call__(self, fn: Callable) -> Callable:
        @functools.wraps(fn)
        def compile_wrapper(*args: Any, **kwargs: Any) -> Any:
            return fn(*args, **kwargs)

        compile_wrapper._torchdynamo_orig_callable = fn  # type: ignore[attr-defined]
        return compile_wrapper

    def get_compiler_config(self) -> dict | None:
        return self.options


class OptimizedModule(Module):
    """A module "compiled" by :func:`compile`: calls go to ``_orig_mod`` (eagerly); attribute
    reads and writes go to it too, so ``compiled.weight is model.weight``.  The wrapped module is
    a registered child, hence the ``"_orig_mod."`` prefix on every ``state_dict`` key."""

    _opt_mod_attributes = {"_orig_mod", "dynamo_ctx", "_torchdynamo_orig_callable", "get_compiler_config",
                           "forward", "_forward", "__dict__", "named_children_walk", "_super_module_initialized"}

    def __init__(self, mod: Module, dynamo_ctx: _EagerContext) -> None:
        super().__setattr__("_super_module_initialized", False)
        super().__init__()
        super().__setattr__("_super_module_initialized", True)
        self._orig_mod = mod
        self.dynamo_ctx = dynamo_ctx
        self._initialize()
        self.training = self._orig_mod.training

    def _initialize(self) -> None:
        """The call path: ``forward`` calls the wrapped module (hooks included)."""
        self.forward = self.dynamo_ctx(self._orig_mod.__call__)
        self._torchdynamo_orig_callable = self._orig_mod.__call__
        self.get_compiler_config = self.dynamo_ctx.get_compiler_config

    def __getstate__(self) -> dict:
        # the bound methods would still point at the *original* module after a copy
        state = dict(self.__dict__)
        for name in ("forward", "_torchdynamo_orig_callable", "get_compiler_config"):
            state.pop(name, None)
        return state

    def __setstate__(self, state: dict) -> None:
        super().__setstate__(state)
        self._initialize()

    @property
    def training(self) -> bool:
        return self._orig_mod.training if "_orig_mod" in self.__dict__.get("_modules", {}) else True

    @training.setter
    def training(self, value: bool) -> None:
        # Module.__init__ sets training before _orig_mod exists
        modules = self.__dict__.get("_modules", {})
        if "_orig_mod" in modules:
            modules["_orig_mod"].training = value

    def __getattr__(self, name: str) -> Any:
        modules = self.__dict__.get("_modules")
        if modules is None or "_orig_mod" not in modules:  # half-built (copy/pickle): nothing to forward to
            raise AttributeError(f"'{type(self).__name__}' object has no attribute '{name}'")
        if name == "_orig_mod":
            return modules["_orig_mod"]
        return getattr(modules["_orig_mod"], name)

    def __setattr__(self, name: str, val: Any) -> None:
        if hasattr(type(self), name) or name in self._opt_mod_attributes or \
                not self.__dict__.get("_super_module_initialized", False):
            return super().__setattr__(name, val)
        return setattr(self._orig_mod, name, val)

    def __delattr__(self, name: str) -> None:
        if hasattr(type(self), name) or name in self._opt_mod_attributes:
            return super().__delattr__(name)
        return delattr(self._orig_mod, name)

    def __dir__(self) -> list:
        orig_mod_attrs = self._orig_mod.__dir__()
        return orig_mod_attrs + [attr for attr in super().__dir__() if attr not in orig_mod_attrs]


def compile(model: Callable | None = None, *, fullgraph: bool = False, dynamic: bool | None = None,
            backend: str | Callable | None = None, mode: str | None = None,
            options: dict[str, str | int | bool | Callable] | None = None, name: str | None = None,
            disable: bool = False, recompile_limit: int | None = None, isolate_recompiles: bool = False,
            shapes_spec: Any = None) -> Callable:
    """``torch.compile``: returns ``model`` wrapped for compilation -- which in edunn means run
    eagerly (see the module docstring).  Arguments as PyTorch's: ``backend`` (a registered name
    or a callable; default :func:`edunn.compiler.get_default_backend`), ``mode`` (inductor's:
    "default", "reduce-overhead", "max-autotune", ...), ``options`` (a dict, exclusive with
    ``mode``), ``fullgraph``/``dynamic``/``name``/``recompile_limit``/``isolate_recompiles``/
    ``shapes_spec`` (recorded: with no tracing there are no graph breaks or recompiles),
    ``disable`` (return ``model`` unchanged)."""
    if model is None:
        def fn(model: Callable) -> Callable:
            if model is None:
                raise RuntimeError("Model can't be None")
            return compile(model, fullgraph=fullgraph, dynamic=dynamic, backend=backend, mode=mode,
                           options=options, name=name, disable=disable, recompile_limit=recompile_limit,
                           isolate_recompiles=isolate_recompiles, shapes_spec=shapes_spec)
        return fn
    if mode is not None and options is not None:
        raise RuntimeError("Either mode or options can be specified, but both can't be specified at the same time.")
    if not callable(model):
        raise AssertionError(f"A callable function is expected, but {type(model)} is provided.")
    if disable:
        return model
    if backend is None:
        backend = _state["default_backend"]
    if backend == "inductor" and mode is not None and mode not in _INDUCTOR_MODES:
        raise RuntimeError(f"Unrecognized mode={mode}, should be one of: {', '.join(_INDUCTOR_MODES)}")
    ctx = _EagerContext(_check_backend(backend), mode, options, fullgraph, dynamic)
    if isinstance(model, Module):
        return OptimizedModule(model, ctx)
    return ctx(model)
