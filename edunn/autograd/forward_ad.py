"""Forward-mode automatic differentiation (PyTorch's ``torch.autograd.forward_ad``).

Reverse mode (``backward``) gives ``vᵀJ`` -- one gradient of one output with respect to every
input -- after the forward pass.  Forward mode gives ``J·t``, the derivative of every output along
one input direction ``t``, *during* the forward pass: each tensor ``x`` carries a tangent ``ẋ``,
and each op computes its output's tangent from its inputs' tangents as it runs.  One forward
pass, no graph kept: the cheap way to get a Jacobian-vector product, a directional derivative,
or a Jacobian with few inputs and many outputs::

    with forward_ad.dual_level():
        x = forward_ad.make_dual(p, t)          # p, carrying the tangent t
        y = f(x)
        jvp = forward_ad.unpack_dual(y).tangent  # J_f(p) · t

How edunn does it
-----------------
* **Tangents** live in a table next to the tensors (``_tangents``: ``id(tensor) -> (weak
  reference, tangent)``, see :func:`_store`), so a tensor is never kept alive by its tangent and
  every tangent goes when the level is exited.  PyTorch keeps them in the tensor's autograd
  metadata, per level.  ``make_dual(p, t)`` returns a view of ``p`` that carries ``t``.
* **Levels**: PyTorch allows one level at a time (``enter_dual_level`` inside a level raises
  "Nested forward mode AD is not supported"); so does edunn.  For higher-order forward
  derivatives PyTorch points to ``torch.func.jvp``; ``edunn.func.jvp`` is there too.
* **Seeing every op**: every op runs through ``Function.apply``; while a level is entered an
  observer (``op_hooks.add_hook``) looks at each call.  When some tensor argument has a tangent,
  it lets the op compute its value (``proceed()``) and then computes the output tangents:

  - a user's ``autograd.Function`` must define ``jvp(ctx, *input_tangents)`` (PyTorch's API;
    ``forward`` keeps what ``jvp`` needs with ``ctx.save_for_forward``, read back as
    ``ctx.saved_tensors``); without one it raises as PyTorch does;
  - the common built-in ops have explicit rules (``_forward_rules.py``): linear ops applied to
    the tangent, the product rule, ``f'(x)·ẋ`` for elementwise functions;
  - every other built-in op with a ``backward`` uses the **double-vjp trick**, op by op (see
    :func:`_fallback`): the backward computes ``u = Jᵀg``, which is linear in ``g``, so
    ``d⟨u, t⟩/dg = J·t``;
  - ops without a gradient (integer or bool outputs: comparisons, ``argmax``) give no tangent.

* **In-place ops** (``x.mul_(2)``) compute ``x * 2`` as an op (which gets a tangent) and then
  write it into ``x`` (``Tensor._inplace``), which tells :func:`_after_inplace`: ``x``'s tangent
  is overwritten in place with the new one, as PyTorch does -- and for a view, the region of its
  base's tangent, so that the base and every other view see it.  A view's tangent is the same
  view of its base's tangent (the view op applied to the tangent), hence shares its memory.
* **Reverse mode through forward mode**: the tangent computations are ordinary recorded ops, so
  ``grad`` of a tangent (or of anything computed with forward AD inside) works.  Forward over
  reverse -- the tangent of a gradient, ``H·t`` -- works with or without ``create_graph``, as in
  PyTorch: backwards are tensor ops, which this observer sees, and the engine runs a node whose
  gradient or saved tensors carry a tangent with grad mode on, so that backwards with a raw-array
  shortcut (``Linear``, ``cross_entropy``) take their tensor-op path (``engine.py``).

Differences from PyTorch: a custom Function's ``forward`` sees ``ctx.needs_input_grad`` True
for one dual input (see :func:`_custom`); where tangents are part of a reverse-mode graph, an
in-place op gives the tensor a new tangent instead of overwriting the old one (see
:func:`_after_inplace`).  ``out=`` with a dual input or ``out`` is refused with PyTorch's
``NotImplementedError`` (``ops/_out.py``).

Lesson 02 builds reverse mode; ``edunn.func.jvp``/``jacfwd`` get ``J·t`` from reverse mode by the
double-vjp trick over the whole function (and nest, which one forward-AD level cannot).
"""
from __future__ import annotations

import weakref
from typing import Any, NamedTuple

from . import grad_mode, op_hooks
from .function import Function, _FLOAT_ARRAY_DTYPES
import edunn.tensor as _tensor_mod  # the module: tensor.py imports this package

__all__ = ["UnpackedDualTensor", "enter_dual_level", "exit_dual_level", "make_dual",
           "unpack_dual", "dual_level"]

_current_level = -1          # -1: no level entered; PyTorch's levels start at 0
_tangents: dict = {}         # id(tensor) or a graph place -> (weakref to its owner, the tangent); _store
_BASE_JVP = Function.jvp


# ------------------------------------------------------------------------------- the tangent table
def _lookup(t: Any) -> Any:
    """``t``'s tangent at the current level, or None."""
    entry = _tangents.get(id(t))
    if entry is not None and entry[0]() is t:
        return entry[1]
    node = t.grad_fn
    if node is not None:  # perhaps an output rebuilt by ``saved_tensors``: same node, same place
        entry = _tangents.get((id(node), t._output_nr))
        if entry is not None and entry[0]() is node:
            return entry[1]
    return None


def _store(t: Any, tangent: Any) -> None:
    """Give ``t`` its tangent.  Kept under ``id(t)`` while ``t`` lives and, for a recorded
    tensor, also under its place in the graph ``(id(grad_fn), output_nr)`` while that node
    lives: a node that saved its own output for backward (``exp``, ``tanh``) hands back a new
    tensor object for it, which must find the tangent too when a gradient is computed inside a
    level (forward over reverse) -- also once the original output object is gone, as PyTorch's
    saved variables keep their forward gradient."""
    _remember(id(t), t, tangent)
    if t.grad_fn is not None:
        _remember((id(t.grad_fn), t._output_nr), t.grad_fn, tangent)


def _remember(key: Any, owner: Any, tangent: Any) -> None:
    """``_tangents[key] = (weakref to owner, tangent)``, deleted when ``owner`` dies."""
    def forget(ref: Any) -> None:
        entry = _tangents.get(key)
        if entry is not None and entry[0] is ref:
            del _tangents[key]
    _tangents[key] = (weakref.ref(owner, forget), tangent)


class _Alias(Function):
    """A view of the whole tensor (same memory, same version counter): the dual tensor
    ``make_dual`` returns and the primal ``unpack_dual`` returns are views, as in PyTorch, so an
    in-place op on a dual tensor is checked and recorded like one on any view of its primal.
    Differentiable in reverse mode: the gradient passes through unchanged.

    ``owner`` marks where tangents start: the view chain of a view of a dual tensor ``x``
    (``x[0]``) runs from ``x``'s primal through this op, whose ``owner`` leads back to ``x`` --
    the tensor whose tangent the view's tangent is a region of (see :func:`_tangent_owner`)."""
    supports_complex = True  # an identity: right for every dtype
    _is_view = True

    @staticmethod
    def forward(ctx, x, owner):
        return x._data.view()

    @staticmethod
    def backward(ctx, grad):
        return grad, None


class _Owner:
    """A weak reference to a dual tensor, kept in the view chain of its views."""

    __slots__ = ("ref",)

    def __init__(self) -> None:
        self.ref = None


def _alias(t: Any, dual: bool = False) -> Any:
    """A view of ``t``; with ``dual``, one that will carry its own tangent (``make_dual``)."""
    owner = _Owner() if dual else None
    out = _Alias.apply(t, owner)
    if owner is not None:
        owner.ref = weakref.ref(out)
    return out


# ------------------------------------------------------------------------------- the public API
class UnpackedDualTensor(NamedTuple):
    """What :func:`unpack_dual` returns: the ``primal`` and its ``tangent`` (None if it has none)."""

    primal: Any
    tangent: Any


def enter_dual_level() -> int:
    """Enter a forward-AD level (PyTorch allows only one at a time) and return it (0).  From now
    on every op propagates the tangents of dual tensors."""
    global _current_level
    if _current_level >= 0:
        raise RuntimeError("Nested forward mode AD is not supported at the moment")
    _current_level = 0
    op_hooks.add_hook(_observe)
    return _current_level


def exit_dual_level(*, level: int | None = None) -> None:
    """Leave the current level: every tangent made at it is deleted (dual tensors become plain
    tensors).  Only the last entered level can be exited."""
    global _current_level
    if level is None:
        level = _current_level
    if level != _current_level:
        raise RuntimeError("Trying to exit a forward AD level that was not the last one that was "
                           "created. This is not supported.")
    if level < 0:
        raise RuntimeError("Dual level must be a positive number.")
    if _observe in grad_mode.state.op_hooks:  # (not when the level was entered on another thread)
        op_hooks.remove_hook(_observe)
    _tangents.clear()
    _current_level = level - 1


def make_dual(tensor: Any, tangent: Any, *, level: int | None = None) -> Any:
    """A dual tensor: ``tensor``'s values (shared, like a view) carrying ``tangent`` as its
    forward gradient.  ``tangent`` is kept as it is (not copied): an in-place op on the dual
    tensor updates it.  Differentiable in reverse mode with respect to ``tensor``."""
    Tensor = _tensor_mod.Tensor
    if level is None:
        level = _current_level
    if level < 0:
        raise RuntimeError("Trying to create a dual Tensor for forward AD but no level exists, make "
                           "sure to enter_dual_level() first.")
    for name, t in (("tensor", tensor), ("tangent", tangent)):
        if not isinstance(t, Tensor):
            raise TypeError(f"make_dual(): argument '{name}' must be Tensor, not {type(t).__name__}")
    if not (tensor.is_floating_point() or tensor.is_complex()):
        raise ValueError(f"Expected primal to be floating point or complex, but got: {tensor.dtype}")
    if not (tangent.is_floating_point() or tangent.is_complex()):
        raise ValueError(f"Expected tangent to be floating point or complex, but got: {tangent.dtype}")
    if level != _current_level:
        raise RuntimeError("Invalid level given to _make_dual")
    if _lookup(tensor) is not None:
        raise RuntimeError("Making a dual Tensor based on a Tensor that already has a forward "
                           f"gradient at the same level {level} is not supported.")
    if tangent.shape != tensor.shape:
        raise RuntimeError("Trying to set a forward gradient that has a different size than that of "
                           "the original Tensor, this is not supported. Tensor is of size "
                           f"{list(tensor.shape)} while the given forward gradient is of size "
                           f"{list(tangent.shape)}.")
    if tangent.device != tensor.device:
        raise RuntimeError("Trying to set a forward gradient that is on a different device than "
                           f"the original Tensor, this is not supported. Tensor is on "
                           f"{tensor.device} while the given forward gradient is on "
                           f"{tangent.device}.")
    dual = _alias(tensor, dual=True)
    _store(dual, tangent)
    return dual


def unpack_dual(tensor: Any, *, level: int | None = None) -> UnpackedDualTensor:
    """``(primal, tangent)``: a new tensor sharing ``tensor``'s values without its tangent, and
    the tangent as it is (None when ``tensor`` has none, or outside every level)."""
    if level is None:
        level = _current_level
    if level < 0:
        return UnpackedDualTensor(tensor, None)
    tangent = _lookup(tensor)
    if level != _current_level:
        if tangent is not None:  # PyTorch checks the level only for a dual tensor
            raise RuntimeError("Invalid level given to _fw_primal")
        return UnpackedDualTensor(_alias(tensor), None)
    return UnpackedDualTensor(_alias(tensor), tangent)


class dual_level(grad_mode._DecoratorContextManager):
    """``with dual_level():`` enters a forward-AD level and exits it (deleting its tangents) at
    the end of the block; also a decorator.  ``as`` gives the level number."""

    def __enter__(self) -> int:
        return enter_dual_level()

    def __exit__(self, exc_type: Any, exc_value: Any, traceback: Any) -> None:
        exit_dual_level()


# ------------------------------------------------------------------------------- propagation
def _observe(cls: type, args: tuple, kwargs: dict, proceed: Any) -> Any:
    """The op observer installed while a level is entered: run the op, then give its outputs
    their tangents when some argument had one."""
    if not _tangents:
        return proceed()
    Tensor = _tensor_mod.Tensor
    tangents = None
    for i, a in enumerate(args):
        if isinstance(a, Tensor):
            tangent = _lookup(a)
            if tangent is not None:
                if tangents is None:
                    tangents = [None] * len(args)
                tangents[i] = tangent
    if tangents is None or cls is _Alias:
        return proceed()
    if cls.jvp is not _BASE_JVP or not cls.__module__.startswith("edunn."):
        return _custom(cls, args, tangents, proceed)
    out = proceed()
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    if not any(_differentiable(o) for o in outs):
        return out  # integer and bool outputs carry no tangent
    from ._forward_rules import rules
    rule = rules().get(cls)
    if rule is not None:
        touts = rule(cls, args, kwargs, tangents, out)
    else:
        touts = _fallback(cls, args, kwargs, tangents)
    _attach(outs, touts)
    return out


def _differentiable(o: Any) -> bool:
    return isinstance(o, _tensor_mod.Tensor) and o._data.dtype in _FLOAT_ARRAY_DTYPES


def _attach(outs: tuple, touts: Any) -> None:
    """Store each output's tangent, broadcast to its shape and cast to its dtype."""
    touts = tuple(touts) if isinstance(touts, (tuple, list)) else (touts,)
    for o, t in zip(outs, touts):
        if t is None or not _differentiable(o):
            continue
        td, od = t._data, o._data
        if td.shape != od.shape:
            t = t.expand(o.shape)
        if td.dtype != od.dtype:
            t = t.to(o.dtype)
        _store(o, t)


def _custom(cls: type, args: tuple, tangents: list, proceed: Any) -> Any:
    """A user's ``autograd.Function``: its ``jvp(ctx, *tangents)`` with the very ``ctx`` that
    ``forward`` filled (and that ``backward`` will get).

    ``apply`` creates that ``ctx`` and, when it records the op, hangs it on the outputs as
    ``grad_fn``; when nothing would be recorded (the usual case here: the inputs need no
    gradient) we let ``apply`` record this one call -- one input marked as requiring grad while
    it runs -- to find ``ctx``, and then take the graph off the outputs again.  So ``forward``
    sees ``ctx.needs_input_grad`` True for that input (in PyTorch, False)."""
    Tensor = _tensor_mod.Tensor
    tensors = [a for a in args if isinstance(a, Tensor)]
    recorded = grad_mode.state.enabled and any(a.requires_grad for a in tensors)
    forced = None
    if recorded:
        out = proceed()
    else:
        forced = next(a for a, t in zip(args, tangents) if t is not None)
        before = forced.requires_grad  # True under no_grad: then it only needs grad mode on
        forced.requires_grad = True
        try:
            with grad_mode.enable_grad():
                out = proceed()
        finally:
            forced.requires_grad = before
    outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
    ctx = next((o.grad_fn for o in outs if isinstance(o, Tensor) and o.grad_fn is not None), None)
    if forced is not None:
        for o in outs:
            if isinstance(o, Tensor):
                o.grad_fn, o.requires_grad = None, False
    if ctx is None:
        return out  # no differentiable output
    from ..ops.creation import zeros_like
    full = [t if t is not None else zeros_like(a) if isinstance(a, Tensor) else None
            for a, t in zip(args, tangents)]
    saved = ctx._saved
    ctx._saved = tuple((t, t._version_counter[0]) if isinstance(t, Tensor) else (t, None)
                       for t in ctx.__dict__.get("saved_for_forward", ()))
    try:
        touts = cls.jvp(ctx, *full)
    finally:
        ctx._saved = saved
    _attach(outs, touts)
    return out


def _fallback(cls: type, args: tuple, kwargs: dict, tangents: list) -> Any:
    """``J·t`` for an op with a ``backward`` but no forward rule: the double-vjp trick.

    The op's backward computes ``u = Jᵀg`` for any output gradient ``g``.  ``u`` is linear in
    ``g``, so ``⟨u, t⟩ = ⟨Jᵀg, t⟩ = ⟨g, J·t⟩`` and differentiating it with respect to ``g`` gives
    ``J·t``.  Concretely: run the op again on stand-ins for the dual inputs that require grad,
    take ``u`` by ``grad`` with ``create_graph=True`` and a dummy ``g`` (zeros requiring grad; the
    value does not matter, ``u`` is linear in it), then one more ``grad`` of ``⟨u, t⟩`` with
    respect to ``g``.  Three passes instead of one, but correct for every op whose backward is
    itself differentiable -- which edunn requires of every op (double backward).

    A stand-in is a detached copy of the input, or -- when the input needs a gradient and grad
    mode is on -- a recorded alias of it, so that the tangent stays differentiable in reverse
    mode with respect to the input as well as to the tangent."""
    from .api import grad
    from ..ops.creation import zeros_like
    Tensor = _tensor_mod.Tensor
    keep = grad_mode.state.enabled and (
        any(t.requires_grad for t in tangents if t is not None)
        or any(a.requires_grad for a, t in zip(args, tangents) if t is not None))
    with grad_mode.enable_grad():
        new = list(args)
        stand_ins, dirs = [], []
        for i, t in enumerate(tangents):
            if t is None:
                continue
            a = args[i]
            s = _alias(a) if keep and a.requires_grad else a.detach().requires_grad_()
            new[i] = s
            stand_ins.append(s)
            dirs.append(t)
        out = cls.apply(*new, **kwargs)  # observers are off while an op is observed
        outs = tuple(out) if isinstance(out, (tuple, list)) else (out,)
        diff = [o for o in outs if isinstance(o, Tensor) and o.requires_grad]
        if not diff:
            return None
        gs = [zeros_like(o).requires_grad_() for o in diff]
        us = grad(diff, stand_ins, gs, create_graph=True, allow_unused=True)
        total = None
        for u, t in zip(us, dirs):
            if u is not None:
                # complex: Re⟨u, t⟩, whose gradient in g (PyTorch's convention) is again J·t
                term = (u.conj() * t).real.sum() if u.is_complex() or t.is_complex() else (u * t).sum()
                total = term if total is None else total + term
        if total is None or not total.requires_grad:
            jv = [None] * len(gs)
        else:
            jv = grad(total, gs, create_graph=keep, allow_unused=True)
    it = iter(zip(gs, jv))
    result = []
    for o in outs:
        if isinstance(o, Tensor) and o.requires_grad:
            g, j = next(it)
            result.append(j if j is not None else zeros_like(g).detach())
        else:
            result.append(None)
    if not keep:
        result = [r.detach() if r is not None else None for r in result]
    return result


# ------------------------------------------------------------------------------- in-place ops
def _after_inplace(tensor: Any, result: Any) -> None:
    """Called by ``Tensor._inplace`` once ``result``'s values were written into ``tensor``: the
    tangent follows the values.

    ``tensor``'s tangent is overwritten in place (as PyTorch does: the tangent given to
    ``make_dual`` changes with the dual tensor), and for a view, the region of its base's tangent
    (zeros are made for a base without one), which every other view of that base shares.

    When the tangents take part in a reverse-mode graph, overwriting one could change a tensor
    that a recorded op saved for its backward (the new tangent ``ẋ·w`` of ``x.mul_(w)`` saved a
    view of the old one); then the new tangent is a fresh tensor instead (for a view: a copy of
    the base's tangent with the region replaced, by recorded ops), and views taken earlier keep
    the old values -- the one place where edunn differs from PyTorch, which saves copies."""
    if not _tangents or _current_level < 0:
        return
    from ..ops.creation import zeros_like
    owner, steps = _tangent_owner(tensor)
    new = _lookup(result)
    old = _lookup(owner)
    if old is None and new is None:
        return
    graph = grad_mode.state.enabled and (
        (new is not None and new.requires_grad) or (old is not None and old.requires_grad))
    if not steps:  # the tensor holds its tangent itself
        if old is None or graph:
            _store(tensor, new if new is not None else zeros_like(tensor))
            return
        with grad_mode.no_grad():
            old.copy_(new) if new is not None else old.zero_()
        return
    from ..ops.copy_slices import laid_out, memory_layout, replay_view
    if old is None:
        old = zeros_like(owner)
    elif graph:
        old = old.clone()
    old = laid_out(old, memory_layout(steps, owner))  # an as_strided step reads memory
    _store(owner, old)
    region = replay_view(steps, old)
    with grad_mode.set_grad_enabled(graph):
        region.copy_(new) if new is not None else region.zero_()
    _store(tensor, region)


def _tangent_owner(tensor: Any) -> tuple:
    """``(owner, steps)``: the tensor whose tangent ``tensor``'s tangent is a region of, and the
    view ops that cut that region out of it.  For a view of a dual tensor the owner is the dual
    tensor (the last ``_Alias`` step of the view chain says which); for any other view, its base;
    for a tensor that is not a view (or a dual tensor itself, or a primal from ``unpack_dual``),
    the tensor itself with no steps."""
    base, chain = tensor._base, tensor._view_chain
    if base is None or not chain:
        return tensor, ()
    for k in range(len(chain) - 1, -1, -1):
        if chain[k][0] is _Alias:
            owner = chain[k][1][0]
            dual = owner.ref() if owner is not None else None
            if dual is None:
                return tensor, ()
            return dual, chain[k + 1:]
    return base, chain


def _after_inplace_view(tensor: Any, result: Any) -> None:
    """``x.t_()``, ``x.unsqueeze_(0)``: ``x`` takes ``result``'s shape, and its tangent."""
    if not _tangents or _current_level < 0:
        return
    new = _lookup(result)
    if new is not None:
        _store(tensor, new)
    elif _tangents.get(id(tensor), (lambda: None,))[0]() is tensor:  # no tangent any more
        del _tangents[id(tensor)]
