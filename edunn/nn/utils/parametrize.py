"""Parametrizations (``torch.nn.utils.parametrize``): a tensor of a module computed from others.

After ``register_parametrization(module, "weight", P)``, reading ``module.weight`` returns
``P(original)``, where ``original`` is the unconstrained tensor that the optimizer trains::

    module.weight  ==  P_n( ... P_2( P_1(module.parametrizations.weight.original) ) )

so a constraint (orthogonal, unit norm, symmetric ...) holds by construction and gradients flow
through ``P`` back to ``original``.

How PyTorch does it, and so do we (lesson 03 explains ``__getattr__``/``__setattr__``):

* ``weight`` is removed from ``module._parameters`` and moved, as ``original``, into a
  :class:`ParametrizationList` (a ``ModuleList`` of the parametrizations ``P_1, P_2 ...``)
  stored in ``module.parametrizations`` (a ``ModuleDict``).  So ``state_dict`` keys become
  ``parametrizations.weight.original`` and the module's own buffers (``_u`` of spectral norm)
  appear as ``parametrizations.weight.0._u``.
* A *property* can only live on a class, not an instance, so the module's class is swapped for
  a new subclass made on the fly, ``ParametrizedLinear(Linear)``, which gets one property per
  parametrized tensor: its getter evaluates the chain, its setter calls ``right_inverse``.  The
  original class is ``type(module).__bases__[0]`` (:func:`type_before_parametrizations`);
  removing the last parametrization puts it back.
* ``right_inverse`` (optional on each ``P``) maps a value of the constrained tensor back to
  ``original``: it initialises ``original`` at registration and serves ``module.weight = X``.
  It may return several tensors, stored as ``original0``, ``original1`` ... and passed to the
  first parametrization's ``forward`` as separate arguments (weight norm's ``g`` and ``v``).
* Inside ``with cached():`` each parametrized tensor is computed once and reused.

edunn has no ``Tensor.set_``: where PyTorch re-points ``original``'s storage (so the optimizer
keeps the same parameter object), we assign ``original.data``, which does the same thing here.
"""
from __future__ import annotations

import collections.abc
import copyreg
from contextlib import contextmanager
from copy import deepcopy
from typing import Iterator, Optional, Sequence, Union

from ...autograd import no_grad
from ...tensor import Tensor
from ..modules.container import ModuleDict, ModuleList
from ..modules.module import Module
from ..parameter import Parameter

__all__ = ["cached", "ParametrizationList", "register_parametrization", "is_parametrized",
           "remove_parametrizations", "type_before_parametrizations",
           "transfer_parametrizations_and_params"]

_cache_enabled = 0
_cache: dict = {}


@contextmanager
def cached() -> Iterator[None]:
    r"""Compute each parametrized tensor once inside the block and reuse it (the cache is
    emptied when the outermost ``cached()`` exits).

    Useful when a parametrized weight is read several times in one forward pass (an RNN's
    recurrent kernel read at every step, or tied weights)::

        with parametrize.cached():
            output = model(inputs)
    """
    global _cache, _cache_enabled
    _cache_enabled += 1
    try:
        yield
    finally:
        _cache_enabled -= 1
        if not _cache_enabled:
            _cache = {}


def _register_parameter_or_buffer(module: Module, name: str, X: Tensor) -> None:
    if isinstance(X, Parameter):
        module.register_parameter(name, X)
    else:
        module.register_buffer(name, X)


def _maybe_set(dest: Tensor, src: Tensor) -> None:
    """``dest.set_(src)`` in PyTorch: ``dest`` (the same object, so an optimizer holding it still
    sees it) now holds ``src``'s values and shape."""
    dest.data = src


class ParametrizationList(ModuleList):
    r"""The list of parametrizations on one tensor, holding the tensor they start from: the type
    of ``module.parametrizations[tensor_name]``.

    If the first parametrization has no ``right_inverse``, or one that returns a single tensor,
    that tensor is held as ``original``; if it returns several, as ``original0``,
    ``original1`` ...  It is made by :func:`register_parametrization`, not by users.

    Args:
        modules (sequence): the parametrizations (at least one)
        original (Parameter or Tensor): the parameter or buffer being parametrized
        unsafe (bool): allow the parametrization to change the tensor's dtype and shape (not
            checked). Default: ``False``
    """

    original: Tensor
    unsafe: bool

    def __init__(self, modules: Sequence[Module], original: Union[Tensor, Parameter],
                 unsafe: bool = False) -> None:
        if len(modules) == 0:
            raise ValueError("ParametrizationList requires one or more modules.")
        super().__init__(modules)
        self.unsafe = unsafe
        # Invariants (X = module.weight, Y = right_inverse(X), Z = forward(Y)):
        # Z has X's dtype and shape (unless unsafe), and a single Y has X's dtype and device, so
        # that it can take over X's storage in place.
        original_shape = original.shape
        original_dtype = original.dtype
        with no_grad():
            new = original
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    try:
                        new = module.right_inverse(new)
                    except NotImplementedError:
                        pass  # treated as the identity, as when there is no right_inverse
        if not isinstance(new, Tensor) and not isinstance(new, collections.abc.Sequence):
            raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors (list, tuple...). "
                             f"Got {type(new).__name__}")
        self.is_tensor = isinstance(new, Tensor)
        self.ntensors = 1 if self.is_tensor else len(new)
        if self.is_tensor:
            _check_kept({"dtype": original.dtype, "device": original.device}, new,
                        "When `right_inverse` outputs one tensor, it may not change the {}.",
                        "original.{}", "right_inverse(original).{}")
            # keep the same object, so the user need not re-register it with the optimizer
            with no_grad():
                _maybe_set(original, new)
            _register_parameter_or_buffer(self, "original", original)
        else:
            for i, originali in enumerate(new):
                if not isinstance(originali, Tensor):
                    raise ValueError("'right_inverse' must return a Tensor or a Sequence of tensors "
                                     "(list, tuple...). "
                                     f"Got element {i} of the sequence with type {type(originali).__name__}.")
                # new tensors: the user adds them to the optimizer (documented in PyTorch too)
                if isinstance(original, Parameter):
                    originali = Parameter(originali, original.requires_grad)
                originali.requires_grad_(original.requires_grad)
                _register_parameter_or_buffer(self, f"original{i}", originali)
        if not self.unsafe:
            Z = self()
            if not isinstance(Z, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(Z).__name__}.")
            _check_kept({"dtype": original_dtype, "shape": original_shape}, Z,
                        "Registering a parametrization may not change the {} of the tensor, "
                        "unless `unsafe` flag is enabled.", "unparametrized {}", "parametrized {}")

    def right_inverse(self, value: Tensor) -> None:
        r"""Run the parametrizations' ``right_inverse`` in reverse registration order on
        ``value`` and store the result in ``original`` (or ``original0``, ``original1`` ...):
        what ``module.weight = value`` does."""
        with no_grad():
            for module in reversed(self):
                if hasattr(module, "right_inverse"):
                    value = module.right_inverse(value)
                else:
                    raise RuntimeError(f"parametrization {type(module).__name__} does not implement "
                                       "right_inverse.")
            if self.is_tensor:
                if not isinstance(value, Tensor):
                    raise ValueError(f"`right_inverse` should return a tensor. Got {type(value).__name__}")
                if value.dtype != self.original.dtype:
                    raise ValueError(f"The tensor returned by `right_inverse` has dtype {value.dtype} "
                                     f"while `original` has dtype {self.original.dtype}")
                _maybe_set(self.original, value)
            else:
                if not isinstance(value, collections.abc.Sequence):
                    raise ValueError("'right_inverse' must return a sequence of tensors. "
                                     f"Got {type(value).__name__}.")
                if len(value) != self.ntensors:
                    raise ValueError("'right_inverse' must return a sequence of tensors of length "
                                     f"{self.ntensors}. Got a sequence of length {len(value)}.")
                for i, tensor in enumerate(value):
                    original_i = getattr(self, f"original{i}")
                    if not isinstance(tensor, Tensor):
                        raise ValueError("'right_inverse' must return a sequence of tensors "
                                         f"or reference-type opaques. Got element {i} of type "
                                         f"{type(tensor).__name__}.")
                    if original_i.dtype != tensor.dtype:
                        raise ValueError(f"Tensor {i} returned by `right_inverse` has dtype {tensor.dtype} "
                                         f"while `original{i}` has dtype {original_i.dtype}")
                    _maybe_set(original_i, tensor)

    def forward(self) -> Tensor:
        """The parametrized tensor: the chain of parametrizations applied to the original(s)."""
        if self.is_tensor:
            x = self[0](self.original)
        else:
            x = self[0](*(getattr(self, f"original{i}") for i in range(self.ntensors)))
        curr_idx = 1
        while hasattr(self, str(curr_idx)):
            x = self[curr_idx](x)
            curr_idx += 1
        return x


def _default_deepcopy(self: Module, memo: dict) -> Module:
    # ``copy.deepcopy`` would otherwise go through ``__getstate__``, which refuses below
    obj = memo.get(id(self), None)
    if obj is not None:
        return obj
    replica = self.__new__(self.__class__)
    memo[id(self)] = replica
    replica.__dict__ = deepcopy(self.__dict__, memo)
    for slot in copyreg._slotnames(self.__class__):
        if hasattr(self, slot):
            setattr(replica, slot, deepcopy(getattr(self, slot), memo))
    return replica


def _getstate(self: Module) -> None:
    raise RuntimeError("Serialization of parametrized modules is only supported through state_dict(). See:\n"
                       "https://pytorch.org/tutorials/beginner/saving_loading_models.html"
                       "#saving-loading-a-general-checkpoint-for-inference-and-or-resuming-training")


def _inject_new_class(module: Module) -> None:
    """Swap ``module``'s class for ``Parametrized<Class>``, a subclass that can carry the
    properties (pickling it is refused, deep-copying works)."""
    cls = module.__class__
    dct = {"__getstate__": _getstate}
    if not hasattr(cls, "__deepcopy__"):
        dct["__deepcopy__"] = _default_deepcopy
    module.__class__ = type(f"Parametrized{cls.__name__}", (cls,), dct)


def _inject_property(module: Module, tensor_name: str) -> None:
    """Add the property ``tensor_name`` to the (already swapped) class of ``module``."""
    if hasattr(module, tensor_name):
        raise AssertionError(f"Module already has an attribute named '{tensor_name}'")

    def get_parametrized(self: Module) -> Tensor:
        parametrization = self.parametrizations[tensor_name]
        if not _cache_enabled:
            return parametrization()
        # keyed by the instance reading it (PyTorch keys by the module the property was made
        # for, which a deep copy shares; the instance is what is meant)
        key = (id(self), tensor_name)
        tensor = _cache.get(key)
        if tensor is None:
            tensor = parametrization()
            _cache[key] = tensor
        return tensor

    def set_original(self: Module, value: Tensor) -> None:
        self.parametrizations[tensor_name].right_inverse(value)

    setattr(module.__class__, tensor_name, property(get_parametrized, set_original))


def _check_kept(expected: dict, got: Tensor, headline: str, expected_label: str, got_label: str) -> None:
    """The consistency checks of a parametrization (PyTorch's messages): ``ValueError`` unless
    ``got`` has each attribute (``dtype``, ``shape``, ``device``) of ``expected``, a dict from
    the attribute's name to its value. The message is ``headline``, then the two values after
    ``expected_label`` and ``got_label``; all three have the attribute's name put in for ``{}``."""
    for attr, want in expected.items():
        have = getattr(got, attr)
        if have != want:
            raise ValueError(f"{headline.format(attr)}\n{expected_label.format(attr)}: {want}\n"
                             f"{got_label.format(attr)}: {have}")


def register_parametrization(module: Module, tensor_name: str, parametrization: Module, *,
                             unsafe: bool = False) -> Module:
    r"""Make ``module.<tensor_name>`` return ``parametrization(original)``.

    The first call on a module swaps its class for ``Parametrized<Class>`` and adds
    ``module.parametrizations`` (a ``ModuleDict``); the tensor moves to
    ``module.parametrizations.<tensor_name>.original`` (or ``original0``, ``original1`` ... when
    ``parametrization.right_inverse`` returns several tensors).  Registering again on the same
    name appends to the chain: ``module.weight = P2(P1(original))``.  The parametrization takes
    the module's training mode.

    ``parametrization.right_inverse(X)`` (optional) gives the original for a value ``X``: it is
    called on the current tensor at the first registration, and by ``module.weight = X``.

    With ``unsafe=False`` (the default) the parametrization's ``forward`` (and ``right_inverse``)
    are run once to check that they keep the tensor's dtype and shape.

    Args:
        module (nn.Module): the module holding the tensor
        tensor_name (str): the name of the parameter or buffer (or of an already parametrized
            tensor)
        parametrization (nn.Module): the parametrization

    Keyword args:
        unsafe (bool): allow a parametrization that changes dtype or shape. Default: ``False``

    Returns:
        ``module``

    Raises:
        ValueError: if ``module`` has no parameter, buffer or parametrized tensor named
            ``tensor_name``, or a consistency check fails
    """
    parametrization.train(module.training)
    if is_parametrized(module, tensor_name):
        if not unsafe:
            Y = getattr(module, tensor_name)
            X = parametrization(Y)
            if not isinstance(X, Tensor):
                raise ValueError(f"A parametrization must return a tensor. Got {type(X).__name__}.")
            kept = {"dtype": Y.dtype, "shape": Y.shape}
            _check_kept(kept, X, "Registering a parametrization may not change the {} of the tensor, unless "
                        "the `unsafe` flag is enabled.", f"module.{tensor_name}.{{}}",
                        f"parametrization(module.{tensor_name}).{{}}")
            if hasattr(parametrization, "right_inverse"):
                try:
                    Z = parametrization.right_inverse(X)
                except NotImplementedError:
                    pass
                else:
                    if not isinstance(Z, Tensor):
                        raise ValueError(f"parametrization.right_inverse must return a tensor. Got: "
                                         f"{type(Z).__name__}")
                    _check_kept(kept, Z, "The tensor returned by parametrization.right_inverse must have the "
                                f"same {{}} as module.{tensor_name}, unless the `unsafe` flag is enabled.",
                                f"module.{tensor_name}.{{}}", "returned {}")
        module.parametrizations[tensor_name].append(parametrization)
        # once unsafe, the chain stays unsafe
        module.parametrizations[tensor_name].unsafe |= unsafe
    elif tensor_name in module._buffers or tensor_name in module._parameters:
        original = getattr(module, tensor_name)
        # made first, so that a failing check leaves the module untouched
        parametrizations = ParametrizationList([parametrization], original, unsafe=unsafe)
        delattr(module, tensor_name)
        if not is_parametrized(module):
            _inject_new_class(module)
            module.parametrizations = ModuleDict()
        _inject_property(module, tensor_name)
        module.parametrizations[tensor_name] = parametrizations
    else:
        raise ValueError(f"Module '{module}' does not have a parameter, a buffer, or a "
                         f"parametrized element with name '{tensor_name}'")
    return module


def is_parametrized(module: Module, tensor_name: Optional[str] = None) -> bool:
    r"""Whether ``module`` has a parametrization on ``tensor_name`` (on any tensor when
    ``tensor_name`` is ``None``)."""
    parametrizations = getattr(module, "parametrizations", None)
    if parametrizations is None or not isinstance(parametrizations, ModuleDict):
        return False
    if tensor_name is None:
        return len(parametrizations) > 0
    return tensor_name in parametrizations


def remove_parametrizations(module: Module, tensor_name: str, leave_parametrized: bool = True) -> Module:
    r"""Remove the parametrizations on ``module.<tensor_name>`` and make it a plain parameter (or
    buffer) again.

    - ``leave_parametrized=True``: it keeps its current (parametrized) value.  With a single
      original tensor the same ``Parameter`` object is kept (its values replaced), so an
      optimizer holding it still works.
    - ``leave_parametrized=False``: it becomes the unparametrized ``original`` (only possible
      when there is one original tensor).

    When no parametrization is left the module gets its original class back.

    Raises:
        ValueError: if ``module.<tensor_name>`` is not parametrized, or
            ``leave_parametrized=False`` with several original tensors
    """
    if not is_parametrized(module, tensor_name):
        raise ValueError(f"Module {module} does not have a parametrization on {tensor_name}")
    parametrizations = module.parametrizations[tensor_name]
    if parametrizations.is_tensor:
        original = parametrizations.original
        if leave_parametrized:
            with no_grad():
                t = getattr(module, tensor_name)
                _maybe_set(original, t)
    else:
        if not leave_parametrized:
            raise ValueError("Cannot leave unparametrized (`leave_parametrized=False`) a tensor "
                             "that is parametrized in terms of a sequence of tensors.")
        # not under no_grad: whether the result requires grad says whether an original did
        t = getattr(module, tensor_name)
        original = Parameter(t) if t.requires_grad else t
    delattr(module.__class__, tensor_name)
    del module.parametrizations[tensor_name]
    _register_parameter_or_buffer(module, tensor_name, original)
    if not is_parametrized(module):
        delattr(module, "parametrizations")
        module.__class__ = module.__class__.__bases__[0]
    return module


def type_before_parametrizations(module: Module) -> type:
    r"""The class ``module`` had before it was parametrized (its class if it is not)."""
    if is_parametrized(module):
        return module.__class__.__bases__[0]
    return type(module)


def transfer_parametrizations_and_params(from_module: Module, to_module: Module,
                                         tensor_name: Optional[str] = None) -> Module:
    r"""Register ``from_module``'s parametrizations (all, or those of ``tensor_name``) on
    ``to_module`` too, sharing the parametrization modules and the original tensors (a tensor
    missing from ``to_module`` is created first).  Does nothing if ``from_module`` is not
    parametrized.  Returns ``to_module``."""
    if is_parametrized(from_module):
        names = list(from_module.parametrizations) if tensor_name is None else [tensor_name]
        for parameter_name in names:
            if not hasattr(to_module, parameter_name):
                setattr(to_module, parameter_name, Parameter(getattr(from_module, parameter_name)))
            for param_func in from_module.parametrizations[parameter_name]:
                register_parametrization(to_module, parameter_name, param_func)
            source = from_module.parametrizations[parameter_name]
            target = to_module.parametrizations[parameter_name]
            if hasattr(source, "original"):
                target.original = source.original
            else:
                num = 0
                while hasattr(source, f"original{num}"):
                    setattr(target, f"original{num}", getattr(source, f"original{num}"))
                    num += 1
    return to_module
