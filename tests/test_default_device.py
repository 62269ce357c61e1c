"""``set_default_device``/``get_default_device`` (PyTorch 2.x): factory functions given no
``device=`` make their tensors on the default device.  Without a GPU only the CPU can be set;
that every factory consults the default is shown by a CUDA default standing in (each factory
then reaches for the missing GPU); tests/gpu checks the real thing on a GPU."""
import pytest

import edunn
from edunn import backend
from opcheck import needs_torch, torch

pytestmark = pytest.mark.lesson01

FACTORIES = {
    "zeros": lambda: edunn.zeros(2), "ones": lambda: edunn.ones(2), "empty": lambda: edunn.empty(2),
    "full": lambda: edunn.full((2,), 1.0), "arange": lambda: edunn.arange(3),
    "linspace": lambda: edunn.linspace(0, 1, 3), "logspace": lambda: edunn.logspace(0, 1, 3),
    "eye": lambda: edunn.eye(2), "rand": lambda: edunn.rand(2), "randn": lambda: edunn.randn(2),
    "randint": lambda: edunn.randint(0, 3, (2,)), "randperm": lambda: edunn.randperm(3),
    "normal": lambda: edunn.normal(0.0, 1.0, (2,)), "tensor": lambda: edunn.tensor([1.0]),
    "tensor_of_tensor": lambda: edunn.tensor(edunn.ones(2, device="cpu")),
    "as_tensor": lambda: edunn.as_tensor([1, 2]), "hann_window": lambda: edunn.hann_window(4),
}


@needs_torch
def test_the_default_is_the_cpu_and_the_cpu_can_be_set_like_torch():
    assert repr(edunn.get_default_device()) == repr(torch.get_default_device()).replace("torch.", "")
    edunn.set_default_device("cpu")
    try:
        assert edunn.get_default_device().type == "cpu"
        assert all(make().device.type == "cpu" for make in FACTORIES.values())
    finally:
        edunn.set_default_device(None)


@pytest.mark.skipif(edunn.cuda.is_available(), reason="a GPU is present: tests/gpu checks the real default")
def test_a_cuda_default_without_a_gpu_is_a_clear_error():
    with pytest.raises(RuntimeError, match="CUDA is not available"):
        edunn.set_default_device("cuda")
    assert edunn.get_default_device().type == "cpu"


@pytest.mark.skipif(edunn.cuda.is_available(), reason="a GPU is present: tests/gpu checks the real default")
@pytest.mark.parametrize("name", FACTORIES)
def test_every_factory_consults_the_default_device(name, monkeypatch):
    monkeypatch.setattr(backend, "_default_device", backend.device("cuda", 0))  # a GPU that is not there
    with pytest.raises(RuntimeError, match="CUDA is not available|cuda"):
        FACTORIES[name]()
    cpu = edunn.ones(2, device="cpu")
    assert edunn.zeros_like(cpu).device.type == "cpu"      # *_like follow their input
    assert edunn.from_numpy(cpu.numpy()).device.type == "cpu"
    assert edunn.zeros(2, device="cpu").device.type == "cpu"
