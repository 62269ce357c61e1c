"""``edunn.distributions``: probability distributions with sampling, ``log_prob`` and closed-form
KL divergences, as PyTorch's ``torch.distributions``.

Every distribution has ``batch_shape`` and ``event_shape``; ``rsample`` (where ``has_rsample``)
is reparameterised so gradients flow to the parameters, and ``log_prob``, ``entropy`` and
``kl_divergence`` are built from differentiable edunn ops.
"""
from . import constraints
from .bernoulli import Bernoulli, Binomial, Geometric
from .categorical import Categorical, OneHotCategorical
from .distribution import Distribution
from .independent import Independent
from .kl import kl_divergence, register_kl
from .multivariate_normal import MultivariateNormal
from .normal import Cauchy, Laplace, Normal
from .poisson import Poisson
from .uniform import Exponential, Uniform

__all__ = ["Bernoulli", "Binomial", "Categorical", "Cauchy", "Distribution", "Exponential",
           "Geometric", "Independent", "Laplace", "MultivariateNormal", "Normal", "OneHotCategorical",
           "Poisson", "Uniform", "constraints", "kl_divergence", "register_kl"]
from .exp_family import ExponentialFamily  # noqa: E402
from .gamma import Chi2, Gamma  # noqa: E402
from .beta import Beta, Dirichlet  # noqa: E402
from .student_t import FisherSnedecor, StudentT  # noqa: E402
from .multinomial import Multinomial, NegativeBinomial  # noqa: E402
from .mixture_same_family import MixtureSameFamily  # noqa: E402
from .lowrank_multivariate_normal import LowRankMultivariateNormal  # noqa: E402
from .von_mises import VonMises  # noqa: E402
from .wishart import Wishart  # noqa: E402
from .lkj_cholesky import LKJCholesky  # noqa: E402
__all__ += ["Beta", "Chi2", "Dirichlet", "ExponentialFamily", "FisherSnedecor", "Gamma", "LKJCholesky",  # noqa: E402
            "LowRankMultivariateNormal", "MixtureSameFamily", "Multinomial", "NegativeBinomial", "StudentT",
            "VonMises", "Wishart"]
from . import transforms  # noqa: E402
from .constraint_registry import biject_to, transform_to  # noqa: E402
from .transforms import *  # noqa: E402,F401,F403
from .transformed_distribution import TransformedDistribution  # noqa: E402
from .transformed_families import (Gumbel, HalfCauchy, HalfNormal, Kumaraswamy, LogNormal,  # noqa: E402
                                   LogisticNormal, Pareto, Weibull)
from .relaxed import OneHotCategoricalStraightThrough, RelaxedBernoulli, RelaxedOneHotCategorical  # noqa: E402
from .continuous_bernoulli import ContinuousBernoulli  # noqa: E402
from .generalized_pareto import GeneralizedPareto  # noqa: E402
from . import kl_transformed  # noqa: E402,F401  (registers the KL pairs of the families above)
__all__ += ["ContinuousBernoulli", "GeneralizedPareto", "Gumbel", "HalfCauchy", "HalfNormal",  # noqa: E402
            "Kumaraswamy", "LogNormal", "LogisticNormal", "OneHotCategoricalStraightThrough", "Pareto",
            "RelaxedBernoulli", "RelaxedOneHotCategorical", "TransformedDistribution", "Weibull",
            "biject_to", "transform_to"] + transforms.__all__
from .inverse_gamma import InverseGamma  # noqa: E402
__all__ += ["InverseGamma"]  # noqa: E402
