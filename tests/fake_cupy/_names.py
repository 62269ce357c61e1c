"""The names real CuPy 14.2 has (``cupy_names.json``, written by ``tools/extract_cupy_names.py``
where CuPy is installed): the stand-in exposes these and no others."""
import json
import pathlib

_ALL = json.loads((pathlib.Path(__file__).parent / "cupy_names.json").read_text())
VERSION = _ALL["version"]
NDARRAY = frozenset(_ALL["ndarray"])
GENERATOR = frozenset(_ALL["Generator"])
SIGNATURES = _ALL["signatures"]  # "cupy.sort" -> its parameters in CuPy 14.2


def check_call(qualname: str, args: tuple, kwargs: dict) -> None:
    """Raise the TypeError CuPy would for arguments its function does not take (NumPy's often
    takes more: ``numpy.argsort(stable=...)``; ``cupy.argsort`` has no such parameter)."""
    sig = SIGNATURES.get(qualname)
    if sig is None:
        return
    if not sig["var_positional"] and len(args) > sig["positional"]:
        raise TypeError(f"{qualname}() takes {sig['positional']} positional arguments but {len(args)} "
                        f"were given (CuPy 14.2)")
    if not sig["var_keyword"]:
        for key in kwargs:
            if key not in sig["names"]:
                raise TypeError(f"{qualname}() got an unexpected keyword argument '{key}' (CuPy 14.2)")


def of(module: str) -> frozenset:
    return frozenset(_ALL[module])
