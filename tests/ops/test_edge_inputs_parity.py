"""Every op on the inputs that break frameworks, against PyTorch: 0-d tensors (whose one "dim"
is 0 or -1), empty tensors, NaN and infinities, signed zeros, ties, transposed (non-contiguous)
matrices, integers and bools.

Wherever PyTorch computes a result, edunn must give the same dtype, shape and values (NaN where
PyTorch has NaN).  Where PyTorch refuses, edunn may refuse too or compute.  Not compared: which
of several tied elements ``kthvalue``/``mode`` report (PyTorch's is whatever its selection
algorithm meets first), and ``polygamma`` next to its poles (both frameworks return some huge
number where the answer is infinite).  Lesson 01.
"""
import warnings

import numpy as np
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson01

UNCOMPARED = {("kthvalue", "ties"), ("mode", "special")} | {("polygamma", label) for label in
                                                            ("vec", "special", "mat_t", "int")}


def _inputs(m):
    nan, inf = float("nan"), float("inf")
    return [
        ("0d", m.tensor(1.5)), ("0d_nan", m.tensor(nan)), ("empty", m.zeros(0)), ("empty2", m.zeros(2, 0)),
        ("vec", m.tensor([0.5, -2.0, 3.0, -0.0, 0.0])), ("special", m.tensor([nan, inf, -inf, 1.0, -1.0])),
        ("mat_t", m.tensor([[1.0, -2.0, 3.0], [4.0, 5.0, -6.0]]).t()),
        ("ties", m.tensor([[2.0, 1.0, 2.0], [1.0, 1.0, 3.0]])),
        ("int", m.tensor([[3, -1, 2], [0, 5, -4]])), ("bool", m.tensor([[True, False], [True, True]])),
    ]


def _points(x):
    """``x`` as a batch of point sets for ``cdist``: a matrix's rows, else its elements."""
    return x.float()[None] if x.dim() == 2 else x.float().reshape(1, -1, 1)


OPS = {
    "sum-1": lambda m, x: x.sum(-1), "sum_keep": lambda m, x: x.sum(-1, keepdim=True),
    "mean": lambda m, x: x.mean() if x.is_floating_point() else x.float().mean(), "prod-1": lambda m, x: x.prod(-1),
    "amax": lambda m, x: x.amax(-1), "amin": lambda m, x: x.amin(), "max": lambda m, x: x.max(),
    "min_dim": lambda m, x: x.min(-1), "argmax": lambda m, x: x.argmax(), "argmin_dim": lambda m, x: x.argmin(-1),
    "cumsum": lambda m, x: x.cumsum(-1), "cumprod": lambda m, x: x.cumprod(-1), "cummax": lambda m, x: x.cummax(-1),
    "cummin": lambda m, x: x.cummin(-1), "logcumsumexp": lambda m, x: x.logcumsumexp(-1),
    "sort": lambda m, x: x.sort(-1), "sort_desc": lambda m, x: x.sort(-1, descending=True),
    "argsort": lambda m, x: x.argsort(-1, stable=True),
    "topk": lambda m, x: x.topk(min(2, x.shape[-1]) if x.dim() else 1, -1) if x.dim() else x.topk(1),
    "kthvalue": lambda m, x: x.kthvalue(1, -1), "median": lambda m, x: x.median(),
    "median_dim": lambda m, x: x.median(-1), "nanmedian": lambda m, x: x.nanmedian(), "mode": lambda m, x: x.mode(-1),
    "unique": lambda m, x: m.unique(x, return_counts=True, return_inverse=True),
    "unique_consecutive": lambda m, x: m.unique_consecutive(x), "flip": lambda m, x: x.flip(-1),
    "roll": lambda m, x: x.roll(1, -1), "std": lambda m, x: x.std(-1), "var0": lambda m, x: x.var(-1, correction=0),
    "norm": lambda m, x: x.norm(dim=-1), "logsumexp": lambda m, x: x.logsumexp(-1),
    "softmax": lambda m, x: x.softmax(-1), "log_softmax": lambda m, x: x.log_softmax(-1),
    "all": lambda m, x: x.all(-1), "any": lambda m, x: x.any(), "count_nonzero": lambda m, x: m.count_nonzero(x, -1),
    "nonzero": lambda m, x: x.nonzero(), "clamp": lambda m, x: x.clamp(-1, 1), "abs": lambda m, x: x.abs(),
    "sign": lambda m, x: x.sign(), "floor": lambda m, x: x.floor(), "round": lambda m, x: x.round(),
    "round2": lambda m, x: x.round(decimals=1), "trunc": lambda m, x: x.trunc(),
    "nan_to_num": lambda m, x: x.nan_to_num(), "isnan": lambda m, x: x.isnan(),
    "maximum_self": lambda m, x: m.maximum(x, x.flip(-1)), "fmax": lambda m, x: m.fmax(x, x.flip(-1)),
    "where": lambda m, x: m.where(x > 0, x, -x), "diff": lambda m, x: m.diff(x, dim=-1),
    "histc": lambda m, x: m.histc(x.float(), bins=4), "bincount": lambda m, x: m.bincount(x.flatten().abs()),
    "searchsorted": lambda m, x: m.searchsorted(m.tensor([0.0, 1.0, 2.0]), x),
    "bucketize": lambda m, x: m.bucketize(x, m.tensor([0.0, 1.0, 2.0])), "clone_contig": lambda m, x: x.contiguous(),
    "tril": lambda m, x: x.tril(), "triu1": lambda m, x: x.triu(1), "trace": lambda m, x: x.trace(),
    "diag_embed": lambda m, x: m.diag_embed(x), "outer": lambda m, x: m.outer(x.flatten(), x.flatten()),
    "cartesian": lambda m, x: m.cartesian_prod(x.flatten(), x.flatten()[:2]),
    "cdist": lambda m, x: m.cdist(_points(x), _points(x).flip(1)),
    "aminmax": lambda m, x: m.aminmax(x), "msort": lambda m, x: m.msort(x), "ravel": lambda m, x: x.ravel(),
    "std_mean": lambda m, x: m.std_mean(x), "quantile": lambda m, x: m.quantile(x.float(), 0.3, dim=-1),
    "nanquantile": lambda m, x: m.nanquantile(x.float(), 0.5), "cov": lambda m, x: m.cov(x),
    "corrcoef": lambda m, x: m.corrcoef(x), "logdet_like": lambda m, x: m.special.entr(x),
    "xlogy": lambda m, x: m.xlogy(x, x), "sinc": lambda m, x: m.sinc(x), "frexp": lambda m, x: m.frexp(x),
    "signbit": lambda m, x: m.signbit(x), "copysign": lambda m, x: m.copysign(x, -1.0),
    "heaviside": lambda m, x: m.heaviside(x, m.tensor(0.5, dtype=x.dtype)), "rot90": lambda m, x: m.rot90(x),
    "renorm": lambda m, x: m.renorm(x, 2, 0, 1.0), "vander": lambda m, x: m.vander(x.flatten(), 3),
    "tile": lambda m, x: x.tile(2), "repeat_interleave": lambda m, x: x.repeat_interleave(2),
    "kron": lambda m, x: m.kron(x, x), "atleast_3d": lambda m, x: m.atleast_3d(x),
    "rad2deg": lambda m, x: m.rad2deg(x), "logaddexp_self": lambda m, x: m.logaddexp(x, x),
    "float_power": lambda m, x: m.float_power(x, 2), "fmod": lambda m, x: m.fmod(x, 1.5),
    "remainder": lambda m, x: m.remainder(x, -1.5), "floor_divide": lambda m, x: m.floor_divide(x, 2),
    "div_floor": lambda m, x: m.div(x, -2, rounding_mode="floor"),
    "div_trunc": lambda m, x: m.div(x, 2, rounding_mode="trunc"), "pow_neg": lambda m, x: m.pow(x, -1),
    "rsqrt": lambda m, x: m.rsqrt(x), "exp2": lambda m, x: m.exp2(x), "lgamma": lambda m, x: m.lgamma(x),
    "digamma": lambda m, x: m.digamma(x), "erfinv": lambda m, x: m.erfinv(x),
    "logit": lambda m, x: m.logit(x, eps=0.1), "polygamma": lambda m, x: m.polygamma(1, x),
    "mvlgamma": lambda m, x: m.mvlgamma(x.abs() + 2, 2), "i0": lambda m, x: m.i0(x),
    "nextafter": lambda m, x: m.nextafter(x, m.zeros_like(x)), "gcd": lambda m, x: m.gcd(x, x.flip(-1)),
    "lcm": lambda m, x: m.lcm(x, x.flip(-1)), "bitwise_not": lambda m, x: ~x, "shift": lambda m, x: x << 1,
    "clamp_t": lambda m, x: x.clamp(min=x.flip(-1)), "lerp_self": lambda m, x: m.lerp(x, x.flip(-1), 0.3),
    "hypot": lambda m, x: m.hypot(x, x.flip(-1)), "atan2": lambda m, x: m.atan2(x, x.flip(-1)),
    "ldexp": lambda m, x: m.ldexp(x, m.ones_like(x, dtype=m.int64)), "argwhere": lambda m, x: m.argwhere(x),
    "masked_select": lambda m, x: x.masked_select(x > 0),
    "take": lambda m, x: x.take(m.tensor([0])) if x.numel() else x.take(m.tensor([], dtype=m.int64)),
    "flatten": lambda m, x: x.flatten(), "unflatten": lambda m, x: x.flatten().unflatten(0, (1, -1)),
    "nansum": lambda m, x: m.nansum(x), "nanmean": lambda m, x: m.nanmean(x.float()),
    "mT": lambda m, x: x.mT if x.dim() >= 2 else x,
    "tensor_split": lambda m, x: x.tensor_split(2, -1) if x.dim() else x,
    "chunk": lambda m, x: x.chunk(2, -1) if x.dim() else x,
    "dist": lambda m, x: m.dist(x.float(), x.float().flip(-1) if x.dim() else x.float()),
    "cummax_neg": lambda m, x: (-x).cummax(0) if x.dim() else x.cummax(0), "var_mean": lambda m, x: m.var_mean(x, -1),
    "logical_xor": lambda m, x: m.logical_xor(x, x.flip(-1)), "equal": lambda m, x: m.tensor(m.equal(x, x.clone())),
    "isin": lambda m, x: m.isin(x, m.tensor([1.0, 3.0, 5.0]).to(x.dtype)),
    "isclose": lambda m, x: m.isclose(x, x.flip(-1), equal_nan=True),
}


def _flat(r, m):
    if isinstance(r, (tuple, list)):
        return [_flat(v, m) for v in r]
    if isinstance(r, m.Tensor):
        if r.is_complex():
            values = r.resolve_conj().to(m.complex128).tolist()
        elif r.dtype in (m.float16, m.bfloat16):
            values = r.float().tolist()
        else:
            values = r.tolist()
        return str(r.dtype).split(".")[-1], tuple(r.shape), values
    return r


def _same(a, b):
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b))
    if isinstance(a, tuple) and isinstance(b, tuple) and len(a) == 3 and isinstance(a[0], str):
        if a[:2] != b[:2]:
            return False
        kind = complex if "complex" in a[0] else float
        x, y = np.asarray(a[2], dtype=kind), np.asarray(b[2], dtype=kind)
        return x.shape == y.shape and np.allclose(x, y, rtol=1e-5, atol=1e-6, equal_nan=True)
    return a == b


def _outcome(m, op, x):
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return "ok", _flat(op(m, x), m)
    except Exception as error:   # noqa: BLE001  (any refusal counts as one)
        return "error", type(error).__name__


@pytest.mark.parametrize("name", OPS)
def test_edge_inputs_match_pytorch(name):
    op = OPS[name]
    for (label, ours_in), (_, theirs_in) in zip(_inputs(edunn), _inputs(torch)):
        if (name, label) in UNCOMPARED:
            continue
        ours, theirs = _outcome(edunn, op, ours_in), _outcome(torch, op, theirs_in)
        if theirs[0] == "error":
            continue
        assert ours[0] == "ok", f"{name}({label}): edunn refuses ({ours[1]}) what PyTorch computes"
        assert _same(ours[1], theirs[1]), f"{name}({label}): {str(ours[1])[:200]} != PyTorch's {str(theirs[1])[:200]}"


# Gradients not compared: at a NaN input, where the two frameworks' formulas take different
# branches (PyTorch's prod of one NaN element has gradient 1, its softmax of NaN gives NaN, its
# quantile sends the gradient to the NaN ...), ties, digamma's derivative next to its poles,
# and nextafter (PyTorch passes no gradient at 0 and 1 elsewhere).
UNCOMPARED_GRADIENTS = UNCOMPARED | {
    ("prod-1", "0d_nan"), ("cumprod", "0d_nan"), ("logcumsumexp", "0d_nan"), ("softmax", "0d_nan"),
    ("log_softmax", "0d_nan"), ("maximum_self", "0d_nan"), ("maximum_self", "special"), ("quantile", "0d_nan"),
    ("quantile", "special"), ("var_mean", "0d_nan"), ("kthvalue", "ties"), ("mode", "special")} | {
    ("digamma", label) for label in ("vec", "special", "mat_t")} | {("nextafter", "vec")}


def _first_differentiable(r, m):
    if isinstance(r, (tuple, list)):
        return next((t for t in (_first_differentiable(v, m) for v in r) if t is not None), None)
    if isinstance(r, m.Tensor) and (r.is_floating_point() or r.is_complex()) and r.requires_grad:
        return r
    return None


def _gradient(m, op, x):
    x = x.detach().clone().requires_grad_(True)
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            r = _first_differentiable(op(m, x), m)
            if r is None:
                return "no graph", None
            w = m.arange(1, r.numel() + 1, dtype=r.dtype).reshape(r.shape) / 7 if r.numel() else m.zeros_like(r)
            (r * w).sum().backward()
    except Exception as error:   # noqa: BLE001
        return "error", type(error).__name__
    return "ok", None if x.grad is None else np.asarray(x.grad.tolist(), dtype=float)


@pytest.mark.parametrize("name", OPS)
def test_edge_input_gradients_match_pytorch(name):
    """The gradients on the same inputs (float ones), wherever PyTorch computes one; a gradient
    PyTorch leaves as None must be zero (or None) in edunn."""
    op = OPS[name]
    for (label, ours_in), (_, theirs_in) in zip(_inputs(edunn), _inputs(torch)):
        if not ours_in.is_floating_point() or (name, label) in UNCOMPARED_GRADIENTS:
            continue
        theirs = _gradient(torch, op, theirs_in)
        if theirs[0] != "ok":
            continue
        ours = _gradient(edunn, op, ours_in)
        assert ours[0] == "ok", f"{name}({label}): edunn's backward raises {ours[1]}"
        if ours[1] is None or theirs[1] is None:
            assert not np.any(ours[1] if theirs[1] is None else theirs[1]), f"{name}({label}): None against a gradient"
            continue
        assert ours[1].shape == theirs[1].shape and np.allclose(ours[1], theirs[1], rtol=1e-4, atol=1e-5,
                                                                 equal_nan=True), \
            f"{name}({label}): gradient {ours[1].ravel()[:6]} != PyTorch's {theirs[1].ravel()[:6]}"
