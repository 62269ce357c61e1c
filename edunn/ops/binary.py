"""Binary math beyond the four operations: remainders, ``atan2``, ``maximum``, ``logaddexp``,
``xlogy``, ``lerp`` ...; and the floating-point and integer toolbox: ``ldexp``/``frexp``,
``nextafter``, ``signbit``, ``heaviside``, ``gcd``/``lcm``.

Each op follows ``elementwise.py``'s pattern: ``_binary`` promotes the operands to PyTorch's result
dtype, ``forward`` computes on arrays, ``backward`` is written with tensor ops (so it is itself
differentiable) and returns full-size gradients that the engine sums back to each input's shape.
Reached as ``edunn.atan2`` ... and, through ``elementwise.py``, by ``Tensor``'s methods.
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend, return_types
from ..autograd.function import Function
from ..tensor import Tensor
from ._out import write_out
from ._operands import _widened
from .elementwise import (_FLOATS, _apply, _as_floats, _binary, _check_int_divisor, _conj, _where, _xp,
                          _zeros_of, div, mul, pow, sigmoid)
from ..amp import _policy as _autocast

__all__ = ['remainder', 'fmod', 'float_power', 'atan2', 'arctan2', 'hypot', 'maximum', 'minimum',
           'fmax', 'fmin', 'logaddexp', 'logaddexp2', 'xlogy', 'copysign', 'lerp', 'addcmul',
           'addcdiv', 'ldexp', 'frexp', 'nextafter', 'signbit', 'heaviside', 'gcd', 'lcm']


class _BinaryOp(Function):
    """``y = xp.<op>(a, b)`` on the promoted operands (made floating point first when
    ``to_float``), saving both inputs for ``backward``."""
    op, to_float = "", False

    @classmethod
    def forward(cls, ctx, a, b):
        ad, bd = _binary(a, b)
        if cls.to_float:
            ad, bd = _as_floats(ad, bd)
        ctx.save_for_backward(a, b)
        return getattr(_xp(ad if hasattr(ad, "dtype") else bd), cls.op)(ad, bd)


class Remainder(Function):
    """``y = a - floor(a / b) * b`` (the sign of b, like Python's ``%``);
    dy/da = 1, dy/db = -floor(a / b)."""
    op, rounding_mode = "remainder", "floor"

    @classmethod
    def forward(cls, ctx, a, b):
        ad, bd = _binary(a, b)
        _check_int_divisor(ad, bd)
        if ctx._next[1] is not None:  # a's gradient is 1: the operands serve b's alone
            ctx.save_for_backward(a, b)
        return getattr(_xp(ad if hasattr(ad, "dtype") else bd), cls.op)(ad, bd)

    @classmethod
    def backward(cls, ctx, grad):
        if not ctx.needs_input_grad[1]:
            return grad, None
        a, b = ctx.saved_tensors
        return grad, -grad * div(a, b, rounding_mode=cls.rounding_mode)


class Fmod(Remainder):
    """``y = a - trunc(a / b) * b`` (the sign of a, like C's ``fmod``);
    dy/da = 1, dy/db = -trunc(a / b)."""
    op, rounding_mode = "fmod", "trunc"


class Atan2(_BinaryOp):
    """``y = atan2(a, b)``, the angle of the point (b, a);
    dy/da = b / (a^2 + b^2), dy/db = -a / (a^2 + b^2)."""
    op, to_float = "arctan2", True

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        r2 = a * a + b * b
        return grad * b / r2, -grad * a / r2


class Hypot(Function):
    """``y = sqrt(a^2 + b^2)``;  dy/da = a / y, dy/db = b / y."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _as_floats(*_binary(a, b))
        y = _xp(ad if hasattr(ad, "dtype") else bd).hypot(ad, bd)
        need_a, need_b = ctx._next   # each operand only for its own gradient
        ctx.save_for_backward(a if need_a is not None else None, b if need_b is not None else None, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, b, y = ctx.saved_tensors
        need_a, need_b = ctx.needs_input_grad
        return (grad * a / y if need_a else None), (grad * b / y if need_b else None)


class Maximum(_BinaryOp):
    """``y = max(a, b)`` elementwise (NaN propagates); the gradient goes to the larger input and
    is split in halves on ties, as in PyTorch."""
    op = "maximum"

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        wins = (a > b) if cls.op == "maximum" else (a < b)
        share = wins + (a == b) * 0.5  # 1 where a wins, 1/2 on ties, 0 where b wins
        # the loser's gradient is 0 even where grad is NaN or infinite, as PyTorch's
        return _where(share == 0, 0.0, grad * share), _where(share == 1, 0.0, grad * (1 - share))


class Minimum(Maximum):
    """``y = min(a, b)`` elementwise (NaN propagates); ties split the gradient in halves."""
    op = "minimum"


class Fmax(_BinaryOp):
    """``y = fmax(a, b)``: like ``maximum`` but a NaN loses to a number; the whole gradient goes
    to the selected input (to ``a`` on ties), as in PyTorch."""
    op = "fmax"

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        from .comparison import isnan, logical_or
        pick_a = logical_or((a >= b) if cls.op == "fmax" else (a <= b), isnan(b))
        return _where(pick_a, grad, 0.0), _where(pick_a, 0.0, grad)


class Fmin(Fmax):
    """``y = fmin(a, b)``: like ``minimum`` but a NaN loses to a number."""
    op = "fmin"


class LogAddExp(_BinaryOp):
    """``y = log(e^a + e^b)`` (base 2 with ``logaddexp2``), computed stably;
    dy/da = sigmoid((a - b) ln base), dy/db = sigmoid((b - a) ln base).

    Complex operands (``logaddexp`` only, as PyTorch): see :func:`_logaddexp_complex`; the
    gradients are conjugated, ``grad * conj(sigmoid(a - b))`` = PyTorch's ``grad / (1 +
    exp(b - a)).conj()``.  PyTorch has no complex ``logaddexp2`` and says so."""
    op, to_float, ln_base = "logaddexp", True, 1.0
    supports_complex = True

    @classmethod
    def forward(cls, ctx, a, b):
        ad, bd = _binary(a, b)
        arr = ad if hasattr(ad, "dtype") else bd
        xp = _xp(arr)
        if arr.dtype.kind == "c":
            if cls.ln_base != 1.0:
                kind = "cuda" if backend.is_cupy_array(arr) else "cpu"
                name = "ComplexFloat" if arr.dtype == backend.complex64.np else "ComplexDouble"
                raise NotImplementedError(f'"{cls.op}_{kind}" not implemented for \'{name}\'')
            ctx.save_for_backward(a, b)
            return _logaddexp_complex(xp, xp.asarray(ad, dtype=arr.dtype), xp.asarray(bd, dtype=arr.dtype))
        ctx.save_for_backward(a, b)
        return getattr(xp, cls.op)(*_as_floats(ad, bd))

    @classmethod
    def backward(cls, ctx, grad):
        a, b = ctx.saved_tensors
        d = (a - b) * cls.ln_base if cls.ln_base != 1.0 else a - b
        return grad * _conj(sigmoid(d)), grad * _conj(sigmoid(-d))


class LogAddExp2(LogAddExp):
    """``y = log2(2^a + 2^b)``."""
    op, ln_base = "logaddexp2", math.log(2.0)
    supports_complex = True  # to raise PyTorch's own NotImplementedError (see LogAddExp.forward)


def _logaddexp_complex(xp: Any, a: Any, b: Any) -> Any:
    """PyTorch's complex ``logaddexp``: with ``hi`` the operand of larger real part and ``lo``
    the other, ``log1p(exp(lo - hi)) + hi`` (``|exp(lo - hi)| <= 1``, so nothing overflows).
    As PyTorch: a NaN anywhere gives ``nan+nanj``; two real parts of -inf give ``lo`` (its
    angle is arbitrary), two of +inf ``log(exp(lo) + exp(hi))``.  ``log1p`` of a complex ``w``
    is written with real functions (CuPy's ``log1p`` is real-only):
    ``log|1 + w| = log1p(2 Re w + |w|^2) / 2`` and ``arg(1 + w) = atan2(Im w, 1 + Re w)``."""
    first_lo = a.real < b.real   # PyTorch takes the second operand as ``lo`` on a tie
    lo, hi = xp.where(first_lo, a, b), xp.where(first_lo, b, a)
    with backend.numpy.errstate(all="ignore"):
        w = xp.exp(lo - hi)
        x, y = w.real, w.imag
        out = 0.5 * xp.log1p(x * (2 + x) + y * y) + 1j * xp.arctan2(y, 1 + x)
        out = (out + hi).astype(a.dtype, copy=False)
        lo_r = lo.real
        tie = ~xp.isfinite(lo_r) & (lo_r == hi.real)
        out = xp.where(tie & (lo_r < 0), lo, out)
        out = xp.where(tie & (lo_r > 0), xp.log(xp.exp(lo) + xp.exp(hi)), out)
        nan = xp.isnan(a) | xp.isnan(b)
    return xp.where(nan, xp.asarray(complex(math.nan, math.nan), dtype=a.dtype), out)


def _masked_zero(g: Tensor, x: Tensor, outside: Any) -> Tensor:
    """``g`` with 0 where ``x == 0`` and ``outside`` (a bool tensor or a Python bool) holds:
    PyTorch's ``masked_fill`` in the gradients of ``xlogy`` and ``xlog1py``."""
    if not isinstance(outside, Tensor):
        return _where(x == 0, 0.0, g) if outside else g
    return _where((x == 0) & outside, 0.0, g)


class Xlogy(Function):
    """``y = x * log(other)``, with 0 where x == 0 (unless other is NaN);
    dy/dx = log(other), dy/dother = x / other.  As PyTorch, dy/dx is 0 where x == 0 and
    other <= 0 (where log is -inf or NaN), and a zero gradient gives 0 (``xlogy(grad, other)``).
    ``XLog1py`` (normal.py) is the same with ``log1p``: ``log_name``, its pole and its function."""
    log_name, pole = "log", 0.0
    function = staticmethod(lambda a, b: xlogy(a, b))

    @classmethod
    def forward(cls, ctx, x, other):
        xd, od = _as_floats(*_binary(x, other))
        arr = xd if hasattr(xd, "dtype") else od
        xp = _xp(arr)
        ctx.save_for_backward(x, other)
        with backend.numpy.errstate(divide="ignore", invalid="ignore"):
            y = xd * getattr(xp, cls.log_name)(od)  # log of a number is a float64 scalar: cast back below
        return xp.where((xd == 0) & ~xp.isnan(od), 0, y).astype(arr.dtype, copy=False)

    @classmethod
    def backward(cls, ctx, grad):
        x, other = ctx.saved_tensors
        need_x, need_o = ctx.needs_input_grad
        gx = _masked_zero(cls.function(grad, other), x, other <= cls.pole) if need_x else None
        go = grad * x / (other - cls.pole) if need_o else None
        return gx, go


class Copysign(Function):
    """``y = |a| * sign(b)``;  dy/da = y / a (0 where a == 0), no gradient for b."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _as_floats(*_binary(a, b))
        y = _xp(ad if hasattr(ad, "dtype") else bd).copysign(ad, bd)
        if ctx._next[0] is not None:  # b gets no gradient: nothing to keep for it
            ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        ga = None
        if ctx.needs_input_grad[0]:
            a, y = ctx.saved_tensors
            ga = grad * _where(a == 0, 0.0, y / _where(a == 0, 1.0, a))
        return ga, (_zeros_of(grad) if ctx.needs_input_grad[1] else None)


def remainder(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """``input % other`` with the sign of ``other``, as Python's ``%``."""
    return write_out(_apply(Remainder, input, other), out)


def fmod(input: Any, other: Any, *, out: Any = None) -> Tensor:
    """C's ``fmod``: the remainder with the sign of ``input``."""
    return write_out(_apply(Fmod, input, other), out)


def float_power(input: Any, exponent: Any, *, out: Any = None) -> Tensor:
    """``input ** exponent`` computed in double precision (PyTorch's ``float_power``): float64,
    or complex128 when either operand is complex."""
    is_complex = any(isinstance(v, complex) or isinstance(v, Tensor) and v.is_complex() for v in (input, exponent))
    dtype, number = (backend.complex128, complex) if is_complex else (backend.float64, float)

    def cast(v):
        return v.to(dtype) if isinstance(v, Tensor) else number(v)
    return write_out(pow(cast(input), cast(exponent)), out)


def atan2(input: Any, other: Any, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "atan2" in _autocast.listed: return _autocast.call("atan2", atan2, input, other, out=out)  # noqa: E501,E701
    return write_out(_apply(Atan2, input, other), out)


arctan2 = atan2


def hypot(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Hypot, input, other), out)


def maximum(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Maximum, input, other), out)


def minimum(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Minimum, input, other), out)


def fmax(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Fmax, input, other), out)


def fmin(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Fmin, input, other), out)


def logaddexp(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(LogAddExp, input, other), out)


def logaddexp2(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(LogAddExp2, input, other), out)


def xlogy(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Xlogy, input, other), out)


def copysign(input: Any, other: Any, *, out: Any = None) -> Tensor:
    return write_out(_apply(Copysign, input, other), out)


class Lerp(Function):
    """``y = input + w (end - input)``, with PyTorch's formula, exact at both ends: as written
    where ``|w| < 0.5``, else ``end - (end - input)(1 - w)``.  dy/dinput = 1 - w, dy/dend = w,
    dy/dw = end - input (a weight tensor).  Complex operands or weight: those, conjugated."""
    supports_complex = True

    @staticmethod
    def forward(ctx, input, end, weight):
        ad, bd = _binary(input, end)
        dtype = ad.dtype
        ad, bd = _widened(ad), _widened(bd)   # float16/bfloat16: in float32, rounded once
        xp = _xp(ad)
        w = _widened(weight._data) if isinstance(weight, Tensor) else weight
        diff = bd - ad
        if isinstance(weight, Tensor):
            out = xp.where(xp.abs(w) < 0.5, ad + w * diff, bd - diff * (1 - w))
        else:
            out = ad + w * diff if abs(w) < 0.5 else bd - diff * (1 - w)
        # as PyTorch keeps them: the ends for the weight's gradient, a weight tensor for theirs
        need_input, need_end, need_weight = ctx._next
        ends = need_weight is not None
        tensor_w = isinstance(weight, Tensor) and (need_input is not None or need_end is not None)
        ctx.weight = None if isinstance(weight, Tensor) else weight
        ctx.save_for_backward(input if ends else None, end if ends else None, weight if tensor_w else None)
        return out.astype(dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        input, end, w = ctx.saved_tensors
        if ctx.weight is not None:
            w = ctx.weight
        if grad._data.dtype.kind == "c":
            input, end, w = _conj(input), _conj(end), _conj(w)
        need_input, need_end, need_weight = ctx.needs_input_grad
        return (grad * (1 - w) if need_input else None), (grad * w if need_end else None), \
            (grad * (end - input) if need_weight else None)


def lerp(input: Tensor, end: Tensor, weight: Any, *, out: Any = None) -> Tensor:
    """``input + weight * (end - input)`` (``weight`` a number or a tensor), computed as PyTorch
    does so that weight 1 gives ``end`` exactly; gradients 1 - weight, weight and end - input."""
    return write_out(Lerp.apply(input, end, weight), out)


def addcmul(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1, out: Any = None) -> Tensor:
    """``input + value * tensor1 * tensor2``."""
    if _autocast.active and out is None and "addcmul" in _autocast.listed: return _autocast.call("addcmul", addcmul, input, tensor1, tensor2, value=value, out=out)  # noqa: E501,E701
    tensor1, tensor2 = _promoted_with(input, tensor1, tensor2)
    rounding, (input, tensor1, tensor2) = _widened_operands(input, tensor1, tensor2)
    prod = tensor1 * tensor2
    y = input + (prod if value == 1 else prod * value)
    return write_out(y if rounding is None else y.to(rounding), out)


def _widened_operands(*tensors: Any) -> tuple:
    """``(dtype, tensors)``: float16/bfloat16 tensors in float32 and the dtype to round the result
    to once, as PyTorch's fused kernels (``addcmul``, ``addcdiv``) compute; ``(None, tensors)``
    for anything else."""
    dtype = tensors[0].dtype if isinstance(tensors[0], Tensor) else None
    if dtype not in (backend.float16, backend.bfloat16) or \
            not all(isinstance(t, Tensor) and t.dtype is dtype for t in tensors):
        return None, tensors
    return dtype, tuple(t.to(backend.float32) for t in tensors)


def _promoted_with(input: Tensor, tensor1: Tensor, tensor2: Tensor) -> tuple:
    """``tensor1`` and ``tensor2`` in the dtype of all three operands, as PyTorch computes
    ``addcmul``/``addcdiv`` (two uint8 factors of a float input multiply as floats, not mod 256)."""
    if not all(isinstance(t, Tensor) for t in (input, tensor1, tensor2)):
        return tensor1, tensor2
    pair = backend.result_type(tensor1.dtype, tensor1.ndim, tensor2.dtype, tensor2.ndim)
    dtype = backend.result_type(input.dtype, input.ndim, pair, max(tensor1.ndim, tensor2.ndim))
    return tuple(t if t.dtype is dtype else t.to(dtype) for t in (tensor1, tensor2))


def addcdiv(input: Tensor, tensor1: Tensor, tensor2: Tensor, *, value: Any = 1, out: Any = None) -> Tensor:
    """``input + value * tensor1 / tensor2``."""
    if _autocast.active and out is None and "addcdiv" in _autocast.listed: return _autocast.call("addcdiv", addcdiv, input, tensor1, tensor2, value=value, out=out)  # noqa: E501,E701
    if not any(t.is_floating_point() or t.is_complex() for t in (tensor1, tensor2)):
        raise RuntimeError("Integer division with addcdiv is no longer supported, and in a future "
                           "release addcdiv will perform a true division of tensor1 and tensor2.")
    tensor1, tensor2 = _promoted_with(input, tensor1, tensor2)
    rounding, (input, tensor1, tensor2) = _widened_operands(input, tensor1, tensor2)
    quot = tensor1 / tensor2
    y = input + (quot if value == 1 else quot * value)
    return write_out(y if rounding is None else y.to(rounding), out)


# ---------------------------------------------------------------------------------------- floats, bits, integers
def _need_tensors(op: str, **args: Any) -> None:
    """PyTorch's TypeError for an argument that must be a Tensor (``gcd(x, 3)``)."""
    for pos, (name, value) in enumerate(args.items(), 1):
        if not isinstance(value, Tensor):
            raise TypeError(f"{op}(): argument '{name}' (position {pos}) must be Tensor, "
                            f"not {type(value).__name__}")


def _not_implemented(op: str, arr: Any) -> NotImplementedError:
    return NotImplementedError(f'"{op}_cpu" not implemented for \'{backend.dtype_of(arr).scalar_name}\'')


def _pow2(x: Tensor, other: Tensor) -> Tensor:
    """``2^other`` as PyTorch's ldexp makes it: from the number 2.0 (float32 for an integer other)
    when ``x`` is an integer, float32 or complex64 tensor, else from a 0-d tensor of ``x``'s dtype
    (of float64 for complex128)."""
    dtype = backend.float64.np if x.dtype is backend.complex128 else x._data.dtype
    if dtype in _FLOATS and dtype != backend.float32.np:
        return pow(Tensor._make(_xp(x).full((), 2.0, dtype=dtype)), other)
    return pow(2.0, other)


class Ldexp(Function):
    """``y = input * 2^other``;  dy/dinput = 2^other, dy/dother = 2^other * input * ln 2.

    A float input with an integer exponent is scaled exactly, by C's ``ldexp`` (the exponent
    taken as a 32-bit integer, as PyTorch), in the input's dtype; otherwise ``y`` is
    ``input * pow(2.0, other)`` with PyTorch's dtypes, so ``2^other`` may overflow on its own.
    Complex operands: the same gradients, conjugated."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, other):
        xd, ed = x._data, other._data
        ctx.save_for_backward(x, other)
        ctx.exact = xd.dtype in _FLOATS and ed.dtype.kind in "biu"
        if not ctx.exact:
            with backend.numpy.errstate(all="ignore"):  # inf and NaN results, silently as PyTorch
                return mul(x, _pow2(x, other))._data
        if ed.dtype == bool:
            raise NotImplementedError('"ldexp_cpu_exp" not implemented for \'Bool\'')
        src = xd.astype(backend.float32.np) if x.dtype is backend.bfloat16 else xd
        with backend.numpy.errstate(over="ignore", under="ignore"):
            return _xp(x).ldexp(src, ed.astype(backend.int32.np)).astype(xd.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        x, other = ctx.saved_tensors
        if ctx.exact:  # the exponent is an integer: no gradient, and 2^other scales exactly
            return Ldexp.apply(grad, other), None
        gx = grad * _conj(_pow2(x, other))
        return gx, (gx * _conj(x) * math.log(2.0) if ctx.needs_input_grad[1] else None)


class Frexp(Function):
    """``input = mantissa * 2^exponent`` with ``0.5 <= |mantissa| < 1`` (0, +-inf and NaN give
    themselves and exponent 0);  d mantissa/d input = 2^-exponent, the int32 exponent has none."""

    @staticmethod
    def forward(ctx, x):
        xd = x._data
        if xd.dtype not in _FLOATS:
            raise RuntimeError("torch.frexp() only supports floating-point dtypes")
        xp = _xp(x)
        mantissa, exponent = xp.frexp(xd.astype(backend.float32.np) if x.dtype is backend.bfloat16 else xd)
        # C leaves the exponent of inf and NaN unspecified (CUDA's frexp); NumPy and PyTorch give 0
        exponent = xp.where(xp.isfinite(xd), exponent, 0).astype(backend.int32.np)
        ctx.exponent = exponent
        return mantissa.astype(xd.dtype, copy=False), exponent

    @staticmethod
    def backward(ctx, grad, grad_exponent):
        return Ldexp.apply(grad, Tensor._make(-ctx.exponent))


class Nextafter(Function):
    """``y`` = the float next to ``input`` in the direction of ``other`` (``input`` if equal);
    dy/dinput = 1, dy/dother = 0 (PyTorch's convention for this step of one ulp)."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary(a, b)
        if ad.dtype not in _FLOATS:
            raise _not_implemented("nextafter", ad)
        xp = _xp(ad)
        with backend.numpy.errstate(over="ignore"):  # the largest float steps to inf, silently
            # C returns other when the two are equal (-0.0 towards 0.0 is 0.0); NumPy's float16 input
            return xp.where(ad == bd, bd, xp.nextafter(ad, bd))

    @staticmethod
    def backward(ctx, grad):
        return grad, _zeros_of(grad)


class Signbit(Function):
    """``y = input < 0`` as bools; for floats the sign bit itself, so -0.0 and a NaN with the sign
    bit set give True.  Not differentiable (a bool result)."""

    @staticmethod
    def forward(ctx, x):
        xd = x._data
        xp = _xp(x)
        if xd.dtype in _FLOATS:
            return xp.signbit(xd.astype(backend.float32.np) if x.dtype is backend.bfloat16 else xd)
        return xd < 0 if xd.dtype.kind == "i" else xp.zeros(xd.shape, bool)


class Heaviside(Function):
    """``y = 0`` where ``input < 0`` (and where it is NaN), ``values`` where ``input == 0``, 1 where
    ``input > 0``.  No derivative: PyTorch raises at backward (it would be a Dirac delta at 0)."""

    @staticmethod
    def forward(ctx, x, values):
        xd, vd = _binary(x, values)
        return _xp(xd).where(xd == 0, vd, xd > 0).astype(xd.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::heaviside is not implemented")


def _gcd_array(xp: Any, a: Any, b: Any) -> Any:
    """Euclid's algorithm on whole arrays, as PyTorch's ``calc_gcd``: ``a, b = |a|, |b|``, then
    ``a, b = b % a, a`` (C's truncating remainder) until ``a == 0``.  Run a fixed number of times,
    enough for the dtype (Lame: at most 1.44 log2(max) + 2 steps, 93 for int64), so no step reads
    data back to decide whether to stop; finished elements just keep ``a == 0``.  ``|INT_MIN|``
    stays negative, as in C, so ``gcd(5, INT64_MIN)`` is -1 as in PyTorch."""
    a, b = xp.abs(a), xp.abs(b)
    for _ in range(int(1.45 * 8 * a.dtype.itemsize) + 3):
        going = a != 0
        a, b = xp.where(going, xp.fmod(b, xp.where(going, a, 1)), 0), xp.where(going, a, b)
    return b


class Gcd(Function):
    """``y = gcd(|input|, |other|)``, 0 for two zeros (integer tensors only; no gradient)."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary(a, b)
        if ad.dtype.kind not in "iu":
            raise _not_implemented("gcd", ad)
        return _gcd_array(_xp(ad), ad, bd)


class Lcm(Function):
    """``y = |input / gcd * other|``, 0 where either is 0.  As in C (PyTorch's ``calc_lcm``), 8- and
    16-bit operands are computed as 32-bit ints and the result wraps back into the dtype, so
    ``lcm(63, 65)`` in int8 is -1 (4095 wrapped), where int8 arithmetic would give ``|-1| = 1``."""

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary(a, b)
        if ad.dtype.kind not in "iu":
            raise _not_implemented("lcm", ad)
        xp = _xp(ad)
        g = _gcd_array(xp, ad, bd)
        wide = backend.int32.np if ad.dtype.itemsize < 4 else ad.dtype
        a32, b32, g32 = (v.astype(wide) for v in xp.broadcast_arrays(ad, bd, g))
        with backend.numpy.errstate(over="ignore"):
            y = xp.where(g32 == 0, 0, xp.abs((a32 // xp.where(g32 == 0, 1, g32)) * b32))
        return y.astype(ad.dtype)


def ldexp(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """``input * 2^other``, exact for a float ``input`` and an integer ``other``.

    Differs from PyTorch 2.13 in one place, deliberately: the gradient for an integer ``other``
    is ``grad * 2^other`` here, where PyTorch computes ``2^other`` in integer arithmetic (0 for
    negative exponents, wrapping from 63 on)."""
    _need_tensors("ldexp", input=input, other=other)
    return write_out(_apply(Ldexp, input, other), out)


def frexp(input: Tensor, *, out: Any = None) -> Any:
    """``(mantissa, exponent)`` with ``input = mantissa * 2^exponent``, ``0.5 <= |mantissa| < 1``,
    the exponent as int32.  The mantissa's gradient is ``grad * 2^-exponent``, scaled exactly
    (PyTorch divides by ``exponent.exp2()`` in float32, which is 0 or inf beyond 2^+-127)."""
    mantissa, exponent = Frexp.apply(input)
    return write_out(return_types.frexp(mantissa, exponent), out)


def nextafter(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """The next floating-point value after ``input`` towards ``other``."""
    _need_tensors("nextafter", input=input, other=other)
    return write_out(_apply(Nextafter, input, other), out)


def signbit(input: Tensor, *, out: Any = None) -> Tensor:
    """True where the sign bit of ``input`` is set (``-0.0`` included)."""
    return write_out(Signbit.apply(input), out)


def heaviside(input: Tensor, values: Tensor, *, out: Any = None) -> Tensor:
    """The step function: 0 below 0, ``values`` at 0, 1 above; ``values`` must have ``input``'s
    dtype."""
    _need_tensors("heaviside", input=input, values=values)
    if input.dtype.is_complex or values.dtype.is_complex:
        raise RuntimeError("heaviside is not yet implemented for complex tensors.")
    if input.dtype is not values.dtype:
        raise RuntimeError("heaviside is not yet implemented for tensors with different dtypes.")
    return write_out(_apply(Heaviside, input, values), out)


def gcd(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """The greatest common divisor of integer tensors (``gcd(0, 0) = 0``)."""
    _need_tensors("gcd", input=input, other=other)
    return write_out(_apply(Gcd, input, other), out)


def lcm(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """The least common multiple of integer tensors (0 where either is 0)."""
    _need_tensors("lcm", input=input, other=other)
    return write_out(_apply(Lcm, input, other), out)
