"""The named tuples that ops with several results return, with PyTorch's type and field names
(``torch.return_types.max(values=..., indices=...)``): ``values, indices = x.max(dim=1)`` and
``x.max(dim=1).values`` both work."""
from __future__ import annotations

from collections import namedtuple

__all__ = ['max', 'min', 'aminmax', 'median', 'nanmedian', 'mode', 'cummax', 'cummin', 'sort',
           'topk', 'kthvalue', 'slogdet', 'qr', 'svd', 'eigh', 'lu',
           'geqrf', 'histogram', 'histogramdd', 'linalg_inv_ex', 'linalg_cholesky_ex', 'linalg_solve_ex',
           'linalg_slogdet', 'linalg_qr', 'linalg_eigh', 'linalg_svd', 'linalg_lstsq', 'linalg_lu_factor',
           'linalg_lu_factor_ex', 'linalg_lu', 'lu_unpack', 'triangular_solve', 'frexp',
           'linalg_ldl_factor', 'linalg_ldl_factor_ex', 'linalg_eig']


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
frexp = _make("frexp", "mantissa exponent")
histogramdd = _make("histogramdd", "hist bin_edges")
linalg_inv_ex = _make("linalg_inv_ex", "inverse info")
linalg_cholesky_ex = _make("linalg_cholesky_ex", "L info")
linalg_solve_ex = _make("linalg_solve_ex", "result info")
linalg_slogdet = _make("linalg_slogdet", "sign logabsdet")
linalg_qr = _make("linalg_qr", "Q R")
linalg_eig = _make("linalg_eig", "eigenvalues eigenvectors")
linalg_eigh = _make("linalg_eigh", "eigenvalues eigenvectors")
linalg_svd = _make("linalg_svd", "U S Vh")
linalg_lstsq = _make("linalg_lstsq", "solution residuals rank singular_values")
linalg_lu_factor = _make("linalg_lu_factor", "LU pivots")
linalg_lu_factor_ex = _make("linalg_lu_factor_ex", "LU pivots info")
linalg_lu = _make("linalg_lu", "P L U")
lu_unpack = _make("lu_unpack", "P L U")
triangular_solve = _make("triangular_solve", "solution cloned_coefficient")
linalg_ldl_factor = _make("linalg_ldl_factor", "LD pivots")
linalg_ldl_factor_ex = _make("linalg_ldl_factor_ex", "LD pivots info")
