"""No line of a solution ends up in the student copy.

For every solution notebook, every non-trivial code line inside a ``### BEGIN SOLUTION`` /
``### END SOLUTION`` region must be absent from the corresponding lesson (from its code and its
markdown). A hit usually means the same line also appears outside the region in the solution,
in a demo cell, say, or in a hint. Lines too generic to give anything away (``return``,
``pass``, ``else:``, a closing bracket, a bare comment marker) are ignored.
"""

import re
from pathlib import Path

import nbformat
import pytest

from edunn.grading.notebooks import (
    BEGIN_SOLUTION,
    END_SOLUTION,
    lesson_for,
    make_student_notebook,
    read_notebook,
    solution_lines,
)

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))

TRIVIAL = {"", "return", "pass", "else:", "try:", "finally:", "except:", "break", "continue", "#",
           "raise", "yield", "return None", "return self", "return x", "return out", "return output",
           "return result", "return loss", "with edunn.no_grad():", "with no_grad():"}
_ONLY_PUNCTUATION = re.compile(r"^[\s()\[\]{},:;.]*$")


def is_trivial(line: str) -> bool:
    stripped = line.strip()
    return stripped in TRIVIAL or bool(_ONLY_PUNCTUATION.match(stripped))


def find_leaks(solution_nb, lesson_nb) -> list:
    """``"cell N: line"`` for each solution line that appears anywhere in the lesson."""
    in_lesson = set()
    for cell in lesson_nb.cells:
        in_lesson.update(line.strip() for line in cell.source.splitlines())
    leaks = []
    for index, cell in enumerate(solution_nb.cells):
        if cell.cell_type != "code":
            continue
        for line in solution_lines(cell.source):
            if not is_trivial(line) and line.strip() in in_lesson:
                leaks.append(f"cell {index}: {line.strip()}")
    return leaks


def test_trivial_lines():
    assert is_trivial("    return") and is_trivial("        )") and is_trivial("else:")
    assert not is_trivial("return x.sum(0)")


def test_a_leak_is_found():
    solution = nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_code_cell("def f(x):\n    ### BEGIN SOLUTION\n    y = x.sum(0)\n    return\n"
                                  "    ### END SOLUTION"),
        nbformat.v4.new_code_cell("print('demo')\ny = x.sum(0)"),
    ])
    lesson = make_student_notebook(solution)
    assert find_leaks(solution, lesson) == ["cell 0: y = x.sum(0)"]
    solution.cells.pop()
    assert find_leaks(solution, make_student_notebook(solution)) == []


@pytest.mark.skipif(not SOLUTIONS, reason="solutions/ has no notebooks yet")
@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_no_solution_line_in_the_lesson(solution):
    lesson = lesson_for(solution, ROOT / "lessons")
    if not lesson.exists():
        pytest.fail(f"{solution.name} has no lesson: run python tools/make_lessons.py")
    leaks = find_leaks(read_notebook(solution), read_notebook(lesson))
    assert not leaks, f"lessons/{lesson.name} gives away solution lines:\n" + "\n".join(leaks)


@pytest.mark.skipif(not LESSONS, reason="lessons/ has no notebooks yet")
@pytest.mark.parametrize("lesson", LESSONS, ids=[p.name for p in LESSONS])
def test_no_solution_marker_in_the_lesson(lesson):
    text = lesson.read_text(encoding="utf-8")
    assert BEGIN_SOLUTION not in text and END_SOLUTION not in text
