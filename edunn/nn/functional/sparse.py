"""``embedding``, ``embedding_bag`` and ``one_hot`` (lesson 08).

An embedding is a table lookup: ``out[..., :] = weight[input[...], :]``.  Its gradient with
respect to the table is a scatter-add: every looked-up row receives the output gradient of each
place it was looked up, and the rows nobody looked up receive nothing.  Lesson 08 shows why
that gradient is naturally *sparse*: with ``sparse=True`` it is returned as a sparse COO tensor
(``edunn.sparse``) listing the looked-up rows and their gradient rows -- uncoalesced, one entry
per lookup, as PyTorch gives it -- which ``optim.SparseAdam``, ``optim.SGD`` and ``optim.Adagrad``
consume without touching the other rows.

Options (PyTorch's):

* ``padding_idx``: that row gets no gradient (and EmbeddingBag leaves it out of every bag);
* ``scale_grad_by_freq``: each row's gradient is divided by how often it occurs in the batch;
* ``max_norm``: before the lookup, every looked-up row whose ``norm_type``-norm exceeds
  ``max_norm`` is rescaled *in place* to norm ``max_norm`` (``weight[i] *= max_norm /
  (norm + 1e-7)``, PyTorch's ``embedding_renorm_``), outside autograd.

``embedding_bag`` sums, averages or takes the elementwise max of the embeddings of each bag
without materialising the per-index rows for the caller: bag ``b`` holds
``input[offsets[b]:offsets[b+1]]``.  It is vectorised: every position gets its bag number by a
``searchsorted`` over the offsets, and the bags are reduced with one scatter (``add`` or
``maximum``) -- no Python loop over bags.
"""
from __future__ import annotations

from typing import Any

from ... import backend
from ...autograd.function import Function
from ...ops.indexing import IndexBackward
from ...ops._operands import _widened
from ...sparse import _new_sparse
from ...tensor import Tensor

__all__ = ["embedding", "embedding_bag", "one_hot"]

_INT64 = backend.int64.np


def _index_array(input: Any, weight: Tensor, who: str) -> Any:
    """``input``'s integer array on ``weight``'s device, checked against the table's rows."""
    if not isinstance(input, Tensor):
        raise TypeError(f"{who}(): argument 'input' must be Tensor, not {type(input).__name__}")
    arr = input._data
    if arr.dtype.kind not in "iu" or arr.dtype.itemsize < 4:
        raise RuntimeError(f"Expected tensor for argument #1 'indices' to have one of the "
                           f"following scalar types: Long, Int; but got {input.dtype} instead "
                           f"(while checking arguments for {who})")
    if input.device != weight.device:
        raise RuntimeError(f"Expected all tensors to be on the same device, but found at least "
                           f"two devices, {weight.device} and {input.device}! (while checking "
                           f"arguments for {who})")
    return arr.astype(_INT64, copy=False)


def _check_range(idx: Any, num: int, who: str) -> None:
    """Every index in [0, num): at once on the CPU, at the next synchronisation on a GPU."""
    if not idx.size:
        return
    xp = backend.array_module(idx)

    def error() -> Exception:
        bad = int(idx.min()) if int(idx.min()) < 0 else int(idx.max())
        if who == "embedding":  # PyTorch's IndexError, word for word, then the numbers
            return IndexError(f"index out of range in self (index {bad} for a weight of {num} rows)")
        return RuntimeError(f"{who}: index out of range in self (index {bad} for a weight of "
                            f"{num} rows)")
    # seen as unsigned, a negative index is huge: one reduction decides
    backend.device_assert(idx.astype(backend.int64.np, copy=False).view(xp.uint64).max() >= num, error)


def _padding(padding_idx: int | None, num: int, message: str) -> int:
    """PyTorch's normalisation: a negative ``padding_idx`` counts from the end; -1 means none."""
    if padding_idx is None:
        return -1
    if padding_idx >= num or padding_idx < -num:
        raise AssertionError(message)
    return padding_idx + num if padding_idx < 0 else padding_idx


def _row_norms(rows: Any, norm_type: float) -> Any:
    xp = backend.array_module(rows)
    a = xp.abs(rows)
    if norm_type == float("inf"):
        return a.max(axis=-1)
    if norm_type == float("-inf"):
        return a.min(axis=-1)
    if norm_type == 0:
        return (a != 0).sum(axis=-1).astype(rows.dtype)
    if norm_type == 2:
        return xp.sqrt((a * a).sum(axis=-1))
    return (a ** norm_type).sum(axis=-1) ** (1.0 / norm_type)


def _embedding_renorm_(weight: Tensor, idx: Any, max_norm: float, norm_type: float) -> None:
    """``torch.embedding_renorm_`` under no_grad: each distinct looked-up row whose norm exceeds
    ``max_norm`` is multiplied, in place, by ``max_norm / (norm + 1e-7)``."""
    w = weight._data
    if not backend.writable(w):
        raise RuntimeError("embedding max_norm: the weight cannot be written in place")
    xp = backend.array_module(w)
    rows = xp.unique(idx.reshape(-1))
    if rows.size == 0:
        return
    sel = w[rows]
    norms = _row_norms(sel, norm_type).astype(backend.float64.np)
    big = norms > max_norm
    if not bool(big.any()):
        return
    scale = (max_norm / (norms[big] + 1e-7)).astype(w.dtype)  # PyTorch: a double, cast for the product
    w[rows[big]] = sel[big] * scale[:, None]
    weight._version_counter[0] += 1


class Embedding(Function):
    """``out = weight[indices]``.  Backward: the output gradient scatter-added into the table's
    rows (zero at ``padding_idx``, divided by each index's count with ``scale_grad_by_freq``),
    dense, or as a sparse COO tensor with ``sparse=True``."""

    @staticmethod
    def forward(ctx, weight, idx, padding_idx, scale_grad_by_freq, sparse):
        ctx.idx, ctx.num = idx, weight._data.shape[0]
        ctx.padding_idx, ctx.scale, ctx.sparse = padding_idx, scale_grad_by_freq, sparse
        return weight._data[idx]

    @staticmethod
    def backward(ctx, grad):
        flat = ctx.idx.reshape(-1)
        dim = grad.shape[-1]
        rows = grad.reshape(-1, dim)
        return _table_grad(rows, flat, ctx.num, ctx.padding_idx, ctx.scale, ctx.sparse), \
            None, None, None, None


def _table_grad(rows: Tensor, flat: Any, num: int, padding_idx: int, scale: bool,
                sparse: bool) -> Tensor:
    """The (num, dim) gradient of a table from the gradient ``rows[j]`` of each lookup
    ``flat[j]`` (PyTorch's ``embedding_backward``)."""
    xp = backend.array_module(flat)
    dim = rows.shape[-1]
    if sparse:
        if scale:
            raise RuntimeError("embedding_backward: scale_grad_by_freq not supported with sparse "
                               "gradients")
        if padding_idx >= 0:
            keep = xp.nonzero(flat != padding_idx)[0]
            flat, rows = flat[keep], rows[Tensor._make(keep)]
        vals = xp.ascontiguousarray(rows._data)
        return _new_sparse(flat.reshape(1, -1), vals, (num, dim), flat.shape[0] <= 1)
    factor = None
    if scale:
        counts = xp.bincount(flat, minlength=num)
        factor = 1.0 / counts[flat]
    if padding_idx >= 0:
        keep = flat != padding_idx
        factor = keep if factor is None else factor * keep
    if factor is not None:
        rows = rows * Tensor._make(factor.astype(rows._data.dtype)[:, None])
    return IndexBackward.apply(rows, (num, dim), (flat,), True)


def embedding(input: Tensor, weight: Tensor, padding_idx: int | None = None,
              max_norm: float | None = None, norm_type: float = 2.0,
              scale_grad_by_freq: bool = False, sparse: bool = False) -> Tensor:
    """Look up rows of ``weight``: ``out[..., :] = weight[input[...], :]`` (lesson 08).

    Shapes: ``input`` (*) of int64/int32 indices in ``[0, num_embeddings)``, ``weight``
    (num_embeddings, embedding_dim), output (*, embedding_dim).  The gradient with respect to
    ``weight`` is a scatter-add of the output gradient (see the module docstring for
    ``padding_idx``, ``scale_grad_by_freq`` and ``sparse``); with ``max_norm`` the looked-up
    rows of ``weight`` are first renormalised in place.
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise RuntimeError(f"'weight' must be 2-D, got "
                           f"{weight.ndim if isinstance(weight, Tensor) else type(weight).__name__}")
    idx = _index_array(input, weight, "embedding")
    num = weight.shape[0]
    pad = _padding(padding_idx, num, "Padding_idx must be within num_embeddings")
    _check_range(idx, num, "embedding")
    if max_norm is not None:
        _embedding_renorm_(weight, idx, max_norm, norm_type)
    return Embedding.apply(weight, idx, pad, bool(scale_grad_by_freq), bool(sparse))


# ----------------------------------------------------------------------------------------------
# EmbeddingBag
# ----------------------------------------------------------------------------------------------
class EmbeddingBag(Function):
    """Per bag, the sum (optionally weighted), mean or elementwise max of the looked-up rows.
    ``where`` lists the positions that count (in a bag, not padding), ``bag`` their bag.
    Backward: the bag's gradient sent back to each of its rows (divided by the bag's size for
    the mean, only to the arg-max row of each feature for the max), and for
    ``per_sample_weights`` the dot product of the bag's gradient with the row."""

    @staticmethod
    def forward(ctx, weight, psw, idx, where, bag, n_bags, mode, scale, sparse):
        w = weight._data
        xp = backend.array_module(w)
        rows_idx = idx[where]
        rows = w[rows_idx]
        dim = w.shape[1]
        counts = xp.bincount(bag, minlength=n_bags)
        ctx.args = (idx, where, bag, rows_idx, counts, w.shape[0], mode, scale, sparse)
        ctx.weight, ctx.psw = weight, psw
        if mode == "max":
            out = xp.full((n_bags, dim), -xp.inf, w.dtype)
            backend.scatter_reduce_at(out, bag, rows, "maximum")
            empty = counts == 0
            out[empty] = 0
            # the first position holding each bag's maximum, feature by feature (PyTorch keeps
            # the first one on ties): scatter-min of the candidate positions
            n = rows.shape[0]
            cand = xp.where(rows == out[bag], xp.arange(n)[:, None], n)
            first = xp.full((n_bags, dim), n, _INT64)
            backend.scatter_reduce_at(first, bag, cand, "minimum")
            ctx.argmax = (first, ~empty)
            return out
        if psw is not None:
            rows = rows * psw._data[where][:, None]
        rows = _widened(rows)   # float16/bfloat16 bags are summed in float32, as PyTorch's
        out = xp.zeros((n_bags, dim), rows.dtype)
        backend.scatter_add_at(out, bag, rows)
        if mode == "mean":
            out /= xp.maximum(counts, 1).astype(out.dtype)[:, None]
        return out.astype(w.dtype, copy=False)

    @staticmethod
    def backward(ctx, grad):
        idx, where, bag, rows_idx, counts, num, mode, scale, sparse = ctx.args
        xp = backend.array_module(idx)
        dim = grad.shape[-1]
        grad_w = grad_psw = None
        if mode == "max":
            first, nonempty = ctx.argmax
            bags = xp.nonzero(nonempty)[0]
            table_rows = rows_idx[first[bags]]  # (bags, dim): the row that won each feature
            cols = xp.arange(dim)[None, :]
            if ctx.needs_input_grad[0]:
                grad_w = IndexBackward.apply(grad[Tensor._make(bags)], (num, dim),
                                             (table_rows, cols), True)
            return grad_w, None, None, None, None, None, None, None, None
        g_rows = grad[Tensor._make(bag)]  # each counted position gets its bag's gradient
        if mode == "mean":
            g_rows = g_rows / Tensor._make(xp.maximum(counts, 1)[bag].astype(grad._data.dtype)[:, None])
        if ctx.needs_input_grad[1] and ctx.psw is not None:
            dots = (g_rows * ctx.weight[Tensor._make(rows_idx)]).sum(-1)
            grad_psw = IndexBackward.apply(dots, (idx.shape[0],), (where,), True)
        if ctx.needs_input_grad[0]:
            if ctx.psw is not None:
                g_rows = g_rows * ctx.psw[Tensor._make(where)].unsqueeze(-1)
            if scale:  # counts over the whole input, as PyTorch's
                if sparse:
                    raise RuntimeError("embedding_backward: scale_grad_by_freq not supported "
                                       "with sparse gradients")
                freq = xp.bincount(idx, minlength=num)[rows_idx]
                g_rows = g_rows / Tensor._make(freq.astype(grad._data.dtype)[:, None])
            grad_w = _table_grad(g_rows, rows_idx, num, -1, False, sparse)
        return grad_w, grad_psw, None, None, None, None, None, None, None


@backend.on_input_device
def embedding_bag(input: Tensor, weight: Tensor, offsets: Tensor | None = None,
                  max_norm: float | None = None, norm_type: float = 2,
                  scale_grad_by_freq: bool = False, mode: str = "mean", sparse: bool = False,
                  per_sample_weights: Tensor | None = None, include_last_offset: bool = False,
                  padding_idx: int | None = None) -> Tensor:
    """Sums, means or maxes of bags of embeddings, without the intermediate (lesson 08).

    ``input`` is either 2-D (B, N): B bags of N indices each (``offsets`` must be None), or 1-D
    with ``offsets`` (B,) giving where each bag starts (``offsets[0] == 0``; with
    ``include_last_offset`` there are B - 1 bags and the last offset ends the last one).  An
    empty bag gives zeros.  ``per_sample_weights`` (same shape as ``input``, mode 'sum' only)
    scales each row before the sum; ``padding_idx`` rows are left out of their bag (and out of
    the mean's count).  Output: (B, embedding_dim).

    .. code-block:: text

        sum:  out[b] = sum_{j in bag b} w_j * weight[input[j]]
        mean: out[b] = (1 / |bag b|) sum_{j in bag b} weight[input[j]]
        max:  out[b, d] = max_{j in bag b} weight[input[j], d]

    ``scale_grad_by_freq`` divides each row's gradient by the number of times its index occurs
    in ``input``, as documented (PyTorch 2.x's CPU kernel scales the k-th distinct index by the
    count of the k-th entry of the sorted indices instead, which differs when counts differ).
    With ``include_last_offset`` the last bag ends at ``offsets[-1]``, which PyTorch documents
    as ``input``'s length (positions after it belong to no bag here).
    """
    if not isinstance(weight, Tensor) or weight.ndim != 2:
        raise ValueError(f"weight has to be a 2D Tensor, but got Tensor of dimension "
                         f"{weight.ndim if isinstance(weight, Tensor) else type(weight).__name__}")
    if not isinstance(input, Tensor):
        raise TypeError(f"embedding_bag(): argument 'input' must be Tensor, not "
                        f"{type(input).__name__}")
    if per_sample_weights is not None and input.shape != per_sample_weights.shape:
        raise ValueError(f"embedding_bag: If per_sample_weights ({per_sample_weights.shape}) is "
                         f"not None, then it must have the same shape as the input "
                         f"({input.shape})")
    xp = backend.array_module(weight._data)
    if input.ndim == 2:
        if offsets is not None:
            raise ValueError("if input is 2D, then offsets has to be None, as input is treated is "
                             "a mini-batch of fixed length sequences. However, found offsets of "
                             f"type {type(offsets)}")
        idx = _index_array(input, weight, "embedding_bag")
        offs = xp.arange(0, idx.size, idx.shape[1], dtype=_INT64) if idx.shape[1] else \
            xp.zeros(idx.shape[0], _INT64)
        include_last_offset = False
        idx = idx.reshape(-1)
        if per_sample_weights is not None:
            per_sample_weights = per_sample_weights.reshape(-1)
    elif input.ndim == 1:
        if offsets is None:
            raise ValueError("offsets has to be a 1D Tensor but got None")
        if not isinstance(offsets, Tensor) or offsets.ndim != 1:
            raise ValueError("offsets has to be a 1D Tensor")
        idx = _index_array(input, weight, "embedding_bag")
        if offsets._data.dtype.kind not in "iu":
            raise RuntimeError(f"Expected tensor for argument #1 'offsets' to have one of the "
                               f"following scalar types: Long, Int; but got {offsets.dtype} "
                               "instead (while checking arguments for embedding_bag)")
        offs = backend.to_device(offsets._data, weight.device).astype(_INT64, copy=False)
    else:
        raise ValueError(f"input has to be 1D or 2D Tensor, but got Tensor of dimension "
                         f"{input.ndim}")
    if mode not in ("sum", "mean", "max"):
        raise ValueError("mode has to be one of sum, mean or max")
    if mode == "max" and scale_grad_by_freq:
        raise ValueError("max mode does not support scaling the gradient by the frequency")
    if mode == "max" and sparse:
        raise ValueError("max mode does not support sparse weights")
    num = weight.shape[0]
    _check_range(idx, num, "embedding_bag")
    if max_norm is not None:
        _embedding_renorm_(weight, idx, max_norm, norm_type)
    if per_sample_weights is not None and mode != "sum":
        raise NotImplementedError(
            "embedding_bag: per_sample_weights was not None. per_sample_weights is only "
            f"supported for mode='sum' (got mode='{mode}'). Please open a feature request on "
            "GitHub.")
    if per_sample_weights is not None and per_sample_weights.dtype != weight.dtype:
        raise RuntimeError(f"Expected tensor for argument #1 'weight' to have the same type as "
                           f"tensor for argument #1 'per_sample_weights'; but type "
                           f"{weight.dtype} does not equal {per_sample_weights.dtype} (while "
                           "checking arguments for embedding_bag)")
    pad = _padding(padding_idx, num, "padding_idx must be within num_embeddings")

    # which bag each position belongs to, and which positions count
    n_pos = idx.shape[0]
    if offs.size:
        if int(offs[0]) != 0:
            raise RuntimeError(f"offsets[0] has to be 0, i.e., the first sequence in the "
                               f"mini-batch has to start from position 0. However, got "
                               f"{int(offs[0])}")
        if int(offs[-1]) > n_pos:
            raise RuntimeError(f"offsets[-1] can not be greater than input's length {n_pos} but "
                               f"got offsets[-1] of {int(offs[-1])}")
        if offs.size > 1 and bool((offs[1:] < offs[:-1]).any()):
            raise RuntimeError("embedding_bag: offsets must be non-decreasing (each bag starts "
                               f"where the previous one ends), got {backend.to_numpy(offs).tolist()}")
    n_bags = max(offs.size - 1, 0) if include_last_offset else offs.size
    starts = offs[:n_bags]
    end = int(offs[n_bags]) if include_last_offset and offs.size else n_pos
    pos = xp.arange(n_pos)
    valid = pos < end
    if pad >= 0:
        valid &= idx != pad
    where = xp.nonzero(valid)[0] if n_bags else xp.zeros(0, _INT64)
    bag = xp.searchsorted(starts, where, side="right") - 1
    return EmbeddingBag.apply(weight, per_sample_weights, idx, where, bag.astype(_INT64), n_bags,
                              mode, bool(scale_grad_by_freq), bool(sparse))


@backend.on_input_device
def one_hot(tensor: Tensor, num_classes: int = -1) -> Tensor:
    """``out[..., c] = 1 if tensor[...] == c else 0``: int64 of shape (*, num_classes); with
    ``num_classes=-1`` it is ``tensor.max() + 1`` (lesson 08)."""
    if not isinstance(tensor, Tensor):
        raise TypeError(f"one_hot(): argument 'input' must be Tensor, not {type(tensor).__name__}")
    arr = tensor._data
    if arr.dtype != _INT64:
        raise RuntimeError("one_hot is only applicable to index tensor of type LongTensor.")
    xp = backend.array_module(arr)
    if num_classes == -1:
        if arr.size == 0:
            raise RuntimeError("Can not infer total number of classes from empty tensor.")
        num_classes = int(arr.max()) + 1
    if arr.size:
        if int(arr.min()) < 0:
            raise RuntimeError("Class values must be non-negative.")
        if int(arr.max()) >= num_classes:
            raise RuntimeError("Class values must be smaller than num_classes.")
    out = (arr[..., None] == xp.arange(num_classes)).astype(_INT64)
    return Tensor._make(out)
