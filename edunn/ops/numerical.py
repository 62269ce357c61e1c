"""``torch.gradient``: the derivative of sampled values by finite differences (NumPy's
``numpy.gradient``, which PyTorch follows).

For samples ``f_i = f(x_i)`` along a dimension, interior points use the second-order central
difference.  With uniform spacing ``h`` it is ``(f_{i+1} - f_{i-1}) / 2h``; with coordinates
``x_i`` (spacings ``h_l = x_i - x_{i-1}``, ``h_r = x_{i+1} - x_i``) it is the derivative of the
parabola through the three points::

    f'_i ~ -h_r / (h_l (h_l + h_r)) f_{i-1} + (h_r - h_l) / (h_l h_r) f_i + h_l / (h_r (h_l + h_r)) f_{i+1}

At the two ends ``edge_order=1`` takes one-sided first differences, ``edge_order=2`` the one-sided
second-order formula through the first (last) three points.  Everything is written with
``narrow`` and arithmetic on tensors, so the result is differentiable with respect to ``input``
(and to tensor coordinates) with no backward of its own.
"""
from __future__ import annotations

import numbers
from typing import Any

from ..tensor import Tensor, wrap_dim
from .joining import cat
from .shape import narrow

__all__ = ["gradient"]


def _spacings(input: Tensor, spacing: Any, dims: list, dim_given: bool) -> list:
    """One spacing per dimension in ``dims``: a number, or a 1-D tensor of coordinates."""
    if isinstance(spacing, (numbers.Number, Tensor)) and not (isinstance(spacing, Tensor) and spacing.ndim):
        if isinstance(spacing, Tensor):
            spacing = spacing.item()
        return [spacing] * len(dims)
    spacing = list(spacing)
    if len(spacing) != len(dims):
        if dim_given:
            raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar or it's spacing "
                               f"and dim arguments to have the same length, but got a spacing argument of "
                               f"length {len(spacing)} and a dim argument of length {len(dims)}.")
        raise RuntimeError(f"torch.gradient expected spacing to be unspecified, a scalar, or a list of length "
                           f"equal to 'self.dim() = {input.ndim}', since dim argument was not given, but got a "
                           f"list of length {len(spacing)}")
    if any(isinstance(s, Tensor) for s in spacing):
        for s, d in zip(spacing, dims):
            if not isinstance(s, Tensor) or s.ndim != 1:
                got = s.ndim if isinstance(s, Tensor) else 0
                raise RuntimeError(f"torch.gradient expected each element of spacing to have one dimension, "
                                   f"but got an element with {got} dimensions!")
            if s.shape[0] != input.shape[d]:
                raise RuntimeError(f"torch.gradient expected the coordinates along dimension {d} to have "
                                   f"{input.shape[d]} elements, but got {s.shape[0]}")
    return spacing


def _along(t: Tensor, d: int, ndim: int) -> Tensor:
    """A 1-D tensor shaped to broadcast along dimension ``d`` of an ``ndim``-D tensor."""
    return t.reshape([-1] + [1] * (ndim - d - 1))


def _uniform(f: Tensor, d: int, h: Any, edge_order: int) -> Tensor:
    n = f.shape[d]
    interior = (narrow(f, d, 2, n - 2) - narrow(f, d, 0, n - 2)) / (2.0 * h)
    if edge_order == 1:
        first = (narrow(f, d, 1, 1) - narrow(f, d, 0, 1)) / h
        last = (narrow(f, d, n - 1, 1) - narrow(f, d, n - 2, 1)) / h
    else:
        first = (-1.5 * narrow(f, d, 0, 1) + 2.0 * narrow(f, d, 1, 1) - 0.5 * narrow(f, d, 2, 1)) / h
        last = (0.5 * narrow(f, d, n - 3, 1) - 2.0 * narrow(f, d, n - 2, 1) + 1.5 * narrow(f, d, n - 1, 1)) / h
    return cat([first, interior, last], d)


def _coordinates(f: Tensor, d: int, x: Tensor, edge_order: int) -> Tensor:
    n, nd = f.shape[d], f.ndim
    x = x.to(f.dtype)
    dx = x[1:] - x[:-1]
    hl, hr = _along(dx[:-1], d, nd), _along(dx[1:], d, nd)
    interior = (-hr / (hl * (hl + hr)) * narrow(f, d, 0, n - 2) + (hr - hl) / (hl * hr) * narrow(f, d, 1, n - 2)
                + hl / (hr * (hl + hr)) * narrow(f, d, 2, n - 2))
    if edge_order == 1:
        first = (narrow(f, d, 1, 1) - narrow(f, d, 0, 1)) / dx[0]
        last = (narrow(f, d, n - 1, 1) - narrow(f, d, n - 2, 1)) / dx[-1]
    else:
        a, b = dx[0], dx[1]
        first = (-(2 * a + b) / (a * (a + b)) * narrow(f, d, 0, 1) + (a + b) / (a * b) * narrow(f, d, 1, 1)
                 - a / (b * (a + b)) * narrow(f, d, 2, 1))
        a, b = dx[-2], dx[-1]
        last = (b / (a * (a + b)) * narrow(f, d, n - 3, 1) - (a + b) / (a * b) * narrow(f, d, n - 2, 1)
                + (2 * b + a) / (b * (a + b)) * narrow(f, d, n - 1, 1))
    return cat([first, interior, last], d)


def gradient(input: Tensor, *, spacing: Any = 1, dim: Any = None, edge_order: int = 1) -> tuple:
    """The finite-difference derivative of ``input`` along each dimension in ``dim`` (all by
    default): a tuple with one tensor of ``input``'s shape per dimension.

    ``spacing`` is a number (the step of every dimension), a list of numbers (one step per
    dimension), or a list of 1-D tensors (the sample coordinates along each dimension).  An
    integer ``input`` gives floating-point derivatives of the default dtype."""
    if not isinstance(input, Tensor):
        raise TypeError(f"gradient(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")
    if edge_order not in (1, 2):
        raise RuntimeError("torch.gradient only supports edge_order=1 and edge_order=2.")
    dim_given = dim is not None
    if dim is None:
        dims = list(range(input.ndim))
    else:
        dims = [wrap_dim(d, input.ndim) for d in ([dim] if isinstance(dim, int) else dim)]
        for i, d in enumerate(dims):
            if d in dims[:i]:
                raise RuntimeError(f"dim {d} appears multiple times in the list of dims")
    spacings = _spacings(input, spacing, dims, dim_given)
    for d in dims:
        if input.shape[d] < edge_order + 1:
            raise RuntimeError("torch.gradient expected each dimension size to be at least edge_order+1")
    f = input if input.is_floating_point() else input.to(_default_float())
    return tuple(_coordinates(f, d, s, edge_order) if isinstance(s, Tensor) else _uniform(f, d, s, edge_order)
                 for d, s in zip(dims, spacings))


def _default_float():
    from ..backend import get_default_dtype
    return get_default_dtype()
