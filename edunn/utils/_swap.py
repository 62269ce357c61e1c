"""``edunn.utils.swap_tensors`` and ``edunn.utils.set_module`` (from ``torch.utils``).

``swap_tensors(t1, t2)`` exchanges everything two tensor objects hold -- their class (a
``Parameter`` stays a ``Parameter`` only if it is one of the pair), their ``__dict__`` (Python
attributes, ``.grad``, hooks) and their slots (the array, ``requires_grad``, ``grad_fn`` ...) --
so that ``t1`` *is* now what ``t2`` was, while every reference to the object ``t1`` (a module's
``_parameters``, an optimizer's ``param_groups``) keeps pointing at it.  ``nn.Module._apply``
uses this in PyTorch to change a parameter's device or dtype in place.  PyTorch additionally
swaps the C++ tensors they wrap and refuses tensors its C++ side holds more references to; an
edunn tensor has no C++ side, so the Python-level swap is the whole story.
"""
from __future__ import annotations

import copyreg
import weakref
from typing import Any

__all__ = ["swap_tensors", "set_module"]


def swap_tensors(t1: Any, t2: Any) -> None:
    """Swap the contents of tensors ``t1`` and ``t2`` in place (their identities stay)."""
    if weakref.getweakrefs(t1):
        raise RuntimeError("Cannot swap t1 because it has weakref associated with it")
    if weakref.getweakrefs(t2):
        raise RuntimeError("Cannot swap t2 because it has weakref associated with it")
    t1_slots = set(copyreg._slotnames(t1.__class__))
    t2_slots = set(copyreg._slotnames(t2.__class__))
    if t1_slots != t2_slots:
        raise RuntimeError("Cannot swap t1 and t2 if they have different slots")

    def swap_attr(name: str) -> None:
        tmp = getattr(t1, name)
        setattr(t1, name, getattr(t2, name))
        setattr(t2, name, tmp)

    swap_attr("__class__")
    swap_attr("__dict__")
    for slot in t1_slots:
        if hasattr(t1, slot) and hasattr(t2, slot):
            swap_attr(slot)
        elif hasattr(t1, slot):
            setattr(t2, slot, getattr(t1, slot))
            delattr(t1, slot)
        elif hasattr(t2, slot):
            setattr(t1, slot, getattr(t2, slot))
            delattr(t2, slot)


def set_module(obj: Any, mod: str) -> None:
    """Set ``obj.__module__`` to ``mod``, so that it prints under the public module's name."""
    if not isinstance(mod, str):
        raise TypeError("The mod argument should be a string")
    obj.__module__ = mod
