"""Classical orthogonal polynomials evaluated by their three-term recurrences: Chebyshev (four
kinds, plain and shifted), Hermite (physicists' and probabilists'), Laguerre and Legendre
(lesson 01's special functions).

Every polynomial here is the same few facts, so one driver, :func:`_evaluate`, does the work:

* ``P_0 = 1`` and ``P_1(x)``,
* the step ``P_{k+1} = step(k, x, P_k, P_{k-1})``,
* the values PyTorch returns before it runs the recurrence: 0 for ``n < 0``, exact values at the
  ends ``x = +-1`` of the Chebyshev and Legendre polynomials, the trigonometric closed forms that
  the Chebyshev polynomials use for large ``n`` inside ``(-1, 1)``, and so on.

Semantics are PyTorch's (``aten/src/ATen/native/Math.h``, ``*_polynomial_*_forward``): ``input``
and ``n`` are tensors or Python numbers (at least one a tensor) and broadcast together; both are
cast to the promoted floating dtype (integer operands give the default float dtype), then ``n``
is truncated to an integer, so ``n = 2.9`` means 2 and ``n = -0.5`` means 0; a NaN, infinite or
out-of-range ``n`` counts as negative (what x86's conversion gives PyTorch's CPU kernel).
float16 and bfloat16 are refused, as PyTorch refuses them.

The recurrence runs over the whole array at once, up to the largest ``n`` among the elements
that need it; each element's value is taken, by a mask, at the step that reaches its own ``n``.  When ``n`` is a
tensor, that largest ``n`` is read from its device once (one explicit transfer, and a GPU
synchronisation): a loop's length must be known on the host, and PyTorch's kernel, which loops
per element, needs no such read.  When ``n`` is a Python number nothing is read, unless it is
above a Chebyshev polynomial's trigonometric threshold, where one read tells whether any element
lies outside ``(-1, 1)`` and needs the recurrence at all.  Each loop step is a few whole-array
operations, so a huge ``n`` (10^8) that PyTorch's C loop handles in a second is out of reach.

Not differentiable: PyTorch marks both inputs ``non_differentiable``, so the result never
requires grad and ``backward()`` through it raises "element 0 of tensors does not require grad
and does not have a grad_fn", here as there.

``__special__`` holds the names of ``torch.special`` this module provides (``edunn.special``
collects them); PyTorch has none of them at the top level.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._out import write_out
from .elementwise import _apply, _as_floats, _binary, _xp

__all__: list = []
__special__ = ['chebyshev_polynomial_t', 'chebyshev_polynomial_u', 'chebyshev_polynomial_v',
               'chebyshev_polynomial_w', 'shifted_chebyshev_polynomial_t',
               'shifted_chebyshev_polynomial_u', 'shifted_chebyshev_polynomial_v',
               'shifted_chebyshev_polynomial_w', 'hermite_polynomial_h', 'hermite_polynomial_he',
               'laguerre_polynomial_l', 'legendre_polynomial_p']

_INT64_LIMIT = 2.0 ** 63


class _Polynomial(Function):
    """``y = P_n(x)`` for one family, described by its class attributes:

    * ``p1(x)``: ``P_1``;  ``step(k, x, p, q)``: ``P_{k+1}`` from ``q = P_k`` and ``p = P_{k-1}``;
    * ``special(xp, x, k, nf)``: the ``(mask, value)`` rules PyTorch checks before the recurrence
      (``k``: n as int64, ``nf``: n as the result's float dtype);
    * ``trig_after``: above this ``n``, ``|x| < 1`` takes a closed form and not the recurrence;
    * ``nan_after``: above this ``n`` (by dtype) the result is NaN (Hermite);
    * ``shifted``: evaluate at ``2x - 1`` (the shifted Chebyshev polynomials on ``[0, 1]``).
    """
    torch_name = ""
    trig_after = None
    nan_after: dict = {}
    shifted = False

    @classmethod
    def forward(cls, ctx, input, n):
        xd, nd = _as_floats(*_binary(input, n))
        arr = xd if hasattr(xd, "dtype") else nd
        if arr.dtype in (backend.float16.np, backend.bfloat16.np):
            raise RuntimeError(f'"{cls.torch_name}_{backend.device_of(arr).type}" not implemented '
                               f"for '{backend.dtype_of(arr).scalar_name}'")
        with backend.numpy.errstate(all="ignore"):  # overflow to inf and NaN, silently as PyTorch
            return _evaluate(cls, _xp(arr), xd, nd, arr.dtype)

    @classmethod
    def special(cls, xp: Any, x: Any, k: Any, nf: Any) -> list:
        return []


def _evaluate(cls: type, xp: Any, xd: Any, nd: Any, dtype: Any) -> Any:
    """``P_n(x)`` over the broadcast arrays ``xd`` and ``nd``: the recurrence driver shared by
    every polynomial of this module."""
    host_k = None
    if not hasattr(nd, "dtype"):  # a Python number: cast and truncate it on the host
        host_k = int(_truncate(backend.numpy, backend.numpy.asarray(nd, dtype=dtype)))
    x = xp.asarray(xd, dtype=dtype)
    if cls.shifted:
        x = x + x - 1
    x, nf = xp.broadcast_arrays(x, xp.asarray(nd, dtype=dtype))
    k = _truncate(xp, nf)
    nf = k.astype(dtype)  # n as PyTorch's formulas use it: the truncated integer, in the float dtype
    limit = cls.nan_after.get(backend.dtype_of(x).name)
    rules = cls.special(xp, x, k, nf)
    if limit is not None:
        rules.append((k > limit, float("nan")))
    # How many steps: with a Python n, n itself, known on the host -- unless a closed form takes
    # over inside (-1, 1) for n that large; then one read tells whether any element still needs
    # the recurrence.  With a tensor n, one read of the largest n among the elements that need
    # it (a GPU synchronisation; PyTorch's kernel loops per element and needs none).
    masked = host_k is None
    if masked or (cls.trig_after is not None and host_k > cls.trig_after):
        handled = k < 2
        for mask, _ in rules:
            handled = handled | mask
        steps = int(xp.max(xp.where(handled, 0, k))) if k.size else 0
    else:
        steps = host_k if limit is None or host_k <= limit else 0
    p, q = xp.ones_like(x), cls.p1(x)
    y = q
    for j in range(1, steps):  # q = P_j, p = P_{j-1}  ->  q = P_{j+1}
        p, q = q, cls.step(j, x, p, q)
        # each element keeps P_n at its own n (the later steps, which may overflow, are unused)
        y = xp.where(k == j + 1, q, y) if masked else q
    y = xp.where(k == 0, 1, y)
    for mask, value in reversed(rules):  # the first rule wins, as PyTorch checks it first
        y = xp.where(mask, value, y)
    return xp.where(k < 0, 0, y).astype(dtype, copy=False)


def _truncate(xp: Any, nf: Any) -> Any:
    """``static_cast<int64_t>(n)``: towards zero; NaN, infinities and values beyond int64 give a
    negative number (x86 gives INT64_MIN), so they count as ``n < 0``."""
    ok = xp.isfinite(nf) & (xp.abs(nf) < _INT64_LIMIT)
    return xp.where(ok, nf, -1).astype(backend.int64.np)


# ---------------------------------------------------------------------------------------------
# Chebyshev polynomials: one recurrence, four starting points
# ---------------------------------------------------------------------------------------------
class _Chebyshev(_Polynomial):
    """``P_{k+1}(x) = 2x P_k(x) - P_{k-1}(x)``, ``P_0 = 1``.  At ``x = +-1`` the exact values
    ``at_one(n)`` and ``(-1)^n at_minus_one(n)``; for ``|x| < 1`` and ``n > trig_after`` the closed
    form in ``theta = acos x``."""
    trig_after = 8

    @staticmethod
    def step(k, x, p, q):
        return (x + x) * q - p

    @classmethod
    def special(cls, xp, x, k, nf):
        theta = xp.arccos(x)
        return [(xp.abs(x) == 1, _end_value(xp, x, k, cls.at_one(nf), cls.at_minus_one(nf))),
                ((k > cls.trig_after) & (xp.abs(x) < 1), cls.closed_form(xp, x, k, nf, theta))]


def _end_value(xp: Any, x: Any, k: Any, at_one: Any, at_minus_one: Any) -> Any:
    """``at_one`` where ``x > 0``, else ``(-1)^n at_minus_one``."""
    return xp.where(x > 0, at_one, _alternating(xp, k, at_minus_one))


def _alternating(xp: Any, k: Any, magnitude: Any) -> Any:
    """``(-1)^n magnitude``."""
    return xp.where(k % 2 == 0, magnitude, -magnitude)


class ChebyshevT(_Chebyshev):
    r"""First kind: ``T_0 = 1``, ``T_1 = x``, ``T_{k+1} = 2x T_k - T_{k-1}``;
    ``T_n(x) = cos(n acos x)`` for ``|x| < 1``, used when ``n > 6``;  ``T_n(1) = 1``,
    ``T_n(-1) = (-1)^n``."""
    torch_name, trig_after = "chebyshev_polynomial_t", 6
    p1 = staticmethod(lambda x: x)
    at_one = at_minus_one = staticmethod(lambda n: 1.0)

    @staticmethod
    def closed_form(xp, x, k, n, theta):
        return xp.cos(n * theta)


class ChebyshevU(_Chebyshev):
    r"""Second kind: ``U_0 = 1``, ``U_1 = 2x``, ``U_{k+1} = 2x U_k - U_{k-1}``;
    ``U_n(x) = sin((n+1) theta) / sin theta`` with ``theta = acos x``, used when ``n > 8``;
    ``U_n(1) = n + 1``, ``U_n(-1) = (-1)^n (n + 1)``."""
    torch_name = "chebyshev_polynomial_u"
    p1 = staticmethod(lambda x: x + x)
    at_one = at_minus_one = staticmethod(lambda n: n + 1)

    @staticmethod
    def closed_form(xp, x, k, n, theta):
        s = xp.sin(theta)
        # PyTorch's guard for sin(theta) == 0: the limit (n+1) cos((n+1) theta) / x
        return xp.where(s != 0, xp.sin((n + 1) * theta) / s, (n + 1) * xp.cos((n + 1) * theta) / x)


class ChebyshevV(_Chebyshev):
    r"""Third kind: ``V_0 = 1``, ``V_1 = 2x - 1``, ``V_{k+1} = 2x V_k - V_{k-1}``;
    ``V_n(x) = cos((n + 1/2) theta) / cos(theta / 2)``, used when ``n > 8``;  ``V_n(1) = 1``,
    ``V_n(-1) = (-1)^n (2n + 1)``."""
    torch_name = "chebyshev_polynomial_v"
    p1 = staticmethod(lambda x: x + x - 1)
    at_one = staticmethod(lambda n: 1.0)
    at_minus_one = staticmethod(lambda n: n + n + 1)

    @classmethod
    def closed_form(cls, xp, x, k, n, theta):
        # sin(theta / 2) rounds to 1 next to x = -1: PyTorch returns the value at -1 there
        return xp.where(xp.sin(theta / 2) != 1, xp.cos((n + 0.5) * theta) / xp.cos(theta / 2),
                        _alternating(xp, k, cls.at_minus_one(n)))


class ChebyshevW(_Chebyshev):
    r"""Fourth kind: ``W_0 = 1``, ``W_1 = 2x + 1``, ``W_{k+1} = 2x W_k - W_{k-1}``;
    ``W_n(x) = sin((n + 1/2) theta) / sin(theta / 2)``, used when ``n > 8``;
    ``W_n(1) = 2n + 1``, ``W_n(-1) = (-1)^n``."""
    torch_name = "chebyshev_polynomial_w"
    p1 = staticmethod(lambda x: x + x + 1)
    at_one = staticmethod(lambda n: n + n + 1)
    at_minus_one = staticmethod(lambda n: 1.0)

    @classmethod
    def closed_form(cls, xp, x, k, n, theta):
        # cos(theta / 2) rounds to 1 next to x = 1: PyTorch returns a fixed value there
        return xp.where(xp.cos(theta / 2) != 1, xp.sin((n + 0.5) * theta) / xp.sin(theta / 2),
                        cls.next_to_one(xp, x, k, n))

    @classmethod
    def next_to_one(cls, xp, x, k, n):
        """The value where ``cos(theta / 2)`` rounds to 1: the end value (x > 0, so 2n + 1)."""
        return _end_value(xp, x, k, cls.at_one(n), cls.at_minus_one(n))


# The shifted polynomials are the plain ones at 2x - 1 (PyTorch computes them so, step by step,
# and its special cases x == 0, x == 1 are the plain ones' y == -1, y == 1); only the n above
# which PyTorch switches to the closed form differs, and one guard value of W*.
class ShiftedChebyshevT(ChebyshevT):
    """``T*_n(x) = T_n(2x - 1)``; the closed form when ``n > 6``."""
    torch_name, shifted, trig_after = "shifted_chebyshev_polynomial_t", True, 6


class ShiftedChebyshevU(ChebyshevU):
    """``U*_n(x) = U_n(2x - 1)``; the closed form when ``n > 6``."""
    torch_name, shifted, trig_after = "shifted_chebyshev_polynomial_u", True, 6


class ShiftedChebyshevV(ChebyshevV):
    """``V*_n(x) = V_n(2x - 1)``; the closed form when ``n > 6``."""
    torch_name, shifted, trig_after = "shifted_chebyshev_polynomial_v", True, 6


class ShiftedChebyshevW(ChebyshevW):
    """``W*_n(x) = W_n(2x - 1)``; the closed form when ``n > 4``.  Where ``cos(theta / 2)``
    rounds to 1 (x just below 1), PyTorch's shifted kernel returns ``(-1)^n``, not the plain
    one's ``2n + 1`` (the value at x = 0 where the plain one has the value at x = 1): kept, to
    match it."""
    torch_name, shifted, trig_after = "shifted_chebyshev_polynomial_w", True, 4

    @classmethod
    def next_to_one(cls, xp, x, k, n):
        return _alternating(xp, k, 1.0)


# ---------------------------------------------------------------------------------------------
# Hermite, Laguerre, Legendre
# ---------------------------------------------------------------------------------------------
class HermiteH(_Polynomial):
    r"""Physicists' Hermite: ``H_0 = 1``, ``H_1 = 2x``, ``H_{k+1} = 2x H_k - 2k H_{k-1}``;
    NaN for ``n`` above 128 (float32) or 512 (float64), as PyTorch."""
    torch_name = "hermite_polynomial_h"
    nan_after = {"float32": 128, "float64": 512}
    p1 = staticmethod(lambda x: x + x)
    step = staticmethod(lambda k, x, p, q: (x + x) * q - (k + k) * p)


class HermiteHe(HermiteH):
    r"""Probabilists' Hermite: ``He_0 = 1``, ``He_1 = x``, ``He_{k+1} = x He_k - k He_{k-1}``;
    NaN for ``n`` above 128 (float32) or 512 (float64), as PyTorch."""
    torch_name = "hermite_polynomial_he"
    p1 = staticmethod(lambda x: x)
    step = staticmethod(lambda k, x, p, q: x * q - k * p)


class LaguerreL(_Polynomial):
    r"""Laguerre: ``L_0 = 1``, ``L_1 = 1 - x``,
    ``L_{k+1} = ((2k + 1 - x) L_k - k L_{k-1}) / (k + 1)``;  ``L_n(0) = 1``."""
    torch_name = "laguerre_polynomial_l"
    p1 = staticmethod(lambda x: 1 - x)
    step = staticmethod(lambda k, x, p, q: (((k + k) + (1 - x)) * q - k * p) / (k + 1))

    @staticmethod
    def special(xp, x, k, nf):
        return [(x == 0, 1.0)]


class LegendreP(_Polynomial):
    r"""Legendre: ``P_0 = 1``, ``P_1 = x``, ``P_{k+1} = ((2k + 1) x P_k - k P_{k-1}) / (k + 1)``;
    ``P_n(1) = 1``, ``P_n(-1) = (-1)^n``."""
    torch_name = "legendre_polynomial_p"
    p1 = staticmethod(lambda x: x)
    step = staticmethod(lambda k, x, p, q: ((k + k + 1) * x * q - k * p) / (k + 1))

    @staticmethod
    def special(xp, x, k, nf):
        return [(xp.abs(x) == 1, _end_value(xp, x, k, 1.0, 1.0))]


# ---------------------------------------------------------------------------------------------
# functional forms (torch.special)
# ---------------------------------------------------------------------------------------------
def _polynomial(cls: type, input: Any, n: Any, out: Any) -> Tensor:
    if not isinstance(input, Tensor) and not isinstance(n, Tensor):
        raise TypeError(f"{cls.torch_name}(): expected input or n to be a Tensor, got "
                        f"{type(input).__name__} and {type(n).__name__}")
    # Not differentiable (PyTorch's derivatives.yaml marks input and n non_differentiable): the
    # op runs on detached inputs, so its result never requires grad, and backward() through it
    # raises PyTorch's "element 0 of tensors does not require grad and does not have a grad_fn".
    return write_out(_apply(cls, _operand(input), _operand(n)), out)


def _operand(v: Any) -> Any:
    """A tensor detached from the graph, or a plain Python number (a NumPy scalar becomes one)."""
    if isinstance(v, Tensor):
        return v.detach()
    return v.item() if hasattr(v, "item") and getattr(v, "ndim", 1) == 0 else v


def chebyshev_polynomial_t(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Chebyshev polynomial of the first kind ``T_n(input)``: ``T_{k+1} = 2x T_k - T_{k-1}``,
    ``T_0 = 1``, ``T_1 = x``; ``cos(n acos x)`` for ``|x| < 1`` and ``n > 6``.  0 for ``n < 0``;
    a non-integer ``n`` is truncated.  Not differentiable."""
    return _polynomial(ChebyshevT, input, n, out)


def chebyshev_polynomial_u(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Chebyshev polynomial of the second kind ``U_n(input)``: ``U_{k+1} = 2x U_k - U_{k-1}``,
    ``U_0 = 1``, ``U_1 = 2x``; ``sin((n+1) theta) / sin theta`` (``theta = acos x``) for
    ``|x| < 1`` and ``n > 8``.  Not differentiable."""
    return _polynomial(ChebyshevU, input, n, out)


def chebyshev_polynomial_v(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Chebyshev polynomial of the third kind ``V_n(input)``: ``V_{k+1} = 2x V_k - V_{k-1}``,
    ``V_0 = 1``, ``V_1 = 2x - 1``; ``cos((n + 1/2) theta) / cos(theta / 2)`` for ``|x| < 1`` and
    ``n > 8``.  Not differentiable."""
    return _polynomial(ChebyshevV, input, n, out)


def chebyshev_polynomial_w(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Chebyshev polynomial of the fourth kind ``W_n(input)``: ``W_{k+1} = 2x W_k - W_{k-1}``,
    ``W_0 = 1``, ``W_1 = 2x + 1``; ``sin((n + 1/2) theta) / sin(theta / 2)`` for ``|x| < 1`` and
    ``n > 8``.  Not differentiable."""
    return _polynomial(ChebyshevW, input, n, out)


def shifted_chebyshev_polynomial_t(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Shifted Chebyshev polynomial of the first kind ``T*_n(input) = T_n(2 input - 1)``
    (orthogonal on ``[0, 1]``); the closed form for ``0 < x < 1`` when ``n > 6``."""
    return _polynomial(ShiftedChebyshevT, input, n, out)


def shifted_chebyshev_polynomial_u(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Shifted Chebyshev polynomial of the second kind ``U*_n(input) = U_n(2 input - 1)``;
    the closed form for ``0 < x < 1`` when ``n > 6``."""
    return _polynomial(ShiftedChebyshevU, input, n, out)


def shifted_chebyshev_polynomial_v(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Shifted Chebyshev polynomial of the third kind ``V*_n(input) = V_n(2 input - 1)``;
    the closed form for ``0 < x < 1`` when ``n > 6``."""
    return _polynomial(ShiftedChebyshevV, input, n, out)


def shifted_chebyshev_polynomial_w(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Shifted Chebyshev polynomial of the fourth kind ``W*_n(input) = W_n(2 input - 1)``;
    the closed form for ``0 < x < 1`` when ``n > 4``."""
    return _polynomial(ShiftedChebyshevW, input, n, out)


def hermite_polynomial_h(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Physicists' Hermite polynomial ``H_n(input)``: ``H_{k+1} = 2x H_k - 2k H_{k-1}``,
    ``H_0 = 1``, ``H_1 = 2x``; NaN for ``n`` above 128 (float32) or 512 (float64)."""
    return _polynomial(HermiteH, input, n, out)


def hermite_polynomial_he(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Probabilists' Hermite polynomial ``He_n(input)``: ``He_{k+1} = x He_k - k He_{k-1}``,
    ``He_0 = 1``, ``He_1 = x``; NaN for ``n`` above 128 (float32) or 512 (float64)."""
    return _polynomial(HermiteHe, input, n, out)


def laguerre_polynomial_l(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Laguerre polynomial ``L_n(input)``:
    ``L_{k+1} = ((2k + 1 - x) L_k - k L_{k-1}) / (k + 1)``, ``L_0 = 1``, ``L_1 = 1 - x``."""
    return _polynomial(LaguerreL, input, n, out)


def legendre_polynomial_p(input: Any, n: Any, *, out: Any = None) -> Tensor:
    r"""Legendre polynomial ``P_n(input)``:
    ``P_{k+1} = ((2k + 1) x P_k - k P_{k-1}) / (k + 1)``, ``P_0 = 1``, ``P_1 = x``."""
    return _polynomial(LegendreP, input, n, out)
