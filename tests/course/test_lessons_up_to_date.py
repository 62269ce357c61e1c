"""The committed student notebooks are exactly what tools/make_lessons.py makes of the solutions.

If this fails, run ``python tools/make_lessons.py`` and commit the lessons it rewrote: a lesson
is never edited by hand (DESIGN.md, "The curriculum").
"""

from pathlib import Path

import pytest

from edunn.grading.notebooks import lesson_for, student_text

ROOT = Path(__file__).resolve().parents[2]
SOLUTIONS = sorted((ROOT / "solutions").glob("*.ipynb"))
LESSONS = sorted((ROOT / "lessons").glob("*.ipynb"))

pytestmark = pytest.mark.skipif(not SOLUTIONS, reason="solutions/ has no notebooks yet")


@pytest.mark.parametrize("solution", SOLUTIONS, ids=[p.name for p in SOLUTIONS])
def test_lesson_is_regenerated_byte_for_byte(solution):
    lesson = lesson_for(solution, ROOT / "lessons")
    assert lesson.exists(), f"{solution.name} has no lesson: run python tools/make_lessons.py"
    expected = student_text(solution).encode("utf-8")
    assert lesson.read_bytes() == expected, f"lessons/{lesson.name} is out of date: run python tools/make_lessons.py"


def test_every_lesson_has_a_solution():
    names = {p.name for p in SOLUTIONS}
    orphans = [p.name for p in LESSONS if p.name not in names]
    assert not orphans, f"lessons without a solution notebook: {orphans}"


def test_notebook_names_are_numbered():
    bad = [p.name for p in SOLUTIONS if not (p.name[:2].isdigit() and p.name[2] == "_")]
    assert not bad, f"solution notebooks must be named NN_topic.ipynb: {bad}"
