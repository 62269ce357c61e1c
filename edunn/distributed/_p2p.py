"""Batched point-to-point messages and objects sent to one rank: ``P2POp``,
``batch_isend_irecv``, ``send_object_list``, ``recv_object_list`` (lesson 18).

``isend``/``irecv`` move one tensor between two ranks.  Pipeline parallelism needs several at
once -- "send my activations to the next stage *and* receive gradients from it" -- and posting
them one blocking call at a time can deadlock (both ranks sit in ``send`` waiting for the other
to ``recv``).  ``batch_isend_irecv`` posts every operation of the list without waiting and
returns their ``Work`` handles; MPI (and NCCL inside a group call) then match the sends and the
receives in whatever order they arrive, so no ordering can deadlock.

Objects travel as ``_objects.py`` sends them to many ranks, here to one: their pickled lengths
first, then the bytes (pickle is for processes of one job only; never unpickle untrusted data).
"""
from __future__ import annotations

import pickle
from typing import Any, Callable

from .. import backend
from ..tensor import Tensor
from ._collectives import _group, _root, _size_tensor, _tensor, irecv, isend, recv, send
from ._group import resolve
from ._objects import _object_tensor


def _check_op(op: Any) -> None:
    if op not in (isend, irecv):
        raise ValueError("Invalid ``op``. Expected ``op`` to be of type ``torch.distributed.isend`` or "
                         "``torch.distributed.irecv``.")


class P2POp:
    """One point-to-point operation for :func:`batch_isend_irecv`: ``op`` is
    ``edunn.distributed.isend`` or ``irecv``, ``tensor`` the buffer, ``peer`` the other process's
    global rank (or ``group_peer``, its rank inside ``group``), ``tag`` matches a send with a
    receive.  As in PyTorch, ``peer`` and ``group_peer`` are both filled in."""

    def __new__(cls, op: Callable, tensor: Tensor, peer: int | None = None, group: Any = None,
                tag: int = 0, group_peer: int | None = None) -> "P2POp":
        _check_op(op)
        _tensor(tensor, "P2POp")
        return object.__new__(cls)

    def __init__(self, op: Callable, tensor: Tensor, peer: int | None = None, group: Any = None,
                 tag: int = 0, group_peer: int | None = None) -> None:
        self.op = op
        self.tensor = tensor
        self.group = resolve(group)
        if self.group is None:
            raise ValueError("P2POp: this process is not a member of group")
        self.group_peer = _root(self.group, peer, group_peer, "P2POp", "peer")
        self.peer = self.group._ranks[self.group_peer]
        self.tag = tag

    def __repr__(self) -> str:
        me, name = self.group.rank(), self.op.__name__
        src, dst = (me, self.group_peer) if name == "isend" else (self.group_peer, me)
        return (f"P2POp({name} pg={self.group.group_name or 'default_pg'}, group_src={src}, "
                f"group_dst={dst},  {tuple(self.tensor.shape)}, {self.tensor.dtype})")


def batch_isend_irecv(p2p_op_list: list) -> list:
    """Post every send and receive of ``p2p_op_list`` at once and return their ``Work`` handles
    (``wait()`` each).  All ops must use the same group."""
    if not isinstance(p2p_op_list, list) or not p2p_op_list \
            or not all(isinstance(p, P2POp) for p in p2p_op_list):
        raise ValueError("Invalid ``p2p_op_list``. Each op is expected to to be of type "
                         "``torch.distributed.P2POp``.")
    group = p2p_op_list[0].group
    if not all(p.group is group for p in p2p_op_list):
        raise ValueError("All ops need to use the same group.")
    works: list = []
    for p in p2p_op_list:
        key = "group_dst" if p.op is isend else "group_src"
        work = p.op(p.tensor, group=p.group, tag=p.tag, **{key: p.group_peer})
        if work is not None:
            works.append(work)
    return works


def _peer(pg: Any, rank: int | None, group_rank: int | None, name: str, arg: str) -> int:
    peer = _root(pg, rank, group_rank, name, arg)
    if peer == pg.rank():
        what = "destination" if arg == "dst" else "source"
        raise ValueError(f"Invalid {what} rank: {what} rank should not be the same as the rank of the "
                         "current process.")
    return peer


def _check_device(device: Any) -> None:
    """``device`` is accepted for PyTorch's signature; the bytes always travel on the group's
    device (the host for MPI, this rank's GPU for NCCL)."""
    if device is not None:
        backend.device(device)     # still a clear error for a malformed device


def send_object_list(object_list: list, dst: int | None = None, group: Any = None,
                     device: Any = None, group_dst: int | None = None, use_batch: bool = False) -> None:
    """Send the picklable objects of ``object_list`` to rank ``dst``, which calls
    :func:`recv_object_list` with a list of the same length.  ``use_batch`` sends through
    :func:`batch_isend_irecv` (same result)."""
    pg = _group(group, "send_object_list")
    if pg is None:
        return None
    if not isinstance(object_list, list):
        raise TypeError(f"edunn.distributed.send_object_list: object_list must be a list, but got "
                        f"{type(object_list).__name__}")
    peer = _peer(pg, dst, group_dst, "send_object_list", "dst")
    _check_device(device)
    payloads = [pickle.dumps(o) for o in object_list]
    sizes = _size_tensor(pg, [len(p) for p in payloads])
    data = _object_tensor(pg, b"".join(payloads), sum(len(p) for p in payloads))
    for t in (sizes, data):
        if use_batch:
            batch_isend_irecv([P2POp(isend, t, group=pg, group_peer=peer)]).pop().wait()
        else:
            send(t, group=pg, group_dst=peer)


def recv_object_list(object_list: list, src: int | None = None, group: Any = None,
                     device: Any = None, group_src: int | None = None, use_batch: bool = False) -> int:
    """Fill ``object_list`` (its length says how many objects) with those ``send_object_list``
    sent; ``src=None`` takes them from any rank.  Returns the sender's global rank (-1 on a
    process outside ``group``)."""
    pg = _group(group, "recv_object_list")
    if pg is None:
        return -1
    if not isinstance(object_list, list):
        raise TypeError(f"edunn.distributed.recv_object_list: object_list must be a list, but got "
                        f"{type(object_list).__name__}")
    peer = None if src is None and group_src is None else _peer(pg, src, group_src,
                                                                "recv_object_list", "src")
    _check_device(device)
    sizes = _size_tensor(pg, [0] * len(object_list))
    if use_batch:
        work = batch_isend_irecv([P2POp(irecv, sizes, group=pg, group_peer=peer)]).pop() \
            if peer is not None else irecv(sizes, group=pg)
        work.wait()
        sender = work._source()
    else:
        sender = recv(sizes, group=pg, group_src=peer)
    lengths = [int(n) for n in backend.to_numpy(sizes._data)]
    data = _object_tensor(pg, b"", sum(lengths))
    # the bytes must come from the rank that sent the lengths, even when src was None
    recv(data, src=sender, group=pg)
    raw, at = backend.to_numpy(data._data).tobytes(), 0
    for i, n in enumerate(lengths):
        object_list[i] = pickle.loads(raw[at:at + n])
        at += n
    return sender

