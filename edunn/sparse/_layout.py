"""Tensor layouts: ``edunn.strided`` (dense arrays) and ``edunn.sparse_coo`` (indices and
values), as ``torch.layout``."""
from __future__ import annotations

__all__ = ["layout", "strided", "sparse_coo"]



class layout:
    """How a tensor stores its elements: ``edunn.strided`` (dense arrays, every tensor but the
    sparse ones) or ``edunn.sparse_coo`` (indices and values), as ``torch.layout``."""

    def __init__(self, name: str) -> None:
        self._name = name

    def __repr__(self) -> str:
        return f"edunn.{self._name}"

    def __reduce__(self) -> str:
        return self._name


strided = layout("strided")
sparse_coo = layout("sparse_coo")


def _strided_error(method: str) -> Exception:
    """PyTorch's error for a sparse-only query (``coalesce``, ``indices`` ...) on a dense tensor."""
    if method == "_nnz":
        return NotImplementedError("Could not run 'aten::_nnz' with arguments from the 'CPU' "
                                   "backend: _nnz is defined for sparse tensors only")
    what = "sparse tensor" if method == "values" else "sparse coordinate tensor"
    return RuntimeError(f"{method} expected {what} layout but got Strided")
