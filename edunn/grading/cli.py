"""The grading command: ``python -m edunn.grading NOTEBOOK... [--json out.json] [--timeout S]``.

Installed as the console script ``edunn-grade`` (entry point ``edunn.grading.cli:main``).
A teacher collects the learners' notebooks and runs, for example::

    edunn-grade submissions/*/05_linear.ipynb --json grades.json

Each notebook is run from top to bottom in a fresh kernel (see ``runner.py``), then a table
shows one row per notebook and exercise with the points, and a total per notebook::

    notebook                    exercise     points  status
    ana/05_linear.ipynb         05.linear    3/3     full marks
                                05.relu      1/2     partial
                                total        4/5
    ...

``--json`` writes the same, with every feedback message and every error, for a spreadsheet or
a script. The exit status is 0 when every notebook could be graded (whatever the points), 1
when some notebook could not be read or run at all, 2 for a bad command line.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path
from typing import Sequence, TextIO

from edunn.grading.feedback import format_points
from edunn.grading.runner import DEFAULT_CELL_TIMEOUT, expand_paths, grade_notebooks


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="edunn-grade",
        description="Run edunn lesson notebooks and grade their exercises.",
    )
    parser.add_argument("notebooks", nargs="+", metavar="NOTEBOOK", help="notebook files, or folders of them")
    parser.add_argument("--json", metavar="OUT", help="also write the results, with all feedback, as JSON")
    parser.add_argument(
        "--timeout",
        type=float,
        default=DEFAULT_CELL_TIMEOUT,
        metavar="SECONDS",
        help=f"time limit per cell (default {DEFAULT_CELL_TIMEOUT})",
    )
    parser.add_argument(
        "--exercise-timeout",
        type=float,
        default=None,
        metavar="SECONDS",
        help="default time limit per exercise inside check() (default 10; exercises that set "
        "their own limit keep it)",
    )
    parser.add_argument("--kernel", default="python3", help="Jupyter kernel to run the notebooks with")
    parser.add_argument("--quiet", action="store_true", help="do not print progress to stderr")
    return parser


def _table(rows: list[list[str]], out: TextIO) -> None:
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths)).rstrip(), file=out)


def print_report(report: dict, out: TextIO | None = None) -> None:
    """The table: one row per notebook x exercise, a total per notebook, then the errors."""
    out = out or sys.stdout
    rows = [["notebook", "exercise", "points", "status"]]
    notes = []
    for path, result in report["notebooks"].items():
        name = path
        for exercise_id, item in result["exercises"].items():
            points = f"{format_points(item['points'])}/{format_points(item['max_points'])}"
            rows.append([name, exercise_id, points, item.get("status", "")])
            name = ""
        total = f"{format_points(result['total'])}/{format_points(result['max_total'])}"
        rows.append([name, "total", total, "not graded" if not result["exercises"] else ""])
        for error in result["errors"]:
            notes.append(f"{path}: {error}")
    _table(rows, out)
    if notes:
        print("\nproblems:", file=out)
        for note in notes:
            print(f"  {note}", file=out)


def _unusable(result: dict) -> bool:
    return any(e.startswith(("could not read", "could not run")) for e in result["errors"])


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    if args.timeout <= 0:
        print("edunn-grade: --timeout must be positive", file=sys.stderr)
        return 2
    paths = expand_paths(args.notebooks)
    if not paths:
        print("edunn-grade: no notebooks found in " + ", ".join(args.notebooks), file=sys.stderr)
        return 2

    def progress(path: str) -> None:
        if not args.quiet:
            print(f"grading {path} ...", file=sys.stderr, flush=True)

    report = grade_notebooks(
        paths,
        timeout=args.timeout,
        exercise_timeout=args.exercise_timeout,
        kernel_name=args.kernel,
        progress=progress,
    )
    print_report(report)
    if args.json:
        target = Path(args.json)
        target.parent.mkdir(parents=True, exist_ok=True)
        tmp = target.with_name(target.name + ".tmp")
        tmp.write_text(json.dumps(report, indent=1, ensure_ascii=False) + "\n", encoding="utf-8")
        os.replace(tmp, target)
    return 1 if any(_unusable(r) for r in report["notebooks"].values()) else 0


if __name__ == "__main__":
    raise SystemExit(main())
