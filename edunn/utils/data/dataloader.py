"""``DataLoader`` (lesson 19): a dataset, a sampler and a collate function, in one loop.

One step of the loop, as PyTorch's single-process iterator does it::

    indices = next(batch_sampler)                  # e.g. [7, 2, 9, 4]
    batch   = collate_fn([dataset[i] for i in indices])

``shuffle=True`` means a ``RandomSampler`` (drawn from ``generator``, or from the default
generator), otherwise a ``SequentialSampler``; ``batch_size``/``drop_last`` wrap it in a
``BatchSampler``.  With ``batch_size=None`` there is no automatic batching: each sample passes
through ``default_convert`` alone.  An ``IterableDataset`` is read from its iterator
``batch_size`` samples at a time.

**Workers.**  edunn runs ``num_workers > 0`` *inside the main process*: there are ``num_workers``
simulated workers, each with its own ``WorkerInfo`` (``get_worker_info()``), its own seed
``base_seed + worker_id`` for edunn's CPU generator and Python's ``random`` (swapped in around the
worker's reads, so random transforms differ between workers as in PyTorch), its own iterator of
an ``IterableDataset``, and ``worker_init_fn(worker_id)``.  Batches come back round-robin from
the workers, in PyTorch's order, so a dataset that shards itself with ``get_worker_info()`` gives
the same batches as PyTorch.  What it does not give is parallelism: NumPy arrays are read one
batch at a time.  ``timeout``, ``prefetch_factor``, ``multiprocessing_context`` and ``in_order``
are accepted and checked as PyTorch checks them, and have no other effect here; ``pin_memory``
calls ``Tensor.pin_memory()`` on the batch when CUDA is available, and warns otherwise.
"""
from __future__ import annotations

import math
import random
import warnings
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import Any

import edunn
from ... import backend
from ...tensor import Tensor
from .collate import default_collate, default_convert
from .dataset import Dataset, IterableDataset
from .sampler import BatchSampler, RandomSampler, Sampler, SequentialSampler

__all__ = ["DataLoader", "WorkerInfo", "get_worker_info"]

_START_METHODS = ("fork", "spawn", "forkserver")


@dataclass
class WorkerInfo:
    """What a worker knows about itself: ``id`` in ``[0, num_workers)``, ``num_workers``, its
    ``seed`` and the ``dataset`` it reads."""
    id: int
    num_workers: int
    seed: int
    dataset: Any


_worker_info: WorkerInfo | None = None


def get_worker_info() -> WorkerInfo | None:
    """The current worker's ``WorkerInfo`` while a ``DataLoader`` worker reads data; ``None`` in
    the main process."""
    return _worker_info


class _InfiniteConstantSampler(Sampler):
    """The sampler of an iterable dataset: ``None`` forever (the dataset decides what comes)."""

    def __iter__(self) -> Iterator[None]:
        while True:
            yield None


def _pin(data: Any) -> Any:
    if isinstance(data, Tensor):
        return data.pin_memory()
    if isinstance(data, dict):
        return type(data)({k: _pin(v) for k, v in data.items()})
    if isinstance(data, tuple) and hasattr(data, "_fields"):
        return type(data)(*(_pin(v) for v in data))
    if isinstance(data, (list, tuple)):
        return type(data)(_pin(v) for v in data)
    return data


class DataLoader:
    """Iterate over ``dataset`` in batches; PyTorch's arguments and their rules (see the module
    docstring for what ``num_workers`` means here)."""

    def __init__(self, dataset: Dataset, batch_size: int | None = 1, shuffle: bool | None = None,
                 sampler: Sampler | Iterable | None = None, batch_sampler: Sampler | Iterable | None = None,
                 num_workers: int = 0, collate_fn: Callable | None = None, pin_memory: bool = False,
                 drop_last: bool = False, timeout: float = 0, worker_init_fn: Callable | None = None,
                 multiprocessing_context: Any = None, generator: Any = None, *,
                 prefetch_factor: int | None = None, persistent_workers: bool = False,
                 pin_memory_device: str = "", in_order: bool = True) -> None:
        if num_workers < 0:
            raise ValueError("num_workers option should be non-negative; use num_workers=0 to disable multiprocessing.")
        if timeout < 0:
            raise ValueError("timeout option should be non-negative")
        if num_workers == 0 and prefetch_factor is not None:
            raise ValueError("prefetch_factor option could only be specified in multiprocessing."
                             "let num_workers > 0 to enable multiprocessing, otherwise set prefetch_factor to None.")
        if num_workers > 0 and prefetch_factor is None:
            prefetch_factor = 2
        elif prefetch_factor is not None and prefetch_factor < 0:
            raise ValueError("prefetch_factor option should be non-negative")
        if persistent_workers and num_workers == 0:
            raise ValueError("persistent_workers option needs num_workers > 0")
        if multiprocessing_context is not None:
            if num_workers == 0:
                raise ValueError("multiprocessing_context can only be used with multi-process loading "
                                 f"(num_workers > 0), but got num_workers={num_workers}")
            if isinstance(multiprocessing_context, str) and multiprocessing_context not in _START_METHODS:
                raise ValueError("multiprocessing_context option should specify a valid start method in "
                                 f"{list(_START_METHODS)!r}, but got multiprocessing_context={multiprocessing_context!r}")

        if isinstance(dataset, IterableDataset):
            self._dataset_kind = "iterable"
            if shuffle not in {False, None}:
                raise ValueError("DataLoader with IterableDataset: expected unspecified shuffle option, "
                                 f"but got shuffle={shuffle}")
            if sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified sampler option, "
                                 f"but got sampler={sampler}")
            if batch_sampler is not None:
                raise ValueError("DataLoader with IterableDataset: expected unspecified batch_sampler option, "
                                 f"but got batch_sampler={batch_sampler}")
        else:
            shuffle = bool(shuffle)
            self._dataset_kind = "map"
        if sampler is not None and shuffle:
            raise ValueError("sampler option is mutually exclusive with shuffle")
        if batch_sampler is not None:
            if batch_size != 1 or shuffle or sampler is not None or drop_last:
                raise ValueError("batch_sampler option is mutually exclusive with batch_size, shuffle, "
                                 "sampler, and drop_last")
            batch_size, drop_last = None, False
        elif batch_size is None and drop_last:
            raise ValueError("batch_size=None option disables auto-batching and is mutually exclusive with drop_last")

        if sampler is None:
            if self._dataset_kind == "iterable":
                sampler = _InfiniteConstantSampler()
            elif shuffle:
                sampler = RandomSampler(dataset, generator=generator)  # type: ignore[arg-type]
            else:
                sampler = SequentialSampler(dataset)  # type: ignore[arg-type]
        if batch_size is not None and batch_sampler is None:
            batch_sampler = BatchSampler(sampler, batch_size, drop_last)

        self.dataset = dataset
        self.num_workers = num_workers
        self.prefetch_factor = prefetch_factor
        self.pin_memory = pin_memory
        self.pin_memory_device = pin_memory_device
        self.timeout = timeout
        self.worker_init_fn = worker_init_fn
        self.multiprocessing_context = multiprocessing_context
        self.in_order = in_order
        self.batch_size = batch_size
        self.drop_last = drop_last
        self.sampler = sampler
        self.batch_sampler = batch_sampler
        self.generator = generator
        self.collate_fn = collate_fn if collate_fn is not None else (
            default_collate if self._auto_collation else default_convert)
        self.persistent_workers = persistent_workers
        self._IterableDataset_len_called: int | None = None
        self._iterator: _DataLoaderIter | None = None
        self.__initialized = True

    def __setattr__(self, attr: str, val: Any) -> None:
        if self.__dict__.get("_DataLoader__initialized") and attr in (
                "batch_size", "batch_sampler", "sampler", "drop_last", "dataset", "persistent_workers"):
            raise ValueError(f"{attr} attribute should not be set after {type(self).__name__} is initialized")
        super().__setattr__(attr, val)

    @property
    def _auto_collation(self) -> bool:
        return self.batch_sampler is not None

    @property
    def _index_sampler(self) -> Any:
        # what the iterator draws from: lists of indices (auto-collation) or single indices
        return self.batch_sampler if self._auto_collation else self.sampler

    def __iter__(self) -> "_DataLoaderIter":
        if self.persistent_workers and self.num_workers > 0:
            if self._iterator is None:
                self._iterator = _DataLoaderIter(self)
            else:
                self._iterator._reset(self)
            return self._iterator
        return _DataLoaderIter(self)

    def __len__(self) -> int:
        if self._dataset_kind == "iterable":
            length = self._IterableDataset_len_called = len(self.dataset)  # type: ignore[arg-type]
            if self.batch_size is not None:
                length = length // self.batch_size if self.drop_last else math.ceil(length / self.batch_size)
            return length
        return len(self._index_sampler)


class _Worker:
    """One simulated worker: its info, its random state and (iterable datasets) its iterator."""

    def __init__(self, loader: DataLoader, worker_id: int, base_seed: int) -> None:
        self.info = WorkerInfo(worker_id, loader.num_workers, base_seed + worker_id, loader.dataset)
        gen = edunn.Generator().manual_seed(self.info.seed)
        self.edunn_state = gen.get_state()
        self.py_state = random.Random(self.info.seed).getstate()
        self.dataset_iter: Iterator | None = None
        self.ended = False
        with self:
            if loader.worker_init_fn is not None:
                loader.worker_init_fn(worker_id)
            if loader._dataset_kind == "iterable":
                self.dataset_iter = iter(loader.dataset)  # type: ignore[call-overload]

    def __enter__(self) -> "_Worker":
        global _worker_info
        self._saved = (_worker_info, backend.default_generator().get_state(), random.getstate())
        _worker_info = self.info
        backend.default_generator().set_state(self.edunn_state)
        random.setstate(self.py_state)
        return self

    def __exit__(self, *exc: Any) -> None:
        global _worker_info
        self.edunn_state = backend.default_generator().get_state()
        self.py_state = random.getstate()
        _worker_info, main_state, py_state = self._saved
        backend.default_generator().set_state(main_state)
        random.setstate(py_state)


class _DataLoaderIter:
    """The iterator ``iter(loader)`` returns: fetch the next indices, read, collate."""

    def __init__(self, loader: DataLoader) -> None:
        self._loader = loader
        self._dataset = loader.dataset
        self._auto_collation = loader._auto_collation
        self._drop_last = loader.drop_last
        self._collate_fn = loader.collate_fn
        if loader.pin_memory and not edunn.cuda.is_available():
            warnings.warn("'pin_memory' argument is set as true but no accelerator is found, "
                          "then device pinned memory won't be used.", stacklevel=3)
        self._pin_memory = loader.pin_memory and edunn.cuda.is_available()
        self._workers: list[_Worker] = []
        # one draw from the loader's generator per iterator (PyTorch's _base_seed): worker seeds
        self._base_seed = int(edunn.empty((), dtype=edunn.int64).random_(generator=loader.generator).item())
        self._reset(loader, first_iter=True)

    def _reset(self, loader: DataLoader, first_iter: bool = False) -> None:
        self._sampler_iter = iter(loader._index_sampler)
        self._num_yielded = 0
        self._IterableDataset_len_called = loader._IterableDataset_len_called
        if loader.num_workers == 0:
            self._dataset_iter = iter(self._dataset) if loader._dataset_kind == "iterable" else None
        elif first_iter or not loader.persistent_workers:
            self._workers = [_Worker(loader, w, self._base_seed) for w in range(loader.num_workers)]
        elif loader._dataset_kind == "iterable":
            for w in self._workers:  # persistent workers restart their dataset iterator only
                with w:
                    w.dataset_iter, w.ended = iter(loader.dataset), False  # type: ignore[call-overload]
        self._next_worker = 0

    def __iter__(self) -> "_DataLoaderIter":
        return self

    def __len__(self) -> int:
        return len(self._loader)

    def _fetch(self, dataset_iter: Iterator | None, index: Any) -> Any:
        """PyTorch's fetchers: a map dataset is indexed (``__getitems__`` when it has one), an
        iterable one read ``len(index)`` times; a short last batch ends the pass under drop_last."""
        if dataset_iter is not None:
            if self._auto_collation:
                data = []
                for _ in index:
                    try:
                        data.append(next(dataset_iter))
                    except StopIteration:
                        break
                if len(data) == 0 or (self._drop_last and len(data) < len(index)):
                    raise StopIteration
            else:
                data = next(dataset_iter)
        elif self._auto_collation:
            getitems = getattr(self._dataset, "__getitems__", None)
            data = getitems(index) if callable(getitems) else [self._dataset[i] for i in index]
        else:
            data = self._dataset[index]
        return self._collate_fn(data)

    def _next_data(self) -> Any:
        if not self._workers:
            return self._fetch(self._dataset_iter, next(self._sampler_iter))
        while True:  # round-robin over the workers still running
            active = [w for w in self._workers if not w.ended]
            if not active:
                raise StopIteration
            index = next(self._sampler_iter)
            worker = self._workers[self._next_worker % len(self._workers)]
            while worker.ended:
                self._next_worker += 1
                worker = self._workers[self._next_worker % len(self._workers)]
            self._next_worker += 1
            try:
                with worker:
                    return self._fetch(worker.dataset_iter, index)
            except StopIteration:
                if worker.dataset_iter is None:  # a map dataset does not end by itself
                    raise
                worker.ended = True

    def __next__(self) -> Any:
        data = self._next_data()
        self._num_yielded += 1
        if (self._loader._dataset_kind == "iterable" and self._IterableDataset_len_called is not None
                and self._num_yielded > self._IterableDataset_len_called):
            warnings.warn(f"Length of IterableDataset {self._dataset} was reported to be "
                          f"{self._IterableDataset_len_called}(when accessing len(dataloader)), but "
                          f"{self._num_yielded} samples have been fetched. ", stacklevel=2)
        return _pin(data) if self._pin_memory else data
