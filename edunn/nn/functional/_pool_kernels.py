"""Max pooling over tiling windows (``MaxPool2d(2)``) as one GPU kernel each way.

The array path (``pooling._max_tiles`` and ``_PutTiles``) walks the window offsets, several
whole-array operations per offset: about twenty kernel launches for a 2x2 pool forward and nine
for its backward.  These bodies (``edunn._kernels``) do each in one launch, with the array
path's rules: the first maximum of a window wins, a NaN wins over any number (the last NaN, as
PyTorch's CUDA kernel), and the gradient goes to the winner alone.  Checked against the array
path by ``tests/nn/test_pool_kernels.py`` without a GPU."""
from __future__ import annotations

import functools

from ..._kernels import KernelSpec

# More offsets than this and the kernel's parameter block (one strided view per offset) grows
# past what a launch comfortably takes: the array path runs instead.
MAX_OFFSETS = 16


@functools.lru_cache(maxsize=None)
def tile_max_kernel(offsets: int, code_type: str) -> KernelSpec:
    """``(best, code)``: each window's maximum and its row-major offset in the window, from one
    strided view ``v<j>`` of the input per window offset ``j``."""
    lines = ["best = v0;", "code = 0;"]
    lines += [f"if (v{j} > best || v{j} != v{j}) {{ best = v{j}; code = {j}; }}" for j in range(1, offsets)]
    return KernelSpec(f"edunn_tile_max_{offsets}_{code_type}", tuple(f"T v{j}" for j in range(offsets)),
                      (), ("T best", f"{code_type} code"), "\n".join(lines))


@functools.lru_cache(maxsize=None)
def tile_put_kernel(kernel: tuple, code_type: str) -> KernelSpec:
    """The gradient written into the windows' view ``(N, C, o_1, k_1, o_2, k_2, ...)`` of the
    input's gradient: ``g`` where the window offset is the winner's ``code``, 0 elsewhere.  The
    offset along spatial dim ``d`` is ``(i / s<d>) % k_d``, ``s<d>`` the element stride of that
    axis of the view."""
    lines = ["long long j = 0;"]
    lines += [f"j = j * {kk} + (i / s{d}) % {kk};" for d, kk in enumerate(kernel)]
    lines.append("tile = (code == j) ? g : (T)0;")
    name = "edunn_tile_put_" + "x".join(map(str, kernel)) + f"_{code_type}"
    return KernelSpec(name, ("T g", f"{code_type} code"), tuple(f"int64 s{d}" for d in range(len(kernel))),
                      ("T tile",), "\n".join(lines), reduce_dims=False)
