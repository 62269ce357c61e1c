"""Selective activation checkpointing (SAC): PyTorch's ``CheckpointPolicy``,
``SelectiveCheckpointContext``, ``create_selective_checkpoint_contexts`` and ``SAC_IGNORED_OPS``.

Plain checkpointing recomputes a whole block in backward.  Some ops are expensive to recompute
and cheap to keep (a matmul), others the reverse (a ReLU): SAC lets a *policy* decide, op by op::

    def policy_fn(ctx, op, *args, **kwargs):
        return CheckpointPolicy.MUST_SAVE if op == "aten.mm.default" else CheckpointPolicy.PREFER_RECOMPUTE

    context_fn = functools.partial(create_selective_checkpoint_contexts, policy_fn)
    y = checkpoint(block, x, use_reentrant=False, context_fn=context_fn)

**How PyTorch does it.**  The pair of context managers are two ``TorchDispatchMode``\\ s sharing
one *storage*.  The first is active in the checkpointed forward: each ATen op runs, then the
policy is asked (``SelectiveCheckpointContext(is_recompute=False, op_output=out)``, the op, its
arguments); a ``*_SAVE`` answer stores the op's output, detached, under the key ``(op, n)`` --
its ``n``-th call -- and any other answer stores a "recompute" mark.  The second is active while
backward re-runs the block: the ``n``-th call of an op that has a stored output does not run;
that output is returned (once: a second backward finds it consumed), and the other ops run.
Because the modes sit *below* autograd, the re-run still records its graph and saves the same
tensors at the same positions, which is what the checkpoint's holders need.

**How edunn does it.**  edunn's one gateway is ``Function.apply``, and
``edunn.autograd.op_hooks`` lets an observer see each call and give its result.  The forward
observer runs the op, asks the policy and caches the outputs, as above.  A cached op saved
tensors for its backward in the forward (into the checkpoint's holders), and the re-run must
save the same tensors in the same order, so the forward observer also notes, for each tensor the
op saved, where it came from: argument ``i``, output ``j``, or something else (a dropout mask,
kept in the cache).  In the re-run, the observer does not run the op: it applies the small
``_CachedResult`` function, whose ``forward`` returns the cached outputs and saves the same
arguments/outputs/others, so autograd records a node and the checkpoint's holders are filled
exactly as a real re-run would fill them.  An observer further in (installed after the re-run
context) does not see a served op: it did not run.

**What** ``op`` **is.**  PyTorch passes an ATen overload (``torch.ops.aten.mm.default``).  edunn
has no ATen, so ``op`` is an :class:`SACOp`: the op's ``Function`` class (``op.cls``, e.g.
``edunn.ops.linalg.MatMul``) with the ATen name the profiler gives it (``op.name()`` is
``"aten::mm"``, ``str(op)`` is ``"aten.mm.default"``, ``op.__name__`` is ``"mm.default"``, as for
an ``OpOverload``).  It compares equal to its class, to the spellings ``"aten.mm.default"``,
``"aten.mm"``, ``"aten::mm"`` (any overload: ``"aten.mul.Tensor"`` matches ``Mul``), to the class
name ``"MatMul"``, and to ``torch.ops.aten.mm.default`` itself when torch is around, so a list of
ops or ``op in [...]`` works with any of them.  Its hash is that of ``"aten.mm.default"``: in a
*set*, use that spelling (or a list).  An op without an ATen counterpart (a user's ``Function``)
is named by its class name.

Differences from PyTorch: a policy is asked about each ``Function.apply`` (edunn's ops), not
each ATen op, so the ops seen are edunn's (``F.linear`` is one ``Linear`` op, where PyTorch sees
``t`` and ``addmm``).  PyTorch 2.13 neither checks what the policy returns (anything but a
``*_SAVE`` value, or ``True``, means recompute) nor lets ``MUST_*`` override ``PREFER_*`` outside
``torch.compile``; edunn does the same.  ``*_CPU_OFFLOAD`` means recompute in eager mode, as there.
"""
from __future__ import annotations

import enum
from collections import defaultdict
from typing import Any, Callable

from ..autograd import function as _function
from ..autograd import op_hooks
from ..autograd.function import Function
from ..autograd.graph import saved_tensors_hooks
from ..profiler._recorder import op_name
from ..tensor import Tensor

__all__ = ["CheckpointPolicy", "SelectiveCheckpointContext", "create_selective_checkpoint_contexts",
           "SAC_IGNORED_OPS", "SACOp"]


class SelectiveCheckpointContext:
    """What the policy function gets first: ``is_recompute`` (always False: PyTorch 2.13 asks
    the policy only in the forward, and the re-run serves results by call index) and
    ``op_output``, the op's result."""

    def __init__(self, *, is_recompute, op_output=None) -> None:
        self.is_recompute = is_recompute
        self.op_output = op_output


class CheckpointPolicy(enum.Enum):
    """What to do with an op's output in a selectively checkpointed block.

    ``MUST_SAVE``/``PREFER_SAVE``: keep it in the forward, do not recompute it in backward;
    ``MUST_RECOMPUTE``/``PREFER_RECOMPUTE``: do not keep it, recompute it (a policy that always
    says ``PREFER_RECOMPUTE`` is plain checkpointing); ``MUST_CPU_OFFLOAD``/``PREFER_CPU_OFFLOAD``:
    for ``torch.compile``; recompute in eager mode.  ``MUST_*`` tells a compiler not to override
    the choice; edunn has no such compiler, so MUST and PREFER act alike."""

    MUST_SAVE = 0
    PREFER_SAVE = 1
    MUST_RECOMPUTE = 2
    PREFER_RECOMPUTE = 3
    MUST_CPU_OFFLOAD = 4
    PREFER_CPU_OFFLOAD = 5


_SAVE = (CheckpointPolicy.MUST_SAVE, CheckpointPolicy.PREFER_SAVE)


def _policy_from_bool(b: bool) -> CheckpointPolicy:
    # PyTorch's backward compatibility: a policy may answer True (save) or False (recompute)
    return CheckpointPolicy.MUST_SAVE if b else CheckpointPolicy.PREFER_RECOMPUTE


# PyTorch's set: detach (checkpointing adds different numbers of them to the forward and the
# re-run) and the metadata queries.  None of them is a ``Function`` in edunn, but an op or a
# user's ``Function`` registered here (by name or class) is ignored the same way: it always runs
# and is never shown to the policy.
SAC_IGNORED_OPS = {
    "aten.detach.default", "prim.device.default", "aten.dim.default", "aten.is_contiguous.default",
    "aten.is_contiguous.memory_format", "aten.is_non_overlapping_and_dense.default",
    "aten.is_strides_like_format.default", "aten.numel.default", "aten.size.default",
    "aten.storage_offset.default", "aten.stride.default", "aten.sym_numel.default",
    "aten.sym_size.default", "aten.sym_storage_offset.default", "aten.sym_stride.default",
}


def _short(name: str) -> str:
    """``"aten.mm.default"``, ``"aten.mm"``, ``"aten::mm"`` -> ``"aten.mm"``; a bare class
    name stays as it is."""
    parts = name.replace("::", ".").split(".")
    return ".".join(parts[:2]) if len(parts) >= 2 else name


class SACOp:
    """The ``op`` a policy function receives: an edunn ``Function`` class under its PyTorch name
    (see the module docstring).  ``op.cls`` is the class; ``op.name()`` the profiler's name
    (``"aten::mm"``); ``str(op)`` the ``OpOverload`` spelling (``"aten.mm.default"``)."""

    __slots__ = ("cls", "_aten", "_str", "_short")

    def __init__(self, cls: type, aten_name: str) -> None:
        self.cls = cls
        self._aten = aten_name                       # "aten::mm", or the class name
        if aten_name.startswith("aten::"):
            self._str = "aten." + aten_name[6:] + ".default"
        else:
            self._str = aten_name
        self._short = _short(self._str)

    @classmethod
    def of_call(cls, fn_cls: type, args: tuple) -> "SACOp":
        """The op of one call: ``MatMul`` is ``aten::mm`` or ``aten::bmm`` by its inputs."""
        return cls(fn_cls, op_name(fn_cls, args))

    def name(self) -> str:
        return self._aten

    @property
    def __name__(self) -> str:
        return self._str[5:] if self._str.startswith("aten.") else self._str

    def __str__(self) -> str:
        return self._str

    def __repr__(self) -> str:
        return f"SACOp({self.cls.__module__}.{self.cls.__qualname__}, {self._aten!r})"

    def __hash__(self) -> int:
        return hash(self._str)

    def __eq__(self, other: Any) -> bool:
        if isinstance(other, SACOp):
            return self.cls is other.cls and self._aten == other._aten
        if isinstance(other, type):
            return self.cls is other
        if isinstance(other, str):
            return other == self.cls.__name__ or _short(other) == self._short
        if type(other).__name__ in ("OpOverload", "OpOverloadPacket"):  # torch.ops.aten.mm.default
            return _short(str(other)) == self._short
        return NotImplemented

    def __ne__(self, other: Any) -> bool:
        eq = self.__eq__(other)
        return eq if eq is NotImplemented else not eq


def _ignored_matcher() -> Callable[[SACOp], bool]:
    """``SAC_IGNORED_OPS`` as it is now, as a fast test."""
    names = {_short(e) for e in SAC_IGNORED_OPS if isinstance(e, str)}
    names |= {e for e in SAC_IGNORED_OPS if isinstance(e, str)}
    classes = {e for e in SAC_IGNORED_OPS if isinstance(e, type)}
    return lambda op: op.cls in classes or op._short in names or op.cls.__name__ in names


_RECOMPUTE = object()   # the policy said recompute
_CONSUMED = object()    # served once already

_SAC_MISMATCH_MSG = ("This can happen if the operations in the checkpointed region are "
                     "nondeterministic or depend on global state that changed between "
                     "forward and backward.")


class _CacheEntry:
    """One cached call: its outputs (detached, sharing the version counter of the originals so
    that an in-place change is seen), whether each needed a gradient, and the tensors the op
    saved for its backward, as ``("arg", i)``, ``("seq", i, k)`` (element ``k`` of a list
    argument), ``("kwarg", name)``, ``("out", j)`` or ``("other", tensor)``."""

    __slots__ = ("outs", "single", "versions", "needs_grad", "slots")

    def __init__(self, out: Any, slots: list) -> None:
        self.single = not isinstance(out, (tuple, list))
        items = (out,) if self.single else tuple(out)
        self.outs = tuple(o.detach() if isinstance(o, Tensor) else o for o in items)
        self.versions = tuple(o._version if isinstance(o, Tensor) else None for o in items)
        self.needs_grad = tuple(isinstance(o, Tensor) and o.requires_grad for o in items)
        self.slots = slots

    def values(self, allow_mutation: bool) -> tuple:
        if not allow_mutation:
            for o, v in zip(self.outs, self.versions):
                if v is not None and o._version != v:
                    raise RuntimeError("Tensor cached during selective activation checkpoint has been mutated")
        return self.outs


def _slot_of(t: Tensor, args: tuple, kwargs: dict, out: Any) -> tuple:
    """Where a tensor the op saved came from (see :class:`_CacheEntry`)."""
    outs = out if isinstance(out, (tuple, list)) else (out,)
    for j, o in enumerate(outs):
        if t is o:
            return ("out", j)
    for i, a in enumerate(args):
        if t is a:
            return ("arg", i)
        if isinstance(a, (list, tuple)):
            for k, e in enumerate(a):
                if t is e:
                    return ("seq", i, k)
    for name, a in kwargs.items():
        if t is a:
            return ("kwarg", name)
    return ("other", t.detach())


class _CachedResult(Function):
    """Stands for a cached op in the re-run: ``forward`` returns the cached outputs instead of
    computing them and saves what the op saved, so the checkpoint sees the same saved tensors
    in the same order.  The re-run's graph is only a way to fill the checkpoint's holders;
    backward never goes through it."""

    supports_complex = True

    @staticmethod
    def forward(ctx, entry, values, kwargs, *args):
        outs = tuple(Tensor._make(v._data) if isinstance(v, Tensor) else v for v in values)
        frozen = [o for o, g in zip(outs, entry.needs_grad) if isinstance(o, Tensor) and not g]
        if frozen:
            ctx.mark_non_differentiable(*frozen)
        saved = []
        for slot in entry.slots:
            kind = slot[0]
            if kind == "arg":
                saved.append(args[slot[1]])
            elif kind == "seq":
                saved.append(args[slot[1]][slot[2]])
            elif kind == "kwarg":
                saved.append(kwargs[slot[1]])
            elif kind == "out":
                saved.append(outs[slot[1]])
            else:
                saved.append(slot[1])
        if saved:
            ctx.save_for_backward(*saved)
        return outs[0] if entry.single else outs

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("the re-run of a selectively checkpointed block is not differentiated; "
                           "backward goes through the graph of the original forward")


class _CachingContext:
    """The forward half: run each op, ask the policy, cache the outputs it says to save."""

    def __init__(self, policy_fn: Callable[..., Any], storage: dict) -> None:
        self.policy_fn = policy_fn
        self.storage = storage
        self.func_counter: dict = defaultdict(int)

    def _observe(self, cls: type, args: tuple, kwargs: dict, proceed: Callable[[], Any]) -> Any:
        op = SACOp.of_call(cls, args)
        if self._ignored(op):
            return proceed()
        seen: list = []
        if _function._saved_hooks:  # note what the op saves (the checkpoint's pack hook is innermost)
            inner_pack, inner_unpack = _function._saved_hooks[-1]
            running = [True]

            def pack(t):
                if running[0]:
                    seen.append(t)
                return inner_pack(t)
            try:
                with saved_tensors_hooks(pack, inner_unpack):
                    out = proceed()
            finally:
                running[0] = False
        else:
            out = proceed()
        idx = self.func_counter[op]
        self.func_counter[op] += 1
        policy = self.policy_fn(SelectiveCheckpointContext(is_recompute=False, op_output=out),
                                op, *args, **kwargs)
        if isinstance(policy, bool):
            policy = _policy_from_bool(policy)
        if policy in _SAVE:
            slots = [_slot_of(t, args, kwargs, out) for t in seen]
            self.storage[op][idx] = _CacheEntry(out, slots)
        else:
            self.storage[op][idx] = _RECOMPUTE
        seen.clear()  # the op's saved entries keep ``pack`` (and so this list): hold nothing
        return out

    def __enter__(self) -> "_CachingContext":
        self._ignored = _ignored_matcher()
        op_hooks.add_hook(self._observe)
        return self

    def __exit__(self, *exc: object) -> None:
        op_hooks.remove_hook(self._observe)


class _CachedContext:
    """The re-run half: serve the cached outputs by (op, call index); run the other ops."""

    def __init__(self, storage: dict, allow_cache_entry_mutation: bool = False) -> None:
        self.storage = storage
        self.allow_cache_entry_mutation = allow_cache_entry_mutation
        self.func_counter: dict = defaultdict(int)

    def _observe(self, cls: type, args: tuple, kwargs: dict, proceed: Callable[[], Any]) -> Any:
        op = SACOp.of_call(cls, args)
        if self._ignored(op):
            return proceed()
        idx = self.func_counter[op]
        self.func_counter[op] += 1
        func_storage = self.storage.get(op)
        if func_storage is None:
            raise RuntimeError(f"{op} encountered during backward but not found in storage. "
                               f"{_SAC_MISMATCH_MSG}")
        entry = func_storage.get(idx)
        if entry is None:
            raise RuntimeError(f"{op} invocation index {idx} encountered during backward but not "
                               f"found in storage. {_SAC_MISMATCH_MSG}")
        if entry is _CONSUMED:
            raise RuntimeError("Trying to backward an extra time. You are only allowed to backward "
                               "once on any region computed under selective activation checkpoint.")
        if entry is _RECOMPUTE:
            return proceed()
        values = entry.values(self.allow_cache_entry_mutation)
        func_storage[idx] = _CONSUMED
        # the op itself does not run: observers further in do not see it (an outer one, such
        # as a profiler, sees the call and this result)
        return _CachedResult.apply(entry, values, kwargs, *args)

    def __enter__(self) -> "_CachedContext":
        self.func_counter.clear()  # a second backward (retain_graph) finds entries consumed
        self._ignored = _ignored_matcher()
        op_hooks.add_hook(self._observe)
        return self

    def __exit__(self, *exc: object) -> None:
        op_hooks.remove_hook(self._observe)


def _check_op_list(ops: list) -> None:
    for op in ops:
        if not (isinstance(op, (str, SACOp)) or (isinstance(op, type) and issubclass(op, Function))
                or type(op).__name__ == "OpOverload"):
            extra = ""
            if type(op).__name__ == "OpOverloadPacket":
                extra = ("Please update the OpOverloadPacket to a specific OpOverload.For example, "
                         "if you have `torch.ops.aten.mm`, change it to `torch.ops.aten.mm.default`.")
            raise ValueError(
                "Expected op in `op_list` to be an OpOverload (in edunn: a Function class or an op "
                f"name such as 'aten.mm.default') but got: {op} of type {type(op)}. {extra}")


def create_selective_checkpoint_contexts(policy_fn_or_list, allow_cache_entry_mutation=False):
    """The pair of context managers ``(forward, recompute)`` that a ``context_fn`` passed to
    ``checkpoint(..., use_reentrant=False, context_fn=...)`` returns, for selective activation
    checkpointing (see the module docstring).

    ``policy_fn_or_list``: a function ``policy_fn(ctx, op, *args, **kwargs)`` returning a
    :class:`CheckpointPolicy` (or a bool: True saves) for each op of the block, ``ctx`` a
    :class:`SelectiveCheckpointContext` and ``op`` an :class:`SACOp`; or a list of ops to save
    (``Function`` classes, op names such as ``"aten.mm.default"``), every other op recomputed.
    ``allow_cache_entry_mutation``: by default, a cached output changed in place after it was
    cached is an error when the re-run would use it; True turns that check off.
    """
    if isinstance(policy_fn_or_list, list):
        _check_op_list(policy_fn_or_list)
        ops_to_save = list(policy_fn_or_list)

        def policy_fn(ctx, op, *args, **kwargs):
            if op in ops_to_save:
                return CheckpointPolicy.MUST_SAVE
            return CheckpointPolicy.PREFER_RECOMPUTE
    elif callable(policy_fn_or_list):
        policy_fn = policy_fn_or_list
    else:
        raise TypeError("policy_fn_or_list must be either a function or a list of ops.")
    storage: dict = defaultdict(dict)
    return (_CachingContext(policy_fn, storage),
            _CachedContext(storage, allow_cache_entry_mutation))
