"""``edunn.backends.cuda`` (``torch.backends.cuda``): switches for PyTorch's CUDA libraries.

* ``matmul`` -- cuBLAS's permissions: ``allow_tf32`` (TensorFloat-32 in float32 products),
  ``allow_fp16_reduced_precision_reduction`` / ``allow_bf16_...`` (reduced-precision partial
  sums in 16-bit products), ``allow_fp16_accumulation``, ``fp32_precision``.  edunn's CUDA
  products are CuPy's cuBLAS calls in full float32, which every setting allows: the flags are
  stored and read back.  ``allow_tf32`` and ``edunn.set_float32_matmul_precision`` are two
  spellings of one setting, as in PyTorch (``True`` <-> "high", ``False`` <-> "highest").
* the scaled-dot-product-attention switches (``enable_flash_sdp`` ... ``sdp_kernel``) -- the
  *same* state as :func:`edunn.nn.attention.sdpa_kernel` (it lives in ``edunn/nn/attention``;
  these functions read and write it), so disabling math attention here is seen there.
* ``preferred_linalg_library`` / ``preferred_blas_library`` / ``preferred_rocm_fa_library`` --
  which GPU library PyTorch should prefer.  edunn's GPU linear algebra is CuPy's, which uses
  cuSOLVER and cuBLAS: those choices (and "default") are accepted; MAGMA is refused.
* ``cufft_plan_cache`` -- PyTorch's per-device cache of cuFFT plans; edunn's is CuPy's
  (``cupy.fft.config.get_plan_cache()``), reached through ``edunn.cuda``.
* ``is_built()`` -- whether the library can run on CUDA at all: True when CuPy is installed.
"""
from __future__ import annotations

import contextlib
import enum
from typing import Any

from .. import backend
from ..nn import attention as _attention
from ..nn.attention import SDPAParams, SDPBackend, can_use_efficient_attention, can_use_flash_attention
from . import _check_bool, _get_fp32_precision, _set_fp32_precision

__all__ = ["is_built", "cuFFTPlanCacheAttrContextProp", "cuFFTPlanCache", "cuFFTPlanCacheManager",
           "cuBLASModule", "preferred_linalg_library", "preferred_blas_library", "preferred_rocm_fa_library",
           "cufft_plan_cache", "matmul", "SDPAParams", "enable_cudnn_sdp", "cudnn_sdp_enabled",
           "is_flash_attention_available", "flash_sdp_enabled", "enable_flash_sdp", "mem_efficient_sdp_enabled",
           "enable_mem_efficient_sdp", "math_sdp_enabled", "enable_math_sdp", "allow_fp16_bf16_reduction_math_sdp",
           "fp16_bf16_reduction_math_sdp_allowed", "is_ck_sdpa_available", "can_use_flash_attention",
           "can_use_efficient_attention", "can_use_cudnn_attention", "sdp_kernel", "SDPBackend",
           "cublas_workspace_size", "cublaslt_workspace_size", "blas_workspace_size"]


def is_built() -> bool:
    """Whether edunn can run on CUDA here: CuPy is installed (a GPU may still be absent; ask
    ``edunn.cuda.is_available()``)."""
    return backend.cupy is not None


# ------------------------------------------------------------------ cuBLAS (torch.backends.cuda.matmul)
_cublas = {"fp16_reduction": (True, True), "bf16_reduction": (True, True), "fp16_accumulation": False}


class cuBLASModule:
    """``torch.backends.cuda.matmul``: cuBLAS's precision permissions (see the module docstring)."""

    @staticmethod
    def _parse_reduction_setting(value: Any, attr_name: str) -> tuple[bool, bool]:
        """``True`` / ``(allow_reduced_precision,)`` / ``(allow_reduced_precision, allow_splitk)``."""
        def _ensure_bool(obj: Any, which: str) -> bool:
            if isinstance(obj, bool):
                return obj
            raise TypeError(f"{attr_name} expects a bool for {which}, but got {type(obj)!r}")

        if isinstance(value, bool):
            return value, True
        if isinstance(value, (list, tuple)):
            if not value:
                raise TypeError(f"{attr_name} expects at least one boolean argument")
            if len(value) > 2:
                raise TypeError(f"{attr_name} expects at most two boolean arguments")
            allow_reduced_precision = _ensure_bool(value[0], "allow_reduced_precision")
            if len(value) == 1:
                return allow_reduced_precision, True
            return allow_reduced_precision, _ensure_bool(value[1], "allow_splitk")
        raise TypeError(f"{attr_name} expects a bool or a tuple/list of bools, but got {type(value)!r}")

    def __getattr__(self, name: str) -> Any:
        from .. import _runtime
        if name == "allow_tf32":
            precision = _get_fp32_precision("cuda", "matmul")
            return precision == "tf32" or (precision == "none" and _runtime.get_float32_matmul_precision() != "highest")
        if name in ("allow_fp16_reduced_precision_reduction", "allow_fp16_reduced_precision_reduction_split_k"):
            return _cublas["fp16_reduction"][name.endswith("split_k")]
        if name in ("allow_bf16_reduced_precision_reduction", "allow_bf16_reduced_precision_reduction_split_k"):
            return _cublas["bf16_reduction"][name.endswith("split_k")]
        if name == "allow_fp16_accumulation":
            return _cublas["fp16_accumulation"]
        if name == "fp32_precision":
            return _get_fp32_precision("cuda", "matmul")
        raise AttributeError("Unknown attribute " + name)

    def __setattr__(self, name: str, value: Any) -> None:
        from .. import _runtime
        if name == "allow_tf32":
            _check_bool("_set_cublas_allow_tf32", value)
            _set_fp32_precision("cuda", "matmul", "tf32" if value else "ieee")
            _runtime.set_float32_matmul_precision("high" if value else "highest")
        elif name == "allow_fp16_reduced_precision_reduction":
            _cublas["fp16_reduction"] = self._parse_reduction_setting(value, name)
        elif name == "allow_bf16_reduced_precision_reduction":
            _cublas["bf16_reduction"] = self._parse_reduction_setting(value, name)
        elif name == "allow_fp16_accumulation":
            _cublas["fp16_accumulation"] = _check_bool("_set_cublas_allow_fp16_accumulation", value)
        elif name == "fp32_precision":
            _set_fp32_precision("cuda", "matmul", value)
        else:
            raise AttributeError("Unknown attribute " + name)


matmul = cuBLASModule()


# ------------------------------------------------------------------ preferred libraries
class _LinalgBackend(enum.IntEnum):
    Default = 0
    Cusolver = 1
    Magma = 2


class _BlasBackend(enum.IntEnum):
    Default = 0
    Cublas = 1
    Cublaslt = 2
    Ck = 3


class _ROCmFABackend(enum.IntEnum):
    Default = 0
    AOTriton = 1
    Ck = 2


_LinalgBackends = {"default": _LinalgBackend.Default, "cusolver": _LinalgBackend.Cusolver,
                   "magma": _LinalgBackend.Magma}
_LinalgBackends_str = ", ".join(_LinalgBackends.keys())
_BlasBackends = {"default": _BlasBackend.Default, "cublas": _BlasBackend.Cublas, "hipblas": _BlasBackend.Cublas,
                 "cublaslt": _BlasBackend.Cublaslt, "hipblaslt": _BlasBackend.Cublaslt, "ck": _BlasBackend.Ck}
_BlasBackends_str = ", ".join(_BlasBackends.keys())
_ROCmFABackends = {"default": _ROCmFABackend.Default, "aotriton": _ROCmFABackend.AOTriton,
                   "ck": _ROCmFABackend.Ck}
_ROCmFABackends_str = ", ".join(_ROCmFABackends.keys())
_preferred: dict[str, Any] = {"linalg": _LinalgBackend.Default, "blas": _BlasBackend.Cublas,
                              "rocm_fa": _ROCmFABackend.Default}


def _prefer(kind: str, value: Any, table: dict, table_str: str, enum_type: type) -> Any:
    if value is None:
        return _preferred[kind]
    if isinstance(value, str):
        if value not in table:
            raise RuntimeError(f"Unknown input value. Choose from: {table_str}.")
        value = table[value]
    elif not isinstance(value, enum_type):
        raise RuntimeError("Unknown input value type.")
    _preferred[kind] = value
    return value


def preferred_linalg_library(backend: None | str | _LinalgBackend = None) -> _LinalgBackend:
    """The library PyTorch should prefer for GPU linear algebra ("default", "cusolver",
    "magma"); returns the current choice.  edunn's (CuPy's) is cuSOLVER: MAGMA is refused."""
    if backend == "magma" or backend is _LinalgBackend.Magma:
        raise RuntimeError("Cannot set preferred backend to MAGMA: edunn's GPU linear algebra is "
                           "CuPy's, which calls cuSOLVER.")
    return _prefer("linalg", backend, _LinalgBackends, _LinalgBackends_str, _LinalgBackend)


def preferred_blas_library(backend: None | str | _BlasBackend = None) -> _BlasBackend:
    """The library PyTorch should prefer for GPU products ("default", "cublas", "cublaslt",
    "ck"); returns the current choice.  edunn's products are CuPy's cuBLAS calls whichever is
    chosen (PyTorch also treats it as a preference, used where the library has the op)."""
    return _prefer("blas", backend, _BlasBackends, _BlasBackends_str, _BlasBackend)


def preferred_rocm_fa_library(backend: None | str | _ROCmFABackend = None) -> _ROCmFABackend:
    """The flash-attention library PyTorch's ROCm build should prefer; recorded (edunn has no
    ROCm build)."""
    return _prefer("rocm_fa", backend, _ROCmFABackends, _ROCmFABackends_str, _ROCmFABackend)


_workspace = {"cublas": None, "cublaslt": None}


def _workspace_size(kind: str, size: None | int) -> int:
    from .. import cuda
    cuda._require(f"{kind}_workspace_size")
    if size is not None:
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise ValueError(f"{kind}_workspace_size expects a non-negative int, got {size!r}")
        _workspace[kind] = size
    return 0 if _workspace[kind] is None else _workspace[kind]


def cublas_workspace_size(size: None | int = None) -> int:
    """The cuBLAS workspace size in bytes (set it with ``size``).  CuPy manages cuBLAS's
    workspace itself, so edunn records the number; 0 means "the library's default"."""
    return _workspace_size("cublas", size)


def cublaslt_workspace_size(size: None | int = None) -> int:
    """As :func:`cublas_workspace_size`, for cuBLASLt."""
    return _workspace_size("cublaslt", size)


def blas_workspace_size(size: None | int = None, backend: None | str | _BlasBackend = None) -> int:
    """The workspace size of the preferred (or the named) BLAS library."""
    chosen = preferred_blas_library() if backend is None else (
        _BlasBackends[backend] if isinstance(backend, str) else backend)
    return cublaslt_workspace_size(size) if chosen == _BlasBackend.Cublaslt else cublas_workspace_size(size)


# ------------------------------------------------------------------ cuFFT plan cache
class cuFFTPlanCacheAttrContextProp:
    """A property of one device's plan cache; a string setter means "read-only, and why"."""

    def __init__(self, getter: Any, setter: Any) -> None:
        self.getter = getter
        self.setter = setter

    def __get__(self, obj: Any, objtype: Any) -> Any:
        return self.getter(obj.device_index)

    def __set__(self, obj: Any, val: Any) -> None:
        if isinstance(self.setter, str):
            raise RuntimeError(self.setter)
        self.setter(obj.device_index, val)


def _plan_cache(device_index: int) -> Any:
    """CuPy's cuFFT plan cache of the device (``cupy.fft.config.get_plan_cache()``)."""
    from .. import cuda
    cupy = cuda._require("cufft_plan_cache")
    with cupy.cuda.Device(device_index):
        return cupy.fft.config.get_plan_cache()


class cuFFTPlanCache:
    """One device's cuFFT plan cache: ``size`` (plans held, read-only), ``max_size`` (capacity)
    and ``clear()``."""

    def __init__(self, device_index: int) -> None:
        self.device_index = device_index

    size = cuFFTPlanCacheAttrContextProp(
        lambda i: _plan_cache(i).get_curr_size(),
        ".size is a read-only property showing the number of plans currently in the "
        "cache. To change the cache capacity, set cufft_plan_cache.max_size.")
    max_size = cuFFTPlanCacheAttrContextProp(lambda i: _plan_cache(i).get_size(),
                                             lambda i, v: _plan_cache(i).set_size(v))

    def clear(self) -> None:
        _plan_cache(self.device_index).clear()


class cuFFTPlanCacheManager:
    """``cufft_plan_cache[i]`` is device ``i``'s cache; ``cufft_plan_cache.max_size`` (and
    ``size``, ``clear()``) mean the current device's."""

    __initialized = False

    def __init__(self) -> None:
        self.caches: list = []
        self.__initialized = True

    def __getitem__(self, device: Any) -> cuFFTPlanCache:
        from .. import cuda
        index = cuda._index(device)
        if index is None:
            index = cuda.current_device()
        count = cuda.device_count()
        if index < 0 or index >= count:
            raise RuntimeError(f"cufft_plan_cache: expected 0 <= device index < {count}, but got "
                               f"device with index {index}")
        while len(self.caches) <= index:
            self.caches.append(cuFFTPlanCache(len(self.caches)))
        return self.caches[index]

    def __getattr__(self, name: str) -> Any:
        from .. import cuda
        return getattr(self[cuda.current_device()], name)

    def __setattr__(self, name: str, value: Any) -> None:
        if self.__initialized:
            from .. import cuda
            return setattr(self[cuda.current_device()], name, value)
        return super().__setattr__(name, value)


cufft_plan_cache = cuFFTPlanCacheManager()


# ------------------------------------------------------------------ scaled dot-product attention
# One source of truth: edunn.nn.attention's ``_enabled`` table (which sdpa_kernel edits).
def _enable(which: SDPBackend, enabled: bool) -> None:
    _attention._enabled[which] = bool(enabled)


def flash_sdp_enabled() -> bool:
    """Whether the FlashAttention backend of ``scaled_dot_product_attention`` is enabled."""
    return _attention._enabled[SDPBackend.FLASH_ATTENTION]


def enable_flash_sdp(enabled: bool) -> None:
    """Enable or disable the FlashAttention backend (see ``edunn.nn.attention``)."""
    _enable(SDPBackend.FLASH_ATTENTION, enabled)


def mem_efficient_sdp_enabled() -> bool:
    return _attention._enabled[SDPBackend.EFFICIENT_ATTENTION]


def enable_mem_efficient_sdp(enabled: bool) -> None:
    _enable(SDPBackend.EFFICIENT_ATTENTION, enabled)


def math_sdp_enabled() -> bool:
    """Whether the math backend (the one edunn computes) is enabled."""
    return _attention._enabled[SDPBackend.MATH]


def enable_math_sdp(enabled: bool) -> None:
    _enable(SDPBackend.MATH, enabled)


def cudnn_sdp_enabled() -> bool:
    return _attention._enabled[SDPBackend.CUDNN_ATTENTION]


def enable_cudnn_sdp(enabled: bool) -> None:
    _enable(SDPBackend.CUDNN_ATTENTION, enabled)


_math_sdp_reduction = {"allowed": False}


def allow_fp16_bf16_reduction_math_sdp(enabled: bool) -> None:
    """Let the math backend reduce in float16/bfloat16 (PyTorch's default: no, it upcasts).
    edunn's math attention accumulates as its matmul does; the permission is recorded."""
    _math_sdp_reduction["allowed"] = bool(enabled)


def fp16_bf16_reduction_math_sdp_allowed() -> bool:
    return _math_sdp_reduction["allowed"]


def is_flash_attention_available() -> bool:
    """Whether a FlashAttention CUDA kernel is built in: no (edunn's attention is the math one)."""
    return False


def is_ck_sdpa_available() -> bool:
    """Whether ROCm's Composable-Kernel attention is built in: no."""
    return False


def can_use_cudnn_attention(params: SDPAParams, debug: bool = False) -> bool:
    """Whether cuDNN's attention kernel can run these inputs: always False, edunn has none
    (as PyTorch's CPU build).  With ``debug=True`` a warning says why."""
    if debug:
        import warnings
        warnings.warn("cuDNN attention can't be used: edunn has no cuDNN attention kernel (its "
                      "scaled_dot_product_attention is the math implementation)", stacklevel=2)
    return False


@contextlib.contextmanager
def sdp_kernel(enable_flash: bool = True, enable_math: bool = True, enable_mem_efficient: bool = True,
               enable_cudnn: bool = True):
    """Deprecated: enable only some attention backends for the block (use
    ``edunn.nn.attention.sdpa_kernel``, which this calls)."""
    import warnings
    warnings.warn("`torch.backends.cuda.sdp_kernel()` is deprecated. In the future, this context manager will "
                  "be removed. Please see `torch.nn.attention.sdpa_kernel()` for the new context manager, with "
                  "updated signature.", FutureWarning, stacklevel=3)
    backend_list = []
    if enable_flash:
        backend_list.append(SDPBackend.FLASH_ATTENTION)
    if enable_mem_efficient:
        backend_list.append(SDPBackend.EFFICIENT_ATTENTION)
    if enable_math:
        backend_list.append(SDPBackend.MATH)
    if enable_cudnn:
        backend_list.append(SDPBackend.CUDNN_ATTENTION)
    with _attention.sdpa_kernel(backend_list) as context:
        yield context
