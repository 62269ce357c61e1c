"""The named tuples that ops with several results return, with PyTorch's type and field names
(``torch.return_types.max(values=..., indices=...)``): ``values, indices = x.max(dim=1)`` and
``x.max(dim=1).values`` both work."""
from __future__ import annotations

from collections import namedtuple

__all__ = ['max', 'min', 'aminmax', 'median', 'nanmedian', 'mode', 'cummax', 'cummin', 'sort',
           'topk', 'kthvalue', 'slogdet', 'qr', 'svd', 'eigh', 'lu',
           'geqrf', 'histogram']


def _make(name: str, fields: str):
    cls = namedtuple(name, fields)
    cls.__module__ = "edunn.return_types"

    def __repr__(self) -> str:
        inner = ",\n".join(f"{f}={v!r}" for f, v in zip(self._fields, self))
        return f"edunn.return_types.{name}(\n{inner})"

    cls.__repr__ = __repr__
    return cls


max = _make("max", "values indices")
min = _make("min", "values indices")
aminmax = _make("aminmax", "min max")
median = _make("median", "values indices")
nanmedian = _make("nanmedian", "values indices")
mode = _make("mode", "values indices")
cummax = _make("cummax", "values indices")
cummin = _make("cummin", "values indices")
sort = _make("sort", "values indices")
topk = _make("topk", "values indices")
kthvalue = _make("kthvalue", "values indices")
slogdet = _make("slogdet", "sign logabsdet")
qr = _make("qr", "Q R")
svd = _make("svd", "U S V")
eigh = _make("eigh", "eigenvalues eigenvectors")
lu = _make("lu", "P L U")
geqrf = _make("geqrf", "a tau")
histogram = _make("histogram", "hist bin_edges")
