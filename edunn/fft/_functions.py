"""The three FFT primitives every ``edunn.fft`` function is built from, as ``Function`` s.

PyTorch reduces its 18 transforms to three kernels (ATen's ``_fft_c2c``, ``_fft_r2c``,
``_fft_c2r``; ``torch/_refs/fft.py`` shows how); edunn does the same, on ``xp.fft``:

* :class:`FftC2C` -- complex to complex, ``xp.fft.fftn`` (forward, ``exp(-2 pi i k n / N)``) or
  ``xp.fft.ifftn`` (backward direction, ``exp(+2 pi i k n / N)``);
* :class:`FftR2C` -- real to complex, ``xp.fft.rfftn`` (only the ``N // 2 + 1`` non-redundant
  bins of the last dim: *onesided*) or the full ``xp.fft.fftn`` of a real input;
* :class:`FftC2R` -- the inverse of a onesided spectrum, ``xp.fft.irfftn``: the last dim holds
  half of a Hermitian spectrum, the result is real with ``last_dim_size`` points.

``norm`` is NumPy's (and PyTorch's) name for where the ``1/N`` goes: ``"backward"`` -- none on
the forward transform, ``1/N`` on the inverse; ``"forward"`` -- the other way round;
``"ortho"`` -- ``1/sqrt(N)`` on both.  ``N`` is the product of the transformed sizes.

**Gradients** (PyTorch's convention: a complex gradient is dL/dx + i dL/dy, and the vjp of a
linear map ``w = A z`` is ``A^H g``).  The DFT matrix ``F`` satisfies ``F^H = N F^{-1}``, so the
adjoint of a transform is the transform in the other direction *with the other norm*
(``fftn(norm="backward")^H = ifftn(norm="forward")``: both unscaled).  Hence

* C2C: ``grad_x = C2C(g, other direction, swapped norm)``;
* R2C: a real input is a complex one with zero imaginary part, and the onesided output drops
  bins, so ``grad_x = real(ifftn(zero-pad g to the full length, swapped norm))``
  (ATen's ``fft_r2c_backward``);
* C2R: the inverse takes each bin k of 1 .. N - N//2 - 1 twice (as ``X_k`` and as its mirror
  ``conj(X_k)``), so ``grad_x = rfftn(g, swapped norm)`` with those bins doubled (ATen's
  ``fft_c2r_backward``; bins 0 and N/2 have no mirror).

Each backward is written with these same Functions, so double backward works.  NumPy's pocketfft
keeps float32/complex64 in single precision; the result is cast to the dtype PyTorch gives in
any case (float32 -> complex64, float64 -> complex128).
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

_SWAP = {"backward": "forward", "forward": "backward", "ortho": "ortho"}


def _complex_np(real_np: Any) -> Any:
    """The NumPy complex type for a NumPy float (or complex) type."""
    return backend.as_dtype(real_np).to_complex().np


def _real_np(complex_np: Any) -> Any:
    return backend.as_dtype(complex_np).to_real().np


class Resize(Function):
    """``x`` cut to, or zero-padded at the end to, ``sizes[i]`` along ``dims[i]`` (the ``n=``/``s=``
    of every transform; PyTorch's ``_resize_fft_input``).  Its adjoint is the resize back."""

    supports_complex = True

    @staticmethod
    def forward(ctx, x: Tensor, dims: tuple, sizes: tuple) -> Any:
        a = x._data
        ctx.args = (dims, tuple(a.shape[d] for d in dims))
        shape = list(a.shape)
        for d, n in zip(dims, sizes):
            shape[d] = n
        if tuple(shape) == a.shape:
            return a.copy()
        xp = backend.array_module(a)
        out = xp.zeros(shape, a.dtype)
        keep = tuple(slice(0, min(a.shape[d], shape[d])) for d in range(a.ndim))
        out[keep] = a[keep]
        return out

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple:
        dims, sizes = ctx.args
        return Resize.apply(grad, dims, sizes), None, None


class FftC2C(Function):
    """``y = fftn(x)`` (``forward=True``) or ``ifftn(x)`` over ``dims``, scaled as ``norm`` says."""

    supports_complex = True

    @staticmethod
    def forward(ctx, x: Tensor, dims: tuple, forward: bool, norm: str) -> Any:
        ctx.args = (dims, forward, norm)
        a = x._data
        xp = backend.array_module(a)
        if not dims:  # torch.fft.fftn(x, dim=()) is a copy
            return a.astype(_complex_np(a.dtype), copy=True)
        f = xp.fft.fftn if forward else xp.fft.ifftn
        return f(a, axes=dims, norm=norm).astype(_complex_np(a.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple:
        dims, forward, norm = ctx.args
        return FftC2C.apply(grad, dims, not forward, _SWAP[norm]), None, None, None


class FftR2C(Function):
    """``y = rfftn(x)`` (``onesided=True``: the last of ``dims`` keeps ``N // 2 + 1`` bins) or the
    full ``fftn`` of the real ``x``; forward direction, scaled as ``norm`` says."""

    supports_complex = True

    @staticmethod
    def forward(ctx, x: Tensor, dims: tuple, norm: str, onesided: bool) -> Any:
        a = x._data
        xp = backend.array_module(a)
        ctx.args = (dims, norm, onesided, a.shape[dims[-1]])
        f = xp.fft.rfftn if onesided else xp.fft.fftn
        return f(a, axes=dims, norm=norm).astype(_complex_np(a.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple:
        dims, norm, onesided, last_size = ctx.args
        if onesided:  # the dropped bins had no effect: zeros
            grad = Resize.apply(grad, dims[-1:], (last_size,))
        return FftC2C.apply(grad, dims, False, _SWAP[norm]).real, None, None, None


class FftC2R(Function):
    """``y = irfftn(x)``: ``x`` holds bins ``0 .. last_dim_size // 2`` of a Hermitian spectrum along
    the last of ``dims``; ``y`` is real, ``last_dim_size`` long there; inverse direction, scaled as
    ``norm`` says.  (As in NumPy and PyTorch, the imaginary parts of bin 0, and of bin N/2 for even
    N, are ignored.)"""

    supports_complex = True

    @staticmethod
    def forward(ctx, x: Tensor, dims: tuple, last_dim_size: int, norm: str) -> Any:
        a = x._data
        xp = backend.array_module(a)
        ctx.args = (dims, norm)
        s = [a.shape[d] for d in dims[:-1]] + [last_dim_size]
        return xp.fft.irfftn(a, s=s, axes=dims, norm=norm).astype(_real_np(a.dtype), copy=False)

    @staticmethod
    def backward(ctx, grad: Tensor) -> tuple:
        dims, norm = ctx.args
        g = FftR2C.apply(grad, dims, _SWAP[norm], True)
        n, half = grad.shape[dims[-1]], g.shape[dims[-1]]
        if n - half > 0:  # bins 1 .. n - half stand for themselves and their mirror image
            xp = backend.array_module(grad._data)
            twice = xp.ones(half, dtype=grad._data.dtype)
            twice[1:n - half + 1] = 2
            shape = [1] * grad.dim()
            shape[dims[-1]] = half
            g = g * Tensor._make(twice.reshape(shape))
        return g, None, None, None
