"""``svd_lowrank`` and ``pca_lowrank`` compared with PyTorch on low-rank inputs (where the
randomized algorithm is exact): singular values, reconstruction, subspaces, batching, ``M``,
gradients, errors.  The random draws differ from PyTorch's, so vectors are compared up to sign."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from opcheck import assert_close, needs_torch, torch

pytestmark = needs_torch

R = np.random.default_rng(5)


def _low_rank(*shape, rank=3):
    return R.standard_normal(shape[:-1] + (rank,)) @ R.standard_normal(shape[:-2] + (rank, shape[-1]))


@pytest.mark.parametrize("shape", [(12, 8), (7, 15), (2, 9, 6)])
def test_svd_lowrank_matches_torch_on_low_rank_inputs(shape, device):
    A = _low_rank(*shape)
    U, S, V = edunn.svd_lowrank(edunn.tensor(A, device=device), q=5)
    tU, tS, tV = torch.svd_lowrank(torch.tensor(A), q=5)
    assert tuple(U.shape) == tuple(tU.shape) and tuple(S.shape) == tuple(tS.shape) and tuple(V.shape) == tuple(tV.shape)
    assert U.dtype == edunn.float64
    assert_close(S[..., :3], tS[..., :3], atol=1e-9)
    recon = (U * S.unsqueeze(-2)) @ V.transpose(-2, -1)
    assert_close(recon, A, atol=1e-9)
    # the leading singular vectors agree with torch's up to sign
    signs = np.sign(np.sum(U.cpu().numpy()[..., :3] * tU.numpy()[..., :3], axis=-2, keepdims=True))
    assert_close(U.cpu().numpy()[..., :3] * signs, tU[..., :3], atol=1e-8)


def test_svd_lowrank_with_M_and_gradients():
    A, M = _low_rank(10, 6, rank=2), R.standard_normal((1, 6))
    U, S, V = edunn.svd_lowrank(edunn.tensor(A), q=4, niter=3, M=edunn.tensor(M))
    assert_close((U * S) @ V.T, A - M, atol=1e-9)
    assert_close(S[:3], torch.svd_lowrank(torch.tensor(A), q=4, niter=3, M=torch.tensor(M))[1][:3], atol=1e-9)
    a = edunn.tensor(A, requires_grad=True)
    edunn.svd_lowrank(a, q=2)[1].sum().backward()
    ta = torch.tensor(A, requires_grad=True)
    torch.svd_lowrank(ta, q=2)[1].sum().backward()
    assert_close(a.grad, ta.grad, atol=1e-8)


def test_pca_lowrank_matches_torch():
    A = _low_rank(30, 5, rank=3) + 4.0
    for center in (True, False):
        U, S, V = edunn.pca_lowrank(edunn.tensor(A), center=center)
        tU, tS, tV = torch.pca_lowrank(torch.tensor(A), center=center)
        assert tuple(V.shape) == tuple(tV.shape) == (5, 5)
        k = 3 if center else 4
        assert_close(S[:k], tS[:k], atol=1e-8)
        proj = np.abs(V.numpy()[:, :3].T @ tV.numpy()[:, :3])  # same principal subspace
        assert_close(np.linalg.svd(proj, compute_uv=False), np.ones(3), atol=1e-8)


def test_lowrank_errors_and_seeding():
    A = edunn.tensor(_low_rank(6, 4))
    with pytest.raises(ValueError, match=r"q\(=5\) must be non-negative integer and not greater than min\(m, n\)=4"):
        edunn.pca_lowrank(A, q=5)
    with pytest.raises(ValueError, match=r"q\(=5\)"):
        torch.pca_lowrank(torch.tensor(A.numpy()), q=5)
    with pytest.raises(ValueError, match=r"niter\(=-1\) must be non-negative integer"):
        edunn.pca_lowrank(A, niter=-1)
    with pytest.raises(TypeError, match="floating point"):
        edunn.svd_lowrank(edunn.ones(3, 3, dtype=edunn.int64))
    edunn.manual_seed(7)
    first = edunn.svd_lowrank(A, q=4)[0]
    edunn.manual_seed(7)
    assert edunn.equal(first, edunn.svd_lowrank(A, q=4)[0])
