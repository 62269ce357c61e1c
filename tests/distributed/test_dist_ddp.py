"""DistributedDataParallel and DistributedSampler under ``mpiexec -n 2``: gradients and SGD
trajectories equal those of one process (edunn and PyTorch) on the combined batch."""
import pytest

from _mpi_harness import have_mpi, script_tests, SKIP_REASON

pytestmark = [pytest.mark.lesson18, pytest.mark.skipif(not have_mpi(), reason=SKIP_REASON)]

pytest.importorskip("torch")   # the scripts compare with PyTorch

SCRIPT = "ddp.py"
launched, test_ddp, test_exit_code = script_tests(SCRIPT)
