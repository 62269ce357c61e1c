"""Compare numbers, tensors and nested lists without knowing which array library made them.

The grading package does not import numpy or cupy: anything with ``.tolist()`` (an edunn or a
PyTorch tensor, a NumPy or CuPy array) is turned into nested Python lists, which are then
compared element by element. Graders check small inputs, so this is fast enough and works on
every device, and a learner's tensor on the GPU is compared the same way as one on the CPU.

``compare_close`` returns ``None`` when the values match and otherwise a sentence that says
what is wrong in terms a learner can act on: a shape that differs, how many values are wrong,
the first wrong one with its index, the largest difference.
"""

from __future__ import annotations

import math
from typing import Any

Shape = tuple[int, ...]


class NotComparable(TypeError):
    """The value cannot be read as numbers (``None``, a string, a ragged list ...)."""


def to_nested(value: Any) -> Any:
    """``value`` as a Python number or nested lists of numbers (raises ``NotComparable``)."""
    if isinstance(value, (bool, int, float, complex)):
        return value
    if isinstance(value, (list, tuple)):
        return [to_nested(item) for item in value]
    detach = getattr(value, "detach", None)
    if callable(detach):  # a tensor that requires grad cannot always be read directly
        value = detach()
    tolist = getattr(value, "tolist", None)
    if callable(tolist):
        return to_nested(tolist())
    try:
        return float(value)
    except (TypeError, ValueError):
        raise NotComparable(f"expected a tensor or a number, got {kind_of(value)}") from None


def kind_of(value: Any) -> str:
    """A short description of what ``value`` is, for messages ("NoneType", "a list")."""
    if value is None:
        return "None (did you forget to return the result?)"
    return type(value).__name__


def shape_of(nested: Any) -> Shape:
    """The shape of nested lists (``NotComparable`` if they are ragged)."""
    if not isinstance(nested, list):
        return ()
    if not nested:
        return (0,)
    inner = [shape_of(item) for item in nested]
    if any(s != inner[0] for s in inner):
        raise NotComparable("got a ragged list: its rows do not all have the same shape")
    return (len(nested),) + inner[0]


def flatten(nested: Any) -> list:
    if not isinstance(nested, list):
        return [nested]
    out: list = []
    for item in nested:
        out.extend(flatten(item))
    return out


def format_number(value: Any) -> str:
    """Numbers as a learner wants to read them: ``3``, ``0.0316``, ``1.235e-07``, ``nan``."""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if math.isnan(value) or math.isinf(value):
            return str(value)
        return f"{value:.4g}"
    if isinstance(value, complex):
        return f"{value:.4g}"
    return str(value)


def format_shape(shape: Shape) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _unravel(index: int, shape: Shape) -> list[int]:
    out = []
    for size in reversed(shape):
        out.append(index % size)
        index //= size
    return out[::-1]


def _close(a: Any, b: Any, rtol: float, atol: float, equal_nan: bool) -> bool:
    if isinstance(a, bool) or isinstance(b, bool):
        return a == b
    if _is_nan(a) or _is_nan(b):
        return equal_nan and _is_nan(a) and _is_nan(b)
    if _is_inf(a) or _is_inf(b):
        return a == b
    return abs(a - b) <= atol + rtol * abs(b)


def _is_nan(x: Any) -> bool:
    return isinstance(x, float) and math.isnan(x) or isinstance(x, complex) and math.isnan(abs(x))


def _is_inf(x: Any) -> bool:
    return isinstance(x, float) and math.isinf(x) or isinstance(x, complex) and math.isinf(abs(x))


def compare_close(
    actual: Any,
    expected: Any,
    *,
    rtol: float = 1e-5,
    atol: float = 1e-6,
    equal_nan: bool = False,
) -> str | None:
    """``None`` if ``actual`` matches ``expected`` within tolerance, else what is wrong.

    An element matches when ``|actual - expected| <= atol + rtol * |expected|`` (PyTorch's
    ``allclose``); shapes must be equal (a number is shape ``()``, which differs from ``(1,)``).
    The sentence does not name the value: the caller puts its own description in front.
    """
    try:
        got = to_nested(actual)
    except NotComparable as error:
        return str(error)
    want = to_nested(expected)  # a grader bug if this fails; let it raise
    try:
        got_shape = shape_of(got)
    except NotComparable as error:
        return str(error)
    want_shape = shape_of(want)
    if got_shape != want_shape:
        if not got_shape:
            return f"expected shape {format_shape(want_shape)}, got a single number"
        if not want_shape:
            return f"expected a single number, got shape {format_shape(got_shape)}"
        hint = " (transposed?)" if got_shape == want_shape[::-1] else ""
        return f"expected shape {format_shape(want_shape)}, got shape {format_shape(got_shape)}{hint}"
    got_flat, want_flat = flatten(got), flatten(want)
    try:
        wrong = [i for i, (a, b) in enumerate(zip(got_flat, want_flat)) if not _close(a, b, rtol, atol, equal_nan)]
    except TypeError:
        return f"expected numbers, got {kind_of(got_flat[0])} values"
    if not wrong:
        return None
    first = wrong[0]
    a, b = got_flat[first], want_flat[first]
    if not got_shape:
        return f"got {format_number(a)}, expected {format_number(b)}"
    where = "[" + ", ".join(str(i) for i in _unravel(first, got_shape)) + "]"
    finite = [
        abs(got_flat[i] - want_flat[i])
        for i in wrong
        if not any(_is_nan(x) or _is_inf(x) for x in (got_flat[i], want_flat[i]))
    ]
    largest = f", largest difference {format_number(max(finite))}" if finite and len(wrong) > 1 else ""
    value = f"at index {where} got {format_number(a)}, expected {format_number(b)}"
    if len(got_flat) == 1:
        return value
    return f"{len(wrong)} of {len(got_flat)} values are wrong; {value}{largest}"


def describe_value(value: Any, limit: int = 80) -> str:
    """A short ``repr`` for messages, cut at ``limit`` characters."""
    try:
        text = repr(value)
    except Exception:
        text = f"<{type(value).__name__}>"
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 3] + "..."
