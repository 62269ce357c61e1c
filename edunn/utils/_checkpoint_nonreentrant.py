"""The non-reentrant machinery of ``edunn.utils.checkpoint`` (``use_reentrant=False``): the
holders that stand in for saved tensors, the per-checkpoint frame, the two saved-tensor hooks
(pack into holders in the forward; refill them in the re-run), the generator that
``checkpoint`` drives, ``GraphExecGroup``, and the global switches
``set_checkpoint_early_stop`` / ``set_checkpoint_debug_enabled``.  Split out of
``checkpoint.py`` (which re-exports every name) to keep each file readable; the module
docstring there explains the method.
"""
from __future__ import annotations

import contextlib
import traceback
import uuid
import weakref
from collections import defaultdict

from ..autograd import engine as _engine
from ..autograd import function as _function
from ..autograd.grad_mode import enable_grad, is_grad_enabled, no_grad
from ..autograd.graph import saved_tensors_hooks
from ..tensor import Tensor
from ._checkpoint_rng import _autocast_as_in_forward, _get_autocast_kwargs, _infer_device_type, _RngStash

_DEFAULT_DETERMINISM_MODE = "default"
_checkpoint_debug_enabled: "bool | None" = None


@contextlib.contextmanager
def set_checkpoint_debug_enabled(enabled: "bool | None"):
    """Context manager overriding every checkpoint's ``debug`` flag (``None``: defer to it)."""
    global _checkpoint_debug_enabled
    try:
        prev = _checkpoint_debug_enabled
        _checkpoint_debug_enabled = enabled
        yield
    finally:
        _checkpoint_debug_enabled = prev



def noop_context_fn():
    """The default ``context_fn``: two do-nothing context managers."""
    return contextlib.nullcontext(), contextlib.nullcontext()



_enable_checkpoint_early_stop: "bool | None" = None


@contextlib.contextmanager
def set_checkpoint_early_stop(enable: bool):
    """Context manager: whether non-reentrant checkpoints made inside it stop their re-run as
    soon as every needed tensor is recomputed (overrides ``early_stop``).  Only the forward
    needs to run inside it."""
    global _enable_checkpoint_early_stop
    try:
        prev = _enable_checkpoint_early_stop
        _enable_checkpoint_early_stop = enable
        yield
    finally:
        _enable_checkpoint_early_stop = prev



class CheckpointError(RuntimeError):
    """The re-run of a non-reentrant checkpoint did not save what the forward saved."""



# ----------------------------------------------------------------------------------------------
# non-reentrant checkpoint (PyTorch's "Nestable Checkpoint" note, rules 1-6, in short):
# saved tensors belong to the innermost checkpoint; a checkpoint's inputs are saved through its
# parent's hooks, so recomputing an inner one first recomputes the outer ones; recomputed
# tensors live in one dict per backward pass (graph task) and are dropped as they are unpacked.
# ----------------------------------------------------------------------------------------------
class _Handle:
    pass


class _Holder:
    """What the graph keeps instead of a saved tensor: per backward pass, the key under which
    the recomputed tensor is found."""

    def __init__(self) -> None:
        self.handles: dict = {}


class _SavedInput:
    """A checkpoint's input, saved as an op saves a tensor: through the saved-tensor hooks
    active at that time (an enclosing checkpoint's), or with its version, so that changing it in
    place before backward is an error."""

    def __init__(self, t: Tensor) -> None:
        hooks = _function._saved_hooks[-1] if _function._saved_hooks else None
        self.version = t._version
        if hooks is None:
            self.value = t
            return
        stack = _function._saved_hooks[:]
        _function._saved_hooks.clear()
        try:
            source = (t.grad_fn or t) if t.requires_grad else None
            self.value = _function._Packed(hooks[0](t), hooks[1], source, t._output_nr)
        finally:
            _function._saved_hooks[:] = stack

    def unpack(self) -> Tensor:
        if isinstance(self.value, _function._Packed):
            return self.value.unpack()
        if self.value._version != self.version:
            raise RuntimeError(
                "one of the variables needed for gradient computation has been modified by an "
                f"inplace operation: [{self.value.type()} {list(self.value.shape)}] is at version "
                f"{self.value._version}; expected version {self.version} instead. Hint: clone "
                "the tensor before modifying it in place.")
        return self.value


def _internal_assert(cond: bool) -> None:
    if not cond:
        raise AssertionError("Something went unexpectedly wrong in activation checkpoint. "
                             "Please report this bug by filing an issue to PyTorch.")


class _CheckpointFrame:
    def __init__(self, recompute_fn, early_stop, unpack_error_cb, metadata_fn) -> None:
        self.recompute_fn = recompute_fn
        self.saved_args: list = []
        self.weak_holders: list = []
        self.recomputed: dict = defaultdict(weakref.WeakKeyDictionary)  # gid -> {handle: tensor}
        self.recomputed_versions: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
        self.recomp_counter: dict = defaultdict(int)
        self.is_recomputed: dict = defaultdict(bool)
        self.early_stop = early_stop
        self.metadata_fn = metadata_fn
        self.unpack_error_cb = unpack_error_cb
        self.x_metadatas: list = []
        self.forward_completed = False
        self.ignore_saved_mismatch = False
        self.observers: list = []  # debug=True: called with (phase, tensor) at every save

    def save_inputs(self, *args) -> None:
        self.saved_args = [_SavedInput(a) if isinstance(a, Tensor) else a for a in args]

    def get_inputs(self) -> list:
        return [a.unpack() if isinstance(a, _SavedInput) else a for a in self.saved_args]

    def check_recomputed_tensors_match(self, gid) -> None:
        if self.ignore_saved_mismatch:
            return
        if not len(self.weak_holders) == self.recomp_counter[gid]:
            raise CheckpointError(
                "torch.utils.checkpoint: A different number of tensors was saved "
                "during the original forward and recomputation.\n"
                f"Number of tensors saved during forward: {len(self.weak_holders)}\n"
                f"Number of tensors saved during recomputation: {self.recomp_counter[gid]}.\n"
                f"{_debug_tip_msg}")
        different = []
        for idx, weak_holder in enumerate(self.weak_holders):
            holder = weak_holder()
            if holder is None:  # freed by a backward inside the forward
                continue
            _internal_assert(gid in holder.handles and holder.handles[gid] is not None)
            x_meta = self.x_metadatas[idx]
            recomputed_meta = self.metadata_fn(self.recomputed[gid][holder.handles[gid]])
            if x_meta != recomputed_meta:
                different.append((idx, x_meta, recomputed_meta))
        if different:
            mismatched = "".join(f"tensor at position {idx}:\nsaved metadata: {a}\n"
                                 f"recomputed metadata: {b}\n" for idx, a, b in different)
            raise CheckpointError(
                "torch.utils.checkpoint: Recomputed values for the following tensors "
                f"have different metadata than during the forward pass.\n{mismatched}.\n"
                f"{_debug_tip_msg}")


_debug_tip_msg = """
Tip: To see a more detailed error message, either pass `debug=True` to
`torch.utils.checkpoint.checkpoint(...)` or wrap the code block
with `with torch.utils.checkpoint.set_checkpoint_debug_enabled(True):` to
enable checkpoint-debug mode globally.
"""


def _get_debug_context_and_cb():
    """``debug=True``: record where every tensor was saved (the Python stack and the tensor's
    metadata) in the forward and in the re-run, and print both logs with the error.  PyTorch logs
    every ATen op through a dispatch mode; edunn logs the saves, which is what has to match."""
    logs: dict = {"original": [], "recompute": []}
    current: list = [None]

    def observer(x: Tensor) -> None:
        if current[0] is not None:
            logs[current[0]].append((_default_meta_extractor(x), traceback.format_stack()[:-3]))

    @contextlib.contextmanager
    def phase(name: str):
        prev, current[0] = current[0], name
        logs[name].clear()
        _observers.append(observer)
        try:
            yield
        finally:
            _observers.remove(observer)
            current[0] = prev

    def unpack_error_cb(e: CheckpointError):
        def dump(label: str) -> str:
            entries = logs[label]
            return "".join(f"saved tensor {meta}   ({i + 1} of {len(entries)} in {label})\n"
                           + "".join(tb) + "\n" for i, (meta, tb) in enumerate(entries))
        raise CheckpointError(
            "An error happened while unpacking tensors; dumping logs of latest computation\n"
            "because you passed `debug=True` to `torch.utils.checkpoint.checkpoint()`.\n\n"
            "1. Tensors saved (and where) in the original forward:\n\n" + dump("original")
            + "\n2. Tensors saved (and where) during recomputation:\n\n" + dump("recompute")
            + "\nERROR: Detected non-determinism while running activation checkpointing\n"
            + str(e)) from e

    def context_fn():
        return phase("original"), phase("recompute")
    return context_fn, unpack_error_cb


_observers: list = []


def _default_meta_extractor(x: Tensor) -> dict:
    return {"shape": x.shape, "dtype": x.dtype, "device": x.device}


_allowed_determinism_checks_to_fns = {
    _DEFAULT_DETERMINISM_MODE: _default_meta_extractor,
    "none": lambda _: None,
}


class _StopRecomputationError(Exception):
    pass


class _recomputation_hook(saved_tensors_hooks):
    """Active during a re-run: each tensor the block saves goes into the holder of the tensor
    saved at the same position in the forward."""

    def __init__(self, target_frame_ref, gid) -> None:
        def pack_hook(x):
            for obs in _observers:
                obs(x)
            x = x.detach() if x.requires_grad else x
            target_frame = target_frame_ref()
            _internal_assert(target_frame is not None)
            recomp_idx = target_frame.recomp_counter[gid]
            target_frame.recomp_counter[gid] += 1
            if recomp_idx >= len(target_frame.weak_holders):
                _internal_assert(not target_frame.early_stop)
                if not target_frame.forward_completed:  # a backward inside the forward
                    target_frame.ignore_saved_mismatch = True
                    return x
                raise CheckpointError(
                    "torch.utils.checkpoint: trying to save more tensors during "
                    f"recomputation than during the original forward pass.\n{_debug_tip_msg}")
            holder = target_frame.weak_holders[recomp_idx]()
            if holder is not None:  # else freed already by a backward inside the forward
                _internal_assert(holder.handles.get(gid, None) is None)
                holder.handles[gid] = _Handle()
                target_frame.recomputed[gid][holder.handles[gid]] = x
                target_frame.recomputed_versions[holder.handles[gid]] = x._version
            if target_frame.early_stop and target_frame.recomp_counter[gid] == len(target_frame.weak_holders):
                raise _StopRecomputationError
            return x

        super().__init__(pack_hook, lambda x: x)


class _checkpoint_hook(saved_tensors_hooks):
    """Active during the forward: saves an empty holder instead of each tensor; unpacking the
    first of them in a backward pass re-runs the block."""

    def __init__(self, frame) -> None:
        def pack_hook(x):
            for obs in _observers:
                obs(x)
            holder = _Holder()
            frame.weak_holders.append(weakref.ref(holder))
            if frame.metadata_fn is not None:
                with no_grad():
                    frame.x_metadatas.append(frame.metadata_fn(x))
            return holder

        def unpack_hook(holder):
            gid = GraphExecGroup._get_current_group()
            if gid is None:
                gid = _engine.current_graph_task_id()
                if gid == -1:  # unpacked outside a backward pass: a key of its own
                    gid = int(uuid.uuid4())
            if not frame.is_recomputed[gid]:
                args = frame.get_inputs()
                try:
                    with _recomputation_hook(weakref.ref(frame), gid), enable_grad():
                        frame.recompute_fn(*args)
                except _StopRecomputationError:
                    pass
                frame.is_recomputed[gid] = True
                frame.check_recomputed_tensors_match(gid)
            _internal_assert(gid in holder.handles)
            if holder.handles[gid] is None:
                extra = ""
                if GraphExecGroup._get_current_group() is not None:
                    extra = ("Performing two backward calls that overlap (i.e. require the same "
                             "saved activation in order to compute gradients) is not allowed while "
                             "under the torch.utils.checkpoint.GraphExecGroup context. ")
                raise CheckpointError(
                    "torch.utils.checkpoint: Unpack is being triggered for a tensor that was already "
                    f"unpacked once. {extra}If you are calling ctx.saved_tensors in backward, make "
                    "sure to do so only once. Otherwise please open an issue with details on your "
                    "use case.")
            _internal_assert(holder.handles[gid] in frame.recomputed[gid])
            ret = frame.recomputed[gid][holder.handles[gid]]
            version = frame.recomputed_versions.pop(holder.handles[gid])
            holder.handles[gid] = None
            if ret._version != version:  # the re-run changed it in place after saving it
                raise RuntimeError(
                    "one of the variables needed for gradient computation has been modified by an "
                    f"inplace operation: [{ret.type()} {list(ret.shape)}] is at version "
                    f"{ret._version}; expected version {version} instead. Hint: in a checkpointed "
                    "block, clone a tensor before modifying it in place.")
            return ret

        if frame.unpack_error_cb is not None:
            def unpack_hook_with_error_cb(holder):
                try:
                    return unpack_hook(holder)
                except CheckpointError as e:
                    frame.unpack_error_cb(e)
            super().__init__(pack_hook, unpack_hook_with_error_cb)
        else:
            super().__init__(pack_hook, unpack_hook)


def _checkpoint_without_reentrant_generator(fn, preserve_rng_state=True, context_fn=noop_context_fn,
                                            determinism_check=_DEFAULT_DETERMINISM_MODE,
                                            debug=False, early_stop=True, *args, **kwargs):
    """The non-reentrant checkpoint as a generator: before its first ``yield`` the forward is
    prepared (random states, hooks), the caller runs ``fn`` at the yield, and after it the hooks
    are removed."""
    unpack_error_cb = None
    if _checkpoint_debug_enabled if _checkpoint_debug_enabled is not None else debug:
        if context_fn is not noop_context_fn:
            raise ValueError("debug=True is incompatible with non-default context_fn")
        context_fn, unpack_error_cb = _get_debug_context_and_cb()
    if determinism_check in _allowed_determinism_checks_to_fns:
        metadata_fn = _allowed_determinism_checks_to_fns[determinism_check]
    else:
        raise ValueError(
            f"determinism_check should be one of {list(_allowed_determinism_checks_to_fns.keys())}, "
            f"but got {determinism_check}")
    device_type = _infer_device_type(*args)
    forward_context, recompute_context = context_fn()
    device_autocast_kwargs, cpu_autocast_kwargs = _get_autocast_kwargs(device_type)
    rng = _RngStash(preserve_rng_state, device_type, args)

    def recompute_fn(*inputs) -> None:
        with rng.restored(), _autocast_as_in_forward(device_type, device_autocast_kwargs,
                                                     cpu_autocast_kwargs), recompute_context:
            fn(*inputs, **kwargs)

    new_frame = _CheckpointFrame(
        recompute_fn,
        _enable_checkpoint_early_stop if _enable_checkpoint_early_stop is not None else early_stop,
        unpack_error_cb, metadata_fn)
    if not is_grad_enabled():
        yield
        return
    new_frame.save_inputs(*args)
    suppressed = False
    with _checkpoint_hook(new_frame), forward_context:
        try:
            yield
        except BaseException:
            suppressed = True
            raise
    if suppressed:
        raise RuntimeError(
            "torch.utils.checkpoint: the forward context provided by "
            "context_fn suppressed an exception raised during the "
            "checkpointed forward. This is not supported because checkpoint "
            "cannot return a value for a failed forward.")
    new_frame.forward_completed = True


class GraphExecGroup:
    """Context manager: the backward calls made inside one group re-run each checkpointed block
    at most once between them, even over several ``backward``/``grad`` calls (normally each
    backward pass re-runs it).  The calls must then not need the same saved activation twice.
    Only non-reentrant checkpoints are affected; groups cannot be nested."""

    _current: "GraphExecGroup | None" = None

    def __enter__(self) -> "GraphExecGroup":
        if GraphExecGroup._current is not None:
            raise RuntimeError("GraphExecGroup contexts cannot be nested. "
                               f"Already inside group {GraphExecGroup._current}")
        GraphExecGroup._current = self
        return self

    def __exit__(self, *args: object) -> None:
        GraphExecGroup._current = None

    @classmethod
    def _get_current_group(cls) -> "GraphExecGroup | None":
        return GraphExecGroup._current

