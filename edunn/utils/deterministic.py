"""``edunn.utils.deterministic``: the ``fill_uninitialized_memory`` switch
(``torch.utils.deterministic``).

In PyTorch, when ``use_deterministic_algorithms(True)`` is on and this flag is True (the
default), ``torch.empty`` and friends fill their memory with NaN (or an integer type's largest
value) so that reading it by mistake gives the same result on every run.  edunn's ``empty``
always returns zeros, which is deterministic already, so the flag is stored and reported (as
``edunn.utils.deterministic.fill_uninitialized_memory``) and changes nothing else.

The module's class is swapped for one with a property, as PyTorch does, so that assigning the
attribute goes through a setter that checks the value.
"""
import sys
import types

_state = {"fill_uninitialized_memory": True}


class _Deterministic(types.ModuleType):
    @property
    def fill_uninitialized_memory(self) -> bool:
        """Whether to fill uninitialized memory with a known value when
        :func:`edunn.use_deterministic_algorithms` is ``True``."""
        return _state["fill_uninitialized_memory"]

    @fill_uninitialized_memory.setter
    def fill_uninitialized_memory(self, mode: bool) -> None:
        if not isinstance(mode, bool):
            raise RuntimeError(f"expected a bool, but got {type(mode).__name__}")
        _state["fill_uninitialized_memory"] = mode


sys.modules[__name__].__class__ = _Deterministic
