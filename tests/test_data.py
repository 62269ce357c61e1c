"""edunn.utils.data against torch.utils.data: datasets, samplers, collation, DataLoader (lesson 19)."""
from __future__ import annotations

import collections
import random
import warnings

import numpy as np
import pytest

import edunn
import edunn.utils.data as D
from tests.opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson19


def _np(x):
    """A nested batch (edunn or torch) as plain Python/NumPy, to compare structures and values."""
    if isinstance(x, edunn.Tensor):
        return ("T", str(x.dtype).split(".")[-1], x.numpy().tolist())
    if torch is not None and isinstance(x, torch.Tensor):
        return ("T", str(x.dtype).split(".")[-1], x.numpy().tolist())
    if isinstance(x, dict):
        return {k: _np(v) for k, v in x.items()}
    if isinstance(x, tuple) and hasattr(x, "_fields"):
        return (type(x).__name__,) + tuple(_np(v) for v in x)
    if isinstance(x, (list, tuple)):
        return (type(x).__name__, [_np(v) for v in x])
    return x


def _data(n=10, d=3):
    rng = np.random.default_rng(0)
    return rng.standard_normal((n, d)).astype(np.float32), rng.integers(0, 5, n)


# ------------------------------------------------------------------------------------------- datasets
@needs_torch
def test_tensor_dataset_subset_concat_match_torch():
    x, y = _data()
    ds, tds = D.TensorDataset(edunn.tensor(x), edunn.tensor(y)), torch.utils.data.TensorDataset(torch.tensor(x), torch.tensor(y))
    assert len(ds) == len(tds) == 10
    for i in (0, 3, -1, slice(2, 5)):
        assert _np(ds[i]) == _np(tds[i])
    idx = [7, 1, 4]
    sub, tsub = D.Subset(ds, idx), torch.utils.data.Subset(tds, idx)
    assert len(sub) == 3 and [_np(sub[i]) for i in range(3)] == [_np(tsub[i]) for i in range(3)]
    assert _np(sub.__getitems__([0, 2])) == _np(tsub.__getitems__([0, 2]))
    cat, tcat = ds + sub, tds + tsub
    assert isinstance(cat, D.ConcatDataset) and cat.cumulative_sizes == tcat.cumulative_sizes == [10, 13]
    for i in (0, 9, 10, 12, -1, -13):
        assert _np(cat[i]) == _np(tcat[i])
    with pytest.raises(ValueError, match="should not exceed dataset length"):
        cat[-14]
    stack = D.StackDataset(a=ds, b=D.Subset(ds, range(10)))
    assert _np(stack[2]) == {"a": _np(tds[2]), "b": _np(tds[2])}


def test_dataset_errors():
    with pytest.raises(AssertionError, match="Size mismatch"):
        D.TensorDataset(edunn.zeros(3, 2), edunn.zeros(4))
    with pytest.raises(TypeError, match="expects Tensors"):
        D.TensorDataset(edunn.zeros(3), [1, 2, 3])
    with pytest.raises(AssertionError, match="empty iterable"):
        D.ConcatDataset([])

    class It(D.IterableDataset):
        def __iter__(self):
            return iter(range(3))
    with pytest.raises(AssertionError, match="does not support IterableDataset"):
        D.ConcatDataset([It()])
    assert isinstance(It() + It(), D.ChainDataset) and list(It() + It()) == [0, 1, 2, 0, 1, 2]
    with pytest.raises(NotImplementedError):
        D.Dataset()[0]


@needs_torch
@pytest.mark.parametrize("lengths", [[3, 7], [0.3, 0.7], [0.25, 0.25, 0.5], [0.33, 0.33, 0.34], [1 / 3] * 3])
def test_random_split_lengths_match_torch_and_partition(lengths):
    ds = D.TensorDataset(edunn.arange(10))
    parts = D.random_split(ds, lengths, generator=edunn.Generator().manual_seed(1))
    tparts = torch.utils.data.random_split(torch.utils.data.TensorDataset(torch.arange(10)), lengths,
                                           generator=torch.Generator().manual_seed(1))
    assert [len(p) for p in parts] == [len(p) for p in tparts]
    seen = sorted(int(p[i][0]) for p in parts for i in range(len(p)))
    assert seen == list(range(10))
    again = D.random_split(ds, lengths, generator=edunn.Generator().manual_seed(1))
    assert [p.indices for p in parts] == [p.indices for p in again]


def test_random_split_errors():
    ds = D.TensorDataset(edunn.arange(10))
    with pytest.raises(ValueError, match="Sum of input lengths"):
        D.random_split(ds, [3, 3])
    with pytest.raises(ValueError, match="Fraction at index 0 is not between 0 and 1"):
        D.random_split(ds, [-0.5, 1.5])
    with pytest.warns(UserWarning, match="Length of split at index 1 is 0"):
        D.random_split(D.TensorDataset(edunn.arange(1)), [0.9, 0.1])


# ------------------------------------------------------------------------------------------ collation
Point = collections.namedtuple("Point", "x y")


def _samples(lib):
    t = lib.tensor
    return [
        {"img": t([[1.0, 2.0], [3.0, 4.0]]), "label": 1, "w": 0.5, "name": "a", "pt": Point(t([1]), 2),
         "pair": (t([1, 2]), 3.5), "lst": [True, 4], "arr": np.arange(3, dtype=np.float32), "npi": np.int32(7)},
        {"img": t([[5.0, 6.0], [7.0, 8.0]]), "label": 0, "w": 1.5, "name": "b", "pt": Point(t([2]), 3),
         "pair": (t([3, 4]), 4.5), "lst": [False, 5], "arr": np.arange(3, 6, dtype=np.float32), "npi": np.int32(8)},
    ]


@needs_torch
def test_default_collate_nested_matches_torch():
    ours = D.default_collate(_samples(edunn))
    theirs = torch.utils.data.default_collate(_samples(torch))
    assert _np(ours) == _np(theirs)
    assert ours["w"].dtype == edunn.float64 and ours["label"].dtype == edunn.int64
    assert ours["name"] == ["a", "b"] and isinstance(ours["pt"], Point) and isinstance(ours["pair"], list)
    # default_convert: NumPy to tensors, the rest untouched
    sample = {"a": np.ones(2), "b": (np.zeros(1), 3), "c": "s"}
    assert _np(D.default_convert(sample)) == _np(torch.utils.data.default_convert(sample))


def test_default_collate_errors():
    with pytest.raises(RuntimeError, match="each element in list of batch should be of equal size"):
        D.default_collate([[1, 2], [3]])
    with pytest.raises(TypeError, match="batch must contain tensors, numpy arrays, numbers, dicts or lists"):
        D.default_collate([object(), object()])
    with pytest.raises(TypeError, match="batch must contain"):
        D.default_collate([np.array(["x"]), np.array(["y"])])


# ------------------------------------------------------------------------------------------- samplers
@needs_torch
def test_sequential_and_batch_sampler_match_torch():
    data = list(range(10))
    assert list(D.SequentialSampler(data)) == list(torch.utils.data.SequentialSampler(data))
    for bs in (1, 3, 5, 11):
        for drop in (False, True):
            ours = D.BatchSampler(D.SequentialSampler(data), bs, drop)
            theirs = torch.utils.data.BatchSampler(torch.utils.data.SequentialSampler(data), bs, drop)
            assert list(ours) == list(theirs) and len(ours) == len(theirs)


def test_sampler_errors():
    with pytest.raises(ValueError, match="batch_size should be a positive integer value, but got batch_size=0"):
        D.BatchSampler(range(3), 0, False)
    with pytest.raises(ValueError, match="drop_last should be a boolean value"):
        D.BatchSampler(range(3), 2, 1)
    with pytest.raises(TypeError, match="replacement should be a boolean value"):
        D.RandomSampler(range(3), replacement=1)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        D.RandomSampler(range(3), num_samples=0)
    with pytest.raises(ValueError, match="weights should be a 1d sequence"):
        D.WeightedRandomSampler([[1.0, 2.0]], 2)
    with pytest.raises(ValueError, match="num_samples should be a positive integer value"):
        D.WeightedRandomSampler([1.0, 2.0], -1)


def test_random_sampler_permutations_and_statistics():
    data = list(range(7))
    s = D.RandomSampler(data, generator=edunn.Generator().manual_seed(0))
    assert sorted(s) == data and len(s) == 7
    s = D.RandomSampler(data, num_samples=17, generator=edunn.Generator().manual_seed(0))
    out = list(s)
    assert len(out) == len(s) == 17 and sorted(out[:7]) == data and sorted(out[7:14]) == data
    # with replacement: uniform over [0, n)
    s = D.RandomSampler(data, replacement=True, num_samples=70000, generator=edunn.Generator().manual_seed(0))
    counts = np.bincount(list(s), minlength=7) / 70000
    assert np.allclose(counts, 1 / 7, atol=0.01)
    # reproducible with a seeded generator, and with manual_seed when generator=None
    a = list(D.RandomSampler(data, generator=edunn.Generator().manual_seed(3)))
    assert a == list(D.RandomSampler(data, generator=edunn.Generator().manual_seed(3)))
    edunn.manual_seed(5)
    b = list(D.RandomSampler(data))
    edunn.manual_seed(5)
    assert b == list(D.RandomSampler(data))


def test_subset_and_weighted_samplers_statistics():
    idx = [10, 20, 30, 40]
    s = D.SubsetRandomSampler(idx, generator=edunn.Generator().manual_seed(0))
    assert sorted(s) == idx and len(s) == 4
    w = [1.0, 0.0, 3.0, 6.0]
    s = D.WeightedRandomSampler(w, 50000, generator=edunn.Generator().manual_seed(0))
    freq = np.bincount(list(s), minlength=4) / 50000
    assert len(s) == 50000 and np.allclose(freq, np.array(w) / 10, atol=0.01)
    s = D.WeightedRandomSampler(w, 3, replacement=False, generator=edunn.Generator().manual_seed(0))
    assert sorted(s) == [0, 2, 3]


# ----------------------------------------------------------------------------------------- DataLoader
def test_dataloader_shapes_len_drop_last():
    x, y = _data(10)
    ds = D.TensorDataset(edunn.tensor(x), edunn.tensor(y))
    for bs, drop, shapes in [(4, False, [4, 4, 2]), (4, True, [4, 4]), (10, False, [10]), (3, True, [3, 3, 3])]:
        loader = D.DataLoader(ds, batch_size=bs, drop_last=drop)
        batches = list(loader)
        assert len(loader) == len(batches) == len(shapes)
        assert [tuple(b[0].shape) for b in batches] == [(n, 3) for n in shapes]
        assert [tuple(b[1].shape) for b in batches] == [(n,) for n in shapes]
    first = next(iter(D.DataLoader(ds, batch_size=4)))
    assert np.array_equal(first[0].numpy(), x[:4]) and np.array_equal(first[1].numpy(), y[:4])
    # batch_size=None: no batching, samples one by one
    unbatched = list(D.DataLoader(ds, batch_size=None))
    assert len(unbatched) == 10 and tuple(unbatched[0][0].shape) == (3,)


def test_dataloader_shuffle_is_a_reproducible_permutation():
    ds = D.TensorDataset(edunn.arange(20))
    run = lambda seed: [b[0].tolist() for b in D.DataLoader(ds, batch_size=6, shuffle=True,
                                                              generator=edunn.Generator().manual_seed(seed))]
    a = run(0)
    assert a == run(0) and a != run(1)
    assert sorted(sum(a, [])) == list(range(20)) and sum(a, []) != list(range(20))
    edunn.manual_seed(7)
    loader = D.DataLoader(ds, batch_size=6, shuffle=True)
    e1, e2 = [sum((b[0].tolist() for b in loader), []) for _ in range(2)]
    assert e1 != e2  # a fresh order each epoch
    edunn.manual_seed(7)
    assert sum((b[0].tolist() for b in D.DataLoader(ds, batch_size=6, shuffle=True)), []) == e1


def test_dataloader_batch_sampler_sampler_and_collate_fn():
    ds = D.TensorDataset(edunn.arange(10))
    loader = D.DataLoader(ds, batch_sampler=[[0, 1], [5, 9, 2]])
    assert [b[0].tolist() for b in loader] == [[0, 1], [5, 9, 2]] and len(loader) == 2
    loader = D.DataLoader(ds, sampler=[3, 1, 2], batch_size=2, collate_fn=lambda b: [int(s[0]) for s in b])
    assert list(loader) == [[3, 1], [2]]


@needs_torch
def test_dataloader_iterable_dataset_and_workers_match_torch():
    def make(lib):
        class Stream(lib.utils.data.IterableDataset):
            def __iter__(self):
                info = lib.utils.data.get_worker_info()
                start, step = (0, 1) if info is None else (info.id, info.num_workers)
                return iter(range(start, 11, step))

            def __len__(self):
                return 11
        return Stream()

    for kwargs in [dict(batch_size=3), dict(batch_size=3, drop_last=True), dict(batch_size=None),
                   dict(batch_size=3, num_workers=2), dict(batch_size=2, num_workers=2, drop_last=True)]:
        ours = D.DataLoader(make(edunn), **kwargs)
        theirs = torch.utils.data.DataLoader(make(torch), **kwargs)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert [_np(b) for b in ours] == [_np(b) for b in theirs], kwargs
            assert len(ours) == len(theirs)


def test_dataloader_workers_in_process():
    seen = []

    class Noisy(D.Dataset):
        def __getitem__(self, i):
            info = D.get_worker_info()
            return (info.id, random.random(), float(edunn.rand(()).item()))

        def __len__(self):
            return 8

    loader = D.DataLoader(Noisy(), batch_size=2, num_workers=2, worker_init_fn=seen.append,
                          generator=edunn.Generator().manual_seed(0))
    batches = list(loader)
    assert seen == [0, 1] and len(batches) == 4
    assert [b[0].tolist() for b in batches] == [[0, 0], [1, 1], [0, 0], [1, 1]]
    again = list(D.DataLoader(Noisy(), batch_size=2, num_workers=2, generator=edunn.Generator().manual_seed(0)))
    assert all(np.array_equal(a[1].numpy(), b[1].numpy()) and np.array_equal(a[2].numpy(), b[2].numpy())
               for a, b in zip(batches, again))
    assert batches[0][2].tolist() != batches[1][2].tolist()  # each worker its own stream
    assert D.get_worker_info() is None


def test_dataloader_option_errors():
    ds = D.TensorDataset(edunn.arange(4))

    class It(D.IterableDataset):
        def __iter__(self):
            return iter(range(4))
    cases = [
        (dict(sampler=[0, 1], shuffle=True), "sampler option is mutually exclusive with shuffle"),
        (dict(batch_sampler=[[0]], batch_size=2), "batch_sampler option is mutually exclusive"),
        (dict(batch_sampler=[[0]], drop_last=True), "batch_sampler option is mutually exclusive"),
        (dict(batch_size=None, drop_last=True), "disables auto-batching"),
        (dict(num_workers=-1), "num_workers option should be non-negative"),
        (dict(timeout=-1), "timeout option should be non-negative"),
        (dict(prefetch_factor=2), "prefetch_factor option could only be specified"),
        (dict(persistent_workers=True), "persistent_workers option needs num_workers > 0"),
        (dict(num_workers=1, multiprocessing_context="bogus"), "valid start method"),
    ]
    for kwargs, msg in cases:
        with pytest.raises(ValueError, match=msg):
            D.DataLoader(ds, **kwargs)
    for kwargs in (dict(shuffle=True), dict(sampler=[0]), dict(batch_sampler=[[0]])):
        with pytest.raises(ValueError, match="DataLoader with IterableDataset: expected unspecified"):
            D.DataLoader(It(), **kwargs)
    loader = D.DataLoader(ds)
    with pytest.raises(ValueError, match="batch_size attribute should not be set"):
        loader.batch_size = 3
    with pytest.raises(TypeError):
        len(D.DataLoader(It()))


def test_dataloader_persistent_workers_and_pin_memory():
    ds = D.TensorDataset(edunn.arange(6))
    inits = []
    loader = D.DataLoader(ds, batch_size=2, num_workers=2, persistent_workers=True, worker_init_fn=inits.append)
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]
    assert [b[0].tolist() for b in loader] == [[0, 1], [2, 3], [4, 5]]
    assert inits == [0, 1]  # the workers were started once
    if not edunn.cuda.is_available():
        with pytest.warns(UserWarning, match="no accelerator is found"):
            list(D.DataLoader(ds, pin_memory=True))


# ----------------------------------------------------------------------------------------- signatures
def _params(fn):
    import inspect
    out = []
    for p in inspect.signature(fn).parameters.values():
        default = p.default
        if default is not inspect.Parameter.empty and not isinstance(default, (int, float, str, bool, type(None))):
            default = "<object>"  # a generator object: compared by presence only
        out.append((p.name, p.kind, default))
    return out


@needs_torch
@pytest.mark.parametrize("name", D.__all__)
def test_signatures_match_torch(name):
    ours, theirs = getattr(D, name), getattr(torch.utils.data, name)
    assert _params(ours) == _params(theirs)
    if isinstance(ours, type):
        for method in ("__getitem__", "__iter__", "__len__", "__getitems__", "__add__"):
            if method in vars(theirs) and method in vars(ours):
                assert _params(vars(ours)[method]) == _params(vars(theirs)[method]), method
