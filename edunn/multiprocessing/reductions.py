"""How tensors and storages cross a process boundary (``torch.multiprocessing.reductions``).

``multiprocessing`` pickles what goes through a ``Queue`` or ``Pipe``, and a ``spawn`` child's
arguments, with ``ForkingPickler``; registering a reducer there changes only that pickling.
A CPU tensor whose memory is a shared block (see ``edunn/storage.py``) is sent as the block's
name plus the tensor's byte offset, dtype, shape and strides: the receiver maps the same block,
so writes on either side are seen by the other.  Any other tensor goes by value.
"""
from __future__ import annotations

from multiprocessing.reduction import ForkingPickler
from typing import Any

from .. import backend


def _rebuild_shared_tensor(kind: str, name: str, block_nbytes: int, offset: int, dtype: str, shape: tuple,
                           strides: tuple, requires_grad: bool) -> Any:
    from ..storage import _attach_shared
    from ..tensor import Tensor
    raw = _attach_shared(kind, name, block_nbytes)
    d = backend.as_dtype(dtype)
    n = 0 if 0 in shape else 1 + sum((s - 1) * st for s, st in zip(shape, strides)) // d.itemsize
    elements = raw[offset:offset + n * d.itemsize].view(d.np)
    data = backend.xp_for(backend.as_device("cpu")).lib.stride_tricks.as_strided(elements, shape, strides)
    t = Tensor._make(data)
    t.requires_grad = requires_grad
    return t


def reduce_tensor(tensor: Any) -> tuple:
    """Share a CPU tensor that lives in shared memory; pickle any other by value."""
    from ..storage import _address, _shared_block_of
    if tensor.requires_grad and tensor.grad_fn is not None:
        raise RuntimeError(
            "Cowardly refusing to serialize non-leaf tensor which requires_grad, since autograd does not "
            "support crossing process boundaries.  If you just want to transfer the data, call detach() on "
            "the tensor before serializing (e.g., putting it on the queue).")
    block = _shared_block_of(tensor._data)
    if block is None or block[2] == "private":  # a copy-on-write file mapping is this process's own
        return tensor.__reduce_ex__(4)
    start, end, kind, name = block
    a = tensor._data
    return (_rebuild_shared_tensor, (kind, name, end - start, _address(a) - start, tensor.dtype.name,
                                     tuple(a.shape), tuple(a.strides), tensor.requires_grad))


def reduce_storage(storage: Any) -> tuple:
    """An untyped storage in shared memory is sent by name; any other by value."""
    from ..storage import UntypedStorage, _address, _shared_block_of
    block = _shared_block_of(storage._bytes)
    if block is None or block[2] == "private":
        return storage.__reduce__()
    start, end, kind, name = block
    return (_rebuild_shared_storage, (kind, name, end - start, _address(storage._bytes) - start, storage.nbytes(),
                                      UntypedStorage))


def _rebuild_shared_storage(kind: str, name: str, block_nbytes: int, offset: int, nbytes: int, cls: type) -> Any:
    from ..storage import _attach_shared
    raw = _attach_shared(kind, name, block_nbytes)
    return cls._wrap(raw[offset:offset + nbytes])


def init_reductions() -> None:
    """Register the reducers with ``ForkingPickler`` (done on import of edunn.multiprocessing)."""
    from ..nn.parameter import Parameter
    from ..storage import UntypedStorage
    from ..tensor import Tensor
    ForkingPickler.register(Tensor, reduce_tensor)
    ForkingPickler.register(Parameter, _reduce_parameter)
    ForkingPickler.register(UntypedStorage, reduce_storage)


def _reduce_parameter(param: Any) -> tuple:
    from ..storage import _shared_block_of
    block = _shared_block_of(param._data)
    if block is None or block[2] == "private":
        return param.__reduce_ex__(4)
    fn, args = reduce_tensor(param)
    return (_rebuild_parameter, (fn, args, param.requires_grad))


def _rebuild_parameter(fn: Any, args: tuple, requires_grad: bool) -> Any:
    from ..nn.parameter import Parameter
    t = fn(*args)
    return Parameter(t.detach() if t.requires_grad else t, requires_grad)
