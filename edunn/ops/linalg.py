"""Linear algebra: ``matmul`` and friends, ``einsum``, ``tensordot``, ``det``, ``inverse`` ...

The workhorse is :class:`MatMul` on (batched) matrices; 1-D operands are turned into matrices
first (``matmul`` does it as ``torch.matmul`` documents) so its backward stays two lines.
``einsum`` differentiates by writing the gradient of each operand as another ``einsum``.
Lesson 02 (the matmul gradient), lesson 13 (einsum in attention).

Complex matrices: a product is holomorphic in each operand, so PyTorch's gradient is the real
formula with the other operand conjugated -- ``g @ b^H`` and ``a^H @ g`` for ``matmul``, and the
other operands conjugated in each ``einsum`` gradient.  ``vdot`` conjugates its first operand.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor, wrap_dim
from ._out import write_out
from .elementwise import _binary, _conj
from ..amp import _policy as _autocast

__all__ = ['matmul', 'mm', 'bmm', 'mv', 'dot', 'vdot', 'inner', 'outer', 'ger', 'addmm', 'addmv',
           'addbmm', 'baddbmm', 'einsum', 'tensordot', 'trace', 'det', 'inverse', 'cross', 'kron',
           'chain_matmul', 'logdet', 'slogdet']


class MatMul(Function):
    """``y = a @ b``;  dL/da = g @ b^T, dL/db = a^T @ g (batched, broadcast); for complex
    operands ``g @ b^H`` and ``a^H @ g``."""
    supports_complex = True

    @staticmethod
    def forward(ctx, a, b):
        ad, bd = _binary(a, b)
        ctx._save_factors(a, b)
        y = ad @ bd
        # ml_dtypes' bfloat16 product comes back as float32 (it accumulates there, as PyTorch)
        return y if y.dtype == ad.dtype or not hasattr(ad, "dtype") else y.astype(ad.dtype)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if grad._data.dtype.kind == "c":
            a, b = _conj(a), _conj(b)
        need_a, need_b = ctx.needs_input_grad
        return (MatMul.apply(grad, b.mT) if need_a else None), (MatMul.apply(a.mT, grad) if need_b else None)


def _shape_str(shape: tuple) -> str:
    return "x".join(str(s) for s in shape)


def _check_same_dtype(a: Tensor, b: Tensor) -> None:
    if a._data.dtype != b._data.dtype:
        names = {"float32": "float", "float64": "double", "float16": "c10::Half", "bfloat16": "c10::BFloat16",
                 "int64": "long int", "int32": "int", "complex64": "c10::complex<float>",
                 "complex128": "c10::complex<double>"}
        n1, n2 = a.dtype.name, b.dtype.name
        raise RuntimeError(f"expected m1 and m2 to have the same dtype, but got: {names.get(n1, n1)} != "
                           f"{names.get(n2, n2)}")


def matmul(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """``torch.matmul``: 1-D @ 1-D is a dot product; a 1-D operand is a row (left) or column
    (right) vector whose added dim is removed afterwards; otherwise batched matrix products with
    the batch dims broadcast.  Shapes: (..., n, k) @ (..., k, m) -> (..., n, m)."""
    if not isinstance(input, Tensor) or not isinstance(other, Tensor):
        raise TypeError(f"matmul(): argument 'other' must be Tensor, not "
                        f"{type(other if isinstance(input, Tensor) else input).__name__}")
    if _autocast.active and "matmul" in _autocast.listed: return _autocast.call("matmul", matmul, input, other, out=out)  # noqa: E501,E701
    return _matmul(input, other, out)


def _matmul(input: Tensor, other: Tensor, out: Any = None) -> Tensor:
    """``matmul`` without the autocast check, for the ops PyTorch runs as kernels of their own
    (``mv``, ``dot`` are not autocast on the CPU even though edunn computes them with ``matmul``)."""
    a, b = input._data, other._data
    if a.ndim == 0 or b.ndim == 0:
        raise RuntimeError(f"both arguments to matmul need to be at least 1D, but they are {a.ndim}D and {b.ndim}D")
    _check_same_dtype(input, other)
    ka = a.shape[-1]
    kb = b.shape[0] if b.ndim == 1 else b.shape[-2]
    if ka != kb:
        if a.ndim == 1 and b.ndim == 1:
            raise RuntimeError(f"inconsistent tensor size, expected tensor [{ka}] and src [{kb}] to have the "
                               f"same number of elements, but got {ka} and {kb} elements respectively")
        sa = a.shape if a.ndim > 1 else (1,) + a.shape
        sb = b.shape if b.ndim > 1 else b.shape + (1,)
        raise RuntimeError(f"mat1 and mat2 shapes cannot be multiplied ({_shape_str(sa[-2:])} and "
                           f"{_shape_str(sb[-2:])}) (input shapes {list(a.shape)} and {list(b.shape)})")
    if a.ndim > 2 or b.ndim > 2:
        from .broadcast import broadcast_shapes
        try:
            broadcast_shapes(a.shape[:-2], b.shape[:-2] if b.ndim > 1 else ())
        except RuntimeError:
            raise RuntimeError(f"matmul: the batch dims of shapes {list(a.shape)} and {list(b.shape)} "
                               "cannot be broadcast together") from None
    if a.ndim == 1 and b.ndim == 1:
        return write_out(MatMul.apply(input.reshape((1, ka)), other.reshape((kb, 1))).reshape(()), out)
    if a.ndim == 1:
        y = MatMul.apply(input.reshape((1, ka)), other)
        return write_out(y.reshape(y._data.shape[:-2] + y._data.shape[-1:]), out)
    if b.ndim == 1:
        return write_out(MatMul.apply(input, other.reshape((kb, 1))).reshape(a.shape[:-1]), out)
    return write_out(MatMul.apply(input, other), out)


def _in_out_dtype(out_dtype: Any, *tensors: Tensor) -> tuple:
    """``out_dtype=``: float16/bfloat16 products accumulated and returned in float32 (the only
    other dtype PyTorch allows); here the operands are cast up first, which computes exactly that."""
    if out_dtype is None:
        return tensors
    want, have = backend.as_dtype(out_dtype), tensors[0].dtype
    if want != have and not (want == backend.float32 and have in (backend.float16, backend.bfloat16)):
        raise RuntimeError(f"out_dtype must be the same as input dtype or fp32 for fp16/bf16 inputs, "
                           f"got out_dtype {want} for input dtype {have}")
    return tuple(t.to(want) for t in tensors)


def mm(input: Tensor, mat2: Tensor, out_dtype: Any = None, *, out: Any = None) -> Tensor:
    """``input @ mat2`` of two matrices; ``out_dtype=float32`` for float16/bfloat16 inputs
    returns (and accumulates in) float32."""
    if _autocast.active and "mm" in _autocast.listed: return _autocast.call("mm", mm, input, mat2, out_dtype, out=out)  # noqa: E501,E701
    input, mat2 = _in_out_dtype(out_dtype, input, mat2)
    if input._data.ndim != 2:
        raise RuntimeError(f"self must be a matrix (got a {input._data.ndim}-D tensor of shape {list(input.shape)})")
    if mat2._data.ndim != 2:
        raise RuntimeError(f"mat2 must be a matrix (got a {mat2._data.ndim}-D tensor of shape {list(mat2.shape)})")
    return write_out(_matmul(input, mat2), out)


def bmm(input: Tensor, mat2: Tensor, out_dtype: Any = None, *, out: Any = None) -> Tensor:
    """Batched ``input[b] @ mat2[b]``; ``out_dtype`` as in ``mm``."""
    if _autocast.active and "bmm" in _autocast.listed: return _autocast.call("bmm", bmm, input, mat2, out_dtype, out=out)  # noqa: E501,E701
    input, mat2 = _in_out_dtype(out_dtype, input, mat2)
    if input._data.ndim != 3:
        raise RuntimeError(f"batch1 must be a 3D tensor (got shape {list(input.shape)})")
    if mat2._data.ndim != 3:
        raise RuntimeError(f"batch2 must be a 3D tensor (got shape {list(mat2.shape)})")
    b, n, k = input._data.shape
    if mat2._data.shape[:2] != (b, k):
        raise RuntimeError(f"Expected size for first two dimensions of batch2 tensor to be: [{b}, {k}] but got: "
                           f"[{mat2._data.shape[0]}, {mat2._data.shape[1]}].")
    return write_out(_matmul(input, mat2), out)


def mv(input: Tensor, vec: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and "mv" in _autocast.listed: return _autocast.call("mv", mv, input, vec, out=out)  # noqa: E501,E701
    if input._data.ndim != 2 or vec._data.ndim != 1:
        raise RuntimeError(f"vector + matrix @ vector expected, got {input._data.ndim}, {vec._data.ndim} "
                           f"(shapes {list(input.shape)} and {list(vec.shape)})")
    return write_out(_matmul(input, vec), out)


def dot(input: Tensor, tensor: Tensor, *, out: Any = None) -> Tensor:
    """``sum_i input_i * tensor_i`` of two 1-D tensors (torch names the second one ``tensor``)."""
    if _autocast.active and out is None and "dot" in _autocast.listed: return _autocast.call("dot", dot, input, tensor, out=out)  # noqa: E501,E701
    if input._data.ndim != 1 or tensor._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and {tensor._data.ndim}D tensors")
    return write_out(_matmul(input, tensor), out)


def vdot(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """``sum_i conj(input_i) * other_i`` (``dot`` for real tensors)."""
    if _autocast.active and out is None and "vdot" in _autocast.listed: return _autocast.call("vdot", vdot, input, other, out=out)  # noqa: E501,E701
    if input._data.ndim != 1 or other._data.ndim != 1:
        raise RuntimeError(f"1D tensors expected, but got {input._data.ndim}D and {other._data.ndim}D tensors")
    return dot(_conj(input), other, out=out)


def inner(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Sum over the last dims: shapes (*a, k), (*b, k) -> (*a, *b)."""
    if input._data.ndim == 0 or other._data.ndim == 0:
        return write_out(input * other, out)
    if input._data.shape[-1] != other._data.shape[-1]:
        raise RuntimeError(f"inner() the last dimension must match on both input tensors but got shapes "
                           f"{list(input.shape)} and {list(other.shape)}")
    return write_out(tensordot(input, other, ([-1], [-1])), out)


def outer(input: Tensor, vec2: Tensor, *, out: Any = None) -> Tensor:
    """``out[i, j] = input[i] * vec2[j]``."""
    if input._data.ndim != 1 or vec2._data.ndim != 1:
        raise RuntimeError(f"outer: expected 1-D vectors, got shapes {list(input.shape)} and {list(vec2.shape)}")
    return write_out(input.reshape((-1, 1)) * vec2.reshape((1, -1)), out)


ger = outer


def _scaled_sum(input: Tensor, prod: Tensor, beta: Any, alpha: Any) -> Tensor:
    if alpha != 1:
        prod = prod * alpha
    if beta == 0:  # PyTorch ignores input entirely (nan and inf included)
        return prod
    return prod + (input if beta == 1 else input * beta)


def addmm(input: Tensor, mat1: Tensor, mat2: Tensor, out_dtype: Any = None, *, beta: Any = 1, alpha: Any = 1,
          out: Any = None) -> Tensor:
    """``beta * input + alpha * (mat1 @ mat2)``; ``out_dtype`` as in ``mm``."""
    if _autocast.active and "addmm" in _autocast.listed: return _autocast.call("addmm", addmm, input, mat1, mat2, out_dtype, beta=beta, alpha=alpha, out=out)  # noqa: E501,E701
    input, mat1, mat2 = _in_out_dtype(out_dtype, input, mat1, mat2)
    return write_out(_scaled_sum(input, mm(mat1, mat2), beta, alpha), out)


def addmv(input: Tensor, mat: Tensor, vec: Tensor, *, beta: Any = 1, alpha: Any = 1, out: Any = None) -> Tensor:
    if _autocast.active and "addmv" in _autocast.listed: return _autocast.call("addmv", addmv, input, mat, vec, beta=beta, alpha=alpha, out=out)  # noqa: E501,E701
    if not input.dtype == mat.dtype == vec.dtype:  # PyTorch does not promote here
        raise RuntimeError(f"addmv input tensors must have the same dtype, but got {input.dtype.scalar_name}, "
                           f"{mat.dtype.scalar_name}, and {vec.dtype.scalar_name}")
    return write_out(_scaled_sum(input, mv(mat, vec), beta, alpha), out)


def baddbmm(input: Tensor, batch1: Tensor, batch2: Tensor, out_dtype: Any = None, *, beta: Any = 1,
            alpha: Any = 1, out: Any = None) -> Tensor:
    """``beta * input + alpha * (batch1 @ batch2)`` per batch; ``out_dtype`` as in ``mm``."""
    if _autocast.active and "baddbmm" in _autocast.listed: return _autocast.call("baddbmm", baddbmm, input, batch1, batch2, out_dtype, beta=beta, alpha=alpha, out=out)  # noqa: E501,E701
    input, batch1, batch2 = _in_out_dtype(out_dtype, input, batch1, batch2)
    return write_out(_scaled_sum(input, bmm(batch1, batch2), beta, alpha), out)


def addbmm(input: Tensor, batch1: Tensor, batch2: Tensor, *, beta: Any = 1, alpha: Any = 1, out: Any = None) -> Tensor:
    """``beta * input + alpha * sum_b (batch1[b] @ batch2[b])``."""
    if _autocast.active and "addbmm" in _autocast.listed: return _autocast.call("addbmm", addbmm, input, batch1, batch2, beta=beta, alpha=alpha, out=out)  # noqa: E501,E701
    return write_out(_scaled_sum(input, bmm(batch1, batch2).sum(0), beta, alpha), out)


def chain_matmul(*matrices: Tensor, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "chain_matmul" in _autocast.listed: return _autocast.call("chain_matmul", chain_matmul, *matrices, out=out)  # noqa: E501,E701
    y = matrices[0]
    for m in matrices[1:]:
        y = mm(y, m)
    return write_out(y, out)


# ----------------------------------------------------------------------------------------------
# einsum
# ----------------------------------------------------------------------------------------------
_LETTERS = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"


def _parse_einsum(equation: str, shapes: list) -> tuple[list, str]:
    """Explicit subscripts (one string per operand, ellipsis replaced by letters aligned from the
    right) and the explicit output subscripts."""
    eq = equation.replace(" ", "")
    lhs, arrow, rhs = eq.partition("->")
    terms = lhs.split(",")
    if len(terms) != len(shapes):
        raise RuntimeError("einsum(): more operands were provided than specified in the equation"
                           if len(shapes) > len(terms) else
                           "einsum(): fewer operands were provided than specified in the equation")
    used = set(c for c in eq if c.isalpha())
    spare = [c for c in _LETTERS if c not in used]
    n_ell = 0
    for term, shape in zip(terms, shapes):
        if "..." in term:
            n_ell = max(n_ell, len(shape) - (len(term) - 3))
        elif len(term) != len(shape):
            raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term)}) does not match "
                               f"the number of dimensions ({len(shape)}) for operand {terms.index(term)} and no "
                               "ellipsis was given")
    ell = "".join(spare[:n_ell])
    subs = []
    for term, shape in zip(terms, shapes):
        if "..." in term:
            k = len(shape) - (len(term) - 3)
            if k < 0:
                raise RuntimeError(f"einsum(): the number of subscripts in the equation ({len(term) - 3}) is more "
                                   f"than the number of dimensions ({len(shape)}) for operand {terms.index(term)}")
            term = term.replace("...", ell[n_ell - k:])
        subs.append(term)
    if arrow:
        out = rhs.replace("...", ell)
    else:
        counts: dict = {}
        for s in subs:
            for c in s:
                counts[c] = counts.get(c, 0) + 1
        out = ell + "".join(sorted(c for c, n in counts.items() if n == 1 and c not in ell))
    for c in out:
        if not any(c in s for s in subs):
            raise RuntimeError(f"einsum(): output subscript {c} does not appear in the equation for any input operand")
    return subs, out


# How an einsum of 3+ operands picks its contraction order: NumPy/CuPy's einsum_path search,
# "greedy" or "optimal"; False contracts left to right (torch.backends.opt_einsum sets it).
_einsum_optimize: Any = "greedy"


def _einsum_arrays(xp, subs: list, out: str, arrays: list) -> Any:
    # Size-1 dims meeting a larger size under the same letter (broadcast ellipsis dims) are
    # stretched first: not every array library's einsum broadcasts labelled dims.
    size: dict = {}
    for s, a in zip(subs, arrays):
        for c, n in zip(s, a.shape):
            size[c] = n if size.get(c, 1) == 1 else size[c]   # broadcasting: 1 gives way (to 0 too)
    arrays = [a if all(n == size[c] for c, n in zip(s, a.shape))
              else xp.broadcast_to(a, tuple(size[c] for c in s)) for s, a in zip(subs, arrays)]
    eq = ",".join(subs) + "->" + out
    dtype = arrays[0].dtype
    if dtype == backend.bfloat16.np:  # NumPy's einsum has no bfloat16 loop: float32, as PyTorch accumulates
        return xp.einsum(eq, *[a.astype(backend.float32.np) for a in arrays],
                         optimize=_einsum_optimize if len(arrays) > 2 else False).astype(dtype)
    return xp.einsum(eq, *arrays, optimize=_einsum_optimize if len(arrays) > 2 else False)


class Einsum(Function):
    """``y = einsum(equation, *operands)``.  dL/d(operand i) is itself an einsum: of the gradient
    and the other operands, onto operand i's letters.  Letters that appear only in operand i
    (summed there alone) are broadcast back; a repeated letter (a trace or diagonal) puts the
    gradient on that diagonal by multiplying with identity matrices.  Complex operands: the
    other operands enter each gradient conjugated."""
    supports_complex = True

    @staticmethod
    def forward(ctx, subs, out, *operands):
        arrays = [t._data for t in operands]
        dt = arrays[0].dtype
        for a in arrays[1:]:
            if a.dtype != dt:
                raise RuntimeError(f"einsum(): expected all operands to have the same dtype, got "
                                   f"{backend.dtype_of(arrays[0]).name} and {backend.dtype_of(a).name}")
        ctx.subs, ctx.out, ctx.shapes = subs, out, [a.shape for a in arrays]
        ctx._save_factors(*operands, first=2)
        return _einsum_arrays(backend.array_module(arrays[0]), subs, out, arrays)

    @staticmethod
    def backward(ctx, grad):
        operands = ctx.saved_tensors
        if grad._data.dtype.kind == "c":
            operands = tuple(_conj(t) for t in operands)
        subs, out = ctx.subs, ctx.out
        grads = []
        for i, (s, t) in enumerate(zip(subs, operands)):
            if not ctx.needs_input_grad[2 + i]:
                grads.append(None)
                continue
            others = [(subs[j], operands[j]) for j in range(len(subs)) if j != i]
            avail = set(out).union(*[set(o) for o, _ in others])
            unique = "".join(dict.fromkeys(s))
            keep = "".join(c for c in unique if c in avail)
            g = Einsum.apply([out] + [o for o, _ in others], keep, grad, *[x for _, x in others])
            sizes = {c: ctx.shapes[i][s.index(c)] for c in unique}
            if keep != unique:  # letters summed in operand i alone: broadcast back
                g = g.reshape(tuple(sizes[c] if c in keep else 1 for c in unique))
                g = g.expand(tuple(sizes[c] for c in unique))
            if len(unique) != len(s):  # repeated letters: put g on the diagonal
                spare = [c for c in _LETTERS if c not in s and c not in unique]
                target, eyes, eye_subs = "", [], []
                seen: set = set()
                for c in s:
                    if c in seen:
                        n = spare.pop(0)
                        target += n
                        eye_subs.append(c + n)
                        from .creation import eye
                        eyes.append(eye(sizes[c], dtype=grad.dtype, device=grad.device))
                    else:
                        seen.add(c)
                        target += c
                g = Einsum.apply([unique] + eye_subs, target, g, *eyes)
            grads.append(g)
        return (None, None) + tuple(grads)


def einsum(equation: str, *operands: Any) -> Tensor:
    """Sum of products over the letters of ``equation`` (``"ij,jk->ik"`` is a matrix product,
    ``"ii->i"`` a diagonal, ``"bij,bjk->bik"`` a batched product, ``...`` broadcast dims)."""
    if len(operands) == 1 and isinstance(operands[0], (list, tuple)):
        operands = tuple(operands[0])
    if _autocast.active and "einsum" in _autocast.listed: return _autocast.call("einsum", einsum, equation, *operands)  # noqa: E501,E701
    subs, out = _parse_einsum(equation, [t._data.shape for t in operands])
    for s, t in zip(subs, operands):
        for c in set(s):
            sizes = {t._data.shape[k] for k, ch in enumerate(s) if ch == c}
            if len(sizes) > 1:
                raise RuntimeError(f"einsum(): subscript {c} is repeated for operand {subs.index(s)} but the sizes "
                                   f"don't match, {sorted(sizes)[0]} != {sorted(sizes)[1]}")
    size: dict = {}
    for s, t in zip(subs, operands):
        for c, n in zip(s, t._data.shape):
            if n != 1 and size.get(c, 1) not in (1, n):
                raise RuntimeError(f"einsum(): operands do not broadcast: subscript {c} has size {size[c]} in one "
                                   f"operand and {n} in another (shapes {[list(t.shape) for t in operands]})")
            if n != 1:
                size[c] = n
    return Einsum.apply(subs, out, *operands)


def tensordot(a: Tensor, b: Tensor, dims: Any = 2, out: Any = None) -> Tensor:
    """Sum over ``dims`` (a count of trailing/leading dims, or two lists of dims) of a and b."""
    na, nb = a._data.ndim, b._data.ndim
    if isinstance(dims, Tensor):
        dims = dims.tolist()
    if isinstance(dims, int):
        if dims < 0:
            raise RuntimeError(f"tensordot expects dims >= 0, but got dims={dims}")
        da, db = list(range(na - dims, na)), list(range(dims))
    else:
        da, db = dims
        da = [da] if isinstance(da, int) else list(da)
        db = [db] if isinstance(db, int) else list(db)
    da = [wrap_dim(d, na) for d in da]
    db = [wrap_dim(d, nb) for d in db]
    if len(da) != len(db):
        raise RuntimeError(f"both dimension lists should have same length, got {len(da)} and {len(db)}")
    sa = list(_LETTERS[:na])
    sb = list(_LETTERS[na:na + nb])
    for x, y in zip(da, db):
        if a._data.shape[x] != b._data.shape[y]:
            raise RuntimeError(f"contracted dimensions need to match, but first has size {a._data.shape[x]} in "
                               f"dim {x} and second has size {b._data.shape[y]} in dim {y}")
        sb[y] = sa[x]
    out_s = "".join(c for k, c in enumerate(sa) if k not in da) + "".join(c for k, c in enumerate(sb) if k not in db)
    if _autocast.active and out_s and "tensordot" in _autocast.listed: return _autocast.call("tensordot", tensordot, a, b, dims, out)  # noqa: E501,E701  (0-d: no mm)
    return write_out(Einsum.apply(["".join(sa), "".join(sb)], out_s, a, b), out)


def kron(input: Tensor, other: Tensor, *, out: Any = None) -> Tensor:
    """Kronecker product: block (i, j) is ``input[i, j] * other``."""
    n = max(input._data.ndim, other._data.ndim)
    a = input.reshape((1,) * (n - input._data.ndim) + input._data.shape)
    b = other.reshape((1,) * (n - other._data.ndim) + other._data.shape)
    sa = _LETTERS[:n]
    sb = _LETTERS[n:2 * n]
    prod = Einsum.apply([sa, sb], "".join(x + y for x, y in zip(sa, sb)), a, b)
    return write_out(prod.reshape(tuple(x * y for x, y in zip(a._data.shape, b._data.shape))), out)


# ----------------------------------------------------------------------------------------------
# square matrices
# ----------------------------------------------------------------------------------------------
def trace(input: Tensor) -> Tensor:
    """Sum of the main diagonal of a 2-D tensor."""
    if _autocast.active and "trace" in _autocast.listed: return _autocast.call("trace", trace, input)  # noqa: E501,E701
    if input._data.ndim != 2:
        raise RuntimeError(f"trace: expected a matrix, but got tensor with dim {input._data.ndim}")
    return input.diagonal().sum()


def _check_square(x: Tensor, who: str) -> None:
    s = x._data.shape
    if x._data.ndim < 2 or s[-1] != s[-2]:
        raise RuntimeError(f"{who}: A must be batches of square matrices, but they are "
                           f"{s[-2] if len(s) > 1 else 1} by {s[-1] if s else 1} matrices")
    if not x.dtype.is_floating_point or x.dtype in (backend.float16, backend.bfloat16):
        raise RuntimeError(f"{who}: Expected a floating point or complex tensor as input. Got "
                           f"{x.dtype.scalar_name}")


class Inverse(Function):
    """``Y = A^{-1}``;  dL/dA = -Y^T g Y^T (batched)."""

    @staticmethod
    def forward(ctx, a):
        y = backend.array_module(a._data).linalg.inv(a._data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        yt = y.mT
        return -(yt @ grad @ yt)


def inverse(input: Tensor, *, out: Any = None) -> Tensor:
    if _autocast.active and "inverse" in _autocast.listed: return _autocast.call("inverse", inverse, input, out=out)  # noqa: E501,E701
    _check_square(input, "linalg.inv")
    return write_out(Inverse.apply(input), out)


class Det(Function):
    """``d = det(A)``;  dd/dA = d * A^{-T}: the adjugate for an invertible A, and 0 where
    ``d == 0`` (what PyTorch gives there too), without inverting the singular matrix."""

    @staticmethod
    def forward(ctx, a):
        d = backend.array_module(a._data).linalg.det(a._data)
        ctx.save_for_backward(a, d)
        return d

    @staticmethod
    def backward(ctx, grad):
        from .creation import eye
        from .indexing import where
        a, d = ctx.saved_tensors
        scale = (grad * d).reshape(grad._data.shape + (1, 1))
        singular = (d == 0).reshape(d._data.shape + (1, 1))
        invertible = where(singular, eye(a._data.shape[-1], dtype=a.dtype, device=a.device), a)
        return scale * inverse(invertible).mT


def det(input: Tensor) -> Tensor:
    _check_square(input, "linalg.det")
    return Det.apply(input)


def slogdet(input: Tensor) -> Any:
    """``(sign, log|det|)`` from the LU factorization (no overflow: ``100 I`` of size 200 has
    log|det| = 921); the gradient flows through ``log|det|``."""
    from ..return_types import slogdet as _rt
    from .decompositions import SlogDet  # (decompositions imports this module)
    _check_square(input, "linalg.slogdet")
    return _rt(*SlogDet.apply(input))


def logdet(input: Tensor) -> Tensor:
    """``log det A``: NaN where the determinant is negative, -inf where it is 0."""
    from .decompositions import SlogDet
    from .indexing import where
    _check_square(input, "logdet")
    sign, logabs = SlogDet.apply(input)
    return where(sign < 0, float("nan"), logabs)


class Cross(Function):
    """``c = a x b`` along ``dim`` (size 3);  dL/da = b x g, dL/db = g x a (with ``conj(a)``,
    ``conj(b)`` for complex vectors)."""
    supports_complex = True

    @staticmethod
    def forward(ctx, a, b, dim):
        ad, bd = _binary(a, b)
        ctx.dim = dim
        ctx._save_factors(a, b)
        return backend.array_module(ad).cross(ad, bd, axis=dim)

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        if grad._data.dtype.kind == "c":
            a, b = _conj(a), _conj(b)
        need_a, need_b, _ = ctx.needs_input_grad
        return (Cross.apply(b, grad, ctx.dim) if need_a else None), \
            (Cross.apply(grad, a, ctx.dim) if need_b else None), None


def cross(input: Tensor, other: Tensor, dim: int | None = None, *, out: Any = None) -> Tensor:
    if _autocast.active and out is None and "cross" in _autocast.listed: return _autocast.call("cross", cross, input, other, dim, out=out)  # noqa: E501,E701
    from .broadcast import broadcast_shapes
    shape = broadcast_shapes(input._data.shape, other._data.shape)
    if dim is None:
        dim = next((k for k, s in enumerate(shape) if s == 3), None)
        if dim is None:
            raise RuntimeError(f"no dimension of size 3 in input (shapes {list(input.shape)} and {list(other.shape)})")
    d = wrap_dim(dim, len(shape))
    if shape[d] != 3:
        raise RuntimeError(f"linalg.cross: inputs dimension {dim} must have length 3. Got {input._data.shape[d]} "
                           f"and {other._data.shape[d]}")
    return write_out(Cross.apply(input, other, d - len(shape)), out)
