"""Batch normalization modules (lesson 11): ``BatchNorm1d/2d/3d``, their lazy forms and
``SyncBatchNorm``, laid out as ``torch/nn/modules/batchnorm.py``.

``_NormBase`` holds what batch and instance norm share: the options, ``weight``/``bias`` (C,)
and the running statistics, which are *buffers* (``running_mean``, ``running_var`` and the int64
``num_batches_tracked``), so they travel in ``state_dict`` but are not trained.  The 1d/2d/3d
classes differ only in the input ranks they accept; the math is ``F.batch_norm``::

    y = (x - E[x]) / sqrt(Var[x] + eps) * weight + bias

In training E and Var are the batch's, and the running statistics move towards them
(``momentum``; ``None`` means a cumulative average, 1/num_batches_tracked); in eval mode the
running statistics are used.
"""
from __future__ import annotations

from typing import Any

import edunn
from ...autograd.function import Function
from ...autograd.grad_mode import is_grad_enabled, no_grad
from ...tensor import Tensor
from .. import functional as F, init
from ..functional.normalization import _update_running
from ..parameter import Parameter, UninitializedBuffer, UninitializedParameter
from .lazy import LazyModuleMixin
from .module import Module

__all__ = ["BatchNorm1d", "LazyBatchNorm1d", "BatchNorm2d", "LazyBatchNorm2d", "BatchNorm3d",
           "LazyBatchNorm3d", "SyncBatchNorm"]


class _NormBase(Module):
    """Common base of ``_InstanceNorm`` and ``_BatchNorm``: options, affine parameters and the
    running-statistics buffers."""

    _version = 2
    __constants__ = ["track_running_stats", "momentum", "eps", "num_features", "affine"]

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__()
        self.num_features = num_features
        self.eps = eps
        self.momentum = momentum
        self.affine = affine
        self.track_running_stats = track_running_stats
        if self.affine:
            self.weight = Parameter(edunn.empty(num_features, **factory_kwargs))
            if bias:
                self.bias = Parameter(edunn.empty(num_features, **factory_kwargs))
            else:
                self.register_parameter("bias", None)
        else:
            self.register_parameter("weight", None)
            self.register_parameter("bias", None)
        if self.track_running_stats:
            self.register_buffer("running_mean", edunn.zeros(num_features, **factory_kwargs))
            self.register_buffer("running_var", edunn.ones(num_features, **factory_kwargs))
            self.register_buffer("num_batches_tracked", edunn.tensor(0, dtype=edunn.long, device=device))
        else:
            self.register_buffer("running_mean", None)
            self.register_buffer("running_var", None)
            self.register_buffer("num_batches_tracked", None)
        self.reset_parameters()

    def reset_running_stats(self) -> None:
        """running_mean = 0, running_var = 1, num_batches_tracked = 0."""
        if self.track_running_stats:
            self.running_mean.zero_()
            self.running_var.fill_(1)
            self.num_batches_tracked.zero_()

    def reset_parameters(self) -> None:
        """The running statistics reset, weight = 1 and bias = 0 (the identity map)."""
        self.reset_running_stats()
        if self.affine:
            init.ones_(self.weight)
            if self.bias is not None:
                init.zeros_(self.bias)

    def _check_input_dim(self, input: Tensor) -> None:
        raise NotImplementedError

    def extra_repr(self) -> str:
        return ("{num_features}, eps={eps}, momentum={momentum}, affine={affine}, "
                "bias={use_bias}, track_running_stats={track_running_stats}".format(
                    **self.__dict__, use_bias=self.bias is not None))

    def _load_from_state_dict(self, state_dict: dict, prefix: str, local_metadata: dict, strict: bool,
                              missing_keys: list, unexpected_keys: list, error_msgs: list) -> None:
        version = local_metadata.get("version", None)
        if (version is None or version < 2) and self.track_running_stats:
            # checkpoints older than version 2 have no num_batches_tracked: keep ours (or 0)
            key = prefix + "num_batches_tracked"
            if key not in state_dict:
                state_dict[key] = (self.num_batches_tracked if self.num_batches_tracked is not None
                                   else edunn.tensor(0, dtype=edunn.long))
        super()._load_from_state_dict(state_dict, prefix, local_metadata, strict, missing_keys,
                                      unexpected_keys, error_msgs)


def _check_rank(input: Tensor, ranks: tuple) -> None:
    """``expected 4D input (got 3D input)``, ``expected 2D or 3D input (...)``, as PyTorch."""
    if input.dim() not in ranks:
        expected = " or ".join(f"{r}D" for r in ranks)
        raise ValueError(f"expected {expected} input (got {input.dim()}D input)")


class _BatchNorm(_NormBase):
    """``F.batch_norm`` with this module's buffers; the 1d/2d/3d classes set ``_ranks``."""

    _ranks: tuple = ()

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, device: Any = None,
                 dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device,
                         dtype=dtype, bias=bias)

    def _check_input_dim(self, input: Tensor) -> None:
        _check_rank(input, self._ranks)

    def _average_factor(self) -> float:
        """Counts this batch and returns the momentum of the running update: ``momentum``, or
        1/num_batches_tracked (a cumulative average) when momentum is None."""
        factor = 0.0 if self.momentum is None else self.momentum
        if self.training and self.track_running_stats and self.num_batches_tracked is not None:
            self.num_batches_tracked.add_(1)
            if self.momentum is None:
                factor = 1.0 / self.num_batches_tracked.item()
        return factor

    def _stats_args(self) -> tuple:
        """Batch statistics in training and in eval when there are no running ones; the buffers
        are passed only when they are to be updated (training) or used (eval)."""
        bn_training = self.training or (self.running_mean is None and self.running_var is None)
        use_buffers = not self.training or self.track_running_stats
        return (bn_training, self.running_mean if use_buffers else None,
                self.running_var if use_buffers else None)

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        factor = self._average_factor()
        bn_training, running_mean, running_var = self._stats_args()
        return F.batch_norm(input, running_mean, running_var, self.weight, self.bias, bn_training,
                            factor, self.eps)


class _LazyNormBase(LazyModuleMixin, _NormBase):
    """A norm layer whose ``num_features`` is read from the first input's dim 1."""

    def __init__(self, eps: float = 1e-5, momentum: float | None = 0.1, affine: bool = True,
                 track_running_stats: bool = True, device: Any = None, dtype: Any = None, *,
                 bias: bool = True) -> None:
        factory_kwargs = {"device": device, "dtype": dtype}
        super().__init__(0, eps, momentum, False, False, **factory_kwargs, bias=False)
        self.affine = affine
        self.track_running_stats = track_running_stats
        if self.affine:
            self.weight = UninitializedParameter(**factory_kwargs)
            if bias:
                self.bias = UninitializedParameter(**factory_kwargs)
        if self.track_running_stats:
            self.running_mean = UninitializedBuffer(**factory_kwargs)
            self.running_var = UninitializedBuffer(**factory_kwargs)
            self.num_batches_tracked = edunn.tensor(0, dtype=edunn.long, device=device)

    def reset_parameters(self) -> None:
        if not self.has_uninitialized_params() and self.num_features != 0:
            super().reset_parameters()

    def initialize_parameters(self, input: Tensor) -> None:
        if self.has_uninitialized_params():
            self.num_features = input.shape[1]
            if self.affine:
                self.weight.materialize((self.num_features,))
                if self.bias is not None:
                    self.bias.materialize((self.num_features,))
            if self.track_running_stats:
                self.running_mean.materialize((self.num_features,))
                self.running_var.materialize((self.num_features,))
            self.reset_parameters()


class BatchNorm1d(_BatchNorm):
    """Batch normalization over a 2D (N, C) or 3D (N, C, L) input, per channel C::

        y = (x - E[x]) / sqrt(Var[x] + eps) * gamma + beta

    E and the biased Var over N (and L) in training; the running estimates, updated as
    ``running = (1 - momentum) * running + momentum * x_t`` with the unbiased variance, in eval.
    ``momentum=None``: a cumulative average.  ``track_running_stats=False``: batch statistics
    always.  Shape: input and output (N, C) or (N, C, L).  Lesson 11 derives the backward."""

    _ranks = (2, 3)


class BatchNorm2d(_BatchNorm):
    """Batch normalization over a 4D input (N, C, H, W), statistics per channel over N, H, W
    (see ``BatchNorm1d`` for the equation and the running statistics)."""

    _ranks = (4,)


class BatchNorm3d(_BatchNorm):
    """Batch normalization over a 5D input (N, C, D, H, W), statistics per channel over N, D, H, W
    (see ``BatchNorm1d``)."""

    _ranks = (5,)


class LazyBatchNorm1d(_LazyNormBase, _BatchNorm):
    """``BatchNorm1d`` with ``num_features`` inferred from ``input.size(1)``; weight, bias,
    running_mean and running_var are created on the first forward."""

    cls_to_become = BatchNorm1d
    _ranks = BatchNorm1d._ranks


class LazyBatchNorm2d(_LazyNormBase, _BatchNorm):
    """``BatchNorm2d`` with ``num_features`` inferred from ``input.size(1)``."""

    cls_to_become = BatchNorm2d
    _ranks = BatchNorm2d._ranks


class LazyBatchNorm3d(_LazyNormBase, _BatchNorm):
    """``BatchNorm3d`` with ``num_features`` inferred from ``input.size(1)``."""

    cls_to_become = BatchNorm3d
    _ranks = BatchNorm3d._ranks


# ---------------------------------------------------------------------------------- SyncBatchNorm
def _distributed() -> Any:
    """``edunn.distributed`` when it is importable, available and initialised, else None."""
    try:
        from ... import distributed as dist
    except ImportError:
        return None
    if dist.is_available() and dist.is_initialized():
        return dist
    return None


def _all_reduce(dist: Any, array: Any, group: Any) -> Any:
    """Sum ``array`` over the processes of ``group`` (in place on a tensor wrapping it)."""
    t = Tensor._make(array)
    dist.all_reduce(t, group=group)
    return t._data


class _SyncBatchNormFn(Function):
    """Batch norm whose statistics are those of the batches of every process together.

    Forward: the global count and sum give the mean; a second all-reduce of the squared
    deviations gives the (biased) variance -- two passes, as in ``F.batch_norm``.
    Backward: ``dx = invstd * (dy_hat - S1/M - x_hat * S2/M)`` where S1 = sum(dy_hat) and
    S2 = sum(dy_hat * x_hat) are all-reduced too and M is the global count; ``dweight`` and
    ``dbias`` stay local (DistributedDataParallel reduces them with the other gradients)."""

    @staticmethod
    def forward(ctx, x, w, b, running_mean, running_var, eps, momentum, group, dist):
        xd = x._data
        xp = edunn.backend.array_module(xd)
        wd = xd.astype(edunn.float32.np) if xd.dtype.itemsize < 4 else xd
        c = xd.shape[1]
        axes = (0,) + tuple(range(2, xd.ndim))
        pshape = (1, c) + (1,) * (xd.ndim - 2)
        local = xd.size // c
        # float64 messages: the count stays exact and the sums lose nothing across processes
        f64 = edunn.float64.np
        sums = _all_reduce(dist, xp.concatenate([wd.sum(axis=axes, dtype=f64), xp.full((1,), local, f64)]), group)
        count = float(sums[-1])
        if count <= 1:
            raise ValueError(f"Expected more than 1 value per channel when training, got input size "
                             f"{x.size()} (and {count:.0f} values in all processes)")
        mean = (sums[:-1] / count).astype(wd.dtype).reshape(pshape)
        xhat = wd - mean
        var = (_all_reduce(dist, (xhat * xhat).sum(axis=axes, dtype=f64), group) / count)
        var = var.astype(wd.dtype).reshape(pshape)
        invstd = (1.0 / xp.sqrt(var + eps)).astype(var.dtype, copy=False)
        xhat *= invstd
        if running_mean is not None:
            _update_running(running_mean, mean.reshape(c), momentum)
        if running_var is not None:
            _update_running(running_var, var.reshape(c) * (count / (count - 1)), momentum)
        y = xhat * w._data.reshape(pshape) if w is not None else xhat.copy()
        if b is not None:
            y += b._data.reshape(pshape)
        ctx.count, ctx.pshape, ctx.axes, ctx.group, ctx.dist = count, pshape, axes, group, dist
        ctx.save_for_backward(w, b, xhat, invstd)  # arrays too: freed with the graph
        return y.astype(xd.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        if is_grad_enabled():
            raise RuntimeError("trying to differentiate twice a function that was marked with "
                               "@once_differentiable (SyncBatchNorm across processes)")
        w, b, xhat, invstd = ctx.saved_tensors
        need_x, need_w, need_b = ctx.needs_input_grad[:3]
        axes, pshape = ctx.axes, ctx.pshape
        xhat, invstd = xhat._data, invstd._data  # saved arrays come back wrapped as constants
        g = grad._data.astype(xhat.dtype, copy=False)
        xp = edunn.backend.array_module(g)
        gx = gw = gb = None
        sum_dy = g.sum(axis=axes)
        sum_dy_xhat = (g * xhat).sum(axis=axes)
        if need_w:
            gw = Tensor._make(sum_dy_xhat.astype(w.dtype.np, copy=False))
        if need_b:
            gb = Tensor._make(sum_dy.astype(b.dtype.np, copy=False))
        if need_x:
            c = sum_dy.shape[0]
            wd = w._data.astype(g.dtype) if w is not None else 1.0
            sums = _all_reduce(ctx.dist, xp.concatenate([sum_dy * wd, sum_dy_xhat * wd]), ctx.group)
            s1, s2 = sums[:c].reshape(pshape), sums[c:].reshape(pshape)
            dyhat = g * (w._data.reshape(pshape) if w is not None else 1.0)
            gxd = (dyhat - s1 / ctx.count - xhat * (s2 / ctx.count)) * invstd
            gx = Tensor._make(gxd.astype(grad._data.dtype, copy=False))
        return gx, gw, gb, None, None, None, None, None, None


class SyncBatchNorm(_BatchNorm):
    """Batch normalization over an N-dimensional input (N, C, *) whose statistics, in training,
    are computed over the batches of every process of ``process_group`` together (the default
    group when None), through ``edunn.distributed``.  In a single process, or when no process
    group is initialised, it is exactly ``BatchNorm``.  Lessons 11 and 18."""

    def __init__(self, num_features: int, eps: float = 1e-5, momentum: float | None = 0.1,
                 affine: bool = True, track_running_stats: bool = True, process_group: Any = None,
                 device: Any = None, dtype: Any = None, *, bias: bool = True) -> None:
        super().__init__(num_features, eps, momentum, affine, track_running_stats, device=device,
                         dtype=dtype, bias=bias)
        self.process_group = process_group

    def _check_input_dim(self, input: Tensor) -> None:
        if input.dim() < 2:
            raise ValueError(f"expected at least 2D input (got {input.dim()}D input)")

    def _check_non_zero_input_channels(self, input: Tensor) -> None:
        if input.size(1) == 0:
            raise ValueError("SyncBatchNorm number of input channels should be non-zero")

    def forward(self, input: Tensor) -> Tensor:
        self._check_input_dim(input)
        self._check_non_zero_input_channels(input)
        factor = self._average_factor()
        bn_training, running_mean, running_var = self._stats_args()
        dist = _distributed() if (bn_training and self.training) else None
        if dist is not None and dist.get_world_size(self.process_group) <= 1:
            dist = None
        if dist is None:  # nothing to synchronise: ordinary batch norm
            return F.batch_norm(input, running_mean, running_var, self.weight, self.bias, bn_training,
                                factor, self.eps)
        if not input.dtype.is_floating_point:
            raise NotImplementedError(f"\"batch_norm\" not implemented for '{input.dtype.scalar_name}'")
        if self.eps <= 0.0:
            raise ValueError(f"batch_norm eps must be positive during training, but got {self.eps}")
        return _SyncBatchNormFn.apply(input, self.weight, self.bias, running_mean, running_var,
                                      self.eps, factor, self.process_group, dist)

    @classmethod
    def convert_sync_batchnorm(cls, module: Module, process_group: Any = None) -> Module:
        """Every ``BatchNorm*d`` in ``module`` (recursively) replaced by a ``SyncBatchNorm`` that
        shares its parameters and buffers; returns the converted module."""
        module_output = module
        if isinstance(module, _BatchNorm):
            module_output = SyncBatchNorm(module.num_features, module.eps, module.momentum, module.affine,
                                          module.track_running_stats, process_group,
                                          bias=module.bias is not None)
            if module.affine:
                with no_grad():
                    module_output.weight = module.weight
                    module_output.bias = module.bias
            module_output.running_mean = module.running_mean
            module_output.running_var = module.running_var
            module_output.num_batches_tracked = module.num_batches_tracked
            module_output.training = module.training
            if hasattr(module, "qconfig"):
                module_output.qconfig = module.qconfig
        for name, child in module.named_children():
            module_output.add_module(name, cls.convert_sync_batchnorm(child, process_group))
        del module
        return module_output
