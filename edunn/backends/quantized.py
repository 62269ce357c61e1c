"""``edunn.backends.quantized`` (``torch.backends.quantized``): which engine runs quantized
(int8) kernels.  edunn has no quantized kernels, so the one engine it supports is "none" -- what
PyTorch reports when built without any -- and naming another raises PyTorch's error."""
from __future__ import annotations

from . import PropModule, _install

_KNOWN_ENGINES = ("none", "fbgemm", "qnnpack", "onednn", "x86")
_SUPPORTED_ENGINES = ["none"]
_engine = {"name": "none"}


class _QEngineProp:
    def __get__(self, obj, objtype) -> str:
        return _engine["name"]

    def __set__(self, obj, val: str) -> None:
        if val not in _KNOWN_ENGINES:
            raise RuntimeError(f"{val} is not a valid value for quantized engine")
        if val not in _SUPPORTED_ENGINES:
            raise RuntimeError(f"quantized engine {val} is not supported: edunn has no quantized kernels")
        _engine["name"] = val


class _SupportedQEnginesProp:
    def __get__(self, obj, objtype) -> list:
        return list(_SUPPORTED_ENGINES)

    def __set__(self, obj, val) -> None:
        raise RuntimeError(f"Assignment not supported for {obj.__name__}.supported_engines")


class QuantizedEngine(PropModule):
    engine = _QEngineProp()
    supported_engines = _SupportedQEnginesProp()


_install(__name__, QuantizedEngine)
