"""SyncBatchNorm under ``mpiexec -n 2`` equals BatchNorm (edunn and PyTorch) on the combined batch:
outputs, input and parameter gradients, running statistics; also under DDP."""
import pytest

from _mpi_harness import have_mpi, script_tests, SKIP_REASON

pytestmark = [pytest.mark.lesson18, pytest.mark.skipif(not have_mpi(), reason=SKIP_REASON)]

pytest.importorskip("torch")   # the scripts compare with PyTorch

SCRIPT = "syncbn.py"
launched, test_syncbn, test_exit_code = script_tests(SCRIPT)
