"""``edunn.special``: PyTorch's ``torch.special`` namespace.

The functions live with their families in ``edunn/ops`` (``gamma.py``, ``normal.py``,
``bessel.py``, ``polynomials.py``, and the error function and friends in ``unary.py``); each of
those modules lists in ``__special__`` the ``torch.special`` names it provides, and this module
gathers them, together with the ops PyTorch also re-exports here under their own names.
"""
from __future__ import annotations

from .ops import bessel as _bessel, gamma as _gamma, normal as _normal, polynomials as _polynomials
from .ops.elementwise import (erf, erfc, erfinv, exp2, expm1, log1p, logit, round, sinc,  # noqa: F401
                              sigmoid as expit, xlogy)
from .ops.reduction import logsumexp  # noqa: F401
from .ops.softmax import log_softmax, softmax  # noqa: F401

_FAMILIES = (_gamma, _normal, _bessel, _polynomials)
for _module in _FAMILIES:
    globals().update({_name: getattr(_module, _name) for _name in _module.__special__})

__all__ = sorted(['erf', 'erfc', 'erfinv', 'exp2', 'expit', 'expm1', 'log1p', 'logit', 'round',
                  'sinc', 'xlogy', 'logsumexp', 'log_softmax', 'softmax',
                  *(name for module in _FAMILIES for name in module.__special__)])
del _module
