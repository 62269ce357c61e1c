"""One process (MPI's singleton start): the newer parts of edunn.distributed with world size 1,
where every reduction is the identity and every hook must give DDP's plain gradient."""
import os
import sys
import warnings

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from _checks import TIMEOUT, run_checks  # noqa: E402

import numpy as np  # noqa: E402

import edunn  # noqa: E402
import edunn.distributed as dist  # noqa: E402
from edunn import nn  # noqa: E402
from edunn.distributed.algorithms.ddp_comm_hooks import default_hooks  # noqa: E402
from edunn.nn.parallel import DistributedDataParallel as DDP  # noqa: E402


def check_group_world_and_pg_count():
    assert dist.group.WORLD is None and dist.get_pg_count() == 0
    dist.init_process_group("mpi", timeout=TIMEOUT)
    assert dist.group.WORLD is dist.GroupMember.WORLD is not None
    assert dist.get_pg_count() == 1
    dist.new_group([0])
    assert dist.get_pg_count() == 2
    assert dist.get_backend_config() == "cpu:mpi,cuda:mpi"


def check_world_of_one_collectives():
    out = edunn.zeros(3)
    dist.reduce_scatter(out, [edunn.tensor([1.0, 2.0, 3.0])])
    assert out.tolist() == [1.0, 2.0, 3.0]
    a, b = edunn.tensor([1.0, 2.0]), edunn.tensor([[3.0]])
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        dist.all_reduce_coalesced([a, b], op=dist.ReduceOp.AVG)
        outs = [[edunn.zeros(2), edunn.zeros(1, 1)]]
        dist.all_gather_coalesced(outs, [a, b])
    assert a.tolist() == [1.0, 2.0] and b.tolist() == [[3.0]]
    assert outs[0][0].tolist() == [1.0, 2.0] and outs[0][1].tolist() == [[3.0]]
    mine, groups = dist.new_subgroups(group_size=1)
    assert len(groups) == 1 and dist.get_process_group_ranks(mine) == [0]
    assert dist.split_group(split_ranks=[[0]]) is not None
    try:
        dist.send_object_list([1], dst=0)
    except ValueError as e:
        assert "should not be the same" in str(e)
    else:
        raise AssertionError("sending to oneself was accepted")


def check_hooks_with_world_of_one():
    rng = np.random.default_rng(3)
    x = edunn.tensor(rng.normal(size=(4, 3)).astype(np.float32))
    edunn.manual_seed(5)
    ref = nn.Linear(3, 2)
    ref(x).sum().backward()
    for hook, tol in ((default_hooks.allreduce_hook, 0), (default_hooks.fp16_compress_hook, 1e-3),
                      (default_hooks.bf16_compress_hook, 1e-2)):
        edunn.manual_seed(5)
        model = nn.Linear(3, 2)
        ddp = DDP(model)
        ddp.register_comm_hook(None, hook)
        ddp(x).sum().backward()
        for p, q in zip(model.parameters(), ref.parameters()):
            np.testing.assert_allclose(p.grad.numpy(), q.grad.numpy(), rtol=tol, atol=tol)
    ddp = DDP(nn.Linear(3, 2))
    try:
        ddp._register_builtin_comm_hook("ALLREDUCE")
    except TypeError as e:
        assert "BuiltinCommHookType" in str(e)
    else:
        raise AssertionError("a string was accepted as a BuiltinCommHookType")


def check_device_mesh_of_one():
    mesh = dist.init_device_mesh("cpu", (1, 1), mesh_dim_names=("dp", "tp"))
    assert mesh.get_coordinate() == (0, 0) and mesh["tp"].mesh.tolist() == [0]
    assert mesh.mesh.dtype == edunn.int32 and mesh.get_rank() == 0
    assert repr(mesh["dp"]) == "DeviceMesh('cpu', [0], mesh_dim_names=('dp',))"
    for args, fragment in ((((1,),), "mesh_shape and mesh_dim_names should have same length"),
                           (((1, 1),), "Each mesh_dim_name must be unique")):
        names = ("a", "b") if "same length" in fragment else ("a", "a")
        try:
            dist.init_device_mesh("cpu", *args, mesh_dim_names=names)
        except RuntimeError as e:
            assert fragment in str(e), str(e)
        else:
            raise AssertionError(fragment)
    try:
        dist.init_device_mesh("cpu", (1,))["dp"]
    except RuntimeError as e:
        assert "without mesh_dim_names" in str(e)
    else:
        raise AssertionError("sliced a mesh without names")
    sub = dist.DeviceMesh.from_group(dist.group.WORLD, "cpu", mesh_dim_names=("w",))
    assert sub.get_group("w") is dist.group.WORLD and sub.size() == 1


def check_destroy_resets_pg_count():
    dist.destroy_process_group()
    assert dist.get_pg_count() == 0 and dist.group.WORLD is None


run_checks(dict(globals()), 0)
