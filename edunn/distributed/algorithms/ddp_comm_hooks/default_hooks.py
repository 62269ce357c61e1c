"""The two standard DDP communication hooks, as ``torch.distributed.algorithms.ddp_comm_hooks.
default_hooks``.  A hook receives a bucket of flattened gradients and returns a future of their
average over the ranks; DDP writes that average back into ``param.grad``.

* ``allreduce_hook`` -- what DDP does without a hook: divide by the world size, all-reduce (SUM);
* ``fp16_compress_hook`` -- the same on a float16 copy, halving the bytes sent at the price of
  float16 rounding (about 3 decimal digits) in the averaged gradient.
"""
from __future__ import annotations

from typing import Any

from ... import _group
from ..._collectives import all_reduce


def _group_and_size(process_group: Any) -> tuple:
    group = process_group if process_group is not None else _group.default_group()
    return group, _group.get_world_size(group)


def allreduce_hook(process_group: Any, bucket: Any) -> _group.Future:
    """Average ``bucket``'s gradients over the ranks: ``buffer / world_size``, then all-reduce."""
    group, world = _group_and_size(process_group)
    tensor = bucket.buffer()
    tensor.div_(world)
    fut = all_reduce(tensor, group=group, async_op=True).get_future()
    return fut.then(lambda f: f.value()[0])


def fp16_compress_hook(process_group: Any, bucket: Any) -> _group.Future:
    """``allreduce_hook`` on a float16 copy of the bucket, decompressed into the bucket's dtype."""
    import edunn
    group, world = _group_and_size(process_group)
    buffer = bucket.buffer()
    compressed = buffer.to(edunn.float16).div_(world)
    fut = all_reduce(compressed, group=group, async_op=True).get_future()

    def decompress(f: _group.Future) -> Any:
        buffer.copy_(f.value()[0])
        return buffer
    return fut.then(decompress)
