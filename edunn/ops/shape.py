"""Shape ops: ``reshape``, ``transpose``, ``expand``, ``diagonal``, ``unfold`` ... (most return views).

A shape op moves elements without changing them, so its backward moves the gradient back:
``reshape`` reshapes it back, ``permute`` applies the inverse permutation, ``expand`` sums over
the stretched dims.  Joining and splitting (``cat``, ``stack``, ``split``, ``chunk``) live in
``joining.py``, ``pad`` in ``padding.py``, and the copies that repeat or reorder elements
(``repeat``, ``tile``, ``repeat_interleave``, ``flip``, ``roll``, ``rot90``) in ``rearranging.py``;
all are re-exported here.  Lesson 01 (views, strides) and lesson 02 (their gradients).

They move values without arithmetic, so complex tensors go through them as real ones do, and the
gradient is moved back the same way: every op class here is marked ``supports_complex``.
"""
from __future__ import annotations

from typing import Any, Sequence

from .. import backend
from .._device import preserve_format
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from ._out import write_out

__all__ = ['reshape', 'flatten', 'unflatten', 'transpose', 'swapaxes', 'swapdims', 'permute', 't',
           'movedim', 'moveaxis', 'squeeze', 'unsqueeze', 'clone', 'flip', 'fliplr', 'flipud', 'roll',
           'rot90', 'narrow', 'tril', 'triu', 'diagonal', 'diag', 'diag_embed', 'repeat_interleave',
           'tile', 'ravel', 'broadcast_to']


def _infer_shape(shape: tuple, numel: int, ndshape: tuple) -> tuple:
    shape = tuple(int(s) for s in shape)
    if shape.count(-1) > 1:
        raise RuntimeError("only one dimension can be inferred")
    for s in shape:
        if s < -1:
            raise RuntimeError(f"invalid shape dimension {s}")
    known = 1
    for s in shape:
        if s != -1:
            known *= s
    if -1 in shape:
        if known == 0 or numel % known:
            raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
        shape = tuple(numel // known if s == -1 else s for s in shape)
    elif known != numel:
        raise RuntimeError(f"shape '{list(shape)}' is invalid for input of size {numel}")
    return shape


class Reshape(Function):
    """``y = x.reshape(shape)``: same elements, new shape.  Backward: reshape back."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return x._data.reshape(_infer_shape(shape, x._data.size, x._data.shape))

    @staticmethod
    def backward(ctx, grad):
        return Reshape.apply(grad, ctx.in_shape), None


def reshape(input: Tensor, shape: Sequence[int]) -> Tensor:
    """Same elements in a new shape (a view when the strides allow, else a copy); one ``-1``
    is inferred.  Backward: the gradient reshaped back."""
    return Reshape.apply(input, tuple(shape))


def _contiguous_runs_ok(data: Any, new_shape: tuple) -> bool:
    """Can ``new_shape`` be laid over ``data``'s strides without a copy (PyTorch's
    ``computeStride``)?  Size-1 dims don't matter; the other dims group into runs that are
    contiguous with each other, and every new dim must fall inside one run."""
    item = data.dtype.itemsize
    old = [(s, st // item) for s, st in zip(data.shape, data.strides) if s != 1]
    new = [s for s in new_shape if s != 1]
    runs = []
    for size, stride in reversed(old):
        if runs and stride == runs[-1][1]:
            runs[-1] = [runs[-1][0] * size, stride * size]
        else:
            runs.append([size, stride * size])
    new_i = len(new) - 1
    for run_numel, _ in runs:
        view_numel = 1
        while new_i >= 0 and view_numel < run_numel:
            view_numel *= new[new_i]
            new_i -= 1
        if view_numel != run_numel:
            return False
    return new_i == -1


def view(input: Tensor, shape: Sequence[int]) -> Tensor:
    """``x.view(shape)``: like reshape, but never copies -- raises when the strides of ``x``
    cannot express the new shape (after ``transpose``, say), as PyTorch does."""
    d = input._data
    new_shape = _infer_shape(tuple(shape), d.size, d.shape)
    if d.size and not d.flags.c_contiguous and not _contiguous_runs_ok(d, new_shape):
        raise RuntimeError(
            f"view size is not compatible with input tensor's size and stride (at least one dimension "
            f"spans across two contiguous subspaces): input shape {list(d.shape)}, view shape "
            f"{list(new_shape)}. Use .reshape(...) instead.")
    return Reshape.apply(input, new_shape)


def flatten(input: Tensor, start_dim: int = 0, end_dim: int = -1) -> Tensor:
    shape = input._data.shape
    if not shape:
        wrap_dim(start_dim, 1), wrap_dim(end_dim, 1)  # a 0-d tensor has dims [-1, 0] here, as in torch
        return Reshape.apply(input, (1,))
    s, e = wrap_dim(start_dim, len(shape)), wrap_dim(end_dim, len(shape))
    if s > e:
        raise RuntimeError("flatten() has invalid args: start_dim cannot come after end_dim")
    if s == e:
        return Reshape.apply(input, shape)
    n = 1
    for k in shape[s:e + 1]:
        n *= k
    return Reshape.apply(input, shape[:s] + (n,) + shape[e + 1:])


def ravel(input: Tensor) -> Tensor:
    return flatten(input)


def unflatten(input: Tensor, dim: int, sizes: Sequence[int]) -> Tensor:
    shape = input._data.shape
    d = wrap_dim(dim, len(shape))
    sizes = tuple(sizes)
    if not sizes:
        raise RuntimeError("unflatten: sizes must be non-empty")
    known = 1
    for k in sizes:
        known *= k if k != -1 else 1
    if (known != shape[d] if -1 not in sizes else known == 0 or shape[d] % known):
        raise RuntimeError(f"unflatten: Provided sizes {list(sizes)} don't multiply up to the size of dim "
                           f"{d} ({shape[d]}) in the input tensor")
    sizes = _infer_shape(sizes, shape[d], (shape[d],))
    return Reshape.apply(input, shape[:d] + tuple(sizes) + shape[d + 1:])


# ----------------------------------------------------------------------------------------------
# copies
# ----------------------------------------------------------------------------------------------
class Clone(Function):
    """``y = x`` in new memory, laid out as ``x`` is (``order="K"``: PyTorch's
    ``preserve_format``, ``ops/strided.py``) or in C order.  Backward: the gradient unchanged."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, order="K"):
        data = x._data
        if order == "C" or data.flags.c_contiguous:
            return data.copy()
        from .strided import laid_out_copy, preserved_strides
        return laid_out_copy(data, preserved_strides(data.shape, x.stride()))

    @staticmethod
    def backward(ctx, grad):
        return grad


class Contiguous(Function):
    """``y = x`` laid out in C order.  Backward: the gradient unchanged."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x):
        return backend.array_module(x._data).ascontiguousarray(x._data)

    @staticmethod
    def backward(ctx, grad):
        return grad


def clone(input: Tensor, *, memory_format: Any = None) -> Tensor:
    """A copy of ``input`` in new memory: laid out as ``input`` (``preserve_format``, the
    default: ``x.t().clone()`` keeps ``x.t()``'s strides) or contiguous (``contiguous_format``)."""
    if memory_format is None or memory_format is preserve_format:
        return Clone.apply(input)
    return Clone.apply(input, "C")


def contiguous(input: Tensor) -> Tensor:
    return input if input._data.flags.c_contiguous else Contiguous.apply(input)


# ----------------------------------------------------------------------------------------------
# permutations of dims
# ----------------------------------------------------------------------------------------------
class Permute(Function):
    """``y = x.permute(dims)``: dim k of y is dim ``dims[k]`` of x.  Backward: the inverse
    permutation."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, dims):
        ctx.inverse = tuple(sorted(range(len(dims)), key=lambda k: dims[k]))
        return x._data.transpose(dims)

    @staticmethod
    def backward(ctx, grad):
        return Permute.apply(grad, ctx.inverse), None


def permute(input: Tensor, dims: Sequence[int]) -> Tensor:
    n = input._data.ndim
    dims = tuple(dims)
    if len(dims) != n:
        raise RuntimeError(f"permute(sparse_coo): number of dimensions in the tensor input does not match "
                           f"the length of the desired ordering of dimensions i.e. input.dim() = {n} "
                           f"is not equal to len(dims) = {len(dims)}")
    w = tuple(wrap_dim(d, n) for d in dims)
    if len(set(w)) != n:
        raise RuntimeError(f"permute(): duplicate dims are not allowed, got {list(dims)}")
    return Permute.apply(input, w)


def transpose(input: Tensor, dim0: int, dim1: int) -> Tensor:
    n = input._data.ndim
    if n == 0:
        return Reshape.apply(input, ())
    a, b = wrap_dim(dim0, n), wrap_dim(dim1, n)
    dims = list(range(n))
    dims[a], dims[b] = dims[b], dims[a]
    return Permute.apply(input, tuple(dims))


swapdims = transpose


def swapaxes(input: Tensor, axis0: int, axis1: int) -> Tensor:
    """``transpose`` with NumPy's argument names (``torch.swapaxes(input, axis0, axis1)``)."""
    return transpose(input, axis0, axis1)


def t(input: Tensor) -> Tensor:
    n = input._data.ndim
    if n > 2:
        raise RuntimeError(f"t() expects a tensor with <= 2 dimensions, but self is {n}D")
    return Reshape.apply(input, input._data.shape) if n < 2 else Permute.apply(input, (1, 0))


def movedim(input: Tensor, source: Any, destination: Any) -> Tensor:
    n = input._data.ndim
    src = (source,) if isinstance(source, int) else tuple(source)
    dst = (destination,) if isinstance(destination, int) else tuple(destination)
    if len(src) != len(dst):
        raise RuntimeError(f"movedim: Invalid source or destination dims: source ({list(src)} dims) should "
                           f"contain the same number of dims as destination ({list(dst)} dims)")
    src = tuple(wrap_dim(s, n) for s in src)
    dst = tuple(wrap_dim(d, n) for d in dst)
    order = [k for k in range(n) if k not in src]
    for d, s in sorted(zip(dst, src)):
        order.insert(d, s)
    return Permute.apply(input, tuple(order))


moveaxis = movedim


# ----------------------------------------------------------------------------------------------
# adding and removing size-1 dims (reshapes)
# ----------------------------------------------------------------------------------------------
def squeeze(input: Tensor, dim: Any = None) -> Tensor:
    shape = input._data.shape
    if dim is None:
        dims = {k for k, s in enumerate(shape) if s == 1}
    else:
        dims = {wrap_dim(d, len(shape)) for d in ((dim,) if isinstance(dim, int) else dim)}
        dims = {k for k in dims if len(shape) and shape[k] == 1}
    if not dims:
        return Reshape.apply(input, shape)
    return Reshape.apply(input, tuple(s for k, s in enumerate(shape) if k not in dims))


def unsqueeze(input: Tensor, dim: int) -> Tensor:
    shape = input._data.shape
    d = wrap_dim(dim, len(shape) + 1)
    return Reshape.apply(input, shape[:d] + (1,) + shape[d:])


# ----------------------------------------------------------------------------------------------
# broadcasting: expand (a view)
# ----------------------------------------------------------------------------------------------
class Expand(Function):
    """``y = x.expand(sizes)``: size-1 dims stretched, new leading dims added (a view with
    stride 0).  Backward: the gradient summed over the stretched dims."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, shape):
        ctx.in_shape = x._data.shape
        return backend.array_module(x._data).broadcast_to(x._data, shape)

    @staticmethod
    def backward(ctx, grad):
        from .broadcast import sum_to
        return sum_to(grad, ctx.in_shape), None


def expand(input: Tensor, sizes: Sequence[int]) -> Tensor:
    shape = input._data.shape
    sizes = tuple(int(s) for s in sizes)
    if len(sizes) < len(shape):
        raise RuntimeError(
            f"expand(torch.FloatTensor{{{list(shape)}}}, size=[{', '.join(map(str, sizes))}]): the number "
            f"of sizes provided ({len(sizes)}) must be greater or equal to the number of dimensions in "
            f"the tensor ({len(shape)})")
    lead = len(sizes) - len(shape)
    out = []
    for k, s in enumerate(sizes):
        if k < lead:
            if s < 0:
                raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed in a leading, "
                                   f"non-existing dimension {k}")
            out.append(s)
            continue
        have = shape[k - lead]
        if s == -1:
            s = have
        elif s < -1:
            raise RuntimeError(f"The expanded size of the tensor ({s}) isn't allowed: sizes must be "
                               f">= 0, or -1 to keep the dimension ({have}) as it is")
        elif have != 1 and s != have:
            raise RuntimeError(
                f"The expanded size of the tensor ({s}) must match the existing size ({have}) at "
                f"non-singleton dimension {k}.  Target sizes: [{', '.join(map(str, sizes))}].  "
                f"Tensor sizes: [{', '.join(map(str, shape))}]")
        out.append(s)
    out = tuple(out)
    if out == shape:
        return Reshape.apply(input, shape)
    return Expand.apply(input, out)


def broadcast_to(input: Tensor, shape: Sequence[int]) -> Tensor:
    return expand(input, shape)


def narrow(input: Tensor, dim: int, start: Any, length: int) -> Tensor:
    d = wrap_dim(dim, input._data.ndim)
    size = input._data.shape[d]
    start = int(start)
    if start < 0:
        start += size
    if not 0 <= start <= size or length < 0 or start + length > size:
        raise RuntimeError(f"start ({start}) + length ({length}) exceeds dimension size ({size}).")
    from .indexing import getitem
    return getitem(input, (slice(None),) * d + (slice(start, start + length),))


# ----------------------------------------------------------------------------------------------
# triangles and diagonals
# ----------------------------------------------------------------------------------------------
class Tri(Function):
    """``tril``/``triu``: entries outside the triangle set to 0.  Backward: the same mask on the
    gradient."""
    supports_complex = True

    @staticmethod
    def forward(ctx, x, diagonal, upper):
        ctx.diagonal, ctx.upper = diagonal, upper
        xp = backend.array_module(x._data)
        return (xp.triu if upper else xp.tril)(x._data, diagonal)

    @staticmethod
    def backward(ctx, grad):
        return Tri.apply(grad, ctx.diagonal, ctx.upper), None, None


def tril(input: Tensor, diagonal: int = 0, *, out: Any = None) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("tril: input tensor must have at least 2 dimensions")
    return write_out(Tri.apply(input, diagonal, False), out)


def triu(input: Tensor, diagonal: int = 0, *, out: Any = None) -> Tensor:
    if input._data.ndim < 2:
        raise RuntimeError("triu: input tensor must have at least 2 dimensions")
    return write_out(Tri.apply(input, diagonal, True), out)


def _diag_index(xp, n1: int, n2: int, offset: int):
    """Row and column indices of the ``offset`` diagonal of an (n1, n2) matrix."""
    length = max(0, min(n1 + min(offset, 0), n2 - max(offset, 0)))
    i = xp.arange(length)
    return i - min(offset, 0), i + max(offset, 0)


class Diagonal(Function):
    """``y = diagonal(x, offset, dim1, dim2)``: the diagonal becomes the last dim.  Backward:
    the gradient written onto the diagonal of zeros (:class:`DiagonalScatter`)."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, offset, dim1, dim2):
        ctx.args = (x._data.shape, offset, dim1, dim2)
        d = x._data.diagonal(offset, dim1, dim2)
        if not backend.is_cupy_array(d) and x._data.flags.writeable:
            d.flags.writeable = True  # NumPy hands out a read-only diagonal; PyTorch's is writable
        return d

    @staticmethod
    def backward(ctx, grad):
        return DiagonalScatter.apply(grad, *ctx.args), None, None, None


class DiagonalScatter(Function):
    """Zeros of ``shape`` with ``src`` on the (offset, dim1, dim2) diagonal; the backward of
    ``diagonal`` and the forward of ``diag_embed``.  Backward: ``diagonal``."""
    supports_complex = True

    @staticmethod
    def forward(ctx, src, shape, offset, dim1, dim2):
        ctx.args = (offset, dim1, dim2)
        xp = backend.array_module(src._data)
        out = xp.zeros(shape, src._data.dtype)
        moved = xp.moveaxis(out, (dim1, dim2), (-2, -1))
        r, c = _diag_index(xp, shape[dim1], shape[dim2], offset)
        moved[..., r, c] = src._data
        return out

    @staticmethod
    def backward(ctx, grad):
        return Diagonal.apply(grad, *ctx.args), None, None, None, None


def diagonal(input: Tensor, offset: int = 0, dim1: int = 0, dim2: int = 1) -> Tensor:
    n = input._data.ndim
    a, b = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    return Diagonal.apply(input, offset, a, b)


def diag_embed(input: Tensor, offset: int = 0, dim1: int = -2, dim2: int = -1) -> Tensor:
    """The last dim of ``input`` placed on the ``offset`` diagonal of new dims ``dim1, dim2``."""
    shape = input._data.shape
    n = len(shape) + 1
    a, b = wrap_dim(dim1, n), wrap_dim(dim2, n)
    if a == b:
        raise RuntimeError(f"diagonal dimensions cannot be identical {dim1}, {dim2}")
    m = shape[-1] + abs(offset)
    rest = list(shape[:-1])
    out = []
    for k in range(n):
        out.append(m if k in (a, b) else rest.pop(0))
    return DiagonalScatter.apply(input, tuple(out), offset, a, b)


def diag(input: Tensor, diagonal: int = 0, *, out: Any = None) -> Tensor:
    n = input._data.ndim
    if n == 1:
        return write_out(diag_embed(input, diagonal, 0, 1), out)
    if n == 2:  # a new tensor, as PyTorch's (``diagonal`` is the view)
        return write_out(clone(Diagonal.apply(input, diagonal, 0, 1)), out)
    raise RuntimeError(f"diag(): Supports 1D or 2D tensors. Got {n}D")


class Unfold(Function):
    """``y = x.unfold(dim, size, step)``: every window of ``size`` along ``dim`` (step ``step``);
    windows count along ``dim`` and the window becomes a new last dim.  A view, as in PyTorch:
    the windows count with stride ``step * stride[dim]`` and run with ``stride[dim]``, so
    overlapping windows (``step < size``) share elements.  Backward: the windows' gradients
    added back where they came from (:class:`UnfoldBackward`)."""
    supports_complex = True
    _is_view = True

    @staticmethod
    def forward(ctx, x, dim, size, step):
        a = x._data
        ctx.args = (a.shape, dim, size, step)
        shape = a.shape[:dim] + ((a.shape[dim] - size) // step + 1,) + a.shape[dim + 1:] + (size,)
        strides = a.strides[:dim] + (a.strides[dim] * step,) + a.strides[dim + 1:] + (a.strides[dim],)
        view = backend.array_module(a).lib.stride_tricks.as_strided(a, shape, strides)
        if not backend.is_cupy_array(a) and not a.flags.writeable:
            view.flags.writeable = False
        return view

    @staticmethod
    def backward(ctx, grad):
        return UnfoldBackward.apply(grad, *ctx.args), None, None, None


class UnfoldBackward(Function):
    """Windows of gradient summed into an array of the unfolded input's shape."""
    supports_complex = True

    @staticmethod
    def forward(ctx, g, shape, dim, size, step):
        ctx.args = (dim, size, step)
        xp = backend.array_module(g._data)
        out = xp.zeros(shape, g._data.dtype)
        n = g._data.shape[dim]
        index = (xp.arange(n)[:, None] * step + xp.arange(size)).reshape(-1)
        src = xp.moveaxis(g._data, -1, dim + 1)
        src = src.reshape(src.shape[:dim] + (n * size,) + src.shape[dim + 2:])
        backend.scatter_add_at(xp.moveaxis(out, dim, 0), index, xp.moveaxis(src, dim, 0))
        return out

    @staticmethod
    def backward(ctx, grad):
        return Unfold.apply(grad, *ctx.args), None, None, None, None


def unfold(input: Tensor, dimension: int, size: int, step: int) -> Tensor:
    d = wrap_dim(dimension, input._data.ndim) if input._data.ndim else 0
    have = input._data.shape[d] if input._data.ndim else 1
    if size > have:
        raise RuntimeError(f"maximum size for tensor at dimension {d} is {have} but size is {size}")
    if step <= 0:
        raise RuntimeError(f"step is {step} but must be > 0")
    if input._data.ndim == 0:
        return Reshape.apply(input, (1,))
    return Unfold.apply(input, d, size, step)


from .rearranging import flip, fliplr, flipud, repeat_interleave, roll, rot90, tile  # noqa: E402
from .rearranging import Flip, Repeat, Roll, repeat  # noqa: E402,F401  (x.repeat; the classes for forward AD)
from .joining import *  # noqa: E402,F401,F403  (cat, stack, split, chunk, unbind, meshgrid ...)
from .joining import __all__ as _joining_all  # noqa: E402
from .joining import split, tensor_split, chunk, unbind  # noqa: E402,F401
from .padding import pad  # noqa: E402,F401

__all__ += list(_joining_all)