"""``edunn.fft``: PyTorch's ``torch.fft`` -- discrete Fourier transforms, with gradients.

The DFT of ``x_0 .. x_{N-1}`` is ``X_k = sum_n x_n exp(-2 pi i k n / N)`` (``fft``); ``ifft`` is
``x_n = (1/N) sum_k X_k exp(+2 pi i k n / N)``.  The functions, as in PyTorch:

* ``fft``/``ifft`` (one dim), ``fft2``/``ifft2`` (two), ``fftn``/``ifftn`` (any): complex to
  complex; a real input is treated as complex with zero imaginary part (an integer one is first
  cast to the default float type);
* ``rfft``/``rfftn``/``rfft2``: the DFT of a *real* signal is Hermitian (``X_{N-k} = conj(X_k)``),
  so only bins ``0 .. N//2`` of the last dim are returned; ``irfft``/``irfftn``/``irfft2`` invert
  it (give ``n``/``s`` for an odd length: the default is ``2 (m - 1)``);
* ``hfft``/``hfftn``/``hfft2``: the FFT of a Hermitian signal given by its first half (a real
  spectrum); ``ihfft``/``ihfftn``/``ihfft2`` its inverse, from a real signal;
* ``fftfreq``/``rfftfreq`` (the frequency of each bin) and ``fftshift``/``ifftshift`` (move
  frequency 0 to the centre and back).

``n``/``s`` crop or zero-pad the input along the transformed dims first; ``norm`` puts the 1/N on
the forward transform (``"forward"``), on the inverse (``"backward"``, the default) or 1/sqrt(N)
on both (``"ortho"``).  Everything is built from three primitives (``_functions.py``: C2C, R2C,
C2R, as ATen's ``_fft_c2c``/``_fft_r2c``/``_fft_c2r``), whose backwards are PyTorch's; the
composition follows ``torch/_refs/fft.py``.  Results: float32 -> complex64, float64 ->
complex128 (float16 is refused, as on PyTorch's CPU).
"""
from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from .. import backend
from ..ops._out import write_out
from ..sparse import strided
from ..tensor import Tensor
from ._functions import FftC2C, FftC2R, FftR2C, Resize, _SWAP

# torch.fft.__all__ (which, like PyTorch's, leaves out hfft2/ihfft2/hfftn/ihfftn; they exist)
__all__ = ['fft', 'ifft', 'fft2', 'ifft2', 'fftn', 'ifftn', 'rfft', 'irfft', 'rfft2', 'irfft2', 'rfftn', 'irfftn',
           'hfft', 'ihfft', 'fftfreq', 'rfftfreq', 'fftshift', 'ifftshift']

_SCALAR_NAMES = {"complex64": "ComplexFloat", "complex128": "ComplexDouble", "float16": "Half",
                 "bfloat16": "BFloat16", "float32": "Float", "float64": "Double"}


# ----------------------------------------------------------------------------------------------
# argument checks (PyTorch's messages)
# ----------------------------------------------------------------------------------------------
def _norm(norm: Any) -> str:
    if norm is None:
        return "backward"
    if norm not in ("backward", "ortho", "forward"):
        raise RuntimeError(f'Invalid normalization mode: "{norm}"')
    return norm


def _check_tensor(name: str, x: Any) -> None:
    if not isinstance(x, Tensor):
        raise TypeError(f"fft_{name}(): argument 'input' (position 1) must be Tensor, not {type(x).__name__}")


def _promote(x: Tensor, require_complex: bool) -> Tensor:
    """Integers to the default float type; float16/bfloat16 refused; to complex if asked."""
    d = x.dtype
    if d.is_complex:
        return x
    if not d.is_floating_point:
        d = backend.get_default_dtype()
    if d not in (backend.float32, backend.float64):
        raise RuntimeError(f"Unsupported dtype {_SCALAR_NAMES.get(d.name, d.name)}")
    if require_complex:
        d = d.to_complex()
    return x if d is x.dtype else x.to(d)


def _wrap(dim: int, ndim: int) -> int:
    if ndim == 0:
        raise IndexError(f"Dimension specified as {dim} but tensor has no dimensions")
    if not -ndim <= dim < ndim:
        raise IndexError(f"Dimension out of range (expected to be in range of [{-ndim}, {ndim - 1}], "
                         f"but got {dim})")
    return dim % ndim


def _dim1(name: str, x: Tensor, dim: Any) -> int:
    if isinstance(dim, bool) or not isinstance(dim, int):
        raise TypeError(f"fft_{name}(): argument 'dim' must be int, not {type(dim).__name__}")
    return _wrap(dim, x.dim())


def _points(n: int) -> int:
    if n < 1:
        raise RuntimeError(f"Invalid number of data points ({n}) specified")
    return n


def _shape_and_dims(x: Tensor, s: Any, dim: Any) -> tuple:
    """``s`` and ``dim`` made explicit (``_canonicalize_fft_shape_and_dim_args`` of torch's refs):
    ``dim`` defaults to the last ``len(s)`` dims, or all; ``-1`` in ``s`` keeps a size."""
    ndim, sizes = x.dim(), x.shape
    if dim is not None:
        dim = (dim,) if not isinstance(dim, Sequence) else tuple(dim)
        dims = tuple(_wrap(d, ndim) for d in dim)
        if len(set(dims)) != len(dims):
            raise RuntimeError("FFT dims must be unique")
    if s is not None:
        s = (s,) if not isinstance(s, Sequence) else tuple(s)
        if dim is not None and len(dim) != len(s):
            raise RuntimeError("When given, dim and shape arguments must have the same length")
        if len(s) > ndim:
            raise RuntimeError(f"Got shape with {len(s)} values but input tensor only has {ndim} dimensions.")
        if dim is None:
            dims = tuple(range(ndim - len(s), ndim))
        shape = tuple(n if n != -1 else sizes[d] for n, d in zip(s, dims))
    elif dim is None:
        dims, shape = tuple(range(ndim)), tuple(sizes)
    else:
        shape = tuple(sizes[d] for d in dims)
    for n in shape:
        _points(n)
    return shape, dims


def _c2r_shape_and_dims(name: str, x: Tensor, s: Any, dim: Any) -> tuple:
    """As :func:`_shape_and_dims`, plus the output length of the last dim (``2 (m - 1)`` unless
    ``s`` gives it); the input is then cut/padded to ``last // 2 + 1`` there."""
    shape, dims = _shape_and_dims(x, s, dim)
    if not shape:
        raise RuntimeError(f"{name} must transform at least one axis")
    s_last = None if s is None else ((s,) if not isinstance(s, Sequence) else tuple(s))[-1]
    last = 2 * (x.shape[dims[-1]] - 1) if s_last is None or s_last == -1 else shape[-1]
    _points(last)
    return shape[:-1] + (last // 2 + 1,), dims, last


def _resize(x: Tensor, dims: tuple, shape: tuple) -> Tensor:
    return x if all(x.shape[d] == n for d, n in zip(dims, shape)) else Resize.apply(x, dims, shape)


# ----------------------------------------------------------------------------------------------
# the shared bodies
# ----------------------------------------------------------------------------------------------
def _c2c(x: Tensor, dims: tuple, forward: bool, norm: str) -> Tensor:
    """fftn/ifftn of a complex or real (promoted) ``x``.  A real input goes through the full
    (two-sided) R2C transform, whose backward hands it the real part of its gradient; the
    inverse of a real signal is ``conj(fftn(x))`` with the inverse's scaling."""
    if x.dtype.is_complex:
        return FftC2C.apply(x, dims, forward, norm)
    if not dims:
        return x.to(x.dtype.to_complex())
    if forward:
        return FftR2C.apply(x, dims, norm, False)
    return FftR2C.apply(x, dims, _SWAP[norm], False).conj()


def _fft1(name: str, input: Tensor, n: Any, dim: int, norm: Any, forward: bool) -> Tensor:
    _check_tensor(name, input)
    nm, d = _norm(norm), _dim1(name, input, dim)
    x = _promote(input, False)
    if n is not None:
        x = _resize(x, (d,), (_points(n),))
    _points(x.shape[d])
    return _c2c(x, (d,), forward, nm)


def _fftn(name: str, input: Tensor, s: Any, dim: Any, norm: Any, forward: bool) -> Tensor:
    _check_tensor(name, input)
    nm = _norm(norm)
    shape, dims = _shape_and_dims(input, s, dim)
    x = _resize(_promote(input, False), dims, shape)
    return _c2c(x, dims, forward, nm)


def _r2c(name: str, input: Tensor, s: Any, dim: Any, norm: Any, inverse: bool, one_dim: bool) -> Tensor:
    """rfft/rfftn (``inverse=False``) and ihfft/ihfftn: onesided transforms of a real signal.
    ``ihfftn`` is ``conj(rfft)`` over the last dim then the inverse C2C over the others."""
    _check_tensor(name, input)
    nm = _norm(norm)
    if input.dtype.is_complex:
        if not one_dim and inverse:  # PyTorch's ihfftn checks with another routine
            raise RuntimeError(f"Only supports floating-point dtypes, but found: {_SCALAR_NAMES[input.dtype.name]}")
        kind = "real" if one_dim else "real-valued"
        raise RuntimeError(f"{name.replace('2', 'n')} expects a {kind} input tensor, but got "
                           f"{_SCALAR_NAMES[input.dtype.name]}")
    if one_dim:
        d = _dim1(name, input, dim)
        shape, dims = (_points(input.shape[d] if s is None else s),), (d,)
    else:
        shape, dims = _shape_and_dims(input, s, dim)
        if not dims:
            raise RuntimeError(f"{name} must transform at least one axis")
    x = _resize(_promote(input, False), dims, shape)
    if not inverse:
        return FftR2C.apply(x, dims, nm, True)
    out = FftR2C.apply(x, dims[-1:], _SWAP[nm], True).conj()
    return FftC2C.apply(out, dims[:-1], False, nm) if len(dims) > 1 else out


def _c2r(name: str, input: Tensor, s: Any, dim: Any, norm: Any, hermitian: bool, one_dim: bool) -> Tensor:
    """irfft/irfftn (``hermitian=False``) and hfft/hfftn: real results from half spectra.
    ``hfftn`` is the forward C2C over all but the last dim, then ``irfft`` of the conjugate with
    the forward transform's scaling."""
    _check_tensor(name, input)
    nm = _norm(norm)
    if one_dim:
        d = _dim1(name, input, dim)
        last = _points(2 * (input.shape[d] - 1) if s is None else s)
        shape, dims = (last // 2 + 1,), (d,)
    else:
        shape, dims, last = _c2r_shape_and_dims(name, input, s, dim)
    x = _resize(_promote(input, True), dims, shape)
    if not hermitian:
        return FftC2R.apply(x, dims, last, nm)
    if len(dims) > 1:
        x = FftC2C.apply(x, dims[:-1], True, nm)
    return FftC2R.apply(x.conj(), dims[-1:], last, _SWAP[nm])


# ----------------------------------------------------------------------------------------------
# the transforms
# ----------------------------------------------------------------------------------------------
def fft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    """One-dimensional DFT along ``dim``: ``X_k = sum_n x_n exp(-2 pi i k n / N)``."""
    return write_out(_fft1("fft", input, n, dim, norm, True), out)


def ifft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    """One-dimensional inverse DFT: ``x_n = (1/N) sum_k X_k exp(+2 pi i k n / N)``."""
    return write_out(_fft1("ifft", input, n, dim, norm, False), out)


def fftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    """N-dimensional DFT over ``dim`` (all dims by default; the last ``len(s)`` when ``s`` is given)."""
    return write_out(_fftn("fftn", input, s, dim, norm, True), out)


def ifftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    """N-dimensional inverse DFT."""
    return write_out(_fftn("ifftn", input, s, dim, norm, False), out)


def fft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    """``fftn`` over the last two dims."""
    return write_out(_fftn("fft2", input, s, dim, norm, True), out)


def ifft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    """``ifftn`` over the last two dims."""
    return write_out(_fftn("ifft2", input, s, dim, norm, False), out)


def rfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    """DFT of a real signal, bins ``0 .. n//2`` (the rest are their conjugates)."""
    return write_out(_r2c("rfft", input, n, dim, norm, False, True), out)


def irfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out: Any = None) -> Tensor:
    """Inverse of ``rfft``: a real signal of length ``n`` (default ``2 (m - 1)``) from ``m`` bins."""
    return write_out(_c2r("irfft", input, n, dim, norm, False, True), out)


def rfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    """N-dimensional ``rfft``: onesided along the last of ``dim``."""
    return write_out(_r2c("rfftn", input, s, dim, norm, False, False), out)


def irfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    """Inverse of ``rfftn``."""
    return write_out(_c2r("irfftn", input, s, dim, norm, False, False), out)


def rfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    """``rfftn`` over the last two dims."""
    return write_out(_r2c("rfft2", input, s, dim, norm, False, False), out)


def irfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *,
           out: Any = None) -> Tensor:
    """``irfftn`` over the last two dims."""
    return write_out(_c2r("irfft2", input, s, dim, norm, False, False), out)


def hfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *, out: Any = None) -> Tensor:
    """FFT of a Hermitian signal given by its first half: the real ``irfft(conj(x))`` scaled as a
    forward transform."""
    return write_out(_c2r("hfft", input, n, dim, norm, True, True), out)


def ihfft(input: Tensor, n: int | None = None, dim: int = -1, norm: str | None = None, *,
          out: Any = None) -> Tensor:
    """Inverse of ``hfft``: ``conj(rfft(x))`` scaled as an inverse transform."""
    return write_out(_r2c("ihfft", input, n, dim, norm, True, True), out)


def hfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    """N-dimensional ``hfft``."""
    return write_out(_c2r("hfftn", input, s, dim, norm, True, False), out)


def ihfftn(input: Tensor, s: Any = None, dim: Any = None, norm: str | None = None, *, out: Any = None) -> Tensor:
    """N-dimensional ``ihfft``."""
    return write_out(_r2c("ihfftn", input, s, dim, norm, True, False), out)


def hfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *, out: Any = None) -> Tensor:
    """``hfftn`` over the last two dims."""
    return write_out(_c2r("hfft2", input, s, dim, norm, True, False), out)


def ihfft2(input: Tensor, s: Any = None, dim: Any = (-2, -1), norm: str | None = None, *,
           out: Any = None) -> Tensor:
    """``ihfftn`` over the last two dims."""
    return write_out(_r2c("ihfft2", input, s, dim, norm, True, False), out)


# ----------------------------------------------------------------------------------------------
# frequencies and shifts
# ----------------------------------------------------------------------------------------------
def _freqs(name: str, k: Any, n: int, d: float, out: Any, dtype: Any, layout: Any, device: Any,
           requires_grad: bool) -> Tensor:
    from ..ops.creation import _check_layout
    _check_layout(layout)
    dt = (out.dtype if out is not None else backend.get_default_dtype()) if dtype is None else backend.as_dtype(dtype)
    if not (dt.is_floating_point or dt.is_complex):
        raise RuntimeError(f"{name} requires a floating point or complex dtype")
    r = (k * (1.0 / (n * d) if n else 0.0)).to(dt).detach()
    return write_out(r.requires_grad_(requires_grad), out)


def fftfreq(n: int, d: float = 1.0, *, out: Any = None, dtype: Any = None, layout: Any = strided, device: Any = None,
            requires_grad: bool = False) -> Tensor:
    """The frequency of each bin of ``fft`` for a signal of ``n`` samples ``d`` apart:
    ``[0, 1, ..., ceil(n/2) - 1, -floor(n/2), ..., -1] / (d n)`` -- the centred integers
    ``-floor(n/2) .. ceil(n/2) - 1`` moved by ``ifftshift``."""
    from ..ops.creation import arange
    k = ifftshift(arange(-(n // 2), n - n // 2, dtype=backend.float64, device=device))
    return _freqs("fftfreq", k, n, d, out, dtype, layout, device, requires_grad)


def rfftfreq(n: int, d: float = 1.0, *, out: Any = None, dtype: Any = None, layout: Any = strided,
             device: Any = None, requires_grad: bool = False) -> Tensor:
    """The frequencies of ``rfft``'s bins: ``[0, 1, ..., n // 2] / (d n)``."""
    from ..ops.creation import arange
    k = arange(n // 2 + 1, dtype=backend.float64, device=device)
    return _freqs("rfftfreq", k, n, d, out, dtype, layout, device, requires_grad)


def _shift(input: Tensor, dim: Any, inverse: bool) -> Tensor:
    from ..ops.shape import roll
    dims = list(range(input.dim())) if dim is None else [dim] if isinstance(dim, int) else list(dim)
    shifts = [(input.shape[d] + inverse) // 2 for d in dims]
    return roll(input, shifts, dims)


def fftshift(input: Tensor, dim: Any = None) -> Tensor:
    """Rotate each of ``dim`` (all by default) by ``n // 2`` so that frequency 0 is in the middle."""
    return _shift(input, dim, False)


def ifftshift(input: Tensor, dim: Any = None) -> Tensor:
    """Undo ``fftshift``: rotate by ``(n + 1) // 2``."""
    return _shift(input, dim, True)
