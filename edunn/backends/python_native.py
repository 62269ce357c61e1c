"""``edunn.backends.python_native`` (``torch.backends.python_native``): switches for the
operator overrides PyTorch can take from Python kernel languages ("DSLs": Triton, CuTeDSL).

PyTorch keeps a registry of DSLs and of the ops each one overrides, and a filter state: the
DSLs, op names and dispatch keys that are disabled.  edunn knows the same two DSLs, neither of
which it can run (``available_dsls`` is empty, each controller says "unavailable", and no DSL
registers any op), and keeps the same filter state, so enabling/disabling and the context
managers behave as in PyTorch.
"""
from __future__ import annotations

import functools
from contextlib import contextmanager

from . import PropModule, _install, flags_frozen

_ALL_DSLS = ["cutedsl", "triton"]
_disabled: dict[str, set] = {"dsls": set(), "ops": set(), "dispatch_keys": set()}


def _check_dsl(dsl_name: str) -> None:
    if dsl_name not in _ALL_DSLS:
        raise ValueError(f"Unknown DSL: {dsl_name}. Available DSLs: {_ALL_DSLS}")


class DSLController:
    """``torch.backends.python_native.triton``: one DSL's switch (``enabled``, ``disable()``,
    ``enable()``, ``with disabled():``) and facts (``available``, ``version``)."""

    def __init__(self, dsl_name: str) -> None:
        self._dsl_name = dsl_name

    @property
    def name(self) -> str:
        return self._dsl_name

    @property
    def available(self) -> bool:
        """Whether the DSL's runtime can run here: never, in edunn."""
        return False

    @property
    def version(self) -> None:
        return None

    @property
    def enabled(self) -> bool:
        return self._dsl_name not in _disabled["dsls"]

    @enabled.setter
    def enabled(self, value: bool) -> None:
        if flags_frozen():
            raise RuntimeError(f"not allowed to set {self._dsl_name} DSL flags after disable_global_flags; "
                               "please use flags() context manager instead")
        self.enable() if value else self.disable()

    def disable(self) -> None:
        _check_dsl(self._dsl_name)
        _disabled["dsls"].add(self._dsl_name)

    def enable(self) -> None:
        _disabled["dsls"].discard(self._dsl_name)

    @contextmanager
    def disabled(self):
        original_state = self.enabled
        try:
            self.disable()
            yield
        finally:
            if original_state:
                self.enable()

    def __repr__(self) -> str:
        status = "available" if self.available else "unavailable"
        return f"DSLController({self._dsl_name}, {status}, {'enabled' if self.enabled else 'disabled'})"


class PythonNativeModule(PropModule):
    """The module's class: DSL controllers as attributes, and the op/dispatch-key filters."""

    @property
    def available_dsls(self) -> list[str]:
        """The DSLs whose runtime is available: none in edunn."""
        return [name for name in _ALL_DSLS if self._get_dsl_controller(name).available]

    @property
    def all_dsls(self) -> list[str]:
        return list(_ALL_DSLS)

    def get_dsl_operations(self, dsl_name: str) -> list[str]:
        """The ops ``dsl_name`` overrides: none (edunn registers no DSL kernels)."""
        _check_dsl(dsl_name)
        return []

    def disable_operations(self, *op_symbols: str) -> None:
        """Turn off the DSL overrides of these ops, in every DSL."""
        _disabled["ops"].update(op_symbols)

    def enable_operations(self, *op_symbols: str) -> None:
        _disabled["ops"].difference_update(op_symbols)

    def disable_dispatch_keys(self, *dispatch_keys: str) -> None:
        """Turn off the DSL overrides registered for these dispatch keys ("CUDA", ...)."""
        _disabled["dispatch_keys"].update(dispatch_keys)

    def enable_dispatch_keys(self, *dispatch_keys: str) -> None:
        _disabled["dispatch_keys"].difference_update(dispatch_keys)

    @contextmanager
    def operations_disabled(self, *op_symbols: str):
        """Disable these ops for the block; re-enable those that were enabled before."""
        previously_disabled_ops = {op for op in op_symbols if op in _disabled["ops"]}
        self.disable_operations(*op_symbols)
        try:
            yield
        finally:
            ops_to_reenable = [op for op in op_symbols if op not in previously_disabled_ops]
            if ops_to_reenable:
                self.enable_operations(*ops_to_reenable)

    @functools.lru_cache(maxsize=16)  # noqa: B019  (one controller per name, as PyTorch)
    def _get_dsl_controller(self, name: str) -> DSLController:
        return DSLController(name)

    def is_operation_disabled(self, op_symbol: str) -> bool:
        return op_symbol in _disabled["ops"]

    def is_dsl_disabled(self, dsl_name: str) -> bool:
        return dsl_name in _disabled["dsls"]

    def __getattr__(self, name: str):
        if name in _ALL_DSLS:
            return self._get_dsl_controller(name)
        raise AttributeError(f"module '{self.__name__}' has no attribute '{name}'")

    def __dir__(self) -> list[str]:
        return sorted(set(super().__dir__()) | set(_ALL_DSLS) | {"available_dsls", "all_dsls"})


_install(__name__, PythonNativeModule)
