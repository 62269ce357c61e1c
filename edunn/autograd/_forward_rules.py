"""Forward-mode derivative (JVP) rules of the common built-in ops, one entry per op class.

Forward-mode AD (``forward_ad.py``) carries, next to each value ``x``, a *tangent* ``ẋ`` (the
directional derivative along the direction the user chose).  For an op ``y = f(a, b, ...)`` it
needs ``ẏ = ∂f/∂a · ȧ + ∂f/∂b · ḃ + ...``: the Jacobian times the tangents, computed *without*
ever forming the Jacobian.  PyTorch writes one such formula per op (``result: ...`` lines in
``tools/autograd/derivatives.yaml``); this table holds ours for the ops a network uses most.

A rule is ``rule(cls, args, kwargs, tangents, out) -> tangent or tuple of tangents`` where
``tangents`` lines up with ``args`` (``None`` where an argument has no tangent) and ``out`` is
what the op returned.  Three families cover most ops:

* **linear ops are their own JVP**: ``reshape``, ``permute``, indexing, ``sum``, ``mean``, ``cat``
  ... are linear in their tensor inputs, so ``ẏ = f(ȧ, ...)`` -- the same op applied to the
  tangents (zeros standing in for inputs without one, numbers becoming 0: ``a + 2`` gives
  ``ȧ + 0``);
* **multilinear ops follow the product rule**: ``a * b``, ``a @ b``, ``einsum``: ``ẏ = f(ȧ, b) +
  f(a, ḃ)``;
* **elementwise functions** multiply by their derivative, written with the output where that is
  cheaper (``exp``: ``ẏ = y ȧ``; ``tanh``: ``ẏ = (1 - y²) ȧ``).

Every rule is written with ordinary tensor ops, so when grad mode is on the tangent is itself
recorded and can be differentiated in reverse mode (forward-over-reverse and back).

Ops not in the table are handled by ``forward_ad._fallback`` (the double-vjp trick on the op's
own ``backward``); the table only makes the common ones cheap.  The table is built on first use:
the ops live in a layer above ``autograd``.
"""
from __future__ import annotations

import math
from typing import Any, Callable

_RULES: dict = {}


def rules() -> dict:
    """The table ``{op class: rule}``, built the first time forward-mode AD needs it."""
    if not _RULES:
        _build()
    return _RULES


def _is_tensor(a: Any) -> bool:
    from ..tensor import Tensor
    return isinstance(a, Tensor)


def _zero_for(a: Any) -> Any:
    """The tangent of an input that has none: zeros shaped like a tensor, 0 for a number."""
    if _is_tensor(a):
        from ..ops.creation import zeros_like
        return zeros_like(a)
    return 0


def _linear(*positions: int, rest: int | None = None) -> Callable:
    """Rule of an op linear in the arguments at ``positions`` (and every argument from ``rest``
    on, for ``*tensors``): the op itself, applied to the tangents."""
    def rule(cls, args, kwargs, tangents, out):
        new = list(args)
        places = list(positions) + (list(range(rest, len(args))) if rest is not None else [])
        for i in places:
            if i < len(args):
                new[i] = tangents[i] if tangents[i] is not None else _zero_for(args[i])
        return cls.apply(*new, **kwargs)
    return rule


def _product(*positions: int) -> Callable:
    """Rule of an op linear in each of the arguments at ``positions`` separately (``a * b``,
    ``a @ b``): the sum of the op with one argument at a time replaced by its tangent."""
    def rule(cls, args, kwargs, tangents, out):
        total = None
        for i in positions:
            if i < len(args) and tangents[i] is not None:
                new = list(args)
                new[i] = tangents[i]
                term = cls.apply(*new, **kwargs)
                total = term if total is None else total + term
        return total
    return rule


def _einsum(cls, args, kwargs, tangents, out):
    """``Einsum(subs, out, *operands)`` is multilinear in its operands."""
    return _product(*range(2, len(args)))(cls, args, kwargs, tangents, out)


def _unary(derivative: Callable) -> Callable:
    """Rule of an elementwise ``y = f(x)``: ``ẏ = f'(x) ẋ`` with ``derivative(x, y) = f'(x)``."""
    def rule(cls, args, kwargs, tangents, out):
        return tangents[0] * derivative(args[0], out)
    return rule


def _add(sign: int) -> Callable:
    """``Add``/``Sub(a, b, alpha)``: ``ẏ = ȧ ± alpha ḃ``."""
    def rule(cls, args, kwargs, tangents, out):
        ta, tb = tangents[0], tangents[1]
        alpha = args[2] if len(args) > 2 else kwargs.get("alpha", 1)
        if tb is not None:
            tb = tb * (sign * alpha) if (sign * alpha) != 1 else tb
        if ta is None:
            return tb
        return ta if tb is None else ta + tb
    return rule


def _div(cls, args, kwargs, tangents, out):
    """``y = a / b``: ``ẏ = ȧ / b - y ḃ / b = (ȧ - y ḃ) / b``."""
    b = args[1]
    ta, tb = tangents[0], tangents[1]
    num = ta
    if tb is not None:
        num = -(out * tb) if num is None else num - out * tb
    return num / b


def _pow(cls, args, kwargs, tangents, out):
    """``y = a ** b``: ``ẏ = b a^(b-1) ȧ + y log(a) ḃ``, with PyTorch's zeros where ``b == 0``
    (for ȧ) and where ``a == 0`` and ``b >= 0`` (for ḃ), instead of ``0 * inf``."""
    from ..ops.elementwise import _where
    a, b = args[0], args[1]
    ta, tb = tangents[0], tangents[1]
    total = None
    if ta is not None:
        if _is_tensor(b):
            total = _where((b == 0)._data, 0.0, ta * b * a ** (b - 1))
        else:
            total = ta * 0.0 if b == 0 else ta * (b * a ** (b - 1))
    if tb is not None:
        if _is_tensor(a):
            term = _where(((a == 0) & (b >= 0))._data, 0.0, tb * out * a.log())
        else:
            term = tb * (out * (math.log(a) if a > 0 else 0.0 if a == 0 else math.nan))
        total = term if total is None else total + term
    return total


def _where_rule(cls, args, kwargs, tangents, out):
    """``where(cond, a, b)`` is linear in ``(a, b)``; a number branch has tangent 0."""
    ta = tangents[1] if tangents[1] is not None else 0.0
    tb = tangents[2] if tangents[2] is not None else 0.0
    if not _is_tensor(ta) and not _is_tensor(tb):
        return None
    return cls.apply(args[0], ta, tb)


def _linear_layer(cls, args, kwargs, tangents, out):
    """``y = x W^T + b``: ``ẏ = ẋ W^T + x Ẇ^T + ḃ``."""
    x, w, b = args
    tx, tw, tb = tangents
    total = None
    if tx is not None:
        total = cls.apply(tx, w, tb)
        tb = None
    if tw is not None:
        term = cls.apply(x, tw, tb)
        total = term if total is None else total + term
        tb = None
    if tb is not None:
        total = tb
    return total


def _softmax(cls, args, kwargs, tangents, out):
    """``y = softmax(x)``: ``ẏ = y (ẋ - Σ y ẋ)`` along ``dim``."""
    dim = args[1]
    t = tangents[0]
    return out * (t - (out * t).sum(dim, keepdim=True))


def _log_softmax(cls, args, kwargs, tangents, out):
    """``y = log_softmax(x)``: ``ẏ = ẋ - Σ softmax(x) ẋ`` along ``dim``."""
    dim = args[1]
    t = tangents[0]
    return t - (out.exp() * t).sum(dim, keepdim=True)


def _abs(cls, args, kwargs, tangents, out):
    """``y = |x|``: ``ẏ = sign(x) ẋ``; for complex ``x``, ``ẏ = Re(conj(sgn x) ẋ)``."""
    x, t = args[0], tangents[0]
    if x.is_complex():
        return (x.sgn().conj() * t).real
    return t * x.sign()


def _pad(cls, args, kwargs, tangents, out):
    """Constant padding: the tangent is padded with zeros (the fill value is a constant)."""
    return cls.apply(tangents[0], args[1], 0.0)


def _relu(cls, args, kwargs, tangents, out):
    """``y = max(x, 0)``: the tangent passes where ``y > 0`` (PyTorch's ``threshold_backward``)."""
    from ..ops.elementwise import _where
    return _where((out > 0)._data, tangents[0], 0.0)


def _build() -> None:
    from ..ops import (elementwise as ew, unary as un, shape as sh, indexing as ix,
                      reduction as red, joining as jn, linalg as la, softmax as sm,
                      broadcast as bc, conversion as cv, scan as sc, padding as pd,
                      copy_slices as cs, strided as st)
    import importlib
    lin = importlib.import_module("edunn.nn.functional.linear")  # the module, not the function
    ln2, ln10 = math.log(2.0), math.log(10.0)
    table = {
        # arithmetic
        ew.Add: _add(1), ew.Sub: _add(-1), ew.Mul: _product(0, 1), ew.Div: _div,
        ew.Neg: _linear(0), ew.Pow: _pow,
        # elementwise functions: f'(x) from x or from y = f(x)
        ew.Exp: _unary(lambda x, y: y),
        ew.Log: _unary(lambda x, y: 1 / x),
        ew.Tanh: _unary(lambda x, y: 1 - y * y),
        ew.Sigmoid: _unary(lambda x, y: y * (1 - y)),
        ew.ReLU: _relu,
        un.Exp2: _unary(lambda x, y: y * ln2),
        un.Expm1: _unary(lambda x, y: y + 1),
        un.Log2: _unary(lambda x, y: 1 / (x * ln2)),
        un.Log10: _unary(lambda x, y: 1 / (x * ln10)),
        un.Log1p: _unary(lambda x, y: 1 / (x + 1)),
        un.Sqrt: _unary(lambda x, y: 0.5 / y),
        un.Rsqrt: _unary(lambda x, y: -0.5 * y * y * y),
        un.Square: _unary(lambda x, y: 2 * x),
        un.Reciprocal: _unary(lambda x, y: -(y * y)),
        un.Sin: _unary(lambda x, y: x.cos()),
        un.Cos: _unary(lambda x, y: -x.sin()),
        un.Tan: _unary(lambda x, y: 1 + y * y),
        un.Sinh: _unary(lambda x, y: x.cosh()),
        un.Cosh: _unary(lambda x, y: x.sinh()),
        un.Atan: _unary(lambda x, y: 1 / (1 + x * x)),
        un.Asin: _unary(lambda x, y: (1 - x * x).rsqrt()),
        un.Abs: _abs,
        un.Erf: _unary(lambda x, y: (-(x * x)).exp() * (2 / math.sqrt(math.pi))),
        un.Deg2Rad: _linear(0), un.Rad2Deg: _linear(0),
        # linear algebra
        la.MatMul: _product(0, 1), la.Einsum: _einsum, lin.Linear: _linear_layer,
        # shapes and views: the same op on the tangent
        sh.Reshape: _linear(0), sh.Permute: _linear(0), sh.Expand: _linear(0),
        sh.Clone: _linear(0), sh.Contiguous: _linear(0), sh.Flip: _linear(0), sh.Roll: _linear(0),
        sh.Repeat: _linear(0), sh.Tri: _linear(0), sh.Diagonal: _linear(0), sh.Unfold: _linear(0),
        bc.SumTo: _linear(0), bc.BroadcastTo: _linear(0),
        st.AsStrided: st.as_strided_jvp, st.Restride: _linear(0),
        cv.Cast: _linear(0), cv.ToDevice: _linear(0), cv.CopyFrom: _linear(0),
        ix.Index: _linear(0), ix.BasicIndex: _linear(0), ix.IndexPut: _linear(0, 1),
        ix.Where: _where_rule, ew._Where: _where_rule,
        jn.Cat: _linear(rest=2), jn.SplitAt: _linear(0), jn.Unbind: _linear(0),
        pd.ConstantPad: _pad,
        # an in-place write into a view: forward_ad._after_inplace moves the tangents itself
        cs.CopySlices: lambda cls, args, kwargs, tangents, out: None,
        # reductions and scans
        red.Sum: _linear(0), red.Mean: _linear(0), red._TakeAlong: _linear(0),
        sc.CumSum: _linear(0), sc._Flip: _linear(0),
        # softmax
        sm.Softmax: _softmax, sm.LogSoftmax: _log_softmax,
    }
    _RULES.update(table)
