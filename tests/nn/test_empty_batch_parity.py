"""Layers on an empty batch (N = 0, or a sequence of length 0), forward and backward, as PyTorch:
the output and input-gradient shapes, and for losses their values (the mean of nothing is NaN).
A data loader's last batch can be empty after filtering; a convolution's backward reshaped with
-1 there, which an empty array cannot resolve.  Lesson 09."""
import pytest

import edunn

torch = pytest.importorskip("torch")

pytestmark = pytest.mark.lesson09


def _modules(m):
    nn = m.nn
    return {
        "Linear": (lambda: nn.Linear(3, 2), (0, 3)),
        "Conv1d": (lambda: nn.Conv1d(2, 3, 3, padding=1), (0, 2, 5)),
        "Conv2d": (lambda: nn.Conv2d(2, 3, 3), (0, 2, 5, 5)),
        "Conv2d_groups": (lambda: nn.Conv2d(2, 4, 3, groups=2), (0, 2, 5, 5)),
        "ConvTranspose2d": (lambda: nn.ConvTranspose2d(2, 3, 3, stride=2), (0, 2, 4, 4)),
        "MaxPool2d": (lambda: nn.MaxPool2d(2), (0, 2, 4, 4)), "AvgPool1d": (lambda: nn.AvgPool1d(2), (0, 2, 4)),
        "AdaptiveAvgPool2d": (lambda: nn.AdaptiveAvgPool2d(2), (0, 2, 5, 5)),
        "BatchNorm1d_eval": (lambda: nn.BatchNorm1d(3).eval(), (0, 3)),
        "LayerNorm": (lambda: nn.LayerNorm(3), (0, 3)),
        "GroupNorm": (lambda: nn.GroupNorm(1, 2), (0, 2, 3)),
        "InstanceNorm1d": (lambda: nn.InstanceNorm1d(2), (0, 2, 3)),
        "Dropout_eval": (lambda: nn.Dropout(0.5).eval(), (0, 3)), "ReLU": (lambda: nn.ReLU(), (0, 3)),
        "Softmax": (lambda: nn.Softmax(-1), (0, 3)),
        "LSTM": (lambda: nn.LSTM(3, 4, batch_first=True), (0, 2, 3)),
        "GRU": (lambda: nn.GRU(3, 4), (2, 0, 3)),
        "RNN_empty_sequence": (lambda: nn.RNN(3, 4, batch_first=True), (2, 0, 3)),
        "MultiheadAttention": (lambda: nn.MultiheadAttention(4, 2, batch_first=True), (0, 3, 4)),
        "TransformerEncoderLayer": (lambda: nn.TransformerEncoderLayer(4, 2, 8, dropout=0.0, batch_first=True),
                                    (0, 3, 4)),
        "Flatten": (lambda: nn.Flatten(), (0, 2, 3)), "Upsample": (lambda: nn.Upsample(scale_factor=2), (0, 2, 3, 3)),
        "PixelShuffle": (lambda: nn.PixelShuffle(2), (0, 4, 2, 2)),
    }


def _run(m, name):
    m.manual_seed(0)
    make, shape = _modules(m)[name]
    module, x = make(), m.zeros(shape, requires_grad=True)
    try:
        y = module(x, x, x)[0] if name == "MultiheadAttention" else module(x)
        y = y[0] if isinstance(y, tuple) else y
        y.sum().backward()
    except Exception as error:   # noqa: BLE001  (any refusal counts as one)
        return "error", type(error).__name__
    return "ok", tuple(y.shape), tuple(x.grad.shape)


@pytest.mark.parametrize("name", list(_modules(edunn)))
def test_layers_take_an_empty_batch_as_pytorch(name):
    theirs = _run(torch, name)
    if theirs[0] == "ok":
        assert _run(edunn, name) == theirs


@pytest.mark.parametrize("loss", ["cross_entropy", "mse_loss", "l1_loss", "nll_loss"])
def test_losses_of_an_empty_batch_are_nan_as_pytorch(loss):
    results = []
    for m in (edunn, torch):
        x = m.zeros(0, 3, requires_grad=True)
        target = m.zeros(0, dtype=m.int64) if loss in ("cross_entropy", "nll_loss") else m.zeros(0, 3)
        y = getattr(m.nn.functional, loss)(x, target)
        y.backward()
        results.append((str(y.item()), tuple(x.grad.shape)))
    assert results[0] == results[1]
