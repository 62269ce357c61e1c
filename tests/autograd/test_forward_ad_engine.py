"""Forward-mode AD meeting the backward engine and ``out=``, compared with torch's ``fwAD``:

* forward over reverse without ``create_graph``: a gradient computed inside a dual level carries
  ``H·t`` (a Hessian-vector product) in torch, also through the backwards that take a raw-array
  shortcut when grad mode is off (``Linear``, ``cross_entropy``);
* ``.grad`` of leaves and ``retain_grad`` inside a level behave as torch's ``AccumulateGrad``;
* ``out=`` with a dual input (or a dual ``out``) raises torch's ``NotImplementedError``;
* outside a level nothing changes (the engine's fast paths are untouched)."""
import numpy as np
import pytest

import edunn
import edunn.autograd.forward_ad as fwad
from opcheck import needs_torch, torch

pytestmark = needs_torch

if torch is not None:
    import torch.autograd.forward_ad as tfwad

_RNG = np.random.default_rng(7)
_SHAPES = [(8, 5), (8,), (3, 8), (3,)]
_P = [_RNG.standard_normal(s) for s in _SHAPES]
_V = [_RNG.standard_normal(s) for s in _SHAPES]
_X = _RNG.standard_normal((6, 5))
_Y = np.array([0, 1, 2, 0, 2, 1])


def _np(t):
    return None if t is None else t.detach().cpu().numpy()


def _mlp_hvp(lib, fw, create_graph, wrt_duals, device="cpu"):
    """Gradient of an MLP's cross-entropy loss taken inside a dual level whose weights carry
    the tangents ``_V``: returns [(gradient, its tangent)] per parameter."""
    F = lib.nn.functional
    kw = {"device": device} if lib is edunn else {}
    ps = [lib.tensor(p, requires_grad=True, **kw) for p in _P]
    with fw.dual_level():
        ds = [fw.make_dual(p, lib.tensor(v, **kw)) for p, v in zip(ps, _V)]
        h = lib.tanh(F.relu(F.linear(lib.tensor(_X, **kw), ds[0], ds[1])))
        loss = F.cross_entropy(F.linear(h, ds[2], ds[3]), lib.tensor(_Y, **kw))
        gs = lib.autograd.grad(loss, ds if wrt_duals else ps, create_graph=create_graph)
        return [(_np(p), _np(t)) for p, t in (fw.unpack_dual(g) for g in gs)]


@pytest.mark.parametrize("create_graph", [False, True])
@pytest.mark.parametrize("wrt_duals", [False, True])
def test_mlp_hessian_vector_product_matches_torch(device, create_graph, wrt_duals):
    ours = _mlp_hvp(edunn, fwad, create_graph, wrt_duals, device)
    theirs = _mlp_hvp(torch, tfwad, create_graph, wrt_duals)
    for (g, t), (tg, tt) in zip(ours, theirs):
        np.testing.assert_allclose(g, tg, rtol=1e-10, atol=1e-12)
        assert t is not None and tt is not None
        np.testing.assert_allclose(t, tt, rtol=1e-10, atol=1e-12)


def test_hvp_matches_finite_differences_of_the_gradient():
    """Independent of torch: the tangent of the gradient is (g(p + eps v) - g(p - eps v)) / 2eps."""
    def grad_at(shift):
        ps = [edunn.tensor(p + shift * v, requires_grad=True) for p, v in zip(_P, _V)]
        F = edunn.nn.functional
        h = edunn.tanh(F.relu(F.linear(edunn.tensor(_X), ps[0], ps[1])))
        loss = F.cross_entropy(F.linear(h, ps[2], ps[3]), edunn.tensor(_Y))
        return [_np(g) for g in edunn.autograd.grad(loss, ps)]
    eps = 1e-6
    fd = [(a - b) / (2 * eps) for a, b in zip(grad_at(eps), grad_at(-eps))]
    for (_, t), f in zip(_mlp_hvp(edunn, fwad, False, False), fd):
        np.testing.assert_allclose(t, f, rtol=1e-5, atol=1e-7)


def test_grad_results_do_not_require_grad_without_create_graph():
    w = edunn.tensor(_P[0], requires_grad=True)
    with fwad.dual_level():
        d = fwad.make_dual(w, edunn.tensor(_V[0]))
        g, = edunn.autograd.grad((d.exp() * d).sum(), w)
        assert not g.requires_grad and g.grad_fn is None
        assert not fwad.unpack_dual(g).tangent.requires_grad


def _accumulation(lib, fw):
    w = lib.tensor(_P[1], requires_grad=True)
    with fw.dual_level():
        d = fw.make_dual(w, lib.tensor(_V[1]))
        h = d.exp()
        h.retain_grad()
        y = (h * h).sum()
        y.backward(retain_graph=True)
        first_leaf, first_h = fw.unpack_dual(w.grad).tangent, fw.unpack_dual(h.grad).tangent
        y.backward()
        return [_np(first_leaf), _np(first_h), _np(fw.unpack_dual(w.grad).tangent),
                _np(fw.unpack_dual(h.grad).tangent), _np(w.grad), _np(h.grad)]


def test_leaf_grad_and_retain_grad_tangents_match_torch():
    """torch's AccumulateGrad keeps a fresh gradient without its tangent, then adds in place
    (the sum takes the new gradient's tangent); retain_grad clones (keeps the tangent)."""
    ours, theirs = _accumulation(edunn, fwad), _accumulation(torch, tfwad)
    for a, b in zip(ours, theirs):
        if b is None:
            assert a is None
        else:
            np.testing.assert_allclose(a, b, rtol=1e-12)


def test_outside_a_level_backward_is_unchanged():
    w = edunn.tensor(_P[0], requires_grad=True)
    with fwad.dual_level():
        pass
    F = edunn.nn.functional
    F.linear(edunn.tensor(_X), w).sum().backward()
    tw = torch.tensor(_P[0], requires_grad=True)
    torch.nn.functional.linear(torch.tensor(_X), tw).sum().backward()
    np.testing.assert_allclose(_np(w.grad), _np(tw.grad), rtol=1e-12)
    assert fwad.unpack_dual(w.grad).tangent is None


# ------------------------------------------------------------------------------- out=
_OUT_CASES = {
    "add": (lambda m, d, o: m.add(d, 1, out=o), "float"),
    "exp": (lambda m, d, o: m.exp(d, out=o), "float"),
    "sum": (lambda m, d, o: m.sum(d, 0, out=o), "scalar"),
    "eq": (lambda m, d, o: m.eq(d, 1, out=o), "bool"),
    "floor": (lambda m, d, o: m.floor(d, out=o), "float"),
    "sort": (lambda m, d, o: m.sort(d, out=o), "pair"),
}


def _out_for(lib, kind):
    if kind == "float":
        return lib.empty(3, dtype=lib.float64)
    if kind == "scalar":
        return lib.empty((), dtype=lib.float64)
    if kind == "bool":
        return lib.empty(3, dtype=lib.bool)
    return lib.empty(3, dtype=lib.float64), lib.empty(3, dtype=lib.int64)


def _out_error(lib, fw, fn, kind, dual_out=False):
    with fw.dual_level():
        d = fw.make_dual(lib.tensor([0.5, 1.0, -2.0], dtype=lib.float64),
                         lib.tensor([1.0, 2.0, 3.0], dtype=lib.float64))
        if dual_out:
            with pytest.raises(NotImplementedError) as err:
                lib.add(lib.ones(3, dtype=lib.float64), 1, out=d)
        else:
            with pytest.raises(NotImplementedError) as err:
                fn(lib, d, _out_for(lib, kind))
    return str(err.value)


@pytest.mark.parametrize("name", sorted(_OUT_CASES))
def test_out_with_dual_input_raises_as_torch(name):
    fn, kind = _OUT_CASES[name]
    assert _out_error(edunn, fwad, fn, kind) == _out_error(torch, tfwad, fn, kind)


def test_out_that_is_dual_raises_as_torch():
    assert _out_error(edunn, fwad, None, None, True) == _out_error(torch, tfwad, None, None, True)


def test_out_without_dual_tensors_still_works_in_a_level():
    with fwad.dual_level():
        fwad.make_dual(edunn.ones(2, dtype=edunn.float64), edunn.ones(2, dtype=edunn.float64))
        o = edunn.empty(3, dtype=edunn.float64)
        r = edunn.add(edunn.ones(3, dtype=edunn.float64), 1, out=o)
    assert r is o and o.tolist() == [2.0, 2.0, 2.0]
