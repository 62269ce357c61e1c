"""Random tensors: ``rand``, ``randn``, ``randint``, ``randperm``, ``normal``, ``bernoulli``,
``multinomial``, their ``*_like`` forms, and the samplers behind ``Tensor.uniform_`` & co.

Split from :mod:`edunn.ops.creation` (which re-exports every name here).  None of these is
differentiable -- they make leaves.  Each draws from the default generator of the tensor's device
(seeded by ``edunn.manual_seed``) or from the ``generator=`` passed in.  The streams of random
numbers are NumPy's/CuPy's, so they differ from PyTorch's; distributions and shapes match.
"""
from __future__ import annotations

import math
from typing import Any, Sequence

from .. import backend
from ..backend import as_dtype, get_default_dtype
from ..tensor import Tensor
from ._out import write_out
from .creation import _check_layout, _dtype_device_of_out, _finish, _gen, _like, _size

float32, float64, int64, bool_ = backend.float32, backend.float64, backend.int64, backend.bool_

__all__ = ['rand', 'randn', 'randint', 'randperm', 'normal', 'rand_like', 'randn_like', 'randint_like',
           'bernoulli', 'multinomial']


# ----------------------------------------------------------------------------------------------
# helpers
# ----------------------------------------------------------------------------------------------
def _float_dtype(dtype: Any, who: str) -> backend.dtype:
    d = get_default_dtype() if dtype is None else as_dtype(dtype)
    if not (d.is_floating_point or d.is_complex):
        raise TypeError(f"{who}() expects a floating point or complex dtype, got {d}")
    return d


def _random_float(rng, kind: str, size: tuple, d: backend.dtype, dev, *args):
    """Draw in float32/float64 (what the generators offer) and cast to ``d``.  A complex ``d``
    draws its real and imaginary parts side by side (the last axis of a real array, seen as
    complex): uniform parts on [0, 1) each, or normal parts of variance 1/2 each so that
    ``E|z|^2 = 1``, as PyTorch's complex ``rand``/``randn``."""
    with backend.device_context(dev):  # draw (and cast) on the generator's device
        if d.is_complex:
            parts = _random_float(rng, kind, size + (2,), d.to_real(), dev)
            if kind == "normal":
                parts *= parts.dtype.type(math.sqrt(0.5))
            return parts.view(d.np).reshape(size)
        draw_np = d.np if d in (float32, float64) else float32.np
        if kind == "uniform":
            arr = rng.random(size, dtype=draw_np)
        else:
            arr = rng.standard_normal(size, dtype=draw_np)
        return arr if arr.dtype == d.np else arr.astype(d.np)



# ----------------------------------------------------------------------------------------------
# random
# ----------------------------------------------------------------------------------------------
def rand(*size: Any, generator: Any = None, out: Any = None, dtype: Any = None, device: Any = None,
         requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    """Uniform on ``[0, 1)``."""
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    d, dev = _float_dtype(dtype, "rand"), backend.factory_device(device)
    return write_out(_finish(_random_float(_gen(generator, dev), "uniform", _size(size), d, dev), requires_grad), out)


def randn(*size: Any, generator: Any = None, out: Any = None, dtype: Any = None, device: Any = None,
          requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    """Standard normal."""
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    d, dev = _float_dtype(dtype, "randn"), backend.factory_device(device)
    return write_out(_finish(_random_float(_gen(generator, dev), "normal", _size(size), d, dev), requires_grad), out)


def randint(low: int = 0, high: int | None = None, size: Sequence = None, *, generator: Any = None,
            out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    """Integers uniform on ``[low, high)``: ``randint(high, size)`` or ``randint(low, high, size)``."""
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    if size is None:
        if high is None or not isinstance(high, (tuple, list)):
            raise TypeError("randint() missing required argument 'size' (a tuple)")
        low, high, size = 0, low, high
    if high is None:
        raise TypeError("randint() missing required argument 'high'")
    if low >= high:
        raise RuntimeError(f"random_ expects 'from' to be less than 'to', but got from={low} >= to={high}")
    d, dev = (int64 if dtype is None else as_dtype(dtype)), backend.factory_device(device)
    with backend.device_context(dev):
        arr = _gen(generator, dev).integers(low, high, _size(tuple(size)), dtype=int64.np).astype(d.np)
    return write_out(_finish(arr, requires_grad), out)


def randperm(n: int, *, generator: Any = None, out: Any = None, dtype: Any = None, device: Any = None,
             requires_grad: bool = False, layout: Any = None, pin_memory: bool = False) -> Tensor:
    """A random permutation of ``0 .. n-1``."""
    _check_layout(layout)
    dtype, device = _dtype_device_of_out(out, dtype, device)
    d, dev = (int64 if dtype is None else as_dtype(dtype)), backend.factory_device(device)
    with backend.device_context(dev):
        rng = _gen(generator, dev)
        if hasattr(rng, "permutation"):
            arr = rng.permutation(int(n)).astype(d.np)
        else:  # CuPy's Generator has no permutation: the order of n uniform draws is uniform
            arr = backend.array_module(rng.random(1)).argsort(rng.random(int(n))).astype(d.np)
    return write_out(_finish(arr, requires_grad), out)


def normal(mean: Any = 0.0, std: Any = 1.0, size: Sequence | None = None, *, generator: Any = None,
           out: Any = None, dtype: Any = None, device: Any = None, requires_grad: bool = False) -> Tensor:
    """Normal samples: ``mean``/``std`` may be numbers (then ``size`` is needed) or tensors
    (broadcast together, one sample per element)."""
    dtype, device = _dtype_device_of_out(out, dtype, device)
    if isinstance(mean, Tensor) or isinstance(std, Tensor):
        ref = mean if isinstance(mean, Tensor) else std
        from .broadcast import broadcast_shapes
        shape = broadcast_shapes(*(t._data.shape for t in (mean, std) if isinstance(t, Tensor)))
        m = mean._data if isinstance(mean, Tensor) else mean
        s = std._data if isinstance(std, Tensor) else std
        with backend.device_context(ref.device):
            z = _random_float(_gen(generator, ref.device), "normal", shape, ref.dtype, ref.device)
            return write_out(_finish((z * s + m).astype(ref.dtype.np), requires_grad), out)
    if size is None:
        raise TypeError("normal() with a float mean and std needs size=")
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    d, dev = _float_dtype(dtype, "normal"), backend.factory_device(device)
    with backend.device_context(dev):
        z = _random_float(_gen(generator, dev), "normal", _size(tuple(size)), d, dev)
        return write_out(_finish((z * std + mean).astype(d.np), requires_grad), out)


def rand_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
              memory_format: Any = None, generator: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    d, dev = _like(input, dtype, device)
    return rand(input._data.shape, dtype=d, device=dev, requires_grad=requires_grad, generator=generator)


def randn_like(input: Tensor, *, dtype: Any = None, device: Any = None, requires_grad: bool = False,
               memory_format: Any = None, generator: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    d, dev = _like(input, dtype, device)
    return randn(input._data.shape, dtype=d, device=dev, requires_grad=requires_grad, generator=generator)


def randint_like(input: Tensor, low: int = 0, high: int | None = None, *, dtype: Any = None,
                 device: Any = None, requires_grad: bool = False, memory_format: Any = None,
                 generator: Any = None, layout: Any = None, pin_memory: bool = False) -> Tensor:
    _check_layout(layout)
    if high is None:
        low, high = 0, low
    d, dev = _like(input, dtype, device)
    return randint(low, high, input._data.shape, dtype=d, device=dev, requires_grad=requires_grad,
                   generator=generator)


# In-place samplers used by ``Tensor.uniform_`` & co. (and so by ``nn.init``): each returns a
# fresh tensor shaped like ``t`` that ``Tensor._inplace`` copies in.
@backend.on_input_device
def uniform_like(t: Tensor, a: float = 0.0, b: float = 1.0, *, generator: Any = None) -> Tensor:
    u = _random_float(_gen(generator, t.device), "uniform", t._data.shape, _as_float(t), t.device)
    shift = complex(a, a) if u.dtype.kind == "c" else a  # PyTorch: each complex part is U(a, b)
    return Tensor._make((u * (b - a) + shift).astype(t._data.dtype))


@backend.on_input_device
def normal_like(t: Tensor, mean: float = 0.0, std: float = 1.0, *, generator: Any = None) -> Tensor:
    if std < 0:
        raise RuntimeError(f"normal expects std >= 0.0, but found std {std}")
    z = _random_float(_gen(generator, t.device), "normal", t._data.shape, _as_float(t), t.device)
    if z.dtype.kind == "c":  # PyTorch: each part N(mean, std^2 / 2) (z's parts are N(0, 1/2))
        mean = complex(mean, mean)
    return Tensor._make((z * std + mean).astype(t._data.dtype))


@backend.on_input_device
def bernoulli_like(t: Tensor, p: Any = 0.5, *, generator: Any = None) -> Tensor:
    p_arr = p._data if isinstance(p, Tensor) else p
    u = _random_float(_gen(generator, t.device), "uniform", t._data.shape, float64, t.device)
    return Tensor._make((u < p_arr).astype(t._data.dtype))


@backend.on_input_device
def bernoulli(input: Tensor, p: Any = None, *, generator: Any = None, out: Any = None) -> Tensor:
    """0/1 samples with probabilities ``input`` (or ``p``)."""
    probs = input if p is None else p
    p_arr = probs._data if isinstance(probs, Tensor) else probs
    u = _random_float(_gen(generator, input.device), "uniform", input._data.shape, float64, input.device)
    return write_out(Tensor._make((u < p_arr).astype(input._data.dtype)), out)


@backend.on_input_device
def random_like(t: Tensor, from_: int = 0, to: int | None = None, *, generator: Any = None) -> Tensor:
    if to is None:
        d = t.dtype
        to = (2 ** (backend.finfo(d).nmant + 1) + 1) if d.is_floating_point else (
            2 if d is bool_ else int(backend.iinfo(d).max) + 1)
    with backend.device_context(t.device):
        arr = _gen(generator, t.device).integers(from_, to, t._data.shape, dtype=int64.np)
    return Tensor._make(arr.astype(t._data.dtype))


@backend.on_input_device
def exponential_like(t: Tensor, lambd: float = 1.0, *, generator: Any = None) -> Tensor:
    u = _random_float(_gen(generator, t.device), "uniform", t._data.shape, float64, t.device)
    xp = backend.array_module(u)
    return Tensor._make((-xp.log1p(-u) / lambd).astype(t._data.dtype))


@backend.on_input_device
def geometric_like(t: Tensor, p: float, *, generator: Any = None) -> Tensor:
    u = _random_float(_gen(generator, t.device), "uniform", t._data.shape, float64, t.device)
    xp = backend.array_module(u)
    return Tensor._make(xp.ceil(xp.log1p(-u) / math.log1p(-p)).astype(t._data.dtype))


@backend.on_input_device
def log_normal_like(t: Tensor, mean: float = 1.0, std: float = 2.0, *, generator: Any = None) -> Tensor:
    z = _random_float(_gen(generator, t.device), "normal", t._data.shape, float64, t.device)
    xp = backend.array_module(z)
    return Tensor._make(xp.exp(z * std + mean).astype(t._data.dtype))


@backend.on_input_device
def cauchy_like(t: Tensor, median: float = 0.0, sigma: float = 1.0, *, generator: Any = None) -> Tensor:
    u = _random_float(_gen(generator, t.device), "uniform", t._data.shape, float64, t.device)
    xp = backend.array_module(u)
    return Tensor._make((median + sigma * xp.tan(math.pi * (u - 0.5))).astype(t._data.dtype))


@backend.on_input_device
def multinomial(input: Tensor, num_samples: int, replacement: bool = False, *, generator: Any = None, out: Any = None) -> Tensor:
    """Indices drawn from the (unnormalised) probabilities in each row of ``input``."""
    if input.ndim not in (1, 2):
        raise RuntimeError(f"prob_dist must be 1 or 2 dim, got {input.ndim}")
    probs = input._data.astype(float64.np)
    xp = backend.array_module(probs)
    if bool((probs < 0).any()) or not bool(xp.isfinite(probs).all()):
        raise RuntimeError("probability tensor contains either `inf`, `nan` or element < 0")
    rows = probs.reshape(-1, probs.shape[-1])
    if not replacement and num_samples > rows.shape[-1]:
        raise RuntimeError("cannot sample n_sample > prob_dist.size(-1) samples without replacement")
    rng = _gen(generator, input.device)
    if replacement:
        cdf = xp.cumsum(rows, axis=-1)
        cdf = cdf / cdf[:, -1:]
        u = rng.random((rows.shape[0], num_samples))
        # how many cumulative probabilities are <= u: searchsorted, for all rows at once
        idx = (cdf[:, None, :] <= u[:, :, None]).sum(axis=-1)
        idx = xp.minimum(idx, rows.shape[-1] - 1)
    else:
        # Gumbel top-k: sampling without replacement in one vectorised step.
        g = -xp.log(-xp.log(rng.random(rows.shape)))
        with_noise = xp.where(rows > 0, xp.log(xp.where(rows > 0, rows, 1.0)) + g, -xp.inf)
        idx = xp.argsort(-with_noise, axis=-1, kind="stable")[:, :num_samples]
    idx = idx.astype(int64.np)
    return write_out(Tensor._make(idx.reshape(input._data.shape[:-1] + (num_samples,))), out)


def _as_float(t: Tensor) -> backend.dtype:
    d = t.dtype
    return d if d.is_floating_point or d.is_complex else float64
