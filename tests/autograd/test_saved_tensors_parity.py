"""What each op keeps for backward, compared with PyTorch through in-place writes (lesson 02).

An op's backward needs some of its inputs or its output (``exp`` keeps its result, ``sin`` its
input, ``x @ W`` keeps ``W`` alone when only ``x`` needs a gradient).  Writing in place into a
tensor an op kept raises "modified by an inplace operation" at ``backward``; writing into one it
did not keep is allowed.  So for every op below, every pattern of which inputs need a gradient,
and a write into each input and into the output, after the op and before ``backward``:

* where PyTorch runs backward, edunn must too, with PyTorch's gradients: an op that kept more
  than it needs refuses code that works in PyTorch;
* where PyTorch refuses, edunn may refuse as well, or run -- but then its gradients must be
  those of the computation as it was made (the write did not reach anything backward reads).
  Silently using the new values is the one outcome never allowed.
"""
import inspect

import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson02

VERSION_ERROR = "modified by an inplace operation"


OPS = {
    # unary: some keep the input, some the output, some nothing
    **{name: (lambda name: (lambda m, x: getattr(m, name)(x)))(name) for name in
       "exp exp2 expm1 log log2 log10 log1p sqrt rsqrt sin cos tan tanh sigmoid atan sinh cosh asinh abs "
       "neg reciprocal square erf erfc lgamma digamma sinc deg2rad rad2deg frac trunc sign relu".split()},
    "asin": lambda m, x: m.asin(x - 1), "acos": lambda m, x: m.acos(x - 1), "erfinv": lambda m, x: m.erfinv(x - 1),
    "logit": lambda m, x: m.logit(x - 0.5), "acosh": lambda m, x: m.acosh(x + 1), "atanh": lambda m, x: m.atanh(x / 2),
    # binary and ternary
    **{name: (lambda name: (lambda m, x, y: getattr(m, name)(x, y)))(name) for name in
       "add sub mul div pow atan2 hypot fmod remainder copysign xlogy logaddexp logaddexp2 dist".split()},
    "maximum": lambda m, x, y: m.maximum(x, y + 0.01), "minimum": lambda m, x, y: m.minimum(x, y + 0.01),
    "lerp_scalar": lambda m, x, y: m.lerp(x, y, 0.3), "lerp": lambda m, x, y, w: m.lerp(x, y, w),
    "addcmul": lambda m, x, y, z: m.addcmul(x, y, z, value=0.5), "addcdiv": lambda m, x, y, z: m.addcdiv(x, y, z, value=0.5),
    "where": lambda m, x, y: m.where(x > 1, x, y), "clamp": lambda m, x: m.clamp(x, 0.8, 1.2),
    "clamp_tensors": lambda m, x, lo, hi: m.clamp(x, lo * 0.8, hi * 1.2),
    "pow_scalar": lambda m, x: x ** 2.5, "rpow": lambda m, x: 2.5 ** x, "mul_scalar": lambda m, x: x * 3.0,
    "rdiv": lambda m, x: 3.0 / x,
    # reductions, scans, selections
    "sum": lambda m, x: x.sum(0), "mean": lambda m, x: x.mean(0), "prod": lambda m, x: x.prod(0),
    "prod_all": lambda m, x: x.prod(), "amax": lambda m, x: x.amax(0), "max_dim": lambda m, x: x.max(0)[0],
    "max_all": lambda m, x: x.max(), "std": lambda m, x: x.std(0), "var": lambda m, x: x.var(0),
    "norm": lambda m, x: x.norm(dim=0), "norm1": lambda m, x: x.norm(p=1, dim=0), "norm3": lambda m, x: x.norm(p=3, dim=0),
    "logsumexp": lambda m, x: x.logsumexp(0), "softmax": lambda m, x: x.softmax(0),
    "log_softmax": lambda m, x: x.log_softmax(0), "cumsum": lambda m, x: x.cumsum(0),
    "cumprod": lambda m, x: x.cumprod(0), "cummax": lambda m, x: x.cummax(0)[0],
    "logcumsumexp": lambda m, x: x.logcumsumexp(0), "sort": lambda m, x: x.sort(0)[0],
    "topk": lambda m, x: x.topk(2, 0)[0], "median": lambda m, x: x.median(0)[0],
    # products and linear algebra
    "matmul": lambda m, x, y: x @ y, "mv": lambda m, x, y: m.mv(x, y[0]), "dot": lambda m, x, y: m.dot(x[0], y[0]),
    "outer": lambda m, x, y: m.outer(x[0], y[0]), "bmm": lambda m, x, y: m.bmm(x[None], y[None]),
    "addmm": lambda m, x, y, z: m.addmm(x, y, z), "einsum": lambda m, x, y: m.einsum("ij,jk->ik", x, y),
    "einsum3": lambda m, x, y, z: m.einsum("ij,jk,kl->il", x, y, z), "tensordot": lambda m, x, y: m.tensordot(x, y, 1),
    "kron": lambda m, x, y: m.kron(x, y), "cross": lambda m, x, y: m.linalg.cross(x, y),
    "inv": lambda m, x: m.linalg.inv(x + 3 * m.eye(3, dtype=x.dtype)), "det": lambda m, x: m.linalg.det(x),
    "solve": lambda m, x, y: m.linalg.solve(x + 3 * m.eye(3, dtype=x.dtype), y),
    "trace": lambda m, x: m.trace(x), "diag": lambda m, x: m.diag(x), "triu": lambda m, x: m.triu(x),
    # indexing and shapes
    "gather": lambda m, x: x.gather(1, m.tensor([[0, 1], [2, 0], [1, 1]])),
    "index_select": lambda m, x: x.index_select(0, m.tensor([2, 0])),
    "masked_fill": lambda m, x: x.masked_fill(x > 1, 0.0), "getitem": lambda m, x: x[[0, 2]],
    "cat": lambda m, x, y: m.cat([x, y]), "stack": lambda m, x, y: m.stack([x, y]),
    "repeat": lambda m, x: x.repeat(2, 1), "flip": lambda m, x: x.flip(0),
    "scatter_add": lambda m, x, y: x.scatter_add(0, m.tensor([[0, 1, 2], [2, 1, 0]]), y[:2]),
    "index_add": lambda m, x, y: x.index_add(0, m.tensor([0, 2]), y[:2]),
    "cdist": lambda m, x, y: m.cdist(x, y),
    # nn.functional
    "linear": lambda m, x, w, b: m.nn.functional.linear(x, w, b[0]),
    "gelu": lambda m, x: m.nn.functional.gelu(x), "silu": lambda m, x: m.nn.functional.silu(x),
    "elu": lambda m, x: m.nn.functional.elu(x - 1), "leaky_relu": lambda m, x: m.nn.functional.leaky_relu(x - 1),
    "softplus": lambda m, x: m.nn.functional.softplus(x), "mish": lambda m, x: m.nn.functional.mish(x),
    "hardswish": lambda m, x: m.nn.functional.hardswish(x), "logsigmoid": lambda m, x: m.nn.functional.logsigmoid(x),
    "tanhshrink": lambda m, x: m.nn.functional.tanhshrink(x),
    "prelu": lambda m, x, w: m.nn.functional.prelu(x - 1, w[0, :1]), "glu": lambda m, x: m.nn.functional.glu(x[:2], 0),
    "layer_norm": lambda m, x, w, b: m.nn.functional.layer_norm(x, (3,), w[0], b[0]),
    "normalize": lambda m, x: m.nn.functional.normalize(x),
    "cosine_similarity": lambda m, x, y: m.nn.functional.cosine_similarity(x, y),
    "mse_loss": lambda m, x, y: m.nn.functional.mse_loss(x, y),
    "binary_cross_entropy": lambda m, x, y: m.nn.functional.binary_cross_entropy(x / 2, y / 2),
    "bce_with_logits": lambda m, x, y: m.nn.functional.binary_cross_entropy_with_logits(x, y / 2),
    "cross_entropy": lambda m, x: m.nn.functional.cross_entropy(x, m.tensor([0, 2, 1])),
    "kl_div": lambda m, x, y: m.nn.functional.kl_div(x, y, reduction="batchmean"),
    "max_pool1d": lambda m, x: m.nn.functional.max_pool1d(x[None], 2),
    "conv1d": lambda m, x, w: m.nn.functional.conv1d(x[None], w[None, :, :2]),
    "interpolate": lambda m, x: m.nn.functional.interpolate(x[None], scale_factor=2, mode="linear"),
    "embedding": lambda m, w: m.nn.functional.embedding(m.tensor([0, 2]), w),
}

# Where edunn refuses a write that PyTorch lets through, and why.
STRICTER = {
    # torch.kron multiplies ``_unsafe_view``s of its inputs, which do not share their version
    # counters: after a write into an input, PyTorch's gradient silently uses the new values
    # (test_torch_kron_misses_a_write below).  edunn's kron is an einsum of views, so it notices.
    "kron": "torch is silently wrong",
    "rdiv": "3.0 / x is reciprocal(x) * 3 in PyTorch, which keeps the result; edunn divides and keeps x",
    "tanhshrink": "x - tanh(x) in PyTorch keeps tanh's result; edunn's one op keeps x",
    "einsum3": "PyTorch contracts in pairs and keeps the partial product; edunn's one einsum keeps the operands",
}


def _inputs(name, n):
    rng = np.random.default_rng(abs(hash(name)) % 2**32)
    if name in ("max_dim", "max_all", "amax", "sort", "topk", "median", "cummax"):
        return [rng.permutation(9).reshape(3, 3) * 0.1 + 0.5]   # no ties
    return [rng.uniform(0.5, 1.5, (3, 3)) for _ in range(n)]


def _run(m, op, arrays, needs, write):
    """The op on copies of ``arrays`` (those flagged in ``needs`` require grad), then an in-place
    write into input ``write`` (or into the output, ``"out"``; None: no write), then backward."""
    leaves = [m.tensor(a, dtype=m.float64, requires_grad=need) for a, need in zip(arrays, needs)]
    inputs = [t * 1 if t.requires_grad else t.clone() for t in leaves]
    y = op(m, *inputs)
    weights = m.tensor(np.linspace(0.3, 1.7, y.numel()).reshape(tuple(y.shape)), dtype=m.float64)
    if write == "out":
        y.mul_(1.5)
    elif write is not None:
        with m.no_grad():
            inputs[write].add_(0.125)
    try:
        (y * weights).sum().backward()
    except RuntimeError as error:
        assert VERSION_ERROR in str(error), str(error)
        return None
    return [None if t.grad is None else np.asarray(t.grad.tolist()) for t in leaves]


def _cases():
    for name, op in OPS.items():
        n = len(inspect.signature(op).parameters) - 1
        patterns = [(True,) * n] + ([tuple(i == j for j in range(n)) for i in range(n)] if n > 1 else [])
        yield pytest.param(name, op, n, patterns, id=name)


def _close(a, b):
    return len(a) == len(b) and all((u is None) == (v is None) and (u is None or np.allclose(u, v, rtol=1e-9, atol=1e-12))
                                    for u, v in zip(a, b))


@pytest.mark.parametrize("name, op, n, patterns", list(_cases()))
def test_what_an_op_keeps_matches_pytorch(name, op, n, patterns):
    arrays = _inputs(name, n)
    arrays += arrays[-1:] * (n - len(arrays))
    for needs in patterns:
        reference = _run(torch, op, arrays, needs, None)
        for write in list(range(n)) + ["out"]:
            ours, theirs = _run(edunn, op, arrays, needs, write), _run(torch, op, arrays, needs, write)
            where = f"{name}: needs grad {needs}, write into {write}"
            if theirs is not None:
                if ours is None and name in STRICTER:
                    continue
                assert ours is not None, f"{where}: edunn refuses what PyTorch runs"
                assert _close(ours, theirs), f"{where}: gradients differ from PyTorch's"
            elif ours is not None and write != "out":   # PyTorch refuses: edunn must not use the new values
                assert _close(ours, reference), f"{where}: edunn used the values written after the op"


def test_torch_kron_misses_a_write():
    """Why ``kron`` is in STRICTER: PyTorch 2.13 computes this gradient with the new ``b``."""
    a = torch.tensor([1.0, 2.0], requires_grad=True)
    b = torch.tensor([3.0, 4.0])
    y = torch.kron(a, b)
    b.add_(10)
    y.sum().backward()
    assert a.grad.tolist() == [27.0, 27.0]        # the right answer is [7, 7]
    a = edunn.tensor([1.0, 2.0], requires_grad=True)
    b = edunn.tensor([3.0, 4.0])
    y = edunn.kron(a, b)
    b.add_(10)
    with pytest.raises(RuntimeError, match=VERSION_ERROR):
        y.sum().backward()
