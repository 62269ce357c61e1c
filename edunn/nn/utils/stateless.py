"""``torch.nn.utils.stateless``: call a module with *other* parameters and buffers.

``functional_call(model, {"weight": w, "bias": b}, x)`` runs ``model(x)`` as if ``model.weight``
were ``w`` and ``model.bias`` were ``b``, and leaves the model exactly as it was.  This turns a
stateful ``Module`` into a pure function of its parameters, which is what ``edunn.func.grad``
and ``edunn.func.vmap`` need (per-sample gradients, ensembles, meta-learning).

How PyTorch does it, and how we do: the module's state lives in the dicts ``_parameters`` and
``_buffers`` of each submodule (see ``edunn/nn/modules/module.py``).  For each dotted name
(``"layer1.0.weight"``) we find the submodule and put the given tensor in that dict entry,
remembering the original -- PyTorch's ``NamedMemberAccessor.swap_tensor``.  The given tensor need
not be a ``Parameter``: it is written to the dict directly, so ``self.weight`` returns it and
gradients flow back to it.  In a ``finally`` block the originals are swapped back, so the module
is restored even when its forward raises.

* ``tie_weights=True``: a tensor shared by two names in the module (an embedding tied to the
  output layer) stays shared -- the value given for one name is used for all of them; giving
  different values for tied names is an error.
* ``strict=True``: the names given must be exactly the module's parameters and buffers.
* A name that is neither a parameter nor a buffer becomes a plain attribute for the call.
* If the forward reassigns a parameter or buffer (``self.count = self.count + 1``), the new
  value is written back into the caller's dict, as in PyTorch.

``torch.nn.utils.stateless.functional_call`` is deprecated in PyTorch in favour of
``torch.func.functional_call`` (which also accepts a sequence of dicts); both exist here, and
the deprecated one warns with PyTorch's ``FutureWarning``.
"""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, Iterator

from ...tensor import Tensor

__all__ = ["functional_call"]

_MISSING = object()


def _swap_tensor(module: Any, name: str, tensor: Any) -> Any:
    """Put ``tensor`` at the dotted ``name`` of ``module``; return what was there (``_MISSING``
    if nothing).  ``tensor is _MISSING`` deletes the entry (used to restore a missing one)."""
    from ..modules.module import Module
    prefix, _, attr = name.rpartition(".")
    mod = module.get_submodule(prefix)
    if not isinstance(mod, Module):
        raise TypeError(f"{mod} is not an instance of torch.nn.Module")
    if tensor is not _MISSING and tensor is not None and not isinstance(tensor, Tensor):
        raise TypeError(f"{tensor} is not an instance of torch.Tensor")
    for store in (mod._parameters, mod._buffers):
        if attr in store:
            orig = store[attr]
            if tensor is _MISSING:
                del store[attr]
            else:
                store[attr] = tensor
            return orig
    orig = getattr(mod, attr) if hasattr(mod, attr) else _MISSING
    if orig is not _MISSING and orig is not None and not isinstance(orig, Tensor):
        raise TypeError(f"attribute `{attr}`: {orig} is not an instance of torch.Tensor")
    if tensor is not _MISSING:
        object.__setattr__(mod, attr, tensor)
    elif attr in mod.__dict__:
        object.__delattr__(mod, attr)
    return orig


def _named_tensors(module: Any) -> dict:
    """Every ``name -> tensor`` of the module, a shared tensor under each of its names."""
    named = dict(module.named_parameters(remove_duplicate=False))
    named.update(module.named_buffers(remove_duplicate=False))
    return named


def _untie_named_tensors_map(module: Any, parameters_and_buffers: dict) -> dict:
    """Extend the given dict to every name of each tied tensor (``{"foo": v}`` gives
    ``{"foo": v, "tied_foo": v}``); two different values for one tied tensor is an error."""
    names_of: dict[int, set] = {}
    tensors = _named_tensors(module)
    for name, t in tensors.items():
        names_of.setdefault(id(t), set()).add(name)
    tied = {name: names for names in names_of.values() if len(names) > 1 for name in names}
    given_tied = [name for name in parameters_and_buffers if name in tied]
    for name in given_tied:
        group = tied[name]
        if len(group.intersection(given_tied)) > 1 and \
                len({id(parameters_and_buffers[n]) for n in group if n in parameters_and_buffers}) != 1:
            raise ValueError(f"functional_call got multiple values for keys {sorted(group)}, "
                             f"which are tied. Consider using tie_weights=False")
    untied = dict(parameters_and_buffers)
    for name in given_tied:
        for other in tied[name]:
            untied[other] = parameters_and_buffers[name]
    return untied


@contextlib.contextmanager
def _reparametrize_module(module: Any, parameters_and_buffers: dict, tie_weights: bool = False,
                          strict: bool = False, stack_weights: bool = False) -> Iterator[None]:
    """Within the ``with`` block the module uses the given tensors; afterwards its own again."""
    values = _untie_named_tensors_map(module, parameters_and_buffers) if tie_weights \
        else parameters_and_buffers
    if strict:
        valid = set(_named_tensors(module))
        missing, unexpected = sorted(valid - set(values)), sorted(set(values) - valid)
        msgs = []
        if unexpected:
            msgs.append(f"Unexpected key(s): {', '.join(map(repr, unexpected))}.")
        if missing:
            msgs.append(f"Missing key(s): {', '.join(map(repr, missing))}.")
        if msgs:
            raise RuntimeError("Error(s) in reparametrizing for {}:\n\t{}".format(
                module._get_name(), "\n\t".join(msgs)))
    originals: dict = {}
    try:
        for name, tensor in values.items():
            originals[name] = _swap_tensor(module, name, tensor)
        yield
    finally:
        current = {}
        for name, orig in reversed(list(originals.items())):
            current[name] = _swap_tensor(module, name, orig)
        # a forward that reassigned a parameter/buffer: its new value goes to the caller's dict
        parameters_and_buffers.update({k: current[k] for k in parameters_and_buffers if k in current})


def _functional_call(module: Any, parameters_and_buffers: dict, args: Any = None,
                     kwargs: dict | None = None, *, tie_weights: bool = True,
                     strict: bool = False) -> Any:
    """The shared body of both ``functional_call``s: normalise ``args`` and call in the swap."""
    from ..parallel import DataParallel
    if isinstance(module, DataParallel):
        raise RuntimeError("The stateless API can't be used with nn.DataParallel module")
    kwargs = {} if kwargs is None else kwargs
    if args is None:
        args = ()
    elif not isinstance(args, tuple):
        args = (args,)
    with _reparametrize_module(module, parameters_and_buffers, tie_weights=tie_weights, strict=strict):
        return module(*args, **kwargs)


def functional_call(module: Any, parameters_and_buffers: dict, args: Any | tuple | None = None,
                    kwargs: dict | None = None, *, tie_weights: bool = True,
                    strict: bool = False) -> Any:
    """``module(*args, **kwargs)`` with its parameters and buffers replaced by
    ``parameters_and_buffers`` (a ``{dotted name: tensor}`` dict) for this one call.

    ``args`` that is not a tuple is a single argument.  Deprecated in PyTorch 2.0 in favour of
    :func:`edunn.func.functional_call`, which is the same call; this one warns as PyTorch's does.
    """
    warnings.warn("`torch.nn.utils.stateless.functional_call` is deprecated as of PyTorch 2.0 "
                  "and will be removed in a future version of PyTorch. "
                  "Please use `torch.func.functional_call` instead which is a drop-in replacement.",
                  FutureWarning, stacklevel=2)
    return _functional_call(module, parameters_and_buffers, args, kwargs,
                            tie_weights=tie_weights, strict=strict)
