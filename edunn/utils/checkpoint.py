"""``edunn.utils.checkpoint``: activation checkpointing (PyTorch's ``torch.utils.checkpoint``).

Backward needs the activations of the forward pass: every op saves what its derivative reads
(``Mul`` its two inputs, ``Exp`` its output ...), and all of it stays in memory until backward.
Checkpointing a block ``y = f(x)`` trades compute for memory: only ``x`` (and ``f``) are kept,
and in backward ``f`` is run a second time to get the activations back.  For a network of ``n``
blocks this keeps ``n`` block inputs instead of every activation.

Two implementations, as in PyTorch:

* **reentrant** (``use_reentrant=True``, :class:`CheckpointFunction`): the block runs under
  ``no_grad`` inside one ``Function``; its ``backward`` re-runs the block with grad enabled and
  calls ``autograd.backward`` on it -- a backward pass inside the backward pass ("reentrant").
  Gradients reach the block's parameters through that inner pass.  It cannot be used with
  ``autograd.grad`` or ``backward(inputs=...)``.
* **non-reentrant** (``use_reentrant=False``): the block runs normally, recording its graph,
  but under :class:`~edunn.autograd.graph.saved_tensors_hooks` whose pack hook keeps an empty
  *holder* instead of each saved tensor.  The first time backward unpacks one of them the block
  is re-run from its saved inputs under a second hook that fills the holders (and, with
  ``early_stop``, stops the re-run by an exception as soon as all are filled).  Works with
  ``grad``, keyword arguments and nested checkpoints.

Randomness: with ``preserve_rng_state=True`` (the default) the CPU generator's state, and that
of each GPU an input lives on, is stored before the forward and restored for the re-run, so
dropout draws the same mask twice; the surrounding random stream is left where it was.  The
autocast state of the forward (``edunn.amp.autocast``) is replayed in the re-run too.

Selective activation checkpointing (``CheckpointPolicy``, ``SelectiveCheckpointContext``,
``create_selective_checkpoint_contexts``, ``SAC_IGNORED_OPS``; in ``_checkpoint_selective.py``):
pass ``context_fn=functools.partial(create_selective_checkpoint_contexts, policy)`` to a
non-reentrant checkpoint, and the ops the policy names keep their outputs in the forward and are
not recomputed in backward; the others are.  It is built on ``edunn.autograd.op_hooks``, which
sees each op and can serve its result from a cache.
"""
from __future__ import annotations

import warnings
from typing import Any, Callable, ContextManager, Iterable, Tuple

from ..autograd import engine as _engine
from ..autograd.function import Function
from ..autograd.grad_mode import enable_grad, no_grad
from ..tensor import Tensor
from ._checkpoint_rng import (DefaultDeviceType, _autocast_as_in_forward, _get_autocast_kwargs,
                              _infer_device_type, _RngStash, get_device_states, set_device_states)
from ._checkpoint_nonreentrant import (_DEFAULT_DETERMINISM_MODE, CheckpointError,  # noqa: F401
                                       GraphExecGroup, _checkpoint_without_reentrant_generator,
                                       noop_context_fn, set_checkpoint_debug_enabled,
                                       set_checkpoint_early_stop)
from ._checkpoint_selective import (SAC_IGNORED_OPS, CheckpointPolicy, SACOp,  # noqa: F401
                                    SelectiveCheckpointContext,
                                    create_selective_checkpoint_contexts)

__all__ = ["checkpoint", "checkpoint_sequential", "CheckpointError", "CheckpointFunction",
           "check_backward_validity", "detach_variable", "get_device_states", "set_device_states",
           "noop_context_fn", "set_checkpoint_early_stop", "DefaultDeviceType",
           "set_checkpoint_debug_enabled", "GraphExecGroup", "CheckpointPolicy",
           "SelectiveCheckpointContext", "create_selective_checkpoint_contexts", "SAC_IGNORED_OPS"]
# Also importable from here: ``SACOp``, edunn's stand-in for an ATen op (``_checkpoint_selective.py``).


def detach_variable(inputs: Tuple[Any, ...]) -> Tuple[Tensor, ...]:
    """Each tensor of the tuple ``inputs`` detached, keeping its ``requires_grad`` (a new leaf);
    other values as they are."""
    if not isinstance(inputs, tuple):
        raise RuntimeError("Only tuple of tensors is supported. Got Unsupported input type: "
                           f"{type(inputs).__name__}")
    out = []
    for inp in inputs:
        if not isinstance(inp, Tensor):
            out.append(inp)
            continue
        x = inp.detach()
        x.requires_grad = inp.requires_grad
        out.append(x)
    return tuple(out)


def check_backward_validity(inputs: Iterable[Any]) -> None:
    """Warn when no tensor of ``inputs`` requires grad: a reentrant checkpoint then records
    nothing, and the block's parameters get no gradient."""
    if not any(inp.requires_grad for inp in inputs if isinstance(inp, Tensor)):
        warnings.warn("None of the inputs have requires_grad=True. Gradients will be None",
                      stacklevel=2)


# ----------------------------------------------------------------------------------------------
# reentrant checkpoint
# ----------------------------------------------------------------------------------------------
class CheckpointFunction(Function):
    """The reentrant checkpoint: one node for the whole block.  ``forward`` runs the block under
    ``no_grad`` and saves only its inputs; ``backward`` re-runs it with grad enabled (same random
    state) and backpropagates through that fresh graph with an inner ``autograd.backward``."""

    @staticmethod
    def forward(ctx, run_function, preserve_rng_state, *args):
        check_backward_validity(args)
        ctx.run_function = run_function
        ctx.preserve_rng_state = preserve_rng_state
        ctx.device_type = _infer_device_type(*args)
        ctx.device_autocast_kwargs, ctx.cpu_autocast_kwargs = _get_autocast_kwargs(ctx.device_type)
        ctx.rng = _RngStash(preserve_rng_state, ctx.device_type, args)
        # non-tensor inputs kept on ctx, a None placeholder for each tensor (filled in backward)
        ctx.inputs = []
        ctx.tensor_indices = []
        tensor_inputs = []
        for i, arg in enumerate(args):
            if isinstance(arg, Tensor):
                tensor_inputs.append(arg)
                ctx.tensor_indices.append(i)
                ctx.inputs.append(None)
            else:
                ctx.inputs.append(arg)
        ctx.save_for_backward(*tensor_inputs)
        with no_grad():
            outputs = run_function(*args)
        return outputs

    @staticmethod
    def backward(ctx, *args):
        from ..autograd import backward as _backward
        if not _engine.is_checkpoint_valid():
            raise RuntimeError(
                "When use_reentrant=True, torch.utils.checkpoint is incompatible"
                " with .grad() or passing an `inputs` parameter to .backward()."
                " To resolve this error, you can either set use_reentrant=False,"
                " or call .backward() without passing the `inputs` argument.")
        inputs = list(ctx.inputs)
        tensors = ctx.saved_tensors
        for i, idx in enumerate(ctx.tensor_indices):
            inputs[idx] = tensors[i]
        with ctx.rng.restored():
            detached_inputs = detach_variable(tuple(inputs))
            with enable_grad(), _autocast_as_in_forward(ctx.device_type, ctx.device_autocast_kwargs,
                                                        ctx.cpu_autocast_kwargs):
                outputs = ctx.run_function(*detached_inputs)
        if isinstance(outputs, Tensor):
            outputs = (outputs,)
        outputs_with_grad, args_with_grad = [], []
        for i in range(len(outputs)):
            if isinstance(outputs[i], Tensor) and outputs[i].requires_grad:
                outputs_with_grad.append(outputs[i])
                args_with_grad.append(args[i])
        if len(outputs_with_grad) == 0:
            raise RuntimeError("none of output has requires_grad=True, this checkpoint() is not necessary")
        _backward(outputs_with_grad, args_with_grad)
        grads = tuple(inp.grad if isinstance(inp, Tensor) else None for inp in detached_inputs)
        return (None, None) + grads


def checkpoint(function, *args, use_reentrant: "bool | None" = None,
               context_fn: Callable[[], Tuple[ContextManager, ContextManager]] = noop_context_fn,
               determinism_check: str = _DEFAULT_DETERMINISM_MODE, debug: bool = False,
               early_stop: bool = True, **kwargs):
    """Run ``function(*args, **kwargs)`` without keeping its activations; they are recomputed
    in backward.

    ``use_reentrant`` should be passed: left out, it warns and uses the reentrant variant
    (PyTorch 2.13's behaviour; ``False`` is recommended).  ``preserve_rng_state`` (keyword,
    default True) replays the random state in the re-run.  Non-reentrant only: ``context_fn``
    returns two context managers, for the forward and for the re-run (selective checkpointing:
    ``functools.partial(create_selective_checkpoint_contexts, policy)``); ``determinism_check``
    (``"default"``: the re-run must save tensors of the same shapes, dtypes and devices, or
    ``"none"``); ``debug`` adds the saving sites of both runs to such an error; ``early_stop``
    stops the re-run once everything needed is recomputed (overridden by
    :func:`set_checkpoint_early_stop`).  Returns the output of ``function``.
    """
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint: the use_reentrant parameter should be "
            "passed explicitly. Starting in PyTorch 2.9, calling checkpoint "
            "without use_reentrant will raise an exception. use_reentrant=False is "
            "recommended, but if you need to preserve the current default "
            "behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs and use_reentrant:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))
    if use_reentrant:
        if context_fn is not noop_context_fn or debug is not False:
            raise ValueError("Passing `context_fn` or `debug` is only supported when use_reentrant=False.")
        return CheckpointFunction.apply(function, preserve, *args)
    gen = _checkpoint_without_reentrant_generator(
        function, preserve, context_fn, determinism_check, debug, early_stop, *args, **kwargs)
    next(gen)  # pre-forward
    try:
        ret = function(*args, **kwargs)
    except BaseException as e:
        try:
            gen.throw(e)
        except StopIteration as stop:
            raise RuntimeError(
                "torch.utils.checkpoint: the forward context provided by "
                "context_fn suppressed an exception raised during the "
                "checkpointed forward. This is not supported because "
                "checkpoint cannot return a value for a failed forward.") from stop
        raise
    try:
        next(gen)  # post-forward
    except StopIteration:
        return ret
    raise AssertionError("torch.utils.checkpoint: expected context_fn generator to yield "
                         "exactly twice, but it yielded more than twice.")


def checkpoint_sequential(functions, segments, input, use_reentrant=None, **kwargs):
    """Run a ``Sequential`` (or a list of modules/functions) in ``segments`` chunks, each but the
    last checkpointed: only the chunks' inputs are kept.  ``input`` is one tensor, passed from
    function to function.  ``preserve_rng_state`` as in :func:`checkpoint`."""
    if use_reentrant is None:
        warnings.warn(
            "torch.utils.checkpoint.checkpoint_sequential: the use_reentrant "
            "parameter should be passed explicitly. "
            "In version 2.9 we will raise an exception if use_reentrant "
            "is not passed. use_reentrant=False is "
            "recommended, but if you need to preserve the current default "
            "behavior, you can pass use_reentrant=True. Refer to docs for more "
            "details on the differences between the two variants.", stacklevel=2)
        use_reentrant = True
    preserve = kwargs.pop("preserve_rng_state", True)
    if kwargs:
        raise ValueError("Unexpected keyword arguments: " + ",".join(arg for arg in kwargs))

    def run_function(start, end, functions):
        def forward(input):
            for j in range(start, end + 1):
                input = functions[j](input)
            return input
        return forward

    from ..nn import Sequential
    if isinstance(functions, Sequential):
        functions = list(functions.children())
    segment_size = len(functions) // segments
    end = -1  # the last chunk is run normally: its output's graph is needed right away
    for start in range(0, segment_size * (segments - 1), segment_size):
        end = start + segment_size - 1
        input = checkpoint(run_function(start, end, functions), input,
                           use_reentrant=use_reentrant, preserve_rng_state=preserve)
    return run_function(end + 1, len(functions) - 1, functions)(input)
