"""The GPU suite: every check here runs the same computation on the CPU and on ``cuda`` and
compares the two (and, where the CPU suite does, with PyTorch).

Every test is marked ``gpu`` and is skipped where no CUDA device is present.  To check the
suite's own logic on a machine without a GPU, ``EDUNN_GPU_SUITE_ON_CPU=1`` runs it with the CPU
standing in for ``cuda`` (then it only proves that the harness compares what it should)."""
import os

import pytest

import edunn

ON_CPU = os.environ.get("EDUNN_GPU_SUITE_ON_CPU") == "1"
# The device the suite targets: "cuda" (the current one), or, to check that everything runs on
# its inputs' device while another one is current, "cuda:1" (with two GPUs, or the CuPy
# stand-in's EDUNN_FAKE_CUDA=2).
TARGET = os.environ.get("EDUNN_GPU_SUITE_DEVICE", "cuda")


def pytest_collection_modifyitems(config, items):
    for item in items:
        if "tests/gpu/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.gpu)


@pytest.fixture
def gpu():
    """The device the suite targets: ``"cuda"`` (or EDUNN_GPU_SUITE_DEVICE), or ``"cpu"`` under
    EDUNN_GPU_SUITE_ON_CPU=1."""
    if ON_CPU:
        return "cpu"
    if not edunn.cuda.is_available():
        pytest.skip("no CUDA device (CuPy with an NVIDIA GPU) on this machine")
    if edunn.device(TARGET).index is not None and edunn.device(TARGET).index >= edunn.cuda.device_count():
        pytest.skip(f"EDUNN_GPU_SUITE_DEVICE={TARGET}: there are {edunn.cuda.device_count()} CUDA devices")
    return TARGET
