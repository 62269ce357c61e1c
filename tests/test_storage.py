"""Storages against torch: sizes, nbytes and data_ptr offsets of tensors and views, sharing
through ``untyped_storage`` and ``set_``, TypedStorage and the legacy classes, from_file,
share_memory_, pickling, errors."""
import os
import pickle
import warnings

import numpy as np
import pytest

import edunn
from edunn.storage import TypedStorage, UntypedStorage
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01


def _both(fn):
    return fn(edunn), fn(torch)


@needs_torch
@pytest.mark.parametrize("make", [
    lambda m: m.arange(12.).reshape(3, 4),
    lambda m: m.arange(12.).reshape(3, 4)[1],
    lambda m: m.arange(12.).reshape(3, 4)[:, 2],
    lambda m: m.arange(12.).reshape(3, 4).t(),
    lambda m: m.arange(10, dtype=m.int16)[3:7],
    lambda m: m.zeros(0),
], ids=["base", "row", "column", "transpose", "int16-slice", "empty"])
def test_sizes_and_offsets_match_torch(make):
    ours, theirs = _both(make)
    u, t = ours.untyped_storage(), theirs.untyped_storage()
    assert (u.nbytes(), u.size(), len(u), u.element_size()) == (t.nbytes(), t.size(), len(t), t.element_size())
    assert ours.storage_offset() == theirs.storage_offset()
    assert u.tolist() == t.tolist()
    # the view's first element sits storage_offset elements after the storage's start
    if ours.numel():
        assert ours.data_ptr() - u.data_ptr() == theirs.data_ptr() - t.data_ptr()
    else:
        assert u.data_ptr() == t.data_ptr() == 0


def test_untyped_storage_shares_memory_with_the_tensor_and_its_views():
    x = edunn.arange(6.).reshape(2, 3)
    u = x[1].untyped_storage()
    assert u.data_ptr() == x.data_ptr() and u.nbytes() == 24 and u.device == x.device
    assert u.is_shared() is False and u.resizable() is False
    u[3] = 0x40  # the high byte of float32 2.0 is 0x40
    u[0:3] = UntypedStorage([0, 0, 0])
    assert x[0, 0].item() == 2.0
    u.fill_(0)
    assert float(x.abs().sum()) == 0
    part = u[4:8]
    part[3] = 0x3f
    part[2] = 0x80  # 1.0 as float32 in little-endian bytes 00 00 80 3f
    assert x[0, 1].item() == 1.0


@needs_torch
def test_set_on_one_storage_shares_writes_like_torch():
    for m in (edunn, torch):
        s = m.UntypedStorage(16).fill_(0)  # torch's new bytes are uninitialised
        a = m.empty(0).set_(s, 0, (2, 2))
        b = m.empty(0).set_(s, 1, (3,), (1,))
        a[0, 1] = 5
        assert b.tolist() == [5.0, 0.0, 0.0] and b.storage_offset() == 1
        b[2] = 7
        assert a.tolist() == [[0.0, 5.0], [0.0, 7.0]]
        c = m.empty(0).set_(a)
        c[0, 0] = 1
        assert a[0, 0].item() == 1 and c.shape == (2, 2)
        whole = m.empty(0).set_(s)
        assert tuple(whole.shape) == (4,)
        assert m.empty(0).set_().shape == (0,)
        strided = m.empty(0).set_(s, 1, (2,), (2,))
        assert strided.tolist() == [5.0, 7.0] and strided.stride() == (2,)


@needs_torch
def test_set_errors():
    s = edunn.UntypedStorage(8)
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 8"):
        edunn.empty(0).set_(s, 1, (2,))
    with pytest.raises(RuntimeError, match="out of bounds for storage of size 8") as ours:
        edunn.empty(0).set_(s, 0, (3,))
    assert "requiring a storage size of 12" in str(ours.value)
    # (torch grows the storage instead; edunn cannot re-point the tensors already over it)
    with pytest.raises(TypeError, match="must be Tensor or Storage"):
        edunn.empty(0).set_([1, 2])
    with pytest.raises(RuntimeError):
        edunn.empty(0).set_(edunn.zeros(2, dtype=edunn.int64))


@needs_torch
def test_typed_storage_and_legacy_classes():
    import edunn._storage_typed as st
    st._TYPED_WARNED[0] = False
    x = edunn.arange(4.)
    with pytest.warns(UserWarning, match="TypedStorage is deprecated"):
        s = x.storage()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        s = x.storage()  # only once per process, as torch
    ts = torch.arange(4.).storage()
    assert (s.size(), s.nbytes(), s.element_size(), s[1], s.tolist()) == \
        (ts.size(), ts.nbytes(), ts.element_size(), ts[1], ts.tolist())
    assert x.storage_type() is edunn.FloatStorage and s.pickle_storage_type() == "FloatStorage"
    assert isinstance(s, edunn.FloatStorage) and not isinstance(s, edunn.DoubleStorage)
    assert isinstance(s, TypedStorage) and edunn.is_storage(s) and not edunn.is_storage(x)
    s[0] = 9
    assert x[0].item() == 9
    assert edunn.LongStorage([1, 2]).tolist() == torch.LongStorage([1, 2]).tolist()
    assert edunn.FloatStorage(3).size() == 3 and edunn.FloatStorage(3).dtype == edunn.float32
    assert s.double().tolist() == ts.double().tolist() == [0.0, 1.0, 2.0, 3.0] or s.double()[0] == 9
    assert s.type() == "edunn.FloatStorage" and s.type("torch.DoubleStorage").dtype is edunn.float64
    with pytest.raises(RuntimeError, match="slices are only supported"):
        s[0:2]
    with pytest.raises(RuntimeError, match="'dtype' must be specified"):
        TypedStorage(wrap_storage=x.untyped_storage())


@needs_torch
def test_standalone_storage_ops_match_torch():
    ours, theirs = edunn.UntypedStorage([1, 2, 3, 250]), torch.UntypedStorage([1, 2, 3, 250])
    assert ours.tolist() == theirs.tolist() and ours[-1] == theirs[-1]
    assert ours.clone().tolist() == theirs.clone().tolist() and ours.clone().data_ptr() != ours.data_ptr()
    ours.resize_(6), theirs.resize_(6)
    assert ours.nbytes() == theirs.nbytes() == 6 and ours.tolist()[:4] == theirs.tolist()[:4]
    other = edunn.UntypedStorage(6).fill_(7)
    assert ours.copy_(other).tolist() == [7] * 6
    with pytest.raises(RuntimeError, match="size mismatch"):
        ours.copy_(edunn.UntypedStorage(2))
    with pytest.raises(RuntimeError, match="not resizable"):
        edunn.zeros(2).untyped_storage().resize_(100)
    buf = np.arange(3, dtype=np.int32).tobytes()
    a = edunn.UntypedStorage.from_buffer(buf, "native", dtype=edunn.int32)
    b = torch.UntypedStorage.from_buffer(buf, "native", dtype=torch.int32)
    assert a.tolist() == b.tolist()
    big_ours = edunn.UntypedStorage.from_buffer(buf, "big", dtype=edunn.int32)
    big_theirs = torch.UntypedStorage.from_buffer(buf, "big", dtype=torch.int32)
    assert big_ours.tolist() == big_theirs.tolist()
    with pytest.raises(RuntimeError, match="'dtype' cannot be None"):
        edunn.UntypedStorage.from_buffer(buf)
    with pytest.raises(RuntimeError, match="byte_order"):
        edunn.UntypedStorage.from_buffer(buf, dtype=edunn.int32)
    assert edunn.UntypedStorage.from_buffer(b"abcd", dtype=edunn.uint8).tolist() == [97, 98, 99, 100]
    assert pickle.loads(pickle.dumps(a)).tolist() == a.tolist()
    assert pickle.loads(pickle.dumps(edunn.LongStorage([4, 5]))).tolist() == [4, 5]


@needs_torch
def test_from_file_round_trip(tmp_path):
    path = str(tmp_path / "data.bin")
    t = edunn.from_file(path, shared=True, size=4, dtype=edunn.int32)
    t.copy_(edunn.tensor([1, 2, 3, 4], dtype=edunn.int32))
    assert t.is_shared() and t.untyped_storage().filename == path
    assert torch.from_file(path, shared=False, size=4, dtype=torch.int32).tolist() == [1, 2, 3, 4]
    private = edunn.from_file(path, shared=False, size=4, dtype=edunn.int32)
    private[0] = 100  # copy-on-write: the file keeps 1
    assert torch.from_file(path, shared=False, size=4, dtype=torch.int32)[0].item() == 1
    u = edunn.UntypedStorage.from_file(path, True, 16)
    u[0] = 9
    assert t[0].item() == 9  # two shared mappings of one file
    assert edunn.IntStorage.from_file(path, False, 4).tolist()[1:] == [2, 3, 4]
    with pytest.raises(RuntimeError, match="smaller than the required mapping size"):
        edunn.UntypedStorage.from_file(path, False, 1000)
    assert os.path.getsize(path) == 16


def test_share_memory_moves_into_shared_memory():
    x = edunn.arange(4.)
    assert not x.is_shared()
    assert x.share_memory_() is x and x.is_shared() and x.tolist() == [0, 1, 2, 3]
    s = edunn.UntypedStorage(8).share_memory_()
    assert s.is_shared() and not s.resizable()


@needs_torch
def test_inplace_ops_on_set_tensors_keep_autograd_like_torch():
    grads = []
    for m in (edunn, torch):
        t = m.empty(0).set_(m.UntypedStorage(16).fill_(0), 0, (2, 2))
        w = m.tensor([[1.0, 2.0], [3.0, 4.0]], requires_grad=True)
        t.add_(w * w)
        (t * t).sum().backward()
        grads.append(w.grad.tolist())
    assert grads[0] == grads[1]


def test_storage_view_gradient_with_overlapping_strides():
    base = edunn.randn(7, dtype=edunn.float64, requires_grad=True)  # set_ makes an as_strided view
    assert edunn.autograd.gradcheck(lambda b: edunn.as_strided(b, (3, 2), (2, 1), 1), (base,))


@needs_torch
def test_typed_storage_signatures_and_complex_storages_match_torch():
    import inspect

    def params(f):
        try:
            return [(p.name, p.default, p.kind) for p in inspect.signature(f).parameters.values()]
        except ValueError:  # a builtin without a signature
            return None
    skipped = {"hpu", "is_hpu", "float8_e4m3fn", "float8_e4m3fnuz", "float8_e5m2", "float8_e5m2fnuz"}
    for name in dir(torch.storage.TypedStorage):
        if name.startswith("_") and name not in ("__init__", "__getitem__", "__setitem__") or name in skipped:
            continue
        attr = getattr(torch.storage.TypedStorage, name)
        theirs = params(attr) if callable(attr) else None
        if theirs is not None:
            assert params(getattr(TypedStorage, name)) == theirs, name
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        ours, theirs = edunn.tensor([1 + 2j, 3j]).storage(), torch.tensor([1 + 2j, 3j]).storage()
        assert ours.tolist() == theirs.tolist() and ours.nbytes() == theirs.nbytes()
        assert isinstance(ours, edunn.ComplexFloatStorage) and edunn.Storage is edunn.FloatStorage
        assert edunn.FloatStorage([1, 2]).complex_double().tolist() == torch.FloatStorage([1, 2]).complex_double().tolist()


def test_sharing_a_tensors_storage_moves_the_tensor():
    x = edunn.arange(4.)
    early_view = x[1:]
    storage = x.untyped_storage()
    assert storage.share_memory_() is storage and storage.is_shared()
    assert x.is_shared() and x.tolist() == [0.0, 1.0, 2.0, 3.0]
    assert x.untyped_storage().data_ptr() == storage.data_ptr() == x.data_ptr()
    assert not early_view.is_shared()  # made before the move: keeps the old memory (see storage.py)
    assert x[1:].is_shared()
