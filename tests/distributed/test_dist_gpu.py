"""CUDA tensors through edunn.distributed: the "nccl" backend (a world of one met through
``env://``, as one GPU allows) and the "mpi" backend moving CUDA tensors through the host under
``mpiexec -n 2``.  Skipped without a CUDA device."""
import socket

import pytest

import edunn

from _mpi_harness import assert_passed, check_names, have_mpi, launch, SKIP_REASON

pytestmark = [pytest.mark.lesson18, pytest.mark.gpu,
              pytest.mark.skipif(not edunn.cuda.is_available(), reason="no CUDA device")]

SCRIPT = "gpu.py"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def nccl_run():
    import edunn.distributed as dist
    if not dist.is_nccl_available():
        pytest.skip("CuPy has no NCCL here")
    env = {"MASTER_ADDR": "127.0.0.1", "MASTER_PORT": str(_free_port()), "RANK": "0", "WORLD_SIZE": "1"}
    return launch(SCRIPT, mpi=False, args=("nccl",), extra_env=env, timeout=120)


@pytest.fixture(scope="module")
def mpi_run():
    return launch(SCRIPT, n=2, args=("mpi",), timeout=120)


@pytest.mark.parametrize("check", check_names(SCRIPT))
def test_nccl_world_of_one(nccl_run, check):
    assert_passed(nccl_run, check, range(1))


@pytest.mark.skipif(not have_mpi(), reason=SKIP_REASON)
@pytest.mark.parametrize("check", check_names(SCRIPT))
def test_mpi_with_cuda_tensors(mpi_run, check):
    assert_passed(mpi_run, check, range(2))
