"""The graders of lesson 02: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

from pathlib import Path

import pytest

import edunn
from edunn.autograd import Function
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import StubClass, assert_full_marks, assert_partial, assert_zero, stub
import edunn.grading.exercises.lesson02 as lesson02
from edunn.ops import broadcast, elementwise, linalg

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "02_autograd.ipynb"
REFERENCE_OPS = (elementwise.Mul, elementwise.Exp, elementwise.Tanh)


def _xp(x):
    return edunn.backend.array_module(x._data)


# ---------------------------------------------------------------------------- planted mistakes

class StubOp(Function):
    @staticmethod
    def forward(ctx, *args):
        raise NotImplementedError("your turn: replace this line with your code")


class MulSwapped(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a._data * b._data

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad * a, grad * b


class ExpForgetsGrad(Function):
    @staticmethod
    def forward(ctx, x):
        y = _xp(x).exp(x._data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return y * 1


class TanhUsesInput(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return _xp(x).tanh(x._data)

    @staticmethod
    def backward(ctx, grad):
        x, = ctx.saved_tensors
        return grad * (1 - x ** 2)


class TanhOnArrays(Function):
    """Right first derivative, but computed on arrays: it cannot be differentiated again."""

    @staticmethod
    def forward(ctx, x):
        y = _xp(x).tanh(x._data)
        ctx.save_for_backward(y)
        return y

    @staticmethod
    def backward(ctx, grad):
        y, = ctx.saved_tensors
        return edunn.tensor(grad._data * (1 - y._data ** 2))


class MatMulNoTranspose(Function):
    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a._data @ b._data

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b, a @ grad


class MatMulDotT(Function):
    """``.T`` reverses every axis: right for matrices, wrong for a batch of them."""

    @staticmethod
    def forward(ctx, a, b):
        ctx.save_for_backward(a, b)
        return a._data @ b._data

    @staticmethod
    def backward(ctx, grad):
        a, b = ctx.saved_tensors
        return grad @ b.T, a.T @ grad


def sum_to_no_keepdim(grad, shape):
    lead = grad.ndim - len(shape)
    if lead:
        grad = grad.sum(dim=tuple(range(lead)))
    ones = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    return grad.sum(dim=ones) if ones else grad


def sum_to_leading_only(grad, shape):
    lead = grad.ndim - len(shape)
    return grad.sum(dim=tuple(range(lead))) if lead else grad


def sum_to_empty_dims(grad, shape):
    lead = grad.ndim - len(shape)
    grad = grad.sum(dim=tuple(range(lead))) if lead else grad
    ones = tuple(i for i, s in enumerate(shape) if s == 1)
    return grad.sum(dim=ones, keepdim=True)


def sum_to_trailing(grad, shape):
    lead = grad.ndim - len(shape)
    grad = grad.sum(dim=tuple(range(grad.ndim - lead, grad.ndim))) if lead else grad
    ones = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    return grad.sum(dim=ones, keepdim=True) if ones else grad


def sum_to_mean(grad, shape):
    lead = grad.ndim - len(shape)
    grad = grad.mean(dim=tuple(range(lead))) if lead else grad
    ones = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    return grad.mean(dim=ones, keepdim=True) if ones else grad


def sum_to_axes_of_the_input(grad, shape):
    """Finds the stretched axes on grad's shape before the leading axes are gone."""
    lead = grad.ndim - len(shape)
    ones = tuple(i for i, s in enumerate(shape) if s == 1 and grad.shape[i] != 1)
    grad = grad.sum(dim=tuple(range(lead))) if lead else grad
    return grad.sum(dim=ones, keepdim=True) if ones else grad


def sum_to_on_arrays(grad, shape):
    return edunn.tensor(broadcast.sum_to(grad.detach(), shape).tolist(), dtype=grad.dtype)


def topo_recursive(root):
    order, seen = [], set()

    def visit(node):
        if node in seen:
            return
        seen.add(node)
        for child, _ in node.next_functions:
            if isinstance(child, Function):
                visit(child)
        order.append(node)

    visit(root.grad_fn)
    return order[::-1]


def topo_not_reversed(root):
    return lesson02.topological_order(root)[::-1]


def topo_breadth_first(root):
    """Visits each node once, but breadth first: in a diamond a node can come before a user."""
    order, seen, queue = [], set(), [root.grad_fn]
    while queue:
        node = queue.pop(0)
        if node not in seen:
            seen.add(node)
            order.append(node)
            queue.extend(c for c, _ in node.next_functions if isinstance(c, Function))
    return order


def topo_no_visited_set(root):
    order, stack = [], [root.grad_fn]
    while stack:
        node = stack.pop()
        order.append(node)
        stack.extend(c for c, _ in node.next_functions if isinstance(c, Function))
    return order


def topo_with_leaves(root):
    from edunn.autograd.function import AccumulateGrad
    order = lesson02.topological_order(root)
    leaves = []
    for node in order:
        leaves.extend(c for c, _ in node.next_functions if isinstance(c, AccumulateGrad))
    return order + leaves


def _engine(root, *, overwrite=False, use_no_grad=True, reduce=True, accumulate_leaves=True,
            copy_first=True, wrap_bare=True, call_on_instance=False, reduce_leaves_only=False):
    from edunn.ops.broadcast import sum_to
    import contextlib
    ctx = edunn.no_grad() if use_no_grad else contextlib.nullcontext()
    with ctx:
        grads = {root.grad_fn: edunn.ones_like(root)}
        for node in lesson02.topological_order(root):
            if call_on_instance:
                out = node.backward(grads.pop(node))
            else:
                out = type(node).backward(node, grads.pop(node))
            if wrap_bare:
                out = out if isinstance(out, tuple) else (out,)
            for g, edge in zip(out, node._next):
                if edge is None or g is None:
                    continue
                target, _, shape, _ = edge
                leaf = not isinstance(target, Function)
                if reduce and (leaf or not reduce_leaves_only) and tuple(g.shape) != tuple(shape):
                    g = sum_to(g, shape)
                if isinstance(target, Function):
                    grads[target] = g if overwrite or target not in grads else grads[target] + g
                elif target.grad is None or not accumulate_leaves:
                    target.grad = g * 1 if copy_first else g
                else:
                    target.grad = target.grad + g


def backward_overwrites(root):
    _engine(root, overwrite=True)


def backward_records(root):
    _engine(root, use_no_grad=False)


def backward_no_sum_to(root):
    _engine(root, reduce=False)


def backward_replaces_leaf_grad(root):
    _engine(root, accumulate_leaves=False)


def backward_shares_leaf_grads(root):
    _engine(root, copy_first=False)


def backward_zips_a_bare_gradient(root):
    _engine(root, wrap_bare=False)


def backward_calls_node_backward(root):
    _engine(root, call_on_instance=True)


def backward_sums_only_for_leaves(root):
    _engine(root, reduce_leaves_only=True)


# ---------------------------------------------------------------------------- the tests

def test_elementwise():
    assert_full_marks("02.elementwise", REFERENCE_OPS)
    assert_zero("02.elementwise", (StubOp, StubOp, StubOp))
    assert_partial("02.elementwise", (MulSwapped, elementwise.Exp, elementwise.Tanh),
                   mentions="it should be grad * b")
    assert_partial("02.elementwise", (elementwise.Mul, ExpForgetsGrad, elementwise.Tanh),
                   mentions="your Exp backward forgot the incoming gradient")
    assert_partial("02.elementwise", (elementwise.Mul, elementwise.Exp, TanhUsesInput),
                   mentions="it should use the output y = tanh(x), not the input x")
    assert_partial("02.elementwise", (elementwise.Mul, elementwise.Exp, TanhOnArrays),
                   mentions="your Tanh backward is not made of tensor ops")
    assert_partial("02.elementwise", elementwise.Mul, mentions="expected a tuple of 3 classes")


def test_matmul():
    assert_full_marks("02.MatMul", linalg.MatMul)
    assert_zero("02.MatMul", StubOp)
    assert_zero("02.MatMul", StubClass)
    assert_partial("02.MatMul", MatMulNoTranspose, mentions="grad @ b.mT")
    assert_partial("02.MatMul", MatMulDotT, mentions=".mT swaps only the last two")


def test_sum_to():
    assert_full_marks("02.sum_to", broadcast.sum_to)
    assert_zero("02.sum_to", stub)
    assert_partial("02.sum_to", sum_to_no_keepdim, mentions="without keepdim=True")
    assert_partial("02.sum_to", sum_to_leading_only, mentions="expected (3, 1)")
    assert_partial("02.sum_to", sum_to_empty_dims, mentions="x.sum(dim=()) sums over every axis")
    assert_partial("02.sum_to", sum_to_on_arrays, mentions="has no grad_fn")
    assert_partial("02.sum_to", sum_to_trailing, mentions="you summed the last axis")
    assert_partial("02.sum_to", sum_to_mean, mentions="you averaged")
    assert_partial("02.sum_to", sum_to_axes_of_the_input, mentions="axis i of shape is axis i of grad")


def test_topological_order():
    assert_full_marks("02.topological_order", lesson02.topological_order)
    assert_zero("02.topological_order", stub)
    assert_partial("02.topological_order", topo_recursive, mentions="RecursionError")
    assert_partial("02.topological_order", topo_not_reversed, mentions="reverse it")
    assert_partial("02.topological_order", topo_breadth_first, mentions="which depends on it")
    assert_partial("02.topological_order", topo_no_visited_set, mentions="more than once")
    assert_partial("02.topological_order", topo_with_leaves, mentions="AccumulateGrad")


def test_backward():
    assert_full_marks("02.backward", lesson02.backward)
    assert_zero("02.backward", stub)
    assert_partial("02.backward", backward_overwrites, mentions="shared subexpression")
    assert_partial("02.backward", backward_records, mentions="edunn.no_grad()")
    assert_partial("02.backward", backward_no_sum_to, mentions="broadcasting")
    assert_partial("02.backward", backward_replaces_leaf_grad, mentions="instead of adding")
    assert_partial("02.backward", backward_shares_leaf_grads, mentions="store a copy")
    assert_partial("02.backward", backward_zips_a_bare_gradient, mentions="returns its gradient bare")
    assert_partial("02.backward", backward_calls_node_backward, mentions="type(node).backward(node, grad)")
    assert_partial("02.backward", backward_sums_only_for_leaves, mentions="for nodes as well as leaves")


def test_topological_order_reference_on_a_deep_chain():
    x = edunn.ones(2, requires_grad=True)
    y = x
    for _ in range(20000):
        y = y * 1.0
    order = lesson02.topological_order(y.sum())
    assert len(order) == 20001 and order[0].name() == "SumBackward0"


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells (everything defining a solution) with ``check`` as the
    identity, and return the names they define."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import math\nimport edunn\nfrom edunn.autograd import Function\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/02_autograd.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("02.elementwise", (ns["Mul"], ns["Exp"], ns["Tanh"]))
    assert_full_marks("02.MatMul", ns["MatMul"])
    assert_full_marks("02.sum_to", ns["sum_to"])
    assert_full_marks("02.topological_order", ns["topological_order"])
    assert_full_marks("02.backward", ns["backward"])
