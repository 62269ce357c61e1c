"""``F.ctc_loss`` and ``nn.CTCLoss`` against PyTorch CPU (values and gradients, every reduction,
padded and concatenated targets, variable lengths, blank other than 0, impossible alignments with
and without zero_infinity, unbatched input), against finite differences in float64 through
log_softmax, and PyTorch's errors.  Lesson 12."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = pytest.mark.lesson12


def _case(rng, T, N, C, il, tl, blank=0, padded=True, pad_to=None):
    """Random logits (T, N, C) and targets whose labels avoid ``blank`` (with repeats)."""
    x = rng.standard_normal((T, N, C)) * 1.5
    labels = [l for l in range(C) if l != blank]
    seqs = [list(rng.choice(labels, size=n)) for n in tl]
    for s in seqs:              # force a repeated label now and then: needs a blank in between
        if len(s) > 2:
            s[1] = s[0]
    if padded:
        S = pad_to if pad_to is not None else max(max(tl), 1)
        tg = np.full((N, S), 7 * C + 3)      # padding beyond each length is never read
        for n, s in enumerate(seqs):
            tg[n, :len(s)] = s
    else:
        tg = np.array([l for s in seqs for l in s], dtype=np.int64)
    return x, tg.astype(np.int64)


def _both(x, tg, il, tl, dtype="float64", lengths="tensor", **kw):
    """(edunn loss, edunn grad, torch loss, torch grad) for ctc_loss(log_softmax(x))."""
    xt = torch.tensor(x, dtype=getattr(torch, dtype)).log_softmax(-1).detach().requires_grad_()
    xe = edunn.tensor(xt.detach().numpy()).requires_grad_()
    if lengths == "tensor":
        ilt, tlt, ile, tle = (torch.tensor(il), torch.tensor(tl), edunn.tensor(il), edunn.tensor(tl))
    else:
        ilt, tlt, ile, tle = tuple(il), tuple(tl), tuple(il), tuple(tl)
    lt = torch.nn.functional.ctc_loss(xt, torch.tensor(tg), ilt, tlt, **kw)
    le = F.ctc_loss(xe, edunn.tensor(tg), ile, tle, **kw)
    w = np.linspace(0.5, 1.5, lt.numel()).reshape(lt.shape)      # a non-uniform output gradient
    (lt * torch.tensor(w, dtype=lt.dtype)).sum().backward()
    (le * edunn.tensor(w, dtype=le.dtype)).sum().backward()
    return le, xe.grad, lt, xt.grad


def _compare(res, atol=1e-6, rtol=1e-5):
    le, ge, lt, gt = res
    assert le.dtype == edunn.float64 if lt.dtype == torch.float64 else le.dtype == edunn.float32
    assert tuple(le.shape) == tuple(lt.shape)
    np.testing.assert_allclose(le.detach().numpy(), lt.detach().numpy(), atol=atol, rtol=rtol,
                               equal_nan=True)
    np.testing.assert_allclose(ge.numpy(), gt.numpy(), atol=atol, rtol=rtol, equal_nan=True)


CASES = {   # name: (T, N, C, input_lengths, target_lengths)
    "equal_lengths": (8, 3, 5, [8, 8, 8], [3, 2, 4]),
    "variable_lengths": (10, 4, 6, [10, 7, 4, 9], [4, 3, 1, 5]),
    "empty_target": (6, 3, 4, [6, 3, 5], [0, 2, 0]),
    "single_frame": (5, 3, 4, [1, 1, 5], [1, 0, 2]),
    "long_batch": (20, 6, 12, [20, 18, 15, 20, 11, 7], [9, 6, 5, 1, 0, 3]),
}


@needs_torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", sorted(CASES))
def test_padded_targets_match_torch(name, reduction):
    T, N, C, il, tl = CASES[name]
    x, tg = _case(np.random.default_rng(len(name)), T, N, C, il, tl)
    _compare(_both(x, tg, il, tl, reduction=reduction))


@needs_torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("name", ["variable_lengths", "empty_target", "long_batch"])
def test_concatenated_targets_match_torch(name, reduction):
    T, N, C, il, tl = CASES[name]
    x, tg = _case(np.random.default_rng(3), T, N, C, il, tl, padded=False)
    _compare(_both(x, tg, il, tl, reduction=reduction))


@needs_torch
@pytest.mark.parametrize("blank", [2, 4])
@pytest.mark.parametrize("padded", [True, False])
def test_blank_other_than_zero(blank, padded):
    T, N, C, il, tl = 9, 3, 5, [9, 6, 8], [3, 2, 4]
    x, tg = _case(np.random.default_rng(blank), T, N, C, il, tl, blank=blank, padded=padded)
    _compare(_both(x, tg, il, tl, blank=blank, reduction="none"))
    _compare(_both(x, tg, il, tl, blank=blank, reduction="mean", lengths="tuple"))


@needs_torch
def test_float32_and_tuple_lengths_match_torch():
    T, N, C, il, tl = CASES["long_batch"]
    x, tg = _case(np.random.default_rng(7), T, N, C, il, tl)
    _compare(_both(x, tg, il, tl, dtype="float32", lengths="tuple"), atol=2e-5, rtol=1e-4)
    _compare(_both(x, tg, il, tl, dtype="float32", reduction="none"), atol=2e-5, rtol=1e-4)


@needs_torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("zero_infinity", [False, True])
def test_impossible_alignments(reduction, zero_infinity):
    """Target 0 needs 5 frames (a repeat takes a blank between) and gets 4; target 2 needs 1 frame
    and gets 0; target 3 has no frames and no labels (loss 0).  Infinite losses have NaN
    gradients in PyTorch, or zeros with zero_infinity."""
    il, tl = [4, 7, 0, 0], [4, 3, 1, 0]
    x = np.random.default_rng(1).standard_normal((7, 4, 5))
    tg = np.array([[1, 2, 2, 3], [1, 1, 4, 0], [2, 0, 0, 0], [0, 0, 0, 0]])
    le, ge, lt, gt = res = _both(x, tg, il, tl, reduction="none", zero_infinity=zero_infinity)
    if not zero_infinity:
        assert np.isinf(le.detach().numpy()[[0, 2]]).all()
    _compare(res)
    _compare(_both(x, tg, il, tl, reduction=reduction, zero_infinity=zero_infinity))


@needs_torch
@pytest.mark.parametrize("reduction", ["none", "mean", "sum"])
@pytest.mark.parametrize("target_shape", ["1d", "2d"])
def test_unbatched(reduction, target_shape):
    rng = np.random.default_rng(2)
    x = rng.standard_normal((7, 5))
    tg = np.array([1, 3, 3, 2]) if target_shape == "1d" else np.array([[1, 3, 3, 2]])
    for il, tl in [(7, 4), (6, 3)]:
        if target_shape == "1d" and tl != 4:
            tg_used = tg[:tl]          # 1-d unbatched targets are a concatenation of one
        else:
            tg_used = tg
        le, ge, lt, gt = res = _both(x, tg_used, np.array(il), np.array(tl), reduction=reduction)
        assert tuple(le.shape) == ()
        _compare(res)


@needs_torch
def test_module_matches_function_and_torch():
    T, N, C, il, tl = CASES["variable_lengths"]
    x, tg = _case(np.random.default_rng(5), T, N, C, il, tl, blank=3)
    m = nn.CTCLoss(blank=3, reduction="sum", zero_infinity=True)
    mt = torch.nn.CTCLoss(blank=3, reduction="sum", zero_infinity=True)
    lp = torch.tensor(x).log_softmax(2)
    out = m(edunn.tensor(lp.numpy()), edunn.tensor(tg), edunn.tensor(il), edunn.tensor(tl))
    ref = mt(lp, torch.tensor(tg), torch.tensor(il), torch.tensor(tl))
    assert_close(out, ref.numpy())
    assert repr(m) == repr(mt) == "CTCLoss()"
    d = nn.CTCLoss()
    assert (d.blank, d.reduction, d.zero_infinity) == (0, "mean", False)


@pytest.mark.parametrize("padded", [True, False])
@pytest.mark.parametrize("reduction", ["none", "mean"])
def test_gradcheck_through_log_softmax(padded, reduction):
    """PyTorch's CTC gradient is the logits' gradient: it matches finite differences once
    log_probs = log_softmax(logits), which is how CTC is used."""
    rng = np.random.default_rng(11)
    T, N, C, il, tl = 5, 3, 4, [5, 4, 3], [2, 1, 2]
    x, tg = _case(rng, T, N, C, il, tl, padded=padded)
    logits = edunn.tensor(x).requires_grad_()
    tgt, ilt, tlt = edunn.tensor(tg), edunn.tensor(il), edunn.tensor(tl)
    assert edunn.autograd.gradcheck(
        lambda z: F.ctc_loss(z.log_softmax(2), tgt, ilt, tlt, blank=0, reduction=reduction),
        (logits,), eps=1e-6, atol=1e-6)


def test_gradcheck_with_blank_and_unbatched():
    rng = np.random.default_rng(12)
    x = edunn.tensor(rng.standard_normal((6, 4))).requires_grad_()
    tg = edunn.tensor([1, 1, 0])
    assert edunn.autograd.gradcheck(
        lambda z: F.ctc_loss(z.log_softmax(1), tg, edunn.tensor(6), edunn.tensor(3), blank=3),
        (x,), eps=1e-6, atol=1e-6)


def test_gradient_is_softmax_minus_occupation():
    """Summed over symbols, the gradient of each frame inside the input is 0 (softmax sums to 1
    and so does the state occupation); frames past an input's length get no gradient."""
    rng = np.random.default_rng(4)
    x, tg = _case(rng, 8, 3, 6, [8, 5, 3], [3, 2, 1])
    lp = edunn.tensor(x).log_softmax(2).detach().requires_grad_()
    F.ctc_loss(lp, edunn.tensor(tg), [8, 5, 3], [3, 2, 1], reduction="sum").backward()
    g = lp.grad.numpy()
    np.testing.assert_allclose(g.sum(axis=2), 0, atol=1e-12)
    assert (g[5:, 1] == 0).all() and (g[3:, 2] == 0).all()


def test_double_backward_raises_as_in_torch():
    x = edunn.randn(5, 2, 4, dtype=edunn.float64).log_softmax(2).detach().requires_grad_()
    loss = F.ctc_loss(x, edunn.tensor([[1, 2], [3, 3]]), [5, 5], [2, 2])
    g, = edunn.autograd.grad(loss, x, create_graph=True)
    first, = edunn.autograd.grad(F.ctc_loss(x, edunn.tensor([[1, 2], [3, 3]]), [5, 5], [2, 2]), x)
    assert_close(g.detach(), first.numpy())      # the first derivative is still right
    with pytest.raises(RuntimeError, match="derivative for aten::_ctc_loss_backward is not implemented"):
        g.sum().backward()


def test_target_too_long_gives_inf_not_error():
    lp = edunn.randn(3, 1, 4).log_softmax(2)
    loss = F.ctc_loss(lp, edunn.tensor([[1, 2, 3, 1]]), [3], [4], reduction="none")
    assert np.isinf(loss.numpy()).all()
    assert F.ctc_loss(lp, edunn.tensor([[1, 2, 3, 1]]), [3], [4], zero_infinity=True).item() == 0


@needs_torch
def test_errors_match_torch_kinds():
    lp = edunn.randn(6, 3, 5).log_softmax(2)
    tg = edunn.tensor([[1, 2, 2], [3, 0, 0], [1, 1, 0]])
    il, tl = edunn.tensor([6, 5, 2]), edunn.tensor([3, 1, 2])
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(lp, tg, il, tl, blank=5)
    with pytest.raises(RuntimeError, match="blank must be in label range"):
        F.ctc_loss(lp, tg, il, tl, blank=-1)
    with pytest.raises(TypeError, match="blank"):
        F.ctc_loss(lp, tg, il, tl, blank=1.0)
    with pytest.raises(RuntimeError, match="input_lengths must be integral"):
        F.ctc_loss(lp, tg, il.float(), tl)
    with pytest.raises(RuntimeError, match="target_lengths must be integral"):
        F.ctc_loss(lp, tg, il, tl.to(edunn.bool))
    with pytest.raises(NotImplementedError, match="not implemented for 'Int'"):
        F.ctc_loss(lp.int(), tg, il, tl)
    with pytest.raises(NotImplementedError, match="not implemented for 'Half'"):
        F.ctc_loss(lp.half(), tg, il, tl)
    with pytest.raises(RuntimeError, match=r"input_lengths must be of size batch_size \(3\)"):
        F.ctc_loss(lp, tg, il[:2], tl)
    with pytest.raises(RuntimeError, match=r"target_lengths must be of size batch_size \(3\)"):
        F.ctc_loss(lp, tg, il, tl[:2])
    with pytest.raises(RuntimeError, match="input_lengths to have value at most 6, but got value 7"):
        F.ctc_loss(lp, tg, edunn.tensor([7, 5, 2]), tl)
    with pytest.raises(RuntimeError, match="input_lengths to have value at least 0, but got value -1"):
        F.ctc_loss(lp, tg, edunn.tensor([-1, 5, 2]), tl)
    with pytest.raises(RuntimeError, match="target_lengths to have value at least 0"):
        F.ctc_loss(lp, tg, il, edunn.tensor([-1, 1, 2]))
    with pytest.raises(RuntimeError, match="size at least 4 .* but got size 3"):
        F.ctc_loss(lp, tg, il, edunn.tensor([4, 1, 2]))
    with pytest.raises(RuntimeError, match="size 3 at dimension 0, but got size 2"):
        F.ctc_loss(lp, tg[:2], il, tl)
    with pytest.raises(RuntimeError, match="size 6 .* but got size 5"):
        F.ctc_loss(lp, edunn.tensor([1, 2, 2, 3, 1]), il, tl)
    with pytest.raises(RuntimeError, match="3-dimensional tensor of shape"):
        F.ctc_loss(lp, tg.unsqueeze(2), il, tl)
    with pytest.raises(RuntimeError, match="expected log_probs of shape"):
        F.ctc_loss(lp.unsqueeze(0), tg, il, tl)
    with pytest.raises(RuntimeError, match="expected log_probs of shape"):
        F.ctc_loss(lp[0, 0], tg, il, tl)
    with pytest.raises(RuntimeError, match="must not be empty"):
        F.ctc_loss(lp[:0], tg, il, tl)
    with pytest.raises(RuntimeError, match=r"targets must be class indices in \[0, 4\], but got 7"):
        F.ctc_loss(lp, edunn.tensor([[1, 7, 2], [3, 0, 0], [1, 1, 0]]), il, tl)
    with pytest.raises(ValueError, match="foo is not a valid value for reduction"):
        F.ctc_loss(lp, tg, il, tl, reduction="foo")
    with pytest.raises(TypeError, match="both be Tensors or both be tuples/lists of ints"):
        F.ctc_loss(lp, tg, il, [3, 1, 2])
    with pytest.raises(TypeError, match="both be Tensors or both be tuples/lists of ints"):
        F.ctc_loss(lp[:, 0], tg[0], 6, 3)
    with pytest.raises(TypeError, match="both be Tensors or both be tuples/lists of ints"):
        F.ctc_loss(lp, tg, [6.0, 5, 2], [3, 1, 2])
    # the same inputs are refused by PyTorch with the same kinds of error
    tlp, ttg = torch.tensor(lp.numpy()), torch.tensor(tg.numpy())
    til, ttl = torch.tensor(il.numpy()), torch.tensor(tl.numpy())
    for call, kind in [(lambda: torch.nn.functional.ctc_loss(tlp, ttg, til, ttl, blank=5), RuntimeError),
                       (lambda: torch.nn.functional.ctc_loss(tlp, ttg, til.float(), ttl), RuntimeError),
                       (lambda: torch.nn.functional.ctc_loss(tlp.half(), ttg, til, ttl), NotImplementedError),
                       (lambda: torch.nn.functional.ctc_loss(tlp, ttg, til, [3, 1, 2]), TypeError),
                       (lambda: torch.nn.functional.ctc_loss(tlp, ttg[:2], til, ttl), RuntimeError),
                       (lambda: torch.nn.functional.ctc_loss(tlp, ttg, til, ttl, reduction="foo"), ValueError)]:
        with pytest.raises(kind):
            call()


def test_same_results_on_every_device(device):
    """The recursions run on the device's array module (CuPy on cuda) and agree with the CPU."""
    T, N, C, il, tl = CASES["variable_lengths"]
    for padded in (True, False):
        x, tg = _case(np.random.default_rng(9), T, N, C, il, tl, padded=padded)
        results = []
        for d in ("cpu", device):
            lp = edunn.tensor(x, device=d).log_softmax(2).detach().requires_grad_()
            loss = F.ctc_loss(lp, edunn.tensor(tg, device=d), edunn.tensor(il, device=d),
                              edunn.tensor(tl, device=d), blank=0, reduction="mean")
            loss.backward()
            assert str(loss.device).startswith(d)
            results.append((loss.detach().cpu().numpy(), lp.grad.cpu().numpy()))
        np.testing.assert_allclose(results[0][0], results[1][0], rtol=1e-10)
        np.testing.assert_allclose(results[0][1], results[1][1], rtol=1e-9, atol=1e-12)


@needs_torch
def test_target_containing_blank_gets_the_exact_gradient():
    """Targets must not contain blank (PyTorch's documentation).  If one does, the loss is still
    PyTorch's; PyTorch's gradient drops a term at the last frame (it fails gradcheck), ours
    passes gradcheck and differs from PyTorch's only there."""
    x = np.random.default_rng(0).standard_normal((8, 2, 5))
    tg, il, tl = np.array([[1, 0, 2], [0, 0, 3]]), [8, 7], [3, 3]
    le, ge, lt, gt = _both(x, tg, il, tl, blank=2, reduction="none")
    np.testing.assert_allclose(le.detach().numpy(), lt.detach().numpy(), rtol=1e-12)
    differ = np.argwhere(np.abs(ge.numpy() - gt.numpy()) > 1e-9)
    assert differ.tolist() == [[7, 0, 2]]
    z = edunn.tensor(x).requires_grad_()
    assert edunn.autograd.gradcheck(
        lambda z: F.ctc_loss(z.log_softmax(2), edunn.tensor(tg), il, tl, blank=2, reduction="sum"),
        (z,), eps=1e-6, atol=1e-6)
