"""The forward's state that ``edunn.utils.checkpoint`` replays in the re-run of a block (PyTorch
keeps these in ``torch/utils/checkpoint.py``): which devices the block's inputs live on, their
generators' states, so that the re-run draws the same random numbers (the same dropout masks) as
the forward did, and the autocast state, so that it casts as the forward did."""
from __future__ import annotations

import contextlib
import warnings
from typing import Any, List, Tuple

from ..tensor import Tensor


def _tensors_in(obj: Any) -> list:
    """The tensors inside nested lists, tuples and dicts (PyTorch's ``tree_map`` walk)."""
    if isinstance(obj, Tensor):
        return [obj]
    if isinstance(obj, (list, tuple)):
        return [t for o in obj for t in _tensors_in(o)]
    if isinstance(obj, dict):
        return [t for o in obj.values() for t in _tensors_in(o)]
    return []


class DefaultDeviceType:
    """The device type whose random state checkpointing saves when no input is on a GPU:
    ``"cuda"`` when a GPU is present, else ``"cpu"`` (PyTorch's current accelerator)."""

    _default_device_type: "str | None" = None

    @staticmethod
    def set_device_type(device: str = "cuda") -> None:
        DefaultDeviceType._default_device_type = device

    @staticmethod
    def get_device_type() -> str:
        if not DefaultDeviceType._default_device_type:
            from .. import cuda
            DefaultDeviceType._default_device_type = "cuda" if cuda.is_available() else "cpu"
        return DefaultDeviceType._default_device_type


def _infer_device_type(*args: Any) -> str:
    device_types = [t.device.type for t in _tensors_in(args) if t.device.type != "cpu"]
    kinds = set(device_types)
    if len(kinds) > 1:
        warnings.warn(
            "Tensor arguments, excluding CPU tensors, are detected on at least two types of devices. "
            "Device state will only be saved for devices of a single device type, and the remaining "
            "devices will be ignored. Consequently, if any checkpointed functions involve randomness, "
            "this may result in incorrect gradients. (Note that if CUDA devices are among the devices "
            "detected, it will be prioritized; otherwise, the first device encountered will be selected.)"
            f"\nDevice types: {sorted(kinds)} first device type: {device_types[0]}", stacklevel=2)
    if not device_types:
        return DefaultDeviceType.get_device_type()
    return "cuda" if "cuda" in kinds else device_types[0]


def _device_module(device_type: str) -> Any:
    if device_type != "cuda":
        raise ValueError(f"checkpoint: random states can be saved for 'cuda' devices only, "
                         f"got device type {device_type!r}")
    from .. import cuda
    return cuda


def get_device_states(*args: Any) -> Tuple[List[int], List[Any]]:
    """The GPU indices of the tensors in ``args`` (one entry per tensor, as PyTorch) and the
    random state of each of those GPUs' generators."""
    ids = [t.get_device() for t in _tensors_in(args) if t.device.type not in ("cpu", "meta")]
    if not ids:
        return [], []
    module = _device_module(_infer_device_type(*args))
    return ids, [module.get_rng_state(i) for i in ids]


def set_device_states(devices: Any, states: Any, *, device_type: "str | None" = None) -> None:
    """Restore the generator states ``get_device_states`` returned (``device_type`` defaults to
    :meth:`DefaultDeviceType.get_device_type`)."""
    if device_type is None:
        device_type = DefaultDeviceType.get_device_type()
    if device_type == "meta":
        return
    devices, states = list(devices), list(states)
    if not devices:
        return
    module = _device_module(device_type)
    for device, state in zip(devices, states):
        module.set_rng_state(state, device)


@contextlib.contextmanager
def _fork_rng(devices: list, enabled: bool, device_type: str):
    """Run the body, then put the CPU generator (and those of ``devices``) back as they were."""
    if not enabled:
        yield
        return
    import edunn
    cpu_state = edunn.get_rng_state()
    dev_states = [_device_module(device_type).get_rng_state(d) for d in devices] if devices else []
    try:
        yield
    finally:
        edunn.set_rng_state(cpu_state)
        for d, s in zip(devices, dev_states):
            _device_module(device_type).set_rng_state(s, d)


def _gpu_initialized() -> bool:
    """PyTorch saves GPU random states only once CUDA is initialised; with CuPy, once a GPU
    is present."""
    from .. import cuda
    return cuda.is_available()


class _RngStash:
    """The random states of one forward, to be restored for its re-run."""

    def __init__(self, preserve: bool, device_type: str, args: tuple):
        import edunn
        self.preserve, self.device_type = preserve, device_type
        self.had_device_in_fwd = False
        self.fwd_devices: list = []
        if preserve:
            self.fwd_cpu_state = edunn.get_rng_state()
            if device_type == "cuda" and _gpu_initialized():
                self.had_device_in_fwd = True
                self.fwd_devices, self.fwd_device_states = get_device_states(*args)

    @contextlib.contextmanager
    def restored(self):
        import edunn
        devices = self.fwd_devices if self.preserve and self.had_device_in_fwd else []
        with _fork_rng(devices, self.preserve, self.device_type):
            if self.preserve:
                edunn.set_rng_state(self.fwd_cpu_state)
                if self.had_device_in_fwd:
                    set_device_states(self.fwd_devices, self.fwd_device_states,
                                      device_type=self.device_type)
            yield


def _get_autocast_kwargs(device_type: str = "cuda") -> tuple:
    """The autocast state of the forward, for ``device_type`` (None where autocast does not
    exist for it) and for the CPU: the re-run must cast as the forward did."""
    from .. import amp

    def state(dev: str) -> dict:
        return {"enabled": amp.is_autocast_enabled(dev), "dtype": amp.get_autocast_dtype(dev),
                "cache_enabled": amp.is_autocast_cache_enabled()}
    return (state(device_type) if amp.is_autocast_available(device_type) else None), state("cpu")


@contextlib.contextmanager
def _autocast_as_in_forward(device_type: str, device_kwargs: "dict | None", cpu_kwargs: dict):
    from .. import amp
    device_ctx = amp.autocast(device_type, **device_kwargs) if device_kwargs is not None \
        else contextlib.nullcontext()
    with device_ctx, amp.autocast("cpu", **cpu_kwargs):
        yield
