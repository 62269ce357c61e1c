"""Variable-length sequences for the recurrent layers: ``PackedSequence`` and the functions that
pack and pad (``torch.nn.utils.rnn``, lesson 12).

Packing stores a batch of sequences time step by time step, dropping the padding: sorted by
decreasing length, step ``t`` holds the ``batch_sizes[t]`` sequences that are still running, so
a recurrent layer advances only those rows.  For lengths ``[3, 2, 1]``::

    padded (T x B)      packed data              batch_sizes
    a1 b1 c1            a1 b1 c1 a2 b2 a3         [3, 2, 1]
    a2 b2 .
    a3 .  .

Every function here is differentiable: packing is one gather of the padded tensor's rows, and
padding one gather of the packed rows (plus a row of ``padding_value``), so gradients flow both ways.
"""
from __future__ import annotations

from typing import Any, NamedTuple, Optional, Sequence, Union

import edunn
from ... import backend
from ...tensor import Tensor

__all__ = ["PackedSequence", "invert_permutation", "pack_padded_sequence", "pad_packed_sequence",
           "pad_sequence", "unpad_sequence", "pack_sequence", "unpack_sequence"]


class PackedSequence_(NamedTuple):
    data: Tensor
    batch_sizes: Tensor
    sorted_indices: Optional[Tensor]
    unsorted_indices: Optional[Tensor]


def bind(optional: Any, fn: Any) -> Any:
    return None if optional is None else fn(optional)


class PackedSequence(PackedSequence_):
    """The packed form of a batch of variable-length sequences (a named tuple, as PyTorch's).

    ``data`` (sum of lengths, *): the steps, time-major; ``batch_sizes`` (max length,) int64 on the
    CPU: how many sequences run at each step; ``sorted_indices``: the order (by decreasing length)
    in which the original batch was packed, or None if it was already sorted;
    ``unsorted_indices``: its inverse.  Build it with ``pack_padded_sequence`` or
    ``pack_sequence``, not by hand."""

    def __new__(cls, data: Tensor, batch_sizes: Optional[Tensor] = None,
                sorted_indices: Optional[Tensor] = None,
                unsorted_indices: Optional[Tensor] = None) -> "PackedSequence":
        if unsorted_indices is None:
            unsorted_indices = invert_permutation(sorted_indices)
        if batch_sizes is not None:
            if batch_sizes.device.type != "cpu":
                raise ValueError(
                    "batch_sizes should always be on CPU. Instances of PackedSequence should never "
                    "be created manually. They should be instantiated by functions like "
                    "pack_sequence and pack_padded_sequences in nn.utils.rnn. "
                    "https://pytorch.org/docs/stable/nn.html#torch.nn.utils.rnn.pack_sequence")
            return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)
        data, batch_sizes = data
        return super().__new__(cls, data, batch_sizes, sorted_indices, unsorted_indices)

    def pin_memory(self) -> "PackedSequence":
        return self

    def to(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        """``data.to(...)``; the index tensors follow ``data`` to its device (never its dtype),
        ``batch_sizes`` stays on the CPU."""
        data = self.data.to(*args, **kwargs)
        if data is self.data:
            return self
        kw = {k: v for k, v in kwargs.items() if k not in ("device", "dtype")}
        sorted_indices = bind(self.sorted_indices, lambda t: t.to(data.device, **kw))
        unsorted_indices = bind(self.unsorted_indices, lambda t: t.to(data.device, **kw))
        return type(self)(data, self.batch_sizes, sorted_indices, unsorted_indices)

    def cuda(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        ex = edunn.tensor([], dtype=self.data.dtype).cuda(*args, **kwargs)
        return self.to(device=ex.device, **kwargs) if ex.is_cuda else self.to(*args, **kwargs)

    def cpu(self, *args: Any, **kwargs: Any) -> "PackedSequence":
        return self.to(device="cpu", **kwargs)

    def double(self) -> "PackedSequence":
        return self.to(dtype=edunn.double)

    def float(self) -> "PackedSequence":
        return self.to(dtype=edunn.float)

    def half(self) -> "PackedSequence":
        return self.to(dtype=edunn.half)

    def long(self) -> "PackedSequence":
        return self.to(dtype=edunn.long)

    def int(self) -> "PackedSequence":
        return self.to(dtype=edunn.int)

    def short(self) -> "PackedSequence":
        return self.to(dtype=edunn.short)

    def char(self) -> "PackedSequence":
        return self.to(dtype=edunn.int8)

    def byte(self) -> "PackedSequence":
        return self.to(dtype=edunn.uint8)

    @property
    def is_cuda(self) -> bool:
        return self.data.is_cuda

    def is_pinned(self) -> bool:
        return False


def invert_permutation(permutation: Optional[Tensor]) -> Optional[Tensor]:
    """The permutation ``q`` with ``q[p[i]] = i`` (None stays None)."""
    if permutation is None:
        return None
    out = edunn.empty_like(permutation)
    out[permutation] = edunn.arange(permutation.numel(), device=permutation.device,
                                    dtype=permutation.dtype)
    return out


def _running(batch_sizes: Sequence[int], B: int, total: int, device: Any) -> Tensor:
    """(total, B) boolean mask: is sequence ``b`` (sorted order) still running at step ``t``?"""
    bs = edunn.tensor(list(batch_sizes) + [0] * (total - len(batch_sizes)), dtype=edunn.int64,
                      device=device)
    return edunn.arange(B, device=device).unsqueeze(0) < bs.unsqueeze(1)


@backend.on_input_device
def pack_padded_sequence(input: Tensor, lengths: Union[Tensor, Sequence[int]],
                         batch_first: bool = False, enforce_sorted: bool = True) -> PackedSequence:
    """Pack a padded batch ``input`` (T, B, *) (or (B, T, *) with ``batch_first``) of sequences
    of the given ``lengths`` (a list or a CPU int64 tensor).  With ``enforce_sorted`` the lengths
    must be decreasing; otherwise they are sorted here and the order is kept in
    ``sorted_indices``.  Lengths must lie in [1, T] (PyTorch does not check the upper bound and
    reads past the end; edunn refuses)."""
    if not isinstance(lengths, Tensor):
        lengths = edunn.tensor([int(v) for v in lengths], dtype=edunn.int64)
    else:
        lengths = lengths.to(dtype=edunn.int64, device="cpu")
    if lengths.dim() != 1:
        raise RuntimeError(f"Expected `lengths` to be a 1D tensor, but got a {lengths.dim()}D one")
    if enforce_sorted:
        sorted_indices = None
    else:
        lengths, sorted_indices = edunn.sort(lengths, descending=True, stable=True)
        sorted_indices = sorted_indices.to(input.device)
        input = input.index_select(0 if batch_first else 1, sorted_indices)
    if input.dim() < 2:
        raise RuntimeError(f"pack_padded_sequence: expected input of at least 2 dimensions "
                           f"(T, B, *), but got {input.dim()}")
    if batch_first:
        input = input.transpose(0, 1)
    T, B = input.shape[0], input.shape[1]
    lens = lengths.tolist()
    if len(lens) != B:
        raise RuntimeError(f"Expected `len(lengths)` to be equal to batch_size, but got {len(lens)} "
                           f"(batch_size={B})")
    if any(a < b for a, b in zip(lens, lens[1:])):
        raise RuntimeError(
            "`lengths` array must be sorted in decreasing order when `enforce_sorted` is True. "
            "You can pass `enforce_sorted=False` to pack_padded_sequence and/or pack_sequence to "
            "sidestep this requirement if you do not need ONNX exportability.")
    if lens and lens[-1] <= 0:
        raise RuntimeError("Length of all samples has to be greater than 0, but found an element "
                           "in 'lengths' that is <= 0")
    if lens and lens[0] > T:
        raise RuntimeError(f"Expected every length to be at most the sequence length {T} of the "
                           f"padded input, but got a length of {lens[0]}")
    steps = edunn.arange(lens[0] if lens else 0, dtype=edunn.int64).unsqueeze(1)
    batch_sizes = (lengths.unsqueeze(0) > steps).sum(1).tolist()  # sequences running at each step
    # the (time, batch) position of every packed row, time-major: one gather of the padded input
    t_idx, b_idx = _running(batch_sizes, B, len(batch_sizes), input.device).nonzero().unbind(1)
    data = input[t_idx, b_idx]
    return PackedSequence(data, edunn.tensor(batch_sizes, dtype=edunn.int64), sorted_indices, None)


@backend.on_input_device
def pad_packed_sequence(sequence: PackedSequence, batch_first: bool = False,
                        padding_value: float = 0.0, total_length: Optional[int] = None) -> tuple:
    """The inverse of ``pack_padded_sequence``: ``(padded, lengths)`` with ``padded`` (T, B, *)
    (or (B, T, *)) filled with ``padding_value`` past each length, ``T = total_length`` if given,
    in the original batch order; ``lengths`` is a CPU int64 tensor."""
    data, batch_sizes = sequence.data, sequence.batch_sizes.tolist()
    max_seq_length = len(batch_sizes)
    if total_length is not None:
        if total_length < max_seq_length:
            raise ValueError("Expected total_length to be at least the length of the longest "
                             f"sequence in input, but got total_length={total_length} and max "
                             f"sequence length being {max_seq_length}")
        max_seq_length = total_length
    B = batch_sizes[0] if batch_sizes else 0
    N = data.shape[0]
    # index of each (t, b) cell in data, or N (an extra row holding padding_value)
    offsets = edunn.tensor([0] + batch_sizes[:-1], dtype=edunn.int64).cumsum(0).tolist()
    offsets += [0] * (max_seq_length - len(offsets))
    dev = data.device
    start = edunn.tensor(offsets, dtype=edunn.int64, device=dev).unsqueeze(1)
    idx = edunn.where(_running(batch_sizes, B, max_seq_length, dev),
                      start + edunn.arange(B, device=dev).unsqueeze(0),
                      edunn.full((max_seq_length, B), N, dtype=edunn.int64, device=dev))
    pad_row = edunn.full((1,) + tuple(data.shape[1:]), padding_value, dtype=data.dtype,
                         device=data.device)
    ext = edunn.cat([data, pad_row], 0)
    if batch_first:
        idx = idx.t()
    padded = ext[idx.reshape(-1)].reshape(tuple(idx.shape) + tuple(data.shape[1:]))
    lengths = _running(batch_sizes, B, len(batch_sizes), "cpu").sum(0)
    if sequence.unsorted_indices is not None:
        padded = padded.index_select(0 if batch_first else 1, sequence.unsorted_indices)
        lengths = lengths[sequence.unsorted_indices.cpu()]
    return padded, lengths


def pad_sequence(sequences: Union[Tensor, Sequence[Tensor]], batch_first: bool = False,
                 padding_value: float = 0.0, padding_side: str = "right") -> Tensor:
    """Stack sequences of shapes (L_i, *) into (T, B, *) (or (B, T, *)), ``T = max L_i``,
    filling with ``padding_value`` on the ``padding_side`` ('right' or 'left')."""
    if padding_side not in ("left", "right"):
        raise RuntimeError(f"Expected padding_side to be one of left or right, but got {padding_side}.")
    if isinstance(sequences, Tensor):
        sequences = sequences.unbind(0)
    sequences = list(sequences)
    if not sequences:
        raise RuntimeError("received an empty list of sequences")
    T = max(s.shape[0] for s in sequences)
    trailing = tuple(sequences[0].shape[1:])
    rows = []
    for s in sequences:
        if tuple(s.shape[1:]) != trailing:
            raise RuntimeError(f"pad_sequence: every sequence must have the trailing shape "
                               f"{list(trailing)} of the first, but got {list(s.shape)}")
        n = T - s.shape[0]
        if n:
            pad = edunn.full((n,) + trailing, padding_value, dtype=s.dtype, device=s.device)
            s = edunn.cat([s, pad] if padding_side == "right" else [pad, s], 0)
        rows.append(s)
    return edunn.stack(rows, 0 if batch_first else 1)


def unpad_sequence(padded_sequences: Tensor, lengths: Union[Tensor, Sequence[int]],
                   batch_first: bool = False) -> list:
    """The list of sequences ``padded[:, b][:lengths[b]]`` (inverse of right-padding)."""
    if not batch_first:
        padded_sequences = padded_sequences.transpose(0, 1)
    lens = lengths.tolist() if isinstance(lengths, Tensor) else [int(v) for v in lengths]
    return [seq[:n] for seq, n in zip(padded_sequences.unbind(0), lens)]


def pack_sequence(sequences: Sequence[Tensor], enforce_sorted: bool = True) -> PackedSequence:
    """Pack a list of sequences (L_i, *); with ``enforce_sorted`` they must come longest first."""
    lengths = edunn.tensor([v.size(0) for v in sequences], dtype=edunn.int64)
    return pack_padded_sequence(pad_sequence(sequences), lengths, enforce_sorted=enforce_sorted)


def unpack_sequence(packed_sequences: PackedSequence) -> list:
    """The list of sequences (L_i, *) that ``packed_sequences`` holds, in the original order."""
    padded, lengths = pad_packed_sequence(packed_sequences, batch_first=True)
    return unpad_sequence(padded, lengths, batch_first=True)
