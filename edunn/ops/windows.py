"""Window functions for spectral analysis: ``hann_window``, ``hamming_window``,
``blackman_window``, ``bartlett_window``, ``kaiser_window``.

Each is a formula in ``n = 0 .. N-1`` (PyTorch's ``TensorFactories.cpp``), evaluated in float64
on the target device and rounded once to ``dtype``.  A *periodic* window (the default, for use
with an FFT) is the symmetric window of length N + 1 without its last point::

    hamming: alpha - beta cos(2 pi n / (N - 1))          (hann: alpha = beta = 0.5)
    blackman: 0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))
    bartlett: 1 - |2 n / (N - 1) - 1|
    kaiser: I0(beta sqrt(1 - ((n - (N - 1)/2) / ((N - 1)/2))^2)) / I0(beta)

The formulas are module-level functions ``formula(n, N)`` (``general_cosine``, ``bartlett``,
``kaiser``, ``cosine``, ``gaussian``, ``exponential``) evaluated by :func:`_window`, which
``edunn.signal.windows`` (``torch.signal.windows``: the same windows with ``sym=`` instead of
``periodic=``, plus ``cosine``/``gaussian``/``exponential``/``nuttall``) shares.
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..tensor import Tensor

__all__ = ['hann_window', 'hamming_window', 'blackman_window', 'bartlett_window', 'kaiser_window']


def _window(name: str, window_length: int, periodic: bool, formula: Any, dtype: Any, layout: Any,
            device: Any, requires_grad: bool) -> Tensor:
    from .creation import arange, ones
    d = backend.get_default_dtype() if dtype is None else backend.as_dtype(dtype)
    if layout is not None and str(layout).rpartition(".")[2] != "strided":
        raise RuntimeError(f"{name} is not implemented for sparse types, got: layout={layout}")
    if not d.is_floating_point:
        raise RuntimeError(f"{name} expects floating point dtypes, got: dtype={d.name}")
    if isinstance(window_length, bool) or not isinstance(window_length, int):
        raise TypeError(f"{name}(): argument 'window_length' (position 1) must be int, not "
                        f"{type(window_length).__name__}")
    if window_length < 0:
        raise RuntimeError(f"{name} requires non-negative window_length, got window_length={window_length}")
    if window_length <= 1:
        w = ones((window_length,), dtype=d, device=device)
    else:
        n = window_length + 1 if periodic else window_length
        w = formula(arange(n, dtype=backend.float64, device=device), n).to(d)
        if periodic:
            w = w[:-1]
        w = w.contiguous()
    return w.detach().requires_grad_(requires_grad)


# ----------------------------------------------------------------------------------------------
# the formulas: each returns formula(n, N), n the float64 positions 0 .. N-1 of a symmetric window
# ----------------------------------------------------------------------------------------------
def general_cosine_formula(a: Any) -> Any:
    """``sum_k (-1)^k a_k cos(2 pi k n / (N - 1))``: hann/hamming (two terms), blackman (three),
    nuttall (four)."""
    coeffs = [float(c) for c in a]

    def formula(n: Tensor, N: int) -> Tensor:
        x = n * (2 * math.pi / (N - 1))
        w = n * 0 + coeffs[0]
        for k, c in enumerate(coeffs[1:], start=1):  # a few terms, not elements
            w = w + (x * k).cos() * (c if k % 2 == 0 else -c)
        return w
    return formula


def bartlett_formula(n: Tensor, N: int) -> Tensor:
    """The triangle ``1 - |2 n / (N - 1) - 1|``."""
    return 1 - (n * (2.0 / (N - 1)) - 1).abs()


def kaiser_formula(beta: float) -> Any:
    """``I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta)`` with a = (N - 1) / 2."""
    from .bessel import i0

    def formula(n: Tensor, N: int) -> Tensor:
        a = (N - 1) / 2.0
        r = (1 - ((n - a) / a) ** 2).abs().sqrt()
        return i0(r * float(beta)) / i0(n[:1] * 0 + float(beta))
    return formula


def cosine_formula(n: Tensor, N: int) -> Tensor:
    """``sin(pi (n + 1/2) / N)`` (the sine window)."""
    return ((n + 0.5) * (math.pi / N)).sin()


def gaussian_formula(std: float) -> Any:
    """``exp(-(n - (N - 1)/2)^2 / (2 std^2))``."""
    def formula(n: Tensor, N: int) -> Tensor:
        return (-((n - (N - 1) / 2.0) / (float(std) * math.sqrt(2))) ** 2).exp()
    return formula


def exponential_formula(center: Any, tau: float) -> Any:
    """``exp(-|n - center| / tau)``, centre (N - 1)/2 unless given."""
    def formula(n: Tensor, N: int) -> Tensor:
        c = (N - 1) / 2.0 if center is None else float(center)
        return (-((n - c) / float(tau)).abs()).exp()
    return formula


def hamming_window(window_length: int, periodic: bool = True, alpha: float = 0.54, beta: float = 0.46, *,
                   dtype: Any = None, layout: Any = None, device: Any = None, pin_memory: bool = False,
                   requires_grad: bool = False) -> Tensor:
    """``alpha - beta cos(2 pi n / (N - 1))``; ``pin_memory`` is accepted and does nothing."""
    return _window("hamming_window", window_length, periodic, general_cosine_formula((alpha, beta)),
                   dtype, layout, device, requires_grad)


def hann_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``0.5 - 0.5 cos(2 pi n / (N - 1))`` = ``sin^2(pi n / (N - 1))``."""
    return _window("hann_window", window_length, periodic, general_cosine_formula((0.5, 0.5)),
                   dtype, layout, device, requires_grad)


def blackman_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """``0.42 - 0.5 cos(2 pi n / (N - 1)) + 0.08 cos(4 pi n / (N - 1))``."""
    return _window("blackman_window", window_length, periodic, general_cosine_formula((0.42, 0.5, 0.08)),
                   dtype, layout, device, requires_grad)


def bartlett_window(window_length: int, periodic: bool = True, *, dtype: Any = None, layout: Any = None,
                    device: Any = None, pin_memory: bool = False, requires_grad: bool = False) -> Tensor:
    """The triangle ``1 - |2 n / (N - 1) - 1|``."""
    return _window("bartlett_window", window_length, periodic, bartlett_formula,
                   dtype, layout, device, requires_grad)


def kaiser_window(window_length: int, periodic: bool = True, beta: float = 12.0, *, dtype: Any = None,
                  layout: Any = None, device: Any = None, pin_memory: bool = False,
                  requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - ((n - a) / a)^2)) / I0(beta)`` with a = (N - 1) / 2 and I0 the modified
    Bessel function of order 0 (``edunn.i0``)."""
    return _window("kaiser_window", window_length, periodic, kaiser_formula(beta),
                   dtype, layout, device, requires_grad)
