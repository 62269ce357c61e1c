"""``edunn.signal.windows``: ``torch.signal.windows`` -- window functions in SciPy's convention.

These are the windows of ``edunn.hann_window`` & co. (``edunn/ops/windows.py``, where every
formula lives) with SciPy's arguments: the length is ``M``, every other argument is keyword-only,
and ``sym=True`` (the default) gives the *symmetric* window, for filter design, while
``sym=False`` gives the *periodic* one, for spectral analysis (the symmetric window of length
M + 1 without its last point -- ``periodic=True`` of ``hann_window``).  With n = 0 .. M-1 of a
symmetric window of length N::

    general_cosine(a):  sum_k (-1)^k a_k cos(2 pi k n / (N - 1))
    hann / hamming:     general_cosine([0.5, 0.5]) / general_hamming(alpha) = [alpha, 1 - alpha]
    blackman, nuttall:  general_cosine([0.42, 0.5, 0.08]), ([0.3635819, 0.4891775, 0.1365995, 0.0106411])
    bartlett:           1 - |2 n / (N - 1) - 1|
    kaiser(beta):       I0(beta sqrt(1 - (2 n / (N - 1) - 1)^2)) / I0(beta)
    cosine:             sin(pi (n + 1/2) / N)
    gaussian(std):      exp(-(n - (N - 1)/2)^2 / (2 std^2))
    exponential(tau):   exp(-|n - center| / tau)

PyTorch evaluates them with ``linspace`` in ``dtype``; edunn evaluates in float64 and rounds
once (so float32 results can differ from PyTorch's in the last bit).  With ``requires_grad=True``
PyTorch's result is the non-leaf output of those ops; edunn's is a leaf that requires grad.
"""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from ... import backend
from ...ops import windows as _w
from ...sparse import strided
from ...tensor import Tensor

__all__ = ['bartlett', 'blackman', 'cosine', 'exponential', 'gaussian', 'general_cosine', 'general_hamming',
           'hamming', 'hann', 'kaiser', 'nuttall']

_NUTTALL = (0.3635819, 0.4891775, 0.1365995, 0.0106411)


def _make(name: str, M: int, sym: bool, formula: Any, dtype: Any, layout: Any, device: Any,
          requires_grad: bool) -> Tensor:
    """torch.signal.windows' checks (``ValueError``), then ``ops/windows.py``'s evaluation."""
    d = backend.get_default_dtype() if dtype is None else backend.as_dtype(dtype)
    if isinstance(M, bool) or not isinstance(M, int):
        raise TypeError(f"{name}(): argument 'M' must be int, not {type(M).__name__}")
    if M < 0:
        raise ValueError(f"{name} requires non-negative window length, got M={M}")
    if layout is not None and str(layout).rpartition(".")[2] != "strided":
        raise ValueError(f"{name} is implemented for strided tensors only, got: {layout}")
    if d not in (backend.float32, backend.float64):
        raise ValueError(f"{name} expects float32 or float64 dtypes, got: edunn.{d.name}")
    return _w._window(name, M, not sym, formula, d, None, device, requires_grad)


def general_cosine(M: int, *, a: Iterable, sym: bool = True, dtype: Any = None, layout: Any = strided,
                   device: Any = None, requires_grad: bool = False) -> Tensor:
    """``sum_k (-1)^k a_k cos(2 pi k n / (M - 1))`` (``M`` in place of ``M - 1`` when ``sym=False``)."""
    if M not in (0, 1):
        if not isinstance(a, Iterable):
            raise TypeError("Coefficients must be a list/tuple")
        a = list(a)
        if not a:
            raise ValueError("Coefficients cannot be empty")
    return _make("general_cosine", M, sym, _w.general_cosine_formula(a if M > 1 else ()), dtype, layout, device,
                 requires_grad)


def general_hamming(M: int, *, alpha: float = 0.54, sym: bool = True, dtype: Any = None,
                    layout: Any = strided, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``alpha - (1 - alpha) cos(2 pi n / (M - 1))``: ``general_cosine`` with a = [alpha, 1 - alpha]."""
    return general_cosine(M, a=[alpha, 1.0 - alpha], sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def hamming(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """``general_hamming`` with alpha = 0.54."""
    return general_hamming(M, sym=sym, dtype=dtype, layout=layout, device=device, requires_grad=requires_grad)


def hann(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
         requires_grad: bool = False) -> Tensor:
    """``general_hamming`` with alpha = 0.5: ``sin^2(pi n / (M - 1))``."""
    return general_hamming(M, alpha=0.5, sym=sym, dtype=dtype, layout=layout, device=device,
                           requires_grad=requires_grad)


def blackman(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """``general_cosine`` with a = [0.42, 0.5, 0.08]."""
    return _make("blackman", M, sym, _w.general_cosine_formula((0.42, 0.5, 0.08)), dtype, layout, device,
                 requires_grad)


def nuttall(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """``general_cosine`` with Nuttall's four coefficients (minimum 4-term Blackman-Harris)."""
    return general_cosine(M, a=list(_NUTTALL), sym=sym, dtype=dtype, layout=layout, device=device,
                          requires_grad=requires_grad)


def bartlett(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
             requires_grad: bool = False) -> Tensor:
    """The triangle ``1 - |2 n / (M - 1) - 1|``."""
    return _make("bartlett", M, sym, _w.bartlett_formula, dtype, layout, device, requires_grad)


def kaiser(M: int, *, beta: float = 12.0, sym: bool = True, dtype: Any = None, layout: Any = strided,
           device: Any = None, requires_grad: bool = False) -> Tensor:
    """``I0(beta sqrt(1 - (2 n / (M - 1) - 1)^2)) / I0(beta)``; ``beta`` must be non-negative."""
    if beta < 0:
        raise ValueError(f"beta must be non-negative, got: {beta} instead.")
    return _make("kaiser", M, sym, _w.kaiser_formula(beta), dtype, layout, device, requires_grad)


def cosine(M: int, *, sym: bool = True, dtype: Any = None, layout: Any = strided, device: Any = None,
           requires_grad: bool = False) -> Tensor:
    """The sine window ``sin(pi (n + 1/2) / M)``."""
    return _make("cosine", M, sym, _w.cosine_formula, dtype, layout, device, requires_grad)


def gaussian(M: int, *, std: float = 1.0, sym: bool = True, dtype: Any = None, layout: Any = strided,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """``exp(-(n - (M - 1)/2)^2 / (2 std^2))``; ``std`` must be positive."""
    if std <= 0:
        raise ValueError(f"Standard deviation must be positive, got: {std} instead.")
    return _make("gaussian", M, sym, _w.gaussian_formula(std), dtype, layout, device, requires_grad)


def exponential(M: int, *, center: float | None = None, tau: float = 1.0, sym: bool = True, dtype: Any = None,
                layout: Any = strided, device: Any = None, requires_grad: bool = False) -> Tensor:
    """``exp(-|n - center| / tau)``; ``center`` defaults to the middle and may only be given for a
    periodic window (``sym=False``)."""
    if tau <= 0:
        raise ValueError(f"Tau must be positive, got: {tau} instead.")
    if sym and center is not None:
        raise ValueError("Center must be None for symmetric windows")
    return _make("exponential", M, sym, _w.exponential_formula(center, tau), dtype, layout, device,
                 requires_grad)
