"""``edunn.nn.attention`` (``torch.nn.attention``): what decides how
``F.scaled_dot_product_attention`` runs (lesson 13).

PyTorch has several implementations ("backends") of scaled dot-product attention: the *math*
one (``softmax(Q K^T * scale + B) V``, written with ordinary ops, which is what edunn has), and
fused kernels -- FlashAttention, memory-efficient attention, cuDNN -- that never materialise the
``(L, S)`` score matrix.  PyTorch picks the first backend, in a priority order, that is enabled
and whose constraints the inputs meet; :func:`sdpa_kernel` enables only some backends for the
duration of a ``with`` block.

edunn has one implementation, the math one, and models PyTorch's *CPU* selection exactly:
PyTorch's CPU build has two backends, a CPU flash-attention kernel and the math one.

* MATH enabled: the math path runs (as in PyTorch).
* MATH disabled, FLASH_ATTENTION enabled: when the inputs meet the CPU flash kernel's
  constraints (4-D inputs, no dropout, equal batch sizes and heads, a 2-D or 4-D mask, one head
  size for q, k and v, last-dim stride 1, a floating dtype) PyTorch runs its flash kernel, which
  computes the same function -- edunn runs its math path.  Otherwise PyTorch warns
  ``"Flash attention kernel not used because:"`` and the reason, and raises ``RuntimeError("No
  available kernel.  Aborting execution.")``; so does edunn.
* neither: ``RuntimeError("No viable backend for scaled_dot_product_attention was found. ...")``.

The same rules apply on a GPU here (edunn has no CUDA kernels for attention).
:func:`can_use_flash_attention` and :func:`can_use_efficient_attention` answer PyTorch's CUDA
question, so they return False, as on PyTorch's CPU build.

Submodules: :mod:`.bias` (causal biases usable as ``attn_mask``) and :mod:`.flex_attention`.
"""
from __future__ import annotations

import contextlib
import enum
import logging
import warnings
from collections.abc import Iterable
from typing import Any, Callable, Literal

from ...tensor import Tensor

__all__ = ["SDPBackend", "sdpa_kernel", "WARN_FOR_UNFUSED_KERNELS", "register_flash_attention_impl",
           "activate_flash_attention_impl", "list_flash_attention_impls",
           "current_flash_attention_impl", "restore_flash_attention_impl"]

# If True, sdpa with a bias subclass (``bias.CausalBias``) that falls back to the math path
# warns why the fused kernels could not be used (PyTorch's flag of the same name).
WARN_FOR_UNFUSED_KERNELS = False


class SDPBackend(enum.IntEnum):
    """The backends of scaled dot-product attention, with PyTorch's values:
    ERROR (-1), MATH (0), FLASH_ATTENTION (1), EFFICIENT_ATTENTION (2), CUDNN_ATTENTION (3),
    OVERRIDEABLE (4).  Used with :func:`sdpa_kernel`."""

    ERROR = -1
    MATH = 0
    FLASH_ATTENTION = 1
    EFFICIENT_ATTENTION = 2
    CUDNN_ATTENTION = 3
    OVERRIDEABLE = 4

    __str__ = enum.Enum.__str__   # "SDPBackend.MATH", as PyTorch prints it (IntEnum prints "0")


# The global switches (PyTorch keeps them in its C++ context: torch.backends.cuda.*_sdp_enabled)
_enabled: dict[SDPBackend, bool] = {b: True for b in SDPBackend if b is not SDPBackend.ERROR}
_priority: list[int] = [1, 2, 0, 3, 4]   # PyTorch's default priority order
_backend_names = {"cudnn": "CUDNN_ATTENTION", "flash": "FLASH_ATTENTION",
                  "mem_efficient": "EFFICIENT_ATTENTION", "math": "MATH",
                  "overrideable": "OVERRIDEABLE"}


def _cur_sdpa_kernel_backends(with_priority: bool = False) -> list[SDPBackend]:
    """The enabled backends, in PyTorch's name order (or in priority order)."""
    backends = [SDPBackend[val] for val in _backend_names.values() if _enabled[SDPBackend[val]]]
    if with_priority:
        backends = sorted(backends, key=lambda b: _priority.index(int(b)))
    return backends


def _sdpa_kernel(backends: Iterable, set_priority: bool = False) -> None:
    """Enable exactly ``backends``; with ``set_priority`` their order becomes the priority."""
    backends = list(backends)
    for val in _backend_names.values():
        _enabled[SDPBackend[val]] = SDPBackend[val] in backends
    if set_priority:
        user_priority = [int(b) for b in backends]
        for b in list(_priority):
            if b not in user_priority:
                user_priority.append(int(b))
        _priority[:] = user_priority


@contextlib.contextmanager
def sdpa_kernel(backends: list[SDPBackend] | SDPBackend, set_priority: bool = False):
    """Context manager that enables only ``backends`` for scaled dot-product attention (and,
    with ``set_priority=True``, makes their order the priority order); the previous state comes
    back on exit.  Yields ``{}``, as PyTorch's.

    Example::

        with sdpa_kernel(SDPBackend.MATH):
            F.scaled_dot_product_attention(q, k, v)

    edunn runs its math implementation whenever PyTorch's CPU build would run a backend, and
    raises PyTorch's errors when it would not (see the module docstring)."""
    if not isinstance(backends, (list, SDPBackend)):
        raise AssertionError("Backend must be an instance of SDPBackend or a list of SDPBackend "
                             f"instances, got {type(backends).__name__}")
    if isinstance(backends, SDPBackend):
        backends = [backends]
    backends = list(dict.fromkeys(backends))
    previous_backends = _cur_sdpa_kernel_backends(with_priority=set_priority)
    try:
        _sdpa_kernel(backends, set_priority)
        yield {}
    finally:
        _sdpa_kernel(previous_backends, set_priority)


@contextlib.contextmanager
def _sdpa_kernel_variadic(*backends: SDPBackend):
    with sdpa_kernel(list(backends)):
        yield


class SDPAParams:
    """The arguments of one scaled dot-product attention call, as the backend checks see them
    (``torch.backends.cuda.SDPAParams``): ``SDPAParams(query, key, value, attn_mask, dropout,
    is_causal, enable_gqa)``; all seven are required and positional."""

    def __init__(self, query: Tensor, key: Tensor, value: Tensor, attn_mask: Tensor | None,
                 dropout: float, is_causal: bool, enable_gqa: bool, /) -> None:
        self.query, self.key, self.value, self.attn_mask = query, key, value, attn_mask
        self.dropout, self.is_causal, self.enable_gqa = float(dropout), bool(is_causal), bool(enable_gqa)


def can_use_flash_attention(params: SDPAParams, debug: bool = False) -> bool:
    """Whether PyTorch's CUDA FlashAttention kernel can run these inputs: always False in
    edunn, which has no such kernel (PyTorch's CPU build answers False too).  With
    ``debug=True`` a warning says why."""
    if debug:
        warnings.warn("Flash attention can't be used: edunn has no FlashAttention kernel (its "
                      "scaled_dot_product_attention is the math implementation)", stacklevel=2)
    return False


def can_use_efficient_attention(params: SDPAParams, debug: bool = False) -> bool:
    """Whether PyTorch's CUDA memory-efficient attention kernel can run these inputs: always
    False in edunn (as on PyTorch's CPU build).  With ``debug=True`` a warning says why."""
    if debug:
        warnings.warn("Memory efficient attention can't be used: edunn has no memory-efficient "
                      "attention kernel (its scaled_dot_product_attention is the math "
                      "implementation)", stacklevel=2)
    return False


def _raise_kernel_warnings(params: SDPAParams) -> None:
    """With ``WARN_FOR_UNFUSED_KERNELS`` set, warn why no fused kernel runs these inputs."""
    if WARN_FOR_UNFUSED_KERNELS:
        if not can_use_efficient_attention(params):
            warnings.warn("Efficient attention can't be used because:", stacklevel=2)
            can_use_efficient_attention(params, True)
        if not can_use_flash_attention(params):
            warnings.warn("Flash attention can't be used because:", stacklevel=2)
            can_use_flash_attention(params, True)


# ------------------------------------------------------------ PyTorch's CPU backend selection
def _sizes(t: Tensor) -> str:
    return str(list(t.shape))


_DTYPE_NAMES = {"float32": "float", "float64": "double", "int64": "long int", "int32": "int",
                "int16": "short int", "int8": "signed char", "uint8": "unsigned char", "bool": "bool",
                "float16": "c10::Half", "bfloat16": "c10::BFloat16"}


def _flash_cpu_problem(q: Tensor, k: Tensor, v: Tensor, attn_mask: Any, dropout_p: float,
                       enable_gqa: bool) -> str | None:
    """Why PyTorch's CPU flash-attention kernel cannot take these inputs (its first failing
    check, with its message), or None when it can."""
    if dropout_p > 0.0:
        return "Both fused kernels do not support non-zero dropout."
    if q.dim() != 4 or k.dim() != 4 or v.dim() != 4:
        return ("All fused kernels requires query, key and value to be 4 dimensional, but got "
                f"Query dim: {q.dim()}, Key dim: {k.dim()}, Value dim: {v.dim()} instead.")
    if not (q.size(0) == k.size(0) == v.size(0)):
        return ("For dense inputs, both fused kernels require query, key and value to have the "
                f"same batch_size. Query.sizes(): {_sizes(q)}, Key.sizes(): {_sizes(k)}, "
                f"Value.sizes(): {_sizes(v)} instead. To broadcast dense inputs, try using "
                "unsqueeze and expand_to before passing them into the kernel.")
    if enable_gqa:
        if k.size(1) != v.size(1):
            return ("Both fused kernels require key and value to have the same num_heads and "
                    f"batch_size but got: Key sizes: {_sizes(k)}, Value sizes: {_sizes(v)}, "
                    f"Query sizes: {_sizes(q)} instead.")
    elif not (q.size(1) == k.size(1) == v.size(1)):
        return ("For dense input, both fused kernels require query, key and value to have the "
                f"same num_heads. Query.sizes(): {_sizes(q)}, Key sizes(): {_sizes(k)}, Value "
                f"sizes(): {_sizes(v)} instead. To broadcast dense inputs, try using unsqueeze "
                "and expand_to before passing them into the kernel.")
    if attn_mask is not None and attn_mask.dim() not in (2, 4):
        return ("Please use the following attn mask shapes: 2d - ({Q_seq_len, 1}  x "
                "{KV_seq_len, 1}); 4d - ({Batch, 1} x {Num_heads, 1} x {Q_seq_len, 1}  x "
                "{KV_seq_len, 1})")
    if not (q.size(-1) == k.size(-1) == v.size(-1)):
        return ("Flash attention requires q,k,v to have the same last dimension. Got "
                f"Query.size(-1): {q.size(-1)}, Key.size(-1): {k.size(-1)}, Value.size(-1): "
                f"{v.size(-1)} instead.")
    strides = [t.stride(-1) if t.size(-1) > 1 else 1 for t in (q, k, v)]
    if any(s != 1 for s in strides):
        return ("All fused kernels require the last dimension of the input to have stride 1. "
                f"Got Query.stride(-1): {strides[0]}, Key.stride(-1): {strides[1]}, "
                f"Value.stride(-1): {strides[2]}")
    if not q.is_floating_point():
        names = [_DTYPE_NAMES.get(str(t.dtype).split(".")[-1], str(t.dtype)) for t in (q, k, v)]
        return ("Expected query, key and value to all be of dtype: {Float, Double, BFloat16, "
                f"Half}}. Got Query dtype: {names[0]}, Key dtype: {names[1]}, and Value dtype: "
                f"{names[2]} instead.")
    return None


def _select_sdp_backend(query: Tensor, key: Tensor, value: Tensor, attn_mask: Any,
                        dropout_p: float, is_causal: bool, enable_gqa: bool) -> SDPBackend:
    """The backend PyTorch's CPU build would pick, or its error (``sdpa`` calls this after its
    input checks).  Every backend edunn reports runs the same math code."""
    flash, math_ok = _enabled[SDPBackend.FLASH_ATTENTION], _enabled[SDPBackend.MATH]
    if not flash and not math_ok:
        raise RuntimeError("No viable backend for scaled_dot_product_attention was found. This is "
                           "likely due to turning off both the math kernel and the fused kernels.")
    problem = _flash_cpu_problem(query, key, value, attn_mask, dropout_p, enable_gqa) if flash \
        else "Flash attention has been runtime disabled."
    if problem is None:
        return SDPBackend.FLASH_ATTENTION
    if math_ok:
        return SDPBackend.MATH
    warnings.warn("Flash attention kernel not used because:", stacklevel=3)
    warnings.warn(problem, stacklevel=3)
    raise RuntimeError("No available kernel.  Aborting execution.")


# ------------------------------------------------------------ flash-attention implementations
# PyTorch 2.13 lets a provider library register another FlashAttention implementation ("FA3",
# "FA4": CUDA kernels that replace the built-in FA2 ones in PyTorch's dispatcher) and a user
# activate one.  edunn keeps the same registry with the same behaviour: activating calls the
# provider's ``register_fn`` and keeps the handle it returns; restoring calls ``handle.remove()``.
# edunn ships no implementation (its attention is the math one), so the list starts empty.
_FlashAttentionImpl = Literal["FA3", "FA4"]
_RegisterFn = Callable[..., Any]
_FLASH_ATTENTION_IMPLS: dict[str, _RegisterFn] = {}
_FLASH_ATTENTION_ACTIVE: tuple[str, Any] | None = None
_logger = logging.getLogger(__name__)


def register_flash_attention_impl(impl: str | _FlashAttentionImpl, *,
                                  register_fn: _RegisterFn) -> None:
    """Register ``register_fn``, the callable that activates the flash-attention
    implementation named ``impl`` (for providers; users call
    :func:`activate_flash_attention_impl`).  ``register_fn()`` may return a handle with a
    ``remove()`` method that undoes the activation."""
    _FLASH_ATTENTION_IMPLS[impl] = register_fn


def activate_flash_attention_impl(impl: str | _FlashAttentionImpl) -> None:
    """Activate a registered implementation: restore the default first, then call its
    ``register_fn`` and keep the handle it returns.  An unknown name raises ``ValueError``
    listing the available ones."""
    global _FLASH_ATTENTION_ACTIVE
    restore_flash_attention_impl(_raise_warn=False)
    register_fn = _FLASH_ATTENTION_IMPLS.get(impl)
    if register_fn is None:
        raise ValueError(f"Unknown flash attention impl '{impl}'. "
                         f"Available implementations: {list_flash_attention_impls()}")
    handle = register_fn()
    if handle is not None:
        _FLASH_ATTENTION_ACTIVE = (impl, handle)


def list_flash_attention_impls() -> list[str]:
    """The names of the registered flash-attention implementations, sorted."""
    return sorted(_FLASH_ATTENTION_IMPLS.keys())


def current_flash_attention_impl() -> str | None:
    """The name of the activated implementation, or None for the default."""
    return _FLASH_ATTENTION_ACTIVE[0] if _FLASH_ATTENTION_ACTIVE is not None else None


def restore_flash_attention_impl(_raise_warn: bool = True) -> None:
    """Go back to the default implementation (calling the active handle's ``remove()``); logs
    a warning when none was activated."""
    global _FLASH_ATTENTION_ACTIVE
    handle = _FLASH_ATTENTION_ACTIVE[1] if _FLASH_ATTENTION_ACTIVE is not None else None
    if handle is not None:
        handle.remove()
    elif _raise_warn:
        _logger.warning("Trying to restore default FA2 impl when no custom impl was activated")
    _FLASH_ATTENTION_ACTIVE = None


def _get_flash_version() -> str:
    """The FlashAttention release PyTorch's built-in kernel follows."""
    return "2.5.7"


from . import bias, flex_attention  # noqa: E402  (last: they import the names above)

_SUBMODULES = (bias, flex_attention)
