"""Samplers (lesson 19): which indices a ``DataLoader`` reads, and in what order.

A sampler is an iterable of dataset indices (``BatchSampler``: of lists of indices).  Laid out as
``torch/utils/data/sampler.py``, with the same arguments, lengths and errors.  The random ones
draw from an ``edunn.Generator``; with ``generator=None`` each pass draws a fresh seed from the
default generator (so ``edunn.manual_seed`` makes a run reproducible), exactly as PyTorch does.
Our random streams differ from PyTorch's, so the *orders* differ from torch's for the same seed;
their distributions are the same.
"""
from __future__ import annotations

import itertools
from collections.abc import Iterable, Iterator, Sequence, Sized
from typing import Any, Generic, TypeVar

import edunn

__all__ = ["BatchSampler", "RandomSampler", "Sampler", "SequentialSampler",
           "SubsetRandomSampler", "WeightedRandomSampler"]


_T_co = TypeVar("_T_co", covariant=True)


class Sampler(Generic[_T_co]):
    """Base class: subclasses give ``__iter__`` (indices, or lists of indices) and may give
    ``__len__`` (``len(DataLoader)`` needs it).  ``Sampler[int]`` may be written in type hints."""

    def __iter__(self) -> Iterator:
        raise NotImplementedError(f"{type(self).__name__} must define __iter__")


class SequentialSampler(Sampler):
    """``0, 1, ..., len(data_source) - 1``."""

    def __init__(self, data_source: Sized) -> None:
        self.data_source = data_source

    def __iter__(self) -> Iterator[int]:
        return iter(range(len(self.data_source)))

    def __len__(self) -> int:
        return len(self.data_source)


def _fresh_generator(generator: Any) -> Any:
    """The generator to draw one pass from: the given one, or one seeded from the default
    generator (so two passes without a generator differ, and ``manual_seed`` fixes both)."""
    if generator is not None:
        return generator
    seed = int(edunn.empty((), dtype=edunn.int64).random_().item())
    return edunn.Generator().manual_seed(seed)


class RandomSampler(Sampler):
    """Shuffled indices: a permutation per ``len(data_source)`` samples (without replacement), or
    ``num_samples`` uniform draws from ``[0, n)`` (with replacement)."""

    def __init__(self, data_source: Sized, replacement: bool = False, num_samples: int | None = None,
                 generator: Any = None) -> None:
        self.data_source = data_source
        self.replacement = replacement
        self._num_samples = num_samples
        self.generator = generator
        if not isinstance(self.replacement, bool):
            raise TypeError(f"replacement should be a boolean value, but got replacement={self.replacement}")
        if not isinstance(self.num_samples, int) or isinstance(self.num_samples, bool) or self.num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={self.num_samples}")

    @property
    def num_samples(self) -> int:
        # read len(data_source) lazily: the dataset may change size after the sampler is built
        return len(self.data_source) if self._num_samples is None else self._num_samples

    def __iter__(self) -> Iterator[int]:
        n = len(self.data_source)
        gen = _fresh_generator(self.generator)
        if self.replacement:
            # in chunks of 32, as PyTorch, so a long stream does not build one huge tensor
            for _ in range(self.num_samples // 32):
                yield from edunn.randint(high=n, size=(32,), dtype=edunn.int64, generator=gen).tolist()
            yield from edunn.randint(high=n, size=(self.num_samples % 32,), dtype=edunn.int64,
                                     generator=gen).tolist()
        else:
            for _ in range(self.num_samples // n):
                yield from edunn.randperm(n, generator=gen).tolist()
            yield from edunn.randperm(n, generator=gen).tolist()[: self.num_samples % n]

    def __len__(self) -> int:
        return self.num_samples


class SubsetRandomSampler(Sampler):
    """The given ``indices`` in a random order (a fresh permutation each pass)."""

    def __init__(self, indices: Sequence[int], generator: Any = None) -> None:
        self.indices = indices
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        for i in edunn.randperm(len(self.indices), generator=self.generator).tolist():
            yield self.indices[i]

    def __len__(self) -> int:
        return len(self.indices)


class WeightedRandomSampler(Sampler):
    """``num_samples`` indices drawn with probabilities ``weights / weights.sum()``
    (``edunn.multinomial``); ``replacement=False`` draws each index at most once."""

    def __init__(self, weights: Sequence[float], num_samples: int, replacement: bool = True,
                 generator: Any = None) -> None:
        if not isinstance(num_samples, int) or isinstance(num_samples, bool) or num_samples <= 0:
            raise ValueError(f"num_samples should be a positive integer value, but got num_samples={num_samples}")
        if not isinstance(replacement, bool):
            raise ValueError(f"replacement should be a boolean value, but got replacement={replacement}")
        weights_tensor = edunn.as_tensor(weights, dtype=edunn.float64)
        if len(weights_tensor.shape) != 1:
            raise ValueError("weights should be a 1d sequence but given weights have shape "
                             f"{tuple(weights_tensor.shape)}")
        self.weights = weights_tensor
        self.num_samples = num_samples
        self.replacement = replacement
        self.generator = generator

    def __iter__(self) -> Iterator[int]:
        rand_tensor = edunn.multinomial(self.weights, self.num_samples, self.replacement, generator=self.generator)
        yield from iter(rand_tensor.tolist())

    def __len__(self) -> int:
        return self.num_samples


class BatchSampler(Sampler):
    """Groups another sampler's indices into lists of ``batch_size``; the last, shorter list is
    kept unless ``drop_last``.  ``len = n // batch_size`` (drop_last) or ``ceil(n / batch_size)``."""

    def __init__(self, sampler: Sampler | Iterable[int], batch_size: int, drop_last: bool) -> None:
        if not isinstance(batch_size, int) or isinstance(batch_size, bool) or batch_size <= 0:
            raise ValueError(f"batch_size should be a positive integer value, but got batch_size={batch_size}")
        if not isinstance(drop_last, bool):
            raise ValueError(f"drop_last should be a boolean value, but got drop_last={drop_last}")
        self.sampler = sampler
        self.batch_size = batch_size
        self.drop_last = drop_last

    def __iter__(self) -> Iterator[list[int]]:
        sampler_iter = iter(self.sampler)
        if self.drop_last:
            # zip of batch_size references to one iterator stops at the first incomplete batch
            yield from (list(batch) for batch in zip(*[sampler_iter] * self.batch_size))
        else:
            batch = list(itertools.islice(sampler_iter, self.batch_size))
            while batch:
                yield batch
                batch = list(itertools.islice(sampler_iter, self.batch_size))

    def __len__(self) -> int:
        if self.drop_last:
            return len(self.sampler) // self.batch_size  # type: ignore[arg-type]
        return (len(self.sampler) + self.batch_size - 1) // self.batch_size  # type: ignore[arg-type]
