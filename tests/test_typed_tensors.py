"""The legacy typed tensor classes against torch's: constructors, ``isinstance``, ``type()``
strings and casts, ``set_default_tensor_type`` and its warning."""
import warnings

import numpy as np
import pytest

import edunn
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01

NAMES = ["FloatTensor", "DoubleTensor", "HalfTensor", "BFloat16Tensor", "ByteTensor", "CharTensor",
         "ShortTensor", "IntTensor", "LongTensor", "BoolTensor"]


@needs_torch
@pytest.mark.parametrize("name", NAMES)
def test_constructors_and_isinstance_match_torch(name):
    ours, theirs = getattr(edunn, name), getattr(torch, name)
    assert ours.dtype.name == str(theirs.dtype).split(".")[1] and ours.is_cuda is False
    assert repr(ours) == repr(theirs).replace("torch", "edunn")
    for args, kwargs in [((2, 3), {}), ((), {"size": (2, 3)}), ((edunn.Size([4]),), {}), ((), {})]:
        targs = tuple(torch.Size(a) if isinstance(a, edunn.Size) else a for a in args)
        a, b = ours(*args, **kwargs), theirs(*targs, **kwargs)
        assert tuple(a.shape) == tuple(b.shape) and a.dtype.name == str(b.dtype).split(".")[1]
        assert not a.any()  # edunn zero-fills what torch leaves uninitialised
    data = [[1, 0], [3, 1]]
    np.testing.assert_array_equal(ours(data).float().numpy(), theirs(data).float().numpy())
    t = ours(data)
    assert isinstance(t, ours) and isinstance(t, edunn.Tensor) and t.type() == f"edunn.{name}"
    assert theirs(data).type() == f"torch.{name}"
    others = [n for n in NAMES if n != name]
    assert not any(isinstance(t, getattr(edunn, n)) for n in others)
    assert not isinstance(t, getattr(edunn.cuda, name)) if hasattr(edunn.cuda, name) else True
    assert ours(t).data_ptr() == t.data_ptr()  # same dtype: an alias


@needs_torch
def test_constructor_details_match_torch():
    np.testing.assert_array_equal(edunn.FloatTensor((2, 3)).numpy(), torch.FloatTensor((2, 3)).numpy())
    assert edunn.LongTensor([1.7]).tolist() == torch.LongTensor([1.7]).tolist()
    assert isinstance(edunn.nn.Parameter(edunn.zeros(2)), edunn.FloatTensor)
    assert not issubclass(edunn.FloatTensor, edunn.Tensor) and not issubclass(torch.FloatTensor, torch.Tensor)
    for bad, theirs in [(lambda m: m.FloatTensor(m.tensor([1, 2])), TypeError),
                        (lambda m: m.FloatTensor("a"), TypeError),
                        (lambda m: m.FloatTensor(2.5), TypeError)]:
        with pytest.raises(theirs):
            bad(torch)
        with pytest.raises(theirs):
            bad(edunn)
    if not edunn.backend.cuda_available():
        with pytest.raises(TypeError, match="not available"):
            edunn.cuda.FloatTensor(2) if hasattr(edunn.cuda, "FloatTensor") else edunn._typed_tensors.CudaFloatTensor(2)


@needs_torch
def test_type_casts_by_class_and_name():
    x, tx = edunn.tensor([1.5, 2.5]), torch.tensor([1.5, 2.5])
    assert x.type() == "edunn.FloatTensor" and tx.type() == "torch.FloatTensor"
    for target in ("DoubleTensor", "LongTensor", "HalfTensor"):
        expected = tx.type(getattr(torch, target))
        for spec in (getattr(edunn, target), f"edunn.{target}", f"torch.{target}"):
            got = x.type(spec)
            assert got.type() == f"edunn.{target}"
            np.testing.assert_array_equal(got.float().numpy(), expected.float().numpy())
    assert x.type(edunn.float64).dtype is edunn.float64
    with pytest.raises(ValueError, match="invalid type"):
        x.type("edunn.NoSuchTensor")


@needs_torch
def test_set_default_tensor_type_warns_and_sets_the_dtype():
    try:
        with pytest.warns(UserWarning, match="set_default_tensor_type\\(\\) is deprecated"):
            edunn.set_default_tensor_type(edunn.DoubleTensor)
        assert edunn.get_default_dtype() is edunn.float64 and edunn.tensor([1.0]).dtype is edunn.float64
        assert edunn.FloatTensor(1).dtype is edunn.float32  # fixed classes ignore the default
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            edunn.set_default_tensor_type("torch.FloatTensor")
            assert edunn.get_default_dtype() is edunn.float32
            for bad in (edunn.LongTensor, "edunn.IntTensor"):
                with pytest.raises(TypeError, match="floating-point"):
                    edunn.set_default_tensor_type(bad)
                with pytest.raises(TypeError):
                    torch.set_default_tensor_type(bad if isinstance(bad, str) else torch.LongTensor)
            with pytest.raises(TypeError):
                edunn.set_default_tensor_type("nonsense")
            assert edunn.get_default_device().type == "cpu"
    finally:
        edunn.set_default_dtype(edunn.float32)
    assert edunn.is_tensor(edunn.FloatTensor(2)) and not edunn.is_tensor(edunn.FloatTensor)
