"""Functions of matrices: ``pinv`` (and the tolerances ``pinv``/``matrix_rank``/``lstsq`` share),
``matrix_power`` and ``matrix_exp``, with PyTorch's backwards written with tensor ops (``pinv``'s
from A^+ itself, ``matrix_exp``'s as another matrix exponential).  Lesson 02.
"""
from __future__ import annotations

from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor
from ._out import write_out
from .broadcast import broadcast_shapes
from .solvers import check_float, check_square, eye_like, inv_checked

__all__ = ['matrix_power', 'matrix_exp']


def _xp(t: Tensor) -> Any:
    return backend.array_module(t._data)


class Pinv(Function):
    """``A^+`` from the SVD (or eigh for ``hermitian``): singular values above
    ``max(atol, rtol * s_max)`` are inverted, the rest dropped.  dL/dA is PyTorch's
    ``pinv_backward``, written with A^+ itself (valid wherever the rank is locally constant)."""

    @staticmethod
    def forward(ctx, a, atol, rtol, hermitian):
        xp = _xp(a)
        ad = a._data
        if hermitian:
            w, v = xp.linalg.eigh(ad)
            s = xp.abs(w)
            smax = s.max(axis=-1, keepdims=True) if s.shape[-1] else s[..., :1]
        else:
            u, s, vh = xp.linalg.svd(ad, full_matrices=False)
            smax = s[..., :1]
        tol = xp.maximum(atol[..., None], rtol[..., None] * smax)
        keep = s > tol
        with backend.numpy.errstate(divide="ignore"):
            if hermitian:
                inv = xp.where(keep, 1 / xp.where(keep, w, 1), 0).astype(ad.dtype)
                y = (v * inv[..., None, :]) @ xp.swapaxes(v, -1, -2)
            else:
                inv = xp.where(keep, 1 / xp.where(keep, s, 1), 0).astype(ad.dtype)
                y = (xp.swapaxes(vh, -1, -2) * inv[..., None, :]) @ xp.swapaxes(u, -1, -2)
        ctx.save_for_backward(a, y)
        return y

    @staticmethod
    def backward(ctx, grad):
        a, p = ctx.saved_tensors
        m, n = a.shape[-2:]
        ph, gh = p.mT, grad.mT
        if m <= n:
            K = gh @ p
            KpinvAh = K @ ph
            g = -(p @ K).mT + KpinvAh - (a @ p) @ KpinvAh + (ph @ p) @ (gh - K @ a)
        else:
            K = p @ gh
            pinvAhK = ph @ K
            g = -(K @ p).mT + ((gh - a @ K) @ p) @ ph + pinvAhK - (pinvAhK @ p) @ a
        return g, None, None, None


def tolerances(A: Tensor, atol: Any, rtol: Any, who: str) -> tuple:
    """PyTorch's defaults: ``atol = 0``; ``rtol = eps * max(m, n)`` unless ``atol > 0`` was given
    (then 0).  Returned as arrays broadcast over A's batch."""
    xp = _xp(A)
    dt = A._data.dtype
    batch = A._data.shape[:-2]

    def arr(v: Any) -> Any:
        if isinstance(v, Tensor):
            if v.device != A.device:
                raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                                   f"two devices, {A.device} and {v.device}! ({who}'s atol/rtol)")
            return v._data.astype(dt)
        return xp.asarray(v, dtype=dt)
    a = arr(0.0 if atol is None else atol)
    if rtol is None:
        eps = backend.finfo(A.dtype).eps * max(A._data.shape[-2:])
        r = xp.asarray(eps, dtype=dt) if atol is None else xp.where(a > 0, 0, eps).astype(dt)
    else:
        r = arr(rtol)
    shape = broadcast_shapes(batch, a.shape, r.shape)
    return xp.broadcast_to(a, shape), xp.broadcast_to(r, shape)


@backend.on_input_device
def matrix_power(input: Tensor, n: int, *, out: Any = None) -> Tensor:
    """``torch.matrix_power`` = ``torch.linalg.matrix_power``: ``A^n`` by repeated squaring
    (n < 0: of ``inv(A)``; n = 0: the identity).  Integer matrices are fine for n >= 0."""
    who = "linalg.matrix_power"
    check_square(input, who)
    if isinstance(n, bool) or not isinstance(n, int):
        raise TypeError(f"matrix_power(): argument 'n' must be int, not {type(n).__name__}")
    if n == 0:  # the identity, connected to A (with zero gradient) as in PyTorch
        from .indexing import where
        xp = _xp(input)
        return write_out(where(Tensor._make(xp.ones(input._data.shape, dtype=bool)),
                               eye_like(input).to(input.dtype), input), out)
    a = input
    if n < 0:
        a, n = inv_checked(input, "linalg.inv"), -n
    result = None
    while n:
        if n & 1:
            result = a if result is None else result @ a
        n >>= 1
        if n:
            a = a @ a
    return write_out(result, out)


_PADE13 = (64764752532480000., 32382376266240000., 7771770303897600., 1187353796428800., 129060195264000.,
           10559470521600., 670442572800., 33522128640., 1323241920., 40840800., 960960., 16380., 182., 1.)


def _expm_arrays(xp: Any, a: Any) -> Any:
    """Scaling and squaring with the degree-13 Pade approximant (Higham 2005): scale each matrix
    by 2^-s until its 1-norm is below 5.37, approximate, square s times."""
    b = _PADE13
    norm1 = xp.abs(a).sum(axis=-2).max(axis=-1) if a.shape[-1] else xp.zeros(a.shape[:-2], a.dtype)
    with backend.numpy.errstate(divide="ignore", invalid="ignore"):
        s = xp.ceil(xp.log2(norm1 / 5.371920351148152))
    s = xp.where(xp.isfinite(s) & (s > 0), s, 0).astype(xp.int64)
    s = xp.minimum(s, 1000)
    a = a / (2.0 ** s)[..., None, None].astype(a.dtype)
    eye = xp.eye(a.shape[-1], dtype=a.dtype)
    a2 = a @ a
    a4 = a2 @ a2
    a6 = a4 @ a2
    u = a @ (a6 @ (b[13] * a6 + b[11] * a4 + b[9] * a2) + b[7] * a6 + b[5] * a4 + b[3] * a2 + b[1] * eye)
    v = a6 @ (b[12] * a6 + b[10] * a4 + b[8] * a2) + b[6] * a6 + b[4] * a4 + b[2] * a2 + b[0] * eye
    try:
        r = xp.linalg.solve(v - u, v + u)
    except backend.numpy.linalg.LinAlgError:
        r = xp.full(a.shape, xp.nan, dtype=a.dtype)
    steps = int(s.max()) if s.size else 0  # one host read: the number of squarings
    for i in range(steps):
        r = xp.where((i < s)[..., None, None], r @ r, r)
    return r.astype(a.dtype)


class MatrixExp(Function):
    """``exp(A) = sum_k A^k / k!``;  dL/dA is the top-right block of
    ``exp([[A^T, g], [0, A^T]])`` (Mathias 1996), so the backward is itself a ``matrix_exp``
    and can be differentiated again."""

    @staticmethod
    def forward(ctx, a):
        ctx.save_for_backward(a)
        ad = a._data
        if ad.dtype.itemsize < 4:  # float16/bfloat16: computed in float32 (no half LAPACK)
            return _expm_arrays(_xp(a), ad.astype("float32")).astype(ad.dtype)
        return _expm_arrays(_xp(a), ad)

    @staticmethod
    def backward(ctx, grad):
        a, = ctx.saved_tensors
        from .joining import cat
        n = a.shape[-1]
        at = a.mT.expand(grad.shape)
        zero = grad.new_zeros(grad.shape)
        block = cat([cat([at, grad], -1), cat([zero, at], -1)], -2)
        return MatrixExp.apply(block)[..., :n, n:]


def matrix_exp(A: Tensor) -> Tensor:
    """``torch.matrix_exp`` = ``torch.linalg.matrix_exp``: the matrix exponential of each
    square matrix of (*, n, n) A."""
    check_square(A, "linalg.matrix_exp")
    if not A.dtype.is_floating_point:
        check_float(A, "linalg.matrix_exp")
    return MatrixExp.apply(A)
