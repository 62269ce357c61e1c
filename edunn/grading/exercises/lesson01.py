"""The graders of lesson 01 (tensors): broadcasting, strides, type promotion, ``expand``.

=========================  ==============================================================
``01.broadcast_shape``     ``broadcast_shape(shape_a, shape_b)``: the broadcast shape
``01.contiguous_strides``  ``contiguous_strides(shape)``: C-contiguous element strides
``01.promote``             ``promote(dtype_a, dtype_b)``: PyTorch's type promotion
``01.expand_strides``      ``expand_strides(shape, strides, size)``: ``expand`` as zero strides
=========================  ==============================================================

edunn has no public function for two of them, so their references are written here, in a few
lines, after PyTorch's rules (``tests/grading/test_lesson01_graders.py`` checks them against
PyTorch itself).
"""

from __future__ import annotations

import math

from edunn.grading import Fail, exercise


# ---------------------------------------------------------------------------- references


def contiguous_strides(shape: tuple) -> tuple:
    """Element strides of a C-contiguous (row-major) tensor of ``shape``, as PyTorch gives them.

    ``stride[i] = prod(shape[i+1:])``: one step along dimension ``i`` skips a whole block of the
    dimensions to its right. PyTorch counts a size-0 dimension as 1 here, so that strides stay
    meaningful for empty tensors.
    """
    strides = []
    step = 1
    for size in reversed(tuple(shape)):
        strides.append(step)
        step *= max(int(size), 1)
    return tuple(reversed(strides))


def expand_strides(shape: tuple, strides: tuple, size: tuple) -> tuple:
    """The strides of ``x.expand(*size)`` for ``x`` with ``shape`` and element ``strides``.

    New leading dimensions and stretched size-1 dimensions get stride 0 (every index along them
    reads the same memory); the others keep their stride. ``-1`` keeps a size. Raises
    ``RuntimeError`` as ``torch.Tensor.expand`` does. (The stride of a dimension of size 1 is
    never used to find an element; PyTorch sometimes puts another number there, which is why
    the grader and the tests compare strides only where the size is not 1.)
    """
    shape, strides, size = tuple(shape), tuple(strides), tuple(size)
    if len(size) < len(shape):
        raise RuntimeError(
            f"expand: the number of sizes provided ({len(size)}) must be greater or equal to the "
            f"number of dimensions in the tensor ({len(shape)}); shape {shape}, size {size}")
    lead = len(size) - len(shape)
    out = []
    for i, new in enumerate(size):
        if i < lead:
            if new < 0:
                raise RuntimeError(
                    f"expand: the expanded size ({new}) isn't allowed in a leading, "
                    f"non-existing dimension {i}; shape {shape}, size {size}")
            out.append(0)
            continue
        old, stride = shape[i - lead], strides[i - lead]
        if new < -1:
            raise RuntimeError(
                f"expand: the expanded size ({new}) isn't allowed at dimension {i}; only -1 "
                f"(keep the size) may be negative; shape {shape}, size {size}")
        if new == -1 or new == old:
            out.append(stride)
        elif old == 1:
            out.append(0)
        else:
            raise RuntimeError(
                f"expand: the expanded size ({new}) must match the existing size ({old}) at "
                f"non-singleton dimension {i}; shape {shape}, size {size}")
    return tuple(out)


def expanded_size(shape: tuple, size: tuple) -> tuple:
    """``size`` with every ``-1`` replaced by the size it keeps."""
    lead = len(size) - len(shape)
    return tuple(shape[i - lead] if new == -1 else new for i, new in enumerate(size))


def strides_that_matter(strides: tuple, size: tuple) -> tuple:
    """``strides`` with ``None`` where the size is 1: those strides are never used."""
    return tuple(None if n == 1 else s for s, n in zip(strides, size))


# ---------------------------------------------------------------------------- helpers


def _is_shape(value) -> bool:
    return isinstance(value, tuple) and all(isinstance(s, int) and not isinstance(s, bool) for s in value)


def _is_numpy_ints(value) -> bool:
    """A tuple of NumPy integers (``np.cumprod`` and friends give those): right, but not ints."""
    return isinstance(value, tuple) and len(value) > 0 and all(
        type(s).__module__ == "numpy" and hasattr(s, "__index__") for s in value)


def _shape_text(shape) -> str:
    shape = tuple(shape)
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _random_shape(rng, ndim: int, high: int = 5) -> tuple:
    return tuple(rng.randint(1, high) for _ in range(ndim))


def _broadcastable_pair(rng) -> tuple:
    """Two random shapes that broadcast: some dims shared, some 1 on one side, ranks differ."""
    out = _random_shape(rng, rng.randint(1, 4), high=6)
    a, b = list(out), list(out)
    for i in range(len(out)):
        roll = rng.random()
        if roll < 0.3:
            a[i] = 1
        elif roll < 0.6:
            b[i] = 1
    a = a[rng.randint(0, len(a) - 1):] if rng.random() < 0.4 else a  # drop leading dims
    b = b[rng.randint(0, len(b) - 1):] if rng.random() < 0.4 else b
    return tuple(a), tuple(b)


def _clashing_pair(rng) -> tuple:
    """Two shapes that do not broadcast: one dimension has sizes n != m, both > 1."""
    a, b = _broadcastable_pair(rng)
    a, b = list(a), list(b)
    k = rng.randint(1, min(len(a), len(b)))
    n = rng.randint(2, 5)
    a[-k], b[-k] = n, n + rng.randint(1, 3)
    return (tuple(a), tuple(b)) if rng.random() < 0.5 else (tuple(b), tuple(a))


def _mentions(message: str, shape: tuple) -> bool:
    spellings = {str(tuple(shape)), str(list(shape)), _shape_text(shape), str(shape).replace(" ", "")}
    squeezed = message.replace(" ", "")
    return any(s in message or s.replace(" ", "") in squeezed for s in spellings)


# ---------------------------------------------------------------------------- 01.broadcast_shape


@exercise("01.broadcast_shape", points=3, reference="edunn.ops.broadcast.broadcast_shapes",
          title="the broadcast shape of two shapes")
def grade_broadcast_shape(student, t):
    reference = t.reference

    def expect(a, b, hint=None):
        want = tuple(reference(a, b))
        try:
            got = student(a, b)
        except NotImplementedError:
            raise
        except (RuntimeError, ValueError) as error:
            message = (f"broadcast_shape({a}, {b}) raised {type(error).__name__} ({error}), but these "
                       f"shapes broadcast to {want}")
            raise Fail(message + (f" (hint: {hint})" if hint else "")) from None
        if not isinstance(got, tuple):
            raise Fail(f"broadcast_shape({a}, {b}) returned {type(got).__name__} {got!r}; "
                       "return a tuple of ints, like a tensor's shape")
        t.equal(got, want, f"broadcast_shape({a}, {b})", hint=hint)

    with t.group("equal shapes and a stretched size 1"):
        expect((2, 3), (2, 3))
        expect((3, 1), (1, 4), hint="a size-1 dimension stretches to the other side's size")
        expect((5, 1, 7), (5, 6, 1))
    with t.group("shapes of different lengths"):
        expect((4,), (3, 1), hint="align the shapes at their last dimension, then pad the shorter "
                                  "one with 1s on the left")
        expect((2, 3, 4), (4,), hint="align the shapes at their last dimension")
        expect((1,), (2, 1, 5))
        expect((), (2, 3), hint="a 0-dimensional tensor (shape ()) broadcasts against anything")
        expect((6, 1), ())
    with t.group("size-0 dimensions"):
        expect((0, 1), (1, 3), hint="0 is a size like any other: only 1 stretches, so 1 against 0 gives 0")
        expect((3, 0), (1,))
    for _ in range(4):
        with t.group("random broadcastable shapes"):
            for _ in range(10):
                expect(*_broadcastable_pair(t.rng))
    with t.group("shapes that do not broadcast"):
        for a, b in [((3,), (4,)), ((2, 3), (3, 2))] + [_clashing_pair(t.rng) for _ in range(6)]:
            if not t.raises(RuntimeError, student, a, b, what=f"broadcast_shape({a}, {b})"):
                break
    with t.group("the error message"):
        # Only the message is judged here; the exception's type was judged above.
        a, b = (5, 3, 2), (4, 1)
        try:
            student(a, b)
        except NotImplementedError:
            raise
        except Exception as error:
            message = str(error)
            if _mentions(message, a) and _mentions(message, b):
                t.ok(True, "")
            else:
                padded = (1,) * (len(a) - len(b)) + b
                hint = (f" (hint: name the shapes as the caller gave them, {_shape_text(b)}, not "
                        f"padded with 1s on the left, {_shape_text(padded)})"
                        if _mentions(message, padded) else "")
                t.fail(f"the error for broadcast_shape({a}, {b}) should name both shapes so the "
                       f"user sees what clashed; your message was {message!r}{hint}")
        else:
            t.fail(f"broadcast_shape({a}, {b}) should raise RuntimeError naming both shapes, "
                   "but it returned normally")


# ---------------------------------------------------------------------------- 01.contiguous_strides


@exercise("01.contiguous_strides", points=2, reference=contiguous_strides,
          title="strides of a contiguous tensor")
def grade_contiguous_strides(student, t):
    import edunn

    def expect(shape):
        got = student(shape)
        want = contiguous_strides(shape)
        if _is_numpy_ints(got):
            raise Fail(f"contiguous_strides({shape}) returned {got!r}: NumPy integers; convert each "
                       "with int(...) so that it returns a tuple of Python ints, like Tensor.stride()")
        if not _is_shape(got):
            raise Fail(f"contiguous_strides({shape}) returned {got!r}; return a tuple of ints, "
                       "like Tensor.stride()")
        if got == want:
            return t.equal(got, want, f"contiguous_strides({shape})")
        fortran = tuple(reversed(contiguous_strides(tuple(reversed(shape)))))
        inclusive = tuple(math.prod(shape[i:]) for i in range(len(shape)))
        own_size = tuple(math.prod(shape[i:-1]) for i in range(len(shape)))  # s[k+1] * shape[k]
        in_bytes = [n for n in (2, 4, 8) if got == tuple(n * s for s in want)]
        if not shape:
            hint = "a 0-dimensional tensor has no dimensions, so it has no strides: return ()"
        elif got == fortran:
            hint = ("these are column-major (Fortran) strides; in C order the LAST dimension has "
                    "stride 1")
        elif in_bytes:
            hint = (f"these are byte strides ({in_bytes[0]} bytes per element, as NumPy's "
                    "array.strides counts); count elements, not bytes")
        elif got == inclusive:
            hint = "stride[i] is the product of the sizes AFTER dimension i, not including it"
        elif got == own_size:
            hint = ("you multiplied by shape[k], the size of dimension k itself; stride[k] is "
                    "stride[k+1] * shape[k+1], the size of the dimension to its right")
        else:
            hint = "stride[i] is the product of shape[i+1:]"
        return t.equal(got, want, f"contiguous_strides({shape})", hint=hint)

    with t.group("small shapes"):
        expect((3, 4))
        expect((5,))
        expect((2, 3, 4))
    with t.group("a 0-dimensional tensor"):
        expect(())
    with t.group("size-1 dimensions"):
        expect((3, 1, 2))
        expect((1, 1, 4))
    for _ in range(2):
        with t.group("random shapes"):
            for _ in range(10):
                if not expect(_random_shape(t.rng, t.rng.randint(1, 5), high=7)):
                    break
    with t.group("agreement with Tensor.stride()"):
        for _ in range(5):
            shape = _random_shape(t.rng, t.rng.randint(1, 4))
            t.equal(student(shape), edunn.zeros(shape).stride(), f"contiguous_strides({shape}) "
                    f"against edunn.zeros({shape}).stride()",
                    hint="a freshly made tensor is C-contiguous: its strides are what this "
                         "function should return")


# ---------------------------------------------------------------------------- 01.promote


def _dtypes():
    import edunn

    return [edunn.bool, edunn.uint8, edunn.int8, edunn.int16, edunn.int32, edunn.int64,
            edunn.float16, edunn.bfloat16, edunn.float32, edunn.float64]


def _category(d) -> str:
    return "float" if d.is_floating_point else "bool" if d.name == "bool" else "int"


@exercise("01.promote", points=3, reference="edunn.promote_types", title="type promotion")
def grade_promote(student, t):
    reference = t.reference
    dtypes = _dtypes()
    by_kind: dict[tuple, list] = {}
    for a in dtypes:
        for b in dtypes:
            key = tuple(sorted((_category(a), _category(b))))
            by_kind.setdefault(key, []).append((a, b))

    dtype_type = type(dtypes[0])

    def expect(a, b):
        got = student(a, b)
        want = reference(a, b)
        if not isinstance(got, dtype_type):
            raise Fail(f"promote({a}, {b}) returned {type(got).__name__} {got!r}; return an edunn "
                       f"dtype such as {want} (the object, not its name)")
        if a.name in ("uint8", "int8") and b.name in ("uint8", "int8") and a is not b:
            hint = ("neither uint8 nor int8 holds the other's range (0..255 and -128..127), so "
                    "the result is the next signed type that holds both")
        elif {a.name, b.name} == {"float16", "bfloat16"}:
            hint = ("float16 has more precision and bfloat16 more range; neither holds the other, "
                    "so the result is the next float that holds both")
        elif _category(a) != _category(b):
            hint = "the category (bool < integer < floating point) decides first, the width only inside a category"
        else:
            hint = "inside a category, the wider type wins"
        return t.equal(got, want, f"promote({a}, {b})", hint=hint)

    groups = [
        (("bool", "bool"), "bool with bool"),
        (("bool", "int"), "bool with integers"),
        (("bool", "float"), "bool with floats"),
        (("int", "int"), "integers with integers"),
        (("float", "float"), "floats with floats"),
        (("float", "int"), "integers with floats"),
    ]
    for key, title in groups:
        with t.group(title):
            for a, b in by_kind[key]:
                if not expect(a, b):
                    break
    with t.group("uint8 with int8, and float16 with bfloat16"):
        for a, b in [(dtypes[1], dtypes[2]), (dtypes[2], dtypes[1]), (dtypes[6], dtypes[7]), (dtypes[7], dtypes[6])]:
            if not expect(a, b):
                break


# ---------------------------------------------------------------------------- 01.expand_strides


@exercise("01.expand_strides", points=3, reference=expand_strides, title="expand through zero strides")
def grade_expand_strides(student, t):
    def expect(shape, strides, size, hint=None):
        want = expand_strides(shape, strides, size)
        call = f"expand_strides({shape}, {strides}, {size})"
        try:
            got = student(shape, strides, size)
        except NotImplementedError:
            raise
        except (RuntimeError, ValueError, IndexError) as error:
            raise Fail(f"{call} raised {type(error).__name__} ({error}), but this expansion is "
                       f"allowed: expected the strides {want}" + (f" (hint: {hint})" if hint else "")) from None
        if not _is_shape(got) or len(got) != len(size):
            raise Fail(f"{call} returned {got!r}; return a tuple of {len(size)} ints, one stride per "
                       "dimension of the result")
        full = expanded_size(shape, size)
        if strides_that_matter(got, full) == strides_that_matter(want, full):
            return t.ok(True, "")
        return t.equal(got, want, call, hint=hint)

    with t.group("stretching a size-1 dimension"):
        expect((3, 1), (1, 1), (3, 4), hint="a stretched size-1 dimension gets stride 0: every "
                                           "index along it reads the same element")
        expect((1, 4), (4, 1), (5, 4))
    with t.group("unchanged dimensions keep their stride"):
        expect((3, 4), (4, 1), (3, 4), hint="a dimension whose size does not change keeps its stride")
        expect((4, 3), (1, 4), (4, 3), hint="the input need not be contiguous: copy its strides, "
                                           "do not recompute them")
        expect((2, 3, 1), (1, 2, 1), (2, 3, 5))
    with t.group("new leading dimensions"):
        expect((4,), (1,), (2, 3, 4), hint="new dimensions on the left get stride 0")
        expect((), (), (5,))
    with t.group("-1 keeps a size"):
        expect((3, 1), (1, 1), (-1, 6), hint="-1 means: keep this dimension's size (and stride)")
        expect((2, 1, 5), (5, 5, 1), (7, -1, 3, -1))
    for _ in range(2):
        with t.group("random expansions of transposed tensors"):
            for _ in range(8):
                ndim = t.rng.randint(1, 4)
                shape = _random_shape(t.rng, ndim)
                order = list(range(ndim))
                t.rng.shuffle(order)
                base = contiguous_strides(shape)
                strides = tuple(base[i] for i in order)
                size = tuple(t.rng.randint(2, 5) if s == 1 and t.rng.random() < 0.7 else
                             (-1 if t.rng.random() < 0.3 else s) for s in shape)
                size = _random_shape(t.rng, t.rng.randint(0, 2)) + size
                if not expect(shape, strides, size):
                    break
    with t.group("impossible expansions raise RuntimeError"):
        cases = [((3, 1), (1, 1), (4, 1)), ((3, 4), (4, 1), (4,)), ((2,), (1,), (-1, 2))]
        for shape, strides, size in cases:
            if not t.raises(RuntimeError, student, shape, strides, size,
                            what=f"expand_strides({shape}, {strides}, {size})"):
                break
