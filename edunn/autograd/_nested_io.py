"""``autograd.NestedIOFunction``: PyTorch's legacy ``Function`` whose forward and backward take
and return *nested* structures (tuples and lists of tensors).

It is kept in PyTorch "only for backward compatibility": a subclass writes instance methods
``forward_extended(*inputs)`` and ``backward_extended(*grad_outputs)`` instead of the static
``forward``/``backward``; ``save_for_backward`` accepts nested structures and
``saved_tensors`` gives them back with the same nesting.  (PyTorch 2.13's own class no longer
runs: it calls the removed legacy ``_do_forward``.)  edunn's version runs through
``Function.apply``, whose context *is* an instance of the class, so the static ``forward`` and
``backward`` call the instance methods on it: ``MyNested.apply(x, y)`` returns what
``forward_extended`` returned.
"""
from __future__ import annotations

from typing import Any

from .function import Function

__all__ = ["NestedIOFunction"]


def _iter_tensors(obj: Any):
    """The tensors of a nested structure, depth first (PyTorch's ``_iter_tensors``)."""
    from ..tensor import Tensor
    if isinstance(obj, Tensor):
        yield obj
    elif isinstance(obj, (list, tuple)):
        for o in obj:
            yield from _iter_tensors(o)


def _unflatten(flat: Any, like: Any) -> Any:
    """``flat`` (a sequence) rebuilt with the nesting of ``like`` (PyTorch's ``_unflatten``)."""
    from ..tensor import Tensor
    flat = iter(flat)

    def build(obj: Any) -> Any:
        if isinstance(obj, (list, tuple)):
            return type(obj)(build(o) for o in obj)
        return next(flat) if isinstance(obj, Tensor) or obj is None else obj
    return build(like)


class NestedIOFunction(Function):
    """This class is here only for backward compatibility reasons.  Use :class:`Function`
    instead of this for any new use case (see the module docstring)."""

    @staticmethod
    def forward(ctx: Any, *args: Any) -> Any:
        """Shared forward utility: calls ``forward_extended`` on the context (an instance)."""
        result = ctx.forward_extended(*args)
        ctx._nested_output = result
        return result

    @staticmethod
    def backward(ctx: Any, *gradients: Any) -> Any:
        """Shared backward utility: calls ``backward_extended`` on the context."""
        result = ctx.backward_extended(*gradients)
        return result if isinstance(result, tuple) else (result,)

    def save_for_backward(self, *args: Any) -> None:
        """See :meth:`Function.save_for_backward`; ``args`` may be nested."""
        self._to_save_nested = args
        Function.save_for_backward(self, *_iter_tensors(args))

    @property
    def saved_tensors(self) -> Any:  # type: ignore[override]
        """See :meth:`Function.saved_tensors`; with the nesting given to ``save_for_backward``."""
        flat = Function.saved_tensors.fget(self)
        return _unflatten(flat, self._to_save_nested)

    def mark_dirty(self, *args: Any, **kwargs: Any) -> None:
        """See :meth:`Function.mark_dirty`."""
        self.dirty_tensors = tuple(_iter_tensors((args, tuple(kwargs.values()))))

    def mark_non_differentiable(self, *args: Any, **kwargs: Any) -> None:
        """See :meth:`Function.mark_non_differentiable`."""
        self.non_differentiable = tuple(_iter_tensors((args, tuple(kwargs.values()))))
        Function.mark_non_differentiable(self, *self.non_differentiable)

    def forward_extended(self, *input: Any) -> None:
        """User defined forward."""
        raise NotImplementedError

    def backward_extended(self, *grad_output: Any) -> None:
        """User defined backward."""
        raise NotImplementedError
