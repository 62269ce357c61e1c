"""``Bernoulli``, ``Geometric`` and ``Binomial``: counts of coin flips, parameterised by
``probs`` or ``logits`` (``logits = log(p / (1 - p))``)."""
from __future__ import annotations

import math
import numbers
from typing import Any

import edunn
import edunn.nn.functional as F
from . import constraints
from .distribution import Distribution, _check_probs_or_logits, _ProbsOrLogits, broadcast_all
from .exp_family import ExponentialFamily

__all__ = ["Bernoulli", "Binomial", "Geometric"]


class _BinaryParams(_ProbsOrLogits, Distribution):
    """``probs`` or ``logits`` given, the other computed on first use."""
    arg_constraints = {"probs": constraints.unit_interval, "logits": constraints.real}

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None):
        batch_shape = self._store_probs_or_logits(probs, logits)
        super().__init__(batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "_BinaryParams":
        new = self._get_checked_instance(type(self), _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        self._expand_probs_or_logits(new, batch_shape)
        Distribution.__init__(new, batch_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new


class Bernoulli(_BinaryParams, ExponentialFamily):
    """``P(x = 1) = probs``: ``log p(x) = x log(p) + (1 - x) log(1 - p)``, computed from logits
    as ``-binary_cross_entropy_with_logits(logits, x)``."""
    support = constraints.boolean
    has_enumerate_support = True
    _mean_carrier_measure = 0

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def mean(self):
        return self.probs

    @property
    def mode(self):
        mode = (self.probs >= 0.5).to(self.probs.dtype)
        return edunn.where(self.probs == 0.5, math.nan, mode)

    @property
    def variance(self):
        return self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        shape = self._extended_shape(sample_shape)
        with edunn.no_grad():
            return edunn.bernoulli(self.probs.expand(shape))

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        logits, value = broadcast_all(self.logits, value)
        return -F.binary_cross_entropy_with_logits(logits, value, reduction="none")

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none")

    @property
    def _natural_params(self):
        return (edunn.logit(self.probs),)

    def _log_normalizer(self, x):
        return edunn.log1p(edunn.exp(x))

    def enumerate_support(self, expand: bool = True) -> edunn.Tensor:
        values = edunn.arange(2, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values


class Geometric(_BinaryParams):
    """Number of failures before the first success: ``log p(k) = k log(1 - p) + log(p)``."""
    support = constraints.nonnegative_integer

    def __init__(self, probs: Any = None, logits: Any = None, validate_args: bool | None = None):
        super().__init__(probs, logits, validate_args=validate_args)
        if self._validate_args and probs is not None:
            value = self.probs
            valid = value > 0
            if not bool(edunn.all(valid)):
                invalid_value = value.data[~valid]
                raise ValueError(
                    "Expected parameter probs "
                    f"({type(value).__name__} of shape {tuple(value.shape)}) "
                    f"of distribution {repr(self)} "
                    f"to be positive but found invalid values:\n{invalid_value}")

    @property
    def mean(self):
        return 1.0 / self.probs - 1.0

    @property
    def mode(self):
        return edunn.zeros_like(self.probs)

    @property
    def variance(self):
        return (1.0 / self.probs - 1.0) / self.probs

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """``floor(log(u) / log(1 - p))``: inverting the CDF."""
        shape = self._extended_shape(sample_shape)
        tiny = edunn.finfo(self.probs.dtype).tiny
        with edunn.no_grad():
            u = edunn.rand(shape, dtype=self.probs.dtype, device=self.probs.device).clamp(min=tiny)
            return (u.log() / edunn.log1p(-self.probs)).floor()

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        value, probs = broadcast_all(value, self.probs)
        probs = edunn.where((probs == 1) & (value == 0), 0.0, probs)
        return value * edunn.log1p(-probs) + self.probs.log()

    def entropy(self):
        return F.binary_cross_entropy_with_logits(self.logits, self.probs, reduction="none") / self.probs


def _clamp_by_zero(x: edunn.Tensor) -> edunn.Tensor:
    # max(x, 0) with gradient 1/2 at 0, as PyTorch's
    return (x.clamp(min=0) + x - x.clamp(max=0)) / 2


class Binomial(_BinaryParams):
    """Successes in ``total_count`` flips: ``log p(k) = log C(n, k) + k log(p) + (n - k) log(1 - p)``."""
    arg_constraints = {"total_count": constraints.nonnegative_integer,
                       "probs": constraints.unit_interval, "logits": constraints.real}
    has_enumerate_support = True

    def __init__(self, total_count: Any = 1, probs: Any = None, logits: Any = None,
                 validate_args: bool | None = None):
        _check_probs_or_logits(probs, logits)
        if probs is not None:
            self.total_count, self.probs = broadcast_all(total_count, probs)
            self.total_count = self.total_count.to(self.probs.dtype)
            is_scalar = isinstance(probs, numbers.Number)
        else:
            self.total_count, self.logits = broadcast_all(total_count, logits)
            self.total_count = self.total_count.to(self.logits.dtype)
            is_scalar = isinstance(logits, numbers.Number)
        self._param = self.probs if probs is not None else self.logits
        batch_shape = edunn.Size(()) if is_scalar else self._param.size()
        Distribution.__init__(self, batch_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Binomial":
        new = self._get_checked_instance(Binomial, _instance)
        new.total_count = self.total_count.expand(tuple(batch_shape))
        return _BinaryParams.expand(self, batch_shape, _instance=new)

    @property
    def param_shape(self):
        return self._param.size()

    @property
    def support(self):
        return constraints.integer_interval(0, self.total_count)

    @property
    def mean(self):
        return self.total_count * self.probs

    @property
    def mode(self):
        return ((self.total_count + 1) * self.probs).floor().clamp(max=self.total_count)

    @property
    def variance(self):
        return self.total_count * self.probs * (1 - self.probs)

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """The sum of ``total_count`` Bernoulli draws (a mask drops the flips past each count)."""
        shape = self._extended_shape(sample_shape)
        with edunn.no_grad():
            n_max = int(self.total_count.max().item()) if self.total_count.numel() else 0
            probs = self.probs.expand(shape).unsqueeze(-1)
            u = edunn.rand(tuple(shape) + (n_max,), dtype=probs.dtype, device=probs.device)
            flips = (u < probs).to(probs.dtype)
            steps = edunn.arange(n_max, dtype=probs.dtype, device=probs.device)
            flips = flips * (steps < self.total_count.expand(shape).unsqueeze(-1)).to(probs.dtype)
            return flips.sum(-1)

    def log_prob(self, value):
        if self._validate_args:
            self._validate_sample(value)
        log_factorial_n = edunn.lgamma(self.total_count + 1)
        log_factorial_k = edunn.lgamma(value + 1)
        log_factorial_nmk = edunn.lgamma(self.total_count - value + 1)
        # k * logits - n * log(1 + e^logits), written to stay finite for large |logits|
        normalize_term = (self.total_count * _clamp_by_zero(self.logits)
                          + self.total_count * edunn.log1p(edunn.exp(-edunn.abs(self.logits)))
                          - log_factorial_n)
        return value * self.logits - log_factorial_k - log_factorial_nmk - normalize_term

    def entropy(self):
        total_count = int(self.total_count.max().item())
        if not bool(edunn.all(self.total_count == total_count)):
            raise NotImplementedError("Inhomogeneous total count not supported by `entropy`.")
        log_prob = self.log_prob(self.enumerate_support(False))
        return -(edunn.exp(log_prob) * log_prob).sum(0)

    def enumerate_support(self, expand: bool = True) -> edunn.Tensor:
        total_count = int(self.total_count.max().item())
        if not bool(edunn.all(self.total_count == total_count)):
            raise NotImplementedError("Inhomogeneous total count not supported by `enumerate_support`.")
        values = edunn.arange(1 + total_count, dtype=self._param.dtype, device=self._param.device)
        values = values.view((-1,) + (1,) * len(self._batch_shape))
        if expand:
            values = values.expand((-1,) + tuple(self._batch_shape))
        return values
