"""Pytrees for ``edunn.func``: nested tuples, lists and dicts whose leaves are tensors.

``torch.func`` transforms accept and return *pytrees* (``torch.utils._pytree``): a dict of
parameters, a tuple of ``(inputs, targets)``, a list of outputs.  A transform flattens the tree
into a list of leaves, works on the leaves, and rebuilds the same structure around the results.
This module is that machinery, kept small: tuples (including namedtuples), lists and dicts are
containers; anything else (a tensor, a number, ``None``) is a leaf.
"""
from __future__ import annotations

from typing import Any, Callable


class TreeSpec:
    """The shape of a pytree without its leaves: a container type, its keys (for dicts, or the
    namedtuple class) and the specs of its children.  ``TreeSpec(None, ...)`` is a leaf."""

    __slots__ = ("type", "context", "children")

    def __init__(self, type_: Any, context: Any, children: list):
        self.type, self.context, self.children = type_, context, children

    @property
    def num_leaves(self) -> int:
        return 1 if self.type is None else sum(c.num_leaves for c in self.children)

    def is_leaf(self) -> bool:
        return self.type is None

    def __eq__(self, other: Any) -> bool:
        return (isinstance(other, TreeSpec) and self.type == other.type
                and self.context == other.context and self.children == other.children)

    def __repr__(self) -> str:
        """As ``torch.utils._pytree.treespec_pprint``: ``(*, [*, *])``, ``{'w': *}``."""
        if self.type is None:
            return "*"
        inner = [repr(c) for c in self.children]
        if self.type is dict:
            return "{" + ", ".join(f"{k!r}: {v}" for k, v in zip(self.context, inner)) + "}"
        if self.type is list:
            return "[" + ", ".join(inner) + "]"
        if self.type is tuple and self.context is None:
            return "(" + ", ".join(inner) + ("," if len(inner) == 1 else "") + ")"
        return f"{self.context.__name__}(" + ", ".join(inner) + ")"


def _children(tree: Any) -> tuple[Any, Any, list] | None:
    """``(type, context, children)`` of a container, ``None`` for a leaf."""
    if isinstance(tree, tuple):
        if hasattr(tree, "_fields"):  # a namedtuple keeps its class to rebuild itself
            return tuple, type(tree), list(tree)
        return tuple, None, list(tree)
    if isinstance(tree, list):
        return list, None, list(tree)
    if isinstance(tree, dict):
        keys = list(tree.keys())
        return dict, keys, [tree[k] for k in keys]
    return None


def tree_flatten(tree: Any) -> tuple[list, TreeSpec]:
    """``(leaves, spec)``, leaves in depth-first order (dicts in insertion order)."""
    leaves: list = []

    def walk(node: Any) -> TreeSpec:
        parts = _children(node)
        if parts is None:
            leaves.append(node)
            return TreeSpec(None, None, [])
        typ, ctx, kids = parts
        return TreeSpec(typ, ctx, [walk(k) for k in kids])

    return leaves, walk(tree)


def tree_unflatten(leaves: list, spec: TreeSpec) -> Any:
    """The inverse of :func:`tree_flatten`."""
    it = iter(leaves)

    def build(s: TreeSpec) -> Any:
        if s.type is None:
            return next(it)
        kids = [build(c) for c in s.children]
        if s.type is dict:
            return dict(zip(s.context, kids))
        if s.type is list:
            return kids
        return s.context(*kids) if s.context is not None else tuple(kids)

    return build(spec)


def tree_map(fn: Callable, tree: Any) -> Any:
    leaves, spec = tree_flatten(tree)
    return tree_unflatten([fn(x) for x in leaves], spec)


def tree_map_only(kind: type, fn: Callable, tree: Any) -> Any:
    """Apply ``fn`` to the leaves that are instances of ``kind``, keep the others."""
    return tree_map(lambda x: fn(x) if isinstance(x, kind) else x, tree)


def broadcast_prefix(prefix: Any, tree: Any) -> list | None:
    """The leaves of ``prefix`` repeated over ``tree``'s leaves: ``in_dims=(0, None)`` for
    ``args=(x, {'w': w, 'b': b})`` gives ``[0, None, None]``.  A non-container node of the
    prefix (an int, ``None``) covers the whole subtree under it.  ``None`` if the structures do
    not match (PyTorch's ``_broadcast_to_and_flatten``)."""
    out: list = []

    def walk(p: Any, t: Any) -> bool:
        pp, tp = _children(p), _children(t)
        if pp is None:
            out.extend([p] * tree_flatten(t)[1].num_leaves)
            return True
        if tp is None or pp[0] != tp[0] or len(pp[2]) != len(tp[2]):
            return False
        if pp[0] is dict:
            if set(pp[1]) != set(tp[1]):
                return False
            return all(walk(p[k], t[k]) for k in tp[1])
        return all(walk(a, b) for a, b in zip(pp[2], tp[2]))

    return out if walk(prefix, tree) else None
