"""The four autograd Functions that make ``DataParallel`` differentiable (lesson 18), as
``torch/nn/parallel/_functions.py``:

* ``Broadcast``: the parameters copied to every device.  Its backward is ``ReduceAddCoalesced``:
  the gradients of all copies *summed* on the original device -- which is why the gradient of a
  parameter under ``DataParallel`` equals its gradient on the whole batch.
* ``ReduceAddCoalesced``: the sum; its backward broadcasts the gradient again (double backward).
* ``Scatter``: the batch cut into chunks, one per device; its backward gathers the gradients.
* ``Gather``: the outputs concatenated on one device; its backward scatters the gradient.

Each pair is the other's derivative: copy and sum are adjoint, cut and concatenate are adjoint.
Differences from PyTorch: CPU tensors are accepted (PyTorch asserts they are on GPUs), and a
device may repeat (``["cpu", "cpu"]``), see ``comm.py``.
"""
from __future__ import annotations

import warnings
from itertools import chain
from typing import Any

from ...autograd.function import Function
from ...tensor import Tensor
from . import comm
from .comm import _get_device


def _alias(t: Tensor) -> Tensor:
    """A new tensor on ``t``'s memory and version counter: the copy that stays on ``t``'s own
    device (PyTorch's replica 0 shares storage with the module, so in-place updates are kept;
    sharing the version counter makes an in-place change before backward detectable)."""
    a = Tensor._make(t._data)
    a._version_counter = t._version_counter
    return a


class Broadcast(Function):
    """``Broadcast.apply(target_gpus, *inputs)``: every input copied to every device, flattened
    device by device: ``[in0@dev0, in1@dev0, ..., in0@dev1, ...]``.  The copies on the inputs'
    own device (``target_gpus[0]``) share their memory."""

    @staticmethod
    def forward(ctx, target_gpus, *inputs):
        target_gpus = [_get_device(x, optional=True) for x in target_gpus]
        ctx.target_gpus = target_gpus
        if len(inputs) == 0:
            return ()
        ctx.num_inputs = len(inputs)
        ctx.input_device = inputs[0].device
        outputs = comm.broadcast_coalesced(inputs, ctx.target_gpus)
        outputs[0] = [_alias(t) for t in outputs[0]]
        non_differentiables = []
        for idx, input_requires_grad in enumerate(ctx.needs_input_grad[1:]):
            if not input_requires_grad:
                non_differentiables.extend(output[idx] for output in outputs)
        ctx.mark_non_differentiable(*non_differentiables)
        return tuple(chain.from_iterable(outputs))

    @staticmethod
    def backward(ctx, *grad_outputs):
        grads = ReduceAddCoalesced.apply(ctx.input_device, ctx.num_inputs, *grad_outputs)
        return (None,) + tuple(grads)


class ReduceAddCoalesced(Function):
    """``ReduceAddCoalesced.apply(destination, num_inputs, *grads)``: ``grads`` holds
    ``num_inputs`` tensors per device, device after device; result ``i`` is the sum over devices
    of tensor ``i``, on ``destination``."""

    @staticmethod
    def forward(ctx, destination, num_inputs, *grads):
        ctx.target_gpus = [grads[i].device for i in range(0, len(grads), num_inputs)]
        grads_ = [grads[i:i + num_inputs] for i in range(0, len(grads), num_inputs)]
        return comm.reduce_add_coalesced(grads_, destination)

    @staticmethod
    def backward(ctx, *grad_outputs):
        return (None, None) + tuple(Broadcast.apply(ctx.target_gpus, *grad_outputs))


class Gather(Function):
    """``Gather.apply(target_device, dim, *inputs)``: the inputs concatenated along ``dim`` on
    ``target_device``.  Scalars (0-d) are gathered into a vector, with PyTorch's warning."""

    @staticmethod
    def forward(ctx, target_device, dim, *inputs):
        ctx.target_device = _get_device(target_device, optional=True)
        ctx.dim = dim
        ctx.input_gpus = tuple(i.device for i in inputs)
        if all(t.dim() == 0 for t in inputs) and dim == 0:
            inputs = tuple(Tensor._make(t._data.reshape(1)) for t in inputs)
            warnings.warn("Was asked to gather along dimension 0, but all input tensors were scalars; "
                          "will instead unsqueeze and return a vector.", stacklevel=2)
            ctx.unsqueezed_scalar = True
        else:
            ctx.unsqueezed_scalar = False
        ctx.input_sizes = tuple(i.size(ctx.dim) for i in inputs)
        return comm.gather(inputs, ctx.dim, ctx.target_device)

    @staticmethod
    def backward(ctx, grad_output):
        scattered_grads = Scatter.apply(ctx.input_gpus, ctx.input_sizes, ctx.dim, grad_output)
        if ctx.unsqueezed_scalar:
            scattered_grads = tuple(g[0] for g in scattered_grads)
        return (None, None) + tuple(scattered_grads)


class Scatter(Function):
    """``Scatter.apply(target_gpus, chunk_sizes, dim, input)``: ``input`` cut along ``dim``
    (``chunk`` sizes, or ``chunk_sizes``), chunk ``i`` on ``target_gpus[i]``."""

    @staticmethod
    def forward(ctx, target_gpus, chunk_sizes, dim, input):
        target_gpus = [_get_device(x, optional=True) for x in target_gpus]
        ctx.dim = dim
        ctx.input_device = input.device
        return comm.scatter(input, target_gpus, chunk_sizes, ctx.dim)

    @staticmethod
    def backward(ctx, *grad_output):
        return None, None, None, Gather.apply(ctx.input_device, ctx.dim, *grad_output)
