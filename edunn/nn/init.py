"""``edunn.nn.init``: filling weights before training, with PyTorch's names (lesson 07).

Every function writes into the tensor it is given, in place and without recording gradients
(a ``Parameter`` is a leaf that requires grad, and initialising it is not part of any model's
computation), and returns that same tensor.  Random draws come from ``edunn``'s generators, so
``edunn.manual_seed(s)`` (or an explicit ``generator=``) makes them reproducible; the streams
differ from PyTorch's, the distributions do not.

The scale of the random inits follows from one requirement (lesson 07): a layer
``y = W x`` with ``fan_in`` inputs should keep ``Var[y] ~ Var[x]``, which needs
``Var[W] = gain^2 / fan_in`` (Kaiming/He, forward pass), ``gain^2 / fan_out`` (backward pass) or
the compromise ``2 gain^2 / (fan_in + fan_out)`` (Xavier/Glorot).  A uniform ``U(-a, a)`` has
variance ``a^2 / 3``, hence the ``sqrt(3)`` that turns a standard deviation into a bound.
"""
from __future__ import annotations

import math
import warnings
from typing import Any, Callable

from .. import backend
from ..autograd import no_grad
from ..tensor import Tensor
from ..ops import creation as _cr

__all__ = [
    "calculate_gain", "uniform_", "normal_", "trunc_normal_", "constant_", "ones_", "zeros_",
    "eye_", "dirac_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_", "kaiming_normal_",
    "orthogonal_", "sparse_",
    "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
    "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
]

_LINEAR_FNS = ("linear", "conv1d", "conv2d", "conv3d", "conv_transpose1d", "conv_transpose2d",
               "conv_transpose3d")


def _check_tensor(tensor: Any, who: str) -> None:
    if not isinstance(tensor, Tensor):
        raise TypeError(f"{who}(): argument 'tensor' must be a Tensor, not {type(tensor).__name__}")


# ----------------------------------------------------------------------------------------------
# gains and fans
# ----------------------------------------------------------------------------------------------
def calculate_gain(nonlinearity: str, param: int | float | None = None) -> float:
    r"""The recommended gain for a nonlinearity (the factor that restores unit variance after it).

    ================= ====================================================
    nonlinearity      gain
    ================= ====================================================
    Linear / Identity 1
    Conv{1,2,3}D      1
    Sigmoid           1
    Tanh              5/3
    ReLU              sqrt(2)          (ReLU zeroes half the inputs: E[relu(x)^2] = Var[x] / 2)
    Leaky Relu        sqrt(2 / (1 + negative_slope^2))
    SELU              3/4
    ================= ====================================================

    ``param`` is leaky_relu's ``negative_slope`` (default 0.01).  Lesson 07 derives the ReLU and
    leaky-ReLU gains.
    """
    if nonlinearity in _LINEAR_FNS or nonlinearity == "sigmoid":
        return 1
    if nonlinearity == "tanh":
        return 5.0 / 3
    if nonlinearity == "relu":
        return math.sqrt(2.0)
    if nonlinearity == "leaky_relu":
        if param is None:
            negative_slope = 0.01
        elif (not isinstance(param, bool) and isinstance(param, int)) or isinstance(param, float):
            negative_slope = param
        else:
            raise ValueError(f"negative_slope {param} not a valid number")
        return math.sqrt(2.0 / (1 + negative_slope ** 2))
    if nonlinearity == "selu":
        # found empirically (pytorch/pytorch#50664); for self-normalising nets use 'linear'
        return 3.0 / 4
    raise ValueError(f"Unsupported nonlinearity {nonlinearity}")


def _calculate_fan_in_and_fan_out(tensor: Tensor) -> tuple[int, int]:
    """``fan_in = size(1) * receptive field``, ``fan_out = size(0) * receptive field``: a weight
    is laid out ``(out_features, in_features, *kernel)`` as in ``Linear`` and ``ConvNd``."""
    dimensions = tensor.dim()
    if dimensions < 2:
        raise ValueError(
            "Fan in and fan out can not be computed for tensor with fewer than 2 dimensions")
    num_input_fmaps = tensor.size(1)
    num_output_fmaps = tensor.size(0)
    receptive_field_size = 1
    for s in tensor.shape[2:]:
        receptive_field_size *= s
    return num_input_fmaps * receptive_field_size, num_output_fmaps * receptive_field_size


def _calculate_correct_fan(tensor: Tensor, mode: str) -> int:
    mode = mode.lower()
    valid_modes = ["fan_in", "fan_out"]
    if mode not in valid_modes:
        raise ValueError(f"Mode {mode} not supported, please use one of {valid_modes}")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    return fan_in if mode == "fan_in" else fan_out


# ----------------------------------------------------------------------------------------------
# plain distributions and constants
# ----------------------------------------------------------------------------------------------
def uniform_(tensor: Tensor, a: float = 0.0, b: float = 1.0, generator: Any = None) -> Tensor:
    r"""Fill ``tensor`` with samples of :math:`\mathcal{U}(a, b)`."""
    _check_tensor(tensor, "uniform_")
    with no_grad():
        return tensor.uniform_(a, b, generator=generator)


def normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, generator: Any = None) -> Tensor:
    r"""Fill ``tensor`` with samples of :math:`\mathcal{N}(\text{mean}, \text{std}^2)`."""
    _check_tensor(tensor, "normal_")
    with no_grad():
        return tensor.normal_(mean, std, generator=generator)


@backend.on_input_device
def trunc_normal_(tensor: Tensor, mean: float = 0.0, std: float = 1.0, a: float = -2.0,
                  b: float = 2.0, generator: Any = None) -> Tensor:
    r"""Fill ``tensor`` with :math:`\mathcal{N}(\text{mean}, \text{std}^2)` samples truncated to
    ``[a, b]``: values outside are redrawn until they fall inside.

    When ``[a, b]`` holds most of the mass (probability ``p > 0.3``) redrawing normals is quick;
    otherwise (a narrow or far-off window) we draw uniformly on ``[a, b]`` and accept ``x`` with
    probability ``exp(-(x - mean)^2 / (2 std^2))`` relative to the density's peak on ``[a, b]``
    (rejection sampling), which needs few rounds whatever the window.
    """
    _check_tensor(tensor, "trunc_normal_")
    if (mean < a - 2 * std) or (mean > b + 2 * std):
        warnings.warn("mean is more than 2 std from [a, b] in nn.init.trunc_normal_. "
                      "The distribution of values may be incorrect.", stacklevel=2)
    if tensor.dtype.is_complex:  # complex numbers have no order, so no truncation window
        raise NotImplementedError(f"\"lt_{tensor.device.type}\" not implemented for "
                                  f"'{tensor.dtype.scalar_name}'")
    if tensor.numel() == 0:
        return tensor
    dev = tensor.device

    def norm_cdf(x: float) -> float:
        return (1.0 + math.erf(x / math.sqrt(2.0))) / 2.0

    def draw(kind: str, n: int):
        # float64 draws: the bounds are compared exactly, whatever the tensor's dtype
        fn = _cr.randn if kind == "normal" else _cr.rand
        return fn((n,), dtype=backend.float64, device=dev, generator=generator)._data

    p = norm_cdf((b - mean) / std) - norm_cdf((a - mean) / std)
    n = tensor.numel()
    xp = backend.array_module(tensor._data)
    with no_grad():
        if p > 0.3:
            result = draw("normal", n) * std + mean
            bad = xp.nonzero((result < a) | (result > b))[0]
            while bad.size:
                result[bad] = draw("normal", bad.size) * std + mean
                bad = bad[(result[bad] < a) | (result[bad] > b)]
        else:
            mode = max(a, min(mean, b))
            log_peak = -0.5 * ((mode - mean) / std) ** 2
            result = xp.empty(n, dtype=backend.float64.np)
            pending = xp.arange(n)
            while pending.size:
                cand = draw("uniform", pending.size) * (b - a) + a
                log_accept = -0.5 * ((cand - mean) / std) ** 2 - log_peak
                ok = xp.log(draw("uniform", pending.size)) <= log_accept
                result[pending[ok]] = cand[ok]
                pending = pending[~ok]
        # mean + std * z can round a hair past a bound; the contract is values in [a, b]
        result = xp.clip(result, a, b).reshape(tensor.shape)
        tensor.copy_(Tensor._make(result.astype(tensor._data.dtype)))
    return tensor


def constant_(tensor: Tensor, val: float) -> Tensor:
    r"""Fill ``tensor`` with the value :math:`\text{val}`."""
    _check_tensor(tensor, "constant_")
    with no_grad():
        return tensor.fill_(val)


def ones_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with ones."""
    _check_tensor(tensor, "ones_")
    with no_grad():
        return tensor.fill_(1.0)


def zeros_(tensor: Tensor) -> Tensor:
    """Fill ``tensor`` with zeros."""
    _check_tensor(tensor, "zeros_")
    with no_grad():
        return tensor.zero_()


def eye_(tensor: Tensor) -> Tensor:
    """Fill the 2-D ``tensor`` with the identity matrix, so a ``Linear`` layer passes as many of
    its inputs through unchanged as it can."""
    _check_tensor(tensor, "eye_")
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    with no_grad():
        tensor.copy_(_cr.eye(*tensor.shape, dtype=tensor.dtype, device=tensor.device))
    return tensor


@backend.on_input_device
def dirac_(tensor: Tensor, groups: int = 1) -> Tensor:
    """Fill the {3, 4, 5}-D ``tensor`` with the Dirac delta: a convolution with it copies as many
    input channels as it can to the output (each group its own, when ``groups > 1``).

    ``weight[g * out_per_group + d, d, k1 // 2, k2 // 2, ...] = 1`` for
    ``d < min(out_per_group, in_channels_per_group)``, zero elsewhere.
    """
    _check_tensor(tensor, "dirac_")
    dimensions = tensor.ndimension()
    if dimensions not in (3, 4, 5):
        raise ValueError("Only tensors with 3, 4, or 5 dimensions are supported")
    sizes = tensor.size()
    if sizes[0] % groups != 0:
        raise ValueError("dim 0 must be divisible by groups")
    out_chans_per_grp = sizes[0] // groups
    min_dim = min(out_chans_per_grp, sizes[1])
    arr = backend.array_module(tensor._data).zeros(tuple(sizes), dtype=tensor._data.dtype)
    centre = tuple(s // 2 for s in sizes[2:])
    for g in range(groups):
        for d in range(min_dim):
            arr[(g * out_chans_per_grp + d, d) + centre] = 1
    with no_grad():
        tensor.copy_(Tensor._make(arr))
    return tensor


# ----------------------------------------------------------------------------------------------
# scaled by fan: Xavier (Glorot) and Kaiming (He)
# ----------------------------------------------------------------------------------------------
def xavier_uniform_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    r"""Glorot & Bengio (2010): :math:`\mathcal{U}(-a, a)` with
    :math:`a = \text{gain} \sqrt{6 / (\text{fan\_in} + \text{fan\_out})}`."""
    _check_tensor(tensor, "xavier_uniform_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    a = math.sqrt(3.0) * std
    with no_grad():
        return tensor.uniform_(-a, a, generator=generator)


def xavier_normal_(tensor: Tensor, gain: float = 1.0, generator: Any = None) -> Tensor:
    r"""Glorot & Bengio (2010): :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} \sqrt{2 / (\text{fan\_in} + \text{fan\_out})}`."""
    _check_tensor(tensor, "xavier_normal_")
    fan_in, fan_out = _calculate_fan_in_and_fan_out(tensor)
    std = gain * math.sqrt(2.0 / float(fan_in + fan_out))
    with no_grad():
        return tensor.normal_(0.0, std, generator=generator)


def _kaiming_std(tensor: Tensor, a: float, mode: str, nonlinearity: str) -> float:
    fan = _calculate_correct_fan(tensor, mode)
    return calculate_gain(nonlinearity, a) / math.sqrt(fan)


def kaiming_uniform_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                     nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    r"""He et al. (2015): :math:`\mathcal{U}(-\text{bound}, \text{bound})` with
    :math:`\text{bound} = \text{gain} \sqrt{3 / \text{fan\_mode}}`.

    ``a`` is the negative slope of the rectifier after this layer (used with ``'leaky_relu'``);
    ``mode='fan_in'`` keeps the forward activations' variance, ``'fan_out'`` the gradients'.
    ``Linear`` and ``ConvNd`` use ``a=sqrt(5)``, which gives ``bound = 1 / sqrt(fan_in)``.
    """
    _check_tensor(tensor, "kaiming_uniform_")
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    bound = math.sqrt(3.0) * _kaiming_std(tensor, a, mode, nonlinearity)
    with no_grad():
        return tensor.uniform_(-bound, bound, generator=generator)


def kaiming_normal_(tensor: Tensor, a: float = 0, mode: str = "fan_in",
                    nonlinearity: str = "leaky_relu", generator: Any = None) -> Tensor:
    r"""He et al. (2015): :math:`\mathcal{N}(0, \text{std}^2)` with
    :math:`\text{std} = \text{gain} / \sqrt{\text{fan\_mode}}`."""
    _check_tensor(tensor, "kaiming_normal_")
    if 0 in tensor.shape:
        warnings.warn("Initializing zero-element tensors is a no-op", stacklevel=2)
        return tensor
    std = _kaiming_std(tensor, a, mode, nonlinearity)
    with no_grad():
        return tensor.normal_(0, std, generator=generator)


# ----------------------------------------------------------------------------------------------
# structured random matrices
# ----------------------------------------------------------------------------------------------
@backend.on_input_device
def orthogonal_(tensor: Tensor, gain: float = 1, generator: Any = None) -> Tensor:
    r"""Fill ``tensor`` with a (semi-)orthogonal matrix times ``gain`` (Saxe et al., 2013); dims
    after the first are flattened.

    A Gaussian matrix ``A = QR``; multiplying each column of ``Q`` by the sign of ``R``'s diagonal
    makes the factorisation unique, so ``Q`` is uniformly (Haar) distributed.  Rows < cols: the
    transpose is factorised, so the rows come out orthonormal instead of the columns.
    """
    _check_tensor(tensor, "orthogonal_")
    if tensor.ndimension() < 2:
        raise ValueError("Only tensors with 2 or more dimensions are supported")
    if tensor.numel() == 0:
        return tensor
    if tensor.dtype.is_complex:  # PyTorch's sign(diag(R)) step has no complex form
        raise NotImplementedError("Unlike NumPy, torch.sign is not intended to support complex "
                                  "numbers. Please use torch.sgn instead.")
    rows = tensor.size(0)
    cols = tensor.numel() // rows
    d = tensor.dtype if tensor.dtype in (backend.float32, backend.float64) else backend.float64
    flat = _cr.randn((rows, cols), dtype=d, device=tensor.device, generator=generator)._data
    xp = backend.array_module(flat)
    if rows < cols:
        flat = flat.T
    q, r = xp.linalg.qr(flat)
    q = q * xp.sign(xp.diagonal(r))
    if rows < cols:
        q = q.T
    with no_grad():
        tensor.copy_(Tensor._make((q * gain).reshape(tensor.shape).astype(tensor._data.dtype)))
    return tensor


@backend.on_input_device
def sparse_(tensor: Tensor, sparsity: float, std: float = 0.01, generator: Any = None) -> Tensor:
    r"""Fill the 2-D ``tensor`` as a sparse matrix (Martens, 2010): in every column a fraction
    ``sparsity`` of the entries (``ceil(sparsity * rows)`` of them, at random rows) is zero, the
    rest are drawn from :math:`\mathcal{N}(0, \text{std}^2)`."""
    _check_tensor(tensor, "sparse_")
    if tensor.ndimension() != 2:
        raise ValueError("Only tensors with 2 dimensions are supported")
    rows, cols = tensor.shape
    num_zeros = math.ceil(sparsity * rows)
    with no_grad():
        tensor.normal_(0, std, generator=generator)
        if num_zeros > 0 and tensor.numel():
            # one random permutation per column at once: the rank of an iid uniform in its column
            u = _cr.rand((rows, cols), dtype=backend.float64, device=tensor.device,
                         generator=generator)._data
            xp = backend.array_module(u)
            rank = xp.argsort(xp.argsort(u, axis=0), axis=0)
            keep = Tensor._make((rank >= num_zeros).astype(tensor._data.dtype))
            tensor.mul_(keep)
    return tensor


# ----------------------------------------------------------------------------------------------
# the old names without the trailing underscore, deprecated as in PyTorch
# ----------------------------------------------------------------------------------------------
def _make_deprecate(meth: Callable) -> Callable:
    new_name = meth.__name__
    old_name = new_name[:-1]

    def deprecated_init(*args: Any, **kwargs: Any) -> Tensor:
        warnings.warn(f"`nn.init.{old_name}` is now deprecated in favor of `nn.init.{new_name}`.",
                      FutureWarning, stacklevel=2)
        return meth(*args, **kwargs)

    deprecated_init.__doc__ = f"{old_name}(...): deprecated, use ``nn.init.{new_name}``."
    deprecated_init.__name__ = old_name
    return deprecated_init


uniform = _make_deprecate(uniform_)
normal = _make_deprecate(normal_)
constant = _make_deprecate(constant_)
eye = _make_deprecate(eye_)
dirac = _make_deprecate(dirac_)
xavier_uniform = _make_deprecate(xavier_uniform_)
xavier_normal = _make_deprecate(xavier_normal_)
kaiming_uniform = _make_deprecate(kaiming_uniform_)
kaiming_normal = _make_deprecate(kaiming_normal_)
orthogonal = _make_deprecate(orthogonal_)
sparse = _make_deprecate(sparse_)
