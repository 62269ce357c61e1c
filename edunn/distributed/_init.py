"""``init_process_group``, ``new_group``, ``destroy_process_group`` (lesson 18).

How the processes find each other:

* ``backend="mpi"``: the MPI launcher already did it -- ``mpiexec -n 4 python train.py`` starts
  four processes and ``MPI.COMM_WORLD`` knows each one's rank.  ``init_method``, ``rank`` and
  ``world_size`` are not needed (if given they must agree with MPI's).
* ``new_subgroups``/``new_subgroups_by_enumeration``/``split_group`` cut the world into several
  disjoint groups at once (each process gets the one it belongs to) -- the building block of 2-D
  parallelism, where a process reduces gradients with its "data-parallel" peers and exchanges
  activations with its "model-parallel" peers.
* ``backend="nccl"``: NCCL needs every process to hold the same 128-byte *unique id* made by rank
  0.  Under ``mpiexec`` it is broadcast through MPI; otherwise through a *store* (a tiny shared
  key-value table): ``init_method="env://"`` (the default, PyTorch's: ``MASTER_ADDR``,
  ``MASTER_PORT``, ``RANK``, ``WORLD_SIZE`` from the environment; rank 0 serves a TCPStore),
  ``"tcp://host:port"``, ``"file:///shared/path"``, or a ``store=`` object.  Each process then
  uses GPU ``device_id`` (default ``cuda:(rank % device_count)``).
"""
from __future__ import annotations

import datetime
import os
from typing import Any

from ._group import (Backend, GroupMember, ProcessGroup, _state, as_timeout, default_group,
                     resolve)
from . import _mpi


def is_available() -> bool:
    """True: ``edunn.distributed`` is always importable (a backend may still be missing; see
    :func:`is_mpi_available`, :func:`is_nccl_available`)."""
    return True


def is_mpi_available() -> bool:
    """Whether mpi4py is installed (``pip install edunn[distributed]``)."""
    return _mpi.is_mpi_available()


def is_nccl_available() -> bool:
    """Whether CuPy with its NCCL bindings and a CUDA device are present."""
    from . import _nccl
    return _nccl.is_nccl_available()


def is_gloo_available() -> bool:
    return False


def is_torchelastic_launched() -> bool:
    return "TORCHELASTIC_RUN_ID" in os.environ


def init_process_group(backend: str | None = None, init_method: str | None = None,
                       timeout: datetime.timedelta | None = None, world_size: int = -1,
                       rank: int = -1, store: Any = None, group_name: str = "", pg_options: Any = None,
                       device_id: Any = None) -> None:
    """Create the default process group (``WORLD``) -- the first call of every distributed script.

    ``backend`` is ``"mpi"`` or ``"nccl"``; ``None`` picks ``"nccl"`` when ``device_id`` is a CUDA
    device and NCCL is available, else ``"mpi"``.  ``timeout`` (default 30 minutes) bounds every
    collective of the group: one that has not completed by then raises instead of hanging.
    ``group_name`` and ``pg_options`` are accepted for PyTorch's signature and have no effect.
    """
    if _state.default_pg is not None:
        raise ValueError("trying to initialize the default process group twice!")
    if store is not None and init_method is not None:
        raise ValueError("Cannot specify both init_method and store.")
    if backend is None:
        backend = "nccl" if (device_id is not None and is_nccl_available()) else "mpi"
    name = Backend(backend)
    timeout = as_timeout(timeout)
    if name == "mpi":
        comm = _mpi.world_comm()
        if world_size not in (-1, comm.size):
            raise ValueError(f"init_process_group(backend='mpi'): world_size={world_size}, but MPI "
                             f"started {comm.size} processes (mpiexec -n {comm.size})")
        if rank not in (-1, comm.rank):
            raise ValueError(f"init_process_group(backend='mpi'): rank={rank}, but MPI gave this "
                             f"process rank {comm.rank}")
        pg = ProcessGroup("mpi", list(range(comm.size)), comm, timeout, group_name)
    else:
        from . import _nccl
        comm, dev = _nccl.connect(init_method, store, world_size, rank, device_id, timeout)
        pg = ProcessGroup("nccl", list(range(comm.size)), comm, timeout, group_name, dev)
    _state.default_pg = pg
    _state.groups = [pg]
    _state.group_count = 1
    GroupMember.WORLD = pg


def new_group(ranks: list | None = None, timeout: datetime.timedelta | None = None,
              backend: str | None = None, pg_options: Any = None, use_local_synchronization: bool = False,
              group_desc: str | None = None, device_id: Any = None) -> Any:
    """A group of the global ``ranks`` (all of them when ``None``).  Every process must call it,
    members or not, with the same ``ranks``; a non-member gets ``GroupMember.NON_GROUP_MEMBER``,
    on which collectives return at once.  ``backend`` must be the default group's."""
    world = default_group()
    if backend is not None and Backend(backend) != world._backend:
        raise ValueError(f"new_group: backend {backend!r} differs from the default group's "
                         f"{world._backend!r}; edunn groups share the default group's backend")
    members = list(range(world.size())) if ranks is None else sorted({int(r) for r in ranks})
    bad = [r for r in members if not 0 <= r < world.size()]
    if bad:
        raise ValueError(f"new_group: ranks {bad} are not ranks of the world of size {world.size()}")
    from ._collectives import _agree
    _agree(world, "new_group", f"ranks={members}")   # every rank asked for the same group
    sub = world.comm.split(members)
    pg = ProcessGroup(world._backend, members, sub, as_timeout(timeout) if timeout else world.timeout,
                      group_desc or "", world.device)
    _state.groups.append(pg)
    _state.group_count += 1
    if sub is None:
        return GroupMember.NON_GROUP_MEMBER
    return pg


def destroy_process_group(group: Any = None) -> None:
    """Free ``group``'s communicator; with ``None``, every group and the default one (after which
    ``init_process_group`` may be called again)."""
    if group is None or group is GroupMember.WORLD:
        default_group()
        for pg in _state.groups:
            if pg.comm is not None:
                pg.comm.destroy()
        _state.default_pg = None
        _state.groups = []
        _state.group_count = 0
        GroupMember.WORLD = None
        return
    if group is GroupMember.NON_GROUP_MEMBER:
        return
    pg = resolve(group)
    if pg.comm is not None:
        pg.comm.destroy()
    _state.groups.remove(pg)



def new_subgroups(group_size: int | None = None, group: Any = None, timeout: datetime.timedelta | None = None,
                  backend: str | None = None, pg_options: Any = None, group_desc: str | None = None) -> tuple:
    """Cut ``group`` (default: the world) into consecutive subgroups of ``group_size`` ranks
    (default: the number of GPUs of a machine, i.e. one subgroup per machine).  Every process must
    call it.  Returns ``(this process's subgroup, all subgroups)``."""
    from .. import cuda
    if group_size is None:
        if not cuda.is_available():
            raise ValueError("Default group size only takes effect when CUDA is available.If your "
                             "subgroup using a backend that does not depend on CUDA,please pass in "
                             "'group_size' correctly.")
        group_size = cuda.device_count()
    if group_size <= 0:
        raise ValueError(f"The arg 'group_size' ({group_size}) must be positive")
    ranks = list(range(default_group().size())) if group is None else _member_ranks(group)
    if group_size > len(ranks):
        raise ValueError(f"The arg 'group_size' ({group_size}) must not exceed the world size "
                         f"({len(ranks)})")
    if len(ranks) % group_size:
        raise ValueError(f"The world size ({len(ranks)}) must be divisible by 'group_size={group_size}'")
    lists = [ranks[i:i + group_size] for i in range(0, len(ranks), group_size)]
    return new_subgroups_by_enumeration(lists, timeout, backend, pg_options, group_desc)


def new_subgroups_by_enumeration(ranks_per_subgroup_list: list, timeout: datetime.timedelta | None = None,
                                 backend: str | None = None, pg_options: Any = None,
                                 group_desc: str | None = None) -> tuple:
    """One subgroup per list of global ranks in ``ranks_per_subgroup_list`` (disjoint lists).
    Every process must call it.  Returns ``(this process's subgroup or None, all subgroups)``."""
    if not ranks_per_subgroup_list:
        raise ValueError("The arg 'ranks_per_subgroup_list' cannot be empty")
    seen: dict = {}
    for i, ranks in enumerate(ranks_per_subgroup_list):
        for r in ranks:
            if r in seen:
                raise ValueError(f"Rank {r} has appeared in both subgroup {seen[r]} and "
                                 f"{list(ranks_per_subgroup_list[i])}")
            seen[r] = list(ranks)
    me = default_group().rank()
    subgroups, mine = [], None
    for ranks in ranks_per_subgroup_list:
        pg = new_group(ranks=list(ranks), timeout=timeout, backend=backend, pg_options=pg_options,
                       group_desc=group_desc)
        subgroups.append(pg)
        if me in ranks:
            mine = pg
    return mine, subgroups


def split_group(parent_pg: Any = None, split_ranks: list | None = None,
                timeout: datetime.timedelta | None = None, pg_options: Any = None,
                group_desc: str | None = None, backend: str | None = None) -> Any:
    """Split ``parent_pg`` (default: the world) into the disjoint groups ``split_ranks`` (lists
    of global ranks) and return the one this process is in (``None`` if none).  Every process of
    the parent must call it."""
    if not split_ranks:
        raise ValueError("split_ranks cannot be None or empty")
    parent = _member_ranks(parent_pg) if parent_pg is not None else list(range(default_group().size()))
    outside = sorted({r for ranks in split_ranks for r in ranks} - set(parent))
    if outside:
        raise ValueError(f"split_group: ranks {outside} are not in the parent group {parent}")
    mine, _ = new_subgroups_by_enumeration(split_ranks, timeout, backend, pg_options, group_desc)
    return mine


def _member_ranks(group: Any) -> list:
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return list(pg._ranks)
