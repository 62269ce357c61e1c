r"""Ready-made parametrizations (``torch.nn.utils.parametrizations``): ``orthogonal``,
``spectral_norm`` and ``weight_norm``, each a small ``Module`` registered with
:func:`edunn.nn.utils.parametrize.register_parametrization` (read that module's docstring first).

* ``orthogonal``: ``module.weight`` is always a matrix (or batch of matrices) with orthonormal
  columns (rows, when it is wide).  Orthogonal matrices are images of unconstrained ones:
  ``exp(A)`` and the Cayley map ``(I - A/2)^{-1} (I + A/2)`` of a skew-symmetric ``A = X - X^T``,
  or a product of Householder reflections ``H_1 ... H_k`` built from the columns of ``X``.  With
  the *dynamic trivialization* (``use_trivialization=True``) the module also keeps an orthogonal
  ``base`` and returns ``base @ Q``: ``original`` starts at the value whose ``Q`` is the identity,
  and assigning ``module.weight = W`` simply stores (an orthogonalization of) ``W`` as ``base``.
* ``spectral_norm``: ``W / sigma(W)`` with ``sigma`` estimated by the power method on the
  buffers ``_u`` and ``_v`` (``spectral_norm.py`` derives it).
* ``weight_norm``: ``g * v / ||v||`` from ``original0 = g`` and ``original1 = v``
  (``weight_norm.py``).

The linear algebra is edunn's own (``edunn.matrix_exp``, ``edunn.linalg.solve``,
``edunn.geqrf``, ``edunn.linalg.householder_product``), all differentiable.  edunn has no complex
dtypes, so the unitary (complex) case of ``orthogonal`` does not arise.
"""
from __future__ import annotations

from enum import Enum, auto
from typing import Optional

import edunn
from ... import backend, linalg
from ...autograd import no_grad
from ...ops import creation as _cr
from ...tensor import Tensor
from .. import functional as F
from ..modules.module import Module
from . import parametrize
from .spectral_norm import _check_n_power_iterations, _default_dim, _weight_to_matrix
from .weight_norm import _weight_norm, norm_except_dim

__all__ = ["orthogonal", "spectral_norm", "weight_norm"]


def _tensor_named(module: Module, name: str) -> Tensor:
    """``module.<name>``, which must be a parameter or buffer (a tensor)."""
    weight = getattr(module, name, None)
    if not isinstance(weight, Tensor):
        raise ValueError(f"Module '{module}' has no parameter or buffer with name '{name}'")
    return weight


def _is_orthogonal(Q: Tensor, eps: Optional[float] = None) -> bool:
    n, k = Q.size(-2), Q.size(-1)
    Id = _cr.eye(k, dtype=Q.dtype, device=Q.device)
    eps = 10.0 * n * edunn.finfo(Q.dtype).eps
    return edunn.allclose(Q.mH @ Q, Id, atol=eps)


def _make_orthogonal(A: Tensor) -> Tensor:
    """The Q of ``A = QR`` (``A`` tall) with the signs chosen so that ``diag(R) >= 0``."""
    X, tau = edunn.geqrf(A)
    Q = linalg.householder_product(X, tau)
    return Q * X.diagonal(dim1=-2, dim2=-1).sgn().unsqueeze(-2)


def _with_diagonal(A: Tensor, diag: Tensor) -> Tensor:
    """``A`` with its (batched) main diagonal replaced by ``diag`` (out of place)."""
    n, k = A.size(-2), A.size(-1)
    on_diagonal = _cr.eye(n, k, dtype=edunn.bool, device=A.device)
    # diag[i] must land in row i and column i: spread it along the longer side
    return edunn.where(on_diagonal, diag.unsqueeze(-2) if n >= k else diag.unsqueeze(-1), A)


class _OrthMaps(Enum):
    matrix_exp = auto()
    cayley = auto()
    householder = auto()


class _Orthogonal(Module):
    base: Tensor

    def __init__(self, weight: Tensor, orthogonal_map: _OrthMaps, *, use_trivialization: bool = True) -> None:
        super().__init__()
        if weight.is_complex() and orthogonal_map == _OrthMaps.householder:
            raise ValueError("The householder parametrization does not support complex tensors.")
        self.shape = weight.shape
        self.orthogonal_map = orthogonal_map
        if use_trivialization:
            self.register_buffer("base", None)

    def forward(self, X: Tensor) -> Tensor:
        n, k = X.size(-2), X.size(-1)
        transposed = n < k
        if transposed:  # work with a tall matrix, transpose back at the end
            X = X.mT
            n, k = k, n
        if self.orthogonal_map in (_OrthMaps.matrix_exp, _OrthMaps.cayley):
            # A = X - X^T from the lower triangle of X, padded to n x n: skew-symmetric
            X = X.tril()
            if n != k:
                X = edunn.cat([X, X.new_zeros(n, n - k).expand(*X.shape[:-2], -1, -1)], dim=-1)
            A = X - X.mH
            if self.orthogonal_map == _OrthMaps.matrix_exp:
                Q = edunn.matrix_exp(A)
            else:
                Id = _cr.eye(n, dtype=A.dtype, device=A.device)
                Q = linalg.solve(Id - 0.5 * A, Id + 0.5 * A)
            if n != k:
                Q = Q[..., :k]
        else:
            # Householder vectors below the diagonal (unit 1 on it implied); tau = 2 / ||v||^2
            # makes each factor a reflection, and the sign of X's diagonal flips columns
            A = X.tril(diagonal=-1)
            tau = 2.0 / (1.0 + (A * A).sum(dim=-2))
            Q = linalg.householder_product(A, tau)
            Q = Q * X.diagonal(dim1=-2, dim2=-1).int().unsqueeze(-2)
        if hasattr(self, "base"):
            Q = self.base @ Q
        if transposed:
            Q = Q.mT
        return Q

    @backend.on_input_device
    def right_inverse(self, Q: Tensor) -> Tensor:
        with no_grad():
            if Q.shape != self.shape:
                raise ValueError(f"Expected a matrix or batch of matrices of shape {self.shape}. "
                                 f"Got a tensor of shape {Q.shape}.")
            Q_init = Q
            n, k = Q.size(-2), Q.size(-1)
            transpose = n < k
            if transpose:
                Q = Q.mT
                n, k = k, n
            if not hasattr(self, "base"):
                if self.orthogonal_map in (_OrthMaps.cayley, _OrthMaps.matrix_exp):
                    raise NotImplementedError("It is not possible to assign to the matrix exponential "
                                              "or the Cayley parametrizations when use_trivialization=False.")
                # the Householder vectors of Q's QR, with the diagonal carrying the signs
                A, tau = edunn.geqrf(Q)
                sign = A.diagonal(dim1=-2, dim2=-1).sign()
                sign = edunn.where(tau == 0.0, -sign, sign)
                A = _with_diagonal(A, sign)
                return A.mT if transpose else A
            if n == k:
                Q = Q.clone() if _is_orthogonal(Q) else _make_orthogonal(Q)
            else:
                # complete the k columns to an n x n orthogonal base with random columns
                N = edunn.randn(*(tuple(Q.size()[:-2]) + (n, n - k)), dtype=Q.dtype, device=Q.device)
                Q = _make_orthogonal(edunn.cat([Q, N], dim=-1))
            self.base = Q
            # the original whose forward is the identity (so that weight = base[..., :k])
            neg_Id = _with_diagonal(edunn.zeros_like(Q_init),
                                    edunn.full(tuple(Q_init.shape[:-2]) + (min(n, k),), -1.0,
                                               dtype=Q_init.dtype, device=Q_init.device))
            return neg_Id


def orthogonal(module: Module, name: str = "weight", orthogonal_map: Optional[str] = None, *,
               use_trivialization: bool = True) -> Module:
    r"""Make ``module.<name>`` an orthogonal matrix (or batch of them) through a parametrization.

    .. math::
        Q^{T}Q = \mathrm{I}_n \quad \text{if } m \geq n, \qquad
        QQ^{T} = \mathrm{I}_m \quad \text{if } m < n

    for ``Q`` of shape ``(..., m, n)``.  ``orthogonal_map`` picks how ``Q`` is made from the
    unconstrained ``original`` (module docstring): ``"matrix_exp"``, ``"cayley"`` or
    ``"householder"``; the default is ``"matrix_exp"`` for square matrices and
    ``"householder"`` otherwise.  With ``use_trivialization=True`` an orthogonal ``base`` is
    stored under ``module.parametrizations.<name>[0].base`` and ``Q = base @ map(original)``.

    Initial value: the current tensor if it is orthogonal, else the Q of its QR decomposition
    (with trivialization, or with ``"householder"``); otherwise the parametrization applied to
    the current tensor.

    Args:
        module (nn.Module): module on which to register the parametrization.
        name (str, optional): name of the tensor to make orthogonal. Default: ``"weight"``.
        orthogonal_map (str, optional): ``"matrix_exp"``, ``"cayley"`` or ``"householder"``.
        use_trivialization (bool, optional): whether to use the dynamic trivialization
            framework. Default: ``True``.

    Returns:
        The original module with an orthogonal parametrization registered to the specified weight
    """
    weight = _tensor_named(module, name)
    if weight.ndim < 2:
        raise ValueError(f"Expected a matrix or batch of matrices. Got a tensor of {weight.ndim} dimensions.")
    if orthogonal_map is None:
        orthogonal_map = ("matrix_exp" if weight.size(-2) == weight.size(-1) or weight.is_complex()
                          else "householder")
    orth_enum = getattr(_OrthMaps, orthogonal_map, None)
    if orth_enum is None:
        raise ValueError('orthogonal_map has to be one of "matrix_exp", "cayley", "householder". '
                         f"Got: {orthogonal_map}")
    orth = _Orthogonal(weight, orth_enum, use_trivialization=use_trivialization)
    parametrize.register_parametrization(module, name, orth, unsafe=True)
    return module


class _WeightNorm(Module):
    def __init__(self, dim: Optional[int] = 0) -> None:
        super().__init__()
        if dim is None:
            dim = -1
        self.dim = dim

    def forward(self, weight_g: Tensor, weight_v: Tensor) -> Tensor:
        return _weight_norm(weight_v, weight_g, self.dim)

    def right_inverse(self, weight: Tensor) -> tuple:
        return norm_except_dim(weight, 2, self.dim), weight


def weight_norm(module: Module, name: str = "weight", dim: int = 0) -> Module:
    r"""Weight normalization as a parametrization: ``module.<name>`` is computed as

    .. math:: \mathbf{w} = g \dfrac{\mathbf{v}}{\|\mathbf{v}\|}

    from ``module.parametrizations.<name>.original0`` (``g``, shape ``(out, 1, ..., 1)`` for
    ``dim=0``) and ``original1`` (``v``).  ``dim=None`` takes one norm over the whole tensor.
    Loading a state_dict written with the old :func:`edunn.nn.utils.weight_norm` works: its
    ``<name>_g``/``<name>_v`` keys are renamed on the way in.

    Args:
        module (Module): containing module
        name (str, optional): name of weight parameter
        dim (int, optional): dimension over which to compute the norm

    Returns:
        The original module with the weight norm hook
    """
    _wn = _WeightNorm(dim)
    parametrize.register_parametrization(module, name, _wn, unsafe=True)

    def _weight_norm_compat_hook(state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                                 missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        g_key = f"{prefix}{name}_g"
        v_key = f"{prefix}{name}_v"
        if g_key in state_dict and v_key in state_dict:
            original0 = state_dict.pop(g_key)
            original1 = state_dict.pop(v_key)
            state_dict[f"{prefix}parametrizations.{name}.original0"] = original0
            state_dict[f"{prefix}parametrizations.{name}.original1"] = original1

    module._register_load_state_dict_pre_hook(_weight_norm_compat_hook)
    return module


class _SpectralNorm(Module):
    def __init__(self, weight: Tensor, n_power_iterations: int = 1, dim: int = 0, eps: float = 1e-12) -> None:
        super().__init__()
        ndim = weight.ndim
        if dim >= ndim or dim < -ndim:
            raise IndexError("Dimension out of range (expected to be in range of "
                             f"[-{ndim}, {ndim - 1}] but got {dim})")
        _check_n_power_iterations(n_power_iterations)
        self.dim = dim if dim >= 0 else dim + ndim
        self.eps = eps
        if ndim > 1:
            # a vector is simply normalized; a matrix needs u, v for the power method
            self.n_power_iterations = n_power_iterations
            weight_mat = self._reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            u = weight_mat.new_empty(h).normal_(0, 1)
            v = weight_mat.new_empty(w).normal_(0, 1)
            self.register_buffer("_u", F.normalize(u, dim=0, eps=self.eps))
            self.register_buffer("_v", F.normalize(v, dim=0, eps=self.eps))
            # start from good estimates of the singular vectors rather than random ones
            self._power_method(weight_mat, 15)

    def _reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        if weight.ndim <= 1:
            raise AssertionError(f"Expected weight to have more than 1 dimension, got {weight.ndim}")
        return _weight_to_matrix(weight, self.dim)

    def _power_method(self, weight_mat: Tensor, n_power_iterations: int) -> None:
        """``u <- normalize(W v)``, ``v <- normalize(W^T u)``, in place in the buffers."""
        if weight_mat.ndim <= 1:
            raise AssertionError(f"Expected weight_mat to have more than 1 dimension, got {weight_mat.ndim}")
        with no_grad():
            for _ in range(n_power_iterations):
                self._u = F.normalize(weight_mat.mv(self._v), dim=0, eps=self.eps, out=self._u)
                self._v = F.normalize(weight_mat.H.mv(self._u), dim=0, eps=self.eps, out=self._v)

    def forward(self, weight: Tensor) -> Tensor:
        if weight.ndim == 1:
            return F.normalize(weight, dim=0, eps=self.eps)
        weight_mat = self._reshape_weight_to_matrix(weight)
        if self.training:
            self._power_method(weight_mat, self.n_power_iterations)
        # copies: the next power iteration writes the buffers in place
        u = self._u.clone()
        v = self._v.clone()
        sigma = u.vdot(weight_mat.mv(v))
        return weight / sigma

    def right_inverse(self, value: Tensor) -> Tensor:
        # any W has W / sigma(W) in the image: assigning W stores it as it is
        return value


def spectral_norm(module: Module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: Optional[int] = None) -> Module:
    r"""Spectral normalization as a parametrization:

    .. math::
        \mathbf{W}_{SN} = \dfrac{\mathbf{W}}{\sigma(\mathbf{W})}, \qquad
        \sigma(\mathbf{W}) = \max_{\mathbf{h} \ne 0} \dfrac{\|\mathbf{W}\mathbf{h}\|_2}{\|\mathbf{h}\|_2}

    (for a vector: ``x / ||x||``).  ``sigma`` is estimated by the power method on the buffers
    ``module.parametrizations.<name>[0]._u`` and ``._v``: 15 iterations at registration, then
    ``n_power_iterations`` at every access of ``module.<name>`` in training mode (none in eval
    mode; with the parametrization in training mode, ``remove_parametrizations`` does one more).

    Args:
        module (nn.Module): containing module
        name (str, optional): name of weight parameter. Default: ``"weight"``.
        n_power_iterations (int, optional): number of power iterations. Default: ``1``.
        eps (float, optional): epsilon for numerical stability in calculating norms.
            Default: ``1e-12``.
        dim (int, optional): dimension corresponding to number of outputs.  Default: ``0``,
            except for ConvTranspose{1,2,3}d, when it is ``1``

    Returns:
        The original module with a new parametrization registered to the specified weight
    """
    weight = _tensor_named(module, name)
    dim = _default_dim(module, dim)
    parametrize.register_parametrization(module, name, _SpectralNorm(weight, n_power_iterations, dim, eps))
    return module
