"""``LKJCholesky(dim, concentration)``: the LKJ distribution over Cholesky factors ``L`` of
``dim x dim`` correlation matrices ``L L^T``, ``p(L) ~ prod_i L_ii^(dim - i + 2 (eta - 1))``
(``eta = concentration``; ``eta = 1`` is uniform over correlation matrices).

Sampling is PyTorch's onion method (Lewandowski, Kurowicka and Joe 2009, section 3.2): row ``i`` of
``L`` is ``sqrt(y_i) u_i`` with ``y_i ~ Beta(i/2, eta + (dim - 2 - i)/2)`` and ``u_i`` uniform on the
unit sphere of the first ``i`` coordinates; the diagonal completes each row to unit norm.
"""
from __future__ import annotations

import math
from typing import Any

import edunn
from . import constraints
from .beta import Beta
from .distribution import Distribution, broadcast_all

__all__ = ["LKJCholesky"]


class LKJCholesky(Distribution):
    """``event_shape = (dim, dim)``; ``batch_shape`` is that of ``concentration``."""
    arg_constraints = {"concentration": constraints.positive}
    support = constraints.corr_cholesky

    def __init__(self, dim: int, concentration: Any = 1.0, validate_args: bool | None = None):
        if dim < 2:
            raise ValueError(f"Expected dim to be an integer greater than or equal to 2. Found dim={dim}.")
        self.dim = dim
        (self.concentration,) = broadcast_all(concentration)
        batch_shape = self.concentration.size()
        event_shape = edunn.Size((dim, dim))
        # the Beta parameters of the onion method, row by row
        marginal_conc = self.concentration + 0.5 * (self.dim - 2)
        offset = edunn.arange(self.dim - 1, dtype=self.concentration.dtype, device=self.concentration.device)
        offset = edunn.cat([offset.new_zeros((1,)), offset])
        beta_conc1 = offset + 0.5
        beta_conc0 = marginal_conc.unsqueeze(-1) - 0.5 * offset
        self._beta = Beta(beta_conc1, beta_conc0)
        super().__init__(batch_shape, event_shape, validate_args)

    def expand(self, batch_shape: Any, _instance: Any = None) -> "LKJCholesky":
        new = self._get_checked_instance(LKJCholesky, _instance)
        batch_shape = edunn.Size(tuple(batch_shape))
        new.dim = self.dim
        new.concentration = self.concentration.expand(batch_shape)
        new._beta = self._beta.expand(tuple(batch_shape) + (self.dim,))
        Distribution.__init__(new, batch_shape, self.event_shape, validate_args=False)
        new._validate_args = self._validate_args
        return new

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        with edunn.no_grad():
            y = self._beta.sample(sample_shape).unsqueeze(-1)
            u_normal = edunn.randn(self._extended_shape(sample_shape), dtype=y.dtype, device=y.device).tril(-1)
            norm = u_normal.norm(dim=-1, keepdim=True)
            u_hypersphere = u_normal / edunn.where(norm == 0, 1.0, norm).to(norm.dtype)  # row 0 is all zero
            w = edunn.sqrt(y) * u_hypersphere
            eps = edunn.finfo(w.dtype).tiny
            diag_elems = edunn.clamp(1 - edunn.sum(w ** 2, dim=-1), min=eps).sqrt()
            return w + edunn.diag_embed(diag_elems)

    def log_prob(self, value):
        """``sum_i (dim - i + 2 (eta - 1)) log L_ii`` minus the log normaliser
        ``(dim-1)/2 log(pi) + mvlgamma(alpha - 1/2, dim - 1) - (dim - 1) lgamma(alpha)``,
        ``alpha = eta + (dim - 1)/2``."""
        if self._validate_args:
            self._validate_sample(value)
        diag_elems = value.diagonal(dim1=-1, dim2=-2)[..., 1:]
        order = edunn.arange(2, self.dim + 1, device=self.concentration.device)
        order = 2 * (self.concentration - 1).unsqueeze(-1) + self.dim - order
        unnormalized_log_pdf = edunn.sum(order * diag_elems.log(), dim=-1)
        dm1 = self.dim - 1
        alpha = self.concentration + 0.5 * dm1
        denominator = edunn.lgamma(alpha) * dm1
        numerator = edunn.mvlgamma(alpha - 0.5, dm1)
        pi_constant = 0.5 * dm1 * math.log(math.pi)
        normalize_term = pi_constant + numerator - denominator
        return unnormalized_log_pdf - normalize_term
