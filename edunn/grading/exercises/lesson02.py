"""Graders of lesson 02 (autograd): ops as ``Function`` subclasses, ``sum_to``, the topological
order of the graph, and a small backward pass.

References: the library's own classes for the ops (``edunn.ops.elementwise.Mul`` ...) and
``edunn.ops.broadcast.sum_to``; for ``topological_order`` and ``backward`` the reference is
written out below, in the few lines a learner writes, next to the engine it mirrors
(``edunn/autograd/engine.py``).

The graders compare with edunn's reference values and gradients on random float64 inputs, run
``gradcheck``, and recognise the usual mistakes (the input instead of the output in ``Tanh``'s
derivative, a gradient that forgot the incoming ``grad``, a recursive sort that overflows the
stack, gradients that overwrite instead of adding up).
"""

from __future__ import annotations

from typing import Any

from edunn.grading import Fail, exercise
from edunn.grading.checker import describe_exception

ELEMENTWISE = ("edunn.ops.elementwise.Mul", "edunn.ops.elementwise.Exp", "edunn.ops.elementwise.Tanh")


# ---------------------------------------------------------------------------- references


def topological_order(root: Any) -> list:
    """The nodes (``grad_fn`` objects) of the graph that produced ``root``, each one before the
    nodes it depends on (its ``next_functions``).  Leaves (``AccumulateGrad``) are left out.

    An iterative depth-first search with an explicit stack: a node is appended once all its
    inputs have been appended (post-order), and the list is reversed at the end.
    """
    from edunn.autograd.function import Function

    if root.grad_fn is None:
        return []
    post_order: list = []
    visited: set = set()
    stack = [(root.grad_fn, False)]
    while stack:
        node, inputs_done = stack.pop()
        if inputs_done:
            post_order.append(node)
            continue
        if node in visited:
            continue
        visited.add(node)
        stack.append((node, True))
        for child, _ in node.next_functions:
            if isinstance(child, Function) and child not in visited:
                stack.append((child, False))
    return post_order[::-1]


def backward(root: Any) -> None:
    """Accumulate ``d root / d leaf`` into the ``.grad`` of every leaf that requires grad.

    ``root`` must be a one-element tensor.  Each node's gradient is complete when its turn comes
    (reverse topological order), gradients arriving from several paths are added, and a gradient
    that broadcasting widened is summed back to its input's shape with ``sum_to``.
    """
    import edunn
    from edunn.autograd.function import Function
    from edunn.ops.broadcast import sum_to

    if root.grad_fn is None:
        raise RuntimeError("backward: root has no grad_fn (it does not depend on any tensor that requires grad)")
    with edunn.no_grad():
        grads = {root.grad_fn: edunn.ones_like(root)}
        for node in topological_order(root):
            grad = grads.pop(node)
            grads_in = type(node).backward(node, grad)
            if not isinstance(grads_in, tuple):
                grads_in = (grads_in,)
            for g, edge in zip(grads_in, node._next):
                if edge is None or g is None:
                    continue
                target, _, shape, _ = edge
                if tuple(g.shape) != tuple(shape):
                    g = sum_to(g, shape)
                if isinstance(target, Function):
                    grads[target] = g if target not in grads else grads[target] + g
                elif target.grad is None:
                    target.grad = g.clone() if hasattr(g, "clone") else g * 1
                else:
                    target.grad = target.grad + g


# ---------------------------------------------------------------------------- helpers


def _shape(x: Any) -> tuple:
    return tuple(x.shape)


def _fmt(shape: tuple) -> str:
    return "(" + ", ".join(str(s) for s in shape) + ("," if len(shape) == 1 else "") + ")"


def _leaf(t, *shape: int, positive: bool = False, scale: float = 1.0):
    import edunn

    x = t.rand(*shape, low=0.5, high=2.0) if positive else t.randn(*shape) * scale
    return edunn.tensor(x.tolist(), dtype=edunn.float64, requires_grad=True)


def _copy(x):
    import edunn

    return edunn.tensor(x.tolist(), dtype=edunn.float64, requires_grad=True)


def _apply(cls, *args):
    out = cls.apply(*args)
    import edunn

    if not isinstance(out, edunn.Tensor):
        raise Fail(f"{cls.__name__}.apply returned {type(out).__name__}, expected a Tensor "
                   "(forward should return an array or a tensor)")
    return out


def _gradcheck(t, fn, inputs, what):
    from edunn.autograd import gradcheck

    ok = False
    try:
        ok = gradcheck(fn, inputs, raise_exception=False)
    except NotImplementedError:
        raise
    except Exception as error:  # a gradient of the wrong shape, say
        raise Fail(f"gradcheck of {what} raised {type(error).__name__}: {error}") from None
    t.ok(ok, f"gradcheck of {what} failed: the gradient from your backward does not match the "
             "finite differences (f(x + eps) - f(x - eps)) / (2 eps) in float64")


def _double_backward(t, fn, inputs, what):
    """The backward is made of tensor ops: with ``create_graph=True`` its gradient can be
    differentiated again (section 9 of the lesson does that with the learner's ``Tanh``)."""
    import edunn
    from edunn.autograd import gradgradcheck

    firsts = edunn.autograd.grad(fn(*inputs).sum(), inputs, create_graph=True, allow_unused=True)
    if not any(g is not None and g.requires_grad for g in firsts):
        raise Fail(f"your {what} backward is not made of tensor ops: with create_graph=True the "
                   "gradient it returns has no grad_fn, so it cannot be differentiated again (the "
                   "second derivative in section 9). Compute it from grad and ctx.saved_tensors "
                   "with tensor ops (grad * y), not on ._data or from a new edunn.tensor(...)")
    try:
        ok = gradgradcheck(fn, inputs, raise_exception=False)
    except NotImplementedError:
        raise
    except Exception as error:
        raise Fail(f"gradgradcheck of {what} raised {type(error).__name__}: {error}") from None
    t.ok(ok, f"gradgradcheck of {what} failed: differentiating your backward a second time does "
             "not match finite differences (is every part of it computed from tensors that "
             "remember how they were made, e.g. y from ctx.saved_tensors?)")


def _unpack(student, n: int, what: str) -> tuple:
    if not isinstance(student, (tuple, list)) or len(student) != n:
        raise Fail(f"expected a tuple of {n} classes ({what}), got {type(student).__name__}")
    return tuple(student)


# ---------------------------------------------------------------------------- 02.elementwise


@exercise("02.elementwise", points=4, reference=ELEMENTWISE, title="Mul, Exp and Tanh as Functions")
def grade_elementwise(student, t):
    import edunn

    Mul, Exp, Tanh = _unpack(student, 3, "Mul, Exp, Tanh")

    # Mul: values and gradients, with broadcasting left to the engine.
    with t.group("Mul"):
        a, b = _leaf(t, 3, 4), _leaf(t, 4)
        g = t.randn(3, 4, dtype=edunn.float64)
        y = _apply(Mul, a, b)
        t.close(y, a.detach() * b.detach(), "Mul.apply(a, b) with a (3, 4) and b (4,)")
        (y * g).sum().backward()
        ga, gb = a.grad, b.grad
        want_a = g * b.detach()
        want_b = (g * a.detach()).sum(0)
        t.close(ga, want_a, "the gradient of a", mistakes={
            "your Mul backward returns grad * a for a, it should be grad * b (and grad * a for b)":
                (g * a.detach()).tolist(),
            "your Mul backward forgot the incoming gradient: d(a*b)/da = b must be multiplied by grad":
                (b.detach() * edunn.ones(3, 4, dtype=edunn.float64)).tolist(),
        })
        t.close(gb, want_b, "the gradient of b")
    with t.group("Mul: gradcheck and gradgradcheck"):
        a, b = _leaf(t, 2, 3), _leaf(t, 2, 3)
        _gradcheck(t, lambda x, z: Mul.apply(x, z), (a, b), "Mul.apply(a, b)")
        _double_backward(t, lambda x, z: Mul.apply(x, z), (a, b), "Mul")

    # Exp: dy/dx = y.
    with t.group("Exp"):
        x = _leaf(t, 2, 5)
        g = t.randn(2, 5, dtype=edunn.float64)
        y = _apply(Exp, x)
        ref = edunn.exp(x.detach())
        t.close(y, ref, "Exp.apply(x)")
        (y * g).sum().backward()
        t.close(x.grad, g * ref, "the gradient of x", mistakes={
            "your Exp backward forgot the incoming gradient: return grad * y, not y": ref.tolist(),
            "your Exp backward returns grad * x; the derivative of e^x is e^x itself":
                (g * x.detach()).tolist(),
        })
    with t.group("Exp: gradcheck and gradgradcheck"):
        x = _leaf(t, 3, 2)
        _gradcheck(t, lambda z: Exp.apply(z), (x,), "Exp.apply(x)")
        _double_backward(t, lambda z: Exp.apply(z), (x,), "Exp")

    # Tanh: dy/dx = 1 - y^2, with y the output.
    with t.group("Tanh"):
        x = _leaf(t, 3, 3, scale=1.5)
        g = t.randn(3, 3, dtype=edunn.float64)
        y = _apply(Tanh, x)
        ref = edunn.tanh(x.detach())
        t.close(y, ref, "Tanh.apply(x)")
        (y * g).sum().backward()
        xd = x.detach()
        t.close(x.grad, g * (1 - ref * ref), "the gradient of x", mistakes={
            "your Tanh backward returns grad * (1 - x**2): it should use the output y = tanh(x), "
            "not the input x": (g * (1 - xd * xd)).tolist(),
            "your Tanh backward forgot the incoming gradient: return grad * (1 - y**2)":
                (1 - ref * ref).tolist(),
            "your Tanh backward returns grad * (1 - y): the derivative of tanh is 1 - y**2":
                (g * (1 - ref)).tolist(),
            "your Tanh backward returns grad * y * (1 - y), which is the derivative of the sigmoid":
                (g * ref * (1 - ref)).tolist(),
        })
    with t.group("Tanh: gradcheck and gradgradcheck"):
        x = _leaf(t, 4)
        _gradcheck(t, lambda z: Tanh.apply(z), (x,), "Tanh.apply(x)")
        _double_backward(t, lambda z: Tanh.apply(z), (x,), "Tanh")


# ---------------------------------------------------------------------------- 02.MatMul


@exercise("02.MatMul", points=2, reference="edunn.ops.linalg.MatMul", title="MatMul as a Function")
def grade_matmul(student, t):
    import edunn

    with t.group("forward and backward"):
        a, b = _leaf(t, 3, 4), _leaf(t, 4, 2)
        y = _apply(student, a, b)
        ad, bd = a.detach(), b.detach()
        t.close(y, ad @ bd, "MatMul.apply(a, b) with a (3, 4) and b (4, 2)")
        g = t.randn(3, 2, dtype=edunn.float64)
        if y.grad_fn is None:
            raise Fail("MatMul.apply(a, b) recorded no graph (the output has no grad_fn)")
        try:
            grads = type(y.grad_fn).backward(y.grad_fn, g)
        except (ValueError, RuntimeError) as error:
            raise Fail(f"your MatMul backward raised {type(error).__name__}: {str(error)[:120]} -- "
                       "check the shapes: a is (3, 4), b is (4, 2) and grad is (3, 2), so dL/da = "
                       "grad @ b.mT is (3, 4) and dL/db = a.mT @ grad is (4, 2)") from None
        if not isinstance(grads, (tuple, list)) or len(grads) < 2:
            raise Fail(f"MatMul.backward should return two gradients (for a and for b), got {grads!r:.80}")
        ga, gb = grads[0], grads[1]
        for name, got, want in (("a", ga, (3, 4)), ("b", gb, (4, 2))):
            if got is None or not hasattr(got, "shape"):
                raise Fail(f"MatMul.backward returned {type(got).__name__} for {name}, expected a tensor")
            if _shape(got) != want:
                raise Fail(f"MatMul.backward returned a gradient of shape {_fmt(_shape(got))} for {name} of "
                           f"shape {_fmt(want)} (for y = a @ b: dL/da = grad @ b.mT, dL/db = a.mT @ grad)")
        t.close(ga, g @ bd.mT, "the gradient of a", hint="dL/da = grad @ b.mT")
        t.close(gb, ad.mT @ g, "the gradient of b", hint="dL/db = a.mT @ grad")
    with t.group("batched: a (2, 3, 4) @ b (4, 5)"):
        a, b = _leaf(t, 2, 3, 4), _leaf(t, 4, 5)
        y = _apply(student, a, b)
        t.close(y, a.detach() @ b.detach(), "MatMul.apply(a, b)")
        g = t.randn(2, 3, 5, dtype=edunn.float64)
        try:
            (y * g).sum().backward()
        except (ValueError, RuntimeError) as error:
            raise Fail(f"{describe_exception(error)}\n    hint: grad is (2, 3, 5); .T reverses "
                       "every axis (a (2, 3, 4) tensor's .T is (4, 3, 2)), while .mT swaps only the "
                       "last two, which is the transpose of each matrix in the batch") from None
        t.close(a.grad, g @ b.detach().mT, "the gradient of a")
        t.close(b.grad, (a.detach().mT @ g).sum(0), "the gradient of b")
    with t.group("gradcheck and gradgradcheck"):
        a, b = _leaf(t, 2, 3), _leaf(t, 3, 2)
        _gradcheck(t, lambda x, z: student.apply(x, z), (a, b), "MatMul.apply(a, b)")
        _double_backward(t, lambda x, z: student.apply(x, z), (a, b), "MatMul")


# ---------------------------------------------------------------------------- 02.sum_to

_SUM_TO_CASES = [
    ((3, 4), (3, 4)),        # nothing to do (and x.sum(dim=()) would sum everything)
    ((2, 3, 4), (3, 4)),     # a leading axis
    ((3, 4), (1, 4)),        # a stretched axis, kept with size 1
    ((3, 4), (3, 1)),
    ((2, 3, 4), (3, 1)),     # both
    ((5, 2, 3), (1, 1, 3)),
    ((2, 3), ()),            # everything, down to a scalar
    ((4, 1, 3), (1, 3)),     # an axis that was already 1
    ((1, 2, 3), (1, 3)),     # a leading axis of size 1: shape's axis 0 is grad's axis 1
]


def _sum_to_shape_reason(src: tuple, dst: tuple, got: tuple) -> str:
    """Why ``sum_to`` of a ``src``-shaped gradient came back with shape ``got`` instead of ``dst``."""
    lead = len(src) - len(dst)
    ones = [i for i, s in enumerate(dst) if s == 1 and src[lead + i] != 1]
    trailing = tuple(src[:len(dst)])
    if lead and got and got in (trailing, tuple(1 if d == 1 else s for s, d in zip(trailing, dst))):
        return (f"you summed the last {'axis' if lead == 1 else f'{lead} axes'}; broadcasting lines "
                "shapes up from the right and adds axes at the front, so sum over the first "
                "grad.ndim - len(shape) axes")
    if dst and not ones and got in ((), (1,) * len(dst)):
        return ("x.sum(dim=()) sums over every axis, as in PyTorch: when there is no axis to "
                "reduce, don't call sum")
    if lead and len(got) == len(src):
        return "you kept the leading axes that broadcasting added: sum them away"
    if ones and len(got) == len(dst) - len(ones):
        return "you summed the stretched axes without keepdim=True: they must stay, with size 1"
    if len(got) == len(dst):
        kept = [i for i, (g, d) in enumerate(zip(got, dst)) if d == 1 and g != 1]
        if kept:
            return (f"you kept a broadcast axis: axis {kept[0]} of shape {_fmt(dst)} has size 1, so "
                    f"grad must be summed over it (keepdim=True); once the leading axes are summed "
                    f"away, axis i of shape is axis i of grad" if lead else
                    f"you kept a broadcast axis: axis {kept[0]} of shape {_fmt(dst)} has size 1, so "
                    "grad must be summed over it (keepdim=True)")
    return "wrong shape"


def _expected_sum_to(x, shape):
    from edunn.ops.broadcast import sum_to

    return sum_to(x.detach(), shape)


@exercise("02.sum_to", points=3, reference="edunn.ops.broadcast.sum_to", title="reduce a broadcast gradient")
def grade_sum_to(student, t):
    import edunn

    for src, dst in _SUM_TO_CASES:
        with t.group(f"sum_to(grad of shape {_fmt(src)}, {_fmt(dst)})"):
            x = t.randn(*src, dtype=edunn.float64)
            before = x.tolist()
            got = student(x, dst)
            want = _expected_sum_to(x, dst)
            if not isinstance(got, edunn.Tensor):
                raise Fail(f"returned {type(got).__name__}, expected an edunn Tensor")
            t.equal(x.tolist(), before, "your sum_to changed its input")
            if _shape(got) != tuple(dst):
                reason = _sum_to_shape_reason(tuple(src), tuple(dst), _shape(got))
                raise Fail(f"{reason}: got shape {_fmt(_shape(got))}, expected {_fmt(tuple(dst))}")
            copies = max(1, x.numel() // max(1, want.numel()))
            t.close(got, want, "the values", mistakes={
                "you averaged: every broadcast copy contributed its whole gradient, so sum, don't "
                "take the mean": (want / copies).tolist()} if copies > 1 else None)
    with t.group("it is made of tensor ops (so it can be differentiated again)"):
        x = t.randn(2, 3, 4, dtype=edunn.float64, requires_grad=True)
        y = student(x, (3, 1))
        if y.grad_fn is None:
            raise Fail("sum_to(x, shape) of an x that requires grad has no grad_fn: compute it with "
                       "tensor ops (x.sum(dim=..., keepdim=True), reshape), not on x._data")
        (y * 2).sum().backward()
        t.close(x.grad, edunn.full((2, 3, 4), 2.0, dtype=edunn.float64), "the gradient through your sum_to")


# ---------------------------------------------------------------------------- 02.topological_order


def _graph_nodes(root) -> set:
    return set(topological_order(root))


def _check_order(t, order, root, what):
    from edunn.autograd.function import AccumulateGrad, Function

    if not isinstance(order, (list, tuple)):
        raise Fail(f"{what}: expected a list of nodes, got {type(order).__name__}")
    if any(isinstance(n, AccumulateGrad) for n in order):
        raise Fail(f"{what}: the order contains AccumulateGrad nodes: leave the leaves out")
    if any(n is None for n in order):
        raise Fail(f"{what}: the order contains None: skip the (None, 0) entries of next_functions")
    bad = [n for n in order if not isinstance(n, Function)]
    if bad:
        raise Fail(f"{what}: the order contains {type(bad[0]).__name__} objects; expected the "
                   "grad_fn nodes (Function objects)")
    expected = _graph_nodes(root)
    if len(set(order)) != len(order):
        dup = next(n for i, n in enumerate(order) if n in order[:i])
        raise Fail(f"{what}: {dup.name()} appears more than once: a node reached along two paths "
                   "must be listed once (keep a visited set)")
    missing = expected - set(order)
    if missing:
        raise Fail(f"{what}: {len(missing)} of the {len(expected)} nodes are missing, e.g. "
                   f"{next(iter(missing)).name()}")
    extra = set(order) - expected
    if extra:
        raise Fail(f"{what}: {len(extra)} nodes are not in the graph of root")
    position = {n: i for i, n in enumerate(order)}
    edges = [(position[node], position[child]) for node in order
             for child, _ in node.next_functions if isinstance(child, Function)]
    if len(order) > 1 and order[-1] is root.grad_fn and all(c < n for n, c in edges):
        raise Fail(f"{what}: your list is the right order reversed: every node comes after its "
                   "inputs and root.grad_fn is last (that is the post-order of the depth-first "
                   "search); reverse it so that root.grad_fn comes first")
    for node in order:
        for child, _ in node.next_functions:
            if isinstance(child, Function) and position[child] < position[node]:
                raise Fail(f"{what}: {child.name()} (position {position[child]}) comes before "
                           f"{node.name()} (position {position[node]}), which depends on it: "
                           "a node's gradient is only complete after every node that uses it "
                           "has been processed")
    if order[0] is not root.grad_fn:
        raise Fail(f"{what}: the first node should be root.grad_fn ({root.grad_fn.name()}), got "
                   f"{order[0].name()}")
    t.ok(True, "")


def _random_graph(leaves, pick: int):
    """Expression number ``pick`` (0-2) over ``leaves``, with broadcasting and shared
    subexpressions."""
    import edunn

    a, b, c = leaves                       # shapes (3, 4), (4,), (3, 1)
    z = a * b                              # broadcast
    u = z.tanh() + c                       # broadcast
    w = u * z                              # z used twice
    if pick == 0:
        v = (w - u.exp() * 0.1) * w        # w used twice
    elif pick == 1:
        v = w.sum(0) * b + (z * u).sum(0)  # a reduction, then a broadcast against b
    else:
        v = edunn.tanh(w) * edunn.exp(c * 0.5) - z
    return v.sum()


def _deep_chain(x, depth: int):
    y = x
    for _ in range(depth):
        y = y * 1.0001
    return y.sum()


@exercise("02.topological_order", points=3, reference=topological_order,
          title="the graph's nodes in topological order")
def grade_topological_order(student, t):
    import edunn

    with t.group("a chain y = tanh(exp(x) * 2).sum()"):
        x = _leaf(t, 3)
        root = (edunn.exp(x) * 2).tanh().sum()
        _check_order(t, student(root), root, "chain")
    with t.group("a diamond: z used twice"):
        x = _leaf(t, 3)
        z = x.exp()
        root = (z * z.tanh() + z).sum()
        _check_order(t, student(root), root, "diamond")
    with t.group("random graphs with shared subexpressions"):
        for trial in range(3):
            leaves = (_leaf(t, 3, 4), _leaf(t, 4), _leaf(t, 3, 1))
            root = _random_graph(leaves, trial)
            _check_order(t, student(root), root, f"graph {trial + 1}")
    with t.group("a leaf-only input and a constant"):
        x = _leaf(t, 2)
        k = edunn.ones(2, dtype=edunn.float64)   # no grad: its edge is None
        root = (x * k).sum()
        _check_order(t, student(root), root, "(x * constant).sum()")
    with t.group("a 5,000-deep chain (no recursion)"):
        x = _leaf(t, 2)
        root = _deep_chain(x, 5000)
        try:
            order = student(root)
        except RecursionError:
            raise Fail("RecursionError on a 5,000-deep chain: your topological_order is recursive; "
                       "use an explicit stack (a list you push to and pop from)") from None
        if not isinstance(order, (list, tuple)) or len(order) != 5001:
            raise Fail(f"expected 5001 nodes for a chain of 5000 products and a sum, got "
                       f"{len(order) if isinstance(order, (list, tuple)) else type(order).__name__}")
        _check_order(t, order, root, "deep chain")


# ---------------------------------------------------------------------------- 02.backward


def _run_backward(student, root, hint: str | None = None):
    """``student(root)``; an exception becomes a failure that shows the learner's line and, for
    the usual causes, says what to look at."""
    try:
        return student(root)
    except (NotImplementedError, Fail):
        raise
    except Exception as error:
        text = str(error)
        if isinstance(error, TypeError) and "backward() missing 1 required positional argument" in text:
            hint = ("backward is a static method, so node.backward(grad) passes grad as ctx; call "
                    "it as type(node).backward(node, grad)")
        elif isinstance(error, TypeError) and "cannot unpack non-iterable NoneType" in text:
            hint = "node._next holds None for an input that needs no gradient: skip those edges"
        elif "cannot sum a gradient of shape" in text:
            hint = ("a node whose forward has one input (Exp, Tanh ...) returns its gradient bare, "
                    "not in a tuple; zip over a bare tensor walks along its first axis instead. "
                    "Wrap it: if not isinstance(grads_in, tuple): grads_in = (grads_in,)")
        message = describe_exception(error)
        raise Fail(message + (f"\n    hint: {hint}" if hint else "")) from None


def _compare_backward(t, student, build, shapes, what, hint=None):
    """Build the same graph twice; run the student's backward on one, edunn's on the other."""
    import edunn

    mine = [_leaf(t, *s) for s in shapes]
    theirs = [_copy(x) for x in mine]
    build(mine).backward()
    result = _run_backward(student, build(theirs), hint)
    if result is not None and not isinstance(result, (edunn.Tensor, tuple, list, dict)):
        raise Fail(f"{what}: backward returned {type(result).__name__}; it should fill the leaves' .grad")
    for i, (want, got) in enumerate(zip(mine, theirs)):
        if got.grad is None:
            raise Fail(f"{what}: leaf {i} (shape {_fmt(_shape(got))}) has no .grad after your backward")
        if _shape(got.grad) != _shape(want):
            raise Fail(f"{what}: leaf {i} has .grad of shape {_fmt(_shape(got.grad))}, expected "
                       f"{_fmt(_shape(want))} (sum a broadcast gradient back with sum_to)")
        t.close(got.grad, want.grad, f"{what}: the .grad of leaf {i} (shape {_fmt(_shape(want))})")
    return theirs


@exercise("02.backward", points=4, reference=backward, title="a backward pass over edunn's graph")
def grade_backward(student, t):
    import edunn

    with t.group("a chain"):
        _compare_backward(t, student, lambda v: (edunn.exp(v[0]) * 2).tanh().sum(), [(3,)], "tanh(2 exp(x)).sum()")
    with t.group("a shared subexpression: z = x * y used three times"):
        def build(v):
            z = v[0] * v[1]
            return (z * z + z).sum()
        _compare_backward(t, student, build, [(4,), (4,)], "z = x * y; (z * z + z).sum()")
    with t.group("broadcasting: a (3, 4) * b (4,) + c (3, 1)"):
        _compare_backward(t, student, lambda v: ((v[0] * v[1]).tanh() * v[2]).sum(),
                          [(3, 4), (4,), (3, 1)], "(tanh(a * b) * c).sum()")
    with t.group("broadcasting an intermediate: (a.sum(0) * b).sum() with b (3, 4)"):
        _compare_backward(t, student, lambda v: (v[0].sum(0).exp() * v[1]).sum(),
                          [(2, 4), (3, 4)], "(exp(a.sum(0)) * b).sum()",
                          hint="the gradient of exp(a.sum(0)), shape (4,), comes back from the "
                               "product with b widened to (3, 4): sum_to it to the edge's shape "
                               "before adding it into grads[...], for nodes as well as leaves")
    with t.group("random graphs"):
        for trial in range(3):
            _compare_backward(t, student, lambda v, pick=trial: _random_graph(v, pick),
                              [(3, 4), (4,), (3, 1)], f"random graph {trial + 1}")
    with t.group("gradients accumulate in .grad; leaves without requires_grad are left alone"):
        x = _leaf(t, 3)
        k = edunn.ones(3, dtype=edunn.float64)
        _run_backward(student, (x * x * k).sum())
        _run_backward(student, (x * 3).sum())
        want = 2 * x.detach() + 3
        t.close(x.grad, want, "x.grad after backward of (x * x).sum() and then of (3 * x).sum()",
                mistakes={"the second backward replaced x.grad instead of adding to it: leaves' "
                          ".grad must accumulate (x.grad = x.grad + g)":
                          (edunn.full((3,), 3.0, dtype=edunn.float64)).tolist()})
        t.ok(k.grad is None, "a tensor that does not require grad got a .grad")
        t.ok(x.grad.grad_fn is None and not x.grad.requires_grad,
             "x.grad has a grad_fn: the backward pass recorded a graph of its own; run it under "
             "edunn.no_grad()")
    with t.group("two leaves that receive the same gradient tensor: (x + y).sum()"):
        x, y = _leaf(t, 3), _leaf(t, 3)
        _run_backward(student, (x + y).sum())       # Add.backward returns grad for both
        if x.grad is None or y.grad is None:
            raise Fail("x.grad or y.grad is still None after your backward of (x + y).sum()")
        copy = ("the first time a leaf gets a gradient, store a copy (g.clone() or g * 1), as "
                "edunn's engine does")
        try:
            with edunn.no_grad():
                x.grad.mul_(0)                      # what an in-place x.grad.zero_() does
        except (ValueError, RuntimeError) as error:
            raise Fail(f"x.grad cannot be changed in place ({type(error).__name__}: {error}): it is "
                       "the very tensor a node's backward returned (here a read-only broadcast "
                       f"view), so x.grad.zero_() would fail; {copy}") from None
        t.close(y.grad, edunn.ones(3, dtype=edunn.float64), "y.grad after x.grad.mul_(0)", mistakes={
            "x.grad and y.grad are one and the same tensor, so changing one in place changed the "
            f"other: Add's backward returns the same gradient for both inputs; {copy}":
                edunn.zeros(3, dtype=edunn.float64).tolist()})
