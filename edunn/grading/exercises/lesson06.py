"""Graders of lesson 06 (losses): a stable ``log_softmax``, ``cross_entropy`` on class indices
(with ``ignore_index`` and ``label_smoothing``), a stable ``binary_cross_entropy_with_logits``
(with ``pos_weight``), the robust regression losses ``huber_loss`` and ``smooth_l1_loss``, and
``kl_div`` (with ``reduction='batchmean'`` and ``log_target``).

The learner writes each loss as a function of tensor ops, so autograd derives the gradient. The
references are the library's ``edunn.nn.functional`` functions; every check compares values and
gradients with them in float64, on random inputs, on every ``reduction``, and on extreme logits
(1000, ±1e4, -800) where the naive formulas overflow, and runs ``gradcheck``.

The usual mistakes get a diagnosis: softmax followed by log (nan for a logit of 1000), a shift by
the maximum of the whole tensor instead of each row's, a sum where a mean was asked for, a mean
over every row when some were ignored, label smoothing spread over C - 1 classes, log(sigmoid(x))
computed naively (-inf at -800), pos_weight on the negative term, a gradient at x = 0 off by 1/2
(autograd's slope of clamp at its kink), Huber's linear part without its factor delta, smooth L1
that forgot to divide by beta or divided by beta = 0, a KL divergence divided by N * C or without
its entropy term, 0 log 0 = nan.
"""

from __future__ import annotations

import math
from typing import Any

from edunn.grading import Fail, exercise

REDUCTIONS = ("none", "mean", "sum")


# ---------------------------------------------------------------------------- helpers


def _leaf(t, *shape: int, scale: float = 1.0):
    import edunn

    return edunn.tensor((t.randn(*shape) * scale).tolist(), dtype=edunn.float64, requires_grad=True)


def _tensor(values, requires_grad: bool = True):
    import edunn

    return edunn.tensor(values, dtype=edunn.float64, requires_grad=requires_grad)


def _call(fn, *args, what: str, **kwargs):
    import edunn

    out = fn(*args, **kwargs)
    if not isinstance(out, edunn.Tensor):
        raise Fail(f"{what} returned {type(out).__name__}, expected a Tensor (did you forget `return`?)")
    return out


def _grad_of(out, x, what: str):
    """``d out.sum() / d x`` by autograd through the learner's tensor ops."""
    import edunn

    if out.grad_fn is None:
        raise Fail(f"{what} recorded no graph (its result has no grad_fn): compute it with tensor "
                   "ops on the input (x.exp(), x.amax(...), ...), not on ._data, .tolist() or .item()")
    x.grad = None
    out.sum().backward()
    return x.grad if x.grad is not None else edunn.zeros_like(x)


def _finite(value) -> bool:
    from edunn.grading.compare import to_nested

    def walk(v):
        if isinstance(v, list):
            return all(walk(i) for i in v)
        return math.isfinite(v)

    return walk(to_nested(value))


def _first_bad(value) -> str:
    from edunn.grading.compare import to_nested

    def walk(v):
        if isinstance(v, list):
            for i in v:
                found = walk(i)
                if found is not None:
                    return found
            return None
        return None if math.isfinite(v) else v

    return str(walk(to_nested(value)))


def _gradcheck(t, fn, inputs, what):
    from edunn.autograd import gradcheck

    try:
        ok = gradcheck(fn, inputs, raise_exception=False)
    except NotImplementedError:
        raise
    except Exception as error:
        raise Fail(f"gradcheck of {what} raised {type(error).__name__}: {error}") from None
    t.ok(ok, f"gradcheck of {what} failed: the gradient autograd computes through your tensor ops "
             "does not match the finite differences in float64 (is every step a tensor op on the "
             "input, with nothing taken out through .detach(), ._data or .item()?)")


def _onehot(y, n_classes: int):
    import edunn

    return edunn.eye(n_classes, dtype=edunn.float64)[y]


def _unpack(student, n: int, what: str) -> tuple:
    if not isinstance(student, (tuple, list)) or len(student) != n:
        raise Fail(f"expected a tuple of {n} functions ({what}), got {type(student).__name__}")
    return tuple(student)


# ---------------------------------------------------------------------------- 06.log_softmax


@exercise("06.log_softmax", points=3, reference="edunn.nn.functional.log_softmax",
          title="log_softmax, shifted by the maximum")
def grade_log_softmax(student, t):
    import edunn
    import edunn.nn.functional as F

    with t.group("values and gradient, x (4, 5), dim=1"):
        x = _leaf(t, 4, 5, scale=2.0)
        y = _call(student, x, dim=1, what="log_softmax(x, dim=1)")
        xd = x.detach()
        naive_no_log = xd.exp() / xd.exp().sum(1, keepdim=True)
        t.close(y, F.log_softmax(xd, 1), "log_softmax(x, dim=1)", mistakes={
            "you returned softmax, not its logarithm": naive_no_log.tolist(),
            "you subtracted the maximum but not log(sum(exp(x - max)))":
                (xd - xd.amax(1, keepdim=True)).tolist(),
            "you summed over the wrong dimension (dim=0)": (xd - xd.logsumexp(0, keepdim=True)).tolist(),
        })
        g = t.randn(4, 5, dtype=edunn.float64)
        x.grad = None
        if y.grad_fn is None:
            raise Fail("log_softmax(x) recorded no graph: compute it with tensor ops on x")
        (y * g).sum().backward()
        want = g - F.softmax(xd, 1) * g.sum(1, keepdim=True)
        t.close(x.grad, want, "the gradient of (log_softmax(x, 1) * g).sum()",
                hint="d log_softmax(x)_i / d x_j = [i == j] - softmax(x)_j")
    with t.group("other dimensions: dim=0 on (3, 4), dim=-1 on (2, 3, 4)"):
        x = _leaf(t, 3, 4)
        t.close(_call(student, x, dim=0, what="log_softmax(x, dim=0)"), F.log_softmax(x.detach(), 0),
                "log_softmax(x, dim=0)", hint="reduce along `dim` and keep it (keepdim=True) so the "
                "result broadcasts against x")
        x = _leaf(t, 2, 3, 4)
        t.close(_call(student, x, dim=-1, what="log_softmax(x, dim=-1)"), F.log_softmax(x.detach(), -1),
                "log_softmax(x, dim=-1) for x of shape (2, 3, 4)")
    with t.group("large logits: [[1000, 0, -5]]"):
        x = _tensor([[1000.0, 0.0, -5.0]])
        y = _call(student, x, dim=1, what="log_softmax")
        if not _finite(y):
            raise Fail(f"your log_softmax overflows for logits of 1000: got {_first_bad(y)} "
                       "(exp(1000) is inf in floating point, and inf / inf is nan). Subtract each "
                       "row's maximum before exponentiating: log_softmax(x) = z - log(sum(exp(z))) "
                       "with z = x - max(x)")
        t.close(y, [[0.0, -1000.0, -1005.0]], "log_softmax([[1000, 0, -5]], dim=1)")
        gx = _grad_of(y, x, "log_softmax")
        t.ok(_finite(gx), f"the gradient at logits [[1000, 0, -5]] is not finite: {gx.tolist()}")
        t.close(gx, [[-2.0, 1.0, 1.0]], "the gradient of log_softmax([[1000, 0, -5]]).sum()")
    with t.group("each row shifted by its own maximum: [[1000, 0], [0, 1]]"):
        x = _tensor([[1000.0, 0.0], [0.0, 1.0]])
        y = _call(student, x, dim=1, what="log_softmax")
        want = F.log_softmax(x.detach(), 1)
        if _finite(y.detach()[0]) and not _finite(y.detach()[1]):
            raise Fail(f"your second row, logits [0, 1], gave {y.detach()[1].tolist()}: you shifted "
                       "by the maximum of the whole tensor (1000), so exp(0 - 1000) = 0 and log(0) = "
                       "-inf. Shift each row by its own maximum: x.amax(dim, keepdim=True)")
        t.close(y, want, "log_softmax([[1000, 0], [0, 1]], dim=1)")
    with t.group("logits of ±1e4 and gradcheck"):
        x = _tensor([[1e4, -1e4, 0.0], [-1e4, -1e4, -1e4]])
        y = _call(student, x, dim=1, what="log_softmax")
        if not _finite(y):
            raise Fail(f"your log_softmax is not finite for logits of ±1e4: got {_first_bad(y)}")
        t.close(y, F.log_softmax(x.detach(), 1), "log_softmax of logits ±1e4")
        x = _leaf(t, 3, 4)
        _gradcheck(t, lambda z: student(z, dim=1), (x,), "log_softmax(x, dim=1)")


# ---------------------------------------------------------------------------- 06.cross_entropy


def _ce_call(student, x, y, **kwargs):
    args = ", ".join(f"{k}={v!r}" for k, v in kwargs.items())
    return _call(student, x, y, what=f"cross_entropy(x, y{', ' + args if args else ''})", **kwargs)


@exercise("06.cross_entropy", points=5, reference="edunn.nn.functional.cross_entropy",
          title="cross-entropy on class indices: reductions, ignore_index, label_smoothing")
def grade_cross_entropy(student, t):
    import edunn
    import edunn.nn.functional as F

    with t.group("mean over the batch, and its gradient"):
        x, y = _leaf(t, 6, 4, scale=2.0), t.randint(0, 4, (6,))
        xd = x.detach()
        out = _ce_call(student, x, y)
        logp = F.log_softmax(xd, 1)
        picked = logp.gather(1, y[:, None])[:, 0]
        t.close(out, F.cross_entropy(xd, y), "cross_entropy(x, y)", mistakes={
            "you forgot the minus sign: the loss is -log p(true class)": picked.mean().item(),
            "you summed over the batch; reduction='mean' (the default) divides by N": (-picked.sum()).item(),
            "you took -log p of the same class for every row: pick column y[n] of row n "
            "(logp.gather(1, y[:, None]) or logp[range(N), y])": (-logp[:, 0].mean()).item(),
            "you averaged -log p over every class, not only the true one": (-logp.mean()).item(),
        })
        gx = _grad_of(out, x, "cross_entropy")
        want = (F.softmax(xd, 1) - _onehot(y, 4)) / 6
        t.close(gx, want, "the gradient of cross_entropy(x, y)",
                hint="d loss / d x_n = (softmax(x_n) - onehot(y_n)) / N")
    with t.group("reduction='none' and reduction='sum'"):
        x, y = _leaf(t, 5, 3), t.randint(0, 3, (5,))
        for reduction in ("none", "sum"):
            out = _ce_call(student, x, y, reduction=reduction)
            t.close(out, F.cross_entropy(x.detach(), y, reduction=reduction),
                    f"cross_entropy(x, y, reduction={reduction!r})",
                    hint="'none' is one loss per row, shape (N,); 'sum' adds them")
    with t.group("logits of ±1e4"):
        x = _tensor([[1e4, -1e4, 0.0], [-1e4, 1e4, 1e4], [0.0, 0.0, 1e4]])
        y = t.tensor([1, 2, 2])
        out = _ce_call(student, x, y, reduction="none")
        if not _finite(out):
            raise Fail(f"your cross_entropy overflows for logits of 1e4: got {_first_bad(out)} "
                       "(compute it from a stable log_softmax, never from log(softmax(x)))")
        t.close(out, F.cross_entropy(x.detach(), y, reduction="none"),
                "cross_entropy of logits ±1e4, reduction='none'")
        gx = _grad_of(_ce_call(student, x, y), x, "cross_entropy")
        t.close(gx, (F.softmax(x.detach(), 1) - _onehot(y, 3)) / 3,
                "the gradient at logits ±1e4")
    with t.group("ignore_index: ignored rows add nothing, and 'mean' divides by the others"):
        x, y = _leaf(t, 6, 4), t.tensor([1, -100, 3, 0, -100, 2])
        xd = x.detach()
        out = _ce_call(student, x, y)
        want = F.cross_entropy(xd, y)
        kept = F.cross_entropy(xd, y, reduction="sum")
        t.close(out, want, "cross_entropy(x, y) with two targets equal to -100 (the default ignore_index)",
                mistakes={"you divided by N = 6; 'mean' divides by the number of rows that are not "
                          "ignored (4 here)": (kept / 6).item()})
        gx = _grad_of(out, x, "cross_entropy")
        t.close(gx[1], [0.0] * 4, "the gradient of an ignored row")
        x2, y2 = _leaf(t, 4, 3), t.tensor([2, 0, 1, 0])
        t.close(_ce_call(student, x2, y2, ignore_index=0, reduction="none"),
                F.cross_entropy(x2.detach(), y2, ignore_index=0, reduction="none"),
                "cross_entropy(x, y, ignore_index=0, reduction='none')",
                hint="an ignored row's loss is 0 with reduction='none'")
    with t.group("label_smoothing"):
        x, y = _leaf(t, 5, 4), t.randint(0, 4, (5,))
        xd = x.detach()
        eps = 0.2
        out = _ce_call(student, x, y, label_smoothing=eps)
        logp = F.log_softmax(xd, 1)
        nll = -logp.gather(1, y[:, None])[:, 0]
        t.close(out, F.cross_entropy(xd, y, label_smoothing=eps), "cross_entropy(x, y, label_smoothing=0.2)",
                mistakes={
                    "you spread eps over the C - 1 wrong classes; PyTorch spreads it over all C classes, "
                    "target = (1 - eps) onehot + eps / C":
                        ((1 - eps) * nll + eps / 3 * (-logp.sum(1) - nll)).mean().item(),
                    "you added eps / C * sum(-log p) but kept the full NLL: multiply it by (1 - eps)":
                        (nll + eps / 4 * -logp.sum(1)).mean().item(),
                    "label_smoothing changed nothing": nll.mean().item(),
                })
        gx = _grad_of(out, x, "cross_entropy")
        smooth = (1 - eps) * _onehot(y, 4) + eps / 4
        t.close(gx, (F.softmax(xd, 1) - smooth) / 5, "the gradient with label_smoothing=0.2")
        y2 = t.tensor([1, -100, 3, 0, -100])
        t.close(_ce_call(student, x, y2, label_smoothing=eps),
                F.cross_entropy(xd, y2, label_smoothing=eps),
                "cross_entropy with label_smoothing=0.2 and two ignored rows",
                hint="ignored rows get no smoothing term either, and 'mean' still divides by the "
                     "rows that are kept")
    with t.group("gradcheck"):
        x, y = _leaf(t, 3, 4), t.randint(0, 4, (3,))
        _gradcheck(t, lambda z: student(z, y), (x,), "cross_entropy(x, y)")


# ---------------------------------------------------------------------------- 06.bce_with_logits


def _bce_call(student, x, y, **kwargs):
    args = ", ".join(f"{k}={'...' if k == 'pos_weight' else repr(v)}" for k, v in kwargs.items())
    return _call(student, x, y, what=f"binary_cross_entropy_with_logits(x, y{', ' + args if args else ''})",
                 **kwargs)


@exercise("06.bce_with_logits", points=5, reference="edunn.nn.functional.binary_cross_entropy_with_logits",
          title="binary cross-entropy on logits, stable, with pos_weight")
def grade_bce_with_logits(student, t):
    import edunn
    import edunn.nn.functional as F

    with t.group("values and gradient (mean)"):
        x, y = _leaf(t, 4, 3, scale=2.0), t.rand(4, 3, dtype=edunn.float64)
        xd = x.detach()
        out = _bce_call(student, x, y)
        p = xd.sigmoid()
        t.close(out, F.binary_cross_entropy_with_logits(xd, y), "binary_cross_entropy_with_logits(x, y)",
                mistakes={
                    "you summed; reduction='mean' (the default) divides by the number of elements":
                        F.binary_cross_entropy_with_logits(xd, y, reduction="sum").item(),
                    "you swapped the two terms: the loss is -[y log s(x) + (1 - y) log(1 - s(x))]":
                        F.binary_cross_entropy_with_logits(xd, 1 - y).item(),
                    "you forgot the minus sign": -F.binary_cross_entropy_with_logits(xd, y).item(),
                })
        gx = _grad_of(out, x, "binary_cross_entropy_with_logits")
        t.close(gx, (p - y) / 12, "the gradient of binary_cross_entropy_with_logits(x, y)",
                hint="d loss / d x = (sigmoid(x) - y) / (number of elements)")
    with t.group("reduction='none' and 'sum'"):
        x, y = _leaf(t, 5), t.rand(5, dtype=edunn.float64)
        for reduction in ("none", "sum"):
            t.close(_bce_call(student, x, y, reduction=reduction),
                    F.binary_cross_entropy_with_logits(x.detach(), y, reduction=reduction),
                    f"binary_cross_entropy_with_logits(x, y, reduction={reduction!r})")
    with t.group("large logits: x = [-800, 800, -1e4, 1e4]"):
        x = _tensor([-800.0, 800.0, -1e4, 1e4])
        y = t.tensor([1.0, 0.0, 0.3, 0.7], dtype=edunn.float64)
        out = _bce_call(student, x, y, reduction="none")
        if not _finite(out):
            raise Fail(f"your loss is not finite for a logit of -800: got {_first_bad(out)}. "
                       "log(sigmoid(-800)) = log(0) = -inf in floating point; use "
                       "max(x, 0) - x y + log1p(exp(-|x|)), whose exp never overflows")
        t.close(out, F.binary_cross_entropy_with_logits(x.detach(), y, reduction="none"),
                "the losses at logits [-800, 800, -1e4, 1e4]")
        gx = _grad_of(out, x, "binary_cross_entropy_with_logits")
        t.ok(_finite(gx), f"the gradient at logits [-800, 800, -1e4, 1e4] is not finite: {gx.tolist()}")
        t.close(gx, x.detach().sigmoid() - y, "the gradient at logits [-800, 800, -1e4, 1e4]")
    with t.group("the gradient at exactly x = 0"):
        x = _tensor([0.0, 0.0, 0.0])
        y = t.tensor([1.0, 0.0, 0.25], dtype=edunn.float64)
        gx = _grad_of(_bce_call(student, x, y, reduction="sum"), x, "binary_cross_entropy_with_logits")
        t.close(gx, [-0.5, 0.5, 0.25], "the gradient at x = 0 (sigmoid(0) - y)", mistakes={
            "at x = 0 autograd took the slope 1 of x.clamp(max=0) (or 0 of relu) at its kink, so your "
            "gradient is off by 0.5 there; write min(x, 0) as (x - x.abs()) / 2, whose slope at 0 is "
            "exactly 1/2 because the derivative of |x| at 0 is sign(0) = 0": [-1.0, 0.0, -0.25],
            "at x = 0 autograd took the slope 0 of relu (or of x.clamp(max=0) from the other side) at "
            "its kink, so your gradient is off by 0.5 there; write min(x, 0) as (x - x.abs()) / 2": [0.0, 1.0, 0.75],
        })
    with t.group("pos_weight of shape (C,), broadcast over the batch"):
        x, y = _leaf(t, 4, 3), t.randint(0, 2, (4, 3)).to(edunn.float64)
        pw = t.tensor([3.0, 0.5, 1.0], dtype=edunn.float64)
        xd = x.detach()
        out = _bce_call(student, x, y, pos_weight=pw, reduction="none")
        t.close(out, F.binary_cross_entropy_with_logits(xd, y, pos_weight=pw, reduction="none"),
                "binary_cross_entropy_with_logits(x, y, pos_weight=[3, 0.5, 1], reduction='none')",
                mistakes={
                    "pos_weight multiplies the positive term y log sigmoid(x) only, not the whole loss":
                        (pw * F.binary_cross_entropy_with_logits(xd, y, reduction="none")).tolist(),
                    "you weighted the negative term; pos_weight multiplies y log sigmoid(x)":
                        (-(y * F.logsigmoid(xd) + pw * (1 - y) * F.logsigmoid(-xd))).tolist(),
                })
        gx = _grad_of(_bce_call(student, x, y, pos_weight=pw), x, "binary_cross_entropy_with_logits")
        xr = xd.clone().requires_grad_(True)
        F.binary_cross_entropy_with_logits(xr, y, pos_weight=pw).backward()
        t.close(gx, xr.grad, "the gradient with pos_weight")
    with t.group("gradcheck"):
        x, y = _leaf(t, 2, 3, scale=3.0), t.rand(2, 3, dtype=edunn.float64)
        _gradcheck(t, lambda z: student(z, y), (x,), "binary_cross_entropy_with_logits(x, y)")


# ---------------------------------------------------------------------------- 06.huber


@exercise("06.huber", points=3, reference=("edunn.nn.functional.huber_loss", "edunn.nn.functional.smooth_l1_loss"),
          title="huber_loss and smooth_l1_loss")
def grade_huber(student, t):
    import edunn
    import edunn.nn.functional as F

    huber, smooth_l1 = _unpack(student, 2, "huber_loss, smooth_l1_loss")
    with t.group("huber_loss: values and gradient, delta = 1 and 2.5"):
        for delta in (1.0, 2.5):
            x, y = _leaf(t, 4, 5, scale=3.0), t.randn(4, 5, dtype=edunn.float64)
            xd = x.detach()
            out = _call(huber, x, y, delta=delta, reduction="none",
                        what=f"huber_loss(x, y, delta={delta}, reduction='none')")
            d = xd - y
            t.close(out, F.huber_loss(xd, y, delta=delta, reduction="none"),
                    f"huber_loss(x, y, delta={delta}, reduction='none')", mistakes={
                        "beyond delta the loss is delta * (|d| - delta / 2); you wrote "
                        "delta * |d| - delta / 2": edunn.where(d.abs() < delta, 0.5 * d * d,
                                                              delta * d.abs() - 0.5 * delta).tolist(),
                        "you forgot the 1/2 in the quadratic part (0.5 d^2)":
                            edunn.where(d.abs() < delta, d * d, delta * (d.abs() - 0.5 * delta)).tolist(),
                        "you wrote smooth L1 (Huber divided by delta)":
                            F.smooth_l1_loss(xd, y, beta=delta, reduction="none").tolist(),
                    })
            gx = _grad_of(out, x, "huber_loss")
            t.close(gx, d.clamp(-delta, delta), f"the gradient of huber_loss(x, y, delta={delta}).sum()",
                    hint="the gradient is d where |d| < delta, and delta * sign(d) beyond: it is clipped")
    with t.group("huber_loss: reductions"):
        x, y = _leaf(t, 3, 4, scale=2.0), t.randn(3, 4, dtype=edunn.float64)
        for reduction in ("mean", "sum"):
            t.close(_call(huber, x, y, reduction=reduction, what="huber_loss"),
                    F.huber_loss(x.detach(), y, reduction=reduction), f"huber_loss(x, y, reduction={reduction!r})")
    with t.group("smooth_l1_loss: values and gradient, beta = 0.5 and 2"):
        for beta in (0.5, 2.0):
            x, y = _leaf(t, 3, 5, scale=2.0), t.randn(3, 5, dtype=edunn.float64)
            xd = x.detach()
            out = _call(smooth_l1, x, y, beta=beta, reduction="none",
                        what=f"smooth_l1_loss(x, y, beta={beta}, reduction='none')")
            t.close(out, F.smooth_l1_loss(xd, y, beta=beta, reduction="none"),
                    f"smooth_l1_loss(x, y, beta={beta}, reduction='none')", mistakes={
                        "smooth L1 is Huber divided by beta: 0.5 d^2 / beta inside, |d| - beta / 2 "
                        "outside; you returned Huber itself":
                            F.huber_loss(xd, y, delta=beta, reduction="none").tolist(),
                    })
            gx = _grad_of(out, x, "smooth_l1_loss")
            t.close(gx, ((xd - y) / beta).clamp(-1, 1), f"the gradient of smooth_l1_loss(x, y, beta={beta}).sum()")
        x, y = _leaf(t, 2, 3), t.randn(2, 3, dtype=edunn.float64)
        t.close(_call(smooth_l1, x, y, what="smooth_l1_loss"), F.smooth_l1_loss(x.detach(), y),
                "smooth_l1_loss(x, y) with the defaults (beta=1, 'mean')")
    with t.group("smooth_l1_loss with beta = 0 is the L1 loss"):
        x, y = _leaf(t, 2, 4), t.randn(2, 4, dtype=edunn.float64)
        out = _call(smooth_l1, x, y, beta=0.0, reduction="sum", what="smooth_l1_loss(x, y, beta=0.0)")
        if not _finite(out):
            raise Fail(f"smooth_l1_loss(x, y, beta=0.0) gave {_first_bad(out)}: 0.5 d^2 / beta divides "
                       "by zero; with beta = 0 return the L1 loss |x - y| directly")
        t.close(out, F.l1_loss(x.detach(), y, reduction="sum"), "smooth_l1_loss(x, y, beta=0.0, reduction='sum')")
        gx = _grad_of(out, x, "smooth_l1_loss")
        if not _finite(gx):
            raise Fail(f"the gradient of smooth_l1_loss(x, y, beta=0.0) is not finite: got {_first_bad(gx)}. "
                       "edunn.where picks the right values, but the branch it drops, 0.5 d^2 / beta, "
                       "still divides by zero, and its gradient is 0 * inf = nan; with beta = 0 return "
                       "|x - y| without computing that branch")
        t.close(gx, (x.detach() - y).sign(), "the gradient of smooth_l1_loss(x, y, beta=0.0, reduction='sum')")
    with t.group("gradcheck"):
        x, y = _leaf(t, 2, 3, scale=2.0), t.randn(2, 3, dtype=edunn.float64)
        _gradcheck(t, lambda z: huber(z, y, delta=1.5), (x,), "huber_loss(x, y, delta=1.5)")
        _gradcheck(t, lambda z: smooth_l1(z, y, beta=0.7), (x,), "smooth_l1_loss(x, y, beta=0.7)")


# ---------------------------------------------------------------------------- 06.kl_div


def _kl_reference(input, target, **kwargs):
    import warnings

    import edunn.nn.functional as F

    with warnings.catch_warnings():         # reduction='mean' warns in PyTorch and edunn alike
        warnings.simplefilter("ignore")
        return F.kl_div(input, target, **kwargs)


def _log_probs(t, n: int, c: int):
    import edunn
    import edunn.nn.functional as F

    return edunn.tensor(F.log_softmax(t.randn(n, c, dtype=edunn.float64), 1).tolist(),
                        dtype=edunn.float64, requires_grad=True)


@exercise("06.kl_div", points=3, reference="edunn.nn.functional.kl_div",
          title="the KL divergence, with reduction='batchmean' and log_target")
def grade_kl_div(student, t):
    import edunn
    import edunn.nn.functional as F

    with t.group("reduction='batchmean': values and gradient"):
        log_p = _log_probs(t, 4, 5)
        q = F.softmax(t.randn(4, 5, dtype=edunn.float64), 1)
        lp = log_p.detach()
        out = _call(student, log_p, q, reduction="batchmean", what="kl_div(log_p, q, reduction='batchmean')")
        t.close(out, _kl_reference(lp, q, reduction="batchmean"), "kl_div(log_p, q, reduction='batchmean')",
                mistakes={
                    "you divided by every element (N * C): that is reduction='mean'; 'batchmean' "
                    "divides the sum by the batch size N = input.shape[0]":
                        _kl_reference(lp, q, reduction="mean").item(),
                    "you computed the cross-entropy -sum q log p / N: the KL divergence also adds "
                    "sum q log q (the target's negative entropy)": (-(q * lp).sum() / 4).item(),
                    "you swapped the roles: kl_div(input, target) is sum target * (log target - input), "
                    "with input the model's log-probabilities": ((lp.exp() * (lp - q.log())).sum() / 4).item(),
                    "you forgot to divide by the batch size": _kl_reference(lp, q, reduction="sum").item(),
                })
        gx = _grad_of(out, log_p, "kl_div")
        t.close(gx, -q / 4, "the gradient with respect to input", hint="d/d input of "
                "sum q (log q - input) / N is -q / N")
    with t.group("reduction='none', 'sum' and 'mean'"):
        log_p = _log_probs(t, 3, 4)
        q = F.softmax(t.randn(3, 4, dtype=edunn.float64), 1)
        for reduction in ("none", "sum", "mean"):
            t.close(_call(student, log_p, q, reduction=reduction, what=f"kl_div(..., reduction={reduction!r})"),
                    _kl_reference(log_p.detach(), q, reduction=reduction), f"kl_div(log_p, q, reduction={reduction!r})",
                    hint="'none' is the elementwise q (log q - input), 'mean' averages over every element")
    with t.group("targets with zeros: 0 log 0 = 0"):
        log_p = _log_probs(t, 2, 4)
        q = t.tensor([[0.0, 0.5, 0.5, 0.0], [1.0, 0.0, 0.0, 0.0]], dtype=edunn.float64)
        out = _call(student, log_p, q, reduction="none", what="kl_div(log_p, q, reduction='none')")
        if not _finite(out):
            raise Fail(f"your kl_div gave {_first_bad(out)} where the target is 0: q * log(q) is "
                       "0 * (-inf) = nan there, but its limit is 0. Use edunn.xlogy(q, q), which is "
                       "0 wherever q is 0")
        t.close(out, _kl_reference(log_p.detach(), q, reduction="none"), "kl_div with zeros in the target")
        gx = _grad_of(out, log_p, "kl_div")
        t.close(gx, -q, "the gradient with respect to input, targets with zeros")
    with t.group("log_target=True: the target is given as log q"):
        log_p = _log_probs(t, 3, 5)
        log_q = F.log_softmax(t.randn(3, 5, dtype=edunn.float64), 1)
        out = _call(student, log_p, log_q, reduction="batchmean", log_target=True,
                    what="kl_div(log_p, log_q, reduction='batchmean', log_target=True)")
        t.close(out, _kl_reference(log_p.detach(), log_q, reduction="batchmean", log_target=True),
                "kl_div(log_p, log_q, reduction='batchmean', log_target=True)",
                hint="with log_target the loss is exp(target) * (target - input)")
    with t.group("gradcheck"):
        log_p = _log_probs(t, 2, 3)
        q = F.softmax(t.randn(2, 3, dtype=edunn.float64), 1)
        _gradcheck(t, lambda z: student(z, q, reduction="batchmean"), (log_p,), "kl_div(log_p, q, reduction='batchmean')")
