"""The standard DDP communication hooks, as ``torch.distributed.algorithms.ddp_comm_hooks.
default_hooks`` (lesson 18).  A hook receives a ``GradBucket`` of flattened gradients and returns
an ``edunn.futures.Future`` of their average over the ranks; DDP writes that average back into
``param.grad``.

* ``allreduce_hook`` -- what DDP does without a hook: divide by the world size, all-reduce (SUM);
* ``fp16_compress_hook`` / ``bf16_compress_hook`` -- the same on a float16 / bfloat16 copy,
  halving the bytes sent at the price of rounding the averaged gradient (float16 keeps about 3
  decimal digits, bfloat16 about 2 but float32's range);
* ``fp16_compress_wrapper(hook)`` / ``bf16_compress_wrapper(hook)`` -- run any hook on a
  compressed copy of the bucket and decompress its result.
"""
from __future__ import annotations

from typing import Any, Callable

from ....backend import bfloat16, float16
from ....futures import Future
from ....tensor import Tensor
from ... import _group
from ..._collectives import all_reduce


def _group_to_use(process_group: Any) -> Any:
    return process_group if process_group is not None else _group.default_group()


def _allreduce_fut(process_group: Any, tensor: Tensor) -> Future:
    """Average ``tensor`` over the group: divide by its size, all-reduce (SUM) asynchronously;
    a future of the (in place) result."""
    group = _group_to_use(process_group)
    tensor.div_(_group.get_world_size(group))
    return all_reduce(tensor, group=group, async_op=True).get_future().then(lambda f: f.value()[0])


def allreduce_hook(process_group: Any, bucket: Any) -> Future:
    """Average ``bucket``'s gradients over the ranks: ``buffer / world_size``, then all-reduce --
    the same result as DDP without a hook."""
    return _allreduce_fut(process_group, bucket.buffer())


def _compress_hook(dtype: Any, process_group: Any, bucket: Any) -> Future:
    group = _group_to_use(process_group)
    buffer = bucket.buffer()
    compressed = buffer.to(dtype).div_(_group.get_world_size(group))
    fut = all_reduce(compressed, group=group, async_op=True).get_future()

    def decompress(f: Future) -> Tensor:
        buffer.copy_(f.value()[0])      # in place, to keep the peak memory at one bucket
        return buffer
    return fut.then(decompress)


def fp16_compress_hook(process_group: Any, bucket: Any) -> Future:
    """``allreduce_hook`` on a float16 copy of the bucket, decompressed into the bucket's dtype."""
    return _compress_hook(float16, process_group, bucket)


def bf16_compress_hook(process_group: Any, bucket: Any) -> Future:
    """``allreduce_hook`` on a bfloat16 copy of the bucket, decompressed into the bucket's dtype
    (bfloat16 is reduced in float32 by the MPI backend and rounded back)."""
    return _compress_hook(bfloat16, process_group, bucket)


def _compress_wrapper(dtype: Any, hook: Callable) -> Callable:
    def wrapper_hook(hook_state: Any, bucket: Any) -> Future:
        bucket.set_buffer(bucket.buffer().to(dtype))
        fut = hook(hook_state, bucket)

        def decompress(f: Future) -> Tensor:
            out = bucket.buffer()
            out.copy_(f.value())
            return out
        return fut.then(decompress)
    return wrapper_hook


def fp16_compress_wrapper(hook: Callable[[Any, Any], Future]) -> Callable[[Any, Any], Future]:
    """Wrap ``hook`` so that it runs on a float16 copy of the bucket (``set_buffer``); its
    result is copied back into that copy, which DDP casts into its float32 flat array."""
    return _compress_wrapper(float16, hook)


def bf16_compress_wrapper(hook: Callable[[Any, Any], Future]) -> Callable[[Any, Any], Future]:
    """As :func:`fp16_compress_wrapper`, with bfloat16."""
    return _compress_wrapper(bfloat16, hook)
