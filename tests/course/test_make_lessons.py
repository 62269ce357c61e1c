"""Making the student copy of a solution notebook (edunn/grading/notebooks.py, tools/make_lessons.py)."""

import importlib.util
import json
from pathlib import Path

import nbformat
import pytest

from edunn.grading.notebooks import (
    make_student_notebook,
    read_notebook,
    solution_lines,
    strip_solutions,
    sync_lessons,
    write_notebook,
)

ROOT = Path(__file__).resolve().parents[2]
STUB = '# YOUR CODE HERE\nraise NotImplementedError("your turn: replace this line with your code")'


def test_region_at_top_level():
    source = "x = 1\n### BEGIN SOLUTION\ny = x + 1\n### END SOLUTION\nprint(y)"
    assert strip_solutions(source) == f"x = 1\n{STUB}\nprint(y)"


def test_indented_region_keeps_the_indentation():
    source = (
        "def sum_to(x, shape):\n"
        '    """Sum x down to shape."""\n'
        "    ### BEGIN SOLUTION\n"
        "    lead = x.ndim - len(shape)\n"
        "    return x.sum(tuple(range(lead)))\n"
        "    ### END SOLUTION\n"
    )
    assert strip_solutions(source) == (
        "def sum_to(x, shape):\n"
        '    """Sum x down to shape."""\n'
        "    # YOUR CODE HERE\n"
        '    raise NotImplementedError("your turn: replace this line with your code")\n'
    )


def test_several_regions_at_different_depths():
    source = (
        "class Linear:\n"
        "    def __init__(self, n):\n"
        "        ### BEGIN SOLUTION\n"
        "        self.n = n\n"
        "        ### END SOLUTION\n"
        "\n"
        "    def forward(self, x):\n"
        "        if x is None:\n"
        "            ### BEGIN SOLUTION\n"
        "            return 0\n"
        "            ### END SOLUTION\n"
        "        return x\n"
        "### BEGIN SOLUTION\n"
        "secret = 42\n"
        "### END SOLUTION"
    )
    out = strip_solutions(source)
    assert "self.n = n" not in out and "return 0" not in out and "secret" not in out
    assert out.splitlines() == [
        "class Linear:",
        "    def __init__(self, n):",
        "        # YOUR CODE HERE",
        '        raise NotImplementedError("your turn: replace this line with your code")',
        "",
        "    def forward(self, x):",
        "        if x is None:",
        "            # YOUR CODE HERE",
        '            raise NotImplementedError("your turn: replace this line with your code")',
        "        return x",
        "# YOUR CODE HERE",
        'raise NotImplementedError("your turn: replace this line with your code")',
    ]
    compile(out, "<student>", "exec")  # the student copy is valid Python


def test_source_without_regions_is_unchanged():
    for source in ["", "x = 1", "x = 1\n", "# ### BEGIN SOLUTION is only a marker alone on its line"]:
        assert strip_solutions(source) == source


def test_markdown_region_becomes_your_answer_here():
    source = "Why does the loss go down?\n\n### BEGIN SOLUTION\nBecause of the gradient.\n### END SOLUTION\n"
    assert strip_solutions(source, markdown=True) == "Why does the loss go down?\n\nYOUR ANSWER HERE\n"


@pytest.mark.parametrize(
    "source, problem",
    [
        ("### BEGIN SOLUTION\nx = 1", "line 1: '### BEGIN SOLUTION' is never closed"),
        ("x = 1\n### END SOLUTION", "line 2: '### END SOLUTION' without"),
        ("### BEGIN SOLUTION\n### BEGIN SOLUTION\n### END SOLUTION", "line 2: '### BEGIN SOLUTION' inside"),
    ],
)
def test_malformed_regions_are_reported_with_the_line(source, problem):
    with pytest.raises(ValueError, match=problem):
        strip_solutions(source)


def test_solution_lines():
    source = "a = 1\n    ### BEGIN SOLUTION\n    b = 2\n    c = 3\n    ### END SOLUTION\nd = 4"
    assert solution_lines(source) == ["    b = 2", "    c = 3"]


def solution_notebook():
    nb = nbformat.v4.new_notebook()
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    code = nbformat.v4.new_code_cell(
        "def double(x):\n    ### BEGIN SOLUTION\n    return 2 * x\n    ### END SOLUTION",
        execution_count=3,
        outputs=[nbformat.v4.new_output("stream", name="stdout", text="6\n")],
        metadata={"nbgrader": {"solution": True, "grade_id": "double"}, "tags": ["exercise"],
                  "execution": {"iopub.execute_input": "2026-01-01T00:00:00Z"}},
    )
    code.id = "double-cell"
    answer = nbformat.v4.new_markdown_cell("Explain:\n### BEGIN SOLUTION\nIt doubles.\n### END SOLUTION")
    answer.id = "answer-cell"
    shown = nbformat.v4.new_code_cell(
        "double(3)",
        execution_count=4,
        outputs=[nbformat.v4.new_output("execute_result", data={"text/plain": "6"}, execution_count=4)],
        metadata={"nbval-ignore-output": False},
    )
    shown.id = "shown-cell"
    nb.cells = [code, answer, shown]
    return nb


def test_student_notebook_strips_outputs_and_keeps_metadata():
    nb = solution_notebook()
    original = json.dumps(nb, sort_keys=True)
    student = make_student_notebook(nb)
    assert json.dumps(nb, sort_keys=True) == original  # the solution is not modified
    code, answer, shown = student.cells
    assert code.source == 'def double(x):\n    # YOUR CODE HERE\n    raise NotImplementedError("your turn: replace this line with your code")'
    assert answer.source == "Explain:\nYOUR ANSWER HERE"
    for cell in (code, shown):
        assert cell.outputs == [] and cell.execution_count is None
    assert code.metadata == {"nbgrader": {"solution": True, "grade_id": "double"}, "tags": ["exercise"]}
    assert shown.metadata == {"nbval-ignore-output": False}
    assert [c.id for c in student.cells] == ["double-cell", "answer-cell", "shown-cell"]
    assert student.metadata["kernelspec"]["name"] == "python3"
    nbformat.validate(student)


def test_malformed_region_names_the_cell():
    nb = solution_notebook()
    nb.cells[2].source = "### BEGIN SOLUTION\nx = 1"
    with pytest.raises(ValueError, match="cell 2 \\(code\\): line 1"):
        make_student_notebook(nb)


def test_written_notebook_is_deterministic_and_byte_identical(tmp_path):
    first, second = tmp_path / "a.ipynb", tmp_path / "b.ipynb"
    write_notebook(make_student_notebook(solution_notebook()), first)
    write_notebook(make_student_notebook(read_notebook(first)), second)
    data = first.read_bytes()
    assert data == second.read_bytes()
    assert data.endswith(b"}\n") and not data.endswith(b"\n\n")
    assert data.startswith(b'{\n "cells": [\n  {\n')  # indent=1, keys sorted
    assert sorted(tmp_path.iterdir()) == [first, second]  # no temporary file left behind


def load_tool():
    spec = importlib.util.spec_from_file_location("make_lessons", ROOT / "tools" / "make_lessons.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_make_lessons_cli_writes_then_checks(tmp_path, capsys):
    tool = load_tool()
    solutions, lessons = tmp_path / "solutions", tmp_path / "lessons"
    solutions.mkdir()
    write_notebook(solution_notebook(), solutions / "99_toy.ipynb")
    dirs = ["--solutions-dir", str(solutions), "--lessons-dir", str(lessons)]

    assert tool.main(dirs + ["--check"]) == 1
    assert "99_toy.ipynb: out of date" in capsys.readouterr().err
    assert not lessons.exists()

    assert tool.main(dirs) == 0
    lesson = lessons / "99_toy.ipynb"
    written = lesson.read_bytes()
    assert b"return 2 * x" not in written and b"YOUR CODE HERE" in written
    assert tool.main(dirs) == 0 and lesson.read_bytes() == written  # regenerating changes nothing
    assert tool.main(dirs + ["--check"]) == 0

    lesson.write_bytes(written.replace(b"YOUR CODE HERE", b"edited by hand"))
    assert tool.main(dirs + ["--check"]) == 1
    assert "99_toy.ipynb: out of date" in capsys.readouterr().err

    (lessons / "98_orphan.ipynb").write_bytes(written)
    assert sync_lessons(solutions, lessons, check=True)[1] == [lessons / "98_orphan.ipynb"]

    (solutions / "97_bad.ipynb").write_text("{not json")
    assert tool.main(dirs) == 2
    assert "97_bad.ipynb" in capsys.readouterr().err
