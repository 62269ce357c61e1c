"""``ExponentialFamily``: the base class of distributions whose density has the form
``p(x; theta) = exp(<t(x), theta> - F(theta) + k(x))``, as PyTorch's
``torch.distributions.ExponentialFamily``.

``theta`` are the natural parameters (``_natural_params``), ``F`` the log-normaliser
(``_log_normalizer``) and ``k`` the carrier measure (``E[k(x)]`` is ``_mean_carrier_measure``).
Because ``grad F(theta) = E[t(x)]``, the entropy and the KL divergence between two members of one
family are Bregman divergences of ``F`` (Nielsen and Nock, *Entropies and cross-entropies of
exponential families*):

    H(p)        = F(theta) - <theta, grad F(theta)> - E[k(x)]
    KL(p || q)  = F(theta_q) - F(theta_p) - <theta_q - theta_p, grad F(theta_p)>

``grad F`` comes from autograd (``create_graph=True``, so the result is itself differentiable in
the parameters). Families with a closed form override ``entropy``; the generic one is what
``kl_divergence`` falls back on for a pair of the same exponential family.
"""
from __future__ import annotations

import edunn
from .distribution import Distribution

__all__ = ["ExponentialFamily"]


class ExponentialFamily(Distribution):
    """Subclasses give ``_natural_params``, ``_log_normalizer(*natural_params)`` and
    ``_mean_carrier_measure``; ``entropy`` then follows from autograd."""

    @property
    def _natural_params(self) -> tuple:
        """The natural parameters ``theta``, a tuple of tensors."""
        raise NotImplementedError

    def _log_normalizer(self, *natural_params: edunn.Tensor) -> edunn.Tensor:
        """``F(theta)``, batched like the distribution."""
        raise NotImplementedError

    @property
    def _mean_carrier_measure(self) -> float:
        """``E[k(x)]`` under this distribution."""
        raise NotImplementedError

    def entropy(self) -> edunn.Tensor:
        """``F(theta) - <theta, grad F(theta)> - E[k(x)]`` with ``grad F`` from autograd."""
        result = -self._mean_carrier_measure
        nparams = [p.detach().requires_grad_() for p in self._natural_params]
        with edunn.enable_grad():
            lg_normal = self._log_normalizer(*nparams)
            gradients = edunn.autograd.grad(lg_normal.sum(), nparams, create_graph=True)
        result = result + lg_normal
        for nparam, g in zip(nparams, gradients):
            result = result - (nparam * g).reshape(tuple(self._batch_shape) + (-1,)).sum(-1)
        return result
