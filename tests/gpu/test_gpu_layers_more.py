"""GPU suite, layers (2/3): convolutions, fold/unfold, pooling (max indices equal to the CPU's),
padding, pixel/channel shuffles, upsampling in every mode, and the normalization layers (running
statistics after several training steps, then eval).  See ``_compare.check_module``."""
import numpy as np
import pytest

import edunn
import edunn.nn as nn
import edunn.nn.functional as F
from _compare import check_module, randn, rng, dtype_tests, on_device

pytestmark = pytest.mark.lesson18


def case(id, make, spec, **kw):
    return pytest.param(make, spec, kw, id=id)


def pos(*shape, seed=0):
    return rng(seed).random(shape) + 0.1


# ------------------------------------------------------------------------------- convolution
CONV = [
    case("Conv1d", lambda: nn.Conv1d(3, 4, 3, stride=2, padding=1), [randn(2, 3, 9)]),
    case("Conv1d-same-dilation-reflect", lambda: nn.Conv1d(3, 4, 3, padding="same", dilation=2,
                                                           padding_mode="reflect"), [randn(2, 3, 9)]),
    case("Conv1d-groups-nobias", lambda: nn.Conv1d(4, 6, 2, groups=2, bias=False), [randn(2, 4, 7)]),
    case("Conv2d", lambda: nn.Conv2d(3, 5, 3), [randn(2, 3, 7, 6)]),
    case("Conv2d-stride-pad-dil-groups", lambda: nn.Conv2d(4, 6, 3, stride=(2, 1), padding=(1, 2),
                                                           dilation=(1, 2), groups=2), [randn(2, 4, 8, 9)]),
    case("Conv2d-reflect", lambda: nn.Conv2d(2, 3, 3, padding=1, padding_mode="reflect"), [randn(2, 2, 5, 6)]),
    case("Conv2d-replicate", lambda: nn.Conv2d(2, 3, 3, padding=(2, 1), padding_mode="replicate"),
         [randn(2, 2, 5, 6)]),
    case("Conv2d-circular-stride", lambda: nn.Conv2d(2, 3, 3, stride=2, padding=1, padding_mode="circular"),
         [randn(2, 2, 5, 6)]),
    case("Conv2d-same-even-kernel", lambda: nn.Conv2d(2, 3, 4, padding="same"), [randn(2, 2, 6, 5)]),
    case("Conv2d-valid-depthwise", lambda: nn.Conv2d(3, 6, (2, 3), padding="valid", groups=3), [randn(2, 3, 6, 5)]),
    case("Conv2d-unbatched", lambda: nn.Conv2d(2, 3, 3, padding=1), [randn(2, 5, 5)]),
    case("Conv3d", lambda: nn.Conv3d(2, 4, (2, 3, 3), stride=(1, 2, 2), padding=1, dilation=(2, 1, 1)),
         [randn(2, 2, 5, 6, 6)]),
    case("Conv3d-circular-groups", lambda: nn.Conv3d(2, 4, 2, padding=1, padding_mode="circular", groups=2),
         [randn(1, 2, 4, 4, 3)]),
    case("ConvTranspose1d", lambda: nn.ConvTranspose1d(3, 4, 3, stride=2, padding=1, output_padding=1),
         [randn(2, 3, 6)]),
    case("ConvTranspose2d", lambda: nn.ConvTranspose2d(4, 6, 3, stride=2, padding=1, output_padding=1, groups=2),
         [randn(2, 4, 4, 5)]),
    case("ConvTranspose2d-dilation-output_size", lambda: nn.ConvTranspose2d(2, 3, 3, stride=3, dilation=2,
                                                                            bias=False),
         [randn(2, 2, 3, 3)], call=lambda m, x: m(x, output_size=[12, 13])),
    case("ConvTranspose3d", lambda: nn.ConvTranspose3d(2, 3, 2, stride=2, padding=(0, 1, 0)), [randn(1, 2, 3, 3, 2)]),
    case("Unfold", lambda: nn.Unfold((2, 3), dilation=(1, 2), padding=1, stride=2), [randn(2, 3, 6, 7)]),
    case("Fold", lambda: nn.Fold((5, 6), (2, 3), padding=1, stride=(1, 2)), [randn(2, 18, 18)]),
    case("Fold-dilation", lambda: nn.Fold(6, 2, dilation=2), [randn(1, 8, 16)]),
]

# ------------------------------------------------------------------------------- pooling
_S1 = rng(20).random((2, 3, 2))
_S2 = rng(21).random((1, 2, 3))


def _unpool(pool_fn, **pk):
    def call(m, x, *rest):
        y, idx = pool_fn(x, return_indices=True, **pk)
        return m(y, idx, *rest)
    return call


POOL = [
    case("MaxPool1d", lambda: nn.MaxPool1d(3, stride=2, padding=1, return_indices=True), [randn(2, 3, 10)]),
    case("MaxPool1d-dilation-ceil", lambda: nn.MaxPool1d(2, stride=2, dilation=2, ceil_mode=True), [randn(2, 3, 10)]),
    case("MaxPool2d", lambda: nn.MaxPool2d(2), [randn(2, 3, 6, 6)]),
    case("MaxPool2d-indices-pad-ceil", lambda: nn.MaxPool2d(3, stride=2, padding=1, ceil_mode=True,
                                                            return_indices=True), [randn(2, 3, 7, 8)]),
    case("MaxPool2d-dilation", lambda: nn.MaxPool2d((2, 3), stride=1, dilation=(2, 1), return_indices=True),
         [randn(1, 2, 6, 6)]),
    case("MaxPool3d", lambda: nn.MaxPool3d(2, stride=(1, 2, 2), padding=1, return_indices=True),
         [randn(1, 2, 4, 5, 5)]),
    case("AvgPool1d", lambda: nn.AvgPool1d(3, stride=2, padding=1), [randn(2, 3, 9)]),
    case("AvgPool1d-ceil-nopad", lambda: nn.AvgPool1d(3, stride=2, padding=1, ceil_mode=True,
                                                      count_include_pad=False), [randn(2, 3, 10)]),
    case("AvgPool2d", lambda: nn.AvgPool2d(2), [randn(2, 3, 6, 6)]),
    case("AvgPool2d-divisor-ceil", lambda: nn.AvgPool2d(3, stride=2, padding=1, ceil_mode=True, divisor_override=4),
         [randn(2, 3, 7, 8)]),
    case("AvgPool2d-count_include_pad-False", lambda: nn.AvgPool2d((2, 3), padding=1, count_include_pad=False),
         [randn(2, 3, 5, 7)]),
    case("AvgPool3d", lambda: nn.AvgPool3d(2, stride=1, padding=1, count_include_pad=False), [randn(1, 2, 3, 4, 4)]),
    case("LPPool1d", lambda: nn.LPPool1d(2, 3, stride=2), [randn(2, 3, 9)]),
    case("LPPool2d-p1.5-ceil", lambda: nn.LPPool2d(1.5, 2, ceil_mode=True), [pos(2, 3, 5, 6)]),
    case("LPPool3d", lambda: nn.LPPool3d(3, 2), [pos(1, 2, 4, 4, 4)]),
    case("FractionalMaxPool2d-output_size", lambda: nn.FractionalMaxPool2d(
        2, output_size=(4, 5), return_indices=True, _random_samples=edunn.tensor(_S1, dtype=edunn.float32)),
        [randn(2, 3, 9, 10)]),
    case("FractionalMaxPool2d-ratio", lambda: nn.FractionalMaxPool2d(
        (3, 2), output_ratio=0.5, _random_samples=edunn.tensor(_S1, dtype=edunn.float32)), [randn(2, 3, 10, 8)]),
    case("FractionalMaxPool3d", lambda: nn.FractionalMaxPool3d(
        2, output_size=3, return_indices=True, _random_samples=edunn.tensor(_S2, dtype=edunn.float32)),
        [randn(1, 2, 7, 6, 8)]),
    case("AdaptiveAvgPool1d", lambda: nn.AdaptiveAvgPool1d(4), [randn(2, 3, 10)]),
    case("AdaptiveAvgPool2d-None", lambda: nn.AdaptiveAvgPool2d((3, None)), [randn(2, 3, 7, 5)]),
    case("AdaptiveAvgPool3d", lambda: nn.AdaptiveAvgPool3d((2, 3, 2)), [randn(1, 2, 5, 7, 4)]),
    case("AdaptiveMaxPool1d", lambda: nn.AdaptiveMaxPool1d(3, return_indices=True), [randn(2, 3, 10)]),
    case("AdaptiveMaxPool2d", lambda: nn.AdaptiveMaxPool2d((3, 4), return_indices=True), [randn(2, 3, 7, 9)]),
    case("AdaptiveMaxPool3d", lambda: nn.AdaptiveMaxPool3d(2), [randn(1, 2, 5, 4, 3)]),
    case("MaxUnpool1d", lambda: nn.MaxUnpool1d(2), [randn(2, 3, 8)], call=_unpool(F.max_pool1d, kernel_size=2)),
    case("MaxUnpool2d", lambda: nn.MaxUnpool2d(2, stride=2), [randn(2, 3, 6, 6)],
         call=_unpool(F.max_pool2d, kernel_size=2, stride=2)),
    case("MaxUnpool2d-output_size", lambda: nn.MaxUnpool2d(3, stride=2, padding=1), [randn(1, 2, 7, 8), [7, 8]],
         call=_unpool(F.max_pool2d, kernel_size=3, stride=2, padding=1)),
    case("MaxUnpool3d", lambda: nn.MaxUnpool3d(2), [randn(1, 2, 4, 4, 6)], call=_unpool(F.max_pool3d, kernel_size=2)),
]

# ------------------------------------------------------------------------------- padding, vision
PAD = [
    case("ConstantPad1d", lambda: nn.ConstantPad1d((1, 2), 0.5), [randn(2, 3, 4)]),
    case("ConstantPad2d-negative", lambda: nn.ConstantPad2d((1, -1, 2, 0), 1.0), [randn(2, 3, 4, 4)]),
    case("ConstantPad3d", lambda: nn.ConstantPad3d(1, -2.0), [randn(1, 2, 2, 3, 3)]),
    case("ZeroPad1d", lambda: nn.ZeroPad1d(2), [randn(2, 3, 4)]),
    case("ZeroPad2d", lambda: nn.ZeroPad2d((1, 0, 2, 3)), [randn(2, 3, 4, 4)]),
    case("ZeroPad3d", lambda: nn.ZeroPad3d((1, 0, 0, 1, 1, 1)), [randn(1, 2, 2, 3, 3)]),
    case("ReflectionPad1d", lambda: nn.ReflectionPad1d((2, 3)), [randn(2, 3, 5)]),
    case("ReflectionPad2d", lambda: nn.ReflectionPad2d((1, 2, 3, 0)), [randn(2, 3, 4, 5)]),
    case("ReflectionPad3d", lambda: nn.ReflectionPad3d(1), [randn(1, 2, 3, 3, 3)]),
    case("ReplicationPad1d", lambda: nn.ReplicationPad1d((3, 1)), [randn(2, 3, 4)]),
    case("ReplicationPad2d", lambda: nn.ReplicationPad2d(2), [randn(2, 3, 4, 4)]),
    case("ReplicationPad3d", lambda: nn.ReplicationPad3d((1, 2, 0, 1, 2, 0)), [randn(1, 2, 2, 3, 3)]),
    case("CircularPad1d", lambda: nn.CircularPad1d((2, 1)), [randn(2, 3, 4)]),
    case("CircularPad2d", lambda: nn.CircularPad2d((1, 2, 2, 1)), [randn(2, 3, 4, 4)]),
    case("CircularPad3d", lambda: nn.CircularPad3d(1), [randn(1, 2, 2, 3, 3)]),
    case("PixelShuffle", lambda: nn.PixelShuffle(2), [randn(2, 8, 3, 3)]),
    case("PixelUnshuffle", lambda: nn.PixelUnshuffle(2), [randn(2, 2, 6, 4)]),
    case("ChannelShuffle", lambda: nn.ChannelShuffle(3), [randn(2, 6, 3, 3)]),
]

UPSAMPLE = [
    case("Upsample-nearest", lambda: nn.Upsample(scale_factor=2), [randn(2, 3, 3, 4)]),
    case("Upsample-nearest-1d-size", lambda: nn.Upsample(size=7), [randn(2, 3, 4)]),
    case("Upsample-nearest-3d", lambda: nn.Upsample(scale_factor=(1, 2, 1.5)), [randn(1, 2, 2, 3, 4)]),
    case("Upsample-nearest-exact", lambda: nn.Upsample(size=(5, 7), mode="nearest-exact"), [randn(2, 3, 3, 4)]),
    case("Upsample-nearest-down", lambda: nn.Upsample(scale_factor=0.6), [randn(2, 3, 7, 6)]),
    case("Upsample-linear", lambda: nn.Upsample(scale_factor=2.5, mode="linear"), [randn(2, 3, 5)]),
    case("Upsample-linear-align", lambda: nn.Upsample(size=9, mode="linear", align_corners=True), [randn(2, 3, 5)]),
    case("Upsample-bilinear", lambda: nn.Upsample(scale_factor=2, mode="bilinear"), [randn(2, 3, 3, 4)]),
    case("Upsample-bilinear-align", lambda: nn.Upsample(size=(5, 9), mode="bilinear", align_corners=True),
         [randn(2, 3, 3, 4)]),
    case("Upsample-bilinear-recompute", lambda: nn.Upsample(scale_factor=1.7, mode="bilinear",
                                                            recompute_scale_factor=True), [randn(1, 2, 4, 5)]),
    case("Upsample-bicubic", lambda: nn.Upsample(scale_factor=(2, 1.5), mode="bicubic"), [randn(2, 3, 4, 4)]),
    case("Upsample-bicubic-align", lambda: nn.Upsample(size=(6, 5), mode="bicubic", align_corners=True),
         [randn(2, 3, 4, 4)]),
    case("Upsample-trilinear", lambda: nn.Upsample(scale_factor=2, mode="trilinear"), [randn(1, 2, 2, 3, 2)]),
    case("Upsample-trilinear-align", lambda: nn.Upsample(size=(3, 4, 5), mode="trilinear", align_corners=True),
         [randn(1, 2, 2, 3, 2)]),
    case("UpsamplingNearest2d", lambda: nn.UpsamplingNearest2d(scale_factor=3), [randn(2, 3, 3, 2)]),
    case("UpsamplingBilinear2d", lambda: nn.UpsamplingBilinear2d(size=(5, 6)), [randn(2, 3, 3, 2)]),
]

# ------------------------------------------------------------------------------- normalization
NORM = [
    case("BatchNorm1d", lambda: nn.BatchNorm1d(4), [randn(8, 4, scale=2.0)], steps=3, eval_after=True),
    case("BatchNorm1d-3d-input", lambda: nn.BatchNorm1d(4), [randn(6, 4, 5)], steps=3, eval_after=True),
    case("BatchNorm1d-noaffine-cumavg", lambda: nn.BatchNorm1d(4, affine=False, momentum=None),
         [randn(8, 4)], steps=3, eval_after=True),
    case("BatchNorm2d", lambda: nn.BatchNorm2d(3, momentum=0.3), [randn(4, 3, 5, 5)], steps=3, eval_after=True),
    case("BatchNorm2d-no-running-stats", lambda: nn.BatchNorm2d(3, track_running_stats=False),
         [randn(4, 3, 5, 5)], eval_after=True),
    case("BatchNorm2d-eval", lambda: nn.BatchNorm2d(3), [randn(4, 3, 5, 5)], train=False),
    case("BatchNorm3d", lambda: nn.BatchNorm3d(2), [randn(3, 2, 3, 4, 4)], steps=2, eval_after=True),
    case("SyncBatchNorm", lambda: nn.SyncBatchNorm(3), [randn(4, 3, 5, 5)], steps=2, eval_after=True),
    case("InstanceNorm1d", lambda: nn.InstanceNorm1d(3), [randn(4, 3, 8)]),
    case("InstanceNorm2d-affine-running", lambda: nn.InstanceNorm2d(3, affine=True, track_running_stats=True),
         [randn(4, 3, 5, 5)], steps=2, eval_after=True),
    case("InstanceNorm3d", lambda: nn.InstanceNorm3d(2, affine=True), [randn(2, 2, 3, 4, 4)]),
    case("GroupNorm", lambda: nn.GroupNorm(2, 6), [randn(3, 6, 4, 4)]),
    case("GroupNorm-noaffine-3d", lambda: nn.GroupNorm(3, 6, affine=False), [randn(3, 6, 5)]),
    case("LayerNorm", lambda: nn.LayerNorm(6), [randn(4, 6, scale=3.0)]),
    case("LayerNorm-2d-nobias", lambda: nn.LayerNorm((4, 4), bias=False), [randn(2, 3, 4, 4)]),
    case("LayerNorm-noaffine", lambda: nn.LayerNorm(5, elementwise_affine=False, eps=1e-3), [randn(3, 5)]),
    case("RMSNorm", lambda: nn.RMSNorm(6), [randn(4, 6)]),
    case("RMSNorm-2d-eps-noaffine", lambda: nn.RMSNorm((3, 4), eps=1e-3, elementwise_affine=False),
         [randn(2, 3, 4)]),
    case("LocalResponseNorm", lambda: nn.LocalResponseNorm(3), [randn(2, 6, 4, 4)]),
    case("LocalResponseNorm-3d", lambda: nn.LocalResponseNorm(2, alpha=0.05, beta=0.5, k=2.0), [randn(2, 6, 5)]),
    case("CrossMapLRN2d", lambda: nn.CrossMapLRN2d(3, alpha=0.05, beta=0.75, k=1.0), [randn(2, 6, 4, 4)]),
]

CASES = CONV + POOL + PAD + UPSAMPLE + NORM


def _perturb_affine(m):
    """Norm layers start at weight 1, bias 0: move them so their gradients are exercised."""
    with edunn.no_grad():
        for name, p in m.named_parameters():
            p.add_(edunn.tensor(rng(30).standard_normal(tuple(p.shape)) * 0.3, dtype=p.dtype))
    return m


@pytest.mark.parametrize("make,spec,kw", CASES)
def test_layer_matches_cpu(gpu, make, spec, kw):
    check_module(lambda: _perturb_affine(make()), spec, gpu, **kw)


F64 = ["Conv2d-stride-pad-dil-groups", "Conv3d", "ConvTranspose2d", "Fold", "Unfold", "MaxPool2d-indices-pad-ceil",
       "AvgPool2d-divisor-ceil", "LPPool2d-p1.5-ceil", "FractionalMaxPool2d-output_size", "AdaptiveAvgPool2d-None",
       "AdaptiveMaxPool2d", "ReflectionPad2d", "Upsample-bicubic", "Upsample-trilinear", "BatchNorm2d",
       "InstanceNorm2d-affine-running", "GroupNorm", "LayerNorm", "RMSNorm", "LocalResponseNorm"]
F16 = ["Conv2d", "Conv2d-stride-pad-dil-groups", "ConvTranspose2d", "MaxPool2d-indices-pad-ceil", "AvgPool2d",
       "AdaptiveAvgPool2d-None", "ReflectionPad2d", "Upsample-bilinear", "BatchNorm2d", "LayerNorm", "GroupNorm"]
test_layer_matches_cpu_float64, test_layer_matches_cpu_float16 = dtype_tests(CASES, F64, F16, wrap=lambda make: lambda: _perturb_affine(make()))


def test_max_pool_indices_point_at_the_maxima_on_the_device(gpu):
    x = edunn.tensor(randn(2, 3, 7, 8).astype(np.float32), device=gpu)
    y, idx = F.max_pool2d(x, 3, stride=2, padding=1, return_indices=True)
    assert on_device(idx, gpu) and idx.dtype == edunn.int64
    flat = x.reshape(2, 3, -1).cpu().numpy()
    picked = np.take_along_axis(flat, idx.reshape(2, 3, -1).cpu().numpy(), axis=2)
    assert np.array_equal(picked, y.reshape(2, 3, -1).cpu().numpy())
