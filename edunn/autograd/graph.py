"""``edunn.autograd.graph``: looking at and hooking into the autograd graph (PyTorch's
``torch.autograd.graph``).

* :class:`Node` -- the abstract type of every graph node.  edunn's nodes are the ``Function``
  instances that ops record (``y.grad_fn``) and the ``AccumulateGrad`` of a leaf; both are
  ``Node``\\ s (``isinstance(y.grad_fn, Node)``) and give ``name()``, ``next_functions``,
  ``metadata``, ``register_hook`` and ``register_prehook``.
* :class:`GradientEdge`, :func:`get_gradient_edge` -- "the place where a tensor's gradient is
  computed": its node and which output of that node it is.
* :class:`saved_tensors_hooks` and its uses :class:`save_on_cpu`,
  :func:`allow_mutation_on_saved_tensors`, :func:`disable_saved_tensors_hooks`.
* :func:`register_multi_grad_hook`, :func:`increment_version` and two settings of PyTorch's
  CUDA-stream machinery.

What is a "saved tensor" in edunn?  Everything an op passes to ``ctx.save_for_backward``: its
input tensors, its own output (built-in ops save the output's array; the hook receives the
output *tensor*, as in PyTorch) and any other array a built-in op saves that way (the hook
receives it wrapped in a tensor).  Numbers and ``None`` are not tensors and are not packed.
Values an op keeps as plain attributes of ``ctx`` (a shape, an index array, a mask) are not saved
tensors and are never packed -- in PyTorch too only ``SavedVariable``\\ s are.  The built-in ops
save what their backward needs; that is not always PyTorch's choice (``a * b`` saves both ``a``
and ``b``, in that order, where PyTorch saves ``b`` then ``a`` and only those whose partner needs
a gradient), so the *number* of pack calls for a built-in op may differ from PyTorch's.  For a
custom ``Function`` they are exactly PyTorch's.

How it works: ``save_for_backward`` (``function.py``) looks at one module-level list; when it
is empty (always, unless a hook is active) nothing else happens, so ops pay nothing.  Under a
hook, once the op's outputs exist each saved entry is replaced by ``pack_hook(tensor)``;
``ctx.saved_tensors`` calls ``unpack_hook`` on it.

Lesson 02 (autograd) explains the graph these functions look at.
"""
from __future__ import annotations

import abc
import contextlib
import functools
from collections import defaultdict
from typing import Any, Callable, Iterator, Literal, NamedTuple, Optional, Sequence
from weakref import WeakKeyDictionary, WeakValueDictionary

from . import engine as _engine
from . import function as _function
from .function import AccumulateGrad, Function
from ..utils.hooks import RemovableHandle
from ..tensor import Tensor

__all__ = ["saved_tensors_hooks", "save_on_cpu", "disable_saved_tensors_hooks",
           "register_multi_grad_hook", "allow_mutation_on_saved_tensors", "Node", "GradientEdge",
           "get_gradient_edge", "increment_version", "region_activation_memory_budget",
           "set_warn_on_accumulate_grad_stream_mismatch", "set_override_stale_capture_stream"]


# ----------------------------------------------------------------------------------------------
# nodes and edges
# ----------------------------------------------------------------------------------------------
class Node(abc.ABC):
    """The abstract graph node (``torch.autograd.graph.Node``).

    Nobody subclasses it: ``isinstance(t.grad_fn, Node)`` is true because edunn's node classes
    (every ``Function`` and ``AccumulateGrad``) are recognised by ``__subclasshook__``, as PyTorch
    recognises its C++ nodes."""

    @abc.abstractmethod
    def name(self) -> str:
        """The node's name: ``"<Op>Backward"`` for an op (PyTorch adds an overload number,
        ``MulBackward0``; edunn's ops have one overload and no number; a custom Function's
        node is ``"<ClassName>Backward"`` in both), ``"AccumulateGrad"`` for a leaf."""
        raise NotImplementedError

    @property
    @abc.abstractmethod
    def next_functions(self) -> tuple:
        """``((node, output_nr), ...)``: one edge per input of the op, ``(None, 0)`` where that
        input needs no gradient."""
        raise NotImplementedError

    @abc.abstractmethod
    def metadata(self) -> dict:
        """A dict the user may fill (a property on real nodes)."""
        raise NotImplementedError

    @abc.abstractmethod
    def register_hook(self, fn: Callable[..., Any]) -> RemovableHandle:
        """``fn(grad_inputs, grad_outputs)`` after the node's backward; may return new
        ``grad_inputs``."""
        raise NotImplementedError

    @abc.abstractmethod
    def register_prehook(self, fn: Callable[..., Any]) -> RemovableHandle:
        """``fn(grad_outputs)`` before the node's backward; may return new ``grad_outputs``."""
        raise NotImplementedError

    @classmethod
    def __subclasshook__(cls, subclass: type) -> bool:
        if cls is Node and subclass is not None and issubclass(subclass, (Function, AccumulateGrad)):
            return True
        return NotImplemented


def _get_grad_fn_or_grad_acc(t: Any) -> Any:
    if isinstance(t, GradientEdge):
        return t.node
    if t.requires_grad and t.grad_fn is None:
        return AccumulateGrad(t)
    if t.grad_fn is None:
        raise AssertionError("Expected gradient function to be set")
    return t.grad_fn


class GradientEdge(NamedTuple):
    """Where a tensor's gradient is computed: ``node`` (its ``grad_fn``, or a leaf's
    ``AccumulateGrad``) and ``output_nr`` (which output of that node the tensor is)."""

    node: Node
    output_nr: int
    # PyTorch keeps a C++ node alive through this token; edunn's nodes are Python objects that
    # the edge itself keeps alive, so it is always None.
    ownership_token: Optional[Node] = None


def get_gradient_edge(tensor: Any) -> GradientEdge:
    """The :class:`GradientEdge` of ``tensor`` (which must require grad)."""
    if not tensor.requires_grad:
        raise RuntimeError("It is not possible to get the gradient edge for a Tensor that does "
                           "not require gradients")
    return GradientEdge(_get_grad_fn_or_grad_acc(tensor), tensor._output_nr)


def increment_version(tensor: Any) -> None:
    """Bump the version counter of ``tensor`` (or of each tensor of an iterable), as an in-place
    op does, for code that writes into ``tensor._data`` behind autograd's back: a backward that
    saved the tensor will then refuse to use the changed values."""
    tensors = (tensor,) if isinstance(tensor, Tensor) else tuple(tensor)
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"increment_version(): expected a Tensor or an iterable of Tensors, "
                            f"got {type(t).__name__}")
        t._version_counter[0] += 1


# ----------------------------------------------------------------------------------------------
# saved-tensor hooks
# ----------------------------------------------------------------------------------------------
class saved_tensors_hooks:
    """Context manager: ``pack_hook(tensor)`` is called on every tensor an op saves for backward
    and its result is stored instead; ``unpack_hook(packed)`` turns it back into a tensor when
    backward needs it.  ``unpack_hook(pack_hook(t))`` should equal ``t`` in value, shape, dtype
    and device.

    Nested contexts: only the innermost pair applies.  The pack hook runs with hooks switched
    off, so ops it calls save their tensors plainly (as in PyTorch).  A pack hook should not
    return the tensor itself (``lambda x: x.detach()`` rather than ``lambda x: x``): a saved
    output would then keep its own graph node alive through a reference cycle."""

    def __init__(self, pack_hook: Callable[[Any], Any], unpack_hook: Callable[[Any], Any]) -> None:
        self.pack_hook = pack_hook
        self.unpack_hook = unpack_hook

    def __enter__(self) -> None:
        if _function._hooks_disabled[0] is not None:
            raise RuntimeError(_function._hooks_disabled[0])
        _function._saved_hooks.append((self.pack_hook, self.unpack_hook))

    def __exit__(self, *args: object) -> None:
        _function._saved_hooks.pop()


class save_on_cpu(saved_tensors_hooks):
    """Saved tensors are kept on the CPU and moved back to their device for backward: trades
    transfer time for GPU memory.  A CPU tensor is kept as it is (no copy).

    ``pin_memory=True``: PyTorch copies into page-locked memory asynchronously; edunn's copies
    through CuPy are synchronous, so it keeps the same values either way.  ``device_type`` names
    PyTorch's device module; edunn has one GPU kind (``"cuda"``)."""

    def __init__(self, pin_memory: bool = False, device_type: str = "cuda") -> None:
        def pack_to_cpu(tensor: Any) -> tuple:
            return (tensor.device, tensor.detach().cpu())

        def unpack_from_cpu(packed: tuple) -> Any:
            device, tensor = packed
            return tensor.to(device)

        self.pin_memory, self.device_type = pin_memory, device_type
        super().__init__(pack_to_cpu, unpack_from_cpu)


@contextlib.contextmanager
def disable_saved_tensors_hooks(error_message: str) -> Iterator[None]:
    """Context manager under which saved-tensor hooks are an error: entering a
    :class:`saved_tensors_hooks` raises ``RuntimeError(error_message)``, and so does entering
    this context while hooks are active."""
    prev = _function._hooks_disabled[0]
    try:
        if _function._saved_hooks:
            raise RuntimeError(error_message)
        _function._hooks_disabled[0] = error_message
        yield
    finally:
        _function._hooks_disabled[0] = prev


# ----------------------------------------------------------------------------------------------
# allow_mutation_on_saved_tensors
# ----------------------------------------------------------------------------------------------
_allow_mutation_on_saved_tensors_enabled = False


class _Handle:
    pass


class _AllowMutationOnSavedContext:
    """The state of one :func:`allow_mutation_on_saved_tensors` context: ``original`` maps each
    handle packed into the graph to the tensor it stands for, ``cloned`` to its version and the
    copy taken at save time, ``tid_to_weakhandle`` finds the handle of a tensor saved twice (same object, same
    version)."""

    def __init__(self) -> None:
        self.cloned: WeakKeyDictionary = WeakKeyDictionary()
        self.original: WeakKeyDictionary = WeakKeyDictionary()
        self.tid_to_weakhandle: WeakValueDictionary = WeakValueDictionary()
        self.sid_to_tid: dict = defaultdict(set)

    def clear(self) -> None:
        self.cloned.clear()
        self.original.clear()
        self.tid_to_weakhandle.clear()
        self.sid_to_tid.clear()


class _swap_with_cloned(saved_tensors_hooks):
    """PyTorch clones a saved tensor lazily, at the moment an in-place op is about to write into
    it, through a dispatch mode that sees every op.  edunn has no such interception point, so the
    copy is taken when the tensor is saved (once per tensor and version): the same gradients, at
    the memory cost of one copy of every tensor saved inside the context."""

    def __init__(self, ctx: _AllowMutationOnSavedContext) -> None:
        def pack_hook(tensor: Any) -> _Handle:
            tid = (id(tensor), id(tensor._data), tensor._version)
            ctx.sid_to_tid[(id(tensor._data), tensor._version)].add(tid)
            handle = ctx.tid_to_weakhandle.get(tid)
            if handle is None:  # the same tensor (same version) may be saved several times
                handle = _Handle()
                ctx.tid_to_weakhandle[tid] = handle
                ctx.original[handle] = tensor
                ctx.cloned[handle] = (tensor._version, tensor.detach().clone())
            return handle

        def unpack_hook(handle: _Handle) -> Any:
            error_msg = ("Trying to backward outside of the 'allow_mutation_on_saved_tensors' "
                         "contextin which the graph was originally recorded.")
            if not _allow_mutation_on_saved_tensors_enabled:
                raise AssertionError(error_msg)
            if handle not in ctx.original:
                raise AssertionError(error_msg)
            original = ctx.original[handle]
            version, clone = ctx.cloned[handle]
            # unchanged: the tensor itself (it keeps its graph, for double backward); changed in
            # place since it was saved: the copy of what it was
            return original if original._version == version else clone

        super().__init__(pack_hook, unpack_hook)


@contextlib.contextmanager
def allow_mutation_on_saved_tensors() -> Iterator[_AllowMutationOnSavedContext]:
    """Context manager under which a tensor saved for backward may be modified in place: backward
    uses its value at the time it was saved (normally that is an error at backward time).
    Forward and backward must both run inside the same context; contexts cannot be nested.
    Yields the context's state (cleared on exit)."""
    global _allow_mutation_on_saved_tensors_enabled
    ctx = _AllowMutationOnSavedContext()
    with _swap_with_cloned(ctx):
        try:
            if _allow_mutation_on_saved_tensors_enabled:
                raise RuntimeError("allow_mutation_on_saved_tensors contexts cannot be nested")
            _allow_mutation_on_saved_tensors_enabled = True
            yield ctx
        finally:
            ctx.clear()
            _allow_mutation_on_saved_tensors_enabled = False


# ----------------------------------------------------------------------------------------------
# multi-grad hooks
# ----------------------------------------------------------------------------------------------
class _MultiHandle(RemovableHandle):
    """One handle that removes several hooks."""

    def __init__(self, handles: tuple) -> None:
        self.handles = handles

    def remove(self) -> None:
        for handle in self.handles:
            handle.remove()

    def __getstate__(self) -> tuple:
        return self.handles

    def __setstate__(self, state: tuple) -> None:
        self.handles = state

    def __enter__(self) -> "_MultiHandle":
        return self

    def __exit__(self, *args: object) -> None:
        self.remove()


def register_multi_grad_hook(tensors: Sequence[Any], fn: Callable[..., None], *,
                             mode: Literal["all", "any"] = "all") -> RemovableHandle:
    """A hook on several tensors at once.

    ``mode="all"``: ``fn(grads)`` runs once per backward pass, after the gradient of every tensor
    of ``tensors`` that this pass computes has arrived; ``grads`` has one entry per tensor,
    ``None`` for those the pass does not reach (not in the graph, or not needed for the
    ``inputs`` of ``backward``/``grad``).  ``mode="any"``: ``fn(grad)`` runs once per pass, on the
    first of those gradients to arrive.

    Built as PyTorch builds it: a tensor hook on each tensor, counting arrivals per backward pass
    (the engine's graph-task id), and asking the engine how many of the tensors' nodes it will
    run."""
    supported_modes = ("all", "any")
    if mode not in supported_modes:
        raise ValueError(f"Expects mode to be one of {supported_modes} but got {mode}")

    if mode == "all":
        count: dict = {}
        buffer: dict = {}
        nb_calls: dict = {}
        grad_fns = [_get_grad_fn_or_grad_acc(t) for t in tensors]
        len_tensors = len(tensors)

        def get_inner_hook(idx: int) -> Callable[[Any], None]:
            def inner_hook(grad: Any) -> None:
                task = _engine.current_graph_task_id()
                if task == -1:
                    raise AssertionError("expected this hook to be called inside a backward call")
                curr = count.get(task, 0)
                count[task] = curr + 1
                if curr == 0:  # first arrival: how many will come in this pass
                    buffer[task] = [None] * len_tensors
                    nb_calls[task] = sum(map(_engine.will_engine_execute_node, grad_fns))
                buffer[task][idx] = grad
                if curr == nb_calls[task] - 1:
                    grads = buffer.pop(task)
                    del count[task], nb_calls[task]
                    fn(grads)
            return inner_hook

        handles = tuple(t.register_hook(get_inner_hook(i)) for i, t in enumerate(tensors))
    else:
        ran_hook: dict = defaultdict(bool)

        @functools.wraps(fn)
        def wrapped_fn(grad: Any) -> None:
            task = _engine.current_graph_task_id()
            if task == -1:
                raise AssertionError("expected this hook to be called inside a backward call")
            prev, ran_hook[task] = ran_hook[task], True
            if not prev:
                fn(grad)

        handles = tuple(t.register_hook(wrapped_fn) for t in tensors if t.requires_grad)
    return _MultiHandle(handles)


# ----------------------------------------------------------------------------------------------
# settings of PyTorch's CUDA machinery
# ----------------------------------------------------------------------------------------------
_settings = {"warn_on_accumulate_grad_stream_mismatch": True, "override_stale_capture_stream": False}


def set_warn_on_accumulate_grad_stream_mismatch(enabled: bool) -> None:
    """Whether to warn when a leaf's gradient arrives on another CUDA stream than the leaf's.
    edunn runs every op on the current CuPy stream, so the streams always match and the warning
    can never fire; the setting is recorded for code that sets it."""
    _settings["warn_on_accumulate_grad_stream_mismatch"] = bool(enabled)


def set_override_stale_capture_stream(enabled: bool) -> None:
    """PyTorch's handling of a stale stream during CUDA-graph capture.  edunn does not capture
    CUDA graphs, so no stream is ever stale; the setting is recorded for code that sets it."""
    _settings["override_stale_capture_stream"] = bool(enabled)


def region_activation_memory_budget(budget: float) -> contextlib.AbstractContextManager:
    """PyTorch: the activation-memory budget of a region compiled by ``torch.compile``; outside
    a compiled region (always, in edunn: there is no compiler) it raises ``RuntimeError`` after
    checking ``budget``, exactly as PyTorch does in eager mode.  Use
    ``edunn.utils.checkpoint.checkpoint`` to trade compute for memory."""
    if isinstance(budget, bool) or not isinstance(budget, (int, float)):
        raise TypeError(f"torch.autograd.graph.region_activation_memory_budget: expects a float, "
                        f"got {type(budget).__name__}")
    if not 0.0 <= budget <= 1.0:
        raise ValueError(f"torch.autograd.graph.region_activation_memory_budget: must be in "
                         f"[0, 1], got {budget}")
    raise RuntimeError("torch.autograd.graph.region_activation_memory_budget can only be used "
                       "inside a torch.compile region; it has no effect in eager mode.")
