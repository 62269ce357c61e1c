"""Collectives on lists of tensors: ``reduce_scatter`` (list form), ``all_reduce_coalesced`` and
``all_gather_coalesced`` (lesson 18).

*Coalescing* is the trick DDP's buckets use: many small tensors are flattened into one array, the
array travels in a single collective (one message latency instead of one per tensor), and the
pieces are copied back.  Each function below does exactly that and hands the single collective to
``_collectives.py`` -- so the agreement checks and time-outs are the same as everywhere else.
PyTorch marks the two ``*_coalesced`` functions as about to be deprecated (a ``FutureWarning``);
so do we.

Also here: ``all_gather_single`` and ``reduce_scatter_single``, PyTorch's other names (those of
its backends' methods) for ``all_gather_into_tensor`` and ``reduce_scatter_tensor``: the same
arguments and results, errors naming the function that was called.
"""
from __future__ import annotations

import warnings
from typing import Any

from .. import backend
from ..tensor import Tensor
from ._collectives import (_describe_list, _gather_into, _group, _like, _scatter_reduced, _tensor,
                           all_gather_into_tensor, all_reduce, reduce_scatter_tensor)
from ._group import ReduceOp, Work

_DEPRECATED = ("`torch.distributed.{}` will be deprecated. If you must use it, please revisit our "
               "documentation later at https://pytorch.org/docs/main/distributed.html#collective-functions")


def _tensor_list(lst: Any, name: str, arg: str) -> list:
    if isinstance(lst, Tensor) or not isinstance(lst, (list, tuple)):
        raise TypeError(f"Invalid function argument. Expected parameter `{arg}` of type "
                        f"List[torch.Tensor] but got {type(lst).__name__} (edunn.distributed.{name})")
    for t in lst:
        _tensor(t, name, arg)
    return list(lst)


def _same_dtype(tensors: list, name: str) -> Any:
    dtypes = {t.dtype for t in tensors}
    if len(dtypes) > 1:
        raise ValueError(f"edunn.distributed.{name}: tensors must all have the same dtype, but got "
                         f"{sorted(str(d) for d in dtypes)}")
    return dtypes.pop() if dtypes else None


def _flatten(tensors: list) -> Tensor:
    """One contiguous 1-d tensor holding ``tensors`` one after the other (on their device)."""
    dev = tensors[0].device
    xp = backend.xp_for(dev)
    with backend.device_context(dev):
        return Tensor._make(xp.concatenate([t._data.reshape(-1) for t in tensors]))


def _chained(inner: Work | None, finish: Any, pg: Any, name: str, result: list,
             async_op: bool) -> Any:
    """A ``Work`` that completes with ``inner`` and then runs ``finish`` (the copy back).  With
    ``async_op`` PyTorch's coalesced collectives return the work's *future* (of ``result``)."""
    if inner is None:       # the inner collective already ran synchronously
        finish()
        return None
    work = Work(inner.is_completed, finish, pg, name, inner._abort, result)
    if async_op:
        return work.get_future()
    work.wait()
    return None


def reduce_scatter(output: Tensor, input_list: list, op: Any = ReduceOp.SUM, group: Any = None,
                   async_op: bool = False) -> Work | None:
    """Reduce the lists over the ranks and give rank ``i`` the reduction of every rank's
    ``input_list[i]`` in ``output``: ``output = op_r(input_list_r[rank])``.  Done as one
    ``reduce_scatter_tensor`` on the list stacked into a ``(p, *output.shape)`` tensor."""
    _tensor(output, "reduce_scatter", "output")
    input_list = _tensor_list(input_list, "reduce_scatter", "input_list")
    _same_dtype([output] + input_list, "reduce_scatter")
    pg = _group(group, "reduce_scatter")
    if pg is None:
        return None
    if len(input_list) != pg.size():
        raise ValueError(f"edunn.distributed.reduce_scatter: input_list must hold {pg.size()} tensors "
                         f"(one per rank of the group), but got {_describe_list(input_list)}")
    for t in input_list:
        _like(output, t, "reduce_scatter", "input_list")
        if t.device != output.device:
            raise RuntimeError(f"edunn.distributed.reduce_scatter: every tensor of input_list must be "
                               f"on output's device {output.device}, but one is on {t.device}")
    xp = backend.xp_for(output.device)
    with backend.device_context(output.device):
        stacked = Tensor._make(xp.stack([t._data for t in input_list]))
    return reduce_scatter_tensor(output, stacked, op=op, group=pg, async_op=async_op)


def all_reduce_coalesced(tensors: Any, op: Any = ReduceOp.SUM, group: Any = None,
                         async_op: bool = False) -> Work | None:
    """``all_reduce`` of every tensor of ``tensors`` (one dtype, one device), in place, as one
    collective on their concatenation.  Deprecated in PyTorch (``FutureWarning``)."""
    warnings.warn(_DEPRECATED.format("all_reduce_coalesced"), FutureWarning, stacklevel=2)
    if isinstance(tensors, Tensor):
        tensors = [tensors]
    tensors = _tensor_list(tensors, "all_reduce_coalesced", "tensor")
    _same_dtype(tensors, "all_reduce_coalesced")
    pg = _group(group, "all_reduce_coalesced")
    if pg is None or not tensors:
        return None
    if len({t.device for t in tensors}) > 1:
        raise RuntimeError("edunn.distributed.all_reduce_coalesced: tensors must all be on one device, "
                           f"but got {sorted(str(t.device) for t in tensors)}")
    flat = _flatten(tensors)
    inner = all_reduce(flat, op=op, group=pg, async_op=True)

    def finish() -> None:
        at = 0
        for t in tensors:
            n = t.numel()
            t._data[...] = flat._data[at:at + n].reshape(t._data.shape)
            t._version_counter[0] += 1
            at += n
    return _chained(inner, finish, pg, "all_reduce_coalesced", tensors, async_op)


def all_gather_coalesced(output_tensor_lists: list, input_tensor_list: list, group: Any = None,
                         async_op: bool = False) -> Work | None:
    """``output_tensor_lists[i][j] = input_tensor_list[j]`` of rank ``i``, as one all-gather of
    the concatenated inputs.  Deprecated in PyTorch (``FutureWarning``)."""
    warnings.warn(_DEPRECATED.format("all_gather_coalesced"), FutureWarning, stacklevel=2)
    pg = _group(group, "all_gather_coalesced")
    if pg is None:
        return None
    input_tensor_list = _tensor_list(input_tensor_list, "all_gather_coalesced", "input_tensor_list")
    dtype = _same_dtype(input_tensor_list, "all_gather_coalesced")
    if not isinstance(output_tensor_lists, list):
        raise TypeError("Invalid function argument: output_tensor_lists should be a list")
    if len(output_tensor_lists) != pg.size():
        raise ValueError(f"edunn.distributed.all_gather_coalesced: output_tensor_lists must hold "
                         f"{pg.size()} lists (one per rank), but got {len(output_tensor_lists)}")
    for outs in output_tensor_lists:
        outs = _tensor_list(outs, "all_gather_coalesced", "output_tensor_lists")
        if len(outs) != len(input_tensor_list):
            raise ValueError(f"edunn.distributed.all_gather_coalesced: each list of "
                             f"output_tensor_lists must hold {len(input_tensor_list)} tensors (as "
                             f"input_tensor_list), but one holds {len(outs)}")
        for o, t in zip(outs, input_tensor_list):
            _like(t, o, "all_gather_coalesced", "output_tensor_lists")
    if not input_tensor_list:
        return None
    flat = _flatten(input_tensor_list)
    xp = backend.xp_for(flat.device)
    with backend.device_context(flat.device):
        gathered = Tensor._make(xp.empty((pg.size(), flat.numel()), dtype.np))
    inner = all_gather_into_tensor(gathered, flat, group=pg, async_op=True)

    def finish() -> None:
        for row, outs in zip(gathered._data, output_tensor_lists):
            at = 0
            for o in outs:
                n = o.numel()
                o._data[...] = row[at:at + n].reshape(o._data.shape)
                o._version_counter[0] += 1
                at += n
    result = [o for outs in output_tensor_lists for o in outs]
    return _chained(inner, finish, pg, "all_gather_coalesced", result, async_op)


def all_gather_single(output_tensor: Tensor, input_tensor: Tensor, group: Any = None,
                      async_op: bool = False) -> Work | None:
    """Every rank's ``input_tensor`` (same shape on all ranks) into ``output_tensor``, either
    concatenated along dim 0 (shape ``(p*n, ...)``) or stacked (``(p, n, ...)``): rank ``i``'s
    block is ``output_tensor[i*n:(i+1)*n]`` (or ``output_tensor[i]``).  As
    ``all_gather_into_tensor``."""
    return _gather_into("all_gather_single", output_tensor, input_tensor, group, async_op)


def reduce_scatter_single(output: Tensor, input: Tensor, op: Any = ReduceOp.SUM, group: Any = None,
                          async_op: bool = False) -> Work | None:
    """Reduce ``input`` (``p`` blocks of ``output``'s size, concatenated along dim 0 or stacked)
    over the ranks with ``op`` and give rank ``i`` block ``i`` of the result in ``output``.  As
    ``reduce_scatter_tensor``."""
    return _scatter_reduced("reduce_scatter_single", output, input, op, group, async_op)
