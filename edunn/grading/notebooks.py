"""Turn a solution notebook into a student notebook.

Every lesson is written once, as ``solutions/NN_topic.ipynb``: complete, executed, with its
outputs stored. The student copy ``lessons/NN_topic.ipynb`` is *generated* from it, never
edited by hand, by ``tools/make_lessons.py``, which is a thin command line over this module.

The solution marks what the learner has to write with nbgrader's markers, so a course that
uses nbgrader can use the very same files::

    def sum_to(x, shape):
        ### BEGIN SOLUTION
        ...the answer...
        ### END SOLUTION

Generating the student copy

* replaces every region between a line ``### BEGIN SOLUTION`` and a line ``### END SOLUTION``
  (markers included) in a **code** cell by a stub at the marker's indentation::

        # YOUR CODE HERE
        raise NotImplementedError("your turn: replace this line with your code")

  which is the shape nbgrader writes, so ``check(...)`` can tell "not done yet" from a bug;
* replaces such a region in a **markdown** cell by ``YOUR ANSWER HERE`` (nbgrader again);
* strips every output and execution count, and the ``execution`` timing entry that
  nbclient/JupyterLab put in a cell's metadata; all other cell metadata (nbgrader's, nbval's,
  tags) is kept;
* writes the notebook deterministically (nbformat's JSON: sorted keys, ``indent=1``, a final
  newline), so regenerating an unchanged solution gives a byte-identical lesson and a test can
  compare them.

A marker must be a whole line (any indentation, nothing else on it). A region left open, an
``END`` without a ``BEGIN`` or a nested ``BEGIN`` is an authoring mistake and raises
``ValueError`` naming the line.
"""

from __future__ import annotations

import copy
import os
import re
import tempfile
from pathlib import Path
from typing import Iterable

import nbformat

BEGIN_SOLUTION = "### BEGIN SOLUTION"
END_SOLUTION = "### END SOLUTION"
STUB_MESSAGE = "your turn: replace this line with your code"
CODE_STUB = ["# YOUR CODE HERE", f'raise NotImplementedError("{STUB_MESSAGE}")']
MARKDOWN_STUB = ["YOUR ANSWER HERE"]

_MARKER = re.compile(r"^(?P<indent>[ \t]*)### (?P<kind>BEGIN|END) SOLUTION[ \t]*$")

# Cell-metadata entries that describe one execution rather than the lesson.
_EXECUTION_METADATA = ("execution",)


def solution_regions(source: str) -> list[tuple[int, int, str]]:
    """Return ``(begin, end, indent)`` for every solution region of ``source``.

    ``begin`` and ``end`` are the 0-based indices of the marker lines. Raises ``ValueError``
    for a region left open, an ``END`` without a ``BEGIN`` or a nested ``BEGIN``.
    """
    regions = []
    open_at: int | None = None
    indent = ""
    for number, line in enumerate(source.splitlines()):
        match = _MARKER.match(line)
        if match is None:
            continue
        if match["kind"] == "BEGIN":
            if open_at is not None:
                raise ValueError(
                    f"line {number + 1}: '{BEGIN_SOLUTION}' inside the region opened at "
                    f"line {open_at + 1}; close it with '{END_SOLUTION}' first"
                )
            open_at, indent = number, match["indent"]
        else:
            if open_at is None:
                raise ValueError(f"line {number + 1}: '{END_SOLUTION}' without a '{BEGIN_SOLUTION}'")
            regions.append((open_at, number, indent))
            open_at = None
    if open_at is not None:
        raise ValueError(f"line {open_at + 1}: '{BEGIN_SOLUTION}' is never closed by '{END_SOLUTION}'")
    return regions


def strip_solutions(source: str, *, markdown: bool = False) -> str:
    """Replace each solution region of a cell's ``source`` by the stub.

    Code cells (the default) get ``# YOUR CODE HERE`` and ``raise NotImplementedError(...)``;
    with ``markdown=True`` the region becomes ``YOUR ANSWER HERE``. The stub is indented like
    the ``### BEGIN SOLUTION`` line it replaces. Text outside the regions is kept exactly,
    including whether the source ends with a newline.
    """
    regions = solution_regions(source)
    if not regions:
        return source
    lines = source.splitlines()
    stub = MARKDOWN_STUB if markdown else CODE_STUB
    out: list[str] = []
    position = 0
    for begin, end, indent in regions:
        out.extend(lines[position:begin])
        out.extend(indent + line for line in stub)
        position = end + 1
    out.extend(lines[position:])
    text = "\n".join(out)
    if source.endswith(("\n", "\r")):
        text += "\n"
    return text


def solution_lines(source: str) -> list[str]:
    """The lines strictly inside the solution regions of ``source`` (markers excluded)."""
    lines = source.splitlines()
    inside: list[str] = []
    for begin, end, _ in solution_regions(source):
        inside.extend(lines[begin + 1 : end])
    return inside


def make_student_notebook(nb: nbformat.NotebookNode) -> nbformat.NotebookNode:
    """Return the student copy of solution notebook ``nb`` (``nb`` itself is not changed).

    Solution regions become stubs, outputs and execution counts go, cell metadata stays
    (minus execution timings). A malformed region raises ``ValueError`` naming the cell.
    """
    student = copy.deepcopy(nb)
    for index, cell in enumerate(student.cells):
        try:
            if cell.cell_type == "code":
                cell.source = strip_solutions(cell.source)
                cell.outputs = []
                cell.execution_count = None
            elif cell.cell_type == "markdown":
                cell.source = strip_solutions(cell.source, markdown=True)
        except ValueError as error:
            raise ValueError(f"cell {index} ({cell.cell_type}): {error}") from None
        for key in _EXECUTION_METADATA:
            cell.get("metadata", {}).pop(key, None)
    return student


def notebook_text(nb: nbformat.NotebookNode) -> str:
    """The exact text ``write_notebook`` writes: nbformat v4 JSON with a final newline."""
    text = nbformat.writes(nb, version=nbformat.NO_CONVERT)
    return text if text.endswith("\n") else text + "\n"


def write_notebook(nb: nbformat.NotebookNode, path: str | os.PathLike) -> None:
    """Write ``nb`` to ``path`` deterministically and atomically.

    The text goes to a temporary file in the same folder that then replaces ``path``, so an
    interrupted run never leaves half a notebook behind.
    """
    _write_atomic(Path(path), notebook_text(nb))


def _write_atomic(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    data = text.encode("utf-8")
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_notebook(path: str | os.PathLike) -> nbformat.NotebookNode:
    """Read a notebook as nbformat v4 (``ValueError`` with the path if it cannot be parsed)."""
    try:
        return nbformat.read(os.fspath(path), as_version=4)
    except Exception as error:  # nbformat raises several kinds of errors for bad JSON
        raise ValueError(f"{path}: not a readable notebook ({type(error).__name__}: {error})") from None


def lesson_for(solution: str | os.PathLike, lessons_dir: str | os.PathLike) -> Path:
    """The lesson path generated from ``solution``: same file name, in ``lessons_dir``."""
    return Path(lessons_dir) / Path(solution).name


def student_text(solution: str | os.PathLike) -> str:
    """The text of the student copy generated from the solution notebook at ``solution``."""
    try:
        return notebook_text(make_student_notebook(read_notebook(solution)))
    except ValueError as error:
        message = str(error)
        if not message.startswith(str(solution)):
            message = f"{solution}: {message}"
        raise ValueError(message) from None


def sync_lessons(
    solutions_dir: str | os.PathLike,
    lessons_dir: str | os.PathLike,
    *,
    check: bool = False,
    only: Iterable[str | os.PathLike] | None = None,
) -> tuple[list[Path], list[Path]]:
    """Regenerate the lessons of ``solutions_dir/*.ipynb`` into ``lessons_dir``.

    Returns ``(out_of_date, orphans)``: the lessons that differed from (or were missing for)
    their solution, and lessons that have no solution at all. With ``check=True`` nothing is
    written; the caller reports. ``only`` restricts the work to some solution files.
    """
    solutions_dir, lessons_dir = Path(solutions_dir), Path(lessons_dir)
    if only is None:
        solutions = sorted(solutions_dir.glob("*.ipynb"))
    else:
        solutions = sorted(Path(p) for p in only)
    out_of_date = []
    for solution in solutions:
        lesson = lesson_for(solution, lessons_dir)
        text = student_text(solution)
        current = lesson.read_bytes() if lesson.exists() else None
        if current != text.encode("utf-8"):
            out_of_date.append(lesson)
            if not check:
                _write_atomic(lesson, text)
    names = {s.name for s in sorted(solutions_dir.glob("*.ipynb"))}
    orphans = [p for p in sorted(lessons_dir.glob("*.ipynb")) if p.name not in names] if only is None else []
    return out_of_date, orphans
