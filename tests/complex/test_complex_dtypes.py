"""Complex dtypes: the dtype objects, PyTorch's promotion table with complex types, creation of
complex tensors, casts (and the warning when the imaginary part is dropped), ``item``/``tolist``,
and the guard that makes built-in ops not written for complex numbers refuse them (lesson 01)."""
import warnings

import numpy as np
import pytest

import edunn
from edunn import backend
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01

REAL = ["bool", "uint8", "int8", "int16", "int32", "int64", "float16", "bfloat16", "float32", "float64"]
COMPLEX = ["complex32", "complex64", "complex128"]
ALL = REAL + COMPLEX


def _name(d) -> str:
    return repr(d).split(".")[-1]


# ---------------------------------------------------------------------------------- the dtypes
@needs_torch
@pytest.mark.parametrize("name", COMPLEX)
def test_complex_dtype_attributes_match_torch(name):
    e, t = getattr(edunn, name), getattr(torch, name)
    assert e.is_complex is t.is_complex is True
    assert e.is_floating_point is t.is_floating_point is False
    assert e.is_signed == t.is_signed
    assert e.itemsize == t.itemsize
    assert _name(e.to_real()) == str(t.to_real()).split(".")[-1]
    assert e.to_complex() is e
    assert repr(e) == f"edunn.{name}"


def test_aliases_and_names():
    assert edunn.cfloat is edunn.complex64 and edunn.cdouble is edunn.complex128
    assert edunn.chalf is edunn.complex32
    assert edunn.complex64.scalar_name == "ComplexFloat"
    assert edunn.complex128.scalar_name == "ComplexDouble"
    assert edunn.complex32.scalar_name == "ComplexHalf"
    assert backend.as_dtype("cfloat") is edunn.complex64
    assert backend.as_dtype(np.complex128) is edunn.complex128
    assert backend.as_dtype(complex) is edunn.complex64
    assert edunn.float64.to_complex() is edunn.complex128
    with pytest.raises(RuntimeError, match="floating point"):
        edunn.int64.to_complex()
    import pickle
    assert pickle.loads(pickle.dumps(edunn.complex64)) is edunn.complex64


def test_complex32_exists_but_makes_no_tensors():
    with pytest.raises(TypeError, match="complex32.*NumPy and CuPy have no complex32"):
        edunn.zeros(2, dtype=edunn.complex32)
    with pytest.raises(TypeError, match="complex32"):
        edunn.ones(2).to(edunn.chalf)
    with pytest.raises(TypeError, match="complex32"):
        edunn.tensor([1j], dtype=edunn.complex32)


def test_default_complex_follows_default_float():
    assert edunn.tensor([1 + 2j]).dtype is edunn.complex64
    edunn.set_default_dtype(edunn.float64)
    try:
        assert edunn.tensor([1 + 2j]).dtype is edunn.complex128
        assert edunn.result_type(edunn.tensor([1, 2]), 1j) is edunn.complex128
    finally:
        edunn.set_default_dtype(edunn.float32)
    with pytest.raises(TypeError, match="floating-point"):
        edunn.set_default_dtype(edunn.complex64)


# ---------------------------------------------------------------------------------- promotion
@needs_torch
@pytest.mark.parametrize("a", ALL)
def test_promote_types_with_complex_matches_torch(a):
    for b in ALL:
        if a not in COMPLEX and b not in COMPLEX:
            continue  # the real table is tests/test_backend.py's
        got = edunn.promote_types(getattr(edunn, a), getattr(edunn, b))
        want = torch.promote_types(getattr(torch, a), getattr(torch, b))
        assert _name(got) == str(want).split(".")[-1], (a, b)


STORABLE = REAL + ["complex64", "complex128"]


@needs_torch
@pytest.mark.parametrize("a", STORABLE)
def test_result_type_with_zero_dim_tensors_matches_torch(a):
    for b in STORABLE:
        if a not in COMPLEX and b not in COMPLEX:
            continue
        for da, db in ((1, 1), (1, 0), (0, 1), (0, 0)):
            shape_a, shape_b = (2,) * da, (2,) * db
            e = edunn.result_type(edunn.ones(shape_a, dtype=getattr(edunn, a)),
                                  edunn.ones(shape_b, dtype=getattr(edunn, b)))
            t = torch.result_type(torch.ones(shape_a, dtype=getattr(torch, a)),
                                  torch.ones(shape_b, dtype=getattr(torch, b)))
            assert _name(e) == str(t).split(".")[-1], (a, b, da, db)


@needs_torch
@pytest.mark.parametrize("a", STORABLE)
@pytest.mark.parametrize("scalar", [True, 2, 2.5, 1j, 2 + 0j])
def test_result_type_with_python_scalars_matches_torch(a, scalar):
    t = torch.result_type(torch.ones(2, dtype=getattr(torch, a)), scalar)
    e = edunn.result_type(edunn.ones(2, dtype=getattr(edunn, a)), scalar)
    assert _name(e) == str(t).split(".")[-1]


@needs_torch
def test_result_type_of_two_scalars():
    for a, b in ((2, 1j), (1j, 2.5), (True, 1j), (1j, 1j)):
        assert _name(edunn.result_type(a, b)) == str(torch.result_type(a, b)).split(".")[-1]


@needs_torch
def test_can_cast_with_complex_matches_torch():
    for a in STORABLE:
        for b in STORABLE:
            if a in COMPLEX or b in COMPLEX:
                assert edunn.can_cast(getattr(edunn, a), getattr(edunn, b)) == \
                    torch.can_cast(getattr(torch, a), getattr(torch, b)), (a, b)


# ---------------------------------------------------------------------------------- creation
@needs_torch
@pytest.mark.parametrize("data", [[1 + 2j, 3j], 1j, [[1, 2j], [3.5, 4]], [True, 1j], [np.complex128(1j), 2]])
def test_tensor_from_python_complex_matches_torch(data):
    e, t = edunn.tensor(data), torch.tensor(data)
    assert _name(e.dtype) == str(t.dtype).split(".")[-1]
    np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert e.tolist() == t.tolist()


def test_tensor_from_numpy_complex_arrays():
    a = np.array([1 + 2j, 3 - 1j], dtype=np.complex64)
    e = edunn.from_numpy(a)
    assert e.dtype is edunn.complex64
    a[0] = 5j
    assert e.tolist()[0] == 5j  # shared memory
    assert edunn.tensor(np.array([1j])).dtype is edunn.complex128
    assert edunn.as_tensor(np.array([1j], dtype=np.complex64)).dtype is edunn.complex64
    assert edunn.tensor(np.array([1j], dtype=np.clongdouble)).dtype is edunn.complex128


@needs_torch
@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_filled_creation_matches_torch(dtype):
    e_d, t_d = getattr(edunn, dtype), getattr(torch, dtype)
    pairs = [(edunn.zeros(2, 3, dtype=e_d), torch.zeros(2, 3, dtype=t_d)),
             (edunn.ones(2, dtype=e_d), torch.ones(2, dtype=t_d)),
             (edunn.full((2, 2), 1 - 2j, dtype=e_d), torch.full((2, 2), 1 - 2j, dtype=t_d)),
             (edunn.eye(3, 2, dtype=e_d), torch.eye(3, 2, dtype=t_d)),
             (edunn.zeros_like(edunn.ones(2), dtype=e_d), torch.zeros_like(torch.ones(2), dtype=t_d)),
             (edunn.ones_like(edunn.ones(2, dtype=e_d)), torch.ones_like(torch.ones(2, dtype=t_d)))]
    for e, t in pairs:
        assert e.dtype is e_d and e.shape == tuple(t.shape)
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    assert edunn.empty(4, dtype=e_d).dtype is e_d
    # full infers complex from the fill value, as torch does
    assert _name(edunn.full((2,), 1j).dtype) == str(torch.full((2,), 1j).dtype).split(".")[-1]


@needs_torch
def test_linspace_complex_and_arange_refusal_match_torch():
    for args, kw in (((0, 1 + 1j, 3), {}), ((0, 2, 3), {"dtype": "cfloat"}), ((1j, 2, 5), {"dtype": "complex128"}),
                     ((-1 - 1j, 1 + 2j, 1), {})):
        e = edunn.linspace(*args, **{k: getattr(edunn, v) for k, v in kw.items()})
        t = torch.linspace(*args, **{k: getattr(torch, v) for k, v in kw.items()})
        assert _name(e.dtype) == str(t.dtype).split(".")[-1]
        np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)
    with pytest.raises(NotImplementedError, match="arange_cpu.*ComplexFloat"):
        edunn.arange(3, dtype=edunn.cfloat)


@pytest.mark.parametrize("dtype", ["complex64", "complex128"])
def test_random_complex_tensors(dtype, device):
    d = getattr(edunn, dtype)
    edunn.manual_seed(0)
    z = edunn.randn(20000, dtype=d, device=device)
    assert z.dtype is d and z.shape == (20000,)
    parts = np.stack([z.real.numpy(force=True), z.imag.numpy(force=True)]) if hasattr(z, "real") \
        else np.stack([z.numpy(force=True).real, z.numpy(force=True).imag])
    # torch: real and imaginary parts each N(0, 1/2), so that E|z|^2 = 1
    np.testing.assert_allclose(parts.std(axis=1), [0.5 ** 0.5] * 2, rtol=0.03)
    np.testing.assert_allclose(parts.mean(axis=1), [0, 0], atol=0.02)
    u = edunn.rand(20000, dtype=d, device=device).numpy(force=True)
    for part in (u.real, u.imag):
        assert part.min() >= 0 and part.max() < 1 and abs(part.mean() - 0.5) < 0.02
    assert edunn.randn_like(z).dtype is d and edunn.rand_like(z).dtype is d
    with pytest.raises(TypeError, match="floating point or complex"):
        edunn.randn(2, dtype=edunn.int64)


def test_requires_grad_on_complex_leaves():
    z = edunn.tensor([1 + 1j], requires_grad=True)
    assert z.requires_grad and z.is_leaf
    assert edunn.zeros(2, dtype=edunn.cfloat, requires_grad=True).requires_grad
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype"):
        edunn.tensor([1, 2]).requires_grad_()


# ---------------------------------------------------------------------------------- conversions
@needs_torch
def test_casts_to_and_from_complex_match_torch():
    x_e, x_t = edunn.tensor([1.5, -2.0]), torch.tensor([1.5, -2.0])
    for e, t in ((x_e.to(edunn.complex64), x_t.to(torch.complex64)),
                 (x_e.to(dtype=edunn.cdouble), x_t.to(dtype=torch.cdouble)),
                 (x_e.cfloat(), x_t.cfloat()), (x_e.cdouble(), x_t.cdouble()),
                 (x_e.type(edunn.complex128), x_t.type(torch.complex128)),
                 (edunn.tensor([1, 2]).to(edunn.cfloat), torch.tensor([1, 2]).to(torch.cfloat))):
        assert _name(e.dtype) == str(t.dtype).split(".")[-1]
        np.testing.assert_array_equal(e.numpy(), t.numpy())
    z_e = edunn.tensor([1 + 2j, -3 - 4j])
    assert z_e.type() == "edunn.ComplexFloatTensor"
    assert z_e.type("torch.ComplexDoubleTensor").dtype is edunn.complex128
    assert z_e.is_complex() and not z_e.is_floating_point()
    assert not x_e.is_complex()


def test_casting_complex_to_real_warns_and_keeps_the_real_part():
    z = edunn.tensor([1 + 2j, -3 - 4j])
    for cast in (lambda: z.to(edunn.float32), lambda: z.float(), lambda: z.double(),
                 lambda: z.to(edunn.int64), lambda: z.to("cpu", edunn.float64)):
        with pytest.warns(UserWarning, match="Casting complex values to real discards the imaginary part"):
            r = cast()
        assert r.tolist() == [1, -3]
    out = edunn.zeros(2)
    with pytest.warns(UserWarning, match="discards the imaginary part"):
        out.copy_(z)
    assert out.tolist() == [1.0, -3.0]
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        z.to(edunn.complex128)  # complex to complex: no warning
        edunn.tensor([1.0]).to(edunn.complex64)


def test_item_tolist_numpy():
    z = edunn.tensor([[1 + 2j, 3j]], dtype=edunn.complex128)
    assert z[0, 0].item() == 1 + 2j and isinstance(z[0, 1].item(), complex)
    assert z.tolist() == [[1 + 2j, 3j]]
    assert z.numpy().dtype == np.complex128
    assert complex(edunn.tensor(2 - 1j)) == 2 - 1j


def test_cast_gradient_real_to_complex_and_back():
    # y = real(complex(x)) = x, so dy/dx = 1; the complex gradient flowing back into the real x
    # keeps its real part (PyTorch's rule for real inputs of complex computations)
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        y = x.to(edunn.complex64).to(edunn.float32)
    y.sum().backward()
    assert x.grad.tolist() == [1.0, 1.0] and x.grad.dtype is edunn.float32


# ---------------------------------------------------------------------------------- the guard
@pytest.mark.parametrize("op", [
    lambda z: edunn.relu(z), lambda z: edunn.maximum(z, z), lambda z: edunn.sort(z),
    lambda z: edunn.topk(z, 1), lambda z: edunn.argsort(z),
    lambda z: edunn.clamp(z, 0, 1), lambda z: edunn.max(z), lambda z: edunn.floor(z),
    lambda z: edunn.nn.functional.softmax(z, 0)])
def test_ops_not_written_for_complex_refuse_it(op):
    z = edunn.tensor([1 + 2j, 3 - 1j])
    with pytest.raises(RuntimeError, match="(support|supported|implemented).*(complex|Complex)"):
        op(z)


@needs_torch
def test_guard_names_the_op():
    z = edunn.tensor([1 + 2j])
    with pytest.raises(NotImplementedError, match="^relu does not support complex tensors in edunn$"):
        edunn.relu(z)
    with pytest.raises(NotImplementedError):  # the class PyTorch raises for relu on complex
        torch.relu(torch.tensor([1 + 2j]))


def test_guard_looks_inside_lists_and_at_python_complex_scalars():
    from edunn.autograd.function import Function

    class Plain(Function):  # a built-in-like op: pretend it lives in edunn
        @staticmethod
        def forward(ctx, x, c=0):
            return x._data

    Plain.__module__ = "edunn.ops.pretend"
    Plain.supports_complex = False
    z = edunn.tensor([1j])
    with pytest.raises(RuntimeError, match="plain does not support complex"):
        Plain.apply([edunn.ones(1), z])
    with pytest.raises(RuntimeError, match="plain does not support complex"):
        Plain.apply(edunn.ones(1), 2j)
    with pytest.raises(RuntimeError, match="plain does not support complex"):
        Plain.apply(edunn.ones(1), c=z)
    assert Plain.apply(edunn.ones(1)).tolist() == [1.0]


def test_user_functions_may_take_complex():
    class Twice(edunn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return edunn.tensor(x.detach().numpy() * 2)

        @staticmethod
        def backward(ctx, g):
            return g * 2

    assert Twice.supports_complex is True
    z = edunn.tensor([1 + 1j], requires_grad=True)
    y = Twice.apply(z)
    assert y.requires_grad and y.dtype is edunn.complex64  # complex outputs carry gradients
    assert y.tolist() == [2 + 2j]


def test_builtin_marks_are_not_inherited():
    from edunn.autograd.function import Function
    from edunn.ops.conversion import Cast
    assert Cast.supports_complex is True
    assert Function.supports_complex is False
    sub = type("Sub", (Cast,), {"__module__": "edunn.ops.pretend"})
    assert sub.supports_complex is False  # an edunn op declares it itself
    user = type("UserSub", (Cast,), {"__module__": "my_project"})
    assert user.supports_complex is True


def test_the_guard_costs_nothing_until_complex_appears():
    # the flag that switches the guard on is set by meeting a complex dtype, array or number:
    # a fresh process that never does keeps it off
    import subprocess
    import sys
    code = ("import edunn; from edunn import backend; x = edunn.tensor([1.0, 2.0], requires_grad=True); "
            "y = (x * 2).exp().sum(); y.backward(); repr(y); x.to(edunn.float64); edunn.randn(3); "
            "assert not backend.complex_seen")
    subprocess.run([sys.executable, "-c", code], check=True)


@pytest.mark.parametrize("first_complex", [
    lambda x: edunn.tensor([1j]), lambda x: x * 1j, lambda x: x.to(edunn.cfloat),
    lambda x: edunn.zeros(1, dtype=edunn.cdouble), lambda x: edunn.float32.to_complex(),
    lambda x: edunn.from_numpy(np.ones(1, complex)), lambda x: edunn.complex(x, x)])
def test_every_way_to_meet_complex_switches_the_guard_on(first_complex, monkeypatch):
    # pretend this process has not met a complex number yet (monkeypatch restores both)
    monkeypatch.setattr(backend, "complex_seen", False)
    monkeypatch.setattr(backend, "_BY_NP", {k: v for k, v in backend._BY_NP.items() if k.kind != "c"})
    x = edunn.ones(2)
    first_complex(x)
    assert backend.complex_seen


# ---------------------------------------------------------------------------------- comparisons
@needs_torch
@pytest.mark.parametrize("name", ["eq", "ne", "isclose", "isnan", "isinf", "isfinite", "isreal",
                                  "logical_and", "logical_not", "equal", "allclose"])
def test_comparisons_on_complex_match_torch(name):
    nan, inf = float("nan"), float("inf")
    a = [1 + 2j, complex(nan, 1), complex(inf, 0), 3, 1j, 0j]
    b = [1 + 2.0000001j, complex(1, nan), complex(inf, 0), 3, 2j, 0j]
    binary = name in ("eq", "ne", "isclose", "logical_and", "equal", "allclose")
    results = []
    for fw in (edunn, torch):
        args = (fw.tensor(a), fw.tensor(b)) if binary else (fw.tensor(a),)
        r = getattr(fw, name)(*args)
        results.append(r.tolist() if hasattr(r, "tolist") else r)
    assert results[0] == results[1]
    for equal_nan in (True, False):
        e = edunn.isclose(edunn.tensor(a), edunn.tensor(b), equal_nan=equal_nan)
        t = torch.isclose(torch.tensor(a), torch.tensor(b), equal_nan=equal_nan)
        assert e.tolist() == t.tolist()


@needs_torch
@pytest.mark.parametrize("name", ["isposinf", "isneginf", "lt", "ge"])
def test_comparisons_torch_refuses_on_complex_raise(name):
    args = (edunn.tensor([1j]),) if name.startswith("is") else (edunn.tensor([1j]), edunn.tensor([2j]))
    with pytest.raises(RuntimeError, match=f"{name} does not support complex"):
        getattr(edunn, name)(*args)


@needs_torch
def test_assert_close_on_complex_matches_torch():
    from edunn.testing import assert_close
    a = [1 + 2j, 3j]
    assert_close(edunn.tensor(a), edunn.tensor(a))
    assert_close(edunn.tensor([complex(float("nan"), 1)]), edunn.tensor([complex(1, float("nan"))]), equal_nan=True)
    for actual, expected in (([1 + 2j, 3j], [1 + 2.1j, 3j]), (1 + 2j, 1 + 2.1j)):
        ea, ee = (edunn.tensor(x) if isinstance(x, list) else x for x in (actual, expected))
        ta, te = (torch.tensor(x) if isinstance(x, list) else x for x in (actual, expected))
        with pytest.raises(AssertionError) as ours:
            assert_close(ea, ee)
        with pytest.raises(AssertionError) as theirs:
            torch.testing.assert_close(ta, te)
        assert str(ours.value) == str(theirs.value)
    # complex64 has float32's tolerances
    assert_close(edunn.tensor([1 + 1j]), edunn.tensor([1 + 1.000001j]))


def test_make_tensor_complex():
    from edunn.testing import make_tensor
    t = make_tensor((2000,), dtype=edunn.complex128, device="cpu", low=-2, high=3, requires_grad=True)
    assert t.dtype is edunn.complex128 and t.requires_grad
    parts = t.detach().numpy()
    for p in (parts.real, parts.imag):
        assert p.min() >= -2 and p.max() < 3 and p.std() > 1
    assert make_tensor((3, 2), dtype=edunn.cfloat, device="cpu", noncontiguous=True).stride() == (4, 2)
    with pytest.raises(TypeError, match="complex32"):
        make_tensor((2,), dtype=edunn.complex32, device="cpu")


# ---------------------------------------------------------------------------------- save / load
def test_save_load_complex_round_trip(tmp_path):
    z64 = edunn.tensor([1 + 2j, 3 - 1j])
    z128 = edunn.tensor(np.array([[1 + 2j, -3j], [0.5, 1e300j]]), requires_grad=True)
    path = str(tmp_path / "c.pt")
    edunn.save({"a": z64, "b": z128, "dt": edunn.complex128, "same": [z64]}, path)
    back = edunn.load(path)
    assert back["a"].dtype is edunn.complex64 and back["a"].tolist() == z64.tolist()
    assert back["b"].dtype is edunn.complex128 and back["b"].tolist() == z128.tolist()
    assert back["b"].requires_grad and back["dt"] is edunn.complex128 and back["same"][0] is back["a"]
    loaded = edunn.load(path, mmap=True)
    assert loaded["b"].tolist() == z128.tolist()


@needs_torch
def test_complex_files_and_safetensors():
    pytest.importorskip("safetensors")
    import os
    import tempfile
    from safetensors.torch import load_file, save_file
    with tempfile.TemporaryDirectory() as d:
        ours = os.path.join(d, "ours.safetensors")
        edunn.save({"a": edunn.tensor([1 + 2j]), "b": edunn.tensor([1j], dtype=edunn.complex128)}, ours)
        theirs = load_file(ours)  # complex64 natively (C64), complex128 as float64 pairs
        assert theirs["a"].dtype == torch.complex64 and theirs["a"].tolist() == [1 + 2j]
        assert torch.view_as_complex(theirs["b"]).tolist() == [1j]
        path = os.path.join(d, "torch.safetensors")
        save_file({"w": torch.tensor([1 + 1j, 2j])}, path)
        w = edunn.load(path)["w"]
        assert w.dtype is edunn.complex64 and w.tolist() == [1 + 1j, 2j]
