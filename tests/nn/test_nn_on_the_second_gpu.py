"""nn functions that do array work outside a ``Function`` run on their input's device (lesson 18).

Each case runs on ``cuda:1`` while ``cuda:0`` is current, as PyTorch's device guard allows, and
must equal the same call on the CPU (random ones: land on ``cuda:1`` with the right shape).
Needs two CUDA devices, or the CPU stand-in ``EDUNN_FAKE_CUDA=2`` (which refuses any launch that
touches an array of a device that is not current); skipped otherwise."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from edunn import nn
from edunn.nn import functional as F

pytestmark = [pytest.mark.lesson18, pytest.mark.gpu]


def _x(*shape, seed=0):
    return edunn.tensor(np.random.default_rng(seed).standard_normal(shape))


def _i(*values):
    return edunn.tensor(list(values))


DETERMINISTIC = {
    "max_pool2d": lambda d: F.max_pool2d(_x(1, 2, 6, 6).to(d), 2, return_indices=True),
    "max_pool1d_overlap": lambda d: F.max_pool1d(_x(1, 2, 9).to(d), 3, 2, 1),
    "avg_pool2d": lambda d: F.avg_pool2d(_x(1, 2, 5, 5).to(d), 2, ceil_mode=True),
    "lp_pool2d": lambda d: F.lp_pool2d(_x(1, 2, 4, 4).to(d), 2, 2),
    "adaptive_max_pool2d": lambda d: F.adaptive_max_pool2d(_x(1, 2, 5, 5).to(d), 3, return_indices=True),
    "max_unpool2d": lambda d: F.max_unpool2d(*F.max_pool2d(_x(1, 2, 4, 4).to(d), 2, return_indices=True), 2),
    "layer_norm": lambda d: F.layer_norm(_x(2, 5).to(d), [5], _x(5, seed=1).to(d), _x(5, seed=2).to(d)),
    "group_norm": lambda d: F.group_norm(_x(2, 4, 3).to(d), 2, _x(4, seed=1).to(d)),
    "instance_norm": lambda d: F.instance_norm(_x(2, 4, 3).to(d), use_input_stats=True),
    "batch_norm_train": lambda d: F.batch_norm(_x(4, 3).to(d), edunn.zeros(3).double().to(d),
                                               edunn.ones(3).double().to(d), training=True),
    "local_response_norm": lambda d: F.local_response_norm(_x(2, 4, 3).to(d), 2),
    "grid_sample": lambda d: F.grid_sample(_x(1, 2, 4, 4).to(d), _x(1, 3, 3, 2, seed=1).tanh().to(d),
                                           align_corners=False),
    "affine_grid": lambda d: F.affine_grid(_x(1, 2, 3).to(d), [1, 2, 4, 4], align_corners=False),
    "interpolate": lambda d: F.interpolate(_x(1, 2, 3, 3).to(d), scale_factor=2, mode="bilinear"),
    "multi_margin_loss": lambda d: F.multi_margin_loss(_x(3, 4).to(d), _i(0, 1, 3).to(d), weight=_x(4).to(d)),
    "multilabel_margin_loss": lambda d: F.multilabel_margin_loss(_x(3, 4).to(d), _i(*[[0, 1, -1, 0]] * 3).to(d)),
    "gaussian_nll_loss": lambda d: F.gaussian_nll_loss(_x(3, 4).to(d), _x(3, 4, seed=1).to(d),
                                                       _x(3, 4, seed=2).abs().to(d)),
    "ctc_loss": lambda d: F.ctc_loss(_x(6, 2, 5).log_softmax(2).to(d), _i([1, 2], [3, 3]).to(d), [6, 5], [2, 2]),
    "embedding_bag": lambda d: F.embedding_bag(_i(1, 2, 4, 5).to(d), _x(10, 3).to(d), _i(0, 2).to(d)),
    "embedding_bag_top": lambda d: edunn.embedding_bag(_x(10, 3).to(d), _i(1, 2, 4, 5).to(d), _i(0, 2).to(d), mode=2),
    "one_hot": lambda d: F.one_hot(_i(0, 1, 3).to(d)),
    "pack_padded_sequence": lambda d: nn.utils.rnn.pack_padded_sequence(_x(3, 4, 2).to(d), [4, 3, 2],
                                                                         batch_first=True).data,
    "pad_packed_sequence": lambda d: nn.utils.rnn.pad_packed_sequence(
        nn.utils.rnn.pack_sequence([_x(4, 2).to(d), _x(3, 2, seed=1).to(d)]))[0],
    "adaptive_log_softmax_predict": lambda d: _adaptive(d),
    "sdpa_causal": lambda d: F.scaled_dot_product_attention(_x(1, 2, 3, 4).to(d), _x(1, 2, 3, 4, seed=1).to(d),
                                                            _x(1, 2, 3, 4, seed=2).to(d), is_causal=True),
}


def _adaptive(d):
    edunn.manual_seed(0)
    m = nn.AdaptiveLogSoftmaxWithLoss(8, 10, [4]).double().to(d)
    return m.predict(_x(6, 8).to(d))


RANDOM = {
    "dropout": lambda d: F.dropout(_x(4, 4).to(d), 0.5),
    "dropout2d": lambda d: F.dropout2d(_x(2, 3, 4, 4).to(d), 0.5),
    "alpha_dropout": lambda d: F.alpha_dropout(_x(4, 4).to(d), 0.5, True),
    "rrelu": lambda d: F.rrelu(_x(4, 4).to(d), training=True),
    "gumbel_softmax": lambda d: F.gumbel_softmax(_x(3, 4).to(d), hard=True),
    "fractional_max_pool2d": lambda d: F.fractional_max_pool2d(_x(1, 2, 8, 8).to(d), 2, output_size=4),
    "orthogonal_": lambda d: nn.init.orthogonal_(edunn.empty(4, 3, device=d)),
    "sparse_": lambda d: nn.init.sparse_(edunn.empty(4, 3, device=d), 0.5),
    "trunc_normal_": lambda d: nn.init.trunc_normal_(edunn.empty(4, 3, device=d), a=1.0, b=2.0),
    "dirac_": lambda d: nn.init.dirac_(edunn.empty(4, 3, 3, device=d)),
    "orthogonal_parametrization": lambda d: nn.utils.parametrizations.orthogonal(nn.Linear(4, 4).to(d)).weight,
    "l1_unstructured": lambda d: nn.utils.prune.l1_unstructured(nn.Linear(4, 4).to(d), "weight", 0.5).weight,
}


def _flat(out):
    if isinstance(out, (tuple, list)):
        return [t for o in out for t in _flat(o)]
    return [out]


@pytest.mark.parametrize("name", sorted(DETERMINISTIC))
def test_on_the_second_gpu_equals_the_cpu(name, second_gpu):
    got, expected = _flat(DETERMINISTIC[name](second_gpu)), _flat(DETERMINISTIC[name]("cpu"))
    for g, e in zip(got, expected):
        assert g.device == edunn.device(second_gpu), name
        np.testing.assert_allclose(g.cpu().numpy(), e.numpy(), rtol=1e-12, atol=1e-12)


@pytest.mark.parametrize("name", sorted(RANDOM))
def test_random_ones_run_on_the_second_gpu(name, second_gpu):
    out = RANDOM[name](second_gpu)
    assert out.device == edunn.device(second_gpu)
    assert tuple(out.shape) == tuple(RANDOM[name]("cpu").shape)


@pytest.mark.parametrize("layer", ["Linear", "Conv2d", "LSTM", "Embedding", "MultiheadAttention"])
def test_layers_built_with_device_cuda_1_initialise_there(layer, second_gpu):
    args = {"Linear": (3, 4), "Conv2d": (3, 4, 3), "LSTM": (3, 4), "Embedding": (5, 4),
            "MultiheadAttention": (4, 2)}[layer]
    m = getattr(nn, layer)(*args, device=second_gpu)
    for p in m.parameters():
        assert p.device == edunn.device(second_gpu)


def test_training_with_checkpoint_and_update_bn_on_the_second_gpu(second_gpu):
    model = nn.Sequential(nn.Linear(3, 4), nn.BatchNorm1d(4), nn.Dropout(0.2), nn.Linear(4, 2)).to(second_gpu)
    x = _x(5, 3).float().to(second_gpu).requires_grad_()
    y = edunn.utils.checkpoint.checkpoint(model, x, use_reentrant=False)
    y.sum().backward()
    assert x.grad.device == edunn.device(second_gpu)
    edunn.optim.swa_utils.update_bn([_x(5, 3).float().to(second_gpu)], model)
    assert model[1].running_mean.device == edunn.device(second_gpu)
