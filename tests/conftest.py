"""Shared test configuration: devices to run on, the ``gpu`` marker, optional torch."""
import os

import pytest

if os.environ.get("EDUNN_FAKE_CUDA"):  # the gpu suite on the CPU, on a stand-in for CuPy
    import fake_cupy
    fake_cupy.install(int(os.environ["EDUNN_FAKE_CUDA"]))

import edunn  # noqa: E402

if os.environ.get("EDUNN_FAKE_CUDA_SECOND") == "1":
    # "cuda" means cuda:1 while cuda:0 stays current: every op must run on its inputs' device
    _as_device = edunn.backend.as_device

    def _second(dev):
        dev = _as_device(dev)
        return edunn.backend.device("cuda", 1) if dev.type == "cuda" and dev.index == 0 else dev
    edunn.backend.as_device = _second


def _cuda() -> bool:
    return edunn.backend.cuda_available()


def pytest_collection_modifyitems(config, items):
    if _cuda():
        return
    if os.environ.get("EDUNN_GPU_SUITE_ON_CPU") == "1":  # tests/gpu checking itself on the CPU
        items = [i for i in items if "tests/gpu/" not in str(i.fspath).replace(os.sep, "/")]
    skip = pytest.mark.skip(reason="no CUDA device (CuPy with an NVIDIA GPU) on this machine")
    for item in items:
        if "gpu" in item.keywords:
            item.add_marker(skip)


DEVICES = ["cpu", pytest.param("cuda", marks=pytest.mark.gpu)]


@pytest.fixture(params=DEVICES)
def device(request):
    """Every test taking ``device`` runs on the CPU and, marked ``gpu``, on CUDA."""
    return request.param


@pytest.fixture
def second_gpu():
    """``"cuda:1"`` while ``cuda:0`` stays current (checks that ops run on their inputs' device);
    skips without two CUDA devices (the CuPy stand-in's EDUNN_FAKE_CUDA=2 gives two)."""
    if not edunn.cuda.is_available() or edunn.cuda.device_count() < 2:
        pytest.skip("needs two CUDA devices")
    assert edunn.cuda.current_device() == 0
    yield "cuda:1"
    assert edunn.cuda.current_device() == 0, "the current device must not change"


@pytest.fixture(autouse=True)
def _seed_and_grad_mode():
    edunn.manual_seed(0)
    yield
    edunn.autograd.grad_mode.state.enabled = True
