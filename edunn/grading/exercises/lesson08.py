"""Graders of lesson 08 (dropout, embeddings and distances): inverted dropout, an embedding lookup
whose gradient is a scatter-add (with ``padding_idx``), ``embedding_bag`` in sum and mean mode
with offsets, and cosine similarity with its ``eps``.

References: ``edunn.nn.functional.dropout``, ``embedding``, ``embedding_bag`` and
``cosine_similarity`` (``edunn/nn/functional/dropout.py``, ``sparse.py``, ``distance.py``).

Dropout draws random numbers, and the learner's stream need not be edunn's, so it is graded by
statistics: the fraction dropped, the value of the kept entries, the mean, the identity in
evaluation, the gradient ``mask / (1 - p)``, and ``manual_seed`` reproducing the mask. The
others are compared with the reference (values and gradients, float64) on random inputs, and
the usual mistakes are named: ``p`` read as the keep probability, no ``1 / (1 - p)``, ``=``
instead of ``+=`` for repeated indices, a gradient at ``padding_idx``, the last bag forgotten,
an empty bag's mean of ``0 / 0``, and ``eps`` clamping the product of the norms.
"""

from __future__ import annotations

from typing import Any

from edunn.grading import Fail, exercise

# ---------------------------------------------------------------------------- helpers


def _leaf(t, *shape: int, scale: float = 1.0):
    import edunn

    return edunn.tensor((t.randn(*shape) * scale).tolist(), dtype=edunn.float64, requires_grad=True)


def _tensor(out: Any, what: str):
    import edunn

    if not isinstance(out, edunn.Tensor):
        raise Fail(f"{what} returned {type(out).__name__}, expected an edunn Tensor")
    return out


def _grad_of(y, g, x):
    """``d (y * g).sum() / dx`` through the learner's graph."""
    import edunn

    if y.grad_fn is None:
        raise Fail("the output recorded no graph (it has no grad_fn): build it from tensor ops or "
                   "return the result of your Function's .apply(...)")
    x.grad = None
    (y * g).sum().backward()
    if x.grad is None:
        return edunn.zeros_like(x)
    if getattr(x.grad, "is_sparse", False):
        return x.grad.to_dense()
    return x.grad


def _scatter_add(idx: list, rows: list, num: int, dim: int, *, overwrite: bool = False) -> list:
    """The table gradient of a lookup, in plain Python (``overwrite``: the ``=`` mistake)."""
    out = [[0.0] * dim for _ in range(num)]
    for i, row in zip(idx, rows):
        out[i] = list(row) if overwrite else [a + b for a, b in zip(out[i], row)]
    return out


# ---------------------------------------------------------------------------- 08.dropout


@exercise("08.dropout", points=3, reference="edunn.nn.functional.dropout.dropout",
          title="inverted dropout: drop with probability p, scale the rest by 1/(1-p)")
def grade_dropout(student, t):
    import edunn

    with t.group("evaluation: the identity"):
        x = t.randn(3, 4)
        y = _tensor(student(x, p=0.5, training=False), "dropout(x, p=0.5, training=False)")
        t.close(y, x, "dropout(x, p=0.5, training=False)",
                hint="with training=False dropout returns its input unchanged: inverted dropout "
                     "already scaled in training, so evaluation needs nothing")
    with t.group("p outside [0, 1] is refused"):
        x = t.randn(2, 3)
        for p in (-0.1, 1.5):
            t.raises(ValueError, student, x, p=p, what=f"dropout(x, p={p})")
    with t.group("training: the fraction dropped and the scale of the rest"):
        p = 0.3
        x = edunn.ones(200, 500)
        y = _tensor(student(x, p=p), "dropout(x, p=0.3)")
        if tuple(y.shape) != (200, 500):
            raise Fail(f"dropout(x, p=0.3) has shape {tuple(y.shape)}, expected the input's (200, 500)")
        t.equal(y.dtype, edunn.float32, "the dtype of dropout(x) for a float32 x",
                hint="multiply by a mask of the input's dtype")
        dropped = float((y == 0).float().mean())
        if abs(dropped - (1 - p)) < 0.02:
            raise Fail(f"{dropped:.3f} of the entries were zeroed, expected about p = {p}: p is the "
                       "probability of *dropping* an entry, keep it with probability 1 - p")
        t.ok(abs(dropped - p) < 0.01, f"{dropped:.3f} of the entries were zeroed, expected about p = {p}")
        kept = y[y != 0]
        value = float(kept.mean()) if kept.numel() else 0.0
        t.close(value, 1 / (1 - p), "the value of a kept entry of dropout(ones, p=0.3)", rtol=1e-4,
                mistakes={"the kept entries are not scaled: inverted dropout multiplies them by "
                          "1/(1-p), so that E[y] = x and evaluation needs no change": 1.0,
                          "you multiplied by (1-p): that is what the original dropout did at test "
                          "time; inverted dropout divides by (1-p) in training": 1 - p})
        t.close(float(y.mean()), 1.0, "the mean of dropout(ones, p=0.3)", rtol=0.02, atol=0.0,
                hint="E[y] = x: (1 - p) of the entries, each x / (1 - p)")
    with t.group("training: y is 0 or x / (1 - p), and the gradient is mask / (1 - p)"):
        p = 0.4
        x = _leaf(t, 30, 20)
        y = _tensor(student(x, p=p), "dropout(x, p=0.4)")
        xd, yd = x.detach(), y.detach()
        mask = (yd != 0).to(edunn.float64)
        t.close(yd, xd * mask / (1 - p), "dropout(x, p=0.4) on the entries it kept")
        g = t.randn(30, 20, dtype=edunn.float64)
        gx = _grad_of(y, g, x)
        t.close(gx, g * mask / (1 - p), "the gradient of dropout(x, p=0.4)",
                hint="y = x * m / (1 - p), so dy/dx = m / (1 - p): multiply by the mask with a "
                     "tensor op and autograd does it")
    with t.group("p = 0 keeps everything, p = 1 drops everything"):
        x = t.randn(4, 5)
        t.close(student(x, p=0.0), x, "dropout(x, p=0.0)")
        y = student(x, p=1.0)
        t.close(y, edunn.zeros(4, 5), "dropout(x, p=1.0)", equal_nan=False,
                hint="at p = 1, 1/(1-p) is infinite and 0 * inf = nan: return zeros (PyTorch "
                     "does) before dividing")
    with t.group("edunn.manual_seed reproduces the mask"):
        x = edunn.ones(6, 7)
        edunn.manual_seed(8)
        first = student(x, p=0.5)
        edunn.manual_seed(8)
        second = student(x, p=0.5)
        t.close(second, first, "dropout after the same edunn.manual_seed(8)",
                hint="draw the mask with edunn's generator (edunn.rand, edunn.rand_like or "
                     "edunn.bernoulli), which manual_seed seeds")


# ---------------------------------------------------------------------------- 08.embedding


@exercise("08.embedding", points=4, reference="edunn.nn.functional.embedding",
          title="an embedding lookup, its scatter-add gradient and padding_idx")
def grade_embedding(student, t):
    import edunn

    with t.group("forward: out[i, j] = weight[input[i, j]]"):
        w = _leaf(t, 7, 3)
        idx = edunn.tensor([[2, 5, 2, 0], [6, 1, 5, 2]])
        y = _tensor(student(idx, w), "embedding(input, weight)")
        t.close(y, w.detach()[idx], "embedding(input (2, 4), weight (7, 3))",
                hint="the output has shape input.shape + (embedding_dim,): weight[input]")
    with t.group("backward: the output gradient scatter-added into the rows that were looked up"):
        w = _leaf(t, 7, 3)
        idx = edunn.tensor([[2, 5, 2, 0], [6, 1, 5, 2]])
        g = t.randn(2, 4, 3, dtype=edunn.float64)
        gw = _grad_of(_tensor(student(idx, w), "embedding(input, weight)"), g, w)
        flat, rows = sum(idx.tolist(), []), g.reshape(-1, 3).tolist()
        t.close(gw, _scatter_add(flat, rows, 7, 3), "the gradient of weight", mistakes={
            "rows looked up more than once (2 and 5 here) must receive the sum of their output "
            "gradients: you overwrote them (grad_w[idx] = g); add them up (index_add, "
            "scatter_add)": _scatter_add(flat, rows, 7, 3, overwrite=True)})
    with t.group("padding_idx: that row is looked up as usual but gets no gradient"):
        w = _leaf(t, 5, 2)
        idx = edunn.tensor([0, 3, 0, 4, 1])
        y = _tensor(student(idx, w, padding_idx=0), "embedding(input, weight, padding_idx=0)")
        t.close(y, w.detach()[idx], "embedding(input, weight, padding_idx=0)",
                hint="the forward pass still returns weight[padding_idx] (nn.Embedding initialises "
                     "that row to zeros, but F.embedding reads whatever it holds); only its "
                     "gradient is zero")
        g = t.randn(5, 2, dtype=edunn.float64)
        gw = _grad_of(y, g, w)
        rows = g.tolist()
        want = _scatter_add([3, 4, 1], [rows[1], rows[3], rows[4]], 5, 2)
        t.close(gw, want, "the gradient of weight with padding_idx=0", mistakes={
            "the padding row received a gradient: leave out the positions where input == "
            "padding_idx": _scatter_add(idx.tolist(), rows, 5, 2)})
    with t.group("a negative padding_idx counts from the end"):
        w = _leaf(t, 4, 2)
        idx = edunn.tensor([3, 1, 3])
        g = t.randn(3, 2, dtype=edunn.float64)
        gw = _grad_of(_tensor(student(idx, w, padding_idx=-1), "embedding(..., padding_idx=-1)"), g, w)
        rows = g.tolist()
        t.close(gw, _scatter_add([1], [rows[1]], 4, 2), "the gradient of weight with padding_idx=-1",
                hint="padding_idx=-1 means row num_embeddings - 1, as in PyTorch")
    with t.group("gradcheck"):
        from edunn.autograd import gradcheck

        w = _leaf(t, 6, 2)
        idx = edunn.tensor([[1, 4], [4, 0], [5, 1]])   # (no padding_idx: its zero gradient is on purpose)
        try:
            ok = gradcheck(lambda weight: student(idx, weight), (w,), raise_exception=False)
        except NotImplementedError:
            raise
        except Exception as error:
            raise Fail(f"gradcheck of embedding raised {type(error).__name__}: {error}") from None
        t.ok(ok, "gradcheck of embedding(input, weight) failed: your weight gradient "
                 "does not match finite differences")


# ---------------------------------------------------------------------------- 08.embedding_bag


@exercise("08.embedding_bag", points=4, reference="edunn.nn.functional.embedding_bag",
          title="embedding_bag with offsets: the sum or mean of each bag")
def grade_embedding_bag(student, t):
    import edunn
    import edunn.nn.functional as F

    def bags(idx, w, offsets, mode, what):
        out = _tensor(student(idx, w, offsets, mode=mode), what)
        n_bags = len(offsets.tolist())
        if out.ndim == 2 and out.shape[0] == n_bags - 1:
            raise Fail(f"{what} has {n_bags - 1} rows for {n_bags} offsets: the last bag runs from "
                       "offsets[-1] to the end of input")
        return out

    with t.group("mode='sum'"):
        w = _leaf(t, 10, 3)
        idx = edunn.tensor([1, 7, 3, 3, 9, 0, 2, 8, 5])
        offsets = edunn.tensor([0, 2, 5])
        what = "embedding_bag(input (9,), weight (10, 3), offsets [0, 2, 5], mode='sum')"
        y = bags(idx, w, offsets, "sum", what)
        t.close(y, F.embedding_bag(idx, w.detach(), offsets, mode="sum"), what)
    with t.group("mode='mean'"):
        w = _leaf(t, 10, 3)
        idx = edunn.tensor([1, 7, 3, 3, 9, 0, 2, 8, 5])
        offsets = edunn.tensor([0, 2, 5])
        what = "embedding_bag(..., offsets [0, 2, 5], mode='mean')"
        y = bags(idx, w, offsets, "mean", what)
        total = F.embedding_bag(idx, w.detach(), offsets, mode="sum")
        t.close(y, F.embedding_bag(idx, w.detach(), offsets, mode="mean"), what, mistakes={
            "you divided every bag by the length of the whole input: divide each by its own size":
                (total / 9).tolist(),
            "you divided by the number of bags: divide each bag by its own size": (total / 3).tolist(),
            "you returned the sums: mode='mean' divides each bag by its size": total.tolist()})
    with t.group("an empty bag gives zeros"):
        w = _leaf(t, 6, 2)
        idx = edunn.tensor([4, 1, 0, 5, 5])
        offsets = edunn.tensor([0, 3, 3])
        for mode in ("sum", "mean"):
            what = f"embedding_bag(..., offsets [0, 3, 3], mode='{mode}') (bag 1 is empty)"
            y = bags(idx, w, offsets, mode, what)
            t.close(y, F.embedding_bag(idx, w.detach(), offsets, mode=mode), what,
                    hint="an empty bag is all zeros, in sum and in mean mode: 0 / 0 is nan, so "
                         "divide by max(count, 1)")
    with t.group("the gradient of weight"):
        w = _leaf(t, 8, 4)
        idx = edunn.tensor([3, 3, 0, 7, 1, 6, 3])
        offsets = edunn.tensor([0, 1, 4, 4])
        for mode in ("sum", "mean"):
            y = bags(idx, w, offsets, mode, f"embedding_bag(..., mode='{mode}')")
            g = t.randn(4, 4, dtype=edunn.float64)
            gw = _grad_of(y, g, w)
            ref_w = w.detach().clone().requires_grad_()
            F.embedding_bag(idx, ref_w, offsets, mode=mode).mul(g).sum().backward()
            t.close(gw, ref_w.grad, f"the gradient of weight in mode='{mode}'",
                    hint="each row receives its bag's gradient (divided by the bag's size for the "
                         "mean), added up over every time it occurs")


# ---------------------------------------------------------------------------- 08.cosine_similarity


@exercise("08.cosine_similarity", points=3, reference="edunn.nn.functional.cosine_similarity",
          title="cosine similarity along a dimension, with eps")
def grade_cosine_similarity(student, t):
    import edunn
    import edunn.nn.functional as F

    with t.group("rows of two (5, 4) matrices, dim=1"):
        a, b = _leaf(t, 5, 4), _leaf(t, 5, 4)
        y = _tensor(student(a, b), "cosine_similarity(x1, x2)")
        ad, bd = a.detach(), b.detach()
        t.close(y, F.cosine_similarity(ad, bd), "cosine_similarity(x1 (5, 4), x2 (5, 4))", mistakes={
            "you returned the dot products: divide by both norms": (ad * bd).sum(1).tolist(),
            "you divided by the norm of x1 only": ((ad * bd).sum(1) / ad.norm(dim=1)).tolist()})
        g = t.randn(5, dtype=edunn.float64)
        ga = _grad_of(y, g, a)
        ref = ad.clone().requires_grad_()
        (F.cosine_similarity(ref, bd) * g).sum().backward()
        t.close(ga, ref.grad, "the gradient with respect to x1",
                hint="write it with tensor ops (norm, sum, division) and autograd does the rest")
    with t.group("another dim, and broadcasting"):
        a, b = _leaf(t, 3, 4, 2).detach(), _leaf(t, 1, 4, 2).detach()
        t.close(student(a, b, dim=1), F.cosine_similarity(a, b, dim=1),
                "cosine_similarity(x1 (3, 4, 2), x2 (1, 4, 2), dim=1)",
                hint="reduce over dim, and let x1 and x2 broadcast against each other")
        t.close(student(a, b, dim=-1), F.cosine_similarity(a, b, dim=-1),
                "cosine_similarity(x1 (3, 4, 2), x2 (1, 4, 2), dim=-1)")
    with t.group("a zero vector has similarity 0, not nan"):
        a = edunn.tensor([[0.0, 0.0, 0.0], [1.0, 2.0, 2.0]], dtype=edunn.float64)
        b = edunn.tensor([[1.0, 0.0, 0.0], [0.0, 0.0, 0.0]], dtype=edunn.float64)
        t.close(student(a, b), [0.0, 0.0], "cosine_similarity with a zero row",
                hint="divide by max(||x||, eps) so that a zero vector gives 0 / eps = 0")
    with t.group("eps clamps each norm separately"):
        a = _leaf(t, 4, 3, scale=1e-5).detach()
        b = _leaf(t, 4, 3, scale=1e-5).detach()
        dots = (a * b).sum(1)
        t.close(student(a, b), F.cosine_similarity(a, b), "cosine_similarity of vectors of norm ~1e-5",
                mistakes={"you clamped the product of the norms, max(||x1|| ||x2||, eps): PyTorch "
                          "clamps each norm, x1 . x2 / (max(||x1||, eps) max(||x2||, eps)), so vectors "
                          "shorter than sqrt(eps) keep their true angle": (dots / 1e-8).tolist()})
        tiny = edunn.tensor([[3e-9, 4e-9]], dtype=edunn.float64)
        t.close(student(tiny, tiny, eps=1e-8), F.cosine_similarity(tiny, tiny, eps=1e-8),
                "cosine_similarity of a vector of norm 5e-9 with itself, eps=1e-8",
                hint="a norm below eps is replaced by eps: 2.5e-17 / (1e-8 * 1e-8) = 0.25")
