"""Collectives on Python objects: ``all_gather_object``, ``broadcast_object_list``,
``gather_object``, ``scatter_object_list`` (lesson 18).

An object travels as its pickled bytes in a ``uint8`` tensor, through the tensor collectives of
``_collectives.py`` (so the same checks and time-outs apply): first the lengths, then the bytes
padded to the longest.  Pickle is fine for messages between the processes of one job; never
unpickle data from a source you do not trust.
"""
from __future__ import annotations

import pickle
from typing import Any

from .. import backend
from ..tensor import Tensor
from ._collectives import _describe_list, _group, _root, _size_tensor, all_gather, broadcast, np


def _object_tensor(pg: Any, payload: bytes, size: int) -> Tensor:
    a = np.zeros(size, np.uint8)
    a[:len(payload)] = np.frombuffer(payload, np.uint8)
    return Tensor._make(a if pg.comm.host else backend.to_device(a, pg.device))


def all_gather_object(object_list: list, obj: Any, group: Any = None) -> None:
    """``object_list[i] = obj`` of rank ``i``, for any picklable ``obj``.  The objects travel as
    pickled bytes: first every rank's length, then the bytes padded to the longest.  (Pickle is
    fine for messages between processes of one job; never unpickle data from an untrusted source.)"""
    pg = _group(group, "all_gather_object")
    if pg is None:
        return None
    if not isinstance(object_list, list) or len(object_list) != pg.size():
        raise ValueError(f"edunn.distributed.all_gather_object: object_list must be a list of "
                         f"{pg.size()} elements, but got {_describe_list(object_list)}")
    payload = pickle.dumps(obj)
    sizes = [_size_tensor(pg, [0]) for _ in range(pg.size())]
    all_gather(sizes, _size_tensor(pg, [len(payload)]), group=pg)
    lengths = [int(backend.to_numpy(s._data)[0]) for s in sizes]
    longest = max(lengths)
    parts = [_object_tensor(pg, b"", longest) for _ in range(pg.size())]
    all_gather(parts, _object_tensor(pg, payload, longest), group=pg)
    for i, (part, n) in enumerate(zip(parts, lengths)):
        object_list[i] = pickle.loads(backend.to_numpy(part._data)[:n].tobytes())


def broadcast_object_list(object_list: list, src: int | None = None, group: Any = None,
                          device: Any = None, group_src: int | None = None) -> None:
    """Replace ``object_list``'s elements by those of rank ``src`` (every rank passes a list of the
    same length)."""
    pg = _group(group, "broadcast_object_list")
    if pg is None:
        return None
    if not isinstance(object_list, list):
        raise TypeError("edunn.distributed.broadcast_object_list: object_list must be a list, but "
                        f"got {type(object_list).__name__}")
    root = _root(pg, src, group_src, "broadcast_object_list", "src")
    payloads = [pickle.dumps(o) for o in object_list] if pg.rank() == root else []
    sizes = _size_tensor(pg, [len(p) for p in payloads] if payloads else [0] * len(object_list))
    broadcast(sizes, group=pg, group_src=root)
    lengths = [int(n) for n in backend.to_numpy(sizes._data)]
    data = _object_tensor(pg, b"".join(payloads), sum(lengths))
    broadcast(data, group=pg, group_src=root)
    if pg.rank() != root:
        raw, start = backend.to_numpy(data._data).tobytes(), 0
        for i, n in enumerate(lengths):
            object_list[i] = pickle.loads(raw[start:start + n])
            start += n


def gather_object(obj: Any, object_gather_list: list | None = None, dst: int | None = None,
                  group: Any = None, group_dst: int | None = None) -> None:
    """``object_gather_list[i] = obj`` of rank ``i`` on rank ``dst`` (done as an all-gather)."""
    pg = _group(group, "gather_object")
    if pg is None:
        return None
    root = _root(pg, dst, group_dst, "gather_object", "dst")
    if pg.rank() == root and (not isinstance(object_gather_list, list)
                              or len(object_gather_list) != pg.size()):
        raise ValueError(f"edunn.distributed.gather_object: on the destination rank "
                         f"object_gather_list must be a list of {pg.size()} elements")
    everything = [None] * pg.size()
    all_gather_object(everything, obj, group=pg)
    if pg.rank() == root:
        object_gather_list[:] = everything


def scatter_object_list(scatter_object_output_list: list, scatter_object_input_list: list | None = None,
                        src: int | None = None, group: Any = None, group_src: int | None = None) -> None:
    """``scatter_object_output_list[0] = scatter_object_input_list[rank]`` of rank ``src``."""
    pg = _group(group, "scatter_object_list")
    if pg is None:
        return None
    root = _root(pg, src, group_src, "scatter_object_list", "src")
    if not isinstance(scatter_object_output_list, list) or len(scatter_object_output_list) < 1:
        raise ValueError("edunn.distributed.scatter_object_list: scatter_object_output_list must be "
                         "a list of at least one element")
    if pg.rank() == root and (not isinstance(scatter_object_input_list, list)
                              or len(scatter_object_input_list) != pg.size()):
        raise ValueError(f"edunn.distributed.scatter_object_list: on the source rank "
                         f"scatter_object_input_list must be a list of {pg.size()} elements")
    objs = list(scatter_object_input_list) if pg.rank() == root else [None] * pg.size()
    broadcast_object_list(objs, group=pg, group_src=root)
    scatter_object_output_list[0] = objs[pg.rank()]
