"""``edunn.random``: the default CPU generator and ``fork_rng``, as ``torch.random``.

Every random op (``rand``, ``dropout``, ``randperm`` ...) draws from a per-device
:class:`edunn.Generator` kept in ``backend.py`` (NumPy's PCG64 on the CPU, CuPy's generator on a
GPU).  This module is the user-facing door to the CPU one:

* ``manual_seed(s)`` reseeds the CPU generator and every CUDA device's (so one call makes a
  whole script reproducible), ``seed()`` does the same with a fresh random seed,
  ``initial_seed()`` says which seed the CPU generator started from;
* ``get_rng_state()`` / ``set_rng_state(state)`` save and restore the CPU stream, so the same
  "random" numbers come again -- PyTorch returns a ``ByteTensor``, edunn NumPy's generator
  state as a plain dict (see the README);
* ``fork_rng()`` is a context manager that saves the CPU state (and the CUDA devices' states)
  on entry and puts them back on exit, so code inside may draw or reseed freely without
  disturbing the random stream of the code around it.

Lesson 01 (tensors) seeds generators; lesson 08 (dropout) relies on reproducible draws.
"""
from __future__ import annotations

import contextlib
import warnings
from collections.abc import Generator as _GeneratorType
from typing import Any

from . import backend
from .backend import manual_seed, seed, initial_seed  # noqa: F401  (one implementation each)

__all__ = ["set_rng_state", "get_rng_state", "manual_seed", "seed", "initial_seed", "fork_rng",
           "thread_safe_generator"]


def get_rng_state() -> dict:
    """The state of the default CPU generator (``torch.get_rng_state``).

    PyTorch returns it as a ``torch.ByteTensor``; edunn returns NumPy's bit-generator state, a
    dict, which ``set_rng_state`` accepts back.  Only the CPU generator: CUDA devices have
    ``edunn.cuda.get_rng_state``."""
    return backend.default_generator().get_state()


def set_rng_state(new_state: dict) -> None:
    """Restore the default CPU generator to ``new_state`` (what ``get_rng_state`` returned): the
    numbers drawn afterwards are the ones drawn after that call."""
    if not isinstance(new_state, dict):
        raise TypeError(f"expected the dict that edunn.get_rng_state() returned (PyTorch: a ByteTensor), "
                        f"but got {type(new_state).__name__}")
    backend.default_generator().set_state(new_state)


_fork_rng_warned_already = False


def _device_module(device_type: str) -> Any:
    """The per-device-type module with ``device_count``/``get_rng_state``/``set_rng_state``
    (``torch.get_device_module``): edunn has one accelerator, CUDA."""
    if device_type == "cuda":
        from . import cuda
        return cuda
    if device_type == "cpu":
        raise RuntimeError("fork_rng(device_type='cpu'): the CPU generator is always forked; "
                           "device_type names the accelerator whose generators are forked too ('cuda')")
    raise RuntimeError(f"edunn has no module of `{device_type}` (the only accelerator edunn knows is "
                       "'cuda'), so its random generators cannot be forked")


@contextlib.contextmanager
def fork_rng(devices=None, enabled=True, _caller="fork_rng", _devices_kw="devices",
             device_type=None) -> _GeneratorType:
    """Fork the random generators: on exit they are back in the state they had on entry.

    The CPU generator is always forked; so are the generators of the CUDA ``devices`` (indices;
    by default every visible device, with a warning when there is more than one, because saving
    each device's state is slow -- pass ``devices=[]`` or the indices you use to silence it).
    ``enabled=False`` makes this a no-op, to switch forking off without re-indenting code.
    ``device_type`` is the accelerator whose generators are forked (``None`` means CUDA, the only
    one edunn has; ``"meta"`` forks nothing, as PyTorch).  ``_caller`` and ``_devices_kw`` only
    name the function and argument in the warning, for wrappers such as
    ``edunn.utils.checkpoint``.

    How: ``get_rng_state()`` and each device's state are saved before the body runs and
    restored in a ``finally`` block, so an exception inside still restores them."""
    if device_type == "meta":
        yield
        return
    device_type = device_type or "cuda"
    device_mod = _device_module(device_type)
    global _fork_rng_warned_already
    if not enabled:
        yield
        return
    if devices is None:
        num_devices = device_mod.device_count()
        if num_devices > 1 and not _fork_rng_warned_already:
            kind = device_type.upper()
            warnings.warn(
                f"{kind} reports that you have {num_devices} available devices, and you have used {_caller} "
                f"without explicitly specifying which devices are being used. For safety, we initialize *every* "
                f"{kind} device by default, which can be quite slow if you have a lot of {kind}s. If you know "
                f"that you are only making use of a few {kind} devices, set the environment variable "
                f"{kind}_VISIBLE_DEVICES or the '{_devices_kw}' keyword argument of {_caller} with the set of "
                f"devices you are actually using. For example, if you are using CPU only, set "
                f"{kind}_VISIBLE_DEVICES= or devices=[]; if you are using device 0 only, set "
                f"{kind}_VISIBLE_DEVICES=0 or devices=[0].  To initialize all devices and suppress this "
                f"warning, set the '{_devices_kw}' keyword argument to "
                f"`range(edunn.{device_type}.device_count())`.", stacklevel=2)
            _fork_rng_warned_already = True
        devices = list(range(num_devices))
    else:
        devices = list(devices)  # a generator would be exhausted by the first pass
    cpu_rng_state = get_rng_state()
    device_rng_states = [device_mod.get_rng_state(device) for device in devices]
    try:
        yield
    finally:
        set_rng_state(cpu_rng_state)
        for device, device_rng_state in zip(devices, device_rng_states):
            device_mod.set_rng_state(device_rng_state, device)


def thread_safe_generator() -> "backend.Generator | None":
    """The generator that code running inside a ``DataLoader`` *thread* worker should pass as
    ``generator=``, so that threads do not share (and race on) the global one.

    PyTorch returns the thread worker's own ``torch.Generator`` there and ``None`` everywhere
    else (``None`` makes random functions use the default generator).  edunn's ``DataLoader``
    workers are processes or in-process simulations, never threads, so this returns the
    worker's generator only when a worker says it is a thread worker that carries one, and
    otherwise ``None`` -- the same answer PyTorch gives outside thread workers."""
    from .utils.data import get_worker_info
    worker_info = get_worker_info()
    if (worker_info is not None and getattr(worker_info, "worker_method", None) == "thread"
            and getattr(worker_info, "rng", None) is not None):
        return worker_info.rng.torch_generator
    return None
