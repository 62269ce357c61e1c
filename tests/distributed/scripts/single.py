"""One process (``python single.py``: MPI's singleton start, or ``mpiexec -n 1``): the API surface
of edunn.distributed and DDP with world size 1, and init/destroy/re-init."""
import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _checks import TIMEOUT, run_checks  # noqa: E402

import numpy as np  # noqa: E402

import edunn  # noqa: E402
import edunn.distributed as dist  # noqa: E402
from edunn import nn  # noqa: E402
from edunn.nn.parallel import DistributedDataParallel as DDP  # noqa: E402


def _raises(fn, kind, *fragments):
    try:
        fn()
    except kind as e:
        for f in fragments:
            assert f in str(e), (f, str(e))
        return
    raise AssertionError(f"no {kind.__name__}")


def check_uninitialised_before_init():
    assert not dist.is_initialized()
    _raises(lambda: dist.get_rank(), RuntimeError, "Default process group has not been initialized, "
            "please make sure to call init_process_group.")
    _raises(lambda: DDP(nn.Linear(2, 2)), RuntimeError, "Default process group has not been initialized")


def check_init_world_of_one():
    _raises(lambda: dist.init_process_group("mpi", world_size=3), ValueError, "world_size=3")
    dist.init_process_group("mpi", timeout=TIMEOUT)
    assert dist.is_initialized() and dist.get_rank() == 0 and dist.get_world_size() == 1
    assert dist.get_backend() == dist.Backend.MPI == "mpi"
    _raises(lambda: dist.init_process_group("mpi"), ValueError, "twice")


def check_collectives_with_one_rank():
    t = edunn.tensor([1.0, 2.0])
    dist.all_reduce(t, op=dist.ReduceOp.AVG)
    assert t.tolist() == [1.0, 2.0]
    out = [edunn.zeros(2)]
    dist.all_gather(out, t)
    assert out[0].tolist() == [1.0, 2.0]
    dist.broadcast(t, src=0)
    dist.barrier()
    objs = [None]
    dist.all_gather_object(objs, {"a": 1})
    assert objs == [{"a": 1}]
    work = dist.all_reduce(t, async_op=True)
    assert work.wait() and work.is_completed()


def check_ddp_world_of_one_is_plain_training():
    edunn.manual_seed(0)
    model = nn.Linear(3, 2)
    ref = nn.Linear(3, 2)
    ref.load_state_dict(model.state_dict())
    ddp = DDP(model)
    x = edunn.randn(4, 3)
    ddp(x).pow(2).sum().backward()
    ref(x).pow(2).sum().backward()
    np.testing.assert_allclose(model.weight.grad.numpy(), ref.weight.grad.numpy(), rtol=1e-6)
    _raises(lambda: DDP(nn.ReLU()), RuntimeError, "doesn't have any parameter that requires a gradient")
    _raises(lambda: DDP(nn.Linear(2, 2), device_ids=[0]), ValueError, "device_ids")


def check_destroy_and_reinit():
    dist.destroy_process_group()
    assert not dist.is_initialized()
    _raises(lambda: dist.all_reduce(edunn.ones(1)), RuntimeError, "has not been initialized")
    dist.init_process_group(backend="MPI", timeout=datetime.timedelta(seconds=5))
    assert dist.get_world_size() == 1
    dist.destroy_process_group()


run_checks(dict(globals()), 0)
