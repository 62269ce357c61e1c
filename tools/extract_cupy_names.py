"""Write the public names of CuPy's array API that edunn's stand-in for CuPy may expose
(``tests/fake_cupy/cupy_names.json``): the stand-in (``tests/fake_cupy``) runs the
``gpu`` suite on the CPU and refuses every name real CuPy lacks, so code that would fail on a GPU
with an AttributeError fails there too.

Run where CuPy is installed (no GPU needed): ``python tools/extract_cupy_names.py``."""
import json
import pathlib

import cupy
import cupy.fft
import cupy.lib.stride_tricks
import cupy.linalg
import cupy.random
import cupyx
import cupyx.scipy.special


def public(obj) -> list:
    return sorted(n for n in dir(obj) if not n.startswith("_"))


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
}
out = pathlib.Path(__file__).resolve().parents[1] / "tests" / "fake_cupy" / "cupy_names.json"
out.parent.mkdir(parents=True, exist_ok=True)
out.write_text(json.dumps(names, indent=0, sort_keys=True) + "\n")
print(f"{sum(len(v) for v in names.values() if isinstance(v, list))} names -> {out}")
