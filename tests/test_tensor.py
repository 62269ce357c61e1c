"""What a tensor is: shape, size, conversions, memory sharing with NumPy (lesson 01)."""
import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01


def test_shape_size_dim_numel():
    x = edunn.zeros(2, 3, 4)
    assert isinstance(x.shape, edunn.Size) and x.shape == (2, 3, 4)
    assert x.size() == edunn.Size([2, 3, 4]) and x.size(1) == 3 and x.size(-1) == 4
    assert x.dim() == x.ndim == x.ndimension() == 3
    assert x.numel() == x.nelement() == 24 == x.shape.numel()
    assert len(x) == 2
    assert repr(x.shape) == "edunn.Size([2, 3, 4])"
    assert isinstance(x.shape[1:], edunn.Size) and x.shape[1:] == (3, 4)
    assert x.element_size() == 4 and x.nbytes == 96
    assert x.stride() == (12, 4, 1) and x.is_contiguous()
    with pytest.raises(IndexError, match="Dimension out of range"):
        x.size(3)
    s = edunn.tensor(2.0)
    assert s.shape == () and s.dim() == 0 and s.numel() == 1
    with pytest.raises(TypeError, match="len\\(\\) of a 0-d tensor"):
        len(s)
    with pytest.raises(TypeError, match="iteration over a 0-d tensor"):
        iter(s)


@needs_torch
def test_size_like_torch():
    assert edunn.Size([2, 3]).numel() == torch.Size([2, 3]).numel()
    assert repr(edunn.Size([2, 3])).replace("edunn", "torch") == repr(torch.Size([2, 3]))
    assert edunn.Size([]).numel() == 1


def test_item_and_tolist():
    assert edunn.tensor(2.5).item() == 2.5 and isinstance(edunn.tensor(2.5).item(), float)
    assert isinstance(edunn.tensor(3).item(), int) and isinstance(edunn.tensor(True).item(), bool)
    assert edunn.tensor([[7]]).item() == 7
    with pytest.raises(RuntimeError, match="a Tensor with 2 elements cannot be converted to Scalar"):
        edunn.tensor([1, 2]).item()
    x = edunn.tensor([[1, 2], [3, 4]])
    assert x.tolist() == [[1, 2], [3, 4]] and isinstance(x.tolist()[0][0], int)
    assert edunn.tensor(1.5).tolist() == 1.5
    assert float(edunn.tensor([2.5])) == 2.5 and int(edunn.tensor(3.7)) == 3
    assert [1, 2, 3][edunn.tensor(1)] == 2  # __index__


@needs_torch
def test_conversions_like_torch():
    for data in ([[1, 2], [3, 4]], [1.5, -2.25], [True, False], 3.0):
        assert edunn.tensor(data).tolist() == torch.tensor(data).tolist()
    assert edunn.tensor([0.1]).tolist() == torch.tensor([0.1]).tolist()  # float32 rounding kept


def test_numpy_shares_memory():
    x = edunn.tensor([1.0, 2.0, 3.0])
    n = x.numpy()
    assert isinstance(n, np.ndarray) and n.dtype == np.float32
    n[0] = 10.0
    assert x.tolist() == [10.0, 2.0, 3.0]
    x.add_(1)
    assert n.tolist() == [11.0, 3.0, 4.0]
    w = edunn.ones(2, requires_grad=True)
    with pytest.raises(RuntimeError, match="detach\\(\\).numpy\\(\\)"):
        w.numpy()
    assert np.shares_memory(w.detach().numpy(), w.numpy(force=True))


def test_from_numpy_shares_memory():
    a = np.array([[1.0, 2.0], [3.0, 4.0]])
    t = edunn.from_numpy(a)
    assert t.dtype is edunn.float64
    a[0, 0] = 9.0
    assert t.tolist()[0][0] == 9.0
    t.mul_(2)
    assert a[0, 0] == 18.0
    with pytest.raises(TypeError, match="expected np.ndarray"):
        edunn.from_numpy([1, 2])
    assert edunn.from_numpy(np.arange(3, dtype=np.int32)).dtype is edunn.int32


def test_as_tensor_avoids_copies():
    a = np.arange(4.0)
    t = edunn.as_tensor(a)
    a[1] = 7
    assert t.tolist()[1] == 7.0
    x = edunn.ones(3)
    assert edunn.as_tensor(x) is x
    y = edunn.as_tensor(x, dtype=edunn.float64)
    assert y.dtype is edunn.float64 and y is not x
    c = edunn.as_tensor(a, dtype=edunn.float32)  # a different dtype must copy
    a[0] = 100
    assert c.tolist()[0] == 0.0
    assert edunn.as_tensor([1, 2]).dtype is edunn.int64
    assert edunn.asarray(x) is x  # asarray is as_tensor plus copy= and requires_grad= (test_signatures.py)


def test_iteration_and_len():
    x = edunn.tensor([[1, 2], [3, 4], [5, 6]])
    rows = list(x)
    assert len(rows) == 3 and all(isinstance(r, edunn.Tensor) for r in rows)
    assert [r.tolist() for r in rows] == [[1, 2], [3, 4], [5, 6]]
    assert [v.item() for v in edunn.tensor([7, 8])] == [7, 8]


def test_bool_of_tensor():
    assert bool(edunn.tensor([1.0])) and not bool(edunn.tensor(0))
    with pytest.raises(RuntimeError, match="Boolean value of Tensor with more than one value is ambiguous"):
        bool(edunn.tensor([1, 2]))
    with pytest.raises(RuntimeError, match="ambiguous"):
        if edunn.tensor([1.0, 2.0]) > 0:
            pass


def test_dtype_queries_and_casts():
    x = edunn.tensor([1.7, -2.2])
    assert x.is_floating_point() and not edunn.tensor([1]).is_floating_point()
    assert x.to(edunn.int64).tolist() == [1, -2]
    assert x.double().dtype is edunn.float64 and x.half().dtype is edunn.float16
    assert x.long().dtype is edunn.int64 and x.int().dtype is edunn.int32 and x.bool().dtype is edunn.bool
    assert x.to(edunn.bfloat16).dtype is edunn.bfloat16
    assert x.type() == "edunn.FloatTensor" and x.long().type() == "edunn.LongTensor"
    assert edunn.is_tensor(x) and not edunn.is_tensor([1])
    assert edunn.is_floating_point(x) and edunn.numel(x) == 2


def test_requires_grad_only_for_floats():
    with pytest.raises(RuntimeError, match="only Tensors of floating point and complex dtype can require gradients"):
        edunn.tensor([1, 2]).requires_grad_()
    with pytest.raises(RuntimeError, match="floating point"):
        edunn.tensor([1, 2], requires_grad=True)
    x = edunn.tensor([1.0]).requires_grad_()
    assert x.requires_grad and x.is_leaf and x.grad is None
    y = x * 2
    with pytest.raises(RuntimeError, match="leaf variables"):
        y.requires_grad_(False)


def test_detach_shares_memory_and_version():
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    d = x.detach()
    assert not d.requires_grad and d.grad_fn is None
    assert np.shares_memory(d.numpy(), x.detach().numpy())
    v = x._version
    d.add_(1)
    assert x.tolist() == [2.0, 3.0]
    assert x._version == d._version == v + 1


def test_data_property():
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    y = x.data
    assert not y.requires_grad and y.is_leaf
    v = x._version
    y.mul_(3)  # modifies x's storage but not x's version (the .data escape hatch)
    assert x.tolist() == [3.0, 6.0] and x._version == v
    x.data = edunn.tensor([5.0, 5.0])
    assert x.tolist() == [5.0, 5.0] and x.requires_grad
    with pytest.raises(TypeError):
        x.data = [1.0, 2.0]
