"""``vmap``: vectorizing map, as ``torch.func.vmap``.

``vmap(f, in_dims, out_dims)(*args)`` means: slice every batched input along its ``in_dim``,
run ``f`` on each slice, and stack the results along ``out_dims``.  Those are the whole observable
semantics, and that is exactly how edunn computes it -- a Python loop over the batch dimension
(``x.select(in_dim, i)`` in, :func:`edunn.stack` out).  PyTorch instead runs ``f`` *once* on
"batched tensors" with a batching rule per op, which is much faster; the loop here costs one call
of ``f`` per slice (``chunk_size`` only groups the slices, the result is identical).  Because
``select`` and ``stack`` are differentiable ops, the loop composes with everything: gradients
flow through it, ``vmap(grad(f))`` gives per-sample gradients, ``vmap(vmap(f))`` nests, and
``jacrev``/``jacfwd`` use it to push the rows/columns of an identity matrix through a vjp/jvp.

``in_dims``: an int (every argument), or a tuple with one entry per positional argument, each an
int, ``None`` (not batched: passed whole to every call) or a nested tuple/list/dict matching that
argument's pytree.  Keyword arguments are never batched.  ``out_dims`` likewise for the outputs;
``None`` for an output that does not depend on the batch (returned once).

``randomness``: what random ops inside ``f`` do.  Every random draw in edunn passes through
``backend.Generator.rng``, which calls ``backend.random_draw_hook`` when it is set; vmap sets it.

* ``'error'`` (default): a random draw raises PyTorch's error -- the slices of a batched random
  tensor are ambiguous, so PyTorch makes you choose;
* ``'same'``: every slice sees the same random numbers -- the state of each generator used is
  saved at its first draw and restored at the start of every slice;
* ``'different'``: the stream just continues, so each slice gets its own draws (not the same
  numbers as PyTorch's batched draw, but independent across the batch, as there).

Deliberate differences from PyTorch, both consequences of looping instead of batching:
``out_dims=None`` accepts a tensor output whose slices are all equal (PyTorch refuses any output
computed from a batched input, even a constant one), and a function with side effects (printing,
appending to a list) sees them once per slice.
"""
from __future__ import annotations

import contextlib
import functools
from typing import Any, Callable, Iterator

from .. import backend
from ..ops.joining import stack
from ..tensor import Tensor
from ._pytree import broadcast_prefix, tree_flatten, tree_unflatten

in_dims_t = "int | tuple"
out_dims_t = "int | tuple[int, ...]"

_RANDOM_ERROR = ("vmap: called random operation while in randomness error mode. Please either use "
                 "the 'same' or 'different' randomness flags on vmap or perform the randomness "
                 "operation out of vmap")
_levels: list[dict] = []  # the running vmaps, innermost last: {'mode', 'saved': {gen: state}}


def _on_random_draw(gen: Any) -> None:
    """``backend.random_draw_hook`` while some vmap runs."""
    for level in _levels:
        if level["mode"] == "error":
            raise RuntimeError(_RANDOM_ERROR)
    for level in _levels:
        if level["mode"] == "same" and gen not in level["saved"]:
            level["saved"][gen] = gen.get_state()


def _check_randomness(randomness: Any) -> None:
    if randomness not in ("error", "different", "same"):
        raise RuntimeError("Only allowed values for randomness are 'error', 'different', or 'same'. "
                           f"Got {randomness}")


@contextlib.contextmanager
def _randomness_guard(mode: str) -> Iterator[dict]:
    """Make random draws follow ``mode`` inside the block; yields the level (for 'same')."""
    _check_randomness(mode)
    level = {"mode": mode, "saved": {}}
    previous = backend.random_draw_hook
    _levels.append(level)
    backend.random_draw_hook = _on_random_draw
    try:
        yield level
    finally:
        del _levels[next(i for i, lv in enumerate(_levels) if lv is level)]  # by identity, not ==
        backend.random_draw_hook = previous


def _name(func: Callable) -> str:
    return getattr(func, "__name__", repr(func))


def _batch_size(leaves: list, dims: list, where: str) -> int:
    """Check every batched input and return the common batch size, with PyTorch's errors."""
    sizes = []
    for x, d in zip(leaves, dims):
        if d is None:
            continue
        if not isinstance(d, int) or isinstance(d, bool):
            raise ValueError(f"{where}: Got in_dim={d} for an input but in_dim must be either an "
                             "integer dimension or None.")
        if not isinstance(x, Tensor):
            raise ValueError(f"{where}: Got in_dim={d} for an input but the input is of type {type(x)}. "
                             "We cannot vmap over non-Tensor arguments, please use None as the "
                             "respective in_dim")
        n = x.dim()
        if not -n <= d < n:
            raise ValueError(f"{where}: Got in_dim={d} for some input, but that input is a Tensor of "
                             f"dimensionality {n} so expected in_dim to satisfy -{n} <= in_dim < {n}.")
        sizes.append(x.shape[d])
    if not sizes:
        raise ValueError("vmap: Expected at least one Tensor to vmap over")
    if len(set(sizes)) != 1:
        raise ValueError("vmap: Expected all tensors to have the same size in the mapped dimension, "
                         f"got sizes {sizes} for the mapped dimension")
    return sizes[0]


def _stack_outputs(results: list, out_dims: Any, func: Callable) -> Any:
    """Stack the per-slice outputs leaf by leaf along their ``out_dims``."""
    name = _name(func)
    flat = [tree_flatten(r) for r in results]
    leaves0, spec = flat[0]
    dims = broadcast_prefix(out_dims, results[0]) if isinstance(out_dims, (tuple, list)) else \
        [out_dims] * len(leaves0)
    if dims is None:
        raise ValueError(f"vmap({name}, ..., out_dims={out_dims})(<inputs>): out_dims is not compatible "
                         f"with the structure of `outputs`. out_dims has structure {tree_flatten(out_dims)[1]} "
                         f"but outputs has structure {spec}.")
    out = []
    for j, d in enumerate(dims):
        column = [leaves[j] for leaves, _ in flat]
        if d is None:
            first = column[0]
            if isinstance(first, Tensor) and any(
                    not isinstance(c, Tensor) or c.shape != first.shape or not bool((c == first).all())
                    for c in column[1:]):
                raise ValueError(f"vmap({name}, ...): `{name}` can not return a BatchedTensor when "
                                 "out_dim is None")
            out.append(first)
            continue
        for c in column:
            if not isinstance(c, Tensor):
                raise ValueError(f"vmap({name}, ...): `{name}` must only return Tensors, got type "
                                 f"{type(c)}. Did you mean to set out_dims= to None for output?")
        n = column[0].dim() + 1
        if not -n <= d < n:
            raise IndexError(f"Dimension out of range (expected to be in range of [{-n}, {n - 1}], "
                             f"but got {d})")
        out.append(stack(column, dim=d))
    return tree_unflatten(out, spec)


def vmap(func: Callable, in_dims: in_dims_t = 0, out_dims: out_dims_t = 0, randomness: str = "error",
         *, chunk_size: "int | None" = None) -> Callable:
    """``vmap(f, in_dims, out_dims)(*args)``: ``f`` on every slice of the batched arguments,
    stacked along ``out_dims``.  See the module docstring for ``in_dims``, ``out_dims``,
    ``randomness`` and ``chunk_size``; the result equals
    ``stack([f(*[a.select(d, i) ...]) for i in range(B)], out_dims)``."""
    _check_randomness(randomness)
    if chunk_size is not None and not (isinstance(chunk_size, int) and chunk_size > 0):
        raise ValueError(f"vmap: chunk_size should be None or greater than 0. (got {chunk_size})")
    name = _name(func)

    def check_out_dims(dims: Any) -> None:
        leaves = tree_flatten(dims)[0] if isinstance(dims, (tuple, list)) else [dims]
        if not all(d is None or (isinstance(d, int) and not isinstance(d, bool)) for d in leaves):
            raise ValueError(f"vmap({name}, ..., out_dims={dims}): `out_dims` must be an int, None or a "
                             "python collection of ints representing where in the outputs the vmapped "
                             "dimension should appear.")

    check_out_dims(out_dims)

    @functools.wraps(func)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        where = f"vmap({name}, in_dims={in_dims}, ...)(<inputs>)"
        if not args:
            raise ValueError(f"vmap({name})(<inputs>): got no inputs. Maybe you forgot to add inputs, or "
                             "you are trying to vmap over a function with no inputs. The latter is "
                             "unsupported.")
        if isinstance(in_dims, int) and not isinstance(in_dims, bool):
            dims = [in_dims] * len(tree_flatten(args)[0])
        elif isinstance(in_dims, tuple):
            dims = broadcast_prefix(in_dims, args)
            if dims is None:
                raise ValueError(f"{where}: in_dims is not compatible with the structure of `inputs`. "
                                 f"in_dims has structure {tree_flatten(in_dims)[1]} but inputs has "
                                 f"structure {tree_flatten(args)[1]}.")
        else:
            raise ValueError(f"{where}: expected `in_dims` to be int or a (potentially nested) tuple "
                             f"matching the structure of inputs, got: {type(in_dims)}.")
        leaves, spec = tree_flatten(args)
        size = _batch_size(leaves, dims, where)
        step = chunk_size or size
        results = []
        with _randomness_guard(randomness) as level:
            for start in range(0, size, step):  # chunks only group the slices: same result
                for i in range(start, min(start + step, size)):
                    for gen, state in level["saved"].items():  # 'same': replay the first slice's draws
                        gen.set_state(state)
                    sliced = [x if d is None else x.select(d, i) for x, d in zip(leaves, dims)]
                    results.append(func(*tree_unflatten(sliced, spec), **kwargs))
        return _stack_outputs(results, out_dims, func)

    return wrapped
