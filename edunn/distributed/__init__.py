"""``edunn.distributed``: process groups and collectives with PyTorch's shape (lesson 18).

Data parallelism runs one process per device, each with a full copy of the model and its own
slice of every batch; after ``backward`` the processes *all-reduce* their gradients (sum them,
then divide by the number of processes) so that every copy takes the same optimizer step --
exactly the step one process would take on the whole batch.  This package provides the
collectives that make this possible, on two real engines:

* ``"mpi"`` on mpi4py (``pip install edunn[distributed]``; start with
  ``mpiexec -n 2 python train.py``), for CPU tensors -- CUDA tensors are copied through the host;
* ``"nccl"`` on CuPy's NCCL bindings, one process per GPU, tensors stay on the GPU.

```python
import edunn.distributed as dist
dist.init_process_group("mpi")
t = edunn.tensor([float(dist.get_rank())])
dist.all_reduce(t)                  # in place: every rank now holds 0 + 1 + ... + (p-1)
```

Files: ``_group.py`` (groups, ``ReduceOp``, ``Work``, time-outs), ``_init.py``
(``init_process_group``, ``new_group``, ``shrink_group``), ``_collectives.py`` (the collectives on tensors),
``_objects.py`` (pickled objects through them), ``_coalesced.py`` (lists of tensors in one
collective), ``_p2p.py`` (``batch_isend_irecv``, objects to one rank), ``_config.py`` (debug
level, backend configuration, options records, ``breakpoint``), ``_comm_hooks.py`` (what DDP
communication hooks see), ``device_mesh.py`` (``DeviceMesh``: ranks in an n-d grid), ``_mpi.py`` and ``_nccl.py`` (the two engines),
``_store.py`` (the key-value stores NCCL uses to meet), ``rendezvous.py`` (which store a URL
``init_method`` names: ``env://``, ``tcp://``, ``file://`` and schemes you register).  Importing this package is cheap: mpi4py
and CuPy's NCCL are imported by ``init_process_group``.
"""
from ._group import (Backend, DistBackendError, DistError, DistNetworkError, DistStoreError, Future,
                     GroupMember, ProcessGroup, QueueEmptyError, ReduceOp, Work, default_pg_timeout,
                     get_backend, get_global_rank, get_group_rank, get_process_group_ranks, get_rank,
                     get_world_size, is_initialized, record_comm, supports_complex)
from ._init import (destroy_process_group, init_process_group, is_available, is_gloo_available,
                    is_mpi_available, is_nccl_available, is_torchelastic_launched, is_ucc_available,
                    is_xccl_available, new_group, new_subgroups, new_subgroups_by_enumeration,
                    shrink_group, split_group)
from ._collectives import (all_gather, all_gather_into_tensor, all_reduce, all_to_all,
                           all_to_all_single, barrier, broadcast, gather, irecv, isend,
                           monitored_barrier, recv, reduce, reduce_scatter_tensor, scatter, send)
from ._coalesced import (all_gather_coalesced, all_gather_single, all_reduce_coalesced, reduce_scatter,
                         reduce_scatter_single)
from ._objects import (all_gather_object, broadcast_object_list, gather_object,
                       scatter_object_list)
from ._p2p import P2POp, batch_isend_irecv, recv_object_list, send_object_list
from ._config import (AllToAllOptions, AllreduceCoalescedOptions, AllreduceOptions, BackendConfig,
                      BarrierOptions, BroadcastOptions, DebugLevel, GatherOptions, GroupName,
                      ReduceOptions, ReduceScatterOptions, ScatterOptions, breakpoint,
                      get_backend_config, get_debug_level, get_default_backend_for_device,
                      get_node_local_rank, get_pg_count, group, is_backend_available, reduce_op,
                      set_debug_level, set_debug_level_from_env)
from ._comm_hooks import BuiltinCommHookType, GradBucket
from .device_mesh import DeviceMesh, init_device_mesh
from ._store import FileStore, HashStore, PrefixStore, Store, TCPStore
from .rendezvous import register_rendezvous_handler, rendezvous  # (the function hides the module)

__all__ = [
    "FileStore", "HashStore", "PrefixStore", "Store", "TCPStore",
    "Backend", "DistBackendError", "DistError", "DistNetworkError", "DistStoreError", "Future",
    "GroupMember", "ProcessGroup", "QueueEmptyError", "ReduceOp", "Work",
    "default_pg_timeout", "get_backend", "get_global_rank", "get_group_rank",
    "get_process_group_ranks", "get_rank", "get_world_size", "is_initialized",
    "destroy_process_group", "init_process_group", "is_available", "is_gloo_available",
    "is_mpi_available", "is_nccl_available", "is_torchelastic_launched", "new_group",
    "new_subgroups", "new_subgroups_by_enumeration", "split_group",
    "all_gather", "all_gather_coalesced", "all_gather_into_tensor", "all_gather_object",
    "all_reduce", "all_reduce_coalesced", "all_to_all", "all_to_all_single", "barrier",
    "batch_isend_irecv", "broadcast", "broadcast_object_list", "gather", "gather_object", "irecv",
    "isend", "monitored_barrier", "P2POp", "recv", "recv_object_list", "reduce", "reduce_scatter",
    "reduce_scatter_tensor", "scatter", "scatter_object_list", "send", "send_object_list",
    "AllToAllOptions", "AllreduceCoalescedOptions", "AllreduceOptions", "BackendConfig",
    "BarrierOptions", "BroadcastOptions", "DebugLevel", "GatherOptions", "GroupName",
    "ReduceOptions", "ReduceScatterOptions", "ScatterOptions", "breakpoint", "get_backend_config",
    "get_debug_level", "get_default_backend_for_device", "get_node_local_rank", "get_pg_count",
    "group", "is_backend_available", "reduce_op", "set_debug_level", "set_debug_level_from_env",
    "BuiltinCommHookType", "GradBucket", "DeviceMesh", "init_device_mesh",
    "all_gather_single", "reduce_scatter_single", "is_ucc_available", "is_xccl_available",
    "supports_complex", "record_comm", "shrink_group", "rendezvous", "register_rendezvous_handler",
]
