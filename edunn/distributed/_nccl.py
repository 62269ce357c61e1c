"""The ``"nccl"`` backend: collectives on NVIDIA's NCCL through CuPy (lesson 18).

NCCL runs collectives as CUDA kernels that move data GPU to GPU (NVLink, PCIe, InfiniBand)
without going through host memory.  Its all-reduce is the *ring*: the ``p`` GPUs form a ring, the
tensor is cut into ``p`` chunks, and in ``p-1`` reduce-scatter steps each GPU adds the chunk it
receives from its left neighbour to its own and passes the sum to its right; in ``p-1`` all-gather
steps the finished chunks go round once more.  Every link carries ``2(p-1)/p`` of the tensor, in
parallel, so the time hardly grows with the number of GPUs (trees are used for latency-bound
small messages).

A call here only *enqueues* the kernel on the current CUDA stream and returns; the ``Work``
records a CUDA event after it, and ``Work.wait`` polls ``event.done`` until the group's timeout,
then aborts the communicator (``ncclCommAbort``) instead of hanging.  Ops that NCCL lacks are
composed: AVG is SUM then a division (in ``_collectives.py``), gather and scatter are grouped
point-to-point sends and receives.

NCCL cannot run on a machine without NVIDIA GPUs; this file is exercised by the GPU suite.
"""
from __future__ import annotations

import datetime
from typing import Any

from .. import backend
from ._group import ReduceOp, launched_by_mpiexec

np = backend.xp_for(backend.device("cpu"))


def nccl() -> Any:
    lib = backend.cuda_nccl()
    if lib is None:
        raise RuntimeError("the 'nccl' backend needs CuPy with NCCL on a machine with an NVIDIA GPU: "
                           "CUDA is not available (install edunn[gpu]); use backend='mpi' on CPUs")
    return lib


def _uid_bytes(uid: Any) -> bytes:
    """NCCL's unique id as 128 bytes (CuPy >= 14 gives bytes, older CuPy a tuple of ints)."""
    if isinstance(uid, (bytes, bytearray)):
        return bytes(uid)
    return np.asarray(uid, np.int8).tobytes()


def _communicator(size: int, raw: bytes, rank: int) -> Any:
    """``ncclCommInitRank`` from the id's bytes, in whichever form this CuPy takes it."""
    lib = nccl()
    try:
        return lib.NcclCommunicator(size, bytes(raw), rank)
    except TypeError:
        return lib.NcclCommunicator(size, tuple(int(v) for v in np.frombuffer(raw, np.int8)), rank)


def is_nccl_available() -> bool:
    return backend.cuda_available() and backend.cuda_nccl() is not None


class NCCLComm:
    """One NCCL communicator (one GPU of this process) with the array operations of
    ``_collectives.py``; every method takes contiguous CuPy arrays on ``device``."""

    host = False
    name = "nccl"

    def __init__(self, comm: Any, rank: int, size: int, device: Any) -> None:
        self.comm, self.rank, self.size, self.device = comm, rank, size, device

    def _dtype(self, np_dtype: Any) -> int:
        lib = nccl()
        name = np.dtype(np_dtype).name
        table = {"int8": "NCCL_INT8", "uint8": "NCCL_UINT8", "int32": "NCCL_INT32",
                 "uint32": "NCCL_UINT32", "int64": "NCCL_INT64", "uint64": "NCCL_UINT64",
                 "float16": "NCCL_FLOAT16", "float32": "NCCL_FLOAT32", "float64": "NCCL_FLOAT64",
                 "bfloat16": "NCCL_BFLOAT16"}
        const = getattr(lib, table.get(name, ""), None)
        if const is None:
            raise RuntimeError(f"NCCL cannot reduce tensors of dtype {name}")
        return const

    def reduce_plan(self, np_dtype: Any, op: ReduceOp.RedOpType) -> tuple:
        """``(dtype to reduce in, NCCL operator)``.  Bool: uint8 with SUM as MAX (or) and PRODUCT
        as MIN (and), as PyTorch; int16 and bfloat16 (on an NCCL without it) through a wider
        type; NCCL has no bitwise reductions."""
        lib = nccl()
        work = np.dtype(np_dtype)
        if work.kind == "b":
            work = np.dtype(np.uint8)
            op = {ReduceOp.SUM: ReduceOp.MAX, ReduceOp.PRODUCT: ReduceOp.MIN}.get(op, op)
        elif work.name == "int16":
            work = np.dtype(np.int32)
        elif work.name == "bfloat16" and getattr(lib, "NCCL_BFLOAT16", None) is None:
            work = np.dtype(np.float32)
        if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR):
            raise RuntimeError(f"ReduceOp.{op.name} is not available with the 'nccl' backend "
                               "(NCCL has no bitwise reductions); use the 'mpi' backend")
        table = {ReduceOp.SUM: lib.NCCL_SUM, ReduceOp.AVG: lib.NCCL_SUM, ReduceOp.PRODUCT: lib.NCCL_PROD,
                 ReduceOp.MIN: lib.NCCL_MIN, ReduceOp.MAX: lib.NCCL_MAX}
        return work, table[op]

    # -- completion: a CUDA event after the enqueued kernel ---------------------------------------
    def _stream(self) -> int:
        return backend.cupy.cuda.get_current_stream().ptr

    def _started(self) -> tuple:
        event = backend.cupy.cuda.Event(disable_timing=True)
        event.record()

        def test() -> bool:
            self.comm.check_async_error()
            return event.done
        return test, self.comm.abort

    def all_reduce(self, buf: Any, op: int) -> tuple:
        with backend.device_context(self.device):
            self.comm.allReduce(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf.dtype), op,
                                self._stream())
            return self._started()

    def reduce(self, buf: Any, op: int, root: int) -> tuple:
        with backend.device_context(self.device):
            self.comm.reduce(buf.data.ptr, buf.data.ptr, buf.size, self._dtype(buf.dtype), op, root,
                             self._stream())
            return self._started()

    def reduce_scatter(self, send: Any, recv: Any, op: int) -> tuple:
        with backend.device_context(self.device):
            self.comm.reduceScatter(send.data.ptr, recv.data.ptr, recv.size, self._dtype(recv.dtype), op,
                                    self._stream())
            return self._started()

    def broadcast(self, buf: Any, root: int) -> tuple:
        with backend.device_context(self.device):
            self.comm.broadcast(buf.data.ptr, buf.data.ptr, buf.nbytes, nccl().NCCL_UINT8, root,
                                self._stream())
            return self._started()

    def all_gather(self, send: Any, recv: Any) -> tuple:
        with backend.device_context(self.device):
            self.comm.allGather(send.data.ptr, recv.data.ptr, send.nbytes, nccl().NCCL_UINT8,
                                self._stream())
            return self._started()

    def gather(self, send: Any, recv: Any | None, root: int) -> tuple:
        lib, n = nccl(), send.nbytes
        with backend.device_context(self.device):
            lib.groupStart()
            try:
                if self.rank == root:
                    for r in range(self.size):
                        if r == root:
                            recv[r][...] = send
                        else:
                            self.comm.recv(recv[r].data.ptr, n, lib.NCCL_UINT8, r, self._stream())
                else:
                    self.comm.send(send.data.ptr, n, lib.NCCL_UINT8, root, self._stream())
            finally:
                lib.groupEnd()
            return self._started()

    def scatter(self, send: Any | None, recv: Any, root: int) -> tuple:
        lib, n = nccl(), recv.nbytes
        with backend.device_context(self.device):
            lib.groupStart()
            try:
                if self.rank == root:
                    for r in range(self.size):
                        if r == root:
                            recv[...] = send[r]
                        else:
                            self.comm.send(send[r].data.ptr, n, lib.NCCL_UINT8, r, self._stream())
                else:
                    self.comm.recv(recv.data.ptr, n, lib.NCCL_UINT8, root, self._stream())
            finally:
                lib.groupEnd()
            return self._started()

    def all_to_all(self, send: Any, send_counts: list, recv: Any, recv_counts: list) -> tuple:
        """Byte counts per rank, as ``MPI_Alltoallv``: grouped sends and receives."""
        lib = nccl()
        with backend.device_context(self.device):
            lib.groupStart()
            try:
                s_at = r_at = 0
                for r in range(self.size):
                    if send_counts[r]:
                        self.comm.send(send.data.ptr + s_at, send_counts[r], lib.NCCL_UINT8, r, self._stream())
                    if recv_counts[r]:
                        self.comm.recv(recv.data.ptr + r_at, recv_counts[r], lib.NCCL_UINT8, r, self._stream())
                    s_at += send_counts[r]
                    r_at += recv_counts[r]
            finally:
                lib.groupEnd()
            return self._started()

    def barrier(self) -> tuple:
        with backend.device_context(self.device):
            one = backend.cupy.ones(1, np.float32)
        return self.all_reduce(one, nccl().NCCL_SUM)

    def send(self, buf: Any, dst: int, tag: int) -> tuple:
        with backend.device_context(self.device):
            self.comm.send(buf.data.ptr, buf.nbytes, nccl().NCCL_UINT8, dst, self._stream())
            return self._started()

    def recv(self, buf: Any, src: int | None, tag: int) -> tuple:
        if src is None:
            raise RuntimeError("the 'nccl' backend cannot receive from any source: give src")
        with backend.device_context(self.device):
            self.comm.recv(buf.data.ptr, buf.nbytes, nccl().NCCL_UINT8, src, self._stream())
            test, abort = self._started()
        return test, abort, lambda: src

    def split(self, ranks: list) -> "NCCLComm | None":
        """A communicator for ``ranks`` (ranks of this one): the first of them makes a unique id,
        which reaches every process through a broadcast on this communicator."""
        lib = nccl()
        uid = np.zeros(128, np.int8)
        if self.rank == ranks[0]:
            uid[:] = np.frombuffer(_uid_bytes(lib.get_unique_id()), np.int8)
        with backend.device_context(self.device):
            dev_uid = backend.cupy.asarray(uid)
        self.broadcast(dev_uid, ranks[0])
        backend.cupy.cuda.get_current_stream().synchronize()
        if self.rank not in ranks:
            return None
        with backend.device_context(self.device):
            comm = _communicator(len(ranks), backend.to_numpy(dev_uid).tobytes(), ranks.index(self.rank))
        return NCCLComm(comm, ranks.index(self.rank), len(ranks), self.device)

    def shrink(self, ranks: list, share: Any, abort: bool) -> "NCCLComm":
        """A communicator for the ranks ``ranks`` of this one, made by them alone: the first makes a
        unique id and ``share`` hands it to the others (through a store or MPI -- not through this
        communicator, whose excluded ranks may be dead).  ``abort``: ``ncclCommAbort`` this one
        first, dropping its pending work."""
        if abort:
            self.comm.abort()
        mine = ranks.index(self.rank)
        raw = share(_uid_bytes(nccl().get_unique_id()) if mine == 0 else None)
        with backend.device_context(self.device):
            comm = _communicator(len(ranks), raw, mine)
        return NCCLComm(comm, mine, len(ranks), self.device)

    def destroy(self) -> None:
        self.comm.destroy()


def connect(init_method: str | None, store: Any, world_size: int, rank: int, device_id: Any,
            timeout: datetime.timedelta) -> tuple:
    """Create the world's NCCL communicator: agree on rank 0's unique id (through MPI when started
    by ``mpiexec`` without an ``init_method``, else through a store: ``store=``, or the one the
    rendezvous of ``init_method`` yields -- ``rendezvous.py``, as PyTorch, under the prefix
    ``default_pg``), pick this rank's GPU and call ``ncclCommInitRank``.  Returns
    ``(NCCLComm, device, store or None)``."""
    lib = nccl()
    if store is None and init_method is None and launched_by_mpiexec():
        from . import _mpi
        world = _mpi.world_comm()
        rank, world_size = world.rank, world.size
        ident = _mpi.broadcast_bytes(_uid_bytes(lib.get_unique_id()) if rank == 0 else None)
    else:
        if store is None:
            from ._store import PrefixStore
            from .rendezvous import rendezvous
            store, rank, world_size = next(rendezvous(init_method or "env://", rank, world_size,
                                                      timeout=timeout))
            store.set_timeout(timeout)
            store = PrefixStore("default_pg", store)
        elif rank < 0 or world_size < 0:
            raise ValueError("init_process_group(store=...) needs rank and world_size")
        if rank == 0:
            store.set("edunn/nccl_unique_id", _uid_bytes(lib.get_unique_id()))
        store.wait(["edunn/nccl_unique_id"], timeout)
        ident = store.get("edunn/nccl_unique_id")
    if not 0 <= rank < world_size:
        raise ValueError(f"init_process_group: rank {rank} is not in [0, {world_size})")
    count = backend.cuda_device_count()
    if device_id is None:
        dev = backend.device("cuda", rank % count)
    else:
        dev = backend.as_device(device_id if not isinstance(device_id, int) else f"cuda:{device_id}")
        if dev.type != "cuda":
            raise ValueError(f"init_process_group(backend='nccl'): device_id must be a CUDA device, "
                             f"but got {dev}")
    backend.cuda_set_device(dev.index)
    with backend.device_context(dev):
        comm = _communicator(world_size, ident, rank)
    return NCCLComm(comm, rank, world_size, dev), dev, store
