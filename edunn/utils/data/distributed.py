"""``DistributedSampler``: each process of a data-parallel job reads its own shard (lesson 18).

With ``p`` processes, rank ``r`` takes the indices ``r, r+p, r+2p, ...`` of one (optionally
shuffled) ordering of the dataset that every rank computes identically -- same seed, same epoch
-- so the shards are disjoint and together cover the dataset.  When ``len(dataset)`` is not a
multiple of ``p`` the list is padded by repeating its first indices (every rank then gets the same
number of batches, which the all-reduces need), or with ``drop_last=True`` its tail is dropped.

Difference from PyTorch: with ``shuffle=True`` the permutation comes from edunn's generator seeded
with ``seed + epoch``, whose random stream differs from PyTorch's; the partition rules (padding,
strides, lengths) are PyTorch's, and without shuffling the indices are exactly PyTorch's.
"""
from __future__ import annotations

import math
from typing import Any, Iterator

import edunn

from .sampler import Sampler

__all__ = ["DistributedSampler"]


class DistributedSampler(Sampler):
    """Sampler that restricts data loading to a subset of the dataset, one per process.

    ``num_replicas`` and ``rank`` default to the default process group's world size and rank.
    Call ``set_epoch(epoch)`` at the start of every epoch, before iterating the ``DataLoader``,
    so that each epoch uses another ordering (the same one on every rank).
    ``len(sampler)`` is ``ceil(n / p)``, or ``ceil((n - p) / p)`` with ``drop_last`` when ``p``
    does not divide ``n``."""

    def __init__(self, dataset: Any, num_replicas: int | None = None, rank: int | None = None,
                 shuffle: bool = True, seed: int = 0, drop_last: bool = False) -> None:
        from ... import distributed as dist
        if num_replicas is None:
            num_replicas = dist.get_world_size()
        if rank is None:
            rank = dist.get_rank()
        if not isinstance(num_replicas, int) or num_replicas < 1:
            raise ValueError(f"num_replicas should be a positive integer, but got num_replicas={num_replicas}")
        if rank >= num_replicas or rank < 0:
            raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {num_replicas - 1}]")
        self.dataset = dataset
        self.num_replicas = num_replicas
        self.rank = rank
        self.epoch = 0
        self.drop_last = drop_last
        n = len(dataset)
        if self.drop_last and n % self.num_replicas != 0:
            # drop the tail so that every rank gets the same number of samples
            self.num_samples = math.ceil((n - self.num_replicas) / self.num_replicas)
        else:
            self.num_samples = math.ceil(n / self.num_replicas)
        self.total_size = self.num_samples * self.num_replicas
        self.shuffle = shuffle
        self.seed = seed

    def __iter__(self) -> Iterator[int]:
        n = len(self.dataset)
        if self.shuffle:
            g = edunn.Generator()
            g.manual_seed(self.seed + self.epoch)   # the same permutation on every rank
            indices = edunn.randperm(n, generator=g).tolist()
        else:
            indices = list(range(n))
        if not self.drop_last:
            padding_size = self.total_size - len(indices)
            if padding_size <= len(indices):
                indices += indices[:padding_size]
            else:
                indices += (indices * math.ceil(padding_size / len(indices)))[:padding_size]
        else:
            indices = indices[:self.total_size]
        if len(indices) != self.total_size:
            raise AssertionError(f"Number of indices ({len(indices)}) does not match total_size "
                                 f"({self.total_size})")
        indices = indices[self.rank:self.total_size:self.num_replicas]   # every p-th, from rank
        if len(indices) != self.num_samples:
            raise AssertionError(f"Number of subsampled indices ({len(indices)}) does not match "
                                 f"num_samples ({self.num_samples})")
        return iter(indices)

    def __len__(self) -> int:
        return self.num_samples

    def set_epoch(self, epoch: int) -> None:
        """Use ordering number ``epoch`` on the next pass (with ``shuffle=True``)."""
        self.epoch = epoch
