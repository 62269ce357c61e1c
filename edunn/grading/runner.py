"""``grade_notebooks``: run learners' notebooks and collect the points their checks recorded.

Each notebook is executed from top to bottom with nbclient in a fresh ``python3`` kernel whose
working directory is the notebook's folder. The kernel's environment names a fresh, empty
results file in ``EDUNN_GRADING_RESULTS``; every ``check(...)`` in the notebook appends its
result to it (see ``check.py``), and after the run the file is read back. So grading a notebook
is the same as the learner pressing "Run all": the numbers are the ones they saw.

Nothing a notebook does can stop the grading of the others:

* a cell that raises is recorded in the notebook's ``errors`` and the run goes on
  (``allow_errors``), as in Jupyter;
* a cell that runs longer than ``timeout`` seconds is interrupted (like the stop button) and
  the run goes on; if the kernel does not answer afterwards, the remaining cells are skipped;
* a kernel that dies (out of memory, a crash) ends that notebook's run; what was recorded
  until then counts;
* a file that is not a readable notebook gets zero points and a message.

The exercises a notebook should contain are those of its lesson, the number its file name
starts with (``05_linear.ipynb`` is lesson 5); those that never reported are listed with
0 points and "not run", so deleting a ``check`` cell does not hide an exercise.
"""

from __future__ import annotations

import os
import re
import subprocess
import tempfile
import time
from pathlib import Path
from typing import Any, Iterable

from edunn.grading.feedback import NOT_RUN, read_records, RESULTS_ENV
from edunn.grading.check import TIMEOUT_ENV
from edunn.grading.checker import EDUNN_DIR
from edunn.grading.registry import exercises_for_lesson

DEFAULT_CELL_TIMEOUT = 120
# How long an interrupted kernel gets to answer again before the notebook is given up.
PROBE_TIMEOUT = 10
_TIMEOUT_ENAME = "CellTimeout"
_LESSON = re.compile(r"^(\d+)_")


def lesson_of_notebook(path: str | os.PathLike) -> int | None:
    """The lesson number a notebook's file name starts with (``05_linear.ipynb`` -> 5)."""
    match = _LESSON.match(Path(path).name)
    return int(match[1]) if match else None


def expand_paths(paths: Iterable[str | os.PathLike]) -> list[str]:
    """Notebook paths, with each folder replaced by the notebooks directly inside it."""
    out: list[str] = []
    for path in paths:
        if Path(path).is_dir():
            out.extend(str(p) for p in sorted(Path(path).glob("*.ipynb")))
        else:
            out.append(os.fspath(path))
    return out


def grade_notebooks(
    paths: Iterable[str | os.PathLike],
    *,
    timeout: float = DEFAULT_CELL_TIMEOUT,
    exercise_timeout: float | None = None,
    kernel_name: str = "python3",
    progress: Any = None,
) -> dict:
    """Grade every notebook of ``paths`` (files, or folders of ``*.ipynb``).

    ``timeout`` is the limit per cell, ``exercise_timeout`` (if given) the limit per exercise
    that ``check`` uses inside the notebook. ``progress``, if given, is called with each path
    before it is run. Returns::

        {"notebooks": {path: {"exercises": {id: {"points", "max_points", "feedback", ...}},
                              "total", "max_total", "errors": [...]}}}
    """
    report: dict[str, Any] = {"notebooks": {}}
    for path in expand_paths(paths):
        if progress is not None:
            progress(path)
        report["notebooks"][path] = grade_notebook(
            path, timeout=timeout, exercise_timeout=exercise_timeout, kernel_name=kernel_name
        )
    return report


def grade_notebook(
    path: str | os.PathLike,
    *,
    timeout: float = DEFAULT_CELL_TIMEOUT,
    exercise_timeout: float | None = None,
    kernel_name: str = "python3",
) -> dict:
    """Run one notebook and return its entry of the report (see ``grade_notebooks``)."""
    errors: list[str] = []
    expected = []
    lesson = lesson_of_notebook(path)
    if lesson is not None:
        try:
            expected = exercises_for_lesson(lesson)
        except Exception as error:
            errors.append(f"could not load the graders of lesson {lesson:02d}: {error}")

    records: list[dict] = []
    nb = _read(path, errors)
    if nb is not None:
        fd, results = tempfile.mkstemp(prefix="edunn-grading-", suffix=".jsonl")
        os.close(fd)
        try:
            env = _kernel_env(results, exercise_timeout)
            _execute(nb, Path(path).resolve().parent, env, timeout, kernel_name, errors)
            records = read_records(results)
        finally:
            os.unlink(results)

    exercises: dict[str, dict] = {}
    for ex in expected:
        exercises[ex.id] = {
            "title": ex.title,
            "points": 0,
            "max_points": ex.points,
            "status": NOT_RUN,
            "feedback": [NOT_RUN],
        }
    for item in records:  # a later check of the same exercise replaces an earlier one
        exercises[item["exercise"]] = {
            "title": item.get("title", ""),
            "points": _number(item.get("points")),
            "max_points": _number(item.get("max_points")),
            "status": item.get("status", ""),
            "feedback": [str(m) for m in item.get("feedback", [])],
        }
    exercises = dict(sorted(exercises.items()))
    return {
        "exercises": exercises,
        "total": round(sum(e["points"] for e in exercises.values()), 2),
        "max_total": round(sum(e["max_points"] for e in exercises.values()), 2),
        "errors": errors,
    }


def _number(value: Any) -> float:
    try:
        return float(value)
    except (TypeError, ValueError):
        return 0.0


def _read(path: str | os.PathLike, errors: list[str]) -> Any:
    import nbformat

    try:
        nb = nbformat.read(os.fspath(path), as_version=4)
    except FileNotFoundError:
        errors.append("could not read the notebook: there is no such file")
        return None
    except Exception as error:
        message = " ".join(str(error).split())[:200]
        errors.append(f"could not read the notebook: {type(error).__name__}: {message}")
        return None
    if not isinstance(nb.get("cells"), list):
        errors.append("could not read the notebook: it has no cells")
        return None
    return nb


def _kernel_env(results: str, exercise_timeout: float | None) -> dict[str, str]:
    env = dict(os.environ)
    env[RESULTS_ENV] = results
    # The kernel imports the same edunn as this process, wherever the notebook is.
    root = str(EDUNN_DIR.parent)
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    if exercise_timeout is not None:
        env[TIMEOUT_ENV] = str(exercise_timeout)
    return env


def _execute(nb: Any, folder: Path, env: dict, timeout: float, kernel_name: str, errors: list[str]) -> None:
    """Run the code cells of ``nb`` one by one, turning every failure into a message."""
    import nbformat
    from nbclient import NotebookClient
    from nbclient.exceptions import DeadKernelError

    replies: dict[str, Any] = {}

    def on_cell_executed(cell: Any, cell_index: int, execute_reply: Any) -> None:
        replies["last"] = execute_reply

    client = NotebookClient(
        nb,
        timeout=int(max(1, round(timeout))),
        kernel_name=kernel_name,
        allow_errors=True,
        interrupt_on_timeout=True,
        error_on_timeout={"ename": _TIMEOUT_ENAME, "evalue": "", "traceback": []},
        record_timing=False,
        shutdown_kernel="immediate",
        resources={"metadata": {"path": str(folder)}},
        on_cell_executed=on_cell_executed,
    )
    index = -1
    # The kernel's own stderr (its start-up chatter, a crash message) goes to a file that is
    # quoted only if the kernel dies.
    kernel_log = tempfile.TemporaryFile(mode="w+b")
    try:
        with client.setup_kernel(env=env, stdout=subprocess.DEVNULL, stderr=kernel_log):
            for index, cell in list(enumerate(nb.cells)):
                if cell.get("cell_type") != "code":
                    continue
                replies.clear()
                client.execute_cell(cell, index)
                content = (replies.get("last") or {}).get("content", {})
                if content.get("ename") == _TIMEOUT_ENAME:
                    errors.append(f"cell {index + 1}: took longer than {timeout:g} s and was interrupted")
                    if not _answers(client, nbformat):
                        errors.append("the kernel stopped answering; the remaining cells were not run")
                        break
                    continue
                for output in cell.get("outputs", []):
                    if output.get("output_type") == "error":
                        value = " ".join(str(output.get("evalue", "")).split())[:200]
                        errors.append(f"cell {index + 1}: {output.get('ename')}: {value}".rstrip(": "))
    except DeadKernelError:
        where = f" while running cell {index + 1}" if index >= 0 else ""
        errors.append(f"the kernel died{where} (out of memory, or the code crashed Python){_tail(kernel_log)}")
    except Exception as error:
        message = " ".join(str(error).split())[:300]
        errors.append(f"could not run the notebook: {type(error).__name__}: {message}")
    finally:
        kernel_log.close()


def _tail(log: Any) -> str:
    """The last meaningful line the kernel wrote to stderr, as ``": line"``, or ``""``."""
    try:
        log.seek(0)
        lines = log.read().decode("utf-8", "replace").splitlines()
    except (OSError, ValueError):
        return ""
    lines = [line.strip() for line in lines if line.strip() and "[IPKernelApp]" not in line]
    return f": {lines[-1][:200]}" if lines else ""


def _answers(client: Any, nbformat: Any) -> bool:
    """Whether the kernel runs a trivial cell again after an interrupt."""
    probe = nbformat.v4.new_code_cell("pass")
    cells = client.nb.cells
    cells.append(probe)  # nbclient stores each executed cell back at its index
    saved = client.timeout
    client.timeout = PROBE_TIMEOUT
    started = time.monotonic()
    try:
        client.execute_cell(probe, len(cells) - 1, store_history=False)
    finally:
        client.timeout = saved
        cells.pop()
    return time.monotonic() - started < PROBE_TIMEOUT
