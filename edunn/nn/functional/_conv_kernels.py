"""im2col as one GPU kernel (``edunn._kernels``): the columns of a convolution written straight
from the input, zeros where a window reaches into the padding.

The array path (``conv._im2col_array``) pads into a fresh zero array, copies the input into it
and copies a strided view of that into the columns: three kernel launches on a GPU for what is
one gather.  Checked against the array path by ``tests/nn/test_conv_kernels.py`` without a GPU.
"""
from __future__ import annotations

import functools

from ..._kernels import KernelSpec


@functools.lru_cache(maxsize=None)
def im2col_kernel(kernel: tuple, stride: tuple, dilation: tuple, before: tuple) -> KernelSpec:
    """``col`` has the shape ``(N, C, *kernel, *cols)``; element ``(n, c, k, l)`` reads the input
    ``x`` (N, C, *image) at ``l * stride + k * dilation - before`` per spatial dim, or is 0
    outside the image.  The layer's geometry is built into the body; the sizes (``channels``,
    ``image<d>``, ``cols<d>``) are arguments, so one kernel serves every input size."""
    nd = len(kernel)
    lines = ["long long r = i;"]
    for d in reversed(range(nd)):
        lines.append(f"const long long l{d} = r % cols{d}; r /= cols{d};")
    for d in reversed(range(nd)):
        lines.append(f"const long long k{d} = r % {kernel[d]}; r /= {kernel[d]};")
    lines.append("const long long c = r % channels; const long long b = r / channels;")
    flat, inside = "b * channels + c", []
    for d in range(nd):
        lines.append(f"const long long p{d} = l{d} * {stride[d]} + k{d} * {dilation[d]} - {before[d]};")
        inside.append(f"p{d} >= 0 && p{d} < image{d}")
        flat = f"({flat}) * image{d} + p{d}"
    lines.append(f"col = ({' && '.join(inside)}) ? x[{flat}] : (T)0;")
    name = "edunn_im2col_" + "_".join("x".join(map(str, v)) for v in (kernel, stride, dilation, before))
    sizes = ("int64 channels",) + tuple(f"int64 image{d}" for d in range(nd)) + tuple(
        f"int64 cols{d}" for d in range(nd))
    return KernelSpec(name, ("raw T x",), sizes, ("T col",), "\n".join(lines), reduce_dims=False)


def im2col_sizes(channels: int, image: tuple, cols: tuple) -> dict:
    """The size arguments of :func:`im2col_kernel`."""
    return {"channels": channels, **{f"image{d}": s for d, s in enumerate(image)},
            **{f"cols{d}": s for d, s in enumerate(cols)}}
