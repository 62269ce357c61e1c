"""``init_process_group``, ``new_group``, ``destroy_process_group`` (lesson 18).

How the processes find each other:

* ``backend="mpi"``: the MPI launcher already did it -- ``mpiexec -n 4 python train.py`` starts
  four processes and ``MPI.COMM_WORLD`` knows each one's rank.  ``init_method``, ``rank`` and
  ``world_size`` are not needed (if given they must agree with MPI's).
* ``new_subgroups``/``new_subgroups_by_enumeration``/``split_group`` cut the world into several
  disjoint groups at once (each process gets the one it belongs to) -- the building block of 2-D
  parallelism, where a process reduces gradients with its "data-parallel" peers and exchanges
  activations with its "model-parallel" peers.
* ``shrink_group`` is the one group maker that not every member calls: the survivors of a group
  that lost processes build a smaller one without them.
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
    """False: edunn has no Gloo (its CPU backend is MPI)."""
    return False


def is_ucc_available() -> bool:
    """False: edunn has no UCC backend (Unified Collective Communication, PyTorch's optional
    backend over UCX)."""
    return False


def is_xccl_available() -> bool:
    """False: edunn has no XCCL backend (PyTorch's backend for Intel GPUs)."""
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
        comm, dev, store = _nccl.connect(init_method, store, world_size, rank, device_id, timeout)
        pg = ProcessGroup("nccl", list(range(comm.size)), comm, timeout, group_name, dev)
    _state.store = store
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
        _state.store = None
        _state.launch_ranks = None
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


SHRINK_DEFAULT = 0
SHRINK_ABORT = 1


def shrink_group(ranks_to_exclude: list[int], group: ProcessGroup | None = None,
                 shrink_flags: int = SHRINK_DEFAULT, pg_options: Any | None = None) -> ProcessGroup:
    """A new group of the ranks of ``group`` (default: the world) that are not in
    ``ranks_to_exclude`` (ranks *in* ``group``) -- how a job carries on after some processes died.

    Unlike ``new_group``, only the surviving processes call it: the excluded ones may be gone.
    MPI builds the new communicator with ``MPI_Comm_create_group``, which is collective over the
    new group alone; NCCL makes a new communicator from a unique id the first survivor hands out
    through the default group's store (or through MPI under ``mpiexec``), as PyTorch's NCCL
    backend does with ``ncclCommShrink``.  ``group`` is destroyed.  Shrinking the default group
    makes the new group the default one (its ranks renumbered ``0 .. n-1``, as
    ``get_rank()`` reports) and destroys every other group, whose ranks no longer mean anything.
    ``shrink_flags=SHRINK_ABORT`` aborts the parent's pending NCCL work first; on MPI, whose
    communicators cannot be aborted without ending the job, it behaves as ``SHRINK_DEFAULT``.
    ``pg_options`` is accepted for PyTorch's signature; edunn's groups have no options.
    """
    if not isinstance(ranks_to_exclude, list):
        raise TypeError(f"ranks_to_exclude must be a list, but got {type(ranks_to_exclude).__name__}. "
                        f"Example: [1, 3, 5] to exclude ranks 1, 3, and 5.")
    if not ranks_to_exclude:
        raise ValueError("ranks_to_exclude cannot be empty. To shrink a group, you must specify at least "
                         "one rank to exclude. Example: [failed_rank_id]")
    if not isinstance(shrink_flags, int) or shrink_flags not in (SHRINK_DEFAULT, SHRINK_ABORT):
        raise ValueError(f"Invalid shrink_flags value: {shrink_flags}. Must be one of: SHRINK_DEFAULT "
                         f"({SHRINK_DEFAULT}) or SHRINK_ABORT ({SHRINK_ABORT}). Use SHRINK_ABORT to abort "
                         f"ongoing operations before shrinking.")
    pg = resolve(group)
    if pg is None:
        raise RuntimeError("shrink_group: this process is not a member of the group it was asked to shrink")
    size, me = pg.size(), pg.rank()
    if size <= 1:
        raise ValueError(f"Cannot shrink a process group with size {size}. "
                         f"Group must have at least 2 ranks to support shrinking.")
    excluded: set = set()
    for i, rank in enumerate(ranks_to_exclude):
        if not isinstance(rank, int):
            raise TypeError(f"All elements in ranks_to_exclude must be integers. "
                            f"Element at index {i} is {type(rank).__name__}: {rank}")
        if not 0 <= rank < size:
            raise ValueError(f"Rank {rank} at index {i} is out of bounds for group size {size}. "
                             f"Valid ranks are in range [0, {size - 1}].")
        if rank in excluded:
            raise ValueError(f"Duplicate rank {rank} found in ranks_to_exclude at index {i}. "
                             f"Each rank can only be excluded once.")
        excluded.add(rank)
    if len(excluded) >= size:
        raise ValueError(f"Cannot exclude all {size} ranks from process group. "
                         f"At least one rank must remain. Excluding {len(excluded)} ranks.")
    if me in excluded:
        raise RuntimeError(f"Current rank {me} is in the exclusion list and should not call shrink_group(). "
                           f"Only non-excluded ranks should participate in the shrinking operation. "
                           f"Excluded ranks should terminate their processes instead.")
    survivors = [r for r in range(size) if r not in excluded]      # ranks in ``pg``
    survivors_global = [pg._ranks[r] for r in survivors]
    comm = pg.comm.shrink(survivors, _share_among(survivors_global), shrink_flags == SHRINK_ABORT)
    is_default = pg is _state.default_pg
    if is_default:
        for other in _state.groups:
            if other is not pg and other.comm is not None:
                other.comm.destroy()
        if _state.launch_ranks is not None:
            _state.launch_ranks = [_state.launch_ranks[r] for r in survivors_global]
        else:
            _state.launch_ranks = survivors_global
        new = ProcessGroup(pg._backend, list(range(len(survivors))), comm, pg.timeout, pg.group_name, pg.device)
        _state.default_pg = new
        _state.groups = [new]
        GroupMember.WORLD = new
    else:
        new = ProcessGroup(pg._backend, survivors_global, comm, pg.timeout, pg.group_name, pg.device)
        _state.groups.remove(pg)
        _state.groups.append(new)
    _state.group_count += 1
    pg.comm.destroy()
    return new


def _share_among(global_ranks: list) -> Any:
    """``share(payload)``: the bytes the first process of ``global_ranks`` passes, on each of them,
    without the other processes -- through the default group's store, or else (processes started
    by ``mpiexec``) an MPI communicator of just these processes.  (NCCL's unique id travels so.)"""
    key = f"edunn/shrink/{_state.group_count}/{global_ranks}"

    def share(payload: bytes | None) -> bytes:
        store = _state.store
        if store is not None:
            if payload is not None:
                store.set(key, payload)
            store.wait([key])
            return store.get(key)
        launch = _state.launch_ranks
        world = _mpi.world_comm()
        sub = world.shrink([launch[g] if launch is not None else g for g in global_ranks], None, False)
        try:
            return sub.comm.bcast(payload, root=0)
        finally:
            sub.destroy()
    return share
