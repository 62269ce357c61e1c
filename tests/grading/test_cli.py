"""The grading command on tiny notebooks: a good one, a broken file, a hang, a dying kernel.

Each notebook declares its toy exercises in its first cell, so no lesson graders are needed.
Three kernels are started in all; each notebook takes a few seconds.
"""

import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from edunn.grading import grade_notebooks
from edunn.grading.cli import main, print_report

ROOT = Path(__file__).resolve().parents[2]

TOY_EXERCISES = '''\
from edunn.grading import exercise, check

def reference_add(a, b):
    return a + b

@exercise("99.add", points=2, reference=reference_add, title="add two numbers")
def grade_add(student, t):
    for _ in range(2):
        a, b = t.rng.randint(-9, 9), t.rng.randint(1, 9)
        t.close(student(a, b), a + b, f"add({a}, {b})")

@exercise("99.mul", points=1, title="multiply")
def grade_mul(student, t):
    t.close(student(2, 3), 6, "mul(2, 3)")
'''

WRONG_ADD = '''\
def add(a, b):
    print("debugging", a, b)
    return a - b

add = check("99.add", add)
print("the lesson goes on with", add.__name__)
'''

CHECK_MUL = 'mul = check("99.mul", lambda a, b: a * b)'


def write_notebook(path: Path, *sources: str) -> Path:
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in sources])
    nb.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(nb, str(path))
    return path


def test_command_grades_good_broken_and_hanging_notebooks(tmp_path):
    good = write_notebook(tmp_path / "99_good.ipynb", TOY_EXERCISES, WRONG_ADD, "1 / 0", CHECK_MUL)
    broken = tmp_path / "99_broken.ipynb"
    broken.write_text('{"cells": [', encoding="utf-8")
    hanging = write_notebook(tmp_path / "99_hangs.ipynb", TOY_EXERCISES, "while True:\n    pass", CHECK_MUL)
    out_json = tmp_path / "grades.json"

    run = subprocess.run(
        [sys.executable, "-m", "edunn.grading", str(good), str(broken), str(hanging),
         "--timeout", "2", "--json", str(out_json)],
        capture_output=True, text=True, timeout=180, cwd=ROOT,
    )
    assert run.returncode == 1, run.stderr  # 1: one notebook could not be read at all
    table = run.stdout.splitlines()
    assert table[0].split() == ["notebook", "exercise", "points", "status"]
    assert table[1].split() == [str(good), "99.add", "0/2", "no", "marks"]
    assert table[2].split() == ["99.mul", "1/1", "full", "marks"]
    assert table[3].split() == ["total", "1/3"]
    assert table[4].split() == [str(broken), "total", "0/0", "not", "graded"]
    assert table[5].split() == [str(hanging), "99.mul", "1/1", "full", "marks"]
    assert table[6].split() == ["total", "1/1"]
    assert f"{good}: cell 3: ZeroDivisionError: division by zero" in run.stdout
    assert f"{broken}: could not read the notebook" in run.stdout
    assert f"{hanging}: cell 2: took longer than 2 s and was interrupted" in run.stdout

    report = json.loads(out_json.read_text())["notebooks"]
    assert list(report) == [str(good), str(broken), str(hanging)]
    add = report[str(good)]["exercises"]["99.add"]
    assert (add["points"], add["max_points"]) == (0, 2)
    assert add["feedback"] and all("got" in m and "expected" in m for m in add["feedback"])
    assert report[str(good)]["total"] == 1 and report[str(good)]["max_total"] == 3
    assert report[str(broken)] == {
        "exercises": {}, "total": 0, "max_total": 0,
        "errors": [report[str(broken)]["errors"][0]],
    }
    assert report[str(hanging)]["exercises"]["99.mul"]["points"] == 1


def test_not_run_exercises_and_a_dying_kernel(tmp_path, register):
    # The grading process knows lesson 98 has "98.never"; the notebook never checks it.
    register("98.never", lambda student, t: None, points=4, title="never checked")
    notebook = write_notebook(
        tmp_path / "98_dies.ipynb",
        TOY_EXERCISES,
        "add = check('99.add', lambda a, b: a + b)",
        "import os\nos._exit(3)",
        CHECK_MUL,
    )
    report = grade_notebooks([notebook], timeout=30)["notebooks"][str(notebook)]
    assert report["exercises"]["98.never"] == {
        "title": "never checked", "points": 0, "max_points": 4, "status": "not run", "feedback": ["not run"],
    }
    assert report["exercises"]["99.add"]["points"] == 2
    assert "99.mul" not in report["exercises"]  # declared in the notebook, never reached
    assert (report["total"], report["max_total"]) == (2, 6)
    assert len(report["errors"]) == 1 and report["errors"][0].startswith("the kernel died while running cell 3")


def test_print_report_table(capsys):
    print_report({"notebooks": {
        "ana/05_linear.ipynb": {
            "exercises": {"05.linear": {"points": 3, "max_points": 3, "status": "full marks", "feedback": []},
                          "05.relu": {"points": 0.5, "max_points": 2, "status": "partial", "feedback": ["x"]}},
            "total": 3.5, "max_total": 5, "errors": [],
        },
        "bo/05_linear.ipynb": {"exercises": {}, "total": 0, "max_total": 0, "errors": ["could not read"]},
    }})
    assert capsys.readouterr().out.splitlines() == [
        "notebook             exercise   points  status",
        "ana/05_linear.ipynb  05.linear  3/3     full marks",
        "                     05.relu    0.5/2   partial",
        "                     total      3.5/5",
        "bo/05_linear.ipynb   total      0/0     not graded",
        "",
        "problems:",
        "  bo/05_linear.ipynb: could not read",
    ]


def test_command_line_mistakes(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main([])
    assert main(["--timeout", "0", "x.ipynb"]) == 2
    assert main([str(tmp_path)]) == 2  # a folder without notebooks
    assert "no notebooks found" in capsys.readouterr().err


def test_missing_file_is_reported_not_raised(tmp_path):
    report = grade_notebooks([tmp_path / "07_missing.ipynb"])["notebooks"]
    entry = report[str(tmp_path / "07_missing.ipynb")]
    assert "could not read the notebook: there is no such file" in entry["errors"]
