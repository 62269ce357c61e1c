"""The backend: dtypes and PyTorch's promotion table, devices, bfloat16/float16 casts,
``edunn.cuda`` without a GPU (lesson 01)."""
import numpy as np
import pytest

import edunn
from edunn import backend
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01

NAMES = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]


def _name(d) -> str:
    return repr(d).split(".")[-1]


# ---------------------------------------------------------------------------------- dtypes
def test_dtype_table():
    for name in NAMES:
        d = getattr(edunn, name)
        assert repr(d) == f"edunn.{name}"
        assert d.is_floating_point == name.startswith(("float", "bfloat"))
    assert edunn.half is edunn.float16 and edunn.float is edunn.float32 and edunn.double is edunn.float64
    assert edunn.long is edunn.int64 and edunn.int is edunn.int32 and edunn.short is edunn.int16
    assert edunn.get_default_dtype() is edunn.float32
    assert edunn.float32.itemsize == 4 and edunn.bfloat16.itemsize == 2


@needs_torch
@pytest.mark.parametrize("a", NAMES)
def test_promote_types_matches_torch(a):
    for b in NAMES:
        got = edunn.promote_types(getattr(edunn, a), getattr(edunn, b))
        want = torch.promote_types(getattr(torch, a), getattr(torch, b))
        assert _name(got) == str(want).split(".")[-1], (a, b)


@needs_torch
@pytest.mark.parametrize("a", NAMES)
def test_binary_op_result_dtype_matches_torch(a):
    for b in NAMES:
        x_e, y_e = edunn.ones(2, dtype=getattr(edunn, a)), edunn.ones(2, dtype=getattr(edunn, b))
        x_t, y_t = torch.ones(2, dtype=getattr(torch, a)), torch.ones(2, dtype=getattr(torch, b))
        if a == b == "bool":
            continue  # bool + bool is an error-free "or" in torch; dtype checked by promote_types
        assert _name((x_e + y_e).dtype) == str((x_t + y_t).dtype).split(".")[-1], (a, b)
        # a zero-dimensional tensor only wins when it is of a higher category
        z_e, z_t = edunn.ones((), dtype=getattr(edunn, b)), torch.ones((), dtype=getattr(torch, b))
        assert _name((x_e * z_e).dtype) == str((x_t * z_t).dtype).split(".")[-1], (a, b)


@needs_torch
@pytest.mark.parametrize("a", NAMES)
@pytest.mark.parametrize("scalar", [True, 2, 2.5])
def test_tensor_scalar_result_dtype(a, scalar):
    e = edunn.ones(2, dtype=getattr(edunn, a)) * scalar
    t = torch.ones(2, dtype=getattr(torch, a)) * scalar
    assert _name(e.dtype) == str(t.dtype).split(".")[-1]


def test_set_default_dtype():
    try:
        edunn.set_default_dtype(edunn.float64)
        assert edunn.tensor([1.5]).dtype is edunn.float64
        assert edunn.zeros(2).dtype is edunn.float64
        assert edunn.tensor([1, 2]).dtype is edunn.int64
        with pytest.raises(TypeError, match="floating"):
            edunn.set_default_dtype(edunn.int32)
    finally:
        edunn.set_default_dtype(edunn.float32)


def test_as_dtype_errors_name_the_choices():
    with pytest.raises(TypeError, match="edunn.float32"):
        backend.as_dtype("complex256")


@needs_torch
@pytest.mark.parametrize("name", ["float16", "bfloat16"])
def test_low_precision_casts_match_torch(name):
    vals = [1.1, -2.7, 3.14159, 65504.0, 1e-3, 1e5, 0.1]
    e = edunn.tensor(vals).to(getattr(edunn, name))
    t = torch.tensor(vals).to(getattr(torch, name))
    assert e.dtype is getattr(edunn, name)
    assert e.float().tolist() == t.float().tolist()
    assert e.to(edunn.float64).tolist() == t.to(torch.float64).tolist()


def test_finfo_iinfo():
    assert edunn.finfo(edunn.float32).eps == pytest.approx(1.1920929e-07)
    assert float(edunn.finfo(edunn.bfloat16).eps) == 0.0078125
    assert edunn.iinfo(edunn.int8).max == 127


# ---------------------------------------------------------------------------------- devices
@pytest.mark.parametrize("spec, expected_repr, expected_str", [
    ("cpu", "device(type='cpu')", "cpu"),
    ("cuda", "device(type='cuda')", "cuda"),
    ("cuda:1", "device(type='cuda', index=1)", "cuda:1"),
])
def test_device_parsing(spec, expected_repr, expected_str):
    d = edunn.device(spec)
    assert repr(d) == expected_repr and str(d) == expected_str
    if torch is not None:
        assert repr(d) == repr(torch.device(spec)) and str(d) == str(torch.device(spec))


def test_device_forms_and_equality():
    assert edunn.device("cuda", 1) == edunn.device("cuda:1") == "cuda:1"
    assert edunn.device(edunn.device("cuda:2")).index == 2
    assert edunn.device("cpu") != edunn.device("cuda:0")
    assert len({edunn.device("cpu"), edunn.device("cpu")}) == 1
    assert edunn.device("cpu").type == "cpu" and edunn.device("cuda:3").type == "cuda"


@pytest.mark.parametrize("spec, match", [
    ("gpu", "Expected one of cpu, cuda"),
    ("cuda:x", "Invalid device string"),
    ("cuda:-1", "Invalid device string"),
])
def test_device_errors(spec, match):
    with pytest.raises(RuntimeError, match=match):
        edunn.device(spec)
    if torch is not None:
        with pytest.raises(RuntimeError):
            torch.device(spec)


def test_device_error_cases():
    with pytest.raises(RuntimeError, match="negative"):
        edunn.device("cuda", -1)
    with pytest.raises(RuntimeError, match="index"):
        edunn.device("cuda:0", 1)
    with pytest.raises(TypeError):
        edunn.device(3.5)


def test_cpu_tensor_device():
    x = edunn.ones(2)
    assert x.device == edunn.device("cpu") and not x.is_cuda
    assert x.to("cpu") is x or x.to("cpu").device.type == "cpu"


@pytest.mark.skipif(backend.cuda_available(), reason="checks the no-GPU error path")
def test_cuda_unavailable_errors_are_clear():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        edunn.zeros(2, device="cuda")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        edunn.tensor([1.0], device="cuda:0")
    assert edunn.cuda.is_available() is False
    assert edunn.cuda.device_count() == 0
    for fn in (edunn.cuda.current_device, edunn.cuda.synchronize, edunn.cuda.memory_allocated,
               edunn.cuda.memory_reserved, edunn.cuda.get_device_name):
        with pytest.raises(RuntimeError, match="CUDA is not available"):
            fn()
    # seeding is a no-op without a GPU, as in PyTorch, so "seed everything" scripts run anywhere
    edunn.cuda.manual_seed(0)
    edunn.cuda.manual_seed_all(0)
    edunn.cuda.empty_cache()


def test_bfloat16_on_cuda_is_refused_without_a_gpu():
    with pytest.raises(TypeError, match="bfloat16.*CUDA"):
        backend.check_dtype_on_device(edunn.bfloat16.np, edunn.device("cuda"))
    backend.check_dtype_on_device(edunn.float16.np, edunn.device("cuda"))
    backend.check_dtype_on_device(edunn.bfloat16.np, edunn.device("cpu"))


def test_mixing_devices_message(monkeypatch):
    """Without a GPU, fake one: ``b``'s array is of another array class that the backend says
    lives on cuda:0.  Mixing it with a CPU tensor must raise, naming both devices."""
    import numpy as np

    class FakeCudaArray(np.ndarray):
        pass

    a, b = edunn.ones(2), edunn.ones(2)
    b._data = b._data.view(FakeCudaArray)
    real = backend.device_of
    real_is_cupy = backend.is_cupy_array
    monkeypatch.setattr(backend, "device_of",
                        lambda arr: edunn.device("cuda:0") if isinstance(arr, FakeCudaArray) else real(arr))
    monkeypatch.setattr(backend, "is_cupy_array",
                        lambda arr: isinstance(arr, FakeCudaArray) or real_is_cupy(arr))
    assert b.device == edunn.device("cuda:0")
    for op in (lambda: a + b, lambda: a * b, lambda: b - a):
        with pytest.raises(RuntimeError, match="same device") as info:
            op()
        assert "cuda:0" in str(info.value) and "cpu" in str(info.value)


def test_inplace_result_type_cannot_be_cast():
    x = edunn.tensor([1, 2])
    with pytest.raises(RuntimeError, match="result type Float can't be cast to the desired output type Long"):
        x += 1.5
    b = edunn.tensor([True, False])
    with pytest.raises(RuntimeError, match="result type Long can't be cast to the desired output type Bool"):
        b += 2
    f = edunn.tensor([1.0, 2.0])
    f += edunn.tensor([1, 1])  # int into float is fine
    assert f.tolist() == [2.0, 3.0] and f.dtype is edunn.float32


# ---------------------------------------------------------------------------------- generators
def test_manual_seed_reproducible():
    edunn.manual_seed(123)
    a = edunn.rand(5)
    edunn.manual_seed(123)
    b = edunn.rand(5)
    assert a.tolist() == b.tolist()
    assert edunn.initial_seed() == 123


def test_generator_object_and_state():
    g = edunn.Generator().manual_seed(7)
    a = edunn.randn(4, generator=g)
    g.manual_seed(7)
    assert edunn.randn(4, generator=g).tolist() == a.tolist()
    state = edunn.get_rng_state()
    x = edunn.rand(3)
    edunn.set_rng_state(state)
    assert edunn.rand(3).tolist() == x.tolist()
    assert g.initial_seed() == 7


@needs_torch
@pytest.mark.parametrize("a", NAMES)
def test_can_cast_all_pairs_as_torch(a):
    for b in NAMES:
        assert edunn.can_cast(getattr(edunn, a), getattr(edunn, b)) == \
            torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)


@needs_torch
@pytest.mark.parametrize("left, right", [
    (lambda fw: fw.tensor([1, 2]), lambda fw: 2.5), (lambda fw: 2, lambda fw: 3.0),
    (lambda fw: True, lambda fw: fw.tensor([1], dtype=fw.int8)),
    (lambda fw: fw.tensor([1.0]), lambda fw: fw.tensor(2.0, dtype=fw.float64)),
    (lambda fw: fw.tensor([1], dtype=fw.uint8), lambda fw: fw.tensor([1], dtype=fw.int8)),
])
def test_result_type_as_torch(left, right):
    ours = edunn.result_type(left(edunn), right(edunn))
    theirs = torch.result_type(left(torch), right(torch))
    assert _name(ours) == str(theirs).split(".")[-1]


def test_cuda_random_state_functions_without_cuda_say_so():
    if edunn.cuda.is_available():
        pytest.skip("this machine has CUDA")
    edunn.cuda.seed()  # seeding without CUDA does nothing, as in PyTorch
    edunn.cuda.seed_all()
    for call in (edunn.cuda.get_rng_state, lambda: edunn.cuda.set_rng_state({}), edunn.cuda.initial_seed,
                 edunn.cuda.get_device_properties, edunn.cuda.get_device_capability, edunn.cuda.mem_get_info):
        with pytest.raises(RuntimeError, match="CUDA is not available: (install edunn\\[gpu\\]|CuPy is installed)"):
            call()
    assert edunn.cuda.get_rng_state_all() == []


@pytest.mark.parametrize("np_dtype", [np.float16, np.float32, np.float64])
def test_float_order_keys_sort_and_reduce_as_the_floats(np_dtype):
    # the GPU's scatter max/min of floats runs on these keys: they must order exactly as the
    # values do (signed zeros, infinities, subnormals included) and decode bit for bit
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.normal(size=60) * 10, [0.0, -0.0, np.inf, -np.inf, 1e-30, -1e-30]])
    a = a.astype(np_dtype)
    keys = backend.float_order_keys(a)
    assert keys.dtype.kind == "u" and keys.dtype.itemsize == a.dtype.itemsize
    np.testing.assert_array_equal(backend.float_from_order_keys(keys, a.dtype).view(keys.dtype),
                                  a.view(keys.dtype))
    by_value, by_key = np.sort(a), a[np.argsort(keys, kind="stable")]
    np.testing.assert_array_equal(by_value, by_key)
    idx = rng.integers(0, 7, a.size)
    with_nans = np.concatenate([a, np.array([np.nan, -np.nan], a.dtype)])   # both NaN signs
    nan_idx = np.concatenate([idx, [2, 5]])
    for op, start, nan in ((np.maximum, -np.inf, "high"), (np.minimum, np.inf, "low")):
        for values, where in ((a, idx), (with_nans, nan_idx)):
            want = np.full(7, start, a.dtype)
            with np.errstate(invalid="ignore"):
                op.at(want, where, values)   # NumPy: a NaN wins either way
            got = backend.float_order_keys(np.full(7, start, a.dtype), nan)
            op.at(got, where, backend.float_order_keys(values, nan))
            np.testing.assert_array_equal(backend.float_from_order_keys(got, a.dtype), want)
