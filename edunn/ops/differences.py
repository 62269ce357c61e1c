"""Differences, integrals and distances: ``diff``, ``trapezoid`` (``trapz``),
``cumulative_trapezoid``, ``cdist``, ``dist``.

Each is a composition of differentiable ops (slices, ``cat``, ``sum``/``cumsum``, ``norm``), so
every gradient -- and every second gradient -- comes from those ops' backwards:

* ``diff``: ``out_i = x_{i+1} - x_i``, applied ``n`` times;
* ``trapezoid``: ``sum_i (x_{i+1} - x_i) (y_{i+1} + y_i) / 2`` (PyTorch's formulas, so dtypes and
  rounding follow it);
* ``cdist``: ``out[..., i, j] = ||x1[..., i, :] - x2[..., j, :]||_p``, either from the pairwise
  differences or, for p = 2 on large inputs, from ``|a|^2 + |b|^2 - 2 a.b`` (one matmul).
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..tensor import Tensor, wrap_dim
from .elementwise import _FLOATS, _where
from .indexing import getitem
from ._out import write_out
from .joining import cat
from ..amp import _policy as _autocast

__all__ = ['diff', 'trapezoid', 'trapz', 'cumulative_trapezoid', 'cdist', 'dist']


def _slice(x: Tensor, dim: int, start: Any, stop: Any) -> Tensor:
    return getitem(x, (slice(None),) * dim + (slice(start, stop),))


def _select(x: Tensor, dim: int, index: int) -> Tensor:
    return getitem(x, (slice(None),) * dim + (index,))


# ----------------------------------------------------------------------------------------------
# diff
# ----------------------------------------------------------------------------------------------
def _check_pre_append(input: Tensor, other: Any, dim: int) -> None:
    if other._data.ndim != input._data.ndim:
        raise RuntimeError("diff expects prepend or append to be the same dimension as input")
    for k, (a, b) in enumerate(zip(input._data.shape, other._data.shape)):
        if k != dim and a != b:
            raise RuntimeError(
                "diff expects the shape of tensor to prepend or append to match that of input except "
                f"along the differencing dimension; input.size({k}) = {a}, but got tensor.size({k}) = {b}")


def diff(input: Tensor, n: int = 1, dim: int = -1, prepend: Tensor | None = None,
         append: Tensor | None = None, *, out: Any = None) -> Tensor:
    """The ``n``-th forward difference along ``dim``: ``out_i = x_{i+1} - x_i`` (``!=`` for bool),
    of ``cat([prepend, input, append], dim)``; each pass shortens ``dim`` by one."""
    if input._data.ndim == 0:
        raise RuntimeError("diff expects input to be at least one-dimensional")
    if n < 0:
        raise RuntimeError(f"order must be non-negative but got {n}")
    d = wrap_dim(dim, input._data.ndim)
    parts = []
    for other in (prepend, append):
        if other is not None:
            _check_pre_append(input, other, d)
    if prepend is not None or append is not None:
        parts = ([prepend] if prepend is not None else []) + [input] + ([append] if append is not None else [])
        input = cat(parts, d)
    x = input
    for _ in range(n):
        if x._data.shape[d] == 0:
            break
        a, b = _slice(x, d, 1, None), _slice(x, d, None, -1)
        x = a != b if x._data.dtype == backend.bool_.np else a - b
    return write_out(x, out) if out is not None else x


# ----------------------------------------------------------------------------------------------
# trapezoid
# ----------------------------------------------------------------------------------------------
def _zeros_except(y: Tensor, dim: int) -> Tensor:
    """What integrating over an empty ``dim`` gives (NumPy's answer): zeros of the other dims."""
    from .creation import zeros
    shape = tuple(s for k, s in enumerate(y._data.shape) if k != dim)
    return zeros(shape, dtype=y.dtype, device=y.device)


def _spacing(y: Tensor, x: Tensor, dim: int, who: str) -> Tensor:
    """``x_{i+1} - x_i`` along ``dim``, shaped to broadcast against the slices of ``y`` (a 1-D
    ``x`` lies along ``dim``; a shorter one gets leading 1s), as PyTorch's Integration.cpp."""
    if x._data.ndim == 1:
        if x._data.shape[0] != y._data.shape[dim]:
            raise RuntimeError(f"{who}: There must be one `x` value for each sample point")
        shape = [1] * y._data.ndim
        shape[dim] = x._data.shape[0]
        x = x.reshape(tuple(shape))
    elif x._data.ndim < y._data.ndim:
        x = x.reshape((1,) * (y._data.ndim - x._data.ndim) + tuple(x._data.shape))
    return _slice(x, dim, 1, None) - _slice(x, dim, None, -1)


def _integration_args(y: Tensor, x: Any, dx: Any, who: str) -> None:
    if x is not None and dx is not None:
        raise TypeError(f"{who}() received an invalid combination of arguments: pass either the "
                        "sample points x or the spacing dx, not both")
    if x is not None and not isinstance(x, Tensor):
        raise TypeError(f"{who}(): argument 'x' must be Tensor, not {type(x).__name__}")
    if y._data.dtype == backend.bool_.np or (x is not None and x._data.dtype == backend.bool_.np):
        what = "`y`" if x is None else "`x` or `y`"
        raise RuntimeError(f"{who}: received a bool input for {what}, but bool is not supported")
    if isinstance(dx, (bool, complex)):
        raise RuntimeError(f"{who}: Currently, we only support dx as a real number.")


def trapezoid(y: Tensor, x: Tensor | None = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The trapezoidal rule along ``dim``: ``sum_i (x_{i+1} - x_i) (y_i + y_{i+1}) / 2`` with
    sample points ``x`` (1-D along ``dim``, or broadcastable to ``y``), or with equal spacing
    ``dx`` (default 1): ``dx (sum_i y_i - (y_0 + y_last) / 2)``."""
    _integration_args(y, x, dx, "trapezoid")
    if y._data.ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    d = wrap_dim(dim, y._data.ndim)
    if y._data.shape[d] == 0:
        return _zeros_except(y, d)
    if x is None:
        step = 1 if dx is None else float(dx)
        return (y.sum(d) - (_select(y, d, 0) + _select(y, d, -1)) * 0.5) * step
    spacing = _spacing(y, x, d, "trapezoid")
    return (spacing * (_slice(y, d, 1, None) + _slice(y, d, None, -1))).sum(d) / 2.0


def trapz(y: Tensor, x: Tensor | None = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """``trapezoid`` under its older name."""
    return trapezoid(y, x, dx=dx, dim=dim)


def cumulative_trapezoid(y: Tensor, x: Tensor | None = None, *, dx: Any = None, dim: int = -1) -> Tensor:
    """The running trapezoidal integral along ``dim``: element i is ``trapezoid`` of samples
    0..i+1, so ``dim`` shrinks by one."""
    _integration_args(y, x, dx, "cumulative_trapezoid")
    if y._data.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    d = wrap_dim(dim, y._data.ndim)
    pairs = _slice(y, d, None, -1) + _slice(y, d, 1, None)
    if x is None:
        return (pairs * ((1 if dx is None else float(dx)) / 2.0)).cumsum(d)
    return (pairs * _spacing(y, x, d, "cumulative_trapezoid")).cumsum(d) / 2.0


# ----------------------------------------------------------------------------------------------
# distances
# ----------------------------------------------------------------------------------------------
_COMPUTE_MODES = ("use_mm_for_euclid_dist_if_necessary", "use_mm_for_euclid_dist", "donot_use_mm_for_euclid_dist")


def _euclid_by_matmul(x1: Tensor, x2: Tensor) -> Tensor:
    """``sqrt(max(|a|^2 + |b|^2 - 2 a.b, 0))`` with one matmul (PyTorch's ``_euclidean_dist``:
    faster and lighter, less exact for nearby points); the gradient is 0 where the distance is."""
    from .linalg import matmul
    sq = (x1 * x1).sum(-1, keepdim=True) + ((x2 * x2).sum(-1, keepdim=True)).transpose(-1, -2) \
        - 2 * matmul(x1, x2.transpose(-1, -2))
    sq = _where(sq._data > 0, sq, 0.0)
    positive = sq._data > 0
    return _where(positive, _where(positive, sq, 1.0).sqrt(), 0.0)


@backend.on_input_device
def cdist(x1: Tensor, x2: Tensor, p: float = 2.0,
          compute_mode: str = "use_mm_for_euclid_dist_if_necessary") -> Tensor:
    """Pairwise p-norm distances between the rows of ``x1`` (B..., P, M) and of ``x2``
    (B..., R, M): (B..., P, R), batch dims broadcast.  ``compute_mode``: for p = 2, the
    matmul formula is used always (``use_mm_for_euclid_dist``), never (``donot_...``) or when
    P or R exceeds 25 (the default), as in PyTorch."""
    if _autocast.active and "cdist" in _autocast.listed: return _autocast.call("cdist", cdist, x1, x2, p, compute_mode)  # noqa: E501,E701
    from .reduction import norm
    if compute_mode not in _COMPUTE_MODES:
        raise ValueError(f"{compute_mode} is not a valid value for compute_mode")
    for name, t in (("X1", x1), ("X2", x2)):
        if t._data.ndim < 2:
            raise RuntimeError(f"cdist only supports at least 2D tensors, {name} got: {t._data.ndim}D")
    if x1._data.shape[-1] != x2._data.shape[-1]:
        raise RuntimeError(f"X1 and X2 must have the same number of columns. X1: {x1._data.shape[-1]} "
                           f"X2: {x2._data.shape[-1]}")
    for name, t in (("X1", x1), ("X2", x2)):
        if t._data.dtype not in _FLOATS:
            raise RuntimeError(f"cdist only supports floating-point dtypes, {name} got: {_type_name(t)}")
    if x1.dtype != x2.dtype:
        raise RuntimeError(f"expected scalar type {_type_name(x1)} but found {_type_name(x2)}")
    if x1.dtype in (backend.float16, backend.bfloat16):
        raise NotImplementedError(f"\"cdist\" not implemented for '{_type_name(x1)}'")
    if p < 0:
        raise RuntimeError("cdist only supports non-negative p values")
    batch = _broadcast_batch(x1._data.shape[:-2], x2._data.shape[:-2])
    n1, n2, m = x1._data.shape[-2], x2._data.shape[-2], x1._data.shape[-1]
    x1 = x1.expand(batch + (n1, m))
    x2 = x2.expand(batch + (n2, m))
    if m == 0 or n1 == 0 or n2 == 0:
        from .creation import zeros
        return zeros(batch + (n1, n2), dtype=x1.dtype, device=x1.device) + (x1.sum() + x2.sum()) * 0
    use_mm = p == 2 and (compute_mode == "use_mm_for_euclid_dist" or
                         (compute_mode == _COMPUTE_MODES[0] and (n1 > 25 or n2 > 25)))
    if use_mm:
        return _euclid_by_matmul(x1, x2)
    diff = x1.unsqueeze(-2) - x2.unsqueeze(-3)
    if p == float("inf"):
        # PyTorch's cdist gives the gradient in full to *every* coordinate that attains the max
        # (norm and amax share it among ties): the value is the max, the gradient flows
        # through (d - d.detach()), which is 0, at the hits.
        d = diff.abs()
        top = d.detach().amax(-1, keepdim=True)
        return top.squeeze(-1) + _where(d._data == top._data, d - d.detach(), 0.0).sum(-1)
    return norm(diff, float(p), dim=-1)


def _broadcast_batch(a: tuple, b: tuple) -> tuple:
    n = max(len(a), len(b))
    a, b = (1,) * (n - len(a)) + tuple(a), (1,) * (n - len(b)) + tuple(b)
    for k, (u, v) in enumerate(zip(a, b)):
        if u != v and u != 1 and v != 1:
            raise RuntimeError(f"The size of tensor a ({u}) must match the size of tensor b ({v}) at "
                               f"non-singleton dimension {k}")
    return tuple(max(u, v) if min(u, v) else 0 for u, v in zip(a, b))


def _type_name(t: Tensor) -> str:
    """PyTorch's scalar-type name (``Float``, ``Long``, ``Half`` ...)."""
    return {"float32": "Float", "float64": "Double", "float16": "Half", "bfloat16": "BFloat16",
            "int64": "Long", "int32": "Int", "int16": "Short", "int8": "Char", "uint8": "Byte",
            "bool": "Bool"}.get(t.dtype.name, t.dtype.name)


@backend.on_input_device
def dist(input: Tensor, other: Tensor, p: float = 2) -> Tensor:
    """``||input - other||_p`` over all elements (the operands broadcast)."""
    if _autocast.active and "dist" in _autocast.listed: return _autocast.call("dist", dist, input, other, p)  # noqa: E501,E701
    from .reduction import norm
    d = input - other
    if not (d.is_floating_point() or d.is_complex()):
        raise RuntimeError(f"norm(): input dtype should be either floating point or complex. Got "
                           f"{_type_name(d)} instead.")
    return norm(d, float(p) if not isinstance(p, Tensor) else float(p.item()))

