"""``edunn.conv2d``, ``edunn.dropout``, ``edunn.kl_div`` ...: the ``nn.functional`` kernels PyTorch
exports at the top level, called with torch's native conventions (positional order, the int
``reduction`` enum, the table first in ``embedding``), against torch's values and gradients."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
import edunn.nn._top_level as top
from tests.opcheck import assert_close, needs_torch, torch

pytestmark = [pytest.mark.lesson08, needs_torch]

R = np.random.default_rng(0)


def _f(*shape, low=-1.0, high=1.0):
    return R.uniform(low, high, shape).astype(np.float32)


def _i(*values):
    return np.array(values, dtype=np.int64)


# name -> (input arrays; call(fw, *tensors)).  Float arrays require grad in both libraries.
CASES = {
    "conv1d": ([_f(2, 4, 7), _f(6, 2, 3), _f(6)], lambda fw, x, w, b: fw.conv1d(x, w, b, 2, 1, 1, 2)),
    "conv2d": ([_f(2, 3, 6, 5), _f(4, 3, 3, 2), _f(4)], lambda fw, x, w, b: fw.conv2d(x, w, b, 1, (1, 0), 2, 1)),
    "conv3d": ([_f(1, 2, 4, 5, 4), _f(3, 2, 2, 2, 2)], lambda fw, x, w: fw.conv3d(x, w, None, 1, 1)),
    "conv_transpose1d": ([_f(2, 4, 5), _f(4, 3, 3), _f(3)],
                         lambda fw, x, w, b: fw.conv_transpose1d(x, w, b, 2, 1, 1, 1, 1)),
    "conv_transpose2d": ([_f(1, 4, 3, 4), _f(4, 1, 2, 3), _f(2)],
                         lambda fw, x, w, b: fw.conv_transpose2d(x, w, b, 2, 0, 1, 2, 1)),
    "conv_transpose3d": ([_f(1, 2, 3, 2, 3), _f(2, 2, 2, 2, 2)],
                         lambda fw, x, w: fw.conv_transpose3d(x, w, None, 1, 0, 0, 1, 2)),
    "max_pool1d": ([_f(2, 3, 9)], lambda fw, x: fw.max_pool1d(x, 3, 2, 1, 1, True)),
    "max_pool1d_default_stride": ([_f(2, 3, 9)], lambda fw, x: fw.max_pool1d(x, 3)),
    "max_pool2d": ([_f(2, 3, 6, 7)], lambda fw, x: fw.max_pool2d(x, (2, 3), (), 1, 1, False)),
    "max_pool3d": ([_f(1, 2, 4, 5, 4)], lambda fw, x: fw.max_pool3d(x, 2, 1, 0, 2)),
    "max_pool1d_with_indices": ([_f(2, 3, 9)], lambda fw, x: fw.max_pool1d_with_indices(x, 2, 2, 1)),
    "avg_pool1d": ([_f(2, 3, 9)], lambda fw, x: fw.avg_pool1d(x, 3, 2, 1, True, False)),
    "adaptive_avg_pool1d": ([_f(2, 3, 10)], lambda fw, x: fw.adaptive_avg_pool1d(x, 4)),
    "adaptive_max_pool1d": ([_f(2, 3, 10)], lambda fw, x: fw.adaptive_max_pool1d(x, 4)),
    "dropout_eval": ([_f(3, 4)], lambda fw, x: fw.dropout(x, 0.5, False)),
    "alpha_dropout_eval": ([_f(3, 4)], lambda fw, x: fw.alpha_dropout(x, 0.5, False)),
    "feature_dropout_eval": ([_f(3, 4, 2)], lambda fw, x: fw.feature_dropout(x, 0.5, False)),
    "feature_alpha_dropout_eval": ([_f(3, 4, 2)], lambda fw, x: fw.feature_alpha_dropout(x, 0.5, False)),
    "batch_norm_train": ([_f(4, 3, 5), _f(3), _f(3)],
                         lambda fw, x, w, b: fw.batch_norm(x, w, b, fw.zeros(3), fw.ones(3), True, 0.3, 1e-3, False)),
    "batch_norm_eval": ([_f(4, 3), _f(3), _f(3)],
                        lambda fw, x, w, b: fw.batch_norm(x, w, b, fw.full((3,), 0.2), fw.full((3,), 2.0),
                                                          False, 0.1, 1e-5, True)),
    "batch_norm_no_affine": ([_f(4, 3, 2, 2)], lambda fw, x: fw.batch_norm(x, None, None, None, None, True,
                                                                         0.1, 1e-5, True)),
    "instance_norm": ([_f(2, 3, 6), _f(3), _f(3)],
                      lambda fw, x, w, b: fw.instance_norm(x, w, b, None, None, True, 0.1, 1e-5, False)),
    "layer_norm": ([_f(2, 3, 4), _f(3, 4), _f(3, 4)], lambda fw, x, w, b: fw.layer_norm(x, [3, 4], w, b, 1e-3, False)),
    "layer_norm_default": ([_f(2, 5)], lambda fw, x: fw.layer_norm(x, (5,))),
    "group_norm": ([_f(2, 4, 3), _f(4), _f(4)], lambda fw, x, w, b: fw.group_norm(x, 2, w, b, 1e-4, True)),
    "rms_norm": ([_f(2, 3, 4), _f(4)], lambda fw, x, w: fw.rms_norm(x, [4], w, 1e-6)),
    "embedding": ([_f(5, 3), _i(1, 2, 2, 4)], lambda fw, w, i: fw.embedding(w, i)),
    "embedding_padding_idx": ([_f(5, 3), _i(1, 2, 2, 4)], lambda fw, w, i: fw.embedding(w, i, 2)),
    "embedding_negative_padding_is_none": ([_f(5, 3), _i(1, 4, 4)], lambda fw, w, i: fw.embedding(w, i, -1)),
    "embedding_scale_grad_by_freq": ([_f(5, 3), _i(1, 2, 2, 4)], lambda fw, w, i: fw.embedding(w, i, -1, True)),
    "bilinear": ([_f(3, 2), _f(3, 4), _f(5, 2, 4), _f(5)], lambda fw, a, b, w, c: fw.bilinear(a, b, w, c)),
    "cosine_similarity": ([_f(3, 4), _f(3, 4)], lambda fw, a, b: fw.cosine_similarity(a, b, 0, 1e-6)),
    "pairwise_distance": ([_f(3, 4), _f(3, 4)], lambda fw, a, b: fw.pairwise_distance(a, b, 1.0, 1e-5, True)),
    "pdist": ([_f(4, 3)], lambda fw, x: fw.pdist(x, 3)),
    "pixel_shuffle": ([_f(1, 8, 2, 3)], lambda fw, x: fw.pixel_shuffle(x, 2)),
    "pixel_unshuffle": ([_f(1, 2, 4, 6)], lambda fw, x: fw.pixel_unshuffle(x, 2)),
    "channel_shuffle": ([_f(1, 6, 2, 2)], lambda fw, x: fw.channel_shuffle(x, 3)),
    "prelu": ([_f(2, 3, 4), _f(3)], lambda fw, x, w: fw.prelu(x, w)),
    "selu": ([_f(3, 4, low=-2, high=2)], lambda fw, x: fw.selu(x)),
    "celu": ([_f(3, 4, low=-2, high=2)], lambda fw, x: fw.celu(x, 0.7)),
    "rrelu_eval": ([_f(3, 4)], lambda fw, x: fw.rrelu(x, 0.1, 0.3, False)),
    "threshold": ([_f(3, 4)], lambda fw, x: fw.threshold(x, 0.1, 2.0)),
    "hardshrink": ([_f(3, 4)], lambda fw, x: fw.hardshrink(x, 0.3)),
    "constant_pad_nd": ([_f(2, 3)], lambda fw, x: fw.constant_pad_nd(x, [1, 2, 0, 1], 1.5)),
    "constant_pad_nd_default": ([_f(2, 3)], lambda fw, x: fw.constant_pad_nd(x, (2, 0))),
}
for red in (0, 1, 2):
    CASES.update({
        f"kl_div_{red}": ([_f(3, 4), _f(3, 4, low=0.1)], lambda fw, x, t, red=red: fw.kl_div(x, t, red)),
        f"kl_div_log_target_{red}": ([_f(3, 4), _f(3, 4)],
                                     lambda fw, x, t, red=red: fw.kl_div(x, t, red, log_target=True)),
        f"bce_with_logits_{red}": ([_f(3, 4), _f(3, 4, low=0)],
                                   lambda fw, x, t, red=red: fw.binary_cross_entropy_with_logits(
                                       x, t, fw.tensor([0.5, 1.0, 2.0, 0.7]), fw.tensor([1.5, 0.6, 1.0, 3.0]), red)),
        f"cosine_embedding_loss_{red}": ([_f(4, 3), _f(4, 3)],
                                         lambda fw, a, b, red=red: fw.cosine_embedding_loss(
                                             a, b, fw.tensor([1.0, -1.0, 1.0, -1.0]), 0.1, red)),
        f"hinge_embedding_loss_{red}": ([_f(4, 3)], lambda fw, x, red=red: fw.hinge_embedding_loss(
            x, fw.tensor([1.0, -1.0, 1.0]).expand(4, 3), 0.5, red)),
        f"margin_ranking_loss_{red}": ([_f(5), _f(5)], lambda fw, a, b, red=red: fw.margin_ranking_loss(
            a, b, fw.tensor([1.0, -1.0, 1.0, 1.0, -1.0]), 0.2, red)),
        f"triplet_margin_loss_{red}": ([_f(4, 3), _f(4, 3), _f(4, 3)],
                                       lambda fw, a, p, n, red=red: fw.triplet_margin_loss(a, p, n, 0.5, 1.5, 1e-5,
                                                                                           True, red)),
        f"poisson_nll_loss_{red}": ([_f(3, 4), _f(3, 4, low=0, high=3)],
                                    lambda fw, x, t, red=red: fw.poisson_nll_loss(x, t, True, True, 1e-8, red)),
        f"poisson_nll_loss_rate_{red}": ([_f(3, 4, low=0.1), _f(3, 4, low=0, high=3)],
                                         lambda fw, x, t, red=red: fw.poisson_nll_loss(x, t, False, False, 1e-3, red)),
        f"ctc_loss_{red}": ([_f(6, 2, 4)], lambda fw, x, red=red: fw.ctc_loss(
            x.log_softmax(2), fw.tensor([[1, 2, 1], [3, 3, 0]]), [6, 5], [3, 2], 0, red)),
    })
CASES["kl_div_default"] = ([_f(3, 4), _f(3, 4, low=0.1)], lambda fw, x, t: fw.kl_div(x, t))
CASES["hinge_embedding_loss_other_int_is_none"] = (
    [_f(4)], lambda fw, x: fw.hinge_embedding_loss(x, fw.tensor([1.0, -1.0, 1.0, -1.0]), 1.0, 5))


def _run(fw, arrays, call):
    ins = [fw.tensor(a, requires_grad=a.dtype.kind == "f") for a in arrays]
    out = call(fw, *ins)
    outs = out if isinstance(out, tuple) else (out,)
    # a weighted sum, so that a normalization's gradient is not trivially zero
    loss = sum((o * fw.tensor(np.cos(np.arange(o.numel()) * 0.7).astype(np.float32)).reshape(o.shape)).sum()
               for o in outs if o.is_floating_point())
    loss.backward()
    return outs, [t.grad for t in ins if t.requires_grad]


@pytest.mark.parametrize("name", list(CASES))
def test_alias_takes_torchs_native_arguments_and_gives_its_values_and_gradients(name):
    arrays, call = CASES[name]
    ours, our_grads = _run(edunn, arrays, call)
    theirs, their_grads = _run(torch, arrays, call)
    assert len(ours) == len(theirs)
    for a, b in zip(ours, theirs):
        assert_close(a, b, atol=1e-4, what=f"{name} value")
    for a, b in zip(our_grads, their_grads):
        assert_close(a, b, atol=1e-4, what=f"{name} gradient")


@pytest.mark.parametrize("name", ["dropout", "alpha_dropout", "feature_dropout", "feature_alpha_dropout"])
def test_dropouts_in_eval_return_the_input_and_in_place_forms_modify_it(name):
    x = edunn.randn(3, 4, 2)
    assert getattr(edunn, name)(x, 0.5, False) is x
    assert getattr(edunn, name + "_")(x, 0.5, False) is x
    y = x.clone()
    before = y.clone()
    assert getattr(edunn, name + "_")(y, 0.5, True) is y
    assert not edunn.equal(y, before)  # changed in place (P(no change) = 2^-24 or less)
    with pytest.raises(ValueError, match="dropout probability"):
        getattr(edunn, name)(x, 1.5, True)


def test_dropout_train_drops_elements_and_feature_dropout_whole_channels():
    edunn.manual_seed(0)
    x = edunn.ones(8, 16, 5)
    y = edunn.dropout(x, 0.5, True)
    assert set(y.unique().tolist()) == {0.0, 2.0}
    z = edunn.feature_dropout(x, 0.5, True)
    assert set(z.unique().tolist()) == {0.0, 2.0}
    assert (z == z[:, :, :1]).all()  # one draw per (sample, channel)
    assert not (y == y[:, :, :1]).all()


@pytest.mark.parametrize("name, args", [("relu_", ()), ("selu_", ()), ("celu_", (0.5,)), ("threshold_", (0.0, -3.0)),
                                        ("rrelu_", (0.1, 0.3, False))])
def test_in_place_activations_modify_and_return_their_input(name, args):
    data = _f(3, 4)
    x, t = edunn.tensor(data), torch.tensor(data)
    assert getattr(edunn, name)(x, *args) is x
    assert getattr(torch, name)(t, *args) is t
    assert_close(x, t, what=name)


def test_native_signatures_and_errors_like_torch():
    x, t = edunn.randn(3), edunn.rand(3)
    for fw in (edunn, torch):
        with pytest.raises(TypeError):
            fw.dropout(fw.randn(3), 0.5)  # train has no default
        with pytest.raises(TypeError, match="reduction"):
            fw.kl_div(fw.randn(3), fw.rand(3), "sum")
        with pytest.raises(TypeError):
            fw.kl_div(fw.randn(3), fw.rand(3), 1, False)  # log_target is keyword-only
    assert edunn.embedding(weight=edunn.eye(3), indices=edunn.tensor([2])).tolist() == [[0.0, 0.0, 1.0]]
    assert edunn.kl_div(input=x, target=t, reduction=2).shape == ()
    values, indices = edunn.adaptive_max_pool1d(edunn.arange(6.0).reshape(1, 1, 6), 2)
    assert values.tolist() == [[[2.0, 5.0]]] and indices.tolist() == [[[2, 5]]]


def test_every_alias_is_exported_and_is_torchs_name():
    for name in top.__all__:
        assert getattr(edunn, name) is getattr(top, name)
        assert callable(getattr(torch, name)), name
