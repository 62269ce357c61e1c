"""The half of ``Module`` that deals with its state as a whole: ``state_dict`` and
``load_state_dict`` (lesson 03), and the casts and moves (``to``, ``float``, ``cuda`` ...) that
rewrite every parameter and buffer in place.  ``Module`` (``module.py``) inherits it."""
from __future__ import annotations

import itertools
import warnings
from collections import OrderedDict, namedtuple
from typing import Any, Callable, Mapping

from ... import backend
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor
from ..parameter import Parameter, is_lazy

_EXTRA_STATE_KEY_SUFFIX = "_extra_state"


class _IncompatibleKeys(namedtuple("IncompatibleKeys", ["missing_keys", "unexpected_keys"])):
    """What ``load_state_dict`` returns: the keys it expected but did not get, and the reverse."""

    def __repr__(self) -> str:
        if not self.missing_keys and not self.unexpected_keys:
            return "<All keys matched successfully>"
        return super().__repr__()

    __str__ = __repr__


def _hook_handle(hooks: dict, hook: Callable, prepend: bool = False) -> Any:
    from ...utils.hooks import RemovableHandle
    handle = RemovableHandle(hooks)
    hooks[handle.id] = hook
    if prepend:
        hooks.move_to_end(handle.id, last=False)
    return handle


class _ModuleState:
    # ------------------------------------------------------------------ state_dict
    def get_extra_state(self) -> Any:
        """Override (with :meth:`set_extra_state`) to put non-tensor state in the state_dict
        under ``<prefix>_extra_state``."""
        raise RuntimeError("Reached a code path in Module.get_extra_state() that should never be "
                           "called. Please file an issue at https://github.com/pytorch/pytorch/issues/new?"
                           "template=bug-report.yml to report this bug.")

    def set_extra_state(self, state: Any) -> None:
        raise RuntimeError("Reached a code path in Module.set_extra_state() that should never be "
                           "called. Please file an issue at https://github.com/pytorch/pytorch/issues/new?"
                           "template=bug-report.yml to report this bug.")

    def _has_extra_state(self, method: str) -> bool:
        from .module import Module
        return getattr(type(self), method) is not getattr(Module, method)

    def _save_to_state_dict(self, destination: dict, prefix: str, keep_vars: bool) -> None:
        for name, param in self._parameters.items():
            if param is not None:
                destination[prefix + name] = param if keep_vars else param.detach()
        for name, buf in self._buffers.items():
            if buf is not None and name not in self._non_persistent_buffers_set:
                destination[prefix + name] = buf if keep_vars else buf.detach()
        if self._has_extra_state("get_extra_state"):
            destination[prefix + _EXTRA_STATE_KEY_SUFFIX] = self.get_extra_state()

    def state_dict(self, *args: Any, destination: Any = None, prefix: str = "",
                   keep_vars: bool = False) -> "OrderedDict[str, Any]":
        """Every parameter and persistent buffer by dotted name, detached (``keep_vars=True``
        keeps them attached), in registration order: what ``edunn.save`` writes."""
        if args:
            warnings.warn("Positional args are being deprecated, use kwargs instead. Refer to "
                          "https://pytorch.org/docs/main/generated/torch.nn.Module.html#torch.nn.Module.state_dict"
                          " for details.", FutureWarning, stacklevel=2)
            names = ("destination", "prefix", "keep_vars")
            values = dict(zip(names, args))
            destination = values.get("destination", destination)
            prefix = values.get("prefix", prefix)
            keep_vars = values.get("keep_vars", keep_vars)
        if destination is None:
            destination = OrderedDict()
            destination._metadata = OrderedDict()
        local_metadata = dict(version=self._version)
        if hasattr(destination, "_metadata"):
            destination._metadata[prefix[:-1]] = local_metadata
        for hook in self._state_dict_pre_hooks.values():
            hook(self, prefix, keep_vars)
        self._save_to_state_dict(destination, prefix, keep_vars)
        for name, module in self._modules.items():
            if module is not None:
                module.state_dict(destination=destination, prefix=prefix + name + ".", keep_vars=keep_vars)
        for hook in self._state_dict_hooks.values():
            result = hook(self, destination, prefix, local_metadata)
            if not getattr(hook, "_from_public_api", False):
                if result is not None:
                    destination = result
            elif result is not None:
                raise RuntimeError("state_dict post-hook must return None")
        return destination

    def register_state_dict_pre_hook(self, hook: Callable) -> Any:
        """``hook(module, prefix, keep_vars)`` before ``state_dict`` collects anything."""
        return _hook_handle(self._state_dict_pre_hooks, hook)

    def register_state_dict_post_hook(self, hook: Callable) -> Any:
        """``hook(module, state_dict, prefix, local_metadata)`` after; it may edit the dict in
        place (returning anything but None is an error)."""
        hook._from_public_api = True
        return _hook_handle(self._state_dict_hooks, hook)

    def _register_state_dict_hook(self, hook: Callable) -> Any:
        # the older private form, whose hook may return a new state_dict
        return _hook_handle(self._state_dict_hooks, hook)

    def register_load_state_dict_pre_hook(self, hook: Callable) -> Any:
        """``hook(module, state_dict, prefix, local_metadata, strict, missing_keys,
        unexpected_keys, error_msgs)`` before this module loads its part of the state_dict; it
        may rename or convert entries of ``state_dict`` in place (an old checkpoint's names)."""
        def with_module(state_dict: dict, *args: Any) -> Any:
            return hook(self, state_dict, *args)
        return _hook_handle(self._load_state_dict_pre_hooks, with_module)

    def _register_load_state_dict_pre_hook(self, hook: Callable, with_module: bool = False) -> Any:
        if with_module:
            return self.register_load_state_dict_pre_hook(hook)
        return _hook_handle(self._load_state_dict_pre_hooks, hook)

    def register_load_state_dict_post_hook(self, hook: Callable) -> Any:
        """``hook(module, incompatible_keys)`` after loading; it may remove entries from
        ``incompatible_keys.missing_keys``/``unexpected_keys`` in place (returning a value is an
        error)."""
        return _hook_handle(self._load_state_dict_post_hooks, hook)

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        """Load this module's own parameters and buffers (not its children's)."""
        for hook in self._load_state_dict_pre_hooks.values():
            hook(state_dict, prefix, local_metadata, strict, missing_keys, unexpected_keys, error_msgs)
        persistent_buffers = {k: v for k, v in self._buffers.items() if k not in self._non_persistent_buffers_set}
        local_state = {k: v for k, v in itertools.chain(self._parameters.items(), persistent_buffers.items())
                       if v is not None}
        assign = local_metadata.get("assign_to_params_buffers", False)
        for name, param in local_state.items():
            key = prefix + name
            if key not in state_dict:
                if strict:
                    missing_keys.append(key)
                continue
            input_param = state_dict[key]
            if not isinstance(input_param, Tensor):
                error_msgs.append(f'While copying the parameter named "{key}", expected torch.Tensor or '
                                  f"Tensor-like object from checkpoint but received {type(input_param)}")
                continue
            lazy = is_lazy(param)
            if not lazy and param.ndim == 0 and input_param.ndim == 1 and input_param.shape[0] == 1:
                input_param = input_param[0]  # PyTorch's old checkpoints stored scalars as (1,)
            if not lazy and input_param.shape != param.shape:
                error_msgs.append(f"size mismatch for {key}: copying a param with shape {input_param.shape} "
                                  f"from checkpoint, the shape in current model is {param.shape}.")
                continue
            try:
                with no_grad():
                    if assign:
                        if isinstance(param, Parameter):
                            if not isinstance(input_param, Parameter):
                                input_param = Parameter(input_param, requires_grad=param.requires_grad)
                            else:
                                input_param.requires_grad_(param.requires_grad)
                        setattr(self, name, input_param)
                    else:
                        param.copy_(input_param)
            except Exception as ex:
                error_msgs.append(f'While copying the parameter named "{key}", whose dimensions in the model '
                                  f"are {param.shape} and whose dimensions in the checkpoint are "
                                  f"{input_param.shape}, an exception occurred : {ex.args}.")
        extra_state_key = prefix + _EXTRA_STATE_KEY_SUFFIX
        if self._has_extra_state("set_extra_state"):
            if extra_state_key in state_dict:
                self.set_extra_state(state_dict[extra_state_key])
            elif strict:
                missing_keys.append(extra_state_key)
        elif strict and extra_state_key in state_dict:
            unexpected_keys.append(extra_state_key)
        if strict:
            for key in state_dict.keys():
                if key.startswith(prefix) and key != extra_state_key:
                    input_name = key[len(prefix):].split(".", 1)
                    if input_name[0] not in self._modules and input_name[0] not in local_state:
                        unexpected_keys.append(key)

    def load_state_dict(self, state_dict: Mapping[str, Any], strict: bool = True,
                        assign: bool = False) -> _IncompatibleKeys:
        """Copy ``state_dict``'s tensors into this module's parameters and buffers (in place; with
        ``assign=True`` the tensors themselves become the parameters).  Returns
        ``(missing_keys, unexpected_keys)``; with ``strict=True`` (the default) either raises.

        Unlike PyTorch, a failure changes nothing: every parameter, buffer and extra state is
        restored to what it was before the call before the error is raised."""
        if not isinstance(state_dict, Mapping):
            raise TypeError(f"Expected state_dict to be dict-like, got {type(state_dict)}.")
        missing_keys: list = []
        unexpected_keys: list = []
        error_msgs: list = []
        metadata = getattr(state_dict, "_metadata", None)
        state_dict = OrderedDict(state_dict)
        if metadata is not None:
            state_dict._metadata = metadata

        def load(module: Any, local_state_dict: dict, prefix: str = "") -> None:
            local_metadata = {} if metadata is None else dict(metadata.get(prefix[:-1], {}))
            if assign:
                local_metadata["assign_to_params_buffers"] = assign
            module._load_from_state_dict(local_state_dict, prefix, local_metadata, True,
                                         missing_keys, unexpected_keys, error_msgs)
            for name, child in module._modules.items():
                if child is not None:
                    child_prefix = prefix + name + "."
                    child_state_dict = {k: v for k, v in local_state_dict.items() if k.startswith(child_prefix)}
                    load(child, child_state_dict, child_prefix)
            incompatible = _IncompatibleKeys(missing_keys, unexpected_keys)
            for hook in module._load_state_dict_post_hooks.values():
                out = hook(module, incompatible)
                if out is not None:
                    raise RuntimeError("Hooks registered with ``register_load_state_dict_post_hook`` are not "
                                       "expected to return new values, if incompatible_keys need to be "
                                       "modified, it should be done inplace.")

        snapshot = _snapshot(self)
        try:
            load(self, state_dict)
            if strict:
                if unexpected_keys:
                    error_msgs.insert(0, "Unexpected key(s) in state_dict: {}. ".format(
                        ", ".join(f'"{k}"' for k in unexpected_keys)))
                if missing_keys:
                    error_msgs.insert(0, "Missing key(s) in state_dict: {}. ".format(
                        ", ".join(f'"{k}"' for k in missing_keys)))
            if error_msgs:
                raise RuntimeError("Error(s) in loading state_dict for {}:\n\t{}".format(
                    self.__class__.__name__, "\n\t".join(error_msgs)))
        except BaseException:
            _restore(snapshot)
            raise
        return _IncompatibleKeys(missing_keys, unexpected_keys)

    # ------------------------------------------------------------------ casts and moves
    def _apply(self, fn: Callable[[Tensor], Tensor], recurse: bool = True) -> Any:
        """Replace every parameter's and buffer's data by ``fn(tensor)``.  Parameters stay the
        same objects (an optimizer built before ``model.to(...)`` still holds them); their
        ``.grad`` goes through ``fn`` too."""
        if recurse:
            for module in self.children():
                module._apply(fn)
        for key, param in self._parameters.items():
            if param is None:
                continue
            with no_grad():
                param_applied = fn(param)
            param.data = param_applied
            if param.grad is not None:
                with no_grad():
                    grad_applied = fn(param.grad)
                param.grad.data = grad_applied
        for key, buf in self._buffers.items():
            if buf is not None:
                self._buffers[key] = fn(buf)
        return self

    def float(self) -> Any:
        """Floating-point parameters and buffers to float32 (in place; returns ``self``)."""
        return self._apply(lambda t: t.float() if t.is_floating_point() else t)

    def double(self) -> Any:
        return self._apply(lambda t: t.double() if t.is_floating_point() else t)

    def half(self) -> Any:
        return self._apply(lambda t: t.half() if t.is_floating_point() else t)

    def bfloat16(self) -> Any:
        return self._apply(lambda t: t.bfloat16() if t.is_floating_point() else t)

    def type(self, dst_type: Any) -> Any:
        """Every parameter and buffer to ``dst_type`` (a dtype), floating or not."""
        return self._apply(lambda t: t.type(dst_type))

    def cpu(self) -> Any:
        return self._apply(lambda t: t.cpu())

    def cuda(self, device: Any = None) -> Any:
        """Move to a CUDA device (``cuda:0`` by default) through CuPy."""
        target = "cuda" if device is None else (f"cuda:{device}" if isinstance(device, int) else device)
        return self._apply(lambda t: t.to(target))

    def to_empty(self, *, device: Any, recurse: bool = True) -> Any:
        """Move to ``device`` without copying values: new uninitialised storage of the same
        shapes and dtypes (then initialise it, e.g. with ``reset_parameters``)."""
        from ...ops.creation import empty_like
        return self._apply(lambda t: empty_like(t, device=device), recurse=recurse)

    def to(self, *args: Any, **kwargs: Any) -> Any:
        """``to(device)``, ``to(dtype)``, ``to(device, dtype)``, ``to(tensor)``,
        ``to(memory_format=...)``, each also with ``non_blocking``: floating-point parameters and
        buffers take the dtype, every tensor moves to the device.  In place; returns ``self``.
        ``memory_format`` is checked and otherwise changes nothing (edunn's arrays are C-ordered)."""
        device, dtype, fmt = _parse_module_to(args, kwargs)
        if dtype is not None and not (dtype.is_floating_point or dtype.is_complex):
            raise TypeError("nn.Module.to only accepts floating point or complex dtypes, but got "
                            f"desired dtype={dtype}")

        def convert(t: Tensor) -> Tensor:
            if t.is_floating_point() or t.is_complex():
                return t.to(device, dtype) if device is not None else (t.to(dtype) if dtype is not None else t)
            return t.to(device) if device is not None else t
        return self._apply(convert)


def _parse_module_to(args: tuple, kwargs: dict) -> tuple:
    kwargs = dict(kwargs)
    fmt = kwargs.pop("memory_format", None)
    kwargs.pop("non_blocking", None)
    device = kwargs.pop("device", None)
    dtype = kwargs.pop("dtype", None)
    if kwargs:
        raise TypeError(f"to() received an invalid combination of arguments - got unexpected "
                        f"keyword argument '{next(iter(kwargs))}'")
    args = list(args)
    if args and isinstance(args[0], Tensor):
        other = args.pop(0)
        device, dtype = other.device, other.dtype
    elif args and isinstance(args[0], (str, int, backend.device)) and not isinstance(args[0], bool):
        device = args.pop(0)
    if args and isinstance(args[0], backend.dtype):
        dtype = args.pop(0)
    if args and isinstance(args[0], bool):
        args.pop(0)  # non_blocking
    if args:
        raise TypeError(f"to() received an invalid combination of arguments - got {tuple(args)!r}")
    if fmt is not None and not isinstance(fmt, backend.memory_format):
        raise TypeError(f"to(): memory_format must be an edunn.memory_format, got {type(fmt).__name__}")
    if dtype is not None:
        dtype = backend.as_dtype(dtype)
    if device is not None:
        device = backend.as_device(f"cuda:{device}" if isinstance(device, int) else device)
    return device, dtype, fmt


# ---------------------------------------------------------------------------- all-or-nothing load
def _snapshot(root: Any) -> list:
    """What ``load_state_dict`` may change, per module: the parameter and buffer dicts (``assign``
    replaces their entries), a copy of every tensor's values (copies write in place), and the
    extra state."""
    snap = []
    for module in root.modules():
        tensors = [(t, t._data, t._data.copy()) for t in itertools.chain(module._parameters.values(),
                                                                          module._buffers.values())
                   if t is not None and not is_lazy(t)]
        lazy = [(t, type(t)) for t in itertools.chain(module._parameters.values(), module._buffers.values())
                if is_lazy(t)]
        extra = module.get_extra_state() if module._has_extra_state("get_extra_state") \
            and module._has_extra_state("set_extra_state") else _NO_EXTRA
        snap.append((module, dict(module._parameters), dict(module._buffers), tensors, lazy, extra))
    return snap


_NO_EXTRA = object()


def _restore(snap: list) -> None:
    for module, params, buffers, tensors, lazy, extra in snap:
        module._parameters.clear()
        module._parameters.update(params)
        module._buffers.clear()
        module._buffers.update(buffers)
        for t, array, values in tensors:
            t._data = array
            array[...] = values
        for t, cls in lazy:  # a lazy parameter materialised by the load goes back to waiting
            if type(t) is not cls:
                data = t._data
                t.__class__ = cls
                t._data = backend.array_module(data).empty(0, data.dtype)
        if extra is not _NO_EXTRA:
            module.set_extra_state(extra)
