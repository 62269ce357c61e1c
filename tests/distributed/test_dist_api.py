"""edunn.distributed's API in one process: the errors before ``init_process_group`` (in this
process, no MPI needed), then a world of one under MPI's singleton start (in a subprocess, so
that MPI never starts inside the test runner)."""
import datetime

import pytest

import edunn
import edunn.distributed as dist
from edunn import nn
from edunn.nn.parallel import DistributedDataParallel
from edunn.utils.data import DistributedSampler

from _mpi_harness import assert_passed, check_names, have_mpi, launch, SKIP_REASON

pytestmark = pytest.mark.lesson18

NOT_INIT = ("Default process group has not been initialized, please make sure to call "
            "init_process_group.")


@pytest.mark.parametrize("call", [
    lambda: dist.get_rank(), lambda: dist.get_world_size(), lambda: dist.get_backend(),
    lambda: dist.all_reduce(edunn.ones(2)), lambda: dist.broadcast(edunn.ones(2), src=0),
    lambda: dist.all_gather([edunn.ones(2)], edunn.ones(2)), lambda: dist.barrier(),
    lambda: dist.new_group([0]), lambda: dist.destroy_process_group(),
    lambda: dist.all_gather_object([None], 1), lambda: DistributedSampler(range(4)),
    lambda: DistributedDataParallel(nn.Linear(2, 2)),
], ids=["get_rank", "get_world_size", "get_backend", "all_reduce", "broadcast", "all_gather",
        "barrier", "new_group", "destroy", "all_gather_object", "sampler", "ddp"])
def test_uninitialised(call):
    assert not dist.is_initialized()
    with pytest.raises(RuntimeError, match="Default process group has not been initialized"):
        call()


def test_uninitialised_message_is_pytorchs():
    with pytest.raises(RuntimeError) as info:
        dist.get_rank()
    assert str(info.value) == NOT_INIT


def test_availability():
    assert dist.is_available() is True
    assert dist.is_gloo_available() is False
    assert isinstance(dist.is_mpi_available(), bool) and isinstance(dist.is_nccl_available(), bool)


@pytest.mark.parametrize("name", ["gloo", "ucc", "", "tcp"])
def test_unknown_backend(name):
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.init_process_group(name)
    assert not dist.is_initialized()


def test_backend_and_reduce_op_names():
    assert dist.Backend("NCCL") == "nccl" and dist.Backend.MPI == "mpi"
    assert int(dist.ReduceOp.SUM) == 0 and dist.ReduceOp.AVG.name == "AVG"
    assert dist.ReduceOp(dist.ReduceOp.MAX) == dist.ReduceOp.MAX
    for name in ["SUM", "AVG", "PRODUCT", "MIN", "MAX", "BAND", "BOR", "BXOR"]:
        assert hasattr(dist.ReduceOp, name)
    assert dist.default_pg_timeout == datetime.timedelta(minutes=30)


def test_bad_timeout_type():
    with pytest.raises(TypeError, match="timedelta"):
        dist.init_process_group("mpi", timeout=5)


def test_sampler_arguments():
    s = DistributedSampler(range(10), num_replicas=3, rank=2, shuffle=False)
    assert list(s) == [2, 5, 8, 1] and len(s) == 4
    with pytest.raises(ValueError, match=r"Invalid rank 3, rank should be in the interval \[0, 2\]"):
        DistributedSampler(range(10), num_replicas=3, rank=3)
    a = DistributedSampler(range(10), num_replicas=2, rank=0, seed=5)
    b = DistributedSampler(range(10), num_replicas=2, rank=1, seed=5)
    assert sorted(list(a) + list(b)) == list(range(10))
    first = list(a)
    a.set_epoch(1)
    assert list(a) != first and a.epoch == 1


@pytest.mark.skipif(not have_mpi(), reason=SKIP_REASON)
@pytest.mark.parametrize("check", check_names("single.py"))
def test_world_of_one(single, check):
    assert_passed(single, check, range(1))


@pytest.fixture(scope="module")
def single():
    return launch("single.py", mpi=False, timeout=60)


def test_nccl_without_gpu_is_a_clear_error():
    if dist.is_nccl_available():
        pytest.skip("this machine has NCCL")
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        dist.init_process_group("nccl")
    assert not dist.is_initialized()


def test_tcp_store_between_two_clients():
    timeout = datetime.timedelta(seconds=5)
    master = dist.TCPStore("127.0.0.1", 0, 2, True, timeout=timeout)
    worker = dist.TCPStore("127.0.0.1", master.port, 2, False, timeout=timeout)
    master.set("id", b"\x00\x01binary")
    assert worker.get("id") == b"\x00\x01binary"
    assert worker.add("count", 1) == 1 and master.add("count", 1) == 2
    assert worker.check(["id", "count"]) and not worker.check(["missing"])
    assert worker.delete_key("id") and not master.check(["id"])
    with pytest.raises(RuntimeError, match="timed out"):
        worker.wait(["never"], datetime.timedelta(seconds=0.1))


def test_file_store_and_prefix_store(tmp_path):
    a = dist.FileStore(str(tmp_path / "store"), 2)
    b = dist.FileStore(str(tmp_path / "store"), 2)
    a.set("key", "value")
    assert b.get("key") == b"value" and b.add("n", 3) == 3 and a.add("n", 4) == 7
    assert a.num_keys() == 2 and a.delete_key("key") and not b.check(["key"])
    p = dist.PrefixStore("job", dist.HashStore())
    p.set("x", 1)
    assert p.get("x") == b"1" and p.underlying_store.check(["job/x"])


def test_env_rendezvous_names_the_missing_variable(monkeypatch):
    for var in ("MASTER_ADDR", "MASTER_PORT", "RANK", "WORLD_SIZE"):
        monkeypatch.delenv(var, raising=False)
    with pytest.raises(ValueError, match="MASTER_ADDR expected, but not set"):
        next(dist.rendezvous("env://", 0, 1, timeout=datetime.timedelta(seconds=1)))
    with pytest.raises(RuntimeError, match="No rendezvous handler for http://"):
        next(dist.rendezvous("http://x", 0, 1, timeout=datetime.timedelta(seconds=1)))


@pytest.mark.parametrize("n", [1, 5, 10, 11, 16])
@pytest.mark.parametrize("replicas", [1, 2, 3, 4])
@pytest.mark.parametrize("drop_last", [False, True])
def test_sampler_without_shuffle_equals_torch(n, replicas, drop_last):
    torch_data = pytest.importorskip("torch.utils.data")
    for rank in range(replicas):
        ours = DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        theirs = torch_data.DistributedSampler(range(n), replicas, rank, shuffle=False, drop_last=drop_last)
        assert list(ours) == list(theirs) and len(ours) == len(theirs)


@pytest.mark.parametrize("n,replicas", [(10, 3), (7, 2), (3, 4)])
def test_sampler_shuffled_partition(n, replicas):
    for drop_last in (False, True):
        shards = [list(DistributedSampler(range(n), replicas, r, seed=11, drop_last=drop_last))
                  for r in range(replicas)]
        sizes = {len(s) for s in shards}
        assert len(sizes) == 1                                   # every rank the same count
        flat = sum(shards, [])
        if drop_last:
            assert len(set(flat)) == len(flat) <= n              # no repeats, tail dropped
        else:
            assert set(flat) == set(range(n))                    # all covered, padded by repeats
        again = [list(DistributedSampler(range(n), replicas, r, seed=11, drop_last=drop_last))
                 for r in range(replicas)]
        assert again == shards                                   # same seed + epoch, same order


def test_engine_final_callback_runs_after_the_whole_backward():
    from edunn.autograd import engine
    with pytest.raises(RuntimeError, match="only be installed during backward"):
        engine.queue_callback(lambda: None)
    w = edunn.ones(3, requires_grad=True)
    v = edunn.ones(3, requires_grad=True)
    seen = []

    def hook(param):
        engine.queue_callback(lambda: seen.append((w.grad is not None, v.grad is not None)))
    w.register_post_accumulate_grad_hook(hook)
    ((w * 2).sum() + (v * w).sum() + v.sum()).backward()
    assert seen and all(s == (True, True) for s in seen)   # run once both grads were complete
