"""edunn.nn.utils.stateless.functional_call: the swap of parameters/buffers, its restore (also on
error), tie_weights and strict, compared with torch.nn.utils.stateless."""
import inspect
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn as nn
from edunn.func import functional_call
from edunn.nn.utils import stateless
from opcheck import needs_torch, torch


def make_tied(lib):
    """A module with a parameter under two names and a buffer its forward reassigns."""
    class Tied(lib.nn.Module):
        def __init__(self):
            super().__init__()
            self.foo = lib.nn.Parameter(lib.ones(1))
            self.foo_tied = self.foo
            self.register_buffer("count", lib.zeros(1))

        def forward(self, x):
            self.count = self.count + 1
            return x + self.foo + self.foo_tied
    return Tied()


def _call(mod, values, *args, **kw):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", FutureWarning)
        return stateless.functional_call(mod, values, *args, **kw)


@needs_torch
def test_signature_and_deprecation_warning_as_torch():
    ours = inspect.signature(stateless.functional_call)
    theirs = inspect.signature(torch.nn.utils.stateless.functional_call)
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]
    with pytest.warns(FutureWarning, match="torch.nn.utils.stateless.functional_call` is deprecated"):
        stateless.functional_call(nn.Linear(2, 2), {}, edunn.ones(1, 2))


def test_swaps_and_restores_and_gradients_flow_to_the_given_tensors():
    m = nn.Linear(3, 2)
    w0, b0 = m.weight, m.bias
    w = edunn.ones(2, 3, requires_grad=True)
    out = _call(m, {"weight": w}, edunn.ones(1, 3))
    np.testing.assert_allclose(out.detach().numpy(), (3 + b0.detach().numpy())[None], rtol=1e-6)
    assert m.weight is w0 and m.bias is b0 and isinstance(m.weight, nn.Parameter)
    out.sum().backward()
    np.testing.assert_allclose(w.grad.numpy(), np.ones((2, 3)))
    assert w0.grad is None


def test_restores_even_when_forward_raises():
    m = nn.Linear(3, 2)
    w0 = m.weight
    with pytest.raises(RuntimeError):
        _call(m, {"weight": edunn.ones(5, 7)}, edunn.ones(1, 3))
    assert m.weight is w0


def test_nested_names_args_kwargs_and_plain_attributes():
    net = nn.Sequential(nn.Linear(2, 2), nn.ReLU(), nn.Linear(2, 1))
    params = {k: edunn.ones_like(v) for k, v in net.named_parameters()}
    np.testing.assert_allclose(_call(net, params, (edunn.ones(1, 2),)).numpy(), [[7.0]])
    np.testing.assert_allclose(_call(net, params, kwargs={"input": edunn.ones(1, 2)}).numpy(), [[7.0]])
    np.testing.assert_allclose(functional_call(net, params, edunn.ones(1, 2)).numpy(), [[7.0]])
    # a name that is not a parameter/buffer is set as an attribute for the call, then removed
    _call(net, {"0.extra": edunn.ones(1)}, edunn.ones(1, 2))
    assert not hasattr(net[0], "extra")


@needs_torch
def test_tie_weights_strict_and_buffer_writeback_as_torch():
    for sl, lib in [(stateless, edunn), (torch.nn.utils.stateless, torch)]:
        mod = make_tied(lib)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)
            zero = {"foo": lib.zeros(1)}
            assert sl.functional_call(mod, zero, lib.zeros(1)).item() == 0.0      # tied: both zero
            assert sl.functional_call(mod, {"foo": lib.zeros(1)}, lib.zeros(1), tie_weights=False).item() == 1.0
            with pytest.raises(ValueError, match=r"functional_call got multiple values for keys \['foo', 'foo_tied'\], "
                                                 "which are tied. Consider using tie_weights=False"):
                sl.functional_call(mod, {"foo": lib.zeros(1), "foo_tied": lib.ones(1)}, lib.zeros(1))
            both = {"foo": lib.zeros(1), "foo_tied": lib.zeros(1)}
            assert sl.functional_call(mod, both, lib.zeros(1), tie_weights=False).item() == 0.0
            with pytest.raises(RuntimeError, match=r"Error\(s\) in reparametrizing for Tied:\n\t"
                                                   r"Unexpected key\(s\): 'bar'.\n\tMissing key\(s\): 'count', 'foo', 'foo_tied'."):
                sl.functional_call(mod, {"bar": lib.zeros(1)}, lib.zeros(1), strict=True)
            before = mod.count.item()
            values = {"count": lib.zeros(1)}
            sl.functional_call(mod, values, lib.zeros(1))
            assert values["count"].item() == 1.0 and mod.count.item() == before  # written back, module unchanged
        assert mod.foo is mod.foo_tied


def test_data_parallel_and_non_tensor_values_rejected():
    with pytest.raises(TypeError, match="is not an instance of torch.Tensor"):
        _call(nn.Linear(2, 2), {"weight": 3.0}, edunn.ones(1, 2))
    dp = nn.DataParallel(nn.Linear(2, 2))
    with pytest.raises(RuntimeError, match="The stateless API can't be used with nn.DataParallel module"):
        _call(dp, {}, edunn.ones(1, 2))
