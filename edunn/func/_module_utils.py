"""The module helpers of ``torch.func``: ``functional_call``, ``stack_module_state``,
``replace_all_batch_norm_modules_``, and the two functorch utilities ``functionalize`` and
``debug_unwrap``.

``functional_call`` and ``stack_module_state`` are how ``torch.func`` works with ``nn.Module``:
transforms take pure functions, so ``functional_call(model, params, x)`` makes the model a function
of a parameter dict, and ``stack_module_state(models)`` stacks the parameters of ``M`` identical
models so that ``vmap`` over the leading dimension runs an ensemble.
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any, Callable

from ..nn.modules.module import Module
from ..nn.utils.stateless import _functional_call
from ..ops.joining import stack
from ..tensor import Tensor


def functional_call(module: Module, parameter_and_buffer_dicts: "dict[str, Tensor] | Sequence[dict[str, Tensor]]",
                    args: Any = None, kwargs: "dict[str, Any] | None" = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced, for this call only,
    by the tensors in ``parameter_and_buffer_dicts`` -- one ``{dotted name: tensor}`` dict or a
    sequence of dicts with distinct keys (``(params, buffers)``).  The swap itself is
    :mod:`edunn.nn.utils.stateless` (``tie_weights``, ``strict`` and the restore are explained
    there).  The canonical use::

        def loss(params, x, y):
            return F.cross_entropy(functional_call(model, params, (x,)), y)
        per_sample_grads = vmap(grad(loss), in_dims=(None, 0, 0))(params, xs, ys)
    """
    if isinstance(parameter_and_buffer_dicts, dict):
        values = parameter_and_buffer_dicts
    elif isinstance(parameter_and_buffer_dicts, Sequence):
        if not all(isinstance(d, dict) for d in parameter_and_buffer_dicts):
            raise ValueError("Expected all elements of parameter_and_buffer_dicts to be dictionaries")
        counts: dict[str, int] = {}
        for d in parameter_and_buffer_dicts:
            for k in d:
                counts[k] = counts.get(k, 0) + 1
        repeated = [k for k, n in counts.items() if n > 1]
        if repeated:
            raise ValueError(f"{repeated} appeared in multiple dictionaries; behavior of functional "
                             "call is ambiguous")
        values = {k: v for d in parameter_and_buffer_dicts for k, v in d.items()}
    else:
        raise ValueError("Expected parameter_and_buffer_dicts to be a dict, or a list/tuple of dicts, "
                         f"but got {type(parameter_and_buffer_dicts)}")
    return _functional_call(module, values, args, kwargs, tie_weights=tie_weights, strict=strict)


def _stacked_leaf(tensors: tuple, name: str) -> Tensor:
    """The ``M`` tensors stacked into one new leaf (requiring grad if they all do)."""
    all_rg = all(t.requires_grad for t in tensors)
    if not all_rg and any(t.requires_grad for t in tensors):
        raise RuntimeError(f"Expected {name} from each model to have the same .requires_grad")
    result = stack(tensors)
    return result.detach().requires_grad_() if all_rg else result


def stack_module_state(models: "Sequence[Module] | Any") -> "tuple[dict[str, Any], dict[str, Any]]":
    """``(params, buffers)``: each name of ``M`` same-class models mapped to the stack of their
    ``M`` tensors (leading dimension ``M``).  The stacked parameters are new leaves, unrelated to
    the models' own, that an optimizer can train.  Ensembling::

        params, buffers = stack_module_state(models)
        out = vmap(lambda p, b, x: functional_call(models[0], (p, b), (x,)), (0, 0, None))(params, buffers, x)
    """
    if len(models) == 0:
        raise RuntimeError("stack_module_state: Expected at least one model, got 0.")
    if not (all(m.training for m in models) or all(not m.training for m in models)):
        raise RuntimeError("stack_module_state: Expected all models to have the same training/eval mode.")
    if not all(type(m) is type(models[0]) for m in models):
        raise RuntimeError("stack_module_state: Expected all models to be of the same class.")
    all_params = [dict(m.named_parameters()) for m in models]
    all_buffers = [dict(m.named_buffers()) for m in models]
    params = {k: _stacked_leaf(tuple(p[k] for p in all_params), k) for k in all_params[0]}
    buffers = {k: _stacked_leaf(tuple(b[k] for b in all_buffers), k) for k in all_buffers[0]}
    return params, buffers


def replace_all_batch_norm_modules_(root: Module) -> Module:
    """In place, make every BatchNorm in ``root`` stop tracking running statistics
    (``running_mean``/``running_var``/``num_batches_tracked`` become ``None``,
    ``track_running_stats`` False), so it always normalizes with the batch's own statistics --
    what a vmapped model needs, since updating one running buffer per slice is ill-defined.
    Returns ``root``."""
    from ..nn.modules.batchnorm import _BatchNorm
    for module in root.modules():
        if isinstance(module, _BatchNorm) and module.track_running_stats:
            module.running_mean = None
            module.running_var = None
            module.num_batches_tracked = None
            module.track_running_stats = False
    return root


_REMOVE_HELP = (
    "     remove='mutations': all inplace and out= operators will be removed from the program, and "
    "replaced with their out-of-place equivalents.\n"
    "     remove='mutations_and_views': In addition to the above, all aliasing operators {view} will "
    "be replaced with their non-aliasing counterparts, {view}_copy.\n")


def functionalize(func: Callable[..., Any], *, remove: str = "mutations") -> Callable[..., Any]:
    """The same function with its in-place ops (and, with ``remove='mutations_and_views'``, its
    views) replaced by out-of-place copies.

    PyTorch does this by re-tracing ``func`` into a graph without mutations, for compilers and
    for transforms that cannot handle mutation; the *values* computed, and the final state of any
    input ``func`` mutates (written back at the end), are unchanged.  edunn runs eagerly and its
    transforms already handle in-place ops, so the observable behaviour is ``func``'s own; what is
    added is the one difference eager code can see: with ``'mutations_and_views'`` no output
    aliases an input or another output (each output tensor is a fresh copy)."""
    if remove not in ("mutations", "mutations_and_views"):
        raise RuntimeError(f"functionalize(f, remove='mutations'): received invalid argument for "
                           f"remove={remove}. Valid options are:\n{_REMOVE_HELP}")

    def wrapped(*args: Any, **kwargs: Any) -> Any:
        out = func(*args, **kwargs)
        if remove == "mutations_and_views":
            from ._pytree import tree_map_only
            out = tree_map_only(Tensor, lambda t: t.clone(), out)
        return out

    wrapped.__name__ = getattr(func, "__name__", "functionalized")
    wrapped.__doc__ = func.__doc__
    return wrapped


def debug_unwrap(tensor: Tensor, *, recurse: bool = True) -> Tensor:
    """The plain tensor beneath functorch's wrappers.  PyTorch's transforms wrap tensors in
    per-level subclasses (``GradTrackingTensor``, ``BatchedTensor``) and this peels them off for
    debugging; edunn's transforms pass ordinary tensors (see :mod:`edunn.func._transforms`), so
    there is nothing to peel and the tensor itself is returned, as PyTorch does for an
    unwrapped tensor."""
    return tensor
