"""Devices and memory formats: plain Python values that name where a tensor lives and how its
elements would be laid out.  ``edunn.backend`` re-exports them (it is the one module that knows
NumPy and CuPy; nothing here needs either)."""
from __future__ import annotations


class device:
    """Where a tensor's data lives: ``device("cpu")``, ``device("cuda")``, ``device("cuda", 1)``
    or ``device("cuda:1")`` -- as ``torch.device``."""

    __slots__ = ("type", "index")

    def __init__(self, type: "str | device", index: int | None = None):
        if isinstance(type, device):
            type, index = type.type, type.index if index is None else index
        if not isinstance(type, str):
            raise TypeError(f"device() expected a string like 'cpu' or 'cuda:0', got {type!r}")
        if ":" in type:
            if index is not None:
                raise RuntimeError(f"type (string) must not include an index because index was "
                                   f"passed explicitly: {type}")
            name, _, idx = type.partition(":")
            if not idx.isdigit():
                raise RuntimeError(f"Invalid device string: '{type}' (expected 'cuda:N' with N >= 0)")
            type, index = name, int(idx)
        if type not in ("cpu", "cuda"):
            raise RuntimeError(f"Expected one of cpu, cuda device type at start of device string: {type}")
        if index is not None and index < 0:
            raise RuntimeError(f"Device index must not be negative, got {index}")
        if type == "cpu" and index not in (None, 0):
            raise RuntimeError(f"edunn has one CPU device; 'cpu:{index}' does not exist (use 'cpu')")
        self.type = type
        self.index = index  # ``cpu:0`` keeps its 0, and differs from ``cpu``, as in PyTorch

    def __eq__(self, other: object) -> bool:
        if isinstance(other, str):
            other = device(other)
        if not isinstance(other, device):
            return NotImplemented
        return self.type == other.type and self.index == other.index

    def __hash__(self) -> int:
        return hash((self.type, self.index))

    def __repr__(self) -> str:
        return f"device(type='{self.type}')" if self.index is None else f"device(type='{self.type}', index={self.index})"

    def __str__(self) -> str:
        return self.type if self.index is None else f"{self.type}:{self.index}"


CPU = device("cpu")


class memory_format:
    """``edunn.contiguous_format``, ``edunn.channels_last`` ...: PyTorch's layout hints.  edunn
    accepts them wherever PyTorch does (``x.contiguous(memory_format=...)``, ``module.to(...)``);
    they never change values, and edunn's arrays keep NumPy/CuPy's C order."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"edunn.{self._name}"

    def __reduce__(self) -> str:
        return self._name


contiguous_format = memory_format("contiguous_format")
channels_last = memory_format("channels_last")
channels_last_3d = memory_format("channels_last_3d")
preserve_format = memory_format("preserve_format")
