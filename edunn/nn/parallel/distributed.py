"""``DistributedDataParallel``: one process per device, gradients all-reduced in buckets (lesson 18).

Data parallelism in one equation.  With ``p`` processes each holding a slice ``B_r`` of a batch
``B`` (``|B_r| = |B| / p``) and a loss that is a mean over examples,

    grad L_B(w) = 1/|B| sum_{x in B} grad l(x, w) = 1/p sum_r grad L_{B_r}(w),

so the gradient of the whole batch is the *average* of the processes' gradients.  That is why DDP
all-reduces with SUM and divides by the world size: afterwards every replica holds the same
gradient, takes the same optimizer step, and the replicas (broadcast from rank 0 at construction)
stay identical without ever sending parameters again.

Why buckets.  One all-reduce per parameter would pay a message's fixed latency hundreds of times;
one all-reduce of everything could only start when backward has finished.  DDP groups gradients
into *buckets* of about ``bucket_cap_mb`` MiB (25 by default; the first one 1 MiB so that
communication starts early), in **reverse** parameter order -- the order in which backward
produces them -- flattens each bucket into one array and launches its all-reduce as soon as the
last gradient of the bucket has been accumulated (a ``register_post_accumulate_grad_hook`` on each
parameter), while backward goes on computing the gradients of earlier layers.  An end-of-backward
callback (``autograd.engine.queue_callback``) waits for every bucket and writes the averaged
gradients back into ``param.grad`` before ``loss.backward()`` returns.  Buckets are launched in
order on every rank, so that every process runs the same collectives in the same order.

Differences from PyTorch, by design: buckets are never rebuilt from the order observed in the
first iteration (reverse parameter order is used throughout); should a parameter's gradient be
accumulated more than once in one backward after its bucket left, the bucket is sent again at the
end of backward (the engine runs post-accumulate hooks once per leaf, as PyTorch's AccumulateGrad,
so this is the exception); ``static_graph`` and ``check_reduction`` change nothing here; with MPI,
progress happens when MPI is called, so "overlap" is mostly the structure rather than a speed-up;
``register_comm_hook`` takes a Python hook; ``_register_builtin_comm_hook`` maps PyTorch's C++
hooks to the same Python ones of ``default_hooks``.
"""
from __future__ import annotations

import contextlib
from typing import Any, Iterator

from ... import backend
from ...autograd import engine
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...distributed._comm_hooks import BuiltinCommHookType, GradBucket
from ...tensor import Tensor
from ..modules.module import Module

__all__ = ["DistributedDataParallel"]

_MIB = 1024 * 1024
_DEFAULT_FIRST_BUCKET_BYTES = 1 * _MIB

_UNFINISHED = (
    "Expected to have finished reduction in the prior iteration before starting a new one. This "
    "error indicates that your module has parameters that were not used in producing loss. You can "
    "enable unused parameter detection by passing the keyword argument `find_unused_parameters=True` "
    "to `torch.nn.parallel.DistributedDataParallel`, and by making sure all `forward` function "
    "outputs participate in calculating loss. Parameters which did not receive grad for rank {rank}: "
    "{names}")


class _Bucket:
    """Parameters (indices) whose gradients travel together as one flat array."""

    def __init__(self, indices: list, params: list) -> None:
        self.indices = indices
        self.offsets, n = [], 0
        for i in indices:
            self.offsets.append(n)
            n += params[i].numel()
        self.numel = n
        self.dtype = params[indices[0]].dtype
        self.device = params[indices[0]].device
        self.buffer: Any = None      # the persistent flat array (gradient_as_bucket_view)
        self.flat: Tensor | None = None
        self.work: Any = None
        self.averaged = False        # a comm hook's result is already the average


class _FutureWork:
    """A comm hook's future, waited like a ``Work``: its value becomes the bucket's flat array."""

    def __init__(self, future: Any, bucket: _Bucket) -> None:
        if not hasattr(future, "wait"):
            raise TypeError(f"a DDP communication hook must return a Future (dist.Work.get_future()), "
                            f"but returned {type(future).__name__}")
        self.future, self.bucket = future, bucket

    def wait(self) -> None:
        value = self.future.wait()
        if isinstance(value, (list, tuple)):
            value = value[0]
        if not isinstance(value, Tensor) or value.numel() != self.bucket.numel:
            raise RuntimeError(f"a DDP communication hook's future must hold a tensor of "
                               f"{self.bucket.numel} elements (the bucket's buffer), but holds {value!r}")
        if value._data is not self.bucket.flat._data:   # a compressed copy: cast back
            flat = self.bucket.flat._data
            flat[...] = value._data.reshape(-1).astype(flat.dtype)


class DistributedDataParallel(Module):
    r"""Wrap ``module`` for data-parallel training, one process per device.

    ``model = DistributedDataParallel(model)`` after ``dist.init_process_group``; then train as
    usual on this rank's shard of the data (see ``DistributedSampler``): ``loss.backward()``
    leaves in every ``param.grad`` the average over the ranks, so ``optimizer.step()`` keeps the
    replicas identical.

    * parameters and buffers are broadcast from rank 0 at construction (``init_sync``), and
      buffers again before each forward when ``broadcast_buffers``;
    * ``no_sync()``: a context in which backward accumulates local gradients only; the first
      backward after it all-reduces everything accumulated;
    * ``find_unused_parameters``: after forward, the graph behind the outputs is walked and the
      parameters it does not reach are marked ready (their contribution is zero; a parameter
      unused on every rank keeps ``grad`` as it was).  Without it, a parameter that gets no
      gradient makes the next forward raise PyTorch's "Expected to have finished reduction" error;
    * ``gradient_as_bucket_view``: after the all-reduce ``param.grad`` is a view into the
      bucket's flat array (saves a copy per step);
    * ``device_ids=[i]`` (CUDA modules): inputs are moved to ``cuda:i`` before ``forward``.

    ``state_dict()`` keys carry the ``module.`` prefix, as PyTorch's.  ``output_device`` and
    ``dim`` are accepted for the signature (one device per process: outputs stay where the module
    puts them).  ``mixed_precision``, ``device_mesh``, ``delay_all_reduce_named_params`` and
    ``param_to_hook_all_reduce`` are not available in edunn and raise if given.
    """

    def __init__(self, module: Module, device_ids: list | None = None, output_device: Any = None,
                 dim: int = 0, broadcast_buffers: bool | None = None, init_sync: bool = True,
                 process_group: Any = None, bucket_cap_mb: float | None = None,
                 find_unused_parameters: bool = False, check_reduction: bool = False,
                 gradient_as_bucket_view: bool = False, static_graph: bool = False,
                 delay_all_reduce_named_params: Any = None, param_to_hook_all_reduce: Any = None,
                 mixed_precision: Any = None, device_mesh: Any = None,
                 skip_all_reduce_unused_params: bool = False, bucket_cap_mb_list: list | None = None,
                 batched_grad_copy: bool = False, forward_sync_buffers: bool | None = None) -> None:
        super().__init__()
        from ... import distributed as dist
        if not isinstance(module, Module):
            raise TypeError(f"DistributedDataParallel: module must be an nn.Module, but got "
                            f"{type(module).__name__}")
        for name, value in (("mixed_precision", mixed_precision), ("device_mesh", device_mesh),
                            ("delay_all_reduce_named_params", delay_all_reduce_named_params),
                            ("param_to_hook_all_reduce", param_to_hook_all_reduce)):
            if value is not None:
                raise ValueError(f"DistributedDataParallel: {name} is not available in edunn")
        if process_group is not None and device_mesh is not None:
            raise RuntimeError("Cannot specify both process_group and device_mesh arguments.")
        self.process_group = dist._group.resolve(process_group)   # the uninitialised error
        if self.process_group is None:
            raise ValueError("DistributedDataParallel: this process is not a member of process_group")
        params = [p for p in module.parameters() if p.requires_grad]
        if not params:
            raise RuntimeError("DistributedDataParallel is not needed when a module doesn't have any "
                               "parameter that requires a gradient.")
        devices = {p.device for p in module.parameters()}
        if device_ids is not None or output_device is not None:
            if len(devices) != 1 or next(iter(devices)).type != "cuda":
                raise ValueError(
                    "DistributedDataParallel device_ids and output_device arguments only work with "
                    f"single-device GPU modules, but got device_ids {device_ids}, output_device "
                    f"{output_device}, and module parameters {devices}.")
            if device_ids is not None and len(device_ids) != 1:
                raise ValueError(f"DistributedDataParallel: device_ids must hold the one device of "
                                 f"this process, but got {device_ids}")
        self.module = module
        self.device_ids = None if device_ids is None else [backend.as_device(d).index if not isinstance(d, int)
                                                           else d for d in device_ids]
        self.output_device = output_device
        self.dim = dim
        self.broadcast_buffers = True if broadcast_buffers is None else bool(broadcast_buffers)
        self.forward_sync_buffers = (self.broadcast_buffers if forward_sync_buffers is None
                                     else bool(forward_sync_buffers))
        self.find_unused_parameters = bool(find_unused_parameters)
        self.gradient_as_bucket_view = bool(gradient_as_bucket_view)
        self.static_graph = bool(static_graph)
        self.check_reduction = check_reduction
        self.skip_all_reduce_unused_params = skip_all_reduce_unused_params
        self.require_backward_grad_sync = True
        self.require_forward_param_sync = True
        self.world_size = self.process_group.size()
        self._dist = dist
        self._params = params
        self._names = {id(p): n for n, p in module.named_parameters()}
        self._buffers_to_sync = [b for _, b in module.named_buffers()]

        cap = 25.0 if bucket_cap_mb is None else float(bucket_cap_mb)
        if bucket_cap_mb_list:
            limits = [int(mb * _MIB) for mb in bucket_cap_mb_list]
        elif bucket_cap_mb is None:
            limits = [_DEFAULT_FIRST_BUCKET_BYTES, int(cap * _MIB)]
        else:
            limits = [int(cap * _MIB)]
        self.bucket_bytes_cap = int(cap * _MIB)
        self._buckets = self._assign_buckets(limits)
        self._bucket_of = {}
        for b, bucket in enumerate(self._buckets):
            for j, i in enumerate(bucket.indices):
                self._bucket_of[i] = (b, j)
        self._expected = [1] * len(params)   # accumulations per backward, learned each iteration
        self._reset_iteration()
        self._expect = False
        self._unfinished: list = []
        self._join: dict | None = None
        self._comm_hook: tuple | None = None
        self._divisor = self.world_size

        self._verify_same_model()
        if init_sync:
            self._broadcast_coalesced(list(module.parameters()) + self._buffers_to_sync)
        self._hook_handles = [p.register_post_accumulate_grad_hook(self._make_hook(i))
                              for i, p in enumerate(params)]

    # ---------------------------------------------------------------------------- setting up
    def _assign_buckets(self, limits: list) -> list:
        buckets, current, size, key, level = [], [], 0, None, 0
        for i in reversed(range(len(self._params))):
            p = self._params[i]
            k = (p.device, p.dtype)
            if current and k != key:
                buckets.append(_Bucket(current, self._params))
                current, size = [], 0
            current.append(i)
            key = k
            size += p.numel() * p.dtype.itemsize
            if size >= limits[min(level, len(limits) - 1)]:
                buckets.append(_Bucket(current, self._params))
                current, size, level = [], 0, level + 1
        if current:
            buckets.append(_Bucket(current, self._params))
        return buckets

    def _verify_same_model(self) -> None:
        """Every rank must wrap the same architecture (else the all-reduces would mix unrelated
        numbers): compare the parameters' names, shapes and dtypes."""
        mine = [(self._names.get(id(p), "?"), tuple(p.shape), str(p.dtype)) for p in self._params]
        everyone = [None] * self.world_size
        self._dist.all_gather_object(everyone, mine, group=self.process_group)
        for r, theirs in enumerate(everyone):
            if theirs != everyone[0]:
                diff = next((f"{a} vs {b}" for a, b in zip(everyone[0], theirs) if a != b),
                            f"{len(everyone[0])} vs {len(theirs)} parameters")
                raise RuntimeError(f"DDP expects same model across all ranks, but rank 0 and rank {r} "
                                   f"differ: {diff}")

    def _broadcast_coalesced(self, tensors: list) -> None:
        """Broadcast ``tensors`` from rank 0, one flat array per (device, dtype)."""
        groups: dict = {}
        for t in tensors:
            if t is not None and t.numel() > 0:
                groups.setdefault((t.device, t.dtype), []).append(t)
        for (dev, _), ts in groups.items():
            xp = backend.xp_for(dev)
            with backend.device_context(dev):
                flat = Tensor._make(xp.concatenate([t._data.reshape(-1) for t in ts]))
            self._dist.broadcast(flat, group=self.process_group, group_src=0)
            off = 0
            for t in ts:
                n = t.numel()
                t._data[...] = flat._data[off:off + n].reshape(t._data.shape)
                t._version_counter[0] += 1
                off += n

    # ------------------------------------------------------------------------------- forward
    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if self._unfinished:
            names, self._unfinished = self._unfinished, []
            raise RuntimeError(_UNFINISHED.format(rank=self.process_group.rank(), names=", ".join(names)))
        self._abandon_iteration()
        if self._join is not None:
            active = self._join_flags(True)[0]
            self._divisor = self.world_size if self._join["divide_initial"] else active
        if self.require_forward_param_sync and self.forward_sync_buffers and self._buffers_to_sync:
            with no_grad():
                self._broadcast_coalesced(self._buffers_to_sync)
        if self.device_ids:
            dev = backend.device("cuda", self.device_ids[0])
            inputs, kwargs = _to_device(inputs, dev), _to_device(kwargs, dev)
        output = self.module(*inputs, **kwargs)
        if is_grad_enabled() and self.require_backward_grad_sync:
            self.require_forward_param_sync = True
            self._expect = True
            if self.find_unused_parameters:
                reached = _leaves_reached(output)
                for i, p in enumerate(self._params):
                    if id(p) not in reached:
                        self._mark_ready(i)
        else:
            self.require_forward_param_sync = False
        return output

    @contextlib.contextmanager
    def no_sync(self) -> Iterator[None]:
        """Inside, backward only accumulates local gradients; the first synced backward after it
        all-reduces the accumulated sum (gradient accumulation without communication)."""
        old = self.require_backward_grad_sync
        self.require_backward_grad_sync = False
        try:
            yield
        finally:
            self.require_backward_grad_sync = old

    # ------------------------------------------------------------------------------ backward
    def _reset_iteration(self) -> None:
        self._ready = [False] * len(self._params)
        self._counts = [0] * len(self._params)
        self._pending = [len(b.indices) for b in self._buckets]
        self._next_bucket = 0
        self._queued = False
        self._relaunch: set = set()
        for bucket in self._buckets:
            bucket.work = None
            bucket.flat = None

    def _abandon_iteration(self) -> None:
        """A forward whose backward never came (evaluation with grad enabled, say): finish any
        bucket already launched (every rank launched it) and start afresh."""
        if self._expect and not self._queued:
            for bucket in self._buckets:
                if bucket.work is not None:
                    bucket.work.wait()
        self._expect = False
        self._reset_iteration()

    def _make_hook(self, i: int) -> Any:
        def hook(param: Tensor) -> None:
            self._on_grad(i)
        return hook

    def _on_grad(self, i: int) -> None:
        if not self._expect:
            return      # no DDP forward before this backward (or inside no_sync): accumulate only
        if not self._queued:
            engine.queue_callback(self._finish_backward)
            self._queued = True
        self._counts[i] += 1
        if self._ready[i]:
            b = self._bucket_of[i][0]
            if self._buckets[b].work is not None:
                self._relaunch.add(b)   # one more accumulation after the bucket left: resend it
            return
        if self._counts[i] >= self._expected[i]:
            self._mark_ready(i)

    def _mark_ready(self, i: int) -> None:
        if self._ready[i]:
            return
        self._ready[i] = True
        b = self._bucket_of[i][0]
        self._pending[b] -= 1
        while self._next_bucket < len(self._buckets) and self._pending[self._next_bucket] == 0:
            self._launch(self._next_bucket)
            self._next_bucket += 1

    def _launch(self, b: int) -> None:
        """Flatten bucket ``b``'s gradients into one array and start its all-reduce."""
        bucket = self._buckets[b]
        xp = backend.xp_for(bucket.device)
        with backend.device_context(bucket.device):
            if self.gradient_as_bucket_view:
                if bucket.buffer is None:
                    bucket.buffer = xp.zeros(bucket.numel, bucket.dtype.np)
                flat = bucket.buffer
                for i, off in zip(bucket.indices, bucket.offsets):
                    g, n = self._params[i].grad, self._params[i].numel()
                    if g is None:
                        flat[off:off + n] = 0
                    elif not _is_view_of(g._data, flat):
                        flat[off:off + n] = g._data.reshape(-1)
            else:
                parts = []
                for i in bucket.indices:
                    p = self._params[i]
                    parts.append(p.grad._data.reshape(-1) if p.grad is not None
                                 else xp.zeros(p.numel(), bucket.dtype.np))
                flat = xp.concatenate(parts) if len(parts) > 1 else parts[0].copy()
        bucket.flat = Tensor._make(flat)
        if self._comm_hook is None:
            bucket.averaged = False
            bucket.work = self._dist.all_reduce(bucket.flat, group=self.process_group, async_op=True)
        else:   # the hook communicates (and averages) and returns a future of the result
            state, hook = self._comm_hook
            grad_bucket = GradBucket(b, bucket, self._params, b == len(self._buckets) - 1)
            bucket.averaged = True
            bucket.work = _FutureWork(hook(state, grad_bucket), bucket)

    def _finish_backward(self) -> None:
        """Run by the engine once backward has finished: every gradient is final now."""
        for i, c in enumerate(self._counts):
            if c > 0:
                self._mark_ready(i)
        missing = [i for i, r in enumerate(self._ready) if not r]
        for b in sorted(self._relaunch):
            self._buckets[b].work.wait()
            self._launch(b)
        for bucket in self._buckets:
            if bucket.work is not None:
                bucket.work.wait()
        used = None
        if self.find_unused_parameters:
            used_t = self._small([1 if c > 0 else 0 for c in self._counts], "uint8")
            self._dist.all_reduce(used_t, op=self._dist.ReduceOp.MAX, group=self.process_group)
            used = [bool(u) for u in backend.to_numpy(used_t._data)]
        for bucket in self._buckets:
            if bucket.work is not None and bucket.flat is not None:
                self._write_back(bucket, used)
        self._expected = [max(1, c) for c in self._counts]
        if missing and not self.find_unused_parameters:
            self._unfinished = [self._names.get(id(self._params[i]), str(i)) for i in missing]
        self._expect = False
        self._reset_iteration()

    def _write_back(self, bucket: _Bucket, used: list | None) -> None:
        """``param.grad = flat / world_size`` for the parameters of ``bucket``."""
        flat = bucket.flat._data
        if not bucket.averaged:
            flat /= self._divisor
        for i, off in zip(bucket.indices, bucket.offsets):
            p = self._params[i]
            if used is not None and not used[i]:
                continue        # unused on every rank: its grad stays as it was
            n = p.numel()
            view = flat[off:off + n].reshape(p._data.shape)
            g = p.grad
            if self.gradient_as_bucket_view:
                if g is None or g._data is not view:
                    p.grad = Tensor._make(view)
                else:
                    g._version_counter[0] += 1
            elif g is None:
                p.grad = Tensor._make(view.copy())
            else:
                g._data[...] = view
                g._version_counter[0] += 1

    # --------------------------------------------------------------------------------- misc
    def register_comm_hook(self, state: Any, hook: Any) -> None:
        """Replace the bucket all-reduce by ``hook(state, bucket) -> Future`` (gradient
        compression, say).  The future's value is the bucket's *averaged* flat gradient; see
        ``edunn.distributed.algorithms.ddp_comm_hooks.default_hooks`` (``allreduce_hook``,
        ``fp16_compress_hook``).  Call it once, before the first forward."""
        if self._comm_hook is not None:
            raise RuntimeError("register_comm_hook or register_builtin_comm_hook can only be called once.")
        if not callable(hook):
            raise TypeError(f"hook must be callable, but got {type(hook).__name__}")
        self._comm_hook = (state, hook)

    def _register_builtin_comm_hook(self, comm_hook_type: Any) -> None:
        """Register one of PyTorch's built-in hooks by name: ``BuiltinCommHookType.ALLREDUCE``
        or ``FP16_COMPRESS`` (PyTorch runs them in C++; here they are ``default_hooks``'s
        ``allreduce_hook``/``fp16_compress_hook`` on this model's process group)."""
        from ...distributed.algorithms.ddp_comm_hooks import default_hooks
        if not isinstance(comm_hook_type, BuiltinCommHookType):
            raise TypeError(f"comm_hook_type must be a torch.distributed.BuiltinCommHookType "
                            f"(ALLREDUCE or FP16_COMPRESS), but got {comm_hook_type!r}")
        hook = {BuiltinCommHookType.ALLREDUCE: default_hooks.allreduce_hook,
                BuiltinCommHookType.FP16_COMPRESS: default_hooks.fp16_compress_hook}[comm_hook_type]
        self.register_comm_hook(self.process_group, hook)

    @contextlib.contextmanager
    def join(self, divide_by_initial_world_size: bool = True, enable: bool = True,
             throw_on_early_termination: bool = False) -> Iterator[None]:
        """Train on *uneven* inputs: a rank that runs out of batches leaves the ``with`` body and
        then *shadows* the others -- it answers each of their iterations with zero gradients in the
        same all-reduces (and the same buffer broadcasts), so nobody waits forever.  Each forward
        inside starts with an all-reduce of a small flag ``[active, syncs buffers, syncs grads]``;
        when it sums to zero, everyone has finished.  Gradients are divided by the initial world
        size (``divide_by_initial_world_size=True``, the joined ranks counting as zeros) or by the
        number of ranks still active.  ``throw_on_early_termination=True`` makes every rank raise
        as soon as one has run out instead."""
        if not enable:
            yield
            return
        self._join = {"divide_initial": divide_by_initial_world_size,
                      "throw": throw_on_early_termination}
        try:
            yield
            self._shadow_until_all_joined()
        finally:
            self._join = None
            self._divisor = self.world_size

    def _join_flags(self, active: bool) -> list:
        """The per-iteration flag all-reduce of ``join`` (on every rank, joined or not)."""
        grad_sync = active and is_grad_enabled() and self.require_backward_grad_sync
        buf_sync = (active and self.require_forward_param_sync and self.forward_sync_buffers
                    and bool(self._buffers_to_sync))
        flags = self._small([int(active), int(buf_sync), int(grad_sync)], "int64")
        self._dist.all_reduce(flags, group=self.process_group)
        counts = [int(v) for v in backend.to_numpy(flags._data)]
        if self._join["throw"] and counts[0] < self.world_size:
            raise RuntimeError("Detected at least one rank that exhausted inputs. Throwing across "
                               "all ranks.")
        return counts

    def _small(self, values: list, np_dtype: str) -> Tensor:
        """A small bookkeeping tensor on the device the group's backend reads (GPU for NCCL)."""
        t = Tensor._make(backend.xp_for(backend.device("cpu")).asarray(values, np_dtype))
        return t.to(self.process_group.device) if self.process_group._backend == "nccl" else t

    def _shadow_until_all_joined(self) -> None:
        while True:
            active, buf_sync, grad_sync = self._join_flags(False)
            if active == 0:
                return
            if buf_sync:
                with no_grad():
                    self._broadcast_coalesced(self._buffers_to_sync)
            if grad_sync:
                for bucket in self._buckets:
                    with backend.device_context(bucket.device):
                        zeros = backend.xp_for(bucket.device).zeros(bucket.numel, bucket.dtype.np)
                    self._dist.all_reduce(Tensor._make(zeros), group=self.process_group)
                if self.find_unused_parameters:
                    used = self._small([0] * len(self._params), "uint8")
                    self._dist.all_reduce(used, op=self._dist.ReduceOp.MAX, group=self.process_group)

    def extra_repr(self) -> str:
        return ""

    def __getstate__(self) -> dict:
        raise RuntimeError("DistributedDataParallel holds a process group and cannot be pickled or "
                           "deep-copied; save model.module.state_dict() instead")


def _is_view_of(a: Any, base: Any) -> bool:
    return a.base is base or (a.base is not None and a.base is base.base and base.base is not None)


def _to_device(obj: Any, dev: Any) -> Any:
    if isinstance(obj, Tensor):
        return obj.to(dev)
    if isinstance(obj, tuple):
        return tuple(_to_device(o, dev) for o in obj)
    if isinstance(obj, list):
        return [_to_device(o, dev) for o in obj]
    if isinstance(obj, dict):
        return {k: _to_device(v, dev) for k, v in obj.items()}
    return obj


def _tensors_in(obj: Any) -> Iterator[Tensor]:
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _tensors_in(o)
    elif isinstance(obj, dict):
        for o in obj.values():
            yield from _tensors_in(o)


def _leaves_reached(output: Any) -> set:
    """ids of the leaf tensors that the graph behind ``output``'s tensors reaches (a walk over
    ``grad_fn`` and its edges, as PyTorch's ``find_unused_parameters`` does)."""
    reached, seen, stack = set(), set(), []
    for t in _tensors_in(output):
        if t.grad_fn is not None:
            stack.append(t.grad_fn)
        elif t.requires_grad:
            reached.add(id(t))
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for edge in node._next:
            if edge is None:
                continue
            target = edge[0]
            if isinstance(target, Tensor):
                reached.add(id(target))
            elif id(target) not in seen:
                stack.append(target)
    return reached
