"""``replicate``: one copy of a module per device (lesson 18), as
``torch/nn/parallel/replicate.py``.

A replica is a shallow copy of every submodule whose parameters are the outputs of
``Broadcast``: differentiable copies, not leaves.  The backward of ``Broadcast`` sums the
gradients of all replicas into the original parameters, so an optimizer built on
``module.parameters()`` sees the gradient of the whole batch.  Buffers are copied without a
graph (unless a buffer requires grad).  Replica 0 lives on the module's own device and shares its
memory: in-place updates there (BatchNorm's running statistics) reach the module; those of the
other replicas are lost with them, as in PyTorch.

Difference from PyTorch: CPU devices are accepted (``replicate(net, ["cpu", "cpu"])``), see
``comm.py``; there is no TorchScript, so no ScriptModule check.
"""
from __future__ import annotations

from collections import OrderedDict
from itertools import chain
from typing import Any, Sequence, TypeVar

from ...tensor import Tensor
from ..modules.module import Module
from ..parameter import UninitializedBuffer, UninitializedParameter
from . import comm
from .comm import _get_device

__all__ = ["replicate"]

T = TypeVar("T", bound=Module)


def _replicate_for_data_parallel(module: Module) -> Module:
    """PyTorch's ``Module._replicate_for_data_parallel``: a new object of the same class sharing
    everything but its own (empty) parameter dict and copies of the buffer and submodule dicts.
    A class may define its own (lazy modules refuse to be replicated)."""
    own = getattr(type(module), "_replicate_for_data_parallel", None)
    if own is not None:
        return module._replicate_for_data_parallel()
    replica = type(module).__new__(type(module))
    replica.__dict__ = module.__dict__.copy()
    # replicas do not own parameters: their tensors are plain attributes set by replicate()
    replica.__dict__["_parameters"] = {}
    replica.__dict__["_buffers"] = replica._buffers.copy()
    replica.__dict__["_modules"] = replica._modules.copy()
    replica.__dict__["_is_replica"] = True
    return replica


def _broadcast_coalesced_reshape(tensors: Sequence[Tensor], devices: Sequence[Any],
                                 detach: bool = False) -> list:
    """``result[j][i]``: tensor ``i`` on device ``j`` -- through ``Broadcast`` (differentiable)
    unless ``detach``."""
    from ._functions import Broadcast
    if len(tensors) == 0:
        return []
    if detach:
        return comm.broadcast_coalesced(tensors, devices)
    tensor_copies = Broadcast.apply(devices, *tensors)
    return [list(tensor_copies[i:i + len(tensors)]) for i in range(0, len(tensor_copies), len(tensors))]


def replicate(network: T, devices: Sequence[Any], detach: bool = False) -> list[T]:
    r"""``len(devices)`` replicas of ``network``, replica ``j`` on ``devices[j]``.

    ``network``'s parameters and buffers must live on ``devices[0]``.  With ``detach=False`` the
    replicas' parameters are differentiable copies (gradients flow back, summed, into
    ``network``'s parameters); ``detach=True`` (what ``DataParallel`` uses under ``no_grad``)
    copies without a graph.
    """
    if not isinstance(network, Module):
        raise TypeError(f"replicate(): expected an nn.Module, got {type(network).__name__}")
    if not devices:
        return []
    devices = [_get_device(x, optional=True) for x in devices]
    num_replicas = len(devices)

    params = list(network.parameters())
    if any(isinstance(t, (UninitializedParameter, UninitializedBuffer)) for t in chain(params, network.buffers())):
        # (PyTorch fails inside Broadcast first; the lazy module's own message says what to do)
        raise RuntimeError("Modules with uninitialized parameters can't be used with `DataParallel`. "
                           "Run a dummy forward pass to correctly initialize the modules")
    param_indices = {param: idx for idx, param in enumerate(params)}
    param_copies = _broadcast_coalesced_reshape(params, devices, detach)

    buffers = list(network.buffers())
    buffers_rg: list = []
    buffers_not_rg: list = []
    for buf in buffers:
        if buf.requires_grad and not detach:
            buffers_rg.append(buf)
        else:
            buffers_not_rg.append(buf)
    buffer_indices_rg = {buf: idx for idx, buf in enumerate(buffers_rg)}
    buffer_indices_not_rg = {buf: idx for idx, buf in enumerate(buffers_not_rg)}
    buffer_copies_rg = _broadcast_coalesced_reshape(buffers_rg, devices, detach=detach)
    buffer_copies_not_rg = _broadcast_coalesced_reshape(buffers_not_rg, devices, detach=True)

    modules = list(network.modules())
    module_copies: list = [[] for _ in devices]
    module_indices: dict = {}
    for i, module in enumerate(modules):
        module_indices[module] = i
        for j in range(num_replicas):
            replica = _replicate_for_data_parallel(module)
            # DistributedDataParallel reads the replicas' parameters from here
            replica.__dict__["_former_parameters"] = OrderedDict()
            module_copies[j].append(replica)

    for i, module in enumerate(modules):
        for key, child in module._modules.items():
            if child is None:
                for j in range(num_replicas):
                    module_copies[j][i]._modules[key] = None
            else:
                module_idx = module_indices[child]
                for j in range(num_replicas):
                    setattr(module_copies[j][i], key, module_copies[j][module_idx])
        for key, param in module._parameters.items():
            if param is None:
                for j in range(num_replicas):
                    module_copies[j][i]._parameters[key] = None
            else:
                param_idx = param_indices[param]
                for j in range(num_replicas):
                    replica = module_copies[j][i]
                    param_copy = param_copies[j][param_idx]
                    # not leaves any more: set as plain attributes, not as parameters
                    setattr(replica, key, param_copy)
                    replica._former_parameters[key] = param_copy
        for key, buf in module._buffers.items():
            if buf is None:
                for j in range(num_replicas):
                    module_copies[j][i]._buffers[key] = None
            else:
                if buf.requires_grad and not detach:
                    buffer_copies, buffer_idx = buffer_copies_rg, buffer_indices_rg[buf]
                else:
                    buffer_copies, buffer_idx = buffer_copies_not_rg, buffer_indices_not_rg[buf]
                for j in range(num_replicas):
                    setattr(module_copies[j][i], key, buffer_copies[j][buffer_idx])

    return [module_copies[j][0] for j in range(num_replicas)]
