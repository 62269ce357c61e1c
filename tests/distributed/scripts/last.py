"""The last names of torch.distributed on 2 MPI processes: ``all_gather_single`` and
``reduce_scatter_single`` (both output forms), ``record_comm`` (the profiler's name for a
collective) and ``shrink_group`` (a subgroup, then the world, shrunk by the survivors alone).
Rank r holds ``BASE * (r + 1)``; every expected value is computed here from that."""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _checks import TIMEOUT, run_checks  # noqa: E402

import numpy as np  # noqa: E402

import edunn  # noqa: E402
import edunn.distributed as dist  # noqa: E402
from edunn import profiler  # noqa: E402

dist.init_process_group("mpi", timeout=TIMEOUT)
R, P = dist.get_rank(), dist.get_world_size()
assert P == 2, "launch with mpiexec -n 2"
BASE = np.array([[1.5, -2.0, 3.0], [0.5, 4.0, -1.0]])


def held(rank):
    return BASE * (rank + 1)


def _expect_error(fn, fragment, kind=Exception):
    try:
        fn()
    except kind as e:
        assert fragment in str(e), (fragment, str(e))
        return
    raise AssertionError(f"no {kind.__name__} containing {fragment!r}")


def check_all_gather_single_both_forms():
    mine = edunn.tensor(held(R))
    cat = edunn.zeros(4, 3, dtype=edunn.float64)
    assert dist.all_gather_single(cat, mine) is None
    np.testing.assert_array_equal(cat.numpy(), np.concatenate([held(0), held(1)]))
    stack = edunn.zeros(2, 2, 3, dtype=edunn.float64)
    work = dist.all_gather_single(stack, mine, async_op=True)
    work.wait()
    np.testing.assert_array_equal(stack.numpy(), np.stack([held(0), held(1)]))
    _expect_error(lambda: dist.all_gather_single(edunn.zeros(3, 3, dtype=edunn.float64), mine),
                  "edunn.distributed.all_gather_single: output_tensor must have shape", ValueError)


def check_reduce_scatter_single_both_forms():
    full = np.arange(12, dtype=np.float64).reshape(4, 3) * (R + 1)
    total = np.arange(12, dtype=np.float64).reshape(4, 3) * 3          # (1 + 2) * arange
    out = edunn.zeros(2, 3, dtype=edunn.float64)
    dist.reduce_scatter_single(out, edunn.tensor(full))
    np.testing.assert_array_equal(out.numpy(), total[2 * R:2 * R + 2])
    dist.reduce_scatter_single(out, edunn.tensor(full.reshape(2, 2, 3)), op=dist.ReduceOp.MAX)
    np.testing.assert_array_equal(out.numpy(), (total / 3 * 2)[2 * R:2 * R + 2])
    _expect_error(lambda: dist.reduce_scatter_single(out, edunn.tensor(full[:3])),
                  "edunn.distributed.reduce_scatter_single: input must hold 2 x output", ValueError)


def check_record_comm_names_the_collective_in_the_profiler():
    t = edunn.ones(3)
    with profiler.profile() as prof:
        dist.all_reduce(t)
        with dist.record_comm("grads of layer1"):
            dist.all_reduce(t)
            with dist.record_comm("inner"):
                dist.broadcast(t, src=0)
            work = dist.all_reduce(t, async_op=True)
        work.wait()
        dist.all_reduce(t)
    names = [e.name for e in prof.events()]
    assert names.count("mpi:all_reduce") == 2, names
    assert names.count("grads of layer1") == 2 and names.count("inner") == 1, names
    np.testing.assert_array_equal(t.numpy(), np.full(3, 16.0))


def check_shrink_errors():
    _expect_error(lambda: dist.shrink_group([R]), f"Current rank {R} is in the exclusion list", RuntimeError)
    _expect_error(lambda: dist.shrink_group([2]), "Rank 2 at index 0 is out of bounds for group size 2",
                  ValueError)
    _expect_error(lambda: dist.shrink_group([1 - R, 1 - R]), f"Duplicate rank {1 - R} found", ValueError)
    _expect_error(lambda: dist.shrink_group([0, 1]), "Cannot exclude all 2 ranks", ValueError)
    _expect_error(lambda: dist.shrink_group(["1"]), "must be integers", TypeError)
    alone = dist.new_group([R]) if R == 0 else dist.new_group([0])
    if R == 0:
        _expect_error(lambda: dist.shrink_group([0], group=alone),
                      "Cannot shrink a process group with size 1", ValueError)
    dist.barrier()


def check_shrink_a_subgroup_then_the_world():
    pair = dist.new_group([0, 1])
    other = dist.new_group([0, 1])
    if R == 0:                       # rank 1 "died": only rank 0 shrinks, rank 1 does not call
        small = dist.shrink_group([1], group=pair)
        assert dist.get_process_group_ranks(small) == [0] and dist.get_world_size(small) == 1
        assert dist.get_rank(small) == 0
        t = edunn.tensor([2.0])
        dist.all_reduce(t, group=small)
        assert t.item() == 2.0
        _expect_error(lambda: dist.get_rank(pair), "destroyed", ValueError)
        world = dist.shrink_group([1])
        assert dist.group.WORLD is world and dist.get_world_size() == 1 and dist.get_rank() == 0
        _expect_error(lambda: dist.get_rank(other), "destroyed", ValueError)   # other groups go
        t = edunn.tensor([5.0])
        dist.all_reduce(t)
        assert t.item() == 5.0
    else:
        assert dist.get_world_size(other) == 2


run_checks(dict(globals()), R)
dist.destroy_process_group()
