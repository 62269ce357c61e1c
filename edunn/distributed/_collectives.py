"""Collectives on tensors: ``all_reduce``, ``broadcast``, ``all_gather`` ... (lesson 18).

A *collective* is an operation that every process of a group calls, in the same order, and that
combines their tensors.  The one that data-parallel training needs is ``all_reduce``: every rank
starts with its own gradient and ends with the sum over all ranks.  The obvious way (send
everything to rank 0, add, send back) makes rank 0's link carry ``(p-1) * n`` numbers each way.
The *ring* all-reduce that NCCL uses cuts the tensor into ``p`` chunks and passes chunks around a
ring of processes: ``p-1`` steps of *reduce-scatter* (each rank adds the chunk it receives to its
own and passes the sum on, so that after them rank ``r`` owns the full sum of chunk ``r``), then
``p-1`` steps of *all-gather* (the finished chunks travel once more round the ring).  Each rank
sends ``2 (p-1)/p * n`` numbers in all -- almost independent of the number of processes, which is
why data parallelism scales.

Every function here works in place on ``tensor._data`` (and bumps the tensor's version counter,
as an in-place op does), then:

1. checks that it may run (an initialised group, a tensor on a device the backend can read:
   CPU or CUDA for ``mpi`` -- CUDA tensors are copied through the host, explicitly, because our
   MPI is a CPU transport -- and this rank's GPU for ``nccl``);
2. exchanges a small *header* (what each rank passed: shape, dtype, op, root) and raises the same
   clear ``RuntimeError`` on every rank if they differ -- without it a rank passing 4 numbers and
   another passing 6 would read garbage or wait forever;
3. starts the backend's non-blocking operation and returns a :class:`Work` (``async_op=True``)
   or waits for it, polling until the group's timeout.

The header costs one small all-gather per collective, done before the data moves even with
``async_op=True`` (on NCCL it also reads 256 bytes per rank back to the host).  PyTorch checks
only under ``TORCH_DISTRIBUTED_DEBUG=DETAIL``; here it is on unless the environment variable
``EDUNN_DISTRIBUTED_CHECKS=0`` turns it off.  With NCCL, waiting for a collective means waiting
on the host for a CUDA event (PyTorch instead lets the stream wait and watches time-outs from a
background thread): simpler, and a collective that never completes still ends in an error.
"""
from __future__ import annotations

import datetime
import os
from typing import Any, Callable

from .. import backend
from ..tensor import Tensor
from ._group import (DistBackendError, ReduceOp, Work, as_red_op, as_timeout, poll, resolve)

np = backend.xp_for(backend.device("cpu"))
_HEADER_BYTES = 256


# ---------------------------------------------------------------------------------------- checks
def _group(group: Any, name: str):
    pg = resolve(group)
    if pg is not None and pg._broken:
        raise DistBackendError(f"edunn.distributed.{name}: the process group cannot be used anymore "
                               f"({pg._broken}); call destroy_process_group()")
    return pg


def _tensor(t: Any, name: str, arg: str = "tensor") -> Tensor:
    if not isinstance(t, Tensor):
        raise TypeError(f"edunn.distributed.{name}: {arg} must be a Tensor, but got {type(t).__name__}")
    if t.is_sparse:
        raise RuntimeError(f"edunn.distributed.{name}: {arg} is a sparse tensor; collectives move "
                           "dense (strided) tensors only")
    return t


def _begin(tensor: Any, group: Any, name: str) -> Any:
    """The checks every one-tensor collective starts with: a dense tensor, a usable group (None
    when this rank is not in it: the call is then a no-op), a device the backend can move."""
    _tensor(tensor, name)
    pg = _group(group, name)
    if pg is not None:
        _device(pg, tensor, name)
    return pg


def _device(pg: Any, t: Tensor, name: str, arg: str = "tensor") -> None:
    if pg._backend == "nccl":
        if t.device.type != "cuda":
            raise RuntimeError(
                f"edunn.distributed.{name}: the 'nccl' backend moves CUDA tensors only, but {arg} is "
                f"on {t.device}; move it with .to({str(pg.device)!r}) (or use the 'mpi' backend for "
                "CPU tensors)")
        if t.device != pg.device:
            raise RuntimeError(
                f"edunn.distributed.{name}: this rank's NCCL communicator works on {pg.device}, but "
                f"{arg} is on {t.device}")


def _like(ref: Tensor, t: Tensor, name: str, arg: str) -> None:
    if t.shape != ref.shape or t.dtype != ref.dtype:
        raise RuntimeError(f"edunn.distributed.{name}: every tensor in {arg} must have the input's "
                           f"shape {list(ref.shape)} and dtype {ref.dtype}, but one has shape "
                           f"{list(t.shape)} and dtype {t.dtype}")


def _check_op(op: Any, dtype: Any, name: str) -> ReduceOp.RedOpType:
    op = as_red_op(op)
    if op == ReduceOp.AVG and not (dtype.is_floating_point or dtype.is_complex):
        raise RuntimeError(f"edunn.distributed.{name}: ReduceOp.AVG needs a floating-point tensor, "
                           f"but got {dtype} (use SUM and divide)")
    if op in (ReduceOp.BAND, ReduceOp.BOR, ReduceOp.BXOR) and (dtype.is_floating_point or dtype.is_complex):
        raise RuntimeError(f"edunn.distributed.{name}: ReduceOp.{op.name} needs an integer or bool "
                           f"tensor, but got {dtype}")
    if op in (ReduceOp.MIN, ReduceOp.MAX) and dtype.is_complex:
        raise RuntimeError(f"edunn.distributed.{name}: ReduceOp.{op.name} is undefined for complex "
                           f"tensors ({dtype})")
    return op


def _root(pg: Any, rank: int | None, group_rank: int | None, name: str, arg: str) -> int:
    """The root's rank inside ``pg`` from a global ``src``/``dst`` or a ``group_src``/``group_dst``."""
    if rank is not None and group_rank is not None:
        raise ValueError(f"edunn.distributed.{name}: give {arg} or group_{arg}, not both")
    if group_rank is not None:
        if not 0 <= group_rank < pg.size():
            raise ValueError(f"edunn.distributed.{name}: group_{arg}={group_rank} is not a rank of a "
                             f"group of size {pg.size()}")
        return int(group_rank)
    if rank is None:
        raise ValueError(f"edunn.distributed.{name}: the root rank {arg} (or group_{arg}) must be given")
    if int(rank) not in pg._ranks:
        raise ValueError(f"edunn.distributed.{name}: {arg}={rank} is not a rank of the group "
                         f"{pg._ranks} (global ranks)")
    return pg._ranks.index(int(rank))


# ------------------------------------------------------------------------- the agreement header
def _empty(pg: Any, shape: tuple, np_dtype: Any) -> Any:
    """An uninitialised contiguous array on the communicator's side (host for MPI, GPU for NCCL)."""
    if pg.comm.host:
        return np.empty(shape, np_dtype)
    with backend.device_context(pg.device):
        return backend.xp_for(pg.device).empty(shape, np_dtype)


def _agree_start(pg: Any, name: str, desc: str) -> tuple:
    """Start exchanging ``name(desc)`` with every rank; returns ``(test, check)`` where ``check()``
    raises on every rank when the ranks called different things."""
    mine = f"{name}({desc})".encode()[:_HEADER_BYTES]
    header = np.zeros(_HEADER_BYTES, np.uint8)
    header[:len(mine)] = np.frombuffer(mine, np.uint8)
    send = _empty(pg, (_HEADER_BYTES,), np.uint8)
    send[...] = header if pg.comm.host else backend.to_device(header, pg.device)
    recv = _empty(pg, (pg.size(), _HEADER_BYTES), np.uint8)
    test, _abort = pg.comm.all_gather(send, recv)

    def check() -> None:
        rows = backend.to_numpy(recv)
        seen = [bytes(r).rstrip(b"\0").decode(errors="replace") for r in rows]
        if any(s != seen[0] for s in seen):
            lines = "; ".join(f"rank {pg._ranks[i]} called {s}" for i, s in enumerate(seen))
            raise RuntimeError(f"edunn.distributed.{name}: the ranks of the group disagree on the "
                               f"collective: {lines}. Every rank must pass tensors of the same shape "
                               "and dtype (and the same op and root), in the same order.")
    return test, check


def _agree(pg: Any, name: str, desc: str) -> None:
    if os.environ.get("EDUNN_DISTRIBUTED_CHECKS", "1") == "0":
        return      # the user traded the check for one round trip less per collective
    test, check = _agree_start(pg, name, desc)
    poll(test, pg.timeout, pg, name)
    check()


def _desc(t: Tensor, **extra: Any) -> str:
    parts = [f"shape={list(t.shape)}", f"dtype={t.dtype}"] + [f"{k}={v}" for k, v in extra.items()]
    return ", ".join(parts)


# ------------------------------------------------------------------------------ moving the data
def _stage(pg: Any, data: Any, np_dtype: Any = None) -> Any:
    """``data`` as a contiguous array the communicator can read: the array itself when it already
    is one (no copy: the collective then writes straight into the tensor), else a copy -- from the
    GPU to the host for MPI, explicitly."""
    if pg.comm.host:
        a = backend.to_numpy(data)
        if not isinstance(a, np.ndarray):
            a = np.asarray(a)
    else:
        a = backend.to_device(data, pg.device)
    if np_dtype is not None and a.dtype != np_dtype:
        a = a.astype(np_dtype)
    if not a.flags.c_contiguous:
        a = a.copy(order="C")
    return a


def _write(t: Tensor, result: Any) -> None:
    """Put ``result`` (same number of elements) into ``t`` in place and bump its version."""
    data = t._data
    if result is not data:
        if backend.is_cupy_array(data) or backend.is_cupy_array(result):
            result = backend.to_device(result, t.device)
        result = result.reshape(data.shape)
        if result.dtype != data.dtype:
            result = result.astype(data.dtype)
        if hasattr(data, "__setitem__") and backend.writable(data):
            data[...] = result
        else:  # a 0-d scalar holder
            t._data = result.copy()
    t._version_counter[0] += 1


def _divide(buf: Any, n: int) -> None:
    buf /= n


def _run(pg: Any, name: str, started: tuple, finish: Callable[[], None] | None, async_op: bool,
         result: list | None = None) -> Work | None:
    test, abort = started[0], started[1]
    work = Work(test, finish, pg, name, abort, result)
    if async_op:
        return work
    work.wait()
    return None


# ---------------------------------------------------------------------------------- collectives
def all_reduce(tensor: Tensor, op: Any = ReduceOp.SUM, group: Any = None, async_op: bool = False) -> Work | None:
    """Reduce ``tensor`` over all ranks of ``group``, in place on every rank:
    ``tensor = op(tensor_0, ..., tensor_{p-1})`` (``AVG``: the sum divided by ``p``)."""
    pg = _begin(tensor, group, "all_reduce")
    if pg is None:
        return None
    op = _check_op(op, tensor.dtype, "all_reduce")
    _agree(pg, "all_reduce", _desc(tensor, op=op.name))
    work_dtype, cop = pg.comm.reduce_plan(tensor._data.dtype, op)
    buf = _stage(pg, tensor._data, work_dtype)

    def finish() -> None:
        if op == ReduceOp.AVG:
            _divide(buf, pg.size())
        _write(tensor, buf)
    return _run(pg, "all_reduce", pg.comm.all_reduce(buf, cop), finish, async_op, [tensor])


def broadcast(tensor: Tensor, src: int | None = None, group: Any = None, async_op: bool = False,
              group_src: int | None = None) -> Work | None:
    """Copy rank ``src``'s ``tensor`` into ``tensor`` on every other rank of ``group``."""
    pg = _begin(tensor, group, "broadcast")
    if pg is None:
        return None
    root = _root(pg, src, group_src, "broadcast", "src")
    _agree(pg, "broadcast", _desc(tensor, src=pg._ranks[root]))
    buf = _stage(pg, tensor._data)

    def finish() -> None:
        if pg.rank() != root:
            _write(tensor, buf)
    return _run(pg, "broadcast", pg.comm.broadcast(buf, root), finish, async_op, [tensor])


def all_gather(tensor_list: list, tensor: Tensor, group: Any = None, async_op: bool = False) -> Work | None:
    """``tensor_list[i] = tensor`` of rank ``i``, on every rank (``len(tensor_list)`` = group size)."""
    _tensor(tensor, "all_gather")
    pg = _group(group, "all_gather")
    if pg is None:
        return None
    if not isinstance(tensor_list, (list, tuple)) or len(tensor_list) != pg.size():
        raise ValueError(f"edunn.distributed.all_gather: tensor_list must be a list of {pg.size()} "
                         f"tensors (one per rank), but got {_describe_list(tensor_list)}")
    for out in tensor_list:
        _like(tensor, _tensor(out, "all_gather", "tensor_list"), "all_gather", "tensor_list")
        _device(pg, out, "all_gather", "tensor_list")
    _device(pg, tensor, "all_gather")
    _agree(pg, "all_gather", _desc(tensor))
    send = _stage(pg, tensor._data)
    recv = _empty(pg, (pg.size(),) + tuple(send.shape), send.dtype)

    def finish() -> None:
        for i, out in enumerate(tensor_list):
            _write(out, recv[i])
    return _run(pg, "all_gather", pg.comm.all_gather(send, recv), finish, async_op, list(tensor_list))


def all_gather_into_tensor(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                           async_op: bool = False) -> Work | None:
    """The ranks' ``input_tensor`` concatenated along dim 0 (shape ``(p*n, ...)``) or stacked
    (shape ``(p, n, ...)``) into ``output_tensor``."""
    return _gather_into("all_gather_into_tensor", output_tensor, input_tensor, group, async_op)


def _gather_into(name: str, output_tensor: Tensor, input_tensor: Tensor, group: Any,
                 async_op: bool) -> Work | None:
    """``all_gather_into_tensor`` (and ``all_gather_single``), errors naming ``name``."""
    _tensor(output_tensor, name, "output_tensor")
    _tensor(input_tensor, name, "input_tensor")
    pg = _group(group, name)
    if pg is None:
        return None
    p, shape = pg.size(), tuple(input_tensor.shape)
    ok = (tuple(output_tensor.shape) == (p,) + shape
          or (len(shape) > 0 and tuple(output_tensor.shape) == (p * shape[0],) + shape[1:]))
    if not ok or output_tensor.dtype != input_tensor.dtype:
        raise ValueError(
            f"edunn.distributed.{name}: output_tensor must have shape "
            f"{[p * shape[0]] + list(shape[1:]) if shape else [p]} (or {[p] + list(shape)}) and dtype "
            f"{input_tensor.dtype}, but got shape {list(output_tensor.shape)} and dtype {output_tensor.dtype}")
    _device(pg, output_tensor, name, "output_tensor")
    _device(pg, input_tensor, name, "input_tensor")
    _agree(pg, name, _desc(input_tensor))
    send = _stage(pg, input_tensor._data)
    recv = _empty(pg, (p,) + tuple(send.shape), send.dtype)
    return _run(pg, name, pg.comm.all_gather(send, recv), lambda: _write(output_tensor, recv), async_op,
                [output_tensor])


def reduce(tensor: Tensor, dst: int | None = None, op: Any = ReduceOp.SUM, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    """Like ``all_reduce``, but only rank ``dst`` receives the result (the others' tensors are
    left as they were)."""
    pg = _begin(tensor, group, "reduce")
    if pg is None:
        return None
    op = _check_op(op, tensor.dtype, "reduce")
    root = _root(pg, dst, group_dst, "reduce", "dst")
    _agree(pg, "reduce", _desc(tensor, op=op.name, dst=pg._ranks[root]))
    work_dtype, cop = pg.comm.reduce_plan(tensor._data.dtype, op)
    buf = _stage(pg, tensor._data, work_dtype)
    if pg.rank() != root and buf is tensor._data:
        buf = buf.copy()  # a backend may use the send buffer as scratch space

    def finish() -> None:
        if pg.rank() == root:
            if op == ReduceOp.AVG:
                _divide(buf, pg.size())
            _write(tensor, buf)
    return _run(pg, "reduce", pg.comm.reduce(buf, cop, root), finish, async_op, [tensor])


def gather(tensor: Tensor, gather_list: list | None = None, dst: int | None = None, group: Any = None,
           async_op: bool = False, group_dst: int | None = None) -> Work | None:
    """``gather_list[i] = tensor`` of rank ``i``, on rank ``dst`` only (the others pass no list)."""
    pg = _begin(tensor, group, "gather")
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "gather", "dst")
    _root_list(pg, root, gather_list, tensor, "gather", "gather_list")
    _agree(pg, "gather", _desc(tensor, dst=pg._ranks[root]))
    send = _stage(pg, tensor._data)
    recv = _empty(pg, (pg.size(),) + tuple(send.shape), send.dtype) if pg.rank() == root else None

    def finish() -> None:
        if recv is not None:
            for i, out in enumerate(gather_list):
                _write(out, recv[i])
    return _run(pg, "gather", pg.comm.gather(send, recv, root), finish, async_op, gather_list or [])


def scatter(tensor: Tensor, scatter_list: list | None = None, src: int | None = None, group: Any = None,
            async_op: bool = False, group_src: int | None = None) -> Work | None:
    """``tensor = scatter_list[rank]`` of rank ``src``, on every rank."""
    pg = _begin(tensor, group, "scatter")
    if pg is None:
        return None
    root = _root(pg, src, group_src, "scatter", "src")
    _root_list(pg, root, scatter_list, tensor, "scatter", "scatter_list")
    _agree(pg, "scatter", _desc(tensor, src=pg._ranks[root]))
    send = None
    if pg.rank() == root:
        xp = np if pg.comm.host else backend.xp_for(pg.device)
        with backend.device_context(pg.device if not pg.comm.host else backend.device("cpu")):
            send = xp.stack([_stage(pg, t._data) for t in scatter_list])
    recv = _empty(pg, tuple(tensor.shape), tensor._data.dtype)
    return _run(pg, "scatter", pg.comm.scatter(send, recv, root), lambda: _write(tensor, recv),
                async_op, [tensor])


def reduce_scatter_tensor(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM, group: Any = None,
                          async_op: bool = False) -> Work | None:
    """Reduce ``input`` (``p`` blocks along dim 0, or shape ``(p, *output.shape)``) over the ranks
    and give rank ``i`` block ``i`` of the result in ``output`` -- the first half of a ring
    all-reduce."""
    return _scatter_reduced("reduce_scatter_tensor", output, input, op, group, async_op)


def _scatter_reduced(name: str, output: Tensor, input: Tensor, op: Any, group: Any,
                     async_op: bool) -> Work | None:
    """``reduce_scatter_tensor`` (and ``reduce_scatter_single``), errors naming ``name``."""
    _tensor(output, name, "output")
    _tensor(input, name, "input")
    pg = _group(group, name)
    if pg is None:
        return None
    p = pg.size()
    if input.numel() != p * output.numel() or input.dtype != output.dtype:
        raise ValueError(f"edunn.distributed.{name}: input must hold {p} x output "
                         f"({p} x {list(output.shape)}, dtype {output.dtype}), but got shape "
                         f"{list(input.shape)} and dtype {input.dtype}")
    _device(pg, output, name, "output")
    _device(pg, input, name, "input")
    op = _check_op(op, input.dtype, name)
    _agree(pg, name, _desc(input, op=op.name))
    work_dtype, cop = pg.comm.reduce_plan(input._data.dtype, op)
    send = _stage(pg, input._data, work_dtype)
    recv = _empty(pg, (output.numel(),), work_dtype)

    def finish() -> None:
        if op == ReduceOp.AVG:
            _divide(recv, p)
        _write(output, recv)
    return _run(pg, name, pg.comm.reduce_scatter(send, recv, cop), finish,
                async_op, [output])


def _check_exchange(pg: Any, name: str, sends: list, recvs: list) -> None:
    """Every rank learns every rank's send and receive counts (one all-gather) and checks that what
    ``i`` sends to ``j`` is what ``j`` expects from ``i`` -- the same error on every rank."""
    p = pg.size()
    table = [_size_tensor(pg, [0] * (2 * p)) for _ in range(p)]
    all_gather(table, _size_tensor(pg, list(sends) + list(recvs)), group=pg)
    rows = [[int(v) for v in backend.to_numpy(t._data)] for t in table]
    bad = [f"rank {pg._ranks[i]} sends {rows[i][j]} to rank {pg._ranks[j]}, which expects {rows[j][p + i]}"
           for i in range(p) for j in range(p) if rows[i][j] != rows[j][p + i]]
    if bad:
        raise RuntimeError(f"edunn.distributed.{name}: the split sizes of the ranks do not match: "
                           + "; ".join(bad))


def all_to_all_single(output: Tensor, input: Tensor, output_split_sizes: list | None = None,
                      input_split_sizes: list | None = None, group: Any = None,
                      async_op: bool = False) -> Work | None:
    """Split ``input`` along dim 0 into ``p`` blocks (equal, or ``input_split_sizes``), send block
    ``j`` to rank ``j``, and concatenate the blocks received from ranks 0..p-1 into ``output``
    (split as ``output_split_sizes``) -- the transpose of a matrix of blocks across processes."""
    _tensor(output, "all_to_all_single", "output")
    _tensor(input, "all_to_all_single", "input")
    pg = _group(group, "all_to_all_single")
    if pg is None:
        return None
    p = pg.size()
    if input.dim() == 0 or output.dim() == 0 or tuple(input.shape[1:]) != tuple(output.shape[1:]) \
            or input.dtype != output.dtype:
        raise ValueError(f"edunn.distributed.all_to_all_single: input and output need at least one "
                         f"dimension, the same shape after dim 0 and the same dtype, but got "
                         f"{list(input.shape)} {input.dtype} and {list(output.shape)} {output.dtype}")
    splits = []
    for arg, t, given in (("input", input, input_split_sizes), ("output", output, output_split_sizes)):
        if given is None:
            if t.shape[0] % p:
                raise ValueError(f"edunn.distributed.all_to_all_single: {arg}.shape[0]={t.shape[0]} "
                                 f"is not divisible by the group size {p}; give {arg}_split_sizes")
            given = [t.shape[0] // p] * p
        given = [int(v) for v in given]
        if len(given) != p or sum(given) != t.shape[0] or min(given) < 0:
            raise ValueError(f"edunn.distributed.all_to_all_single: {arg}_split_sizes must be {p} "
                             f"sizes summing to {arg}.shape[0]={t.shape[0]}, but got {given}")
        splits.append(given)
    _device(pg, output, "all_to_all_single", "output")
    _device(pg, input, "all_to_all_single", "input")
    _agree(pg, "all_to_all_single", f"rows={list(input.shape[1:])}, dtype={input.dtype}")
    _check_exchange(pg, "all_to_all_single", splits[0], splits[1])
    row = 1
    for d in input.shape[1:]:
        row *= d
    size = input._data.dtype.itemsize * row
    send = _stage(pg, input._data)
    recv = _empty(pg, tuple(output.shape), output._data.dtype)
    started = pg.comm.all_to_all(send, [n * size for n in splits[0]], recv, [n * size for n in splits[1]])
    return _run(pg, "all_to_all_single", started, lambda: _write(output, recv), async_op, [output])


def all_to_all(output_tensor_list: list, input_tensor_list: list, group: Any = None,
               async_op: bool = False) -> Work | None:
    """Send ``input_tensor_list[j]`` to rank ``j`` and receive rank ``i``'s into
    ``output_tensor_list[i]`` (tensors of any shapes, one dtype)."""
    pg = _group(group, "all_to_all")
    if pg is None:
        return None
    p = pg.size()
    for arg, lst in (("output_tensor_list", output_tensor_list), ("input_tensor_list", input_tensor_list)):
        if not isinstance(lst, (list, tuple)) or len(lst) != p:
            raise ValueError(f"edunn.distributed.all_to_all: {arg} must be a list of {p} tensors, "
                             f"but got {_describe_list(lst)}")
        for t in lst:
            _tensor(t, "all_to_all", arg)
            _device(pg, t, "all_to_all", arg)
    dtypes = {t.dtype for t in list(output_tensor_list) + list(input_tensor_list)}
    if len(dtypes) != 1:
        raise ValueError(f"edunn.distributed.all_to_all: every tensor must have one dtype, but got "
                         f"{sorted(str(d) for d in dtypes)}")
    dtype = dtypes.pop()
    _agree(pg, "all_to_all", f"dtype={dtype}")
    sends = [t.numel() for t in input_tensor_list]
    recvs = [t.numel() for t in output_tensor_list]
    _check_exchange(pg, "all_to_all", sends, recvs)
    xp = np if pg.comm.host else backend.xp_for(pg.device)
    with backend.device_context(backend.device("cpu") if pg.comm.host else pg.device):
        parts = [_stage(pg, t._data).reshape(-1) for t in input_tensor_list]
        send = xp.concatenate(parts) if parts else _empty(pg, (0,), dtype.np)
    recv = _empty(pg, (sum(recvs),), dtype.np)
    item = dtype.itemsize

    def finish() -> None:
        at = 0
        for t, n in zip(output_tensor_list, recvs):
            _write(t, recv[at:at + n])
            at += n
    started = pg.comm.all_to_all(send, [n * item for n in sends], recv, [n * item for n in recvs])
    return _run(pg, "all_to_all", started, finish, async_op, list(output_tensor_list))


def barrier(group: Any = None, async_op: bool = False, device_ids: Any = None,
            timeout: datetime.timedelta | None = None) -> Work | None:
    """Wait until every rank of ``group`` has called ``barrier`` (an exchange of headers, which
    also checks that no rank is calling another collective at that moment)."""
    pg = _group(group, "barrier")
    if pg is None:
        return None
    test, check = _agree_start(pg, "barrier", "")
    work = Work(test, check, pg, "barrier")
    if async_op:
        return work
    work.wait(None if timeout is None else as_timeout(timeout))
    return None


def monitored_barrier(group: Any = None, timeout: datetime.timedelta | None = None,
                      wait_all_ranks: bool = False) -> None:
    """``barrier`` with a timeout (the group's by default): a rank that does not arrive makes it
    raise instead of hang -- which every barrier here already does."""
    barrier(group, timeout=timeout)


# --------------------------------------------------------------------------- point to point
def isend(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0,
          group_dst: int | None = None) -> Work | None:
    """Send ``tensor`` to rank ``dst`` without waiting; ``wait()`` the returned work before
    changing it."""
    pg = _begin(tensor, group, "isend")
    if pg is None:
        return None
    peer = _root(pg, dst, group_dst, "isend", "dst")
    buf = _stage(pg, tensor._data)
    if buf is tensor._data:
        buf = buf.copy()
    test, abort = pg.comm.send(buf, peer, tag)
    return Work(test, None, pg, "isend", abort, [tensor])


def irecv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0,
          group_src: int | None = None) -> Work | None:
    """Receive into ``tensor`` from rank ``src`` (any rank when ``None``, MPI only)."""
    pg = _begin(tensor, group, "irecv")
    if pg is None:
        return None
    peer = None if src is None and group_src is None else _root(pg, src, group_src, "irecv", "src")
    buf = _empty(pg, tuple(tensor.shape), tensor._data.dtype)
    test, abort, source = pg.comm.recv(buf, peer, tag)
    work = Work(test, lambda: _write(tensor, buf), pg, "irecv", abort, [tensor])
    work._source = lambda: pg._ranks[source()]
    return work


def send(tensor: Tensor, dst: int | None = None, group: Any = None, tag: int = 0,
         group_dst: int | None = None) -> None:
    work = isend(tensor, dst, group, tag, group_dst)
    if work is not None:
        work.wait()


def recv(tensor: Tensor, src: int | None = None, group: Any = None, tag: int = 0,
         group_src: int | None = None) -> int:
    """Receive into ``tensor``; returns the sender's global rank (-1 on a non-member)."""
    work = irecv(tensor, src, group, tag, group_src)
    if work is None:
        return -1
    work.wait()
    return work._source()


# ----------------------------------------------------------------------------------- helpers
def _size_tensor(pg: Any, values: list) -> Tensor:
    a = np.asarray(values, np.int64)
    return Tensor._make(a if pg.comm.host else backend.to_device(a, pg.device))


def _root_list(pg: Any, root: int, lst: list | None, ref: Tensor, name: str, arg: str) -> None:
    if pg.rank() == root:
        if not isinstance(lst, (list, tuple)) or len(lst) != pg.size():
            raise ValueError(f"edunn.distributed.{name}: on the root rank {arg} must be a list of "
                             f"{pg.size()} tensors, but got {_describe_list(lst)}")
        for t in lst:
            _like(ref, _tensor(t, name, arg), name, arg)
            _device(pg, t, name, arg)
    elif lst:
        raise ValueError(f"edunn.distributed.{name}: Argument ``{arg}`` must NOT be specified on "
                         "non-root ranks.")


def _describe_list(lst: Any) -> str:
    if isinstance(lst, (list, tuple)):
        return f"a {type(lst).__name__} of {len(lst)}"
    return type(lst).__name__
