"""``Distribution``: the base class of every probability distribution, as PyTorch's
``torch.distributions.Distribution``.

Shapes: a distribution holds a batch of independent distributions (``batch_shape``), each over
events of ``event_shape``; ``sample(sample_shape)`` has shape ``sample_shape + batch_shape +
event_shape`` and ``log_prob(value)`` has shape ``sample_shape + batch_shape``.
"""
from __future__ import annotations

import numbers
import warnings
from typing import Any

import edunn
from . import constraints

__all__ = ["Distribution"]

_SQRT_2PI_LOG = 0.9189385332046727  # log(sqrt(2 pi))


def _size(shape: Any) -> edunn.Size:
    return edunn.Size(tuple(shape))


class Distribution:
    """Base class: subclasses set ``arg_constraints`` and ``support`` and write the methods they
    have (``rsample`` for reparameterised sampling, ``log_prob``, ``entropy``, ...)."""
    has_rsample = False
    has_enumerate_support = False
    _validate_args = __debug__

    @staticmethod
    def set_default_validate_args(value: bool) -> None:
        """Whether distributions check their arguments when ``validate_args`` is not given."""
        if value not in (True, False):
            raise ValueError
        Distribution._validate_args = value

    def __init__(self, batch_shape: Any = (), event_shape: Any = (), validate_args: bool | None = None):
        self._batch_shape = _size(batch_shape)
        self._event_shape = _size(event_shape)
        if validate_args is not None:
            self._validate_args = validate_args
        if self._validate_args:
            try:
                arg_constraints = self.arg_constraints
            except NotImplementedError:
                arg_constraints = {}
                warnings.warn(f"{self.__class__} does not define `arg_constraints`. Please set "
                              "`arg_constraints = {}` or initialize the distribution with "
                              "`validate_args=False` to turn off validation.")
            for param, constraint in arg_constraints.items():
                if isinstance(constraint, constraints._Dependent):
                    continue
                if param not in self.__dict__ and isinstance(getattr(type(self), param, None), lazy_property):
                    continue  # the parameter given was the other one (probs vs logits)
                value = getattr(self, param)
                valid = constraint.check(value)
                if not bool(edunn.all(valid)):
                    raise ValueError(
                        f"Expected parameter {param} ({type(value).__name__} of shape {tuple(value.shape)}) "
                        f"of distribution {self!r} to satisfy the constraint {constraint!r}, "
                        f"but found invalid values:\n{value}")
        super().__init__()

    def expand(self, batch_shape: Any, _instance: Any = None) -> "Distribution":
        """A view of this distribution with a bigger ``batch_shape`` (parameters are expanded)."""
        raise NotImplementedError

    def _get_checked_instance(self, cls: type, _instance: Any) -> "Distribution":
        if _instance is None and type(self).__init__ != cls.__init__:
            raise NotImplementedError(
                f"Subclass {self.__class__.__name__} of {cls.__name__} that defines a custom __init__ "
                "method must also define a custom .expand() method.")
        return self.__new__(type(self)) if _instance is None else _instance

    @property
    def batch_shape(self) -> edunn.Size:
        return self._batch_shape

    @property
    def event_shape(self) -> edunn.Size:
        return self._event_shape

    @property
    def arg_constraints(self) -> dict:
        raise NotImplementedError

    @property
    def support(self) -> constraints.Constraint:
        raise NotImplementedError

    @property
    def mean(self) -> edunn.Tensor:
        raise NotImplementedError(f"{self.__class__} does not implement mean")

    @property
    def mode(self) -> edunn.Tensor:
        raise NotImplementedError(f"{self.__class__} does not implement mode")

    @property
    def variance(self) -> edunn.Tensor:
        raise NotImplementedError(f"{self.__class__} does not implement variance")

    @property
    def stddev(self) -> edunn.Tensor:
        return self.variance.sqrt()

    def sample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """Draws ``sample_shape`` samples, without a graph back to the parameters."""
        with edunn.no_grad():
            return self.rsample(sample_shape)

    def rsample(self, sample_shape: Any = ()) -> edunn.Tensor:
        """Draws reparameterised samples: gradients flow back to the parameters."""
        raise NotImplementedError

    def log_prob(self, value: edunn.Tensor) -> edunn.Tensor:
        raise NotImplementedError

    def cdf(self, value: edunn.Tensor) -> edunn.Tensor:
        raise NotImplementedError

    def icdf(self, value: edunn.Tensor) -> edunn.Tensor:
        raise NotImplementedError

    def entropy(self) -> edunn.Tensor:
        raise NotImplementedError

    def enumerate_support(self, expand: bool = True) -> edunn.Tensor:
        """Every value of a discrete support, along a new leading dim (``has_enumerate_support``)."""
        raise NotImplementedError

    def perplexity(self) -> edunn.Tensor:
        return edunn.exp(self.entropy())

    def _extended_shape(self, sample_shape: Any = ()) -> edunn.Size:
        return _size(tuple(sample_shape) + tuple(self._batch_shape) + tuple(self._event_shape))

    def _validate_sample(self, value: Any) -> None:
        """Raises PyTorch's ``ValueError`` if ``value`` is not a tensor, does not broadcast with
        ``batch_shape + event_shape`` or lies outside ``support``."""
        if not isinstance(value, edunn.Tensor):
            raise ValueError("The value argument to log_prob must be a Tensor")
        event_dim_start = len(value.shape) - len(self._event_shape)
        if tuple(value.shape[event_dim_start:]) != tuple(self._event_shape):
            raise ValueError(f"The right-most size of value must match event_shape: "
                             f"{value.shape} vs {self._event_shape}.")
        actual_shape = value.shape
        expected_shape = _size(tuple(self._batch_shape) + tuple(self._event_shape))
        for i, j in zip(reversed(actual_shape), reversed(expected_shape)):
            if i != 1 and j != 1 and i != j:
                raise ValueError(f"Value is not broadcastable with batch_shape+event_shape: "
                                 f"{actual_shape} vs {expected_shape}.")
        try:
            support = self.support
        except NotImplementedError:
            warnings.warn(f"{self.__class__} does not define `support` to enable sample validation. "
                          "Please initialize the distribution with `validate_args=False` to turn off validation.")
            return
        valid = support.check(value)
        if not bool(edunn.all(valid)):
            raise ValueError(
                f"Expected value argument ({type(value).__name__} of shape {tuple(value.shape)}) "
                f"to be within the support ({support!r}) of the distribution {self!r}, "
                f"but found invalid values:\n{value}")

    def __repr__(self) -> str:
        param_names = [k for k in self.arg_constraints if k in self.__dict__]
        # as PyTorch's f-string: a 0-d tensor formats as its number, a 1-element one as a tensor
        args_string = ", ".join(
            f"{p}: {_format_param(self.__dict__[p])}" for p in param_names)
        return self.__class__.__name__ + "(" + args_string + ")"


class lazy_property:
    """A property computed on first use and then stored on the instance (``probs`` from
    ``logits`` or the reverse), as PyTorch's ``torch.distributions.utils.lazy_property``."""

    def __init__(self, wrapped):
        self.wrapped = wrapped
        self.__doc__ = wrapped.__doc__

    def __get__(self, instance, obj_type=None):
        if instance is None:
            return self
        with edunn.enable_grad():
            value = self.wrapped(instance)
        instance.__dict__[self.wrapped.__name__] = value
        return value


def _check_probs_or_logits(probs: Any, logits: Any) -> None:
    """Exactly one of ``probs`` and ``logits`` must be given (PyTorch's message)."""
    if (probs is None) == (logits is None):
        raise ValueError("Either `probs` or `logits` must be specified, but not both.")


class _ProbsOrLogits:
    """Mixin for a distribution given ``probs`` or ``logits``: the one given is stored (and as
    ``_param``), the other is computed on first use (``lazy_property``), and ``expand`` expands
    whichever of them exist. ``_is_binary`` picks the conversion: the sigmoid/logit pair for one
    probability per entry, or softmax/log along the last dim (``Categorical``)."""
    _is_binary = True

    def _store_probs_or_logits(self, probs: Any, logits: Any) -> edunn.Size:
        """Stores the given parameter as a tensor; returns the batch shape it makes (``()`` for a
        Python number)."""
        _check_probs_or_logits(probs, logits)
        given = probs if probs is not None else logits
        (param,) = broadcast_all(given)
        if probs is not None:
            self.probs = param
        else:
            self.logits = param
        self._param = param
        return edunn.Size(()) if isinstance(given, numbers.Number) else param.size()

    def _expand_probs_or_logits(self, new: Any, param_shape: Any) -> None:
        """Gives ``new`` this distribution's ``probs`` and/or ``logits`` expanded to ``param_shape``."""
        if "probs" in self.__dict__:
            new.probs = self.probs.expand(param_shape)
            new._param = new.probs
        if "logits" in self.__dict__:
            new.logits = self.logits.expand(param_shape)
            new._param = new.logits

    @lazy_property
    def logits(self):
        return probs_to_logits(self.probs, is_binary=self._is_binary)

    @lazy_property
    def probs(self):
        return logits_to_probs(self.logits, is_binary=self._is_binary)


def sum_rightmost(value: edunn.Tensor, dim: int) -> edunn.Tensor:
    """Sums the ``dim`` rightmost dimensions of ``value``."""
    if dim == 0:
        return value
    return value.reshape(tuple(value.shape[:value.dim() - dim]) + (-1,)).sum(-1)


def _format_param(value: edunn.Tensor) -> str:
    if value.numel() != 1:
        return str(value.size())
    return str(value.item()) if value.dim() == 0 else str(value)


def broadcast_all(*values: Any) -> tuple:
    """Tensors (and numbers, made tensors of the default dtype on the tensors' device) broadcast
    to one shape, as PyTorch's ``torch.distributions.utils.broadcast_all``."""
    if not all(isinstance(v, (edunn.Tensor, numbers.Number)) for v in values):
        raise ValueError("Input arguments must all be instances of Number, edunn.Tensor or "
                         "objects implementing __torch_function__.")
    ref = next((v for v in values if isinstance(v, edunn.Tensor)), None)
    if ref is None:
        dtype, device = edunn.get_default_dtype(), None
    else:
        dtype = ref.dtype if ref.is_floating_point() else edunn.get_default_dtype()
        device = ref.device
    values = [v if isinstance(v, edunn.Tensor) else edunn.tensor(v, dtype=dtype, device=device)
              for v in values]
    return tuple(edunn.broadcast_tensors(*values))


def probs_to_logits(probs: edunn.Tensor, is_binary: bool = False) -> edunn.Tensor:
    ps_clamped = clamp_probs(probs)
    if is_binary:
        return edunn.log(ps_clamped) - edunn.log1p(-ps_clamped)
    return edunn.log(ps_clamped)


def logits_to_probs(logits: edunn.Tensor, is_binary: bool = False) -> edunn.Tensor:
    if is_binary:
        return edunn.sigmoid(logits)
    return edunn.softmax(logits, dim=-1)


def clamp_probs(probs: edunn.Tensor) -> edunn.Tensor:
    eps = edunn.finfo(probs.dtype).eps
    return probs.clamp(min=eps, max=1 - eps)
