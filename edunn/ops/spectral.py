"""The short-time Fourier transform: ``stft`` and its inverse ``istft`` (``torch.stft``/``istft``).

``stft`` cuts the signal into frames of ``n_fft`` samples, ``hop_length`` apart, multiplies each
by a ``window`` and takes its DFT::

    X[omega, m] = sum_{k=0}^{n_fft-1} window[k] input[m * hop_length + k] exp(-2 pi i omega k / n_fft)

giving ``(n_fft // 2 + 1, n_frames)`` for a real signal (``onesided``: the other bins are
conjugates) or ``(n_fft, n_frames)``, with a leading batch dim for a 2-D input.  With ``center``
the signal is first padded by ``n_fft // 2`` on both sides (``pad_mode``, reflect by default) so
that frame m is centred at ``m * hop_length``.  A window shorter than ``n_fft`` (``win_length``)
is zero-padded on both sides to ``n_fft``.

``istft`` inverts it by *overlap-add*: each frame's inverse DFT, multiplied by the window again,
is added back at its place, and the sum divided by the overlap-added squared window
``sum_m window^2[t - m hop_length]`` (the window envelope, which must not vanish: the
"NOLA" condition).  Then ``istft(stft(x))`` gives back ``x``.

Both are compositions of edunn ops -- framing by ``Tensor.unfold``, the window product,
``edunn.fft.rfft``/``fft``/``irfft``/``ifft`` and, for overlap-add, the ``UnfoldBackward`` op
(the adjoint of ``unfold``, as ATen's ``unfold_backward``) -- so autograd differentiates them
(with respect to the signal and to the window) with no backward of their own.

``align_to_window=True`` (only with ``center=False``) starts each frame where its window's
nonzero part starts: the signal is zero-padded by ``(n_fft - win_length) // 2`` in front (and
enough behind for the last frame); PyTorch 2.13 reads past the end of its padded signal for
some sizes, edunn pads the end.
"""
from __future__ import annotations

import warnings
from typing import Any

from ..tensor import Tensor, wrap_dim

__all__ = ['stft', 'istft']

_NO_WINDOW = ("A window was not provided. A rectangular window will be applied,which is known to cause spectral "
              "leakage. Other windows such as torch.hann_window or torch.hamming_window are recommended to "
              "reduce spectral leakage.To suppress this warning and use a rectangular window, explicitly set "
              "`window=torch.ones(n_fft, device=<device>)`.")


def _opt(v: Any) -> str:
    return "None" if v is None else str(int(v))


def _type_string(x: Tensor) -> str:
    """ATen's ``toString()``: ``torch.DoubleTensor`` (legacy names) but ``CPUComplexFloatType``."""
    if x.dtype.is_complex:
        name = "ComplexFloat" if x.dtype.itemsize == 8 else "ComplexDouble"
        return f"{'CUDA' if x.device.type == 'cuda' else 'CPU'}{name}Type"
    return x.type()


def _describe(x: Tensor, window: Any) -> tuple:
    w = "None" if window is None else f"{_type_string(window)}{{{list(window.shape)}}}"
    return f"{_type_string(x)}{list(x.shape)}", w


def _padded_window(window: Any, win_length: int, n_fft: int, like: Tensor) -> Any:
    """The window zero-padded on both sides to ``n_fft`` (ones where none was given), or the
    window itself / None when no padding is needed."""
    if win_length == n_fft:
        return window
    from .creation import ones
    from .padding import pad
    left = (n_fft - win_length) // 2
    if window is None:
        window = ones(win_length, dtype=like.dtype.to_real(), device=like.device)
    return pad(window, [left, n_fft - win_length - left])


def stft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
         window: Tensor | None = None, center: bool = True, pad_mode: str = "reflect", normalized: bool = False,
         onesided: bool | None = None, return_complex: bool | None = None,
         align_to_window: bool | None = None) -> Tensor:
    """Short-time Fourier transform of a 1-D ``(L,)`` or batched ``(B, L)`` signal: complex
    ``(B?, n_fft // 2 + 1 or n_fft, n_frames)`` (``view_as_real`` of it when ``return_complex``
    is False, which PyTorch deprecates; it must be given for real inputs).  ``normalized``
    multiplies by ``n_fft ** -0.5``."""
    from .. import fft as _fft
    from .padding import pad
    if center and align_to_window is not None:
        raise RuntimeError("stft align_to_window should only be set when center = false")
    x = input
    if center:
        signal_dim = x.dim()
        extended = [1] * (3 - signal_dim) + list(x.shape)
        x = pad(x.reshape(extended), [n_fft // 2, n_fft // 2], pad_mode)
        x = x.reshape(x.shape[-signal_dim:] if signal_dim else ())
    hop_length = n_fft >> 2 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    xs, ws = _describe(x, window)
    repr_ = (f"stft({xs}, n_fft={n_fft}, hop_length={hop_length}, win_length={win_length}, window={ws}, "
             f"normalized={int(normalized)}, onesided={_opt(onesided)}, return_complex={_opt(return_complex)}, "
             f"align_to_window={_opt(align_to_window)}) ")
    if window is not None and window.device != x.device:
        raise RuntimeError(f"stft input and window must be on the same device but got self on {x.device} and "
                           f"window on {window.device}")
    if return_complex is None:
        return_complex = x.dtype.is_complex or (window is not None and window.dtype.is_complex)
        if not return_complex:
            raise RuntimeError("stft requires the return_complex parameter be given for real inputs, and will "
                               "further require that return_complex=True in a future PyTorch release.")
    if not return_complex:
        warnings.warn("stft with return_complex=False is deprecated. In a future pytorch release, stft will "
                      "return complex tensors for all inputs, and return_complex=False will raise an error.\n"
                      "Note: you can still call torch.view_as_real on the complex output to recover the old "
                      "return format.", UserWarning, stacklevel=2)
    if window is None:
        warnings.warn(_NO_WINDOW, UserWarning, stacklevel=2)
    if not (x.dtype.is_floating_point or x.dtype.is_complex):
        raise RuntimeError(repr_ + ": expected a tensor of floating point or complex values")
    if x.dim() not in (1, 2):
        raise RuntimeError(repr_ + ": expected a 1D or 2D tensor")
    frames = x.unsqueeze(0) if x.dim() == 1 else x
    length = frames.shape[1]
    if n_fft <= 0 or n_fft > length:
        raise RuntimeError(repr_ + f": expected 0 < n_fft < {length}, but got n_fft={win_length}")
    if hop_length <= 0:
        raise RuntimeError(repr_ + f": expected hop_length > 0, but got hop_length={hop_length}")
    if win_length <= 0 or win_length > n_fft:
        raise RuntimeError(repr_ + f": expected 0 < win_length <= n_fft, but got win_length={win_length}")
    if window is not None and (window.dim() != 1 or window.shape[0] != win_length):
        raise RuntimeError(repr_ + f": expected a 1D window tensor of size equal to win_length={win_length}, "
                                   f"but got window with size {list(window.shape)}")
    window = _padded_window(window, win_length, n_fft, x)
    if align_to_window:
        left = (n_fft - win_length) // 2
        frames = pad(frames, [left, n_fft - win_length - left])
    frames = frames.unfold(-1, n_fft, hop_length)  # (B, n_frames, n_fft), frame m at m * hop_length
    if window is not None:
        frames = frames * window
    is_complex = frames.dtype.is_complex
    onesided = not is_complex if onesided is None else onesided
    norm = "ortho" if normalized else "backward"
    if is_complex and onesided:
        raise RuntimeError("Cannot have onesided output if window or input is complex")
    out = _fft.rfft(frames, norm=norm) if onesided else _fft.fft(frames, norm=norm)
    out = out.transpose(1, 2)
    if x.dim() == 1:
        out = out.squeeze(0)
    if return_complex:
        return out
    from .complex import view_as_real
    return view_as_real(out)


def istft(input: Tensor, n_fft: int, hop_length: int | None = None, win_length: int | None = None,
          window: Tensor | None = None, center: bool = True, normalized: bool = False, onesided: bool | None = None,
          length: int | None = None, return_complex: bool = False) -> Tensor:
    """Inverse of ``stft`` by windowed overlap-add: ``(B?, n_fft // 2 + 1 or n_fft, n_frames)``
    complex in, ``(B?, L)`` out (real unless ``return_complex``), cut or zero-padded to
    ``length`` when given."""
    from .. import fft as _fft
    from .creation import ones
    from .padding import pad
    from .shape import UnfoldBackward
    hop_length = n_fft >> 2 if hop_length is None else hop_length
    win_length = n_fft if win_length is None else win_length
    xs, ws = _describe(input, window)
    repr_ = (f"istft({xs}, n_fft={n_fft}, hop_length={hop_length}, win_length={win_length}, window={ws}, "
             f"center={int(center)}, normalized={int(normalized)}, onesided={_opt(onesided)}, "
             f"length={_opt(length)}, return_complex={int(return_complex)}) ")
    if window is not None and window.device != input.device:
        raise RuntimeError(f"istft input and window must be on the same device but got self on {input.device} "
                           f"and window on {window.device}")
    if not input.dtype.is_complex:
        raise RuntimeError("istft requires a complex-valued input tensor matching the output from stft with "
                           "return_complex=True.")
    # PyTorch reads the sizes of view_as_real(input) first: a 1-D input fails there
    nd = input.dim() + 1
    n_frames, fft_size = input.shape[wrap_dim(-2, nd)], input.shape[wrap_dim(-3, nd)]
    if input.numel() == 0:
        raise RuntimeError(repr_ + ": input tensor cannot be empty.")
    if input.dim() not in (2, 3):
        raise RuntimeError(repr_ + f": expected a tensor with 3 or 4 dimensions of complex dtype, but got {nd}")
    onesided = fft_size != n_fft if onesided is None else onesided
    if onesided and n_fft // 2 + 1 != fft_size:
        raise RuntimeError(repr_ + ": expected the frequency dimension (3rd to the last) of the input tensor to "
                                   f"match n_fft / 2 + 1 when onesided=True, but got {fft_size}")
    if not onesided and n_fft != fft_size:
        raise RuntimeError(repr_ + ": expected the frequency dimension (3rd to the last) of the input tensor to "
                                   f"match n_fft when onesided=False, but got {fft_size}")
    if not 0 < hop_length <= win_length:
        raise RuntimeError(repr_ + ": expected 0 < hop_length <= win_length")
    if not 0 < win_length <= n_fft:
        raise RuntimeError(repr_ + ": expected 0 < win_length <= n_fft")
    if window is not None and (window.dim() != 1 or window.shape[0] != win_length):
        raise RuntimeError(repr_ + ": Invalid window shape. window has to be 1D and length of `win_length`")
    if window is None:
        window = ones(win_length, dtype=input.dtype.to_real(), device=input.device)
    window = _padded_window(window, win_length, n_fft, input)

    x = (input.unsqueeze(0) if input.dim() == 2 else input).transpose(1, 2)  # (B, n_frames, fft_size)
    norm = "ortho" if normalized else "backward"
    if return_complex:
        if onesided:
            raise RuntimeError("Cannot have onesided output if window or input is complex")
        frames = _fft.ifft(x, norm=norm)
    else:
        if window.dtype.is_complex:
            raise RuntimeError("Complex windows are incompatible with return_complex=False")
        if not onesided:
            x = x[..., :n_fft // 2 + 1]
        frames = _fft.irfft(x, n=n_fft, norm=norm)  # (B, n_frames, n_fft)
    frames = frames * window
    expected = n_fft + hop_length * (n_frames - 1)
    y = UnfoldBackward.apply(frames, (frames.shape[0], expected), 1, n_fft, hop_length)  # overlap-add
    envelope = UnfoldBackward.apply((window * window).expand(1, n_frames, n_fft), (1, expected), 1, n_fft,
                                    hop_length)
    start = n_fft // 2 if center else 0
    end = start + length if length is not None else (-(n_fft // 2) if center else expected)
    y, envelope = y[:, start:end], envelope[:, start:end]
    if envelope.numel() and float(envelope.abs().min()) < 1e-11:
        raise RuntimeError(repr_ + "window overlap add min: 1\n(the squared window, overlap-added, vanishes "
                                   "somewhere: the NOLA condition fails, so the signal cannot be recovered)")
    y = y / envelope
    if input.dim() == 2:
        y = y.squeeze(0)
    if end > expected:
        warnings.warn("The length of signal is shorter than the length parameter. Result is being padded with "
                      "zeros in the tail. Please check your center and hop_length settings.", UserWarning,
                      stacklevel=2)
        y = pad(y, [0, end - expected])
    return y
