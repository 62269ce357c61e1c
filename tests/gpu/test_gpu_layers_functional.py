"""GPU suite, ``edunn.nn.functional``: every function called directly on the device with its
weights as inputs, compared with the CPU (values and gradients of every float input), plus the
statistics of the random ones (gumbel_softmax; the dropouts and rrelu in training are checked
through their modules in test_gpu_layers.py, here in eval form)."""
import numpy as np
import pytest

import edunn
import edunn.nn.functional as F
from _compare import Const, assert_close_arrays, check_function, randn, rng, on_device

pytestmark = pytest.mark.lesson18


def case(id, fn, spec, **kw):
    return pytest.param(fn, spec, kw, id=id)


def ints(high, *shape, seed=3):
    return rng(seed).integers(0, high, size=shape).astype(np.int64)


def pos(*shape, seed=0):
    return rng(seed).random(shape) + 0.1


def signs(*shape, seed=4):
    return Const(np.where(rng(seed).random(shape) < 0.5, -1.0, 1.0))


def w(*shape, seed=50, scale=0.4):
    return randn(*shape, seed=seed, scale=scale)


X = randn(4, 6, seed=7, scale=2.0)
IMG = randn(2, 4, 6, 6)
N, C = 6, 5
LOGITS, TARGET = randn(N, C), ints(C, N)
Y01 = Const(rng(9).random((N, C)))
PROBS = Const(rng(5).dirichlet(np.ones(C), N))

# ------------------------------------------------------------------------------- activations
_ELEMENTWISE = ["celu", "elu", "gelu", "hardshrink", "hardsigmoid", "hardswish", "hardtanh", "leaky_relu",
                "logsigmoid", "mish", "relu", "relu6", "selu", "sigmoid", "silu", "softplus", "softshrink",
                "softsign", "tanh", "tanhshrink"]
ACT = [case(n, getattr(F, n), [X]) for n in _ELEMENTWISE]
ACT += [case(f"{n}-inplace", (lambda x, n=n: getattr(F, n)(x * 1.0)), [X])
        for n in ("celu_", "elu_", "hardtanh_", "leaky_relu_", "relu_", "selu_")]
ACT += [
    case("threshold", lambda x: F.threshold(x, 0.2, -1.0), [X]),
    case("threshold_", lambda x: F.threshold_(x * 1.0, 0.2, -1.0), [X]),
    case("rrelu-eval", lambda x: F.rrelu(x, 0.1, 0.3, training=False), [X]),
    case("rrelu_-eval", lambda x: F.rrelu_(x * 1.0, 0.1, 0.3, training=False), [X]),
    case("glu", lambda x: F.glu(x, -1), [X]),
    case("softmax", lambda x: F.softmax(x, 1), [X]),
    case("softmin", lambda x: F.softmin(x, 0), [X]),
    case("log_softmax", lambda x: F.log_softmax(x, -1), [X]),
    case("gelu-tanh", lambda x: F.gelu(x, approximate="tanh"), [X]),
    case("prelu", F.prelu, [IMG, w(4)]),
    case("normalize", F.normalize, [X]),
    case("normalize-p1-dim0", lambda x: F.normalize(x, p=1.0, dim=0), [X]),
    case("one_hot", lambda t: F.one_hot(t, 7), [ints(5, 3, 4)]),
    case("one_hot-inferred", F.one_hot, [ints(5, 6)]),
    case("dropout-eval", lambda x: F.dropout(x, 0.5, training=False), [X]),
    case("dropout1d-eval", lambda x: F.dropout1d(x, 0.5, training=False), [randn(2, 3, 4)]),
    case("dropout2d-eval", lambda x: F.dropout2d(x, 0.5, training=False), [IMG]),
    case("dropout3d-eval", lambda x: F.dropout3d(x, 0.5, training=False), [randn(1, 2, 2, 3, 3)]),
    case("alpha_dropout-eval", lambda x: F.alpha_dropout(x, 0.5, training=False), [X]),
    case("feature_alpha_dropout-eval", lambda x: F.feature_alpha_dropout(x, 0.5, training=False), [IMG]),
    case("dropout-p0-train", lambda x: F.dropout(x, 0.0, training=True), [X]),
]

# ------------------------------------------------------------------------------- linear, conv
LIN = [
    case("linear", F.linear, [randn(3, 5), w(4, 5), w(4, seed=51)]),
    case("bilinear", F.bilinear, [randn(3, 4), randn(3, 5, seed=1), w(2, 4, 5), w(2, seed=51)]),
    case("conv1d", lambda x, k, b: F.conv1d(x, k, b, stride=2, padding=1, dilation=2, groups=2),
         [randn(2, 4, 9), w(6, 2, 3), w(6, seed=51)]),
    case("conv2d", lambda x, k, b: F.conv2d(x, k, b, stride=(2, 1), padding="valid"), [IMG, w(3, 4, 3, 2), w(3)]),
    case("conv2d-same", lambda x, k: F.conv2d(x, k, padding="same", dilation=2), [IMG, w(3, 4, 3, 3)]),
    case("conv3d", lambda x, k, b: F.conv3d(x, k, b, padding=1, groups=2), [randn(1, 2, 3, 4, 4), w(4, 1, 2, 2, 2),
                                                                               w(4)]),
    case("conv_transpose1d", lambda x, k, b: F.conv_transpose1d(x, k, b, stride=2, padding=1, output_padding=1),
         [randn(2, 3, 5), w(3, 4, 3), w(4)]),
    case("conv_transpose2d", lambda x, k, b: F.conv_transpose2d(x, k, b, stride=2, groups=2, dilation=(1, 2)),
         [randn(2, 4, 3, 3), w(4, 2, 3, 2), w(4)]),
    case("conv_transpose3d", lambda x, k: F.conv_transpose3d(x, k, stride=(1, 2, 2)), [randn(1, 2, 2, 3, 2),
                                                                                       w(2, 3, 2, 2, 2)]),
    case("unfold", lambda x: F.unfold(x, (2, 3), dilation=(2, 1), padding=1, stride=2), [IMG]),
    case("fold", lambda x: F.fold(x, (4, 5), 2, stride=(2, 1)), [randn(2, 12, 8)]),
    case("pixel_shuffle", lambda x: F.pixel_shuffle(x, 2), [IMG]),
    case("pixel_unshuffle", lambda x: F.pixel_unshuffle(x, 3), [IMG]),
    case("channel_shuffle", lambda x: F.channel_shuffle(x, 2), [IMG]),
    case("native_channel_shuffle", lambda x: F.native_channel_shuffle(x, 4), [IMG]),
    case("pad-constant-negative", lambda x: F.pad(x, (1, -1, 2, 0), value=0.5), [IMG]),
    case("pad-reflect", lambda x: F.pad(x, (2, 1, 1, 2), mode="reflect"), [IMG]),
    case("pad-replicate-3d", lambda x: F.pad(x, (1, 2, 0, 1, 1, 0), mode="replicate"), [randn(1, 2, 2, 3, 3)]),
    case("pad-circular-1d", lambda x: F.pad(x, (3, 1), mode="circular"), [randn(2, 3, 4)]),
    case("pad-constant-last-dim", lambda x: F.pad(x, (2, 3)), [X]),
    case("conv_tbc", lambda x, k, b: F.conv_tbc(x, k, b, 1), [randn(7, 2, 3), w(3, 3, 4), w(4, seed=51)]),
    case("conv_tbc-nopad", F.conv_tbc, [randn(5, 3, 2), w(2, 2, 3), w(3, seed=51)]),
]

# ------------------------------------------------------------------------------- pooling, resampling
_FS2 = Const(rng(20).random((2, 4, 2)))
_FS3 = Const(rng(21).random((1, 2, 3)))


def _unpool(pool, unpool, **kw):
    def fn(x):
        y, i = pool(x, return_indices=True, **kw)
        return unpool(y, i, **kw)
    return fn


POOL = [
    case("max_pool1d", lambda x: F.max_pool1d(x, 3, 2, 1, ceil_mode=True), [randn(2, 3, 10)]),
    case("max_pool1d_with_indices", lambda x: F.max_pool1d_with_indices(x, 2, dilation=2), [randn(2, 3, 10)]),
    case("max_pool2d", lambda x: F.max_pool2d(x, 3, 2, 1, return_indices=True), [IMG]),
    case("max_pool2d_with_indices", lambda x: F.max_pool2d_with_indices(x, 2, ceil_mode=True), [randn(1, 2, 5, 5)]),
    case("max_pool3d", lambda x: F.max_pool3d(x, 2), [randn(1, 2, 4, 4, 4)]),
    case("max_pool3d_with_indices", lambda x: F.max_pool3d_with_indices(x, 2, 1, 1), [randn(1, 2, 3, 4, 3)]),
    case("avg_pool1d", lambda x: F.avg_pool1d(x, 3, 2, 1, count_include_pad=False), [randn(2, 3, 10)]),
    case("avg_pool2d", lambda x: F.avg_pool2d(x, 3, 2, 1, ceil_mode=True, divisor_override=5), [IMG]),
    case("avg_pool3d", lambda x: F.avg_pool3d(x, 2, 2), [randn(1, 2, 4, 4, 4)]),
    case("lp_pool1d", lambda x: F.lp_pool1d(x, 2, 3, 2), [randn(2, 3, 10)]),
    case("lp_pool2d", lambda x: F.lp_pool2d(x, 1.5, 2, ceil_mode=True), [pos(2, 3, 5, 5)]),
    case("lp_pool3d", lambda x: F.lp_pool3d(x, 2, 2), [randn(1, 2, 4, 4, 4)]),
    case("adaptive_avg_pool1d", lambda x: F.adaptive_avg_pool1d(x, 4), [randn(2, 3, 10)]),
    case("adaptive_avg_pool2d", lambda x: F.adaptive_avg_pool2d(x, (4, 5)), [IMG]),
    case("adaptive_avg_pool3d", lambda x: F.adaptive_avg_pool3d(x, 2), [randn(1, 2, 5, 3, 4)]),
    case("adaptive_max_pool1d", lambda x: F.adaptive_max_pool1d(x, 3), [randn(2, 3, 10)]),
    case("adaptive_max_pool1d_with_indices", lambda x: F.adaptive_max_pool1d_with_indices(x, 4), [randn(2, 3, 10)]),
    case("adaptive_max_pool2d", lambda x: F.adaptive_max_pool2d(x, (4, None), return_indices=True), [IMG]),
    case("adaptive_max_pool2d_with_indices", lambda x: F.adaptive_max_pool2d_with_indices(x, 4), [IMG]),
    case("adaptive_max_pool3d", lambda x: F.adaptive_max_pool3d(x, (2, 1, 2)), [randn(1, 2, 5, 3, 4)]),
    case("adaptive_max_pool3d_with_indices", lambda x: F.adaptive_max_pool3d_with_indices(x, 2),
         [randn(1, 2, 5, 3, 4)]),
    case("fractional_max_pool2d", lambda x, s: F.fractional_max_pool2d(x, 2, output_size=4, _random_samples=s),
         [IMG, _FS2]),
    case("fractional_max_pool2d_with_indices",
         lambda x, s: F.fractional_max_pool2d_with_indices(x, 3, output_ratio=(0.5, 0.5), _random_samples=s),
         [IMG, _FS2]),
    case("fractional_max_pool3d", lambda x, s: F.fractional_max_pool3d(x, 2, output_size=(2, 3, 2),
                                                                       _random_samples=s),
         [randn(1, 2, 5, 6, 5), _FS3]),
    case("fractional_max_pool3d_with_indices",
         lambda x, s: F.fractional_max_pool3d_with_indices(x, 2, output_ratio=0.6, _random_samples=s),
         [randn(1, 2, 5, 6, 5), _FS3]),
    case("max_unpool1d", _unpool(F.max_pool1d, F.max_unpool1d, kernel_size=2), [randn(2, 3, 8)]),
    case("max_unpool2d", _unpool(F.max_pool2d, F.max_unpool2d, kernel_size=3, stride=2, padding=1),
         [randn(1, 2, 7, 7)]),
    case("max_unpool3d", _unpool(F.max_pool3d, F.max_unpool3d, kernel_size=2), [randn(1, 2, 4, 4, 4)]),
    case("interpolate-nearest", lambda x: F.interpolate(x, scale_factor=1.5), [IMG]),
    case("interpolate-nearest-exact-3d", lambda x: F.interpolate(x, size=(3, 5, 4), mode="nearest-exact"),
         [randn(1, 2, 2, 3, 3)]),
    case("interpolate-linear", lambda x: F.interpolate(x, size=7, mode="linear", align_corners=False),
         [randn(2, 3, 4)]),
    case("interpolate-bilinear-align", lambda x: F.interpolate(x, scale_factor=(2, 0.5), mode="bilinear",
                                                               align_corners=True), [IMG]),
    case("interpolate-bilinear-antialias", lambda x: F.interpolate(x, size=(3, 4), mode="bilinear", antialias=True),
         [IMG]),
    case("interpolate-bicubic", lambda x: F.interpolate(x, scale_factor=1.7, mode="bicubic",
                                                        recompute_scale_factor=True), [IMG]),
    case("interpolate-bicubic-antialias", lambda x: F.interpolate(x, size=(4, 3), mode="bicubic", antialias=True),
         [IMG]),
    case("interpolate-trilinear", lambda x: F.interpolate(x, size=(3, 5, 4), mode="trilinear"),
         [randn(1, 2, 2, 3, 3)]),
    case("interpolate-area", lambda x: F.interpolate(x, size=(4, 5), mode="area"), [IMG]),
    case("upsample", lambda x: F.upsample(x, scale_factor=2, mode="bilinear", align_corners=False), [IMG]),
    case("upsample_nearest", lambda x: F.upsample_nearest(x, size=(7, 9)), [IMG]),
    case("upsample_bilinear", lambda x: F.upsample_bilinear(x, scale_factor=2), [IMG]),
]

# ------------------------------------------------------------------------------- spatial transformers
_THETA2, _THETA3 = randn(2, 2, 3, seed=30, scale=0.6), randn(1, 3, 4, seed=31, scale=0.6)
#: sampling points reaching past the borders (|x| up to ~1.5), so every padding mode matters
_GRID2, _GRID3 = randn(2, 5, 4, 2, seed=32, scale=0.8), randn(1, 3, 2, 4, 3, seed=33, scale=0.8)
_VOL = randn(1, 2, 4, 5, 3)


def _sample(mode, padding_mode, align_corners):
    return lambda x, g: F.grid_sample(x, g, mode=mode, padding_mode=padding_mode, align_corners=align_corners)


SPATIAL = [
    case("affine_grid", lambda t: F.affine_grid(t, [2, 3, 4, 5], align_corners=False), [_THETA2]),
    case("affine_grid-align", lambda t: F.affine_grid(t, [2, 1, 3, 3], align_corners=True), [_THETA2]),
    case("affine_grid-3d", lambda t: F.affine_grid(t, [1, 2, 3, 2, 4], align_corners=False), [_THETA3]),
    case("affine_grid-grid_sample", lambda x, t: F.grid_sample(x, F.affine_grid(t, [2, 4, 5, 3], align_corners=False),
                                                                align_corners=False), [IMG, _THETA2]),
]
SPATIAL += [case(f"grid_sample-{m}-{p}-{'align' if a else 'noalign'}", _sample(m, p, a), [IMG, _GRID2])
            for m, p, a in [("bilinear", "zeros", False), ("bilinear", "border", True),
                            ("bilinear", "reflection", False), ("bilinear", "reflection", True),
                            ("nearest", "zeros", True), ("nearest", "border", False),
                            ("nearest", "reflection", False), ("bicubic", "zeros", False),
                            ("bicubic", "border", True), ("bicubic", "reflection", True)]]
SPATIAL += [case(f"grid_sample-3d-{m}-{p}", _sample(m, p, False), [_VOL, _GRID3])
            for m, p in [("bilinear", "zeros"), ("bilinear", "reflection"), ("nearest", "border")]]

# ------------------------------------------------------------------------------- normalization
_RM, _RV = Const(randn(4, seed=60)), Const(pos(4, seed=61))
NORM = [
    case("batch_norm-train", lambda x, rm, rv, g, b: (F.batch_norm(x, rm, rv, g, b, training=True, momentum=0.2),
                                                      rm, rv), [IMG, _RM, _RV, w(4), w(4, seed=51)]),
    case("batch_norm-eval", lambda x, rm, rv, g: F.batch_norm(x, rm, rv, g), [IMG, _RM, _RV, w(4)]),
    case("instance_norm", lambda x, rm, rv, g, b: (F.instance_norm(x, rm, rv, g, b, use_input_stats=True), rm, rv),
         [IMG, _RM, _RV, w(4), w(4, seed=51)]),
    case("layer_norm", lambda x, g, b: F.layer_norm(x, (6, 6), g, b, eps=1e-4), [IMG, w(6, 6), w(6, 6, seed=51)]),
    case("group_norm", lambda x, g, b: F.group_norm(x, 2, g, b), [IMG, w(4), w(4, seed=51)]),
    case("rms_norm", lambda x, g: F.rms_norm(x, (6,), g, eps=1e-5), [IMG, w(6)]),
    case("rms_norm-noweight", lambda x: F.rms_norm(x, (6, 6)), [IMG]),
    case("local_response_norm", lambda x: F.local_response_norm(x, 3, alpha=0.05, k=2.0), [IMG]),
    case("embedding", lambda i, e: F.embedding(i, e, padding_idx=1), [ints(8, 3, 4), w(8, 5)]),
    case("embedding-max_norm", lambda i, e: F.embedding(i, e * 1.0, max_norm=0.5), [ints(8, 3, 4), w(8, 5)]),
    case("embedding_bag", lambda i, e, o: F.embedding_bag(i, e, o, mode="max"),
         [ints(8, 10), w(8, 5), np.array([0, 4, 4, 7], dtype=np.int64)]),
    case("embedding_bag-psw", lambda i, e, p: F.embedding_bag(i, e, mode="sum", per_sample_weights=p),
         [ints(8, 3, 4), w(8, 5), pos(3, 4)]),
    case("cosine_similarity", lambda a, b: F.cosine_similarity(a, b, dim=0), [X, randn(4, 6, seed=1)]),
    case("pairwise_distance", lambda a, b: F.pairwise_distance(a, b, p=1.5, keepdim=True), [X, randn(4, 6, seed=1)]),
    case("pdist", F.pdist, [randn(5, 3)]),
    case("pdist-p1", lambda x: F.pdist(x, p=1.0), [randn(5, 3)]),
]

# ------------------------------------------------------------------------------- attention
_Q, _K, _V = randn(2, 2, 5, 4), randn(2, 2, 6, 4, seed=1), randn(2, 2, 6, 4, seed=2)
_AMASK = np.triu(np.ones((5, 6), dtype=bool), 2) == 0
E, L, B = 8, 5, 3
ATT = [
    case("scaled_dot_product_attention", F.scaled_dot_product_attention, [_Q, _K, _V]),
    case("scaled_dot_product_attention-boolmask-scale",
         lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, attn_mask=m, scale=0.3), [_Q, _K, _V, _AMASK]),
    case("scaled_dot_product_attention-floatmask", lambda q, k, v, m: F.scaled_dot_product_attention(q, k, v, m),
         [_Q, _K, _V, Const(randn(5, 6, seed=9))]),
    case("scaled_dot_product_attention-causal", lambda q: F.scaled_dot_product_attention(q, q, q, is_causal=True),
         [_Q]),
    case("scaled_dot_product_attention-gqa", lambda q, k, v: F.scaled_dot_product_attention(q, k, v, enable_gqa=True),
         [randn(2, 4, 5, 4), randn(2, 2, 6, 4, seed=1), randn(2, 2, 6, 4, seed=2)]),
    case("multi_head_attention_forward", lambda q, k, v, wi, bi, wo, bo: F.multi_head_attention_forward(
        q, k, v, E, 2, wi, bi, None, None, False, 0.0, wo, bo),
        [randn(L, B, E), randn(6, B, E, seed=1), randn(6, B, E, seed=2), w(3 * E, E), w(3 * E, seed=51), w(E, E),
         w(E, seed=52)]),
    case("multi_head_attention_forward-separate-proj", lambda q, k, v, wq, wk, wv, wo: F.multi_head_attention_forward(
        q, k, v, E, 4, None, None, None, None, True, 0.0, wo, None, need_weights=True, use_separate_proj_weight=True,
        q_proj_weight=wq, k_proj_weight=wk, v_proj_weight=wv, average_attn_weights=False),
        [randn(L, B, E), randn(6, B, 3, seed=1), randn(6, B, 5, seed=2), w(E, E), w(E, 3), w(E, 5), w(E, E, seed=53)]),
]

# ------------------------------------------------------------------------------- losses
_CTC = [randn(12, 3, 5), np.array([[1, 2, 2, 3], [4, 1, 3, 0], [2, 2, 0, 0]], dtype=np.int64),
        np.array([12, 10, 9], dtype=np.int64), np.array([4, 3, 2], dtype=np.int64)]
_MLT = np.array([[3, 0, -1, 1, 2], [1, 2, 4, 3, -1], [0, -1, 1, 1, 1], [4, 3, 2, 1, 0]] * 2, dtype=np.int64)[:N]
LOSS = [
    case("binary_cross_entropy", lambda x, y, wt: F.binary_cross_entropy(x.sigmoid(), y, wt, reduction="sum"),
         [LOGITS, Y01, Const(pos(C))]),
    case("binary_cross_entropy_with_logits", lambda x, y, pw: F.binary_cross_entropy_with_logits(x, y, pos_weight=pw),
         [LOGITS, Y01, Const(pos(C))]),
    case("cosine_embedding_loss", lambda a, b, y: F.cosine_embedding_loss(a, b, y, margin=0.2),
         [LOGITS, randn(N, C, seed=1), signs(N)]),
    case("cross_entropy", lambda x, t: F.cross_entropy(x, t, label_smoothing=0.1, ignore_index=2), [LOGITS, TARGET]),
    case("cross_entropy-probs", lambda x, p: F.cross_entropy(x, p, reduction="none"), [LOGITS, PROBS]),
    case("ctc_loss", lambda x, *r: F.ctc_loss(x.log_softmax(2), *r, reduction="sum"), _CTC),
    case("gaussian_nll_loss", lambda x, y, v: F.gaussian_nll_loss(x, y, v.exp(), full=True),
         [LOGITS, randn(N, C, seed=1), randn(N, C, seed=2)]),
    case("hinge_embedding_loss", lambda x, y: F.hinge_embedding_loss(x, y, margin=0.5), [LOGITS, signs(N, C)]),
    case("huber_loss", lambda x, y: F.huber_loss(x, y, delta=0.5), [LOGITS, randn(N, C, seed=1)]),
    case("kl_div", lambda x, p: F.kl_div(x.log_softmax(1), p, reduction="batchmean"), [LOGITS, PROBS]),
    case("l1_loss", F.l1_loss, [LOGITS, randn(N, C, seed=1)]),
    case("margin_ranking_loss", lambda a, b, y: F.margin_ranking_loss(a, b, y, 0.2), [randn(N), randn(N, seed=1),
                                                                                    signs(N)]),
    case("mse_loss", lambda x, y: F.mse_loss(x, y, reduction="sum"), [LOGITS, randn(N, C, seed=1)]),
    case("multi_margin_loss", lambda x, t: F.multi_margin_loss(x, t, p=2, margin=0.5), [LOGITS, TARGET]),
    case("multilabel_margin_loss", F.multilabel_margin_loss, [LOGITS, _MLT]),
    case("multilabel_soft_margin_loss", F.multilabel_soft_margin_loss, [LOGITS, Const(Y01.array > 0.5)]),
    case("nll_loss", lambda x, t, wt: F.nll_loss(x.log_softmax(1), t, wt), [LOGITS, TARGET, Const(pos(C))]),
    case("poisson_nll_loss", lambda x, y: F.poisson_nll_loss(x, y, full=True), [LOGITS, Const(pos(N, C) * 3)]),
    case("smooth_l1_loss", lambda x, y: F.smooth_l1_loss(x, y, beta=0.3), [LOGITS, randn(N, C, seed=1)]),
    case("soft_margin_loss", F.soft_margin_loss, [LOGITS, signs(N, C)]),
    case("triplet_margin_loss", lambda a, p, n: F.triplet_margin_loss(a, p, n, swap=True),
         [LOGITS, randn(N, C, seed=1), randn(N, C, seed=2)]),
    case("triplet_margin_with_distance_loss", lambda a, p, n: F.triplet_margin_with_distance_loss(
        a, p, n, distance_function=F.pairwise_distance, margin=0.3),
        [LOGITS, randn(N, C, seed=1), randn(N, C, seed=2)]),
]

# linear_cross_entropy: the reference path (cross_entropy of linear) and the chunked one (options)
_H, _LW, _LB = randn(N, 4, seed=40), w(C, 4), w(C, seed=51)
_T_IGN = TARGET.copy()
_T_IGN[2] = -100
_CHUNKED = edunn.nn.LinearCrossEntropyOptions(batch_chunk_size=2, chunking_method=None)
LOSS += [
    case("linear_cross_entropy", lambda x, lw, t, lb: F.linear_cross_entropy(x, lw, t, linear_bias=lb),
         [_H, _LW, _T_IGN, _LB]),
    case("linear_cross_entropy-weight-smooth-sum", lambda x, lw, t, wt: F.linear_cross_entropy(
        x, lw, t, weight=wt, reduction="sum", label_smoothing=0.2, ignore_index=1), [_H, _LW, TARGET, Const(pos(C))]),
    case("linear_cross_entropy-probs-none", lambda x, lw, p: F.linear_cross_entropy(x, lw, p, reduction="none"),
         [_H, _LW, PROBS]),
    case("linear_cross_entropy-out_features", lambda x, lw, t: F.linear_cross_entropy(x, lw, t),
         [_H, w(C, 2, 4), ints(C, N, 2)]),
    case("linear_cross_entropy-unbatched", lambda x, lw, t: F.linear_cross_entropy(x, lw, t),
         [randn(4, seed=41), _LW, np.array(3, dtype=np.int64)]),
]
LOSS += [case(f"linear_cross_entropy-chunked-{r}", (lambda x, lw, t, lb, r=r: F.linear_cross_entropy(
    x, lw, t, linear_bias=lb, reduction=r, options=_CHUNKED)), [_H, _LW, _T_IGN, _LB]) for r in ("mean", "sum", "none")]

CASES = ACT + LIN + POOL + SPATIAL + NORM + ATT + LOSS


@pytest.mark.parametrize("fn,spec,kw", CASES)
def test_function_matches_cpu(gpu, fn, spec, kw):
    check_function(fn, spec, gpu, **kw)


F64 = ["gelu", "softplus", "linear", "conv2d", "conv_transpose2d", "interpolate-bicubic", "interpolate-area",
       "batch_norm-train", "layer_norm", "grid_sample-bicubic-reflection-align",
       "affine_grid-grid_sample", "linear_cross_entropy-chunked-mean", "scaled_dot_product_attention-boolmask-scale", "ctc_loss", "pdist",
       "cross_entropy"]
_BY_ID = {p.id: p for p in CASES}


@pytest.mark.parametrize("name", F64)
def test_function_matches_cpu_float64(gpu, name):
    fn, spec, kw = _BY_ID[name].values
    check_function(fn, spec, gpu, dtype=edunn.float64, **kw)


# ------------------------------------------------------------------------------- random: statistics
@pytest.mark.parametrize("hard", [False, True])
def test_gumbel_softmax_statistics_on_the_device(gpu, hard):
    logits = np.log(np.array([0.1, 0.2, 0.3, 0.4], dtype=np.float32))
    n = 6000
    x = edunn.tensor(np.tile(logits, (n, 1)), device=gpu, requires_grad=True)
    y = F.gumbel_softmax(x, tau=0.5, hard=hard)
    assert on_device(y, gpu) and y.dtype == edunn.float32
    g = edunn.tensor(rng(1).standard_normal((n, 4)).astype(np.float32), device=gpu)
    (y * g).sum().backward()
    ys, dx = y.detach().cpu().numpy(), x.grad.cpu().numpy()
    assert_close_arrays("rows sum to one", np.ones(n), ys.sum(1), 1e-5)
    if hard:
        # y_hard - y_soft.detach() + y_soft: one-hot up to float32 rounding
        assert np.abs(ys - np.round(ys)).max() < 1e-6 and set(np.unique(np.round(ys))) <= {0.0, 1.0}, \
            "hard samples are not one-hot"
    freq = (ys.argmax(1)[:, None] == np.arange(4)).mean(0)
    p = np.exp(logits)
    assert np.all(np.abs(freq - p) < 5 * np.sqrt(p * (1 - p) / n)), f"argmax frequencies {freq}, expected {p}"
    # a softmax's Jacobian sends every cotangent to a gradient whose classes sum to zero
    assert np.isfinite(dx).all() and np.abs(dx.sum(1)).max() < 1e-4
    assert np.abs(dx).max() > 0
