"""A stand-in for CuPy that runs on the CPU, so the ``gpu`` suite can run where there is no GPU.

``install(devices)`` puts modules named ``cupy``, ``cupy.cuda`` ..., ``cupyx`` into
``sys.modules`` before edunn is imported; edunn then sees ``devices`` CUDA devices.  The
stand-in is NumPy underneath, strict where CuPy is strict (see ``_array``): no implicit transfer
to the host, no NumPy array mixed into a device operation, 0-d arrays for scalars, one current
device per thread with arrays bound to theirs, only the names real CuPy 14.2 has
(``cupy_names.json``), and edunn's fused kernels compiled from their CUDA bodies on the host.

What it cannot show: CuPy's own numerical differences and bugs, speed, asynchrony (every
operation completes at once), CUDA graphs, NCCL.  It finds what goes wrong in edunn's own
handling of devices before a GPU session does; the real ``gpu`` suite stays the judge.

``tests/conftest.py`` installs it when ``EDUNN_FAKE_CUDA`` is set (to the number of devices).
With two, ``EDUNN_GPU_SUITE_DEVICE=cuda:1`` aims the GPU suite (``tests/gpu``) at the second
device while the first stays current, and ``EDUNN_FAKE_CUDA_SECOND=1`` (a developer check) makes
every ``cuda`` of the whole suite mean ``cuda:1``: an op that computes on the current device
instead of its inputs' then fails.  ``tools/extract_cupy_names.py`` refreshes the names and
signatures from a real CuPy.
"""
from __future__ import annotations

import sys

from . import _cuda, _kernel, _module, _random


def install(devices: int = 1) -> None:
    if "cupy" in sys.modules and not getattr(sys.modules["cupy"], "_is_stand_in", False):
        raise RuntimeError("real CuPy is already imported; the stand-in must be installed first")
    _cuda.DEVICES[0] = int(devices)
    cupy = _module.make_cupy()
    cupy._is_stand_in = True
    cupy.cuda = _cuda.make_cuda()
    cupy.random = _random.make_random()
    cupy.ElementwiseKernel = _kernel.ElementwiseKernel
    cupy.RawKernel, cupy.RawModule, cupy.ReductionKernel = _kernel.RawKernel, _kernel.RawModule, _kernel.ReductionKernel
    cupyx = _module.make_cupyx(cupy)
    sys.modules.update({
        "cupy": cupy, "cupy.cuda": cupy.cuda, "cupy.cuda.runtime": cupy.cuda.runtime,
        "cupy.cuda.nvtx": cupy.cuda.nvtx, "cupy.linalg": cupy.linalg, "cupy.fft": cupy.fft,
        "cupy.fft.config": cupy.fft.config, "cupy.random": cupy.random, "cupy.lib": cupy.lib,
        "cupy.lib.stride_tricks": cupy.lib.stride_tricks, "cupyx": cupyx,
        "cupyx.scipy": cupyx.scipy, "cupyx.scipy.special": cupyx.scipy.special})
