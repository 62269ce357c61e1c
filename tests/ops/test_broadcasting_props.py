"""Property tests for broadcasting (hypothesis): for any pair of broadcast-compatible shapes the
result has the broadcast shape and the gradient of each input has that input's shape (and equals
PyTorch's); incompatible shapes raise a RuntimeError that names both shapes."""
import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import edunn
from opcheck import torch

SETTINGS = settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@st.composite
def broadcastable_pair(draw):
    """Two shapes that broadcast: start from a common shape, then set some sizes to 1 and drop
    some leading dims independently in each."""
    ndim = draw(st.integers(0, 4))
    base = draw(st.lists(st.integers(1, 4), min_size=ndim, max_size=ndim))

    def derive():
        keep = draw(st.integers(0, ndim))
        shape = base[ndim - keep:]
        return tuple(1 if draw(st.booleans()) else s for s in shape)
    return derive(), derive()


@st.composite
def clashing_pair(draw):
    """Two shapes that do not broadcast: one dim has different sizes, neither 1."""
    a = draw(st.lists(st.integers(1, 4), min_size=1, max_size=3))
    i = draw(st.integers(0, len(a) - 1))
    b = list(a)
    b[i] = draw(st.integers(2, 5).filter(lambda s: s != a[i]))
    if a[i] == 1:
        a[i] = draw(st.integers(2, 5).filter(lambda s: s != b[i]))
    return tuple(a), tuple(b)


OPS = {"add": lambda a, b: a + b, "mul": lambda a, b: a * b, "div": lambda a, b: a / b}


@pytest.mark.lesson01
@SETTINGS
@given(shapes=broadcastable_pair(), op=st.sampled_from(sorted(OPS)))
def test_result_has_the_broadcast_shape(shapes, op):
    sa, sb = shapes
    a, b = edunn.ones(sa), edunn.ones(sb) * 2
    assert tuple(OPS[op](a, b).shape) == np.broadcast_shapes(sa, sb)


@pytest.mark.lesson02
@SETTINGS
@given(shapes=broadcastable_pair(), op=st.sampled_from(sorted(OPS)), seed=st.integers(0, 2 ** 16))
def test_gradients_have_input_shapes_and_match_pytorch(shapes, op, seed):
    sa, sb = shapes
    rng = np.random.default_rng(seed)
    a_np = rng.uniform(0.5, 2.0, sa).astype(np.float32)
    b_np = rng.uniform(0.5, 2.0, sb).astype(np.float32)
    a = edunn.tensor(a_np, requires_grad=True)
    b = edunn.tensor(b_np, requires_grad=True)
    out = OPS[op](a, b)
    g = rng.standard_normal(tuple(out.shape)).astype(np.float32)
    out.backward(edunn.tensor(g))
    assert tuple(a.grad.shape) == sa and tuple(b.grad.shape) == sb
    assert a.grad.dtype == edunn.float32 and b.grad.dtype == edunn.float32
    if torch is None:
        return
    ta = torch.tensor(a_np, requires_grad=True)
    tb = torch.tensor(b_np, requires_grad=True)
    OPS[op](ta, tb).backward(torch.tensor(g))
    np.testing.assert_allclose(a.grad.numpy(), ta.grad.numpy(), rtol=1e-4, atol=1e-5)
    np.testing.assert_allclose(b.grad.numpy(), tb.grad.numpy(), rtol=1e-4, atol=1e-5)


@pytest.mark.lesson01
@SETTINGS
@given(shapes=clashing_pair(), op=st.sampled_from(sorted(OPS) + ["sub", "eq", "maximum"]), swap=st.booleans())
def test_incompatible_shapes_raise_naming_both(shapes, op, swap):
    sa, sb = shapes[::-1] if swap else shapes
    fns = dict(OPS, sub=lambda a, b: a - b, eq=lambda a, b: a == b, maximum=edunn.maximum)
    with pytest.raises(RuntimeError) as info:
        fns[op](edunn.ones(sa), edunn.ones(sb))
    msg = str(info.value)
    assert str(list(sa)) in msg and str(list(sb)) in msg, msg


@pytest.mark.lesson02
@SETTINGS
@given(shapes=broadcastable_pair())
def test_scalar_operands_keep_tensor_shape_and_grad(shapes):
    sa, _ = shapes
    a = edunn.ones(sa, requires_grad=True)
    (2.5 * a / 3 - 1).sum().backward()
    assert tuple(a.grad.shape) == sa
    np.testing.assert_allclose(a.grad.numpy(), np.full(sa, 2.5 / 3, np.float32), rtol=1e-6)
