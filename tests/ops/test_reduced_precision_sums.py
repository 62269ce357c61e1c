"""Sums of float16 and bfloat16 accumulate in float32, as PyTorch's do (lesson 20: memory and precision).

PyTorch reduces half-precision tensors with a float32 accumulator and rounds once at the end.
Accumulating in the tensor's own dtype instead rounds at every step, and a sum of squares
overflows float16 (largest value 65504) long before the norm does: ``[300, 5, 7]`` has a norm of
300 but its squares sum to 90,074.  That made ``clip_grad_norm_`` see an infinite norm for half
gradients of ordinary size.  Also here: overflow to inf and means of nothing are silent, as in
PyTorch, with no NumPy warning leaking out; a variance without degrees of freedom warns with
PyTorch's message.
"""
import warnings

import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson20

VALUES = [300.0, 5.0, 7.0, 0.1, -250.0, 3.0]

REDUCTIONS = {
    "var": lambda m, x: x.var(), "std": lambda m, x: x.std(), "var_dim": lambda m, x: x.reshape(2, 3).var(1),
    "std_mean": lambda m, x: m.std_mean(x)[0], "var_mean": lambda m, x: m.var_mean(x, correction=0)[0],
    "norm": lambda m, x: x.norm(), "norm_1": lambda m, x: x.norm(p=1), "norm_3": lambda m, x: x.norm(p=3),
    "norm_inf": lambda m, x: x.norm(p=float("inf")), "norm_0": lambda m, x: m.linalg.vector_norm(x, 0),
    "vector_norm_4": lambda m, x: m.linalg.vector_norm(x, 4), "norm_dim": lambda m, x: x.reshape(2, 3).norm(dim=1),
    "normalize": lambda m, x: m.nn.functional.normalize(x, dim=0), "dist": lambda m, x: m.dist(x, x.flip(0)),
    "mean": lambda m, x: x.mean(), "sum": lambda m, x: x.sum(),
    "layer_norm": lambda m, x: m.nn.functional.layer_norm(x, (6,)),
}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", REDUCTIONS)
def test_half_precision_reductions_match_pytorch(name, dtype):
    results = []
    for m in (edunn, torch):
        r = REDUCTIONS[name](m, m.tensor(VALUES, dtype=getattr(m, dtype)))
        assert str(r.dtype).split(".")[-1] == dtype
        results.append(np.asarray(r.float().tolist()))
    np.testing.assert_array_equal(*results)   # same float32 sums, rounded once: the same bits


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
def test_clip_grad_norm_of_half_gradients_is_finite(dtype):
    norms, grads = [], []
    for m in (edunn, torch):
        p = m.zeros(6, dtype=getattr(m, dtype), requires_grad=True)
        p.grad = m.tensor(VALUES, dtype=getattr(m, dtype))
        norms.append(float(m.nn.utils.clip_grad_norm_([p], max_norm=1.0)))
        grads.append(p.grad.float().tolist())
    assert np.isfinite(norms[0]) and norms[0] == norms[1]
    np.testing.assert_allclose(grads[0], grads[1], rtol=1e-2)


@pytest.mark.parametrize("compute", [lambda m: m.tensor([60000.0, 60000.0], dtype=m.float16).sum(),
                                     lambda m: m.tensor([3e38, 3e38]).mean(),
                                     lambda m: m.nansum(m.tensor([60000.0, 60000.0], dtype=m.float16)),
                                     lambda m: m.tensor([1e30, 1e30]).prod(),
                                     lambda m: m.tensor([1e30, 1e30]).cumprod(0),
                                     lambda m: m.tensor([]).mean()],
                         ids=["sum", "mean", "nansum", "prod", "cumprod", "mean_of_nothing"])
def test_overflow_and_empty_means_are_silent_as_in_pytorch(compute):
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        ours = compute(edunn)
    theirs = compute(torch)
    np.testing.assert_array_equal(np.asarray(ours.tolist()), np.asarray(theirs.tolist()))


@pytest.mark.parametrize("name, compute", [("std", lambda m: m.tensor([1.0]).std()),
                                           ("var", lambda m: m.tensor([]).var()),
                                           ("var", lambda m: m.tensor([1.0, 2.0]).var(correction=3))])
def test_no_degrees_of_freedom_warns_with_pytorchs_message(name, compute):
    results = []
    for m in (edunn, torch):
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            results.append(compute(m).item())
        messages = [str(w.message) for w in caught]
        assert len(messages) == 1 and messages[0].startswith(
            f"{name}(): degrees of freedom is <= 0. Correction should be strictly less than the reduction "
            "factor (input numel divided by output numel)."), messages
    np.testing.assert_array_equal(*results)


# Long sums: a thousand small values, where adding in bfloat16 stalls (0.01 is below half an
# ulp of any total past 4).  The reference is PyTorch in float64 on the same rounded inputs, and
# the result must be that value rounded to the dtype, within one ulp: PyTorch's own bfloat16
# kernels miss it for some of these (its layer_norm bias gradient comes to 512 for 1000 ones).
_rng = np.random.default_rng(0)
LONG = _rng.uniform(0.0, 0.02, (4, 1000))
ROWS = _rng.uniform(0.0, 0.02, (1000, 8))
TABLE = _rng.uniform(-0.1, 0.1, (4, 8))
TARGETS = _rng.integers(0, 1000, 4)


def _F(m):
    return m.nn.functional


LONG_SUMS = {
    "sum": lambda m, x: x.sum(1), "mean": lambda m, x: x.mean(1), "nansum": lambda m, x: m.nansum(x, 1),
    "nanmean": lambda m, x: m.nanmean(x, 1), "cumsum": lambda m, x: x.cumsum(1)[:, -1], "sum_all": lambda m, x: x.sum(), "logsumexp": lambda m, x: m.logsumexp(x, 1),
    "cross_entropy": lambda m, x: _F(m).cross_entropy(x, m.tensor(TARGETS)),
    "mse_loss": lambda m, x: _F(m).mse_loss(x, x * 0), "l1_loss": lambda m, x: _F(m).l1_loss(x, x * 0),
    "binary_cross_entropy": lambda m, x: _F(m).binary_cross_entropy(x, x.flip(1)),
    "avg_pool1d": lambda m, x: _F(m).avg_pool1d(x[None], 1000),
    "embedding_bag": lambda m, x: _F(m).embedding_bag(m.arange(4).repeat(250).reshape(1, 1000), x, mode="mean"),
}
LONG_GRADIENTS = {
    "linear_bias": (lambda m, x, w, b: _F(m).linear(x, w, b), 2),
    "conv1d_bias": (lambda m, x, w, b: _F(m).conv1d(x.T[None], w[:, :, None], b), 2),
    "broadcast_sum": (lambda m, x, w, b: x + b[0], 2),
    "mul_broadcast": (lambda m, x, w, b: x * w[0], 1),
    "layer_norm_bias": (lambda m, x, w, b: _F(m).layer_norm(x, (8,), w[0], w[1]), 1),
}


def _ulps_from(ours, exact, dtype):
    """How far ``ours`` is from ``exact`` in units of ``dtype``'s spacing at ``exact``."""
    eps = 2.0 ** (-7 if dtype == "bfloat16" else -10)
    spacing = np.maximum(np.abs(exact), 1e-30) * eps
    return np.max(np.abs(ours - exact) / spacing)


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", LONG_SUMS)
def test_long_half_precision_sums_are_rounded_once(name, dtype):
    ours = LONG_SUMS[name](edunn, edunn.tensor(LONG, dtype=getattr(edunn, dtype)))
    assert str(ours.dtype) == f"edunn.{dtype}"
    rounded = torch.tensor(LONG, dtype=getattr(torch, dtype)).double()
    exact = np.asarray(LONG_SUMS[name](torch, rounded).tolist())
    assert _ulps_from(np.asarray(ours.float().tolist()), exact, dtype) <= 1.0


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", LONG_GRADIENTS)
def test_long_half_precision_gradient_sums_are_rounded_once(name, dtype):
    op, which = LONG_GRADIENTS[name]
    grads = []
    for m, dt in ((edunn, getattr(edunn, dtype)), (torch, torch.float64)):
        inputs = [m.tensor(torch.tensor(a, dtype=getattr(torch, dtype)).double().tolist(), dtype=dt, requires_grad=True)
                  for a in (ROWS, TABLE, TABLE[0, :4])]
        y = op(m, *inputs)
        y.backward(m.ones_like(y))
        grads.append(np.asarray(inputs[which].grad.to(m.float64).tolist()))
    assert _ulps_from(grads[0], grads[1], dtype) <= 1.0


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("op", ["mul", "rmul", "truediv", "add", "sub", "radd", "rsub"])
@pytest.mark.parametrize("number", [0.1, 1 / 3, 0.9, 1e-3, 3.0])
def test_half_precision_with_a_number_rounds_as_pytorch(op, number, dtype):
    """``x * 0.1`` on a float16/bfloat16 tensor: PyTorch multiplies by 0.1 itself in float32 and
    rounds once; NumPy rounded 0.1 to the tensor's dtype first, an ulp off for a third of the
    elements.  ``x + 0.1`` is the other way round: PyTorch rounds the number first there too."""
    values = np.random.default_rng(0).standard_normal(2000)
    results = [getattr(m.tensor(values, dtype=getattr(m, dtype)), f"__{op}__")(number) for m in (edunn, torch)]
    assert str(results[0].dtype) == f"edunn.{dtype}"
    np.testing.assert_array_equal(*[np.asarray(r.float().tolist()) for r in results])


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("alpha", [0.1, 2.0, 1 / 3])
def test_add_with_alpha_keeps_the_half_precision_dtype(alpha, dtype):
    """``add(x, y, alpha=0.1)`` of two bfloat16 tensors came back as float32 (ml_dtypes widens
    bfloat16 times a Python float).  PyTorch rounds alpha to the dtype, then computes in float32.
    2048 elements: PyTorch's scalar loop for the elements past its last full vector rounds
    differently from its vectorised body, so a length off the vector width would compare that."""
    rng = np.random.default_rng(1)
    a, b = rng.standard_normal(2048), rng.standard_normal(2048)
    for other in (b, 0.3):
        results = []
        for m in (edunn, torch):
            y = m.add(m.tensor(a, dtype=getattr(m, dtype)), m.tensor(other, dtype=getattr(m, dtype))
                      if isinstance(other, np.ndarray) else other, alpha=alpha)
            results.append(y)
        assert str(results[0].dtype) == f"edunn.{dtype}"
        np.testing.assert_array_equal(*[np.asarray(r.float().tolist()) for r in results])


EXACT_OPTIMIZERS = {"SGD": {"lr": 0.1, "momentum": 0.9, "weight_decay": 0.01},
                    "SGD_nesterov": {"lr": 0.1, "momentum": 0.9, "nesterov": True},
                    "RMSprop": {"lr": 1e-3, "centered": True, "momentum": 0.9}, "Adagrad": {"lr": 0.1},
                    "Adadelta": {}, "Adamax": {}, "RAdam": {}, "Rprop": {}, "ASGD": {}}


@pytest.mark.parametrize("dtype", ["float16", "bfloat16"])
@pytest.mark.parametrize("name", EXACT_OPTIMIZERS)
def test_half_precision_optimizer_steps_round_as_pytorch(name, dtype):
    """Five steps on float16/bfloat16 parameters give PyTorch's bits: each op of the update
    rounds once, as PyTorch's single-tensor loop (addcmul, addcdiv and lerp in float32 inside;
    the array path would round every temporary).  Adam, AdamW and NAdam stay on their array
    path, within an ulp of PyTorch's."""
    rng = np.random.default_rng(0)
    start, grad = rng.standard_normal(1024), rng.standard_normal(1024) * 0.1
    results = []
    for m in (edunn, torch):
        p = m.tensor(start, dtype=getattr(m, dtype), requires_grad=True)
        opt = getattr(m.optim, name.split("_")[0])([p], **EXACT_OPTIMIZERS[name])
        for i in range(5):
            p.grad = m.tensor(grad * (i + 1), dtype=getattr(m, dtype))
            opt.step()
        results.append(np.asarray(p.detach().float().tolist()))
    np.testing.assert_array_equal(*results)
