"""``edunn.nn.parallel.comm``: moving tensors between devices for ``DataParallel`` (lesson 18).

PyTorch keeps these in ``torch.cuda.comm`` (``torch.nn.parallel.comm`` re-exports them):

* :func:`broadcast` / :func:`broadcast_coalesced` -- one tensor (or many) copied to every device;
* :func:`reduce_add` / :func:`reduce_add_coalesced` -- tensors from every device summed on one;
* :func:`scatter` -- a tensor cut into chunks along ``dim``, chunk ``i`` on device ``i``;
* :func:`gather` -- chunks from every device concatenated along ``dim`` on one device.

They move data; they are not recorded by autograd (PyTorch calls them inside the autograd
Functions of ``_functions.py``, ``Broadcast``, ``ReduceAddCoalesced``, ``Scatter`` and ``Gather``,
which are).  The "coalesced" forms first pack many small tensors of one dtype into one flat
buffer (at most ``buffer_size`` bytes) so that each device receives one copy instead of one per
tensor -- on a GPU each copy has a fixed launch cost, which is why PyTorch does it.

Differences from PyTorch (an edunn extension, so the mechanism can be run and taught without a
GPU): every function here also accepts the CPU as a device (``"cpu"``, ``edunn.device("cpu")``,
or ``-1``), and a device may appear more than once (``["cpu", "cpu"]``).  The tensor itself is
used for the first device equal to its own and a copy for every other one, so on
``["cpu", "cpu"]`` the second "device" gets its own copy exactly as a second GPU would.  Where
PyTorch's default ``destination`` is the current CUDA device, edunn's is the CPU when no CUDA
device exists.  ``streams`` is accepted and ignored (copies run on each device's current CuPy
stream).  No data goes through the host between two GPUs: arrays move with
``edunn.backend.to_device``.
"""
from __future__ import annotations

import warnings
from typing import Any, Iterable, Sequence

from ... import backend
from ...autograd.grad_mode import no_grad
from ...tensor import Tensor

__all__ = ["broadcast", "broadcast_coalesced", "reduce_add", "reduce_add_coalesced", "scatter",
           "gather"]

_DEFAULT_BUFFER = 10485760  # 10 MiB, PyTorch's default for the coalesced forms


# ----------------------------------------------------------------------------------------------
# Devices as PyTorch's torch._utils._get_device_index reads them
# ----------------------------------------------------------------------------------------------
def _get_device_index(device: Any, optional: bool = False, allow_cpu: bool = False) -> int:
    """PyTorch's ``_get_device_index``: an int index (``-1`` for the CPU) from an int, a string
    such as ``"cuda:1"`` or ``"cpu"``, an ``edunn.device`` or ``None``.  A device without an index
    (``"cuda"``, ``None``) means the current CUDA device when ``optional``."""
    if isinstance(device, bool):
        raise TypeError(f"Expected a device (an int, a string or an edunn.device), got {device!r}")
    if isinstance(device, str):
        device = backend.device(device)
    idx = None
    if isinstance(device, backend.device):
        if not allow_cpu and device.type == "cpu":
            raise ValueError(f"Expected a non cpu device, but got: {device}")
        idx = -1 if device.type == "cpu" else device.index
    elif isinstance(device, int):
        idx = device
    elif device is not None:
        raise TypeError(f"Expected a device (an int, a string such as 'cuda:0' or 'cpu', or an "
                        f"edunn.device), got {type(device).__name__}")
    if idx is None:
        if not optional:
            raise ValueError("Expected a torch.device with a specified index or an integer, but "
                             f"got:{device}")
        idx = backend.as_device("cuda").index  # raises "CUDA is not available" without a GPU
    return idx


def _get_device(device: Any, optional: bool = False, allow_cpu: bool = True) -> backend.device:
    """The ``edunn.device`` that :func:`_get_device_index` names (``-1`` is the CPU), checked to
    exist: a CUDA device without CUDA raises a clear ``RuntimeError``."""
    if isinstance(device, backend.device) and device.type == "cuda" and device.index is not None:
        return backend.as_device(device)
    idx = _get_device_index(device, optional=optional, allow_cpu=allow_cpu)
    if idx == -1 and allow_cpu:
        return backend.CPU
    return backend.as_device(backend.device("cuda", idx) if idx >= 0 else idx)


def _default_destination(destination: Any) -> backend.device:
    """``None`` -> the current CUDA device (PyTorch), or the CPU where there is no CUDA device."""
    if destination is None and not backend.cuda_available():
        return backend.CPU
    return _get_device(destination, optional=True, allow_cpu=True)


# ----------------------------------------------------------------------------------------------
# Arrays between devices
# ----------------------------------------------------------------------------------------------
def _move(array: Any, dev: backend.device, copy: bool) -> Any:
    """``array`` on ``dev``: itself when it already lives there (unless ``copy``), else a copy
    made on ``dev`` (GPU to GPU directly, never through the host)."""
    if backend.device_of(array) == dev:
        if not copy:
            return array
        with backend.device_context(dev):
            return array.copy()
    with backend.device_context(dev):
        return backend.to_device(array, dev)


def _buckets(tensors: Sequence[Tensor], buffer_size: int) -> list:
    """Indices of ``tensors`` grouped for coalescing (PyTorch's ``_take_tensors``): one running
    group per dtype, closed once it holds ``buffer_size`` bytes; groups in order of closing."""
    groups: list = []
    open_: dict = {}
    for i, t in enumerate(tensors):
        key = t._data.dtype
        idx, size = open_.get(key, ([], 0))
        idx.append(i)
        size += t._data.nbytes
        if size >= buffer_size:
            groups.append(idx)
            open_.pop(key, None)
        else:
            open_[key] = (idx, size)
    groups.extend(idx for idx, _ in open_.values())
    return groups


def _flatten(arrays: Sequence[Any]) -> Any:
    """One flat array holding ``arrays`` one after the other (PyTorch's _flatten_dense_tensors)."""
    xp = backend.array_module(arrays[0])
    with backend.device_context(backend.device_of(arrays[0])):
        return xp.concatenate([a.reshape(-1) for a in arrays])


def _unflatten(flat: Any, shapes: Sequence[tuple]) -> list:
    """Views of ``flat`` with the given shapes, in order."""
    out, offset = [], 0
    for shape in shapes:
        n = 1
        for s in shape:
            n *= s
        out.append(flat[offset:offset + n].reshape(shape))
        offset += n
    return out


def _shape_str(shape: tuple) -> str:
    return "x".join(str(s) for s in shape)


def _check_out(out: Any, what: str) -> list:
    if not isinstance(out, (list, tuple)) or not all(isinstance(o, Tensor) for o in out):
        raise TypeError(f"{what}: 'out' must be a sequence of tensors, got {type(out).__name__}")
    return list(out)


# ----------------------------------------------------------------------------------------------
# broadcast
# ----------------------------------------------------------------------------------------------
def broadcast(tensor: Tensor, devices: Iterable[Any] | None = None, *,
              out: Sequence[Tensor] | None = None) -> tuple:
    r"""Copies of ``tensor`` on each of ``devices`` (``tensor`` itself where it already lives),
    or, with ``out``, ``tensor`` copied into each tensor of ``out``.

    Exactly one of ``devices`` and ``out`` must be given.  Returns a tuple, one tensor per device.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"broadcast(): expected a Tensor, got {type(tensor).__name__}")
    if not ((devices is None) ^ (out is None)):
        raise RuntimeError("Exactly one of 'devices' and 'out' must be specified, but got "
                           f"devices={devices} and out={out}")
    if devices is not None:
        devs = [_get_device(d, optional=True) for d in devices]
        src, own_used, result = tensor.device, False, []
        for dev in devs:
            if dev == src and not own_used:
                own_used = True
                result.append(tensor)
            else:
                result.append(Tensor._make(_move(tensor._data, dev, copy=True)))
        return tuple(result)
    outs = _check_out(out, "broadcast")
    for i, o in enumerate(outs):
        if o.shape != tensor.shape:
            raise RuntimeError("Expected all output tensors to have same shape as the source tensor "
                               f"{list(tensor.shape)}, but output tensor at index {i} has shape "
                               f"{list(o.shape)}")
    with no_grad():
        for o in outs:
            o.copy_(tensor)
    return tuple(outs)


def broadcast_coalesced(tensors: Sequence[Tensor], devices: Iterable[Any],
                        buffer_size: int = _DEFAULT_BUFFER) -> list:
    """Copies of every tensor of ``tensors`` on each of ``devices``; small tensors travel packed
    in one buffer of at most ``buffer_size`` bytes.

    ``tensors`` must all live on ``devices[0]``; the result's first row is ``tensors``
    themselves (no copy), each further row holds the copies on that device:
    ``result[j][i]`` is tensor ``i`` on device ``j``.
    """
    devs = [_get_device(d, optional=True) for d in devices]
    tensors = list(tensors)
    if not devs:
        raise RuntimeError("broadcast_coalesced(): expected at least one device")
    for t in tensors:
        if not isinstance(t, Tensor):
            raise TypeError(f"broadcast_coalesced(): expected tensors, got {type(t).__name__}")
        if t.device != devs[0]:
            raise RuntimeError(f"All tensors must be on devices[0]: {devs[0]}")
    outputs: list = [tensors] + [[None] * len(tensors) for _ in devs[1:]]
    for group in _buckets(tensors, buffer_size):
        arrays = [tensors[i]._data for i in group]
        if len(group) == 1:
            for j, dev in enumerate(devs[1:], 1):
                outputs[j][group[0]] = Tensor._make(_move(arrays[0], dev, copy=True))
            continue
        flat = _flatten(arrays)  # a fresh array: the first extra row on devices[0] may keep it
        flat_used = False
        for j, dev in enumerate(devs[1:], 1):
            reuse = dev == devs[0] and not flat_used
            on_dev = _move(flat, dev, copy=not reuse)
            flat_used = flat_used or reuse
            for i, piece in zip(group, _unflatten(on_dev, [a.shape for a in arrays])):
                outputs[j][i] = Tensor._make(piece)
    return outputs


# ----------------------------------------------------------------------------------------------
# reduce_add
# ----------------------------------------------------------------------------------------------
def reduce_add(inputs: Sequence[Tensor], destination: Any = None) -> Tensor:
    """The elementwise sum of ``inputs`` (one per device, same shape), on ``destination``, which
    must be the device of one of them (default: the current CUDA device; edunn: the CPU when
    there is no CUDA device)."""
    inputs = list(inputs)
    if not inputs:
        raise RuntimeError("reduce_add(): expected at least one input tensor")
    dest = _default_destination(destination)
    input_size = inputs[0].shape
    root_index = None
    for i, inp in enumerate(inputs):
        if not isinstance(inp, Tensor):
            raise TypeError(f"reduce_add(): expected tensors, got {type(inp).__name__} at index {i}")
        if inp.device == dest:
            root_index = i
        if inp.shape != input_size:
            raise ValueError(f"input {i} has invalid size: got {_shape_str(inp.shape)}, but "
                             f"expected {_shape_str(input_size)}")
    if root_index is None:
        raise RuntimeError("reduce_add expects destination to be on the same GPU with one of the tensors")
    if len(inputs) == 1:
        return inputs[0]
    with backend.device_context(dest):
        nonroot = [t for i, t in enumerate(inputs) if i != root_index]
        result = inputs[root_index]._data + _move(nonroot[0]._data, dest, copy=False)
        for other in nonroot[1:]:
            result += _move(other._data, dest, copy=False)
    return Tensor._make(result)


def reduce_add_coalesced(inputs: Sequence[Sequence[Tensor]], destination: Any = None,
                         buffer_size: int = _DEFAULT_BUFFER) -> tuple:
    """``reduce_add`` of each tensor position over devices: ``inputs[j][i]`` is tensor ``i`` on
    device ``j``; result ``i`` is their sum on ``destination``.  Small tensors are summed packed
    in buffers of at most ``buffer_size`` bytes."""
    per_device = [[t.to_dense() if getattr(t, "is_sparse", False) else t for t in row] for row in inputs]
    if not per_device:
        raise RuntimeError("reduce_add_coalesced(): expected tensors from at least one device")
    n = len(per_device[0])
    for j, row in enumerate(per_device):
        if len(row) != n:
            raise ValueError(f"reduce_add_coalesced(): device {j} gives {len(row)} tensors, device 0 "
                             f"gives {n}")
    output: list = [None] * n
    for group in _buckets(per_device[0], buffer_size):
        if len(group) == 1:
            output[group[0]] = reduce_add([row[group[0]] for row in per_device], destination)
            continue
        flats = [Tensor._make(_flatten([row[i]._data for i in group])) for row in per_device]
        result = reduce_add(flats, destination)
        shapes = [per_device[0][i]._data.shape for i in group]
        for i, piece in zip(group, _unflatten(result._data, shapes)):
            output[i] = Tensor._make(piece)
    return tuple(output)


# ----------------------------------------------------------------------------------------------
# scatter and gather
# ----------------------------------------------------------------------------------------------
def _wrap(dim: int, ndim: int) -> int:
    if not -max(ndim, 1) <= dim < max(ndim, 1):
        raise IndexError(f"Dimension out of range (expected to be in range of [{-max(ndim, 1)}, "
                         f"{max(ndim, 1) - 1}], but got {dim})")
    return dim % max(ndim, 1)


def _chunk_bounds(n: int, chunks: int) -> list:
    """Where ``tensor.chunk(chunks)`` cuts a dimension of size ``n``: pieces of ``ceil(n /
    chunks)``, so there may be fewer than ``chunks`` of them (5 over 4 gives 2, 2, 1)."""
    if n == 0:  # PyTorch then gives ``chunks`` empty pieces, not one
        return [0] * (chunks + 1)
    size = -(-n // chunks)
    return list(range(0, n, size)) + [n]


def scatter(tensor: Tensor, devices: Iterable[Any] | None = None, chunk_sizes: Sequence[int] | None = None,
            dim: int = 0, streams: Any = None, *, out: Sequence[Tensor] | None = None) -> tuple:
    """``tensor`` cut along ``dim`` and chunk ``i`` placed on ``devices[i]``.

    Without ``chunk_sizes`` the cuts are ``tensor.chunk(len(devices), dim)``'s (so a short
    dimension gives fewer chunks than devices); with them, pieces of exactly those sizes.  A chunk
    that already lives on its device is a view of ``tensor``.  With ``out`` the chunks are copied
    into the tensors of ``out`` (their sizes along ``dim`` give the cuts).  ``streams`` is
    accepted for PyTorch's signature and ignored.
    """
    if not isinstance(tensor, Tensor):
        raise TypeError(f"scatter(): expected a Tensor, got {type(tensor).__name__}")
    data = tensor._data
    if out is None:
        if devices is None:
            raise RuntimeError("Exactly one of 'devices' and 'out' must be specified, but got "
                               "devices=None and out=None")
        devs = [_get_device(d, optional=True) for d in devices]
        if not devs:
            raise RuntimeError("Expected at least one device to scatter to")
        if data.ndim == 0:
            raise RuntimeError("chunk expects at least a 1-dimensional tensor")
        d = _wrap(dim, data.ndim)
        n = data.shape[d]
        if chunk_sizes is not None:
            chunk_sizes = [int(c) for c in chunk_sizes]
            if len(chunk_sizes) != len(devs):
                raise RuntimeError("Expected devices and chunk_sizes to be of same length, but got "
                                   f"len(chunk_sizes) == {len(chunk_sizes)} and len(devices) == {len(devs)}")
            if sum(chunk_sizes) != n or any(c < 0 for c in chunk_sizes):
                raise RuntimeError(f"split_with_sizes expects split_sizes to sum exactly to {n} (input "
                                   f"tensor's size at dimension {d}), but got split_sizes={chunk_sizes}")
            bounds = [0]
            for c in chunk_sizes:
                bounds.append(bounds[-1] + c)
        else:
            bounds = _chunk_bounds(n, len(devs))
        index = [slice(None)] * data.ndim
        result = []
        for i, (a, b) in enumerate(zip(bounds[:-1], bounds[1:])):
            index[d] = slice(a, b)
            result.append(Tensor._make(_move(data[tuple(index)], devs[i], copy=False)))
        return tuple(result)
    if devices is not None:
        raise RuntimeError(f"'devices' must not be specified when 'out' is specified, but got devices={devices}")
    if chunk_sizes is not None:
        raise RuntimeError("'chunk_sizes' must not be specified when 'out' is specified, but got "
                           f"chunk_sizes={chunk_sizes}")
    outs = _check_out(out, "scatter")
    d = _wrap(dim, data.ndim)
    sizes = []
    for i, o in enumerate(outs):
        expected = list(data.shape)
        expected[d] = o.shape[d] if o.dim() == data.ndim else -1
        if o.dim() != data.ndim or list(o.shape) != expected:
            raise RuntimeError(f"Output tensor at index {i} has incorrect shape: {list(o.shape)}. "
                               f"Expected same shape except for scatter dim {d} as the source tensor: "
                               f"{list(data.shape)}.")
        sizes.append(o.shape[d])
    if sum(sizes) != data.shape[d]:
        raise RuntimeError(f"Total size for output tensors along scatter dim {d} does not match the "
                           f"source tensor size at dim {d}. Expected {data.shape[d]}, but got total size "
                           f"{sum(sizes)}.")
    pieces = scatter(tensor, [o.device for o in outs], sizes, d)
    with no_grad():
        for o, p in zip(outs, pieces):
            o.copy_(p)
    return tuple(outs)


def _gather_shape(tensors: Sequence[Tensor], dim: int) -> tuple:
    """The concatenated shape, after PyTorch's checks on the pieces."""
    if not tensors:
        raise RuntimeError("Expected at least one tensor to gather from")
    first = tensors[0]
    expected = list(first.shape)
    d = _wrap(dim, len(expected))
    total = 0
    for i, t in enumerate(tensors):
        if not isinstance(t, Tensor):
            raise TypeError(f"gather(): expected tensors, got {type(t).__name__} at index {i}")
        if t.dim() != len(expected):
            raise RuntimeError("Expected all input tensors to have the same number of dimensions, but "
                               f"tensor at index {i} has {t.dim()} dimensions, (expected {len(expected)})")
        expected[d] = t.shape[d]
        if list(t.shape) != expected:
            raise RuntimeError(f"Input tensor at index {i} has invalid shape {list(t.shape)}, but "
                               f"expected {expected}")
        total += t.shape[d]
    expected[d] = total
    return d, tuple(expected)


def gather(tensors: Sequence[Tensor], dim: int = 0, destination: Any = None, *,
           out: Tensor | None = None) -> Tensor:
    """``tensors`` (from several devices; equal sizes except along ``dim``) concatenated along
    ``dim`` on ``destination`` (a device; ``-1`` is the CPU, deprecated as in PyTorch; default the
    current CUDA device -- edunn: the CPU when there is none), or into ``out``."""
    tensors = list(tensors)
    d, shape = _gather_shape(tensors, dim)
    if out is None:
        if isinstance(destination, int) and not isinstance(destination, bool) and destination == -1:
            warnings.warn('Using -1 to represent CPU tensor is deprecated. Please use a device object '
                          'or string instead, e.g., "cpu".', FutureWarning, stacklevel=2)
        dest = _default_destination(destination)
        xp = backend.xp_for(dest)
        with backend.device_context(dest):
            return Tensor._make(xp.concatenate([_move(t._data, dest, copy=False) for t in tensors], axis=d))
    if destination is not None:
        raise RuntimeError("'destination' must not be specified when 'out' is specified, but got "
                           f"destination={destination}")
    if not isinstance(out, Tensor):
        raise TypeError(f"gather(): 'out' must be a Tensor, got {type(out).__name__}")
    if tuple(out.shape) != shape:
        raise RuntimeError(f"Expected out tensor to have shape {list(shape)}, but got {list(out.shape)}")
    result = gather(tensors, d, out.device)
    with no_grad():
        out.copy_(result)
    return out
