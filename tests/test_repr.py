"""``repr(tensor)`` is PyTorch's text, character for character (lesson 01)."""
import math

import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson01


@pytest.fixture(autouse=True)
def _restore_printoptions():
    yield
    edunn.set_printoptions(profile="default")
    torch.set_printoptions(profile="default")


def _same(e, t, grad_fn=None):
    expected = repr(t).replace("torch.", "edunn.")
    if grad_fn is not None:  # the node's name is PyTorch's (MulBackward0)
        assert f"grad_fn=<{grad_fn}>" in expected
    assert repr(e) == expected
    assert str(e) == expected


VALUES = [
    [1.0, 2.0, 3.0],
    [0.12345, 2.0],
    [1e-5, 1e5],
    [1e-5, 1.0],
    [123456789.0, 1.0],
    [1e9, 2e9],
    [-1.5, 2.25, 1000.0],
    [0.0, -0.0, 1.0],
    [float("nan"), 0.0, float("inf"), -float("inf")],
    [float("nan"), 1.5],
    [[1.5, 2.0], [3.0, 4.0]],
    [[[1.0, -2.0], [3.0, 4.5]], [[5.0, 6.0], [7.0, 8.0]]],
    [1, 2, 3],
    [-100, 5, 12345678901],
    [[1, 2], [3, 4]],
    [True, False, True],
    3.5,
    7,
    True,
    0.0,
    1e-7,
    [],
    [[]],
    [100.0, 1e-3],
    [0.5, 1234.5678],
]


@pytest.mark.parametrize("data", VALUES, ids=[str(i) for i in range(len(VALUES))])
def test_repr_matches_torch(data):
    _same(edunn.tensor(data), torch.tensor(data))


@pytest.mark.parametrize("name", ["float64", "float16", "bfloat16", "int32", "int16", "int8",
                                  "uint8", "int64", "bool", "float32"])
def test_repr_dtype_suffix(name):
    data = [[0, 1, 2], [3, 4, 5]]
    _same(edunn.tensor(data, dtype=getattr(edunn, name)), torch.tensor(data, dtype=getattr(torch, name)))
    _same(edunn.tensor([0.1, 2.5], dtype=getattr(edunn, name)), torch.tensor([0.1, 2.5], dtype=getattr(torch, name)))


@pytest.mark.parametrize("shape", [(0,), (0, 3), (2, 0, 1)])
@pytest.mark.parametrize("name", ["float32", "float64", "int64", "bool"])
def test_repr_empty(shape, name):
    _same(edunn.zeros(shape, dtype=getattr(edunn, name)), torch.zeros(shape, dtype=getattr(torch, name)))


@pytest.mark.parametrize("shape", [(1001,), (40, 40), (3, 20, 20), (2000, 2), (12, 3, 30)])
def test_repr_summarised(shape):
    a = (np.arange(math.prod(shape), dtype=np.float64).reshape(shape) * 0.37) % 11 - 5
    _same(edunn.tensor(a, dtype=edunn.float32), torch.tensor(a, dtype=torch.float32))
    ints = np.arange(math.prod(shape)).reshape(shape)
    _same(edunn.tensor(ints), torch.tensor(ints))


@pytest.mark.parametrize("shape", [(30,), (7, 13), (4, 3, 5)])
def test_repr_wraps_long_rows(shape):
    a = np.random.default_rng(0).standard_normal(shape) * 10
    _same(edunn.tensor(a), torch.tensor(a))
    _same(edunn.tensor(a, dtype=edunn.float32), torch.tensor(a, dtype=torch.float32))
    _same(edunn.tensor(a * 1e-6), torch.tensor(a * 1e-6))


def test_repr_requires_grad_and_grad_fn():
    e = edunn.tensor([1.0, 2.0], requires_grad=True)
    t = torch.tensor([1.0, 2.0], requires_grad=True)
    _same(e, t)
    _same(e * 2, t * 2, grad_fn="MulBackward0")
    _same(e.detach(), t.detach())
    e64 = edunn.tensor([1.0, 2.0], dtype=edunn.float64, requires_grad=True)
    t64 = torch.tensor([1.0, 2.0], dtype=torch.float64, requires_grad=True)
    _same(e64, t64)
    _same(e64 + 1, t64 + 1, grad_fn="AddBackward0")


def test_repr_suffix_wraps_past_linewidth():
    a = np.linspace(-3, 3, 7 * 8).reshape(7, 8) * 12.3
    e = edunn.tensor(a, dtype=edunn.float64, requires_grad=True)
    t = torch.tensor(a, dtype=torch.float64, requires_grad=True)
    _same(e, t)
    _same(edunn.tensor(a[0], dtype=edunn.float16), torch.tensor(a[0], dtype=torch.float16))


@pytest.mark.parametrize("opts", [
    dict(precision=2), dict(precision=6), dict(sci_mode=True), dict(sci_mode=False),
    dict(threshold=5), dict(threshold=5, edgeitems=1), dict(linewidth=30), dict(profile="short"),
    dict(profile="full"), dict(threshold=5, edgeitems=0),
])
def test_set_printoptions(opts):
    edunn.set_printoptions(**opts)
    torch.set_printoptions(**opts)
    for data in ([1.123456789, 22.5, 0.001], [[1e-6, 3.0], [2.0, 1e3]], list(range(12)),
                 np.arange(24.0).reshape(2, 3, 4) / 7, np.arange(2000.0) / 3):
        _same(edunn.tensor(data, dtype=edunn.float32), torch.tensor(data, dtype=torch.float32))
    assert edunn.get_printoptions() == dict(torch._tensor_str.get_printoptions())


def test_printoptions_context_manager_restores():
    before = edunn.get_printoptions()
    with edunn.printoptions(precision=1):
        assert repr(edunn.tensor([1.25])) == "tensor([1.2])"
    assert edunn.get_printoptions() == before
    with pytest.raises(ValueError, match="profile"):
        edunn.set_printoptions(profile="tiny")


def test_repr_of_views_and_noncontiguous():
    a = np.arange(12.0).reshape(3, 4)
    _same(edunn.from_numpy(a.T), torch.from_numpy(a.T))
    _same(edunn.from_numpy(a[:, 1]), torch.from_numpy(a[:, 1]))


def test_format_scalar_tensor():
    assert f"{edunn.tensor(2.5):.3f}" == f"{torch.tensor(2.5):.3f}"
