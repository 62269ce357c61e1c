"""The autodiff transforms of ``torch.func``: ``grad``, ``grad_and_value``, ``vjp``, ``jvp``,
``linearize``, ``jacrev``, ``jacfwd``, ``hessian``.

A *transform* takes a function and returns a new function: ``grad(f)`` is the function
``x -> df/dx``.  PyTorch implements them with "functorch levels": every transform wraps its
inputs in a tensor subclass that records derivatives for that level only, so that ``grad(grad(f))``
and ``vmap(grad(f))`` compose.  edunn has one reverse-mode autograd with higher-order gradients
(``create_graph=True``), and builds each transform on it:

* **Fresh inputs.**  On entry a transform gives ``f`` new tensors to differentiate: an input that
  does not require grad becomes ``x.detach().requires_grad_()``, one that does (because an outer
  transform made it so) becomes ``x.view_as(x)`` -- a new node still connected to the outer graph.
  ``edunn.autograd.grad(out, fresh_inputs, create_graph=True)`` then gives the derivative along
  the paths through *this* transform's inputs only (the perturbation of each level is kept apart),
  and the result is itself differentiable, so ``grad(grad(f))`` is a second derivative.
* **Reverse mode** (``vjp``, ``grad``, ``jacrev``): ``v^T J`` is one backward pass with ``v`` as
  the output gradient.  ``jacrev`` runs ``vjp_fn`` over the rows of an identity matrix with
  :func:`vmap`, exactly as PyTorch does.
* **Forward mode** (``jvp``, ``linearize``, ``jacfwd``) by the *double-vjp trick*: with a dummy
  cotangent ``u`` (requiring grad), ``g(u) = u^T J`` is linear in ``u``; differentiating
  ``g(u)`` with respect to ``u`` against the tangent ``v`` gives ``J v``.  This is exact (not a
  finite difference) but costs two backward passes where PyTorch's dual numbers cost one
  forward; ``linearize`` keeps ``g`` so each further ``J v`` is one backward.
* **Outside every transform** a result connected only to the fresh inputs is detached, so
  ``grad(f)(x).grad_fn`` is ``None`` as in PyTorch; a result that depends on a user's tensor
  requiring grad (an argument, or a closure such as a model's parameters) keeps its graph to it,
  so ordinary ``.backward()`` can go through the transform (MAML-style), as in PyTorch.
"""
from __future__ import annotations

import functools
from typing import Any, Callable

from ..autograd import grad as _autograd_grad
from ..autograd.grad_mode import enable_grad
from ..ops.creation import eye, zeros_like
from ..tensor import Tensor
from ._pytree import tree_flatten, tree_unflatten, tree_map_only
from ._vmap import vmap, _randomness_guard

argnums_t = "int | tuple[int, ...]"
_depth = [0]  # how many autodiff transforms are running (vmap does not count)


class _Level:
    """Enter one autodiff transform; ``as outermost`` says whether no other one is running."""

    def __enter__(self) -> bool:
        _depth[0] += 1
        self._grad = enable_grad()
        self._grad.__enter__()
        return _depth[0] == 1

    def __exit__(self, *exc: Any) -> None:
        self._grad.__exit__(*exc)
        _depth[0] -= 1


def _fresh(x: Any) -> Tensor:
    """The tensor a transform differentiates with respect to (see the module docstring)."""
    if not isinstance(x, Tensor):
        raise ValueError(f"Thing passed to transform API must be Tensor, got {type(x)}")
    return x.view_as(x) if x.requires_grad else x.detach().requires_grad_(True)


def _reaches_outside(t: Tensor, own: set) -> bool:
    """Whether ``t``'s graph reaches a leaf requiring grad that the transform did not create
    (a user's tensor, through an argument or a closure): walk ``grad_fn.next_functions``."""
    if not t.requires_grad:
        return False
    if t.grad_fn is None:
        return id(t) not in own
    stack, seen = [t.grad_fn], set()
    while stack:
        node = stack.pop()
        if id(node) in seen:
            continue
        seen.add(id(node))
        for nxt, _ in node.next_functions:
            leaf = getattr(nxt, "variable", None)  # an AccumulateGrad stands for a leaf
            if leaf is not None:
                if id(leaf) not in own:
                    return True
            elif nxt is not None:
                stack.append(nxt)
    return False


def _release(tree: Any, own: list) -> Any:
    """Outside every transform: detach each result tensor that is connected only to the fresh
    leaves the transform made, so ``grad(f)(x).grad_fn is None`` as in PyTorch, while a result
    that depends on a user's tensor requiring grad stays differentiable with respect to it."""
    ids = {id(t) for t in own}
    return tree_map_only(Tensor, lambda t: t if _reaches_outside(t, ids) else t.detach(), tree)


def _normalize_argnums(argnums: Any, num_args: int) -> tuple[int, ...]:
    """``argnums`` as a tuple of non-negative indices, checked as PyTorch checks it."""
    if isinstance(argnums, int) and not isinstance(argnums, bool):
        nums = (argnums,)
    elif isinstance(argnums, tuple) and all(isinstance(a, int) for a in argnums):
        if len(argnums) == 0:
            raise RuntimeError("argnums must be non-empty")
        nums = argnums
    else:
        raise RuntimeError(f"argnums must be int or Tuple[int, ...], got: {type(argnums)}")
    for a in nums:
        if not -num_args <= a < num_args:
            raise RuntimeError(f"Got argnum={a}, but only {num_args} positional inputs")
    nums = tuple(a % num_args for a in nums)
    if len(set(nums)) != len(nums):
        raise RuntimeError(f"argnums must be unique, got {argnums}")
    return nums


def _select(args: tuple, argnums: Any) -> tuple[tuple[int, ...], Any]:
    nums = _normalize_argnums(argnums, len(args))
    return nums, (args[nums[0]] if isinstance(argnums, int) else tuple(args[i] for i in nums))


def _replace(args: tuple, nums: tuple, argnums: Any, new: Any) -> tuple:
    args = list(args)
    for k, i in enumerate(nums):
        args[i] = new if isinstance(argnums, int) else new[k]
    return tuple(args)


def _vjp_leaves(outs: list, ins: list, cots: list, retain_graph: bool = True) -> list:
    """``sum_k cots[k]^T d outs[k] / d ins[j]`` for every ``j``, differentiable (create_graph),
    zeros for inputs the outputs do not depend on."""
    pairs = [(o, c) for o, c in zip(outs, cots) if o.requires_grad]
    grads = [None] * len(ins)
    if pairs:
        grads = _autograd_grad([o for o, _ in pairs], ins, [c for _, c in pairs],
                               retain_graph=retain_graph, create_graph=True, allow_unused=True)
    return [zeros_like(x) if g is None else g for g, x in zip(grads, ins)]


def _split_aux(out: Any, has_aux: bool, api: str) -> tuple[Any, Any]:
    if not has_aux:
        return out, None
    if not (isinstance(out, tuple) and len(out) == 2):
        raise RuntimeError(f"{api}: output of function f should be a tuple: (output, aux) "
                           "if has_aux is True")
    return out


def _tensor_outputs(out: Any, api: str) -> tuple:
    """``tree_flatten(out)``, checking that every leaf is a tensor (vjp's and jvp's outputs)."""
    out_leaves, out_spec = tree_flatten(out)
    for o in out_leaves:
        if not isinstance(o, Tensor):
            raise RuntimeError(f"{api}: expected f(*primals) to return only tensors, "
                               f"got unsupported type {type(o)}")
    return out_leaves, out_spec


# ---------------------------------------------------------------------------------- reverse mode
def _vjp(func: Callable, primals: tuple, has_aux: bool, api: str = "vjp(f, *primals)") -> tuple:
    """``(output, vjp_fn, aux)``: run ``func`` once on fresh inputs and keep its graph."""
    with _Level() as outermost:
        leaves, spec = tree_flatten(primals)
        fresh = [_fresh(x) for x in leaves]
        out, aux = _split_aux(func(*tree_unflatten(fresh, spec)), has_aux, api)
    out_leaves, out_spec = _tensor_outputs(out, api)

    def vjp_fn(cotangents: Any, retain_graph: bool = True, create_graph: bool | None = None) -> Any:
        cot_leaves, cot_spec = tree_flatten(cotangents)
        if cot_spec != out_spec:
            raise RuntimeError("Expected pytree structure of cotangents to be the same as pytree "
                               f"structure of outputs to the function. cotangents: {cot_spec}, "
                               f"primal output: {out_spec}")
        with enable_grad():
            grads = _vjp_leaves(out_leaves, fresh, cot_leaves, retain_graph=retain_graph)
        if outermost:
            grads = [g.detach() for g in grads] if create_graph is False else _release(grads, fresh)
        return tree_unflatten(grads, spec)

    if outermost:
        out, aux = _release(out, fresh), _release(aux, fresh)
    return out, vjp_fn, aux


def vjp(func: Callable[..., Any], *primals: Any, has_aux: bool = False) -> Any:
    """``(func(*primals), vjp_fn)``; ``vjp_fn(cotangents)`` returns ``cotangents^T J``, one
    tensor per primal (a tuple of the primals' structure).  ``cotangents`` has the structure of
    the output.  With ``has_aux``, ``func`` returns ``(output, aux)`` and vjp returns
    ``(output, vjp_fn, aux)``."""
    out, vjp_fn, aux = _vjp(func, primals, has_aux)
    return (out, vjp_fn, aux) if has_aux else (out, vjp_fn)


def grad_and_value(func: Callable[..., Any], argnums: argnums_t = 0, has_aux: bool = False) -> Callable:
    """``grad_and_value(f)(*args)`` is ``(df/dargs[argnums], f(*args))`` for a scalar ``f``;
    with ``has_aux`` it is ``((grad, (value, aux))``.  A tuple ``argnums`` gives a tuple of
    gradients; an argument may be a pytree (a dict of parameters), its gradient the same pytree."""
    api = "grad_and_value(f)(*args)"

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, diff = _select(args, argnums)
        with _Level() as outermost:
            leaves, spec = tree_flatten(diff)
            fresh = [_fresh(x) for x in leaves]
            out = func(*_replace(args, nums, argnums, tree_unflatten(fresh, spec)), **kwargs)
            out, aux = _split_aux(out, has_aux, api)
            if not isinstance(out, Tensor):
                raise RuntimeError(f"{api}: Expected f(*args) to return a Tensor, got {type(out)}")
            if out.dim() != 0:
                raise RuntimeError(f"{api}: Expected f(*args) to return a scalar Tensor, got tensor "
                                   f"with {out.dim()} dims. Maybe you wanted to use the vjp or "
                                   "jacrev APIs instead?")
            grads = _vjp_leaves([out], fresh, [None], retain_graph=True)
        if outermost:
            grads, out, aux = _release(grads, fresh), _release(out, fresh), _release(aux, fresh)
        g = tree_unflatten(grads, spec)
        return (g, (out, aux)) if has_aux else (g, out)

    return wrapper


def grad(func: Callable[..., Any], argnums: argnums_t = 0, has_aux: bool = False) -> Callable:
    """``grad(f)(*args)`` is the gradient of the scalar ``f(*args)`` with respect to
    ``args[argnums]``; with ``has_aux`` it is ``(gradient, aux)``.  Compose it:
    ``grad(grad(f))`` is a second derivative, ``vmap(grad(f))`` gives per-sample gradients."""
    gv = grad_and_value(func, argnums, has_aux)

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        g, value = gv(*args, **kwargs)
        return (g, value[1]) if has_aux else g

    return wrapper


def jacrev(func: Callable[..., Any], argnums: "int | tuple[int, ...]" = 0, *, has_aux: bool = False,
           chunk_size: "int | None" = None, _preallocate_and_copy: bool = False) -> Callable:
    """The Jacobian by reverse mode: one ``vjp`` per output element, the rows of the identity
    as cotangents, run by :func:`vmap` (``chunk_size`` rows at a time).  For an output of
    shape ``O`` and an input of shape ``I`` the Jacobian has shape ``O + I``; a pytree output
    gives a pytree of Jacobians, each with the structure of the differentiated arguments.
    ``_preallocate_and_copy`` is PyTorch's private memory option; the result is the same."""
    if not (chunk_size is None or (isinstance(chunk_size, int) and chunk_size > 0)):
        raise ValueError("jacrev: `chunk_size` should be greater than 0.")

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, diff = _select(args, argnums)
        diff_args = diff if isinstance(argnums, tuple) else (diff,)
        out, vjp_fn, aux = _vjp(lambda *d: func(*_replace(args, nums, (0,) * len(d), d), **kwargs),
                                diff_args, has_aux)
        out_leaves, out_spec = tree_flatten(out)
        in_leaves, in_spec = tree_flatten(diff)
        total = sum(o.numel() for o in out_leaves)
        if total == 0:
            rows = [x.new_zeros((0,) + tuple(x.shape)) for x in in_leaves]
        else:
            basis = eye(total, device=out_leaves[0].device)
            cots, off = [], 0
            for o in out_leaves:
                n = o.numel()
                cots.append(basis[:, off:off + n].to(o.dtype).reshape((total,) + tuple(o.shape)))
                off += n
            batched = vmap(lambda c: vjp_fn(tree_unflatten(c, out_spec)), chunk_size=chunk_size)(cots)
            rows = tree_flatten(batched if isinstance(argnums, tuple) else batched[0])[0]
        jac, off = [], 0
        for o in out_leaves:
            n = o.numel()
            jac.append(tree_unflatten([r[off:off + n].reshape(tuple(o.shape) + tuple(x.shape))
                                       for r, x in zip(rows, in_leaves)], in_spec))
            off += n
        result = tree_unflatten(jac, out_spec)
        return (result, aux) if has_aux else result

    return wrapper


# ---------------------------------------------------------------------------------- forward mode
def _linearize(func: Callable, primals: tuple, has_aux: bool, api: str) -> tuple:
    """``(output, push, aux)`` where ``push(tangent_leaves)`` is ``J v`` by the double-vjp
    trick; ``func`` runs once, and each ``push`` is one backward through ``g(u) = u^T J``."""
    with _Level() as outermost:
        leaves, spec = tree_flatten(primals)
        if not leaves:
            raise RuntimeError(f"{api}: Expected primals to contain at least one Tensor.")
        for x in leaves:
            if not isinstance(x, Tensor):
                raise RuntimeError(f"{api}: Expected primals to only contain Tensors, got {type(x)}")
        fresh = [_fresh(x) for x in leaves]
        out, aux = _split_aux(func(*tree_unflatten(fresh, spec)), has_aux, api)
        out_leaves, out_spec = _tensor_outputs(out, api)
        live = [k for k, o in enumerate(out_leaves) if o.requires_grad]
        us = {k: zeros_like(out_leaves[k]).requires_grad_(True) for k in live}
        gs = [None] * len(fresh)
        if live:
            gs = _autograd_grad([out_leaves[k] for k in live], fresh, [us[k] for k in live],
                                create_graph=True, allow_unused=True)
    def push(tangents: list) -> list:
        for i, (t, x) in enumerate(zip(tangents, leaves)):
            if not isinstance(t, Tensor):
                raise RuntimeError(f"{api}: Expected tangents to only contain Tensors, got {type(t)}")
            if not t.dtype.is_floating_point:
                raise ValueError(f"Expected tangent to be floating point or complex, but got: {t.dtype}")
            if tuple(t.shape) != tuple(x.shape):
                raise RuntimeError(
                    "Trying to set a forward gradient that has a different size than that of the "
                    f"original Tensor, this is not supported. Tensor is of size {list(x.shape)} "
                    f"while the given forward gradient is of size {list(t.shape)}.")
        with enable_grad():
            pairs = [(g, t) for g, t in zip(gs, tangents) if g is not None and g.requires_grad]
            jv = [None] * len(live)
            if pairs:
                jv = _autograd_grad([g for g, _ in pairs], [us[k] for k in live], [t for _, t in pairs],
                                    retain_graph=True, create_graph=True, allow_unused=True)
        by_k = dict(zip(live, jv))
        res = [zeros_like(o) if by_k.get(k) is None else by_k[k] for k, o in enumerate(out_leaves)]
        if outermost:
            res = _release(res, fresh + list(us.values()))
        return tree_unflatten(res, out_spec)

    if outermost:
        out, aux = _release(out, fresh), _release(aux, fresh)
    return out, push, aux, spec


def jvp(func: Callable[..., Any], primals: Any, tangents: Any, *, strict: bool = False,
        has_aux: bool = False) -> Any:
    """``(func(*primals), J @ tangents)``: the directional derivative along ``tangents`` (same
    structure as ``primals``, which must be a tuple).  ``strict`` is accepted as in PyTorch,
    which ignores it too."""
    api = "jvp(f, primals, tangents)"
    if not isinstance(primals, tuple):
        raise RuntimeError(f"{api}: Expected primals to be a tuple. E.g. it should be valid to call f(*primals).")
    p_spec, t_leaves_spec = tree_flatten(primals)[1], tree_flatten(tangents)
    if p_spec != t_leaves_spec[1]:
        raise RuntimeError(f"{api}: Expected primals and tangents to have the same python structure. "
                           "For example, if primals is a tuple of 3 tensors, tangents also must be. "
                           f"Got primals with structure {p_spec} and tangents with structure {t_leaves_spec[1]}")
    if not t_leaves_spec[0]:
        raise RuntimeError(f"{api}: Expected tangents to contain at least one Tensor.")
    out, push, aux, _ = _linearize(func, primals, has_aux, api)
    jv = push(t_leaves_spec[0])  # the graph stays: outer transforms may differentiate jv
    return (out, jv, aux) if has_aux else (out, jv)


def linearize(func: Callable[..., Any], *primals: Any) -> tuple:
    """``(func(*primals), jvp_fn)`` where ``jvp_fn(*tangents)`` is ``J @ tangents`` at
    ``primals``: ``func`` runs once, each ``jvp_fn`` call is one backward pass."""
    out, push, _, spec = _linearize(func, primals, False, "linearize")

    def jvp_fn(*tangents: Any) -> Any:
        leaves, t_spec = tree_flatten(tangents)
        if t_spec != spec:
            raise RuntimeError(f"Expected the tangents {t_spec} to have the same argspec as the primals {spec}")
        return push(leaves)

    return out, jvp_fn


def jacfwd(func: Callable[..., Any], argnums: argnums_t = 0, has_aux: bool = False, *,
           randomness: str = "error") -> Callable:
    """The Jacobian by forward mode: one ``jvp`` per input element (the columns of the
    identity as tangents, run by :func:`vmap`); same layout as :func:`jacrev` (output shape
    then input shape).  ``randomness`` is :func:`vmap`'s: PyTorch runs ``func`` under vmap, so
    a random op in ``func`` raises with ``'error'``; here ``func`` runs once under that check."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        nums, diff = _select(args, argnums)
        diff_args = diff if isinstance(argnums, tuple) else (diff,)
        with _randomness_guard(randomness):
            out, push, aux, _ = _linearize(
                lambda *d: func(*_replace(args, nums, (0,) * len(d), d), **kwargs), diff_args,
                has_aux, "jvp(f, primals, tangents)")
        in_leaves, in_spec = tree_flatten(diff)
        out_leaves, out_spec = tree_flatten(out)
        total = sum(x.numel() for x in in_leaves)
        basis = eye(total, device=in_leaves[0].device)
        tangents, off = [], 0
        for x in in_leaves:
            tangents.append(basis[:, off:off + x.numel()].to(x.dtype).reshape((total,) + tuple(x.shape)))
            off += x.numel()
        cols = tree_flatten(vmap(push, randomness=randomness)(tangents))[0] if total else \
            [o.new_zeros((0,) + tuple(o.shape)) for o in out_leaves]
        jac = []
        for o, col in zip(out_leaves, cols):
            per_in, off = [], 0
            for x in in_leaves:  # columns of this input: (n, *O) -> (*O, n) -> O + I
                block = col[off:off + x.numel()].movedim(0, -1) if o.dim() else col[off:off + x.numel()]
                per_in.append(block.reshape(tuple(o.shape) + tuple(x.shape)))
                off += x.numel()
            jac.append(tree_unflatten(per_in, in_spec))
        result = tree_unflatten(jac, out_spec)
        return (result, aux) if has_aux else result

    return wrapper


def hessian(func: Callable[..., Any], argnums: argnums_t = 0) -> Callable:
    """The Hessian, as PyTorch computes it: ``jacfwd(jacrev(func, argnums), argnums)``."""
    return jacfwd(jacrev(func, argnums), argnums)
