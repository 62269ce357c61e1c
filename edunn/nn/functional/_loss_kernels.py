"""Cross-entropy over class scores ``(N, C)`` as one GPU kernel each way (``edunn._kernels``).

The array path (log-softmax, then ``_nll_pick`` with its target checks, weights and ignored
targets) is some thirty kernel launches forward and backward on a GPU; without class weights
these two bodies do the same work in one launch each, plus the reductions of the loss.  Forward:
one thread per row finds the row's maximum (a NaN wins, as NumPy's ``max``), the log of its sum
of exponentials, writes the row's log-probabilities and picks the target's; a target equal to
``ignore_index`` counts 0, one outside ``[0, C)`` is flagged for the caller's device-side
assert.  Backward: one thread per score, ``(exp(logp) - onehot) * coef * g``.  Checked against
the array path by ``tests/nn/test_loss_kernels.py`` without a GPU."""
from __future__ import annotations

import functools

from ..._kernels import KernelSpec

# One thread walks a whole row of scores, three times: right for classification (tens to a
# thousand classes, many rows), wrong for a language model's vocabulary (tens of thousands of
# classes: few, long, serial rows).  Above this many classes the array path runs instead.
MAX_CLASSES = 1024

_FORWARD_BODY = """
const long long row = i * n_classes;
T top = x[row];
for (long long c = 1; c < n_classes; ++c) {
    const T v = x[row + c];
    top = (v > top || v != v) ? v : top;
}
T total = 0;
for (long long c = 0; c < n_classes; ++c) total += exp(x[row + c] - top);
const T log_total = log(total);
for (long long c = 0; c < n_classes; ++c) logp[row + c] = (x[row + c] - top) - log_total;
const bool kept = t != ignore_index;
bad = kept && (t < 0 || t >= n_classes);
counted = (kept && !bad) ? (T)1 : (T)0;
loss = (kept && !bad) ? -logp[row + t] : (T)0;
"""


@functools.lru_cache(maxsize=None)
def cross_entropy_forward_kernel() -> KernelSpec:
    """Per row: ``loss`` (0 for an ignored or bad target), ``counted`` (1 or 0), ``bad`` (a
    target out of range), and the row of ``logp``."""
    return KernelSpec("edunn_cross_entropy_forward", ("int64 t", "raw T x"),
                      ("int64 n_classes", "int64 ignore_index"),
                      ("T loss", "T counted", "bool bad", "raw T logp"), _FORWARD_BODY.strip())


@functools.lru_cache(maxsize=None)
def cross_entropy_backward_kernel(mean: bool) -> KernelSpec:
    """Per score: ``d = (exp(logp) - [c == t]) * (coef * g)``, ``coef`` the row's count, divided
    by ``total`` (the number counted) for a mean -- 0 for a row that does not count, even when
    nothing counts (0/0)."""
    coef = "counted != 0 ? counted / total : (T)0" if mean else "counted"
    body = "\n".join([
        "const long long c = i % n_classes;",
        f"const T coef = {coef};",
        "d = (exp(logp) - (c == t ? (T)1 : (T)0)) * (coef * g);"])
    arrays = ("T logp", "int64 t", "T counted", "T g") + (("T total",) if mean else ())
    return KernelSpec(f"edunn_cross_entropy_backward{'_mean' if mean else ''}", arrays,
                      ("int64 n_classes",), ("T d",), body, reduce_dims=False)
