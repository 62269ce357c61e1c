"""Lesson 18's data-parallel run: two (or more) processes, one model each, started by MPI.

    mpiexec -n 2 python -m edunn.lessons_support.ddp_demo        (or the path of this file)

Every process runs this whole file. They differ only in their *rank*, which decides which samples
they see; the averaged gradients, and so the weights, are the same everywhere. Rank 0 checks the
claims of the lesson against one process working on the whole batch, and prints:

1. ``DistributedDataParallel`` + ``DistributedSampler``: the gradient after ``backward`` is the
   gradient of the whole batch;
2. ``SyncBatchNorm``: statistics and gradients of the whole batch, where plain BatchNorm has
   each process's own;
3. three epochs of training on digits, which end with the same weights on every rank as one
   process trained on the same batches.

The data is scikit-learn's 8x8 digits; everything is seeded, and the printed numbers are rounded
so that the output is the same on every machine.
"""

from __future__ import annotations

import copy
import math

from sklearn.datasets import load_digits

import edunn
import edunn.distributed as dist
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.nn.parallel import DistributedDataParallel as DDP
from edunn.utils.data import DataLoader, DistributedSampler, TensorDataset


def say(*args: object) -> None:
    """Print on rank 0 only (every rank runs the same code; one copy of the output is enough)."""
    if dist.get_rank() == 0:
        print(*args, flush=True)


def below(value: float, bound: float = 1e-6) -> str:
    """A difference that is floating-point noise, printed the same on every machine."""
    return f"< 1e{round(math.log10(bound))}" if value < bound else f"{value:.4f}"


def max_difference(tensors_a: list, tensors_b: list) -> float:
    return max((a - b).abs().max().item() for a, b in zip(tensors_a, tensors_b))


def grads(model: nn.Module) -> list:
    return [p.grad for p in model.parameters()]


def digits_data() -> tuple:
    digits = load_digits()
    g = edunn.Generator().manual_seed(0)
    order = edunn.randperm(len(digits.target), generator=g)
    x = edunn.tensor(digits.data / 16.0, dtype=edunn.float32)[order]
    y = edunn.tensor(digits.target)[order]
    return x[:1000], y[:1000], x[1000:], y[1000:]


def mlp(batch_norm: bool) -> nn.Module:
    layers = [nn.Linear(64, 32)] + ([nn.BatchNorm1d(32)] if batch_norm else []) + [nn.ReLU(), nn.Linear(32, 10)]
    return nn.Sequential(*layers)


def gradients_of_the_whole_batch(x: edunn.Tensor, y: edunn.Tensor) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    edunn.manual_seed(1)
    model = mlp(batch_norm=False)
    one_process = copy.deepcopy(model)                  # the reference: one process, whole batch
    ddp = DDP(model)                                    # broadcasts rank 0's weights to every rank
    sampler = DistributedSampler(TensorDataset(x, y), num_replicas=world, rank=rank, shuffle=False)
    mine = list(sampler)
    everyone = [edunn.zeros(len(mine), dtype=edunn.int64) for _ in range(world)]
    dist.all_gather(everyone, edunn.tensor(mine))
    for r, indices in enumerate(everyone):
        say(f"rank {r} of {world}: samples {indices[:6].tolist()} ... ({len(indices)} of the {len(x)})")

    F.cross_entropy(ddp(x[mine]), y[mine]).backward()   # DDP all-reduces and averages the gradients
    F.cross_entropy(one_process(x), y).backward()
    local = copy.deepcopy(one_process)                  # this rank's shard alone, without DDP
    local.zero_grad()
    F.cross_entropy(local(x[mine]), y[mine]).backward()
    say("largest difference from one process on the whole batch:")
    say("  rank 0's own shard gradient, before averaging:", below(max_difference(grads(local), grads(one_process))))
    say("  DDP's gradient after backward (averaged):     ", below(max_difference(grads(model), grads(one_process))))


def sync_batch_norm(x: edunn.Tensor, y: edunn.Tensor) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    edunn.manual_seed(2)
    base = mlp(batch_norm=True)
    one_process = copy.deepcopy(base)
    plain = DDP(copy.deepcopy(base))                                  # BatchNorm on each shard
    synced = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(base)))
    mine = list(DistributedSampler(TensorDataset(x, y), num_replicas=world, rank=rank, shuffle=False))
    for model in (plain, synced):
        F.cross_entropy(model(x[mine]), y[mine]).backward()
    F.cross_entropy(one_process(x), y).backward()

    def stats(model: nn.Module) -> list:
        bn = [m for m in model.modules() if isinstance(m, nn.modules.batchnorm._BatchNorm)][0]
        return [bn.running_mean, bn.running_var]

    say("\nwith BatchNorm, largest difference from one process on the whole batch:")
    say("  BatchNorm,     running statistics:", below(max_difference(stats(plain), stats(one_process))),
        "  gradients:", below(max_difference(grads(plain), grads(one_process))))
    say("  SyncBatchNorm, running statistics:", below(max_difference(stats(synced), stats(one_process))),
        "  gradients:", below(max_difference(grads(synced), grads(one_process))))


def train(train_x: edunn.Tensor, train_y: edunn.Tensor, test_x: edunn.Tensor, test_y: edunn.Tensor,
          epochs: int = 3, batch_size: int = 32) -> None:
    rank, world = dist.get_rank(), dist.get_world_size()
    edunn.manual_seed(3)
    base = mlp(batch_norm=True)
    one_process = copy.deepcopy(base)
    model = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(copy.deepcopy(base)))
    optimizer = edunn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    dataset = TensorDataset(train_x, train_y)
    sampler = DistributedSampler(dataset, num_replicas=world, rank=rank, shuffle=True, seed=0)
    loader = DataLoader(dataset, batch_size=batch_size, sampler=sampler)
    say(f"\ntraining: {world} processes x batches of {batch_size} = global batches of {world * batch_size}")
    for epoch in range(epochs):
        sampler.set_epoch(epoch)                        # a new permutation, the same on every rank
        model.train()
        total = edunn.zeros(2)                          # (sum of losses, number of samples) on this rank
        for xb, yb in loader:
            loss = F.cross_entropy(model(xb), yb)
            optimizer.zero_grad()
            loss.backward()
            optimizer.step()
            total += edunn.stack([loss.detach() * len(yb), edunn.tensor(float(len(yb)))])   # no .item(): no sync
        dist.all_reduce(total)                          # summed over the ranks
        model.eval()
        with edunn.no_grad():
            accuracy = (model(test_x).argmax(1) == test_y).float().mean().item()
        say(f"  epoch {epoch}: training loss {total[0].item() / total[1].item():.4f}, test accuracy {accuracy:.3f}")

    weights = edunn.cat([p.detach().reshape(-1) for p in model.parameters()])
    everyone = [edunn.zeros_like(weights) for _ in range(world)]
    dist.all_gather(everyone, weights)
    say("largest difference between the ranks' weights:", below(max(
        (w - everyone[0]).abs().max().item() for w in everyone)))

    if rank == 0:                                       # the same batches, one process, no DDP
        optimizer = edunn.optim.SGD(one_process.parameters(), lr=0.1, momentum=0.9)
        for epoch in range(epochs):
            one_process.train()
            shards = []
            for r in range(world):
                s = DistributedSampler(dataset, num_replicas=world, rank=r, shuffle=True, seed=0)
                s.set_epoch(epoch)
                shards.append(list(s))
            for start in range(0, len(shards[0]), batch_size):
                batch = [i for indices in shards for i in indices[start:start + batch_size]]
                loss = F.cross_entropy(one_process(train_x[batch]), train_y[batch])
                optimizer.zero_grad()
                loss.backward()
                optimizer.step()
        difference = max_difference(list(model.module.parameters()), list(one_process.parameters()))
        say("largest difference from one process trained on the same global batches:", below(difference, 1e-4))


def main() -> None:
    dist.init_process_group("mpi")
    train_x, train_y, test_x, test_y = digits_data()
    gradients_of_the_whole_batch(train_x[:64], train_y[:64])
    sync_batch_norm(train_x[:64], train_y[:64])
    train(train_x, train_y, test_x, test_y)
    dist.barrier()
    dist.destroy_process_group()


if __name__ == "__main__":
    main()
