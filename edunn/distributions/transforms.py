"""Transforms: invertible maps with a computable ``log |det J|``, as PyTorch's
``torch.distributions.transforms``. ``TransformedDistribution`` pushes a base distribution
through them (``LogNormal`` is ``Normal`` through ``ExpTransform``) and
``constraint_registry.biject_to`` picks one that maps the real numbers onto a constraint (for
optimising a constrained parameter without constraints).

The protocol and the transforms built from other transforms are in ``_transform_base.py``; this
module has the concrete maps and exports all of them under PyTorch's names.
"""
from __future__ import annotations

import math
import numbers
from typing import Any

import edunn
import edunn.nn.functional as F
from . import constraints
from ._transform_base import (CatTransform, ComposeTransform, IndependentTransform, ReshapeTransform,
                              StackTransform, Transform, identity_transform)
from .distribution import Distribution, broadcast_all, lazy_property

__all__ = ["AbsTransform", "AffineTransform", "CatTransform", "ComposeTransform", "CorrCholeskyTransform",
           "CumulativeDistributionTransform", "ExpTransform", "IndependentTransform", "LowerCholeskyTransform",
           "PositiveDefiniteTransform", "PowerTransform", "ReshapeTransform", "SigmoidTransform",
           "SoftplusTransform", "TanhTransform", "SoftmaxTransform", "StackTransform", "StickBreakingTransform",
           "Transform", "identity_transform"]


class ExpTransform(Transform):
    """``y = exp(x)``; ``log |dy/dx| = x``."""
    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other):
        return isinstance(other, ExpTransform)

    def _call(self, x):
        return x.exp()

    def _inverse(self, y):
        return y.log()

    def log_abs_det_jacobian(self, x, y):
        return x


class PowerTransform(Transform):
    """``y = x ** exponent`` on positive numbers; ``log |dy/dx| = log |exponent * y / x|``."""
    domain = constraints.positive
    codomain = constraints.positive
    bijective = True

    def __init__(self, exponent: edunn.Tensor, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        (self.exponent,) = broadcast_all(exponent)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return PowerTransform(self.exponent, cache_size=cache_size)

    @lazy_property
    def sign(self):
        return self.exponent.sign()

    def __eq__(self, other):
        if not isinstance(other, PowerTransform):
            return False
        return (self.exponent == other.exponent).all().item()

    def _call(self, x):
        return x.pow(self.exponent)

    def _inverse(self, y):
        return y.pow(1 / self.exponent)

    def log_abs_det_jacobian(self, x, y):
        return (self.exponent * y / x).abs().log()

    def forward_shape(self, shape):
        return edunn.broadcast_shapes(tuple(shape), tuple(getattr(self.exponent, "shape", ())))

    def inverse_shape(self, shape):
        return edunn.broadcast_shapes(tuple(shape), tuple(getattr(self.exponent, "shape", ())))


def _clipped_sigmoid(x: edunn.Tensor) -> edunn.Tensor:
    # kept inside (0, 1) so that logit(y) stays finite
    finfo = edunn.finfo(x.dtype)
    return edunn.clamp(edunn.sigmoid(x), min=finfo.tiny, max=1.0 - finfo.eps)


class SigmoidTransform(Transform):
    """``y = 1 / (1 + exp(-x))``, ``x = logit(y)``;
    ``log |dy/dx| = log(sigmoid(x)) + log(1 - sigmoid(x)) = -softplus(-x) - softplus(x)``."""
    domain = constraints.real
    codomain = constraints.unit_interval
    bijective = True
    sign = +1

    def __eq__(self, other):
        return isinstance(other, SigmoidTransform)

    def _call(self, x):
        return _clipped_sigmoid(x)

    def _inverse(self, y):
        finfo = edunn.finfo(y.dtype)
        y = y.clamp(min=finfo.tiny, max=1.0 - finfo.eps)
        return y.log() - (-y).log1p()

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x) - F.softplus(x)


class SoftplusTransform(Transform):
    """``y = log(1 + exp(x))`` (linear past ``x > 20``); ``x = y + log(-expm1(-y))`` and
    ``log |dy/dx| = log(sigmoid(x)) = -softplus(-x)``."""
    domain = constraints.real
    codomain = constraints.positive
    bijective = True
    sign = +1

    def __eq__(self, other):
        return isinstance(other, SoftplusTransform)

    def _call(self, x):
        return F.softplus(x)

    def _inverse(self, y):
        return (-y).expm1().neg().log() + y

    def log_abs_det_jacobian(self, x, y):
        return -F.softplus(-x)


class TanhTransform(Transform):
    """``y = tanh(x)``; ``log |dy/dx| = log(1 - tanh(x)^2) = 2 (log 2 - x - softplus(-2x))``, the
    form that stays finite for large ``|x|``. The inverse ``atanh`` is not clamped: use
    ``cache_size=1`` so that ``t.inv(t(x))`` returns ``x`` even where ``y`` rounds to +-1."""
    domain = constraints.real
    codomain = constraints.interval(-1.0, 1.0)
    bijective = True
    sign = +1

    def __eq__(self, other):
        return isinstance(other, TanhTransform)

    def _call(self, x):
        return x.tanh()

    def _inverse(self, y):
        return edunn.atanh(y)

    def log_abs_det_jacobian(self, x, y):
        return 2.0 * (math.log(2.0) - x - F.softplus(-2.0 * x))


class AbsTransform(Transform):
    """``y = |x|``: not bijective; its "inverse" returns the nonnegative root ``y``."""
    domain = constraints.real
    codomain = constraints.positive

    def __eq__(self, other):
        return isinstance(other, AbsTransform)

    def _call(self, x):
        return x.abs()

    def _inverse(self, y):
        return y


def _is_number(value: Any) -> bool:
    return isinstance(value, numbers.Number)


class AffineTransform(Transform):
    """``y = loc + scale * x`` elementwise; ``log |dy/dx| = log |scale|``, summed over the
    ``event_dim`` rightmost dims (0 for numbers, 1 for vectors, 2 for matrices)."""
    bijective = True

    def __init__(self, loc: edunn.Tensor | float, scale: edunn.Tensor | float, event_dim: int = 0,
                 cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.loc = loc
        self.scale = scale
        self._event_dim = event_dim

    @property
    def event_dim(self):
        return self._event_dim

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        if self.event_dim == 0:
            return constraints.real
        return constraints.independent(constraints.real, self.event_dim)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        if self.event_dim == 0:
            return constraints.real
        return constraints.independent(constraints.real, self.event_dim)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return AffineTransform(self.loc, self.scale, self.event_dim, cache_size=cache_size)

    def __eq__(self, other):
        if not isinstance(other, AffineTransform):
            return False
        for a, b in ((self.loc, other.loc), (self.scale, other.scale)):
            if _is_number(a) and _is_number(b):
                if a != b:
                    return False
            elif not (a == b).all().item():
                return False
        return True

    @property
    def sign(self):
        if _is_number(self.scale):
            return 1 if float(self.scale) > 0 else -1 if float(self.scale) < 0 else 0
        return self.scale.sign()

    def _call(self, x):
        return self.loc + self.scale * x

    def _inverse(self, y):
        return (y - self.loc) / self.scale

    def log_abs_det_jacobian(self, x, y):
        shape = tuple(x.shape)
        scale = self.scale
        if _is_number(scale):
            result = edunn.full_like(x, math.log(abs(scale)))
        else:
            result = edunn.abs(scale).log()
        if self.event_dim:
            result = result.reshape(tuple(result.size()[:-self.event_dim]) + (-1,)).sum(-1)
            shape = shape[:-self.event_dim]
        return result.expand(shape)

    def forward_shape(self, shape):
        return edunn.broadcast_shapes(tuple(shape), tuple(getattr(self.loc, "shape", ())),
                                      tuple(getattr(self.scale, "shape", ())))

    def inverse_shape(self, shape):
        return self.forward_shape(shape)


def _tril_index(n: int, diag: int, device: Any) -> edunn.Tensor:
    """Flat indices (row-major) of the entries ``j < i + diag + 1`` of an ``n x n`` matrix: the
    lower triangle from diagonal ``diag``, in row order."""
    arange = edunn.arange(n, device=device)
    mask = arange < arange.view(-1, 1) + (diag + 1)
    return edunn.nonzero(mask.reshape(-1)).reshape(-1)


def _tril_matrix_to_vec(mat: edunn.Tensor, diag: int = 0) -> edunn.Tensor:
    """The lower triangle of ``mat`` (from diagonal ``diag``) as a vector, row by row (PyTorch's
    ``distributions.utils.tril_matrix_to_vec``)."""
    n = mat.shape[-1]
    if diag < -n or diag >= n:
        raise ValueError(f"diag ({diag}) provided is outside [{-n}, {n - 1}].")
    flat = mat.reshape(tuple(mat.shape[:-2]) + (n * n,))
    return flat[..., _tril_index(n, diag, mat.device)]


def _vec_to_tril_matrix(vec: edunn.Tensor, diag: int = 0) -> edunn.Tensor:
    """The inverse of ``_tril_matrix_to_vec``: a matrix with ``vec`` in its lower triangle and
    zeros elsewhere. Written as a gather from ``[0, vec...]`` so that it is differentiable."""
    m = vec.shape[-1]
    n = (-(1 + 2 * diag) + ((1 + 2 * diag) ** 2 + 8 * m + 4 * abs(diag) * (diag + 1)) ** 0.5) / 2
    if round(n) - n > edunn.finfo(vec.dtype).eps:
        raise ValueError(f"The size of last dimension is {m} which cannot be expressed as "
                         "the lower triangular part of a square D x D matrix.")
    n = round(n)
    source = edunn.zeros(n * n, dtype=edunn.int64, device=vec.device)
    source[_tril_index(n, diag, vec.device)] = edunn.arange(1, m + 1, device=vec.device)
    padded = F.pad(vec, [1, 0], value=0.0)
    return padded[..., source].reshape(tuple(vec.shape[:-1]) + (n, n))


class CorrCholeskyTransform(Transform):
    """A vector ``x`` of length ``D(D-1)/2`` to the Cholesky factor of a ``D x D`` correlation
    matrix (lower triangular, positive diagonal, rows of unit norm): ``r = tanh(x)`` fills the
    strict lower triangle row by row, then each row is scaled by a signed stick-breaking so that
    its squares sum to one (``y_ij = r_ij sqrt(1 - sum_{k<j} y_ik^2)``, ``y_ii`` what is left).
    The log-det is that of ``x`` to the strict lower triangle of ``y`` (Stan's reference manual)."""
    domain = constraints.real_vector
    codomain = constraints.corr_cholesky
    bijective = True

    def _call(self, x):
        x = edunn.tanh(x)
        eps = edunn.finfo(x.dtype).eps
        x = x.clamp(min=-1 + eps, max=1 - eps)
        r = _vec_to_tril_matrix(x, diag=-1)
        # y = sign(r) * sqrt(z * z1m_cumprod) = r * sqrt(z1m_cumprod) with z = r^2
        z = r ** 2
        z1m_cumprod_sqrt = (1 - z).sqrt().cumprod(-1)
        r = r + edunn.eye(r.shape[-1], dtype=r.dtype, device=r.device)
        return r * F.pad(z1m_cumprod_sqrt[..., :-1], [1, 0], value=1.0)

    def _inverse(self, y):
        y_cumsum = 1 - edunn.cumsum(y * y, dim=-1)
        y_cumsum_shifted = F.pad(y_cumsum[..., :-1], [1, 0], value=1.0)
        y_vec = _tril_matrix_to_vec(y, diag=-1)
        y_cumsum_vec = _tril_matrix_to_vec(y_cumsum_shifted, diag=-1)
        t = y_vec / y_cumsum_vec.sqrt()
        return (t.log1p() - t.neg().log1p()) / 2  # atanh

    def log_abs_det_jacobian(self, x, y, intermediates=None):
        y1m_cumsum = 1 - (y * y).cumsum(dim=-1)
        # diagonal -2 picks the cumulative sums already shifted by one column
        y1m_cumsum_tril = _tril_matrix_to_vec(y1m_cumsum, diag=-2)
        stick_breaking_logdet = 0.5 * y1m_cumsum_tril.log().sum(-1)
        tanh_logdet = -2 * (x + F.softplus(-2 * x) - math.log(2.0)).sum(dim=-1)
        return stick_breaking_logdet + tanh_logdet

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        N = shape[-1]
        D = round((0.25 + 2 * N) ** 0.5 + 0.5)
        if D * (D - 1) // 2 != N:
            raise ValueError("Input is not a flattened lower-diagonal number")
        return edunn.Size(tuple(shape[:-1]) + (D, D))

    def inverse_shape(self, shape):
        if len(shape) < 2:
            raise ValueError("Too few dimensions on input")
        if shape[-2] != shape[-1]:
            raise ValueError("Input is not square")
        D = shape[-1]
        return edunn.Size(tuple(shape[:-2]) + (D * (D - 1) // 2,))


class SoftmaxTransform(Transform):
    """Real vectors to the simplex: ``y = exp(x) / sum(exp(x))``. Not bijective (adding a
    constant to ``x`` gives the same ``y``); the inverse returns ``log(y)``."""
    domain = constraints.real_vector
    codomain = constraints.simplex

    def __eq__(self, other):
        return isinstance(other, SoftmaxTransform)

    def _call(self, x):
        probs = (x - x.max(-1, True)[0]).exp()
        return probs / probs.sum(-1, True)

    def _inverse(self, y):
        return y.log()

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return shape

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return shape


class StickBreakingTransform(Transform):
    """Real vectors of length ``K`` to the ``K + 1``-simplex by breaking a stick: the ``k``-th
    piece takes ``z_k = sigmoid(x_k - log(K - k))`` of what is left, ``y_k = z_k prod_{j<k}
    (1 - z_j)``, the last piece is the rest. Bijective (used by ``biject_to(simplex)``)."""
    domain = constraints.real_vector
    codomain = constraints.simplex
    bijective = True

    def __eq__(self, other):
        return isinstance(other, StickBreakingTransform)

    @staticmethod
    def _offset(x, k):
        return k + 1 - x.new_ones(k).cumsum(-1)

    def _call(self, x):
        z = _clipped_sigmoid(x - self._offset(x, x.shape[-1]).log())
        z_cumprod = (1 - z).cumprod(-1)
        return F.pad(z, [0, 1], value=1.0) * F.pad(z_cumprod, [1, 0], value=1.0)

    def _inverse(self, y):
        y_crop = y[..., :-1]
        offset = self._offset(y, y_crop.shape[-1])
        # what is left of the stick; clamped positive where rounding makes it 0
        sf = (1 - y_crop.cumsum(-1)).clamp(min=edunn.finfo(y.dtype).tiny)
        return y_crop.log() - sf.log() + offset.log()

    def log_abs_det_jacobian(self, x, y):
        x = x - self._offset(x, x.shape[-1]).log()
        # 1 - sigmoid(x) = exp(-x) sigmoid(x)
        return (-x + F.logsigmoid(x) + y[..., :-1].log()).sum(-1)

    def forward_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return edunn.Size(tuple(shape[:-1]) + (shape[-1] + 1,))

    def inverse_shape(self, shape):
        if len(shape) < 1:
            raise ValueError("Too few dimensions on input")
        return edunn.Size(tuple(shape[:-1]) + (shape[-1] - 1,))


class LowerCholeskyTransform(Transform):
    """Square matrices to lower-triangular ones with a positive diagonal: keep the strict lower
    triangle, exponentiate the diagonal."""
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.lower_cholesky

    def __eq__(self, other):
        return isinstance(other, LowerCholeskyTransform)

    def _call(self, x):
        return x.tril(-1) + x.diagonal(dim1=-2, dim2=-1).exp().diag_embed()

    def _inverse(self, y):
        return y.tril(-1) + y.diagonal(dim1=-2, dim2=-1).log().diag_embed()


class PositiveDefiniteTransform(Transform):
    """Square matrices to positive-definite ones: ``L = LowerCholeskyTransform()(x)``,
    ``y = L L^T``; the inverse takes the Cholesky factor."""
    domain = constraints.independent(constraints.real, 2)
    codomain = constraints.positive_definite

    def __eq__(self, other):
        return isinstance(other, PositiveDefiniteTransform)

    def _call(self, x):
        x = LowerCholeskyTransform()(x)
        return x @ x.mT

    def _inverse(self, y):
        return LowerCholeskyTransform().inv(edunn.linalg.cholesky(y))


class CumulativeDistributionTransform(Transform):
    """``y = distribution.cdf(x)`` onto ``[0, 1]``; ``log |dy/dx| = distribution.log_prob(x)``
    (the derivative of a CDF is the density); the inverse is ``icdf``. Turns a base distribution
    into a copula (a ``MultivariateNormal`` through ``Normal(0, 1)``'s CDF)."""
    bijective = True
    codomain = constraints.unit_interval
    sign = +1

    def __init__(self, distribution: Distribution, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.distribution = distribution

    @property
    def domain(self):
        return self.distribution.support

    def _call(self, x):
        return self.distribution.cdf(x)

    def _inverse(self, y):
        return self.distribution.icdf(y)

    def log_abs_det_jacobian(self, x, y):
        return self.distribution.log_prob(x)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CumulativeDistributionTransform(self.distribution, cache_size=cache_size)

