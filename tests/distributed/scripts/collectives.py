"""Every collective of edunn.distributed on 2 MPI processes, checked against NumPy arithmetic on
the inputs each rank is known to hold (rank r holds ``base * (r + 1)``), then the bad inputs."""
import datetime
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _checks import TIMEOUT, run_checks  # noqa: E402

import numpy as np  # noqa: E402

import edunn  # noqa: E402
import edunn.distributed as dist  # noqa: E402

dist.init_process_group("mpi", timeout=TIMEOUT)
R, P = dist.get_rank(), dist.get_world_size()
assert P == 2, "launch with mpiexec -n 2"

BASE = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]])
DTYPES = ["float32", "float64", "float16", "bfloat16", "int32", "int64", "uint8", "int8"]


def mine(rank, dtype="float64"):
    return (BASE * (rank + 1)).astype(np.float64)


def as_tensor(a, dtype):
    return edunn.tensor(a).to(getattr(edunn, dtype))


def close(t, expected, tol=1e-6):
    got = t.float().numpy() if t.dtype == edunn.bfloat16 else t.numpy()
    np.testing.assert_allclose(got.astype(np.float64), np.asarray(expected, np.float64), rtol=tol, atol=tol)


def tol_for(dtype):
    return {"float16": 1e-2, "bfloat16": 5e-2}.get(dtype, 1e-6)


def check_rank_and_world_size():
    assert dist.is_initialized() and dist.get_backend() == "mpi"
    assert dist.get_rank() == R and dist.get_world_size() == 2
    assert dist.get_process_group_ranks(dist.GroupMember.WORLD) == [0, 1]


def check_all_reduce_every_op_and_dtype():
    ops = {dist.ReduceOp.SUM: lambda a, b: a + b, dist.ReduceOp.PRODUCT: lambda a, b: a * b,
           dist.ReduceOp.MIN: np.minimum, dist.ReduceOp.MAX: np.maximum}
    for dtype in DTYPES:
        for op, fn in ops.items():
            ints = dtype.startswith(("int", "uint"))
            a0, a1 = mine(0), mine(1)
            if ints:
                a0, a1 = np.abs(np.round(a0)), np.abs(np.round(a1))
            t = as_tensor(a1 if R == 1 else a0, dtype)
            version = t._version
            dist.all_reduce(t, op=op)
            want = fn(a0, a1)
            close(t, want, tol_for(dtype))
            assert t.dtype == getattr(edunn, dtype) and t._version == version + 1, (dtype, op)


def check_all_reduce_avg():
    for dtype in ["float32", "float64", "float16"]:
        t = as_tensor(mine(R), dtype)
        dist.all_reduce(t, op=dist.ReduceOp.AVG)
        close(t, (mine(0) + mine(1)) / 2, tol_for(dtype))


def check_all_reduce_bool_and_bitwise():
    t = edunn.tensor([True, R == 0, False])
    dist.all_reduce(t)                      # SUM on bool is a logical or, as PyTorch
    assert t.tolist() == [True, True, False]
    t = edunn.tensor([True, R == 0, False])
    dist.all_reduce(t, op=dist.ReduceOp.PRODUCT)
    assert t.tolist() == [True, False, False]
    t = edunn.tensor([6, 5 + R], dtype=edunn.int64)
    dist.all_reduce(t, op=dist.ReduceOp.BAND)
    assert t.tolist() == [6, 5 & 6]
    t = edunn.tensor([1 << R, 3], dtype=edunn.int32)
    dist.all_reduce(t, op=dist.ReduceOp.BXOR)
    assert t.tolist() == [3, 0]


def check_all_reduce_async():
    t = edunn.tensor(mine(R)).float()
    work = dist.all_reduce(t, async_op=True)
    assert isinstance(work, dist.Work)
    work.wait()
    assert work.is_completed() and work.is_success()
    close(t, mine(0) + mine(1))
    assert work.result()[0] is t
    t2 = edunn.ones(2)
    fut = dist.all_reduce(t2, async_op=True).get_future()
    doubled = fut.then(lambda f: f.value()[0] * 2)
    assert doubled.wait().tolist() == [4.0, 4.0] and fut.done() and fut.wait()[0] is t2


def check_all_reduce_non_contiguous_and_scalar():
    base = edunn.tensor(mine(R)).float()
    view = base.t()                          # a transposed view: written back into base
    dist.all_reduce(view)
    close(base, mine(0) + mine(1))
    s = edunn.tensor(float(R + 1))
    dist.all_reduce(s)
    assert s.item() == 3.0 and s.shape == ()


def check_broadcast_from_each_rank():
    for src in (0, 1):
        for dtype in ["float32", "bfloat16", "int64"]:
            t = as_tensor(mine(R), dtype)
            dist.broadcast(t, src=src)
            close(t, as_tensor(mine(src), dtype).float().numpy(), tol_for(dtype))
    t = edunn.tensor([R == 1, True])
    dist.broadcast(t, src=1)
    assert t.tolist() == [True, True]


def check_all_gather():
    for dtype in ["float32", "float16", "int32"]:
        outs = [as_tensor(np.zeros_like(BASE), dtype) for _ in range(P)]
        work = dist.all_gather(outs, as_tensor(mine(R), dtype), async_op=True)
        work.wait()
        for r in range(P):
            close(outs[r], as_tensor(mine(r), dtype).float().numpy(), tol_for(dtype))


def check_all_gather_into_tensor():
    cat = edunn.zeros(4, 3)
    dist.all_gather_into_tensor(cat, edunn.tensor(mine(R)).float())
    close(cat, np.concatenate([mine(0), mine(1)]))
    stacked = edunn.zeros(2, 2, 3)
    dist.all_gather_into_tensor(stacked, edunn.tensor(mine(R)).float())
    close(stacked, np.stack([mine(0), mine(1)]))


def check_reduce():
    for dst in (0, 1):
        t = edunn.tensor(mine(R))
        dist.reduce(t, dst=dst, op=dist.ReduceOp.MAX)
        close(t, np.maximum(mine(0), mine(1)) if R == dst else mine(R))


def check_gather_and_scatter():
    for root in (0, 1):
        lst = [edunn.zeros(2, 3, dtype=edunn.float64) for _ in range(P)] if R == root else None
        dist.gather(edunn.tensor(mine(R)), lst, dst=root)
        if R == root:
            for r in range(P):
                close(lst[r], mine(r))
        out = edunn.zeros(2, 3, dtype=edunn.float64)
        scat = [edunn.tensor(mine(r) * 10) for r in range(P)] if R == root else None
        dist.scatter(out, scat, src=root)
        close(out, mine(R) * 10)


def check_reduce_scatter_tensor():
    full = edunn.tensor(np.concatenate([mine(R), -mine(R)])).float()   # shape (4, 3): 2 blocks
    out = edunn.zeros(2, 3)
    dist.reduce_scatter_tensor(out, full)
    total = np.concatenate([mine(0) + mine(1), -(mine(0) + mine(1))])
    close(out, total[R * 2:(R + 1) * 2])
    out = edunn.zeros(2, 3)
    dist.reduce_scatter_tensor(out, full, op=dist.ReduceOp.AVG)
    close(out, total[R * 2:(R + 1) * 2] / 2)


def check_all_to_all_single_even_and_uneven():
    inp = edunn.tensor(np.arange(8.0).reshape(4, 2) + 100 * R)     # 2 rows to each rank
    out = edunn.zeros(4, 2, dtype=edunn.float64)
    dist.all_to_all_single(out, inp)
    want = np.concatenate([(np.arange(8.0).reshape(4, 2) + 100 * r)[2 * R:2 * R + 2] for r in range(P)])
    close(out, want)
    # rank 0 sends 1 row to itself and 2 to rank 1; rank 1 sends 3 rows to rank 0 and 0 to itself
    send = [[1, 2], [3, 0]][R]
    recv = [[1, 3], [2, 0]][R]
    inp = edunn.tensor(np.arange(3.0 * 2).reshape(3, 2) + 100 * R)
    out = edunn.zeros(sum(recv), 2, dtype=edunn.float64)
    dist.all_to_all_single(out, inp, output_split_sizes=recv, input_split_sizes=send)
    rows = {0: np.arange(6.0).reshape(3, 2), 1: np.arange(6.0).reshape(3, 2) + 100}
    want = [np.concatenate([rows[0][:1], rows[1][:3]]), rows[0][1:3]][R]
    close(out, want)


def check_all_to_all_lists():
    inputs = [edunn.full((r + 1,), float(10 * R + r)) for r in range(P)]      # to rank r: r+1 values
    outputs = [edunn.zeros(R + 1) for _ in range(P)]
    dist.all_to_all(outputs, inputs)
    for i in range(P):
        assert outputs[i].tolist() == [float(10 * i + R)] * (R + 1)


def check_error_all_to_all_mismatched_splits_on_every_rank():
    inp = edunn.zeros(2, 2)
    out = edunn.zeros(2, 2)
    # rank 0 sends a row to itself and one to rank 1, but both expect nothing from rank 0
    recv, send = ([0, 2], [1, 1]) if R == 0 else ([0, 2], [2, 0])
    _expect_error(lambda: dist.all_to_all_single(out, inp, recv, send), "split sizes of the ranks do not match",
                  "which expects")


def check_send_recv():
    if R == 0:
        dist.send(edunn.tensor([1.0, 2.0, 3.0]), dst=1)
        t = edunn.zeros(2, dtype=edunn.int64)
        src = dist.recv(t, src=1, tag=7)
        assert src == 1 and t.tolist() == [5, 6]
    else:
        t = edunn.zeros(3)
        assert dist.recv(t) == 0 and t.tolist() == [1.0, 2.0, 3.0]
        work = dist.isend(edunn.tensor([5, 6]), dst=0, tag=7)
        work.wait()


def check_objects():
    objs = [None, None]
    dist.all_gather_object(objs, {"rank": R, "name": "x" * (R * 50)})
    assert objs == [{"rank": 0, "name": ""}, {"rank": 1, "name": "x" * 50}]
    lst = [R, "only rank 1's survives", (R,)] if R == 1 else [None, None, None]
    dist.broadcast_object_list(lst, src=1)
    assert lst == [1, "only rank 1's survives", (1,)]
    gathered = [None, None] if R == 0 else None
    dist.gather_object(R * 7, gathered, dst=0)
    if R == 0:
        assert gathered == [0, 7]
    out = [None]
    dist.scatter_object_list(out, ["a", "b"] if R == 0 else None, src=0)
    assert out == ["ab"[R]]


def check_barrier_and_async_barrier():
    dist.barrier()
    work = dist.barrier(async_op=True)
    work.wait()
    dist.monitored_barrier(timeout=datetime.timedelta(seconds=10))


def check_new_group():
    solo = dist.new_group([1])
    if R == 1:
        assert dist.get_rank(solo) == 0 and dist.get_world_size(solo) == 1
        t = edunn.ones(2)
        dist.all_reduce(t, group=solo)
        assert t.tolist() == [1.0, 1.0]
    else:
        assert solo is dist.GroupMember.NON_GROUP_MEMBER and dist.get_rank(solo) == -1
        assert dist.all_reduce(edunn.ones(2), group=solo) is None
    both = dist.new_group([0, 1])
    t = edunn.tensor([float(R)])
    dist.broadcast(t, src=1, group=both)
    assert t.item() == 1.0
    dist.destroy_process_group(both)


def _expect_error(fn, *fragments, kind=RuntimeError):
    try:
        fn()
    except kind as e:
        msg = str(e)
        for f in fragments:
            assert f in msg, f"{f!r} not in {msg!r}"
        return msg
    raise AssertionError(f"no {kind.__name__} raised")


def check_error_mismatched_shapes_on_every_rank():
    t = edunn.ones(2 + R, 3)
    _expect_error(lambda: dist.all_reduce(t), "rank 0 called all_reduce(shape=[2, 3]",
                  "rank 1 called all_reduce(shape=[3, 3]")
    # the group is still usable afterwards
    t = edunn.ones(2)
    dist.all_reduce(t)
    assert t.tolist() == [2.0, 2.0]


def check_error_mismatched_dtypes_and_ops():
    t = edunn.ones(3, dtype=edunn.float32 if R == 0 else edunn.float64)
    _expect_error(lambda: dist.all_reduce(t), "dtype=edunn.float32", "dtype=edunn.float64")
    if R == 0:
        _expect_error(lambda: dist.all_reduce(edunn.ones(3)), "rank 0 called all_reduce",
                      "rank 1 called broadcast")
    else:
        _expect_error(lambda: dist.broadcast(edunn.ones(3), src=0), "rank 0 called all_reduce",
                      "rank 1 called broadcast")


def check_checks_can_be_switched_off():
    os.environ["EDUNN_DISTRIBUTED_CHECKS"] = "0"
    try:
        t = edunn.tensor([1.0, 2.0]) * (R + 1)
        dist.all_reduce(t)
        assert t.tolist() == [3.0, 6.0]
    finally:
        del os.environ["EDUNN_DISTRIBUTED_CHECKS"]


def check_error_bad_arguments_are_local():
    _expect_error(lambda: dist.broadcast(edunn.ones(2), src=5), "src=5", kind=ValueError)
    _expect_error(lambda: dist.all_reduce(edunn.ones(2, dtype=edunn.int64), op=dist.ReduceOp.AVG),
                  "AVG needs a floating-point tensor")
    _expect_error(lambda: dist.all_gather([edunn.zeros(2)], edunn.ones(2)), "list of 2", kind=ValueError)
    _expect_error(lambda: dist.all_reduce([1.0, 2.0]), "must be a Tensor", kind=TypeError)
    _expect_error(lambda: dist.all_reduce(edunn.ones(2), op="sum"), "ReduceOp", kind=TypeError)


def check_error_timeout_when_a_rank_skips():
    group = dist.new_group([0, 1], timeout=datetime.timedelta(seconds=1))
    if R == 0:
        start = time.monotonic()
        msg = _expect_error(lambda: dist.all_reduce(edunn.ones(4), group=group), "timed out after 1 s",
                            kind=dist.DistBackendError)
        assert "rank 0" in msg and time.monotonic() - start < 10
        _expect_error(lambda: dist.all_reduce(edunn.ones(4), group=group), "cannot be used anymore")
    dist.barrier()      # the default group is untouched by the broken one


run_checks(dict(globals()), R)
dist.destroy_process_group()
