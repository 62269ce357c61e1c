"""``edunn.autograd.backward`` and ``edunn.autograd.grad``: the two ways to run backward."""
from __future__ import annotations

from typing import Any

from . import engine
import edunn.tensor as _tensor_mod


def _as_tuple(x: Any) -> tuple:
    if x is None:
        return ()
    if isinstance(x, _tensor_mod.Tensor) or _is_edge(x):
        return (x,)
    return tuple(x)


class _EdgeEnd:
    """A ``GradientEdge`` (``autograd.graph``) given as an output or an input: the engine only asks
    an end of the graph for its ``grad_fn`` and output number, so the edge stands in for the
    tensor it came from.  An input edge's gradient is the gradient flowing into that output of its
    node; an output edge starts backward at that output of its node."""

    __slots__ = ("grad_fn", "_output_nr")
    requires_grad = True
    is_leaf = False

    def __init__(self, node: Any, output_nr: int) -> None:
        self.grad_fn, self._output_nr = node, output_nr


def _is_edge(x: Any) -> bool:
    return type(x).__name__ == "GradientEdge" and hasattr(x, "output_nr")


def _ends(xs: tuple) -> tuple:
    """Tensors as they are; a ``GradientEdge`` as its leaf (an ``AccumulateGrad`` edge) or as an
    :class:`_EdgeEnd` of its node (PyTorch accepts both in ``grad`` and ``backward``)."""
    from .function import AccumulateGrad
    out = []
    for x in xs:
        if _is_edge(x):
            x = x.node.variable if isinstance(x.node, AccumulateGrad) else _EdgeEnd(x.node, x.output_nr)
        out.append(x)
    return tuple(out)


def _make_grads(outputs: tuple, grads: tuple, is_grads_batched: bool = False) -> list:
    """The gradient to start from for each output: ones for a scalar, required otherwise."""
    Tensor = _tensor_mod.Tensor
    if grads and len(grads) != len(outputs):
        raise RuntimeError(f"grad can be implicitly created only for scalar outputs; got "
                           f"{len(grads)} gradients for {len(outputs)} outputs")
    result = []
    for i, out in enumerate(outputs):
        g = grads[i] if grads else None
        if out.__class__ is _EdgeEnd:   # an edge has no value: its gradient must be given
            if g is None:
                raise RuntimeError("grad can be implicitly created only for scalar outputs")
            if not isinstance(g, Tensor):
                raise TypeError(f"grad_outputs[{i}] for a GradientEdge must be a Tensor, not {type(g).__name__}")
            meta = getattr(out.grad_fn, "_out_meta", None)
            if meta is not None and meta[out._output_nr] is not None \
                    and tuple(meta[out._output_nr][0]) != tuple(g.shape):
                raise RuntimeError(f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and "
                                   f"output[{i}] has a shape of {list(meta[out._output_nr][0])}.")
            result.append(g)
            continue
        if g is None:
            if out._data.size != 1:
                raise RuntimeError(
                    f"grad can be implicitly created only for scalar outputs (output {i} has shape "
                    f"{list(out.shape)}); pass gradient= a tensor of that shape")
            if out._data.dtype.kind not in "fV":
                raise RuntimeError(f"grad can be implicitly created only for real scalar outputs but got {out.dtype}")
            xp = _tensor_mod.backend.array_module(out._data)
            with _tensor_mod.backend.device_context(out.device):
                g = Tensor._make(xp.ones(out._data.shape, out._data.dtype))
        else:
            if not isinstance(g, Tensor):
                g = Tensor._make(_tensor_mod.backend.array_module(out._data).asarray(g, dtype=out._data.dtype))
            if g._data.shape != out._data.shape:
                raise RuntimeError(
                    f"Mismatch in shape: grad_output[{i}] has a shape of {list(g.shape)} and "
                    f"output[{i}] has a shape of {list(out.shape)}.")
            if g.device != out.device:
                raise RuntimeError(f"gradient is on {g.device} but the output is on {out.device}")
        result.append(g)
    return result


def backward(tensors: Any, grad_tensors: Any = None, retain_graph: bool | None = None,
             create_graph: bool = False, grad_variables: Any = None, inputs: Any = None) -> None:
    """Accumulate into the leaves' ``.grad`` the gradient of ``tensors`` (weighted by
    ``grad_tensors``), as ``torch.autograd.backward``."""
    outputs = _ends(_as_tuple(tensors))
    if grad_variables is not None:
        grad_tensors = grad_variables
    grads = _make_grads(outputs, _as_tuple(grad_tensors) if not isinstance(grad_tensors, _tensor_mod.Tensor) else (grad_tensors,))
    if retain_graph is None:
        retain_graph = create_graph
    inputs = _ends(_as_tuple(inputs)) or None
    if inputs is not None and any(not t.requires_grad for t in inputs):
        raise RuntimeError("One of the differentiated Tensors does not require grad")
    results = engine.run_backward(outputs, grads, retain_graph, create_graph, inputs=inputs, accumulate=True)
    if inputs is not None:  # non-leaf inputs get their .grad here (leaves got it in the engine)
        for t, g in zip(inputs, results):
            if t.grad_fn is not None and g is not None and t.__class__ is not _EdgeEnd:
                t._grad = (g if create_graph else engine.detach_result(g)) if t._grad is None else t._grad + g


def grad(outputs: Any, inputs: Any, grad_outputs: Any = None, retain_graph: bool | None = None,
         create_graph: bool = False, only_inputs: bool = True, allow_unused: bool | None = None,
         is_grads_batched: bool = False, materialize_grads: bool = False) -> tuple:
    """The gradients of ``outputs`` with respect to ``inputs``, returned rather than accumulated
    into ``.grad``.  With ``create_graph=True`` the result is itself differentiable:
    ``grad(grad(y, x, create_graph=True)[0].sum(), x)`` is a second derivative."""
    outs = _ends(_as_tuple(outputs))
    ins = _ends(_as_tuple(inputs))
    if not ins:
        raise RuntimeError("grad requires non-empty inputs.")
    for i, t in enumerate(ins):
        if not t.requires_grad:
            raise RuntimeError(f"One of the differentiated Tensors (input {i}) does not require grad")
    if allow_unused is None:
        allow_unused = materialize_grads
    grads = _make_grads(outs, _as_tuple(grad_outputs) if not isinstance(grad_outputs, _tensor_mod.Tensor) else (grad_outputs,))
    if retain_graph is None:
        retain_graph = create_graph
    result = engine.run_backward(outs, grads, retain_graph, create_graph, inputs=ins,
                                 accumulate=False, allow_unused=allow_unused)
    if materialize_grads:
        if any(g is None and t.__class__ is _EdgeEnd for g, t in zip(result, ins)):   # no shape to fill
            raise RuntimeError("materialize_grads cannot be used when the given input is a GradientEdge")
        from ..ops.creation import zeros_like
        result = [zeros_like(t) if g is None else g for g, t in zip(result, ins)]
    if not create_graph:
        result = [engine.detach_result(g) if g is not None else None for g in result]
    return tuple(result)
