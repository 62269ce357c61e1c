"""``F.conv_tbc`` (lesson 09) and the deprecated ``nn.Container`` (lesson 03) against PyTorch CPU:
values, gradients of input, weight and bias for positive, zero and negative padding, errors,
gradcheck in float64; Container's warning and registration."""
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, edunn.Tensor) else t.detach().numpy()


@pytest.mark.lesson09
@pytest.mark.parametrize("pad", [0, 1, 2, -1])
@pytest.mark.parametrize("kernel", [1, 3])
def test_conv_tbc_matches_torch(pad, kernel, device):
    rng = np.random.default_rng(kernel)
    for dtype, tol in (("float32", 1e-5), ("float64", 1e-12)):
        arrays = [rng.standard_normal(s).astype(dtype) for s in ((6, 2, 3), (kernel, 3, 4), (4,))]
        ours = [edunn.tensor(a, requires_grad=True, device=device) for a in arrays]
        theirs = [torch.tensor(a, requires_grad=True) for a in arrays]
        eo, to = F.conv_tbc(*ours, pad), TF.conv_tbc(*theirs, pad)
        assert tuple(eo.shape) == tuple(to.shape)
        np.testing.assert_allclose(_np(eo), _np(to), atol=tol, rtol=tol)
        go = rng.standard_normal(tuple(to.shape)).astype(dtype)
        eo.backward(edunn.tensor(go, device=device))
        to.backward(torch.tensor(go))
        for name, a, b in zip(("input", "weight", "bias"), ours, theirs):
            np.testing.assert_allclose(_np(a.grad), _np(b.grad), atol=tol, rtol=tol, err_msg=name)


@pytest.mark.lesson09
def test_conv_tbc_gradcheck():
    rng = np.random.default_rng(0)
    args = [edunn.tensor(rng.standard_normal(s), requires_grad=True) for s in ((5, 2, 3), (2, 3, 2), (2,))]
    assert gradcheck(lambda x, w, b: F.conv_tbc(x, w, b, 1), args)
    assert gradcheck(lambda x, w, b: F.conv_tbc(x, w, b, pad=-1), args)


CONV_TBC_ERRORS = [((6, 3), (3, 3, 4), (4,), 0), ((5, 2, 3), (3, 4), (4,), 0), ((5, 2, 3), (3, 3, 4), (1, 4), 0),
                   ((5, 2, 3), (3, 2, 4), (4,), 0), ((5, 2, 3), (3, 3, 4), (3,), 0),
                   ((5, 2, 3), (3, 3, 4), (4,), -2)]


@pytest.mark.lesson09
@pytest.mark.parametrize("xs,ws,bs,pad", CONV_TBC_ERRORS)
def test_conv_tbc_errors_match_torch(xs, ws, bs, pad):
    arrays = [np.zeros(s, np.float32) for s in (xs, ws, bs)]
    with pytest.raises(Exception) as expected:
        TF.conv_tbc(*[torch.tensor(a) for a in arrays], pad)
    with pytest.raises(type(expected.value)) as got:
        F.conv_tbc(*[edunn.tensor(a) for a in arrays], pad)
    assert str(got.value) == str(expected.value)


@pytest.mark.lesson09
def test_conv_tbc_argument_types():
    x, w, b = edunn.zeros(5, 2, 3), edunn.zeros(3, 3, 4), edunn.zeros(4)
    with pytest.raises(TypeError, match=r"argument 'bias' \(position 3\) must be Tensor, not NoneType"):
        F.conv_tbc(x, w, None)
    with pytest.raises(TypeError, match=r"argument 'pad' \(position 4\) must be int, not float"):
        F.conv_tbc(x, w, b, 1.5)


@pytest.mark.lesson03
def test_container_warns_and_registers_its_keyword_modules():
    with warnings.catch_warnings(record=True) as ours:
        warnings.simplefilter("always")
        c = nn.Container(conv=nn.Conv1d(2, 3, 1), fc=nn.Linear(3, 4))
    with warnings.catch_warnings(record=True) as theirs:
        warnings.simplefilter("always")
        tc = torch.nn.Container(conv=torch.nn.Conv1d(2, 3, 1), fc=torch.nn.Linear(3, 4))
    assert [(w.category, str(w.message)) for w in ours] == [(w.category, str(w.message)) for w in theirs]
    assert list(c._modules) == ["conv", "fc"] and c.fc is c._modules["fc"]
    assert sorted(c.state_dict()) == sorted(tc.state_dict())
    assert isinstance(c, nn.Module) and repr(c) == repr(tc)
