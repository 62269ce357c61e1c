"""``Optimizer``: the base class of every algorithm in ``edunn.optim`` (lesson 14).

An optimizer holds the tensors it updates in ``param_groups`` -- a list of dicts, each with a
``"params"`` list and that group's options (``lr``, ``momentum``, ...) -- and whatever it remembers
between steps in ``state``, a ``defaultdict(dict)`` keyed by the parameter tensor itself (edunn's
``Tensor.__hash__`` is identity-based, as PyTorch's).  Everything here follows PyTorch's
``torch/optim/optimizer.py``: the same names, the same errors, the same ``state_dict`` layout.

Contract for a subclass (how ``SGD``, ``Adam``, ... are written; a learner's ``Optimizer`` in
lesson 14 follows it too):

* ``__init__`` validates its arguments with PyTorch's messages, builds ``defaults`` (a dict of
  every option, including the flags ``maximize``, ``foreach``, ``differentiable``, ... that PyTorch
  has for the algorithm) and calls ``super().__init__(params, defaults)``.
* ``step(self, closure=None)`` is decorated with ``@_use_grad_for_differentiable``: it then runs
  under ``no_grad`` unless the optimizer was built with ``differentiable=True``.  It evaluates the
  closure under ``enable_grad`` when one is given and returns its loss.  Defining ``step`` in a
  subclass is enough for the step pre/post hooks to run around it (``__init_subclass__``).
* per-parameter state is created lazily on the first step in which the parameter has a gradient
  (``if len(state) == 0: ...``), with PyTorch's key names (``"step"`` as a 0-dim float32 tensor
  made by ``_zero_step``, ``"exp_avg"``, ...), so that ``state_dict()`` matches PyTorch's.
* the update itself, when not ``differentiable``, works in place on the raw arrays (``p._data``)
  with the array module's ``out=`` functions, block by block through ``_blocks`` (cache-sized
  pieces: temporaries stay small and in cache, which is what makes one step over 10M parameters
  as fast as PyTorch's fused loops); ``_bump_version(p)`` afterwards, as an in-place op would.
  With ``differentiable=True`` it is written with Tensor ops instead (``p.add_(...)``), so that
  autograd records it.
* ``foreach``, ``fused`` and ``capturable`` are accepted where PyTorch has them and change nothing
  here: there is one implementation, the in-place block loop above (``capturable`` and ``fused``
  only decide where ``state["step"]`` lives, as in PyTorch, so checkpoints keep their layout).

Helpers subclasses use: ``required``, ``_use_grad_for_differentiable``, ``_get_value``,
``_to_scalar``, ``_get_scalar_dtype``, ``_zero_step``, ``_increment_step``, ``_blocks``,
``_bump_version``, ``_writable``, ``_check_lr``, the block kernels ``_signed_grad`` and
``_lerp_``, and the ``_*_doc`` strings for docstrings.  The block kernels (``_blocks``,
``_signed_grad``, ``_adam_moments``, ``_lerp_``, ``_dense_from_sparse``) live in
``_optimizer_kernels.py`` and are re-exported here.
"""
from __future__ import annotations

import copy
import functools
import warnings
from collections import OrderedDict, defaultdict
from collections.abc import Iterable
from itertools import chain
from typing import Any, Callable

from .. import backend
from ..autograd import grad_mode
from ..tensor import Tensor
from ..utils.hooks import RemovableHandle
from . import _optimizer_kernels

__all__ = ["Optimizer", "register_optimizer_step_pre_hook", "register_optimizer_step_post_hook"]

_global_optimizer_pre_hooks: "OrderedDict[int, Callable]" = OrderedDict()
_global_optimizer_post_hooks: "OrderedDict[int, Callable]" = OrderedDict()


class _RequiredParameter:
    """The default of an option that every parameter group must give (``lr`` of a learner's
    optimizer, say): ``add_param_group`` raises if it is missing."""

    def __repr__(self) -> str:
        return "<required parameter>"


required = _RequiredParameter()


# ---------------------------------------------------------------------------- docstring pieces
_params_doc = r"""params (iterable): iterable of parameters or named_parameters to optimize
            or iterable of dicts defining parameter groups. When using named_parameters,
            all parameters in all groups should be named"""
_maximize_doc = r"""maximize (bool, optional): maximize the objective with respect to the
            params, instead of minimizing (default: False)"""
_foreach_doc = r"""foreach (bool, optional): accepted for PyTorch compatibility; edunn has one
            implementation (in place, in cache-sized blocks), so it changes nothing (default: None)"""
_fused_doc = r"""fused (bool, optional): accepted for PyTorch compatibility; changes nothing but
            where ``state["step"]`` lives (on the parameter's device, as PyTorch): on a GPU,
            Adam, AdamW and SGD always update each parameter in one fused kernel (default: None)"""
_capturable_doc = r"""capturable (bool, optional): accepted for PyTorch compatibility (there is
            no graph capture here); like ``fused`` it only keeps ``state["step"]`` on the
            parameter's device (default: False)"""
_differentiable_doc = r"""differentiable (bool, optional): whether autograd should record the
            optimizer step, so that one can differentiate through it; the update then runs with
            Tensor ops instead of in-place array code, which is slower (default: False)"""


# ---------------------------------------------------------------------------- helpers
def _use_grad_for_differentiable(func: Callable) -> Callable:
    """Run ``step`` with grad recording on only for a ``differentiable`` optimizer (PyTorch's
    decorator of the same name): an ordinary update must not enter the graph."""
    @functools.wraps(func)
    def _use_grad(self, *args: Any, **kwargs: Any) -> Any:
        prev = grad_mode.state.enabled
        try:
            grad_mode.state.enabled = bool(self.defaults.get("differentiable", False))
            return func(self, *args, **kwargs)
        finally:
            grad_mode.state.enabled = prev
    return _use_grad


def _get_value(x: Any) -> Any:
    """A Python number from a number or a one-element tensor."""
    return x.item() if isinstance(x, Tensor) else x


def _to_scalar(x: Any) -> Any:
    """A 1-element tensor with dimensions becomes 0-dim; anything else is returned as is."""
    if isinstance(x, Tensor) and x.dim() != 0:
        return x.squeeze()
    return x


def _get_scalar_dtype(is_fused: bool | None = None) -> backend.dtype:
    """The dtype of ``state["step"]``: float64 when that is the default dtype, else float32."""
    if is_fused:
        return backend.float32
    return backend.float64 if backend.get_default_dtype() == backend.float64 else backend.float32


def _zero_step(param: Tensor, on_param_device: bool = False, is_fused: bool | None = None) -> Tensor:
    """A fresh ``state["step"]``: a 0-dim tensor holding 0., on the CPU unless ``capturable`` or
    ``fused`` asked for the parameter's device (PyTorch keeps it there in those modes)."""
    dev = param.device if on_param_device else backend.CPU
    d = _get_scalar_dtype(is_fused)
    with backend.device_context(dev):
        return Tensor._make(backend.xp_for(dev).zeros((), d.np))


def _increment_step(step_t: Tensor) -> float:
    """``step_t += 1`` in place (the state dict shares the tensor); returns the new value."""
    data = step_t._data
    if backend.writable(data) and hasattr(data, "__setitem__"):
        data += 1
    else:
        step_t._data = backend.as_ndarray(data + 1).astype(data.dtype)
    step_t._version_counter[0] += 1
    return float(step_t._data)


def _reduced(params: list) -> bool:
    """Whether some parameter is float16/bfloat16.  Their updates then run as PyTorch writes
    them, op by op on tensors, each op rounding once as PyTorch's do (in float32 with an alpha
    rounded to the dtype); the fast array path would round each temporary as well."""
    return any(p._data.dtype in _REDUCED_NP for p in params)


_REDUCED_NP = frozenset({backend.float16.np, backend.bfloat16.np})


def _writable(t: Tensor) -> Any:
    """``t``'s array, made a real (writable) array if an op left a NumPy scalar there."""
    data = t._data
    if not hasattr(data, "__setitem__"):
        data = t._data = backend.as_ndarray(data)
    return data


def _bump_version(*tensors: Tensor | None) -> None:
    """Record an in-place write done on raw arrays, as ``p.add_(...)`` would have."""
    for t in tensors:
        if t is not None:
            t._version_counter[0] += 1


def _check_lr(lr: Any) -> None:
    """PyTorch's checks of a learning rate that may be a float or a one-element tensor."""
    if isinstance(lr, Tensor) and lr.numel() != 1:
        raise ValueError("Tensor lr must be 1-element")
    if not 0.0 <= lr:
        raise ValueError(f"Invalid learning rate: {lr}")


def _typename(obj: Any) -> str:
    """What PyTorch's ``torch.typename`` prints: ``edunn.FloatTensor``, ``int``, ``mod.Class``."""
    if isinstance(obj, Tensor):
        return obj.type()
    cls = type(obj)
    module = cls.__module__
    return cls.__qualname__ if module in ("builtins", None) else f"{module}.{cls.__qualname__}"


# The block kernels live in _optimizer_kernels.py; the optimizers import them from here.
_BLOCK, _blocks, _signed_grad = _optimizer_kernels._BLOCK, _optimizer_kernels._blocks, _optimizer_kernels._signed_grad
_adam_moments, _lerp_ = _optimizer_kernels._adam_moments, _optimizer_kernels._lerp_
_dense_from_sparse = _optimizer_kernels._dense_from_sparse


# ---------------------------------------------------------------------------- global hooks
def register_optimizer_step_pre_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``, called
    before the ``step`` of every optimizer (before the optimizer's own pre hooks)."""
    handle = RemovableHandle(_global_optimizer_pre_hooks)
    _global_optimizer_pre_hooks[handle.id] = hook
    return handle


def register_optimizer_step_post_hook(hook: Callable) -> RemovableHandle:
    """Register ``hook(optimizer, args, kwargs) -> None``, called after the ``step`` of every
    optimizer (after the optimizer's own post hooks)."""
    handle = RemovableHandle(_global_optimizer_post_hooks)
    _global_optimizer_post_hooks[handle.id] = hook
    return handle


def _hooked_step(func: Callable) -> Callable:
    """Wrap a subclass's ``step`` so that the global and per-optimizer step hooks run around it
    (pre: global then own, in registration order; post: own then global).  On a machine with
    several GPUs the step runs on its parameters' device (``backend.device_guard``)."""
    @functools.wraps(func)
    def step(self, *args: Any, **kwargs: Any) -> Any:
        if getattr(self, "_in_hooked_step", False):  # a subclass's step calling super().step()
            return func(self, *args, **kwargs)
        guard = backend.device_guard(g["params"][0] for g in self.param_groups if g["params"])
        if guard is not None:
            with guard:
                return step(self, *args, **kwargs)
        for pre_hook in chain(_global_optimizer_pre_hooks.values(),
                              self._optimizer_step_pre_hooks.values()):
            result = pre_hook(self, args, kwargs)
            if result is not None:
                if isinstance(result, tuple) and len(result) == 2:
                    args, kwargs = result
                else:
                    raise RuntimeError(f"{func} must return None or a tuple of (new_args, "
                                       f"new_kwargs), but got {result}.")
        self._in_hooked_step = True
        try:
            out = func(self, *args, **kwargs)
        finally:
            self._in_hooked_step = False
        for post_hook in chain(self._optimizer_step_post_hooks.values(),
                               _global_optimizer_post_hooks.values()):
            post_hook(self, args, kwargs)
        return out
    step.hooked = True
    return step


class Optimizer:
    r"""Base class for all optimizers (lesson 14).

    .. warning::
        Parameters need to be given as collections with a deterministic order that is the
        same between runs (not sets, not iterators over dict values): ``state_dict`` numbers
        them by position.

    Args:
        params (iterable): an iterable of Tensors, of ``(name, Tensor)`` pairs (from
            ``named_parameters()``), or of dicts (parameter groups, each with a ``"params"``
            entry and its own options).
        defaults (dict): default values of the optimization options, used when a parameter
            group does not give them.
    """

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        step = cls.__dict__.get("step")
        if step is not None and not getattr(step, "hooked", False):
            cls.step = _hooked_step(step)

    def __init__(self, params: Any, defaults: dict[str, Any]) -> None:
        self.defaults = defaults
        self._optimizer_step_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_step_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_state_dict_post_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_pre_hooks: OrderedDict = OrderedDict()
        self._optimizer_load_state_dict_post_hooks: OrderedDict = OrderedDict()

        if isinstance(params, Tensor):
            raise TypeError("params argument given to the optimizer should be an iterable of "
                            "Tensors or dicts, but got " + _typename(params))
        self.state: defaultdict = defaultdict(dict)
        self.param_groups: list[dict[str, Any]] = []

        param_groups = list(params)
        if len(param_groups) == 0:
            raise ValueError("optimizer got an empty parameter list")
        if not isinstance(param_groups[0], dict):
            param_groups = [{"params": param_groups}]
        for param_group in param_groups:
            self.add_param_group(param_group)

    # ------------------------------------------------------------------ pickling and printing
    def __getstate__(self) -> dict[str, Any]:
        return {"defaults": self.defaults, "state": self.state, "param_groups": self.param_groups}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        for name in ("_optimizer_step_pre_hooks", "_optimizer_step_post_hooks",
                     "_optimizer_state_dict_pre_hooks", "_optimizer_state_dict_post_hooks",
                     "_optimizer_load_state_dict_pre_hooks",
                     "_optimizer_load_state_dict_post_hooks"):
            if name not in self.__dict__:
                setattr(self, name, OrderedDict())
        self.defaults.setdefault("differentiable", False)

    def __repr__(self) -> str:
        format_string = self.__class__.__name__ + " ("
        for i, group in enumerate(self.param_groups):
            format_string += "\n"
            format_string += f"Parameter Group {i}\n"
            for key in sorted(group.keys()):
                if key != "params":
                    format_string += f"    {key}: {group[key]}\n"
        format_string += ")"
        return format_string

    # ------------------------------------------------------------------ hooks
    def register_step_pre_hook(self, hook: Callable) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs) -> None or (new_args, new_kwargs)``, called
        before each ``step``; what it returns replaces step's arguments."""
        handle = RemovableHandle(self._optimizer_step_pre_hooks)
        self._optimizer_step_pre_hooks[handle.id] = hook
        return handle

    def register_step_post_hook(self, hook: Callable) -> RemovableHandle:
        """Register ``hook(optimizer, args, kwargs) -> None``, called after each ``step``."""
        handle = RemovableHandle(self._optimizer_step_post_hooks)
        self._optimizer_step_post_hooks[handle.id] = hook
        return handle

    @staticmethod
    def _register(hooks: OrderedDict, hook: Callable, prepend: bool) -> RemovableHandle:
        handle = RemovableHandle(hooks)
        hooks[handle.id] = hook
        if prepend:
            hooks.move_to_end(handle.id, last=False)
        return handle

    def register_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer) -> None``, called before ``state_dict`` builds its dict
        (``prepend=True``: before the hooks already registered)."""
        return self._register(self._optimizer_state_dict_pre_hooks, hook, prepend)

    def register_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer, state_dict) -> state_dict or None``, called on the dict
        ``state_dict`` is about to return; a returned dict replaces it."""
        return self._register(self._optimizer_state_dict_post_hooks, hook, prepend)

    def register_load_state_dict_pre_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer, state_dict) -> state_dict or None``, called with a shallow
        copy of the dict given to ``load_state_dict``; a returned dict is loaded instead."""
        return self._register(self._optimizer_load_state_dict_pre_hooks, hook, prepend)

    def register_load_state_dict_post_hook(self, hook: Callable, prepend: bool = False) -> RemovableHandle:
        """Register ``hook(optimizer) -> None``, called after ``load_state_dict`` has loaded."""
        return self._register(self._optimizer_load_state_dict_post_hooks, hook, prepend)

    # ------------------------------------------------------------------ state_dict
    def state_dict(self) -> dict[str, Any]:
        """The optimizer's state as a dict, in PyTorch's layout::

            {"state": {0: {"momentum_buffer": tensor(...)}, 1: {...}, ...},
             "param_groups": [{"lr": 0.01, ..., "params": [0]},
                              {"lr": 0.001, ..., "params": [1, 2, 3]}]}

        Parameters are replaced by integer ids, numbered in order across the groups; the
        tensors themselves are not saved.  The state tensors are the optimizer's own (not
        copies), as in PyTorch: ``copy.deepcopy`` the result to keep a snapshot while training
        goes on.  Groups made from named parameters also carry ``"param_names"``."""
        for pre_hook in self._optimizer_state_dict_pre_hooks.values():
            pre_hook(self)

        param_mappings: dict[int, int] = {}
        start_index = 0

        def pack_group(group: dict[str, Any]) -> dict[str, Any]:
            nonlocal start_index
            packed = {k: v for k, v in group.items() if k != "params"}
            param_mappings.update({id(p): i for i, p in enumerate(group["params"], start_index)
                                   if id(p) not in param_mappings})
            packed["params"] = [param_mappings[id(p)] for p in group["params"]]
            start_index += len(packed["params"])
            return packed

        param_groups = [pack_group(g) for g in self.param_groups]
        packed_state = {(param_mappings[id(k)] if isinstance(k, Tensor) else k): v
                        for k, v in self.state.items()}
        state_dict = {"state": packed_state, "param_groups": param_groups}
        for post_hook in self._optimizer_state_dict_post_hooks.values():
            result = post_hook(self, state_dict)
            if result is not None:
                state_dict = result
        return state_dict

    @staticmethod
    def _process_value_according_to_param_policy(param: Tensor, value: Tensor, param_id: Any,
                                                  param_groups: list, key: Any = None) -> Tensor:
        """A private copy of a saved state tensor, on the parameter's device: floating state
        in the parameter's dtype; ``"step"`` left as saved (float32 on the parameter's device
        when ``capturable`` or ``fused``, as PyTorch)."""
        fused = capturable = False
        for pg in param_groups:
            if param_id in pg["params"]:
                fused = pg.get("fused", False)
                capturable = pg.get("capturable", False)
                break
        if key == "step":
            out = value.to(dtype=backend.float32, device=param.device) if (capturable or fused) else value
        elif param.is_floating_point() and value.is_floating_point():
            out = value.to(dtype=param.dtype, device=param.device)
        else:
            out = value.to(device=param.device)
        if out is value or out._data is value._data:  # never share storage with the dict
            out = copy.deepcopy(value) if value.is_leaf else value.clone()
        return out

    def load_state_dict(self, state_dict: dict[str, Any]) -> None:
        """Load a state returned by ``state_dict()`` (this optimizer's, another's, or PyTorch's
        with its tensors converted).  Saved ids are matched to this optimizer's parameters by
        position, group by group.  The groups must agree in number and size, or a
        ``ValueError`` is raised and the optimizer is left as it was.  State tensors are
        copied (deep), moved to their parameter's device and, when floating point, cast to its
        dtype -- except ``"step"``.  Loaded groups replace the current options (``lr``...)."""
        if not isinstance(state_dict, dict):
            raise TypeError(f"load_state_dict expected a dict (from state_dict()), got "
                            f"{type(state_dict).__name__}")
        state_dict = state_dict.copy()
        for pre_hook in self._optimizer_load_state_dict_pre_hooks.values():
            result = pre_hook(self, state_dict)
            if result is not None:
                state_dict = result
        for key in ("state", "param_groups"):
            if key not in state_dict:
                raise KeyError(f"the optimizer state dict has no {key!r} entry (it needs 'state' "
                               f"and 'param_groups'), got keys {sorted(map(str, state_dict))}")

        groups = self.param_groups
        saved_groups = copy.deepcopy(state_dict["param_groups"])
        if len(groups) != len(saved_groups):
            raise ValueError("loaded state dict has a different number of parameter groups")
        if any(len(g["params"]) != len(s["params"]) for g, s in zip(groups, saved_groups)):
            raise ValueError("loaded state dict contains a parameter group that doesn't match "
                             "the size of optimizer's group")

        id_map = dict(zip(chain.from_iterable(g["params"] for g in saved_groups),
                          chain.from_iterable(g["params"] for g in groups)))

        def _cast(param: Tensor, value: Any, param_id: Any = None, key: Any = None) -> Any:
            """A deep copy of ``value`` with its tensors on ``param``'s device (and dtype)."""
            if isinstance(value, Tensor):
                return Optimizer._process_value_according_to_param_policy(
                    param, value, param_id, state_dict["param_groups"], key)
            if isinstance(value, dict):
                return {k: _cast(param, v, param_id=param_id, key=k) for k, v in value.items()}
            if isinstance(value, (str, bytes)):
                return value
            if isinstance(value, Iterable):
                return type(value)(_cast(param, v, param_id=param_id) for v in value)
            return copy.deepcopy(value)

        state: defaultdict = defaultdict(dict)
        for k, v in state_dict["state"].items():
            if k in id_map:
                param = id_map[k]
                state[param] = _cast(param, v, param_id=k)
            else:
                state[k] = copy.deepcopy(v)

        def update_group(group: dict[str, Any], new_group: dict[str, Any]) -> dict[str, Any]:
            new_group["params"] = group["params"]
            if "param_names" in group and "param_names" not in new_group:
                new_group["param_names"] = group["param_names"]
            return new_group

        param_groups = [update_group(g, ng) for g, ng in zip(groups, saved_groups)]
        self.__setstate__({"state": state, "param_groups": param_groups})
        for post_hook in self._optimizer_load_state_dict_post_hooks.values():
            post_hook(self)

    # ------------------------------------------------------------------ the training loop
    def zero_grad(self, set_to_none: bool = True) -> None:
        """Reset the gradients of all optimized tensors: to ``None`` (default, and the cheaper)
        or, with ``set_to_none=False``, to zeros in place (detached from any graph).  The
        difference matters: a step skips a parameter whose ``.grad`` is ``None`` but moves one
        whose gradient is zero (momentum, weight decay)."""
        for group in self.param_groups:
            for p in group["params"]:
                grad = p._grad
                if grad is None:
                    continue
                if set_to_none:
                    p.grad = None
                    continue
                if grad.grad_fn is not None:
                    grad.detach_()
                else:
                    grad.requires_grad_(False)
                if grad.is_sparse:  # no entries left, as PyTorch's sparse zero_()
                    grad.zero_()
                    continue
                data = grad._data
                if hasattr(data, "fill") and backend.writable(data):
                    data.fill(0)
                    grad._version_counter[0] += 1
                else:
                    grad.zero_()

    def step(self, closure: Callable[[], Any] | None = None) -> Any:
        """Perform one optimization step (update every parameter that has a gradient).

        Args:
            closure (Callable, optional): re-evaluates the model and returns the loss;
                optional for most optimizers, required by ``LBFGS``.
        """
        raise NotImplementedError(f"{type(self).__name__} does not define step(); an Optimizer "
                                  "subclass must implement step(closure=None)")

    def add_param_group(self, param_group: dict[str, Any]) -> None:
        """Add a parameter group (a dict with ``"params"`` and any options; the missing ones are
        taken from ``defaults``) -- to start training layers that were frozen, say.  A
        parameter may belong to one group only."""
        if not isinstance(param_group, dict):
            raise TypeError(f"param_group must be a dict, but got {type(param_group)}")
        if "params" not in param_group:
            raise KeyError(f"a parameter group needs a 'params' entry, got keys "
                           f"{sorted(map(str, param_group))}")
        params = param_group["params"]
        if isinstance(params, Tensor):
            param_group["params"] = [params]
        elif isinstance(params, set):
            raise TypeError("optimizer parameters need to be organized in ordered collections, "
                            "but the ordering of tensors in sets will change between runs. Please "
                            "use a list instead.")
        else:
            param_group["params"] = list(params)

        tensors, names = [], []
        for param in param_group["params"]:
            if isinstance(param, tuple):
                names.append(param[0])
                tensors.append(param[1])
            else:
                tensors.append(param)
        param_group["params"] = tensors
        if names:
            if len(names) == len(tensors):
                param_group["param_names"] = names
            else:
                raise ValueError("all optimizer params should be with/without names. Some param "
                                 "names are missing")

        for param in param_group["params"]:
            if not isinstance(param, Tensor):
                raise TypeError("optimizer can only optimize Tensors, but one of the params is "
                                + _typename(param))
            if not self.defaults.get("differentiable", None) and not (param.is_leaf
                                                                      or param.retains_grad):
                raise ValueError("can't optimize a non-leaf Tensor")

        for name, default in self.defaults.items():
            if default is required and name not in param_group:
                raise ValueError(f"parameter group didn't specify a value of required "
                                 f"optimization parameter {name}")
            param_group.setdefault(name, default)

        params = param_group["params"]
        if len(params) != len(set(params)):
            warnings.warn("optimizer contains a parameter group with duplicate parameters; in "
                          "future, this will cause an error; see "
                          "github.com/pytorch/pytorch/issues/40967 for more information",
                          stacklevel=3)

        param_set: set = set()
        for group in self.param_groups:
            param_set.update(set(group["params"]))
            if ("param_names" in param_group) != ("param_names" in group):
                which = "with names" if "param_names" in param_group else "without names"
                raise ValueError("all optimizer param groups should be with/without names. "
                                 f"cannot add param group {which} to the optimizer")
        if not param_set.isdisjoint(set(param_group["params"])):
            raise ValueError("some parameters appear in more than one parameter group")

        self.param_groups.append(param_group)
