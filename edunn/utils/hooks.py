"""``RemovableHandle``, what every hook registration returns, ``BackwardHook``, the machinery
behind a module's full backward hooks, and ``unserializable_hook``/``warn_if_has_hooks`` for
saving tensors that carry hooks (``torch.utils.hooks``; lesson 04)."""
from __future__ import annotations

import itertools
import warnings
import weakref
from typing import Any


class RemovableHandle:
    """``handle.remove()`` unregisters the hook; also usable as a context manager."""

    _ids = itertools.count()

    def __init__(self, hooks_dict: Any, *, extra_dict: Any = None) -> None:
        self.hooks_dict_ref = weakref.ref(hooks_dict) if _weakrefable(hooks_dict) else (lambda d=hooks_dict: d)
        self.id = next(RemovableHandle._ids)
        self.extra_dict_ref: tuple = ()
        if extra_dict is not None:
            extras = extra_dict if isinstance(extra_dict, list) else [extra_dict]
            self.extra_dict_ref = tuple(weakref.ref(d) if _weakrefable(d) else (lambda d=d: d) for d in extras)

    def remove(self) -> None:
        hooks_dict = self.hooks_dict_ref()
        if hooks_dict is not None and self.id in hooks_dict:
            del hooks_dict[self.id]
        for ref in self.extra_dict_ref:
            extra = ref()
            if extra is not None and self.id in extra:
                del extra[self.id]

    def __enter__(self) -> "RemovableHandle":
        return self

    def __exit__(self, *exc: Any) -> None:
        self.remove()


def unserializable_hook(f: Any) -> Any:
    """Mark ``f`` as a hook that is not expected to be saved with its tensor, which silences
    :func:`warn_if_has_hooks` for it."""
    f.__torch_unserializable__ = True
    return f


def warn_if_has_hooks(tensor: Any) -> None:
    """Warn about each backward hook on ``tensor`` that saving will drop (hooks are code, and
    neither PyTorch's pickle-based save nor edunn's safetensors one keeps them), unless marked
    with :func:`unserializable_hook`."""
    node = tensor.grad_fn  # a non-leaf's hooks live on the node that made it, by output index
    hooks = (node._pre_hooks or {}).get(tensor._output_nr) if node is not None else tensor._hooks
    if hooks:
        for k in hooks:
            hook = hooks[k]
            if not hasattr(hook, "__torch_unserializable__"):
                warnings.warn(f"backward hook {repr(hook)} on tensor will not be "
                              "serialized.  If this is expected, you can "
                              "decorate the function with @torch.utils.hooks.unserializable_hook "
                              "to suppress this warning", stacklevel=2)


def _weakrefable(obj: Any) -> bool:
    try:
        weakref.ref(obj)
        return True
    except TypeError:
        return False


def _backward_hook_function() -> type:
    from ..autograd.function import Function

    class BackwardHookFunction(Function):
        """The identity, recorded as a node of its own so that a module's inputs and outputs
        each have one place in the graph where their gradients can be seen and replaced."""

        @staticmethod
        def forward(ctx, *args):
            return args

        @staticmethod
        def backward(ctx, *grads):
            return grads

    return BackwardHookFunction


_BackwardHookFunction = None


class BackwardHook:
    """Wraps a module's tensor inputs and outputs in identity nodes for its full backward hooks.

    * At the **output** node, a pre-hook sees ``grad_output`` first: the module's backward
      pre-hooks run there and may replace it.
    * At the **input** node, a hook sees ``grad_input`` (the gradients with respect to the
      module's inputs, ``None`` for inputs that need none) and runs the backward hooks
      ``hook(module, grad_input, grad_output)``, which may replace ``grad_input``.
    """

    def __init__(self, module: Any, user_hooks: list, user_pre_hooks: list) -> None:
        self.user_hooks = user_hooks
        self.user_pre_hooks = user_pre_hooks
        self.module = module
        self.grad_outputs: tuple | None = None
        self.n_outputs = -1
        self.output_tensors_index: list | None = None
        self.n_inputs = -1
        self.input_tensors_index: list | None = None

    @staticmethod
    def _pack_with_none(indices: Any, values: Any, size: int) -> tuple:
        res: list = [None] * size
        for idx, val in zip(indices, values):
            res[idx] = val
        return tuple(res)

    @staticmethod
    def _unpack_none(indices: Any, values: tuple) -> tuple:
        return tuple(values[idx] for idx in indices)

    def _apply_on_tensors(self, fn: Any, args: tuple) -> tuple:
        """Pass the tensors of ``args`` that require grad through one identity node, call
        ``fn(node)``, and return the new args with the positions that went through."""
        global _BackwardHookFunction
        from ..autograd.grad_mode import is_grad_enabled
        from ..tensor import Tensor
        index = [i for i, a in enumerate(args) if isinstance(a, Tensor) and a.requires_grad]
        if not (index and is_grad_enabled()):
            return args, None
        if _BackwardHookFunction is None:
            _BackwardHookFunction = _backward_hook_function()
        new = _BackwardHookFunction.apply(*(args[i] for i in index))
        if not isinstance(new, tuple):
            new = (new,)
        fn(new[0].grad_fn)
        out = list(args)
        for i, t in zip(index, new):
            out[i] = t
        return tuple(out), index

    def setup_input_hook(self, args: tuple) -> tuple:
        def fn(grad_fn: Any) -> None:
            def hook(grad_input: tuple, _grad_output: tuple) -> Any:
                if self.grad_outputs is None:  # the output needed no gradient: nothing to report
                    return None
                res = self._pack_with_none(self.input_tensors_index, grad_input, self.n_inputs)
                for user_hook in self.user_hooks:
                    out = user_hook(self.module, res, self.grad_outputs)
                    if out is None:
                        continue
                    if len(out) != len(res):
                        raise RuntimeError(
                            f"Backward hook returned an invalid number of grad_input, got "
                            f"{len(out)}, but expected {len(res)}")
                    res = out
                self.grad_outputs = None
                return self._unpack_none(self.input_tensors_index, res)
            grad_fn.register_hook(hook)

        res, index = self._apply_on_tensors(fn, args)
        self.n_inputs = len(args)
        self.input_tensors_index = index
        return res

    def setup_output_hook(self, args: Any) -> Any:
        def fn(grad_fn: Any) -> None:
            def hook(grad_output: tuple) -> Any:
                self.grad_outputs = self._pack_with_none(self.output_tensors_index, grad_output, self.n_outputs)
                for pre_hook in self.user_pre_hooks:
                    new = pre_hook(self.module, self.grad_outputs)
                    if new is None:
                        continue
                    if len(new) != len(self.grad_outputs):
                        raise RuntimeError(
                            f"Backward pre hook returned an invalid number of grad_output, got "
                            f"{len(new)}, but expected {len(self.grad_outputs)}")
                    self.grad_outputs = tuple(new)
                local_grad_outputs = self.grad_outputs
                if self.input_tensors_index is None:
                    # no input requires grad: the input node never runs, so call the hooks here
                    grad_inputs = self._pack_with_none([], [], self.n_inputs)
                    for user_hook in self.user_hooks:
                        res = user_hook(self.module, grad_inputs, self.grad_outputs)
                        if res is not None and not (isinstance(res, tuple) and all(r is None for r in res)):
                            raise RuntimeError(
                                "Backward hook for Modules where no input requires gradient should "
                                "always return None or None for all gradients.")
                    self.grad_outputs = None
                return self._unpack_none(self.output_tensors_index, local_grad_outputs)
            grad_fn.register_prehook(hook)

        is_tuple = isinstance(args, tuple)
        if not is_tuple:
            args = (args,)
        res, index = self._apply_on_tensors(fn, args)
        self.n_outputs = len(args)
        self.output_tensors_index = index
        return res if is_tuple else res[0]
