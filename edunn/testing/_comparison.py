"""``assert_close``: are two results the same, up to floating-point tolerance?  (``torch.testing``)

PyTorch's design, kept here so that a failing grader prints exactly what PyTorch would:

1. ``originate_pairs`` walks both inputs together: sequences elementwise (lengths must match),
   mappings key by key (key sets must match), and every leaf pair goes to the first *pair type*
   that accepts it: ``NonePair``, ``BooleanPair`` (``bool``/``numpy.bool_``), ``NumberPair``
   (``int``/``float``/``complex``/``numpy.number``) or ``TensorLikePair`` (tensors, or two
   objects of related types that ``as_tensor`` can convert, e.g. two NumPy arrays).
2. Each pair's ``compare`` checks attributes first -- shape, layout, stride (opt-in), device,
   dtype -- then values: ``|actual - expected| <= atol + rtol * |expected|`` elementwise (inf
   only equals inf; NaN equals NaN only with ``equal_nan``), with per-dtype default tolerances.
3. The first failure becomes one exception with a message that says how many elements differ,
   the greatest absolute and relative differences and where (``msg`` replaces or, as a
   callable, edits that message; nested inputs add "The failure occurred for item [0]['w']").

Complex values are compared as PyTorch does, with the complex absolute value of the difference
and complex64/complex128 taking the tolerances of float32/float64.  Differences from PyTorch:
edunn has no quantized, float8 or meta tensors, so those branches do not exist; dtypes and sizes
print as ``edunn.float32`` and ``edunn.Size([3])``.
"""
from __future__ import annotations

import cmath
import collections.abc
import contextlib
import warnings
from typing import Any, Callable, NoReturn, Sequence

from .. import backend
from ..tensor import Tensor

__all__ = ["assert_close", "assert_allclose"]


class ErrorMeta(Exception):
    """An error found while comparing, kept with its type, message and the item path ``id``
    until ``assert_close`` turns it into the exception the user sees."""

    def __init__(self, type: type, msg: str, *, id: tuple = ()) -> None:
        super().__init__("internal comparison error: raise ErrorMeta.to_error() instead")
        self.type, self.msg, self.id = type, msg, id

    def to_error(self, msg: str | Callable[[str], str] | None = None) -> Exception:
        if not isinstance(msg, str):
            generated_msg = self.msg
            if self.id:
                generated_msg += f"\n\nThe failure occurred for item {''.join(str([item]) for item in self.id)}"
            msg = msg(generated_msg) if callable(msg) else generated_msg
        return self.type(msg)


# {dtype: (rtol, atol)}; any other dtype (integers, bool) must match exactly
_DTYPE_PRECISIONS = {
    backend.float16: (0.001, 1e-5),
    backend.bfloat16: (0.016, 1e-5),
    backend.float32: (1.3e-6, 1e-5),
    backend.float64: (1e-7, 1e-7),
    backend.complex32: (0.001, 1e-5),
    backend.complex64: (1.3e-6, 1e-5),
    backend.complex128: (1e-7, 1e-7),
}


def default_tolerances(*inputs: Any, dtype_precisions: dict | None = None) -> tuple[float, float]:
    """The loosest ``(rtol, atol)`` over the dtypes of ``inputs`` (tensors or dtypes)."""
    dtypes = []
    for input in inputs:
        if isinstance(input, Tensor):
            dtypes.append(input.dtype)
        elif isinstance(input, backend.dtype):
            dtypes.append(input)
        else:
            raise TypeError(f"Expected a edunn.Tensor or a edunn.dtype, but got {type(input)} instead.")
    dtype_precisions = dtype_precisions or _DTYPE_PRECISIONS
    rtols, atols = zip(*[dtype_precisions.get(dtype, (0.0, 0.0)) for dtype in dtypes])
    return max(rtols), max(atols)


def get_tolerances(*inputs: Any, rtol: float | None, atol: float | None, id: tuple = ()) -> tuple[float, float]:
    """Both tolerances given: them; neither: the dtype defaults; only one: an error (``atol=0``
    alone would silently still pass values within ``rtol``)."""
    if (rtol is None) ^ (atol is None):
        raise ErrorMeta(ValueError, f"Both 'rtol' and 'atol' must be either specified or omitted, "
                                    f"but got no {'rtol' if rtol is None else 'atol'}.", id=id)
    if rtol is not None and atol is not None:
        return rtol, atol
    return default_tolerances(*inputs)


def _make_mismatch_msg(*, default_identifier: str, identifier: Any = None, extra: str | None = None,
                       abs_diff: float, abs_diff_idx: Any = None, atol: float, rel_diff: float,
                       rel_diff_idx: Any = None, rtol: float) -> str:
    equality = rtol == 0 and atol == 0

    def make_diff_msg(*, type: str, diff: float, idx: Any, tol: float) -> str:
        if idx is None:
            msg = f"{type.title()} difference: {diff}"
        else:
            msg = f"Greatest {type} difference: {diff} at index {idx}"
        if not equality:
            msg += f" (up to {tol} allowed)"
        return msg + "\n"

    if identifier is None:
        identifier = default_identifier
    elif callable(identifier):
        identifier = identifier(default_identifier)
    msg = f"{identifier} are not {'equal' if equality else 'close'}!\n\n"
    if extra:
        msg += f"{extra.strip()}\n"
    msg += make_diff_msg(type="absolute", diff=abs_diff, idx=abs_diff_idx, tol=atol)
    msg += make_diff_msg(type="relative", diff=rel_diff, idx=rel_diff_idx, tol=rtol)
    return msg.strip()


def make_scalar_mismatch_msg(actual: Any, expected: Any, *, rtol: float, atol: float,
                             identifier: Any = None) -> str:
    abs_diff = abs(actual - expected)
    rel_diff = float("inf") if expected == 0 else abs_diff / abs(expected)
    return _make_mismatch_msg(default_identifier="Scalars", identifier=identifier,
                              extra=f"Expected {expected} but got {actual}.", abs_diff=abs_diff, atol=atol,
                              rel_diff=rel_diff, rtol=rtol)


def make_tensor_mismatch_msg(actual: Tensor, expected: Tensor, matches: Tensor, *, rtol: float, atol: float,
                             identifier: Any = None) -> str:
    """How many elements differ, and the greatest absolute and relative differences among them
    with their (unravelled) indices -- computed in the tensors' dtype, as PyTorch does."""
    shape = tuple(matches.shape)

    def unravel_flat_index(flat_index: int) -> tuple:
        inverse_index = []
        for size in shape[::-1]:
            flat_index, mod = divmod(flat_index, size)
            inverse_index.append(mod)
        return tuple(inverse_index[::-1])

    number_of_elements = matches.numel()
    total_mismatches = number_of_elements - int(matches.sum().item())
    extra = (f"Mismatched elements: {total_mismatches} / {number_of_elements} "
             f"({total_mismatches / number_of_elements:.1%})")
    actual_flat, expected_flat, matches_flat = actual.flatten(), expected.flatten(), matches.flatten()
    if not (actual.dtype.is_floating_point or actual.dtype.is_complex):
        # integers (and bools) in int64, so the difference cannot overflow
        actual_flat, expected_flat = actual_flat.to(backend.int64), expected_flat.to(backend.int64)
    abs_diff = (actual_flat - expected_flat).abs()
    abs_diff[matches_flat] = 0   # only mismatches count
    max_abs_diff, max_abs_diff_flat_idx = abs_diff.max(0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", RuntimeWarning)   # x / 0 is inf (or nan) here, on purpose
        rel_diff = abs_diff / expected_flat.abs()
    rel_diff[matches_flat] = 0
    max_rel_diff, max_rel_diff_flat_idx = rel_diff.max(0)
    return _make_mismatch_msg(default_identifier="Tensor-likes", identifier=identifier, extra=extra,
                              abs_diff=max_abs_diff.item(),
                              abs_diff_idx=unravel_flat_index(int(max_abs_diff_flat_idx.item())), atol=atol,
                              rel_diff=max_rel_diff.item(),
                              rel_diff_idx=unravel_flat_index(int(max_rel_diff_flat_idx.item())), rtol=rtol)


class UnsupportedInputs(Exception):
    """Raised by a pair type's constructor when it cannot handle the inputs: try the next one."""


class Pair:
    """One leaf comparison.  Subclasses take the options they use and implement ``compare``,
    which raises ``ErrorMeta`` on a mismatch."""

    def __init__(self, actual: Any, expected: Any, *, id: tuple = (), **unknown_parameters: Any) -> None:
        self.actual, self.expected, self.id = actual, expected, id
        self._unknown_parameters = unknown_parameters

    @staticmethod
    def _inputs_not_supported() -> NoReturn:
        raise UnsupportedInputs

    @staticmethod
    def _check_inputs_isinstance(*inputs: Any, cls: Any) -> None:
        if not all(isinstance(input, cls) for input in inputs):
            Pair._inputs_not_supported()

    def _fail(self, type: type, msg: str, *, id: tuple = ()) -> NoReturn:
        raise ErrorMeta(type, msg, id=self.id if not id and hasattr(self, "id") else id)

    def compare(self) -> None:
        raise NotImplementedError(f"{type(self).__name__} must implement compare()")


class NonePair(Pair):
    """``None`` only matches ``None``."""

    def __init__(self, actual: Any, expected: Any, **other_parameters: Any) -> None:
        if not (actual is None or expected is None):
            self._inputs_not_supported()
        super().__init__(actual, expected, **other_parameters)

    def compare(self) -> None:
        if not (self.actual is None and self.expected is None):
            self._fail(AssertionError, f"None mismatch: {self.actual} is not {self.expected}")


class BooleanPair(Pair):
    """Python and NumPy booleans: must be identical."""

    def __init__(self, actual: Any, expected: Any, *, id: tuple, **other_parameters: Any) -> None:
        self._check_inputs_isinstance(actual, expected, cls=(bool, backend.numpy.bool_))
        actual, expected = (bool(b) for b in (actual, expected))
        super().__init__(actual, expected, id=id, **other_parameters)

    def compare(self) -> None:
        if self.actual is not self.expected:
            self._fail(AssertionError, f"Booleans mismatch: {self.actual} is not {self.expected}")


class NumberPair(Pair):
    """Python numbers (and NumPy scalars), with the tolerances of int64 / float64 / complex128."""

    _TYPE_TO_DTYPE = {int: backend.int64, float: backend.float64, complex: backend.complex128}
    _NUMBER_TYPES = (int, float, complex)

    def __init__(self, actual: Any, expected: Any, *, id: tuple = (), rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_dtype: bool = False,
                 **other_parameters: Any) -> None:
        self._check_inputs_isinstance(actual, expected, cls=self._NUMBER_TYPES + (backend.numpy.number,))
        actual, expected = (v.item() if isinstance(v, backend.numpy.number) else v for v in (actual, expected))
        super().__init__(actual, expected, id=id, **other_parameters)
        self.rtol, self.atol = get_tolerances(*[self._TYPE_TO_DTYPE[type(v)] for v in (actual, expected)],
                                              rtol=rtol, atol=atol, id=id)
        self.equal_nan, self.check_dtype = equal_nan, check_dtype

    def compare(self) -> None:
        if self.check_dtype and type(self.actual) is not type(self.expected):
            self._fail(AssertionError,
                       f"The (d)types do not match: {type(self.actual)} != {type(self.expected)}.")
        if self.actual == self.expected:
            return
        if self.equal_nan and cmath.isnan(self.actual) and cmath.isnan(self.expected):
            return
        abs_diff = abs(self.actual - self.expected)
        tolerance = self.atol + self.rtol * abs(self.expected)
        if cmath.isfinite(abs_diff) and abs_diff <= tolerance:
            return
        self._fail(AssertionError, make_scalar_mismatch_msg(self.actual, self.expected, rtol=self.rtol,
                                                            atol=self.atol))


class TensorLikePair(Pair):
    """Tensors, or two objects of related types that ``edunn.as_tensor`` converts (two NumPy
    arrays, two lists are sequences and never get here).  ``check_device``/``check_dtype``/
    ``check_layout`` off: the inputs are moved to the CPU / promoted / made dense first."""

    def __init__(self, actual: Any, expected: Any, *, id: tuple = (), allow_subclasses: bool = True,
                 rtol: float | None = None, atol: float | None = None, equal_nan: bool = False,
                 check_device: bool = True, check_dtype: bool = True, check_layout: bool = True,
                 check_stride: bool = False, **other_parameters: Any) -> None:
        directly_related = isinstance(actual, type(expected)) or isinstance(expected, type(actual))
        if not directly_related or (not allow_subclasses and type(actual) is not type(expected)):
            self._inputs_not_supported()
        actual, expected = (self._to_tensor(v) for v in (actual, expected))
        super().__init__(actual, expected, id=id, **other_parameters)
        self.rtol, self.atol = get_tolerances(actual, expected, rtol=rtol, atol=atol, id=self.id)
        self.equal_nan, self.check_device, self.check_dtype = equal_nan, check_device, check_dtype
        self.check_layout, self.check_stride = check_layout, check_stride

    def _to_tensor(self, tensor_like: Any) -> Tensor:
        if isinstance(tensor_like, Tensor):
            return tensor_like
        from ..ops.creation import as_tensor
        try:
            return as_tensor(tensor_like)
        except Exception:
            self._inputs_not_supported()

    def compare(self) -> None:
        actual, expected = self.actual, self.expected
        self._compare_attributes(actual, expected)
        actual, expected = self._equalize_attributes(actual, expected)
        self._compare_values(actual, expected)

    def _compare_attributes(self, actual: Tensor, expected: Tensor) -> None:
        def raise_mismatch_error(attribute_name: str, actual_value: Any, expected_value: Any) -> NoReturn:
            self._fail(AssertionError, f"The values for attribute '{attribute_name}' do not match: "
                                       f"{actual_value} != {expected_value}.")

        if actual.shape != expected.shape:
            raise_mismatch_error("shape", actual.shape, expected.shape)
        if actual.layout != expected.layout:
            if self.check_layout:
                raise_mismatch_error("layout", actual.layout, expected.layout)
        elif actual.layout == _strided() and self.check_stride and actual.stride() != expected.stride():
            raise_mismatch_error("stride()", actual.stride(), expected.stride())
        if self.check_device and actual.device != expected.device:
            raise_mismatch_error("device", actual.device, expected.device)
        if self.check_dtype and actual.dtype != expected.dtype:
            raise_mismatch_error("dtype", actual.dtype, expected.dtype)

    def _equalize_attributes(self, actual: Tensor, expected: Tensor) -> tuple:
        if actual.device != expected.device:
            actual, expected = actual.cpu(), expected.cpu()
        if actual.dtype != expected.dtype:
            dtype = backend.promote_types(actual.dtype, expected.dtype)
            actual, expected = actual.to(dtype), expected.to(dtype)
        if actual.layout != expected.layout:
            actual = actual.to_dense() if actual.layout != _strided() else actual
            expected = expected.to_dense() if expected.layout != _strided() else expected
        return actual, expected

    def _compare_values(self, actual: Tensor, expected: Tensor) -> None:
        if actual.is_sparse:
            return self._compare_sparse_coo_values(actual, expected)
        self._compare_regular_values_close(actual, expected, rtol=self.rtol, atol=self.atol,
                                           equal_nan=self.equal_nan)

    def _compare_sparse_coo_values(self, actual: Tensor, expected: Tensor) -> None:
        """Sparse COO: same number of sparse dims and of stored values, equal indices, close values."""
        if actual.sparse_dim() != expected.sparse_dim():
            self._fail(AssertionError, f"The number of sparse dimensions in sparse COO tensors does not match: "
                                       f"{actual.sparse_dim()} != {expected.sparse_dim()}")
        if actual._nnz() != expected._nnz():
            self._fail(AssertionError, f"The number of specified values in sparse COO tensors does not match: "
                                       f"{actual._nnz()} != {expected._nnz()}")
        self._compare_regular_values_close(actual._indices(), expected._indices(), rtol=0, atol=0,
                                           equal_nan=False, identifier="Sparse COO indices")
        self._compare_regular_values_close(actual._values(), expected._values(), rtol=self.rtol,
                                           atol=self.atol, equal_nan=self.equal_nan,
                                           identifier="Sparse COO values")

    def _compare_regular_values_close(self, actual: Tensor, expected: Tensor, *, rtol: float, atol: float,
                                      equal_nan: bool, identifier: Any = None) -> None:
        from ..ops.comparison import isclose
        matches = isclose(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan)
        if bool(matches.all().item()):
            return
        if actual.shape == ():
            msg = make_scalar_mismatch_msg(actual.item(), expected.item(), rtol=rtol, atol=atol,
                                           identifier=identifier)
        else:
            msg = make_tensor_mismatch_msg(actual, expected, matches, rtol=rtol, atol=atol,
                                           identifier=identifier)
        self._fail(AssertionError, msg)


def _strided() -> Any:
    from ..sparse import strided
    return strided


def originate_pairs(actual: Any, expected: Any, *, pair_types: Sequence[type],
                    sequence_types: tuple = (collections.abc.Sequence,),
                    mapping_types: tuple = (collections.abc.Mapping,), id: tuple = (), **options: Any) -> list:
    """Recurse through matching sequences and mappings; make one pair per leaf."""
    # strings are sequences of strings: recursing would never end ("a"[0][0]...)
    if (isinstance(actual, sequence_types) and not isinstance(actual, str)
            and isinstance(expected, sequence_types) and not isinstance(expected, str)):
        actual_len, expected_len = len(actual), len(expected)
        if actual_len != expected_len:
            raise ErrorMeta(AssertionError, f"The length of the sequences mismatch: {actual_len} != {expected_len}",
                            id=id)
        pairs = []
        for idx in range(actual_len):
            pairs.extend(originate_pairs(actual[idx], expected[idx], pair_types=pair_types,
                                         sequence_types=sequence_types, mapping_types=mapping_types,
                                         id=(*id, idx), **options))
        return pairs
    if isinstance(actual, mapping_types) and isinstance(expected, mapping_types):
        actual_keys, expected_keys = set(actual.keys()), set(expected.keys())
        if actual_keys != expected_keys:
            missing_keys, additional_keys = expected_keys - actual_keys, actual_keys - expected_keys
            raise ErrorMeta(AssertionError, f"The keys of the mappings do not match:\n"
                                            f"Missing keys in the actual mapping: {sorted(missing_keys)}\n"
                                            f"Additional keys in the actual mapping: {sorted(additional_keys)}",
                            id=id)
        keys: Any = actual_keys
        with contextlib.suppress(Exception):   # sorted when possible, so the first failure is stable
            keys = sorted(keys)
        pairs = []
        for key in keys:
            pairs.extend(originate_pairs(actual[key], expected[key], pair_types=pair_types,
                                         sequence_types=sequence_types, mapping_types=mapping_types,
                                         id=(*id, key), **options))
        return pairs
    for pair_type in pair_types:
        try:
            return [pair_type(actual, expected, id=id, **options)]
        except UnsupportedInputs:
            continue
    raise ErrorMeta(TypeError, f"No comparison pair was able to handle inputs of type {type(actual)} "
                               f"and {type(expected)}.", id=id)


def not_close_error_metas(actual: Any, expected: Any, *, pair_types: Sequence[type],
                          sequence_types: tuple = (collections.abc.Sequence,),
                          mapping_types: tuple = (collections.abc.Mapping,), **options: Any) -> list:
    """Every mismatch between ``actual`` and ``expected``, as ``ErrorMeta``s."""
    __tracebackhide__ = True
    try:
        pairs = originate_pairs(actual, expected, pair_types=pair_types, sequence_types=sequence_types,
                                mapping_types=mapping_types, **options)
    except ErrorMeta as error_meta:
        raise error_meta.to_error() from None
    error_metas = []
    for pair in pairs:
        try:
            pair.compare()
        except ErrorMeta as error_meta:
            error_metas.append(error_meta)
    return error_metas


def assert_close(actual: Any, expected: Any, *, allow_subclasses: bool = True, rtol: float | None = None,
                 atol: float | None = None, equal_nan: bool = False, check_device: bool = True,
                 check_dtype: bool = True, check_layout: bool = True, check_stride: bool = False,
                 msg: str | Callable[[str], str] | None = None) -> None:
    r"""Assert that ``actual`` and ``expected`` are close, as ``torch.testing.assert_close``.

    Values are close when :math:`|actual - expected| \le atol + rtol \cdot |expected|`
    elementwise (``inf`` only matches an equal ``inf``; ``NaN`` matches ``NaN`` only with
    ``equal_nan=True``), after checking that shape, layout, device and dtype agree (each check
    but shape can be switched off; ``check_stride`` is off by default).  Inputs may be tensors,
    pairs of NumPy arrays, Python numbers (``check_dtype`` applies to their type), ``None``,
    booleans, or sequences/mappings of these, compared element by element.  Give both ``rtol``
    and ``atol`` or neither; the defaults by dtype (the looser of the two inputs') are:

    ==========  ==========  ========
    dtype       ``rtol``    ``atol``
    ==========  ==========  ========
    float16     1e-3        1e-5
    bfloat16    1.6e-2      1e-5
    float32     1.3e-6      1e-5
    float64     1e-7        1e-7
    other       0.0         0.0
    ==========  ==========  ========

    Raises ``AssertionError`` with PyTorch's message (mismatched count, greatest absolute and
    relative difference and their indices); ``msg`` replaces it, or, if callable, receives it and
    returns the message to show.  ``TypeError`` when no comparison applies to the inputs (a NumPy
    array against a tensor, say), ``ValueError`` when only one tolerance is given.
    """
    __tracebackhide__ = True
    error_metas = not_close_error_metas(
        actual, expected, pair_types=(NonePair, BooleanPair, NumberPair, TensorLikePair),
        allow_subclasses=allow_subclasses, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=check_device,
        check_dtype=check_dtype, check_layout=check_layout, check_stride=check_stride, msg=msg)
    if error_metas:
        raise error_metas[0].to_error(msg)


def assert_allclose(actual: Any, expected: Any, rtol: float | None = None, atol: float | None = None,
                    equal_nan: bool = True, msg: str = "") -> None:
    """Deprecated (since PyTorch 1.12): ``assert_close`` with looser float defaults
    (float16 1e-3/1e-3, float32 1e-4/1e-5, float64 1e-5/1e-8), ``equal_nan=True`` and no dtype
    check; non-tensor inputs are made tensors (``expected`` in ``actual``'s dtype)."""
    warnings.warn("`torch.testing.assert_allclose()` is deprecated since 1.12 and will be removed in a future "
                  "release. Please use `torch.testing.assert_close()` instead. You can find detailed upgrade "
                  "instructions in https://github.com/pytorch/pytorch/issues/61844.", FutureWarning, stacklevel=2)
    from ..ops.creation import tensor
    if not isinstance(actual, Tensor):
        actual = tensor(actual)
    if not isinstance(expected, Tensor):
        expected = tensor(expected, dtype=actual.dtype)
    if rtol is None and atol is None:
        rtol, atol = default_tolerances(actual, expected, dtype_precisions={
            backend.float16: (1e-3, 1e-3), backend.float32: (1e-4, 1e-5), backend.float64: (1e-5, 1e-8)})
    assert_close(actual, expected, rtol=rtol, atol=atol, equal_nan=equal_nan, check_device=True,
                 check_dtype=False, check_stride=False, msg=msg or None)
