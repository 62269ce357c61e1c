"""Higher-level autograd (``torch.autograd.functional``): ``vjp``, ``jvp``, ``jacobian``,
``hessian``, ``hvp``, ``vhp`` -- all built on ``grad`` with ``create_graph``."""
from __future__ import annotations

from typing import Any, Callable

from .api import grad
import edunn.tensor as _tensor_mod


def _tup(x: Any) -> tuple:
    return tuple(x) if isinstance(x, (tuple, list)) else (x,)


def _prepare(inputs: Any, create_graph: bool = False) -> tuple:
    # as PyTorch's _grad_preprocess: with create_graph, an input that requires grad stays
    # connected to its graph (through a view), so the result can be differentiated w.r.t. it
    return tuple(t.view_as(t) if create_graph and t.requires_grad else t.detach().requires_grad_(True)
                 for t in _tup(inputs))


def _unpack(result: tuple, like: Any) -> Any:
    return result if isinstance(like, (tuple, list)) else result[0]


def _zeros_if_none(gs: tuple, ins: tuple) -> tuple:
    from ..ops.creation import zeros_like
    return tuple(zeros_like(t) if g is None else g for g, t in zip(gs, ins))


def vjp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T J)``."""
    ins = _prepare(inputs, create_graph)
    outs = func(*ins)
    gs = grad(_tup(outs), ins, _tup(v) if v is not None else None, create_graph=create_graph, allow_unused=True)
    return outs if create_graph else _detach(outs), _unpack(_zeros_if_none(gs, ins), inputs)


def jvp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), J v)`` by the double-vjp trick: ``J v = d/du (u^T J) v``."""
    from ..ops.creation import zeros_like
    ins = _prepare(inputs, create_graph)
    outs = _tup(func(*ins))
    us = tuple(zeros_like(o).requires_grad_(True) for o in outs)
    gs = grad(outs, ins, us, create_graph=True, allow_unused=True)
    pairs = [(g, vi) for g, vi in zip(gs, _tup(v)) if g is not None]
    jv = grad([g for g, _ in pairs], us, [vi for _, vi in pairs], create_graph=create_graph, allow_unused=True)
    jv = _zeros_if_none(jv, outs)
    res_outs = outs if create_graph else tuple(o.detach() for o in outs)
    single = not isinstance(func(*ins), (tuple, list))
    return (res_outs[0], jv[0]) if single else (res_outs, jv)


def jacobian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
             vectorize: bool = False, strategy: str = "reverse-mode"):
    """The Jacobian, one backward per output element: shape ``out.shape + in.shape``."""
    from .. import ops  # noqa: F401
    from ..ops.shape import stack
    ins = _prepare(inputs, create_graph)
    outs = _tup(func(*ins))
    result = []
    for o in outs:
        flat = o.reshape(-1)
        rows = []
        for k in range(flat.shape[0]):
            gs = grad(flat[k], ins, retain_graph=True, create_graph=create_graph, allow_unused=True)
            rows.append(_zeros_if_none(gs, ins))
        per_input = []
        for j, t in enumerate(ins):
            if rows:
                per_input.append(stack([r[j] for r in rows]).reshape(tuple(o.shape) + tuple(t.shape)))
            else:
                from ..ops.creation import zeros
                per_input.append(zeros(tuple(o.shape) + tuple(t.shape), dtype=t.dtype, device=t.device))
        if not create_graph:
            per_input = [p.detach() for p in per_input]
        result.append(_unpack(tuple(per_input), inputs))
    return result[0] if not isinstance(func(*ins), (tuple, list)) else tuple(result)


def hessian(func: Callable, inputs: Any, create_graph: bool = False, strict: bool = False,
            vectorize: bool = False, outer_jacobian_strategy: str = "reverse-mode"):
    """The Hessian of a scalar function: the Jacobian of its gradient."""
    def gradient(*xs):
        out = func(*xs)
        gs = grad(out, xs, create_graph=True, allow_unused=True)
        gs = _zeros_if_none(gs, xs)
        return gs if isinstance(inputs, (tuple, list)) else gs[0]
    return jacobian(gradient, inputs, create_graph=create_graph)


def vhp(func: Callable, inputs: Any, v: Any = None, create_graph: bool = False, strict: bool = False):
    """``(func(inputs), v^T H)``."""
    ins = _prepare(inputs, create_graph)
    out = func(*ins)
    gs = grad(out, ins, create_graph=True, allow_unused=True)
    pairs = [(g, vi, t) for g, vi, t in zip(gs, _tup(v), ins) if g is not None]
    hv = grad([g for g, _, _ in pairs], ins, [vi for _, vi, _ in pairs], create_graph=create_graph, allow_unused=True)
    return (out if create_graph else out.detach()), _unpack(_zeros_if_none(hv, ins), inputs)


hvp = vhp  # H is symmetric for twice-differentiable functions, so H v = v^T H


def _detach(outs: Any) -> Any:
    if isinstance(outs, (tuple, list)):
        return tuple(o.detach() for o in outs)
    return outs.detach()
