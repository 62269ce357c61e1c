"""edunn.testing against torch.testing: assert_close's pass/fail decisions and its messages (the
same text for the same inputs), make_tensor's ranges, dtypes and layouts, assert_allclose."""
import inspect
import math
import warnings

import numpy as np
import pytest

import edunn
from edunn.testing import assert_allclose, assert_close, make_tensor
from opcheck import bfloat16_refused_on_cuda, needs_torch, torch

NAN, INF = float("nan"), float("inf")


def _outcome(fn, *args, **kwargs):
    """``None`` if ``fn`` passes, else ``(exception type name, message)`` with PyTorch's and
    edunn's spellings of types made equal (``torch.float32`` / ``edunn.float32`` ...)."""
    try:
        fn(*args, **kwargs)
        return None
    except Exception as e:  # noqa: BLE001 - the comparison is the point
        text = str(e).replace("<class 'edunn.tensor.Tensor'>", "<Tensor>").replace("<class 'torch.Tensor'>",
                                                                                   "<Tensor>")
        return type(e).__name__, text.replace("torch.", "edunn.")


# Each case builds (actual, expected) from a library L (edunn or torch), with keyword options.
CASES = {
    "one-element-off": (lambda L: (L.tensor([1., 2., 3.]), L.tensor([1., 2., 3.1])), {}),
    "2d-with-zero-expected": (lambda L: (L.tensor([[1., 2.], [3., 4.]]), L.tensor([[1., 2.5], [3., 0.]])), {}),
    "within-tolerance": (lambda L: (L.tensor([1., 2.]), L.tensor([1.000001, 2.00001])), {}),
    "just-outside-tolerance": (lambda L: (L.tensor([100.]), L.tensor([100.01])), {}),
    "0-d": (lambda L: (L.tensor(1.), L.tensor(2.)), {}),
    "int-exact": (lambda L: (L.tensor([1, 2, 3]), L.tensor([1, 2, 4])), {}),
    "int-equal": (lambda L: (L.tensor([1, 2, 3]), L.tensor([1, 2, 3])), {}),
    "uint8-wraps-not": (lambda L: (L.tensor([0], dtype=L.uint8), L.tensor([255], dtype=L.uint8)), {}),
    "bool": (lambda L: (L.tensor([True, False]), L.tensor([True, True])), {}),
    "shape": (lambda L: (L.tensor([1., 2.]), L.tensor([1., 2., 3.])), {}),
    "dtype": (lambda L: (L.tensor([1., 2.]), L.tensor([1., 2.], dtype=L.float64)), {}),
    "dtype-unchecked": (lambda L: (L.tensor([1., 2.]), L.tensor([1., 2.], dtype=L.float64)), {"check_dtype": False}),
    "dtype-unchecked-int-float": (lambda L: (L.tensor([1, 2]), L.tensor([1., 2.5])), {"check_dtype": False}),
    "nan": (lambda L: (L.tensor([1., NAN]), L.tensor([1., NAN])), {}),
    "nan-equal": (lambda L: (L.tensor([1., NAN]), L.tensor([1., NAN])), {"equal_nan": True}),
    "nan-vs-number": (lambda L: (L.tensor([1., NAN]), L.tensor([1., 2.])), {"equal_nan": True}),
    "inf-equal": (lambda L: (L.tensor([1., INF]), L.tensor([1., INF])), {}),
    "inf-sign": (lambda L: (L.tensor([1., INF]), L.tensor([1., -INF])), {}),
    "inf-vs-large": (lambda L: (L.tensor([INF]), L.tensor([3e38])), {}),
    "float16": (lambda L: (L.tensor([0.1, 0.2], dtype=L.float16), L.tensor([0.1, 0.21], dtype=L.float16)), {}),
    "float16-close": (lambda L: (L.tensor([1.0], dtype=L.float16), L.tensor([1.000976], dtype=L.float16)), {}),
    "bfloat16": (lambda L: (L.tensor([0.1, 0.2], dtype=L.bfloat16), L.tensor([0.1, 0.25], dtype=L.bfloat16)), {}),
    "bfloat16-close": (lambda L: (L.tensor([1.0], dtype=L.bfloat16), L.tensor([1.0078125], dtype=L.bfloat16)), {}),
    "float64": (lambda L: (L.tensor([1.0], dtype=L.float64), L.tensor([1.0 + 1e-6], dtype=L.float64)), {}),
    "mixed-dtypes-loosest": (lambda L: (L.tensor([1.0], dtype=L.float16), L.tensor([1.0005], dtype=L.float32)),
                             {"check_dtype": False}),
    "exact-tolerances": (lambda L: (L.tensor([1., 2.]), L.tensor([1., 2.5])), {"rtol": 0., "atol": 0.}),
    "own-tolerances-pass": (lambda L: (L.tensor([1., 2.]), L.tensor([1., 2.5])), {"rtol": 0.3, "atol": 0.}),
    "only-rtol": (lambda L: (L.tensor([1., 2.]), L.tensor([1., 2.5])), {"rtol": 0.1}),
    "only-atol": (lambda L: (L.tensor([1., 2.]), L.tensor([1., 2.5])), {"atol": 0.1}),
    "msg-str": (lambda L: (L.tensor([1., 2.]), L.tensor([1., 2.5])), {"msg": "custom"}),
    "msg-callable": (lambda L: (L.tensor([1., 2.]), L.tensor([1., 2.5])), {"msg": lambda m: f"Header\n\n{m}\n\nFooter"}),
    "3d-index": (lambda L: (L.arange(24.).reshape(2, 3, 4), L.arange(24.).reshape(2, 3, 4) * L.tensor(
        [1.] * 23 + [1.5]).reshape(2, 3, 4)), {}),
    "many-mismatches": (lambda L: (L.arange(10.), L.arange(10.) + L.tensor([0., 1.] * 5)), {}),
    "stride-checked": (lambda L: (L.zeros(2, 3).t(), L.zeros(3, 2)), {"check_stride": True}),
    "stride-unchecked": (lambda L: (L.zeros(2, 3).t(), L.zeros(3, 2)), {}),
    "empty": (lambda L: (L.zeros(0, 3), L.zeros(0, 3)), {}),
    "python-float": (lambda L: (1.0, 1.1), {}),
    "python-float-close": (lambda L: (1.0, 1.0 + 1e-8), {}),
    "python-int": (lambda L: (1, 2), {}),
    "python-int-vs-float": (lambda L: (1, 1.0), {}),
    "python-int-vs-float-unchecked": (lambda L: (1, 1.0), {"check_dtype": False}),
    "python-zero-expected": (lambda L: (1e-3, 0.0), {}),
    "python-nan": (lambda L: (NAN, NAN), {}),
    "python-nan-equal": (lambda L: (NAN, NAN), {"equal_nan": True}),
    "numpy-scalars": (lambda L: (np.float32(1.0), np.float32(1.5)), {}),
    "numpy-bool": (lambda L: (np.bool_(True), True), {}),
    "bools": (lambda L: (True, False), {}),
    "none": (lambda L: (None, None), {}),
    "none-vs-number": (lambda L: (None, 1), {}),
    "strings": (lambda L: ("a", "b"), {}),
    "numpy-arrays": (lambda L: (np.array([1., 2.]), np.array([1., 2.5])), {}),
    "numpy-arrays-equal": (lambda L: (np.array([1, 2]), np.array([1, 2])), {}),
    "numpy-vs-tensor": (lambda L: (np.array([1., 2.]), L.tensor([1., 2.])), {}),
    "tensor-vs-list": (lambda L: (L.tensor([1., 2.]), [1., 2.]), {}),
    "lists": (lambda L: ([1.0, 2.0], [1.0, 2.5]), {}),
    "sequence-length": (lambda L: ([1, 2], [1, 2, 3]), {}),
    "tuple-vs-list": (lambda L: ((1, 2), [1, 2]), {}),
    "nested": (lambda L: ([L.tensor([1.]), {"a": L.tensor([2.])}], [L.tensor([1.]), {"a": L.tensor([2.5])}]), {}),
    "nested-msg-callable": (lambda L: ({"w": [L.tensor([1.])]}, {"w": [L.tensor([1.5])]}), {"msg": lambda m: "> " + m}),
    "mapping-keys": (lambda L: ({"a": 1, "c": 2}, {"b": 1, "c": 2}), {}),
    "mapping-equal": (lambda L: ({"a": L.tensor([1.]), "b": 2}, {"b": 2, "a": L.tensor([1.])}), {}),
    "state-dict-like": (lambda L: ({"weight": L.ones(2, 2), "bias": L.zeros(2)},
                                   {"weight": L.ones(2, 2), "bias": L.tensor([0., 1e-3])}), {}),
}


@needs_torch
@pytest.mark.parametrize("name", list(CASES))
def test_assert_close_matches_torch(name):
    make, kwargs = CASES[name]
    ours = _outcome(assert_close, *make(edunn), **kwargs)
    theirs = _outcome(torch.testing.assert_close, *make(torch), **kwargs)
    assert ours == theirs


@needs_torch
def test_assert_close_subclasses():
    p, t = edunn.nn.Parameter(edunn.ones(2)), edunn.ones(2)
    assert_close(p, t)
    with pytest.raises(TypeError, match="No comparison pair was able to handle inputs of type"):
        assert_close(p, t, allow_subclasses=False)
    tp, tt = torch.nn.Parameter(torch.ones(2)), torch.ones(2)
    with pytest.raises(TypeError):
        torch.testing.assert_close(tp, tt, allow_subclasses=False)


@pytest.mark.gpu
def test_assert_close_across_devices():
    a, b = edunn.ones(3), edunn.ones(3, device="cuda")
    with pytest.raises(AssertionError, match="The values for attribute 'device' do not match: cpu != cuda:0."):
        assert_close(a, b)
    assert_close(a, b, check_device=False)
    with pytest.raises(AssertionError, match="Mismatched elements: 1 / 3"):
        assert_close(a, b * edunn.tensor([1., 1., 2.], device="cuda"), check_device=False)


def test_assert_close_on_device(device):
    a = edunn.tensor([1., 2., 3.], device=device)
    assert_close(a, a.clone())
    with pytest.raises(AssertionError, match=r"Greatest absolute difference: 1.0 at index \(2,\)"):
        assert_close(a, edunn.tensor([1., 2., 4.], device=device))


def test_assert_close_sparse():
    i = [[0, 2]]
    a = edunn.sparse_coo_tensor(i, [1., 2.], (3,))
    assert_close(a, edunn.sparse_coo_tensor(i, [1., 2.], (3,)))
    with pytest.raises(AssertionError, match="Sparse COO values are not close!"):
        assert_close(a, edunn.sparse_coo_tensor(i, [1., 2.5], (3,)))
    with pytest.raises(AssertionError, match="Sparse COO indices are not equal!"):
        assert_close(a, edunn.sparse_coo_tensor([[0, 1]], [1., 2.], (3,)))
    with pytest.raises(AssertionError, match="attribute 'layout'"):
        assert_close(a, a.to_dense())
    assert_close(a, a.to_dense(), check_layout=False)


@needs_torch
def test_assert_close_signature():
    ours = inspect.signature(assert_close).parameters
    theirs = inspect.signature(torch.testing.assert_close).parameters
    assert [(p.name, p.kind, p.default) for p in ours.values()] == \
           [(p.name, p.kind, p.default) for p in theirs.values()]
    for ours_fn, theirs_fn in ((make_tensor, torch.testing.make_tensor),
                               (assert_allclose, torch.testing.assert_allclose)):
        a = inspect.signature(ours_fn).parameters.values()
        b = inspect.signature(theirs_fn).parameters.values()
        assert [(p.name, p.kind, p.default) for p in a] == [(p.name, p.kind, p.default) for p in b]


@needs_torch
@pytest.mark.parametrize("make", [
    lambda L: (L.tensor([1., 2.]), L.tensor([1., 2.0001])),
    lambda L: (L.tensor([1., NAN]), L.tensor([1., NAN])),
    lambda L: (L.tensor([1., 2.]), [1., 2.5]),
    lambda L: ([1, 2], [1, 2]),
    lambda L: (L.tensor([1, 2]), L.tensor([1., 2.])),
], ids=["loose-float32", "nan-equal-by-default", "list-expected", "lists", "int-vs-float"])
def test_assert_allclose_matches_torch(make):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        ours = _outcome(assert_allclose, *make(edunn))
    assert any(issubclass(w.category, FutureWarning) and "assert_allclose()` is deprecated" in str(w.message)
               for w in caught)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = _outcome(torch.testing.assert_allclose, *make(torch))
    assert ours == theirs


# ------------------------------------------------------------------------------------- make_tensor
DTYPES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
DEFAULT_RANGE = {"bool": (0, 1), "uint8": (0, 9), "float16": (-9, 9), "bfloat16": (-9, 9), "float32": (-9, 9),
                 "float64": (-9, 9)}


@pytest.mark.parametrize("dtype", DTYPES)
def test_make_tensor_default_ranges(dtype, device):
    if bfloat16_refused_on_cuda(device, dtype):
        return
    t = make_tensor(2000, dtype=getattr(edunn, dtype), device=device)
    assert t.dtype == getattr(edunn, dtype) and t.shape == (2000,) and t.device.type == device
    lo, hi = DEFAULT_RANGE.get(dtype, (-9, 9))
    vals = t.to(edunn.float64)
    assert vals.min().item() >= lo and vals.max().item() <= hi
    if dtype in ("bool", "uint8", "int8", "int16", "int32", "int64"):
        # the integer range [low, high) is covered: every value appears among 2000 draws
        assert vals.min().item() == lo and vals.max().item() == hi
    else:
        assert vals.max().item() - vals.min().item() > 15   # spread over [-9, 9)


@needs_torch
@pytest.mark.parametrize("dtype", DTYPES)
@pytest.mark.parametrize("kwargs", [
    {}, {"low": -2, "high": 3}, {"low": 0.5, "high": 2.5}, {"low": -1e40, "high": 1e40}, {"low": 100, "high": 101},
], ids=["default", "int-bounds", "fractional-bounds", "clamped", "narrow"])
def test_make_tensor_bounds_like_torch(dtype, kwargs):
    """Same validity (or same error) as torch, values inside torch's interval for the dtype."""
    ours = theirs = None
    try:
        t = make_tensor(500, dtype=getattr(edunn, dtype), device="cpu", **kwargs)
    except ValueError as e:
        ours = str(e).replace("edunn.", "torch.")
    try:
        r = torch.testing.make_tensor(500, dtype=getattr(torch, dtype), device="cpu", **kwargs)
    except ValueError as e:
        theirs = str(e)
    if theirs is not None or ours is not None:
        # messages differ only in how the dtype's limits print (NumPy scalars vs Python floats)
        assert (ours is None) == (theirs is None) and ours.split(",")[0] == theirs.split(",")[0]
        return
    del r
    vals = t.to(edunn.float64)
    tdtype = getattr(torch, dtype)
    info = torch.finfo(tdtype) if tdtype.is_floating_point else torch.iinfo(tdtype) if dtype != "bool" else None
    lo, hi = kwargs.get("low", -9), kwargs.get("high", 9 if info is not None and tdtype.is_floating_point else 10)
    if info is None:
        lo, hi = max(kwargs.get("low", 0), 0), min(kwargs.get("high", 2), 2)
    else:
        top = float(info.max) + (0 if tdtype.is_floating_point or dtype == "int64" else 1)  # exclusive
        lo, hi = max(lo, float(info.min)), min(hi, top)
    if not tdtype.is_floating_point:
        lo, hi = math.ceil(lo), math.ceil(hi) - 1
    assert vals.min().item() >= lo and vals.max().item() <= hi


def test_make_tensor_options(device):
    t = make_tensor(3, 4, dtype=edunn.float32, device=device, noncontiguous=True)
    assert t.shape == (3, 4) and not t.is_contiguous()
    assert make_tensor(1, dtype=edunn.float32, device=device, noncontiguous=True).is_contiguous()  # < 2 elements
    t = make_tensor((2, 3, 4, 5), dtype=edunn.float32, device=device, memory_format=edunn.channels_last)
    assert t.shape == (2, 3, 4, 5) and t.dtype == edunn.float32
    t = make_tensor([50], dtype=edunn.int64, device=device, low=0, high=2, exclude_zero=True)
    assert (t == 1).all().item()
    t = make_tensor(50, dtype=edunn.float32, device=device, low=0, high=1e-44, exclude_zero=True)
    assert (t != 0).all().item()
    t = make_tensor(2, 3, dtype=edunn.float64, device=device, requires_grad=True)
    assert t.requires_grad and t.is_leaf
    assert make_tensor((), dtype=edunn.float32, device=device).shape == ()


@needs_torch
@pytest.mark.parametrize("kwargs", [
    dict(dtype="float32", low=3, high=2), dict(dtype="int64", low=NAN), dict(dtype="int8", requires_grad=True),
    dict(dtype="uint8", low=-20, high=-10), dict(dtype="float32", noncontiguous=True, memory_format="channels_last"),
], ids=["low>=high", "nan", "int-requires-grad", "outside-dtype", "noncontiguous+memory_format"])
def test_make_tensor_errors_like_torch(kwargs):
    def call(L):
        kw = dict(kwargs, dtype=getattr(L, kwargs["dtype"]))
        if "memory_format" in kw:
            kw["memory_format"] = getattr(L, kw["memory_format"])
        return _outcome(L.testing.make_tensor, 2, 3, 4, 5, device="cpu", **kw)
    ours, theirs = call(edunn), call(torch)
    assert ours is not None and ours[0] == theirs[0] == "ValueError"
    assert ours[1].split(" but ")[0] == theirs[1].split(" but ")[0]


@needs_torch
def test_make_tensor_low_equal_high_warns_like_torch():
    with pytest.warns(FutureWarning, match="Passing `low==high`"):
        t = make_tensor(3, dtype=edunn.float32, device="cpu", low=2, high=2)
    with pytest.warns(FutureWarning):
        r = torch.testing.make_tensor(3, dtype=torch.float32, device="cpu", low=2, high=2)
    assert t.tolist() == r.tolist() == [2.0, 2.0, 2.0]


def test_make_tensor_bad_dtype():
    with pytest.raises(TypeError, match="dtype"):
        make_tensor(3, dtype="float32", device="cpu")


def test_make_tensor_is_seeded():
    edunn.manual_seed(3)
    a = make_tensor(5, dtype=edunn.float32, device="cpu")
    edunn.manual_seed(3)
    assert_close(a, make_tensor(5, dtype=edunn.float32, device="cpu"), rtol=0, atol=0)
