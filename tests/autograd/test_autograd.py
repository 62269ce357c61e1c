"""backward, .grad, retain_grad, autograd.grad -- each compared with PyTorch (lesson 02)."""
import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson02


def pair(data, requires_grad=True, dtype="float64"):
    e = edunn.tensor(data, dtype=getattr(edunn, dtype), requires_grad=requires_grad)
    t = torch.tensor(data, dtype=getattr(torch, dtype), requires_grad=requires_grad)
    return e, t


def close(e, t, **kw):
    assert e is not None and t is not None
    np.testing.assert_allclose(e.detach().numpy(), t.detach().numpy(), rtol=1e-6, atol=1e-8, **kw)


def test_leaf_and_non_leaf():
    x, _ = pair([1.0, 2.0])
    y = x * 3
    assert x.is_leaf and x.grad_fn is None and x.requires_grad
    assert not y.is_leaf and y.requires_grad and y.grad_fn.name() == "MulBackward0"
    c = edunn.tensor([1.0, 2.0])
    assert c.is_leaf and not (c * 2).requires_grad and (c * 2).is_leaf


def test_grad_accumulates_over_backward_calls():
    (xe, xt) = pair([0.5, -1.5, 2.0])
    for x, m in ((xe, edunn), (xt, torch)):
        (m.exp(x) * x).sum().backward()
        (x * x).sum().backward()
    close(xe.grad, xt.grad)
    xe.grad = None
    (xe * 2).sum().backward()
    assert xe.grad.tolist() == [2.0, 2.0, 2.0]


def test_retain_grad():
    (xe, xt) = pair([1.0, 2.0])
    ye, yt = xe * xe, xt * xt
    ye.retain_grad(), yt.retain_grad()
    assert ye.retains_grad
    (ye * 3).sum().backward()
    (yt * 3).sum().backward()
    close(ye.grad, yt.grad)
    close(xe.grad, xt.grad)
    z, zt = xe * 2, xt * 2
    (z * 1).sum().backward()
    (zt * 1).sum().backward()
    with pytest.warns(UserWarning, match="not a leaf Tensor"):  # non-leaf without retain_grad
        assert z.grad is None
    with pytest.warns(UserWarning, match="not a leaf Tensor"):
        assert zt.grad is None


def test_backward_with_gradient_for_non_scalar():
    (xe, xt) = pair([[1.0, 2.0], [3.0, 4.0]])
    ge, gt = pair([[0.1, -1.0], [2.0, 0.5]], requires_grad=False)
    (xe.tanh() * xe).backward(ge)
    (xt.tanh() * xt).backward(gt)
    close(xe.grad, xt.grad)
    with pytest.raises(RuntimeError, match="grad can be implicitly created only for scalar outputs"):
        (xe * 2).backward()
    with pytest.raises(RuntimeError, match="Mismatch in shape"):
        (xe * 2).backward(edunn.ones(3, dtype=edunn.float64))


def test_backward_on_tensor_without_grad():
    with pytest.raises(RuntimeError, match="does not require grad"):
        edunn.tensor([1.0]).sum().backward()


@pytest.mark.parametrize("op", ["mul", "exp"])
def test_second_backward_needs_retain_graph(op):
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    y = (x * x if op == "mul" else x.exp()).sum()
    y.backward()
    with pytest.raises(RuntimeError, match="Trying to backward through the graph a second time"):
        y.backward()
    x.grad = None
    y = (x * x if op == "mul" else x.exp()).sum()
    y.backward(retain_graph=True)
    y.backward()
    expected = (4 * x.detach()) if op == "mul" else 2 * x.detach().exp()
    np.testing.assert_allclose(x.grad.numpy(), expected.numpy(), rtol=1e-6)


def test_autograd_grad_like_torch():
    (xe, xt), (we, wt) = pair([1.0, -2.0, 0.5]), pair([0.3, 0.2, -0.1])
    fe = (xe.exp() * we).sum()
    ft = (xt.exp() * wt).sum()
    ge = edunn.autograd.grad(fe, [xe, we])
    gt = torch.autograd.grad(ft, [xt, wt])
    for a, b in zip(ge, gt):
        close(a, b)
    assert xe.grad is None and we.grad is None  # grad() does not accumulate
    assert not ge[0].requires_grad


def test_autograd_grad_allow_unused_and_materialize():
    x = edunn.tensor([1.0, 2.0], requires_grad=True)
    unused = edunn.tensor([3.0], requires_grad=True)
    y = (x * 2).sum()
    with pytest.raises(RuntimeError, match="appears to not have been used in the graph"):
        edunn.autograd.grad(y, [x, unused], retain_graph=True)
    gx, gu = edunn.autograd.grad(y, [x, unused], allow_unused=True, retain_graph=True)
    assert gx.tolist() == [2.0, 2.0] and gu is None
    gx, gu = edunn.autograd.grad(y, [x, unused], materialize_grads=True)
    assert gu.tolist() == [0.0]
    with pytest.raises(RuntimeError, match="does not require grad"):
        edunn.autograd.grad((x * 2).sum(), [edunn.tensor([1.0])])


def test_autograd_grad_wrt_non_leaf():
    (xe, xt) = pair([0.5, 1.5])
    he, ht = xe.tanh(), xt.tanh()
    fe, ft = (he * he * xe).sum(), (ht * ht * xt).sum()
    close(edunn.autograd.grad(fe, he, retain_graph=True)[0], torch.autograd.grad(ft, ht, retain_graph=True)[0])
    close(edunn.autograd.grad(fe, [xe, he])[1], torch.autograd.grad(ft, [xt, ht])[1])


def test_autograd_grad_with_grad_outputs():
    (xe, xt) = pair([[1.0, 2.0], [3.0, 4.0]])
    ve, vt = pair([[1.0, 0.0], [0.5, -1.0]], requires_grad=False)
    close(edunn.autograd.grad(xe ** 3, xe, ve)[0], torch.autograd.grad(xt ** 3, xt, vt)[0])


def test_backward_inputs_restricts_accumulation():
    (xe, xt), (we, wt) = pair([1.0, 2.0]), pair([3.0, 4.0])
    (xe * we).sum().backward(inputs=[we])
    (xt * wt).sum().backward(inputs=[wt])
    assert xe.grad is None and xt.grad is None
    close(we.grad, wt.grad)
    he, ht = xe * 2, xt * 2
    (he * we).sum().backward(inputs=[he])
    (ht * wt).sum().backward(inputs=[ht])
    close(he.grad, ht.grad)
    assert xe.grad is None


def test_autograd_backward_function_multiple_roots():
    (xe, xt) = pair([1.0, 2.0])
    edunn.autograd.backward([(xe * 2).sum(), (xe * xe).sum()])
    torch.autograd.backward([(xt * 2).sum(), (xt * xt).sum()])
    close(xe.grad, xt.grad)


def test_broadcast_gradients_sum_back():
    (ae, at), (be, bt) = pair(np.arange(6.0).reshape(2, 3).tolist()), pair([[1.0], [2.0]])
    ce, ct = pair(1.5)
    ((ae * be + ce) ** 2).sum().backward()
    ((at * bt + ct) ** 2).sum().backward()
    for e, t in ((ae, at), (be, bt), (ce, ct)):
        assert tuple(e.grad.shape) == tuple(t.grad.shape)
        close(e.grad, t.grad)


def test_gradient_dtype_follows_input():
    x = edunn.tensor([1.0, 2.0], dtype=edunn.float32, requires_grad=True)
    w = edunn.tensor([1.0, 2.0], dtype=edunn.float64, requires_grad=True)
    (x * w).sum().backward()
    assert x.grad.dtype is edunn.float32 and w.grad.dtype is edunn.float64


def test_diamond_graph_and_reuse():
    (xe, xt) = pair([0.3, -0.7])
    for x, m in ((xe, edunn), (xt, torch)):
        a = x.exp()
        b = a * x
        c = a + b * b
        (c * a).sum().backward()
    close(xe.grad, xt.grad)


def test_next_functions_structure():
    x = edunn.tensor([1.0], requires_grad=True)
    c = edunn.tensor([2.0])
    y = x * c
    z = y.exp()
    (fn, nr), = z.grad_fn.next_functions
    assert fn is y.grad_fn and nr == 0
    (leaf, _), (none, _) = y.grad_fn.next_functions
    assert leaf.name() == "AccumulateGrad" and leaf.variable is x
    assert none is None
    t = torch.tensor([1.0], requires_grad=True)
    tz = (t * torch.tensor([2.0])).exp()
    assert len(tz.grad_fn.next_functions) == len(z.grad_fn.next_functions)
    assert len(tz.grad_fn.next_functions[0][0].next_functions) == len(y.grad_fn.next_functions)
