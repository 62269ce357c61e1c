"""Anomaly detection: name the op whose backward produced a NaN, and where it was created."""
from __future__ import annotations

import warnings

from .grad_mode import state


class detect_anomaly:
    """Inside, every op records the stack of its forward call, and a backward that returns NaN
    raises ``RuntimeError("Function 'LogBackward' returned nan values in its 0th output. ...")``
    with that stack.  Slow: for debugging only."""

    def __init__(self, check_nan: bool = True) -> None:
        self.check_nan = check_nan
        self.prev = (False, True)
        warnings.warn("Anomaly Detection has been enabled. This mode will increase the runtime "
                      "and should only be enabled for debugging.", stacklevel=2)

    def __enter__(self) -> None:
        self.prev = (state.anomaly, state.anomaly_check_nan)
        state.anomaly, state.anomaly_check_nan = True, self.check_nan

    def __exit__(self, *exc) -> None:
        state.anomaly, state.anomaly_check_nan = self.prev


class set_detect_anomaly:
    """``set_detect_anomaly(True)`` as a call or a context manager."""

    def __init__(self, mode: bool, check_nan: bool = True) -> None:
        self.prev = (state.anomaly, state.anomaly_check_nan)
        state.anomaly, state.anomaly_check_nan = bool(mode), check_nan

    def __enter__(self) -> None:
        pass

    def __exit__(self, *exc) -> None:
        state.anomaly, state.anomaly_check_nan = self.prev


def is_anomaly_enabled() -> bool:
    return state.anomaly


def is_anomaly_check_nan_enabled() -> bool:
    return state.anomaly_check_nan
