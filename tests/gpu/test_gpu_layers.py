"""GPU suite, layers (1/3): linear layers, activations, every loss, dropout, embeddings, distances,
flatten.  Each case builds the layer on the CPU, copies it to the device, and compares outputs,
input and parameter gradients and buffers with the CPU's (``_compare.check_module``).  Random
layers are checked by their masks and statistics, since the device's random stream is its own."""
import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from _compare import Const, assert_close_arrays, check_module, randn, rng, dtype_tests, on_device

pytestmark = pytest.mark.lesson18


def case(id, make, spec, **kw):
    return pytest.param(make, spec, kw, id=id)


def ints(high, *shape, seed=3, low=0):
    return rng(seed).integers(low, high, size=shape).astype(np.int64)


def signs(*shape, seed=4):
    return Const(np.where(rng(seed).random(shape) < 0.5, -1.0, 1.0))


def probs(*shape, seed=5, axis=1):
    p = rng(seed).random(shape) + 0.1
    return Const(p / p.sum(axis=axis, keepdims=True))


# ------------------------------------------------------------------------------- linear, shape
BASIC = [
    case("Linear", lambda: nn.Linear(5, 3), [randn(4, 5)]),
    case("Linear-nobias-3d", lambda: nn.Linear(5, 3, bias=False), [randn(2, 4, 5)]),
    case("NonDynamicallyQuantizableLinear", lambda: nn.NonDynamicallyQuantizableLinear(5, 3),
         [randn(4, 5)]),
    case("Bilinear", lambda: nn.Bilinear(4, 5, 3), [randn(6, 4), randn(6, 5, seed=1)]),
    case("Bilinear-nobias", lambda: nn.Bilinear(4, 4, 2, bias=False), [randn(3, 4), randn(3, 4, seed=1)]),
    case("Identity", lambda: nn.Identity(54, unused="x"), [randn(3, 4)]),
    case("Flatten", lambda: nn.Flatten(), [randn(2, 3, 4, 2)]),
    case("Flatten-0-2", lambda: nn.Flatten(0, 2), [randn(2, 3, 4, 2)]),
    case("Unflatten", lambda: nn.Unflatten(1, (2, 3)), [randn(4, 6, 2)]),
    case("CosineSimilarity", lambda: nn.CosineSimilarity(dim=1, eps=1e-6), [randn(4, 5), randn(4, 5, seed=1)]),
    case("CosineSimilarity-bcast", lambda: nn.CosineSimilarity(dim=-1), [randn(3, 1, 5), randn(4, 5, seed=1)]),
    case("PairwiseDistance", lambda: nn.PairwiseDistance(), [randn(4, 5), randn(4, 5, seed=1)]),
    case("PairwiseDistance-p1-keepdim", lambda: nn.PairwiseDistance(p=1.0, keepdim=True),
         [randn(4, 5), randn(4, 5, seed=1)]),
    case("PairwiseDistance-p3", lambda: nn.PairwiseDistance(p=3.0, eps=1e-4), [randn(4, 5), randn(4, 5, seed=1)]),
]

# ------------------------------------------------------------------------------- activations
_ACT = [
    ("ELU", nn.ELU, {}), ("ELU-alpha", nn.ELU, {"alpha": 0.5}), ("CELU", nn.CELU, {"alpha": 1.5}),
    ("SELU", nn.SELU, {}), ("GELU", nn.GELU, {}), ("GELU-tanh", nn.GELU, {"approximate": "tanh"}),
    ("Hardshrink", nn.Hardshrink, {"lambd": 0.3}), ("Softshrink", nn.Softshrink, {"lambd": 0.3}),
    ("Hardsigmoid", nn.Hardsigmoid, {}), ("Hardswish", nn.Hardswish, {}),
    ("Hardtanh", nn.Hardtanh, {"min_val": -0.5, "max_val": 0.8}), ("ReLU6", nn.ReLU6, {}),
    ("LeakyReLU", nn.LeakyReLU, {"negative_slope": 0.2}), ("LogSigmoid", nn.LogSigmoid, {}),
    ("ReLU", nn.ReLU, {}), ("Sigmoid", nn.Sigmoid, {}), ("SiLU", nn.SiLU, {}), ("Mish", nn.Mish, {}),
    ("Softplus", nn.Softplus, {"beta": 2.0, "threshold": 1.0}), ("Softsign", nn.Softsign, {}),
    ("Tanh", nn.Tanh, {}), ("Tanhshrink", nn.Tanhshrink, {}),
    ("Threshold", nn.Threshold, {"threshold": 0.1, "value": -2.0}),
    ("GLU", nn.GLU, {"dim": 1}), ("Softmax", nn.Softmax, {"dim": 1}), ("Softmin", nn.Softmin, {"dim": 0}),
    ("LogSoftmax", nn.LogSoftmax, {"dim": -1}), ("PReLU", nn.PReLU, {}),
    ("PReLU-channels", nn.PReLU, {"num_parameters": 6, "init": 0.1}),
    ("RReLU-eval", nn.RReLU, {"lower": 0.1, "upper": 0.3}),
]
ACTIVATIONS = [case(n, (lambda c=c, k=k: c(**k)), [randn(4, 6, seed=7, scale=2.0)],
                    train=not n.endswith("-eval")) for n, c, k in _ACT]
ACTIVATIONS += [
    case("Softmax2d", nn.Softmax2d, [randn(2, 3, 4, 4)]),
    case("Softmax-3d", lambda: nn.Softmax(dim=1), [randn(2, 3, 4)]),
    case("ReLU-inplace", lambda: nn.ReLU(inplace=True), [randn(4, 6)], call=lambda m, x: m(x * 1.0)),
    case("ELU-inplace", lambda: nn.ELU(inplace=True), [randn(4, 6)], call=lambda m, x: m(x * 1.0)),
    case("LeakyReLU-inplace", lambda: nn.LeakyReLU(0.1, inplace=True), [randn(4, 6)],
         call=lambda m, x: m(x * 1.0)),
    case("Hardtanh-inplace", lambda: nn.Hardtanh(inplace=True), [randn(4, 6, scale=2.0)],
         call=lambda m, x: m(x * 1.0)),
]

# ------------------------------------------------------------------------------- losses
N, C = 6, 5
_REDS = ("none", "mean", "sum")


def _log_softmax_call(m, x, *rest):
    return m(F.log_softmax(x, 1), *rest)


def _loss_cases():
    out = []
    W = Const((rng(8).random(C) + 0.5).astype(np.float32))

    def add(name, make, spec, reds=_REDS, **kw):
        for r in reds:
            out.append(case(f"{name}-{r}", (lambda r=r: make(r)), spec, **kw))

    pair = [randn(N, C), randn(N, C, seed=1)]
    add("L1Loss", lambda r: nn.L1Loss(reduction=r), pair)
    add("MSELoss", lambda r: nn.MSELoss(reduction=r), pair)
    add("SmoothL1Loss", lambda r: nn.SmoothL1Loss(reduction=r, beta=0.5), pair)
    add("HuberLoss", lambda r: nn.HuberLoss(reduction=r, delta=0.7), pair)
    add("SoftMarginLoss", lambda r: nn.SoftMarginLoss(reduction=r), [randn(N, C), signs(N, C)])
    add("NLLLoss", lambda r: nn.NLLLoss(reduction=r), [randn(N, C), ints(C, N)], call=_log_softmax_call)
    t = ints(C, N)
    t[1] = 2
    add("NLLLoss-weight-ignore", lambda r: nn.NLLLoss(weight=edunn.tensor(W.array), ignore_index=2, reduction=r),
        [randn(N, C), t], call=_log_softmax_call)
    add("NLLLoss-kdim", lambda r: nn.NLLLoss(reduction=r), [randn(2, C, 3, 4), ints(C, 2, 3, 4)],
        call=_log_softmax_call)
    add("NLLLoss2d", lambda r: nn.NLLLoss2d(reduction=r), [randn(2, C, 3, 3), ints(C, 2, 3, 3)],
        call=_log_softmax_call)
    add("CrossEntropyLoss", lambda r: nn.CrossEntropyLoss(reduction=r), [randn(N, C), ints(C, N)])
    t = ints(C, N)
    t[0] = -100
    add("CrossEntropyLoss-weight-ignore-smooth",
        lambda r: nn.CrossEntropyLoss(weight=edunn.tensor(W.array), reduction=r, label_smoothing=0.2),
        [randn(N, C), t])
    add("CrossEntropyLoss-probs-smooth", lambda r: nn.CrossEntropyLoss(reduction=r, label_smoothing=0.1),
        [randn(N, C), probs(N, C)])
    add("CrossEntropyLoss-probs-weight", lambda r: nn.CrossEntropyLoss(weight=edunn.tensor(W.array), reduction=r),
        [randn(N, C), probs(N, C)])
    add("CrossEntropyLoss-kdim", lambda r: nn.CrossEntropyLoss(reduction=r, ignore_index=1),
        [randn(2, C, 3, 4), ints(C, 2, 3, 4)])
    y01 = Const(rng(9).random((N, C)))
    add("BCELoss", lambda r: nn.BCELoss(reduction=r), [randn(N, C), y01], call=lambda m, x, y: m(x.sigmoid(), y))
    add("BCELoss-weight", lambda r: nn.BCELoss(weight=edunn.tensor(W.array), reduction=r), [randn(N, C), y01],
        call=lambda m, x, y: m(x.sigmoid(), y))
    add("BCEWithLogitsLoss", lambda r: nn.BCEWithLogitsLoss(reduction=r), [randn(N, C, scale=3.0), y01])
    add("BCEWithLogitsLoss-weight-pos_weight",
        lambda r: nn.BCEWithLogitsLoss(weight=edunn.tensor(W.array), pos_weight=edunn.tensor(W.array[::-1].copy()),
                                       reduction=r), [randn(N, C, scale=3.0), y01])
    add("KLDivLoss", lambda r: nn.KLDivLoss(reduction=r), [randn(N, C), probs(N, C)],
        reds=_REDS + ("batchmean",), call=_log_softmax_call)
    add("KLDivLoss-log_target", lambda r: nn.KLDivLoss(reduction=r, log_target=True),
        [randn(N, C), Const(np.log(probs(N, C).array))], reds=("sum", "batchmean"), call=_log_softmax_call)
    counts = Const(rng(10).poisson(2.0, (N, C)).astype(np.float64))
    add("PoissonNLLLoss", lambda r: nn.PoissonNLLLoss(reduction=r), [randn(N, C), counts])
    add("PoissonNLLLoss-exp-full", lambda r: nn.PoissonNLLLoss(log_input=False, full=True, reduction=r),
        [randn(N, C), counts], call=lambda m, x, y: m(x.exp(), y))
    add("GaussianNLLLoss", lambda r: nn.GaussianNLLLoss(reduction=r),
        [randn(N, C), randn(N, C, seed=1), randn(N, C, seed=2)],
        call=lambda m, x, y, v: m(x, y, v.exp()))
    add("GaussianNLLLoss-full-bcastvar", lambda r: nn.GaussianNLLLoss(full=True, eps=1e-3, reduction=r),
        [randn(N, C), randn(N, C, seed=1), randn(N, 1, seed=2)], call=lambda m, x, y, v: m(x, y, v.exp()))
    add("MarginRankingLoss", lambda r: nn.MarginRankingLoss(margin=0.3, reduction=r),
        [randn(N), randn(N, seed=1), signs(N)])
    add("HingeEmbeddingLoss", lambda r: nn.HingeEmbeddingLoss(margin=0.8, reduction=r), [randn(N, C), signs(N, C)])
    add("CosineEmbeddingLoss", lambda r: nn.CosineEmbeddingLoss(margin=0.1, reduction=r),
        [randn(N, C), randn(N, C, seed=1), signs(N)])
    add("MultiLabelSoftMarginLoss", lambda r: nn.MultiLabelSoftMarginLoss(weight=edunn.tensor(W.array), reduction=r),
        [randn(N, C), Const((rng(11).random((N, C)) < 0.5).astype(np.float64))])
    add("MultiMarginLoss", lambda r: nn.MultiMarginLoss(reduction=r), [randn(N, C), ints(C, N)])
    add("MultiMarginLoss-p2-weight", lambda r: nn.MultiMarginLoss(p=2, margin=0.7, weight=edunn.tensor(W.array),
                                                                  reduction=r), [randn(N, C), ints(C, N)])
    mlt = np.array([[3, 0, -1, 1, 2], [1, 2, 4, 3, -1], [0, -1, 1, 1, 1], [4, 3, 2, 1, 0]], dtype=np.int64)
    add("MultiLabelMarginLoss", lambda r: nn.MultiLabelMarginLoss(reduction=r), [randn(4, C), mlt])
    trip = [randn(N, C), randn(N, C, seed=1), randn(N, C, seed=2)]
    add("TripletMarginLoss", lambda r: nn.TripletMarginLoss(reduction=r), trip)
    add("TripletMarginLoss-p1-swap", lambda r: nn.TripletMarginLoss(margin=2.0, p=1.0, swap=True, reduction=r), trip)
    add("TripletMarginWithDistanceLoss", lambda r: nn.TripletMarginWithDistanceLoss(reduction=r), trip)
    add("TripletMarginWithDistanceLoss-cosine-swap", lambda r: nn.TripletMarginWithDistanceLoss(
        distance_function=lambda a, b: 1.0 - F.cosine_similarity(a, b), margin=0.5, swap=True, reduction=r), trip)
    # the learnable Linear inside is a parameter: its gradient is compared too
    t = ints(C, N)
    t[3] = -100
    add("LinearCrossEntropyLoss", lambda r: nn.LinearCrossEntropyLoss(4, C, reduction=r), [randn(N, 4), t])
    add("LinearCrossEntropyLoss-bias-weight-smooth", lambda r: nn.LinearCrossEntropyLoss(
        4, C, bias=True, weight=edunn.tensor(W.array), label_smoothing=0.1, ignore_index=0, reduction=r),
        [randn(N, 4), ints(C, N)])
    add("LinearCrossEntropyLoss-out_features", lambda r: nn.LinearCrossEntropyLoss(
        4, C, out_features=(2, 3), reduction=r), [randn(N, 4), ints(C, N, 2, 3)])
    add("LinearCrossEntropyLoss-probs", lambda r: nn.LinearCrossEntropyLoss(4, C, bias=True, reduction=r),
        [randn(N, 4), probs(N, C)])
    add("LinearCrossEntropyLoss-chunked", lambda r: nn.LinearCrossEntropyLoss(
        4, C, bias=True, reduction=r, options=nn.LinearCrossEntropyOptions(batch_chunk_size=4, chunking_method=None)),
        [randn(N, 4), t])
    return out


LOSSES = _loss_cases()

# ------------------------------------------------------------------------------- embeddings
_IDX = np.array([[1, 2, 0, 4], [4, 3, 2, 9], [0, 0, 7, 1]], dtype=np.int64)
EMBEDDINGS = [
    case("Embedding", lambda: nn.Embedding(10, 4), [_IDX]),
    case("Embedding-padding_idx", lambda: nn.Embedding(10, 4, padding_idx=0), [_IDX]),
    case("Embedding-max_norm", lambda: nn.Embedding(10, 4, max_norm=1.0), [_IDX]),
    case("Embedding-max_norm-p1", lambda: nn.Embedding(10, 4, max_norm=1.5, norm_type=1.0), [_IDX]),
    case("Embedding-scale_grad_by_freq", lambda: nn.Embedding(10, 4, scale_grad_by_freq=True), [_IDX]),
    case("Embedding-sparse", lambda: nn.Embedding(10, 4, sparse=True), [_IDX]),
    case("Embedding-sparse-padding_idx", lambda: nn.Embedding(10, 4, sparse=True, padding_idx=2), [_IDX]),
    case("EmbeddingBag-mean", lambda: nn.EmbeddingBag(10, 4), [_IDX]),
    case("EmbeddingBag-sum-weights", lambda: nn.EmbeddingBag(10, 4, mode="sum"),
         [_IDX, None, rng(12).random(_IDX.shape)]),
    case("EmbeddingBag-max", lambda: nn.EmbeddingBag(10, 4, mode="max"), [_IDX]),
    case("EmbeddingBag-offsets", lambda: nn.EmbeddingBag(10, 4, mode="sum"),
         [_IDX.reshape(-1), np.array([0, 3, 3, 7], dtype=np.int64)]),
    case("EmbeddingBag-offsets-last-mean", lambda: nn.EmbeddingBag(10, 4, include_last_offset=True),
         [_IDX.reshape(-1), np.array([0, 2, 5, 12], dtype=np.int64)]),
    case("EmbeddingBag-padding_idx", lambda: nn.EmbeddingBag(10, 4, mode="mean", padding_idx=0), [_IDX]),
    case("EmbeddingBag-max_norm", lambda: nn.EmbeddingBag(10, 4, mode="sum", max_norm=1.0), [_IDX]),
    case("EmbeddingBag-sparse", lambda: nn.EmbeddingBag(10, 4, mode="sum", sparse=True), [_IDX]),
]

CASES = BASIC + ACTIVATIONS + LOSSES + EMBEDDINGS


@pytest.mark.parametrize("make,spec,kw", CASES)
def test_layer_matches_cpu(gpu, make, spec, kw):
    check_module(make, spec, gpu, **kw)


F64 = ["Linear", "Bilinear", "GELU", "Softmax", "LogSoftmax", "CrossEntropyLoss-weight-ignore-smooth-mean",
       "BCEWithLogitsLoss-weight-pos_weight-mean", "KLDivLoss-batchmean", "PoissonNLLLoss-exp-full-sum",
       "TripletMarginLoss-p1-swap-mean", "Embedding-max_norm", "EmbeddingBag-sum-weights", "CosineSimilarity",
       "PairwiseDistance-p3", "Mish", "SELU",
       "LinearCrossEntropyLoss-bias-weight-smooth-mean", "LinearCrossEntropyLoss-chunked-sum"]
F16 = ["Linear", "ReLU", "GELU", "Sigmoid", "Tanh", "Softmax", "LogSoftmax", "SiLU", "Embedding",
       "MSELoss-mean", "CrossEntropyLoss-mean", "BCEWithLogitsLoss-sum",
       "LinearCrossEntropyLoss-mean", "LinearCrossEntropyLoss-chunked-mean"]
test_layer_matches_cpu_float64, test_layer_matches_cpu_float16 = dtype_tests(CASES, F64, F16)


# ------------------------------------------------------------------------------- random layers
def _xg(gpu, shape, seed=0):
    x = edunn.tensor(rng(seed).random(shape).astype(np.float32) + 0.5, device=gpu, requires_grad=True)
    g = edunn.tensor(rng(seed + 1).standard_normal(shape).astype(np.float32), device=gpu)
    return x, g


def _feature_mask(kept, shape):
    """The mask is one value per (sample, channel): constant over the feature dimensions."""
    flat = kept.reshape(shape[0], shape[1], -1)
    assert (flat == flat[..., :1]).all(), "the mask is not constant over each channel's features"
    return flat[..., 0]


DROPOUTS = [
    ("Dropout", nn.Dropout, (200, 100), False), ("Dropout-3d-input", nn.Dropout, (20, 10, 100), False),
    ("Dropout1d", nn.Dropout1d, (100, 50, 7), True), ("Dropout2d", nn.Dropout2d, (100, 50, 3, 3), True),
    ("Dropout3d", nn.Dropout3d, (100, 50, 2, 2, 2), True),
]


@pytest.mark.parametrize("name,cls,shape,feature", DROPOUTS, ids=[d[0] for d in DROPOUTS])
@pytest.mark.parametrize("p", [0.2, 0.6])
def test_dropout_train_mask_and_gradient(gpu, name, cls, shape, feature, p):
    m = cls(p=p).to(gpu)
    x, g = _xg(gpu, shape)
    y = m(x)
    assert on_device(y, gpu) and y.dtype == x.dtype
    (y * g).sum().backward()
    xs, ys, gs, dx = (t.detach().cpu().numpy() for t in (x, y, g, x.grad))
    kept = ys != 0
    units = _feature_mask(kept, shape) if feature else kept
    n, frac = units.size, units.mean()
    assert abs(frac - (1 - p)) < 5 * np.sqrt(p * (1 - p) / n), f"kept fraction {frac:.4f}, expected {1 - p}"
    assert_close_arrays("kept values", xs / (1 - p) * kept, ys, 1e-6)
    assert_close_arrays("input grad = same mask * scale", gs / (1 - p) * kept, dx, 1e-6)
    m.eval()
    assert np.array_equal(m(x).detach().cpu().numpy(), xs), "eval dropout is not the identity"


ALPHA = [("AlphaDropout", nn.AlphaDropout, (200, 100), False),
         ("FeatureAlphaDropout", nn.FeatureAlphaDropout, (100, 50, 3, 3), True)]


@pytest.mark.parametrize("name,cls,shape,feature", ALPHA, ids=[a[0] for a in ALPHA])
def test_alpha_dropout_train_mask_and_gradient(gpu, name, cls, shape, feature):
    p = 0.3
    alpha_p = -1.7580993408473766  # -selu's scale * alpha: the value a dropped unit takes
    a = (1.0 / np.sqrt((alpha_p ** 2 * p + 1) * (1 - p)))
    b = -a * alpha_p * p
    m = cls(p=p).to(gpu)
    x, g = _xg(gpu, shape)
    y = m(x)
    assert on_device(y, gpu)
    (y * g).sum().backward()
    xs, ys, gs, dx = (t.detach().cpu().numpy() for t in (x, y, g, x.grad))
    dropped_value = a * alpha_p + b
    kept = np.abs(ys - dropped_value) > 1e-5
    units = _feature_mask(kept, shape) if feature else kept
    frac = units.mean()
    assert abs(frac - (1 - p)) < 5 * np.sqrt(p * (1 - p) / units.size), f"kept fraction {frac:.4f}"
    assert_close_arrays("values", np.where(kept, a * xs + b, dropped_value), ys, 1e-5)
    assert_close_arrays("input grad", gs * a * kept, dx, 1e-5)
    m.eval()
    assert np.array_equal(m(x).detach().cpu().numpy(), xs), "eval alpha dropout is not the identity"


def test_rrelu_train_slopes_in_range_and_gradient(gpu):
    lower, upper = 0.1, 0.3
    m = nn.RReLU(lower, upper).to(gpu)
    x = edunn.tensor(randn(300, 40).astype(np.float32), device=gpu, requires_grad=True)
    y = m(x)
    assert on_device(y, gpu)
    y.sum().backward()
    xs, ys, dx = x.detach().cpu().numpy(), y.detach().cpu().numpy(), x.grad.cpu().numpy()
    neg = xs < 0
    slope = ys[neg] / xs[neg]
    assert slope.min() >= lower - 1e-6 and slope.max() <= upper + 1e-6
    assert abs(slope.mean() - (lower + upper) / 2) < 0.01 and slope.std() > 0.03, "slopes not uniform"
    assert np.array_equal(ys[~neg], xs[~neg])
    assert_close_arrays("grad = slope", np.where(neg, ys / np.where(neg, xs, 1.0), 1.0), dx, 1e-5)


# ------------------------------------------------------------------------------- devices mixed
MIXED = [
    ("Linear", lambda: nn.Linear(5, 3), lambda: edunn.randn(4, 5)),
    ("Conv2d", lambda: nn.Conv2d(2, 3, 3), lambda: edunn.randn(1, 2, 5, 5)),
    ("BatchNorm2d", lambda: nn.BatchNorm2d(2), lambda: edunn.randn(3, 2, 4, 4)),
    ("Embedding", lambda: nn.Embedding(10, 4), lambda: edunn.tensor([[1, 2], [3, 4]])),
    ("LSTM", lambda: nn.LSTM(4, 5), lambda: edunn.randn(6, 2, 4)),
    ("MultiheadAttention", lambda: nn.MultiheadAttention(8, 2), lambda: edunn.randn(5, 2, 8)),
]


@pytest.mark.parametrize("name,make,x", MIXED, ids=[m[0] for m in MIXED])
def test_a_layer_on_the_device_rejects_a_cpu_input_clearly(gpu, name, make, x):
    if gpu == "cpu":
        pytest.skip("needs a device other than the CPU")
    m = make().to(gpu)
    args = (x(),) * (3 if name == "MultiheadAttention" else 1)
    with pytest.raises(RuntimeError, match="device"):
        m(*args)
