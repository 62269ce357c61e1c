"""The LDL^T factorization of symmetric (indefinite) matrices with Bunch-Kaufman pivoting:
``torch.linalg.ldl_factor(_ex)`` and ``ldl_solve``, in LAPACK's ``sytrf``/``sytrs`` compact form.

Neither NumPy nor CuPy has ``sytrf``, so it is written here: LAPACK's unblocked ``dsytf2`` (lower
triangle), step for step, so that the pivots -- and the compact ``LD`` matrix -- are LAPACK's.
Each step decides on a 1x1 or a 2x2 pivot block from the magnitudes of the remaining column, which
is a data-dependent branch per matrix: the factorization runs on the host, one matrix at a time
(a host synchronisation, on a function PyTorch marks experimental and does not differentiate).

Compact form: D's 1x1 and 2x2 blocks on and below the diagonal, L's multipliers below them (its
unit diagonal implied); ``pivots[k] = p`` (1-based) for a 1x1 block that swapped rows and columns
k and p, ``pivots[k] = pivots[k + 1] = -p`` for a 2x2 block at k that swapped k + 1 and p.
"""
from __future__ import annotations

import math
from typing import Any

from .. import backend
from ..autograd.function import Function
from ..tensor import Tensor

__all__: list = []

_ALPHA = (1.0 + math.sqrt(17.0)) / 8.0  # Bunch-Kaufman's threshold: minimises element growth


def _sytf2(a: Any) -> tuple:
    """LAPACK's ``dsytf2`` with ``UPLO='L'`` on one host matrix (0-based here): ``(LD, pivots,
    info)``, pivots 1-based as LAPACK's."""
    n = a.shape[0]
    a = a.copy()
    piv = [0] * n
    info = 0
    k = 0
    while k < n:
        kstep = 1
        absakk = abs(a[k, k])
        if k < n - 1:
            imax = k + 1 + int(abs(a[k + 1:, k]).argmax())
            colmax = abs(a[imax, k])
        else:
            imax, colmax = k, 0.0
        if max(absakk, colmax) == 0 or math.isnan(absakk):
            info = info or k + 1
            kp = k
        else:
            if absakk >= _ALPHA * colmax:
                kp = k
            else:
                jmax = k + int(abs(a[imax, k:imax]).argmax())  # row imax, left of the diagonal
                rowmax = abs(a[imax, jmax])
                if imax < n - 1:
                    jmax = imax + 1 + int(abs(a[imax + 1:, imax]).argmax())
                    rowmax = max(rowmax, abs(a[jmax, imax]))
                if absakk >= _ALPHA * colmax * (colmax / rowmax):
                    kp = k
                elif abs(a[imax, imax]) >= _ALPHA * rowmax:
                    kp = imax
                else:
                    kp, kstep = imax, 2
            kk = k + kstep - 1
            if kp != kk:  # swap rows and columns kk and kp of the trailing (lower) submatrix
                a[kp + 1:, [kk, kp]] = a[kp + 1:, [kp, kk]]
                t = a[kk + 1:kp, kk].copy()
                a[kk + 1:kp, kk] = a[kp, kk + 1:kp]
                a[kp, kk + 1:kp] = t
                a[kk, kk], a[kp, kp] = a[kp, kp], a[kk, kk]
                if kstep == 2:
                    a[k + 1, k], a[kp, k] = a[kp, k], a[k + 1, k]
            if kstep == 1:
                if k < n - 1:
                    d11 = 1.0 / a[k, k]
                    x = a[k + 1:, k].copy()
                    a[k + 1:, k + 1:] -= d11 * (x[:, None] * x[None, :])  # only the lower part is read
                    a[k + 1:, k] = x * d11
            elif k < n - 2:
                d21 = a[k + 1, k]
                d11 = a[k + 1, k + 1] / d21
                d22 = a[k, k] / d21
                t = 1.0 / (d11 * d22 - 1.0)
                d21 = t / d21
                wk = d21 * (d11 * a[k + 2:, k] - a[k + 2:, k + 1])
                wkp1 = d21 * (d22 * a[k + 2:, k + 1] - a[k + 2:, k])
                a[k + 2:, k + 2:] -= a[k + 2:, k, None] * wk[None, :] + a[k + 2:, k + 1, None] * wkp1[None, :]
                a[k + 2:, k] = wk
                a[k + 2:, k + 1] = wkp1
        if kstep == 1:
            piv[k] = kp + 1
        else:
            piv[k] = piv[k + 1] = -(kp + 1)
        k += kstep
    xp = backend.array_module(a)
    return xp.tril(a), xp.asarray(piv, dtype=xp.int32), info


def _sytrs(ld: Any, piv: Any, b: Any) -> Any:
    """LAPACK's ``dsytrs`` (``UPLO='L'``): X with ``A X = B`` from ``_sytf2``'s output."""
    n = ld.shape[0]
    b = b.copy()

    def swap(i: int, j: int) -> None:
        if i != j:
            b[[i, j]] = b[[j, i]]
    k = 0
    while k < n:  # L D Y = P^T B
        if piv[k] > 0:
            swap(k, piv[k] - 1)
            b[k + 1:] -= ld[k + 1:, k, None] * b[k]
            b[k] /= ld[k, k]
            k += 1
        else:
            swap(k + 1, -piv[k] - 1)
            b[k + 2:] -= ld[k + 2:, k, None] * b[k] + ld[k + 2:, k + 1, None] * b[k + 1]
            akm1k = ld[k + 1, k]
            akm1, ak = ld[k, k] / akm1k, ld[k + 1, k + 1] / akm1k
            denom = akm1 * ak - 1.0
            bkm1, bk = b[k] / akm1k, b[k + 1] / akm1k
            b[k], b[k + 1] = (ak * bkm1 - bk) / denom, (akm1 * bk - bkm1) / denom
            k += 2
    k = n - 1
    while k >= 0:  # L^T P^T X = Y
        if piv[k] > 0:
            b[k] -= ld[k + 1:, k] @ b[k + 1:]
            swap(k, piv[k] - 1)
            k -= 1
        else:
            b[k] -= ld[k + 1:, k] @ b[k + 1:]
            b[k - 1] -= ld[k + 1:, k - 1] @ b[k + 1:]
            swap(k, -piv[k] - 1)
            k -= 2
    return b


def _on_host(t: Tensor) -> Any:
    return backend.to_numpy(t._data)


class LdlFactor(Function):
    """``(LD, pivots, info)``; not differentiable, as in PyTorch."""

    @staticmethod
    def forward(ctx, a):
        host = _on_host(a)
        n = host.shape[-1]
        flat = host.reshape((-1, n, n))
        out = [_sytf2(m) for m in flat]
        batch = host.shape[:-2]
        ld = backend.numpy.stack([o[0] for o in out]).reshape(host.shape) if out else host.copy()
        piv = backend.numpy.stack([o[1] for o in out]).reshape(batch + (n,)) if out else \
            backend.numpy.zeros(batch + (n,), dtype="int32")
        info = backend.numpy.asarray([o[2] for o in out], dtype="int32").reshape(batch)
        dev = a.device
        return backend.to_device(ld, dev), backend.to_device(piv, dev), backend.to_device(info, dev)

    @staticmethod
    def backward(ctx, *grads):
        raise RuntimeError("derivative for aten::linalg_ldl_factor_ex is not implemented")


class LdlSolve(Function):
    """X with ``A X = B`` from ``ldl_factor``'s output; not differentiable, as in PyTorch."""

    @staticmethod
    def forward(ctx, ld, piv, b):
        from .broadcast import broadcast_shapes
        h_ld, h_piv, h_b = _on_host(ld), _on_host(piv), _on_host(b)
        n = h_ld.shape[-1]
        batch = broadcast_shapes(h_ld.shape[:-2], h_piv.shape[:-1], h_b.shape[:-2])
        np_ = backend.numpy
        h_ld = np_.broadcast_to(h_ld, batch + (n, n)).reshape((-1, n, n))
        h_piv = np_.broadcast_to(h_piv, batch + (n,)).reshape((-1, n))
        k = h_b.shape[-1]
        h_b = np_.broadcast_to(h_b, batch + (n, k)).reshape((-1, n, k))
        x = np_.stack([_sytrs(m, [int(p) for p in q], r) for m, q, r in zip(h_ld, h_piv, h_b)]) if len(h_b) else h_b
        return backend.to_device(x.reshape(batch + (n, k)).astype(h_b.dtype), b.device)

    @staticmethod
    def backward(ctx, grad):
        raise RuntimeError("derivative for aten::linalg_ldl_solve is not implemented")
