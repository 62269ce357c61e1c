"""``pad`` (``torch.nn.functional.pad``): add (or, with negative sizes, remove) borders.

``pad`` is a tuple read from the *last* dim backwards: ``(left, right)`` pads the last dim,
``(left, right, top, bottom)`` the last two, and so on.  Modes:

* ``constant`` -- new entries are ``value``; backward: the gradient cropped back;
* ``reflect`` -- mirrored without repeating the edge (``[1 2 3] -> 3 2 [1 2 3] 2 1``),
  ``replicate`` -- the edge repeated, ``circular`` -- wrapped around.  These three are a gather
  along each padded dim with an index array (``index_select``), so the backward adds the
  gradient of every copy back onto the element it came from.  Lesson 10.

All of them move values only, so complex tensors pad as real ones do.
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ..amp import _policy as _autocast

__all__: list = []


class ConstantPad(Function):
    """``y = pad(x, pad, value)`` with non-negative widths ``[(before, after), ...]`` per dim.
    Backward: the gradient cropped to x's extent."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, widths, value):
        ctx.widths = widths
        xp = backend.array_module(x._data)
        return xp.pad(x._data, widths, mode="constant", constant_values=value)

    @staticmethod
    def backward(ctx, grad):
        from .indexing import getitem
        index = tuple(slice(a, grad._data.shape[k] - b) for k, (a, b) in enumerate(ctx.widths))
        return getitem(grad, index), None, None


def _source_index(xp, n: int, before: int, after: int, mode: str):
    """For each position of the padded dim, the position of ``x`` it copies."""
    j = xp.arange(-before, n + after)
    if mode == "replicate":
        return xp.clip(j, 0, n - 1)
    if mode == "circular":
        return j % n
    period = 2 * (n - 1)  # reflect
    j = xp.abs(j) % max(period, 1)
    return xp.where(j >= n, period - j, j)


def _autocast_name(mode: str, pad: Sequence[int]) -> str:
    """The aten op PyTorch's autocast lists for this ``F.pad`` call (``reflection_pad1d`` ...)."""
    if mode in ("reflect", "replicate"):
        return ("reflection" if mode == "reflect" else "replication") + f"_pad{len(pad) // 2}d"
    return ""


@backend.on_input_device
def pad(input: Tensor, pad: Sequence[int], mode: str = "constant", value: Any = None) -> Tensor:
    """Pad ``input`` by ``pad = (last_left, last_right, prev_left, prev_right, ...)``.

    Shape: dim ``-1-k`` grows by ``pad[2k] + pad[2k+1]``.
    """
    if _autocast.active and _autocast_name(mode, pad) in _autocast.listed: return _autocast.call(_autocast_name(mode, pad), _pad, input, pad, mode, value)  # noqa: E501,E701
    pad = tuple(int(p) for p in pad)
    x = input._data
    if isinstance(value, complex):  # PyTorch's pad takes a real fill value, even for complex input
        raise TypeError("pad(): argument 'value' (position 4) must be float, not complex")
    if len(pad) % 2:
        raise RuntimeError(f"Padding length must be divisible by 2, got pad={list(pad)}")
    if len(pad) // 2 > x.ndim:
        raise RuntimeError(f"Padding length should be less than or equal to two times the input dimension "
                           f"but got padding length {len(pad)} and input of dimension {x.ndim}")
    npad = len(pad) // 2
    widths = [(0, 0)] * (x.ndim - npad) + [(pad[2 * k], pad[2 * k + 1]) for k in range(npad - 1, -1, -1)]
    if mode == "constant":
        # Negative widths crop first; what remains is padded.
        if any(a < 0 or b < 0 for a, b in widths):
            from .indexing import getitem
            crop = tuple(slice(max(-a, 0), x.shape[k] - max(-b, 0)) for k, (a, b) in enumerate(widths))
            input = getitem(input, crop)
            widths = [(max(a, 0), max(b, 0)) for a, b in widths]
        if all(a == 0 and b == 0 for a, b in widths):
            from .shape import clone
            return clone(input)
        return ConstantPad.apply(input, tuple(widths), 0 if value is None else value)
    if mode not in ("reflect", "replicate", "circular"):
        raise NotImplementedError(f"Unrecognised padding mode {mode}; expected 'constant', 'reflect', "
                                  "'replicate' or 'circular'")
    if value is not None and value != 0:
        raise RuntimeError(f"Padding mode \"{mode}\" doesn't take in value argument")
    if npad > 3 or x.ndim < npad + 1:
        raise NotImplementedError(
            f"Only 2D, 3D, 4D, 5D padding with non-constant padding are supported for now (got a "
            f"{x.ndim}-D input with padding {list(pad)} in mode '{mode}')")
    from .indexing import index_select
    xp = backend.array_module(x)
    out = input
    for k, (a, b) in enumerate(widths):
        if a == 0 and b == 0:
            continue
        n = out._data.shape[k]
        if mode == "reflect" and (a >= n or b >= n):
            raise RuntimeError(f"Argument #4: Padding size should be less than the corresponding input "
                               f"dimension, but got: padding ({a}, {b}) at dimension {k} of input "
                               f"{list(x.shape)}")
        if mode == "circular" and (a > n or b > n):
            raise RuntimeError(f"Padding value causes wrapping around more than once: padding ({a}, {b}) "
                               f"at dimension {k} of input {list(x.shape)}")
        index = _source_index(xp, n, a, b, mode)
        out = index_select(out, k, Tensor._make(index.astype(backend.int64.np)))
    return out



_pad = pad   # ``pad``'s parameter ``pad`` hides the function inside it; autocast re-enters through this