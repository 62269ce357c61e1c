"""Operands of the elementwise ops: how ``a op b`` reads its inputs, and the helpers backwards use.

Every elementwise op (``add``, ``atan2``, ``eq``, ``lgamma`` ...) starts the same way, so it is
written once, here:

* dtypes: :func:`_binary` casts both operands to PyTorch's result dtype (``int + float`` tensors
  give float, a Python ``2.5`` does not turn a float16 tensor into float64, ...) and checks that
  they are on one device; :func:`_float_array` and :func:`_as_floats` turn integer operands of a
  float-valued function (``exp``, ``atan2`` ...) into the default float dtype;
* broadcasting: forward relies on NumPy's; when the shapes do not broadcast :func:`_apply` raises
  PyTorch's message instead of NumPy's (backward returns full-size gradients and the engine sums
  them back to each input's shape, ``ops/broadcast.py``);
* the small pieces backward formulas are made of: :func:`_where` (a differentiable select with a
  constant mask), :func:`_zeros_of` (the gradient of an input that does not affect the output)
  and :func:`_conj`.

Complex tensors follow PyTorch's convention.  For ``z = x + iy`` and a real loss ``L`` the
gradient stored is ``dL/dx + i dL/dy``, and the backward of a holomorphic op ``w = f(z)`` is
``grad * conj(f'(z))``.  Every op whose derivative ``f'`` is a formula with real coefficients
(``mul``, ``exp``, ``sin`` ...) gets that for free by evaluating its real formula on the
*conjugated* saved values, since ``conj(f'(z)) = f'(conj z)``: :func:`_conj` does it, and costs
one dtype check for real tensors.

These used to open ``elementwise.py``, which re-exports the ones other modules take from it
(``from .elementwise import _binary`` keeps working).  Lesson 01 (dtype promotion, broadcasting)
and lesson 02 (the gradients).
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

_FLOATS = frozenset(d.np for d in backend.ALL_DTYPES if d.is_floating_point)
_NUMPY_FLOATS = _FLOATS - {backend.bfloat16.np}  # NumPy's own floats: scalars stay "weak"
_COMPLEX = frozenset(d.np for d in backend.ALL_DTYPES if d.is_complex)
_INEXACT = _FLOATS | _COMPLEX  # what math functions compute in without casting to float first


_REDUCED = frozenset({backend.float16.np, backend.bfloat16.np})


def _widened(a: Any) -> Any:
    """``a`` in float32 when it is float16 or bfloat16.  PyTorch accumulates sums of those in
    float32 (its ``acc_type``) and rounds once at the end; in their own dtype a sum would round at
    every step, and a sum of squares overflow float16 (above 65504) where the result fits."""
    return a.astype(backend.float32.np) if a.dtype in _REDUCED else a


def _conj(v: Any) -> Any:
    """``conj(v)`` for a complex tensor or number, ``v`` itself otherwise (a real tensor, a real
    number, None).  The backward of a holomorphic op is its real formula on conjugated values
    (see the module docstring); ``edunn.conj`` keeps it differentiable for double backward."""
    if isinstance(v, Tensor):
        if v._data.dtype.kind == "c":
            from .complex import conj
            return conj(v)
        return v
    if isinstance(v, complex):
        return v.conjugate()
    return v


# ----------------------------------------------------------------------------------------------
# operands
# ----------------------------------------------------------------------------------------------
def _check_scalar(value: Any) -> None:
    if not isinstance(value, (int, float, bool, complex)):
        if hasattr(value, "dtype") and hasattr(value, "item") and getattr(value, "ndim", 1) == 0:
            return
        raise TypeError(
            f"unsupported operand: expected a Tensor or a Python number, got {type(value).__name__}")


def _binary(a: Any, b: Any) -> tuple:
    """The arrays (or Python scalars) to compute ``a op b`` on, cast to PyTorch's result dtype."""
    if a.__class__ is not Tensor and not isinstance(a, Tensor):
        _check_scalar(a)
        bd = b._data
        rt = backend.scalar_result_type(backend.dtype_of(bd), a)
        bd = bd if rt.np == bd.dtype else bd.astype(rt.np)
        return _weak_scalar(a, rt, bd), bd
    ad = a._data
    bc = b.__class__
    if bc is float and ad.dtype in _NUMPY_FLOATS:  # the commonest case, x * 0.5: nothing to promote
        return ad, b
    if bc is not Tensor and not isinstance(b, Tensor):
        _check_scalar(b)
        rt = backend.scalar_result_type(backend.dtype_of(ad), b)
        ad = ad if rt.np == ad.dtype else ad.astype(rt.np)
        return ad, _weak_scalar(b, rt, ad)
    bd = b._data
    if ad.__class__ is not bd.__class__ and (backend.is_cupy_array(ad) or backend.is_cupy_array(bd)):
        # a 0-d CPU tensor joins a CUDA op as a number would (PyTorch allows it); else an error
        if bd.ndim == 0 and b.device.type == "cpu":
            bd = backend.to_device(bd, a.device)
        elif ad.ndim == 0 and a.device.type == "cpu":
            ad = backend.to_device(ad, b.device)
        else:
            raise RuntimeError(
                f"Expected all tensors to be on the same device, but found at least two devices, "
                f"{a.device} and {b.device}!")
    elif ad.__class__ is not backend.ndarray and a.device != b.device:  # two GPUs
        raise RuntimeError(
            f"Expected all tensors to be on the same device, but found at least two devices, "
            f"{a.device} and {b.device}!")
    if ad.dtype == bd.dtype:
        return ad, bd
    rt = backend.result_type(backend.dtype_of(ad), ad.ndim, backend.dtype_of(bd), bd.ndim).np
    return (ad if ad.dtype == rt else ad.astype(rt)), (bd if bd.dtype == rt else bd.astype(rt))


def _opmath(a: Any, b: Any, ad: Any, bd: Any) -> tuple:
    """``(ad, bd, rounding)`` for ``a * b`` and ``a / b``: with a float16/bfloat16 tensor and a
    Python number, the tensor data in float32, the number whole, and the dtype to round the
    result to once at the end, as PyTorch's CPU kernels take a number there ("opmath").
    ``x * 0.1`` then rounds ``x * 0.1``, where NumPy would round 0.1 to the tensor's dtype first
    and miss by an ulp a third of the time.  ``(ad, bd, None)`` otherwise: two tensors of one
    dtype already compute in float32 and round once."""
    if isinstance(b, Tensor):
        if isinstance(a, Tensor) or bd.dtype not in _REDUCED:
            return ad, bd, None
        return a, _widened(bd), bd.dtype
    if ad.dtype not in _REDUCED:
        return ad, bd, None
    return _widened(ad), b, ad.dtype


def _scaled(ad: Any, bd: Any, alpha: Any) -> tuple:
    """``(ad, alpha * bd, rounding)`` for ``add``/``sub`` with ``alpha``: for float16/bfloat16,
    PyTorch rounds ``alpha`` (and a number ``b``) to the tensor's dtype, computes ``a + alpha b``
    in float32 and rounds once; NumPy would round ``alpha b`` on its own, and ml_dtypes would
    even return float32 for bfloat16."""
    arr = ad if hasattr(ad, "dtype") else bd
    if arr.dtype not in _REDUCED:
        return ad, alpha * bd, None

    def wide(v):
        return v.astype(backend.float32.np) if hasattr(v, "dtype") else float(arr.dtype.type(v))
    return wide(ad), wide(alpha) * wide(bd), arr.dtype


def _weak_scalar(value: Any, rt: backend.dtype, array: Any) -> Any:
    """NumPy keeps an array's dtype when a Python number joins it (NEP 50), except for
    ``ml_dtypes``' bfloat16, which it widens to float32; a 0-d bfloat16 array keeps it."""
    if rt is backend.bfloat16:
        return backend.array_module(array).asarray(value, dtype=rt.np)
    if value.__class__ is int and rt.np.kind in "iu":
        return _wrapped(value, rt.np)
    return value


def _wrapped(value: int, np_dtype: Any) -> int:
    """A Python int outside an integer dtype's range, wrapped into it as PyTorch casts it
    (``uint8_tensor + -2`` adds 254; NumPy 2 raises OverflowError instead).  Beyond 64 bits
    PyTorch cannot convert it either."""
    info = backend.numpy.iinfo(np_dtype)
    if info.min <= value <= info.max:
        return value
    if not -2 ** 63 <= value < 2 ** 64:
        raise OverflowError("int too big to convert")
    return (value - info.min) % (info.max - info.min + 1) + info.min


def _float_array(x: Tensor) -> Any:
    """The data of ``x`` as floats: math functions of integer tensors give the default dtype."""
    d = x._data
    return d if d.dtype in _INEXACT else d.astype(backend.get_default_dtype().np)


def _xp(x: Any):
    return backend.array_module(x._data if isinstance(x, Tensor) else x)


def _shape_error(a: Any, b: Any, err: Exception) -> Exception:
    """PyTorch's message for operands whose shapes do not broadcast (NumPy raises ValueError)."""
    sa, sb = tuple(getattr(a, "shape", ())), tuple(getattr(b, "shape", ()))
    for i in range(1, min(len(sa), len(sb)) + 1):
        if sa[-i] != sb[-i] and sa[-i] != 1 and sb[-i] != 1:
            return RuntimeError(
                f"The size of tensor a ({sa[-i]}) must match the size of tensor b ({sb[-i]}) at "
                f"non-singleton dimension {max(len(sa), len(sb)) - i}: shapes {list(sa)} and "
                f"{list(sb)} cannot be broadcast together")
    return err


def _apply(cls: type, a: Any, b: Any, *rest: Any) -> Tensor:
    """``cls.apply(a, b, *rest)`` with PyTorch's error when the shapes do not broadcast."""
    try:
        return cls.apply(a, b, *rest)
    except ValueError as err:
        raise _shape_error(a, b, err) from None


class _Where(Function):
    """``y = cond ? a : b`` with a constant boolean ``cond`` (used inside backward formulas);
    dy/da = cond, dy/db = not cond."""
    supports_complex = True

    @staticmethod
    def forward(ctx, cond, a, b):
        ad, bd = _binary(a, b)
        ctx.cond = cond
        xp = _xp(ad if hasattr(ad, "dtype") else bd)
        out = xp.where(cond, ad, bd)
        rt = ad.dtype if hasattr(ad, "dtype") else bd.dtype
        return out.astype(rt, copy=False)

    @staticmethod
    def backward(ctx, grad):
        zero = _zeros_of(grad)
        return None, _Where.apply(ctx.cond, grad, zero), _Where.apply(ctx.cond, zero, grad)


def _where(cond: Any, a: Any, b: Any) -> Tensor:
    """Select from ``a`` where ``cond`` (a bool tensor or array, not differentiated) else ``b``."""
    return _Where.apply(cond._data if isinstance(cond, Tensor) else cond, a, b)


def _zeros_of(grad: Tensor) -> Tensor:
    """The zero gradient of an input that does not affect the output (PyTorch's
    ``zeros_like(grad)``): ``grad * 0`` would be NaN where ``grad`` is NaN or infinite."""
    gd = grad._data
    return Tensor._make(_xp(gd).zeros(gd.shape, gd.dtype))


def _as_floats(ad: Any, bd: Any) -> tuple:
    """Operands of a float-valued op (atan2, hypot ...): integer operands become the default dtype."""
    arr = ad if hasattr(ad, "dtype") else bd
    if arr.dtype in _FLOATS:
        return ad, bd
    f = backend.get_default_dtype().np
    return (ad.astype(f) if hasattr(ad, "dtype") else ad), (bd.astype(f) if hasattr(bd, "dtype") else bd)
