"""edunn.nn.utils.rnn against torch.nn.utils.rnn: PackedSequence's fields, packing and padding
(sorted and unsorted, batch_first, total_length, padding_value, padding_side), round trips,
gradients through pack and pad, and PyTorch's errors."""
import numpy as np
import pytest

import edunn
from edunn.autograd import gradcheck
from edunn.nn.utils import rnn as R
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = pytest.mark.lesson12

TR = torch.nn.utils.rnn if torch is not None else None


def _np(t):
    return t.detach().numpy()


def _leaf(a):
    return edunn.tensor(a, requires_grad=True), torch.tensor(a, requires_grad=True)


@needs_torch
@pytest.mark.parametrize("lengths,enforce_sorted", [([5, 3, 3, 1], True), ([2, 5, 1, 4], False),
                                                    ([3, 3, 3, 3], True), ([1, 4, 2, 5], False)])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pack_pad_match_torch_with_gradients(lengths, enforce_sorted, batch_first):
    rng = np.random.default_rng(0)
    shape = (4, 6, 2) if batch_first else (6, 4, 2)
    xe, xt = _leaf(rng.standard_normal(shape))
    pe = R.pack_padded_sequence(xe, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    pt = TR.pack_padded_sequence(xt, lengths, batch_first=batch_first, enforce_sorted=enforce_sorted)
    assert isinstance(pe, tuple) and pe._fields == pt._fields
    assert pe.batch_sizes.tolist() == pt.batch_sizes.tolist()
    assert pe.batch_sizes.dtype == edunn.int64 and pe.batch_sizes.device.type == "cpu"
    for a, b in [(pe.sorted_indices, pt.sorted_indices), (pe.unsorted_indices, pt.unsorted_indices)]:
        assert (a is None) == (b is None)
        if a is not None:
            assert a.tolist() == b.tolist()
    assert_close(pe.data, _np(pt.data), atol=0)
    ye, le = R.pad_packed_sequence(pe, batch_first=batch_first, padding_value=-2.0, total_length=7)
    yt, lt = TR.pad_packed_sequence(pt, batch_first=batch_first, padding_value=-2.0, total_length=7)
    assert_close(ye, _np(yt), atol=0)
    assert le.tolist() == lt.tolist() == lengths and le.dtype == edunn.int64
    w = rng.standard_normal(tuple(yt.shape))
    (ye * edunn.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    assert_close(xe.grad, _np(xt.grad), atol=0)


@needs_torch
@pytest.mark.parametrize("padding_side", ["right", "left"])
@pytest.mark.parametrize("batch_first", [False, True])
def test_pad_sequence_matches_torch(batch_first, padding_side):
    rng = np.random.default_rng(1)
    arrays = [rng.standard_normal((n, 3)) for n in (2, 5, 1)]
    es, ts = zip(*[_leaf(a) for a in arrays])
    ye = R.pad_sequence(list(es), batch_first=batch_first, padding_value=7.0, padding_side=padding_side)
    yt = TR.pad_sequence(list(ts), batch_first=batch_first, padding_value=7.0, padding_side=padding_side)
    assert_close(ye, _np(yt), atol=0)
    w = rng.standard_normal(tuple(yt.shape))
    (ye * edunn.tensor(w)).sum().backward()
    (yt * torch.tensor(w)).sum().backward()
    for e, t in zip(es, ts):
        assert_close(e.grad, _np(t.grad), atol=0)


@needs_torch
@pytest.mark.parametrize("enforce_sorted", [True, False])
def test_pack_sequence_and_unpack_match_torch(enforce_sorted):
    rng = np.random.default_rng(2)
    ns = (4, 2, 1) if enforce_sorted else (2, 4, 1)
    arrays = [rng.standard_normal((n, 2)) for n in ns]
    pe = R.pack_sequence([edunn.tensor(a) for a in arrays], enforce_sorted=enforce_sorted)
    pt = TR.pack_sequence([torch.tensor(a) for a in arrays], enforce_sorted=enforce_sorted)
    assert_close(pe.data, _np(pt.data), atol=0)
    assert pe.batch_sizes.tolist() == pt.batch_sizes.tolist()
    for a, u in zip(arrays, R.unpack_sequence(pe)):
        assert_close(u, a, atol=0)
    padded = R.pad_sequence([edunn.tensor(a) for a in arrays], batch_first=True)
    for a, u in zip(arrays, R.unpad_sequence(padded, edunn.tensor(list(ns)), batch_first=True)):
        assert_close(u, a, atol=0)
    for a, u in zip(arrays, R.unpad_sequence(padded.transpose(0, 1), list(ns))):
        assert_close(u, a, atol=0)


@pytest.mark.parametrize("batch_first", [False, True])
def test_round_trip_pad_pack_pad_keeps_values_within_lengths(batch_first):
    rng = np.random.default_rng(3)
    lengths = [3, 6, 1, 4]
    x = rng.standard_normal((4, 6, 3) if batch_first else (6, 4, 3))
    p = R.pack_padded_sequence(edunn.tensor(x), edunn.tensor(lengths), batch_first, enforce_sorted=False)
    y, ln = R.pad_packed_sequence(p, batch_first=batch_first, padding_value=float("nan"))
    y = y.numpy()
    assert ln.tolist() == lengths and y.shape == x.shape
    for b, n in enumerate(lengths):
        got = y[b] if batch_first else y[:, b]
        want = x[b] if batch_first else x[:, b]
        np.testing.assert_array_equal(got[:n], want[:n])
        assert np.isnan(got[n:]).all()


def test_gradcheck_through_pack_and_pad():
    x = edunn.tensor(np.random.default_rng(4).standard_normal((3, 3, 2)), requires_grad=True)

    def f(x):
        p = R.pack_padded_sequence(x * 2, [2, 3, 1], enforce_sorted=False)
        return R.pad_packed_sequence(p, padding_value=1.5, total_length=4)[0]
    assert gradcheck(f, (x,))


def test_packed_sequence_fields_and_moves():
    p = R.pack_sequence([edunn.ones(3), edunn.ones(2)])
    data, batch_sizes, sorted_indices, unsorted_indices = p
    assert p.data is data and batch_sizes.tolist() == [2, 2, 1]
    assert sorted_indices is None and unsorted_indices is None
    q = p.double()
    assert q.data.dtype == edunn.float64 and isinstance(q, R.PackedSequence)
    assert q.batch_sizes is p.batch_sizes and p.to(edunn.float32) is p
    assert p.cpu() is p and not p.is_cuda and not p.is_pinned()
    r = R.pack_sequence([edunn.ones(2), edunn.ones(3)], enforce_sorted=False).to(edunn.float64)
    assert r.sorted_indices.tolist() == [1, 0] and r.unsorted_indices.tolist() == [1, 0]
    assert r.sorted_indices.dtype == edunn.int64
    assert R.invert_permutation(edunn.tensor([2, 0, 1])).tolist() == [1, 2, 0]
    assert R.PackedSequence(edunn.ones(3), edunn.tensor([2, 1])).unsorted_indices is None


@needs_torch
def test_errors_match_torch():
    x = np.zeros((4, 3, 2), dtype=np.float32)
    for lengths in ([2, 3, 1], [3, 2], [3, 2, 1, 1], [3, 1, 0]):
        with pytest.raises(RuntimeError) as ee:
            R.pack_padded_sequence(edunn.tensor(x), lengths)
        with pytest.raises(RuntimeError) as et:
            TR.pack_padded_sequence(torch.tensor(x), lengths)
        assert str(ee.value) == str(et.value)
    with pytest.raises(RuntimeError, match="at most the sequence length 4 .* got a length of 5"):
        R.pack_padded_sequence(edunn.tensor(x), [5, 3, 1])  # PyTorch reads past the end here
    with pytest.raises(RuntimeError, match="Expected padding_side to be one of left or right, but got mid."):
        R.pad_sequence([edunn.ones(2)], padding_side="mid")
    with pytest.raises(RuntimeError, match="received an empty list of sequences"):
        R.pad_sequence([])
    with pytest.raises(RuntimeError, match=r"trailing shape \[3\]"):
        R.pad_sequence([edunn.ones((2, 3)), edunn.ones((2, 4))])
    p = R.pack_sequence([edunn.ones(3), edunn.ones(2)])
    with pytest.raises(ValueError, match="Expected total_length to be at least the length of the "
                                         "longest sequence in input, but got total_length=2 and max "
                                         "sequence length being 3"):
        R.pad_packed_sequence(p, total_length=2)


@needs_torch
def test_lstm_on_packed_sequences_equals_running_each_sequence_alone():
    """Packing skips the padding: each sequence's output and final state equal those of the
    sequence run on its own (unpadded) through the same LSTM."""
    m = edunn.nn.LSTM(2, 3, bidirectional=True).double()
    rng = np.random.default_rng(5)
    seqs = [edunn.tensor(rng.standard_normal((n, 2))) for n in (2, 5, 3)]
    out, (h, c) = m(R.pack_sequence(seqs, enforce_sorted=False))
    for b, (s, o) in enumerate(zip(seqs, R.unpack_sequence(out))):
        y, (hb, cb) = m(s)
        assert_close(o, y.detach().numpy(), atol=1e-12)
        assert_close(h[:, b], hb.detach().numpy(), atol=1e-12)
        assert_close(c[:, b], cb.detach().numpy(), atol=1e-12)
