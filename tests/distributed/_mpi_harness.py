"""Launch a script of ``tests/distributed/scripts`` under ``mpiexec -n N`` and collect the
``RESULT`` lines its ranks print (one per check and rank)."""
import json
import os
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile

import pytest

SCRIPTS = pathlib.Path(__file__).resolve().parent / "scripts"
ROOT = pathlib.Path(__file__).resolve().parents[2]
SKIP_REASON = "mpi4py/mpiexec are missing: pip install edunn[distributed] (mpi4py and mpich)"


def mpiexec() -> str | None:
    here = os.path.join(os.path.dirname(sys.executable), "mpiexec")
    return here if os.path.exists(here) else shutil.which("mpiexec")


def have_mpi() -> bool:
    try:
        import mpi4py  # noqa: F401
    except ImportError:
        return False
    return mpiexec() is not None


def check_names(script: str) -> list:
    """The ``check_*`` functions of ``script``, in the order it runs them."""
    return re.findall(r"^def (check_\w+)", (SCRIPTS / script).read_text(), re.M)


def env() -> dict:
    e = dict(os.environ)
    e["PYTHONPATH"] = str(ROOT) + os.pathsep + e.get("PYTHONPATH", "")
    e.setdefault("OMP_NUM_THREADS", "1")
    # Open MPI's mpiexec refuses to start as root (containers, CI) unless told it may
    e.setdefault("OMPI_ALLOW_RUN_AS_ROOT", "1")
    e.setdefault("OMPI_ALLOW_RUN_AS_ROOT_CONFIRM", "1")
    return e


def launch(script: str, n: int = 2, timeout: float = 60, mpi: bool = True, args: tuple = (),
           extra_env: dict | None = None) -> tuple:
    """Run ``script`` on ``n`` processes (or as one plain process with ``mpi=False``); returns
    ``(completed process, {(rank, check): (status, message)})``."""
    if mpi and not have_mpi():
        pytest.skip(SKIP_REASON)
    cmd = [sys.executable, str(SCRIPTS / script), *args]
    if mpi:
        cmd = [mpiexec(), "-n", str(n)] + cmd
    with tempfile.TemporaryDirectory() as out:
        environ = env()
        environ["EDUNN_DIST_RESULTS"] = out
        environ.update(extra_env or {})
        try:
            proc = subprocess.run(cmd, cwd=ROOT, env=environ, capture_output=True, text=True,
                                  timeout=timeout)
        except subprocess.TimeoutExpired as e:
            pytest.fail(f"{' '.join(cmd)} did not finish in {timeout} s (a hang):\n{e.stdout}\n{e.stderr}")
        results = {}
        for path in pathlib.Path(out).glob("rank*.jsonl"):
            for line in path.read_text().splitlines():
                r = json.loads(line)
                results[(r["rank"], r["check"])] = (r["status"], r["msg"])
    return proc, results


def assert_passed(launched: tuple, check: str, ranks: range) -> None:
    proc, results = launched
    for rank in ranks:
        got = results.get((rank, check))
        assert got is not None, (f"rank {rank} reported nothing for {check} (exit code "
                                 f"{proc.returncode})\nstdout:\n{proc.stdout[-3000:]}\nstderr:\n{proc.stderr[-3000:]}")
        assert got[0] == "pass", f"rank {rank}: {check} failed:\n{got[1]}"


def script_tests(script: str, n: int = 2, timeout: float = 60) -> tuple:
    """The tests of one script under ``mpiexec -n n``: a module-scoped fixture launching it once,
    a test per check it defines (each rank must report it passed), and its exit code --
    ``launched, test_x, test_exit_code = script_tests("x.py")`` in a test module."""
    @pytest.fixture(scope="module")
    def launched():
        return launch(script, n=n, timeout=timeout)

    @pytest.mark.parametrize("check", check_names(script))
    def test_check(launched, check):
        assert_passed(launched, check, range(n))

    def test_exit_code(launched):
        proc, _ = launched
        assert proc.returncode == 0, proc.stderr[-3000:]
    return launched, test_check, test_exit_code
