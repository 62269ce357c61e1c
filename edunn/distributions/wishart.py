"""``Wishart(df, covariance_matrix | precision_matrix | scale_tril)``: the distribution of
``X = sum_{i=1}^{df} z_i z_i^T`` with ``z_i ~ N(0, Sigma)``, over ``p x p`` positive definite
matrices (the conjugate prior of a Gaussian's precision).

``log p(X) = -nu/2 (p log 2 + log|Sigma|) - mvlgamma(nu/2, p) + (nu - p - 1)/2 log|X|
- tr(Sigma^{-1} X)/2``.

``rsample`` is Bartlett's decomposition: ``X = (L A)(L A)^T`` with ``L = scale_tril`` and ``A``
lower triangular, ``A_ii = sqrt(c_i)``, ``c_i ~ Chi2(nu - i)``, ``A_ij ~ N(0, 1)`` below the
diagonal -- reparameterised through the Chi2 (Gamma) draws. Samples that come out singular
(possible when ``p - 1 < nu < p``) are redrawn up to ``max_try_correction`` times.
"""
from __future__ import annotations

import math
import numbers
import warnings
from typing import Any

import edunn
from . import constraints
from .distribution import Distribution, lazy_property
from .exp_family import ExponentialFamily
from .gamma import Chi2
from .multivariate_normal import _precision_to_scale_tril

__all__ = ["Wishart"]

_log_2 = math.log(2)


def _mvdigamma(x: edunn.Tensor, p: int) -> edunn.Tensor:
    """The multivariate digamma ``sum_{i<p} digamma(x - i/2)``, the derivative of ``mvlgamma``."""
    if not bool(x.gt((p - 1) / 2).all()):
        raise AssertionError("Wrong domain for multivariate digamma function.")
    shifts = edunn.arange(p, dtype=x.dtype, device=x.device).div(2)
    return edunn.digamma(x.unsqueeze(-1) - shifts.expand(tuple(x.shape) + (-1,))).sum(-1)


def _clamp_above_eps(x: edunn.Tensor) -> edunn.Tensor:
    return x.clamp(min=edunn.finfo(x.dtype).eps)


class Wishart(ExponentialFamily):
    """Mean ``nu Sigma``; ``event_shape = (p, p)``; ``df`` must exceed ``p - 1``."""
    support = constraints.positive_definite
    has_rsample = True
    _mean_carrier_measure = 0

    @property
    def arg_constraints(self):
        return {"covariance_matrix": constraints.positive_definite,
                "precision_matrix": constraints.positive_definite,
                "scale_tril": constraints.lower_cholesky,
                "df": constraints.greater_than(self.event_shape[-1] - 1)}

    def __init__(self, df: Any, covariance_matrix: Any = None, precision_matrix: Any = None,
                 scale_tril: Any = None, validate_args: bool | None = None):
        if (covariance_matrix is not None) + (scale_tril is not None) + (precision_matrix is not None) != 1:
            raise AssertionError("Exactly one of covariance_matrix or precision_matrix or scale_tril may be specified.")
        param = next(p for p in (covariance_matrix, precision_matrix, scale_tril) if p is not None)
        if param.dim() < 2:
            raise ValueError("scale_tril must be at least two-dimensional, with optional leading batch dimensions")
        if isinstance(df, numbers.Number):
            batch_shape = edunn.Size(tuple(param.shape[:-2]))
            self.df = edunn.tensor(df, dtype=param.dtype, device=param.device)
        else:
            batch_shape = edunn.broadcast_shapes(tuple(param.shape[:-2]), tuple(df.shape))
            self.df = df.expand(batch_shape)
        event_shape = param.shape[-2:]
        if bool(self.df.le(event_shape[-1] - 1).any()):
            raise ValueError(f"Value of df={df} expected to be greater than ndim - 1 = {event_shape[-1] - 1}.")
        if scale_tril is not None:
            self.scale_tril = param.expand(tuple(batch_shape) + (-1, -1))
        elif covariance_matrix is not None:
            self.covariance_matrix = param.expand(tuple(batch_shape) + (-1, -1))
        else:
            self.precision_matrix = param.expand(tuple(batch_shape) + (-1, -1))
        if bool(self.df.lt(event_shape[-1]).any()):
            warnings.warn("Low df values detected. Singular samples are highly likely to occur for ndim - 1 < df < ndim.",
                          stacklevel=2)
        super().__init__(batch_shape, event_shape, validate_args=validate_args)
        self._batch_dims = [-(x + 1) for x in range(len(self._batch_shape))]
        if scale_tril is not None:
            self._unbroadcasted_scale_tril = scale_tril
        elif covariance_matrix is not None:
            self._unbroadcasted_scale_tril = edunn.linalg.cholesky(covariance_matrix)
        else:
            self._unbroadcasted_scale_tril = _precision_to_scale_tril(precision_matrix)
        self._dist_chi2 = self._bartlett_chi2(self.df, batch_shape)

    def _bartlett_chi2(self, df: edunn.Tensor, batch_shape: Any) -> Chi2:
        """``Chi2(df - i)`` for the diagonal entries ``i = 0 .. p-1`` of Bartlett's factor."""
        L = self._unbroadcasted_scale_tril
        steps = edunn.arange(self._event_shape[-1], dtype=L.dtype, device=L.device)
        return Chi2(df=df.unsqueeze(-1) - steps.expand(tuple(batch_shape) + (-1,)))

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Wishart":
        new = self._get_checked_instance(Wishart, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        cov_shape = tuple(batch_shape) + tuple(self.event_shape)
        new._unbroadcasted_scale_tril = self._unbroadcasted_scale_tril.expand(cov_shape)
        new.df = self.df.expand(batch_shape)
        new._batch_dims = [-(x + 1) for x in range(len(batch_shape))]
        for name in ("covariance_matrix", "scale_tril", "precision_matrix"):
            if name in self.__dict__:
                new.__dict__[name] = self.__dict__[name].expand(cov_shape)
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._dist_chi2 = new._bartlett_chi2(new.df, batch_shape)
        new._validate_args = self._validate_args
        return new

    def _full_shape(self) -> tuple:
        return tuple(self._batch_shape) + tuple(self._event_shape)

    @lazy_property
    def scale_tril(self):
        return self._unbroadcasted_scale_tril.expand(self._full_shape())

    @lazy_property
    def covariance_matrix(self):
        L = self._unbroadcasted_scale_tril
        return (L @ L.transpose(-2, -1)).expand(self._full_shape())

    @lazy_property
    def precision_matrix(self):
        L = self._unbroadcasted_scale_tril
        identity = edunn.eye(self._event_shape[-1], device=L.device, dtype=L.dtype)
        return edunn.cholesky_solve(identity, L).expand(self._full_shape())

    @property
    def mean(self):
        return self.df.view(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def mode(self):
        """``(nu - p - 1) Sigma``, NaN where ``nu <= p + 1``."""
        factor = self.df - self.covariance_matrix.shape[-1] - 1
        factor = edunn.where(factor <= 0, math.nan, factor).to(factor.dtype)
        return factor.view(tuple(self._batch_shape) + (1, 1)) * self.covariance_matrix

    @property
    def variance(self):
        V = self.covariance_matrix
        diag_V = V.diagonal(dim1=-2, dim2=-1)
        return self.df.view(tuple(self._batch_shape) + (1, 1)) * (
            V.pow(2) + edunn.einsum("...i,...j->...ij", diag_V, diag_V))

    def _bartlett_sampling(self, sample_shape: Any = ()) -> edunn.Tensor:
        shape = tuple(sample_shape) + self._full_shape()
        diag = _clamp_above_eps(self._dist_chi2.rsample(sample_shape).sqrt()).diag_embed(dim1=-2, dim2=-1)
        lower = edunn.randn(shape, dtype=diag.dtype, device=diag.device).tril(-1)
        chol = self._unbroadcasted_scale_tril @ (diag + lower)
        return chol @ chol.transpose(-2, -1)

    def rsample(self, sample_shape: Any = (), max_try_correction: Any = None) -> edunn.Tensor:
        """Bartlett draws; a sample (over its whole batch) that is not positive definite is redrawn.
        PyTorch 2.13 negates its singularity test on this path (it warns "Singular sample
        detected." and redraws for every *valid* sample); edunn redraws the singular ones."""
        if max_try_correction is None:
            max_try_correction = 10
        sample_shape = edunn.Size(tuple(sample_shape))
        sample = self._bartlett_sampling(sample_shape)
        is_singular = self._singular(sample)
        if bool(is_singular.any()):
            warnings.warn("Singular sample detected.", stacklevel=2)
            for _ in range(max_try_correction):
                sample_new = self._bartlett_sampling(sample_shape)
                mask = is_singular.reshape(tuple(sample_shape) + (1,) * (len(self._batch_shape) + 2))
                sample = edunn.where(mask, sample_new, sample)
                is_singular = self._singular(sample)
                if not bool(is_singular.any()):
                    break
        return sample

    def _singular(self, sample: edunn.Tensor) -> edunn.Tensor:
        """One flag per sample: is any matrix of its batch not positive definite?"""
        bad = ~self.support.check(sample)
        if self._batch_shape:
            bad = bad.reshape(tuple(bad.shape[:bad.dim() - len(self._batch_shape)]) + (-1,)).any(-1)
        return bad

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        nu = self.df
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        return (-nu * (p * _log_2 / 2 + L.diagonal(dim1=-2, dim2=-1).log().sum(-1))
                - edunn.mvlgamma(nu / 2, p=p)
                + (nu - p - 1) / 2 * edunn.linalg.slogdet(value).logabsdet
                - edunn.cholesky_solve(value, L).diagonal(dim1=-2, dim2=-1).sum(dim=-1) / 2)

    def entropy(self):
        nu = self.df
        p = self._event_shape[-1]
        L = self._unbroadcasted_scale_tril
        return ((p + 1) * (p * _log_2 / 2 + L.diagonal(dim1=-2, dim2=-1).log().sum(-1))
                + edunn.mvlgamma(nu / 2, p=p) - (nu - p - 1) / 2 * _mvdigamma(nu / 2, p=p) + nu * p / 2)

    @property
    def _natural_params(self):
        nu = self.df
        p = self._event_shape[-1]
        return (-self.precision_matrix / 2, (nu - p - 1) / 2)

    def _log_normalizer(self, x, y):
        p = self._event_shape[-1]
        return ((y + (p + 1) / 2) * (-edunn.linalg.slogdet(-2 * x).logabsdet + _log_2 * p)
                + edunn.mvlgamma(y + (p + 1) / 2, p=p))
