"""The methods of ``torch.Tensor``, each one line that calls the op implementing it.

``Tensor`` (tensor.py) inherits them.  Nothing here computes anything: open the op module named
in the call (``_ew`` = ``ops/elementwise.py``, ``_red`` = ``ops/reduction.py``, ``_sh`` =
``ops/shape.py``, ``_ix`` = ``ops/indexing.py``, ``_la`` = ``ops/linalg.py``, ``_so`` =
``ops/sorting.py``, ``_cv`` = ``ops/conversion.py``, ``_cr`` = ``ops/creation.py``) to find the
math and its derivative.  In-place forms (``x.add_(y)``) compute out of place and then store the
result into ``x`` through ``Tensor._inplace``, which keeps views, version counters and the graph
right in one place.

``memory_format=`` (``x.float(memory_format=...)``, ``x.contiguous(...)``, ``x.clone(...)``) is
accepted for PyTorch compatibility and has no effect: it only chooses the strides of the result
(``channels_last`` ...), never its values, and edunn's results are NumPy/CuPy's C-ordered arrays.
"""
from __future__ import annotations

import functools
from typing import Any

from ._tensor_methods_rare import RareTensorMethods, _tm_storage

# Bound by ``_import_ops()`` once tensor.py has defined ``Tensor`` (the ops import it).
_ew = _red = _sh = _ix = _la = _so = _cv = _cr = _smx = _ops = None


def _import_ops() -> None:
    global _ew, _red, _sh, _ix, _la, _so, _cv, _cr, _smx, _ops
    from . import ops as _ops  # noqa: F811  (the later families: _ops.gamma.lgamma ...)
    from .ops import (bessel, construction, covariance, decompositions, differences,  # noqa: F401
                      gamma, histograms, matfuncs, scatter_views, solvers, utilities)
    from .ops import elementwise as _ew, reduction as _red, shape as _sh, indexing as _ix  # noqa: F811
    from .ops import linalg as _la, sorting as _so, conversion as _cv, creation as _cr  # noqa: F811
    from .ops import softmax as _smx  # noqa: F811
    from .ops import broadcast, index_reduce, joining  # noqa: F401  (sum_to_size, index_reduce, nonzero_static)
    from .ops import linalg_extra, view_copies  # noqa: F401  (addr, narrow_copy, split_with_sizes, unsafe_*)


class TensorMethods(RareTensorMethods):
    __slots__ = ()

    # ------------------------------------------------------------------ arithmetic operators
    def __add__(self, other): return _ew.add(self, other)
    def __radd__(self, other): return _ew.add(other, self)
    def __iadd__(self, other): return self._inplace(_ew.add(self, other))
    def __sub__(self, other): return _ew.sub(self, other)
    def __rsub__(self, other): return _ew.sub(other, self)
    def __isub__(self, other): return self._inplace(_ew.sub(self, other))
    def __mul__(self, other): return _ew.mul(self, other)
    def __rmul__(self, other): return _ew.mul(other, self)
    def __imul__(self, other): return self._inplace(_ew.mul(self, other))
    def __truediv__(self, other): return _ew.div(self, other)
    def __rtruediv__(self, other): return _ew.div(other, _ew._autocast.cast_inputs("rtruediv", self)[0] if _ew._autocast.active else self)  # noqa: E501  (float32 under CUDA autocast)
    def __itruediv__(self, other): return self._inplace(_ew.div(self, other))
    def __floordiv__(self, other): return _ew.floor_divide(self, other)
    def __rfloordiv__(self, other): return _ew.floor_divide(other, self)
    def __ifloordiv__(self, other): return self._inplace(_ew.floor_divide(self, other))
    def __mod__(self, other): return _ew.remainder(self, other)
    def __rmod__(self, other): return _ew.remainder(other, self)
    def __imod__(self, other): return self._inplace(_ew.remainder(self, other))
    def __pow__(self, other): return _ew.pow(self, other)
    def __rpow__(self, other): return _ew.pow(other, self)
    def __ipow__(self, other): return self._inplace(_ew.pow(self, other))
    def __matmul__(self, other): return _la.matmul(self, other)
    def __rmatmul__(self, other): return _la.matmul(other, self)
    def __neg__(self): return _ew.neg(self)
    def __pos__(self): return self
    def __abs__(self): return _ew.abs(self)
    def __invert__(self): return _ew.bitwise_not(self)
    def __and__(self, other): return _ew.bitwise_and(self, other)
    def __rand__(self, other): return _ew.bitwise_and(other, self)
    def __iand__(self, other): return self._inplace(_ew.bitwise_and(self, other))
    def __or__(self, other): return _ew.bitwise_or(self, other)
    def __ror__(self, other): return _ew.bitwise_or(other, self)
    def __ior__(self, other): return self._inplace(_ew.bitwise_or(self, other))
    def __xor__(self, other): return _ew.bitwise_xor(self, other)
    def __rxor__(self, other): return _ew.bitwise_xor(other, self)
    def __ixor__(self, other): return self._inplace(_ew.bitwise_xor(self, other))
    def __lshift__(self, other): return _ew.bitwise_left_shift(self, other)
    def __rshift__(self, other): return _ew.bitwise_right_shift(self, other)
    def __rlshift__(self, other): return _ew.bitwise_left_shift(other, self)
    def __rrshift__(self, other): return _ew.bitwise_right_shift(other, self)

    # ------------------------------------------------------------------ comparisons
    def __eq__(self, other): return _ew.eq(self, other)
    def __ne__(self, other): return _ew.ne(self, other)
    def __lt__(self, other): return _ew.lt(self, other)
    def __le__(self, other): return _ew.le(self, other)
    def __gt__(self, other): return _ew.gt(self, other)
    def __ge__(self, other): return _ew.ge(self, other)
    __hash__ = None  # tensor.py restores identity hashing

    def eq(self, other): return _ew.eq(self, other)
    def ne(self, other): return _ew.ne(self, other)
    def lt(self, other): return _ew.lt(self, other)
    def le(self, other): return _ew.le(self, other)
    def gt(self, other): return _ew.gt(self, other)
    def ge(self, other): return _ew.ge(self, other)
    greater, greater_equal, less, less_equal, not_equal = gt, ge, lt, le, ne
    def equal(self, other): return _ew.equal(self, other)
    def isclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False): return _ew.isclose(self, other, rtol, atol, equal_nan)
    def allclose(self, other, rtol=1e-05, atol=1e-08, equal_nan=False): return _ew.allclose(self, other, rtol, atol, equal_nan)
    def isnan(self): return _ew.isnan(self)
    def isinf(self): return _ew.isinf(self)
    def isfinite(self): return _ew.isfinite(self)
    def isposinf(self): return _ew.isposinf(self)
    def isneginf(self): return _ew.isneginf(self)
    def logical_and(self, other): return _ew.logical_and(self, other)
    def logical_or(self, other): return _ew.logical_or(self, other)
    def logical_xor(self, other): return _ew.logical_xor(self, other)
    def logical_not(self): return _ew.logical_not(self)
    def bitwise_and(self, other): return _ew.bitwise_and(self, other)
    def bitwise_or(self, other): return _ew.bitwise_or(self, other)
    def bitwise_xor(self, other): return _ew.bitwise_xor(self, other)
    def bitwise_not(self): return _ew.bitwise_not(self)
    def bitwise_left_shift(self, other): return _ew.bitwise_left_shift(self, other)
    def bitwise_right_shift(self, other): return _ew.bitwise_right_shift(self, other)
    def isreal(self): return _ew.isreal(self)

    # ------------------------------------------------------------------ binary math
    def add(self, other, *, alpha=1): return _ew.add(self, other, alpha=alpha)
    def add_(self, other, *, alpha=1): return self._inplace(_ew.add(self, other, alpha=alpha))
    def sub(self, other, *, alpha=1): return _ew.sub(self, other, alpha=alpha)
    def sub_(self, other, *, alpha=1): return self._inplace(_ew.sub(self, other, alpha=alpha))
    subtract, subtract_ = sub, sub_
    def mul(self, other): return _ew.mul(self, other)
    def mul_(self, other): return self._inplace(_ew.mul(self, other))
    multiply, multiply_ = mul, mul_
    def div(self, other, *, rounding_mode=None): return _ew.div(self, other, rounding_mode=rounding_mode)
    def div_(self, other, *, rounding_mode=None): return self._inplace(_ew.div(self, other, rounding_mode=rounding_mode))
    divide, divide_, true_divide, true_divide_ = div, div_, div, div_
    def floor_divide(self, other): return _ew.floor_divide(self, other)
    def floor_divide_(self, other): return self._inplace(_ew.floor_divide(self, other))
    def remainder(self, other): return _ew.remainder(self, other)
    def remainder_(self, other): return self._inplace(_ew.remainder(self, other))
    def fmod(self, other): return _ew.fmod(self, other)
    def fmod_(self, other): return self._inplace(_ew.fmod(self, other))
    def pow(self, exponent): return _ew.pow(self, exponent)
    def pow_(self, exponent): return self._inplace(_ew.pow(self, exponent))
    def float_power(self, exponent): return _ew.float_power(self, exponent)
    def float_power_(self, exponent):
        if self.dtype is not _cv.float64:  # float_power computes in float64, and _inplace would cast down
            raise RuntimeError(f"the base given to float_power_ has dtype {self.dtype.scalar_name} but the operation's result requires dtype Double")
        return self._inplace(_ew.float_power(self, exponent))
    def atan2(self, other): return _ew.atan2(self, other)
    def atan2_(self, other): return self._inplace(_ew.atan2(self, other))
    arctan2 = atan2
    def maximum(self, other): return _ew.maximum(self, other)
    def minimum(self, other): return _ew.minimum(self, other)
    def fmax(self, other): return _ew.fmax(self, other)
    def fmin(self, other): return _ew.fmin(self, other)
    def hypot(self, other): return _ew.hypot(self, other)
    def logaddexp(self, other): return _ew.logaddexp(self, other)
    def xlogy(self, other): return _ew.xlogy(self, other)
    def copysign(self, other): return _ew.copysign(self, other)
    def logaddexp2(self, other): return _ew.logaddexp2(self, other)
    def heaviside(self, values): return _ew.heaviside(self, values)
    def heaviside_(self, values): return self._inplace(_ew.heaviside(self, values))
    def lerp(self, end, weight): return _ew.lerp(self, end, weight)
    def lerp_(self, end, weight): return self._inplace(_ew.lerp(self, end, weight))
    def addcmul(self, tensor1, tensor2, *, value=1): return _ew.addcmul(self, tensor1, tensor2, value=value)
    def addcmul_(self, tensor1, tensor2, *, value=1): return self._inplace(_ew.addcmul(self, tensor1, tensor2, value=value))
    def addcdiv(self, tensor1, tensor2, *, value=1): return _ew.addcdiv(self, tensor1, tensor2, value=value)
    def addcdiv_(self, tensor1, tensor2, *, value=1): return self._inplace(_ew.addcdiv(self, tensor1, tensor2, value=value))

    # ------------------------------------------------------------------ unary math
    def neg(self): return _ew.neg(self)
    def neg_(self): return self._inplace(_ew.neg(self))
    negative, negative_ = neg, neg_
    def abs(self): return _ew.abs(self)
    def abs_(self):
        if self.is_complex():  # |z| is real: it cannot be stored back into z (PyTorch refuses too)
            raise RuntimeError("In-place abs is not supported for complex tensors.")
        return self._inplace(_ew.abs(self))
    absolute_ = abs_
    absolute = abs
    def sign(self): return _ew.sign(self)
    def sign_(self): return self._inplace(_ew.sign(self))
    def sgn(self): return _ew.sgn(self)
    def exp(self): return _ew.exp(self)
    def exp_(self): return self._inplace(_ew.exp(self))
    def exp2(self): return _ew.exp2(self)
    def expm1(self): return _ew.expm1(self)
    def expm1_(self): return self._inplace(_ew.expm1(self))
    def log(self): return _ew.log(self)
    def log_(self): return self._inplace(_ew.log(self))
    def log2(self): return _ew.log2(self)
    def log10(self): return _ew.log10(self)
    def log1p(self): return _ew.log1p(self)
    def log1p_(self): return self._inplace(_ew.log1p(self))
    def sqrt(self): return _ew.sqrt(self)
    def sqrt_(self): return self._inplace(_ew.sqrt(self))
    def rsqrt(self): return _ew.rsqrt(self)
    def rsqrt_(self): return self._inplace(_ew.rsqrt(self))
    def square(self): return _ew.square(self)
    def square_(self): return self._inplace(_ew.square(self))
    def sin(self): return _ew.sin(self)
    def sin_(self): return self._inplace(_ew.sin(self))
    def cos(self): return _ew.cos(self)
    def cos_(self): return self._inplace(_ew.cos(self))
    def tan(self): return _ew.tan(self)
    def asin(self): return _ew.asin(self)
    def acos(self): return _ew.acos(self)
    def atan(self): return _ew.atan(self)
    arcsin, arccos, arctan = asin, acos, atan
    def sinh(self): return _ew.sinh(self)
    def cosh(self): return _ew.cosh(self)
    def tanh(self): return _ew.tanh(self)
    def tanh_(self): return self._inplace(_ew.tanh(self))
    def asinh(self): return _ew.asinh(self)
    def acosh(self): return _ew.acosh(self)
    def atanh(self): return _ew.atanh(self)
    arcsinh, arccosh, arctanh = asinh, acosh, atanh
    def sigmoid(self): return _ew.sigmoid(self)
    def sigmoid_(self): return self._inplace(_ew.sigmoid(self))
    def logit(self, eps=None): return _ew.logit(self, eps)
    def relu(self): return _ew.relu(self)
    def relu_(self): return self._inplace(_ew.relu(self))
    def clamp(self, min=None, max=None): return _ew.clamp(self, min, max)
    def clamp_(self, min=None, max=None): return self._inplace(_ew.clamp(self, min, max))
    clip, clip_ = clamp, clamp_
    def clamp_min(self, min): return _ew.clamp(self, min, None)
    def clamp_min_(self, min): return self._inplace(_ew.clamp(self, min, None))
    def clamp_max(self, max): return _ew.clamp(self, None, max)
    def clamp_max_(self, max): return self._inplace(_ew.clamp(self, None, max))
    def floor(self): return _ew.floor(self)
    def floor_(self): return self._inplace(_ew.floor(self))
    def ceil(self): return _ew.ceil(self)
    def ceil_(self): return self._inplace(_ew.ceil(self))
    def round(self, *, decimals=0): return _ew.round(self, decimals=decimals)
    def round_(self, *, decimals=0): return self._inplace(_ew.round(self, decimals=decimals))
    def trunc(self): return _ew.trunc(self)
    def trunc_(self): return self._inplace(_ew.trunc(self))
    fix = trunc
    def frac(self): return _ew.frac(self)
    def deg2rad(self): return _ew.deg2rad(self)
    def rad2deg(self): return _ew.rad2deg(self)
    def positive(self): return _ew.positive(self)
    def reciprocal(self): return _ew.reciprocal(self)
    def reciprocal_(self): return self._inplace(_ew.reciprocal(self))
    def erf(self): return _ew.erf(self)
    def sinc(self): return _ew.sinc(self)
    def sinc_(self): return self._inplace(_ew.sinc(self))
    def erfc(self): return _ew.erfc(self)
    def erfinv(self): return _ew.erfinv(self)
    def erfinv_(self): return self._inplace(_ew.erfinv(self))
    def nan_to_num(self, nan=0.0, posinf=None, neginf=None): return _ew.nan_to_num(self, nan, posinf, neginf)
    def nan_to_num_(self, nan=0.0, posinf=None, neginf=None): return self._inplace(_ew.nan_to_num(self, nan, posinf, neginf))

    # ------------------------------------------------------------------ reductions
    def sum(self, dim=None, keepdim=False, *, dtype=None): return _red.sum(self, dim, keepdim, dtype=dtype)
    def nansum(self, dim=None, keepdim=False, *, dtype=None): return _red.nansum(self, dim, keepdim, dtype=dtype)
    def mean(self, dim=None, keepdim=False, *, dtype=None): return _red.mean(self, dim, keepdim, dtype=dtype)
    def nanmean(self, dim=None, keepdim=False, *, dtype=None): return _red.nanmean(self, dim, keepdim, dtype=dtype)
    def prod(self, dim=None, keepdim=False, *, dtype=None): return _red.prod(self, dim, keepdim, dtype=dtype)
    def max(self, dim=None, keepdim=False): return _red.max(self, dim, keepdim)
    def min(self, dim=None, keepdim=False): return _red.min(self, dim, keepdim)
    def amax(self, dim=None, keepdim=False): return _red.amax(self, dim, keepdim)
    def amin(self, dim=None, keepdim=False): return _red.amin(self, dim, keepdim)
    def aminmax(self, *, dim=None, keepdim=False): return _red.aminmax(self, dim=dim, keepdim=keepdim)
    def argmax(self, dim=None, keepdim=False): return _red.argmax(self, dim, keepdim)
    def argmin(self, dim=None, keepdim=False): return _red.argmin(self, dim, keepdim)
    def var(self, dim=None, unbiased=None, keepdim=False, *, correction=None): return _red.var(self, dim, unbiased, keepdim, correction=correction)
    def std(self, dim=None, unbiased=None, keepdim=False, *, correction=None): return _red.std(self, dim, unbiased, keepdim, correction=correction)
    def norm(self, p="fro", dim=None, keepdim=False, dtype=None): return _red.norm(self, p, dim, keepdim, dtype=dtype)
    def logsumexp(self, dim, keepdim=False): return _red.logsumexp(self, dim, keepdim)
    def softmax(self, dim, dtype=None): return _smx.softmax(self, dim, dtype=dtype)
    def log_softmax(self, dim, dtype=None): return _smx.log_softmax(self, dim, dtype=dtype)
    def cumsum(self, dim, *, dtype=None): return _red.cumsum(self, dim, dtype=dtype)
    def cumsum_(self, dim, *, dtype=None): return self._inplace(_red.cumsum(self, dim, dtype=dtype))
    def cumprod(self, dim, *, dtype=None): return _red.cumprod(self, dim, dtype=dtype)
    def cummax(self, dim): return _red.cummax(self, dim)
    def cummin(self, dim): return _red.cummin(self, dim)
    def logcumsumexp(self, dim): return _red.logcumsumexp(self, dim)
    def all(self, dim=None, keepdim=False): return _red.all(self, dim, keepdim)
    def any(self, dim=None, keepdim=False): return _red.any(self, dim, keepdim)
    def count_nonzero(self, dim=None): return _red.count_nonzero(self, dim)
    def median(self, dim=None, keepdim=False): return _red.median(self, dim, keepdim)
    def nanmedian(self, dim=None, keepdim=False): return _red.nanmedian(self, dim, keepdim)
    def mode(self, dim=-1, keepdim=False): return _red.mode(self, dim, keepdim)
    def quantile(self, q, dim=None, keepdim=False, *, interpolation="linear"): return _red.quantile(self, q, dim, keepdim, interpolation=interpolation)
    def nanquantile(self, q, dim=None, keepdim=False, *, interpolation="linear"): return _red.nanquantile(self, q, dim, keepdim, interpolation=interpolation)

    # ------------------------------------------------------------------ shape
    def reshape(self, *shape): return _sh.reshape(self, _shape_arg(shape))
    def view(self, *shape, dtype=None):
        if dtype is not None: return _cv.view_dtype(self, dtype)  # noqa: E701  (x.view(dtype=...))
        if len(shape) == 1 and not isinstance(shape[0], (int, tuple, list)) and not hasattr(shape[0], "__index__"):
            return _cv.view_dtype(self, shape[0])
        return _sh.view(self, _shape_arg(shape))
    def view_as(self, other): return _sh.view(self, other.shape)
    def reshape_as(self, other): return _sh.reshape(self, other.shape)
    def contiguous(self, memory_format=None): return _sh.contiguous(self)
    def clone(self, *, memory_format=None): return _sh.clone(self, memory_format=memory_format)
    def transpose(self, dim0, dim1): return _sh.transpose(self, dim0, dim1)
    def transpose_(self, dim0, dim1): return self._inplace_view(_sh.transpose(self, dim0, dim1))
    swapdims = transpose
    def swapaxes(self, axis0, axis1): return _sh.transpose(self, axis0, axis1)
    def swapaxes_(self, axis0, axis1): return self._inplace_view(_sh.transpose(self, axis0, axis1))
    def swapdims_(self, dim0, dim1): return self._inplace_view(_sh.transpose(self, dim0, dim1))
    def permute(self, *dims): return _sh.permute(self, _shape_arg(dims))
    def t(self): return _sh.t(self)
    def t_(self): return self._inplace_view(_sh.t(self))
    def adjoint(self): return _ops.complex.adjoint(self)
    def movedim(self, source, destination): return _sh.movedim(self, source, destination)
    moveaxis = movedim
    def squeeze(self, dim=None): return _sh.squeeze(self, dim)
    def squeeze_(self, dim=None): return self._inplace_view(_sh.squeeze(self, dim))
    def unsqueeze(self, dim): return _sh.unsqueeze(self, dim)
    def unsqueeze_(self, dim): return self._inplace_view(_sh.unsqueeze(self, dim))
    def expand(self, *sizes): return _sh.expand(self, _shape_arg(sizes))
    def expand_as(self, other): return _sh.expand(self, other.shape)
    def broadcast_to(self, shape): return _sh.expand(self, tuple(shape))
    def repeat(self, *sizes): return _sh.repeat(self, _shape_arg(sizes))
    def tile(self, dims): return _sh.tile(self, dims)
    def repeat_interleave(self, repeats, dim=None, *, output_size=None): return _sh.repeat_interleave(self, repeats, dim, output_size=output_size)
    def flatten(self, start_dim=0, end_dim=-1): return _sh.flatten(self, start_dim, end_dim)
    def ravel(self): return _sh.flatten(self, 0, -1)
    def unflatten(self, dim, sizes): return _sh.unflatten(self, dim, sizes)
    def split(self, split_size, dim=0): return _sh.split(self, split_size, dim)
    def hsplit(self, split_size_or_sections): return _sh.hsplit(self, split_size_or_sections)
    def vsplit(self, split_size_or_sections): return _sh.vsplit(self, split_size_or_sections)
    def dsplit(self, split_size_or_sections): return _sh.dsplit(self, split_size_or_sections)
    def tensor_split(self, sections=None, dim=0, *, indices=None): return _sh.tensor_split(self, sections, dim, indices=indices)
    def chunk(self, chunks, dim=0): return _sh.chunk(self, chunks, dim)
    def unbind(self, dim=0): return _sh.unbind(self, dim)
    def flip(self, *dims): return _sh.flip(self, _shape_arg(dims))
    def fliplr(self): return _sh.flip(self, (1,))
    def flipud(self): return _sh.flip(self, (0,))
    def roll(self, shifts, dims=None): return _sh.roll(self, shifts, dims)
    def rot90(self, k=1, dims=(0, 1)): return _sh.rot90(self, k, dims)
    def narrow(self, dim, start, length): return _sh.narrow(self, dim, start, length)
    def tril(self, diagonal=0): return _sh.tril(self, diagonal)
    def tril_(self, diagonal=0): return self._inplace(_sh.tril(self, diagonal))
    def triu(self, diagonal=0): return _sh.triu(self, diagonal)
    def triu_(self, diagonal=0): return self._inplace(_sh.triu(self, diagonal))
    def diagonal(self, offset=0, dim1=0, dim2=1): return _sh.diagonal(self, offset, dim1, dim2)
    def diag(self, diagonal=0): return _sh.diag(self, diagonal)
    def diag_embed(self, offset=0, dim1=-2, dim2=-1): return _sh.diag_embed(self, offset, dim1, dim2)
    def unfold(self, dimension, size, step): return _sh.unfold(self, dimension, size, step)

    # ------------------------------------------------------------------ indexing
    def __getitem__(self, index): return _ix.getitem(self, index)
    def __setitem__(self, index, value): self._inplace(_ix.index_put(self, index, value))
    def gather(self, dim, index, *, sparse_grad=False): return _ix.gather(self, dim, index)
    def scatter(self, dim, index, src=None, *, value=None, reduce=None): return _ix.scatter(self, dim, index, src, value=value, reduce=reduce)
    def scatter_(self, dim, index, src=None, *, value=None, reduce=None): return self._inplace(_ix.scatter(self, dim, index, src, value=value, reduce=reduce))
    def scatter_add(self, dim, index, src): return _ix.scatter_add(self, dim, index, src)
    def scatter_add_(self, dim, index, src): return self._inplace(_ix.scatter_add(self, dim, index, src))
    def scatter_reduce(self, dim, index, src, reduce, *, include_self=True): return _ix.scatter_reduce(self, dim, index, src, reduce, include_self=include_self)
    def scatter_reduce_(self, dim, index, src, reduce, *, include_self=True): return self._inplace(_ix.scatter_reduce(self, dim, index, src, reduce, include_self=include_self))
    def index_select(self, dim, index): return _ix.index_select(self, dim, index)
    def index_add(self, dim, index, source, *, alpha=1): return _ix.index_add(self, dim, index, source, alpha=alpha)
    def index_add_(self, dim, index, source, *, alpha=1): return self._inplace(_ix.index_add(self, dim, index, source, alpha=alpha))
    def index_copy(self, dim, index, source): return _ix.index_copy(self, dim, index, source)
    def index_copy_(self, dim, index, source): return self._inplace(_ix.index_copy(self, dim, index, source))
    def index_fill(self, dim, index, value): return _ix.index_fill(self, dim, index, value)
    def index_fill_(self, dim, index, value): return self._inplace(_ix.index_fill(self, dim, index, value))
    def index_put(self, indices, values, accumulate=False): return _ix.index_put(self, tuple(indices), values, accumulate)
    def index_put_(self, indices, values, accumulate=False): return self._inplace(_ix.index_put(self, tuple(indices), values, accumulate))
    def masked_fill(self, mask, value): return _ix.masked_fill(self, mask, value)
    def masked_fill_(self, mask, value): return self._inplace(_ix.masked_fill(self, mask, value))
    def masked_select(self, mask): return _ix.masked_select(self, mask)
    def masked_scatter(self, mask, source): return _ix.masked_scatter(self, mask, source)
    def masked_scatter_(self, mask, source): return self._inplace(_ix.masked_scatter(self, mask, source))
    def take(self, index): return _ix.take(self, index)
    def take_along_dim(self, indices, dim=None): return _ix.take_along_dim(self, indices, dim)
    def nonzero(self, *, as_tuple=False): return _ix.nonzero(self, as_tuple=as_tuple)
    def argwhere(self): return _ix.nonzero(self)
    def where(self, condition, other): return _ix.where(condition, self, other)
    def put_(self, index, source, accumulate=False): return self._inplace(_ix.put(self, index, source, accumulate))
    def put(self, index, source, accumulate=False): return _ix.put(self, index, source, accumulate)
    def index_reduce(self, dim, index, source, reduce, *, include_self=True): return _ops.index_reduce.index_reduce(self, dim, index, source, reduce, include_self=include_self)
    def index_reduce_(self, dim, index, source, reduce, *, include_self=True): return self._inplace(_ops.index_reduce.index_reduce(self, dim, index, source, reduce, include_self=include_self))

    def nonzero_static(self, *, size, fill_value=-1):
        """``nonzero()`` with exactly ``size`` rows: cut, or padded with ``fill_value`` rows."""
        if isinstance(size, bool) or not isinstance(size, int) or size < 0:
            raise RuntimeError("nonzero_static: 'size' must be an non-negative integer")
        found = _ix.nonzero(self)[:size]
        pad = _cr.full((size - found.shape[0], found.shape[1]), fill_value, dtype=found.dtype, device=self.device)
        return _ops.joining.cat([found, pad])

    # ------------------------------------------------------------------ linear algebra
    def matmul(self, other): return _la.matmul(self, other)
    def mm(self, mat2, out_dtype=None): return _la.mm(self, mat2, out_dtype)
    def bmm(self, mat2, out_dtype=None): return _la.bmm(self, mat2, out_dtype)
    def mv(self, vec): return _la.mv(self, vec)
    def dot(self, tensor): return _la.dot(self, tensor)
    def inner(self, other): return _la.inner(self, other)
    def outer(self, vec2): return _la.outer(self, vec2)
    ger = outer
    def addmm(self, mat1, mat2, *, beta=1, alpha=1): return _la.addmm(self, mat1, mat2, beta=beta, alpha=alpha)
    def baddbmm(self, batch1, batch2, *, beta=1, alpha=1): return _la.baddbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    def addbmm(self, batch1, batch2, *, beta=1, alpha=1): return _la.addbmm(self, batch1, batch2, beta=beta, alpha=alpha)
    def addbmm_(self, batch1, batch2, *, beta=1, alpha=1): return self._inplace(_la.addbmm(self, batch1, batch2, beta=beta, alpha=alpha))
    def addmv(self, mat, vec, *, beta=1, alpha=1): return _la.addmv(self, mat, vec, beta=beta, alpha=alpha)
    def addmv_(self, mat, vec, *, beta=1, alpha=1): return self._inplace(_la.addmv(self, mat, vec, beta=beta, alpha=alpha))
    def kron(self, other): return _la.kron(self, other)
    def vdot(self, other): return _la.vdot(self, other)
    def logdet(self): return _la.logdet(self)
    def slogdet(self): return _la.slogdet(self)
    def svd(self, some=True, compute_uv=True): return _ops.decompositions.svd(self, some, compute_uv)
    def qr(self, some=True): return _ops.decompositions.qr(self, some)
    def pinverse(self, rcond=1e-15): return _ops.decompositions.pinverse(self, rcond)
    def cholesky(self, upper=False): return _ops.decompositions.cholesky(self, upper)
    def lu(self, pivot=True, get_infos=False): return _ops.decompositions.lu(self, pivot, get_infos)
    def geqrf(self): return _ops.decompositions.geqrf(self)
    def orgqr(self, input2): return _ops.decompositions.orgqr(self, input2)
    def ormqr(self, input2, input3, left=True, transpose=False): return _ops.decompositions.ormqr(self, input2, input3, left, transpose)
    def matrix_power(self, n): return _ops.matfuncs.matrix_power(self, n)
    def matrix_exp(self): return _ops.matfuncs.matrix_exp(self)
    def cholesky_solve(self, input2, upper=False): return _ops.solvers.cholesky_solve(self, input2, upper)
    def cholesky_inverse(self, upper=False): return _ops.solvers.cholesky_inverse(self, upper)
    def triangular_solve(self, A, upper=True, transpose=False, unitriangular=False): return _ops.solvers.triangular_solve(self, A, upper, transpose, unitriangular)
    def lu_solve(self, LU_data, LU_pivots): return _ops.solvers.lu_solve(self, LU_data, LU_pivots)
    def trace(self): return _la.trace(self)
    def det(self): return _la.det(self)
    def inverse(self): return _la.inverse(self)
    def cross(self, other, dim=None): return _la.cross(self, other, dim)

    # ------------------------------------------------------------------ special functions, statistics
    def gcd(self, other): return _ew.gcd(self, other)
    def lcm(self, other): return _ew.lcm(self, other)
    def ldexp(self, other): return _ew.ldexp(self, other)
    def nextafter(self, other): return _ew.nextafter(self, other)
    def signbit(self): return _ew.signbit(self)
    def frexp(self): return _ew.frexp(self)
    def i0(self): return _ops.bessel.i0(self)
    def lgamma(self): return _ops.gamma.lgamma(self)
    def digamma(self): return _ops.gamma.digamma(self)
    def polygamma(self, n): return _ops.gamma.polygamma(n, self)
    def polygamma_(self, n): return self._inplace(_ops.gamma.polygamma(n, self))
    def mvlgamma(self, p): return _ops.gamma.mvlgamma(self, p)
    def igamma(self, other): return _ops.gamma.igamma(self, other)
    def igammac(self, other): return _ops.gamma.igammac(self, other)
    def diff(self, n=1, dim=-1, prepend=None, append=None): return _ops.differences.diff(self, n, dim, prepend, append)
    def dist(self, other, p=2): return _ops.differences.dist(self, other, p)
    def cov(self, *, correction=1, fweights=None, aweights=None): return _ops.covariance.cov(self, correction=correction, fweights=fweights, aweights=aweights)
    def corrcoef(self): return _ops.covariance.corrcoef(self)
    def histogram(self, bins=100, *, range=None, weight=None, density=False): return _ops.histograms.histogram(self, bins, range=range, weight=weight, density=density)
    def diagflat(self, offset=0): return _ops.construction.diagflat(self, offset)
    def renorm(self, p, dim, maxnorm): return _ops.utilities.renorm(self, p, dim, maxnorm)
    def renorm_(self, p, dim, maxnorm): return self._inplace(_ops.utilities.renorm(self, p, dim, maxnorm))
    def select(self, dim, index): return _ops.scatter_views.select(self, dim, index)
    def select_scatter(self, src, dim, index): return _ops.scatter_views.select_scatter(self, src, dim, index)
    def slice_scatter(self, src, dim=0, start=None, end=None, step=1): return _ops.scatter_views.slice_scatter(self, src, dim, start, end, step)
    def diagonal_scatter(self, src, offset=0, dim1=0, dim2=1): return _ops.scatter_views.diagonal_scatter(self, src, offset, dim1, dim2)
    def is_nonzero(self): return _ops.utilities.is_nonzero(self)
    def is_same_size(self, other): return _ops.utilities.is_same_size(self, other)
    def is_signed(self): return _ops.utilities.is_signed(self)

    # ------------------------------------------------------------------ sorting
    def sort(self, dim=-1, descending=False, stable=False): return _so.sort(self, dim, descending, stable=stable)
    def argsort(self, dim=-1, descending=False, stable=False): return _so.argsort(self, dim, descending, stable=stable)
    def msort(self): return _so.sort(self, 0)[0]
    def topk(self, k, dim=-1, largest=True, sorted=True): return _so.topk(self, k, dim, largest, sorted)
    def kthvalue(self, k, dim=-1, keepdim=False): return _so.kthvalue(self, k, dim, keepdim)
    def unique(self, sorted=True, return_inverse=False, return_counts=False, dim=None): return _so.unique(self, sorted, return_inverse, return_counts, dim)
    def unique_consecutive(self, return_inverse=False, return_counts=False, dim=None): return _so.unique_consecutive(self, return_inverse, return_counts, dim)
    def bincount(self, weights=None, minlength=0): return _so.bincount(self, weights, minlength)
    def histc(self, bins=100, min=0, max=0): return _so.histc(self, bins, min, max)

    # ------------------------------------------------------------------ layout (edunn/sparse.py)
    is_sparse = False  # SparseCOOTensor says True

    @property
    def layout(self):
        from .sparse import strided
        return strided

    def to_sparse(self, sparseDims=None, *, layout=None, blocksize=None, dense_dim=None):
        """A sparse COO copy keeping the nonzero entries (of the first ``sparseDims``
        dimensions, PyTorch's name; all by default)."""
        from . import sparse as _sp
        sparse_dim = sparseDims
        if layout is not None and layout is not _sp.sparse_coo:
            raise RuntimeError(f"to_sparse: edunn has only the sparse_coo layout, got {layout}")
        if blocksize is not None:
            raise RuntimeError("to_sparse: blocksize is for the blocked layouts (BSR/BSC), "
                               "not for sparse_coo")
        if dense_dim is not None:
            sparse_dim = self.ndim - dense_dim
        return _sp.to_sparse(self, sparse_dim)

    # ------------------------------------------------------------------ dtypes and devices
    def to(self, *args, **kwargs): return _cv.to(self, *args, **kwargs)
    def cpu(self, memory_format=None): return _cv.to(self, "cpu")
    def cuda(self, device=None, non_blocking=False, memory_format=None): return _cv.to(self, "cuda" if device is None else device)
    def float(self, memory_format=None): return _cv.to(self, _cv.float32)
    def double(self, memory_format=None): return _cv.to(self, _cv.float64)
    def half(self, memory_format=None): return _cv.to(self, _cv.float16)
    def bfloat16(self, memory_format=None): return _cv.to(self, _cv.bfloat16)
    def long(self, memory_format=None): return _cv.to(self, _cv.int64)
    def int(self, memory_format=None): return _cv.to(self, _cv.int32)
    def short(self, memory_format=None): return _cv.to(self, _cv.int16)
    def char(self, memory_format=None): return _cv.to(self, _cv.int8)
    def byte(self, memory_format=None): return _cv.to(self, _cv.uint8)
    def bool(self, memory_format=None): return _cv.to(self, _cv.bool_)
    def type_as(self, other): return _cv.to(self, other.dtype)
    def share_memory_(self): return _tm_storage().tensor_share_memory_(self)
    def is_shared(self): return _tm_storage().tensor_is_shared(self)
    def pin_memory(self): return self
    def is_pinned(self): return False

    # ------------------------------------------------------------------ filling (in place)
    def zero_(self): return self._inplace(_cr.zeros_like(self))
    def fill_(self, value): return self._inplace(_cr.full_like_value(self, value))
    def copy_(self, src, non_blocking=False): return self._inplace(_cv.copy_from(self, src))
    def fill_diagonal_(self, fill_value, wrap=False): return self._inplace(_ix.fill_diagonal(self, fill_value, wrap))
    def uniform_(self, from_=0.0, to=1.0, *, generator=None): return self._inplace(_cr.uniform_like(self, from_, to, generator=generator))
    def normal_(self, mean=0.0, std=1.0, *, generator=None): return self._inplace(_cr.normal_like(self, mean, std, generator=generator))
    def bernoulli_(self, p=0.5, *, generator=None): return self._inplace(_cr.bernoulli_like(self, p, generator=generator))
    def bernoulli(self, p=None, *, generator=None): return _cr.bernoulli(self, p, generator=generator)
    def random_(self, from_=0, to=None, *, generator=None): return self._inplace(_cr.random_like(self, from_, to, generator=generator))
    def exponential_(self, lambd=1.0, *, generator=None): return self._inplace(_cr.exponential_like(self, lambd, generator=generator))
    def geometric_(self, p, *, generator=None): return self._inplace(_cr.geometric_like(self, p, generator=generator))
    def log_normal_(self, mean=1.0, std=2.0, *, generator=None): return self._inplace(_cr.log_normal_like(self, mean, std, generator=generator))
    def cauchy_(self, median=0.0, sigma=1.0, *, generator=None): return self._inplace(_cr.cauchy_like(self, median, sigma, generator=generator))
    def multinomial(self, num_samples, replacement=False, *, generator=None): return _cr.multinomial(self, num_samples, replacement, generator=generator)
    def new_tensor(self, data, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False): return _cr.tensor(data, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)
    def new_zeros(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False): return _cr.zeros(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)
    def new_ones(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False): return _cr.ones(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)
    def new_full(self, size, fill_value, *, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False): return _cr.full(size, fill_value, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)
    def new_empty(self, *size, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False): return _cr.empty(*size, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)
    def new_empty_strided(self, size, stride, dtype=None, device=None, requires_grad=False, layout=None, pin_memory=False): return _ops.utilities.empty_strided(size, stride, dtype=dtype or self.dtype, device=device or self.device, requires_grad=requires_grad, layout=layout, pin_memory=pin_memory)

    def _inplace_view(self, result) -> Any:
        """In-place shape changes (``t_``, ``unsqueeze_``): this tensor takes the new shape."""
        self._check_inplace()
        self._data = result._data
        if self._base is not None and result._base is self._base:  # still a view, one step further
            self._view_chain, self._view_version = result._view_chain, result._view_version
        if result.requires_grad:
            self.grad_fn, self._output_nr = result.grad_fn, result._output_nr
        from .autograd import grad_mode
        if grad_mode.state.op_hooks:  # forward-mode AD may be on: the tangent follows the view
            from .autograd.forward_ad import _after_inplace_view
            _after_inplace_view(self, result)
        return self


def _nn_functional() -> Any:
    """``nn.functional`` (hardshrink, prelu live there), imported late: nn sits above tensors."""
    from .nn import functional
    return functional


def _tensor_class() -> Any:
    from .tensor import Tensor
    return Tensor


def _shape_arg(args: tuple) -> tuple:
    """``x.reshape(2, 3)``, ``x.reshape((2, 3))`` and ``x.reshape([2, 3])`` all mean (2, 3)."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return tuple(args[0])
    return args


# The in-place forms ``x.op_(...)`` that are nothing but ``x._inplace(x.op(...))``: made here from
# the out-of-place method, whose signature they keep (``functools.wraps``), instead of one more
# line each above.  ``_inplace`` casts the result to ``x``'s dtype (``x.eq_(y)`` keeps a float x).
_INPLACE_FORMS = (
    "gcd", "lcm", "ldexp", "nextafter", "i0", "lgamma", "digamma", "mvlgamma", "igamma", "igammac",
    "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctan2",
    "arctanh", "asin", "asinh", "atan", "atanh", "cosh", "sinh", "tan", "erf", "erfc", "exp2",
    "log2", "log10", "logit", "fix", "frac", "sgn", "copysign", "hypot", "xlogy", "cumprod",
    "addmm", "baddbmm", "eq", "ne", "not_equal", "lt", "less", "le", "less_equal", "gt", "greater",
    "ge", "greater_equal", "logical_and", "logical_or", "logical_xor", "logical_not",
    "bitwise_and", "bitwise_or", "bitwise_xor", "bitwise_not", "deg2rad", "rad2deg",
    "bitwise_left_shift", "bitwise_right_shift", "hardshrink")


def _inplace_form(method: Any) -> Any:
    @functools.wraps(method)
    def inplace(self, *args, **kwargs):
        return self._inplace(method(self, *args, **kwargs))
    inplace.__name__ = inplace.__qualname__ = method.__name__ + "_"
    return inplace


for _name in _INPLACE_FORMS:
    setattr(TensorMethods, _name + "_", _inplace_form(getattr(TensorMethods, _name)))
del _name
