"""edunn.distributed's collectives under ``mpiexec -n 2`` (one launch runs every check; each check
is one test here), compared with NumPy arithmetic on the inputs each rank holds."""
import pytest

from _mpi_harness import have_mpi, script_tests, SKIP_REASON

pytestmark = [pytest.mark.lesson18, pytest.mark.skipif(not have_mpi(), reason=SKIP_REASON)]

SCRIPT = "collectives.py"
launched, test_collective, test_exit_code = script_tests(SCRIPT)
