"""``edunn.cuda.random`` (``torch.cuda.random``): the CUDA devices' default generators.

Each device has one ``edunn.Generator`` (``backend.default_generator``), seeded and saved
here.  Without a GPU the seeding functions do nothing (PyTorch's behaviour, so "seed
everything" scripts run anywhere) and the state functions raise.
"""
from __future__ import annotations

from typing import Any

from .. import backend

__all__ = ["get_rng_state", "get_rng_state_all", "set_rng_state", "set_rng_state_all", "manual_seed",
           "manual_seed_all", "seed", "seed_all", "initial_seed"]


def _generator(device: Any = "cuda", what: str = "get_rng_state") -> Any:
    from . import _index, _require, current_device
    _require(what)
    index = _index(device if device != "cuda" else None)
    return backend.default_generator(backend.device("cuda", current_device() if index is None else index))


def get_rng_state(device: Any = "cuda") -> dict:
    """The state of ``device``'s default generator (a dict; ``set_rng_state`` restores it)."""
    return _generator(device).get_state()


def set_rng_state(new_state: dict, device: Any = "cuda") -> None:
    """Restore a state that ``get_rng_state`` returned: the random stream continues exactly."""
    _generator(device, "set_rng_state").set_state(new_state)


def get_rng_state_all() -> list:
    """The states of every device's default generator, in device order."""
    from . import device_count
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states: list) -> None:
    """Restore every device's generator from :func:`get_rng_state_all`'s list."""
    for index, state in enumerate(new_states):
        set_rng_state(state, index)


def seed() -> None:
    """Seed the current device's generator with a random number (nothing without CUDA)."""
    from . import is_available
    if is_available():
        _generator().seed()


def seed_all() -> None:
    """Seed every device's generator with one random number (nothing without CUDA)."""
    from . import is_available, manual_seed_all
    if is_available():
        manual_seed_all(backend.default_generator(backend.device("cuda", 0)).seed())


def initial_seed() -> int:
    """The seed of the current device's generator."""
    return _generator(what="initial_seed").initial_seed()


from . import manual_seed, manual_seed_all  # noqa: E402,F401  (defined in edunn.cuda, listed here as PyTorch)
