"""``TransformedDistribution``: a base distribution pushed through a chain of transforms, as
PyTorch's ``torch.distributions.TransformedDistribution``.

With ``X ~ base_distribution`` and ``Y = f(X)`` for ``f = transforms[-1] o ... o transforms[0]``:

* sampling draws ``x`` from the base and returns ``f(x)`` (reparameterised when the base is),
* ``log p_Y(y) = log p_X(f^{-1}(y)) - sum_i log |det J_{f_i}(x_i)|`` (change of variables),
* ``cdf``/``icdf`` go through the base's, flipped where the chain is decreasing.
"""
from __future__ import annotations

from typing import Any

import edunn
from . import constraints
from ._transform_base import ComposeTransform, Transform
from .distribution import Distribution, sum_rightmost
from .independent import Independent

__all__ = ["TransformedDistribution"]


class TransformedDistribution(Distribution):
    """``base_distribution`` through ``transforms`` (one ``Transform`` or a list). The base is
    expanded when the transforms broadcast it to a bigger shape, and wrapped in ``Independent``
    when the transforms act on more event dims than it has."""
    arg_constraints: dict = {}

    def __init__(self, base_distribution: Distribution, transforms: Transform | list[Transform],
                 validate_args: bool | None = None) -> None:
        if isinstance(transforms, Transform):
            self.transforms = [transforms]
        elif isinstance(transforms, list):
            if not all(isinstance(t, Transform) for t in transforms):
                raise ValueError("transforms must be a Transform or a list of Transforms")
            self.transforms = transforms
        else:
            raise ValueError(f"transforms must be a Transform or list, but was {transforms}")

        base_shape = edunn.Size(tuple(base_distribution.batch_shape) + tuple(base_distribution.event_shape))
        base_event_dim = len(base_distribution.event_shape)
        transform = ComposeTransform(self.transforms)
        if len(base_shape) < transform.domain.event_dim:
            raise ValueError(f"base_distribution needs to have shape with size at least "
                             f"{transform.domain.event_dim}, but got {base_shape}.")
        forward_shape = transform.forward_shape(base_shape)
        expanded_base_shape = transform.inverse_shape(forward_shape)
        if tuple(base_shape) != tuple(expanded_base_shape):
            base_batch_shape = tuple(expanded_base_shape)[:len(expanded_base_shape) - base_event_dim]
            base_distribution = base_distribution.expand(base_batch_shape)
        reinterpreted_batch_ndims = transform.domain.event_dim - base_event_dim
        if reinterpreted_batch_ndims > 0:
            base_distribution = Independent(base_distribution, reinterpreted_batch_ndims)
        self.base_dist = base_distribution

        # the event is as wide as the transforms couple, or as the base's event grown by them
        transform_change_in_event_dim = transform.codomain.event_dim - transform.domain.event_dim
        event_dim = max(transform.codomain.event_dim, base_event_dim + transform_change_in_event_dim)
        cut = len(forward_shape) - event_dim
        batch_shape = tuple(forward_shape)[:cut]
        event_shape = tuple(forward_shape)[cut:]
        super().__init__(batch_shape, event_shape, validate_args=validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "TransformedDistribution":
        new = self._get_checked_instance(TransformedDistribution, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        shape = edunn.Size(tuple(batch_shape) + tuple(self.event_shape))
        for t in reversed(self.transforms):
            shape = t.inverse_shape(shape)
        base_batch_shape = tuple(shape)[:len(shape) - len(self.base_dist.event_shape)]
        new.base_dist = self.base_dist.expand(base_batch_shape)
        new.transforms = self.transforms
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    @constraints.dependent_property(is_discrete=False)
    def support(self):
        if not self.transforms:
            return self.base_dist.support
        support = self.transforms[-1].codomain
        if len(self.event_shape) > support.event_dim:
            support = constraints.independent(support, len(self.event_shape) - support.event_dim)
        return support

    @property
    def has_rsample(self):
        return self.base_dist.has_rsample

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """A base sample through every transform, without a graph."""
        with edunn.no_grad():
            x = self.base_dist.sample(sample_shape)
            for transform in self.transforms:
                x = transform(x)
            return x

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """A reparameterised base sample through every transform (gradients flow to the base's
        parameters and to the transforms' tensors)."""
        x = self.base_dist.rsample(sample_shape)
        for transform in self.transforms:
            x = transform(x)
        return x

    def log_prob(self, value: edunn.Tensor) -> edunn.Tensor:
        """Walks the chain backwards from ``y = value``: ``x = t.inv(y)`` and subtracts
        ``log |det J_t(x)|`` (summed over the dims that are event dims here but batch dims of
        ``t``), then adds the base's ``log_prob`` at the start of the chain."""
        if self._validate_args:
            self._validate_sample(value)
        event_dim = len(self.event_shape)
        log_prob = 0.0
        y = value
        for transform in reversed(self.transforms):
            x = transform.inv(y)
            event_dim += transform.domain.event_dim - transform.codomain.event_dim
            log_prob = log_prob - sum_rightmost(transform.log_abs_det_jacobian(x, y),
                                                event_dim - transform.domain.event_dim)
            y = x
        return log_prob + sum_rightmost(self.base_dist.log_prob(y), event_dim - len(self.base_dist.event_shape))

    def _monotonize_cdf(self, value: edunn.Tensor) -> edunn.Tensor:
        """``1 - cdf`` where the chain is decreasing (the product of the signs is -1)."""
        sign = 1
        for transform in self.transforms:
            sign = sign * transform.sign
        if isinstance(sign, int) and sign == 1:
            return value
        return sign * (value - 0.5) + 0.5

    def cdf(self, value: edunn.Tensor) -> edunn.Tensor:
        for transform in self.transforms[::-1]:
            value = transform.inv(value)
        if self._validate_args:
            self.base_dist._validate_sample(value)
        value = self.base_dist.cdf(value)
        return self._monotonize_cdf(value)

    def icdf(self, value: edunn.Tensor) -> edunn.Tensor:
        value = self._monotonize_cdf(value)
        value = self.base_dist.icdf(value)
        for transform in self.transforms:
            value = transform(value)
        return value
