"""edunn.distributed's collectives under ``mpiexec -n 2`` (one launch runs every check; each check
is one test here), compared with NumPy arithmetic on the inputs each rank holds."""
import pytest

from _mpi_harness import assert_passed, check_names, have_mpi, launch, SKIP_REASON

pytestmark = [pytest.mark.lesson18, pytest.mark.skipif(not have_mpi(), reason=SKIP_REASON)]

SCRIPT = "collectives.py"


@pytest.fixture(scope="module")
def launched():
    return launch(SCRIPT, n=2, timeout=60)


@pytest.mark.parametrize("check", check_names(SCRIPT))
def test_collective(launched, check):
    assert_passed(launched, check, range(2))


def test_exit_code(launched):
    proc, _ = launched
    assert proc.returncode == 0, proc.stderr[-3000:]
