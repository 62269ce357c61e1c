"""The graders of lesson 06: references and the notebook's solutions get full marks, the stub
zero, planted mistakes less than full marks with a specific message."""

from pathlib import Path

import pytest

import edunn
import edunn.nn.functional as F
from edunn.grading.notebooks import read_notebook
from edunn.grading.testing import assert_full_marks, assert_partial, assert_zero, stub

pytestmark = [pytest.mark.lesson06, pytest.mark.filterwarnings("ignore::RuntimeWarning"),  # naive planted losses overflow
              pytest.mark.filterwarnings("ignore:reduction. .mean. divides:UserWarning")]  # kl_div(reduction="mean")

ROOT = Path(__file__).resolve().parents[2]
SOLUTION = ROOT / "solutions" / "06_losses.ipynb"


def _reduce(loss, reduction):
    if reduction == "none":
        return loss
    return loss.sum() if reduction == "sum" else loss.mean()


# ---------------------------------------------------------------------------- planted mistakes: log_softmax

def log_softmax_naive(x, dim=-1):
    e = x.exp()
    return (e / e.sum(dim, keepdim=True)).log()


def log_softmax_global_max(x, dim=-1):
    z = x - x.max()
    return z - z.exp().sum(dim, keepdim=True).log()


def softmax_only(x, dim=-1):
    z = (x - x.amax(dim, keepdim=True)).exp()
    return z / z.sum(dim, keepdim=True)


def log_softmax_no_normaliser(x, dim=-1):
    return x - x.amax(dim, keepdim=True)


def log_softmax_on_arrays(x, dim=-1):
    return edunn.tensor(F.log_softmax(x.detach(), dim).tolist(), dtype=x.dtype)


# ---------------------------------------------------------------------------- planted mistakes: cross_entropy

def _ce(sum_instead=False, divide_by_n=False, smoothing_over_rest=False, no_sign=False):
    def cross_entropy(input, target, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
        logp = F.log_softmax(input, 1)
        keep = target != ignore_index
        safe = edunn.where(keep, target, 0)
        nll = -logp.gather(1, safe[:, None])[:, 0]
        if label_smoothing > 0:
            if smoothing_over_rest:
                rest = (-logp.sum(1) - nll) / (input.shape[1] - 1)
                nll = (1 - label_smoothing) * nll + label_smoothing * rest
            else:
                nll = (1 - label_smoothing) * nll + label_smoothing * -logp.mean(1)
        loss = nll * keep
        if no_sign:
            loss = -loss
        if reduction == "none":
            return loss
        if reduction == "sum" or sum_instead:
            return loss.sum()
        return loss.sum() / (len(target) if divide_by_n else keep.sum())
    return cross_entropy


def ce_naive(input, target, ignore_index=-100, label_smoothing=0.0, reduction="mean"):
    nll = -log_softmax_naive(input, 1).gather(1, target.clamp(min=0)[:, None])[:, 0]
    return _reduce(nll, reduction)


# ---------------------------------------------------------------------------- planted mistakes: BCE with logits

def bce_naive(input, target, pos_weight=None, reduction="mean"):
    s = input.sigmoid()
    pw = 1 if pos_weight is None else pos_weight
    return _reduce(-(pw * target * s.log() + (1 - target) * (1 - s).log()), reduction)


def bce_weights_everything(input, target, pos_weight=None, reduction="mean"):
    loss = F.binary_cross_entropy_with_logits(input, target, reduction="none")
    if pos_weight is not None:
        loss = loss * pos_weight
    return _reduce(loss, reduction)


def bce_sums(input, target, pos_weight=None, reduction="mean"):
    return F.binary_cross_entropy_with_logits(input, target, pos_weight=pos_weight,
                                              reduction="none" if reduction == "none" else "sum")


def bce_clamp(input, target, pos_weight=None, reduction="mean"):
    log_sigmoid = input.clamp(max=0) - (-input.abs()).exp().log1p()
    positive = target * log_sigmoid if pos_weight is None else pos_weight * target * log_sigmoid
    return _reduce(-(positive + (1 - target) * (log_sigmoid - input)), reduction)


# ---------------------------------------------------------------------------- planted mistakes: KL

def _kl(divide_by_all=False, no_entropy=False, plain_log=False):
    def kl_div(input, target, reduction="batchmean", log_target=False):
        q = target.exp() if log_target else target
        log_q = target if log_target else (target.log() if plain_log else None)
        if no_entropy:
            loss = -q * input
        elif log_q is not None:
            loss = q * (log_q - input)
        else:
            loss = edunn.xlogy(q, q) - q * input
        if reduction == "none":
            return loss
        if reduction == "sum":
            return loss.sum()
        if reduction == "mean" or divide_by_all:
            return loss.mean()
        return loss.sum() / input.shape[0]
    return kl_div


# ---------------------------------------------------------------------------- planted mistakes: Huber

def huber_missing_delta(input, target, delta=1.0, reduction="mean"):
    d = input - target
    return _reduce(edunn.where(d.abs() < delta, 0.5 * d * d, delta * d.abs() - 0.5 * delta), reduction)


def smooth_l1_is_huber(input, target, beta=1.0, reduction="mean"):
    if beta == 0:
        return F.l1_loss(input, target, reduction=reduction)
    return F.huber_loss(input, target, delta=beta, reduction=reduction)


def smooth_l1_divides_by_zero(input, target, beta=1.0, reduction="mean"):
    d = input - target
    return _reduce(edunn.where(d.abs() < beta, 0.5 * d * d / beta, d.abs() - 0.5 * beta), reduction)


# ---------------------------------------------------------------------------- the tests

def test_log_softmax():
    assert_full_marks("06.log_softmax", F.log_softmax)
    assert_zero("06.log_softmax", stub)
    assert_partial("06.log_softmax", log_softmax_naive, mentions="overflows for logits of 1000: got nan")
    assert_partial("06.log_softmax", log_softmax_global_max, mentions="maximum of the whole tensor")
    assert_partial("06.log_softmax", softmax_only, mentions="you returned softmax, not its logarithm")
    assert_partial("06.log_softmax", log_softmax_no_normaliser, mentions="not log(sum(exp(x - max)))")
    assert_partial("06.log_softmax", log_softmax_on_arrays, mentions="recorded no graph")


def test_cross_entropy():
    assert_full_marks("06.cross_entropy", F.cross_entropy)
    assert_zero("06.cross_entropy", stub)
    assert_full_marks("06.cross_entropy", _ce())
    assert_partial("06.cross_entropy", _ce(sum_instead=True), mentions="you summed over the batch")
    assert_partial("06.cross_entropy", _ce(divide_by_n=True), mentions="you divided by N = 6")
    assert_partial("06.cross_entropy", _ce(smoothing_over_rest=True), mentions="C - 1 wrong classes")
    assert_partial("06.cross_entropy", _ce(no_sign=True), mentions="you forgot the minus sign")
    assert_partial("06.cross_entropy", ce_naive, mentions="overflows for logits of 1e4")


def test_bce_with_logits():
    assert_full_marks("06.bce_with_logits", F.binary_cross_entropy_with_logits)
    assert_zero("06.bce_with_logits", stub)
    assert_partial("06.bce_with_logits", bce_naive, mentions="not finite for a logit of -800: got inf")
    assert_partial("06.bce_with_logits", bce_weights_everything, mentions="not the whole loss")
    assert_partial("06.bce_with_logits", bce_sums, mentions="you summed")
    assert_partial("06.bce_with_logits", bce_clamp, mentions="write min(x, 0) as (x - x.abs()) / 2")


def test_kl_div():
    assert_full_marks("06.kl_div", F.kl_div)
    assert_full_marks("06.kl_div", _kl())
    assert_zero("06.kl_div", stub)
    assert_partial("06.kl_div", _kl(divide_by_all=True), mentions="that is reduction='mean'")
    assert_partial("06.kl_div", _kl(no_entropy=True), mentions="you computed the cross-entropy")
    assert_partial("06.kl_div", _kl(plain_log=True), mentions="Use edunn.xlogy(q, q)")


def test_huber():
    assert_full_marks("06.huber", (F.huber_loss, F.smooth_l1_loss))
    assert_zero("06.huber", (stub, stub))
    assert_partial("06.huber", (huber_missing_delta, F.smooth_l1_loss), mentions="delta * (|d| - delta / 2)")
    assert_partial("06.huber", (F.huber_loss, smooth_l1_is_huber), mentions="you returned Huber itself")
    assert_partial("06.huber", (F.huber_loss, smooth_l1_divides_by_zero), mentions="divides by zero")
    assert_partial("06.huber", F.huber_loss, mentions="expected a tuple of 2 functions")


# ---------------------------------------------------------------------------- the notebook's solutions

def _solution_namespace():
    """Run the notebook's exercise cells with ``check`` as the identity; return what they define."""
    nb = read_notebook(SOLUTION)
    namespace = {}
    exec("import math\nimport edunn\nimport edunn.nn.functional as F\n", namespace)
    namespace["check"] = lambda exercise_id, impl: impl
    for cell in nb.cells:
        if cell.cell_type == "code" and "### BEGIN SOLUTION" in cell.source:
            exec(compile(cell.source, "<solution cell>", "exec"), namespace)
    return namespace


@pytest.mark.skipif(not SOLUTION.exists(), reason="solutions/06_losses.ipynb is missing")
def test_the_notebook_solutions_get_full_marks():
    ns = _solution_namespace()
    assert_full_marks("06.log_softmax", ns["log_softmax"])
    assert_full_marks("06.cross_entropy", ns["cross_entropy"])
    assert_full_marks("06.bce_with_logits", ns["binary_cross_entropy_with_logits"])
    assert_full_marks("06.huber", (ns["huber_loss"], ns["smooth_l1_loss"]))
    assert_full_marks("06.kl_div", ns["kl_div"])
