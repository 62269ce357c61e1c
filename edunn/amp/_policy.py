"""The autocast state and the one casting rule every autocast-aware op calls.

What PyTorch does: while ``torch.autocast(device_type)`` is on, a dispatcher layer sits in front
of each op and, for the ops on a per-device list, casts the op's floating-point tensor arguments
before the kernel runs:

* "lower precision" ops (matrix products and convolutions, where float16/bfloat16 is fast and
  the accumulation is done in float32 anyway) run in the autocast dtype;
* "float32" ops (losses, reductions, exp/log, norms: where a 16-bit result loses too much) run
  in float32, whatever 16-bit dtype their inputs arrived in;
* every other op runs in whatever dtype its inputs have (type promotion as usual).

A tensor is *eligible* for a cast only if it is floating point, not float64 (autocast never
lowers double precision) and on the autocast device.  The casts are ordinary differentiable
``.to(dtype)`` ops, so gradients flow back into float32 parameters in float32.  Within one
autocast region the lower-precision copy of a float32 leaf that requires grad (a parameter)
is cached, so a weight used by many ops is cast once (``cache_enabled``).

While a listed op runs, PyTorch *excludes* the autocast dispatch key: the ops it calls
internally are not cast again.  ``cdist`` (float32 list) computes its distances with a matrix
product, and that ``matmul`` (lower-precision list) must not drop back to bfloat16 halfway
through; ``scaled_dot_product_attention`` (float16 on CUDA) calls ``softmax`` (float32 on CUDA),
and its result must stay float16.  Autocast is back on when the op returns, or raises.

How edunn does it: each autocast-aware entry point (``matmul``, ``linear``, ``conv2d``, the
losses ...) starts with one line::

    if _autocast.active and "linear" in _autocast.listed: return _autocast.call("linear", linear, input, weight, bias)

``active`` is a module-level bool that is only True while some device has autocast on (and no
listed op is running), so the cost when autocast is off is one attribute read -- the per-op
overhead benchmarks do not see it.  ``listed`` holds the op names on the lists of the enabled
devices.  ``call`` casts every tensor argument (also those inside a list or tuple argument,
like ``cat``'s) per the policy, then runs the entry point again with autocast suspended: the
second time its line is skipped, and so is every line of the ops it calls.  (One simplification:
PyTorch's exclusion is per device; edunn suspends all of autocast, which differs only when two
devices have autocast on at once and the op is listed for a device its tensors are not on.)
The op lists below are PyTorch's (https://pytorch.org/docs/stable/amp.html, "Autocast Op
Reference"), under edunn's function names.  Lesson 18 (GPUs) uses this.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor

# ----------------------------------------------------------------------------------------------
# The op lists (names are the edunn/torch function names that call cast_inputs)
# ----------------------------------------------------------------------------------------------
# PyTorch's lists are the docs' "Autocast Op Reference" completed from the installed torch's
# source (aten/src/ATen/autocast_mode.{h,cpp}: AT_FORALL_LOWER_PRECISION_FP, AT_FORALL_FP32,
# AT_FORALL_FP32_SET_OPT_DTYPE, AT_FORALL_PROMOTE and the CPU registrations).  Torch's aten names
# are written as the edunn entry point that asks: ``linalg_inv`` is ``edunn.linalg.inv``,
# ``grid_sampler`` is ``F.grid_sample``, ``upsample_*`` is ``F.interpolate`` (every mode but
# 'area'), ``reflection_pad1d`` ... are ``F.pad`` by mode and size, ``gru_cell`` ... the cell
# functions behind ``nn.GRUCell`` ..., ``rpow``/``rtruediv`` the reflected Tensor operators.
# "einsum" and "tensordot" are not on the CPU list, but PyTorch builds them from bmm/mm calls,
# which are, so on the CPU their results come out in the autocast dtype (a tensordot that
# contracts every dim excepted: it is no matrix product); edunn's are one op each, so they ask.
_LOWER_PRECISION = {
    "cpu": frozenset({
        "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
        "bmm", "mm", "linalg_vecdot", "baddbmm", "addmm", "addbmm", "linear", "matmul", "conv_tbc",
        "prelu", "scaled_dot_product_attention", "multi_head_attention_forward", "einsum",
        "tensordot"}),
    "cuda": frozenset({
        "matmul", "addbmm", "addmm", "addmv", "addr", "baddbmm", "bmm", "chain_matmul", "multi_dot",
        "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d", "conv_transpose3d",
        "conv_tbc", "gru_cell", "linear", "lstm_cell", "mm", "mv", "prelu", "rnn_tanh_cell",
        "rnn_relu_cell", "linalg_vecdot", "scaled_dot_product_attention", "einsum"}),
}
_FLOAT32 = {
    "cpu": frozenset({
        "avg_pool3d", "binary_cross_entropy", "grid_sampler", "polar", "prod", "quantile",
        "nanquantile", "stft", "cdist", "trace", "view_as_complex", "cholesky", "cholesky_inverse",
        "cholesky_solve", "inverse", "lu_solve", "orgqr", "ormqr", "pinverse", "max_pool3d",
        "max_unpool2d", "max_unpool3d", "adaptive_avg_pool3d", "reflection_pad1d", "reflection_pad2d",
        "replication_pad1d", "replication_pad2d", "replication_pad3d", "mse_loss",
        "cosine_embedding_loss", "nll_loss", "nll_loss2d", "hinge_embedding_loss", "poisson_nll_loss",
        "smooth_l1_loss", "cross_entropy", "l1_loss", "huber_loss", "margin_ranking_loss",
        "soft_margin_loss", "triplet_margin_loss", "multi_margin_loss", "ctc_loss", "kl_div",
        "multilabel_margin_loss", "binary_cross_entropy_with_logits", "qr", "svd",
        "triangular_solve", "fractional_max_pool2d", "fractional_max_pool3d", "adaptive_max_pool3d",
        "linalg_cond", "linalg_matrix_rank", "linalg_solve", "linalg_cholesky", "linalg_svdvals",
        "linalg_eigvals", "linalg_eigvalsh", "linalg_inv", "linalg_householder_product",
        "linalg_tensorinv", "linalg_tensorsolve", "geqrf", "linalg_qr", "linalg_cholesky_ex",
        "linalg_svd", "linalg_eig", "linalg_eigh", "linalg_lstsq", "linalg_inv_ex"}),
    "cuda": frozenset({
        "pow", "rdiv", "rpow", "rtruediv", "acos", "asin", "binary_cross_entropy_with_logits", "cosh",
        "cosine_embedding_loss", "cdist", "cosine_similarity", "cross_entropy", "cumprod", "cumsum",
        "dist", "erfinv", "exp", "expm1", "group_norm", "hinge_embedding_loss", "kl_div", "l1_loss",
        "layer_norm", "log", "log_softmax", "log10", "log1p", "log2", "margin_ranking_loss",
        "mse_loss", "multilabel_margin_loss", "multi_margin_loss", "nll_loss", "norm", "normalize",
        "pdist", "poisson_nll_loss", "prod", "reciprocal", "rsqrt", "sinh", "smooth_l1_loss",
        "soft_margin_loss", "softmax", "softmin", "softplus", "sum", "renorm", "tan",
        "triplet_margin_loss", "huber_loss", "nll_loss2d", "logsumexp", "interpolate",
        "linalg_vector_norm", "linalg_matrix_norm"}),
}
# "promote" ops: with mixed eligible inputs, all run in the widest of them (float32 if any is).
_PROMOTE = {
    "cpu": frozenset({"stack", "cat", "index_copy"}),
    "cuda": frozenset({
        "addcdiv", "addcmul", "atan2", "bilinear", "cross", "dot", "vdot", "grid_sampler", "index_put",
        "tensordot", "scatter_add", "cat", "stack"}),
}
# Ops PyTorch refuses to run under CUDA autocast, with the reason.
_BANNED = {
    "cuda": {"binary_cross_entropy": (
        "torch.nn.functional.binary_cross_entropy and torch.nn.BCELoss are unsafe to autocast.\n"
        "Many models use a sigmoid layer right before the binary cross entropy layer.\n"
        "In this case, combine the two layers using torch.nn.functional.binary_cross_entropy_with_logits\n"
        "or torch.nn.BCEWithLogitsLoss.  binary_cross_entropy_with_logits and BCEWithLogits are\n"
        "safe to autocast.")},
}

# ----------------------------------------------------------------------------------------------
# The state (PyTorch keeps it per thread in C++; edunn keeps one per process)
# ----------------------------------------------------------------------------------------------
# device type -> [enabled, autocast dtype]; the dtypes are PyTorch's defaults.
_state: dict[str, list] = {
    "cpu": [False, backend.bfloat16],
    "cuda": [False, backend.float16],
    "ipu": [False, backend.float16],
    "xla": [False, backend.bfloat16],
}
active = False          # True while autocast is on for some device: the ops' one-line check
listed: frozenset = frozenset()   # the op names some enabled device casts (or bans)
_suspended = 0          # > 0 while a listed op runs: autocast is off for what it calls
_cache_enabled = True
_nesting = 0
_cache: dict[int, tuple] = {}   # id(float32 leaf) -> (leaf, its lower-precision copy)


def _entry(device_type: Any, who: str) -> list:
    if not isinstance(device_type, str):
        raise TypeError(f"{who}(): argument 'device_type' must be str, not {type(device_type).__name__}")
    entry = _state.get(device_type)
    if entry is None:
        raise RuntimeError(f"{who}(): edunn has autocast state for the device types "
                           f"{', '.join(_state)}, but got device_type '{device_type}'")
    return entry


def _refresh_active() -> None:
    global active, listed
    on = [device for device, (enabled, _) in _state.items() if enabled]
    active = bool(on) and not _suspended
    listed = frozenset().union(*(table.get(device, ()) for device in on
                                 for table in (_LOWER_PRECISION, _FLOAT32, _PROMOTE, _BANNED)))


def is_enabled(device_type: str) -> bool:
    return _entry(device_type, "is_autocast_enabled")[0]


def set_enabled(device_type: str, enabled: bool) -> None:
    if not isinstance(enabled, bool):
        raise TypeError(f"set_autocast_enabled(): argument 'enabled' must be bool, not {type(enabled).__name__}")
    _entry(device_type, "set_autocast_enabled")[0] = enabled
    _refresh_active()


def get_dtype(device_type: str) -> backend.dtype:
    return _entry(device_type, "get_autocast_dtype")[1]


def set_dtype(device_type: str, dtype: backend.dtype) -> None:
    if not isinstance(dtype, backend.dtype):
        raise TypeError(f"set_autocast_dtype(): argument 'dtype' must be edunn.dtype, not {type(dtype).__name__}")
    _entry(device_type, "set_autocast_dtype")[1] = dtype


def is_cache_enabled() -> bool:
    return _cache_enabled


def set_cache_enabled(enabled: bool) -> None:
    global _cache_enabled
    _cache_enabled = bool(enabled)


def clear_cache() -> None:
    _cache.clear()


def increment_nesting() -> int:
    global _nesting
    _nesting += 1
    return _nesting


def decrement_nesting() -> int:
    global _nesting
    _nesting -= 1
    return _nesting


# ----------------------------------------------------------------------------------------------
# The casting rule
# ----------------------------------------------------------------------------------------------
def _eligible(t: Any, device_type: str) -> bool:
    """Floating point, not float64, on the autocast device: what PyTorch's autocast casts."""
    return (isinstance(t, Tensor) and t.dtype.is_floating_point and t.dtype is not backend.float64
            and t.device.type == device_type)


def _cast(t: Any, device_type: str, dtype: backend.dtype, lower: bool) -> Any:
    if not _eligible(t, device_type) or t.dtype is dtype:
        return t
    # Cache the lower-precision copy of a float32 leaf that requires grad (a parameter): a weight
    # shared by several ops in one forward pass is cast once.  The cache is emptied when the
    # outermost autocast region exits.
    if lower and _cache_enabled and t.requires_grad and t.is_leaf and t.dtype is backend.float32:
        hit = _cache.get(id(t))
        if hit is not None and hit[0] is t and hit[1].dtype is dtype:
            return hit[1]
        cast = t.to(dtype)
        _cache[id(t)] = (t, cast)
        return cast
    return t.to(dtype)


def cast_inputs(op_name: str, *args: Any) -> tuple:
    """``args`` as autocast would hand them to ``op_name``: unchanged unless autocast is on for
    the device of the first tensor among them and ``op_name`` is on that device's lower-precision
    list (eligible tensors cast to the autocast dtype), float32 list (cast to float32) or
    promote list (cast to the widest eligible dtype among them).
    Non-tensors (``None`` biases, ints, strings) pass through.  Callers check ``active`` first."""
    device_type = None
    for a in args:
        if isinstance(a, Tensor):
            device_type = a.device.type
            break
    entry = _state.get(device_type)
    if entry is None or not entry[0]:
        return args
    if op_name in _LOWER_PRECISION.get(device_type, ()):
        dtype, lower = entry[1], True
    elif op_name in _FLOAT32.get(device_type, ()):
        dtype, lower = backend.float32, False
    elif op_name in _PROMOTE.get(device_type, ()):
        return _promote(args, device_type, entry[1])
    elif op_name in _BANNED.get(device_type, {}):
        raise RuntimeError(_BANNED[device_type][op_name])
    else:
        return args
    return tuple(_cast(a, device_type, dtype, lower) for a in args)


def _promote(args: tuple, device_type: str, lower: backend.dtype) -> tuple:
    """PyTorch's ``promote`` rule (``at::autocast::prioritize``): the eligible tensors all go to
    float32 if any of them is float32, else stay in the autocast dtype; float64 and tensors on
    other devices are left alone; a floating dtype that is neither is an error, as PyTorch's."""
    widest = lower
    for a in args:
        if _eligible(a, device_type):
            if a.dtype is backend.float32:
                widest = backend.float32
            elif a.dtype is not lower:
                raise RuntimeError("Unexpected floating ScalarType in at::autocast::prioritize")
    return tuple(_cast(a, device_type, widest, False) for a in args)


def call(op_name: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    """``fn(*args, **kwargs)`` as PyTorch's autocast dispatch runs the op ``op_name``: every
    tensor argument -- positional, keyword, or inside a list/tuple argument (``cat``'s tensors,
    ``lstm_cell``'s ``hx``) -- cast per the policy (``cast_inputs``), then ``fn`` run with autocast
    suspended, so the listed ops it calls internally keep the dtypes it hands them (PyTorch
    excludes its autocast dispatch key while an autocast-wrapped op runs).  Autocast is back on
    when ``fn`` returns or raises.  ``fn`` is the entry point itself: re-entered with ``active``
    False, it skips its autocast line and does the work."""
    global active, _suspended
    flat: list = []
    for a in (*args, *kwargs.values()):
        if isinstance(a, (list, tuple)):
            flat.extend(a)
        else:
            flat.append(a)
    cast = iter(cast_inputs(op_name, *flat))

    def rebuild(a: Any) -> Any:
        if isinstance(a, (list, tuple)):
            items = [next(cast) for _ in a]
            return items if type(a) is list else tuple(items) if type(a) is tuple else type(a)(*items)
        return next(cast)

    args = tuple(rebuild(a) for a in args)
    kwargs = {k: rebuild(v) for k, v in kwargs.items()}
    _suspended += 1
    active = False
    try:
        return fn(*args, **kwargs)
    finally:
        _suspended -= 1
        _refresh_active()
