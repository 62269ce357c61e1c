"""The benchmark workloads, each written once and run on both ``edunn`` and ``torch``.

A workload is a pair of plain functions that receive the framework module ``fw`` (``edunn`` or
``torch``) as their first argument -- the very same code runs on both, which doubles as a
demonstration that ``import edunn as torch`` works:

* ``setup(fw, rng, device="cpu") -> tuple`` builds the inputs (untimed), from NumPy arrays drawn
  from ``rng`` so both frameworks see the same numbers, and moves every tensor, module and
  gradient to ``device`` (``"cpu"`` or ``"cuda"``) *before* it builds the optimizer -- nothing
  is created or copied inside the timed step;
* ``run(fw, *inputs) -> Tensor`` is the timed step; what it returns is compared across the two
  frameworks once, to make sure they computed the same thing.  It must not call ``.item()``,
  ``.numpy()`` or ``.cpu()``: on a GPU each would wait for the device and copy to the host.

Register a new one with ``@workload(...)`` below; ``run.py`` picks it up by name.
"""
from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Callable

import numpy as np


@dataclass(frozen=True)
class Workload:
    name: str
    description: str
    setup: Callable[..., tuple]
    run: Callable[..., Any]
    repeats: int            # timed repetitions per framework (full run)
    quick_repeats: int      # timed repetitions per framework with --quick
    warmup: int = 2
    target: float | None = None   # required ratio edunn/torch on the CPU (at most), None: none
    rtol: float = 1e-3            # tolerance of the edunn-vs-torch result check
    cuda_target: float | None = None       # the same on a CUDA device (an H100's targets)
    devices: tuple[str, ...] = ("cpu", "cuda")   # device types the workload runs on
    skip_note: str = ""           # why it does not run on the other device types

    def target_for(self, device: str) -> float | None:
        """The target ratio on ``device`` (``"cpu"``, ``"cuda"``, ``"cuda:1"``)."""
        return self.cuda_target if device_type(device) == "cuda" else self.target

    def runs_on(self, device: str) -> bool:
        return device_type(device) in self.devices


REGISTRY: dict[str, Workload] = {}


def workload(name: str, *, setup: Callable[..., tuple], description: str, repeats: int,
             quick_repeats: int, warmup: int = 2, target: float | None = None,
             rtol: float = 1e-3, cuda_target: float | None = None,
             devices: tuple[str, ...] = ("cpu", "cuda"), skip_note: str = "") -> Callable:
    """Decorator: register ``run`` as the timed step of workload ``name``."""
    def register(run: Callable) -> Callable:
        if name in REGISTRY:
            raise ValueError(f"workload {name!r} is registered twice")
        REGISTRY[name] = Workload(name, description, setup, run, repeats, quick_repeats, warmup,
                                  target, rtol, cuda_target, tuple(devices), skip_note)
        return run
    return register


def device_type(device: str) -> str:
    """``"cuda:1"`` -> ``"cuda"``."""
    return str(device).split(":", 1)[0]


def tensor(fw, array: np.ndarray, device: str = "cpu"):
    """A tensor of ``fw`` on ``device`` holding a private copy of ``array`` (no grad)."""
    return fw.from_numpy(array.copy()).to(device)


def leaf(fw, array: np.ndarray, requires_grad: bool = True, device: str = "cpu"):
    """A leaf tensor of ``fw`` on ``device`` holding a private copy of ``array``.  The copy is
    moved first and marked afterwards, so the result is a leaf (``.to`` of a tensor that
    requires grad would record the copy in the graph)."""
    return tensor(fw, array, device).requires_grad_(requires_grad)


def load_parameters(fw, module, device: str, draw: Callable[[tuple], np.ndarray]):
    """Overwrite every parameter of ``module`` with ``draw(shape)`` (float32 NumPy arrays, in
    ``parameters()`` order, so both frameworks get the same numbers), then move the module to
    ``device``.  Build the optimizer after this, over the moved parameters."""
    with fw.no_grad():
        for p in module.parameters():
            p.copy_(fw.from_numpy(draw(tuple(p.shape)).astype(np.float32)))
    return module.to(device)


# --- per-op autograd overhead: 1,000 tiny elementwise ops --------------------------------------

CHAIN_LENGTH = 1000


def _chain_ops(fw, x):
    """``CHAIN_LENGTH`` elementwise ops on ``x``, a cycle of 8 that keeps values in a sane range:
    mul, add, tanh, sub, exp, log, mul, add (scalars as Python floats)."""
    for _ in range(CHAIN_LENGTH // 8):
        x = x * 0.9
        x = x + 0.1
        x = fw.tanh(x)
        x = x - 0.05
        x = fw.exp(x)
        x = fw.log(x)
        x = x * 1.1
        x = x + 0.01
    return x


def _small_input(fw, rng, device="cpu"):
    return (leaf(fw, rng.standard_normal(10).astype(np.float32), device=device),)


@workload("chain", setup=_small_input, target=1.5, repeats=50, quick_repeats=3,
          description="1,000 elementwise ops on a 10-element float32 tensor, forward + backward")
def chain(fw, x):
    x.grad = None
    y = _chain_ops(fw, x)
    y.sum().backward()
    return x.grad


@workload("chain_fwd_nograd", setup=_small_input, repeats=50, quick_repeats=3,
          description="the same 1,000 ops, forward only under no_grad")
def chain_fwd_nograd(fw, x):
    with fw.no_grad():
        return _chain_ops(fw, x)


# --- array-bound: a chain of matmuls -------------------------------------------------------------

MATMUL_SIZE, MATMUL_DEPTH = 256, 20


def _matmul_inputs(fw, rng, device="cpu"):
    n = MATMUL_SIZE
    x = tensor(fw, rng.standard_normal((n, n)).astype(np.float32), device)
    weights = [leaf(fw, (rng.standard_normal((n, n)) / np.sqrt(n)).astype(np.float32),
                    device=device) for _ in range(MATMUL_DEPTH)]
    return x, weights


@workload("matmul_chain", setup=_matmul_inputs, repeats=10, quick_repeats=2, rtol=1e-2,
          description="20 x (256x256 matmul + tanh), float32, forward + backward")
def matmul_chain(fw, x, weights):
    for w in weights:
        w.grad = None
    h = x
    for w in weights:
        h = fw.tanh(h @ w)
    h.sum().backward()
    return weights[0].grad


# --- an MLP training step (lesson 05's network, nn.Module and nn.Linear end to end) ----------

MLP_BATCH = 128


def _mlp(fw, rng, device, sizes, batch):
    """A ReLU MLP of ``nn.Linear`` layers with ``sizes`` (PyTorch's uniform +-1/sqrt(fan_in)
    initialisation, drawn from ``rng`` so both frameworks hold the same weights) on ``device``, a
    batch of inputs and labels there, and SGD with momentum over the moved parameters."""
    layers = []
    for n_in, n_out in zip(sizes[:-1], sizes[1:]):
        layers += [fw.nn.Linear(n_in, n_out), fw.nn.ReLU()]
    model = load_parameters(fw, fw.nn.Sequential(*layers[:-1]), device,
                            lambda shape: rng.uniform(-1 / np.sqrt(shape[-1]),
                                                      1 / np.sqrt(shape[-1]), shape))
    x = tensor(fw, rng.standard_normal((batch, sizes[0])).astype(np.float32), device)
    y = tensor(fw, rng.integers(0, sizes[-1], batch).astype(np.int64), device)
    return model, x, y, fw.optim.SGD(model.parameters(), lr=0.01, momentum=0.9)


def _mlp_inputs(fw, rng, device="cpu"):
    """784-512-256-10 with a batch of 128 images."""
    return _mlp(fw, rng, device, (784, 512, 256, 10), MLP_BATCH)


def _mlp_step(fw, model, x, y, opt):
    opt.zero_grad()
    loss = fw.nn.functional.cross_entropy(model(x), y)
    loss.backward()
    opt.step()
    return model[0].weight.grad


workload("mlp_step", setup=_mlp_inputs, repeats=40, quick_repeats=2, target=0.8, rtol=1e-3,
         description="784-512-256-10 ReLU MLP (nn.Sequential of nn.Linear) on a 128x784 batch, "
                     "cross-entropy, backward, SGD(momentum=0.9) step")(_mlp_step)


# --- a large MLP step, where the GPU's arithmetic dominates (cuda only) -------------------------

MLP_LARGE_SIZES, MLP_LARGE_BATCH = (4096, 4096, 4096, 10), 4096


def _mlp_large_inputs(fw, rng, device="cpu"):
    """4096-4096-4096-10 with a batch of 4096: about 0.7 TFLOP per step (five 4096^3 matmuls:
    two forward, three backward -- the input needs no gradient)."""
    return _mlp(fw, rng, device, MLP_LARGE_SIZES, MLP_LARGE_BATCH)


workload("mlp_large_step", setup=_mlp_large_inputs, repeats=20, quick_repeats=3, cuda_target=1.3,
         rtol=1e-3, devices=("cuda",),
         skip_note="cuda only: about 0.7 TFLOP per step (five 4096^3 matmuls), many seconds "
                   "per repetition on one CPU thread",
         description="4096-4096-4096-10 ReLU MLP on a 4096x4096 batch, float32, cross-entropy, "
                     "backward, SGD(momentum=0.9) step")(_mlp_step)


# --- an LSTM training step (lesson 12) --------------------------------------------------------

def _lstm_inputs(fw, rng, device="cpu"):
    """``nn.LSTM(64, 128)`` with the same weights in both frameworks, a (35, 32, 64) sequence
    batch (seq, batch, features) and Adam."""
    lstm = load_parameters(fw, fw.nn.LSTM(64, 128), device,
                           lambda shape: rng.uniform(-0.088, 0.088, shape))
    x = tensor(fw, rng.standard_normal((35, 32, 64)).astype(np.float32), device)
    return lstm, x, fw.optim.Adam(lstm.parameters(), lr=1e-3)


@workload("lstm_step", setup=_lstm_inputs, repeats=20, quick_repeats=2, target=1.5, rtol=1e-3,
          description="nn.LSTM(64, 128) over a 35x32x64 sequence batch, mean-square loss of the "
                      "outputs, backward through time, Adam step")
def lstm_step(fw, lstm, x, opt):
    opt.zero_grad()
    out, _ = lstm(x)
    loss = out.square().mean()
    loss.backward()
    opt.step()
    return lstm.weight_hh_l0.grad


# --- a Transformer encoder layer training step (lesson 13) ----------------------------------

def _transformer_inputs(fw, rng, device="cpu"):
    """``TransformerEncoderLayer(d_model=128, nhead=4, dim_feedforward=512)`` with the same
    weights in both frameworks (dropout 0, so both compute the same thing), a (16, 64, 128)
    batch-first input and AdamW."""
    layer = fw.nn.TransformerEncoderLayer(128, 4, dim_feedforward=512, dropout=0.0, batch_first=True)
    layer = load_parameters(fw, layer, device, lambda shape: 0.1 * rng.standard_normal(shape))
    x = tensor(fw, rng.standard_normal((16, 64, 128)).astype(np.float32), device)
    return layer, x, fw.optim.AdamW(layer.parameters(), lr=1e-3)


@workload("transformer_step", setup=_transformer_inputs, repeats=20, quick_repeats=2, target=1.5,
          rtol=1e-3, description="TransformerEncoderLayer(128, 4 heads, ff 512) on 16x64x128, "
                                 "mean-square loss, backward, AdamW step")
def transformer_step(fw, layer, x, opt):
    opt.zero_grad()
    loss = layer(x).square().mean()
    loss.backward()
    opt.step()
    return layer.linear1.weight.grad


# --- a small CNN training step (lesson 09-11's network) ------------------------------------------

CNN_BATCH = {"cpu": 64, "cuda": 512}   # a GPU needs a bigger batch to have anything to do


def _cnn_inputs(fw, rng, device="cpu"):
    """MNIST-sized images and labels (64 of them on the CPU, 512 on a GPU), and the parameters
    of Conv2d(1,16,3,p1)-ReLU-MaxPool2d(2)-Conv2d(16,32,3,p1)-ReLU-MaxPool2d(2)-Linear(1568,10),
    initialised as PyTorch does (uniform in +-1/sqrt(fan_in)), with an Adam optimizer over them."""
    batch = CNN_BATCH[device_type(device)]

    def uniform(shape, fan_in):
        bound = 1 / np.sqrt(fan_in)
        return leaf(fw, rng.uniform(-bound, bound, shape).astype(np.float32), device=device)
    x = tensor(fw, rng.standard_normal((batch, 1, 28, 28)).astype(np.float32), device)
    y = tensor(fw, rng.integers(0, 10, batch).astype(np.int64), device)
    params = [uniform((16, 1, 3, 3), 9), uniform((16,), 9),
              uniform((32, 16, 3, 3), 144), uniform((32,), 144),
              uniform((10, 1568), 1568), uniform((10,), 1568)]
    return x, y, params, fw.optim.Adam(params, lr=1e-3)


@workload("cnn_step", setup=_cnn_inputs, repeats=20, quick_repeats=2, target=1.2, cuda_target=2.0,
          rtol=1e-3, description="conv(1->16,3x3)-relu-maxpool2-conv(16->32,3x3)-relu-maxpool2-"
                                 "linear(1568->10) on 64x1x28x28 (512x1x28x28 on cuda), "
                                 "cross-entropy, backward, Adam step")
def cnn_step(fw, x, y, params, opt):
    F = fw.nn.functional
    w1, b1, w2, b2, w3, b3 = params
    opt.zero_grad()
    h = F.max_pool2d(F.relu(F.conv2d(x, w1, b1, padding=1)), 2)
    h = F.max_pool2d(F.relu(F.conv2d(h, w2, b2, padding=1)), 2)
    loss = F.cross_entropy(F.linear(h.flatten(1), w3, b3), y)
    loss.backward()
    opt.step()
    return w1.grad


# --- one optimizer step over 10M float32 parameters (lesson 14's optimizers, in place) ----------

OPTIM_SHAPES = [(2000, 4000), (1000, 2000), (2000,)]   # 10,002,000 float32 parameters


def _optim_inputs(make_optimizer):
    """Parameters of the sizes above with a fixed gradient in ``.grad`` (on the same device),
    and an optimizer."""
    def setup(fw, rng, device="cpu"):
        params = [leaf(fw, rng.standard_normal(s).astype(np.float32), device=device)
                  for s in OPTIM_SHAPES]
        for p in params:
            p.grad = tensor(fw, rng.standard_normal(p.shape).astype(np.float32), device)
        return params, make_optimizer(fw, params)
    return setup


def _optim_step(fw, params, opt):
    opt.step()
    return params[-1]


workload("sgd_momentum_step", repeats=20, quick_repeats=2, target=1.1, rtol=1e-5,
         setup=_optim_inputs(lambda fw, ps: fw.optim.SGD(ps, lr=0.01, momentum=0.9)),
         description="SGD(lr=0.01, momentum=0.9).step() over 10M float32 parameters")(_optim_step)
workload("adam_step", repeats=20, quick_repeats=2, target=1.1, rtol=1e-5,
         setup=_optim_inputs(lambda fw, ps: fw.optim.Adam(ps, lr=1e-3)),
         description="Adam(lr=1e-3).step() over 10M float32 parameters")(_optim_step)
