"""SyncBatchNorm on 2 MPI processes equals BatchNorm (edunn's and PyTorch's) on the combined batch:
forward, input and parameter gradients, running statistics."""
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

dist.init_process_group("mpi", timeout=TIMEOUT)
R, P = dist.get_rank(), dist.get_world_size()
RNG = np.random.default_rng(7)


def close(a, b, tol=1e-5):
    np.testing.assert_allclose(np.asarray(a, np.float64), np.asarray(b, np.float64), rtol=tol, atol=tol)


def summed(t):
    """Sum of a tensor over the ranks (parameter gradients of SyncBatchNorm are per-rank parts)."""
    t = t.clone()
    dist.all_reduce(t)
    return t


def compare(shape, sizes, torch_cls, momentum=0.1):
    """Rank r gets ``sizes[r]`` examples of a batch of shape ``(sum(sizes),) + shape``."""
    full = RNG.normal(2.0, 3.0, size=(sum(sizes),) + shape).astype(np.float64)
    weight_out = RNG.normal(size=full.shape)
    lo = sum(sizes[:R])
    mine = full[lo:lo + sizes[R]]
    c = shape[0]
    sync = nn.SyncBatchNorm(c, momentum=momentum, dtype=edunn.float64)
    ref = {1: nn.BatchNorm1d, 2: nn.BatchNorm2d, 3: nn.BatchNorm3d}[len(shape) - 1 or 1](
        c, momentum=momentum, dtype=edunn.float64)
    with edunn.no_grad():
        w = edunn.tensor(np.linspace(0.5, 1.5, c))
        b = edunn.tensor(np.linspace(-1, 1, c))
        for m in (sync, ref):
            m.weight.copy_(w)
            m.bias.copy_(b)
    x = edunn.tensor(mine, requires_grad=True)
    out = sync(x)
    (out * edunn.tensor(weight_out[lo:lo + sizes[R]])).sum().backward()
    xr = edunn.tensor(full, requires_grad=True)
    out_ref = ref(xr)
    (out_ref * edunn.tensor(weight_out)).sum().backward()
    close(out.detach().numpy(), out_ref.detach().numpy()[lo:lo + sizes[R]])
    close(x.grad.numpy(), xr.grad.numpy()[lo:lo + sizes[R]])
    close(summed(sync.weight.grad).numpy(), ref.weight.grad.numpy())
    close(summed(sync.bias.grad).numpy(), ref.bias.grad.numpy())
    close(sync.running_mean.numpy(), ref.running_mean.numpy())
    close(sync.running_var.numpy(), ref.running_var.numpy())
    # PyTorch's BatchNorm on the combined batch
    tbn = torch_cls(c, momentum=momentum, dtype=torch.float64)
    with torch.no_grad():
        tbn.weight.copy_(torch.tensor(w.numpy()))
        tbn.bias.copy_(torch.tensor(b.numpy()))
    tx = torch.tensor(full, requires_grad=True)
    tout = tbn(tx)
    (tout * torch.tensor(weight_out)).sum().backward()
    close(out.detach().numpy(), tout.detach().numpy()[lo:lo + sizes[R]])
    close(x.grad.numpy(), tx.grad.numpy()[lo:lo + sizes[R]])
    close(summed(sync.weight.grad).numpy(), tbn.weight.grad.numpy())
    close(sync.running_var.numpy(), tbn.running_var.numpy())


def check_syncbn_1d_equals_batchnorm_on_combined_batch():
    compare((4,), [6, 6], torch.nn.BatchNorm1d)


def check_syncbn_1d_with_length_dimension():
    compare((3, 5), [4, 4], torch.nn.BatchNorm1d)


def check_syncbn_2d_uneven_shards():
    compare((3, 4, 5), [2, 5], torch.nn.BatchNorm2d, momentum=0.3)


def check_syncbn_eval_uses_running_stats_without_communication():
    sync = nn.SyncBatchNorm(3)
    sync.eval()
    x = edunn.randn(4 + R, 3)        # different batch sizes: no collective may run in eval
    close(sync(x).detach().numpy(), x.numpy() / np.sqrt(1 + 1e-5))


def check_convert_sync_batchnorm_under_ddp():
    edunn.manual_seed(3)
    model = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))
    ref = nn.Sequential(nn.Linear(5, 4), nn.BatchNorm1d(4), nn.Tanh(), nn.Linear(4, 2))
    ref.load_state_dict(model.state_dict())
    ddp = DDP(nn.SyncBatchNorm.convert_sync_batchnorm(model))
    assert isinstance(ddp.module[1], nn.SyncBatchNorm)
    X = RNG.normal(size=(8, 5)).astype(np.float32)
    ddp(edunn.tensor(X[R * 4:(R + 1) * 4])).pow(2).mean().backward()
    ref(edunn.tensor(X)).pow(2).mean().backward()
    for p, q in zip(ddp.module.parameters(), ref.parameters()):
        close(p.grad.numpy(), q.grad.numpy())
    close(ddp.module[1].running_mean.numpy(), ref[1].running_mean.numpy())


run_checks(dict(globals()), R)
dist.destroy_process_group()
