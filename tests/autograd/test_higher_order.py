"""create_graph=True: double backward, Hessian-vector products, autograd.functional (lesson 02)."""
import numpy as np
import pytest

import edunn
from edunn.autograd import functional as EF

torch = pytest.importorskip("torch")
TF = torch.autograd.functional

pytestmark = pytest.mark.lesson02

X = [0.3, -1.2, 0.8]
Y = [1.5, 0.5, -0.7]


def pair(data):
    return (edunn.tensor(data, dtype=edunn.float64, requires_grad=True),
            torch.tensor(data, dtype=torch.float64, requires_grad=True))


def close(e, t):
    np.testing.assert_allclose(np.asarray(e.detach().numpy()), t.detach().numpy(), rtol=1e-9, atol=1e-12)


def f_cubic(x, y):
    return (x ** 3 * y).sum()


def f_tanh(x, y):
    return (x * y).tanh().tanh().sum() + (x.tanh() * x).sum()


@pytest.mark.parametrize("f", [f_cubic, f_tanh])
def test_double_backward_matches_torch(f):
    (xe, xt), (ye, yt) = pair(X), pair(Y)
    ge = edunn.autograd.grad(f(xe, ye), [xe, ye], create_graph=True)
    gt = torch.autograd.grad(f(xt, yt), [xt, yt], create_graph=True)
    for a, b in zip(ge, gt):
        assert a.requires_grad
        close(a, b)
    (ge[0] * ge[1]).sum().backward()
    (gt[0] * gt[1]).sum().backward()
    close(xe.grad, xt.grad)
    close(ye.grad, yt.grad)


@pytest.mark.parametrize("f", [f_cubic, f_tanh])
def test_hessian_vector_product_by_hand(f):
    (xe, xt), (ye, yt) = pair(X), pair(Y)
    v = [1.0, -2.0, 0.5]
    ge, = edunn.autograd.grad(f(xe, ye), xe, create_graph=True)
    gt, = torch.autograd.grad(f(xt, yt), xt, create_graph=True)
    hve, = edunn.autograd.grad(ge, xe, edunn.tensor(v, dtype=edunn.float64))
    hvt, = torch.autograd.grad(gt, xt, torch.tensor(v, dtype=torch.float64))
    close(hve, hvt)


def test_third_derivative():
    xe, xt = pair([0.7, -0.4])
    outs = []
    for x, m in ((xe, edunn), (xt, torch)):
        y = (x ** 4).sum()
        g1, = m.autograd.grad(y, x, create_graph=True)
        g2, = m.autograd.grad(g1.sum(), x, create_graph=True)
        g3, = m.autograd.grad(g2.sum(), x)
        outs.append(g3)
    close(*outs)  # 24 x


def test_backward_create_graph_then_grad_of_grad():
    xe, xt = pair(X)
    for x in (xe, xt):
        (x.exp() * x).sum().backward(create_graph=True)
    assert xe.grad.requires_grad
    ge, = edunn.autograd.grad(xe.grad.sum(), xe)
    gt, = torch.autograd.grad(xt.grad.sum(), xt)
    close(ge, gt)


def _scalar(m):
    return lambda x, y: (x ** 3 * y).sum() + (x * y).tanh().sum()


def _vector(m):
    return lambda x: (x ** 2).tanh() * x.exp()


def _inputs():
    xe, ye = (edunn.tensor(d, dtype=edunn.float64) for d in (X, Y))
    xt, yt = (torch.tensor(d, dtype=torch.float64) for d in (X, Y))
    return (xe, ye), (xt, yt)


def test_functional_hessian():
    (xe, ye), (xt, yt) = _inputs()
    he = EF.hessian(_scalar(edunn), (xe, ye))
    ht = TF.hessian(_scalar(torch), (xt, yt))
    for i in range(2):
        for j in range(2):
            close(he[i][j], ht[i][j])
    h1e = EF.hessian(lambda x: (x ** 3).sum(), xe)
    h1t = TF.hessian(lambda x: (x ** 3).sum(), xt)
    close(h1e, h1t)


def test_functional_jacobian():
    (xe, _), (xt, _) = _inputs()
    close(EF.jacobian(_vector(edunn), xe), TF.jacobian(_vector(torch), xt))
    je = EF.jacobian(lambda a, b: a * b, (xe, xe))
    jt = TF.jacobian(lambda a, b: a * b, (xt, xt))
    close(je[0], jt[0]) and close(je[1], jt[1])


def test_functional_vjp_jvp_hvp_vhp():
    (xe, ye), (xt, yt) = _inputs()
    ve, vt = edunn.tensor([1.0, 0.5, -1.0], dtype=edunn.float64), torch.tensor([1.0, 0.5, -1.0], dtype=torch.float64)
    oe, vje = EF.vjp(_vector(edunn), xe, ve)
    ot, vjt = TF.vjp(_vector(torch), xt, vt)
    close(oe, ot) and close(vje, vjt)
    oe, jve = EF.jvp(_vector(edunn), xe, ve)
    ot, jvt = TF.jvp(_vector(torch), xt, vt)
    close(oe, ot)
    close(jve, jvt)
    f_e = lambda x: (x ** 3).sum() + x.tanh().prod() if hasattr(edunn, "prod") else (x ** 3).sum()
    f_t = lambda x: (x ** 3).sum() + x.tanh().prod() if hasattr(edunn, "prod") else (x ** 3).sum()
    for fe_, ft_ in ((EF.hvp, TF.hvp), (EF.vhp, TF.vhp)):
        oe, he = fe_(f_e, xe, ve)
        ot, ht = ft_(f_t, xt, vt)
        close(oe, ot)
        close(he, ht)
