"""DistributedDataParallel and DistributedSampler on 2 MPI processes.

The reference for every gradient is one process on the combined batch: an ordinary edunn model
with the same weights (computed on each rank, it needs no communication) and PyTorch's."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _checks import TIMEOUT, run_checks  # noqa: E402

import numpy as np  # noqa: E402
import torch  # noqa: E402

import edunn  # noqa: E402
import edunn.distributed as dist  # noqa: E402
from edunn import nn  # noqa: E402
from edunn.nn.parallel import DistributedDataParallel as DDP  # noqa: E402
from edunn.utils.data import DataLoader, DistributedSampler, TensorDataset  # noqa: E402

dist.init_process_group("mpi", timeout=TIMEOUT)
R, P = dist.get_rank(), dist.get_world_size()
RNG = np.random.default_rng(1234)
X = RNG.normal(size=(8, 5)).astype(np.float32)
Y = RNG.normal(size=(8, 3)).astype(np.float32)


def shard(a, rank=None):
    rank = R if rank is None else rank
    n = len(a) // P
    return edunn.tensor(a[rank * n:(rank + 1) * n])


def mlp(seed):
    edunn.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))


def torch_copy(model):
    t = torch.nn.Sequential(torch.nn.Linear(5, 16), torch.nn.Tanh(), torch.nn.Linear(16, 3))
    t.load_state_dict({k: torch.tensor(v.numpy()) for k, v in model.state_dict().items()})
    return t


def loss_fn(out, y):
    return ((out - y) ** 2).mean()


def same_on_every_rank(arrays):
    everyone = [None] * P
    dist.all_gather_object(everyone, [np.asarray(a) for a in arrays])
    for theirs in everyone[1:]:
        for a, b in zip(everyone[0], theirs):
            np.testing.assert_array_equal(a, b)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


def check_parameters_broadcast_from_rank_0():
    model = mlp(seed=100 + R)              # different on each rank before DDP
    DDP(model)
    same_on_every_rank([p.detach().numpy() for p in model.parameters()])
    rank0 = mlp(seed=100)
    for a, b in zip(model.parameters(), rank0.parameters()):
        close(a.detach().numpy(), b.detach().numpy(), 0)


def check_gradients_equal_one_process_on_the_combined_batch():
    model = mlp(seed=1)
    ddp = DDP(model)
    loss_fn(ddp(shard(X)), shard(Y)).backward()
    ref = mlp(seed=1)
    loss_fn(ref(edunn.tensor(X)), edunn.tensor(Y)).backward()
    tmodel = torch_copy(ref)
    torch.nn.functional.mse_loss(tmodel(torch.tensor(X)), torch.tensor(Y)).backward()
    for p, q, t in zip(model.parameters(), ref.parameters(), tmodel.parameters()):
        close(p.grad.numpy(), q.grad.numpy())
        close(p.grad.numpy(), t.grad.numpy())


def check_sgd_steps_keep_replicas_identical():
    model, ref = mlp(seed=2), mlp(seed=2)
    ddp = DDP(model)
    opt = edunn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)
    ref_opt = edunn.optim.SGD(ref.parameters(), lr=0.1, momentum=0.9)
    tmodel = torch_copy(ref)
    topt = torch.optim.SGD(tmodel.parameters(), lr=0.1, momentum=0.9)
    for step in range(5):
        xs = X * (1 + 0.1 * step)
        opt.zero_grad()
        loss_fn(ddp(shard(xs)), shard(Y)).backward()
        opt.step()
        ref_opt.zero_grad()
        loss_fn(ref(edunn.tensor(xs)), edunn.tensor(Y)).backward()
        ref_opt.step()
        topt.zero_grad()
        torch.nn.functional.mse_loss(tmodel(torch.tensor(xs)), torch.tensor(Y)).backward()
        topt.step()
    same_on_every_rank([p.detach().numpy() for p in model.parameters()])
    for p, q, t in zip(model.parameters(), ref.parameters(), tmodel.parameters()):
        close(p.detach().numpy(), q.detach().numpy())
        close(p.detach().numpy(), t.detach().numpy())


def check_no_sync_accumulates_locally_then_reduces():
    model = mlp(seed=3)
    ddp = DDP(model)
    halves = [X[:, :] * 0.5, X]
    with ddp.no_sync():
        loss_fn(ddp(shard(halves[0])), shard(Y)).backward()
    local = [p.grad.numpy().copy() for p in model.parameters()]
    everyone = [None] * P
    dist.all_gather_object(everyone, local)
    assert any(not np.allclose(a, b) for a, b in zip(everyone[0], everyone[1])), "no_sync reduced"
    loss_fn(ddp(shard(halves[1])), shard(Y)).backward()
    ref = mlp(seed=3)
    for h in halves:
        loss_fn(ref(edunn.tensor(h)), edunn.tensor(Y)).backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        close(p.grad.numpy(), q.grad.numpy())


def check_small_buckets_one_per_parameter():
    model = mlp(seed=4)
    ddp = DDP(model, bucket_cap_mb=1e-6)
    assert len(ddp._buckets) == 4
    assert [b.indices for b in ddp._buckets] == [[3], [2], [1], [0]]   # reverse parameter order
    big = DDP(mlp(seed=4))
    assert len(big._buckets) == 1
    loss_fn(ddp(shard(X)), shard(Y)).backward()
    ref = mlp(seed=4)
    loss_fn(ref(edunn.tensor(X)), edunn.tensor(Y)).backward()
    for p, q in zip(model.parameters(), ref.parameters()):
        close(p.grad.numpy(), q.grad.numpy())


class Branchy(nn.Module):
    """``a`` always used, ``b`` only on rank 0's data path, ``never`` never used."""

    def __init__(self):
        super().__init__()
        edunn.manual_seed(5)
        self.a = nn.Linear(5, 3)
        self.b = nn.Linear(5, 3)
        self.never = nn.Linear(5, 3)

    def forward(self, x, use_b):
        return self.a(x) + (self.b(x) if use_b else 0.0)


def check_find_unused_parameters():
    model = Branchy()
    ddp = DDP(model, find_unused_parameters=True)
    for _ in range(2):   # twice: the second iteration must not be blocked by the first
        model.zero_grad()
        loss_fn(ddp(shard(X), use_b=(R == 0)), shard(Y)).backward()
    ref = Branchy()
    loss0 = loss_fn(ref(shard(X, 0), True), shard(Y, 0))
    loss1 = loss_fn(ref(shard(X, 1), False), shard(Y, 1))
    ((loss0 + loss1) / 2).backward()
    close(model.a.weight.grad.numpy(), ref.a.weight.grad.numpy())
    close(model.b.weight.grad.numpy(), ref.b.weight.grad.numpy())   # averaged: rank 1 gave zeros
    assert model.never.weight.grad is None and model.never.bias.grad is None


def check_unused_parameter_without_find_unused_raises():
    model = Branchy()
    ddp = DDP(model)
    loss_fn(ddp(shard(X), use_b=False), shard(Y)).backward()
    try:
        ddp(shard(X), use_b=False)
    except RuntimeError as e:
        assert "Expected to have finished reduction" in str(e) and "find_unused_parameters=True" in str(e)
        assert "b.weight" in str(e) and "never.weight" in str(e)
    else:
        raise AssertionError("no error for an unused parameter")


def check_gradient_as_bucket_view():
    model = mlp(seed=6)
    ddp = DDP(model, gradient_as_bucket_view=True)
    ref = mlp(seed=6)
    for _ in range(2):      # the second backward accumulates into the views
        loss_fn(ddp(shard(X)), shard(Y)).backward()
        loss_fn(ref(edunn.tensor(X)), edunn.tensor(Y)).backward()
    flat = ddp._buckets[0].buffer
    for p, q in zip(model.parameters(), ref.parameters()):
        close(p.grad.numpy(), q.grad.numpy())
        assert p.grad._data.base is flat


def check_buffers_broadcast_before_forward():
    edunn.manual_seed(7)
    model = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4))
    ddp = DDP(model)
    bn = model[1]
    ddp(shard(X)).sum().backward()          # each rank updates running stats on its shard
    after_first = [None] * P
    dist.all_gather_object(after_first, bn.running_mean.numpy().copy())
    assert not np.allclose(after_first[0], after_first[1])
    ddp(shard(X)).sum().backward()          # starts by broadcasting rank 0's buffers
    with edunn.no_grad():
        batch_mean = model[0](shard(X)).numpy().mean(axis=0)
    close(bn.running_mean.numpy(), 0.9 * after_first[0] + 0.1 * batch_mean)
    ddp.eval()
    with edunn.no_grad():
        ddp(shard(X))                       # the buffers are broadcast again: rank 0's everywhere
    same_on_every_rank([bn.running_mean.numpy(), bn.running_var.numpy(), bn.num_batches_tracked.numpy()])
    assert bn.num_batches_tracked.item() == 2


def check_state_dict_keys_and_module():
    model = mlp(seed=8)
    ddp = DDP(model)
    assert ddp.module is model
    assert list(ddp.state_dict()) == ["module." + k for k in model.state_dict()]


class Tied(nn.Module):
    def __init__(self):
        super().__init__()
        edunn.manual_seed(9)
        self.lin = nn.Linear(5, 5)
        self.head = nn.Linear(5, 3)

    def forward(self, x):
        return self.head(self.lin(self.lin(x).tanh()))   # self.lin used twice


def check_parameter_used_twice():
    model = Tied()
    ddp = DDP(model, bucket_cap_mb=1e-6)
    ref = Tied()
    for _ in range(3):
        model.zero_grad()
        ref.zero_grad()
        loss_fn(ddp(shard(X)), shard(Y)).backward()
        loss_fn(ref(edunn.tensor(X)), edunn.tensor(Y)).backward()
        for p, q in zip(model.parameters(), ref.parameters()):
            close(p.grad.numpy(), q.grad.numpy())


def check_join_with_uneven_inputs():
    model, ref = mlp(seed=10), mlp(seed=10)
    ddp = DDP(model)
    opt = edunn.optim.SGD(model.parameters(), lr=0.1)
    ref_opt = edunn.optim.SGD(ref.parameters(), lr=0.1)
    batches = 3 if R == 0 else 1          # rank 1 runs out after one batch
    with ddp.join():
        for step in range(batches):
            opt.zero_grad()
            loss_fn(ddp(shard(X * (step + 1))), shard(Y)).backward()
            opt.step()
    # the reference: step 0 on both shards; steps 1, 2 with rank 1 contributing zeros
    for step in range(3):
        ref_opt.zero_grad()
        loss0 = loss_fn(ref(shard(X * (step + 1), 0)), shard(Y, 0))
        loss = (loss0 + loss_fn(ref(shard(X * (step + 1), 1)), shard(Y, 1))) / 2 if step == 0 else loss0 / 2
        loss.backward()
        ref_opt.step()
    if R == 0:
        for p, q in zip(model.parameters(), ref.parameters()):
            close(p.detach().numpy(), q.detach().numpy())


def check_join_dividing_by_the_active_ranks():
    model, ref = mlp(seed=11), mlp(seed=11)
    ddp = DDP(model)
    with ddp.join(divide_by_initial_world_size=False):
        for step in range(2 if R == 0 else 1):
            model.zero_grad()
            loss_fn(ddp(shard(X * (step + 1))), shard(Y)).backward()
    if R == 0:   # the last step ran on rank 0 alone: its own gradient, divided by 1
        loss_fn(ref(shard(X * 2, 0)), shard(Y, 0)).backward()
        for p, q in zip(model.parameters(), ref.parameters()):
            close(p.grad.numpy(), q.grad.numpy())


def check_join_throw_on_early_termination():
    ddp = DDP(mlp(seed=12))
    try:
        with ddp.join(throw_on_early_termination=True):
            for step in range(3 if R == 0 else 1):
                loss_fn(ddp(shard(X)), shard(Y)).backward()
    except RuntimeError as e:
        assert "exhausted inputs" in str(e)
    else:
        raise AssertionError("no rank raised")


def check_comm_hooks():
    from edunn.distributed.algorithms.ddp_comm_hooks import default_hooks
    ref = mlp(seed=13)
    loss_fn(ref(edunn.tensor(X)), edunn.tensor(Y)).backward()
    for hook, tol in ((default_hooks.allreduce_hook, 1e-5), (default_hooks.fp16_compress_hook, 2e-3)):
        model = mlp(seed=13)
        ddp = DDP(model, bucket_cap_mb=1e-4)
        ddp.register_comm_hook(None, hook)
        for _ in range(2):
            model.zero_grad()
            loss_fn(ddp(shard(X)), shard(Y)).backward()
            for p, q in zip(model.parameters(), ref.parameters()):
                close(p.grad.numpy(), q.grad.numpy(), tol)
        try:
            ddp.register_comm_hook(None, hook)
        except RuntimeError as e:
            assert "can only be called once" in str(e)
        else:
            raise AssertionError("a second hook was accepted")
    seen = []

    def spy(state, bucket):
        seen.append((bucket.index(), bucket.is_last(), [tuple(g.shape) for g in bucket.gradients()]))
        return default_hooks.allreduce_hook(state, bucket)
    ddp = DDP(mlp(seed=13), bucket_cap_mb=1e-6)    # one parameter per bucket
    ddp.register_comm_hook(None, spy)
    loss_fn(ddp(shard(X)), shard(Y)).backward()
    assert seen == [(0, False, [(3,)]), (1, False, [(3, 16)]), (2, False, [(16,)]), (3, True, [(16, 5)])]


def check_model_mismatch_is_an_error_on_every_rank():
    model = nn.Linear(5, 3 + R)
    try:
        DDP(model)
    except RuntimeError as e:
        assert "DDP expects same model across all ranks" in str(e) and "(3, 5)" in str(e)
    else:
        raise AssertionError("no error for different models")


def check_distributed_sampler_shards():
    data = TensorDataset(edunn.arange(11))
    sampler = DistributedSampler(data, shuffle=True, seed=3)
    assert sampler.num_replicas == 2 and sampler.rank == R and len(sampler) == 6
    for epoch in (0, 1):
        sampler.set_epoch(epoch)
        loader = DataLoader(data, batch_size=4, sampler=sampler)
        mine = [int(v) for (batch,) in loader for v in batch.tolist()]
        everyone = [None] * P
        dist.all_gather_object(everyone, mine)
        both = everyone[0] + everyone[1]
        assert len(both) == 12 and set(both) == set(range(11))   # one index padded
        if epoch == 0:
            first = everyone
    assert first != everyone   # another epoch, another order


def check_sampler_without_shuffle_equals_torch():
    from torch.utils.data import DistributedSampler as TorchSampler
    for n in (10, 11):
        for drop_last in (False, True):
            ours = list(DistributedSampler(range(n), shuffle=False, drop_last=drop_last))
            theirs = list(TorchSampler(range(n), num_replicas=P, rank=R, shuffle=False, drop_last=drop_last))
            assert ours == theirs, (n, drop_last, ours, theirs)


run_checks(dict(globals()), R)
dist.destroy_process_group()
