"""The names real CuPy 14.2 has (``cupy_names.json``, written by ``tools/extract_cupy_names.py``
where CuPy is installed): the stand-in exposes these and no others."""
import json
import pathlib

_ALL = json.loads((pathlib.Path(__file__).parent / "cupy_names.json").read_text())
VERSION = _ALL["version"]
NDARRAY = frozenset(_ALL["ndarray"])
GENERATOR = frozenset(_ALL["Generator"])


def of(module: str) -> frozenset:
    return frozenset(_ALL[module])
