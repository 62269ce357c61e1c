"""The rest of edunn.distributed's API on 2 MPI processes: reduce_scatter (list form), the
coalesced collectives, objects and batched messages between two ranks, subgroups, DDP
communication hooks, ``breakpoint``.  Every expected value is computed here from the data each
rank is known to hold (rank r holds ``BASE * (r + 1)``), or by one process on the combined batch."""
import datetime
import os
import sys
import time
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _checks import TIMEOUT, run_checks  # noqa: E402

import numpy as np  # noqa: E402

import edunn  # noqa: E402
import edunn.distributed as dist  # noqa: E402
from edunn import nn  # noqa: E402
from edunn.distributed.algorithms.ddp_comm_hooks import default_hooks  # noqa: E402
from edunn.futures import Future  # noqa: E402
from edunn.nn.parallel import DistributedDataParallel as DDP  # noqa: E402

dist.init_process_group("mpi", timeout=TIMEOUT)
R, P = dist.get_rank(), dist.get_world_size()
assert P == 2, "launch with mpiexec -n 2"
OTHER = 1 - R
BASE = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]])


def held(rank, i=0):
    """What rank ``rank`` puts in slot ``i``."""
    return BASE * (rank + 1) + 10 * i


def close(t, expected, tol=1e-6):
    got = t.float().numpy() if t.dtype == edunn.bfloat16 else t.numpy()
    np.testing.assert_allclose(got.astype(np.float64), np.asarray(expected, np.float64), rtol=tol, atol=tol)


def _expect_error(fn, fragment, kind=Exception):
    try:
        fn()
    except kind as e:
        assert fragment in str(e), (fragment, str(e))
        return str(e)
    raise AssertionError(f"no {kind.__name__} containing {fragment!r}")


def check_reduce_scatter_list():
    for dtype, op, combine in (("float64", dist.ReduceOp.SUM, lambda a, b: a + b),
                               ("float32", dist.ReduceOp.AVG, lambda a, b: (a + b) / 2),
                               ("int64", dist.ReduceOp.MAX, np.maximum)):
        inputs = [edunn.tensor(held(R, i)).to(getattr(edunn, dtype)) for i in range(P)]
        out = edunn.zeros(2, 3, dtype=getattr(edunn, dtype))
        dist.reduce_scatter(out, inputs, op=op)
        close(out, combine(held(0, R), held(1, R)).astype(dtype))
    out = edunn.zeros(2, 3, dtype=edunn.float64)
    work = dist.reduce_scatter(out, [edunn.tensor(held(R, i)) for i in range(P)], async_op=True)
    work.wait()
    close(out, held(0, R) + held(1, R))
    _expect_error(lambda: dist.reduce_scatter(out, [out]), "must hold 2 tensors", ValueError)
    _expect_error(lambda: dist.reduce_scatter(out, out), "List[torch.Tensor]", TypeError)


def check_coalesced_collectives():
    a, b = edunn.tensor(held(R)), edunn.tensor(held(R)[0] * 3)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        dist.all_reduce_coalesced([a, b])
    assert any(issubclass(w.category, FutureWarning) and "all_reduce_coalesced" in str(w.message)
               for w in caught)
    close(a, held(0) + held(1))
    close(b, (held(0)[0] + held(1)[0]) * 3)
    c = edunn.tensor(held(R))
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        fut = dist.all_reduce_coalesced(c, op=dist.ReduceOp.MAX, async_op=True)
        assert isinstance(fut, Future)
        fut.wait()
        close(c, np.maximum(held(0), held(1)))
        ins = [edunn.tensor(held(R)), edunn.tensor(held(R)[1])]
        outs = [[edunn.zeros(2, 3, dtype=edunn.float64), edunn.zeros(3, dtype=edunn.float64)]
                for _ in range(P)]
        dist.all_gather_coalesced(outs, ins)
        for r in range(P):
            close(outs[r][0], held(r))
            close(outs[r][1], held(r)[1])
        _expect_error(lambda: dist.all_reduce_coalesced([a, edunn.ones(2, dtype=edunn.float32)]),
                      "same dtype", ValueError)


def check_send_and_recv_object_list():
    objs = [{"rank": R, "list": [1, 2]}, "text" * (R + 1), None]
    if R == 0:
        dist.send_object_list(objs, dst=1)
        got = [None] * 3
        assert dist.recv_object_list(got) == 1            # from any rank
        assert got == [{"rank": 1, "list": [1, 2]}, "texttext", None]
    else:
        got = [None] * 3
        assert dist.recv_object_list(got, src=0) == 0
        assert got == [{"rank": 0, "list": [1, 2]}, "text", None]
        dist.send_object_list(objs, dst=0)
    # the batched path, both directions at once would deadlock with blocking sends: go in turns
    if R == 0:
        dist.send_object_list([np.arange(3)], dst=1, use_batch=True)
    else:
        got = [None]
        dist.recv_object_list(got, src=0, use_batch=True)
        np.testing.assert_array_equal(got[0], np.arange(3))
    _expect_error(lambda: dist.send_object_list([1], dst=R), "should not be the same", ValueError)


def check_batch_isend_irecv_exchange():
    mine = edunn.tensor(held(R))
    theirs = edunn.zeros(2, 3, dtype=edunn.float64)
    ops = [dist.P2POp(dist.isend, mine, OTHER), dist.P2POp(dist.irecv, theirs, OTHER)]
    assert ops[0].peer == OTHER and ops[0].group_peer == OTHER
    works = dist.batch_isend_irecv(ops)
    assert len(works) == 2
    for w in works:
        w.wait()
    close(theirs, held(OTHER))
    _expect_error(lambda: dist.P2POp(dist.all_reduce, mine, 0), "Invalid ``op``", ValueError)
    _expect_error(lambda: dist.batch_isend_irecv([1]), "Invalid ``p2p_op_list``", ValueError)


def check_subgroups():
    count = dist.get_pg_count()
    mine, groups = dist.new_subgroups(group_size=1)
    assert len(groups) == 2 and dist.get_world_size(mine) == 1
    assert dist.get_process_group_ranks(mine) == [R]
    t = edunn.tensor(held(R))
    dist.all_reduce(t, group=mine)
    close(t, held(R))                        # a group of one: the sum is the tensor itself
    pair, groups = dist.new_subgroups_by_enumeration([[0, 1]])
    t = edunn.tensor(held(R))
    dist.all_reduce(t, group=pair)
    close(t, held(0) + held(1))
    solo = dist.split_group(split_ranks=[[0], [1]])
    assert dist.get_process_group_ranks(solo) == [R]
    assert dist.get_pg_count() == count + 2 + 1 + 2
    _expect_error(lambda: dist.new_subgroups(group_size=3), "must not exceed", ValueError)
    _expect_error(lambda: dist.new_subgroups_by_enumeration([[0, 1], [1]]), "Rank 1 has appeared",
                  ValueError)
    assert dist.get_backend_config() == "cpu:mpi,cuda:mpi"


RNG = np.random.default_rng(7)
X = RNG.normal(size=(8, 5)).astype(np.float32)
Y = RNG.normal(size=(8, 3)).astype(np.float32)


def mlp(seed):
    edunn.manual_seed(seed)
    return nn.Sequential(nn.Linear(5, 16), nn.Tanh(), nn.Linear(16, 3))


def loss_fn(out, y):
    return ((out - y) ** 2).mean()


def shard(a):
    n = len(a) // P
    return edunn.tensor(a[R * n:(R + 1) * n])


def reference_grads(seed):
    ref = mlp(seed)
    loss_fn(ref(edunn.tensor(X)), edunn.tensor(Y)).backward()
    return [p.grad.numpy() for p in ref.parameters()]


def train_with(register, seed=21, tol=1e-5, steps=2, **ddp_kwargs):
    ref = reference_grads(seed)
    model = mlp(seed)
    ddp = DDP(model, **ddp_kwargs)
    register(ddp)
    for _ in range(steps):
        model.zero_grad()
        loss_fn(ddp(shard(X)), shard(Y)).backward()
        for p, q in zip(model.parameters(), ref):
            assert p.grad.dtype == edunn.float32
            close(p.grad, q, tol)


def check_comm_hooks_give_the_averaged_gradient():
    train_with(lambda d: d.register_comm_hook(None, default_hooks.allreduce_hook), bucket_cap_mb=1e-4)
    train_with(lambda d: d.register_comm_hook(None, default_hooks.fp16_compress_hook), tol=2e-3)
    train_with(lambda d: d.register_comm_hook(None, default_hooks.bf16_compress_hook), tol=3e-2)
    train_with(lambda d: d.register_comm_hook(
        None, default_hooks.fp16_compress_wrapper(default_hooks.allreduce_hook)), tol=2e-3)
    train_with(lambda d: d.register_comm_hook(
        dist.group.WORLD, default_hooks.bf16_compress_wrapper(default_hooks.allreduce_hook)), tol=3e-2)
    train_with(lambda d: d._register_builtin_comm_hook(dist.BuiltinCommHookType.ALLREDUCE))
    train_with(lambda d: d._register_builtin_comm_hook(dist.BuiltinCommHookType.FP16_COMPRESS), tol=2e-3)


def check_comm_hook_with_its_own_future():
    """A hook that averages with a blocking all_reduce and returns a Future it completes itself,
    reading the bucket through GradBucket's API."""
    seen = []

    def hook(state, bucket):
        assert isinstance(bucket, dist.GradBucket)
        grads, params = bucket.gradients(), bucket.parameters()
        assert [tuple(g.shape) for g in grads] == [tuple(p.shape) for p in params]
        seen.append((state["name"], bucket.index(), bucket.is_last(), len(params)))
        buf = bucket.buffer()
        dist.all_reduce(buf)
        fut = Future()
        fut.set_result(buf / P)
        return fut
    train_with(lambda d: d.register_comm_hook({"name": "mine"}, hook), steps=1, bucket_cap_mb=1e-6)
    assert seen == [("mine", 0, False, 1), ("mine", 1, False, 1), ("mine", 2, False, 1),
                    ("mine", 3, True, 1)]


def check_breakpoint_on_one_rank():
    from edunn.distributed import _config
    stops = []

    class FakePdb:
        def message(self, text):
            assert "dist.breakpoint(rank=1)" in text

        def set_trace(self):
            time.sleep(0.3)          # the other rank must wait in the barrier meanwhile
            stops.append(R)
    saved = _config._make_distributed_pdb
    _config._make_distributed_pdb = FakePdb
    try:
        start = time.monotonic()
        dist.breakpoint(rank=1, timeout_s=None)
        assert stops == ([1] if R == 1 else [])
        assert time.monotonic() - start >= 0.25      # rank 0 waited for rank 1
    finally:
        _config._make_distributed_pdb = saved


def check_device_mesh_2d():
    mesh = dist.init_device_mesh("cpu", (2, 1), mesh_dim_names=("dp", "tp"))
    assert mesh.shape == (2, 1) and mesh.ndim == 2 and mesh.size() == 2 and mesh.size(1) == 1
    assert mesh.get_coordinate() == (R, 0) and mesh.get_local_rank("dp") == R
    assert mesh.get_local_rank("tp") == 0 and mesh.mesh.tolist() == [[0], [1]]
    dp, tp = mesh["dp"], mesh["tp"]
    assert dp.mesh.tolist() == [0, 1] and dp.mesh_dim_names == ("dp",) and tp.mesh.tolist() == [R]
    assert dp.get_group() is mesh.get_group("dp") and tp.get_group() is mesh.get_group(1)
    t = edunn.tensor(held(R))
    dist.all_reduce(t, group=mesh.get_group("dp"))
    close(t, held(0) + held(1))
    t = edunn.tensor(held(R))
    dist.all_reduce(t, group=tp.get_group())
    close(t, held(R))                              # a line of one process
    flipped = mesh["tp", "dp"]
    assert flipped.shape == (1, 2) and flipped.mesh.tolist() == [[0, 1]]
    assert flipped.get_all_groups() == [mesh.get_group("tp"), mesh.get_group("dp")]
    row = dist.init_device_mesh("cpu", (1, 2), mesh_dim_names=("a", "b"))
    assert row.get_local_rank("b") == R and row.get_group("b") is dist.group.WORLD
    one = dist.init_device_mesh("cpu", (2,))
    assert one.get_group() is dist.group.WORLD and one == dist.DeviceMesh("cpu", [0, 1])
    _expect_error(lambda: mesh.get_group(), "needs to be specified", RuntimeError)
    _expect_error(lambda: mesh["x"], "Invalid mesh_dim_names", KeyError)
    _expect_error(lambda: dist.init_device_mesh("cpu", (2, 2)), "bigger than default world size 2",
                  RuntimeError)


def check_timeout_when_a_rank_skips():
    group = dist.new_group([0, 1], timeout=datetime.timedelta(seconds=1))
    if R == 0:
        start = time.monotonic()
        _expect_error(lambda: dist.reduce_scatter(edunn.zeros(3), [edunn.ones(3)] * 2, group=group),
                      "timed out after 1 s", dist.DistBackendError)
        assert time.monotonic() - start < 10
    dist.barrier()


run_checks(dict(globals()), R)
dist.destroy_process_group()
