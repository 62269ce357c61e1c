"""The ``Transform`` protocol and the transforms that combine other transforms (compose, invert,
treat dims as one event, reshape, act blockwise along a dim), as PyTorch's
``torch.distributions.transforms``. The concrete maps (``ExpTransform``, ``AffineTransform``, ...)
live in ``transforms.py``, which re-exports everything here.

A transform ``t`` is a map ``y = t(x)`` from ``t.domain`` to ``t.codomain`` with an inverse
``x = t.inv(y)`` and ``t.log_abs_det_jacobian(x, y) = log |dy/dx|``: the term the
change-of-variables formula ``log p_Y(y) = log p_X(x) - log |dy/dx|`` needs
(``TransformedDistribution``).
"""
from __future__ import annotations

import functools
import operator
from typing import Any, Sequence

import edunn
from . import constraints
from .distribution import lazy_property, sum_rightmost

__all__ = ["CatTransform", "ComposeTransform", "IndependentTransform", "ReshapeTransform", "StackTransform",
           "Transform", "identity_transform"]


class Transform:
    """An invertible map with a computable ``log |det J|``; subclasses write ``_call`` (forward),
    ``_inverse`` and ``log_abs_det_jacobian``, and set ``domain``, ``codomain``, ``bijective`` and
    ``sign`` (+1 or -1 for a monotone increasing or decreasing map of numbers).

    ``cache_size=1`` remembers the last ``(x, y)`` pair: calling the transform again on the very
    same tensor object ``x`` (or its inverse on ``y``) returns the remembered result. That makes
    ``t.inv(t(x))`` return ``x`` itself (exact, and the graph runs back through ``x``), which
    matters where the inverse is unstable (``TanhTransform`` at +-1). Only 0 and 1 are allowed.
    """
    bijective = False
    domain: constraints.Constraint
    codomain: constraints.Constraint

    def __init__(self, cache_size: int = 0) -> None:
        self._cache_size = cache_size
        self._inv: Transform | None = None
        if cache_size == 0:
            pass
        elif cache_size == 1:
            self._cached_x_y = None, None
        else:
            raise ValueError("cache_size must be 0 or 1")
        super().__init__()

    def __getstate__(self):
        state = self.__dict__.copy()
        state["_inv"] = None
        return state

    @property
    def event_dim(self) -> int:
        if self.domain.event_dim == self.codomain.event_dim:
            return self.domain.event_dim
        raise ValueError("Please use either .domain.event_dim or .codomain.event_dim")

    @property
    def inv(self) -> "Transform":
        """The inverse transform (made once and kept, so ``t.inv.inv is t``)."""
        inv = self._inv
        if inv is None:
            inv = _InverseTransform(self)
            self._inv = inv
        return inv

    @property
    def sign(self) -> int:
        """The sign of the Jacobian's determinant (for bijective univariate transforms)."""
        raise NotImplementedError

    def with_cache(self, cache_size: int = 1) -> "Transform":
        """This transform with another ``cache_size`` (itself when it already has it)."""
        if self._cache_size == cache_size:
            return self
        if type(self).__init__ is Transform.__init__:
            return type(self)(cache_size=cache_size)
        raise NotImplementedError(f"{type(self)}.with_cache is not implemented")

    def __eq__(self, other):
        return self is other

    def __ne__(self, other):
        return not self.__eq__(other)

    def __call__(self, x: edunn.Tensor) -> edunn.Tensor:
        """``y = t(x)``, from the cache when ``x`` is the last input seen."""
        return self._through_cache(x, self._call, forward=True)

    def _inv_call(self, y: edunn.Tensor) -> edunn.Tensor:
        """``x = t^{-1}(y)``, from the cache when ``y`` is the last output seen."""
        return self._through_cache(y, self._inverse, forward=False)

    def _through_cache(self, value: edunn.Tensor, compute: Any, forward: bool) -> edunn.Tensor:
        """``compute(value)``; with a cache, the other half of the cached ``(x, y)`` pair when
        ``value`` is (the same object as) its ``x`` (``forward``) or its ``y``, and the new pair
        stored otherwise."""
        if self._cache_size == 0:
            return compute(value)
        x_old, y_old = self._cached_x_y
        if value is (x_old if forward else y_old):
            return y_old if forward else x_old
        result = compute(value)
        self._cached_x_y = (value, result) if forward else (result, value)
        return result

    def _call(self, x):
        raise NotImplementedError

    def _inverse(self, y):
        raise NotImplementedError

    def log_abs_det_jacobian(self, x: edunn.Tensor, y: edunn.Tensor) -> edunn.Tensor:
        """``log |dy/dx|`` given the input ``x`` and output ``y``."""
        raise NotImplementedError

    def __repr__(self) -> str:
        return self.__class__.__name__ + "()"

    def forward_shape(self, shape: Any) -> Any:
        """The output shape for an input of ``shape`` (the same, unless the map changes it)."""
        return shape

    def inverse_shape(self, shape: Any) -> Any:
        """The input shape for an output of ``shape``."""
        return shape


class _InverseTransform(Transform):
    """``t.inv``: swaps ``t``'s call and inverse, domain and codomain, and negates its log-det."""

    def __init__(self, transform: Transform) -> None:
        super().__init__(cache_size=transform._cache_size)
        self._inv = transform

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return self._inv.codomain

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return self._inv.domain

    @property
    def bijective(self):
        return self._inv.bijective

    @property
    def sign(self):
        return self._inv.sign

    @property
    def inv(self):
        return self._inv

    def with_cache(self, cache_size=1):
        return self.inv.with_cache(cache_size).inv

    def __eq__(self, other):
        if not isinstance(other, _InverseTransform):
            return False
        return self._inv == other._inv

    def __repr__(self):
        return f"{self.__class__.__name__}({self._inv!r})"

    def __call__(self, x):
        return self._inv._inv_call(x)

    def log_abs_det_jacobian(self, x, y):
        return -self._inv.log_abs_det_jacobian(y, x)

    def forward_shape(self, shape):
        return self._inv.inverse_shape(shape)

    def inverse_shape(self, shape):
        return self._inv.forward_shape(shape)


def _chain_end_constraint(parts: list, start: str, end: str) -> constraints.Constraint:
    """The constraint at the ``end`` of a chain of transforms walked in the order of ``parts``
    from its ``start`` (``"domain"``/``"codomain"``): the last part's ``end`` constraint, made
    ``independent`` over as many event dims as the largest any part needs, counted along the
    walk. ``ComposeTransform``'s ``codomain`` walks forward, its ``domain`` backward."""
    if not parts:
        return constraints.real
    constraint = getattr(parts[-1], end)
    event_dim = getattr(parts[0], start).event_dim
    for part in parts:
        event_dim += getattr(part, end).event_dim - getattr(part, start).event_dim
        event_dim = max(event_dim, getattr(part, end).event_dim)
    if event_dim > constraint.event_dim:
        constraint = constraints.independent(constraint, event_dim - constraint.event_dim)
    return constraint


class ComposeTransform(Transform):
    """``parts[-1](... parts[1](parts[0](x)))``. The log-det is the sum of the parts' log-dets,
    each summed over the dims that are one event of the whole chain but batch dims of that part
    (an elementwise ``ExpTransform`` after a vector ``StickBreakingTransform`` sums over the
    vector). The parts do the caching."""

    def __init__(self, parts: list[Transform], cache_size: int = 0) -> None:
        if cache_size:
            parts = [part.with_cache(cache_size) for part in parts]
        super().__init__(cache_size=cache_size)
        self.parts = parts

    def __eq__(self, other):
        if not isinstance(other, ComposeTransform):
            return False
        return self.parts == other.parts

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return _chain_end_constraint(self.parts[::-1], "codomain", "domain")

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return _chain_end_constraint(self.parts, "domain", "codomain")

    @lazy_property
    def bijective(self):
        return all(p.bijective for p in self.parts)

    @lazy_property
    def sign(self):
        sign = 1
        for p in self.parts:
            sign = sign * p.sign
        return sign

    @property
    def inv(self):
        inv = self._inv
        if inv is None:
            inv = ComposeTransform([p.inv for p in reversed(self.parts)])
            self._inv = inv
            inv._inv = self
        return inv

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ComposeTransform(self.parts, cache_size=cache_size)

    def __call__(self, x):
        for part in self.parts:
            x = part(x)
        return x

    def log_abs_det_jacobian(self, x, y):
        if not self.parts:
            return edunn.zeros_like(x)
        # the intermediates (free when the parts cache)
        xs = [x]
        for part in self.parts[:-1]:
            xs.append(part(xs[-1]))
        xs.append(y)
        terms = []
        event_dim = self.domain.event_dim
        for part, x, y in zip(self.parts, xs[:-1], xs[1:]):
            terms.append(sum_rightmost(part.log_abs_det_jacobian(x, y), event_dim - part.domain.event_dim))
            event_dim += part.codomain.event_dim - part.domain.event_dim
        return functools.reduce(operator.add, terms)

    def forward_shape(self, shape):
        for part in self.parts:
            shape = part.forward_shape(shape)
        return shape

    def inverse_shape(self, shape):
        for part in reversed(self.parts):
            shape = part.inverse_shape(shape)
        return shape

    def __repr__(self):
        return self.__class__.__name__ + "(\n    " + ",\n    ".join(repr(p) for p in self.parts) + "\n)"


identity_transform = ComposeTransform([])


class IndependentTransform(Transform):
    """``base_transform`` with ``reinterpreted_batch_ndims`` more rightmost dims as one event: the
    map is unchanged, ``log_abs_det_jacobian`` is summed over those dims."""

    def __init__(self, base_transform: Transform, reinterpreted_batch_ndims: int, cache_size: int = 0) -> None:
        super().__init__(cache_size=cache_size)
        self.base_transform = base_transform.with_cache(cache_size)
        self.reinterpreted_batch_ndims = reinterpreted_batch_ndims

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return IndependentTransform(self.base_transform, self.reinterpreted_batch_ndims, cache_size=cache_size)

    @constraints.dependent_property(is_discrete=False)
    def domain(self):
        return constraints.independent(self.base_transform.domain, self.reinterpreted_batch_ndims)

    @constraints.dependent_property(is_discrete=False)
    def codomain(self):
        return constraints.independent(self.base_transform.codomain, self.reinterpreted_batch_ndims)

    @property
    def bijective(self):
        return self.base_transform.bijective

    @property
    def sign(self):
        return self.base_transform.sign

    def _call(self, x):
        if x.dim() < self.domain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform(x)

    def _inverse(self, y):
        if y.dim() < self.codomain.event_dim:
            raise ValueError("Too few dimensions on input")
        return self.base_transform.inv(y)

    def log_abs_det_jacobian(self, x, y):
        result = self.base_transform.log_abs_det_jacobian(x, y)
        return sum_rightmost(result, self.reinterpreted_batch_ndims)

    def __repr__(self):
        return f"{self.__class__.__name__}({self.base_transform!r}, {self.reinterpreted_batch_ndims})"

    def forward_shape(self, shape):
        return self.base_transform.forward_shape(shape)

    def inverse_shape(self, shape):
        return self.base_transform.inverse_shape(shape)


def _swap_event_shape(shape: Any, from_shape: Any, to_shape: Any) -> edunn.Size:
    """``shape`` with its rightmost ``from_shape`` replaced by ``to_shape`` (``ReshapeTransform``'s
    shapes, either way); the error messages are PyTorch's."""
    if len(shape) < len(from_shape):
        raise ValueError("Too few dimensions on input")
    cut = len(shape) - len(from_shape)
    if tuple(shape[cut:]) != tuple(from_shape):
        raise ValueError(f"Shape mismatch: expected {edunn.Size(tuple(shape[cut:]))} but got {from_shape}")
    return edunn.Size(tuple(shape[:cut]) + tuple(to_shape))


class ReshapeTransform(Transform):
    """Reshapes the rightmost ``in_shape`` of a tensor to ``out_shape`` (same number of
    elements); a relabelling of coordinates, so ``log |det J| = 0``."""
    bijective = True

    def __init__(self, in_shape: Any, out_shape: Any, cache_size: int = 0) -> None:
        self.in_shape = edunn.Size(tuple(in_shape))
        self.out_shape = edunn.Size(tuple(out_shape))
        if self.in_shape.numel() != self.out_shape.numel():
            raise ValueError("in_shape, out_shape have different numbers of elements")
        super().__init__(cache_size=cache_size)

    @constraints.dependent_property
    def domain(self):
        return constraints.independent(constraints.real, len(self.in_shape))

    @constraints.dependent_property
    def codomain(self):
        return constraints.independent(constraints.real, len(self.out_shape))

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return ReshapeTransform(self.in_shape, self.out_shape, cache_size=cache_size)

    def _call(self, x):
        batch_shape = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return x.reshape(batch_shape + tuple(self.out_shape))

    def _inverse(self, y):
        batch_shape = tuple(y.shape[:y.dim() - len(self.out_shape)])
        return y.reshape(batch_shape + tuple(self.in_shape))

    def log_abs_det_jacobian(self, x, y):
        batch_shape = tuple(x.shape[:x.dim() - len(self.in_shape)])
        return x.new_zeros(batch_shape)

    def forward_shape(self, shape):
        return _swap_event_shape(shape, self.in_shape, self.out_shape)

    def inverse_shape(self, shape):
        return _swap_event_shape(shape, self.out_shape, self.in_shape)


def _check_dim(name: str, t: edunn.Tensor, dim: int, size: int, what: str, tensor_word: str = "tensor") -> None:
    if not (-t.dim() <= dim < t.dim()):
        raise AssertionError(f"dim {dim} out of range for {tensor_word} with {t.dim()} dimensions")
    if t.size(dim) != size:
        raise AssertionError(f"{name}.size({dim}) = {t.size(dim)} must equal {what}")


class CatTransform(Transform):
    """Applies ``tseq[i]`` to the ``i``-th block (``lengths[i]`` entries) along ``dim`` and
    concatenates the results, as ``torch.cat``."""

    def __init__(self, tseq: Sequence[Transform], dim: int = 0, lengths: Sequence[int] | None = None,
                 cache_size: int = 0) -> None:
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("All elements of tseq must be Transform instances")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.lengths = [1] * len(self.transforms) if lengths is None else list(lengths)
        if len(self.lengths) != len(self.transforms):
            raise AssertionError(f"lengths ({len(self.lengths)}) must match transforms ({len(self.transforms)})")
        self.dim = dim

    @lazy_property
    def event_dim(self):
        return max(t.event_dim for t in self.transforms)

    @lazy_property
    def length(self):
        return sum(self.lengths)

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return CatTransform(self.transforms, self.dim, self.lengths, cache_size)

    def _blocks(self, z):
        start = 0
        for length in self.lengths:
            yield z.narrow(self.dim, start, length)
            start = start + length

    def _call(self, x):
        _check_dim("x", x, self.dim, self.length, f"length {self.length}")
        return edunn.cat([t(xs) for t, xs in zip(self.transforms, self._blocks(x))], dim=self.dim)

    def _inverse(self, y):
        _check_dim("y", y, self.dim, self.length, f"length {self.length}")
        return edunn.cat([t.inv(ys) for t, ys in zip(self.transforms, self._blocks(y))], dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        _check_dim("x", x, self.dim, self.length, f"length {self.length}", "x")
        _check_dim("y", y, self.dim, self.length, f"length {self.length}", "y")
        logdetjacs = []
        for trans, xs, ys in zip(self.transforms, self._blocks(x), self._blocks(y)):
            logdetjac = trans.log_abs_det_jacobian(xs, ys)
            if trans.event_dim < self.event_dim:
                logdetjac = sum_rightmost(logdetjac, self.event_dim - trans.event_dim)
            logdetjacs.append(logdetjac)
        # concatenate when dim is a batch dim of the result, sum when it is inside the event
        dim = self.dim
        if dim >= 0:
            dim = dim - x.dim()
        dim = dim + self.event_dim
        if dim < 0:
            return edunn.cat(logdetjacs, dim=dim)
        return sum(logdetjacs)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.cat([t.domain for t in self.transforms], self.dim, self.lengths)

    @constraints.dependent_property
    def codomain(self):
        return constraints.cat([t.codomain for t in self.transforms], self.dim, self.lengths)


class StackTransform(Transform):
    """Applies ``tseq[i]`` to the ``i``-th slice along ``dim`` and stacks the results, as
    ``torch.stack``."""

    def __init__(self, tseq: Sequence[Transform], dim: int = 0, cache_size: int = 0) -> None:
        if not all(isinstance(t, Transform) for t in tseq):
            raise AssertionError("All elements of tseq must be Transform instances")
        if cache_size:
            tseq = [t.with_cache(cache_size) for t in tseq]
        super().__init__(cache_size=cache_size)
        self.transforms = list(tseq)
        self.dim = dim

    def with_cache(self, cache_size=1):
        if self._cache_size == cache_size:
            return self
        return StackTransform(self.transforms, self.dim, cache_size)

    def _slice(self, z):
        return [z.select(self.dim, i) for i in range(z.size(self.dim))]

    def _check(self, name, z, tensor_word="tensor"):
        _check_dim(name, z, self.dim, len(self.transforms), f"len(transforms) {len(self.transforms)}", tensor_word)

    def _call(self, x):
        self._check("x", x)
        return edunn.stack([t(xs) for xs, t in zip(self._slice(x), self.transforms)], dim=self.dim)

    def _inverse(self, y):
        self._check("y", y)
        return edunn.stack([t.inv(ys) for ys, t in zip(self._slice(y), self.transforms)], dim=self.dim)

    def log_abs_det_jacobian(self, x, y):
        self._check("x", x, "x")
        self._check("y", y, "y")
        return edunn.stack([t.log_abs_det_jacobian(xs, ys) for xs, ys, t
                            in zip(self._slice(x), self._slice(y), self.transforms)], dim=self.dim)

    @property
    def bijective(self):
        return all(t.bijective for t in self.transforms)

    @constraints.dependent_property
    def domain(self):
        return constraints.stack([t.domain for t in self.transforms], self.dim)

    @constraints.dependent_property
    def codomain(self):
        return constraints.stack([t.codomain for t in self.transforms], self.dim)
