"""One optimizer over parameters on two GPUs (model parallelism, lesson 18).

PyTorch runs each op of a step on its tensors' device, so a model split over ``cuda:0`` and
``cuda:1`` trains with a single optimizer.  edunn's per-parameter loops switch to each
parameter's device (``edunn/optim/_devices.py``).  Needs two CUDA devices (or the CPU stand-in
``EDUNN_FAKE_CUDA=2``, which refuses any launch touching an array of a device that is not
current); skipped otherwise.  The reference is the same run on the CPU."""
from __future__ import annotations

import numpy as np
import pytest

import edunn
from edunn import nn

pytestmark = [pytest.mark.lesson18, pytest.mark.gpu]

CASES = [("SGD", {"momentum": 0.9, "nesterov": True}), ("Adam", {"amsgrad": True}),
         ("Adam", {"capturable": True}), ("AdamW", {"foreach": True}), ("RMSprop", {"centered": True}),
         ("Adagrad", {}), ("Adadelta", {}), ("Adamax", {}), ("NAdam", {}), ("RAdam", {}),
         ("ASGD", {"t0": 1}), ("Rprop", {}), ("Adafactor", {}), ("SGD", {"maximize": True, "weight_decay": 0.1})]


@pytest.fixture
def two():
    if not edunn.cuda.is_available() or edunn.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    yield "cuda:0", "cuda:1"
    assert edunn.cuda.current_device() == 0, "the current device must not change"


def _run(name: str, kwargs: dict, dev0: str, dev1: str) -> list:
    edunn.manual_seed(0)
    first, second = nn.Linear(3, 4).double().to(dev0), nn.Linear(4, 2).double().to(dev1)
    params = list(first.parameters()) + list(second.parameters())
    devices = [p.device for p in params]
    opt = getattr(edunn.optim, name)(params, lr=0.01, **kwargs)
    gen = edunn.Generator().manual_seed(1)
    for _ in range(3):
        x = edunn.randn(5, 3, dtype=edunn.float64, generator=gen)
        opt.zero_grad()
        second(first(x.to(dev0)).tanh().to(dev1)).pow(2).sum().backward()
        opt.step()
    resumed = getattr(edunn.optim, name)(params, lr=0.01, **kwargs)
    resumed.load_state_dict(opt.state_dict())
    resumed.step()
    assert [p.device for p in params] == devices, "the parameters must stay where they are"
    return [p.detach().cpu().numpy() for p in params]


@pytest.mark.parametrize("name,kwargs", CASES, ids=[f"{n}-{'-'.join(k) or 'defaults'}" for n, k in CASES])
def test_one_optimizer_over_two_gpus_equals_the_cpu(name, kwargs, two):
    expected = _run(name, kwargs, "cpu", "cpu")
    got = _run(name, kwargs, *two)
    for g, e in zip(got, expected):
        np.testing.assert_allclose(g, e, rtol=1e-12, atol=1e-12)
