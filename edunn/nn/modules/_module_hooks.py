"""The half of ``Module`` that runs it (lesson 04): ``__call__`` runs the forward pre-hooks,
``forward`` and the forward hooks, in PyTorch's order (global hooks before the module's own), and
wraps the module's tensor inputs and outputs in identity nodes when full backward hooks are
registered (``edunn/utils/hooks.py``: ``BackwardHook``).  ``Module`` (``module.py``) inherits it."""
from __future__ import annotations

import functools
import warnings
import weakref
from typing import Any, Callable

from ... import backend
from ...tensor import Tensor
from ...utils.hooks import BackwardHook, RemovableHandle
from . import _global_hooks as _gh


class _WrappedHook:
    """A hook that also receives its module, held weakly (the old-style backward hook)."""

    def __init__(self, hook: Callable, module: "Module") -> None:
        self.hook = hook
        functools.update_wrapper(self, hook)
        self.module = weakref.ref(module)

    def __call__(self, *args: Any) -> Any:
        module = self.module()
        if module is None:
            raise RuntimeError("You are trying to call the hook of a dead Module!")
        return self.hook(module, *args)



_multi_gpu = backend.multi_gpu  # [True] once a CUDA device is used on a machine with several


class _ModuleHooks:
    # ------------------------------------------------------------------ calling
    def _call_impl(self, *args: Any, **kwargs: Any) -> Any:
        if _multi_gpu[0]:  # several GPUs: the forward runs where its inputs live
            guard = backend.device_guard(args + tuple(kwargs.values()))
            if guard is not None:
                with guard:
                    return self._call_impl(*args, **kwargs)
        forward_call = self.forward
        if not (self._backward_hooks or self._backward_pre_hooks or self._forward_hooks
                or self._forward_pre_hooks or _gh._global_backward_pre_hooks or _gh._global_backward_hooks
                or _gh._global_forward_hooks or _gh._global_forward_pre_hooks):
            return forward_call(*args, **kwargs)

        result = None
        called_always_called_hooks: set = set()

        def inner() -> Any:
            nonlocal result, args, kwargs
            full_backward_hooks, non_full_backward_hooks = [], []
            backward_pre_hooks: list = []
            if self._backward_pre_hooks or _gh._global_backward_pre_hooks:
                backward_pre_hooks = self._get_backward_pre_hooks()
            if self._backward_hooks or _gh._global_backward_hooks:
                full_backward_hooks, non_full_backward_hooks = self._get_backward_hooks()

            for hook_id, hook in (*_gh._global_forward_pre_hooks.items(), *self._forward_pre_hooks.items()):
                if hook_id in self._forward_pre_hooks_with_kwargs:
                    new = hook(self, args, kwargs)
                    if new is not None:
                        if isinstance(new, tuple) and len(new) == 2:
                            args, kwargs = new
                        else:
                            raise RuntimeError("forward pre-hook must return None or a tuple of "
                                               f"(new_args, new_kwargs), but got {new}.")
                else:
                    new = hook(self, args)
                    if new is not None:
                        args = new if isinstance(new, tuple) else (new,)

            bw_hook = None
            if full_backward_hooks or backward_pre_hooks:
                bw_hook = BackwardHook(self, full_backward_hooks, backward_pre_hooks)
                args = bw_hook.setup_input_hook(args)

            result = forward_call(*args, **kwargs)

            for hook_id, hook in (*_gh._global_forward_hooks.items(), *self._forward_hooks.items()):
                if hook_id in self._forward_hooks_always_called or hook_id in _gh._global_forward_hooks_always_called:
                    called_always_called_hooks.add(hook_id)
                if hook_id in self._forward_hooks_with_kwargs or hook_id in _gh._global_forward_hooks_with_kwargs:
                    new = hook(self, args, kwargs, result)
                else:
                    new = hook(self, args, result)
                if new is not None:
                    result = new

            if bw_hook:
                if not isinstance(result, (Tensor, tuple)):
                    warnings.warn("For backward hooks to be called, module output should be a "
                                  f"Tensor or a tuple of Tensors but received {type(result)}")
                result = bw_hook.setup_output_hook(result)

            if non_full_backward_hooks:  # the old style: a hook on the grad_fn of the output
                var = result
                while not isinstance(var, Tensor):
                    var = next(v for v in var.values() if isinstance(v, Tensor)) \
                        if isinstance(var, dict) else var[0]
                grad_fn = var.grad_fn
                if grad_fn is not None:
                    for hook in non_full_backward_hooks:
                        grad_fn.register_hook(_WrappedHook(hook, self))
                    self._maybe_warn_non_full_backward_hook(args, result, grad_fn)
            return result

        try:
            return inner()
        except Exception:
            # forward hooks registered with always_call=True run even when something raised
            for hook_id, hook in _gh._global_forward_hooks.items():
                if hook_id in _gh._global_forward_hooks_always_called and hook_id not in called_always_called_hooks:
                    try:
                        new = hook(self, args, result)
                        if new is not None:
                            result = new
                    except Exception as e:
                        warnings.warn("global module forward hook with ``always_call=True`` raised an "
                                      f"exception that was silenced as another error was raised in forward: {e}")
            for hook_id, hook in self._forward_hooks.items():
                if hook_id in self._forward_hooks_always_called and hook_id not in called_always_called_hooks:
                    try:
                        if hook_id in self._forward_hooks_with_kwargs:
                            new = hook(self, args, kwargs, result)
                        else:
                            new = hook(self, args, result)
                        if new is not None:
                            result = new
                    except Exception as e:
                        warnings.warn("module forward hook with ``always_call=True`` raised an exception "
                                      f"that was silenced as another error was raised in forward: {e}")
            raise

    __call__: Callable[..., Any] = _call_impl

    def _get_backward_hooks(self) -> tuple[list, list]:
        full: list = []
        non_full: list = []
        if _gh._global_is_full_backward_hook is True:
            full += _gh._global_backward_hooks.values()
        if self._is_full_backward_hook is True:
            full += self._backward_hooks.values()
        if _gh._global_is_full_backward_hook is False:
            non_full += _gh._global_backward_hooks.values()
        if self._is_full_backward_hook is False:
            non_full += self._backward_hooks.values()
        return full, non_full

    def _get_backward_pre_hooks(self) -> list:
        return [*_gh._global_backward_pre_hooks.values(), *self._backward_pre_hooks.values()]

    def _maybe_warn_non_full_backward_hook(self, inputs: Any, result: Any, grad_fn: Any) -> None:
        def warn(msg: str) -> None:
            warnings.warn(msg, FutureWarning, stacklevel=3)

        if not isinstance(result, Tensor):
            if not (isinstance(result, tuple) and all(isinstance(r, Tensor) for r in result)):
                return warn("Using non-full backward hooks on a Module that does not return a single "
                            "Tensor or a tuple of Tensors is deprecated and will be removed in future "
                            "versions. This hook will be missing some of the grad_output. Please use "
                            "register_full_backward_hook to get the documented behavior.")
        else:
            result = (result,)
        if not isinstance(inputs, Tensor):
            if not (isinstance(inputs, tuple) and all(isinstance(i, Tensor) for i in inputs)):
                return warn("Using non-full backward hooks on a Module that does not take as input a "
                            "single Tensor or a tuple of Tensors is deprecated and will be removed in "
                            "future versions. This hook will be missing some of the grad_input. Please "
                            "use register_full_backward_hook to get the documented behavior.")
        else:
            inputs = (inputs,)
        out_grad_fn = {r.grad_fn for r in result if r.grad_fn is not None}
        if len(out_grad_fn) == 0 or (len(out_grad_fn) == 1 and grad_fn not in out_grad_fn):
            warn("Using a non-full backward hook when outputs are nested in python data structure is "
                 "deprecated and will be removed in future versions. This hook will be missing some "
                 "grad_output.")
        elif len(out_grad_fn) > 1:
            warn("Using a non-full backward hook when outputs are generated by different autograd "
                 "Nodes is deprecated and will be removed in future versions. This hook will be "
                 "missing some grad_output. Please use register_full_backward_hook to get the "
                 "documented behavior.")
        else:
            inputs_grad_fn = {i.grad_fn for i in inputs if i.grad_fn is not None}
            next_functions = {n[0] for n in grad_fn.next_functions}
            if inputs_grad_fn != next_functions - {None} and inputs_grad_fn != next_functions:
                warn("Using a non-full backward hook when the forward contains multiple autograd Nodes "
                     "is deprecated and will be removed in future versions. This hook will be missing "
                     "some grad_input. Please use register_full_backward_hook to get the documented "
                     "behavior.")

    # ------------------------------------------------------------------ hook registration
    def register_forward_pre_hook(self, hook: Callable, *, prepend: bool = False,
                                  with_kwargs: bool = False) -> RemovableHandle:
        """``hook(module, args) -> None or new args`` before ``forward`` (``hook(module, args,
        kwargs) -> None or (new_args, new_kwargs)`` with ``with_kwargs=True``); ``prepend`` runs it
        before the hooks already registered."""
        handle = RemovableHandle(self._forward_pre_hooks, extra_dict=self._forward_pre_hooks_with_kwargs)
        self._forward_pre_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_pre_hooks_with_kwargs[handle.id] = True
        if prepend:
            self._forward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_forward_hook(self, hook: Callable, *, prepend: bool = False, with_kwargs: bool = False,
                              always_call: bool = False) -> RemovableHandle:
        """``hook(module, args, output) -> None or new output`` after ``forward``
        (``hook(module, args, kwargs, output)`` with ``with_kwargs``); ``always_call=True`` runs
        it even when ``forward`` raised."""
        handle = RemovableHandle(self._forward_hooks, extra_dict=[
            self._forward_hooks_with_kwargs, self._forward_hooks_always_called])
        self._forward_hooks[handle.id] = hook
        if with_kwargs:
            self._forward_hooks_with_kwargs[handle.id] = True
        if always_call:
            self._forward_hooks_always_called[handle.id] = True
        if prepend:
            self._forward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_output) -> None or new grad_output``, when the gradients with
        respect to the module's outputs are known."""
        handle = RemovableHandle(self._backward_pre_hooks)
        self._backward_pre_hooks[handle.id] = hook
        if prepend:
            self._backward_pre_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_full_backward_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """``hook(module, grad_input, grad_output) -> None or new grad_input``, when the
        gradients with respect to the module's inputs have been computed."""
        if self._is_full_backward_hook is False:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a "
                               "single Module. Please use only one of them.")
        self._is_full_backward_hook = True
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        if prepend:
            self._backward_hooks.move_to_end(handle.id, last=False)
        return handle

    def register_backward_hook(self, hook: Callable) -> RemovableHandle:
        """The old backward hook (deprecated in PyTorch): registered on the ``grad_fn`` of the
        output, it sees that one op's gradients, which are the module's only when ``forward`` is
        a single op.  A ``FutureWarning`` says so when they are not."""
        if self._is_full_backward_hook is True:
            raise RuntimeError("Cannot use both regular backward hooks and full backward hooks on a "
                               "single Module. Please use only one of them.")
        self._is_full_backward_hook = False
        handle = RemovableHandle(self._backward_hooks)
        self._backward_hooks[handle.id] = hook
        return handle

