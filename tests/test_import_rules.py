"""Only ``edunn/backend.py`` may know NumPy and CuPy exist (DESIGN.md, layer 1).

Every other file asks the backend for ``xp``, so every op is device-agnostic by construction.
The check parses each file with ``ast`` (so a string or a comment mentioning numpy is fine) and
also catches ``importlib.import_module("numpy")`` and ``__import__("cupy")``.
"""
import ast
import pathlib

import pytest

pytestmark = pytest.mark.lesson01

PACKAGE = pathlib.Path(__file__).resolve().parents[1] / "edunn"
FORBIDDEN = ("numpy", "cupy", "cupyx")
ALLOWED = {PACKAGE / "backend.py"}


def _forbidden(name: str) -> bool:
    return name.split(".")[0] in FORBIDDEN


def offending_imports(source: str) -> list:
    """``(line, text)`` for every import of numpy/cupy in ``source``."""
    found = []
    for node in ast.walk(ast.parse(source)):
        if isinstance(node, ast.Import):
            found += [(node.lineno, f"import {a.name}") for a in node.names if _forbidden(a.name)]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0 and node.module and _forbidden(node.module):
                found.append((node.lineno, f"from {node.module} import ..."))
        elif isinstance(node, ast.Call):
            fn = node.func
            name = fn.attr if isinstance(fn, ast.Attribute) else getattr(fn, "id", None)
            if name in ("import_module", "__import__") and node.args:
                arg = node.args[0]
                if isinstance(arg, ast.Constant) and isinstance(arg.value, str) and _forbidden(arg.value):
                    found.append((node.lineno, f"{name}({arg.value!r})"))
    return found


def _files():
    return sorted(p for p in PACKAGE.rglob("*.py") if p not in ALLOWED)


def test_package_found():
    assert (PACKAGE / "backend.py").is_file() and len(_files()) > 10


def test_only_backend_imports_numpy_or_cupy():
    bad = []
    for path in _files():
        for line, text in offending_imports(path.read_text(encoding="utf-8")):
            bad.append(f"{path.relative_to(PACKAGE.parent)}:{line}: {text}")
    assert not bad, ("only edunn/backend.py may import numpy/cupy; use `xp = backend.array_module(a)` "
                     "instead:\n" + "\n".join(bad))


@pytest.mark.parametrize("source", [
    "import numpy",
    "import numpy as np",
    "import numpy.linalg",
    "from numpy import exp",
    "from numpy.random import default_rng",
    "import cupy",
    "import cupyx.scipy",
    "from cupy import asnumpy",
    "import os, numpy",
    "def f():\n    import numpy as np\n",
    "import importlib\nnp = importlib.import_module('numpy')",
    "from importlib import import_module\ncp = import_module('cupy.random')",
    "np = __import__('numpy')",
])
def test_checker_catches(source):
    assert offending_imports(source), source


@pytest.mark.parametrize("source", [
    "from . import backend\nxp = backend.array_module(a)",
    "'''numpy is only used by the backend'''",
    "# import numpy",
    "from .numpy_helpers import x",
    "import numpyish",
])
def test_checker_allows(source):
    assert not offending_imports(source)
