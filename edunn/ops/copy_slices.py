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


from .. import backend
from ..autograd.function import Function
from ..autograd import grad_mode
from ..autograd.grad_mode import no_grad
from ..tensor import Tensor


def replay_view(chain: tuple, x: Tensor) -> Tensor:
    """Apply the view ops of ``chain`` to ``x`` (shaped like the base, and laid out like it if
    :func:`memory_layout` says the chain needs it): the same region."""
    for cls, params, kwargs, nr in chain:
        x = cls.apply(x, *params, **kwargs)
        if isinstance(x, tuple):
            x = x[nr]
    return x


def memory_layout(chain: tuple, base: Tensor) -> "tuple | None":
    """The base's strides when a view op of ``chain`` reads memory rather than indices
    (``as_strided``: ``reads_memory_layout``), else None."""
    if any(getattr(step[0], "reads_memory_layout", False) for step in chain):
        return base.stride()
    return None


def laid_out(x: Tensor, stride: "tuple | None") -> Tensor:
    """``x`` itself, or (for a chain that reads memory) its values in memory of its own laid out
    with ``stride``, as PyTorch's ``CopySlices`` lays the gradient out like the base."""
    if stride is None or (x._base is None and x.stride() == stride):
        return x
    from .strided import Restride
    return Restride.apply(x, stride)


class CopySlices(Function):
    """``base[view region] = result``, after the fact: the values are already in ``base``'s
    memory (the in-place op wrote them through the view); this node records where they came
    from."""
    supports_complex = True

    @staticmethod
    def forward(ctx, base, result, chain):
        ctx.chain, ctx.layout = chain, memory_layout(chain, base)
        return base._data

    @staticmethod
    def backward(ctx, grad):
        xp = backend.array_module(grad._data)
        grad = laid_out(grad, ctx.layout)
        is_complex = grad._data.dtype.kind == "c"
        # complex: one mask entry per real component (1+1j), since a view such as ``z.real``
        # covers only one of the two and no complex factor can zero just that one
        keep = laid_out(Tensor._make(xp.full(grad._data.shape, 1 + 1j if is_complex else 1, grad._data.dtype)),
                        ctx.layout)
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
    _regrow(view)


def refresh_view(view: Tensor) -> None:
    """Bring a view's ``grad_fn`` up to date with its base's graph.

    Every view shares its base's version counter, so after ``b.mul_(2)``, ``b[0].zero_()`` or
    a write through any other view of ``b``, the counter has moved past ``view._view_version``,
    the version at which ``view.grad_fn`` was made, and that ``grad_fn`` leads to the base as it
    was before the write.  As PyTorch does, the view's graph is then made again from the base's
    current one by replaying the view ops (``Function.apply`` calls this when it meets such a
    view, and so does ``backward`` for a view it starts from)."""
    if view._base.requires_grad and view._view_chain and grad_mode.state.enabled:  # (``x.view(int32)``: no chain)
        _regrow(view)
    else:
        view._view_version = view._version_counter[0]


def _regrow(view: Tensor) -> None:
    """The view's ``grad_fn``: the view ops replayed on its base as the base is now."""
    fresh = replay_view(view._view_chain, view._base)
    view.grad_fn, view._output_nr, view.requires_grad = fresh.grad_fn, fresh._output_nr, True
    view._view_version = view._version_counter[0]
