"""The Python protocols a Tensor takes part in, as torch.Tensor: the legacy constructor, copy,
deepcopy, pickle, and the in-place shape methods."""
import copy
import pickle

import numpy as np
import pytest

import edunn
from opcheck import torch, needs_torch

pytestmark = pytest.mark.lesson01


@needs_torch
@pytest.mark.parametrize("args", [([1, 2],), ([[1.5, 2.0], [3.0, 4.0]],), (2, 3), ()])
def test_legacy_constructor(args):
    ours, theirs = edunn.Tensor(*args), torch.Tensor(*args)
    assert tuple(ours.shape) == tuple(theirs.shape)
    assert str(ours.dtype).split(".")[-1] == str(theirs.dtype).split(".")[-1]
    if args and not isinstance(args[0], int):
        np.testing.assert_array_equal(ours.numpy(), theirs.numpy())


def test_deepcopy_copies_data_and_grad():
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    (x * x).sum().backward()
    y = copy.deepcopy(x)
    assert y is not x and y.requires_grad and y.is_leaf
    assert y.grad.tolist() == [2.0, 4.0] and y.grad is not x.grad
    with edunn.no_grad():
        y.add_(1)
    assert x.tolist() == [1.0, 2.0]
    with pytest.raises(RuntimeError, match="graph leaves"):
        copy.deepcopy(x * 2)


def test_deepcopy_keeps_shared_tensors_shared():
    x = edunn.ones(3)
    a, b = copy.deepcopy([x, x])
    assert a is b


def test_pickle_round_trip():
    x = edunn.tensor([[1, 2], [3, 4]], dtype=edunn.int32)
    y = pickle.loads(pickle.dumps(x))
    assert y.dtype is edunn.int32 and y.tolist() == x.tolist()
    w = pickle.loads(pickle.dumps(edunn.zeros(2, requires_grad=True)))
    assert w.requires_grad and w.is_leaf


@needs_torch
@pytest.mark.parametrize("method, args", [("t_", ()), ("transpose_", (0, 1)), ("unsqueeze_", (1,)),
                                          ("squeeze_", ())])
def test_inplace_shape_methods(method, args):
    def run(fw):
        x = fw.tensor(np.arange(6.0).reshape(2, 3) if method != "squeeze_" else np.arange(3.0).reshape(1, 3),
                      requires_grad=True)
        y = x * 2
        out = getattr(y, method)(*args)
        assert out is y
        (y * fw.arange(y.numel(), dtype=y.dtype).reshape(y.shape)).sum().backward()
        return tuple(y.shape), x.grad.numpy()
    (shape, grad), (tshape, tgrad) = run(edunn), run(torch)
    assert shape == tshape
    np.testing.assert_allclose(grad, tgrad)


def test_inplace_on_an_expanded_tensor_is_refused_as_in_torch():
    with pytest.raises(RuntimeError, match="single memory location"):
        edunn.ones(1).expand(3).mul_(0)
    if torch is not None:
        with pytest.raises(RuntimeError, match="single memory location"):
            torch.ones(1).expand(3).mul_(0)


@needs_torch
def test_type_names_and_casts_as_torch():
    x, t = edunn.ones(2), torch.ones(2)
    assert x.type() == t.type().replace("torch.", "edunn.")
    for target in ["torch.DoubleTensor", "torch.IntTensor"]:
        assert str(x.type(target).dtype).split(".")[-1] == str(t.type(target).dtype).split(".")[-1]
    assert x.type(edunn.int64).dtype is edunn.int64


def test_expand_to_a_negative_size_is_a_runtime_error():
    with pytest.raises(RuntimeError, match=r"expanded size of the tensor \(-2\)"):
        edunn.empty(3, 1).expand(3, -2)


@needs_torch
def test_assigning_grad_checks_shape_dtype_and_type_as_torch():
    for fw in (edunn, torch):
        x = fw.zeros(2, 3, requires_grad=True)
        x.grad = fw.ones(2, 3)
        assert x.grad.sum().item() == 6
        x.grad = None
        assert x.grad is None
        with pytest.raises(RuntimeError, match="gradient of size '\\[3, 2\\]' to a tensor of size"):
            x.grad = fw.ones(3, 2)
        with pytest.raises(RuntimeError, match="gradient with dtype"):
            x.grad = fw.ones(2, 3, dtype=fw.float64)
        with pytest.raises(TypeError):
            x.grad = [[1.0] * 3] * 2
