"""The rest of torch.distributed's everyday API in edunn.distributed: names and signatures
against PyTorch's, the parts that need no process group (debug level, backend configuration,
options records, errors, ``group``, ``reduce_op``), the errors before ``init_process_group``,
then two launches: a world of one (MPI's singleton start) and ``mpiexec -n 2``
(``scripts/more_api.py``: results compared with what one process computes on the combined data)."""
import datetime
import inspect
import os
import warnings

import pytest

import edunn
import edunn.distributed as dist
from edunn.distributed.algorithms.ddp_comm_hooks import default_hooks
from edunn.nn.parallel import DistributedDataParallel

from _mpi_harness import assert_passed, check_names, launch
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson18

NEW = ["reduce_scatter", "reduce_scatter_tensor", "all_gather_coalesced", "all_reduce_coalesced",
       "send_object_list", "recv_object_list", "P2POp", "batch_isend_irecv", "new_subgroups",
       "new_subgroups_by_enumeration", "split_group", "get_backend_config", "is_backend_available",
       "get_default_backend_for_device", "get_node_local_rank", "get_pg_count", "breakpoint"]
OPTIONS = ["AllToAllOptions", "AllreduceCoalescedOptions", "AllreduceOptions", "BarrierOptions",
           "BroadcastOptions", "GatherOptions", "ReduceOptions", "ReduceScatterOptions", "ScatterOptions"]
HOOKS = ["allreduce_hook", "fp16_compress_hook", "bf16_compress_hook", "fp16_compress_wrapper",
         "bf16_compress_wrapper"]


def _params(fn):
    return [(p.name, p.kind, p.default) for p in inspect.signature(fn).parameters.values()]


@needs_torch
@pytest.mark.parametrize("name", NEW)
def test_signature_matches_torch(name):
    assert _params(getattr(dist, name)) == _params(getattr(torch.distributed, name))


@needs_torch
def test_other_signatures_match_torch():
    import torch.distributed.algorithms.ddp_comm_hooks.default_hooks as th
    for name in HOOKS:
        assert [p[0] for p in _params(getattr(default_hooks, name))] == \
            [p[0] for p in _params(getattr(th, name))], name
    ddp = torch.nn.parallel.DistributedDataParallel
    for name in ("register_comm_hook", "_register_builtin_comm_hook"):
        assert [p[0] for p in _params(getattr(DistributedDataParallel, name))] == \
            [p[0] for p in _params(getattr(ddp, name))], name
    assert [p[0] for p in _params(dist.BackendConfig)] == [p[0] for p in _params(torch.distributed.BackendConfig)]
    assert _params(dist.init_device_mesh)[:2] == _params(torch.distributed.init_device_mesh)[:2]
    public = [p for p in _params(torch.distributed.DeviceMesh.__init__) if not p[0].startswith("_")]
    assert [p for p in _params(dist.DeviceMesh.__init__) if not p[0].startswith("_")] == public
    for name in [n for n in dir(torch.distributed.DeviceMesh) if not n.startswith("_")]:
        theirs = getattr(torch.distributed.DeviceMesh, name)
        ours = getattr(dist.DeviceMesh, name)
        if callable(theirs):
            assert [p[0] for p in _params(ours)] == [p[0] for p in _params(theirs)], name
        else:
            assert isinstance(ours, property), name


@needs_torch
def test_names_match_torch():
    td = torch.distributed
    for name in NEW + OPTIONS + ["group", "GroupName", "DebugLevel", "get_debug_level", "set_debug_level",
                                 "set_debug_level_from_env", "DistError", "DistNetworkError",
                                 "DistStoreError", "QueueEmptyError", "BackendConfig", "reduce_op",
                                 "GradBucket", "BuiltinCommHookType"]:
        assert hasattr(dist, name) and hasattr(td, name), name
        assert name in dist.__all__, name
    theirs = {k: v.value for k, v in td.BuiltinCommHookType.__members__.items()}
    assert {k: v.value for k, v in dist.BuiltinCommHookType.__members__.items()} == theirs
    assert {k: int(v) for k, v in dist.DebugLevel.__members__.items()} == \
        {k: int(v) for k, v in td.DebugLevel.__members__.items()}
    public = {n for n in dir(td.GradBucket) if not n.startswith("_")}
    assert public <= {n for n in dir(dist.GradBucket) if not n.startswith("_")}
    assert all(callable(getattr(default_hooks, m)) for m in HOOKS)


@needs_torch
def test_error_classes_mirror_torch():
    td = torch.distributed
    for name in ["DistError", "DistNetworkError", "DistStoreError", "QueueEmptyError", "DistBackendError"]:
        ours = [c.__name__ for c in getattr(dist, name).__mro__]
        theirs = [c.__name__ for c in getattr(td, name).__mro__]
        assert ours == theirs, name


@needs_torch
@pytest.mark.parametrize("name", OPTIONS)
def test_options_records_have_torchs_fields_and_defaults(name):
    ours, theirs = getattr(dist, name)(), getattr(torch.distributed, name)()
    fields = sorted(k for k in dir(theirs) if not k.startswith("_"))
    assert sorted(k for k in dir(ours) if not k.startswith("_")) == fields
    for k in fields:
        a, b = getattr(ours, k), getattr(theirs, k)
        if k == "reduceOp":
            assert int(a.op) == int(b.op)
        elif k == "device":
            assert a is None and b is None
        else:
            assert a == b, (name, k, a, b)
    ours.asyncOp = False
    assert ours.asyncOp is False
    with pytest.raises(AttributeError, match="has no attribute"):
        ours.rootRnak = 1


def test_debug_level(monkeypatch):
    before = dist.get_debug_level()
    try:
        dist.set_debug_level(dist.DebugLevel.DETAIL)
        assert dist.get_debug_level() is dist.DebugLevel.DETAIL
        monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "info")
        dist.set_debug_level_from_env()
        assert dist.get_debug_level() is dist.DebugLevel.INFO
        monkeypatch.setenv("TORCH_DISTRIBUTED_DEBUG", "LOUD")
        with pytest.raises(ValueError, match="must be OFF, INFO, or DETAIL"):
            dist.set_debug_level_from_env()
        with pytest.raises(TypeError, match="DebugLevel"):
            dist.set_debug_level(2)
    finally:
        dist.set_debug_level(before)


def test_backend_config_and_availability():
    assert str(dist.BackendConfig("mpi")) == "cpu:mpi,cuda:mpi"
    assert dist.BackendConfig("NCCL").get_device_backend_map() == {"cuda": "nccl"}
    assert str(dist.BackendConfig("cpu:mpi,cuda:nccl")) == "cpu:mpi,cuda:nccl"
    assert str(dist.BackendConfig("undefined")) in ("cpu:mpi", "cuda:nccl")
    with pytest.raises(ValueError, match="Invalid backend"):
        dist.BackendConfig("gloo")
    with pytest.raises(ValueError, match="custom backend string"):
        dist.BackendConfig("cpu:mpi:x")
    assert dist.is_backend_available("mpi") == dist.is_mpi_available()
    assert dist.is_backend_available("nccl") == dist.is_nccl_available()
    assert dist.is_backend_available("gloo") is False and dist.is_backend_available("ucc") is False
    assert dist.is_backend_available("cpu:mpi") == dist.is_mpi_available()
    with pytest.raises(TypeError, match="str"):
        dist.is_backend_available(None)


@needs_torch
def test_default_backend_for_device():
    assert dist.get_default_backend_for_device("cuda:1") == "nccl" == \
        torch.distributed.get_default_backend_for_device("cuda:1")
    assert dist.get_default_backend_for_device(edunn.device("cpu")) == "mpi"   # PyTorch's: gloo
    with pytest.raises(RuntimeError, match="device type"):
        dist.get_default_backend_for_device("meta")


@needs_torch
def test_node_local_rank(monkeypatch):
    for key in ("LOCAL_RANK", "MPI_LOCALRANKID", "OMPI_COMM_WORLD_LOCAL_RANK"):
        monkeypatch.delenv(key, raising=False)
    assert dist.get_node_local_rank(fallback_rank=3) == 3 == torch.distributed.get_node_local_rank(3)
    with pytest.raises(RuntimeError) as ours:
        dist.get_node_local_rank()
    with pytest.raises(RuntimeError) as theirs:
        torch.distributed.get_node_local_rank()
    assert str(ours.value) == str(theirs.value)
    monkeypatch.setenv("LOCAL_RANK", "2")
    assert dist.get_node_local_rank() == 2 == torch.distributed.get_node_local_rank()


@needs_torch
def test_reduce_op_is_deprecated():
    with pytest.warns(FutureWarning, match="reduce_op` is deprecated"):
        assert dist.reduce_op.SUM == dist.ReduceOp.SUM
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert sorted(dist.reduce_op.__members__) == sorted(torch.distributed.reduce_op.__members__)


def test_before_init():
    assert dist.group.WORLD is None and dist.get_pg_count() == 0
    assert dist.GroupName("pg0") == "pg0"
    for call in (lambda: dist.reduce_scatter(edunn.zeros(2), [edunn.zeros(2)]),
                 lambda: dist.send_object_list([1], dst=1), lambda: dist.recv_object_list([None]),
                 lambda: dist.P2POp(dist.isend, edunn.zeros(2), 1), lambda: dist.new_subgroups(1),
                 lambda: dist.get_backend_config(), lambda: dist.breakpoint(timeout_s=None),
                 lambda: dist.init_device_mesh("cpu", (1,))):
        with pytest.raises(RuntimeError, match="Default process group has not been initialized"):
            call()
    with pytest.raises(ValueError, match="Invalid ``op``"):
        dist.P2POp(dist.send, edunn.zeros(2), 1)
    with pytest.raises(ValueError, match="cannot be empty"):
        dist.new_subgroups_by_enumeration([])
    with pytest.raises(ValueError, match="split_ranks cannot be None"):
        dist.split_group()


def test_store_errors_are_dist_errors(tmp_path):
    store = dist.FileStore(str(tmp_path / "store"), 1)
    with pytest.raises(dist.DistStoreError, match="timed out"):
        store.wait(["missing"], datetime.timedelta(milliseconds=50))


@pytest.fixture(scope="module")
def single():
    return launch("more_single.py", mpi=False, timeout=60)


@pytest.mark.parametrize("check", check_names("more_single.py"))
def test_world_of_one(single, check):
    assert_passed(single, check, range(1))


@pytest.fixture(scope="module")
def two():
    return launch("more_api.py", n=2, timeout=90, extra_env={"OMP_NUM_THREADS": os.environ.get("OMP_NUM_THREADS", "1")})


@pytest.mark.parametrize("check", check_names("more_api.py"))
def test_two_processes(two, check):
    assert_passed(two, check, range(2))
