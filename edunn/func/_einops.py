"""``rearrange``: einops' ``rearrange``, which PyTorch ships natively as ``torch.func.rearrange``
(no ``einops`` package needed; PyTorch 2.13 parses the pattern itself and executes it with
first-class dimensions).

A pattern names the axes of the input on the left and says on the right how to lay them out::

    rearrange(images, "b h w c -> b c h w")                         # permute
    rearrange(images, "b h w c -> (b h) w c")                       # merge axes
    rearrange(images, "b (h1 h) (w1 w) c -> (b h1 w1) h w c", h1=2, w1=2)  # split, then merge
    rearrange(x, "... c -> c ...")                                  # any leading axes
    rearrange(x, "a 1 b -> a b"), rearrange(x, "a b -> a 1 b")      # squeeze / unsqueeze

The language (PyTorch's ``functorch.einops._parsing``, from einops): axis names are Python
identifiers (not starting or ending with ``_``); ``( ... )`` groups axes into one dimension (one
level only); ``...`` stands for the remaining axes (at most once, not in a group on the left);
``1`` is a unit axis; other numbers are not allowed in ``rearrange``.  Every name must appear on
both sides.  A list or tuple of tensors is stacked first (a new leading axis).

How it executes, in three array-shape steps: reshape the input so that every *elementary* axis
is its own dimension (splitting groups, whose unknown length is inferred from the others), permute
those dimensions into the right side's order, and reshape to the right side's groups.  Each step
is an ordinary differentiable edunn op.

Differences from PyTorch 2.13: a size that cannot be bound (two unknown lengths in one group, a
length that does not divide) raises ``ValueError`` here, ``DimensionBindError`` there; and several
unit axes on the right (``"a 1 b -> b 1 a 1"``), which PyTorch's first-class-dims path fails on,
work here as in einops.
"""
from __future__ import annotations

import keyword
import math
import warnings

from ..ops.joining import stack
from ..tensor import Tensor

_ELLIPSIS = "\u2026"  # '...' is replaced by this single symbol while parsing, as einops does


class _Expression:
    """One side of a pattern: ``composition`` is a list of groups (lists of axis names; ``[]`` is
    a unit axis) or the ellipsis marker; ``identifiers`` the set of names used."""

    def __init__(self, expression: str):
        self.has_ellipsis = False
        self.has_ellipsis_parenthesized: bool | None = None
        self.identifiers: set = set()
        self.has_non_unitary_anonymous_axes = False
        self.composition: list = []
        if "." in expression:
            if "..." not in expression:
                raise ValueError("Expression may contain dots only inside ellipsis (...)")
            if expression.count("...") != 1 or expression.count(".") != 3:
                raise ValueError("Expression may contain dots only inside ellipsis (...); only one "
                                 "ellipsis for tensor ")
            expression = expression.replace("...", _ELLIPSIS)
            self.has_ellipsis = True
        group: list | None = None
        current = ""

        def add(name: str) -> None:
            if name in self.identifiers:
                raise ValueError(f"Indexing expression contains duplicate dimension '{name}'")
            if name == _ELLIPSIS:
                self.identifiers.add(_ELLIPSIS)
                (self.composition if group is None else group).append(_ELLIPSIS)
                self.has_ellipsis_parenthesized = group is not None
                return
            if name.isdecimal():
                if int(name) == 1:
                    if group is None:
                        self.composition.append([])
                    return
                if int(name) < 1:
                    raise ValueError(f"Anonymous axis should have positive length, not {int(name)}")
                self.has_non_unitary_anonymous_axes = True
                return
            ok, reason = _check_axis_name(name)
            if not ok:
                raise ValueError(f"Invalid axis identifier: {name}\n{reason}")
            self.identifiers.add(name)
            (self.composition if group is None else group).append(name if group is not None else [name])

        for char in expression:
            if char in "() ":
                if current:
                    add(current)
                current = ""
                if char == "(":
                    if group is not None:
                        raise ValueError("Axis composition is one-level (brackets inside brackets not allowed)")
                    group = []
                elif char == ")":
                    if group is None:
                        raise ValueError("Brackets are not balanced")
                    self.composition.append(group)
                    group = None
            elif char.isalnum() or char in ("_", _ELLIPSIS):
                current += char
            else:
                raise ValueError(f"Unknown character '{char}'")
        if group is not None:
            raise ValueError(f"Imbalanced parentheses in expression: '{expression}'")
        if current:
            add(current)


def _check_axis_name(name: str) -> tuple[bool, str]:
    if not name.isidentifier():
        return False, "not a valid python identifier"
    if name[0] == "_" or name[-1] == "_":
        return False, "axis name should should not start or end with underscore"
    if keyword.iskeyword(name):
        warnings.warn(f"It is discouraged to use axes names that are keywords: {name}", RuntimeWarning)
    if name == "axis":
        warnings.warn("It is discouraged to use 'axis' as an axis name and will raise an error in future",
                      FutureWarning)
    return True, ""


def _parse(pattern: str, axes_lengths: dict) -> tuple[_Expression, _Expression]:
    try:
        left_str, right_str = pattern.split("->")
    except ValueError:
        raise ValueError("Pattern must contain a single '->' separator") from None
    if _ELLIPSIS in axes_lengths:
        raise ValueError(f"'{_ELLIPSIS}' is not an allowed axis identifier")
    left, right = _Expression(left_str), _Expression(right_str)
    if not left.has_ellipsis and right.has_ellipsis:
        raise ValueError(f"Ellipsis found in right side, but not left side of a pattern {pattern}")
    if left.has_ellipsis and left.has_ellipsis_parenthesized:
        raise ValueError(f"Ellipsis is parenthesis in the left side is not allowed: {pattern}")
    for length in axes_lengths.values():
        if type(length) is not int:
            raise TypeError(f"rearrange axis lengths must be integers, got: {type(length)}")
    if left.has_non_unitary_anonymous_axes or right.has_non_unitary_anonymous_axes:
        raise ValueError("rearrange only supports unnamed axes of size 1")
    difference = left.identifiers ^ right.identifiers
    if difference:
        raise ValueError(f"Identifiers only on one side of rearrange expression (should be on both): {difference}")
    unmatched = set(axes_lengths) - left.identifiers
    if unmatched:
        raise ValueError(f"Identifiers not found in rearrange expression: {unmatched}")
    return left, right


def _expand_ellipsis(composition: list, names: list) -> list:
    """Replace the ellipsis by one group per axis it covers (a parenthesized one on the right
    stays a single group)."""
    out = []
    for g in composition:
        if g == _ELLIPSIS:
            out.extend([n] for n in names)
        elif _ELLIPSIS in g:
            i = g.index(_ELLIPSIS)
            out.append(g[:i] + names + g[i + 1:])
        else:
            out.append(g)
    return out


def rearrange(tensor: "Tensor | list[Tensor] | tuple[Tensor, ...]", pattern: str,
              **axes_lengths: int) -> Tensor:
    """Reorder, merge, split, squeeze or unsqueeze axes as ``pattern`` says (see the module
    docstring).  ``axes_lengths`` gives the lengths of split axes: ``h1=2``."""
    if not isinstance(tensor, Tensor):
        tensor = stack(tensor)
    left, right = _parse(pattern, axes_lengths)
    ndim = tensor.dim()
    n_left = len(left.composition)
    if left.has_ellipsis:
        n_ell = ndim - (n_left - 1)
        if n_left - 1 > ndim:
            raise ValueError(f"Number of dimensions in pattern ({n_left - 1}) must be less than or equal to "
                             f"the number of dimensions in the tensor ({ndim})")
    else:
        n_ell = 0
        if n_left != ndim:
            raise ValueError(f"Number of dimensions in pattern ({n_left}) must be equal to the number of "
                             f"dimensions in the tensor ({ndim})")
    ell_names = [f"{_ELLIPSIS}{i}" for i in range(n_ell)]
    lhs = _expand_ellipsis(left.composition, ell_names)
    rhs = _expand_ellipsis(right.composition, ell_names)

    lengths: dict[str, int] = {}
    for group, size in zip(lhs, tensor.shape):
        known = [axes_lengths[a] for a in group if a in axes_lengths]
        unknown = [a for a in group if a not in axes_lengths]
        if len(unknown) > 1:
            raise ValueError(f"Could not infer sizes for {set(unknown)} in '{pattern}': give them as "
                             "keyword arguments")
        prod = math.prod(known)
        if unknown:
            if prod == 0 or size % prod:
                raise ValueError(f"Shape mismatch, can't divide axis of length {size} in chunks of {prod}")
            lengths[unknown[0]] = size // prod
        elif prod != size:
            raise ValueError(f"Shape mismatch, {size} != {prod} for the group {group or '1'} in '{pattern}'")
        lengths.update({a: axes_lengths[a] for a in group if a in axes_lengths})

    elementary = [a for group in lhs for a in group]
    result = tensor.reshape(tuple(lengths[a] for a in elementary))
    order = [elementary.index(a) for group in rhs for a in group]
    if order != list(range(len(order))):
        result = result.permute(order)
    return result.reshape(tuple(math.prod(lengths[a] for a in group) for group in rhs))
