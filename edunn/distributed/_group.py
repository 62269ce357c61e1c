"""Process groups, the default group, ``ReduceOp`` and the ``Work`` handle (lesson 18).

A *process group* is a set of processes that run the same collectives in the same order.  Each
process has a *rank* (0 .. world_size-1) inside it.  ``init_process_group`` creates the default
group ``WORLD`` holding every process; ``new_group(ranks)`` carves sub-groups out of it.  Each
group owns a *communicator* from the backend that moves the bytes:

* ``"mpi"``  -- :mod:`edunn.distributed._mpi`, on mpi4py (any MPI; ``pip install mpi4py mpich``),
  processes started by ``mpiexec -n N python script.py``;
* ``"nccl"`` -- :mod:`edunn.distributed._nccl`, on CuPy's bindings of NVIDIA's NCCL, one process
  per GPU.

Both communicators offer the same small set of *array* operations (``all_reduce``,
``broadcast``, ``all_gather`` ...) that return a :class:`Work`; everything about tensors (devices,
dtypes, in-place writes, checks that the ranks agree) lives once, in ``_collectives.py``.
"""
from __future__ import annotations

import contextlib
import datetime
import enum
import os
import time
from typing import Any, Callable, Iterator

from ..futures import Future

# PyTorch's default: a collective that has not completed after 30 minutes is an error.
default_pg_timeout = datetime.timedelta(minutes=30)

_NOT_INIT = ("Default process group has not been initialized, please make sure to call "
             "init_process_group.")


class Backend(str):
    """A backend name, as ``torch.distributed.Backend``: ``Backend("MPI") == "mpi"``."""

    UNDEFINED = "undefined"
    GLOO = "gloo"
    NCCL = "nccl"
    MPI = "mpi"
    backend_list = [UNDEFINED, GLOO, NCCL, MPI]
    # edunn has no Gloo; "cpu:mpi,cuda:nccl" style strings are PyTorch's, not ours.
    _available = ("mpi", "nccl")
    # which device types each backend moves, and the backend a device type gets by default
    # (PyTorch's default for cpu is gloo; edunn's is mpi)
    backend_capability = {MPI: ["cpu", "cuda"], NCCL: ["cuda"]}
    default_device_backend_map = {"cpu": MPI, "cuda": NCCL}

    def __new__(cls, name: str) -> "Backend":
        if not isinstance(name, str):
            raise ValueError(f"Backend name must be a string, but got: {name!r}")
        value = name.lower()
        if value not in cls._available:
            raise ValueError(
                f"Invalid backend: '{name}'. edunn.distributed has the backends 'mpi' (mpi4py: "
                "`pip install edunn[distributed]`) and 'nccl' (CuPy on NVIDIA GPUs)"
                + ("; there is no Gloo in edunn, use 'mpi' for CPU tensors" if value == "gloo" else ""))
        return super().__new__(cls, value)


class ReduceOp:
    """How a reduction combines the ranks' values, as ``torch.distributed.ReduceOp``.

    ``SUM``, ``PRODUCT``, ``MIN``, ``MAX`` work on every dtype; ``AVG`` (floating point only) is
    done as a ``SUM`` followed by a division by the group's size; ``BAND``/``BOR``/``BXOR`` need
    integer or bool tensors.  ``ReduceOp.SUM`` is a ``ReduceOp.RedOpType`` member, as in PyTorch.
    """

    class RedOpType(enum.IntEnum):
        SUM = 0
        AVG = 1
        PRODUCT = 2
        MIN = 3
        MAX = 4
        BAND = 5
        BOR = 6
        BXOR = 7
        PREMUL_SUM = 8
        UNUSED = 9

    SUM = RedOpType.SUM
    AVG = RedOpType.AVG
    PRODUCT = RedOpType.PRODUCT
    MIN = RedOpType.MIN
    MAX = RedOpType.MAX
    BAND = RedOpType.BAND
    BOR = RedOpType.BOR
    BXOR = RedOpType.BXOR
    PREMUL_SUM = RedOpType.PREMUL_SUM
    UNUSED = RedOpType.UNUSED

    def __init__(self, op: "ReduceOp.RedOpType" = RedOpType.SUM) -> None:
        self.op = as_red_op(op)

    def __eq__(self, other: object) -> bool:
        other_op = other.op if isinstance(other, ReduceOp) else other
        return self.op == other_op

    def __hash__(self) -> int:
        return hash(self.op)

    def __repr__(self) -> str:
        return f"ReduceOp.{self.op.name}"


def as_red_op(op: Any) -> ReduceOp.RedOpType:
    """``op`` as a ``RedOpType`` member; a clear error for anything else."""
    if isinstance(op, ReduceOp):
        op = op.op
    if isinstance(op, ReduceOp.RedOpType):
        if op in (ReduceOp.PREMUL_SUM, ReduceOp.UNUSED):
            raise ValueError(f"ReduceOp.{op.name} is not supported by edunn.distributed; use SUM, AVG, "
                             "PRODUCT, MIN, MAX, BAND, BOR or BXOR")
        return op
    raise TypeError(f"op must be a torch.distributed.ReduceOp (edunn.distributed.ReduceOp.SUM ...), "
                    f"but got {op!r}")


def supports_complex(reduceOp: ReduceOp) -> bool:
    """Whether ``reduceOp`` is defined on complex tensors (PyTorch's table): ``SUM``, ``AVG`` and
    ``PREMUL_SUM`` are; ``MAX``/``MIN`` are not (complex numbers have no order), nor ``PRODUCT``
    (PyTorch reduces complex tensors as pairs of reals, ``view_as_real``, which is right for a
    sum but not for a product) nor the bitwise ``BAND``/``BOR``/``BXOR``."""
    deny = [ReduceOp.MAX, ReduceOp.MIN, ReduceOp.PRODUCT, ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR]
    return reduceOp not in deny


@contextlib.contextmanager
def record_comm(name: str) -> Iterator[None]:
    """Within the block, every collective is named ``name`` in the profiler instead of its
    default ``"<backend>:<collective>"`` (``"mpi:all_reduce"``), as ``torch.distributed.
    record_comm``: ``with dist.record_comm("grads of layer1"): dist.all_reduce(g)`` makes the
    time spent waiting for that all-reduce a range ``"grads of layer1"`` in
    ``edunn.profiler.profile``'s table.  The name is given to each ``Work`` when it is created
    and the range covers its ``wait``; blocks nest, the inner name wins."""
    prev = _state.comm_name
    _state.comm_name = name
    try:
        yield
    finally:
        _state.comm_name = prev


class DistError(RuntimeError):
    """Base of the errors ``edunn.distributed`` raises for communication failures (as
    ``torch.distributed.DistError``)."""


class DistNetworkError(DistError):
    """A network failure (a peer cannot be reached)."""


class DistStoreError(DistError):
    """A key-value store failed (a ``get``/``wait`` timed out, say)."""


class QueueEmptyError(DistStoreError):
    """A store queue had nothing to pop."""


class DistBackendError(DistError):
    """A backend failed (as ``torch.distributed.DistBackendError``): a timed-out or aborted
    collective; the group cannot be used afterwards."""


class Work:
    """A running collective, returned by every collective called with ``async_op=True``.

    ``wait()`` blocks until the data has arrived (in place in the tensors you passed), raising a
    ``DistBackendError`` when the group's timeout passes first; ``is_completed()`` asks without
    blocking.  The backend gives ``test()`` (a non-blocking check, ``MPI_Test`` or a CUDA event
    query) and ``abort()``; ``finish`` copies results into the tensors once, after completion.
    """

    def __init__(self, test: Callable[[], bool], finish: Callable[[], Any] | None, group: "ProcessGroup",
                 name: str, abort: Callable[[], None] | None = None, result: Any = None) -> None:
        self._test = test
        self._finish = finish
        self._group = group
        self._name = name
        self._abort = abort
        self._done = False
        self._exception: BaseException | None = None
        self._result = result
        # the profiler's name for it: record_comm's name, else e.g. "mpi:all_reduce"
        self._profiling_name = _state.comm_name or f"{group._backend}:{name}"

    def is_completed(self) -> bool:
        if self._done or self._exception is not None:
            return True
        if self._test():
            self._complete()
            return True
        return False

    def _complete(self) -> None:
        if not self._done:
            self._done = True
            if self._finish is not None:
                self._finish()

    def wait(self, timeout: datetime.timedelta | None = None) -> bool:
        """Block until the collective has finished (polling the backend, so that a rank that never
        arrives ends in an error after ``timeout`` -- the group's timeout by default)."""
        if self._exception is not None:
            raise self._exception
        if self._done:
            return True
        limit = self._group.timeout if timeout is None else timeout
        from ..profiler import record_function   # (imported here: the profiler imports autograd)
        with record_function(self._profiling_name):
            poll(self._test, limit, self._group, self._name, self._abort, self)
            self._complete()
        return True

    def is_success(self) -> bool:
        return self.is_completed() and self._exception is None

    def exception(self) -> BaseException | None:
        return self._exception

    def result(self) -> list:
        self.wait()
        return list(self._result or [])

    def synchronize(self) -> None:
        self.wait()

    def get_future(self) -> Future:
        """An :class:`edunn.futures.Future` whose value is the list of output tensors, once the
        work is done (``done()`` tests the work, ``wait()`` waits for it with the group's
        time-out; an error of the work becomes the future's error)."""
        fut: Future = Future()

        def drive() -> None:
            try:
                value = self.result()
            except Exception as e:
                fut.set_exception(e)
                return
            fut.set_result(value)
        return fut._drive_with(self.is_completed, drive)

    def __repr__(self) -> str:
        state = "completed" if self._done else "failed" if self._exception else "running"
        return f"<edunn.distributed.Work {self._name} {state}>"


def poll(test: Callable[[], bool], timeout: datetime.timedelta, group: "ProcessGroup", name: str,
         abort: Callable[[], None] | None = None, work: Work | None = None) -> None:
    """Call ``test()`` until it returns True or ``timeout`` passes.

    Why poll instead of a blocking call: a blocking ``MPI_Allreduce`` waits forever for a rank
    that crashed or skipped the collective; a non-blocking request tested in a loop lets us give
    up at a deadline, mark the group as broken and raise.  The loop sleeps a little between tests
    (growing to 1 ms) so that a waiting rank does not steal a CPU core from the ones computing.
    """
    if test():
        return
    deadline = time.monotonic() + timeout.total_seconds()
    nap = 0.0
    while not test():
        if time.monotonic() > deadline:
            group._broken = (f"{name} timed out after {timeout.total_seconds():g} s")
            if abort is not None:
                abort()
            err = DistBackendError(
                f"edunn.distributed.{name} on rank {group.rank()} (of {group.size()} in its group) timed "
                f"out after {timeout.total_seconds():g} s: some rank never joined the collective "
                "(did every process call it, with the same group, in the same order?). The process "
                "group cannot be used anymore; call destroy_process_group().")
            if work is not None:
                work._exception = err
            raise err
        if nap:
            time.sleep(nap)
        nap = min(0.001, nap + 0.0001)


class ProcessGroup:
    """A set of ranks and the backend communicator that connects them (``ProcessGroup`` in PyTorch).

    ``ranks`` are global ranks (in ``WORLD``), sorted; ``comm`` is ``None`` on a process that is
    not a member (PyTorch's ``GroupMember.NON_GROUP_MEMBER``: collectives on it return at once)."""

    def __init__(self, backend: str, ranks: list, comm: Any, timeout: datetime.timedelta,
                 name: str = "", device: Any = None) -> None:
        self._backend = Backend(backend)
        self._ranks = list(ranks)
        self.comm = comm
        self.timeout = timeout
        self.group_name = name
        self.device = device          # the device collective tensors must live on (nccl)
        self._broken: str | None = None

    def rank(self) -> int:
        return self.comm.rank if self.comm is not None else -1

    def size(self) -> int:
        return len(self._ranks)

    def name(self) -> str:
        return self._backend

    def _get_backend_name(self) -> str:
        return self._backend

    def __repr__(self) -> str:
        return f"<ProcessGroup backend={self._backend} ranks={self._ranks}>"


class GroupMember:
    """``GroupMember.WORLD`` is the default group once initialised; ``NON_GROUP_MEMBER`` is what
    ``new_group`` returns on a process that is not in ``ranks``."""

    WORLD: ProcessGroup | None = None
    NON_GROUP_MEMBER = object()


class _State:
    default_pg: ProcessGroup | None = None
    groups: list = []
    group_count = 0
    store: Any = None          # the store the default group met through (None: mpiexec)
    comm_name: str | None = None   # record_comm's profiling name, while one is active
    launch_ranks: list | None = None   # MPI_COMM_WORLD rank of each global rank after shrink_group


_state = _State()


def is_initialized() -> bool:
    """Whether ``init_process_group`` has run (and ``destroy_process_group`` has not since)."""
    return _state.default_pg is not None


def default_group() -> ProcessGroup:
    """The default group, or PyTorch's error when there is none."""
    pg = _state.default_pg
    if pg is None:
        raise RuntimeError(_NOT_INIT)
    return pg


def resolve(group: Any) -> ProcessGroup | None:
    """``group`` as a ``ProcessGroup`` (``None`` -> the default one); ``None`` on a non-member."""
    pg = default_group()
    if group is None or group is GroupMember.WORLD:
        return pg
    if group is GroupMember.NON_GROUP_MEMBER:
        return None
    if not isinstance(group, ProcessGroup):
        raise TypeError(f"group must be a ProcessGroup from edunn.distributed.new_group() or None, "
                        f"but got {type(group).__name__}")
    if group not in _state.groups:
        raise ValueError("the process group was destroyed (destroy_process_group) or was made "
                         "before the current init_process_group")
    return group


def get_rank(group: Any = None) -> int:
    """This process's rank in ``group`` (default: the world); -1 when it is not a member."""
    pg = resolve(group)
    return -1 if pg is None else pg.rank()


def get_world_size(group: Any = None) -> int:
    """How many processes ``group`` (default: the world) holds; -1 when this one is not in it."""
    pg = resolve(group)
    return -1 if pg is None else pg.size()


def get_backend(group: Any = None) -> str:
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return pg._backend


def get_process_group_ranks(group: Any) -> list:
    """The global ranks of ``group``, in group-rank order."""
    pg = resolve(group)
    if pg is None:
        raise ValueError("Invalid process group specified")
    return list(pg._ranks)


def get_global_rank(group: Any, group_rank: int) -> int:
    ranks = get_process_group_ranks(group)
    if not 0 <= group_rank < len(ranks):
        raise ValueError(f"Group rank {group_rank} is not part of group {ranks}")
    return ranks[group_rank]


def get_group_rank(group: Any, global_rank: int) -> int:
    ranks = get_process_group_ranks(group)
    if global_rank not in ranks:
        raise ValueError(f"Global rank {global_rank} is not part of group {ranks}")
    return ranks.index(global_rank)


def as_timeout(timeout: Any) -> datetime.timedelta:
    if timeout is None:
        return default_pg_timeout
    if isinstance(timeout, datetime.timedelta):
        return timeout
    raise TypeError(f"timeout must be a datetime.timedelta, but got {type(timeout).__name__}")


def launched_by_mpiexec() -> bool:
    """Whether this process was started by an MPI launcher (its environment says so)."""
    return any(k in os.environ for k in ("PMI_RANK", "PMI_SIZE", "PMIX_RANK", "OMPI_COMM_WORLD_RANK",
                                         "MPI_LOCALRANKID", "HYDRA_CONTROL_FD"))
