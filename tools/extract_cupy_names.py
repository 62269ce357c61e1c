"""Write the public names of CuPy's array API that edunn's stand-in for CuPy may expose
(``tests/fake_cupy/cupy_names.json``): the stand-in (``tests/fake_cupy``) runs the
``gpu`` suite on the CPU and refuses every name real CuPy lacks, so code that would fail on a GPU
with an AttributeError fails there too.

Run where CuPy is installed (no GPU needed): ``python tools/extract_cupy_names.py``."""
import json
import pathlib

import inspect

import cupy
import cupy.fft
import cupy.lib.stride_tricks
import cupy.linalg
import cupy.random
import cupyx
import cupyx.scipy.special


def public(obj) -> list:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


def signatures(module, prefix: str) -> dict:
    """For each public function with a Python signature: its parameter names, how many may be
    positional, and whether it takes ``*args``/``**kwargs`` (Cython ufuncs have none)."""
    out = {}
    for name in public(module):
        obj = getattr(module, name)
        if not callable(obj) or isinstance(obj, type):
            continue
        try:
            params = inspect.signature(obj).parameters.values()
        except (TypeError, ValueError):
            continue
        kinds = inspect.Parameter
        out[prefix + name] = {
            "names": [p.name for p in params if p.kind not in (kinds.VAR_POSITIONAL, kinds.VAR_KEYWORD)],
            "positional": sum(p.kind in (kinds.POSITIONAL_ONLY, kinds.POSITIONAL_OR_KEYWORD) for p in params),
            "var_positional": any(p.kind == kinds.VAR_POSITIONAL for p in params),
            "var_keyword": any(p.kind == kinds.VAR_KEYWORD for p in params)}
    return out


names = {
    "version": cupy.__version__,
    "cupy": public(cupy),
    "cupy.linalg": public(cupy.linalg),
    "cupy.fft": public(cupy.fft),
    "cupy.random": public(cupy.random),
    "cupy.lib.stride_tricks": public(cupy.lib.stride_tricks),
    "cupyx": public(cupyx),
    "cupyx.scipy.special": public(cupyx.scipy.special),
    "ndarray": sorted(n for n in dir(cupy.ndarray) if not n.startswith("__") or n in (
        "__dlpack__", "__dlpack_device__", "__cuda_array_interface__")),
    "Generator": public(cupy.random.Generator),
    "ufunc": public(cupy.ufunc),
    "signatures": {**signatures(cupy, "cupy."), **signatures(cupy.linalg, "cupy.linalg."),
                   **signatures(cupy.fft, "cupy.fft."), **signatures(cupyx.scipy.special, "cupyx.scipy.special."),
                   **signatures(cupy.lib.stride_tricks, "cupy.lib.stride_tricks.")},
}
out = pathlib.Path(__file__).resolve().parents[1] / "tests" / "fake_cupy" / "cupy_names.json"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(names, sort_keys=True, separators=(",", ":")) + "\n")
print(f"{sum(len(v) for v in names.values() if isinstance(v, list))} names, "
      f"{len(names['signatures'])} signatures -> {out}")
