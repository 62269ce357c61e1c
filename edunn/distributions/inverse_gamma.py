"""``InverseGamma(concentration, rate)``: the distribution of ``1 / X`` for ``X ~ Gamma(concentration,
rate)``, built as PyTorch builds it: ``TransformedDistribution(Gamma(alpha, beta), PowerTransform(-1))``.

``log p(y) = alpha log(beta) - lgamma(alpha) - (alpha + 1) log(y) - beta / y`` follows from the
Gamma density and the change of variables ``log |dx/dy| = -2 log(y)``; ``rsample`` inverts a
reparameterised Gamma draw, so it is differentiable in both parameters.
"""
from __future__ import annotations

import math
from typing import Any

import edunn
from . import constraints
from .gamma import Gamma
from .transformed_distribution import TransformedDistribution
from .transforms import PowerTransform

__all__ = ["InverseGamma"]


class InverseGamma(TransformedDistribution):
    """Mean ``beta / (alpha - 1)`` for ``alpha > 1`` (else inf), mode ``beta / (alpha + 1)``,
    variance ``beta^2 / ((alpha - 1)^2 (alpha - 2))`` for ``alpha > 2`` (else inf)."""
    arg_constraints = {"concentration": constraints.positive, "rate": constraints.positive}
    support = constraints.positive
    has_rsample = True

    def __init__(self, concentration: Any, rate: Any, validate_args: bool | None = None):
        base_dist = Gamma(concentration, rate, validate_args=validate_args)
        neg_one = -base_dist.rate.new_ones(())
        super().__init__(base_dist, PowerTransform(neg_one), validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "InverseGamma":
        new = self._get_checked_instance(InverseGamma, _instance)
        return super().expand(batch_shape, _instance=new)

    @property
    def concentration(self):
        return self.base_dist.concentration

    @property
    def rate(self):
        return self.base_dist.rate

    @property
    def mean(self):
        result = self.rate / (self.concentration - 1)
        return edunn.where(self.concentration > 1, result, math.inf)

    @property
    def mode(self):
        return self.rate / (self.concentration + 1)

    @property
    def variance(self):
        result = self.rate.square() / ((self.concentration - 1).square() * (self.concentration - 2))
        return edunn.where(self.concentration > 2, result, math.inf)

    def entropy(self):
        return (self.concentration + self.rate.log() + self.concentration.lgamma()
                - (1 + self.concentration) * self.concentration.digamma())
