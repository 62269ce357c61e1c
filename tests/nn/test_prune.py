"""edunn.nn.utils.prune against torch.nn.utils.prune: masks (L1, Ln structured for every norm,
importance scores, global pruning across modules, repeated pruning through PruningContainer,
custom masks), the re-parametrization (weight_orig Parameter, weight_mask buffer, the method as
forward pre-hook, state_dict keys and values, loading torch's pruned state_dict), remove,
gradients through a pruned layer, a training loop on a pruned MLP, PyTorch's errors and
signatures; the random methods by their counts and statistics (edunn's generator is not
PyTorch's), and L1 ties by the property torch guarantees (its tie order is that of a C++
partial sort)."""
import copy
import importlib
import inspect

import numpy as np
import pytest

import edunn
from edunn.nn.utils import prune
from opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson03, needs_torch]

TP = importlib.import_module("torch.nn.utils.prune") if torch is not None else None
CLASSES = ["BasePruningMethod", "PruningContainer", "Identity", "RandomUnstructured", "L1Unstructured",
           "RandomStructured", "LnStructured", "CustomFromMask"]
FUNCTIONS = ["identity", "random_unstructured", "l1_unstructured", "random_structured", "ln_structured",
             "global_unstructured", "custom_from_mask", "remove", "is_pruned"]


def _np(t):
    return t.detach().cpu().numpy() if hasattr(t, "cpu") else t.detach().numpy()


def _pair(kind, *args, seed=0, device="cpu"):
    """The same layer in edunn and torch (float64), weights drawn from a normal (no ties)."""
    theirs = getattr(torch.nn, kind)(*args, dtype=torch.float64)
    rng = np.random.default_rng(seed)
    with torch.no_grad():
        for p in theirs.parameters():
            p.copy_(torch.from_numpy(rng.standard_normal(tuple(p.shape))))
    ours = getattr(edunn.nn, kind)(*args, dtype=edunn.float64)
    ours.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    return ours.to(device), theirs


def _same_state(ours, theirs):
    """Same state_dict keys in the same order, same values; same parameter names; same weight."""
    so, st = ours.state_dict(), theirs.state_dict()
    assert list(so) == list(st)
    for k in st:
        assert_close(so[k], st[k].numpy(), atol=0, rtol=0, what=k)
    assert [n for n, _ in ours.named_parameters()] == [n for n, _ in theirs.named_parameters()]
    assert [n for n, _ in ours.named_buffers()] == [n for n, _ in theirs.named_buffers()]


# ---------------------------------------------------------------------------- signatures
@pytest.mark.parametrize("name", FUNCTIONS)
def test_function_signatures_are_torchs(name):
    ours, theirs = inspect.signature(getattr(prune, name)), inspect.signature(getattr(TP, name))
    assert [(p.name, p.kind, p.default) for p in ours.parameters.values()] == \
        [(p.name, p.kind, p.default) for p in theirs.parameters.values()]


@pytest.mark.parametrize("name", CLASSES)
@pytest.mark.parametrize("method", ["__init__", "apply", "compute_mask", "prune", "remove", "apply_mask"])
def test_method_signatures_are_torchs(name, method):
    ours, theirs = getattr(getattr(prune, name), method), getattr(getattr(TP, name), method)
    sig = [(p.name, p.kind, p.default) for p in inspect.signature(ours).parameters.values()]
    assert sig == [(p.name, p.kind, p.default) for p in inspect.signature(theirs).parameters.values()]
    assert getattr(getattr(prune, name), "PRUNING_TYPE", None) == getattr(getattr(TP, name), "PRUNING_TYPE", None)


# ---------------------------------------------------------------------------- one pruning
@pytest.mark.parametrize("amount", [0, 3, 0.3, 0.5, 1.0, 20])
def test_l1_unstructured_matches_torch(amount, device):
    ours, theirs = _pair("Linear", 5, 4, device=device)
    assert prune.l1_unstructured(ours, "weight", amount=amount) is ours
    TP.l1_unstructured(theirs, "weight", amount=amount)
    _same_state(ours.cpu(), theirs)
    assert_close(ours.weight, _np(theirs.weight), atol=0, rtol=0)
    assert isinstance(ours.weight_orig, edunn.nn.Parameter) and "weight" not in ours._parameters
    assert not isinstance(ours.weight, edunn.nn.Parameter)
    hooks = list(ours._forward_pre_hooks.values())
    assert len(hooks) == 1 and type(hooks[0]) is prune.L1Unstructured and hooks[0]._tensor_name == "weight"
    assert prune.is_pruned(ours) and prune.is_pruned(edunn.nn.Sequential(ours))


def test_the_hook_recomputes_weight_from_orig_before_forward():
    ours, theirs = _pair("Linear", 5, 4)
    prune.l1_unstructured(ours, "weight", amount=0.5)
    TP.l1_unstructured(theirs, "weight", amount=0.5)
    with edunn.no_grad():
        ours.weight_orig.mul_(3.0)
    with torch.no_grad():
        theirs.weight_orig.mul_(3.0)
    x = np.random.default_rng(1).standard_normal((2, 5))
    assert_close(ours(edunn.tensor(x)), theirs(torch.from_numpy(x)).detach().numpy())
    assert_close(ours.weight, theirs.weight.detach().numpy(), atol=0, rtol=0)


@pytest.mark.parametrize("n", [1, 2, 3, float("inf"), float("-inf"), "fro", "nuc"])
@pytest.mark.parametrize("dim", [0, 1, -1])
def test_ln_structured_matches_torch(n, dim):
    ours, theirs = _pair("Conv1d", 3, 6, 4, seed=2)  # weight (6, 3, 4): 'fro'/'nuc' need 2 other dims
    prune.ln_structured(ours, "weight", amount=0.34, n=n, dim=dim)
    TP.ln_structured(theirs, "weight", amount=0.34, n=n, dim=dim)
    _same_state(ours, theirs)


def test_ln_structured_on_conv2d_and_importance_scores():
    ours, theirs = _pair("Conv2d", 4, 6, 3, seed=3)
    prune.ln_structured(ours, "weight", amount=2, n=2, dim=0)
    TP.ln_structured(theirs, "weight", amount=2, n=2, dim=0)
    _same_state(ours, theirs)
    scores = np.random.default_rng(4).standard_normal((8, 5))
    ours, theirs = _pair("Linear", 5, 8, seed=4)
    prune.ln_structured(ours, "weight", 3, 1, 0, importance_scores=edunn.tensor(scores))
    TP.ln_structured(theirs, "weight", 3, 1, 0, importance_scores=torch.from_numpy(scores))
    _same_state(ours, theirs)


def test_l1_importance_scores_choose_the_mask():
    ours, theirs = _pair("Linear", 6, 3, seed=5)
    scores = np.random.default_rng(6).standard_normal((3, 6))
    prune.l1_unstructured(ours, "weight", amount=7, importance_scores=edunn.tensor(scores))
    TP.l1_unstructured(theirs, "weight", amount=7, importance_scores=torch.from_numpy(scores))
    _same_state(ours, theirs)
    assert_close(ours.weight_mask, (np.abs(scores) > np.sort(np.abs(scores), axis=None)[6]).astype(float))


def test_identity_custom_from_mask_and_the_prune_method():
    ours, theirs = _pair("Linear", 3, 3)
    prune.identity(ours, "bias")
    TP.identity(theirs, "bias")
    _same_state(ours, theirs)
    prune.custom_from_mask(ours, name="weight", mask=edunn.tensor([[0, 1, 0], [1, 1, 0], [1, 0, 1]]))
    TP.custom_from_mask(theirs, name="weight", mask=torch.tensor([[0, 1, 0], [1, 1, 0], [1, 0, 1]]))
    _same_state(ours, theirs)
    assert ours.weight_mask.dtype == edunn.float64  # the mask takes the parameter's dtype
    t = np.random.default_rng(7).standard_normal((4, 5))
    scores = np.random.default_rng(8).standard_normal((4, 5))
    m = np.ones((4, 5))
    m[0] = 0
    for args in [{}, {"default_mask": m}, {"default_mask": m, "importance_scores": scores}]:
        got = prune.L1Unstructured(0.4).prune(edunn.tensor(t), **{k: edunn.tensor(v) for k, v in args.items()})
        want = TP.L1Unstructured(0.4).prune(torch.from_numpy(t), **{k: torch.from_numpy(v) for k, v in args.items()})
        assert_close(got, want.numpy(), atol=0, rtol=0)


# ---------------------------------------------------------------------------- repeated pruning
@pytest.mark.parametrize("steps", [
    [("l1_unstructured", dict(amount=0.3)), ("l1_unstructured", dict(amount=0.3))],
    [("l1_unstructured", dict(amount=5)), ("ln_structured", dict(amount=1, n=2, dim=0)),
     ("l1_unstructured", dict(amount=0.5))],
    [("ln_structured", dict(amount=0.5, n=1, dim=1)), ("l1_unstructured", dict(amount=4)),
     ("ln_structured", dict(amount=1, n=float("inf"), dim=-1))],
    [("custom_from_mask", "mask"), ("l1_unstructured", dict(amount=0.25)), ("identity", {})],
])
def test_repeated_pruning_combines_masks_as_torch(steps):
    ours, theirs = _pair("Linear", 6, 5, seed=9)
    mask = (np.random.default_rng(10).random((5, 6)) > 0.3).astype(np.float64)
    for i, (fn, kw) in enumerate(steps):
        if kw == "mask":
            ko, kt = {"mask": edunn.tensor(mask)}, {"mask": torch.from_numpy(mask)}
        else:
            ko = kt = kw
        getattr(prune, fn)(ours, "weight", **ko)
        getattr(TP, fn)(theirs, "weight", **kt)
        _same_state(ours, theirs)
        hooks = list(ours._forward_pre_hooks.values())
        assert len(hooks) == 1
        if i:
            assert isinstance(hooks[0], prune.PruningContainer) and len(hooks[0]) == i + 1
            assert [type(m).__name__ for m in hooks[0]] == [type(m).__name__ for m in
                                                            list(theirs._forward_pre_hooks.values())[0]]


def test_second_l1_prunes_among_the_remaining_entries():
    ours, theirs = _pair("Linear", 10, 4, seed=11)
    prune.l1_unstructured(ours, "weight", amount=10)
    prune.l1_unstructured(ours, "weight", amount=10)
    TP.l1_unstructured(theirs, "weight", amount=10)
    TP.l1_unstructured(theirs, "weight", amount=10)
    assert int((ours.weight_mask == 0).sum()) == 20  # 10 more, not the same 10 again
    _same_state(ours, theirs)


def test_global_unstructured_across_modules():
    pairs = [_pair("Linear", 6, 4, seed=12), _pair("Conv2d", 2, 3, 2, seed=13), _pair("Linear", 4, 2, seed=14)]
    ours = [(p[0], "weight") for p in pairs] + [(pairs[0][0], "bias")]
    theirs = [(p[1], "weight") for p in pairs] + [(pairs[0][1], "bias")]
    prune.l1_unstructured(pairs[1][0], "weight", amount=5)  # an already pruned one joins in
    TP.l1_unstructured(pairs[1][1], "weight", amount=5)
    assert prune.global_unstructured(ours, pruning_method=prune.L1Unstructured, amount=20) is None
    TP.global_unstructured(theirs, pruning_method=TP.L1Unstructured, amount=20)
    for o, t in pairs:
        _same_state(o, t)
    scores = {k: np.random.default_rng(15).standard_normal(tuple(k[0].weight.shape)) for k in theirs[:2]}
    prune.global_unstructured(ours, prune.L1Unstructured, importance_scores={
        o: edunn.tensor(scores[t]) for o, t in zip(ours[:2], theirs[:2])}, amount=0.2)
    TP.global_unstructured(theirs, TP.L1Unstructured, importance_scores={
        t: torch.from_numpy(scores[t]) for t in theirs[:2]}, amount=0.2)
    for o, t in pairs:
        _same_state(o, t)
    assert isinstance(pairs[1][0]._forward_pre_hooks[max(pairs[1][0]._forward_pre_hooks)], prune.PruningContainer)


def test_global_random_unstructured_counts():
    mods = [edunn.nn.Linear(10, 10), edunn.nn.Linear(10, 5)]
    prune.global_unstructured([(m, "weight") for m in mods], prune.RandomUnstructured, amount=0.4)
    assert sum(int((m.weight_mask == 0).sum()) for m in mods) == 60


# ---------------------------------------------------------------------------- remove, state_dict
def test_remove_makes_pruning_permanent():
    ours, theirs = _pair("Conv1d", 2, 4, 3, seed=16)
    prune.l1_unstructured(ours, "weight", amount=0.5)
    prune.ln_structured(ours, "weight", amount=1, n=2, dim=0)
    TP.l1_unstructured(theirs, "weight", amount=0.5)
    TP.ln_structured(theirs, "weight", amount=1, n=2, dim=0)
    orig = ours.weight_orig
    assert prune.remove(ours, "weight") is ours
    TP.remove(theirs, "weight")
    _same_state(ours, theirs)
    assert ours.weight is orig and isinstance(ours.weight, edunn.nn.Parameter)
    assert not prune.is_pruned(ours) and len(ours._forward_pre_hooks) == 0
    for mod, P in ((ours, prune), (theirs, TP)):
        with pytest.raises(ValueError, match="Parameter 'weight' of module Conv1d.* has to be pruned before pruning"):
            P.remove(mod, "weight")


def test_load_torchs_pruned_state_dict():
    ours, theirs = _pair("Linear", 5, 3, seed=17)
    TP.random_unstructured(theirs, "weight", amount=6)
    prune.identity(ours, "weight")
    ours.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x = np.random.default_rng(18).standard_normal((4, 5))
    assert_close(ours(edunn.tensor(x)), theirs(torch.from_numpy(x)).detach().numpy())


# ---------------------------------------------------------------------------- gradients, training
def test_gradients_through_a_pruned_layer_are_masked():
    ours, theirs = _pair("Linear", 6, 4, seed=19)
    prune.l1_unstructured(ours, "weight", amount=0.5)
    prune.custom_from_mask(ours, "bias", edunn.tensor([1.0, 0.0, 1.0, 0.0]))
    TP.l1_unstructured(theirs, "weight", amount=0.5)
    TP.custom_from_mask(theirs, "bias", torch.tensor([1.0, 0.0, 1.0, 0.0]))
    x = np.random.default_rng(20).standard_normal((3, 6))
    xo, xt = edunn.tensor(x, requires_grad=True), torch.tensor(x, requires_grad=True)
    (ours(xo) ** 2).sum().backward()
    (theirs(xt) ** 2).sum().backward()
    for n in ["weight_orig", "bias_orig"]:
        assert_close(getattr(ours, n).grad, getattr(theirs, n).grad.numpy(), what=n)
    assert_close(xo.grad, xt.grad.numpy())
    assert np.all(ours.weight_orig.grad.numpy()[ours.weight_mask.numpy() == 0] == 0)
    assert ours.weight_mask.grad is None and not ours.weight_mask.requires_grad


def test_training_a_pruned_mlp_gives_torchs_numbers():
    (o1, t1), (o2, t2) = _pair("Linear", 8, 16, seed=21), _pair("Linear", 16, 3, seed=22)
    ours, theirs = edunn.nn.Sequential(o1, edunn.nn.ReLU(), o2), torch.nn.Sequential(t1, torch.nn.ReLU(), t2)
    for P, net in ((prune, ours), (TP, theirs)):
        P.l1_unstructured(net[0], "weight", amount=0.5)
        P.ln_structured(net[2], "weight", amount=4, n=2, dim=1)
        P.global_unstructured([(net[0], "bias"), (net[2], "bias")], P.L1Unstructured, amount=3)
    opt_o = edunn.optim.SGD(ours.parameters(), lr=0.1, momentum=0.9)
    opt_t = torch.optim.SGD(theirs.parameters(), lr=0.1, momentum=0.9)
    rng = np.random.default_rng(23)
    x, y = rng.standard_normal((32, 8)), rng.integers(0, 3, 32)
    for _ in range(5):
        for net, opt, X, Y, lib in ((ours, opt_o, edunn.tensor(x), edunn.tensor(y), edunn),
                                    (theirs, opt_t, torch.from_numpy(x), torch.from_numpy(y), torch)):
            opt.zero_grad()
            loss = lib.nn.functional.cross_entropy(net(X), Y)
            loss.backward()
            opt.step()
            net.loss = loss.item()
        assert ours.loss == pytest.approx(theirs.loss, rel=1e-9)
    for k, v in theirs.state_dict().items():
        assert_close(ours.state_dict()[k], v.numpy(), atol=1e-12, rtol=1e-10, what=k)
    assert_close(ours[0].weight, theirs[0].weight.detach().numpy(), atol=1e-12, rtol=1e-10)
    assert np.all(ours[0].weight.detach().numpy()[ours[0].weight_mask.numpy() == 0] == 0)


# ---------------------------------------------------------------------------- random methods
def test_random_unstructured_counts_and_statistics():
    hits = np.zeros((4, 5))
    for _ in range(400):
        m = prune.random_unstructured(edunn.nn.Linear(5, 4), "weight", amount=0.25)
        mask = m.weight_mask.numpy()
        assert (mask == 0).sum() == 5
        hits += mask == 0
    # each entry is pruned with probability 5/20; 400 draws: sd = sqrt(400 * .25 * .75) ~ 8.7
    assert np.all(np.abs(hits - 100) < 45)
    m = prune.random_unstructured(edunn.nn.Linear(5, 4), "weight", amount=8)
    first = m.weight_mask.numpy().copy()
    prune.random_unstructured(m, "weight", amount=0.5)  # half of the 12 remaining
    second = m.weight_mask.numpy()
    assert (second == 0).sum() == 14 and np.all(second[first == 0] == 0)


@pytest.mark.parametrize("dim", [0, 1, -1])
def test_random_structured_prunes_whole_channels(dim):
    hits = 0
    for _ in range(200):
        m = prune.random_structured(edunn.nn.Conv2d(3, 4, 2), "weight", amount=0.5, dim=dim)
        mask = m.weight_mask.numpy()
        axes = tuple(d for d in range(4) if d != dim % 4)
        kept = mask.sum(axis=axes)
        size = mask.shape[dim]
        assert set(np.unique(kept)) <= {0, mask.size // size} and (kept == 0).sum() == round(0.5 * size)
        hits = hits + (kept == 0)
    assert np.all(np.abs(hits - 100) < 45)


def test_random_structured_on_top_of_an_earlier_mask():
    m = edunn.nn.Linear(6, 4)
    prune.l1_unstructured(m, "weight", amount=3)
    before = m.weight_mask.numpy().copy()
    prune.random_structured(m, "weight", amount=2, dim=0)
    after = m.weight_mask.numpy()
    assert np.all(after[before == 0] == 0) and (after.sum(axis=1) == 0).sum() >= 2


# ---------------------------------------------------------------------------- ties
def test_l1_ties_prune_the_right_count_and_never_a_larger_entry():
    w = np.array([[1.0, -1.0, 2.0, 0.5], [0.5, -2.0, 1.0, -0.5]])
    for amount in range(9):
        ours, theirs = edunn.nn.Linear(4, 2, dtype=edunn.float64), torch.nn.Linear(4, 2, dtype=torch.float64)
        ours.weight.data = edunn.tensor(w)
        with torch.no_grad():
            theirs.weight.copy_(torch.from_numpy(w))
        prune.l1_unstructured(ours, "weight", amount=amount)
        TP.l1_unstructured(theirs, "weight", amount=amount)
        mo, mt = ours.weight_mask.numpy(), theirs.weight_mask.numpy()
        assert (mo == 0).sum() == (mt == 0).sum() == amount
        # the multiset of pruned magnitudes is torch's, whichever tied entry each one picks
        assert sorted(np.abs(w[mo == 0])) == sorted(np.abs(w[mt == 0]))


# ---------------------------------------------------------------------------- errors
def _raises_like_torch(fo, ft, exact=True):
    with pytest.raises(Exception) as theirs:
        ft()
    with pytest.raises(Exception) as ours:
        fo()
    assert type(ours.value) is type(theirs.value)
    if exact:
        assert str(ours.value) == str(theirs.value)
    return ours.value


@pytest.mark.parametrize("amount", ["0.2", None, -1, 1.5, -0.1, 21, 25])
def test_amount_validation_errors_are_torchs(amount):
    ours, theirs = _pair("Linear", 5, 4)
    _raises_like_torch(lambda: prune.l1_unstructured(ours, "weight", amount=amount),
                       lambda: TP.l1_unstructured(theirs, "weight", amount=amount))
    if not (isinstance(amount, int) and amount > 20):  # too large only shows once the size is known
        _raises_like_torch(lambda: prune.RandomStructured(amount), lambda: TP.RandomStructured(amount))
    # a failed first pruning is rolled back
    assert isinstance(ours.weight, edunn.nn.Parameter) and not hasattr(ours, "weight_orig")
    assert not prune.is_pruned(ours)


def test_structural_errors_are_torchs():
    ours, theirs = _pair("Linear", 5, 4)
    _raises_like_torch(lambda: prune.ln_structured(ours, "bias", 1, 2, 0),
                       lambda: TP.ln_structured(theirs, "bias", 1, 2, 0), exact=False)
    e = _raises_like_torch(lambda: prune.random_structured(ours, "weight", 1, dim=2),
                           lambda: TP.random_structured(theirs, "weight", 1, dim=2), exact=False)
    assert "Invalid index 2 for tensor of size" in str(e)
    e = _raises_like_torch(lambda: prune.l1_unstructured(ours, "weight", 1, importance_scores=edunn.ones(5)),
                           lambda: TP.l1_unstructured(theirs, "weight", 1, importance_scores=torch.ones(5)),
                           exact=False)
    assert "importance_scores should have the same shape as parameter weight" in str(e)
    assert isinstance(ours.weight, edunn.nn.Parameter)
    _raises_like_torch(lambda: prune.global_unstructured([(ours, "weight")], prune.LnStructured, amount=1, n=2),
                       lambda: TP.global_unstructured([(theirs, "weight")], TP.LnStructured, amount=1, n=2),
                       exact=False)
    _raises_like_torch(lambda: prune.global_unstructured(3, prune.L1Unstructured, amount=1),
                       lambda: TP.global_unstructured(3, TP.L1Unstructured, amount=1))
    _raises_like_torch(lambda: prune.global_unstructured([(ours, "weight")], prune.L1Unstructured, [], amount=1),
                       lambda: TP.global_unstructured([(theirs, "weight")], TP.L1Unstructured, [], amount=1))
    conv, tconv = _pair("Conv2d", 2, 3, 2)  # 'nuc' over three dimensions: the norm's own error
    _raises_like_torch(lambda: prune.ln_structured(conv, "weight", 1, "nuc", 0),
                       lambda: TP.ln_structured(tconv, "weight", 1, "nuc", 0), exact=False)
    assert isinstance(conv.weight, edunn.nn.Parameter) and not prune.is_pruned(conv)
    _raises_like_torch(lambda: prune.l1_unstructured(ours, "running_mean", 1),
                       lambda: TP.l1_unstructured(theirs, "running_mean", 1), exact=False)


def test_container_errors_are_torchs():
    m1, t1 = prune.L1Unstructured(0.2), TP.L1Unstructured(0.2)
    m1._tensor_name, t1._tensor_name = "weight", "weight"
    c, ct = prune.PruningContainer(m1), TP.PruningContainer(t1)
    e = _raises_like_torch(lambda: c.add_pruning_method("x"), lambda: ct.add_pruning_method("x"))
    assert "is not a BasePruningMethod subclass" in str(e)
    m2, t2 = prune.Identity(), TP.Identity()
    m2._tensor_name, t2._tensor_name = "bias", "bias"
    e = _raises_like_torch(lambda: c.add_pruning_method(m2), lambda: ct.add_pruning_method(t2), exact=False)
    assert "Found 'bias'" in str(e)
    _raises_like_torch(lambda: prune.PruningContainer(m1, m1), lambda: TP.PruningContainer(t1, t1), exact=False)
    assert len(c) == 1 and c[0] is m1 and list(c) == [m1]
    with pytest.raises(TypeError):
        prune.BasePruningMethod()  # abstract, as torch's


def _every_other(P):
    """The pruning tutorial's custom method, written against ``P``'s BasePruningMethod."""
    class FooBarPruningMethod(P.BasePruningMethod):
        PRUNING_TYPE = "unstructured"

        def compute_mask(self, t, default_mask):
            mask = default_mask.clone()
            mask.view(-1)[::2] = 0
            return mask
    return FooBarPruningMethod


def test_a_user_defined_method_as_in_the_tutorial():
    ours, theirs = _pair("Linear", 3, 5, seed=24)
    _every_other(prune).apply(ours, "bias")
    _every_other(TP).apply(theirs, "bias")
    prune.l1_unstructured(ours, "bias", amount=1)  # then among the remaining entries
    TP.l1_unstructured(theirs, "bias", amount=1)
    _same_state(ours, theirs)


def test_deepcopy_and_dtype_moves_behave_as_torchs():
    ours, theirs = _pair("Linear", 4, 3, seed=25)
    prune.l1_unstructured(ours, "weight", 0.5)
    TP.l1_unstructured(theirs, "weight", 0.5)
    _raises_like_torch(lambda: copy.deepcopy(ours), lambda: copy.deepcopy(theirs), exact=False)
    ours.float()
    theirs.float()
    assert ours.weight_orig.dtype == edunn.float32 and ours.weight_mask.dtype == edunn.float32
    x = np.ones((1, 4), np.float32)
    assert_close(ours(edunn.tensor(x)), theirs(torch.from_numpy(x)).detach().numpy())
    assert ours.weight.dtype == edunn.float32
