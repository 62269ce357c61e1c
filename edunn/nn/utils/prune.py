r"""Pruning: zeroing chosen entries of a parameter with a mask (``torch.nn.utils.prune``).

Pruning a parameter ``weight`` of a module re-parametrizes it, exactly as PyTorch does::

    weight_orig  (a Parameter: what the optimizer trains)
    weight_mask  (a buffer of 0s and 1s, saved in state_dict)
    weight       = weight_mask * weight_orig      (a plain attribute, recomputed before forward)

The pruning method object itself is registered as a *forward pre-hook* on the module, so
``module._forward_pre_hooks`` holds it, and before every call it recomputes ``weight`` from
the current ``weight_orig``.  Because ``weight`` is built by an autograd multiplication, the
gradient that reaches ``weight_orig`` is the incoming gradient times the mask: pruned entries
get zero gradient and stay pruned while the others train.

The methods decide *which* entries to zero (``compute_mask``):

* ``L1Unstructured``: the ``amount`` entries of smallest ``|w|`` (``topk(largest=False)``);
* ``RandomUnstructured``: ``amount`` entries at random (the largest of ``rand_like(w)``);
* ``LnStructured``: whole channels along ``dim`` with the smallest L\ ``n`` norm;
* ``RandomStructured``: whole channels along ``dim`` at random;
* ``CustomFromMask``: a mask you give; ``Identity``: nothing (a mask of ones).

``amount`` is an ``int`` (how many entries/channels) or a ``float`` in ``[0, 1]`` (a fraction,
rounded as ``round(amount * size)``).  Pruning the same parameter again wraps the methods in a
:class:`PruningContainer`, which computes the new mask only on what is still unpruned (the
remaining entries for unstructured methods, the remaining channels for structured ones) and
combines it with the old mask.  :func:`global_unstructured` flattens several parameters into one
vector, picks the entries to prune across all of them, and hands each module its slice as a
``CustomFromMask``.  :func:`remove` makes the pruning permanent: ``weight`` becomes an ordinary
Parameter holding ``mask * orig``.

This is a line-by-line port of PyTorch 2.13's module: same names, signatures, errors (their types
and messages) and masks.  Two differences, both unavoidable: the random methods draw from
edunn's generator (``edunn.manual_seed`` does not reproduce PyTorch's bits, so a random mask has
the same statistics but not the same entries), and when entries tie for L1/Ln pruning the tie is
broken by edunn's ``topk`` (lowest index first) rather than by the order PyTorch's CPU
partial-sort happens to leave.  Lesson 03 (Module: parameters, buffers, hooks) is the background.
The checks of ``amount`` and ``dim`` and the channel norm (``_validate_pruning_amount``,
``_compute_nparams_toprune``, ``_compute_norm`` ...) are in ``_prune_checks.py``, imported here.
"""
from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Iterable
from typing import Any

import edunn
from ...tensor import Tensor
from ..modules.module import Module
from .convert_parameters import parameters_to_vector
from ._prune_checks import (_compute_nparams_toprune, _compute_norm, _validate_pruning_amount,
                            _validate_pruning_amount_init, _validate_pruning_dim, _validate_structured_pruning)

__all__ = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask", "identity", "random_unstructured",
           "l1_unstructured", "random_structured", "ln_structured", "global_unstructured",
           "custom_from_mask", "remove", "is_pruned"]


class BasePruningMethod(ABC):
    r"""Abstract base class of the pruning methods.

    A subclass sets ``PRUNING_TYPE`` (``"unstructured"``, ``"structured"`` or ``"global"``: how a
    :class:`PruningContainer` chooses the part of the tensor a repeated pruning acts on) and
    implements :meth:`compute_mask`.  :meth:`apply` installs the method on a module; the object
    is then the module's forward pre-hook (``__call__``).
    """

    _tensor_name: str

    def __call__(self, module: Module, inputs: Any) -> None:
        r"""The forward pre-hook: ``module.<name> = module.<name>_mask * module.<name>_orig``."""
        setattr(module, self._tensor_name, self.apply_mask(module))

    @abstractmethod
    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        r"""The mask (same shape as ``t``) for the importance scores ``t``, keeping every zero of
        ``default_mask`` (the mask of earlier pruning, ones if none)."""

    def apply_mask(self, module: Module) -> Tensor:
        r"""``mask * orig`` read from ``module``, as a differentiable product (so the gradient
        reaching ``<name>_orig`` is masked)."""
        if self._tensor_name is None:  # set by apply()
            raise AssertionError(f"Module {module} has to be pruned")
        mask, orig = getattr(module, self._tensor_name + "_mask"), getattr(module, self._tensor_name + "_orig")
        return mask.to(dtype=orig.dtype) * orig

    @classmethod
    def apply(cls, module: Module, name: str, *args: Any, importance_scores: Tensor | None = None,
              **kwargs: Any) -> "BasePruningMethod":
        r"""Prune ``module.<name>`` with ``cls(*args, **kwargs)`` and install the re-parametrization.

        The first time, the parameter moves to ``<name>_orig``; the mask is computed from
        ``importance_scores`` (default: the parameter itself), stored as the buffer
        ``<name>_mask``, ``module.<name>`` is set to the pruned tensor and the method is
        registered as a forward pre-hook.  If ``<name>`` is already pruned, the old hook is taken
        off and the old and new methods are combined in a :class:`PruningContainer`, whose mask
        starts from the current one.  If computing the mask fails, a first pruning is rolled back.

        Returns:
            the method (or container) now registered as the hook.
        """

        def _get_composite_method(cls, module, name, *args, **kwargs):
            # a parameter carries at most one pruning hook (a container when pruned repeatedly)
            old_method, found, hooks_to_remove = None, 0, []
            for k, hook in module._forward_pre_hooks.items():
                if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
                    old_method = hook
                    hooks_to_remove.append(k)
                    found += 1
            if found > 1:
                raise AssertionError(f"Avoid adding multiple pruning hooks to the same tensor {name} "
                                     f"of module {module}. Use a PruningContainer.")
            for k in hooks_to_remove:
                del module._forward_pre_hooks[k]

            method = cls(*args, **kwargs)
            method._tensor_name = name
            if old_method is not None:
                if isinstance(old_method, PruningContainer):
                    old_method.add_pruning_method(method)
                    method = old_method
                elif isinstance(old_method, BasePruningMethod):
                    container = PruningContainer(old_method)
                    container.add_pruning_method(method)
                    method = container
            return method

        method = _get_composite_method(cls, module, name, *args, **kwargs)
        # for a repeated pruning this is the pruned tensor: the scores of pruned entries are 0
        orig = getattr(module, name)
        if importance_scores is not None:
            if importance_scores.shape != orig.shape:
                raise AssertionError(f"importance_scores should have the same shape as parameter {name} "
                                     f"of {module}, got {importance_scores.shape} vs {orig.shape}")
        else:
            importance_scores = orig

        if not isinstance(method, PruningContainer):
            # first pruning: the Parameter itself becomes <name>_orig (same object, same training)
            module.register_parameter(name + "_orig", orig)
            del module._parameters[name]
            default_mask = edunn.ones_like(orig)
        else:
            default_mask = getattr(module, name + "_mask").detach().clone(memory_format=edunn.contiguous_format)

        try:
            mask = method.compute_mask(importance_scores, default_mask=default_mask)
            module.register_buffer(name + "_mask", mask)
            setattr(module, name, method.apply_mask(module))
            module.register_forward_pre_hook(method)
        except Exception as e:
            if not isinstance(method, PruningContainer):
                orig = getattr(module, name + "_orig")
                module.register_parameter(name, orig)
                del module._parameters[name + "_orig"]
            raise e
        return method

    def prune(self, t: Tensor, default_mask: Tensor | None = None,
              importance_scores: Tensor | None = None) -> Tensor:
        r"""``t * compute_mask(importance_scores or t, default_mask or ones)``: the pruned
        tensor, without touching any module."""
        if importance_scores is not None:
            if importance_scores.shape != t.shape:
                raise AssertionError("importance_scores should have the same shape as tensor t, "
                                     f"got {importance_scores.shape} vs {t.shape}")
        else:
            importance_scores = t
        default_mask = default_mask if default_mask is not None else edunn.ones_like(t)
        return t * self.compute_mask(importance_scores, default_mask=default_mask)

    def remove(self, module: Module) -> None:
        r"""Make the pruning permanent: ``module.<name>`` becomes the Parameter ``<name>_orig``
        holding ``mask * orig``; ``<name>_orig`` and ``<name>_mask`` are deleted.  Pruned entries
        stay zero (nothing is undone)."""
        if self._tensor_name is None:
            raise AssertionError(f"Module {module} has to be pruned before pruning can be removed")
        weight = self.apply_mask(module)
        if hasattr(module, self._tensor_name):
            delattr(module, self._tensor_name)
        orig = module._parameters[self._tensor_name + "_orig"]
        orig.data = weight.data
        del module._parameters[self._tensor_name + "_orig"]
        del module._buffers[self._tensor_name + "_mask"]
        setattr(module, self._tensor_name, orig)


class PruningContainer(BasePruningMethod):
    r"""A sequence of pruning methods applied one after another to the same parameter
    (iterative pruning).  Its mask is the latest method's mask computed on what the previous
    mask left, combined with it (:meth:`compute_mask`).

    Built from one method (taking its ``_tensor_name``) or from several; PyTorch reads
    ``self._tensor_name`` before setting it in the second case, so ``PruningContainer(m1, m2)``
    raises ``AttributeError`` there, and does here too.
    """

    def __init__(self, *args: BasePruningMethod) -> None:
        self._pruning_methods: tuple[BasePruningMethod, ...] = ()
        if len(args) == 1:
            self._tensor_name = args[0]._tensor_name
            self.add_pruning_method(args[0])
        else:
            for method in args:
                self.add_pruning_method(method)

    def add_pruning_method(self, method: BasePruningMethod) -> None:
        r"""Append ``method``, which must act on this container's tensor name."""
        if not isinstance(method, BasePruningMethod) and method is not None:
            raise TypeError(f"{type(method)} is not a BasePruningMethod subclass")
        elif method is not None and self._tensor_name != method._tensor_name:
            raise ValueError("Can only add pruning methods acting on "
                             f"the parameter named '{self._tensor_name}' to PruningContainer {self}."
                             f" Found '{method._tensor_name}'")
        self._pruning_methods += (method,)

    def __len__(self) -> int:
        return len(self._pruning_methods)

    def __iter__(self):
        return iter(self._pruning_methods)

    def __getitem__(self, idx: Any) -> Any:
        return self._pruning_methods[idx]

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        r"""The latest method's mask, computed on the part of ``t`` still unpruned, written into
        a copy of ``default_mask`` (PyTorch's ``_combine_masks``):

        * ``"unstructured"``: on the entries where ``default_mask == 1`` (flattened);
        * ``"structured"``: on the channels along ``method.dim`` not yet entirely zero;
        * ``"global"``: on the whole tensor.
        """

        def _combine_masks(method, t, mask):
            new_mask = mask.to(dtype=t.dtype)
            if method.PRUNING_TYPE == "unstructured":
                slc = mask == 1
            elif method.PRUNING_TYPE == "structured":
                if not hasattr(method, "dim"):
                    raise AttributeError('Pruning methods of PRUNING_TYPE "structured" need to have the '
                                         "attribute `dim` defined.")
                n_dims = t.dim()
                dim = method.dim
                if dim < 0:
                    dim = n_dims + dim
                if dim < 0:
                    raise IndexError(f"Index is out of bounds for tensor with dimensions {n_dims}")
                # a channel is gone when all of its mask entries are 0
                keep_channel = mask.sum(dim=[d for d in range(n_dims) if d != dim]) != 0
                slc = [slice(None)] * n_dims
                slc[dim] = keep_channel
            elif method.PRUNING_TYPE == "global":
                slc = [slice(None)] * len(t.shape)
            else:
                raise ValueError(f"Unrecognized PRUNING_TYPE {method.PRUNING_TYPE}")
            if isinstance(slc, list):
                slc = tuple(slc)
            partial_mask = method.compute_mask(t[slc], default_mask=mask[slc])
            new_mask[slc] = partial_mask.to(dtype=new_mask.dtype)
            return new_mask

        method = self._pruning_methods[-1]
        return _combine_masks(method, t, default_mask)


class Identity(BasePruningMethod):
    r"""Installs the pruning re-parametrization with a mask of ones (prunes nothing)."""

    PRUNING_TYPE = "unstructured"

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        return default_mask

    @classmethod
    def apply(cls, module: Module, name: str) -> "Identity":  # type: ignore[override]
        r"""Re-parametrize ``module.<name>`` with a mask of ones."""
        return super().apply(module, name)


class RandomUnstructured(BasePruningMethod):
    r"""Prune ``amount`` (currently unpruned) entries chosen uniformly at random: the entries
    where ``rand_like(t)`` is largest (``topk``), from edunn's generator."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: int | float) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        tensor_size = t.nelement()
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)
        mask = default_mask.clone(memory_format=edunn.contiguous_format)
        if nparams_toprune != 0:  # topk with k=0 is legal, but PyTorch skips it
            prob = edunn.rand_like(t)
            topk = edunn.topk(prob.view(-1), k=nparams_toprune)
            mask.view(-1)[topk.indices] = 0
        return mask

    @classmethod
    def apply(cls, module: Module, name: str, amount: int | float) -> "RandomUnstructured":  # type: ignore[override]
        r"""Prune ``amount`` random entries of ``module.<name>``."""
        return super().apply(module, name, amount=amount)


class L1Unstructured(BasePruningMethod):
    r"""Prune the ``amount`` (currently unpruned) entries of smallest absolute value:
    ``topk(|t|.view(-1), k, largest=False)``."""

    PRUNING_TYPE = "unstructured"

    def __init__(self, amount: int | float) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        tensor_size = t.nelement()
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)
        mask = default_mask.clone(memory_format=edunn.contiguous_format)
        if nparams_toprune != 0:
            topk = edunn.topk(edunn.abs(t).view(-1), k=nparams_toprune, largest=False)
            mask.view(-1)[topk.indices] = 0
        return mask

    @classmethod
    def apply(cls, module: Module, name: str, amount: int | float,  # type: ignore[override]
              importance_scores: Tensor | None = None) -> "L1Unstructured":
        r"""Prune the ``amount`` smallest-magnitude entries of ``module.<name>`` (or of
        ``importance_scores``, same shape, when given)."""
        return super().apply(module, name, amount=amount, importance_scores=importance_scores)


class RandomStructured(BasePruningMethod):
    r"""Prune ``amount`` whole channels along ``dim`` (default: the last) at random: the channels
    whose ``rand(nchannels)`` value is at most the ``amount``-th smallest (``kthvalue``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        r"""Zero ``amount`` random channels of ``t`` along ``self.dim`` on top of
        ``default_mask``.  Raises ``ValueError`` for a 1-D ``t`` and ``IndexError`` when
        ``self.dim >= t.dim()``."""
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        tensor_size = t.shape[self.dim]
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        _validate_pruning_amount(nparams_toprune, tensor_size)

        def make_mask(t, dim, nchannels, nchannels_toprune):
            # PyTorch draws on the default (CPU) device; we draw on t's, so that the boolean
            # index below lives on the same device as the mask it indexes
            prob = edunn.rand(nchannels, device=t.device)
            threshold = edunn.kthvalue(prob, k=nchannels_toprune).values
            channel_mask = prob > threshold
            mask = edunn.zeros_like(t)
            slc = [slice(None)] * len(t.shape)
            slc[dim] = channel_mask
            mask[tuple(slc)] = 1
            return mask

        if nparams_toprune == 0:  # kthvalue needs k >= 1
            return default_mask
        mask = make_mask(t, self.dim, tensor_size, nparams_toprune)
        mask *= default_mask.to(dtype=mask.dtype)  # on top of the earlier (maybe unstructured) mask
        return mask

    @classmethod
    def apply(cls, module: Module, name: str, amount: int | float, dim: int = -1) -> "RandomStructured":  # type: ignore[override]  # noqa: E501
        r"""Prune ``amount`` random channels of ``module.<name>`` along ``dim``."""
        return super().apply(module, name, amount=amount, dim=dim)


class LnStructured(BasePruningMethod):
    r"""Prune the ``amount`` whole channels along ``dim`` with the smallest L\ ``n`` norm
    (``n`` as ``p`` of :func:`edunn.norm`: a number, ``inf``, ``-inf``, ``'fro'``, ``'nuc'``),
    the norm taken over every other dimension.  It keeps the ``size - amount`` largest
    (``topk(norm, k, largest=True)``)."""

    PRUNING_TYPE = "structured"

    def __init__(self, amount: int | float, n: Any, dim: int = -1) -> None:
        _validate_pruning_amount_init(amount)
        self.amount = amount
        self.n = n
        self.dim = dim

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        r"""Zero the ``amount`` channels of least L\ ``n`` norm on top of ``default_mask``.
        Raises ``ValueError`` for a 1-D ``t`` and ``IndexError`` when ``self.dim >= t.dim()``."""
        _validate_structured_pruning(t)
        _validate_pruning_dim(t, self.dim)
        tensor_size = t.shape[self.dim]
        nparams_toprune = _compute_nparams_toprune(self.amount, tensor_size)
        nparams_tokeep = tensor_size - nparams_toprune
        _validate_pruning_amount(nparams_toprune, tensor_size)
        norm = _compute_norm(t, self.n, self.dim)
        topk = edunn.topk(norm, k=nparams_tokeep, largest=True)

        def make_mask(t, dim, indices):
            mask = edunn.zeros_like(t)
            slc = [slice(None)] * len(t.shape)
            slc[dim] = indices  # e.g. mask[:, :, [0, 2, 3]] = 1
            mask[tuple(slc)] = 1
            return mask

        if nparams_toprune == 0:
            return default_mask
        mask = make_mask(t, self.dim, topk.indices)
        mask *= default_mask.to(dtype=mask.dtype)
        return mask

    @classmethod
    def apply(cls, module: Module, name: str, amount: int | float, n: Any, dim: int,  # type: ignore[override]
              importance_scores: Tensor | None = None) -> "LnStructured":
        r"""Prune the ``amount`` channels of ``module.<name>`` along ``dim`` of least
        L\ ``n`` norm (of ``importance_scores`` when given)."""
        return super().apply(module, name, amount=amount, n=n, dim=dim, importance_scores=importance_scores)


class CustomFromMask(BasePruningMethod):
    r"""Prune with a given ``mask`` (same shape as the parameter): the new mask is
    ``default_mask * mask``."""

    PRUNING_TYPE = "global"

    def __init__(self, mask: Tensor) -> None:
        self.mask = mask

    def compute_mask(self, t: Tensor, default_mask: Tensor) -> Tensor:
        if default_mask.shape != self.mask.shape:
            raise AssertionError(f"default_mask shape {default_mask.shape} must match "
                                 f"self.mask shape {self.mask.shape}")
        return default_mask * self.mask.to(dtype=default_mask.dtype)

    @classmethod
    def apply(cls, module: Module, name: str, mask: Tensor) -> "CustomFromMask":  # type: ignore[override]
        r"""Prune ``module.<name>`` with ``mask``."""
        return super().apply(module, name, mask=mask)


# ---------------------------------------------------------------------------- functions
def identity(module: Module, name: str) -> Module:
    r"""Re-parametrize ``module.<name>`` as ``<name>_orig`` times a mask of ones
    (``<name>_mask``) without pruning anything.  Returns ``module``."""
    Identity.apply(module, name)
    return module


def random_unstructured(module: Module, name: str, amount: int | float) -> Module:
    r"""Prune ``amount`` (an ``int`` count or a ``float`` fraction) of the currently unpruned
    entries of ``module.<name>``, chosen at random.  Adds the buffer ``<name>_mask``, moves the
    parameter to ``<name>_orig``.  Returns ``module``."""
    RandomUnstructured.apply(module, name, amount)
    return module


def l1_unstructured(module: Module, name: str, amount: int | float,
                    importance_scores: Tensor | None = None) -> Module:
    r"""Prune the ``amount`` currently unpruned entries of ``module.<name>`` of smallest absolute
    value (of ``importance_scores`` when given).  ``state_dict`` then holds ``<name>_orig`` and
    ``<name>_mask``.  Returns ``module``."""
    L1Unstructured.apply(module, name, amount=amount, importance_scores=importance_scores)
    return module


def random_structured(module: Module, name: str, amount: int | float, dim: int) -> Module:
    r"""Prune ``amount`` random (currently unpruned) channels of ``module.<name>`` along ``dim``.
    Returns ``module``."""
    RandomStructured.apply(module, name, amount, dim)
    return module


def ln_structured(module: Module, name: str, amount: int | float, n: Any, dim: int,
                  importance_scores: Tensor | None = None) -> Module:
    r"""Prune the ``amount`` (currently unpruned) channels of ``module.<name>`` along ``dim`` of
    smallest L\ ``n`` norm.  Returns ``module``."""
    LnStructured.apply(module, name, amount, n, dim, importance_scores=importance_scores)
    return module


def global_unstructured(parameters: Iterable, pruning_method: Any, importance_scores: dict | None = None,
                        **kwargs: Any) -> None:
    r"""Prune several parameters together: the entries to prune are chosen among all of them.

    ``parameters`` is an iterable of ``(module, name)`` pairs (iterated more than once, so not a
    generator), ``pruning_method`` an unstructured method class (``L1Unstructured``), ``kwargs``
    its arguments (``amount=``: a count or a fraction of all entries together).  The scores (the
    tensors, or ``importance_scores[(module, name)]``) and the existing masks are flattened into
    one vector each, a :class:`PruningContainer` computes the new mask on the still-unpruned
    entries, and each parameter gets its slice through :func:`custom_from_mask`.

    Raises:
        TypeError: if ``parameters`` is not iterable, ``importance_scores`` not a dict, or the
            method's ``PRUNING_TYPE`` is not ``"unstructured"``.
    """
    if not isinstance(parameters, Iterable):
        raise TypeError("global_unstructured(): parameters is not an Iterable")
    importance_scores = importance_scores if importance_scores is not None else {}
    if not isinstance(importance_scores, dict):
        raise TypeError("global_unstructured(): importance_scores must be of type dict")

    relevant_importance_scores = parameters_to_vector(
        [importance_scores.get((module, name), getattr(module, name)) for (module, name) in parameters])
    default_mask = parameters_to_vector(
        [getattr(module, name + "_mask", edunn.ones_like(getattr(module, name))) for (module, name) in parameters])

    container = PruningContainer()
    container._tensor_name = "temp"
    method = pruning_method(**kwargs)
    method._tensor_name = "temp"
    if method.PRUNING_TYPE != "unstructured":
        raise TypeError('Only "unstructured" PRUNING_TYPE supported for the `pruning_method`. '
                        f"Found method {pruning_method} of type {method.PRUNING_TYPE}")
    container.add_pruning_method(method)
    final_mask = container.compute_mask(relevant_importance_scores, default_mask)

    pointer = 0  # each parameter takes its slice of the flat mask, in order
    for module, name in parameters:
        param = getattr(module, name)
        custom_from_mask(module, name, mask=final_mask[pointer:pointer + param.numel()].view_as(param))
        pointer += param.numel()


def custom_from_mask(module: Module, name: str, mask: Tensor) -> Module:
    r"""Prune ``module.<name>`` with the given 0/1 ``mask`` (combined with any earlier mask).
    Returns ``module``."""
    CustomFromMask.apply(module, name, mask)
    return module


def remove(module: Module, name: str) -> Module:
    r"""Make the pruning of ``module.<name>`` permanent and take its hook off: ``<name>`` is a
    Parameter again (holding the pruned values), ``<name>_orig`` and ``<name>_mask`` are gone.

    Raises:
        ValueError: if ``module.<name>`` is not pruned.
    """
    for k, hook in module._forward_pre_hooks.items():
        if isinstance(hook, BasePruningMethod) and hook._tensor_name == name:
            hook.remove(module)
            del module._forward_pre_hooks[k]
            return module
    raise ValueError(f"Parameter '{name}' of module {module} has to be pruned before pruning can be removed")


def is_pruned(module: Module) -> bool:
    r"""Whether ``module`` or any submodule has a pruning method among its forward pre-hooks."""
    for _, submodule in module.named_modules():
        for hook in submodule._forward_pre_hooks.values():
            if isinstance(hook, BasePruningMethod):
                return True
    return False
