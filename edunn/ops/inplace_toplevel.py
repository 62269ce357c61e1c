"""``torch.abs_``, ``torch.clamp_``, ``torch.exp_`` ...: the top-level in-place functions.

PyTorch exports, next to many out-of-place functions ``torch.f(input, ...)``, an in-place twin
``torch.f_(input, ...)`` that overwrites ``input`` and returns it -- exactly what the method
``input.f_(...)`` does.  edunn builds every such method once (``Tensor._inplace``, lesson 02:
compute out of place, write the values back into ``input``'s storage, bump its version, take
over its place in the graph), so each top-level function here is one line, ``input.f_(...)``.

They are generated from one table, ``_SIGNATURES``: for each name, the arguments after
``input`` as PyTorch's native schema gives them (``aten::clamp_(Tensor(a!) self, Scalar? min=None,
Scalar? max=None)``), so ``inspect.signature(edunn.clamp_)`` reads like torch's.
"""
from __future__ import annotations

import inspect

from ..tensor import Tensor

_P = inspect.Parameter
_POS, _KW = _P.POSITIONAL_OR_KEYWORD, _P.KEYWORD_ONLY
_REQ = _P.empty

# name -> the parameters after ``input``: (name, kind, default)
_UNARY = ("abs", "acos", "acosh", "arccos", "arccosh", "arcsin", "arcsinh", "arctan", "arctanh",
          "asin", "asinh", "atan", "atanh", "ceil", "cos", "cosh", "deg2rad", "detach", "erf",
          "erfc", "exp2", "exp", "expm1", "fix", "floor", "frac", "i0", "log10", "log1p", "log2",
          "log", "neg", "negative", "rad2deg", "reciprocal", "rsqrt", "sigmoid", "sin", "sinc",
          "sinh", "sqrt", "square", "tan", "tanh", "trunc")
_SIGNATURES: dict = {name: () for name in _UNARY}
_SIGNATURES.update({
    "round": (("decimals", _KW, 0),),
    "clamp": (("min", _POS, None), ("max", _POS, None)),
    "clip": (("min", _POS, None), ("max", _POS, None)),
    "clamp_min": (("min", _POS, _REQ),),
    "clamp_max": (("max", _POS, _REQ),),
    "gcd": (("other", _POS, _REQ),),
    "lcm": (("other", _POS, _REQ),),
    "ldexp": (("other", _POS, _REQ),),
    "xlogy": (("other", _POS, _REQ),),
    "logit": (("eps", _POS, None),),
    "nan_to_num": (("nan", _POS, 0.0), ("posinf", _POS, None), ("neginf", _POS, None)),
    "addmv": (("mat", _POS, _REQ), ("vec", _POS, _REQ), ("beta", _KW, 1), ("alpha", _KW, 1)),
    "index_put": (("indices", _POS, _REQ), ("values", _POS, _REQ), ("accumulate", _POS, False)),
})


def _make(name: str, params: tuple):
    method = name + "_"
    signature = inspect.Signature(
        [_P("input", _POS, annotation=Tensor)]
        + [_P(p, kind, default=default) for p, kind, default in params],
        return_annotation=Tensor)

    def inplace(*args, **kwargs):
        bound = signature.bind(*args, **kwargs)
        input = bound.arguments.pop("input")
        if not isinstance(input, Tensor):
            raise TypeError(f"{method}(): argument 'input' (position 1) must be Tensor, "
                            f"not {type(input).__name__}")
        return getattr(input, method)(**bound.arguments)

    inplace.__name__ = inplace.__qualname__ = method
    inplace.__module__ = __name__
    inplace.__signature__ = signature
    inplace.__doc__ = (f"In-place :func:`edunn.{name}`: ``input.{method}(...)``, overwriting and "
                       f"returning ``input``.")
    return inplace


__all__ = []
for _name, _params in _SIGNATURES.items():
    globals()[_name + "_"] = _make(_name, _params)
    __all__.append(_name + "_")
del _name, _params
