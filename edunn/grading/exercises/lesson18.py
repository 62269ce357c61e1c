"""Graders of lesson 18 (GPUs and data parallelism): the cost of a matrix product (the numbers
of a roofline), a batch cut into shards as ``DistributedSampler`` cuts a dataset, gradients
averaged over workers, and a ring all-reduce on a simulated ring of workers.

The references live here (there is no library function with these exact signatures):
``shard`` is ``edunn.utils.data.DistributedSampler`` with ``shuffle=False`` applied to one batch,
``average_gradients`` is what ``DistributedDataParallel`` does after its all-reduce, and
``ring_all_reduce`` is the algorithm NCCL (and MPI's large-message all-reduce) runs on a ring.
The usual mistakes are replayed so that the feedback can name them::

    you cut the batch into contiguous blocks; DistributedSampler deals the samples out like cards
    (rank, rank + world_size, ...): shard(batch of 10, rank=1, world_size=4): ...
"""

from __future__ import annotations

import math
from typing import Any

from edunn.grading import Fail, exercise


# ---------------------------------------------------------------------------- references

def matmul_cost(m: int, k: int, n: int, itemsize: int = 4) -> tuple[int, int]:
    """``(flops, bytes)`` of ``(m, k) @ (k, n)``: ``2 m k n`` floating-point operations (one
    multiply and one add per term of each dot product) and ``(m k + k n + m n) * itemsize``
    bytes of memory traffic at the least (both inputs read once, the output written once)."""
    return 2 * m * k * n, (m * k + k * n + m * n) * itemsize


def shard_indices(length: int, rank: int, world_size: int) -> list[int]:
    """The indices of rank ``rank``'s shard, as ``DistributedSampler(shuffle=False, drop_last=False)``:
    pad the indices by wrapping around to a multiple of ``world_size``, then deal them out."""
    if world_size < 1:
        raise ValueError(f"world_size should be a positive int, got {world_size}")
    if rank < 0 or rank >= world_size:
        raise ValueError(f"Invalid rank {rank}, rank should be in the interval [0, {world_size - 1}]")
    per_rank = math.ceil(length / world_size)
    total = per_rank * world_size
    indices = list(range(length))
    padding = total - length
    indices += (indices * math.ceil(padding / length))[:padding] if padding else []
    return indices[rank:total:world_size]


def shard(batch: Any, rank: int, world_size: int) -> Any:
    """Rank ``rank``'s part of ``batch`` (a tensor, samples along dimension 0): every
    ``world_size``-th sample from ``rank`` on, after padding the batch with its own first samples
    so that every rank gets ``ceil(len(batch) / world_size)`` of them (DistributedSampler's rule)."""
    return batch[shard_indices(len(batch), rank, world_size)]


def average_gradients(grads_per_worker: list, counts: list | None = None) -> list:
    """``grads_per_worker[w][p]`` is worker ``w``'s gradient of parameter ``p``; the result's
    ``[p]`` is their average over workers, weighted by the workers' sample ``counts`` when given:
    ``sum_w counts[w] * g[w][p] / sum_w counts[w]`` (the gradient of the mean loss over the union
    of the shards)."""
    if counts is None:
        counts = [1] * len(grads_per_worker)
    total = sum(counts)
    return [sum(c * grads[p] for c, grads in zip(counts, grads_per_worker)) / total
            for p in range(len(grads_per_worker[0]))]


def ring_all_reduce(tensors: list, ring: Any) -> list:
    """Every worker ``i`` holds ``tensors[i]`` (1-D, same length); returns, for every worker, the
    sum of all of them, communicating only through ``ring.send_right``: a reduce-scatter
    (``n - 1`` steps, each worker forwarding a partial sum of one chunk and adding the one it
    receives) then an all-gather (``n - 1`` steps, the finished chunks passed round)."""
    import edunn
    n = len(tensors)
    chunks = [list(t.tensor_split(n)) for t in tensors]        # chunk c of worker i: chunks[i][c]
    for step in range(n - 1):                                   # reduce-scatter
        received = ring.send_right([chunks[i][(i - step) % n] for i in range(n)])
        for i in range(n):
            c = (i - 1 - step) % n
            chunks[i][c] = chunks[i][c] + received[i]
    # worker i now holds the complete sum of chunk (i + 1) % n
    for step in range(n - 1):                                   # all-gather
        received = ring.send_right([chunks[i][(i + 1 - step) % n] for i in range(n)])
        for i in range(n):
            chunks[i][(i - step) % n] = received[i]
    return [edunn.cat(c) for c in chunks]


# ---------------------------------------------------------------------------- matmul_cost

@exercise("18.matmul_cost", points=2, reference=matmul_cost,
          title="the floating-point operations and bytes of a matrix product")
def grade_matmul_cost(student, t):
    cases = [(4, 5, 6, 4), (1, 1, 1, 4), (128, 64, 32, 2), (4096, 4096, 4096, 4), (3, 7, 1, 8)]
    for m, k, n, itemsize in cases:
        with t.group(f"matmul_cost({m}, {k}, {n}, itemsize={itemsize})"):
            got = student(m, k, n, itemsize)
            if not isinstance(got, (tuple, list)) or len(got) != 2:
                raise Fail(f"matmul_cost should return a pair (flops, bytes), got {got!r}")
            flops, nbytes = got
            t.close(flops, 2 * m * k * n, "the flops",
                    mistakes={"each term of a dot product is a multiply AND an add: 2 m k n flops": m * k * n,
                              "a dot product of length k has k multiplies and k - 1 adds, but the "
                              "convention (and a fused multiply-add) counts 2 k": m * n * (2 * k - 1)},
                    hint="(m, k) @ (k, n) has m n dot products of length k")
            elems = m * k + k * n + m * n
            t.close(nbytes, elems * itemsize, "the bytes",
                    mistakes={"the output is written to memory too: add m n elements": (m * k + k * n) * itemsize,
                              "that is a number of elements; multiply by itemsize for bytes": elems,
                              "each input is read once, not once per output element":
                                  (2 * m * k * n + m * n) * itemsize},
                    hint="read A (m k elements) and B (k n), write C (m n), each itemsize bytes")


# ---------------------------------------------------------------------------- shard

def _contiguous(length: int, rank: int, world_size: int) -> list[int]:
    per_rank = math.ceil(length / world_size)
    idx = list(range(length))
    idx += (idx * math.ceil(per_rank * world_size / length))[:per_rank * world_size - length]
    return idx[rank * per_rank:(rank + 1) * per_rank]


def _unpadded(length: int, rank: int, world_size: int) -> list[int]:
    return list(range(length))[rank::world_size]


def _pad_last(length: int, rank: int, world_size: int) -> list[int]:
    total = math.ceil(length / world_size) * world_size
    idx = list(range(length)) + [length - 1] * (total - length)
    return idx[rank::world_size]


def _dropped(length: int, rank: int, world_size: int) -> list[int]:
    total = (length // world_size) * world_size
    return list(range(total))[rank:total:world_size]


def _numbered_batch(t, length: int) -> Any:
    """A (length, 2) float batch whose row j is (j, -j): a shard shows which samples it took."""
    return t.tensor([[float(j), -float(j)] for j in range(length)])


@exercise("18.shard", points=3, reference=shard,
          title="a batch dealt out to the ranks, padded as DistributedSampler pads")
def grade_shard(student, t):
    cases = [("samples divide evenly", 8, 4), ("padding from the start of the batch", 10, 4),
             ("one sample, three ranks", 1, 3), ("padding longer than the batch", 2, 5),
             ("one rank gets everything", 7, 1)]
    for title, length, world_size in cases:
        with t.group(f"{title}: a batch of {length}, world_size={world_size}"):
            batch = _numbered_batch(t, length)
            seen = []
            for rank in range(world_size):
                got = student(batch, rank, world_size)
                if not hasattr(got, "shape"):
                    raise Fail(f"shard(batch, {rank}, {world_size}) should return a tensor, got {type(got).__name__}")
                what = f"the samples of shard(batch of {length}, rank={rank}, world_size={world_size})"
                want = shard_indices(length, rank, world_size)
                mistakes = {
                    "you cut the batch into contiguous blocks; DistributedSampler deals the samples out like "
                    "cards (rank, rank + world_size, ...)": [[j, -j] for j in _contiguous(length, rank, world_size)],
                    "the shards are unequal: pad the batch with its own first samples until its length is a "
                    "multiple of world_size": [[j, -j] for j in _unpadded(length, rank, world_size)],
                    "you padded with the last sample; DistributedSampler wraps around and repeats the first "
                    "ones": [[j, -j] for j in _pad_last(length, rank, world_size)],
                    "you dropped the remainder (drop_last=True); the default pads instead":
                        [[j, -j] for j in _dropped(length, rank, world_size)],
                }
                if t.close(got, [[float(j), -float(j)] for j in want], what, mistakes=mistakes,
                           hint="every rank gets ceil(len(batch) / world_size) samples, every world_size-th "
                                "one of the padded batch from position rank on"):
                    seen += want
            if seen:
                t.equal(sorted(set(seen)), list(range(length)), "the samples covered by all the ranks together")

    with t.group("a rank outside [0, world_size) is an error"):
        t.raises(ValueError, student, _numbered_batch(t, 6), 3, 3, what="shard(batch, rank=3, world_size=3)")
        t.raises(ValueError, student, _numbered_batch(t, 6), -1, 3, what="shard(batch, rank=-1, world_size=3)")


# ---------------------------------------------------------------------------- average_gradients

def _worker_grads(t, workers: int, shapes: list) -> list:
    return [[t.randn(*shape) for shape in shapes] for _ in range(workers)]


def _flat_list(tensors: Any) -> list:
    if not isinstance(tensors, (list, tuple)):
        raise Fail(f"average_gradients should return a list of tensors (one per parameter), "
                   f"got {type(tensors).__name__}")
    return [v for g in tensors for v in g.reshape(-1).tolist()]


@exercise("18.average_gradients", points=2, reference=average_gradients,
          title="gradients averaged over workers, weighted by their sample counts")
def grade_average_gradients(student, t):
    shapes = [(3, 2), (2,), (1, 4)]
    with t.group("three workers, equal shards"):
        grads = _worker_grads(t, 3, shapes)
        got = student(grads)
        want = average_gradients(grads)
        t.equal(len(got), len(shapes), "the number of averaged gradients (one per parameter)",
                hint="average over the workers, parameter by parameter")
        t.close(_flat_list(got), _flat_list(want), "the averaged gradients of 3 workers",
                mistakes={"that is the sum over the workers; divide by the number of workers":
                              _flat_list([3 * g for g in want])},
                hint="[sum(g[p] for g in grads_per_worker) / len(grads_per_worker) for each parameter p]")
        for p, shape in enumerate(shapes):
            t.equal(tuple(got[p].shape), shape, f"the shape of the averaged gradient of parameter {p}")
    with t.group("unequal shards, counts=[5, 1, 2]"):
        grads = _worker_grads(t, 3, shapes)
        counts = [5, 1, 2]
        got = student(grads, counts)
        t.close(_flat_list(got), _flat_list(average_gradients(grads, counts)),
                "the averaged gradients with counts [5, 1, 2]",
                mistakes={"you ignored counts: a worker with 5 samples must weigh 5 times as much as one with 1":
                              _flat_list(average_gradients(grads)),
                          "weighted by counts but divided by the number of workers instead of the total count":
                              _flat_list([g * sum(counts) / len(counts) for g in average_gradients(grads, counts)])},
                hint="sum(c * g[p] for c, g in zip(counts, grads_per_worker)) / sum(counts)")
    with t.group("one worker: its own gradients"):
        grads = _worker_grads(t, 1, shapes)
        t.close(_flat_list(student(grads)), _flat_list(grads[0]), "the average over a single worker")
    with t.group("the inputs are left as they were"):
        grads = _worker_grads(t, 2, shapes)
        before = [_flat_list(g) for g in grads]
        student(grads, [2, 3])
        t.close([_flat_list(g) for g in grads], before, "the workers' gradients after average_gradients",
                hint="build new tensors (g1 + g2) instead of adding in place (g1 += g2)")


# ---------------------------------------------------------------------------- ring_all_reduce

def _ring(world_size: int) -> Any:
    from edunn.lessons_support.ring import SimulatedRing
    return SimulatedRing(world_size)


def _naive_steps(world_size: int) -> int:
    return world_size - 1


@exercise("18.ring_all_reduce", points=5, reference=ring_all_reduce,
          title="ring all-reduce: reduce-scatter, then all-gather, 2(n - 1) steps")
def grade_ring_all_reduce(student, t):
    cases = [("two workers", 2, 6), ("four workers, 12 elements", 4, 12),
             ("four workers, 10 elements (uneven chunks)", 4, 10), ("three workers, 7 elements", 3, 7),
             ("five workers, 23 elements", 5, 23)]
    for title, n, length in cases:
        with t.group(title):
            tensors = [t.randn(length) for _ in range(n)]
            before = [x.tolist() for x in tensors]
            total = [sum(col) for col in zip(*before)]
            ring = _ring(n)
            got = student(tensors, ring)
            if not isinstance(got, (list, tuple)) or len(got) != n:
                raise Fail(f"ring_all_reduce should return a list of {n} tensors (one per worker), got "
                           f"{type(got).__name__}" + (f" of length {len(got)}" if isinstance(got, (list, tuple)) else ""))
            if ring.steps == 0:
                raise Fail("nothing went through the ring: the workers must exchange chunks with "
                           "ring.send_right(payloads), one step at a time")
            for i, result in enumerate(got):
                t.close(result, total, f"worker {i}'s result (the sum of the {n} tensors)",
                        mistakes={"the worker got its own tensor back, nothing added to it": before[i]},
                        hint="reduce-scatter: at step s worker i sends chunk (i - s) % n and adds what it "
                             "receives into chunk (i - 1 - s) % n; all-gather: worker i sends chunk "
                             "(i + 1 - s) % n and stores what it receives as chunk (i - s) % n")
            t.close([x.tolist() for x in tensors], before, "the input tensors after ring_all_reduce",
                    hint="build new chunks (a + b) rather than adding in place into the inputs")
            naive = n * (n - 1) * length
            if ring.steps == _naive_steps(n) and sum(ring.sent) == naive:
                raise Fail(f"you passed whole tensors round the ring: {ring.steps} steps, {sum(ring.sent)} "
                           f"elements sent in all; a ring all-reduce sends chunks of length/n, "
                           f"{2 * (n - 1)} steps and {2 * (n - 1) * length} elements in all")
            t.equal(ring.steps, 2 * (n - 1), f"the number of ring steps for {n} workers",
                    hint="n - 1 steps of reduce-scatter, then n - 1 of all-gather")
            t.equal(sum(ring.sent), 2 * (n - 1) * length,
                    f"the elements sent by all the workers together ({n} workers, tensors of {length})",
                    hint="each step, every worker sends one chunk, and the n chunks sent in a step are the "
                         "n different chunks: length elements per step")
    with t.group("a single worker has nothing to exchange"):
        x = t.randn(5)
        ring = _ring(1)
        got = student([x], ring)
        t.close(got[0], x.tolist(), "the result of one worker")
        t.equal(ring.steps, 0, "the ring steps for a single worker")
