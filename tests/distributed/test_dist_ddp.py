"""DistributedDataParallel and DistributedSampler under ``mpiexec -n 2``: gradients and SGD
trajectories equal those of one process (edunn and PyTorch) on the combined batch."""
import pytest

from _mpi_harness import assert_passed, check_names, have_mpi, launch, SKIP_REASON

pytestmark = [pytest.mark.lesson18, pytest.mark.skipif(not have_mpi(), reason=SKIP_REASON)]

pytest.importorskip("torch")   # the scripts compare with PyTorch

SCRIPT = "ddp.py"


@pytest.fixture(scope="module")
def launched():
    return launch(SCRIPT, n=2, timeout=60)


@pytest.mark.parametrize("check", check_names(SCRIPT))
def test_ddp(launched, check):
    assert_passed(launched, check, range(2))


def test_exit_code(launched):
    proc, _ = launched
    assert proc.returncode == 0, proc.stderr[-3000:]
