"""``edunn.cuda``: ask about the GPUs, as ``torch.cuda`` does.

Everything goes through ``backend.py`` (CuPy underneath).  Without CuPy or a GPU,
``is_available()`` is False and ``device_count()`` is 0; the seeding functions do nothing (as
PyTorch's, so a script that seeds "everything" runs on a laptop); the functions that need a
device raise ``RuntimeError`` saying CUDA is not available.  Lesson 18 (GPUs) uses this module.
"""
from __future__ import annotations

from typing import Any

from . import backend

__all__ = ["is_available", "device_count", "current_device", "set_device", "synchronize",
           "manual_seed", "manual_seed_all", "memory_allocated", "memory_reserved", "empty_cache",
           "get_device_name", "get_rng_state", "set_rng_state", "get_rng_state_all",
           "set_rng_state_all", "seed", "seed_all", "initial_seed", "get_device_properties",
           "get_device_capability", "mem_get_info"]


def _index(device: Any) -> int | None:
    """``None``, an int, ``"cuda:1"`` or ``edunn.device("cuda", 1)`` -> a device index."""
    if device is None or isinstance(device, int):
        return device
    dev = backend.device(device)
    if dev.type != "cuda":
        raise ValueError(f"Expected a cuda device, but got: {dev}")
    return dev.index


def is_available() -> bool:
    """True when CuPy is installed and sees at least one CUDA device."""
    return backend.cuda_available()


def device_count() -> int:
    """How many CUDA devices there are (0 without CuPy or a GPU)."""
    return backend.cuda_device_count()


def current_device() -> int:
    """The index of the device that ``"cuda"`` means now."""
    return backend.cuda_current_device()


def set_device(device: Any) -> None:
    """Make ``device`` the one that ``"cuda"`` means."""
    backend.cuda_set_device(_index(device))


def synchronize(device: Any = None) -> None:
    """Wait until every kernel queued on ``device`` (default: the current one) has finished --
    needed before reading a clock to time GPU code."""
    backend.cuda_synchronize(_index(device))


def manual_seed(seed: int) -> None:
    """Seed the default generator of the current CUDA device (nothing without CUDA)."""
    if is_available():
        index = current_device()
        backend.default_generator(backend.device("cuda", index)).manual_seed(seed)


def manual_seed_all(seed: int) -> None:
    """Seed the default generator of every CUDA device (nothing without CUDA)."""
    for index in range(device_count()):
        backend.default_generator(backend.device("cuda", index)).manual_seed(seed)


def memory_allocated(device: Any = None) -> int:
    """Bytes occupied by tensors on ``device`` (CuPy's memory pool, ``used_bytes``)."""
    return backend.cuda_memory_allocated(_index(device))


def memory_reserved(device: Any = None) -> int:
    """Bytes held by the caching allocator on ``device``, in use or cached (``total_bytes``)."""
    return backend.cuda_memory_reserved(_index(device))


def empty_cache() -> None:
    """Give cached, unused GPU memory back to the driver (nothing without CuPy)."""
    backend.cuda_empty_cache()


class _CudaDeviceProperties:
    """What ``get_device_properties`` returns: PyTorch's field names."""

    def __init__(self, props: dict) -> None:
        name = props["name"]
        self.name = name.decode() if isinstance(name, bytes) else str(name)
        self.major, self.minor = int(props["major"]), int(props["minor"])
        self.total_memory = int(props["totalGlobalMem"])
        self.multi_processor_count = int(props["multiProcessorCount"])

    def __repr__(self) -> str:
        return (f"_CudaDeviceProperties(name='{self.name}', major={self.major}, minor={self.minor}, "
                f"total_memory={self.total_memory // (1024 * 1024)}MB, "
                f"multi_processor_count={self.multi_processor_count})")


def get_device_properties(device: Any = None) -> _CudaDeviceProperties:
    """Name, compute capability, memory and multiprocessor count of a device."""
    return _CudaDeviceProperties(backend.cuda_device_properties(_index(device)))


def get_device_capability(device: Any = None) -> tuple:
    """The compute capability ``(major, minor)``, e.g. ``(9, 0)`` for an H100."""
    props = get_device_properties(device)
    return props.major, props.minor


def mem_get_info(device: Any = None) -> tuple:
    """``(free, total)`` bytes of the device's memory, from the driver."""
    return backend.cuda_mem_get_info(_index(device))


def get_device_name(device: Any = None) -> str:
    """The GPU's name, e.g. ``'NVIDIA H100 80GB HBM3'``."""
    return backend.cuda_device_name(_index(device))


def _generator(device: Any = "cuda", what: str = "get_rng_state") -> Any:
    backend._require_cuda(what)
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
    return [get_rng_state(i) for i in range(device_count())]


def set_rng_state_all(new_states: list) -> None:
    for index, state in enumerate(new_states):
        set_rng_state(state, index)


def seed() -> None:
    """Seed the current device's generator with a random number (nothing without CUDA)."""
    if is_available():
        _generator().seed()


def seed_all() -> None:
    """Seed every device's generator with one random number (nothing without CUDA)."""
    if is_available():
        manual_seed_all(backend.default_generator(backend.device("cuda", 0)).seed())


def initial_seed() -> int:
    """The seed of the current device's generator."""
    return _generator(what="initial_seed").initial_seed()
