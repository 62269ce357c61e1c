"""Strides and storage offsets of views, as PyTorch reports them (lesson 01)."""
import pytest

import edunn

torch = pytest.importorskip("torch", reason="PyTorch is not installed: pip install -e .[parity]")
pytestmark = pytest.mark.lesson01

VIEWS = {
    "rows": lambda x: x[1:],
    "element_column": lambda x: x[1:, 2],
    "transposed_row": lambda x: x.t()[2],
    "every_other_column": lambda x: x[:, ::2],
    "narrow": lambda x: x.narrow(1, 1, 2),
    "expand": lambda x: x[:1].expand(5, 4),
    "unsqueeze": lambda x: x[2].unsqueeze(0),
}


@pytest.mark.parametrize("name", VIEWS)
def test_view_strides_and_offset(name):
    ours = VIEWS[name](edunn.arange(12.0).reshape(3, 4))
    theirs = VIEWS[name](torch.arange(12.0).reshape(3, 4))
    assert ours.stride() == theirs.stride()
    assert ours.storage_offset() == theirs.storage_offset()
    assert ours.is_contiguous() == theirs.is_contiguous()


@pytest.mark.parametrize("shape", [(2, 0, 3), (0,), (3, 1, 4), (1, 1)])
def test_strides_of_empty_and_size_one_dims(shape):
    assert edunn.zeros(shape).stride() == torch.zeros(shape).stride()


def test_needs_input_grad_is_known_in_forward():
    seen = {}

    class Scale(edunn.autograd.Function):
        @staticmethod
        def forward(ctx, x, y):
            seen["forward"] = ctx.needs_input_grad
            return x * y

        @staticmethod
        def backward(ctx, grad):
            return grad, grad

    Scale.apply(edunn.ones(2, requires_grad=True), edunn.ones(2))
    assert seen["forward"] == (True, False)


def test_cpu_device_with_an_index_as_torch():
    for spec in ["cpu", "cpu:0"]:
        ours, theirs = edunn.device(spec), torch.device(spec)
        assert (ours.type, ours.index, str(ours)) == (theirs.type, theirs.index, str(theirs))
    assert (edunn.device("cpu:0") == edunn.device("cpu")) == (torch.device("cpu:0") == torch.device("cpu"))
    assert edunn.zeros(2, device="cpu:0").device == edunn.device("cpu")
