"""``torch.poisson`` and ``torch.binomial``: one draw per element, from the tensor's device's
generator or the ``generator=`` given.

NumPy's and CuPy's generators both sample these distributions (``rng.poisson(lam)``,
``rng.binomial(n, p)``), so each function validates its parameters as PyTorch does and asks the
generator.  A sample is not a differentiable function of its parameters: PyTorch's ``poisson``
gives a zero gradient to ``input``, and so does edunn's (:class:`Poisson`'s backward);
``binomial``'s result is not tracked, since PyTorch raises on its backward.  The draws follow
the same distribution as PyTorch's, not the same stream (different generators).
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd import Function
from ..tensor import Tensor
from ._out import write_out
from .creation import _gen

__all__ = ["poisson", "binomial"]


def _check(t: Any, name: str, who: str, position: int) -> None:
    if not isinstance(t, Tensor):
        raise TypeError(f"{who}(): argument '{name}' (position {position}) must be Tensor, not {type(t).__name__}")


class Poisson(Function):
    """``k ~ Poisson(rate)`` elementwise.  Backward: zero (the draw does not move smoothly with
    the rate), as PyTorch's ``PoissonBackward0``."""

    @staticmethod
    def forward(ctx, rate, generator):
        xp = backend.array_module(rate._data)
        lam = rate._data.astype(xp.float64)
        if bool(xp.any(~(lam >= 0))):
            raise RuntimeError("invalid Poisson rate, expected rate to be non-negative")
        with backend.device_context(rate.device):
            k = _gen(generator, rate.device).poisson(lam)
        return xp.asarray(k, dtype=rate._data.dtype)   # a 0-d rate draws a Python int

    @staticmethod
    def backward(ctx, grad):
        return grad * 0, None


def poisson(input: Tensor, generator: Any = None) -> Tensor:
    """A tensor of ``input``'s shape and dtype with ``out[i] ~ Poisson(input[i])``."""
    _check(input, "input", "poisson", 1)
    if not input.is_floating_point():
        raise NotImplementedError(f"\"poisson\" not implemented for '{input.dtype.scalar_name}'")
    return Poisson.apply(input, generator)


@backend.on_input_device
def binomial(count: Tensor, prob: Tensor, generator: Any = None, *, out: Any = None) -> Tensor:
    """``out[i] ~ Binomial(count[i], prob[i])`` (successes in ``count`` trials of probability
    ``prob``), in ``count``'s dtype.  As PyTorch, ``prob`` is clipped to ``[0, 1]`` and a
    negative ``count`` gives 0."""
    _check(count, "count", "binomial", 1)
    _check(prob, "prob", "binomial", 2)
    for name, t in (("count", count), ("prob", prob)):
        if not t.is_floating_point():
            raise ValueError(f"binomial only supports floating-point dtypes for {name}, got: {t.dtype.scalar_name}")
    if prob.dtype != count.dtype:
        raise RuntimeError(f"Found dtype {prob.dtype.scalar_name} but expected {count.dtype.scalar_name}")
    if prob.device != count.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least two devices, "
                           f"{count.device} and {prob.device}!")
    xp = backend.array_module(count._data)
    n, p = xp.broadcast_arrays(count._data.astype(xp.float64), prob._data.astype(xp.float64))
    n = xp.maximum(xp.floor(n), 0).astype(xp.int64)
    p = xp.clip(p, 0.0, 1.0)
    with backend.device_context(count.device):
        k = _gen(generator, count.device).binomial(n, p)
    return write_out(Tensor._make(k.astype(count._data.dtype)), out)
