"""The ``"mpi"`` backend: collectives on mpi4py's non-blocking MPI calls (lesson 18).

MPI (the Message Passing Interface) is the standard library of collectives that supercomputers
have used since 1994; ``mpiexec -n 4 python train.py`` starts four copies of a script, and
``MPI.COMM_WORLD`` tells each its rank.  MPICH and Open MPI implement ``MPI_Allreduce`` with the
algorithms lesson 18 draws: recursive doubling for small messages (log2(p) rounds of pairwise
exchanges) and, for large ones, a reduce-scatter followed by an all-gather -- the same two phases
as NCCL's ring, each rank sending about 2(p-1)/p of the data whatever the number of processes.

Every call here is the *non-blocking* form (``Iallreduce``, ``Ibcast`` ...) returning a request;
``Work.wait`` tests it in a loop until a deadline, so a rank that never arrives gives an error
instead of a hang.  Arrays handed to this file are contiguous NumPy arrays: CUDA tensors are
copied to the host first (explicitly, in ``_collectives.py``) -- MPI here is a CPU transport.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ._group import ReduceOp

np = backend.xp_for(backend.device("cpu"))

_MPI = None


def mpi() -> Any:
    """``mpi4py.MPI``, imported on first use (importing it initialises MPI)."""
    global _MPI
    if _MPI is None:
        try:
            from mpi4py import MPI
        except ImportError as e:
            raise RuntimeError(
                "the 'mpi' backend needs mpi4py and an MPI library: `pip install edunn[distributed]` "
                f"(mpi4py and mpich) ({e})") from e
        _MPI = MPI
    return _MPI


def is_mpi_available() -> bool:
    try:
        import mpi4py  # noqa: F401  (only the package: this does not start MPI)
    except ImportError:
        return False
    return True


class MPIComm:
    """One MPI communicator and the array operations ``_collectives.py`` needs.

    Every method takes contiguous NumPy arrays, starts the operation and returns
    ``(test, abort)``: ``test()`` is true once the data has arrived."""

    host = True          # arrays travel through host memory
    name = "mpi"

    def __init__(self, comm: Any) -> None:
        self.comm = comm
        self.rank = comm.Get_rank()
        self.size = comm.Get_size()

    # -- reductions: MPI's operators, and the dtypes MPI cannot reduce --------------------------
    def reduce_plan(self, np_dtype: Any, op: ReduceOp.RedOpType) -> tuple:
        """``(dtype to reduce in, MPI operator)`` for ``op`` on arrays of ``np_dtype``.

        MPI has no ``bool`` sum nor ``bfloat16``: booleans are reduced as ``uint8`` with SUM as a
        logical or (MAX) and PRODUCT as a logical and (MIN), as PyTorch does; bfloat16 and float16
        (which only some MPIs reduce) are reduced in float32 and rounded back."""
        MPI = mpi()
        kind = np.dtype(np_dtype).kind
        work = np.dtype(np_dtype)
        if kind == "b":
            work = np.dtype(np.uint8)
            op = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}.get(op, op)
        elif work.name in ("bfloat16", "float16"):
            work = np.dtype(np.float32)   # not every MPI reduces float16 (Open MPI does not)
        table = {ReduceOp.SUM: MPI.SUM, ReduceOp.AVG: MPI.SUM, ReduceOp.PRODUCT: MPI.PROD,
                 ReduceOp.MIN: MPI.MIN, ReduceOp.MAX: MPI.MAX, ReduceOp.BAND: MPI.BAND,
                 ReduceOp.BOR: MPI.BOR, ReduceOp.BXOR: MPI.BXOR}
        return work, table[op]

    @staticmethod
    def _req(req: Any) -> tuple:
        return req.Test, None

    def all_reduce(self, buf: Any, op: Any) -> tuple:
        return self._req(self.comm.Iallreduce(mpi().IN_PLACE, buf, op))

    def reduce(self, buf: Any, op: Any, root: int) -> tuple:
        if self.rank == root:
            return self._req(self.comm.Ireduce(mpi().IN_PLACE, buf, op, root))
        return self._req(self.comm.Ireduce(buf, None, op, root))

    def reduce_scatter(self, send: Any, recv: Any, op: Any) -> tuple:
        return self._req(self.comm.Ireduce_scatter_block(send, recv, op))

    # -- moving bytes: any dtype, viewed as uint8 ----------------------------------------------
    def broadcast(self, buf: Any, root: int) -> tuple:
        return self._req(self.comm.Ibcast(_bytes(buf), root))

    def all_gather(self, send: Any, recv: Any) -> tuple:
        return self._req(self.comm.Iallgather(_bytes(send), _bytes(recv)))

    def gather(self, send: Any, recv: Any | None, root: int) -> tuple:
        return self._req(self.comm.Igather(_bytes(send), None if recv is None else _bytes(recv), root))

    def scatter(self, send: Any | None, recv: Any, root: int) -> tuple:
        return self._req(self.comm.Iscatter(None if send is None else _bytes(send), _bytes(recv), root))

    def all_to_all(self, send: Any, send_counts: list, recv: Any, recv_counts: list) -> tuple:
        """Rank ``r`` gets ``send_counts[r]`` bytes of ``send`` (in rank order) and puts the
        ``recv_counts[i]`` bytes from rank ``i`` in ``recv`` (``MPI_Ialltoallv``)."""
        return self._req(self.comm.Ialltoallv([_bytes(send), (send_counts, _displs(send_counts))],
                                              [_bytes(recv), (recv_counts, _displs(recv_counts))]))

    def barrier(self) -> tuple:
        return self._req(self.comm.Ibarrier())

    def send(self, buf: Any, dst: int, tag: int) -> tuple:
        return self._req(self.comm.Isend(_bytes(buf), dst, tag))

    def recv(self, buf: Any, src: int | None, tag: int) -> tuple:
        """Returns ``(test, abort, source)``: ``source()`` is the sender's rank, once arrived."""
        MPI = mpi()
        status = MPI.Status()
        req = self.comm.Irecv(_bytes(buf), MPI.ANY_SOURCE if src is None else src, tag)

        def test() -> bool:
            return req.Test(status)

        def abort() -> None:
            req.Cancel()
        return test, abort, status.Get_source

    # -- groups ------------------------------------------------------------------------------
    def split(self, ranks: list) -> "MPIComm | None":
        """A communicator for the (group) ranks ``ranks``, ordered as listed; ``None`` on a
        process that is not in it.  ``MPI_Comm_split`` is collective over this communicator."""
        MPI = mpi()
        member = self.rank in ranks
        color = 0 if member else MPI.UNDEFINED
        key = ranks.index(self.rank) if member else 0
        sub = self.comm.Split(color, key)
        return MPIComm(sub) if member else None

    def shrink(self, ranks: list, share: Any, abort: bool) -> "MPIComm":
        """A communicator for the ranks ``ranks`` of this one, made by them alone
        (``MPI_Comm_create_group`` is collective over the new group only, so ranks that died do
        not block it).  ``share`` is for NCCL; MPI cannot abort a communicator's pending requests
        short of ending the job, so ``abort`` changes nothing here."""
        sub = self.comm.Create_group(self.comm.Get_group().Incl(ranks))
        return MPIComm(sub)

    def destroy(self) -> None:
        if self.comm is not mpi().COMM_WORLD:
            try:
                self.comm.Free()
            except Exception:  # a communicator with a pending (timed-out) request cannot be freed
                pass


def _bytes(array: Any) -> Any:
    """The array's memory as flat ``uint8`` -- what broadcast/gather move, whatever the dtype
    (bfloat16 and bool included, which MPI has no type for)."""
    return array.reshape(-1).view(np.uint8)


def _displs(counts: list) -> list:
    out, at = [], 0
    for c in counts:
        out.append(at)
        at += c
    return out


def world_comm() -> MPIComm:
    return MPIComm(mpi().COMM_WORLD)


def broadcast_bytes(payload: bytes | None, root: int = 0) -> bytes:
    """Blocking broadcast of a few bytes over ``MPI.COMM_WORLD`` (used to hand NCCL's unique id
    from rank 0 to the others when the processes were started by ``mpiexec``)."""
    return mpi().COMM_WORLD.bcast(payload, root=root)

