"""What a DDP communication hook sees: ``GradBucket`` and ``BuiltinCommHookType`` (lesson 18).

``DistributedDataParallel`` flattens the gradients of a *bucket* of parameters into one array and
all-reduces it.  ``ddp.register_comm_hook(state, hook)`` replaces that all-reduce: for every bucket
DDP calls ``hook(state, bucket)`` with a :class:`GradBucket` and expects an
``edunn.futures.Future`` whose value is the bucket's flat gradient *averaged* over the ranks (a
tensor of ``bucket.buffer()``'s size); DDP copies that value back into ``param.grad``.  The hook
decides how the bytes travel: compressed to float16 (``fp16_compress_hook``), quantised, only
every few steps... (see ``algorithms/ddp_comm_hooks/default_hooks.py``).
"""
from __future__ import annotations

import enum
from typing import Any

from ..tensor import Tensor


class BuiltinCommHookType(enum.Enum):
    """The hooks ``DistributedDataParallel._register_builtin_comm_hook`` knows by name:
    ``ALLREDUCE`` (``default_hooks.allreduce_hook``) and ``FP16_COMPRESS``
    (``default_hooks.fp16_compress_hook``)."""
    ALLREDUCE = 1
    FP16_COMPRESS = 2


class GradBucket:
    """One bucket of flattened gradients, as ``torch.distributed.GradBucket``:

    * ``index()`` -- the bucket's position (bucket 0 holds the *last* parameters: buckets follow
      the order in which backward produces gradients);
    * ``buffer()`` -- the flat 1-d tensor of the bucket's gradients (what the hook sends);
    * ``set_buffer(t)`` -- make ``buffer()`` return ``t`` from now on (a compressed copy, say);
      DDP's own flat array is not changed -- it receives the future's value;
    * ``gradients()`` -- one view of DDP's flat array per parameter, shaped as the parameter;
    * ``parameters()`` -- the bucket's parameters, in the same order;
    * ``is_last()`` -- whether this is the last bucket of the iteration (the first parameters).

    ``bucket`` is DDP's internal record (``flat``, ``indices``, ``offsets``)."""

    def __init__(self, index: int, bucket: Any, params: list, is_last: bool) -> None:
        self._index, self._bucket, self._is_last = index, bucket, is_last
        self._params = [params[i] for i in bucket.indices]
        self._buffer: Tensor = bucket.flat

    def index(self) -> int:
        return self._index

    def buffer(self) -> Tensor:
        return self._buffer

    def set_buffer(self, buffer: Tensor) -> None:
        if not isinstance(buffer, Tensor):
            raise TypeError(f"set_buffer(): buffer must be a Tensor, but got {type(buffer).__name__}")
        self._buffer = buffer

    def gradients(self) -> list:
        flat = self._bucket.flat._data
        return [Tensor._make(flat[off:off + p.numel()].reshape(p._data.shape))
                for p, off in zip(self._params, self._bucket.offsets)]

    def parameters(self) -> list:
        return list(self._params)

    def is_last(self) -> bool:
        return self._is_last

    def __repr__(self) -> str:
        return (f"<GradBucket index={self._index} params={len(self._params)} "
                f"numel={self._bucket.numel} last={self._is_last}>")
