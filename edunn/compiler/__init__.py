"""``edunn.compiler`` (``torch.compiler``): the compiler's public controls, for a library that
runs everything eagerly.

edunn has no graph compiler (see ``edunn/_compile.py``): ``edunn.compile`` returns wrappers
that run the model as written.  Each function here therefore does what PyTorch documents as its
effect *outside* a compiled region, which is the only place edunn code ever runs:

* :func:`is_compiling`, :func:`is_dynamo_compiling`, :func:`is_exporting` -- always False;
* :func:`disable`, :func:`allow_in_graph`, :func:`assume_constant_result`,
  :func:`nested_compile_region`, :func:`substitute_in_graph` -- mark a function for the tracer;
  called eagerly the function runs as is (the marks are kept as attributes, as PyTorch's);
* :func:`set_stance` -- records the stance (every stance runs eagerly here), as a function, a
  context manager or a decorator; :func:`set_default_backend` / :func:`get_default_backend`,
  :func:`list_backends` (PyTorch's registry and tags: any name is accepted and runs eagerly);
* :func:`reset`, :func:`cudagraph_mark_step_begin`, :func:`set_enable_guard_collectives`,
  the cache-artifact functions -- there is no compiled state, so nothing to clear, mark, save
  or load; :func:`load_compiled_function` raises, having nothing it could load;
* the ``*_unsafe`` guard filters -- PyTorch's pure functions over guard entries, as written;
* :func:`wrap_numpy` -- a NumPy function becomes one on tensors (convert, call, convert back).
"""
from __future__ import annotations

import functools
import inspect
from typing import Any, Callable

from .. import _compile
from .._compile import compile
from . import config

__all__ = ["compile", "config", "assume_constant_result", "reset", "allow_in_graph", "substitute_in_graph",
           "list_backends", "disable", "set_default_backend", "get_default_backend", "set_stance",
           "set_enable_guard_collectives", "cudagraph_mark_step_begin", "load_compiled_function", "wrap_numpy",
           "is_compiling", "is_dynamo_compiling", "is_exporting", "save_cache_artifacts", "load_cache_artifacts",
           "keep_portable_guards_unsafe", "skip_guard_on_inbuilt_nn_modules_unsafe",
           "skip_guard_on_all_nn_modules_unsafe", "keep_tensor_guards_unsafe", "skip_guard_on_globals_unsafe",
           "skip_all_guards_unsafe", "nested_compile_region"]

_state: dict[str, Any] = {"stance": ("default", False, None), "guard_collectives": False, "cudagraph_steps": 0}


def list_backends(exclude_tags: tuple[str, ...] | None = ("debug", "experimental")) -> list[str]:
    """The backend names ``edunn.compile(..., backend=name)`` accepts, without those tagged with
    ``exclude_tags`` -- PyTorch's registry ("inductor", "cudagraphs", ...; "eager" is tagged
    "debug").  In edunn every one of them runs the model eagerly."""
    exclude = set(exclude_tags or ())
    return sorted(name for name, tags in _compile.BACKEND_TAGS.items() if not exclude.intersection(tags))


def set_default_backend(backend: str | Callable[..., Any] | None) -> None:
    """The backend ``compile`` uses when none is given (``None``: back to "inductor")."""
    if backend is not None and not callable(backend) and backend not in _compile.BACKEND_TAGS:
        raise _compile.InvalidBackend(backend)
    _compile._state["default_backend"] = "inductor" if backend is None else backend


def get_default_backend() -> str | Callable[..., Any]:
    return _compile._state["default_backend"]


def reset() -> None:
    """PyTorch: clear every compilation cache.  edunn caches nothing; it forgets which backend
    names it has already warned about, so the next ``compile`` warns again."""
    _compile._state["warned"].clear()


def is_compiling() -> bool:
    """Whether the caller is being traced by the compiler: never, in edunn."""
    return False


def is_dynamo_compiling() -> bool:
    """Whether TorchDynamo is tracing the caller: never, in edunn."""
    return False


def is_exporting() -> bool:
    """Whether ``torch.export`` is tracing the caller: never, in edunn."""
    return False


def disable(fn: Callable | None = None, recursive: bool = True, *, reason: str | None = None) -> Callable:
    """Exclude ``fn`` from compilation (as a decorator, or ``disable()`` for one).  Outside a
    compiled region -- always, here -- ``fn`` runs unchanged; the wrapper carries PyTorch's marks
    (``_torchdynamo_disable``, ``_torchdynamo_disable_recursive``, the reason)."""
    if fn is None:
        return functools.partial(disable, recursive=recursive, reason=reason)
    if not callable(fn):
        raise TypeError(f"disable() expects a callable, got {type(fn).__name__}")

    @functools.wraps(fn)
    def _fn(*args: Any, **kwargs: Any) -> Any:
        return fn(*args, **kwargs)

    _fn._torchdynamo_disable = True  # type: ignore[attr-defined]
    _fn._torchdynamo_disable_recursive = recursive  # type: ignore[attr-defined]
    _fn._torchdynamo_disable_msg = reason  # type: ignore[attr-defined]
    _fn._torchdynamo_orig_callable = fn  # type: ignore[attr-defined]
    return _fn


def allow_in_graph(fn: Any) -> Any:
    """Tell the tracer to put calls to ``fn`` into the graph without looking inside; returns
    ``fn`` (a list of functions: each is marked, the list returned)."""
    if isinstance(fn, (list, tuple)):
        return [allow_in_graph(x) for x in fn]
    if not callable(fn):
        raise TypeError(f"allow_in_graph expects a callable, but got {type(fn).__name__}")
    return fn


def assume_constant_result(fn: Callable) -> Callable:
    """Tell the tracer that ``fn``'s result is a constant to bake in; returns ``fn``, marked."""
    fn._dynamo_marked_constant = True  # type: ignore[attr-defined]
    return fn


def substitute_in_graph(original_fn: Callable, *, can_constant_fold_through: bool = False,
                        skip_signature_check: bool = False) -> Callable[[Callable], Callable]:
    """Register a traceable Python stand-in (a "polyfill") for ``original_fn``.  The decorated
    stand-in must have ``original_fn``'s signature (unless ``skip_signature_check``); calling the
    returned function outside a compiled region calls ``original_fn``, as PyTorch's does."""
    def wrapper(traceable_fn: Callable) -> Callable:
        if not skip_signature_check:
            try:
                original_sig, traceable_sig = inspect.signature(original_fn), inspect.signature(traceable_fn)
            except ValueError:
                original_sig = traceable_sig = None
            if original_sig is not None and original_sig != traceable_sig:
                raise TypeError(f"Signature mismatch between {original_fn} and {traceable_fn}: "
                                f"{original_sig} != {traceable_sig}")

        @functools.wraps(traceable_fn)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            return original_fn(*args, **kwargs)

        wrapped.__torch_dynamo_original__ = original_fn  # type: ignore[attr-defined]
        wrapped.__torch_dynamo_polyfill__ = traceable_fn  # type: ignore[attr-defined]
        wrapped.__torch_dynamo_can_constant_fold_through__ = can_constant_fold_through  # type: ignore
        return wrapped

    return wrapper


class set_stance:
    """Set the compiler's stance: "default", "force_eager", "eager_on_recompile",
    "fail_on_recompile", "eager_then_compile", "aot_eager_then_compile".  A call sets it; used
    as ``with set_stance(...):`` it is restored on exit; used as ``@set_stance(...)`` it applies
    during each call of the decorated function.  edunn always runs eagerly, so every stance
    computes the same; the current one is recorded (``_current_stance()``)."""

    def __init__(self, stance: str = "default", *, skip_guard_eval_unsafe: bool = False,
                 force_backend: str | Callable[..., Any] | None = None) -> None:
        if force_backend is not None and stance != "default":
            raise RuntimeError("non-default stance cannot have force_backend set")
        self.stance = (stance, skip_guard_eval_unsafe, force_backend)
        self.prev = _state["stance"]
        _state["stance"] = self.stance

    def __call__(self, fn: Callable) -> Callable:
        _state["stance"] = self.prev

        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            with self.__class__(self.stance[0], skip_guard_eval_unsafe=self.stance[1],
                                force_backend=self.stance[2]):
                return fn(*args, **kwargs)

        wrapper._dynamo_forbidden = True  # type: ignore[attr-defined]
        return wrapper

    def __enter__(self) -> None:
        _state["stance"] = self.stance

    def __exit__(self, *exc_info: object) -> None:
        _state["stance"] = self.prev


def _current_stance() -> str:
    return _state["stance"][0]


def set_enable_guard_collectives(enabled: bool) -> bool:
    """Whether guard evaluation may run collectives (distributed runs); returns whether it was
    enabled before.  No guards are evaluated in edunn; the setting is recorded."""
    previous = _state["guard_collectives"]
    _state["guard_collectives"] = bool(enabled)
    return previous


def cudagraph_mark_step_begin() -> None:
    """Mark the start of a new training/inference iteration for CUDA-graph trees.  edunn's
    compiled callables do not replay CUDA graphs, so the mark is only counted."""
    _state["cudagraph_steps"] += 1


def load_compiled_function(file: Any, *, f_globals: dict[str, object] | None = None,
                           external_data: dict[str, Any] | None = None) -> Callable[..., Any]:
    """PyTorch: load a function that ``torch.compile`` precompiled and saved.  edunn produces no
    compiled artifacts, so there is nothing it could load: raises ``RuntimeError``."""
    raise RuntimeError("edunn.compiler.load_compiled_function: edunn has no graph compiler and cannot load "
                       "precompiled PyTorch artifacts; compile the original function with edunn.compile instead.")


def save_cache_artifacts() -> None:
    """PyTorch: serialise the compile caches (``(bytes, CacheInfo)``, or None when empty).
    edunn's caches are always empty: None."""
    return None


def load_cache_artifacts(serialized_artifacts: bytes) -> None:
    """PyTorch: pre-populate the compile caches from :func:`save_cache_artifacts`'s bytes.
    edunn has no caches to fill: nothing is loaded, and None (no cache info) is returned."""
    if not isinstance(serialized_artifacts, (bytes, bytearray)):
        raise TypeError(f"load_cache_artifacts expects bytes, got {type(serialized_artifacts).__name__}")
    return None


def wrap_numpy(fn: Callable) -> Callable:
    """Turn a function from NumPy arrays to NumPy arrays into one from tensors to tensors:
    tensor arguments become arrays (``.numpy()``), array results become tensors."""
    from .. import backend
    from ..tensor import Tensor
    from ..ops.creation import from_numpy

    def to_arrays(x: Any) -> Any:
        if isinstance(x, Tensor):
            return x.numpy()
        if isinstance(x, (list, tuple)):
            return type(x)(to_arrays(v) for v in x)
        if isinstance(x, dict):
            return {k: to_arrays(v) for k, v in x.items()}
        return x

    def to_tensors(x: Any) -> Any:
        if isinstance(x, backend.numpy.ndarray):
            return from_numpy(x)
        if isinstance(x, (list, tuple)):
            return type(x)(to_tensors(v) for v in x)
        if isinstance(x, dict):
            return {k: to_tensors(v) for k, v in x.items()}
        return x

    @functools.wraps(fn)
    def wrap(*args: Any, **kwargs: Any) -> Any:
        return to_tensors(fn(*to_arrays(args), **to_arrays(kwargs)))

    return wrap


def nested_compile_region(fn: Callable | None = None, *, options: Any = None, max_reuse_entries: int = 8,
                          reuse_hash_fn: Callable | None = None) -> Callable:
    """Mark ``fn`` as a region compiled once and reused at each call.  Outside compilation (always,
    here) it runs as is; usable as ``@nested_compile_region`` or ``@nested_compile_region(...)``."""
    def wrap(func: Callable) -> Callable:
        func.__marked_compile_region__ = True  # type: ignore[attr-defined]
        func.__marked_compile_region_options__ = options  # type: ignore[attr-defined]
        return func

    return wrap if fn is None else wrap(fn)


# ------------------------------------------------------------------ guard filters (PyTorch's, as written)
def keep_portable_guards_unsafe(guard_entries: list) -> list[bool]:
    """Keep only the guards that stay valid in another process (global state, shapes, local tensors)."""
    return [g.guard_type in ("GLOBAL_STATE", "SHAPE_ENV") or (g.guard_type == "TENSOR_MATCH" and not g.is_global)
            for g in guard_entries]


def skip_guard_on_inbuilt_nn_modules_unsafe(guard_entries: list) -> list[bool]:
    """Drop the guards on built-in ``nn`` modules' attributes."""
    return [not entry.orig_guard.source.is_unspecialized_builtin_nn_module() for entry in guard_entries]


def skip_guard_on_all_nn_modules_unsafe(guard_entries: list) -> list[bool]:
    """Drop the guards on every ``nn.Module``'s attributes."""
    return [not entry.orig_guard.source.is_unspecialized_nn_module() for entry in guard_entries]


def keep_tensor_guards_unsafe(guard_entries: list, keep_parameters: bool = False) -> list[bool]:
    """Keep only tensor-match guards (on parameters too with ``keep_parameters``)."""
    from ..nn.parameter import Parameter
    return [entry.guard_type == "TENSOR_MATCH" and (keep_parameters or not isinstance(entry.value, Parameter))
            for entry in guard_entries]


def skip_guard_on_globals_unsafe(guard_entries: list) -> list[bool]:
    """Drop the guards on global variables."""
    return [not entry.is_global for entry in guard_entries]


def skip_all_guards_unsafe(guard_entries: list) -> list[bool]:
    """Drop every guard."""
    return [False for _ in guard_entries]
