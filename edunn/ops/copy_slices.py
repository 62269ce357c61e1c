"""In-place ops on views: how ``base[0].mul_(2)`` reaches ``base``'s gradient.

A view (``x[0]``, ``x.t()``, ``x.reshape(...)`` when NumPy can reshape without copying, ...)
shares memory with its base, so writing into the view changes the base.  Autograd must follow:
after ``v = b[0]; v.mul_(2)``, ``b``'s value depends on the old ``b`` *and* on the result of the
multiplication.  PyTorch calls the node that says so ``CopySlices``; edunn's is below.

Every view remembers how it was made from its base (``_view_chain``: the view ops and their
arguments), so the same region can be cut out of any tensor shaped like the base -- out of the
gradient, in particular:

.. math::  \\frac{\\partial L}{\\partial b_{old}} = g \\odot (1 - M), \\qquad
           \\frac{\\partial L}{\\partial r} = \\mathrm{view}(g)

where ``g`` is the gradient of the new base, ``M`` is 1 inside the view's region and ``r`` is
the value written into the view.  Both are linear, so complex tensors need nothing more.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor


def replay_view(chain: tuple, x: Tensor) -> Tensor:
    """Apply the view ops of ``chain`` to ``x`` (shaped like the base): the same region."""
    for cls, params, kwargs, nr in chain:
        x = cls.apply(x, *params, **kwargs)
        if isinstance(x, tuple):
            x = x[nr]
    return x


class CopySlices(Function):
    """``base[view region] = result``, after the fact: the values are already in ``base``'s
    memory (the in-place op wrote them through the view); this node records where they came
    from."""
    supports_complex = True

    @staticmethod
    def forward(ctx, base, result, chain):
        ctx.chain = chain
        return base._data

    @staticmethod
    def backward(ctx, grad):
        xp = backend.array_module(grad._data)
        is_complex = grad._data.dtype.kind == "c"
        # complex: one mask entry per real component (1+1j), since a view such as ``z.real``
        # covers only one of the two and no complex factor can zero just that one
        keep = Tensor._make(xp.full(grad._data.shape, 1 + 1j if is_complex else 1, grad._data.dtype))
        with no_grad():
            region = replay_view(ctx.chain, keep)
        region._data[...] = 0  # a view into ``keep``: zero where the view's values came from
        if is_complex:
            from .complex import view_as_complex, view_as_real
            return view_as_complex(view_as_real(grad) * view_as_real(keep)), replay_view(ctx.chain, grad), None
        return grad * keep, replay_view(ctx.chain, grad), None


def rebase_view(view: Tensor, result: Tensor) -> None:
    """Called by ``Tensor._inplace`` once ``result`` has been written into ``view``: make the
    base's graph go through ``CopySlices`` and the view a view of that new base."""
    base = view._base
    node = CopySlices.apply(base, result, view._view_chain)
    base.grad_fn, base._output_nr, base.requires_grad = node.grad_fn, 0, True
    fresh = replay_view(view._view_chain, base)
    view.grad_fn, view._output_nr, view.requires_grad = fresh.grad_fn, fresh._output_nr, True
