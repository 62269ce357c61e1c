"""``edunn.utils.dlpack``: exchanging tensors with other array libraries through DLPack, as
``torch.utils.dlpack``.  ``from_dlpack``/``to_dlpack`` are the ones in ``edunn/ops/interop.py``
(re-exported); ``DLDeviceType`` is DLPack's device code, the first number of
``tensor.__dlpack_device__()`` (1 for the CPU, 2 for CUDA)."""
import enum

from ..ops.interop import from_dlpack, to_dlpack

__all__ = ["DLDeviceType", "from_dlpack", "to_dlpack"]


class DLDeviceType(enum.IntEnum):
    """DLPack's ``DLDeviceType`` codes (``dlpack.h``)."""

    kDLCPU = 1
    kDLCUDA = 2
    kDLCUDAHost = 3
    kDLOpenCL = 4
    kDLVulkan = 7
    kDLMetal = 8
    kDLVPI = 9
    kDLROCM = 10
    kDLROCMHost = 11
    kDLExtDev = 12
    kDLCUDAManaged = 13
    kDLOneAPI = 14
    kDLWebGPU = 15
    kDLHexagon = 16
    kDLMAIA = 17
