"""Sparse COO tensors (lesson 08): ``edunn.sparse_coo_tensor``, the gradient of an
``Embedding(sparse=True)``, and ``torch.sparse``'s functions (``mm``, ``addmm``, ``sum``,
``softmax``, ``log_softmax``, ``spdiags``, ``check_sparse_tensor_invariants``,
``as_sparse_gradcheck``).

A sparse COO ("coordinate") tensor of size ``(s_0, ..., s_{k-1}, d_0, ...)`` stores only the
entries it names:

* ``indices``: an int64 tensor of shape ``(sparse_dim, nnz)``; column ``j`` is the position of
  entry ``j`` along the ``sparse_dim`` leading dimensions;
* ``values``: a tensor of shape ``(nnz, *dense_dims)``; row ``j`` is what sits there.

So ``to_dense()[indices[0, j], ..., indices[k-1, j]] += values[j]`` for every ``j``: a position
named twice holds the *sum* of its values.  That is what makes concatenation a valid addition
(``a + b`` keeps both lists of entries) and why an embedding's gradient can simply list the
rows that were looked up, once per lookup.  ``coalesce()`` sorts the positions and sums the
duplicates; a non-linear consumer (``SparseAdam``) needs that form.

As in PyTorch, a sparse tensor is a ``Tensor`` (``isinstance`` holds, so it can be a
parameter's ``.grad``) with ``is_sparse`` True and ``layout`` ``edunn.sparse_coo``; it offers
the operations listed on :class:`SparseCOOTensor`, and every other tensor operation raises
``NotImplementedError`` (PyTorch's answer too for most ops on its sparse backend): call
``to_dense()`` first.  Differences from PyTorch: ``sparse_coo_tensor`` always checks the
indices against the size (PyTorch only with ``check_invariants=True``), and a sparse gradient
reaching a non-leaf tensor is made dense there (same numbers).

The package, by topic:

* ``_layout``: ``layout``, ``strided``, ``sparse_coo``;
* ``_coo``: the :class:`SparseCOOTensor` class and the array helpers it is built on;
* ``_autograd``: the nodes of the elementary operations (densify, sum, scale, coalesce, build);
* ``_creation``: ``sparse_coo_tensor``, ``to_sparse``, gradient accumulation;
* ``_matmul``: ``mm``/``addmm`` and the top-level ``smm``, ``hspmm``, ``sspaddmm``, ``dsmm``,
  ``spmm``, ``saddmm``, ``sparse_mask``, ``spdiags``;
* ``_reduce``: ``sum``, ``softmax``, ``log_softmax``;
* ``_legacy``: the legacy typed classes ``FloatTensor`` ... ``LongTensor``;
* ``_checks``: ``check_sparse_tensor_invariants``, ``as_sparse_gradcheck``, and the CUDA-only
  semi-structured (2:4) format (PyTorch's error on a CPU).

PyTorch lists ``solve`` in ``torch.sparse.__all__`` without defining it (2.13); edunn leaves
it out too.  ``spsolve`` and ``sampled_addmm`` exist only for the CSR layout, which edunn does
not have: for COO tensors they raise ``NotImplementedError``, as PyTorch does.
"""
from ._layout import _strided_error, layout, sparse_coo, strided
from ._coo import (_INT64, SparseCOOTensor, _linear_key, _new_sparse, _rebuild_sparse,
                   _sparse_only, _sparse_repr, _to_dense_array)
from ._autograd import (Coalesce, Scale, SparseCooTensor, SparseFullSum, ToDense, ToSparse,
                        _no_graph, _record, _record_many)
from ._creation import _accumulate, sparse_coo_tensor, to_sparse
from ._matmul import (addmm, dsmm, hspmm, mm, saddmm, sampled_addmm, smm, sparse_mask, spdiags,
                      spmm, spsolve, sspaddmm)
from ._reduce import log_softmax, softmax, sum
from ._legacy import (BFloat16Tensor, ByteTensor, CharTensor, DoubleTensor, FloatTensor,
                      HalfTensor, IntTensor, LongTensor, ShortTensor)
from ._checks import (SparseSemiStructuredTensor, SparseSemiStructuredTensorCUSPARSELT,
                      SparseSemiStructuredTensorCUTLASS, as_sparse_gradcheck,
                      check_sparse_tensor_invariants, to_sparse_semi_structured)

__all__ = ["layout", "strided", "sparse_coo", "SparseCOOTensor", "sparse_coo_tensor",
           # torch.sparse.__all__ (less ``solve``, which PyTorch lists but does not define)
           "addmm", "check_sparse_tensor_invariants", "mm", "sum", "softmax", "log_softmax",
           "SparseSemiStructuredTensor", "SparseSemiStructuredTensorCUTLASS",
           "SparseSemiStructuredTensorCUSPARSELT", "to_sparse_semi_structured",
           "as_sparse_gradcheck", "spdiags"]

_ = (_strided_error, _INT64, _linear_key, _new_sparse, _rebuild_sparse, _sparse_only, _sparse_repr,
     _to_dense_array, Coalesce, Scale, SparseCooTensor, SparseFullSum, ToDense, ToSparse,
     _no_graph, _record, _record_many, _accumulate, to_sparse, dsmm, hspmm, saddmm, smm,
     sparse_mask, spmm, sspaddmm, sampled_addmm, spsolve, BFloat16Tensor, ByteTensor, CharTensor,
     DoubleTensor, FloatTensor, HalfTensor, IntTensor, LongTensor, ShortTensor)  # names kept importable from edunn.sparse
