"""Forward-mode AD op by op: for each op, the tangent (and the value) that ``edunn.autograd.
forward_ad`` propagates equals what ``torch.autograd.forward_ad`` gives on the same primals and
tangents (float64).  Each op is run twice: with the explicit JVP table (``_forward_rules``), and
with the table switched off, so that every op goes through the generic double-vjp fallback."""
import numpy as np
import pytest

import edunn
import edunn.autograd.forward_ad as fwad
from edunn.autograd import _forward_rules, forward_ad as fw_module
from opcheck import needs_torch, torch

pytestmark = needs_torch


def _idx(M, *values):
    return M.tensor(list(values))


# (name, fn(M, F, *inputs) with M = edunn or torch and F its nn.functional, input shapes, low, high)
CASES = [
    # unary elementwise
    ("exp", lambda M, F, x: x.exp(), [(3, 4)], -2, 2),
    ("log", lambda M, F, x: x.log(), [(3, 4)], 0.5, 3),
    ("tanh", lambda M, F, x: M.tanh(x), [(3, 4)], -2, 2),
    ("sigmoid", lambda M, F, x: M.sigmoid(x), [(3, 4)], -2, 2),
    ("relu", lambda M, F, x: F.relu(x), [(3, 4)], -2, 2),
    ("sin", lambda M, F, x: x.sin(), [(5,)], -3, 3),
    ("cos", lambda M, F, x: x.cos(), [(5,)], -3, 3),
    ("tan", lambda M, F, x: x.tan(), [(5,)], -1, 1),
    ("sqrt", lambda M, F, x: x.sqrt(), [(5,)], 0.5, 3),
    ("rsqrt", lambda M, F, x: x.rsqrt(), [(5,)], 0.5, 3),
    ("square", lambda M, F, x: x.square(), [(5,)], -2, 2),
    ("reciprocal", lambda M, F, x: x.reciprocal(), [(5,)], 0.5, 2),
    ("abs", lambda M, F, x: x.abs(), [(5,)], -2, 2),
    ("neg", lambda M, F, x: -x, [(5,)], -2, 2),
    ("sinh_cosh", lambda M, F, x: x.sinh() + x.cosh(), [(5,)], -2, 2),
    ("atan_asin", lambda M, F, x: x.atan() + x.asin(), [(5,)], -0.9, 0.9),
    ("erf", lambda M, F, x: M.erf(x), [(5,)], -2, 2),
    ("expm1_log1p", lambda M, F, x: x.expm1() + x.log1p(), [(5,)], 0.1, 2),
    ("log2_exp2", lambda M, F, x: x.log2() + M.exp2(x), [(5,)], 0.1, 2),
    ("acos", lambda M, F, x: x.acos(), [(5,)], -0.9, 0.9),
    ("atanh", lambda M, F, x: x.atanh(), [(5,)], -0.9, 0.9),
    ("clamp", lambda M, F, x: x.clamp(-0.5, 0.7), [(3, 4)], -2, 2),
    ("gelu", lambda M, F, x: F.gelu(x), [(3, 4)], -2, 2),
    ("softplus", lambda M, F, x: F.softplus(x), [(3, 4)], -2, 2),
    ("elu", lambda M, F, x: F.elu(x), [(3, 4)], -2, 2),
    ("silu", lambda M, F, x: F.silu(x), [(3, 4)], -2, 2),
    ("leaky_relu", lambda M, F, x: F.leaky_relu(x, 0.1), [(3, 4)], -2, 2),
    # binary elementwise, with broadcasting and numbers
    ("add_broadcast", lambda M, F, a, b: a + b, [(3, 4), (4,)], -2, 2),
    ("sub_alpha", lambda M, F, a, b: M.sub(a, b, alpha=2.5), [(3, 4), (3, 4)], -2, 2),
    ("add_number", lambda M, F, a: 2 + a * 3, [(3, 4)], -2, 2),
    ("mul", lambda M, F, a, b: a * b, [(3, 4), (3, 1)], -2, 2),
    ("div", lambda M, F, a, b: a / b, [(3, 4), (3, 4)], 0.5, 2),
    ("rdiv_number", lambda M, F, a: 2.0 / a, [(3, 4)], 0.5, 2),
    ("pow_number", lambda M, F, a: a ** 3, [(3, 4)], -2, 2),
    ("pow_tensor", lambda M, F, a, b: a ** b, [(3, 4), (3, 4)], 0.5, 2),
    ("rpow", lambda M, F, a: 2.0 ** a, [(3, 4)], -1, 1),
    ("maximum", lambda M, F, a, b: M.maximum(a, b), [(3, 4), (3, 4)], -2, 2),
    ("atan2", lambda M, F, a, b: M.atan2(a, b), [(3, 4), (3, 4)], 0.5, 2),
    ("where", lambda M, F, a, b: M.where(a > 0, a, b), [(3, 4), (3, 4)], -2, 2),
    ("lerp", lambda M, F, a, b: M.lerp(a, b, 0.3), [(3, 4), (3, 4)], -2, 2),
    # reductions
    ("sum_all", lambda M, F, x: x.sum(), [(3, 4)], -2, 2),
    ("sum_dim_keepdim", lambda M, F, x: x.sum(1, keepdim=True), [(3, 4, 2)], -2, 2),
    ("mean_dims", lambda M, F, x: x.mean((0, 2)), [(3, 4, 2)], -2, 2),
    ("prod_dim", lambda M, F, x: x.prod(1), [(3, 4)], 0.5, 2),
    ("var_keepdim", lambda M, F, x: x.var(1, keepdim=True), [(3, 4)], -2, 2),
    ("std", lambda M, F, x: x.std(0), [(3, 4)], -2, 2),
    ("norm", lambda M, F, x: x.norm(dim=1), [(3, 4)], -2, 2),
    ("logsumexp", lambda M, F, x: M.logsumexp(x, 1), [(3, 4)], -2, 2),
    ("amax", lambda M, F, x: x.amax(1), [(3, 4)], -2, 2),
    ("max_dim", lambda M, F, x: x.max(1)[0], [(3, 4)], -2, 2),
    ("cumsum", lambda M, F, x: x.cumsum(1), [(3, 4)], -2, 2),
    ("cumprod", lambda M, F, x: x.cumprod(1), [(3, 4)], 0.5, 2),
    # linear algebra and layers
    ("matmul", lambda M, F, a, b: a @ b, [(3, 4), (4, 2)], -2, 2),
    ("bmm", lambda M, F, a, b: M.bmm(a, b), [(2, 3, 4), (2, 4, 5)], -2, 2),
    ("linear", lambda M, F, x, w, b: F.linear(x, w, b), [(5, 4), (3, 4), (3,)], -2, 2),
    ("einsum", lambda M, F, a, b: M.einsum("ij,jk->ik", a, b), [(3, 4), (4, 2)], -2, 2),
    ("conv2d", lambda M, F, x, w, b: F.conv2d(x, w, b, padding=1), [(2, 3, 5, 5), (4, 3, 3, 3), (4,)], -1, 1),
    ("softmax", lambda M, F, x: F.softmax(x, dim=1), [(3, 4)], -2, 2),
    ("log_softmax", lambda M, F, x: F.log_softmax(x, dim=-1), [(3, 4)], -2, 2),
    ("layer_norm", lambda M, F, x, w, b: F.layer_norm(x, (4,), w, b), [(3, 4), (4,), (4,)], -2, 2),
    ("cross_entropy", lambda M, F, x: F.cross_entropy(x, _idx(M, 0, 2, 1)), [(3, 4)], -2, 2),
    ("mse_loss", lambda M, F, a, b: F.mse_loss(a, b), [(3, 4), (3, 4)], -2, 2),
    # shapes, views, indexing, joining
    ("reshape", lambda M, F, x: x.reshape(4, 3), [(3, 4)], -2, 2),
    ("view", lambda M, F, x: x.view(2, 6), [(3, 4)], -2, 2),
    ("transpose", lambda M, F, x: x.transpose(0, 1) * 1, [(3, 4)], -2, 2),
    ("permute", lambda M, F, x: x.permute(2, 0, 1), [(3, 4, 2)], -2, 2),
    ("expand", lambda M, F, x: x.expand(3, 4), [(1, 4)], -2, 2),
    ("squeeze_unsqueeze", lambda M, F, x: x.unsqueeze(0).squeeze(1), [(3, 1, 4)], -2, 2),
    ("basic_index", lambda M, F, x: x[1:, ::2], [(3, 4)], -2, 2),
    ("advanced_index", lambda M, F, x: x[_idx(M, 2, 0, 2)], [(3, 4)], -2, 2),
    ("gather", lambda M, F, x: x.gather(1, M.tensor([[0, 3], [1, 1], [2, 0]])), [(3, 4)], -2, 2),
    ("index_select", lambda M, F, x: x.index_select(1, _idx(M, 3, 0)), [(3, 4)], -2, 2),
    ("cat", lambda M, F, a, b: M.cat([a, b], 1), [(3, 4), (3, 2)], -2, 2),
    ("stack", lambda M, F, a, b: M.stack([a, b]), [(3, 4), (3, 4)], -2, 2),
    ("chunk", lambda M, F, x: x.chunk(2, 1)[1], [(3, 4)], -2, 2),
    ("unbind", lambda M, F, x: x.unbind(0)[2], [(3, 4)], -2, 2),
    ("flip_roll", lambda M, F, x: x.flip(0).roll(1, 1), [(3, 4)], -2, 2),
    ("repeat", lambda M, F, x: x.repeat(2, 1), [(3, 4)], -2, 2),
    ("tril_diagonal", lambda M, F, x: x.tril().diagonal(), [(4, 4)], -2, 2),
    ("pad", lambda M, F, x: F.pad(x, (1, 2), value=3.0), [(3, 4)], -2, 2),
    ("flatten", lambda M, F, x: x.flatten(), [(3, 4, 2)], -2, 2),
    # in-place ops on dual tensors and on views
    ("mul_", lambda M, F, a, b: (a * 1).mul_(b), [(3, 4), (3, 4)], -2, 2),
    ("add_alpha_", lambda M, F, a, b: (a * 1).add_(b, alpha=2), [(3, 4), (4,)], -2, 2),
    ("exp_", lambda M, F, a: (a * 1).exp_(), [(3, 4)], -2, 2),
    ("setitem", lambda M, F, a, b: _setitem(a, b), [(3, 4), (4,)], -2, 2),
    ("copy_", lambda M, F, a, b: M.zeros(3, 4, dtype=M.float64).copy_(b), [(3, 4), (4,)], -2, 2),
    ("view_mul_", lambda M, F, a: _view_inplace(a), [(3, 4)], -2, 2),
    ("t_", lambda M, F, a: (a * 1).t_(), [(3, 4)], -2, 2),
]


def _setitem(a, b):
    y = a * 1
    y[1] = b
    return y


def _view_inplace(a):
    y = a * 1
    y[1].mul_(3)           # a view: the base's tangent changes in that row
    y.t()[0].add_(1)       # and through another view
    return y


def _np(t):
    return t.detach().numpy()


def _run(module, fw, M, F, fn, primals, tangents):
    """``fn`` on dual tensors; returns the (primal, tangent) pairs of its float outputs."""
    with fw.dual_level():
        duals = [fw.make_dual(M.tensor(p), M.tensor(t)) for p, t in zip(primals, tangents)]
        out = fn(M, F, *duals)
        outs = out if isinstance(out, (tuple, list)) else (out,)
        return [(_np(fw.unpack_dual(o).primal), fw.unpack_dual(o).tangent) for o in outs]


def _compare(case, seed=0):
    name, fn, shapes, low, high = case
    rng = np.random.default_rng(seed)
    primals = [rng.uniform(low, high, s) for s in shapes]
    tangents = [rng.standard_normal(s) for s in shapes]
    ours = _run(edunn, fwad, edunn, edunn.nn.functional, fn, primals, tangents)
    import torch.autograd.forward_ad as tfw
    theirs = _run(torch, tfw, torch, torch.nn.functional, fn, primals, tangents)
    for (p, t), (tp, tt) in zip(ours, theirs):
        np.testing.assert_allclose(p, tp, rtol=1e-10, atol=1e-12, err_msg=f"{name}: value")
        assert (t is None) == (tt is None), f"{name}: tangent {t} vs torch's {tt}"
        if t is not None:
            assert tuple(t.shape) == tuple(tt.shape), name
            np.testing.assert_allclose(_np(t), _np(tt), rtol=1e-9, atol=1e-11, err_msg=f"{name}: tangent")


@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_tangent_matches_torch(case):
    _compare(case)


# Every op again with the JVP table switched off: the double-vjp fallback alone.
@pytest.mark.parametrize("case", CASES, ids=[c[0] for c in CASES])
def test_fallback_matches_torch(case, monkeypatch):
    monkeypatch.setattr(_forward_rules, "rules", lambda: {})
    _compare(case, seed=1)


FALLBACK_OPS = ["clamp", "gelu", "maximum", "atan2", "prod_dim", "var_keepdim", "norm", "logsumexp",
                "amax", "cumprod", "conv2d", "layer_norm", "cross_entropy", "acos", "lerp"]


@pytest.mark.parametrize("name", FALLBACK_OPS)
def test_ops_without_rules_use_the_fallback(name, monkeypatch):
    """These ops have no explicit rule: their tangents (checked against torch above) come from
    the double-vjp fallback."""
    seen = []
    real = fw_module._fallback

    def spy(cls, *args):
        seen.append(cls)
        return real(cls, *args)
    monkeypatch.setattr(fw_module, "_fallback", spy)
    case = next(c for c in CASES if c[0] == name)
    _compare(case)
    assert seen and not any(cls in _forward_rules.rules() for cls in seen)


def test_common_ops_use_rules_not_the_fallback(monkeypatch):
    """An MLP's ops (linear, relu, tanh, softmax, sum, mean, indexing) all have explicit rules."""
    def fail(cls, *args):
        raise AssertionError(f"{cls.__name__} went to the fallback")
    monkeypatch.setattr(fw_module, "_fallback", fail)

    def mlp(M, F, x, w1, b1, w2):
        h = F.relu(F.linear(x, w1, b1)).tanh()
        return F.log_softmax(h @ w2.t(), dim=1)[:, 1:].sum(0).mean() + F.softmax(h, 0).exp().sum()
    _compare(("mlp", mlp, [(5, 4), (6, 4), (6,), (3, 6)], -1, 1))
