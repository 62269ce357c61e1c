"""The graders of lesson 01: the solution gets full marks, the stub zero, mistakes less.

Also: the references written in ``edunn/grading/exercises/lesson01.py`` agree with PyTorch, and
the solution cells of ``solutions/01_tensors.ipynb`` get full marks.
"""

import itertools
import json
import math
import random
from pathlib import Path

import pytest
import torch

import edunn
from edunn.grading.exercises import lesson01
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, score, stub
from edunn.ops.broadcast import broadcast_shapes

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "01_tensors.ipynb"

TORCH_DTYPES = {
    "bool": torch.bool, "uint8": torch.uint8, "int8": torch.int8, "int16": torch.int16,
    "int32": torch.int32, "int64": torch.int64, "float16": torch.float16,
    "bfloat16": torch.bfloat16, "float32": torch.float32, "float64": torch.float64,
}


# ---------------------------------------------------------------------- the references vs PyTorch


def test_contiguous_strides_reference_matches_torch():
    rng = random.Random(0)
    shapes = [(), (0,), (2, 0, 3), (1, 1)] + [
        tuple(rng.randint(0, 5) for _ in range(rng.randint(1, 5))) for _ in range(50)
    ]
    for shape in shapes:
        assert lesson01.contiguous_strides(shape) == torch.empty(shape).stride(), shape


def test_expand_strides_reference_matches_torch():
    rng = random.Random(1)
    for _ in range(200):
        ndim = rng.randint(0, 4)
        shape = tuple(rng.randint(1, 4) for _ in range(ndim))
        order = list(range(ndim))
        rng.shuffle(order)
        base = lesson01.contiguous_strides(shape)
        strides = tuple(base[i] for i in order)
        size = tuple(rng.choice([s, s, -1, rng.randint(1, 5), -2]) for s in shape)
        # (torch accepts -1 in a new dimension of a 0-dimensional tensor, a size of -1: a bug)
        size = tuple(rng.randint(-1 if ndim else 0, 3) for _ in range(rng.randint(0, 2))) + size
        if 0 in size and -2 in size:
            continue  # torch only notices a size of -2 when no other size is 0 (numel overflow)
        x = torch.empty_strided(shape, strides)
        try:
            expected = x.expand(size).stride()
        except RuntimeError:
            with pytest.raises(RuntimeError):
                lesson01.expand_strides(shape, strides, size)
            continue
        # Strides of size-1 dimensions are never used; PyTorch fills some of them with non-zeros.
        got = lesson01.expand_strides(shape, strides, size)
        assert lesson01.strides_that_matter(got, x.expand(size).shape) == \
            lesson01.strides_that_matter(expected, x.expand(size).shape), (shape, strides, size)


def test_promote_types_reference_matches_torch():
    dtypes = [getattr(edunn, name) if name != "bool" else edunn.bool for name in TORCH_DTYPES]
    for a, b in itertools.product(dtypes, dtypes):
        expected = torch.promote_types(TORCH_DTYPES[a.name], TORCH_DTYPES[b.name])
        assert TORCH_DTYPES[edunn.promote_types(a, b).name] == expected, (a, b)


def test_broadcast_shapes_reference_matches_torch():
    rng = random.Random(2)
    for _ in range(300):
        a = tuple(rng.choice([1, 1, 2, 3]) for _ in range(rng.randint(0, 4)))
        b = tuple(rng.choice([1, 1, 2, 3]) for _ in range(rng.randint(0, 4)))
        try:
            expected = tuple(torch.broadcast_shapes(a, b))
        except RuntimeError:
            with pytest.raises(RuntimeError):
                broadcast_shapes(a, b)
            continue
        assert broadcast_shapes(a, b) == expected


# ---------------------------------------------------------------------- 01.broadcast_shape


def broadcast_shape_solution(shape_a, shape_b):
    ndim = max(len(shape_a), len(shape_b))
    a = (1,) * (ndim - len(shape_a)) + tuple(shape_a)
    b = (1,) * (ndim - len(shape_b)) + tuple(shape_b)
    out = []
    for n, m in zip(a, b):
        if n != m and n != 1 and m != 1:
            raise RuntimeError(f"shapes {tuple(shape_a)} and {tuple(shape_b)} cannot be broadcast")
        out.append(m if n == 1 else n)
    return tuple(out)


def broadcast_aligned_left(shape_a, shape_b):
    """Pads the shorter shape on the right instead of the left."""
    ndim = max(len(shape_a), len(shape_b))
    a = tuple(shape_a) + (1,) * (ndim - len(shape_a))
    b = tuple(shape_b) + (1,) * (ndim - len(shape_b))
    return broadcast_shape_solution(a, b)


def broadcast_with_max(shape_a, shape_b):
    """Takes the larger size everywhere, never complaining about a clash."""
    ndim = max(len(shape_a), len(shape_b))
    a = (1,) * (ndim - len(shape_a)) + tuple(shape_a)
    b = (1,) * (ndim - len(shape_b)) + tuple(shape_b)
    return tuple(max(n, m) for n, m in zip(a, b))


def broadcast_with_zip(shape_a, shape_b):
    """zip() from the right drops the extra leading dimensions of the longer shape."""
    out = []
    for n, m in zip(reversed(shape_a), reversed(shape_b)):
        if n != m and 1 not in (n, m):
            raise RuntimeError(f"{shape_a} {shape_b}")
        out.append(max(n, m))
    return tuple(reversed(out))


def broadcast_value_error(shape_a, shape_b):
    try:
        return broadcast_shape_solution(shape_a, shape_b)
    except RuntimeError:
        raise ValueError(f"shapes {shape_a} and {shape_b} do not broadcast") from None


def broadcast_vague_error(shape_a, shape_b):
    try:
        return broadcast_shape_solution(shape_a, shape_b)
    except RuntimeError:
        raise RuntimeError("shape mismatch") from None


def broadcast_returns_list(shape_a, shape_b):
    return list(broadcast_shape_solution(shape_a, shape_b))


def broadcast_names_padded_shapes(shape_a, shape_b):
    """The message names the shapes after padding: (1, 4, 1) where the caller wrote (4, 1)."""
    ndim = max(len(shape_a), len(shape_b))
    a = (1,) * (ndim - len(shape_a)) + tuple(shape_a)
    b = (1,) * (ndim - len(shape_b)) + tuple(shape_b)
    try:
        return broadcast_shape_solution(a, b)
    except RuntimeError:
        raise RuntimeError(f"cannot broadcast {a} with {b}") from None


def broadcast_with_assert(shape_a, shape_b):
    """An ``assert`` for the clash: AssertionError, with a good message."""
    try:
        return broadcast_shape_solution(shape_a, shape_b)
    except RuntimeError:
        raise AssertionError(f"shapes {shape_a} and {shape_b} clash") from None


def test_broadcast_shape_grader():
    assert_full_marks("01.broadcast_shape", broadcast_shapes)
    assert_full_marks("01.broadcast_shape", broadcast_shape_solution)
    assert_zero("01.broadcast_shape", stub)
    assert_partial("01.broadcast_shape", broadcast_aligned_left, mentions="last dimension")
    assert_partial("01.broadcast_shape", broadcast_with_max, mentions="should raise RuntimeError")
    assert_partial("01.broadcast_shape", broadcast_with_zip, mentions="expected (3, 4)")
    assert_partial("01.broadcast_shape", broadcast_value_error, mentions="it raised ValueError")
    assert_partial("01.broadcast_shape", broadcast_vague_error, mentions="name both shapes")
    assert_partial("01.broadcast_shape", broadcast_returns_list, mentions="return a tuple")
    assert_partial("01.broadcast_shape", broadcast_names_padded_shapes, mentions="not padded with 1s")
    assert_partial("01.broadcast_shape", broadcast_with_assert, mentions="it raised AssertionError")


def test_broadcast_shape_wrong_exception_type_costs_one_unit():
    # A good message in the wrong exception type loses the "RuntimeError" unit, not the message one.
    for wrong in (broadcast_value_error, broadcast_with_assert):
        points, total, text = score("01.broadcast_shape", wrong)
        assert 0 < points < total
        assert "name both shapes" not in text, text


def test_broadcast_shape_partial_credit_is_proportional():
    points, total, _ = score("01.broadcast_shape", broadcast_vague_error)
    assert 0 < points < total
    assert points >= total * 0.8  # only the message is wrong


# ---------------------------------------------------------------------- 01.contiguous_strides


def strides_solution(shape):
    strides = [1] * len(shape)
    for i in range(len(shape) - 2, -1, -1):
        strides[i] = strides[i + 1] * shape[i + 1]
    return tuple(strides)


def strides_fortran(shape):
    strides, step = [], 1
    for size in shape:
        strides.append(step)
        step *= size
    return tuple(strides)


def strides_in_bytes(shape):
    return tuple(4 * s for s in strides_solution(shape))


def strides_inclusive(shape):
    return tuple(math.prod(shape[i:]) for i in range(len(shape)))


def strides_own_size(shape):
    """Multiplies by shape[k] instead of shape[k + 1]."""
    strides = [1] * len(shape)
    for k in range(len(shape) - 2, -1, -1):
        strides[k] = strides[k + 1] * shape[k]
    return tuple(strides)


def strides_numpy_ints(shape):
    """Right numbers, but NumPy integers, as np.cumprod gives them."""
    import numpy

    return tuple(numpy.cumprod((tuple(shape[1:]) + (1,))[::-1])[::-1]) if shape else ()


def strides_from_numpy_float64(shape):
    """NumPy's byte strides of a float64 array."""
    import numpy

    return tuple(numpy.empty(shape).strides)


def strides_one_for_scalars(shape):
    """Starts from [1], so a 0-dimensional shape gets (1,)."""
    strides = [1]
    for size in reversed(tuple(shape)[1:]):
        strides.insert(0, strides[0] * size)
    return tuple(strides)


def test_contiguous_strides_grader():
    assert_full_marks("01.contiguous_strides", lesson01.contiguous_strides)
    assert_full_marks("01.contiguous_strides", strides_solution)
    assert_full_marks("01.contiguous_strides", lambda shape: edunn.zeros(shape).stride())
    assert_zero("01.contiguous_strides", stub)
    assert_partial("01.contiguous_strides", strides_fortran, mentions="column-major")
    assert_partial("01.contiguous_strides", strides_in_bytes, mentions="byte strides")
    assert_partial("01.contiguous_strides", strides_inclusive, mentions="AFTER dimension i")
    assert_partial("01.contiguous_strides", lambda shape: list(strides_solution(shape)),
                   mentions="tuple of ints")
    assert_partial("01.contiguous_strides", strides_own_size, mentions="size of dimension k itself")
    assert_partial("01.contiguous_strides", strides_numpy_ints, mentions="NumPy integers")
    assert_partial("01.contiguous_strides", strides_from_numpy_float64, mentions="8 bytes per element")
    assert_partial("01.contiguous_strides", strides_one_for_scalars, mentions="it has no strides")


# ---------------------------------------------------------------------- 01.promote


def promote_solution(a, b):
    def category(d):
        return 2 if d.is_floating_point else 0 if d is edunn.bool else 1

    if a is b:
        return a
    if category(a) != category(b):
        return a if category(a) > category(b) else b
    if a.itemsize != b.itemsize:
        return a if a.itemsize > b.itemsize else b
    return edunn.int16 if category(a) == 1 else edunn.float32


def promote_widest(a, b):
    """Width first, category second: int64 + float16 gives int64."""
    if a.itemsize != b.itemsize:
        return a if a.itemsize > b.itemsize else b
    return promote_solution(a, b)


def promote_no_surprises(a, b):
    """Forgets that uint8/int8 and float16/bfloat16 need a wider type: keeps the first."""
    if a.itemsize == b.itemsize and a.is_floating_point == b.is_floating_point and a is not edunn.bool \
            and b is not edunn.bool:
        return a
    return promote_solution(a, b)


def promote_like_numpy(a, b):
    """NumPy's rules: int64 + float16 is float64, int8 + float16 is float16 ..."""
    import numpy

    return edunn.backend.as_dtype(numpy.promote_types(a.np, b.np))


def test_promote_grader():
    assert_full_marks("01.promote", edunn.promote_types)
    assert_full_marks("01.promote", promote_solution)
    assert_zero("01.promote", stub)
    assert_partial("01.promote", promote_widest, mentions="category")
    assert_partial("01.promote", promote_no_surprises, mentions="neither")
    assert_partial("01.promote", promote_like_numpy, mentions="integers with floats")
    assert_partial("01.promote", lambda a, b: str(promote_solution(a, b)), mentions="not its name")


# ---------------------------------------------------------------------- 01.expand_strides


def expand_solution(shape, strides, size):
    lead = len(size) - len(shape)
    if lead < 0:
        raise RuntimeError(f"cannot expand shape {shape} to the shorter size {size}")
    out = []
    for i, new in enumerate(size):
        if i < lead:
            if new == -1:
                raise RuntimeError(f"-1 is not allowed in a new dimension {i} (size {size})")
            out.append(0)
        elif new == -1 or new == shape[i - lead]:
            out.append(strides[i - lead])
        elif shape[i - lead] == 1:
            out.append(0)
        else:
            raise RuntimeError(f"cannot expand shape {shape} to size {size}")
    return tuple(out)


def expand_recomputes_strides(shape, strides, size):
    """Uses contiguous strides of the input instead of its actual strides."""
    return expand_solution(shape, lesson01.contiguous_strides(shape), size)


def expand_ignores_minus_one(shape, strides, size):
    """Treats -1 as a size to stretch to, giving it stride 0."""
    size = tuple(1 if new == -1 else new for new in size)
    out = list(expand_solution(shape, strides, size))
    return tuple(out)


def expand_never_raises(shape, strides, size):
    lead = len(size) - len(shape)
    out = [0] * max(lead, 0)
    for i, s in enumerate(shape):
        new = size[lead + i] if lead + i < len(size) else s
        out.append(strides[i] if new in (-1, s) else 0)
    return tuple(out)


def expand_new_dims_on_the_right(shape, strides, size):
    """Lines the sizes up with the shape from the left, so new dimensions end up on the right."""
    out = []
    for k, new in enumerate(size):
        if k >= len(shape):
            out.append(0)
        elif new == -1 or new == shape[k]:
            out.append(strides[k])
        elif shape[k] == 1:
            out.append(0)
        else:
            raise RuntimeError(f"cannot expand shape {shape} to size {size}")
    return tuple(out)


def expand_stride_one_for_new_dims(shape, strides, size):
    """Gives the new leading dimensions stride 1, as if they were contiguous."""
    lead = len(size) - len(shape)
    out = list(expand_solution(shape, strides, size))
    return tuple([1] * lead + out[lead:]) if lead > 0 else tuple(out)


def test_expand_strides_grader():
    assert_full_marks("01.expand_strides", lesson01.expand_strides)
    assert_full_marks("01.expand_strides", expand_solution)
    assert_zero("01.expand_strides", stub)
    assert_partial("01.expand_strides", expand_recomputes_strides, mentions="copy its strides")
    assert_partial("01.expand_strides", expand_ignores_minus_one, mentions="-1 keeps a size")
    assert_partial("01.expand_strides", expand_never_raises, mentions="should raise RuntimeError")
    assert_partial("01.expand_strides", expand_new_dims_on_the_right, mentions="this expansion is allowed")
    assert_partial("01.expand_strides", expand_stride_one_for_new_dims, mentions="new dimensions on the left get stride 0")


# ---------------------------------------------------------------------- the notebook's solutions


def solution_cells():
    """The code of the cells of the solution notebook that hold a ``### BEGIN SOLUTION`` region."""
    notebook = json.loads(SOLUTION.read_text(encoding="utf-8"))
    return ["".join(cell["source"]) for cell in notebook["cells"]
            if cell["cell_type"] == "code" and "### BEGIN SOLUTION" in "".join(cell["source"])]


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/01_tensors.ipynb not written yet")
def test_notebook_solutions_get_full_marks():
    names = {"broadcast_shape": "01.broadcast_shape", "contiguous_strides": "01.contiguous_strides",
             "promote": "01.promote", "expand_strides": "01.expand_strides"}
    namespace = {"edunn": edunn, "check": lambda exercise_id, impl: impl}
    for source in solution_cells():
        exec(compile(source, str(SOLUTION), "exec"), namespace)
    for name, exercise_id in names.items():
        assert name in namespace, f"the solution notebook does not define {name}"
        assert_full_marks(exercise_id, namespace[name])
