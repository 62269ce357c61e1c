"""``edunn.utils.flop_counter``: FLOP totals and per-module counts compared with PyTorch's
``FlopCounterMode`` on the same models (counts depend only on shapes, so weights need not match)."""
import inspect

import pytest

import edunn
import edunn.nn as nn
from edunn.autograd import Function
from edunn.utils.flop_counter import FlopCounterMode, register_flop_formula
from edunn.utils import flop_counter
from opcheck import needs_torch


def _count(lib, build, run_backward: bool):
    """Build the model and input with ``lib`` (edunn or torch); count forward (+ backward)."""
    model, inputs = build(lib)
    with lib.utils.flop_counter.FlopCounterMode(display=False) as counter:
        out = model(*inputs)
        out = out[0] if isinstance(out, tuple) else out
        if run_backward:
            out.sum().backward()
    return counter.get_total_flops(), {m: {str(k): v for k, v in d.items()}
                                       for m, d in counter.get_flop_counts().items()}


def mlp(lib):
    m = lib.nn.Sequential(lib.nn.Linear(8, 16), lib.nn.ReLU(), lib.nn.Linear(16, 16, bias=False),
                          lib.nn.Tanh(), lib.nn.Linear(16, 4))
    return m, (lib.randn(5, 8, requires_grad=True),)


def mlp_3d(lib):
    return lib.nn.Sequential(lib.nn.Linear(6, 10), lib.nn.GELU(), lib.nn.Linear(10, 3)), \
        (lib.randn(2, 7, 6),)


def cnn(lib):
    m = lib.nn.Sequential(lib.nn.Conv2d(3, 4, 3, padding=1), lib.nn.ReLU(),
                          lib.nn.Conv2d(4, 6, 3, stride=2, groups=2), lib.nn.Flatten(),
                          lib.nn.Linear(6 * 2 * 2, 5))
    return m, (lib.randn(2, 3, 6, 6),)


def cnn_transposed(lib):
    m = lib.nn.Sequential(lib.nn.Conv1d(2, 4, 3), lib.nn.ConvTranspose1d(4, 6, 3, stride=2, groups=2),
                          lib.nn.ReLU())
    return m, (lib.randn(3, 2, 9, requires_grad=True),)


def attention(lib):
    class Block(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.attn = lib.nn.MultiheadAttention(8, 2, batch_first=True)
            self.ff = lib.nn.Linear(8, 8)

        def forward(self, x):
            return self.ff(self.attn(x, x, x)[0])
    return Block(), (lib.randn(2, 5, 8),)


def sdpa(lib):
    q = lib.randn(2, 3, 5, 4, requires_grad=True)
    k = lib.randn(2, 3, 7, 4, requires_grad=True)
    v = lib.randn(2, 3, 7, 6, requires_grad=True)
    return lib.nn.functional.scaled_dot_product_attention, (q, k, v)


def batched_matmul(lib):
    return (lambda a, b, c: lib.einsum("bij,jk->bik", a @ b, c)), \
        (lib.randn(2, 3, 4, requires_grad=True), lib.randn(4, 5, requires_grad=True),
         lib.randn(5, 2, requires_grad=True))


MODELS = [mlp, mlp_3d, cnn, cnn_transposed, attention, sdpa, batched_matmul]


@needs_torch
@pytest.mark.parametrize("run_backward", [False, True], ids=["forward", "forward+backward"])
@pytest.mark.parametrize("build", MODELS, ids=lambda f: f.__name__)
def test_totals_match_torch(build, run_backward):
    import torch.utils.flop_counter  # noqa: F401
    ours, our_counts = _count(edunn, build, run_backward)
    theirs, their_counts = _count(torch, build, run_backward)
    assert ours == theirs > 0
    # the same modules, each with the same total
    assert set(our_counts) == set(their_counts)
    for mod in their_counts:
        assert sum(our_counts[mod].values()) == sum(their_counts[mod].values()), mod


@needs_torch
@pytest.mark.parametrize("build", [mlp, cnn], ids=lambda f: f.__name__)
def test_per_op_keys_match_torch(build):
    import torch.utils.flop_counter  # noqa: F401
    assert _count(edunn, build, True)[1] == _count(torch, build, True)[1]


def test_elementwise_ops_count_zero():
    x = edunn.randn(4, 4, requires_grad=True)
    with FlopCounterMode(display=False) as c:
        (x.exp() * x + 1).relu().sum().backward()
    assert c.get_total_flops() == 0
    assert c.get_flop_counts() == {"Global": {}}   # get_total_flops made the entry, as in torch


def test_backward_outside_the_block_is_not_counted():
    m = nn.Linear(3, 4)
    with FlopCounterMode(display=False) as c:
        y = m(edunn.randn(2, 3))
    forward = c.get_total_flops()
    y.sum().backward()
    assert c.get_total_flops() == forward == 2 * 2 * 3 * 4


def test_reentering_clears_counts():
    c = FlopCounterMode(display=False)
    a, b = edunn.randn(2, 3), edunn.randn(3, 4)
    with c:
        a @ b
    with c:
        a @ b
    assert c.get_total_flops() == 48


def test_table_printed_on_exit(capsys):
    m = nn.Sequential(nn.Linear(4, 4), nn.Linear(4, 2))
    with FlopCounterMode(depth=1):
        m(edunn.randn(3, 4))
    out = capsys.readouterr().out.splitlines()
    assert out[0].split() == ["Module", "FLOP", "%", "Total"]
    assert set(out[1]) == {"-", " "}
    assert out[2].split() == ["Sequential", "144", "100.00%"]     # tabulate prints 144.000 as 144
    assert out[3].split() == ["-", "aten.addmm", "144", "100.00%"]
    assert len(out) == 4   # depth=1: the children are not shown


def test_table_shows_global_when_ops_run_outside_modules():
    m = nn.Linear(4, 4)
    with FlopCounterMode(display=False) as c:
        m(edunn.randn(3, 4))
        edunn.randn(2, 2) @ edunn.randn(2, 2)
    rows = c.get_table().splitlines()
    assert rows[2].split()[0] == "Global" and rows[3].split()[1] == "aten.addmm"
    assert FlopCounterMode(display=False).get_table().splitlines()[2].split() == ["Global", "0", "0%"]
    big = FlopCounterMode(display=False)
    big.flop_counts["Global"]["aten.mm"] = 123456
    assert big.get_table().splitlines()[2].split() == ["Global", "123.456K", "100.00%"]


class _Cube(Function):
    @staticmethod
    def forward(ctx, x):
        ctx.save_for_backward(x)
        return x * x * x

    @staticmethod
    def backward(ctx, g):
        x, = ctx.saved_tensors
        return 3 * g * x * x


def test_register_flop_formula_and_custom_mapping():
    calls = []

    @register_flop_formula(_Cube)
    def cube_flop(x_shape, out_shape=None):
        calls.append((x_shape, out_shape))
        return 2 * x_shape[0]
    try:
        with FlopCounterMode(display=False) as c:
            _Cube.apply(edunn.randn(5))
        assert calls == [((5,), (5,))]
        assert c.get_flop_counts() == {"Global": {"_Cube": 10}}
        with pytest.raises(RuntimeError, match="duplicate registrations"):
            register_flop_formula(_Cube)(cube_flop)
    finally:
        del flop_counter.flop_registry[_Cube]
    with FlopCounterMode(display=False, custom_mapping={_Cube: lambda x, out_shape=None: 7}) as c:
        _Cube.apply(edunn.randn(5))
    assert c.get_total_flops() == 7


def test_register_rejects_non_ops():
    with pytest.raises(ValueError, match="expected each target"):
        register_flop_formula("aten.mm")(lambda *a, **k: 0)


def test_mods_argument_warns():
    with pytest.warns(UserWarning, match="mods argument is not needed"):
        FlopCounterMode(nn.Linear(2, 2), display=False)


@needs_torch
def test_conv_formulas_match_torch_functions():
    import torch.utils.flop_counter as T
    assert flop_counter.conv_flop_count([2, 3, 8, 8], [4, 3, 3, 3], [2, 4, 6, 6]) == \
        T.conv_flop_count([2, 3, 8, 8], [4, 3, 3, 3], [2, 4, 6, 6])
    assert flop_counter.sdpa_flop_count((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6)) == \
        T.sdpa_flop_count((2, 3, 5, 4), (2, 3, 7, 4), (2, 3, 7, 6))


@needs_torch
def test_signatures_match_torch():
    import torch.utils.flop_counter as T
    assert inspect.signature(FlopCounterMode.__init__).parameters.keys() == \
        inspect.signature(T.FlopCounterMode.__init__).parameters.keys()
    ours, theirs = (inspect.signature(f).parameters for f in (register_flop_formula, T.register_flop_formula))
    assert [(p.name, p.default) for p in ours.values()] == [(p.name, p.default) for p in theirs.values()]
    assert flop_counter.__all__ == T.__all__
