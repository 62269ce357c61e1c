"""The backward pass: walk the graph from the outputs to the leaves in reverse topological order.

``backward(tensors, grad_tensors)`` and ``grad(outputs, inputs)`` both end here, in
:func:`run_backward`:

1. an iterative depth-first walk from the outputs' ``grad_fn`` counts, for every node, how many
   edges lead into it (micrograd's recursive sort overflows Python's stack on a long RNN);
2. nodes whose gradient is complete (count zero) are processed: their ``backward`` turns the
   gradients of their outputs into gradients of their inputs;
3. each input gradient is summed back to the input's shape when broadcasting widened it -- the
   one place in edunn where that happens -- cast to the input's dtype (a complex gradient of a
   real input keeps its real part, PyTorch's rule), and added into the buffer of the node that produced
   the input (``grad = g if grad is None else grad + g``), or into a leaf's ``.grad``.

Every backward is written with tensor ops, run without recording unless ``create_graph``; so
while a forward-AD level is entered (``forward_ad.py``) its observer sees them, and a gradient
computed from dual tensors carries a tangent -- ``H·t``, forward over reverse -- also without
``create_graph``, as in PyTorch.  The few places below that copy raw arrays for speed (a leaf's
``.grad``, ``retain_grad``, the detached results of ``autograd.grad``, the backwards of
``Linear`` and ``cross_entropy``) take the tensor-op path instead while forward AD's tangent table is not empty (a level is entered and a dual tensor
lives; one dict check, nothing on the normal path).

Lesson 02 builds this file.
"""
from __future__ import annotations

import itertools
import sys

from typing import Any, Sequence

from . import forward_ad as _fw, grad_mode
from .. import backend
from .function import Function, _OutputRef, _refresh_view
import edunn.tensor as _tensor_mod

_multi_gpu = backend.multi_gpu  # [True] once a CUDA device is used on a machine with several

_state = grad_mode.state


def _topological_counts(roots: Sequence[Function], leaf_edges: dict) -> dict:
    """For every node reachable from ``roots``: how many edges from other reachable nodes lead
    into it.  A node is ready once that many gradients have arrived.  ``leaf_edges`` gets the
    same count for every leaf (keyed by id): a leaf reached twice (``x * x``) runs its hooks and
    accumulates once, on the sum, as PyTorch's ``AccumulateGrad`` node does."""
    deps: dict = {}
    stack = []
    for r in roots:
        if r not in deps:
            deps[r] = 0
            stack.append(r)
    while stack:
        node = stack.pop()
        for edge in node._next:
            if edge is not None:
                target = edge[0]
                if isinstance(target, Function):
                    if target in deps:
                        deps[target] += 1
                    else:
                        deps[target] = 1
                        stack.append(target)
                else:
                    key = id(target)
                    leaf_edges[key] = leaf_edges.get(key, 0) + 1
    return deps


def _nodes_leading_to(deps: dict, roots: Sequence[Function], wanted_nodes: set, wanted_leaves: set) -> set:
    """The nodes from which some wanted input can be reached (``autograd.grad`` runs only those)."""
    useful: set = set()
    # post-order without recursion: a node is useful if it is wanted or has a useful successor
    order = []
    seen = set()
    stack = [(r, False) for r in roots]
    while stack:
        node, expanded = stack.pop()
        if expanded:
            order.append(node)
            continue
        if node in seen:
            continue
        seen.add(node)
        stack.append((node, True))
        for edge in node._next:
            if edge is not None and isinstance(edge[0], Function) and edge[0] not in seen:
                stack.append((edge[0], False))
    for node in order:  # successors (inputs) come before the node in this order
        if node in wanted_nodes:
            useful.add(node)
            continue
        for edge in node._next:
            if edge is None:
                continue
            t = edge[0]
            if (isinstance(t, Function) and t in useful) or (not isinstance(t, Function) and id(t) in wanted_leaves):
                useful.add(node)
                break
    return useful


def run_backward(roots: Sequence[Any], root_grads: Sequence[Any], retain_graph: bool,
                 create_graph: bool, inputs: Sequence[Any] | None = None,
                 accumulate: bool = True, allow_unused: bool = True) -> list | None:
    """Backpropagate ``root_grads`` from the tensors ``roots``.

    With ``accumulate=True`` (``Tensor.backward``) gradients are added into the ``.grad`` of the
    leaves (of ``inputs`` only, when given).  With ``accumulate=False`` (``autograd.grad``) no
    ``.grad`` is touched and the gradients of ``inputs`` are returned.
    """
    from ..ops.broadcast import sum_to
    Tensor = _tensor_mod.Tensor
    if _sole_owner_refs == 0:
        _calibrate_sole_owner()

    start_nodes = []
    leaf_grads: dict = {}       # id(leaf) -> grad, for inputs that are leaves
    node_buffers: dict = {}     # node -> [grad per output]
    for t in (*roots, *(inputs or ())):
        if isinstance(t, Tensor) and t._base is not None and t._view_version != t._version_counter[0]:
            _refresh_view(t)  # a view whose base was written in place since its grad_fn was made
    for t, g in zip(roots, root_grads):
        if t.grad_fn is None:
            if not t.requires_grad:
                raise RuntimeError(
                    "element 0 of tensors does not require grad and does not have a grad_fn")
            _accumulate_leaf(t, g, create_graph, accumulate, inputs, leaf_grads)
            continue
        node = t.grad_fn
        buf = node_buffers.get(node)
        if buf is None:
            buf = node_buffers[node] = [None] * node._n_out
            start_nodes.append(node)
        nr = t._output_nr
        buf[nr] = g if buf[nr] is None else buf[nr] + g

    leaf_edges: dict = {}
    deps = _topological_counts(start_nodes, leaf_edges)
    leaf_pending: dict = {}     # id(leaf) -> [leaf, summed grad, arrived] for leaves reached twice

    wanted_nodes: dict = {}     # (node, nr) -> index in inputs, for non-leaf inputs
    wanted_leaves: set = set()
    useful = None
    if inputs is not None:
        for i, t in enumerate(inputs):
            if t.grad_fn is not None:
                wanted_nodes[(t.grad_fn, t._output_nr)] = i
            else:
                wanted_leaves.add(id(t))
        useful = _nodes_leading_to(deps, start_nodes, {n for n, _ in wanted_nodes}, wanted_leaves)

    captured: dict = {}
    callbacks: list = []        # queue_callback() adds here; run once the graph is done
    _final_callbacks.append(callbacks)
    _graph_tasks.append(_GraphTask(next(_task_ids), deps, leaf_edges, useful, wanted_leaves,
                                   inputs is None, accumulate))
    ready = [n for n in start_nodes if deps[n] == 0]
    pop, push = ready.pop, ready.append
    get_buffer, pop_buffer = node_buffers.get, node_buffers.pop
    anomaly = _state.anomaly
    # forward over reverse: while forward AD holds tangents, a node whose gradient or saved
    # tensors carry one runs its backward recorded (see _backward_with_tangents)
    fw_tangents = None if create_graph else _fw._tangents
    prev_mode = _state.enabled
    _state.enabled = create_graph
    try:
        while ready:
            node = pop()
            grads = pop_buffer(node)
            if wanted_nodes:
                for nr, g in enumerate(grads):
                    idx = wanted_nodes.get((node, nr))
                    if idx is not None:
                        captured[idx] = g
            if useful is not None and node not in useful:
                _release(node, retain_graph)
                continue
            has_hooks = node._has_hooks
            if has_hooks:
                if node._pre_hooks or node._node_pre_hooks:
                    grads = _run_pre_hooks(node, grads)
                if node._retain:
                    _retain_grads(node, grads, create_graph)
            if node._n_out > 1 and node._materialize_grads:
                for nr in range(len(grads)):
                    if grads[nr] is None:
                        grads[nr] = _zeros_for_output(node, nr)
            if _multi_gpu[0] and (guard := backend.device_guard(grads)) is not None:
                with guard:  # several GPUs: the backward runs where its gradients live
                    grads_in = _call_backward(node, grads, fw_tangents)
            elif fw_tangents and _carries_tangent(node, grads):
                grads_in = _backward_with_tangents(node, grads)
            else:
                grads_in = node.backward(node, *grads)
            next_edges = node._next
            if grads_in.__class__ is not tuple:
                grads_in = tuple(grads_in) if isinstance(grads_in, list) else (grads_in,)
            if len(grads_in) != len(next_edges):
                grads_in = _fix_count(node, grads_in)
            if has_hooks and node._hooks:
                for hook in list(node._hooks.values()):
                    res = hook(grads_in, tuple(grads))
                    if res is not None:
                        grads_in = tuple(res)
            if anomaly:
                _check_anomaly(node, grads_in)
            if not retain_graph:
                node._saved = None
            for g, edge in zip(grads_in, next_edges):
                if edge is None or g is None:
                    continue
                target, nr, shape, np_dtype = edge
                if g.__class__ is not Tensor:
                    g = _as_grad_tensor(g, node)
                    if g.is_sparse:  # a sparse COO gradient (Embedding(sparse=True)) has no array
                        if not isinstance(target, Function):
                            _accumulate_leaf(target, g, create_graph, accumulate, inputs, leaf_grads)
                            continue
                        g = g.to_dense()  # a non-leaf takes it dense (same numbers)
                gd = g._data
                if gd.shape != shape:
                    g = sum_to(g, shape, node)
                if gd.dtype is not np_dtype and gd.dtype != np_dtype:
                    g = _to_input_dtype(g, np_dtype)
                if isinstance(target, Function):
                    buf = get_buffer(target)
                    if buf is None:
                        node_buffers[target] = buf = [None] * target._n_out
                        buf[nr] = g
                    elif buf[nr] is None:
                        buf[nr] = g
                    else:
                        buf[nr] = buf[nr] + g
                    count = deps[target] - 1
                    deps[target] = count
                    if count == 0:
                        push(target)
                elif leaf_edges[id(target)] == 1:
                    gd = None  # so that only ``g`` holds its array (_accumulate_leaf may keep it)
                    _accumulate_leaf(target, g, create_graph, accumulate, inputs, leaf_grads, True)
                else:
                    pending = leaf_pending.get(id(target))
                    if pending is None:
                        leaf_pending[id(target)] = pending = [target, g, 1]
                    else:
                        pending[1] = pending[1] + g
                        pending[2] += 1
                    if pending[2] == leaf_edges[id(target)]:
                        del leaf_pending[id(target)]
                        _accumulate_leaf(target, pending[1], create_graph, accumulate, inputs, leaf_grads)
        for target, g, _ in leaf_pending.values():  # leaves some of whose edges were not run
            _accumulate_leaf(target, g, create_graph, accumulate, inputs, leaf_grads)
    finally:
        _state.enabled = prev_mode
        _final_callbacks.pop()
        _graph_tasks.pop()
    while callbacks:
        callbacks.pop(0)()

    if inputs is None:
        return None
    result = []
    for i, t in enumerate(inputs):
        g = captured.get(i) if t.grad_fn is not None else leaf_grads.get(id(t))
        if g is None and not allow_unused:
            raise RuntimeError(
                f"One of the differentiated Tensors (input {i}) appears to not have been used in "
                "the graph. Set allow_unused=True if this is the desired behavior.")
        result.append(g)
    return result


def _call_backward(node: Function, grads: list, fw_tangents: bool) -> Any:
    if fw_tangents and _carries_tangent(node, grads):
        return _backward_with_tangents(node, grads)
    return node.backward(node, *grads)


def _carries_tangent(node: Function, grads: list) -> bool:
    """Whether a forward-AD tangent reaches ``node``'s backward: through a gradient, a saved
    tensor (a saved output is found by its place in the graph) or a tensor kept on ``ctx``."""
    lookup, tangents = _fw._lookup, _fw._tangents
    Tensor = _tensor_mod.Tensor
    for g in grads:
        if g is not None and lookup(g) is not None:
            return True
    for obj, _ in node._saved or ():
        if obj.__class__ is _OutputRef:
            entry = tangents.get((id(node), obj.nr))
            if entry is not None and entry[0]() is not None:
                return True
        elif isinstance(obj, Tensor) and lookup(obj) is not None:
            return True
    return any(isinstance(v, Tensor) and lookup(v) is not None for v in node.__dict__.values())


def _backward_with_tangents(node: Function, grads: list) -> tuple:
    """``node.backward`` with grad mode on, as under ``create_graph``.  Several backwards take
    a raw-array shortcut when grad mode is off (``Linear``, ``cross_entropy``): arrays carry no
    tangent, so here they must run as tensor ops, which forward AD sees.  The graph this records
    is dropped again (the gradients are detached, keeping their tangents): without
    ``create_graph`` the result is not differentiable, as in PyTorch."""
    _state.enabled = True
    try:
        grads_in = node.backward(node, *grads)
    finally:
        _state.enabled = False
    if grads_in.__class__ is not tuple:
        grads_in = tuple(grads_in) if isinstance(grads_in, list) else (grads_in,)
    Tensor = _tensor_mod.Tensor
    return tuple(detach_result(g) if isinstance(g, Tensor) and g.requires_grad else g for g in grads_in)


def detach_result(g: Any) -> Any:
    """``g.detach()`` for what ``autograd.grad``/``backward(inputs=...)`` hand back without
    ``create_graph``, keeping ``g``'s forward-AD tangent (detached too): PyTorch's results of
    ``grad`` inside a dual level carry ``H·t`` even without ``create_graph``, while ``detach``
    itself drops tangents, as PyTorch's does."""
    d = g.detach()
    if _fw._tangents:
        tangent = _fw._lookup(g)
        if tangent is not None:
            _fw._store(d, tangent.detach())
    return d


def _to_input_dtype(g: Any, np_dtype: Any) -> Any:
    """A gradient cast (differentiably) to its input's dtype.  A complex gradient reaching a real
    input (``x * 1j`` with a real ``x``) keeps only its real part, ``dL/dx`` -- PyTorch's
    ``handle_r_to_c``, done here once instead of in every op."""
    if g._data.dtype.kind == "c" and np_dtype.kind != "c":
        from ..ops.complex import real
        g = real(g)
        if g._data.dtype == np_dtype:
            return g
    return g._cast_np(np_dtype)


_final_callbacks: list = []     # one list per running backward (a hook may start another one)


class _GraphTask:
    """What hooks may ask about the backward pass running now (PyTorch's ``GraphTask``): its id,
    which nodes and leaves it will reach, and whether it is a plain ``backward()``."""

    __slots__ = ("id", "deps", "leaf_edges", "useful", "wanted_leaves", "plain", "accumulate")

    def __init__(self, id, deps, leaf_edges, useful, wanted_leaves, plain, accumulate):
        self.id, self.deps, self.leaf_edges, self.useful = id, deps, leaf_edges, useful
        self.wanted_leaves, self.plain, self.accumulate = wanted_leaves, plain, accumulate


_graph_tasks: list = []         # the running backward passes, innermost last
_task_ids = itertools.count()


def current_graph_task_id() -> int:
    """The id of the running backward pass, -1 outside one (``torch._C._current_graph_task_id``)."""
    return _graph_tasks[-1].id if _graph_tasks else -1


def is_checkpoint_valid() -> bool:
    """False inside ``autograd.grad`` or ``backward(inputs=...)``: reentrant checkpointing cannot
    run its inner backward there (``torch.autograd._is_checkpoint_valid``)."""
    return _graph_tasks[-1].plain if _graph_tasks else True


def will_engine_execute_node(node: Any) -> bool:
    """Whether the running backward pass will run ``node`` (a ``Function`` node or a leaf's
    ``AccumulateGrad``), as ``torch._C._will_engine_execute_node``."""
    if not _graph_tasks:
        raise RuntimeError("_will_engine_execute_node should only be called during the backward pass")
    task = _graph_tasks[-1]
    if isinstance(node, Function):
        return node in task.deps and (task.useful is None or node in task.useful)
    if not task.accumulate:
        raise RuntimeError("A leaf node was passed to _will_engine_execute_node but we are "
                           "currently running autograd.grad(). This is currently not supported.")
    key = id(node.variable)
    return key in task.leaf_edges and (task.useful is None or key in task.wanted_leaves)


def queue_callback(callback) -> None:
    """Run ``callback()`` when the running backward pass has processed its whole graph, before
    ``backward()`` returns -- PyTorch's ``Variable._execution_engine.queue_callback``, which
    ``DistributedDataParallel`` uses to finish its gradient all-reduces."""
    if not _final_callbacks:
        raise RuntimeError("Final callbacks can only be installed during backward pass.")
    _final_callbacks[-1].append(callback)


def _fix_count(node: Function, grads_in: tuple) -> tuple:
    """Trailing ``None`` gradients may be left out, or added for defaulted arguments that were
    not passed (PyTorch allows the first); anything else is a bug in the op's backward."""
    n = len(node._next)
    if len(grads_in) < n and all(e is None for e in node._next[len(grads_in):]):
        return grads_in + (None,) * (n - len(grads_in))
    if len(grads_in) > n and all(g is None for g in grads_in[n:]):
        return grads_in[:n]
    raise RuntimeError(f"function {node.name()} returned an incorrect number of gradients "
                       f"(expected {n}, got {len(grads_in)})")


_getrefcount = sys.getrefcount
_sole_owner_refs = 0  # what _is_sole_owner counts for a gradient only the engine holds; 0: not yet measured
_calibration_counts: list = []


def _is_sole_owner(g) -> bool:
    """Whether nothing but the engine's own frames holds ``g`` (so a leaf may keep it)."""
    n = _getrefcount(g)
    if _sole_owner_refs < 0:  # inside the measurement
        _calibration_counts.append(n)
        return False
    return n <= _sole_owner_refs


def _calibrate_sole_owner() -> None:
    """How many references the engine's frames hold to a gradient on its way to a leaf depends
    on the Python version, so it is measured once: a backward whose two leaf gradients are known
    to be held by nobody else, counted where ``_is_sole_owner`` counts."""
    global _sole_owner_refs
    from ..ops.creation import ones
    from .grad_mode import enable_grad
    _sole_owner_refs = -1
    observers, _state.op_hooks = _state.op_hooks, ()  # a profiler must not see this measurement
    try:
        with enable_grad():
            x, w = ones(2, 2, requires_grad=True), ones(2, 2, requires_grad=True)
            (x @ w).sum().backward()
    finally:
        _state.op_hooks = observers
        _sole_owner_refs = min(_calibration_counts) if len(_calibration_counts) == 2 else 1
        _calibration_counts.clear()


def _to_leaf_device(leaf, g):
    """A gradient computed on another device than its leaf's: PyTorch moves it back when the leaf
    is a zero-dimensional CPU tensor that joined a CUDA op as a number; anything else is an error."""
    if leaf.dim() == 0 and leaf.device.type == "cpu":
        return _tensor_mod.Tensor._make(backend.to_device(g._data, leaf.device))
    raise RuntimeError(f"Function backward returned an invalid gradient - expected device "
                       f"{leaf.device} but got {g.device}")


@backend.on_input_device
def _accumulate_leaf(leaf, g, create_graph, accumulate, inputs, leaf_grads, from_engine=False) -> None:
    """``AccumulateGrad``: run the leaf's hooks, then add ``g`` into ``leaf.grad``."""
    if not (g.is_sparse or leaf.is_sparse) and g._data.__class__ is not leaf._data.__class__:
        g = _to_leaf_device(leaf, g)
    if leaf._grad_dtype is not None:  # Tensor.grad_dtype was set (autograd/_grad_dtype.py)
        from ._grad_dtype import wanted
        want = wanted(leaf)
        if want is not None and g.dtype != want:
            g = g.to(want)
    hooked = False
    if leaf._hooks:
        for hook in list(leaf._hooks.values()):
            res = hook(g)
            if res is not None:
                g = res
                hooked = True
    if inputs is not None:
        key = id(leaf)
        if key in leaf_grads or any(key == id(t) for t in inputs):
            prev = leaf_grads.get(key)
            leaf_grads[key] = g if prev is None else prev + g
        if not accumulate or key not in leaf_grads:
            return
    elif not accumulate:
        return
    if leaf._grad is None:
        if create_graph:
            leaf._grad = g
        elif (from_engine and not hooked and g._data.base is None and _getrefcount(g._data) == 2
              and _is_sole_owner(g)):
            # Nothing but the engine holds this freshly made gradient: keep it, as PyTorch
            # does, instead of copying it (a tenth of an MLP step).
            leaf._grad = g
        else:
            # Copy: the same gradient may reach several leaves (Add returns it twice) or be held
            # by a hook, and an in-place change of one ``.grad`` must not change another.
            leaf._grad = g.clone() if g.is_sparse else _tensor_mod.Tensor._make(g._data.copy())
    elif create_graph or leaf._grad.requires_grad:
        leaf._grad = leaf._grad + g
    elif g.is_sparse or leaf._grad.is_sparse:  # sparse + sparse stays sparse, else dense
        from ..sparse import _accumulate
        leaf._grad = _accumulate(leaf._grad, g)
    elif _fw._tangents and _fw._lookup(g) is not None:
        # forward over reverse: accumulate as an in-place tensor op, so that ``.grad`` takes
        # the tangent of the sum (PyTorch's ``variable_grad += new_grad`` under no_grad)
        with grad_mode.no_grad():
            leaf._grad.add_(g)
    else:
        leaf._grad._data += g._data
        leaf._grad._version_counter[0] += 1
    if leaf._post_accumulate_hooks:
        for hook in list(leaf._post_accumulate_hooks.values()):
            hook(leaf)


def _run_pre_hooks(node: Function, grads: list) -> list:
    if node._pre_hooks:
        for nr, hooks in node._pre_hooks.items():
            for hook in list(hooks.values()):
                if grads[nr] is None:
                    continue
                res = hook(grads[nr])
                if res is not None:
                    grads[nr] = res
    if node._node_pre_hooks:
        for hook in list(node._node_pre_hooks.values()):
            res = hook(tuple(grads))
            if res is not None:
                grads = list(res)
    return grads


def _retain_grads(node: Function, grads: list, create_graph: bool) -> None:
    for nr, ref in node._retain.items():
        t = ref()
        g = grads[nr]
        if t is None or g is None:
            continue
        if t._grad is None:
            if create_graph:
                t._grad = g
            elif _fw._tangents:  # a clone (an op) keeps a forward-AD tangent; a raw copy would not
                with grad_mode.no_grad():
                    t._grad = g.clone()
            else:
                t._grad = _tensor_mod.Tensor._make(g._data.copy())
        else:
            t._grad = t._grad + g


def _zeros_for_output(node: Function, nr: int):
    """An output of a multi-output node that received no gradient gets zeros (PyTorch's
    "materialize grads"), so every backward can assume a tensor."""
    meta = node.__dict__.get("_out_meta")
    if meta is None:
        return None
    shape, np_dtype, dev = meta[nr]
    with backend.device_context(dev):   # on the output's own GPU, not the current one
        return _tensor_mod.Tensor._make(backend.xp_for(dev).zeros(shape, np_dtype))


def _release(node: Function, retain_graph: bool) -> None:
    if not retain_graph:
        node._saved = None
        node._freed = True


def _as_grad_tensor(g, node: Function):
    if isinstance(g, _tensor_mod.Tensor):
        return g
    raise TypeError(f"function {node.name()} returned a gradient of type {type(g).__name__}; "
                    "a backward must return tensors (or None)")


def _check_anomaly(node: Function, grads_in: tuple) -> None:
    for i, g in enumerate(grads_in):
        if g is not None and _state.anomaly_check_nan and g.isnan().any().item():
            trace = "".join(node._trace) if node._trace else "(no forward trace recorded)\n"
            raise RuntimeError(
                f"Function '{node.name()}' returned nan values in its {i}th output.\n"
                f"The forward call that created this node was:\n{trace}")
