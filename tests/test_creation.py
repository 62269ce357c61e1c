"""Creation functions against PyTorch: dtype inference, filled tensors, ranges, random (lesson 01)."""
import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01


def _dt(d) -> str:
    return repr(d).split(".")[-1]


def assert_like_torch(e, t, exact=True, rtol=1e-15):
    assert _dt(e.dtype) == str(t.dtype).split(".")[-1]
    assert tuple(e.shape) == tuple(t.shape)
    a, b = e.detach().numpy().astype(np.float64), t.detach().to(torch.float64).numpy()
    if exact:
        np.testing.assert_array_equal(a, b)
    else:
        np.testing.assert_allclose(a, b, rtol=rtol, atol=1e-15)


# --------------------------------------------------------------------------- tensor(data)
DATA = [
    1, 2.5, True, [1, 2, 3], [1.0, 2], [True, False], [True, 2], [True, 2.5], [[1, 2], [3, 4]],
    [[1, 2], [3, 4.5]], [], [[]], [[], []], (1, 2), [(1, 2), (3, 4)], -7, [[[1]]],
]


@needs_torch
@pytest.mark.parametrize("data", DATA, ids=[repr(d) for d in DATA])
def test_tensor_dtype_inference(data):
    assert_like_torch(edunn.tensor(data), torch.tensor(data))


@needs_torch
@pytest.mark.parametrize("np_dtype", [np.float64, np.float32, np.float16, np.int64, np.int32,
                                      np.int16, np.int8, np.uint8, np.bool_])
def test_tensor_from_numpy_keeps_dtype(np_dtype):
    a = np.arange(6).reshape(2, 3).astype(np_dtype)
    assert_like_torch(edunn.tensor(a), torch.tensor(a))
    assert_like_torch(edunn.tensor(a[0, 1]), torch.tensor(a[0, 1]))  # a NumPy scalar


@needs_torch
@pytest.mark.parametrize("name", ["float64", "int32", "bool", "float16", "bfloat16", "uint8"])
def test_tensor_explicit_dtype(name):
    data = [[0, 1.7], [-2.2, 3]]
    if name == "uint8":
        data = [[0, 1.7], [2.2, 3]]
    assert_like_torch(edunn.tensor(data, dtype=getattr(edunn, name)),
                      torch.tensor(data, dtype=getattr(torch, name)))


def test_tensor_copies_and_errors():
    a = np.array([1.0, 2.0])
    t = edunn.tensor(a)
    a[0] = 5
    assert t.tolist() == [1.0, 2.0]
    src = edunn.tensor([1.0, 2.0])
    c = edunn.tensor(src)
    c.add_(1)
    assert src.tolist() == [1.0, 2.0]
    with pytest.raises(ValueError):
        edunn.tensor([[1, 2], [3]])
    with pytest.raises(TypeError):
        edunn.tensor(["a"])
    with pytest.raises(TypeError):
        edunn.tensor([object()])


def test_tensor_of_tensors():
    a = edunn.tensor([edunn.tensor(1.0), edunn.tensor(2.0)])
    assert a.tolist() == [1.0, 2.0] and a.dtype is edunn.float32
    rows = edunn.tensor([edunn.tensor([1, 2]), edunn.tensor([3, 4])])
    assert rows.tolist() == [[1, 2], [3, 4]] and rows.dtype is edunn.int64


# --------------------------------------------------------------------------- filled
@needs_torch
@pytest.mark.parametrize("make", [
    lambda m: m.zeros(2, 3), lambda m: m.zeros((2, 3)), lambda m: m.zeros([2, 3], dtype=m.int32),
    lambda m: m.zeros(()), lambda m: m.zeros(0, 4), lambda m: m.ones(4), lambda m: m.ones(2, 2, dtype=m.bool),
    lambda m: m.full((2, 2), 3), lambda m: m.full((2,), 3.5), lambda m: m.full((2,), True),
    lambda m: m.full((3,), 2, dtype=m.float64), lambda m: m.full([], 7.0),
    lambda m: m.eye(3), lambda m: m.eye(2, 4), lambda m: m.eye(3, dtype=m.int64),
    lambda m: m.zeros_like(m.ones(2, 3, dtype=m.int16)), lambda m: m.ones_like(m.zeros(3)),
    lambda m: m.full_like(m.zeros(2), 4), lambda m: m.full_like(m.zeros(2, dtype=m.int64), 4.7),
    lambda m: m.ones_like(m.zeros(3), dtype=m.float64), lambda m: m.zeros_like(m.ones(2), dtype=m.bool),
])
def test_filled_like_torch(make):
    assert_like_torch(make(edunn), make(torch))


def test_empty_shapes_and_requires_grad():
    e = edunn.empty(2, 3)
    assert e.shape == (2, 3) and e.dtype is edunn.float32
    assert edunn.empty_like(edunn.zeros(4, dtype=edunn.int8)).dtype is edunn.int8
    z = edunn.zeros(3, requires_grad=True)
    assert z.requires_grad and z.is_leaf
    with pytest.raises(RuntimeError, match="floating point"):
        edunn.zeros(3, dtype=edunn.int64, requires_grad=True)
    with pytest.raises(RuntimeError, match="negative dimension"):
        edunn.empty(2, -1)
    with pytest.raises(TypeError, match="size"):
        edunn.zeros(2.5)


# --------------------------------------------------------------------------- ranges
RANGES = [
    (5,), (2, 7), (0, 1, 0.1), (1, 2.5, 0.3), (5, 0, -1.5), (10, -3, -3), (0,), (1.0, 4),
    (-1, 1, 0.25), (0, 10, 3), (0.5, 3), (-5, 5, 0.7), (1, 1e3, 1.1),
]


@needs_torch
@pytest.mark.parametrize("args", RANGES, ids=[repr(r) for r in RANGES])
def test_arange_like_torch(args):
    # Same length and dtype; float32 values within one ulp: PyTorch's SIMD kernel rounds the start
    # of each 8-lane block to float32 first, which depends on the CPU's vector width.
    assert_like_torch(edunn.arange(*args), torch.arange(*args), exact=False, rtol=1.2e-7)
    assert_like_torch(edunn.arange(*args, dtype=edunn.float64), torch.arange(*args, dtype=torch.float64),
                      exact=False, rtol=1e-14)
    if all(isinstance(a, int) for a in args):
        assert_like_torch(edunn.arange(*args), torch.arange(*args))  # integers: exact


def test_arange_errors():
    with pytest.raises(RuntimeError, match="step must be nonzero"):
        edunn.arange(0, 1, 0)
    with pytest.raises(RuntimeError, match="inconsistent with step sign"):
        edunn.arange(0, 5, -1)


LINSPACES = [(0, 1, 7), (-3.3, 10.1, 100), (0, 1, 1000), (0.1, 0.7, 50), (2, -5, 77), (3, 3, 5),
             (2, 5, 1), (2, 5, 0), (-1e3, 1e-3, 1001), (0, 10, 4)]


@needs_torch
@pytest.mark.parametrize("args", LINSPACES, ids=[repr(r) for r in LINSPACES])
def test_linspace_equals_torch(args):
    assert_like_torch(edunn.linspace(*args), torch.linspace(*args))  # bit-exact in float32
    assert_like_torch(edunn.linspace(*args, dtype=edunn.int64), torch.linspace(*args, dtype=torch.int64))
    # float64: PyTorch uses a fused multiply-add NumPy cannot express; equal to the last ulp or so
    assert_like_torch(edunn.linspace(*args, dtype=edunn.float64),
                      torch.linspace(*args, dtype=torch.float64), exact=False)


@needs_torch
@pytest.mark.parametrize("args, kw", [((0, 2, 5), {}), ((0, 3, 4), {"base": 2}), ((-2, 2, 9), {}),
                                      ((1, 1, 1), {})])
def test_logspace_like_torch(args, kw):
    e, t = edunn.logspace(*args, **kw), torch.logspace(*args, **kw)
    assert _dt(e.dtype) == "float32" and tuple(e.shape) == tuple(t.shape)
    np.testing.assert_allclose(e.numpy(), t.numpy(), rtol=1e-6)


def test_linspace_negative_steps():
    with pytest.raises(RuntimeError, match="non-negative"):
        edunn.linspace(0, 1, -1)


# --------------------------------------------------------------------------- random
@pytest.mark.parametrize("make, dtype", [
    (lambda g: edunn.rand(3, 4, generator=g), edunn.float32),
    (lambda g: edunn.rand((2, 2), dtype=edunn.float64, generator=g), edunn.float64),
    (lambda g: edunn.randn(5, generator=g), edunn.float32),
    (lambda g: edunn.randn(2, 3, dtype=edunn.float16, generator=g), edunn.float16),
    (lambda g: edunn.randn(2, dtype=edunn.bfloat16, generator=g), edunn.bfloat16),
    (lambda g: edunn.randint(3, 10, (4, 5), generator=g), edunn.int64),
    (lambda g: edunn.randint(10, (6,), generator=g), edunn.int64),
    (lambda g: edunn.randint(0, 3, (6,), dtype=edunn.int32, generator=g), edunn.int32),
    (lambda g: edunn.randperm(8, generator=g), edunn.int64),
    (lambda g: edunn.normal(2.0, 3.0, size=(4,), generator=g), edunn.float32),
    (lambda g: edunn.normal(edunn.zeros(3, 2), edunn.ones(3, 2), generator=g), edunn.float32),
    (lambda g: edunn.rand_like(edunn.zeros(2, 2, dtype=edunn.float64), generator=g), edunn.float64),
    (lambda g: edunn.randn_like(edunn.zeros(3), generator=g), edunn.float32),
    (lambda g: edunn.randint_like(edunn.zeros(3), 5, generator=g), edunn.float32),
])
def test_random_dtypes_and_reproducibility(make, dtype):
    a = make(edunn.Generator().manual_seed(11))
    b = make(edunn.Generator().manual_seed(11))
    c = make(edunn.Generator().manual_seed(12))
    assert a.dtype is dtype and a.is_leaf and not a.requires_grad
    assert a.tolist() == b.tolist()
    if a.numel() > 3:
        assert a.tolist() != c.tolist()


@needs_torch
def test_random_shapes_like_torch():
    for make in (lambda m: m.rand(2, 3), lambda m: m.randn((4,)), lambda m: m.randint(0, 5, (2, 3)),
                 lambda m: m.randperm(6), lambda m: m.normal(0.0, 1.0, size=(3, 1)), lambda m: m.rand(()),
                 lambda m: m.normal(m.zeros(2, 1), m.ones(1, 3))):
        e, t = make(edunn), make(torch)
        assert tuple(e.shape) == tuple(t.shape) and _dt(e.dtype) == str(t.dtype).split(".")[-1]


def test_manual_seed_reproduces_default_generator():
    edunn.manual_seed(2024)
    a = (edunn.rand(4), edunn.randn(4), edunn.randint(0, 100, (4,)), edunn.randperm(5))
    edunn.manual_seed(2024)
    b = (edunn.rand(4), edunn.randn(4), edunn.randint(0, 100, (4,)), edunn.randperm(5))
    for x, y in zip(a, b):
        assert x.tolist() == y.tolist()


def test_random_ranges_and_moments():
    g = edunn.Generator().manual_seed(0)
    u = edunn.rand(20000, generator=g).numpy()
    assert u.min() >= 0 and u.max() < 1 and abs(u.mean() - 0.5) < 0.01
    z = edunn.randn(20000, generator=g).numpy()
    assert abs(z.mean()) < 0.03 and abs(z.std() - 1) < 0.03
    n = edunn.normal(5.0, 2.0, size=(20000,), generator=g).numpy()
    assert abs(n.mean() - 5) < 0.06 and abs(n.std() - 2) < 0.06
    r = edunn.randint(-3, 4, (5000,), generator=g).numpy()
    assert r.min() == -3 and r.max() == 3
    p = edunn.randperm(50, generator=g).numpy()
    assert sorted(p.tolist()) == list(range(50))


def test_random_errors():
    with pytest.raises(TypeError, match="floating point"):
        edunn.rand(2, dtype=edunn.int64)
    with pytest.raises(RuntimeError, match="from=5 >= to=5"):
        edunn.randint(5, 5, (2,))
    with pytest.raises(RuntimeError, match="std >= 0.0"):
        edunn.normal(0.0, -1.0, size=(2,))


@pytest.mark.skipif(torch is None, reason="needs torch")
@pytest.mark.parametrize("data", [
    [np.int32(1), np.int32(2)], [np.int16(1), 2], [np.float64(1.0), np.float32(2.0)], [[np.uint8(1)]],
    [np.float32(1.5), 2.5], [np.float16(1), 2], [np.int8(1), True], [np.uint8(1), np.int8(2)],
    [np.float16(1), np.int64(3)], [2.5, np.float64(1)], [1.5, np.float16(2)], [np.bool_(True)],
    np.float64(2.0), [np.float64(2)]], ids=repr)
def test_numpy_scalars_in_data_keep_their_dtype_like_pytorch(data):
    assert edunn.tensor(data).dtype.name == str(torch.tensor(data).dtype).split(".")[1]


CONSTRUCTIONS = [
    lambda m: m.tensor([1, 2.5]), lambda m: m.tensor([True, 2]), lambda m: m.tensor([1, 2j]), lambda m: m.tensor(3),
    lambda m: m.tensor(3.0), lambda m: m.tensor(np.float64(2.5)), lambda m: m.tensor(np.int32(2)),
    lambda m: m.tensor(np.array([1, 2], dtype=np.int16)), lambda m: m.tensor([np.float32(1.5), 2]),
    lambda m: m.tensor([]), lambda m: m.tensor([[]]), lambda m: m.tensor([[1, 2], [3]]),
    lambda m: m.tensor([m.tensor(1.5), m.tensor(2.0)]), lambda m: m.tensor([m.tensor([1, 2]), m.tensor([3, 4])]),
    lambda m: m.tensor(2**63), lambda m: m.tensor(-2**63), lambda m: m.tensor([2**64]),
    lambda m: m.tensor([1.5], dtype=m.int64), lambda m: m.tensor(float("nan"), dtype=m.int32),
    lambda m: m.tensor([300], dtype=m.uint8), lambda m: m.tensor([-1], dtype=m.uint8), lambda m: m.arange(5),
    lambda m: m.arange(0, 1, 0.1), lambda m: m.arange(1, 2.5, 0.5), lambda m: m.arange(10, 0, -3),
    lambda m: m.arange(0.0, 1.0, 0.3, dtype=m.float64), lambda m: m.arange(5, dtype=m.float32),
    lambda m: m.arange(m.tensor(3)), lambda m: m.arange(1e20, 1e20 + 3), lambda m: m.arange(0, 5, 0),
    lambda m: m.linspace(0, 1, 5), lambda m: m.linspace(0, 10, 5, dtype=m.int64), lambda m: m.linspace(-1, 1, 1),
    lambda m: m.linspace(0, 1, 0), lambda m: m.linspace(0, 1j, 3), lambda m: m.logspace(0, 2, 3),
    lambda m: m.logspace(0, 2, 3, base=2), lambda m: m.logspace(0, 3, 4, dtype=m.int64), lambda m: m.full((2,), True),
    lambda m: m.full((2,), 3), lambda m: m.full((2,), 3.5), lambda m: m.full((2,), 1j), lambda m: m.full((), 2),
    lambda m: m.zeros(2, 3, dtype=m.bool), lambda m: m.ones((2,), dtype=m.complex64), lambda m: m.eye(3, 2),
    lambda m: m.eye(0), lambda m: m.empty(0).shape, lambda m: m.zeros([]), lambda m: m.zeros(()),
    lambda m: m.ones(m.Size([2, 1])), lambda m: m.full([2], m.tensor(5)), lambda m: m.tril_indices(3, 3),
    lambda m: m.triu_indices(3, 4, 1), lambda m: m.tril_indices(4, 3, -1),
    lambda m: m.complex(m.tensor([1.]), m.tensor([2.])), lambda m: m.polar(m.tensor([2.]), m.tensor([0.5])),
    lambda m: m.as_tensor([1, 2], dtype=m.float16), lambda m: m.asarray([[1, 2]], dtype=m.float64),
    lambda m: m.asarray(3.5), lambda m: m.heaviside(m.tensor([-1., 0., 2.]), m.tensor([0.5])),
    lambda m: m.scalar_tensor(3), lambda m: m.zeros_like(m.tensor([1, 2]), dtype=m.float64),
    lambda m: m.full_like(m.tensor([1, 2]), 2.7), lambda m: m.full_like(m.tensor([1., 2.]), 2),
    lambda m: m.ones_like(m.tensor(3)), lambda m: m.tensor([[1., 2.], [3., 4.]]).new_tensor([1, 2]),
    lambda m: m.tensor([1, 2]).new_full((2,), 2.5), lambda m: m.tensor([1., 2.]).new_zeros(2, 2).dtype,
    lambda m: m.tensor([1., 2.]).new_ones((3,)), lambda m: m.randperm(0),
    lambda m: m.empty_like(m.tensor([1, 2])).dtype, lambda m: m.tensor(np.array(1.5, dtype=np.float16)),
    lambda m: m.tensor([np.nan, np.inf]), lambda m: m.tensor([[1, 2]]).T, lambda m: m.from_numpy(np.zeros((2, 0))),
    lambda m: m.tensor(range(4)), lambda m: m.tensor((1, 2.0)), lambda m: m.tensor([[True], [False]]),
    lambda m: m.tensor([1, None]), lambda m: m.tensor("a"), lambda m: m.tensor([1.5], dtype=m.bool),
    lambda m: m.tensor([0.5, 0.0], dtype=m.bool), lambda m: m.tensor([2 + 0j], dtype=m.float32),
    lambda m: m.tensor(np.array([1 + 1j]), dtype=m.float32),
]


def _made(m, make):
    try:
        r = make(m)
    except Exception as error:   # noqa: BLE001  (any refusal counts as one)
        return "error", type(error).__name__
    if not isinstance(r, m.Tensor):
        return "value", str(r).replace("torch", "lib").replace("edunn", "lib")
    wide = r.to(m.complex128) if r.is_complex() else r.float() if r.dtype in (m.float16, m.bfloat16) else r
    return "tensor", str(r.dtype).split(".")[-1], tuple(r.shape), np.asarray(wide.tolist(), dtype=complex)


@needs_torch
@pytest.mark.parametrize("index", range(len(CONSTRUCTIONS)))
def test_construction_matches_pytorch(index):
    """``tensor`` (dtype inference from Python and NumPy numbers, nested tensors, ranges, casts
    that wrap: -1 as uint8 is 255, 300 is refused), ``arange``/``linspace``/``logspace`` lengths
    and dtypes, ``full`` inferring from its value, ``*_like`` and ``new_*``."""
    ours, theirs = _made(edunn, CONSTRUCTIONS[index]), _made(torch, CONSTRUCTIONS[index])
    if theirs[0] == "error":
        return   # edunn may refuse too, or be more lenient
    assert ours[:-1] == theirs[:-1] if ours[0] == "tensor" else ours == theirs, (ours, theirs)
    if ours[0] == "tensor":
        np.testing.assert_allclose(ours[-1], theirs[-1], equal_nan=True)
