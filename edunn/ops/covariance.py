"""Covariance and correlation: ``cov`` and ``corrcoef`` (rows are variables, columns are
observations, as NumPy's ``np.cov``).

Both are compositions of differentiable ops (a weighted mean, a matmul, a division), laid out as
PyTorch's ``Correlation.cpp`` so dtypes and rounding follow it::

    avg = sum_i w_i x_i / sum_i w_i
    cov = (x - avg) (w (x - avg))^T / (sum_i w_i - correction * sum_i w_i a_i / sum_i w_i)

with w = fweights * aweights (the last term only with aweights; else ``sum w - correction``).
"""
from __future__ import annotations

import warnings

from .. import backend
from ..tensor import Tensor
from .differences import _type_name

__all__ = ['cov', 'corrcoef']


def _check_weights(w: Tensor, name: str, n: int, integral: bool) -> None:
    if w._data.ndim > 1:
        raise RuntimeError(f"cov(): expected {name} to have one or fewer dimensions but got {name} with "
                           f"{w._data.ndim} dimensions")
    kind = w._data.dtype.kind
    if integral and kind not in "iu":
        raise RuntimeError(f"cov(): expected {name} to have integral dtype but got {name} with "
                           f"{_type_name(w)} dtype")
    if not integral and not w.is_floating_point():
        raise RuntimeError(f"cov(): expected {name} to have floating point dtype but got {name} with "
                           f"{_type_name(w)} dtype")
    if w._data.size != n:
        raise RuntimeError(f"cov(): expected {name} to have the same numel as there are observations in "
                           f"the input but got {w._data.size} != {n}")
    if n and bool((w._data < 0).any()):  # a host read, as in PyTorch
        raise RuntimeError(f"cov(): {name} cannot be negative")


@backend.on_input_device
def cov(input: Tensor, *, correction: int = 1, fweights: Tensor | None = None,
        aweights: Tensor | None = None) -> Tensor:
    """The covariance matrix of the variables in the rows of ``input`` (a 1-D input is one
    variable: a 0-dim result).  ``correction=1`` is Bessel's (N - 1), ``fweights`` are integer
    repeat counts of the observations and ``aweights`` their float importance."""
    from .linalg import matmul
    if input._data.ndim > 2:
        raise RuntimeError("cov(): expected input to have two or fewer dimensions but got an input with "
                           f"{input._data.ndim} dimensions")
    if input.dtype == backend.bool_:
        raise RuntimeError("cov(): bool dtype is not supported for input")
    x = input.reshape((1, -1)) if input._data.ndim < 2 else input
    n = x._data.shape[1]
    w = None
    if fweights is not None:
        _check_weights(fweights, "fweights", n, True)
        w = fweights
    if aweights is not None:
        _check_weights(aweights, "aweights", n, False)
        w = aweights if w is None else w * aweights
    if w is None:
        w_sum = Tensor._make(backend.array_module(x._data).asarray(n, backend.int64.np))
    else:
        w = w.reshape((-1,))
        w_sum = w.sum()
        if not bool(w_sum._data != 0):
            raise RuntimeError("cov(): weights sum to zero, can't be normalized")
    avg = (x if w is None else x * w).sum(1) / w_sum
    if w is not None and aweights is not None and correction != 0:
        norm_factor = w_sum - correction * (w * aweights.reshape((-1,))).sum() / w_sum
    else:
        norm_factor = w_sum - correction
    if bool(norm_factor._data <= 0):
        warnings.warn("cov(): degrees of freedom is <= 0. Correction should be strictly less than the "
                      "number of observations.", UserWarning, stacklevel=2)
        norm_factor = norm_factor * 0
    centred = x - avg.unsqueeze(1)
    c = matmul(centred, (centred if w is None else centred * w).t())
    return (c / norm_factor).squeeze()


@backend.on_input_device
def corrcoef(input: Tensor) -> Tensor:
    """Pearson's correlation coefficients: ``cov(x)_ij / sqrt(cov_ii cov_jj)``, clipped to
    [-1, 1]; a single variable gives 1 (NaN when its variance is 0, inf or NaN)."""
    from .unary import clamp
    if input._data.ndim > 2:
        raise RuntimeError("corrcoef(): expected input to have two or fewer dimensions but got an input "
                           f"with {input._data.ndim} dimensions")
    c = cov(input)
    if c._data.ndim == 0:
        return c / c
    stddev = c.diagonal().sqrt()
    c = c / stddev.reshape((-1, 1))
    c = c / stddev.reshape((1, -1))
    return clamp(c, -1, 1)
