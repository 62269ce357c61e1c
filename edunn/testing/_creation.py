"""``make_tensor``: a random test input of any shape, dtype and device (``torch.testing``).

Values are drawn uniformly from ``[low, high)``: ``randint`` for bool and integer dtypes,
``uniform_`` for floating ones and for both parts of complex ones, with PyTorch's default ranges (bool [0, 2), unsigned [0, 10),
signed [-9, 10), floating [-9, 9)), user bounds clamped to what the dtype can hold.  Options give
the layouts that catch bugs in ops: ``noncontiguous`` (every other element of a tensor twice as
wide), ``memory_format`` (e.g. channels_last), ``exclude_zero`` (for division, log ...).
"""
from __future__ import annotations

import collections.abc
import functools
import math
import warnings
from typing import Any

from .. import backend
from ..tensor import Tensor

__all__ = ["make_tensor"]

_INTEGRAL_TYPES = [backend.uint8, backend.int8, backend.int16, backend.int32, backend.int64]
_FLOATING_TYPES = [backend.float16, backend.bfloat16, backend.float32, backend.float64]
_COMPLEX_TYPES = [backend.complex64, backend.complex128]
_BOOLEAN_OR_INTEGRAL_TYPES = [backend.bool_, *_INTEGRAL_TYPES]


def _uniform_random_(t: Tensor, low: float, high: float) -> Tensor:
    # uniform_ needs high - low to be finite in the dtype: draw half the range and double it
    if high - low >= float(backend.finfo(t.dtype).max):
        return t.uniform_(low / 2, high / 2).mul_(2)
    return t.uniform_(low, high)


def make_tensor(*shape: int | Any, dtype: backend.dtype, device: str | Any, low: float | None = None,
                high: float | None = None, requires_grad: bool = False, noncontiguous: bool = False,
                exclude_zero: bool = False, memory_format: Any = None) -> Tensor:
    r"""A tensor of ``shape`` (ints, or one sequence) on ``device`` filled with values drawn
    uniformly from ``[low, high)``.

    ``low``/``high`` default by dtype (bool 0/2, unsigned integers 0/10, signed integers -9/10,
    floating -9/9) and are clamped to the dtype's finite range; for bool and integer dtypes both
    are rounded up (``randint`` excludes ``high``).  ``requires_grad`` (floating dtypes only),
    ``noncontiguous`` (a strided view; ignored below two elements), ``memory_format`` (not with
    ``noncontiguous``), ``exclude_zero`` (zeros become 1, or the dtype's ``tiny`` for floats).

    Raises ``ValueError`` for ``low >= high``, NaN bounds, a range the dtype cannot hold, both
    ``noncontiguous`` and ``memory_format``, or ``requires_grad`` with an integer dtype;
    ``TypeError`` for a dtype edunn cannot make (complex32, which NumPy lacks).
    """
    from ..ops.complex import view_as_real
    from ..ops.creation import empty, randint

    def modify_low_high(low: float | None, high: float | None, *, lowest_inclusive: float,
                        highest_exclusive: float, default_low: float, default_high: float) -> tuple:
        def clamp(a: float, lo: float, hi: float) -> float:
            return min(max(a, lo), hi)

        low = low if low is not None else default_low
        high = high if high is not None else default_high
        if any(isinstance(value, float) and math.isnan(value) for value in [low, high]):
            raise ValueError(f"`low` and `high` cannot be NaN, but got {low=} and {high=}")
        elif low == high and dtype in _FLOATING_TYPES + _COMPLEX_TYPES:
            warnings.warn("Passing `low==high` to `torch.testing.make_tensor` for floating or complex types "
                          "is deprecated since 2.1 and will be removed in 2.3. Use `torch.full(...)` instead.",
                          FutureWarning, stacklevel=3)
        elif low >= high:
            raise ValueError(f"`low` must be less than `high`, but got {low} >= {high}")
        elif high < lowest_inclusive or low >= highest_exclusive:
            raise ValueError(f"The value interval specified by `low` and `high` is [{low}, {high}), "
                             f"but {dtype} only supports [{lowest_inclusive}, {highest_exclusive})")
        low = clamp(low, lowest_inclusive, highest_exclusive)
        high = clamp(high, lowest_inclusive, highest_exclusive)
        if dtype in _BOOLEAN_OR_INTEGRAL_TYPES:
            # low rounds up so no value falls below it; high (exclusive in randint) rounds up too
            return math.ceil(low), math.ceil(high)
        return low, high

    if len(shape) == 1 and isinstance(shape[0], collections.abc.Sequence):
        shape = shape[0]
    shape = tuple(shape)
    if not isinstance(dtype, backend.dtype):
        raise TypeError(f"make_tensor(): argument 'dtype' must be edunn.dtype, not {type(dtype).__name__}")
    if noncontiguous and memory_format is not None:
        raise ValueError(f"The parameters `noncontiguous` and `memory_format` are mutually exclusive, "
                         f"but got {noncontiguous=} and {memory_format=}")
    if requires_grad and dtype in _BOOLEAN_OR_INTEGRAL_TYPES:
        raise ValueError(f"`requires_grad=True` is not supported for boolean and integral dtypes, but got {dtype=}")
    noncontiguous = noncontiguous and functools.reduce(lambda x, y: x * y, shape, 1) > 1
    if noncontiguous:
        # twice as wide in the last dim, so the view skips real (distinct) values
        shape = (*shape[:-1], 2 * shape[-1])

    if dtype is backend.bool_:
        low, high = modify_low_high(low, high, lowest_inclusive=0, highest_exclusive=2, default_low=0,
                                    default_high=2)
        result = randint(low, high, shape, device=device, dtype=dtype)
    elif dtype in _INTEGRAL_TYPES:
        info = backend.iinfo(dtype)
        # randint's bound is an int64, so int64's maximum itself cannot be drawn
        low, high = modify_low_high(low, high, lowest_inclusive=int(info.min),
                                    highest_exclusive=int(info.max) + (1 if dtype is not backend.int64 else 0),
                                    default_low=-9, default_high=10)
        result = randint(low, high, shape, device=device, dtype=dtype)
    elif dtype in _FLOATING_TYPES:
        info = backend.finfo(dtype)
        low, high = modify_low_high(low, high, lowest_inclusive=float(info.min), highest_exclusive=float(info.max),
                                    default_low=-9, default_high=9)
        result = empty(shape, device=device, dtype=dtype)
        _uniform_random_(result, low, high)
    elif dtype in _COMPLEX_TYPES:  # real and imaginary parts each uniform in [low, high)
        info = backend.finfo(dtype)
        low, high = modify_low_high(low, high, lowest_inclusive=float(info.min), highest_exclusive=float(info.max),
                                    default_low=-9, default_high=9)
        result = empty(shape, device=device, dtype=dtype)
        _uniform_random_(view_as_real(result), low, high)
    else:
        raise TypeError(f"The requested dtype '{dtype}' is not supported by edunn.testing.make_tensor() "
                        "(edunn has no complex32 or float8 dtypes).")

    if noncontiguous:
        result = result[..., 1::2]   # offset by one, to also catch offset bugs
    elif memory_format is not None:
        result = result.clone(memory_format=memory_format)
    if exclude_zero:
        result[result == 0] = 1 if dtype in _BOOLEAN_OR_INTEGRAL_TYPES else float(backend.finfo(dtype).tiny)
    if dtype in _FLOATING_TYPES + _COMPLEX_TYPES:
        result.requires_grad = requires_grad
    return result
