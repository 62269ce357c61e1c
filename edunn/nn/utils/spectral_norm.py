r"""Spectral normalization with a forward pre-hook (``torch.nn.utils.spectral_norm``).

Spectral normalization (Miyato et al., https://arxiv.org/abs/1802.05957) divides a weight by its
largest singular value, making the layer 1-Lipschitz (the usual use: a GAN's discriminator)::

    W_SN = W / sigma(W),      sigma(W) = max_{h != 0} ||W h|| / ||h||  ( = u^T W v )

A weight with more than two dimensions is seen as the matrix ``W.permute(dim, ...).reshape(
W.size(dim), -1)`` (``dim=1`` for ``ConvTranspose``, whose output channels are on dimension 1).

``sigma`` is not computed by an SVD but estimated by the *power method*: keep a left and a right
singular vector estimate ``u`` and ``v`` and, at every training-mode forward, improve them with
``n_power_iterations`` steps of::

    v <- normalize(W^T u),   u <- normalize(W v)          (no gradient flows through u, v)

then ``sigma = u . (W v)`` (with gradient, through ``W``).  In ``eval()`` mode ``u`` and ``v`` are
frozen, so the same weight is used on every call.

This old form keeps the trained weight as the parameter ``weight_orig``, ``u`` and ``v`` as the
buffers ``weight_u`` and ``weight_v``, and sets the plain attribute ``module.weight`` in a forward
pre-hook (:class:`SpectralNorm`).  A state_dict hook records ``spectral_norm`` version 1 in the
state_dict's metadata, and a load pre-hook converts checkpoints of version 0 (which stored
``weight`` and no ``weight_v``) by solving for ``v``.  The newer
``edunn.nn.utils.parametrizations.spectral_norm`` does the same with a parametrization.
"""
from __future__ import annotations

from typing import Any, Optional, TypeVar

from ... import linalg
from ...autograd import no_grad
from ...tensor import Tensor
from .. import functional as F
from ..modules.conv import ConvTranspose1d, ConvTranspose2d, ConvTranspose3d
from ..modules.module import Module
from ..parameter import Parameter, UninitializedParameter
from .weight_norm import _find_hook, _remove_hook

__all__ = ["SpectralNorm", "SpectralNormLoadStateDictPreHook", "SpectralNormStateDictHook",
           "spectral_norm", "remove_spectral_norm"]


def _check_n_power_iterations(n_power_iterations: int) -> None:
    if n_power_iterations <= 0:
        raise ValueError("Expected n_power_iterations to be positive, but "
                         f"got n_power_iterations={n_power_iterations}")


def _default_dim(module: Module, dim: Optional[int]) -> int:
    """``dim`` or, when ``None``, the output-channel dimension: 1 for ``ConvTranspose``, else 0."""
    if dim is None:
        dim = 1 if isinstance(module, (ConvTranspose1d, ConvTranspose2d, ConvTranspose3d)) else 0
    return dim


def _weight_to_matrix(weight: Tensor, dim: int) -> Tensor:
    """``weight`` as a ``(weight.size(dim), -1)`` matrix, ``dim`` moved first."""
    if dim != 0:
        weight = weight.permute(dim, *[d for d in range(weight.dim()) if d != dim])
    return weight.reshape(weight.size(0), -1)


class SpectralNorm:
    """The forward pre-hook that sets ``module.<name> = <name>_orig / sigma``."""

    _version: int = 1
    name: str
    dim: int
    n_power_iterations: int
    eps: float

    def __init__(self, name: str = "weight", n_power_iterations: int = 1, dim: int = 0,
                 eps: float = 1e-12) -> None:
        self.name = name
        self.dim = dim
        _check_n_power_iterations(n_power_iterations)
        self.n_power_iterations = n_power_iterations
        self.eps = eps

    def reshape_weight_to_matrix(self, weight: Tensor) -> Tensor:
        """``weight`` as a ``(weight.size(dim), -1)`` matrix, ``dim`` first."""
        return _weight_to_matrix(weight, self.dim)

    def compute_weight(self, module: Module, do_power_iteration: bool) -> Tensor:
        weight = getattr(module, self.name + "_orig")
        u = getattr(module, self.name + "_u")
        v = getattr(module, self.name + "_v")
        weight_mat = self.reshape_weight_to_matrix(weight)
        if do_power_iteration:
            with no_grad():
                for _ in range(self.n_power_iterations):
                    # out= writes into the buffers themselves, so the estimate improves over calls
                    v = F.normalize(weight_mat.t().mv(u), dim=0, eps=self.eps, out=v)
                    u = F.normalize(weight_mat.mv(v), dim=0, eps=self.eps, out=u)
                # copies, so that the next in-place update cannot change what backward uses
                u = u.clone()
                v = v.clone()
        sigma = u.dot(weight_mat.mv(v))
        return weight / sigma

    def remove(self, module: Module) -> None:
        with no_grad():
            weight = self.compute_weight(module, do_power_iteration=False)
        delattr(module, self.name)
        delattr(module, self.name + "_u")
        delattr(module, self.name + "_v")
        delattr(module, self.name + "_orig")
        module.register_parameter(self.name, Parameter(weight.detach()))

    def __call__(self, module: Module, inputs: Any) -> None:
        setattr(module, self.name, self.compute_weight(module, do_power_iteration=module.training))

    def _solve_v_and_rescale(self, weight_mat: Tensor, u: Tensor, target_sigma: Tensor) -> Tensor:
        # the v with u = normalize(W v) and u . (W v) = target_sigma: v = (W^T W)^+ W^T u, rescaled
        v = linalg.multi_dot([linalg.pinv(weight_mat.t().mm(weight_mat)), weight_mat.t(),
                              u.unsqueeze(1)]).squeeze(1)
        return v * (target_sigma / u.dot(weight_mat.mv(v)))

    @staticmethod
    def apply(module: Module, name: str, n_power_iterations: int, dim: int, eps: float) -> "SpectralNorm":
        if _find_hook(module, SpectralNorm, name) is not None:
            raise RuntimeError(f"Cannot register two spectral_norm hooks on the same parameter {name}")
        fn = SpectralNorm(name, n_power_iterations, dim, eps)
        weight = module._parameters[name]
        if weight is None:
            raise ValueError(f"`SpectralNorm` cannot be applied as parameter `{name}` is None")
        if isinstance(weight, UninitializedParameter):
            raise ValueError("The module passed to `SpectralNorm` can't have uninitialized parameters. "
                             "Make sure to run the dummy forward before applying spectral normalization")
        with no_grad():
            weight_mat = fn.reshape_weight_to_matrix(weight)
            h, w = weight_mat.size()
            # random unit vectors; the first training forward starts improving them
            u = F.normalize(weight.new_empty(h).normal_(0, 1), dim=0, eps=fn.eps)
            v = F.normalize(weight.new_empty(w).normal_(0, 1), dim=0, eps=fn.eps)
        delattr(module, fn.name)
        module.register_parameter(fn.name + "_orig", weight)
        # a plain attribute until the first forward; the hook replaces it by weight_orig / sigma
        setattr(module, fn.name, weight.data)
        module.register_buffer(fn.name + "_u", u)
        module.register_buffer(fn.name + "_v", v)
        module.register_forward_pre_hook(fn)
        module._register_state_dict_hook(SpectralNormStateDictHook(fn))
        module._register_load_state_dict_pre_hook(SpectralNormLoadStateDictPreHook(fn))
        return fn


class SpectralNormLoadStateDictPreHook:
    """Converts a version-0 checkpoint (``weight``, ``weight_orig``, ``weight_u``, no
    ``weight_v``) to the current keys while loading."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                 missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        fn = self.fn
        version = local_metadata.get("spectral_norm", {}).get(fn.name + ".version", None)
        if version is None or version < 1:
            weight_key = prefix + fn.name
            if (version is None and all(weight_key + s in state_dict for s in ("_orig", "_u", "_v"))
                    and weight_key not in state_dict):
                return  # current keys, metadata lost: nothing to convert
            has_missing_keys = False
            for suffix in ("_orig", "", "_u"):
                key = weight_key + suffix
                if key not in state_dict:
                    has_missing_keys = True
                    if strict:
                        missing_keys.append(key)
            if has_missing_keys:
                return
            with no_grad():
                weight_orig = state_dict[weight_key + "_orig"]
                weight = state_dict.pop(weight_key)
                sigma = (weight_orig / weight).mean()
                weight_mat = fn.reshape_weight_to_matrix(weight_orig)
                u = state_dict[weight_key + "_u"]
                state_dict[weight_key + "_v"] = fn._solve_v_and_rescale(weight_mat, u, sigma)


class SpectralNormStateDictHook:
    """Writes ``{'spectral_norm': {'<name>.version': 1}}`` into the state_dict's metadata."""

    def __init__(self, fn: SpectralNorm) -> None:
        self.fn = fn

    def __call__(self, module: Module, state_dict: dict, prefix: str, local_metadata: dict) -> None:
        if "spectral_norm" not in local_metadata:
            local_metadata["spectral_norm"] = {}
        key = self.fn.name + ".version"
        if key in local_metadata["spectral_norm"]:
            raise RuntimeError(f"Unexpected key in metadata['spectral_norm']: {key}")
        local_metadata["spectral_norm"][key] = self.fn._version


T_module = TypeVar("T_module", bound=Module)


def spectral_norm(module: T_module, name: str = "weight", n_power_iterations: int = 1,
                  eps: float = 1e-12, dim: Optional[int] = None) -> T_module:
    r"""Apply spectral normalization to ``module.<name>`` with a forward pre-hook.

    .. math::
        \mathbf{W}_{SN} = \dfrac{\mathbf{W}}{\sigma(\mathbf{W})}, \qquad
        \sigma(\mathbf{W}) = \max_{\mathbf{h} \ne 0} \dfrac{\|\mathbf{W}\mathbf{h}\|_2}{\|\mathbf{h}\|_2}

    ``sigma`` is estimated by ``n_power_iterations`` steps of the power method at every
    training-mode forward (module docstring).  The module gets the parameter ``<name>_orig`` and
    the buffers ``<name>_u`` and ``<name>_v``.

    Args:
        module (nn.Module): containing module
        name (str, optional): name of weight parameter
        n_power_iterations (int, optional): number of power iterations to calculate spectral norm
        eps (float, optional): epsilon for numerical stability in calculating norms
        dim (int, optional): dimension corresponding to number of outputs, the default is ``0``,
            except for modules that are instances of ConvTranspose{1,2,3}d, when it is ``1``

    Returns:
        The original module with the spectral norm hook
    """
    SpectralNorm.apply(module, name, n_power_iterations, _default_dim(module, dim), eps)
    return module


def remove_spectral_norm(module: T_module, name: str = "weight") -> T_module:
    r"""Undo :func:`spectral_norm`: ``module.<name>`` becomes a plain parameter holding the
    current ``weight_orig / sigma`` (no further power iteration), and the hooks are removed.

    Raises:
        ValueError: if ``module`` has no spectral norm on ``name``
    """
    _remove_hook(module, SpectralNorm, name, "spectral_norm")
    for hooks, hook_type in ((module._state_dict_hooks, SpectralNormStateDictHook),
                             (module._load_state_dict_pre_hooks, SpectralNormLoadStateDictPreHook)):
        for k, hook in hooks.items():
            if isinstance(hook, hook_type) and hook.fn.name == name:
                del hooks[k]
                break
    return module
