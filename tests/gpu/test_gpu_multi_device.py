"""GPU suite, several GPUs: work on ``cuda:1`` while ``cuda:0`` is the current device (lesson 18).

PyTorch runs every op on its inputs' device whatever device is current (a device guard); CuPy
launches on the current device.  edunn switches to the inputs' device in ``Function.apply``, in
the autograd engine, around indexing and in-place writes, around fused kernel launches and
around an optimizer's step (``backend.device_guard``).  These checks need two devices: on a
machine with one GPU they are skipped; the CPU stand-in for CuPy (``EDUNN_FAKE_CUDA=2``) runs
them with two pretend ones, and refuses, as CuPy does without peer access, any launch that
touches an array of a device that is not current.
"""
from __future__ import annotations

import io

import numpy as np
import pytest

import edunn
import test_gpu_training as training

pytestmark = [pytest.mark.lesson18, pytest.mark.gpu]


@pytest.mark.parametrize("name", training.MODELS)
def test_training_step_on_the_second_gpu_equals_the_cpu(name, second_gpu, monkeypatch):
    training.test_training_step_on_the_device_equals_the_cpu(name, second_gpu, monkeypatch)


OPTIMIZERS = ["ASGD", "Adadelta", "Adafactor", "Adagrad", "Adam", "AdamW", "Adamax", "LBFGS",
              "NAdam", "RAdam", "RMSprop", "Rprop", "SGD"]


@pytest.mark.parametrize("name", OPTIMIZERS)
def test_optimizer_scheduler_and_swa_on_the_second_gpu(name, second_gpu):
    results = {}
    for dev in ("cpu", second_gpu):
        edunn.manual_seed(0)
        model = edunn.nn.Sequential(edunn.nn.Linear(4, 8), edunn.nn.Tanh(), edunn.nn.Linear(8, 3)).to(dev)
        x = edunn.tensor(np.linspace(-1, 1, 20).reshape(5, 4), dtype=edunn.float32, device=dev)
        y = edunn.tensor([0, 1, 2, 0, 1], device=dev)
        opt = getattr(edunn.optim, name)(model.parameters(), lr=0.05)
        sched = edunn.optim.lr_scheduler.StepLR(opt, 1, gamma=0.5)
        swa = edunn.optim.swa_utils.AveragedModel(model)

        def closure():
            opt.zero_grad()
            loss = edunn.nn.functional.cross_entropy(model(x), y)
            loss.backward()
            return loss
        for _ in range(3):
            opt.step(closure)
            sched.step()
            swa.update_parameters(model)
        for p in list(model.parameters()) + list(swa.parameters()):
            assert p.device == edunn.device(dev)
        for s in opt.state.values():
            for v in s.values():
                if isinstance(v, edunn.Tensor) and v.dim() > 0:
                    assert v.device == edunn.device(dev)
        results[dev] = [p.detach().cpu().numpy() for p in swa.parameters()]
    for a, b in zip(results["cpu"], results[second_gpu]):
        np.testing.assert_allclose(a, b, rtol=1e-4, atol=1e-5)


def test_indexing_inplace_and_gradients_on_the_second_gpu(second_gpu):
    x = edunn.arange(12.0, device=second_gpu).reshape(3, 4).requires_grad_()
    i = edunn.tensor([2, 0], device=second_gpu)
    y = x[i] * 2 + x[:, 1:].sum()
    assert y.device == edunn.device(second_gpu)
    y.sum().backward()
    assert x.grad.device == edunn.device(second_gpu)
    np.testing.assert_array_equal(x.grad.cpu().numpy(), [[2, 10, 10, 10], [0, 8, 8, 8], [2, 10, 10, 10]])
    z = x.detach().clone()
    z[i] = 0.0
    z[:, 0] += 1
    z.mul_(2).clamp_(max=10)
    assert z.device == edunn.device(second_gpu)
    np.testing.assert_array_equal(z.cpu().numpy(), [[2, 0, 0, 0], [10, 10, 10, 10], [2, 0, 0, 0]])


def test_a_model_saved_on_one_gpu_loads_onto_another(second_gpu):
    model = edunn.nn.Linear(3, 2).to("cuda:0")
    buffer = io.BytesIO()
    edunn.save(model.state_dict(), buffer)
    buffer.seek(0)
    state = edunn.load(buffer, map_location=second_gpu)
    assert all(v.device == edunn.device(second_gpu) for v in state.values())
    other = edunn.nn.Linear(3, 2).to(second_gpu)
    other.load_state_dict(state)
    x = edunn.ones(1, 3, device=second_gpu)
    np.testing.assert_allclose(other(x).detach().cpu().numpy(), model(x.to("cuda:0")).detach().cpu().numpy(), rtol=1e-6)


def test_tensors_on_two_gpus_in_one_op_are_refused(second_gpu):
    a, b = edunn.ones(2, device="cuda:0"), edunn.ones(2, device=second_gpu)
    with pytest.raises(RuntimeError, match="Expected all tensors to be on the same device"):
        a + b
