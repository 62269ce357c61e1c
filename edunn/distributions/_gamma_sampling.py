"""Gamma and Dirichlet sampling with reparameterised gradients, as PyTorch's ``torch._standard_gamma``,
``torch._standard_gamma_grad``, ``torch._sample_dirichlet`` and ``torch._dirichlet_grad``.

Sampling: Marsaglia and Tsang (2000). For ``alpha >= 1`` with ``d = alpha - 1/3`` and
``c = 1 / sqrt(9 d)``: draw ``x ~ N(0, 1)`` until ``y = 1 + c x > 0``, set ``v = y^3`` and accept
``d v`` when ``log(u) < x^2/2 + d (1 - v + log v)`` (a cheap squeeze ``u < 1 - 0.0331 x^4`` first).
``alpha < 1`` boosts: ``Gamma(alpha) = Gamma(alpha + 1) * U^(1/alpha)``. The draw is vectorised
over the whole array; each round re-draws only the elements still rejected (about 5% per round).

Gradients: a Gamma draw has no explicit ``x = f(alpha, noise)``, so PyTorch uses *implicit*
reparameterisation (Figurnov et al. 2018): holding the CDF ``F(x; alpha) = u`` fixed,
``dx/dalpha = -(dF/dalpha) / p(x; alpha)``. ``dF/dalpha`` has no closed form; ATen's
``standard_gamma_grad_one`` approximates the ratio with a series for small ``x``, Rice's saddle
point expansion for large ``alpha`` and a bivariate rational fit elsewhere -- ported here as array
code where every branch runs on every element and ``xp.where`` picks the one that applies.
A Dirichlet sample ``g_i / sum g`` gets its gradient from the Beta marginals
(``dirichlet_grad_one``). Everything is computed in float64 (PyTorch's accumulate type) and cast
back.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..ops.gamma import _digamma_array

__all__ = ["_dirichlet_grad", "_sample_dirichlet", "_standard_gamma", "_standard_gamma_grad"]

_F64 = backend.float64.np


def _no_second_derivative(name: str) -> NotImplementedError:
    return NotImplementedError(f"the derivative for '{name}' is not implemented.")


def _rng_of(array: Any):
    """The edunn default generator of the device that ``array`` lives on (so ``manual_seed`` holds)."""
    return backend.default_generator(backend.device_of(array)).rng


# ---------------------------------------------------------------------------------------- sampling
def _standard_gamma_array(xp: Any, alpha: Any, rng: Any) -> Any:
    """``Gamma(alpha, 1)`` draws for a float64 array ``alpha`` (Marsaglia-Tsang, vectorised)."""
    alpha = alpha.astype(_F64)
    flat = alpha.reshape(-1)
    out = xp.zeros(flat.shape, _F64)
    small = flat < 1
    boost = xp.ones(flat.shape, _F64)
    if bool(small.any()):
        u = rng.random(flat.shape, dtype=_F64)
        boost = xp.where(small, (1 - u) ** (1 / xp.where(small, flat, 1.0)), 1.0)
    a = xp.where(small, flat + 1, flat)
    d = a - 1.0 / 3.0
    c = 1.0 / xp.sqrt(9.0 * d)
    todo = xp.nonzero(~xp.isnan(a))[0]  # NaN concentrations stay NaN (no infinite loop)
    while todo.size:
        n = todo.size
        x = rng.standard_normal(n, dtype=_F64)
        y = 1.0 + c[todo] * x
        u = 1.0 - rng.random(n, dtype=_F64)
        v = y * y * y
        xx = x * x
        dv = d[todo] * v
        log_v = xp.log(xp.where(y > 0, v, 1.0))
        accept = (y > 0) & ((u < 1.0 - 0.0331 * xx * xx)
                            | (xp.log(u) < 0.5 * xx + d[todo] * (1.0 - v + log_v)))
        out[todo[accept]] = dv[accept]
        todo = todo[~accept]
    out = xp.where(xp.isnan(a), xp.nan, out * boost)
    out = xp.where(flat == 0, 0.0, out)
    return out.reshape(alpha.shape)


class _StandardGamma(Function):
    """``x ~ Gamma(alpha, 1)``; dx/dalpha = ``_standard_gamma_grad(alpha, x)`` (implicit
    reparameterisation)."""

    @staticmethod
    def forward(ctx, alpha):
        a = alpha._data
        xp = backend.array_module(a)
        with backend.numpy.errstate(all="ignore"), backend.device_context(backend.device_of(a)):
            x = _standard_gamma_array(xp, a, _rng_of(a)).astype(a.dtype)
        # as ATen: a draw that rounds to 0 becomes the smallest normal number, so log(x) is finite
        x = xp.maximum(x, backend.numpy.finfo(a.dtype).tiny).astype(a.dtype)
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        alpha, x = ctx.saved_tensors
        return grad * _StandardGammaGrad.apply(alpha, x)


def _gamma_grad_array(xp: Any, alpha: Any, x: Any) -> Any:
    """ATen's ``standard_gamma_grad_one``: ``dx/dalpha`` for ``x ~ Gamma(alpha, 1)``, elementwise."""
    alpha, x = xp.broadcast_arrays(alpha.astype(_F64), x.astype(_F64))
    # 1. x < 0.8: a Taylor series of the lower incomplete gamma function and its alpha-derivative
    numer = xp.ones_like(x)
    denom = alpha.copy()
    series1 = numer / denom
    series2 = numer / (denom * denom)
    for i in range(1, 6):
        numer = numer * (-x / i)
        denom = denom + 1
        series1 = series1 + numer / denom
        series2 = series2 + numer / (denom * denom)
    pow_x_alpha = x ** alpha
    gamma_pdf = x ** (alpha - 1) * xp.exp(-x)
    gamma_cdf = pow_x_alpha * series1
    gamma_cdf_alpha = (xp.log(x) - _digamma_array(xp, alpha)) * gamma_cdf - pow_x_alpha * series2
    small_x = -gamma_cdf_alpha / gamma_pdf
    small_x = xp.where(xp.isnan(small_x), 0.0, small_x)
    # 2. alpha > 8: Rice's saddle point expansion (a polynomial near the mode x ~ alpha)
    numer_1 = 1 + 24 * alpha * (1 + 12 * alpha)
    numer_2 = (1440 * (alpha * alpha) + 6 * x * (53 - 120 * x) - 65 * x * x / alpha
               + alpha * (107 + 3600 * x))
    near_mode = numer_1 * numer_2 / (1244160 * (alpha * alpha) * (alpha * alpha))
    root = xp.sqrt(8 * alpha)
    term2 = root / (alpha - x)
    term3 = (x - alpha - alpha * xp.log(x / alpha)) ** -1.5
    term23 = xp.where(x < alpha, term2 - term3, term2 + term3)
    term1 = xp.log(x / alpha) * term23 - xp.sqrt(2 / alpha) * (alpha + x) / ((alpha - x) * (alpha - x))
    stirling = 1 + 1 / (12 * alpha) * (1 + 1 / (24 * alpha))
    rice = -stirling * (x * term1) / root
    large_alpha = xp.where((0.9 * alpha <= x) & (x <= 1.1 * alpha), near_mode, rice)
    # 3. otherwise: a bivariate rational approximation in u = log(x / alpha), v = log(alpha)
    u = xp.log(x / alpha)
    v = xp.log(alpha)
    cv = [_UV[0][i] + u * (_UV[1][i] + u * _UV[2][i]) for i in range(8)]
    p = cv[0] + v * (cv[1] + v * (cv[2] + v * cv[3]))
    q = cv[4] + v * (cv[5] + v * (cv[6] + v * cv[7]))
    rational = xp.exp(p / q)
    return xp.where(x < 0.8, small_x, xp.where(alpha > 8.0, large_alpha, rational))


_UV = [[0.16009398, -0.094634809, 0.025146376, -0.0030648343, 1, 0.32668115, 0.10406089, 0.0014179084],
       [0.53487893, 0.1298071, 0.065735949, -0.0015649758, 0.16639465, 0.020070113, -0.0035938915,
        -0.00058392623],
       [0.040121004, -0.0065914022, -0.0026286047, -0.0013441777, 0.017050642, -0.0021309326,
        0.00085092367, -1.5247877e-07]]


class _StandardGammaGrad(Function):
    """``torch._standard_gamma_grad(alpha, x)``; like PyTorch it has no derivative of its own."""

    @staticmethod
    def forward(ctx, alpha, x):
        a = alpha._data
        with backend.numpy.errstate(all="ignore"):
            return _gamma_grad_array(backend.array_module(a), a, x._data).astype(a.dtype)

    @staticmethod
    def backward(ctx, grad):
        raise _no_second_derivative("_standard_gamma_grad")


# ---------------------------------------------------------------------------------------- Dirichlet
def _beta_grad_alpha_small(xp, x, alpha, beta):
    """dx/dalpha of ``x ~ Beta(alpha, beta)`` near x = 0 (Taylor series)."""
    factor = _digamma_array(xp, alpha) - _digamma_array(xp, alpha + beta) - xp.log(x)
    numer = xp.ones_like(x)
    series = numer / alpha * (factor + 1 / alpha)
    for i in range(1, 11):
        numer = numer * ((i - beta) * x / i)
        denom = alpha + i
        series = series + numer / denom * (factor + 1 / denom)
    result = x * (1 - x) ** -beta * series
    return xp.where(xp.isnan(result), 0.0, result)


def _beta_grad_beta_small(xp, x, alpha, beta):
    """dx/dbeta of ``x ~ Beta(alpha, beta)`` near x = 0 (Taylor series)."""
    factor = _digamma_array(xp, alpha + beta) - _digamma_array(xp, beta)
    numer, betas, dbetas = xp.ones_like(x), xp.ones_like(x), xp.zeros_like(x)
    series = factor / alpha
    for i in range(1, 9):
        numer = numer * (-x / i)
        dbetas = dbetas * (beta - i) + betas
        betas = betas * (beta - i)
        series = series + numer / (alpha + i) * (dbetas + factor * betas)
    result = -(1 - x) ** (1 - beta) * series
    return xp.where(xp.isnan(result), 0.0, result)


def _beta_grad_alpha_mid(xp, x, alpha, beta):
    """dx/dalpha for large alpha and beta: Rice's saddle point expansion."""
    total = alpha + beta
    mean = alpha / total
    std = xp.sqrt(alpha * beta / (total + 1)) / total
    poly = 47 * x * (beta * beta) * (beta * beta) + alpha * (
        (43 + 20 * (16 + 27 * beta) * x) * (beta * beta) * beta + alpha * (
            3 * (59 + 180 * beta - 90 * x) * (beta * beta) + alpha * (
                (453 + 1620 * beta * (1 - x) - 455 * x) * beta + alpha * (8 * (1 - x) * (135 * beta - 11)))))
    prefactor_num = (1 + 12 * alpha) * (1 + 12 * beta) / (total * total)
    prefactor_den = 12960 * alpha * alpha * alpha * beta * beta * (1 + 12 * total)
    near_mean = prefactor_num / (1 - x) * poly / prefactor_den
    prefactor = -x / xp.sqrt(2 * alpha * beta / total)
    stirling = ((1 + 1 / (12 * alpha) + 1 / (288 * alpha * alpha))
                * (1 + 1 / (12 * beta) + 1 / (288 * beta * beta))
                / (1 + 1 / (12 * total) + 1 / (288 * total * total)))
    term1_num = 2 * (alpha * alpha) * (x - 1) + alpha * beta * (x - 1) - x * (beta * beta)
    axbx = alpha * (x - 1) + beta * x
    term1 = term1_num / (xp.sqrt(2 * alpha / beta) * total ** 1.5 * axbx * axbx)
    term2 = 0.5 * xp.log(alpha / (total * x))
    term3 = xp.sqrt(8 * alpha * beta / total) / (beta * x + alpha * (x - 1))
    term4 = (beta * xp.log(beta / (total * (1 - x))) + alpha * xp.log(alpha / (total * x))) ** -1.5
    term1234 = term1 + term2 * (term3 + xp.where(x < mean, term4, -term4))
    far = stirling * prefactor * term1234
    return xp.where((mean - 0.1 * std <= x) & (x <= mean + 0.1 * std), near_mean, far)


_C = [[[[1.003668233, -0.01061107488, -0.0657888334, 0.01201642863],
        [0.6336835991, -0.3557432599, 0.05486251648, -0.001465281033],
        [-0.03276231906, 0.004474107445, 0.002429354597, -0.0001557569013]],
       [[0.221950385, -0.3187676331, 0.01799915743, 0.01074823814],
        [-0.2951249643, 0.06219954479, 0.01535556598, 0.001550077057],
        [0.02155310298, 0.004170831599, 0.001292462449, 6.976601077e-05]],
       [[-0.05980841433, 0.008441916499, 0.01085618172, 0.002319392565],
        [0.02911413504, 0.01400243777, -0.002721828457, 0.000751041181],
        [0.005900514878, -0.001936558688, -9.495446725e-06, 5.385558597e-05]]],
      [[[1, -0.02924021934, -0.04438342661, 0.007285809825],
        [0.6357567472, -0.3473456711, 0.05454656494, -0.002407477521],
        [-0.03301322327, 0.004845219414, 0.00231480583, -0.0002307248149]],
       [[0.5925320577, -0.1757678135, 0.01505928619, 0.000564515273],
        [0.1014815858, -0.06589186703, 0.01272886114, -0.0007316646956],
        [-0.007258481865, 0.001096195486, 0.0003934994223, -4.12701925e-05]],
       [[0.06469649321, -0.0236701437, 0.002902096474, -5.896963079e-05],
        [0.001925008108, -0.002869809258, 0.0008000589141, -6.063713228e-05],
        [-0.0003477407336, 6.959756487e-05, 1.097287507e-05, -1.650964693e-06]]]]


def _dirichlet_grad_array(xp: Any, x: Any, alpha: Any, total: Any) -> Any:
    """ATen's ``dirichlet_grad_one``: ``-(dF/dalpha) / p(x) / (1 - x)`` for ``x ~ Beta(alpha,
    total - alpha)``, elementwise."""
    x, alpha, total = xp.broadcast_arrays(x.astype(_F64), alpha.astype(_F64), total.astype(_F64))
    beta = total - alpha
    boundary = total * x * (1 - x)
    near_0 = _beta_grad_alpha_small(xp, x, alpha, beta)
    near_1 = -_beta_grad_beta_small(xp, 1 - x, beta, alpha)
    mid = _beta_grad_alpha_mid(xp, x, alpha, beta)
    # a rational correction to an analytic approximation
    u = xp.log(x)
    a = xp.log(alpha) - u
    b = xp.log(total) - a
    pow_u, pow_a = [1.0, u, u * u], [1.0, a, a * a]
    p = q = 0.0
    for i in range(3):
        for j in range(3):
            ua = pow_u[i] * pow_a[j]
            c0, c1 = _C[0][i][j], _C[1][i][j]
            p = p + ua * (c0[0] + b * (c0[1] + b * (c0[2] + b * c0[3])))
            q = q + ua * (c1[0] + b * (c1[1] + b * (c1[2] + b * c1[3])))
    approx = x * (_digamma_array(xp, total) - _digamma_array(xp, alpha)) / beta
    rational = p / q * approx
    return xp.where((x <= 0.5) & (boundary < 2.5), near_0,
                    xp.where((x >= 0.5) & (boundary < 0.75), near_1,
                             xp.where((alpha > 6) & (beta > 6), mid, rational)))


class _DirichletGrad(Function):
    """``torch._dirichlet_grad(x, alpha, total)``; no derivative of its own."""

    @staticmethod
    def forward(ctx, x, alpha, total):
        xd = x._data
        with backend.numpy.errstate(all="ignore"):
            return _dirichlet_grad_array(backend.array_module(xd), xd, alpha._data, total._data).astype(xd.dtype)

    @staticmethod
    def backward(ctx, grad):
        raise _no_second_derivative("_dirichlet_grad")


class _Dirichlet(Function):
    """``x = g / sum(g)`` with ``g_i ~ Gamma(alpha_i)``; the backward of PyTorch's
    ``dirichlet.py``: ``grad_alpha = _dirichlet_grad(x, alpha, sum alpha) * (g - sum(x g))``."""

    @staticmethod
    def forward(ctx, alpha):
        a = alpha._data
        xp = backend.array_module(a)
        with backend.numpy.errstate(all="ignore"), backend.device_context(backend.device_of(a)):
            g = _standard_gamma_array(xp, a, _rng_of(a))
            finfo = backend.numpy.finfo(a.dtype)
            g = xp.maximum(g, finfo.tiny)
            x = g / g.sum(-1, keepdims=True)
            x = xp.clip(x, finfo.tiny, 1 - finfo.eps).astype(a.dtype)
        ctx.save_for_backward(alpha, x)
        return x

    @staticmethod
    def backward(ctx, grad):
        alpha, x = ctx.saved_tensors
        total = alpha.sum(-1, True).expand_as(alpha)
        dx = _DirichletGrad.apply(x.detach(), alpha.detach(), total.detach())
        return dx * (grad - (x * grad).sum(-1, True))


def _standard_gamma(concentration: Any) -> Any:
    """``Gamma(concentration, 1)`` samples, differentiable in ``concentration``."""
    return _StandardGamma.apply(concentration)


def _standard_gamma_grad(self: Any, output: Any) -> Any:
    """``d output / d self`` for ``output ~ Gamma(self, 1)`` (PyTorch's argument names)."""
    return _StandardGammaGrad.apply(self, output)


def _sample_dirichlet(concentration: Any) -> Any:
    """``Dirichlet(concentration)`` samples along the last dim, differentiable in ``concentration``."""
    return _Dirichlet.apply(concentration)


def _dirichlet_grad(x: Any, alpha: Any, total: Any) -> Any:
    """The reparameterised gradient of Beta(alpha, total - alpha) draws ``x`` with respect to alpha."""
    return _DirichletGrad.apply(x, alpha, total)

