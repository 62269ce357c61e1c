"""grad_fn.name() against torch's node names for ~150 ops (the cases of
tools/extract_node_names.py, which builds the table from torch), the documented exceptions,
custom Functions (``<Class>Backward``), AccumulateGrad, repr and next_functions."""
import importlib.util
import pathlib
import re

import pytest

import edunn
from tests.opcheck import needs_torch, torch

pytestmark = [pytest.mark.lesson02, needs_torch]

_TOOL = pathlib.Path(__file__).resolve().parents[2] / "tools" / "extract_node_names.py"
_spec = importlib.util.spec_from_file_location("extract_node_names", _TOOL)
X = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(X)


@pytest.mark.parametrize("case", X.CASES, ids=[c[0] for c in X.CASES])
def test_name_matches_torch(case):
    node, torch_name = X.run_case(case)
    if case[0] in X.DIFFERENT:  # a composite or shared node: documented, and still different
        assert node.name() != torch_name, f"{case[0]} now matches torch: move it into the table"
    else:
        assert node.name() == torch_name
        assert re.fullmatch(f"<{torch_name} object at 0x[0-9a-f]+>", repr(node))


def test_table_is_what_the_tool_builds():
    from edunn.autograd import _node_names
    assert X.build() == _node_names.TORCH_NAMES


def test_python_functions_keep_unnumbered_names():
    for edunn_path, torch_path in X.PYTHON_FUNCTIONS:
        assert X.python_function_name(torch_path).endswith("Backward")
    from edunn.nn.parallel._functions import Broadcast
    assert Broadcast.name(object.__new__(Broadcast)) == "BroadcastBackward"


def test_custom_function_and_leaf_names():
    class Cube(edunn.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            ctx.save_for_backward(x)
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            (x,) = ctx.saved_tensors
            return 3 * x ** 2 * g

    class TorchCube(torch.autograd.Function):
        @staticmethod
        def forward(ctx, x):
            return x ** 3

        @staticmethod
        def backward(ctx, g):
            return g

    x, tx = edunn.ones(2, requires_grad=True), torch.ones(2, requires_grad=True)
    y, ty = Cube.apply(x), TorchCube.apply(tx)
    assert y.grad_fn.name() == "CubeBackward" and ty.grad_fn.name() == "TorchCubeBackward"
    z, tz = y * x, ty * tx
    names = [n.name() for n, _ in z.grad_fn.next_functions]
    tnames = [n.name() for n, _ in tz.grad_fn.next_functions]
    # torch names its C++ leaf node "torch::autograd::AccumulateGrad"; edunn says
    # "AccumulateGrad" (its repr and class name in torch too)
    assert names == ["CubeBackward", "AccumulateGrad"]
    assert tnames == ["TorchCubeBackward", "torch::autograd::AccumulateGrad"]
    assert type(tz.grad_fn.next_functions[1][0]).__name__ == "AccumulateGrad"
    assert z.grad_fn.name() == tz.grad_fn.name() == "MulBackward0"
    assert repr(z).endswith("grad_fn=<MulBackward0>)")


def test_sum_overloads_and_anomaly_message():
    x, tx = edunn.ones(2, 3, requires_grad=True), torch.ones(2, 3, requires_grad=True)
    assert x.sum().grad_fn.name() == tx.sum().grad_fn.name() == "SumBackward0"
    assert x.sum(0).grad_fn.name() == tx.sum(0).grad_fn.name() == "SumBackward1"
    assert x.sum(1, keepdim=True).grad_fn.name() == tx.sum(1, keepdim=True).grad_fn.name()
    with edunn.autograd.detect_anomaly():
        with pytest.raises(RuntimeError, match="Function 'SqrtBackward0' returned nan"):
            edunn.sqrt(edunn.tensor([-1.0, 1.0], requires_grad=True)).sum().backward()
