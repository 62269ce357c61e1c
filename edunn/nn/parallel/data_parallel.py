"""``DataParallel`` and ``data_parallel``: one process, several devices (lesson 18), as
``torch/nn/parallel/data_parallel.py``.

One forward step is four moves, each in its own file::

    inputs   = scatter(inputs, device_ids)            # the batch cut along dim, one chunk per device
    replicas = replicate(module, device_ids)          # the parameters copied (Broadcast)
    outputs  = parallel_apply(replicas, inputs)       # each replica on its chunk, one thread each
    output   = gather(outputs, output_device)         # the outputs concatenated (Gather)

and backward runs the adjoints: the output's gradient is scattered back to the devices, and the
gradients of the replicas' parameters are *summed* into the module's parameters.  For a loss
that sums (or averages) over the batch, that sum is exactly the gradient on the whole batch.

``DataParallel`` keeps PyTorch's behaviour: with no CUDA device it is a transparent wrapper
(``self.module(*inputs, **kwargs)``); with one device it moves the inputs there and calls the
module directly.  The functional ``data_parallel`` (and ``replicate``, ``scatter``, ``gather``,
``parallel_apply``, ``comm``) also accept CPU devices -- an edunn extension, so the mechanism
runs on a machine without a GPU: ``data_parallel(model, x, device_ids=["cpu", "cpu"])``.
"""
from __future__ import annotations

import operator
import warnings
from itertools import chain
from typing import Any, Generic, Sequence, TypeVar

import edunn
from ...autograd import grad_mode
from ..modules.module import Module
from .comm import _get_device, _get_device_index
from .parallel_apply import parallel_apply
from .replicate import replicate
from .scatter_gather import gather, scatter_kwargs

__all__ = ["DataParallel", "data_parallel"]

T = TypeVar("T", bound=Module)


def _get_available_device_type() -> str | None:
    return "cuda" if edunn.cuda.is_available() else None


def _get_all_device_indices() -> list:
    return list(range(edunn.cuda.device_count()))


def _check_balance(device_ids: Sequence[int]) -> None:
    """Warn when one GPU has under 75% of the memory (or multiprocessors) of another: the batch
    is cut evenly, so the slowest device sets the pace."""
    properties = getattr(edunn.cuda, "get_device_properties", None)
    if properties is None or len(device_ids) < 2:
        return  # one device cannot be unbalanced (or edunn.cuda cannot describe devices)
    imbalance_warn = """
    There is an imbalance between your GPUs. You may want to exclude GPU {} which
    has less than 75% of the memory or cores of GPU {}. You can do so by setting
    the device_ids argument to DataParallel, or by setting the CUDA_VISIBLE_DEVICES
    environment variable."""
    dev_props = [properties(i) for i in device_ids]

    def warn_imbalance(get_prop) -> bool:
        values = [get_prop(props) for props in dev_props]
        min_pos, min_val = min(enumerate(values), key=operator.itemgetter(1))
        max_pos, max_val = max(enumerate(values), key=operator.itemgetter(1))
        if min_val / max_val < 0.75:
            warnings.warn(imbalance_warn.format(device_ids[min_pos], device_ids[max_pos]), stacklevel=3)
            return True
        return False

    if warn_imbalance(lambda props: props.total_memory):
        return
    warn_imbalance(lambda props: props.multi_processor_count)


def _check_module_device(module: Module, src_device_obj: Any) -> None:
    for t in chain(module.parameters(), module.buffers()):
        if t.device != src_device_obj:
            raise RuntimeError("module must have its parameters and buffers on device "
                               f"{src_device_obj} (device_ids[0]) but found one of them on device: "
                               f"{t.device}")


class DataParallel(Module, Generic[T]):
    r"""Implements data parallelism at the module level.

    The input is split along ``dim`` (the batch dimension by default) into one chunk per device
    of ``device_ids`` (other objects are copied by reference to every device); in each forward
    the module is replicated on each device and each replica handles its chunk; the outputs are
    gathered on ``output_device``.  In backward, the gradients of the replicas are summed into
    the original module, so they equal the gradients on the whole batch.  The batch should be
    larger than the number of devices.

    Tuples, lists and dicts in the inputs are shallow-copied per device; tensors are scattered.
    The module's parameters and buffers must be on ``device_ids[0]`` before the forward.
    Replicas are rebuilt in every forward, so attribute updates made in ``forward`` are lost,
    except in-place updates of parameters and buffers on ``device_ids[0]`` (replica 0 shares
    their memory: BatchNorm's running statistics come from the first chunk).  Hooks of the
    module run once per device.  A module returning a scalar gives a vector, one value per
    device.

    Without a CUDA device (PyTorch's behaviour) ``DataParallel`` is a transparent wrapper:
    ``forward`` returns ``self.module(*inputs, **kwargs)``.  To run the scatter/replicate/gather
    mechanism on the CPU, use ``edunn.nn.parallel.data_parallel(module, x, ["cpu", "cpu"])``.

    Args:
        module (Module): module to be parallelized
        device_ids (list of int, str or edunn.device): CUDA devices (default: all devices)
        output_device (int or edunn.device): device location of output (default: device_ids[0])
        dim (int): the dimension along which inputs are split (default 0)

    Attributes:
        module (Module): the module to be parallelized

    Example::

        >>> net = edunn.nn.DataParallel(model, device_ids=[0, 1, 2])
        >>> output = net(input_var)  # input_var can be on any device, including CPU

    Lesson 18 builds it from its four pieces.
    """

    def __init__(self, module: T, device_ids: Sequence[Any] | None = None,
                 output_device: Any = None, dim: int = 0) -> None:
        super().__init__()
        if not isinstance(module, Module):
            raise TypeError(f"DataParallel expects an nn.Module to parallelize, got {type(module).__name__}")
        device_type = _get_available_device_type()
        if device_type is None:
            self.module = module
            self.device_ids = []
            return

        if device_ids is None:
            device_ids = _get_all_device_indices()
        if device_ids is None or len(device_ids) == 0:
            raise RuntimeError("no available devices were found")
        if output_device is None:
            output_device = device_ids[0]

        self.dim = dim
        self.module = module
        self.device_ids = [_get_device_index(x, True) for x in device_ids]
        self.output_device = _get_device_index(output_device, True)
        self.src_device_obj = _get_device(self.device_ids[0], allow_cpu=False)
        for index in self.device_ids:  # each must exist: a clear error now, not in forward
            _get_device(index, allow_cpu=False)

        if device_type == "cuda":
            _check_balance(self.device_ids)

        if len(self.device_ids) == 1:
            self.module.to(self.src_device_obj)

    def forward(self, *inputs: Any, **kwargs: Any) -> Any:
        if not self.device_ids:
            return self.module(*inputs, **kwargs)

        _check_module_device(self.module, self.src_device_obj)

        inputs, module_kwargs = self.scatter(inputs, kwargs, self.device_ids)
        # a forward without any inputs still runs, on the first device
        if not inputs and not module_kwargs:
            inputs = ((),)
            module_kwargs = ({},)

        if len(self.device_ids) == 1:
            return self.module(*inputs[0], **module_kwargs[0])
        replicas = self.replicate(self.module, self.device_ids[:len(inputs)])
        outputs = self.parallel_apply(replicas, inputs, module_kwargs)
        return self.gather(outputs, self.output_device)

    def replicate(self, module: T, device_ids: Sequence[Any]) -> list:
        return replicate(module, device_ids, not grad_mode.is_grad_enabled())

    def scatter(self, inputs: tuple, kwargs: dict | None, device_ids: Sequence[Any]) -> Any:
        return scatter_kwargs(inputs, kwargs, device_ids, dim=self.dim)

    def parallel_apply(self, replicas: Sequence[T], inputs: Sequence[Any], kwargs: Any) -> list:
        return parallel_apply(replicas, inputs, kwargs, self.device_ids[:len(replicas)])

    def gather(self, outputs: Any, output_device: Any) -> Any:
        return gather(outputs, output_device, dim=self.dim)


def data_parallel(module: Module, inputs: Any, device_ids: Sequence[Any] | None = None,
                  output_device: Any = None, dim: int = 0, module_kwargs: Any = None) -> Any:
    r"""Evaluate ``module(input)`` in parallel across the devices given in ``device_ids``: the
    functional version of :class:`DataParallel`.

    Args:
        module (Module): the module to evaluate in parallel
        inputs (Tensor): inputs to the module (a tuple is the positional arguments)
        device_ids (list of int, str or edunn.device): devices on which to replicate module
            (default: every CUDA device); edunn also accepts ``"cpu"``, repeated:
            ``["cpu", "cpu"]``
        output_device (int, str or edunn.device): location of the output; ``-1`` or ``"cpu"``
            is the CPU (default: ``device_ids[0]``)
        dim (int): the dimension along which inputs are split
        module_kwargs (dict): keyword arguments, scattered like the inputs

    Returns:
        the gathered output of ``module``, on ``output_device``.
    """
    if not isinstance(inputs, tuple):
        inputs = (inputs,) if inputs is not None else ()

    if device_ids is None:
        if _get_available_device_type() is None:
            raise RuntimeError("device type could not be determined: no CUDA device is available "
                               "(edunn runs data_parallel on the CPU with device_ids=['cpu', 'cpu'])")
        device_ids = _get_all_device_indices()
    if device_ids is None or len(device_ids) == 0:
        raise RuntimeError("no available devices were found")
    if output_device is None:
        output_device = device_ids[0]

    devices = [_get_device(x, optional=True) for x in device_ids]
    output_device = _get_device(output_device, optional=True)
    src_device_obj = devices[0]
    _check_module_device(module, src_device_obj)

    inputs, module_kwargs = scatter_kwargs(inputs, module_kwargs, devices, dim)
    # a module without any inputs still runs, on the first device
    if not inputs and not module_kwargs:
        inputs = ((),)
        module_kwargs = ({},)
    if module_kwargs is None:
        raise AssertionError("module_kwargs should not be None after scatter_kwargs")

    if len(devices) == 1:
        return module(*inputs[0], **module_kwargs[0])
    used_devices = devices[:len(inputs)]
    replicas = replicate(module, used_devices)
    outputs = parallel_apply(replicas, inputs, module_kwargs, used_devices)
    return gather(outputs, output_device, dim)
