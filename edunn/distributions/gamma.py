"""``Gamma(concentration, rate)`` and ``Chi2(df) = Gamma(df / 2, 1 / 2)``.

``log p(x) = alpha log(beta) + (alpha - 1) log(x) - beta x - lgamma(alpha)`` for ``x >= 0``.
``rsample`` is ``_standard_gamma(alpha) / beta``: the standard draw carries PyTorch's implicit
reparameterised gradient (see ``_gamma_sampling``), so samples are differentiable in both
parameters.
"""
from __future__ import annotations

import numbers
from typing import Any

import edunn
from . import constraints
from ._gamma_sampling import _standard_gamma
from .distribution import Distribution, broadcast_all
from .exp_family import ExponentialFamily

__all__ = ["Chi2", "Gamma"]


class Gamma(ExponentialFamily):
    """Shape ``concentration`` (alpha) and ``rate`` (beta = 1 / scale): mean ``alpha / beta``,
    variance ``alpha / beta^2``."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.nonnegative
    has_rsample = True
    _mean_carrier_measure = 0

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None):
        self.concentration, self.rate = broadcast_all(concentration, rate)
        if isinstance(concentration, numbers.Number) and isinstance(rate, numbers.Number):
            batch_shape = edunn.Size(())
        else:
            batch_shape = self.concentration.size()
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Gamma":
        new = self._get_checked_instance(Gamma, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.concentration = self.concentration.expand(batch_shape)
        new.rate = self.rate.expand(batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @property
    def mean(self):
        return self.concentration / self.rate

    @property
    def mode(self):
        return ((self.concentration - 1) / self.rate).clamp(min=0)

    @property
    def variance(self):
        return self.concentration / self.rate.pow(2)

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """``_standard_gamma(alpha) / beta``, kept above the smallest normal number."""
        shape = self._extended_shape(sample_shape)
        value = _standard_gamma(self.concentration.expand(shape)) / self.rate.expand(shape)
        tiny = edunn.finfo(value.dtype).tiny
        with edunn.no_grad():  # as PyTorch's value.detach().clamp_(): not recorded in the graph
            value.detach().clamp_(min=tiny)
        return value

    def log_prob(self, value):
        value = edunn.as_tensor(value, dtype=self.rate.dtype, device=self.rate.device)
        if self._validate_args:
            self._validate_sample(value)
        return (edunn.xlogy(self.concentration, self.rate) + edunn.xlogy(self.concentration - 1, value)
                - self.rate * value - edunn.lgamma(self.concentration))

    def entropy(self):
        return (self.concentration - edunn.log(self.rate) + edunn.lgamma(self.concentration)
                + (1.0 - self.concentration) * edunn.digamma(self.concentration))

    @property
    def _natural_params(self):
        return (self.concentration - 1, -self.rate)

    def _log_normalizer(self, x, y):
        return edunn.lgamma(x + 1) + (x + 1) * edunn.log(-y.reciprocal())

    def cdf(self, value):
        """The regularised lower incomplete gamma function ``P(alpha, beta x)``."""
        if self._validate_args:
            self._validate_sample(value)
        return edunn.special.gammainc(self.concentration, self.rate * value)


class Chi2(Gamma):
    """The sum of ``df`` squared standard normals: ``Gamma(df / 2, rate=1/2)``."""
    arg_constraints = {"df": constraints.positive}

    def __init__(self, df: Any, validate_args: bool | None = None):
        super().__init__(0.5 * df, 0.5, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Chi2":
        new = self._get_checked_instance(Chi2, _instance)
        return super().expand(batch_shape, new)

    @property
    def df(self):
        return self.concentration * 2
