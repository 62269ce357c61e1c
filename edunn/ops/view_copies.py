"""``torch.permute_copy``, ``torch.split_copy`` ... (the ``*_copy`` functions) and the split
variants ``split_with_sizes``, ``unsafe_split``, ``unsafe_chunk``, ``unsafe_split_with_sizes``.

A view (``x.permute(1, 0)``, ``x[1]``, ``x.split(2)``) shares its input's storage.  PyTorch's
functionalization pass (``torch.compile``, ``torch.func``) rewrites programs without views, and
for that every view op ``v`` has a twin ``v_copy`` that returns the same values in fresh,
contiguous memory.  Here each one is the view op followed by a differentiable ``clone`` (the
gradient of a copy is the identity, so autograd flows through the view's own backward), written
through one helper, :func:`_copied`.

The ``unsafe_`` splits are PyTorch's splits whose results are not tracked as views of the input
(an optimisation for code that promises not to modify them in place); edunn's pieces are the
same as :func:`edunn.split`'s.
"""
from __future__ import annotations

from typing import Any, Sequence

from .._device import contiguous_format
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from .joining import chunk, split, unbind
from .scatter_views import select
from .shape import clone, diagonal, narrow, squeeze
from .strided import as_strided

__all__ = ["permute_copy", "transpose_copy", "t_copy", "view_copy", "squeeze_copy", "unsqueeze_copy",
           "expand_copy", "diagonal_copy", "select_copy", "slice_copy", "split_copy",
           "split_with_sizes_copy", "unbind_copy", "unfold_copy", "alias_copy", "detach_copy",
           "narrow_copy", "as_strided_copy", "split_with_sizes", "unsafe_split", "unsafe_chunk", "unsafe_split_with_sizes"]


def _copied(view: Any, out: Any = None, name: str = "") -> Any:
    """The view(s) ``view`` copied into new contiguous tensors (then into ``out`` if given)."""
    if isinstance(view, Tensor):
        result = clone(view, memory_format=contiguous_format)
    else:
        result = tuple(clone(v, memory_format=contiguous_format) for v in view)
    if out is not None and not isinstance(out, Tensor):
        out = tuple(out)
    return write_out(result, out, name)


def _check_tensor(input: Any, name: str) -> None:
    if not isinstance(input, Tensor):
        raise TypeError(f"{name}(): argument 'input' (position 1) must be Tensor, not {type(input).__name__}")


def _sizes(split_sizes: Any, name: str) -> list:
    if isinstance(split_sizes, Tensor) or isinstance(split_sizes, (int, float)) \
            or not all(isinstance(s, int) and not isinstance(s, bool) for s in split_sizes):
        raise TypeError(f"{name}(): argument 'split_sizes' (position 2) must be tuple of ints, "
                        f"not {type(split_sizes).__name__}")
    return list(split_sizes)


def permute_copy(input: Tensor, dims: Sequence[int], *, out: Any = None) -> Tensor:
    _check_tensor(input, "permute_copy")
    return _copied(input.permute(*dims), out, "permute_copy")


def transpose_copy(input: Tensor, dim0: int, dim1: int, *, out: Any = None) -> Tensor:
    _check_tensor(input, "transpose_copy")
    return _copied(input.transpose(dim0, dim1), out, "transpose_copy")


def t_copy(input: Tensor, *, out: Any = None) -> Tensor:
    _check_tensor(input, "t_copy")
    return _copied(input.t(), out, "t_copy")


def view_copy(input: Tensor, size: Any, *, out: Any = None) -> Tensor:
    """``input.view(size)`` copied; ``size`` may also be a dtype (``view_copy(x, torch.int32)``
    reinterprets the bytes, PyTorch's second overload)."""
    _check_tensor(input, "view_copy")
    view = input.view(size) if not isinstance(size, (list, tuple)) else input.view(*size)
    return _copied(view, out, "view_copy")


def squeeze_copy(input: Tensor, dim: Any = None, *, out: Any = None) -> Tensor:
    _check_tensor(input, "squeeze_copy")
    return _copied(squeeze(input, dim), out, "squeeze_copy")


def unsqueeze_copy(input: Tensor, dim: int, *, out: Any = None) -> Tensor:
    _check_tensor(input, "unsqueeze_copy")
    return _copied(input.unsqueeze(dim), out, "unsqueeze_copy")


def expand_copy(input: Tensor, size: Sequence[int], *, implicit: bool = False, out: Any = None) -> Tensor:
    """``input.expand(size)`` materialised (``implicit`` is a tracing flag and changes nothing)."""
    _check_tensor(input, "expand_copy")
    return _copied(input.expand(*size), out, "expand_copy")


def diagonal_copy(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1, *, out: Any = None) -> Tensor:
    _check_tensor(input, "diagonal_copy")
    return _copied(diagonal(input, offset, dim1, dim2), out, "diagonal_copy")


def select_copy(input: Tensor, dim: int, index: int, *, out: Any = None) -> Tensor:
    _check_tensor(input, "select_copy")
    return _copied(select(input, dim, index), out, "select_copy")


def slice_copy(input: Tensor, dim: int = 0, start: Any = None, end: Any = None, step: int = 1, *,
               out: Any = None) -> Tensor:
    """``input[..., start:end:step, ...]`` along ``dim``, copied (``step`` must be positive)."""
    _check_tensor(input, "slice_copy")
    if input.ndim == 0:
        raise IndexError("slice() cannot be applied to a 0-dim tensor.")
    if step <= 0:
        raise RuntimeError("slice step must be positive")
    d = wrap_dim(dim, input.ndim)
    return _copied(input[(slice(None),) * d + (slice(start, end, step),)], out, "slice_copy")


def split_copy(input: Tensor, split_size: Any, dim: int = 0, *, out: Any = None) -> tuple:
    _check_tensor(input, "split_copy")
    return _copied(split(input, split_size, dim), out, "split_copy")


def split_with_sizes_copy(input: Tensor, split_sizes: Sequence[int], dim: int = 0, *, out: Any = None) -> tuple:
    _check_tensor(input, "split_with_sizes_copy")
    return _copied(split(input, _sizes(split_sizes, "split_with_sizes_copy"), dim), out,
                   "split_with_sizes_copy")


def unbind_copy(input: Tensor, dim: int = 0, *, out: Any = None) -> tuple:
    _check_tensor(input, "unbind_copy")
    return _copied(unbind(input, dim), out, "unbind_copy")


def unfold_copy(input: Tensor, dimension: int, size: int, step: int, *, out: Any = None) -> Tensor:
    _check_tensor(input, "unfold_copy")
    return _copied(input.unfold(dimension, size, step), out, "unfold_copy")


def alias_copy(input: Tensor, *, out: Any = None) -> Tensor:
    """A copy of ``input`` (``alias`` is the identity view)."""
    _check_tensor(input, "alias_copy")
    return _copied(input, out, "alias_copy")


def detach_copy(input: Tensor, *, out: Any = None) -> Tensor:
    """A copy of ``input`` cut from the graph."""
    _check_tensor(input, "detach_copy")
    return _copied(input.detach(), out, "detach_copy")


def narrow_copy(input: Tensor, dim: int, start: int, length: int, *, out: Any = None) -> Tensor:
    _check_tensor(input, "narrow_copy")
    return _copied(narrow(input, dim, start, length), out, "narrow_copy")


def split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0) -> tuple:
    """:func:`edunn.split` with a list of sizes (views)."""
    _check_tensor(input, "split_with_sizes")
    return split(input, _sizes(split_sizes, "split_with_sizes"), dim)


def unsafe_split(tensor: Tensor, split_size_or_sections: Any, dim: int = 0) -> tuple:
    _check_tensor(tensor, "unsafe_split")
    return split(tensor, split_size_or_sections, dim)


def unsafe_chunk(input: Tensor, chunks: int, dim: int = 0) -> tuple:
    _check_tensor(input, "unsafe_chunk")
    return chunk(input, chunks, dim)


def unsafe_split_with_sizes(input: Tensor, split_sizes: Sequence[int], dim: int = 0, *, out: Any = None) -> tuple:
    _check_tensor(input, "unsafe_split_with_sizes")
    pieces = split(input, _sizes(split_sizes, "unsafe_split_with_sizes"), dim)
    return pieces if out is None else _copied(pieces, out, "unsafe_split_with_sizes")


def as_strided_copy(input: Tensor, size: Sequence[int], stride: Sequence[int], storage_offset: Any = None, *,
                    out: Any = None) -> Tensor:
    _check_tensor(input, "as_strided_copy")
    return _copied(as_strided(input, size, stride, storage_offset), out, "as_strided_copy")
