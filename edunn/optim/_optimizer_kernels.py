"""The block kernels of the optimizers' in-place updates: ``_blocks`` (walk the raw arrays in
cache-sized pieces), ``_signed_grad``, ``_adam_moments``, ``_lerp_``, and ``_dense_from_sparse``
for sparse gradients.

Split from ``edunn/optim/optimizer.py`` (which re-exports these names, so that ``SGD``,
``Adam``, ... keep importing them from ``.optimizer``).  They work on the arrays of the
parameters and their state (``p._data``), with the array module's ``out=`` functions; see the
contract for a subclass in ``optimizer.py``'s docstring.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor


# Elements per block in ``_blocks``: a handful of float32 arrays of this size fit in L2 cache.
_BLOCK = 1 << 16


def _blocks(*arrays: Any, scratch: int = 0):
    """Walk equally shaped arrays in matching cache-sized blocks, yielding views plus
    ``scratch`` temporaries of the block's size.

    Why: NumPy cannot fuse ``p -= lr * m`` into one loop; it writes ``lr * m`` to a temporary
    first.  Done on whole arrays, every temporary costs a trip through main memory (and a fresh
    allocation the size of the parameter).  Done block by block, the temporaries stay in cache
    and the step runs at the speed of PyTorch's fused kernels.  Writes into the views land in
    the original arrays.  On a GPU, and for non-contiguous arrays, there is one block: the whole
    array (with whole-size temporaries)."""
    first = arrays[0]
    xp = backend.array_module(first)
    n = first.size
    if (backend.is_cupy_array(first) or n <= _BLOCK
            or not all(a.flags.c_contiguous and a.shape == first.shape for a in arrays)):
        yield tuple(arrays) + tuple(xp.empty_like(first) for _ in range(scratch))
        return
    flats = [a.reshape(-1) for a in arrays]
    temps = [xp.empty(_BLOCK, first.dtype) for _ in range(scratch)]
    for start in range(0, n, _BLOCK):
        stop = min(start + _BLOCK, n)
        yield tuple(f[start:stop] for f in flats) + tuple(t[:stop - start] for t in temps)


def _signed_grad(xp: Any, grad: Any, param: Any, out: Any, maximize: bool,
                 weight_decay: float = 0.0) -> Any:
    """``g = -grad if maximize else grad``, plus ``weight_decay * param`` (L2 decay) when that is
    nonzero -- into ``out``, or ``grad`` itself when nothing changes it (then read only)."""
    if weight_decay != 0:
        xp.multiply(param, weight_decay, out=out)
        (xp.subtract if maximize else xp.add)(out, grad, out=out)
        return out
    if maximize:
        return xp.negative(grad, out=out)
    return grad


def _adam_moments(xp: Any, pb: Any, gb: Any, m: Any, v: Any, d: Any, t: Any, *, beta1: float,
                  beta2: float, lr: float, weight_decay: float, decoupled: bool, maximize: bool) -> Any:
    """The first half of every Adam-family step, in place on one block: the weights' own decay
    (AdamW), the signed and decayed gradient ``g`` (into ``d`` when it changes),
    ``m = lerp(m, g, 1 - beta1)`` and ``v = beta2 v + (1 - beta2) g^2`` (``t``: scratch).
    Returns ``g``."""
    if weight_decay != 0 and decoupled:   # AdamW: decay the weights directly
        xp.multiply(pb, 1 - lr * weight_decay, out=pb)
    g = _signed_grad(xp, gb, pb, d, maximize, 0 if decoupled else weight_decay)
    _lerp_(xp, m, g, 1 - beta1, t)              # m = beta1 m + (1 - beta1) g
    xp.multiply(v, beta2, out=v)                # v = beta2 v + (1 - beta2) g^2
    xp.multiply(g, 1 - beta2, out=t)
    xp.multiply(t, g, out=t)
    xp.add(v, t, out=v)
    return g


def _lerp_(xp: Any, start: Any, end: Any, weight: float, tmp: Any) -> None:
    """``start.lerp_(end, weight)`` in place, with PyTorch's formula (exact at both ends):
    ``start + w (end - start)`` when ``|w| < 0.5``, else ``end - (end - start)(1 - w)``."""
    xp.subtract(end, start, out=tmp)
    if abs(weight) < 0.5:
        xp.multiply(tmp, weight, out=tmp)
        xp.add(start, tmp, out=start)
    else:
        xp.multiply(tmp, 1 - weight, out=tmp)
        xp.subtract(end, tmp, out=start)


def _dense_from_sparse(grad: Any, param: Tensor) -> Tensor:
    """A dense copy of a sparse COO gradient (``edunn.sparse``: ``coalesce()``,
    ``_indices()``, ``_values()``), zero where it names
    nothing -- for the optimizers whose update treats a missing entry exactly as a zero."""
    grad = grad.coalesce()
    indices, values = grad._indices(), grad._values()
    indices = indices._data if isinstance(indices, Tensor) else indices
    values = values._data if isinstance(values, Tensor) else values
    xp = backend.array_module(param._data)
    dense = xp.zeros_like(param._data)
    dense[tuple(indices[k] for k in range(indices.shape[0]))] = values
    return Tensor._make(dense)
