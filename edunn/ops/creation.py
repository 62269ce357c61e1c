"""Making tensors: ``tensor``, ``zeros``, ``arange``, ``rand`` ... and their ``*_like`` forms.

None of these is differentiable -- they make leaves.  Each takes PyTorch's ``dtype``, ``device``
and ``requires_grad`` keywords.  Random ones draw from the default generator of the tensor's
device (seeded by ``edunn.manual_seed``) or from the ``generator=`` passed in.  The streams of
random numbers are NumPy's/CuPy's, so they differ from PyTorch's; distributions and shapes match.
The random constructors (``rand``, ``randn``, ``normal``, ``multinomial`` ...) and the samplers
behind ``Tensor.uniform_`` & co. are in ``creation_random.py`` (re-exported here).
``out=`` writes into a given tensor (its dtype and device then rule); ``layout=`` must be the dense
``torch.strided``; ``pin_memory=`` has no effect on NumPy's host memory (see ``_check_layout``).
"""
from __future__ import annotations

import math
import numbers
from typing import Any, Sequence

from .. import backend
from ..backend import as_dtype, get_default_dtype
from ..tensor import Tensor
from ._out import write_out

float32, float64, int64, bool_ = backend.float32, backend.float64, backend.int64, backend.bool_

__all__ = ['tensor', 'as_tensor', 'asarray', 'from_numpy', 'zeros', 'ones', 'empty', 'full', 'zeros_like', 'ones_like', 'empty_like', 'full_like', 'arange', 'linspace', 'logspace', 'eye', 'rand', 'randn', 'randint', 'randperm', 'normal', 'rand_like', 'randn_like', 'randint_like', 'bernoulli', 'multinomial']



# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _size(size: Sequence) -> tuple:
    """``zeros(2, 3)``, ``zeros((2, 3))`` and ``zeros([2, 3])`` all mean (2, 3)."""
    if len(size) == 1 and isinstance(size[0], (tuple, list)) or (len(size) == 1 and hasattr(size[0], "_data") and size[0].ndim == 1):
        size = tuple(size[0])
    out = []
    for s in size:
        if isinstance(s, bool) or not isinstance(s, numbers.Integral) and not hasattr(s, "__index__"):
            raise TypeError(f"size must be a tuple of ints, but got an element of type {type(s).__name__}")
        s = int(s)
        if s < 0:
            raise RuntimeError(f"Trying to create tensor with negative dimension {s}: {list(size)}")
        out.append(s)
    return tuple(out)


def _finish(array: Any, requires_grad: bool) -> Tensor:
    t = Tensor._make(array)
    if requires_grad:
        t.requires_grad_(True)
    return t


def _infer_dtype(data: Any) -> backend.dtype:
    """PyTorch's inference for Python data: any float -> the default dtype, ints -> int64,
    all bools -> bool; NumPy scalars count with their own dtype, promoted with the rest
    (``[np.int32(1), np.int32(2)]`` is int32, ``[np.int16(1), 2]`` int64)."""
    kind = 0
    seen = False  # ``tensor([])`` holds no value to infer from: the default dtype
    python_seen = False  # Python numbers (and tensors) seen, besides NumPy scalars
    numpy_dtype = None   # the promoted dtype of the NumPy scalars seen
    stack = [data]
    while stack:
        item = stack.pop()
        if isinstance(item, (list, tuple)):
            stack.extend(item)
            continue
        seen = True
        if isinstance(item, Tensor):
            d = item.dtype
            if d._kind >= 2:
                if not isinstance(data, (list, tuple)) and kind < d._kind and d not in (float32, backend.complex64):
                    return d
                return get_default_dtype() if d._kind == 2 else backend.default_complex_dtype()
            kind = max(kind, d._kind)
        elif hasattr(item, "dtype") and type(item) not in (bool, int, float):
            # a NumPy scalar (NumPy registers them as numbers.Integral/Real): its own dtype,
            # promoted with the rest
            d = backend.dtype_of(item)
            numpy_dtype = d if numpy_dtype is None else backend.promote_types(numpy_dtype, d)
            continue
        elif isinstance(item, bool):
            pass
        elif isinstance(item, numbers.Integral):
            kind = max(kind, 1)
        elif isinstance(item, numbers.Real):
            kind = 2
        elif isinstance(item, complex):  # after numbers.Real: a complex is not Real
            kind = 3
            backend._note_complex()
        else:
            raise TypeError(f"Could not infer dtype of {type(item).__name__}")
        python_seen = True
    if not seen:
        return get_default_dtype()
    python_dtype = (bool_, int64, get_default_dtype(), backend.default_complex_dtype())[kind]
    if numpy_dtype is None:
        return python_dtype
    return backend.promote_types(numpy_dtype, python_dtype) if python_seen else numpy_dtype


def _to_array(data: Any, dtype: Any = None, device: Any = None) -> Any:
    """An array on ``device`` holding ``data`` (Python numbers, nested lists, tensors, arrays)."""
    dev = backend.factory_device(device, infer=True)
    if isinstance(data, Tensor):
        arr = data._data
        if dev is None:
            dev = backend.device_of(arr)
    elif hasattr(data, "__array__") or backend.is_cupy_array(data):
        arr = data
        if dev is None:
            dev = backend.device_of(arr)
        if dtype is None and not backend.is_cupy_array(arr):
            arr = backend.numpy.asarray(arr)
            if arr.dtype not in backend._BY_NP:
                if arr.dtype in (backend.complex64.np, backend.complex128.np):
                    backend._note_complex()
                elif arr.dtype.kind == "c":
                    arr = arr.astype(backend.complex128.np)
                elif arr.dtype.kind == "f":
                    arr = arr.astype(backend.numpy.float64)
                elif arr.dtype.kind in "iu":
                    arr = arr.astype(backend.numpy.int64)
                else:
                    raise TypeError(f"can't convert an array of dtype {arr.dtype}; edunn supports "
                                    "bool, uint8, int8/16/32/64, float16, bfloat16, float32, float64, "
                                    "complex64, complex128")
    else:
        if isinstance(data, (list, tuple)) and any(isinstance(x, Tensor) for x in _flat(data)):
            data = _tensors_to_nested(data)
        if isinstance(data, range):
            data = list(data)
        inferred = (_infer_dtype(data) if dtype is None else as_dtype(dtype)).np
        try:
            arr = backend.numpy.array(data, dtype=inferred)
        except OverflowError:
            arr = _narrowed(data, inferred)
        except (ValueError, TypeError) as err:
            raise ValueError(f"could not make a tensor from {type(data).__name__}: {err}") from None
        dev = dev or backend.CPU
    if dtype is not None:
        np_dtype = as_dtype(dtype).np
        if arr.dtype != np_dtype:
            arr = arr.astype(np_dtype)
    backend.check_dtype_on_device(arr.dtype, dev)
    return backend.to_device(arr, dev)


def _narrowed(data: Any, np_dtype: Any) -> Any:
    """Python ints outside a small integer dtype, as PyTorch converts them: what fits the
    type's magnitude wraps (``-1`` as uint8 is 255), anything larger is refused."""
    wide = backend.numpy.array(data, dtype=backend.numpy.int64)
    info = backend.numpy.iinfo(np_dtype)
    fits = (abs(wide) <= info.max) if info.min == 0 else ((wide >= info.min) & (wide <= info.max))
    if not fits.all():
        name = backend.dtype_of(backend.numpy.zeros((), np_dtype)).name
        raise RuntimeError(f"value cannot be converted to type {name} without overflow")
    return wide.astype(np_dtype)


def _flat(data):
    for x in data:
        if isinstance(x, (list, tuple)):
            yield from _flat(x)
        else:
            yield x


def _tensors_to_nested(data):
    if isinstance(data, Tensor):
        return data.tolist()
    if isinstance(data, (list, tuple)):
        return [_tensors_to_nested(x) for x in data]
    return data


def _gen(generator: Any, dev: backend.device):
    gen = generator if generator is not None else backend.default_generator(dev)
    if gen.device != dev:
        raise RuntimeError(f"Expected a '{dev.type}' device type for generator but found '{gen.device.type}'")
    return gen.rng



# ----------------------------------------------------------------------------------------------
# from data
# ----------------------------------------------------------------------------------------------
def tensor(data: Any, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
           pin_memory: bool = False, layout: Any = None) -> Tensor:
    """A new leaf tensor holding a copy of ``data`` (``torch.tensor``)."""
    _check_layout(layout)
    arr = _to_array(data, dtype, device)
    if isinstance(data, Tensor) or arr is data or (hasattr(data, "__array__") and not isinstance(data, (list, tuple))):
        arr = arr.copy()
    return _finish(arr, requires_grad)


def as_tensor(data: Any, dtype: Any = None, device: Any = None) -> Tensor:
    """Like ``tensor`` but shares memory with ``data`` when dtype and device already match."""
    if isinstance(data, Tensor):
        dev = backend.factory_device(device, infer=True)
        if (dtype is None or as_dtype(dtype) == data.dtype) and (dev is None or dev == data.device):
            return data
        return data.to(dtype=dtype, device=dev)
    return Tensor._make(_to_array(data, dtype, device))


def asarray(obj: Any, *, dtype: Any = None, device: Any = None, copy: bool | None = None,
            requires_grad: bool | None = None) -> Tensor:
    """``obj`` as a tensor (``torch.asarray``): shares memory with a tensor or array when dtype and
    device allow (``copy=None``), always copies with ``copy=True``, and refuses to copy with
    ``copy=False``.  ``requires_grad=None`` keeps a tensor's own (and its graph), ``False``
    detaches, ``True`` makes the result a new leaf that requires grad."""
    result = as_tensor(obj, dtype, device)
    src = obj._data if isinstance(obj, Tensor) else obj
    xp = backend.array_module(result._data)
    shared = hasattr(src, "dtype") and hasattr(src, "shape") and bool(xp.may_share_memory(result._data, src))
    if copy is True and shared:
        result = Tensor._make(result._data.copy())
    elif copy is False and not shared:
        raise ValueError("asarray(): can't alias the given object with copy=False: a copy is needed "
                         f"(to dtype {dtype}, device {device}, or from a {type(obj).__name__})")
    if requires_grad:
        result = Tensor._make(result._data) if result is obj or result.grad_fn is not None else result
        result.requires_grad_(True)
    elif requires_grad is False and result.requires_grad:
        result = result.detach()
    return result


def from_numpy(ndarray: Any) -> Tensor:
    """A tensor sharing memory with a NumPy array (``torch.from_numpy``)."""
    if not isinstance(ndarray, backend.ndarray):
        raise TypeError(f"expected np.ndarray (got {type(ndarray).__name__})")
    backend.dtype_of(ndarray)
    return Tensor._make(ndarray)


def _check_layout(layout: Any) -> None:
    """``layout=``: edunn's tensors are dense (PyTorch's ``torch.strided``, the default); a sparse
    layout is refused.  ``pin_memory=`` is accepted and has no effect: it asks for page-locked
    host memory to speed up copies to a GPU, and NumPy arrays are ordinary host memory."""
    if layout is not None and str(layout).rpartition(".")[2] != "strided":
        raise RuntimeError(f"edunn tensors are dense: layout must be torch.strided (or None), got {layout}")


def _dtype_device_of_out(out: Any, dtype: Any, device: Any) -> tuple:
    """Creation ops given ``out=`` make their result in ``out``'s dtype and on its device (an
    explicit ``dtype`` must agree, as in PyTorch)."""
    if out is None:
        return dtype, device
    if not isinstance(out, Tensor):
        raise TypeError(f"out= expected a Tensor, got {type(out).__name__}")
    if dtype is not None and as_dtype(dtype) != out.dtype:
        raise RuntimeError(f"dtype {as_dtype(dtype).scalar_name} does not match dtype of out parameter "
                           f"({out.dtype.scalar_name})")
    return out.dtype, out.device if device is None else device


# ----------------------------------------------------------------------------------------------
# filled
# ----------------------------------------------------------------------------------------------
def _filled(kind: str, size: tuple, fill: Any, dtype: Any, device: Any, requires_grad: bool) -> Tensor:
    d = get_default_dtype() if dtype is None else as_dtype(dtype)
    dev = backend.factory_device(device)
    backend.check_dtype_on_device(d.np, dev)
    xp = backend.xp_for(dev)
    with backend.device_context(dev):
        if kind == "zeros":
            arr = xp.zeros(size, d.np)
        elif kind == "ones":
            arr = xp.ones(size, d.np)
        elif kind == "empty":
            arr = xp.empty(size, d.np)
        else:
            arr = xp.full(size, fill, d.np)
    return _finish(arr, requires_grad)


def zeros(*size: Any, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    return write_out(_filled("zeros", _size(size), 0, dtype, device, requires_grad), out)


def ones(*size: Any, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    return write_out(_filled("ones", _size(size), 1, dtype, device, requires_grad), out)


def empty(*size: Any, out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False,
          memory_format: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    return write_out(_filled("empty", _size(size), 0, dtype, device, requires_grad), out)


def full(size: Sequence, fill_value: Any, *, out: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    if dtype is None:
        dtype = _infer_dtype(fill_value.item() if isinstance(fill_value, Tensor) else fill_value)
    if isinstance(fill_value, Tensor):
        fill_value = fill_value.item()
    return write_out(_filled("full", _size((size,) if isinstance(size, int) else tuple(size)), fill_value, dtype, device, requires_grad), out)


def _like(input: Tensor, dtype: Any, device: Any) -> tuple:
    return (input.dtype if dtype is None else dtype, input.device if device is None else device)


def zeros_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               memory_format: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    d, dev = _like(input, dtype, device)
    return _filled("zeros", input._data.shape, 0, d, dev, requires_grad)


def ones_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
              memory_format: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    d, dev = _like(input, dtype, device)
    return _filled("ones", input._data.shape, 1, d, dev, requires_grad)


def empty_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               memory_format: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    d, dev = _like(input, dtype, device)
    return _filled("empty", input._data.shape, 0, d, dev, requires_grad)


def full_like(input: Tensor, fill_value: Any, *, dtype: Any = None, device: Any = None,
              requires_grad: bool = False, memory_format: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    d, dev = _like(input, dtype, device)
    return _filled("full", input._data.shape, fill_value, d, dev, requires_grad)


def full_like_value(input: Tensor, value: Any) -> Tensor:
    """For ``fill_``: ``value`` (a number or a one-element tensor) everywhere, input's dtype."""
    if isinstance(value, Tensor):
        if value.numel() != 1:
            raise RuntimeError(f"fill_ only supports 0-dimension value tensor but got tensor with {value.dim()} dimensions.")
        value = value.item()
    return _filled("full", input._data.shape, value, input.dtype, input.device, False)


# ----------------------------------------------------------------------------------------------
# ranges
# ----------------------------------------------------------------------------------------------
def arange(start: Any, end: Any = None, step: Any = 1, *, out: Any = None, dtype: Any = None,
           device: Any = None, requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    """``[start, end)`` in steps of ``step`` (``arange(5)`` is ``0..4``)."""
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    if end is None:
        start, end = 0, start
    vals = [v.item() if isinstance(v, Tensor) else v for v in (start, end, step)]
    if vals[2] == 0:
        raise RuntimeError("step must be nonzero")
    if (vals[1] - vals[0]) * vals[2] < 0:
        raise RuntimeError(f"upper bound and lower bound inconsistent with step sign: start={vals[0]}, end={vals[1]}, step={vals[2]}")
    if dtype is None:
        dtype = get_default_dtype() if any(isinstance(v, float) for v in vals) else int64
    d, dev = as_dtype(dtype), backend.factory_device(device)
    if d.is_complex:
        raise NotImplementedError(f'"arange_cpu" not implemented for \'{d.scalar_name}\'')
    n = max(0, math.ceil((vals[1] - vals[0]) / vals[2]))
    xp = backend.xp_for(dev)
    with backend.device_context(dev):
        arr = (xp.arange(n, dtype=float64.np) * vals[2] + vals[0]).astype(d.np) if d._kind == 2 \
            else xp.arange(vals[0], vals[0] + n * vals[2], vals[2])[:n].astype(d.np)
    return write_out(_finish(arr, requires_grad), out)


def range_(start: Any = 0, end: Any = None, step: Any = 1, *, dtype: Any = None, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """``torch.range``: like ``arange`` but including ``end`` (deprecated in PyTorch)."""
    if end is None:
        start, end = 0, start
    n = int(math.floor((end - start) / step)) + 1
    return linspace(start, start + (n - 1) * step, n, dtype=dtype or get_default_dtype(), device=device,
                    requires_grad=requires_grad)


def linspace(start: Any, end: Any, steps: int, *, out: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    if steps < 0:
        raise RuntimeError(f"number of steps must be non-negative, got {steps}")
    start, end = (v.item() if isinstance(v, Tensor) else v for v in (start, end))
    if dtype is None:  # complex ends give the default complex type, as in PyTorch
        dtype = backend.default_complex_dtype() if isinstance(start, complex) or isinstance(end, complex) \
            else get_default_dtype()
    d, dev = as_dtype(dtype), backend.factory_device(device)
    xp = backend.xp_for(dev)
    with backend.device_context(dev):
        if steps == 1:
            arr = xp.full((1,), start, backend.complex128.np if d._kind == 3 else float64.np)
        else:
            # PyTorch fills the first half from the start and the second half from the end, each
            # value one fused multiply-add in the output's precision: start + step * i.  For
            # float32 the product and sum are exact in float64, so rounding once to float32
            # gives PyTorch's values bit for bit.
            i = xp.arange(steps, dtype=float64.np)
            if d._kind == 3:  # complex: computed in complex128, rounded once below
                start, end = complex(start), complex(end)
                stepv = (end - start) / (steps - 1)
            elif d._kind == 2 and d is not float64:
                f32 = float32.np.type
                start, end = float(f32(start)), float(f32(end))
                stepv = float(f32(f32(end - start) / f32(steps - 1)))
            else:
                if d._kind < 2:  # integer outputs: PyTorch truncates the ends first
                    start, end = int(start), int(end)
                stepv = (end - start) / (steps - 1)
            arr = xp.where(i < steps // 2, start + stepv * i, end - stepv * (steps - 1 - i))
        arr = arr.astype(d.np) if d._kind >= 2 else xp.trunc(arr).astype(d.np)
    return write_out(_finish(arr, requires_grad), out)


def logspace(start: Any, end: Any, steps: int, base: float = 10.0, *, out: Any = None, dtype: Any = None,
             device: Any = None, requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    exps = linspace(start, end, steps, dtype=float64, device=device)
    d = get_default_dtype() if dtype is None else as_dtype(dtype)
    with backend.device_context(exps.device):
        arr = (base ** exps._data).astype(d.np)
    return write_out(_finish(arr, requires_grad), out)


def eye(n: int, m: int | None = None, *, out: Any = None, dtype: Any = None, device: Any = None,
        requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    d, dev = (get_default_dtype() if dtype is None else as_dtype(dtype)), backend.factory_device(device)
    xp = backend.xp_for(dev)
    with backend.device_context(dev):
        arr = xp.eye(n, n if m is None else m, dtype=d.np)
    return write_out(_finish(arr, requires_grad), out)


# The random constructors and samplers live in creation_random.py; re-exported here.
from .creation_random import (bernoulli, bernoulli_like, cauchy_like, exponential_like,  # noqa: E402
                              geometric_like, log_normal_like, multinomial, normal, normal_like, rand,
                              rand_like, randint, randint_like, randn, randn_like, randperm, random_like,
                              uniform_like)

# The in-place samplers, which ``Tensor.uniform_`` & co. (``_tensor_methods.py``) read from here.
_TENSOR_SAMPLERS = (uniform_like, normal_like, bernoulli_like, random_like, exponential_like,
                    geometric_like, log_normal_like, cauchy_like)
