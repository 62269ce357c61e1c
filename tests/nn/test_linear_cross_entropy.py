"""``F.linear_cross_entropy``, ``nn.LinearCrossEntropyLoss`` and ``nn.LinearCrossEntropyOptions``
(lesson 06) against PyTorch CPU: values and gradients (input, linear weight, bias) for every
reduction, class weights, ignore_index and label smoothing, on the reference path and the chunked
one; options resolution and validation; the module; errors; gradcheck in float64."""
import dataclasses
import itertools
import sys
import warnings

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from edunn.autograd import gradcheck

torch = pytest.importorskip("torch")
TF = torch.nn.functional

pytestmark = pytest.mark.lesson06


def _np(t):
    return t.detach().cpu().numpy() if isinstance(t, edunn.Tensor) else t.detach().numpy()


def _options(lib, **kw):
    return None if kw.get("off") else lib.nn.LinearCrossEntropyOptions(**kw)


def run_both(x, w, target, bias=None, class_weight=None, device="cpu", options=None, **kw):
    """(edunn, torch) results of linear_cross_entropy with gradients of x, w (and bias) after a
    backward of a random upstream gradient."""
    out = []
    go = None
    for lib, func in ((torch, TF.linear_cross_entropy), (edunn, F.linear_cross_entropy)):
        dev = {} if lib is torch else {"device": device}
        tensors = [lib.tensor(a, requires_grad=True, **dev) for a in (x, w)]
        b = None if bias is None else lib.tensor(bias, requires_grad=True, **dev)
        t = lib.tensor(target, **dev)
        cw = None if class_weight is None else lib.tensor(class_weight, **dev)
        opts = None if options is None else lib.nn.LinearCrossEntropyOptions(**options)
        y = func(tensors[0], tensors[1], t, linear_bias=b, weight=cw, options=opts, **kw)
        if go is None:
            go = np.random.default_rng(7).standard_normal(tuple(y.shape)).astype(x.dtype)
        y.backward(lib.tensor(go, **dev))
        grads = [a.grad for a in tensors] + ([] if b is None else [b.grad])
        out.append((y, grads))
    return out[1], out[0]


def assert_same(ours, theirs, tol):
    (y, grads), (ty, tgrads) = ours, theirs
    assert tuple(y.shape) == tuple(ty.shape)
    assert str(y.dtype).split(".")[-1] == str(ty.dtype).split(".")[-1]
    np.testing.assert_allclose(_np(y), _np(ty), atol=tol, rtol=tol, err_msg="loss")
    for name, g, tg in zip(("input", "linear_weight", "linear_bias"), grads, tgrads):
        np.testing.assert_allclose(_np(g), _np(tg), atol=tol, rtol=tol, err_msg=name)


PATHS = {"reference": None, "chunks_of_3": {"batch_chunk_size": 3}, "auto": {},
         "aspect_ratio": {"chunking_method": "aspect_ratio:1"}, "retain": {"allow_retain_graph": True}}


@pytest.mark.parametrize("path", list(PATHS))
@pytest.mark.parametrize("reduction,weighted,ignore_index",
                         list(itertools.product(["mean", "sum", "none"], [False, True], [None, 3, -100])))
def test_matches_torch(path, reduction, weighted, ignore_index, device):
    rng = np.random.default_rng(0)
    for dtype, tol in (("float32", 2e-5), ("float64", 1e-12)):
        n, f, c = 10, 4, 7
        x, w = rng.standard_normal((n, f)).astype(dtype), rng.standard_normal((c, f)).astype(dtype)
        bias = rng.standard_normal(c).astype(dtype)
        target = rng.integers(0, c, n)
        target[[1, 6]] = 3 if ignore_index == 3 else -100     # some ignored targets
        cw = rng.uniform(0.5, 2.0, c).astype(dtype) if weighted else None
        ours, theirs = run_both(x, w, target, bias, cw, device, PATHS[path], reduction=reduction,
                                ignore_index=ignore_index)
        assert_same(ours, theirs, tol)


@pytest.mark.parametrize("path", ["reference", "chunks_of_3"])
def test_without_bias_unbatched_and_all_ignored(path):
    rng = np.random.default_rng(1)
    x, w = rng.standard_normal((5, 3)), rng.standard_normal((6, 3))
    for reduction in ("mean", "sum", "none"):
        assert_same(*run_both(x, w, rng.integers(0, 6, 5), options=PATHS[path], reduction=reduction), 1e-12)
        # unbatched: input (F), target ()
        assert_same(*run_both(x[0], w, np.array(2), options=PATHS[path], reduction=reduction), 1e-12)
    # every target ignored: 'mean' is 0/0 = nan; the reference path's gradient is 0, the chunked
    # path's nan (it divides by NaN), both as PyTorch
    ours, theirs = run_both(x, w, np.full(5, -100), options=PATHS[path])
    np.testing.assert_array_equal(np.isnan(_np(ours[0])), True)
    np.testing.assert_array_equal(_np(ours[1][0]), _np(theirs[1][0]))


@pytest.mark.parametrize("label_smoothing", [0.0, 0.25])
def test_label_smoothing_and_probabilities(label_smoothing):
    rng = np.random.default_rng(2)
    x, w, bias = rng.standard_normal((6, 4)), rng.standard_normal((5, 4)), rng.standard_normal(5)
    cw = rng.uniform(0.5, 2.0, 5)
    for reduction in ("mean", "sum", "none"):
        assert_same(*run_both(x, w, rng.integers(0, 5, 6), bias, cw, reduction=reduction,
                              label_smoothing=label_smoothing, ignore_index=2), 1e-12)
        probs = rng.dirichlet(np.ones(5), 6)
        assert_same(*run_both(x, w, probs, bias, cw, reduction=reduction, label_smoothing=label_smoothing), 1e-12)


def test_k_dimensional_loss():
    """linear_weight (C, d1, d2, F): logits (N, C, d1, d2), targets (N, d1, d2) or probabilities."""
    rng = np.random.default_rng(3)
    x, w, bias = rng.standard_normal((4, 3)), rng.standard_normal((5, 2, 3, 3)), rng.standard_normal((5, 2, 3))
    for reduction in ("mean", "sum", "none"):
        assert_same(*run_both(x, w, rng.integers(0, 5, (4, 2, 3)), bias, reduction=reduction), 1e-12)
        probs = np.moveaxis(rng.dirichlet(np.ones(5), (4, 2, 3)), -1, 1)
        assert_same(*run_both(x, w, probs, bias, reduction=reduction), 1e-12)


def _caught(call):
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        call()
    return [(w.category, str(w.message)) for w in caught]


def test_unsupported_options_warn_and_take_the_reference_path():
    rng = np.random.default_rng(4)
    x, w = rng.standard_normal((6, 4)), rng.standard_normal((5, 4))
    t = rng.integers(0, 5, 6)
    for kw in ({"label_smoothing": 0.1}, {"target": rng.dirichlet(np.ones(5), 6)}):
        target = kw.pop("target", t)
        ours = _caught(lambda: F.linear_cross_entropy(edunn.tensor(x), edunn.tensor(w), edunn.tensor(target),
                                                      options=nn.LinearCrossEntropyOptions(), **kw))
        theirs = _caught(lambda: TF.linear_cross_entropy(torch.tensor(x), torch.tensor(w), torch.tensor(target),
                                                         options=torch.nn.LinearCrossEntropyOptions(), **kw))
        assert [(c, m.replace("edunn.", "torch.")) for c, m in ours] == theirs
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            assert_same(*run_both(x, w, target, options={}, **kw), 1e-12)


def test_chunked_backward_twice():
    rng = np.random.default_rng(5)
    x = edunn.tensor(rng.standard_normal((6, 4)), requires_grad=True)
    w = edunn.tensor(rng.standard_normal((5, 4)), requires_grad=True)
    t = edunn.tensor(rng.integers(0, 5, 6))
    loss = F.linear_cross_entropy(x, w, t, options=nn.LinearCrossEntropyOptions(batch_chunk_size=2))
    loss.backward(retain_graph=True)
    with pytest.raises(RuntimeError, match="chunked backward called twice"):
        loss.backward()
    opts = nn.LinearCrossEntropyOptions(batch_chunk_size=2, allow_retain_graph=True)
    x.grad = None
    loss = F.linear_cross_entropy(x, w, t, options=opts)
    loss.backward(retain_graph=True)
    first = x.grad.numpy().copy()
    loss.backward()
    np.testing.assert_allclose(x.grad.numpy(), 2 * first)
    # 'none' recomputes in backward: any number of backward calls
    per_row = F.linear_cross_entropy(x, w, t, reduction="none", options=nn.LinearCrossEntropyOptions())
    per_row.sum().backward(retain_graph=True)
    per_row.sum().backward()
    with pytest.raises(RuntimeError, match="first-order gradients only"):
        edunn.autograd.grad(per_row.sum(), x, create_graph=True)


def test_chunked_path_never_builds_the_full_logits(monkeypatch):
    """With batch_chunk_size=B every matmul of the chunked path has at most B rows of logits."""
    module = sys.modules["edunn.nn.functional.linear_cross_entropy"]
    rows = []
    original = module._chunks

    def spy(x, *args):
        rows.append(args[4])   # the chunk size it was given
        return original(x, *args)
    monkeypatch.setattr(module, "_chunks", spy)
    x = edunn.randn(64, 8, requires_grad=True)
    w = edunn.randn(100, 8, requires_grad=True)
    t = edunn.randint(0, 100, (64,))
    F.linear_cross_entropy(x, w, t, options=nn.LinearCrossEntropyOptions(batch_chunk_size=16)).backward()
    assert rows == [16]
    opts = nn.LinearCrossEntropyOptions()._adjust(64, 8, 100, edunn.float32, edunn.device("cpu"))
    assert opts.batch_chunk_size == torch.nn.LinearCrossEntropyOptions()._adjust(
        64, 8, 100, torch.float32, torch.device("cpu")).batch_chunk_size == 4


@pytest.mark.parametrize("reduction", ["mean", "sum", "none"])
def test_gradcheck_both_paths(reduction):
    rng = np.random.default_rng(6)
    x = edunn.tensor(rng.standard_normal((5, 3)), requires_grad=True)
    w = edunn.tensor(rng.standard_normal((4, 3)), requires_grad=True)
    b = edunn.tensor(rng.standard_normal(4), requires_grad=True)
    t = edunn.tensor(np.array([0, 3, 1, 3, 2]))
    cw = edunn.tensor(rng.uniform(0.5, 2.0, 4))
    opts = nn.LinearCrossEntropyOptions(batch_chunk_size=2, allow_retain_graph=True)
    for options in (None, opts):
        assert gradcheck(lambda a, m, c: F.linear_cross_entropy(
            a, m, t, linear_bias=c, weight=cw, reduction=reduction, ignore_index=1, options=options), (x, w, b))


# ------------------------------------------------------------------------------ options
def test_options_fields_and_resolution_match_torch():
    ours, theirs = nn.LinearCrossEntropyOptions(), torch.nn.LinearCrossEntropyOptions()
    assert [f.name for f in dataclasses.fields(ours)] == [f.name for f in dataclasses.fields(theirs)]
    assert repr(ours) == repr(theirs)
    with pytest.raises(dataclasses.FrozenInstanceError):
        ours.acc_policy = "compact"
    cases = [dict(), dict(batch_chunk_size=5), dict(chunking_method="aspect_ratio"),
             dict(chunking_method="aspect_ratio:4"), dict(chunking_method=None, batch_chunk_size=1000),
             dict(acc_policy="balanced")]
    for kw, (n, f, c) in itertools.product(cases, [(100, 8, 1000), (7, 16, 5), (1, 3, 3)]):
        for dt in ("float32", "float64", "float16"):
            try:
                expected = torch.nn.LinearCrossEntropyOptions(**kw)._adjust(n, f, c, getattr(torch, dt),
                                                                            torch.device("cpu"))
            except ValueError as err:
                with pytest.raises(ValueError, match="give different chunk sizes"):
                    nn.LinearCrossEntropyOptions(**kw)._adjust(n, f, c, getattr(edunn, dt), edunn.device("cpu"))
                assert "give different chunk sizes" in str(err)
                continue
            got = nn.LinearCrossEntropyOptions(**kw)._adjust(n, f, c, getattr(edunn, dt), edunn.device("cpu"))
            assert (got.acc_policy, got.chunking_method, got.batch_chunk_size) == \
                (expected.acc_policy, expected.chunking_method, expected.batch_chunk_size)
            assert str(got.acc_dtype).split(".")[-1] == str(expected.acc_dtype).split(".")[-1]


@pytest.mark.parametrize("kw", [dict(acc_policy="fast"), dict(chunking_method="aspect"),
                                dict(chunking_method="aspect_ratio:0"), dict(batch_chunk_size=0),
                                dict(batch_chunk_size=2.5)])
def test_options_validation_matches_torch(kw):
    with pytest.raises(ValueError) as expected:
        torch.nn.LinearCrossEntropyOptions(**kw)
    with pytest.raises(ValueError) as got:
        nn.LinearCrossEntropyOptions(**kw)
    assert str(got.value) == str(expected.value)
    with pytest.raises(ValueError, match="acc_dtype must be one of"):
        nn.LinearCrossEntropyOptions(acc_dtype=edunn.int32)


def test_half_precision_input_accumulates_in_float32():
    rng = np.random.default_rng(8)
    x, w = rng.standard_normal((8, 4)).astype(np.float16), rng.standard_normal((6, 4)).astype(np.float16)
    t = rng.integers(0, 6, 8)
    ours, theirs = run_both(x, w, t, options={})
    assert_same(ours, theirs, 2e-3)


# ------------------------------------------------------------------------------ the module
@pytest.mark.parametrize("options", [None, {"batch_chunk_size": 2}])
def test_module_matches_torch(options):
    rng = np.random.default_rng(9)
    cw = rng.uniform(0.5, 2, 5)
    ours = nn.LinearCrossEntropyLoss(4, 5, bias=True, dtype=edunn.float64, weight=edunn.tensor(cw),
                                     ignore_index=1, reduction="sum",
                                     options=None if options is None else nn.LinearCrossEntropyOptions(**options))
    theirs = torch.nn.LinearCrossEntropyLoss(4, 5, bias=True, dtype=torch.float64, weight=torch.tensor(cw),
                                             ignore_index=1, reduction="sum",
                                             options=None if options is None else
                                             torch.nn.LinearCrossEntropyOptions(**options))
    assert repr(ours) == repr(theirs)
    assert sorted(ours.state_dict()) == sorted(theirs.state_dict())
    ours.load_state_dict({k: edunn.tensor(v.numpy()) for k, v in theirs.state_dict().items()})
    x, t = rng.standard_normal((6, 4)), rng.integers(0, 5, 6)
    lo, lt = ours(edunn.tensor(x), edunn.tensor(t)), theirs(torch.tensor(x), torch.tensor(t))
    lo.backward()
    lt.backward()
    np.testing.assert_allclose(_np(lo), _np(lt), rtol=1e-12)
    np.testing.assert_allclose(ours.linear.weight.grad.numpy(), theirs.linear.weight.grad.numpy(), atol=1e-12)
    np.testing.assert_allclose(ours.linear.bias.grad.numpy(), theirs.linear.bias.grad.numpy(), atol=1e-12)


def test_module_k_dimensional_and_errors():
    m = nn.LinearCrossEntropyLoss(3, 4, out_features=(2,), bias=True)
    assert tuple(m.linear.weight.shape) == (8, 3) and tuple(m.linear.bias.shape) == (8,)
    loss = m(edunn.randn(5, 3), edunn.randint(0, 4, (5, 2)))
    assert loss.shape == ()
    with pytest.raises(RuntimeError, match=r"expected weight shape to be \(4,\), got \(3,\)"):
        nn.LinearCrossEntropyLoss(3, 4, weight=edunn.ones(3))
    with pytest.raises(RuntimeError, match=r"expected label_smoothing to be in range \[0, 1\], got 1.5"):
        nn.LinearCrossEntropyLoss(3, 4, label_smoothing=1.5)


# ------------------------------------------------------------------------------ errors
FUNCTION_ERRORS = [
    dict(x=(2, 3, 4), w=(5, 4), t=(2,)),                                # input of 3 dims
    dict(x=(2, 4), w=(4,), t=(2,)),                                     # 1-D weight
    dict(x=(2, 4), w=(5, 3), t=(2,)),                                   # in_features differ
    dict(x=(2, 4), w=(5, 4), t=(2,), b=(4,)),                           # bias shape
    dict(x=(4,), w=(5, 2, 4), t=(2,)),                                  # K-dim loss, unbatched
    dict(x=(2, 4), w=(5, 4), t=(2, 5), probs=True, ignore_index=0),     # ignore_index with probabilities
    dict(x=(2, 4), w=(5, 4), t=(3,)),                                   # batch sizes differ
]


@pytest.mark.parametrize("case", FUNCTION_ERRORS)
def test_errors_match_torch(case):
    case = dict(case)
    rng = np.random.default_rng(0)
    x, w = rng.standard_normal(case.pop("x")), rng.standard_normal(case.pop("w"))
    shape = case.pop("t")
    t = rng.uniform(0, 1, shape) if case.pop("probs", False) else rng.integers(0, 4, shape)
    b = case.pop("b", None)
    b = None if b is None else rng.standard_normal(b)

    def call(lib, func):
        return lambda: func(lib.tensor(x), lib.tensor(w), lib.tensor(t),
                            linear_bias=None if b is None else lib.tensor(b), **case)
    with pytest.raises(Exception) as expected:
        call(torch, TF.linear_cross_entropy)()
    with pytest.raises(type(expected.value)) as got:
        call(edunn, F.linear_cross_entropy)()
    assert str(got.value) == str(expected.value)


def test_chunked_target_out_of_range():
    x, w = edunn.randn(3, 2), edunn.randn(4, 2)
    with pytest.raises(RuntimeError, match="index 7 is out of bounds for dimension 1 with size 4"):
        F.linear_cross_entropy(x, w, edunn.tensor([0, 7, 1]), options=nn.LinearCrossEntropyOptions())
    with pytest.raises(ValueError, match=r"Expected input batch_size \(3\) to match target batch_size \(2\)"):
        F.linear_cross_entropy(x, w, edunn.tensor([0, 1]), options=nn.LinearCrossEntropyOptions())
